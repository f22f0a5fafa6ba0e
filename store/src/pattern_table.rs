//! Where prompt patterns live in the database: the `prompt_patterns` table (one row per
//! template, its id the calls' `pattern_id`), what the writer stores after each group,
//! and the one-time pass that finds the patterns of calls stored before this version.

use crate::conventions::{PROMPT_NAME, PROMPT_TEMPLATE};
use crate::error::StoreError;
use crate::patterns::{CallRef, Learned, PatternMiner, PatternRecord, declared_prompt};
use duckdb::{Connection, params};

/// The schema version that added prompt patterns.
pub(crate) const PATTERNS_SCHEMA: i64 = 13;

/// How many parts of about equal calls the backfill mines and stores one by one.
const BACKFILL_PARTS: usize = 16;

/// The `meta` key saying that stored calls still wait for their patterns.
const BACKFILL_PENDING: &str = "prompt_patterns_backfill";

/// Migration 12 → 13: the calls' pattern column, the patterns table, and the note that
/// the calls stored so far are to be read once (see [`backfill`]).
pub(crate) fn create_sql() -> String {
    format!(
        "ALTER TABLE llm_calls ADD COLUMN pattern_id INTEGER;
         CREATE TABLE prompt_patterns (
             id INTEGER NOT NULL,
             template VARCHAR NOT NULL,
             declared VARCHAR,
             name VARCHAR
         );
         INSERT OR REPLACE INTO meta VALUES ('{BACKFILL_PENDING}', 'pending');"
    )
}

/// The writer's staging of calls that got their pattern after they were stored.
pub(crate) const STAGE_SQL: &str = "CREATE TEMP TABLE stage_pattern_later (
    trace_id UHUGEINT, span_id UBIGINT, start_ns BIGINT, pattern_id INTEGER);";

