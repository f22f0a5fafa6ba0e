//! Reports: one file for a selection, what the figures are for. The KPIs against the
//! previous period, the request-rate, latency, cost and error charts (drawn by the
//! renderer of the window's chart exports), the models, the top errors, the slowest
//! traces, the alerts that fired and the anomalies (figures outside their expected
//! band). HTML (charts as SVG, no external assets), PDF (A4 pages, [`pdf`]) or Markdown
//! (charts as PNG files beside it); each carries the figures exactly as `stats --json`
//! prints them, from the same code. Written by `report`, the digest of `serve`, and the
//! window's File > Export report….

mod pdf;

use crate::format;
use crate::gui::export::chart::{ChartData, ChartKind};
use crate::gui::export::{caption, chart_image, slug};
use crate::gui::filter_state::bucket_ns;
use crate::gui::views::latency::percentiles_chart;
use crate::gui::views::shared::model_series;
use crate::timearg::now_ns;
use anyhow::Context as _;
use base64::Engine as _;
use std::path::Path;
use store::Replace;
use store::{
    AlertEvent, Filter, ModelRow, Queries, SortDir, StoreError, Summary, TopError, TraceRow,
    TraceSort,
};

/// How many rows the tables show.
const TOP_ERRORS: u64 = 10;
const SLOWEST_TRACES: u64 = 10;
const ALERTS_SHOWN: u64 = 200;
/// Anomalies listed, the worst.
const ANOMALIES_SHOWN: usize = 20;

/// The bucket the report judges anomalies in: hours over days (each compared with the
/// same hour of the days before), finer over shorter ranges.
fn anomaly_bucket_ns(len_ns: i64) -> i64 {
    const MIN: i64 = 60_000_000_000;
    match len_ns {
        l if l >= 2 * 1440 * MIN => 60 * MIN,
        l if l >= 360 * MIN => 15 * MIN,
        _ => 5 * MIN,
    }
}
/// Lines drawn by name in the per-model charts (the rest summed as "other").
const TOP_MODELS: usize = 6;

/// One chart of a report, drawn both ways: PNG for Markdown and PDF, SVG for HTML.
pub struct DrawnChart {
    /// Its title.
    pub title: String,
    /// As PNG, at twice its size.
    pub png: Vec<u8>,
    /// As SVG.
    pub svg: String,
}

/// The file kinds a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained HTML page (charts as SVG).
    Html,
    /// A4 pages.
    Pdf,
    /// Markdown, its charts as PNG files beside it.
    #[value(name = "md")]
    Markdown,
}

impl Format {
    /// The format a file name asks for by its extension.
    pub fn of(path: &Path) -> anyhow::Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("html" | "htm") => Ok(Format::Html),
            Some("pdf") => Ok(Format::Pdf),
            Some("md" | "markdown") => Ok(Format::Markdown),
            _ => anyhow::bail!(
                "--out {}: name the file .html, .pdf or .md, the report's format",
                path.display()
            ),
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Markdown => "md",
        }
    }
}

/// The folder beside a Markdown report that holds its charts.
fn charts_dir(out: &Path) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    out.with_file_name(format!("{stem}-charts"))
}

/// Everything a report shows, read once: what `report` writes and the window's
/// File > Export report… saves.
pub struct Report {
    caption: String,
    database: String,
    summary: Summary,
    previous: Option<Summary>,
    models: Vec<ModelRow>,
    errors: Vec<TopError>,
    slowest: Vec<TraceRow>,
    alerts: Vec<AlertEvent>,
    /// The buckets whose figures fell outside their expected band, worst first.
    anomalies: Vec<store::anomaly::Anomaly>,
    charts: Vec<DrawnChart>,
    /// The figures as `stats --json` prints them.
    figures: serde_json::Value,
}

