//! OTLP JSON trace requests, read leniently (camelCase or snake_case keys, enum names,
//! hex or base64 ids, string or number integers, `null` lists, unknown fields ignored)
//! into the protobuf types every other path uses.

use super::lenient::{
    base64_bytes, f64_any, i64_any, id_bytes, nullable, span_kind, status_code, u64_any,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JTracesRequest {
    #[serde(alias = "resource_spans", deserialize_with = "nullable")]
    pub resource_spans: Vec<JResourceSpans>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JResourceSpans {
    #[serde(default, deserialize_with = "nullable")]
    resource: JResource,
    #[serde(
        alias = "scope_spans",
        alias = "instrumentationLibrarySpans",
        default,
        deserialize_with = "nullable"
    )]
    scope_spans: Vec<JScopeSpans>,
    #[serde(alias = "schema_url", default, deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JResource {
    #[serde(default, deserialize_with = "nullable")]
    pub attributes: Vec<JKeyValue>,
    #[serde(
        alias = "dropped_attributes_count",
        default,
        deserialize_with = "u64_any"
    )]
    pub dropped_attributes_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JScopeSpans {
    #[serde(
        alias = "instrumentationLibrary",
        default,
        deserialize_with = "nullable"
    )]
    scope: JScope,
    #[serde(default, deserialize_with = "nullable")]
    spans: Vec<JSpan>,
    #[serde(alias = "schema_url", default, deserialize_with = "nullable")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JScope {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default, deserialize_with = "nullable")]
    pub attributes: Vec<JKeyValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JSpan {
    #[serde(alias = "trace_id", default, deserialize_with = "id_bytes")]
    trace_id: Vec<u8>,
    #[serde(alias = "span_id", default, deserialize_with = "id_bytes")]
    span_id: Vec<u8>,
    #[serde(alias = "trace_state", default, deserialize_with = "nullable")]
    trace_state: String,
    #[serde(alias = "parent_span_id", default, deserialize_with = "id_bytes")]
    parent_span_id: Vec<u8>,
    #[serde(default, deserialize_with = "u64_any")]
    flags: u64,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "span_kind")]
    kind: i32,
    #[serde(alias = "start_time_unix_nano", default, deserialize_with = "u64_any")]
    start_time_unix_nano: u64,
    #[serde(alias = "end_time_unix_nano", default, deserialize_with = "u64_any")]
    end_time_unix_nano: u64,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(
        alias = "dropped_attributes_count",
        default,
        deserialize_with = "u64_any"
    )]
    dropped_attributes_count: u64,
    #[serde(default, deserialize_with = "nullable")]
    events: Vec<JEvent>,
    #[serde(alias = "dropped_events_count", default, deserialize_with = "u64_any")]
    dropped_events_count: u64,
    #[serde(default, deserialize_with = "nullable")]
    links: Vec<JLink>,
    #[serde(alias = "dropped_links_count", default, deserialize_with = "u64_any")]
    dropped_links_count: u64,
    #[serde(default)]
    status: Option<JStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JEvent {
    #[serde(alias = "time_unix_nano", default, deserialize_with = "u64_any")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(
        alias = "dropped_attributes_count",
        default,
        deserialize_with = "u64_any"
    )]
    dropped_attributes_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JLink {
    #[serde(alias = "trace_id", default, deserialize_with = "id_bytes")]
    trace_id: Vec<u8>,
    #[serde(alias = "span_id", default, deserialize_with = "id_bytes")]
    span_id: Vec<u8>,
    #[serde(alias = "trace_state", default, deserialize_with = "nullable")]
    trace_state: String,
    #[serde(default, deserialize_with = "nullable")]
    attributes: Vec<JKeyValue>,
    #[serde(
        alias = "dropped_attributes_count",
        default,
        deserialize_with = "u64_any"
    )]
    dropped_attributes_count: u64,
    #[serde(default, deserialize_with = "u64_any")]
    flags: u64,
}

#[derive(Deserialize, Default)]
struct JStatus {
    #[serde(default, deserialize_with = "nullable")]
    message: String,
    #[serde(default, deserialize_with = "status_code")]
    code: i32,
}

#[derive(Deserialize)]
pub(crate) struct JKeyValue {
    #[serde(default, deserialize_with = "nullable")]
    key: String,
    #[serde(default, deserialize_with = "nullable")]
    value: JAnyValue,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JAnyValue {
    #[serde(alias = "string_value", default)]
    string_value: Option<String>,
    #[serde(alias = "bool_value", default)]
    bool_value: Option<bool>,
    #[serde(alias = "int_value", default, deserialize_with = "opt_i64")]
    int_value: Option<i64>,
    #[serde(alias = "double_value", default, deserialize_with = "opt_f64")]
    double_value: Option<f64>,
    #[serde(alias = "array_value", default)]
    array_value: Option<JValues<JAnyValue>>,
    #[serde(alias = "kvlist_value", default)]
    kvlist_value: Option<JValues<JKeyValue>>,
    #[serde(alias = "bytes_value", default, deserialize_with = "opt_bytes")]
    bytes_value: Option<Vec<u8>>,
}

#[derive(Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub(crate) struct JValues<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    values: Vec<T>,
}

