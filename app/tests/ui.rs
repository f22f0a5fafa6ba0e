//! The window driven as a user would, through egui_kittest: AccessKit queries, clicks,
//! typing and dropped files, against real DuckDB files. Run on the software renderer
//! (`WGPU_BACKEND=gl`, Mesa llvmpipe) so the committed snapshots are stable.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{By, NodeT, Queryable};
use ingest::import::{ImportOptions, ImportReport, import_file};
use ingest::normalize::normalize_traces;
use ingest::synth::{Synth, SynthConfig};
use llm_observatory::format;
use llm_observatory::gui::{ObservatoryApp, StartOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use store::Queries as _;
use store::{Filter, OpenMode, PriceTable, Store};

#[path = "ui/alerts.rs"]
mod alerts;
#[path = "ui/analytics.rs"]
mod analytics;
#[path = "ui/clickhouse.rs"]
mod clickhouse;
#[path = "ui/first_run.rs"]
mod first_run;
#[path = "ui/notes.rs"]
mod notes;
#[path = "ui/prompts.rs"]
mod prompts;
// The window tests start and query the server; the fault tests also stop it.
#[allow(dead_code)]
#[path = "../../tests/support/clickhouse_front.rs"]
mod clickhouse_front;

/// A fresh folder for one test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir()
            // Fixed width, so that texts naming it lay out the same in every run.
            .join(format!("llm-observatory-ui-{:010}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch folder");
        Scratch(d)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

fn truth(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name)).expect("truth file");
    serde_json::from_str(&text).expect("truth json")
}

/// A database holding the spans of `files`, closed again so that the app can open it.
fn database_from(path: &Path, files: &[PathBuf]) {
    let store = Store::open(path, OpenMode::ReadWrite).expect("open");
    let writer = store.writer().expect("writer");
    let mut report = ImportReport::default();
    for f in files {
        import_file(
            f,
            ingest::import::Destination::Database(&writer),
            &ImportOptions::default(),
            &(),
            &AtomicBool::new(false),
            &mut report,
        );
    }
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    writer.close().expect("close");
}

/// Synthetic traffic between two times into an open writer.
fn synth_into(writer: &store::Writer, traces: u64, start_ns: i64, end_ns: i64, seed: u64) {
    let mut synth = Synth::new(SynthConfig {
        traces,
        start_ns,
        end_ns,
        seed,
    });
    let mut rows = Vec::new();
    while let Some(req) = synth.next_request(256) {
        rows.extend(normalize_traces(&req).rows);
    }
    writer
        .write(store::Batch {
            spans: rows,
            ..Default::default()
        })
        .expect("write");
}

fn start(path: &Path) -> StartOptions {
    StartOptions {
        database: path.to_path_buf(),
        demo: false,
        demo_live: false,
        listen: None,
        scrape: None,
        prices: PriceTable::bundled(),
        price_file: None,
        alerts: None,
        notices: Vec::new(),
        bench_frames: None,
        screenshot: None,
        launched: Instant::now(),
        opening: None,
        single_instance: None,
    }
}

fn harness(path: &Path) -> Harness<'static, ObservatoryApp> {
    let options = start(path);
    Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options))
}

/// The first words of what the user asked in a call (its prompt's last user message),
/// to find it on screen.
fn asked(call: &store::TraceSpan) -> String {
    call.prompt
        .as_deref()
        .unwrap()
        .split("user: ")
        .last()
        .unwrap()
        .chars()
        .take(30)
        .collect()
}

