//! A rule's metric measured on the store over its window ending now: one value for the
//! whole scope, or one per model; for a spike rule, the threshold is the same metric's
//! trailing 24 h average raised by the rule's percentage.

use super::engine::Measured;
use super::rules::{Metric, Rule};
use store::{Filter, ModelRow, Queries, StoreError, Summary};

const DAY_NS: i64 = 86_400_000_000_000;

/// The figures a metric is read from, for a whole scope or one model.
struct Figures {
    calls: u64,
    errors: u64,
    tokens: u64,
    cost_usd: f64,
    unpriced: u64,
    p95_ms: f64,
    p99_ms: f64,
}

impl Figures {
    fn of_summary(s: &Summary) -> Figures {
        Figures {
            calls: s.llm_calls,
            errors: s.errors,
            tokens: s.input_tokens + s.output_tokens,
            cost_usd: s.cost_usd,
            unpriced: s.unpriced_calls,
            p95_ms: s.latency_ms[1],
            p99_ms: s.latency_ms[2],
        }
    }

    fn of_model(m: &ModelRow) -> Figures {
        Figures {
            calls: m.calls,
            errors: m.errors,
            tokens: m.input_tokens + m.output_tokens,
            cost_usd: m.cost_usd,
            unpriced: m.unpriced_calls,
            p95_ms: m.p95_ms,
            p99_ms: m.p99_ms,
        }
    }

    /// The metric over a window of `secs`; `None` where it means nothing without calls
    /// (latency, error rate).
    fn value(&self, metric: Metric, secs: f64) -> Option<f64> {
        let has_calls = self.calls > 0;
        match metric {
            Metric::P95LatencyMs => has_calls.then_some(self.p95_ms),
            Metric::P99LatencyMs => has_calls.then_some(self.p99_ms),
            Metric::ErrorRate => has_calls.then(|| self.errors as f64 / self.calls as f64),
            Metric::CostPerHour => Some(self.cost_usd / secs * 3600.0),
            Metric::RequestRate => Some(self.calls as f64 / secs),
            Metric::TokenRate => Some(self.tokens as f64 / secs),
            Metric::UnpricedCalls => Some(self.unpriced as f64),
        }
    }
}

/// Measures `rule` at `now_ns`.
pub fn measure(
    reader: &mut dyn Queries,
    rule: &Rule,
    now_ns: i64,
) -> Result<Vec<Measured>, StoreError> {
    let window_ns = (rule.window.0.as_nanos() as i64).max(1);
    let services = matching_services(reader, &rule.services)?;
    let filter = |from: i64| Filter {
        from_ns: Some(from),
        to_ns: Some(now_ns),
        models: rule.models.clone(),
        services: services.clone(),
        ..Filter::default()
    };
    let secs = window_ns as f64 / 1e9;
    let now_figures = scoped(reader, rule, &filter(now_ns - window_ns))?;
    let baseline = if rule.spike {
        Some(scoped(reader, rule, &filter(now_ns - DAY_NS))?)
    } else {
        None
    };
    Ok(now_figures
        .iter()
        .map(|(scope, f)| {
            let value = f.value(rule.metric, secs);
            let threshold = match &baseline {
                None => Some(rule.threshold),
                Some(base) => base
                    .iter()
                    .find(|(s, _)| s == scope)
                    .and_then(|(_, b)| b.value(rule.metric, DAY_NS as f64 / 1e9))
                    // No baseline (nothing before): no spike can be judged.
                    .filter(|avg| *avg > 0.0)
                    .map(|avg| avg * (1.0 + rule.threshold / 100.0)),
            };
            Measured {
                scope: scope.clone(),
                value,
                threshold,
            }
        })
        .collect())
}

/// The stored services matching the rule's service globs (the store's filter takes
/// names). When globs are given and nothing matches, a name no service has, so that
/// the rule sees no calls rather than all of them.
fn matching_services(
    reader: &mut dyn Queries,
    globs: &[String],
) -> Result<Vec<String>, StoreError> {
    if globs.is_empty() {
        return Ok(Vec::new());
    }
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        // Rules are checked when loaded; a pattern that still fails matches nothing.
        if let Ok(glob) = globset::Glob::new(g) {
            set.add(glob);
        }
    }
    let set = set.build().unwrap_or_else(|_| globset::GlobSet::empty());
    let names: Vec<String> = reader
        .services()?
        .into_iter()
        .filter(|s| set.is_match(s))
        .collect();
    Ok(if names.is_empty() {
        vec!["\u{0}no service matches".to_string()]
    } else {
        names
    })
}

/// The figures of the whole scope (`all`), or of each model with calls.
fn scoped(
    reader: &mut dyn Queries,
    rule: &Rule,
    f: &Filter,
) -> Result<Vec<(String, Figures)>, StoreError> {
    Ok(if rule.per_model {
        reader
            .per_model(f)?
            .iter()
            .map(|m| (m.model.clone(), Figures::of_model(m)))
            .collect()
    } else {
        vec![(
            "all".to_string(),
            Figures::of_summary(&reader.call_summary(f)?),
        )]
    })
}
