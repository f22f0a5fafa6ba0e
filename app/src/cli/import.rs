//! `import`: OTLP dumps into a database, with a progress bar and a summary.

use super::DbArgs;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::import::{Destination, ImportOptions, ImportReport, Progress, import_file};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use store::OpenMode;

/// Arguments of `import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// A file with any bad record imports nothing (default: import the good records,
    /// report the bad ones, exit 1)
    #[arg(long)]
    strict: bool,
    /// Push the spans into a team's ClickHouse (the OpenTelemetry Collector's
    /// otel_traces table, in its row layout) instead of a database file
    #[arg(long, value_name = "URL", conflicts_with = "db")]
    clickhouse: Option<String>,
    /// With --clickhouse: create the database and the Collector's tables (its
    /// exporter's own DDL) where missing
    #[arg(long, requires = "clickhouse")]
    create_tables: bool,
    /// Files to import; the format is detected from the content
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn bytes(&self, read: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(read);
    }
}

/// Imports the files and prints the summary; exit 1 when anything was rejected.
pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let clickhouse = match &args.clickhouse {
        Some(url) => {
            let mut ch = args.db.connect_clickhouse(url, args.create_tables)?;
            if args.create_tables {
                ch.create_tables()?;
            }
            Some(ch)
        }
        None => None,
    };
    let (store, writer) = match &clickhouse {
        Some(_) => (None, None),
        None => {
            let store = args.db.open(OpenMode::ReadWrite)?;
            let writer = store.writer()?;
            (Some(store), Some(writer))
        }
    };
    let destination = match (&clickhouse, &writer) {
        (Some(ch), _) => Destination::ClickHouse(ch),
        (None, Some(w)) => Destination::Database(w),
        (None, None) => unreachable!("one destination is always opened"),
    };
    let options = ImportOptions {
        strict: args.strict,
    };
    let mut report = ImportReport::default();
    let cancel = AtomicBool::new(false);
    for file in &args.files {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(file.display().to_string());
        let problems_before = report.problems.len();
        let warnings_before = report.warnings.len();
        import_file(
            file,
            destination,
            &options,
            &Bar(bar.clone()),
            &cancel,
            &mut report,
        );
        bar.finish_and_clear();
        for p in &report.problems[problems_before..] {
            eprintln!("{p}");
        }
        for w in &report.warnings[warnings_before..] {
            eprintln!("warning: {w}");
        }
    }
    if let Some(w) = writer {
        w.close()?;
    }
    drop(store);
    println!(
        "imported {} file(s): {} spans read, {} stored, {} already present, {} LLM calls, {} rejected",
        report.files,
        report.spans,
        report.stored,
        report.duplicates,
        report.llm_calls,
        report.rejected
    );
    if report.logs + report.metric_points > 0 {
        println!(
            "and {} log records, {} metric points stored",
            report.logs, report.metric_points
        );
    }
    if report.evaluations > 0 {
        println!("and {} evaluation results stored", report.evaluations);
    }
    Ok(if report.has_problems() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
