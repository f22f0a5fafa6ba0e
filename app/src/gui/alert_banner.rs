//! The banner over every view while alerts fire: one line per firing rule and scope,
//! coloured by severity, with "View traces" (the rule's scope and window in the Traces
//! view) and "Dismiss" (hides that firing until it fires again).

use super::palette;
use crate::alerts::engine::Phase;
use crate::alerts::rules::{MetricText, RuleText};
use crate::alerts::{AlertStatus, Rule, Rules};
use egui::{RichText, Ui};
use std::collections::HashSet;

/// Identifies one firing: rule, scope, since when.
pub type Firing = (String, String, i64);

/// What the user clicked in the banner.
pub enum BannerClick {
    /// Show the traces of this rule's scope over its window.
    ViewTraces(Rule, String),
    /// Hide this firing.
    Dismiss(Firing),
}

/// Draws the banner for the firing alerts not dismissed.
pub fn alert_banner(
    ui: &mut Ui,
    status: &AlertStatus,
    rules: &Rules,
    dismissed: &HashSet<Firing>,
) -> Option<BannerClick> {
    let mut click = None;
    for s in &status.states {
        let Phase::Firing(since) = s.phase else {
            continue;
        };
        let key = (s.rule.clone(), s.scope.clone(), since);
        if dismissed.contains(&key) {
            continue;
        }
        let Some(rule) = rules.rules.iter().find(|r| r.name == s.rule) else {
            continue;
        };
        let color = palette::severity(rule.severity.name());
        egui::Frame::new()
            .fill(color.gamma_multiply(0.25))
            .stroke(egui::Stroke::new(1.0, color))
            .corner_radius(4.0)
            .inner_margin(egui::Margin::symmetric(8, 4))
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(
                        RichText::new(rule.severity.name().to_uppercase())
                            .strong()
                            .color(color),
                    );
                    let value = s.value.map_or("no data".into(), |v| rule.metric.format(v));
                    let scope = if s.scope == "all" {
                        String::new()
                    } else {
                        format!(" · {}", s.scope)
                    };
                    ui.label(format!(
                        "{}{scope}: {} is {value} — {} (since {})",
                        rule.name,
                        rule.metric.label(),
                        rule.condition(),
                        crate::format::local_time(since)
                    ));
                    // Named after the rule, so that each banner's buttons can be told
                    // apart (by people using a screen reader, and by tests).
                    let named = |b: &egui::Response, what: &str| {
                        let name = format!("{what} of {}", rule.name);
                        b.widget_info(|| {
                            egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, &name)
                        });
                    };
                    let view = ui.button("View traces");
                    named(&view, "View traces");
                    if view.clicked() {
                        click = Some(BannerClick::ViewTraces(rule.clone(), s.scope.clone()));
                    }
                    let dismiss = ui.button("Dismiss");
                    named(&dismiss, "Dismiss the alert");
                    if dismiss.clicked() {
                        click = Some(BannerClick::Dismiss(key.clone()));
                    }
                });
            });
    }
    click
}
