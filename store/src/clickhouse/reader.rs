//! [`Queries`] over the Collector's traces table: the LLM fields extracted at query
//! time ([`super::extract`]), filters as typed parameters ([`super::filter_sql`]),
//! costs priced in Rust from per-price sums with the same formula as DuckDB's
//! ([`crate::query::cost`]).

use super::extract;
use super::filter_sql;
use super::http::{Client, Param, Params};
use super::raw;
use super::rollups::{self, Rollups};
use crate::backend::Queries;
use crate::collector_span::Normalizer;
use crate::error::StoreError;
use crate::filter::{Filter, StatusFilter};
use crate::ids::trace_id_hex;
use crate::output::{OutputFile, Replace};
use crate::prices::{Price, PriceTable};
use crate::query::calls::EXCERPT_CHARS;
use crate::query::cost::{self, CostSums};
use crate::query::traces::depth_first;
use crate::query::{
    AgentRow, AgentRun, CallRow, CallSort, EvalModelRow, EvalPoint, Evaluation, EvaluatorRow,
    ExportFormat, ExportTable, FirstTokenSummary, Heatmap, HeatmapCell, JudgedCall, LatencyPoint,
    ModelFirstToken, ModelRow, SeriesPoint, SessionRow, SessionSort, SessionTurn, SortDir, Summary,
    ToolRow, TopError, TraceRow, TraceSort, TraceTree, UserRow,
};
use crate::query::{LATENCY_LEVELS, TraceSpan};
use crate::rollup::{MINUTE_NS, Sketched};
use crate::row::AlertEvent;
use crate::row::SpanRow;
use crate::sketch;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

/// Why prompt patterns are not read from a team's ClickHouse.
pub(super) const PATTERNS_ON_CLICKHOUSE: &str = "prompt patterns are learned by this app as it stores calls, so they exist in a local database only: a team's ClickHouse has none (run serve into a file, or import the calls, to see them)";

/// A reader of one ClickHouse database.
pub struct ClickHouseReader {
    client: Client,
    pub(super) prices: Arc<RwLock<PriceTable>>,
    version: Arc<dyn Fn() -> u64 + Send + Sync>,
    normalize: Normalizer,
    rollups: Option<Rollups>,
    use_rollups: bool,
    exact_percentiles_up_to: u64,
    /// Whether the database has the Collector's `otel_logs` (its qualified name), once
    /// asked: evaluation records are read from it.
    logs_table: std::sync::OnceLock<Option<String>>,
}

/// A selection's rows as SQL (for `FROM (…)`), with its parameters.
pub(super) struct Selection {
    pub(super) sql: String,
    pub(super) params: Params,
}

impl ClickHouseReader {
    pub(super) fn new(
        client: Client,
        prices: Arc<RwLock<PriceTable>>,
        version: Arc<dyn Fn() -> u64 + Send + Sync>,
        normalize: Normalizer,
        rollups: Option<Rollups>,
    ) -> Self {
        ClickHouseReader {
            client,
            prices,
            version,
            normalize,
            rollups,
            use_rollups: true,
            exact_percentiles_up_to: crate::query::EXACT_PERCENTILES_UP_TO,
            logs_table: std::sync::OnceLock::new(),
        }
    }

    /// Turns reading the rollup tables off or on (on by default, where `clickhouse
    /// init` made them): benchmarks and the tests that check both ways agree.
    pub fn use_rollups(&mut self, on: bool) {
        self.use_rollups = on;
    }

    /// Up to this many calls, percentiles are exact even where the latency sketches
    /// could answer (tests lower it to check the sketches).
    pub fn exact_percentiles_up_to(&mut self, calls: u64) {
        self.exact_percentiles_up_to = calls;
    }

    /// The rollup tables, when there are some and they are on.
    pub(super) fn rollups(&self) -> Option<&Rollups> {
        self.rollups.as_ref().filter(|_| self.use_rollups)
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// The sketch rows latency percentiles over this selection come from: when the
    /// sketches answer (see [`ClickHouseReader::sketch_rows`]) and it holds more than
    /// [`ClickHouseReader::exact_percentiles_up_to`] `calls`; `None` (exact
    /// percentiles) otherwise.
    fn sketched(
        &self,
        filter: &Filter,
        bucket_ns: Option<i64>,
        calls: u64,
    ) -> Result<Option<Selection>, StoreError> {
        if calls <= self.exact_percentiles_up_to {
            return Ok(None);
        }
        self.sketch_rows(filter, bucket_ns)
    }

    /// A raw span normalized as the local database stores it.
    pub(super) fn normalized(&self, row: &[Value]) -> Result<SpanRow, StoreError> {
        let raw = raw::span(row);
        (self.normalize)(&raw).map_err(|reason| {
            StoreError::ClickHouse(crate::error::ClickHouseError::Protocol(format!(
                "span {} of trace {} cannot be read: {reason}",
                raw.span_id, raw.trace_id
            )))
        })
    }

    fn rows(&self, sql: &str, params: &Params) -> Result<Vec<Vec<Value>>, StoreError> {
        Ok(self.client.rows(sql, params)?)
    }

    pub(super) fn table(&self) -> String {
        self.client.endpoint().traces()
    }

    /// The traces table, and `otel_logs` when the database has one (asked once).
    pub(super) fn tables(&self) -> Result<filter_sql::Tables, StoreError> {
        let logs = match self.logs_table.get() {
            Some(known) => known.clone(),
            None => {
                let database = self.client.endpoint().database.clone();
                let mut p = Params::default();
                let sql = format!(
                    "SELECT count() FROM system.tables WHERE database = {} AND name = 'otel_logs'",
                    p.text(&database)
                );
                let exists = self
                    .rows(&sql, &p)?
                    .first()
                    .is_some_and(|r| uint(&r[0]) > 0);
                let table = exists.then(|| format!("{database}.otel_logs"));
                self.logs_table.get_or_init(|| table).clone()
            }
        };
        Ok(filter_sql::Tables {
            traces: self.table(),
            logs,
        })
    }

    /// `SELECT {select} FROM (calls) c WHERE <filter>`: the selection's calls.
    pub(super) fn calls(&self, filter: &Filter, select: &str) -> Result<Selection, StoreError> {
        self.calls_starting(filter, select, &[])
    }

    /// The calls starting at one of `instants` (ns), read whole and normalized.
    pub(super) fn calls_at(&self, instants: &[i64]) -> Result<Vec<SpanRow>, StoreError> {
        let page = self.calls_starting(&Filter::default(), &raw::names("c"), instants)?;
        self.rows(&page.sql, &page.params)?
            .iter()
            .map(|r| self.normalized(&r[..raw::COUNT]))
            .collect()
    }

    /// [`ClickHouseReader::calls`] of the spans starting at one of `instants` (ns)
    /// alone, which ClickHouse finds by the table's partitions and time index.
    fn calls_starting(
        &self,
        filter: &Filter,
        select: &str,
        instants: &[i64],
    ) -> Result<Selection, StoreError> {
        super::filter_sql::check(filter)?;
        let mut params = Params::default();
        let mut spans = filter_sql::spans_where(filter, &mut params);
        if !instants.is_empty() {
            let list: Vec<String> = instants
                .iter()
                .map(|t| format!("fromUnixTimestamp64Nano({})", params.push(Param::Int(*t))))
                .collect();
            spans.push_str(&format!(" AND Timestamp IN ({})", list.join(", ")));
        }
        let cost = if filter.cost_usd.is_empty() {
            "NULL".to_string()
        } else {
            self.inline_cost(filter)?
        };
        let calls = filter_sql::calls_where(filter, &cost, &self.tables()?, &mut params);
        Ok(Selection {
            sql: format!(
                "SELECT {select} FROM ({}) AS c WHERE {calls}",
                extract::calls(&self.table(), &spans)
            ),
            params,
        })
    }

    /// Conditions on spans (the traces table's columns) for a selection: time and
    /// service, and traces holding a selected call when it selects calls.
    pub(super) fn selected_spans(
        &self,
        filter: &Filter,
        p: &mut Params,
    ) -> Result<String, StoreError> {
        super::filter_sql::check(filter)?;
        let mut condition = filter_sql::spans_where(filter, p);
        if filter.selects_calls() {
            let cost = if filter.cost_usd.is_empty() {
                "NULL".to_string()
            } else {
                self.inline_cost(filter)?
            };
            let spans = filter_sql::spans_where(filter, p);
            let calls = filter_sql::calls_where(filter, &cost, &self.tables()?, p);
            condition.push_str(&format!(
                " AND TraceId IN (SELECT c.trace_id FROM ({}) AS c WHERE {calls})",
                extract::calls(&self.table(), &spans)
            ));
        }
        Ok(condition)
    }

    /// A call's cost with the prices of the names stored calls are priced by written
    /// inline (for cost conditions).
    pub(super) fn inline_cost(&self, filter: &Filter) -> Result<String, StoreError> {
        let priced = self.priced_names(filter)?;
        Ok(cost::inline(priced.iter().map(|(n, p)| (n.as_str(), *p))))
    }

    /// The names the selection's calls are priced by that have a price, with it.
    /// With rollups, the names come from them: every name stored, a superset of the
    /// selection's (a price for a name nobody selected is written and never used).
    fn priced_names(&self, filter: &Filter) -> Result<Vec<(String, Price)>, StoreError> {
        let names = match self.rollups() {
            Some(r) => self.rows(
                &format!("SELECT DISTINCT priced_as FROM {}", r.minutes),
                &Params::default(),
            )?,
            None => {
                let mut params = Params::default();
                let spans = filter_sql::spans_where(filter, &mut params);
                self.rows(
                    &format!(
                        "SELECT DISTINCT {} FROM ({}) AS c",
                        cost::PRICED_AS,
                        extract::calls(&self.table(), &spans)
                    ),
                    &params,
                )?
            }
        };
        let table = self.prices.read().expect("price lock").clone();
        Ok(names
            .iter()
            .filter_map(|r| text(&r[0]))
            .filter_map(|n| table.lookup(&n).map(|p| (n, p)))
            .collect())
    }

    fn strings(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .rows(sql, &Params::default())?
            .iter()
            .filter_map(|r| text(&r[0]))
            .collect())
    }

