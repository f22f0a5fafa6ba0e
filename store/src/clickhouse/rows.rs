//! Spans as the exporter inserts them: one `JSONEachRow` object per span with the
//! table's column names (nested `Events.*` and `Links.*` as parallel arrays).

use crate::collector_span::CollectorSpan;
use serde_json::{Map, Value, json};

/// Unix ns as the `DateTime64(9)` text ClickHouse parses (`seconds.nanoseconds`).
fn timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    format!("{secs}.{frac:09}")
}

fn map(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

/// The spans as `JSONEachRow` lines.
pub(super) fn json_each_row(spans: &[CollectorSpan]) -> Vec<u8> {
    let mut out = Vec::with_capacity(spans.len() * 1024);
    for s in spans {
        let row = json!({
            "Timestamp": timestamp(s.start_ns),
            "TraceId": s.trace_id,
            "SpanId": s.span_id,
            "ParentSpanId": s.parent_span_id,
            "TraceState": s.trace_state,
            "SpanName": s.name,
            "SpanKind": s.kind,
            "ServiceName": s.service,
            "ResourceAttributes": map(&s.resource_attributes),
            "ScopeName": s.scope_name,
            "ScopeVersion": s.scope_version,
            "SpanAttributes": map(&s.attributes),
            "Duration": s.duration_ns.max(0),
            "StatusCode": s.status_code,
            "StatusMessage": s.status_message,
            "Events.Timestamp": s.events.iter().map(|e| timestamp(e.time_ns)).collect::<Vec<_>>(),
            "Events.Name": s.events.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
            "Events.Attributes": s.events.iter().map(|e| map(&e.attributes)).collect::<Vec<_>>(),
            "Links.TraceId": s.links.iter().map(|l| l.trace_id.clone()).collect::<Vec<_>>(),
            "Links.SpanId": s.links.iter().map(|l| l.span_id.clone()).collect::<Vec<_>>(),
            "Links.TraceState": s.links.iter().map(|l| l.trace_state.clone()).collect::<Vec<_>>(),
            "Links.Attributes": s.links.iter().map(|l| map(&l.attributes)).collect::<Vec<_>>(),
        });
        serde_json::to_writer(&mut out, &row).expect("JSON values serialize");
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_keep_every_nanosecond() {
        assert_eq!(
            super::timestamp(1_700_000_000_000_000_001),
            "1700000000.000000001"
        );
        assert_eq!(super::timestamp(0), "0.000000000");
    }
}
