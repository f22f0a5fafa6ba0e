//! Headline figures: the summary of a selection and its breakdown by model.

use super::cost::{self, CostSums};
use super::filter_sql::Where;
use super::{LATENCY_QUANTILES, Reader, params, percentiles_ms};
use crate::error::StoreError;
use crate::filter::Filter;
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
}

impl Reader {
    /// The summary of a selection, spans and traces counted.
    pub fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        let mut s = self.call_summary(filter)?;
        let (sql, p) = self.spans_sql(
            filter,
            "SELECT count(*) AS spans, count(DISTINCT s.trace_id) AS traces,
                    min(s.start_ns) AS first_start_ns, max(s.end_ns) AS last_end_ns
             FROM spans s",
        )?;
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
        let by_model = self.model_sums(filter, false)?;
        let w = self.calls_where(filter)?;
        let sql = format!(
            "SELECT coalesce({LATENCY_QUANTILES}, [0, 0, 0]::DOUBLE[]) AS quantiles,
                    coalesce(avg(c.duration_ns) / 1e6, 0)::DOUBLE AS avg_ms,
                    min(c.start_ns) AS first_start_ns, max(c.start_ns + c.duration_ns) AS last_end_ns
             FROM llm_calls c WHERE {}",
            w.sql
        );
        let (latency, avg, first, last) = self.conn.query_row(&sql, params(&w, []), |r| {
            Ok((
                percentiles_ms(r.get("quantiles")?),
                r.get("avg_ms")?,
                r.get("first_start_ns")?,
                r.get("last_end_ns")?,
            ))
        })?;
        let mut s = Summary {
            latency_ms: latency,
            avg_latency_ms: avg,
            first_start_ns: first,
            last_end_ns: last,
            ..Summary::default()
        };
        for m in &by_model {
            s.llm_calls += m.calls;
            s.errors += m.errors;
            s.input_tokens += m.input_tokens;
            s.output_tokens += m.output_tokens;
            s.cache_read_tokens += m.cache_read_tokens;
            s.cache_write_tokens += m.cache_write_tokens;
            s.cost_usd += m.cost_usd;
            s.unpriced_calls += m.unpriced_calls;
            if m.unpriced_calls > 0 {
                s.unpriced_models.push(m.model.clone());
            }
        }
        s.unpriced_models.sort();
        Ok(s)
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
        self.model_sums(filter, true)
    }

    /// Per-model figures. Everything but the percentiles adds up, so it is read per
    /// model and priced name (each group one price, [`cost::sums_sql`]) and summed per
    /// model here; latency percentiles, only when asked (they cost a sort), per model.
    fn model_sums(&mut self, filter: &Filter, latency: bool) -> Result<Vec<ModelRow>, StoreError> {
        let w = self.calls_where(filter)?;
        let cost_sums = cost::sums_sql();
        let sql = format!(
            "SELECT c.model, {priced_as} AS priced_as, max(c.provider) AS provider,
                    count(*) AS calls, count(*) FILTER (WHERE c.is_error) AS errors,
                    coalesce(sum(c.input_tokens), 0)::UBIGINT AS input_tokens,
                    coalesce(sum(c.output_tokens), 0)::UBIGINT AS output_tokens,
                    coalesce(sum(c.cache_read_tokens), 0)::UBIGINT AS cache_read_tokens,
                    coalesce(sum(c.cache_write_tokens), 0)::UBIGINT AS cache_write_tokens,
                    {cost_sums},
                    count(*) FILTER (WHERE c.reported_cost IS NULL
                        AND coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0) > 0) AS would_be_unpriced,
                    sum(c.duration_ns)::DOUBLE AS duration_ns,
                    bool_or(c.response_model IS NOT NULL) AS answered
             FROM llm_calls c
             WHERE {}
             GROUP BY ALL",
            w.sql,
            priced_as = cost::PRICED_AS,
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut rows: Vec<ModelRow> = Vec::new();
        let mut durations: Vec<f64> = Vec::new();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&w, []))?;
        while let Some(r) = result.next()? {
            let model: String = r.get("model")?;
            let priced_as: String = r.get("priced_as")?;
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
                m.unpriced_calls += r.get::<_, u64>("would_be_unpriced")?;
            }
            if r.get("answered")? {
                m.served.push(priced_as);
            }
            durations[i] += r.get::<_, f64>("duration_ns")?;
        }
        for (m, total_ns) in rows.iter_mut().zip(durations) {
            m.served.sort();
            m.avg_ms = total_ns / m.calls.max(1) as f64 / 1e6;
        }
        if latency {
            self.add_percentiles(&w, &mut rows)?;
        }
        rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Ok(rows)
    }

    /// Each model's latency percentiles.
    fn add_percentiles(&mut self, w: &Where, rows: &mut [ModelRow]) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT c.model, {LATENCY_QUANTILES} AS quantiles FROM llm_calls c WHERE {} GROUP BY c.model",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(w, []))?;
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
