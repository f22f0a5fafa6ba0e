//! OTLP/gRPC: the trace, logs and metrics services on tonic, gzip accepted. The token is
//! checked from the metadata before the message is read; the message is read within the
//! shared memory budget (past it: RESOURCE_EXHAUSTED with a retry delay); an oversized
//! message is RESOURCE_EXHAUSTED and a malformed one INVALID_ARGUMENT.

use super::auth::Token;
use super::budget::{Budget, Hold};
use super::pipeline::{Accepted, ExportError, Pipeline};
use super::rpc_status::{Any, RpcStatus};
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use std::sync::Arc;
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

/// The three services sharing one pipeline.
#[derive(Clone)]
pub struct Services {
    pipeline: Arc<Pipeline>,
}

fn status(e: ExportError) -> Status {
    match e {
        ExportError::Overloaded => {
            Status::unavailable("the collector is busy committing earlier data; retry")
        }
        ExportError::Store(m) => {
            Status::unavailable(format!("could not store the data, retry later: {m}"))
        }
    }
}

/// Lets a request in when its metadata carries the token; runs before the message is
/// read.
#[derive(Clone)]
struct Auth(Token);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let header = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if self.0.allows(header) {
            Ok(req)
        } else {
            Err(Status::unauthenticated("missing or wrong bearer token"))
        }
    }
}

#[tonic::async_trait]
impl TraceService for Services {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let req = req.into_inner();
        let bytes = req.encoded_len();
        let Accepted { rejected, message } =
            self.pipeline.traces(req, bytes).await.map_err(status)?;
        let partial_success =
            (rejected > 0 || !message.is_empty()).then_some(ExportTracePartialSuccess {
                rejected_spans: rejected as i64,
                error_message: message,
            });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Services {
    async fn export(
        &self,
        req: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let req = req.into_inner();
        let bytes = req.encoded_len();
        let Accepted { rejected, message } =
            self.pipeline.logs(req, bytes).await.map_err(status)?;
        let partial_success = (rejected > 0).then_some(ExportLogsPartialSuccess {
            rejected_log_records: rejected as i64,
            error_message: message,
        });
        Ok(Response::new(ExportLogsServiceResponse { partial_success }))
    }
}

#[tonic::async_trait]
impl MetricsService for Services {
    async fn export(
        &self,
        req: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let req = req.into_inner();
        let bytes = req.encoded_len();
        self.pipeline.metrics(req, bytes).await.map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// The tonic router with the three services, each behind the token check.
pub fn router(
    pipeline: Arc<Pipeline>,
    token: Token,
    max_message_bytes: usize,
) -> tonic::service::Routes {
    let s = Services { pipeline };
    let auth = Auth(token);
    let traces = TraceServiceServer::new(s.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let logs = LogsServiceServer::new(s.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    let metrics = MetricsServiceServer::new(s)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message_bytes);
    tonic::service::Routes::new(InterceptedService::new(traces, auth.clone()))
        .add_service(InterceptedService::new(logs, auth.clone()))
        .add_service(InterceptedService::new(metrics, auth))
}

/// Wraps a request's body so that each part is reserved in the shared budget before
/// tonic buffers it.
pub fn budgeted(
    req: http::Request<tonic::body::Body>,
    budget: &Budget,
) -> http::Request<tonic::body::Body> {
    let hold = budget.hold();
    req.map(|inner| {
        tonic::body::Body::new(BudgetedBody {
            inner,
            hold,
            read: 0,
        })
    })
}

/// A request body that reserves budget for every data frame as it arrives.
struct BudgetedBody {
    inner: tonic::body::Body,
    hold: Hold,
    read: usize,
}

impl http_body::Body for BudgetedBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let frame = match std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(f))) => f,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let read = self.read + data.len();
            if self.hold.grow_to(read).is_err() {
                return Poll::Ready(Some(Err(retry_later(
                    "the collector is reading as many messages as its memory budget allows; retry",
                ))));
            }
            self.read = read;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` of one second, which OTLP clients
/// take as "retry after the delay".
fn retry_later(message: &str) -> Status {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Duration {
        #[prost(int64, tag = "1")]
        seconds: i64,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        retry_delay: Option<Duration>,
    }
    let info = RetryInfo {
        retry_delay: Some(Duration { seconds: 1 }),
    };
    let details = RpcStatus {
        code: tonic::Code::ResourceExhausted as i32,
        message: message.to_string(),
        details: vec![Any {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: info.encode_to_vec(),
        }],
    };
    Status::with_details(
        tonic::Code::ResourceExhausted,
        message,
        details.encode_to_vec().into(),
    )
}

/// tonic answers an oversized message with OUT_OF_RANGE and a malformed one with
/// INTERNAL; OTLP clients expect RESOURCE_EXHAUSTED (with the limit in the message) and
/// INVALID_ARGUMENT, neither to be retried as they are.
pub fn otlp_status_codes<B>(mut resp: http::Response<B>) -> http::Response<B> {
    let headers = resp.headers_mut();
    let code = headers.get("grpc-status").and_then(|v| v.to_str().ok());
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    let (new_code, text) = match code {
        Some("11") if message.contains("too large") => (
            "8",
            format!("message too large for this collector ({message}); raise --max-message-size"),
        ),
        Some("13") if message.contains("decode") => {
            ("3", format!("malformed OTLP protobuf message: {message}"))
        }
        _ => return resp,
    };
    headers.insert("grpc-status", http::HeaderValue::from_static(new_code));
    if let Ok(v) = http::HeaderValue::from_str(&percent_encode(&text)) {
        headers.insert("grpc-message", v);
    }
    resp
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
