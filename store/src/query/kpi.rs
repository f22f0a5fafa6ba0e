//! Headline figures: the summary of a selection and its breakdown by model.

use super::cost::{self, CostSums};
use super::{LATENCY_LEVELS, LATENCY_QUANTILES, Reader, params, percentiles_ms};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::sketch;
use serde::Serialize;

/// The headline figures of a selection. `spans` and `traces` count all spans (and are
/// `None` from [`Reader::call_summary`], which skips that scan); the rest are about LLM
/// calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Spans of every kind.
    pub spans: Option<u64>,
    /// Distinct traces.
    pub traces: Option<u64>,
    /// LLM calls.
    pub llm_calls: u64,
    /// Failed LLM calls.
    pub errors: u64,
    /// Input tokens (cache reads and writes included).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to a prompt cache.
    pub cache_write_tokens: u64,
    /// Cost in USD of the priced calls.
    pub cost_usd: f64,
    /// Calls whose model has no price and that reported no cost.
    pub unpriced_calls: u64,
    /// The models of those calls.
    pub unpriced_models: Vec<String>,
    /// LLM call latency percentiles in milliseconds: p50, p95, p99.
    pub latency_ms: [f64; 3],
    /// Whether the percentiles come from the latency sketch (within 1 % of the exact
    /// ones) rather than from every call.
    pub latency_approximate: bool,
    /// Mean LLM call latency in milliseconds.
    pub avg_latency_ms: f64,
    /// Earliest span start, Unix ns (None without data).
    pub first_start_ns: Option<i64>,
    /// Latest span end, Unix ns.
    pub last_end_ns: Option<i64>,
}

/// One model's figures in a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelRow {
    /// The model asked for (request model, else response model).
    pub model: String,
    /// The snapshots that answered it (response models), sorted.
    pub served: Vec<String>,
    /// Its provider (a model nearly always has one; of several, the last by name —
    /// `mode()` cost a sixth of the whole query at 10M calls).
    pub provider: Option<String>,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read input tokens.
    pub cache_read_tokens: u64,
    /// Cache-write input tokens.
    pub cache_write_tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Calls without a price.
    pub unpriced_calls: u64,
    /// Mean latency, ms.
    pub avg_ms: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 95th percentile latency, ms.
    pub p95_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Whether the percentiles come from the latency sketch (within 1 %).
    pub latency_approximate: bool,
}

impl Summary {
    /// Adds the per-model figures (calls, errors, tokens, cost, unpriced models) up
    /// into the summary, as every backend's call summary does.
    pub(crate) fn add_models(&mut self, rows: &[ModelRow]) {
        for m in rows {
            self.llm_calls += m.calls;
            self.errors += m.errors;
            self.input_tokens += m.input_tokens;
            self.output_tokens += m.output_tokens;
            self.cache_read_tokens += m.cache_read_tokens;
            self.cache_write_tokens += m.cache_write_tokens;
            self.cost_usd += m.cost_usd;
            self.unpriced_calls += m.unpriced_calls;
            if m.unpriced_calls > 0 {
                self.unpriced_models.push(m.model.clone());
            }
        }
        self.unpriced_models.sort();
    }
}

