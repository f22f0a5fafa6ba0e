//! `stats`: the figures of a database as a table or as one JSON object.

use super::DbArgs;
use crate::selection::Selection;
use crate::timearg::rfc3339;
use clap::Args;
use std::process::ExitCode;
use store::{Filter, FirstTokenSummary, ModelRow, Summary};

/// Arguments of `stats`, and the filter flags other commands share.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: super::calls::QueryArgs,
    /// Print one JSON object instead of a table
    #[arg(long)]
    json: bool,
}

/// The selection flags: time range, models, providers, services, status, text.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only the last DURATION (e.g. 15m, 1h, 7d)
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    last: Option<String>,
    /// From this time (RFC 3339, a date, or Unix seconds)
    #[arg(long, value_name = "TS")]
    from: Option<String>,
    /// Until this time (exclusive)
    #[arg(long, value_name = "TS")]
    to: Option<String>,
    /// Only models matching GLOB (repeatable; `gpt-4o*`)
    #[arg(long = "model", value_name = "GLOB")]
    models: Vec<String>,
    /// Only this provider (repeatable)
    #[arg(long = "provider", value_name = "NAME")]
    providers: Vec<String>,
    /// Only this service (repeatable)
    #[arg(long = "service", value_name = "NAME")]
    services: Vec<String>,
    /// Only calls with this outcome: all, ok or error
    #[arg(long, value_name = "STATUS", default_value = "all")]
    status: String,
}

impl FilterArgs {
    /// The words of these flags, for [`crate::selection::Selection::filter`].
    pub fn selection(&self) -> Selection {
        Selection {
            last: self.last.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            models: self.models.clone(),
            providers: self.providers.clone(),
            services: self.services.clone(),
            status: self.status.clone(),
            query: String::new(),
        }
    }

    /// The store filter these flags select.
    pub fn filter(&self) -> anyhow::Result<Filter> {
        self.selection().filter("--")
    }
}

/// Prints the figures.
pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let filter = args.query.filter(&args.filter)?;
    let database = args.db.open_for_reading()?;
    let mut reader = database.reader()?;
    if args.json {
        println!("{}", crate::figures::summary(reader.as_mut(), &filter)?);
    } else {
        let summary = reader.summary(&filter)?;
        let models = reader.per_model(&filter)?;
        let first_token = reader.first_token(&filter)?;
        print_table(&summary, &models, &first_token);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(s: &Summary, models: &[ModelRow], first: &FirstTokenSummary) {
    let range = match (s.first_start_ns, s.last_end_ns) {
        (Some(a), Some(b)) => format!("{} .. {}", rfc3339(a), rfc3339(b)),
        _ => "no data".into(),
    };
    println!("range        {range}");
    println!(
        "spans        {}   traces {}",
        s.spans.unwrap_or_default(),
        s.traces.unwrap_or_default()
    );
    println!(
        "LLM calls    {}   errors {} ({:.2} %)",
        s.llm_calls,
        s.errors,
        if s.llm_calls > 0 {
            s.errors as f64 * 100.0 / s.llm_calls as f64
        } else {
            0.0
        }
    );
    println!(
        "tokens       in {}  out {}  cache read {}  cache write {}",
        s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens
    );
    println!("cost         ${:.4}", s.cost_usd);
    if s.unpriced_calls > 0 {
        println!(
            "unpriced     {} calls of models without a price: {} (add them with --prices FILE)",
            s.unpriced_calls,
            s.unpriced_models.join(", ")
        );
    }
    // Percentiles from the latency sketch are within 1 % of the exact ones.
    let about = if s.latency_approximate { "≈" } else { "" };
    println!(
        "latency      p50 {about}{:.1} ms  p95 {about}{:.1} ms  p99 {about}{:.1} ms",
        s.latency_ms[0], s.latency_ms[1], s.latency_ms[2]
    );
    if first.calls > 0 {
        let about = if first.approximate { "≈" } else { "" };
        println!(
            "first token  p50 {about}{:.1} ms  p95 {about}{:.1} ms  p99 {about}{:.1} ms  ({} streamed calls)",
            first.ttft_ms[0], first.ttft_ms[1], first.ttft_ms[2], first.calls
        );
    }
    if models.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<32} {:<12} {:>8} {:>7} {:>11} {:>11} {:>11} {:>10} {:>9} {:>9}",
        "model",
        "provider",
        "calls",
        "errors",
        "in tokens",
        "out tokens",
        "cache read",
        "cost $",
        "p50 ms",
        "p95 ms"
    );
    for m in models {
        let cost = if m.unpriced_calls > 0 && m.cost_usd == 0.0 {
            "no price".to_string()
        } else {
            format!("{:.4}", m.cost_usd)
        };
        println!(
            "{:<32} {:<12} {:>8} {:>7} {:>11} {:>11} {:>11} {:>10} {:>9.1} {:>9.1}",
            m.model,
            m.provider.as_deref().unwrap_or("-"),
            m.calls,
            m.errors,
            m.input_tokens,
            m.output_tokens,
            m.cache_read_tokens,
            cost,
            m.p50_ms,
            m.p95_ms
        );
    }
}
