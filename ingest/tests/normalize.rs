//! Each convention's mapping into the span row, and the precedence between them.

use ingest::normalize::normalize_traces;
use ingest::otlp_json::parse_traces;
use serde_json::{Value, json};
use store::{LlmCall, SpanClass, SpanRow, StatusCode};

/// One span with these attributes (OTLP JSON `AnyValue`s given as plain JSON values).
fn span_with(attrs: Value, extra: Value) -> SpanRow {
    let attributes: Vec<Value> = attrs
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Value::String(s) => json!({ "stringValue": s }),
                Value::Bool(b) => json!({ "boolValue": b }),
                Value::Number(n) if n.is_i64() => json!({ "intValue": n.to_string() }),
                Value::Number(n) => json!({ "doubleValue": n }),
                Value::Array(a) => json!({ "arrayValue": { "values": a.iter().map(|s| json!({ "stringValue": s })).collect::<Vec<_>>() } }),
                other => other.clone(),
            };
            json!({ "key": k, "value": value })
        })
        .collect();
    let mut span = json!({
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "call",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001500000000",
        "attributes": attributes,
    });
    for (k, v) in extra.as_object().unwrap() {
        span[k] = v.clone();
    }
    let req = json!({ "resourceSpans": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "svc" } }] },
        "scopeSpans": [{ "scope": { "name": "test" }, "spans": [span] }]
    }]});
    let parsed = parse_traces(req.to_string().as_bytes()).unwrap();
    let mut n = normalize_traces(&parsed);
    assert!(n.rejected.is_empty(), "{:?}", n.rejected);
    n.rows.remove(0)
}

fn llm(attrs: Value) -> LlmCall {
    span_with(attrs, json!({})).llm.expect("an LLM call")
}

