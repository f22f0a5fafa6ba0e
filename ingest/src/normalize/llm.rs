//! The LLM fields of a span, from whichever semantic convention it uses; within each
//! field the first key in DESIGN.md's order wins.

use super::attrs::{Attrs, value_text};
use super::messages::{self, Message};
use opentelemetry_proto::tonic::trace::v1::Span;
use store::conventions::{
    CACHE_READ, CACHE_WRITE, CALL_KINDS, CALL_OPERATIONS, COST, ERROR_TYPE, FINISH,
    FIRST_CHUNK_EVENTS, HTTP_STATUS, INPUT_TOKENS, INVOCATION_PARAMETERS, OPENINFERENCE_KIND,
    OPERATION, OUTPUT_TOKENS, PROVIDER, REASONING, REQUEST_MODEL, RESPONSE_ID, RESPONSE_MODEL,
    SESSION, STREAMING, TIME_IN_DECODE, TIME_IN_PREFILL, TIME_IN_QUEUE, TIME_TO_FIRST_TOKEN, USER,
};
use store::{CallTiming, LlmCall};

/// The LLM fields of a span, or `None` when the span is not a model call.
pub(crate) fn extract(span: &Span, attrs: &Attrs) -> Option<LlmCall> {
    let operation = attrs.text(OPERATION);
    let oi_kind = attrs.text(&[OPENINFERENCE_KIND]);
    let is_call = match (&operation, &oi_kind) {
        (Some(op), _) => CALL_OPERATIONS.contains(&op.as_str()),
        (None, Some(kind)) => CALL_KINDS.contains(&kind.to_ascii_uppercase().as_str()),
        (None, None) => {
            attrs.has_any(REQUEST_MODEL)
                || attrs.has_any(RESPONSE_MODEL)
                || attrs.has_any(INPUT_TOKENS)
        }
    };
    if !is_call {
        return None;
    }
    let failed = span.status.as_ref().is_some_and(|s| s.code == 2);
    let (error_type, error_message) = error_of(span, attrs, failed);
    let (event_prompt, event_response) = messages::from_events(&span.events);
    Some(LlmCall {
        provider: attrs.text(PROVIDER).map(|p| p.to_ascii_lowercase()),
        operation: operation.or(oi_kind.map(|k| k.to_ascii_lowercase())),
        request_model: attrs
            .text(REQUEST_MODEL)
            .or_else(|| invocation_model(attrs)),
        response_model: attrs.text(RESPONSE_MODEL),
        input_tokens: attrs.int(INPUT_TOKENS),
        output_tokens: attrs.int(OUTPUT_TOKENS),
        cache_read_tokens: attrs.int(CACHE_READ),
        cache_write_tokens: attrs.int(CACHE_WRITE),
        reasoning_tokens: attrs.int(REASONING),
        reported_cost_usd: attrs.float(COST),
        finish_reason: attrs.text(FINISH),
        error_type,
        error_message,
        session_id: attrs.text(SESSION),
        user_id: attrs.text(USER),
        prompt: prompt(attrs).or_else(|| messages::render(&event_prompt)),
        response: response(attrs).or_else(|| messages::render(&event_response)),
        response_id: attrs.text(RESPONSE_ID),
        timing: timing(span, attrs),
        declared_prompt: store::patterns::declared_prompt(|keys| attrs.text(keys)),
    })
}

/// Where the call's time went: time to first token from the attributes that state it,
/// else from the first chunk's span event; the server's phases; whether it streamed
/// (said, or shown by a first token). Durations in seconds become nanoseconds; negative
/// or absurd ones (over a day) are dropped as broken clocks.
fn timing(span: &Span, attrs: &Attrs) -> CallTiming {
    let seconds = |keys: &[&str]| {
        attrs
            .float(keys)
            .filter(|s| (0.0..=86_400.0).contains(s))
            .map(|s| (s * 1e9).round() as i64)
    };
    // An SDK that dropped events over its limit dropped the oldest: per-chunk events
    // then no longer hold the first one (OpenInference's single event is kept).
    let complete = span.dropped_events_count == 0;
    let first_chunk = span
        .events
        .iter()
        .filter(|e| FIRST_CHUNK_EVENTS.contains(&e.name.as_str()))
        .filter(|e| complete || e.name == FIRST_CHUNK_EVENTS[0])
        .map(|e| e.time_unix_nano)
        .min()
        .and_then(|t| i64::try_from(t).ok())
        .and_then(|t| i64::try_from(span.start_time_unix_nano).ok().map(|s| t - s))
        .filter(|ns| *ns >= 0);
    let ttft_ns = seconds(TIME_TO_FIRST_TOKEN).or(first_chunk);
    let asked = attrs.bool(STREAMING).or_else(|| {
        invocation_parameters(attrs)?
            .get("stream")
            .and_then(|s| s.as_bool())
    });
    CallTiming {
        ttft_ns,
        queue_ns: seconds(TIME_IN_QUEUE),
        prefill_ns: seconds(TIME_IN_PREFILL),
        decode_ns: seconds(TIME_IN_DECODE),
        streamed: asked
            .map(|a| a || first_chunk.is_some())
            .or(first_chunk.map(|_| true)),
    }
}

