//! The rollups answer as the raw calls do: for random selections over random data,
//! written in shuffled batches with repeats and pruned at a random time, every figure
//! the dashboards read is the same with the rollups as without them — counts, tokens
//! and time bounds exactly, cost to rounding, latency percentiles within the sketch's
//! 1 % — and the `traces` table lists the traces as grouping their spans does.

use store::*;

mod common;

use common::{Rng, T0};
const SEC: i64 = 1_000_000_000;

const MODELS: [(&str, Option<&str>); 5] = [
    ("gpt-4o", Some("gpt-4o-2024-08-06")),
    ("gpt-4o-mini", Some("gpt-4o-mini-2024-07-18")),
    (
        "claude-3-5-sonnet-20241022",
        Some("claude-3-5-sonnet-20241022"),
    ),
    ("my-local-model", None),
    ("gpt-4o", Some("gpt-4o-2024-05-13")),
];

/// Spans over about three hours, two in five of them LLM calls.
fn random_spans(rng: &mut Rng, n: usize) -> Vec<SpanRow> {
    (0..n)
        .map(|i| {
            let start_ns = T0 + rng.below(3 * 3600 * SEC as u64) as i64;
            // Log-uniform durations from 1 ms to 100 s, and a few zero-length ones.
            let duration_ns = if rng.chance(2) {
                0
            } else {
                (1e6 * 1e5f64.powf(rng.below(1_000_000) as f64 / 1e6)) as i64
            };
            let trace = rng.below(n as u64 / 3 + 1);
            let mut span = SpanRow {
                trace_id: (trace as u128).to_be_bytes(),
                // Two traces in three belong to one of eleven sessions.
                session_id: (!trace.is_multiple_of(3)).then(|| format!("session-{}", trace % 11)),
                span_id: (i as u64 + 1).to_be_bytes(),
                // Most spans name a parent (which may never arrive).
                parent_span_id: rng
                    .chance(70)
                    .then(|| (rng.below(n as u64) + 1).to_be_bytes()),
                name: "step".into(),
                kind: 1,
                start_ns,
                end_ns: start_ns + duration_ns,
                service: rng.pick(&["checkout", "support", "search"]).to_string(),
                attributes_json: "{}".into(),
                resource_json: "{}".into(),
                events_json: "[]".into(),
                links_json: "[]".into(),
                ..SpanRow::default()
            };
            if rng.chance(40) {
                let (model, served) = *rng.pick(&MODELS);
                let failed = rng.chance(15);
                let tokens = |rng: &mut Rng| (!rng.chance(10)).then(|| rng.below(5000) as i64);
                let input_tokens = tokens(rng);
                span.llm = Some(LlmCall {
                    provider: (!rng.chance(10))
                        .then(|| rng.pick(&["openai", "anthropic"]).to_string()),
                    request_model: Some(model.into()),
                    response_model: served.filter(|_| !failed).map(String::from),
                    input_tokens,
                    output_tokens: tokens(rng),
                    cache_read_tokens: input_tokens.filter(|_| rng.chance(30)).map(|i| i / 2),
                    reported_cost_usd: rng.chance(10).then(|| rng.below(1000) as f64 / 1e4),
                    error_type: failed
                        .then(|| rng.pick(&["RateLimitError", "Timeout"]).to_string()),
                    // Half the calls streamed: their first token came somewhere inside.
                    timing: CallTiming {
                        ttft_ns: rng
                            .chance(50)
                            .then(|| duration_ns / 100 * rng.below(100) as i64),
                        ..CallTiming::default()
                    },
                    ..LlmCall::default()
                });
                if failed {
                    span.status = StatusCode::Error;
                }
            }
            span
        })
        .collect()
}

