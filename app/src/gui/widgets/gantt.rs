//! The Gantt timeline of a trace: one row per span, indented under its parent and
//! collapsible, bars placed by start and sized by duration on a shared time axis with
//! ticks, zoom (Ctrl + scroll, or the buttons) and pan (drag or scroll), coloured by span
//! kind, red for errors. Each row is an accessible widget whose label is the span name
//! and whose value gives its start, duration and share of the trace.

use super::span_bar::SpanBar;
use crate::format;
use crate::gui::palette;
use egui::accesskit::Role;
use egui::{Align2, FontId, Rect, Sense, Stroke, Ui, Vec2, WidgetInfo, pos2, vec2};

/// One row.
pub struct GanttRow {
    /// The span.
    pub bar: SpanBar,
    /// Whether it has children (shows the fold toggle).
    pub has_children: bool,
    /// Whether its children are hidden.
    pub collapsed: bool,
    /// Hover text.
    pub tooltip: String,
}

/// Zoom and pan of the time axis: the visible window as fractions of the trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeView {
    /// Left edge, 0..1.
    pub from: f64,
    /// Right edge, 0..1.
    pub to: f64,
}

impl Default for TimeView {
    fn default() -> Self {
        TimeView { from: 0.0, to: 1.0 }
    }
}

impl TimeView {
    /// Zooms by `factor` (< 1 zooms in) around `at` (0..1 of the visible window).
    pub fn zoom(&mut self, factor: f64, at: f64) {
        let span = (self.to - self.from) * factor;
        let span = span.clamp(0.001, 1.0);
        let center = self.from + (self.to - self.from) * at;
        self.from = (center - span * at).clamp(0.0, 1.0 - span);
        self.to = self.from + span;
    }

    /// Pans by `delta` of the visible window.
    pub fn pan(&mut self, delta: f64) {
        let span = self.to - self.from;
        self.from = (self.from + delta * span).clamp(0.0, 1.0 - span);
        self.to = self.from + span;
    }
}

/// What the user did.
#[derive(Debug, Default)]
pub struct GanttAction {
    /// A row was clicked (select it).
    pub clicked: Option<usize>,
    /// A row's fold toggle was clicked.
    pub toggled: Option<usize>,
}

const ROW_H: f32 = 22.0;
const NAME_W: f32 = 300.0;

