//! The window: top bar (menu, open file, live indicator, filter bar), navigation, the
//! current view, and the dialogs for opening databases and importing files. Everything
//! slow (opening, importing, querying) runs on other threads; the frame loop only polls.

use super::alert_banner::{BannerClick, Firing, alert_banner};
use super::alerts_view::AlertsView;
use super::bench::{FrameBench, ScreenshotPlan};
use super::cache::QueryCache;
use super::costs_view::CostsView;
use super::errors_view::errors_view;
use super::export::{ExportItem, FileKind, Outcomes, SaveDialog, caption};
use super::filter_bar::filter_bar;
use super::filter_state::{FilterState, RangePreset, Resolved, StatusChoice};
use super::import_job::ImportJob;
use super::inspector::{Inspector, InspectorAction};
use super::latency_view::latency_view;
use super::live_meter::RateMeter;
use super::models_view::models_view;
use super::overview::overview;
use super::session::{OpenRequest, Session, file_name};
use super::trace_view::TraceView;
use super::traces_view::TracesView;
use super::view_common::{Drill, ViewAction};
use super::{format, palette};
use crate::alerts::{Evaluator, Notifier, Rules};
use egui::{Align, Color32, Key, KeyboardShortcut, Layout, Modifiers, RichText, Sense, Ui, Vec2};
use ingest::import::ImportReport;
use ingest::receive::ReceiverConfig;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use store::{Price, PriceTable};

/// How the window starts.
pub struct StartOptions {
    /// The database to open.
    pub database: PathBuf,
    /// Fill it with demo traffic when new.
    pub demo: bool,
    /// Where to listen for OTLP; `None` to receive nothing.
    pub listen: Option<ReceiverConfig>,
    /// Prices in force.
    pub prices: PriceTable,
    /// Where prices set in the price editor are saved (`--prices`, else the user's
    /// config file); `None` keeps them for this run only.
    pub price_file: Option<PathBuf>,
    /// Alert rules to evaluate; `None` turns alerts off.
    pub alerts: Option<AlertSetup>,
    /// Things to tell the user as the window opens (a rules file that does not parse).
    pub notices: Vec<String>,
    /// `--bench-frames`.
    pub bench_frames: Option<u32>,
    /// `--screenshot` and its delay.
    pub screenshot: Option<(PathBuf, Duration)>,
    /// When the process started.
    pub launched: Instant,
    /// The database already being opened ([`StartOptions::open_early`]).
    pub opening: Option<Opening>,
}

impl StartOptions {
    /// Starts opening the database now, before the window exists, so that data is
    /// ready sooner after launch (creating a window on a software renderer takes a
    /// quarter of a second).
    pub fn open_early(&mut self) {
        self.opening = Some(Opening::start(
            self.request(self.database.clone(), self.demo),
            None,
        ));
    }

    fn request(&self, path: PathBuf, demo: bool) -> OpenRequest {
        OpenRequest {
            path,
            demo,
            listen: self.listen.clone(),
            prices: self.prices.clone(),
        }
    }
}

/// Alert rules, where they are saved, and how often they are evaluated.
pub struct AlertSetup {
    /// The rules.
    pub rules: Rules,
    /// The rules file edits are saved to; `None` keeps them for this run.
    pub file: Option<PathBuf>,
    /// Evaluation period.
    pub every: Duration,
}

/// The views in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum View {
    /// Health at a glance.
    #[default]
    Overview,
    /// Latency heatmap and percentiles.
    Latency,
    /// Models compared.
    Models,
    /// Spend, and the price editor.
    Costs,
    /// Error rate and top errors.
    Errors,
    /// Every trace, sortable.
    Traces,
    /// LLM calls with search.
    Inspector,
    /// Alert rules and history.
    Alerts,
}

impl View {
    const ALL: [View; 8] = [
        View::Overview,
        View::Latency,
        View::Models,
        View::Costs,
        View::Errors,
        View::Traces,
        View::Inspector,
        View::Alerts,
    ];

    fn label(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Latency => "Latency",
            View::Models => "Models",
            View::Costs => "Costs",
            View::Errors => "Errors",
            View::Traces => "Traces",
            View::Inspector => "Inspector",
            View::Alerts => "Alerts",
        }
    }
}

/// What is kept across restarts.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Prefs {
    filter: FilterState,
    recent: Vec<PathBuf>,
    view: View,
}

const PREFS_KEY: &str = "llm-observatory";
const RECENT_MAX: usize = 8;

