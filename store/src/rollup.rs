//! Rollups: summaries of the LLM calls that the writer keeps in the same transaction
//! as the calls, so that dashboards over months of data read thousands of rows instead
//! of millions.
//!
//! - `call_minutes`: per minute and dimension set (model asked for, priced name,
//!   whether a served name was reported, provider, service, outcome, error type), the
//!   calls, token sums, the cost measures of [`cost::per_call_columns`] (token classes,
//!   not dollars, so that history reprices when a price changes), the summed duration,
//!   and the first and last start and last end.
//! - `latency_hours`: per hour and dimension set, call counts per bucket of the latency
//!   [`sketch`]; `ttft_hours` alike for the time to first token of the calls that have
//!   one ([`Sketched`]).
//!
//! Both are sums of one per-call projection ([`call_projection`],
//! [`latency_projection`]); queries read rollup rows and raw calls in that same shape
//! and group them alike, so the two answer the same (`store/tests/rollups.rs`).

use crate::filter::Filter;
use crate::query::cost;
use crate::sketch;
use duckdb::Connection;

/// One minute, the grain of `call_minutes`.
pub(crate) const MINUTE_NS: i64 = 60_000_000_000;

/// One hour, the grain of `latency_hours`.
pub(crate) const HOUR_NS: i64 = 3_600_000_000_000;

/// What `call_minutes` rows are grouped by: everything the filter bar selects on (the
/// model filter matches the model asked for or the served name, which `priced_as` is
/// whenever one was reported), and what the figures are broken down by.
pub(crate) const CALL_DIMENSIONS: [&str; 7] = [
    "model",
    "priced_as",
    "answered",
    "provider",
    "service",
    "is_error",
    "error_type",
];

/// What `latency_hours` rows are grouped by (besides the sketch bucket).
pub(crate) const LATENCY_DIMENSIONS: [&str; 5] =
    ["model", "priced_as", "provider", "service", "is_error"];

/// How a measure of several rows is combined.
#[derive(Clone, Copy)]
pub(crate) enum Fold {
    Sum,
    Min,
    Max,
}

impl Fold {
    /// The aggregate function's name (the same in DuckDB and ClickHouse).
    pub(crate) fn function(self) -> &'static str {
        match self {
            Fold::Sum => "sum",
            Fold::Min => "min",
            Fold::Max => "max",
        }
    }

    /// The aggregate over a column.
    fn aggregate(self, column: &str) -> String {
        format!("{}({column})", self.function())
    }
}

/// The measures of `call_minutes`, with the type each is stored as.
pub(crate) fn call_measures() -> Vec<(&'static str, Fold, &'static str)> {
    let mut m = vec![
        ("calls", Fold::Sum, "BIGINT"),
        ("input_tokens", Fold::Sum, "BIGINT"),
        ("output_tokens", Fold::Sum, "BIGINT"),
        ("cache_read_tokens", Fold::Sum, "BIGINT"),
        ("cache_write_tokens", Fold::Sum, "BIGINT"),
    ];
    m.extend(cost::measure_names().map(|name| {
        let ty = if name == cost::UNPRICED {
            "BIGINT"
        } else {
            "DOUBLE"
        };
        (name, Fold::Sum, ty)
    }));
    m.extend([
        ("duration_ns", Fold::Sum, "BIGINT"),
        ("first_start_ns", Fold::Min, "BIGINT"),
        ("last_start_ns", Fold::Max, "BIGINT"),
        ("last_end_ns", Fold::Max, "BIGINT"),
    ]);
    m
}

/// One call of `llm_calls c` as a row of `t` (its start), the [`CALL_DIMENSIONS`] and
/// the measures of `call_minutes`.
pub(crate) fn call_projection() -> String {
    format!(
        "c.start_ns AS t, c.model, {priced_as} AS priced_as,
         c.response_model IS NOT NULL AS answered, c.provider, c.service, c.is_error,
         c.error_type, 1::BIGINT AS calls,
         coalesce(c.input_tokens, 0)::BIGINT AS input_tokens,
         coalesce(c.output_tokens, 0)::BIGINT AS output_tokens,
         coalesce(c.cache_read_tokens, 0)::BIGINT AS cache_read_tokens,
         coalesce(c.cache_write_tokens, 0)::BIGINT AS cache_write_tokens,
         {cost}, c.duration_ns, c.start_ns AS first_start_ns, c.start_ns AS last_start_ns,
         c.start_ns + c.duration_ns AS last_end_ns",
        priced_as = cost::PRICED_AS,
        cost = cost::per_call_columns(),
    )
}

/// A measure of calls kept as hourly sketches in a table of [`LATENCY_DIMENSIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sketched {
    /// Every call's duration (`latency_hours`).
    Duration,
    /// The time to first token of the calls that report one (`ttft_hours`).
    FirstToken,
}

impl Sketched {
    /// Both measures.
    pub(crate) const ALL: [Sketched; 2] = [Sketched::Duration, Sketched::FirstToken];

