//! The icicle view of a trace: the root across the top, each span drawn under its parent
//! at its depth, placed by start and as wide as its duration, so where the time went is
//! visible at a glance. Each block is an accessible widget named after its span.

use super::span_bar::SpanBar;
use crate::format;
use egui::accesskit::Role;
use egui::{Align2, Color32, FontId, Rect, Sense, Ui, WidgetInfo, pos2, vec2};

const ROW_H: f32 = 24.0;

/// Draws the blocks; returns the index of a clicked one.
pub fn flamegraph(
    ui: &mut Ui,
    blocks: &[SpanBar],
    total_ns: i64,
    selected: Option<usize>,
) -> Option<usize> {
    let depth = blocks.iter().map(|b| b.depth).max().unwrap_or(0) + 1;
    let width = ui.available_width();
    let (area, _) = ui.allocate_exact_size(vec2(width, depth as f32 * ROW_H), Sense::hover());
    let total = total_ns.max(1) as f64;
    let mut clicked = None;
    for (i, b) in blocks.iter().enumerate() {
        let x0 = area.left() + (b.start_ns as f64 / total) as f32 * width;
        let w = ((b.duration_ns as f64 / total) as f32 * width).max(1.0);
        let rect = Rect::from_min_size(
            pos2(x0, area.top() + b.depth as f32 * ROW_H),
            vec2(w, ROW_H - 2.0),
        );
        let response = ui.interact(rect, ui.scope_id().with(("flame", i)), Sense::click());
        let fill = b.fill();
        let painter = ui.painter_at(rect);
        painter.rect_filled(
            rect,
            2.0,
            if selected == Some(i) {
                fill
            } else {
                fill.gamma_multiply(0.8)
            },
        );
        if selected == Some(i) {
            painter.rect_stroke(
                rect,
                2.0,
                (2.0, ui.visuals().strong_text_color()),
                egui::StrokeKind::Inside,
            );
        }
        if w > 40.0 {
            painter.text(
                pos2(rect.left() + 4.0, rect.center().y),
                Align2::LEFT_CENTER,
                format!("{} {}", b.name, format::millis(b.duration_ns as f64 / 1e6)),
                FontId::proportional(12.0),
                Color32::BLACK,
            );
        }
        let value = format!(
            "duration {}, {} of the trace",
            format::millis(b.duration_ns as f64 / 1e6),
            format::percent(b.duration_ns as f64 / total)
        );
        response.widget_info(|| {
            let mut info = WidgetInfo::labeled(Role::Button, true, format!("flame {}", b.name));
            info.current_text_value = Some(value.clone());
            info
        });
        if response.clicked() {
            clicked = Some(i);
        }
        response.on_hover_text(format!("{}\n{}", b.name, value));
    }
    clicked
}
