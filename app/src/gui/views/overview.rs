//! The Overview: "is my system healthy?" in three seconds. A health light, six KPI cards
//! with sparklines and changes (a seventh, time to first token, when calls stream), request rate by model, latency percentiles, the model
//! breakdown and the slowest and latest traces, all for the filter bar's selection.

use crate::gui::export::ExportItem;
use crate::gui::export::chart::{BandOf, ChartData, ChartKind};
use crate::gui::filter_state::bucket_ns;
use super::bands;
use super::latency::percentiles_chart;
use super::shared::{reading, chart_markers, model_series, per_model, series as series_of};
use super::{Action, Drill, View, ViewAction, ViewCtx};
use crate::gui::queries::{
    Anomalies, CallSummary, FirstToken, FirstTokenPercentiles, LatencyPercentiles, PreviousFirstToken,
    PreviousSummary,
    RecentTraces, SlowestTraces, TimeBounds,
};
use crate::gui::widgets::anomaly_list::{anomaly_list, anomaly_table};
use crate::gui::widgets::health::{Health, health_light};
use crate::gui::widgets::kpi_card::{Better, Kpi, kpi_card};
use crate::gui::widgets::series_chart::time_chart;
use crate::gui::widgets::tables::{ModelClick, model_breakdown, model_table, trace_list, trace_table};
use crate::gui::palette;
use crate::format;
use egui::{ScrollArea, Ui};
use std::collections::BTreeMap;
use store::anomaly::Metric;
use store::{FirstTokenSummary, LatencyPoint, SeriesPoint, Summary};

/// Health at a glance: KPIs with sparklines, request rate and latency over time, the
/// models, the slowest and latest traces.
#[derive(Default)]
pub struct OverviewView;

