//! `anomalies`: the buckets whose calls, errors, cost or p95 latency fall outside their
//! expected band (the Overview's anomaly list), as a table or JSON Lines.

use super::DbArgs;
use super::stats::FilterArgs;
use crate::format;
use crate::timearg::{duration_ns, rfc3339};
use clap::Args;
use serde_json::json;
use std::process::ExitCode;
use store::anomaly::Anomaly;

/// Arguments of `anomalies`.
#[derive(Args, Debug)]
pub struct AnomaliesArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    /// Bucket width judged (e.g. 5m, 1h); a width dividing a day compares each bucket
    /// with the same time on the previous days
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    bucket: String,
    /// Print one JSON object per anomaly instead of a table
    #[arg(long)]
    json: bool,
}

/// Prints the anomalies of the selection (all of its stored time when no range is
/// given), worst first.
pub fn run(args: AnomaliesArgs) -> anyhow::Result<ExitCode> {
    let filter = args.filter.filter()?;
    let bucket_ns = duration_ns(&args.bucket)?.max(1_000_000_000);
    let database = args.db.open_for_reading()?;
    let mut reader = database.reader()?;
    let Some((first, last)) = reader.time_bounds()? else {
        if !args.json {
            println!("no LLM calls stored");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let window = (
        filter.from_ns.unwrap_or(first),
        filter.to_ns.unwrap_or(last.saturating_add(1)),
    );
    let found = reader.anomalies(&filter, window, bucket_ns)?.anomalies;
    if args.json {
        for a in &found {
            println!("{}", to_json(a));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let buckets = ((window.1 - window.0) / bucket_ns).max(1);
    println!(
        "{} anomalies in {} buckets of {} ({} to {})",
        found.len(),
        buckets,
        args.bucket,
        rfc3339(window.0),
        rfc3339(window.1)
    );
    for a in &found {
        println!(
            "{}  {:<12} {:<28} {:>12} expected {:>10} ({} – {}), {:.1} deviations off; {}",
            rfc3339(a.bucket_start_ns),
            a.metric.label(),
            a.model.as_deref().unwrap_or("all models"),
            format::anomaly_value(a.metric, a.value),
            format::anomaly_value(a.metric, a.band.expected),
            format::anomaly_value(a.metric, a.band.low.max(0.0)),
            format::anomaly_value(a.metric, a.band.high),
            a.deviations(),
            a.band.baseline.describe()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The documented JSON shape of one anomaly.
fn to_json(a: &Anomaly) -> serde_json::Value {
    json!({
        "metric": a.metric.label(),
        "model": a.model,
        "bucket_start": rfc3339(a.bucket_start_ns),
        "bucket_start_ns": a.bucket_start_ns,
        "bucket_ns": a.bucket_ns,
        "value": a.value,
        "expected": a.band.expected,
        "low": a.band.low,
        "high": a.band.high,
        "deviations": a.deviations(),
        "baseline": a.band.baseline.describe(),
    })
}
