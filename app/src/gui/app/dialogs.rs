//! The dialogs: opening a database or importing files by path (with the native picker
//! beside), files dropped on the window, the import's progress and report, and the
//! export's save dialog.

use super::super::export::{ExportItem, FileKind, SaveDialog, caption};
use super::super::filter_state::Resolved;
use super::super::import_job::ImportJob;
use super::super::palette;
use super::ObservatoryApp;
use crate::format;
use egui::{Color32, Key, RichText, Vec2};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What the path dialog asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogKind {
    /// A database file to open.
    Open,
    /// OTLP files to import.
    Import,
    /// A team's ClickHouse URL to connect to.
    ClickHouse,
}

/// Opening a database, importing files or connecting to a ClickHouse through a text
/// field (with a native file picker beside it, which may not exist on every desktop).
pub(super) struct PathDialog {
    kind: DialogKind,
    text: String,
    picked: Option<Arc<std::sync::Mutex<Option<Vec<PathBuf>>>>>,
}

impl ObservatoryApp {
    /// Handles files dropped on the window: databases open, anything else imports.
    pub(super) fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if dropped.is_empty() {
            return;
        }
        let (databases, dumps): (Vec<PathBuf>, Vec<PathBuf>) = dropped
            .iter()
            .map(|f| f.path().to_path_buf())
            .partition(|p| store::is_database_file(p));
        if let Some(db) = databases.into_iter().next() {
            self.open(db, false);
        }
        if !dumps.is_empty() {
            self.start_import(dumps);
        }
    }

    pub(super) fn start_import(&mut self, files: Vec<PathBuf>) {
        if self.db.opening.is_some() {
            self.db.queued_import.extend(files);
            return;
        }
        if self.db.import.is_some() {
            self.messages
                .notices
                .push("An import is already running; wait for it or cancel it first".into());
            return;
        }
        let Some(writer) = self.db.session.as_ref().and_then(|s| s.writer.clone()) else {
            self.messages.error = Some(match &self.db.session {
                Some(s) => format!(
                    "Cannot import into {}: it is open read-only",
                    s.path.display()
                ),
                None => "Open a database before importing".into(),
            });
            return;
        };
        let ctx = self.ctx.clone();
        self.db.import = Some(ImportJob::start(files, writer, move || {
            ctx.request_repaint()
        }));
    }

    pub(super) fn poll_import(&mut self) {
        if self.db.opening.is_none() && !self.db.queued_import.is_empty() {
            let files = std::mem::take(&mut self.db.queued_import);
            self.start_import(files);
        }
        if let Some(job) = &mut self.db.import
            && let Some(report) = job.finished()
        {
            let files = job.files.len();
            self.db.import = None;
            self.db.import_report = Some((files, report));
        }
    }

    pub(super) fn show_dialog(&mut self, kind: DialogKind) {
        self.dialog = Some(PathDialog {
            kind,
            text: String::new(),
            picked: None,
        });
    }

    pub(super) fn dialog_window(&mut self, ctx: &egui::Context) {
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
        let import = d.kind == DialogKind::Import;
        let title = match d.kind {
            DialogKind::Open => "Open database",
            DialogKind::Import => "Import OTLP files",
            DialogKind::ClickHouse => "Connect to ClickHouse",
        };
        let mut go = false;
        let mut close = false;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .show(ctx, |ui| {
                let l = ui.label(match d.kind {
                    DialogKind::Import => "Files (one path per line): OTLP JSON, JSON Lines or protobuf, plain, gzip or zstd",
                    DialogKind::Open => "Database file (.duckdb); a new file is created",
                    DialogKind::ClickHouse => "URL of the team's ClickHouse holding the Collector's tables: clickhouse://user@host:8123/otel or https://…; the password from the URL or CLICKHOUSE_PASSWORD",
                });
                let edit = ui
                    .add(
                        egui::TextEdit::multiline(&mut d.text)
                            .desired_rows(if import { 3 } else { 1 })
                            .desired_width(480.0),
                    )
                    .labelled_by(l.id);
                if !edit.has_focus() && d.text.is_empty() {
                    edit.request_focus();
                }
                ui.horizontal(|ui| {
                    if d.kind != DialogKind::ClickHouse
                        && ui
                            .button("Browse…")
                            .on_hover_text("Choose with the system's file dialog")
                            .clicked()
                    {
                        d.picked = Some(pick_files(import, ctx.clone()));
                    }
                    let action = match d.kind {
                        DialogKind::Open => "Open",
                        DialogKind::Import => "Import",
                        DialogKind::ClickHouse => "Connect",
                    };
                    if ui.button(action).clicked() {
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
            self.dialog = None;
            if paths.is_empty() {
                self.messages.error = Some("No path given".into());
            } else if import {
                self.start_import(paths);
            } else {
                self.open(paths[0].clone(), false);
            }
        } else if close {
            self.dialog = None;
        }
    }

    pub(super) fn import_windows(&mut self, ctx: &egui::Context) {
        if let Some(job) = &self.db.import {
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
        if let Some((files, r)) = &self.db.import_report {
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
            self.db.import_report = None;
        }
    }

    /// Opens the save dialog for an export; the caption names the range and filters.
    pub(super) fn start_export(
        &mut self,
        item: ExportItem,
        kind: FileKind,
        resolved: Option<&Resolved>,
    ) {
        let caption = resolved.map(|r| caption(&r.filter)).unwrap_or_default();
        let database = self
            .db
            .session
            .as_ref()
            .map(|s| s.store.clone() as Arc<dyn store::Database>);
        self.save = Some(SaveDialog::new(item, kind, caption, database));
    }

    pub(super) fn save_window(&mut self, ctx: &egui::Context) {
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
                Ok(m) => self.messages.notice(m),
                Err(e) => self.messages.error = Some(format!("Export failed: {e}")),
            }
        }
    }
}

/// Darkens the window and says what dropping does while files are dragged over it.
pub(super) fn drop_overlay(ctx: &egui::Context) {
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
