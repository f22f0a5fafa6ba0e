//! Evaluations, annotations and feedback as the app shows them: per evaluator (its
//! score distribution and labels), its trend, per model, its worst-judged calls, and
//! everything said about given traces. An evaluation is in a selection when what it
//! judges is: its call is selected, or (for a trace, a session, or a span that is not
//! a call) its trace, or a trace of its session, holds a selected call.

use super::Reader;
use super::calls::EXCERPT_CHARS;
use crate::error::StoreError;
use crate::filter::Filter;
use crate::ids::{span_id_hex, trace_id_hex, trace_id_list};
use crate::row::EvalTarget;
use duckdb::types::Value;
use serde::Serialize;

/// The schema version that has the `evaluations` table.
pub(crate) const EVALUATIONS_SCHEMA: i64 = 9;

/// Up to this many results in a selection, the calls they judge are counted exactly
/// (distinct ids take DuckDB about 0.2 µs a result); past it, estimated.
pub const EXACT_CALLS_UP_TO: i64 = 200_000;

/// Bins of an evaluator's score distribution.
pub const SCORE_BINS: usize = 10;

/// One evaluator (or annotation name) of a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvaluatorRow {
    /// Its name.
    pub name: String,
    /// Results in the selection.
    pub evaluations: u64,
    /// Of them, those with a score.
    pub scored: u64,
    /// Mean score (none without scores).
    pub mean_score: Option<f64>,
    /// Lowest score.
    pub min_score: Option<f64>,
    /// Highest score.
    pub max_score: Option<f64>,
    /// Results given by people (`HUMAN` annotators, feedback in the app).
    pub by_people: u64,
    /// Distinct LLM calls judged: exact up to [`EXACT_CALLS_UP_TO`] results, else
    /// estimated (HyperLogLog, within a few per cent) and `calls_approximate` says so.
    pub calls: u64,
    /// Whether `calls` is an estimate.
    pub calls_approximate: bool,
    /// The most frequent labels with their counts, most frequent first (at most five).
    pub labels: Vec<(String, u64)>,
    /// Scores per bin: [`SCORE_BINS`] equal bins from `bins_from` to `bins_to`.
    pub bins: Vec<u64>,
    /// Where the first bin starts (0, or the lowest score when below).
    pub bins_from: f64,
    /// Where the last bin ends (1, or the highest score when above).
    pub bins_to: f64,
}

/// An evaluator's mean score in one time bucket (by the judged call's start).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalPoint {
    /// The evaluator.
    pub name: String,
    /// Bucket start, Unix ns.
    pub bucket_ns: i64,
    /// Results in the bucket.
    pub evaluations: u64,
    /// Their mean score (none without scores).
    pub mean_score: Option<f64>,
}

/// An evaluator's results on one model's calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalModelRow {
    /// The evaluator.
    pub name: String,
    /// The model asked for.
    pub model: String,
    /// Results.
    pub evaluations: u64,
    /// Mean score (none without scores).
    pub mean_score: Option<f64>,
    /// The most frequent label.
    pub top_label: Option<String>,
}

/// A call with one of its evaluations: the worst-judged list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JudgedCall {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// The call's start, Unix ns.
    pub start_ns: i64,
    /// The model asked for.
    pub model: String,
    /// The score.
    pub score: Option<f64>,
    /// The label.
    pub label: Option<String>,
    /// The evaluator's explanation.
    pub explanation: Option<String>,
    /// What the user asked: the latest user message of the call's prompt (else the
    /// prompt's start), at most [`EXCERPT_CHARS`] characters.
    pub prompt_excerpt: Option<String>,
    /// The start of the call's response.
    pub response_excerpt: Option<String>,
}

/// One stored evaluation, annotation or feedback.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evaluation {
    /// When it was made, Unix ns.
    pub time_ns: i64,
    /// What it judges.
    pub target: EvalTarget,
    /// The judged trace, 32 hex digits (span and trace targets, once known).
    pub trace_id: Option<String>,
    /// The judged span, 16 hex digits (span targets, once known).
    pub span_id: Option<String>,
    /// The judged session (session targets).
    pub session_id: Option<String>,
    /// The evaluator's or annotation's name.
    pub name: String,
    /// Score.
    pub score: Option<f64>,
    /// Label.
    pub label: Option<String>,
    /// Explanation or note.
    pub explanation: Option<String>,
    /// `LLM`, `HUMAN`, `CODE`, or none.
    pub annotator: Option<String>,
    /// Given in this app (and editable there), rather than sent.
    pub given_here: bool,
}

