//! Snapshots: a selection saved as a small database file to share. It holds every
//! trace of the selection, whole (their spans and LLM calls), their log records, every
//! evaluation, annotation and feedback about their calls, the metric points, alerts
//! that changed state and notes on time within its range, the prices its costs were
//! figured with, and the view and filters to open on
//! ([`store::SnapshotMark`]); nothing else. A colleague double-clicks it and sees the
//! same screen, offline; it opens read-only, so nothing they receive lands in it.
//!
//! The traces travel as the OTLP they were stored from and are written through a
//! writer, so every table derived from them (rollups, traces, agent runs, patterns,
//! the text index) is made as for any span received.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use store::{
    AnnotationEdit, Batch, Database, DatabaseFiles, Filter, OpenMode, Replace, SnapshotMark, Store,
};

/// Traces read and written at once.
const TRACES_PER_BATCH: usize = 500;

/// What a snapshot holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    /// Traces (whole).
    pub traces: usize,
    /// Their spans.
    pub spans: usize,
    /// Alert state changes in the range.
    pub alerts: usize,
    /// Notes on time touching the range.
    pub notes: usize,
    /// Log records of its traces.
    pub logs: usize,
    /// Evaluations, annotations and feedback about its calls.
    pub evaluations: usize,
    /// Metric points in its range.
    pub metric_points: usize,
    /// The file's size, bytes.
    pub bytes: u64,
}

/// Saves the selection `filter` of `source` as a snapshot at `target` that opens on
/// `view` (the window's words for a view and its filters). `source_file` is the
/// source's own file, which `target` must not be. `progress` hears of traces written
/// and their total. The file appears complete or not at all.
pub fn save(
    source: &dyn Database,
    source_file: Option<&Path>,
    filter: &Filter,
    view: &str,
    target: &Path,
    replace: Replace,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<Saved> {
    if let Some(file) = source_file {
        DatabaseFiles::new(file).check(target)?;
    }
    if replace == Replace::Never && target.exists() {
        bail!(
            "{} exists; choose another name, or replace it (--force)",
            target.display()
        );
    }
    let partial = partial_path(target);
    remove_database(&partial);
    let result = write(source, filter, view, &partial, progress);
    match result {
        Ok(mut saved) => {
            remove_database(target);
            std::fs::rename(&partial, target)
                .with_context(|| format!("cannot move the snapshot to {}", target.display()))?;
            // The search index was made for the partial name; the reader remakes it.
            remove_database(&partial);
            saved.bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
            Ok(saved)
        }
        Err(e) => {
            remove_database(&partial);
            Err(e)
        }
    }
}

/// A snapshot's bytes (see [`save`]), made in a scratch folder: for a save dialog that
/// writes the file itself.
pub fn bytes(
    source: &dyn Database,
    source_file: &Path,
    filter: &Filter,
    view: &str,
) -> anyhow::Result<Vec<u8>> {
    let scratch = tempfile::tempdir().context("cannot make a scratch folder")?;
    let path = scratch.path().join("snapshot.duckdb");
    save(
        source,
        Some(source_file),
        filter,
        view,
        &path,
        Replace::Never,
        &|_, _| {},
    )?;
    std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(
    source: &dyn Database,
    filter: &Filter,
    view: &str,
    path: &Path,
    progress: &dyn Fn(usize, usize),
) -> anyhow::Result<Saved> {
    let mut reader = source.reader()?;
    let ids = reader.trace_ids(filter)?;
    let snapshot = Store::open(path, OpenMode::ReadWrite)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let writer = snapshot.writer()?;
    let mut saved = Saved::default();
    progress(0, ids.len());
    for chunk in ids.chunks(TRACES_PER_BATCH) {
        let mut batch = Batch::default();
        for tree in reader.traces(chunk)? {
            let request = ingest::otlp_json::trace_request(&tree)
                .map_err(|e| anyhow::anyhow!("trace {}: {e}", tree.trace_id))?;
            let normalized = ingest::normalize::normalize_traces(&request);
            if let Some(r) = normalized.rejected.first() {
                bail!("trace {} could not be copied: {}", tree.trace_id, r.reason);
            }
            batch.spans.extend(normalized.rows);
        }
        saved.traces += chunk.len();
        saved.spans += batch.spans.len();
        writer.write(batch)?;
        progress(saved.traces, ids.len());
    }
    let window = filter.from_ns.zip(filter.to_ns);
    let mut batch = Batch::default();
    let alerts = reader.alert_history(filter.from_ns, 1_000_000)?;
    batch.alerts = alerts
        .into_iter()
        .filter(|a| filter.to_ns.is_none_or(|to| a.time_ns < to))
        .collect();
    for note in reader.time_annotations(window)? {
        batch
            .annotations
            .push(AnnotationEdit::add(note.from_ns, note.to_ns, &note.text)?);
    }
    saved.alerts = batch.alerts.len();
    saved.notes = batch.annotations.len();
    writer.write(batch)?;
    writer.close()?;
    if let Some(rows) = reader.side_rows(&ids, window)? {
        snapshot.add_side_rows(&rows)?;
        saved.logs = rows.count("logs");
        saved.evaluations = rows.count("evaluations");
        saved.metric_points = rows.count("metric_points");
    }
    snapshot.mark_snapshot(&SnapshotMark {
        view: view.to_string(),
        prices: source.prices(),
    })?;
    drop(snapshot);
    Ok(saved)
}

/// Where a snapshot is written before it is complete: beside the target.
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

/// Removes a database file and the files DuckDB and the text index keep beside it.
fn remove_database(path: &Path) {
    let _ = std::fs::remove_file(path);
    for part in DatabaseFiles::new(path).parts_beside() {
        let _ = std::fs::remove_dir_all(&part);
        let _ = std::fs::remove_file(&part);
    }
}
