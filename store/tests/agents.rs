//! Agents and tools: each agent's runs with the calls and tool executions inside them,
//! each tool's executions with the agents that used it.

use store::Queries as _;
use store::*;

mod common;
use common::{T0, span};

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
