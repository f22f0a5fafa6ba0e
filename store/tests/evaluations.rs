//! Evaluations, annotations and feedback: results arrive before or after the calls
//! they judge (by span ids or by response id) and land on them; a result sent twice is
//! stored once; trace and session annotations count for their calls; the evaluator
//! figures, per-model means, worst-judged calls and `eval:`/`feedback:` conditions are
//! exact; feedback given in the app replaces itself, is removed when emptied, and
//! survives reopening the file.

use store::*;

mod common;
use common::{MS, Rng, T0};

/// An LLM call alone in trace `n` (span `n`), asking `model`, answered as `resp-n`.
fn call(n: u8, model: &str, session: Option<&str>) -> SpanRow {
    SpanRow {
        name: format!("chat {model}"),
        kind: 3,
        session_id: session.map(str::to_string),
        llm: Some(LlmCall {
            request_model: Some(model.into()),
            input_tokens: Some(10),
            output_tokens: Some(5),
            prompt: Some(format!("user: question {n}")),
            response: Some(format!("assistant: answer {n}")),
            response_id: Some(format!("resp-{n}")),
            session_id: session.map(str::to_string),
            ..LlmCall::default()
        }),
        ..common::span(n, n, None, n as i64 * 1000, 500)
    }
}

fn result(name: &str, score: Option<f64>, label: Option<&str>) -> EvaluationRow {
    EvaluationRow {
        time_ns: T0 + 60_000 * MS,
        name: name.into(),
        score,
        label: label.map(str::to_string),
        annotator: "LLM".into(),
        ..EvaluationRow::default()
    }
}

/// A `gen_ai.evaluation.result` log record carrying `e`.
fn event(e: EvaluationRow) -> LogRow {
    LogRow {
        time_ns: e.time_ns,
        trace_id: e.trace_id,
        span_id: e.span_id,
        event_name: "gen_ai.evaluation.result".into(),
        service: "evaluator".into(),
        body_json: "null".into(),
        attributes_json: format!("{{\"gen_ai.evaluation.name\":\"{}\"}}", e.name),
        resource_json: "{}".into(),
        evaluation: Some(e),
        ..LogRow::default()
    }
}

fn on_call(n: u8, e: EvaluationRow) -> EvaluationRow {
    EvaluationRow {
        trace_id: Some([n; 16]),
        span_id: Some([n; 8]),
        ..e
    }
}

fn by_response(n: u8, e: EvaluationRow) -> EvaluationRow {
    EvaluationRow {
        response_id: Some(format!("resp-{n}")),
        ..e
    }
}

fn logs(writer: &Writer, logs: Vec<LogRow>) -> CommitReport {
    writer
        .write(Batch {
            logs,
            ..Batch::default()
        })
        .unwrap()
}

/// Calls 1 and 3 ask gpt-4o, call 2 claude; call 3 is in session `s-1`.
/// relevance: call 1 = 0.2 "irrelevant" (by ids, before the call), call 2 = 0.9 (by
/// response id, before the call), call 3 = 0.6 (on the span itself); toxicity: call 1
/// = 0 (by response id, after the call); helpfulness "good" on trace 3; csat 4 on
/// session s-1; the first result sent again.
fn judged_store(store: &Store) {
    let writer = store.writer().unwrap();
    let early = vec![
        event(on_call(
            1,
            result("relevance", Some(0.2), Some("irrelevant")),
        )),
        event(by_response(2, result("relevance", Some(0.9), None))),
    ];
    assert_eq!(logs(&writer, early.clone()).evaluations, 2);
    let mut third = call(3, "gpt-4o", Some("s-1"));
    third.evaluations = vec![
        on_call(3, result("relevance", Some(0.6), None)),
        EvaluationRow {
            target: EvalTarget::Trace,
            trace_id: Some([3; 16]),
            ..result("helpfulness", None, Some("good"))
        },
        EvaluationRow {
            target: EvalTarget::Session,
            session_id: Some("s-1".into()),
            annotator: "HUMAN".into(),
            ..result("csat", Some(4.0), None)
        },
    ];
    let report = writer
        .write(Batch {
            spans: vec![
                call(1, "gpt-4o", None),
                call(2, "claude-sonnet", None),
                third,
            ],
            ..Batch::default()
        })
        .unwrap();
    assert_eq!(report.evaluations, 3);
    let late = logs(
        &writer,
        vec![
            event(by_response(1, result("toxicity", Some(0.0), None))),
            early[0].clone(),
            early[1].clone(),
        ],
    );
    assert_eq!(late.evaluations, 1, "the two sent again are stored once");
    writer.close().unwrap();
}

