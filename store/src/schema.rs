//! The database schema and its forward migrations. The version lives in `meta`; each
//! migration moves the file from one version to the next inside one transaction.

use crate::conventions;
use crate::error::StoreError;
use duckdb::Connection;

/// The schema version this build writes. Files with a newer version are refused rather
/// than misread.
pub const SCHEMA_VERSION: i64 = 16;

/// Migration `i` brings a file from version `i` to `i + 1` (from 5 on, see
/// [`migration`]).
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    r#"
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
    CREATE TABLE spans (
        trace_id UHUGEINT NOT NULL,
        span_id UBIGINT NOT NULL,
        parent_span_id UBIGINT,
        name VARCHAR NOT NULL,
        kind TINYINT NOT NULL,
        start_ns BIGINT NOT NULL,
        end_ns BIGINT NOT NULL,
        duration_ns BIGINT NOT NULL,
        status_code TINYINT NOT NULL,
        status_message VARCHAR,
        service VARCHAR NOT NULL,
        scope VARCHAR,
        is_llm BOOLEAN NOT NULL,
        attributes VARCHAR,
        resource VARCHAR,
        events VARCHAR,
        links VARCHAR,
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE TABLE llm_calls (
        trace_id UHUGEINT NOT NULL,
        span_id UBIGINT NOT NULL,
        start_ns BIGINT NOT NULL,
        duration_ns BIGINT NOT NULL,
        service VARCHAR NOT NULL,
        provider VARCHAR,
        operation VARCHAR,
        request_model VARCHAR,
        response_model VARCHAR,
        model VARCHAR NOT NULL,
        input_tokens BIGINT,
        output_tokens BIGINT,
        cache_read_tokens BIGINT,
        cache_write_tokens BIGINT,
        reasoning_tokens BIGINT,
        reported_cost DOUBLE,
        finish_reason VARCHAR,
        is_error BOOLEAN NOT NULL,
        error_type VARCHAR,
        error_message VARCHAR,
        session_id VARCHAR,
        user_id VARCHAR,
        prompt VARCHAR,
        response VARCHAR,
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE TABLE logs (
        time_ns BIGINT NOT NULL,
        trace_id UHUGEINT,
        span_id UBIGINT,
        severity_number INTEGER,
        severity_text VARCHAR,
        event_name VARCHAR,
        service VARCHAR,
        body VARCHAR,
        attributes VARCHAR,
        resource VARCHAR,
        genai_prompt VARCHAR,
        genai_response VARCHAR
    );
    CREATE TABLE metric_points (
        time_ns BIGINT NOT NULL,
        start_time_ns BIGINT,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        unit VARCHAR,
        service VARCHAR,
        attributes VARCHAR,
        value DOUBLE,
        count UBIGINT,
        sum DOUBLE,
        bucket_bounds VARCHAR,
        bucket_counts VARCHAR
    );
    -- Hex ids and timestamps for people opening the file in their own DuckDB tools.
    CREATE VIEW spans_readable AS
        SELECT lpad(lower(hex(trace_id)), 32, '0') AS trace_id,
               lpad(lower(hex(span_id)), 16, '0') AS span_id,
               lpad(lower(hex(parent_span_id)), 16, '0') AS parent_span_id,
               name, kind, make_timestamp(start_ns // 1000) AS start_time,
               duration_ns / 1e6 AS duration_ms, status_code, status_message, service,
               scope, is_llm, attributes, resource, events, links
        FROM spans;
    "#,
    // 1 -> 2: the history of alerts (each firing and each resolution).
    r#"
    CREATE TABLE alert_events (
        time_ns BIGINT NOT NULL,
        rule VARCHAR NOT NULL,
        scope VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE,
        threshold DOUBLE NOT NULL,
        message VARCHAR NOT NULL
    );
    "#,
    // 2 -> 3: each span's class (LLM call, agent, tool, retrieval, other; see
    // `SpanClass::code`), which ingest decides from now on. Spans stored before are
    // classified here once, by the markers ingest read when this version was written.
    r#"
    ALTER TABLE spans ADD COLUMN class UTINYINT DEFAULT 0;
    UPDATE spans SET class = CASE
        WHEN is_llm THEN 1
        WHEN attributes LIKE '%"openinference.span.kind":"AGENT"%'
          OR attributes LIKE '%"gen_ai.operation.name":"invoke_agent"%'
          OR attributes LIKE '%"gen_ai.operation.name":"create_agent"%'
          OR attributes LIKE '%"traceloop.span.kind":"agent"%' THEN 2
        WHEN attributes LIKE '%"openinference.span.kind":"TOOL"%'
          OR attributes LIKE '%"gen_ai.operation.name":"execute_tool"%'
          OR attributes LIKE '%"traceloop.span.kind":"tool"%' THEN 3
        WHEN attributes LIKE '%"openinference.span.kind":"RETRIEVER"%'
          OR attributes LIKE '%"openinference.span.kind":"EMBEDDING"%'
          OR attributes LIKE '%"openinference.span.kind":"RERANKER"%'
          OR attributes LIKE '%"gen_ai.operation.name":"embeddings"%'
          OR attributes LIKE '%"gen_ai.operation.name":"retrieval"%' THEN 4
        -- Without any marker, the name tells tools and retrievals apart.
        WHEN attributes LIKE '%"openinference.span.kind"%'
          OR attributes LIKE '%"gen_ai.operation.name"%'
          OR attributes LIKE '%"traceloop.span.kind"%' THEN 0
        WHEN lower(name) LIKE '%tool%' THEN 3
        WHEN lower(name) LIKE '%retriev%' OR lower(name) LIKE '%embed%'
          OR lower(name) LIKE '%vector%' THEN 4
        ELSE 0
    END;
    "#,
    // 3 -> 4: calls count under the model that was asked for (request model, else
    // response model); the served snapshot stays in `response_model`.
    r#"
    UPDATE llm_calls SET model = coalesce(request_model, response_model, 'unknown')
    WHERE model IS DISTINCT FROM coalesce(request_model, response_model, 'unknown');
    "#,
    // 4 -> 5: no primary keys. DuckDB keeps a primary-key index in memory (~60 bytes a
    // key: 0.9 GB at 10M spans, past any desktop's budget at 100M); the writer finds
    // copies of stored spans by their ids within their start times instead. The tables
    // are rewritten in start order, which keeps that search to a few row groups.
    r#"
    CREATE TABLE spans_v5 AS SELECT * FROM spans ORDER BY start_ns;
    CREATE TABLE llm_calls_v5 AS SELECT * FROM llm_calls ORDER BY start_ns;
    -- spans_readable is bound when queried, so it reads the new table.
    DROP TABLE spans;
    DROP TABLE llm_calls;
    ALTER TABLE spans_v5 RENAME TO spans;
    ALTER TABLE llm_calls_v5 RENAME TO llm_calls;
    "#,
];

/// One step of bringing a file forward, told to whoever opens it before it runs
/// (large files take seconds to minutes: the window and the command line say so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upgrade {
    /// The version the file is at.
    pub from: i64,
    /// The version this build writes.
    pub to: i64,
    /// What the step does, for people ("summing calls into per-minute rollups").
    pub what: &'static str,
}

/// What migration `from` → `from + 1` does, in words.
fn describe(from: i64) -> &'static str {
    match from {
        0 => "creating the tables",
        1 => "adding the alert history",
        2 => "classifying spans",
        3 => "grouping calls by the model asked for",
        4 => "rewriting the tables without primary-key indexes",
        5 => "summing calls into per-minute rollups and latency sketches",
        8 => "adding evaluations and feedback, and reading each call's response id",
        9 => {
            "listing agent runs with the steps, calls and cost inside them, tool executions, each trace's cost, and evaluations by hour"
        }
        10 => "reading each call's time to first token and server phases",
        11 => "telling metric points that are deltas from running totals",
        12 => "finding the prompt patterns of the stored calls",
        13 => "adding notes on stretches of time",
        14 => "keeping each trace's cost, for the traces list sorted by cost",
        15 => "noting which traces may have rows to join",
        _ => {
            "reading each span's session, user and agent or tool name, and listing traces, one row each"
        }
    }
}