#[test]
fn otel_genai_new_names_and_structured_messages() {
    let c = llm(json!({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 19,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.usage.cache_creation.input_tokens": 2,
        "gen_ai.usage.reasoning_tokens": 7,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.conversation.id": "conv-1",
        "user.id": "u-9",
        "gen_ai.system_instructions": "[{\"type\":\"text\",\"content\":\"Be brief.\"}]",
        "gen_ai.input.messages": "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"Hi there\"}]}]",
        "gen_ai.output.messages": "[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"Hello!\"},{\"type\":\"tool_call\",\"name\":\"lookup\",\"arguments\":{\"id\":3}}],\"finish_reason\":\"stop\"}]"
    }));
    assert_eq!(c.provider.as_deref(), Some("openai"));
    assert_eq!(c.operation.as_deref(), Some("chat"));
    // Counted under the model asked for; the served snapshot is kept beside it.
    assert_eq!(c.model(), "gpt-4o");
    assert_eq!(c.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!((c.input_tokens, c.output_tokens), (Some(30), Some(19)));
    assert_eq!(
        (
            c.cache_read_tokens,
            c.cache_write_tokens,
            c.reasoning_tokens
        ),
        (Some(4), Some(2), Some(7))
    );
    assert_eq!(c.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        (c.session_id.as_deref(), c.user_id.as_deref()),
        (Some("conv-1"), Some("u-9"))
    );
    assert_eq!(
        c.prompt.as_deref(),
        Some("system: Be brief.\n\nuser: Hi there")
    );
    assert_eq!(c.response.as_deref(), Some("Hello!\nlookup({\"id\":3})"));
}

#[test]
fn otel_genai_old_names_and_flattened_prompts() {
    let c = llm(json!({
        "gen_ai.system": "Anthropic",
        "gen_ai.request.model": "claude-3-5-haiku",
        "gen_ai.usage.prompt_tokens": 11,
        "gen_ai.usage.completion_tokens": 5,
        "gen_ai.usage.cache_read_input_tokens": 3,
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "Why?",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "Because."
    }));
    assert_eq!(c.provider.as_deref(), Some("anthropic"));
    assert_eq!(c.model(), "claude-3-5-haiku");
    assert_eq!(
        (c.input_tokens, c.output_tokens, c.cache_read_tokens),
        (Some(11), Some(5), Some(3))
    );
    assert_eq!(c.prompt.as_deref(), Some("system: Be brief.\n\nuser: Why?"));
    assert_eq!(c.response.as_deref(), Some("Because."));
}

#[test]
fn genai_message_events_fill_prompt_and_response() {
    let row = span_with(
        json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" }),
        json!({ "events": [
            { "timeUnixNano": "1700000000000000001", "name": "gen_ai.system.message", "attributes": [{ "key": "content", "value": { "stringValue": "Rules." } }] },
            { "timeUnixNano": "1700000000000000002", "name": "gen_ai.user.message", "attributes": [{ "key": "content", "value": { "stringValue": "Question?" } }] },
            { "timeUnixNano": "1700000000000000003", "name": "gen_ai.choice", "attributes": [{ "key": "message", "value": { "kvlistValue": { "values": [{ "key": "content", "value": { "stringValue": "Answer." } }] } } }] }
        ]}),
    );
    let c = row.llm.unwrap();
    assert_eq!(
        c.prompt.as_deref(),
        Some("system: Rules.\n\nuser: Question?")
    );
    assert_eq!(c.response.as_deref(), Some("Answer."));
    assert!(row.events_json.contains("gen_ai.user.message"));
}

#[test]
fn openinference_attributes_and_request_model_from_invocation_parameters() {
    let c = llm(json!({
        "openinference.span.kind": "LLM",
        "llm.system": "openai",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.invocation_parameters": "{\"model\": \"gpt-4o-mini\"}",
        "llm.token_count.prompt": 30,
        "llm.token_count.completion": 19,
        "llm.token_count.prompt_details.cache_read": 4,
        "llm.token_count.completion_details.reasoning": 2,
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Ping",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Pong",
        "llm.cost.total": 0.25,
        "session.id": "s-1"
    }));
    assert_eq!(c.operation.as_deref(), Some("llm"));
    assert_eq!(c.model(), "gpt-4o-mini");
    assert_eq!(c.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
    assert_eq!(
        (
            c.input_tokens,
            c.output_tokens,
            c.cache_read_tokens,
            c.reasoning_tokens
        ),
        (Some(30), Some(19), Some(4), Some(2))
    );
    assert_eq!(c.reported_cost_usd, Some(0.25));
    assert_eq!(c.prompt.as_deref(), Some("user: Ping"));
    assert_eq!(c.response.as_deref(), Some("Pong"));
    assert_eq!(c.session_id.as_deref(), Some("s-1"));
}

#[test]
fn openinference_input_and_output_values_are_read_when_messages_are_absent() {
    let c = llm(json!({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "input.value": "{\"model\": \"gpt-4o\", \"messages\": [{\"role\": \"user\", \"content\": \"needle here\"}]}",
        "output.value": "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"found it\"}}]}"
    }));
    assert_eq!(c.prompt.as_deref(), Some("user: needle here"));
    assert_eq!(c.response.as_deref(), Some("found it"));
    let plain = llm(
        json!({ "openinference.span.kind": "LLM", "llm.model_name": "m", "input.value": "just text" }),
    );
    assert_eq!(plain.prompt.as_deref(), Some("just text"));
}

#[test]
fn openllmetry_traceloop_names_and_openlit_cost() {
    let c = llm(json!({
        "llm.request.type": "chat",
        "gen_ai.system": "OpenAI",
        "gen_ai.request.model": "gpt-4o",
        "llm.usage.prompt_tokens": 8,
        "gen_ai.usage.completion_tokens": 2,
        "traceloop.association.properties.session_id": "trl-s",
        "traceloop.association.properties.user_id": "trl-u",
        "gen_ai.usage.cost": 0.0123
    }));
    assert_eq!(c.operation.as_deref(), Some("chat"));
    assert_eq!((c.input_tokens, c.output_tokens), (Some(8), Some(2)));
    assert_eq!(
        (c.session_id.as_deref(), c.user_id.as_deref()),
        (Some("trl-s"), Some("trl-u"))
    );
    assert_eq!(c.reported_cost_usd, Some(0.0123));
}

#[test]
fn declared_prompt_templates_are_read_from_each_convention() {
    // OpenInference sends the template's text and version.
    let c = llm(json!({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.prompt_template.template": "Tell me a {adjective} joke about {topic}",
        "llm.prompt_template.variables": "{\"adjective\": \"funny\", \"topic\": \"cats\"}",
        "llm.prompt_template.version": "v3"
    }));
    let d = c.declared_prompt.expect("a declared template");
    assert_eq!(d.key, "Tell me a {adjective} joke about {topic}@v3");
    assert_eq!(d.template, "Tell me a {adjective} joke about {topic}");
    // OpenLLMetry's prompt registry names it by key and version.
    let c = llm(json!({
        "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "traceloop.prompt.key": "support-triage",
        "traceloop.prompt.version": 4
    }));
    let d = c.declared_prompt.expect("a declared template");
    assert_eq!(
        (d.key.as_str(), d.name.as_deref()),
        ("support-triage@4", Some("support-triage"))
    );
    // No template named: the pattern is learned from the prompt instead.
    let c = llm(json!({"gen_ai.request.model": "gpt-4o", "gen_ai.prompt.0.content": "Hi"}));
    assert_eq!(c.declared_prompt, None);
}

#[test]
fn first_match_wins_between_conventions() {
    let c = llm(json!({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.system": "openai",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.prompt_tokens": 1,
        "llm.token_count.prompt": 2,
        "gen_ai.response.model": "resp",
        "llm.model_name": "other",
        "gen_ai.request.model": "req"
    }));
    assert_eq!(c.provider.as_deref(), Some("azure.ai.openai"));
    assert_eq!(c.input_tokens, Some(100));
    assert_eq!(c.model(), "req");
    assert_eq!(c.response_model.as_deref(), Some("resp"));
    let no_request =
        llm(json!({ "gen_ai.operation.name": "chat", "gen_ai.response.model": "resp" }));
    assert_eq!(no_request.model(), "resp");
}

#[test]
fn failed_calls_keep_their_error_type() {
    let row = span_with(
        json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "error.type": "RateLimitError" }),
        json!({ "status": { "code": "STATUS_CODE_ERROR", "message": "Error code: 429" } }),
    );
    assert_eq!(row.status, StatusCode::Error);
    let c = row.llm.unwrap();
    assert_eq!(c.error_type.as_deref(), Some("RateLimitError"));
    assert_eq!(c.error_message.as_deref(), Some("Error code: 429"));

    let from_exception = span_with(
        json!({ "openinference.span.kind": "LLM", "llm.invocation_parameters": "{\"model\": \"gpt-4o\"}" }),
        json!({ "status": { "code": 2 }, "events": [{ "name": "exception", "timeUnixNano": "1", "attributes": [
            { "key": "exception.type", "value": { "stringValue": "openai.RateLimitError" } },
            { "key": "exception.message", "value": { "stringValue": "Error code: 429 - Rate limit reached" } }
        ]}]}),
    );
    let c = from_exception.llm.unwrap();
    assert_eq!(c.error_type.as_deref(), Some("RateLimitError"));
    assert_eq!(
        c.error_message.as_deref(),
        Some("Error code: 429 - Rate limit reached")
    );
    assert_eq!(c.model(), "gpt-4o");

    let http = span_with(
        json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "http.response.status_code": 429 }),
        json!({ "status": { "code": 2 } }),
    );
    assert_eq!(http.llm.unwrap().error_type.as_deref(), Some("429"));

    let handled = span_with(
        json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "m" }),
        json!({ "events": [{ "name": "exception", "timeUnixNano": "1", "attributes": [{ "key": "exception.type", "value": { "stringValue": "Retry" } }] }] }),
    );
    assert_eq!(handled.llm.unwrap().error_type, None);
}

