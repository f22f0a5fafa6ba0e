//! The Alerts view: every rule with its current state and value (switch on and off,
//! edit, delete, add), and the history of firings and resolutions from the database.
//! Rule changes are saved to the rules file at once and evaluated from the next round.

use crate::gui::cache::QueryCache;
use crate::gui::export::ExportItem;
use crate::gui::export::table::{Cell, Column, TableData};
use super::{Action, View, ViewAction, ViewCtx};
use crate::gui::queries::AlertHistory;
use crate::gui::widgets::data_table::{TableLook, data_table};
use crate::gui::palette;
use crate::format;
use crate::alerts::engine::{Phase, ScopeState};
use crate::alerts::rules::{Comparison, Metric, Severity, Span};
use crate::alerts::rules::{MetricText, RuleText};
use crate::alerts::{AlertStatus, Rule, Rules};
use egui::{ComboBox, Grid, RichText, ScrollArea, TextEdit, Ui};
use store::AlertEvent;


/// The view's own state: the rule being edited.
#[derive(Default)]
pub struct AlertsView {
    form: Option<RuleForm>,
}

/// A rule as typed in the form; `editing` is the index of the rule it replaces.
struct RuleForm {
    editing: Option<usize>,
    name: String,
    metric: Metric,
    models: String,
    services: String,
    per_model: bool,
    window: String,
    op: Comparison,
    threshold: String,
    spike: bool,
    severity: Severity,
    hold: String,
    webhook: String,
    enabled: bool,
    error: Option<String>,
}

impl RuleForm {
    fn from_rule(rule: &Rule, editing: Option<usize>) -> RuleForm {
        let dur = |s: Span| humantime::format_duration(s.0).to_string();
        RuleForm {
            editing,
            name: rule.name.clone(),
            metric: rule.metric,
            models: rule.models.join(", "),
            services: rule.services.join(", "),
            per_model: rule.per_model,
            window: dur(rule.window),
            op: rule.op,
            threshold: rule.threshold.to_string(),
            spike: rule.spike,
            severity: rule.severity,
            hold: dur(rule.hold),
            webhook: rule.webhook.clone().unwrap_or_default(),
            enabled: rule.enabled,
            error: None,
        }
    }

    /// The rule typed, or what is wrong with it (naming the field).
    fn rule(&self) -> Result<Rule, String> {
        let duration = |what: &str, text: &str| {
            humantime::parse_duration(text.trim())
                .map(Span)
                .map_err(|e| format!("{what}: {text:?} is not a duration ({e}); write e.g. 5m"))
        };
        let list = |text: &str| -> Vec<String> {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let threshold: f64 = self
            .threshold
            .trim()
            .parse()
            .map_err(|_| format!("Threshold: {:?} is not a number", self.threshold))?;
        let rule = Rule {
            name: self.name.trim().to_string(),
            metric: self.metric,
            models: list(&self.models),
            services: list(&self.services),
            per_model: self.per_model,
            window: duration("Window", &self.window)?,
            op: self.op,
            threshold,
            spike: self.spike,
            severity: self.severity,
            hold: duration("For", &self.hold)?,
            enabled: self.enabled,
            webhook: Some(self.webhook.trim().to_string()).filter(|w| !w.is_empty()),
        };
        match rule.problem() {
            Some(p) => Err(p),
            None => Ok(rule),
        }
    }
}

impl View for AlertsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        self.draw(ui, ctx.cache, ctx.rules, ctx.alert_status, ctx.rules_file)
    }
}

