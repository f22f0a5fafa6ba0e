//! Inside the calls: each call's time to first token and server phases are kept,
//! selected by `ttft`, `tps` and `stream:` conditions, split into phases for drawing,
//! summed into percentiles; and a file from before they were kept reads them from its
//! stored spans when brought forward.

use store::*;

mod common;
use common::{MS, T0};

/// A chat call of `model` lasting `dur_ms` with `output` tokens and `timing`.
fn call(
    n: u8,
    start_ms: i64,
    dur_ms: i64,
    model: &str,
    output: i64,
    timing: CallTiming,
) -> SpanRow {
    let mut row = common::span(n, 1, None, start_ms, dur_ms);
    row.llm = Some(LlmCall {
        provider: Some("openai".into()),
        operation: Some("chat".into()),
        request_model: Some(model.into()),
        input_tokens: Some(100),
        output_tokens: Some(output),
        timing,
        ..LlmCall::default()
    });
    row
}

fn streamed(ttft_ms: i64) -> CallTiming {
    CallTiming {
        ttft_ns: Some(ttft_ms * MS),
        streamed: Some(true),
        ..CallTiming::default()
    }
}

/// Ten streamed calls (first token after 100…1000 ms, 2 s each, 100 output tokens),
/// two vLLM-timed ones, two not streamed (one saying so).
fn rows() -> Vec<SpanRow> {
    let mut rows: Vec<SpanRow> = (1..=10)
        .map(|i| {
            call(
                i,
                i as i64 * 10,
                2_000,
                "gpt-4o",
                100,
                streamed(i as i64 * 100),
            )
        })
        .collect();
    let vllm = CallTiming {
        ttft_ns: Some(300 * MS),
        queue_ns: Some(100 * MS),
        prefill_ns: Some(200 * MS),
        decode_ns: Some(1_000 * MS),
        streamed: None,
    };
    rows.push(call(11, 200, 1_500, "llama-3-8b", 500, vllm));
    rows.push(call(12, 210, 1_500, "llama-3-8b", 50, vllm));
    rows.push(call(
        13,
        220,
        4_000,
        "gpt-4o",
        40,
        CallTiming {
            streamed: Some(false),
            ..CallTiming::default()
        },
    ));
    rows.push(call(14, 230, 1_000, "gpt-4o", 10, CallTiming::default()));
    rows
}

fn written(dir: &std::path::Path) -> Store {
    let store = Store::open(&dir.join("t.duckdb"), OpenMode::ReadWrite).unwrap();
    store
        .writer()
        .unwrap()
        .write(Batch {
            spans: rows(),
            ..Batch::default()
        })
        .unwrap();
    store
}

/// The trace ids (as the calls page shows them) of the calls `query` selects.
fn selected(r: &mut Reader, query: &str) -> Vec<u8> {
    let mut f = Filter::default();
    Query::parse(query).unwrap().apply(&mut f);
    let (page, total) = r
        .calls_page(&f, CallSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    assert_eq!(total as usize, page.len(), "{query}");
    page.iter()
        .map(|c| u8::from_str_radix(&c.trace_id[..2], 16).unwrap())
        .collect()
}

#[test]
fn calls_are_selected_by_first_token_speed_and_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let store = written(dir.path());
    let mut r = store.reader().unwrap();
    assert_eq!(selected(&mut r, "ttft>650ms"), vec![7, 8, 9, 10]);
    assert_eq!(selected(&mut r, "ttft<=0.3s"), vec![1, 2, 3, 11, 12]);
    // Streamed: said so, or reported a first token (the vLLM calls).
    assert_eq!(
        selected(&mut r, "stream:true"),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    );
    assert_eq!(selected(&mut r, "stream:false"), vec![13, 14]);
    // Speed: 100 tokens in 2 s less the first token; vLLM's decode of 1 s; the whole
    // call for the others (40 tokens in 4 s: 10/s; 10 in 1 s: 10/s).
    // Call 10: 100 / 1.0 s = 100/s; call 1: 100 / 1.9 s ≈ 52.6/s; 11: 500/s; 12: 50/s.
    assert_eq!(selected(&mut r, "tps<=10"), vec![13, 14]);
    assert_eq!(selected(&mut r, "tps>99"), vec![10, 11]);
    assert_eq!(selected(&mut r, "tps>40 tps<53"), vec![1, 12]);
}