/// Opening a database or importing files through a path field (with a native picker
/// beside it, which may not exist on every desktop).
struct PathDialog {
    import: bool,
    text: String,
    picked: Option<Arc<std::sync::Mutex<Option<Vec<PathBuf>>>>>,
}

/// A database being opened on a background thread (the previous one, if any, rides
/// along: it is closed once the new one is open, or handed back if that fails).
pub struct Opening {
    path: PathBuf,
    handle: JoinHandle<(Result<Session, String>, Option<Session>)>,
    repaint: Arc<OnceLock<egui::Context>>,
}

impl Opening {
    fn start(req: OpenRequest, old: Option<Session>) -> Opening {
        let repaint: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let ctx = repaint.clone();
        let path = req.path.clone();
        let handle = std::thread::Builder::new()
            .name("open".into())
            .spawn(move || {
                let mut req = req;
                // Free the ports first: the old database's receivers hold them.
                let listen = req.listen.take();
                let mut opened = Session::open(&req);
                let old = match (&mut opened, old) {
                    (Ok(new), Some(old)) => {
                        if let Err(e) = old.close() {
                            new.notices
                                .push(format!("Closing the previous database: {e}"));
                        }
                        None
                    }
                    (_, old) => old,
                };
                if let (Ok(new), Some(listen)) = (&mut opened, listen) {
                    new.start_live(listen);
                }
                if let Some(ctx) = ctx.get() {
                    ctx.request_repaint();
                }
                (opened, old)
            })
            .expect("spawn open thread");
        Opening {
            path,
            handle,
            repaint,
        }
    }
}

/// The application.
pub struct ObservatoryApp {
    start: StartOptions,
    prefs: Prefs,
    ctx: egui::Context,
    session: Option<Session>,
    cache: Option<QueryCache>,
    opening: Option<Opening>,
    error: Option<String>,
    notices: Vec<String>,
    dialog: Option<PathDialog>,
    import: Option<ImportJob>,
    import_report: Option<(usize, ImportReport)>,
    /// Files dropped while a database was still opening; imported once it is open.
    queued_import: Vec<PathBuf>,
    rate: RateMeter,
    pattern: String,
    bench: Option<FrameBench>,
    screenshot: Option<ScreenshotPlan>,
    exit_message: Option<String>,
    traces: TracesView,
    inspector: Inspector,
    /// The open trace, shown over the current view.
    trace: Option<TraceView>,
    /// Where Back goes: earlier views.
    history: Vec<View>,
    costs: CostsView,
    /// The save dialog of an export in progress.
    save: Option<SaveDialog>,
    /// Finished exports, to report.
    exported: Outcomes,
    /// The rules in force, shared with the evaluator.
    rules: Arc<RwLock<Rules>>,
    /// Evaluates the rules on the open database.
    evaluator: Option<Evaluator>,
    /// Sends desktop and webhook notifications.
    notifier: Option<Notifier>,
    alerts_view: AlertsView,
    /// Firings the user dismissed from the banner.
    dismissed: HashSet<Firing>,
}

impl ObservatoryApp {
    /// Creates the app and starts opening the database.
    pub fn new(cc: &eframe::CreationContext<'_>, mut start: StartOptions) -> Self {
        let prefs: Prefs = cc
            .storage
            .and_then(|s| eframe::get_value(s, PREFS_KEY))
            .unwrap_or_default();
        let mut app = ObservatoryApp {
            bench: start.bench_frames.map(FrameBench::new),
            screenshot: start
                .screenshot
                .clone()
                .map(|(p, d)| ScreenshotPlan::new(p, d)),
            prefs,
            ctx: cc.egui_ctx.clone(),
            session: None,
            cache: None,
            opening: None,
            error: None,
            notices: std::mem::take(&mut start.notices),
            dialog: None,
            import: None,
            import_report: None,
            queued_import: Vec::new(),
            rate: RateMeter::default(),
            pattern: String::new(),
            exit_message: None,
            traces: TracesView::default(),
            inspector: Inspector::default(),
            trace: None,
            history: Vec::new(),
            costs: CostsView::default(),
            save: None,
            exported: Outcomes::default(),
            rules: Arc::new(RwLock::new(
                start
                    .alerts
                    .as_ref()
                    .map(|a| a.rules.clone())
                    .unwrap_or_default(),
            )),
            evaluator: None,
            notifier: start.alerts.as_ref().map(|_| Notifier::start(true)),
            alerts_view: AlertsView::default(),
            dismissed: HashSet::new(),
            start,
        };
        match app.start.opening.take() {
            Some(opening) => {
                let _ = opening.repaint.set(app.ctx.clone());
                app.opening = Some(opening);
            }
            None => {
                let (path, demo) = (app.start.database.clone(), app.start.demo);
                app.open(path, demo);
            }
        }
        app
    }