impl Reader {
    /// `WITH judged AS (…)`: the selection's evaluations, each with the model of the
    /// call it judges (none for traces and sessions) and the time it is placed at (the
    /// call's start, else its own time). A selection of a time range alone reads the
    /// results by themselves (each keeps its call's model and start); finer conditions
    /// select the calls first.
    pub(crate) fn judged_sql(
        &mut self,
        filter: &Filter,
    ) -> Result<(String, Vec<Value>), StoreError> {
        Self::check(filter)?;
        self.needs_evaluations()?;
        // Results about traces, sessions and spans that are not calls: rare, and only
        // then are the branches that find them written.
        let others = self.other_evaluations()?;
        if by_time_alone(filter) {
            let mut params = Vec::new();
            let mut within = |column: &str| {
                let mut sql = String::from("TRUE");
                if let Some(from) = filter.from_ns {
                    sql.push_str(&format!(" AND {column} >= ?"));
                    params.push(Value::BigInt(from));
                }
                if let Some(to) = filter.to_ns {
                    sql.push_str(&format!(" AND {column} < ?"));
                    params.push(Value::BigInt(to));
                }
                sql
            };
            let mut sql = format!(
                "WITH judged AS (
                     SELECT e.* EXCLUDE (call_start_ns), e.call_start_ns AS at_ns
                     FROM evaluations e
                     WHERE e.target = 'span' AND e.call_start_ns IS NOT NULL AND {}",
                within("e.call_start_ns")
            );
            if others > 0 {
                // The traces with calls that start in the range, from the traces table.
                let traces = format!(
                    "SELECT t.trace_id, t.session_id FROM traces t WHERE t.llm_calls > 0 AND {}",
                    within("t.start_ns")
                );
                let sessions = format!(
                    "SELECT t.session_id FROM traces t WHERE t.llm_calls > 0 AND {}",
                    within("t.start_ns")
                );
                sql.push_str(&format!(
                    " UNION ALL
                     SELECT e.* EXCLUDE (model, call_start_ns), NULL::VARCHAR AS model,
                            e.time_ns AS at_ns
                     FROM evaluations e JOIN ({traces}) t ON t.trace_id = e.trace_id
                     WHERE e.target = 'trace' OR (e.target = 'span' AND e.call_start_ns IS NULL)
                     UNION ALL
                     SELECT e.* EXCLUDE (model, call_start_ns), NULL::VARCHAR AS model,
                            e.time_ns AS at_ns
                     FROM evaluations e
                     WHERE e.target = 'session' AND e.session_id IN ({sessions})"
                ));
            }
            sql.push(')');
            return Ok((sql, params));
        }
        let w = self.calls_where(filter)?;
        let mut sql = format!(
            "WITH sel AS NOT MATERIALIZED (
                 SELECT c.trace_id, c.span_id, c.model, c.start_ns FROM llm_calls c WHERE {}),
             judged AS (
                 SELECT e.* EXCLUDE (model, call_start_ns), s.model, s.start_ns AS at_ns
                 FROM evaluations e JOIN sel s
                   ON s.trace_id = e.trace_id AND s.span_id = e.span_id
                 WHERE e.target = 'span'",
            w.sql
        );
        if others > 0 {
            sql.push_str(
                " UNION ALL
                 SELECT e.* EXCLUDE (model, call_start_ns), NULL::VARCHAR AS model,
                        e.time_ns AS at_ns
                 FROM evaluations e
                 WHERE e.target <> 'session' AND e.trace_id IN (SELECT trace_id FROM sel)
                   AND (e.target = 'trace' OR NOT EXISTS (
                       SELECT 1 FROM llm_calls x
                       WHERE x.trace_id = e.trace_id AND x.span_id = e.span_id))
                 UNION ALL
                 SELECT e.* EXCLUDE (model, call_start_ns), NULL::VARCHAR AS model,
                        e.time_ns AS at_ns
                 FROM evaluations e
                 WHERE e.target = 'session' AND e.session_id IN (
                     SELECT t.session_id FROM traces t
                     WHERE t.trace_id IN (SELECT trace_id FROM sel))",
            );
        }
        sql.push(')');
        Ok((sql, w.params))
    }

