//! A chart as data: what the window draws and what a PNG export renders are built from
//! the same value, so the exported image shows exactly the figures on screen.

use egui::Color32;
use store::anomaly::{Baseline, DEVIATIONS};

/// Formats a value of the chart's unit (`245 ms`, `$1.20`).
pub type UnitFormat = fn(f64) -> String;

/// One named, coloured series of (x, y) points; x is Unix seconds on time charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Colour.
    pub color: Color32,
    /// Points, x ascending.
    pub points: Vec<[f64; 2]>,
}

/// One bar of a bar chart by category.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category (a model).
    pub label: String,
    /// Segments stacked left to right: (series name, value, colour).
    pub segments: Vec<(String, f64, Color32)>,
}

/// Counts by time bucket × latency bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatGrid {
    /// Time bucket starts, Unix seconds, ascending.
    pub times: Vec<f64>,
    /// Width of a time bucket, seconds.
    pub bucket_s: f64,
    /// Labels of the latency rows, bottom to top (`<100 ms`, `100–163 ms`, … `≥5 s`).
    pub rows: Vec<String>,
    /// `counts[t][row]`.
    pub counts: Vec<Vec<u64>>,
}

impl HeatGrid {
    /// The largest count of any cell (the top of the colour scale).
    pub fn max(&self) -> u64 {
        self.counts.iter().flatten().copied().max().unwrap_or(0)
    }
}

/// What a chart draws.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartKind {
    /// Lines over time.
    Lines(Vec<Series>),
    /// Bars per time bucket, the series stacked in order.
    StackedTime {
        /// The stacked series; their points share bucket starts.
        series: Vec<Series>,
        /// Bucket width, seconds.
        bucket_s: f64,
    },
    /// Horizontal bars, one per category, segments stacked.
    Bars(Vec<Bar>),
    /// A latency heatmap.
    Heat(HeatGrid),
}

/// A titled chart with its value unit and the time window shown.
#[derive(Debug, Clone)]
pub struct ChartData {
    /// Title (also the default file name).
    pub title: String,
    /// What is drawn.
    pub kind: ChartKind,
    /// The value axis unit.
    pub unit: UnitFormat,
    /// The time axis, Unix seconds (time charts).
    pub window: Option<(f64, f64)>,
    /// Moments marked on a time chart (alerts that fired, people's notes).
    pub markers: Vec<Marker>,
    /// The expected bands of the figures it shows (none where none is judged); their
    /// points outside are flagged.
    pub bands: Vec<ChartBand>,
    /// Values the value axis spans whatever the data (a score's scale, 0 to 1), so
    /// that it is labelled along the scale; `None`: from 0 to the data's largest.
    pub value_span: Option<(f64, f64)>,
}

/// A vertical line on a time chart, and the stretch it begins when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// When, Unix seconds.
    pub x: f64,
    /// Where the stretch it marks ends, Unix seconds (a note on a deploy window).
    pub until: Option<f64>,
    /// Colour (the alert's severity).
    pub color: Color32,
    /// What happened.
    pub label: String,
}

/// How many of a chart's bands are filled (the first: the busiest series'): more
/// overlap into a wash that hides the lines. The others still judge their series, whose
/// points outside are ringed, and state the band in the tooltip.
pub const FILLED_BANDS: usize = 2;

/// Whose expected band a [`ChartBand`] is.
#[derive(Debug, Clone, PartialEq)]
pub enum BandOf {
    /// One series, by its legend name.
    Series(String),
    /// The stack's total (stacked bars).
    Total,
}

/// The expected band of one figure of a time chart (see `store::anomaly`), in the
/// chart's unit: drawn lightly behind the figure, its points outside flagged, in the
/// window and in the PNG alike.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartBand {
    /// The figure it judges.
    pub of: BandOf,
    /// Fill colour (the series'), drawn translucent.
    pub color: Color32,
    /// The buckets' width, seconds: judged buckets farther apart are a gap.
    pub bucket_s: f64,
    /// The judged buckets, x ascending, at the x of the series' points.
    pub points: Vec<BandPoint>,
}

/// One bucket's expected band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    /// The bucket's start, Unix seconds.
    pub x: f64,
    /// Lowest value not flagged.
    pub low: f64,
    /// Highest value not flagged.
    pub high: f64,
    /// The baseline's median.
    pub expected: f64,
    /// What the band was learned from.
    pub baseline: Baseline,
}

impl BandPoint {
    /// The band in words, for a tooltip: "expected 120/s (90/s – 150/s): the median of
    /// the same time on the 6 previous days ± 4 robust deviations".
    pub fn describe(&self, unit: UnitFormat) -> String {
        format!(
            "expected {} ({} – {}): the median of {} ± {DEVIATIONS:.0} robust deviations",
            unit(self.expected),
            unit(self.low.max(0.0)),
            unit(self.high),
            self.baseline.describe()
        )
    }

    /// Whether `value` is outside the band.
    pub fn excludes(&self, value: f64) -> bool {
        value > self.high || value < self.low
    }
}

impl ChartBand {
    /// The runs of consecutive judged buckets (a band is not drawn across a gap).
    pub fn runs(&self) -> Vec<&[BandPoint]> {
        let gap = self.bucket_s * 1.5;
        let mut runs = Vec::new();
        let mut start = 0;
        for i in 1..=self.points.len() {
            if i == self.points.len() || self.points[i].x - self.points[i - 1].x > gap {
                runs.push(&self.points[start..i]);
                start = i;
            }
        }
        runs.retain(|r| !r.is_empty());
        runs
    }
}

