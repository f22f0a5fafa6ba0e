//! The agent-run tables, kept by the writer in the same transaction as the spans, so
//! that the Agents view reads a row per run instead of joining every span to every
//! agent span (6.3 s at 10M spans, 0.1 s from these tables):
//!
//! - `agent_runs`: one row per agent span (a run): its agent, service, start, end,
//!   outcome, and what happened inside it — the spans of its trace that start within it
//!   (steps), the LLM calls and tool executions among them, their tokens.
//! - `agent_run_spend`: the cost measures of the calls inside each run by priced name
//!   (token classes, not dollars, as the rollups keep them, so that a run reprices when
//!   a price changes). Rows are added, never updated: readers sum them.
//! - `agent_hours` and `agent_spend_hours`: both summed per hour of the runs' start
//!   (and agent, service, outcome, duration sketch bucket; or priced name), so that the
//!   Agents view over weeks reads thousands of rows: runs, steps' sums and most steps,
//!   and the cost measures. A run's later steps add rows of their own (most steps: its
//!   new total, as steps only grow); [`compact`] folds them, readers sum (and max) rows.
//! - `tool_hours`: tool executions (tool spans) summed per hour, tool, service, outcome
//!   and duration sketch bucket; `tool_agents`: one row per tool execution and run it
//!   happened in, the Tools table's "used by".
//!
//! A commit counts its new spans into the runs already stored (found among the runs
//! that started at most [`WINDOW_NS`] before the commit's earliest span, so a step
//! arriving more than an hour after its run began is not counted), then adds its new
//! runs with everything stored inside them (the steps sent before the run, which is the
//! usual order: a run's span ends, and is exported, after its steps). Copies of spans
//! never reach the tables: the writer drops them before.

use crate::query::cost;
use crate::rollup::{HOUR_NS, floor_sql};
use crate::sketch;
use crate::trace_table::WINDOW_NS;
use duckdb::Connection;

/// What `agent_hours` rows are grouped by besides the hour.
pub(crate) const RUN_DIMENSIONS: &str = "agent, service, failed, bucket";

/// Runs of `runs` (with `agent_runs`' columns) as rows of `t` (their start), the
/// [`RUN_DIMENSIONS`] and the measures of `agent_hours` (and the run's duration, which
/// the hours keep only in its sketch bucket): what the hours sum, and what a reader
/// reads for runs outside whole hours.
pub(crate) fn run_projection(runs: &str) -> String {
    format!(
        "SELECT r.start_ns AS t, r.agent, r.service, r.failed, {bucket} AS bucket,
                1::BIGINT AS runs, r.llm_calls, r.tool_calls, r.tokens, r.steps AS max_steps,
                r.duration_ns
         FROM {runs} r",
        bucket = sketch::bucket_sql("r.duration_ns"),
    )
}

/// Rows with [`run_projection`]'s columns summed into `agent_hours` rows.
fn run_hours(rows: &str) -> String {
    format!(
        "SELECT {hour} AS hour_ns, {RUN_DIMENSIONS}, sum(runs)::BIGINT AS runs,
                sum(llm_calls)::BIGINT AS llm_calls, sum(tool_calls)::BIGINT AS tool_calls,
                sum(tokens)::BIGINT AS tokens, max(max_steps)::BIGINT AS max_steps
         FROM ({rows}) GROUP BY ALL",
        hour = floor_sql("t", HOUR_NS),
    )
}

/// What `tool_hours` rows are grouped by besides the hour.
pub(crate) const TOOL_DIMENSIONS: &str = "tool, service, failed, bucket";

/// The tool spans of `spans` (with `spans`' columns, aliased `t`, meeting `condition`)
/// as rows of `t` (their start), the [`TOOL_DIMENSIONS`], `executions` (1) and their
/// `duration_ns`: what the hours sum, and what a reader reads outside whole hours.
pub(crate) fn tool_projection(spans: &str, condition: &str) -> String {
    format!(
        "SELECT t.start_ns AS t, t.entity AS tool, t.service, t.status_code = 2 AS failed,
                {bucket} AS bucket, 1::BIGINT AS executions, t.duration_ns
         FROM {spans} t WHERE t.class = 3 AND t.entity IS NOT NULL AND {condition}",
        bucket = sketch::bucket_sql("t.duration_ns"),
    )
}

