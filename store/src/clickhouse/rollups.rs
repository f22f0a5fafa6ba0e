//! Rollups on a ClickHouse: the per-minute call sums and per-hour latency sketches a
//! local file keeps ([`crate::rollup`]), and one summary row per trace (the traces
//! page's columns but cost), kept here by materialized views on the traces table, so
//! that dashboards over months read summary rows instead of extracting the LLM fields
//! of millions of spans.
//!
//! [`init`] (`llm-observatory clickhouse init`, and `serve --create-tables` on a new
//! table) creates them. The views summarise the spans that start at or after a cutover
//! instant a few seconds ahead (so no span inserted before a view exists belongs to
//! it); once `settle` has passed after the cutover (calls in flight when it came have
//! ended and arrived), the spans before it are summarised into the same tables, a day
//! at a time. A state table then records the cutover: readers use the rollups only
//! when it does, and the raw spans otherwise, so an interrupted `init` never shows
//! half a history. On an empty table there is no history: the views summarise every
//! span inserted, whenever it started (imports of old dumps included).
//!
//! What the views cannot see: spans starting before the cutover that arrive after
//! `init` (calls longer than `settle`, imports of old dumps into a table that had
//! history), and deletions from the traces table (`ALTER … DELETE`, a TTL). After
//! such changes `init --rebuild` makes the rollups again.

use super::extract;
use super::http::{Client, Params};
use crate::error::ClickHouseError;
use crate::prices::Price;
use crate::query::cost;
use crate::rollup;
use std::time::Duration;

/// The suffix of the per-minute call sums' table (after the traces table's name).
const MINUTES: &str = "_llm_minutes";
/// The suffix of the per-hour latency sketches' table.
const LATENCY: &str = "_llm_latency_hours";
/// The suffix of the per-trace summaries' table (the traces page's rows).
const TRACES: &str = "_llm_traces";
/// The suffix of the table recording a finished `init`.
const STATE: &str = "_llm_rollups";
/// The suffix of each rollup table's materialized view.
const VIEW: &str = "_mv";
/// The cutover recorded for views that summarise every span.
const EVERY_SPAN: i64 = i64::MIN;

/// The rollup tables of one traces table, with their history summarised: what
/// readers read whole minutes (hours) from.
#[derive(Clone, Debug)]
pub struct Rollups {
    /// `db.table` of the per-minute call sums.
    pub(super) minutes: String,
    /// `db.table` of the per-hour latency sketches.
    pub(super) latency: String,
    /// `db.table` of the per-trace summaries: one row per trace and insert, folded by
    /// `trace_id` (root, first start, last end, spans, calls, tokens, failure).
    pub(super) traces: String,
    /// Where the views start summarising (ns since the epoch); `None` when they
    /// summarise every span (made on an empty table). A span starting before it that
    /// is inserted after `init` summarised the history is not in the rollups.
    pub cutover_ns: Option<i64>,
}

/// What [`init`] did, for the command to report.
#[derive(Debug)]
pub struct Initialized {
    /// The instant from which the views summarise new spans (ns since the epoch);
    /// `None` on an empty table, where they summarise every span.
    pub cutover_ns: Option<i64>,
    /// Days of history summarised after the cutover.
    pub days: u64,
    /// Calls in the rollups once done.
    pub calls: u64,
}

/// The names of a traces table's rollup objects.
struct Names {
    database: String,
    traces: String,
    minutes: String,
    latency: String,
    trace_rows: String,
    state: String,
}

impl Names {
    fn of(client: &Client) -> Names {
        let e = client.endpoint();
        let t = &e.traces_table;
        Names {
            database: e.database.clone(),
            traces: e.traces(),
            minutes: format!("{t}{MINUTES}"),
            latency: format!("{t}{LATENCY}"),
            trace_rows: format!("{t}{TRACES}"),
            state: format!("{t}{STATE}"),
        }
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{name}", self.database)
    }
}

