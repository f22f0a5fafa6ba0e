//! A KPI card: title, the figure, its change against the previous period of equal
//! length, and a sparkline. Screen readers get all of it as the card's label.

use super::sparkline::sparkline;
use egui::accesskit::Role;
use egui::{Color32, Frame, Margin, Response, RichText, Sense, Ui, Vec2, WidgetInfo};

/// Whether a rise is good news, bad news, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Less is better (latency, errors, cost).
    Lower,
    /// Neither (traffic).
    Neutral,
}

/// What one card shows.
pub struct Kpi<'a> {
    /// Title, e.g. "Requests/s".
    pub title: &'a str,
    /// The figure, formatted.
    pub value: String,
    /// A line under it, e.g. "1,234 calls".
    pub detail: String,
    /// Change against the previous period, formatted (`+12%`), with the raw ratio sign.
    pub change: Option<(String, f64)>,
    /// Which direction is good.
    pub better: Better,
    /// Recent values for the sparkline.
    pub trend: Vec<f64>,
    /// Sparkline colour.
    pub color: Color32,
}

/// Draws the card.
pub fn kpi_card(ui: &mut Ui, kpi: &Kpi<'_>, width: f32) -> Response {
    let frame = Frame::group(ui.style())
        .inner_margin(Margin::same(10))
        .fill(ui.visuals().faint_bg_color);
    let inner = frame.show(ui, |ui| {
        ui.set_width(width);
        ui.vertical(|ui| {
            ui.label(RichText::new(kpi.title).small().strong());
            ui.horizontal(|ui| {
                ui.label(RichText::new(&kpi.value).size(24.0).strong());
                if let Some((text, sign)) = &kpi.change {
                    let color = match kpi.better {
                        Better::Lower if *sign > 0.0 => crate::gui::palette::BAD,
                        Better::Lower if *sign < 0.0 => crate::gui::palette::GOOD,
                        _ => ui.visuals().weak_text_color(),
                    };
                    ui.label(RichText::new(text).color(color))
                        .on_hover_text("Change against the previous period of equal length");
                }
            });
            ui.label(RichText::new(&kpi.detail).small().weak());
            sparkline(ui, &kpi.trend, Vec2::new(width, 28.0), kpi.color);
        });
    });
    let label = format!(
        "{}: {}{}, {}",
        kpi.title,
        kpi.value,
        kpi.change
            .as_ref()
            .map(|(t, _)| format!(" ({t} vs previous period)"))
            .unwrap_or_default(),
        kpi.detail
    );
    let response = ui.interact(
        inner.response.rect,
        ui.scope_id().with(("kpi", kpi.title)),
        Sense::hover(),
    );
    response.widget_info(|| WidgetInfo::labeled(Role::Group, true, &label));
    response
}
