//! Feeding the store's writer from a producer (a file import, the demo generator):
//! batches go to the writer with a bounded number uncommitted, so the producer runs
//! ahead of the database by at most that much memory, and the commit reports add up.

use std::sync::mpsc;
use store::{Batch, CommitReport, SpanRow, StoreError, Writer};

/// Batches uncommitted at once by default: enough to keep both cores busy.
pub const DEFAULT_IN_FLIGHT: usize = 3;

/// Hands row batches to the writer; [`Sink::finish`] waits for all of them.
pub struct Sink<'w> {
    writer: Option<&'w Writer>,
    max_in_flight: usize,
    done_tx: mpsc::Sender<(usize, Result<CommitReport, StoreError>)>,
    done_rx: mpsc::Receiver<(usize, Result<CommitReport, StoreError>)>,
    in_flight: usize,
    totals: SinkTotals,
}

/// What a sink's batches did once committed.
#[derive(Debug, Default)]
pub struct SinkTotals {
    /// Sum of the commit reports.
    pub committed: CommitReport,
    /// Batches that failed: their row count and the error.
    pub failures: Vec<(usize, String)>,
}

impl<'w> Sink<'w> {
    /// A sink into `writer`; with `None` it only counts (a dry run).
    pub fn new(writer: Option<&'w Writer>) -> Self {
        let (done_tx, done_rx) = mpsc::channel();
        Sink {
            writer,
            max_in_flight: DEFAULT_IN_FLIGHT,
            done_tx,
            done_rx,
            in_flight: 0,
            totals: SinkTotals::default(),
        }
    }

    /// Submits rows; blocks while the writer is the maximum number of batches behind.
    pub fn send(&mut self, rows: Vec<SpanRow>) {
        let Some(writer) = self.writer else { return };
        if rows.is_empty() {
            return;
        }
        while self.in_flight >= self.max_in_flight {
            self.account_one();
        }
        let done = self.done_tx.clone();
        let len = rows.len();
        writer.submit(
            Batch {
                spans: rows,
                ..Batch::default()
            },
            move |r| {
                let _ = done.send((len, r));
            },
        );
        self.in_flight += 1;
    }

    fn account_one(&mut self) {
        let Ok((len, r)) = self.done_rx.recv() else {
            return;
        };
        self.in_flight -= 1;
        match r {
            Ok(c) => {
                let t = &mut self.totals.committed;
                t.spans += c.spans;
                t.duplicate_spans += c.duplicate_spans;
                t.llm_calls += c.llm_calls;
                t.logs += c.logs;
                t.metric_points += c.metric_points;
                t.evaluations += c.evaluations;
            }
            Err(e) => self.totals.failures.push((len, e.to_string())),
        }
    }

    /// Waits until every submitted batch is committed (or failed).
    pub fn finish(mut self) -> SinkTotals {
        while self.in_flight > 0 {
            self.account_one();
        }
        self.totals
    }
}
