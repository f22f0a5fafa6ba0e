//! What the store's tests build their rows from: a fixed clock and a plain span; and
//! files as earlier releases left them. Each test file uses part of it.
#![allow(dead_code)]

use store::SpanRow;

/// The tests' time origin, Unix ns (2027-01-15).
pub const T0: i64 = 1_800_000_000_000_000_000;
/// A millisecond in ns.
pub const MS: i64 = 1_000_000;

/// Span `span` of trace `trace` (each id its byte repeated), under `parent`, starting
/// `start_ms` after [`T0`] and lasting `dur_ms`, of service `svc`, with no attributes.
pub fn span(trace: u8, span: u8, parent: Option<u8>, start_ms: i64, dur_ms: i64) -> SpanRow {
    SpanRow {
        trace_id: [trace; 16],
        span_id: [span; 8],
        parent_span_id: parent.map(|p| [p; 8]),
        name: format!("span-{trace}-{span}"),
        kind: 1,
        start_ns: T0 + start_ms * MS,
        end_ns: T0 + (start_ms + dur_ms) * MS,
        service: "svc".into(),
        attributes_json: "{}".into(),
        resource_json: "{}".into(),
        events_json: "[]".into(),
        links_json: "[]".into(),
        ..SpanRow::default()
    }
}

/// Makes the database at `path` look as the release writing schema `version` left it:
/// undoes, newest first, what each later migration added (its data stays), then
/// records the version. Tests open such a file to check it is brought forward.
pub fn as_written_by_schema(path: &std::path::Path, version: i64) {
    // What migration `v - 1 -> v` added, undone.
    let undo = |v: i64| {
        match v {
        16 => "DELETE FROM meta WHERE key = 'traces_unmerged_from';",
        15 => {
            "ALTER TABLE traces DROP COLUMN cost_usd;
             DELETE FROM meta WHERE key = 'trace_cost_prices';"
        }
        14 => "DROP TABLE time_annotations;",
        13 => {
            "ALTER TABLE llm_calls DROP COLUMN pattern_id; DROP TABLE prompt_patterns;
             DELETE FROM meta WHERE key = 'prompt_patterns_backfill';"
        }
        12 => "ALTER TABLE metric_points DROP COLUMN temporality;",
        11 => {
            "ALTER TABLE llm_calls DROP COLUMN ttft_ns; ALTER TABLE llm_calls DROP COLUMN queue_ns;
             ALTER TABLE llm_calls DROP COLUMN prefill_ns; ALTER TABLE llm_calls DROP COLUMN decode_ns;
             ALTER TABLE llm_calls DROP COLUMN streamed; DROP TABLE ttft_hours;"
        }
        10 => {
            "DROP TABLE agent_runs; DROP TABLE agent_run_spend;
             DROP TABLE agent_hours; DROP TABLE agent_spend_hours;
             DROP TABLE tool_hours; DROP TABLE tool_agents; DROP TABLE trace_spend;
             ALTER TABLE traces DROP COLUMN first_call; DROP TABLE eval_hours;"
        }
        9 => {
            "DROP TABLE evaluations; DROP TABLE evaluations_waiting;
             ALTER TABLE llm_calls DROP COLUMN response_id;"
        }
        8 => {
            "ALTER TABLE spans DROP COLUMN session_id; ALTER TABLE spans DROP COLUMN user_id;
             ALTER TABLE spans DROP COLUMN entity;
             ALTER TABLE traces DROP COLUMN session_id; ALTER TABLE traces DROP COLUMN user_id;"
        }
        7 => "DROP TABLE traces;",
        6 => "DROP TABLE call_minutes; DROP TABLE latency_hours;",
        3 => "ALTER TABLE spans DROP COLUMN class;",
        // 4 -> 5 rewrote the tables without primary keys and 3 -> 4 regrouped calls by
        // the model asked for: files without either read the same to the migrations.
        _ => "",
    }
    };
    let mut sql = String::new();
    for v in (version + 1..=store::SCHEMA_VERSION).rev() {
        sql.push_str(undo(v));
    }
    sql.push_str(&format!(
        "UPDATE meta SET value = '{version}' WHERE key = 'schema_version';"
    ));
    duckdb::Connection::open(path)
        .unwrap()
        .execute_batch(&sql)
        .unwrap();
}

/// A small deterministic generator (PCG-style), so that a failing seed can be rerun.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 17
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