/// Steps frames until `cond` holds (the query cache answers from other threads).
fn wait_for(
    h: &mut Harness<'_, ObservatoryApp>,
    what: &str,
    mut cond: impl FnMut(&Harness<'_, ObservatoryApp>) -> bool,
) {
    let t = Instant::now();
    loop {
        h.step();
        if cond(h) {
            return;
        }
        if t.elapsed() > Duration::from_secs(30) {
            let shown: Vec<String> = h
                .root()
                .children_recursive()
                .filter_map(|n| {
                    let a = n.accesskit_node();
                    a.label().or(a.value())
                })
                .collect();
            panic!("timed out waiting for {what}; on screen: {shown:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the database is open and no query has been loading for three frames in
/// a row, so that a snapshot never catches the top bar's "Updating" spinner mid-turn
/// (its angle follows the clock) or a view before its last figures arrive.
fn settle(h: &mut Harness<'_, ObservatoryApp>) {
    let mut quiet = 0;
    wait_for(h, "the queries to finish", |h| {
        // While the database opens no query runs, and none shows "Updating". The top
        // bar then says "Opening FILE…" (not a column such as "Opening message").
        let opening = h
            .query(By::new().role(Role::Label).predicate(|n| {
                n.value()
                    .is_some_and(|l| l.starts_with("Opening ") && l.ends_with('…'))
            }))
            .is_some();
        quiet = if !opening && h.query_by_label("Updating").is_none() {
            quiet + 1
        } else {
            0
        };
        quiet >= 3
    });
}

/// Snapshots the window once every query has finished (see [`settle`]).
fn snapshot_settled(h: &mut Harness<'_, ObservatoryApp>, name: &str) {
    settle(h);
    h.snapshot(name);
}

/// Snapshots the window with what differs from run to run masked: texts showing a
/// wall-clock time ("fired now") or this run's scratch folder (its process id). The
/// unmasked image is saved beside the build for people to look at.
fn snapshot_masked(h: &mut Harness<'_, ObservatoryApp>, name: &str) {
    settle(h);
    let full = h.render().expect("render");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    full.save(dir.join(format!("{name}.png")))
        .expect("save the full image");
    let varies = |t: &str| {
        t.contains("llm-observatory-ui-")
            // A port the test's receivers were given by the system.
            || t.contains("127.0.0.1:")
            || t.as_bytes().windows(19).any(|w| {
                w[4] == b'-'
                    && w[7] == b'-'
                    && w[10] == b' '
                    && w[13] == b':'
                    && w[16] == b':'
                    && w[..4].iter().all(u8::is_ascii_digit)
            })
    };
    let rects: Vec<egui::Rect> = h
        .root()
        .children_recursive()
        .filter(|n| {
            let a = n.accesskit_node();
            a.label().is_some_and(|l| varies(&l)) || a.value().is_some_and(|v| varies(&v))
        })
        .map(|n| n.rect())
        .collect();
    for r in rects {
        h.mask(r);
    }
    h.snapshot(name);
}

/// The custom range the filter bar shows (Unix ns, from–to), as a drill-down set it.
fn custom_range(h: &Harness<'_, ObservatoryApp>) -> (i64, i64) {
    let field = |name: &str| {
        let text = h
            .get_by_role_and_label(Role::TextInput, name)
            .value()
            .unwrap();
        llm_observatory::gui::filter_state::parse_local(&text).unwrap()
    };
    (field("from"), field("to"))
}

/// The accessible label of the KPI card titled `title`.
fn card(h: &Harness<'_, ObservatoryApp>, title: &str) -> Option<String> {
    h.query_by_label_contains(&format!("{title}: "))
        .and_then(|n| n.accesskit_node().label())
}

/// Waits until the Requests/s card reports `calls` LLM calls and nothing is loading.
fn wait_for_calls(h: &mut Harness<'_, ObservatoryApp>, calls: u64) {
    let want = format!("{} LLM calls", format::integer(calls));
    let t = Instant::now();
    loop {
        h.step();
        let shown = card(h, "Requests/s");
        // ", 0 LLM calls", so that "40 LLM calls" is not taken for it.
        if shown
            .as_ref()
            .is_some_and(|l| l.ends_with(&format!(", {want}")))
            && h.query_by_label("Updating").is_none()
        {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting for {want}; the card says {shown:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Replaces the text of the field labelled `label` with `text`, as typed.
fn replace_text(h: &mut Harness<'_, ObservatoryApp>, label: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, label).focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_role_and_label(Role::TextInput, label)
        .type_text(text);
    h.step();
}

/// Waits for the getting-started panel an empty database shows.
fn wait_for_first_run(h: &mut Harness<'_, ObservatoryApp>) {
    wait_for(h, "the getting-started panel", |h| {
        h.query_by_label("Send your first span").is_some()
    });
}

fn click_range(h: &mut Harness<'_, ObservatoryApp>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.step();
}

struct DroppedPath(PathBuf);

impl std::fmt::Debug for DroppedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn kpi_cards_show_what_the_store_computes() {
    let dir = Scratch::new("kpis");
    let db = dir.path("fixture.duckdb");
    database_from(&db, &[fixture("openinference-openai.jsonl")]);
    let expected = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        store.reader().unwrap().summary(&Filter::default()).unwrap()
    };
    let t = truth("openinference-openai.truth.json");
    assert_eq!(expected.llm_calls, t["calls"].as_u64().unwrap());

    let mut h = harness(&db);
    click_range(&mut h, "All");
    wait_for_calls(&mut h, expected.llm_calls);

    // Screen readers hear each chart's series: lowest, highest and latest value.
    let chart = h
        .query_by_label_contains("Latency percentiles chart:")
        .and_then(|n| n.accesskit_node().label())
        .unwrap();
    for series in ["p50: min ", "p95: min ", "p99: min "] {
        assert!(chart.contains(series), "{chart}");
    }
    assert!(chart.contains(", latest "), "{chart}");

    let errors = card(&h, "Error rate").unwrap();
    let rate = expected.errors as f64 / expected.llm_calls as f64;
    assert!(
        errors.starts_with(&format!("Error rate: {}", format::percent(rate))),
        "{errors}"
    );
    assert!(
        errors.ends_with(&format!("{} errors", t["errors"])),
        "{errors}"
    );
    let cost = card(&h, "Cost/hour").unwrap();
    assert!(
        cost.contains(&format!("{} in range", format::usd(expected.cost_usd))),
        "{cost}"
    );
    let p95 = card(&h, "p95 latency").unwrap();
    assert!(
        p95.starts_with(&format!(
            "p95 latency: {}",
            format::percentile(expected.latency_ms[1], expected.latency_approximate)
        )),
        "{p95}"
    );
    let tokens = card(&h, "Tokens/s").unwrap();
    assert!(
        tokens.contains(&format!(
            "{} in · {} out",
            format::count(t["input_tokens"].as_f64().unwrap()),
            format::count(t["output_tokens"].as_f64().unwrap())
        )),
        "{tokens}"
    );
    // The model table lists every model asked for in the truth file.
    for model in t["models_by_request"].as_object().unwrap().keys() {
        assert!(
            h.query_all_by_label(model).next().is_some(),
            "model {model} missing from the table"
        );
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "overview_fixture");
    // The theme is the user's choice.
    h.get_by_role_and_label(Role::Button, "Light").click();
    h.run_steps(2);
    assert_eq!(
        h.ctx.options(|o| o.theme_preference),
        egui::ThemePreference::Light
    );
    // The slowest trace opens from its short id in the Overview's list.
    let slowest = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let (page, _) = store
            .reader()
            .unwrap()
            .traces_page(
                &Filter::default(),
                store::TraceSort::Duration,
                store::SortDir::Desc,
                0,
                1,
            )
            .unwrap();
        page[0].trace_id.clone()
    };
    h.query_all_by_label(&slowest[..8])
        .next()
        .expect("the slowest trace's id in the list")
        .click();
    let crumb = format!("Trace {}", &slowest[..12]);
    wait_for(&mut h, &crumb.clone(), |h| {
        h.query_by_label(&crumb).is_some()
    });
}

/// A range holding no calls on a database that has some: figures of no calls read "—"
/// (not 0 ms or 0 %), the charts run from zero up and say what is missing, and the
/// Overview says where the data is.
#[test]
fn an_empty_range_says_what_is_missing_and_where_the_data_is() {
    let dir = Scratch::new("empty-range");
    let (_db, mut h) = fixture_harness(&dir, "openinference-openai");
    // A fixed hour before the fixture's calls (2026-11-27), so the picture is the same
    // every run.
    click_range(&mut h, "Custom");
    replace_text(&mut h, "from", "2026-11-20 10:00:00");
    replace_text(&mut h, "to", "2026-11-20 11:00:00");
    wait_for_calls(&mut h, 0);
    // The cards can answer a frame before the charts' queries are asked for the new
    // range: let every query finish.
    settle(&mut h);
    for title in ["Avg latency", "p95 latency", "Error rate"] {
        let shown = card(&h, title).unwrap();
        assert!(shown.starts_with(&format!("{title}: —")), "{shown}");
    }
    assert!(card(&h, "Avg latency").unwrap().ends_with("p50 —"));
    let said = h
        .query_by_value_contains_text("No LLM calls between")
        .expect("the Overview says the range is empty");
    assert!(said.contains("; stored calls run from "), "{said}");
    let chart = h
        .query_by_label_contains("Requests/s by model chart:")
        .and_then(|n| n.accesskit_node().label())
        .unwrap();
    assert!(chart.contains("0 points"), "{chart}");
    assert!(chart.contains(". No data between "), "{chart}");
    snapshot_masked(&mut h, "empty_range");
}

/// F1 (and Help > Keyboard shortcuts) lists every key the window answers, in the
/// platform's words, from the definitions the window consumes; Esc closes it.
#[test]
fn the_shortcuts_window_lists_the_keys_the_window_answers() {
    let dir = Scratch::new("shortcuts");
    let (_db, mut h) = fixture_harness(&dir, "openinference-openai");
    h.key_press(egui::Key::F1);
    h.run_steps(2);
    let shown = |h: &Harness<'_, ObservatoryApp>, text: &str| {
        h.query_by_value_contains_text(text).is_some() || h.query_by_label(text).is_some()
    };
    assert!(shown(&h, "Keyboard shortcuts"), "F1 opens the list");
    for (keys, what) in [
        ("Ctrl+O", "Open database…"),
        ("Ctrl+I", "Import OTLP files…"),
        ("Ctrl+Shift+E", "Export report…"),
        ("Ctrl+Q", "Quit"),
        ("Alt+Left", "Back"),
        ("Ctrl+1", "Overview"),
        ("Ctrl+F", "Inspector"),
        (
            "↑ / ↓",
            "Move through the rows of a table (Traces, Inspector, Sessions…)",
        ),
    ] {
        assert!(shown(&h, keys), "{keys} is listed");
        assert!(shown(&h, what), "{what} is listed");
    }
    // The list is what the window does: Ctrl+F shows the Inspector.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!shown(&h, "In a view"), "Esc closes it");
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.run_steps(2);
    wait_for(&mut h, "Ctrl+F to show the Inspector", |h| {
        h.query_by_role_and_label(Role::TextInput, "Query")
            .is_some()
    });
    // Help > Keyboard shortcuts… opens it again.
    h.get_by_label("Help").click();
    h.run_steps(2);
    h.get_by_label_contains("Keyboard shortcuts…").click();
    h.run_steps(2);
    assert!(shown(&h, "In a view"), "the menu opens the list");
    h.remove_cursor();
    snapshot_settled(&mut h, "shortcuts");
}

#[test]
fn overview_reads_in_the_light_theme_at_2x() {
    let dir = Scratch::new("light");
    let db = dir.path("fixture.duckdb");
    database_from(&db, &[fixture("openinference-openai.jsonl")]);
    let calls = truth("openinference-openai.truth.json")["calls"]
        .as_u64()
        .unwrap();
    // Light theme at 2x scale (as on a HiDPI screen).
    let options = start(&db);
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .with_pixels_per_point(2.0)
        .with_theme(egui::Theme::Light)
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    click_range(&mut h, "All");
    wait_for_calls(&mut h, calls);
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "overview_fixture_light_2x");
}

#[test]
fn time_range_and_model_filter_change_the_figures() {
    let dir = Scratch::new("filters");
    let db = dir.path("two-periods.duckdb");
    let now = llm_observatory::timearg::now_ns();
    const HOUR: i64 = 3_600_000_000_000;
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        // Old traffic 10 to 2 days ago, recent traffic in the last 12 hours: no call
        // sits near the 24 h boundary.
        synth_into(&writer, 600, now - 240 * HOUR, now - 48 * HOUR, 1);
        synth_into(&writer, 300, now - 12 * HOUR, now - HOUR, 2);
        writer.close().unwrap();
    }
    let (all, recent, mini_recent, claude_recent) = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let mut r = store.reader().unwrap();
        let recent = Filter {
            from_ns: Some(now - 24 * HOUR),
            ..Filter::default()
        };
        let count = |r: &mut store::Reader, f: &Filter| r.summary(f).unwrap().llm_calls;
        (
            count(&mut r, &Filter::default()),
            count(&mut r, &recent),
            count(
                &mut r,
                &Filter {
                    models: vec!["gpt-4o-mini".into()],
                    ..recent.clone()
                },
            ),
            count(
                &mut r,
                &Filter {
                    models: vec!["claude-*".into()],
                    ..recent.clone()
                },
            ),
        )
    };
    assert!(all > recent && recent > mini_recent && mini_recent > 0 && claude_recent > 0);

    let mut h = harness(&db);
    click_range(&mut h, "24h");
    wait_for_calls(&mut h, recent);
    click_range(&mut h, "All");
    wait_for_calls(&mut h, all);
    click_range(&mut h, "24h");
    wait_for_calls(&mut h, recent);

    h.get_by_label("Models: all").click();
    h.run_steps(2);
    // A freshly opened menu may hold a sizing copy of its contents: click the first.
    h.query_all_by_role_and_label(Role::CheckBox, "gpt-4o-mini")
        .next()
        .expect("gpt-4o-mini in the models menu")
        .click();
    h.run_steps(2);
    wait_for_calls(&mut h, mini_recent);
    h.query_all_by_role_and_label(Role::Button, "All models")
        .next()
        .expect("All models in the menu")
        .click();
    h.run_steps(2);
    let pattern = h.get_by_role_and_label(Role::TextInput, "Pattern");
    pattern.focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Pattern")
        .type_text("claude-*");
    h.step();
    h.get_by_role_and_label(Role::Button, "Add").click();
    h.step();
    wait_for_calls(&mut h, claude_recent);
    assert!(h.query_by_label("Model: claude-*").is_some());
}

#[test]
fn dropping_a_dump_imports_it_and_the_counts_rise() {
    let dir = Scratch::new("drop");
    let db = dir.path("empty.duckdb");
    let t = truth("openllmetry-openai.truth.json");
    let calls = t["calls"].as_u64().unwrap();

    let mut h = harness(&db);
    click_range(&mut h, "All");
    wait_for_first_run(&mut h);
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(fixture("openllmetry-openai.jsonl"))));
    wait_for(&mut h, "the import summary", |h| {
        h.query_by_value_contains_text("Imported").is_some()
    });
    let summary = h.query_by_value_contains_text("Imported").unwrap();
    assert!(
        summary.starts_with(&format!(
            "Imported {} spans ({} LLM calls)",
            2 * calls,
            calls
        )),
        "{summary}"
    );
    assert!(summary.ends_with("0 rejected."), "{summary}");
    wait_for_calls(&mut h, calls);
    h.get_by_role_and_label(Role::Button, "Close").click();
    h.step();
}

#[test]
fn a_bad_line_is_reported_with_its_place() {
    let dir = Scratch::new("bad-line");
    let db = dir.path("db.duckdb");
    let dump = dir.path("dump.jsonl");
    let good = std::fs::read_to_string(fixture("openllmetry-openai.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    std::fs::write(&dump, format!("{first}\n{{not json\n")).unwrap();

    let mut h = harness(&db);
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(dump.clone())));
    wait_for(&mut h, "the import summary", |h| {
        h.query_by_value_contains_text("Imported").is_some()
    });
    let place = format!("{}:2:", dump.display());
    assert!(
        h.query_by_value_contains_text(&place).is_some(),
        "no problem naming {place}"
    );
}

#[test]
fn opening_a_file_that_is_not_a_database_says_so_and_keeps_the_open_one() {
    let dir = Scratch::new("not-db");
    let db = dir.path("good.duckdb");
    database_from(&db, &[fixture("openinference-openai.jsonl")]);
    let text = dir.path("notes.txt");
    std::fs::write(&text, "these are notes, not a database\n").unwrap();

    let mut h = harness(&db);
    click_range(&mut h, "All");
    wait_for_calls(&mut h, 40);
    h.get_by_label("File").click();
    h.run_steps(2);
    // The menu entry's label carries its shortcut (Ctrl+O).
    h.get_by_label_contains("Open database…").click();
    h.run_steps(2);
    let field = h.get_by_role(Role::MultilineTextInput);
    field.focus();
    h.step();
    h.get_by_role(Role::MultilineTextInput)
        .type_text(&text.display().to_string());
    h.step();
    h.get_by_role_and_label(Role::Button, "Open").click();
    wait_for(&mut h, "the error", |h| {
        h.query_by_value_contains_text("is not a DuckDB database file")
            .is_some()
    });
    // The database that was open still shows its figures; the text file is untouched.
    wait_for_calls(&mut h, 40);
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "these are notes, not a database\n"
    );
}

#[test]
fn starting_on_a_non_database_shows_the_error() {
    let dir = Scratch::new("start-not-db");
    let text = dir.path("data.duckdb");
    std::fs::write(&text, "{\"resourceSpans\": []}\n").unwrap();
    let mut h = harness(&text);
    wait_for(&mut h, "the error", |h| {
        h.query_by_value_contains_text("is not a DuckDB database file")
            .is_some()
    });
    assert!(
        h.query_by_value_contains_text("No database is open")
            .is_some()
    );
}

/// Finding text shown by plain labels (AccessKit gives a label's text as its value).
trait ValueSearch {
    fn query_by_value_contains_text(&self, needle: &str) -> Option<String>;
}

impl ValueSearch for Harness<'_, ObservatoryApp> {
    fn query_by_value_contains_text(&self, needle: &str) -> Option<String> {
        self.root()
            .children_recursive()
            .filter_map(|n| n.value())
            .find(|v| v.contains(needle))
    }
}

#[test]
fn dropping_a_database_file_opens_it() {
    let dir = Scratch::new("drop-db");
    let first = dir.path("first.duckdb");
    let second = dir.path("second.duckdb");
    database_from(&second, &[fixture("openinference-openai.jsonl")]);
    let mut h = harness(&first);
    click_range(&mut h, "All");
    wait_for_first_run(&mut h);
    h.input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(second.clone())));
    wait_for_calls(&mut h, 40);
    assert!(h.query_by_value_contains_text("second.duckdb").is_some());
}

