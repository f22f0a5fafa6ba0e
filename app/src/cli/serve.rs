//! `serve`: the headless collector. Listens for OTLP, commits every acknowledged span,
//! applies retention, and on SIGINT/SIGTERM stops accepting, commits what was accepted,
//! checkpoints and exits 0.

use super::DbArgs;
use crate::timearg::{duration_ns, now_ns, size_bytes};
use anyhow::{Context, bail};
use clap::Args;
use ingest::receive::{ReceiverConfig, Receivers};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use store::OpenMode;

/// Prints one status line on stdout. A server holding acknowledged spans must not stop
/// because its stdout went away (`serve | head -1`, a supervisor that stopped reading):
/// `println!` would panic on the broken pipe, so a failed write is ignored here.
macro_rules! say {
    ($($line:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($line)*);
    }};
}

/// Arguments of `serve`, also used by the desktop app for its receivers.
#[derive(Args, Debug, Clone)]
pub struct ListenArgs {
    /// OTLP/gRPC address ("off" to disable)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4317")]
    grpc: String,
    /// OTLP/HTTP address ("off" to disable)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4318")]
    http: String,
    /// Allow listening on addresses other than loopback (needs --token)
    #[arg(long)]
    allow_remote: bool,
    /// With --allow-remote, listen without a token: anyone who can reach the port can
    /// write into the database
    #[arg(long, requires = "allow_remote")]
    insecure_no_token: bool,
    /// Require `Authorization: Bearer TOKEN` on both transports
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LLM_OBSERVATORY_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Largest request accepted (after decompression)
    #[arg(long, value_name = "SIZE", default_value = "64MiB")]
    max_message_size: String,
    /// Requests admitted but not yet committed, in bytes; past it clients are told to retry
    #[arg(long, value_name = "SIZE", default_value = "256MiB")]
    queue_size: String,
    /// Memory all request bodies being read may hold together; past it clients are told
    /// to retry (HTTP 429, gRPC RESOURCE_EXHAUSTED)
    #[arg(long, value_name = "SIZE", default_value = "128MiB")]
    body_memory: String,
    /// Connections both receivers may hold open together (lowered to fit the open-file
    /// limit); past it HTTP clients get 503 and gRPC connections are closed
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Close a connection after this long with nothing sent or received
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    idle_timeout: String,
    /// Close an HTTP connection whose request headers take longer than this
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    header_timeout: String,
    /// On GET /metrics (the HTTP port), label this many of the busiest models and
    /// services by name; the rest are "other"
    #[arg(long, value_name = "N", default_value_t = 20)]
    metrics_top: usize,
    /// Do not answer GET /metrics (the Prometheus scrape) on the HTTP port
    #[arg(long)]
    no_metrics: bool,
    /// Do not answer the query API (GET /api/v1/…) on the HTTP port (serve only)
    #[arg(long)]
    no_api: bool,
}

impl ListenArgs {
    /// The receiver configuration these flags describe.
    pub fn config(&self) -> anyhow::Result<ReceiverConfig> {
        match self.optional_config()? {
            Some(c) => Ok(c),
            None => bail!("both --grpc and --http are off: nothing to listen on"),
        }
    }

