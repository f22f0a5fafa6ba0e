//! What both transports do with a decoded request: admit it against the byte-bounded
//! queue, normalize it, hand it to the writer (or insert it into a team's ClickHouse),
//! and answer only once it is committed.

use crate::collector_signals::{collector_logs, collector_metrics};
use crate::normalize::{check_traces, normalize_logs, normalize_metrics, normalize_traces};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{Batch, ClickHouse, CommitReport, Writer};
use tokio::sync::Semaphore;

/// Why an export was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportError {
    /// The queue to the writer is full: retry later (gRPC UNAVAILABLE, HTTP 503).
    Overloaded,
    /// The rows could not be committed: retry later.
    Store(String),
}

/// Where received data goes.
#[derive(Clone)]
pub enum Target {
    /// The local database, through its one writer.
    Database(Arc<Writer>),
    /// A team's ClickHouse, in the Collector's row layout: each request is inserted
    /// and acknowledged once ClickHouse acknowledged it; nothing is kept locally but
    /// the bounded queue of requests in flight.
    ClickHouse(Arc<ClickHouse>),
}

/// What was accepted: spans (or records, points) stored and refused, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Items the request held that were refused (bad ids).
    pub rejected: u64,
    /// The first reasons, for the partial-success message.
    pub message: String,
}

/// Counters a live indicator shows.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    /// Spans committed since start.
    pub spans: AtomicU64,
    /// Log records committed since start.
    pub logs: AtomicU64,
    /// Metric points committed since start.
    pub metric_points: AtomicU64,
    /// Requests answered with a retryable overload error.
    pub overloaded: AtomicU64,
    /// Nanoseconds decoding HTTP bodies (gRPC bodies are decoded inside tonic).
    pub decode_ns: AtomicU64,
    /// Nanoseconds normalizing requests into rows.
    pub normalize_ns: AtomicU64,
}

/// The shared path from decoded request to committed rows.
pub struct Pipeline {
    target: Target,
    admission: Arc<Semaphore>,
    queue_bytes: usize,
    /// Counters since start.
    pub stats: Arc<ReceiverStats>,
}

impl Pipeline {
    /// A pipeline into `target` admitting at most `queue_bytes` of requests at once.
    pub fn new(target: Target, queue_bytes: usize) -> Self {
        let queue_bytes = queue_bytes.clamp(1, u32::MAX as usize);
        Pipeline {
            target,
            admission: Arc::new(Semaphore::new(queue_bytes)),
            queue_bytes,
            stats: Arc::default(),
        }
    }

