//! The one writer: a thread that appends submitted batches through DuckDB's Appender
//! into staging tables, moves them into the real tables skipping ids already stored,
//! adds the new calls to the rollups, commits the whole group once, then tells each
//! submitter. The data version moves
//! after every commit.

use crate::error::StoreError;
use crate::ids::{span_key, trace_key};
use crate::patterns::{CallRef, PatternMiner};
use crate::prices::PriceTable;
use crate::row::{AlertEvent, Feedback, LogRow, MetricPoint, SpanClass, SpanRow};
use crate::text_index::{IndexedCall, TextIndex};
use duckdb::{Appender, Connection, params};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Rows submitted together; they are committed together or not at all.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Spans (with their LLM fields).
    pub spans: Vec<SpanRow>,
    /// Log records.
    pub logs: Vec<LogRow>,
    /// Metric points.
    pub metrics: Vec<MetricPoint>,
    /// Alert state changes, for the alert history.
    pub alerts: Vec<AlertEvent>,
    /// Feedback people gave in the app (each replaces the feedback given on the same
    /// call, trace or session before).
    pub feedback: Vec<Feedback>,
    /// Notes on stretches of time added or removed in the app.
    pub annotations: Vec<crate::time_annotations::AnnotationEdit>,
}

impl Batch {
    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
            && self.logs.is_empty()
            && self.metrics.is_empty()
            && self.alerts.is_empty()
            && self.feedback.is_empty()
            && self.annotations.is_empty()
    }

    /// The evaluation results its spans and log records carry.
    fn evaluations(&self) -> impl Iterator<Item = &crate::row::EvaluationRow> {
        self.spans
            .iter()
            .flat_map(|s| &s.evaluations)
            .chain(self.logs.iter().filter_map(|l| l.evaluation.as_ref()))
    }
}

/// What one committed batch changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitReport {
    /// Spans newly stored.
    pub spans: u64,
    /// Spans skipped because their (trace id, span id) was already stored.
    pub duplicate_spans: u64,
    /// Of the stored spans, LLM calls.
    pub llm_calls: u64,
    /// Log records newly stored (one sent before is stored once).
    pub logs: u64,
    /// Metric points stored.
    pub metric_points: u64,
    /// Evaluation results newly stored (one sent before is stored once).
    pub evaluations: u64,
}

/// Where the writer's time went, summed since it started: for benchmarks and the
/// collector's closing report.
#[derive(Debug, Default)]
pub struct WriterTimings {
    /// Nanoseconds appending rows to the staging tables.
    pub append_ns: AtomicU64,
    /// Nanoseconds moving staged rows into the tables (duplicate check included).
    pub insert_ns: AtomicU64,
    /// Of those, nanoseconds adding the new calls and spans to the summaries kept
    /// beside them: the rollups, the traces table, the agent runs and tools, the
    /// evaluations' calls.
    pub summaries_ns: AtomicU64,
    /// Of the summaries, nanoseconds adding the calls to the rollups.
    pub rollups_ns: AtomicU64,
    /// Of the summaries, nanoseconds adding the spans to the traces table (and each
    /// trace's cost measures).
    pub traces_ns: AtomicU64,
    /// Of the summaries, nanoseconds adding the spans to the agent runs and tools.
    pub runs_ns: AtomicU64,
    /// Nanoseconds finding the new calls' prompt patterns (inside `append_ns`, and
    /// the patterns' storing inside `insert_ns`).
    pub patterns_ns: AtomicU64,
    /// Nanoseconds committing.
    pub commit_ns: AtomicU64,
    /// Commits made.
    pub commits: AtomicU64,
}

type Done = Box<dyn FnOnce(Result<CommitReport, StoreError>) + Send>;

enum Job {
    Write(Batch, Done),
    Run(Box<dyn FnOnce(&Connection) + Send>),
    /// Tidy the summaries now, then merge the log into the file.
    Checkpoint(mpsc::SyncSender<Result<(), StoreError>>),
}

/// Handle to the writer thread. Dropping it (or [`Writer::close`]) commits what was
/// submitted, checkpoints and stops the thread.
pub struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    timings: Arc<WriterTimings>,
    pub(crate) text: Option<Arc<TextIndex>>,
}

/// A commit group slower than this is logged (debug, `store::writer`) with its split.
const SLOW_GROUP: std::time::Duration = std::time::Duration::from_millis(300);

