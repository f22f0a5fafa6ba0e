//! The live OTLP receivers: gRPC (tonic) and HTTP (axum) on a tokio runtime, sharing
//! one pipeline into the store's writer. The desktop app and `serve` start them the
//! same way.

mod auth;
mod grpc;
mod http;
mod pipeline;

pub use auth::Token;
pub use pipeline::{Accepted, ExportError, Pipeline, ReceiverStats};

use std::net::SocketAddr;
use std::sync::Arc;
use store::Writer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// gRPC address (`127.0.0.1:4317`); `None` disables gRPC.
    pub grpc: Option<SocketAddr>,
    /// HTTP address (`127.0.0.1:4318`); `None` disables HTTP.
    pub http: Option<SocketAddr>,
    /// Largest request accepted, in bytes (after decompression).
    pub max_message_bytes: usize,
    /// Bytes of requests admitted but not yet committed; past it clients are told to
    /// retry.
    pub queue_bytes: usize,
    /// Bearer token both transports require, if any.
    pub token: Option<String>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            grpc: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4318))),
            max_message_bytes: 64 << 20,
            queue_bytes: 256 << 20,
            token: None,
        }
    }
}

/// Why the receivers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address is taken or not ours to bind.
    #[error("cannot listen on {addr} ({protocol}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// `OTLP/gRPC` or `OTLP/HTTP`.
        protocol: &'static str,
        /// The OS error (address in use, permission denied).
        source: std::io::Error,
    },
}

/// Running receivers.
pub struct Receivers {
    /// The addresses actually bound (port 0 resolved).
    pub grpc_addr: Option<SocketAddr>,
    /// The HTTP address actually bound.
    pub http_addr: Option<SocketAddr>,
    /// Counters since start.
    pub stats: Arc<ReceiverStats>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Receivers {
    /// Binds both listeners (so a port in use fails here, naming it) and starts
    /// serving on the current tokio runtime.
    pub async fn start(
        config: ReceiverConfig,
        writer: Arc<Writer>,
    ) -> Result<Receivers, StartError> {
        let pipeline = Arc::new(Pipeline::new(writer, config.queue_bytes));
        let token = Token::new(config.token.clone());
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut grpc_addr = None;
        let mut http_addr = None;

        let grpc_listener = match config.grpc {
            Some(addr) => Some(bind(addr, "OTLP/gRPC").await?),
            None => None,
        };
        let http_listener = match config.http {
            Some(addr) => Some(bind(addr, "OTLP/HTTP").await?),
            None => None,
        };
        if let Some(listener) = grpc_listener {
            grpc_addr = listener.local_addr().ok();
            let routes = grpc::router(pipeline.clone(), token.clone(), config.max_message_bytes);
            let mut stopped = stopped.clone();
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            tasks.push(tokio::spawn(async move {
                let result = tonic::transport::Server::builder()
                    .layer(tower::util::MapResponseLayer::new(
                        grpc::oversize_as_resource_exhausted,
                    ))
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(incoming, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
                if let Err(e) = result {
                    tracing::error!("OTLP/gRPC server stopped: {e}");
                }
            }));
        }
        if let Some(listener) = http_listener {
            http_addr = listener.local_addr().ok();
            let app = http::router(pipeline.clone(), token, config.max_message_bytes);
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let result = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await;
                if let Err(e) = result {
                    tracing::error!("OTLP/HTTP server stopped: {e}");
                }
            }));
        }
        Ok(Receivers {
            grpc_addr,
            http_addr,
            stats: pipeline.stats.clone(),
            stop,
            tasks,
        })
    }

    /// Stops accepting, lets requests in flight finish (and commit), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn bind(addr: SocketAddr, protocol: &'static str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            addr,
            protocol,
            source,
        })
}