/// Rows with [`tool_projection`]'s columns summed into `tool_hours` rows.
fn tool_hours(rows: &str) -> String {
    format!(
        "SELECT {hour} AS hour_ns, {TOOL_DIMENSIONS}, sum(executions)::BIGINT AS executions,
                sum(duration_ns)::BIGINT AS duration_ns
         FROM ({rows}) GROUP BY ALL",
        hour = floor_sql("t", HOUR_NS),
    )
}

/// The tool executions of `steps` inside the runs of `runs` (as in [`contents`]), as
/// `tool_agents` rows: the execution's start, tool and service, the run's agent, start
/// and service (a selection takes the pairs whose execution and run it holds both).
fn tool_agents(runs: &str, steps: &str) -> String {
    format!(
        "SELECT x.start_ns, x.entity AS tool, x.service, r.agent, r.start_ns AS run_start_ns,
                r.service AS run_service
         FROM {runs} r JOIN {steps} x
           ON x.trace_id = r.trace_id AND x.start_ns BETWEEN r.start_ns AND r.end_ns
          AND x.span_id <> r.span_id
         WHERE x.class = 3 AND x.entity IS NOT NULL"
    )
}

/// Rows with `agent_run_spend`'s columns summed into `agent_spend_hours` rows.
fn spend_hours(rows: &str) -> String {
    let sums: Vec<String> = cost::measure_names()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    format!(
        "SELECT {hour} AS hour_ns, agent, service, priced_as, {sums}
         FROM ({rows}) GROUP BY ALL",
        hour = floor_sql("start_ns", HOUR_NS),
        sums = sums.join(", "),
    )
}

/// The agent spans of `spans` (a table, or a parenthesized query, with the columns of
/// `spans`) as runs, in the leading columns of `agent_runs`.
pub(crate) fn runs(spans: &str) -> String {
    format!(
        "SELECT trace_id, span_id, entity AS agent, service, start_ns, end_ns, duration_ns,
                status_code = 2 AS failed
         FROM {spans} WHERE class = 2 AND entity IS NOT NULL"
    )
}

/// What the spans of `steps` and the calls of `calls` add to the runs of `runs` (each a
/// table, or a parenthesized query): a row per run, in the columns of `agent_runs`.
pub(crate) fn contents(runs: &str, steps: &str, calls: &str) -> String {
    format!(
        "SELECT r.*, coalesce(i.steps, 0)::BIGINT AS steps,
                coalesce(i.llm_calls, 0)::BIGINT AS llm_calls,
                coalesce(i.tool_calls, 0)::BIGINT AS tool_calls,
                coalesce(s.tokens, 0)::BIGINT AS tokens
         FROM {runs} r
         LEFT JOIN (
             SELECT r.trace_id, r.span_id, count(*) AS steps,
                    count(*) FILTER (x.class = 1) AS llm_calls,
                    count(*) FILTER (x.class = 3) AS tool_calls
             FROM {runs} r JOIN {steps} x
               ON x.trace_id = r.trace_id AND x.start_ns BETWEEN r.start_ns AND r.end_ns
              AND x.span_id <> r.span_id
             GROUP BY ALL) i USING (trace_id, span_id)
         LEFT JOIN (
             SELECT r.trace_id, r.span_id,
                    sum(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0)) AS tokens
             FROM {runs} r JOIN {calls} c
               ON c.trace_id = r.trace_id AND c.start_ns BETWEEN r.start_ns AND r.end_ns
             GROUP BY ALL) s USING (trace_id, span_id)"
    )
}

/// The cost measures of the calls of `calls` inside the runs of `runs` (as in
/// [`contents`]), per run and priced name, in the columns of `agent_run_spend`.
pub(crate) fn spend(runs: &str, calls: &str) -> String {
    let sums: Vec<String> = cost::measure_names()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    format!(
        "SELECT trace_id, span_id, agent, service, start_ns, priced_as, {sums}
         FROM (
             SELECT r.trace_id, r.span_id, r.agent, r.service, r.start_ns,
                    {priced_as} AS priced_as, {measures}
             FROM {runs} r JOIN {calls} c
               ON c.trace_id = r.trace_id AND c.start_ns BETWEEN r.start_ns AND r.end_ns)
         GROUP BY ALL",
        sums = sums.join(", "),
        priced_as = cost::PRICED_AS,
        measures = cost::per_call_columns(),
    )
}

