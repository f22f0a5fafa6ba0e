//! Typed queries. A [`Reader`] owns one connection (use one per thread) and answers
//! every question the panels and the CLI ask, as Rust values; all counting, summing
//! and percentiles happen inside DuckDB.

mod alerts;
mod calls;
mod export;
mod filter_sql;
mod kpi;
mod series;
mod traces;

pub use calls::{CallRow, CallSort, TopError};
pub use export::{ExportFormat, ExportTable};
pub use kpi::{ModelRow, Summary};
pub use series::{Heatmap, HeatmapCell, LatencyPoint, SeriesPoint};
pub use traces::{TraceRow, TraceSort, TraceSpan, TraceTree};

use crate::error::StoreError;
use crate::filter::Filter;
use crate::prices::PriceTable;
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
    fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
}

/// Answers typed queries on one connection.
pub struct Reader {
    conn: Connection,
    prices: Arc<RwLock<PriceTable>>,
    version: Arc<AtomicU64>,
    /// The distinct models stored, and the data version they were read at.
    models: Option<(u64, Vec<String>)>,
    text: Option<Arc<crate::text_index::TextIndex>>,
    /// The database's own files, never an output.
    files: Option<crate::output::DatabaseFiles>,
    /// The last index search: data version, words, hits. A query often builds its
    /// conditions more than once (a summary does twice); the index is asked once.
    searched: Option<(u64, Vec<String>, Option<Hits>)>,
}

/// (trace, span) ids of calls the text index found.
type Hits = Vec<(u128, u64)>;

/// The per-call cost in USD: the client's reported cost, else tokens × the price table
/// (cache reads and writes are inside input tokens and priced at their own rate); NULL
/// when the model has no price.
const COST: &str = "coalesce(c.reported_cost, (
        greatest(coalesce(c.input_tokens, 0) - coalesce(c.cache_read_tokens, 0) - coalesce(c.cache_write_tokens, 0), 0) * p.p_in
        + coalesce(c.cache_read_tokens, 0) * p.p_cr
        + coalesce(c.cache_write_tokens, 0) * p.p_cw
        + coalesce(c.output_tokens, 0) * p.p_out) / 1e6)";

/// Aggregates from which a group of calls is priced in Rust (cost is linear in tokens,
/// so pricing a group's sums equals summing its priced calls, and no price has to be
/// joined to every row): plain input, cache-read, cache-write and output tokens of the
/// calls without a reported cost, then the sum of reported costs. Read with
/// [`CostSums::read`].
const COST_SUMS: &str = "coalesce(sum(greatest(coalesce(c.input_tokens, 0) - coalesce(c.cache_read_tokens, 0)
            - coalesce(c.cache_write_tokens, 0), 0)) FILTER (WHERE c.reported_cost IS NULL), 0)::DOUBLE,
        coalesce(sum(c.cache_read_tokens) FILTER (WHERE c.reported_cost IS NULL), 0)::DOUBLE,
        coalesce(sum(c.cache_write_tokens) FILTER (WHERE c.reported_cost IS NULL), 0)::DOUBLE,
        coalesce(sum(c.output_tokens) FILTER (WHERE c.reported_cost IS NULL), 0)::DOUBLE,
        coalesce(sum(c.reported_cost), 0)::DOUBLE";

/// The [`COST_SUMS`] columns of one group.
struct CostSums {
    plain_input: f64,
    cache_read: f64,
    cache_write: f64,
    output: f64,
    reported: f64,
}

impl CostSums {
    /// The five columns starting at `first`.
    fn read(r: &duckdb::Row<'_>, first: usize) -> duckdb::Result<Self> {
        Ok(CostSums {
            plain_input: r.get(first)?,
            cache_read: r.get(first + 1)?,
            cache_write: r.get(first + 2)?,
            output: r.get(first + 3)?,
            reported: r.get(first + 4)?,
        })
    }

    /// Reported costs plus the tokens priced at `price` (nothing for them without one).
    fn cost(&self, price: Option<crate::prices::Price>) -> f64 {
        let priced = price.map_or(0.0, |p| {
            (self.plain_input * p.input
                + self.cache_read * p.cache_read.unwrap_or(p.input)
                + self.cache_write * p.cache_write.unwrap_or(p.input)
                + self.output * p.output)
                / 1e6
        });
        self.reported + priced
    }
}

