//! One trace: the Gantt timeline (or the icicle flamegraph), where its time went, and
//! the selected span's details; copy the trace id or export it as OTLP JSON. It is not
//! in the navigation: views open it over themselves ([`super::Action::OpenTrace`]).

use crate::format;
use crate::gui::cache::QueryCache;
use crate::gui::feedback::{FeedbackEditor, FeedbackRequest, Subject, evaluation_list};
use crate::gui::palette;
use crate::gui::queries::{OpenTrace, TraceEvaluations};
use crate::gui::span_panel::span_panel;
use crate::gui::tool_steps::{requested_by, tool_call, tool_executions};
use crate::gui::widgets::flamegraph::flamegraph;
use crate::gui::widgets::gantt::{GanttRow, TimeView, gantt};
use crate::gui::widgets::phase_bar;
use crate::gui::widgets::span_bar::SpanBar;
use egui::{RichText, ScrollArea, Ui};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use store::{EvalTarget, Evaluation, SpanClass, StatusCode, TraceSpan, TraceTree};

/// The state of an open trace.
pub struct TraceView {
    /// The trace id (hex).
    pub trace_id: String,
    /// Words marked in the conversations.
    highlights: Vec<String>,
    collapsed: HashSet<usize>,
    selected: Option<usize>,
    time: TimeView,
    flame: bool,
    export_status: Arc<Mutex<Option<String>>>,
    /// The user's feedback, on the selected span or the whole trace.
    feedback: FeedbackEditor,
    /// Whether the feedback edited is on the whole trace.
    feedback_on_trace: bool,
}

impl TraceView {
    /// Opens `trace_id`, with its first LLM call (else its root) selected and
    /// `highlights` marked in its conversations.
    pub fn new(trace_id: String, highlights: Vec<String>) -> Self {
        TraceView {
            trace_id,
            highlights,
            collapsed: HashSet::new(),
            selected: None,
            time: TimeView::default(),
            flame: false,
            export_status: Arc::new(Mutex::new(None)),
            feedback: FeedbackEditor::default(),
            feedback_on_trace: false,
        }
    }