#[test]
fn agent_tool_and_plain_spans_are_not_llm_calls() {
    assert!(
        span_with(
            json!({ "gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o" }),
            json!({})
        )
        .llm
        .is_none()
    );
    assert!(
        span_with(
            json!({ "gen_ai.operation.name": "execute_tool" }),
            json!({})
        )
        .llm
        .is_none()
    );
    assert!(
        span_with(json!({ "openinference.span.kind": "CHAIN" }), json!({}))
            .llm
            .is_none()
    );
    assert!(
        span_with(json!({ "http.method": "GET" }), json!({}))
            .llm
            .is_none()
    );
    assert!(span_with(json!({ "gen_ai.operation.name": "embeddings", "gen_ai.request.model": "text-embedding-3-small" }), json!({})).llm.is_some());
}

#[test]
fn raw_attributes_are_kept_as_json() {
    let row = span_with(
        json!({ "a.string": "x\"y", "a.int": 9007199254740993_i64, "a.float": 1.5, "a.bool": true, "a.list": ["p", "q"] }),
        json!({}),
    );
    let v: Value = serde_json::from_str(&row.attributes_json).unwrap();
    assert_eq!(v["a.string"], "x\"y");
    assert_eq!(v["a.int"].as_i64(), Some(9007199254740993));
    assert_eq!(v["a.float"], 1.5);
    assert_eq!(v["a.bool"], true);
    assert_eq!(v["a.list"], json!(["p", "q"]));
    let res: Value = serde_json::from_str(&row.resource_json).unwrap();
    assert_eq!(res["service.name"], "svc");
    assert_eq!(row.service, "svc");
    assert_eq!(row.end_ns - row.start_ns, 1_500_000_000);
}

