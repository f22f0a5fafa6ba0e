//! The window: its long-lived state, grouped by what owns it, and the frame loop.
//! Each job has its own file: opening a database (`opening`), the dialogs and imports
//! (`dialogs`), the top bar (`top_bar`), the views and what they ask for (`dispatch`),
//! alerts (`alerting`), notes on stretches of time (`annotating`). Everything slow (opening, importing, querying) runs on other
//! threads; the frame loop only polls.

mod alerting;
mod annotating;
mod dialogs;
mod dispatch;
mod help;
mod navigation;
mod opening;
mod start;
mod top_bar;

pub use opening::Opening;
pub use start::{AlertSetup, StartOptions};

use super::bench::{FrameBench, ScreenshotPlan};
use super::cache::QueryCache;
use super::export::{Outcomes, SaveDialog};
use super::filter_bar::filter_bar;
use super::filter_state::FilterState;
use super::import_job::ImportJob;
use super::live_meter::RateMeter;
use super::queries::{Models, Services};
use super::session::Session;
use super::wake::DataWaker;
use crate::alerts::{Evaluator, Notifier, Rules};
use alerting::AlertState;
use dialogs::PathDialog;
use egui::Ui;
use ingest::import::ImportReport;
use navigation::Navigation;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// What is kept across restarts.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Prefs {
    filter: FilterState,
    recent: Vec<PathBuf>,
    /// The label of the view shown last.
    view_label: String,
}

const PREFS_KEY: &str = "llm-observatory";

/// The open database and what works on it.
#[derive(Default)]
struct Database {
    session: Option<Session>,
    cache: Option<QueryCache>,
    /// A database being opened (the current one stays until it is open).
    opening: Option<Opening>,
    import: Option<ImportJob>,
    /// The last import's report, until the user closes it: (files, report).
    import_report: Option<(usize, ImportReport)>,
    /// Files dropped while a database was still opening; imported once it is open.
    queued_import: Vec<PathBuf>,
    /// Spans received per second, for the live indicator.
    rate: RateMeter,
    /// Wakes the frame loop when the data changes.
    waker: Option<DataWaker>,
}

/// What the window tells the user under the filter bar.
#[derive(Default)]
struct Messages {
    error: Option<String>,
    notices: Vec<String>,
}

impl Messages {
    /// Shows `text` once (saving the same file again does not pile up the same line).
    fn notice(&mut self, text: String) {
        if !self.notices.contains(&text) {
            self.notices.push(text);
        }
    }
}

/// `--bench-frames` and `--screenshot`, and what to print when the window closes.
struct Measuring {
    bench: Option<FrameBench>,
    screenshot: Option<ScreenshotPlan>,
    exit_message: Option<String>,
}

/// The files of the whole selection the File menu makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// File > Export report… (HTML) or Export report as PDF…
    Report(super::export::FileKind),
    /// File > Save snapshot…
    Snapshot,
}

/// The application.
pub struct ObservatoryApp {
    start: StartOptions,
    prefs: Prefs,
    ctx: egui::Context,
    db: Database,
    messages: Messages,
    nav: Navigation,
    alerts: AlertState,
    /// The open-or-import dialog.
    dialog: Option<PathDialog>,
    /// The save dialog of an export in progress.
    save: Option<SaveDialog>,
    /// The note form, while open.
    annotating: Option<super::annotation_form::AnnotationForm>,
    /// Finished exports, to report.
    exported: Outcomes,
    /// The text typed in the filter bar's model pattern field.
    pattern: String,
    /// The getting-started panel an empty database shows.
    first_run: super::getting_started::GettingStarted,
    /// Whether Help > Keyboard shortcuts is open.
    showing_shortcuts: bool,
    /// A file of the selection asked for from the File menu (made once the selection is
    /// known).
    asked: Option<Asked>,
    /// What later launches hand this window (their database, or a wish to see it).
    instance: Option<super::single_instance::Instance>,
    measuring: Measuring,
}

impl ObservatoryApp {
    /// Creates the app and starts opening the database.
    pub fn new(cc: &eframe::CreationContext<'_>, mut start: StartOptions) -> Self {
        let prefs: Prefs = cc
            .storage
            .and_then(|s| eframe::get_value(s, PREFS_KEY))
            .unwrap_or_default();
        let rules = start
            .alerts
            .as_ref()
            .map(|a| a.rules.clone())
            .unwrap_or_default();
        let mut app = ObservatoryApp {
            measuring: Measuring {
                bench: start.bench_frames.map(|frames| FrameBench::new(frames, cc)),
                screenshot: start
                    .screenshot
                    .clone()
                    .map(|(p, d)| ScreenshotPlan::new(p, d)),
                exit_message: None,
            },
            nav: Navigation::new(&prefs.view_label),
            prefs,
            ctx: cc.egui_ctx.clone(),
            db: Database::default(),
            messages: Messages {
                error: None,
                notices: std::mem::take(&mut start.notices),
            },
            alerts: AlertState {
                rules: Arc::new(RwLock::new(rules)),
                evaluator: None::<Evaluator>,
                notifier: start.alerts.as_ref().map(|_| Notifier::start(true)),
                dismissed: Default::default(),
            },
            dialog: None,
            save: None,
            annotating: None,
            exported: Outcomes::default(),
            pattern: String::new(),
            first_run: Default::default(),
            showing_shortcuts: false,
            asked: None,
            instance: None,
            start,
        };
        app.open_first();
        app.announce();
        app
    }