    /// What to print when the window closes (benchmark figures, screenshot path).
    pub fn exit_message(&self) -> Option<&str> {
        self.exit_message.as_deref()
    }

    /// Starts opening `path`; the current database stays until the new one is open.
    fn open(&mut self, path: PathBuf, demo: bool) {
        if self.opening.is_some() {
            return;
        }
        if self
            .session
            .as_ref()
            .is_some_and(|s| same_file(&s.path, &path))
        {
            self.notices
                .push(format!("{} is already open", path.display()));
            return;
        }
        // The evaluator holds the writer: stop it so the old database can close.
        self.evaluator = None;
        let opening = Opening::start(self.start.request(path, demo), self.session.take());
        let _ = opening.repaint.set(self.ctx.clone());
        self.opening = Some(opening);
    }

    fn poll_opening(&mut self) {
        if !self
            .opening
            .as_ref()
            .is_some_and(|o| o.handle.is_finished())
        {
            return;
        }
        let Opening { path, handle, .. } = self.opening.take().expect("checked");
        let (result, old) = handle
            .join()
            .unwrap_or_else(|_| (Err("the open thread crashed".into()), None));
        match result {
            Ok(mut session) => {
                self.notices.append(&mut session.notices);
                let ctx = self.ctx.clone();
                self.cache = Some(QueryCache::new(session.store.clone(), 2, move || {
                    ctx.request_repaint()
                }));
                self.prefs.recent.retain(|p| !same_file(p, &session.path));
                self.prefs.recent.insert(0, session.path.clone());
                self.prefs.recent.truncate(RECENT_MAX);
                self.ctx
                    .send_viewport_cmd(egui::ViewportCommand::Title(format!(
                        "{} — LLM Observatory",
                        session.file_name()
                    )));
                self.rate.reset();
                self.error = None;
                self.start_alerts(&session);
                self.session = Some(session);
            }
            Err(e) => {
                if let Some(s) = &old {
                    self.start_alerts(s);
                }
                self.session = old;
                self.error = Some(format!("Cannot open {}: {e}", path.display()));
            }
        }
    }

