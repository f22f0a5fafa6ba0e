//! Evaluations on a team's ClickHouse, read at query time from where the conventions
//! put them in the Collector's tables: `gen_ai.evaluation.result` span events and
//! OpenInference's flattened annotation lists in the traces table, and evaluation log
//! records in `otel_logs` (the Collector's layout keeps no event name, so a record is a
//! result when its attributes name an evaluator). The local reader's rules apply: a
//! result judges its span (or, prefixed `trace.`/`session.`, its trace or session); a
//! log record judges the span it is parented to, else the call its
//! `gen_ai.response.id` names. Feedback given in the app is kept by local databases
//! only.

use super::extract::{self, literal};
use super::filter_sql;
use super::http::{Param, Params};
use super::reader::ClickHouseReader;
use crate::conventions as conv;
use crate::error::StoreError;
use crate::filter::Filter;
use crate::query::calls::EXCERPT_CHARS;
use crate::query::{EvalModelRow, EvalPoint, Evaluation, EvaluatorRow, JudgedCall, SCORE_BINS};
use crate::row::EvalTarget;
use serde_json::Value;

/// The name given to a result that names no evaluator (as ingest names it).
const UNNAMED: &str = "(unnamed)";

/// The columns every source of results is read into, in order.
const RESULT_COLUMNS: &str = "target, trace_id, span_id, session_id, time_ns, name, score, \
                              label, explanation, annotator, response_id";

/// A regular expression matching an annotation attribute's key, its first group the
/// annotation's prefix (`trace.annotations.0.annotation`).
fn annotation_key() -> String {
    let lists: Vec<String> = conv::ANNOTATION_LISTS
        .iter()
        .map(|(list, item)| format!("{list}\\.[0-9]+\\.{item}"))
        .collect();
    format!(
        "^(({}|{})?({}))\\.",
        conv::TRACE_ANNOTATION_PREFIX.replace('.', "\\."),
        conv::SESSION_ANNOTATION_PREFIX.replace('.', "\\."),
        lists.join("|")
    )
}

/// `map[key]` as nullable text (empty is none).
fn field(map: &str, key: &str) -> String {
    format!("nullIf({map}[{}], '')", literal(key))
}

/// A number in text, none when it is not one.
fn number(text: &str) -> String {
    format!("toFloat64OrNull(trimBoth(coalesce({text}, '')))")
}