impl View for OverviewView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        let ViewCtx { cache, resolved, models: all_models, .. } = *ctx;
        let mut action = ViewAction::default();
        let filter = resolved.filter.clone();
        let summary = cache.get::<CallSummary>(filter.clone());
        let previous = resolved
            .previous
            .clone()
            .map(|p| cache.get::<PreviousSummary>(p));
        let bounds = cache.get::<TimeBounds>(());

        // The window charted: the range itself, or for "All" the data's extent.
        let window = resolved.window.or_else(|| {
            summary
                .value
                .as_ref()
                .and_then(|s| s.first_start_ns.zip(s.last_end_ns).filter(|(a, b)| b > a))
        });
        let bucket = window.map(|(a, b)| bucket_ns(b - a, 60));
        let (series, latency) = match bucket {
            Some(b) => (
                series_of(cache, resolved, b),
                cache
                    .get::<LatencyPercentiles>((filter.clone(), b))
                    .value,
            ),
            None => (None, None),
        };
        let first = cache.get::<FirstToken>(filter.clone()).value;
        let streams = first.as_deref().is_some_and(|f| f.calls > 0);
        let first_trend = bucket
            .filter(|_| streams)
            .and_then(|b| cache.get::<FirstTokenPercentiles>((filter.clone(), b)).value);
        let first_before = resolved
            .previous
            .clone()
            .filter(|_| streams)
            .and_then(|p| cache.get::<PreviousFirstToken>(p).value);
        let anomalies = window
            .zip(bucket)
            .map(|(w, b)| cache.get::<Anomalies>((resolved.filter.clone(), w, b)));
        let models = per_model(cache, resolved);
        let slowest = cache.get::<SlowestTraces>(filter.clone());
        let recent = cache.get::<RecentTraces>(filter);

        ScrollArea::vertical().show(ui, |ui| {
            if let Some(e) = summary.error.as_ref().or(models.error.as_ref()) {
                ui.colored_label(palette::BAD, format!("Query failed: {e}"));
            }
            let Some(s) = summary.value.as_deref() else {
                reading(ui);
                return;
            };
            action.showed_data = true;
            let secs = window.map_or(0.0, |(a, b)| (b - a) as f64 / 1e9);
            let error_rate = ratio(s.errors, s.llm_calls);
            health_light(
                ui,
                Health::judge(s.llm_calls, error_rate, s.latency_ms[1]),
                error_rate,
                s.latency_ms[1],
            );
            if s.llm_calls == 0
                && let Some((from, to)) = resolved.window
                && let Some(Some((lo, hi))) = bounds.value.as_deref()
            {
                ui.horizontal(|ui| {
                    ui.label(format!(
                        "No LLM calls between {} and {}; stored calls run from {} to {}.",
                        format::local_time(from),
                        format::local_time(to),
                        format::local_time(*lo),
                        format::local_time(*hi)
                    ));
                    if ui.button("Show all time").clicked() {
                        action.push(Action::ShowAllTime);
                    }
                });
            }
            ui.add_space(6.0);
            let buckets = bucket_totals(series.as_deref().map(Vec::as_slice).unwrap_or(&[]));
            let lat = latency.as_deref().map(Vec::as_slice).unwrap_or(&[]);
            let prev = previous.as_ref().and_then(|p| p.value.as_deref());
            let first_token = first.as_deref().filter(|f| f.calls > 0).map(|f| FirstTokenCard {
                now: f,
                before: first_before.as_deref(),
                trend: first_trend.as_deref().map(Vec::as_slice).unwrap_or(&[]),
            });
            kpi_row(ui, s, prev, secs, bucket.unwrap_or(1), &buckets, lat, first_token);
            ui.add_space(10.0);

            let to_s = |ns: i64| ns as f64 / 1e9;
            let win_s = window.map(|(a, b)| (to_s(a), to_s(b)));
            // Alerts that fired in the window, marked on the time charts.
            let markers = win_s.map_or_else(Vec::new, |w| chart_markers(cache, w));
            ui.columns(2, |cols| {
                let per_s = bucket.map_or(1.0, |b| b as f64 / 1e9);
                let judged = anomalies.as_ref().and_then(|a| a.value.as_deref());
                let lines = model_series(
                    series.as_deref().map(Vec::as_slice).unwrap_or(&[]),
                    TOP_MODELS,
                    all_models,
                    |p| p.requests as f64 / per_s,
                );
                let rate_bands = judged.map_or_else(Vec::new, |j| {
                    lines
                        .iter()
                        .filter_map(|s| {
                            let of = BandOf::Series(s.name.clone());
                            let figure = (Metric::Calls, Some(s.name.as_str()));
                            bands::band(j, figure, of, s.color, |_, v| Some(v / per_s))
                        })
                        .collect()
                });
                let rate = ChartData {
                    title: "Requests/s by model".into(),
                    kind: ChartKind::Lines(lines),
                    unit: format::per_second,
                    window: win_s,
                    markers: markers.clone(),
                    value_span: None,
                    bands: rate_bands,
                };
                let rate_click = time_chart(&mut cols[0], "overview_rate", &rate, 220.0);
                let latency = ChartData {
                    markers: markers.clone(),
                    bands: judged.and_then(bands::p95_band).into_iter().collect(),
                    ..percentiles_chart(lat, win_s)
                };
                let latency_click = time_chart(&mut cols[1], "overview_latency", &latency, 220.0);
                action.export_if(rate_click.export, || ExportItem::Chart(rate.clone()));
                action.export_if(latency_click.export, || ExportItem::Chart(latency.clone()));
                action.annotate_if(rate_click.annotate.or(latency_click.annotate));
                let (rate_click, latency_click) = (rate_click.clicked_x, latency_click.clicked_x);
                if let (Some(x), Some(b)) = (rate_click.or(latency_click), bucket) {
                    action.push(Action::Drill(Drill::bucket_at(x, b)));
                }
            });
            ui.add_space(10.0);
            if let (Some(answer), Some(b)) = (&anomalies, bucket) {
                if let Some(e) = &answer.error {
                    ui.colored_label(palette::BAD, format!("Anomalies: {e}"));
                }
                if let Some(found) = answer.value.as_deref().map(|j| &j.anomalies) {
                    let table = anomaly_table(found, ANOMALIES_SHOWN);
                    if found.is_empty() {
                        ui.label("No anomalies: every figure stayed within its expected band.");
                    } else {
                        let (clicked, export) = anomaly_list(ui, &table);
                        if let Some((start, model)) = clicked {
                            action.push(Action::Drill(Drill {
                                period: Some((start, start + b)),
                                model,
                                ..Drill::default()
                            }));
                        }
                        action.export_if(export, || ExportItem::Table(table.clone()));
                    }
                }
                ui.add_space(10.0);
            }
            ui.columns(2, |cols| {
                if let Some(rows) = models.value.as_deref() {
                    let table = model_breakdown(rows);
                    let (click, export) = model_table(&mut cols[0], &table, all_models);
                    match click {
                        Some(ModelClick::Model(m)) => action.push(Action::FilterModel(m)),
                        // A model's failed calls: their traces.
                        Some(ModelClick::Errors(m)) => action.push(Action::Drill(Drill {
                            model: Some(m),
                            errors: Some(None),
                            ..Drill::default()
                        })),
                        None => {}
                    }
                    action.export_if(export, || ExportItem::Table(table.clone()));
                }
                for (id, title, answer) in [
                    ("slowest_traces", "Slowest traces", &slowest),
                    ("latest_traces", "Latest traces", &recent),
                ] {
                    if let Some((rows, _)) = answer.value.as_deref() {
                        let table = trace_table(title, rows);
                        let (open, export) = trace_list(&mut cols[1], id, &table);
                        if let Some(trace_id) = open {
                            action.push(Action::OpenTrace {
                                trace_id,
                                highlights: Vec::new(),
                            });
                        }
                        action.export_if(export, || ExportItem::Table(table.clone()));
                    }
                    cols[1].add_space(10.0);
                }
            });
        });
        action
    }
}

