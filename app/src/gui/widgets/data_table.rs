//! A table drawn from [`TableData`]: click a heading to sort by it (again to reverse),
//! links in the columns that lead somewhere, CSV and JSON export buttons by the title.
//! What is drawn is what is exported.

use crate::gui::export::table::{Cell, TableData};
use crate::gui::export::{FileKind, export_buttons};
use egui::{Color32, Grid, RichText, Sense, Ui, Vec2};

/// What the user did with a table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TableResponse {
    /// A link clicked: the row's cells and the column.
    pub clicked: Option<(Vec<Cell>, usize)>,
    /// An export asked for.
    pub export: Option<FileKind>,
}

/// A colour for a row (from its cells).
pub type RowColor<'a> = &'a dyn Fn(&[Cell]) -> Option<Color32>;
/// A colour for a cell (from its row and column).
pub type CellColor<'a> = &'a dyn Fn(&[Cell], usize) -> Option<Color32>;

/// Whether a cell (by its row and column) is a link.
pub type CellTest<'a> = &'a dyn Fn(&[Cell], usize) -> bool;

/// How a table is drawn.
pub struct TableLook<'a> {
    /// Columns whose cells are links.
    pub links: &'a [usize],
    /// Of those, the cells that really lead somewhere (all when `None`).
    pub link_if: Option<CellTest<'a>>,
    /// A colour swatch before the first cell of a row (a model's colour).
    pub swatch: Option<RowColor<'a>>,
    /// A colour for a cell's text (red error counts), by row and column.
    pub tint: Option<CellColor<'a>>,
}

/// Draws `table` sorted as the user chose (remembered under `id`).
pub fn data_table(ui: &mut Ui, id: &str, table: &TableData, look: &TableLook<'_>) -> TableResponse {
    let mut out = TableResponse::default();
    ui.horizontal(|ui| {
        ui.label(RichText::new(&table.title).strong());
        out.export = export_buttons(ui, &table.title, &[FileKind::Csv, FileKind::Json]);
    });
    let sort_id = ui.make_persistent_id(("table_sort", id));
    let mut sort: Option<(usize, bool)> = ui.data(|d| d.get_temp(sort_id));
    let mut rows = table.clone();
    if let Some((col, desc)) = sort
        && col < rows.columns.len()
    {
        rows.sort_by(col, desc);
    }
    if rows.rows.is_empty() {
        ui.label(RichText::new("No rows in this selection").weak());
        return out;
    }
    Grid::new(id)
        .striped(true)
        .num_columns(rows.columns.len())
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            for (i, c) in rows.columns.iter().enumerate() {
                let arrow = match sort {
                    Some((col, true)) if col == i => " v",
                    Some((col, false)) if col == i => " ^",
                    _ => "",
                };
                let heading = ui.add(
                    egui::Button::new(RichText::new(format!("{}{arrow}", c.title)).strong())
                        .frame(false),
                );
                // Named for what it does, so that it is not taken for a view's button.
                let name = format!("Sort by {}", c.title);
                heading.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, &name)
                });
                if heading.on_hover_text(&name).clicked() {
                    sort = Some(match sort {
                        Some((col, desc)) if col == i => (i, !desc),
                        // Text ascending first, figures largest first.
                        _ => (i, rows.rows[0][i].value.is_number()),
                    });
                }
            }
            ui.end_row();
            for row in &rows.rows {
                for (i, cell) in row.iter().enumerate() {
                    let swatch = if i == 0 {
                        look.swatch.and_then(|f| f(row))
                    } else {
                        None
                    };
                    let tint = look.tint.and_then(|f| f(row, i));
                    let text = match tint {
                        Some(c) => RichText::new(&cell.shown).color(c),
                        None => RichText::new(&cell.shown),
                    };
                    ui.horizontal(|ui| {
                        if let Some(color) = swatch {
                            let (rect, _) =
                                ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                            ui.painter().rect_filled(rect, 2.0, color);
                        }
                        let link =
                            look.links.contains(&i) && look.link_if.is_none_or(|f| f(row, i));
                        if link {
                            if ui.link(text).clicked() {
                                out.clicked = Some((row.clone(), i));
                            }
                        } else {
                            ui.label(text);
                        }
                    });
                }
                ui.end_row();
            }
        });
    if let Some(s) = sort {
        ui.data_mut(|d| d.insert_temp(sort_id, s));
    }
    out
}
