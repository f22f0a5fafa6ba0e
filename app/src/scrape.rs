//! The Prometheus scrape that `serve` and the window answer on `GET /metrics` (their
//! OTLP/HTTP port): LLM requests, tokens by kind, cost, and latency and
//! time-to-first-token histograms, per service, model, provider and status, computed
//! from everything stored (so the counters never restart with the process; retention
//! deleting old calls reads as a counter reset). Cardinality is bounded: models and
//! services beyond the busiest [`ScrapeOptions::top`] are labelled `other`.
//!
//! Histogram bucket bounds are those the OpenTelemetry GenAI conventions advise for
//! `gen_ai.client.operation.duration` and `gen_ai.server.time_to_first_token`; counts
//! come from the latency sketch, so a call within 1 % of a bound may be counted on its
//! other side.

use ingest::receive::Scrape;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use store::{Database, Distribution, Filter, UsageRow};

/// The OpenMetrics media type the body is written in.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request-duration bucket bounds, seconds (GenAI `gen_ai.client.operation.duration`).
pub const DURATION_BOUNDS_S: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Time-to-first-token bucket bounds, seconds (GenAI `gen_ai.server.time_to_first_token`).
pub const FIRST_TOKEN_BOUNDS_S: [f64; 16] = [
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The label value standing for every model or service past the busiest ones.
pub const OTHER: &str = "other";

/// How the scrape is labelled.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeOptions {
    /// Models (and services) keeping their own label value, busiest first; the rest
    /// are `other`.
    pub top: usize,
}

/// The `GET /metrics` endpoint over `db`: each scrape reads the usage totals on a new
/// reader.
pub fn endpoint(db: Arc<dyn Database>, options: ScrapeOptions) -> Scrape {
    Scrape {
        content_type: CONTENT_TYPE,
        render: Arc::new(move || {
            let rows = db
                .reader()
                .and_then(|mut r| r.usage(&Filter::default()))
                .map_err(|e| e.to_string())?;
            Ok(render(rows, options))
        }),
    }
}

/// [`endpoint`] when `options` ask for one.
pub fn endpoint_if(db: Arc<dyn Database>, options: Option<ScrapeOptions>) -> Option<Scrape> {
    options.map(|o| endpoint(db, o))
}

/// The exposition text of `rows`.
pub fn render(rows: Vec<UsageRow>, options: ScrapeOptions) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Usage::bounded(rows, options.top)));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)
        .expect("writing into a String cannot fail");
    out
}

/// The labels of one series group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Labels {
    service: String,
    model: String,
    provider: String,
    is_error: bool,
}

impl Labels {
    /// The label pairs, with or without the status, values escaped for the text format.
    fn pairs(&self, with_status: bool) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("service", escape(&self.service)),
            ("model", escape(&self.model)),
            ("provider", escape(&self.provider)),
        ];
        if with_status {
            let status = if self.is_error { "error" } else { "ok" };
            pairs.push(("status", status.to_string()));
        }
        pairs
    }
}

/// A label value as the text format writes it (the encoder writes values verbatim).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The usage rows regrouped under bounded labels.
#[derive(Debug)]
struct Usage {
    rows: BTreeMap<Labels, UsageRow>,
}

impl Usage {
    /// Regroups `rows` so that only the `top` busiest models and services keep their
    /// names.
    fn bounded(rows: Vec<UsageRow>, top: usize) -> Usage {
        let keep_models = busiest(&rows, top, |r| &r.model);
        let keep_services = busiest(&rows, top, |r| &r.service);
        let mut grouped: BTreeMap<Labels, UsageRow> = BTreeMap::new();
        for row in rows {
            let labels = Labels {
                service: kept(&keep_services, &row.service),
                model: kept(&keep_models, &row.model),
                provider: row.provider.clone().unwrap_or_default(),
                is_error: row.is_error,
            };
            match grouped.get_mut(&labels) {
                Some(g) => add(g, &row),
                None => {
                    grouped.insert(labels, row);
                }
            }
        }
        Usage { rows: grouped }
    }

    /// Sums a measure over the groups that share labels once the status is dropped.
    fn by_labels_without_status<T: std::ops::AddAssign + Default + Copy>(
        &self,
        measure: impl Fn(&UsageRow) -> T,
    ) -> BTreeMap<Labels, T> {
        let mut out: BTreeMap<Labels, T> = BTreeMap::new();
        for (labels, row) in &self.rows {
            let key = Labels {
                is_error: false,
                ..labels.clone()
            };
            *out.entry(key).or_default() += measure(row);
        }
        out
    }
}

/// The `top` values of `name` with the most calls.
fn busiest(rows: &[UsageRow], top: usize, name: impl Fn(&UsageRow) -> &String) -> Vec<String> {
    let mut calls: HashMap<&String, u64> = HashMap::new();
    for r in rows {
        *calls.entry(name(r)).or_default() += r.calls;
    }
    let mut ranked: Vec<(&String, u64)> = calls.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(top)
        .map(|(n, _)| n.clone())
        .collect()
}

/// `value` if it is one of those kept, else [`OTHER`].
fn kept(keep: &[String], value: &String) -> String {
    if keep.contains(value) {
        value.clone()
    } else {
        OTHER.to_string()
    }
}

/// Adds `row`'s figures into `group`.
fn add(group: &mut UsageRow, row: &UsageRow) {
    group.calls += row.calls;
    group.input_tokens += row.input_tokens;
    group.output_tokens += row.output_tokens;
    group.cache_read_tokens += row.cache_read_tokens;
    group.cache_write_tokens += row.cache_write_tokens;
    group.cost_usd += row.cost_usd;
    group.unpriced_calls += row.unpriced_calls;
    group.latency.add(&row.latency);
    group.first_token.add(&row.first_token);
}

