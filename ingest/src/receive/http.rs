//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` with protobuf or JSON bodies,
//! gzip accepted; answers in the request's content type, every error as
//! `google.rpc.Status`. The token is checked before the body is read, and the body is
//! read only as far as the shared memory budget and the size limit allow.

use super::api::{API_PREFIX, ApiCtx, QueryApi, api_page};
use super::auth::Token;
use super::budget::{Budget, Hold};
use super::listen::{ConnLimits, refuse_http};
use super::pipeline::{Accepted, ExportError, Pipeline};
use super::rpc_status::RpcStatus;
use super::scrape::{Scrape, ScrapeCtx, metrics_page};
use crate::otlp_json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
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
    max_body_bytes: usize,
    budget: Budget,
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

/// The HTTP router; bodies over `max_body_bytes` (after decompression) get 413, bodies
/// the shared `budget` cannot hold get 429.
/// With `scrape`, `GET /metrics` answers it; with `api`, `GET /api/v1/…` does.
pub fn router(
    pipeline: Arc<Pipeline>,
    token: Token,
    max_body_bytes: usize,
    budget: Budget,
    scrape: Option<Scrape>,
    api: Option<QueryApi>,
) -> Router {
    let otlp = Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        .fallback(not_found)
        .with_state(Ctx {
            pipeline,
            token: token.clone(),
            max_body_bytes,
            budget,
        });
    let mut all = match scrape {
        Some(scrape) => otlp.merge(
            Router::new()
                .route(METRICS_PATH, get(metrics_page))
                .with_state(ScrapeCtx {
                    scrape,
                    token: token.clone(),
                }),
        ),
        None => otlp,
    };
    if let Some(api) = api {
        all = all.merge(
            Router::new()
                .route(API_PREFIX, get(api_page))
                .route(&format!("{API_PREFIX}/{{*endpoint}}"), get(api_page))
                .with_state(ApiCtx { api, token }),
        );
    }
    all.method_not_allowed_fallback(not_allowed)
}

/// Where Prometheus scrapes.
const METRICS_PATH: &str = "/metrics";

/// Serves HTTP/1.1 connections from `listener` until `stopped`, within the connection
/// limits and with the header-read timeout; then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    loop {
        let io = tokio::select! {
            io = limits.accept(&listener, "OTLP/HTTP", refuse_http) => io,
            _ = stopped.wait_for(|s| *s) => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("OTLP/HTTP connection ended: {e}");
            }
        });
    }
    graceful.shutdown().await;
}

async fn not_found(req: Request) -> Response {
    error(
        Encoding::Json,
        StatusCode::NOT_FOUND,
        format!(
            "no such endpoint {}: OTLP/HTTP takes POST /v1/traces, /v1/logs and /v1/metrics",
            req.uri().path()
        ),
    )
}

async fn not_allowed(req: Request) -> Response {
    let allowed = if req.uri().path() == METRICS_PATH {
        "GET"
    } else {
        "POST"
    };
    let mut r = error(
        Encoding::Json,
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} {}: send {allowed}", req.method(), req.uri().path()),
    );
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allowed));
    r
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
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => 8,
        StatusCode::NOT_FOUND => 5,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => 12,
        _ => 3,
    };
    let body = match enc {
        Encoding::Protobuf => RpcStatus {
            code,
            message,
            details: Vec::new(),
        }
        .encode_to_vec(),
        Encoding::Json => serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
    };
    let mut resp = (status, [(header::CONTENT_TYPE, enc.content_type())], body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
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

/// How a body is compressed.
#[derive(Clone, Copy, PartialEq)]
enum Compression {
    None,
    Gzip,
}

/// The `Content-Encoding` a request declares (names in any case), or the 415 answer.
#[allow(clippy::result_large_err)]
fn compression(headers: &HeaderMap, enc: Encoding) -> Result<Compression, Response> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(Compression::None);
    };
    let name = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match name.as_str() {
        "" | "identity" => Ok(Compression::None),
        "gzip" | "x-gzip" => Ok(Compression::Gzip),
        _ => Err(error(
            enc,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported Content-Encoding {value:?}: send gzip or an uncompressed body"),
        )),
    }
}

