//! The anomaly list: every figure the dashboards chart over time (calls, errors and
//! cost, overall and per model; p95 latency overall), judged bucket by bucket against
//! its expected band (see [`crate::anomaly`]), worst first. Built from the time series
//! the charts read, so a flagged point is one the charts show.

use crate::anomaly::{self, Anomaly, Metric, Series};
use crate::query::{LatencyPoint, SeriesPoint};
use std::collections::BTreeMap;

/// The anomalies of the buckets of `bucket_ns` from `from_ns` (a bucket start) to
/// `to_ns`, given the per-model series and the latency percentiles of that window.
pub fn find(
    series: &[SeriesPoint],
    latency: &[LatencyPoint],
    (from_ns, to_ns): (i64, i64),
    bucket_ns: i64,
) -> Vec<Anomaly> {
    let bucket_ns = bucket_ns.max(1);
    let from = from_ns.div_euclid(bucket_ns) * bucket_ns;
    let n = ((to_ns - from).max(0) / bucket_ns + 1) as usize;
    let at = |t: i64| -> Option<usize> {
        let i = (t - from).div_euclid(bucket_ns);
        (0..n as i64).contains(&i).then_some(i as usize)
    };
    // Dense series: a bucket without calls had none (counts, cost), or no latency.
    let mut sums: BTreeMap<(Metric, Option<String>), Vec<Option<f64>>> = BTreeMap::new();
    let zero = || vec![Some(0.0); n];
    for p in series {
        let Some(i) = at(p.bucket_start_ns) else {
            continue;
        };
        for model in [None, Some(p.model.clone())] {
            for (metric, v) in [
                (Metric::Calls, p.requests as f64),
                (Metric::Errors, p.errors as f64),
                (Metric::Cost, p.cost_usd),
            ] {
                let values = sums.entry((metric, model.clone())).or_insert_with(zero);
                values[i] = Some(values[i].unwrap_or(0.0) + v);
            }
        }
    }
    let mut p95 = vec![None; n];
    for p in latency {
        if let Some(i) = at(p.bucket_start_ns)
            && p.count > 0
        {
            p95[i] = Some(p.p95_ms);
        }
    }
    sums.insert((Metric::P95Latency, None), p95);
    let per_day = anomaly::per_day(bucket_ns);
    let mut found: Vec<Anomaly> = sums
        .into_iter()
        .flat_map(|((metric, model), values)| {
            let s = Series {
                values: &values,
                per_day,
                floor: metric.floor(),
            };
            anomaly::anomalies(&s)
                .into_iter()
                .map(|(i, value, band)| Anomaly {
                    metric,
                    model: model.clone(),
                    bucket_start_ns: from + i as i64 * bucket_ns,
                    bucket_ns,
                    value,
                    band,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by(|a, b| {
        b.deviations()
            .total_cmp(&a.deviations())
            .then(a.bucket_start_ns.cmp(&b.bucket_start_ns))
    });
    found
}
