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
