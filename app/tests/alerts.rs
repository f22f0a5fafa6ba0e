//! Alert rules on a real database with a chosen clock: a rule fires once after its "for"
//! duration and resolves once, the history holds both; a spike rule fires on a spike;
//! webhooks reach a real HTTP server with the documented JSON, and servers that hang or
//! fail delay neither sending nor evaluation.

use llm_observatory::alerts::notify::{WEBHOOK_ATTEMPTS, webhook_body};
use llm_observatory::alerts::rules::{Comparison, Metric, Severity, Span};
use llm_observatory::alerts::{Evaluation, Evaluator, Notifier, Rule, Rules};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use store::{AlertEvent, Batch, LlmCall, SpanRow, Store};
use webhook_sink::{Bodies, webhook_sink};

#[path = "../../tests/support/webhook_sink.rs"]
mod webhook_sink;

const S: i64 = 1_000_000_000;
const T0: i64 = 1_800_000_000 * S;

/// One LLM call span of `latency_ms` starting at `start_ns`.
fn call(n: u64, start_ns: i64, latency_ms: i64, cost: f64) -> SpanRow {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&n.to_be_bytes());
    trace_id[8] = 1;
    SpanRow {
        trace_id,
        span_id: [7; 8],
        name: "chat gpt-4o".into(),
        kind: 3,
        start_ns,
        end_ns: start_ns + latency_ms * 1_000_000,
        service: "svc".into(),
        attributes_json: "{}".into(),
        resource_json: "{}".into(),
        events_json: "[]".into(),
        links_json: "[]".into(),
        llm: Some(LlmCall {
            response_model: Some("gpt-4o".into()),
            input_tokens: Some(100),
            output_tokens: Some(10),
            reported_cost_usd: Some(cost),
            ..LlmCall::default()
        }),
        ..SpanRow::default()
    }
}

/// An in-memory store holding `rows`, and its writer.
fn store_with(rows: Vec<SpanRow>) -> (Store, store::Writer) {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    writer
        .write(Batch {
            spans: rows,
            ..Batch::default()
        })
        .unwrap();
    (store, writer)
}

fn latency_rule() -> Rule {
    Rule {
        name: "slow".into(),
        metric: Metric::P95LatencyMs,
        models: Vec::new(),
        services: Vec::new(),
        per_model: false,
        window: Span(Duration::from_secs(60)),
        op: Comparison::Above,
        threshold: 1000.0,
        spike: false,
        severity: Severity::Warning,
        hold: Span(Duration::from_secs(120)),
        enabled: true,
        webhook: None,
    }
}

#[test]
fn a_rule_fires_once_after_holding_resolves_once_and_both_are_history() {
    // One call every 10 s for 15 minutes: fast, then slow from minute 5 to minute 10.
    let rows: Vec<SpanRow> = (0..90)
        .map(|i| {
            let t = T0 + i * 10 * S;
            let slow = (30..60).contains(&i);
            call(i as u64, t, if slow { 3000 } else { 200 }, 0.001)
        })
        .collect();
    let (store, writer) = store_with(rows);
    let rules = Rules {
        rules: vec![latency_rule()],
    };
    let mut eval = Evaluation::new(Box::new(store.reader().unwrap()));
    let mut events: Vec<AlertEvent> = Vec::new();
    // Evaluate every 15 s of simulated time, from minute 1 to minute 16.
    for step in 4..64 {
        let now = T0 + step * 15 * S;
        for (e, _) in eval.round(&rules, now).unwrap() {
            events.push(e);
        }
    }
    let seen: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e.state.as_str(), (e.time_ns - T0) / S))
        .collect();
    // The first slow call (5:00) is in the window at the 5:15 round: pending from
    // then, firing two minutes later (7:15); the last slow call (9:50) leaves the window
    // by the 11:00 round: resolved then.
    assert_eq!(seen, vec![("firing", 7 * 60 + 15), ("resolved", 11 * 60)]);
    assert!(events[0].value.unwrap() > 1000.0);
    assert_eq!(events[0].threshold, 1000.0);
    // Stored, they come back as history, newest first.
    writer
        .write(Batch {
            alerts: events.clone(),
            ..Batch::default()
        })
        .unwrap();
    let history = store.reader().unwrap().alert_history(None, 10).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0], events[1]);
    assert_eq!(history[1], events[0]);
}

#[test]
fn a_spike_rule_fires_on_a_spike_of_spend() {
    // A day of steady spend ($0.01 a minute), then ten minutes at ten times that.
    let day = 24 * 60;
    let rows: Vec<SpanRow> = (0..day + 10)
        .map(|i| {
            let cost = if i >= day { 0.1 } else { 0.01 };
            call(i as u64, T0 + i * 60 * S, 300, cost)
        })
        .collect();
    let (store, _writer) = store_with(rows);
    let rule = Rules::defaults()
        .rules
        .into_iter()
        .find(|r| r.spike)
        .expect("a cost spike rule ships");
    assert_eq!(rule.metric, Metric::CostPerHour);
    let rules = Rules { rules: vec![rule] };
    let mut eval = Evaluation::new(Box::new(store.reader().unwrap()));
    let before = eval.round(&rules, T0 + (day - 1) * 60 * S).unwrap();
    assert!(before.is_empty(), "steady spend is no spike: {before:?}");
    let during = eval.round(&rules, T0 + (day + 10) * 60 * S).unwrap();
    assert_eq!(during.len(), 1, "{during:?}");
    assert_eq!(during[0].0.state, "firing");
    assert_eq!(during[0].0.severity, "info");
}

