//! Evaluations from a real pipeline: the OpenTelemetry Python SDK's LoggerProvider
//! sends `gen_ai.evaluation.result` events for calls traced by a real instrumentation,
//! some before the calls' spans arrive and some after, some naming their call only by
//! its response id, one twice; each turn's span carries an OpenInference trace
//! annotation. Every result lands once on its call (`export --what evaluations`), and
//! the `eval:` conditions select exactly the calls the results say. Through
//! `serve --clickhouse`, the results and the conditions read the Collector's tables
//! the same.

use crate::clickhouse_front::Front;
use crate::collector::Collector;
use crate::live_clients::run_script;
use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;

fn calls_matching(db: &str, query: &str) -> Vec<String> {
    let out = run(&[
        "calls", "--db", db, "--query", query, "--json", "--limit", "1000",
    ]);
    assert!(out.status.success(), "{query}: {}", stderr(&out));
    let mut spans: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["span_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    spans.sort();
    spans
}

/// Sends the script's calls and results over `protocol` to `serve` writing into a new
/// local database, or into `clickhouse`'s database of that name; checks what is read back.
fn evaluated(protocol: &str, clickhouse: Option<&Front>) {
    let dir = Scratch::new(&format!("evaluations-{protocol}"));
    let (db, collector) = match clickhouse {
        None => {
            let db = dir.path("evaluated.duckdb");
            let collector = Collector::start(&db, &[]);
            (db, collector)
        }
        Some(front) => {
            let url = front.url(&format!("evaluated_{protocol}"));
            let collector = Collector::start_into(
                crate::util::bin(),
                &["--clickhouse", &url, "--create-tables"],
                &["--no-alerts"],
                std::process::Stdio::inherit(),
            );
            (url, collector)
        }
    };
    let endpoint = if protocol == "grpc" {
        collector.grpc.clone()
    } else {
        collector.http.clone()
    };
    let truth = run_script(
        "evaluate_calls.py",
        &["--endpoint", &endpoint, "--protocol", protocol],
    );
    assert!(collector.stop().success());
    assert_eq!(truth["flushed"], true);
    let sent = truth["results"].as_array().unwrap();
    assert_eq!(sent.len(), 12, "one result per call");
    assert!(sent.iter().any(|r| r["by_response_id"] == true));

    let file = dir.path("evaluations.json");
    let out = run(&[
        "export",
        "--db",
        &db,
        "--what",
        "evaluations",
        "--format",
        "json",
        "--out",
        &file,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stored: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let relevance: Vec<&Value> = stored.iter().filter(|e| e["name"] == "relevance").collect();
    assert_eq!(
        relevance.len(),
        sent.len(),
        "each result once, the one sent twice too"
    );
    for r in sent {
        let on_call: Vec<&&Value> = relevance
            .iter()
            .filter(|e| e["span_id"] == r["span_id"] && e["trace_id"] == r["trace_id"])
            .collect();
        assert_eq!(on_call.len(), 1, "{r} landed on its call: {relevance:?}");
        let e = on_call[0];
        assert_eq!(e["score"].as_f64(), r["score"].as_f64(), "{r}");
        assert_eq!(e["label"], r["label"], "{r}");
        assert_eq!(e["model"], r["model"], "{r}: joined to its call");
        assert_eq!(e["target"], "span");
    }
    let done = truth["task_done"].as_object().unwrap();
    let annotations: Vec<&Value> = stored.iter().filter(|e| e["name"] == "task_done").collect();
    assert_eq!(annotations.len(), done.len());
    for a in &annotations {
        assert_eq!(a["target"], "trace");
        assert_eq!(a["annotator"], "HUMAN");
        let trace = a["trace_id"].as_str().unwrap();
        assert_eq!(a["score"].as_f64(), done[trace].as_f64(), "{trace}");
    }

    // The conditions select exactly the calls the results judge.
    let mut low: Vec<String> = sent
        .iter()
        .filter(|r| r["score"].as_f64().unwrap() < 0.5)
        .map(|r| r["span_id"].as_str().unwrap().to_string())
        .collect();
    low.sort();
    assert!(!low.is_empty() && low.len() < sent.len());
    assert_eq!(calls_matching(&db, "eval:relevance<0.5"), low);
    let mut relevant: Vec<String> = sent
        .iter()
        .filter(|r| r["label"] == "relevant")
        .map(|r| r["span_id"].as_str().unwrap().to_string())
        .collect();
    relevant.sort();
    assert_eq!(calls_matching(&db, "eval:relevance=relevant"), relevant);
    let finished = done.values().filter(|s| s.as_f64() == Some(1.0)).count();
    assert_eq!(calls_matching(&db, "eval:task_done>=1").len(), finished);
}

#[test]
fn evaluation_events_from_the_python_sdk_land_on_their_calls_over_grpc() {
    evaluated("grpc", None);
}

#[test]
fn evaluation_events_from_the_python_sdk_land_on_their_calls_over_http() {
    evaluated("http", None);
}

#[test]
fn evaluation_events_through_serve_into_clickhouse_read_back_on_their_calls() {
    let front = Front::start("evaluations", None);
    evaluated("grpc", Some(&front));
}