/// Per-bucket totals behind the sparklines.
#[derive(Default, Clone, Copy)]
struct Bucket {
    requests: f64,
    errors: f64,
    tokens: f64,
    cost: f64,
}

/// Draws the Overview for `resolved`, asking `cache` for everything it shows.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn bucket_totals(points: &[SeriesPoint]) -> BTreeMap<i64, Bucket> {
    let mut out: BTreeMap<i64, Bucket> = BTreeMap::new();
    for p in points {
        let b = out.entry(p.bucket_start_ns).or_default();
        b.requests += p.requests as f64;
        b.errors += p.errors as f64;
        b.tokens += (p.input_tokens + p.output_tokens) as f64;
        b.cost += p.cost_usd;
    }
    out
}

/// What a figure of no calls shows.
const NO_CALLS: &str = "—";

/// The worst anomalies the Overview lists.
const ANOMALIES_SHOWN: usize = 8;

/// Lines drawn by name; the other models are summed into one "other" line so that the
/// legend stays readable.
const TOP_MODELS: usize = 6;

/// What the time-to-first-token card shows: the selection's, the previous period's,
/// and its p95 over time.
struct FirstTokenCard<'a> {
    now: &'a FirstTokenSummary,
    before: Option<&'a FirstTokenSummary>,
    trend: &'a [LatencyPoint],
}

