//! Alerts in the window: the evaluator on the open database, rule edits put in force
//! and saved, and the banner of firing alerts with its drill-down.

use super::super::alert_banner::{BannerClick, Firing, alert_banner};
use super::super::filter_state::StatusChoice;
use super::super::session::Session;
use super::super::views::Drill;
use super::super::views::traces::TRACES;
use super::ObservatoryApp;
use crate::alerts::{Evaluator, Notifier, Rules};
use egui::Ui;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// The rules, their evaluator and notifier, and the firings the user dismissed.
pub(super) struct AlertState {
    /// The rules in force, shared with the evaluator.
    pub(super) rules: Arc<RwLock<Rules>>,
    /// Evaluates the rules on the open database.
    pub(super) evaluator: Option<Evaluator>,
    /// Sends desktop and webhook notifications.
    pub(super) notifier: Option<Notifier>,
    /// Firings the user dismissed from the banner.
    pub(super) dismissed: HashSet<Firing>,
}

impl ObservatoryApp {
    /// Starts evaluating the rules on `session`'s database.
    pub(super) fn start_alerts(&mut self, session: &Session) {
        let (Some(setup), Some(notifier)) = (&self.start.alerts, &self.alerts.notifier) else {
            return;
        };
        let ctx = self.ctx.clone();
        match Evaluator::start(
            session.store.as_ref(),
            session
                .writer
                .clone()
                .map(|w| w as Arc<dyn store::AlertLog>),
            self.alerts.rules.clone(),
            notifier.clone(),
            setup.every,
            move |_| ctx.request_repaint(),
        ) {
            Ok(e) => self.alerts.evaluator = Some(e),
            Err(e) => self.messages.notices.push(format!("Alerts are off: {e}")),
        }
    }

    /// Puts changed rules in force and saves them to the rules file.
    pub(super) fn set_rules(&mut self, rules: Rules) {
        *self.alerts.rules.write().expect("rules lock") = rules.clone();
        let saved = self.start.alerts.as_mut().and_then(|setup| {
            setup.rules = rules.clone();
            setup
                .file
                .as_ref()
                .map(|path| (path.clone(), rules.save(path)))
        });
        match saved {
            Some((path, Ok(()))) => self
                .messages
                .notice(format!("Alert rules saved to {}", path.display())),
            Some((_, Err(e))) => {
                self.messages.error =
                    Some(format!("The rules apply for now but were not saved: {e}"))
            }
            None => {}
        }
    }

    /// The banner of firing alerts, and what its buttons ask for.
    pub(super) fn alerts_banner(&mut self, ui: &mut Ui) {
        let Some(status) = self.alerts.evaluator.as_ref().map(|e| e.status()) else {
            return;
        };
        let rules = self.rules();
        match alert_banner(ui, &status, &rules, &self.alerts.dismissed) {
            Some(BannerClick::Dismiss(key)) => {
                self.alerts.dismissed.insert(key);
            }
            Some(BannerClick::ViewTraces(rule, scope)) => {
                use crate::alerts::rules::Metric;
                // The rule's scope replaces the selection; its window and condition
                // narrow it as a drill-down does.
                let f = &mut self.prefs.filter;
                f.models = if scope == "all" {
                    rule.models.clone()
                } else {
                    vec![scope]
                };
                f.service = rule.services.first().cloned().unwrap_or_default();
                f.status = StatusChoice::All;
                f.latency_ms = None;
                f.error_type = None;
                let now = crate::timearg::now_ns();
                let latency = matches!(rule.metric, Metric::P95LatencyMs | Metric::P99LatencyMs);
                self.drill(Drill {
                    period: Some((now - rule.window.0.as_nanos() as i64, now + 1_000_000_000)),
                    latency_ms: (latency && !rule.spike).then_some((rule.threshold, None)),
                    errors: (rule.metric == Metric::ErrorRate).then_some(None),
                    model: None,
                });
                self.nav.go_to(TRACES);
            }
            None => {}
        }
    }
}
