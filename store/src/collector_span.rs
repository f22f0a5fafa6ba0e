//! One row of the OpenTelemetry Collector's ClickHouse traces table (`otel_traces`,
//! written by its `clickhouseexporter`): what a span looks like when a team's
//! ClickHouse holds it. Every attribute value is text, as the exporter renders it
//! (integers in decimal, arrays and maps as JSON).

use serde::{Deserialize, Serialize};

/// A span in the Collector's row layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorSpan {
    /// Start, Unix ns (the `Timestamp` column).
    pub start_ns: i64,
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, empty for a root.
    pub parent_span_id: String,
    /// W3C trace state.
    pub trace_state: String,
    /// Span name.
    pub name: String,
    /// Kind as written: `Client` (newer exporters) or `SPAN_KIND_CLIENT` (older ones).
    pub kind: String,
    /// Resource `service.name`.
    pub service: String,
    /// Resource attributes.
    pub resource_attributes: Vec<(String, String)>,
    /// Instrumentation scope name.
    pub scope_name: String,
    /// Instrumentation scope version.
    pub scope_version: String,
    /// Span attributes.
    pub attributes: Vec<(String, String)>,
    /// Duration, ns.
    pub duration_ns: i64,
    /// Status as written: `Error` or `STATUS_CODE_ERROR`, `Ok`, `Unset`.
    pub status_code: String,
    /// Status message.
    pub status_message: String,
    /// Events.
    pub events: Vec<CollectorEvent>,
    /// Links.
    pub links: Vec<CollectorLink>,
}

/// One span event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorEvent {
    /// Unix ns.
    pub time_ns: i64,
    /// Event name (`exception`, `gen_ai.content.prompt`, …).
    pub name: String,
    /// Its attributes.
    pub attributes: Vec<(String, String)>,
}

/// One span link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectorLink {
    /// Linked trace, hex.
    pub trace_id: String,
    /// Linked span, hex.
    pub span_id: String,
    /// Its trace state.
    pub trace_state: String,
    /// Its attributes.
    pub attributes: Vec<(String, String)>,
}

/// The status code spellings found in the Collector's tables: the exporter's own
/// (`STATUS_CODE_ERROR`) and newer writers' (`Error`); a table written across an
/// upgrade holds both.
pub const ERROR_STATUS: [&str; 2] = ["STATUS_CODE_ERROR", "Error"];

/// Both spellings of the OK status.
pub const OK_STATUS: [&str; 2] = ["STATUS_CODE_OK", "Ok"];

/// The OTLP span kind number of a `SpanKind` value in either spelling.
pub fn kind_number(kind: &str) -> i32 {
    let k = kind.trim_start_matches("SPAN_KIND_").to_ascii_lowercase();
    match k.as_str() {
        "internal" => 1,
        "server" => 2,
        "client" => 3,
        "producer" => 4,
        "consumer" => 5,
        _ => 0,
    }
}

/// The OTLP status code number of a `StatusCode` value in either spelling.
pub fn status_number(code: &str) -> i32 {
    if ERROR_STATUS.contains(&code) {
        2
    } else if OK_STATUS.contains(&code) {
        1
    } else {
        0
    }
}

/// Turns a Collector row into a store row with the same normalization as spans
/// received over OTLP (`ingest` provides it; the store knows no conventions' message
/// formats): what a ClickHouse backend shows of a call's prompt, response and fields.
pub type Normalizer =
    std::sync::Arc<dyn Fn(&CollectorSpan) -> Result<crate::row::SpanRow, String> + Send + Sync>;
