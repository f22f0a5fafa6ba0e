//! Figures over time: per-bucket counts by model, latency percentiles, the latency
//! heatmap.

use super::cost::{self, CostSums};
use super::{LATENCY_QUANTILES, Reader, percentiles_ms};
use crate::error::StoreError;
use crate::filter::Filter;
use duckdb::types::Value;
use serde::Serialize;

/// One time bucket of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Bucket start, Unix ns.
    pub bucket_start_ns: i64,
    /// Model.
    pub model: String,
    /// Calls.
    pub requests: u64,
    /// Failed calls.
    pub errors: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a prompt cache (part of the input tokens).
    pub cache_read_tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
}

/// Latency percentiles of one time bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyPoint {
    /// Bucket start, Unix ns.
    pub bucket_start_ns: i64,
    /// Calls in the bucket.
    pub count: u64,
    /// Mean, ms.
    pub avg_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// One non-empty heatmap cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeatmapCell {
    /// Time bucket start, Unix ns.
    pub bucket_start_ns: i64,
    /// Latency bucket index into [`Heatmap::latency_edges_ms`].
    pub latency_bucket: usize,
    /// Calls.
    pub count: u64,
}

/// Calls by time bucket and log-spaced latency bucket. Latency bucket `i` holds
/// latencies in `[edges[i-1], edges[i])` ms, bucket 0 those under `edges[0]`, and the
/// last those at or over the last edge.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Heatmap {
    /// Bucket edges in ms, increasing.
    pub latency_edges_ms: Vec<f64>,
    /// Non-empty cells.
    pub cells: Vec<HeatmapCell>,
}

/// Heatmap latency range: 100 ms to 5 s in 8 log-spaced steps, plus under and over.
const HEAT_LOW_MS: f64 = 100.0;
const HEAT_HIGH_MS: f64 = 5000.0;
const HEAT_STEPS: usize = 8;

impl Heatmap {
    /// The edges this build uses.
    pub fn edges() -> Vec<f64> {
        (0..=HEAT_STEPS)
            .map(|i| HEAT_LOW_MS * (HEAT_HIGH_MS / HEAT_LOW_MS).powf(i as f64 / HEAT_STEPS as f64))
            .collect()
    }
}

impl Reader {
    /// Calls, errors, tokens and cost per time bucket and model, oldest first.
    pub fn time_series(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        Self::check(filter)?;
        let bucket_ns = bucket_ns.max(1);
        let w = self.calls_where(filter)?;
        let prices = self.prices.read().expect("price lock").clone();
        let cost_sums = cost::sums_sql();
        let sql = format!(
            "SELECT (c.start_ns // ?) * ? AS bucket, c.model, {priced_as} AS priced_as,
                    count(*) AS requests,
                    count(*) FILTER (WHERE c.is_error) AS errors,
                    coalesce(sum(c.input_tokens), 0)::UBIGINT AS input_tokens,
                    coalesce(sum(c.output_tokens), 0)::UBIGINT AS output_tokens,
                    coalesce(sum(c.cache_read_tokens), 0)::UBIGINT AS cache_read_tokens, {cost_sums}
             FROM llm_calls c
             WHERE {}
             GROUP BY ALL ORDER BY 1, 2",
            w.sql,
            priced_as = cost::PRICED_AS,
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(w.params.iter().cloned());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(p), |r| {
            let model: String = r.get("model")?;
            let priced_as: String = r.get("priced_as")?;
            let cost_usd = CostSums::read(r)?.cost(prices.lookup(&priced_as));
            Ok(SeriesPoint {
                bucket_start_ns: r.get("bucket")?,
                model,
                requests: r.get("requests")?,
                errors: r.get("errors")?,
                input_tokens: r.get("input_tokens")?,
                output_tokens: r.get("output_tokens")?,
                cache_read_tokens: r.get("cache_read_tokens")?,
                cost_usd,
            })
        })?;
        // One point per bucket and model: the groups of a model priced by different
        // names (its snapshots) are summed.
        let mut points: Vec<SeriesPoint> = Vec::new();
        for p in rows {
            let p = p?;
            match points.last_mut() {
                Some(last)
                    if last.bucket_start_ns == p.bucket_start_ns && last.model == p.model =>
                {
                    last.requests += p.requests;
                    last.errors += p.errors;
                    last.input_tokens += p.input_tokens;
                    last.output_tokens += p.output_tokens;
                    last.cache_read_tokens += p.cache_read_tokens;
                    last.cost_usd += p.cost_usd;
                }
                _ => points.push(p),
            }
        }
        Ok(points)
    }

    /// p50/p95/p99 call latency per time bucket, oldest first.
    pub fn latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        Self::check(filter)?;
        let bucket_ns = bucket_ns.max(1);
        let w = self.calls_where(filter)?;
        let sql = format!(
            "SELECT (c.start_ns // ?) * ? AS bucket, count(*) AS n,
                    {LATENCY_QUANTILES} AS quantiles, avg(c.duration_ns) / 1e6 AS avg_ms
             FROM llm_calls c WHERE {} GROUP BY 1 ORDER BY 1",
            w.sql
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(w.params.iter().cloned());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(p), |r| {
            let [p50, p95, p99] = percentiles_ms(r.get("quantiles")?);
            Ok(LatencyPoint {
                bucket_start_ns: r.get("bucket")?,
                count: r.get("n")?,
                avg_ms: r.get("avg_ms")?,
                p50_ms: p50,
                p95_ms: p95,
                p99_ms: p99,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Call counts by time bucket × log-spaced latency bucket.
    pub fn latency_heatmap(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Heatmap, StoreError> {
        Self::check(filter)?;
        let bucket_ns = bucket_ns.max(1);
        let w = self.calls_where(filter)?;
        let sql = format!(
            "SELECT (c.start_ns // ?) * ? AS bucket,
                    CASE WHEN c.duration_ns < {low} THEN 0
                         WHEN c.duration_ns >= {high} THEN {last}
                         ELSE 1 + least(floor(ln(c.duration_ns / {low}) / ln({ratio}) * {steps}), {steps} - 1)::INTEGER
                    END AS lat, count(*) AS n
             FROM llm_calls c WHERE {} GROUP BY 1, 2 ORDER BY 1, 2",
            w.sql,
            low = HEAT_LOW_MS * 1e6,
            high = HEAT_HIGH_MS * 1e6,
            last = HEAT_STEPS + 1,
            ratio = HEAT_HIGH_MS / HEAT_LOW_MS,
            steps = HEAT_STEPS,
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(w.params.iter().cloned());
        let mut stmt = self.conn.prepare(&sql)?;
        let cells = stmt.query_map(duckdb::params_from_iter(p), |r| {
            Ok(HeatmapCell {
                bucket_start_ns: r.get("bucket")?,
                latency_bucket: r.get::<_, i32>("lat")? as usize,
                count: r.get("n")?,
            })
        })?;
        Ok(Heatmap {
            latency_edges_ms: Heatmap::edges(),
            cells: cells.collect::<Result<_, _>>()?,
        })
    }
}
