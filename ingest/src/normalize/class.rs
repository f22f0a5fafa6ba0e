//! What kind of work a span is — a model call, an agent, a tool, a retrieval, or other —
//! from the conventions' markers, decided once here and stored with the span.

use super::attrs::Attrs;
use store::SpanClass;

/// OpenTelemetry GenAI operations of agents.
const AGENT_OPERATIONS: &[&str] = &["invoke_agent", "create_agent"];
/// OpenTelemetry GenAI operations of retrieval.
const RETRIEVAL_OPERATIONS: &[&str] = &["embeddings", "retrieval"];
/// OpenInference span kinds of retrieval.
const RETRIEVAL_KINDS: &[&str] = &["RETRIEVER", "EMBEDDING", "RERANKER"];

/// The class of a span named `name` with `attrs`; `is_call` when its LLM fields were
/// found. Explicit markers win; without any, the name tells tools and retrievals apart
/// (`search_tool`, `vector_search`), as people name them.
pub(crate) fn classify(name: &str, attrs: &Attrs, is_call: bool) -> SpanClass {
    if is_call {
        return SpanClass::Llm;
    }
    let operation = attrs
        .text(&["gen_ai.operation.name"])
        .map(|o| o.to_ascii_lowercase());
    let oi_kind = attrs
        .text(&["openinference.span.kind"])
        .map(|k| k.to_ascii_uppercase());
    let traceloop = attrs
        .text(&["traceloop.span.kind"])
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
    if op == Some("execute_tool") || oi == Some("TOOL") || tl == Some("tool") {
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
    if name.contains("tool") {
        SpanClass::Tool
    } else if ["retriev", "embed", "vector"]
        .iter()
        .any(|w| name.contains(w))
    {
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