/// SQL creating the tables from the stored spans and calls (the schema migration).
pub(crate) fn create_sql() -> String {
    let all = format!("({})", runs("spans"));
    format!(
        "CREATE TABLE agent_runs AS {} ORDER BY start_ns;
         CREATE TABLE agent_run_spend AS {} ORDER BY start_ns;
         CREATE TABLE agent_hours AS {} ORDER BY hour_ns;
         CREATE TABLE agent_spend_hours AS {} ORDER BY hour_ns;
         CREATE TABLE tool_hours AS {} ORDER BY hour_ns;
         CREATE TABLE tool_agents AS {} ORDER BY start_ns;",
        contents(&all, "spans", "llm_calls"),
        spend(&all, "llm_calls"),
        run_hours(&run_projection("agent_runs")),
        spend_hours("SELECT * FROM agent_run_spend"),
        tool_hours(&tool_projection("spans", "TRUE")),
        tool_agents("agent_runs", "spans"),
    )
}

/// Adds the spans and calls of the staging tables (the commit's new ones, starting
/// between `earliest_ns` and `latest_ns`, already in `spans` and `llm_calls`) to the
/// runs: first to the runs stored before, then as new runs.
pub(crate) fn add(conn: &Connection, earliest_ns: i64, latest_ns: i64) -> duckdb::Result<()> {
    let since = earliest_ns.saturating_sub(WINDOW_NS);
    conn.execute_batch(&format!(
        "INSERT INTO tool_hours {};",
        tool_hours(&tool_projection("stage_spans", "TRUE"))
    ))?;
    // The stored runs of the commit's traces; usually none (a run's span comes with
    // or after its steps), and then there is nothing to add to.
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE run_old AS
             SELECT * EXCLUDE (steps, llm_calls, tool_calls, tokens) FROM agent_runs
             WHERE start_ns BETWEEN {since} AND {latest_ns}
               AND trace_id IN (SELECT trace_id FROM stage_spans);"
    ))?;
    let stored: i64 = conn.query_row("SELECT count(*) FROM run_old", [], |r| r.get(0))?;
    if stored > 0 {
        // What the new steps add, and each run's new total of steps (its most steps).
        let grown = format!(
            "SELECT r.start_ns AS t, r.agent, r.service, r.failed, {bucket} AS bucket,
                    0::BIGINT AS runs, d.llm_calls, d.tool_calls, d.tokens, r.steps AS max_steps
             FROM run_delta d JOIN agent_runs r
               ON r.start_ns BETWEEN {since} AND {latest_ns}
              AND r.trace_id = d.trace_id AND r.span_id = d.span_id",
            bucket = sketch::bucket_sql("r.duration_ns"),
        );
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE run_delta AS
                 SELECT * FROM ({contents}) WHERE steps > 0;
             UPDATE agent_runs r SET steps = r.steps + d.steps, llm_calls = r.llm_calls + d.llm_calls,
                    tool_calls = r.tool_calls + d.tool_calls, tokens = r.tokens + d.tokens
             FROM run_delta d
             WHERE r.start_ns BETWEEN {since} AND {latest_ns}
               AND r.trace_id = d.trace_id AND r.span_id = d.span_id;
             INSERT INTO agent_hours {hours};
             INSERT INTO tool_agents {tools};
             CREATE OR REPLACE TEMP TABLE spend_added AS {old_spend};
             INSERT INTO agent_run_spend SELECT * FROM spend_added;
             INSERT INTO agent_spend_hours {spend_hours};",
            contents = contents("run_old", "stage_spans", "stage_llm"),
            hours = run_hours(&grown),
            tools = tool_agents("run_old", "stage_spans"),
            old_spend = spend("run_old", "stage_llm"),
            spend_hours = spend_hours("SELECT * FROM spend_added"),
        ))?;
    }
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE run_new AS {};",
        runs("stage_spans")
    ))?;
    let (lo, hi): (Option<i64>, Option<i64>) =
        conn.query_row("SELECT min(start_ns), max(end_ns) FROM run_new", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(());
    };
    // Their steps and calls: of their traces, within their time (sent before or now).
    let within = format!(
        "WHERE start_ns BETWEEN {lo} AND {hi} AND trace_id IN (SELECT trace_id FROM run_new)"
    );
    let steps = format!("(SELECT * FROM spans {within})");
    let calls = format!("(SELECT * FROM llm_calls {within})");
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE runs_added AS {runs};
         INSERT INTO agent_runs SELECT * FROM runs_added;
         INSERT INTO agent_hours {hours};
         INSERT INTO tool_agents {tools};
         CREATE OR REPLACE TEMP TABLE spend_added AS {spend};
         INSERT INTO agent_run_spend SELECT * FROM spend_added;
         INSERT INTO agent_spend_hours {spend_hours};",
        runs = contents("run_new", &steps, &calls),
        hours = run_hours(&run_projection("runs_added")),
        tools = tool_agents("run_new", &steps),
        spend = spend("run_new", &calls),
        spend_hours = spend_hours("SELECT * FROM spend_added"),
    ))
}

