//! Metrics: the OTLP metrics apps send — GenAI's operation duration, token usage,
//! time to first chunk, the server metrics — for apps whose SDK sends no spans, or
//! beside them. Pick a metric; its groups (model · operation · token type) are charted
//! over time (histograms: p95 estimated from the buckets; sums: the increase per
//! bucket; gauges: the mean) and listed with count, sum, mean and p50/p95/p99.

use super::shared::{chart_markers, reading, seconds};
use super::{View, ViewAction, ViewCtx};
use crate::format;
use crate::gui::export::ExportItem;
use crate::gui::export::chart::{ChartData, ChartKind, Series, UnitFormat};
use crate::gui::export::table::{Cell, Column, TableData};
use crate::gui::filter_state::bucket_ns;
use crate::gui::palette;
use crate::gui::queries::{MetricCatalog, MetricChart};
use crate::gui::widgets::data_table::{TableLook, data_table};
use crate::gui::widgets::series_chart::time_chart;
use egui::{RichText, ScrollArea, Ui};
use store::{Filter, MetricInfo, MetricView};

/// Points across the chart.
const CHART_BUCKETS: i64 = 60;

/// Groups drawn on the chart (all are in the table).
const CHARTED_GROUPS: usize = 8;

/// The metric shown first when the app sent it.
const FIRST_CHOICE: &str = "gen_ai.client.operation.duration";

/// The metric list and the chosen metric's chart and table.
#[derive(Default)]
pub struct MetricsView {
    /// The metric picked in the list.
    chosen: Option<String>,
}

impl View for MetricsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let mut action = ViewAction::default();
        // Metric points are told apart only by time and service.
        let filter = Filter {
            from_ns: ctx.resolved.filter.from_ns,
            to_ns: ctx.resolved.filter.to_ns,
            services: ctx.resolved.filter.services.clone(),
            ..Filter::default()
        };
        let catalog = ctx.cache.get::<MetricCatalog>(filter.clone());
        if let Some(e) = &catalog.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            return action;
        }
        let Some(metrics) = catalog.value.as_deref() else {
            reading(ui);
            return action;
        };
        if metrics.is_empty() {
            ui.label(
                "No OTLP metrics in this range. Apps that send metrics (OpenTelemetry GenAI's \
                 gen_ai.client.operation.duration, gen_ai.client.token.usage, \
                 gen_ai.server.time_to_first_token…) to the OTLP port appear here.",
            );
            return action;
        }
        let chosen = self
            .chosen
            .clone()
            .filter(|c| metrics.iter().any(|m| &m.name == c))
            .or_else(|| {
                metrics
                    .iter()
                    .find(|m| m.name == FIRST_CHOICE)
                    .or(metrics.first())
                    .map(|m| m.name.clone())
            })
            .expect("the list is not empty");
        let info = metrics
            .iter()
            .find(|m| m.name == chosen)
            .expect("chosen from the list");
        let window = ctx
            .resolved
            .window
            .unwrap_or((info.first_ns, info.last_ns.max(info.first_ns + 1)));
        let bucket = bucket_ns(window.1 - window.0, CHART_BUCKETS);
        let view = ctx
            .cache
            .get::<MetricChart>((filter, chosen.clone(), bucket));
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(300.0);
                ui.label(RichText::new("Stored metrics").strong());
                ScrollArea::vertical()
                    .id_salt("metric_list")
                    .show(ui, |ui| {
                        for m in metrics {
                            let text = format!(
                                "{}\n{}{} · {} points",
                                m.name,
                                m.kind,
                                m.unit.as_deref().map(|u| format!(" ({u})")).unwrap_or_default(),
                                format::integer(m.points)
                            );
                            if ui.selectable_label(m.name == chosen, text).clicked() {
                                self.chosen = Some(m.name.clone());
                            }
                        }
                    });
            });
            ui.separator();
            ui.vertical(|ui| {
                if let Some(e) = &view.error {
                    ui.colored_label(palette::BAD, format!("Query failed: {e}"));
                    return;
                }
                let Some(view) = view.value.as_deref() else {
                    reading(ui);
                    return;
                };
                action.showed_data = true;
                ScrollArea::vertical().id_salt("metric_detail").show(ui, |ui| {
                    let mut chart = metric_chart(info, view, seconds(window));
                    chart.markers = chart_markers(ctx.cache, seconds(window));
                    let r = time_chart(ui, "metric_chart", &chart, 260.0);
                    action.annotate_if(r.annotate);
                    action.export_if(r.export, || ExportItem::Chart(chart.clone()));
                    ui.add_space(12.0);
                    let table = groups_table(info, view);
                    let r = data_table(
                        ui,
                        "metric_groups",
                        &table,
                        &TableLook {
                            links: &[],
                            link_if: None,
                            swatch: None,
                            tint: None,
                        },
                    );
                    action.export_if(r.export, || ExportItem::Table(table.clone()));
                });
            });
        });
        action
    }
}

