//! OTLP/gRPC: the trace, logs and metrics services on tonic, gzip accepted, with a
//! message size limit answered as RESOURCE_EXHAUSTED.

use super::auth::Token;
use super::pipeline::{Accepted, ExportError, Pipeline};
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
use tonic::{Request, Response, Status};

/// The three services sharing one pipeline.
#[derive(Clone)]
pub struct Services {
    pipeline: Arc<Pipeline>,
    token: Token,
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

impl Services {
    fn check<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let header = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if self.token.allows(header) {
            Ok(())
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
        self.check(&req)?;
        let req = req.into_inner();
        let bytes = req.encoded_len();
        let Accepted { rejected, message } =
            self.pipeline.traces(req, bytes).await.map_err(status)?;
        let partial_success = (rejected > 0).then_some(ExportTracePartialSuccess {
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
        self.check(&req)?;
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
        self.check(&req)?;
        let req = req.into_inner();
        let bytes = req.encoded_len();
        self.pipeline.metrics(req, bytes).await.map_err(status)?;
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// The tonic router with the three services.
pub fn router(
    pipeline: Arc<Pipeline>,
    token: Token,
    max_message_bytes: usize,
) -> tonic::service::Routes {
    let s = Services { pipeline, token };
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
    tonic::service::Routes::new(traces)
        .add_service(logs)
        .add_service(metrics)
}

/// tonic answers an oversized message with OUT_OF_RANGE; OTLP clients expect
/// RESOURCE_EXHAUSTED (not retryable) with the limit in the message.
pub fn oversize_as_resource_exhausted<B>(mut resp: http::Response<B>) -> http::Response<B> {
    let headers = resp.headers_mut();
    let is_oversize = headers.get("grpc-status").is_some_and(|v| v == "11")
        && headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|m| m.contains("too%20large") || m.contains("too large"));
    if is_oversize {
        let detail = headers
            .get("grpc-message")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        let text = format!(
            "message too large for this collector ({}); raise --max-message-size",
            percent_decode(&detail)
        );
        if let Ok(v) = http::HeaderValue::from_str(&percent_encode(&text)) {
            headers.insert("grpc-message", v);
        }
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