    /// Per model and priced name: the sums everything but percentiles is made of.
    fn model_sums(&self, filter: &Filter) -> Result<(Vec<ModelRow>, Extent), StoreError> {
        let inner = self.call_rows(filter, None)?;
        let sums = CostSums::column_names()
            .map(|n| format!("toFloat64(sum({n}))"))
            .join(", ");
        let sql = format!(
            "SELECT model, priced_as, max(provider), sum(calls), sumIf(calls, is_error),
                    sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                    sum(cache_write_tokens), {sums}, sum({unpriced}), toFloat64(sum(duration_ns)),
                    max(answered), min(first_start_ns), max(last_end_ns)
             FROM ({}) GROUP BY model, priced_as",
            inner.sql,
            unpriced = cost::UNPRICED,
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut rows: Vec<ModelRow> = Vec::new();
        let mut durations: Vec<f64> = Vec::new();
        let mut extent = Extent::default();
        for r in self.rows(&sql, &inner.params)? {
            let model = text(&r[0]).unwrap_or_default();
            let priced_as = text(&r[1]).unwrap_or_default();
            let price = prices.lookup(&priced_as);
            let i = match rows.iter().position(|m| m.model == model) {
                Some(i) => i,
                None => {
                    rows.push(ModelRow {
                        model,
                        ..ModelRow::default()
                    });
                    durations.push(0.0);
                    rows.len() - 1
                }
            };
            let m = &mut rows[i];
            m.provider = m.provider.take().max(text(&r[2]));
            m.calls += uint(&r[3]);
            m.errors += uint(&r[4]);
            m.input_tokens += uint(&r[5]);
            m.output_tokens += uint(&r[6]);
            m.cache_read_tokens += uint(&r[7]);
            m.cache_write_tokens += uint(&r[8]);
            let tokens = [float(&r[9]), float(&r[10]), float(&r[11]), float(&r[12])];
            m.cost_usd += CostSums::from_values(tokens, float(&r[13])).cost(price);
            if price.is_none() {
                m.unpriced_calls += uint(&r[14]);
            }
            durations[i] += float(&r[15]);
            extent.duration_ns += float(&r[15]);
            if boolean(&r[16]) {
                m.served.push(priced_as);
            }
            if let Some(first) = int(&r[17]) {
                extent.first = Some(extent.first.map_or(first, |f| f.min(first)));
            }
            extent.last = extent.last.max(int(&r[18]));
        }
        for (m, total) in rows.iter_mut().zip(durations) {
            m.served.sort();
            m.avg_ms = total / m.calls.max(1) as f64 / 1e6;
        }
        rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Ok((rows, extent))
    }

    /// p50, p95 and p99 in ms per `group` value (exact, interpolated between the two
    /// nearest calls as DuckDB's `quantile_cont` does).
    fn percentiles_by(
        &self,
        filter: &Filter,
        group: &str,
        measure: Sketched,
    ) -> Result<Vec<LatencyGroup>, StoreError> {
        let inner = self.calls(filter, &format!("{group} AS g, {} AS d", measure.value()))?;
        let sql = format!(
            "SELECT g, quantilesExactInclusive(0.5, 0.95, 0.99)(d), count(), avg(d)
             FROM ({}) WHERE d IS NOT NULL GROUP BY g ORDER BY g",
            inner.sql
        );
        Ok(self
            .rows(&sql, &inner.params)?
            .into_iter()
            .map(|r| {
                let q = match &r[1] {
                    Value::Array(v) => [0, 1, 2].map(|i| v.get(i).map_or(0.0, float) / 1e6),
                    _ => [0.0; 3],
                };
                LatencyGroup {
                    key: r[0].clone(),
                    quantiles_ms: q,
                    calls: uint(&r[2]),
                    avg_ms: float(&r[3]) / 1e6,
                }
            })
            .collect())
    }
    /// The calls of a selection exported with the local export itself: a call's prompt
    /// and response are normalized in Rust, so the calls are read raw a page at a
    /// time, normalized, written into a scratch DuckDB file beside nothing of the
    /// user's, and exported from there with the same columns and formats as a local
    /// database gives.
    fn export_calls(
        &mut self,
        filter: &Filter,
        format: ExportFormat,
        out: &mut OutputFile,
    ) -> Result<u64, StoreError> {
        const PAGE: i64 = 20_000;
        let scratch = tempfile::Builder::new()
            .prefix("llm-observatory-export-")
            .tempdir()
            .map_err(|source| StoreError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        let store = crate::open::Store::open(
            &scratch.path().join("calls.duckdb"),
            crate::open::OpenMode::ReadWrite,
        )?;
        store.set_prices(self.prices.read().expect("price lock").clone());
        let writer = store.writer()?;
        let mut offset = 0i64;
        loop {
            let mut page = self.calls(filter, &raw::names("c"))?;
            let l = page.params.push(Param::Int(PAGE));
            let o = page.params.push(Param::Int(offset));
            let sql = format!(
                "{} ORDER BY c.start_ns, c.trace_id, c.span_id LIMIT {l} OFFSET {o}",
                page.sql
            );
            let rows = self.rows(&sql, &page.params)?;
            let n = rows.len() as i64;
            let spans = rows
                .iter()
                .map(|r| self.normalized(r))
                .collect::<Result<Vec<_>, _>>()?;
            if !spans.is_empty() {
                writer.write(crate::writer::Batch {
                    spans,
                    ..crate::writer::Batch::default()
                })?;
            }
            if n < PAGE {
                break;
            }
            offset += n;
        }
        writer.close()?;
        let mut reader = store.reader()?;
        reader.export(ExportTable::Calls, &Filter::default(), format, out)
    }

    /// The traces of a selection, one row each with the traces page's columns, and
    /// the parameters: traces with a span (a matching call, when the filter is about
    /// calls) in the selection, each listed whole and kept when its first start is in
    /// the range, as the local traces table lists them.
    fn traces_grouped(&self, filter: &Filter) -> Result<(String, Params), StoreError> {
        super::filter_sql::check(filter)?;
        let mut p = Params::default();
        let spans = filter_sql::spans_where(filter, &mut p);
        let candidates = if filter.selects_calls() {
            let cost = if filter.cost_usd.is_empty() {
                "NULL".to_string()
            } else {
                self.inline_cost(filter)?
            };
            let calls = filter_sql::calls_where(filter, &cost, &self.tables()?, &mut p);
            format!(
                "SELECT c.trace_id FROM ({}) AS c WHERE {calls}",
                extract::calls(&self.table(), &spans)
            )
        } else {
            format!("SELECT TraceId FROM {} WHERE {spans}", self.table())
        };
        let mut range = Vec::new();
        if let Some(from) = filter.from_ns {
            range.push(format!("start_ns >= {}", p.push(Param::Int(from))));
        }
        if let Some(to) = filter.to_ns {
            range.push(format!("start_ns < {}", p.push(Param::Int(to))));
        }
        let having = if range.is_empty() {
            "TRUE".to_string()
        } else {
            range.join(" AND ")
        };
        let cost = self.inline_cost(&Filter::default())?;
        // A listed trace starts at or after the range's start, and so does each of its
        // spans: the outer scan may skip what is older (not what is newer: a trace's
        // later spans may start after the range's end).
        let since = match filter.from_ns {
            Some(from) => format!(
                "Timestamp >= fromUnixTimestamp64Nano({})",
                p.push(Param::Int(from))
            ),
            None => "TRUE".to_string(),
        };
        let grouped = format!(
            "SELECT trace_id, root_name, root_service AS service, first_start AS start_ns,
                    last_end - first_start AS duration_ns, spans, llm_calls, tokens, cost_usd,
                    has_error
             FROM (
                SELECT trace_id,
                       argMin(name, (parent_span_id != '', start_ns)) AS root_name,
                       argMin(service, (parent_span_id != '', start_ns)) AS root_service,
                       min(start_ns) AS first_start, max(start_ns + duration_ns) AS last_end,
                       count() AS spans, countIf(is_call) AS llm_calls,
                       sumIf(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), is_call) AS tokens,
                       sumIf(coalesce({cost}, 0), is_call) AS cost_usd,
                       toBool(max(span_failed OR (is_call AND is_error))) AS has_error
                FROM ({spans}) AS c
                WHERE trace_id IN ({candidates})
                GROUP BY trace_id)
             WHERE {having}",
            spans = extract::spans(&self.table(), &since),
        );
        Ok((grouped, p))
    }
}

impl ClickHouseReader {
    /// The start of the latest minute from which on the selection holds at least
    /// `calls` calls (counted from the minute rollups); `None` when it holds fewer.
    fn latest_minute_holding(
        &self,
        filter: &Filter,
        calls: u64,
    ) -> Result<Option<i64>, StoreError> {
        let mut rows = self.call_rows(filter, Some(MINUTE_NS))?;
        let n = rows
            .params
            .push(Param::Int(calls.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT minute FROM (
                 SELECT minute, sum(n) OVER (ORDER BY minute DESC) AS since
                 FROM (SELECT intDiv(t, {MINUTE_NS}) * {MINUTE_NS} AS minute, sum(calls) AS n
                       FROM ({}) GROUP BY minute))
             WHERE since >= {n} ORDER BY minute DESC LIMIT 1",
            rows.sql
        );
        Ok(self
            .rows(&sql, &rows.params)?
            .first()
            .and_then(|r| int(&r[0])))
    }

    /// Top errors counted from the minute rollups when they answer for the whole
    /// selection's minutes, each group's latest message read from the raw spans of its
    /// latest call alone. `None` when the rollups do not answer.
    fn summarised_top_errors(
        &self,
        errors_only: &Filter,
        limit: u64,
    ) -> Result<Option<Vec<TopError>>, StoreError> {
        if self.rollups().is_none() || !errors_only.on_dimensions_only() {
            return Ok(None);
        }
        let mut rows = self.call_rows(errors_only, None)?;
        let l = rows
            .params
            .push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT coalesce(error_type, 'error') AS et, model, sum(calls) AS n,
                    n / sum(n) OVER (), max(last_start_ns)
             FROM ({}) GROUP BY et, model ORDER BY n DESC, et, model LIMIT {l}",
            rows.sql
        );
        let mut top: Vec<TopError> = self
            .rows(&sql, &rows.params)?
            .into_iter()
            .map(|r| TopError {
                error_type: text(&r[0]).unwrap_or_default(),
                model: text(&r[1]).unwrap_or_default(),
                count: uint(&r[2]),
                share: float(&r[3]),
                last_seen_ns: int(&r[4]).unwrap_or_default(),
                example_message: None,
            })
            .collect();
        if top.is_empty() {
            return Ok(Some(top));
        }
        // The latest calls' messages: only the spans starting at those instants.
        let instants: Vec<i64> = top.iter().map(|t| t.last_seen_ns).collect();
        let inner = self.calls_starting(
            errors_only,
            "coalesce(c.error_type, 'error') AS et, c.model AS model, c.start_ns AS t, c.error_message AS message",
            &instants,
        )?;
        let sql = format!(
            "SELECT et, model, argMax(message, t) FROM ({}) GROUP BY et, model",
            inner.sql
        );
        for r in self.rows(&sql, &inner.params)? {
            let (et, model) = (text(&r[0]), text(&r[1]));
            if let Some(t) = top
                .iter_mut()
                .find(|t| Some(&t.error_type) == et.as_ref() && Some(&t.model) == model.as_ref())
            {
                t.example_message = text(&r[2]);
            }
        }
        Ok(Some(top))
    }
}

impl ClickHouseReader {
    /// The traces page from the per-trace summaries of the rollups, when they answer:
    /// a selection by time alone (every other condition picks traces by their spans
    /// or calls). `None` otherwise.
    ///
    /// Two steps: the page's trace keys in order, reading only the sort column of every
    /// trace (the server counts the traces in range in the same pass), then the page's
    /// rows by key. Costs are priced from each trace's cost classes at today's prices.
    fn summarised_traces_page(
        &self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<Option<(Vec<TraceRow>, u64)>, StoreError> {
        let Some(rollups) = self.rollups() else {
            return Ok(None);
        };
        if filter.selects_calls() || !filter.services.is_empty() {
            return Ok(None);
        }
        super::filter_sql::check(filter)?;
        let priced = self.priced_names(&Filter::default())?;
        // Cost is linear in the classes: the sum of each row's cost is the trace's, and
        // far cheaper to compute than merging the rows' maps first.
        let cost = format!("sum({})", rollups::trace_cost("costs", &priced));
        let sort_value = match sort {
            TraceSort::Start => "min(first_start)".to_string(),
            TraceSort::Duration => "max(last_end) - min(first_start)".to_string(),
            TraceSort::LlmCalls => "sum(llm_calls)".to_string(),
            TraceSort::Tokens => "sum(tokens)".to_string(),
            TraceSort::Cost => cost.clone(),
            TraceSort::Status => "max(has_error)".to_string(),
            TraceSort::Name => "min(root).3".to_string(),
            TraceSort::Service => "min(root).4".to_string(),
        };
        let mut p = Params::default();
        let mut range = vec!["TRUE".to_string()];
        if let Some(from) = filter.from_ns {
            range.push(format!("start_ns >= {}", p.push(Param::Int(from))));
        }
        if let Some(to) = filter.to_ns {
            range.push(format!("start_ns < {}", p.push(Param::Int(to))));
        }
        let grouped = format!(
            "FROM {} GROUP BY trace_key HAVING {}",
            rollups.traces,
            range.join(" AND ")
        );
        let l = p.push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let o = p.push(Param::Int(offset.min(i64::MAX as u64) as i64));
        let keys_sql = format!(
            "SELECT toString(trace_key), {sort_value} AS sort_value,
                    min(first_start) AS start_ns
             {grouped}
             ORDER BY sort_value {} NULLS LAST, trace_key LIMIT {l} OFFSET {o}",
            dir.sql()
        );
        let (keys, mut total) = self.client.rows_and_total(&keys_sql, &p)?;
        if keys.is_empty() {
            total = self
                .rows(
                    &format!("SELECT count() FROM (SELECT min(first_start) AS start_ns {grouped})"),
                    &p,
                )?
                .first()
                .map_or(0, |r| uint(&r[0]));
            return Ok(Some((Vec::new(), total)));
        }
        let keys: Vec<String> = keys.iter().filter_map(|r| text(&r[0])).collect();
        let mut p = Params::default();
        let list = p.text(&keys.join(","));
        let rows_sql = format!(
            "SELECT toString(trace_key), any(trace_id), min(root).3, min(root).4,
                    min(first_start), max(last_end) - min(first_start), sum(spans),
                    sum(llm_calls), sum(tokens), {cost}, max(has_error)
             FROM {}
             WHERE trace_key IN (SELECT arrayJoin(arrayMap(k -> toUInt128(k), splitByChar(',', {list}))))
             GROUP BY trace_key",
            rollups.traces
        );
        let mut rows: HashMap<String, TraceRow> = self
            .rows(&rows_sql, &p)?
            .iter()
            .map(|r| (text(&r[0]).unwrap_or_default(), trace_row(&r[1..])))
            .collect();
        let page = keys.iter().filter_map(|k| rows.remove(k)).collect();
        Ok(Some((page, total)))
    }
}

/// The latency of one group of calls.
struct LatencyGroup {
    key: Value,
    /// p50, p95, p99.
    quantiles_ms: [f64; 3],
    calls: u64,
    avg_ms: f64,
}

/// The first start and last end of a selection's calls, and their summed latency.
#[derive(Default)]
struct Extent {
    first: Option<i64>,
    last: Option<i64>,
    duration_ns: f64,
}

impl Queries for ClickHouseReader {
    fn canceller(&self) -> crate::backend::Canceller {
        self.client.canceller()
    }