/// Adds the spans' session, user and agent or tool name columns and fills them from the
/// attributes of the spans stored before ingest read them: the first key of
/// [`conventions::SESSION`] (and the others) holding a non-empty value, as ingest reads
/// them; an agent or tool without a name attribute is named by its span.
fn span_sessions_sql() -> String {
    let (session, has_session) = first_attribute(conventions::SESSION);
    let (user, has_user) = first_attribute(conventions::USER);
    let (agent, _) = first_attribute(conventions::AGENT_NAME);
    let (tool, _) = first_attribute(conventions::TOOL_NAME);
    let own_name = "nullif(trim(name), '')";
    format!(
        "ALTER TABLE spans ADD COLUMN session_id VARCHAR;
         ALTER TABLE spans ADD COLUMN user_id VARCHAR;
         ALTER TABLE spans ADD COLUMN entity VARCHAR;
         UPDATE spans SET session_id = {session}, user_id = {user}
         WHERE {has_session} OR {has_user};
         UPDATE spans SET entity = CASE class
             WHEN 2 THEN coalesce({agent}, {own_name})
             ELSE coalesce({tool}, {own_name}) END
         WHERE class IN (2, 3);"
    )
}

/// SQL reading the first of `keys` that a span's `attributes` hold with a non-empty
/// value (a string, or a number or boolean as written), and SQL telling whether the
/// attributes name any of them (cheap, to skip the rest). DuckDB's JSON functions are
/// an extension we do not bundle: the value is read from the attributes' compact JSON
/// text.
fn first_attribute(keys: &[&str]) -> (String, String) {
    let values: Vec<String> = keys
        .iter()
        .map(|k| {
            let pattern = format!(
                r#""{}":\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9][0-9.eE+-]*|true|false))"#,
                k.replace('.', "\\.")
            );
            let extract =
                |group: u8| format!("nullif(regexp_extract(attributes, '{pattern}', {group}), '')");
            format!("coalesce({}, {})", extract(1), extract(2))
        })
        .collect();
    let present: Vec<String> = keys
        .iter()
        .map(|k| format!("attributes LIKE '%\"{k}\"%'"))
        .collect();
    (
        format!("coalesce({})", values.join(", ")),
        present.join(" OR "),
    )
}

