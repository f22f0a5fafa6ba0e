//! `GET /metrics`: `serve`'s Prometheus scrape, read by Prometheus' own parser
//! (`prometheus_client` in the test venv), equals `stats --json` over the same
//! database; the token guards it, `--metrics-top` bounds its models, `--no-metrics`
//! turns it off; and the shipped Grafana dashboard's queries parse as PromQL and use
//! only metrics the scrape exposes.

use crate::collector::Collector;
use crate::live_clients::{assert_matches_truth, drive_with, run_script, stats};
use crate::util::Scratch;
use serde_json::Value;
use std::path::Path;

fn dashboard() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/grafana/llm-observatory.json")
        .display()
        .to_string()
}

fn scrape(collector: &Collector, extra: &[&str]) -> Value {
    let url = format!("{}/metrics", collector.http);
    let mut args = vec!["--url", url.as_str()];
    args.extend(extra);
    run_script("scrape_metrics.py", &args)
}

#[test]
fn the_scrape_equals_stats_and_the_grafana_dashboard_reads_it() {
    let dir = Scratch::new("prometheus");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &[]);
    // Streamed calls through a real instrumentation: 36 answered with a first chunk
    // 150 ms after the request, 4 refused.
    let truth = drive_with(
        &collector.grpc,
        "grpc",
        "openllmetry",
        &["--stream-delay-ms", "150"],
    );
    let dashboard = dashboard();
    let m = scrape(&collector, &["--dashboard", &dashboard]);
    assert!(collector.stop().success());
    let s = stats(&db);
    assert_matches_truth(&s, &truth);

    assert_eq!(m["status"], 200, "{m}");
    assert!(
        m["content_type"]
            .as_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{m}"
    );
    let n = |v: &Value| v.as_f64().unwrap();
    assert_eq!(n(&m["requests"]), n(&s["llm_calls"]));
    assert_eq!(n(&m["errors"]), n(&s["errors"]));
    assert_eq!(n(&m["tokens"]["input"]), n(&s["input_tokens"]));
    assert_eq!(n(&m["tokens"]["output"]), n(&s["output_tokens"]));
    assert_eq!(n(&m["tokens"]["cache_read"]), n(&s["cache_read_tokens"]));
    assert_eq!(n(&m["tokens"]["cache_write"]), n(&s["cache_write_tokens"]));
    let cost = n(&s["cost_usd"]);
    assert!(cost > 0.0, "the fake server's models are priced: {s}");
    assert!(
        (n(&m["cost_usd"]) - cost).abs() <= cost * 1e-9,
        "{m} vs {s}"
    );
    assert_eq!(n(&m["unpriced"]), n(&s["unpriced_calls"]));
    for model in s["models"].as_array().unwrap() {
        let name = model["model"].as_str().unwrap();
        assert_eq!(m["by_model"][name], model["calls"], "{name}: {m}");
    }
    // Every call's duration; the time to first token of the answered ones, all
    // between 150 ms and the next bound.
    assert_eq!(n(&m["duration_count"]), n(&s["llm_calls"]));
    assert!(n(&m["duration_sum"]) > 36.0 * 0.15, "{m}");
    assert!(m["histograms_well_formed"].as_bool().unwrap(), "{m}");
    let first = &s["time_to_first_token"];
    assert_eq!(first["calls"], 36, "{first}");
    assert_eq!(n(&m["ttft_count"]), 36.0);
    assert_eq!(n(&m["ttft_buckets"]["0.1"]), 0.0, "{m}");
    assert_eq!(n(&m["ttft_buckets"]["0.25"]), 36.0, "{m}");

    let d = &m["dashboard"];
    assert_eq!(d["title"], "LLM Observatory");
    assert!(n(&d["queries"]) >= 10.0, "{d}");
    assert_eq!(d["missing"], serde_json::json!([]), "{d}");
    assert_eq!(d["unparsable"], serde_json::json!([]), "{d}");
    for family in [
        "llm_requests_total",
        "llm_tokens_total",
        "llm_cost_usd_total",
        "llm_request_duration_seconds_bucket",
        "llm_time_to_first_token_seconds_bucket",
    ] {
        assert!(
            d["used"].as_array().unwrap().iter().any(|u| u == family),
            "the dashboard charts {family}: {d}"
        );
    }

    // With a token, a scrape without it is refused; models past the top one are "other".
    let collector = Collector::start(&db, &["--token", "s3cret", "--metrics-top", "1"]);
    let refused = scrape(&collector, &[]);
    let allowed = scrape(&collector, &["--token", "s3cret"]);
    assert!(collector.stop().success());
    assert_eq!(refused["status"], 401, "{refused}");
    assert_eq!(allowed["requests"], m["requests"], "{allowed}");
    let by_model = allowed["by_model"].as_object().unwrap();
    let busiest = s["models"][0]["model"].as_str().unwrap();
    assert!(s["models"].as_array().unwrap().len() > 1, "{s}");
    assert_eq!(by_model.len(), 2, "{by_model:?}");
    assert_eq!(by_model[busiest], s["models"][0]["calls"]);
    assert_eq!(
        n(&by_model["other"]),
        n(&s["llm_calls"]) - n(&s["models"][0]["calls"])
    );

    let collector = Collector::start(&db, &["--no-metrics"]);
    let off = scrape(&collector, &[]);
    assert!(collector.stop().success());
    assert_eq!(off["status"], 404, "{off}");
}
