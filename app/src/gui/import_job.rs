//! Importing OTLP files from the window (dropped or chosen): on a background thread,
//! with progress and cancel, ending in a report of what was stored and every rejected
//! record as `FILE:LINE: reason`.

use ingest::import::{Destination, ImportOptions, ImportReport, Progress, import_file};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use store::Writer;

/// How far an import has got.
#[derive(Default)]
pub struct ImportProgress {
    file: AtomicUsize,
    read: AtomicU64,
    total: AtomicU64,
    name: Mutex<String>,
}

impl Progress for ImportProgress {
    fn bytes(&self, read: u64, total: u64) {
        self.read.store(read, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }
}

/// A running import.
pub struct ImportJob {
    /// The files, in order.
    pub files: Vec<PathBuf>,
    progress: Arc<ImportProgress>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<ImportReport>>,
}

impl ImportJob {
    /// Starts importing `files` through `writer`; `done` is called when it ends.
    pub fn start(
        files: Vec<PathBuf>,
        writer: Arc<Writer>,
        done: impl FnOnce() + Send + 'static,
    ) -> ImportJob {
        let progress = Arc::new(ImportProgress::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let (p, c, list) = (progress.clone(), cancel.clone(), files.clone());
        let handle = std::thread::Builder::new()
            .name("import".into())
            .spawn(move || {
                let mut report = ImportReport::default();
                for (i, path) in list.iter().enumerate() {
                    if c.load(Ordering::Relaxed) {
                        break;
                    }
                    p.file.store(i, Ordering::Relaxed);
                    *p.name.lock().expect("name lock") = super::session::file_name(path);
                    import_file(
                        path,
                        Destination::Database(&writer),
                        &ImportOptions::default(),
                        &*p,
                        &c,
                        &mut report,
                    );
                }
                done();
                report
            })
            .expect("spawn import thread");
        ImportJob {
            files,
            progress,
            cancel,
            handle: Some(handle),
        }
    }

    /// Fraction done (by files, then bytes of the current file) and the current file.
    pub fn progress(&self) -> (f32, String) {
        let n = self.files.len().max(1) as f32;
        let file = self.progress.file.load(Ordering::Relaxed) as f32;
        let total = self.progress.total.load(Ordering::Relaxed);
        let within = if total == 0 {
            0.0
        } else {
            self.progress.read.load(Ordering::Relaxed) as f32 / total as f32
        };
        let name = self.progress.name.lock().expect("name lock").clone();
        (((file + within) / n).min(1.0), name)
    }

    /// Asks the import to stop after the current request; what was stored stays.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether cancel was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The report, once the import has ended.
    pub fn finished(&mut self) -> Option<ImportReport> {
        if !self.handle.as_ref().is_some_and(|h| h.is_finished()) {
            return None;
        }
        let handle = self.handle.take()?;
        Some(handle.join().unwrap_or_else(|_| ImportReport {
            problems: vec![ingest::import::Problem {
                location: "import".into(),
                reason: "the import thread crashed".into(),
            }],
            ..ImportReport::default()
        }))
    }
}
