//! `calls`: the LLM calls matching a query (the inspector's language), newest first,
//! as a table or JSON Lines; and `trace`: one trace's span tree.

use super::DbArgs;
use super::stats::FilterArgs;
use crate::figures::{self, CallOrder, Direction, MAX_PAGE, Page};
use crate::timearg::rfc3339;
use anyhow::Context;
use clap::Args;
use std::process::ExitCode;
use store::hex_to_trace_id;

/// Arguments of `calls`.
#[derive(Args, Debug)]
pub struct CallsArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
    /// At most N calls
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=MAX_PAGE))]
    limit: u64,
    /// Skip the first N matching calls (the next page starts at offset + limit)
    #[arg(long, default_value_t = 0)]
    offset: u64,
    /// Sort by
    #[arg(long, value_enum, default_value_t = CallOrder::Start)]
    sort: CallOrder,
    /// Sort direction
    #[arg(long, value_enum, default_value_t = Direction::Desc)]
    dir: Direction,
    /// One JSON object per line instead of a table
    #[arg(long)]
    json: bool,
}

/// `--query`, the Inspector's language, narrowing the other filter flags (for `calls`
/// and `export`).
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Query: words, "phrases", -excluded, model:gpt-4o*, provider:, service:,
    /// status:error|ok, error:429, session:, user:, latency>2s, cost>0.01, tokens>1000,
    /// ttft>1s, tps<20, stream:true, eval:relevance<0.5, eval:hallucination=yes, feedback:down|up|LABEL
    #[arg(
        long,
        short,
        value_name = "QUERY",
        default_value = "",
        allow_hyphen_values = true
    )]
    query: String,
}

impl QueryArgs {
    /// The query as typed.
    pub fn text(&self) -> &str {
        &self.query
    }

    /// The store filter of `flags` narrowed by the query.
    pub fn filter(&self, flags: &FilterArgs) -> anyhow::Result<store::Filter> {
        crate::selection::Selection {
            query: self.query.clone(),
            ..flags.selection()
        }
        .filter("--")
    }
}

/// Prints the matching calls.
pub fn run(args: CallsArgs) -> anyhow::Result<ExitCode> {
    let filter = args.query.filter(&args.filter)?;
    let database = args.db.open_for_reading()?;
    let mut reader = database.reader()?;
    let page = Page::new(args.offset, args.limit)?;
    if args.json {
        let answer = figures::calls(reader.as_mut(), &filter, args.sort, args.dir, page)?;
        for call in answer["calls"].as_array().into_iter().flatten() {
            println!("{call}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (rows, total) = reader.calls_page(
        &filter,
        args.sort.into(),
        args.dir.into(),
        page.offset,
        page.limit,
    )?;
    println!(
        "{:<20} {:<28} {:>9} {:>7} {:>7} {:>9}  {:<6} prompt",
        "start (UTC)", "model", "latency", "in", "out", "cost", "status"
    );
    for r in &rows {
        let prompt: String = r
            .prompt_excerpt
            .as_deref()
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(60)
            .collect();
        println!(
            "{:<20} {:<28} {:>7.0}ms {:>7} {:>7} {:>9}  {:<6} {}",
            &rfc3339(r.start_ns)[..19],
            r.model,
            r.duration_ns as f64 / 1e6,
            r.input_tokens.map_or("-".into(), |v| v.to_string()),
            r.output_tokens.map_or("-".into(), |v| v.to_string()),
            r.cost_usd.map_or("-".into(), |c| format!("${c:.4}")),
            if r.is_error { "error" } else { "ok" },
            prompt
        );
    }
    println!("{} of {total} matching calls", rows.len());
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The trace id, 32 hex digits
    trace_id: String,
    /// One JSON object instead of a tree
    #[arg(long)]
    json: bool,
}

/// Prints one trace's span tree.
pub fn trace(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let id = hex_to_trace_id(&args.trace_id).with_context(|| {
        format!(
            "{:?} is not a trace id (32 hex digits, as printed by `calls`)",
            args.trace_id
        )
    })?;
    let database = args.db.open_for_reading()?;
    let mut reader = database.reader()?;
    let missing = || {
        eprintln!("no trace {} in {}", args.trace_id, database.describe());
        Ok(ExitCode::from(1))
    };
    if args.json {
        return match figures::trace(reader.as_mut(), id)? {
            Some(tree) => {
                println!("{}", serde_json::to_string_pretty(&tree)?);
                Ok(ExitCode::SUCCESS)
            }
            None => missing(),
        };
    }
    let tree = reader.trace(id)?;
    if tree.spans.is_empty() {
        return missing();
    }
    let t0 = tree.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    for s in &tree.spans {
        let llm = match &s.model {
            Some(m) => format!(
                "  [{m}, {} in / {} out{}]",
                s.input_tokens.map_or("-".into(), |v| v.to_string()),
                s.output_tokens.map_or("-".into(), |v| v.to_string()),
                s.cost_usd.map_or(String::new(), |c| format!(", ${c:.4}"))
            ),
            None => String::new(),
        };
        let status = if s.status == store::StatusCode::Error {
            format!("  ERROR {}", s.status_message.as_deref().unwrap_or(""))
        } else {
            String::new()
        };
        println!(
            "{:>9.1}ms {:>9.1}ms  {}{} ({}){llm}{status}",
            (s.start_ns - t0) as f64 / 1e6,
            s.duration_ns as f64 / 1e6,
            "  ".repeat(s.depth),
            s.name,
            s.service
        );
    }
    Ok(ExitCode::SUCCESS)
}
