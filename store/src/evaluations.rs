//! The `evaluations` table: evaluation results, annotations and people's feedback on
//! calls, traces and sessions, kept by the writer. Results arrive before or after what
//! they judge and are stored as sent; a result about a call gets the call's ids (when
//! it named it only by the response id), model and start as soon as both are stored,
//! whichever came first — so that the Evaluations view reads results alone, without
//! joining millions of calls. Results still waiting for their call are listed in
//! `evaluations_waiting`, which each commit of calls looks through. A result sent twice
//! (a retried export, a file imported again) is stored once; feedback given in the app
//! replaces the feedback given there before.

use crate::ids::{span_key, trace_key};
use crate::rollup::{HOUR_NS, floor_sql};
use crate::row::{EvaluationRow, FEEDBACK, FROM_APP, FROM_OTLP, Feedback};
use duckdb::{Connection, params};

/// The table, created by the 8 -> 9 migration.
pub(crate) fn create_sql() -> String {
    "CREATE TABLE evaluations (
         time_ns BIGINT NOT NULL,
         target VARCHAR NOT NULL,
         trace_id UHUGEINT,
         span_id UBIGINT,
         response_id VARCHAR,
         session_id VARCHAR,
         name VARCHAR NOT NULL,
         score DOUBLE,
         label VARCHAR,
         explanation VARCHAR,
         annotator VARCHAR,
         source VARCHAR NOT NULL,
         -- The judged call's model asked for and start, once it is stored.
         model VARCHAR,
         call_start_ns BIGINT
     );
     CREATE TABLE evaluations_waiting (trace_id UHUGEINT, span_id UBIGINT, response_id VARCHAR);"
        .into()
}

/// The results about stored calls of `rows` (with `evaluations`' columns, aliased `e`,
/// meeting `condition`), each with `first`: whether it is the first (by time) of its
/// call's results of its name — counting the firsts counts the calls judged.
fn with_firsts(rows: &str, condition: &str) -> String {
    format!(
        "SELECT *, row_number() OVER (
                       PARTITION BY trace_id, span_id, name ORDER BY time_ns, label, score) = 1 AS first
         FROM {rows} e WHERE e.target = 'span' AND e.call_start_ns IS NOT NULL AND {condition}"
    )
}

/// Rows with `evaluations`' columns and `first` summed into `eval_hours` rows: per
/// hour of the judged call's start, name, model, whether people gave it, label and
/// score bin (tenths of 0–1; -1 outside it), the results, scores' count, sum, lowest
/// and highest, and the firsts (calls judged).
fn eval_hours(rows: &str) -> String {
    format!(
        "SELECT {hour} AS hour_ns, name, model,
                upper(coalesce(annotator, '')) = 'HUMAN' AS human, label,
                CASE WHEN score IS NULL THEN NULL
                     WHEN score < 0 OR score > 1 THEN -1
                     ELSE least(9, floor(score * 10)) END::SMALLINT AS bin,
                count(*)::BIGINT AS results, count(score)::BIGINT AS scored,
                sum(score)::DOUBLE AS score_sum, min(score) AS score_min, max(score) AS score_max,
                (count(*) FILTER (first))::BIGINT AS calls
         FROM ({rows}) GROUP BY ALL",
        hour = floor_sql("call_start_ns", HOUR_NS),
    )
}

/// The results of `rows` (evaluations columns, just given their call) as `eval_hours`
/// rows, each first when no stored result of its call and name was given its call
/// before (and first among its copies in `rows`).
fn new_eval_hours(rows: &str) -> String {
    eval_hours(&format!(
        "SELECT *, row_number() OVER (
                       PARTITION BY trace_id, span_id, name ORDER BY time_ns, label, score) = 1
                   AND NOT EXISTS (
                       SELECT 1 FROM evaluations o
                       WHERE o.call_start_ns = n.call_start_ns AND o.target = 'span'
                         AND o.trace_id = n.trace_id AND o.span_id = n.span_id
                         AND o.name = n.name) AS first
         FROM {rows} n WHERE n.target = 'span' AND n.call_start_ns IS NOT NULL"
    ))
}

