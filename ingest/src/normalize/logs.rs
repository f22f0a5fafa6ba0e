//! OTLP log records and metric data points into store rows. GenAI events carried as
//! log records (`gen_ai.user.message`, `gen_ai.choice`, …) get their message text
//! rendered, so that the store can complete their span's prompt and response.

use super::attrs::{Attrs, to_json, write_value};
use super::messages::{self, Message};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{Gauge, Sum, metric::Data, number_data_point};
use store::{GenAiEventText, LogRow, MetricPoint, Temporality};

/// Events whose text belongs to the call's prompt.
const PROMPT_EVENTS: &[(&str, &str)] = &[
    ("gen_ai.system.message", "system"),
    ("gen_ai.user.message", "user"),
    ("gen_ai.assistant.message", "assistant"),
    ("gen_ai.tool.message", "tool"),
];

/// Log records as rows, with the reasons for any refused.
pub fn normalize_logs(req: &ExportLogsServiceRequest) -> (Vec<LogRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for rl in &req.resource_logs {
        let resource = rl
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let service = Attrs::new(resource)
            .text(&["service.name"])
            .unwrap_or_else(|| "unknown_service".into());
        let resource_json = to_json(resource);
        for sl in &rl.scope_logs {
            for (i, r) in sl.log_records.iter().enumerate() {
                let trace_id: Option<[u8; 16]> = match r.trace_id.len() {
                    0 => None,
                    16 => r.trace_id.as_slice().try_into().ok(),
                    n => {
                        rejected.push(format!(
                            "log record {i}: trace id has {n} bytes, expected 16"
                        ));
                        continue;
                    }
                };
                let span_id: Option<[u8; 8]> = match r.span_id.len() {
                    0 => None,
                    8 => r.span_id.as_slice().try_into().ok(),
                    n => {
                        rejected.push(format!("log record {i}: span id has {n} bytes, expected 8"));
                        continue;
                    }
                };
                let attrs = Attrs::new(&r.attributes);
                let event_name = if r.event_name.is_empty() {
                    attrs.text(&["event.name"]).unwrap_or_default()
                } else {
                    r.event_name.clone()
                };
                let time = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                let mut body_json = String::new();
                match &r.body {
                    Some(b) => write_value(&mut body_json, b),
                    None => body_json.push_str("null"),
                }
                let genai = genai_text(&event_name, r.body.as_ref(), &attrs);
                let time_ns = i64::try_from(time).unwrap_or(i64::MAX);
                let evaluation = super::evaluations::from_log(
                    &event_name,
                    &attrs,
                    r.body.as_ref(),
                    time_ns,
                    (trace_id, span_id),
                );
                rows.push(LogRow {
                    time_ns,
                    trace_id,
                    span_id,
                    severity_number: r.severity_number,
                    severity_text: r.severity_text.clone(),
                    event_name,
                    service: service.clone(),
                    body_json,
                    attributes_json: to_json(&r.attributes),
                    resource_json: resource_json.clone(),
                    genai,
                    evaluation,
                });
            }
        }
    }
    (rows, rejected)
}

/// The prompt or response text a GenAI event carries.
fn genai_text(event: &str, body: Option<&AnyValue>, attrs: &Attrs) -> Option<GenAiEventText> {
    let from_body = |role: &str| -> Vec<Message> {
        let mut m = body.map(messages::from_attr).unwrap_or_default();
        if m.is_empty()
            && let Some(c) = attrs.text(&["content", "gen_ai.event.content"])
        {
            m.push(Message {
                role: String::new(),
                content: c,
            });
        }
        for msg in &mut m {
            if msg.role.is_empty() {
                msg.role = role.to_string();
            }
        }
        m
    };
    if let Some((_, role)) = PROMPT_EVENTS.iter().find(|(name, _)| *name == event) {
        let text = messages::render_with_roles(&from_body(role))?;
        return Some(GenAiEventText::Prompt(text));
    }
    match event {
        "gen_ai.choice" => {
            let m: Vec<Message> = body
                .map(|b| {
                    let json = messages::any_to_json(b);
                    match json.get("message") {
                        Some(inner) => messages::from_json(inner),
                        None => messages::from_json(&json),
                    }
                })
                .unwrap_or_default();
            messages::render(&m).map(GenAiEventText::Response)
        }
        "gen_ai.client.inference.operation.details" => {
            let input = attrs
                .get("gen_ai.input.messages")
                .map(messages::from_attr)
                .unwrap_or_default();
            let output = attrs
                .get("gen_ai.output.messages")
                .map(messages::from_attr)
                .unwrap_or_default();
            Some(GenAiEventText::Both(
                messages::render(&input),
                messages::render(&output),
            ))
        }
        _ => None,
    }
}