/// Each convention's marker decides the span's class at ingest; the name decides only
/// when no convention marked the span.
#[test]
fn every_convention_marks_agents_tools_and_retrievals() {
    use store::SpanClass;
    let cases = [
        (
            json!({ "gen_ai.operation.name": "invoke_agent" }),
            "run",
            SpanClass::Agent,
        ),
        (
            json!({ "openinference.span.kind": "AGENT" }),
            "run",
            SpanClass::Agent,
        ),
        (
            json!({ "traceloop.span.kind": "agent" }),
            "run",
            SpanClass::Agent,
        ),
        (
            json!({ "gen_ai.operation.name": "execute_tool" }),
            "run",
            SpanClass::Tool,
        ),
        (
            json!({ "openinference.span.kind": "TOOL" }),
            "run",
            SpanClass::Tool,
        ),
        (
            json!({ "traceloop.span.kind": "tool" }),
            "run",
            SpanClass::Tool,
        ),
        (
            json!({ "openinference.span.kind": "RETRIEVER" }),
            "run",
            SpanClass::Retrieval,
        ),
        (
            json!({ "openinference.span.kind": "RERANKER" }),
            "run",
            SpanClass::Retrieval,
        ),
        (
            json!({ "openinference.span.kind": "CHAIN" }),
            "tool_router",
            SpanClass::Other,
        ),
        (json!({}), "search_tool", SpanClass::Tool),
        (json!({}), "vector_search", SpanClass::Retrieval),
        (json!({}), "HTTP GET", SpanClass::Other),
        (
            json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o" }),
            "chat gpt-4o",
            SpanClass::Llm,
        ),
        (
            json!({ "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o" }),
            "ChatCompletion",
            SpanClass::Llm,
        ),
    ];
    for (attrs, name, want) in cases {
        let row = span_with(attrs.clone(), json!({ "name": name }));
        assert_eq!(row.class, want, "{attrs} named {name:?}");
        assert_eq!(row.llm.is_some(), want == SpanClass::Llm, "{attrs}");
    }
}

