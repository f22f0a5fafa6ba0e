//! Accepting connections without letting them exhaust the process: one cap on open
//! connections shared by both receivers (kept below the file-descriptor limit), an idle
//! timeout on every connection, and a header-read timeout on HTTP. Past the cap an HTTP
//! client gets `503` with `Retry-After` and a gRPC connection is closed (both retryable
//! for OTLP clients); each refusal is logged, at most every ten seconds.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// File descriptors kept for everything but connections: the database, its search
/// index, the window, listeners, refusals being answered.
const RESERVED_FDS: u64 = 256;

/// The connection limits both receivers share.
#[derive(Clone)]
pub struct ConnLimits {
    slots: Arc<Semaphore>,
    /// Connections allowed open at once.
    pub max: usize,
    /// A connection with no byte read or written for this long is closed.
    pub idle: Duration,
    /// An HTTP request's headers must arrive within this.
    pub header_read: Duration,
    refused: Arc<AtomicU64>,
    last_warned: Arc<AtomicU64>,
    started: Instant,
}

impl ConnLimits {
    /// Limits of at most `max` connections, lowered to fit the file-descriptor limit
    /// (raised first to its hard limit where the system allows).
    pub fn new(max: usize, idle: Duration, header_read: Duration) -> Self {
        let fds = raise_fd_limit();
        let fit = fds.saturating_sub(RESERVED_FDS).max(16) as usize;
        let max = max.clamp(1, fit);
        ConnLimits {
            slots: Arc::new(Semaphore::new(max)),
            max,
            idle,
            header_read,
            refused: Arc::default(),
            last_warned: Arc::default(),
            started: Instant::now(),
        }
    }

    /// A slot for a new connection, or `None` at the cap (counted and logged).
    fn admit(&self, protocol: &str) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Some(p);
        }
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        // Seconds since start, shifted by the period so that the first refusal (nothing
        // warned yet: 0) is always logged.
        let now = self.started.elapsed().as_secs() + 10;
        let last = self.last_warned.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .last_warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "{protocol}: {} connections are open (the limit); refusing new ones ({n} so far)",
                self.max
            );
        }
        None
    }

    /// Accepts the next connection the cap allows, wrapped with the idle timeout.
    /// Connections past the cap get `refuse` (which may answer) and are closed; accept
    /// errors (out of descriptors) are logged and retried after a pause.
    pub async fn accept(
        &self,
        listener: &TcpListener,
        protocol: &str,
        refuse: fn(TcpStream),
    ) -> Guarded<TcpStream> {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    match self.admit(protocol) {
                        Some(slot) => return Guarded::new(stream, slot, self.idle),
                        None => refuse(stream),
                    }
                }
                Err(e) => {
                    tracing::warn!("{protocol}: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Answers an HTTP connection past the cap with `503` and `Retry-After`, as OTLP's
/// `google.rpc.Status`, then reads what the client sends for up to a quarter second
/// before closing (closing with unread data would reset the connection and lose the
/// answer). At most [`REFUSING`] connections are answered at once; past that they are
/// closed at once.
pub fn refuse_http(stream: TcpStream) {
    const BODY: &str =
        r#"{"code":14,"message":"the collector has too many open connections; retry"}"#;
    static ANSWERING: Semaphore = Semaphore::const_new(REFUSING);
    let Ok(slot) = ANSWERING.try_acquire() else {
        return;
    };
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _slot = slot;
        let mut stream = stream;
        let answer = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
            BODY.len()
        );
        let _ = tokio::time::timeout(Duration::from_millis(250), async {
            stream.write_all(answer.as_bytes()).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 4096];
            while stream.read(&mut sink).await? > 0 {}
            io::Result::Ok(())
        })
        .await;
    });
}

/// HTTP connections past the cap answered at once (each holds a descriptor for up to a
/// quarter second); past it they are closed unanswered.
const REFUSING: usize = 32;

/// Closes a gRPC connection past the cap (clients see UNAVAILABLE and retry).
pub fn refuse_grpc(_: TcpStream) {}

/// A connection holding its slot, closed with `TimedOut` when nothing was read or
/// written for the idle time while it waits to read.
pub struct Guarded<T> {
    io: T,
    _slot: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<T> Guarded<T> {
    fn new(io: T, slot: OwnedSemaphorePermit, idle: Duration) -> Self {
        Guarded {
            io,
            _slot: slot,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn active(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Guarded<TcpStream> {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// Raises the soft open-file limit to the hard limit and returns the limit in force
/// (unlimited counts as 1M).
#[cfg(unix)]
fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let want = limit.maximum.unwrap_or(1 << 20).min(1 << 20);
    if limit.current.is_some_and(|c| c < want) {
        limit.current = Some(want);
        if setrlimit(Resource::Nofile, limit).is_err() {
            return getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}

#[cfg(not(unix))]
fn raise_fd_limit() -> u64 {
    1 << 20
}
