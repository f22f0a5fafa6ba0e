//! `clickhouse`: administration of a team's ClickHouse — today `init`, which creates
//! the Collector's tables where missing and the rollups the dashboards read.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `clickhouse`.
#[derive(Args, Debug)]
pub struct ClickhouseArgs {
    #[command(subcommand)]
    command: ClickhouseCommand,
}

#[derive(Subcommand, Debug)]
enum ClickhouseCommand {
    /// Create the Collector's tables where missing, and the rollups (materialized
    /// views summarising LLM calls per minute and latency per hour) that make
    /// dashboards over months of spans fast; summarise the history into them.
    Init(InitArgs),
}

/// Arguments of `clickhouse init`.
#[derive(Args, Debug)]
struct InitArgs {
    /// The ClickHouse (clickhouse://user@host:8123/otel, https://…)
    #[arg(value_name = "URL")]
    url: String,
    /// How long after it starts a span may still arrive (the longest call plus the
    /// exporters' batching delay): history is summarised once this has passed after
    /// the views start. Spans starting earlier that arrive later (calls longer than
    /// this, imports of old dumps) are not in the rollups; `--rebuild` redoes them.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    settle: Duration,
    /// Drop complete rollups and make them again
    #[arg(long)]
    rebuild: bool,
    /// File holding the ClickHouse password when the URL has none (else
    /// CLICKHOUSE_PASSWORD)
    #[arg(long, value_name = "FILE")]
    clickhouse_password_file: Option<PathBuf>,
}

/// Runs a `clickhouse` subcommand.
pub fn run(args: ClickhouseArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ClickhouseCommand::Init(a) => init(a),
    }
}

fn init(args: InitArgs) -> anyhow::Result<ExitCode> {
    let mut ch = super::connect_clickhouse(
        &args.url,
        args.clickhouse_password_file.as_deref(),
        None,
        true,
    )?;
    if ch.create_tables()? {
        println!("created {} with the exporter's DDL", ch.endpoint().traces());
    }
    let done = ch.init_rollups(args.settle, args.rebuild, &mut |step| println!("{step}"))?;
    match done {
        None => println!("the rollups are already complete (--rebuild makes them again)"),
        Some(d) => println!(
            "rollups ready: {} calls summarised{}",
            d.calls,
            if d.days > 0 {
                format!(" ({} days of history)", d.days)
            } else {
                String::new()
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}