/// A database double-clicked while the window runs (a second launch, the real binary)
/// is handed to the running window, which opens it; the launch exits at once.
#[test]
fn a_second_launch_hands_its_database_to_the_running_window() {
    let dir = Scratch::new("second-launch");
    let first = dir.path("first.duckdb");
    let second = dir.path("second.duckdb");
    database_from(&second, &[fixture("openinference-openai.jsonl")]);
    let data_home = dir.path("xdg-data");
    let mut options = start(&first);
    // Where the binary looks with XDG_DATA_HOME set so (the platform data directory).
    options.single_instance = Some(data_home.join("llm-observatory"));
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    click_range(&mut h, "All");
    wait_for_first_run(&mut h);
    let launch = std::process::Command::new(env!("CARGO_BIN_EXE_llm-observatory"))
        .arg(&second)
        .env("XDG_DATA_HOME", &data_home)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run the second launch");
    let said = String::from_utf8_lossy(&launch.stdout);
    assert!(
        launch.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&launch.stderr)
    );
    assert!(said.contains("opens in the running window"), "{said}");
    wait_for_calls(&mut h, 40);
    assert!(h.query_by_value_contains_text("second.duckdb").is_some());
}

/// The whole answer (status line, headers, body) to a plain HTTP/1.1 GET.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_port_in_use_is_a_notice_and_the_other_transport_still_listens() {
    let dir = Scratch::new("port-in-use");
    let db = dir.path("db.duckdb");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let free_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut options = start(&db);
    options.listen = Some(ingest::receive::ReceiverConfig {
        grpc: Some(taken_addr),
        http: Some(free_addr),
        ..Default::default()
    });
    options.scrape = Some(llm_observatory::scrape::ScrapeOptions { top: 20 });
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    let notice = format!("Not listening for OTLP/gRPC on {taken_addr}");
    wait_for(&mut h, &notice.clone(), |h| {
        h.query_by_value_contains_text(&notice).is_some()
    });
    let live = format!("HTTP {free_addr}");
    wait_for(&mut h, "the live indicator", |h| {
        h.query_by_value_contains_text(&live).is_some()
    });
    // The window still browses, and answers Prometheus on its HTTP port.
    click_range(&mut h, "All");
    wait_for_first_run(&mut h);
    let scraped = http_get(free_addr, "/metrics");
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(scraped.contains("# TYPE llm_requests counter"), "{scraped}");
    assert!(scraped.trim_end().ends_with("# EOF"), "{scraped}");
    drop(taken);
}

