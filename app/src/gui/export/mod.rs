//! Export of what the window shows: every chart to PNG, every table to CSV or JSON.
//! A view hands over the chart or table it drew; the save dialog (a path field, with the
//! native picker beside it) asks where, and the file is written on another thread so the
//! frame loop never waits.

pub mod chart;
pub mod chart_image;
pub mod table;

use chart::ChartData;
use egui::{Ui, Vec2};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use store::Database;
use store::{ExportFormat, ExportTable, Filter, OutputFile, Replace, StatusFilter};
use table::TableData;

/// The file formats offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A PNG image of a chart.
    Png,
    /// CSV of a table.
    Csv,
    /// JSON of a table.
    Json,
    /// Parquet of a whole selection.
    Parquet,
    /// A report of the selection, as one self-contained HTML page.
    Html,
    /// A report of the selection, as A4 pages.
    Pdf,
    /// A snapshot of the selection, as a DuckDB database.
    DuckDb,
}

impl FileKind {
    /// The file name extension (and the button label, upper-cased).
    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Png => "png",
            FileKind::Csv => "csv",
            FileKind::Json => "json",
            FileKind::Parquet => "parquet",
            FileKind::Html => "html",
            FileKind::Pdf => "pdf",
            FileKind::DuckDb => "duckdb",
        }
    }

    fn label(self) -> &'static str {
        match self {
            FileKind::Png => "PNG",
            FileKind::Csv => "CSV",
            FileKind::Json => "JSON",
            FileKind::Parquet => "Parquet",
            FileKind::Html => "HTML",
            FileKind::Pdf => "PDF",
            FileKind::DuckDb => "DuckDB",
        }
    }
}

/// Small export buttons beside a chart or table title; returns the one clicked.
pub fn export_buttons(ui: &mut Ui, title: &str, kinds: &[FileKind]) -> Option<FileKind> {
    let mut clicked = None;
    for &k in kinds {
        // The accessible name says what is saved, the button just the format.
        let name = format!("Save {title} as {}", k.label());
        let r = ui.small_button(k.label());
        r.widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, &name));
        if r.on_hover_text(name).clicked() {
            clicked = Some(k);
        }
    }
    clicked
}

/// What is being exported.
#[derive(Clone)]
pub enum ExportItem {
    /// A chart, as PNG.
    Chart(ChartData),
    /// A table, as CSV or JSON.
    Table(TableData),
    /// Every row of a selection (all traces, all matching calls), written by the store.
    Selection {
        /// What it is (`Traces`, `LLM calls`).
        title: String,
        /// Which rows.
        table: ExportTable,
        /// The selection (boxed: a filter is several times larger than the other
        /// variants).
        filter: Box<Filter>,
        /// The database they are read from.
        store: Arc<dyn Database>,
    },
    /// A document made only when saved, off the UI thread (the report of a selection).
    Rendered {
        /// What it is (the save dialog's subject and default file name).
        title: String,
        /// Makes its bytes.
        render: Render,
    },
}

/// How a [`ExportItem::Rendered`] document is made.
pub type Render = Arc<dyn Fn() -> Result<Vec<u8>, String> + Send + Sync>;

impl std::fmt::Debug for ExportItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExportItem({})", self.title())
    }
}

impl ExportItem {
    fn title(&self) -> &str {
        match self {
            ExportItem::Chart(c) => &c.title,
            ExportItem::Table(t) => &t.title,
            ExportItem::Selection { title, .. } => title,
            ExportItem::Rendered { title, .. } => title,
        }
    }
}

/// A pending export: the save dialog asking for a path.
pub struct SaveDialog {
    item: ExportItem,
    kind: FileKind,
    caption: String,
    path: String,
    picked: Option<Arc<Mutex<Option<PathBuf>>>>,
    /// The open database, whose own files are never an output.
    database: Option<Arc<dyn Database>>,
    /// The existing file the user was asked about replacing.
    asking_to_replace: Option<PathBuf>,
}

/// What exports report when they finish (shown as notices).
pub type Outcomes = Arc<Mutex<Vec<Result<String, String>>>>;

impl SaveDialog {
    /// Asks where to save `item` as `kind`; `caption` (range and filters) goes under a
    /// chart; `database`'s own files are refused as a path.
    pub fn new(
        item: ExportItem,
        kind: FileKind,
        caption: String,
        database: Option<Arc<dyn Database>>,
    ) -> SaveDialog {
        let dir = directories::UserDirs::new()
            .and_then(|u| u.document_dir().map(|d| d.to_path_buf()))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_default();
        let path = dir
            .join(format!("{}.{}", slug(item.title()), kind.extension()))
            .display()
            .to_string();
        SaveDialog {
            item,
            kind,
            caption,
            path,
            picked: None,
            database,
            asking_to_replace: None,
        }
    }