/// How often the writer joins the rows of traces whose spans came far apart (see
/// `trace_table`; each step reads every trace id: 0.1-0.2 s at 10M spans).
const MERGE_SPLIT_TRACES_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How often the rollup rows that commits appended are folded into one per key (see
/// `rollup::compact`).
const COMPACT_ROLLUPS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Most rows taken into one commit; bounds the time a submitter waits behind others,
/// and the memory a group holds while DuckDB copies it (a span row with its attributes
/// is about a kilobyte: 64k rows, ~64 MB). The commits' fixed costs are negligible at
/// this size. (Lowered from 256k with the memory work; its own effect on peak memory
/// was not measured apart.)
const GROUP_ROWS: usize = 64 * 1024;

/// While commits are slow (at least [`SLOW_COMMIT`]), the writer waits up to this long
/// after a group's first batch for more before committing it. Without it, concurrent
/// clients fall into committing in halves: the batches of the clients just answered
/// arrive a little after the next group started (a round trip, decoding and
/// normalizing: 15-25 ms for 512 spans on 2 cores), and wait a whole commit. With
/// `loadgen` (4 clients of 512 spans): 98 commits of 1,000 spans → 51-53 of 1,900,
/// 5.8-7.2k → 8.1-8.3k spans/s; at 5 ms it changed nothing. Only while the last group
/// held several batches: a lone client (an import, the demo) gains nothing by waiting.
const LINGER: Duration = Duration::from_millis(25);

/// A commit at least this long counts as slow, for [`LINGER`].
const SLOW_COMMIT: Duration = Duration::from_millis(40);

impl Writer {
    pub(crate) fn start(
        conn: Connection,
        version: Arc<AtomicU64>,
        text: Option<Arc<TextIndex>>,
        prices: Arc<RwLock<PriceTable>>,
    ) -> Result<Writer, StoreError> {
        // Rows are appended to staging tables first, outside the transaction: DuckDB's
        // appender inside an explicit transaction leaves long strings pointing into its
        // own buffers, which are gone by commit time. `batch` tells the batches of a
        // group apart so that each gets its own report.
        conn.execute_batch("SET checkpoint_threshold = '256MB';")?;
        create_staging(&conn)?;
        // Room for every statement a commit prepares once and runs again.
        conn.set_prepared_statement_cache_capacity(64);
        let miner = PatternMiner::new(crate::pattern_table::load(&conn)?);
        let (tx, rx) = mpsc::channel::<Job>();
        let timings = Arc::new(WriterTimings::default());
        let t = timings.clone();
        let index = text.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, rx, version, t, index, Upkeep::new(miner, prices)))
            .map_err(|source| StoreError::Io {
                path: "writer thread".into(),
                source,
            })?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            timings,
            text,
        })
    }

    /// Where the writer's time went so far.
    pub fn timings(&self) -> &WriterTimings {
        &self.timings
    }

    /// Queues a batch; `done` is called on the writer thread once it is committed (or
    /// failed). Acknowledge a client only from `done`.
    pub fn submit(
        &self,
        batch: Batch,
        done: impl FnOnce(Result<CommitReport, StoreError>) + Send + 'static,
    ) {
        let job = Job::Write(batch, Box::new(done));
        if let Err(mpsc::SendError(Job::Write(_, done))) =
            self.tx.as_ref().expect("writer open").send(job)
        {
            done(Err(StoreError::WriterStopped));
        }
    }

    /// Submits a batch and waits for its commit.
    pub fn write(&self, batch: Batch) -> Result<CommitReport, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(batch, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Runs maintenance on the writer's connection, in order with the batches, and
    /// waits for its result (retention, clearing, checkpoints).
    pub(crate) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.ask(|reply| {
            Job::Run(Box::new(move |conn| {
                let _ = reply.send(f(conn));
            }))
        })
    }

    /// Compacts the rollups and joins the rows of traces split across commits far
    /// apart (see `rollup` and `trace_table`), then merges the write-ahead log into
    /// the database file.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.ask(Job::Checkpoint)
    }

    /// Queues the job `make` builds around a reply channel and waits for the reply.
    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::SyncSender<Result<T, StoreError>>) -> Job,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        if self
            .tx
            .as_ref()
            .expect("writer open")
            .send(make(tx))
            .is_err()
        {
            return Err(StoreError::WriterStopped);
        }
        rx.recv().unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Commits everything submitted, checkpoints, and stops the thread.
    pub fn close(mut self) -> Result<(), StoreError> {
        let result = self.checkpoint();
        self.shutdown();
        result
    }

    fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    version: Arc<AtomicU64>,
    timings: Arc<WriterTimings>,
    text: Option<Arc<TextIndex>>,
    mut upkeep: Upkeep,
) {
    let text = text.as_deref();
    upkeep.reprice(&conn);
    while let Ok(first) = rx.recv() {
        let mut group = Vec::new();
        let mut rows = 0;
        let linger_until = upkeep.linger_until(Instant::now());
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(batch, done) => {
                    rows += batch.spans.len()
                        + batch.logs.len()
                        + batch.metrics.len()
                        + batch.alerts.len();
                    group.push((batch, done));
                    if rows < GROUP_ROWS {
                        next = match (rx.try_recv(), linger_until) {
                            (Ok(job), _) => Some(job),
                            (Err(_), Some(until)) => rx
                                .recv_timeout(until.saturating_duration_since(Instant::now()))
                                .ok(),
                            (Err(_), None) => None,
                        };
                    }
                }
                Job::Run(f) => {
                    let group = std::mem::take(&mut group);
                    upkeep.commit(&conn, group, &version, &timings, text);
                    f(&conn);
                    upkeep.priced_at = None;
                    version.fetch_add(1, Ordering::AcqRel);
                    next = rx.try_recv().ok();
                }
                Job::Checkpoint(reply) => {
                    let group = std::mem::take(&mut group);
                    upkeep.commit(&conn, group, &version, &timings, text);
                    // The log goes into the file even when tidying failed.
                    let tidied = upkeep.tidy(&conn, true);
                    let result = conn
                        .execute_batch("CHECKPOINT")
                        .map_err(StoreError::from)
                        .and(tidied);
                    version.fetch_add(1, Ordering::AcqRel);
                    let _ = reply.send(result);
                    next = rx.try_recv().ok();
                }
            }
        }
        upkeep.commit(&conn, group, &version, &timings, text);
        match upkeep.tidy(&conn, false) {
            Ok(()) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    // Closing: what the index holds in memory goes to its files.
    if let Some(t) = text
        && let Err(e) = t.flush()
    {
        tracing::warn!("{e}; the index will be rebuilt at the next start");
    }
}

