//! Retention: dropping the oldest data by age or by database size, and clearing all.
//! Each runs on the writer thread, in order with the batches.

use crate::error::StoreError;
use crate::writer::Writer;
use duckdb::Connection;

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

impl Writer {
    /// Deletes everything that started before `cutoff_ns` (Unix ns).
    pub fn prune_before(&self, cutoff_ns: i64) -> Result<Pruned, StoreError> {
        let pruned = self.run(move |c| delete_before(c, cutoff_ns))?;
        if let Some(t) = &self.text {
            t.delete_before(cutoff_ns)?;
        }
        Ok(pruned)
    }

    /// Deletes the oldest data until the database uses at most `max_bytes`, then
    /// checkpoints so that the space is reused.
    pub fn prune_to_size(&self, max_bytes: u64) -> Result<Pruned, StoreError> {
        let (pruned, oldest) = self.run(move |c| {
            let p = shrink(c, max_bytes)?;
            let oldest: Option<i64> =
                c.query_row("SELECT min(start_ns) FROM llm_calls", [], |r| r.get(0))?;
            Ok::<_, StoreError>((p, oldest))
        })?;
        if let Some(t) = &self.text {
            match oldest {
                Some(o) => t.delete_before(o)?,
                None => t.clear()?,
            }
        }
        Ok(pruned)
    }

    /// Deletes every span, call, log record and metric point.
    pub fn clear_all(&self) -> Result<(), StoreError> {
        self.run(|c| {
            c.execute_batch(
                "BEGIN TRANSACTION; DELETE FROM llm_calls; DELETE FROM spans; DELETE FROM logs;
                 DELETE FROM metric_points; DELETE FROM alert_events; COMMIT; CHECKPOINT;",
            )?;
            Ok::<_, StoreError>(())
        })?;
        match &self.text {
            Some(t) => t.clear(),
            None => Ok(()),
        }
    }
}

fn delete_before(c: &Connection, cutoff_ns: i64) -> Result<Pruned, StoreError> {
    c.execute_batch("BEGIN TRANSACTION")?;
    let result = (|| {
        c.execute("DELETE FROM llm_calls WHERE start_ns < ?", [cutoff_ns])?;
        let spans = c.execute("DELETE FROM spans WHERE start_ns < ?", [cutoff_ns])? as u64;
        let logs = c.execute("DELETE FROM logs WHERE time_ns < ?", [cutoff_ns])? as u64;
        let metric_points =
            c.execute("DELETE FROM metric_points WHERE time_ns < ?", [cutoff_ns])? as u64;
        c.execute("DELETE FROM alert_events WHERE time_ns < ?", [cutoff_ns])?;
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

fn shrink(c: &Connection, max_bytes: u64) -> Result<Pruned, StoreError> {
    c.execute_batch("CHECKPOINT")?;
    let mut total = Pruned::default();
    // Each round drops the oldest share that should bring the size under the limit,
    // with a margin; a few rounds cover the error of that estimate.
    for _ in 0..8 {
        let used = used_bytes(c)?;
        if used <= max_bytes {
            break;
        }
        let drop_share = (1.0 - max_bytes as f64 / used as f64 + 0.05).clamp(0.05, 1.0);
        let cutoff: Option<i64> = c.query_row(
            &format!("SELECT quantile_disc(start_ns, {drop_share:.4}) FROM spans"),
            [],
            |r| r.get(0),
        )?;
        let Some(cutoff) = cutoff else { break };
        let p = delete_before(c, cutoff.saturating_add(1))?;
        total.spans += p.spans;
        total.logs += p.logs;
        total.metric_points += p.metric_points;
        c.execute_batch("CHECKPOINT")?;
        if p.spans + p.logs + p.metric_points == 0 {
            break;
        }
    }
    Ok(total)
}
