//! Importing files into the store: each file detected, read request by request,
//! normalized and handed to the writer in batches, with every problem reported.

use super::read::Location;
use super::{detect, read};
use crate::collector::collector_spans_except;
use crate::collector_signals::{collector_logs, collector_metrics};
use crate::normalize::{normalize_logs, normalize_metrics, normalize_traces};
use crate::otlp_json::Request;
use crate::sink::Sink;
use std::fs::File;
use std::io::{BufRead, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use store::{Batch, ClickHouse, CollectorSpan, SpanRow, Writer};

/// Rows handed to the writer at a time.
const BATCH_ROWS: usize = 16 * 1024;

/// Where imported spans go.
#[derive(Clone, Copy)]
pub enum Destination<'a> {
    /// The local database behind its writer.
    Database(&'a Writer),
    /// A team's ClickHouse, in the OpenTelemetry Collector's row layout.
    ClickHouse(&'a ClickHouse),
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A file with any bad record imports nothing.
    pub strict: bool,
}

/// One thing that was wrong, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `FILE:LINE`, `FILE@OFFSET`, or `FILE`.
    pub location: String,
    /// What was wrong.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// What importing files did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Files read.
    pub files: u64,
    /// Requests (lines, messages) read.
    pub requests: u64,
    /// Spans read.
    pub spans: u64,
    /// Spans newly stored.
    pub stored: u64,
    /// Spans already stored before (a file imported twice).
    pub duplicates: u64,
    /// LLM calls among the stored spans.
    pub llm_calls: u64,
    /// Log records stored (a logs dump: GenAI events, evaluations).
    pub logs: u64,
    /// Metric points stored (a metrics dump).
    pub metric_points: u64,
    /// Evaluation results and annotations newly stored (from log records and spans).
    pub evaluations: u64,
    /// Spans or records rejected.
    pub rejected: u64,
    /// Each problem, in file order.
    pub problems: Vec<Problem>,
    /// Spans stored as they were although something about them is wrong (a start time
    /// of 0, an end before the start), in file order.
    pub warnings: Vec<Problem>,
}

impl ImportReport {
    /// Whether anything was rejected (the CLI's exit status 1).
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// Observes an import: bytes of the file read so far, for a progress bar.
pub trait Progress: Sync {
    /// `read` of `total` bytes of the current file have been read.
    fn bytes(&self, read: u64, total: u64);
}

impl Progress for () {
    fn bytes(&self, _: u64, _: u64) {}
}

/// Imports one file into the store behind `writer`. Returns after every accepted row is
/// committed. `cancel` stops it between requests (what was committed stays).
pub fn import_file(
    path: &Path,
    destination: Destination<'_>,
    options: &ImportOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
    report: &mut ImportReport,
) {
    report.files += 1;
    let label = path.display().to_string();
    if options.strict {
        let mut check = ImportReport::default();
        scan(path, &label, None, progress, cancel, &mut check);
        if check.has_problems() {
            report.rejected += check.spans.max(check.rejected);
            report.requests += check.requests;
            report.spans += check.spans;
            report.problems.extend(check.problems);
            report.problems.push(Problem {
                location: label,
                reason: "--strict: nothing of this file was imported".into(),
            });
            return;
        }
    }
    scan(path, &label, Some(destination), progress, cancel, report);
}

/// Reads and normalizes a file, storing nothing: what an import would report, and the
/// speed of decoding alone.
pub fn read_only(path: &Path, cancel: &AtomicBool, report: &mut ImportReport) {
    report.files += 1;
    scan(path, &path.display().to_string(), None, &(), cancel, report);
}

/// Reads a file; with a destination, stores what is good.
fn scan(
    path: &Path,
    label: &str,
    destination: Option<Destination<'_>>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
    report: &mut ImportReport,
) {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return report.problems.push(Problem {
                location: label.into(),
                reason: format!("cannot open: {e}"),
            });
        }
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return report.problems.push(Problem {
            location: label.into(),
            reason: "is a directory".into(),
        });
    }
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = CountingReader {
        inner: file,
        read: 0,
        total,
        progress,
    };
    let (mut input, _) = match detect::decompress(counted) {
        Ok(x) => x,
        Err(e) => {
            return report.problems.push(Problem {
                location: label.into(),
                reason: format!("cannot read: {e}"),
            });
        }
    };
    let shape = match input
        .fill_buf()
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(detect::shape)
    {
        Ok(s) => s,
        Err(reason) => {
            return report.problems.push(Problem {
                location: label.into(),
                reason,
            });
        }
    };
    let writer = match destination {
        Some(Destination::Database(w)) => Some(w),
        _ => None,
    };
    let clickhouse = match destination {
        Some(Destination::ClickHouse(ch)) => Some(ch),
        _ => None,
    };
    let mut sink = Sink::new(writer);
    let mut pending: Vec<SpanRow> = Vec::new();
    let mut to_clickhouse = ClickHouseBatches::default();
    let mut on_request = |at: Location, r: Result<_, String>| {
        if cancel.load(Ordering::Relaxed) {
            return ControlFlow::Break(());
        }
        report.requests += 1;
        match r {
            Err(reason) => {
                report.rejected += 1;
                report.problems.push(Problem {
                    location: format!("{label}{at}"),
                    reason,
                });
            }
            Ok(Request::Logs(req)) => {
                let stored = match destination {
                    Some(Destination::ClickHouse(ch)) => {
                        let rows = collector_logs(&req);
                        ch.insert_logs(&rows).map(|()| (rows.len(), 0))
                    }
                    Some(Destination::Database(w)) => {
                        let (rows, refused) = normalize_logs(&req);
                        report.rejected += refused.len() as u64;
                        for reason in refused {
                            report.problems.push(Problem {
                                location: format!("{label}{at}"),
                                reason,
                            });
                        }
                        w.write(Batch {
                            logs: rows,
                            ..Batch::default()
                        })
                        .map(|r| (r.logs as usize, r.evaluations))
                    }
                    None => Ok((0, 0)),
                };
                match stored {
                    Ok((n, judged)) => {
                        report.logs += n as u64;
                        report.evaluations += judged;
                    }
                    Err(e) => report.problems.push(Problem {
                        location: format!("{label}{at}"),
                        reason: format!("log records not stored: {e}"),
                    }),
                }
            }
            Ok(Request::Metrics(req)) => {
                let stored = match destination {
                    Some(Destination::ClickHouse(ch)) => {
                        let points = collector_metrics(&req);
                        ch.insert_metrics(&points).map(|()| points.len())
                    }
                    Some(Destination::Database(w)) => {
                        let points = normalize_metrics(&req);
                        w.write(Batch {
                            metrics: points,
                            ..Batch::default()
                        })
                        .map(|r| r.metric_points as usize)
                    }
                    None => Ok(0),
                };
                match stored {
                    Ok(n) => report.metric_points += n as u64,
                    Err(e) => report.problems.push(Problem {
                        location: format!("{label}{at}"),
                        reason: format!("metric points not stored: {e}"),
                    }),
                }
            }
            Ok(Request::Traces(req)) => {
                let n = normalize_traces(&req);
                let refused: Vec<_> = n.rejected.iter().map(|r| r.position).collect();
                report.spans += (n.rows.len() + n.rejected.len()) as u64;
                report.rejected += n.rejected.len() as u64;
                for rej in n.rejected {
                    let (r, s, p) = rej.position;
                    report.problems.push(Problem {
                        location: format!("{label}{at}"),
                        reason: format!("span {p} of scope {s} of resource {r}: {}", rej.reason),
                    });
                }
                for note in n.noted {
                    let (r, s, p) = note.position;
                    report.warnings.push(Problem {
                        location: format!("{label}{at}"),
                        reason: format!("span {p} of scope {s} of resource {r}: {}", note.reason),
                    });
                }
                if let Some(ch) = clickhouse {
                    to_clickhouse.calls += n.rows.iter().filter(|r| r.llm.is_some()).count() as u64;
                    to_clickhouse.add(ch, collector_spans_except(&req, &refused), label);
                } else {
                    pending.extend(n.rows);
                    if pending.len() >= BATCH_ROWS {
                        sink.send(std::mem::take(&mut pending));
                    }
                }
            }
        }
        ControlFlow::Continue(())
    };
    if let Err(e) = read::for_each_request(input, shape, &mut on_request) {
        report.problems.push(Problem {
            location: label.into(),
            reason: format!("read error: {e}"),
        });
    }
    if let Some(ch) = clickhouse {
        to_clickhouse.flush(ch, label);
        report.stored += to_clickhouse.stored;
        report.llm_calls += to_clickhouse.calls;
        report.rejected += to_clickhouse.failed;
        report.problems.append(&mut to_clickhouse.problems);
    }
    sink.send(pending);
    let totals = sink.finish();
    report.stored += totals.committed.spans;
    report.duplicates += totals.committed.duplicate_spans;
    report.llm_calls += totals.committed.llm_calls;
    report.evaluations += totals.committed.evaluations;
    for (rows, reason) in totals.failures {
        report.rejected += rows as u64;
        report.problems.push(Problem {
            location: label.into(),
            reason: format!("{rows} spans not stored: {reason}"),
        });
    }
}