#[allow(clippy::too_many_arguments)]
fn kpi_row(
    ui: &mut Ui,
    s: &Summary,
    prev: Option<&Summary>,
    secs: f64,
    bucket_ns: i64,
    buckets: &BTreeMap<i64, Bucket>,
    lat: &[LatencyPoint],
    first_token: Option<FirstTokenCard<'_>>,
) {
    let per = |v: f64| if secs > 0.0 { v / secs } else { 0.0 };
    let bucket_s = bucket_ns as f64 / 1e9;
    let trend = |f: fn(&Bucket) -> f64| buckets.values().map(f).collect::<Vec<_>>();
    let change = |now: f64, before: Option<f64>| {
        before.and_then(|b| format::change(now, b).map(|t| (t, now - b)))
    };
    let tokens = (s.input_tokens + s.output_tokens) as f64;
    let error_rate = ratio(s.errors, s.llm_calls);
    // Latency and error rate of no calls are unknown, not zero.
    let known = |text: String| if s.llm_calls == 0 { NO_CALLS.into() } else { text };
    let cost_per_hour = per(s.cost_usd) * 3600.0;
    let cost_detail = if s.unpriced_calls > 0 {
        format!(
            "{} in range · {} calls unpriced",
            format::usd(s.cost_usd),
            format::integer(s.unpriced_calls)
        )
    } else {
        format!("{} in range", format::usd(s.cost_usd))
    };
    let mut cards = vec![
        Kpi {
            title: "Requests/s",
            value: format::per_second(per(s.llm_calls as f64)),
            detail: format!("{} LLM calls", format::integer(s.llm_calls)),
            change: change(s.llm_calls as f64, prev.map(|p| p.llm_calls as f64)),
            better: Better::Neutral,
            trend: trend(|b| b.requests).iter().map(|v| v / bucket_s).collect(),
            color: palette::OKABE_ITO[0],
        },
        Kpi {
            title: "Tokens/s",
            value: format::per_second(per(tokens)),
            detail: format!(
                "{} in · {} out",
                format::count(s.input_tokens as f64),
                format::count(s.output_tokens as f64)
            ),
            change: change(
                tokens,
                prev.map(|p| (p.input_tokens + p.output_tokens) as f64),
            ),
            better: Better::Neutral,
            trend: trend(|b| b.tokens).iter().map(|v| v / bucket_s).collect(),
            color: palette::OKABE_ITO[4],
        },
        Kpi {
            title: "Avg latency",
            value: known(format::millis(s.avg_latency_ms)),
            detail: format!(
                "p50 {}",
                known(format::percentile(s.latency_ms[0], s.latency_approximate))
            ),
            change: change(
                s.avg_latency_ms,
                prev.filter(|p| p.llm_calls > 0 && s.llm_calls > 0).map(|p| p.avg_latency_ms),
            ),
            better: Better::Lower,
            trend: lat.iter().map(|p| p.avg_ms).collect(),
            color: palette::P50,
        },
        Kpi {
            title: "p95 latency",
            value: known(format::percentile(s.latency_ms[1], s.latency_approximate)),
            detail: format!(
                "p99 {}",
                known(format::percentile(s.latency_ms[2], s.latency_approximate))
            ),
            change: change(
                s.latency_ms[1],
                prev.filter(|p| p.llm_calls > 0 && s.llm_calls > 0).map(|p| p.latency_ms[1]),
            ),
            better: Better::Lower,
            trend: lat.iter().map(|p| p.p95_ms).collect(),
            color: palette::P95,
        },
        Kpi {
            title: "Error rate",
            value: known(format::percent(error_rate)),
            detail: format!("{} errors", format::integer(s.errors)),
            change: change(
                error_rate,
                prev.filter(|p| p.llm_calls > 0 && s.llm_calls > 0)
                    .map(|p| ratio(p.errors, p.llm_calls)),
            ),
            better: Better::Lower,
            trend: trend(|b| {
                if b.requests > 0.0 {
                    b.errors / b.requests
                } else {
                    0.0
                }
            }),
            color: palette::BAD,
        },
        Kpi {
            title: "Cost/hour",
            value: format!("{}/h", format::usd(cost_per_hour)),
            detail: cost_detail,
            change: change(s.cost_usd, prev.map(|p| p.cost_usd)),
            better: Better::Lower,
            trend: trend(|b| b.cost)
                .iter()
                .map(|v| v / bucket_s * 3600.0)
                .collect(),
            color: palette::OKABE_ITO[2],
        },
    ];
    if let Some(f) = first_token {
        let p95 = f.now.ttft_ms[1];
        cards.push(Kpi {
            title: "Time to first token p95",
            value: format::percentile(p95, f.now.approximate),
            detail: format!(
                "p50 {} · {} streamed",
                format::percentile(f.now.ttft_ms[0], f.now.approximate),
                format::integer(f.now.calls)
            ),
            change: change(p95, f.before.filter(|b| b.calls > 0).map(|b| b.ttft_ms[1])),
            better: Better::Lower,
            trend: f.trend.iter().map(|p| p.p95_ms).collect(),
            color: palette::PHASES[1],
        });
    }
    let n = cards.len() as f32;
    let gap = ui.spacing().item_spacing.x;
    let width = ((ui.available_width() - gap * n - n * 22.0) / n).clamp(130.0, 260.0);
    ui.horizontal_wrapped(|ui| {
        for k in &cards {
            kpi_card(ui, k, width);
        }
    });
}
