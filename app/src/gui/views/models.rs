//! Models side by side: a sortable comparison table (rate, latency, errors, tokens, cost
//! per 1K tokens, total cost; time to first token and output speed when calls stream), token usage per model as stacked bars, and tokens over
//! time by kind.

use crate::gui::export::ExportItem;
use crate::gui::export::chart::{Bar, ChartData, ChartKind, Series};
use crate::gui::export::table::{Cell, Column, TableData};
use super::shared::{reading, chart_markers, chart_window, model_rows, per_model, seconds, series, summary};
use super::{View, ViewAction, ViewCtx};
use crate::gui::widgets::bars::bars;
use crate::gui::widgets::series_chart::time_chart;
use crate::gui::palette;
use crate::format;
use egui::{Color32, ScrollArea, Ui};
use std::collections::BTreeMap;
use crate::gui::queries::FirstToken;
use store::{FirstTokenSummary, ModelRow, SeriesPoint};

/// Colours of the token kinds, the same in every chart.
const INPUT: Color32 = palette::OKABE_ITO[0];
const CACHED: Color32 = palette::OKABE_ITO[2];
const OUTPUT: Color32 = palette::OKABE_ITO[1];

/// Models side by side: comparison table, token bars, tokens over time.
#[derive(Default)]
pub struct ModelsView;

impl View for ModelsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let ViewCtx { cache, resolved, models: all_models, .. } = *ctx;
        let mut action = ViewAction::default();
        let summary = summary(cache, resolved);
        let models = per_model(cache, resolved);
        let first = cache.get::<FirstToken>(resolved.filter.clone()).value;
        let window = chart_window(resolved, summary.as_deref(), 60);
        let series = window.map(|(_, bucket)| series(cache, resolved, bucket));
        ScrollArea::vertical().show(ui, |ui| {
            if let Some(e) = &models.error {
                ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            }
            let Some(rows) = models.value.as_deref() else {
                reading(ui);
                return;
            };
            action.showed_data = true;
            let secs = window.map_or(0.0, |((a, b), _)| (b - a) as f64 / 1e9);
            let streamed = first.as_deref().filter(|f| f.calls > 0);
            let table = comparison_table(rows, secs, streamed);
            let tint = |row: &[Cell], col: usize| {
                (col == 5 && row[5].value.as_f64().is_some_and(|v| v > 0.0)).then_some(palette::BAD)
            };
            model_rows(ui, "model_comparison", &table, all_models, Some(&tint), &mut action);
            ui.add_space(12.0);
            let usage = token_bars(rows);
            let export = bars(ui, &usage);
            action.export_if(export, || ExportItem::Chart(usage.clone()));
            ui.add_space(12.0);
            if let (Some(((from, to), bucket)), Some(Some(points))) = (window, &series) {
                let mut chart = tokens_over_time(points, bucket, seconds((from, to)));
                chart.markers = chart_markers(cache, seconds((from, to)));
                let r = time_chart(ui, "tokens_over_time", &chart, 220.0);
                action.annotate_if(r.annotate);
                action.export_if(r.export, || ExportItem::Chart(chart.clone()));
            }
        });
        action
    }
}

/// The comparison table: one row per model; with `streamed` (some calls report a first
/// token), each model's time to first token p95 and median output speed after its
/// error rate.
pub fn comparison_table(
    rows: &[ModelRow],
    window_s: f64,
    streamed: Option<&FirstTokenSummary>,
) -> TableData {
    let mut table = comparison(rows, window_s);
    let Some(streamed) = streamed else {
        return table;
    };
    let at = 6;
    table.columns.insert(at, Column { title: "TTFT p95", key: "ttft_p95_ms" });
    table.columns.insert(at + 1, Column { title: "Output tok/s", key: "output_tps_p50" });
    for (row, model) in table.rows.iter_mut().zip(rows) {
        let first = streamed.by_model.iter().find(|m| m.model == model.model);
        let ttft = match first {
            Some(m) => Cell::number(format::percentile(m.ttft_ms[1], streamed.approximate), m.ttft_ms[1]),
            None => Cell::text("—"),
        };
        let speed = match first.and_then(|m| m.output_tps_p50) {
            Some(v) => Cell::number(format::count(v), v),
            None => Cell::text("—"),
        };
        row.insert(at, ttft);
        row.insert(at + 1, speed);
    }
    table
}

