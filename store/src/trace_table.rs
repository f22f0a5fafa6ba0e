//! The `traces` table: one row per trace (first start, last end, spans, root span,
//! LLM calls, tokens, errors, the session and user of the earliest span naming one
//! (across commits, of the earliest commit's spans that name one), and its first
//! call), kept by the writer in the same transaction as the spans, so that the traces
//! list sorts a row per trace instead of grouping every span. Beside it, `trace_spend`:
//! each trace's calls' cost measures by priced name (token classes, priced when read,
//! so history reprices), rows added per commit and summed by readers; and each trace's
//! cost at the prices it is given (`cost_usd`; which prices, `crate::trace_cost` says).
//!
//! A commit adds its new spans' figures to the rows of their traces. The row is found
//! among the traces that start at most [`WINDOW_NS`] before the commit's earliest span
//! (DuckDB reads only those row groups); a trace whose spans arrive further apart than
//! that gets a second row, and [`merge_split`] (run by the writer every ten minutes and
//! at each checkpoint) joins such rows. A second row is always newer than the commits
//! that the last merge saw, so each commit notes in `meta` ([`UNMERGED_FROM`]) the
//! earliest start it added, and a merge looks only at the rows that start since then:
//! grouping every trace id of a 50M-span file did not fit DuckDB's memory limit.

use crate::prices::PriceTable;
use crate::query::cost;
use duckdb::{Connection, OptionalExt};

/// How far before a commit's earliest span the row of a trace is looked for.
pub(crate) const WINDOW_NS: i64 = 3_600_000_000_000;

/// Per-trace figures of the spans of `spans` and the calls of `calls` (tables or
/// subqueries with the columns of `spans` and `llm_calls`) matching `condition` on
/// `s.start_ns` / `c.start_ns` (written with `{start}`), in the columns of `traces`.
fn figures(spans: &str, calls: &str, condition: &str) -> String {
    let on_spans = condition.replace("{start}", "s.start_ns");
    let on_calls = condition.replace("{start}", "c.start_ns");
    format!(
        "SELECT t.trace_id, t.start_ns, t.end_ns, t.spans, t.span_error,
                t.root.orphan AS root_orphan, t.root.start_ns AS root_start_ns,
                t.root.name AS root_name, t.root.service AS root_service,
                coalesce(l.llm_calls, 0)::BIGINT AS llm_calls,
                coalesce(l.tokens, 0)::BIGINT AS tokens,
                coalesce(l.call_error, false) AS call_error,
                t.session_id, t.user_id, l.first_call,
                -- Priced by `add` and by `crate::trace_cost`, not here.
                NULL::DOUBLE AS cost_usd
         FROM (
             SELECT s.trace_id, min(s.start_ns) AS start_ns, max(s.end_ns) AS end_ns,
                    count(*)::BIGINT AS spans, bool_or(s.status_code = 2) AS span_error,
                    -- The session and user of the earliest span that names one.
                    arg_min(s.session_id, s.start_ns) FILTER (s.session_id IS NOT NULL) AS session_id,
                    arg_min(s.user_id, s.start_ns) FILTER (s.user_id IS NOT NULL) AS user_id,
                    -- The earliest root span, else the earliest span (ties by name).
                    min({{'orphan': s.parent_span_id IS NOT NULL, 'start_ns': s.start_ns,
                          'name': s.name, 'service': s.service}}) AS root
             FROM {spans} s WHERE {on_spans} GROUP BY s.trace_id
         ) t LEFT JOIN (
             SELECT c.trace_id, count(*) AS llm_calls,
                    coalesce(sum(c.input_tokens), 0) + coalesce(sum(c.output_tokens), 0) AS tokens,
                    bool_or(c.is_error) AS call_error,
                    -- The earliest call (its start and span), for a session's opening.
                    min({{'s': c.start_ns, 'p': c.span_id}}) AS first_call
             FROM {calls} c WHERE {on_calls} GROUP BY c.trace_id
         ) l USING (trace_id)"
    )
}

/// The root span's columns, in the order that picks it: a root span before a span
/// whose parent is named, then the earliest, then by name and service.
const ROOT: [&str; 4] = ["root_orphan", "root_start_ns", "root_name", "root_service"];

