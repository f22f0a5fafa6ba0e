//! Inside the calls: time to first token (p50/p95/p99 overall, per model, over time)
//! and output speed, read from the `ttft_hours` sketches where the rollups answer and
//! from the calls' timing columns otherwise.

use super::filter_sql::Where;
use super::series::LatencyPoint;
use super::{LATENCY_LEVELS, Reader, params, percentiles_ms};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::rollup::Sketched;
use crate::sketch;
use duckdb::types::Value;
use serde::Serialize;
use std::collections::BTreeMap;

/// The first schema whose calls keep their timing (`ttft_ns`, phases, `streamed`).
pub(crate) const TIMING_SCHEMA: i64 = 11;

/// How output speed is measured, for the people reading it: output tokens per second
/// of generation — the server's decode time when it reported one, else the time after
/// the first token of a streamed call, else the whole call.
pub const OUTPUT_TPS_DOC: &str = "output tokens per second of generation: the server's decode time when reported, else the time after the first token, else the whole call";

/// SQL of a call `c`'s output tokens per second as [`OUTPUT_TPS_DOC`] says (NULL
/// without output tokens or time); the same in DuckDB and ClickHouse.
pub(crate) const OUTPUT_TPS_SQL: &str = "(c.output_tokens * 1e9 / nullif(greatest(coalesce(c.decode_ns, c.duration_ns - c.ttft_ns, c.duration_ns), 0), 0))";

/// The time to first token of a selection's calls that report one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FirstTokenSummary {
    /// Calls with a time to first token (streamed calls, and calls a server timed).
    pub calls: u64,
    /// p50, p95, p99 in milliseconds (zeros without calls).
    pub ttft_ms: [f64; 3],
    /// Whether the percentiles come from the sketch (within 1 %).
    pub approximate: bool,
    /// Per model, most calls first.
    pub by_model: Vec<ModelFirstToken>,
}

/// One model's time to first token and output speed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelFirstToken {
    /// The model asked for.
    pub model: String,
    /// Its calls with a time to first token.
    pub calls: u64,
    /// p50, p95, p99 in milliseconds.
    pub ttft_ms: [f64; 3],
    /// Median output tokens per second of those calls ([`OUTPUT_TPS_DOC`]); `None`
    /// when none reported output tokens.
    pub output_tps_p50: Option<f64>,
}

impl Reader {
    /// Whether the file keeps calls' timing (a file opened read-only may predate it;
    /// its calls then report none).
    pub(super) fn has_timing(&self) -> bool {
        self.schema_version >= TIMING_SCHEMA
    }

    /// Refuses timing conditions (`ttft>`, `tps<`, `stream:`) on a file from before
    /// calls kept their timing.
    pub(super) fn check_timing_conditions(&self, filter: &Filter) -> Result<(), StoreError> {
        let asks = !filter.ttft_ms.is_empty()
            || !filter.output_tps.is_empty()
            || filter.streamed.is_some();
        if asks && !self.has_timing() {
            return Err(StoreError::OlderSchema {
                what: "ttft, tps and stream: conditions",
                needs: TIMING_SCHEMA,
                has: self.schema_version,
            });
        }
        Ok(())
    }