    fn data_version(&self) -> u64 {
        (self.version)()
    }

    fn models(&mut self) -> Result<Vec<String>, StoreError> {
        let s = self.call_rows(&Filter::default(), None)?;
        let mut v: Vec<String> = self
            .rows(
                &format!("SELECT DISTINCT model FROM ({})", s.sql),
                &s.params,
            )?
            .iter()
            .filter_map(|r| text(&r[0]))
            .collect();
        v.sort();
        Ok(v)
    }

    fn models_by_volume(&mut self) -> Result<Vec<String>, StoreError> {
        let s = self.call_rows(&Filter::default(), None)?;
        let sql = format!(
            "SELECT model FROM ({}) GROUP BY model ORDER BY sum(calls) DESC, model",
            s.sql
        );
        Ok(self
            .rows(&sql, &s.params)?
            .iter()
            .filter_map(|r| text(&r[0]))
            .collect())
    }

    fn time_bounds(&mut self) -> Result<Option<(i64, i64)>, StoreError> {
        let s = self.call_rows(&Filter::default(), None)?;
        let rows = self.rows(
            &format!(
                "SELECT min(first_start_ns), max(last_start_ns), sum(calls) FROM ({})",
                s.sql
            ),
            &s.params,
        )?;
        Ok(rows
            .first()
            .filter(|r| uint(&r[2]) > 0)
            .and_then(|r| int(&r[0]).zip(int(&r[1]))))
    }