/// How many rows the writer stages between two renewals of its staging tables
/// ([`renew_staging`]).
const RENEW_STAGING_ROWS: usize = 65_536;

/// Creates the writer connection's staging tables, which every commit empties.
fn create_staging(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE stage_spans AS SELECT *, 0::INTEGER AS batch FROM spans LIMIT 0;
         CREATE TEMP TABLE stage_llm AS SELECT *, 0::INTEGER AS batch FROM llm_calls LIMIT 0;
         CREATE TEMP TABLE stage_logs AS SELECT *, 0::INTEGER AS batch FROM logs LIMIT 0;
         CREATE TEMP TABLE stage_metrics AS SELECT * FROM metric_points LIMIT 0;
         CREATE TEMP TABLE touched (trace_id UHUGEINT, span_id UBIGINT);",
    )?;
    conn.execute_batch(crate::evaluations::STAGE_SQL)?;
    conn.execute_batch(crate::pattern_table::STAGE_SQL)
}

/// Drops the connection's temporary tables and creates the staging tables again.
/// DuckDB keeps a deleted row of a temporary table (never checkpointed) until the
/// table is dropped, so tables only emptied with DELETE held every row ever staged:
/// building 50M spans spilled 30 GB into the database's `.tmp` folder, and the dead
/// rows took the memory limit's room before that. Renewed every
/// [`RENEW_STAGING_ROWS`] rows, they hold at most about that many (~20 MB of spans).
/// The other temporary tables are made afresh by the statements that use them.
fn renew_staging(conn: &Connection) -> duckdb::Result<()> {
    let drop = conn.query_row(
        "SELECT string_agg(format('DROP TABLE temp.\"{}\";', table_name), '')
         FROM duckdb_tables() WHERE temporary",
        [],
        |r| r.get::<_, Option<String>>(0),
    )?;
    conn.execute_batch(&drop.unwrap_or_default())?;
    create_staging(conn)
}

/// What the writer keeps between commits: which minutes have rollup rows appended
/// since they were last compacted, when split traces were last joined, the prompt
/// pattern miner (as the database has it: rebuilt from it after a failed commit), and
/// the prices in force (the store's, which the user changes), that traces are priced at.
struct Upkeep {
    miner: PatternMiner,
    prices: Arc<RwLock<PriceTable>>,
    /// The prices the traces' kept costs were last found or made at; none after a job
    /// that may have changed them (retention), so that `meta` is read again.
    priced_at: Option<PriceTable>,
    /// Earliest and latest start of the calls committed since the last compaction.
    appended: Option<(i64, i64)>,
    last_compaction: Instant,
    last_merge: Instant,
    /// How long the last group took to commit, and how many batches it held.
    last_commit: Duration,
    last_group_batches: usize,
    /// Rows staged since the staging tables were last renewed ([`renew_staging`]).
    staged: usize,
}

impl Upkeep {
    fn new(miner: PatternMiner, prices: Arc<RwLock<PriceTable>>) -> Upkeep {
        Upkeep {
            miner,
            prices,
            priced_at: None,
            appended: None,
            last_compaction: Instant::now(),
            last_merge: Instant::now(),
            last_commit: Duration::ZERO,
            last_group_batches: 0,
            staged: 0,
        }
    }

    /// Until when a group started at `started` waits for more batches (see [`LINGER`]).
    fn linger_until(&self, started: Instant) -> Option<Instant> {
        (self.last_commit >= SLOW_COMMIT && self.last_group_batches > 1).then(|| started + LINGER)
    }

    /// Prices every trace again when the column holds other prices than those in
    /// force (`crate::trace_cost`); returns the prices in force. A commit's check is
    /// a comparison in memory: only this writer changes the column and its record.
    fn reprice(&mut self, conn: &Connection) -> PriceTable {
        let prices = self.prices.read().expect("price lock").clone();
        if self.priced_at.as_ref() != Some(&prices) {
            match crate::trace_cost::reprice_if_stale(conn, &prices) {
                Ok(_) => self.priced_at = Some(prices.clone()),
                Err(e) => tracing::warn!(
                    "pricing the traces again: {e}; the traces list prices their calls instead"
                ),
            }
        }
        prices
    }

    /// Commits a group (see [`commit_group`]) and notes the range of its calls.
    fn commit(
        &mut self,
        conn: &Connection,
        group: Vec<(Batch, Done)>,
        version: &AtomicU64,
        timings: &WriterTimings,
        text: Option<&TextIndex>,
    ) {
        if group.is_empty() {
            return;
        }
        let prices = self.reprice(conn);
        let calls = group
            .iter()
            .flat_map(|(b, _)| &b.spans)
            .filter(|s| s.llm.is_some())
            .map(|s| s.start_ns);
        let range = calls.fold(self.appended, |r, t| match r {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        });
        self.last_group_batches = group.len();
        self.staged += group
            .iter()
            .map(|(b, _)| b.spans.len() + b.logs.len() + b.metrics.len() + b.evaluations().count())
            .sum::<usize>();
        let started = Instant::now();
        let committed = commit_group(
            conn,
            group,
            version,
            timings,
            text,
            &mut self.miner,
            &prices,
        );
        self.last_commit = started.elapsed();
        if self.staged >= RENEW_STAGING_ROWS {
            match renew_staging(conn) {
                Ok(()) => self.staged = 0,
                Err(e) => tracing::warn!("renewing the staging tables: {e}; tried again later"),
            }
        }
        if committed {
            self.appended = range;
        } else {
            // What the miner learned from the failed group was not stored.
            match crate::pattern_table::load(conn) {
                Ok(stored) => self.miner = PatternMiner::new(stored),
                Err(e) => tracing::warn!("reloading the prompt patterns: {e}"),
            }
        }
    }