fn calls_matching(r: &mut Reader, query: &str) -> (Vec<String>, u64) {
    let mut f = Filter::default();
    Query::parse(query).unwrap().apply(&mut f);
    let (rows, total) = r
        .calls_page(&f, CallSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    (rows.into_iter().map(|c| c.span_id).collect(), total)
}

fn span_hex(n: u8) -> String {
    format!("{n:02x}").repeat(8)
}

#[test]
fn results_land_on_their_calls_whatever_the_order_and_are_counted_exactly() {
    let store = Store::open_in_memory().unwrap();
    judged_store(&store);
    let mut r = store.reader().unwrap();
    let all = r.evaluators(&Filter::default()).unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["relevance", "csat", "helpfulness", "toxicity"]);
    let relevance = &all[0];
    assert_eq!(relevance.evaluations, 3);
    assert_eq!(relevance.calls, 3);
    assert!((relevance.mean_score.unwrap() - (0.2 + 0.9 + 0.6) / 3.0).abs() < 1e-9);
    assert_eq!(relevance.labels, vec![("irrelevant".to_string(), 1)]);
    let mut bins = vec![0; SCORE_BINS];
    (bins[2], bins[6], bins[9]) = (1, 1, 1);
    assert_eq!(relevance.bins, bins);
    assert_eq!((relevance.bins_from, relevance.bins_to), (0.0, 1.0));
    let csat = &all[1];
    assert_eq!((csat.by_people, csat.calls, csat.bins_to), (1, 0, 4.0));
    assert_eq!(
        csat.bins[SCORE_BINS - 1],
        1,
        "the top score is in the last bin"
    );
    assert_eq!(all[3].evaluations, 1, "found by response id after its call");

    // A call-level condition selecting every call reads through the calls, as finer
    // selections do; the answer is the one read from the results alone.
    let every_call = Filter {
        latency_ms: vec![Bound {
            cmp: Cmp::Ge,
            value: 0.0,
        }],
        ..Filter::default()
    };
    assert_eq!(r.evaluators(&every_call).unwrap(), all);
    assert_eq!(
        r.evaluations_by_model(&every_call).unwrap(),
        r.evaluations_by_model(&Filter::default()).unwrap()
    );
    let gpt = Filter {
        models: vec!["gpt-4o".into()],
        ..Filter::default()
    };
    let selected = r.evaluators(&gpt).unwrap();
    assert_eq!(selected[0].name, "relevance");
    assert_eq!(selected[0].evaluations, 2);

    let by_model = r.evaluations_by_model(&Filter::default()).unwrap();
    let relevance: Vec<(&str, u64, f64)> = by_model
        .iter()
        .filter(|m| m.name == "relevance")
        .map(|m| (m.model.as_str(), m.evaluations, m.mean_score.unwrap()))
        .collect();
    assert_eq!(relevance.len(), 2);
    assert_eq!((relevance[0].0, relevance[0].1), ("gpt-4o", 2));
    assert!((relevance[0].2 - 0.4).abs() < 1e-9);
    assert_eq!(relevance[1], ("claude-sonnet", 1, 0.9));

    let worst = r.worst_judged(&Filter::default(), "relevance", 10).unwrap();
    let order: Vec<(String, Option<f64>)> =
        worst.iter().map(|w| (w.span_id.clone(), w.score)).collect();
    assert_eq!(
        order,
        vec![
            (span_hex(1), Some(0.2)),
            (span_hex(3), Some(0.6)),
            (span_hex(2), Some(0.9))
        ]
    );
    assert_eq!(worst[0].label.as_deref(), Some("irrelevant"));
    // What the user asked: the latest user message, not the prompt's roles.
    assert_eq!(worst[0].prompt_excerpt.as_deref(), Some("question 1"));

    let trend = r
        .evaluation_trend(&Filter::default(), 3_600_000 * MS)
        .unwrap();
    let relevance_points: u64 = trend
        .iter()
        .filter(|p| p.name == "relevance")
        .map(|p| p.evaluations)
        .sum();
    assert_eq!(relevance_points, 3);

    for (query, expected) in [
        ("eval:relevance<0.5", vec![span_hex(1)]),
        ("eval:Relevance>=0.6", vec![span_hex(2), span_hex(3)]),
        ("eval:relevance=IRRELEVANT", vec![span_hex(1)]),
        ("eval:helpfulness=good", vec![span_hex(3)]),
        ("eval:csat>3", vec![span_hex(3)]),
        ("eval:toxicity", vec![span_hex(1)]),
        ("eval:toxicity eval:relevance>0.5", vec![]),
        ("eval:nobody", vec![]),
    ] {
        let (ids, total) = calls_matching(&mut r, query);
        assert_eq!(ids, expected, "{query}");
        assert_eq!(total, expected.len() as u64, "{query}");
    }

    let said = r
        .trace_evaluations(&[u128::from_be_bytes([3; 16])])
        .unwrap();
    let mut names: Vec<(&str, EvalTarget)> =
        said.iter().map(|e| (e.name.as_str(), e.target)).collect();
    names.sort_by_key(|(n, _)| *n);
    assert_eq!(
        names,
        [
            ("csat", EvalTarget::Session),
            ("helpfulness", EvalTarget::Trace),
            ("relevance", EvalTarget::Span)
        ]
    );
    assert!(said.iter().all(|e| !e.given_here));
}