/// Two rows of one trace combined, as `SET` assignments of `r` from `d`.
fn combine() -> String {
    let key = |row: &str| {
        let fields: Vec<String> = ROOT.iter().map(|c| format!("{row}.{c}")).collect();
        format!("({})", fields.join(", "))
    };
    let mut set = vec![
        "start_ns = least(r.start_ns, d.start_ns)".to_string(),
        "end_ns = greatest(r.end_ns, d.end_ns)".into(),
        "spans = r.spans + d.spans".into(),
        "span_error = r.span_error OR d.span_error".into(),
        "llm_calls = r.llm_calls + d.llm_calls".into(),
        "tokens = r.tokens + d.tokens".into(),
        "call_error = r.call_error OR d.call_error".into(),
        "session_id = CASE WHEN r.session_id IS NULL OR d.start_ns < r.start_ns THEN coalesce(d.session_id, r.session_id) ELSE r.session_id END".into(),
        "user_id = CASE WHEN r.user_id IS NULL OR d.start_ns < r.start_ns THEN coalesce(d.user_id, r.user_id) ELSE r.user_id END".into(),
        "first_call = least(r.first_call, d.first_call)".into(),
        "cost_usd = r.cost_usd + d.cost_usd".into(),
    ];
    for c in ROOT {
        set.push(format!(
            "{c} = CASE WHEN {} < {} THEN d.{c} ELSE r.{c} END",
            key("d"),
            key("r")
        ));
    }
    set.join(", ")
}

/// The cost measures of the calls of `calls` matching `condition` (over `c`), per
/// trace and priced name: `trace_spend` rows.
fn spend(calls: &str, condition: &str) -> String {
    let sums: Vec<String> = cost::measure_names()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    format!(
        "SELECT trace_id, min(start_ns) AS start_ns, priced_as, {sums}
         FROM (SELECT c.trace_id, c.start_ns, {priced_as} AS priced_as, {measures}
               FROM {calls} c WHERE {condition})
         GROUP BY trace_id, priced_as",
        sums = sums.join(", "),
        priced_as = cost::PRICED_AS,
        measures = cost::per_call_columns(),
    )
}

/// SQL adding each trace's first call and `trace_spend` to a file whose `traces` table
/// has neither (the 9 -> 10 migration), from the stored calls.
pub(crate) fn add_first_calls_and_spend_sql() -> String {
    format!(
        "ALTER TABLE traces ADD COLUMN IF NOT EXISTS first_call STRUCT(s BIGINT, p UBIGINT);
         UPDATE traces t SET first_call = f.first_call
         FROM (SELECT trace_id, min({{'s': start_ns, 'p': span_id}}) AS first_call
               FROM llm_calls GROUP BY trace_id) f
         WHERE t.trace_id = f.trace_id;
         CREATE TABLE trace_spend AS {} ORDER BY start_ns;",
        spend("llm_calls", "TRUE")
    )
}

/// SQL creating the table from the stored spans (the schema migration).
pub(crate) fn create_sql() -> String {
    format!(
        "CREATE TABLE traces AS {} ORDER BY start_ns;",
        figures("spans", "llm_calls", "TRUE")
    )
}

/// Adds the spans and calls of the staging tables (the commit's new ones, earliest
/// start `earliest_ns`) to their traces' rows, their cost at `prices`.
pub(crate) fn add(conn: &Connection, earliest_ns: i64, prices: &PriceTable) -> duckdb::Result<()> {
    let since = earliest_ns.saturating_sub(WINDOW_NS);
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE spend_delta AS {};",
        spend("stage_llm", "TRUE")
    ))?;
    let cost = spend_cost(conn, prices, "spend_delta")?;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE trace_delta AS
             SELECT f.* EXCLUDE (cost_usd), coalesce(k.cost_usd, 0) AS cost_usd
             FROM ({figures}) f LEFT JOIN (
                 SELECT trace_id, sum({cost}) AS cost_usd FROM spend_delta GROUP BY trace_id
             ) k USING (trace_id);
         -- One join over the window's rows, where an UPDATE and an INSERT of the
         -- rest took two.
         MERGE INTO traces r USING trace_delta d
             ON r.start_ns >= {since} AND r.trace_id = d.trace_id
         WHEN MATCHED THEN UPDATE SET {combine}
         WHEN NOT MATCHED THEN INSERT *;
         INSERT INTO trace_spend SELECT * FROM spend_delta;
         INSERT OR REPLACE INTO meta SELECT '{UNMERGED_FROM}', least(
             {earliest_ns}, coalesce(max(value::BIGINT), {earliest_ns}))::VARCHAR
         FROM meta WHERE key = '{UNMERGED_FROM}';",
        figures = figures("stage_spans", "stage_llm", "TRUE"),
        combine = combine(),
    ))
}

/// The `meta` key holding the earliest start of the rows added to `traces` since split
/// traces were last joined (absent: none since).
pub(crate) const UNMERGED_FROM: &str = "traces_unmerged_from";

/// How many rows of `traces` one step of [`merge_split`] takes as candidates: DuckDB
/// holds their ids while it looks for their other rows among all traces (500k took
/// less than 40 MB, against 10M traces, in DuckDB 1.5.6).
const MERGE_CHUNK: i64 = 500_000;

