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
//!
//! A commit counts its new spans into the runs already stored (found among the runs
//! that started at most [`WINDOW_NS`] before the commit's earliest span, so a step
//! arriving more than an hour after its run began is not counted), then adds its new
//! runs with everything stored inside them (the steps sent before the run, which is the
//! usual order: a run's span ends, and is exported, after its steps). Copies of spans
//! never reach the tables: the writer drops them before.

use crate::query::cost;
use crate::trace_table::WINDOW_NS;
use duckdb::Connection;

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

/// SQL creating both tables from the stored spans and calls (the schema migration).
pub(crate) fn create_sql() -> String {
    let all = format!("({})", runs("spans"));
    format!(
        "CREATE TABLE agent_runs AS {} ORDER BY start_ns;
         CREATE TABLE agent_run_spend AS {} ORDER BY start_ns;",
        contents(&all, "spans", "llm_calls"),
        spend(&all, "llm_calls"),
    )
}

/// Adds the spans and calls of the staging tables (the commit's new ones, starting
/// between `earliest_ns` and `latest_ns`, already in `spans` and `llm_calls`) to the
/// runs: first to the runs stored before, then as new runs.
pub(crate) fn add(conn: &Connection, earliest_ns: i64, latest_ns: i64) -> duckdb::Result<()> {
    let since = earliest_ns.saturating_sub(WINDOW_NS);
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
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE run_delta AS
                 SELECT * FROM ({contents}) WHERE steps > 0;
             UPDATE agent_runs r SET steps = r.steps + d.steps, llm_calls = r.llm_calls + d.llm_calls,
                    tool_calls = r.tool_calls + d.tool_calls, tokens = r.tokens + d.tokens
             FROM run_delta d
             WHERE r.start_ns BETWEEN {since} AND {latest_ns}
               AND r.trace_id = d.trace_id AND r.span_id = d.span_id;
             INSERT INTO agent_run_spend {old_spend};",
            contents = contents("run_old", "stage_spans", "stage_llm"),
            old_spend = spend("run_old", "stage_llm"),
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
        "INSERT INTO agent_runs {};
         INSERT INTO agent_run_spend {};",
        contents("run_new", &steps, &calls),
        spend("run_new", &calls),
    ))
}

/// Retention (after the spans before `cutoff_ns` went): the runs that started before
/// it go; those after it lost nothing, their steps starting within them.
pub(crate) fn forget_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    conn.execute_batch(&format!(
        "DELETE FROM agent_runs WHERE start_ns < {cutoff_ns};
         DELETE FROM agent_run_spend WHERE start_ns < {cutoff_ns};"
    ))
}
