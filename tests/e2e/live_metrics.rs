//! A metrics-only client — the real OpenTelemetry Python SDK's meter and OTLP
//! exporter recording GenAI client and server histograms, no spans — fills the
//! Metrics view's queries with what it recorded: per group (model · operation · token
//! type) the observations and their sum exactly (running totals exported three times,
//! subtracted, not added), and percentiles estimated inside the right bucket; from a
//! local database, and from a team's ClickHouse that `serve --clickhouse` filled.

use crate::collector::Collector;
use crate::live_clients::run_script;
use crate::util::Scratch;
use std::path::Path;
use store::{Database, Filter, OpenMode, Queries, Store};

/// The bucket bounds the client's histograms use (the GenAI conventions' advice).
fn bounds(metric: &str) -> Vec<f64> {
    match metric {
        "gen_ai.client.operation.duration" => llm_observatory::scrape::DURATION_BOUNDS_S.to_vec(),
        "gen_ai.server.time_to_first_token" => {
            llm_observatory::scrape::FIRST_TOKEN_BOUNDS_S.to_vec()
        }
        _ => (0..14).map(|i| 4f64.powi(i)).collect(),
    }
}

/// The bucket `(lower, upper]` holding `v`.
fn bucket_of(bounds: &[f64], v: f64) -> (f64, f64) {
    let i = bounds.partition_point(|b| *b < v);
    let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
    (lower, bounds.get(i).copied().unwrap_or(f64::INFINITY))
}

#[test]
fn a_metrics_only_sdk_client_fills_the_metrics_view() {
    let dir = Scratch::new("metrics-only");
    let db = dir.path("live.duckdb");
    let collector = Collector::start(&db, &[]);
    let truth = run_script(
        "send_genai_metrics.py",
        &["--endpoint", &collector.grpc, "--calls", "60"],
    );
    assert!(collector.stop().success());

    let store = Store::open(Path::new(&db), OpenMode::ReadOnly).unwrap();
    let mut r = Database::reader(&store).unwrap();
    assert_fills_the_view(r.as_mut(), &truth);
}

/// The same client through `serve --clickhouse` into the Collector's `otel_metrics_*`
/// tables: the Metrics view's queries on the ClickHouse give the same figures.
#[test]
fn a_metrics_only_sdk_client_fills_the_metrics_view_on_clickhouse() {
    let front = crate::clickhouse_front::Front::start("metrics-view", None);
    let url = front.url("metrics");
    let collector = Collector::start_into(
        crate::util::bin(),
        &["--clickhouse", &url, "--create-tables"],
        &["--no-alerts"],
        std::process::Stdio::inherit(),
    );
    let truth = run_script(
        "send_genai_metrics.py",
        &["--endpoint", &collector.grpc, "--calls", "60"],
    );
    assert!(collector.stop().success());
    let mut r = crate::clickhouse::clickhouse_reader(&url);
    assert_fills_the_view(r.as_mut(), &truth);
}

/// The catalogue lists the client's three histograms, and each group of each holds
/// what the client recorded (see the module's comment).
fn assert_fills_the_view(r: &mut dyn Queries, truth: &serde_json::Value) {
    let all = Filter::default();
    let catalog = r.metric_catalog(&all).unwrap();
    let names: Vec<&str> = catalog.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "gen_ai.client.operation.duration",
            "gen_ai.client.token.usage",
            "gen_ai.server.time_to_first_token"
        ]
    );
    assert!(catalog.iter().all(|m| m.kind == "histogram"), "{catalog:?}");
    assert_eq!(catalog[0].unit.as_deref(), Some("s"));

    for (metric, groups) in truth.as_object().unwrap() {
        let view = r.metric_view(&all, metric, 60_000_000_000).unwrap();
        let groups = groups.as_object().unwrap();
        assert_eq!(view.groups.len(), groups.len(), "{metric}: {view:?}");
        for (label, t) in groups {
            let g = view
                .groups
                .iter()
                .find(|g| &g.label == label)
                .unwrap_or_else(|| panic!("{metric}: no group {label} in {view:?}"));
            assert_eq!(g.count, t["count"].as_u64().unwrap(), "{metric} {label}");
            let sum = t["sum"].as_f64().unwrap();
            assert!(
                (g.sum - sum).abs() <= sum * 1e-9,
                "{metric} {label}: {g:?} vs {sum}"
            );
            let mut values: Vec<f64> = t["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            values.sort_by(f64::total_cmp);
            let quantiles = g
                .quantiles
                .expect("explicit-bucket histograms have quantiles");
            for (q, estimate) in [0.5, 0.95, 0.99].into_iter().zip(quantiles) {
                let exact = values[((q * values.len() as f64).ceil() as usize).max(1) - 1];
                let (lower, upper) = bucket_of(&bounds(metric), exact);
                assert!(
                    (lower..=upper).contains(&estimate),
                    "{metric} {label} p{}: {estimate} outside ({lower}, {upper}] of the exact {exact}",
                    q * 100.0
                );
            }
        }
        assert!(!view.series.is_empty(), "{metric}: charted");
    }
}
