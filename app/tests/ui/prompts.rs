//! The Prompts view against a database of calls made from four known templates: each
//! pattern's figures as the store computes them, ranked by cost and by calls, the
//! opened template with its models compared, and its calls listed in the Inspector.

use super::*;

/// 2026-03-02 08:00 UTC, so that snapshots are the same on every run.
const T0: i64 = 1_772_438_400_000_000_000;
const MINUTE: i64 = 60_000_000_000;

/// What each template costs a call, and the prompts it makes (`i`: the call's number).
type Template = (f64, fn(u64) -> String);

const TEMPLATES: [Template; 4] = [
    (0.004, |i| {
        format!(
            "system: You are the support triage assistant of Acme. Classify the ticket as billing, shipping, account or technical. Reply with JSON only.\n\nuser: Ticket #{} from user{}@example.com: my {} stopped working after the update",
            1000 + i,
            i % 37,
            ["phone", "router", "laptop", "account"][i as usize % 4]
        )
    }),
    (0.02, |i| {
        format!(
            "system: You summarize documents for busy executives in at most three bullet points.\n\nuser: Summarize the following document:\nQuarter {} revenue grew {} percent while costs in region {} fell.\nFocus on risks.",
            i % 4 + 1,
            i % 17,
            ["north", "south", "east"][i as usize % 3]
        )
    }),
    (0.001, |i| {
        format!(
            "user: Look up order {:08x} placed by customer {} and tell me its status and the expected delivery date.",
            i * 7919,
            i * 13
        )
    }),
    (0.002, |i| {
        format!(
            "system: You are Ava, the friendly assistant of Contoso Bank. Be concise and polite.\n\nuser: {}",
            [
                "can I change my card limit",
                "where is the nearest branch open on saturday",
                "my transfer from yesterday has not arrived yet, what should I do",
                "hello"
            ][i as usize % 4]
        )
    }),
];

/// 400 calls over two hours: the templates at different rates, on two models (the
/// first template's calls on gpt-4o-mini fail one time in ten).
fn prompts_database(dir: &Scratch) -> PathBuf {
    let db = dir.path("prompts.duckdb");
    let store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let writer = store.writer().unwrap();
    let mut spans = Vec::new();
    for i in 0..400u64 {
        let t = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3][i as usize % 10];
        let (cost, prompt) = TEMPLATES[t];
        let model = if i % 3 == 0 { "gpt-4o" } else { "gpt-4o-mini" };
        let rate = if model == "gpt-4o" { 10.0 } else { 1.0 };
        let mut trace_id = [0u8; 16];
        trace_id[..8].copy_from_slice(&(i + 1).to_be_bytes());
        let start_ns = T0 + (i as i64 * 2 * MINUTE) / 7;
        let failed = t == 0 && model == "gpt-4o-mini" && i % 10 == 1;
        spans.push(store::SpanRow {
            trace_id,
            span_id: (i + 1).to_be_bytes(),
            name: "chat".into(),
            kind: 3,
            start_ns,
            end_ns: start_ns + 300_000_000 + (i as i64 % 9) * 100_000_000 * (rate as i64),
            status: if failed {
                store::StatusCode::Error
            } else {
                store::StatusCode::Ok
            },
            service: "support-app".into(),
            attributes_json: "{}".into(),
            resource_json: "{}".into(),
            events_json: "[]".into(),
            links_json: "[]".into(),
            llm: Some(store::LlmCall {
                operation: Some("chat".into()),
                provider: Some("openai".into()),
                request_model: Some(model.into()),
                input_tokens: Some(400 + i as i64 % 50),
                output_tokens: Some(80),
                reported_cost_usd: Some(cost * rate),
                error_type: failed.then(|| "RateLimitError".into()),
                prompt: Some(prompt(i)),
                response: Some("ok".into()),
                ..store::LlmCall::default()
            }),
            ..store::SpanRow::default()
        });
    }
    writer
        .write(store::Batch {
            spans,
            ..Default::default()
        })
        .unwrap();
    writer.close().unwrap();
    db
}

