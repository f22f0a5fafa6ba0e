//! Writes trace requests as OTLP JSON the way the spec and the Collector do: camelCase
//! keys, lower-case hex ids, enums and 64-bit integers as the spec encodes them.

use base64::Engine;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use serde_json::{Map, Value, json};

/// One request as a single line of OTLP JSON.
pub fn traces_to_json(req: &ExportTraceServiceRequest) -> String {
    let resource_spans: Vec<Value> = req
        .resource_spans
        .iter()
        .map(|rs| {
            let scope_spans: Vec<Value> = rs
                .scope_spans
                .iter()
                .map(|ss| {
                    let scope = ss.scope.as_ref().map(|s| {
                        let mut o = Map::new();
                        o.insert("name".into(), json!(s.name));
                        if !s.version.is_empty() {
                            o.insert("version".into(), json!(s.version));
                        }
                        if !s.attributes.is_empty() {
                            o.insert("attributes".into(), attributes(&s.attributes));
                        }
                        Value::Object(o)
                    });
                    let spans: Vec<Value> = ss
                        .spans
                        .iter()
                        .map(|s| {
                            let mut o = Map::new();
                            o.insert("traceId".into(), json!(hex(&s.trace_id)));
                            o.insert("spanId".into(), json!(hex(&s.span_id)));
                            if !s.trace_state.is_empty() {
                                o.insert("traceState".into(), json!(s.trace_state));
                            }
                            if !s.parent_span_id.is_empty() {
                                o.insert("parentSpanId".into(), json!(hex(&s.parent_span_id)));
                            }
                            if s.flags != 0 {
                                o.insert("flags".into(), json!(s.flags));
                            }
                            o.insert("name".into(), json!(s.name));
                            o.insert("kind".into(), json!(s.kind));
                            o.insert(
                                "startTimeUnixNano".into(),
                                json!(s.start_time_unix_nano.to_string()),
                            );
                            o.insert(
                                "endTimeUnixNano".into(),
                                json!(s.end_time_unix_nano.to_string()),
                            );
                            if !s.attributes.is_empty() {
                                o.insert("attributes".into(), attributes(&s.attributes));
                            }
                            if !s.events.is_empty() {
                                let events: Vec<Value> = s
                                    .events
                                    .iter()
                                    .map(|e| {
                                        json!({
                                            "timeUnixNano": e.time_unix_nano.to_string(),
                                            "name": e.name,
                                            "attributes": attributes(&e.attributes),
                                        })
                                    })
                                    .collect();
                                o.insert("events".into(), Value::Array(events));
                            }
                            if !s.links.is_empty() {
                                let links: Vec<Value> = s
                                    .links
                                    .iter()
                                    .map(|l| {
                                        json!({
                                            "traceId": hex(&l.trace_id),
                                            "spanId": hex(&l.span_id),
                                            "attributes": attributes(&l.attributes),
                                        })
                                    })
                                    .collect();
                                o.insert("links".into(), Value::Array(links));
                            }
                            let status = s.status.clone().unwrap_or_default();
                            let mut st = Map::new();
                            if !status.message.is_empty() {
                                st.insert("message".into(), json!(status.message));
                            }
                            if status.code != 0 {
                                st.insert("code".into(), json!(status.code));
                            }
                            o.insert("status".into(), Value::Object(st));
                            Value::Object(o)
                        })
                        .collect();
                    let mut o = Map::new();
                    if let Some(scope) = scope {
                        o.insert("scope".into(), scope);
                    }
                    o.insert("spans".into(), Value::Array(spans));
                    Value::Object(o)
                })
                .collect();
            let resource = rs
                .resource
                .as_ref()
                .map(|r| attributes(&r.attributes))
                .unwrap_or(Value::Array(vec![]));
            json!({ "resource": { "attributes": resource }, "scopeSpans": scope_spans })
        })
        .collect();
    json!({ "resourceSpans": resource_spans }).to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attributes(kvs: &[KeyValue]) -> Value {
    Value::Array(
        kvs.iter()
            .map(|kv| json!({ "key": kv.key, "value": any_value(kv.value.as_ref()) }))
            .collect(),
    )
}

fn any_value(v: Option<&AnyValue>) -> Value {
    match v.and_then(|v| v.value.as_ref()) {
        None => json!({}),
        Some(any_value::Value::StringValue(s)) => json!({ "stringValue": s }),
        Some(any_value::Value::BoolValue(b)) => json!({ "boolValue": b }),
        Some(any_value::Value::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(any_value::Value::DoubleValue(d)) if d.is_finite() => json!({ "doubleValue": d }),
        Some(any_value::Value::DoubleValue(d)) => json!({
            "doubleValue": if d.is_nan() { "NaN" } else if *d > 0.0 { "Infinity" } else { "-Infinity" }
        }),
        Some(any_value::Value::ArrayValue(a)) => {
            json!({ "arrayValue": { "values": a.values.iter().map(|v| any_value(Some(v))).collect::<Vec<_>>() } })
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            json!({ "kvlistValue": { "values": attributes_list(&kv.values) } })
        }
        Some(any_value::Value::BytesValue(b)) => {
            json!({ "bytesValue": base64::engine::general_purpose::STANDARD.encode(b) })
        }
        #[allow(unreachable_patterns)]
        Some(_) => json!({}),
    }
}

fn attributes_list(kvs: &[KeyValue]) -> Vec<Value> {
    match attributes(kvs) {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}