    /// The configuration, or `None` when both transports are off (the window then
    /// browses without receiving).
    pub fn optional_config(&self) -> anyhow::Result<Option<ReceiverConfig>> {
        let grpc = parse_addr(&self.grpc, "--grpc", self.allow_remote)?;
        let http = parse_addr(&self.http, "--http", self.allow_remote)?;
        if grpc.is_none() && http.is_none() {
            return Ok(None);
        }
        if self.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            bail!(
                "the token is empty (--token '' or an empty LLM_OBSERVATORY_TOKEN): an empty token would let anyone in; give a token, or leave both unset"
            );
        }
        let remote = [grpc, http]
            .into_iter()
            .flatten()
            .find(|a| !a.ip().is_loopback());
        if let Some(addr) = remote
            && self.token.is_none()
        {
            if !self.insecure_no_token {
                bail!(
                    "{addr} is reachable from other machines and no --token is set: anyone who can reach it could write into the database. Set --token (or LLM_OBSERVATORY_TOKEN), or add --insecure-no-token if this network is trusted"
                );
            }
            eprintln!(
                "warning: listening on {addr} without a token (--insecure-no-token): anyone who can reach it can write into the database"
            );
        }
        let max_message_bytes = size_bytes(&self.max_message_size)? as usize;
        if max_message_bytes == 0 {
            bail!("--max-message-size 0 would refuse every request; give a size like 64MiB");
        }
        let body_budget_bytes = size_bytes(&self.body_memory)? as usize;
        if body_budget_bytes == 0 {
            bail!("--body-memory 0 would refuse every request; give a size like 128MiB");
        }
        let duration = |flag: &str, text: &str| -> anyhow::Result<Duration> {
            match humantime::parse_duration(text) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => {
                    bail!("{flag} 0 would close every connection at once; give a duration like 60s")
                }
                Err(e) => bail!("{flag} {text:?} is not a duration ({e}); try 60s"),
            }
        };
        Ok(Some(ReceiverConfig {
            grpc,
            http,
            max_message_bytes,
            queue_bytes: size_bytes(&self.queue_size)? as usize,
            body_budget_bytes,
            token: self.token.clone(),
            max_connections: self.max_connections as usize,
            idle_timeout: duration("--idle-timeout", &self.idle_timeout)?,
            header_read_timeout: duration("--header-timeout", &self.header_timeout)?,
            scrape: None,
            api: None,
        }))
    }

    /// The query API over `db`, unless `--no-api`.
    pub fn api(&self, db: Arc<dyn store::Database>) -> Option<ingest::receive::QueryApi> {
        (!self.no_api).then(|| crate::api::endpoint(db))
    }

    /// How `GET /metrics` is answered, if at all (`--no-metrics`).
    pub fn scrape_options(&self) -> Option<crate::scrape::ScrapeOptions> {
        (!self.no_metrics).then_some(crate::scrape::ScrapeOptions {
            top: self.metrics_top,
        })
    }
}

fn parse_addr(text: &str, flag: &str, allow_remote: bool) -> anyhow::Result<Option<SocketAddr>> {
    if text == "off" {
        return Ok(None);
    }
    let addr: SocketAddr = text
        .parse()
        .with_context(|| format!("{flag} {text:?} is not an address like 127.0.0.1:4317"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        bail!(
            "{flag} {addr} is not a loopback address; add --allow-remote (with --token) to listen beyond this machine"
        );
    }
    Ok(Some(addr))
}

/// Arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    listen: ListenArgs,
    /// Delete data older than DURATION, checked every minute
    #[arg(long, value_name = "DURATION")]
    retain: Option<String>,
    /// Keep the database at most SIZE, checked every minute
    #[arg(long, value_name = "SIZE")]
    max_db_size: Option<String>,
    /// Write received traces into a team's ClickHouse (the OpenTelemetry Collector's
    /// otel_traces table, in its row layout) instead of a database file; each request
    /// is answered once ClickHouse acknowledged its insert
    #[arg(long, value_name = "URL", conflicts_with_all = ["db", "retain", "max_db_size"])]
    clickhouse: Option<String>,
    /// With --clickhouse: create the database and the Collector's tables (its
    /// exporter's own DDL) where missing
    #[arg(long, requires = "clickhouse")]
    create_tables: bool,
    #[command(flatten)]
    alerts: AlertArgs,
    #[command(flatten)]
    digest: DigestArgs,
}

