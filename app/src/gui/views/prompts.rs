//! The Prompts view: the templates the calls' prompts were made from (learned at
//! ingest, or declared by the instrumentation), ranked by cost, calls, latency, errors
//! or tokens, each with its share of the cost, models and trend. A click shows the
//! template with its variable slots highlighted, lists its calls in the Inspector
//! (`pattern:ID`), and compares the models that ran it on the same prompt.

use super::{Action, View, ViewAction, ViewCtx};
use crate::format;
use crate::gui::paged_rows::{cell, column_titles, row, title_cell};
use crate::gui::palette;
use crate::gui::queries::{PerModel, PromptPatterns};
use egui::text::LayoutJob;
use egui::{Color32, FontId, RichText, TextFormat, Ui};
use store::{ModelRow, PatternRow, PatternSort};

/// The view's own state: the ranking and the pattern opened.
#[derive(Default)]
pub struct PromptsView {
    sort: PatternSort,
    open: Option<i32>,
}

const COLUMNS: [(&str, f32); 10] = [
    ("#", 40.0),
    ("Template", 330.0),
    ("Calls", 65.0),
    ("Cost", 75.0),
    ("Share", 55.0),
    ("p95", 65.0),
    ("Errors", 60.0),
    ("Tokens", 65.0),
    ("Models", 150.0),
    ("Trend", 100.0),
];

impl View for PromptsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let mut action = ViewAction {
            showed_data: true,
            ..ViewAction::default()
        };
        let filter = &ctx.resolved.filter;
        let answer = ctx.cache.get::<PromptPatterns>((filter.clone(), self.sort));
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            return action;
        }
        let Some(data) = answer.value.as_deref() else {
            ui.spinner();
            return action;
        };
        let (rows, total) = (&data.0, data.1);
        ui.horizontal(|ui| {
            ui.heading(format!("Prompt patterns ({})", format::integer(total as u64)));
            ui.add_space(16.0);
            ui.label("Rank by");
            for s in PatternSort::ALL {
                ui.selectable_value(&mut self.sort, s, s.label());
            }
        });
        if rows.is_empty() {
            ui.label(
                "No LLM calls with a prompt in the selection. Patterns are learned from \
                 the system and latest user messages as calls arrive (or read from \
                 gen_ai.prompt.name, llm.prompt_template.* and traceloop.prompt.*).",
            );
            return action;
        }
        egui::ScrollArea::vertical().auto_shrink(false).show(ui, |ui| {
            column_titles(ui, &COLUMNS);
            for r in rows {
                let open = r.id.is_some() && self.open == r.id;
                if pattern_row(ui, r, open) {
                    self.open = if open { None } else { r.id };
                }
            }
            if let Some(r) = rows.iter().find(|r| r.id.is_some() && r.id == self.open) {
                ui.add_space(10.0);
                details(ui, ctx, r, &mut action);
            }
        });
        action
    }
}

/// One pattern as a clickable row, its trend drawn as bars; true when clicked.
fn pattern_row(ui: &mut Ui, r: &PatternRow, selected: bool) -> bool {
    let gap = ui.spacing().item_spacing.x;
    let width: f32 = COLUMNS.iter().map(|c| c.1 + gap).sum();
    let (rect, response) = row(ui, width.max(ui.available_width()), selected);
    let cells = [
        r.id.map_or("–".into(), |id| id.to_string()),
        one_line(r),
        format::integer(r.calls),
        format::usd(r.cost_usd),
        format::percent(r.cost_share),
        format::millis(r.p95_ms),
        format::percent(r.error_rate()),
        format::count((r.input_tokens + r.output_tokens) as f64),
        r.models.join(", "),
    ];
    let mut x = rect.left();
    let text = ui.visuals().text_color();
    for (i, ((_, w), t)) in COLUMNS.iter().zip(&cells).enumerate() {
        let color = if i == 6 && r.errors > 0 { palette::BAD } else { text };
        cell(ui, rect, x, *w, t, color);
        x += w + gap;
    }
    trend(ui, rect, x, COLUMNS[9].1, &r.trend);
    let value = cells.join(", ");
    let label = match r.id {
        Some(id) => format!("pattern {id}"),
        None => "calls without a pattern".to_string(),
    };
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::labeled(egui::accesskit::Role::Row, true, &label);
        info.current_text_value = Some(value.clone());
        info
    });
    r.id.is_some() && response.clicked()
}

/// The template on one line, as the table shows it (its name first when declared).
fn one_line(r: &PatternRow) -> String {
    if r.id.is_none() {
        return "(no pattern yet: one-off prompts, or no prompt recorded)".into();
    }
    let flat = r.template.split_whitespace().collect::<Vec<_>>().join(" ");
    match &r.name {
        Some(name) if !flat.starts_with(name.as_str()) => format!("{name}: {flat}"),
        _ => flat,
    }
}

/// Calls per part of the range, as bars scaled to the busiest part.
fn trend(ui: &Ui, row: egui::Rect, x: f32, width: f32, counts: &[u64]) {
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f32;
    let bar = width / counts.len().max(1) as f32;
    let (bottom, height) = (row.bottom() - 3.0, row.height() - 6.0);
    for (i, n) in counts.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let h = (*n as f32 / most * height).max(1.0);
        let left = x + i as f32 * bar;
        ui.painter().rect_filled(
            egui::Rect::from_min_max(
                egui::pos2(left, bottom - h),
                egui::pos2(left + (bar - 1.0).max(1.0), bottom),
            ),
            0.0,
            palette::P50,
        );
    }
}

