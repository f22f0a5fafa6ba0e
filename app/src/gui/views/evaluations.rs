//! The Evaluations view: every evaluator (an LLM judge, code, people's feedback) of the
//! selection with its results, mean score and labels; for the chosen one, its score
//! distribution, its mean over time, its mean per model (did the model change make
//! answers better?) and the calls it judged worst, each opening its trace.

use super::shared::{chart_markers, chart_window, model_rows, reading, seconds, summary};
use super::{Action, View, ViewAction, ViewCtx};
use crate::format;
use crate::gui::export::ExportItem;
use crate::gui::export::chart::{Bar, ChartData, ChartKind, Series};
use crate::gui::export::table::{Cell, Column, TableData};
use crate::gui::palette;
use crate::gui::queries::{EvaluationTrend, EvaluationsByModel, Evaluators, WorstJudged};
use crate::gui::widgets::bars::bars;
use crate::gui::widgets::data_table::{TableLook, data_table};
use crate::gui::widgets::series_chart::time_chart;
use egui::{RichText, ScrollArea, Ui};
use store::{EvalModelRow, EvalPoint, EvaluatorRow, JudgedCall};

/// Points across the trend chart.
const TREND_BUCKETS: i64 = 48;

/// The view's own state: the evaluator shown in detail (the busiest when none chosen).
#[derive(Default)]
pub struct EvaluationsView {
    chosen: Option<String>,
}

impl View for EvaluationsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let filter = &ctx.resolved.filter;
        let mut action = ViewAction::default();
        let answer = ctx.cache.get::<Evaluators>(filter.clone());
        if let Some(e) = &answer.error {
            ui.colored_label(palette::BAD, format!("Query failed: {e}"));
        }
        let Some(evaluators) = answer.value.as_deref() else {
            if answer.error.is_none() {
                reading(ui);
            }
            return action;
        };
        action.showed_data = true;
        ScrollArea::vertical().auto_shrink(false).show(ui, |ui| {
            if evaluators.is_empty() {
                ui.label(
                    "No evaluations in this selection. They arrive as OpenTelemetry \
                     gen_ai.evaluation.result events (log records or span events), as \
                     OpenInference annotations.N.annotation.* attributes, or as feedback \
                     given on a call in its trace.",
                );
                return;
            }
            let table = evaluator_table(evaluators);
            let r = data_table(
                ui,
                "evaluators",
                &table,
                &TableLook {
                    links: &[0],
                    link_if: None,
                    swatch: None,
                    tint: None,
                },
            );
            action.export_if(r.export, || ExportItem::Table(table.clone()));
            if let Some((row, _)) = r.clicked {
                self.chosen = Some(row[0].shown.clone());
            }
            let chosen = self
                .chosen
                .as_deref()
                .and_then(|name| evaluators.iter().find(|e| e.name == name))
                .unwrap_or(&evaluators[0]);
            ui.add_space(12.0);
            ui.heading(&chosen.name);
            details(ui, ctx, chosen, &mut action);
        });
        action
    }
}

/// The chosen evaluator's distribution, trend, models and worst calls.
fn details(ui: &mut Ui, ctx: &ViewCtx<'_>, chosen: &EvaluatorRow, action: &mut ViewAction) {
    let filter = &ctx.resolved.filter;
    if chosen.scored > 0 {
        let chart = distribution_chart(chosen);
        action.export_if(bars(ui, &chart), || ExportItem::Chart(chart.clone()));
        ui.add_space(12.0);
        let calls = summary(ctx.cache, ctx.resolved);
        if let Some((window, bucket)) = chart_window(ctx.resolved, calls.as_deref(), TREND_BUCKETS)
        {
            let trend = ctx
                .cache
                .get::<EvaluationTrend>((filter.clone(), bucket));
            if let Some(points) = trend.value.as_deref() {
                let mut chart = trend_chart(chosen, points, seconds(window));
                chart.markers = chart_markers(ctx.cache, seconds(window));
                let r = time_chart(ui, "evaluation_trend", &chart, 200.0);
                action.annotate_if(r.annotate);
                action.export_if(r.export, || ExportItem::Chart(chart.clone()));
            }
        }
    } else {
        ui.label(RichText::new("Labels only: this evaluator gives no scores.").weak());
    }
    ui.add_space(12.0);
    let by_model = ctx.cache.get::<EvaluationsByModel>(filter.clone());
    if let Some(rows) = by_model.value.as_deref() {
        let rows: Vec<&EvalModelRow> = rows.iter().filter(|r| r.name == chosen.name).collect();
        let table = model_table(chosen, &rows);
        model_rows(ui, "evaluation_models", &table, ctx.models, None, action);
    }
    ui.add_space(12.0);
    let worst = ctx
        .cache
        .get::<WorstJudged>((filter.clone(), chosen.name.clone()));
    if let Some(e) = &worst.error {
        ui.colored_label(palette::BAD, format!("Query failed: {e}"));
    }
    let Some(calls) = worst.value.as_deref() else {
        ui.spinner();
        return;
    };
    let table = worst_table(chosen, calls);
    let r = data_table(
        ui,
        "worst_judged",
        &table,
        &TableLook {
            links: &[1],
            link_if: None,
            swatch: None,
            tint: None,
        },
    );
    action.export_if(r.export, || ExportItem::Table(table.clone()));
    if let Some((row, _)) = r.clicked
        && let Some(trace_id) = row[1].value.as_str()
    {
        action.push(Action::OpenTrace {
            trace_id: trace_id.to_string(),
            highlights: Vec::new(),
        });
    }
}

