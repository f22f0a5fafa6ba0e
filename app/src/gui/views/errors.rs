//! Errors: the error rate against its thresholds, the rate over time, and the top
//! errors by type and model (count, share, last seen, an example message) — click one
//! to see the traces of those failures.

use crate::gui::export::ExportItem;
use crate::gui::export::chart::{BandOf, ChartBand, ChartData, ChartKind, Series};
use crate::gui::export::table::{Cell, Column, TableData};
use super::bands;
use super::shared::{reading, chart_markers, chart_window, seconds, series, summary};
use super::{Action, Drill, View, ViewAction, ViewCtx};
use crate::gui::queries::TopErrors;
use crate::gui::widgets::data_table::{TableLook, data_table};
use crate::gui::widgets::gauge::gauge;
use crate::gui::widgets::health::{ERROR_RATE_BAD, ERROR_RATE_WARN};
use crate::gui::widgets::series_chart::time_chart;
use crate::gui::palette;
use crate::format;
use egui::{ScrollArea, Ui};
use std::collections::BTreeMap;
use store::anomaly::{Judgement, Metric};
use store::{SeriesPoint, TopError};

/// Error kinds listed.
const TOP_ERRORS: u64 = 50;

/// The error rate, its course over time, and the top errors.
#[derive(Default)]
pub struct ErrorsView;

impl View for ErrorsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let ViewCtx { cache, resolved, .. } = *ctx;
        let mut action = ViewAction::default();
        let summary = summary(cache, resolved);
        let window = chart_window(resolved, summary.as_deref(), 60);
        let series = window.and_then(|(_, bucket)| series(cache, resolved, bucket));
        let top = cache.get::<TopErrors>((resolved.filter.clone(), TOP_ERRORS));
        ScrollArea::vertical().show(ui, |ui| {
            if let Some(e) = &top.error {
                ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            }
            let (Some(s), Some(top)) = (summary.as_deref(), top.value.as_deref()) else {
                reading(ui);
                return;
            };
            action.showed_data = true;
            let rate = s.errors as f64 / s.llm_calls.max(1) as f64;
            ui.label(egui::RichText::new("Error rate").strong());
            ui.horizontal(|ui| {
                gauge(
                    ui,
                    "Error rate",
                    rate,
                    ERROR_RATE_WARN,
                    ERROR_RATE_BAD,
                    (ERROR_RATE_BAD * 2.0).max(rate * 1.2),
                );
                ui.vertical(|ui| {
                    ui.label(format!(
                        "{} failed of {} LLM calls",
                        format::integer(s.errors),
                        format::integer(s.llm_calls)
                    ));
                    ui.label(format!(
                        "Warning at {}, critical at {}",
                        format::percent(ERROR_RATE_WARN),
                        format::percent(ERROR_RATE_BAD)
                    ));
                });
            });
            ui.add_space(10.0);
            if let (Some((w, bucket)), Some(points)) = (window, series.as_deref()) {
                let mut chart = rate_chart(points, seconds(w));
                chart.markers = chart_markers(cache, seconds(w));
                if let Some(j) = bands::judgement(cache, &resolved.filter, w, bucket) {
                    chart.bands = error_rate_band(&j, points).into_iter().collect();
                }
                let r = time_chart(ui, "error_rate_over_time", &chart, 200.0);
                action.annotate_if(r.annotate);
                action.export_if(r.export, || ExportItem::Chart(chart.clone()));
                if let Some(x) = r.clicked_x {
                    action.push(Action::Drill(Drill {
                        errors: Some(None),
                        ..Drill::bucket_at(x, bucket)
                    }));
                }
            }
            ui.add_space(12.0);
            let table = top_errors_table(top);
            let tint = |_: &[Cell], col: usize| (col == 0).then_some(palette::BAD);
            let r = data_table(
                ui,
                "top_errors",
                &table,
                &TableLook {
                    links: &[2],
                    link_if: None,
                    swatch: None,
                    tint: Some(&tint),
                },
            );
            action.export_if(r.export, || ExportItem::Table(table.clone()));
            if let Some((row, _)) = r.clicked {
                action.push(Action::Drill(Drill {
                    model: Some(row[1].shown.clone()),
                    errors: Some(Some(row[0].shown.clone())),
                    ..Drill::default()
                }));
            }
        });
        action
    }
}

/// Failed calls as a share of all calls, per bucket.
fn rate_chart(points: &[SeriesPoint], window: (f64, f64)) -> ChartData {
    let mut sums: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    for p in points {
        let s = sums.entry(p.bucket_start_ns).or_default();
        s.0 += p.errors;
        s.1 += p.requests;
    }
    ChartData {
        title: "Error rate over time".into(),
        kind: ChartKind::Lines(vec![Series {
            name: "error rate".into(),
            color: palette::BAD,
            points: sums
                .iter()
                .map(|(b, (e, n))| [*b as f64 / 1e9, *e as f64 / (*n).max(1) as f64])
                .collect(),
        }]),
        unit: format::percent,
        window: Some(window),
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

/// The band of the error count of all calls as a share of each bucket's calls: a rate
/// is ringed exactly when its bucket's error count is outside its band.
fn error_rate_band(judged: &Judgement, points: &[SeriesPoint]) -> Option<ChartBand> {
    let mut calls: BTreeMap<i64, u64> = BTreeMap::new();
    for p in points {
        *calls.entry(p.bucket_start_ns).or_default() += p.requests;
    }
    bands::band(
        judged,
        (Metric::Errors, None),
        BandOf::Series("error rate".into()),
        palette::BAD,
        |start, v| {
            let n = *calls.get(&start)?;
            (n > 0).then(|| v / n as f64)
        },
    )
}

/// The top errors as a table.
pub fn top_errors_table(rows: &[TopError]) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: "Top errors".into(),
        columns: vec![
            col("Error type", "error_type"),
            col("Model", "model"),
            col("Count", "count"),
            col("Share", "share"),
            col("Last seen", "last_seen"),
            col("Example message", "example_message"),
        ],
        rows: rows
            .iter()
            .map(|e| {
                vec![
                    Cell::text(&e.error_type),
                    Cell::text(&e.model),
                    Cell::count(format::integer(e.count), e.count),
                    Cell::number(format::percent(e.share), e.share),
                    Cell::text(format::local_time(e.last_seen_ns)),
                    Cell {
                        shown: clip(e.example_message.as_deref().unwrap_or(""), 90),
                        value: e.example_message.clone().into(),
                    },
                ]
            })
            .collect(),
    }
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > max || line.len() < text.len() {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}
