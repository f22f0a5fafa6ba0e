//! Alert rules: what to watch (a metric over a window, for some models or services),
//! when to fire (a threshold, or a spike over the trailing 24 h average, held for a
//! while), and whom to tell. Kept in a TOML file; a bad file's error names the line and
//! the field.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// What a rule measures over its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 95th percentile latency of LLM calls, ms.
    P95LatencyMs,
    /// 99th percentile latency, ms.
    P99LatencyMs,
    /// Failed calls / calls, 0–1.
    ErrorRate,
    /// Cost in USD per hour.
    CostPerHour,
    /// LLM calls per second.
    RequestRate,
    /// Input + output tokens per second.
    TokenRate,
    /// Calls whose model has no price.
    UnpricedCalls,
}

impl Metric {
    /// Every metric, in menu order.
    pub const ALL: [Metric; 7] = [
        Metric::P95LatencyMs,
        Metric::P99LatencyMs,
        Metric::ErrorRate,
        Metric::CostPerHour,
        Metric::RequestRate,
        Metric::TokenRate,
        Metric::UnpricedCalls,
    ];

    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            Metric::P95LatencyMs => "p95 latency",
            Metric::P99LatencyMs => "p99 latency",
            Metric::ErrorRate => "error rate",
            Metric::CostPerHour => "cost per hour",
            Metric::RequestRate => "request rate",
            Metric::TokenRate => "token rate",
            Metric::UnpricedCalls => "unpriced calls",
        }
    }

    /// The name in rules files and the alert history (`p95_latency_ms`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::P95LatencyMs => "p95_latency_ms",
            Metric::P99LatencyMs => "p99_latency_ms",
            Metric::ErrorRate => "error_rate",
            Metric::CostPerHour => "cost_per_hour",
            Metric::RequestRate => "request_rate",
            Metric::TokenRate => "token_rate",
            Metric::UnpricedCalls => "unpriced_calls",
        }
    }

    /// The metric of a name (as [`Metric::name`] gives).
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// How the value is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Comparison {
    /// Fires above.
    #[default]
    #[serde(rename = ">")]
    Above,
    /// Fires at or above.
    #[serde(rename = ">=")]
    AtLeast,
    /// Fires below.
    #[serde(rename = "<")]
    Below,
    /// Fires at or below.
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Every comparison, in menu order.
    pub const ALL: [Comparison; 4] = [
        Comparison::Above,
        Comparison::AtLeast,
        Comparison::Below,
        Comparison::AtMost,
    ];

    /// Whether `value` breaches `threshold`.
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }
}

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Needs a look.
    #[default]
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// Every severity, in menu order.
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    /// Name as stored.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// A duration written as text (`5m`, `30s`, `1h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span(pub Duration);

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map(Span).map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not a duration ({e}); write e.g. 30s, 5m or 1h"
            ))
        })
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, shown in the banner and the history.
    pub name: String,
    /// What is measured.
    pub metric: Metric,
    /// Only calls of models matching these globs (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    /// Only calls of services matching these globs (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// One state per model instead of one for the whole scope.
    #[serde(default, skip_serializing_if = "is_false")]
    pub per_model: bool,
    /// The window measured, ending now.
    pub window: Span,
    /// How the value is compared.
    #[serde(default)]
    pub op: Comparison,
    /// The threshold in the metric's unit (ms, 0–1, USD/h, per second, calls); for a
    /// spike rule, the percentage above the trailing 24 h average.
    pub threshold: f64,
    /// Compare with the trailing 24 h average instead of a fixed value: fires when the
    /// value is more than `threshold` % above it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub spike: bool,
    /// How loud.
    #[serde(default)]
    pub severity: Severity,
    /// How long the condition must hold before the rule fires.
    #[serde(rename = "for", default)]
    pub hold: Span,
    /// Switched off rules are kept but not evaluated.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A URL to POST each firing and resolution to (Slack-compatible JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn yes() -> bool {
    true
}

impl Rule {
    /// What is wrong with the rule, if anything (beyond what the file's types check).
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() {
            return Some("the name is empty".into());
        }
        if self.window.0.is_zero() {
            return Some("window: must be longer than zero".into());
        }
        if !self.threshold.is_finite() {
            return Some("threshold: must be a number".into());
        }
        for (field, globs) in [("models", &self.models), ("services", &self.services)] {
            for g in globs {
                if let Err(e) = globset::Glob::new(g) {
                    return Some(format!("{field}: {g:?} is not a pattern: {e}"));
                }
            }
        }
        if let Some(url) = &self.webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Some(format!("webhook: {url:?} is not an http(s) URL"));
        }
        None
    }
}