#[test]
fn a_database_open_in_another_process_is_named_and_left_alone() {
    let dir = Scratch::new("locked");
    let db = dir.path("busy.duckdb");
    database_from(&db, &[fixture("openinference-openai.jsonl")]);
    let before = std::fs::read(&db).unwrap();
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_llm-observatory"))
        .args(["serve", "--grpc", "off", "--http", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until serve holds the database (it prints its path once open); the pipe
    // stays open until serve is stopped.
    use std::io::BufRead;
    let out = serve.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("database "));
    let mut h = harness(&db);
    wait_for(&mut h, "the lock error", |h| {
        h.query_by_value_contains_text("is already open in another process")
            .is_some()
    });
    let _ = serve.kill();
    let _ = serve.wait();
    drop(lines);
    assert_eq!(std::fs::read(&db).unwrap().len(), before.len());
}

/// A database of one fixture (whose one prompt holds `needle-zebra-4711`), and the
/// harness on it with the range at "All" and its calls shown.
fn fixture_harness(dir: &Scratch, name: &str) -> (PathBuf, Harness<'static, ObservatoryApp>) {
    let db = dir.path("fixture.duckdb");
    database_from(&db, &[fixture(&format!("{name}.jsonl"))]);
    let calls = truth(&format!("{name}.truth.json"))["calls"]
        .as_u64()
        .unwrap();
    let mut h = harness(&db);
    click_range(&mut h, "All");
    wait_for_calls(&mut h, calls);
    (db, h)
}

fn rows(h: &Harness<'_, ObservatoryApp>) -> Vec<(String, String)> {
    h.query_all_by_role(Role::Row)
        .map(|n| {
            let node = n.accesskit_node();
            (
                node.label().unwrap_or_default(),
                node.value().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_trace_opens_from_the_table_as_a_timeline_and_a_flamegraph() {
    let dir = Scratch::new("trace-detail");
    let (db, mut h) = fixture_harness(&dir, "openinference-openai");
    // The trace holding the needle, found through the filter bar's search.
    let search = h.get_by_role_and_label(Role::TextInput, "Search");
    search.focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Search")
        .type_text("needle-zebra-4711");
    h.get_by_role_and_label(Role::Button, "Traces").click();
    wait_for(&mut h, "the one trace with the needle", |h| {
        let r = rows(h);
        r.len() == 1 && r[0].0.starts_with("trace agent.step")
    });
    let (label, _) = rows(&h).remove(0);
    let trace_id = label.rsplit(' ').next().unwrap().to_string();
    h.get_by_label(&label).click();
    let tree = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let id = store::hex_to_trace_id(&trace_id).unwrap();
        store.reader().unwrap().trace(id).unwrap()
    };
    let names: Vec<String> = tree.spans.iter().map(|s| s.name.clone()).collect();
    wait_for(&mut h, "the timeline", |h| {
        rows(h).iter().map(|(l, _)| l.clone()).collect::<Vec<_>>() == names
    });
    // Bars are as long as the spans: each row's share of the trace is its duration over
    // the trace's.
    let t0 = tree.spans.iter().map(|s| s.start_ns).min().unwrap();
    let t1 = tree
        .spans
        .iter()
        .map(|s| s.start_ns + s.duration_ns)
        .max()
        .unwrap();
    for ((_, value), span) in rows(&h).iter().zip(&tree.spans) {
        let share = span.duration_ns as f64 / (t1 - t0) as f64;
        assert!(
            value.ends_with(&format!("{} of the trace", format::percent(share))),
            "{value}"
        );
    }
    // The first LLM call is selected: its prompt and response are shown.
    let call = tree.spans.iter().find(|s| s.model.is_some()).unwrap();
    let prompt_words = asked(call);
    assert!(
        h.query_by_value_contains_text(&prompt_words).is_some(),
        "prompt {prompt_words:?} not shown"
    );
    let reply: String = call.response.as_deref().unwrap().chars().take(30).collect();
    assert!(
        h.query_by_value_contains_text(&reply).is_some(),
        "response {reply:?} not shown"
    );
    // The call's evaluations are read in the background: the picture waits for them.
    wait_for(&mut h, "the call's evaluations", |h| {
        h.query_by_label("Evaluations of this call").is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "trace_timeline");

    h.get_by_role_and_label(Role::Button, "Flamegraph").click();
    h.run_steps(2);
    for name in &names {
        assert!(
            h.query_by_label(&format!("flame {name}")).is_some(),
            "no flame block for {name}"
        );
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "trace_flamegraph");
    // Esc goes back to the table.
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    wait_for(&mut h, "the traces table again", |h| {
        rows(h).iter().any(|(l, _)| l.starts_with("trace "))
    });
}

#[test]
fn the_inspector_finds_the_needle_and_reports_a_bad_query() {
    let dir = Scratch::new("inspector");
    let (_db, mut h) = fixture_harness(&dir, "openllmetry-openai");
    h.get_by_role_and_label(Role::Button, "Inspector").click();
    wait_for(&mut h, "the inspector", |h| {
        h.query_by_role_and_label(Role::TextInput, "Query")
            .is_some()
    });
    let field = h.get_by_role_and_label(Role::TextInput, "Query");
    field.focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Query")
        .type_text("needle-zebra-4711");
    wait_for(&mut h, "one match", |h| {
        h.query_by_value_contains_text("1 matching calls").is_some() && rows(h).len() == 1
    });
    let (_, value) = rows(&h).remove(0);
    assert!(value.contains("needle-zebra-4711"), "{value}");
    h.get_by_label_contains("call ").click();
    wait_for(&mut h, "the call's details", |h| {
        h.query_by_label("Open its trace").is_some()
            && h.query_by_value_contains_text("Prompt").is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "inspector_needle");

    let field = h.get_by_role_and_label(Role::TextInput, "Query");
    field.focus();
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Query")
        .type_text(" status:maybe");
    wait_for(&mut h, "the query error", |h| {
        h.query_by_value_contains_text("use status:ok or status:error")
            .is_some()
    });
}

#[test]
fn a_chart_click_drills_down_to_the_traces_of_that_period() {
    let dir = Scratch::new("drill");
    let (db, mut h) = fixture_harness(&dir, "openinference-openai");
    h.get_by_label_contains("Requests/s by model chart").click();
    wait_for(&mut h, "the traces view on a custom range", |h| {
        h.query_by_role_and_label(Role::TextInput, "from").is_some()
            && h.query_by_value_contains_text(" traces").is_some()
    });
    let (from, to) = custom_range(&h);
    assert!(to > from, "an empty period");
    let expected = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let f = Filter {
            from_ns: Some(from),
            to_ns: Some(to),
            ..Filter::default()
        };
        store
            .reader()
            .unwrap()
            .traces_page(&f, store::TraceSort::Start, store::SortDir::Desc, 0, 1)
            .unwrap()
            .1
    };
    assert!(expected > 0, "the clicked period holds traces");
    let want = format!("{} traces", format::integer(expected));
    wait_for(&mut h, &want.clone(), |h| {
        h.query_by_value_contains_text(&want).is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "traces_of_a_period");
}

#[test]
fn the_inspector_moves_with_the_arrow_keys() {
    let dir = Scratch::new("inspector-keys");
    let (_db, mut h) = fixture_harness(&dir, "openllmetry-openai");
    h.get_by_role_and_label(Role::Button, "Inspector").click();
    wait_for(&mut h, "the calls", |h| rows(h).len() > 3);
    assert!(h.query_by_label("Open its trace").is_none());
    h.key_press(egui::Key::ArrowDown);
    h.key_press(egui::Key::ArrowDown);
    wait_for(&mut h, "the second call's details", |h| {
        h.query_by_label("Open its trace").is_some()
    });
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "its trace", |h| {
        h.query_by_label("Copy trace id").is_some()
    });
}

/// A window left alone on the last 24 hours of streamed and unstreamed calls settles:
/// once its figures are in it asks the database nothing more. (The Overview once asked
/// one query slot for the time to first token of this period and of the one before in
/// the same frame, so the two computed by turns forever and kept a core busy.)
#[test]
fn an_idle_window_asks_the_database_nothing() {
    let dir = Scratch::new("idle");
    let db = dir.path("idle.duckdb");
    let now = llm_observatory::timearg::now_ns();
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        synth_into(&writer, 3_000, now - 40 * 3_600_000_000_000, now, 11);
        writer.close().unwrap();
    }
    let streamed = analytics::read(&db, |r| r.first_token(&Filter::default()).unwrap().calls);
    assert!(streamed > 0, "the synthetic traffic streams some calls");
    let mut h = harness(&db);
    click_range(&mut h, "24h");
    settle(&mut h);
    for step in 0..30 {
        h.step();
        assert!(
            h.query_by_label("Updating").is_none(),
            "a query ran again at idle step {step}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
