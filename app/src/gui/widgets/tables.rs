//! The Overview's tables: the model breakdown (exportable) and the trace lists.

use super::data_table::{TableLook, data_table};
use crate::gui::export::FileKind;
use crate::gui::export::table::{Cell, Column, TableData};
use crate::gui::format;
use crate::gui::palette;
use egui::{Grid, RichText, Ui};
use store::{ModelRow, TraceRow};

/// What a click in the model table asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelClick {
    /// Show only this model.
    Model(String),
    /// Show this model's failed calls' traces.
    Errors(String),
}

/// The model breakdown as a table: requests, share, tokens, average latency, cost,
/// errors (the error count shown with its rate).
pub fn model_breakdown(rows: &[ModelRow]) -> TableData {
    let total: u64 = rows.iter().map(|r| r.calls).sum();
    let col = |title, key| Column { title, key };
    TableData {
        title: "Models".into(),
        columns: vec![
            col("Model", "model"),
            col("Requests", "requests"),
            col("Share", "share"),
            col("Tokens", "tokens"),
            col("Avg latency", "avg_ms"),
            col("Cost", "cost_usd"),
            col("Errors", "errors"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                let share = if total == 0 {
                    0.0
                } else {
                    r.calls as f64 / total as f64
                };
                let tokens = r.input_tokens + r.output_tokens;
                let errors = if r.errors == 0 {
                    "0".to_string()
                } else {
                    format!(
                        "{} ({})",
                        format::integer(r.errors),
                        format::percent(r.errors as f64 / r.calls.max(1) as f64)
                    )
                };
                vec![
                    Cell::text(&r.model),
                    Cell::count(format::integer(r.calls), r.calls),
                    Cell::number(format::percent(share), share),
                    Cell::count(format::count(tokens as f64), tokens),
                    Cell::number(format::millis(r.avg_ms), r.avg_ms),
                    Cell::number(format::usd(r.cost_usd), r.cost_usd),
                    Cell::count(errors, r.errors),
                ]
            })
            .collect(),
    }
}

/// Draws the model breakdown; a click on a model asks to filter by it, on an error
/// count for those failures' traces. Returns that and an export asked for.
pub fn model_table(
    ui: &mut Ui,
    table: &TableData,
    all_models: &[String],
) -> (Option<ModelClick>, Option<FileKind>) {
    let swatch = |row: &[Cell]| Some(palette::model_color(&row[0].shown, all_models));
    let tint = |row: &[Cell], col: usize| {
        (col == 6 && row[6].value.as_u64().is_some_and(|e| e > 0)).then_some(palette::BAD)
    };
    let r = data_table(
        ui,
        "model_table",
        table,
        &TableLook {
            links: &[0, 6],
            link_if: Some(&|row: &[Cell], col: usize| {
                col != 6 || row[6].value.as_u64().is_some_and(|e| e > 0)
            }),
            swatch: Some(&swatch),
            tint: Some(&tint),
        },
    );
    let click = r.clicked.and_then(|(row, col)| match col {
        0 => Some(ModelClick::Model(row[0].shown.clone())),
        6 if row[6].value.as_u64().is_some_and(|e| e > 0) => {
            Some(ModelClick::Errors(row[0].shown.clone()))
        }
        _ => None,
    });
    (click, r.export)
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