/// The cost of a row of `table`'s cost measures (`trace_spend`'s columns) as one SQL
/// expression, with the rates of the names priced there written inline.
pub(crate) fn spend_cost(
    conn: &Connection,
    prices: &PriceTable,
    table: &str,
) -> duckdb::Result<String> {
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT priced_as FROM {table} WHERE priced_as IS NOT NULL"
    ))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(cost::inline_measures(
        names
            .iter()
            .filter_map(|n| prices.lookup(n).map(|p| (n.as_str(), p))),
    ))
}

/// Joins the rows of traces that have several (their spans came more than
/// [`WINDOW_NS`] apart), looking only at the rows added since the last merge
/// ([`UNMERGED_FROM`]), in steps of [`MERGE_CHUNK`] rows by start, each its own
/// transaction that also records how far it got. Each step reads every trace id once.
pub(crate) fn merge_split(conn: &Connection) -> duckdb::Result<()> {
    merge_split_in_steps(conn, MERGE_CHUNK)
}

fn merge_split_in_steps(conn: &Connection, chunk: i64) -> duckdb::Result<()> {
    let from = |conn: &Connection| -> duckdb::Result<Option<i64>> {
        conn.query_row(
            &format!("SELECT max(value::BIGINT) FROM meta WHERE key = '{UNMERGED_FROM}'"),
            [],
            |r| r.get(0),
        )
    };
    while let Some(start) = from(conn)? {
        // The start of the row `chunk` rows on: this step takes the rows before it.
        let next: Option<i64> = conn.query_row(
            "SELECT start_ns FROM traces WHERE start_ns >= ? ORDER BY start_ns LIMIT 1 OFFSET ?",
            duckdb::params![start, chunk],
            |r| r.get(0),
        ).optional()?;
        // Rows sharing one start are taken together, so each step moves on.
        let (until, record) = match next {
            Some(n) if n > start => (format!("start_ns < {n}"), format!("'{n}'")),
            Some(n) => (format!("start_ns <= {n}"), format!("'{}'", n + 1)),
            None => ("TRUE".to_string(), "NULL".to_string()),
        };
        let candidates = format!("start_ns >= {start} AND {until}");
        conn.execute_batch("BEGIN TRANSACTION")?;
        join_split(conn, &candidates)
            .and_then(|()| {
                conn.execute_batch(&format!(
                    "DELETE FROM meta WHERE key = '{UNMERGED_FROM}';
                     INSERT INTO meta SELECT '{UNMERGED_FROM}', {record} WHERE {record} IS NOT NULL;
                     COMMIT;"
                ))
            })
            .inspect_err(|_| {
                let _ = conn.execute_batch("ROLLBACK");
            })?;
    }
    Ok(())
}

/// Joins the rows of each trace that has a row matching `candidates` (a condition on
/// `traces`) and another row anywhere. The traces with several rows are found first,
/// by their ids alone: summing every candidate's row (their names, sessions) ran out
/// of 100 MB at 500k candidates, where their ids take a few MB.
fn join_split(conn: &Connection, candidates: &str) -> duckdb::Result<()> {
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE split_ids AS
             SELECT trace_id FROM traces
             WHERE trace_id IN (SELECT trace_id FROM traces WHERE {candidates})
             GROUP BY trace_id HAVING count(*) > 1;"
    ))?;
    let split: i64 = conn.query_row("SELECT count(*) FROM split_ids", [], |r| r.get(0))?;
    if split > 0 {
        conn.execute_batch(
            "CREATE OR REPLACE TEMP TABLE split_traces AS
             SELECT trace_id, min(start_ns) AS start_ns, max(end_ns) AS end_ns,
                    sum(spans)::BIGINT AS spans, bool_or(span_error) AS span_error,
                    arg_min(root_orphan, (root_orphan, root_start_ns, root_name, root_service)) AS root_orphan,
                    arg_min(root_start_ns, (root_orphan, root_start_ns, root_name, root_service)) AS root_start_ns,
                    arg_min(root_name, (root_orphan, root_start_ns, root_name, root_service)) AS root_name,
                    arg_min(root_service, (root_orphan, root_start_ns, root_name, root_service)) AS root_service,
                    sum(llm_calls)::BIGINT AS llm_calls,
                    sum(tokens)::BIGINT AS tokens, bool_or(call_error) AS call_error,
                    arg_min(session_id, start_ns) FILTER (session_id IS NOT NULL) AS session_id,
                    arg_min(user_id, start_ns) FILTER (user_id IS NOT NULL) AS user_id,
                    min(first_call) AS first_call, sum(cost_usd) AS cost_usd
             FROM traces WHERE trace_id IN (SELECT trace_id FROM split_ids)
             GROUP BY trace_id;
             DELETE FROM traces WHERE trace_id IN (SELECT trace_id FROM split_ids);
             INSERT INTO traces SELECT * FROM split_traces;
             DROP TABLE split_traces;",
        )?;
    }
    conn.execute_batch("DROP TABLE split_ids;")
}

