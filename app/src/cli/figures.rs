//! `models`, `series` and `traces`: the figures the query API answers, for scripts on
//! the command line (`--json` prints exactly what `/api/v1/…` answers; see
//! [`crate::figures`]).

use super::DbArgs;
use super::calls::QueryArgs;
use super::stats::FilterArgs;
use crate::figures::{self, Direction, MAX_PAGE, Metric, Page, TraceOrder};
use crate::timearg::{duration_ns, rfc3339};
use clap::Args;
use serde_json::Value;
use std::process::ExitCode;

/// Arguments of `models`.
#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// Prints the models of a selection, busiest first.
pub fn models(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let filter = args.query.filter(&args.filter)?;
    let database = args.db.open_for_reading()?;
    let answer = figures::models(database.reader()?.as_mut(), &filter)?;
    if args.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:<12} {:>8} {:>7} {:>10} {:>9} {:>9}",
        "model", "provider", "calls", "errors", "cost $", "p50 ms", "p95 ms"
    );
    for m in answer["models"].as_array().into_iter().flatten() {
        println!(
            "{:<32} {:<12} {:>8} {:>7} {:>10.4} {:>9.1} {:>9.1}",
            text(&m["model"]),
            text(&m["provider"]),
            m["calls"],
            m["errors"],
            number(&m["cost_usd"]),
            number(&m["p50_ms"]),
            number(&m["p95_ms"])
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `series`.
#[derive(Args, Debug)]
pub struct SeriesArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
    /// What to measure per step
    #[arg(long, value_enum, default_value_t = Metric::Requests)]
    metric: Metric,
    /// The step (1m, 1h, 1d)
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    step: String,
    /// Also answer per model (counting metrics)
    #[arg(long)]
    by_model: bool,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// Prints one metric per step.
pub fn series(args: SeriesArgs) -> anyhow::Result<ExitCode> {
    let filter = args.query.filter(&args.filter)?;
    let step = duration_ns(&args.step).map_err(|e| e.context("--step"))?;
    let database = args.db.open_for_reading()?;
    let answer = figures::series(
        database.reader()?.as_mut(),
        &filter,
        args.metric,
        step,
        args.by_model,
    )?;
    if args.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<30} {} ({})",
        "start (UTC)",
        answer["metric"],
        text(&answer["unit"])
    );
    for p in answer["points"].as_array().into_iter().flatten() {
        println!("{:<30} {}", text(&p["start"]), p["value"]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `traces`.
#[derive(Args, Debug)]
pub struct TracesArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
    /// Sort by
    #[arg(long, value_enum, default_value_t = TraceOrder::Start)]
    sort: TraceOrder,
    /// Sort direction
    #[arg(long, value_enum, default_value_t = Direction::Desc)]
    dir: Direction,
    /// At most N traces
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=MAX_PAGE))]
    limit: u64,
    /// Skip the first N traces (the next page starts at offset + limit)
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// Prints one page of traces.
pub fn traces(args: TracesArgs) -> anyhow::Result<ExitCode> {
    let filter = args.query.filter(&args.filter)?;
    let page = Page::new(args.offset, args.limit)?;
    let database = args.db.open_for_reading()?;
    let answer = figures::traces(
        database.reader()?.as_mut(),
        &filter,
        args.sort,
        args.dir,
        page,
    )?;
    if args.json {
        println!("{answer}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<32} {:<20} {:>10} {:>6} {:>9}  root",
        "trace", "start (UTC)", "duration", "calls", "cost"
    );
    let rows = answer["traces"].as_array().cloned().unwrap_or_default();
    for t in &rows {
        let start = rfc3339(t["start_ns"].as_i64().unwrap_or_default());
        println!(
            "{:<32} {:<20} {:>8.0}ms {:>6} {:>9}  {}{}",
            text(&t["trace_id"]),
            &start[..19],
            number(&t["duration_ns"]) / 1e6,
            t["llm_calls"],
            format!("${:.4}", number(&t["cost_usd"])),
            text(&t["root_name"]),
            if t["has_error"] == true {
                "  ERROR"
            } else {
                ""
            }
        );
    }
    println!("{} of {} traces", rows.len(), answer["total"]);
    Ok(ExitCode::SUCCESS)
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_default()
}