    fn holds_data(&mut self) -> Result<bool, StoreError> {
        let one = format!("SELECT 'span' FROM {} LIMIT 1", self.table());
        Ok(!self.strings(&one)?.is_empty())
    }

    fn services(&mut self) -> Result<Vec<String>, StoreError> {
        self.strings(&format!(
            "SELECT DISTINCT ServiceName FROM {} ORDER BY 1",
            self.table()
        ))
    }

    fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        let mut s = self.call_summary(filter)?;
        if let Some(r) = self.rollups().filter(|_| *filter == Filter::default()) {
            // Everything: the per-trace summaries hold every span's trace and extent.
            let sql = format!(
                "SELECT sum(spans), (SELECT count() FROM (SELECT trace_key FROM {t} GROUP BY trace_key)),
                        min(first_start), max(last_end)
                 FROM {t}",
                t = r.traces
            );
            if let Some(row) = self.rows(&sql, &Params::default())?.first() {
                s.spans = Some(uint(&row[0]));
                s.traces = Some(uint(&row[1]));
                if s.spans != Some(0) {
                    s.first_start_ns = int(&row[2]);
                    s.last_end_ns = int(&row[3]);
                }
                return Ok(s);
            }
        }
        let mut params = Params::default();
        let condition = self.selected_spans(filter, &mut params)?;
        let sql = format!(
            "SELECT count(), uniqExact(TraceId),
                    min(toInt64(toUnixTimestamp64Nano(Timestamp))),
                    max(toInt64(toUnixTimestamp64Nano(Timestamp)) + toInt64(Duration))
             FROM {} WHERE {condition}",
            self.table()
        );
        let rows = self.rows(&sql, &params)?;
        let r = rows.first().ok_or_else(|| {
            StoreError::ClickHouse(crate::error::ClickHouseError::Protocol(
                "no row for an aggregate".into(),
            ))
        })?;
        s.spans = Some(uint(&r[0]));
        s.traces = Some(uint(&r[1]));
        if s.spans != Some(0) {
            s.first_start_ns = int(&r[2]);
            s.last_end_ns = int(&r[3]);
        }
        Ok(s)
    }

