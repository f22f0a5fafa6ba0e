//! The selected span: for an LLM call a header (provider, model, tokens, cost, finish
//! reason, latency, time to first token and output speed, its phases as a bar) and the
//! conversation as chat; for every span its status, attributes
//! (span and resource), events and links, JSON pretty-printed.

use super::palette;
use super::widgets::conversation::conversation;
use super::widgets::phase_bar::phase_bar;
use crate::format;
use egui::{CollapsingHeader, Grid, RichText, Ui};
use store::conversation::parse;
use store::{StatusCode, TraceSpan};

/// Draws the panel for `span`; `highlights` are marked in the conversation; `judged`
/// draws what is said about the span (evaluations, feedback) after the conversation
/// and before the raw attributes, where people look for it.
pub fn span_panel(
    ui: &mut Ui,
    span: &TraceSpan,
    highlights: &[String],
    judged: impl FnOnce(&mut Ui),
) {
    ui.heading(&span.name);
    if let Some(entity) = &span.entity {
        // An agent run or a tool execution, by the name its convention gave it.
        ui.label(RichText::new(format!("{} {entity}", span.class.label())).strong());
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("service {}", span.service));
        if let Some(scope) = &span.scope {
            ui.label(format!("· scope {scope}"));
        }
        ui.label(format!(
            "· {}",
            format::millis(span.duration_ns as f64 / 1e6)
        ));
        match span.status {
            StatusCode::Error => {
                ui.colored_label(
                    palette::BAD,
                    format!("· error {}", span.status_message.as_deref().unwrap_or("")),
                );
            }
            StatusCode::Ok => {
                ui.colored_label(palette::GOOD, "· ok");
            }
            StatusCode::Unset => {
                ui.label("· status unset");
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("span {}", span.span_id))
                .monospace()
                .small(),
        );
        if ui.small_button("Copy span id").clicked() {
            ui.ctx().copy_text(span.span_id.clone());
        }
    });
    if let Some(model) = &span.model {
        ui.separator();
        Grid::new("llm_header")
            .num_columns(2)
            .spacing([16.0, 2.0])
            .show(ui, |ui| {
                let row = |ui: &mut Ui, k: &str, v: String| {
                    ui.label(RichText::new(k).weak());
                    ui.label(v);
                    ui.end_row();
                };
                row(
                    ui,
                    "Provider",
                    span.provider.clone().unwrap_or_else(|| "—".into()),
                );
                row(ui, "Model", model.clone());
                if let Some(served) = span.response_model.as_ref().filter(|r| *r != model) {
                    row(ui, "Served as", served.clone());
                }
                row(
                    ui,
                    "Tokens",
                    format!(
                        "{} in · {} out · {} cached",
                        opt(span.input_tokens),
                        opt(span.output_tokens),
                        opt(span.cache_read_tokens)
                    ),
                );
                row(
                    ui,
                    "Cost",
                    span.cost_usd.map_or("no price".into(), format::usd),
                );
                row(
                    ui,
                    "Finish reason",
                    span.finish_reason.clone().unwrap_or_else(|| "—".into()),
                );
                row(ui, "Latency", format::millis(span.duration_ns as f64 / 1e6));
                if let Some(ttft) = span.timing.ttft_ns {
                    row(ui, "Time to first token", format::millis(ttft as f64 / 1e6));
                }
                if let Some(tps) = span.output_tps() {
                    // Without a first token or a server's decode time, the speed is
                    // over the whole call (prompt reading and network included).
                    let whole = span.timing.ttft_ns.is_none() && span.timing.decode_ns.is_none();
                    let over = if whole { " (whole call)" } else { "" };
                    row(
                        ui,
                        "Output speed",
                        format!("{} tok/s{over}", format::count(tps)),
                    );
                }
                if let Some(streamed) = span.timing.streamed.or(span.timing.ttft_ns.map(|_| true)) {
                    row(ui, "Streamed", if streamed { "yes" } else { "no" }.into());
                }
                if let Some(e) = &span.error_type {
                    row(ui, "Error", e.clone());
                }
            });
        if let Some(phases) = span.phases() {
            ui.add_space(4.0);
            phase_bar(ui, &phases, span.timing.prefill_ns.is_some());
        }
        ui.add_space(6.0);
        ui.label(RichText::new("Prompt").strong());
        match &span.prompt {
            Some(p) => conversation(ui, "prompt", &parse(p, "user"), highlights),
            None => {
                ui.label(
                    RichText::new("not captured (enable content capture in the instrumentation)")
                        .weak(),
                );
            }
        }
        ui.label(RichText::new("Response").strong());
        match &span.response {
            Some(r) => conversation(ui, "response", &parse(r, "assistant"), highlights),
            None => {
                ui.label(RichText::new("none").weak());
            }
        }
    }
    judged(ui);
    ui.separator();
    json_section(ui, "Attributes", &span.attributes_json, true);
    json_section(ui, "Resource", &span.resource_json, false);
    json_section(ui, "Events", &span.events_json, false);
    json_section(ui, "Links", &span.links_json, false);
}

fn opt(v: Option<i64>) -> String {
    v.map_or("—".into(), |n| format::integer(n.max(0) as u64))
}

/// A collapsible section of pretty-printed JSON (or the raw text if it is not JSON).
fn json_section(ui: &mut Ui, title: &str, json: &str, open: bool) {
    let value: Option<serde_json::Value> = serde_json::from_str(json).ok();
    let empty = match &value {
        Some(serde_json::Value::Object(m)) => m.is_empty(),
        Some(serde_json::Value::Array(a)) => a.is_empty(),
        _ => json.trim().is_empty(),
    };
    let title = if empty {
        format!("{title} (none)")
    } else {
        title.to_string()
    };
    CollapsingHeader::new(title)
        .default_open(open && !empty)
        .show(ui, |ui| {
            let text = value
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| json.to_string());
            ui.horizontal(|ui| {
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(text.clone());
                }
            });
            ui.label(RichText::new(text).monospace());
        });
}
