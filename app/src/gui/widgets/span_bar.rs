//! What the timeline and the flamegraph both draw for a span: its name, depth, place in
//! time and colour.

use crate::gui::palette;
use egui::Color32;

/// One span as a bar.
pub struct SpanBar {
    /// Span name.
    pub name: String,
    /// Depth in the tree.
    pub depth: usize,
    /// Start relative to the trace start, ns.
    pub start_ns: i64,
    /// Duration, ns.
    pub duration_ns: i64,
    /// Colour of its kind.
    pub color: Color32,
    /// Failed (drawn in the error colour).
    pub error: bool,
    /// For an LLM call that said where its time went, its phases (drawn inside the
    /// bar by the timeline).
    pub phases: Option<store::CallPhases>,
}

impl SpanBar {
    /// The colour to fill it with.
    pub fn fill(&self) -> Color32 {
        if self.error { palette::BAD } else { self.color }
    }
}