/// Draws the rows (already filtered to the visible ones, in tree order). `index` maps a
/// visible row to its span index, reported in actions.
pub fn gantt(
    ui: &mut Ui,
    rows: &[(usize, GanttRow)],
    total_ns: i64,
    view: &mut TimeView,
    selected: Option<usize>,
) -> GanttAction {
    let mut action = GanttAction::default();
    let total = total_ns.max(1) as f64;
    ui.horizontal(|ui| {
        if ui.button("Zoom in").clicked() {
            view.zoom(0.5, 0.5);
        }
        if ui.button("Zoom out").clicked() {
            view.zoom(2.0, 0.5);
        }
        if ui.button("Reset zoom").clicked() {
            *view = TimeView::default();
        }
        ui.label(
            egui::RichText::new("Ctrl + scroll to zoom, drag to pan")
                .small()
                .weak(),
        );
    });
    let width = ui.available_width();
    // Room on the right for the duration label of a bar that ends the trace.
    let bars_w = (width - NAME_W - 56.0).max(200.0);
    // Time axis.
    let (axis, _) = ui.allocate_exact_size(vec2(width, 20.0), Sense::hover());
    let bars_left = axis.left() + NAME_W;
    let x_of = |t: f64, view: &TimeView| {
        bars_left + ((t / total - view.from) / (view.to - view.from)) as f32 * bars_w
    };
    let painter = ui.painter();
    let visible_ns = (view.to - view.from) * total;
    let step = tick_step(visible_ns / 6.0);
    let mut t = (view.from * total / step).ceil() * step;
    while t <= view.to * total {
        let x = x_of(t, view);
        painter.line_segment(
            [pos2(x, axis.bottom() - 4.0), pos2(x, axis.bottom())],
            Stroke::new(1.0, ui.visuals().weak_text_color()),
        );
        painter.text(
            pos2(x, axis.top()),
            Align2::CENTER_TOP,
            format::millis(t / 1e6),
            FontId::proportional(11.0),
            ui.visuals().weak_text_color(),
        );
        t += step;
    }
    let grid_top = axis.bottom();
    for (i, (span_index, row)) in rows.iter().enumerate() {
        let (rect, response) = ui.allocate_exact_size(vec2(width, ROW_H), Sense::click_and_drag());
        let painter = ui.painter_at(rect);
        if selected == Some(*span_index) {
            painter.rect_filled(
                rect,
                0.0,
                ui.visuals().selection.bg_fill.gamma_multiply(0.5),
            );
        } else if i % 2 == 1 {
            painter.rect_filled(rect, 0.0, ui.visuals().faint_bg_color);
        }
        // Name column, indented, with a fold toggle.
        let indent = 14.0 * row.bar.depth as f32;
        let toggle_rect = Rect::from_min_size(
            pos2(rect.left() + indent + 2.0, rect.top() + 4.0),
            Vec2::splat(14.0),
        );
        if row.has_children {
            let toggle = ui.interact(
                toggle_rect,
                ui.scope_id().with(("fold", span_index)),
                Sense::click(),
            );
            let label = if row.collapsed { "Expand" } else { "Collapse" };
            toggle.widget_info(|| {
                WidgetInfo::labeled(Role::Button, true, format!("{label} {}", row.bar.name))
            });
            painter.text(
                toggle_rect.center(),
                Align2::CENTER_CENTER,
                if row.collapsed { "+" } else { "-" },
                FontId::monospace(13.0),
                ui.visuals().text_color(),
            );
            if toggle.clicked() {
                action.toggled = Some(*span_index);
            }
        }
        painter.text(
            pos2(toggle_rect.right() + 4.0, rect.center().y),
            Align2::LEFT_CENTER,
            &row.bar.name,
            FontId::proportional(13.0),
            if row.bar.error {
                palette::BAD
            } else {
                ui.visuals().text_color()
            },
        );
        // The bar.
        let x0 = x_of(row.bar.start_ns as f64, view).max(bars_left);
        let x1 =
            x_of((row.bar.start_ns + row.bar.duration_ns) as f64, view).min(bars_left + bars_w);
        if x1 >= bars_left && x0 <= bars_left + bars_w {
            let bar = Rect::from_min_max(
                pos2(x0, rect.top() + 4.0),
                pos2(x1.max(x0 + 2.0), rect.bottom() - 4.0),
            );
            painter.rect_filled(bar, 2.0, row.bar.fill());
            // A call's phases fill its bar's lower half, under the whole duration's
            // place (so zoom cuts them where it cuts the bar).
            if let Some(p) = &row.bar.phases {
                let whole = Rect::from_min_max(
                    pos2(x_of(row.bar.start_ns as f64, view), bar.center().y),
                    pos2(
                        x_of((row.bar.start_ns + row.bar.duration_ns) as f64, view),
                        bar.bottom(),
                    ),
                );
                super::phase_bar::paint_phases(&painter.with_clip_rect(bar), whole, p);
            }
            let text = format::millis(row.bar.duration_ns as f64 / 1e6);
            painter.text(
                pos2(bar.right() + 4.0, rect.center().y),
                Align2::LEFT_CENTER,
                text,
                FontId::proportional(11.0),
                ui.visuals().weak_text_color(),
            );
        }
        let share = row.bar.duration_ns as f64 / total;
        let value = format!(
            "start {}, duration {}, {} of the trace",
            format::millis(row.bar.start_ns as f64 / 1e6),
            format::millis(row.bar.duration_ns as f64 / 1e6),
            format::percent(share)
        );
        response.widget_info(|| {
            let mut info = WidgetInfo::labeled(Role::Row, true, &row.bar.name);
            info.current_text_value = Some(value.clone());
            info.value = Some(row.bar.duration_ns as f64 / 1e6);
            info
        });
        if response.clicked() {
            action.clicked = Some(*span_index);
        }
        if response.dragged() {
            let dx = response.drag_delta().x as f64 / bars_w as f64;
            view.pan(-dx);
        }
        response.on_hover_text(&row.tooltip);
    }
    // Zoom with Ctrl + scroll over the timeline, pan with plain horizontal scroll.
    let area = Rect::from_min_max(
        pos2(bars_left, grid_top),
        pos2(bars_left + bars_w, ui.min_rect().bottom()),
    );
    if ui.rect_contains_pointer(area) {
        let (scroll, zoom, pointer) =
            ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta(), i.pointer.hover_pos()));
        if zoom != 1.0 {
            let at = pointer.map_or(0.5, |p| ((p.x - bars_left) / bars_w).clamp(0.0, 1.0) as f64);
            view.zoom(1.0 / zoom as f64, at);
        } else if scroll.x != 0.0 {
            view.pan(-(scroll.x / bars_w) as f64);
        }
    }
    action
}

/// A round tick step (1, 2 or 5 × 10^n ns) near `ideal`.
pub fn tick_step(ideal: f64) -> f64 {
    let ideal = ideal.max(1.0);
    let magnitude = 10f64.powf(ideal.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= ideal)
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(3_000_000.0), 5_000_000.0);
        assert_eq!(tick_step(1_100.0), 2_000.0);
    }

    #[test]
    fn zoom_and_pan_stay_inside_the_trace() {
        let mut v = TimeView::default();
        v.zoom(0.5, 0.5);
        assert_eq!((v.from, v.to), (0.25, 0.75));
        v.pan(10.0);
        assert!((v.to - 1.0).abs() < 1e-12 && (v.from - 0.5).abs() < 1e-12);
        v.zoom(4.0, 0.5);
        assert_eq!((v.from, v.to), (0.0, 1.0));
    }
}
