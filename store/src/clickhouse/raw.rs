//! A span's raw columns, selected under `raw_*` aliases and read back as a
//! [`CollectorSpan`] for the normalizer (prompts, responses, a trace's spans).

use crate::collector_span::{CollectorEvent, CollectorLink, CollectorSpan};
use serde_json::Value;

/// Each raw column's expression and alias, in the order [`span`] reads them.
const COLUMNS: [(&str, &str); 22] = [
    ("toInt64(toUnixTimestamp64Nano(Timestamp))", "raw_start"),
    ("TraceId", "raw_trace"),
    ("SpanId", "raw_span"),
    ("ParentSpanId", "raw_parent"),
    ("TraceState", "raw_state"),
    ("SpanName", "raw_name"),
    ("SpanKind", "raw_kind"),
    ("ServiceName", "raw_service"),
    ("ResourceAttributes", "raw_resource"),
    ("ScopeName", "raw_scope"),
    ("ScopeVersion", "raw_scope_version"),
    ("SpanAttributes", "raw_attributes"),
    ("toInt64(Duration)", "raw_duration"),
    ("StatusCode", "raw_status"),
    ("StatusMessage", "raw_message"),
    (
        "arrayMap(t -> toInt64(toUnixTimestamp64Nano(t)), Events.Timestamp)",
        "raw_event_times",
    ),
    ("Events.Name", "raw_event_names"),
    ("Events.Attributes", "raw_event_attributes"),
    ("Links.TraceId", "raw_link_traces"),
    ("Links.SpanId", "raw_link_spans"),
    ("Links.TraceState", "raw_link_states"),
    ("Links.Attributes", "raw_link_attributes"),
];

/// How many columns [`span`] reads.
pub(super) const COUNT: usize = COLUMNS.len();

/// `expr AS alias, …`: the raw columns from the traces table.
pub(super) fn select() -> String {
    COLUMNS
        .iter()
        .map(|(e, a)| format!("{e} AS {a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The aliases qualified with `alias`, for reading them out of a subquery.
pub(super) fn names(alias: &str) -> String {
    COLUMNS
        .iter()
        .map(|(_, a)| format!("{alias}.{a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => Vec::new(),
    }
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The span in `row[..COUNT]`.
pub(super) fn span(row: &[Value]) -> CollectorSpan {
    let events = list(&row[15])
        .iter()
        .zip(list(&row[16]))
        .zip(list(&row[17]))
        .map(|((t, n), a)| CollectorEvent {
            time_ns: int(t),
            name: text(n),
            attributes: pairs(a),
        })
        .collect();
    let links = list(&row[18])
        .iter()
        .zip(list(&row[19]))
        .zip(list(&row[20]))
        .zip(list(&row[21]))
        .map(|(((t, s), st), a)| CollectorLink {
            trace_id: text(t),
            span_id: text(s),
            trace_state: text(st),
            attributes: pairs(a),
        })
        .collect();
    CollectorSpan {
        start_ns: int(&row[0]),
        trace_id: text(&row[1]),
        span_id: text(&row[2]),
        parent_span_id: text(&row[3]),
        trace_state: text(&row[4]),
        name: text(&row[5]),
        kind: text(&row[6]),
        service: text(&row[7]),
        resource_attributes: pairs(&row[8]),
        scope_name: text(&row[9]),
        scope_version: text(&row[10]),
        attributes: pairs(&row[11]),
        duration_ns: int(&row[12]),
        status_code: text(&row[13]),
        status_message: text(&row[14]),
        events,
        links,
    }
}
