//! Typed queries. A [`Reader`] owns one connection (use one per thread) and answers
//! every question the panels and the CLI ask, as Rust values; all counting, summing
//! and percentiles happen inside DuckDB.

mod agents;
mod alerts;
pub(crate) mod anomalies;
mod backend_impl;
pub(crate) mod calls;
pub(crate) mod cost;
pub(crate) mod evaluations;
mod export;
mod filter_sql;
mod kpi;
pub(crate) mod metrics;
mod patterns;
mod series;
mod session_turns;
pub(crate) mod sessions;
pub(crate) use filter_sql::streamed_sql;
pub(crate) use series::band_sql;
mod source;
pub(crate) mod timing;
pub(crate) mod traces;
mod usage;

pub use agents::{AgentRow, AgentRun, ToolRow};
pub use calls::{CallRow, CallSort, TopError};
pub use evaluations::{
    EXACT_CALLS_UP_TO, EvalModelRow, EvalPoint, Evaluation, EvaluatorRow, JudgedCall, SCORE_BINS,
};
pub use export::{ExportFormat, ExportTable};
pub use kpi::{ModelRow, Summary};
pub use metrics::{MetricBucket, MetricGroup, MetricInfo, MetricView};
pub use patterns::{PatternRow, PatternSort};
pub use series::{Heatmap, HeatmapCell, LatencyPoint, SeriesPoint};
pub use session_turns::SessionTurn;
pub use sessions::{SessionRow, SessionSort, UserRow};
pub use timing::{FirstTokenSummary, ModelFirstToken, OUTPUT_TPS_DOC};
pub use traces::{TraceRow, TraceSort, TraceSpan, TraceTree};

use crate::error::StoreError;
use crate::filter::Filter;
use crate::prices::{Price, PriceTable};
use duckdb::types::Value;
use duckdb::{Connection, params_from_iter};
use filter_sql::Where;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Sort direction of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

impl SortDir {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
}

/// Answers typed queries on one connection.
pub struct Reader {
    pub(crate) conn: Connection,
    prices: Arc<RwLock<PriceTable>>,
    version: Arc<AtomicU64>,
    /// The names calls are priced by, for a data version.
    priced_names: Option<(u64, Vec<String>)>,
    /// How many evaluations only a join with the calls finds, for a data version (see
    /// [`Reader::other_evaluations`]): a selection of evaluations and a call condition
    /// on them each ask.
    other_evaluations: Option<(u64, i64)>,
    text: Option<Arc<crate::text_index::TextIndex>>,
    /// The database's own files, never an output.
    files: Option<crate::output::DatabaseFiles>,
    /// The last index search: data version, words, hits. A query often builds its
    /// conditions more than once (a summary does twice); the index is asked once.
    searched: Option<(u64, Vec<String>, Option<Hits>)>,
    /// The file's schema version: a file opened read-only may predate some columns.
    schema_version: i64,
    /// Whether queries may read the rollups (see [`Reader::use_rollups`]).
    use_rollups: bool,
    /// Percentiles over at most this many calls are exact (see
    /// [`Reader::exact_percentiles_up_to`]).
    exact_percentiles_up_to: u64,
}

/// Up to this many calls, percentiles are computed exactly from the calls (DuckDB
/// sorts 200,000 durations in about 10 ms on 2 cores); past it, from the latency sketch
/// where the rollups answer.
pub(crate) const EXACT_PERCENTILES_UP_TO: u64 = 200_000;

/// (trace, span) ids of calls the text index found.
type Hits = Vec<(u128, u64)>;

impl Reader {
    pub(crate) fn new(
        conn: Connection,
        prices: Arc<RwLock<PriceTable>>,
        version: Arc<AtomicU64>,
        text: Option<Arc<crate::text_index::TextIndex>>,
        files: Option<crate::output::DatabaseFiles>,
        schema_version: i64,
    ) -> Self {
        Reader {
            conn,
            prices,
            version,
            priced_names: None,
            other_evaluations: None,
            text,
            files,
            searched: None,
            schema_version,
            use_rollups: true,
            exact_percentiles_up_to: EXACT_PERCENTILES_UP_TO,
        }
    }

    /// Sets how many calls a selection may hold for its latency percentiles to be
    /// computed exactly rather than read from the sketch (default 200,000): for
    /// checking the sketch on small data and for benchmarks.
    pub fn exact_percentiles_up_to(&mut self, calls: u64) {
        self.exact_percentiles_up_to = calls;
    }

    /// Turns reading the rollups on (the default) or off, so that every answer comes
    /// from the raw calls: for checking the rollups against them and for benchmarks
    /// that compare the two.
    pub fn use_rollups(&mut self, on: bool) {
        self.use_rollups = on;
    }

    /// Starts writing a file for the user at `target` (see [`crate::OutputFile`]);
    /// refused when it is one of this database's own files.
    pub fn output(
        &self,
        target: &std::path::Path,
        replace: crate::output::Replace,
    ) -> Result<crate::output::OutputFile, StoreError> {
        crate::output::OutputFile::create(target, replace, self.files.as_ref())
    }