/// The scheduled digest's flags.
#[derive(Args, Debug)]
pub struct DigestArgs {
    /// Make a report of each period when it ends (1d, 7d, 1h): a dated file in
    /// --report-to and/or its summary POSTed to --report-webhook; a period that ended
    /// while the machine slept is made on waking, once
    #[arg(long, value_name = "DURATION")]
    report_every: Option<String>,
    /// The local time of day daily and weekly periods end [default: 00:00]
    #[arg(long, value_name = "HH:MM", requires = "report_every")]
    report_at: Option<String>,
    /// The folder of the dated reports (report-2026-12-07.html)
    #[arg(long, value_name = "DIR", requires = "report_every")]
    report_to: Option<std::path::PathBuf>,
    /// POST each digest's summary (JSON: text, period, file, figures) to this URL
    #[arg(long, value_name = "URL", requires = "report_every")]
    report_webhook: Option<String>,
    /// The dated files' format: html, pdf, or md (charts in a folder beside)
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "html",
        requires = "report_to"
    )]
    report_format: crate::report::Format,
}

impl DigestArgs {
    /// The digest these flags ask for, if any.
    fn plan(&self) -> anyhow::Result<Option<crate::digest::DigestPlan>> {
        let Some(every) = &self.report_every else {
            return Ok(None);
        };
        if self.report_to.is_none() && self.report_webhook.is_none() {
            bail!(
                "--report-every needs somewhere to send it: --report-to DIR, --report-webhook URL, or both"
            );
        }
        if let Some(url) = &self.report_webhook
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("--report-webhook {url:?}: give an http:// or https:// URL");
        }
        Ok(Some(crate::digest::DigestPlan {
            schedule: crate::digest::Schedule::new(every, self.report_at.as_deref())?,
            dir: self.report_to.clone(),
            format: self.report_format,
            webhook: self.report_webhook.clone(),
        }))
    }

    /// Starts the digest over `db`, printing what it makes.
    fn start(&self, db: Arc<dyn store::Database>) -> anyhow::Result<Option<crate::digest::Digest>> {
        let Some(plan) = self.plan()? else {
            return Ok(None);
        };
        say!(
            "a digest every {} ending {}{}",
            self.report_every.as_deref().unwrap_or_default(),
            self.report_at
                .as_deref()
                .unwrap_or("00:00 (or on the period)"),
            plan.dir
                .as_ref()
                .map(|d| format!(", written to {}", d.display()))
                .unwrap_or_default()
        );
        Ok(Some(crate::digest::Digest::start(db, plan, |line| {
            say!("{line}")
        })?))
    }
}

/// How alert rules are evaluated (by `serve` and the window).
#[derive(clap::Args, Debug, Clone)]
pub struct AlertArgs {
    /// Alert rules file (TOML) [default: alerts.toml in the platform config directory,
    /// or the built-in rules when it does not exist]
    #[arg(long, value_name = "FILE")]
    pub rules: Option<std::path::PathBuf>,
    /// Do not evaluate alert rules
    #[arg(long, conflicts_with = "rules")]
    pub no_alerts: bool,
    /// How often rules are evaluated
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub alert_every: String,
}

impl AlertArgs {
    /// The rules file in use, its rules, and the evaluation period; `None` when alerts
    /// are off. A bad file is an error naming its line and field.
    pub fn load(
        &self,
    ) -> anyhow::Result<Option<(Option<std::path::PathBuf>, crate::alerts::Rules, Duration)>> {
        if self.no_alerts {
            return Ok(None);
        }
        let every = humantime::parse_duration(&self.alert_every).map_err(|e| {
            anyhow::anyhow!(
                "--alert-every {:?} is not a duration ({e}); try 5s",
                self.alert_every
            )
        })?;
        let path = self
            .rules
            .clone()
            .or_else(crate::alerts::default_rules_path);
        let rules = match &path {
            Some(p) if self.rules.is_some() && !p.exists() => {
                anyhow::bail!("--rules {}: no such file", p.display())
            }
            Some(p) => crate::alerts::Rules::load(p).map_err(anyhow::Error::msg)?,
            None => crate::alerts::Rules::defaults(),
        };
        Ok(Some((path, rules, every)))
    }
}

