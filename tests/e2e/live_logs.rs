//! GenAI events sent as OTLP log records complete their span's prompt and response,
//! whichever signal arrives first; metric points are stored.

use crate::collector::Collector;
use crate::util::Scratch;
use serde_json::json;

fn span_json(trace: &str, span: &str) -> serde_json::Value {
    json!({ "resourceSpans": [{ "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "events-app" } }] },
        "scopeSpans": [{ "spans": [{ "traceId": trace, "spanId": span, "name": "chat gpt-4o", "kind": 3,
            "startTimeUnixNano": "1790000000000000000", "endTimeUnixNano": "1790000000900000000",
            "attributes": [
                { "key": "gen_ai.operation.name", "value": { "stringValue": "chat" } },
                { "key": "gen_ai.request.model", "value": { "stringValue": "gpt-4o" } },
                { "key": "gen_ai.usage.input_tokens", "value": { "intValue": "12" } }
            ] }] }] }] })
}

fn logs_json(trace: &str, span: &str) -> serde_json::Value {
    let record = |name: &str, body: serde_json::Value, t: &str| {
        json!({
            "timeUnixNano": t, "traceId": trace, "spanId": span, "eventName": name, "body": body
        })
    };
    json!({ "resourceLogs": [{ "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "events-app" } }] },
        "scopeLogs": [{ "logRecords": [
            record("gen_ai.system.message", json!({ "kvlistValue": { "values": [{ "key": "content", "value": { "stringValue": "Be terse." } }] } }), "1790000000000000001"),
            record("gen_ai.user.message", json!({ "kvlistValue": { "values": [{ "key": "content", "value": { "stringValue": "What is a haiku?" } }] } }), "1790000000000000002"),
            record("gen_ai.choice", json!({ "kvlistValue": { "values": [
                { "key": "index", "value": { "intValue": "0" } },
                { "key": "message", "value": { "kvlistValue": { "values": [{ "key": "content", "value": { "stringValue": "Five, seven, five." } }] } } }
            ] } }), "1790000000000000003")
        ] }] }] })
}

async fn post(base: &str, path: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

#[test]
fn genai_log_events_complete_the_call_in_either_order() {
    let dir = Scratch::new("genai-logs");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &[]);
    let http = collector.http.clone();
    let (a_trace, a_span) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    let (b_trace, b_span) = ("1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331");
    tokio::runtime::Runtime::new().unwrap().block_on(async move {
        // Span first, then its events.
        post(&http, "/v1/traces", span_json(a_trace, a_span)).await;
        post(&http, "/v1/logs", logs_json(a_trace, a_span)).await;
        // Events first, then the span.
        post(&http, "/v1/logs", logs_json(b_trace, b_span)).await;
        post(&http, "/v1/traces", span_json(b_trace, b_span)).await;
        post(&http, "/v1/metrics", json!({ "resourceMetrics": [{ "scopeMetrics": [{ "metrics": [{
            "name": "gen_ai.client.token.usage", "unit": "{token}",
            "histogram": { "aggregationTemporality": 2, "dataPoints": [{
                "startTimeUnixNano": "1790000000000000000", "timeUnixNano": "1790000060000000000",
                "count": "2", "sum": 24, "bucketCounts": ["0", "2"], "explicitBounds": [10],
                "attributes": [{ "key": "gen_ai.token.type", "value": { "stringValue": "input" } }] }] } }] }] }] })).await;
    });
    assert!(collector.stop().success());
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let (calls, total) = r
        .calls_page(
            &store::Filter::default(),
            store::CallSort::Start,
            store::SortDir::Asc,
            0,
            10,
        )
        .unwrap();
    assert_eq!(total, 2);
    for c in &calls {
        assert_eq!(
            c.prompt_excerpt.as_deref(),
            Some("system: Be terse.\n\nuser: What is a haiku?"),
            "{}",
            c.trace_id
        );
        assert_eq!(
            c.response_excerpt.as_deref(),
            Some("Five, seven, five."),
            "{}",
            c.trace_id
        );
    }
    let metrics = r.metric_names().unwrap();
    assert_eq!(metrics, vec![("gen_ai.client.token.usage".to_string(), 1)]);
}

/// Dumps of logs and metrics import as their live requests do: the Collector's file
/// exporter writes each signal to its own file, and the GenAI events of a logs dump
/// complete the calls of a traces dump, whichever file comes first.
#[test]
fn logs_and_metrics_dumps_import_beside_the_traces() {
    let dir = Scratch::new("signal-dumps");
    let db = dir.path("dumps.duckdb");
    let (trace, span) = ("2af7651916cd43dd8448eb211c80319c", "d7ad6b7169203331");
    let write = |name: &str, lines: &[serde_json::Value]| {
        let path = dir.path(name);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        std::fs::write(&path, text.join("\n") + "\n").unwrap();
        path
    };
    // The same request twice (an exporter's retry): its records are stored once.
    let logs = write(
        "logs.jsonl",
        &[logs_json(trace, span), logs_json(trace, span)],
    );
    let traces = write("traces.jsonl", &[span_json(trace, span)]);
    let metrics = write(
        "metrics.jsonl",
        &[
            json!({ "resourceMetrics": [{ "scopeMetrics": [{ "metrics": [{
            "name": "gen_ai.client.operation.duration", "unit": "s",
            "gauge": { "dataPoints": [{ "timeUnixNano": "1790000060000000000", "asDouble": 0.5 }] } }] }] }] }),
        ],
    );
    let out = crate::util::run(&["import", "--db", &db, &logs, &traces, &metrics]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let said = crate::util::stdout(&out);
    assert!(said.contains("1 spans read, 1 stored"), "{said}");
    assert!(
        said.contains("and 3 log records, 1 metric points stored"),
        "{said}"
    );
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let (calls, _) = r
        .calls_page(
            &store::Filter::default(),
            store::CallSort::Start,
            store::SortDir::Asc,
            0,
            10,
        )
        .unwrap();
    assert_eq!(
        calls[0].response_excerpt.as_deref(),
        Some("Five, seven, five."),
        "the events of the logs dump completed the call"
    );
    assert_eq!(
        r.metric_names().unwrap(),
        vec![("gen_ai.client.operation.duration".to_string(), 1)]
    );
    drop(r);
    drop(store);
    // Imported again, the logs dump adds nothing, and the call's texts stay single.
    let out = crate::util::run(&["import", "--db", &db, &logs]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(
        !crate::util::stdout(&out).contains("log records"),
        "{}",
        crate::util::stdout(&out)
    );
    let store = store::Store::open(std::path::Path::new(&db), store::OpenMode::ReadOnly).unwrap();
    let (calls, _) = store
        .reader()
        .unwrap()
        .calls_page(
            &store::Filter::default(),
            store::CallSort::Start,
            store::SortDir::Asc,
            0,
            10,
        )
        .unwrap();
    assert_eq!(
        calls[0].response_excerpt.as_deref(),
        Some("Five, seven, five.")
    );
    drop(store);
    // A file of something else is still refused, saying what an OTLP request holds.
    let other = write("other.jsonl", &[json!({ "hello": "world" })]);
    let out = crate::util::run(&["import", "--db", &db, &other]);
    assert!(!out.status.success());
    assert!(
        crate::util::stderr(&out)
            .contains("no \"resourceSpans\", \"resourceLogs\" or \"resourceMetrics\""),
        "{}",
        crate::util::stderr(&out)
    );
}