    /// Draws the trace; returns feedback the user gave on it or one of its spans.
    pub fn ui(&mut self, ui: &mut Ui, cache: &QueryCache) -> Option<FeedbackRequest> {
        let id = self.trace_id.clone();
        let Some(numeric) = store::hex_to_trace_id(&id) else {
            ui.colored_label(palette::BAD, format!("{id:?} is not a trace id"));
            return None;
        };
        let answer = cache.get::<OpenTrace>(numeric);
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let Some(tree) = answer.value.filter(|t| t.trace_id == id) else {
            ui.spinner();
            return None;
        };
        if tree.spans.is_empty() {
            ui.label(format!("Trace {id} is not in this database."));
            return None;
        }
        let said = cache.get::<TraceEvaluations>(numeric);
        if let Some(e) = &said.error {
            ui.colored_label(palette::BAD, format!("Evaluations not read: {e}"));
        }
        let mut asked = None;
        if self.selected.is_none() {
            self.selected = Some(
                tree.spans
                    .iter()
                    .position(|s| s.model.is_some())
                    .unwrap_or(0),
            );
        }
        let t0 = tree.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let t1 = tree
            .spans
            .iter()
            .map(|s| s.start_ns + s.duration_ns)
            .max()
            .unwrap_or(t0);
        let total = (t1 - t0).max(1);
        self.header(ui, &tree, total, cache.store());
        egui::Panel::right("span_panel")
            .resizable(true)
            .default_size(460.0)
            .show(ui, |ui| {
                ScrollArea::vertical()
                    .id_salt("span_panel_scroll")
                    .show(ui, |ui| {
                        if let Some(span) = self.selected.and_then(|i| tree.spans.get(i)) {
                            let highlights = self.highlights.clone();
                            span_panel(ui, span, &highlights, |ui| {
                                if span.model.is_some() {
                                    tool_executions(ui, &requested_by(&tree, span));
                                } else if span.class == SpanClass::Tool {
                                    tool_call(ui, span);
                                }
                                asked = self.judgements(ui, &tree, span, said.value.as_deref());
                            });
                        }
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            ScrollArea::vertical()
                .id_salt("timeline_scroll")
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.selectable_value(&mut self.flame, false, "Timeline");
                        ui.selectable_value(&mut self.flame, true, "Flamegraph");
                        ui.separator();
                        for class in SpanClass::ALL {
                            swatch(ui, palette::span_class(class));
                            ui.label(class.label());
                        }
                        swatch(ui, palette::BAD);
                        ui.label("error");
                    });
                    if self.flame {
                        let blocks: Vec<SpanBar> =
                            tree.spans.iter().map(|s| span_bar(s, t0)).collect();
                        if let Some(i) = flamegraph(ui, &blocks, total, self.selected) {
                            self.selected = Some(i);
                        }
                    } else {
                        let rows = self.visible_rows(&tree, t0);
                        let action = gantt(ui, &rows, total, &mut self.time, self.selected);
                        if let Some(i) = action.clicked {
                            self.selected = Some(i);
                        }
                        if let Some(i) = action.toggled
                            && !self.collapsed.remove(&i)
                        {
                            self.collapsed.insert(i);
                        }
                    }
                    ui.add_space(12.0);
                    breakdown(ui, &tree, total);
                });
        });
        asked
    }

    fn header(
        &mut self,
        ui: &mut Ui,
        tree: &TraceTree,
        total: i64,
        database: &Arc<dyn store::Database>,
    ) {
        let calls = tree.spans.iter().filter(|s| s.model.is_some()).count();
        let cost: f64 = tree.spans.iter().filter_map(|s| s.cost_usd).sum();
        let errors = tree
            .spans
            .iter()
            .filter(|s| s.status == StatusCode::Error)
            .count();
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(format!("Trace {}", tree.trace_id))
                    .monospace()
                    .strong(),
            );
            if ui.button("Copy trace id").clicked() {
                ui.ctx().copy_text(tree.trace_id.clone());
            }
            if ui
                .button("Export OTLP JSON…")
                .on_hover_text(
                    "Save this trace as OTLP JSON; importing it gives the same trace back",
                )
                .clicked()
            {
                export(
                    tree.clone(),
                    database.clone(),
                    self.export_status.clone(),
                    ui.ctx().clone(),
                );
            }
            if let Some(status) = self.export_status.lock().expect("status lock").as_ref() {
                ui.label(status);
            }
        });
        ui.label(format!(
            "{} · {} spans · {} LLM calls · {} · {} errors",
            format::millis(total as f64 / 1e6),
            tree.spans.len(),
            calls,
            format::usd(cost),
            errors
        ));
        ui.separator();
    }

    /// The Gantt rows, in tree order, without the descendants of collapsed spans.
    fn visible_rows(&self, tree: &TraceTree, t0: i64) -> Vec<(usize, GanttRow)> {
        let mut out = Vec::new();
        let mut hide_below: Option<usize> = None;
        for (i, s) in tree.spans.iter().enumerate() {
            if let Some(depth) = hide_below {
                if s.depth > depth {
                    continue;
                }
                hide_below = None;
            }
            let has_children = tree.spans.get(i + 1).is_some_and(|n| n.depth > s.depth);
            let collapsed = self.collapsed.contains(&i);
            if collapsed {
                hide_below = Some(s.depth);
            }
            let mut tooltip = format!("{}\n{}", s.name, format::millis(s.duration_ns as f64 / 1e6));
            if let Some(entity) = &s.entity {
                tooltip.push_str(&format!("\n{} {entity}", s.class.label()));
            }
            if let Some(m) = &s.model {
                tooltip.push_str(&format!(
                    "\n{m}\n{} in · {} out tokens",
                    s.input_tokens.unwrap_or(0),
                    s.output_tokens.unwrap_or(0)
                ));
                if let Some(p) = s.phases() {
                    tooltip.push_str(&format!(
                        "\n{}",
                        phase_bar::describe(&p, s.timing.prefill_ns.is_some())
                    ));
                }
            }
            out.push((
                i,
                GanttRow {
                    bar: span_bar(s, t0),
                    has_children,
                    collapsed,
                    tooltip,
                },
            ));
        }
        out
    }

    /// What is said about the selected span, the trace and its session, and the user's
    /// feedback on the span or the trace.
    fn judgements(
        &mut self,
        ui: &mut Ui,
        tree: &TraceTree,
        span: &TraceSpan,
        said: Option<&Vec<Evaluation>>,
    ) -> Option<FeedbackRequest> {
        let Some(said) = said.map(Vec::as_slice) else {
            ui.separator();
            ui.spinner();
            return None;
        };
        let noun = if span.model.is_some() { "call" } else { "span" };
        let on_span = Subject {
            target: EvalTarget::Span,
            trace_id: Some(tree.trace_id.clone()),
            span_id: Some(span.span_id.clone()),
            session_id: None,
        };
        let on_trace = Subject {
            target: EvalTarget::Trace,
            span_id: None,
            ..on_span.clone()
        };
        let all = said;
        let of_session: Vec<&Evaluation> = all
            .iter()
            .filter(|e| e.target == EvalTarget::Session)
            .collect();
        for (heading, about) in [
            (
                format!("Evaluations of this {noun}"),
                all.iter()
                    .filter(|e| on_span.is_about(e))
                    .collect::<Vec<_>>(),
            ),
            (
                "Evaluations of this trace".to_string(),
                all.iter().filter(|e| on_trace.is_about(e)).collect(),
            ),
        ] {
            ui.separator();
            ui.label(RichText::new(heading).strong());
            evaluation_list(ui, &about);
        }
        if !of_session.is_empty() {
            ui.separator();
            ui.label(RichText::new("Evaluations of its session").strong());
            evaluation_list(ui, &of_session);
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.label(RichText::new("Your feedback on").strong());
            ui.selectable_value(&mut self.feedback_on_trace, false, format!("this {noun}"));
            ui.selectable_value(&mut self.feedback_on_trace, true, "this trace");
        });
        let subject = if self.feedback_on_trace {
            on_trace
        } else {
            on_span
        };
        self.feedback.ui(ui, subject, Some(said))
    }
}

