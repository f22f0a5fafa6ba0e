//! The command line: one module per subcommand, sharing how a database is opened and
//! which prices apply.

mod alerts;
mod annotate;
mod anomalies;
mod bench;
mod calls;
mod clickhouse;
mod copy;
mod demo;
mod export;
mod figures;
mod import;
mod loadgen;
mod report;
mod retention;
pub mod serve;
mod snapshot;
mod stats;
mod window;

use crate::paths;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use store::{OpenMode, PriceTable, Store};

/// See what your LLM applications are doing: every model call's latency, tokens, cost,
/// errors, prompt and response, from OpenTelemetry.
///
/// Without a subcommand it opens the desktop window on DATABASE (default: the database in
/// the platform data directory) and listens for OTLP on 127.0.0.1:4317 and :4318.
#[derive(Parser, Debug)]
#[command(
    name = "llm-observatory",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    window: window::WindowArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Import OTLP trace dumps (JSON, JSON Lines, protobuf; gzip or zstd) into a database.
    Import(import::ImportArgs),
    /// Print the figures of a database: calls, errors, tokens, cost, latency, by model.
    Stats(stats::StatsArgs),
    /// List the LLM calls matching a query (words, "phrases", model:, status:, latency>2s…).
    Calls(calls::CallsArgs),
    /// Print one trace's span tree.
    Trace(calls::TraceArgs),
    /// List the traces of a selection, newest (or costliest, slowest…) first.
    Traces(figures::TracesArgs),
    /// Print the models of a selection, busiest first: calls, errors, cost, latency.
    Models(figures::ModelsArgs),
    /// Print one metric (requests, errors, tokens, cost, latency percentiles) per step.
    Series(figures::SeriesArgs),
    /// Print the alert history, or check a rules file (--check FILE).
    Alerts(alerts::AlertsArgs),
    /// List the hours (or other buckets) whose calls, errors, cost or latency were
    /// unusual against the days before.
    Anomalies(anomalies::AnomaliesArgs),
    /// Pin a note to a moment or a stretch of time (a deploy, a prompt change) that
    /// every chart marks; alone, list the notes.
    Annotate(annotate::AnnotateArgs),
    /// Write spans, LLM calls or traces to CSV, JSON, Parquet or OTLP JSON.
    Export(export::ExportArgs),
    /// Write a report of a selection (KPIs against the previous period, charts, models,
    /// top errors, slowest traces, alerts) as one HTML file or Markdown with its charts.
    Report(report::ReportArgs),
    /// Save a selection as a small database to share: its traces, alerts and notes,
    /// the prices used, and the view and filters it opens on.
    Snapshot(snapshot::SnapshotArgs),
    /// Copy a local database into a team's ClickHouse (the Collector's tables).
    Copy(copy::CopyArgs),
    /// Prepare a team's ClickHouse: `clickhouse init URL` creates the tables and the
    /// rollups that make dashboards fast.
    Clickhouse(clickhouse::ClickhouseArgs),
    /// Fill a database with realistic synthetic LLM traffic.
    Demo(demo::DemoArgs),
    /// Delete the oldest data by age or by database size.
    Prune(retention::PruneArgs),
    /// Delete all data from a database.
    Clear(retention::ClearArgs),
    /// Check the full-text index of prompts and responses, rebuilding it if needed.
    Reindex(retention::ReindexArgs),
    /// Measure import throughput and query latency on generated data.
    Bench(bench::BenchArgs),
    /// Run the headless OTLP collector (gRPC and HTTP) into a database.
    Serve(serve::ServeArgs),
    /// Send realistic LLM spans to any OTLP endpoint and report rate and latency.
    Loadgen(loadgen::LoadgenArgs),
}

/// Options every command that opens a database takes.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database file, or a team's ClickHouse URL (clickhouse://user@host:8123/otel,
    /// https://…) for commands that read [default: observatory.duckdb in the platform
    /// data directory]
    #[arg(long, value_name = "PATH|URL")]
    db: Option<PathBuf>,
    /// Price file overriding the bundled prices (TOML, USD per million tokens)
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// File holding the ClickHouse password when the URL has none (else
    /// CLICKHOUSE_PASSWORD)
    #[arg(long, value_name = "FILE")]
    clickhouse_password_file: Option<PathBuf>,
}

impl DbArgs {
    /// The options for the database file at `path`, with the prices in force.
    pub fn for_file(path: PathBuf) -> DbArgs {
        DbArgs {
            db: Some(path),
            prices: None,
            clickhouse_password_file: None,
        }
    }

