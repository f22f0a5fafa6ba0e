//! Totals of the stored calls per service, model asked for, provider and outcome,
//! with their latency and time-to-first-token distributions: what `GET /metrics`
//! exposes for Prometheus (counters over everything stored, histograms at any bucket
//! bounds). Both backends read their sums and sketch rows into a [`UsageFold`], so
//! the two answer alike.

use crate::rollup::Sketched;
use crate::sketch;
use std::collections::BTreeMap;

/// One group's totals: every call of one service to one model (as asked for) through
/// one provider, failed or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageRow {
    /// The service that made the calls.
    pub service: String,
    /// The model asked for (request model, else response model).
    pub model: String,
    /// The provider, when the calls named one.
    pub provider: Option<String>,
    /// Whether these are the failed calls.
    pub is_error: bool,
    /// Calls.
    pub calls: u64,
    /// Input tokens (cache reads and writes included).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to a prompt cache.
    pub cache_write_tokens: u64,
    /// Cost in USD of the priced calls (reported cost winning), as the summary prices it.
    pub cost_usd: f64,
    /// Calls without a price that reported no cost.
    pub unpriced_calls: u64,
    /// Every call's duration (its sum exact).
    pub latency: Distribution,
    /// The time to first token of the calls that report one (its sum from the sketch).
    pub first_token: Distribution,
}

/// How a duration is distributed over calls, as latency-sketch buckets: each bucket is
/// within 1 % of the durations it holds, so a count at a bound is exact but for calls
/// within 1 % of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// `(bucket, calls)`, in bucket order.
    buckets: Vec<(i16, u64)>,
    /// The sum of the durations, ns.
    sum_ns: f64,
}

impl Distribution {
    /// How many calls it holds.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|(_, n)| n).sum()
    }

    /// The sum of the durations, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_ns / 1e9
    }

    /// For each bound (ns, ascending), how many calls took at most it: a histogram's
    /// cumulative buckets. A sketch bucket straddling a bound counts below it when the
    /// value it stands for does.
    pub fn at_most(&self, bounds_ns: &[f64]) -> Vec<u64> {
        bounds_ns
            .iter()
            .map(|&bound| {
                self.buckets
                    .iter()
                    .take_while(|(b, _)| sketch::value(*b) <= bound)
                    .map(|(_, n)| n)
                    .sum()
            })
            .collect()
    }

    /// Adds another distribution's calls to this one (merging groups).
    pub fn add(&mut self, other: &Distribution) {
        self.sum_ns += other.sum_ns;
        for &(bucket, n) in &other.buckets {
            self.add_bucket(bucket, n);
        }
    }

    fn add_bucket(&mut self, bucket: i16, n: u64) {
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 += n,
            Err(i) => self.buckets.insert(i, (bucket, n)),
        }
    }
}

/// What a group is told apart by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct UsageKey {
    pub(crate) service: String,
    pub(crate) model: String,
    pub(crate) provider: Option<String>,
    pub(crate) is_error: bool,
}

/// The additive figures of one group and priced name, cost already priced.
pub(crate) struct UsageSums {
    pub(crate) calls: u64,
    /// Input, output, cache-read, cache-write tokens.
    pub(crate) tokens: [u64; 4],
    pub(crate) cost_usd: f64,
    pub(crate) unpriced_calls: u64,
    pub(crate) duration_ns: f64,
}

/// Gathers a backend's rows into [`UsageRow`]s.
#[derive(Default)]
pub(crate) struct UsageFold {
    rows: BTreeMap<UsageKey, UsageRow>,
}

impl UsageFold {
    fn row(&mut self, key: UsageKey) -> &mut UsageRow {
        self.rows.entry(key.clone()).or_insert_with(|| UsageRow {
            service: key.service,
            model: key.model,
            provider: key.provider,
            is_error: key.is_error,
            ..UsageRow::default()
        })
    }

    /// Adds one group's sums (a group is read once per priced name).
    pub(crate) fn add_sums(&mut self, key: UsageKey, sums: UsageSums) {
        let row = self.row(key);
        row.calls += sums.calls;
        let [input, output, cache_read, cache_write] = sums.tokens;
        row.input_tokens += input;
        row.output_tokens += output;
        row.cache_read_tokens += cache_read;
        row.cache_write_tokens += cache_write;
        row.cost_usd += sums.cost_usd;
        row.unpriced_calls += sums.unpriced_calls;
        row.latency.sum_ns += sums.duration_ns;
    }

    /// Adds `n` calls in sketch bucket `bucket` of `measure`.
    pub(crate) fn add_bucket(&mut self, measure: Sketched, key: UsageKey, bucket: i16, n: u64) {
        let row = self.row(key);
        let distribution = match measure {
            Sketched::Duration => &mut row.latency,
            Sketched::FirstToken => &mut row.first_token,
        };
        distribution.add_bucket(bucket, n);
        if let Sketched::FirstToken = measure {
            distribution.sum_ns += sketch::value(bucket) * n as f64;
        }
    }

    /// The groups, most calls first.
    pub(crate) fn finish(self) -> Vec<UsageRow> {
        let mut rows: Vec<UsageRow> = self.rows.into_values().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.calls));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(model: &str) -> UsageKey {
        UsageKey {
            service: "svc".into(),
            model: model.into(),
            provider: None,
            is_error: false,
        }
    }

    #[test]
    fn counts_at_bounds_are_cumulative_and_merge() {
        let mut fold = UsageFold::default();
        // 10 calls near 50 ms, 5 near 2 s.
        let fast = sketch::nearest_edge(50e6);
        let slow = sketch::nearest_edge(2e9);
        fold.add_bucket(Sketched::Duration, key("a"), fast, 10);
        fold.add_bucket(Sketched::Duration, key("a"), slow, 5);
        fold.add_bucket(Sketched::FirstToken, key("a"), fast, 4);
        let rows = fold.finish();
        let latency = &rows[0].latency;
        assert_eq!(latency.count(), 15);
        assert_eq!(
            latency.at_most(&[10e6, 100e6, 1e9, 5e9]),
            vec![0, 10, 10, 15]
        );
        let ttft = &rows[0].first_token;
        assert!((ttft.sum_seconds() - 0.2).abs() < 0.2 * 0.01, "{ttft:?}");
        let mut merged = latency.clone();
        merged.add(ttft);
        assert_eq!(merged.at_most(&[100e6]), vec![14]);
        assert_eq!(merged.count(), 19);
    }
}