    /// Compacts the rollups and joins split traces when they are due, or now (`now`).
    fn tidy(&mut self, conn: &Connection, now: bool) -> Result<(), StoreError> {
        if let Some((lo, hi)) = self.appended
            && (now || self.last_compaction.elapsed() >= COMPACT_ROLLUPS_EVERY)
        {
            self.last_compaction = Instant::now();
            conn.execute_batch("BEGIN TRANSACTION")?;
            let compacted = crate::rollup::compact(conn, lo, hi).and_then(|()| {
                crate::run_table::compact(
                    conn,
                    lo.saturating_sub(crate::trace_table::WINDOW_NS),
                    hi,
                )
            });
            if let Err(e) = compacted {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(StoreError::Upkeep {
                    what: "compacting the rollups",
                    detail: e.to_string(),
                });
            }
            conn.execute_batch("COMMIT")?;
            self.appended = None;
        }
        if now || self.last_merge.elapsed() >= MERGE_SPLIT_TRACES_EVERY {
            self.last_merge = Instant::now();
            if let Err(e) = crate::trace_table::merge_split(conn) {
                return Err(StoreError::Upkeep {
                    what: "joining the rows of traces whose spans came far apart",
                    detail: e.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Writes a group of batches in one transaction and reports to each submitter;
/// false when it failed.
fn commit_group(
    conn: &Connection,
    group: Vec<(Batch, Done)>,
    version: &AtomicU64,
    timings: &WriterTimings,
    text: Option<&TextIndex>,
    miner: &mut PatternMiner,
    prices: &PriceTable,
) -> bool {
    let (batches, dones): (Vec<Batch>, Vec<Done>) = group.into_iter().unzip();
    let started = Instant::now();
    match write_group(conn, &batches, timings, miner, prices) {
        Ok(reports) => {
            let stored = started.elapsed();
            if let Some(index) = text {
                index_committed(conn, index, &batches);
            }
            // Slow groups hold acknowledgements back: say where the time went.
            if started.elapsed() >= SLOW_GROUP {
                tracing::debug!(
                    batches = batches.len(),
                    store_ms = stored.as_millis(),
                    text_index_ms = (started.elapsed() - stored).as_millis(),
                    "slow commit group"
                );
            }
            version.fetch_add(1, Ordering::AcqRel);
            for (done, report) in dones.into_iter().zip(reports) {
                done(Ok(report));
            }
            true
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::error!("commit failed: {e}");
            let message = e.to_string();
            for done in dones {
                done(Err(StoreError::Commit(message.clone())));
            }
            false
        }
    }
}

/// Adds the committed calls with text to the full-text index (and the calls whose text
/// came with GenAI events, read back as stored). A failure leaves the index stale:
/// searches scan until it is rebuilt at the next open.
fn index_committed(conn: &Connection, index: &TextIndex, batches: &[Batch]) {
    let mut calls = Vec::new();
    for b in batches {
        for s in &b.spans {
            if let Some(llm) = &s.llm {
                let prompt = llm.prompt.as_deref().and_then(non_empty);
                let response = llm.response.as_deref().and_then(non_empty);
                if prompt.is_some() || response.is_some() {
                    calls.push(IndexedCall {
                        trace_id: trace_key(&s.trace_id),
                        span_id: span_key(&s.span_id),
                        start_ns: s.start_ns,
                        text: format!("{}\n{}", prompt.unwrap_or(""), response.unwrap_or("")),
                    });
                }
            }
        }
        for l in &b.logs {
            if let (Some(_), Some(t), Some(sp)) = (&l.genai, &l.trace_id, &l.span_id) {
                let read = conn.query_row(
                    "SELECT start_ns, coalesce(prompt, '') || chr(10) || coalesce(response, '')
                     FROM llm_calls WHERE trace_id = ? AND span_id = ?",
                    params![trace_key(t), span_key(sp)],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
                );
                if let Ok((start_ns, text)) = read {
                    calls.push(IndexedCall {
                        trace_id: trace_key(t),
                        span_id: span_key(sp),
                        start_ns,
                        text,
                    });
                }
            }
        }
    }
    if let Err(e) = index.add(&calls) {
        tracing::warn!("{e}; searches will scan until the next start");
        index.mark_stale();
    }
}

fn write_group(
    conn: &Connection,
    batches: &[Batch],
    timings: &WriterTimings,
    miner: &mut PatternMiner,
    prices: &PriceTable,
) -> Result<Vec<CommitReport>, StoreError> {
    let elapsed = |since: Instant| since.elapsed().as_nanos() as u64;
    let step =
        |what: &'static str| move |e: duckdb::Error| StoreError::Commit(format!("{what}: {e}"));
    // Every statement costs a commit a fraction of a millisecond, which at a few
    // hundred spans a request is most of its time: kinds of rows the group has none of
    // are skipped throughout.
    let has_spans = batches.iter().any(|b| !b.spans.is_empty());
    let has_logs = batches.iter().any(|b| !b.logs.is_empty());
    let has_metrics = batches.iter().any(|b| !b.metrics.is_empty());
    let has_evals = batches.iter().any(|b| b.evaluations().next().is_some());
    let has_feedback = batches.iter().any(|b| !b.feedback.is_empty());
    let has_annotations = batches.iter().any(|b| !b.annotations.is_empty());
    let mut clear = String::new();
    if has_spans {
        clear.push_str("DELETE FROM stage_spans; DELETE FROM stage_llm;");
    }
    if has_logs {
        clear.push_str("DELETE FROM stage_logs;");
    }
    if has_metrics {
        clear.push_str("DELETE FROM stage_metrics;");
    }
    if has_evals {
        clear.push_str("DELETE FROM stage_evals;");
    }
    conn.execute_batch(&clear)?;
    let t = Instant::now();
    let mut reports = Vec::with_capacity(batches.len());
    // A span sent twice in the group (twice in one request, or retried while the first
    // copy waited) is staged once, with the first batch that has it.
    let mut seen = HashSet::new();
    for (i, batch) in batches.iter().enumerate() {
        let unique: Vec<&SpanRow> = batch
            .spans
            .iter()
            .filter(|s| seen.insert((s.trace_id, s.span_id)))
            .collect();
        if !unique.is_empty() {
            stage_spans(conn, &unique, i as i32, miner, timings)
                .map_err(|e| StoreError::Commit(format!("staging spans: {e}")))?;
        }
        if !batch.logs.is_empty() {
            append_logs(conn, &batch.logs, i as i32)
                .map_err(|e| StoreError::Commit(format!("staging logs: {e}")))?;
        }
        if !batch.metrics.is_empty() {
            append_metrics(conn, &batch.metrics)
                .map_err(|e| StoreError::Commit(format!("staging metrics: {e}")))?;
        }
        if has_evals {
            crate::evaluations::stage(conn, batch.evaluations(), i as i32)
                .map_err(step("staging evaluations"))?;
        }
        reports.push(CommitReport {
            metric_points: batch.metrics.len() as u64,
            ..CommitReport::default()
        });
    }
    timings.append_ns.fetch_add(elapsed(t), Ordering::Relaxed);

    let t = Instant::now();
    conn.execute_batch("BEGIN TRANSACTION")?;
    if has_spans {
        move_staged(conn, batches, &mut reports, timings, prices)?;
    }
    if has_logs {
        store_new_logs(conn, &mut reports).map_err(step("storing logs"))?;
    }
    if has_metrics {
        conn.execute_batch("INSERT INTO metric_points SELECT * FROM stage_metrics;")
            .map_err(step("storing metric points"))?;
    }
    if has_evals {
        let stored = crate::evaluations::store_new(conn).map_err(step("storing evaluations"))?;
        for (batch, n) in stored {
            if let Some(r) = reports.get_mut(batch) {
                r.evaluations = n;
            }
        }
    }
    if has_feedback {
        crate::evaluations::give_feedback(conn, batches.iter().flat_map(|b| &b.feedback))
            .map_err(step("storing feedback"))?;
    }
    if has_annotations {
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        crate::time_annotations::apply(conn, batches.iter().flat_map(|b| &b.annotations), now_ns)
            .map_err(step("storing annotations"))?;
    }
    let from_events = join_genai_events(conn, batches)
        .map_err(|e| StoreError::Commit(format!("joining GenAI events: {e}")))?;
    let patterns = Instant::now();
    // Calls stored without a prompt, whose prompt came in GenAI events, get theirs now.
    let assigned: Vec<(CallRef, i32)> = from_events
        .into_iter()
        .filter_map(|(call, prompt)| Some((call, miner.assign(&prompt, None, call)?)))
        .collect();
    let mut learned = miner.learned();
    learned.assigned_later.extend(assigned);
    crate::pattern_table::store_learned(conn, &learned).map_err(step("storing prompt patterns"))?;
    timings
        .patterns_ns
        .fetch_add(elapsed(patterns), Ordering::Relaxed);
    insert_alerts(conn, batches).map_err(step("storing alert history"))?;
    timings.insert_ns.fetch_add(elapsed(t), Ordering::Relaxed);
    let t = Instant::now();
    conn.execute_batch("COMMIT")?;
    timings.commit_ns.fetch_add(elapsed(t), Ordering::Relaxed);
    timings.commits.fetch_add(1, Ordering::Relaxed);
    Ok(reports)
}

/// Moves the staged spans and calls into the tables, skipping those already stored (a
/// retried request, a file imported twice), counts each batch's share, then adds the
/// new calls to the rollups and the new spans to their traces' rows. There is no
/// primary-key index to find copies (DuckDB keeps one in memory, at ~60 bytes a key,
/// which a 100M-span database cannot afford): a span's copy has the same ids and the
/// same start time, so only stored rows within the group's start times are compared,
/// and DuckDB skips every row group outside them by its min/max. Copies leave the
/// staging tables first, so that what stays there is exactly what is stored.
fn move_staged(
    conn: &Connection,
    batches: &[Batch],
    reports: &mut [CommitReport],
    timings: &WriterTimings,
    prices: &PriceTable,
) -> Result<(), StoreError> {
    let (lo, hi) = batches
        .iter()
        .flat_map(|b| &b.spans)
        .fold((i64::MAX, i64::MIN), |(lo, hi), s| {
            (lo.min(s.start_ns), hi.max(s.start_ns))
        });
    if lo > hi {
        return Ok(());
    }
    // A call is stored with its span, so the calls left are those of the spans left.
    conn.execute_batch(&format!(
        "DELETE FROM stage_spans st WHERE EXISTS (
             SELECT 1 FROM spans t
             WHERE t.start_ns BETWEEN {lo} AND {hi} AND t.start_ns = st.start_ns
               AND t.trace_id = st.trace_id AND t.span_id = st.span_id);
         DELETE FROM stage_llm c WHERE NOT EXISTS (
             SELECT 1 FROM stage_spans s WHERE s.trace_id = c.trace_id AND s.span_id = c.span_id);"
    ))?;
    let (mut any_spans, mut any_calls) = (false, false);
    {
        let mut stmt = conn.prepare_cached(
            "SELECT batch, count(*) AS spans, count(*) FILTER (WHERE is_llm) AS calls
             FROM stage_spans GROUP BY batch",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let report = &mut reports[r.get::<_, i32>("batch")? as usize];
            report.spans = r.get("spans")?;
            report.llm_calls = r.get("calls")?;
            any_spans |= report.spans > 0;
            any_calls |= report.llm_calls > 0;
        }
    }
    for (report, batch) in reports.iter_mut().zip(batches) {
        report.duplicate_spans = batch.spans.len() as u64 - report.spans;
    }
    conn.execute_batch(
        "INSERT INTO spans SELECT * EXCLUDE (batch) FROM stage_spans;
         INSERT INTO llm_calls SELECT * EXCLUDE (batch) FROM stage_llm;",
    )?;
    let summing = Instant::now();
    let timed = |part: &AtomicU64, started: Instant| {
        part.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed)
    };
    if any_calls {
        let t = Instant::now();
        crate::rollup::add_calls(conn, "stage_llm")
            .map_err(|e| StoreError::Commit(format!("adding calls to the rollups: {e}")))?;
        timed(&timings.rollups_ns, t);
        crate::evaluations::join_new_calls(conn)
            .map_err(|e| StoreError::Commit(format!("joining evaluations to their calls: {e}")))?;
    }
    if any_spans {
        let t = Instant::now();
        crate::trace_table::add(conn, lo, prices)
            .map_err(|e| StoreError::Commit(format!("adding spans to their traces: {e}")))?;
        timed(&timings.traces_ns, t);
        let t = Instant::now();
        crate::run_table::add(conn, lo, hi)
            .map_err(|e| StoreError::Commit(format!("adding spans to their agent runs: {e}")))?;
        timed(&timings.runs_ns, t);
    }
    timings
        .summaries_ns
        .fetch_add(summing.elapsed().as_nanos() as u64, Ordering::Relaxed);
    Ok(())
}

/// Completes LLM calls' prompt and response from GenAI event log records, whichever
/// arrived first: the calls of this group lacking text, and the calls that this group's
/// events belong to. Returns the calls that now have a prompt and no pattern yet.
fn join_genai_events(
    conn: &Connection,
    batches: &[Batch],
) -> Result<Vec<(CallRef, String)>, StoreError> {
    let mut touched = Vec::new();
    for b in batches {
        for l in &b.logs {
            if let (Some(_), Some(t), Some(s)) = (&l.genai, &l.trace_id, &l.span_id) {
                touched.push((trace_key(t), span_key(s)));
            }
        }
        for s in &b.spans {
            if let Some(llm) = &s.llm
                && (llm.prompt.is_none() || llm.response.is_none())
            {
                touched.push((trace_key(&s.trace_id), span_key(&s.span_id)));
            }
        }
    }
    if touched.is_empty() {
        return Ok(Vec::new());
    }
    let mut app = conn.appender_to_catalog_and_db("touched", "temp", "main")?;
    for (t, s) in touched {
        app.append_row(params![t, s])?;
    }
    finish(app)?;
    // Most clients send no GenAI events: then there is nothing to join, and the UPDATE
    // (which scans the calls) is skipped.
    let events: i64 = conn.query_row(
        "SELECT count(*) FROM logs l
         JOIN (SELECT DISTINCT trace_id, span_id FROM touched) t ON l.trace_id = t.trace_id AND l.span_id = t.span_id
         WHERE l.genai_prompt IS NOT NULL OR l.genai_response IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    if events == 0 {
        conn.execute_batch("DELETE FROM touched")?;
        return Ok(Vec::new());
    }
    conn.execute_batch(
        "UPDATE llm_calls AS c SET
             prompt = coalesce(c.prompt, j.prompt),
             response = coalesce(c.response, j.response)
         FROM (
             SELECT l.trace_id, l.span_id,
                    string_agg(l.genai_prompt, chr(10) || chr(10) ORDER BY l.time_ns) AS prompt,
                    string_agg(l.genai_response, chr(10) || chr(10) ORDER BY l.time_ns) AS response
             FROM logs l
             JOIN (SELECT DISTINCT trace_id, span_id FROM touched) t
               ON l.trace_id = t.trace_id AND l.span_id = t.span_id
             WHERE l.genai_prompt IS NOT NULL OR l.genai_response IS NOT NULL
             GROUP BY l.trace_id, l.span_id
         ) j
         WHERE c.trace_id = j.trace_id AND c.span_id = j.span_id
           AND (c.prompt IS NULL OR c.response IS NULL);",
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT c.trace_id, c.span_id, c.start_ns, c.prompt FROM llm_calls c
         JOIN (SELECT DISTINCT trace_id, span_id FROM touched) t
           ON c.trace_id = t.trace_id AND c.span_id = t.span_id
         WHERE c.pattern_id IS NULL AND c.prompt IS NOT NULL",
    )?;
    let unpatterned = stmt
        .query_map([], |r| {
            Ok((
                CallRef {
                    trace_id: r.get(0)?,
                    span_id: r.get(1)?,
                    start_ns: r.get(2)?,
                },
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    conn.execute_batch("DELETE FROM touched;")?;
    Ok(unpatterned)
}

fn stage_spans(
    conn: &Connection,
    spans: &[&SpanRow],
    batch: i32,
    miner: &mut PatternMiner,
    timings: &WriterTimings,
) -> Result<(), StoreError> {
    let mut app = conn.appender_to_catalog_and_db("stage_spans", "temp", "main")?;
    for s in spans {
        app.append_row(params![
            trace_key(&s.trace_id),
            span_key(&s.span_id),
            s.parent_span_id.as_ref().map(span_key),
            s.name.as_str(),
            s.kind as i8,
            s.start_ns,
            // Never before the start (ingest sees to it too): a trace's spans all
            // start before its last end, which opening a trace relies on.
            s.end_ns.max(s.start_ns),
            s.duration_ns(),
            s.status as u8 as i8,
            non_empty(&s.status_message),
            s.service.as_str(),
            non_empty(&s.scope),
            s.llm.is_some(),
            s.attributes_json.as_str(),
            s.resource_json.as_str(),
            s.events_json.as_str(),
            s.links_json.as_str(),
            if s.llm.is_some() {
                SpanClass::Llm
            } else {
                s.class
            }
            .code(),
            s.session_id.as_deref(),
            s.user_id.as_deref(),
            s.entity.as_deref(),
            batch,
        ])?;
    }
    finish(app)?;
    let mut app = conn.appender_to_catalog_and_db("stage_llm", "temp", "main")?;
    for s in spans {
        let Some(l) = &s.llm else { continue };
        let mining = Instant::now();
        let call = CallRef {
            trace_id: trace_key(&s.trace_id),
            span_id: span_key(&s.span_id),
            start_ns: s.start_ns,
        };
        let pattern = match (&l.declared_prompt, l.prompt.as_deref().and_then(non_empty)) {
            (Some(d), prompt) => miner.assign(prompt.unwrap_or(""), Some(d), call),
            (None, Some(prompt)) => miner.assign(prompt, None, call),
            (None, None) => None,
        };
        timings
            .patterns_ns
            .fetch_add(mining.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let is_error = s.status == crate::row::StatusCode::Error || l.error_type.is_some();
        app.append_row(params![
            trace_key(&s.trace_id),
            span_key(&s.span_id),
            s.start_ns,
            s.duration_ns(),
            s.service.as_str(),
            l.provider.as_deref(),
            l.operation.as_deref(),
            l.request_model.as_deref(),
            l.response_model.as_deref(),
            l.model(),
            l.input_tokens,
            l.output_tokens,
            l.cache_read_tokens,
            l.cache_write_tokens,
            l.reasoning_tokens,
            l.reported_cost_usd,
            l.finish_reason.as_deref(),
            is_error,
            l.error_type.as_deref(),
            l.error_message.as_deref(),
            l.session_id.as_deref(),
            l.user_id.as_deref(),
            l.prompt.as_deref(),
            l.response.as_deref(),
            l.response_id.as_deref(),
            l.timing.ttft_ns,
            l.timing.queue_ns,
            l.timing.prefill_ns,
            l.timing.decode_ns,
            l.timing.streamed,
            pattern,
            batch,
        ])?;
    }
    finish(app)
}

/// Alert events are few: plain inserts.
fn insert_alerts(conn: &Connection, batches: &[Batch]) -> duckdb::Result<()> {
    let mut stmt = None;
    for a in batches.iter().flat_map(|b| &b.alerts) {
        let stmt = match &mut stmt {
            Some(s) => s,
            None => stmt.insert(
                conn.prepare("INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")?,
            ),
        };
        stmt.execute(params![
            a.time_ns,
            a.rule,
            a.scope,
            a.state,
            a.severity,
            a.metric,
            a.value,
            a.threshold,
            a.message
        ])?;
    }
    Ok(())
}

/// Stores the staged log records not stored before, each once (a record sent twice —
/// a retried export, a dump imported again — would otherwise repeat its GenAI event in
/// its call's prompt), and counts them into their batches' reports.
fn store_new_logs(conn: &Connection, reports: &mut [CommitReport]) -> duckdb::Result<()> {
    let same = [
        "time_ns",
        "trace_id",
        "span_id",
        "event_name",
        "body",
        "attributes",
    ];
    let matches: Vec<String> = same
        .iter()
        .map(|c| format!("l.{c} IS NOT DISTINCT FROM s.{c}"))
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE new_logs AS
             SELECT * FROM stage_logs s
             WHERE NOT EXISTS (
                 SELECT 1 FROM logs l
                 -- Their times first: DuckDB then reads only the row groups around them.
                 WHERE l.time_ns BETWEEN (SELECT min(time_ns) FROM stage_logs)
                                     AND (SELECT max(time_ns) FROM stage_logs)
                   AND {matches})
             QUALIFY row_number() OVER (PARTITION BY {same} ORDER BY batch) = 1;
         INSERT INTO logs SELECT * EXCLUDE (batch) FROM new_logs;",
        matches = matches.join(" AND "),
        same = same.join(", "),
    ))?;
    let mut stmt = conn.prepare("SELECT batch, count(*) FROM new_logs GROUP BY batch")?;
    let counts = stmt.query_map([], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, u64>(1)?)))?;
    for c in counts {
        let (batch, n) = c?;
        if let Some(r) = reports.get_mut(batch as usize) {
            r.logs = n;
        }
    }
    Ok(())
}

fn append_logs(conn: &Connection, logs: &[LogRow], batch: i32) -> Result<(), StoreError> {
    let mut app = conn.appender_to_catalog_and_db("stage_logs", "temp", "main")?;
    for l in logs {
        app.append_row(params![
            l.time_ns,
            l.trace_id.as_ref().map(trace_key),
            l.span_id.as_ref().map(span_key),
            l.severity_number,
            non_empty(&l.severity_text),
            non_empty(&l.event_name),
            l.service,
            l.body_json,
            l.attributes_json,
            l.resource_json,
            l.genai.as_ref().and_then(|g| g.prompt()),
            l.genai.as_ref().and_then(|g| g.response()),
            batch,
        ])?;
    }
    finish(app)
}

fn append_metrics(conn: &Connection, points: &[MetricPoint]) -> Result<(), StoreError> {
    let mut app = conn.appender_to_catalog_and_db("stage_metrics", "temp", "main")?;
    for p in points {
        app.append_row(params![
            p.time_ns,
            p.start_time_ns,
            p.name,
            p.kind,
            non_empty(&p.unit),
            p.service,
            p.attributes_json,
            p.value,
            p.count,
            p.sum,
            p.bucket_bounds_json,
            p.bucket_counts_json,
            p.temporality.map(|t| t.as_str()),
        ])?;
    }
    finish(app)
}

/// Flushes an appender and reports its error; dropping one would swallow it.
fn finish(mut app: Appender<'_>) -> Result<(), StoreError> {
    app.flush()?;
    Ok(())
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

impl crate::backend::AlertLog for Writer {
    fn record(&self, events: &[crate::row::AlertEvent]) -> Result<(), StoreError> {
        self.write(Batch {
            alerts: events.to_vec(),
            ..Batch::default()
        })
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::{RENEW_STAGING_ROWS, Writer};
    use crate::{Batch, LlmCall, SpanClass, SpanRow};

    /// `n` root spans of traces of their own from number `from` on, a millisecond
    /// apart; every tenth is a call of one model with 10 input tokens.
    fn spans(from: u64, n: u64) -> Vec<SpanRow> {
        const T0: i64 = 1_800_000_000_000_000_000;
        (from..from + n)
            .map(|i| SpanRow {
                class: if i % 10 == 0 {
                    SpanClass::Llm
                } else {
                    SpanClass::default()
                },
                llm: (i % 10 == 0).then(|| LlmCall {
                    request_model: Some("gpt-4o-mini".into()),
                    input_tokens: Some(10),
                    ..LlmCall::default()
                }),
                trace_id: u128::from(i + 1).to_be_bytes(),
                span_id: (i + 1).to_be_bytes(),
                name: "step".into(),
                kind: 1,
                start_ns: T0 + i as i64 * 1_000_000,
                end_ns: T0 + i as i64 * 1_000_000 + 500_000,
                service: "svc".into(),
                attributes_json: "{}".into(),
                resource_json: "{}".into(),
                events_json: "[]".into(),
                links_json: "[]".into(),
                ..SpanRow::default()
            })
            .collect()
    }

    /// Several renewals' worth of spans, committed in groups: the staging table holds
    /// (dead rows included, as DuckDB counts them) no more than a renewal's worth and
    /// the last group, and every span is stored once, also those committed after a
    /// renewal (statements prepared before it are bound again).
    #[test]
    fn the_staging_tables_do_not_keep_every_row_ever_staged() {
        // A writer on a database of its own (the store, which hands writers out,
        // imports this file).
        let conn = duckdb::Connection::open_in_memory().unwrap();
        crate::schema::migrate(&conn, &|_| {}).unwrap();
        let writer = Writer::start(conn, Default::default(), None, Default::default()).unwrap();
        let per = 10_000u64;
        let groups = 3 * RENEW_STAGING_ROWS as u64 / per + 2;
        for g in 0..groups {
            let report = writer
                .write(Batch {
                    spans: spans(g * per, per),
                    ..Batch::default()
                })
                .unwrap();
            assert_eq!(report.spans, per, "group {g}");
        }
        let (staged, spans, calls, tokens): (i64, u64, u64, u64) = writer
            .run(|c| {
                Ok(c.query_row(
                    "SELECT (SELECT estimated_size FROM duckdb_tables()
                             WHERE temporary AND table_name = 'stage_spans'),
                            (SELECT count(*) FROM spans), count(*), sum(input_tokens)::UBIGINT
                     FROM llm_calls",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?)
            })
            .unwrap();
        assert!(
            staged as u64 <= RENEW_STAGING_ROWS as u64 + per,
            "{staged} rows kept in stage_spans after {} staged",
            groups * per
        );
        assert_eq!(spans, groups * per);
        assert_eq!(calls, groups * per / 10);
        assert_eq!(tokens, groups * per);
        writer.close().unwrap();
    }
}
