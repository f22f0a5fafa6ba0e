//! `serve`'s query API (`GET /api/v1/…` on its HTTP port), asked over real HTTP by a
//! Python script as a user's own would: every endpoint answers the very JSON the
//! command line prints with `--json` for the same selection; the OpenAPI document it
//! serves validates (openapi-spec-validator) and describes every answer (each is
//! checked against its schema); the token guards it; bad parameters get a 400 that
//! says which; `--no-api` turns it off.

use crate::collector::Collector;
use crate::live_clients::run_script;
use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;

/// What the command line prints with `--json`: one object, or (for `calls`) one call
/// a line, gathered into an array.
pub(crate) fn cli(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = stdout(&out);
    if args[0] == "calls" {
        return text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect::<Vec<Value>>()
            .into();
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}

/// Equal JSON, numbers within a relative 1e-9 (a sum's order may differ between two
/// parallel scans of the same rows).
pub(crate) fn assert_same(at: &str, api: &Value, cli: &Value) {
    match (api, cli) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
                "{at}: the API says {a}, the command line {b}"
            );
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{at}: lengths differ");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(&format!("{at}[{i}]"), x, y);
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{at}: fields differ");
            for (k, x) in a {
                assert_same(&format!("{at}.{k}"), x, &b[k]);
            }
        }
        _ => assert_eq!(api, cli, "{at}"),
    }
}

/// Asks `collector`'s API for `paths` through `tests/python/query_api.py`.
pub(crate) fn ask(collector: &Collector, token: &str, paths: &[String]) -> Value {
    let base = format!("{}/api/v1", collector.http);
    let mut args = vec!["--base", base.as_str(), "--token", token];
    args.extend(paths.iter().map(String::as_str));
    run_script("query_api.py", &args)
}

