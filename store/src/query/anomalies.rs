//! The anomaly list: every figure the dashboards chart over time (calls, errors and
//! cost, overall and per model; p95 latency overall), judged bucket by bucket against
//! its expected band (see [`crate::anomaly`]), worst first, with the bands themselves
//! for the charts. Built from the time series the charts read, so a flagged point is one
//! the charts show.

use crate::anomaly::{self, Anomaly, FigureBands, Judgement, Metric, Series};
use crate::query::{LatencyPoint, SeriesPoint};
use std::collections::BTreeMap;

/// Judges the whole buckets of `bucket_ns` from `read.0` (rounded down to a bucket
/// start) to `read.1`, given the per-model series and the latency percentiles read over
/// them; the buckets before the one holding `shown_from_ns` are history only (they teach
/// the bands but are neither listed nor returned).
pub fn find(
    series: &[SeriesPoint],
    latency: &[LatencyPoint],
    read: (i64, i64),
    shown_from_ns: i64,
    bucket_ns: i64,
) -> Judgement {
    let (from_ns, to_ns) = read;
    let bucket_ns = bucket_ns.max(1);
    let from = from_ns.div_euclid(bucket_ns) * bucket_ns;
    // Whole buckets only: a partial one (the current hour) would read as a drop.
    let n = ((to_ns - from).max(0) / bucket_ns) as usize;
    let at = |t: i64| -> Option<usize> {
        let i = (t - from).div_euclid(bucket_ns);
        (0..n as i64).contains(&i).then_some(i as usize)
    };
    // Dense series: a bucket without calls had none (counts, cost) once the series has
    // begun, or no latency.
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
    // Before a series' first call there is no history, not a run of zeros (a database
    // begun an hour ago, a model first used today).
    let began: BTreeMap<Option<String>, usize> = sums
        .iter()
        .filter(|((metric, _), _)| *metric == Metric::Calls)
        .map(|((_, model), values)| {
            let first = values.iter().position(|v| v.is_some_and(|v| v > 0.0));
            (model.clone(), first.unwrap_or(n))
        })
        .collect();
    for ((_, model), values) in sums.iter_mut() {
        values[..began[model]].fill(None);
    }
    sums.insert((Metric::P95Latency, None), p95);
    let per_day = anomaly::per_day(bucket_ns);
    // The first bucket shown: the one that holds `shown_from_ns`.
    let first_shown = usize::try_from((shown_from_ns - from).div_euclid(bucket_ns))
        .unwrap_or(0)
        .min(n);
    let none = Vec::new();
    let mut judgement = Judgement::default();
    for ((metric, model), values) in &sums {
        let calls = sums.get(&(Metric::Calls, model.clone())).unwrap_or(&none);
        let s = Series {
            values,
            per_day,
            floor: metric.floor(),
            noise: metric.noise(calls),
        };
        let bands = anomaly::bands(&s);
        let shown_bands = bands[first_shown..].to_vec();
        if shown_bands.iter().all(Option::is_none) {
            continue;
        }
        judgement.anomalies.extend(
            anomaly::outside(&values[first_shown..], &shown_bands)
                .into_iter()
                .map(|(i, value, band)| Anomaly {
                    metric: *metric,
                    model: model.clone(),
                    bucket_start_ns: from + (first_shown + i) as i64 * bucket_ns,
                    bucket_ns,
                    value,
                    band,
                }),
        );
        judgement.bands.push(FigureBands {
            metric: *metric,
            model: model.clone(),
            from_ns: from + first_shown as i64 * bucket_ns,
            bucket_ns,
            bands: shown_bands,
        });
    }
    judgement.anomalies.sort_by(|a, b| {
        b.deviations()
            .total_cmp(&a.deviations())
            .then(a.bucket_start_ns.cmp(&b.bucket_start_ns))
    });
    judgement
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    fn point(hour: i64, model: &str, requests: u64, errors: u64) -> SeriesPoint {
        SeriesPoint {
            bucket_start_ns: hour * HOUR,
            model: model.into(),
            requests,
            errors,
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cost_usd: requests as f64 * 0.001,
        }
    }

    #[test]
    fn the_time_before_the_first_call_is_no_history() {
        // A week of nothing, then a busy hour: nothing to compare it with.
        let series = [point(7 * 24, "m", 500, 5), point(7 * 24 + 1, "m", 480, 4)];
        let judged = find(&series, &[], (0, (7 * 24 + 2) * HOUR), 0, HOUR);
        assert_eq!(judged, Judgement::default());
    }

    #[test]
    fn an_error_burst_in_a_steady_model_is_found() {
        let mut series: Vec<SeriesPoint> = (0..96)
            .map(|h| point(h, "m", 100 + (h % 5) as u64, u64::from(h % 7 == 0)))
            .collect();
        series[80].errors = 30;
        let judged = find(&series, &[], (0, 96 * HOUR), 0, HOUR);
        let found = &judged.anomalies;
        let errors: Vec<(i64, Option<&str>)> = found
            .iter()
            .filter(|a| a.metric == Metric::Errors)
            .map(|a| (a.bucket_start_ns / HOUR, a.model.as_deref()))
            .collect();
        assert_eq!(errors, [(80, None), (80, Some("m"))], "{found:#?}");
        assert!(
            found.iter().all(|a| a.bucket_start_ns == 80 * HOUR),
            "{found:#?}"
        );
        // Hourly buckets are judged from the third day on (two days of history).
        assert!(
            find(&series[..47], &[], (0, 47 * HOUR), 0, HOUR)
                .anomalies
                .is_empty()
        );
    }

    #[test]
    fn the_bands_cover_the_shown_buckets_and_judge_the_listed_points() {
        let mut series: Vec<SeriesPoint> = (0..96)
            .map(|h| point(h, "m", 100 + (h % 5) as u64, 1))
            .collect();
        series[80].errors = 30;
        let judged = find(&series, &[], (0, 96 * HOUR), 72 * HOUR + 1, HOUR);
        let errors = judged
            .bands_of(Metric::Errors, None)
            .expect("the errors of all calls are judged");
        assert_eq!((errors.from_ns, errors.bands.len()), (72 * HOUR, 24));
        let listed = judged
            .anomalies
            .iter()
            .find(|a| a.metric == Metric::Errors && a.model.is_none())
            .expect("the burst is listed");
        assert_eq!(errors.at(80 * HOUR), Some(&listed.band));
        assert!(errors.at(79 * HOUR).is_some_and(|b| !b.excludes(1.0)));
        assert_eq!(errors.at(71 * HOUR), None, "history is not shown");
        assert!(judged.bands_of(Metric::Calls, Some("m")).is_some());
        assert!(
            judged
                .anomalies
                .iter()
                .all(|a| a.bucket_start_ns >= 72 * HOUR)
        );
    }
}
