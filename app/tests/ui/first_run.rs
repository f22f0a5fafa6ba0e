//! The first run, as a new user meets it: an empty database shows the getting-started
//! panel (where the window listens, the environment lines and a snippet per stack, each
//! copyable). The copied Python snippets, run unchanged in a fresh interpreter with the
//! copied lines in its environment, send real calls through the real OpenTelemetry SDK
//! and instrumentations, and the panel turns into the dashboard showing them.

use super::*;
use egui::OutputCommand;
use ingest::receive::ReceiverConfig;
use llm_observatory::gui::getting_started::{PYTHON_OPENINFERENCE, PYTHON_OPENLLMETRY};
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

/// What the last frame put on the clipboard.
fn copied(h: &Harness<'_, ObservatoryApp>) -> Option<String> {
    h.output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            OutputCommand::CopyText(t) => Some(t.clone()),
            _ => None,
        })
}

/// Clicks `button` and returns what it copied.
fn copy(h: &mut Harness<'_, ObservatoryApp>, button: &str) -> String {
    h.get_by_role_and_label(Role::Button, button).click();
    h.step();
    copied(h).unwrap_or_else(|| panic!("{button} copied nothing"))
}

/// The variables of `export NAME="value"` lines, as a shell would set them.
fn exported(lines: &str) -> Vec<(String, String)> {
    lines
        .lines()
        .map(|l| {
            let (name, value) = l
                .strip_prefix("export ")
                .and_then(|rest| rest.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {l}"));
            (name.to_string(), value.trim_matches('"').to_string())
        })
        .collect()
}

/// Runs `code` as a user pasting it would (tests/python/run_snippet.py, against a fake
/// OpenAI server) with `env` set; returns what the fake server saw.
fn run_snippet(code: &str, env: &[(String, String)]) -> serde_json::Value {
    let python = std::env::var("LLM_OBSERVATORY_PYTHON").expect(
        "LLM_OBSERVATORY_PYTHON is unset: run the tests with tests/run.sh, which sets up the Python venv",
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/run_snippet.py");
    let mut child = Command::new(python)
        .arg(script)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("python ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the snippet failed: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn an_empty_database_teaches_how_to_send_data_and_turns_into_the_dashboard() {
    let dir = Scratch::new("first-run");
    let db = dir.path("new.duckdb");
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut options = start(&db);
    options.listen = Some(ReceiverConfig {
        grpc: Some(any_port),
        http: Some(any_port),
        ..Default::default()
    });
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    click_range(&mut h, "All");
    wait_for_first_run(&mut h);
    for tab in [
        "Python · OpenInference",
        "Python · OpenLLMetry",
        "Node / TypeScript",
        "OTel Collector",
    ] {
        assert!(h.query_by_label(tab).is_some(), "no {tab} tab");
    }
    assert!(h.query_by_label("Open the demo database").is_some());
    assert!(h.query_by_label("Drop an OTLP dump here").is_some());
    assert!(
        h.query_by_label_contains("Waiting for the first span")
            .is_some()
    );
    snapshot_masked(&mut h, "first_run");

    // The environment names the HTTP address the panel shows.
    let env = exported(&copy(&mut h, "Copy environment"));
    let endpoint = &env
        .iter()
        .find(|(k, _)| k == "OTEL_EXPORTER_OTLP_ENDPOINT")
        .expect("an endpoint line")
        .1;
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(
        h.query_by_label(endpoint).is_some(),
        "the panel lists {endpoint}"
    );
    let mut snippets = Vec::new();
    for (tab, code) in [
        ("Python · OpenInference", PYTHON_OPENINFERENCE),
        ("Python · OpenLLMetry", PYTHON_OPENLLMETRY),
    ] {
        h.get_by_role_and_label(Role::Button, tab).click();
        h.step();
        let got = copy(&mut h, "Copy snippet");
        assert_eq!(got, code, "{tab} copies its snippet");
        snippets.push(got);
    }
    let collector = {
        h.get_by_role_and_label(Role::Button, "OTel Collector")
            .click();
        h.step();
        copy(&mut h, "Copy snippet")
    };
    assert!(
        collector.contains(&format!("endpoint: {endpoint}")),
        "{collector}"
    );

    // Each snippet, run as pasted, sends its call; the dashboard then shows both.
    for code in &snippets {
        let seen = run_snippet(code, &env);
        assert_eq!(seen["calls"], 1, "{seen}");
    }
    wait_for_calls(&mut h, 2);
    assert!(
        h.query_by_label("Send your first span").is_none(),
        "the panel gave way to the dashboard"
    );
    let models = card(&h, "Requests/s").unwrap_or_default();
    assert!(models.ends_with("2 LLM calls"), "{models}");
    // The first spans' dashboard, for people to look at (beside the build).
    settle(&mut h);
    h.render()
        .expect("render")
        .save(Path::new(env!("CARGO_TARGET_TMPDIR")).join("first_span.png"))
        .expect("save the first span's picture");
}

/// The calls the Requests/s card counts.
fn calls_shown(h: &Harness<'_, ObservatoryApp>) -> Option<u64> {
    let label = card(h, "Requests/s")?;
    let count = label.rsplit(", ").next()?.strip_suffix(" LLM calls")?;
    count.replace(',', "").parse().ok()
}

#[test]
fn the_demo_database_keeps_receiving_calls_while_open() {
    let dir = Scratch::new("demo-live");
    let db = dir.path("demo.duckdb");
    let mut options = start(&db);
    options.demo = true;
    options.demo_live = true;
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    click_range(&mut h, "5m");
    let mut first = None;
    wait_for(&mut h, "the demo stream's calls", |h| {
        let shown = calls_shown(h).filter(|n| *n > 0);
        first = first.or(shown);
        first.zip(shown).is_some_and(|(a, b)| b > a)
    });
    assert!(
        h.query_by_value_contains_text("synthetic traffic keeps arriving")
            .is_some(),
        "the window says the demo is live"
    );
}
