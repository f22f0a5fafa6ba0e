//! Which points of a time series are unusual: each bucket's expected band from what came
//! before it, and the buckets outside it. The baseline is seasonal where the series has
//! two days of history (the same time of day on up to the seven previous days, each with
//! its neighbouring buckets: traffic has a daily rhythm), else the buckets just before
//! (a rolling window) where those span two hours at most; hourly buckets of a database
//! younger than two days are not judged. The band is the baseline's median ± `k` robust deviations (the
//! median absolute deviation scaled to a normal's standard deviation), never narrower
//! than a floor, so that a flat series does not flag its first wobble. Robust statistics
//! keep a spike from widening the band that judges it.

/// How a band was made, for the tooltip that states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The same time of day on the previous days.
    Seasonal {
        /// Days of history used.
        days: usize,
    },
    /// The buckets just before.
    Rolling {
        /// Buckets used.
        buckets: usize,
    },
}

impl Baseline {
    /// The baseline in words ("the same time on the 6 previous days").
    pub fn describe(self) -> String {
        match self {
            Baseline::Seasonal { days: 1 } => "the same time the day before".into(),
            Baseline::Seasonal { days } => format!("the same time on the {days} previous days"),
            Baseline::Rolling { buckets } => format!("the {buckets} buckets before"),
        }
    }
}

/// The expected range of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// The baseline's median.
    pub expected: f64,
    /// Lowest value not flagged.
    pub low: f64,
    /// Highest value not flagged.
    pub high: f64,
    /// What it was computed from.
    pub baseline: Baseline,
}

impl Band {
    /// Whether `value` is outside the band (flagged).
    pub fn excludes(&self, value: f64) -> bool {
        value > self.high || value < self.low
    }

    /// How far `value` is outside the band, in robust deviations (0 inside it).
    pub fn deviations(&self, value: f64) -> f64 {
        let width = (self.high - self.expected).max(f64::MIN_POSITIVE);
        let off = if value > self.high {
            value - self.expected
        } else if value < self.low {
            self.expected - value
        } else {
            return 0.0;
        };
        off / width * DEVIATIONS
    }
}

/// Robust deviations a value must be off the baseline's median to be flagged: far
/// enough that a steady week's hourly series flags at most about one bucket a day.
pub const DEVIATIONS: f64 = 4.0;

/// Buckets of history the rolling baseline reads.
const ROLLING: usize = 24;

/// Fewest history values a band is made from; earlier buckets get none.
const FEWEST: usize = 8;

/// Days back the seasonal baseline looks.
const DAYS: usize = 7;

/// Fewest days with data before the seasonal baseline is used (one day's three values
/// say too little about how much they vary).
const SEASONAL_DAYS: usize = 2;

/// The history a window's bands are learned from: the seasonal baseline's days.
pub const HISTORY_NS: i64 = DAYS as i64 * 86_400_000_000_000;

/// MAD to standard deviation for normal data.
const MAD_TO_SIGMA: f64 = 1.4826;

/// What to judge: one value per consecutive bucket (`None`: no data there, e.g. a
/// latency percentile of a bucket without calls), the buckets per day (0 when the
/// bucket does not divide a day: no seasonal baseline), the smallest deviation that
/// counts (a floor on the band's half-width, in the series' unit), and how much the
/// figure varies by chance.
pub struct Series<'a> {
    /// The values, oldest first.
    pub values: &'a [Option<f64>],
    /// Buckets in a day (for an hourly series, 24), or 0.
    pub per_day: usize,
    /// The band is never narrower than ± this (and than 5 % of the expected value).
    pub floor: f64,
    /// The figure's chance variation, which the band never undercuts.
    pub noise: Noise<'a>,
}

/// How much a bucket's figure varies by chance alone: a band learned from a few days
/// is never narrower than that, so that a quiet hour of a small model is not news.
#[derive(Debug, Clone, Copy)]
pub enum Noise<'a> {
    /// Nothing known beyond the floor.
    Unknown,
    /// A count of independent events (calls, errors): Poisson, σ = √expected.
    Count,
    /// A figure estimated from the bucket's calls (a cost summed over them, a
    /// percentile of their latency): σ = `spread` × expected / √calls, with each
    /// bucket's calls.
    PerCall {
        /// Calls per bucket, aligned with the values.
        calls: &'a [Option<f64>],
        /// The figure's relative spread for one call.
        spread: f64,
    },
}

/// Each bucket's band, `None` while there is too little history.
pub fn bands(series: &Series<'_>) -> Vec<Option<Band>> {
    (0..series.values.len())
        .map(|i| band_at(series, i))
        .collect()
}

/// The flagged buckets: (index, value, its band), oldest first.
pub fn anomalies(series: &Series<'_>) -> Vec<(usize, f64, Band)> {
    outside(series.values, &bands(series))
}

