//! Headline figures: the summary of a selection and its breakdown by model.

use super::{COST, Reader, UNPRICED, params, percentiles, string_list};
use crate::error::StoreError;
use crate::filter::Filter;
use serde::Serialize;

/// The headline figures of a selection. `spans` and `traces` count all spans; the rest
/// are about LLM calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Spans of every kind.
    pub spans: u64,
    /// Distinct traces.
    pub traces: u64,
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
    /// Model (response model, else request model).
    pub model: String,
    /// Its provider (the most frequent one).
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
    /// The summary of a selection.
    pub fn summary(&mut self, filter: &Filter) -> Result<Summary, StoreError> {
        Self::check(filter)?;
        let cte = self.prices_cte()?;
        let w = filter.calls_where();
        let sql = format!(
            "WITH {cte}
             SELECT count(*), count(*) FILTER (WHERE c.is_error),
                    coalesce(sum(c.input_tokens), 0)::UBIGINT, coalesce(sum(c.output_tokens), 0)::UBIGINT,
                    coalesce(sum(c.cache_read_tokens), 0)::UBIGINT, coalesce(sum(c.cache_write_tokens), 0)::UBIGINT,
                    coalesce(sum({COST}), 0)::DOUBLE, count(*) FILTER (WHERE {UNPRICED}),
                    coalesce(list_sort(list(DISTINCT c.model) FILTER (WHERE {UNPRICED})), []::VARCHAR[]),
                    coalesce(quantile_cont(c.duration_ns / 1e6, [0.5, 0.95, 0.99]), [0, 0, 0]::DOUBLE[]),
                    coalesce(avg(c.duration_ns) / 1e6, 0)::DOUBLE
             FROM llm_calls c LEFT JOIN p ON p.model = c.model
             WHERE {}",
            w.sql
        );
        let mut s = self.conn.query_row(&sql, params(&w, []), |r| {
            Ok(Summary {
                llm_calls: r.get(0)?,
                errors: r.get(1)?,
                input_tokens: r.get(2)?,
                output_tokens: r.get(3)?,
                cache_read_tokens: r.get(4)?,
                cache_write_tokens: r.get(5)?,
                cost_usd: r.get(6)?,
                unpriced_calls: r.get(7)?,
                unpriced_models: string_list(r.get(8)?),
                latency_ms: percentiles(r.get(9)?),
                avg_latency_ms: r.get(10)?,
                ..Summary::default()
            })
        })?;
        let (sql, p) = self.spans_sql(
            filter,
            "SELECT count(*), count(DISTINCT s.trace_id), min(s.start_ns), max(s.end_ns) FROM spans s",
        );
        let (spans, traces, first, last) =
            self.conn
                .query_row(&sql, duckdb::params_from_iter(p), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
        s.spans = spans;
        s.traces = traces;
        s.first_start_ns = first;
        s.last_end_ns = last;
        Ok(s)
    }

    /// `select` over `spans s` restricted to the filter: time and service directly, and
    /// the call-level parts through the traces that hold a matching call.
    pub(super) fn spans_sql(
        &self,
        filter: &Filter,
        select: &str,
    ) -> (String, Vec<duckdb::types::Value>) {
        let sw = filter.spans_where();
        let mut sql = format!("{select} WHERE {}", sw.sql);
        let mut p = sw.params;
        if filter.selects_calls() {
            let cw = filter.calls_where();
            sql.push_str(&format!(
                " AND s.trace_id IN (SELECT c.trace_id FROM llm_calls c WHERE {})",
                cw.sql
            ));
            p.extend(cw.params);
        }
        (sql, p)
    }

    /// The selection broken down by model, most calls first.
    pub fn per_model(&mut self, filter: &Filter) -> Result<Vec<ModelRow>, StoreError> {
        Self::check(filter)?;
        let cte = self.prices_cte()?;
        let w = filter.calls_where();
        let sql = format!(
            "WITH {cte}
             SELECT c.model, mode(c.provider), count(*), count(*) FILTER (WHERE c.is_error),
                    coalesce(sum(c.input_tokens), 0)::UBIGINT, coalesce(sum(c.output_tokens), 0)::UBIGINT,
                    coalesce(sum(c.cache_read_tokens), 0)::UBIGINT, coalesce(sum(c.cache_write_tokens), 0)::UBIGINT,
                    coalesce(sum({COST}), 0), count(*) FILTER (WHERE {UNPRICED}),
                    avg(c.duration_ns) / 1e6, quantile_cont(c.duration_ns / 1e6, [0.5, 0.95, 0.99])
             FROM llm_calls c LEFT JOIN p ON p.model = c.model
             WHERE {}
             GROUP BY c.model ORDER BY 3 DESC, 1",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params(&w, []), |r| {
            let [p50, p95, p99] = percentiles(r.get(11)?);
            Ok(ModelRow {
                model: r.get(0)?,
                provider: r.get(1)?,
                calls: r.get(2)?,
                errors: r.get(3)?,
                input_tokens: r.get(4)?,
                output_tokens: r.get(5)?,
                cache_read_tokens: r.get(6)?,
                cache_write_tokens: r.get(7)?,
                cost_usd: r.get(8)?,
                unpriced_calls: r.get(9)?,
                avg_ms: r.get(10)?,
                p50_ms: p50,
                p95_ms: p95,
                p99_ms: p99,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