/// How the metric's values read: durations in seconds or milliseconds as times, the
/// rest as counts.
fn unit_format(unit: Option<&str>) -> UnitFormat {
    fn seconds(v: f64) -> String {
        format::millis(v * 1e3)
    }
    match unit {
        Some("s") => seconds,
        Some("ms") => format::millis,
        _ => format::count,
    }
}

/// What the chart plots per bucket, in words.
fn plotted(kind: &str) -> &'static str {
    match kind {
        "gauge" => "mean value",
        "sum" => "increase",
        _ => "p95 (estimated from the buckets)",
    }
}

/// The busiest groups over time.
fn metric_chart(info: &MetricInfo, view: &MetricView, window: (f64, f64)) -> ChartData {
    let series = view
        .groups
        .iter()
        .take(CHARTED_GROUPS)
        .enumerate()
        .map(|(i, g)| Series {
            name: g.label.clone(),
            color: palette::OKABE_ITO[i % palette::OKABE_ITO.len()],
            points: view
                .series
                .iter()
                .filter(|p| p.group == i)
                .map(|p| [p.bucket_start_ns as f64 / 1e9, p.value])
                .collect(),
        })
        .collect();
    ChartData {
        title: format!("{} — {} by group", info.name, plotted(&view.kind)),
        kind: ChartKind::Lines(series),
        unit: unit_format(view.unit.as_deref()),
        window: Some(window),
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

/// Every group's figures over the selection.
fn groups_table(info: &MetricInfo, view: &MetricView) -> TableData {
    let unit = unit_format(view.unit.as_deref());
    let col = |title, key| Column { title, key };
    let value = |v: f64| Cell::number(unit(v), v);
    let histogram = view.is_distribution();
    let mut columns = vec![col("Group", "group")];
    if histogram {
        columns.extend([
            col("Count", "count"),
            col("Sum", "sum"),
            col("Mean", "mean"),
            col("p50", "p50"),
            col("p95", "p95"),
            col("p99", "p99"),
        ]);
    } else if view.kind == "gauge" {
        columns.extend([col("Points", "points"), col("Mean", "mean"), col("Last", "last")]);
    } else {
        columns.push(col("Increase", "increase"));
    }
    let rows = view
        .groups
        .iter()
        .map(|g| {
            let mut row = vec![Cell::text(g.label.clone())];
            if histogram {
                row.push(Cell::count(format::integer(g.count), g.count));
                row.extend([value(g.sum), value(g.mean())]);
                match g.quantiles {
                    Some(q) => row.extend(q.map(value)),
                    None => row.extend((0..3).map(|_| Cell::text("—"))),
                }
            } else if view.kind == "gauge" {
                row.push(Cell::count(format::integer(g.count), g.count));
                row.push(value(g.mean()));
                row.push(g.last.map_or_else(|| Cell::text("—"), value));
            } else {
                row.push(value(g.sum));
            }
            row
        })
        .collect();
    TableData {
        title: format!("{} by group", info.name),
        columns,
        rows,
    }
}