    /// The data version this reader's results reflect at least.
    pub fn data_version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Every model asked for in a stored call, sorted.
    pub fn models(&mut self) -> Result<Vec<String>, StoreError> {
        let sql = self.over_calls(
            "SELECT DISTINCT model FROM call_minutes ORDER BY 1",
            "SELECT DISTINCT model FROM llm_calls ORDER BY 1",
        );
        self.strings(sql)
    }

    /// `rolled_up` when the rollups can answer a question about all stored calls,
    /// else `raw`: the two must give the same answer.
    fn over_calls<'a>(&self, rolled_up: &'a str, raw: &'a str) -> &'a str {
        if self.use_rollups && self.schema_version >= 6 {
            rolled_up
        } else {
            raw
        }
    }

    /// Every name stored calls are priced by ([`cost::PRICED_AS`]), sorted;
    /// remembered for the data version (each priced query asks).
    fn priced_names(&mut self) -> Result<Vec<String>, StoreError> {
        let version = self.data_version();
        if let Some((v, names)) = &self.priced_names
            && *v == version
        {
            return Ok(names.clone());
        }
        let raw = format!(
            "SELECT DISTINCT {} AS name FROM llm_calls c ORDER BY 1",
            cost::PRICED_AS
        );
        let sql = self.over_calls(
            "SELECT DISTINCT priced_as FROM call_minutes ORDER BY 1",
            &raw,
        );
        let names = self.strings(sql)?;
        self.priced_names = Some((version, names.clone()));
        Ok(names)
    }

    /// Every model with stored calls, busiest first: the order colours are handed out
    /// in, so that the models people look at most get distinct ones.
    pub fn models_by_volume(&mut self) -> Result<Vec<String>, StoreError> {
        let sql = self.over_calls(
            "SELECT model FROM call_minutes GROUP BY model ORDER BY sum(calls) DESC, model",
            "SELECT model FROM llm_calls GROUP BY model ORDER BY count(*) DESC, model",
        );
        self.strings(sql)
    }

    /// Whether anything at all is stored: a span, a log record or a metric point. Reads
    /// one row at most of each table, so it stays instant at any size.
    pub fn holds_data(&mut self) -> Result<bool, StoreError> {
        let sql = "SELECT EXISTS (FROM spans) OR EXISTS (FROM logs) OR EXISTS (FROM metric_points)";
        Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
    }

    /// The first and last start time of any stored LLM call, Unix ns; `None` when there
    /// is none. Tells a user where their data is when a range selects nothing.
    pub fn time_bounds(&mut self) -> Result<Option<(i64, i64)>, StoreError> {
        let sql = self.over_calls(
            "SELECT min(first_start_ns) AS first, max(last_start_ns) AS last FROM call_minutes",
            "SELECT min(start_ns) AS first, max(start_ns) AS last FROM llm_calls",
        );
        let (lo, hi): (Option<i64>, Option<i64>) = self
            .conn
            .query_row(sql, [], |r| Ok((r.get("first")?, r.get("last")?)))?;
        Ok(lo.zip(hi))
    }

    /// Every service that sent spans, sorted: the choices of the service filter.
    pub fn services(&mut self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT DISTINCT service FROM spans ORDER BY 1")
    }