/// Metric data points as rows.
pub fn normalize_metrics(req: &ExportMetricsServiceRequest) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        let service = Attrs::new(resource)
            .text(&["service.name"])
            .unwrap_or_else(|| "unknown_service".into());
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let base = MetricPoint {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    service: service.clone(),
                    ..MetricPoint::default()
                };
                // The fields every kind of point has.
                let point =
                    |kind: &str, time: u64, start: u64, attributes: &[KeyValue]| MetricPoint {
                        kind: kind.into(),
                        time_ns: i64::try_from(time).unwrap_or(i64::MAX),
                        start_time_ns: i64::try_from(start).unwrap_or(i64::MAX),
                        attributes_json: to_json(attributes),
                        ..base.clone()
                    };
                match &m.data {
                    Some(Data::Gauge(Gauge { data_points }))
                    | Some(Data::Sum(Sum { data_points, .. })) => {
                        let (kind, accumulates) = match &m.data {
                            Some(Data::Sum(s)) => ("sum", temporality(s.aggregation_temporality)),
                            _ => ("gauge", None),
                        };
                        out.extend(data_points.iter().map(|p| MetricPoint {
                            value: number(p.value),
                            temporality: accumulates,
                            ..point(
                                kind,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                &p.attributes,
                            )
                        }))
                    }
                    Some(Data::Histogram(h)) => out.extend(h.data_points.iter().map(|p| {
                        MetricPoint {
                            count: Some(p.count),
                            sum: p.sum,
                            bucket_bounds_json: Some(
                                serde_json::to_string(&p.explicit_bounds)
                                    .expect("floats serialize"),
                            ),
                            bucket_counts_json: Some(
                                serde_json::to_string(&p.bucket_counts).expect("ints serialize"),
                            ),
                            temporality: temporality(h.aggregation_temporality),
                            ..point(
                                "histogram",
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                &p.attributes,
                            )
                        }
                    })),
                    Some(Data::ExponentialHistogram(h)) => {
                        out.extend(h.data_points.iter().map(|p| MetricPoint {
                            count: Some(p.count),
                            sum: p.sum,
                            temporality: temporality(h.aggregation_temporality),
                            ..point(
                                "exponential_histogram",
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                &p.attributes,
                            )
                        }))
                    }
                    Some(Data::Summary(s)) => {
                        out.extend(s.data_points.iter().map(|p| MetricPoint {
                            count: Some(p.count),
                            sum: Some(p.sum),
                            ..point(
                                "summary",
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                &p.attributes,
                            )
                        }))
                    }
                    None => {}
                }
            }
        }
    }
    out
}

/// OTLP's aggregation temporality (1 delta, 2 cumulative; 0 unspecified).
fn temporality(code: i32) -> Option<Temporality> {
    match code {
        1 => Some(Temporality::Delta),
        2 => Some(Temporality::Cumulative),
        _ => None,
    }
}

fn number(v: Option<number_data_point::Value>) -> Option<f64> {
    match v? {
        number_data_point::Value::AsDouble(d) => Some(d),
        number_data_point::Value::AsInt(i) => Some(i as f64),
    }
}