impl AlertsView {
    /// Draws the rules, the form and the history.
    fn draw(
        &mut self,
        ui: &mut Ui,
        cache: &QueryCache,
        rules: &Rules,
        status: Option<&AlertStatus>,
        rules_file: Option<&std::path::Path>,
    ) -> ViewAction {
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        let history = cache.get::<AlertHistory>(());
        ScrollArea::vertical().show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Alert rules").strong());
                if ui.button("Add rule").clicked() {
                    let mut blank = Rules::defaults().rules[0].clone();
                    blank.name = String::new();
                    self.form = Some(RuleForm::from_rule(&blank, None));
                }
            });
            match (rules_file, status) {
                (_, None) => {
                    ui.label(RichText::new("Alerts are off (--no-alerts)").weak());
                }
                (Some(p), Some(_)) => {
                    ui.label(
                        RichText::new(format!(
                            "Saved in {}; evaluated every few seconds",
                            p.display()
                        ))
                        .weak(),
                    );
                }
                (None, Some(_)) => {}
            }
            if let Some(e) = status.and_then(|s| s.error.as_ref()) {
                ui.colored_label(palette::BAD, format!("Evaluation failed: {e}"));
            }
            if let Some(changed) = self.rules_table(ui, rules, status) {
                action.push(Action::SetRules(changed));
            }
            if let Some(form) = &mut self.form {
                ui.add_space(8.0);
                match rule_form(ui, form, rules) {
                    FormOutcome::Open => {}
                    FormOutcome::Cancel => self.form = None,
                    FormOutcome::Save(updated) => {
                        action.push(Action::SetRules(updated));
                        self.form = None;
                    }
                }
            }
            ui.add_space(14.0);
            if let Some(e) = &history.error {
                ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            }
            let stored = history.value.as_deref().map(Vec::as_slice).unwrap_or(&[]);
            // A read-only database keeps no history: show this run's events instead.
            let events: Vec<AlertEvent> = if stored.is_empty() {
                status
                    .map(|s| s.events.iter().rev().cloned().collect())
                    .unwrap_or_default()
            } else {
                stored.to_vec()
            };
            let table = history_table(&events);
            let tint = |row: &[Cell], col: usize| match (col, row[1].shown.as_str()) {
                (1, "firing") => Some(palette::severity(&row[2].shown)),
                (1, "resolved") => Some(palette::GOOD),
                _ => None,
            };
            let r = data_table(
                ui,
                "alert_history",
                &table,
                &TableLook {
                    links: &[],
                    link_if: None,
                    swatch: None,
                    tint: Some(&tint),
                },
            );
            action.export_if(r.export, || ExportItem::Table(table.clone()));
        });
        action
    }

    /// The rules with their states; returns the rules changed by a click.
    fn rules_table(
        &mut self,
        ui: &mut Ui,
        rules: &Rules,
        status: Option<&AlertStatus>,
    ) -> Option<Rules> {
        let mut changed = None;
        Grid::new("alert_rules")
            .striped(true)
            .num_columns(8)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in [
                    "On",
                    "Rule",
                    "Condition",
                    "Severity",
                    "State",
                    "Value",
                    "",
                    "",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (i, rule) in rules.rules.iter().enumerate() {
                    let mut on = rule.enabled;
                    let toggle = ui.checkbox(&mut on, "");
                    toggle.widget_info(|| {
                        egui::WidgetInfo::selected(
                            egui::Role::CheckBox,
                            true,
                            on,
                            format!("Enable {}", rule.name),
                        )
                    });
                    if on != rule.enabled {
                        let mut next = rules.clone();
                        next.rules[i].enabled = on;
                        changed = Some(next);
                    }
                    ui.label(&rule.name);
                    ui.label(rule.condition());
                    ui.colored_label(palette::severity(rule.severity.name()), rule.severity.name());
                    let states: Vec<&ScopeState> = status
                        .map(|s| s.states.iter().filter(|st| st.rule == rule.name).collect())
                        .unwrap_or_default();
                    let (state, value) = state_text(rule, &states);
                    ui.label(state);
                    ui.label(value);
                    let edit = ui.button("Edit");
                    edit.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::Role::Button,
                            true,
                            format!("Edit {}", rule.name),
                        )
                    });
                    if edit.clicked() {
                        self.form = Some(RuleForm::from_rule(rule, Some(i)));
                    }
                    let delete = ui.button("Delete");
                    delete.widget_info(|| {
                        egui::WidgetInfo::labeled(
                            egui::Role::Button,
                            true,
                            format!("Delete {}", rule.name),
                        )
                    });
                    if delete.clicked() {
                        let mut next = rules.clone();
                        next.rules.remove(i);
                        changed = Some(next);
                    }
                    ui.end_row();
                }
            });
        changed
    }
}

/// The state of a rule (the worst of its scopes) and its value, for the table.
fn state_text(rule: &Rule, states: &[&ScopeState]) -> (RichText, String) {
    if !rule.enabled {
        return (RichText::new("off").weak(), String::new());
    }
    let worst = states.iter().max_by_key(|s| match s.phase {
        Phase::Firing(_) => 3,
        Phase::Pending(_) => 2,
        Phase::Resolved(_) => 1,
        Phase::Ok => 0,
    });
    let Some(s) = worst else {
        return (RichText::new("waiting").weak(), String::new());
    };
    let label = if states.len() > 1 {
        format!("{} ({})", s.phase.label(), s.scope)
    } else {
        s.phase.label().to_string()
    };
    let text = match s.phase {
        Phase::Firing(_) => RichText::new(label)
            .color(palette::severity(rule.severity.name()))
            .strong(),
        Phase::Pending(_) => RichText::new(label).color(palette::WARN),
        _ => RichText::new(label).color(palette::GOOD),
    };
    let value = s
        .value
        .map_or("no data".to_string(), |v| rule.metric.format(v));
    (text, value)
}

enum FormOutcome {
    Open,
    Cancel,
    Save(Rules),
}

