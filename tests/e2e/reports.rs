//! `report`: one file for a selection. The HTML is self-contained (its charts embedded
//! as PNG data, nothing fetched) and both it and the Markdown carry the same figures as
//! `stats --json` for the same selection, with the previous period beside them; the
//! Markdown's charts are PNG files beside it. Bad requests are refused clearly.

use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

fn stats(db: &str, range: &[&str]) -> Value {
    let mut args = vec!["stats", "--db", db, "--json"];
    args.extend_from_slice(range);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn report(db: &str, range: &[&str], out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["report", "--db", db, "--out", out];
    args.extend_from_slice(range);
    args.extend_from_slice(extra);
    run(&args)
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end} after {start}"));
    &text[from..from + len]
}

#[test]
fn a_report_holds_the_figures_of_stats_and_its_charts() {
    let dir = Scratch::new("report");
    let db = dir.path("demo.duckdb");
    let made = run(&["demo", "--db", &db, "--traces", "600"]);
    assert!(made.status.success(), "{}", stderr(&made));
    // The last three of the demo's seven days: the three before are the previous period.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (from, to) = ((now - 3 * 86_400).to_string(), now.to_string());
    let range = ["--from", from.as_str(), "--to", to.as_str()];
    let truth = stats(&db, &range);
    let calls = truth["llm_calls"].as_u64().unwrap();
    assert!(
        calls > 0 && truth["errors"].as_u64().unwrap() > 0,
        "{truth}"
    );

    let html_path = dir.path("week.html");
    let out = report(&db, &range, &html_path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("({calls} LLM calls, 4 charts)")),
        "{}",
        stdout(&out)
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    let embedded = between(
        &html,
        "<script type=\"application/json\" id=\"figures\">",
        "</script>",
    )
    .replace("<\\/", "</");
    let figures: Value = serde_json::from_str(&embedded).unwrap();
    assert_eq!(figures, truth, "the report's figures are stats --json's");
    // Self-contained: every image is embedded, nothing is fetched.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "an external reference"
    );
    let images: Vec<&str> = html.split("src=\"").skip(1).collect();
    assert_eq!(images.len(), 4, "four charts");
    // Charts as SVG, so that a printed report stays sharp: each a whole document with
    // its title and lines.
    for img in &images {
        let data = img
            .strip_prefix("data:image/svg+xml;base64,")
            .expect("an embedded SVG");
        let b64 = &data[..data.find('"').unwrap()];
        use base64::Engine as _;
        let svg = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{}",
            &svg[..80]
        );
        assert!(
            svg.contains("viewBox=\"0 0 1920 960\"") && svg.contains("<polyline"),
            "a chart with lines"
        );
    }
    // The KPI table: this period's calls, and the previous period's (not empty).
    let kpis = between(&html, "<table class=\"kpis\">", "</table>");
    let row = between(kpis, "<td>LLM calls</td>", "</tr>");
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .map(|c| c.trim_end_matches("</td>"))
        .collect();
    assert_eq!(cells[0].replace(',', ""), calls.to_string(), "{row}");
    assert_ne!(cells[1], "—", "the previous period has calls: {row}");
    // The slowest traces name their ids; the top errors their types.
    let slowest = between(&html, "<h2>Slowest traces</h2>", "</table>");
    assert!(
        slowest
            .split("<td>")
            .skip(1)
            .step_by(6)
            .any(|c| c.len() >= 32 + 5 && c[..32].chars().all(|ch| ch.is_ascii_hexdigit())),
        "{slowest}"
    );
    assert!(
        html.contains("<h2>Top errors</h2>\n<table"),
        "failed calls are listed"
    );
    // The anomalies, as `anomalies` finds them over the same range in hours (the worst
    // twenty).
    let found = stdout(&run(&[
        &["anomalies", "--db", &db, "--bucket", "1h", "--json"][..],
        &range,
    ]
    .concat()))
    .lines()
    .count();
    assert!(found > 0, "the demo's week holds unusual hours");
    let section = between(&html, "<h2>Anomalies</h2>\n", "</table>");
    assert_eq!(
        section.matches("<tr><td>").count(),
        found.min(20),
        "{section}"
    );

    let md_path = dir.path("week.md");
    let out = report(&db, &range, &md_path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(&md_path).unwrap();
    let block: Value = serde_json::from_str(between(&md, "```json\n", "\n```")).unwrap();
    assert_eq!(block, truth);
    let calls_row = between(&md, "| LLM calls | ", " |");
    assert_eq!(calls_row.replace(',', ""), calls.to_string());
    let charts: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("![").and_then(|l| l.split("](").nth(1)))
        .map(|l| l.trim_end_matches(')'))
        .collect();
    assert_eq!(charts.len(), 4, "{md}");
    for c in charts {
        let bytes = std::fs::read(dir.0.join(c)).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert!(bytes.starts_with(PNG), "{c}");
    }

    opens_in_a_browser(&html_path, &dir.path("week.png"));

    reads_as_a_pdf(&db, &range, &dir, &truth);

    // A file already there is kept unless --force.
    let again = report(&db, &range, &html_path, &[]);
    assert!(!again.status.success());
    assert_eq!(
        std::fs::read_to_string(&html_path).unwrap(),
        html,
        "left untouched"
    );
    assert!(
        report(&db, &range, &html_path, &["--force"])
            .status
            .success()
    );
}