/// A score as people read it (two decimals; none shown as a dash).
fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn score_cell(v: Option<f64>) -> Cell {
    match v {
        Some(v) => Cell::number(score(Some(v)), v),
        None => Cell::text("-"),
    }
}

/// The evaluators, one row each.
fn evaluator_table(rows: &[EvaluatorRow]) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: "Evaluators".into(),
        columns: vec![
            col("Evaluator", "name"),
            col("Results", "evaluations"),
            col("Calls judged", "calls"),
            col("Mean score", "mean_score"),
            col("Lowest", "min_score"),
            col("Highest", "max_score"),
            col("By people", "by_people"),
            col("Labels", "labels"),
        ],
        rows: rows
            .iter()
            .map(|e| {
                let labels: Vec<String> =
                    e.labels.iter().map(|(l, n)| format!("{l} ({n})")).collect();
                vec![
                    Cell::text(&e.name),
                    Cell::count(format::integer(e.evaluations), e.evaluations),
                    Cell::count(
                        format!(
                            "{}{}",
                            if e.calls_approximate { "~" } else { "" },
                            format::integer(e.calls)
                        ),
                        e.calls,
                    ),
                    score_cell(e.mean_score),
                    score_cell(e.min_score),
                    score_cell(e.max_score),
                    Cell::count(format::integer(e.by_people), e.by_people),
                    Cell::text(labels.join(", ")),
                ]
            })
            .collect(),
    }
}

/// How many results fell in each score bin.
fn distribution_chart(e: &EvaluatorRow) -> ChartData {
    let width = (e.bins_to - e.bins_from) / e.bins.len() as f64;
    ChartData {
        title: format!("{}: score distribution", e.name),
        kind: ChartKind::Bars(
            e.bins
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let from = e.bins_from + width * i as f64;
                    Bar {
                        label: format!("{from:.2} to {:.2}", from + width),
                        segments: vec![("results".into(), *n as f64, palette::SCORE)],
                    }
                })
                .collect(),
        ),
        unit: format::count,
        window: None,
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}

/// The chosen evaluator's mean score per bucket.
fn trend_chart(e: &EvaluatorRow, points: &[EvalPoint], window: (f64, f64)) -> ChartData {
    let points: Vec<[f64; 2]> = points
        .iter()
        .filter(|p| p.name == e.name)
        .filter_map(|p| Some([p.bucket_ns as f64 / 1e9, p.mean_score?]))
        .collect();
    ChartData {
        title: format!("{}: mean score over time", e.name),
        kind: ChartKind::Lines(vec![Series {
            name: "mean score".into(),
            color: palette::SCORE,
            points,
        }]),
        unit: |v| format!("{v:.2}"),
        window: Some(window),
        markers: Vec::new(),
        value_span: Some((e.bins_from, e.bins_to)),
        bands: Vec::new(),
    }
}

/// The evaluator's results per model of the judged calls (a click filters by it).
fn model_table(e: &EvaluatorRow, rows: &[&EvalModelRow]) -> TableData {
    let col = |title, key| Column { title, key };
    TableData {
        title: format!("{} by model", e.name),
        columns: vec![
            col("Model", "model"),
            col("Results", "evaluations"),
            col("Mean score", "mean_score"),
            col("Commonest label", "top_label"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.model),
                    Cell::count(format::integer(r.evaluations), r.evaluations),
                    score_cell(r.mean_score),
                    Cell::text(r.top_label.clone().unwrap_or_default()),
                ]
            })
            .collect(),
    }
}

/// The calls judged worst, the trace id (short shown, whole kept) a link.
fn worst_table(e: &EvaluatorRow, calls: &[JudgedCall]) -> TableData {
    let col = |title, key| Column { title, key };
    let one_line = |s: &Option<String>| {
        s.as_deref()
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    TableData {
        title: format!("Calls {} judged worst", e.name),
        columns: vec![
            col("Start", "start"),
            col("Trace", "trace_id"),
            col("Model", "model"),
            col("Score", "score"),
            col("Label", "label"),
            col("Explanation", "explanation"),
            col("Prompt", "prompt"),
        ],
        rows: calls
            .iter()
            .map(|c| {
                let prompt: String = one_line(&c.prompt_excerpt).chars().take(80).collect();
                vec![
                    Cell::text(format::local_time(c.start_ns)),
                    Cell {
                        shown: c.trace_id.chars().take(8).collect(),
                        value: c.trace_id.clone().into(),
                    },
                    Cell::text(&c.model),
                    score_cell(c.score),
                    Cell::text(c.label.clone().unwrap_or_default()),
                    Cell::text(one_line(&c.explanation)),
                    Cell::text(prompt),
                ]
            })
            .collect(),
    }
}