/// The add / edit form.
fn rule_form(ui: &mut Ui, form: &mut RuleForm, rules: &Rules) -> FormOutcome {
    let mut outcome = FormOutcome::Open;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(
            RichText::new(if form.editing.is_some() {
                "Edit rule"
            } else {
                "New rule"
            })
            .strong(),
        );
        Grid::new("rule_form")
            .num_columns(2)
            .spacing([10.0, 4.0])
            .show(ui, |ui| {
                let text = |ui: &mut Ui, label: &str, value: &mut String, hint: &str| {
                    let l = ui.label(label);
                    ui.add(
                        TextEdit::singleline(value)
                            .hint_text(hint)
                            .desired_width(260.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                };
                text(ui, "Name", &mut form.name, "p95 latency over 1 s");
                choice(ui, "Metric", &mut form.metric, &Metric::ALL, Metric::label);
                choice(
                    ui,
                    "Comparison",
                    &mut form.op,
                    &Comparison::ALL,
                    Comparison::symbol,
                );
                text(
                    ui,
                    "Threshold",
                    &mut form.threshold,
                    "1000 (ms), 0.05 (5%), 2 (USD/h)…",
                );
                ui.label("");
                ui.checkbox(
                    &mut form.spike,
                    "Spike: threshold is % above the trailing 24 h average",
                );
                ui.end_row();
                text(ui, "Window", &mut form.window, "5m");
                text(ui, "For", &mut form.hold, "1m");
                choice(
                    ui,
                    "Severity",
                    &mut form.severity,
                    &Severity::ALL,
                    Severity::name,
                );
                text(
                    ui,
                    "Models",
                    &mut form.models,
                    "gpt-4o*, claude-* (all when empty)",
                );
                text(ui, "Services", &mut form.services, "all when empty");
                ui.label("");
                ui.checkbox(&mut form.per_model, "One alert per model");
                ui.end_row();
                text(
                    ui,
                    "Webhook",
                    &mut form.webhook,
                    "https://hooks.slack.com/… (optional)",
                );
                ui.label("");
                ui.checkbox(&mut form.enabled, "Enabled");
                ui.end_row();
            });
        if let Some(e) = &form.error {
            ui.colored_label(palette::BAD, e);
        }
        ui.horizontal(|ui| {
            if ui.button("Save rule").clicked() {
                match form.rule() {
                    Ok(rule) => {
                        let clash = rules
                            .rules
                            .iter()
                            .enumerate()
                            .any(|(i, r)| r.name == rule.name && Some(i) != form.editing);
                        if clash {
                            form.error =
                                Some(format!("Name: another rule is called {:?}", rule.name));
                        } else {
                            let mut next = rules.clone();
                            match form.editing {
                                Some(i) if i < next.rules.len() => next.rules[i] = rule,
                                _ => next.rules.push(rule),
                            }
                            outcome = FormOutcome::Save(next);
                        }
                    }
                    Err(e) => form.error = Some(e),
                }
            }
            if ui.button("Cancel").clicked() {
                outcome = FormOutcome::Cancel;
            }
        });
    });
    outcome
}

/// A labelled drop-down of `options` (one grid row).
fn choice<T: Copy + PartialEq>(
    ui: &mut Ui,
    label: &str,
    value: &mut T,
    options: &[T],
    name: fn(T) -> &'static str,
) {
    let l = ui.label(label);
    ComboBox::from_id_salt(("rule_form", label))
        .selected_text(name(*value))
        .show_ui(ui, |ui| {
            for &o in options {
                ui.selectable_value(value, o, name(o));
            }
        })
        .response
        .labelled_by(l.id);
    ui.end_row();
}

/// The history as a table, newest first, values in their metric's unit.
fn history_table(events: &[AlertEvent]) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: "Alert history".into(),
        columns: vec![
            col("Time", "time"),
            col("State", "state"),
            col("Severity", "severity"),
            col("Rule", "rule"),
            col("Scope", "scope"),
            col("Value", "value"),
            col("Threshold", "threshold"),
            col("Message", "message"),
        ],
        rows: events
            .iter()
            .map(|e| {
                let shown = |v: f64| match Metric::from_name(&e.metric) {
                    Some(m) => m.format(v),
                    None => format::count(v),
                };
                vec![
                    Cell::text(format::local_time(e.time_ns)),
                    Cell::text(&e.state),
                    Cell::text(&e.severity),
                    Cell::text(&e.rule),
                    Cell::text(&e.scope),
                    e.value
                        .map_or(Cell::text(""), |v| Cell::number(shown(v), v)),
                    Cell::number(shown(e.threshold), e.threshold),
                    Cell::text(&e.message),
                ]
            })
            .collect(),
    }
}
