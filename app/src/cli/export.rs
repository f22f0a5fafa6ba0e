//! `export`: a selection of spans, LLM calls, traces or evaluations written to a file —
//! CSV, JSON or Parquet for spreadsheets, pandas and DuckDB, or OTLP JSON that any
//! OpenTelemetry tool (and `import`) reads back losslessly — and the sessions, agents
//! and tools tables as the window shows them (CSV or JSON).

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
    /// Every evaluation, annotation and feedback of the selection.
    Evaluations,
    /// One row per session (conversation) with its figures.
    Sessions,
    /// One row per agent with its runs' figures.
    Agents,
    /// One row per tool with its executions' figures.
    Tools,
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
    if args.format == Format::Parquet
        && matches!(args.what, What::Sessions | What::Agents | What::Tools)
    {
        anyhow::bail!(
            "--what {} is written as csv or json (the window's table); parquet holds spans, calls, traces and evaluations",
            format!("{:?}", args.what).to_lowercase()
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
        What::Evaluations => ExportTable::Evaluations,
        What::Sessions | What::Agents | What::Tools => {
            let rows = summary_rows(reader.as_mut(), args.what, &filter)?;
            let n = rows.len();
            write_rows(&rows, args.format, output.file())
                .with_context(|| format!("cannot write {}", args.out.display()))?;
            output.commit()?;
            println!(
                "exported {n} {} to {}",
                format!("{:?}", args.what).to_lowercase(),
                args.out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
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

/// The rows of the sessions, agents or tools table of a selection, as the window
/// lists them (every row, not a page), each as a JSON object.
fn summary_rows(
    reader: &mut dyn store::Queries,
    what: What,
    filter: &store::Filter,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let json = |v: Result<Vec<serde_json::Value>, serde_json::Error>| {
        v.context("cannot write the rows as JSON")
    };
    Ok(match what {
        What::Sessions => {
            let (rows, _) = reader.sessions_page(
                filter,
                "",
                store::SessionSort::Start,
                store::SortDir::Asc,
                0,
                // Every row (the database's LIMIT takes a signed number).
                i64::MAX as u64,
            )?;
            json(rows.iter().map(serde_json::to_value).collect())?
        }
        What::Agents => json(
            reader
                .agents(filter)?
                .iter()
                .map(serde_json::to_value)
                .collect(),
        )?,
        What::Tools => json(
            reader
                .tools(filter)?
                .iter()
                .map(serde_json::to_value)
                .collect(),
        )?,
        _ => unreachable!("only the summary tables"),
    })
}

/// Writes rows (JSON objects with the same keys) as a JSON array or as CSV with a
/// header row (lists joined with "; ").
fn write_rows(
    rows: &[serde_json::Value],
    format: Format,
    out: &mut std::fs::File,
) -> anyhow::Result<()> {
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, rows)?;
        out.write_all(b"\n")?;
        return Ok(());
    }
    let mut csv = csv::Writer::from_writer(out);
    let Some(first) = rows.first().and_then(|r| r.as_object()) else {
        return Ok(());
    };
    let keys: Vec<&String> = first.keys().collect();
    csv.write_record(&keys)?;
    for row in rows {
        csv.write_record(keys.iter().map(|k| cell(&row[k.as_str()])))?;
    }
    csv.flush()?;
    Ok(())
}

/// A JSON value as a CSV cell.
fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}
