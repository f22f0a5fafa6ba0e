//! The state of each rule and scope, moved by each measurement: ok → pending (the
//! condition holds) → firing (it held for the rule's "for" duration) → resolved (it no
//! longer holds) → ok. Firing and resolving are the events that are stored and sent;
//! each happens once per episode.

use super::rules::{Comparison, Rule};
use crate::alerts::rules::MetricText;
use std::collections::BTreeMap;
use store::AlertEvent;

/// Where a rule and scope stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// The condition does not hold.
    #[default]
    Ok,
    /// The condition holds since this time (Unix ns), not yet for long enough.
    Pending(i64),
    /// Firing since this time.
    Firing(i64),
    /// Stopped firing at this time; back to ok when the condition still does not hold.
    Resolved(i64),
}

impl Phase {
    /// Name for people.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Ok => "ok",
            Phase::Pending(_) => "pending",
            Phase::Firing(_) => "firing",
            Phase::Resolved(_) => "resolved",
        }
    }
}

/// One measurement of a rule for one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// `all`, or the model when the rule is per model.
    pub scope: String,
    /// The value; `None` when there was nothing to measure (no calls).
    pub value: Option<f64>,
    /// The threshold it is compared with (for a spike rule: the trailing average raised
    /// by the rule's percentage; `None` without a baseline).
    pub threshold: Option<f64>,
}

/// A rule and scope's state with what was last measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeState {
    /// The rule's name.
    pub rule: String,
    /// The scope.
    pub scope: String,
    /// Where it stands.
    pub phase: Phase,
    /// The last value measured.
    pub value: Option<f64>,
    /// The last threshold compared with.
    pub threshold: Option<f64>,
}

/// Every rule and scope's state.
#[derive(Debug, Default)]
pub struct Engine {
    states: BTreeMap<(String, String), ScopeState>,
}

impl Engine {
    /// Moves the states of `rule` by this round's measurements at `now_ns`; returns the
    /// events (fired, resolved). Scopes not measured this round count as not breaching.
    pub fn observe(&mut self, rule: &Rule, measured: &[Measured], now_ns: i64) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        let mut seen = Vec::new();
        for m in measured {
            seen.push(m.scope.clone());
            let breached = match (m.value, m.threshold) {
                (Some(v), Some(t)) => {
                    let op = if rule.spike {
                        Comparison::Above
                    } else {
                        rule.op
                    };
                    op.breached(v, t)
                }
                _ => false,
            };
            let state = self
                .states
                .entry((rule.name.clone(), m.scope.clone()))
                .or_insert_with(|| ScopeState {
                    rule: rule.name.clone(),
                    scope: m.scope.clone(),
                    phase: Phase::Ok,
                    value: None,
                    threshold: None,
                });
            state.value = m.value;
            state.threshold = m.threshold;
            if let Some(e) = step(state, rule, breached, now_ns) {
                events.push(e);
            }
        }
        // Scopes that vanished (a model with no calls in the window) stop breaching.
        for state in self.states.values_mut() {
            if state.rule == rule.name && !seen.contains(&state.scope) {
                state.value = None;
                if let Some(e) = step(state, rule, false, now_ns) {
                    events.push(e);
                }
            }
        }
        events
    }

    /// Drops the states of rules no longer in `names` (deleted or renamed); a firing one
    /// resolves silently.
    pub fn keep_only(&mut self, names: &[&str]) {
        self.states
            .retain(|(rule, _), _| names.contains(&rule.as_str()));
    }

    /// Every state, by rule and scope.
    pub fn states(&self) -> Vec<ScopeState> {
        self.states.values().cloned().collect()
    }
}

