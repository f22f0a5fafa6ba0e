//! Tables over millions of rows: only the rows on screen are laid out
//! (`ScrollArea::show_rows`), and only a window of rows around them is fetched from the
//! store, through the query cache, as the user scrolls. Rows not fetched yet show as
//! placeholders.

use egui::{Key, Rect, Response, RichText, ScrollArea, Sense, Ui, vec2};
use std::ops::Range;

/// Height of a table row.
pub const ROW_H: f32 = 22.0;

/// Rows fetched per window.
pub const WINDOW: u64 = 200;

/// The window to fetch so that `visible` is covered: aligned to half a window, so that
/// scrolling a little does not refetch.
pub fn window_for(visible: &Range<usize>) -> (u64, u64) {
    let half = WINDOW / 2;
    let offset = (visible.start as u64 / half).saturating_sub(1) * half;
    (offset, WINDOW)
}

/// A fetched window of rows and where it starts.
pub struct Window<'a, T> {
    /// Index of the first row.
    pub offset: u64,
    /// The rows.
    pub rows: &'a [T],
}

impl<T> Window<'_, T> {
    /// Row `i` of the whole table, if fetched.
    pub fn get(&self, i: usize) -> Option<&T> {
        let i = (i as u64).checked_sub(self.offset)?;
        self.rows.get(i as usize)
    }
}

/// The row ↑ or ↓ moves the selection to in a table of `total` rows; `None` when no
/// arrow was pressed, the keyboard is in a text field, or the table is empty.
pub fn arrow_step(ui: &Ui, selected: Option<usize>, total: usize) -> Option<usize> {
    if total == 0 || typing(ui) {
        return None;
    }
    let (down, up) = ui.input(|i| (i.key_pressed(Key::ArrowDown), i.key_pressed(Key::ArrowUp)));
    if !(down || up) {
        return None;
    }
    Some(match (selected, down) {
        (None, _) => 0,
        (Some(s), true) => (s + 1).min(total - 1),
        (Some(s), false) => s.saturating_sub(1),
    })
}

/// Whether Enter was pressed outside any text field (opens the selected row).
pub fn enter_pressed(ui: &Ui) -> bool {
    !typing(ui) && ui.input(|i| i.key_pressed(Key::Enter))
}

fn typing(ui: &Ui) -> bool {
    ui.ctx().memory(|m| m.focused().is_some())
}

/// The table's scroll area, scrolled to centre `target` when it is outside the rows
/// shown last frame (`visible`).
pub fn scroll_area(ui: &Ui, target: Option<usize>, visible: &Range<usize>) -> ScrollArea {
    let area = ScrollArea::vertical().auto_shrink(false);
    match target {
        Some(t) if t < visible.start || t + 1 >= visible.end => {
            let row_h = ROW_H + ui.spacing().item_spacing.y;
            let half = visible.len() as f32 * row_h / 2.0;
            area.vertical_scroll_offset((t as f32 * row_h - half).max(0.0))
        }
        _ => area,
    }
}

/// A clickable row `width` wide, drawn as selected or hovered.
pub fn row(ui: &mut Ui, width: f32, selected: bool) -> (Rect, Response) {
    let (rect, response) = ui.allocate_exact_size(vec2(width, ROW_H), Sense::click());
    if selected {
        let fill = ui.visuals().selection.bg_fill.gamma_multiply(0.5);
        ui.painter().rect_filled(rect, 0.0, fill);
    } else if response.hovered() {
        ui.painter()
            .rect_filled(rect, 0.0, ui.visuals().faint_bg_color);
    }
    (rect, response)
}

/// A row that is not fetched yet.
pub fn placeholder_row(ui: &mut Ui) {
    ui.add_sized(
        vec2(ui.available_width(), ROW_H),
        egui::Label::new(RichText::new("…").weak()),
    );
}

/// One cell's text, clipped to the cell `x`..`x + width` of `row`.
pub fn cell(ui: &Ui, row: Rect, x: f32, width: f32, text: &str, color: egui::Color32) {
    let clip = Rect::from_min_size(egui::pos2(x, row.top()), vec2(width, ROW_H));
    ui.painter().with_clip_rect(clip).text(
        egui::pos2(x + 2.0, row.center().y),
        egui::Align2::LEFT_CENTER,
        text,
        egui::FontId::proportional(13.0),
        color,
    );
}

/// A column title `width` wide, left-aligned (in a row of them, or a grid's cell).
pub fn title_cell(ui: &mut Ui, title: &str, width: f32) {
    ui.allocate_ui_with_layout(
        vec2(width, 20.0),
        egui::Layout::left_to_right(egui::Align::Center),
        |ui| {
            ui.set_min_width(width);
            ui.label(RichText::new(title).strong());
        },
    );
}

/// A table's column titles, each `(title, width)`, above rows drawn with
/// [`text_row`] or [`cell`].
pub fn column_titles(ui: &mut Ui, columns: &[(&str, f32)]) {
    ui.horizontal(|ui| {
        for (title, width) in columns {
            title_cell(ui, title, *width);
        }
    });
}

/// A clickable row of text cells `widths` wide, named `label` for assistive
/// technology (its value: the cells' texts); `alert` colours one cell as bad. True when
/// clicked.
pub fn text_row(
    ui: &mut Ui,
    widths: &[f32],
    texts: &[String],
    alert: Option<usize>,
    selected: bool,
    label: &str,
) -> bool {
    let gap = ui.spacing().item_spacing.x;
    let width: f32 = widths.iter().map(|w| w + gap).sum();
    let (rect, response) = row(ui, width.max(ui.available_width()), selected);
    let mut x = rect.left();
    for (i, (w, text)) in widths.iter().zip(texts).enumerate() {
        let color = if alert == Some(i) {
            crate::gui::palette::BAD
        } else {
            ui.visuals().text_color()
        };
        cell(ui, rect, x, *w, text, color);
        x += w + gap;
    }
    let value = texts.join(", ");
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::labeled(egui::accesskit::Role::Row, true, label);
        info.current_text_value = Some(value.clone());
        info
    });
    response.clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_what_is_visible_and_move_in_half_steps() {
        assert_eq!(window_for(&(0..30)), (0, WINDOW));
        assert_eq!(window_for(&(120..150)), (0, WINDOW));
        assert_eq!(window_for(&(250..280)), (100, WINDOW));
        let (o, n) = window_for(&(5_000..5_040));
        assert!(o <= 5_000 && o + n >= 5_040);
    }
}
