//! The Agents view: per agent, its runs, success rate, p50/p95 duration, LLM calls and
//! tool executions per run, tokens and cost per run and the most steps one run took;
//! per tool, its executions, error rate, latency and the agents using it. A click on an
//! agent lists its runs with the most steps; a click on a run opens its trace.

use super::{Action, View, ViewAction, ViewCtx};
use crate::format;
use crate::gui::paged_rows::{column_titles, text_row};
use crate::gui::palette;
use crate::gui::queries::{AgentRuns, Agents, Tools};
use egui::{RichText, Ui};

/// The view's own state: the agent whose runs are listed.
#[derive(Default)]
pub struct AgentsView {
    agent: Option<String>,
}

const AGENT_COLUMNS: [(&str, f32); 9] = [
    ("Agent", 180.0),
    ("Runs", 60.0),
    ("Success", 70.0),
    ("p50", 70.0),
    ("p95", 70.0),
    ("LLM calls/run", 95.0),
    ("Tools/run", 75.0),
    ("Tokens/run", 80.0),
    ("Cost/run", 75.0),
];

const TOOL_COLUMNS: [(&str, f32); 6] = [
    ("Tool", 180.0),
    ("Calls", 60.0),
    ("Error rate", 75.0),
    ("Average", 70.0),
    ("p95", 70.0),
    ("Used by", 300.0),
];

const RUN_COLUMNS: [(&str, f32); 8] = [
    ("Start", 150.0),
    ("Steps", 55.0),
    ("LLM calls", 70.0),
    ("Tools", 55.0),
    ("Duration", 75.0),
    ("Tokens", 70.0),
    ("Cost", 70.0),
    ("Status", 60.0),
];

impl View for AgentsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let filter = &ctx.resolved.filter;
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        let agents = ctx.cache.get::<Agents>(filter.clone());
        let tools = ctx.cache.get::<Tools>(filter.clone());
        for e in [&agents.error, &tools.error].into_iter().flatten() {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let (Some(agents), Some(tools)) = (agents.value.as_deref(), tools.value.as_deref())
        else {
            ui.spinner();
            return action;
        };
        egui::ScrollArea::vertical().auto_shrink(false).show(ui, |ui| {
            ui.heading(format!("Agents ({})", agents.len()));
            if agents.is_empty() {
                ui.label(
                    "No agent runs in the selection: agent spans are recognised by \
                     gen_ai.operation.name invoke_agent, OpenInference's AGENT kind or \
                     OpenLLMetry's agent kind.",
                );
            }
            column_titles(ui, &AGENT_COLUMNS);
            for a in agents {
                let cells = vec![
                    a.agent.clone(),
                    format::integer(a.runs),
                    format::percent(1.0 - a.failed_runs as f64 / a.runs.max(1) as f64),
                    format::percentile(a.p50_ms, a.durations_approximate),
                    format::percentile(a.p95_ms, a.durations_approximate),
                    format!("{:.1}", a.llm_calls_per_run),
                    format!("{:.1}", a.tool_calls_per_run),
                    format::count(a.tokens_per_run),
                    format::usd(a.cost_per_run),
                ];
                let widths: Vec<f32> = AGENT_COLUMNS.iter().map(|c| c.1).collect();
                let alert = (a.failed_runs > 0).then_some(2);
                let open = self.agent.as_deref() == Some(a.agent.as_str());
                if text_row(ui, &widths, &cells, alert, open, &format!("agent {}", a.agent)) {
                    self.agent = if open { None } else { Some(a.agent.clone()) };
                }
            }
            if let Some(agent) = self.agent.clone() {
                ui.add_space(8.0);
                runs(ui, ctx, &agent, &mut action);
            }
            ui.add_space(12.0);
            ui.heading(format!("Tools ({})", tools.len()));
            column_titles(ui, &TOOL_COLUMNS);
            for t in tools {
                let cells = vec![
                    t.tool.clone(),
                    format::integer(t.calls),
                    format::percent(t.errors as f64 / t.calls.max(1) as f64),
                    format::millis(t.avg_ms),
                    format::percentile(t.p95_ms, t.p95_approximate),
                    t.agents.join(", "),
                ];
                let widths: Vec<f32> = TOOL_COLUMNS.iter().map(|c| c.1).collect();
                let alert = (t.errors > 0).then_some(2);
                text_row(ui, &widths, &cells, alert, false, &format!("tool {}", t.tool));
            }
        });
        action
    }
}

/// An agent's runs with the most steps; a click opens the run's trace.
fn runs(ui: &mut Ui, ctx: &ViewCtx<'_>, agent: &str, action: &mut ViewAction) {
    ui.label(RichText::new(format!("Runs of {agent} with the most steps")).strong());
    let answer = ctx
        .cache
        .get::<AgentRuns>((ctx.resolved.filter.clone(), agent.to_string()));
    if let Some(e) = &answer.error {
        ui.colored_label(palette::BAD, format!("Query failed: {e}"));
    }
    let Some(runs) = answer.value.as_deref() else {
        ui.spinner();
        return;
    };
    column_titles(ui, &RUN_COLUMNS);
    let widths: Vec<f32> = RUN_COLUMNS.iter().map(|c| c.1).collect();
    for r in runs {
        let cells = vec![
            format::local_time(r.start_ns),
            format::integer(r.steps),
            format::integer(r.llm_calls),
            format::integer(r.tool_calls),
            format::millis(r.duration_ns as f64 / 1e6),
            format::count(r.tokens as f64),
            format::usd(r.cost_usd),
            if r.failed { "error" } else { "ok" }.to_string(),
        ];
        let alert = r.failed.then_some(7);
        let label = format!("run {} {}", r.trace_id, r.span_id);
        if text_row(ui, &widths, &cells, alert, false, &label) {
            action.push(Action::OpenTrace {
                trace_id: r.trace_id.clone(),
                highlights: Vec::new(),
            });
        }
    }
}
