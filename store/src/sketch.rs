//! The latency sketch: call counts per log-spaced duration bucket, mergeable by
//! adding counts. Bucket `i` holds durations in `(B·γ^(i-1), B·γ^i]` nanoseconds and
//! stands for the value `B·2γ^i / (γ + 1)`, which is within `(γ − 1) / (γ + 1)` of
//! every duration in it (the DDSketch construction): under 1 %, so a percentile read
//! from the buckets is within 1 % of the exact one. γ = 50^(1/200) and B = 100 ms put
//! an edge on 100 ms × 50^(k/8), the heatmap's bands, so the buckets count those
//! exactly.

/// The bucket of durations that are zero or negative (instantaneous calls).
const ZERO_BUCKET: i16 = i16::MIN;

/// The duration at the upper edge of bucket 0, ns.
const BASE_NS: f64 = 1e8;

/// The ratio of consecutive bucket edges.
fn gamma() -> f64 {
    50f64.powf(1.0 / 200.0)
}

/// SQL giving the bucket (`SMALLINT`) of a duration expression in nanoseconds. (DuckDB
/// may evaluate the logarithm for rows the `CASE` sends elsewhere, hence `greatest`.)
pub(crate) fn bucket_sql(duration_ns: &str) -> String {
    format!(
        "CASE WHEN {duration_ns} <= 0 THEN {ZERO_BUCKET} ELSE ceil(ln(greatest({duration_ns}, 1) / {BASE_NS:?}) / {ln_gamma:?})::SMALLINT END",
        ln_gamma = gamma().ln()
    )
}

/// The bucket whose upper edge is nearest `ns` (in ratio): for boundaries of other
/// groupings (the heatmap's bands) that the buckets must not straddle.
pub(crate) fn nearest_edge(ns: f64) -> i16 {
    ((ns / BASE_NS).ln() / gamma().ln()).round() as i16
}

/// The upper edge of a bucket, in nanoseconds: the bucket holds durations up to it.
pub(crate) fn upper_edge_ns(bucket: i16) -> f64 {
    BASE_NS * gamma().powi(bucket as i32)
}

/// The value a bucket stands for, in nanoseconds.
pub(crate) fn value(bucket: i16) -> f64 {
    if bucket == ZERO_BUCKET {
        return 0.0;
    }
    let g = gamma();
    BASE_NS * 2.0 * g.powi(bucket as i32) / (g + 1.0)
}

/// The mean of `(bucket, count)` pairs in nanoseconds, each call counted at its
/// bucket's value (within 1 % of the exact mean); zero without any call.
pub(crate) fn mean(buckets: &[(i16, i64)]) -> f64 {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    if total <= 0 {
        return 0.0;
    }
    buckets
        .iter()
        .map(|&(b, n)| value(b) * n as f64)
        .sum::<f64>()
        / total as f64
}

/// Percentiles from `(bucket, count)` pairs sorted by bucket: `quantiles` in 0..=1,
/// answered as DuckDB's `quantile_cont` would over the buckets' values (interpolating
/// between the two calls around the rank), so each is within 1 % of the exact
/// `quantile_cont`. Zeros without any call.
pub(crate) fn quantiles<const N: usize>(buckets: &[(i16, i64)], quantiles: [f64; N]) -> [f64; N] {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    let mut out = [0.0; N];
    if total <= 0 {
        return out;
    }
    // The value of the call at zero-based rank `k`.
    let at = |k: i64| {
        let mut seen = 0;
        for &(bucket, n) in buckets {
            seen += n;
            if seen > k {
                return value(bucket);
            }
        }
        buckets.last().map_or(0.0, |&(b, _)| value(b))
    };
    for (o, q) in out.iter_mut().zip(quantiles) {
        let rank = q.clamp(0.0, 1.0) * (total - 1) as f64;
        let below = rank.floor() as i64;
        let low = at(below);
        let high = if rank > below as f64 {
            at(below + 1)
        } else {
            low
        };
        *o = low + (rank - below as f64) * (high - low);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accuracy the sketch promises (the construction gives 0.98 %).
    const RELATIVE_ERROR: f64 = 0.01;

    /// The buckets of `durations` as the SQL computes them.
    fn sketch(durations: &[f64]) -> Vec<(i16, i64)> {
        let mut buckets: Vec<(i16, i64)> = Vec::new();
        let mut keys: Vec<i16> = durations
            .iter()
            .map(|&d| {
                if d <= 0.0 {
                    ZERO_BUCKET
                } else {
                    ((d / BASE_NS).ln() / gamma().ln()).ceil() as i16
                }
            })
            .collect();
        keys.sort();
        for k in keys {
            match buckets.last_mut() {
                Some((b, n)) if *b == k => *n += 1,
                _ => buckets.push((k, 1)),
            }
        }
        buckets
    }

    fn exact(sorted: &[f64], q: f64) -> f64 {
        let rank = q * (sorted.len() - 1) as f64;
        let below = rank.floor() as usize;
        let above = rank.ceil() as usize;
        sorted[below] + (rank - below as f64) * (sorted[above] - sorted[below])
    }

    #[test]
    fn percentiles_are_within_the_stated_error() {
        // Durations from 1 µs to an hour, spread unevenly.
        let mut state = 7u64;
        let mut durations: Vec<f64> = (0..5000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                1e3 * (3.6e12f64 / 1e3).powf(u * u)
            })
            .collect();
        durations.sort_by(f64::total_cmp);
        let qs = [0.0, 0.01, 0.5, 0.95, 0.99, 0.999, 1.0];
        let got = quantiles(&sketch(&durations), qs);
        for (q, g) in qs.iter().zip(got) {
            let want = exact(&durations, *q);
            assert!(
                (g - want).abs() <= RELATIVE_ERROR * want,
                "q{q}: sketch {g}, exact {want}"
            );
        }
    }

    #[test]
    fn the_buckets_are_as_fine_as_stated_and_edge_the_heatmap_bands() {
        let g = gamma();
        assert!((g - 1.0) / (g + 1.0) <= RELATIVE_ERROR);
        for k in 0..=8 {
            let band_edge = 100e6 * 50f64.powf(k as f64 / 8.0);
            let b = nearest_edge(band_edge);
            assert_eq!(b, 25 * k);
            assert!((upper_edge_ns(b) - band_edge).abs() < 1e-6 * band_edge);
        }
    }

    #[test]
    fn empty_and_zero_durations() {
        assert_eq!(quantiles(&[], [0.5]), [0.0]);
        assert_eq!(quantiles(&sketch(&[0.0, 0.0]), [0.5, 0.99]), [0.0, 0.0]);
        // One call: every percentile is its value.
        let one = quantiles(&sketch(&[250e6]), [0.5, 0.99]);
        assert!(one.iter().all(|v| (v - 250e6).abs() <= 0.01 * 250e6));
    }
}