/// The rollups of the client's traces table, when a finished [`init`] made them.
pub(super) fn find(client: &Client) -> Result<Option<Rollups>, ClickHouseError> {
    let n = Names::of(client);
    if existing(client, &n)? != [true; 4] {
        return Ok(None);
    }
    if !current_trace_rows(client, &n)? {
        tracing::warn!(
            "the rollups of {} were made by an older version; reading the raw spans \
             until `llm-observatory clickhouse init` makes them again",
            n.traces
        );
        return Ok(None);
    }
    let rows = client.rows(
        &format!(
            "SELECT count(), min(cutover_ns) FROM {}",
            n.qualified(&n.state)
        ),
        &Params::default(),
    )?;
    let Some(row) = rows.first().filter(|r| r[0].as_u64().unwrap_or(0) > 0) else {
        return Ok(None);
    };
    Ok(Some(Rollups {
        minutes: n.qualified(&n.minutes),
        latency: n.qualified(&n.latency),
        traces: n.qualified(&n.trace_rows),
        cutover_ns: row[1].as_i64().filter(|c| *c != EVERY_SPAN),
    }))
}

/// Whether the per-trace table has this version's layout (keyed by [`trace_key`],
/// with the calls' cost classes); an older `init` made it without.
fn current_trace_rows(client: &Client, n: &Names) -> Result<bool, ClickHouseError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT count() FROM system.columns
         WHERE database = {} AND table = {} AND name IN ('trace_key', 'costs')",
        p.text(&n.database),
        p.text(&n.trace_rows)
    );
    let found = client.rows(&sql, &p)?;
    Ok(found
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_u64())
        == Some(2))
}