    /// Lets later launches hand this window their database (see `single_instance`).
    fn announce(&mut self) {
        let Some(dir) = self.start.single_instance.clone() else {
            return;
        };
        let ctx = self.ctx.clone();
        match super::single_instance::Instance::announce(&dir, move || ctx.request_repaint()) {
            Ok(i) => self.instance = Some(i),
            Err(e) => tracing::warn!(
                "databases opened while this window runs will start windows of their own: {e}"
            ),
        }
    }

    /// Takes what another launch handed over: opens its database, comes forward.
    fn take_handed(&mut self, ctx: &egui::Context) {
        use super::single_instance::Handed;
        let Some(handed) = self.instance.as_ref().and_then(|i| i.take_handed()) else {
            return;
        };
        if let Handed::Open(path) = handed {
            self.open(path, false);
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
    }

    /// What to print when the window closes (benchmark figures, screenshot path).
    pub fn exit_message(&self) -> Option<&str> {
        self.measuring.exit_message.as_deref()
    }

    /// The rules in force now.
    fn rules(&self) -> Rules {
        self.alerts.rules.read().expect("rules lock").clone()
    }

    /// Counts frames for `--bench-frames` and takes the `--screenshot`, closing the
    /// window when either is done.
    fn measure(&mut self, ctx: &egui::Context, frame_start: Instant, has_data: bool) {
        let launched = self.start.launched;
        let m = &mut self.measuring;
        if let Some(bench) = &mut m.bench {
            if has_data && bench.first_data.is_none() {
                bench.first_data = Some(launched.elapsed());
            }
            // Spin only once data shows: before that the app repaints as it normally
            // does, so the time to first data is what a user gets.
            if has_data {
                ctx.request_repaint();
            }
            if bench.frame(frame_start, frame_start.elapsed(), has_data) {
                m.exit_message = Some(bench.report());
                m.bench = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        let ready = has_data && self.db.cache.as_ref().is_some_and(|c| !c.busy());
        if let Some(plan) = &mut m.screenshot
            && let Some(outcome) = plan.poll(ctx, launched, ready)
        {
            m.exit_message = Some(match outcome {
                Ok(p) => format!("screenshot saved to {}", p.display()),
                Err(e) => format!("screenshot failed: {e}"),
            });
            m.screenshot = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

impl eframe::App for ObservatoryApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let frame_start = Instant::now();
        // Counted by tests/bench_cpu.sh (LLM_OBSERVATORY_LOG=frame=trace).
        let ctx = ui.ctx().clone();
        tracing::trace!(target: "frame", causes = ?ctx.repaint_causes(), "frame");
        self.poll_opening();
        self.poll_import();
        self.take_dropped_files(&ctx);
        self.take_handed(&ctx);
        self.shortcuts(&ctx);

        let now_ns = crate::timearg::now_ns();
        let resolved = self.prefs.filter.resolve(now_ns);
        let resolve_error = resolved.as_ref().err().cloned();
        let (models, services) = match &self.db.cache {
            Some(c) => (
                c.get::<Models>(()).value.unwrap_or_default(),
                c.get::<Services>(()).value.unwrap_or_default(),
            ),
            None => Default::default(),
        };
        egui::Panel::top("top_bar").show(ui, |ui| {
            self.menu(ui);
            ui.add_space(2.0);
            filter_bar(
                ui,
                &mut self.prefs.filter,
                &mut self.pattern,
                &models,
                &services,
                resolve_error.as_deref(),
                now_ns,
            );
            ui.add_space(2.0);
            self.notices_bar(ui);
            self.alerts_banner(ui);
        });
        self.nav.side_panel(ui);
        let has_data = self.central(ui, resolved.as_ref().ok());
        self.dialog_window(&ctx);
        self.import_windows(&ctx);
        self.save_window(&ctx);
        self.annotation_window(&ctx);
        self.shortcuts_window(&ctx);
        dialogs::drop_overlay(&ctx);
        // Nothing polls: a frame comes for input, a query's result, new data (the
        // waker), a slot due to refresh, or the moment a relative range next moves.
        if let Some(wait) = self.db.cache.as_ref().and_then(QueryCache::take_next_look) {
            ctx.request_repaint_after(wait);
        }
        if let Some(wait) = self.prefs.filter.next_move_in(now_ns) {
            ctx.request_repaint_after(wait);
        }
        self.measure(&ctx, frame_start, has_data);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        self.prefs.view_label = self.nav.current_label().to_string();
        eframe::set_value(storage, PREFS_KEY, &self.prefs);
    }

    fn on_exit(&mut self) {
        if let Some(job) = &self.db.import {
            job.cancel();
        }
        self.db.cache = None;
        self.alerts.evaluator = None;
        if let Some(s) = self.db.session.take()
            && let Err(e) = s.close()
        {
            eprintln!("closing the database: {e}");
        }
    }
}
