//! Retention: dropping the oldest data by age or by database size, and clearing all.
//! Each runs on the writer thread, in order with the batches.

use crate::error::StoreError;
use crate::writer::Writer;
use duckdb::{Connection, OptionalExt};

/// What a pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Spans deleted.
    pub spans: u64,
    /// Log records deleted.
    pub logs: u64,
    /// Metric points deleted.
    pub metric_points: u64,
}

/// Spans one retention step deletes at most. Each step is its own writer job and
/// transaction, so ingest batches commit between steps instead of waiting for a
/// whole minute's (or a whole size limit's) delete: at 5,000 spans/s a single delete
/// of a minute's 300,000 spans held the writer for seconds, and steps of 20,000 still
/// for 0.3-1 s each (`tests/soak.sh`, debug log `store::retention`).
const SPANS_PER_STEP: u64 = 2_500;

impl std::ops::AddAssign for Pruned {
    fn add_assign(&mut self, other: Pruned) {
        self.spans += other.spans;
        self.logs += other.logs;
        self.metric_points += other.metric_points;
    }
}

impl Writer {
    /// Deletes everything that started before `cutoff_ns` (Unix ns), oldest first,
    /// in steps of at most [`SPANS_PER_STEP`] spans so that ingest keeps committing.
    pub fn prune_before(&self, cutoff_ns: i64) -> Result<Pruned, StoreError> {
        let mut total = Pruned::default();
        loop {
            let started = std::time::Instant::now();
            let (pruned, last) = self.run(move |c| delete_step(c, cutoff_ns))?;
            tracing::debug!(
                spans = pruned.spans,
                ms = started.elapsed().as_millis(),
                "retention step"
            );
            total += pruned;
            if last {
                break;
            }
        }
        if let Some(t) = &self.text {
            let started = std::time::Instant::now();
            t.delete_before(cutoff_ns)?;
            tracing::debug!(ms = started.elapsed().as_millis(), "retention: text index");
        }
        Ok(total)
    }

    /// Deletes the oldest data until the database uses at most `max_bytes`, then
    /// checkpoints so that the space is reused.
    pub fn prune_to_size(&self, max_bytes: u64) -> Result<Pruned, StoreError> {
        let mut total = Pruned::default();
        // Each round drops the oldest share that should bring the size under the limit,
        // with a margin; a few rounds cover the error of that estimate.
        for _ in 0..8 {
            let Some(cutoff) = self.run(move |c| size_cutoff(c, max_bytes))? else {
                break;
            };
            let pruned = self.prune_before(cutoff)?;
            total += pruned;
            self.checkpoint()?;
            if pruned == Pruned::default() {
                break;
            }
        }
        Ok(total)
    }

    /// Deletes every span, call, log record, metric point and evaluation.
    pub fn clear_all(&self) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute_batch(
                "BEGIN TRANSACTION; DELETE FROM llm_calls; DELETE FROM spans; DELETE FROM logs;
                 DELETE FROM metric_points; DELETE FROM alert_events;
                 DELETE FROM call_minutes; DELETE FROM latency_hours; DELETE FROM ttft_hours;
                 DELETE FROM traces;
                 DELETE FROM evaluations; DELETE FROM evaluations_waiting;
                 DELETE FROM agent_runs; DELETE FROM agent_run_spend;
                 DELETE FROM agent_hours; DELETE FROM agent_spend_hours;
                 DELETE FROM tool_hours; DELETE FROM tool_agents; DELETE FROM trace_spend;
                 DELETE FROM eval_hours;
                 COMMIT; CHECKPOINT;",
            )?;
            Ok::<_, StoreError>(())
        })?;
        match &self.text {
            Some(t) => t.clear(),
            None => Ok(()),
        }
    }
}

/// One retention step: deletes the oldest [`SPANS_PER_STEP`] spans before `cutoff_ns`
/// (and the calls, logs, metric points and alert events older than the last of them).
/// Returns whether this was the last step, i.e. nothing before `cutoff_ns` is left.
fn delete_step(c: &Connection, cutoff_ns: i64) -> Result<(Pruned, bool), StoreError> {
    // The start of the step's last span; spans sharing it go in the same step, so
    // every step makes progress.
    let step_end: Option<i64> = c
        .query_row(
            "SELECT start_ns FROM spans WHERE start_ns < ? ORDER BY start_ns LIMIT 1 OFFSET ?",
            duckdb::params![cutoff_ns, SPANS_PER_STEP - 1],
            |r| r.get(0),
        )
        .optional()?;
    match step_end {
        Some(end) if end.saturating_add(1) < cutoff_ns => {
            Ok((delete_before(c, end.saturating_add(1))?, false))
        }
        _ => Ok((delete_before(c, cutoff_ns)?, true)),
    }
}

fn delete_before(c: &Connection, cutoff_ns: i64) -> Result<Pruned, StoreError> {
    // A trace cut in two is summed again from its spans after the cutoff: it must have
    // one row, or a second row's spans would be counted twice.
    crate::trace_table::merge_split(c)?;
    c.execute_batch("BEGIN TRANSACTION")?;
    let result = (|| {
        crate::rollup::forget_latency_before(c, cutoff_ns)?;
        c.execute("DELETE FROM llm_calls WHERE start_ns < ?", [cutoff_ns])?;
        crate::rollup::forget_minutes_before(c, cutoff_ns)?;
        let spans = c.execute("DELETE FROM spans WHERE start_ns < ?", [cutoff_ns])? as u64;
        crate::trace_table::forget_before(c, cutoff_ns)?;
        // The traces summed again have no cost: the writer prices them all again.
        c.execute_batch(crate::trace_cost::FORGET)?;
        crate::run_table::forget_before(c, cutoff_ns)?;
        let logs = c.execute("DELETE FROM logs WHERE time_ns < ?", [cutoff_ns])? as u64;
        let metric_points =
            c.execute("DELETE FROM metric_points WHERE time_ns < ?", [cutoff_ns])? as u64;
        c.execute("DELETE FROM alert_events WHERE time_ns < ?", [cutoff_ns])?;
        // Results made before the cutoff, or about calls that started before it.
        crate::evaluations::forget_before(c, cutoff_ns)?;
        Ok::<_, duckdb::Error>(Pruned {
            spans,
            logs,
            metric_points,
        })
    })();
    match result {
        Ok(p) => {
            c.execute_batch("COMMIT")?;
            Ok(p)
        }
        Err(e) => {
            let _ = c.execute_batch("ROLLBACK");
            Err(e.into())
        }
    }
}

fn used_bytes(c: &Connection) -> Result<u64, StoreError> {
    Ok(c.query_row(
        "SELECT used_blocks * block_size FROM pragma_database_size()",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// The start time before which data should go for the database to fit in
/// `max_bytes`, or `None` when it already fits (or holds no spans).
fn size_cutoff(c: &Connection, max_bytes: u64) -> Result<Option<i64>, StoreError> {
    c.execute_batch("CHECKPOINT")?;
    let used = used_bytes(c)?;
    if used <= max_bytes {
        return Ok(None);
    }
    let drop_share = (1.0 - max_bytes as f64 / used as f64 + 0.05).clamp(0.05, 1.0);
    let cutoff: Option<i64> = c.query_row(
        &format!("SELECT quantile_disc(start_ns, {drop_share:.4}) FROM spans"),
        [],
        |r| r.get(0),
    )?;
    Ok(cutoff.map(|t| t.saturating_add(1)))
}