/// The values outside their bands (aligned with them): (index, value, its band).
pub fn outside(values: &[Option<f64>], bands: &[Option<Band>]) -> Vec<(usize, f64, Band)> {
    values
        .iter()
        .zip(bands)
        .enumerate()
        .filter_map(|(i, (value, band))| match (*value, *band) {
            (Some(v), Some(band)) if band.excludes(v) => Some((i, v, band)),
            _ => None,
        })
        .collect()
}

fn band_at(series: &Series<'_>, i: usize) -> Option<Band> {
    let values = series.values;
    let mut history: Vec<f64> = Vec::new();
    let mut baseline = None;
    if series.per_day > 0 && i >= series.per_day {
        let mut days = 0;
        for d in 1..=DAYS {
            let Some(at) = i.checked_sub(d * series.per_day) else {
                break;
            };
            let before = history.len();
            let around = &values[at.saturating_sub(1)..=(at + 1).min(i - 1)];
            history.extend(around.iter().flatten());
            days += usize::from(history.len() > before);
        }
        if days >= SEASONAL_DAYS && history.len() >= 3 * SEASONAL_DAYS {
            baseline = Some(Baseline::Seasonal { days });
        } else {
            history.clear();
        }
    }
    // The buckets just before say nothing about a daily rhythm: they stand in for the
    // previous days only when they span two hours at most (or nothing is known of days).
    let rolling_ok = series.per_day == 0 || ROLLING * 12 <= series.per_day;
    if baseline.is_none() && !rolling_ok {
        return None;
    }
    if baseline.is_none() {
        let from = i.saturating_sub(ROLLING);
        history.extend(values[from..i].iter().flatten());
        if history.len() < FEWEST {
            return None;
        }
        baseline = Some(Baseline::Rolling {
            buckets: history.len(),
        });
    }
    let expected = median(&mut history);
    let mut spread: Vec<f64> = history.iter().map(|v| (v - expected).abs()).collect();
    let chance = match series.noise {
        Noise::Unknown => 0.0,
        Noise::Count => expected.max(1.0).sqrt(),
        Noise::PerCall { calls, spread } => match calls.get(i).copied().flatten() {
            Some(n) if n >= 1.0 => spread * expected.abs() / n.sqrt(),
            _ => 0.0,
        },
    };
    let sigma = (median(&mut spread) * MAD_TO_SIGMA).max(chance);
    let half = (DEVIATIONS * sigma)
        .max(series.floor)
        .max(0.05 * expected.abs());
    Some(Band {
        expected,
        low: expected - half,
        high: expected + half,
        baseline: baseline.expect("a baseline was chosen"),
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A steady hourly series with a daily rhythm and some noise, `days` long.
    fn steady(days: usize) -> Vec<Option<f64>> {
        let mut x: u64 = 7;
        (0..days * 24)
            .map(|h| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((x >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 20.0;
                let rhythm = 40.0 * (h as f64 / 24.0 * std::f64::consts::TAU).sin();
                Some(200.0 + rhythm + noise)
            })
            .collect()
    }

    #[test]
    fn a_spike_is_flagged_and_the_steady_rest_is_not() {
        let mut values = steady(7);
        values[5 * 24 + 10] = Some(600.0);
        let s = Series {
            values: &values,
            per_day: 24,
            floor: 1.0,
            noise: Noise::Unknown,
        };
        let flagged = anomalies(&s);
        assert!(
            flagged
                .iter()
                .any(|(i, _, b)| *i == 5 * 24 + 10 && b.baseline == Baseline::Seasonal { days: 5 }),
            "{flagged:?}"
        );
        assert!(
            flagged.len() <= 7,
            "at most one false mark a day: {flagged:?}"
        );
    }

    #[test]
    fn a_slow_drift_is_flagged_once_it_leaves_the_band() {
        let mut values = steady(7);
        for (h, v) in values.iter_mut().enumerate().skip(3 * 24) {
            *v = v.map(|v| v + (h - 3 * 24) as f64 * 2.0);
        }
        let s = Series {
            values: &values,
            per_day: 24,
            floor: 1.0,
            noise: Noise::Unknown,
        };
        let flagged = anomalies(&s);
        let late = flagged.iter().filter(|(i, _, _)| *i >= 5 * 24).count();
        assert!(
            late >= 24,
            "the drift's last two days stand out: {flagged:?}"
        );
    }

    #[test]
    fn without_a_day_of_history_the_buckets_before_are_the_baseline() {
        let mut values: Vec<Option<f64>> = (0..30).map(|i| Some(10.0 + (i % 3) as f64)).collect();
        values[20] = Some(50.0);
        values[25] = None;
        let s = Series {
            values: &values,
            per_day: 0,
            floor: 0.5,
            noise: Noise::Unknown,
        };
        let b = bands(&s);
        assert!(
            b[..FEWEST].iter().all(Option::is_none),
            "too little history"
        );
        let flagged = anomalies(&s);
        assert_eq!(flagged.len(), 1, "{flagged:?}");
        assert_eq!(flagged[0].0, 20);
        assert_eq!(flagged[0].2.baseline, Baseline::Rolling { buckets: 20 });
        assert!(flagged[0].2.deviations(50.0) > DEVIATIONS);
    }

    #[test]
    fn a_flat_series_is_judged_by_its_floor() {
        let mut values = vec![Some(0.0); 40];
        values[30] = Some(1.0);
        values[35] = Some(3.0);
        let s = Series {
            values: &values,
            per_day: 0,
            floor: 2.0,
            noise: Noise::Unknown,
        };
        let flagged: Vec<usize> = anomalies(&s).into_iter().map(|a| a.0).collect();
        assert_eq!(flagged, [35]);
    }
}

/// The figures the anomaly list watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Metric {
    /// Calls per bucket.
    Calls,
    /// Failed calls per bucket.
    Errors,
    /// Cost per bucket, USD.
    Cost,
    /// 95th percentile of latency in the bucket, ms.
    P95Latency,
}

impl Metric {
    /// Its name as people read it.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Calls => "calls",
            Metric::Errors => "errors",
            Metric::Cost => "cost",
            Metric::P95Latency => "p95 latency",
        }
    }

    /// How the figure varies by chance, given the calls of each bucket.
    pub fn noise(self, calls: &[Option<f64>]) -> Noise<'_> {
        match self {
            Metric::Calls | Metric::Errors => Noise::Count,
            // One call's cost varies about as much as its mean (token counts are
            // long-tailed); a 95th percentile of n calls about 1.5 times that.
            Metric::Cost => Noise::PerCall { calls, spread: 1.0 },
            Metric::P95Latency => Noise::PerCall { calls, spread: 1.5 },
        }
    }

    /// The smallest change that counts (see [`Series::floor`]): a few calls or errors,
    /// a cent, 50 ms.
    pub fn floor(self) -> f64 {
        match self {
            Metric::Calls | Metric::Errors => 3.0,
            Metric::Cost => 0.01,
            Metric::P95Latency => 50.0,
        }
    }
}

