//! Evaluation results and annotations, from every place the conventions put them:
//! OpenTelemetry GenAI `gen_ai.evaluation.result` events (log records judging the span
//! they are parented to, or the call named by `gen_ai.response.id`; or span events
//! judging their span), and OpenInference's flattened annotation lists on a span
//! (`annotations.N.annotation.*`, `evaluations.N.evaluation.*`; prefixed `trace.` or
//! `session.` to judge the span's trace or session).

use super::attrs::{Attrs, value_text};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use std::collections::BTreeMap;
use store::conventions::{
    ANNOTATION_LISTS, EVALUATION_EVENT, EVALUATION_EXPLANATION, EVALUATION_LABEL, EVALUATION_NAME,
    EVALUATION_SCORE, RESPONSE_ID, SESSION_ANNOTATION_PREFIX, TRACE_ANNOTATION_PREFIX,
};
use store::{EvalTarget, EvaluationRow};

/// The name given to a result that names no evaluator (kept rather than dropped).
const UNNAMED: &str = "(unnamed)";

/// The evaluations a span carries, judging it (or its trace or session).
pub(crate) fn from_span(
    span: &Span,
    attrs: &Attrs,
    ids: ([u8; 16], [u8; 8]),
    end_ns: i64,
    session_id: Option<&str>,
) -> Vec<EvaluationRow> {
    let on_span = EvaluationRow {
        time_ns: end_ns,
        target: EvalTarget::Span,
        trace_id: Some(ids.0),
        span_id: Some(ids.1),
        ..EvaluationRow::default()
    };
    let mut out: Vec<EvaluationRow> = span
        .events
        .iter()
        .filter(|e| e.name == EVALUATION_EVENT)
        .map(|e| EvaluationRow {
            time_ns: i64::try_from(e.time_unix_nano).unwrap_or(end_ns),
            ..event_result(&Attrs::new(&e.attributes), None, on_span.clone())
        })
        .collect();
    for prefix in ["", TRACE_ANNOTATION_PREFIX, SESSION_ANNOTATION_PREFIX] {
        let base = match prefix {
            "" => on_span.clone(),
            TRACE_ANNOTATION_PREFIX => EvaluationRow {
                target: EvalTarget::Trace,
                span_id: None,
                ..on_span.clone()
            },
            // A session annotation on a span naming no session judges its trace.
            _ => match session_id {
                Some(session) => EvaluationRow {
                    target: EvalTarget::Session,
                    trace_id: None,
                    span_id: None,
                    session_id: Some(session.to_string()),
                    ..on_span.clone()
                },
                None => EvaluationRow {
                    target: EvalTarget::Trace,
                    span_id: None,
                    ..on_span.clone()
                },
            },
        };
        for (list, item) in ANNOTATION_LISTS {
            out.extend(annotations(attrs, &format!("{prefix}{list}."), item, &base));
        }
    }
    out
}

/// The result a `gen_ai.evaluation.result` log record carries: judging the span it is
/// parented to, else the call named by its response id.
pub(crate) fn from_log(
    event_name: &str,
    attrs: &Attrs,
    body: Option<&AnyValue>,
    time_ns: i64,
    ids: (Option<[u8; 16]>, Option<[u8; 8]>),
) -> Option<EvaluationRow> {
    if event_name != EVALUATION_EVENT {
        return None;
    }
    let target = EvaluationRow {
        time_ns,
        target: EvalTarget::Span,
        trace_id: ids.0,
        span_id: ids.1.filter(|_| ids.0.is_some()),
        ..EvaluationRow::default()
    };
    Some(event_result(attrs, body, target))
}

/// The fields of an evaluation event, from its attributes, else from its body when
/// that is a map with the same keys.
fn event_result(attrs: &Attrs, body: Option<&AnyValue>, target: EvaluationRow) -> EvaluationRow {
    let body_kvs: &[KeyValue] = match body.and_then(|b| b.value.as_ref()) {
        Some(any_value::Value::KvlistValue(kv)) => &kv.values,
        _ => &[],
    };
    let body = Attrs::new(body_kvs);
    let text = |key: &str| attrs.text(&[key]).or_else(|| body.text(&[key]));
    EvaluationRow {
        name: text(EVALUATION_NAME).unwrap_or_else(|| UNNAMED.into()),
        score: attrs
            .float(&[EVALUATION_SCORE])
            .or_else(|| body.float(&[EVALUATION_SCORE])),
        label: text(EVALUATION_LABEL),
        explanation: text(EVALUATION_EXPLANATION),
        response_id: attrs.text(RESPONSE_ID).or_else(|| body.text(RESPONSE_ID)),
        ..target
    }
}

/// A flattened annotation list (`annotations.0.annotation.name`, `….score`, `….label`,
/// `….explanation`, `….annotator_kind`), one result per index.
fn annotations(attrs: &Attrs, list: &str, item: &str, base: &EvaluationRow) -> Vec<EvaluationRow> {
    let mut by_index: BTreeMap<usize, Vec<(&str, &AnyValue)>> = BTreeMap::new();
    for (i, field, value) in attrs.indexed(list) {
        if let Some(f) = field.strip_prefix(item).and_then(|f| f.strip_prefix('.')) {
            by_index.entry(i).or_default().push((f, value));
        }
    }
    by_index
        .into_values()
        .map(|fields| {
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(f, _)| *f == name)
                    .and_then(|(_, v)| value_text(v))
                    .filter(|t| !t.is_empty())
            };
            EvaluationRow {
                name: get("name").unwrap_or_else(|| UNNAMED.into()),
                score: get("score").and_then(|s| s.trim().parse().ok()),
                label: get("label"),
                explanation: get("explanation"),
                annotator: get("annotator_kind").unwrap_or_default().to_uppercase(),
                ..base.clone()
            }
        })
        .collect()
}