    /// A place in the queue for a request of `encoded_bytes`. A request larger than
    /// the whole queue counts as all of it, so it is admitted when nothing else is
    /// queued; a request that does not fit now is refused with a retryable answer.
    fn admit(
        &self,
        encoded_bytes: usize,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ExportError> {
        let want = encoded_bytes.clamp(1, self.queue_bytes) as u32;
        self.admission
            .clone()
            .try_acquire_many_owned(want)
            .map_err(|_| {
                self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
                ExportError::Overloaded
            })
    }

    async fn commit(
        &self,
        encoded_bytes: usize,
        batch: Batch,
    ) -> Result<CommitReport, ExportError> {
        let Target::Database(writer) = &self.target else {
            unreachable!("requests into a ClickHouse are inserted, not committed")
        };
        let permit = self.admit(encoded_bytes)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        writer.submit(batch, move |r| {
            let _ = tx.send(r);
        });
        let result = rx
            .await
            .map_err(|_| ExportError::Store("the writer stopped".into()))?;
        drop(permit);
        result.map_err(|e| ExportError::Store(e.to_string()))
    }

    /// Stores a trace request; answers once committed.
    pub async fn traces(
        &self,
        req: ExportTraceServiceRequest,
        encoded_bytes: usize,
    ) -> Result<Accepted, ExportError> {
        let t = std::time::Instant::now();
        // Into a ClickHouse the spans go as sent: only what would be refused is needed.
        let n = match &self.target {
            Target::Database(_) => normalize_traces(&req),
            Target::ClickHouse(_) => check_traces(&req),
        };
        self.stats
            .normalize_ns
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let collector_rows = match &self.target {
            Target::ClickHouse(_) => {
                let refused: Vec<_> = n.rejected.iter().map(|r| r.position).collect();
                Some(crate::collector::collector_spans_except(&req, &refused))
            }
            Target::Database(_) => None,
        };
        drop(req);
        let mut accepted = accepted(n.rejected.iter().map(|r| r.reason.clone()).collect());
        if accepted.rejected == 0
            && let Some(first) = n.noted.first()
        {
            // OTLP: a partial success with nothing rejected and a message is a warning.
            let (r, s, p) = first.position;
            accepted.message = format!(
                "{} span(s) stored with questionable times; the first, span {p} of scope {s} of resource {r}: {}",
                n.noted.len(),
                first.reason
            );
            tracing::warn!("{}", accepted.message);
        }
        if let Some(rows) = collector_rows {
            let count = rows.len() as u64;
            self.insert(encoded_bytes, move |ch| ch.insert_spans(&rows))
                .await?;
            self.stats.spans.fetch_add(count, Ordering::Relaxed);
            return Ok(accepted);
        }
        let report = self
            .commit(
                encoded_bytes,
                Batch {
                    spans: n.rows,
                    ..Batch::default()
                },
            )
            .await?;
        self.stats.spans.fetch_add(report.spans, Ordering::Relaxed);
        Ok(accepted)
    }

    /// Inserts rows into the target's ClickHouse, holding a place in the queue until
    /// ClickHouse acknowledged them.
    async fn insert(
        &self,
        encoded_bytes: usize,
        insert: impl FnOnce(&ClickHouse) -> Result<(), store::StoreError> + Send + 'static,
    ) -> Result<(), ExportError> {
        let Target::ClickHouse(ch) = &self.target else {
            unreachable!("requests into a database are committed, not inserted")
        };
        let permit = self.admit(encoded_bytes)?;
        let ch = ch.clone();
        tokio::task::spawn_blocking(move || insert(&ch))
            .await
            .map_err(|e| ExportError::Store(format!("the insert stopped: {e}")))?
            .map_err(|e| ExportError::Store(e.to_string()))?;
        drop(permit);
        Ok(())
    }

    /// Stores a logs request; answers once committed.
    pub async fn logs(
        &self,
        req: ExportLogsServiceRequest,
        encoded_bytes: usize,
    ) -> Result<Accepted, ExportError> {
        if let Target::ClickHouse(_) = &self.target {
            // Every record, as the Collector's exporter would store it.
            let rows = collector_logs(&req);
            drop(req);
            let count = rows.len() as u64;
            self.insert(encoded_bytes, move |ch| ch.insert_logs(&rows))
                .await?;
            self.stats.logs.fetch_add(count, Ordering::Relaxed);
            return Ok(Accepted::default());
        }
        let (rows, rejected) = normalize_logs(&req);
        drop(req);
        let report = self
            .commit(
                encoded_bytes,
                Batch {
                    logs: rows,
                    ..Batch::default()
                },
            )
            .await?;
        self.stats.logs.fetch_add(report.logs, Ordering::Relaxed);
        Ok(accepted(rejected))
    }

    /// Stores a metrics request; answers once committed.
    pub async fn metrics(
        &self,
        req: ExportMetricsServiceRequest,
        encoded_bytes: usize,
    ) -> Result<Accepted, ExportError> {
        if let Target::ClickHouse(_) = &self.target {
            let points = collector_metrics(&req);
            drop(req);
            let count = points.len() as u64;
            self.insert(encoded_bytes, move |ch| ch.insert_metrics(&points))
                .await?;
            self.stats.metric_points.fetch_add(count, Ordering::Relaxed);
            return Ok(Accepted::default());
        }
        let points = normalize_metrics(&req);
        drop(req);
        let report = self
            .commit(
                encoded_bytes,
                Batch {
                    metrics: points,
                    ..Batch::default()
                },
            )
            .await?;
        self.stats
            .metric_points
            .fetch_add(report.metric_points, Ordering::Relaxed);
        Ok(Accepted::default())
    }
}

fn accepted(reasons: Vec<String>) -> Accepted {
    let message = match reasons.len() {
        0 => String::new(),
        1 => reasons[0].clone(),
        n => format!("{} (and {} more)", reasons[0], n - 1),
    };
    Accepted {
        rejected: reasons.len() as u64,
        message,
    }
}