impl Reader {
    pub(crate) fn new(
        conn: Connection,
        prices: Arc<RwLock<PriceTable>>,
        version: Arc<AtomicU64>,
        text: Option<Arc<crate::text_index::TextIndex>>,
        files: Option<crate::output::DatabaseFiles>,
    ) -> Self {
        Reader {
            conn,
            prices,
            version,
            models: None,
            text,
            files,
            searched: None,
        }
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

    /// Every model with stored calls, sorted.
    pub fn models(&mut self) -> Result<Vec<String>, StoreError> {
        let version = self.data_version();
        if let Some((v, models)) = &self.models
            && *v == version
        {
            return Ok(models.clone());
        }
        let models = self.strings("SELECT DISTINCT model FROM llm_calls ORDER BY 1")?;
        self.models = Some((version, models.clone()));
        Ok(models)
    }

    /// Every model with stored calls, busiest first: the order colours are handed out
    /// in, so that the models people look at most get distinct ones.
    pub fn models_by_volume(&mut self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT model FROM llm_calls GROUP BY model ORDER BY count(*) DESC, model")
    }

    /// The first and last start time of any stored LLM call, Unix ns; `None` when there
    /// is none. Tells a user where their data is when a range selects nothing.
    pub fn time_bounds(&mut self) -> Result<Option<(i64, i64)>, StoreError> {
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT min(start_ns), max(start_ns) FROM llm_calls",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(lo.zip(hi))
    }

    /// Every service that sent spans, sorted: the choices of the service filter.
    pub fn services(&mut self) -> Result<Vec<String>, StoreError> {
        self.strings("SELECT DISTINCT service FROM spans ORDER BY 1")
    }

    /// Every metric name with its number of stored points, by name.
    pub fn metric_names(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, count(*) FROM metric_points GROUP BY name ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `WITH p AS (…)`: the price of each stored model, resolved through the price table,
    /// for joining to `llm_calls c` as `LEFT JOIN p ON p.model = c.model`.
    fn prices_cte(&mut self) -> Result<String, StoreError> {
        let models = self.models()?;
        let table = self.prices.read().expect("price lock");
        let rows: Vec<String> = models
            .iter()
            .filter_map(|m| {
                table.lookup(m).map(|p| {
                    format!(
                        "({}, {:?}::DOUBLE, {:?}::DOUBLE, {:?}::DOUBLE, {:?}::DOUBLE)",
                        sql_string(m),
                        p.input,
                        p.output,
                        p.cache_read.unwrap_or(p.input),
                        p.cache_write.unwrap_or(p.input)
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
        let cost = if filter.cost_usd.is_empty() {
            "NULL".to_string()
        } else {
            self.inline_cost()?
        };
        // Words found through the index: only the calls holding them are checked (the
        // substring tests stay, so the answer is exactly a scan's).
        let hits = self.search(&filter.text);
        let mut w = filter.calls_where(&cost);
        if let Some(hits) = hits {
            if hits.is_empty() {
                w.sql.push_str(" AND FALSE");
            } else {
                // Both ids: a span id alone could repeat in another trace.
                let spans: Vec<String> = hits.iter().map(|(_, s)| s.to_string()).collect();
                let traces: Vec<String> = hits
                    .iter()
                    .map(|(t, _)| format!("'{t}'::UHUGEINT"))
                    .collect();
                w.sql.push_str(&format!(
                    " AND c.span_id IN ({}) AND c.trace_id IN ({})",
                    spans.join(", "),
                    traces.join(", ")
                ));
            }
        }
        Ok(w)
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

    /// A call's cost as one SQL expression over `c`: the reported cost, else its tokens
    /// priced by a CASE over the stored models that have a price.
    fn inline_cost(&mut self) -> Result<String, StoreError> {
        let models = self.models()?;
        let table = self.prices.read().expect("price lock");
        let arms: Vec<String> = models
            .iter()
            .filter_map(|m| {
                table.lookup(m).map(|p| {
                    format!(
                        "WHEN {} THEN (greatest(coalesce(c.input_tokens, 0) - coalesce(c.cache_read_tokens, 0) - coalesce(c.cache_write_tokens, 0), 0) * {:?}
                          + coalesce(c.cache_read_tokens, 0) * {:?} + coalesce(c.cache_write_tokens, 0) * {:?}
                          + coalesce(c.output_tokens, 0) * {:?}) / 1e6",
                        sql_string(m),
                        p.input,
                        p.cache_read.unwrap_or(p.input),
                        p.cache_write.unwrap_or(p.input),
                        p.output
                    )
                })
            })
            .collect();
        Ok(if arms.is_empty() {
            "c.reported_cost".into()
        } else {
            format!(
                "coalesce(c.reported_cost, CASE c.model {} END)",
                arms.join(" ")
            )
        })
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

/// p50, p95 and p99 of call latency, in nanoseconds: over the integer column, which
/// DuckDB sorts twice as fast as a computed `duration_ns / 1e6` (read with
/// [`percentiles_ms`]).
const LATENCY_QUANTILES: &str = "quantile_cont(c.duration_ns, [0.5, 0.95, 0.99])";

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
