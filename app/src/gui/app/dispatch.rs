//! The central panel: the view shown (or the open trace over it) drawn with what it may
//! read, and what it asked for carried out; and the window's keyboard shortcuts.

use super::super::export::{ExportItem, FileKind};
use super::super::filter_state::{RangePreset, Resolved, StatusChoice};
use super::super::getting_started::{Endpoints, FirstRunChoice};
use super::super::opening_view::OpeningView;
use super::super::queries::{HoldsData, ModelsByVolume};
use super::super::views::trace::TraceView;
use super::super::views::traces::TRACES;
use super::super::views::{Action, Drill, ViewCtx};
use super::dialogs::DialogKind;
use super::help;
use super::{Asked, ObservatoryApp};
use crate::format;
use crate::gui::feedback::FeedbackRequest;
use egui::{Key, Ui};
use store::{Batch, Price, PriceTable};

impl ObservatoryApp {
    /// The window's shortcuts: open, import, quit, Back, and each view's own.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        if ctx.input_mut(|i| i.consume_shortcut(&help::OPEN)) {
            self.show_dialog(DialogKind::Open);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&help::IMPORT)) {
            self.show_dialog(DialogKind::Import);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&help::REPORT)) {
            self.asked = Some(Asked::Report(FileKind::Html));
        }
        if ctx.input_mut(|i| i.consume_shortcut(&help::SNAPSHOT)) {
            self.asked = Some(Asked::Snapshot);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&help::QUIT)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.nav.shortcuts(ctx);
        let typing = ctx.memory(|m| m.focused().is_some());
        let escape = !typing
            && self.dialog.is_none()
            && !self.showing_shortcuts
            && ctx.input(|i| i.key_pressed(Key::Escape));
        if ctx.input_mut(|i| i.consume_shortcut(&help::BACK)) || escape {
            self.nav.back();
        }
    }

    /// Draws the current view (or the open trace); returns whether figures showed.
    pub(super) fn central(&mut self, ui: &mut Ui, resolved: Option<&Resolved>) -> bool {
        let mut has_data = false;
        let mut back = false;
        let mut actions = Vec::new();
        let mut first_run = None;
        let rules = self.rules();
        let status = self.alerts.evaluator.as_ref().map(|e| e.status());
        egui::CentralPanel::default().show(ui, |ui| {
            let (Some(cache), Some(resolved)) = (&self.db.cache, resolved) else {
                if self.db.opening.is_some() {
                    ui.spinner();
                } else if self.db.session.is_none() {
                    ui.label("No database is open. Use File > Open database…, or drop a .duckdb file here.");
                } else {
                    ui.label("Fix the filter above to see data.");
                }
                return;
            };
            let writable = self.db.session.as_ref().is_some_and(|s| s.writer.is_some());
            if writable && cache.get::<HoldsData>(()).value.as_deref() == Some(&false) {
                let endpoints = self.endpoints();
                first_run = self.first_run.ui(ui, &endpoints);
                // The panel is what this database shows (for screenshots and benches).
                has_data = true;
                return;
            }
            let label = self.nav.current_label();
            if let Some(trace) = &mut self.nav.trace {
                ui.horizontal(|ui| {
                    if ui.link(label).on_hover_text("Back (Esc)").clicked() {
                        back = true;
                    }
                    ui.label(">");
                    ui.label(format!("Trace {}", &trace.trace_id[..12.min(trace.trace_id.len())]));
                });
                if let Some(feedback) = trace.ui(ui, cache) {
                    actions.push(Action::GiveFeedback(feedback));
                }
                has_data = true;
                return;
            }
            let models = cache.get::<ModelsByVolume>(()).value.unwrap_or_default();
            let ctx = ViewCtx {
                cache,
                resolved,
                models: &models,
                prices: &self.start.prices,
                rules: &rules,
                alert_status: status.as_ref(),
                rules_file: self.start.alerts.as_ref().and_then(|a| a.file.as_deref()),
            };
            let shown = self.nav.current().ui(ui, &ctx);
            has_data = shown.showed_data;
            actions = shown.actions;
        });
        if back {
            self.nav.back();
        }
        if let (Some(asked), Some(s), Some(r)) = (self.asked.take(), &self.db.session, resolved) {
            let (filter, store) = (r.filter.clone(), s.store.clone());
            let (item, kind) = match asked {
                Asked::Report(kind) => (
                    ExportItem::Rendered {
                        title: "LLM Observatory report".into(),
                        render: std::sync::Arc::new(move || {
                            let mut reader = store.reader().map_err(|e| e.to_string())?;
                            let report = crate::report::Report::gather(
                                reader.as_mut(),
                                &filter,
                                store.describe(),
                            )
                            .map_err(|e| e.to_string())?;
                            match kind {
                                FileKind::Pdf => report.pdf(),
                                _ => Ok(report.html().into_bytes()),
                            }
                        }),
                    },
                    kind,
                ),
                Asked::Snapshot => {
                    let view =
                        OpeningView::frozen(self.nav.current_label(), &self.prefs.filter, r.window)
                            .to_json();
                    let own_file = s.path.clone();
                    (
                        ExportItem::Rendered {
                            title: "LLM Observatory snapshot".into(),
                            render: std::sync::Arc::new(move || {
                                crate::snapshot::bytes(store.as_ref(), &own_file, &filter, &view)
                                    .map_err(|e| format!("{e:#}"))
                            }),
                        },
                        FileKind::DuckDb,
                    )
                }
            };
            self.start_export(item, kind, resolved);
        }
        match first_run {
            Some(FirstRunChoice::OpenDemo) => self.open(crate::paths::demo_db(), true),
            Some(FirstRunChoice::Import) => self.show_dialog(DialogKind::Import),
            None => {}
        }
        for action in actions {
            self.carry_out(action, resolved);
        }
        has_data
    }

    /// Where the window listens, for the getting-started panel.
    fn endpoints(&self) -> Endpoints {
        let live = self.db.session.as_ref().and_then(|s| s.live.as_ref());
        Endpoints {
            grpc: live.and_then(|l| l.grpc()),
            http: live.and_then(|l| l.http()),
            token: self.start.listen.as_ref().and_then(|l| l.token.clone()),
        }
    }

    /// Does what a view asked for.
    fn carry_out(&mut self, action: Action, resolved: Option<&Resolved>) {
        match action {
            Action::Export(item, kind) => self.start_export(*item, kind, resolved),
            Action::Drill(d) => {
                self.drill(d);
                self.nav.go_to(TRACES);
            }
            Action::FilterModel(m) => self.prefs.filter.models = vec![m],
            Action::FilterUser(u) => self.prefs.filter.user = Some(u),
            Action::ShowAllTime => self.prefs.filter.range = RangePreset::All,
            Action::Inspect(query) => self.nav.inspect(&query),
            Action::OpenTrace {
                trace_id,
                highlights,
            } => {
                let mut words = resolved.map(|r| r.filter.text.clone()).unwrap_or_default();
                words.extend(highlights);
                self.nav.open_trace(TraceView::new(trace_id, words));
            }
            Action::SetPrice(model, price) => self.set_price(model, price),
            Action::SetRules(rules) => self.set_rules(rules),
            Action::GiveFeedback(request) => self.give_feedback(request),
            Action::Annotate(from, to) => self.annotate(from, to),
        }
    }

    /// Stores feedback through the database's writer, off the frame loop; the editor
    /// hears whether it was saved, and the views read it back at the next data version.
    fn give_feedback(&mut self, request: FeedbackRequest) {
        let FeedbackRequest { feedback, status } = request;
        let Some(writer) = self.db.session.as_ref().and_then(|s| s.writer.clone()) else {
            *status.lock().expect("status lock") =
                Some("Not saved: feedback is kept in a local database opened for writing".into());
            return;
        };
        let ctx = self.ctx.clone();
        writer.submit(
            Batch {
                feedback: vec![feedback],
                ..Batch::default()
            },
            move |outcome| {
                *status.lock().expect("status lock") = Some(match outcome {
                    Ok(_) => "Saved".into(),
                    Err(e) => format!("Not saved: {e}"),
                });
                ctx.request_repaint();
            },
        );
    }

    /// Narrows the filter to a drill-down's conditions (the Traces view then shows them).
    pub(super) fn drill(&mut self, d: Drill) {
        let f = &mut self.prefs.filter;
        if let Some((from, to)) = d.period {
            f.range = RangePreset::Custom;
            f.custom_from = format::local_time(from);
            f.custom_to = format::local_time(to);
        }
        if let Some(band) = d.latency_ms {
            f.latency_ms = Some(band);
        }
        if let Some(m) = d.model {
            f.models = vec![m];
        }
        if let Some(error_type) = d.errors {
            f.status = StatusChoice::Error;
            // Drilling narrows: an error type already chosen stays.
            if error_type.is_some() {
                f.error_type = error_type;
            }
        }
    }

    /// Sets a model's price for all history: in force at once, and saved to the price
    /// file (a file that cannot be written is reported; the price still applies now).
    fn set_price(&mut self, model: String, price: Price) {
        self.start.prices.set(&model, price);
        if let Some(s) = &self.db.session {
            s.store.set_prices(self.start.prices.clone());
        }
        if let Some(c) = &self.db.cache {
            c.invalidate();
        }
        match &self.start.price_file {
            Some(path) => match PriceTable::save_entry(path, &model, price) {
                Ok(()) => self.messages.notice(format!(
                    "Price of {model} saved to {} and applied to all stored calls",
                    path.display()
                )),
                Err(e) => {
                    self.messages.error = Some(format!(
                        "The price of {model} applies for now but was not saved: {e}"
                    ))
                }
            },
            None => self.messages.notices.push(format!(
                "Price of {model} applied to all stored calls (not saved: no price file)"
            )),
        }
    }
}