#[test]
fn first_token_percentiles_are_those_of_the_calls_that_report_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = written(dir.path());
    let mut r = store.reader().unwrap();
    let s = r.first_token(&Filter::default()).unwrap();
    assert_eq!(s.calls, 12);
    // 100…1000 ms and 300 ms twice: the median of the twelve is 450 ms
    // (quantile_cont interpolates between 400 and 500).
    assert!((s.ttft_ms[0] - 450.0).abs() < 1e-6, "{s:?}");
    assert!(!s.approximate);
    let gpt = s.by_model.iter().find(|m| m.model == "gpt-4o").unwrap();
    assert_eq!(gpt.calls, 10);
    assert!((gpt.ttft_ms[0] - 550.0).abs() < 1e-6);
    // Streamed gpt-4o speeds: 100 tokens over 2 s − ttft; the median of 100/1.4 and
    // 100/1.5 s.
    let median = (100.0 / 1.4 + 100.0 / 1.5) / 2.0;
    assert!(
        (gpt.output_tps_p50.unwrap() - median).abs() < 1e-6,
        "{gpt:?}"
    );
    let llama = s.by_model.iter().find(|m| m.model == "llama-3-8b").unwrap();
    assert_eq!((llama.calls, llama.output_tps_p50), (2, Some(275.0)));
    let series = r
        .first_token_percentiles(&Filter::default(), 3_600_000 * MS)
        .unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].count, 12);
    // The sketch answers the same within 1 % once asked to.
    r.exact_percentiles_up_to(0);
    let mut whole_hour = Filter::default();
    let hour = T0.div_euclid(3_600_000 * MS) * 3_600_000 * MS;
    whole_hour.from_ns = Some(hour);
    whole_hour.to_ns = Some(hour + 3_600_000 * MS);
    let sketched = r.first_token(&whole_hour).unwrap();
    assert!(sketched.approximate);
    assert_eq!(sketched.calls, 12);
    assert!((sketched.ttft_ms[0] - 450.0).abs() <= 4.5, "{sketched:?}");
}

#[test]
fn a_call_in_its_trace_carries_its_timing_and_phases() {
    let dir = tempfile::tempdir().unwrap();
    let store = written(dir.path());
    let mut r = store.reader().unwrap();
    let tree = r.trace(u128::from_be_bytes([11; 16])).unwrap();
    let span = &tree.spans[0];
    assert_eq!(span.timing.queue_ns, Some(100 * MS));
    // 1.5 s: 100 ms queued, 200 ms prefill, 1 s decode, 200 ms else.
    assert_eq!(
        span.phases(),
        Some(CallPhases {
            queue_ns: 100 * MS,
            first_token_ns: 200 * MS,
            decode_ns: 1_000 * MS,
            other_ns: 200 * MS,
        })
    );
    assert_eq!(span.output_tps(), Some(500.0));
    let tree = r.trace(u128::from_be_bytes([4; 16])).unwrap();
    // Streamed, no server phases: first token after 400 ms, the rest generating.
    assert_eq!(
        tree.spans[0].phases(),
        Some(CallPhases {
            queue_ns: 0,
            first_token_ns: 400 * MS,
            decode_ns: 1_600 * MS,
            other_ns: 0,
        })
    );
    let tree = r.trace(u128::from_be_bytes([14; 16])).unwrap();
    assert_eq!(tree.spans[0].phases(), None);
}