fn comparison(rows: &[ModelRow], window_s: f64) -> TableData {
    let col = |title, key| Column { title, key };
    let tokens = |v: u64| Cell::count(format::count(v as f64), v);
    TableData {
        title: "Model comparison".into(),
        columns: vec![
            col("Model", "model"),
            col("Provider", "provider"),
            col("Requests/s", "requests_per_s"),
            col("Avg latency", "avg_ms"),
            col("p95 latency", "p95_ms"),
            col("Errors", "error_rate"),
            col("Tokens in", "input_tokens"),
            col("Tokens out", "output_tokens"),
            col("Cached", "cache_read_tokens"),
            col("Cost/1K tokens", "cost_per_1k_tokens_usd"),
            col("Cost", "cost_usd"),
            col("Served as", "served"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                let rate = if window_s > 0.0 {
                    r.calls as f64 / window_s
                } else {
                    0.0
                };
                let error_rate = r.errors as f64 / r.calls.max(1) as f64;
                let all_tokens = r.input_tokens + r.output_tokens;
                let per_1k = if all_tokens > 0 {
                    r.cost_usd / all_tokens as f64 * 1000.0
                } else {
                    0.0
                };
                let cost_shown = if r.unpriced_calls > 0 {
                    format!("{} (unpriced)", format::usd(r.cost_usd))
                } else {
                    format::usd(r.cost_usd)
                };
                vec![
                    Cell::text(&r.model),
                    Cell::text(r.provider.clone().unwrap_or_default()),
                    Cell::number(format::per_second(rate), rate),
                    Cell::number(format::millis(r.avg_ms), r.avg_ms),
                    Cell::number(
                        format::percentile(r.p95_ms, r.latency_approximate),
                        r.p95_ms,
                    ),
                    Cell::number(format::percent(error_rate), error_rate),
                    tokens(r.input_tokens),
                    tokens(r.output_tokens),
                    tokens(r.cache_read_tokens),
                    Cell::number(format::usd(per_1k), per_1k),
                    Cell::number(cost_shown, r.cost_usd),
                    Cell::text(r.served.join(", ")),
                ]
            })
            .collect(),
    }
}

/// Token usage per model: uncached input, cached input, output.
pub fn token_bars(rows: &[ModelRow]) -> ChartData {
    ChartData {
        title: "Token usage by model".into(),
        kind: ChartKind::Bars(
            rows.iter()
                .filter(|r| r.input_tokens + r.output_tokens > 0)
                .map(|r| Bar {
                    label: r.model.clone(),
                    segments: vec![
                        (
                            "input".into(),
                            r.input_tokens.saturating_sub(r.cache_read_tokens) as f64,
                            INPUT,
                        ),
                        ("cached input".into(), r.cache_read_tokens as f64, CACHED),
                        ("output".into(), r.output_tokens as f64, OUTPUT),
                    ],
                })
                .collect(),
        ),
        unit: tokens_unit,
        window: None,
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

fn tokens_unit(v: f64) -> String {
    format!("{} tok", format::count(v))
}

fn tokens_per_s(v: f64) -> String {
    format!("{} tok/s", format::count(v))
}

/// Tokens per second over time, stacked by kind.
fn tokens_over_time(points: &[SeriesPoint], bucket: i64, window: (f64, f64)) -> ChartData {
    let per_s = bucket as f64 / 1e9;
    let mut sums: BTreeMap<i64, [f64; 3]> = BTreeMap::new();
    for p in points {
        let s = sums.entry(p.bucket_start_ns).or_default();
        s[0] += p.input_tokens.saturating_sub(p.cache_read_tokens) as f64;
        s[1] += p.cache_read_tokens as f64;
        s[2] += p.output_tokens as f64;
    }
    let kind = |i: usize, name: &str, color| Series {
        name: name.into(),
        color,
        points: sums
            .iter()
            .map(|(b, v)| [*b as f64 / 1e9, v[i] / per_s])
            .collect(),
    };
    ChartData {
        title: "Tokens/s over time".into(),
        kind: ChartKind::StackedTime {
            series: vec![
                kind(0, "input", INPUT),
                kind(1, "cached input", CACHED),
                kind(2, "output", OUTPUT),
            ],
            bucket_s: per_s,
        },
        unit: tokens_per_s,
        window: Some(window),
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}
