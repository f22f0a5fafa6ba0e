//! `snapshot`: saves a selection as a small database that opens on a view and its
//! filters ([`crate::snapshot`]), for sharing.

use super::DbArgs;
use super::calls::QueryArgs;
use super::stats::FilterArgs;
use crate::gui::opening_view::OpeningView;
use crate::timearg::now_ns;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use store::Replace;

/// Arguments of `snapshot`.
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
    /// Where to write it (a new .duckdb file)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The view it opens on (Overview, Models, Traces…) [default: Overview, or the
    /// Inspector showing --query]
    #[arg(long, value_name = "VIEW")]
    view: Option<String>,
    /// Replace FILE if it exists
    #[arg(long)]
    force: bool,
}

/// Writes the snapshot.
pub fn run(args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    let mut filter = args.query.filter(&args.filter)?;
    // `--last 1h` ends now: fixed once, so the snapshot and the range it opens on agree.
    if filter.from_ns.is_some() && filter.to_ns.is_none() {
        filter.to_ns = Some(now_ns());
    }
    let selection = args.filter.selection();
    let view = OpeningView::of_selection(
        args.view.as_deref(),
        &filter,
        &selection.status,
        args.query.text(),
    )
    .map_err(anyhow::Error::msg)?;
    let database = args.db.open_for_reading()?;
    let own_file = args.db.clickhouse_url().is_none().then(|| args.db.path());
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} traces {eta}")
            .expect("progress template"),
    );
    let saved = crate::snapshot::save(
        database.as_ref(),
        own_file.as_deref(),
        &filter,
        &view.to_json(),
        &args.out,
        if args.force {
            Replace::Allowed
        } else {
            Replace::Never
        },
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )
    .with_context(|| format!("no snapshot written to {}", args.out.display()))?;
    bar.finish_and_clear();
    println!(
        "wrote {} ({} traces, {} spans, {} log records, {} evaluations, {} metric points, {} alert changes, {} notes; {:.1} MB), opening on {}",
        args.out.display(),
        saved.traces,
        saved.spans,
        saved.logs,
        saved.evaluations,
        saved.metric_points,
        saved.alerts,
        saved.notes,
        saved.bytes as f64 / 1e6,
        view.view
    );
    Ok(ExitCode::SUCCESS)
}