/// The check a ClickHouse writer runs refuses and notes exactly the spans that
/// normalization does, with the same reasons.
#[test]
fn checking_refuses_what_normalizing_refuses() {
    let span = |trace: &str, span: &str, parent: &str, start: &str, end: &str| {
        json!({ "traceId": trace, "spanId": span, "parentSpanId": parent, "name": "s",
                "startTimeUnixNano": start, "endTimeUnixNano": end })
    };
    let good = "0af7651916cd43dd8448eb211c80319c";
    let req = json!({ "resourceSpans": [{ "scopeSpans": [{ "spans": [
        span(good, "b7ad6b7169203331", "", "1700000000000000000", "1700000001000000000"),
        span("00000000000000000000000000000000", "b7ad6b7169203332", "", "1", "2"),
        span(good, "b7ad6b71692033", "", "1", "2"),
        span(good, "b7ad6b7169203334", "0000000000000000", "1", "2"),
        span(good, "b7ad6b7169203335", "", "18446744073709551615", "18446744073709551615"),
        span(good, "b7ad6b7169203336", "", "0", "5"),
        span(good, "b7ad6b7169203337", "", "10", "5"),
    ] }] }] });
    let parsed = parse_traces(req.to_string().as_bytes()).unwrap();
    let normalized = normalize_traces(&parsed);
    let checked = ingest::normalize::check_traces(&parsed);
    assert_eq!(normalized.rejected.len(), 4, "{:?}", normalized.rejected);
    assert_eq!(normalized.noted.len(), 2, "{:?}", normalized.noted);
    assert_eq!(normalized.rows.len(), 3);
    assert_eq!(checked.rejected, normalized.rejected);
    assert_eq!(checked.noted, normalized.noted);
    assert!(checked.rows.is_empty());
}

/// Any span names its session and user, in every convention's words: agents and
/// workflows carry them as often as calls do.
#[test]
fn every_convention_names_a_spans_session_and_user() {
    for (attrs, session, user) in [
        (
            json!({ "gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-1", "enduser.id": "ann" }),
            "conv-1",
            "ann",
        ),
        (
            json!({ "openinference.span.kind": "CHAIN", "session.id": "s-2", "user.id": "bob" }),
            "s-2",
            "bob",
        ),
        (
            json!({ "traceloop.span.kind": "workflow", "traceloop.association.properties.session_id": "s-3", "traceloop.association.properties.user_id": "cy" }),
            "s-3",
            "cy",
        ),
    ] {
        let row = span_with(attrs.clone(), json!({}));
        assert!(row.llm.is_none(), "{attrs}");
        assert_eq!(row.session_id.as_deref(), Some(session), "{attrs}");
        assert_eq!(row.user_id.as_deref(), Some(user), "{attrs}");
    }
    let plain = span_with(json!({ "http.method": "GET" }), json!({}));
    assert_eq!((plain.session_id, plain.user_id), (None, None));
}

