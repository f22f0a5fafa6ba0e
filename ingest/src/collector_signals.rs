//! OTLP log records and metric points in the OpenTelemetry Collector's ClickHouse row
//! layout (`otel_logs`, `otel_metrics_*`), as its `clickhouseexporter` writes them:
//! hex ids, values as text the way `pcommon.Value.AsString` renders them (see
//! [`crate::collector`]), a record without a time at its observed time, each metric
//! point in the table of its kind.

use crate::collector::{as_string, hex_or_empty, pairs};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, exemplar, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::sync::Arc;
use store::{
    CollectorExemplar, CollectorLog, CollectorMetricPoint, CollectorMetricValue, CollectorOrigin,
};

/// A resource and scope as the rows of their records keep them.
fn origin(
    resource: Option<&Resource>,
    resource_schema_url: &str,
    scope: Option<&InstrumentationScope>,
    scope_schema_url: &str,
) -> Arc<CollectorOrigin> {
    let attributes = resource
        .map(|r| r.attributes.as_slice())
        .unwrap_or_default();
    // The exporter reads `service.name` as a string value only.
    let service = attributes
        .iter()
        .find(|kv| kv.key == "service.name")
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let scope = scope.cloned().unwrap_or_default();
    Arc::new(CollectorOrigin {
        service,
        resource_attributes: pairs(attributes),
        resource_schema_url: resource_schema_url.to_string(),
        scope_name: scope.name,
        scope_version: scope.version,
        scope_attributes: pairs(&scope.attributes),
        scope_dropped_attr_count: scope.dropped_attributes_count,
        scope_schema_url: scope_schema_url.to_string(),
    })
}

/// Every log record of a request as an `otel_logs` row.
pub fn collector_logs(req: &ExportLogsServiceRequest) -> Vec<CollectorLog> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        for sl in &rl.scope_logs {
            let origin = origin(
                rl.resource.as_ref(),
                &rl.schema_url,
                sl.scope.as_ref(),
                &sl.schema_url,
            );
            for r in &sl.log_records {
                let time = if r.time_unix_nano == 0 {
                    r.observed_time_unix_nano
                } else {
                    r.time_unix_nano
                };
                out.push(CollectorLog {
                    origin: origin.clone(),
                    time_ns: time.min(i64::MAX as u64) as i64,
                    trace_id: hex_or_empty(&r.trace_id),
                    span_id: hex_or_empty(&r.span_id),
                    trace_flags: (r.flags & 0xff) as u8,
                    severity_text: r.severity_text.clone(),
                    severity_number: r.severity_number.clamp(0, 255) as u8,
                    body: r.body.as_ref().map(as_string).unwrap_or_default(),
                    attributes: pairs(&r.attributes),
                });
            }
        }
    }
    out
}

/// Every metric point of a request as a row of its kind's `otel_metrics_*` table.
pub fn collector_metrics(req: &ExportMetricsServiceRequest) -> Vec<CollectorMetricPoint> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            let origin = origin(
                rm.resource.as_ref(),
                &rm.schema_url,
                sm.scope.as_ref(),
                &sm.schema_url,
            );
            for m in &sm.metrics {
                let point = |attributes: &[KeyValue],
                             start: u64,
                             time: u64,
                             flags: u32,
                             exemplars: &[Exemplar],
                             value: CollectorMetricValue| {
                    CollectorMetricPoint {
                        origin: origin.clone(),
                        name: m.name.clone(),
                        description: m.description.clone(),
                        unit: m.unit.clone(),
                        attributes: pairs(attributes),
                        start_ns: ns(start),
                        time_ns: ns(time),
                        flags,
                        exemplars: exemplars.iter().map(collector_exemplar).collect(),
                        value,
                    }
                };
                match &m.data {
                    None => {}
                    Some(Data::Gauge(g)) => out.extend(g.data_points.iter().map(|p| {
                        point(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.flags,
                            &p.exemplars,
                            CollectorMetricValue::Gauge(number(p.value)),
                        )
                    })),
                    Some(Data::Sum(s)) => out.extend(s.data_points.iter().map(|p| {
                        point(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.flags,
                            &p.exemplars,
                            CollectorMetricValue::Sum {
                                value: number(p.value),
                                temporality: s.aggregation_temporality,
                                monotonic: s.is_monotonic,
                            },
                        )
                    })),
                    Some(Data::Histogram(h)) => out.extend(h.data_points.iter().map(|p| {
                        point(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.flags,
                            &p.exemplars,
                            CollectorMetricValue::Histogram {
                                count: p.count,
                                sum: p.sum.unwrap_or(0.0),
                                bucket_counts: p.bucket_counts.clone(),
                                explicit_bounds: p.explicit_bounds.clone(),
                                min: p.min.unwrap_or(0.0),
                                max: p.max.unwrap_or(0.0),
                                temporality: h.aggregation_temporality,
                            },
                        )
                    })),
                    Some(Data::ExponentialHistogram(h)) => {
                        out.extend(h.data_points.iter().map(|p| {
                            let (positive_offset, positive_counts) = buckets(p.positive.as_ref());
                            let (negative_offset, negative_counts) = buckets(p.negative.as_ref());
                            point(
                                &p.attributes,
                                p.start_time_unix_nano,
                                p.time_unix_nano,
                                p.flags,
                                &p.exemplars,
                                CollectorMetricValue::ExponentialHistogram {
                                    count: p.count,
                                    sum: p.sum.unwrap_or(0.0),
                                    scale: p.scale,
                                    zero_count: p.zero_count,
                                    positive_offset,
                                    positive_counts,
                                    negative_offset,
                                    negative_counts,
                                    min: p.min.unwrap_or(0.0),
                                    max: p.max.unwrap_or(0.0),
                                    temporality: h.aggregation_temporality,
                                },
                            )
                        }))
                    }
                    Some(Data::Summary(s)) => out.extend(s.data_points.iter().map(|p| {
                        point(
                            &p.attributes,
                            p.start_time_unix_nano,
                            p.time_unix_nano,
                            p.flags,
                            &[],
                            CollectorMetricValue::Summary {
                                count: p.count,
                                sum: p.sum,
                                quantiles: p
                                    .quantile_values
                                    .iter()
                                    .map(|q| (q.quantile, q.value))
                                    .collect(),
                            },
                        )
                    })),
                }
            }
        }
    }
    out
}

fn ns(t: u64) -> i64 {
    t.min(i64::MAX as u64) as i64
}

/// A number point's value as the exporter stores it (integers as doubles; 0 when
/// none was sent).
fn number(v: Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsDouble(d)) => d,
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

fn buckets(b: Option<&Buckets>) -> (i32, Vec<u64>) {
    b.map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts.clone()))
}

fn collector_exemplar(e: &Exemplar) -> CollectorExemplar {
    CollectorExemplar {
        filtered_attributes: pairs(&e.filtered_attributes),
        time_ns: ns(e.time_unix_nano),
        value: match e.value {
            Some(exemplar::Value::AsDouble(d)) => d,
            Some(exemplar::Value::AsInt(i)) => i as f64,
            None => 0.0,
        },
        span_id: hex_or_empty(&e.span_id),
        trace_id: hex_or_empty(&e.trace_id),
    }
}