/// Runs the collector until SIGINT or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = args.clickhouse.clone() {
        return run_into_clickhouse(args, &url);
    }
    let alerts = args.alerts.load()?;
    let mut config = args.listen.config()?;
    let retain = args.retain.as_deref().map(duration_ns).transpose()?;
    let max_size = args.max_db_size.as_deref().map(size_bytes).transpose()?;
    let store = Arc::new(args.db.open(OpenMode::ReadWrite)?);
    let writer = Arc::new(store.writer()?);
    config.scrape = crate::scrape::endpoint_if(store.clone(), args.listen.scrape_options());
    config.api = args.listen.api(store.clone());
    args.digest.plan()?;
    let evaluator = match alerts {
        Some((path, rules, every)) => {
            let said = format!(
                "evaluating {} alert rules every {} ({})",
                rules.rules.iter().filter(|r| r.enabled).count(),
                humantime::format_duration(every),
                path.filter(|p| p.exists())
                    .map_or("built-in rules".to_string(), |p| p.display().to_string())
            );
            Some((
                said,
                crate::alerts::Evaluator::start(
                    store.as_ref(),
                    Some(writer.clone() as Arc<dyn store::AlertLog>),
                    Arc::new(std::sync::RwLock::new(rules)),
                    crate::alerts::Notifier::start(false),
                    every,
                    |events| {
                        for e in events {
                            say!("alert {} [{}]: {}", e.state, e.severity, e.message);
                        }
                    },
                )?,
            ))
        }
        None => None,
    };
    let (evaluating, evaluator) = match evaluator {
        Some((said, e)) => (Some(said), Some(e)),
        None => (None, None),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp")
        .build()?;
    let stats = runtime.block_on(async {
        // Listening for the stop signals before the addresses are printed: a signal
        // sent as soon as they appear (a supervisor, a test) is not lost.
        let stop = shutdown_signal()?;
        let receivers =
            Receivers::start(config, ingest::receive::Target::Database(writer.clone())).await?;
        say!("database {}", args.db.path().display());
        say_addresses(&receivers, !args.listen.no_api);
        say!(
            "at most {} connections at once; idle ones closed after {}",
            receivers.limits.max,
            humantime::format_duration(receivers.limits.idle)
        );
        if let Some(said) = &evaluating {
            say!("{said}");
        }
        let digest = args.digest.start(store.clone())?;
        let retention = (retain.is_some() || max_size.is_some()).then(|| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let w = writer.clone();
                    let r =
                        tokio::task::spawn_blocking(move || -> Result<u64, store::StoreError> {
                            let mut spans = 0;
                            if let Some(keep) = retain {
                                spans += w.prune_before(now_ns().saturating_sub(keep))?.spans;
                            }
                            if let Some(max) = max_size {
                                spans += w.prune_to_size(max)?.spans;
                            }
                            Ok(spans)
                        })
                        .await;
                    match r {
                        Ok(Ok(0)) => {}
                        Ok(Ok(spans)) => say!("retention deleted {spans} spans"),
                        Ok(Err(e)) => tracing::error!("retention: {e}"),
                        Err(e) => tracing::error!("retention: {e}"),
                    }
                }
            })
        });
        stop.await;
        eprintln!("stopping: finishing requests in flight");
        drop(digest);
        if let Some(r) = retention {
            r.abort();
        }
        let stats = receivers.stats.clone();
        receivers.shutdown().await;
        anyhow::Ok(stats)
    })?;
    drop(runtime);
    drop(evaluator);
    let writer = Arc::try_unwrap(writer)
        .map_err(|_| anyhow::anyhow!("the writer is still in use at shutdown"))?;
    report_time(&stats, writer.timings());
    writer.close()?;
    eprintln!("stopped; everything acknowledged is committed");
    Ok(ExitCode::SUCCESS)
}

