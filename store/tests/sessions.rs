//! Sessions and users: a trace takes the session and user its spans name (whichever
//! span names them, whichever commit brings it), and the sessions and users pages
//! count turns, calls, tokens, cost and failures per group; files from before sessions
//! are read-only refused with a reason and, once opened for writing, find them in
//! their spans' attributes.

use store::*;

mod common;
use common::{MS, T0, span};

fn in_session(mut row: SpanRow, session: &str, user: Option<&str>) -> SpanRow {
    row.session_id = Some(session.into());
    row.user_id = user.map(str::to_string);
    row
}

fn call(mut row: SpanRow, prompt: &str, input: i64, output: i64, failed: bool) -> SpanRow {
    row.llm = Some(LlmCall {
        provider: Some("openai".into()),
        operation: Some("chat".into()),
        request_model: Some("gpt-4o".into()),
        response_model: (!failed).then(|| "gpt-4o-2024-08-06".into()),
        input_tokens: Some(input),
        output_tokens: Some(output),
        error_type: failed.then(|| "RateLimitError".into()),
        prompt: Some(prompt.into()),
        response: Some("Arriving tomorrow.".into()),
        ..LlmCall::default()
    });
    if failed {
        row.status = StatusCode::Error;
    }
    row
}

fn write(writer: &Writer, spans: Vec<SpanRow>) {
    writer
        .write(Batch {
            spans,
            ..Batch::default()
        })
        .unwrap();
}

/// Session `s-1` (user `u-1`): turn 1, the session on its agent root only, whose call
/// comes in an earlier commit than the root; turn 2, the session on its failed call
/// only. Session `s-2` (user `u-2`): one turn. Trace 4 names no session.
fn sessions_store() -> Store {
    let store = Store::open_in_memory().unwrap();
    let mut prices = PriceTable::default();
    prices.set(
        "gpt-4o-2024-08-06",
        Price {
            input: 2.5,
            output: 10.0,
            cache_read: None,
            cache_write: None,
        },
    );
    store.set_prices(prices);
    let writer = store.writer().unwrap();
    write(
        &writer,
        vec![call(
            span(1, 2, Some(1), 10, 500),
            "system: Be terse.\n\nuser: Where is my order?",
            1_000_000,
            100_000,
            false,
        )],
    );
    write(
        &writer,
        vec![
            in_session(span(1, 1, None, 0, 1_000), "s-1", Some("u-1")),
            span(2, 1, None, 60_000, 2_000),
            in_session(
                call(
                    span(2, 2, Some(1), 60_010, 800),
                    "user: Where is my order?\n\nassistant: Arriving tomorrow.\n\nuser: Which carrier?",
                    500,
                    0,
                    true,
                ),
                "s-1",
                None,
            ),
            in_session(span(3, 1, None, 30_000, 1_000), "s-2", Some("u-2")),
            call(
                span(3, 2, Some(1), 30_010, 300),
                "user: Cancel my plan",
                1_000_000,
                0,
                false,
            ),
            call(span(4, 2, None, 90_000, 300), "user: hello", 10, 10, false),
        ],
    );
    writer.close().unwrap();
    store
}

#[test]
fn sessions_group_their_traces_and_count_what_they_hold() {
    let store = sessions_store();
    let mut r = store.reader().unwrap();
    let (page, total) = r
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::LastActivity,
            SortDir::Desc,
            0,
            50,
        )
        .unwrap();
    assert_eq!(total, 2);
    let ids: Vec<&str> = page.iter().map(|s| s.session_id.as_str()).collect();
    assert_eq!(ids, ["s-1", "s-2"], "latest activity first");
    let s1 = &page[0];
    assert_eq!(s1.user_id.as_deref(), Some("u-1"));
    assert_eq!((s1.turns, s1.llm_calls, s1.errors), (2, 2, 1));
    assert_eq!(s1.tokens, 1_100_500);
    assert_eq!(s1.first_start_ns, T0);
    assert_eq!(s1.last_end_ns, T0 + 62_000 * MS);
    // 1M input at $2.5 and 100k output at $10 per million; the failed call is unpriced.
    assert!((s1.cost_usd - 3.5).abs() < 1e-9, "{}", s1.cost_usd);
    assert_eq!(s1.first_message.as_deref(), Some("Where is my order?"));
    let s2 = &page[1];
    assert_eq!((s2.turns, s2.llm_calls, s2.errors), (1, 1, 0));
    assert_eq!(s2.first_message.as_deref(), Some("Cancel my plan"));

    // Sorted by cost, ascending: s-2 ($2.5) before s-1 ($3.5).
    let (page, _) = r
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::Cost,
            SortDir::Asc,
            0,
            50,
        )
        .unwrap();
    let by_cost: Vec<(&str, f64)> = page
        .iter()
        .map(|s| (s.session_id.as_str(), s.cost_usd))
        .collect();
    assert_eq!(by_cost, [("s-2", 2.5), ("s-1", 3.5)]);

    // Searched by id or user, case-insensitively; paged.
    let (page, total) = r
        .sessions_page(
            &Filter::default(),
            "U-2",
            SessionSort::Start,
            SortDir::Asc,
            0,
            50,
        )
        .unwrap();
    assert_eq!((total, page[0].session_id.as_str()), (1, "s-2"));
    let (page, total) = r
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::Start,
            SortDir::Asc,
            1,
            1,
        )
        .unwrap();
    assert_eq!(
        (total, page.len(), page[0].session_id.as_str()),
        (2, 1, "s-2")
    );
    let (page, total) = r
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::Start,
            SortDir::Asc,
            5,
            1,
        )
        .unwrap();
    assert_eq!((total, page.len()), (2, 0), "past the end, the total still");

    // A filter on calls keeps the sessions holding a selected call.
    let failed = Filter {
        status: StatusFilter::Error,
        ..Filter::default()
    };
    let (page, total) = r
        .sessions_page(&failed, "", SessionSort::Start, SortDir::Asc, 0, 50)
        .unwrap();
    assert_eq!(
        (total, page[0].session_id.as_str(), page[0].turns),
        (1, "s-1", 1)
    );

    // The session page's turns, earliest first.
    assert_eq!(
        r.session_traces("s-1").unwrap(),
        [u128::from_be_bytes([1; 16]), u128::from_be_bytes([2; 16])]
    );
    assert!(r.session_traces("nobody").unwrap().is_empty());
}