fn nullable_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn opt_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "i64_any")] i64);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

fn opt_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "f64_any")] f64);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

fn opt_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "base64_bytes")] Vec<u8>);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

fn clamp32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl From<JTracesRequest> for ExportTraceServiceRequest {
    fn from(r: JTracesRequest) -> Self {
        ExportTraceServiceRequest {
            resource_spans: r.resource_spans.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<JResourceSpans> for ResourceSpans {
    fn from(r: JResourceSpans) -> Self {
        ResourceSpans {
            resource: Some(r.resource.into()),
            scope_spans: r.scope_spans.into_iter().map(Into::into).collect(),
            schema_url: r.schema_url,
        }
    }
}

impl From<JResource> for Resource {
    fn from(r: JResource) -> Self {
        Resource {
            attributes: key_values(r.attributes),
            dropped_attributes_count: clamp32(r.dropped_attributes_count),
            ..Default::default()
        }
    }
}

impl From<JScope> for InstrumentationScope {
    fn from(s: JScope) -> Self {
        InstrumentationScope {
            name: s.name,
            version: s.version,
            attributes: key_values(s.attributes),
            ..Default::default()
        }
    }
}

impl From<JScopeSpans> for ScopeSpans {
    fn from(s: JScopeSpans) -> Self {
        ScopeSpans {
            scope: Some(s.scope.into()),
            spans: s.spans.into_iter().map(Into::into).collect(),
            schema_url: s.schema_url,
        }
    }
}

impl From<JSpan> for Span {
    fn from(s: JSpan) -> Self {
        Span {
            trace_id: s.trace_id,
            span_id: s.span_id,
            trace_state: s.trace_state,
            parent_span_id: s.parent_span_id,
            flags: clamp32(s.flags),
            name: s.name,
            kind: s.kind,
            start_time_unix_nano: s.start_time_unix_nano,
            end_time_unix_nano: s.end_time_unix_nano,
            attributes: key_values(s.attributes),
            dropped_attributes_count: clamp32(s.dropped_attributes_count),
            events: s
                .events
                .into_iter()
                .map(|e| span::Event {
                    time_unix_nano: e.time_unix_nano,
                    name: e.name,
                    attributes: key_values(e.attributes),
                    dropped_attributes_count: clamp32(e.dropped_attributes_count),
                })
                .collect(),
            dropped_events_count: clamp32(s.dropped_events_count),
            links: s
                .links
                .into_iter()
                .map(|l| span::Link {
                    trace_id: l.trace_id,
                    span_id: l.span_id,
                    trace_state: l.trace_state,
                    attributes: key_values(l.attributes),
                    dropped_attributes_count: clamp32(l.dropped_attributes_count),
                    flags: clamp32(l.flags),
                })
                .collect(),
            dropped_links_count: clamp32(s.dropped_links_count),
            status: s.status.map(|st| Status {
                message: st.message,
                code: st.code,
            }),
        }
    }
}

/// Converts JSON key-values to protobuf ones.
pub(crate) fn key_values(kvs: Vec<JKeyValue>) -> Vec<KeyValue> {
    kvs.into_iter()
        .map(|kv| KeyValue {
            key: kv.key,
            value: Some(kv.value.into()),
            ..Default::default()
        })
        .collect()
}

impl From<JAnyValue> for AnyValue {
    fn from(v: JAnyValue) -> Self {
        let value = if let Some(s) = v.string_value {
            Some(any_value::Value::StringValue(s))
        } else if let Some(b) = v.bool_value {
            Some(any_value::Value::BoolValue(b))
        } else if let Some(i) = v.int_value {
            Some(any_value::Value::IntValue(i))
        } else if let Some(d) = v.double_value {
            Some(any_value::Value::DoubleValue(d))
        } else if let Some(a) = v.array_value {
            Some(any_value::Value::ArrayValue(ArrayValue {
                values: a.values.into_iter().map(Into::into).collect(),
            }))
        } else if let Some(kv) = v.kvlist_value {
            Some(any_value::Value::KvlistValue(KeyValueList {
                values: key_values(kv.values),
            }))
        } else {
            v.bytes_value.map(any_value::Value::BytesValue)
        };
        AnyValue { value }
    }
}