/// Spans on their way to a ClickHouse: inserted in large groups, each acknowledged by
/// the server before it counts as stored.
#[derive(Default)]
struct ClickHouseBatches {
    pending: Vec<CollectorSpan>,
    stored: u64,
    calls: u64,
    failed: u64,
    problems: Vec<Problem>,
}

impl ClickHouseBatches {
    fn add(&mut self, ch: &ClickHouse, spans: Vec<CollectorSpan>, label: &str) {
        self.pending.extend(spans);
        if self.pending.len() >= BATCH_ROWS {
            self.flush(ch, label);
        }
    }

    fn flush(&mut self, ch: &ClickHouse, label: &str) {
        let spans = std::mem::take(&mut self.pending);
        match ch.insert_spans(&spans) {
            Ok(()) => self.stored += spans.len() as u64,
            Err(e) => {
                self.failed += spans.len() as u64;
                self.problems.push(Problem {
                    location: label.into(),
                    reason: format!("{} spans not stored: {e}", spans.len()),
                });
            }
        }
    }
}

/// Counts bytes read from the file for the progress bar.
struct CountingReader<'p> {
    inner: File,
    read: u64,
    total: u64,
    progress: &'p dyn Progress,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.bytes(self.read, self.total);
        Ok(n)
    }
}
