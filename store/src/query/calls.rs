//! LLM calls: the searchable page of calls, and the top errors.

use super::{Reader, SortDir, params};
use crate::error::StoreError;
use crate::filter::{Filter, StatusFilter};
use crate::ids::{span_id_hex, trace_id_hex};
use duckdb::types::Value;
use serde::Serialize;

/// Columns the calls page sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallSort {
    /// Start time.
    #[default]
    Start,
    /// Latency.
    Latency,
    /// Input + output tokens.
    Tokens,
    /// Cost.
    Cost,
    /// Model name.
    Model,
}

impl CallSort {
    pub(crate) fn column(self) -> &'static str {
        match self {
            CallSort::Start => "c.start_ns",
            CallSort::Latency => "c.duration_ns",
            CallSort::Tokens => "coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0)",
            CallSort::Cost => "cost_usd",
            CallSort::Model => "c.model",
        }
    }
}

/// Characters of prompt and response kept in a page row.
pub(crate) const EXCERPT_CHARS: i64 = 240;

/// One LLM call in the calls page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CallRow {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Start, Unix ns.
    pub start_ns: i64,
    /// Latency, ns.
    pub duration_ns: i64,
    /// Model.
    pub model: String,
    /// Provider.
    pub provider: Option<String>,
    /// Service.
    pub service: String,
    /// The start of the prompt.
    pub prompt_excerpt: Option<String>,
    /// The start of the response.
    pub response_excerpt: Option<String>,
    /// Input tokens.
    pub input_tokens: Option<i64>,
    /// Output tokens.
    pub output_tokens: Option<i64>,
    /// Cost in USD; None when unpriced.
    pub cost_usd: Option<f64>,
    /// Whether the call failed.
    pub is_error: bool,
    /// Error type of a failed call.
    pub error_type: Option<String>,
}

/// One kind of failure of one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopError {
    /// Error type (`error` when the call said none).
    pub error_type: String,
    /// Model.
    pub model: String,
    /// Failed calls.
    pub count: u64,
    /// Share of all failed calls in the selection, 0–1.
    pub share: f64,
    /// Latest occurrence, Unix ns.
    pub last_seen_ns: i64,
    /// The message of the latest occurrence.
    pub example_message: Option<String>,
}

impl Reader {
    /// One page of the calls in a selection (the filter's text searches prompts and
    /// responses), and how many match in all.
    pub fn calls_page(
        &mut self,
        filter: &Filter,
        sort: CallSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<CallRow>, u64), StoreError> {
        Self::check(filter)?;
        // The page and the count are separate queries: a window count over all matches
        // would keep DuckDB from its top-N sort. The count comes from the rollups where
        // they answer (sums of a few thousand rows instead of a count of millions), else
        // it counts the matching calls alone (summing the rollups' projection of each
        // costs twice as long).
        let w = self.calls_where(filter)?;
        let total: u64 = if self.rollups_answer(filter) {
            let rows = self.call_rows(filter, None)?;
            self.conn.query_row(
                &format!(
                    "SELECT coalesce(sum(calls), 0)::UBIGINT AS n FROM ({})",
                    rows.sql
                ),
                params(&rows, []),
                |r| r.get("n"),
            )?
        } else {
            self.conn.query_row(
                &format!(
                    "SELECT count(*)::UBIGINT AS n FROM llm_calls c WHERE {}",
                    w.sql
                ),
                params(&w, []),
                |r| r.get("n"),
            )?
        };
        // Prices written inline rather than joined: a join prices every matching call
        // before the top-N sort (0.7 s at 4M calls), inline only the page's, unless the
        // page is sorted by cost. The page's keys are chosen first, reading only the
        // sort column, then its rows are read: DuckDB otherwise reads every match's
        // prompt, response and price before the top-N (1.0 s against 0.2 s for 2.6M
        // matches of 4.2M calls).
        let cost = self.inline_cost()?;
        let key = match sort {
            CallSort::Cost => cost.clone(),
            other => other.column().to_string(),
        };
        let dir = dir.sql();
        let sql = format!(
            "WITH page AS (
                 SELECT c.trace_id, c.span_id, c.start_ns, {key} AS sort_key
                 FROM llm_calls c WHERE {}
                 ORDER BY sort_key {dir} NULLS LAST, c.trace_id, c.span_id LIMIT ? OFFSET ?)
             SELECT c.trace_id, c.span_id, c.start_ns, c.duration_ns, c.model, c.provider, c.service,
                    left(c.prompt, {EXCERPT_CHARS}) AS prompt_excerpt,
                    left(c.response, {EXCERPT_CHARS}) AS response_excerpt,
                    c.input_tokens, c.output_tokens, {cost} AS cost_usd, c.is_error, c.error_type
             FROM page p JOIN llm_calls c
               ON c.start_ns = p.start_ns AND c.trace_id = p.trace_id AND c.span_id = p.span_id
             ORDER BY p.sort_key {dir} NULLS LAST, c.trace_id, c.span_id",
            w.sql,
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(
                params(&w, [Value::UBigInt(limit), Value::UBigInt(offset)]),
                |r| {
                    Ok(CallRow {
                        trace_id: trace_id_hex(r.get("trace_id")?),
                        span_id: span_id_hex(r.get("span_id")?),
                        start_ns: r.get("start_ns")?,
                        duration_ns: r.get("duration_ns")?,
                        model: r.get("model")?,
                        provider: r.get("provider")?,
                        service: r.get("service")?,
                        prompt_excerpt: r.get("prompt_excerpt")?,
                        response_excerpt: r.get("response_excerpt")?,
                        input_tokens: r.get("input_tokens")?,
                        output_tokens: r.get("output_tokens")?,
                        cost_usd: r.get("cost_usd")?,
                        is_error: r.get("is_error")?,
                        error_type: r.get("error_type")?,
                    })
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, total))
    }

    /// The most frequent failures in a selection, by error type and model.
    pub fn top_errors(&mut self, filter: &Filter, limit: u64) -> Result<Vec<TopError>, StoreError> {
        Self::check(filter)?;
        let errors_only = Filter {
            status: StatusFilter::Error,
            ..filter.clone()
        };
        let w = self.calls_where(&errors_only)?;
        let sql = format!(
            "SELECT coalesce(c.error_type, 'error') AS error_type, c.model, count(*) AS n,
                    count(*) / sum(count(*)) OVER () AS share,
                    max(c.start_ns) AS last_seen_ns,
                    arg_max(c.error_message, c.start_ns) AS example_message
             FROM llm_calls c WHERE {}
             GROUP BY ALL ORDER BY n DESC, error_type, c.model LIMIT ?",
            w.sql
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params(&w, [Value::UBigInt(limit)]), |r| {
            Ok(TopError {
                error_type: r.get("error_type")?,
                model: r.get("model")?,
                count: r.get("n")?,
                share: r.get("share")?,
                last_seen_ns: r.get("last_seen_ns")?,
                example_message: r.get("example_message")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
