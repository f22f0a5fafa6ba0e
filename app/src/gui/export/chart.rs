//! A chart as data: what the window draws and what a PNG export renders are built from
//! the same value, so the exported image shows exactly the figures on screen.

use egui::Color32;

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
    /// Moments marked on a time chart (alerts that fired).
    pub markers: Vec<Marker>,
    /// Values the value axis spans whatever the data (a score's scale, 0 to 1), so
    /// that it is labelled along the scale; `None`: from 0 to the data's largest.
    pub value_span: Option<(f64, f64)>,
}

/// A vertical line on a time chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// When, Unix seconds.
    pub x: f64,
    /// Colour (the alert's severity).
    pub color: Color32,
    /// What happened.
    pub label: String,
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
