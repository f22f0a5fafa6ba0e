//! Latency: where the slow calls are in time (heatmap of time × log-spaced latency
//! buckets, click a cell for its traces), the percentiles over time, each model's
//! latency, and — when calls stream — the time to first token over time and by model.

use crate::gui::export::ExportItem;
use crate::gui::export::chart::{ChartData, ChartKind, HeatGrid, Series};
use crate::gui::export::table::{Cell, Column, TableData};
use super::bands;
use super::shared::{reading, chart_markers, chart_window, model_rows, per_model, seconds, summary};
use super::{Action, Drill, View, ViewAction, ViewCtx};
use crate::gui::queries::{FirstToken, FirstTokenPercentiles, LatencyHeatmap, LatencyPercentiles};
use crate::gui::widgets::heatmap::heatmap;
use crate::gui::widgets::series_chart::time_chart;
use crate::gui::palette;
use crate::format;
use egui::{RichText, ScrollArea, Ui};
use store::{FirstTokenSummary, Heatmap, LatencyPoint, ModelRow};

/// Time buckets across the heatmap.
const HEAT_COLUMNS: i64 = 60;

/// Where the slow calls are: heatmap, percentiles over time, each model's latency.
#[derive(Default)]
pub struct LatencyView;

impl View for LatencyView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let ViewCtx { cache, resolved, models: all_models, .. } = *ctx;
        let mut action = ViewAction::default();
        let summary = summary(cache, resolved);
        let Some((window, bucket)) = chart_window(resolved, summary.as_deref(), HEAT_COLUMNS) else {
            waiting(ui, summary.is_some());
            return action;
        };
        let filter = resolved.filter.clone();
        let heat = cache.get::<LatencyHeatmap>((filter.clone(), bucket));
        let lat = cache.get::<LatencyPercentiles>((filter.clone(), bucket));
        let first = cache.get::<FirstToken>(filter.clone());
        // Its chart only when some call reports a first token.
        let first_series = first
            .value
            .as_deref()
            .filter(|f| f.calls > 0)
            .map(|_| cache.get::<FirstTokenPercentiles>((filter, bucket)));
        let models = per_model(cache, resolved);
        let judged = bands::judgement(cache, &resolved.filter, window, bucket);
        ScrollArea::vertical().show(ui, |ui| {
            if let Some(e) = heat.error.as_ref().or(lat.error.as_ref()) {
                ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            }
            let Some(heat) = heat.value.as_deref() else {
                waiting(ui, true);
                return;
            };
            action.showed_data = true;
            let chart = heat_chart(heat, window, bucket);
            let r = heatmap(ui, &chart, 300.0);
            action.export_if(r.export, || ExportItem::Chart(chart.clone()));
            if let (Some((col, row)), ChartKind::Heat(grid)) = (r.clicked, &chart.kind) {
                let start = (grid.times[col] * 1e9).round() as i64;
                action.push(Action::Drill(Drill {
                    period: Some((start, start + bucket)),
                    latency_ms: Some(latency_band(&heat.latency_edges_ms, row)),
                    ..Drill::default()
                }));
            }
            ui.add_space(12.0);
            let points = lat.value.as_deref().map(Vec::as_slice).unwrap_or(&[]);
            let mut pct = percentiles_chart(points, Some(seconds(window)));
            pct.markers = chart_markers(cache, seconds(window));
            pct.bands = judged.as_deref().and_then(bands::p95_band).into_iter().collect();
            let r = time_chart(ui, "latency_percentiles", &pct, 220.0);
            action.annotate_if(r.annotate);
            action.export_if(r.export, || ExportItem::Chart(pct.clone()));
            if let Some(x) = r.clicked_x {
                action.push(Action::Drill(Drill::bucket_at(x, bucket)));
            }
            ui.add_space(12.0);
            if let Some(rows) = models.value.as_deref() {
                let table = model_latency_table(rows);
                model_rows(ui, "latency_by_model", &table, all_models, None, &mut action);
            }
            if let (Some(summary), Some(series)) = (first.value.as_deref(), &first_series) {
                ui.add_space(12.0);
                let points = series.value.as_deref().map(Vec::as_slice).unwrap_or(&[]);
                let mut chart = percentiles_chart(points, Some(seconds(window)));
                chart.title = format!(
                    "Time to first token ({} streamed calls)",
                    format::integer(summary.calls)
                );
                chart.markers = chart_markers(cache, seconds(window));
                let r = time_chart(ui, "ttft_percentiles", &chart, 200.0);
                action.annotate_if(r.annotate);
                action.export_if(r.export, || ExportItem::Chart(chart.clone()));
                if let Some(x) = r.clicked_x {
                    action.push(Action::Drill(Drill::bucket_at(x, bucket)));
                }
                ui.add_space(12.0);
                let table = first_token_table(summary);
                model_rows(ui, "ttft_by_model", &table, all_models, None, &mut action);
            }
        });
        action
    }
}

