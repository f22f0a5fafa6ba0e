//! The dumps captured from real instrumentations import, and `stats --json` reports
//! exactly what each `*.truth.json` says; importing one twice changes nothing.

use crate::util::{Scratch, fixture, run, stderr, stdout};
use serde_json::Value;

fn stats(db: &str, extra: &[&str]) -> Value {
    let mut args = vec!["stats", "--db", db, "--json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "stats failed: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("stats --json prints one JSON object")
}

/// The truth file of a fixture dump, and the dump itself.
pub fn truth_and_dump(dump: &str) -> (Value, std::path::PathBuf) {
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{dump}.truth.json"))).unwrap(),
    )
    .unwrap();
    let file = std::fs::read_dir(std::path::Path::new(&fixture("")))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_stem().is_some_and(|s| s == dump)
                && !p.to_string_lossy().ends_with(".truth.json")
        })
        .unwrap();
    (truth, file)
}

fn check(dump: &str) {
    let (truth, file) = truth_and_dump(dump);
    let dir = Scratch::new(dump);
    let db = dir.path("t.duckdb");
    let out = run(&["import", "--db", &db, file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "import failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    let s = check_stats(dump, &db, &truth);

    // Importing again stores nothing new and changes no figure.
    let again = run(&["import", "--db", &db, file.to_str().unwrap()]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("0 stored"), "{}", stdout(&again));
    assert_eq!(stats(&db, &[]), s);
}

/// `stats --db DB` (a file or a ClickHouse URL) reports what the truth file says;
/// returns the figures.
pub fn check_stats(dump: &str, db: &str, truth: &Value) -> Value {
    let db = db.to_string();
    let s = stats(&db, &[]);
    assert_eq!(s["llm_calls"], truth["calls"], "{dump}: calls");
    assert_eq!(s["errors"], truth["errors"], "{dump}: errors");
    assert_eq!(
        s["input_tokens"], truth["input_tokens"],
        "{dump}: input tokens"
    );
    assert_eq!(
        s["output_tokens"], truth["output_tokens"],
        "{dump}: output tokens"
    );
    assert_eq!(
        s["cache_read_tokens"], truth["cached_tokens"],
        "{dump}: cache-read tokens"
    );
    // Each call sits under its own agent.step root: 2 spans and 1 trace per call.
    assert_eq!(s["spans"].as_u64(), truth["calls"].as_u64().map(|c| c * 2));
    assert_eq!(s["traces"], truth["calls"]);
    // One row per model asked for, with the snapshots that served it.
    let models = s["models"].as_array().unwrap();
    let expected = truth["models_by_request"].as_object().unwrap();
    assert_eq!(models.len(), expected.len(), "{dump}: models {models:?}");
    for (name, t) in expected {
        let m = models
            .iter()
            .find(|m| m["model"] == name.as_str())
            .unwrap_or_else(|| panic!("{dump}: model {name} missing"));
        for k in ["calls", "errors", "input_tokens", "output_tokens", "served"] {
            assert_eq!(m[k], t[k], "{dump}: {name} {k}");
        }
    }
    // A served snapshot's name selects its model's calls too.
    let (name, t) = expected.iter().next().unwrap();
    let snapshot = t["served"][0].as_str().unwrap();
    let by_snapshot = stats(&db, &["--model", snapshot]);
    assert_eq!(
        by_snapshot["llm_calls"].as_u64().unwrap(),
        t["calls"].as_u64().unwrap() - t["errors"].as_u64().unwrap(),
        "{dump}: --model {snapshot} selects the calls {name} answered as {snapshot}"
    );
    // All the fixtures' models have bundled prices: nothing is silently priced at 0.
    assert_eq!(s["unpriced_calls"], 0);
    assert!(s["cost_usd"].as_f64().unwrap() > 0.0);

    // A model filter selects that model's figures.
    let (name, t) = expected.iter().next().unwrap();
    let one = stats(&db, &["--model", name]);
    assert_eq!(one["llm_calls"], t["calls"]);
    s
}

#[test]
fn openinference_dump_reports_the_truth() {
    check("openinference-openai");
}

#[test]
fn openllmetry_dump_reports_the_truth() {
    check("openllmetry-openai");
}

#[test]
fn legacy_genai_protobuf_dump_reports_the_truth() {
    check("legacy-genai");
}

/// `vllm-server.jsonl`: three `llm_request` spans as vLLM's OpenTelemetry tracing writes
/// them (attributes as vLLM's `SpanAttributes` name them: `gen_ai.latency.time_in_queue`,
/// `…time_to_first_token`, `…time_in_model_prefill`, `…time_in_model_decode`, `…e2e`,
/// the old `gen_ai.usage.*_tokens`, the response model only). Imported, each call keeps
/// the server's phases and its duration splits into them; `stats` reports the time to
/// first token the server measured.
#[test]
fn vllm_server_spans_show_their_phases() {
    // (queue, prefill, time to first token, decode, end to end) in seconds, as written.
    let written = [
        (0.050, 0.200, 0.250, 1.500, 1.800),
        (1.200, 0.400, 1.600, 2.000, 3.700),
        (0.010, 0.050, 0.060, 0.500, 0.580),
    ];
    let dir = Scratch::new("vllm");
    let db = dir.path("t.duckdb");
    let file = fixture("vllm-server.jsonl");
    let out = run(&["import", "--db", &db, &file]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let s = stats(&db, &[]);
    assert_eq!(s["llm_calls"], 3);
    assert_eq!(s["models"][0]["model"], "meta-llama/Llama-3.1-8B-Instruct");
    assert_eq!(s["input_tokens"], 812 + 2048 + 95);
    assert_eq!(s["time_to_first_token"]["calls"], 3);
    // The median of 250, 1600 and 60 ms (within the sketches' 1 % where they answer).
    let p50 = s["time_to_first_token"]["ms"]["p50"].as_f64().unwrap();
    assert!((p50 - 250.0).abs() <= 2.5, "{p50}");

    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let ms = |s: f64| (s * 1e9_f64).round() as i64;
    for (i, (queue, prefill, ttft, decode, e2e)) in written.into_iter().enumerate() {
        let id = 0xa11ce000u128 + i as u128;
        let tree = r.traces(&[id]).unwrap().remove(0);
        let call = &tree.spans[0];
        assert_eq!(call.duration_ns, ms(e2e), "request {i}");
        assert_eq!(call.timing.ttft_ns, Some(ms(ttft)), "request {i}");
        let phases = call.phases().expect("the server's phases");
        assert_eq!(phases.queue_ns, ms(queue), "request {i}");
        assert_eq!(phases.first_token_ns, ms(prefill), "request {i}");
        assert_eq!(phases.decode_ns, ms(decode), "request {i}");
        assert_eq!(
            phases.other_ns,
            ms(e2e) - ms(queue) - ms(prefill) - ms(decode),
            "request {i}: the rest of the duration"
        );
    }
}
