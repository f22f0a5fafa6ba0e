//! The Inspector: LLM calls with full-text search over prompts and responses and the
//! query language (`model:gpt-4o* status:error latency>2s "a phrase" -word`). A malformed
//! query is an inline error. Matches are highlighted; selecting a call shows it as the
//! span panel does, with a link to its trace.

use crate::gui::cache::QueryCache;
use super::{Action, View, ViewAction, ViewCtx};
use crate::gui::export::{ExportItem, FileKind, export_buttons};
use crate::gui::feedback::evaluation_list;
use crate::gui::queries::{CallsPage, SelectedCallTrace, TraceEvaluations};
use crate::gui::paged_rows::{
    ROW_H, Window, arrow_step, cell, enter_pressed, placeholder_row, row, scroll_area, window_for,
};
use crate::gui::span_panel::span_panel;
use crate::gui::widgets::conversation::highlighted;
use crate::gui::palette;
use crate::format;
use egui::accesskit::Role;
use egui::{RichText, ScrollArea, Sense, TextEdit, Ui, WidgetInfo, vec2};
use store::Query;
use store::{CallRow, EvalTarget, Evaluation, Filter};

/// The Inspector's name in the navigation (other views send queries to it).
pub const INSPECTOR: &str = "Inspector";

/// LLM calls with search; the view's state.
#[derive(Default)]
pub struct Inspector {
    /// The query as typed.
    query: String,
    selected: Option<(String, String)>,
    /// The selected row's place in the table, for ↑↓.
    selected_row: Option<usize>,
    visible: std::ops::Range<usize>,
    focus_search: bool,
    /// An export of every matching call, with the selection it applies to.
    export: Option<(FileKind, Filter)>,
}

impl View for Inspector {
    fn on_shortcut(&mut self) {
        self.focus_search = true;
    }

    fn show_query(&mut self, query: &str) {
        self.query = query.to_string();
        self.selected = None;
        self.selected_row = None;
    }

    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        if let Some(trace_id) = self.table(ui, ctx.cache, &ctx.resolved.filter) {
            // The trace shows the query's words highlighted too.
            let highlights = Query::parse(&self.query)
                .map(|q| q.highlights().to_vec())
                .unwrap_or_default();
            action.push(Action::OpenTrace {
                trace_id,
                highlights,
            });
        }
        if let Some((kind, filter)) = self.export.take() {
            action.push(Action::Export(
                Box::new(ExportItem::Selection {
                    title: "LLM calls".into(),
                    table: store::ExportTable::Calls,
                    filter: Box::new(filter),
                    store: ctx.cache.store().clone(),
                }),
                kind,
            ));
        }
        action
    }
}

impl Inspector {
    /// Draws the search and the calls over `base` (the filter bar's selection);
    /// returns the trace to open.
    fn table(&mut self, ui: &mut Ui, cache: &QueryCache, base: &Filter) -> Option<String> {
        let mut action = None;
        let parsed = Query::parse(&self.query);
        ui.horizontal(|ui| {
            let l = ui.label("Query");
            let edit = ui
                .add(
                    TextEdit::singleline(&mut self.query)
                        .hint_text("words \"a phrase\" -exclude model:gpt-4o* status:error latency>2s cost>0.01")
                        .desired_width(ui.available_width() - 20.0),
                )
                .labelled_by(l.id);
            if std::mem::take(&mut self.focus_search) {
                edit.request_focus();
            }
        });
        let query = match parsed {
            Ok(q) => q,
            Err(e) => {
                ui.colored_label(palette::BAD, format!("Query error {e}"));
                return None;
            }
        };
        let mut filter = base.clone();
        query.apply(&mut filter);
        let mut highlights: Vec<String> = base.text.clone();
        highlights.extend(query.highlights().iter().cloned());
        let (offset, limit) = window_for(&self.visible);
        let answer = cache.get::<CallsPage>((filter.clone(), offset, limit));
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let Some(data) = answer.value.as_deref() else {
            ui.spinner();
            return None;
        };
        let window = Window {
            offset: data.0,
            rows: &data.1,
        };
        let total = data.2 as usize;
        ui.horizontal(|ui| {
            ui.label(format!("{} matching calls", format::integer(total as u64)));
            if let Some(k) = export_buttons(
                ui,
                "the matching LLM calls",
                &[FileKind::Csv, FileKind::Json, FileKind::Parquet],
            ) {
                self.export = Some((k, filter.clone()));
            }
        });

        if let Some((trace_id, span_id)) = self.selected.clone() {
            egui::Panel::right("inspector_call")
                .resizable(true)
                .default_size(460.0)
                .show(ui, |ui| {
                    if ui.link("Open its trace").clicked() {
                        action = Some(trace_id.clone());
                    }
                    let id = store::hex_to_trace_id(&trace_id).unwrap_or_default();
                    let tree = cache.get::<SelectedCallTrace>(id);
                    let said = cache.get::<TraceEvaluations>(id);
                    ScrollArea::vertical()
                        .id_salt("inspector_call_scroll")
                        .show(ui, |ui| {
                            match tree
                                .value
                                .as_deref()
                                .filter(|t| t.trace_id == trace_id)
                                .and_then(|t| t.spans.iter().find(|s| s.span_id == span_id))
                            {
                                Some(span) => span_panel(ui, span, &highlights, |ui| {
                                    call_evaluations(ui, span, said.value.as_deref());
                                }),
                                None => {
                                    ui.spinner();
                                }
                            }
                        });
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if enter_pressed(ui)
                && let Some((trace, _)) = &self.selected
            {
                action = Some(trace.clone());
            }
            // ↑↓ move the selection; the view follows it.
            let step = arrow_step(ui, self.selected_row, total);
            if let Some(row) = step.and_then(|next| window.get(next)) {
                self.selected_row = step;
                self.selected = Some((row.trace_id.clone(), row.span_id.clone()));
            }
            header(ui);
            let area = scroll_area(ui, step, &self.visible);
            area.show_rows(ui, ROW_H, total, |ui, range| {
                self.visible = range.clone();
                for i in range {
                    match window.get(i) {
                        Some(row) => {
                            let selected = self
                                .selected
                                .as_ref()
                                .is_some_and(|(t, s)| *t == row.trace_id && *s == row.span_id);
                            if call_row(ui, row, selected, &highlights) {
                                self.selected = Some((row.trace_id.clone(), row.span_id.clone()));
                                self.selected_row = Some(i);
                            }
                        }
                        None => placeholder_row(ui),
                    }
                }
            });
        });
        action
    }
}

/// Column widths; 0 shares the remaining width.
const WIDTHS: [f32; 8] = [140.0, 170.0, 0.0, 0.0, 110.0, 70.0, 70.0, 50.0];
const TITLES: [&str; 8] = [
    "Time",
    "Model",
    "Prompt",
    "Response",
    "Tokens in / out",
    "Cost",
    "Latency",
    "Status",
];

fn flexible_width(total: f32) -> f32 {
    ((total - WIDTHS.iter().sum::<f32>()) / 2.0).max(120.0)
}

fn header(ui: &mut Ui) {
    let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), ROW_H), Sense::hover());
    let flexible = flexible_width(rect.width());
    let mut x = rect.left();
    for (w, title) in WIDTHS.iter().zip(TITLES) {
        let w = if *w == 0.0 { flexible } else { *w };
        cell(ui, rect, x, w, title, ui.visuals().strong_text_color());
        x += w;
    }
}

