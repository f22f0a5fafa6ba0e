//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` with protobuf or JSON bodies,
//! gzip accepted; answers in the request's content type, errors as `google.rpc.Status`.

use super::auth::Token;
use super::pipeline::{Accepted, ExportError, Pipeline};
use crate::otlp_json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::sync::Arc;

#[derive(Clone)]
struct Ctx {
    pipeline: Arc<Pipeline>,
    token: Token,
}

/// `google.rpc.Status`, the body of every OTLP/HTTP error.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// The HTTP router; bodies over `max_body_bytes` (after decompression) get 413.
pub fn router(pipeline: Arc<Pipeline>, token: Token, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        .with_state(Ctx { pipeline, token })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(
            tower_http::decompression::RequestDecompressionLayer::new()
                .gzip(true)
                .pass_through_unaccepted(false),
        )
}

/// The encoding a request declares, or the 415 answer.
// Handlers answer with a `Response` by value either way; boxing it gains nothing.
#[allow(clippy::result_large_err)]
fn encoding(headers: &HeaderMap) -> Result<Encoding, Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(error(
            Encoding::Json,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported content type {ct:?}: send application/x-protobuf or application/json"
            ),
        )),
    }
}

fn error(enc: Encoding, status: StatusCode, message: String) -> Response {
    let code = match status {
        StatusCode::UNAUTHORIZED => 16,
        StatusCode::SERVICE_UNAVAILABLE => 14,
        StatusCode::PAYLOAD_TOO_LARGE => 8,
        _ => 3,
    };
    let body = match enc {
        Encoding::Protobuf => RpcStatus { code, message }.encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
    };
    let mut resp = (status, [(header::CONTENT_TYPE, enc.content_type())], body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    resp
}

fn export_error(enc: Encoding, e: ExportError) -> Response {
    match e {
        ExportError::Overloaded => error(
            enc,
            StatusCode::SERVICE_UNAVAILABLE,
            "the collector is busy committing earlier data; retry".into(),
        ),
        ExportError::Store(m) => error(
            enc,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("could not store the data, retry later: {m}"),
        ),
    }
}

/// Checks the token and content type, decodes the body with `proto` or `json`.
#[allow(clippy::result_large_err)]
fn decode<T: Message + Default>(
    ctx: &Ctx,
    headers: &HeaderMap,
    body: &Bytes,
    json: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<(Encoding, T), Response> {
    let enc = encoding(headers)?;
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !ctx.token.allows(auth) {
        return Err(error(
            enc,
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token".into(),
        ));
    }
    let t = std::time::Instant::now();
    let decoded = match enc {
        Encoding::Protobuf => {
            T::decode(body.as_ref()).map_err(|e| format!("malformed protobuf body: {e}"))
        }
        Encoding::Json => json(body).map_err(|e| format!("malformed OTLP JSON body: {e}")),
    };
    ctx.pipeline.stats.decode_ns.fetch_add(
        t.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    decoded
        .map(|t| (enc, t))
        .map_err(|m| error(enc, StatusCode::BAD_REQUEST, m))
}

fn ok<T: Message + serde_json_shape::JsonShape>(enc: Encoding, resp: T) -> Response {
    let body = match enc {
        Encoding::Protobuf => resp.encode_to_vec(),
        Encoding::Json => resp.to_json().into_bytes(),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, enc.content_type())],
        body,
    )
        .into_response()
}

async fn traces(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let (enc, req) =
        match decode::<ExportTraceServiceRequest>(&ctx, &headers, &body, otlp_json::parse_traces) {
            Ok(x) => x,
            Err(r) => return r,
        };
    match ctx.pipeline.traces(req, body.len()).await {
        Ok(Accepted { rejected, message }) => ok(
            enc,
            ExportTraceServiceResponse {
                partial_success: (rejected > 0).then_some(ExportTracePartialSuccess {
                    rejected_spans: rejected as i64,
                    error_message: message,
                }),
            },
        ),
        Err(e) => export_error(enc, e),
    }
}

async fn logs(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let (enc, req) =
        match decode::<ExportLogsServiceRequest>(&ctx, &headers, &body, otlp_json::parse_logs) {
            Ok(x) => x,
            Err(r) => return r,
        };
    match ctx.pipeline.logs(req, body.len()).await {
        Ok(Accepted { rejected, message }) => ok(
            enc,
            ExportLogsServiceResponse {
                partial_success: (rejected > 0).then_some(ExportLogsPartialSuccess {
                    rejected_log_records: rejected as i64,
                    error_message: message,
                }),
            },
        ),
        Err(e) => export_error(enc, e),
    }
}

async fn metrics(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let (enc, req) = match decode::<ExportMetricsServiceRequest>(
        &ctx,
        &headers,
        &body,
        otlp_json::parse_metrics,
    ) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match ctx.pipeline.metrics(req, body.len()).await {
        Ok(_) => ok(
            enc,
            ExportMetricsServiceResponse {
                partial_success: None,
            },
        ),
        Err(e) => export_error(enc, e),
    }
}

/// The JSON form of the export responses.
mod serde_json_shape {
    use super::*;

    /// A response as OTLP JSON.
    pub trait JsonShape {
        fn to_json(&self) -> String;
    }

    impl JsonShape for ExportTraceServiceResponse {
        fn to_json(&self) -> String {
            match &self.partial_success {
                Some(p) => serde_json::json!({ "partialSuccess": { "rejectedSpans": p.rejected_spans.to_string(), "errorMessage": p.error_message } }).to_string(),
                None => "{}".into(),
            }
        }
    }

    impl JsonShape for ExportLogsServiceResponse {
        fn to_json(&self) -> String {
            match &self.partial_success {
                Some(p) => serde_json::json!({ "partialSuccess": { "rejectedLogRecords": p.rejected_log_records.to_string(), "errorMessage": p.error_message } }).to_string(),
                None => "{}".into(),
            }
        }
    }

    impl JsonShape for ExportMetricsServiceResponse {
        fn to_json(&self) -> String {
            "{}".into()
        }
    }
}