/// The stored patterns, for a miner starting where the last one stopped.
pub(crate) fn load(conn: &Connection) -> Result<Vec<PatternRecord>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id, template, declared, name FROM prompt_patterns ORDER BY id")?;
    let rows = stmt.query_map([], |r| {
        Ok(PatternRecord {
            id: r.get(0)?,
            template: r.get(1)?,
            declared: r.get(2)?,
            name: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores what the miner learned: new and widened templates replace their rows, and
/// the calls stored while they waited get their pattern. Runs inside the writer's
/// transaction, after the group's calls are in `llm_calls`.
pub(crate) fn store_learned(conn: &Connection, learned: &Learned) -> duckdb::Result<()> {
    if !learned.patterns.is_empty() {
        let ids: Vec<String> = learned.patterns.iter().map(|p| p.id.to_string()).collect();
        conn.execute_batch(&format!(
            "DELETE FROM prompt_patterns WHERE id IN ({})",
            ids.join(", ")
        ))?;
        let mut app = conn.appender("prompt_patterns")?;
        for p in &learned.patterns {
            app.append_row(params![p.id, p.template, p.declared, p.name])?;
        }
        app.flush()?;
    }
    if learned.assigned_later.is_empty() {
        return Ok(());
    }
    let (lo, hi) = learned
        .assigned_later
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), (c, _)| {
            (lo.min(c.start_ns), hi.max(c.start_ns))
        });
    let mut app = conn.appender_to_catalog_and_db("stage_pattern_later", "temp", "main")?;
    for (c, id) in &learned.assigned_later {
        app.append_row(params![c.trace_id, c.span_id, c.start_ns, id])?;
    }
    app.flush()?;
    drop(app);
    // Only the row groups within the waiting calls' start times are read.
    conn.execute_batch(&format!(
        "UPDATE llm_calls c SET pattern_id = l.pattern_id FROM stage_pattern_later l
         WHERE c.start_ns BETWEEN {lo} AND {hi} AND c.start_ns = l.start_ns
           AND c.trace_id = l.trace_id AND c.span_id = l.span_id AND c.pattern_id IS NULL;
         DELETE FROM stage_pattern_later;"
    ))
}

/// Finds the patterns of the calls stored before patterns were (once, after the
/// upgrade to [`PATTERNS_SCHEMA`]), reading each call's prompt and its span's declared
/// template as ingest would have, in parts of about equal calls (each its own
/// transaction); a pass cut short resumes with the calls still without a pattern.
pub(crate) fn backfill(conn: &Connection) -> Result<(), StoreError> {
    let pending: i64 = conn.query_row(
        "SELECT count(*) FROM meta WHERE key = ?",
        [BACKFILL_PENDING],
        |r| r.get(0),
    )?;
    if pending == 0 {
        return Ok(());
    }
    let mut miner = PatternMiner::new(load(conn)?);
    // Only the attributes of spans naming a template are read.
    let names: Vec<String> = PROMPT_NAME
        .iter()
        .chain(PROMPT_TEMPLATE)
        .map(|k| format!("s.attributes LIKE '%\"{k}\"%'"))
        .collect();
    let pending = format!(
        "c.pattern_id IS NULL AND (c.prompt IS NOT NULL OR {})",
        names.join(" OR ")
    );
    // In parts of about equal calls, each stored in its own transaction, so that a
    // file of millions of calls is mined in bounded memory (the miner alone carries
    // over). The flag goes once every part is stored: an interrupted pass resumes.
    let quantiles: Vec<String> = (1..BACKFILL_PARTS)
        .map(|i| format!("{}", i as f64 / BACKFILL_PARTS as f64))
        .collect();
    let mut cuts: Vec<i64> = Vec::new();
    {
        let mut stmt = conn.prepare(&format!(
            "SELECT unnest(quantile_disc(c.start_ns, [{}])) FROM llm_calls c
             LEFT JOIN spans s ON s.trace_id = c.trace_id AND s.span_id = c.span_id
                              AND s.start_ns = c.start_ns
             WHERE {pending}",
            quantiles.join(", ")
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(cut) = r.get::<_, Option<i64>>(0)? {
                cuts.push(cut);
            }
        }
    }
    cuts.dedup();
    let mut edges = vec![i64::MIN];
    edges.extend(cuts);
    edges.push(i64::MAX);
    let mut stmt = conn.prepare(&format!(
        "SELECT c.trace_id, c.span_id, c.start_ns, c.prompt,
                CASE WHEN {} THEN s.attributes END AS attributes
         FROM llm_calls c
         LEFT JOIN spans s ON s.trace_id = c.trace_id AND s.span_id = c.span_id
                          AND s.start_ns = c.start_ns
         WHERE {pending} AND c.start_ns >= ? AND (c.start_ns < ? OR c.start_ns = {})",
        names.join(" OR "),
        i64::MAX
    ))?;
    let parts = edges.len() - 1;
    for (i, part) in edges.windows(2).enumerate() {
        let mut assigned: Vec<(CallRef, i32)> = Vec::new();
        let mut rows = stmt.query(params![part[0], part[1]])?;
        while let Some(r) = rows.next()? {
            let call = CallRef {
                trace_id: r.get(0)?,
                span_id: r.get(1)?,
                start_ns: r.get(2)?,
            };
            let prompt: Option<String> = r.get(3)?;
            let attributes: Option<String> = r.get(4)?;
            let declared = attributes
                .and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok())
                .and_then(|a| declared_prompt(|keys| json_text(&a, keys)));
            let prompt = prompt.as_deref().unwrap_or("");
            if let Some(id) = miner.assign(prompt, declared.as_ref(), call) {
                assigned.push((call, id));
            }
        }
        drop(rows);
        let mut learned = miner.learned();
        learned.assigned_later.extend(assigned);
        let last = i + 1 == parts;
        conn.execute_batch("BEGIN TRANSACTION")?;
        let stored = store_learned_in_bulk(conn, &learned).and_then(|()| {
            if last {
                conn.execute("DELETE FROM meta WHERE key = ?", [BACKFILL_PENDING])
                    .map(|_| ())
            } else {
                Ok(())
            }
        });
        match stored {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(StoreError::Migration {
                    to: PATTERNS_SCHEMA,
                    detail: format!("finding the prompt patterns of stored calls: {e}"),
                });
            }
        }
    }
    Ok(())
}

/// [`store_learned`] for the backfill, whose calls span the whole file: the temporary
/// table is its own (the writer's does not exist yet).
fn store_learned_in_bulk(conn: &Connection, learned: &Learned) -> duckdb::Result<()> {
    conn.execute_batch(STAGE_SQL)?;
    let result = store_learned(conn, learned);
    conn.execute_batch("DROP TABLE IF EXISTS temp.stage_pattern_later")?;
    result
}

/// The first of `keys` that stored attributes (`{"key": value}`) hold as text.
fn json_text(attributes: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match attributes.get(*k)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}