    /// Time to first token of the selection: percentiles overall and per model, with
    /// each model's median output speed.
    pub fn first_token(&mut self, filter: &Filter) -> Result<FirstTokenSummary, StoreError> {
        Self::check(filter)?;
        if !self.has_timing() {
            return Ok(FirstTokenSummary::default());
        }
        let mut summary = FirstTokenSummary::default();
        let (rows, rolled_up) = self.sketch_rows(filter, None, Sketched::FirstToken)?;
        let sketches = self.sketches_by::<String>("model", Vec::new(), rows)?;
        let calls: i64 = sketches.iter().flat_map(|(_, b)| b).map(|(_, n)| n).sum();
        if rolled_up && calls as u64 > self.exact_percentiles_up_to {
            let mut all: BTreeMap<i16, i64> = BTreeMap::new();
            for (model, buckets) in &sketches {
                for &(b, n) in buckets {
                    *all.entry(b).or_default() += n;
                }
                summary.by_model.push(ModelFirstToken {
                    model: model.clone(),
                    calls: buckets.iter().map(|(_, n)| *n).sum::<i64>().max(0) as u64,
                    ttft_ms: sketch::quantiles(buckets, LATENCY_LEVELS).map(|v| v / 1e6),
                    output_tps_p50: None,
                });
            }
            let all: Vec<(i16, i64)> = all.into_iter().collect();
            summary.calls = calls.max(0) as u64;
            summary.ttft_ms = sketch::quantiles(&all, LATENCY_LEVELS).map(|v| v / 1e6);
            summary.approximate = true;
        } else {
            self.exact_first_token(filter, &mut summary)?;
        }
        self.add_output_speed(filter, &mut summary.by_model)?;
        summary
            .by_model
            .sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.model.cmp(&b.model)));
        Ok(summary)
    }

    /// [`Reader::first_token`]'s percentiles from every call.
    fn exact_first_token(
        &mut self,
        filter: &Filter,
        summary: &mut FirstTokenSummary,
    ) -> Result<(), StoreError> {
        let w = self.timed_calls_where(filter)?;
        let sql = format!(
            "SELECT c.model, count(*)::UBIGINT AS n,
                    quantile_cont(c.ttft_ns, [0.5, 0.95, 0.99]) AS quantiles
             FROM llm_calls c WHERE {}
             GROUP BY GROUPING SETS ((c.model), ())",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&w, []))?;
        while let Some(r) = result.next()? {
            let model: Option<String> = r.get("model")?;
            let calls: u64 = r.get("n")?;
            let ttft_ms = percentiles_ms(r.get("quantiles")?);
            match model {
                Some(model) => summary.by_model.push(ModelFirstToken {
                    model,
                    calls,
                    ttft_ms,
                    output_tps_p50: None,
                }),
                None => (summary.calls, summary.ttft_ms) = (calls, ttft_ms),
            }
        }
        Ok(())
    }

    /// Each model's median output speed over its calls with a time to first token
    /// (streamed or server-timed: the calls whose generation time is known).
    fn add_output_speed(
        &mut self,
        filter: &Filter,
        models: &mut [ModelFirstToken],
    ) -> Result<(), StoreError> {
        if models.is_empty() {
            return Ok(());
        }
        let w = self.timed_calls_where(filter)?;
        let sql = format!(
            "SELECT c.model, quantile_cont({OUTPUT_TPS_SQL}, 0.5) AS tps
             FROM llm_calls c WHERE {} AND c.output_tokens > 0 GROUP BY c.model",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&w, []))?;
        while let Some(r) = result.next()? {
            let model: String = r.get("model")?;
            if let Some(m) = models.iter_mut().find(|m| m.model == model) {
                m.output_tps_p50 = r.get("tps")?;
            }
        }
        Ok(())
    }

    /// p50/p95/p99 time to first token per time bucket, oldest first, over the calls
    /// that report one: from the sketches when the rollups answer, the buckets are
    /// whole hours and there are enough calls; else exact.
    pub fn first_token_percentiles(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        Self::check(filter)?;
        if !self.has_timing() {
            return Ok(Vec::new());
        }
        let bucket_ns = bucket_ns.max(1);
        let (rows, rolled_up) = self.sketch_rows(filter, Some(bucket_ns), Sketched::FirstToken)?;
        if rolled_up {
            let sketches = self.sketches_by::<i64>(
                "(t // ?) * ?",
                vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)],
                rows,
            )?;
            let calls: i64 = sketches.iter().flat_map(|(_, b)| b).map(|(_, n)| n).sum();
            if calls as u64 > self.exact_percentiles_up_to {
                return Ok(sketches
                    .into_iter()
                    .map(|(bucket_start_ns, b)| {
                        let [p50_ms, p95_ms, p99_ms] =
                            sketch::quantiles(&b, LATENCY_LEVELS).map(|v| v / 1e6);
                        LatencyPoint {
                            bucket_start_ns,
                            count: b.iter().map(|(_, n)| *n).sum::<i64>().max(0) as u64,
                            avg_ms: sketch::mean(&b) / 1e6,
                            p50_ms,
                            p95_ms,
                            p99_ms,
                            approximate: true,
                        }
                    })
                    .collect());
            }
        }
        let w = self.timed_calls_where(filter)?;
        let sql = format!(
            "SELECT (c.start_ns // ?) * ? AS bucket, count(*) AS n,
                    quantile_cont(c.ttft_ns, [0.5, 0.95, 0.99]) AS quantiles,
                    avg(c.ttft_ns) / 1e6 AS avg_ms
             FROM llm_calls c WHERE {} GROUP BY 1 ORDER BY 1",
            w.sql
        );
        let mut p = vec![Value::BigInt(bucket_ns), Value::BigInt(bucket_ns)];
        p.extend(w.params.iter().cloned());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(p), |r| {
            let [p50_ms, p95_ms, p99_ms] = percentiles_ms(r.get("quantiles")?);
            Ok(LatencyPoint {
                bucket_start_ns: r.get("bucket")?,
                count: r.get("n")?,
                avg_ms: r.get("avg_ms")?,
                p50_ms,
                p95_ms,
                p99_ms,
                approximate: false,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The selection's calls that report a time to first token, as conditions on `c`.
    fn timed_calls_where(&mut self, filter: &Filter) -> Result<Where, StoreError> {
        let mut w = self.calls_where(filter)?;
        w.sql
            .push_str(&format!(" AND {}", Sketched::FirstToken.has_value()));
        Ok(w)
    }
}
