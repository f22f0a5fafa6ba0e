//! The alert history on a team's ClickHouse: `serve --clickhouse` evaluating rules
//! keeps each state change in a table beside the Collector's (`<traces
//! table>_llm_alerts`), which `alerts` and the window read as they read a local
//! database's history.

use super::http::{Client, Param, Params};
use crate::error::{ClickHouseError, StoreError};
use crate::row::AlertEvent;
use serde_json::Value;

/// The suffix of the history's table (after the traces table's name).
const ALERTS: &str = "_llm_alerts";

/// `db.table` of the history.
fn table(client: &Client) -> String {
    let e = client.endpoint();
    format!("{}.{}{ALERTS}", e.database, e.traces_table)
}

/// Creates the history's table where missing.
pub(super) fn create(client: &Client) -> Result<(), ClickHouseError> {
    client.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            time_ns Int64, rule String, scope String, state LowCardinality(String),
            severity LowCardinality(String), metric LowCardinality(String),
            value Nullable(Float64), threshold Float64, message String)
         ENGINE = MergeTree PARTITION BY toYYYYMM(toDateTime(intDiv(time_ns, 1000000000)))
         ORDER BY time_ns",
        table(client)
    ))
}

/// Appends `events` (their fields are the table's columns).
pub(super) fn insert(client: &Client, events: &[AlertEvent]) -> Result<(), ClickHouseError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut data = Vec::new();
    for e in events {
        serde_json::to_writer(&mut data, e).expect("alert events serialize");
        data.push(b'\n');
    }
    client.insert(&table(client), "JSONEachRow", &data)
}

/// The latest `limit` events since `since_ns`, newest first (ties by rule and scope,
/// as locally); none when no `serve` ever kept a history here.
pub(super) fn history(
    client: &Client,
    since_ns: Option<i64>,
    limit: u64,
) -> Result<Vec<AlertEvent>, StoreError> {
    let e = client.endpoint();
    let mut p = Params::default();
    let exists = format!(
        "SELECT count() FROM system.tables WHERE database = {} AND name = {}",
        p.text(&e.database),
        p.text(&format!("{}{ALERTS}", e.traces_table))
    );
    if client
        .rows(&exists, &p)?
        .first()
        .and_then(|r| r[0].as_u64())
        != Some(1)
    {
        return Ok(Vec::new());
    }
    let mut p = Params::default();
    let sql = format!(
        "SELECT time_ns, rule, scope, state, severity, metric, value, threshold, message
         FROM {} WHERE time_ns >= {} ORDER BY time_ns DESC, rule, scope LIMIT {}",
        table(client),
        p.push(Param::Int(since_ns.unwrap_or(i64::MIN))),
        p.push(Param::Int(limit.min(i64::MAX as u64) as i64)),
    );
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(client
        .rows(&sql, &p)?
        .iter()
        .map(|r| AlertEvent {
            time_ns: r[0].as_i64().unwrap_or_default(),
            rule: text(&r[1]),
            scope: text(&r[2]),
            state: text(&r[3]),
            severity: text(&r[4]),
            metric: text(&r[5]),
            value: r[6].as_f64(),
            threshold: r[7].as_f64().unwrap_or_default(),
            message: text(&r[8]),
        })
        .collect())
}
