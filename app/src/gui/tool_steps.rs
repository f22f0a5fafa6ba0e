//! The tool executions an LLM call asked for, shown beside its answer: each tool span of
//! the trace that starts after the call ends and before the next call starts (what
//! agent frameworks do with a model's tool calls), with its arguments and result read
//! from the conventions' attributes; and a tool span's own arguments and result.

use crate::gui::palette;
use egui::{RichText, Ui};
use store::conventions::{TOOL_ARGUMENTS, TOOL_RESULT};
use store::{SpanClass, StatusCode, TraceSpan, TraceTree};

/// The tool executions `call` led to, in `tree`, in start order.
pub fn requested_by<'a>(tree: &'a TraceTree, call: &TraceSpan) -> Vec<&'a TraceSpan> {
    let end = call.start_ns + call.duration_ns;
    let next_call = tree
        .spans
        .iter()
        .filter(|s| s.model.is_some() && s.start_ns >= end && s.span_id != call.span_id)
        .map(|s| s.start_ns)
        .min()
        .unwrap_or(i64::MAX);
    let mut tools: Vec<&TraceSpan> = tree
        .spans
        .iter()
        .filter(|s| s.class == SpanClass::Tool && s.start_ns >= end && s.start_ns < next_call)
        .collect();
    tools.sort_by_key(|s| s.start_ns);
    tools
}

/// Draws the tool executions a call asked for (nothing when there are none).
pub fn tool_executions(ui: &mut Ui, tools: &[&TraceSpan]) {
    if tools.is_empty() {
        return;
    }
    ui.label(RichText::new("Tools it called").strong());
    for t in tools {
        tool_call(ui, t);
    }
}

/// One tool execution: its name, outcome, arguments and result.
pub fn tool_call(ui: &mut Ui, tool: &TraceSpan) {
    let (arguments, result) = arguments_and_result(&tool.attributes_json);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(RichText::new(tool.entity.as_deref().unwrap_or(&tool.name)).monospace());
            ui.label(RichText::new(crate::format::millis(tool.duration_ns as f64 / 1e6)).weak());
            if tool.status == StatusCode::Error {
                ui.colored_label(palette::BAD, "failed");
            }
        });
        for (what, text) in [("Arguments", arguments), ("Result", result)] {
            if let Some(text) = text {
                ui.label(RichText::new(what).small().weak());
                ui.label(RichText::new(pretty(&text)).monospace());
            }
        }
    });
}

/// A tool span's arguments and result, by the first key of each convention present.
pub fn arguments_and_result(attributes_json: &str) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(attrs)) = serde_json::from_str(attributes_json) else {
        return (None, None);
    };
    let first = |keys: &[&str]| {
        keys.iter().find_map(|k| match attrs.get(*k)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
    };
    (first(TOOL_ARGUMENTS), first(TOOL_RESULT))
}

/// JSON text indented; other text as it is.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_convention_names_a_tools_arguments_and_result() {
        for (attrs, args, result) in [
            (
                r#"{"gen_ai.tool.call.arguments":"{\"city\":\"Oslo\"}","gen_ai.tool.call.result":"3 C"}"#,
                r#"{"city":"Oslo"}"#,
                "3 C",
            ),
            (
                r#"{"input.value":"{\"order_id\": \"A-1\"}","output.value":"shipped"}"#,
                r#"{"order_id": "A-1"}"#,
                "shipped",
            ),
            (
                r#"{"traceloop.entity.input":"q","traceloop.entity.output":{"n":2}}"#,
                "q",
                r#"{"n":2}"#,
            ),
        ] {
            let (a, r) = arguments_and_result(attrs);
            assert_eq!(a.as_deref(), Some(args), "{attrs}");
            assert_eq!(r.as_deref(), Some(result), "{attrs}");
        }
        assert_eq!(arguments_and_result("{}"), (None, None));
        assert_eq!(pretty(r#"{"a":1}"#), "{\n  \"a\": 1\n}");
    }
}