#[test]
fn every_endpoint_answers_what_the_command_line_prints() {
    let dir = Scratch::new("query-api");
    let db = dir.path("demo.duckdb");
    // A week of traffic ending before today, so `range=30d` and `--last 30d` select
    // the same calls whenever each is asked.
    crate::util::demo_db(&db, &["--end", "2026-12-01"]);

    let d = ["--db", db.as_str(), "--json"];
    let with = |args: &[&str]| cli(&[args, &d].concat());
    let days = ["--from", "2026-11-27", "--to", "2026-11-29"];
    let costly = with(&["traces", "--sort", "cost", "--limit", "5", "--offset", "5"]);
    let trace_id = costly["traces"][0]["trace_id"]
        .as_str()
        .unwrap()
        .to_string();
    let all = with(&["stats"]);
    let mut cases: Vec<(String, Value)> = vec![
        (
            "summary?range=30d&model=gpt-4o*".into(),
            with(&["stats", "--last", "30d", "--model", "gpt-4o*"]),
        ),
        (
            "summary?from=2026-11-27&to=2026-11-29&status=error".into(),
            with(&[&["stats"][..], &days, &["--status", "error"]].concat()),
        ),
        (
            "summary?query=latency%3E2s+-timeout".into(),
            with(&["stats", "--query", "latency>2s -timeout"]),
        ),
        (
            "models?from=2026-11-27&to=2026-11-29".into(),
            with(&[&["models"][..], &days].concat()),
        ),
        (
            "series?metric=requests&step=1h&from=2026-11-27&to=2026-11-29&by=model".into(),
            with(
                &[
                    &[
                        "series",
                        "--metric",
                        "requests",
                        "--step",
                        "1h",
                        "--by-model",
                    ][..],
                    &days,
                ]
                .concat(),
            ),
        ),
        (
            "series?metric=latency_p95&step=6h".into(),
            with(&["series", "--metric", "latency_p95", "--step", "6h"]),
        ),
        (
            "series?metric=cost&step=1d&model=claude*".into(),
            with(&[
                "series", "--metric", "cost", "--step", "1d", "--model", "claude*",
            ]),
        ),
        ("traces?sort=cost&limit=5&offset=5".into(), costly.clone()),
        (
            "traces?sort=duration&dir=asc&query=status%3Aerror".into(),
            with(&[
                "traces",
                "--sort",
                "duration",
                "--dir",
                "asc",
                "--query",
                "status:error",
            ]),
        ),
        (format!("traces/{trace_id}"), with(&["trace", &trace_id])),
        (
            "calls?query=status%3Aerror&limit=20".into(),
            with(&["calls", "--query", "status:error", "--limit", "20"]),
        ),
        (
            "calls?sort=latency&limit=3&offset=2&model=gpt-4o-mini".into(),
            with(&[
                "calls",
                "--sort",
                "latency",
                "--limit",
                "3",
                "--offset",
                "2",
                "--model",
                "gpt-4o-mini",
            ]),
        ),
    ];
    // The figures are not empty: the demo has errors, models, costs and slow calls.
    assert!(
        cases[1].1["llm_calls"].as_u64().unwrap() > 0,
        "{}",
        cases[1].1
    );
    assert!(
        cases[3].1["models"].as_array().unwrap().len() > 2,
        "{}",
        cases[3].1
    );
    assert_eq!(costly["offset"], 5);
    assert_eq!(costly["next_offset"], 10);
    assert!(cases[10].1.as_array().unwrap().len() > 1);
    // The command line's tables read the same answers.
    let table = run(&[
        "traces", "--db", &db, "--sort", "cost", "--limit", "5", "--offset", "5",
    ]);
    assert!(stdout(&table).contains(&trace_id), "{}", stdout(&table));

    let collector = Collector::start(&db, &["--token", "s3cret"]);
    let bad = [
        "summary?modle=gpt-4o",
        "summary?range=1h&from=2026-11-27",
        "series?step=1s&from=2026-01-01",
        "series?metric=latency_p95&by=model",
        "traces?sort=price",
        "calls?limit=5000",
        "traces/not-a-trace",
        "traces/00000000000000000000000000000001",
        "nowhere",
    ];
    let mut paths: Vec<String> = cases.iter().map(|c| c.0.clone()).collect();
    paths.extend(bad.iter().map(|b| b.to_string()));
    let asked = ask(&collector, "s3cret", &paths);
    let refused = ask(&collector, "", &["summary".into(), "openapi.json".into()]);
    let wrong = ask(&collector, "s3cre", &["summary".into()]);
    assert!(collector.stop().success());

    // The token was set: without it, or with another, nothing is answered.
    for answer in [
        &refused["answers"]["summary"],
        &refused["answers"]["openapi.json"],
        &wrong["answers"]["summary"],
    ] {
        assert_eq!(answer["status"], 401, "{answer}");
        assert!(
            answer["body"]["error"]
                .as_str()
                .unwrap()
                .contains("bearer token"),
            "{answer}"
        );
    }

    assert_eq!(
        asked["spec_errors"],
        Value::Null,
        "{}",
        asked["spec_errors"]
    );
    for (path, expected) in cases.iter_mut() {
        let answer = &asked["answers"][path.as_str()];
        assert_eq!(answer["status"], 200, "{path}: {answer}");
        assert_eq!(
            answer["schema_error"],
            Value::Null,
            "{path}: the document does not describe the answer"
        );
        let body = if path.starts_with("calls") {
            &answer["body"]["calls"]
        } else {
            &answer["body"]
        };
        assert_same(path, body, expected);
    }
    // The page counts every failed call, as the summary does.
    let calls_page = &asked["answers"]["calls?query=status%3Aerror&limit=20"]["body"];
    assert_eq!(calls_page["total"], all["errors"], "{calls_page}");
    let total = calls_page["total"].as_u64().unwrap();
    assert!(total > 0);
    assert_eq!(
        calls_page["calls"].as_array().unwrap().len() as u64,
        total.min(20)
    );
    assert_eq!(
        calls_page["next_offset"],
        if total > 20 {
            Value::from(20)
        } else {
            Value::Null
        }
    );

    let said = |path: &str, status: u64, words: &str| {
        let answer = &asked["answers"][path];
        assert_eq!(answer["status"], status, "{path}: {answer}");
        let error = answer["body"]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(words),
            "{path}: {error:?} does not say {words:?}"
        );
    };
    said(
        bad[0],
        400,
        "unknown parameter \"modle\"; this endpoint takes range, from",
    );
    said(bad[1], 400, "leave out from and to");
    said(bad[2], 400, "at most 10000");
    said(bad[3], 400, "by model works with counting metrics");
    said(
        bad[4],
        400,
        "sort=\"price\": use one of start, duration, cost, tokens, llm_calls, errors",
    );
    said(bad[5], 400, "at most 1000 rows a page");
    said(bad[6], 400, "is not a trace id");
    said(bad[7], 404, "no trace 00000000000000000000000000000001");
    said(bad[8], 404, "there are summary, models, series");
}

#[test]
fn no_api_turns_the_query_api_off() {
    let dir = Scratch::new("query-api-off");
    let db = dir.path("off.duckdb");
    let collector = Collector::start(&db, &["--no-api"]);
    let asked = ask(&collector, "", &["summary".into()]);
    assert!(collector.stop().success());
    assert_eq!(asked["answers"]["summary"]["status"], 404, "{asked}");
}
