//! Opening a database: on a background thread, the current one staying open until the
//! new one is (or handed back if that fails); then its query cache and alerts start.

use super::ObservatoryApp;
use crate::gui::cache::QueryCache;
use crate::gui::session::{OpenRequest, Session};
use crate::gui::wake::DataWaker;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

/// Recent databases remembered in the File menu.
const RECENT_MAX: usize = 8;

/// A database being opened on a background thread (the previous one, if any, rides
/// along: it is closed once the new one is open, or handed back if that fails).
pub struct Opening {
    pub(super) path: PathBuf,
    handle: JoinHandle<(Result<Session, String>, Option<Session>)>,
    pub(super) repaint: Arc<OnceLock<egui::Context>>,
    /// The step bringing an older file forward, while one runs (seconds to minutes on
    /// a large file), for the top bar.
    pub(super) upgrading: Arc<Mutex<Option<String>>>,
}

impl Opening {
    pub(super) fn start(req: OpenRequest, old: Option<Session>) -> Opening {
        let repaint: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let ctx = repaint.clone();
        let upgrading = Arc::new(Mutex::new(None));
        let step = upgrading.clone();
        let path = req.path.clone();
        let handle = std::thread::Builder::new()
            .name("open".into())
            .spawn(move || {
                let mut req = req;
                // Free the ports first: the old database's receivers hold them.
                let listen = req.listen.take();
                let mut opened = Session::open(&req, &|u: store::Upgrade| {
                    *step.lock().expect("upgrade step") = Some(format!(
                        "upgrading the file (schema {} of {}): {}",
                        u.from + 1,
                        u.to,
                        u.what
                    ));
                    if let Some(ctx) = ctx.get() {
                        ctx.request_repaint();
                    }
                });
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
                    new.start_live(listen, req.scrape);
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
            upgrading,
        }
    }
}

impl ObservatoryApp {
    /// Opens the start database (or takes over the opening begun before the window).
    pub(super) fn open_first(&mut self) {
        match self.start.opening.take() {
            Some(opening) => {
                let _ = opening.repaint.set(self.ctx.clone());
                self.db.opening = Some(opening);
            }
            None => {
                let (path, demo) = (self.start.database.clone(), self.start.demo);
                self.open(path, demo);
            }
        }
    }

    /// Starts opening `path`; the current database stays until the new one is open.
    pub(super) fn open(&mut self, path: PathBuf, demo: bool) {
        if self.db.opening.is_some() {
            return;
        }
        if self
            .db
            .session
            .as_ref()
            .is_some_and(|s| same_file(&s.path, &path))
        {
            self.messages
                .notices
                .push(format!("{} is already open", path.display()));
            return;
        }
        // The evaluator holds the writer: stop it so the old database can close.
        self.alerts.evaluator = None;
        let opening = Opening::start(self.start.request(path, demo), self.db.session.take());
        let _ = opening.repaint.set(self.ctx.clone());
        self.db.opening = Some(opening);
    }

    pub(super) fn poll_opening(&mut self) {
        match &self.db.opening {
            None => return,
            Some(o) if !o.handle.is_finished() => {
                // The open thread repaints when done, but it may have looked for the
                // window's context before the window set it: look again soon.
                self.ctx
                    .request_repaint_after(std::time::Duration::from_millis(250));
                return;
            }
            Some(_) => {}
        }
        let Opening { path, handle, .. } = self.db.opening.take().expect("checked");
        let (result, old) = handle
            .join()
            .unwrap_or_else(|_| (Err("the open thread crashed".into()), None));
        match result {
            Ok(mut session) => {
                self.messages.notices.append(&mut session.notices);
                let ctx = self.ctx.clone();
                self.db.cache = Some(QueryCache::new(session.store.clone(), 2, move || {
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
                let ctx = self.ctx.clone();
                let wanted = self.db.cache.as_ref().map(QueryCache::wants_wake);
                self.db.waker = Some(DataWaker::start(session.store.clone(), move || {
                    if wanted.as_ref().is_none_or(|w| w()) {
                        ctx.request_repaint()
                    }
                }));
                self.db.rate.reset();
                self.messages.error = None;
                if let Some(view) = session.opening_view.take() {
                    self.prefs.filter = view.filter;
                    self.nav.go_to(&view.view);
                    if let Some(query) = &view.inspector_query {
                        self.nav.inspect(query);
                    }
                }
                self.start_alerts(&session);
                self.db.session = Some(session);
            }
            Err(e) => {
                if let Some(s) = &old {
                    self.start_alerts(s);
                }
                self.db.session = old;
                self.messages.error = Some(format!("Cannot open {}: {e}", path.display()));
            }
        }
    }
}

/// Whether two paths name the same file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}