/// A random selection on rollup dimensions, with edges anywhere.
fn random_filter(rng: &mut Rng) -> Filter {
    let time = |rng: &mut Rng| T0 - 600 * SEC + rng.below(4 * 3600 * SEC as u64) as i64;
    let mut f = Filter::default();
    if rng.chance(70) {
        f.from_ns = Some(time(rng));
    }
    if rng.chance(70) {
        f.to_ns = Some(time(rng).max(f.from_ns.unwrap_or(i64::MIN)));
    }
    if rng.chance(30) {
        f.models = vec![
            rng.pick(&["gpt-4o*", "gpt-4o-mini", "claude*", "*-2024-05-*", "my-*"])
                .to_string(),
        ];
    }
    if rng.chance(20) {
        f.providers = vec![rng.pick(&["openai", "anthropic"]).to_string()];
    }
    if rng.chance(20) {
        f.services = vec![rng.pick(&["checkout", "support"]).to_string()];
    }
    f.status = *rng.pick(&[
        StatusFilter::All,
        StatusFilter::All,
        StatusFilter::Ok,
        StatusFilter::Error,
    ]);
    f
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * a.abs().max(b.abs()) + 1e-9
}

fn assert_percentiles(approx: [f64; 3], exact: [f64; 3], what: &str) {
    for (a, e) in approx.iter().zip(exact) {
        assert!(
            close(*a, e, 0.01 + 1e-9),
            "{what}: sketch {approx:?}, exact {exact:?}"
        );
    }
}

/// The usage groups (what `GET /metrics` exposes) read two ways: the same groups and
/// counts, the same sketch buckets at every bound, sums equal but for rounding.
fn assert_same_usage(a: &[store::UsageRow], b: &[store::UsageRow], what: &str) {
    let key = |u: &store::UsageRow| {
        (
            u.service.clone(),
            u.model.clone(),
            u.provider.clone(),
            u.is_error,
        )
    };
    let mut a: Vec<_> = a.iter().collect();
    let mut b: Vec<_> = b.iter().collect();
    a.sort_by_key(|u| key(u));
    b.sort_by_key(|u| key(u));
    assert_eq!(a.len(), b.len(), "usage groups, {what}");
    let bounds: Vec<f64> = (0..40).map(|i| 1e6 * 1.5f64.powi(i)).collect();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(key(x), key(y), "{what}");
        assert_eq!(
            (
                x.calls,
                x.input_tokens,
                x.output_tokens,
                x.cache_read_tokens,
                x.cache_write_tokens,
                x.unpriced_calls
            ),
            (
                y.calls,
                y.input_tokens,
                y.output_tokens,
                y.cache_read_tokens,
                y.cache_write_tokens,
                y.unpriced_calls
            ),
            "{what}"
        );
        assert!(close(x.cost_usd, y.cost_usd, 1e-9), "{what}");
        for (p, q) in [(&x.latency, &y.latency), (&x.first_token, &y.first_token)] {
            assert_eq!(p.count(), q.count(), "{what}");
            assert_eq!(p.at_most(&bounds), q.at_most(&bounds), "{what}");
            assert!(close(p.sum_seconds(), q.sum_seconds(), 1e-9), "{what}");
        }
        assert_eq!(
            x.latency.count(),
            x.calls,
            "every call has a duration, {what}"
        );
    }
}