/// Every result carried by the spans of `table` meeting `spans_where`, and by the log
/// records of `logs` (when the database has the table), as [`RESULT_COLUMNS`].
pub(super) fn results(table: &str, spans_where: &str, logs: Option<&str>) -> String {
    let event = literal(conv::EVALUATION_EVENT);
    let session = extract::session();
    let events = format!(
        "SELECT 'span' AS target, TraceId AS trace_id, SpanId AS span_id,
                CAST(NULL AS Nullable(String)) AS session_id,
                arrayJoin(arrayFilter(i -> Events.Name[i] = {event}, arrayEnumerate(Events.Name))) AS i,
                toInt64(toUnixTimestamp64Nano(Events.Timestamp[i])) AS time_ns,
                coalesce({name}, {unnamed}) AS name, {score} AS score, {label} AS label,
                {explanation} AS explanation, CAST(NULL AS Nullable(String)) AS annotator,
                CAST(NULL AS Nullable(String)) AS response_id
         FROM {table} WHERE ({spans_where}) AND has(Events.Name, {event})",
        name = field("Events.Attributes[i]", conv::EVALUATION_NAME),
        score = number(&field("Events.Attributes[i]", conv::EVALUATION_SCORE)),
        label = field("Events.Attributes[i]", conv::EVALUATION_LABEL),
        explanation = field("Events.Attributes[i]", conv::EVALUATION_EXPLANATION),
        unnamed = literal(UNNAMED),
    );
    let key = literal(&annotation_key());
    let of = |suffix: &str| format!("nullIf(SpanAttributes[concat(base, '.{suffix}')], '')");
    let annotations = format!(
        "SELECT multiIf(startsWith(base, {trace_prefix}), 'trace',
                        startsWith(base, {session_prefix}) AND span_session IS NOT NULL, 'session',
                        startsWith(base, {session_prefix}), 'trace', 'span') AS target,
                if(target = 'session', NULL, TraceId) AS trace_id,
                if(target = 'span', SpanId, NULL) AS span_id,
                if(target = 'session', span_session, NULL) AS session_id,
                arrayJoin(arrayDistinct(arrayMap(k -> extract(k, {key}),
                          arrayFilter(k -> match(k, {key}), mapKeys(SpanAttributes))))) AS base,
                {session} AS span_session,
                toInt64(toUnixTimestamp64Nano(Timestamp)) + toInt64(Duration) AS time_ns,
                coalesce({name}, {unnamed}) AS name, {score} AS score, {label} AS label,
                {explanation} AS explanation, nullIf(upper(coalesce({annotator}, '')), '') AS annotator,
                CAST(NULL AS Nullable(String)) AS response_id
         FROM {table}
         WHERE ({spans_where}) AND arrayExists(k -> match(k, {key}), mapKeys(SpanAttributes))",
        trace_prefix = literal(conv::TRACE_ANNOTATION_PREFIX),
        session_prefix = literal(conv::SESSION_ANNOTATION_PREFIX),
        name = of("name"),
        score = number(&of("score")),
        label = of("label"),
        explanation = of("explanation"),
        annotator = of("annotator_kind"),
        unnamed = literal(UNNAMED),
    );
    let mut sql = format!(
        "SELECT {RESULT_COLUMNS} FROM ({events})
         UNION ALL SELECT {RESULT_COLUMNS} FROM ({annotations})"
    );
    if let Some(logs) = logs {
        // An attribute, else the same key of a map body (written as JSON).
        let either = |key: &str| {
            format!(
                "coalesce({}, nullIf(JSONExtractString(Body, {}), ''))",
                field("LogAttributes", key),
                literal(key)
            )
        };
        let response_ids: Vec<String> = conv::RESPONSE_ID.iter().map(|k| either(k)).collect();
        sql.push_str(&format!(
            " UNION ALL
             SELECT 'span' AS target, nullIf(TraceId, '') AS trace_id,
                    if(TraceId = '', NULL, nullIf(SpanId, '')) AS span_id,
                    CAST(NULL AS Nullable(String)) AS session_id,
                    toInt64(toUnixTimestamp64Nano(Timestamp)) AS time_ns,
                    coalesce({name}, {unnamed}) AS name, {score} AS score, {label} AS label,
                    {explanation} AS explanation, CAST(NULL AS Nullable(String)) AS annotator,
                    coalesce({response_ids}) AS response_id
             FROM {logs}
             WHERE LogAttributes['event.name'] = {event}
                OR mapContains(LogAttributes, {name_key})",
            name = either(conv::EVALUATION_NAME),
            score = number(&either(conv::EVALUATION_SCORE)),
            label = either(conv::EVALUATION_LABEL),
            explanation = either(conv::EVALUATION_EXPLANATION),
            response_ids = response_ids.join(", "),
            name_key = literal(conv::EVALUATION_NAME),
            unnamed = literal(UNNAMED),
        ));
    }
    // A result sent twice (a retried export) is one result, as a local database
    // stores it once.
    format!("SELECT DISTINCT * FROM ({sql})")
}

