//! OTLP log records and metric points in the OpenTelemetry Collector's ClickHouse
//! layout (its `otel_logs` and `otel_metrics_*` tables, as its `clickhouseexporter`
//! writes them): what `serve --clickhouse` stores beside the spans, so that a team's
//! GenAI events and metrics land where its Collector would put them. Every attribute
//! value is text, rendered as for spans. Built by `ingest::collector`, written by
//! [`crate::ClickHouse`].

use std::sync::Arc;

/// The resource and scope a record or point came from, shared by all of theirs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorOrigin {
    /// `service.name` of the resource (a string value only, as the exporter reads it).
    pub service: String,
    /// The resource's attributes.
    pub resource_attributes: Vec<(String, String)>,
    /// The resource's schema URL.
    pub resource_schema_url: String,
    /// The instrumentation scope's name.
    pub scope_name: String,
    /// Its version.
    pub scope_version: String,
    /// Its attributes.
    pub scope_attributes: Vec<(String, String)>,
    /// How many of its attributes the sender dropped.
    pub scope_dropped_attr_count: u32,
    /// Its schema URL.
    pub scope_schema_url: String,
}

/// A log record as a row of `otel_logs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorLog {
    /// Resource and scope.
    pub origin: Arc<CollectorOrigin>,
    /// When it happened, Unix ns (the observed time when the sender gave none).
    pub time_ns: i64,
    /// Hex trace id, empty when none.
    pub trace_id: String,
    /// Hex span id, empty when none.
    pub span_id: String,
    /// The W3C trace flags.
    pub trace_flags: u8,
    /// Severity as text (`INFO`).
    pub severity_text: String,
    /// Severity as a number (1–24).
    pub severity_number: u8,
    /// The body as text (maps and arrays as JSON).
    pub body: String,
    /// The record's attributes.
    pub attributes: Vec<(String, String)>,
}

/// One exemplar of a metric point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorExemplar {
    /// The attributes the aggregation dropped.
    pub filtered_attributes: Vec<(String, String)>,
    /// When it was measured, Unix ns.
    pub time_ns: i64,
    /// The measurement.
    pub value: f64,
    /// Hex span id of the span it was measured in.
    pub span_id: String,
    /// Hex trace id.
    pub trace_id: String,
}

/// What a metric point holds, by the kind of metric (each kind has its own table).
#[derive(Debug, Clone, PartialEq)]
pub enum CollectorMetricValue {
    /// A gauge's value.
    Gauge(f64),
    /// A sum's value.
    Sum {
        /// The value.
        value: f64,
        /// The proto's aggregation temporality (1 delta, 2 cumulative).
        temporality: i32,
        /// Whether it only grows.
        monotonic: bool,
    },
    /// An explicit-bucket histogram.
    Histogram {
        /// Measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Counts per bucket.
        bucket_counts: Vec<u64>,
        /// The buckets' upper bounds.
        explicit_bounds: Vec<f64>,
        /// Smallest measurement (0 when not sent).
        min: f64,
        /// Largest measurement (0 when not sent).
        max: f64,
        /// The proto's aggregation temporality.
        temporality: i32,
    },
    /// An exponential-bucket histogram.
    ExponentialHistogram {
        /// Measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// The buckets' scale.
        scale: i32,
        /// Measurements in the zero bucket.
        zero_count: u64,
        /// Index of the first positive bucket.
        positive_offset: i32,
        /// Counts of the positive buckets.
        positive_counts: Vec<u64>,
        /// Index of the first negative bucket.
        negative_offset: i32,
        /// Counts of the negative buckets.
        negative_counts: Vec<u64>,
        /// Smallest measurement (0 when not sent).
        min: f64,
        /// Largest measurement (0 when not sent).
        max: f64,
        /// The proto's aggregation temporality.
        temporality: i32,
    },
    /// A summary.
    Summary {
        /// Measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// (quantile, value) pairs.
        quantiles: Vec<(f64, f64)>,
    },
}

/// A metric point as a row of the `otel_metrics_*` table of its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorMetricPoint {
    /// Resource and scope.
    pub origin: Arc<CollectorOrigin>,
    /// The metric's name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its unit.
    pub unit: String,
    /// The point's attributes.
    pub attributes: Vec<(String, String)>,
    /// Start of the aggregation, Unix ns.
    pub start_ns: i64,
    /// When it was taken, Unix ns.
    pub time_ns: i64,
    /// The proto's data point flags.
    pub flags: u32,
    /// Exemplars (none for summaries).
    pub exemplars: Vec<CollectorExemplar>,
    /// The value, by kind.
    pub value: CollectorMetricValue,
}

impl CollectorMetricPoint {
    /// The suffix of the kind's table after `otel_metrics_` (`gauge`, `sum`,
    /// `histogram`, `exponential_histogram`, `summary`).
    pub fn table_suffix(&self) -> &'static str {
        match self.value {
            CollectorMetricValue::Gauge(_) => "gauge",
            CollectorMetricValue::Sum { .. } => "sum",
            CollectorMetricValue::Histogram { .. } => "histogram",
            CollectorMetricValue::ExponentialHistogram { .. } => "exponential_histogram",
            CollectorMetricValue::Summary { .. } => "summary",
        }
    }
}