/// OpenInference puts the request model only inside `llm.invocation_parameters`
/// (a JSON object); a failed call has nothing else.
fn invocation_model(attrs: &Attrs) -> Option<String> {
    invocation_parameters(attrs)?
        .get("model")
        .and_then(|m| m.as_str())
        .map(str::to_string)
}

/// OpenInference's `llm.invocation_parameters`, parsed.
fn invocation_parameters(attrs: &Attrs) -> Option<serde_json::Value> {
    serde_json::from_str(&attrs.text(&[INVOCATION_PARAMETERS])?).ok()
}

/// The error type and message of a failed call: `error.type`, else the exception
/// event's type (without its module path), else the HTTP status; the message from the
/// status, else the exception. A call that did not fail has neither, even if it
/// recorded a handled exception.
fn error_of(span: &Span, attrs: &Attrs, failed: bool) -> (Option<String>, Option<String>) {
    let declared = attrs.text(&[ERROR_TYPE]);
    if !failed && declared.is_none() {
        return (None, None);
    }
    let exception = span
        .events
        .iter()
        .rev()
        .find(|e| e.name == "exception")
        .map(|e| Attrs::new(&e.attributes));
    let exception_type = exception
        .as_ref()
        .and_then(|e| e.text(&["exception.type"]))
        .map(|t| t.rsplit(['.', ':']).next().unwrap_or(&t).to_string());
    let http_status = attrs
        .int(HTTP_STATUS)
        .filter(|c| *c >= 400)
        .map(|c| c.to_string());
    let error_type = declared
        .filter(|t| t != "_OTHER")
        .or(exception_type)
        .or(http_status);
    let message = span
        .status
        .as_ref()
        .map(|s| s.message.clone())
        .filter(|m| !m.is_empty())
        .or_else(|| {
            exception
                .as_ref()
                .and_then(|e| e.text(&["exception.message"]))
        });
    (error_type, message)
}

fn prompt(attrs: &Attrs) -> Option<String> {
    let mut messages: Vec<Message> = Vec::new();
    if let Some(system) = attrs.get("gen_ai.system_instructions") {
        let content = messages::from_attr(system)
            .into_iter()
            .map(|m| m.content)
            .collect::<Vec<_>>()
            .join("\n");
        messages.push(Message {
            role: "system".into(),
            content,
        });
    }
    if let Some(v) = attrs.get("gen_ai.input.messages") {
        messages.extend(messages::from_attr(v));
    }
    if messages.iter().all(|m| m.content.is_empty()) {
        messages = messages::from_flattened(attrs, "gen_ai.prompt.", "");
    }
    if messages.is_empty() {
        messages = messages::from_flattened(attrs, "llm.input_messages.", "message.");
    }
    if messages.is_empty() {
        messages = value_messages(attrs, "input.value");
    }
    messages::render(&messages)
}

fn response(attrs: &Attrs) -> Option<String> {
    let mut messages = attrs
        .get("gen_ai.output.messages")
        .map(messages::from_attr)
        .unwrap_or_default();
    if messages.is_empty() {
        messages = messages::from_flattened(attrs, "gen_ai.completion.", "");
    }
    if messages.is_empty() {
        messages = messages::from_flattened(attrs, "llm.output_messages.", "message.");
    }
    if messages.is_empty() {
        messages = value_messages(attrs, "output.value");
    }
    messages::render(&messages)
}

/// OpenInference `input.value` / `output.value`: a JSON request or response body
/// when its mime type says so (or it parses), else plain text.
fn value_messages(attrs: &Attrs, key: &str) -> Vec<Message> {
    let Some(v) = attrs.get(key) else {
        return Vec::new();
    };
    let Some(text) = value_text(v) else {
        return Vec::new();
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
            let m = messages::from_json(&json);
            if m.iter().any(|m| !m.content.is_empty()) {
                m
            } else {
                vec![Message {
                    role: String::new(),
                    content: text,
                }]
            }
        }
        _ => vec![Message {
            role: String::new(),
            content: text,
        }],
    }
}
