//! A call's duration split into its phases — queued, to the first token, generating,
//! the rest — as one bar with a legend of durations: in the call's details, and the
//! same colours inside its span in the trace's timeline. Screen readers get the legend
//! as the bar's label.

use crate::format;
use crate::gui::palette;
use egui::{Painter, Rect, Response, RichText, Sense, Ui, WidgetInfo, pos2, vec2};
use store::CallPhases;

/// The phases' names, in [`palette::PHASES`]' order; `prefill` names the second one
/// when the server reported its prefill, else it is the time to the first token.
fn names(prefill: bool) -> [&'static str; 4] {
    [
        "queued",
        if prefill { "prefill" } else { "to first token" },
        "generating",
        "other",
    ]
}

fn durations(p: &CallPhases) -> [i64; 4] {
    [p.queue_ns, p.first_token_ns, p.decode_ns, p.other_ns]
}

/// The phases in words, e.g. "to first token 420 ms · generating 1.58 s".
pub fn describe(p: &CallPhases, prefill: bool) -> String {
    names(prefill)
        .iter()
        .zip(durations(p))
        .filter(|(_, ns)| *ns > 0)
        .map(|(name, ns)| format!("{name} {}", format::millis(ns as f64 / 1e6)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Paints the phases across `rect` (the whole duration), each in its colour.
pub fn paint_phases(painter: &Painter, rect: Rect, p: &CallPhases) {
    let total: i64 = durations(p).iter().sum();
    if total <= 0 {
        return;
    }
    let mut x = rect.left();
    for (ns, color) in durations(p).into_iter().zip(palette::PHASES) {
        let w = rect.width() * ns as f32 / total as f32;
        if w > 0.0 {
            painter.rect_filled(
                Rect::from_min_max(pos2(x, rect.top()), pos2(x + w, rect.bottom())),
                0.0,
                color,
            );
        }
        x += w;
    }
}

/// Draws the bar and its legend.
pub fn phase_bar(ui: &mut Ui, p: &CallPhases, prefill: bool) -> Response {
    let text = describe(p, prefill);
    let width = ui.available_width().min(420.0);
    let (rect, response) = ui.allocate_exact_size(vec2(width, 12.0), Sense::hover());
    paint_phases(ui.painter(), rect, p);
    response.widget_info(|| {
        WidgetInfo::labeled(
            egui::accesskit::Role::Meter,
            true,
            format!("Phases: {text}"),
        )
    });
    ui.horizontal_wrapped(|ui| {
        for ((name, ns), color) in names(prefill).iter().zip(durations(p)).zip(palette::PHASES) {
            if ns <= 0 {
                continue;
            }
            let (swatch, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
            ui.painter().rect_filled(swatch, 2.0, color);
            ui.label(RichText::new(format!("{name} {}", format::millis(ns as f64 / 1e6))).small());
        }
    });
    response
}