impl Report {
    /// Reads everything the report of `filter` shows from `r`; `database` names the
    /// database in the caption.
    pub fn gather(
        r: &mut dyn Queries,
        filter: &Filter,
        database: String,
    ) -> Result<Report, StoreError> {
        let summary = r.summary(filter)?;
        let models = r.per_model(filter)?;
        let first_token = r.first_token(filter)?;
        let figures = crate::figures::figures_json(&summary, &models, &first_token);
        // The previous period of equal length, when the selection has both ends.
        let window = match (filter.from_ns, filter.to_ns) {
            (Some(a), b) => Some((a, b.unwrap_or_else(now_ns))),
            (None, _) => summary
                .first_start_ns
                .zip(summary.last_end_ns)
                .filter(|(a, b)| b > a),
        };
        let previous = match (filter.from_ns, window) {
            (Some(_), Some((a, b))) => Some(r.summary(&Filter {
                from_ns: Some(a - (b - a)),
                to_ns: Some(a),
                ..filter.clone()
            })?),
            _ => None,
        };
        let mut charts = Vec::new();
        let text = caption(filter);
        if let Some((a, b)) = window.filter(|_| summary.llm_calls > 0) {
            let bucket = bucket_ns(b - a, 60);
            let per_s = bucket as f64 / 1e9;
            let points = r.time_series(filter, bucket)?;
            let order = r.models_by_volume()?;
            let latency = r.latency_percentiles(filter, bucket)?;
            let win = Some((a as f64 / 1e9, b as f64 / 1e9));
            let lines = |title: &str, unit, value: &dyn Fn(&store::SeriesPoint) -> f64| ChartData {
                title: title.into(),
                kind: ChartKind::Lines(model_series(&points, TOP_MODELS, &order, value)),
                unit,
                window: win,
                markers: Vec::new(),
                bands: Vec::new(),
                value_span: None,
            };
            let drawn = [
                lines("Requests/s by model", format::per_second, &|p| {
                    p.requests as f64 / per_s
                }),
                percentiles_chart(&latency, win),
                lines("Cost by model", format::usd, &|p| p.cost_usd),
                lines("Errors by model", format::count, &|p| p.errors as f64),
            ];
            for chart in drawn {
                // A chart that cannot be drawn is left out, and the report says so.
                match chart_image::png(&chart, &text)
                    .and_then(|png| Ok((png, chart_image::svg(&chart, &text)?)))
                {
                    Ok((png, svg)) => charts.push(DrawnChart {
                        title: chart.title,
                        png,
                        svg,
                    }),
                    Err(e) => tracing::warn!("the report leaves out {}: {e}", chart.title),
                }
            }
        }
        let anomalies = match window.filter(|_| summary.llm_calls > 0) {
            Some(w) => {
                let mut found = r
                    .anomalies(filter, w, anomaly_bucket_ns(w.1 - w.0))?
                    .anomalies;
                found.truncate(ANOMALIES_SHOWN);
                found
            }
            None => Vec::new(),
        };
        let errors = r.top_errors(filter, TOP_ERRORS)?;
        let (slowest, _) = r.traces_page(
            filter,
            TraceSort::Duration,
            SortDir::Desc,
            0,
            SLOWEST_TRACES,
        )?;
        let alerts = r
            .alert_history(filter.from_ns, ALERTS_SHOWN)?
            .into_iter()
            .filter(|e| e.state == "firing" && filter.to_ns.is_none_or(|t| e.time_ns < t))
            .collect();
        Ok(Report {
            caption: text,
            database,
            summary,
            previous,
            models,
            errors,
            slowest,
            alerts,
            anomalies,
            charts,
            figures,
        })
    }