/// One call: time, model, prompt and response excerpts (matches highlighted), tokens,
/// cost, latency, status. True when clicked.
fn call_row(ui: &mut Ui, c: &CallRow, selected: bool, highlights: &[String]) -> bool {
    let (rect, response) = row(ui, ui.available_width(), selected);
    let one_line = |s: &Option<String>| s.as_deref().unwrap_or("").replace('\n', " ");
    let (prompt, reply) = (one_line(&c.prompt_excerpt), one_line(&c.response_excerpt));
    let texts: [String; 8] = [
        format::local_time(c.start_ns),
        c.model.clone(),
        prompt.clone(),
        reply.clone(),
        format!(
            "{} / {}",
            c.input_tokens.unwrap_or(0),
            c.output_tokens.unwrap_or(0)
        ),
        c.cost_usd.map_or("—".into(), format::usd),
        format::millis(c.duration_ns as f64 / 1e6),
        if c.is_error { "error" } else { "ok" }.into(),
    ];
    let flexible = flexible_width(rect.width());
    let mut x = rect.left();
    for (i, (w, text)) in WIDTHS.iter().zip(&texts).enumerate() {
        let w = if *w == 0.0 { flexible } else { *w };
        if i == 2 || i == 3 {
            let clip = egui::Rect::from_min_size(egui::pos2(x, rect.top()), vec2(w - 6.0, ROW_H));
            let mut job = highlighted(text, highlights, ui.visuals().text_color());
            job.wrap.max_width = f32::INFINITY;
            let galley = ui.fonts_mut(|f| f.layout_job(job));
            ui.painter().with_clip_rect(clip).galley(
                egui::pos2(x + 2.0, rect.center().y - galley.size().y / 2.0),
                galley,
                ui.visuals().text_color(),
            );
        } else {
            let color = match (i, c.is_error) {
                (7, true) => palette::BAD,
                (7, false) => palette::GOOD,
                _ => ui.visuals().text_color(),
            };
            cell(ui, rect, x, w - 6.0, text, color);
        }
        x += w;
    }
    let label = format!("call {} {}", c.model, format::local_time(c.start_ns));
    let value = format!("prompt: {prompt} | response: {reply}");
    response.widget_info(|| {
        let mut info = WidgetInfo::labeled(Role::Row, true, &label);
        info.current_text_value = Some(value.clone());
        info
    });
    response.clicked()
}

/// What is said about the selected call (feedback is given in its trace).
fn call_evaluations(ui: &mut Ui, span: &store::TraceSpan, said: Option<&Vec<Evaluation>>) {
    let Some(said) = said else {
        return;
    };
    let about: Vec<&Evaluation> = said
        .iter()
        .filter(|e| e.target == EvalTarget::Span && e.span_id.as_deref() == Some(&span.span_id))
        .collect();
    ui.separator();
    ui.label(RichText::new("Evaluations of this call").strong());
    evaluation_list(ui, &about);
}
