//! The expected bands of the figures the anomaly list judges, in the units the time
//! charts draw them: one query (the Overview's anomaly list reads the same, cached)
//! gives every chart of a window its bands, so a ringed point is one the list names.

use crate::gui::cache::QueryCache;
use crate::gui::export::chart::{BandOf, BandPoint, ChartBand};
use crate::gui::queries::Anomalies;
use egui::Color32;
use std::sync::Arc;
use store::Filter;
use store::anomaly::{Judgement, Metric};

/// The judgement of a chart's window (Unix ns) in its buckets.
pub fn judgement(
    cache: &QueryCache,
    filter: &Filter,
    window: (i64, i64),
    bucket_ns: i64,
) -> Option<Arc<Judgement>> {
    cache
        .get::<Anomalies>((filter.clone(), window, bucket_ns))
        .value
}

/// One figure's band (`model` `None`: all calls) for the chart figure `of`, each bound
/// converted by `scale(bucket_start_ns, value)` into the chart's unit (a count into a
/// rate; `None` leaves the bucket out); `None` when the figure was not judged.
pub fn band(
    judgement: &Judgement,
    (metric, model): (Metric, Option<&str>),
    of: BandOf,
    color: Color32,
    scale: impl Fn(i64, f64) -> Option<f64>,
) -> Option<ChartBand> {
    let bands = judgement.bands_of(metric, model)?;
    let points: Vec<BandPoint> = bands
        .judged()
        .filter_map(|(start, b)| {
            Some(BandPoint {
                x: start as f64 / 1e9,
                low: scale(start, b.low)?,
                high: scale(start, b.high)?,
                expected: scale(start, b.expected)?,
                baseline: b.baseline,
            })
        })
        .collect();
    (!points.is_empty()).then(|| ChartBand {
        of,
        color,
        bucket_s: bands.bucket_ns as f64 / 1e9,
        points,
    })
}

/// The band of the p95 latency of all calls, for a percentiles chart's "p95" line.
pub fn p95_band(judgement: &Judgement) -> Option<ChartBand> {
    band(
        judgement,
        (Metric::P95Latency, None),
        BandOf::Series("p95".into()),
        crate::gui::palette::P95,
        |_, v| Some(v),
    )
}
