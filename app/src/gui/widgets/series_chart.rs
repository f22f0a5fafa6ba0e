//! A time chart: named, coloured lines or stacked bars over a local-time axis, with the
//! unit on the value axis, the expected band of each judged figure drawn lightly behind
//! it and its points outside ringed, a readout of the hovered point (with its band),
//! and a PNG export button.

use crate::format;
use crate::gui::export::chart::{BandOf, ChartBand, ChartData, ChartKind, FILLED_BANDS, Series};
use crate::gui::export::{FileKind, export_buttons};
use crate::gui::palette;
use crate::gui::time_axis::{time_marks, time_step, time_tick};
use egui::accesskit::Role;
use egui::{RichText, Ui, WidgetInfo};
use egui_plot::{
    Bar, BarChart, Corner, FilledArea, GridInput, GridMark, HoverPosition, Legend, Line,
    MarkerShape, Plot, PlotPoints, PlotUi, Points, Span,
};

/// What the user did with a chart.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ChartResponse {
    /// The time clicked (Unix seconds), for drilling down.
    pub clicked_x: Option<f64>,
    /// An export asked for.
    pub export: Option<FileKind>,
    /// A note asked for on this stretch (Unix seconds, from ≤ to): dragged across the
    /// chart, or the *Note…* button (the chart's last moment).
    pub annotate: Option<(f64, f64)>,
}

