//! Normalization: OTLP spans, in any of the competing LLM conventions, into store rows.

mod attrs;
mod class;
mod evaluations;
mod llm;
mod logs;
mod messages;

pub use logs::{normalize_logs, normalize_metrics};

use attrs::{Attrs, to_json, write_object, write_string};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use store::{SpanRow, StatusCode};

/// A span that could not be stored (or was stored with something wrong), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Position of the span in the request (resource, scope, span), for the report.
    pub position: (usize, usize, usize),
    /// Why, in words.
    pub reason: String,
}

/// The rows of one request, and the spans that were refused.
#[derive(Debug, Default)]
pub struct Normalized {
    /// Rows to store.
    pub rows: Vec<SpanRow>,
    /// Spans refused, with reasons.
    pub rejected: Vec<Rejection>,
    /// Spans stored as sent although something about them is wrong (a start time of
    /// 0, an end before the start), with what.
    pub noted: Vec<Rejection>,
}

/// Normalizes every span of a trace request.
pub fn normalize_traces(req: &ExportTraceServiceRequest) -> Normalized {
    walk(req, true)
}

/// Which spans of a trace request normalization would refuse or note, without making
/// their rows (`rows` stays empty): for a writer that stores the spans as sent (into
/// a team's ClickHouse) yet refuses what a local database would.
pub fn check_traces(req: &ExportTraceServiceRequest) -> Normalized {
    walk(req, false)
}

/// Every span of a request checked, and normalized into a row when `rows`.
fn walk(req: &ExportTraceServiceRequest, rows: bool) -> Normalized {
    let mut out = Normalized::default();
    for (ri, rs) in req.resource_spans.iter().enumerate() {
        let resource_attrs = rs
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let (resource_json, service) = if rows {
            (
                to_json(resource_attrs),
                Attrs::new(resource_attrs)
                    .text(&["service.name"])
                    .unwrap_or_else(|| "unknown_service".into()),
            )
        } else {
            Default::default()
        };
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let scope = ss
                .scope
                .as_ref()
                .filter(|_| rows)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for (pi, span) in ss.spans.iter().enumerate() {
                let result = if rows {
                    normalize_span(span, &service, &scope, &resource_json).map(Some)
                } else {
                    check(span).map(|_| None)
                };
                match result {
                    Ok(row) => {
                        if let Some(reason) = questionable_times(span) {
                            out.noted.push(Rejection {
                                position: (ri, si, pi),
                                reason,
                            });
                        }
                        out.rows.extend(row)
                    }
                    Err(reason) => out.rejected.push(Rejection {
                        position: (ri, si, pi),
                        reason,
                    }),
                }
            }
        }
    }
    out
}

/// What is wrong with a span's times that it is still stored with: a start of 0 (the
/// client's clock was not set) or an end before the start (stored with duration 0).
fn questionable_times(span: &Span) -> Option<String> {
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    if start == 0 {
        Some("start time is 0 (1970-01-01); stored as sent".into())
    } else if end < start {
        Some(format!(
            "end time is {} ns before its start; stored with duration 0",
            start - end
        ))
    } else {
        None
    }
}

/// Key-values as a JSON object, as the store keeps resource attributes.
pub fn write_object_json(
    out: &mut String,
    kvs: &[opentelemetry_proto::tonic::common::v1::KeyValue],
) {
    write_object(out, kvs)
}

/// Counts the spans of a request.
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

fn id<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], String> {
    let id: [u8; N] = bytes
        .try_into()
        .map_err(|_| format!("{what} has {} bytes, expected {N}", bytes.len()))?;
    if id.iter().all(|b| *b == 0) {
        return Err(format!(
            "{what} is all zeros, which OTLP defines as invalid"
        ));
    }
    Ok(id)
}

fn time(ns: u64, what: &str) -> Result<i64, String> {
    i64::try_from(ns).map_err(|_| format!("{what} {ns} is past the year 2262"))
}

/// The ids and times every row needs, read and checked.
struct Checked {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_span_id: Option<[u8; 8]>,
    start_ns: i64,
    end_ns: i64,
}

/// A span's ids and times, or why it cannot be stored: every reason a span is refused.
fn check(span: &Span) -> Result<Checked, String> {
    let trace_id = id::<16>(&span.trace_id, "trace id")?;
    let span_id = id::<8>(&span.span_id, "span id")?;
    let parent_span_id = match span.parent_span_id.len() {
        0 => None,
        _ => Some(id::<8>(&span.parent_span_id, "parent span id")?),
    };
    let start_ns = time(span.start_time_unix_nano, "start time")?;
    let end_ns = time(span.end_time_unix_nano, "end time")?.max(start_ns);
    Ok(Checked {
        trace_id,
        span_id,
        parent_span_id,
        start_ns,
        end_ns,
    })
}

/// One span as a row, or why it cannot be one.
pub fn normalize_span(
    span: &Span,
    service: &str,
    scope: &str,
    resource_json: &str,
) -> Result<SpanRow, String> {
    let Checked {
        trace_id,
        span_id,
        parent_span_id,
        start_ns,
        end_ns,
    } = check(span)?;
    let attrs = Attrs::new(&span.attributes);
    let status = span.status.clone().unwrap_or_default();
    let llm = llm::extract(span, &attrs);
    let class = class::classify(&span.name, &attrs, llm.is_some());
    let session_id = attrs.text(store::conventions::SESSION);
    let evaluations = evaluations::from_span(
        span,
        &attrs,
        (trace_id, span_id),
        end_ns,
        session_id.as_deref(),
    );
    Ok(SpanRow {
        trace_id,
        span_id,
        parent_span_id,
        name: span.name.clone(),
        kind: span.kind,
        start_ns,
        end_ns,
        status: StatusCode::from_i32(status.code),
        status_message: status.message,
        service: service.to_string(),
        scope: scope.to_string(),
        attributes_json: to_json(&span.attributes),
        resource_json: resource_json.to_string(),
        events_json: events_json(span),
        links_json: links_json(span),
        session_id,
        user_id: attrs.text(store::conventions::USER),
        entity: class::entity(class, &span.name, &attrs),
        class,
        llm,
        evaluations,
    })
}

fn events_json(span: &Span) -> String {
    if span.events.is_empty() {
        return "[]".into();
    }
    let mut out = String::from("[");
    for (i, e) in span.events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("{{\"time_ns\":{},\"name\":", e.time_unix_nano));
        write_string(&mut out, &e.name);
        out.push_str(",\"attributes\":");
        write_object(&mut out, &e.attributes);
        out.push('}');
    }
    out.push(']');
    out
}

fn links_json(span: &Span) -> String {
    if span.links.is_empty() {
        return "[]".into();
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = String::from("[");
    for (i, l) in span.links.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"trace_id\":\"{}\",\"span_id\":\"{}\",\"attributes\":",
            hex(&l.trace_id),
            hex(&l.span_id)
        ));
        write_object(&mut out, &l.attributes);
        out.push('}');
    }
    out.push(']');
    out
}