/// Every dashboard figure of `filter`, with and without rollups, compared.
fn compare(r: &mut Reader, filter: &Filter, what: &str) {
    r.use_rollups(true);
    // The sketch answers whatever the number of calls.
    r.exact_percentiles_up_to(0);
    let summary = r.call_summary(filter).unwrap();
    let models = r.per_model(filter).unwrap();
    let buckets = [60 * SEC, 300 * SEC, 3600 * SEC, 90 * SEC];
    let series: Vec<_> = buckets
        .iter()
        .map(|b| r.time_series(filter, *b).unwrap())
        .collect();
    let latency = r.latency_percentiles(filter, 3600 * SEC).unwrap();
    let heat = [
        r.latency_heatmap(filter, 3600 * SEC).unwrap(),
        r.latency_heatmap(filter, 60 * SEC).unwrap(),
    ];
    let first_token = r.first_token(filter).unwrap();
    let first_token_series = r.first_token_percentiles(filter, 3600 * SEC).unwrap();
    let usage = r.usage(filter).unwrap();
    r.use_rollups(false);
    let raw_usage = r.usage(filter).unwrap();
    let raw_first_token = r.first_token(filter).unwrap();
    let raw_first_token_series = r.first_token_percentiles(filter, 3600 * SEC).unwrap();
    let raw_summary = r.call_summary(filter).unwrap();
    let raw_models = r.per_model(filter).unwrap();
    let raw_series: Vec<_> = buckets
        .iter()
        .map(|b| r.time_series(filter, *b).unwrap())
        .collect();
    let raw_latency = r.latency_percentiles(filter, 3600 * SEC).unwrap();
    let raw_heat = [
        r.latency_heatmap(filter, 3600 * SEC).unwrap(),
        r.latency_heatmap(filter, 60 * SEC).unwrap(),
    ];

    let what = format!("{what}, {filter:?}");
    assert_same_usage(&usage, &raw_usage, &what);
    assert_eq!(
        usage.iter().map(|u| u.calls).sum::<u64>(),
        raw_summary.llm_calls,
        "{what}"
    );
    assert_eq!(summary.llm_calls, raw_summary.llm_calls, "{what}");
    assert_eq!(summary.errors, raw_summary.errors, "{what}");
    assert_eq!(summary.input_tokens, raw_summary.input_tokens, "{what}");
    assert_eq!(summary.output_tokens, raw_summary.output_tokens, "{what}");
    assert_eq!(
        summary.cache_read_tokens, raw_summary.cache_read_tokens,
        "{what}"
    );
    assert_eq!(summary.unpriced_calls, raw_summary.unpriced_calls, "{what}");
    assert_eq!(
        summary.unpriced_models, raw_summary.unpriced_models,
        "{what}"
    );
    assert_eq!(summary.first_start_ns, raw_summary.first_start_ns, "{what}");
    assert_eq!(summary.last_end_ns, raw_summary.last_end_ns, "{what}");
    assert!(
        close(summary.cost_usd, raw_summary.cost_usd, 1e-9),
        "{what}"
    );
    assert!(
        close(summary.avg_latency_ms, raw_summary.avg_latency_ms, 1e-9),
        "{what}"
    );
    assert!(!raw_summary.latency_approximate);
    assert_percentiles(summary.latency_ms, raw_summary.latency_ms, &what);

    assert_eq!(models.len(), raw_models.len(), "{what}");
    for (m, raw) in models.iter().zip(&raw_models) {
        let what = format!("{what}, model {}", raw.model);
        assert_eq!(
            (
                &m.model,
                &m.served,
                &m.provider,
                m.calls,
                m.errors,
                m.unpriced_calls
            ),
            (
                &raw.model,
                &raw.served,
                &raw.provider,
                raw.calls,
                raw.errors,
                raw.unpriced_calls
            ),
            "{what}"
        );
        assert_eq!(
            (
                m.input_tokens,
                m.output_tokens,
                m.cache_read_tokens,
                m.cache_write_tokens
            ),
            (
                raw.input_tokens,
                raw.output_tokens,
                raw.cache_read_tokens,
                raw.cache_write_tokens
            ),
            "{what}"
        );
        assert!(close(m.cost_usd, raw.cost_usd, 1e-9), "{what}");
        assert!(close(m.avg_ms, raw.avg_ms, 1e-9), "{what}");
        assert_percentiles(
            [m.p50_ms, m.p95_ms, m.p99_ms],
            [raw.p50_ms, raw.p95_ms, raw.p99_ms],
            &what,
        );
    }

    for ((points, raw), bucket) in series.iter().zip(&raw_series).zip(buckets) {
        assert_eq!(points.len(), raw.len(), "{what}, series of {bucket} ns");
        for (p, q) in points.iter().zip(raw) {
            assert_eq!(
                (
                    p.bucket_start_ns,
                    &p.model,
                    p.requests,
                    p.errors,
                    p.input_tokens,
                    p.output_tokens,
                    p.cache_read_tokens
                ),
                (
                    q.bucket_start_ns,
                    &q.model,
                    q.requests,
                    q.errors,
                    q.input_tokens,
                    q.output_tokens,
                    q.cache_read_tokens
                ),
                "{what}, series of {bucket} ns"
            );
            assert!(close(p.cost_usd, q.cost_usd, 1e-9), "{what}");
        }
    }

    // The heatmap's bands are whole sketch buckets: the rollups count them exactly.
    assert_eq!(heat, raw_heat, "{what}, heatmap");

    // Time to first token: the same calls, percentiles within the sketch's 1 %.
    assert!(!raw_first_token.approximate);
    assert_eq!(first_token.calls, raw_first_token.calls, "{what}, ttft");
    assert_percentiles(first_token.ttft_ms, raw_first_token.ttft_ms, &what);
    assert_eq!(
        first_token.by_model.len(),
        raw_first_token.by_model.len(),
        "{what}, ttft"
    );
    for (m, raw) in first_token.by_model.iter().zip(&raw_first_token.by_model) {
        assert_eq!((&m.model, m.calls), (&raw.model, raw.calls), "{what}, ttft");
        assert_percentiles(m.ttft_ms, raw.ttft_ms, &what);
        assert_eq!(m.output_tps_p50, raw.output_tps_p50, "{what}, speed");
    }
    assert_eq!(
        first_token_series.len(),
        raw_first_token_series.len(),
        "{what}, ttft series"
    );
    for (p, q) in first_token_series.iter().zip(&raw_first_token_series) {
        assert_eq!(
            (p.bucket_start_ns, p.count),
            (q.bucket_start_ns, q.count),
            "{what}, ttft series"
        );
        assert_percentiles(
            [p.p50_ms, p.p95_ms, p.p99_ms],
            [q.p50_ms, q.p95_ms, q.p99_ms],
            &what,
        );
        assert!(close(p.avg_ms, q.avg_ms, 0.01), "{what}, ttft mean");
    }

    assert_eq!(latency.len(), raw_latency.len(), "{what}, latency series");
    for (p, q) in latency.iter().zip(&raw_latency) {
        assert_eq!(
            (p.bucket_start_ns, p.count),
            (q.bucket_start_ns, q.count),
            "{what}"
        );
        assert!(close(p.avg_ms, q.avg_ms, 1e-9), "{what}");
        assert_percentiles(
            [p.p50_ms, p.p95_ms, p.p99_ms],
            [q.p50_ms, q.p95_ms, q.p99_ms],
            &what,
        );
    }
}

