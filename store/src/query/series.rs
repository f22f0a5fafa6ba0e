//! Figures over time: per-bucket counts by model, latency percentiles, the latency
//! heatmap. Counts and percentiles read the rollups where they answer (see `source`).

use super::cost::{self, CostSums};
use super::{LATENCY_LEVELS, LATENCY_QUANTILES, Reader, percentiles_ms};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::rollup::Sketched;
use crate::sketch;
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
    /// Whether the percentiles come from the latency sketch (within 1 %).
    pub approximate: bool,
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
/// latencies over `edges[i-1]` up to `edges[i]` ms, bucket 0 those up to `edges[0]`,
/// and the last those over the last edge. The edges are edges of the latency sketch's
/// buckets, so the hour rollups count each band exactly.
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
    /// The edges this build uses, in ms: 100 ms to 5 s in 8 log-spaced steps, each an
    /// edge of a latency sketch bucket (the sketch is built so that they are).
    pub fn edges() -> Vec<f64> {
        edge_buckets()
            .into_iter()
            .map(|b| sketch::upper_edge_ns(b) / 1e6)
            .collect()
    }
}

/// The sketch buckets whose upper edges are the heatmap's edges.
fn edge_buckets() -> Vec<i16> {
    (0..=HEAT_STEPS)
        .map(|i| {
            let ms = HEAT_LOW_MS * (HEAT_HIGH_MS / HEAT_LOW_MS).powf(i as f64 / HEAT_STEPS as f64);
            sketch::nearest_edge(ms * 1e6)
        })
        .collect()
}

/// SQL giving the heatmap band of a sketch `bucket` column.
pub(crate) fn band_sql() -> String {
    let arms: Vec<String> = edge_buckets()
        .into_iter()
        .enumerate()
        .map(|(band, edge)| format!("WHEN bucket <= {edge} THEN {band}"))
        .collect();
    format!("CASE {} ELSE {} END", arms.join(" "), HEAT_STEPS + 1)
}

impl SeriesPoint {
    /// Appends `p` to points sorted by bucket and model, adding it into the last one
    /// when both are the same bucket and model (a model's snapshots are priced apart
    /// and summed here).
    pub(crate) fn push_merged(points: &mut Vec<SeriesPoint>, p: SeriesPoint) {
        match points.last_mut() {
            Some(last) if last.bucket_start_ns == p.bucket_start_ns && last.model == p.model => {
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
        let rows = self.call_rows(filter, Some(bucket_ns))?;
        let prices = self.prices.read().expect("price lock").clone();
        let sql = format!(
            "SELECT (t // ?) * ? AS bucket, model, priced_as,
                    sum(calls)::UBIGINT AS requests,
                    coalesce(sum(calls) FILTER (WHERE is_error), 0)::UBIGINT AS errors,
                    sum(input_tokens)::UBIGINT AS input_tokens,
                    sum(output_tokens)::UBIGINT AS output_tokens,
                    sum(cache_read_tokens)::UBIGINT AS cache_read_tokens, {cost_sums}
             FROM ({}) GROUP BY ALL ORDER BY 1, 2",
            rows.sql,
            cost_sums = cost::sums_sql(),
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(rows.params.iter().cloned());
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
            SeriesPoint::push_merged(&mut points, p?);
        }
        Ok(points)
    }

    /// p50/p95/p99 call latency per time bucket, oldest first: from the latency
    /// sketch when the rollups answer the filter and the buckets are whole hours,
    /// else exact.
    pub fn latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        Self::check(filter)?;
        let bucket_ns = bucket_ns.max(1);
        if !self.sketches_answer(filter, Some(bucket_ns)) {
            return self.exact_latency_percentiles(filter, bucket_ns);
        }
        // Counts and means from the minute rollups; percentiles from the sketch when
        // there are enough calls for it to save time.
        let mut points = Vec::new();
        {
            let rows = self.call_rows(filter, Some(bucket_ns))?;
            let sql = format!(
                "SELECT (t // ?) * ? AS bucket, sum(calls)::UBIGINT AS n,
                        sum(duration_ns)::DOUBLE / sum(calls) / 1e6 AS avg_ms
                 FROM ({}) GROUP BY 1 ORDER BY 1",
                rows.sql
            );
            let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
            p.extend(rows.params);
            let mut stmt = self.conn.prepare(&sql)?;
            let mut result = stmt.query(duckdb::params_from_iter(p))?;
            while let Some(r) = result.next()? {
                points.push(LatencyPoint {
                    bucket_start_ns: r.get("bucket")?,
                    count: r.get("n")?,
                    avg_ms: r.get("avg_ms")?,
                    approximate: true,
                    ..LatencyPoint::default()
                });
            }
        }
        let calls = points.iter().map(|p| p.count).sum();
        let Some(sketch_rows) = self.latency_rows(filter, Some(bucket_ns), calls)? else {
            return self.exact_latency_percentiles(filter, bucket_ns);
        };
        let sketches = self.sketches_by::<i64>(
            "(t // ?) * ?",
            vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)],
            sketch_rows,
        )?;
        for point in &mut points {
            if let Some((_, b)) = sketches.iter().find(|(t, _)| *t == point.bucket_start_ns) {
                let [p50, p95, p99] = sketch::quantiles(b, LATENCY_LEVELS).map(|v| v / 1e6);
                (point.p50_ms, point.p95_ms, point.p99_ms) = (p50, p95, p99);
            }
        }
        Ok(points)
    }

    /// [`Reader::latency_percentiles`] from every call.
    fn exact_latency_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
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
                approximate: false,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Call counts by time bucket × log-spaced latency bucket: from the hour rollups
    /// where they answer (exactly: the bands are made of whole sketch buckets), else
    /// from the calls.
    pub fn latency_heatmap(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Heatmap, StoreError> {
        Self::check(filter)?;
        let bucket_ns = bucket_ns.max(1);
        let (rows, _) = self.sketch_rows(filter, Some(bucket_ns), Sketched::Duration)?;
        let sql = format!(
            "SELECT (t // ?) * ? AS time_bucket, {band} AS lat, sum(calls)::UBIGINT AS n
             FROM ({}) GROUP BY 1, 2 HAVING sum(calls) > 0 ORDER BY 1, 2",
            rows.sql,
            band = band_sql(),
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(rows.params);
        let mut stmt = self.conn.prepare(&sql)?;
        let cells = stmt.query_map(duckdb::params_from_iter(p), |r| {
            Ok(HeatmapCell {
                bucket_start_ns: r.get("time_bucket")?,
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
