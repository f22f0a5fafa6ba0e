//! What kind of work a span is — an LLM call, a tool, a retrieval, or other — from the
//! conventions' own markers, for colours and the latency breakdown.

use super::palette;
use egui::Color32;
use store::TraceSpan;

/// The kinds the timeline colours apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpanClass {
    /// A model call.
    Llm,
    /// A tool or function execution.
    Tool,
    /// Retrieval, embeddings, vector search.
    Retrieval,
    /// Anything else (agents, chains, HTTP…).
    Other,
}

impl SpanClass {
    /// Classifies a span.
    pub fn of(span: &TraceSpan) -> SpanClass {
        if span.model.is_some() {
            return SpanClass::Llm;
        }
        let a = span.attributes_json.as_str();
        let name = span.name.to_lowercase();
        if a.contains("\"openinference.span.kind\":\"TOOL\"")
            || a.contains("\"gen_ai.operation.name\":\"execute_tool\"")
            || a.contains("\"traceloop.span.kind\":\"tool\"")
            || name.contains("tool")
        {
            SpanClass::Tool
        } else if a.contains("\"openinference.span.kind\":\"RETRIEVER\"")
            || a.contains("\"openinference.span.kind\":\"EMBEDDING\"")
            || a.contains("\"gen_ai.operation.name\":\"embeddings\"")
            || name.contains("retriev")
            || name.contains("embed")
            || name.contains("vector")
        {
            SpanClass::Retrieval
        } else {
            SpanClass::Other
        }
    }

    /// Its colour (errors are drawn in the error colour instead).
    pub fn color(self) -> Color32 {
        match self {
            SpanClass::Llm => palette::OKABE_ITO[0],
            SpanClass::Tool => palette::OKABE_ITO[1],
            SpanClass::Retrieval => palette::OKABE_ITO[2],
            SpanClass::Other => palette::OKABE_ITO[6],
        }
    }

    /// Its name for legends.
    pub fn label(self) -> &'static str {
        match self {
            SpanClass::Llm => "LLM call",
            SpanClass::Tool => "tool",
            SpanClass::Retrieval => "retrieval",
            SpanClass::Other => "other",
        }
    }
}
