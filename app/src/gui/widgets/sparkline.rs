//! A small line of recent values inside a KPI card: the shape, not the numbers.

use egui::{Color32, Pos2, Sense, Shape, Stroke, Ui, Vec2};

/// Draws `values` (oldest first) scaled into `size`; nothing for fewer than two values.
pub fn sparkline(ui: &mut Ui, values: &[f64], size: Vec2, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return;
    }
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let lo = lo.min(0.0);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len() - 1;
    let points: Vec<Pos2> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = if v.is_finite() { *v } else { lo };
            Pos2::new(
                rect.left() + rect.width() * i as f32 / n as f32,
                rect.bottom() - rect.height() * ((v - lo) / span) as f32,
            )
        })
        .collect();
    let mut fill = points.clone();
    fill.push(rect.right_bottom());
    fill.push(rect.left_bottom());
    let painter = ui.painter_at(rect);
    painter.add(Shape::convex_polygon(
        fill,
        color.gamma_multiply(0.12),
        Stroke::NONE,
    ));
    painter.add(Shape::line(points, Stroke::new(1.5, color)));
}
