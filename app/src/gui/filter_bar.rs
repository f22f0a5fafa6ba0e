//! The filter bar that drives every panel: time range with "follow live", models by
//! name or wildcard, status, service and free-text search.

use super::filter_state::{FilterState, RangePreset, StatusChoice};
use egui::{ComboBox, RichText, TextEdit, Ui};

/// Draws the bar. `error` is the last resolution error (a bad custom time or pattern),
/// shown inline. `pattern` is the model pattern being typed.
pub fn filter_bar(
    ui: &mut Ui,
    state: &mut FilterState,
    pattern: &mut String,
    models: &[String],
    services: &[String],
    error: Option<&str>,
    now_ns: i64,
) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Range").strong());
        for preset in RangePreset::ALL {
            if ui
                .selectable_label(state.range == preset, preset.label())
                .clicked()
            {
                state.range = preset;
                if preset == RangePreset::Custom && state.custom_from.is_empty() {
                    state.custom_from = crate::format::local_time(now_ns - 3_600_000_000_000);
                }
            }
        }
        if state.range == RangePreset::Custom {
            let l = ui.label("from");
            ui.add(TextEdit::singleline(&mut state.custom_from).desired_width(150.0))
                .labelled_by(l.id);
            let l = ui.label("to");
            ui.add(
                TextEdit::singleline(&mut state.custom_to)
                    .hint_text("now")
                    .desired_width(150.0),
            )
            .labelled_by(l.id);
        } else if state.range != RangePreset::All {
            let mut live = state.follow_live;
            if ui
                .checkbox(&mut live, "Follow live")
                .on_hover_text("Keep the range ending now as time passes")
                .changed()
            {
                state.follow_live = live;
                state.paused_at_ns = (!live).then_some(now_ns);
            }
        }
        ui.separator();
        model_picker(ui, state, pattern, models);
        ui.separator();
        let l = ui.label("Status");
        ComboBox::from_id_salt("status_filter")
            .selected_text(match state.status {
                StatusChoice::All => "All",
                StatusChoice::Ok => "OK",
                StatusChoice::Error => "Errors",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.status, StatusChoice::All, "All");
                ui.selectable_value(&mut state.status, StatusChoice::Ok, "OK");
                ui.selectable_value(&mut state.status, StatusChoice::Error, "Errors");
            })
            .response
            .labelled_by(l.id);
        let l = ui.label("Service");
        ComboBox::from_id_salt("service_filter")
            .selected_text(if state.service.is_empty() {
                "All"
            } else {
                state.service.as_str()
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.service, String::new(), "All");
                for s in services {
                    ui.selectable_value(&mut state.service, s.clone(), s);
                }
            })
            .response
            .labelled_by(l.id);
        ui.separator();
        let l = ui.label("Search");
        ui.add(
            TextEdit::singleline(&mut state.text)
                .hint_text("words in prompts and responses")
                .desired_width(220.0),
        )
        .labelled_by(l.id);
        drill_chips(ui, state);
        if let Some(e) = error {
            ui.colored_label(super::palette::BAD, e);
        }
    });
}

/// The models menu: a checkbox per stored model, and wildcard patterns.
fn model_picker(ui: &mut Ui, state: &mut FilterState, pattern: &mut String, models: &[String]) {
    let title = match state.models.len() {
        0 => "Models: all".to_string(),
        1 => format!("Model: {}", state.models[0]),
        n => format!("Models: {n} selected"),
    };
    // Stays open while boxes are ticked: it is a multi-select.
    let config = egui::containers::menu::MenuConfig::new()
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
    egui::containers::menu::MenuButton::new(title)
        .config(config)
        .ui(ui, |ui| {
            ui.set_min_width(240.0);
            if ui.button("All models").clicked() {
                state.models.clear();
            }
            ui.separator();
            for m in models {
                let mut on = state.models.contains(m);
                if ui.checkbox(&mut on, m).changed() {
                    if on {
                        state.models.push(m.clone());
                    } else {
                        state.models.retain(|x| x != m);
                    }
                }
            }
            for p in state.models.clone() {
                if !models.contains(&p) {
                    let mut on = true;
                    if ui.checkbox(&mut on, format!("pattern {p}")).changed() && !on {
                        state.models.retain(|x| *x != p);
                    }
                }
            }
            ui.separator();
            ui.horizontal(|ui| {
                let l = ui.label("Pattern");
                let edit = ui
                    .add(
                        TextEdit::singleline(pattern)
                            .hint_text("gpt-*")
                            .desired_width(120.0),
                    )
                    .labelled_by(l.id);
                let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Add").clicked() || enter) && !pattern.trim().is_empty() {
                    let p = pattern.trim().to_string();
                    if !state.models.contains(&p) {
                        state.models.push(p);
                    }
                    pattern.clear();
                }
            });
        });
}

/// The conditions a drill-down added (latency band, error type, a user), each with a
/// button to drop it.
fn drill_chips(ui: &mut Ui, state: &mut FilterState) {
    if let Some((from, to)) = state.latency_ms {
        ui.separator();
        let text = match to {
            Some(to) => format!(
                "latency {} – {}",
                crate::format::millis(from),
                crate::format::millis(to)
            ),
            None => format!("latency > {}", crate::format::millis(from)),
        };
        ui.label(text);
        if ui
            .small_button("Clear latency")
            .on_hover_text("Drop the latency condition")
            .clicked()
        {
            state.latency_ms = None;
        }
    }
    if let Some(e) = state.error_type.clone() {
        ui.separator();
        ui.label(format!("error: {e}"));
        if ui
            .small_button("Clear error type")
            .on_hover_text("Drop the error type condition")
            .clicked()
        {
            state.error_type = None;
        }
    }
    if let Some(u) = state.user.clone() {
        ui.separator();
        ui.label(format!("user: {u}"));
        if ui
            .small_button("Clear user")
            .on_hover_text("Show every user's calls again")
            .clicked()
        {
            state.user = None;
        }
    }
}