/// Runs one of poppler's tools (tests/run.sh installs Debian's poppler-utils).
fn poppler(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs (tests/run.sh installs poppler-utils): {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// The PDF report, read back with poppler as a reader's viewer would: A4 pages, every
/// section's heading in its text, the slowest trace's id, each page numbered, the
/// attached figures equal to `stats --json`, four charts drawn, and its pages rendered
/// (kept beside the build as `report-pdf-N.png` for people to look at).
fn reads_as_a_pdf(db: &str, range: &[&str], dir: &Scratch, truth: &Value) {
    let path = dir.path("week.pdf");
    let out = report(db, range, &path, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&path).unwrap().starts_with(b"%PDF-"));
    let info = poppler("pdfinfo", &[&path]);
    let pages: usize = between(&info, "Pages:", "\n").trim().parse().unwrap();
    assert!(pages >= 2, "{info}");
    assert!(info.contains("595 x 842 pts (A4)"), "{info}");
    let text = poppler("pdftotext", &["-layout", &path, "-"]);
    for heading in [
        "LLM Observatory report",
        "Summary",
        "Charts",
        "Models",
        "Top errors",
        "Slowest traces",
        "Alerts that fired",
    ] {
        assert!(text.contains(heading), "the PDF says {heading}");
    }
    let slowest = cli_slowest(db, range);
    assert!(
        text.contains(&slowest),
        "the slowest trace {slowest} is listed"
    );
    assert!(
        text.contains(&format!("page {pages} of {pages}")),
        "the last page is numbered"
    );
    let calls = format!(
        "LLM calls {}",
        llm_observatory::format::integer(truth["llm_calls"].as_u64().unwrap())
    );
    assert!(
        text.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&calls),
        "{calls}"
    );
    let attached = dir.path("figures.json");
    poppler("pdfdetach", &["-save", "1", "-o", &attached, &path]);
    let figures: Value =
        serde_json::from_str(&std::fs::read_to_string(&attached).unwrap()).unwrap();
    assert_eq!(&figures, truth, "the attached figures are stats --json's");
    let images = poppler("pdfimages", &["-list", &path]);
    assert_eq!(
        images
            .lines()
            .skip(2)
            .filter(|l| l.contains(" image "))
            .count(),
        4,
        "{images}"
    );
    let prefix = dir.path("page");
    poppler("pdftoppm", &["-r", "80", "-png", &path, &prefix]);
    for n in 1..=pages {
        let page = format!("{prefix}-{n}.png");
        let png = std::fs::read(&page).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(png.starts_with(PNG));
        let keep =
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-pdf-{n}.png"));
        std::fs::copy(&page, keep).expect("keep the page");
    }
}

/// The id of the slowest trace of the selection, as `traces` names it.
fn cli_slowest(db: &str, range: &[&str]) -> String {
    let page = crate::query_api::cli(
        &[
            &[
                "traces", "--db", db, "--json", "--sort", "duration", "--limit", "1",
            ][..],
            range,
        ]
        .concat(),
    );
    page["traces"][0]["trace_id"].as_str().unwrap().to_string()
}

/// Opens the report in Debian's chromium, headless and offline, as a reader would:
/// the page the browser built holds every section and chart, and its screenshot is a
/// full page (kept beside the build as `report-html.png` for people to look at).
fn opens_in_a_browser(html: &str, shot: &str) {
    let url = format!("file://{html}");
    let browser = |args: &[&str]| {
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .args(["--proxy-server=127.0.0.1:9", "--window-size=1200,3400"])
            .args(args)
            .arg(&url)
            .output()
            .expect("chromium runs (tests/run.sh installs Debian's chromium)")
    };
    let dom = browser(&["--dump-dom"]);
    assert!(dom.status.success(), "{}", stderr(&dom));
    let dom = stdout(&dom);
    for section in [
        "Summary",
        "Charts",
        "Models",
        "Top errors",
        "Slowest traces",
        "Alerts that fired",
    ] {
        assert!(
            dom.contains(&format!("<h2>{section}</h2>")),
            "the browser shows {section}"
        );
    }
    assert_eq!(dom.matches("<img ").count(), 4, "four charts in the page");
    let out = browser(&[&format!("--screenshot={shot}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let png = std::fs::read(shot).expect("a screenshot");
    assert!(png.starts_with(PNG));
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1200, 3400));
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html.png");
    std::fs::copy(shot, keep).expect("keep the screenshot");
}
