//! OTLP spans in the OpenTelemetry Collector's ClickHouse row layout, exactly as its
//! `clickhouseexporter` writes them: hex ids, the start as `Timestamp`, the duration in
//! ns, kind and status in the proto's spelling (`SPAN_KIND_CLIENT`,
//! `STATUS_CODE_ERROR`), and every attribute value as text the way the Collector's
//! `pcommon.Value.AsString` renders it (integers in decimal, doubles without exponent,
//! arrays and maps as JSON with sorted keys, bytes in base64).

use crate::normalize::{normalize_span, span_count};
use base64::Engine;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::trace::v1::{Span, Status, span};
use store::{CollectorEvent, CollectorLink, CollectorSpan, SpanRow};

/// Every span of a request as Collector rows.
pub fn collector_spans(req: &ExportTraceServiceRequest) -> Vec<CollectorSpan> {
    collector_spans_except(req, &[])
}

/// The spans of a request as Collector rows, but those at the `(resource, scope,
/// span)` positions given (the ones normalization refused, so that a ClickHouse gets
/// what a local database would).
pub fn collector_spans_except(
    req: &ExportTraceServiceRequest,
    refused: &[(usize, usize, usize)],
) -> Vec<CollectorSpan> {
    let mut out = Vec::with_capacity(span_count(req));
    for (ri, rs) in req.resource_spans.iter().enumerate() {
        let resource = rs
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let resource_attributes = pairs(resource);
        // The exporter reads `service.name` as a string value only.
        let service = resource
            .iter()
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let (scope_name, scope_version) = ss
                .scope
                .as_ref()
                .map(|s| (s.name.clone(), s.version.clone()))
                .unwrap_or_default();
            for (pi, span) in ss.spans.iter().enumerate() {
                if refused.contains(&(ri, si, pi)) {
                    continue;
                }
                out.push(row(
                    span,
                    &service,
                    &resource_attributes,
                    &scope_name,
                    &scope_version,
                ));
            }
        }
    }
    out
}

fn row(
    span: &Span,
    service: &str,
    resource: &[(String, String)],
    scope_name: &str,
    scope_version: &str,
) -> CollectorSpan {
    let status = span.status.clone().unwrap_or_default();
    CollectorSpan {
        start_ns: span.start_time_unix_nano as i64,
        trace_id: hex_or_empty(&span.trace_id),
        span_id: hex_or_empty(&span.span_id),
        parent_span_id: hex_or_empty(&span.parent_span_id),
        trace_state: span.trace_state.clone(),
        name: span.name.clone(),
        kind: kind_str(span.kind).into(),
        service: service.to_string(),
        resource_attributes: resource.to_vec(),
        scope_name: scope_name.to_string(),
        scope_version: scope_version.to_string(),
        attributes: pairs(&span.attributes),
        duration_ns: (span.end_time_unix_nano as i64)
            .saturating_sub(span.start_time_unix_nano as i64),
        status_code: status_str(status.code).into(),
        status_message: status.message,
        events: span
            .events
            .iter()
            .map(|e| CollectorEvent {
                time_ns: e.time_unix_nano as i64,
                name: e.name.clone(),
                attributes: pairs(&e.attributes),
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|l| CollectorLink {
                trace_id: hex_or_empty(&l.trace_id),
                span_id: hex_or_empty(&l.span_id),
                trace_state: l.trace_state.clone(),
                attributes: pairs(&l.attributes),
            })
            .collect(),
    }
}

/// A Collector row as a store row, normalized by the same code as spans received over
/// OTLP: the prompt, response and LLM fields a team's ClickHouse shows are the ones a
/// local database would. Attribute values are text in the Collector's tables; a JSON
/// array of plain values (`["stop"]`) is read back as the array it was.
pub fn normalize_collector_span(row: &CollectorSpan) -> Result<SpanRow, String> {
    let unhex = |h: &str| -> Vec<u8> {
        (0..h.len() / 2)
            .filter_map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    };
    let span = Span {
        trace_id: unhex(&row.trace_id),
        span_id: unhex(&row.span_id),
        parent_span_id: unhex(&row.parent_span_id),
        trace_state: row.trace_state.clone(),
        name: row.name.clone(),
        kind: store::kind_number(&row.kind),
        start_time_unix_nano: row.start_ns.max(0) as u64,
        end_time_unix_nano: (row.start_ns + row.duration_ns.max(0)).max(0) as u64,
        attributes: key_values(&row.attributes),
        events: row
            .events
            .iter()
            .map(|e| span::Event {
                time_unix_nano: e.time_ns.max(0) as u64,
                name: e.name.clone(),
                attributes: key_values(&e.attributes),
                ..span::Event::default()
            })
            .collect(),
        status: Some(Status {
            code: store::status_number(&row.status_code),
            message: row.status_message.clone(),
        }),
        ..Span::default()
    };
    let mut resource = String::new();
    crate::normalize::write_object_json(&mut resource, &key_values(&row.resource_attributes));
    let service = if row.service.is_empty() {
        "unknown_service"
    } else {
        &row.service
    };
    normalize_span(&span, service, &row.scope_name, &resource)
}

fn key_values(pairs: &[(String, String)]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(text_value(v)),
            ..KeyValue::default()
        })
        .collect()
}

