//! The window opened on a team's ClickHouse: the fixture pushed in the Collector's
//! layout shows the same figures as from a file, and the top bar names the server.

use super::clickhouse_front::Front;
use super::{card, click_range, fixture, harness, truth, wait_for_calls};
use egui_kittest::kittest::Queryable;
use ingest::import::{Destination, ImportOptions, ImportReport, import_file};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

#[test]
fn a_clickhouse_url_opens_with_the_fixtures_figures() {
    let front = Front::start("ui", None);
    let url = front.url("otel");
    let mut ch = store::ClickHouse::connect(
        store::clickhouse::Endpoint::parse(&url, None).unwrap(),
        true,
        Arc::new(ingest::collector::normalize_collector_span),
    )
    .unwrap();
    ch.create_tables().unwrap();
    let mut report = ImportReport::default();
    import_file(
        &fixture("openllmetry-openai.jsonl"),
        Destination::ClickHouse(&ch),
        &ImportOptions::default(),
        &(),
        &AtomicBool::new(false),
        &mut report,
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let stored = front.query("SELECT count() FROM otel.otel_traces");
    assert_eq!(
        stored.trim(),
        report.spans.to_string(),
        "every span is in ClickHouse"
    );
    let t = truth("openllmetry-openai.truth.json");

    let mut h = harness(std::path::Path::new(&url));
    click_range(&mut h, "All");
    wait_for_calls(&mut h, t["calls"].as_u64().unwrap());
    // The top bar names the engine and the server, and says it is read-only.
    let server = format!("127.0.0.1:{}/otel", front.port);
    assert!(
        h.query_by_label_contains("ClickHouse 26").is_some()
            && h.query_by_label_contains(&server).is_some(),
        "the top bar names the ClickHouse"
    );
    assert!(h.query_by_label("read-only").is_some());
    // The cards carry the truth's figures, as from a file.
    let tokens = card(&h, "Tokens/s").unwrap_or_default();
    let want = format!(
        "{} in · {} out",
        t["input_tokens"].as_u64().unwrap(),
        t["output_tokens"].as_u64().unwrap()
    );
    assert!(tokens.ends_with(&want), "{tokens} should end with {want}");
    let errors = card(&h, "Error rate").unwrap_or_default();
    assert!(
        errors.ends_with(&format!("{} errors", t["errors"])),
        "{errors}"
    );
    // One row per model asked for in the Models table.
    for model in t["models_by_request"].as_object().unwrap().keys() {
        assert!(
            h.query_all_by_label(model).next().is_some(),
            "{model} is in the Models table"
        );
    }
}
