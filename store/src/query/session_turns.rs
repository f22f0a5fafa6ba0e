//! A session's turns as its page shows them: each trace's figures and the chat it
//! holds (the user's message its first call answered, its last call's answer),
//! without the spans. Reading every span of a session's traces took 2 s at 10M spans:
//! turns days apart sit in different row groups, and DuckDB decompresses the wide
//! columns (attributes, resource, events) of every vector a matching span is in. The
//! page asks for a turn's steps when the user opens them ([`Reader::traces`]).

use super::Reader;
use crate::conversation;
use crate::error::StoreError;
use crate::ids::{span_id_hex, trace_id_hex};
use crate::query::TraceTree;
use crate::row::{SpanClass, StatusCode};
use duckdb::types::Value;
use serde::Serialize;

/// One turn of a session: a trace, with what was said in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionTurn {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// First span's start, Unix ns.
    pub start_ns: i64,
    /// From first start to last end, ns.
    pub duration_ns: i64,
    /// Spans.
    pub spans: u64,
    /// Its LLM calls in order of start: span id (16 hex digits) and the model asked
    /// for, so that what an evaluation judges is named without the spans.
    pub calls: Vec<(String, Option<String>)>,
    /// Input + output tokens.
    pub tokens: u64,
    /// Cost of its calls in USD, at the reader's prices.
    pub cost_usd: f64,
    /// Whether any span or call failed.
    pub failed: bool,
    /// The user's message the turn answered: its first call's latest user message.
    pub asked: Option<String>,
    /// The answer: its last call's response (the assistant's messages of it).
    pub answered: Option<String>,
}

impl SessionTurn {
    /// The turn of a whole trace, from its spans: what a backend without the
    /// `traces` table answers with, and what the DuckDB answer is tested against.
    /// Calls are taken in order of start, then span id.
    pub fn of_trace(tree: &TraceTree) -> SessionTurn {
        let start_ns = tree.spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
        let end_ns = tree
            .spans
            .iter()
            .map(|s| s.start_ns + s.duration_ns)
            .max()
            .unwrap_or(start_ns);
        let mut calls: Vec<_> = tree
            .spans
            .iter()
            .filter(|s| s.class == SpanClass::Llm)
            .collect();
        calls.sort_by(|a, b| (a.start_ns, &a.span_id).cmp(&(b.start_ns, &b.span_id)));
        SessionTurn {
            trace_id: tree.trace_id.clone(),
            start_ns,
            duration_ns: end_ns - start_ns,
            spans: tree.spans.len() as u64,
            calls: calls
                .iter()
                .map(|c| (c.span_id.clone(), c.model.clone()))
                .collect(),
            tokens: calls
                .iter()
                .map(|c| c.input_tokens.unwrap_or(0) + c.output_tokens.unwrap_or(0))
                .sum::<i64>() as u64,
            cost_usd: calls.iter().filter_map(|c| c.cost_usd).sum(),
            failed: tree
                .spans
                .iter()
                .any(|s| s.status == StatusCode::Error || s.error_type.is_some()),
            asked: asked(calls.first().and_then(|c| c.prompt.as_deref())),
            answered: answered(calls.iter().rev().find_map(|c| c.response.as_deref())),
        }
    }
}

/// The user's message of a turn's first prompt.
fn asked(first_prompt: Option<&str>) -> Option<String> {
    first_prompt.and_then(conversation::latest_user_message)
}

/// The assistant's messages of a turn's last response, one paragraph each.
fn answered(last_response: Option<&str>) -> Option<String> {
    last_response.map(|r| {
        conversation::parse(r, "assistant")
            .into_iter()
            .map(|m| m.content)
            .collect::<Vec<_>>()
            .join("\n\n")
    })
}

/// The calls of a turn from the lists of their span ids and models (NULL: none).
fn calls_of(spans: Value, models: Value) -> Vec<(String, Option<String>)> {
    let (Value::List(spans), Value::List(models)) = (spans, models) else {
        return Vec::new();
    };
    spans
        .into_iter()
        .zip(models)
        .filter_map(|(span, model)| {
            let Value::UBigInt(span) = span else {
                return None;
            };
            let model = match model {
                Value::Text(m) => Some(m),
                _ => None,
            };
            Some((span_id_hex(span), model))
        })
        .collect()
}

impl Reader {
    /// A session's turns, earliest first: each trace's figures from the `traces`
    /// table (its rows joined, for a trace split across commits), and one pass over
    /// those traces' calls for cost and the chat.
    pub fn session_turns(&mut self, session_id: &str) -> Result<Vec<SessionTurn>, StoreError> {
        self.needs_sessions()?;
        let cost = self.inline_cost()?;
        let sql = format!(
            "WITH ids AS MATERIALIZED (SELECT DISTINCT trace_id FROM traces WHERE session_id = ?),
             t AS MATERIALIZED (
                 SELECT trace_id, min(start_ns) AS start_ns, max(end_ns) AS end_ns,
                        sum(spans)::UBIGINT AS spans, sum(tokens)::UBIGINT AS tokens,
                        bool_or(span_error OR call_error) AS failed
                 FROM traces WHERE trace_id IN (SELECT trace_id FROM ids) GROUP BY trace_id),
             l AS (
                 SELECT c.trace_id, sum(coalesce({cost}, 0)) AS cost_usd,
                        list(c.span_id ORDER BY c.start_ns, c.span_id) AS call_spans,
                        list(c.model ORDER BY c.start_ns, c.span_id) AS call_models,
                        arg_min_null(c.prompt, (c.start_ns, c.span_id)) AS first_prompt,
                        arg_max(c.response, (c.start_ns, c.span_id))
                            FILTER (WHERE c.response IS NOT NULL) AS last_response
                 FROM llm_calls c
                 -- A call starts within its trace: the bound skips older row groups.
                 WHERE c.trace_id IN (SELECT trace_id FROM ids)
                   AND c.start_ns >= (SELECT min(start_ns) FROM t)
                 GROUP BY c.trace_id)
             SELECT t.trace_id, t.start_ns, t.end_ns - t.start_ns AS duration_ns, t.spans,
                    t.tokens, t.failed, coalesce(l.cost_usd, 0) AS cost_usd, l.first_prompt,
                    l.last_response, l.call_spans, l.call_models
             FROM t LEFT JOIN l USING (trace_id)
             ORDER BY t.start_ns, t.trace_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let turns = stmt.query_map([session_id], |r| {
            Ok(SessionTurn {
                trace_id: trace_id_hex(r.get("trace_id")?),
                start_ns: r.get("start_ns")?,
                duration_ns: r.get("duration_ns")?,
                spans: r.get("spans")?,
                calls: calls_of(r.get("call_spans")?, r.get("call_models")?),
                tokens: r.get("tokens")?,
                cost_usd: r.get("cost_usd")?,
                failed: r.get("failed")?,
                asked: asked(r.get::<_, Option<String>>("first_prompt")?.as_deref()),
                answered: answered(r.get::<_, Option<String>>("last_response")?.as_deref()),
            })
        })?;
        Ok(turns.collect::<Result<_, _>>()?)
    }
}