/// One transition; the event when it fired or resolved.
fn step(state: &mut ScopeState, rule: &Rule, breached: bool, now: i64) -> Option<AlertEvent> {
    let hold = rule.hold.0.as_nanos() as i64;
    let (next, event) = match (state.phase, breached) {
        (Phase::Ok | Phase::Resolved(_), true) if hold == 0 => (Phase::Firing(now), Some("firing")),
        (Phase::Ok | Phase::Resolved(_), true) => (Phase::Pending(now), None),
        (Phase::Pending(since), true) if now - since >= hold => {
            (Phase::Firing(now), Some("firing"))
        }
        (Phase::Pending(since), true) => (Phase::Pending(since), None),
        (Phase::Pending(_), false) => (Phase::Ok, None),
        (Phase::Firing(since), true) => (Phase::Firing(since), None),
        (Phase::Firing(_), false) => (Phase::Resolved(now), Some("resolved")),
        (Phase::Resolved(at), false) => (Phase::Resolved(at), None),
        (Phase::Ok, false) => (Phase::Ok, None),
    };
    state.phase = next;
    let kind = event?;
    let value = state
        .value
        .map_or("no data".to_string(), |v| rule.metric.format(v));
    let threshold = state.threshold.unwrap_or(rule.threshold);
    let message = format!(
        "{} {kind}: {} is {value} ({} {}){}",
        rule.name,
        rule.metric.label(),
        if rule.spike { ">" } else { rule.op.symbol() },
        rule.metric.format(threshold),
        if state.scope == "all" {
            String::new()
        } else {
            format!(" for {}", state.scope)
        }
    );
    Some(AlertEvent {
        time_ns: now,
        rule: rule.name.clone(),
        scope: state.scope.clone(),
        state: kind.to_string(),
        severity: rule.severity.name().to_string(),
        metric: rule.metric.name().to_string(),
        value: state.value,
        threshold,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::super::rules::{Metric, Rules, Span};
    use super::*;
    use std::time::Duration;

    const S: i64 = 1_000_000_000;

    fn rule() -> Rule {
        Rule {
            hold: Span(Duration::from_secs(60)),
            ..Rules::defaults().rules[0].clone()
        }
    }

    fn at(value: f64) -> Vec<Measured> {
        vec![Measured {
            scope: "all".into(),
            value: Some(value),
            threshold: Some(1000.0),
        }]
    }

    #[test]
    fn fires_once_after_holding_and_resolves_once() {
        let r = rule();
        assert_eq!(r.metric, Metric::P95LatencyMs);
        let mut e = Engine::default();
        let mut events = Vec::new();
        // Breaching from t=10 s to t=100 s, checked every 10 s.
        for t in 0..20 {
            let v = if (1..=10).contains(&t) { 2000.0 } else { 500.0 };
            events.extend(e.observe(&r, &at(v), t * 10 * S));
        }
        let kinds: Vec<(&str, i64)> = events
            .iter()
            .map(|e| (e.state.as_str(), e.time_ns / S))
            .collect();
        assert_eq!(kinds, vec![("firing", 70), ("resolved", 110)]);
        assert_eq!(events[0].value, Some(2000.0));
        assert!(
            events[0]
                .message
                .contains("p95 latency is 2.00 s (> 1.00 s)"),
            "{}",
            events[0].message
        );
    }

    #[test]
    fn a_blip_shorter_than_the_hold_never_fires() {
        let r = rule();
        let mut e = Engine::default();
        let mut events = e.observe(&r, &at(5000.0), 0);
        events.extend(e.observe(&r, &at(5000.0), 30 * S));
        events.extend(e.observe(&r, &at(10.0), 61 * S));
        events.extend(e.observe(&r, &at(5000.0), 62 * S));
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(e.states()[0].phase, Phase::Pending(62 * S));
    }

    #[test]
    fn a_scope_that_vanishes_resolves() {
        let r = Rule {
            hold: Span(Duration::ZERO),
            per_model: true,
            ..rule()
        };
        let mut e = Engine::default();
        let m = |scope: &str| Measured {
            scope: scope.into(),
            value: Some(3000.0),
            threshold: Some(1000.0),
        };
        let fired = e.observe(&r, &[m("a"), m("b")], 0);
        assert_eq!(fired.len(), 2);
        let resolved = e.observe(&r, &[m("a")], 10 * S);
        assert_eq!(resolved.len(), 1);
        assert_eq!(
            (resolved[0].scope.as_str(), resolved[0].state.as_str()),
            ("b", "resolved")
        );
    }
}
