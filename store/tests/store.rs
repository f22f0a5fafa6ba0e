//! The store against known rows: dedup, every typed query's figures, prices and cost,
//! retention, and the errors opening a wrong path gives.

use store::*;

mod common;
use common::{MS, T0};

/// [`common::span`] of service `svc-a`, the service the filters here name.
fn span(trace: u8, span: u8, parent: Option<u8>, start_ms: i64, dur_ms: i64) -> SpanRow {
    SpanRow {
        service: "svc-a".into(),
        ..common::span(trace, span, parent, start_ms, dur_ms)
    }
}

fn call(mut row: SpanRow, model: &str, input: i64, output: i64) -> SpanRow {
    row.llm = Some(LlmCall {
        provider: Some("openai".into()),
        operation: Some("chat".into()),
        response_model: Some(model.into()),
        input_tokens: Some(input),
        output_tokens: Some(output),
        prompt: Some("user: what is the refund policy?".into()),
        response: Some("Refunds take 5 days.".into()),
        ..LlmCall::default()
    });
    row
}

fn failed(mut row: SpanRow, request_model: &str, error: &str) -> SpanRow {
    row.status = StatusCode::Error;
    row.status_message = format!("{error}: boom");
    row.llm = Some(LlmCall {
        provider: Some("openai".into()),
        request_model: Some(request_model.into()),
        error_type: Some(error.into()),
        error_message: Some(format!("{error}: boom")),
        ..LlmCall::default()
    });
    row
}

/// Trace 1: root + two gpt-4o calls; trace 2: root + a failed gpt-4o-mini call + an
/// unpriced model call; trace 3 an hour later: a claude call with cache tokens.
fn known_rows() -> Vec<SpanRow> {
    let mut claude = call(
        span(3, 31, None, 3_600_000, 2_000),
        "claude-3-5-sonnet-20241022",
        1_000_000,
        100_000,
    );
    if let Some(l) = claude.llm.as_mut() {
        l.cache_read_tokens = Some(400_000);
        l.cache_write_tokens = Some(100_000);
    }
    vec![
        span(1, 1, None, 0, 1_000),
        call(
            span(1, 2, Some(1), 10, 400),
            "gpt-4o-2024-08-06",
            1_000_000,
            0,
        ),
        call(
            span(1, 3, Some(1), 500, 300),
            "gpt-4o-2024-08-06",
            0,
            1_000_000,
        ),
        span(2, 1, None, 100, 900),
        failed(
            span(2, 2, Some(1), 110, 50),
            "gpt-4o-mini",
            "RateLimitError",
        ),
        call(span(2, 3, Some(1), 200, 700), "my-local-model", 10, 10),
        claude,
    ]
}

/// Commits `spans` through `writer`.
fn store_spans(writer: &Writer, spans: Vec<SpanRow>) {
    writer
        .write(Batch {
            spans,
            ..Batch::default()
        })
        .unwrap();
}