/// `eval_hours` summed from the stored results of the hours whose starts `hours`
/// (a query of `h`) lists.
fn eval_hours_of(hours: &str) -> String {
    eval_hours(&with_firsts(
        "evaluations",
        &format!("{} IN ({hours})", floor_sql("e.call_start_ns", HOUR_NS)),
    ))
}

/// `eval_hours` rows summed from the stored results about calls meeting `condition`
/// (over `e`): what a reader reads for the partial hours at a range's edges.
pub(crate) fn eval_hours_where(condition: &str) -> String {
    eval_hours(&with_firsts("evaluations", condition))
}

/// The rollup of the results about stored calls (the 9 -> 10 migration).
pub(crate) fn create_hours_sql() -> String {
    format!(
        "CREATE TABLE eval_hours AS {} ORDER BY hour_ns;",
        eval_hours(&with_firsts("evaluations", "TRUE"))
    )
}

/// Retention: drops the rollup of the hours before the one holding `cutoff_ns`, and
/// sums again, after the results go, the hours whose results the cutoff takes some of
/// (results made before it about later calls, and the hour holding it).
pub(crate) fn forget_before(conn: &Connection, cutoff_ns: i64) -> duckdb::Result<()> {
    let hour = cutoff_ns.div_euclid(HOUR_NS) * HOUR_NS;
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE eval_cut AS
             SELECT DISTINCT {start_hour} AS h FROM evaluations
             WHERE target = 'span' AND call_start_ns >= {hour}
               AND (time_ns < {cutoff_ns} OR call_start_ns < {cutoff_ns});
         DELETE FROM evaluations WHERE time_ns < {cutoff_ns} OR call_start_ns < {cutoff_ns};
         DELETE FROM eval_hours WHERE hour_ns < {hour} OR hour_ns IN (SELECT h FROM eval_cut);
         INSERT INTO eval_hours {again};
         DROP TABLE eval_cut;",
        start_hour = floor_sql("call_start_ns", HOUR_NS),
        again = eval_hours_of("SELECT h FROM eval_cut"),
    ))
}

/// The writer's staging table (temporary, per connection).
pub(crate) const STAGE_SQL: &str =
    "CREATE TEMP TABLE stage_evals AS SELECT *, 0::INTEGER AS batch FROM evaluations LIMIT 0;";

/// Appends evaluations sent over OTLP to the staging table, for batch `batch`.
pub(crate) fn stage<'a>(
    conn: &Connection,
    rows: impl Iterator<Item = &'a EvaluationRow>,
    batch: i32,
) -> duckdb::Result<()> {
    let mut app = conn.appender_to_catalog_and_db("stage_evals", "temp", "main")?;
    for e in rows {
        app.append_row(params![
            e.time_ns,
            e.target.as_str(),
            e.trace_id.as_ref().map(trace_key),
            e.span_id.as_ref().map(span_key),
            e.response_id.as_deref(),
            e.session_id.as_deref(),
            e.name.as_str(),
            e.score.filter(|s| s.is_finite()),
            e.label.as_deref(),
            e.explanation.as_deref(),
            (!e.annotator.is_empty()).then_some(e.annotator.as_str()),
            FROM_OTLP,
            None::<&str>,
            None::<i64>,
            batch,
        ])?;
    }
    app.flush()
}