/// Which of the minutes, latency, traces and state tables exist.
fn existing(client: &Client, n: &Names) -> Result<[bool; 4], ClickHouseError> {
    let mut p = Params::default();
    let sql = format!(
        "SELECT name FROM system.tables WHERE database = {} AND name IN ({}, {}, {}, {})",
        p.text(&n.database),
        p.text(&n.minutes),
        p.text(&n.latency),
        p.text(&n.trace_rows),
        p.text(&n.state)
    );
    let names: Vec<String> = client
        .rows(&sql, &p)?
        .into_iter()
        .filter_map(|r| r.first().and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    Ok([&n.minutes, &n.latency, &n.trace_rows, &n.state].map(|t| names.contains(t)))
}

/// Creates the rollups of the client's traces table and summarises its history
/// (see the module's documentation); `settle` is how long spans may arrive after
/// they started. Rollups already complete are kept unless `rebuild`; those of an
/// interrupted `init` are dropped and made again. `progress` hears each step.
pub(super) fn init(
    client: &Client,
    settle: Duration,
    rebuild: bool,
    progress: &mut dyn FnMut(String),
) -> Result<Option<Initialized>, ClickHouseError> {
    if !rebuild && find(client)?.is_some() {
        return Ok(None);
    }
    let n = Names::of(client);
    if existing(client, &n)?.iter().any(|p| *p) {
        progress("dropping the rollups of an earlier init".into());
        drop_all(client, &n)?;
    }
    for statement in tables(&n) {
        client.execute(&statement)?;
    }
    let spans = client
        .rows(
            &format!("SELECT count() FROM {}", n.traces),
            &Params::default(),
        )?
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if spans == 0 {
        // No history: the views summarise every span from now on, whenever it started.
        for statement in views(&n, None) {
            client.execute(&statement)?;
        }
        client.execute(&format!(
            "INSERT INTO {} (cutover_ns) VALUES ({EVERY_SPAN})",
            n.qualified(&n.state)
        ))?;
        progress("views created on an empty table; every span inserted is summarised".into());
        return Ok(Some(Initialized {
            cutover_ns: None,
            days: 0,
            calls: 0,
        }));
    }
    // A few seconds ahead: a span inserted before the views exist starts before it.
    let cutover_ns = now_ns() + 5_000_000_000;
    for statement in views(&n, Some(cutover_ns)) {
        client.execute(&statement)?;
    }
    progress(format!(
        "views created; spans starting from {} on are summarised as they arrive",
        humantime::format_rfc3339_seconds(to_system_time(cutover_ns))
    ));
    let wait_until = cutover_ns.saturating_add(settle.as_nanos().min(i64::MAX as u128) as i64);
    let wait = wait_until - now_ns();
    if wait > 0 {
        progress(format!(
            "waiting {} for calls in flight to arrive",
            humantime::format_duration(Duration::from_secs((wait as u64).div_ceil(1_000_000_000)))
        ));
        std::thread::sleep(Duration::from_nanos(wait as u64));
    }
    let days = backfill(client, &n, cutover_ns, progress)?;
    client.execute(&format!(
        "INSERT INTO {} (cutover_ns) VALUES ({cutover_ns})",
        n.qualified(&n.state)
    ))?;
    let calls = client
        .rows(
            &format!("SELECT sum(calls) FROM {}", n.qualified(&n.minutes)),
            &Params::default(),
        )?
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    Ok(Some(Initialized {
        cutover_ns: Some(cutover_ns),
        days,
        calls,
    }))
}

/// Summarises the spans starting before `cutover_ns` into the rollup tables, one day
/// (one partition of the exporter's table) at a time, each one statement on the
/// server within its time limit; returns the days.
fn backfill(
    client: &Client,
    n: &Names,
    cutover_ns: i64,
    progress: &mut dyn FnMut(String),
) -> Result<u64, ClickHouseError> {
    let before = format!("Timestamp < fromUnixTimestamp64Nano(toInt64({cutover_ns}))");
    let days: Vec<String> = client
        .rows(
            &format!(
                "SELECT DISTINCT toString(toDate(Timestamp)) AS day FROM {} WHERE {before}
                 ORDER BY day",
                n.traces
            ),
            &Params::default(),
        )?
        .into_iter()
        .filter_map(|r| r.first().and_then(|v| v.as_str()).map(str::to_string))
        .collect();
    for (i, day) in days.iter().enumerate() {
        let spans = format!("toDate(Timestamp) = {} AND {before}", extract::literal(day));
        let source = format!("({})", extract::calls(&n.traces, &spans));
        client.execute(&format!(
            "INSERT INTO {} ({}) {}",
            n.qualified(&n.minutes),
            minute_columns().join(", "),
            rollup::call_rollup(&source, "TRUE")
        ))?;
        client.execute(&format!(
            "INSERT INTO {} ({}) {}",
            n.qualified(&n.latency),
            latency_columns().join(", "),
            rollup::latency_rollup(rollup::Sketched::Duration, &source, "TRUE", 1)
        ))?;
        client.execute(&format!(
            "INSERT INTO {} ({}) {}",
            n.qualified(&n.trace_rows),
            TRACE_COLUMNS.join(", "),
            trace_rollup(&n.traces, &spans)
        ))?;
        progress(format!(
            "summarised {day} ({} of {} days)",
            i + 1,
            days.len()
        ));
    }
    Ok(days.len() as u64)
}

/// Drops the views first (no insert lands in a table being dropped), then the tables.
fn drop_all(client: &Client, n: &Names) -> Result<(), ClickHouseError> {
    for name in [
        format!("{}{VIEW}", n.minutes),
        format!("{}{VIEW}", n.latency),
        format!("{}{VIEW}", n.trace_rows),
        n.minutes.clone(),
        n.latency.clone(),
        n.trace_rows.clone(),
        n.state.clone(),
    ] {
        client.execute(&format!("DROP TABLE IF EXISTS {}", n.qualified(&name)))?;
    }
    Ok(())
}

/// The ClickHouse type of a rollup dimension.
fn dimension_type(name: &str) -> &'static str {
    match name {
        "answered" | "is_error" => "Bool",
        _ => "Nullable(String)",
    }
}

/// The minutes table's columns in [`rollup::call_rollup`]'s order.
fn minute_columns() -> Vec<&'static str> {
    let mut c = vec!["minute_ns"];
    c.extend(rollup::CALL_DIMENSIONS);
    c.extend(rollup::call_measures().into_iter().map(|(m, _, _)| m));
    c
}

/// The latency table's columns in [`rollup::latency_rollup`]'s order.
fn latency_columns() -> Vec<&'static str> {
    let mut c = vec!["hour_ns"];
    c.extend(rollup::LATENCY_DIMENSIONS);
    c.extend(["bucket", "calls"]);
    c
}