/// A point of a time chart outside its expected band.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The series (or "total").
    pub series: String,
    /// The bucket's start, Unix seconds.
    pub x: f64,
    /// The value.
    pub y: f64,
    /// What was expected.
    pub band: BandPoint,
}

/// The same bucket start, whatever the float rounding of seconds.
fn same_x(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-3
}

impl ChartData {
    /// The band of `series` (a legend name, or "total" on stacked bars) at `x`.
    pub fn band_at(&self, series: &str, x: f64) -> Option<&BandPoint> {
        self.bands
            .iter()
            .filter(|b| match &b.of {
                BandOf::Series(name) => name == series,
                BandOf::Total => series == "total",
            })
            .flat_map(|b| b.points.iter())
            .find(|p| same_x(p.x, x))
    }

    /// The points outside their bands, band by band, oldest first.
    pub fn flags(&self) -> Vec<Flag> {
        let series: &[Series] = match &self.kind {
            ChartKind::Lines(s) | ChartKind::StackedTime { series: s, .. } => s,
            _ => return Vec::new(),
        };
        let value = |of: &BandOf, x: f64| -> Option<f64> {
            let at = |s: &Series| s.points.iter().find(|p| same_x(p[0], x)).map(|p| p[1]);
            match of {
                BandOf::Series(name) => series.iter().find(|s| &s.name == name).and_then(at),
                BandOf::Total => series.iter().filter_map(at).reduce(|a, b| a + b),
            }
        };
        self.bands
            .iter()
            .flat_map(|b| {
                b.points.iter().filter_map(move |p| {
                    let y = value(&b.of, p.x)?;
                    p.excludes(y).then(|| Flag {
                        series: match &b.of {
                            BandOf::Series(name) => name.clone(),
                            BandOf::Total => "total".into(),
                        },
                        x: p.x,
                        y,
                        band: *p,
                    })
                })
            })
            .collect()
    }
}

/// Viridis, the perceptually uniform, colour-blind-safe scale of the heatmap, at
/// `t` in 0..=1.
pub fn viridis(t: f64) -> Color32 {
    let c = plotters::style::colors::colormaps::ViridisRGB::get_color(t.clamp(0.0, 1.0));
    Color32::from_rgb(c.0, c.1, c.2)
}

/// Where a count sits on the heatmap's colour scale: logarithmic, so that a few busy
/// cells do not wash out the rest.
pub fn heat_level(count: u64, max: u64) -> f64 {
    if count == 0 || max == 0 {
        return 0.0;
    }
    ((count as f64).ln_1p() / (max as f64).ln_1p()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band(of: BandOf, xs: &[f64], low: f64, high: f64) -> ChartBand {
        ChartBand {
            of,
            color: Color32::GRAY,
            bucket_s: 60.0,
            points: xs
                .iter()
                .map(|&x| BandPoint {
                    x,
                    low,
                    high,
                    expected: (low + high) / 2.0,
                    baseline: Baseline::Seasonal { days: 6 },
                })
                .collect(),
        }
    }

    fn chart(kind: ChartKind, bands: Vec<ChartBand>) -> ChartData {
        ChartData {
            title: "t".into(),
            kind,
            unit: crate::format::millis,
            window: None,
            markers: Vec::new(),
            bands,
            value_span: None,
        }
    }

    fn series(name: &str, ys: &[f64]) -> Series {
        Series {
            name: name.into(),
            color: Color32::RED,
            points: ys
                .iter()
                .enumerate()
                .map(|(i, y)| [60.0 * i as f64, *y])
                .collect(),
        }
    }

    #[test]
    fn the_points_outside_their_band_are_flagged_and_only_those() {
        let lines = ChartKind::Lines(vec![
            series("p95", &[10.0, 50.0, 12.0, 1.0]),
            series("p50", &[90.0; 4]),
        ]);
        let c = chart(
            lines,
            vec![band(
                BandOf::Series("p95".into()),
                &[0.0, 60.0, 120.0, 180.0],
                5.0,
                20.0,
            )],
        );
        let flagged: Vec<(f64, f64)> = c.flags().iter().map(|f| (f.x, f.y)).collect();
        assert_eq!(
            flagged,
            [(60.0, 50.0), (180.0, 1.0)],
            "p50 has no band: not judged"
        );
        assert_eq!(c.band_at("p95", 120.0).map(|b| b.high), Some(20.0));
        assert_eq!(c.band_at("p50", 120.0), None);
        let text = c
            .band_at("p95", 60.0)
            .unwrap()
            .describe(crate::format::millis);
        assert!(
            text.contains("the same time on the 6 previous days ± 4"),
            "{text}"
        );
    }

    #[test]
    fn a_stack_is_judged_by_its_total_and_a_band_breaks_at_gaps() {
        let stacked = ChartKind::StackedTime {
            series: vec![series("a", &[1.0, 1.0, 6.0]), series("b", &[2.0, 9.0, 1.0])],
            bucket_s: 60.0,
        };
        let b = band(BandOf::Total, &[0.0, 60.0, 120.0], 2.0, 8.0);
        let c = chart(stacked, vec![b.clone()]);
        let flagged: Vec<(String, f64, f64)> = c
            .flags()
            .into_iter()
            .map(|f| (f.series, f.x, f.y))
            .collect();
        assert_eq!(flagged, [("total".to_string(), 60.0, 10.0)]);
        let gappy = band(BandOf::Total, &[0.0, 60.0, 240.0], 2.0, 8.0);
        let runs: Vec<usize> = gappy.runs().iter().map(|r| r.len()).collect();
        assert_eq!(runs, [2, 1]);
        assert_eq!(b.runs().len(), 1);
    }
}
