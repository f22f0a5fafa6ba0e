//! The latency heatmap: time buckets across, log-spaced latency buckets up, each cell
//! coloured by its number of calls on the viridis scale (logarithmic), with a legend.
//! Hover names the cell; a click returns it for drilling down.

use crate::format;
use crate::gui::export::chart::{ChartData, ChartKind, heat_level, viridis};
use crate::gui::export::{FileKind, export_buttons};
use crate::gui::time_axis::{time_marks, time_tick};
use egui::accesskit::Role;
use egui::{Align2, FontId, Pos2, Rect, RichText, Sense, Stroke, Ui, Vec2, WidgetInfo};

/// What the user did with the heatmap.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct HeatResponse {
    /// The cell clicked: time bucket index and latency row.
    pub clicked: Option<(usize, usize)>,
    /// An export asked for.
    pub export: Option<FileKind>,
}

const LEFT: f32 = 86.0;
const BOTTOM: f32 = 22.0;
const LEGEND: f32 = 70.0;

/// Draws `chart` (a [`ChartKind::Heat`]) `height` points tall.
pub fn heatmap(ui: &mut Ui, chart: &ChartData, height: f32) -> HeatResponse {
    let mut out = HeatResponse::default();
    ui.horizontal(|ui| {
        ui.label(RichText::new(&chart.title).strong());
        out.export = export_buttons(ui, &chart.title, &[FileKind::Png]);
    });
    let ChartKind::Heat(grid) = &chart.kind else {
        return out;
    };
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(ui.available_width(), height), Sense::click());
    let painter = ui.painter_at(rect);
    let text = ui.visuals().text_color();
    let weak = ui.visuals().weak_text_color();
    let font = FontId::proportional(11.0);
    let g = geometry(rect, chart);
    painter.rect_filled(g.plot, 0.0, ui.visuals().extreme_bg_color);
    let (plot, x0, x1, span, row_h) = (g.plot, g.x0, g.x1, g.x1 - g.x0, g.row_h);
    let rows = grid.rows.len().max(1);
    let cols = grid.times.len();
    let x_of = |t: f64| g.x_of(t);
    let y_of = |row: usize| g.row_top(row);
    let max = grid.max();
    let mut hovered = None;
    let pointer = response.hover_pos();
    for (c, t) in grid.times.iter().enumerate() {
        let (left, right) = (x_of(*t), x_of(t + grid.bucket_s));
        for (r, &count) in grid.counts[c].iter().enumerate() {
            let cell = Rect::from_min_max(
                Pos2::new(left, y_of(r)),
                Pos2::new(right.max(left + 1.0), y_of(r) + row_h),
            );
            if count > 0 {
                painter.rect_filled(cell.shrink(0.3), 0.0, viridis(heat_level(count, max)));
            }
            if pointer.is_some_and(|p| cell.contains(p)) {
                hovered = Some((c, r, cell));
            }
        }
    }
    // Row labels (latency) and time ticks.
    for (r, label) in grid.rows.iter().enumerate() {
        painter.text(
            Pos2::new(plot.left() - 6.0, y_of(r) + row_h / 2.0),
            Align2::RIGHT_CENTER,
            label,
            font.clone(),
            text,
        );
    }
    for t in time_marks(x0, x1) {
        let x = x_of(t);
        painter.line_segment(
            [
                Pos2::new(x, plot.bottom()),
                Pos2::new(x, plot.bottom() + 4.0),
            ],
            Stroke::new(1.0, weak),
        );
        painter.text(
            Pos2::new(x, plot.bottom() + 5.0),
            Align2::CENTER_TOP,
            time_tick(t, span),
            font.clone(),
            text,
        );
    }
    // Legend: the colour scale from 1 to the busiest cell.
    let bar = Rect::from_min_max(
        Pos2::new(plot.right() + 14.0, plot.top() + 16.0),
        Pos2::new(plot.right() + 26.0, plot.bottom()),
    );
    let steps = 48;
    for i in 0..steps {
        let t = i as f32 / steps as f32;
        let y1 = bar.bottom() - bar.height() * t;
        let y0 = bar.bottom() - bar.height() * (t + 1.0 / steps as f32);
        painter.rect_filled(
            Rect::from_min_max(Pos2::new(bar.left(), y0), Pos2::new(bar.right(), y1 + 0.5)),
            0.0,
            viridis(t as f64),
        );
    }
    painter.text(
        Pos2::new(bar.left(), rect.top() + 4.0),
        Align2::LEFT_TOP,
        "calls",
        font.clone(),
        weak,
    );
    painter.text(
        Pos2::new(bar.right() + 4.0, bar.top()),
        Align2::LEFT_CENTER,
        format::count(max as f64),
        font.clone(),
        text,
    );
    painter.text(
        Pos2::new(bar.right() + 4.0, bar.bottom()),
        Align2::LEFT_CENTER,
        "1",
        font,
        text,
    );

    let total: u64 = grid.counts.iter().flatten().sum();
    let label = format!(
        "{} heatmap: {cols} time buckets, {rows} latency buckets, {} calls",
        chart.title,
        format::integer(total)
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Figure, true, &label));
    if let Some((c, r, cell)) = hovered {
        painter.rect_stroke(cell, 0.0, Stroke::new(1.5, text), egui::StrokeKind::Outside);
        let t = grid.times[c];
        let count = grid.counts[c][r];
        response.clone().on_hover_text(format!(
            "{} – {}\nlatency {}\n{} calls\nClick to see these traces",
            format::local_time((t * 1e9) as i64),
            format::local_time(((t + grid.bucket_s) * 1e9) as i64),
            grid.rows[r],
            format::integer(count)
        ));
        if response.clicked() {
            out.clicked = Some((c, r));
        }
    }
    out
}

