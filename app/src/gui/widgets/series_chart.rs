//! A time chart: named, coloured lines or stacked bars over a local-time axis, with the
//! unit on the value axis, a readout of the hovered point, and a PNG export button.

use crate::format;
use crate::gui::export::chart::{ChartData, ChartKind};
use crate::gui::export::{FileKind, export_buttons};
use crate::gui::time_axis::{time_marks, time_step, time_tick};
use egui::accesskit::Role;
use egui::{RichText, Ui, WidgetInfo};
use egui_plot::{
    Bar, BarChart, Corner, GridInput, GridMark, HoverPosition, Legend, Line, Plot, PlotPoints,
};

/// What the user did with a chart.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ChartResponse {
    /// The time clicked (Unix seconds), for drilling down.
    pub clicked_x: Option<f64>,
    /// An export asked for.
    pub export: Option<FileKind>,
}

/// Draws a [`ChartKind::Lines`] or [`ChartKind::StackedTime`] chart; its window fixes the
/// time axis so that empty stretches show.
pub fn time_chart(ui: &mut Ui, id: &str, chart: &ChartData, height: f32) -> ChartResponse {
    let mut out = ChartResponse::default();
    ui.horizontal(|ui| {
        ui.label(RichText::new(&chart.title).strong());
        out.export = export_buttons(ui, &chart.title, &[FileKind::Png]);
    });
    let unit = chart.unit;
    let (series, bucket_s) = match &chart.kind {
        ChartKind::Lines(s) => (s.as_slice(), None),
        ChartKind::StackedTime { series, bucket_s } => (series.as_slice(), Some(*bucket_s)),
        _ => return out,
    };
    let total_points: usize = series.iter().map(|s| s.points.len()).sum();
    let (span_from, span_to) = chart.value_span.unwrap_or((0.0, 0.0));
    let mut plot = Plot::new(id)
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .include_y(0.0)
        .include_y(span_from)
        .include_y(span_to)
        .y_axis_min_width(48.0)
        .x_grid_spacer(time_grid)
        .x_axis_formatter(|mark, range| {
            let span = range.end() - range.start();
            time_tick(mark.value, span)
        })
        .y_axis_formatter(move |mark, _| unit(mark.value))
        .label_formatter(move |hover| match hover {
            HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}\n{}\n{}",
                format::local_time((position.x * 1e9) as i64),
                unit(position.y)
            )),
            HoverPosition::Elsewhere { .. } => None,
        });
    if let Some((from, to)) = chart.window {
        plot = plot.include_x(from).include_x(to);
    }
    let shown = plot.show(ui, |plot_ui| {
        for m in &chart.markers {
            plot_ui.vline(
                egui_plot::VLine::new(m.label.clone(), m.x)
                    .color(m.color)
                    .width(1.5)
                    .style(egui_plot::LineStyle::dashed_loose()),
            );
        }
        match bucket_s {
            None => {
                for s in series {
                    plot_ui.line(
                        Line::new(s.name.clone(), PlotPoints::from(s.points.clone()))
                            .color(s.color)
                            .width(2.0),
                    );
                }
            }
            Some(width) => {
                // egui_plot stacks bar i on bar i of the charts below: give every series
                // a bar (perhaps empty) in every bucket so that they line up.
                let xs: std::collections::BTreeSet<i64> = series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| (p[0] * 1e3).round() as i64))
                    .collect();
                let mut below: Vec<BarChart> = Vec::new();
                for s in series {
                    let values: std::collections::BTreeMap<i64, f64> = s
                        .points
                        .iter()
                        .map(|p| ((p[0] * 1e3).round() as i64, p[1]))
                        .collect();
                    let bars = xs
                        .iter()
                        .map(|x| {
                            let v = values.get(x).copied().unwrap_or(0.0);
                            Bar::new(*x as f64 / 1e3 + width / 2.0, v)
                                .width(width * 0.85)
                                .fill(s.color)
                                .stroke(egui::Stroke::NONE)
                        })
                        .collect();
                    let name = s.name.clone();
                    let mut chart = BarChart::new(s.name.clone(), bars)
                        .color(s.color)
                        .element_formatter(Box::new(move |b, _| {
                            format!(
                                "{name}\n{}\n{}",
                                format::local_time(((b.argument - width / 2.0) * 1e9) as i64),
                                unit(b.value)
                            )
                        }));
                    let refs: Vec<&BarChart> = below.iter().collect();
                    chart = chart.stack_on(&refs);
                    below.push(chart);
                }
                for c in below {
                    plot_ui.bar_chart(c);
                }
            }
        }
        if plot_ui.response().clicked() {
            plot_ui.pointer_coordinate().map(|p| p.x)
        } else {
            None
        }
    });
    let response = shown.response;
    let label = format!(
        "{} chart: {} series, {total_points} points",
        chart.title,
        series.len()
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Figure, true, &label));
    response.on_hover_text("Click to see the traces of that period");
    out.clicked_x = shown.inner;
    out
}

/// Grid lines on round local times (every 5 min, every 3 h, at midnight…), about six to
/// ten across the axis.
pub fn time_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let step = time_step(hi - lo);
    time_marks(lo, hi)
        .into_iter()
        .map(|value| GridMark {
            value,
            step_size: step,
        })
        .collect()
}
