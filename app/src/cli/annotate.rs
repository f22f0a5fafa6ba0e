//! `annotate`: pins a note to a moment or a stretch of time in a database (a deploy
//! script's "deploy v1.4"), lists the notes, or removes one. The window's charts mark
//! the notes, as they do those added there.

use super::DbArgs;
use crate::timearg::{now_ns, rfc3339, timestamp_ns};
use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;
use std::process::ExitCode;
use store::{AnnotationEdit, Batch, OpenMode, TimeAnnotation};

/// Arguments of `annotate`.
#[derive(Args, Debug)]
pub struct AnnotateArgs {
    #[command(flatten)]
    db: DbArgs,
    /// What happened ("deploy v1.4"); without it, the notes are listed
    #[arg(value_name = "TEXT", conflicts_with_all = ["remove"])]
    text: Option<String>,
    /// When it began: RFC 3339 (2026-11-27T10:00:00Z), a date, or Unix seconds
    /// [default: now]
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// When it ended, for a stretch (same forms) [default: the moment --from names]
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Remove the note with this id (`annotate` alone lists the ids)
    #[arg(long, value_name = "ID")]
    remove: Option<i64>,
    /// List the notes as one JSON object per line
    #[arg(long)]
    json: bool,
}

/// Adds, removes or lists notes.
pub fn run(args: AnnotateArgs) -> anyhow::Result<ExitCode> {
    if let Some(id) = args.remove {
        let removed = write(&args.db, AnnotationEdit::Remove(id), |notes| {
            notes.iter().any(|n| n.id == id)
        })?;
        if !removed {
            bail!("no note has id {id}; `annotate` alone lists them");
        }
        println!("removed note {id}");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(text) = &args.text else {
        return list(&args);
    };
    let from = match &args.from {
        Some(t) => timestamp_ns(t).with_context(|| format!("--from {t:?}"))?,
        None => now_ns(),
    };
    let to = match &args.to {
        Some(t) => timestamp_ns(t).with_context(|| format!("--to {t:?}"))?,
        None => from,
    };
    let edit = AnnotationEdit::add(from, to, text)?;
    write(&args.db, edit, |_| true)?;
    if from == to {
        println!("noted at {}: {}", rfc3339(from), text.trim());
    } else {
        println!(
            "noted from {} to {}: {}",
            rfc3339(from.min(to)),
            rfc3339(from.max(to)),
            text.trim()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Applies `edit` through the database's writer when `applies` holds of the notes
/// stored before it; whether it did.
fn write(
    db: &DbArgs,
    edit: AnnotationEdit,
    applies: impl Fn(&[TimeAnnotation]) -> bool,
) -> anyhow::Result<bool> {
    if db.clickhouse_url().is_some() {
        bail!("notes are kept in a local database file; --db names a ClickHouse");
    }
    let store = db.open(OpenMode::ReadWrite)?;
    let before = store.reader()?.time_annotations(None)?;
    if !applies(&before) {
        return Ok(false);
    }
    let writer = store.writer()?;
    writer.write(Batch {
        annotations: vec![edit],
        ..Batch::default()
    })?;
    writer.close()?;
    Ok(true)
}

/// Prints every note, earliest first.
fn list(args: &AnnotateArgs) -> anyhow::Result<ExitCode> {
    let database = args.db.open_for_reading()?;
    let notes = database.reader()?.time_annotations(None)?;
    for n in &notes {
        if args.json {
            println!(
                "{}",
                json!({
                    "id": n.id,
                    "from": rfc3339(n.from_ns),
                    "to": rfc3339(n.to_ns),
                    "from_ns": n.from_ns,
                    "to_ns": n.to_ns,
                    "text": n.text,
                    "created": rfc3339(n.created_ns),
                })
            );
        } else if n.from_ns == n.to_ns {
            println!("{:>4}  {}  {}", n.id, rfc3339(n.from_ns), n.text);
        } else {
            println!(
                "{:>4}  {} – {}  {}",
                n.id,
                rfc3339(n.from_ns),
                rfc3339(n.to_ns),
                n.text
            );
        }
    }
    if notes.is_empty() && !args.json {
        println!("no notes; add one with: annotate \"deploy v1.4\"");
    }
    Ok(ExitCode::SUCCESS)
}
