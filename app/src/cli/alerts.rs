//! `alerts`: the alert history of a database (what fired and resolved, newest first),
//! and `--check FILE` to validate a rules file before `serve --rules` uses it.

use super::DbArgs;
use crate::alerts::Rules;
use crate::alerts::rules::RuleText;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `alerts`.
#[derive(Args, Debug)]
pub struct AlertsArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Check this rules file and list its rules instead of printing the history
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    /// At most N events
    #[arg(long, default_value_t = 50)]
    limit: u64,
    /// One JSON object per line
    #[arg(long)]
    json: bool,
}

/// Prints the history, or the checked rules.
pub fn run(args: AlertsArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.check {
        let rules = Rules::load(file).map_err(anyhow::Error::msg)?;
        if !file.exists() {
            anyhow::bail!("{}: no such file", file.display());
        }
        for r in &rules.rules {
            println!(
                "{:<8} {:<28} {}{}",
                r.severity.name(),
                r.name,
                r.condition(),
                if r.enabled { "" } else { " (off)" }
            );
        }
        println!("{}: {} rules, all valid", file.display(), rules.rules.len());
        return Ok(ExitCode::SUCCESS);
    }
    let store = args.db.open_for_reading()?;
    let events = store.reader()?.alert_history(None, args.limit)?;
    for e in &events {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!(
                "{}  {:<8} {:<8} {}",
                &crate::timearg::rfc3339(e.time_ns)[..19],
                e.state,
                e.severity,
                e.message
            );
        }
    }
    if !args.json {
        println!("{} alert events", events.len());
    }
    Ok(ExitCode::SUCCESS)
}
