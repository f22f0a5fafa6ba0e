//! `anomalies` on the demo database (a week of synthetic traffic with a daily rhythm
//! and one 30-minute incident: OpenAI's calls slow and failing): the incident's hour is
//! flagged, and the steady rest of the week marks no figure more than once a day.

use crate::util::{Scratch, run, stderr, stdout};
use serde_json::Value;
use std::collections::HashMap;

#[test]
fn the_demo_weeks_incident_is_flagged_and_the_steady_days_are_quiet() {
    let dir = Scratch::new("anomalies");
    let db = dir.path("demo.duckdb");
    let out = run(&["demo", "--db", &db, "--end", "2026-12-01T00:00:00Z"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["anomalies", "--db", &db, "--bucket", "1h", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let found: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The incident starts at 70 % of the week (2026-11-28 21:36 UTC) and lasts 30 min.
    let incident = |a: &Value| {
        a["bucket_start"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-28T21")
    };
    assert!(
        found
            .iter()
            .any(|a| incident(a) && a["model"].as_str().is_some_and(|m| m.starts_with("gpt-"))),
        "the incident's hour is flagged for an OpenAI model: {found:#?}"
    );
    // Hourly buckets are judged once two days of history exist: five days here.
    let mut marks: HashMap<(String, String), usize> = HashMap::new();
    for a in found.iter().filter(|a| !incident(a)) {
        let key = (a["metric"].to_string(), a["model"].to_string());
        *marks.entry(key).or_default() += 1;
    }
    let worst = marks.values().copied().max().unwrap_or(0);
    eprintln!(
        "{} anomalies, {} outside the incident hour; the most on one figure: {worst}",
        found.len(),
        marks.values().sum::<usize>()
    );
    assert!(
        worst <= 5,
        "at most one false mark a day per figure: {marks:?}"
    );
    // Each says how far off it was and against what.
    let a = &found[0];
    assert!(a["deviations"].as_f64().unwrap() > 4.0, "{a}");
    assert!(
        a["baseline"].as_str().unwrap().contains("previous days"),
        "{a}"
    );
}
