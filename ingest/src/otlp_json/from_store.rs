//! A stored trace back as an OTLP request, for "export trace": spans grouped by
//! resource and scope, attributes, events, links and status rebuilt from what the store
//! keeps, so that importing the export stores the same rows again.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AV;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::Value;
use store::{StatusCode, TraceTree};

/// The request holding every span of `tree`.
pub fn trace_request(tree: &TraceTree) -> Result<ExportTraceServiceRequest, String> {
    let trace_id = hex_bytes(&tree.trace_id, 16)?;
    let mut resources: Vec<ResourceSpans> = Vec::new();
    for s in &tree.spans {
        let resource_attrs = object_attributes(&s.resource_json, "resource")?;
        let ri = match resources.iter().position(|r| {
            r.resource
                .as_ref()
                .is_some_and(|x| x.attributes == resource_attrs)
        }) {
            Some(i) => i,
            None => {
                resources.push(ResourceSpans {
                    resource: Some(Resource {
                        attributes: resource_attrs,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                resources.len() - 1
            }
        };
        let scope_name = s.scope.clone().unwrap_or_default();
        let scopes = &mut resources[ri].scope_spans;
        let si = match scopes
            .iter()
            .position(|x| x.scope.as_ref().map(|sc| sc.name.as_str()) == Some(scope_name.as_str()))
        {
            Some(i) => i,
            None => {
                scopes.push(ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: scope_name,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                scopes.len() - 1
            }
        };
        let span = Span {
            trace_id: trace_id.clone(),
            span_id: hex_bytes(&s.span_id, 8)?,
            parent_span_id: match &s.parent_span_id {
                Some(p) => hex_bytes(p, 8)?,
                None => Vec::new(),
            },
            name: s.name.clone(),
            kind: s.kind,
            start_time_unix_nano: s.start_ns as u64,
            end_time_unix_nano: (s.start_ns + s.duration_ns) as u64,
            attributes: object_attributes(&s.attributes_json, "attributes")?,
            events: events(&s.events_json)?,
            links: links(&s.links_json)?,
            status: Some(Status {
                code: match s.status {
                    StatusCode::Unset => 0,
                    StatusCode::Ok => 1,
                    StatusCode::Error => 2,
                },
                message: s.status_message.clone().unwrap_or_default(),
            }),
            ..Default::default()
        };
        scopes[si].spans.push(span);
    }
    Ok(ExportTraceServiceRequest {
        resource_spans: resources,
    })
}

fn hex_bytes(hex: &str, len: usize) -> Result<Vec<u8>, String> {
    if hex.len() != len * 2 {
        return Err(format!("id {hex:?} is not {len} bytes of hex"));
    }
    (0..len)
        .map(|i| {
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| format!("id {hex:?}: {e}"))
        })
        .collect()
}

fn object_attributes(json: &str, what: &str) -> Result<Vec<KeyValue>, String> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(json).map_err(|e| format!("stored {what}: {e}"))? {
        Value::Object(map) => Ok(map
            .into_iter()
            .map(|(key, v)| KeyValue {
                key,
                value: any_value(v),
                ..Default::default()
            })
            .collect()),
        _ => Err(format!("stored {what} are not a JSON object")),
    }
}

fn any_value(v: Value) -> Option<AnyValue> {
    let value = match v {
        Value::Null => return None,
        Value::Bool(b) => AV::BoolValue(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => AV::IntValue(i),
            None => AV::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => AV::StringValue(s),
        Value::Array(items) => AV::ArrayValue(ArrayValue {
            values: items
                .into_iter()
                .map(|i| any_value(i).unwrap_or_default())
                .collect(),
        }),
        Value::Object(map) => AV::KvlistValue(KeyValueList {
            values: map
                .into_iter()
                .map(|(key, v)| KeyValue {
                    key,
                    value: any_value(v),
                    ..Default::default()
                })
                .collect(),
        }),
    };
    Some(AnyValue { value: Some(value) })
}

fn events(json: &str) -> Result<Vec<Event>, String> {
    let items: Vec<Value> =
        serde_json::from_str(json).map_err(|e| format!("stored events: {e}"))?;
    items
        .into_iter()
        .map(|e| {
            Ok(Event {
                time_unix_nano: e["time_ns"].as_u64().unwrap_or(0),
                name: e["name"].as_str().unwrap_or_default().to_string(),
                attributes: object_attributes(&e["attributes"].to_string(), "event attributes")?,
                ..Default::default()
            })
        })
        .collect()
}

fn links(json: &str) -> Result<Vec<Link>, String> {
    let items: Vec<Value> = serde_json::from_str(json).map_err(|e| format!("stored links: {e}"))?;
    items
        .into_iter()
        .map(|l| {
            Ok(Link {
                trace_id: hex_bytes(l["trace_id"].as_str().unwrap_or_default(), 16)?,
                span_id: hex_bytes(l["span_id"].as_str().unwrap_or_default(), 8)?,
                attributes: object_attributes(&l["attributes"].to_string(), "link attributes")?,
                ..Default::default()
            })
        })
        .collect()
}