    /// Draws the dialog; returns false once it is closed (saved or cancelled).
    pub fn show(&mut self, ctx: &egui::Context, outcomes: &Outcomes) -> bool {
        if let Some(p) = self
            .picked
            .as_ref()
            .and_then(|p| p.lock().expect("pick lock").take())
        {
            self.path = p.display().to_string();
            self.picked = None;
        }
        let mut open = true;
        let mut save = None;
        egui::Window::new(format!("Save as {}", self.kind.label()))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .show(ctx, |ui| {
                ui.label(format!("{} ({})", self.item.title(), self.kind.label()));
                ui.horizontal(|ui| {
                    let label = ui.label("Save to");
                    let field = ui
                        .add(egui::TextEdit::singleline(&mut self.path).desired_width(420.0))
                        .labelled_by(label.id);
                    if field.changed() {
                        self.asking_to_replace = None;
                    }
                    if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                        save = Some(Replace::Never);
                    }
                    if ui.button("Browse…").clicked() {
                        self.picked = Some(pick_save_path(&self.path, self.kind, ctx.clone()));
                    }
                });
                if let Some(existing) = &self.asking_to_replace {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("{} already exists.", existing.display()),
                    );
                }
                ui.horizontal(|ui| {
                    if self.asking_to_replace.is_some() {
                        if ui.button("Replace").clicked() {
                            save = Some(Replace::Allowed);
                        }
                    } else if ui.button("Save").clicked() {
                        save = Some(Replace::Never);
                    }
                    if ui.button("Cancel").clicked() {
                        open = false;
                    }
                });
            });
        let path = PathBuf::from(self.path.trim());
        match save {
            Some(_) if self.path.trim().is_empty() => {}
            Some(Replace::Never) if path.is_file() => self.asking_to_replace = Some(path),
            Some(replace) => {
                self.write(path, replace, outcomes.clone(), ctx.clone());
                open = false;
            }
            None => {}
        }
        open
    }

    /// Writes the file on another thread (whole, or not at all) and reports the outcome.
    fn write(&self, path: PathBuf, replace: Replace, outcomes: Outcomes, ctx: egui::Context) {
        let (item, kind, caption) = (self.item.clone(), self.kind, self.caption.clone());
        let database = self.database.clone();
        std::thread::spawn(move || {
            let result = (|| -> Result<(), String> {
                let mut out = match &database {
                    Some(store) => store.output(&path, replace),
                    None => OutputFile::create(&path, replace, None),
                }
                .map_err(|e| e.to_string())?;
                // What is drawn from memory comes back as bytes; a selection is
                // written into the file by the store.
                let in_memory = match (&item, kind) {
                    (ExportItem::Chart(c), _) => Some(chart_image::png(c, &caption)?),
                    (ExportItem::Rendered { render, .. }, _) => Some(render()?),
                    (ExportItem::Table(t), FileKind::Json) => Some(t.json()),
                    (ExportItem::Table(t), _) => Some(t.csv()),
                    (
                        ExportItem::Selection {
                            table,
                            filter,
                            store,
                            ..
                        },
                        kind,
                    ) => {
                        let format = match kind {
                            FileKind::Json => ExportFormat::Json,
                            FileKind::Parquet => ExportFormat::Parquet,
                            _ => ExportFormat::Csv,
                        };
                        let mut reader = store.reader().map_err(|e| e.to_string())?;
                        reader
                            .export(*table, filter, format, &mut out)
                            .map_err(|e| e.to_string())?;
                        None
                    }
                };
                if let Some(bytes) = in_memory {
                    out.file()
                        .write_all(&bytes)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                }
                out.commit().map_err(|e| e.to_string())
            })();
            outcomes
                .lock()
                .expect("outcome lock")
                .push(result.map(|()| format!("Saved {}", path.display())));
            ctx.request_repaint();
        });
    }
}

/// The native save dialog, awaited on another thread; the path lands in the slot.
fn pick_save_path(
    current: &str,
    kind: FileKind,
    ctx: egui::Context,
) -> Arc<Mutex<Option<PathBuf>>> {
    let slot = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let current = PathBuf::from(current);
    let mut dialog = rfd::AsyncFileDialog::new().add_filter(kind.label(), &[kind.extension()]);
    if let Some(dir) = current.parent().filter(|d| d.is_dir()) {
        dialog = dialog.set_directory(dir);
    }
    if let Some(name) = current.file_name() {
        dialog = dialog.set_file_name(name.to_string_lossy());
    }
    let fut = dialog.save_file();
    std::thread::spawn(move || {
        if let Some(f) = pollster::block_on(fut) {
            *out.lock().expect("pick lock") = Some(f.path().to_path_buf());
            ctx.request_repaint();
        }
    });
    slot
}

/// A file name from a title: `Cost by model` → `cost-by-model`.
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').to_string()
}

/// The caption under an exported chart: the time range in local time and every filter
/// in force, so a figure in a report says what it shows.
pub fn caption(filter: &Filter) -> String {
    let mut parts = Vec::new();
    parts.push(match (filter.from_ns, filter.to_ns) {
        (Some(a), Some(b)) => format!(
            "{} – {} (local time)",
            crate::format::local_time(a),
            crate::format::local_time(b)
        ),
        _ => "All time".into(),
    });
    if !filter.models.is_empty() {
        parts.push(format!("models: {}", filter.models.join(", ")));
    }
    if !filter.services.is_empty() {
        parts.push(format!("service: {}", filter.services.join(", ")));
    }
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Ok => parts.push("status: ok".into()),
        StatusFilter::Error => parts.push("status: errors".into()),
    }
    if !filter.text.is_empty() {
        parts.push(format!("search: {}", filter.text.join(" ")));
    }
    if !filter.errors.is_empty() {
        parts.push(format!("error: {}", filter.errors.join(", ")));
    }
    for b in &filter.latency_ms {
        parts.push(format!(
            "latency {} {}",
            b.cmp.symbol(),
            crate::format::millis(b.value)
        ));
    }
    parts.push("LLM Observatory".into());
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_titles() {
        assert_eq!(slug("Cost by model"), "cost-by-model");
        assert_eq!(slug("Latency p50/p95/p99"), "latency-p50-p95-p99");
    }
}