impl ClickHouseReader {
    /// `WITH judged AS (…)`: the selection's results with the model of the call each
    /// judges (none for traces and sessions) and the time it is placed at (the call's
    /// start, else its own), as the local reader's `judged`.
    pub(super) fn judged(&self, filter: &Filter, p: &mut Params) -> Result<String, StoreError> {
        filter_sql::check(filter)?;
        let tables = self.tables()?;
        let spans = filter_sql::spans_where(filter, p);
        let results = results(&tables.traces, &spans, tables.logs.as_deref());
        let cost = if filter.cost_usd.is_empty() {
            "NULL".to_string()
        } else {
            self.inline_cost(filter)?
        };
        let calls_spans = filter_sql::spans_where(filter, p);
        let calls = filter_sql::calls_where(filter, &cost, &tables, p);
        let every_span = extract::spans(&self.table(), "TRUE");
        Ok(format!(
            "WITH results AS ({results}),
             sel AS (SELECT c.trace_id AS trace_id, c.span_id AS span_id, c.model AS model,
                            c.start_ns AS start_ns, c.response_id AS response_id
                     FROM ({selected}) AS c WHERE {calls}),
             judged AS (
                 SELECT r.*, s.model AS model, s.start_ns AS at_ns
                 FROM results AS r INNER JOIN sel AS s
                   ON s.trace_id = r.trace_id AND s.span_id = r.span_id
                 WHERE r.target = 'span'
                 UNION ALL
                 -- Named by the response id alone: the call's ids are theirs.
                 SELECT r.target, s.trace_id, s.span_id, r.session_id, r.time_ns, r.name,
                        r.score, r.label, r.explanation, r.annotator, r.response_id,
                        s.model AS model, s.start_ns AS at_ns
                 FROM results AS r INNER JOIN sel AS s ON s.response_id = r.response_id
                 WHERE r.target = 'span' AND r.trace_id IS NULL
                 UNION ALL
                 SELECT r.*, CAST(NULL AS Nullable(String)) AS model, r.time_ns AS at_ns
                 FROM results AS r
                 WHERE r.trace_id IN (SELECT trace_id FROM sel)
                   AND (r.target = 'trace'
                        OR (r.target = 'span' AND (r.trace_id, r.span_id) NOT IN (
                            SELECT trace_id, span_id FROM ({every_span}) WHERE is_call)))
                 UNION ALL
                 SELECT r.*, CAST(NULL AS Nullable(String)) AS model, r.time_ns AS at_ns
                 FROM results AS r
                 WHERE r.target = 'session' AND r.session_id IN (
                     SELECT x.session_id FROM ({every_span}) AS x
                     WHERE x.trace_id IN (SELECT trace_id FROM sel) AND x.session_id IS NOT NULL))",
            selected = extract::calls(&self.table(), &calls_spans),
        ))
    }

