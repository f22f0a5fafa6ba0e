//! Alerts headless: `serve --rules FILE` evaluates the rules on what it receives, posts
//! the webhook a local HTTP server gets, and keeps the history `alerts` prints; a bad
//! rules file stops `serve` with the line and field named.

use crate::collector::Collector;
use crate::util::{Scratch, run, stderr, stdout};
use crate::webhook_sink::webhook_sink;
use std::time::{Duration, Instant};

#[test]
fn serve_evaluates_the_rules_file_posts_the_webhook_and_keeps_history() {
    let dir = Scratch::new("serve-alerts");
    let db = dir.path("alerts.duckdb");
    let (url, got) = webhook_sink(200, Duration::ZERO);
    let rules = dir.path("alerts.toml");
    std::fs::write(
        &rules,
        format!(
            "[[rule]]\nname = \"traffic\"\nmetric = \"request_rate\"\nwindow = \"1h\"\nthreshold = 0\nfor = \"0s\"\nseverity = \"critical\"\nwebhook = \"{url}\"\n"
        ),
    )
    .unwrap();
    let checked = run(&["alerts", "--check", &rules]);
    assert!(checked.status.success(), "{}", stderr(&checked));
    assert!(stdout(&checked).contains("1 rules, all valid"));

    let collector = Collector::start(&db, &["--rules", &rules, "--alert-every", "200ms"]);
    let sent = run(&[
        "loadgen",
        "--endpoint",
        &collector.grpc,
        "--protocol",
        "grpc",
        "--spans",
        "200",
    ]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let t = Instant::now();
    while got.lock().unwrap().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "no webhook arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body: serde_json::Value = serde_json::from_str(&got.lock().unwrap()[0]).unwrap();
    assert_eq!(body["rule"], "traffic");
    assert_eq!(body["state"], "firing");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["metric"], "request_rate");
    assert_eq!(body["threshold"], 0.0);
    assert!(body["value"].as_f64().unwrap() > 0.0);
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] traffic firing")
    );
    assert!(collector.stop().success());

    let history = run(&["alerts", "--db", &db, "--json"]);
    assert!(history.status.success(), "{}", stderr(&history));
    let events: Vec<serde_json::Value> = stdout(&history)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["state"], "firing");
    assert_eq!(events[0]["rule"], "traffic");
}

#[test]
fn a_bad_rules_file_names_the_line_and_field() {
    let dir = Scratch::new("bad-rules");
    let rules = dir.path("alerts.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"x\"\nmetric = \"error_rate\"\nwindow = \"5 minutes please\"\nthreshold = 0.1\n",
    )
    .unwrap();
    let db = dir.path("x.duckdb");
    for args in [
        vec![
            "serve", "--db", &db, "--rules", &rules, "--grpc", "off", "--http", "off",
        ],
        vec!["alerts", "--check", &rules],
    ] {
        let out = run(&args);
        assert!(!out.status.success(), "{args:?} accepted a bad file");
        let err = stderr(&out);
        assert!(
            err.contains("line 4") && err.contains("window"),
            "{args:?}: {err}"
        );
        assert!(err.contains("not a duration"), "{err}");
    }
}
