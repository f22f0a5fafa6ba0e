//! Alerts in the window: a rule that fires shows the banner, "View traces" lands on the
//! rule's scope and window, and a rule edited in the Alerts view is saved to the rules
//! file.

use super::*;
use llm_observatory::alerts::rules::{Comparison, Metric, Severity, Span};
use llm_observatory::alerts::{Rule, Rules};
use llm_observatory::gui::AlertSetup;
use store::{Bound, Cmp, SortDir, TraceSort};

fn slow_rule() -> Rule {
    Rule {
        name: "p95 over 300 ms".into(),
        metric: Metric::P95LatencyMs,
        models: Vec::new(),
        services: Vec::new(),
        per_model: false,
        window: Span(Duration::from_secs(3600)),
        op: Comparison::Above,
        threshold: 300.0,
        spike: false,
        severity: Severity::Critical,
        hold: Span(Duration::ZERO),
        enabled: true,
        webhook: None,
    }
}

#[test]
fn a_firing_alert_shows_the_banner_and_leads_to_its_traces_and_rules_edit_and_persist() {
    let dir = Scratch::new("alerts");
    let db = dir.path("live.duckdb");
    let now = llm_observatory::timearg::now_ns();
    {
        // Traffic made for a fixed period, then moved to the last 40 minutes: the
        // generator's daily rhythm must not make the figures depend on the hour.
        const T0: i64 = 1_772_438_400_000_000_000;
        const MIN: i64 = 60_000_000_000;
        let mut synth = Synth::new(SynthConfig {
            traces: 300,
            start_ns: T0,
            end_ns: T0 + 39 * MIN,
            seed: 3,
        });
        let shift = now - 40 * MIN - T0;
        let mut rows = Vec::new();
        while let Some(req) = synth.next_request(256) {
            rows.extend(normalize_traces(&req).rows);
        }
        for r in &mut rows {
            r.start_ns += shift;
            r.end_ns += shift;
        }
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        writer
            .write(store::Batch {
                spans: rows,
                ..Default::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    let rules_file = dir.path("config/alerts.toml");
    let mut options = start(&db);
    options.alerts = Some(AlertSetup {
        rules: Rules {
            rules: vec![slow_rule()],
        },
        file: Some(rules_file.clone()),
        every: Duration::from_millis(200),
    });
    let mut h = Harness::builder()
        .with_size([1440.0, 1000.0])
        .build_eframe(move |cc| ObservatoryApp::new(cc, options));
    wait_for(&mut h, "the alert banner", |h| {
        h.query_by_label("CRITICAL").is_some()
            && h.query_by_label("View traces of p95 over 300 ms").is_some()
    });
    assert!(
        h.query_by_label_contains("p95 over 300 ms: p95 latency is")
            .is_some(),
        "the banner names the rule and its value"
    );
    // The banner over the Alerts view (whose content, unlike the Overview's time axes,
    // is the same on every run).
    h.get_by_role_and_label(Role::Button, "Alerts").click();
    wait_for(&mut h, "the firing rule in the Alerts view", |h| {
        h.query_all_by_label("firing").next().is_some()
            && h.query_by_label_contains("p95 over 300 ms firing")
                .is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_masked(&mut h, "alert_banner");

    // "View traces": the Traces view on the rule's window, calls slower than its
    // threshold.
    h.get_by_label("View traces of p95 over 300 ms").click();
    wait_for(&mut h, "the traces view", |h| {
        h.query_by_role_and_label(Role::TextInput, "from").is_some()
            && h.query_by_label("Clear latency").is_some()
    });
    let (from, to) = custom_range(&h);
    assert!(
        (to - from - 3_601_000_000_000).abs() <= 1_000_000_000,
        "the rule's window"
    );
    let expected = {
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let f = Filter {
            from_ns: Some(from),
            to_ns: Some(to),
            latency_ms: vec![Bound {
                cmp: Cmp::Ge,
                value: 300.0,
            }],
            ..Filter::default()
        };
        store
            .reader()
            .unwrap()
            .traces_page(&f, TraceSort::Start, SortDir::Desc, 0, 1)
            .unwrap()
            .1
    };
    assert!(expected > 0);
    let want = format!("{} traces", format::integer(expected));
    wait_for(&mut h, &want.clone(), |h| {
        h.query_by_value_contains_text(&want).is_some()
    });

    // Edit the rule in the Alerts view: the change is saved to the rules file.
    h.get_by_role_and_label(Role::Button, "Alerts").click();
    wait_for(&mut h, "the rules table", |h| {
        h.query_by_label("Edit p95 over 300 ms").is_some()
    });
    h.get_by_label("Edit p95 over 300 ms").click();
    wait_for(&mut h, "the rule form", |h| {
        h.query_by_role_and_label(Role::TextInput, "Threshold")
            .is_some()
    });
    h.get_by_role_and_label(Role::TextInput, "Threshold")
        .focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.get_by_role_and_label(Role::TextInput, "Threshold")
        .type_text("5000");
    h.step();
    h.get_by_role_and_label(Role::Button, "Save rule").click();
    wait_for(&mut h, "the rules file", |_| rules_file.exists());
    let saved = Rules::load(&rules_file).unwrap();
    assert_eq!(saved.rules.len(), 1);
    assert_eq!(saved.rules[0].threshold, 5000.0);
    assert_eq!(saved.rules[0].severity, Severity::Critical);
    // A rule added in the view is saved after the first; when it fires, its banner can
    // be dismissed while it goes on firing.
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "Add rule").click();
    wait_for(&mut h, "the new rule form", |h| {
        h.query_by_role_and_label(Role::TextInput, "Name").is_some()
    });
    for (field, value) in [
        ("Name", "any call over 10 ms"),
        ("Threshold", "10"),
        ("Window", "1h"),
        ("For", "0s"),
    ] {
        h.get_by_role_and_label(Role::TextInput, field).focus();
        h.step();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.step();
        h.get_by_role_and_label(Role::TextInput, field)
            .type_text(value);
        h.step();
    }
    h.get_by_role_and_label(Role::Button, "Save rule").click();
    wait_for(&mut h, "two rules in the file", |_| {
        Rules::load(&rules_file).is_ok_and(|r| r.rules.len() == 2)
    });
    let added = Rules::load(&rules_file).unwrap().rules[1].clone();
    assert_eq!(added.name, "any call over 10 ms");
    assert_eq!((added.threshold, added.hold.0), (10.0, Duration::ZERO));
    let dismiss = "Dismiss the alert of any call over 10 ms";
    wait_for(&mut h, "the new rule's banner", |h| {
        h.query_by_label(dismiss).is_some()
    });
    h.get_by_label(dismiss).click();
    wait_for(&mut h, "the dismissed banner to go", |h| {
        h.query_by_label(dismiss).is_none()
    });
    h.run_steps(5);
    assert!(h.query_by_label(dismiss).is_none(), "the banner came back");
    assert!(
        h.query_all_by_label("firing").next().is_some(),
        "the rule still fires"
    );
    // Deleting it is saved too.
    h.get_by_label("Delete any call over 10 ms").click();
    wait_for(&mut h, "one rule in the file again", |_| {
        Rules::load(&rules_file).is_ok_and(|r| r.rules.len() == 1)
    });
    // Switching it off is saved too, and the banner goes.
    h.run_steps(3);
    h.get_by_label("Enable p95 over 300 ms").click();
    wait_for(&mut h, "the rule switched off in the file", |_| {
        Rules::load(&rules_file).is_ok_and(|r| !r.rules[0].enabled)
    });
    wait_for(&mut h, "the banner to go", |h| {
        h.query_by_label("CRITICAL").is_none()
    });
    // The history shows the firing and the resolution.
    wait_for(&mut h, "the history", |h| {
        h.query_by_label_contains("p95 over 300 ms firing")
            .is_some()
            && h.query_by_label_contains("p95 over 300 ms resolved")
                .is_some()
    });
    h.remove_cursor();
    h.run_steps(2);
    snapshot_masked(&mut h, "alerts_view");
}