impl Reader {
    /// The summary of a selection, spans and traces counted. With the `traces` table,
    /// traces are counted there, by their first start, as the traces page lists them
    /// (a trace whose spans came hours apart has two rows until the writer joins them,
    /// at most ten minutes later), and all time is summed from it without reading spans,
    /// whatever the call-level conditions.
    pub fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        let mut s = self.call_summary(filter)?;
        let table = self.traces_table_answers(filter);
        let all_time = filter.from_ns.is_none() && filter.to_ns.is_none();
        let (sql, p) = if table && all_time {
            (
                "SELECT coalesce(sum(spans), 0)::UBIGINT AS spans, count(*)::UBIGINT AS traces,
                        min(start_ns) AS first_start_ns, max(end_ns) AS last_end_ns
                 FROM traces"
                    .to_string(),
                Vec::new(),
            )
        } else if all_time && self.traces_hold_every_span(filter) {
            // All time, selected by call: the traces holding a matching call, with
            // their span counts, from the `traces` table instead of every span (a split
            // trace's rows add up; it is counted once).
            let w = self.calls_where(filter)?;
            (
                format!(
                    "SELECT coalesce(sum(t.spans), 0)::UBIGINT AS spans,
                            count(DISTINCT t.trace_id)::UBIGINT AS traces,
                            min(t.start_ns) AS first_start_ns, max(t.end_ns) AS last_end_ns
                     FROM traces t
                     WHERE t.trace_id IN (SELECT c.trace_id FROM llm_calls c WHERE {})",
                    w.sql
                ),
                w.params,
            )
        } else {
            // The subquery's parameters come first: it is written first.
            let (traces, mut p) = if table {
                let w = filter.spans_where();
                (
                    format!("(SELECT count(*) FROM traces s WHERE {})", w.sql),
                    w.params,
                )
            } else {
                ("count(DISTINCT s.trace_id)".to_string(), Vec::new())
            };
            let (sql, spans_params) = self.spans_sql(
                filter,
                &format!(
                    "SELECT count(*) AS spans, {traces} AS traces,
                            min(s.start_ns) AS first_start_ns, max(s.end_ns) AS last_end_ns
                     FROM spans s"
                ),
            )?;
            p.extend(spans_params);
            (sql, p)
        };
        let (spans, traces, first, last) =
            self.conn
                .query_row(&sql, duckdb::params_from_iter(p), |r| {
                    Ok((
                        r.get("spans")?,
                        r.get("traces")?,
                        r.get("first_start_ns")?,
                        r.get("last_end_ns")?,
                    ))
                })?;
        s.spans = Some(spans);
        s.traces = Some(traces);
        s.first_start_ns = first;
        s.last_end_ns = last;
        Ok(s)
    }

    /// The LLM-call figures of a selection only (what dashboards show), without the scan
    /// over all spans that counting spans and traces needs; the first start and last end
    /// are those of the calls.
    pub fn call_summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        Self::check(filter)?;
        let sums = self.model_sums(filter, false)?;
        let calls = sums.rows.iter().map(|m| m.calls).sum();
        let (latency, approximate) = self.latency_summary(filter, calls)?;
        let mut s = Summary {
            latency_ms: latency,
            latency_approximate: approximate,
            first_start_ns: sums.first_start_ns,
            last_end_ns: sums.last_end_ns,
            ..Summary::default()
        };
        s.add_models(&sums.rows);
        s.avg_latency_ms = sums.duration_ns / s.llm_calls.max(1) as f64 / 1e6;
        Ok(s)
    }

    /// p50, p95 and p99 of the selection's latency in ms, and whether they come from
    /// the sketch.
    fn latency_summary(
        &mut self,
        filter: &Filter,
        calls: u64,
    ) -> Result<([f64; 3], bool), StoreError> {
        if let Some(rows) = self.latency_rows(filter, None, calls)? {
            let all = self.sketches_by::<bool>("true", Vec::new(), rows)?;
            let buckets = all.first().map_or(&[][..], |(_, b)| b.as_slice());
            let ns = sketch::quantiles(buckets, LATENCY_LEVELS);
            return Ok((ns.map(|v| v / 1e6), true));
        }
        let w = self.calls_where(filter)?;
        let sql = format!(
            "SELECT coalesce({LATENCY_QUANTILES}, [0, 0, 0]::DOUBLE[]) AS quantiles
             FROM llm_calls c WHERE {}",
            w.sql
        );
        let latency = self.conn.query_row(&sql, params(&w, []), |r| {
            Ok(percentiles_ms(r.get("quantiles")?))
        })?;
        Ok((latency, false))
    }

    /// `select` over `spans s` restricted to the filter: time and service directly, and
    /// the call-level parts through the traces that hold a matching call.
    pub(super) fn spans_sql(
        &mut self,
        filter: &Filter,
        select: &str,
    ) -> Result<(String, Vec<duckdb::types::Value>), StoreError> {
        let sw = filter.spans_where();
        let mut sql = format!("{select} WHERE {}", sw.sql);
        let mut p = sw.params;
        if filter.selects_calls() {
            let cw = self.calls_where(filter)?;
            sql.push_str(&format!(
                " AND s.trace_id IN (SELECT c.trace_id FROM llm_calls c WHERE {})",
                cw.sql
            ));
            p.extend(cw.params);
        }
        Ok((sql, p))
    }

    /// The selection broken down by model, most calls first.
    pub fn per_model(&mut self, filter: &Filter) -> Result<Vec<ModelRow>, StoreError> {
        Self::check(filter)?;
        Ok(self.model_sums(filter, true)?.rows)
    }

    /// Per-model figures. Everything but the percentiles adds up, so it is read per
    /// model and priced name (each group one price, [`cost::sums_sql`]) and summed per
    /// model here; latency percentiles, only when asked (they cost a sort), per model.
    fn model_sums(&mut self, filter: &Filter, latency: bool) -> Result<ModelSums, StoreError> {
        let rows = self.call_rows(filter, None)?;
        let sql = format!(
            "SELECT model, priced_as, max(provider) AS provider,
                    sum(calls)::UBIGINT AS calls,
                    coalesce(sum(calls) FILTER (WHERE is_error), 0)::UBIGINT AS errors,
                    sum(input_tokens)::UBIGINT AS input_tokens,
                    sum(output_tokens)::UBIGINT AS output_tokens,
                    sum(cache_read_tokens)::UBIGINT AS cache_read_tokens,
                    sum(cache_write_tokens)::UBIGINT AS cache_write_tokens,
                    {cost_sums},
                    sum({unpriced})::UBIGINT AS {unpriced},
                    sum(duration_ns)::DOUBLE AS duration_ns,
                    bool_or(answered) AS answered,
                    min(first_start_ns) AS first_start_ns, max(last_end_ns) AS last_end_ns
             FROM ({}) GROUP BY model, priced_as",
            rows.sql,
            cost_sums = cost::sums_sql(),
            unpriced = cost::UNPRICED,
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut sums = ModelSums::default();
        let mut durations: Vec<f64> = Vec::new();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&rows, []))?;
        while let Some(r) = result.next()? {
            let model: String = r.get("model")?;
            let priced_as: String = r.get("priced_as")?;
            let price = prices.lookup(&priced_as);
            let i = match sums.rows.iter().position(|m| m.model == model) {
                Some(i) => i,
                None => {
                    sums.rows.push(ModelRow {
                        model,
                        ..ModelRow::default()
                    });
                    durations.push(0.0);
                    sums.rows.len() - 1
                }
            };
            let m = &mut sums.rows[i];
            let provider: Option<String> = r.get("provider")?;
            m.provider = m.provider.take().max(provider);
            m.calls += r.get::<_, u64>("calls")?;
            m.errors += r.get::<_, u64>("errors")?;
            m.input_tokens += r.get::<_, u64>("input_tokens")?;
            m.output_tokens += r.get::<_, u64>("output_tokens")?;
            m.cache_read_tokens += r.get::<_, u64>("cache_read_tokens")?;
            m.cache_write_tokens += r.get::<_, u64>("cache_write_tokens")?;
            m.cost_usd += CostSums::read(r)?.cost(price);
            if price.is_none() {
                m.unpriced_calls += r.get::<_, u64>(cost::UNPRICED)?;
            }
            if r.get("answered")? {
                m.served.push(priced_as);
            }
            let duration: f64 = r.get("duration_ns")?;
            durations[i] += duration;
            sums.duration_ns += duration;
            let first: Option<i64> = r.get("first_start_ns")?;
            let last: Option<i64> = r.get("last_end_ns")?;
            sums.first_start_ns = sums.first_start_ns.into_iter().chain(first).min();
            sums.last_end_ns = sums.last_end_ns.max(last);
        }
        for (m, total_ns) in sums.rows.iter_mut().zip(durations) {
            m.served.sort();
            m.avg_ms = total_ns / m.calls.max(1) as f64 / 1e6;
        }
        if latency {
            self.add_percentiles(filter, &mut sums.rows)?;
        }
        sums.rows
            .sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Ok(sums)
    }

    /// Each model's latency percentiles: from the sketch where the rollups answer,
    /// else exact.
    fn add_percentiles(
        &mut self,
        filter: &Filter,
        rows: &mut [ModelRow],
    ) -> Result<(), StoreError> {
        let calls = rows.iter().map(|m| m.calls).sum();
        if let Some(sketch_rows) = self.latency_rows(filter, None, calls)? {
            let buckets = self.sketches_by::<String>("model", Vec::new(), sketch_rows)?;
            for (model, b) in buckets {
                if let Some(m) = rows.iter_mut().find(|m| m.model == model) {
                    let [p50, p95, p99] = sketch::quantiles(&b, LATENCY_LEVELS).map(|v| v / 1e6);
                    (m.p50_ms, m.p95_ms, m.p99_ms) = (p50, p95, p99);
                    m.latency_approximate = true;
                }
            }
            return Ok(());
        }
        let w = self.calls_where(filter)?;
        let sql = format!(
            "SELECT c.model, {LATENCY_QUANTILES} AS quantiles FROM llm_calls c WHERE {} GROUP BY c.model",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&w, []))?;
        while let Some(r) = result.next()? {
            let model: String = r.get("model")?;
            let [p50, p95, p99] = percentiles_ms(r.get("quantiles")?);
            if let Some(m) = rows.iter_mut().find(|m| m.model == model) {
                (m.p50_ms, m.p95_ms, m.p99_ms) = (p50, p95, p99);
            }
        }
        Ok(())
    }
}

/// The per-model sums of a selection, with what the summary needs besides.
#[derive(Default)]
struct ModelSums {
    rows: Vec<ModelRow>,
    first_start_ns: Option<i64>,
    last_end_ns: Option<i64>,
    duration_ns: f64,
}