#[test]
fn feedback_replaces_itself_filters_and_survives_reopening() {
    let dir = std::env::temp_dir().join(format!("store-feedback-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feedback.duckdb");
    let give = |store: &Store, thumbs_up: Option<bool>, label: Option<&str>| {
        let writer = store.writer().unwrap();
        writer
            .write(Batch {
                feedback: vec![Feedback {
                    time_ns: T0 + 90_000 * MS,
                    target: EvalTarget::Span,
                    trace_id: Some([2; 16]),
                    span_id: Some([2; 8]),
                    thumbs_up,
                    label: label.map(str::to_string),
                    note: label.map(|l| format!("note on {l}")),
                    ..Feedback::default()
                }],
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    };
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        judged_store(&store);
        give(&store, Some(false), Some("made up"));
        let mut r = store.reader().unwrap();
        assert_eq!(
            calls_matching(&mut r, "feedback:down"),
            (vec![span_hex(2)], 1)
        );
        assert_eq!(calls_matching(&mut r, "feedback:up").1, 0);
        assert_eq!(
            calls_matching(&mut r, "feedback:\"made up\""),
            (vec![span_hex(2)], 1)
        );
        give(&store, Some(true), Some("fine after all"));
        assert_eq!(calls_matching(&mut r, "feedback:down").1, 0);
        assert_eq!(
            calls_matching(&mut r, "feedback:up"),
            (vec![span_hex(2)], 1)
        );
    }
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let mut r = store.reader().unwrap();
    let said = r
        .trace_evaluations(&[u128::from_be_bytes([2; 16])])
        .unwrap();
    let feedback: Vec<&Evaluation> = said.iter().filter(|e| e.name == FEEDBACK).collect();
    assert_eq!(feedback.len(), 1, "replaced, not added: {said:?}");
    assert!(feedback[0].given_here);
    assert_eq!(feedback[0].score, Some(1.0));
    assert_eq!(feedback[0].label.as_deref(), Some("fine after all"));
    assert_eq!(
        feedback[0].explanation.as_deref(),
        Some("note on fine after all")
    );
    assert_eq!(feedback[0].annotator.as_deref(), Some("HUMAN"));
    let people = r.evaluators(&Filter::default()).unwrap();
    let fb = people.iter().find(|e| e.name == FEEDBACK).unwrap();
    assert_eq!((fb.evaluations, fb.by_people), (1, 1));
    give(&store, None, None);
    assert_eq!(calls_matching(&mut r, "feedback:any").1, 0, "removed");
    drop(r);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_schema_8_file_reads_its_calls_response_ids_when_opened_for_writing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.duckdb");
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        let mut sent = call(4, "gpt-4o", None);
        sent.attributes_json =
            r#"{"gen_ai.request.model":"gpt-4o","gen_ai.response.id":"chatcmpl-4"}"#.into();
        writer
            .write(Batch {
                spans: vec![sent],
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    // What an earlier release wrote: no agent-run tables, no evaluations, no response
    // ids, version 8.
    common::as_written_by_schema(&path, 8);
    {
        let old = Store::open(&path, OpenMode::ReadOnly).unwrap();
        let err = old
            .reader()
            .unwrap()
            .evaluators(&Filter::default())
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("schema version 9; this file is at 8"),
            "{err}"
        );
    }
    let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    let judged = EvaluationRow {
        response_id: Some("chatcmpl-4".into()),
        ..result("relevance", Some(0.75), None)
    };
    logs(&writer, vec![event(judged)]);
    writer.close().unwrap();
    let worst = store
        .reader()
        .unwrap()
        .worst_judged(&Filter::default(), "relevance", 5)
        .unwrap();
    assert_eq!(worst.len(), 1);
    assert_eq!(worst[0].span_id, span_hex(4));
}

/// Both ways (the kept hours, the results themselves) give the same evaluator and
/// per-model figures: counts exactly, means to rounding.
fn compare_evaluations(r: &mut Reader, filter: &Filter, what: &str) {
    let mut answers = Vec::new();
    for rollups in [true, false] {
        r.use_rollups(rollups);
        answers.push((
            r.evaluators(filter).unwrap(),
            r.evaluations_by_model(filter).unwrap(),
        ));
    }
    r.use_rollups(true);
    let ((kept, kept_models), (raw, raw_models)) = (&answers[0], &answers[1]);
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9,
        (a, b) => a == b,
    };
    assert_eq!(kept.len(), raw.len(), "{what}: {kept:?} {raw:?}");
    for (k, w) in kept.iter().zip(raw) {
        assert!(close(k.mean_score, w.mean_score), "{what}: {k:?} {w:?}");
        let k = EvaluatorRow {
            mean_score: w.mean_score,
            ..k.clone()
        };
        assert_eq!(&k, w, "{what}");
    }
    assert_eq!(kept_models.len(), raw_models.len(), "{what}");
    for (k, w) in kept_models.iter().zip(raw_models) {
        assert!(close(k.mean_score, w.mean_score), "{what}: {k:?} {w:?}");
        assert_eq!(
            (&k.name, &k.model, k.evaluations, &k.top_label),
            (&w.name, &w.model, w.evaluations, &w.top_label),
            "{what}"
        );
    }
}

/// The hourly evaluation rollup the writer keeps answers as the results do: random
/// results (by span ids or by response id, before or after their calls, sent twice,
/// judged again), feedback given, changed and removed in the app, a range cutting
/// hours in two, and after pruning.
#[test]
fn kept_evaluation_hours_answer_as_the_results_do() {
    for seed in [3u64, 11, 29] {
        let mut rng = Rng(seed);
        let store = Store::open_in_memory().unwrap();
        let writer = store.writer().unwrap();
        let models = ["gpt-4o", "claude-sonnet", "gpt-4o-mini"];
        let calls: Vec<SpanRow> = (1..=120u8)
            .map(|n| {
                let mut c = call(n, models[rng.below(3) as usize], None);
                // Spread over three hours.
                let start = T0 + rng.below(3 * 3_600_000) as i64 * MS;
                c.end_ns = start + (c.end_ns - c.start_ns);
                c.start_ns = start;
                c
            })
            .collect();
        let mut results = Vec::new();
        for n in 1..=120u8 {
            for _ in 0..rng.below(3) {
                let name = ["relevance", "hallucination"][rng.below(2) as usize];
                let score = (rng.below(4) > 0).then(|| rng.below(101) as f64 / 100.0);
                let label = ["good", "bad", "meh"][rng.below(3) as usize];
                let mut e = result(name, score, (rng.below(3) > 0).then_some(label));
                e.time_ns += rng.below(1000) as i64 * MS;
                results.push(if rng.below(3) == 0 {
                    by_response(n, e)
                } else {
                    on_call(n, e)
                });
            }
        }
        // Half of the results before their calls, then the calls in two parts, then
        // the rest and a few sent again.
        let (early, late) = results.split_at(results.len() / 2);
        logs(&writer, early.iter().cloned().map(event).collect());
        let (first, second) = calls.split_at(60);
        for part in [first, second] {
            writer
                .write(Batch {
                    spans: part.to_vec(),
                    ..Batch::default()
                })
                .unwrap();
        }
        let mut again: Vec<LogRow> = late.iter().cloned().map(event).collect();
        again.extend(early.iter().take(5).cloned().map(event));
        logs(&writer, again);
        // Feedback on some calls, then changed on a few and removed on others.
        let feedback = |n: u8, thumbs_up: Option<bool>, label: &str| Feedback {
            time_ns: T0 + 7_200_000 * MS,
            target: EvalTarget::Span,
            trace_id: Some([n; 16]),
            span_id: Some([n; 8]),
            thumbs_up,
            label: (!label.is_empty()).then(|| label.to_string()),
            ..Feedback::default()
        };
        for round in [
            (1..=30u8)
                .map(|n| feedback(n, Some(n % 2 == 0), "first"))
                .collect::<Vec<_>>(),
            vec![
                feedback(2, Some(false), "changed"),
                feedback(3, None, ""),
                feedback(4, Some(true), "changed"),
            ],
        ] {
            writer
                .write(Batch {
                    feedback: round,
                    ..Batch::default()
                })
                .unwrap();
        }
        let mut r = store.reader().unwrap();
        let range = Filter {
            from_ns: Some(T0 + 1_800_000 * MS),
            to_ns: Some(T0 + 9_000_000 * MS),
            ..Filter::default()
        };
        for (what, filter) in [("all time", Filter::default()), ("a range", range.clone())] {
            compare_evaluations(&mut r, &filter, &format!("seed {seed}, {what}"));
        }
        writer.checkpoint().unwrap();
        writer.prune_before(T0 + 4_000_000 * MS).unwrap();
        for (what, filter) in [("all time", Filter::default()), ("a range", range)] {
            compare_evaluations(&mut r, &filter, &format!("seed {seed}, pruned, {what}"));
        }
        writer.close().unwrap();
    }
}
