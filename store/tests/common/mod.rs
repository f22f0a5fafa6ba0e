//! What the store's tests build their rows from: a fixed clock and a plain span.

use store::SpanRow;

/// The tests' time origin, Unix ns (2027-01-15).
pub const T0: i64 = 1_800_000_000_000_000_000;
/// A millisecond in ns.
pub const MS: i64 = 1_000_000;

/// Span `span` of trace `trace` (each id its byte repeated), under `parent`, starting
/// `start_ms` after [`T0`] and lasting `dur_ms`, of service `svc`, with no attributes.
pub fn span(trace: u8, span: u8, parent: Option<u8>, start_ms: i64, dur_ms: i64) -> SpanRow {
    SpanRow {
        trace_id: [trace; 16],
        span_id: [span; 8],
        parent_span_id: parent.map(|p| [p; 8]),
        name: format!("span-{trace}-{span}"),
        kind: 1,
        start_ns: T0 + start_ms * MS,
        end_ns: T0 + (start_ms + dur_ms) * MS,
        service: "svc".into(),
        attributes_json: "{}".into(),
        resource_json: "{}".into(),
        events_json: "[]".into(),
        links_json: "[]".into(),
        ..SpanRow::default()
    }
}