    /// Handles files dropped on the window: databases open, anything else imports.
    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if dropped.is_empty() {
            return;
        }
        let (databases, dumps): (Vec<PathBuf>, Vec<PathBuf>) = dropped
            .iter()
            .map(|f| f.path().to_path_buf())
            .partition(|p| is_duckdb_file(p));
        if let Some(db) = databases.into_iter().next() {
            self.open(db, false);
        }
        if !dumps.is_empty() {
            self.start_import(dumps);
        }
    }

    fn start_import(&mut self, files: Vec<PathBuf>) {
        if self.opening.is_some() {
            self.queued_import.extend(files);
            return;
        }
        if self.import.is_some() {
            self.notices
                .push("An import is already running; wait for it or cancel it first".into());
            return;
        }
        let Some(writer) = self.session.as_ref().and_then(|s| s.writer.clone()) else {
            self.error = Some(match &self.session {
                Some(s) => format!(
                    "Cannot import into {}: it is open read-only",
                    s.path.display()
                ),
                None => "Open a database before importing".into(),
            });
            return;
        };
        let ctx = self.ctx.clone();
        self.import = Some(ImportJob::start(files, writer, move || {
            ctx.request_repaint()
        }));
    }

    fn poll_import(&mut self) {
        if self.opening.is_none() && !self.queued_import.is_empty() {
            let files = std::mem::take(&mut self.queued_import);
            self.start_import(files);
        }
        if let Some(job) = &mut self.import
            && let Some(report) = job.finished()
        {
            let files = job.files.len();
            self.import = None;
            self.import_report = Some((files, report));
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let open = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
        let import = KeyboardShortcut::new(Modifiers::COMMAND, Key::I);
        let quit = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);
        if ctx.input_mut(|i| i.consume_shortcut(&open)) {
            self.show_dialog(false);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&import)) {
            self.show_dialog(true);
        }
        if ctx.input_mut(|i| i.consume_shortcut(&quit)) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        let find = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
        if ctx.input_mut(|i| i.consume_shortcut(&find)) {
            self.go(View::Inspector);
            self.inspector.focus_search();
        }
        let back_alt = KeyboardShortcut::new(Modifiers::ALT, Key::ArrowLeft);
        let typing = ctx.memory(|m| m.focused().is_some());
        let escape = !typing && self.dialog.is_none() && ctx.input(|i| i.key_pressed(Key::Escape));
        if ctx.input_mut(|i| i.consume_shortcut(&back_alt)) || escape {
            self.back();
        }
    }

    /// Shows `view`, remembering where Back returns.
    fn go(&mut self, view: View) {
        if self.trace.is_none() && self.prefs.view == view {
            return;
        }
        self.history.push(self.prefs.view);
        self.trace = None;
        self.prefs.view = view;
    }

    /// Opens a trace over the current view.
    fn open_trace(&mut self, trace_id: String) {
        self.trace = Some(TraceView::new(trace_id));
    }

    /// Back: closes an open trace, else returns to the previous view.
    fn back(&mut self) {
        if self.trace.take().is_some() {
            return;
        }
        if let Some(v) = self.history.pop() {
            self.prefs.view = v;
        }
    }

    fn show_dialog(&mut self, import: bool) {
        self.dialog = Some(PathDialog {
            import,
            text: String::new(),
            picked: None,
        });
    }

    fn menu(&mut self, ui: &mut Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open database…").clicked() {
                    self.show_dialog(false);
                }
                if ui.button("Import OTLP files…").clicked() {
                    self.show_dialog(true);
                }
                ui.menu_button("Recent", |ui| {
                    if self.prefs.recent.is_empty() {
                        ui.label("No recent databases");
                    }
                    for p in self.prefs.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            self.open(p, false);
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.separator();
            match (&self.session, &self.opening) {
                (_, Some(o)) => {
                    ui.spinner();
                    ui.label(format!("Opening {}…", file_name(&o.path)));
                }
                (Some(s), None) => {
                    ui.label(RichText::new(s.file_name()).strong())
                        .on_hover_text(s.path.display().to_string());
                    if let Some(why) = &s.read_only {
                        ui.label(RichText::new("read-only").color(palette::WARN))
                            .on_hover_text(why);
                    }
                }
                (None, None) => {
                    ui.label("No database open");
                }
            }
            ui.separator();
            self.live_indicator(ui);
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                theme_picker(ui);
                if self.cache.as_ref().is_some_and(|c| c.busy()) {
                    ui.spinner().on_hover_text("Updating");
                }
            });
        });
    }

    fn live_indicator(&mut self, ui: &mut Ui) {
        let Some(live) = self.session.as_ref().and_then(|s| s.live.as_ref()) else {
            ui.label(RichText::new("Not receiving").weak())
                .on_hover_text("No OTLP receiver is running for this database");
            return;
        };
        let now = Instant::now();
        self.rate.sample(
            now,
            live.stats()
                .spans
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let flowing = self.rate.flowing(now);
        let (rect, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
        let alpha = if flowing {
            let t = ui.input(|i| i.time) as f32;
            0.45 + 0.55 * (t * 4.0).sin().abs()
        } else {
            1.0
        };
        let color = if flowing {
            palette::GOOD
        } else {
            Color32::GRAY
        };
        ui.painter()
            .circle_filled(rect.center(), 5.0, color.gamma_multiply(alpha));
        let mut addrs = Vec::new();
        if let Some(a) = live.grpc() {
            addrs.push(format!("gRPC {a}"));
        }
        if let Some(a) = live.http() {
            addrs.push(format!("HTTP {a}"));
        }
        let text = format!(
            "{} · {} spans/s",
            addrs.join(" · "),
            format::count(self.rate.rate())
        );
        ui.label(text)
            .on_hover_text("Listening for OTLP (traces, logs, metrics)");
        let wait = if flowing { 80 } else { 1000 };
        ui.ctx().request_repaint_after(Duration::from_millis(wait));
    }

    fn notices_bar(&mut self, ui: &mut Ui) {
        if let Some(e) = self.error.clone() {
            ui.horizontal(|ui| {
                ui.colored_label(palette::BAD, &e);
                if ui.small_button("Dismiss").clicked() {
                    self.error = None;
                }
            });
        }
        let mut dismissed = None;
        for (i, n) in self.notices.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.colored_label(palette::WARN, n);
                if ui.small_button("Dismiss").clicked() {
                    dismissed = Some(i);
                }
            });
        }
        if let Some(i) = dismissed {
            self.notices.remove(i);
        }
    }

    fn dialog_window(&mut self, ctx: &egui::Context) {
        let Some(d) = &mut self.dialog else { return };
        let picked = d
            .picked
            .as_ref()
            .and_then(|p| p.lock().expect("pick lock").take());
        if let Some(paths) = picked {
            d.text = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("\n");
            d.picked = None;
        }
        let title = if d.import {
            "Import OTLP files"
        } else {
            "Open database"
        };
        let mut go = false;
        let mut close = false;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .show(ctx, |ui| {
                let l = ui.label(if d.import {
                    "Files (one path per line): OTLP JSON, JSON Lines or protobuf, plain, gzip or zstd"
                } else {
                    "Database file (.duckdb); a new file is created"
                });
                let edit = ui
                    .add(
                        egui::TextEdit::multiline(&mut d.text)
                            .desired_rows(if d.import { 3 } else { 1 })
                            .desired_width(480.0),
                    )
                    .labelled_by(l.id);
                if !edit.has_focus() && d.text.is_empty() {
                    edit.request_focus();
                }
                ui.horizontal(|ui| {
                    if ui
                        .button("Browse…")
                        .on_hover_text("Choose with the system's file dialog")
                        .clicked()
                    {
                        d.picked = Some(pick_files(d.import, ctx.clone()));
                    }
                    if ui
                        .button(if d.import { "Import" } else { "Open" })
                        .clicked()
                    {
                        go = true;
                    }
                    if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(Key::Escape))
                    {
                        close = true;
                    }
                });
            });
        if go {
            let paths: Vec<PathBuf> = d
                .text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(PathBuf::from)
                .collect();
            let import = d.import;
            self.dialog = None;
            if paths.is_empty() {
                self.error = Some("No path given".into());
            } else if import {
                self.start_import(paths);
            } else {
                self.open(paths[0].clone(), false);
            }
        } else if close {
            self.dialog = None;
        }
    }

    fn import_windows(&mut self, ctx: &egui::Context) {
        if let Some(job) = &self.import {
            let (fraction, name) = job.progress();
            egui::Window::new("Importing")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::RIGHT_BOTTOM, Vec2::new(-12.0, -12.0))
                .show(ctx, |ui| {
                    ui.label(format!("{name} ({} files)", job.files.len()));
                    ui.add(egui::ProgressBar::new(fraction).show_percentage());
                    if job.cancelled() {
                        ui.label("Stopping…");
                    } else if ui.button("Cancel import").clicked() {
                        job.cancel();
                    }
                });
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        let mut close = false;
        if let Some((files, r)) = &self.import_report {
            egui::Window::new("Import finished")
                .collapsible(false)
                .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
                .show(ctx, |ui| {
                    ui.label(format!(
                        "Imported {} spans ({} LLM calls) from {} file{}; {} already stored; {} rejected.",
                        format::integer(r.stored),
                        format::integer(r.llm_calls),
                        files,
                        if *files == 1 { "" } else { "s" },
                        format::integer(r.duplicates),
                        format::integer(r.rejected)
                    ));
                    if !r.problems.is_empty() {
                        ui.label(RichText::new("Problems").strong());
                        egui::ScrollArea::vertical().max_height(240.0).show(ui, |ui| {
                            for p in r.problems.iter().take(500) {
                                ui.colored_label(palette::BAD, p.to_string());
                            }
                            if r.problems.len() > 500 {
                                ui.label(format!("… and {} more", r.problems.len() - 500));
                            }
                        });
                    }
                    if ui.button("Close").clicked() {
                        close = true;
                    }
                });
        }
        if close {
            self.import_report = None;
        }
    }

    fn navigation(&mut self, ui: &mut Ui) {
        egui::Panel::left("navigation")
            .resizable(false)
            .exact_size(130.0)
            .show(ui, |ui| {
                ui.add_space(8.0);
                for v in View::ALL {
                    if ui
                        .selectable_label(self.trace.is_none() && self.prefs.view == v, v.label())
                        .clicked()
                    {
                        self.go(v);
                    }
                }
            });
    }

    fn central(&mut self, ui: &mut Ui, resolved: Option<&Resolved>) -> bool {
        let mut has_data = false;
        let mut open = None;
        let mut back = false;
        let mut go = None;
        let mut view_action: Option<ViewAction> = None;
        let mut set_price = None;
        let mut new_rules = None;
        egui::CentralPanel::default().show(ui, |ui| {
            let (Some(cache), Some(resolved)) = (&self.cache, resolved) else {
                if self.opening.is_some() {
                    ui.spinner();
                } else if self.session.is_none() {
                    ui.label("No database is open. Use File > Open database…, or drop a .duckdb file here.");
                } else {
                    ui.label("Fix the filter above to see data.");
                }
                return;
            };
            let models = cache
                .get("all.models_by_volume", String::new(), |r| {
                    r.models_by_volume()
                })
                .value
                .unwrap_or_default();
            if let Some(trace) = &mut self.trace {
                ui.horizontal(|ui| {
                    if ui.link(self.prefs.view.label()).on_hover_text("Back (Esc)").clicked() {
                        back = true;
                    }
                    ui.label(">");
                    ui.label(format!("Trace {}", &trace.trace_id[..12.min(trace.trace_id.len())]));
                });
                let mut highlights = resolved.filter.text.clone();
                if let Ok(q) = store::Query::parse(&self.inspector.query) {
                    highlights.extend(q.highlights().iter().cloned());
                }
                trace.ui(ui, cache, &highlights);
                has_data = true;
                return;
            }
            match self.prefs.view {
                View::Overview => {
                    let action = overview(ui, cache, resolved, &models);
                    if action.show_all {
                        self.prefs.filter.range = RangePreset::All;
                    }
                    open = action.open_trace;
                    view_action = Some(action.view);
                }
                View::Latency => view_action = Some(latency_view(ui, cache, resolved, &models)),
                View::Models => view_action = Some(models_view(ui, cache, resolved, &models)),
                View::Costs => {
                    let a = self.costs.ui(ui, cache, resolved, &models, &self.start.prices);
                    set_price = a.set_price;
                    view_action = Some(a.view);
                }
                View::Errors => view_action = Some(errors_view(ui, cache, resolved)),
                View::Alerts => {
                    let rules = self.rules.read().expect("rules lock").clone();
                    let status = self.evaluator.as_ref().map(|e| e.status());
                    let file = self.start.alerts.as_ref().and_then(|a| a.file.clone());
                    let a = self.alerts_view.ui(ui, cache, &rules, status.as_ref(), file.as_deref());
                    new_rules = a.rules;
                    view_action = Some(a.view);
                }
                View::Traces => {
                    open = self.traces.ui(ui, cache, &resolved.filter);
                    let export = self.traces.export.take().map(|kind| {
                        let (table, filter) = (store::ExportTable::Traces, resolved.filter.clone());
                        ("Traces", table, filter, kind)
                    });
                    view_action = Some(selection_view(export, self.session.as_ref()));
                }
                View::Inspector => {
                    if let Some(InspectorAction::OpenTrace(t)) =
                        self.inspector.ui(ui, cache, &resolved.filter)
                    {
                        open = Some(t);
                    }
                    let export = self.inspector.export.take().map(|(kind, filter)| {
                        ("LLM calls", store::ExportTable::Calls, filter, kind)
                    });
                    view_action = Some(selection_view(export, self.session.as_ref()));
                }
            }
        });
        if back {
            self.back();
        }
        if let Some(a) = view_action {
            has_data |= a.showed_data;
            if let Some((item, kind)) = a.export {
                self.start_export(item, kind, resolved);
            }
            if let Some(m) = a.model {
                self.prefs.filter.models = vec![m];
            }
            if let Some(d) = a.drill {
                self.drill(d);
                go = Some(View::Traces);
            }
        }
        if let Some((model, price)) = set_price {
            self.set_price(model, price);
        }
        if let Some(rules) = new_rules {
            self.set_rules(rules);
        }
        if let Some(v) = go {
            self.go(v);
        }
        if let Some(t) = open {
            self.open_trace(t);
        }
        has_data
    }

    /// Shows `text` under the filter bar, once (saving the same file again does not pile
    /// up the same line).
    fn notice(&mut self, text: String) {
        if !self.notices.contains(&text) {
            self.notices.push(text);
        }
    }

    /// Starts evaluating the rules on `session`'s database.
    fn start_alerts(&mut self, session: &Session) {
        let (Some(setup), Some(notifier)) = (&self.start.alerts, &self.notifier) else {
            return;
        };
        let ctx = self.ctx.clone();
        match Evaluator::start(
            &session.store,
            session.writer.clone(),
            self.rules.clone(),
            notifier.clone(),
            setup.every,
            move |_| ctx.request_repaint(),
        ) {
            Ok(e) => self.evaluator = Some(e),
            Err(e) => self.notices.push(format!("Alerts are off: {e}")),
        }
    }

    /// Puts changed rules in force and saves them to the rules file.
    fn set_rules(&mut self, rules: Rules) {
        *self.rules.write().expect("rules lock") = rules.clone();
        let saved = self.start.alerts.as_mut().and_then(|setup| {
            setup.rules = rules.clone();
            setup
                .file
                .as_ref()
                .map(|path| (path.clone(), rules.save(path)))
        });
        match saved {
            Some((path, Ok(()))) => self.notice(format!("Alert rules saved to {}", path.display())),
            Some((_, Err(e))) => {
                self.error = Some(format!("The rules apply for now but were not saved: {e}"))
            }
            None => {}
        }
    }

    /// The banner of firing alerts, and what its buttons ask for.
    fn alerts_banner(&mut self, ui: &mut Ui) {
        let Some(status) = self.evaluator.as_ref().map(|e| e.status()) else {
            return;
        };
        let rules = self.rules.read().expect("rules lock").clone();
        match alert_banner(ui, &status, &rules, &self.dismissed) {
            Some(BannerClick::Dismiss(key)) => {
                self.dismissed.insert(key);
            }
            Some(BannerClick::ViewTraces(rule, scope)) => {
                use crate::alerts::rules::Metric;
                // The rule's scope replaces the selection; its window and condition
                // narrow it as a drill-down does.
                let f = &mut self.prefs.filter;
                f.models = if scope == "all" {
                    rule.models.clone()
                } else {
                    vec![scope]
                };
                f.service = rule.services.first().cloned().unwrap_or_default();
                f.status = StatusChoice::All;
                f.latency_ms = None;
                f.error_type = None;
                let now = crate::timearg::now_ns();
                let latency = matches!(rule.metric, Metric::P95LatencyMs | Metric::P99LatencyMs);
                self.drill(Drill {
                    period: Some((now - rule.window.0.as_nanos() as i64, now + 1_000_000_000)),
                    latency_ms: (latency && !rule.spike).then_some((rule.threshold, None)),
                    errors: (rule.metric == Metric::ErrorRate).then_some(None),
                    model: None,
                });
                self.go(View::Traces);
            }
            None => {}
        }
    }

    /// Narrows the filter to a drill-down's conditions (the Traces view then shows them).
    fn drill(&mut self, d: Drill) {
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

    /// Opens the save dialog for an export; the caption names the range and filters.
    fn start_export(&mut self, item: ExportItem, kind: FileKind, resolved: Option<&Resolved>) {
        let caption = resolved.map(|r| caption(&r.filter)).unwrap_or_default();
        let database = self.session.as_ref().map(|s| s.store.clone());
        self.save = Some(SaveDialog::new(item, kind, caption, database));
    }

    fn save_window(&mut self, ctx: &egui::Context) {
        if let Some(d) = &mut self.save
            && !d.show(ctx, &self.exported)
        {
            self.save = None;
        }
        let outcomes: Vec<_> = self
            .exported
            .lock()
            .expect("outcome lock")
            .drain(..)
            .collect();
        for outcome in outcomes {
            match outcome {
                Ok(m) => self.notice(m),
                Err(e) => self.error = Some(format!("Export failed: {e}")),
            }
        }
    }

    /// Sets a model's price for all history: in force at once, and saved to the price
    /// file (a file that cannot be written is reported; the price still applies now).
    fn set_price(&mut self, model: String, price: Price) {
        self.start.prices.set(&model, price);
        if let Some(s) = &self.session {
            s.store.set_prices(self.start.prices.clone());
        }
        if let Some(c) = &self.cache {
            c.invalidate();
        }
        match &self.start.price_file {
            Some(path) => match PriceTable::save_entry(path, &model, price) {
                Ok(()) => self.notice(format!(
                    "Price of {model} saved to {} and applied to all stored calls",
                    path.display()
                )),
                Err(e) => {
                    self.error = Some(format!(
                        "The price of {model} applies for now but was not saved: {e}"
                    ))
                }
            },
            None => self.notices.push(format!(
                "Price of {model} applied to all stored calls (not saved: no price file)"
            )),
        }
    }

    fn drop_overlay(ctx: &egui::Context) {
        if ctx.input(|i| i.raw.hovered_files.is_empty()) {
            return;
        }
        let screen = ctx.content_rect();
        let painter = ctx.layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop_overlay"),
        ));
        painter.rect_filled(screen, 0.0, Color32::from_black_alpha(170));
        painter.text(
            screen.center(),
            egui::Align2::CENTER_CENTER,
            "Drop OTLP files to import them, or a .duckdb file to open it",
            egui::FontId::proportional(22.0),
            Color32::WHITE,
        );
    }
}

