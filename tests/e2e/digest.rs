//! `serve --report-every 1d --report-at 08:00 --report-to DIR --report-webhook URL`,
//! under a clock the test sets (libfaketime): the digest of the day is written at
//! 08:00 with the figures of `stats --json` for that day and POSTed; it is made once;
//! after three days asleep only the latest day's is made; a restart repeats nothing.

use crate::collector::Collector;
use crate::query_api::{assert_same, cli};
use crate::util::{Scratch, bin, libfaketime, run, stderr};
use crate::webhook_sink::webhook_sink;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Sets the clock `serve` reads to `at` (RFC 3339) from now on.
fn set_clock(file: &Path, at: &str) {
    let want = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp();
    let offset = want - chrono::Utc::now().timestamp();
    std::fs::write(file, format!("{offset:+}\n")).unwrap();
}

fn reports(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.retain(|n| n.starts_with("report-"));
    names.sort();
    names
}

fn wait_for_reports(dir: &Path, count: usize) -> Vec<String> {
    let t = Instant::now();
    loop {
        let names = reports(dir);
        if names.len() >= count {
            return names;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "waiting for {count} reports: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The figures a report carries (`stats --json`'s object).
fn figures(path: &Path) -> Value {
    let html = std::fs::read_to_string(path).unwrap();
    let start = "<script type=\"application/json\" id=\"figures\">";
    let json = &html[html.find(start).unwrap() + start.len()..];
    serde_json::from_str(&json[..json.find("</script>").unwrap()].replace("<\\/", "</")).unwrap()
}

fn serve(db: &str, clock: &Path, out: &Path, hook: &str) -> Collector {
    let mut command = bin();
    command
        .env("TZ", "UTC")
        .env("LD_PRELOAD", libfaketime())
        .env("FAKETIME_TIMESTAMP_FILE", clock)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let out = out.display().to_string();
    Collector::start_command(
        command,
        db,
        &[
            "--no-alerts",
            "--report-every",
            "1d",
            "--report-at",
            "08:00",
            "--report-to",
            &out,
            "--report-webhook",
            hook,
        ],
        Stdio::inherit(),
    )
}

#[test]
fn the_digest_is_made_at_its_time_once_and_after_a_sleep_once() {
    let dir = Scratch::new("digest");
    let db = dir.path("d.duckdb");
    crate::util::demo_db(&db, &["--days", "2", "--end", "2026-12-07T07:30:00Z"]);
    let day = cli(&[
        "stats",
        "--db",
        &db,
        "--json",
        "--from",
        "2026-12-06T08:00:00Z",
        "--to",
        "2026-12-07T08:00:00Z",
    ]);
    assert!(day["llm_calls"].as_u64().unwrap() > 0);
    let out = dir.0.join("reports");
    let clock = dir.0.join("clock");
    let (hook, bodies) = webhook_sink(200, Duration::ZERO);

    set_clock(&clock, "2026-12-07T07:59:57Z");
    let collector = serve(&db, &clock, &out, &hook);
    assert!(reports(&out).is_empty(), "nothing before 08:00");
    let names = wait_for_reports(&out, 1);
    assert_eq!(names, ["report-2026-12-07.html"]);
    assert_same("the day's report", &figures(&out.join(&names[0])), &day);
    // Once: the clock moves on within the day and nothing more is made.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(reports(&out), names);

    // Three days asleep: on waking, the latest day's digest alone.
    set_clock(&clock, "2026-12-10T09:00:00Z");
    let names = wait_for_reports(&out, 2);
    assert_eq!(names, ["report-2026-12-07.html", "report-2026-12-10.html"]);
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(reports(&out).len(), 2);
    assert!(collector.stop().success());

    let posted: Vec<Value> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert_eq!(posted[0]["kind"], "digest");
    assert_eq!(posted[0]["from"], "2026-12-06T08:00:00.000000000Z");
    assert_eq!(posted[0]["summary"]["llm_calls"], day["llm_calls"]);
    assert!(posted[0]["text"].as_str().unwrap().contains("LLM calls"));
    assert!(
        posted[1]["path"]
            .as_str()
            .unwrap()
            .ends_with("report-2026-12-10.html")
    );

    // A restart the same day remembers the digest made.
    let collector = serve(&db, &clock, &out, &hook);
    std::thread::sleep(Duration::from_secs(7));
    assert!(collector.stop().success());
    assert_eq!(reports(&out).len(), 2);
    assert_eq!(bodies.lock().unwrap().len(), 2);
}

#[test]
fn a_digest_needs_somewhere_to_go_and_a_time_it_can_keep() {
    let dir = Scratch::new("digest-flags");
    let db = dir.path("d.duckdb");
    for (flags, says) in [
        (
            &["--report-every", "1d"][..],
            "--report-every needs somewhere to send it",
        ),
        (
            &[
                "--report-every",
                "1h",
                "--report-at",
                "08:00",
                "--report-to",
                "x",
            ],
            "--report-at sets the time of day",
        ),
        (
            &[
                "--report-every",
                "1d",
                "--report-at",
                "8am",
                "--report-to",
                "x",
            ],
            "--report-at \"8am\": give a local time like 08:00",
        ),
        (
            &["--report-every", "1d", "--report-webhook", "hooks.example"],
            "give an http:// or https:// URL",
        ),
    ] {
        let out = run(&[
            &[
                "serve",
                "--db",
                &db,
                "--grpc",
                "off",
                "--http",
                "127.0.0.1:0",
            ][..],
            flags,
        ]
        .concat());
        assert!(!out.status.success());
        assert!(stderr(&out).contains(says), "{flags:?}: {}", stderr(&out));
    }
}
