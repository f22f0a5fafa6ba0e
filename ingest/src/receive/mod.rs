//! The live OTLP receivers: gRPC (tonic) and HTTP (axum) on a tokio runtime, sharing
//! one pipeline into the store's writer. The desktop app and `serve` start them the
//! same way.

mod api;
mod auth;
mod budget;
mod grpc;
mod http;
mod listen;
mod pipeline;
mod rpc_status;
mod scrape;

pub use api::{API_PREFIX, Answer, ApiReply, QueryApi};
pub use auth::{EmptyToken, Token};
pub use listen::ConnLimits;
pub use pipeline::{Accepted, ExportError, Pipeline, ReceiverStats, Target};
pub use scrape::{Render, Scrape};

use std::net::SocketAddr;
use std::sync::Arc;
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
    /// Bytes all request bodies being read and decoded may hold together; past it
    /// clients are told to retry (HTTP 429, gRPC RESOURCE_EXHAUSTED) before more is read.
    pub body_budget_bytes: usize,
    /// Bearer token both transports require, if any (never empty).
    pub token: Option<String>,
    /// Connections both receivers may hold open together (lowered to fit the
    /// file-descriptor limit).
    pub max_connections: usize,
    /// A connection with nothing read or written for this long is closed.
    pub idle_timeout: std::time::Duration,
    /// An HTTP request's headers must arrive within this.
    pub header_read_timeout: std::time::Duration,
    /// What `GET /metrics` on the HTTP port answers; `None`: no such endpoint.
    pub scrape: Option<Scrape>,
    /// What `GET /api/v1/…` on the HTTP port answers; `None`: no query API.
    pub api: Option<QueryApi>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            grpc: Some(SocketAddr::from(([127, 0, 0, 1], 4317))),
            http: Some(SocketAddr::from(([127, 0, 0, 1], 4318))),
            max_message_bytes: 64 << 20,
            queue_bytes: 256 << 20,
            body_budget_bytes: 128 << 20,
            token: None,
            max_connections: 512,
            idle_timeout: std::time::Duration::from_secs(60),
            header_read_timeout: std::time::Duration::from_secs(10),
            scrape: None,
            api: None,
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
    /// The token is empty.
    #[error(transparent)]
    EmptyToken(#[from] EmptyToken),
    /// A size that makes every request fail.
    #[error("{0}")]
    BadLimit(&'static str),
}

/// Running receivers.
pub struct Receivers {
    /// The addresses actually bound (port 0 resolved).
    pub grpc_addr: Option<SocketAddr>,
    /// The HTTP address actually bound.
    pub http_addr: Option<SocketAddr>,
    /// The connection limits in force (the cap after fitting the descriptor limit).
    pub limits: ConnLimits,
    /// Counters since start.
    pub stats: Arc<ReceiverStats>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Receivers {
    /// Binds both listeners (so a port in use fails here, naming it) and starts
    /// serving on the current tokio runtime.
    pub async fn start(config: ReceiverConfig, target: Target) -> Result<Receivers, StartError> {
        if config.max_message_bytes == 0 {
            return Err(StartError::BadLimit(
                "the largest message size is 0: every request would be refused",
            ));
        }
        let token = Token::new(config.token.clone())?;
        let pipeline = Arc::new(Pipeline::new(target, config.queue_bytes));
        let budget = budget::Budget::new(config.body_budget_bytes);
        let limits = ConnLimits::new(
            config.max_connections,
            config.idle_timeout,
            config.header_read_timeout,
        );
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
            let limits = limits.clone();
            let incoming = futures_util::stream::unfold(listener, move |listener| {
                let limits = limits.clone();
                async move {
                    let io = limits
                        .accept(&listener, "OTLP/gRPC", listen::refuse_grpc)
                        .await;
                    Some((Ok::<_, std::io::Error>(io), listener))
                }
            });
            let budget = budget.clone();
            tasks.push(tokio::spawn(async move {
                let result = tonic::transport::Server::builder()
                    .layer(tower::util::MapRequestLayer::new(move |req| {
                        grpc::budgeted(req, &budget)
                    }))
                    .layer(tower::util::MapResponseLayer::new(grpc::otlp_status_codes))
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
            let app = http::router(
                pipeline.clone(),
                token,
                config.max_message_bytes,
                budget,
                config.scrape.clone(),
                config.api.clone(),
            );
            tasks.push(tokio::spawn(http::serve(
                listener,
                app,
                limits.clone(),
                stopped.clone(),
            )));
        }
        Ok(Receivers {
            grpc_addr,
            http_addr,
            limits,
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