/// Draws a [`ChartKind::Lines`] or [`ChartKind::StackedTime`] chart; its window fixes the
/// time axis so that empty stretches show.
pub fn time_chart(ui: &mut Ui, id: &str, chart: &ChartData, height: f32) -> ChartResponse {
    let mut out = ChartResponse::default();
    ui.horizontal(|ui| {
        ui.label(RichText::new(&chart.title).strong());
        out.export = export_buttons(ui, &chart.title, &[FileKind::Png]);
        let name = format!("Add a note to {}", chart.title);
        let note = ui.small_button("Note…");
        note.widget_info(|| WidgetInfo::labeled(Role::Button, true, &name));
        if note
            .on_hover_text("Pin a note (a deploy, a prompt change) to a moment or a stretch; drag across a chart to pick one")
            .clicked()
        {
            let end = chart.window.map_or_else(now_s, |w| w.1.min(now_s()));
            out.annotate = Some((end, end));
        }
    });
    let unit = chart.unit;
    let (series, bucket_s) = match &chart.kind {
        ChartKind::Lines(s) => (s.as_slice(), None),
        ChartKind::StackedTime { series, bucket_s } => (series.as_slice(), Some(*bucket_s)),
        _ => return out,
    };
    let total_points: usize = series.iter().map(|s| s.points.len()).sum();
    let (span_from, span_to) = chart.value_span.unwrap_or((0.0, 0.0));
    // Nothing above zero (no data, or all zero): a unit of height, so the axis runs from
    // zero up instead of around it.
    let highest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p[1]))
        .chain(
            chart
                .bands
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.high)),
        )
        .fold(span_to, f64::max);
    let mut plot = Plot::new(id)
        // The chart sits on the panel's colour with an outline (drawn below): a filled
        // background is one more layer for a software renderer to fill (~6 ms a frame
        // for the Overview's two charts on llvmpipe at 1440×900).
        .show_background(false)
        .height(height)
        .legend(Legend::default().position(Corner::LeftTop))
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_boxed_zoom(false)
        .include_y(0.0)
        .include_y(span_from)
        .include_y(span_to)
        .include_y(if highest > 0.0 { 0.0 } else { 1.0 })
        .y_axis_min_width(48.0)
        .x_grid_spacer(time_grid)
        .x_axis_formatter(|mark, range| {
            let span = range.end() - range.start();
            time_tick(mark.value, span)
        })
        // The margin below zero holds no values: no labels there.
        .y_axis_formatter(move |mark, _| {
            if mark.value < 0.0 {
                String::new()
            } else {
                unit(mark.value)
            }
        })
        .label_formatter(|hover| match hover {
            HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(point_label(chart, plot_name, position.x, position.y)),
            HoverPosition::Elsewhere { .. } => None,
        });
    if let Some((from, to)) = chart.window {
        plot = plot.include_x(from).include_x(to);
    }
    let drag_id = ui.scope_id().with(id).with("note_drag");
    let flags = chart.flags();
    let shown = plot.show(ui, |plot_ui| {
        for m in &chart.markers {
            match m.until {
                Some(until) => plot_ui.span(
                    Span::new(m.label.clone(), m.x..=until)
                        .fill(m.color.gamma_multiply(0.10))
                        .border_color(m.color)
                        .border_width(1.0),
                ),
                None => plot_ui.vline(
                    egui_plot::VLine::new(m.label.clone(), m.x)
                        .color(m.color)
                        .width(1.5)
                        .style(egui_plot::LineStyle::dashed_loose()),
                ),
            }
        }
        for band in chart.bands.iter().take(FILLED_BANDS) {
            draw_band(plot_ui, band, bucket_s);
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
                    let total = chart
                        .bands
                        .iter()
                        .find(|b| b.of == BandOf::Total)
                        .map(|b| b.points.clone())
                        .unwrap_or_default();
                    let mut chart = BarChart::new(s.name.clone(), bars)
                        .color(s.color)
                        .element_formatter(Box::new(move |b, _| {
                            let x = b.argument - width / 2.0;
                            let mut text = format!(
                                "{name}\n{}\n{}",
                                format::local_time((x * 1e9) as i64),
                                unit(b.value)
                            );
                            if let Some(band) = total.iter().find(|p| (p.x - x).abs() < 1e-3) {
                                text.push_str(&format!("\ntotal {}", band.describe(unit)));
                            }
                            text
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
        if !flags.is_empty() {
            let half = bucket_s.map_or(0.0, |w| w / 2.0);
            let at: Vec<[f64; 2]> = flags.iter().map(|f| [f.x + half, f.y]).collect();
            plot_ui.points(
                Points::new(OUTSIDE, PlotPoints::from(at))
                    .shape(MarkerShape::Circle)
                    .filled(false)
                    .radius(6.0)
                    .color(palette::ANOMALY),
            );
        }
        let dragged = drag_range(plot_ui, drag_id);
        let clicked = if plot_ui.response().clicked() {
            plot_ui.pointer_coordinate().map(|p| p.x)
        } else {
            None
        };
        (clicked, dragged)
    });
    let response = shown.response;
    ui.painter().rect_stroke(
        response.rect,
        2.0,
        ui.visuals().widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
    if total_points == 0 {
        ui.painter().text(
            response.rect.center(),
            egui::Align2::CENTER_CENTER,
            nothing_between(chart.window),
            egui::FontId::proportional(14.0),
            ui.visuals().weak_text_color(),
        );
    }
    let flagged = flags.len();
    let label = format!(
        "{} chart: {} series, {total_points} points, {} bands, {flagged} outside, {} markers. {}",
        chart.title,
        series.len(),
        chart.bands.len(),
        chart.markers.len(),
        describe_series(series, unit, chart.window),
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Figure, true, &label));
    response.on_hover_text("Click to see the traces of that period; drag across it to add a note");
    out.clicked_x = shown.inner.0;
    out.annotate = out.annotate.or(shown.inner.1);
    out
}

/// What an empty chart says: the stretch it covers.
fn nothing_between(window: Option<(f64, f64)>) -> String {
    match window {
        Some((from, to)) => format!(
            "No data between {} and {}",
            format::local_time((from * 1e9) as i64),
            format::local_time((to * 1e9) as i64)
        ),
        None => "No data".into(),
    }
}

/// The series in words, for screen readers: each one's lowest, highest and latest
/// value, or what is missing.
fn describe_series(
    series: &[Series],
    unit: fn(f64) -> String,
    window: Option<(f64, f64)>,
) -> String {
    let described: Vec<String> = series
        .iter()
        .filter_map(|s| {
            let latest = s.points.last()?[1];
            let values = s.points.iter().map(|p| p[1]);
            let min = values.clone().fold(f64::INFINITY, f64::min);
            let max = values.fold(f64::NEG_INFINITY, f64::max);
            Some(format!(
                "{}: min {}, max {}, latest {}",
                s.name,
                unit(min),
                unit(max),
                unit(latest)
            ))
        })
        .collect();
    if described.is_empty() {
        format!("{}.", nothing_between(window))
    } else {
        format!("{}.", described.join("; "))
    }
}

/// Now, Unix seconds.
fn now_s() -> f64 {
    crate::timearg::now_ns() as f64 / 1e9
}

/// A drag across the chart: shaded while it lasts, the stretch (from ≤ to) once let go
/// (where the pointer was last over the chart, if it left it).
fn drag_range(plot_ui: &mut PlotUi<'_>, id: egui::Id) -> Option<(f64, f64)> {
    let response = plot_ui.response().clone();
    let x = plot_ui.pointer_coordinate().map(|p| p.x);
    let ctx = plot_ui.ctx().clone();
    if response.drag_started()
        && let Some(x) = x
    {
        ctx.data_mut(|d| d.insert_temp(id, (x, x)));
    }
    let (start, last): (f64, f64) = ctx.data(|d| d.get_temp(id))?;
    let last = x.unwrap_or(last);
    ctx.data_mut(|d| d.insert_temp(id, (start, last)));
    let (from, to) = (start.min(last), start.max(last));
    if response.drag_stopped() || !response.dragged() {
        ctx.data_mut(|d| d.remove::<(f64, f64)>(id));
        return response.drag_stopped().then_some((from, to));
    }
    plot_ui.span(
        Span::new("", from..=to)
            .fill(palette::NOTE.gamma_multiply(0.15))
            .border_width(0.0),
    );
    None
}

/// The legend name of the ringed points outside their band.
const OUTSIDE: &str = "outside the expected band";

/// The hovered point's series, time and value, with its expected band where judged
/// (for a ring, the flagged point's own).
fn point_label(chart: &ChartData, name: &str, x: f64, y: f64) -> String {
    let unit = chart.unit;
    let half = match &chart.kind {
        ChartKind::StackedTime { bucket_s, .. } => bucket_s / 2.0,
        _ => 0.0,
    };
    if name == OUTSIDE
        && let Some(f) = chart
            .flags()
            .into_iter()
            .find(|f| (f.x + half - x).abs() < 1e-3 && (f.y - y).abs() < 1e-6 * f.y.abs().max(1.0))
    {
        return format!(
            "{}: unusual\n{}\n{}\n{}",
            f.series,
            format::local_time((f.x * 1e9) as i64),
            unit(f.y),
            f.band.describe(unit)
        );
    }
    let mut text = format!(
        "{name}\n{}\n{}",
        format::local_time((x * 1e9) as i64),
        unit(y)
    );
    if let Some(band) = chart.band_at(name, x) {
        text.push('\n');
        text.push_str(&band.describe(unit));
    }
    text
}

/// A band, lightly, behind its figure: joined from bucket to bucket for lines, a step
/// per bucket for bars (`bucket_s`), broken where buckets were not judged.
fn draw_band(plot_ui: &mut PlotUi<'_>, band: &ChartBand, bucket_s: Option<f64>) {
    for run in band.runs() {
        let (mut xs, mut lows, mut highs) = (Vec::new(), Vec::new(), Vec::new());
        for p in run {
            let low = p.low.max(0.0);
            match bucket_s {
                None => {
                    xs.push(p.x);
                    lows.push(low);
                    highs.push(p.high);
                }
                Some(w) => {
                    xs.extend([p.x, p.x + w]);
                    lows.extend([low, low]);
                    highs.extend([p.high, p.high]);
                }
            }
        }
        if xs.len() < 2 {
            // One judged point of a line: a bucket-wide sliver so it shows.
            let w = band.bucket_s / 2.0;
            xs = vec![xs[0] - w / 2.0, xs[0] + w / 2.0];
            lows = vec![lows[0]; 2];
            highs = vec![highs[0]; 2];
        }
        plot_ui.add(
            FilledArea::new("", &xs, &lows, &highs)
                .fill_color(band.color.gamma_multiply(0.16))
                .allow_hover(false),
        );
    }
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