/// `serve --clickhouse`: the receivers insert into a team's ClickHouse; several such
/// processes can feed one ClickHouse (each keeps nothing but its queue in flight).
/// Alert rules, when on, are evaluated on the ClickHouse and printed.
fn run_into_clickhouse(args: ServeArgs, url: &str) -> anyhow::Result<ExitCode> {
    let alerts = args.alerts.load()?;
    let mut config = args.listen.config()?;
    let mut ch = args.db.connect_clickhouse(url, args.create_tables)?;
    if args.create_tables {
        ch.create_tables()?;
    }
    let ch = Arc::new(ch);
    config.scrape = crate::scrape::endpoint_if(ch.clone(), args.listen.scrape_options());
    config.api = args.listen.api(ch.clone());
    args.digest.plan()?;
    let evaluator = match alerts {
        Some((_, rules, every)) => Some(crate::alerts::Evaluator::start(
            ch.as_ref(),
            match ch.keep_alert_history() {
                Ok(()) => Some(ch.clone() as Arc<dyn store::AlertLog>),
                Err(e) => {
                    // Rules still fire and notify; only the history is not kept.
                    tracing::warn!("no alert history in ClickHouse: {e}");
                    None
                }
            },
            Arc::new(std::sync::RwLock::new(rules)),
            crate::alerts::Notifier::start(false),
            every,
            |events| {
                for e in events {
                    say!("alert {} [{}]: {}", e.state, e.severity, e.message);
                }
            },
        )?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp")
        .build()?;
    let stats = runtime.block_on(async {
        let stop = shutdown_signal()?;
        let receivers =
            Receivers::start(config, ingest::receive::Target::ClickHouse(ch.clone())).await?;
        say!(
            "writing traces into {}",
            store::Database::describe(ch.as_ref())
        );
        say_addresses(&receivers, !args.listen.no_api);
        let digest = args.digest.start(ch.clone())?;
        stop.await;
        eprintln!("stopping: finishing requests in flight");
        drop(digest);
        let stats = receivers.stats.clone();
        receivers.shutdown().await;
        anyhow::Ok(stats)
    })?;
    drop(runtime);
    drop(evaluator);
    use std::sync::atomic::Ordering::Relaxed;
    eprintln!(
        "received {} spans ({} requests refused as overloaded); stopped, everything acknowledged is in ClickHouse",
        stats.spans.load(Relaxed),
        stats.overloaded.load(Relaxed)
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints where the receivers listen (clients and tests read these lines).
fn say_addresses(receivers: &Receivers, api: bool) {
    if let Some(a) = receivers.grpc_addr {
        say!("listening for OTLP/gRPC on {a}");
    }
    if let Some(a) = receivers.http_addr {
        say!("listening for OTLP/HTTP on http://{a}");
        if api {
            say!("query API on http://{a}/api/v1 (described at /api/v1/openapi.json)");
        }
    }
}

/// A future that ends at the first Ctrl+C or SIGTERM; the handlers are in place once
/// this returns, so signals sent from then on are never missed.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let ctrl_c = tokio::signal::ctrl_c();
        Ok(async move {
            let _ = ctrl_c.await;
        })
    }
}

/// Where the collector's time went, for the benchmark notes.
fn report_time(stats: &ingest::receive::ReceiverStats, w: &store::WriterTimings) {
    use std::sync::atomic::Ordering::Relaxed;
    let s = |ns: &std::sync::atomic::AtomicU64| ns.load(Relaxed) as f64 / 1e9;
    eprintln!(
        "received {} spans, {} log records, {} metric points ({} requests refused as overloaded); \
         time: HTTP decode {:.2} s, normalize {:.2} s, append {:.2} s, dedup+insert {:.2} s (summaries {:.2} s: rollups {:.2} s, traces table {:.2} s, agent runs {:.2} s; prompt patterns {:.2} s), commit {:.2} s in {} commits",
        stats.spans.load(Relaxed),
        stats.logs.load(Relaxed),
        stats.metric_points.load(Relaxed),
        stats.overloaded.load(Relaxed),
        s(&stats.decode_ns),
        s(&stats.normalize_ns),
        s(&w.append_ns),
        s(&w.insert_ns),
        s(&w.summaries_ns),
        s(&w.rollups_ns),
        s(&w.traces_ns),
        s(&w.runs_ns),
        s(&w.patterns_ns),
        s(&w.commit_ns),
        w.commits.load(Relaxed),
    );
}