    fn call_summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        let (models, extent) = self.model_sums(filter)?;
        let mut s = Summary {
            first_start_ns: extent.first,
            last_end_ns: extent.last,
            ..Summary::default()
        };
        s.add_models(&models);
        let sketched = self.sketched(filter, None, s.llm_calls)?;
        s.latency_approximate = sketched.is_some();
        s.latency_ms = if let Some(rows) = sketched {
            self.sketches_by("true", rows)?
                .first()
                .map_or([0.0; 3], |(_, b)| {
                    sketch::quantiles(b, LATENCY_LEVELS).map(|v| v / 1e6)
                })
        } else {
            self.percentiles_by(filter, "1", Sketched::Duration)?
                .first()
                .map_or([0.0; 3], |g| g.quantiles_ms)
        };
        s.avg_latency_ms = extent.duration_ns / s.llm_calls.max(1) as f64 / 1e6;
        Ok(s)
    }

    fn per_model(&mut self, filter: &Filter) -> Result<Vec<ModelRow>, StoreError> {
        let (mut models, _) = self.model_sums(filter)?;
        let calls = models.iter().map(|m| m.calls).sum();
        if let Some(rows) = self.sketched(filter, None, calls)? {
            for (model, b) in self.sketches_by("model", rows)? {
                if let Some(m) = models
                    .iter_mut()
                    .find(|m| Some(&m.model) == text(&model).as_ref())
                {
                    [m.p50_ms, m.p95_ms, m.p99_ms] =
                        sketch::quantiles(&b, LATENCY_LEVELS).map(|v| v / 1e6);
                    m.latency_approximate = true;
                }
            }
            return Ok(models);
        }
        for g in self.percentiles_by(filter, "c.model", Sketched::Duration)? {
            if let Some(m) = models
                .iter_mut()
                .find(|m| Some(&m.model) == text(&g.key).as_ref())
            {
                [m.p50_ms, m.p95_ms, m.p99_ms] = g.quantiles_ms;
            }
        }
        Ok(models)
    }

    fn time_series(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        let mut inner = self.call_rows(filter, Some(bucket_ns))?;
        let b = inner.params.push(Param::Int(bucket_ns));
        let sums = CostSums::column_names()
            .map(|n| format!("toFloat64(sum({n}))"))
            .join(", ");
        let sql = format!(
            "SELECT intDiv(t, {b}) * {b} AS bucket, model, priced_as, sum(calls),
                    sumIf(calls, is_error), sum(input_tokens), sum(output_tokens),
                    sum(cache_read_tokens), {sums}
             FROM ({}) GROUP BY bucket, model, priced_as ORDER BY bucket, model",
            inner.sql
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut points: Vec<SeriesPoint> = Vec::new();
        for r in self.rows(&sql, &inner.params)? {
            let priced_as = text(&r[2]).unwrap_or_default();
            let tokens = [float(&r[8]), float(&r[9]), float(&r[10]), float(&r[11])];
            let p = SeriesPoint {
                bucket_start_ns: int(&r[0]).unwrap_or_default(),
                model: text(&r[1]).unwrap_or_default(),
                requests: uint(&r[3]),
                errors: uint(&r[4]),
                input_tokens: uint(&r[5]),
                output_tokens: uint(&r[6]),
                cache_read_tokens: uint(&r[7]),
                cost_usd: CostSums::from_values(tokens, float(&r[12]))
                    .cost(prices.lookup(&priced_as)),
            };
            SeriesPoint::push_merged(&mut points, p);
        }
        Ok(points)
    }

    fn latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        if self.sketches_answer(filter, Some(bucket_ns)) {
            // Counts and means from the minute rollups; percentiles from the sketches
            // when there are enough calls for them to save time.
            let rows = self.call_rows(filter, Some(bucket_ns))?;
            let sql = format!(
                "SELECT intDiv(t, {bucket_ns}) * {bucket_ns} AS bucket, sum(calls),
                        toFloat64(sum(duration_ns)) / sum(calls) / 1e6
                 FROM ({}) GROUP BY bucket ORDER BY bucket",
                rows.sql
            );
            let mut points: Vec<LatencyPoint> = self
                .rows(&sql, &rows.params)?
                .into_iter()
                .map(|r| LatencyPoint {
                    bucket_start_ns: int(&r[0]).unwrap_or_default(),
                    count: uint(&r[1]),
                    avg_ms: float(&r[2]),
                    approximate: true,
                    ..LatencyPoint::default()
                })
                .collect();
            let calls = points.iter().map(|p| p.count).sum();
            if let Some(rows) = self.sketched(filter, Some(bucket_ns), calls)? {
                let sketches =
                    self.sketches_by(&format!("intDiv(t, {bucket_ns}) * {bucket_ns}"), rows)?;
                for (t, b) in sketches {
                    if let Some(p) = points
                        .iter_mut()
                        .find(|p| Some(p.bucket_start_ns) == int(&t))
                    {
                        [p.p50_ms, p.p95_ms, p.p99_ms] =
                            sketch::quantiles(&b, LATENCY_LEVELS).map(|v| v / 1e6);
                    }
                }
                return Ok(points);
            }
        }
        let group = format!("intDiv(c.start_ns, {bucket_ns}) * {bucket_ns}");
        Ok(self
            .percentiles_by(filter, &group, Sketched::Duration)?
            .into_iter()
            .map(|g| LatencyPoint {
                bucket_start_ns: int(&g.key).unwrap_or_default(),
                count: g.calls,
                avg_ms: g.avg_ms,
                p50_ms: g.quantiles_ms[0],
                p95_ms: g.quantiles_ms[1],
                p99_ms: g.quantiles_ms[2],
                approximate: false,
            })
            .collect())
    }

    fn metric_catalog(&mut self, filter: &Filter) -> Result<Vec<crate::MetricInfo>, StoreError> {
        super::metrics::catalog(&self.client, filter)
    }

    fn metric_view(
        &mut self,
        filter: &Filter,
        name: &str,
        bucket_ns: i64,
    ) -> Result<crate::MetricView, StoreError> {
        super::metrics::view(&self.client, filter, name, bucket_ns)
    }

    fn usage(&mut self, filter: &Filter) -> Result<Vec<crate::UsageRow>, StoreError> {
        ClickHouseReader::usage(self, filter)
    }

    fn prompt_patterns(
        &mut self,
        _filter: &Filter,
        _sort: crate::PatternSort,
        _limit: usize,
    ) -> Result<(Vec<crate::PatternRow>, usize), StoreError> {
        Err(StoreError::Unsupported(PATTERNS_ON_CLICKHOUSE))
    }