/// The opened pattern: its template with the slots highlighted, the way to its calls,
/// and its models side by side.
fn details(ui: &mut Ui, ctx: &ViewCtx<'_>, r: &PatternRow, action: &mut ViewAction) {
    let Some(id) = r.id else { return };
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Pattern {id}")).strong());
        if r.declared {
            ui.label("declared by the instrumentation");
        } else {
            ui.label("learned from the prompts");
        }
        if ui.button(format!("List its calls (pattern:{id})")).clicked() {
            action.push(Action::Inspect(format!("pattern:{id}")));
        }
    });
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(template_job(ui, &r.template));
    });
    ui.add_space(6.0);
    let mut filter = ctx.resolved.filter.clone();
    filter.patterns = vec![id];
    let models = ctx.cache.get::<PerModel>(filter);
    if let Some(e) = &models.error {
        ui.colored_label(palette::BAD, format!("Query failed: {e}"));
    }
    let Some(models) = models.value.as_deref() else {
        ui.spinner();
        return;
    };
    ui.label(RichText::new("Models on this prompt").strong());
    model_table(ui, models);
    if let Some(text) = comparison(models) {
        ui.label(text);
    }
}

/// The template's text, fixed parts as they are and slots highlighted.
fn template_job(ui: &Ui, template: &str) -> LayoutJob {
    let mut job = LayoutJob::default();
    let font = FontId::monospace(12.5);
    let text = ui.visuals().text_color();
    for (part, slot) in store::patterns::template_parts(template) {
        let format = if slot {
            TextFormat {
                font_id: font.clone(),
                color: Color32::BLACK,
                background: palette::WARN,
                ..TextFormat::default()
            }
        } else {
            TextFormat::simple(font.clone(), text)
        };
        job.append(part, 0.0, format);
    }
    job.wrap.max_width = ui.available_width();
    job
}

const MODEL_COLUMNS: [(&str, f32); 6] = [
    ("Model", 200.0),
    ("Calls", 65.0),
    ("Cost/call", 85.0),
    ("p50", 70.0),
    ("p95", 70.0),
    ("Error rate", 80.0),
];

/// The models that ran the pattern, busiest first.
fn model_table(ui: &mut Ui, models: &[ModelRow]) {
    egui::Grid::new("prompt_models")
        .striped(true)
        .min_col_width(0.0)
        .show(ui, |ui| {
            for (title, width) in MODEL_COLUMNS {
                title_cell(ui, title, width);
            }
            ui.end_row();
            let mut sorted: Vec<&ModelRow> = models.iter().collect();
            sorted.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.model.cmp(&b.model)));
            for m in sorted {
                ui.label(&m.model);
                ui.label(format::integer(m.calls));
                ui.label(format::usd(cost_per_call(m)));
                ui.label(format::percentile(m.p50_ms, m.latency_approximate));
                ui.label(format::percentile(m.p95_ms, m.latency_approximate));
                let rate = m.errors as f64 / m.calls.max(1) as f64;
                let color = if m.errors > 0 { palette::BAD } else { ui.visuals().text_color() };
                ui.colored_label(color, format::percent(rate));
                ui.end_row();
            }
        });
}

fn cost_per_call(m: &ModelRow) -> f64 {
    m.cost_usd / m.calls.max(1) as f64
}

/// The two busiest models on the pattern compared in words: which is cheaper per call,
/// faster at the median, and fails less. `None` with fewer than two models.
fn comparison(models: &[ModelRow]) -> Option<String> {
    let mut sorted: Vec<&ModelRow> = models.iter().filter(|m| m.calls > 0).collect();
    sorted.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.model.cmp(&b.model)));
    let (a, b) = (sorted.first()?, sorted.get(1)?);
    let mut parts = Vec::new();
    let (ca, cb) = (cost_per_call(a), cost_per_call(b));
    if ca > 0.0 && cb > 0.0 {
        let (cheap, dear, ratio) = if ca <= cb { (a, b, cb / ca) } else { (b, a, ca / cb) };
        parts.push(format!(
            "{} costs {:.1}× less per call than {}",
            cheap.model, ratio, dear.model
        ));
    }
    if a.p50_ms > 0.0 && b.p50_ms > 0.0 {
        let (fast, slow, ratio) = if a.p50_ms <= b.p50_ms {
            (a, b, b.p50_ms / a.p50_ms)
        } else {
            (b, a, a.p50_ms / b.p50_ms)
        };
        parts.push(format!("{} is {:.1}× faster at the median than {}", fast.model, ratio, slow.model));
    }
    let rate = |m: &ModelRow| m.errors as f64 / m.calls as f64;
    parts.push(format!(
        "errors: {} {} vs {} {}",
        a.model,
        format::percent(rate(a)),
        b.model,
        format::percent(rate(b))
    ));
    Some(format!("On this prompt: {}.", parts.join("; ")))
}