/// The SQL bringing a file from version `from` to `from + 1`.
fn migration(from: i64) -> String {
    match from {
        // 5 -> 6: the rollups the writer keeps from now on (`crate::rollup`), summed
        // from the stored calls.
        5 => crate::rollup::create_sql(),
        // 6 -> 7 made the traces table, which now has the sessions of 7 -> 8: it is
        // made there, from the spans once they have them.
        6 => String::new(),
        // 7 -> 8: each span's session and user (`SpanRow::session_id`), read from its
        // attributes by the keys ingest reads; then a row per trace
        // (`crate::trace_table`) with them, summed from the stored spans.
        7 => format!(
            "{} DROP TABLE IF EXISTS traces; {}",
            span_sessions_sql(),
            crate::trace_table::create_sql()
        ),
        // 8 -> 9: evaluations, annotations and feedback; each call's response id
        // (which evaluations made away from the call name it by), read from its
        // span's attributes.
        8 => evaluations_sql(),
        // 9 -> 10: each trace's first call and its calls' cost measures
        // (`crate::trace_table`); the agent runs with what happened inside them, tool
        // executions and their hourly sums (`crate::run_table`); all from the stored
        // spans and calls.
        9 => format!(
            "{} {} {}",
            crate::trace_table::add_first_calls_and_spend_sql(),
            crate::run_table::create_sql(),
            crate::evaluations::create_hours_sql()
        ),
        // 10 -> 11: each call's timing (`crate::row::CallTiming`), read from its span's
        // attributes and first-chunk event, and the hourly time-to-first-token sketches.
        10 => format!("{} {}", timing_sql(), crate::rollup::create_ttft_sql()),
        // 11 -> 12: whether a sum or histogram point is a delta or the running total
        // (OTLP's aggregation temporality); points stored before were not told apart
        // and stay NULL, read as running totals (the OTLP exporters' default).
        11 => "ALTER TABLE metric_points ADD COLUMN temporality VARCHAR;".to_string(),
        // 12 -> 13: each call's prompt pattern and the patterns' table
        // (`crate::pattern_table`); the stored calls are mined once after the
        // migration, in Rust (`pattern_table::backfill`).
        12 => crate::pattern_table::create_sql(),
        // 13 -> 14: notes on stretches of time (`crate::time_annotations`).
        13 => crate::time_annotations::create_sql().to_string(),
        // 14 -> 15: each trace's cost at the prices in force (`crate::trace_cost`),
        // priced by the writer when it starts.
        14 => "ALTER TABLE traces ADD COLUMN IF NOT EXISTS cost_usd DOUBLE;".to_string(),
        // 15 -> 16: the writer joins split traces among the rows added since its last
        // merge (`crate::trace_table::UNMERGED_FROM`); a file of an earlier build may
        // hold split rows anywhere, so its first merge looks at every row.
        15 => format!(
            "INSERT OR REPLACE INTO meta SELECT '{}', min(start_ns)::VARCHAR FROM traces
             HAVING count(*) > 0;",
            crate::trace_table::UNMERGED_FROM
        ),
        _ => MIGRATIONS[from as usize].to_string(),
    }
}

