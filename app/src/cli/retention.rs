//! `prune` and `clear`: retention by age and size, and deleting everything.

use super::DbArgs;
use crate::timearg::{duration_ns, now_ns, size_bytes};
use anyhow::bail;
use clap::Args;
use std::process::ExitCode;
use store::OpenMode;

/// Arguments of `prune`.
#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Delete data older than DURATION (e.g. 7d, 12h)
    #[arg(long, value_name = "DURATION")]
    retain: Option<String>,
    /// Delete the oldest data until the database uses at most SIZE (e.g. 2GB, 500MiB)
    #[arg(long, value_name = "SIZE")]
    max_db_size: Option<String>,
}

/// Arguments of `clear`.
#[derive(Args, Debug)]
pub struct ClearArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Confirm: every span, call, log record and metric point is deleted
    #[arg(long)]
    yes: bool,
}

/// Applies the retention limits given.
pub fn prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    if args.retain.is_none() && args.max_db_size.is_none() {
        bail!("say what to keep: --retain DURATION and/or --max-db-size SIZE");
    }
    let retain = args.retain.as_deref().map(duration_ns).transpose()?;
    let max = args.max_db_size.as_deref().map(size_bytes).transpose()?;
    let store = args.db.open(OpenMode::ReadWrite)?;
    let writer = store.writer()?;
    if let Some(keep) = retain {
        let p = writer.prune_before(now_ns().saturating_sub(keep))?;
        println!(
            "deleted {} spans, {} log records, {} metric points older than {}",
            p.spans,
            p.logs,
            p.metric_points,
            args.retain.as_deref().unwrap_or_default()
        );
    }
    if let Some(max) = max {
        let p = writer.prune_to_size(max)?;
        println!(
            "deleted {} spans, {} log records, {} metric points to fit {}",
            p.spans,
            p.logs,
            p.metric_points,
            args.max_db_size.as_deref().unwrap_or_default()
        );
    }
    writer.close()?;
    Ok(ExitCode::SUCCESS)
}

/// Deletes all data after confirmation.
pub fn clear(args: ClearArgs) -> anyhow::Result<ExitCode> {
    if !args.yes {
        bail!(
            "clear deletes all data in {}; add --yes to confirm",
            args.db.path().display()
        );
    }
    let store = args.db.open(OpenMode::ReadWrite)?;
    let writer = store.writer()?;
    writer.clear_all()?;
    writer.close()?;
    println!("cleared {}", args.db.path().display());
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `reindex`.
#[derive(Args, Debug)]
pub struct ReindexArgs {
    #[command(flatten)]
    db: DbArgs,
}

/// Checks the full-text index of prompts and responses and rebuilds it if it does not
/// match the calls stored (the window and `serve` do this in the background on start).
pub fn reindex(args: ReindexArgs) -> anyhow::Result<ExitCode> {
    let store = args.db.open(OpenMode::ReadWrite)?;
    let started = std::time::Instant::now();
    store.sync_text_index()?;
    println!(
        "text index of {} up to date ({:.1} s)",
        args.db.path().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