/// The session page's turns, read without their spans, are what the spans say: the
/// figures, the user's message of the first call, the last answer, and the calls an
/// evaluation may judge, for the turn whose call came in an earlier commit too.
#[test]
fn a_sessions_turns_are_what_their_spans_say() {
    let store = sessions_store();
    let mut r = store.reader().unwrap();
    for session in ["s-1", "s-2", "nobody"] {
        let ids = r.session_traces(session).unwrap();
        let from_spans: Vec<SessionTurn> = r
            .traces(&ids)
            .unwrap()
            .iter()
            .map(SessionTurn::of_trace)
            .collect();
        assert_eq!(r.session_turns(session).unwrap(), from_spans, "{session}");
    }
    let turns = r.session_turns("s-1").unwrap();
    let figures: Vec<_> = turns
        .iter()
        .map(|t| (t.start_ns, t.spans, t.calls.len(), t.tokens, t.failed))
        .collect();
    assert_eq!(
        figures,
        [
            (T0, 2, 1, 1_100_000, false),
            (T0 + 60_000 * MS, 2, 1, 500, true)
        ]
    );
    assert!(
        (turns[0].cost_usd - 3.5).abs() < 1e-9,
        "{}",
        turns[0].cost_usd
    );
    assert_eq!(turns[0].asked.as_deref(), Some("Where is my order?"));
    assert_eq!(turns[1].asked.as_deref(), Some("Which carrier?"));
    assert_eq!(turns[1].answered.as_deref(), Some("Arriving tomorrow."));
    assert_eq!(
        turns[0].calls,
        [(
            span_id_hex(u64::from_be_bytes([2; 8])),
            Some("gpt-4o".into())
        )]
    );
}

#[test]
fn users_count_their_sessions_turns_and_last_visit() {
    let store = sessions_store();
    let mut r = store.reader().unwrap();
    let (users, total) = r
        .users_page(
            &Filter::default(),
            "",
            SessionSort::Turns,
            SortDir::Desc,
            0,
            50,
        )
        .unwrap();
    assert_eq!(total, 2, "trace 2 names no user: it counts for nobody");
    assert_eq!(users[0].user_id, "u-1");
    assert_eq!(
        (users[0].sessions, users[0].turns, users[0].llm_calls),
        (1, 1, 1)
    );
    assert_eq!(users[1].user_id, "u-2");
    assert_eq!(users[1].last_end_ns, T0 + 31_000 * MS);
}

#[test]
fn a_schema_7_file_finds_sessions_in_its_spans_once_upgraded() {
    let dir = std::env::temp_dir().join(format!("store-sessions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.duckdb");
    let _ = std::fs::remove_file(&path);
    let mut root = span(7, 1, None, 0, 1_000);
    root.attributes_json =
        r#"{"gen_ai.operation.name":"invoke_agent","gen_ai.agent.name":"helper","session.id":"","gen_ai.conversation.id":"conv-9","enduser.id":42}"#.into();
    root.class = SpanClass::Agent;
    let mut unnamed_tool = span(7, 3, Some(1), 20, 10);
    unnamed_tool.class = SpanClass::Tool;
    unnamed_tool.name = "search_tool".into();
    {
        let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
        let writer = store.writer().unwrap();
        write(
            &writer,
            vec![
                root,
                call(span(7, 2, Some(1), 10, 100), "user: hi", 1, 1, false),
                unnamed_tool,
            ],
        );
        writer.close().unwrap();
    }
    // What the previous release wrote: no session columns, version 7.
    common::as_written_by_schema(&path, 7);
    {
        let old = Store::open(&path, OpenMode::ReadOnly).unwrap();
        let err = old
            .reader()
            .unwrap()
            .sessions_page(
                &Filter::default(),
                "",
                SessionSort::Start,
                SortDir::Asc,
                0,
                10,
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("schema version 8; this file is at 7"),
            "{err}"
        );
    }
    let upgraded = Store::open(&path, OpenMode::ReadWrite).unwrap();
    let (page, total) = upgraded
        .reader()
        .unwrap()
        .sessions_page(
            &Filter::default(),
            "",
            SessionSort::Start,
            SortDir::Asc,
            0,
            10,
        )
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(
        page[0].session_id, "conv-9",
        "an empty session.id names none"
    );
    assert_eq!(page[0].user_id.as_deref(), Some("42"));
    assert_eq!((page[0].turns, page[0].llm_calls), (1, 1));
    // Agents and tools are named too: by their attribute, else by their span.
    let mut r = upgraded.reader().unwrap();
    let agents = r.agents(&Filter::default()).unwrap();
    assert_eq!(
        (agents[0].agent.as_str(), agents[0].tool_calls_per_run),
        ("helper", 1.0)
    );
    assert_eq!(r.tools(&Filter::default()).unwrap()[0].tool, "search_tool");
    drop(r);
    drop(upgraded);
    std::fs::remove_dir_all(&dir).unwrap();
}