/// Agents and tools are named by each convention's attribute, else by their span.
#[test]
fn agents_and_tools_are_named_in_every_convention() {
    for (attrs, name, class, entity) in [
        (
            json!({ "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support" }),
            "invoke_agent support",
            SpanClass::Agent,
            "support",
        ),
        (
            json!({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather" }),
            "execute_tool get_weather",
            SpanClass::Tool,
            "get_weather",
        ),
        (
            json!({ "openinference.span.kind": "TOOL", "tool.name": "search" }),
            "search",
            SpanClass::Tool,
            "search",
        ),
        (
            json!({ "openinference.span.kind": "AGENT" }),
            "Triage agent",
            SpanClass::Agent,
            "Triage agent",
        ),
        (
            json!({ "traceloop.span.kind": "tool", "traceloop.entity.name": "calculator" }),
            "calculator.tool",
            SpanClass::Tool,
            "calculator",
        ),
    ] {
        let row = span_with(attrs.clone(), json!({ "name": name }));
        assert_eq!(row.class, class, "{attrs}");
        assert_eq!(row.entity.as_deref(), Some(entity), "{attrs}");
    }
    let call = span_with(
        json!({ "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.agent.name": "support" }),
        json!({}),
    );
    assert_eq!(call.entity, None, "a call inside an agent is not the agent");
}

#[test]
fn evaluations_on_a_span_from_events_and_openinference_annotations() {
    let row = span_with(
        json!({
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.id": "chatcmpl-1",
            "session.id": "s-9",
            "annotations.0.annotation.name": "relevance",
            "annotations.0.annotation.score": 0.25,
            "annotations.0.annotation.label": "irrelevant",
            "annotations.0.annotation.explanation": "talks about the weather",
            "annotations.0.annotation.annotator_kind": "llm",
            "annotations.1.annotation.name": "correctness",
            "annotations.1.annotation.label": "correct",
            "evaluations.0.evaluation.name": "toxicity",
            "evaluations.0.evaluation.score": "0",
            "trace.annotations.0.annotation.name": "task_done",
            "trace.annotations.0.annotation.score": 1,
            "session.annotations.0.annotation.name": "csat",
            "session.annotations.0.annotation.score": 4,
            "session.annotations.0.annotation.annotator_kind": "HUMAN",
        }),
        json!({ "events": [{
            "timeUnixNano": "1700000001400000000",
            "name": "gen_ai.evaluation.result",
            "attributes": [
                { "key": "gen_ai.evaluation.name", "value": { "stringValue": "groundedness" } },
                { "key": "gen_ai.evaluation.score.value", "value": { "doubleValue": 0.5 } },
                { "key": "gen_ai.evaluation.score.label", "value": { "stringValue": "partly" } }
            ]
        }]}),
    );
    assert_eq!(
        row.llm.as_ref().unwrap().response_id.as_deref(),
        Some("chatcmpl-1")
    );
    type Said<'a> = (
        &'a str,
        store::EvalTarget,
        Option<f64>,
        Option<&'a str>,
        &'a str,
    );
    let got: Vec<Said> = row
        .evaluations
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.target,
                e.score,
                e.label.as_deref(),
                e.annotator.as_str(),
            )
        })
        .collect();
    use store::EvalTarget::*;
    assert_eq!(
        got,
        vec![
            ("groundedness", Span, Some(0.5), Some("partly"), ""),
            ("relevance", Span, Some(0.25), Some("irrelevant"), "LLM"),
            ("correctness", Span, None, Some("correct"), ""),
            ("toxicity", Span, Some(0.0), None, ""),
            ("task_done", Trace, Some(1.0), None, ""),
            ("csat", Session, Some(4.0), None, "HUMAN"),
        ]
    );
    let on_span = &row.evaluations[1];
    assert_eq!(on_span.trace_id, Some(row.trace_id));
    assert_eq!(on_span.span_id, Some(row.span_id));
    assert_eq!(on_span.time_ns, row.end_ns);
    assert_eq!(
        on_span.explanation.as_deref(),
        Some("talks about the weather")
    );
    assert_eq!(row.evaluations[0].time_ns, 1_700_000_001_400_000_000);
    let session = &row.evaluations[5];
    assert_eq!(
        (session.session_id.as_deref(), session.trace_id),
        (Some("s-9"), None)
    );
    assert_eq!(
        row.evaluations[4].span_id, None,
        "a trace's, not the span's"
    );
}

