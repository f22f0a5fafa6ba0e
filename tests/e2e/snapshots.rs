//! `snapshot`: a selection saved as a small database to share. It holds exactly the
//! selection's traces (whole), their log records and evaluations, the metric points and
//! notes of its range, figures its costs with the
//! prices in force where it was saved, reads the same figures as the source for the
//! same filter, and refuses to overwrite a file or the source itself.

use crate::query_api::{assert_same, cli};
use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;
use std::collections::BTreeSet;

fn ids(page: &Value) -> BTreeSet<String> {
    page["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap().to_string())
        .collect()
}

/// An OTLP JSON request of one gpt-4o call of trace `trace` at Unix second `at`.
fn otlp_call(trace: &str, at: u64) -> Value {
    let ns = |s: u64| (s * 1_000_000_000).to_string();
    serde_json::json!({ "resourceSpans": [{ "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "events-app" } }] },
        "scopeSpans": [{ "spans": [{ "traceId": trace, "spanId": "d7ad6b7169203331", "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": ns(at), "endTimeUnixNano": ns(at + 1),
            "attributes": [
                { "key": "gen_ai.operation.name", "value": { "stringValue": "chat" } },
                { "key": "gen_ai.request.model", "value": { "stringValue": "gpt-4o" } },
                { "key": "gen_ai.usage.input_tokens", "value": { "intValue": "12" } }
            ] }] }] }] })
}

/// Its prompt and answer as three GenAI log records.
fn otlp_logs(trace: &str, at: u64) -> Value {
    let record = |name: &str, text: &str, k: u64| {
        serde_json::json!({ "timeUnixNano": (at * 1_000_000_000 + k).to_string(), "traceId": trace, "spanId": "d7ad6b7169203331",
            "eventName": name, "body": { "kvlistValue": { "values": [{ "key": "content", "value": { "stringValue": text } }] } } })
    };
    serde_json::json!({ "resourceLogs": [{ "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "events-app" } }] },
        "scopeLogs": [{ "logRecords": [
            record("gen_ai.system.message", "Be terse.", 1),
            record("gen_ai.user.message", "What is a haiku?", 2),
            record("gen_ai.assistant.message", "Five, seven, five.", 3)
        ] }] }] })
}

/// A gauge point at Unix second `at`.
fn otlp_metric(at: u64) -> Value {
    serde_json::json!({ "resourceMetrics": [{ "scopeMetrics": [{ "metrics": [{
        "name": "gen_ai.client.operation.duration", "unit": "s",
        "gauge": { "dataPoints": [{ "timeUnixNano": (at * 1_000_000_000).to_string(), "asDouble": 0.5 }] } }] }] }] })
}

#[test]
fn a_snapshot_holds_the_selection_alone_with_its_figures() {
    let dir = Scratch::new("snapshot");
    let db = dir.path("demo.duckdb");
    crate::util::demo_db(&db, &["--end", "2026-12-01"]);
    // A call with its log records and a metric point inside the selection, the same
    // outside it.
    let mut lines = Vec::new();
    for (trace, at) in [
        ("2af7651916cd43dd8448eb211c80319c", 1_795_867_200u64),
        ("3bf7651916cd43dd8448eb211c80319d", 1_795_608_000),
    ] {
        lines.push(otlp_call(trace, at));
        lines.push(otlp_logs(trace, at));
        lines.push(otlp_metric(at));
    }
    let extra = dir.path("extra.jsonl");
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    std::fs::write(&extra, text.join("\n") + "\n").unwrap();
    let out = run(&["import", "--db", &db, &extra]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (text, at) in [
        ("inside", "2026-11-28T12:00:00Z"),
        ("outside", "2026-11-25T12:00:00Z"),
    ] {
        let out = run(&["annotate", "--db", &db, text, "--from", at]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A price of the source's own, which the snapshot must carry.
    let prices = dir.path("prices.toml");
    std::fs::write(
        &prices,
        "[models.\"gpt-4o-mini\"]\ninput = 7.0\noutput = 21.0\n",
    )
    .unwrap();
    let selection = [
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-29",
        "--model",
        "gpt-4o*",
    ];
    let source = |args: &[&str]| {
        cli(&[
            args,
            &selection,
            &["--db", &db, "--prices", &prices, "--json"],
        ]
        .concat())
    };
    let truth = source(&["stats"]);
    let traces = source(&["traces", "--limit", "1000"]);
    assert!(truth["llm_calls"].as_u64().unwrap() > 0);
    let everything = cli(&["stats", "--db", &db, "--json"]);
    assert!(everything["traces"].as_u64() > truth["traces"].as_u64());

    let snap = dir.path("share.duckdb");
    let mut args = vec![
        "snapshot", "--db", &db, "--prices", &prices, "--out", &snap, "--view", "models",
    ];
    args.extend(selection);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("opening on Models"),
        "{}",
        stdout(&out)
    );
    let bytes = std::fs::metadata(&snap).unwrap().len();
    assert!(
        bytes < std::fs::metadata(&db).unwrap().len(),
        "a snapshot is smaller than its source"
    );
    // Nothing beside it but the file itself (no partial file, no stray index).
    let beside: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !beside
            .iter()
            .any(|n| n.to_string_lossy().contains("partial")),
        "{beside:?}"
    );

    // Exactly the selection's traces, every span of them.
    let mine = cli(&["traces", "--db", &snap, "--limit", "1000", "--json"]);
    assert_eq!(ids(&mine), ids(&traces));
    let spans: u64 = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["spans"].as_u64().unwrap())
        .sum();
    let whole = cli(&["stats", "--db", &snap, "--json"]);
    assert_eq!(whole["spans"], spans);
    // The same figures for the same filter, priced as saved (no --prices here).
    let again = cli(&[&["stats"][..], &selection, &["--db", &snap, "--json"]].concat());
    assert_same("stats", &again, &truth);
    let bundled = cli(&[&["stats"][..], &selection, &["--db", &db, "--json"]].concat());
    assert!(
        again["cost_usd"].as_f64() != bundled["cost_usd"].as_f64(),
        "the saved prices differ from the bundled ones"
    );
    // Every evaluation about the selection's calls, the log records of its traces and
    // the metric points of its range, and none of the others.
    let exported = |db: &str, what: &str, selection: &[&str]| -> Vec<Value> {
        let out = dir.path(&format!("{what}-{}.json", db.len() + selection.len()));
        let done = run(&[
            &[
                "export", "--db", db, "--what", what, "--format", "json", "--out", &out,
            ][..],
            selection,
        ]
        .concat());
        assert!(done.status.success(), "{}", stderr(&done));
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    let judged = exported(&db, "evaluations", &selection);
    assert!(!judged.is_empty(), "the demo's calls are judged");
    assert_eq!(
        exported(&snap, "evaluations", &selection).len(),
        judged.len()
    );
    let held = exported(&snap, "evaluations", &[]);
    let selected = ids(&traces);
    assert!(held.len() >= judged.len());
    for e in &held {
        let trace = e["trace_id"].as_str().unwrap_or_default();
        assert!(
            selected.contains(trace),
            "an evaluation of another trace: {e}"
        );
    }
    let said = stdout(&out);
    assert!(
        said.contains(" 3 log records, ") && said.contains(" 1 metric points, "),
        "{said}"
    );
    // The note inside the range came along, the one outside did not.
    let notes = stdout(&run(&["annotate", "--db", &snap, "--json"]));
    assert!(
        notes.contains("inside") && !notes.contains("outside"),
        "{notes}"
    );

    // Refusals: an existing file, the source itself, a view there is none of.
    let again = run(&["snapshot", "--db", &db, "--out", &snap, "--last", "1h"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("exists; choose another name, or replace it (--force)"),
        "{}",
        stderr(&again)
    );
    let onto = run(&["snapshot", "--db", &db, "--out", &db, "--force"]);
    assert!(!onto.status.success());
    assert!(stderr(&onto).contains("open database"), "{}", stderr(&onto));
    let view = run(&[
        "snapshot",
        "--db",
        &db,
        "--out",
        &dir.path("x.duckdb"),
        "--view",
        "charts",
    ]);
    assert!(
        stderr(&view).contains("--view \"charts\": use one of Overview"),
        "{}",
        stderr(&view)
    );
    let forced = run(&[
        "snapshot",
        "--db",
        &db,
        "--out",
        &snap,
        "--force",
        "--query",
        "status:error",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(
        stdout(&forced).contains("opening on Inspector"),
        "{}",
        stdout(&forced)
    );
}
