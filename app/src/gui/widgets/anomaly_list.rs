//! The anomaly list: buckets whose figures fell outside their expected band (see
//! `store::anomaly`), worst first, each saying how far off and against what baseline; a
//! click names the bucket (and model) whose traces to show.

use super::data_table::{TableLook, data_table};
use crate::format;
use crate::gui::export::FileKind;
use crate::gui::export::table::{Cell, Column, TableData};
use crate::gui::palette;
use egui::Ui;
use store::anomaly::Anomaly;

/// The worst `shown` of the anomalies found as a table (also what its export writes).
pub fn anomaly_table(found: &[Anomaly], shown: usize) -> TableData {
    let col = |title, key| Column { title, key };
    let title = if found.len() > shown {
        format!("Anomalies (the worst {shown} of {})", found.len())
    } else {
        format!("Anomalies ({})", found.len())
    };
    let found = &found[..found.len().min(shown)];
    TableData {
        title,
        columns: vec![
            col("When", "bucket_start_ns"),
            col("Figure", "metric"),
            col("Model", "model"),
            col("Value", "value"),
            col("Expected", "expected"),
            col("Off by", "deviations"),
            col("Baseline", "baseline"),
        ],
        rows: found
            .iter()
            .map(|a| {
                vec![
                    Cell {
                        shown: format::local_time(a.bucket_start_ns),
                        value: a.bucket_start_ns.into(),
                    },
                    Cell::text(a.metric.label()),
                    Cell::text(a.model.as_deref().unwrap_or(ALL_MODELS)),
                    Cell::number(format::anomaly_value(a.metric, a.value), a.value),
                    Cell::number(
                        format!(
                            "{} ({}–{})",
                            format::anomaly_value(a.metric, a.band.expected),
                            format::anomaly_value(a.metric, a.band.low.max(0.0)),
                            format::anomaly_value(a.metric, a.band.high)
                        ),
                        a.band.expected,
                    ),
                    Cell::number(format!("{:.1}σ", a.deviations()), a.deviations()),
                    Cell::text(a.band.baseline.describe()),
                ]
            })
            .collect(),
    }
}

/// How the table names the anomalies of all calls.
const ALL_MODELS: &str = "all models";

/// Draws the table; returns the bucket start and model (`None`: all models) of a
/// clicked row, and an export asked for.
pub fn anomaly_list(
    ui: &mut Ui,
    table: &TableData,
) -> (Option<(i64, Option<String>)>, Option<FileKind>) {
    let above = |row: &[Cell], col: usize| {
        (col == 3 && row[3].value.as_f64() > row[4].value.as_f64()).then_some(palette::BAD)
    };
    let r = data_table(
        ui,
        "anomalies",
        table,
        &TableLook {
            links: &[0],
            link_if: None,
            swatch: None,
            tint: Some(&above),
        },
    );
    let clicked = r.clicked.and_then(|(row, _)| {
        let start = row[0].value.as_i64()?;
        let model = row[2].shown.clone();
        Some((start, (model != ALL_MODELS).then_some(model)))
    });
    (clicked, r.export)
}