fn store_with_known_rows() -> Store {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let report = writer
        .write(Batch {
            spans: known_rows(),
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(report.spans, 7);
    assert_eq!(report.llm_calls, 5);
    writer.close().unwrap();
    store
}

#[test]
fn duplicates_are_stored_once_within_and_across_batches() {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let v0 = store.data_version();
    let mut rows = known_rows();
    rows.push(rows[1].clone());
    let first = writer
        .write(Batch {
            spans: rows,
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(
        (first.spans, first.duplicate_spans, first.llm_calls),
        (7, 1, 5)
    );
    assert!(store.data_version() > v0);
    let again = writer
        .write(Batch {
            spans: known_rows(),
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(
        (again.spans, again.duplicate_spans, again.llm_calls),
        (0, 7, 0)
    );
    let s = store.reader().unwrap().summary(&Filter::default()).unwrap();
    assert_eq!((s.spans, s.traces, s.llm_calls), (Some(7), Some(3), 5));
}

#[test]
fn summary_counts_and_prices_every_call_once() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let s = r.summary(&Filter::default()).unwrap();
    assert_eq!(s.llm_calls, 5);
    assert_eq!(s.errors, 1);
    assert_eq!(s.input_tokens, 2_000_010);
    assert_eq!(s.output_tokens, 1_100_010);
    assert_eq!(s.cache_read_tokens, 400_000);
    assert_eq!(s.cache_write_tokens, 100_000);
    // gpt-4o: 1M input at $2.50 + 1M output at $10. claude-3-5-sonnet: 500k plain input
    // at $3, 400k cache reads at $0.30, 100k cache writes at $3.75, 100k output at $15.
    let claude = 0.5 * 3.0 + 0.4 * 0.30 + 0.1 * 3.75 + 0.1 * 15.0;
    assert!(
        (s.cost_usd - (2.5 + 10.0 + claude)).abs() < 1e-9,
        "{}",
        s.cost_usd
    );
    assert_eq!(s.unpriced_calls, 1);
    assert_eq!(s.unpriced_models, vec!["my-local-model".to_string()]);
    assert_eq!(s.first_start_ns, Some(T0));
    assert_eq!(s.last_end_ns, Some(T0 + 3_602_000 * MS));
    // Latencies 400, 300, 50, 700, 2000 ms: the median is 400 (exact for so few calls;
    // from the sketch, when asked to use it, within 1 %).
    assert!(!s.latency_approximate);
    assert!((s.latency_ms[0] - 400.0).abs() < 1e-9);
    r.exact_percentiles_up_to(0);
    let s = r.summary(&Filter::default()).unwrap();
    assert!(s.latency_approximate);
    assert!((s.latency_ms[0] - 400.0).abs() <= 4.0, "{:?}", s.latency_ms);
    r.use_rollups(false);
    let exact = r.summary(&Filter::default()).unwrap();
    assert!(!exact.latency_approximate);
    assert!((exact.latency_ms[0] - 400.0).abs() < 1e-9);
}

/// One cost formula: every query that prices calls (the summary and per-model sums, the
/// series, the calls list, the traces list, each trace's spans, and a cost condition,
/// which prices inline) gives the same figure for the same calls, with cache tokens, a
/// reported cost and an unpriced model among them.
#[test]
fn every_query_that_prices_gives_the_same_cost() {
    let store = store_with_known_rows();
    let writer = store.writer().unwrap();
    let mut reported = call(span(9, 1, None, 20, 10), "gpt-4o-2024-08-06", 1_000_000, 0);
    reported.llm.as_mut().unwrap().reported_cost_usd = Some(0.5);
    store_spans(&writer, vec![reported]);
    let claude = 0.5 * 3.0 + 0.4 * 0.30 + 0.1 * 3.75 + 0.1 * 15.0;
    let expected = 2.5 + 10.0 + claude + 0.5;
    let mut r = store.reader().unwrap();
    let all = Filter::default();
    let close = |what: &str, got: f64| {
        assert!((got - expected).abs() < 1e-9, "{what}: {got} != {expected}");
    };
    close("summary", r.call_summary(&all).unwrap().cost_usd);
    close(
        "per model",
        r.per_model(&all).unwrap().iter().map(|m| m.cost_usd).sum(),
    );
    close(
        "series",
        r.time_series(&all, 60_000 * MS)
            .unwrap()
            .iter()
            .map(|p| p.cost_usd)
            .sum(),
    );
    let (calls, _) = r
        .calls_page(&all, CallSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    close("calls", calls.iter().filter_map(|c| c.cost_usd).sum());
    let (traces, _) = r
        .traces_page(&all, TraceSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    close("traces", traces.iter().map(|t| t.cost_usd).sum());
    let in_trees: f64 = traces
        .iter()
        .map(|t| {
            let id = hex_to_trace_id(&t.trace_id).unwrap();
            let tree = r.trace(id).unwrap();
            tree.spans.iter().filter_map(|s| s.cost_usd).sum::<f64>()
        })
        .sum();
    close("trace trees", in_trees);
    // A cost condition prices inline: "cost > 0" keeps every priced call.
    let priced = Filter {
        cost_usd: vec![Bound {
            cmp: Cmp::Gt,
            value: 0.0,
        }],
        ..Filter::default()
    };
    let (kept, _) = r
        .calls_page(&priced, CallSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    assert_eq!(kept.len(), 4, "the gpt-4o calls, the reported one, claude");
    close(
        "cost condition",
        kept.iter().filter_map(|c| c.cost_usd).sum(),
    );
    close(
        "summary under a cost condition",
        r.call_summary(&priced).unwrap().cost_usd,
    );
}

#[test]
fn a_price_change_reprices_history_and_a_reported_cost_wins() {
    let store = store_with_known_rows();
    let mut table = PriceTable::bundled();
    table.set(
        "my-local-model",
        Price {
            input: 1000.0,
            output: 1000.0,
            cache_read: None,
            cache_write: None,
        },
    );
    store.set_prices(table);
    let mut r = store.reader().unwrap();
    let m = r
        .per_model(&Filter {
            models: vec!["my-local-*".into()],
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(m.len(), 1);
    assert!((m[0].cost_usd - 0.02).abs() < 1e-12);
    assert_eq!(m[0].unpriced_calls, 0);

    let writer = store.writer().unwrap();
    let mut reported = call(span(9, 1, None, 0, 10), "gpt-4o", 1_000_000, 0);
    reported.llm.as_mut().unwrap().reported_cost_usd = Some(0.5);
    store_spans(&writer, vec![reported]);
    let t = r.trace(u128::from_be_bytes([9; 16])).unwrap();
    assert_eq!(t.spans[0].cost_usd, Some(0.5));
}

#[test]
fn per_model_and_filters_select_what_they_say() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let m = r.per_model(&Filter::default()).unwrap();
    let names: Vec<_> = m
        .iter()
        .map(|m| (m.model.as_str(), m.calls, m.errors))
        .collect();
    assert_eq!(
        names,
        vec![
            ("gpt-4o-2024-08-06", 2, 0),
            ("claude-3-5-sonnet-20241022", 1, 0),
            ("gpt-4o-mini", 1, 1),
            ("my-local-model", 1, 0)
        ]
    );
    let gpt = Filter {
        models: vec!["gpt-4o*".into()],
        ..Filter::default()
    };
    let s = r.summary(&gpt).unwrap();
    assert_eq!((s.llm_calls, s.errors, s.traces), (3, 1, Some(2)));
    let errors = Filter {
        status: StatusFilter::Error,
        ..Filter::default()
    };
    assert_eq!(r.summary(&errors).unwrap().llm_calls, 1);
    let later = Filter {
        from_ns: Some(T0 + 3_000_000 * MS),
        ..Filter::default()
    };
    let s = r.summary(&later).unwrap();
    assert_eq!((s.spans, s.llm_calls), (Some(1), 1));
    let text = Filter {
        text: vec!["REFUND".into(), "5".into(), "days".into()],
        ..Filter::default()
    };
    assert_eq!(
        r.calls_page(&text, CallSort::Start, SortDir::Asc, 0, 10)
            .unwrap()
            .1,
        4
    );
    assert!(
        r.summary(&Filter {
            models: vec!["gpt-[".into()],
            ..Filter::default()
        })
        .is_err()
    );
}

#[test]
fn time_series_percentiles_and_heatmap_bucket_as_documented() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let hour = 3_600_000 * MS;
    let series = r.time_series(&Filter::default(), hour).unwrap();
    let total: u64 = series.iter().map(|p| p.requests).sum();
    assert_eq!(total, 5);
    assert_eq!(
        series.iter().map(|p| p.bucket_start_ns).max(),
        Some(T0 / hour * hour + hour)
    );
    r.exact_percentiles_up_to(0);
    let lat = r.latency_percentiles(&Filter::default(), hour).unwrap();
    assert_eq!(lat.iter().map(|p| p.count).collect::<Vec<_>>(), vec![4, 1]);
    assert!(lat.iter().all(|p| p.approximate));
    assert!((lat[1].p99_ms - 2000.0).abs() <= 20.0, "{lat:?}");
    // Minute buckets are not whole hours: exact.
    let lat = r
        .latency_percentiles(&Filter::default(), 60_000 * MS)
        .unwrap();
    assert!(lat.iter().all(|p| !p.approximate));
    assert!((lat.last().unwrap().p99_ms - 2000.0).abs() < 1e-9);
    let heat = r.latency_heatmap(&Filter::default(), hour).unwrap();
    let edges = &heat.latency_edges_ms;
    // 100 ms to 5 s, each edge within 1 % (on an edge of the latency sketch).
    assert!((edges.first().unwrap() - 100.0).abs() < 1.0, "{edges:?}");
    assert!((edges.last().unwrap() - 5000.0).abs() < 50.0, "{edges:?}");
    // 50 ms is under the first edge; 2000 ms is between edges 6 (1880) and 7 (3066).
    let mut cells: Vec<(usize, u64)> = heat
        .cells
        .iter()
        .map(|c| (c.latency_bucket, c.count))
        .collect();
    cells.sort();
    assert!(cells.contains(&(0, 1)));
    assert!(cells.contains(&(7, 1)), "{cells:?}");
    assert_eq!(cells.iter().map(|c| c.1).sum::<u64>(), 5);
}

#[test]
fn the_traces_list_sorts_by_any_column_and_a_trace_opens_as_a_tree() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let (page, total) = r
        .traces_page(&Filter::default(), TraceSort::Duration, SortDir::Desc, 0, 2)
        .unwrap();
    assert_eq!(total, 3);
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].duration_ns, 2_000 * MS);
    assert_eq!(page[1].llm_calls, 2);
    assert_eq!(page[1].tokens, 2_000_000);
    assert!(!page[1].has_error);
    let (errors_first, _) = r
        .traces_page(&Filter::default(), TraceSort::Status, SortDir::Desc, 0, 1)
        .unwrap();
    assert!(errors_first[0].has_error);

    let tree = r.trace(u128::from_be_bytes([1; 16])).unwrap();
    let shape: Vec<_> = tree
        .spans
        .iter()
        .map(|s| (s.name.as_str(), s.depth))
        .collect();
    assert_eq!(
        shape,
        vec![("span-1-1", 0), ("span-1-2", 1), ("span-1-3", 1)]
    );
    assert_eq!(tree.spans[1].model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert!(r.trace(42).unwrap().spans.is_empty());
}

#[test]
fn top_errors_name_type_model_and_message() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let e = r.top_errors(&Filter::default(), 10).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].error_type.as_str(), e[0].model.as_str(), e[0].count),
        ("RateLimitError", "gpt-4o-mini", 1)
    );
    assert_eq!(
        e[0].example_message.as_deref(),
        Some("RateLimitError: boom")
    );
    assert!((e[0].share - 1.0).abs() < 1e-12);
}

#[test]
fn retention_prunes_the_oldest_and_clear_empties() {
    let store = store_with_known_rows();
    let writer = store.writer().unwrap();
    let pruned = writer.prune_before(T0 + 3_000_000 * MS).unwrap();
    assert_eq!(pruned.spans, 6);
    let mut r = store.reader().unwrap();
    assert_eq!(r.summary(&Filter::default()).unwrap().llm_calls, 1);
    writer.clear_all().unwrap();
    assert_eq!(r.summary(&Filter::default()).unwrap().spans, Some(0));
}

/// Retention deletes in steps (so ingest commits between them): a prune larger than a
/// step, with thousands of spans sharing one start time, still deletes exactly the
/// spans before the cutoff and keeps the rest.
#[test]
fn retention_prunes_more_than_one_step_exactly() {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let spans: Vec<SpanRow> = (0..45_000u32)
        .map(|i| {
            let mut s = span(0, 0, None, 0, 1);
            s.trace_id = [0; 16];
            s.trace_id[..4].copy_from_slice(&i.to_le_bytes());
            // 30,000 spans in the first millisecond, then one per millisecond.
            s.start_ns = T0 + i64::from(i.saturating_sub(30_000)) * MS;
            s
        })
        .collect();
    writer
        .write(Batch {
            spans,
            ..Batch::default()
        })
        .unwrap();
    let pruned = writer.prune_before(T0 + 10_000 * MS).unwrap();
    assert_eq!(pruned.spans, 40_000);
    let mut r = store.reader().unwrap();
    assert_eq!(r.summary(&Filter::default()).unwrap().spans, Some(5_000));
}

/// A GenAI event log record sent apart from its span fills in the call's prompt (the
/// user sees it in the trace), and metric points are counted by name: both read back
/// from the database, not from the writer's report.
#[test]
fn a_database_holds_data_once_any_span_log_or_metric_point_is_stored() {
    let point = MetricPoint {
        time_ns: T0,
        name: "gen_ai.client.operation.duration".into(),
        kind: "histogram".into(),
        count: Some(1),
        ..MetricPoint::default()
    };
    let log = LogRow {
        time_ns: T0,
        event_name: "app.started".into(),
        ..LogRow::default()
    };
    let batches = [
        Batch {
            spans: vec![span(1, 1, None, 0, 10)],
            ..Batch::default()
        },
        Batch {
            logs: vec![log],
            ..Batch::default()
        },
        Batch {
            metrics: vec![point],
            ..Batch::default()
        },
    ];
    for batch in batches {
        let store = Store::open_in_memory().unwrap();
        let writer = store.writer().unwrap();
        assert!(
            !store.reader().unwrap().holds_data().unwrap(),
            "a new database is empty"
        );
        writer.write(batch.clone()).unwrap();
        assert!(
            store.reader().unwrap().holds_data().unwrap(),
            "after {batch:?}"
        );
    }
}

#[test]
fn a_genai_event_log_fills_its_calls_prompt_and_metric_points_are_kept() {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    let mut silent = call(span(7, 1, None, 0, 100), "gpt-4o", 10, 5);
    silent.llm.as_mut().unwrap().prompt = None;
    store_spans(&writer, vec![silent]);
    writer
        .write(Batch {
            logs: vec![LogRow {
                time_ns: T0,
                trace_id: Some([7; 16]),
                span_id: Some([1; 8]),
                event_name: "gen_ai.user.message".into(),
                genai: Some(GenAiEventText::Prompt("user: where is my parcel?".into())),
                ..LogRow::default()
            }],
            metrics: vec![
                MetricPoint {
                    time_ns: T0,
                    name: "gen_ai.client.token.usage".into(),
                    kind: "histogram".into(),
                    count: Some(3),
                    ..MetricPoint::default()
                };
                2
            ],
            ..Batch::default()
        })
        .unwrap();
    let mut r = store.reader().unwrap();
    let tree = r.trace(u128::from_be_bytes([7; 16])).unwrap();
    assert_eq!(
        tree.spans[0].prompt.as_deref(),
        Some("user: where is my parcel?")
    );
    assert_eq!(
        r.metric_names().unwrap(),
        vec![("gen_ai.client.token.usage".to_string(), 2)]
    );
}

#[test]
fn files_reopen_with_their_data_and_wrong_paths_say_why() {
    let dir = std::env::temp_dir().join(format!("store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("a.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        store_spans(&writer, known_rows());
        writer.close().unwrap();
    }
    let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(
        store
            .reader()
            .unwrap()
            .summary(&Filter::default())
            .unwrap()
            .spans,
        Some(7)
    );
    assert!(matches!(store.writer(), Err(StoreError::ReadOnly)));
    drop(store);

    assert!(matches!(
        Store::open(&dir, OpenMode::ReadWrite),
        Err(StoreError::IsDirectory(_))
    ));
    let text = dir.join("notes.txt");
    std::fs::write(&text, "hello, not a database").unwrap();
    let e = Store::open(&text, OpenMode::ReadWrite).err().unwrap();
    assert!(matches!(e, StoreError::NotADatabase(_)), "{e}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "hello, not a database"
    );
    let empty = dir.join("empty.duckdb");
    std::fs::write(&empty, "").unwrap();
    assert!(matches!(
        Store::open(&empty, OpenMode::ReadWrite),
        Err(StoreError::NotADatabase(_))
    ));
    assert!(Store::open(&dir.join("missing.duckdb"), OpenMode::ReadOnly).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pruning_to_a_size_drops_the_oldest_first() {
    let dir = std::env::temp_dir().join(format!("store-size-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&dir.join("s.duckdb"), OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    store_spans(&writer, known_rows());
    // A generous limit keeps everything.
    assert_eq!(writer.prune_to_size(10 << 30).unwrap().spans, 0);
    let mut r = store.reader().unwrap();
    assert_eq!(r.summary(&Filter::default()).unwrap().spans, Some(7));
    // A limit no data fits under removes it all, oldest first, and the file stays usable.
    let pruned = writer.prune_to_size(1).unwrap();
    assert_eq!(pruned.spans, 7);
    assert_eq!(r.summary(&Filter::default()).unwrap().spans, Some(0));
    store_spans(&writer, known_rows());
    assert_eq!(r.summary(&Filter::default()).unwrap().spans, Some(7));
    writer.close().unwrap();
    drop(r);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The inspector's conditions: text in any script, exclusions, error codes, sessions,
/// users, latency, cost and tokens.
#[test]
fn inspector_conditions_select_the_right_calls() {
    let store = Store::open_in_memory().unwrap();
    let w = store.writer().unwrap();
    let with = |row: SpanRow, prompt: &str, session: &str| {
        let mut row = row;
        if let Some(l) = row.llm.as_mut() {
            l.prompt = Some(prompt.into());
            l.session_id = Some(session.into());
            l.user_id = Some(format!("user-of-{session}"));
        }
        row
    };
    w.write(Batch {
        spans: vec![
            with(
                call(span(1, 1, None, 0, 100), "gpt-4o-2024-08-06", 10, 10),
                "Привет, МИР",
                "s1",
            ),
            with(
                call(
                    span(2, 1, None, 0, 3_000),
                    "gpt-4o-2024-08-06",
                    1_000_000,
                    0,
                ),
                "CAFÉ crème",
                "s2",
            ),
            with(
                call(span(3, 1, None, 0, 50), "gpt-4o-2024-08-06", 500, 700),
                "東京タワー needle",
                "s3",
            ),
            with(
                failed(span(4, 1, None, 0, 20), "gpt-4o", "429"),
                "rate limited needle",
                "s4",
            ),
        ],
        ..Batch::default()
    })
    .unwrap();
    let mut r = store.reader().unwrap();
    let count = |r: &mut Reader, f: Filter| {
        r.calls_page(&f, CallSort::Start, SortDir::Asc, 0, 100)
            .unwrap()
            .1
    };
    let text = |t: &[&str]| Filter {
        text: t.iter().map(|s| s.to_string()).collect(),
        ..Filter::default()
    };
    assert_eq!(
        count(&mut r, text(&["привет", "мир"])),
        1,
        "Cyrillic, any case"
    );
    assert_eq!(count(&mut r, text(&["café"])), 1, "accented, any case");
    assert_eq!(count(&mut r, text(&["東京タワー"])), 1, "CJK");
    assert_eq!(count(&mut r, text(&["needle"])), 2);
    let excluding = Filter {
        exclude_text: vec!["RATE LIMITED".into()],
        ..text(&["needle"])
    };
    assert_eq!(count(&mut r, excluding), 1);
    let errors = Filter {
        errors: vec!["429".into()],
        ..Filter::default()
    };
    assert_eq!(count(&mut r, errors), 1);
    let sessions = Filter {
        sessions: vec!["s2".into(), "s3".into()],
        users: vec!["user-of-s3".into()],
        ..Filter::default()
    };
    assert_eq!(count(&mut r, sessions), 1);
    let slow = Filter {
        latency_ms: vec![Bound {
            cmp: Cmp::Gt,
            value: 2_000.0,
        }],
        ..Filter::default()
    };
    assert_eq!(count(&mut r, slow), 1);
    // gpt-4o costs $2.50 per million input tokens: only the 1M-token call is over $1.
    let dear = Filter {
        cost_usd: vec![Bound {
            cmp: Cmp::Gt,
            value: 1.0,
        }],
        ..Filter::default()
    };
    assert_eq!(count(&mut r, dear.clone()), 1);
    assert_eq!(
        r.summary(&dear).unwrap().llm_calls,
        1,
        "every query honours cost"
    );
    let mid_tokens = Filter {
        tokens: vec![
            Bound {
                cmp: Cmp::Ge,
                value: 1_000.0,
            },
            Bound {
                cmp: Cmp::Lt,
                value: 2_000.0,
            },
        ],
        ..Filter::default()
    };
    assert_eq!(count(&mut r, mid_tokens), 1);
}

/// The text index beside a database file answers like a scan (substrings, any case),
/// follows retention, survives a restart and is rebuilt when missing.
#[test]
fn the_text_index_answers_like_a_scan_and_follows_the_data() {
    let dir = std::env::temp_dir().join(format!("store-text-index-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("calls.duckdb");
    let search = |store: &Store, words: &[&str]| {
        let f = Filter {
            text: words.iter().map(|w| w.to_string()).collect(),
            ..Filter::default()
        };
        store
            .reader()
            .unwrap()
            .calls_page(&f, CallSort::Start, SortDir::Asc, 0, 10)
            .unwrap()
            .1
    };
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let w = store.writer().unwrap();
        w.write(Batch {
            spans: known_rows(),
            ..Batch::default()
        })
        .unwrap();
        w.close().unwrap();
        store.sync_text_index().unwrap();
        assert!(store.text_index().unwrap().ready());
        // "Refunds take 5 days.": inside words and across them, any case.
        // The four successful calls of the known rows carry this text.
        assert_eq!(search(&store, &["REFUND"]), 4);
        assert_eq!(search(&store, &["efund", "5 DAYS"]), 4);
        assert_eq!(search(&store, &["policy?"]), 4);
        assert_eq!(search(&store, &["absent-word"]), 0);
    }
    assert!(dir.join("calls.duckdb.search").is_dir());
    {
        // Reopened: the index is still in step; retention removes from it too.
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        store.sync_text_index().unwrap();
        assert_eq!(search(&store, &["refund"]), 4);
        let w = store.writer().unwrap();
        w.prune_before(T0 + 1_000_000 * MS).unwrap();
        assert_eq!(
            search(&store, &["refund"]),
            1,
            "the hour-later claude call remains"
        );
        w.close().unwrap();
    }
    std::fs::remove_dir_all(dir.join("calls.duckdb.search")).unwrap();
    {
        let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        store.sync_text_index().unwrap();
        assert!(
            store.text_index().unwrap().ready(),
            "rebuilt from the table"
        );
        assert_eq!(search(&store, &["refund"]), 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Exports through a temporary file renamed over `path`, as the app and CLI do.
fn export_to(
    r: &mut store::Reader,
    table: ExportTable,
    filter: &Filter,
    format: ExportFormat,
    path: &std::path::Path,
) -> Result<u64, store::StoreError> {
    let mut out = r.output(path, store::Replace::Allowed)?;
    let n = r.export(table, filter, format, &mut out)?;
    out.commit()?;
    Ok(n)
}

#[test]
fn exports_never_write_over_the_database_or_leave_a_half_file() {
    let dir = std::env::temp_dir().join(format!("store-export-guard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let db = dir.join("t.duckdb");
    let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let mut r = store.reader().unwrap();
    let before = std::fs::read(&db).unwrap();
    for target in [
        db.clone(),
        dir.join("sub/../t.duckdb"),
        dir.join("t.duckdb.wal"),
        dir.join("t.duckdb.search/x.csv"),
    ] {
        let e = export_to(
            &mut r,
            ExportTable::Calls,
            &Filter::default(),
            ExportFormat::Parquet,
            &target,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("refusing to write") && e.to_string().contains("open database"),
            "{}: {e}",
            target.display()
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
    // A failed export (a bad filter) leaves an existing file as it was, and no temporary.
    let kept = dir.join("sub/kept.csv");
    std::fs::write(&kept, "old").unwrap();
    let bad = Filter {
        models: vec!["[".into()],
        ..Filter::default()
    };
    assert!(export_to(&mut r, ExportTable::Calls, &bad, ExportFormat::Csv, &kept).is_err());
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "old");
    assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 1);
    // Replacing needs to be asked for.
    let e = r.output(&kept, store::Replace::Never).err().unwrap();
    assert!(e.to_string().contains("already exists"), "{e}");
    drop(r);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exports_write_every_selected_row_in_each_format() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let dir = std::env::temp_dir().join(format!("store-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = duckdb::Connection::open_in_memory().unwrap();
    let count = |sql: String| -> i64 { check.query_row(&sql, [], |row| row.get(0)).unwrap() };
    for (table, rows) in [
        (ExportTable::Spans, 7),
        (ExportTable::Calls, 5),
        (ExportTable::Traces, 3),
    ] {
        for (format, ext) in [
            (ExportFormat::Csv, "csv"),
            (ExportFormat::Json, "json"),
            (ExportFormat::Parquet, "parquet"),
        ] {
            let path = dir.join(format!("{table:?}.{ext}"));
            let n = export_to(&mut r, table, &Filter::default(), format, &path).unwrap();
            assert_eq!(n, rows, "{table:?} {format:?}");
            let read_back = match format {
                ExportFormat::Csv => count(format!(
                    "SELECT count(*) FROM read_csv('{}', header = true)",
                    path.display()
                )),
                ExportFormat::Parquet => count(format!(
                    "SELECT count(*) FROM read_parquet('{}')",
                    path.display()
                )),
                ExportFormat::Json => {
                    let v: serde_json::Value =
                        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                    v.as_array().unwrap().len() as i64
                }
            };
            assert_eq!(read_back, rows as i64, "{table:?} {format:?}");
        }
    }
    // Calls carry their priced cost and hex ids; a filter narrows every table.
    let calls: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("Calls.json")).unwrap()).unwrap();
    let first = &calls[0];
    assert_eq!(first["trace_id"], "01010101010101010101010101010101");
    assert_eq!(first["span_id"], "0202020202020202");
    let summary = r.summary(&Filter::default()).unwrap();
    let exported: f64 = calls
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["cost_usd"].as_f64())
        .sum();
    assert!((exported - summary.cost_usd).abs() < 1e-9);
    assert!(first["start_time"].as_str().unwrap().ends_with('Z'));
    let claude = Filter {
        models: vec!["claude-*".into()],
        ..Filter::default()
    };
    let path = dir.join("claude.csv");
    assert_eq!(
        export_to(
            &mut r,
            ExportTable::Traces,
            &claude,
            ExportFormat::Csv,
            &path
        )
        .unwrap(),
        1
    );
    assert_eq!(
        export_to(
            &mut r,
            ExportTable::Spans,
            &claude,
            ExportFormat::Csv,
            &path
        )
        .unwrap(),
        1
    );
    assert_eq!(
        r.trace_ids(&claude).unwrap(),
        vec![u128::from_be_bytes([3; 16])]
    );
    assert_eq!(r.trace_ids(&Filter::default()).unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database written before spans had classes (schema 2) is still browsed read-only
/// (model calls told apart) and, opened for writing, is brought forward with each
/// span classified by the markers it carries.
#[test]
fn a_schema_2_database_is_browsed_then_migrated_with_span_classes() {
    let dir = std::env::temp_dir().join(format!("store-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.duckdb");
    let _ = std::fs::remove_file(&path);
    let mut agent = span(5, 1, None, 0, 1_000);
    agent.attributes_json = r#"{"openinference.span.kind":"AGENT"}"#.into();
    let mut tool = span(5, 2, Some(1), 10, 100);
    tool.name = "search_tool".into();
    let mut chain = span(5, 3, Some(1), 200, 100);
    chain.name = "tool_router".into();
    chain.attributes_json = r#"{"openinference.span.kind":"CHAIN"}"#.into();
    let llm = call(span(5, 4, Some(1), 400, 300), "gpt-4o", 10, 10);
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        store_spans(&writer, vec![agent, tool, chain, llm]);
        writer.close().unwrap();
    }
    // What the previous release wrote: no class column, version 2.
    common::as_written_by_schema(&path, 2);
    let classes = |store: &Store| -> Vec<SpanClass> {
        let tree = store
            .reader()
            .unwrap()
            .trace(u128::from_be_bytes([5; 16]))
            .unwrap();
        let mut by_id: Vec<(String, SpanClass)> = tree
            .spans
            .iter()
            .map(|s| (s.span_id.clone(), s.class))
            .collect();
        by_id.sort();
        by_id.into_iter().map(|(_, c)| c).collect()
    };
    {
        let old = Store::open(&path, OpenMode::ReadOnly).unwrap();
        assert_eq!(
            classes(&old),
            [
                SpanClass::Other,
                SpanClass::Other,
                SpanClass::Other,
                SpanClass::Llm
            ]
        );
    }
    let migrated = Store::open(&path, OpenMode::ReadWrite).unwrap();
    assert_eq!(
        classes(&migrated),
        [
            SpanClass::Agent,
            SpanClass::Tool,
            SpanClass::Other,
            SpanClass::Llm
        ]
    );
    drop(migrated);
    // The view for people's own DuckDB tools still reads the rewritten table.
    let c = duckdb::Connection::open(&path).unwrap();
    let readable: i64 = c
        .query_row("SELECT count(*) FROM spans_readable", [], |r| r.get(0))
        .unwrap();
    assert_eq!(readable, 4);
    drop(c);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A failed call that carries only the model asked for and a successful one answered
/// by a dated snapshot count as one model: one row with its error rate, the snapshot
/// kept as a detail and priced at its own rate; `model:` matches either name.
#[test]
fn a_models_failures_and_successes_stay_in_one_row_priced_by_the_snapshot() {
    let store = Store::open_in_memory().unwrap();
    let mut table = PriceTable::bundled();
    let price = |input| Price {
        input,
        output: 0.0,
        cache_read: None,
        cache_write: None,
    };
    table.set("acme-1", price(1.0));
    table.set("acme-1-2026-01-01", price(4.0));
    store.set_prices(table);
    let writer = store.writer().unwrap();
    let mut answered = call(span(8, 1, None, 0, 100), "acme-1-2026-01-01", 1_000_000, 0);
    answered.llm.as_mut().unwrap().request_model = Some("acme-1".into());
    let refused = failed(span(8, 2, None, 200, 10), "acme-1", "RateLimitError");
    store_spans(&writer, vec![answered, refused]);
    let mut r = store.reader().unwrap();
    let rows = r.per_model(&Filter::default()).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let m = &rows[0];
    assert_eq!((m.model.as_str(), m.calls, m.errors), ("acme-1", 2, 1));
    assert_eq!(m.served, ["acme-1-2026-01-01"]);
    assert!(
        (m.cost_usd - 4.0).abs() < 1e-9,
        "priced as the snapshot: {}",
        m.cost_usd
    );
    assert_eq!(r.models().unwrap(), ["acme-1"]);
    let calls = |r: &mut Reader, pattern: &str| {
        r.call_summary(&Filter {
            models: vec![pattern.into()],
            ..Filter::default()
        })
        .unwrap()
        .llm_calls
    };
    assert_eq!(calls(&mut r, "acme-1"), 2);
    assert_eq!(calls(&mut r, "acme-1-2026-01-01"), 1);
    assert_eq!(calls(&mut r, "acme-1-*"), 1);
    assert_eq!(calls(&mut r, "acme-*"), 2);
    let series = r.time_series(&Filter::default(), 60_000 * MS).unwrap();
    assert_eq!(
        series.len(),
        1,
        "one point per bucket and model: {series:?}"
    );
    assert_eq!((series[0].requests, series[0].errors), (2, 1));
    assert!((series[0].cost_usd - 4.0).abs() < 1e-9);
}

/// A database of schema 3 (calls counted under the served snapshot) is brought forward:
/// its calls count under the model asked for.
#[test]
fn a_schema_3_database_counts_calls_under_the_model_asked_for_once_migrated() {
    let dir = std::env::temp_dir().join(format!("store-migrate4-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v3.duckdb");
    let _ = std::fs::remove_file(&path);
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        let mut answered = call(span(6, 1, None, 0, 100), "gpt-4o-2024-08-06", 10, 10);
        answered.llm.as_mut().unwrap().request_model = Some("gpt-4o".into());
        store_spans(
            &writer,
            vec![answered, failed(span(6, 2, None, 5, 5), "gpt-4o", "Boom")],
        );
        writer.close().unwrap();
    }
    {
        let c = duckdb::Connection::open(&path).unwrap();
        c.execute_batch("UPDATE llm_calls SET model = coalesce(response_model, request_model);")
            .unwrap();
    }
    common::as_written_by_schema(&path, 3);
    let before = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(
        before
            .reader()
            .unwrap()
            .per_model(&Filter::default())
            .unwrap()
            .len(),
        2
    );
    drop(before);
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let rows = store
        .reader()
        .unwrap()
        .per_model(&Filter::default())
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].model.as_str(), rows[0].calls, rows[0].errors),
        ("gpt-4o", 2, 1)
    );
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each span is stored once however it arrives: split into many requests, out of order,
/// repeated within a request, across requests, and across batches committed together
/// (submitted without waiting), with start times spread over days.
#[test]
fn spans_arriving_split_shuffled_and_repeated_are_stored_once() {
    let store = Store::open_in_memory().unwrap();
    let writer = store.writer().unwrap();
    // A small deterministic generator (xorshift), so a failure reproduces.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let unique: Vec<SpanRow> = (0..3_000u32)
        .map(|i| {
            let mut s = span(0, 0, None, 0, 5);
            s.trace_id[..4].copy_from_slice(&(i / 3).to_le_bytes());
            s.trace_id[15] = 1;
            s.span_id[..4].copy_from_slice(&i.to_le_bytes());
            s.span_id[7] = 1;
            s.start_ns = T0 + (next() % (3 * 86_400_000)) as i64 * MS;
            s.end_ns = s.start_ns + 5 * MS;
            if i % 4 == 0 {
                s = call(s, "gpt-4o", 10, 1);
            }
            s
        })
        .collect();
    // Every span twice, some three times, in a shuffled order.
    let mut deliveries: Vec<SpanRow> = unique.iter().chain(unique.iter()).cloned().collect();
    deliveries.extend(unique.iter().step_by(7).cloned());
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut sent = 0;
    let mut rest = deliveries.as_slice();
    while !rest.is_empty() {
        let n = (1 + next() % 400).min(rest.len() as u64) as usize;
        let (batch, tail) = rest.split_at(n);
        rest = tail;
        let tx = tx.clone();
        writer.submit(
            Batch {
                spans: batch.to_vec(),
                ..Batch::default()
            },
            move |r| tx.send(r.unwrap()).unwrap(),
        );
        sent += 1;
    }
    let reports: Vec<CommitReport> = (0..sent).map(|_| rx.recv().unwrap()).collect();
    let stored: u64 = reports.iter().map(|r| r.spans).sum();
    let duplicates: u64 = reports.iter().map(|r| r.duplicate_spans).sum();
    assert_eq!(stored, 3_000);
    assert_eq!(stored + duplicates, deliveries.len() as u64);
    assert_eq!(reports.iter().map(|r| r.llm_calls).sum::<u64>(), 750);
    let mut r = store.reader().unwrap();
    let s = r.summary(&Filter::default()).unwrap();
    assert_eq!(
        (s.spans, s.traces, s.llm_calls),
        (Some(3_000), Some(1_000), 750)
    );
    assert_eq!(s.input_tokens, 7_500);
}

/// DuckDB shortens a file after a checkpoint when blocks at its end fell free, while
/// its header still counts them: such a file is whole, and opens. A file cut short of
/// blocks in use is refused (`tests/e2e/hostile.rs`).
#[test]
fn a_file_duckdb_shortened_after_freeing_its_last_blocks_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrunk.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        store.writer().unwrap().close().unwrap();
    }
    {
        // A table written last and dropped: its blocks, at the end, fall free.
        let c = duckdb::Connection::open(&path).unwrap();
        for sql in [
            "CREATE TABLE keep AS SELECT repeat('y', 500) || range AS v FROM range(20000)",
            "CHECKPOINT",
            "CREATE TABLE filler AS SELECT repeat('x', 500) || range AS v FROM range(40000)",
            "CHECKPOINT",
            "DROP TABLE filler",
            "CHECKPOINT",
        ] {
            c.execute_batch(sql).unwrap();
        }
    }
    let len = std::fs::metadata(&path).unwrap().len();
    // The newest of the two database headers counts the blocks (little-endian words:
    // checksum, iteration, meta block, free list, block count).
    let counted = {
        let bytes = std::fs::read(&path).unwrap();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let newest = if word(4096 + 8) > word(8192 + 8) {
            4096
        } else {
            8192
        };
        3 * 4096 + word(newest + 32) * 262_144
    };
    assert!(
        len < counted,
        "the file was not shortened below its header's count ({len} of {counted})"
    );
    let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
    assert_eq!(
        store
            .reader()
            .unwrap()
            .summary(&Filter::default())
            .unwrap()
            .spans,
        Some(0)
    );
}

#[test]
fn a_page_past_the_end_still_counts_the_selection() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    // A service filter takes the path that groups spans (not the traces table).
    for filter in [
        Filter {
            services: vec!["svc-a".into()],
            ..Filter::default()
        },
        Filter {
            models: vec!["gpt-4o*".into()],
            ..Filter::default()
        },
    ] {
        let (first, total) = r
            .traces_page(&filter, TraceSort::Start, SortDir::Asc, 0, 100)
            .unwrap();
        assert!(total > 0 && first.len() as u64 == total, "{filter:?}");
        let (past, still) = r
            .traces_page(&filter, TraceSort::Start, SortDir::Asc, total, 100)
            .unwrap();
        assert!(past.is_empty());
        assert_eq!(
            still, total,
            "a page past the end says how many there are: {filter:?}"
        );
    }
}

#[test]
fn traces_read_together_are_the_traces_read_one_by_one() {
    let store = store_with_known_rows();
    let mut r = store.reader().unwrap();
    let mut ids = r.trace_ids(&Filter::default()).unwrap();
    assert_eq!(ids.len(), 3);
    ids.reverse();
    ids.insert(1, 0xdead_beef); // no such trace
    let together = r.traces(&ids).unwrap();
    assert_eq!(together.len(), ids.len());
    for (id, tree) in ids.iter().zip(&together) {
        assert_eq!(tree, &r.trace(*id).unwrap(), "trace {id:x}");
    }
    assert!(together[1].spans.is_empty());
    assert!(together.iter().filter(|t| !t.spans.is_empty()).count() == 3);
}
