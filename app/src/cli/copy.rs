//! `copy`: a local database pushed into a team's ClickHouse, trace by trace, in the
//! OpenTelemetry Collector's row layout.

use super::DbArgs;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use store::OpenMode;

/// Traces read from the database per query, and inserted per request.
const TRACES_PER_COPY: usize = 1000;

/// Arguments of `copy`.
#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The database file to copy
    #[arg(long, value_name = "PATH")]
    from: PathBuf,
    /// The ClickHouse to copy into (clickhouse://user@host:8123/otel, https://…)
    #[arg(long, value_name = "URL")]
    to: String,
    /// Create the database and the Collector's tables (its exporter's own DDL) where
    /// missing
    #[arg(long)]
    create_tables: bool,
    /// File holding the ClickHouse password when the URL has none (else
    /// CLICKHOUSE_PASSWORD)
    #[arg(long, value_name = "FILE")]
    clickhouse_password_file: Option<PathBuf>,
}

/// Copies every trace; exit 1 when a trace could not be read or inserted (the others
/// are still copied, each insert acknowledged by ClickHouse).
pub fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let source = DbArgs::for_file(args.from.clone());
    let store = source.open(OpenMode::ReadOnly)?;
    let mut ch = super::connect_clickhouse(
        &args.to,
        args.clickhouse_password_file.as_deref(),
        None,
        args.create_tables,
    )?;
    if args.create_tables {
        ch.create_tables()?;
    }
    let mut reader = store.reader()?;
    let ids = reader.trace_ids(&store::Filter::default())?;
    let bar = ProgressBar::new(ids.len() as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} traces {eta}")
            .expect("progress template"),
    );
    let (mut spans, mut failed) = (0usize, 0usize);
    for chunk in ids.chunks(TRACES_PER_COPY) {
        let mut rows = Vec::new();
        for tree in reader.traces(chunk)? {
            match ingest::otlp_json::trace_request(&tree) {
                Ok(request) => rows.extend(ingest::collector::collector_spans(&request)),
                Err(e) => {
                    failed += 1;
                    bar.suspend(|| eprintln!("trace {}: {e}", tree.trace_id));
                }
            }
        }
        let n = rows.len();
        match ch.insert_spans(&rows) {
            Ok(()) => spans += n,
            Err(e) => {
                failed += chunk.len();
                bar.suspend(|| eprintln!("{} traces not copied: {e}", chunk.len()));
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "copied {spans} spans of {} traces from {} to {}",
        ids.len() - failed,
        args.from.display(),
        store::clickhouse::redact(&args.to)
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