/// Where the plot area and the axes of a heatmap drawn in `rect` lie.
struct Geometry {
    plot: Rect,
    x0: f64,
    x1: f64,
    row_h: f32,
}

impl Geometry {
    /// The top edge of latency row `row` (row 0 at the bottom).
    fn row_top(&self, row: usize) -> f32 {
        self.plot.bottom() - (row as f32 + 1.0) * self.row_h
    }

    fn x_of(&self, t: f64) -> f32 {
        self.plot.left()
            + ((t - self.x0) / (self.x1 - self.x0).max(1e-9)) as f32 * self.plot.width()
    }
}

fn geometry(rect: Rect, chart: &ChartData) -> Geometry {
    let plot = Rect::from_min_max(
        Pos2::new(rect.left() + LEFT, rect.top() + 4.0),
        Pos2::new(rect.right() - LEGEND, rect.bottom() - BOTTOM),
    );
    let (times, bucket_s, rows) = match &chart.kind {
        ChartKind::Heat(g) => (g.times.as_slice(), g.bucket_s, g.rows.len()),
        _ => (&[][..], 1.0, 1),
    };
    let (x0, x1) = chart.window.unwrap_or_else(|| {
        (
            times.first().copied().unwrap_or(0.0),
            times.last().copied().unwrap_or(0.0) + bucket_s,
        )
    });
    Geometry {
        plot,
        x0,
        x1,
        row_h: plot.height() / rows.max(1) as f32,
    }
}

/// The centre of cell (time bucket `col`, latency `row`) of `chart` drawn in `rect` (the
/// widget's rectangle, as AccessKit reports it): where a click lands on that cell.
pub fn cell_center(rect: Rect, chart: &ChartData, col: usize, row: usize) -> Option<Pos2> {
    let ChartKind::Heat(grid) = &chart.kind else {
        return None;
    };
    let g = geometry(rect, chart);
    let t = *grid.times.get(col)?;
    let x = (g.x_of(t) + g.x_of(t + grid.bucket_s)) / 2.0;
    let y = g.row_top(row) + g.row_h / 2.0;
    Some(Pos2::new(x, y))
}
