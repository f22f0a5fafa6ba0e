//! Small tables: the model breakdown and trace lists of the Overview.

use crate::gui::format;
use crate::gui::palette;
use egui::{Grid, RichText, Sense, Ui, Vec2};
use store::{ModelRow, TraceRow};

/// What a click in the model table asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelClick {
    /// Show only this model.
    Model(String),
    /// Show this model's failed calls' traces.
    Errors(String),
}

/// The model breakdown: requests, share, tokens, average latency, cost, errors.
pub fn model_table(ui: &mut Ui, rows: &[ModelRow], all_models: &[String]) -> Option<ModelClick> {
    let total: u64 = rows.iter().map(|r| r.calls).sum();
    let mut clicked = None;
    Grid::new("model_table")
        .striped(true)
        .num_columns(7)
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Model",
                "Requests",
                "Share",
                "Tokens",
                "Avg latency",
                "Cost",
                "Errors",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for r in rows {
                ui.horizontal(|ui| {
                    let (rect, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                    ui.painter()
                        .rect_filled(rect, 2.0, palette::model_color(&r.model, all_models));
                    if ui
                        .link(&r.model)
                        .on_hover_text("Show only this model")
                        .clicked()
                    {
                        clicked = Some(ModelClick::Model(r.model.clone()));
                    }
                });
                ui.label(format::integer(r.calls));
                ui.label(format::percent(if total == 0 {
                    0.0
                } else {
                    r.calls as f64 / total as f64
                }));
                ui.label(format::count((r.input_tokens + r.output_tokens) as f64));
                ui.label(format::millis(r.avg_ms));
                let cost = ui.label(format::usd(r.cost_usd));
                if r.unpriced_calls > 0 {
                    cost.on_hover_text(format!(
                        "{} calls have no price for this model",
                        format::integer(r.unpriced_calls)
                    ));
                }
                if r.errors == 0 {
                    ui.label("0");
                } else if ui
                    .link(
                        RichText::new(format!(
                            "{} ({})",
                            format::integer(r.errors),
                            format::percent(r.errors as f64 / r.calls.max(1) as f64)
                        ))
                        .color(palette::BAD),
                    )
                    .on_hover_text("Show the traces of these failed calls")
                    .clicked()
                {
                    clicked = Some(ModelClick::Errors(r.model.clone()));
                }
                ui.end_row();
            }
        });
    clicked
}

/// A short list of traces: start, root span, service, duration, LLM calls, cost, status.
/// Returns the trace whose start was clicked (to open it).
pub fn trace_list(ui: &mut Ui, id: &str, rows: &[TraceRow]) -> Option<String> {
    let mut open = None;
    Grid::new(id)
        .striped(true)
        .num_columns(7)
        .spacing([14.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Start",
                "Root span",
                "Service",
                "Duration",
                "LLM calls",
                "Cost",
                "Status",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for t in rows {
                if ui
                    .link(format::local_time(t.start_ns))
                    .on_hover_text(format!("Open trace {}", t.trace_id))
                    .clicked()
                {
                    open = Some(t.trace_id.clone());
                }
                ui.label(&t.root_name);
                ui.label(&t.service);
                ui.label(format::millis(t.duration_ns as f64 / 1e6));
                ui.label(format::integer(t.llm_calls));
                ui.label(format::usd(t.cost_usd));
                if t.has_error {
                    ui.label(RichText::new("error").color(palette::BAD));
                } else {
                    ui.label(RichText::new("ok").color(palette::GOOD));
                }
                ui.end_row();
            }
        });
    open
}