/// The answer to a body larger than the limit.
fn too_large(enc: Encoding, limit: usize) -> Response {
    error(
        enc,
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body larger than this collector's limit of {limit} bytes (after decompression); raise --max-message-size or send smaller batches"
        ),
    )
}

/// The answer when the shared memory budget cannot hold the body now.
fn busy(enc: Encoding) -> Response {
    error(
        enc,
        StatusCode::TOO_MANY_REQUESTS,
        "the collector is reading as many request bodies as its memory budget allows; retry".into(),
    )
}

/// Reads the body, reserving budget before buffering each part, and decompresses it.
async fn read_body(
    ctx: &Ctx,
    enc: Encoding,
    compression: Compression,
    headers: &HeaderMap,
    body: Body,
    hold: &mut Hold,
) -> Result<Vec<u8>, Response> {
    let max = ctx.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(enc, max));
    }
    let mut raw = Vec::new();
    if let Some(n) = declared {
        hold.grow_to(n as usize).map_err(|_| busy(enc))?;
        raw.reserve_exact(n as usize);
    }
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            error(
                enc,
                StatusCode::BAD_REQUEST,
                format!("the request body could not be read: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if raw.len() + data.len() > max {
            return Err(too_large(enc, max));
        }
        hold.grow_to(raw.len() + data.len())
            .map_err(|_| busy(enc))?;
        raw.extend_from_slice(&data);
    }
    if compression == Compression::None {
        return Ok(raw);
    }
    // Decompressed in steps, each reserved before it is kept.
    use std::io::Read;
    let mut gz = flate2::read::MultiGzDecoder::new(raw.as_slice());
    let mut plain = Vec::new();
    let mut chunk = vec![0u8; 256 << 10];
    loop {
        let n = gz.read(&mut chunk).map_err(|e| {
            error(
                enc,
                StatusCode::BAD_REQUEST,
                format!("the body is not valid gzip: {e}"),
            )
        })?;
        if n == 0 {
            break;
        }
        if plain.len() + n > max {
            return Err(too_large(enc, max));
        }
        hold.grow_to(raw.len() + plain.len() + n)
            .map_err(|_| busy(enc))?;
        plain.extend_from_slice(&chunk[..n]);
    }
    Ok(plain)
}

/// Checks the content type and token (before any of the body is read), reads the body
/// within the limits, decodes it with `proto` or `json`.
async fn decode<T: Message + Default>(
    ctx: &Ctx,
    req: Request,
    json: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<(Encoding, T, usize), Response> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
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
    let compression = compression(headers, enc)?;
    let mut hold = ctx.budget.hold();
    let bytes = read_body(ctx, enc, compression, headers, body, &mut hold).await?;
    let t = std::time::Instant::now();
    let decoded = match enc {
        Encoding::Protobuf => {
            T::decode(bytes.as_slice()).map_err(|e| format!("malformed protobuf body: {e}"))
        }
        Encoding::Json => json(&bytes).map_err(|e| format!("malformed OTLP JSON body: {e}")),
    };
    ctx.pipeline.stats.decode_ns.fetch_add(
        t.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    decoded
        .map(|t| (enc, t, bytes.len()))
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

async fn traces(State(ctx): State<Ctx>, req: Request) -> Response {
    let (enc, req, len) =
        match decode::<ExportTraceServiceRequest>(&ctx, req, otlp_json::parse_traces).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match ctx.pipeline.traces(req, len).await {
        Ok(Accepted { rejected, message }) => ok(
            enc,
            ExportTraceServiceResponse {
                partial_success: (rejected > 0 || !message.is_empty()).then_some(
                    ExportTracePartialSuccess {
                        rejected_spans: rejected as i64,
                        error_message: message,
                    },
                ),
            },
        ),
        Err(e) => export_error(enc, e),
    }
}

async fn logs(State(ctx): State<Ctx>, req: Request) -> Response {
    let (enc, req, len) =
        match decode::<ExportLogsServiceRequest>(&ctx, req, otlp_json::parse_logs).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match ctx.pipeline.logs(req, len).await {
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

async fn metrics(State(ctx): State<Ctx>, req: Request) -> Response {
    let (enc, req, len) =
        match decode::<ExportMetricsServiceRequest>(&ctx, req, otlp_json::parse_metrics).await {
            Ok(x) => x,
            Err(r) => return r,
        };
    match ctx.pipeline.metrics(req, len).await {
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