/// Stores the staged evaluations not stored before and gives those naming their call
/// only by response id the call's ids when it is stored; returns how many each batch
/// (by its number) had stored.
pub(crate) fn store_new(conn: &Connection) -> duckdb::Result<Vec<(usize, u64)>> {
    let same: Vec<String> = [
        "time_ns",
        "target",
        "response_id",
        "session_id",
        "name",
        "score",
        "label",
        "explanation",
        "annotator",
    ]
    .iter()
    .map(|c| format!("e.{c} IS NOT DISTINCT FROM s.{c}"))
    .collect();
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE new_evals AS
             SELECT * FROM stage_evals s
             WHERE NOT EXISTS (
                 SELECT 1 FROM evaluations e
                 WHERE e.time_ns BETWEEN (SELECT min(time_ns) FROM stage_evals)
                                     AND (SELECT max(time_ns) FROM stage_evals)
                   AND {same}
                   -- A copy stored before may have been given its call's ids since.
                   AND (s.trace_id IS NULL OR e.trace_id IS NOT DISTINCT FROM s.trace_id)
                   AND (s.span_id IS NULL OR e.span_id IS NOT DISTINCT FROM s.span_id))
             QUALIFY row_number() OVER (
                 PARTITION BY time_ns, target, trace_id, span_id, response_id, session_id,
                              name, score, label, explanation, annotator
                 ORDER BY batch) = 1;",
        same = same.join(" AND "),
    ))?;
    // The calls already stored: by their ids, else by the response id.
    let (by_ids, by_response): (i64, i64) = conn.query_row(
        "SELECT count(*) FILTER (span_id IS NOT NULL),
                count(*) FILTER (span_id IS NULL AND response_id IS NOT NULL)
         FROM new_evals WHERE target = 'span'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if by_ids > 0 {
        conn.execute_batch(
            "UPDATE new_evals n SET model = c.model, call_start_ns = c.start_ns
             FROM llm_calls c
             WHERE n.target = 'span' AND c.trace_id = n.trace_id AND c.span_id = n.span_id;",
        )?;
    }
    if by_response > 0 {
        conn.execute_batch(
            "UPDATE new_evals n SET trace_id = c.trace_id, span_id = c.span_id,
                                    model = c.model, call_start_ns = c.start_ns
             FROM llm_calls c
             WHERE n.target = 'span' AND n.span_id IS NULL AND c.response_id = n.response_id;",
        )?;
    }
    conn.execute_batch(&format!(
        "INSERT INTO eval_hours {};",
        new_eval_hours("new_evals")
    ))?;
    conn.execute_batch(
        "INSERT INTO evaluations SELECT * EXCLUDE (batch) FROM new_evals;
         INSERT INTO evaluations_waiting
             SELECT trace_id, span_id, response_id FROM new_evals
             WHERE target = 'span' AND call_start_ns IS NULL
               AND (span_id IS NOT NULL OR response_id IS NOT NULL);",
    )?;
    let mut stmt = conn.prepare("SELECT batch, count(*) FROM new_evals GROUP BY batch")?;
    let counts = stmt.query_map([], |r| {
        Ok((r.get::<_, i32>(0)? as usize, r.get::<_, u64>(1)?))
    })?;
    counts.collect()
}

/// Gives the evaluations waiting for a call (they arrived first) the ids, model and
/// start of the staged calls they name; a look at an empty table when none wait.
pub(crate) fn join_new_calls(conn: &Connection) -> duckdb::Result<()> {
    let waiting: i64 =
        conn.query_row("SELECT count(*) FROM evaluations_waiting", [], |r| r.get(0))?;
    if waiting == 0 {
        return Ok(());
    }
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE arrived AS
             SELECT w.trace_id AS w_trace, w.span_id AS w_span, w.response_id AS w_response,
                    c.trace_id, c.span_id, c.model, c.start_ns
             FROM evaluations_waiting w JOIN stage_llm c
               ON c.trace_id = w.trace_id AND c.span_id = w.span_id
             UNION ALL
             SELECT w.trace_id, w.span_id, w.response_id, c.trace_id, c.span_id, c.model, c.start_ns
             FROM evaluations_waiting w JOIN stage_llm c ON c.response_id = w.response_id
             WHERE w.span_id IS NULL;",
    )?;
    let arrived: i64 = conn.query_row("SELECT count(*) FROM arrived", [], |r| r.get(0))?;
    if arrived == 0 {
        return Ok(());
    }
    // The results given their call now, into the rollup first (while stored results
    // without a call are not yet counted as its firsts).
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE resolved AS
             SELECT e.* REPLACE (a.model AS model, a.start_ns AS call_start_ns)
             FROM evaluations e JOIN arrived a
               ON a.w_span IS NOT NULL AND e.target = 'span' AND e.call_start_ns IS NULL
              AND e.trace_id = a.w_trace AND e.span_id = a.w_span
             UNION ALL BY NAME
             SELECT e.* REPLACE (a.trace_id AS trace_id, a.span_id AS span_id,
                                 a.model AS model, a.start_ns AS call_start_ns)
             FROM evaluations e JOIN arrived a
               ON a.w_span IS NULL AND e.target = 'span' AND e.span_id IS NULL
              AND e.response_id = a.w_response;
         INSERT INTO eval_hours {};
         DROP TABLE resolved;",
        new_eval_hours("resolved")
    ))?;
    conn.execute_batch(
        "UPDATE evaluations e SET model = a.model, call_start_ns = a.start_ns
         FROM arrived a
         WHERE a.w_span IS NOT NULL AND e.target = 'span' AND e.call_start_ns IS NULL
           AND e.trace_id = a.w_trace AND e.span_id = a.w_span;
         UPDATE evaluations e SET trace_id = a.trace_id, span_id = a.span_id,
                                  model = a.model, call_start_ns = a.start_ns
         FROM arrived a
         WHERE a.w_span IS NULL AND e.target = 'span' AND e.span_id IS NULL
           AND e.response_id = a.w_response;
         DELETE FROM evaluations_waiting w WHERE EXISTS (
             SELECT 1 FROM arrived a
             WHERE a.w_trace IS NOT DISTINCT FROM w.trace_id
               AND a.w_span IS NOT DISTINCT FROM w.span_id
               AND a.w_response IS NOT DISTINCT FROM w.response_id);",
    )
}