    /// The report as one self-contained HTML page.
    pub fn html(&self) -> String {
        let r = self;
        let mut h = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>LLM Observatory report · {}</title><style>{STYLE}</style></head><body>\n\
             <h1>LLM Observatory report</h1>\n<p class=\"caption\">{} · database {}</p>\n",
            esc(&r.caption),
            esc(&r.caption),
            esc(&r.database)
        );
        h.push_str("<h2>Summary</h2>\n");
        let rows: Vec<Vec<String>> = kpis(&r.summary, r.previous.as_ref())
            .into_iter()
            .map(Vec::from)
            .collect();
        h.push_str(&html_table(&KPI_HEAD, &rows, "kpis"));
        h.push_str("<h2>Charts</h2>\n");
        if r.charts.is_empty() {
            h.push_str("<p>No LLM calls in this selection: nothing to chart.</p>\n");
        }
        // SVG, so that a printed report stays sharp.
        for chart in &r.charts {
            let data = base64::engine::general_purpose::STANDARD.encode(&chart.svg);
            h.push_str(&format!(
                "<figure><img alt=\"{0}\" src=\"data:image/svg+xml;base64,{data}\"><figcaption>{0}</figcaption></figure>\n",
                esc(&chart.title)
            ));
        }
        for (title, head, rows, empty) in tables(r) {
            h.push_str(&format!("<h2>{}</h2>\n", esc(title)));
            if rows.is_empty() {
                h.push_str(&format!("<p>{}</p>\n", esc(empty)));
            } else {
                h.push_str(&html_table(&head, &rows, &slug(title)));
            }
        }
        // The figures for scripts, exactly as `stats --json` prints them ("</" cannot end
        // the script early).
        let json = serde_json::to_string_pretty(&r.figures)
            .expect("figures serialize")
            .replace("</", "<\\/");
        h.push_str(&format!(
            "<script type=\"application/json\" id=\"figures\">\n{json}\n</script>\n</body></html>\n"
        ));
        h
    }

    /// The report as Markdown, its charts linked as `folder/NAME.png` (see
    /// [`chart_file`]).
    pub fn markdown(&self, folder: &str) -> String {
        let r = self;
        let mut m = format!(
            "# LLM Observatory report\n\n{} · database {}\n\n## Summary\n\n",
            r.caption, r.database
        );
        let rows: Vec<Vec<String>> = kpis(&r.summary, r.previous.as_ref())
            .into_iter()
            .map(Vec::from)
            .collect();
        m.push_str(&md_table(&KPI_HEAD, &rows));
        m.push_str("## Charts\n\n");
        if r.charts.is_empty() {
            m.push_str("No LLM calls in this selection: nothing to chart.\n\n");
        }
        for chart in &r.charts {
            m.push_str(&format!(
                "![{0}]({folder}/{1})\n\n",
                chart.title,
                chart_file(&chart.title)
            ));
        }
        for (title, head, rows, empty) in tables(r) {
            m.push_str(&format!("## {title}\n\n"));
            if rows.is_empty() {
                m.push_str(&format!("{empty}\n\n"));
            } else {
                m.push_str(&md_table(&head, &rows));
            }
        }
        m.push_str("## Figures (as `stats --json`)\n\n```json\n");
        m.push_str(&serde_json::to_string_pretty(&r.figures).expect("figures serialize"));
        m.push_str("\n```\n");
        m
    }

    /// The charts drawn.
    pub fn charts(&self) -> &[DrawnChart] {
        &self.charts
    }

    /// Writes the report at `path` in `format`; Markdown's charts go in a folder beside
    /// it named after it (`week.md`, `week-charts/`).
    pub fn write(&self, path: &Path, format: Format, replace: Replace) -> anyhow::Result<()> {
        match format {
            Format::Html => store::write_file(path, self.html().as_bytes(), replace)?,
            Format::Pdf => {
                store::write_file(path, &self.pdf().map_err(anyhow::Error::msg)?, replace)?
            }
            Format::Markdown => {
                let dir = charts_dir(path);
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                for chart in &self.charts {
                    store::write_file(
                        &dir.join(chart_file(&chart.title)),
                        &chart.png,
                        Replace::Allowed,
                    )?;
                }
                let folder = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                store::write_file(path, self.markdown(&folder).as_bytes(), replace)?;
            }
        }
        Ok(())
    }

    /// The LLM calls the report covers.
    pub fn llm_calls(&self) -> u64 {
        self.summary.llm_calls
    }

    /// Its figures, in the shape of `stats --json`.
    pub fn figures(&self) -> &serde_json::Value {
        &self.figures
    }
}

