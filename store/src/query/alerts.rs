//! The alert history (what fired and resolved, newest first) and the notes on
//! stretches of time: what the time charts mark.

use super::Reader;
use crate::error::StoreError;
use crate::row::AlertEvent;
use duckdb::types::Value;

impl Reader {
    /// Alert events at or after `since_ns` (all when `None`), newest first, at most
    /// `limit`.
    pub fn alert_history(
        &mut self,
        since_ns: Option<i64>,
        limit: u64,
    ) -> Result<Vec<AlertEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT time_ns, rule, scope, state, severity, metric, value, threshold, message
             FROM alert_events WHERE time_ns >= ? ORDER BY time_ns DESC, rule, scope LIMIT ?",
        )?;
        let rows = stmt.query_map(
            [
                Value::BigInt(since_ns.unwrap_or(i64::MIN)),
                Value::UBigInt(limit),
            ],
            |r| {
                Ok(AlertEvent {
                    time_ns: r.get("time_ns")?,
                    rule: r.get("rule")?,
                    scope: r.get("scope")?,
                    state: r.get("state")?,
                    severity: r.get("severity")?,
                    metric: r.get("metric")?,
                    value: r.get("value")?,
                    threshold: r.get("threshold")?,
                    message: r.get("message")?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Reader {
    /// The notes on stretches of time that touch `window` (Unix ns; all for `None`),
    /// earliest first; none in a file older than them.
    pub fn time_annotations(
        &mut self,
        window: Option<(i64, i64)>,
    ) -> Result<Vec<crate::TimeAnnotation>, StoreError> {
        if self.schema_version < crate::time_annotations::ANNOTATIONS_SCHEMA {
            return Ok(Vec::new());
        }
        crate::time_annotations::overlapping(&self.conn, window)
    }
}
