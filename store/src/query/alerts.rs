//! The alert history: what fired and resolved, newest first.

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
