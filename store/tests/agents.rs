//! Agents and tools: each agent's runs with the calls and tool executions inside them,
//! each tool's executions with the agents that used it.

use store::Queries as _;
use store::*;

mod common;
use common::{MS, Rng, T0, span};

fn agent(mut row: SpanRow, name: &str, failed: bool) -> SpanRow {
    row.class = SpanClass::Agent;
    row.entity = Some(name.into());
    if failed {
        row.status = StatusCode::Error;
    }
    row
}

fn tool(mut row: SpanRow, name: &str, failed: bool) -> SpanRow {
    row.class = SpanClass::Tool;
    row.entity = Some(name.into());
    if failed {
        row.status = StatusCode::Error;
    }
    row
}

fn call(mut row: SpanRow, input: i64) -> SpanRow {
    row.llm = Some(LlmCall {
        request_model: Some("gpt-4o".into()),
        response_model: Some("gpt-4o-2024-08-06".into()),
        input_tokens: Some(input),
        output_tokens: Some(0),
        ..LlmCall::default()
    });
    row
}

/// `support` runs twice (the second fails: a failed `lookup`, a `refund`), `planner`
/// once; a span after a run in its trace is not inside it; `orphan` runs in no agent.
fn agents_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let mut prices = PriceTable::default();
    prices.set(
        "gpt-4o-2024-08-06",
        Price {
            input: 2.0,
            output: 0.0,
            cache_read: None,
            cache_write: None,
        },
    );
    store.set_prices(prices);
    let writer = store.writer().unwrap();
    writer
        .write(Batch {
            spans: vec![
                agent(span(1, 1, None, 0, 1_000), "support", false),
                tool(span(1, 2, Some(1), 100, 100), "lookup", false),
                call(span(1, 3, Some(1), 300, 300), 1_000_000),
                // After the run: not inside it.
                call(span(1, 4, None, 2_000, 100), 1_000_000),
                agent(span(2, 1, None, 0, 500), "support", true),
                call(span(2, 2, Some(1), 10, 100), 500_000),
                tool(span(2, 3, Some(1), 200, 50), "lookup", true),
                tool(span(2, 4, Some(1), 300, 50), "refund", false),
                agent(span(3, 1, None, 0, 300), "planner", false),
                tool(span(3, 2, Some(1), 10, 20), "lookup", false),
                tool(span(4, 1, None, 0, 10), "orphan", false),
            ],
            ..Batch::default()
        })
        .unwrap();
    writer.close().unwrap();
    store
}

#[test]
fn agents_count_their_runs_and_what_happened_inside() {
    let store = agents_store();
    let mut r = store.reader().unwrap();
    let agents = r.agents(&Filter::default()).unwrap();
    let names: Vec<&str> = agents.iter().map(|a| a.agent.as_str()).collect();
    assert_eq!(names, ["support", "planner"]);
    let support = &agents[0];
    assert_eq!(
        (support.runs, support.failed_runs, support.max_steps),
        (2, 1, 3)
    );
    assert_eq!(support.llm_calls_per_run, 1.0);
    assert_eq!(support.tool_calls_per_run, 1.5);
    assert_eq!(support.tokens_per_run, 750_000.0);
    // 1M tokens at $2 and 0.5M at $2, over two runs.
    assert!((support.cost_per_run - 1.5).abs() < 1e-9, "{support:?}");
    assert_eq!((support.p50_ms, support.p95_ms), (750.0, 975.0));
    let planner = &agents[1];
    assert_eq!(
        (
            planner.runs,
            planner.tool_calls_per_run,
            planner.llm_calls_per_run
        ),
        (1, 1.0, 0.0)
    );

    let runs = r.agent_runs(&Filter::default(), "support", 10).unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].trace_id, trace_id_hex(u128::from_be_bytes([2; 16])));
    assert_eq!(
        (
            runs[0].steps,
            runs[0].llm_calls,
            runs[0].tool_calls,
            runs[0].failed
        ),
        (3, 1, 2, true)
    );
    assert_eq!((runs[1].steps, runs[1].tokens), (2, 1_000_000));

    // A trace names its agents and tools.
    let tree = r.trace(u128::from_be_bytes([2; 16])).unwrap();
    let named: Vec<(SpanClass, Option<&str>)> = tree
        .spans
        .iter()
        .map(|s| (s.class, s.entity.as_deref()))
        .collect();
    assert_eq!(
        named,
        [
            (SpanClass::Agent, Some("support")),
            (SpanClass::Llm, None),
            (SpanClass::Tool, Some("lookup")),
            (SpanClass::Tool, Some("refund")),
        ]
    );

    // A time range selects runs by their start.
    let later = Filter {
        from_ns: Some(T0 + 1),
        ..Filter::default()
    };
    assert!(r.agents(&later).unwrap().is_empty());
}