/// Retention (after the spans before `cutoff_ns` went): drops the traces that started
/// before it and sums again, from the spans left, those that went on after it.
pub(crate) fn forget_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    let cut = format!(
        "{{start}} >= {cutoff_ns}
         AND {{start}} <= (SELECT coalesce(max(end_ns), {cutoff_ns}) FROM cut_traces)
         AND trace_id IN (SELECT trace_id FROM cut_traces)"
    );
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE cut_traces AS
             SELECT trace_id, end_ns FROM traces WHERE start_ns < {cutoff_ns} AND end_ns >= {cutoff_ns};
         DELETE FROM traces WHERE start_ns < {cutoff_ns};
         INSERT INTO traces {figures};
         DELETE FROM trace_spend
         WHERE start_ns < {cutoff_ns} OR trace_id IN (SELECT trace_id FROM cut_traces);
         INSERT INTO trace_spend {spend};
         DROP TABLE cut_traces;",
        figures = figures("spans", "llm_calls", &cut),
        spend = spend("llm_calls", &cut.replace("{start}", "c.start_ns")),
    ))
}

#[cfg(test)]
mod tests {
    use duckdb::Connection;

    const T0: i64 = 1_800_000_000_000_000_000;
    const SEC: i64 = 1_000_000_000;
    const HOUR: i64 = 3600 * SEC;

    /// Adds a row to `traces` for each trace id of `ids` (a SQL range), of one span
    /// starting at `start` (SQL over `i`), and notes `note` as the earliest start added.
    fn add_rows(c: &Connection, ids: &str, start: &str, note: i64) {
        c.execute_batch(&format!(
            "INSERT INTO traces (trace_id, start_ns, end_ns, spans, span_error, root_orphan,
                                 root_start_ns, root_name, root_service, llm_calls, tokens,
                                 call_error, cost_usd)
             SELECT i::UHUGEINT, {start}, {start} + {SEC}, 1, false, false, {start}, 'span',
                    'svc', 0, 0, false, 0
             FROM {ids} t(i);
             INSERT OR REPLACE INTO meta VALUES ('{}', '{note}');",
            super::UNMERGED_FROM
        ))
        .unwrap();
    }

    /// Rows, distinct traces and summed spans of `traces`, and the merge's note.
    fn shape(c: &Connection) -> (i64, i64, i64, Option<String>) {
        c.query_row(
            &format!(
                "SELECT count(*), count(DISTINCT trace_id), sum(spans)::BIGINT,
                        (SELECT max(value) FROM meta WHERE key = '{}')
                 FROM traces",
                super::UNMERGED_FROM
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
    }

    /// Forty traces get a second row three hours after their first (as a commit that
    /// far after a trace's first spans adds one), and twenty more traces start then;
    /// ten of the rows added then share one start (a step must still move on). Joined
    /// in steps of seven rows from the note, every trace has one row with all its
    /// spans, found anywhere before, and the note is gone.
    #[test]
    fn split_traces_are_joined_in_steps_from_the_rows_added_since() {
        let c = Connection::open_in_memory().unwrap();
        // The two tables as the schema makes them (this module is below `schema`).
        c.execute_batch(
            "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
             CREATE TABLE traces (trace_id UHUGEINT, start_ns BIGINT, end_ns BIGINT,
                 spans BIGINT, span_error BOOLEAN, root_orphan BOOLEAN, root_start_ns BIGINT,
                 root_name VARCHAR, root_service VARCHAR, llm_calls BIGINT, tokens BIGINT,
                 call_error BOOLEAN, session_id VARCHAR, user_id VARCHAR,
                 first_call STRUCT(s BIGINT, p UBIGINT), cost_usd DOUBLE);",
        )
        .unwrap();
        add_rows(&c, "range(40)", &format!("{T0} + i * {SEC}"), T0);
        let late = T0 + 3 * HOUR;
        add_rows(
            &c,
            "range(60)",
            &format!("{late} + greatest(i, 10) * {SEC}"),
            late,
        );
        assert_eq!(shape(&c), (100, 60, 100, Some(late.to_string())));

        super::merge_split_in_steps(&c, 7).unwrap();
        assert_eq!(shape(&c), (60, 60, 100, None));

        // Rows added later are looked at from their own start, and joined the same way.
        let later = T0 + 7 * HOUR;
        add_rows(&c, "range(1, 3)", &later.to_string(), later);
        super::merge_split(&c).unwrap();
        assert_eq!(shape(&c), (60, 60, 102, None));
    }
}
