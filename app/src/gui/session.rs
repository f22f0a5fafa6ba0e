//! One open database in the window: the store, its writer when it can be written, the
//! live OTLP receivers feeding it, and what the user should know about it (read-only,
//! port in use). Opening and closing run off the UI thread.

use crate::scrape::ScrapeOptions;
use ingest::receive::{ReceiverConfig, ReceiverStats, Receivers, StartError};
use ingest::synth::SynthConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{Database, OpenMode, PriceTable, Store, StoreError, Writer};

/// What to open.
#[derive(Clone)]
pub struct OpenRequest {
    /// The database file.
    pub path: PathBuf,
    /// Fill it with demo traffic when it is new.
    pub demo: bool,
    /// Keep synthetic traffic arriving while it is open (a demo database).
    pub demo_live: bool,
    /// Where to listen for OTLP; `None` receives nothing.
    pub listen: Option<ReceiverConfig>,
    /// How the receivers answer `GET /metrics`; `None`: not at all.
    pub scrape: Option<ScrapeOptions>,
    /// Prices in force.
    pub prices: PriceTable,
}

/// An open database.
pub struct Session {
    /// The file.
    pub path: PathBuf,
    /// The database (a file, or a team's ClickHouse), shared with the query cache.
    pub store: Arc<dyn Database>,
    /// The writer; `None` when browsing read-only.
    pub writer: Option<Arc<Writer>>,
    /// Why the database is read-only, when it is.
    pub read_only: Option<String>,
    /// The receivers, when listening.
    pub live: Option<Live>,
    /// Things the user should know (a port in use, demo data created).
    pub notices: Vec<String>,
    /// The synthetic stream into a demo database, while it runs.
    demo_stream: Option<ingest::demo::LiveDemo>,
    /// The view a snapshot opens on, until the window takes it.
    pub opening_view: Option<crate::gui::opening_view::OpeningView>,
    /// Whether the file is a snapshot of a selection (see [`crate::snapshot`]).
    pub snapshot: bool,
}