    /// Every metric name with its number of stored points, by name.
    pub fn metric_names(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, count(*) AS points FROM metric_points GROUP BY name ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get("name")?, r.get("points")?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `WITH p AS (…)`: the price of each stored model, resolved through the price table,
    /// for joining to `llm_calls c` with [`cost::join_prices`].
    fn prices_cte(&mut self) -> Result<String, StoreError> {
        let models = self.priced_names()?;
        let table = self.prices.read().expect("price lock");
        let rows: Vec<String> = models
            .iter()
            .filter_map(|m| {
                table.lookup(m).map(|p| {
                    let [input, cache_read, cache_write, output] = p.rates();
                    format!(
                        "({}, {input:?}::DOUBLE, {output:?}::DOUBLE, {cache_read:?}::DOUBLE, {cache_write:?}::DOUBLE)",
                        sql_string(m),
                    )
                })
            })
            .collect();
        Ok(if rows.is_empty() {
            "p AS (SELECT NULL::VARCHAR AS model, 0::DOUBLE AS p_in, 0::DOUBLE AS p_out, 0::DOUBLE AS p_cr, 0::DOUBLE AS p_cw WHERE FALSE)".into()
        } else {
            format!(
                "p AS (SELECT * FROM (VALUES {}) t(model, p_in, p_out, p_cr, p_cw))",
                rows.join(", ")
            )
        })
    }

    fn check(filter: &Filter) -> Result<(), StoreError> {
        filter.validate()
    }

    /// The filter's conditions on `llm_calls c`, with a cost condition priced inline
    /// (no join needed) when the filter has one.
    fn calls_where(&mut self, filter: &Filter) -> Result<Where, StoreError> {
        if !filter.evaluations.is_empty() && self.schema_version < evaluations::EVALUATIONS_SCHEMA {
            return Err(StoreError::OlderSchema {
                what: "eval: and feedback: conditions",
                needs: evaluations::EVALUATIONS_SCHEMA,
                has: self.schema_version,
            });
        }
        self.check_timing_conditions(filter)?;
        if !filter.patterns.is_empty() {
            self.needs_patterns()?;
        }
        let cost = if filter.cost_usd.is_empty() {
            "NULL".to_string()
        } else {
            self.inline_cost()?
        };
        // Words found through the index: only the calls holding them are checked (the
        // substring tests stay, so the answer is exactly a scan's).
        let candidates = self.search(&filter.text).map(|hits| {
            if hits.is_empty() {
                return "FALSE".to_string();
            }
            // Both ids: a span id alone could repeat in another trace.
            let spans: Vec<String> = hits.iter().map(|(_, s)| s.to_string()).collect();
            let traces: Vec<u128> = hits.iter().map(|(t, _)| *t).collect();
            format!(
                "c.span_id IN ({}) AND c.trace_id IN ({})",
                spans.join(", "),
                crate::ids::trace_id_list(&traces)
            )
        });
        let all_targets = !filter.evaluations.is_empty() && self.other_evaluations()? > 0;
        Ok(filter.calls_where(&cost, candidates.as_deref(), all_targets))
    }

    /// The text index's hits for `words` (`None`: it cannot answer), remembered for the
    /// data version.
    fn search(&mut self, words: &[String]) -> Option<Hits> {
        let index = self.text.as_ref()?;
        // Not ready yet: ask again next time rather than remember "cannot answer".
        if words.is_empty() || !index.ready() {
            return None;
        }
        let version = self.data_version();
        if let Some((v, w, hits)) = &self.searched
            && *v == version
            && w.as_slice() == words
        {
            return hits.clone();
        }
        let hits = index.search(words);
        self.searched = Some((version, words.to_vec(), hits.clone()));
        hits
    }

    /// The names stored calls are priced by that have a price, with it: what costs
    /// written inline into SQL price.
    fn stored_prices(&mut self) -> Result<Vec<(String, Price)>, StoreError> {
        let models = self.priced_names()?;
        let table = self.prices.read().expect("price lock");
        Ok(models
            .into_iter()
            .filter_map(|m| table.lookup(&m).map(|p| (m, p)))
            .collect())
    }

    /// [`cost::inline_measures`] with the stored names' prices: the cost of a row of
    /// summed cost measures and its `priced_as`.
    fn inline_measures_cost(&mut self) -> Result<String, StoreError> {
        let prices = self.stored_prices()?;
        Ok(cost::inline_measures(
            prices.iter().map(|(m, p)| (m.as_str(), *p)),
        ))
    }

    /// A call's cost as one SQL expression over `c` with the prices of the stored
    /// models that have one written inline.
    fn inline_cost(&mut self) -> Result<String, StoreError> {
        let prices = self.stored_prices()?;
        Ok(cost::inline(prices.iter().map(|(m, p)| (m.as_str(), *p))))
    }
}

/// A string as an SQL literal.
fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parameters of a `Where` followed by extra ones.
fn params(w: &Where, extra: impl IntoIterator<Item = Value>) -> duckdb::ParamsFromIter<Vec<Value>> {
    let mut all = w.params.clone();
    all.extend(extra);
    params_from_iter(all)
}

/// The first schema with the tables the writer keeps for the Agents view and the
/// sessions pages (`crate::run_table`; `trace_spend` and the traces' first calls).
pub(crate) const KEPT_SUMMARIES_SCHEMA: i64 = 10;

/// p50, p95 and p99 of call latency, in nanoseconds: over the integer column, which
/// DuckDB sorts twice as fast as a computed `duration_ns / 1e6` (read with
/// [`percentiles_ms`]).
const LATENCY_QUANTILES: &str = "quantile_cont(c.duration_ns, [0.5, 0.95, 0.99])";

/// The levels of [`LATENCY_QUANTILES`], for percentiles read from the sketch.
pub(crate) const LATENCY_LEVELS: [f64; 3] = [0.5, 0.95, 0.99];

/// A [`LATENCY_QUANTILES`] result column as three percentiles in milliseconds.
fn percentiles_ms(v: Value) -> [f64; 3] {
    percentiles(v).map(|ns| ns / 1e6)
}

/// A `DOUBLE[]` result column as three percentiles.
fn percentiles(v: Value) -> [f64; 3] {
    let mut out = [0.0; 3];
    if let Value::List(items) = v {
        for (o, item) in out.iter_mut().zip(items) {
            *o = match item {
                Value::Double(d) => d,
                Value::Float(f) => f as f64,
                Value::BigInt(i) => i as f64,
                _ => 0.0,
            };
        }
    }
    out
}