/// The calls' timing columns, filled from the stored spans as ingest reads them: the
/// time to first token from its attributes (seconds), else from the first first-chunk
/// event written in the span's events (the first in the order the SDK recorded them);
/// the server's phases; whether it streamed (said, or shown by a first chunk).
fn timing_sql() -> String {
    let seconds = |keys: &[&str]| {
        let (value, _) = first_attribute(keys);
        format!(
            "CASE WHEN TRY_CAST({value} AS DOUBLE) BETWEEN 0 AND 86400
                  THEN round(TRY_CAST({value} AS DOUBLE) * 1e9)::BIGINT END"
        )
    };
    let (streaming, _) = first_attribute(conventions::STREAMING);
    let (params, _) = first_attribute(&[conventions::INVOCATION_PARAMETERS]);
    let timed: Vec<&str> = conventions::TIME_TO_FIRST_TOKEN
        .iter()
        .chain(conventions::TIME_IN_QUEUE)
        .chain(conventions::TIME_IN_PREFILL)
        .chain(conventions::TIME_IN_DECODE)
        .chain(conventions::STREAMING)
        .copied()
        .collect();
    let (_, has_timing) = first_attribute(&timed);
    let events = conventions::FIRST_CHUNK_EVENTS
        .iter()
        .map(|e| regex_escape(e))
        .collect::<Vec<_>>()
        .join("|");
    let first_chunk = format!(
        "TRY_CAST(nullif(regexp_extract(events, '\"time_ns\":([0-9]+),\"name\":\"(?:{events})\"', 1), '') AS BIGINT) - start_ns"
    );
    let has_chunk = conventions::FIRST_CHUNK_EVENTS
        .iter()
        .map(|e| format!("events LIKE '%\"{e}\"%'"))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!(
        "ALTER TABLE llm_calls ADD COLUMN ttft_ns BIGINT;
         ALTER TABLE llm_calls ADD COLUMN queue_ns BIGINT;
         ALTER TABLE llm_calls ADD COLUMN prefill_ns BIGINT;
         ALTER TABLE llm_calls ADD COLUMN decode_ns BIGINT;
         ALTER TABLE llm_calls ADD COLUMN streamed BOOLEAN;
         UPDATE llm_calls c SET ttft_ns = s.ttft_ns, queue_ns = s.queue_ns,
             prefill_ns = s.prefill_ns, decode_ns = s.decode_ns,
             streamed = CASE WHEN s.first_chunk_ns >= 0 THEN TRUE ELSE s.streamed END
         FROM (SELECT trace_id, span_id, start_ns,
                      coalesce({ttft}, CASE WHEN first_chunk_ns >= 0 THEN first_chunk_ns END)
                          AS ttft_ns,
                      {queue} AS queue_ns, {prefill} AS prefill_ns, {decode} AS decode_ns,
                      coalesce(lower({streaming}) = 'true',
                               regexp_matches({params}, 'stream[^a-z0-9]+true')
                                   OR NULL) AS streamed,
                      first_chunk_ns
               FROM (SELECT *, {first_chunk} AS first_chunk_ns FROM spans
                     WHERE is_llm AND ({has_timing} OR {has_chunk}))) s
         WHERE c.trace_id = s.trace_id AND c.span_id = s.span_id AND c.start_ns = s.start_ns;",
        ttft = seconds(conventions::TIME_TO_FIRST_TOKEN),
        queue = seconds(conventions::TIME_IN_QUEUE),
        prefill = seconds(conventions::TIME_IN_PREFILL),
        decode = seconds(conventions::TIME_IN_DECODE),
    )
}

