//! `demo`: realistic synthetic LLM traffic into a database, for trying the app and for
//! benchmarks.

use super::DbArgs;
use crate::timearg::{now_ns, timestamp_ns};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::demo::generate;
use ingest::synth::SynthConfig;
use std::process::ExitCode;
use store::OpenMode;

/// Arguments of `demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Traces to generate (about 4.7 spans each)
    #[arg(long, default_value_t = 20_000)]
    traces: u64,
    /// Days of traffic, ending now (or at --end)
    #[arg(long, default_value_t = 7.0)]
    days: f64,
    /// Seed: the same seed, period and count give the same data
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// End of the period (RFC 3339, a date, or Unix seconds) [default: now]
    #[arg(long, value_name = "TS")]
    end: Option<String>,
}

/// Generates the traffic and prints what was stored.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let end_ns = match &args.end {
        Some(t) => timestamp_ns(t)?,
        None => now_ns() / 60_000_000_000 * 60_000_000_000,
    };
    anyhow::ensure!(args.days > 0.0, "--days must be positive");
    let cfg = SynthConfig {
        traces: args.traces,
        start_ns: end_ns - (args.days * 86_400e9) as i64,
        end_ns,
        seed: args.seed,
    };
    let store = args.db.open(OpenMode::ReadWrite)?;
    let writer = store.writer()?;
    let bar = ProgressBar::new(args.traces).with_style(
        ProgressStyle::with_template("generating [{bar:30}] {pos}/{len} traces {per_sec} {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let report = generate(cfg, &writer, &|n| bar.set_position(n))?;
    bar.finish_and_clear();
    writer.close()?;
    println!(
        "demo data in {}: {} spans stored ({} LLM calls), {} already present",
        args.db.path().display(),
        report.spans,
        report.llm_calls,
        report.duplicate_spans
    );
    Ok(ExitCode::SUCCESS)
}