#[test]
fn openinference_tool_calls_in_a_response_keep_their_arguments() {
    let c = llm(json!({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup_order",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{\"order_id\": \"A-1\"}",
    }));
    let response = c.response.unwrap();
    assert!(
        response.contains(r#"lookup_order({"order_id": "A-1"})"#),
        "{response}"
    );
}

/// The span's events, each `(name, ns after the span's start)`.
fn events(list: &[(&str, u64)]) -> Value {
    let start: u64 = 1_700_000_000_000_000_000;
    Value::Array(
        list.iter()
            .map(|(name, after)| json!({ "name": name, "timeUnixNano": (start + after).to_string() }))
            .collect(),
    )
}

#[test]
fn time_to_first_token_and_server_phases_from_every_convention() {
    use store::CallTiming;
    const MS: i64 = 1_000_000;
    let timing = |attrs: Value, extra: Value| span_with(attrs, extra).llm.unwrap().timing;
    // OpenTelemetry GenAI: the attribute, in seconds.
    assert_eq!(
        timing(
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                   "gen_ai.response.time_to_first_chunk": 0.25, "gen_ai.request.stream": true}),
            json!({})
        ),
        CallTiming {
            ttft_ns: Some(250 * MS),
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    // OpenInference: one "First Token Stream Event"; streaming said in the invocation
    // parameters.
    assert_eq!(
        timing(
            json!({"openinference.span.kind": "LLM",
                   "llm.invocation_parameters": "{\"model\": \"m\", \"stream\": true}"}),
            json!({"events": events(&[("First Token Stream Event", 420_000_000)])})
        ),
        CallTiming {
            ttft_ns: Some(420 * MS),
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    // OpenLLMetry: an event per chunk, the first one's time counts.
    let chunks = events(&[
        ("gen_ai.content.completion.chunk", 300_000_000),
        ("gen_ai.content.completion.chunk", 310_000_000),
        ("gen_ai.content.completion.chunk", 320_000_000),
    ]);
    assert_eq!(
        timing(
            json!({"llm.request.type": "chat", "gen_ai.request.model": "m", "gen_ai.is_streaming": true}),
            json!({ "events": chunks })
        ),
        CallTiming {
            ttft_ns: Some(300 * MS),
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    // …unless the SDK dropped events over its limit: it dropped the oldest, the first
    // chunk among them.
    assert_eq!(
        timing(
            json!({"llm.request.type": "chat", "gen_ai.request.model": "m", "gen_ai.is_streaming": true}),
            json!({ "events": chunks, "droppedEventsCount": 40 })
        ),
        CallTiming {
            streamed: Some(true),
            ..CallTiming::default()
        }
    );
    // OpenLIT: its server TTFT attribute and stream flag.
    assert_eq!(
        timing(
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                   "gen_ai.server.time_to_first_token": 0.5, "gen_ai.request.is_stream": false}),
            json!({})
        ),
        CallTiming {
            ttft_ns: Some(500 * MS),
            streamed: Some(false),
            ..CallTiming::default()
        }
    );
    // vLLM: the server's phases.
    assert_eq!(
        timing(
            json!({"gen_ai.operation.name": "text_completion", "gen_ai.response.model": "llama",
                   "gen_ai.latency.time_in_queue": 0.1, "gen_ai.latency.time_to_first_token": 0.3,
                   "gen_ai.latency.time_in_model_prefill": 0.2,
                   "gen_ai.latency.time_in_model_decode": 1.0, "gen_ai.latency.e2e": 1.4}),
            json!({})
        ),
        CallTiming {
            ttft_ns: Some(300 * MS),
            queue_ns: Some(100 * MS),
            prefill_ns: Some(200 * MS),
            decode_ns: Some(1_000 * MS),
            streamed: None,
        }
    );
    // Absurd values (negative, over a day) are a broken clock, not a timing.
    assert_eq!(
        timing(
            json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                   "gen_ai.response.time_to_first_chunk": -2.0,
                   "gen_ai.latency.time_in_queue": 1e12}),
            json!({})
        ),
        CallTiming::default()
    );
}