/// The statements creating the rollup and state tables. Rows of one key are folded
/// by the engine as it merges parts (sums, minima, maxima); readers aggregate anyway.
fn tables(n: &Names) -> Vec<String> {
    let dims = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|d| format!("{d} {}", dimension_type(d)))
            .collect()
    };
    let mut minutes = vec!["minute_ns Int64".to_string()];
    minutes.extend(dims(&rollup::CALL_DIMENSIONS));
    minutes.extend(rollup::call_measures().into_iter().map(|(m, fold, ty)| {
        let ty = if ty == "DOUBLE" { "Float64" } else { "Int64" };
        format!(
            "{m} SimpleAggregateFunction({}, Nullable({ty}))",
            fold.function()
        )
    }));
    let mut latency = vec!["hour_ns Int64".to_string()];
    latency.extend(dims(&rollup::LATENCY_DIMENSIONS));
    latency.extend([
        "bucket Int16".to_string(),
        "calls SimpleAggregateFunction(sum, Int64)".to_string(),
    ]);
    let month = |column: &str| format!("toYYYYMM(toDateTime(intDiv({column}, 1000000000)))");
    vec![
        format!(
            "CREATE TABLE {} ({}) ENGINE = AggregatingMergeTree PARTITION BY {}
             ORDER BY (minute_ns, {}) SETTINGS allow_nullable_key = 1",
            n.qualified(&n.minutes),
            minutes.join(", "),
            month("minute_ns"),
            rollup::CALL_DIMENSIONS.join(", ")
        ),
        format!(
            "CREATE TABLE {} ({}) ENGINE = AggregatingMergeTree PARTITION BY {}
             ORDER BY (hour_ns, {}, bucket) SETTINGS allow_nullable_key = 1",
            n.qualified(&n.latency),
            latency.join(", "),
            month("hour_ns"),
            rollup::LATENCY_DIMENSIONS.join(", ")
        ),
        format!(
            "CREATE TABLE {} (trace_key UInt128,
                trace_id SimpleAggregateFunction(any, String),
                root SimpleAggregateFunction(min, Tuple(UInt8, Int64, String, String)),
                first_start SimpleAggregateFunction(min, Int64),
                last_end SimpleAggregateFunction(max, Int64),
                spans SimpleAggregateFunction(sum, UInt64),
                llm_calls SimpleAggregateFunction(sum, UInt64),
                tokens SimpleAggregateFunction(sum, Int64),
                has_error SimpleAggregateFunction(max, UInt8),
                costs SimpleAggregateFunction(sumMap, Tuple(Array(String), {cost_arrays})))
             ENGINE = AggregatingMergeTree ORDER BY trace_key",
            n.qualified(&n.trace_rows),
            cost_arrays = vec!["Array(Float64)"; cost::CostSums::column_names().len()].join(", ")
        ),
        format!(
            "CREATE TABLE {} (cutover_ns Int64, completed DateTime64(3) DEFAULT now64(3))
             ENGINE = MergeTree ORDER BY completed",
            n.qualified(&n.state)
        ),
    ]
}

/// The materialized views summarising spans that start at or after `cutover_ns`
/// (every span: `None`).
fn views(n: &Names, cutover_ns: Option<i64>) -> Vec<String> {
    let spans = cutover_ns.map_or("TRUE".to_string(), |c| {
        format!("Timestamp >= fromUnixTimestamp64Nano(toInt64({c}))")
    });
    let source = format!("({})", extract::calls(&n.traces, &spans));
    vec![
        format!(
            "CREATE MATERIALIZED VIEW {}{VIEW} TO {} AS {}",
            n.qualified(&n.minutes),
            n.qualified(&n.minutes),
            rollup::call_rollup(&source, "TRUE")
        ),
        format!(
            "CREATE MATERIALIZED VIEW {}{VIEW} TO {} AS {}",
            n.qualified(&n.latency),
            n.qualified(&n.latency),
            rollup::latency_rollup(rollup::Sketched::Duration, &source, "TRUE", 1)
        ),
        format!(
            "CREATE MATERIALIZED VIEW {}{VIEW} TO {} AS {}",
            n.qualified(&n.trace_rows),
            n.qualified(&n.trace_rows),
            trace_rollup(&n.traces, &spans)
        ),
    ]
}