#[test]
fn tools_count_executions_failures_and_the_agents_using_them() {
    let store = agents_store();
    let mut r = store.reader().unwrap();
    let tools = r.tools(&Filter::default()).unwrap();
    let summary: Vec<(&str, u64, u64, Vec<&str>)> = tools
        .iter()
        .map(|t| {
            (
                t.tool.as_str(),
                t.calls,
                t.errors,
                t.agents.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("lookup", 3, 1, vec!["planner", "support"]),
            ("orphan", 1, 0, vec![]),
            ("refund", 1, 0, vec!["support"]),
        ]
    );
    let lookup = &tools[0];
    assert!((lookup.avg_ms - (100.0 + 50.0 + 20.0) / 3.0).abs() < 1e-9);
}

/// The inspector's `agent:`, `tool:` and `kind:` conditions select the calls of the
/// traces in which that agent ran, that tool executed, that kind of work happened;
/// `session:` finds a call whose session is named only on its trace's root.
#[test]
fn agent_tool_and_kind_conditions_select_the_calls_of_those_traces() {
    let store = agents_store();
    {
        let writer = store.writer().unwrap();
        let mut root = span(5, 1, None, 0, 1_000);
        root.session_id = Some("conv-5".into());
        writer
            .write(Batch {
                spans: vec![root, call(span(5, 2, Some(1), 10, 100), 10)],
                ..Batch::default()
            })
            .unwrap();
        writer.close().unwrap();
    }
    let mut r = store.reader().unwrap();
    let mut calls = |query: &str| -> Vec<String> {
        let mut f = Filter::default();
        Query::parse(query).unwrap().apply(&mut f);
        let (rows, total) = r
            .calls_page(&f, CallSort::Start, SortDir::Asc, 0, 100)
            .unwrap();
        assert_eq!(total as usize, rows.len(), "{query}");
        let mut ids: Vec<String> = rows
            .into_iter()
            .map(|c| format!("{}/{}", &c.trace_id[..2], &c.span_id[..2]))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(calls("agent:support"), ["01/03", "01/04", "02/02"]);
    assert_eq!(calls("agent:planner"), Vec::<String>::new());
    assert_eq!(calls("tool:refund"), ["02/02"]);
    assert_eq!(
        calls("tool:lookup agent:support"),
        ["01/03", "01/04", "02/02"]
    );
    assert_eq!(calls("kind:agent"), ["01/03", "01/04", "02/02"]);
    assert_eq!(calls("kind:retrieval"), Vec::<String>::new());
    assert_eq!(calls("session:conv-5"), ["05/02"]);
}

/// Random agent traces over two hours: each a root run of one of three agents, now
/// and then a nested run of another, tool executions, LLM calls of priced, unpriced
/// and cost-reporting models, other spans, and spans after the root run ended.
fn random_agent_traces(rng: &mut Rng, traces: u8) -> Vec<SpanRow> {
    let agents = ["planner", "support", "critic"];
    let models = [
        ("gpt-4o", Some("gpt-4o-2024-08-06")),
        ("gpt-4o-mini", None),
        ("my-local-model", None),
    ];
    let mut spans = Vec::new();
    for t in 1..=traces {
        let start = rng.below(2 * 3_600_000) as i64;
        let length = 1 + rng.below(20_000) as i64;
        let mut root = agent(
            span(t, 1, None, start, length),
            agents[rng.below(3) as usize],
            rng.chance(20),
        );
        root.service = if rng.chance(50) { "svc" } else { "other" }.into();
        spans.push(root);
        let steps = rng.below(12) as u8;
        for s in 0..steps {
            let id = s + 2;
            // A few steps fall after the run (not inside it).
            let at = start + rng.below(length as u64 + length as u64 / 5) as i64;
            let dur = rng.below(5_000) as i64;
            let step = span(t, id, Some(1), at, dur);
            spans.push(match rng.below(5) {
                0 | 1 => {
                    let (request, response) = models[rng.below(3) as usize];
                    let mut c = call(step, rng.below(100_000) as i64);
                    let llm = c.llm.as_mut().unwrap();
                    llm.request_model = Some(request.into());
                    llm.response_model = response.map(String::from);
                    llm.output_tokens = Some(rng.below(5_000) as i64);
                    if rng.chance(15) {
                        llm.reported_cost_usd = Some(rng.below(1_000) as f64 / 1e4);
                    }
                    c
                }
                2 => tool(
                    step,
                    ["lookup", "refund"][rng.below(2) as usize],
                    rng.chance(10),
                ),
                3 if rng.chance(30) => agent(step, agents[rng.below(3) as usize], false),
                _ => step,
            });
        }
    }
    spans
}

/// What the Agents view must show, computed here from the spans: per agent its runs,
/// failed runs, per-run means, most steps, and its runs' durations (ms, sorted).
#[derive(Debug, Default)]
struct Expected {
    runs: u64,
    failed: u64,
    llm_calls: u64,
    tool_calls: u64,
    tokens: u64,
    cost: f64,
    max_steps: u64,
    durations_ms: Vec<f64>,
}

/// Of the runs that `selected` keeps (every span may be a step of them).
fn expected_agents(
    spans: &[SpanRow],
    selected: &dyn Fn(&SpanRow) -> bool,
    prices: &PriceTable,
) -> Vec<(String, Expected)> {
    let mut out: Vec<(String, Expected)> = Vec::new();
    for run in spans
        .iter()
        .filter(|s| s.class == SpanClass::Agent && selected(s))
    {
        let inside: Vec<&SpanRow> = spans
            .iter()
            .filter(|x| {
                x.trace_id == run.trace_id
                    && x.span_id != run.span_id
                    && (run.start_ns..=run.end_ns).contains(&x.start_ns)
            })
            .collect();
        let name = run.entity.clone().unwrap();
        let i = match out.iter().position(|(a, _)| *a == name) {
            Some(i) => i,
            None => {
                out.push((name, Expected::default()));
                out.len() - 1
            }
        };
        let e = &mut out[i].1;
        e.runs += 1;
        e.failed += (run.status == StatusCode::Error) as u64;
        e.max_steps = e.max_steps.max(inside.len() as u64);
        e.tool_calls += inside.iter().filter(|x| x.class == SpanClass::Tool).count() as u64;
        e.durations_ms
            .push((run.end_ns - run.start_ns) as f64 / 1e6);
        for c in inside.iter().filter_map(|x| x.llm.as_ref()) {
            e.llm_calls += 1;
            let (input, output) = (c.input_tokens.unwrap_or(0), c.output_tokens.unwrap_or(0));
            e.tokens += (input + output) as u64;
            let priced_as = c
                .response_model
                .as_ref()
                .or(c.request_model.as_ref())
                .unwrap();
            e.cost += c.reported_cost_usd.unwrap_or_else(|| {
                prices.lookup(priced_as).map_or(0.0, |p| {
                    let [plain, _, _, out] = p.rates();
                    (input as f64 * plain + output as f64 * out) / 1e6
                })
            });
        }
    }
    for (_, e) in &mut out {
        e.durations_ms.sort_by(f64::total_cmp);
    }
    out
}

/// One tool as the Tools table must show it: its name, executions, failures, durations
/// (ms, sorted) and the agents of the selected runs it ran in.
type ExpectedTool = (String, u64, u64, Vec<f64>, Vec<String>);

/// What the Tools table must show, computed here from the spans.
fn expected_tools(spans: &[SpanRow], selected: &dyn Fn(&SpanRow) -> bool) -> Vec<ExpectedTool> {
    let mut out: Vec<ExpectedTool> = Vec::new();
    for t in spans
        .iter()
        .filter(|s| s.class == SpanClass::Tool && selected(s))
    {
        let name = t.entity.clone().unwrap();
        let i = match out.iter().position(|e| e.0 == name) {
            Some(i) => i,
            None => {
                out.push((name, 0, 0, Vec::new(), Vec::new()));
                out.len() - 1
            }
        };
        let e = &mut out[i];
        e.1 += 1;
        e.2 += (t.status == StatusCode::Error) as u64;
        e.3.push((t.end_ns - t.start_ns) as f64 / 1e6);
        for run in spans.iter().filter(|r| {
            r.class == SpanClass::Agent
                && selected(r)
                && r.trace_id == t.trace_id
                && r.span_id != t.span_id
                && (r.start_ns..=r.end_ns).contains(&t.start_ns)
        }) {
            let agent = run.entity.clone().unwrap();
            if !e.4.contains(&agent) {
                e.4.push(agent);
            }
        }
    }
    for e in &mut out {
        e.3.sort_by(f64::total_cmp);
        e.4.sort();
    }
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

fn assert_tools_equal(got: &[ToolRow], expected: &[ExpectedTool], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: {got:?}");
    for (g, (name, calls, errors, durations, agents)) in got.iter().zip(expected) {
        assert_eq!(
            (&g.tool, g.calls, g.errors, &g.agents),
            (name, *calls, *errors, agents),
            "{what}"
        );
        let avg = durations.iter().sum::<f64>() / durations.len() as f64;
        assert!(
            (g.avg_ms - avg).abs() <= 1e-9 * avg.max(1.0),
            "{what}: {g:?}"
        );
        let p95 = quantile(durations, 0.95);
        let allowed = if g.p95_approximate {
            0.01 * p95
        } else {
            1e-9 * p95.max(1.0)
        };
        assert!((g.p95_ms - p95).abs() <= allowed, "{what}: {g:?} vs {p95}");
    }
}

/// A linear-interpolated quantile of sorted values (DuckDB's `quantile_cont`).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// `got` equals `expected`: counts exactly, means to rounding, duration percentiles
/// to rounding, or within the sketch's 1 % when `got` says they are approximate.
fn assert_agents_equal(got: &[AgentRow], expected: &[(String, Expected)], what: &str) {
    let mut got: Vec<&AgentRow> = got.iter().collect();
    got.sort_by(|a, b| a.agent.cmp(&b.agent));
    let mut expected: Vec<&(String, Expected)> = expected.iter().collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), expected.len(), "{what}: {got:?}");
    for (g, (name, e)) in got.iter().zip(expected) {
        let runs = e.runs as f64;
        assert_eq!(
            (&g.agent, g.runs, g.failed_runs, g.max_steps),
            (name, e.runs, e.failed, e.max_steps),
            "{what}"
        );
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        assert!(
            close(g.llm_calls_per_run, e.llm_calls as f64 / runs),
            "{what}: {g:?} {e:?}"
        );
        assert!(
            close(g.tool_calls_per_run, e.tool_calls as f64 / runs),
            "{what}: {g:?} {e:?}"
        );
        assert!(
            close(g.tokens_per_run, e.tokens as f64 / runs),
            "{what}: {g:?} {e:?}"
        );
        assert!(close(g.cost_per_run, e.cost / runs), "{what}: {g:?} {e:?}");
        let near = |a: f64, b: f64| {
            if g.durations_approximate {
                (a - b).abs() <= 0.01 * b.abs()
            } else {
                close(a, b)
            }
        };
        assert!(
            near(g.p50_ms, quantile(&e.durations_ms, 0.5)),
            "{what}: {g:?}"
        );
        assert!(
            near(g.p95_ms, quantile(&e.durations_ms, 0.95)),
            "{what}: {g:?}"
        );
    }
}

/// The agent runs the writer keeps answer as counting over the spans does, whatever
/// the order of delivery: spans sent shuffled, in batches of random sizes, a fifth of
/// them twice; for all time, a time range and a service (read from the kept tables), a
/// model filter (summed from the spans), each run's page, and again after the file is
/// brought forward from the version without those tables, and after pruning.
#[test]
fn kept_agent_runs_equal_counting_the_spans_after_shuffled_split_and_repeated_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agents.duckdb");
    let mut prices = PriceTable::default();
    let price = |input, output| Price {
        input,
        output,
        cache_read: None,
        cache_write: None,
    };
    prices.set("gpt-4o-2024-08-06", price(2.5, 10.0));
    prices.set("gpt-4o-mini", price(0.15, 0.6));
    for seed in [1u64, 7, 42] {
        let _ = std::fs::remove_file(&path);
        let mut rng = Rng(seed);
        let spans = random_agent_traces(&mut rng, 120);
        let mut deliveries: Vec<SpanRow> = spans.clone();
        deliveries.extend(spans.iter().filter(|_| rng.chance(20)).cloned());
        for i in (1..deliveries.len()).rev() {
            deliveries.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        store.set_prices(prices.clone());
        let writer = store.writer().unwrap();
        while !deliveries.is_empty() {
            let n = (1 + rng.below(40) as usize).min(deliveries.len());
            let batch: Vec<SpanRow> = deliveries.drain(..n).collect();
            writer
                .write(Batch {
                    spans: batch,
                    ..Batch::default()
                })
                .unwrap();
        }
        writer.close().unwrap();

        let hour = Filter {
            from_ns: Some(T0 + 1_800_000 * MS),
            to_ns: Some(T0 + 5_400_000 * MS),
            ..Filter::default()
        };
        let in_hour =
            |s: &SpanRow| (hour.from_ns.unwrap()..hour.to_ns.unwrap()).contains(&s.start_ns);
        let other_service = Filter {
            services: vec!["other".into()],
            ..Filter::default()
        };
        // A model filter selects calls: the runs of traces holding a gpt-4o-mini call.
        let mini = Filter {
            models: vec!["gpt-4o-mini".into()],
            ..Filter::default()
        };
        let mini_traces: Vec<[u8; 16]> = spans
            .iter()
            .filter(|s| {
                s.llm
                    .as_ref()
                    .is_some_and(|c| c.request_model.as_deref() == Some("gpt-4o-mini"))
            })
            .map(|s| s.trace_id)
            .collect();
        let hour_runs = |s: &SpanRow| in_hour(s);
        let other_runs = |s: &SpanRow| s.service == "other";
        let mini_runs = |s: &SpanRow| mini_traces.contains(&s.trace_id);
        let every_run = |_: &SpanRow| true;
        type Selects<'a> = &'a dyn Fn(&SpanRow) -> bool;
        let cases: Vec<(&str, Filter, Selects)> = vec![
            ("all time", Filter::default(), &every_run),
            ("one hour", hour.clone(), &hour_runs),
            ("a service", other_service, &other_runs),
            ("a model", mini, &mini_runs),
        ];
        let check = |store: &Store, when: &str| {
            let mut r = store.reader().unwrap();
            for (what, filter, selected) in &cases {
                let expected = expected_agents(&spans, selected, &prices);
                let what = format!("seed {seed}, {what}, {when}");
                assert_agents_equal(&r.agents(filter).unwrap(), &expected, &what);
                // The same from the hours' duration sketches (the model filter's runs,
                // summed from the spans, are sorted exactly either way).
                r.exact_percentiles_up_to(0);
                let sketched = r.agents(filter).unwrap();
                r.exact_percentiles_up_to(u64::MAX);
                assert_eq!(
                    sketched.iter().all(|a| a.durations_approximate),
                    filter.models.is_empty(),
                    "{what}"
                );
                assert_agents_equal(&sketched, &expected, &format!("{what}, sketched"));
                // Tools, the same two ways.
                let tools = expected_tools(&spans, selected);
                assert_tools_equal(&r.tools(filter).unwrap(), &tools, &what);
                r.exact_percentiles_up_to(0);
                let sketched = r.tools(filter).unwrap();
                r.exact_percentiles_up_to(u64::MAX);
                assert_tools_equal(&sketched, &tools, &format!("{what}, sketched"));
                // Each run's page: its figures sum to the agent's.
                for (name, e) in &expected {
                    let page = r.agent_runs(filter, name, 1_000).unwrap();
                    assert_eq!(page.len() as u64, e.runs, "{what}");
                    let tokens: u64 = page.iter().map(|p| p.tokens).sum();
                    let cost: f64 = page.iter().map(|p| p.cost_usd).sum();
                    assert_eq!(tokens, e.tokens, "{what}");
                    assert!((cost - e.cost).abs() < 1e-9, "{what}: {cost} {}", e.cost);
                    assert!(page.windows(2).all(|w| w[0].steps >= w[1].steps), "{what}");
                }
            }
        };
        check(&store, "as written");
        drop(store);
        // The file as the release before the kept tables left it, brought forward.
        common::as_written_by_schema(&path, 9);
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        store.set_prices(prices.clone());
        check(&store, "brought forward");

        // Retention: the runs that started before the cutoff go, the others keep
        // every step (a step starts within its run, so after the cutoff too).
        let cutoff = T0 + 3_600_000 * MS;
        let writer = store.writer().unwrap();
        writer.prune_before(cutoff).unwrap();
        writer.close().unwrap();
        let kept: Vec<SpanRow> = spans
            .iter()
            .filter(|s| s.start_ns >= cutoff)
            .cloned()
            .collect();
        let expected = expected_agents(&kept, &|_: &SpanRow| true, &prices);
        let got = store.reader().unwrap().agents(&Filter::default()).unwrap();
        assert_agents_equal(&got, &expected, &format!("seed {seed}, after pruning"));
    }
}