/// A histogram's buckets as the encoder takes them: per bound (not cumulative), the
/// calls above the last bound at `+Inf` (`f64::MAX`).
fn histogram_buckets(d: &Distribution, bounds_s: &[f64]) -> Vec<(f64, u64)> {
    let bounds_ns: Vec<f64> = bounds_s.iter().map(|s| s * 1e9).collect();
    let cumulative = d.at_most(&bounds_ns);
    let mut below = 0;
    let mut buckets = Vec::with_capacity(bounds_s.len() + 1);
    for (&bound, &n) in bounds_s.iter().zip(&cumulative) {
        buckets.push((bound, n - below));
        below = n;
    }
    buckets.push((f64::MAX, d.count() - below));
    buckets
}

impl Collector for Usage {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut requests = encoder.encode_descriptor(
            "llm_requests",
            "LLM calls stored, by outcome (status=error: failed calls).",
            None,
            MetricType::Counter,
        )?;
        for (labels, row) in &self.rows {
            requests
                .encode_family(&labels.pairs(true))?
                .encode_counter::<NoLabelSet, _, u64>(&row.calls, None)?;
        }

        let mut tokens = encoder.encode_descriptor(
            "llm_tokens",
            "Tokens of the stored LLM calls by type: input (cache reads and writes included), output, cache_read, cache_write.",
            None,
            MetricType::Counter,
        )?;
        type Measure = fn(&UsageRow) -> u64;
        let kinds: [(&str, Measure); 4] = [
            ("input", |r| r.input_tokens),
            ("output", |r| r.output_tokens),
            ("cache_read", |r| r.cache_read_tokens),
            ("cache_write", |r| r.cache_write_tokens),
        ];
        for (kind, measure) in kinds {
            for (labels, n) in self.by_labels_without_status(measure) {
                let mut pairs = labels.pairs(false);
                pairs.push(("type", kind.to_string()));
                tokens
                    .encode_family(&pairs)?
                    .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
            }
        }

        let mut cost = encoder.encode_descriptor(
            "llm_cost_usd",
            "Cost in USD of the stored LLM calls: reported costs, else tokens at the price table's rates.",
            None,
            MetricType::Counter,
        )?;
        for (labels, usd) in self.by_labels_without_status(|r| r.cost_usd) {
            cost.encode_family(&labels.pairs(false))?
                .encode_counter::<NoLabelSet, _, f64>(&usd, None)?;
        }

        let mut unpriced = encoder.encode_descriptor(
            "llm_unpriced_requests",
            "Stored LLM calls that reported no cost and whose model has no price (left out of llm_cost_usd).",
            None,
            MetricType::Counter,
        )?;
        for (labels, n) in self.by_labels_without_status(|r| r.unpriced_calls) {
            unpriced
                .encode_family(&labels.pairs(false))?
                .encode_counter::<NoLabelSet, _, u64>(&n, None)?;
        }

        let mut duration = encoder.encode_descriptor(
            "llm_request_duration",
            "Duration of the stored LLM calls (bucket counts from a sketch within 1 % of each call's duration).",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (labels, row) in &self.rows {
            let buckets = histogram_buckets(&row.latency, &DURATION_BOUNDS_S);
            duration
                .encode_family(&labels.pairs(true))?
                .encode_histogram::<NoLabelSet>(
                    row.latency.sum_seconds(),
                    row.latency.count(),
                    &buckets,
                    None,
                )?;
        }

        let mut first = encoder.encode_descriptor(
            "llm_time_to_first_token",
            "Time to the first token of the stored streamed LLM calls that report one (counts and sum from a sketch within 1 %).",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        let mut first_token: BTreeMap<Labels, Distribution> = BTreeMap::new();
        for (labels, row) in &self.rows {
            let key = Labels {
                is_error: false,
                ..labels.clone()
            };
            first_token.entry(key).or_default().add(&row.first_token);
        }
        for (labels, d) in first_token.iter().filter(|(_, d)| d.count() > 0) {
            let buckets = histogram_buckets(d, &FIRST_TOKEN_BOUNDS_S);
            first
                .encode_family(&labels.pairs(false))?
                .encode_histogram::<NoLabelSet>(d.sum_seconds(), d.count(), &buckets, None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, calls: u64, is_error: bool) -> UsageRow {
        UsageRow {
            service: "chat".into(),
            model: model.into(),
            provider: Some("openai".into()),
            is_error,
            calls,
            input_tokens: calls * 10,
            ..UsageRow::default()
        }
    }

    #[test]
    fn models_past_the_top_are_other_and_values_are_escaped() {
        let rows = vec![
            row("gpt-4o", 30, false),
            row("gpt-4o", 3, true),
            row("claude \"3\"\\x", 20, false),
            row("tiny-a", 2, false),
            row("tiny-b", 1, false),
        ];
        let text = render(rows, ScrapeOptions { top: 2 });
        assert!(
            text.contains(r#"llm_requests_total{service="chat",model="gpt-4o",provider="openai",status="error"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"model="claude \"3\"\\x""#), "{text}");
        assert!(
            text.contains(r#"llm_requests_total{service="chat",model="other",provider="openai",status="ok"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"llm_tokens_total{service="chat",model="gpt-4o",provider="openai",type="input"} 330"#),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}
