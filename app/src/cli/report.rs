//! `report`: writes the report of a selection ([`crate::report`]) as one HTML file, a
//! PDF, or Markdown with its charts beside it.

use super::DbArgs;
use super::stats::FilterArgs;
use crate::report::{Report, chart_file};
use crate::timearg::now_ns;
use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};
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

/// The file kinds a report is written as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Html,
    Markdown,
    Pdf,
}

impl Format {
    fn of(path: &Path) -> anyhow::Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("html" | "htm") => Ok(Format::Html),
            Some("md" | "markdown") => Ok(Format::Markdown),
            Some("pdf") => Ok(Format::Pdf),
            _ => bail!(
                "--out {}: name the file .html, .pdf or .md, the report's format",
                path.display()
            ),
        }
    }
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
    match format {
        Format::Html => store::write_file(&args.out, report.html().as_bytes(), replace)?,
        Format::Pdf => store::write_file(
            &args.out,
            &report.pdf().map_err(anyhow::Error::msg)?,
            replace,
        )?,
        Format::Markdown => {
            let dir = charts_dir(&args.out);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for (title, png) in report.charts() {
                store::write_file(&dir.join(chart_file(title)), png, Replace::Allowed)?;
            }
            let folder = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            store::write_file(&args.out, report.markdown(&folder).as_bytes(), replace)?;
        }
    }
    println!(
        "wrote {} ({} LLM calls, {} charts)",
        args.out.display(),
        report.llm_calls(),
        report.charts().len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The folder beside a Markdown report that holds its charts.
fn charts_dir(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    out.with_file_name(format!("{stem}-charts"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_file_name() {
        assert_eq!(Format::of(Path::new("r.HTML")).unwrap(), Format::Html);
        assert_eq!(Format::of(Path::new("week.md")).unwrap(), Format::Markdown);
        assert_eq!(Format::of(Path::new("r.pdf")).unwrap(), Format::Pdf);
        let none = Format::of(Path::new("r")).unwrap_err().to_string();
        assert!(none.contains(".html, .pdf or .md"), "{none}");
    }

    #[test]
    fn markdown_charts_go_in_a_folder_named_after_the_file() {
        assert_eq!(
            charts_dir(Path::new("/x/week.md")),
            Path::new("/x/week-charts")
        );
    }
}