    /// The rollup table keeping it.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Sketched::Duration => "latency_hours",
            Sketched::FirstToken => "ttft_hours",
        }
    }

    /// Its value in nanoseconds, over a call `c`.
    pub(crate) fn value(self) -> &'static str {
        match self {
            Sketched::Duration => "c.duration_ns",
            Sketched::FirstToken => "c.ttft_ns",
        }
    }

    /// The calls that have it, as a condition over `c`.
    pub(crate) fn has_value(self) -> &'static str {
        match self {
            Sketched::Duration => "TRUE",
            Sketched::FirstToken => "c.ttft_ns IS NOT NULL",
        }
    }
}

/// One call of `llm_calls c` as a row of `t`, the [`LATENCY_DIMENSIONS`], the sketch
/// `bucket` of its `measure` and `calls` (1).
pub(crate) fn latency_projection(measure: Sketched) -> String {
    format!(
        "c.start_ns AS t, c.model, {priced_as} AS priced_as, c.provider, c.service,
         c.is_error, {bucket} AS bucket, 1::BIGINT AS calls",
        priced_as = cost::PRICED_AS,
        bucket = sketch::bucket_sql(measure.value()),
    )
}

/// The columns of `call_minutes` as the projection names them (`t` for the minute).
pub(crate) fn call_columns() -> String {
    let mut columns = vec!["minute_ns AS t".to_string()];
    columns.extend(CALL_DIMENSIONS.iter().map(|d| d.to_string()));
    columns.extend(call_measures().into_iter().map(|(m, _, _)| m.to_string()));
    columns.join(", ")
}

/// The columns of `latency_hours` as the projection names them (`t` for the hour).
pub(crate) fn latency_columns() -> String {
    format!(
        "hour_ns AS t, {}, bucket, calls",
        LATENCY_DIMENSIONS.join(", ")
    )
}

/// `expr` (integer ns) floored to a multiple of `unit`, negative values included.
pub(crate) fn floor_sql(expr: &str, unit: i64) -> String {
    format!("({expr} - ((({expr}) % {unit}) + {unit}) % {unit})")
}