/// A span as the timeline and the flamegraph draw it, its start relative to `t0`.
fn span_bar(s: &TraceSpan, t0: i64) -> SpanBar {
    SpanBar {
        name: s.name.clone(),
        depth: s.depth,
        start_ns: s.start_ns - t0,
        duration_ns: s.duration_ns,
        color: palette::span_class(s.class),
        error: s.status == StatusCode::Error,
        phases: s.phases(),
    }
}

fn swatch(ui: &mut Ui, color: egui::Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 2.0, color);
}

/// Where the time went: self time by span kind, and each LLM call, as bars.
fn breakdown(ui: &mut Ui, tree: &TraceTree, total: i64) {
    ui.label(RichText::new("Where the time went").strong());
    let mut by_class: BTreeMap<SpanClass, i64> = BTreeMap::new();
    for (i, s) in tree.spans.iter().enumerate() {
        let children: i64 = tree.spans[i + 1..]
            .iter()
            .take_while(|c| c.depth > s.depth)
            .filter(|c| c.depth == s.depth + 1)
            .map(|c| c.duration_ns)
            .sum();
        *by_class.entry(s.class).or_default() += (s.duration_ns - children).max(0);
    }
    let bar = |ui: &mut Ui, label: String, ns: i64, color| {
        ui.horizontal(|ui| {
            ui.add_sized([200.0, 18.0], egui::Label::new(label).truncate());
            let share = ns as f64 / total as f64;
            let (rect, resp) =
                ui.allocate_exact_size(egui::vec2(240.0, 14.0), egui::Sense::hover());
            ui.painter()
                .rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
            let mut filled = rect;
            filled.set_width(rect.width() * share.clamp(0.0, 1.0) as f32);
            ui.painter().rect_filled(filled, 2.0, color);
            resp.on_hover_text(format!(
                "{} ({})",
                format::millis(ns as f64 / 1e6),
                format::percent(share)
            ));
            ui.label(format!(
                "{} · {}",
                format::millis(ns as f64 / 1e6),
                format::percent(share)
            ));
        });
    };
    ui.label(RichText::new("Self time by kind").weak());
    for (class, ns) in &by_class {
        bar(
            ui,
            class.label().to_string(),
            *ns,
            palette::span_class(*class),
        );
    }
    let calls: Vec<_> = tree.spans.iter().filter(|s| s.model.is_some()).collect();
    if !calls.is_empty() {
        ui.label(RichText::new("LLM calls").weak());
        for c in calls {
            bar(
                ui,
                format!("{} ({})", c.name, c.model.as_deref().unwrap_or("")),
                c.duration_ns,
                if c.status == StatusCode::Error {
                    palette::BAD
                } else {
                    palette::span_class(SpanClass::Llm)
                },
            );
        }
    }
}

/// Saves the trace as OTLP JSON through the native save dialog (which asks before
/// replacing a file), off the frame loop; the database's own files are refused.
fn export(
    tree: TraceTree,
    database: Arc<dyn store::Database>,
    status: Arc<Mutex<Option<String>>>,
    ctx: egui::Context,
) {
    let dialog = rfd::AsyncFileDialog::new()
        .set_file_name(format!("trace-{}.json", tree.trace_id))
        .add_filter("OTLP JSON", &["json"])
        .save_file();
    std::thread::spawn(move || {
        let outcome = pollster::block_on(dialog).map(|file| {
            ingest::otlp_json::trace_request(&tree)
                .map(|req| ingest::otlp_json::traces_to_json(&req))
                .and_then(|json| {
                    use std::io::Write;
                    let mut out = database
                        .output(file.path(), store::Replace::Allowed)
                        .map_err(|e| e.to_string())?;
                    out.file()
                        .write_all(json.as_bytes())
                        .map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
                    out.commit().map_err(|e| e.to_string())
                })
                .map(|()| format!("Saved {}", file.path().display()))
                .unwrap_or_else(|e| format!("Export failed: {e}"))
        });
        *status.lock().expect("status lock") = outcome;
        ctx.request_repaint();
    });
}
