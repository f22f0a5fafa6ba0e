//! The Traces view: every trace in the selection — start, root span, service, duration,
//! LLM calls, tokens, cost, status — sortable by each column, fetched a window at a
//! time so that a million rows scroll smoothly. Click or Enter opens a trace; ↑↓ move.

use crate::gui::cache::QueryCache;
use super::{Action, View, ViewAction, ViewCtx};
use crate::gui::export::{ExportItem, FileKind, export_buttons};
use crate::gui::queries::TracesPage;
use crate::gui::paged_rows::{
    ROW_H, Window, arrow_step, cell, enter_pressed, placeholder_row, row, scroll_area, window_for,
};
use crate::gui::palette;
use crate::format;
use egui::accesskit::Role;
use egui::{RichText, Ui, WidgetInfo, vec2};
use store::{Filter, SortDir, TraceRow, TraceSort};

/// The view's label, which drill-downs show.
pub const TRACES: &str = "Traces";

/// Every trace of the selection, sortable; the view's own state.
#[derive(Default)]
pub struct TracesView {
    sort: TraceSort,
    dir: SortDir,
    selected: Option<usize>,
    visible: std::ops::Range<usize>,
    /// An export of every trace in the selection, asked for this frame.
    export: Option<FileKind>,
}

impl View for TracesView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let filter = &ctx.resolved.filter;
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        if let Some(trace_id) = self.table(ui, ctx.cache, filter) {
            action.push(Action::OpenTrace {
                trace_id,
                highlights: Vec::new(),
            });
        }
        action.export_if(self.export.take(), || ExportItem::Selection {
            title: "Traces".into(),
            table: store::ExportTable::Traces,
            filter: Box::new(filter.clone()),
            store: ctx.cache.store().clone(),
        });
        action
    }
}

const COLUMNS: [(&str, Option<TraceSort>, f32); 8] = [
    ("Start", Some(TraceSort::Start), 150.0),
    ("Root span", Some(TraceSort::Name), 220.0),
    ("Service", Some(TraceSort::Service), 140.0),
    ("Duration", Some(TraceSort::Duration), 90.0),
    ("LLM calls", Some(TraceSort::LlmCalls), 80.0),
    ("Tokens", Some(TraceSort::Tokens), 80.0),
    ("Cost", Some(TraceSort::Cost), 80.0),
    ("Status", Some(TraceSort::Status), 70.0),
];

impl TracesView {
    /// Draws the table; returns the trace id to open.
    fn table(&mut self, ui: &mut Ui, cache: &QueryCache, filter: &Filter) -> Option<String> {
        let mut open = None;
        let (offset, limit) = window_for(&self.visible);
        let answer =
            cache.get::<TracesPage>((filter.clone(), self.sort, self.dir, offset, limit));
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let Some(data) = answer.value.as_deref() else {
            ui.spinner();
            return None;
        };
        let (win_offset, rows, total) = (data.0, &data.1, data.2 as usize);
        let window = Window {
            offset: win_offset,
            rows,
        };
        ui.horizontal(|ui| {
            ui.label(format!("{} traces", format::integer(total as u64)));
            self.export = export_buttons(
                ui,
                "the traces of the selection",
                &[FileKind::Csv, FileKind::Json, FileKind::Parquet],
            );
        });
        // Header: click to sort, again to reverse.
        ui.horizontal(|ui| {
            for (title, sort, width) in COLUMNS {
                let Some(sort) = sort else { continue };
                let arrow = match (self.sort == sort, self.dir) {
                    (true, SortDir::Asc) => " ^",
                    (true, SortDir::Desc) => " v",
                    _ => "",
                };
                // Left-aligned like the cells below it.
                let button = ui
                    .allocate_ui_with_layout(
                        vec2(width, 20.0),
                        egui::Layout::left_to_right(egui::Align::Center),
                        |ui| {
                            ui.set_min_width(width);
                            ui.add(
                                egui::Button::new(
                                    RichText::new(format!("{title}{arrow}")).strong(),
                                )
                                .frame(false),
                            )
                        },
                    )
                    .inner;
                if button
                    .on_hover_text(format!("Sort by {}", title.to_lowercase()))
                    .clicked()
                {
                    if self.sort == sort {
                        self.dir = match self.dir {
                            SortDir::Asc => SortDir::Desc,
                            SortDir::Desc => SortDir::Asc,
                        };
                    } else {
                        self.sort = sort;
                        self.dir = SortDir::Desc;
                    }
                    self.selected = None;
                }
            }
        });
        // Keyboard: arrows move the selection, Enter opens it.
        let step = arrow_step(ui, self.selected, total);
        if step.is_some() {
            self.selected = step;
        }
        if enter_pressed(ui)
            && let Some(row) = self.selected.and_then(|s| window.get(s))
        {
            open = Some(row.trace_id.clone());
        }
        let area = scroll_area(ui, step, &self.visible);
        area.show_rows(ui, ROW_H, total, |ui, range| {
            self.visible = range.clone();
            for i in range {
                match window.get(i) {
                    Some(row) => {
                        if trace_row(ui, row, self.selected == Some(i)) {
                            self.selected = Some(i);
                            open = Some(row.trace_id.clone());
                        }
                    }
                    None => placeholder_row(ui),
                }
            }
        });
        open
    }
}

/// One row; true when clicked.
fn trace_row(ui: &mut Ui, t: &TraceRow, selected: bool) -> bool {
    let width: f32 = COLUMNS.iter().map(|c| c.2).sum::<f32>()
        + ui.spacing().item_spacing.x * COLUMNS.len() as f32;
    let (rect, response) = row(ui, width.max(ui.available_width()), selected);
    let cells = [
        format::local_time(t.start_ns),
        t.root_name.clone(),
        t.service.clone(),
        format::millis(t.duration_ns as f64 / 1e6),
        format::integer(t.llm_calls),
        format::count(t.tokens as f64),
        format::usd(t.cost_usd),
        if t.has_error {
            "error".into()
        } else {
            "ok".into()
        },
    ];
    let mut x = rect.left();
    for (i, ((_, _, w), text)) in COLUMNS.iter().zip(&cells).enumerate() {
        let color = match (i, t.has_error) {
            (7, true) => palette::BAD,
            (7, false) => palette::GOOD,
            _ => ui.visuals().text_color(),
        };
        cell(ui, rect, x, *w, text, color);
        x += w + ui.spacing().item_spacing.x;
    }
    let label = format!("trace {} {}", t.root_name, t.trace_id);
    let value = cells.join(", ");
    response.widget_info(|| {
        let mut info = WidgetInfo::labeled(Role::Row, true, &label);
        info.current_text_value = Some(value.clone());
        info
    });
    response.clicked()
}