/// A bucket of one figure outside its expected band.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The figure.
    pub metric: Metric,
    /// The model it is about; `None` for all calls.
    pub model: Option<String>,
    /// The bucket, Unix ns, and its width.
    pub bucket_start_ns: i64,
    /// The bucket's width, ns.
    pub bucket_ns: i64,
    /// The figure in the bucket.
    pub value: f64,
    /// What was expected of it.
    pub band: Band,
}

impl Anomaly {
    /// How far off, in robust deviations.
    pub fn deviations(&self) -> f64 {
        self.band.deviations(self.value)
    }
}

/// One figure's expected band over a window, bucket by bucket: what a chart of the
/// figure draws lightly behind its line, and what its flagged points were judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureBands {
    /// The figure.
    pub metric: Metric,
    /// The model it is about; `None` for all calls.
    pub model: Option<String>,
    /// The first bucket's start, Unix ns.
    pub from_ns: i64,
    /// The buckets' width, ns.
    pub bucket_ns: i64,
    /// One band per bucket from `from_ns`; `None` where history was too short.
    pub bands: Vec<Option<Band>>,
}

impl FigureBands {
    /// The band of the bucket that starts at `start_ns`, if it was judged.
    pub fn at(&self, start_ns: i64) -> Option<&Band> {
        let offset = start_ns.checked_sub(self.from_ns)?;
        if offset % self.bucket_ns != 0 {
            return None;
        }
        self.bands
            .get(usize::try_from(offset / self.bucket_ns).ok()?)?
            .as_ref()
    }

    /// (bucket start, band) of every judged bucket, oldest first.
    pub fn judged(&self) -> impl Iterator<Item = (i64, &Band)> + '_ {
        self.bands.iter().enumerate().filter_map(|(i, b)| {
            b.as_ref()
                .map(|b| (self.from_ns + i as i64 * self.bucket_ns, b))
        })
    }
}

/// What judging a window found: its anomalies and the bands of every figure watched,
/// so that the charts flag exactly the points the anomaly list names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    /// The buckets outside their bands, worst first.
    pub anomalies: Vec<Anomaly>,
    /// The bands of each figure (overall and per model) over the window's buckets.
    pub bands: Vec<FigureBands>,
}

impl Judgement {
    /// The bands of one figure (`model` `None`: all calls), if it was judged.
    pub fn bands_of(&self, metric: Metric, model: Option<&str>) -> Option<&FigureBands> {
        self.bands
            .iter()
            .find(|b| b.metric == metric && b.model.as_deref() == model)
    }
}

/// Buckets in a day when `bucket_ns` divides one (for the seasonal baseline), else 0.
pub fn per_day(bucket_ns: i64) -> usize {
    const DAY: i64 = 86_400_000_000_000;
    if bucket_ns > 0 && bucket_ns <= DAY && DAY % bucket_ns == 0 {
        (DAY / bucket_ns) as usize
    } else {
        0
    }
}