/// The rules file: `[[rule]]` tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// The rules, in the order written.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

impl Rules {
    /// The rules shipped: p95 latency over 1 s (warning), error rate over 1 % (warning)
    /// and over 5 % (critical), cost per hour 50 % above its 24 h average (info).
    pub fn defaults() -> Rules {
        let rule = |name: &str, metric, threshold, severity| Rule {
            name: name.into(),
            metric,
            models: Vec::new(),
            services: Vec::new(),
            per_model: false,
            window: Span(Duration::from_secs(300)),
            op: Comparison::Above,
            threshold,
            spike: false,
            severity,
            hold: Span(Duration::from_secs(60)),
            enabled: true,
            webhook: None,
        };
        Rules {
            rules: vec![
                rule(
                    "p95 latency over 1 s",
                    Metric::P95LatencyMs,
                    1000.0,
                    Severity::Warning,
                ),
                rule(
                    "error rate over 1%",
                    Metric::ErrorRate,
                    0.01,
                    Severity::Warning,
                ),
                rule(
                    "error rate over 5%",
                    Metric::ErrorRate,
                    0.05,
                    Severity::Critical,
                ),
                Rule {
                    spike: true,
                    window: Span(Duration::from_secs(900)),
                    hold: Span(Duration::ZERO),
                    ..rule("cost spike", Metric::CostPerHour, 50.0, Severity::Info)
                },
            ],
        }
    }

    /// Parses a rules file; errors name the line and the field.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let rules: Rules = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut names = std::collections::HashSet::new();
        for (i, r) in rules.rules.iter().enumerate() {
            let which = format!("rule {} ({:?})", i + 1, r.name);
            if let Some(p) = r.problem() {
                return Err(format!("{which}: {p}"));
            }
            if !names.insert(r.name.as_str()) {
                return Err(format!("{which}: another rule has this name"));
            }
        }
        Ok(rules)
    }

    /// Reads the rules file at `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Rules, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Rules::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Rules::defaults()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// The rules as the text of a rules file.
    pub fn to_toml(&self) -> String {
        let text = toml::to_string(self).expect("rules are plain TOML values");
        format!("# LLM Observatory alert rules\n\n{text}")
    }

    /// Writes the rules to `path` (creating its folder), whole or not at all.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        crate::output::write_file(
            path,
            self.to_toml().as_bytes(),
            crate::output::Replace::Allowed,
        )
        .map_err(|e| format!("cannot write the rules: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_round_trip_through_the_file_format() {
        let d = Rules::defaults();
        let text = toml::to_string(&d).unwrap();
        assert_eq!(Rules::parse(&text).unwrap(), d);
        assert!(text.contains("metric = \"p95_latency_ms\""), "{text}");
        assert!(text.contains("for = \"1m\""), "{text}");
    }

    #[test]
    fn metric_names_are_those_of_the_file_format() {
        for m in Metric::ALL {
            let text = toml::to_string(&Rules {
                rules: vec![Rule {
                    metric: m,
                    ..Rules::defaults().rules[0].clone()
                }],
            })
            .unwrap();
            assert!(
                text.contains(&format!("metric = \"{}\"", m.name())),
                "{text}"
            );
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
    }

    #[test]
    fn bad_files_name_the_line_and_the_field() {
        let bad_metric =
            "[[rule]]\nname = \"x\"\nmetric = \"p90\"\nwindow = \"5m\"\nthreshold = 1\n";
        let e = Rules::parse(bad_metric).unwrap_err();
        assert!(
            e.contains("line 3") && e.contains("p90") && e.contains("p95_latency_ms"),
            "{e}"
        );
        let bad_window =
            "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"five\"\nthreshold = 1\n";
        let e = Rules::parse(bad_window).unwrap_err();
        assert!(e.contains("line 4") && e.contains("not a duration"), "{e}");
        let unknown = "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5m\"\nthreshold = 1\nthreshhold = 2\n";
        let e = Rules::parse(unknown).unwrap_err();
        assert!(e.contains("line 6") && e.contains("threshhold"), "{e}");
        let missing = "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5m\"\n";
        let e = Rules::parse(missing).unwrap_err();
        assert!(e.contains("threshold"), "{e}");
        let dup = "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5m\"\nthreshold = 1\n[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5m\"\nthreshold = 1\n";
        let e = Rules::parse(dup).unwrap_err();
        assert!(e.contains("rule 2") && e.contains("another rule"), "{e}");
        let hook = "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5m\"\nthreshold = 1\nwebhook = \"ftp://x\"\n";
        assert!(Rules::parse(hook).unwrap_err().contains("webhook"));
    }
}
