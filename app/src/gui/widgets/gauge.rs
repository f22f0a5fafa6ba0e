//! A half-circle gauge of a share (the error rate) against its warning and critical
//! thresholds: the arc is green, amber, red by zone, the needle at the value.

use crate::format;
use crate::gui::palette;
use egui::accesskit::Role;
use egui::{Align2, Color32, FontId, Pos2, Sense, Shape, Stroke, Ui, Vec2, WidgetInfo};
use std::f32::consts::PI;

/// Draws the gauge of `value` (0..=1) on a scale to `full`, with zones changing at `warn`
/// and `critical`.
pub fn gauge(ui: &mut Ui, title: &str, value: f64, warn: f64, critical: f64, full: f64) {
    let size = Vec2::new(220.0, 130.0);
    let (rect, resp) = ui.allocate_exact_size(size, Sense::hover());
    let p = ui.painter_at(rect);
    let center = Pos2::new(rect.center().x, rect.bottom() - 24.0);
    let radius = 90.0;
    let angle = |v: f64| PI * (1.0 - (v / full).clamp(0.0, 1.0) as f32);
    let point = |a: f32, r: f32| center + Vec2::new(a.cos() * r, -a.sin() * r);
    for (from, to, color) in [
        (0.0, warn, palette::GOOD),
        (warn, critical, palette::WARN),
        (critical, full, palette::BAD),
    ] {
        let steps = 24;
        let pts: Vec<Pos2> = (0..=steps)
            .map(|i| {
                let v = from + (to - from) * i as f64 / steps as f64;
                point(angle(v), radius)
            })
            .collect();
        p.add(Shape::line(
            pts,
            Stroke::new(14.0, color.gamma_multiply(0.8)),
        ));
    }
    let needle = point(angle(value), radius - 4.0);
    let ink = ui.visuals().text_color();
    p.line_segment([center, needle], Stroke::new(3.0, ink));
    p.circle_filled(center, 5.0, ink);
    let color = if value >= critical {
        palette::BAD
    } else if value >= warn {
        palette::WARN
    } else {
        palette::GOOD
    };
    p.text(
        center + Vec2::new(0.0, 6.0),
        Align2::CENTER_TOP,
        format::percent(value),
        FontId::proportional(18.0),
        color,
    );
    p.text(
        point(PI, radius + 2.0) + Vec2::new(0.0, 8.0),
        Align2::CENTER_TOP,
        "0%",
        FontId::proportional(10.0),
        Color32::GRAY,
    );
    p.text(
        point(0.0, radius + 2.0) + Vec2::new(0.0, 8.0),
        Align2::CENTER_TOP,
        format::percent(full),
        FontId::proportional(10.0),
        Color32::GRAY,
    );
    let label = format!(
        "{title}: {} (warning at {}, critical at {})",
        format::percent(value),
        format::percent(warn),
        format::percent(critical)
    );
    resp.widget_info(|| WidgetInfo::labeled(Role::Meter, true, &label));
    resp.on_hover_text(label);
}
