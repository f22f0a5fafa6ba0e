//! Horizontal bars by category (a model), segments stacked left to right (input, output,
//! cached tokens), the total and share at the end of each bar, a legend of the
//! segments, and a PNG export button.

use crate::format;
use crate::gui::export::chart::{ChartData, ChartKind};
use crate::gui::export::{FileKind, export_buttons};
use egui::accesskit::Role;
use egui::{Align2, FontId, Pos2, Rect, RichText, Sense, Ui, Vec2, WidgetInfo};

const ROW_H: f32 = 22.0;
const LABEL_W: f32 = 170.0;
const VALUE_W: f32 = 120.0;

/// Draws `chart` (a [`ChartKind::Bars`]); returns an export asked for.
pub fn bars(ui: &mut Ui, chart: &ChartData) -> Option<FileKind> {
    let mut export = None;
    ui.horizontal(|ui| {
        ui.label(RichText::new(&chart.title).strong());
        export = export_buttons(ui, &chart.title, &[FileKind::Png]);
    });
    let ChartKind::Bars(bars) = &chart.kind else {
        return export;
    };
    if bars.is_empty() {
        ui.label(RichText::new("No LLM calls in this selection").weak());
        return export;
    }
    // Legend of segment names, when there is more than one.
    let mut names: Vec<(&str, egui::Color32)> = Vec::new();
    for b in bars {
        for (n, _, c) in &b.segments {
            if !names.iter().any(|(m, _)| m == n) {
                names.push((n, *c));
            }
        }
    }
    if names.len() > 1 {
        ui.horizontal(|ui| {
            for (n, c) in &names {
                let (r, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                ui.painter().rect_filled(r, 2.0, *c);
                ui.label(*n);
            }
        });
    }
    let totals: Vec<f64> = bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.1).sum())
        .collect();
    let grand: f64 = totals.iter().sum();
    let max = totals.iter().copied().fold(0.0, f64::max);
    let unit = chart.unit;
    let text = ui.visuals().text_color();
    let font = FontId::proportional(12.0);
    for (b, total) in bars.iter().zip(&totals) {
        let (rect, resp) =
            ui.allocate_exact_size(Vec2::new(ui.available_width(), ROW_H), Sense::hover());
        let p = ui.painter_at(rect);
        p.text(
            Pos2::new(rect.left(), rect.center().y),
            Align2::LEFT_CENTER,
            &b.label,
            font.clone(),
            text,
        );
        let track = Rect::from_min_max(
            Pos2::new(rect.left() + LABEL_W, rect.top() + 4.0),
            Pos2::new(rect.right() - VALUE_W, rect.bottom() - 4.0),
        );
        let mut x = track.left();
        for (_, v, c) in &b.segments {
            let w = if max > 0.0 {
                (*v / max) as f32 * track.width()
            } else {
                0.0
            };
            p.rect_filled(
                Rect::from_min_max(Pos2::new(x, track.top()), Pos2::new(x + w, track.bottom())),
                1.0,
                *c,
            );
            x += w;
        }
        let share = if grand > 0.0 { total / grand } else { 0.0 };
        p.text(
            Pos2::new(x + 6.0, rect.center().y),
            Align2::LEFT_CENTER,
            format!("{} · {}", unit(*total), format::percent(share)),
            font.clone(),
            text,
        );
        let detail: Vec<String> = b
            .segments
            .iter()
            .map(|(n, v, _)| format!("{n}: {}", unit(*v)))
            .collect();
        let label = format!("{}: {} ({})", b.label, unit(*total), format::percent(share));
        resp.widget_info(|| WidgetInfo::labeled(Role::Row, true, &label));
        resp.on_hover_text(format!("{label}\n{}", detail.join("\n")));
    }
    export
}
