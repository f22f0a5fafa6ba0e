//! Alert rules as people read them: each metric's values with their unit, and a rule's
//! condition in words. The rules themselves (file format, parsing, checks) are
//! `store::alert_rules`, which the fuzz targets reach without the window.

pub use store::alert_rules::*;

use crate::format;

/// A metric's values in words.
pub trait MetricText {
    /// A value of this metric with its unit.
    fn format(self, v: f64) -> String;
}

impl MetricText for Metric {
    fn format(self, v: f64) -> String {
        match self {
            Metric::P95LatencyMs | Metric::P99LatencyMs => format::millis(v),
            Metric::ErrorRate => format::percent(v),
            Metric::CostPerHour => format!("{}/h", format::usd(v)),
            Metric::RequestRate => format!("{} req/s", format::count(v)),
            Metric::TokenRate => format!("{} tok/s", format::count(v)),
            Metric::UnpricedCalls => format!("{} calls", format::count(v)),
        }
    }
}

/// A rule in words.
pub trait RuleText {
    /// The condition in words: `p95 latency > 1.00 s over 5m for 1m`.
    fn condition(&self) -> String;
}

impl RuleText for Rule {
    fn condition(&self) -> String {
        let window = humantime::format_duration(self.window.0);
        let what = if self.spike {
            format!(
                "{} more than {}% above its 24 h average",
                self.metric.label(),
                self.threshold
            )
        } else {
            format!(
                "{} {} {}",
                self.metric.label(),
                self.op.symbol(),
                self.metric.format(self.threshold)
            )
        };
        if self.hold.0.is_zero() {
            format!("{what} over {window}")
        } else {
            format!(
                "{what} over {window} for {}",
                humantime::format_duration(self.hold.0)
            )
        }
    }
}