/// Keeps feedback given in the app: each replaces the app's feedback on the same
/// call, trace or session; empty feedback removes it.
pub(crate) fn give_feedback<'a>(
    conn: &Connection,
    feedback: impl Iterator<Item = &'a Feedback>,
) -> duckdb::Result<()> {
    let mut remove = conn.prepare(&format!(
        "DELETE FROM evaluations
         WHERE source = '{FROM_APP}' AND name = '{FEEDBACK}' AND target = ?
           AND trace_id IS NOT DISTINCT FROM ? AND span_id IS NOT DISTINCT FROM ?
           AND session_id IS NOT DISTINCT FROM ?"
    ))?;
    let mut add = conn.prepare(&format!(
        "INSERT INTO evaluations
         SELECT ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, '{FROM_APP}', c.model, c.start_ns
         -- The call it is about (none for a trace or session).
         FROM (SELECT 1) LEFT JOIN (
             SELECT model, start_ns FROM llm_calls WHERE trace_id = ? AND span_id = ?) c ON TRUE"
    ))?;
    let mut call_start =
        conn.prepare("SELECT start_ns FROM llm_calls WHERE trace_id = ? AND span_id = ?")?;
    // The hours of the calls given feedback, whose rollup rows are summed again.
    let mut hours: Vec<i64> = Vec::new();
    for f in feedback {
        let (trace, span) = (
            f.trace_id.as_ref().map(trace_key),
            f.span_id.as_ref().map(span_key),
        );
        if let (Some(t), Some(s)) = (trace, span) {
            let mut starts = call_start.query(params![t, s])?;
            while let Some(r) = starts.next()? {
                hours.push(r.get::<_, i64>(0)?.div_euclid(HOUR_NS) * HOUR_NS);
            }
        }
        remove.execute(params![f.target.as_str(), trace, span, f.session_id])?;
        if f.is_empty() {
            continue;
        }
        let e = f.to_evaluation();
        add.execute(params![
            e.time_ns,
            e.target.as_str(),
            trace,
            span,
            e.session_id,
            e.name,
            e.score,
            e.label,
            e.explanation,
            e.annotator,
            trace,
            span,
        ])?;
    }
    hours.sort_unstable();
    hours.dedup();
    if !hours.is_empty() {
        let list: Vec<String> = hours.iter().map(|h| h.to_string()).collect();
        let list = list.join(", ");
        conn.execute_batch(&format!(
            "DELETE FROM eval_hours WHERE hour_ns IN ({list});
             INSERT INTO eval_hours {};",
            eval_hours_of(&format!("SELECT unnest([{list}])"))
        ))?;
    }
    Ok(())
}
