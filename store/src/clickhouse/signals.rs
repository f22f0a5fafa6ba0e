//! Logs and metrics in the Collector's tables (`otel_logs`, `otel_metrics_*`): their
//! DDL (the exporter's, see `exporter_signals_ddl.sql`) and their rows as the exporter
//! inserts them. Tables the Collector made with an older or newer layout take the
//! rows too: columns they lack are skipped, columns we do not send get defaults.

use super::http::Client;
use super::rows::{Pairs, timestamp};
use crate::collector_signals::{
    CollectorExemplar, CollectorLog, CollectorMetricPoint, CollectorMetricValue, CollectorOrigin,
};
use crate::error::ClickHouseError;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The exporter's DDL for the log and metric tables (see the file).
const SIGNALS_DDL: &str = include_str!("exporter_signals_ddl.sql");

/// The columns every metric table starts with.
const COMMON: &str = "    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName String CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1)),";

/// The exemplars of the gauge, sum and histogram tables.
const EXEMPLARS: &str = "    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),";

/// The skipping indexes of every metric table.
const INDEXES: &str =
    "    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1";

/// The partitioning and order of every metric table.
const ORDER: &str = "PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";

/// The statements creating the log and metric tables in `database`, where missing.
pub(super) fn statements(database: &str) -> Vec<String> {
    let text: String = SIGNALS_DDL
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.replace("{db}", database)
        .replace("{common}", COMMON)
        .replace("{exemplars}", EXEMPLARS)
        .replace("{indexes}", INDEXES)
        .replace("{order}", ORDER)
        .split("\n;\n")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Inserts log records into `otel_logs`; returns once ClickHouse acknowledged them.
pub(super) fn insert_logs(client: &Client, logs: &[CollectorLog]) -> Result<(), ClickHouseError> {
    if logs.is_empty() {
        return Ok(());
    }
    let mut data = Vec::new();
    for l in logs {
        let o = &l.origin;
        let row = json!({
            "Timestamp": timestamp(l.time_ns),
            "TraceId": l.trace_id,
            "SpanId": l.span_id,
            "TraceFlags": l.trace_flags,
            "SeverityText": l.severity_text,
            "SeverityNumber": l.severity_number,
            "ServiceName": o.service,
            "Body": l.body,
            "ResourceSchemaUrl": o.resource_schema_url,
            "ResourceAttributes": Pairs(&o.resource_attributes),
            "ScopeSchemaUrl": o.scope_schema_url,
            "ScopeName": o.scope_name,
            "ScopeVersion": o.scope_version,
            "ScopeAttributes": Pairs(&o.scope_attributes),
            "LogAttributes": Pairs(&l.attributes),
        });
        serde_json::to_writer(&mut data, &row).expect("rows serialize");
        data.push(b'\n');
    }
    let table = format!("{}.otel_logs", client.endpoint().database);
    client.insert_lenient(&table, "JSONEachRow", &data)
}

/// Inserts metric points, each into the table of its kind; returns once ClickHouse
/// acknowledged them all.
pub(super) fn insert_metrics(
    client: &Client,
    points: &[CollectorMetricPoint],
) -> Result<(), ClickHouseError> {
    let mut by_table: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for p in points {
        let data = by_table.entry(p.table_suffix()).or_default();
        serde_json::to_writer(&mut *data, &metric_row(p)).expect("rows serialize");
        data.push(b'\n');
    }
    for (suffix, data) in by_table {
        let table = format!("{}.otel_metrics_{suffix}", client.endpoint().database);
        client.insert_lenient(&table, "JSONEachRow", &data)?;
    }
    Ok(())
}

/// The columns of a metric point's row.
fn metric_row(p: &CollectorMetricPoint) -> Value {
    let o: &CollectorOrigin = &p.origin;
    let mut row = Map::new();
    let mut put = |k: &str, v: Value| {
        row.insert(k.to_string(), v);
    };
    put("ResourceAttributes", json!(Pairs(&o.resource_attributes)));
    put("ResourceSchemaUrl", json!(o.resource_schema_url));
    put("ScopeName", json!(o.scope_name));
    put("ScopeVersion", json!(o.scope_version));
    put("ScopeAttributes", json!(Pairs(&o.scope_attributes)));
    put("ScopeDroppedAttrCount", json!(o.scope_dropped_attr_count));
    put("ScopeSchemaUrl", json!(o.scope_schema_url));
    put("ServiceName", json!(o.service));
    put("MetricName", json!(p.name));
    put("MetricDescription", json!(p.description));
    put("MetricUnit", json!(p.unit));
    put("Attributes", json!(Pairs(&p.attributes)));
    put("StartTimeUnix", json!(timestamp(p.start_ns)));
    put("TimeUnix", json!(timestamp(p.time_ns)));
    put("Flags", json!(p.flags));
    match &p.value {
        CollectorMetricValue::Gauge(v) => put("Value", finite(*v)),
        CollectorMetricValue::Sum {
            value,
            temporality,
            monotonic,
        } => {
            put("Value", finite(*value));
            put("AggregationTemporality", json!(temporality));
            put("IsMonotonic", json!(monotonic));
        }
        CollectorMetricValue::Histogram {
            count,
            sum,
            bucket_counts,
            explicit_bounds,
            min,
            max,
            temporality,
        } => {
            put("Count", json!(count));
            put("Sum", finite(*sum));
            put("BucketCounts", json!(bucket_counts));
            put(
                "ExplicitBounds",
                Value::Array(explicit_bounds.iter().map(|b| finite(*b)).collect()),
            );
            put("Min", finite(*min));
            put("Max", finite(*max));
            put("AggregationTemporality", json!(temporality));
        }
        CollectorMetricValue::ExponentialHistogram {
            count,
            sum,
            scale,
            zero_count,
            positive_offset,
            positive_counts,
            negative_offset,
            negative_counts,
            min,
            max,
            temporality,
        } => {
            put("Count", json!(count));
            put("Sum", finite(*sum));
            put("Scale", json!(scale));
            put("ZeroCount", json!(zero_count));
            put("PositiveOffset", json!(positive_offset));
            put("PositiveBucketCounts", json!(positive_counts));
            put("NegativeOffset", json!(negative_offset));
            put("NegativeBucketCounts", json!(negative_counts));
            put("Min", finite(*min));
            put("Max", finite(*max));
            put("AggregationTemporality", json!(temporality));
        }
        CollectorMetricValue::Summary {
            count,
            sum,
            quantiles,
        } => {
            put("Count", json!(count));
            put("Sum", finite(*sum));
            put(
                "ValueAtQuantiles.Quantile",
                Value::Array(quantiles.iter().map(|(q, _)| finite(*q)).collect()),
            );
            put(
                "ValueAtQuantiles.Value",
                Value::Array(quantiles.iter().map(|(_, v)| finite(*v)).collect()),
            );
        }
    }
    if !matches!(p.value, CollectorMetricValue::Summary { .. }) {
        exemplar_columns(&p.exemplars, &mut put);
    }
    Value::Object(row)
}

/// The `Exemplars.*` columns: one array per field, an element per exemplar.
fn exemplar_columns(exemplars: &[CollectorExemplar], put: &mut impl FnMut(&str, Value)) {
    let column = |f: &dyn Fn(&CollectorExemplar) -> Value| -> Value {
        Value::Array(exemplars.iter().map(f).collect())
    };
    put(
        "Exemplars.FilteredAttributes",
        column(&|e| json!(Pairs(&e.filtered_attributes))),
    );
    put(
        "Exemplars.TimeUnix",
        column(&|e| json!(timestamp(e.time_ns))),
    );
    put("Exemplars.Value", column(&|e| finite(e.value)));
    put("Exemplars.SpanId", column(&|e| json!(e.span_id)));
    put("Exemplars.TraceId", column(&|e| json!(e.trace_id)));
}

/// A float as JSON; ClickHouse reads the non-finite ones from their names.
fn finite(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else if v.is_nan() {
        json!("nan")
    } else if v > 0.0 {
        json!("inf")
    } else {
        json!("-inf")
    }
}
