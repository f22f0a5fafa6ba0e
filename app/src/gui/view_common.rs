//! What the analytics views share: the action a view hands back to the window, the time
//! window and bucket its charts use, and series by model (the busiest by name, the rest
//! summed as "other").

use super::cache::{Answer, QueryCache};
use super::export::chart::{Marker, Series};
use super::export::{ExportItem, FileKind};
use super::filter_state::{Resolved, bucket_ns};
use super::palette;
use std::collections::BTreeMap;
use store::{ModelRow, SeriesPoint, Summary};

/// Where a drill-down leads: the Traces view with these conditions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drill {
    /// The period, Unix ns (from, to).
    pub period: Option<(i64, i64)>,
    /// A latency band in ms: from (inclusive), to (exclusive; none for open-ended).
    pub latency_ms: Option<(f64, Option<f64>)>,
    /// Only this model.
    pub model: Option<String>,
    /// Only failed calls, and of this error type when given.
    pub errors: Option<Option<String>>,
}

impl Drill {
    /// The traces of the bucket of `bucket_ns` holding `x` (Unix seconds, as a chart
    /// reports a click).
    pub fn bucket_at(x: f64, bucket_ns: i64) -> Drill {
        let start = ((x * 1e9) as i64).div_euclid(bucket_ns) * bucket_ns;
        Drill {
            period: Some((start, start + bucket_ns)),
            ..Drill::default()
        }
    }
}

/// What the user asked for in a view.
#[derive(Debug, Default)]
pub struct ViewAction {
    /// Save a chart or table.
    pub export: Option<(ExportItem, FileKind)>,
    /// Show these traces.
    pub drill: Option<Drill>,
    /// Filter everything to this model.
    pub model: Option<String>,
    /// Whether figures were on screen.
    pub showed_data: bool,
}

impl ViewAction {
    /// Records an export of `item` when `kind` was asked for.
    pub fn export_if(&mut self, kind: Option<FileKind>, item: impl FnOnce() -> ExportItem) {
        if let Some(k) = kind {
            self.export = Some((item(), k));
        }
    }
}

/// The call summary of the selection (the Overview's query, shared through the cache).
pub fn summary(cache: &QueryCache, resolved: &Resolved) -> Option<std::sync::Arc<Summary>> {
    let f = resolved.filter.clone();
    let key = format!("{f:?}");
    cache
        .get("overview.summary", key, move |r| r.call_summary(&f))
        .value
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
    let f = resolved.filter.clone();
    cache.get("overview.models", format!("{f:?}"), move |r| {
        r.per_model(&f)
    })
}

/// Calls, errors, tokens and cost per bucket of `bucket_ns` and model.
pub fn series(
    cache: &QueryCache,
    resolved: &Resolved,
    bucket_ns: i64,
) -> Option<std::sync::Arc<Vec<SeriesPoint>>> {
    let f = resolved.filter.clone();
    cache
        .get("overview.series", format!("{f:?}|{bucket_ns}"), move |r| {
            r.time_series(&f, bucket_ns)
        })
        .value
}

/// A marker for each alert that fired within `window` (Unix seconds), for the time
/// charts.
pub fn alert_markers(cache: &QueryCache, window: (f64, f64)) -> Vec<Marker> {
    let history = cache
        .get("alerts.history", String::new(), |r| {
            r.alert_history(None, 500)
        })
        .value;
    history
        .as_deref()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter(|e| e.state == "firing")
        .map(|e| Marker {
            x: e.time_ns as f64 / 1e9,
            color: super::alerts_view::severity_color(&e.severity),
            label: format!("alert: {}", e.rule),
        })
        .filter(|m| (window.0..=window.1).contains(&m.x))
        .collect()
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