/// A Collector attribute value as the value it most likely was: text, or an array of
/// plain values when it is the JSON of one.
fn text_value(v: &str) -> AnyValue {
    if v.starts_with('[')
        && let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(v)
        && items.iter().all(|i| !i.is_array() && !i.is_object())
    {
        let values = items
            .into_iter()
            .map(|i| AnyValue {
                value: Some(match i {
                    serde_json::Value::String(s) => Value::StringValue(s),
                    serde_json::Value::Bool(b) => Value::BoolValue(b),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::IntValue(i),
                        None => Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
                    },
                    _ => Value::StringValue(String::new()),
                }),
            })
            .collect();
        return AnyValue {
            value: Some(Value::ArrayValue(
                opentelemetry_proto::tonic::common::v1::ArrayValue { values },
            )),
        };
    }
    AnyValue {
        value: Some(Value::StringValue(v.to_string())),
    }
}

/// An id in lower-case hex; empty when it is all zeros or missing, as the exporter
/// writes it.
pub(crate) fn hex_or_empty(id: &[u8]) -> String {
    if id.iter().all(|b| *b == 0) {
        return String::new();
    }
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exporter's `SpanKindStr`.
fn kind_str(kind: i32) -> &'static str {
    match kind {
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => "SPAN_KIND_UNSPECIFIED",
    }
}

/// The exporter's `StatusCodeStr`.
fn status_str(code: i32) -> &'static str {
    match code {
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => "STATUS_CODE_UNSET",
    }
}

/// Attributes as the exporter's map (a repeated key keeps its last value).
pub(crate) fn pairs(kvs: &[KeyValue]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(kvs.len());
    for kv in kvs {
        let text = kv.value.as_ref().map(as_string).unwrap_or_default();
        match out.iter_mut().find(|(k, _)| *k == kv.key) {
            Some(slot) => slot.1 = text,
            None => out.push((kv.key.clone(), text)),
        }
    }
    out
}

/// `pcommon.Value.AsString`.
pub(crate) fn as_string(v: &AnyValue) -> String {
    match v.value.as_ref() {
        None => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => float_text(*d),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(_) => serde_json::to_string(&raw(v)).expect("JSON values serialize"),
    }
}

/// Go's `strconv.FormatFloat(d, 'f', -1, 64)`: the shortest digits, never an exponent.
fn float_text(d: f64) -> String {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        d.to_string()
    }
}

/// `pcommon.Value.AsRaw` as JSON (maps with sorted keys, as Go's encoder writes them).
fn raw(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match v.value.as_ref() {
        None => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(d)) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
        Some(Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Value::ArrayValue(a)) => J::Array(a.values.iter().map(raw).collect()),
        Some(Value::KvlistValue(kv)) => {
            let mut sorted: Vec<&KeyValue> = kv.values.iter().collect();
            sorted.sort_by(|a, b| a.key.cmp(&b.key));
            J::Object(
                sorted
                    .into_iter()
                    .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(J::Null, raw)))
                    .collect(),
            )
        }
        // Dictionary-encoded strings (profiles only) never reach a span.
        #[allow(unreachable_patterns)]
        Some(_) => J::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    #[test]
    fn values_are_rendered_as_the_collector_renders_them() {
        let list = Value::ArrayValue(ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(Value::StringValue("stop".into())),
                },
                AnyValue {
                    value: Some(Value::IntValue(3)),
                },
            ],
        });
        let map = Value::KvlistValue(KeyValueList {
            values: vec![kv("b", Value::IntValue(1)), kv("a", Value::BoolValue(true))],
        });
        let got = pairs(&[
            kv("s", Value::StringValue("x".into())),
            kv("i", Value::IntValue(-42)),
            kv("d", Value::DoubleValue(12.0)),
            kv("f", Value::DoubleValue(0.25)),
            kv("l", list),
            kv("m", map),
            kv("s", Value::StringValue("last wins".into())),
        ]);
        let want: Vec<(String, String)> = [
            ("s", "last wins"),
            ("i", "-42"),
            ("d", "12"),
            ("f", "0.25"),
            ("l", "[\"stop\",3]"),
            ("m", "{\"a\":true,\"b\":1}"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn ids_kinds_and_statuses_in_the_exporter_spelling() {
        assert_eq!(hex_or_empty(&[0; 8]), "");
        assert_eq!(hex_or_empty(&[0xab, 1]), "ab01");
        assert_eq!(kind_str(3), "SPAN_KIND_CLIENT");
        assert_eq!(status_str(2), "STATUS_CODE_ERROR");
        assert_eq!(float_text(1e21), "1000000000000000000000");
    }
}