/// The measures of `call_minutes` aggregated over the rows of a group, each under its
/// own name and type.
fn call_aggregates() -> String {
    call_measures()
        .into_iter()
        .map(|(m, fold, ty)| format!("{}::{ty} AS {m}", fold.aggregate(m)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `call_minutes` rows for the calls of `table` (with `llm_calls` columns) matching
/// `condition` over `c`.
pub(crate) fn call_rollup(table: &str, condition: &str) -> String {
    format!(
        "SELECT {minute} AS minute_ns, {dims}, {measures}
         FROM (SELECT {projection} FROM {table} c WHERE {condition})
         GROUP BY ALL",
        minute = floor_sql("t", MINUTE_NS),
        dims = CALL_DIMENSIONS.join(", "),
        measures = call_aggregates(),
        projection = call_projection(),
    )
}

/// Sketch rows of `measure` (for its table: `latency_hours`, `ttft_hours`) for the
/// calls of `table` matching `condition` over `c` that have it, their counts multiplied
/// by `sign`.
pub(crate) fn latency_rollup(measure: Sketched, table: &str, condition: &str, sign: i64) -> String {
    format!(
        "SELECT {hour} AS hour_ns, {dims}, bucket, (sum(calls) * {sign})::BIGINT AS calls
         FROM (SELECT {projection} FROM {table} c WHERE ({condition}) AND {has_value})
         GROUP BY ALL",
        hour = floor_sql("t", HOUR_NS),
        dims = LATENCY_DIMENSIONS.join(", "),
        projection = latency_projection(measure),
        has_value = measure.has_value(),
    )
}

/// Adds the calls of `table` (the writer's staged new calls) to every rollup, as rows
/// of their own: a commit appends, and [`compact`] later folds rows of one key into
/// one (readers sum rows, so they answer the same before and after).
pub(crate) fn add_calls(conn: &Connection, table: &str) -> duckdb::Result<()> {
    // The same statements every commit: prepared once per writer connection, so they
    // are planned once (10-15 % of their time at commits of ~1,900 spans).
    let mut statements = vec![format!(
        "INSERT INTO call_minutes {}",
        call_rollup(table, "TRUE")
    )];
    for measure in Sketched::ALL {
        statements.push(format!(
            "INSERT INTO {} {}",
            measure.table(),
            latency_rollup(measure, table, "TRUE", 1)
        ));
    }
    for sql in statements {
        conn.prepare_cached(&sql)?.execute([])?;
    }
    Ok(())
}

/// Folds the rollup rows of each key in the minutes (for latency, hours) holding
/// `from_ns` to `to_ns` into one, dropping sketch buckets that came to zero calls.
pub(crate) fn compact(conn: &Connection, from_ns: i64, to_ns: i64) -> duckdb::Result<()> {
    let units = |unit: i64| {
        (
            from_ns.div_euclid(unit) * unit,
            to_ns.div_euclid(unit) * unit,
        )
    };
    let (first_minute, last_minute) = units(MINUTE_NS);
    let (first_hour, last_hour) = units(HOUR_NS);
    let mut sql = format!(
        "CREATE OR REPLACE TEMP TABLE compacted_minutes AS
             SELECT minute_ns, {call_dims}, {measures} FROM call_minutes
             WHERE minute_ns BETWEEN {first_minute} AND {last_minute} GROUP BY ALL;
         DELETE FROM call_minutes WHERE minute_ns BETWEEN {first_minute} AND {last_minute};
         INSERT INTO call_minutes BY NAME SELECT * FROM compacted_minutes;
         DROP TABLE compacted_minutes;",
        call_dims = CALL_DIMENSIONS.join(", "),
        measures = call_aggregates(),
    );
    for measure in Sketched::ALL {
        sql.push_str(&format!(
            "CREATE OR REPLACE TEMP TABLE compacted_hours AS
                 SELECT hour_ns, {latency_dims}, bucket, sum(calls)::BIGINT AS calls
                 FROM {table} WHERE hour_ns BETWEEN {first_hour} AND {last_hour}
                 GROUP BY ALL HAVING sum(calls) <> 0;
             DELETE FROM {table} WHERE hour_ns BETWEEN {first_hour} AND {last_hour};
             INSERT INTO {table} BY NAME SELECT * FROM compacted_hours;
             DROP TABLE compacted_hours;",
            latency_dims = LATENCY_DIMENSIONS.join(", "),
            table = measure.table(),
        ));
    }
    conn.execute_batch(&sql)
}

/// SQL creating the call and latency rollup tables from the stored calls (the schema
/// migration that introduces them).
pub(crate) fn create_sql() -> String {
    format!(
        "CREATE TABLE call_minutes AS {calls} ORDER BY minute_ns;
         CREATE TABLE latency_hours AS {latency} ORDER BY hour_ns;",
        calls = call_rollup("llm_calls", "TRUE"),
        latency = latency_rollup(Sketched::Duration, "llm_calls", "TRUE", 1),
    )
}

/// SQL creating the time-to-first-token rollup from the stored calls (the migration
/// that reads calls' timing).
pub(crate) fn create_ttft_sql() -> String {
    format!(
        "CREATE TABLE ttft_hours AS {} ORDER BY hour_ns;",
        latency_rollup(Sketched::FirstToken, "llm_calls", "TRUE", 1)
    )
}

/// Retention, part one (before the calls go): takes the calls starting before
/// `cutoff_ns` out of the sketches of the hour holding it (the rows of that hour are
/// compacted then); the hours before it go whole.
pub(crate) fn forget_latency_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    let hour = cutoff_ns.div_euclid(HOUR_NS) * HOUR_NS;
    for measure in Sketched::ALL {
        conn.execute_batch(&format!(
            "INSERT INTO {table} {};
             DELETE FROM {table} WHERE hour_ns < {hour};",
            latency_rollup(
                measure,
                "llm_calls",
                &format!("c.start_ns >= {hour} AND c.start_ns < {cutoff_ns}"),
                -1,
            ),
            table = measure.table(),
        ))?;
    }
    compact(conn, hour, hour)
}

/// Retention, part two (after the calls before `cutoff_ns` went): drops the minutes
/// before it and sums the minute holding it again from the calls left.
pub(crate) fn forget_minutes_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    let minute = cutoff_ns.div_euclid(MINUTE_NS) * MINUTE_NS;
    conn.execute_batch(&format!(
        "DELETE FROM call_minutes WHERE minute_ns <= {minute};
         INSERT INTO call_minutes BY NAME {};",
        call_rollup(
            "llm_calls",
            &format!(
                "c.start_ns >= {minute} AND c.start_ns < {}",
                minute.saturating_add(MINUTE_NS)
            )
        )
    ))
}

/// The whole units (minutes, hours) inside the filter's range, as bounds (`None`:
/// unbounded); `None` when it holds none.
pub(crate) fn whole_units(filter: &Filter, unit: i64) -> Option<(Option<i64>, Option<i64>)> {
    let lo = filter
        .from_ns
        .map(|f| f.saturating_add(unit - 1).div_euclid(unit) * unit);
    let hi = filter.to_ns.map(|t| t.div_euclid(unit) * unit);
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo >= hi => None,
        bounds => Some(bounds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_units_round_inwards() {
        let f = |from, to| Filter {
            from_ns: from,
            to_ns: to,
            ..Filter::default()
        };
        assert_eq!(whole_units(&f(None, None), 60), Some((None, None)));
        assert_eq!(
            whole_units(&f(Some(61), Some(300)), 60),
            Some((Some(120), Some(300)))
        );
        assert_eq!(whole_units(&f(Some(120), Some(179)), 60), None);
        assert_eq!(whole_units(&f(Some(-30), None), 60), Some((Some(0), None)));
        assert_eq!(
            whole_units(&f(None, Some(-30)), 60),
            Some((None, Some(-60)))
        );
    }
}