fn wait_until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn event(rule: &Rule) -> AlertEvent {
    AlertEvent {
        time_ns: T0,
        rule: rule.name.clone(),
        scope: "all".into(),
        state: "firing".into(),
        severity: "warning".into(),
        metric: "p95_latency_ms".into(),
        value: Some(2500.0),
        threshold: 1000.0,
        message: "slow firing: p95 latency is 2.50 s (> 1.00 s)".into(),
    }
}

#[test]
fn a_webhook_gets_the_documented_json_and_bad_servers_delay_nothing() {
    let (good, bodies) = webhook_sink(200, Duration::ZERO);
    let (hang, hang_bodies) = webhook_sink(200, Duration::from_secs(60));
    let (fail, fail_bodies) = webhook_sink(500, Duration::ZERO);
    let hits = |b: &Bodies| b.lock().unwrap().len();
    let notifier = Notifier::start(false);
    let with = |url: &str| Rule {
        webhook: Some(url.to_string()),
        ..latency_rule()
    };
    let started = Instant::now();
    notifier.send(&event(&with(&hang)), &with(&hang));
    notifier.send(&event(&with(&fail)), &with(&fail));
    notifier.send(&event(&with(&good)), &with(&good));
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "sending waited"
    );
    // The good server gets its POST while the hung one still holds its connection.
    wait_until("the webhook", Duration::from_secs(5), || {
        !bodies.lock().unwrap().is_empty()
    });
    assert!(started.elapsed() < Duration::from_secs(3));
    let body: serde_json::Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    assert_eq!(body, webhook_body(&event(&with(&good)), &with(&good)));
    assert_eq!(
        body["text"],
        "[WARNING] slow firing: p95 latency is 2.50 s (> 1.00 s)"
    );
    assert_eq!(body["state"], "firing");
    assert_eq!(body["metric"], "p95_latency_ms");
    assert_eq!(body["value"], 2500.0);
    assert_eq!(body["threshold"], 1000.0);
    assert_eq!(body["window_seconds"], 60.0);
    assert!(body["time"].as_str().unwrap().ends_with('Z'));
    // The failing server is retried a bounded number of times.
    wait_until("the retries", Duration::from_secs(10), || {
        hits(&fail_bodies) == WEBHOOK_ATTEMPTS as usize
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(hits(&fail_bodies), WEBHOOK_ATTEMPTS as usize);
    assert_eq!(hits(&hang_bodies), 1);
}

#[test]
fn evaluation_keeps_its_pace_while_a_webhook_hangs() {
    let store = Store::open_in_memory().unwrap();
    let writer = Arc::new(store.writer().unwrap());
    let now = llm_observatory::timearg::now_ns();
    writer
        .write(Batch {
            spans: vec![call(1, now - 5 * S, 3000, 0.01)],
            ..Batch::default()
        })
        .unwrap();
    let (hang, hang_bodies) = webhook_sink(200, Duration::from_secs(60));
    let rule = Rule {
        hold: Span(Duration::ZERO),
        window: Span(Duration::from_secs(3600)),
        webhook: Some(hang),
        ..latency_rule()
    };
    let evaluator = Evaluator::start(
        &store,
        Some(writer.clone()),
        Arc::new(RwLock::new(Rules { rules: vec![rule] })),
        Notifier::start(false),
        Duration::from_millis(100),
        |_| {},
    )
    .unwrap();
    wait_until(
        "the hung webhook to be called",
        Duration::from_secs(5),
        || hang_bodies.lock().unwrap().len() == 1,
    );
    let at_hang = evaluator.status().rounds;
    std::thread::sleep(Duration::from_secs(1));
    let later = evaluator.status().rounds;
    assert!(
        later >= at_hang + 5,
        "rounds went from {at_hang} to {later} in 1 s"
    );
    let status = evaluator.status();
    assert_eq!(status.events.len(), 1);
    assert_eq!(status.states[0].phase.label(), "firing");
    drop(evaluator);
    let history = store.reader().unwrap().alert_history(None, 10).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, "firing");
}

#[test]
fn service_globs_scope_a_rule() {
    let rows: Vec<SpanRow> = (0..10)
        .map(|i| call(i, T0 + i as i64 * S, 3000, 0.01))
        .collect();
    let (store, _writer) = store_with(rows);
    let scoped = |name: &str, glob: &str| Rule {
        name: name.into(),
        services: vec![glob.into()],
        hold: Span(Duration::ZERO),
        ..latency_rule()
    };
    let rules = Rules {
        rules: vec![scoped("ours", "sv*"), scoped("theirs", "checkout-*")],
    };
    let mut eval = Evaluation::new(Box::new(store.reader().unwrap()));
    let fired: Vec<String> = eval
        .round(&rules, T0 + 30 * S)
        .unwrap()
        .into_iter()
        .map(|(e, _)| e.rule)
        .collect();
    assert_eq!(fired, vec!["ours".to_string()]);
}