fn waiting(ui: &mut Ui, has_summary: bool) {
    if has_summary {
        ui.label(RichText::new("No LLM calls in this selection").weak());
    } else {
        reading(ui);
    }
}

/// The latency band (ms) of heatmap row `row`: over its lower edge, up to its upper one.
pub fn latency_band(edges: &[f64], row: usize) -> (f64, Option<f64>) {
    let from = if row == 0 { 0.0 } else { edges[row - 1] };
    (from, edges.get(row).copied())
}

/// The heatmap's chart: every time bucket of the window (empty ones too) by latency row.
pub fn heat_chart(heat: &Heatmap, window: (i64, i64), bucket: i64) -> ChartData {
    let first = window.0.div_euclid(bucket) * bucket;
    let columns = ((window.1 - first) as f64 / bucket as f64).ceil().max(1.0) as usize;
    let rows = heat.latency_edges_ms.len() + 1;
    let mut counts = vec![vec![0u64; rows]; columns];
    for c in &heat.cells {
        let col = (c.bucket_start_ns - first).div_euclid(bucket);
        if (0..columns as i64).contains(&col) && c.latency_bucket < rows {
            counts[col as usize][c.latency_bucket] += c.count;
        }
    }
    let edges = &heat.latency_edges_ms;
    let labels = (0..rows)
        .map(|r| match latency_band(edges, r) {
            (_, Some(to)) if r == 0 => format!("≤ {}", format::millis(to)),
            (from, Some(to)) => format!("{} – {}", format::millis(from), format::millis(to)),
            (from, None) => format!("> {}", format::millis(from)),
        })
        .collect();
    ChartData {
        title: "Latency heatmap".into(),
        kind: ChartKind::Heat(HeatGrid {
            times: (0..columns)
                .map(|i| (first + i as i64 * bucket) as f64 / 1e9)
                .collect(),
            bucket_s: bucket as f64 / 1e9,
            rows: labels,
            counts,
        }),
        unit: format::count,
        window: Some(seconds((first, first + columns as i64 * bucket))),
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

/// p50, p95 and p99 per bucket over `window` (Unix seconds; the points' extent when
/// `None`), in the percentiles' fixed colours.
pub fn percentiles_chart(points: &[LatencyPoint], window: Option<(f64, f64)>) -> ChartData {
    let line = |name: &str, color, get: fn(&LatencyPoint) -> f64| Series {
        name: name.into(),
        color,
        points: points
            .iter()
            .map(|p| [p.bucket_start_ns as f64 / 1e9, get(p)])
            .collect(),
    };
    ChartData {
        title: "Latency percentiles".into(),
        kind: ChartKind::Lines(vec![
            line("p50", palette::P50, |p| p.p50_ms),
            line("p95", palette::P95, |p| p.p95_ms),
            line("p99", palette::P99, |p| p.p99_ms),
        ]),
        unit: format::millis,
        window,
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

/// Each model's latency: calls, mean and percentiles.
pub fn model_latency_table(rows: &[ModelRow]) -> TableData {
    let ms = |v: f64| Cell::number(format::millis(v), v);
    TableData {
        title: "Latency by model".into(),
        columns: vec![
            Column {
                title: "Model",
                key: "model",
            },
            Column {
                title: "Calls",
                key: "calls",
            },
            Column {
                title: "Avg",
                key: "avg_ms",
            },
            Column {
                title: "p50",
                key: "p50_ms",
            },
            Column {
                title: "p95",
                key: "p95_ms",
            },
            Column {
                title: "p99",
                key: "p99_ms",
            },
        ],
        rows: rows
            .iter()
            .map(|r| {
                let pct =
                    |v: f64| Cell::number(format::percentile(v, r.latency_approximate), v);
                vec![
                    Cell::text(&r.model),
                    Cell::count(format::integer(r.calls), r.calls),
                    ms(r.avg_ms),
                    pct(r.p50_ms),
                    pct(r.p95_ms),
                    pct(r.p99_ms),
                ]
            })
            .collect(),
    }
}

/// Each model's time to first token and output speed, over its calls that report one.
pub fn first_token_table(summary: &FirstTokenSummary) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: "Time to first token by model".into(),
        columns: vec![
            col("Model", "model"),
            col("Streamed calls", "calls"),
            col("TTFT p50", "ttft_p50_ms"),
            col("TTFT p95", "ttft_p95_ms"),
            col("TTFT p99", "ttft_p99_ms"),
            col("Output tok/s (median)", "output_tps_p50"),
        ],
        rows: summary
            .by_model
            .iter()
            .map(|m| {
                let pct = |v: f64| Cell::number(format::percentile(v, summary.approximate), v);
                vec![
                    Cell::text(&m.model),
                    Cell::count(format::integer(m.calls), m.calls),
                    pct(m.ttft_ms[0]),
                    pct(m.ttft_ms[1]),
                    pct(m.ttft_ms[2]),
                    match m.output_tps_p50 {
                        Some(v) => Cell::number(format::count(v), v),
                        None => Cell::text("—"),
                    },
                ]
            })
            .collect(),
    }
}