/// The per-trace summary table's columns, in [`trace_rollup`]'s order.
const TRACE_COLUMNS: [&str; 10] = [
    "trace_key",
    "trace_id",
    "root",
    "first_start",
    "last_end",
    "spans",
    "llm_calls",
    "tokens",
    "has_error",
    "costs",
];

/// A trace id as the per-trace table's key: the 16 bytes of a (lowercase hex) OTLP id
/// as one big-endian number, so that keys sort as the ids do and group and compare as
/// fast as numbers; any other text by its 128-bit hash.
pub(super) fn trace_key(id: &str) -> String {
    format!(
        "if(match({id}, '^[0-9a-f]{{32}}$'), reinterpretAsUInt128(reverse(unhex({id}))),
            reinterpretAsUInt128(sipHash128({id})))"
    )
}

/// One row per trace of the spans of `traces` meeting `spans_where`: the root is the
/// least of (has a parent, start, name, service) — a span without a parent first,
/// then the earliest —, tokens and failures count as on the traces page, and `costs`
/// holds the calls' priced token classes and reported costs by the name they are
/// priced as (see [`crate::query::cost`]), so that a page's costs follow the prices.
fn trace_rollup(traces: &str, spans_where: &str) -> String {
    let names = cost::CostSums::column_names();
    let arrays: Vec<String> = names.iter().map(|n| format!("[toFloat64({n})]")).collect();
    format!(
        "SELECT trace_key, any(c.trace_id) AS trace_id,
                min(tuple(toUInt8(parent_span_id != ''), start_ns, toString(name), toString(service))) AS root,
                min(start_ns) AS first_start, max(start_ns + duration_ns) AS last_end,
                toUInt64(count()) AS spans, toUInt64(countIf(is_call)) AS llm_calls,
                toInt64(sumIf(coalesce(input_tokens, 0) + coalesce(output_tokens, 0), is_call)) AS tokens,
                toUInt8(max(span_failed OR (is_call AND is_error))) AS has_error,
                sumMapIf(([toString(priced_as)], {arrays}), is_call) AS costs
         FROM (SELECT c.*, {key} AS trace_key, {priced_as} AS priced_as, {classes}
               FROM ({spans}) AS c) AS c
         GROUP BY trace_key",
        key = trace_key("c.trace_id"),
        arrays = arrays.join(", "),
        priced_as = cost::PRICED_AS,
        classes = cost::per_call_columns(),
        spans = extract::spans(traces, spans_where)
    )
}

/// The cost of one row of the per-trace table from its `costs` (see [`trace_rollup`]):
/// its reported costs plus each priced name's token classes at that name's rates; a
/// name without a price adds its reported costs alone, as in [`cost::CostSums::cost`].
/// A trace's cost is the sum over its rows.
pub(super) fn trace_cost(costs: &str, priced: &[(String, Price)]) -> String {
    let reported = cost::CostSums::column_names().len();
    if priced.is_empty() {
        return format!("arraySum({costs}.{})", reported + 1);
    }
    let names: Vec<String> = priced.iter().map(|(n, _)| extract::literal(n)).collect();
    let terms: Vec<String> = (0..4)
        .map(|class| {
            let rates: Vec<String> = priced
                .iter()
                .map(|(_, p)| format!("{:?}", p.rates()[class]))
                .collect();
            format!(
                "t{class} * transform(k, [{}], [{}], 0.)",
                names.join(", "),
                rates.join(", ")
            )
        })
        .collect();
    format!(
        "arraySum((k, t0, t1, t2, t3, r) -> r + ({}) / 1e6, {costs}.1, {costs}.2, {costs}.3, {costs}.4, {costs}.5, {costs}.6)",
        terms.join(" + ")
    )
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn to_system_time(ns: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64)
}
