//! Costs: what the range cost, per hour and projected per day; cost by model with
//! shares; cost over time stacked by model; the models without a price, and the price
//! editor that fixes them — a price set here applies to all history at once and is saved
//! to the user's price file.

use crate::gui::cache::QueryCache;
use crate::gui::export::ExportItem;
use crate::gui::export::chart::{BandOf, Bar, ChartData, ChartKind};
use crate::gui::filter_state::Resolved;
use super::bands;
use super::shared::{reading, chart_markers, chart_window, model_series, per_model, seconds, series, summary};
use super::{Action, View, ViewAction, ViewCtx};
use crate::gui::widgets::bars::bars;
use crate::gui::widgets::kpi_card::{Better, Kpi, kpi_card};
use crate::gui::widgets::series_chart::time_chart;
use crate::gui::palette;
use crate::format;
use egui::{Grid, RichText, ScrollArea, TextEdit, Ui};
use store::anomaly::Metric;
use store::{ModelRow, Price, PriceTable};

/// Models drawn by name in the cost-over-time chart; the rest are "other".
const TOP_MODELS: usize = 6;

/// The Costs view and its price editor.
#[derive(Default)]
pub struct CostsView {
    editor: Option<PriceForm>,
}

/// The price editor's fields as typed.
#[derive(Default)]
struct PriceForm {
    model: String,
    input: String,
    output: String,
    cache_read: String,
    cache_write: String,
    error: Option<String>,
}

impl PriceForm {
    /// A form for `model`, filled with its current price when it has one.
    fn for_model(model: &str, prices: &PriceTable) -> PriceForm {
        let p = prices.lookup(model);
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        PriceForm {
            model: model.to_string(),
            input: num(p.map(|p| p.input)),
            output: num(p.map(|p| p.output)),
            cache_read: num(p.and_then(|p| p.cache_read)),
            cache_write: num(p.and_then(|p| p.cache_write)),
            error: None,
        }
    }

    /// The price typed, or what is wrong with it.
    fn price(&self) -> Result<(String, Price), String> {
        let model = self.model.trim();
        if model.is_empty() {
            return Err("name the model".into());
        }
        let parse = |what: &str, text: &str| -> Result<Option<f64>, String> {
            let t = text.trim();
            if t.is_empty() {
                return Ok(None);
            }
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                _ => Err(format!(
                    "{what}: {t:?} is not a price (USD per million tokens, e.g. 2.5)"
                )),
            }
        };
        let input = parse("Input", &self.input)?.ok_or("Input: a price is needed")?;
        let output = parse("Output", &self.output)?.ok_or("Output: a price is needed")?;
        Ok((
            model.to_string(),
            Price {
                input,
                output,
                cache_read: parse("Cache read", &self.cache_read)?,
                cache_write: parse("Cache write", &self.cache_write)?,
            },
        ))
    }
}

impl View for CostsView {
    fn ui(&mut self, ui: &mut Ui, ctx: &ViewCtx<'_>) -> ViewAction {
        self.draw(ui, ctx.cache, ctx.resolved, ctx.models, ctx.prices)
    }
}

