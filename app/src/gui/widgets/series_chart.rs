//! A time-series line chart: several named, coloured lines over a local-time axis, with
//! the unit on the value axis and a readout of the hovered point.

use crate::gui::format;
use egui::accesskit::Role;
use egui::{Color32, RichText, Ui, WidgetInfo};
use egui_plot::{Corner, GridInput, GridMark, HoverPosition, Legend, Line, Plot, PlotPoints};

/// One line.
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Line colour.
    pub color: Color32,
    /// Points as (Unix seconds, value), oldest first.
    pub points: Vec<[f64; 2]>,
}

/// Formats a value of the chart's unit.
pub type UnitFormat = fn(f64) -> String;

/// Draws the chart; `window` fixes the time axis (Unix seconds) so empty stretches show.
/// Returns the time (Unix seconds) clicked, for drilling down.
pub fn series_chart(
    ui: &mut Ui,
    id: &str,
    title: &str,
    series: &[Series],
    unit: UnitFormat,
    window: Option<(f64, f64)>,
    height: f32,
) -> Option<f64> {
    ui.label(RichText::new(title).strong());
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
    if let Some((from, to)) = window {
        plot = plot.include_x(from).include_x(to);
    }
    let shown = plot.show(ui, |plot_ui| {
        for s in series {
            plot_ui.line(
                Line::new(s.name.clone(), PlotPoints::from(s.points.clone()))
                    .color(s.color)
                    .width(2.0),
            );
        }
        if plot_ui.response().clicked() {
            plot_ui.pointer_coordinate().map(|p| p.x)
        } else {
            None
        }
    });
    let response = shown.response;
    let label = format!(
        "{title} chart: {} series, {total_points} points",
        series.len()
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Figure, true, &label));
    response.on_hover_text("Click to see the traces of that period");
    shown.inner
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
    let span = (hi - lo).max(1.0);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8.0)
        .unwrap_or(TIME_STEPS[TIME_STEPS.len() - 1]);
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
        marks.push(GridMark {
            value: v,
            step_size: step,
        });
        v += step;
    }
    marks
}

/// A tick label on a time axis spanning `span_s` seconds: clock time within a day,
/// date and time beyond.
fn time_tick(unix_s: f64, span_s: f64) -> String {
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