impl Session {
    /// Opens `req.path`: writable when possible, else read-only with the reason; starts
    /// the receivers when writable. Errors are sentences for the user. `upgrading`
    /// hears of each step bringing an older file forward.
    pub fn open(req: &OpenRequest, upgrading: &dyn Fn(store::Upgrade)) -> Result<Session, String> {
        if let Some(url) = req
            .path
            .to_str()
            .filter(|s| store::clickhouse::is_clickhouse_url(s))
        {
            return Session::open_clickhouse(url, req);
        }
        let started = std::time::Instant::now();
        let mut notices = Vec::new();
        let is_new = !req.path.exists();
        if is_new && let Some(dir) = req.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        // A snapshot opens read-only, on the view it was saved with: nothing the
        // window receives lands in a file someone shared.
        let snapshot = match (!is_new)
            .then(|| store::snapshot_mark_of(&req.path))
            .flatten()
        {
            Some(mark) => Some((
                mark,
                Store::open(&req.path, OpenMode::ReadOnly).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let mut opening_view = None;
        let (store, read_only) = match snapshot {
            Some((mark, s)) => {
                opening_view = crate::gui::opening_view::OpeningView::from_json(&mark.view);
                (s, Some("a snapshot of a selection: opened read-only, on the view and filters it was saved with".to_string()))
            }
            None => match Store::open_reporting(&req.path, OpenMode::ReadWrite, upgrading) {
                Ok(s) => (s, None),
                Err(e @ (StoreError::Db(_) | StoreError::Io { .. })) if !is_new => {
                    let s =
                        Store::open(&req.path, OpenMode::ReadOnly).map_err(|_| e.to_string())?;
                    (s, Some(format!("opened read-only: {e}")))
                }
                Err(e) => return Err(e.to_string()),
            },
        };
        store.set_prices(req.prices.clone());
        let store = Arc::new(store);
        let database: Arc<dyn Database> = store.clone();
        tracing::debug!(path = %req.path.display(), ms = started.elapsed().as_secs_f64() * 1e3, "database open");
        let writer = match read_only {
            Some(_) => None,
            None => Some(Arc::new(store.writer().map_err(|e| e.to_string())?)),
        };
        if let (true, true, Some(w)) = (req.demo, is_new, &writer) {
            let end_ns = crate::timearg::now_ns() / 60_000_000_000 * 60_000_000_000;
            let cfg = SynthConfig {
                traces: 20_000,
                start_ns: end_ns - 7 * 86_400_000_000_000,
                end_ns,
                seed: 42,
            };
            let report = ingest::demo::generate(cfg, w, &|_| {}).map_err(|e| e.to_string())?;
            notices.push(format!(
                "Created the demo database with {} spans of synthetic traffic over the last 7 days",
                report.spans
            ));
        }
        let demo_stream = match (&writer, req.demo_live) {
            (Some(w), true) => {
                notices.push(
                    "Demo: synthetic traffic keeps arriving (a few calls a second) while this database is open; start with --demo --no-live to stop it"
                        .into(),
                );
                Some(ingest::demo::LiveDemo::start(
                    w.clone(),
                    DEMO_TRACES_PER_SECOND,
                ))
            }
            _ => None,
        };
        let live = match (&writer, &req.listen) {
            (Some(w), Some(config)) => {
                let mut config = config.clone();
                config.scrape = crate::scrape::endpoint_if(database.clone(), req.scrape);
                let (live, problems) = Live::start(config, w.clone());
                notices.extend(problems);
                live
            }
            (None, Some(_)) => {
                notices.push("Not receiving live data: the database is read-only".into());
                None
            }
            _ => None,
        };
        Ok(Session {
            path: req.path.clone(),
            store: database,
            writer,
            read_only,
            live,
            notices,
            demo_stream,
            snapshot: opening_view.is_some(),
            opening_view,
        })
    }

    /// Opens a team's ClickHouse (the Collector's tables) for reading: the password
    /// from the URL or `CLICKHOUSE_PASSWORD`; remembered without it.
    fn open_clickhouse(url: &str, req: &OpenRequest) -> Result<Session, String> {
        let endpoint = store::clickhouse::Endpoint::parse(url, None).map_err(|e| e.to_string())?;
        let ch = store::ClickHouse::connect(
            endpoint,
            false,
            Arc::new(ingest::collector::normalize_collector_span),
        )
        .map_err(|e| e.to_string())?;
        ch.set_prices(req.prices.clone());
        Ok(Session {
            path: PathBuf::from(store::clickhouse::without_password(url)),
            store: Arc::new(ch),
            writer: None,
            read_only: Some("a team's ClickHouse, read-only".into()),
            live: None,
            notices: Vec::new(),
            demo_stream: None,
            opening_view: None,
            snapshot: false,
        })
    }

    /// Starts the receivers on a writable database (kept apart from [`Session::open`] so
    /// that a previous database can free the ports first); problems become notices.
    pub fn start_live(&mut self, mut config: ReceiverConfig, scrape: Option<ScrapeOptions>) {
        match &self.writer {
            Some(w) => {
                config.scrape = crate::scrape::endpoint_if(self.store.clone(), scrape);
                let (live, problems) = Live::start(config, w.clone());
                self.live = live;
                self.notices.extend(problems);
            }
            None if self.is_clickhouse() => self.notices.push(
                "Not receiving live data here: a team's ClickHouse is written by its OpenTelemetry Collector (or serve)"
                    .into(),
            ),
            None => self
                .notices
                .push("Not receiving live data: the database is open read-only".into()),
        }
    }

    /// Spans that arrived while open: at the receivers, and from the demo stream.
    pub fn spans_arrived(&self) -> u64 {
        let received = self.live.as_ref().map_or(0, |l| {
            l.stats().spans.load(std::sync::atomic::Ordering::Relaxed)
        });
        received + self.demo_stream.as_ref().map_or(0, |d| d.spans())
    }

    /// Whether this is a team's ClickHouse rather than a file.
    pub fn is_clickhouse(&self) -> bool {
        self.writer.is_none()
            && self
                .path
                .to_str()
                .is_some_and(store::clickhouse::is_clickhouse_url)
    }

    /// The file name, or the engine and server of a ClickHouse, for the title bar.
    pub fn file_name(&self) -> String {
        if self.is_clickhouse() {
            return self.store.describe();
        }
        file_name(&self.path)
    }

    /// Stops the receivers (letting requests in flight commit) and closes the writer.
    pub fn close(self) -> Result<(), String> {
        if let Some(stream) = self.demo_stream {
            stream.stop();
        }
        if let Some(live) = self.live {
            live.shutdown();
        }
        if let Some(writer) = self.writer {
            match Arc::try_unwrap(writer) {
                Ok(w) => w.close().map_err(|e| e.to_string())?,
                Err(_) => return Err("the database writer is still in use".into()),
            }
        }
        Ok(())
    }
}

/// Traces a second the demo stream writes (two or three LLM calls each).
const DEMO_TRACES_PER_SECOND: u64 = 1;

/// The last component of a path, for display.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The OTLP receivers on their own tokio runtime.
pub struct Live {
    runtime: tokio::runtime::Runtime,
    receivers: Receivers,
}

impl Live {
    /// Starts listening; a port that cannot be bound is left out and reported, and the
    /// other transport still starts.
    fn start(mut config: ReceiverConfig, writer: Arc<Writer>) -> (Option<Live>, Vec<String>) {
        let mut notices = Vec::new();
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("otlp")
            .build()
        {
            Ok(r) => r,
            Err(e) => return (None, vec![format!("Not receiving live data: {e}")]),
        };
        loop {
            if config.grpc.is_none() && config.http.is_none() {
                return (None, notices);
            }
            match runtime.block_on(Receivers::start(
                config.clone(),
                ingest::receive::Target::Database(writer.clone()),
            )) {
                Ok(receivers) => return (Some(Live { runtime, receivers }), notices),
                Err(StartError::Bind {
                    addr,
                    protocol,
                    source,
                }) => {
                    notices.push(format!(
                        "Not listening for {protocol} on {addr}: {source} (another collector or window may be using it). Browsing works; start with --{} ADDR to use another address.",
                        if protocol.contains("gRPC") { "grpc" } else { "http" }
                    ));
                    if config.grpc == Some(addr) {
                        config.grpc = None;
                    } else {
                        config.http = None;
                    }
                }
                Err(e) => {
                    notices.push(format!("Not receiving live data: {e}"));
                    return (None, notices);
                }
            }
        }
    }

    /// The gRPC address listened on.
    pub fn grpc(&self) -> Option<SocketAddr> {
        self.receivers.grpc_addr
    }

    /// The HTTP address listened on.
    pub fn http(&self) -> Option<SocketAddr> {
        self.receivers.http_addr
    }

    /// Counters of what arrived.
    pub fn stats(&self) -> &Arc<ReceiverStats> {
        &self.receivers.stats
    }

    fn shutdown(self) {
        let Live { runtime, receivers } = self;
        runtime.block_on(receivers.shutdown());
    }
}