impl CostsView {
    /// Draws the view; `prices` are the prices in force (to fill the editor).
    fn draw(
        &mut self,
        ui: &mut Ui,
        cache: &QueryCache,
        resolved: &Resolved,
        all_models: &[String],
        prices: &PriceTable,
    ) -> ViewAction {
        let mut action = ViewAction::default();
        let summary = summary(cache, resolved);
        let models = per_model(cache, resolved);
        let window = chart_window(resolved, summary.as_deref(), 60);
        let series = window.and_then(|(_, bucket)| series(cache, resolved, bucket));
        if let Some(form) = &mut self.editor
            && let Some((model, price)) = price_editor(ui, form)
        {
            action.push(Action::SetPrice(model, price));
            self.editor = None;
        }
        ScrollArea::vertical().show(ui, |ui| {
            let (Some(s), Some(rows)) = (summary.as_deref(), models.value.as_deref()) else {
                reading(ui);
                return;
            };
            action.showed_data = true;
            let secs = window.map_or(0.0, |((a, b), _)| (b - a) as f64 / 1e9);
            let per_hour = if secs > 0.0 {
                s.cost_usd / secs * 3600.0
            } else {
                0.0
            };
            ui.horizontal_wrapped(|ui| {
                for k in [
                    Kpi {
                        title: "Cost in range",
                        value: format::usd(s.cost_usd),
                        detail: format!("{} LLM calls", format::integer(s.llm_calls)),
                        change: None,
                        better: Better::Lower,
                        trend: Vec::new(),
                        color: palette::OKABE_ITO[2],
                    },
                    Kpi {
                        title: "Cost/hour",
                        value: format!("{}/h", format::usd(per_hour)),
                        detail: format!("over {}", format::span_ns((secs * 1e9) as i64)),
                        change: None,
                        better: Better::Lower,
                        trend: Vec::new(),
                        color: palette::OKABE_ITO[2],
                    },
                    Kpi {
                        title: "Projected cost/day",
                        value: format!("{}/day", format::usd(per_hour * 24.0)),
                        detail: "at this range's rate".into(),
                        change: None,
                        better: Better::Lower,
                        trend: Vec::new(),
                        color: palette::OKABE_ITO[2],
                    },
                    Kpi {
                        title: "Unpriced calls",
                        value: format::integer(s.unpriced_calls),
                        detail: match s.unpriced_models.len() {
                            1 => "1 model without a price".to_string(),
                            n => format!("{n} models without a price"),
                        },
                        change: None,
                        better: Better::Lower,
                        trend: Vec::new(),
                        color: if s.unpriced_calls > 0 {
                            palette::WARN
                        } else {
                            palette::GOOD
                        },
                    },
                ] {
                    kpi_card(ui, &k, 200.0);
                }
            });
            ui.add_space(10.0);
            if s.unpriced_calls > 0 {
                self.unpriced(ui, rows, prices);
                ui.add_space(10.0);
            }
            let by_model = cost_bars(rows, all_models);
            let export = bars(ui, &by_model);
            action.export_if(export, || ExportItem::Chart(by_model.clone()));
            ui.add_space(12.0);
            if let (Some((w, bucket)), Some(points)) = (window, series.as_deref()) {
                let chart = ChartData {
                    title: "Cost over time by model".into(),
                    kind: ChartKind::StackedTime {
                        series: model_series(points, TOP_MODELS, all_models, |p| p.cost_usd),
                        bucket_s: bucket as f64 / 1e9,
                    },
                    unit: format::usd,
                    window: Some(seconds(w)),
                    markers: chart_markers(cache, seconds(w)),
                    value_span: None,
                    bands: bands::judgement(cache, &resolved.filter, w, bucket)
                        .and_then(|j| {
                            let figure = (Metric::Cost, None);
                            bands::band(&j, figure, BandOf::Total, palette::TOTAL_BAND, |_, v| Some(v))
                        })
                        .into_iter()
                        .collect(),
                };
                let r = time_chart(ui, "cost_over_time", &chart, 220.0);
                action.annotate_if(r.annotate);
                action.export_if(r.export, || ExportItem::Chart(chart.clone()));
            }
            ui.add_space(12.0);
            if ui.button("Edit a model's price…").clicked() {
                self.editor = Some(PriceForm::default());
            }
        });
        action
    }

    /// The models whose calls have no price, each with a button to add one.
    fn unpriced(&mut self, ui: &mut Ui, rows: &[ModelRow], prices: &PriceTable) {
        ui.label(
            RichText::new("Calls without a price (not counted in the costs above)")
                .strong()
                .color(palette::WARN),
        );
        Grid::new("unpriced_models").striped(true).show(ui, |ui| {
            for r in rows.iter().filter(|r| r.unpriced_calls > 0) {
                ui.label(&r.model);
                ui.label(format!("{} calls", format::integer(r.unpriced_calls)));
                let name = format!("Set a price for {}", r.model);
                let b = ui.button("Add price");
                b.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, &name)
                });
                if b.on_hover_text(name).clicked() {
                    self.editor = Some(PriceForm::for_model(&r.model, prices));
                }
                ui.end_row();
            }
        });
    }
}

/// The price editor; returns the price to set when saved.
fn price_editor(ui: &mut Ui, form: &mut PriceForm) -> Option<(String, Price)> {
    let mut saved = None;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(RichText::new("Model price (USD per million tokens)").strong());
        Grid::new("price_form").num_columns(2).show(ui, |ui| {
            for (label, field, hint) in [
                ("Model", &mut form.model, "gpt-4o"),
                ("Input", &mut form.input, "2.5"),
                ("Output", &mut form.output, "10"),
                ("Cache read", &mut form.cache_read, "input price"),
                ("Cache write", &mut form.cache_write, "input price"),
            ] {
                let l = ui.label(label);
                ui.add(TextEdit::singleline(field).hint_text(hint).desired_width(200.0))
                    .labelled_by(l.id);
                ui.end_row();
            }
        });
        ui.label(
            RichText::new("Applies to every stored call of this model (and its dated variants) at once, and is saved to your price file.")
                .weak(),
        );
        if let Some(e) = &form.error {
            ui.colored_label(palette::BAD, e);
        }
        if ui.button("Save price").clicked() {
            match form.price() {
                Ok(p) => saved = Some(p),
                Err(e) => form.error = Some(e),
            }
        }
    });
    saved
}

/// Cost per model, busiest spender first.
fn cost_bars(rows: &[ModelRow], all_models: &[String]) -> ChartData {
    let mut rows: Vec<&ModelRow> = rows.iter().filter(|r| r.cost_usd > 0.0).collect();
    rows.sort_by(|a, b| b.cost_usd.total_cmp(&a.cost_usd));
    ChartData {
        title: "Cost by model".into(),
        kind: ChartKind::Bars(
            rows.iter()
                .map(|r| Bar {
                    label: r.model.clone(),
                    segments: vec![(
                        "cost".into(),
                        r.cost_usd,
                        palette::model_color(&r.model, all_models),
                    )],
                })
                .collect(),
        ),
        unit: format::usd,
        window: None,
        markers: Vec::new(),
        value_span: None,
        bands: Vec::new(),
    }
}