impl eframe::App for ObservatoryApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let frame_start = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll_opening();
        self.poll_import();
        self.take_dropped_files(&ctx);
        self.shortcuts(&ctx);

        let now_ns = crate::timearg::now_ns();
        let resolved = self.prefs.filter.resolve(now_ns);
        let resolve_error = resolved.as_ref().err().cloned();
        let (models, services) = match &self.cache {
            Some(c) => (
                c.get("all.models", String::new(), |r| r.models())
                    .value
                    .unwrap_or_default(),
                c.get("all.services", String::new(), |r| r.services())
                    .value
                    .unwrap_or_default(),
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
        self.navigation(ui);
        let has_data = self.central(ui, resolved.as_ref().ok());
        self.dialog_window(&ctx);
        self.import_windows(&ctx);
        self.save_window(&ctx);
        Self::drop_overlay(&ctx);
        // Relative ranges move with the clock; look again at least every second.
        ctx.request_repaint_after(Duration::from_secs(1));

        let launched = self.start.launched;
        if let Some(bench) = &mut self.bench {
            if has_data && bench.first_data.is_none() {
                bench.first_data = Some(launched.elapsed());
            }
            // Spin only once data shows: before that the app repaints as it normally
            // does, so the time to first data is what a user gets.
            if has_data {
                ctx.request_repaint();
            }
            if bench.frame(frame_start, frame_start.elapsed(), has_data) {
                self.exit_message = Some(bench.report());
                self.bench = None;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        let ready = has_data && self.cache.as_ref().is_some_and(|c| !c.busy());
        if let Some(plan) = &mut self.screenshot
            && let Some(outcome) = plan.poll(&ctx, launched, ready)
        {
            self.exit_message = Some(match outcome {
                Ok(p) => format!("screenshot saved to {}", p.display()),
                Err(e) => format!("screenshot failed: {e}"),
            });
            self.screenshot = None;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PREFS_KEY, &self.prefs);
    }

    fn on_exit(&mut self) {
        if let Some(job) = &self.import {
            job.cancel();
        }
        self.cache = None;
        self.evaluator = None;
        if let Some(s) = self.session.take()
            && let Err(e) = s.close()
        {
            eprintln!("closing the database: {e}");
        }
    }
}

/// What the Traces view or the Inspector asked for: figures showed, and perhaps an
/// export of its whole selection (title, rows, filter, format) from the open database.
fn selection_view(
    export: Option<(&str, store::ExportTable, store::Filter, FileKind)>,
    session: Option<&Session>,
) -> ViewAction {
    ViewAction {
        showed_data: true,
        export: export
            .zip(session)
            .map(|((title, table, filter, kind), s)| {
                let item = ExportItem::Selection {
                    title: title.into(),
                    table,
                    filter,
                    store: s.store.clone(),
                };
                (item, kind)
            }),
        ..ViewAction::default()
    }
}

/// Dark, light, or as the system says; egui keeps the choice across restarts.
fn theme_picker(ui: &mut Ui) {
    use egui::ThemePreference;
    let mut pref = ui.options(|o| o.theme_preference);
    for (p, label) in [
        (ThemePreference::Light, "Light"),
        (ThemePreference::Dark, "Dark"),
        (ThemePreference::System, "System"),
    ] {
        ui.selectable_value(&mut pref, p, label)
            .on_hover_text(format!("{label} theme"));
    }
    ui.ctx().set_theme(pref);
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Whether a file starts with DuckDB's header (so a drop opens it instead of importing).
fn is_duckdb_file(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 12];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|_| &header[8..12] == b"DUCK")
}

/// Opens the native file dialog without blocking the frame loop: the dialog future is
/// made here and awaited on another thread; the result lands in the returned slot.
fn pick_files(many: bool, ctx: egui::Context) -> Arc<std::sync::Mutex<Option<Vec<PathBuf>>>> {
    let slot = Arc::new(std::sync::Mutex::new(None));
    let out = slot.clone();
    let dialog = rfd::AsyncFileDialog::new();
    if many {
        let fut = dialog
            .add_filter("OTLP dumps", &["json", "jsonl", "pb", "gz", "zst", "bin"])
            .add_filter("All files", &["*"])
            .pick_files();
        std::thread::spawn(move || {
            let files = pollster::block_on(fut).unwrap_or_default();
            *out.lock().expect("pick lock") =
                Some(files.iter().map(|f| f.path().to_path_buf()).collect());
            ctx.request_repaint();
        });
    } else {
        let fut = dialog
            .add_filter("DuckDB database", &["duckdb", "db"])
            .add_filter("All files", &["*"])
            .pick_file();
        std::thread::spawn(move || {
            let file = pollster::block_on(fut);
            *out.lock().expect("pick lock") =
                Some(file.iter().map(|f| f.path().to_path_buf()).collect());
            ctx.request_repaint();
        });
    }
    slot
}