    fn first_token(&mut self, filter: &Filter) -> Result<FirstTokenSummary, StoreError> {
        let mut summary = FirstTokenSummary::default();
        if let Some(all) = self
            .percentiles_by(filter, "1", Sketched::FirstToken)?
            .into_iter()
            .next()
        {
            (summary.calls, summary.ttft_ms) = (all.calls, all.quantiles_ms);
        }
        let speeds = self.calls(
            filter,
            &format!(
                "c.model AS g, {} AS v, c.ttft_ns AS d, c.output_tokens AS o",
                crate::query::timing::OUTPUT_TPS_SQL
            ),
        )?;
        let sql = format!(
            "SELECT g, quantileExactInclusive(0.5)(v) FROM ({})
             WHERE d IS NOT NULL AND o > 0 GROUP BY g",
            speeds.sql
        );
        let speeds: HashMap<String, f64> = self
            .rows(&sql, &speeds.params)?
            .into_iter()
            .filter_map(|r| Some((text(&r[0])?, float(&r[1]))))
            .collect();
        for g in self.percentiles_by(filter, "c.model", Sketched::FirstToken)? {
            let model = text(&g.key).unwrap_or_default();
            summary.by_model.push(ModelFirstToken {
                output_tps_p50: speeds.get(&model).copied(),
                model,
                calls: g.calls,
                ttft_ms: g.quantiles_ms,
            });
        }
        summary
            .by_model
            .sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Ok(summary)
    }

