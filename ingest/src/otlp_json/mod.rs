//! OTLP JSON: lenient decoding of what real tools write, and encoding of what the spec
//! says, so that our exports re-import everywhere.

mod encode;
#[cfg(feature = "database")]
mod from_store;
mod lenient;
mod traces;

pub use encode::traces_to_json;
#[cfg(feature = "database")]
pub use from_store::trace_request;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// Parses one OTLP JSON trace request. The error says where and what, in serde's words.
pub fn parse_traces(json: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let req: traces::JTracesRequest = serde::Deserialize::deserialize(&mut de).map_err(|e| {
        let text = e.to_string();
        if text.starts_with("missing field `resourceSpans`") {
            "not an OTLP trace request: the object has no \"resourceSpans\"".to_string()
        } else if text.starts_with("invalid type") && e.line() == 1 && e.column() <= 1 {
            format!("not an OTLP trace request: {text}")
        } else {
            text
        }
    })?;
    de.end().map_err(|e| e.to_string())?;
    Ok(req.into())
}

/// One OTLP request of any signal, as a dump holds them (the Collector's file exporter
/// writes traces, logs and metrics each in their own file, in the same shape).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Spans.
    Traces(ExportTraceServiceRequest),
    /// Log records (GenAI events among them).
    Logs(opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest),
    /// Metric points.
    Metrics(opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest),
}

/// Parses one OTLP JSON request of any signal: traces (the commonest, tried first),
/// else logs or metrics when the object holds theirs.
pub fn parse_request(json: &[u8]) -> Result<Request, String> {
    match parse_traces(json) {
        Ok(req) => Ok(Request::Traces(req)),
        Err(e) if e.ends_with("the object has no \"resourceSpans\"") => {
            if let Some(req) = parse_logs(json)
                .ok()
                .filter(|r| !r.resource_logs.is_empty())
            {
                return Ok(Request::Logs(req));
            }
            if let Some(req) = parse_metrics(json)
                .ok()
                .filter(|r| !r.resource_metrics.is_empty())
            {
                return Ok(Request::Metrics(req));
            }
            Err("not an OTLP request: the object has no \"resourceSpans\", \"resourceLogs\" or \"resourceMetrics\"".into())
        }
        Err(e) => Err(match e.strip_prefix("not an OTLP trace request: ") {
            Some(why) => format!("not an OTLP request: {why}"),
            None => e,
        }),
    }
}

/// Parses one OTLP JSON logs request (as the SDKs and the Collector write it).
pub fn parse_logs(
    json: &[u8],
) -> Result<opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest, String> {
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

/// Parses one OTLP JSON metrics request (as the SDKs and the Collector write it).
pub fn parse_metrics(
    json: &[u8],
) -> Result<opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest, String>
{
    serde_json::from_slice(json).map_err(|e| e.to_string())
}