fn shown(h: &Harness<'_, ObservatoryApp>, text: &str) -> bool {
    h.query_all_by_label(text).next().is_some()
}

#[test]
fn the_prompts_view_ranks_templates_and_compares_models_on_one() {
    let dir = Scratch::new("prompts-view");
    let db = prompts_database(&dir);
    let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let (by_cost, total) = r
        .prompt_patterns(&Filter::default(), store::PatternSort::Cost, 50)
        .unwrap();
    let (by_calls, _) = r
        .prompt_patterns(&Filter::default(), store::PatternSort::Calls, 50)
        .unwrap();
    assert_eq!(total, 4, "{by_cost:#?}");
    let top = by_cost[0].clone();
    let top_id = top.id.unwrap();
    let on_top = r
        .per_model(&Filter {
            patterns: vec![top_id],
            ..Filter::default()
        })
        .unwrap();
    drop(r);
    drop(store);
    assert!(
        top.template.starts_with("system: You summarize documents"),
        "{}",
        top.template
    );

    let mut h = harness(&db);
    click_range(&mut h, "All");
    h.get_by_role_and_label(Role::Button, "Prompts").click();
    wait_for(&mut h, "the patterns", |h| shown(h, "Prompt patterns (4)"));
    // Ranked by cost: the rows in the store's order, each with its figures.
    let row_ids = |h: &Harness<'_, ObservatoryApp>| -> Vec<String> {
        h.root()
            .children_recursive()
            .filter(|n| n.accesskit_node().role() == Role::Row)
            .filter_map(|n| n.accesskit_node().label())
            .collect()
    };
    let expected: Vec<String> = by_cost
        .iter()
        .map(|p| {
            p.id.map_or("calls without a pattern".into(), |id| {
                format!("pattern {id}")
            })
        })
        .collect();
    assert_eq!(row_ids(&h), expected);
    for p in &by_cost {
        let value = h
            .get_by_label(&format!("pattern {}", p.id.unwrap()))
            .accesskit_node()
            .value()
            .unwrap();
        for figure in [
            format::integer(p.calls),
            format::usd(p.cost_usd),
            format::percent(p.cost_share),
            format::percent(p.error_rate()),
        ] {
            assert!(value.contains(&figure), "{figure} not in {value}");
        }
    }
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "prompts_view");

    // Ranked by calls: the busiest template first.
    h.get_by_role_and_label(Role::Button, "Calls").click();
    wait_for(&mut h, "the ranking by calls", |h| {
        row_ids(h).first() == Some(&format!("pattern {}", by_calls[0].id.unwrap()))
    });

    // The costliest template opened: its text, its two models side by side.
    h.get_by_label(&format!("pattern {top_id}")).click();
    wait_for(&mut h, "the models on the pattern", |h| {
        shown(h, "Models on this prompt")
            && h.query_by_value_contains_text("On this prompt:").is_some()
    });
    assert_eq!(on_top.len(), 2);
    for m in &on_top {
        assert!(shown(&h, &m.model), "{} not listed", m.model);
        assert!(
            shown(&h, &format::usd(m.cost_usd / m.calls as f64)),
            "{} cost per call",
            m.model
        );
    }
    assert!(
        h.query_by_value_contains_text("gpt-4o-mini costs 10.0× less per call than gpt-4o")
            .is_some()
    );
    h.remove_cursor();
    h.run_steps(2);
    snapshot_settled(&mut h, "prompts_view_pattern");

    // Its calls, one click away in the Inspector.
    h.get_by_label(&format!("List its calls (pattern:{top_id})"))
        .click();
    let matching = format!("{} matching calls", format::integer(top.calls));
    wait_for(&mut h, "the pattern's calls", |h| {
        h.query_by_value_contains_text(&matching).is_some()
    });
    assert_eq!(
        h.get_by_role_and_label(Role::TextInput, "Query")
            .accesskit_node()
            .value()
            .as_deref(),
        Some(format!("pattern:{top_id}").as_str())
    );
}