    /// How many results are about traces, sessions, spans that are not calls, or calls
    /// not stored (yet): the ones only a join finds; remembered for the data version.
    pub(crate) fn other_evaluations(&mut self) -> Result<i64, StoreError> {
        let version = self.data_version();
        if let Some((v, n)) = self.other_evaluations
            && v == version
        {
            return Ok(n);
        }
        let n = self.conn.query_row(
            "SELECT count(*) FROM evaluations WHERE target <> 'span' OR call_start_ns IS NULL",
            [],
            |r| r.get(0),
        )?;
        self.other_evaluations = Some((version, n));
        Ok(n)
    }

    /// Refuses a file (opened read-only) from before evaluations.
    pub(crate) fn needs_evaluations(&self) -> Result<(), StoreError> {
        if self.schema_version < EVALUATIONS_SCHEMA {
            return Err(StoreError::OlderSchema {
                what: "evaluations",
                needs: EVALUATIONS_SCHEMA,
                has: self.schema_version,
            });
        }
        Ok(())
    }

    /// Every evaluator of the selection, most results first.
    pub fn evaluators(&mut self, filter: &Filter) -> Result<Vec<EvaluatorRow>, StoreError> {
        if let Some((rows, params)) = self.eval_hour_rows(filter)?
            && let Some(evaluators) = self.evaluators_from_hours(&rows, &params)?
        {
            return Ok(evaluators);
        }
        let (judged, params) = self.judged_sql(filter)?;
        let results: i64 = self.conn.query_row(
            &format!("{judged} SELECT count(*) FROM judged"),
            duckdb::params_from_iter(params.clone()),
            |r| r.get(0),
        )?;
        let approximate = results > EXACT_CALLS_UP_TO;
        let distinct_calls = if approximate {
            "approx_count_distinct(hash(trace_id, span_id))"
        } else {
            "count(DISTINCT (trace_id, span_id))"
        };
        let sql = format!(
            "{judged},
             summary AS (
                 SELECT name, count(*) AS evaluations, count(score) AS scored,
                        avg(score) AS mean_score, min(score) AS min_score, max(score) AS max_score,
                        count(*) FILTER (upper(annotator) = 'HUMAN') AS by_people,
                        ({distinct_calls} FILTER (model IS NOT NULL))::UBIGINT AS calls,
                        least(0, coalesce(min(score), 0)) AS bins_from,
                        greatest(1, coalesce(max(score), 1)) AS bins_to
                 FROM judged GROUP BY name),
             labels AS (
                 SELECT name, label, count(*) AS n FROM judged WHERE label IS NOT NULL
                 GROUP BY ALL),
             bins AS (
                 SELECT j.name, least({last}, floor((j.score - s.bins_from)
                            / (s.bins_to - s.bins_from) * {n}))::INTEGER AS bin, count(*) AS n
                 FROM judged j JOIN summary s USING (name) WHERE j.score IS NOT NULL
                 GROUP BY ALL)
             SELECT s.*,
                    (SELECT coalesce(list((l.label, l.n) ORDER BY l.n DESC, l.label)[1:5], [])
                     FROM labels l WHERE l.name = s.name) AS labels,
                    (SELECT coalesce(list((b.bin, b.n)), []) FROM bins b WHERE b.name = s.name) AS bins
             FROM summary s ORDER BY s.evaluations DESC, s.name",
            last = SCORE_BINS - 1,
            n = SCORE_BINS,
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            let mut bins = vec![0u64; SCORE_BINS];
            for (bin, n) in pairs(r.get("bins")?) {
                if let (Some(i), Some(n)) = (as_i64(&bin), as_i64(&n)) {
                    bins[(i.clamp(0, SCORE_BINS as i64 - 1)) as usize] += n as u64;
                }
            }
            Ok(EvaluatorRow {
                labels: pairs(r.get("labels")?)
                    .into_iter()
                    .filter_map(|(l, n)| match (l, as_i64(&n)) {
                        (Value::Text(l), Some(n)) => Some((l, n as u64)),
                        _ => None,
                    })
                    .collect(),
                bins,
                bins_from: r.get("bins_from")?,
                bins_to: r.get("bins_to")?,
                ..summary(r, approximate)?
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each evaluator's mean score per time bucket, by bucket then name.
    pub fn evaluation_trend(
        &mut self,
        filter: &Filter,
        bucket_ns: i64,
    ) -> Result<Vec<EvalPoint>, StoreError> {
        let (judged, params) = self.judged_sql(filter)?;
        // A number, written inline.
        let bucket = bucket_ns.max(1);
        let sql = format!(
            "{judged}
             SELECT name, (at_ns // {bucket}) * {bucket} AS bucket_ns, count(*) AS evaluations,
                    avg(score) AS mean_score
             FROM judged GROUP BY ALL ORDER BY bucket_ns, name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            Ok(EvalPoint {
                name: r.get("name")?,
                bucket_ns: r.get("bucket_ns")?,
                evaluations: r.get("evaluations")?,
                mean_score: r.get("mean_score")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each evaluator's results per model of the judged calls, by name then most
    /// results first.
    pub fn evaluations_by_model(
        &mut self,
        filter: &Filter,
    ) -> Result<Vec<EvalModelRow>, StoreError> {
        // Per name, model and label: results, scores' sum and count.
        let (labels, params) = match self.eval_hour_rows(filter)? {
            Some((rows, params)) => (
                format!(
                    "SELECT name, model, label, sum(results) AS n, sum(score_sum) AS ss,
                            sum(scored) AS sc
                     FROM ({rows}) WHERE model IS NOT NULL GROUP BY ALL"
                ),
                params,
            ),
            None => {
                let (judged, params) = self.judged_sql(filter)?;
                (
                    format!(
                        "{judged} SELECT name, model, label, count(*) AS n, sum(score) AS ss,
                                         count(score) AS sc
                         FROM judged WHERE model IS NOT NULL GROUP BY ALL"
                    ),
                    params,
                )
            }
        };
        // The commonest label: most results, ties by name.
        let sql = format!(
            "SELECT name, model, sum(n)::UBIGINT AS evaluations,
                    (sum(ss) / nullif(sum(sc), 0))::DOUBLE AS mean_score,
                    first(label ORDER BY n DESC, label) FILTER (label IS NOT NULL) AS top_label
             FROM ({labels}) GROUP BY ALL ORDER BY name, evaluations DESC, model"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            Ok(EvalModelRow {
                name: r.get("name")?,
                model: r.get("model")?,
                evaluations: r.get("evaluations")?,
                mean_score: r.get("mean_score")?,
                top_label: r.get("top_label")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The selection's results as `eval_hours` rows (the kept hours for the whole hours
    /// of its range, the results themselves at its edges), when they can answer: a
    /// file that keeps them, a selection of a time range alone, and no results about
    /// traces, sessions or spans that are not calls (which only a join finds).
    fn eval_hour_rows(
        &mut self,
        filter: &Filter,
    ) -> Result<Option<(String, Vec<Value>)>, StoreError> {
        Self::check(filter)?;
        self.needs_evaluations()?;
        if self.schema_version < super::KEPT_SUMMARIES_SCHEMA
            || !by_time_alone(filter)
            || self.other_evaluations()? > 0
        {
            return Ok(None);
        }
        let Some(split) = self.hour_split(filter, "e.call_start_ns", false) else {
            return Ok(None);
        };
        let mut rows = format!("SELECT * FROM eval_hours WHERE {}", split.hours);
        let mut params = split.params;
        if let Some(edges) = split.edges {
            let (within, within_params) =
                super::source::time_and_service(filter, "e.call_start_ns", None);
            rows.push_str(&format!(
                " UNION ALL BY NAME {}",
                crate::evaluations::eval_hours_where(&format!("{within} AND {edges}"))
            ));
            params.extend(within_params);
        }
        Ok(Some((rows, params)))
    }

    /// [`Reader::evaluators`] from `eval_hours` rows; `None` when a selected score lies
    /// outside 0–1 (the distribution's bins then span the scores, which the rows'
    /// tenths of 0–1 cannot give).
    fn evaluators_from_hours(
        &mut self,
        rows: &str,
        params: &[Value],
    ) -> Result<Option<Vec<EvaluatorRow>>, StoreError> {
        let sql = format!(
            "SELECT name, sum(results)::UBIGINT AS evaluations, sum(scored)::UBIGINT AS scored,
                    (sum(score_sum) / nullif(sum(scored), 0))::DOUBLE AS mean_score,
                    min(score_min) AS min_score, max(score_max) AS max_score,
                    coalesce(sum(results) FILTER (human), 0)::UBIGINT AS by_people,
                    sum(calls)::UBIGINT AS calls
             FROM ({rows}) GROUP BY name ORDER BY evaluations DESC, name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut evaluators: Vec<EvaluatorRow> = stmt
            .query_map(duckdb::params_from_iter(params.to_vec()), |r| {
                summary(r, false)
            })?
            .collect::<Result<_, _>>()?;
        if evaluators
            .iter()
            .any(|e| e.min_score.is_some_and(|m| m < 0.0) || e.max_score.is_some_and(|m| m > 1.0))
        {
            return Ok(None);
        }
        let sql = format!(
            "SELECT name, label, sum(results)::BIGINT AS n FROM ({rows})
             WHERE label IS NOT NULL GROUP BY ALL ORDER BY name, n DESC, label"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(duckdb::params_from_iter(params.to_vec()))?;
        while let Some(r) = result.next()? {
            let name: String = r.get("name")?;
            if let Some(e) = evaluators.iter_mut().find(|e| e.name == name)
                && e.labels.len() < 5
            {
                e.labels
                    .push((r.get("label")?, r.get::<_, i64>("n")? as u64));
            }
        }
        let sql = format!(
            "SELECT name, bin, sum(results)::BIGINT AS n FROM ({rows})
             WHERE bin IS NOT NULL GROUP BY ALL"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(duckdb::params_from_iter(params.to_vec()))?;
        while let Some(r) = result.next()? {
            let name: String = r.get("name")?;
            let bin: i16 = r.get("bin")?;
            if let Some(e) = evaluators.iter_mut().find(|e| e.name == name) {
                e.bins[bin.clamp(0, SCORE_BINS as i16 - 1) as usize] +=
                    r.get::<_, i64>("n")? as u64;
            }
        }
        Ok(Some(evaluators))
    }

    /// The calls an evaluator judged worst in the selection: lowest score first (then
    /// latest); results without a score last.
    pub fn worst_judged(
        &mut self,
        filter: &Filter,
        name: &str,
        limit: u64,
    ) -> Result<Vec<JudgedCall>, StoreError> {
        let (judged, mut params) = self.judged_sql(filter)?;
        params.push(Value::Text(name.to_string()));
        params.push(Value::UBigInt(limit));
        // The page first, from the results alone; then its calls' text, found by their
        // start times (which DuckDB looks up by its row groups' ranges).
        let sql = format!(
            "{judged}
             SELECT j.trace_id, j.span_id, j.at_ns, j.model, j.score, j.label, j.explanation
             FROM judged j
             WHERE j.model IS NOT NULL AND j.name = ?
             ORDER BY j.score ASC NULLS LAST, j.at_ns DESC, j.trace_id, j.span_id LIMIT ?"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut worst = stmt
            .query_map(duckdb::params_from_iter(params), |r| {
                Ok((
                    r.get::<_, u128>("trace_id")?,
                    r.get::<_, u64>("span_id")?,
                    JudgedCall {
                        trace_id: trace_id_hex(r.get("trace_id")?),
                        span_id: span_id_hex(r.get("span_id")?),
                        start_ns: r.get("at_ns")?,
                        model: r.get("model")?,
                        score: r.get("score")?,
                        label: r.get("label")?,
                        explanation: r.get("explanation")?,
                        ..JudgedCall::default()
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if worst.is_empty() {
            return Ok(Vec::new());
        }
        let starts: Vec<String> = worst
            .iter()
            .map(|(_, _, c)| c.start_ns.to_string())
            .collect();
        let spans: Vec<String> = worst.iter().map(|(_, s, _)| s.to_string()).collect();
        let sql = format!(
            "SELECT trace_id, span_id, prompt, left(response, {EXCERPT_CHARS}) AS response
             FROM llm_calls WHERE start_ns IN ({}) AND span_id IN ({})",
            starts.join(", "),
            spans.join(", ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let ids = (r.get::<_, u128>("trace_id")?, r.get::<_, u64>("span_id")?);
            let prompt: Option<String> = r.get("prompt")?;
            let response: Option<String> = r.get("response")?;
            for (t, s, call) in worst.iter_mut() {
                if (*t, *s) == ids {
                    call.prompt_excerpt = prompt.as_ref().map(|p| {
                        crate::conversation::latest_user_message(p)
                            .unwrap_or_else(|| p.clone())
                            .chars()
                            .take(EXCERPT_CHARS as usize)
                            .collect()
                    });
                    call.response_excerpt = response.clone();
                }
            }
        }
        Ok(worst.into_iter().map(|(_, _, c)| c).collect())
    }

    /// Everything said about the given traces: their spans' and their own
    /// evaluations, and their sessions'; oldest first.
    pub fn trace_evaluations(&mut self, ids: &[u128]) -> Result<Vec<Evaluation>, StoreError> {
        if ids.is_empty() || self.schema_version < EVALUATIONS_SCHEMA {
            return Ok(Vec::new());
        }
        let list = trace_id_list(ids);
        let sql = format!(
            "SELECT * FROM evaluations e
             WHERE (e.target <> 'session' AND e.trace_id IN ({list}))
                OR (e.target = 'session' AND e.session_id IN (
                    SELECT session_id FROM traces WHERE trace_id IN ({list})))
             ORDER BY time_ns, name"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(Evaluation {
                time_ns: r.get("time_ns")?,
                target: EvalTarget::parse(&r.get::<_, String>("target")?),
                trace_id: r.get::<_, Option<u128>>("trace_id")?.map(trace_id_hex),
                span_id: r.get::<_, Option<u64>>("span_id")?.map(span_id_hex),
                session_id: r.get("session_id")?,
                name: r.get("name")?,
                score: r.get("score")?,
                label: r.get("label")?,
                explanation: r.get("explanation")?,
                annotator: r.get("annotator")?,
                given_here: r.get::<_, String>("source")? == crate::row::FROM_APP,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// An evaluator's summary columns (name, results, scores, people, calls judged) read
/// by name; its labels none yet, its score bins the empty tenths of 0–1.
fn summary(r: &duckdb::Row<'_>, calls_approximate: bool) -> duckdb::Result<EvaluatorRow> {
    Ok(EvaluatorRow {
        name: r.get("name")?,
        evaluations: r.get("evaluations")?,
        scored: r.get("scored")?,
        mean_score: r.get("mean_score")?,
        min_score: r.get("min_score")?,
        max_score: r.get("max_score")?,
        by_people: r.get("by_people")?,
        calls: r.get("calls")?,
        calls_approximate,
        labels: Vec::new(),
        bins: vec![0; SCORE_BINS],
        bins_from: 0.0,
        bins_to: 1.0,
    })
}

/// A `LIST` of two-field structs as pairs of values.
fn pairs(v: Value) -> Vec<(Value, Value)> {
    let Value::List(items) = v else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            Value::Struct(fields) => {
                let mut it = fields.values().cloned();
                Some((it.next()?, it.next()?))
            }
            _ => None,
        })
        .collect()
}

fn as_i64(v: &Value) -> Option<i64> {
    match *v {
        Value::TinyInt(i) => Some(i.into()),
        Value::SmallInt(i) => Some(i.into()),
        Value::Int(i) => Some(i.into()),
        Value::BigInt(i) => Some(i),
        Value::UBigInt(i) => i64::try_from(i).ok(),
        Value::HugeInt(i) => i64::try_from(i).ok(),
        _ => None,
    }
}

/// Whether a filter selects by time alone: the results then answer by themselves
/// (each keeps its call's start).
fn by_time_alone(filter: &Filter) -> bool {
    filter.on_dimensions_only()
        && filter.models.is_empty()
        && filter.providers.is_empty()
        && filter.services.is_empty()
        && filter.status == crate::filter::StatusFilter::All
}