/// Folds the rows of each key of `agent_hours`, `agent_spend_hours` and `tool_hours` in the hours
/// holding `from_ns` to `to_ns` into one (readers sum them, so they answer the same).
pub(crate) fn compact(conn: &Connection, from_ns: i64, to_ns: i64) -> duckdb::Result<()> {
    let (first, last) = (
        from_ns.div_euclid(HOUR_NS) * HOUR_NS,
        to_ns.div_euclid(HOUR_NS) * HOUR_NS,
    );
    let sums: Vec<String> = cost::measure_names()
        .map(|m| format!("sum({m}) AS {m}"))
        .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE compacted_runs AS
             SELECT hour_ns, {RUN_DIMENSIONS}, sum(runs)::BIGINT AS runs,
                    sum(llm_calls)::BIGINT AS llm_calls, sum(tool_calls)::BIGINT AS tool_calls,
                    sum(tokens)::BIGINT AS tokens, max(max_steps)::BIGINT AS max_steps
             FROM agent_hours WHERE hour_ns BETWEEN {first} AND {last} GROUP BY ALL;
         DELETE FROM agent_hours WHERE hour_ns BETWEEN {first} AND {last};
         INSERT INTO agent_hours BY NAME SELECT * FROM compacted_runs;
         DROP TABLE compacted_runs;
         CREATE OR REPLACE TEMP TABLE compacted_spend AS
             SELECT hour_ns, agent, service, priced_as, {sums}
             FROM agent_spend_hours WHERE hour_ns BETWEEN {first} AND {last} GROUP BY ALL;
         DELETE FROM agent_spend_hours WHERE hour_ns BETWEEN {first} AND {last};
         INSERT INTO agent_spend_hours BY NAME SELECT * FROM compacted_spend;
         DROP TABLE compacted_spend;
         CREATE OR REPLACE TEMP TABLE compacted_tools AS
             SELECT hour_ns, {TOOL_DIMENSIONS}, sum(executions)::BIGINT AS executions,
                    sum(duration_ns)::BIGINT AS duration_ns
             FROM tool_hours WHERE hour_ns BETWEEN {first} AND {last} GROUP BY ALL;
         DELETE FROM tool_hours WHERE hour_ns BETWEEN {first} AND {last};
         INSERT INTO tool_hours BY NAME SELECT * FROM compacted_tools;
         DROP TABLE compacted_tools;",
        sums = sums.join(", "),
    ))
}

/// Retention (after the spans before `cutoff_ns` went): the runs and tool executions
/// that started before it go (runs after it lost nothing, their steps starting within
/// them); the hours before it go, and the hour holding it is summed again from the
/// runs and spans left.
pub(crate) fn forget_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    let hour = cutoff_ns.div_euclid(HOUR_NS) * HOUR_NS;
    let next = hour.saturating_add(HOUR_NS);
    conn.execute_batch(&format!(
        "DELETE FROM agent_runs WHERE start_ns < {cutoff_ns};
         DELETE FROM agent_run_spend WHERE start_ns < {cutoff_ns};
         DELETE FROM agent_hours WHERE hour_ns <= {hour};
         DELETE FROM agent_spend_hours WHERE hour_ns <= {hour};
         DELETE FROM tool_hours WHERE hour_ns <= {hour};
         DELETE FROM tool_agents WHERE start_ns < {cutoff_ns};
         INSERT INTO agent_hours {hours};
         INSERT INTO agent_spend_hours {spend_hours};
         INSERT INTO tool_hours {tools};",
        hours = run_hours(&run_projection(&format!(
            "(SELECT * FROM agent_runs WHERE start_ns >= {hour} AND start_ns < {next})"
        ))),
        spend_hours = spend_hours(&format!(
            "SELECT * FROM agent_run_spend WHERE start_ns >= {hour} AND start_ns < {next}"
        )),
        tools = tool_hours(&tool_projection(
            "spans",
            &format!("t.start_ns >= {hour} AND t.start_ns < {next}")
        )),
    ))
}