    /// Every evaluator of the selection, most results first.
    pub(super) fn evaluator_rows(&self, filter: &Filter) -> Result<Vec<EvaluatorRow>, StoreError> {
        let mut p = Params::default();
        let judged = self.judged(filter, &mut p)?;
        let summary = "SELECT name, count() AS evaluations, count(score) AS scored,
                              avg(score) AS mean_score, min(score) AS min_score,
                              max(score) AS max_score,
                              countIf(upper(coalesce(annotator, '')) = 'HUMAN') AS by_people,
                              uniqExactIf((trace_id, span_id), model IS NOT NULL) AS calls,
                              least(0, coalesce(min(score), 0)) AS bins_from,
                              greatest(1, coalesce(max(score), 1)) AS bins_to
                       FROM judged GROUP BY name";
        let sql = format!(
            "{judged},
             summary AS ({summary}),
             labels AS (
                 SELECT name, arraySlice(arraySort(x -> (-x.2, x.1), groupArray((label, n))), 1, 5) AS top
                 FROM (SELECT name, label, count() AS n FROM judged WHERE label IS NOT NULL
                       GROUP BY name, label)
                 GROUP BY name),
             bins AS (
                 SELECT name, groupArray((bin, n)) AS counts FROM (
                     SELECT j.name AS name,
                            least({last}, toInt64(floor((j.score - s.bins_from)
                                  / (s.bins_to - s.bins_from) * {n}))) AS bin,
                            count() AS n
                     FROM judged AS j INNER JOIN summary AS s ON s.name = j.name
                     WHERE j.score IS NOT NULL GROUP BY name, bin)
                 GROUP BY name)
             SELECT s.name, s.evaluations, s.scored, s.mean_score, s.min_score, s.max_score,
                    s.by_people, s.calls, s.bins_from, s.bins_to, l.top, b.counts
             FROM summary AS s LEFT JOIN labels AS l ON l.name = s.name
             LEFT JOIN bins AS b ON b.name = s.name
             ORDER BY s.evaluations DESC, s.name",
            last = SCORE_BINS - 1,
            n = SCORE_BINS,
        );
        let rows = self.client().rows(&sql, &p)?;
        Ok(rows
            .iter()
            .map(|r| {
                let mut bins = vec![0u64; SCORE_BINS];
                for pair in r[11].as_array().into_iter().flatten() {
                    if let (Some(i), Some(n)) =
                        (pair.get(0).and_then(int), pair.get(1).and_then(int))
                    {
                        bins[i.clamp(0, SCORE_BINS as i64 - 1) as usize] += n as u64;
                    }
                }
                EvaluatorRow {
                    name: text(&r[0]).unwrap_or_default(),
                    evaluations: int(&r[1]).unwrap_or(0) as u64,
                    scored: int(&r[2]).unwrap_or(0) as u64,
                    mean_score: float(&r[3]),
                    min_score: float(&r[4]),
                    max_score: float(&r[5]),
                    by_people: int(&r[6]).unwrap_or(0) as u64,
                    calls: int(&r[7]).unwrap_or(0) as u64,
                    calls_approximate: false,
                    bins_from: float(&r[8]).unwrap_or(0.0),
                    bins_to: float(&r[9]).unwrap_or(1.0),
                    labels: r[10]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|pair| Some((text(pair.get(0)?)?, int(pair.get(1)?)? as u64)))
                        .collect(),
                    bins,
                }
            })
            .collect())
    }

    /// Each evaluator's mean score per time bucket, by bucket then name.
    pub(super) fn evaluation_points(
        &self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<EvalPoint>, StoreError> {
        let mut p = Params::default();
        let judged = self.judged(filter, &mut p)?;
        let bucket = p.push(Param::Int(bucket_ns.max(1)));
        let sql = format!(
            "{judged}
             SELECT name, intDiv(at_ns, {bucket}) * {bucket} AS bucket_ns, count(), avg(score)
             FROM judged GROUP BY name, bucket_ns ORDER BY bucket_ns, name"
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| EvalPoint {
                name: text(&r[0]).unwrap_or_default(),
                bucket_ns: int(&r[1]).unwrap_or(0),
                evaluations: int(&r[2]).unwrap_or(0) as u64,
                mean_score: float(&r[3]),
            })
            .collect())
    }

    /// Each evaluator's results per model of the judged calls, by name then most
    /// results first; the commonest label (ties: the first by name).
    pub(super) fn evaluation_models(
        &self,
        filter: &Filter,
    ) -> Result<Vec<EvalModelRow>, StoreError> {
        let mut p = Params::default();
        let judged = self.judged(filter, &mut p)?;
        let sql = format!(
            "{judged}
             SELECT name, model, sum(n) AS evaluations, sum(scores) / nullIf(sum(scored), 0),
                    arrayFirst(x -> 1, arraySort(x -> (-x.2, x.1),
                        groupArrayIf((label, n), label IS NOT NULL))).1
             FROM (SELECT name, model, label, count() AS n, sum(coalesce(score, 0)) AS scores,
                          count(score) AS scored
                   FROM judged WHERE model IS NOT NULL GROUP BY name, model, label)
             GROUP BY name, model ORDER BY name, evaluations DESC, model"
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| EvalModelRow {
                name: text(&r[0]).unwrap_or_default(),
                model: text(&r[1]).unwrap_or_default(),
                evaluations: int(&r[2]).unwrap_or(0) as u64,
                mean_score: float(&r[3]),
                top_label: text(&r[4]).filter(|l| !l.is_empty()),
            })
            .collect())
    }

    /// The calls an evaluator judged worst: lowest score first (then latest), results
    /// without a score last; each with what its user asked and the answer's start.
    pub(super) fn worst_judged_calls(
        &self,
        filter: &Filter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<JudgedCall>, StoreError> {
        let mut p = Params::default();
        let judged = self.judged(filter, &mut p)?;
        let name = p.text(name);
        let limit = p.push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let sql = format!(
            "{judged}
             SELECT trace_id, span_id, at_ns, model, score, label, explanation FROM judged
             WHERE model IS NOT NULL AND name = {name}
             ORDER BY score ASC NULLS LAST, at_ns DESC, trace_id, span_id LIMIT {limit}"
        );
        let mut worst: Vec<JudgedCall> = self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| JudgedCall {
                trace_id: text(&r[0]).unwrap_or_default(),
                span_id: text(&r[1]).unwrap_or_default(),
                start_ns: int(&r[2]).unwrap_or(0),
                model: text(&r[3]).unwrap_or_default(),
                score: float(&r[4]),
                label: text(&r[5]),
                explanation: text(&r[6]),
                ..JudgedCall::default()
            })
            .collect();
        if worst.is_empty() {
            return Ok(worst);
        }
        // The page's calls, read whole (by their start instants) for their text.
        let instants: Vec<i64> = worst.iter().map(|c| c.start_ns).collect();
        for span in self.calls_at(&instants)? {
            let (trace, id) = (
                crate::ids::trace_id_hex(u128::from_be_bytes(span.trace_id)),
                crate::ids::span_id_hex(u64::from_be_bytes(span.span_id)),
            );
            let Some(call) = span.llm else { continue };
            for w in worst
                .iter_mut()
                .filter(|w| w.trace_id == trace && w.span_id == id)
            {
                w.prompt_excerpt = call.prompt.as_ref().map(|p| {
                    crate::conversation::latest_user_message(p)
                        .unwrap_or_else(|| p.clone())
                        .chars()
                        .take(EXCERPT_CHARS as usize)
                        .collect()
                });
                w.response_excerpt = call
                    .response
                    .as_ref()
                    .map(|r| r.chars().take(EXCERPT_CHARS as usize).collect());
            }
        }
        Ok(worst)
    }

    /// Everything said about the given traces: their spans' and their own results,
    /// and their sessions'; oldest first.
    pub(super) fn evaluations_of(&self, ids: &[u128]) -> Result<Vec<Evaluation>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = Params::default();
        let list: Vec<String> = ids
            .iter()
            .map(|t| p.text(&crate::ids::trace_id_hex(*t)))
            .collect();
        let list = list.join(", ");
        let tables = self.tables()?;
        let spans = format!("TraceId IN ({list})");
        let sessions = format!(
            "SELECT DISTINCT session_id FROM ({}) WHERE session_id IS NOT NULL",
            extract::spans(&self.table(), &spans)
        );
        // The sessions' annotations may sit on spans of other traces.
        let carriers = format!(
            "TraceId IN ({list}) OR {} IN ({sessions})",
            extract::session()
        );
        let sql = format!(
            "SELECT target, trace_id, span_id, session_id, time_ns, name, score, label,
                    explanation, annotator
             FROM ({results})
             WHERE (target <> 'session' AND trace_id IN ({list}))
                OR (target = 'session' AND session_id IN ({sessions}))
             ORDER BY time_ns, name",
            results = results(&tables.traces, &carriers, tables.logs.as_deref()),
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| Evaluation {
                target: EvalTarget::parse(&text(&r[0]).unwrap_or_default()),
                trace_id: text(&r[1]),
                span_id: text(&r[2]),
                session_id: text(&r[3]),
                time_ns: int(&r[4]).unwrap_or(0),
                name: text(&r[5]).unwrap_or_default(),
                score: float(&r[6]),
                label: text(&r[7]),
                explanation: text(&r[8]),
                annotator: text(&r[9]),
                given_here: false,
            })
            .collect())
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