/// `text` with the regular-expression characters it may hold escaped (event names
/// hold dots and spaces).
fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

/// The evaluations table, and the calls' response id filled from their spans.
fn evaluations_sql() -> String {
    let (response_id, has_it) = first_attribute(conventions::RESPONSE_ID);
    format!(
        "{}
         ALTER TABLE llm_calls ADD COLUMN response_id VARCHAR;
         UPDATE llm_calls c SET response_id = s.response_id
         FROM (SELECT trace_id, span_id, start_ns, {response_id} AS response_id
               FROM spans WHERE is_llm AND ({has_it})) s
         WHERE c.trace_id = s.trace_id AND c.span_id = s.span_id AND c.start_ns = s.start_ns;",
        crate::evaluations::create_sql()
    )
}

/// Brings the database to [`SCHEMA_VERSION`], creating it when empty; `report` hears
/// of each step of an existing file before it runs.
pub fn migrate(conn: &Connection, report: &dyn Fn(Upgrade)) -> Result<(), StoreError> {
    let mut version = current_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let existing = version > 0;
    while version < SCHEMA_VERSION {
        let next = version + 1;
        let sql = migration(version);
        // A step that does nothing (its work moved to a later one) is not told.
        if existing && !sql.is_empty() {
            report(Upgrade {
                from: version,
                to: SCHEMA_VERSION,
                what: describe(version),
            });
        }
        let sql = format!(
            "BEGIN TRANSACTION; {sql} INSERT OR REPLACE INTO meta VALUES ('schema_version', '{next}'); COMMIT;",
        );
        if let Err(e) = conn.execute_batch(&sql) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(StoreError::Migration {
                to: next,
                detail: e.to_string(),
            });
        }
        version = next;
    }
    Ok(())
}

/// The version recorded in the file; 0 for a new, empty database.
fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        let others: i64 = conn.query_row(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'",
            [],
            |r| r.get(0),
        )?;
        if others > 0 {
            return Err(StoreError::ForeignDatabase);
        }
        return Ok(0);
    }
    let v: String = conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    v.parse().map_err(|_| StoreError::ForeignDatabase)
}

/// For read-only browsing: the file must be ours and not newer than this build; its
/// version says which columns the queries may read.
pub fn check_readable(conn: &Connection) -> Result<i64, StoreError> {
    match current_version(conn)? {
        0 => Err(StoreError::ForeignDatabase),
        v if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
            found: v,
            supported: SCHEMA_VERSION,
        }),
        v => Ok(v),
    }
}
