//! An agent built with a real agent framework (the OpenAI Agents SDK, traced by
//! OpenInference's openai-agents instrumentation) using tools over sessions of several
//! turns: live through `serve`, and from the captured fixture `openai-agents.jsonl`.
//! The stored sessions, turns, agents, tools and their figures equal what the script
//! says happened.

use crate::collector::Collector;
use crate::live_clients::run_script;
use crate::util::{Scratch, fixture, run, stderr};
use serde_json::Value;
use std::path::Path;
use store::{Filter, OpenMode, SessionSort, SortDir, Store};

/// The database at `db` holds what `truth` (printed by `drive_agent.py`) says.
fn assert_agent_truth(db: &str, truth: &Value) {
    let store = Store::open(Path::new(db), OpenMode::ReadOnly).unwrap();
    let mut r = store.reader().unwrap();
    let all = Filter::default();
    let s = r.call_summary(&all).unwrap();
    assert_eq!(s.llm_calls, truth["calls"].as_u64().unwrap(), "calls");
    assert_eq!(s.input_tokens, truth["input_tokens"].as_u64().unwrap());
    assert_eq!(s.output_tokens, truth["output_tokens"].as_u64().unwrap());
    assert_eq!(s.errors, 0);

    let expected = truth["sessions"].as_object().unwrap();
    let (sessions, total) = r
        .sessions_page(&all, "", SessionSort::Start, SortDir::Asc, 0, 100)
        .unwrap();
    assert_eq!(total as usize, expected.len(), "{sessions:?}");
    for row in &sessions {
        let t = &expected[&row.session_id];
        assert_eq!(row.user_id.as_deref(), t["user"].as_str(), "{row:?}");
        assert_eq!(row.turns, t["turns"].as_u64().unwrap(), "{row:?}");
        assert_eq!(row.llm_calls, t["llm_calls"].as_u64().unwrap(), "{row:?}");
        assert_eq!(
            row.first_message.as_deref(),
            t["first_message"].as_str(),
            "{row:?}"
        );
        assert_eq!(row.errors, 0);
        // Each turn is a trace of the session, whose steps hold the agent, its LLM
        // calls and its tool execution.
        let turns = r.session_traces(&row.session_id).unwrap();
        assert_eq!(turns.len() as u64, row.turns);
    }

    let agents = r.agents(&all).unwrap();
    let runs: Vec<(String, u64)> = agents.iter().map(|a| (a.agent.clone(), a.runs)).collect();
    let mut want: Vec<(String, u64)> = truth["agents"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(runs, want, "agent runs");
    let support = agents.iter().find(|a| a.agent == "support").unwrap();
    let turns = truth["turns"].as_f64().unwrap();
    assert_eq!(
        support.llm_calls_per_run,
        truth["calls"].as_f64().unwrap() / turns
    );
    let executions: u64 = truth["tools"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(support.tool_calls_per_run, executions as f64 / turns);

    let tools = r.tools(&all).unwrap();
    let mut got: Vec<(String, u64)> = tools.iter().map(|t| (t.tool.clone(), t.calls)).collect();
    got.sort();
    let mut want: Vec<(String, u64)> = truth["tools"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    want.sort();
    assert_eq!(got, want, "tool executions");
    for t in &tools {
        assert!(t.agents.contains(&"support".to_string()), "{t:?}");
        assert_eq!(t.errors, 0);
    }
}

#[test]
fn the_openai_agents_fixture_reports_its_sessions_agents_and_tools() {
    let dir = Scratch::new("agents-fixture");
    let db = dir.path("agents.duckdb");
    let out = run(&["import", "--db", &db, &fixture("openai-agents.jsonl")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("openai-agents.truth.json")).unwrap(),
    )
    .unwrap();
    assert_agent_truth(&db, &truth);
}

#[test]
fn a_live_openai_agents_run_reports_its_sessions_agents_and_tools() {
    let dir = Scratch::new("agents-live");
    let db = dir.path("agents.duckdb");
    let collector = Collector::start(&db, &[]);
    let truth = run_script(
        "drive_agent.py",
        &[
            "--endpoint",
            &collector.grpc,
            "--protocol",
            "grpc",
            "--sessions",
            "4",
            "--turns",
            "3",
        ],
    );
    assert!(collector.stop().success());
    assert_eq!(truth["turns"], 12);
    assert_agent_truth(&db, &truth);
}