/// The traces list from the `traces` table equals the one grouped from the spans, in
/// every order; the sessions pages from its kept cost and first calls equal those
/// from the calls.
fn compare_traces(r: &mut Reader, what: &str) {
    use store::{SessionSort, SortDir, TraceSort};
    let sorts = [
        TraceSort::Start,
        TraceSort::Duration,
        TraceSort::LlmCalls,
        TraceSort::Tokens,
        TraceSort::Status,
        TraceSort::Name,
        TraceSort::Service,
        TraceSort::Cost,
    ];
    // Spans and traces counted from the `traces` table over all time, as from the spans,
    // also of the traces holding a call selected by model, provider or status.
    let by_call = [
        Filter::default(),
        Filter {
            models: vec!["gpt-4o*".into()],
            ..Filter::default()
        },
        Filter {
            providers: vec!["anthropic".into()],
            ..Filter::default()
        },
        Filter {
            status: StatusFilter::Error,
            ..Filter::default()
        },
    ];
    for (i, filter) in by_call.iter().enumerate() {
        let mut summaries = Vec::new();
        for rollups in [true, false] {
            r.use_rollups(rollups);
            let s = r.summary(filter).unwrap();
            summaries.push((s.spans, s.traces, s.first_start_ns, s.last_end_ns));
        }
        if i == 0 {
            assert!(summaries[1].0 > Some(0), "{what}, {filter:?}");
        }
        assert_eq!(
            summaries[0], summaries[1],
            "{what}, summary counts of {filter:?}"
        );
    }
    // A trace opened within its time range from the `traces` table holds every span.
    r.use_rollups(false);
    let (page, _) = r
        .traces_page(&Filter::default(), TraceSort::Start, SortDir::Desc, 0, 25)
        .unwrap();
    for row in page {
        let id = store::hex_to_trace_id(&row.trace_id).unwrap();
        let mut trees = Vec::new();
        for rollups in [true, false] {
            r.use_rollups(rollups);
            trees.push(r.trace(id).unwrap());
        }
        assert_eq!(trees[0].spans.len() as u64, row.spans, "{what}");
        assert_eq!(trees[0], trees[1], "{what}, trace {}", row.trace_id);
    }
    // Sessions, from the traces' kept cost measures and first calls as from their calls.
    for sort in [
        SessionSort::LastActivity,
        SessionSort::Turns,
        SessionSort::Cost,
        SessionSort::Calls,
    ] {
        let mut pages = Vec::new();
        for rollups in [true, false] {
            r.use_rollups(rollups);
            pages.push(
                r.sessions_page(&Filter::default(), "", sort, SortDir::Desc, 1, 8)
                    .unwrap(),
            );
        }
        let ((rows, total), (raw_rows, raw_total)) = (&pages[0], &pages[1]);
        assert_eq!(total, raw_total, "{what}, sessions by {sort:?}");
        assert!(*total > 5, "{what}: {total} sessions");
        assert_eq!(rows.len(), raw_rows.len(), "{what}");
        for (a, b) in rows.iter().zip(raw_rows) {
            assert!(close(a.cost_usd, b.cost_usd, 1e-9), "{what}: {a:?} {b:?}");
            let a = store::SessionRow {
                cost_usd: b.cost_usd,
                ..a.clone()
            };
            assert_eq!(&a, b, "{what}, sessions by {sort:?}");
        }
    }
    // All time, and the traces starting in the later half.
    let (first, last) = r.time_bounds().unwrap().expect("data");
    let later = Filter {
        from_ns: Some(first + (last - first) / 2),
        ..Filter::default()
    };
    for (sort, filter) in sorts
        .into_iter()
        .flat_map(|s| [(s, Filter::default()), (s, later.clone())])
    {
        for dir in [SortDir::Asc, SortDir::Desc] {
            let mut pages = Vec::new();
            for rollups in [true, false] {
                r.use_rollups(rollups);
                pages.push(r.traces_page(&filter, sort, dir, 3, 40).unwrap());
            }
            let ((rows, total), (raw_rows, raw_total)) = (&pages[0], &pages[1]);
            let what = format!("{what}, from {:?}", filter.from_ns);
            assert_eq!(total, raw_total, "{what}, traces by {sort:?} {dir:?}");
            assert_eq!(rows.len(), raw_rows.len(), "{what}");
            for (a, b) in rows.iter().zip(raw_rows) {
                assert!(
                    close(a.cost_usd, b.cost_usd, 1e-9),
                    "{what}, traces by {sort:?} {dir:?}: {a:?} {b:?}"
                );
                let a = store::TraceRow {
                    cost_usd: b.cost_usd,
                    ..a.clone()
                };
                assert_eq!(&a, b, "{what}, traces by {sort:?} {dir:?}");
            }
        }
    }
}

