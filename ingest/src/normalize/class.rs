//! What kind of work a span is — a model call, an agent, a tool, a retrieval, or other —
//! from the conventions' markers, decided once here and stored with the span.

use super::attrs::Attrs;
use store::SpanClass;

use store::conventions::{
    AGENT_OPERATIONS, OPENINFERENCE_KIND, OPERATION, RETRIEVAL_KINDS, RETRIEVAL_NAME_WORDS,
    RETRIEVAL_OPERATIONS, TOOL_NAME_WORDS, TOOL_OPERATION, TRACELOOP_KIND,
};

/// The class of a span named `name` with `attrs`; `is_call` when its LLM fields were
/// found. Explicit markers win; without any, the name tells tools and retrievals apart
/// (`search_tool`, `vector_search`), as people name them.
pub(crate) fn classify(name: &str, attrs: &Attrs, is_call: bool) -> SpanClass {
    if is_call {
        return SpanClass::Llm;
    }
    let operation = attrs.text(&OPERATION[..1]).map(|o| o.to_ascii_lowercase());
    let oi_kind = attrs
        .text(&[OPENINFERENCE_KIND])
        .map(|k| k.to_ascii_uppercase());
    let traceloop = attrs
        .text(&[TRACELOOP_KIND])
        .map(|k| k.to_ascii_lowercase());
    let (op, oi, tl) = (
        operation.as_deref(),
        oi_kind.as_deref(),
        traceloop.as_deref(),
    );
    if op.is_some_and(|o| AGENT_OPERATIONS.contains(&o))
        || oi == Some("AGENT")
        || tl == Some("agent")
    {
        return SpanClass::Agent;
    }
    let name = name.to_lowercase();
    if op == Some(TOOL_OPERATION) || oi == Some("TOOL") || tl == Some("tool") {
        return SpanClass::Tool;
    }
    if op.is_some_and(|o| RETRIEVAL_OPERATIONS.contains(&o))
        || oi.is_some_and(|k| RETRIEVAL_KINDS.contains(&k))
    {
        return SpanClass::Retrieval;
    }
    if op.is_some() || oi.is_some() || tl.is_some() {
        return SpanClass::Other;
    }
    if TOOL_NAME_WORDS.iter().any(|w| name.contains(w)) {
        SpanClass::Tool
    } else if RETRIEVAL_NAME_WORDS.iter().any(|w| name.contains(w)) {
        SpanClass::Retrieval
    } else {
        SpanClass::Other
    }
}

/// The agent's or tool's name of an agent or tool span: the conventions' name, else the
/// span's own name; none for other classes.
pub(crate) fn entity(class: SpanClass, name: &str, attrs: &Attrs) -> Option<String> {
    let keys = match class {
        SpanClass::Agent => store::conventions::AGENT_NAME,
        SpanClass::Tool => store::conventions::TOOL_NAME,
        _ => return None,
    };
    attrs
        .text(keys)
        .or_else(|| (!name.trim().is_empty()).then(|| name.to_string()))
}