/// The KPI rows: (figure, this period, previous period, change).
fn kpis(s: &Summary, p: Option<&Summary>) -> Vec<[String; 4]> {
    let no_calls = "—".to_string();
    type Figure = (&'static str, fn(&Summary) -> Option<f64>, fn(f64) -> String);
    let figures: [Figure; 9] = [
        (
            "LLM calls",
            |s| Some(s.llm_calls as f64),
            |v| format::integer(v as u64),
        ),
        (
            "Errors",
            |s| Some(s.errors as f64),
            |v| format::integer(v as u64),
        ),
        (
            "Error rate",
            |s| (s.llm_calls > 0).then(|| s.errors as f64 / s.llm_calls as f64),
            format::percent,
        ),
        (
            "Input tokens",
            |s| Some(s.input_tokens as f64),
            |v| format::integer(v as u64),
        ),
        (
            "Output tokens",
            |s| Some(s.output_tokens as f64),
            |v| format::integer(v as u64),
        ),
        ("Cost", |s| Some(s.cost_usd), format::usd),
        (
            "Latency p50",
            |s| (s.llm_calls > 0).then_some(s.latency_ms[0]),
            format::millis,
        ),
        (
            "Latency p95",
            |s| (s.llm_calls > 0).then_some(s.latency_ms[1]),
            format::millis,
        ),
        (
            "Latency p99",
            |s| (s.llm_calls > 0).then_some(s.latency_ms[2]),
            format::millis,
        ),
    ];
    figures
        .iter()
        .map(|(name, get, show)| {
            let now = get(s);
            let before = p.and_then(get);
            let change = now
                .zip(before)
                .and_then(|(n, b)| format::change(n, b))
                .unwrap_or_else(|| no_calls.clone());
            [
                name.to_string(),
                now.map_or_else(|| no_calls.clone(), show),
                before.map_or_else(|| no_calls.clone(), show),
                change,
            ]
        })
        .collect()
}

fn model_rows(models: &[ModelRow]) -> Vec<Vec<String>> {
    models
        .iter()
        .map(|m| {
            vec![
                m.model.clone(),
                m.served.join(", "),
                format::integer(m.calls),
                format::integer(m.errors),
                format::integer(m.input_tokens + m.output_tokens),
                format::usd(m.cost_usd),
                format::millis(m.p50_ms),
                format::millis(m.p95_ms),
            ]
        })
        .collect()
}

fn error_rows(errors: &[TopError]) -> Vec<Vec<String>> {
    errors
        .iter()
        .map(|e| {
            vec![
                e.error_type.clone(),
                e.model.clone(),
                format::integer(e.count),
                format::local_time(e.last_seen_ns),
                e.example_message.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

fn trace_rows(traces: &[TraceRow]) -> Vec<Vec<String>> {
    traces
        .iter()
        .map(|t| {
            vec![
                t.trace_id.clone(),
                format::local_time(t.start_ns),
                t.root_name.clone(),
                t.service.clone(),
                format::millis(t.duration_ns as f64 / 1e6),
                format::integer(t.llm_calls),
            ]
        })
        .collect()
}

fn alert_rows(alerts: &[AlertEvent]) -> Vec<Vec<String>> {
    alerts
        .iter()
        .map(|a| {
            vec![
                format::local_time(a.time_ns),
                a.rule.clone(),
                a.scope.clone(),
                a.severity.clone(),
                a.message.clone(),
            ]
        })
        .collect()
}

const KPI_HEAD: [&str; 4] = ["Figure", "This period", "Previous period", "Change"];
const MODEL_HEAD: [&str; 8] = [
    "Model",
    "Served as",
    "Calls",
    "Errors",
    "Tokens",
    "Cost",
    "p50",
    "p95",
];
const ERROR_HEAD: [&str; 5] = ["Error", "Model", "Count", "Last seen", "Example"];
const TRACE_HEAD: [&str; 6] = [
    "Trace id",
    "Start",
    "Root span",
    "Service",
    "Duration",
    "LLM calls",
];
const ALERT_HEAD: [&str; 5] = ["Fired", "Rule", "Scope", "Severity", "Message"];
const ANOMALY_HEAD: [&str; 6] = ["Bucket", "Figure", "Model", "Value", "Expected", "Off by"];

fn anomaly_rows(anomalies: &[store::anomaly::Anomaly]) -> Vec<Vec<String>> {
    anomalies
        .iter()
        .map(|a| {
            let v = |x: f64| format::anomaly_value(a.metric, x);
            vec![
                format::local_time(a.bucket_start_ns),
                a.metric.label().to_string(),
                a.model.clone().unwrap_or_else(|| "all models".into()),
                v(a.value),
                format!(
                    "{} ({} – {})",
                    v(a.band.expected),
                    v(a.band.low.max(0.0)),
                    v(a.band.high)
                ),
                format!("{:.1} deviations", a.deviations()),
            ]
        })
        .collect()
}

/// A table section: (title, head, rows, what an empty one says).
type Section = (
    &'static str,
    Vec<&'static str>,
    Vec<Vec<String>>,
    &'static str,
);

/// The sections after the KPIs and charts.
fn tables(r: &Report) -> Vec<Section> {
    vec![
        (
            "Models",
            MODEL_HEAD.to_vec(),
            model_rows(&r.models),
            "No LLM calls in this selection.",
        ),
        (
            "Top errors",
            ERROR_HEAD.to_vec(),
            error_rows(&r.errors),
            "No failed calls.",
        ),
        (
            "Slowest traces",
            TRACE_HEAD.to_vec(),
            trace_rows(&r.slowest),
            "No traces.",
        ),
        (
            "Alerts that fired",
            ALERT_HEAD.to_vec(),
            alert_rows(&r.alerts),
            "No alert fired.",
        ),
        (
            "Anomalies",
            ANOMALY_HEAD.to_vec(),
            anomaly_rows(&r.anomalies),
            "No figure left its expected band.",
        ),
    ]
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_table(head: &[&str], rows: &[Vec<String>], class: &str) -> String {
    let mut t = format!("<table class=\"{class}\"><thead><tr>");
    for h in head {
        t.push_str(&format!("<th>{}</th>", esc(h)));
    }
    t.push_str("</tr></thead><tbody>");
    for row in rows {
        t.push_str("<tr>");
        for cell in row {
            t.push_str(&format!("<td>{}</td>", esc(cell)));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>\n");
    t
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\
h1{margin-bottom:.2em}.caption{color:#666}table{border-collapse:collapse;margin:.5em 0 1.5em}\
th,td{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left;vertical-align:top}\
td:not(:first-child){font-variant-numeric:tabular-nums}figure{margin:1em 0;break-inside:avoid}\
img{max-width:100%}@media print{body{margin:0}h2{break-after:avoid}}";

/// Escapes a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn md_table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = format!("| {} |\n", head.join(" | "));
    t.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        t.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    t.push('\n');
    t
}

/// The file name of a chart beside a Markdown report.
pub fn chart_file(title: &str) -> String {
    format!("{}.png", slug(title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_follows_the_file_name_and_markdown_charts_go_beside() {
        assert_eq!(Format::of(Path::new("r.HTML")).unwrap(), Format::Html);
        assert_eq!(Format::of(Path::new("week.md")).unwrap(), Format::Markdown);
        assert_eq!(Format::of(Path::new("r.pdf")).unwrap(), Format::Pdf);
        let none = Format::of(Path::new("r")).unwrap_err().to_string();
        assert!(none.contains(".html, .pdf or .md"), "{none}");
        assert_eq!(
            charts_dir(Path::new("/x/week.md")),
            Path::new("/x/week-charts")
        );
    }

    #[test]
    fn text_is_escaped_for_html_and_markdown_tables() {
        assert_eq!(
            esc("<b>\"a\" & 'b'</b>"),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }

    #[test]
    fn kpis_of_no_calls_read_dash_and_changes_need_both_periods() {
        let none = Summary::default();
        let some = Summary {
            llm_calls: 10,
            errors: 1,
            latency_ms: [100.0, 200.0, 300.0],
            ..Summary::default()
        };
        let rows = kpis(&none, Some(&some));
        let rate = rows.iter().find(|r| r[0] == "Error rate").unwrap();
        assert_eq!(rate[1], "—");
        assert_eq!(rate[3], "—");
        let calls = rows.iter().find(|r| r[0] == "LLM calls").unwrap();
        assert_eq!(calls[2], "10");
        let alone = kpis(&some, None);
        assert!(alone.iter().all(|r| r[2] == "—" && r[3] == "—"));
    }
}