/// The filter bar's choices and the data's time bounds, with and without rollups.
fn compare_choices(r: &mut Reader, what: &str) {
    let mut answers = Vec::new();
    for rollups in [true, false] {
        r.use_rollups(rollups);
        answers.push((
            r.models().unwrap(),
            r.models_by_volume().unwrap(),
            r.time_bounds().unwrap(),
        ));
    }
    assert!(!answers[1].0.is_empty(), "{what}");
    assert_eq!(answers[0], answers[1], "{what}");
}

#[test]
fn rollups_answer_random_selections_as_the_raw_calls_do() {
    for seed in 1..=12u64 {
        let mut rng = Rng(seed);
        let spans = random_spans(&mut rng, 1500);
        let store = Store::open_in_memory().unwrap();
        let writer = store.writer().unwrap();
        // Shuffled batches, a fifth of the spans sent again in a later one.
        let mut order: Vec<usize> = (0..spans.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut sent = 0;
        while sent < order.len() {
            let size = 1 + rng.below(300) as usize;
            let mut batch: Vec<SpanRow> = order[sent..(sent + size).min(order.len())]
                .iter()
                .map(|&i| spans[i].clone())
                .collect();
            if sent > 0 {
                for _ in 0..size / 5 {
                    batch.push(spans[order[rng.below(sent as u64) as usize]].clone());
                }
            }
            sent += size;
            writer
                .write(Batch {
                    spans: batch,
                    ..Batch::default()
                })
                .unwrap();
        }
        let mut r = store.reader().unwrap();
        // Each commit appended its own rollup rows; they answer before they are compacted.
        for round in 0..4 {
            let filter = random_filter(&mut rng);
            compare(
                &mut r,
                &filter,
                &format!("seed {seed}, before compaction, selection {round}"),
            );
        }
        // Traces whose spans came hours apart have a row per part until a checkpoint,
        // which also compacts the rollups.
        writer.checkpoint().unwrap();
        compare_traces(&mut r, &format!("seed {seed}"));
        for round in 0..12 {
            let filter = random_filter(&mut rng);
            compare(&mut r, &filter, &format!("seed {seed}, selection {round}"));
        }
        // Retention cuts a minute and an hour in two; the rollups follow.
        let cutoff = T0 + rng.below(3 * 3600 * SEC as u64) as i64;
        writer.prune_before(cutoff).unwrap();
        for round in 0..6 {
            let filter = random_filter(&mut rng);
            compare(
                &mut r,
                &filter,
                &format!("seed {seed}, after pruning, selection {round}"),
            );
        }
        compare(
            &mut r,
            &Filter::default(),
            &format!("seed {seed}, all time"),
        );
        compare_choices(&mut r, &format!("seed {seed}"));
        compare_traces(&mut r, &format!("seed {seed}, after pruning"));
    }
}

#[test]
fn a_schema_5_database_gets_its_rollups_and_traces_when_opened_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.duckdb");
    let mut rng = Rng(99);
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        writer
            .write(Batch {
                spans: random_spans(&mut rng, 2000),
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    // What the previous release wrote: no rollups, version 5.
    common::as_written_by_schema(&path, 5);
    // Browsed read-only, it answers from the calls.
    let read_only = Store::open(&path, OpenMode::ReadOnly).unwrap();
    let summary = read_only
        .reader()
        .unwrap()
        .call_summary(&Filter::default())
        .unwrap();
    assert!(!summary.latency_approximate);
    assert!(summary.llm_calls > 500);
    drop(read_only);
    // Opened for writing, it is migrated, saying so step by step, and the rollups
    // answer the same.
    let steps = std::sync::Mutex::new(Vec::new());
    let store = Store::open_reporting(&path, OpenMode::ReadWrite, &|u: Upgrade| {
        steps.lock().unwrap().push((u.from, u.to, u.what));
    })
    .unwrap();
    let to = SCHEMA_VERSION;
    assert_eq!(
        steps.into_inner().unwrap(),
        vec![
            (
                5,
                to,
                "summing calls into per-minute rollups and latency sketches"
            ),
            (
                7,
                to,
                "reading each span's session, user and agent or tool name, and listing traces, one row each"
            ),
            (
                8,
                to,
                "adding evaluations and feedback, and reading each call's response id"
            ),
            (
                9,
                to,
                "listing agent runs with the steps, calls and cost inside them, tool executions, each trace's cost, and evaluations by hour"
            ),
            (
                10,
                to,
                "reading each call's time to first token and server phases"
            ),
            (
                11,
                to,
                "telling metric points that are deltas from running totals"
            ),
            (12, to, "finding the prompt patterns of the stored calls"),
            (13, to, "adding notes on stretches of time"),
            (
                14,
                to,
                "keeping each trace's cost, for the traces list sorted by cost"
            ),
            (15, to, "noting which traces may have rows to join"),
        ]
    );
    let mut r = store.reader().unwrap();
    r.exact_percentiles_up_to(0);
    let rolled = r.call_summary(&Filter::default()).unwrap();
    assert!(rolled.latency_approximate);
    assert_eq!(rolled.llm_calls, summary.llm_calls);
    for round in 0..8 {
        compare(
            &mut r,
            &random_filter(&mut rng),
            &format!("migrated, selection {round}"),
        );
    }
}

/// Traces whose spans arrive split over many batches, out of order and repeated, each
/// within minutes of its start: the `traces` table is right after every commit, without
/// waiting for a checkpoint.
#[test]
fn a_trace_split_shuffled_and_repeated_across_commits_is_one_row() {
    let mut rng = Rng(7);
    let mut spans = random_spans(&mut rng, 1200);
    for s in &mut spans {
        let trace = u128::from_be_bytes(s.trace_id) as i64;
        let took = s.end_ns - s.start_ns;
        s.start_ns = T0 + trace * 5 * SEC + rng.below(600 * SEC as u64) as i64;
        s.end_ns = s.start_ns + took;
    }
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let mut r = store.reader().unwrap();
    let mut order: Vec<usize> = (0..spans.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for (n, chunk) in order.chunks(97).enumerate() {
        let mut batch: Vec<SpanRow> = chunk.iter().map(|&i| spans[i].clone()).collect();
        batch.extend(chunk.iter().take(9).map(|&i| spans[i].clone()));
        writer
            .write(Batch {
                spans: batch,
                ..Batch::default()
            })
            .unwrap();
        if n % 4 == 3 {
            compare_traces(&mut r, &format!("after commit {n}"));
        }
    }
    compare_traces(&mut r, "at the end");
}

/// A trace whose root runs five hours and whose later steps came in a commit three
/// hours after its start has two rows until the writer joins them; pruning it in two
/// before that still lists it once, with the spans left.
#[test]
fn a_split_trace_cut_by_retention_is_counted_once() {
    use store::{SortDir, TraceSort};
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let hour = 3_600_000;
    let early = vec![
        common::span(1, 1, None, 0, 5 * hour),
        common::span(1, 2, Some(1), 1000, 1000),
    ];
    let late = vec![
        common::span(1, 3, Some(1), 3 * hour, 1000),
        common::span(1, 4, Some(1), 3 * hour + 5000, 1000),
    ];
    for spans in [early, late] {
        writer
            .write(Batch {
                spans,
                ..Batch::default()
            })
            .unwrap();
    }
    writer.prune_before(T0 + hour * common::MS).unwrap();
    let mut r = store.reader().unwrap();
    // From the traces table, and grouped from the spans left.
    for rollups in [true, false] {
        r.use_rollups(rollups);
        let (page, total) = r
            .traces_page(&Filter::default(), TraceSort::Start, SortDir::Desc, 0, 10)
            .unwrap();
        assert_eq!(total, 1, "rollups {rollups}");
        assert_eq!(page.iter().map(|t| t.spans).collect::<Vec<_>>(), vec![2]);
    }
}

/// Sorted by cost, the traces list reads each trace's kept cost while it is at the
/// prices in force; after a price change it prices the calls until the writer has
/// priced every trace again at the new prices (its next commit). Each page equals the
/// one priced from the raw calls.
#[test]
fn the_traces_list_by_cost_follows_a_price_change() {
    use store::{SortDir, TraceSort};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("cost.duckdb"), OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    let mut rng = Rng(11);
    let mut write = |n| {
        writer
            .write(Batch {
                spans: random_spans(&mut rng, n),
                ..Batch::default()
            })
            .unwrap()
    };
    write(3000);
    let mut r = store.reader().unwrap();
    let costliest = |r: &mut Reader, what: &str| {
        let mut top = 0.0;
        for dir in [SortDir::Desc, SortDir::Asc] {
            let mut pages = Vec::new();
            for rollups in [true, false] {
                r.use_rollups(rollups);
                let (rows, _) = r
                    .traces_page(&Filter::default(), TraceSort::Cost, dir, 0, 30)
                    .unwrap();
                pages.push(rows);
            }
            assert_eq!(pages[0].len(), pages[1].len(), "{what}");
            for (a, b) in pages[0].iter().zip(&pages[1]) {
                assert_eq!(a.trace_id, b.trace_id, "{what}, {dir:?}: {a:?} {b:?}");
                assert!(close(a.cost_usd, b.cost_usd, 1e-9), "{what}: {a:?} {b:?}");
            }
            if dir == SortDir::Desc {
                top = pages[0][0].cost_usd;
            }
        }
        top
    };
    let before = costliest(&mut r, "bundled prices");
    // A price for the local model, which had none: its traces cost more than any.
    let mut prices = store.prices();
    prices.set(
        "my-local-model",
        Price {
            input: 1000.0,
            output: 1000.0,
            cache_read: None,
            cache_write: None,
        },
    );
    store.set_prices(prices);
    let changed = costliest(&mut r, "a new price, not yet kept");
    assert!(changed > before * 2.0, "{changed} against {before}");
    write(200);
    let kept = costliest(&mut r, "a new price, kept");
    assert!(kept >= changed, "{kept} against {changed}");
}
