//! `export`: a selection of spans, LLM calls or traces written to a file — CSV, JSON or
//! Parquet for spreadsheets, pandas and DuckDB, or OTLP JSON that any OpenTelemetry tool
//! (and `import`) reads back losslessly.

use super::DbArgs;
use super::calls::QueryArgs;
use super::stats::FilterArgs;
use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use store::{ExportFormat, ExportTable, OpenMode, Replace, StoreError};

/// Which rows to export.
#[derive(ValueEnum, Debug, Clone, Copy)]
enum What {
    /// Every span of the selected traces.
    Spans,
    /// Every LLM call of the selection, priced, with prompt and response.
    Calls,
    /// One row per trace with its figures.
    Traces,
}

/// The file format.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq)]
enum Format {
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// Apache Parquet.
    Parquet,
    /// OTLP JSON Lines, one ExportTraceServiceRequest per trace (spans only).
    OtlpJson,
}

/// Arguments of `export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// What to export
    #[arg(long, value_enum)]
    what: What,
    /// File format
    #[arg(long, value_enum)]
    format: Format,
    /// File to write (never the database itself; written whole or not at all)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    filter: FilterArgs,
    #[command(flatten)]
    query: QueryArgs,
}

/// Traces read per query by an OTLP JSON export: few enough that their ids make a
/// short list, many enough that the per-query cost vanishes.
const TRACES_PER_READ: usize = 1000;

/// Writes the export and says how many rows went out.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    if args.format == Format::OtlpJson && !matches!(args.what, What::Spans) {
        anyhow::bail!(
            "--format otlp-json exports spans (OTLP has no table of calls or traces): use --what spans"
        );
    }
    let filter = args.query.filter(&args.filter)?;
    let database: std::sync::Arc<dyn store::Database> = if args.db.clickhouse_url().is_some() {
        args.db.open_for_reading()?
    } else {
        let store = args.db.open(OpenMode::ReadOnly)?;
        store.sync_text_index().ok();
        std::sync::Arc::new(store)
    };
    let mut reader = database.reader()?;
    let replace = if args.force {
        Replace::Allowed
    } else {
        Replace::Never
    };
    let mut output = reader.output(&args.out, replace).map_err(|e| match e {
        StoreError::OutputExists(_) => anyhow::anyhow!("{e}: add --force to replace it"),
        e => e.into(),
    })?;
    if args.format == Format::OtlpJson {
        let ids = reader.trace_ids(&filter)?;
        let mut out = std::io::BufWriter::new(output.file());
        let bar = ProgressBar::new(ids.len() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} traces {eta}")
                .expect("progress template"),
        );
        let mut spans = 0usize;
        // Traces are read a chunk at a time (one query each), written one per line.
        for chunk in ids.chunks(TRACES_PER_READ) {
            for tree in reader.traces(chunk)? {
                spans += tree.spans.len();
                let request = ingest::otlp_json::trace_request(&tree)
                    .map_err(|e| anyhow::anyhow!("trace {}: {e}", tree.trace_id))?;
                writeln!(out, "{}", ingest::otlp_json::traces_to_json(&request))
                    .with_context(|| format!("cannot write {}", args.out.display()))?;
                bar.inc(1);
            }
        }
        out.flush()
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        drop(out);
        output.commit()?;
        bar.finish_and_clear();
        println!(
            "exported {spans} spans of {} traces to {}",
            ids.len(),
            args.out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let table = match args.what {
        What::Spans => ExportTable::Spans,
        What::Calls => ExportTable::Calls,
        What::Traces => ExportTable::Traces,
    };
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Json => ExportFormat::Json,
        Format::Parquet => ExportFormat::Parquet,
        Format::OtlpJson => unreachable!("handled above"),
    };
    let rows = reader
        .export(table, &filter, format, &mut output)
        .with_context(|| format!("cannot export to {}", args.out.display()))?;
    output.commit()?;
    println!(
        "exported {rows} {} to {}",
        format!("{:?}", args.what).to_lowercase(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