#[test]
fn phases_never_exceed_the_duration() {
    // A server clock that disagrees with the client's: phases are cut to fit.
    let timing = CallTiming {
        queue_ns: Some(800),
        prefill_ns: Some(500),
        decode_ns: Some(500),
        ..CallTiming::default()
    };
    let p = CallPhases::of(1_000, &timing).unwrap();
    assert_eq!(
        (p.queue_ns, p.first_token_ns, p.decode_ns, p.other_ns),
        (800, 200, 0, 0)
    );
    // A first token reported after the call ended.
    let late = CallTiming {
        ttft_ns: Some(5_000),
        ..CallTiming::default()
    };
    let p = CallPhases::of(1_000, &late).unwrap();
    assert_eq!((p.first_token_ns, p.decode_ns, p.other_ns), (1_000, 0, 0));
}

#[test]
fn a_schema_10_file_reads_its_calls_timing_from_their_spans_when_brought_forward() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        // As ingest stored them: attributes and events as sent (the timing columns
        // are dropped below, as the previous release had none).
        let mut otel = call(1, 0, 2_000, "gpt-4o", 100, CallTiming::default());
        otel.attributes_json =
            r#"{"gen_ai.request.model":"gpt-4o","gen_ai.response.time_to_first_chunk":0.25,"gen_ai.request.stream":true}"#.into();
        let mut openinference = call(2, 10, 2_000, "gpt-4o", 100, CallTiming::default());
        openinference.attributes_json =
            r#"{"llm.invocation_parameters":"{\"model\": \"gpt-4o\", \"stream\": true}"}"#.into();
        openinference.events_json = format!(
            r#"[{{"time_ns":{},"name":"First Token Stream Event","attributes":{{}}}}]"#,
            T0 + 10 * MS + 420 * MS
        );
        let mut vllm = call(3, 20, 1_500, "llama-3-8b", 500, CallTiming::default());
        vllm.attributes_json = r#"{"gen_ai.latency.time_in_queue":0.1,"gen_ai.latency.time_to_first_token":0.3,"gen_ai.latency.time_in_model_prefill":0.2,"gen_ai.latency.time_in_model_decode":1.0}"#.into();
        let plain = call(4, 30, 1_000, "gpt-4o", 10, CallTiming::default());
        store
            .writer()
            .unwrap()
            .write(Batch {
                spans: vec![otel, openinference, vllm, plain],
                ..Batch::default()
            })
            .unwrap();
    }
    common::as_written_by_schema(&path, 10);
    {
        // Browsed read-only, it has no timing: nothing to show, conditions refused.
        let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
        let mut r = store.reader().unwrap();
        assert_eq!(r.first_token(&Filter::default()).unwrap().calls, 0);
        let mut f = Filter::default();
        Query::parse("ttft>1s").unwrap().apply(&mut f);
        let e = r
            .calls_page(&f, CallSort::Start, SortDir::Asc, 0, 10)
            .unwrap_err();
        assert!(e.to_string().contains("ttft"), "{e}");
        // Its traces still open.
        assert_eq!(
            r.trace(u128::from_be_bytes([3; 16])).unwrap().spans.len(),
            1
        );
    }
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let mut r = store.reader().unwrap();
    let timing =
        |r: &mut Reader, n: u8| r.trace(u128::from_be_bytes([n; 16])).unwrap().spans[0].timing;
    assert_eq!(
        timing(&mut r, 1),
        CallTiming {
            ttft_ns: Some(250 * MS),
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    assert_eq!(
        timing(&mut r, 2),
        CallTiming {
            ttft_ns: Some(420 * MS),
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    assert_eq!(
        timing(&mut r, 3),
        CallTiming {
            ttft_ns: Some(300 * MS),
            queue_ns: Some(100 * MS),
            prefill_ns: Some(200 * MS),
            decode_ns: Some(1_000 * MS),
            streamed: None,
        }
    );
    assert_eq!(timing(&mut r, 4), CallTiming::default());
    let s = r.first_token(&Filter::default()).unwrap();
    assert_eq!(s.calls, 3);
    assert_eq!(selected(&mut r, "ttft>260ms"), vec![2, 3]);
}
