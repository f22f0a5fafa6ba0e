//! The Overview's tables: the model breakdown (exportable) and the trace lists.

use super::data_table::{TableLook, data_table};
use crate::format;
use crate::gui::export::FileKind;
use crate::gui::export::table::{Cell, Column, TableData};
use crate::gui::palette;
use egui::Ui;
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

/// A short list of traces as a table: start, trace (short id shown, full id exported),
/// root span, duration, LLM calls, cost, status (the service is in the Traces view; here
/// it would push the status off a half-width column).
pub fn trace_table(title: &str, rows: &[TraceRow]) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: title.into(),
        columns: vec![
            col("Start", "start"),
            col("Trace", "trace_id"),
            col("Root span", "root_span"),
            col("Duration", "duration_ms"),
            col("LLM calls", "llm_calls"),
            col("Cost", "cost_usd"),
            col("Status", "status"),
        ],
        rows: rows
            .iter()
            .map(|t| {
                let ms = t.duration_ns as f64 / 1e6;
                vec![
                    Cell::text(format::local_time(t.start_ns)),
                    Cell {
                        shown: t.trace_id.chars().take(8).collect(),
                        value: t.trace_id.clone().into(),
                    },
                    Cell::text(&t.root_name),
                    Cell::number(format::millis(ms), ms),
                    Cell::count(format::integer(t.llm_calls), t.llm_calls),
                    Cell::number(format::usd(t.cost_usd), t.cost_usd),
                    Cell::text(if t.has_error { "error" } else { "ok" }),
                ]
            })
            .collect(),
    }
}

/// Draws a trace table; returns the trace clicked (to open it) and an export asked for.
pub fn trace_list(ui: &mut Ui, id: &str, table: &TableData) -> (Option<String>, Option<FileKind>) {
    let status = table.columns.len() - 1;
    let tint = move |row: &[Cell], col: usize| match (col == status, row[status].shown.as_str()) {
        (true, "error") => Some(palette::BAD),
        (true, _) => Some(palette::GOOD),
        _ => None,
    };
    let r = data_table(
        ui,
        id,
        table,
        &TableLook {
            links: &[0, 1],
            link_if: None,
            swatch: None,
            tint: Some(&tint),
        },
    );
    let open = r
        .clicked
        .and_then(|(row, _)| row[1].value.as_str().map(str::to_string));
    (open, r.export)
}