    /// The database path asked for, or the default one.
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(paths::default_db)
    }

    /// The ClickHouse `--db` names, when it names one.
    pub fn clickhouse_url(&self) -> Option<String> {
        self.db
            .as_deref()
            .and_then(|p| p.to_str())
            .filter(|s| store::clickhouse::is_clickhouse_url(s))
            .map(str::to_string)
    }

    /// Opens the database for reading, a file or a ClickHouse, with the prices in
    /// force.
    pub fn open_for_reading(&self) -> anyhow::Result<std::sync::Arc<dyn store::Database>> {
        match self.clickhouse_url() {
            Some(url) => Ok(std::sync::Arc::new(self.connect_clickhouse(&url, false)?)),
            None => Ok(std::sync::Arc::new(self.open(OpenMode::ReadOnly)?)),
        }
    }

    /// Connects to the ClickHouse at `url` with the prices in force; `creating` allows
    /// the traces table to be missing (a writer about to create it).
    pub fn connect_clickhouse(
        &self,
        url: &str,
        creating: bool,
    ) -> anyhow::Result<store::ClickHouse> {
        connect_clickhouse(
            url,
            self.clickhouse_password_file.as_deref(),
            self.prices.as_deref(),
            creating,
        )
    }

    /// Opens the database file with the prices in force: bundled, then the user's
    /// config file, then `--prices`.
    pub fn open(&self, mode: OpenMode) -> anyhow::Result<Store> {
        if let Some(url) = self.clickhouse_url() {
            anyhow::bail!(
                "{}: this command works on a database file; give --db PATH (a ClickHouse URL is read by the window, stats, calls, trace, export and alerts)",
                store::clickhouse::redact(&url)
            );
        }
        let path = self.path();
        if mode == OpenMode::ReadWrite
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        if mode == OpenMode::ReadOnly && !path.exists() {
            anyhow::bail!(
                "{} does not exist: import some data first (llm-observatory import --db {} FILE, or demo, or serve)",
                path.display(),
                path.display()
            );
        }
        let store = Store::open_reporting(&path, mode, &|u| {
            eprintln!(
                "{}: upgrading the file (schema {} of {}): {}…",
                path.display(),
                u.from + 1,
                u.to,
                u.what
            );
        })?;
        store.set_prices(self.price_table()?);
        Ok(store)
    }

    fn price_table(&self) -> anyhow::Result<PriceTable> {
        price_table(self.prices.as_deref())
    }
}

/// Connects to a ClickHouse with the prices in force (see [`DbArgs::connect_clickhouse`]).
pub fn connect_clickhouse(
    url: &str,
    password_file: Option<&std::path::Path>,
    prices: Option<&std::path::Path>,
    creating: bool,
) -> anyhow::Result<store::ClickHouse> {
    let endpoint = store::clickhouse::Endpoint::parse(url, password_file)?;
    let ch = store::ClickHouse::connect(
        endpoint,
        creating,
        std::sync::Arc::new(ingest::collector::normalize_collector_span),
    )?;
    ch.set_prices(price_table(prices)?);
    Ok(ch)
}

/// The prices in force: bundled, then the user's config file, then `extra` (`--prices`).
pub fn price_table(extra: Option<&std::path::Path>) -> anyhow::Result<PriceTable> {
    let mut table = PriceTable::bundled();
    if let Some(user) = paths::user_prices().filter(|p| p.exists()) {
        table = table.overridden_by(PriceTable::load(&user)?);
    }
    if let Some(file) = extra {
        table = table.overridden_by(PriceTable::load(file)?);
    }
    Ok(table)
}

/// Runs the parsed command (or opens the window); the exit code says whether everything
/// went well. `launched` is when the process started, for the start-up benchmark.
pub fn run(cli: Cli, launched: std::time::Instant) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        return window::run(cli.window, launched);
    };
    match command {
        Command::Import(a) => import::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Anomalies(a) => anomalies::run(a),
        Command::Annotate(a) => annotate::run(a),
        Command::Calls(a) => calls::run(a),
        Command::Trace(a) => calls::trace(a),
        Command::Traces(a) => figures::traces(a),
        Command::Models(a) => figures::models(a),
        Command::Series(a) => figures::series(a),
        Command::Alerts(a) => alerts::run(a),
        Command::Export(a) => export::run(a),
        Command::Report(a) => report::run(a),
        Command::Snapshot(a) => snapshot::run(a),
        Command::Copy(a) => copy::run(a),
        Command::Clickhouse(a) => clickhouse::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Prune(a) => retention::prune(a),
        Command::Clear(a) => retention::clear(a),
        Command::Reindex(a) => retention::reindex(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Loadgen(a) => loadgen::run(a),
    }
}
