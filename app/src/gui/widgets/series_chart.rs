//! A time chart: named, coloured lines or stacked bars over a local-time axis, with the
//! unit on the value axis, a readout of the hovered point, and a PNG export button.

use crate::gui::export::chart::{ChartData, ChartKind};
use crate::gui::export::{FileKind, export_buttons};
use crate::gui::format;
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
    let mut plot = Plot::new(id)
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .include_y(0.0)
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

/// Round time steps for ticks, in seconds.
const TIME_STEPS: [f64; 17] = [
    1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
    21600.0, 43200.0, 86400.0, 604800.0,
];

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

/// The round step of a time axis spanning `span_s` seconds.
fn time_step(span_s: f64) -> f64 {
    let span = span_s.max(1.0);
    TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1])
}

/// Round local times (Unix seconds) between `lo` and `hi` for ticks: every 5 min, every
/// 3 h, at midnight…
pub fn time_marks(lo: f64, hi: f64) -> Vec<f64> {
    let step = time_step(hi - lo);
    // Align hour-and-longer steps to local midnight, not to UTC.
    let offset = if step >= 3600.0 {
        use chrono::{Offset, TimeZone};
        chrono::Local
            .timestamp_opt(lo as i64, 0)
            .single()
            .map_or(0.0, |t| t.offset().fix().local_minus_utc() as f64)
    } else {
        0.0
    };
    let first = ((lo + offset) / step).ceil() * step - offset;
    let mut marks = Vec::new();
    let mut v = first;
    while v <= hi && marks.len() < 64 {
        marks.push(v);
        v += step;
    }
    marks
}

/// A tick label on a time axis spanning `span_s` seconds: clock time within a day,
/// date and time beyond.
pub fn time_tick(unix_s: f64, span_s: f64) -> String {
    use chrono::TimeZone;
    let t = chrono::Local.timestamp_nanos((unix_s * 1e9) as i64);
    if span_s <= 600.0 {
        t.format("%H:%M:%S").to_string()
    } else if span_s <= 36.0 * 3600.0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%b %d %H:%M").to_string()
    }
}
