//! What the analytics views share: the queries most of them show, the time window and
//! bucket their charts use, and series by model (the busiest by name, the rest summed as
//! "other").

use crate::gui::cache::{Answer, QueryCache};
use crate::gui::export::chart::{Marker, Series};
use crate::gui::filter_state::{Resolved, bucket_ns};
use crate::gui::palette;
use crate::gui::queries::{
    AlertHistory, CallSummary, PerModel, Series as SeriesQuery, TimeAnnotations,
};
use std::collections::BTreeMap;
use store::{ModelRow, SeriesPoint, Summary};

/// The call summary of the selection (the Overview's query, shared through the cache).
pub fn summary(cache: &QueryCache, resolved: &Resolved) -> Option<std::sync::Arc<Summary>> {
    cache.get::<CallSummary>(resolved.filter.clone()).value
}

/// The time window charted (the range, or for "All" the data's extent) in Unix ns, and
/// a bucket giving about `buckets` bars or points across it.
pub fn chart_window(
    resolved: &Resolved,
    summary: Option<&Summary>,
    buckets: i64,
) -> Option<((i64, i64), i64)> {
    let window = resolved.window.or_else(|| {
        summary
            .and_then(|s| s.first_start_ns.zip(s.last_end_ns))
            .filter(|(a, b)| b > a)
    })?;
    Some((window, bucket_ns(window.1 - window.0, buckets)))
}

/// The selection broken down by model (shared by every view that shows models).
pub fn per_model(cache: &QueryCache, resolved: &Resolved) -> Answer<Vec<ModelRow>> {
    cache.get::<PerModel>(resolved.filter.clone())
}

/// Calls, errors, tokens and cost per bucket of `bucket_ns` and model.
pub fn series(
    cache: &QueryCache,
    resolved: &Resolved,
    bucket_ns: i64,
) -> Option<std::sync::Arc<Vec<SeriesPoint>>> {
    cache
        .get::<SeriesQuery>((resolved.filter.clone(), bucket_ns))
        .value
}

/// A marker for each alert that fired within `window` (Unix seconds) and for each
/// note people pinned to a moment or stretch touching it, for the time charts.
pub fn chart_markers(cache: &QueryCache, window: (f64, f64)) -> Vec<Marker> {
    let history = cache.get::<AlertHistory>(()).value;
    let notes = cache.get::<TimeAnnotations>(()).value;
    let alerts = history
        .as_deref()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|e| e.state == "firing")
        .map(|e| Marker {
            x: e.time_ns as f64 / 1e9,
            until: None,
            color: palette::severity(&e.severity),
            label: format!("alert: {}", e.rule),
        })
        .filter(|m| (window.0..=window.1).contains(&m.x));
    let notes = notes
        .as_deref()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|n| Marker {
            x: n.from_ns as f64 / 1e9,
            until: (n.to_ns > n.from_ns).then_some(n.to_ns as f64 / 1e9),
            color: palette::NOTE,
            label: n.text.clone(),
        })
        .filter(|m| m.x <= window.1 && m.until.unwrap_or(m.x) >= window.0);
    alerts.chain(notes).collect()
}

/// What a view shows while its first answer is being computed.
pub fn reading(ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.spinner();
        ui.label("Reading the database…");
    });
}

/// A window in Unix seconds, as charts take it.
pub fn seconds(window: (i64, i64)) -> (f64, f64) {
    (window.0 as f64 / 1e9, window.1 as f64 / 1e9)
}

/// Series named by model: one per busiest model (`top` of them, by `value` summed), the
/// rest summed into "other (N models)", each point `value` of a bucket.
pub fn model_series(
    points: &[SeriesPoint],
    top: usize,
    all_models: &[String],
    value: impl Fn(&SeriesPoint) -> f64,
) -> Vec<Series> {
    let mut totals: BTreeMap<&str, f64> = BTreeMap::new();
    for p in points {
        *totals.entry(&p.model).or_default() += value(p);
    }
    let mut ranked: Vec<(&str, f64)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let named: Vec<&str> = ranked.iter().take(top).map(|(m, _)| *m).collect();
    let mut lines: BTreeMap<Option<&str>, BTreeMap<i64, f64>> = BTreeMap::new();
    for p in points {
        let line = named
            .contains(&p.model.as_str())
            .then_some(p.model.as_str());
        *lines
            .entry(line)
            .or_default()
            .entry(p.bucket_start_ns)
            .or_default() += value(p);
    }
    let mut order: Vec<Option<&str>> = named.iter().map(|m| Some(*m)).collect();
    order.push(None);
    order
        .into_iter()
        .filter_map(|line| {
            let buckets = lines.remove(&line)?;
            Some(Series {
                name: match line {
                    Some(m) => m.to_string(),
                    None => {
                        let n = ranked.len() - top;
                        format!("other ({n} model{})", if n == 1 { "" } else { "s" })
                    }
                },
                color: match line {
                    Some(m) => palette::model_color(m, all_models),
                    None => palette::OTHER,
                },
                points: buckets
                    .into_iter()
                    .map(|(b, v)| [b as f64 / 1e9, v])
                    .collect(),
            })
        })
        .collect()
}

/// A table whose first column names models: each row with its model's colour, the name a
/// link that filters every view by the model, the table exportable; `tint` colours
/// cells (red error counts).
pub fn model_rows(
    ui: &mut egui::Ui,
    id: &str,
    table: &crate::gui::export::table::TableData,
    models: &[String],
    tint: Option<crate::gui::widgets::data_table::CellColor<'_>>,
    action: &mut super::ViewAction,
) {
    use crate::gui::export::table::Cell;
    use crate::gui::widgets::data_table::{TableLook, data_table};
    let swatch = |row: &[Cell]| Some(palette::model_color(&row[0].shown, models));
    let r = data_table(
        ui,
        id,
        table,
        &TableLook {
            links: &[0],
            link_if: None,
            swatch: Some(&swatch),
            tint,
        },
    );
    action.export_if(r.export, || {
        crate::gui::export::ExportItem::Table(table.clone())
    });
    if let Some((row, _)) = r.clicked {
        action.push(super::Action::FilterModel(row[0].shown.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(bucket: i64, model: &str, requests: u64) -> SeriesPoint {
        SeriesPoint {
            bucket_start_ns: bucket,
            model: model.into(),
            requests,
            ..SeriesPoint::default()
        }
    }

    #[test]
    fn the_busiest_models_get_lines_and_the_rest_are_summed() {
        let points = vec![
            point(0, "a", 10),
            point(0, "b", 5),
            point(0, "c", 1),
            point(1_000_000_000, "c", 2),
        ];
        let s = model_series(&points, 2, &[], |p| p.requests as f64);
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "other (1 model)"]);
        assert_eq!(s[2].points, vec![[0.0, 1.0], [1.0, 2.0]]);
    }
}