    fn first_token_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        let group = format!("intDiv(c.start_ns, {bucket_ns}) * {bucket_ns}");
        Ok(self
            .percentiles_by(filter, &group, Sketched::FirstToken)?
            .into_iter()
            .map(|g| LatencyPoint {
                bucket_start_ns: int(&g.key).unwrap_or_default(),
                count: g.calls,
                avg_ms: g.avg_ms,
                p50_ms: g.quantiles_ms[0],
                p95_ms: g.quantiles_ms[1],
                p99_ms: g.quantiles_ms[2],
                approximate: false,
            })
            .collect())
    }

    fn latency_heatmap(&mut self, filter: &Filter, bucket_ns: i64) -> Result<Heatmap, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        let edges = Heatmap::edges();
        if let Some(rows) = self.sketch_rows(filter, Some(bucket_ns))? {
            let sql = format!(
                "SELECT intDiv(t, {bucket_ns}) * {bucket_ns} AS time_bucket, {band} AS band,
                        sum(calls) AS n
                 FROM ({}) GROUP BY time_bucket, band HAVING n > 0
                 ORDER BY time_bucket, band",
                rows.sql,
                band = crate::query::band_sql(),
            );
            let cells = self
                .rows(&sql, &rows.params)?
                .into_iter()
                .map(|r| HeatmapCell {
                    bucket_start_ns: int(&r[0]).unwrap_or_default(),
                    latency_bucket: uint(&r[1]) as usize,
                    count: uint(&r[2]),
                })
                .collect();
            return Ok(Heatmap {
                latency_edges_ms: edges,
                cells,
            });
        }
        // A latency in band i is over edges[i-1] and up to edges[i] (ms), as the
        // sketch's buckets count it.
        let edges_ns: Vec<String> = edges.iter().map(|e| format!("{:?}", e * 1e6)).collect();
        let inner = self.calls(
            filter,
            &format!(
                "intDiv(c.start_ns, {bucket_ns}) * {bucket_ns} AS bucket,
                 arrayCount(e -> toFloat64(c.duration_ns) > e, [{}]) AS band",
                edges_ns.join(", ")
            ),
        )?;
        let sql = format!(
            "SELECT bucket, band, count() FROM ({}) GROUP BY bucket, band ORDER BY bucket, band",
            inner.sql
        );
        let cells = self
            .rows(&sql, &inner.params)?
            .into_iter()
            .map(|r| HeatmapCell {
                bucket_start_ns: int(&r[0]).unwrap_or_default(),
                latency_bucket: uint(&r[1]) as usize,
                count: uint(&r[2]),
            })
            .collect();
        Ok(Heatmap {
            latency_edges_ms: edges,
            cells,
        })
    }

    fn traces_page(
        &mut self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TraceRow>, u64), StoreError> {
        if let Some(page) = self.summarised_traces_page(filter, sort, dir, offset, limit)? {
            return Ok(page);
        }
        let (grouped, mut p) = self.traces_grouped(filter)?;
        let total = self
            .rows(&format!("SELECT count() FROM ({grouped})"), &p)?
            .first()
            .map_or(0, |r| uint(&r[0]));
        let l = p.push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let o = p.push(Param::Int(offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT trace_id, root_name, service, start_ns, duration_ns, spans, llm_calls,
                    tokens, cost_usd, has_error
             FROM ({grouped}) ORDER BY {} {} NULLS LAST, trace_id LIMIT {l} OFFSET {o}",
            sort.column(),
            dir.sql()
        );
        let rows = self.rows(&sql, &p)?.iter().map(|r| trace_row(r)).collect();
        Ok((rows, total))
    }

    fn traces(&mut self, ids: &[u128]) -> Result<Vec<TraceTree>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let hex: Vec<String> = ids.iter().map(|id| trace_id_hex(*id)).collect();
        let mut p = Params::default();
        // One parameter for the whole list: the ids' bloom-filter index still applies.
        let list = p.text(&hex.join(","));
        let sql = format!(
            "SELECT {} FROM {} WHERE TraceId IN (SELECT arrayJoin(splitByChar(',', {list})))
             ORDER BY TraceId, Timestamp, SpanId",
            raw::select(),
            self.table()
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut by_trace: std::collections::HashMap<String, Vec<TraceSpan>> =
            std::collections::HashMap::with_capacity(ids.len());
        for r in self.rows(&sql, &p)? {
            let row = self.normalized(&r)?;
            let id = text(&r[1]).unwrap_or_default();
            by_trace
                .entry(id)
                .or_default()
                .push(trace_span(row, &prices));
        }
        Ok(hex
            .into_iter()
            .map(|id| {
                let spans = depth_first(by_trace.remove(&id).unwrap_or_default());
                TraceTree {
                    trace_id: id,
                    spans,
                }
            })
            .collect())
    }

    fn calls_page(
        &mut self,
        filter: &Filter,
        sort: CallSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<CallRow>, u64), StoreError> {
        let rolled_up = self.rollups().is_some() && filter.on_dimensions_only();
        let counted = if rolled_up {
            let rows = self.call_rows(filter, None)?;
            Selection {
                sql: format!("SELECT sum(calls) FROM ({})", rows.sql),
                params: rows.params,
            }
        } else {
            self.calls(filter, "count()")?
        };
        let total = self
            .rows(&counted.sql, &counted.params)?
            .first()
            .map_or(0, |r| uint(&r[0]));
        // Latest first: only the minutes holding the latest offset + limit calls.
        let narrowed = if rolled_up && sort == CallSort::Start && dir == SortDir::Desc {
            let from = self.latest_minute_holding(filter, offset.saturating_add(limit))?;
            Filter {
                from_ns: filter.from_ns.max(from),
                ..filter.clone()
            }
        } else {
            filter.clone()
        };
        let cost = self.inline_cost(&Filter::default())?;
        let mut page = self.calls(
            &narrowed,
            &format!(
                "{}, {cost} AS cost_usd, c.is_error AS failed",
                raw::names("c")
            ),
        )?;
        let l = page
            .params
            .push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let o = page
            .params
            .push(Param::Int(offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "{} ORDER BY {} {} NULLS LAST, c.trace_id, c.span_id LIMIT {l} OFFSET {o}",
            page.sql,
            sort.column(),
            dir.sql()
        );
        let mut rows = Vec::new();
        for r in self.rows(&sql, &page.params)? {
            let span = self.normalized(&r[..raw::COUNT])?;
            let call = span.llm.clone().unwrap_or_default();
            let excerpt = |t: &Option<String>| {
                t.as_ref()
                    .map(|t| t.chars().take(EXCERPT_CHARS as usize).collect::<String>())
            };
            rows.push(CallRow {
                trace_id: crate::ids::trace_id_hex(u128::from_be_bytes(span.trace_id)),
                span_id: crate::ids::span_id_hex(u64::from_be_bytes(span.span_id)),
                start_ns: span.start_ns,
                duration_ns: span.duration_ns(),
                model: call.model().to_string(),
                provider: call.provider.clone(),
                service: span.service.clone(),
                prompt_excerpt: excerpt(&call.prompt),
                response_excerpt: excerpt(&call.response),
                input_tokens: call.input_tokens,
                output_tokens: call.output_tokens,
                cost_usd: r.get(raw::COUNT).and_then(|v| v.as_f64()),
                is_error: r.get(raw::COUNT + 1).is_some_and(boolean),
                error_type: call.error_type.clone(),
            });
        }
        Ok((rows, total))
    }

    fn top_errors(&mut self, filter: &Filter, limit: u64) -> Result<Vec<TopError>, StoreError> {
        let errors_only = Filter {
            status: StatusFilter::Error,
            ..filter.clone()
        };
        if let Some(top) = self.summarised_top_errors(&errors_only, limit)? {
            return Ok(top);
        }
        let mut inner = self.calls(
            &errors_only,
            "coalesce(c.error_type, 'error') AS error_type, c.model AS model, c.start_ns AS t, c.error_message AS message",
        )?;
        let l = inner
            .params
            .push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT error_type, model, count() AS n, n / sum(n) OVER () AS share, max(t),
                    argMax(message, t)
             FROM ({}) GROUP BY error_type, model ORDER BY n DESC, error_type, model LIMIT {l}",
            inner.sql
        );
        Ok(self
            .rows(&sql, &inner.params)?
            .into_iter()
            .map(|r| TopError {
                error_type: text(&r[0]).unwrap_or_default(),
                model: text(&r[1]).unwrap_or_default(),
                count: uint(&r[2]),
                share: float(&r[3]),
                last_seen_ns: int(&r[4]).unwrap_or_default(),
                example_message: text(&r[5]),
            })
            .collect())
    }

    fn export(
        &mut self,
        table: ExportTable,
        filter: &Filter,
        format: ExportFormat,
        out: &mut OutputFile,
    ) -> Result<u64, StoreError> {
        let (grouped, mut p) = self.traces_grouped(filter)?;
        // The columns of the local exports, written by ClickHouse's own formats.
        let sql = match table {
            ExportTable::Traces => format!(
                "SELECT trace_id, root_name, service, fromUnixTimestamp64Nano(start_ns) AS start_time,
                        start_ns, duration_ns / 1e6 AS duration_ms, spans, llm_calls, tokens,
                        cost_usd, has_error
                 FROM ({grouped}) ORDER BY start_ns, trace_id"
            ),
            ExportTable::Spans => format!(
                "SELECT TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_span_id,
                        SpanName AS name,
                        multiIf(SpanKind IN ('SPAN_KIND_INTERNAL', 'Internal'), 1,
                                SpanKind IN ('SPAN_KIND_SERVER', 'Server'), 2,
                                SpanKind IN ('SPAN_KIND_CLIENT', 'Client'), 3,
                                SpanKind IN ('SPAN_KIND_PRODUCER', 'Producer'), 4,
                                SpanKind IN ('SPAN_KIND_CONSUMER', 'Consumer'), 5, 0) AS kind,
                        Timestamp AS start_time,
                        toInt64(toUnixTimestamp64Nano(Timestamp)) AS start_ns,
                        start_ns + toInt64(Duration) AS end_ns, Duration / 1e6 AS duration_ms,
                        multiIf(StatusCode IN ({errors}), 2, StatusCode IN ({oks}), 1, 0) AS status_code,
                        StatusMessage AS status_message, ServiceName AS service,
                        ScopeName AS scope, toBool({is_call}) AS is_llm,
                        toJSONString(SpanAttributes) AS attributes,
                        toJSONString(ResourceAttributes) AS resource,
                        toJSONString(arrayMap((t, n, a) -> (toUnixTimestamp64Nano(t), n, a),
                            Events.Timestamp, Events.Name, Events.Attributes)) AS events,
                        toJSONString(arrayMap((t, i, a) -> (t, i, a),
                            Links.TraceId, Links.SpanId, Links.Attributes)) AS links
                 FROM {table}
                 WHERE TraceId IN (SELECT trace_id FROM ({grouped}))
                 ORDER BY start_ns, trace_id, span_id",
                errors = quoted(&crate::collector_span::ERROR_STATUS),
                oks = quoted(&crate::collector_span::OK_STATUS),
                is_call = extract::is_call(),
                table = self.table(),
            ),
            ExportTable::Calls => return self.export_calls(filter, format, out),
            ExportTable::Evaluations => {
                p = Params::default();
                let judged = self.judged(filter, &mut p)?;
                format!(
                    "{judged} SELECT target, trace_id, span_id, session_id, response_id,
                            fromUnixTimestamp64Nano(time_ns) AS start_time, time_ns, name, score,
                            label, explanation, annotator, 'otlp' AS source, model
                     FROM judged ORDER BY time_ns, name, trace_id, span_id"
                )
            }
        };
        let rows = self
            .rows(&format!("SELECT count() FROM ({sql})"), &p)?
            .first()
            .map_or(0, |r| uint(&r[0]));
        let file = out.file();
        match format {
            ExportFormat::Csv => self.client.copy_to(&sql, &p, "CSVWithNames", file)?,
            ExportFormat::Parquet => self.client.copy_to(&sql, &p, "Parquet", file)?,
            ExportFormat::Json => {
                // One JSON array, one object per line, as the local export writes.
                let mut array = JsonArray::new(std::io::BufWriter::new(file));
                let bytes = self.client.copy_to(&sql, &p, "JSONEachRow", &mut array)?;
                array.finish().map_err(|source| StoreError::Io {
                    path: out.temp_path().to_owned(),
                    source,
                })?;
                bytes
            }
        };
        Ok(rows)
    }

    fn sessions_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SessionRow>, u64), StoreError> {
        self.session_rows(filter, search, sort, dir, offset, limit)
    }

    fn users_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<UserRow>, u64), StoreError> {
        self.user_rows(filter, search, sort, dir, offset, limit)
    }

    fn session_traces(&mut self, session_id: &str) -> Result<Vec<u128>, StoreError> {
        self.session_trace_ids(session_id)
    }

    fn session_turns(&mut self, session_id: &str) -> Result<Vec<SessionTurn>, StoreError> {
        // The Collector's table has no traces table: the turns from their spans.
        let ids = self.session_trace_ids(session_id)?;
        Ok(self
            .traces(&ids)?
            .iter()
            .map(SessionTurn::of_trace)
            .collect())
    }

    fn agents(&mut self, filter: &Filter) -> Result<Vec<AgentRow>, StoreError> {
        self.agent_rows(filter)
    }

    fn agent_runs(
        &mut self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError> {
        self.agent_run_rows(filter, agent, limit)
    }

    fn tools(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        self.tool_rows(filter)
    }

    fn trace_ids(&mut self, filter: &Filter) -> Result<Vec<u128>, StoreError> {
        let s = self.calls(filter, "DISTINCT c.trace_id")?;
        Ok(self
            .rows(&s.sql, &s.params)?
            .iter()
            .filter_map(|r| text(&r[0]))
            .filter_map(|t| crate::ids::hex_to_trace_id(&t))
            .collect())
    }

    fn evaluators(&mut self, filter: &Filter) -> Result<Vec<EvaluatorRow>, StoreError> {
        self.evaluator_rows(filter)
    }

    fn evaluation_trend(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<EvalPoint>, StoreError> {
        self.evaluation_points(filter, bucket_ns)
    }

    fn evaluations_by_model(&mut self, filter: &Filter) -> Result<Vec<EvalModelRow>, StoreError> {
        self.evaluation_models(filter)
    }

    fn worst_judged(
        &mut self,
        filter: &Filter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<JudgedCall>, StoreError> {
        self.worst_judged_calls(filter, name, limit)
    }

    fn trace_evaluations(&mut self, ids: &[u128]) -> Result<Vec<Evaluation>, StoreError> {
        self.evaluations_of(ids)
    }

    fn alert_history(
        &mut self,
        since_ns: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        super::alerts::history(&self.client, since_ns, limit)
    }

    /// None: notes are added through a local database's writer, which a ClickHouse
    /// connection has not (the app says so where one would be added).
    fn time_annotations(
        &mut self,
        _window: Option<(i64, i64)>,
    ) -> Result<Vec<crate::TimeAnnotation>, StoreError> {
        Ok(Vec::new())
    }

    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError> {
        OutputFile::create(target, replace, None)
    }
}

/// `'a', 'b'`: string literals for an `IN` list.
fn quoted(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| extract::literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns ClickHouse's `JSONEachRow` (one object per line) into one JSON array with an
/// object per line: the newline ending each row becomes `,\n` once another row follows.
struct JsonArray<W: std::io::Write> {
    out: W,
    started: bool,
    newline_pending: bool,
}

impl<W: std::io::Write> JsonArray<W> {
    fn new(out: W) -> Self {
        JsonArray {
            out,
            started: false,
            newline_pending: false,
        }
    }

    /// Closes the array.
    fn finish(mut self) -> std::io::Result<()> {
        if !self.started {
            self.out.write_all(b"[")?;
        }
        self.out.write_all(b"\n]\n")?;
        self.out.flush()
    }
}

impl<W: std::io::Write> std::io::Write for JsonArray<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for chunk in buf.split_inclusive(|b| *b == b'\n') {
            if chunk.is_empty() {
                continue;
            }
            if !self.started {
                self.out.write_all(b"[\n")?;
                self.started = true;
            } else if self.newline_pending {
                self.out.write_all(b",\n")?;
                self.newline_pending = false;
            }
            match chunk.strip_suffix(b"\n") {
                Some(row) => {
                    self.out.write_all(row)?;
                    self.newline_pending = true;
                }
                None => self.out.write_all(chunk)?,
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A normalized span as a span of a trace tree, its call priced.
fn trace_span(row: SpanRow, prices: &PriceTable) -> TraceSpan {
    let call = row.llm.as_ref();
    let priced_as = call.map(|c| {
        c.response_model
            .clone()
            .unwrap_or_else(|| c.model().to_string())
    });
    TraceSpan {
        span_id: crate::ids::span_id_hex(u64::from_be_bytes(row.span_id)),
        parent_span_id: row
            .parent_span_id
            .map(|p| crate::ids::span_id_hex(u64::from_be_bytes(p))),
        depth: 0,
        name: row.name.clone(),
        kind: row.kind,
        class: if call.is_some() {
            crate::row::SpanClass::Llm
        } else {
            row.class
        },
        service: row.service.clone(),
        start_ns: row.start_ns,
        duration_ns: row.duration_ns(),
        status: row.status,
        status_message: Some(row.status_message.clone()).filter(|m| !m.is_empty()),
        attributes_json: row.attributes_json.clone(),
        resource_json: row.resource_json.clone(),
        events_json: row.events_json.clone(),
        links_json: row.links_json.clone(),
        model: call.map(|c| c.model().to_string()),
        response_model: call.and_then(|c| c.response_model.clone()),
        provider: call.and_then(|c| c.provider.clone()),
        input_tokens: call.and_then(|c| c.input_tokens),
        output_tokens: call.and_then(|c| c.output_tokens),
        cost_usd: call
            .and_then(|c| cost::call_cost(c, priced_as.as_deref().and_then(|n| prices.lookup(n)))),
        prompt: call.and_then(|c| c.prompt.clone()),
        response: call.and_then(|c| c.response.clone()),
        scope: Some(row.scope.clone()).filter(|s| !s.is_empty()),
        cache_read_tokens: call.and_then(|c| c.cache_read_tokens),
        finish_reason: call.and_then(|c| c.finish_reason.clone()),
        error_type: call.and_then(|c| c.error_type.clone()),
        entity: row.entity.clone(),
        timing: call.map(|c| c.timing).unwrap_or_default(),
    }
}

/// A traces page row from the columns trace_id, root_name, service, start_ns,
/// duration_ns, spans, llm_calls, tokens, cost_usd, has_error (in that order).
fn trace_row(r: &[Value]) -> TraceRow {
    TraceRow {
        trace_id: text(&r[0]).unwrap_or_default(),
        root_name: text(&r[1]).unwrap_or_default(),
        service: text(&r[2]).unwrap_or_default(),
        start_ns: int(&r[3]).unwrap_or_default(),
        duration_ns: int(&r[4]).unwrap_or_default(),
        spans: uint(&r[5]),
        llm_calls: uint(&r[6]),
        tokens: uint(&r[7]),
        cost_usd: float(&r[8]),
        has_error: boolean(&r[9]),
    }
}

/// A JSON value as text (`None` for null).
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A JSON number (or numeric string) as a signed integer.
pub(super) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A JSON number (or numeric string) as an unsigned count, 0 otherwise.
pub(super) fn uint(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().map(|f| f as u64))
            .unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON number (or numeric string) as a float, 0 otherwise.
pub(super) fn float(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A ClickHouse boolean (`true` or `1`).
pub(super) fn boolean(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::JsonArray;
    use std::io::Write;

    #[test]
    fn json_lines_become_one_array_however_they_are_split() {
        let mut buf = Vec::new();
        let mut a = JsonArray::new(&mut buf);
        for piece in ["{\"a\":1}\n{\"a\"", ":2}\n", "{\"a\":3}\n"] {
            a.write_all(piece.as_bytes()).unwrap();
        }
        a.finish().unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "[\n{\"a\":1},\n{\"a\":2},\n{\"a\":3}\n]\n"
        );
        let mut empty = Vec::new();
        JsonArray::new(&mut empty).finish().unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), "[\n]\n");
    }
}
