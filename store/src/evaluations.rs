//! The `evaluations` table: evaluation results, annotations and people's feedback on
//! calls, traces and sessions, kept by the writer. Results arrive before or after what
//! they judge and are stored as sent; one that names its call only by the response id
//! gets the call's ids as soon as both are stored (whichever came first). A result
//! sent twice (a retried export, a file imported again) is stored once; feedback given
//! in the app replaces the feedback given there before.

use crate::ids::{span_key, trace_key};
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
         source VARCHAR NOT NULL
     );"
    .into()
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
                 ORDER BY batch) = 1;
         INSERT INTO evaluations SELECT * EXCLUDE (batch) FROM new_evals;",
        same = same.join(" AND "),
    ))?;
    // Results naming their call only by its response id (the call may be stored
    // already): rare, and the only case that reads the calls' response ids.
    let waiting: i64 = conn.query_row(
        "SELECT count(*) FROM new_evals WHERE span_id IS NULL AND response_id IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    if waiting > 0 {
        conn.execute_batch(
            "UPDATE evaluations e SET trace_id = c.trace_id, span_id = c.span_id
             FROM llm_calls c
             WHERE e.span_id IS NULL AND e.target = 'span' AND e.response_id = c.response_id
               AND c.response_id IN (SELECT response_id FROM new_evals WHERE span_id IS NULL);",
        )?;
    }
    let mut stmt = conn.prepare("SELECT batch, count(*) FROM new_evals GROUP BY batch")?;
    let counts = stmt.query_map([], |r| {
        Ok((r.get::<_, i32>(0)? as usize, r.get::<_, u64>(1)?))
    })?;
    counts.collect()
}

/// Gives the evaluations waiting for a call by its response id (they arrived first)
/// the ids of the staged calls that carry it.
pub(crate) fn join_new_calls(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(
        "UPDATE evaluations e SET trace_id = c.trace_id, span_id = c.span_id
         FROM stage_llm c
         WHERE e.span_id IS NULL AND e.target = 'span' AND c.response_id IS NOT NULL
           AND e.response_id = c.response_id;",
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
        "INSERT INTO evaluations VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, '{FROM_APP}')"
    ))?;
    for f in feedback {
        let (trace, span) = (
            f.trace_id.as_ref().map(trace_key),
            f.span_id.as_ref().map(span_key),
        );
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
        ])?;
    }
    Ok(())
}
