//! `report`: writes the report of a selection ([`crate::report`]) as one HTML file, a
//! PDF, or Markdown with its charts beside it.

use super::DbArgs;
use super::stats::FilterArgs;
use crate::report::{Format, Report};
use crate::timearg::now_ns;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use store::Replace;

/// Arguments of `report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    /// Where to write it: `.html` (self-contained), `.pdf` (A4 pages) or `.md` (charts
    /// in FILE-charts/)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    force: bool,
}

/// Writes the report.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = Format::of(&args.out)?;
    let mut filter = args.filter.filter()?;
    // `--last 7d` ends now: fixed once, so every figure and the caption share one range.
    if filter.from_ns.is_some() && filter.to_ns.is_none() {
        filter.to_ns = Some(now_ns());
    }
    let database = args.db.open_for_reading()?;
    let mut reader = database.reader()?;
    let report = Report::gather(reader.as_mut(), &filter, database.describe())?;
    let replace = if args.force {
        Replace::Allowed
    } else {
        Replace::Never
    };
    report.write(&args.out, format, replace)?;
    println!(
        "wrote {} ({} LLM calls, {} charts)",
        args.out.display(),
        report.llm_calls(),
        report.charts().len()
    );
    Ok(ExitCode::SUCCESS)
}
