//! Traces: the sortable page of traces in a selection, and one trace's span tree.

use super::{Reader, SortDir, cost};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::ids::{span_id_hex, trace_id_hex, trace_id_list};
use crate::row::{CallPhases, CallTiming, SpanClass, StatusCode};
use duckdb::types::Value;
use serde::Serialize;

/// The first schema whose `traces` table keeps each trace's cost.
const TRACE_COST_SCHEMA: i64 = 15;

/// Columns the traces page sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceSort {
    /// Start time.
    #[default]
    Start,
    /// Duration.
    Duration,
    /// Number of LLM calls.
    LlmCalls,
    /// Total tokens.
    Tokens,
    /// Cost.
    Cost,
    /// Errors first (or last).
    Status,
    /// Root span name.
    Name,
    /// Service.
    Service,
}

impl TraceSort {
    pub(crate) fn column(self) -> &'static str {
        match self {
            TraceSort::Start => "start_ns",
            TraceSort::Duration => "duration_ns",
            TraceSort::LlmCalls => "llm_calls",
            TraceSort::Tokens => "tokens",
            TraceSort::Cost => "cost_usd",
            TraceSort::Status => "has_error",
            TraceSort::Name => "root_name",
            TraceSort::Service => "service",
        }
    }

    /// What the sort orders the rows of the `traces` table `s` by (the cost: the one
    /// the writer keeps).
    fn table_order(self) -> &'static str {
        match self {
            TraceSort::Name => "s.root_name",
            TraceSort::Service => "s.root_service",
            TraceSort::Duration => "s.end_ns - s.start_ns",
            TraceSort::Status => "(s.span_error OR s.call_error)",
            TraceSort::Cost => "s.cost_usd",
            TraceSort::Start => "s.start_ns",
            TraceSort::LlmCalls => "s.llm_calls",
            TraceSort::Tokens => "s.tokens",
        }
    }
}

/// One trace in the traces page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceRow {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// Name of the root span (the earliest span when the root is missing).
    pub root_name: String,
    /// Service of the root span.
    pub service: String,
    /// Start, Unix ns.
    pub start_ns: i64,
    /// Duration from first start to last end, ns.
    pub duration_ns: i64,
    /// Spans.
    pub spans: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Input + output tokens.
    pub tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Whether any span or call failed.
    pub has_error: bool,
}

/// One span of a trace, with its place in the tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceSpan {
    /// Span id, 16 hex digits.
    pub span_id: String,
    /// Parent span id, when it has one.
    pub parent_span_id: Option<String>,
    /// Depth in the tree (0 for roots, and for spans whose parent is missing).
    pub depth: usize,
    /// Name.
    pub name: String,
    /// OTLP span kind number.
    pub kind: i32,
    /// What kind of work it is.
    pub class: SpanClass,
    /// Service.
    pub service: String,
    /// Start, Unix ns.
    pub start_ns: i64,
    /// Duration, ns.
    pub duration_ns: i64,
    /// Status.
    pub status: StatusCode,
    /// Status message.
    pub status_message: Option<String>,
    /// Span attributes (JSON object).
    pub attributes_json: String,
    /// Resource attributes (JSON object).
    pub resource_json: String,
    /// Events (JSON array).
    pub events_json: String,
    /// Links (JSON array).
    pub links_json: String,
    /// The model asked for, when the span is an LLM call.
    pub model: Option<String>,
    /// The snapshot that answered (response model), when it said.
    pub response_model: Option<String>,
    /// Provider of the call.
    pub provider: Option<String>,
    /// Input tokens of the call.
    pub input_tokens: Option<i64>,
    /// Output tokens of the call.
    pub output_tokens: Option<i64>,
    /// Cost of the call in USD (None when unpriced or not a call).
    pub cost_usd: Option<f64>,
    /// Prompt text of the call.
    pub prompt: Option<String>,
    /// Response text of the call.
    pub response: Option<String>,
    /// Instrumentation scope name.
    pub scope: Option<String>,
    /// Input tokens read from a prompt cache.
    pub cache_read_tokens: Option<i64>,
    /// Why generation stopped (`stop`, `length`, `tool_calls`…).
    pub finish_reason: Option<String>,
    /// The error type of a failed call.
    pub error_type: Option<String>,
    /// The agent's or tool's name of an agent or tool span.
    pub entity: Option<String>,
    /// Where the call's time went (time to first token, server phases), when it said.
    pub timing: CallTiming,
}

impl TraceSpan {
    /// The call's duration split into phases, when it said anything about them.
    pub fn phases(&self) -> Option<CallPhases> {
        CallPhases::of(self.duration_ns, &self.timing)
    }

    /// Output tokens per second of generation ([`super::OUTPUT_TPS_DOC`]), when the
    /// call reported output tokens and took time.
    pub fn output_tps(&self) -> Option<f64> {
        let tokens = self.output_tokens.filter(|t| *t > 0)? as f64;
        let generation_ns = self
            .timing
            .decode_ns
            .or(self.timing.ttft_ns.map(|t| self.duration_ns - t))
            .unwrap_or(self.duration_ns);
        (generation_ns > 0).then(|| tokens * 1e9 / generation_ns as f64)
    }
}

/// A trace's spans in depth-first order (children by start time).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TraceTree {
    /// Trace id, 32 hex digits.
    pub trace_id: String,
    /// The spans, each after its parent.
    pub spans: Vec<TraceSpan>,
}

impl Reader {
    /// One page of the traces in a selection, and how many there are in all.
    pub fn traces_page(
        &mut self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TraceRow>, u64), StoreError> {
        Self::check(filter)?;
        if self.traces_table_answers(filter) {
            return self.traces_page_from_table(filter, sort, dir, offset, limit);
        }
        let (select, mut p) = self.traces_sql(filter)?;
        let count_params = p.clone();
        let sql = format!(
            "SELECT *, count(*) OVER () AS total FROM ({select}) ORDER BY {} {}, trace_id LIMIT ? OFFSET ?",
            sort.column(),
            dir.sql()
        );
        p.push(Value::UBigInt(limit));
        p.push(Value::UBigInt(offset));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut total = 0;
        let rows = stmt
            .query_map(duckdb::params_from_iter(p), |r| {
                Ok((
                    TraceRow {
                        trace_id: trace_id_hex(r.get("trace_id")?),
                        root_name: r.get("root_name")?,
                        service: r.get("service")?,
                        start_ns: r.get("start_ns")?,
                        duration_ns: r.get("duration_ns")?,
                        spans: r.get("spans")?,
                        llm_calls: r.get("llm_calls")?,
                        tokens: r.get("tokens")?,
                        cost_usd: r.get("cost_usd")?,
                        has_error: r.get("has_error")?,
                    },
                    r.get::<_, u64>("total")?,
                ))
            })?
            .map(|r| {
                r.map(|(row, t)| {
                    total = t;
                    row
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() && offset > 0 {
            // A page past the end has no row to carry the total: count on its own.
            total = self.conn.query_row(
                &format!("SELECT count(*) AS n FROM ({select})"),
                duckdb::params_from_iter(count_params),
                |r| r.get("n"),
            )?;
        }
        Ok((rows, total))
    }

    /// Whether the `traces` table can answer a traces page: it selects by time only (a
    /// trace by its first start).
    pub(super) fn traces_table_answers(&self, filter: &Filter) -> bool {
        self.traces_hold_every_span(filter) && !filter.selects_calls()
    }

    /// Whether `traces.cost_usd` holds the costs at this reader's prices
    /// (`crate::trace_cost`).
    fn trace_cost_is_current(&self) -> Result<bool, StoreError> {
        if self.schema_version < TRACE_COST_SCHEMA {
            return Ok(false);
        }
        let prices = self.prices.read().expect("price lock").clone();
        Ok(crate::trace_cost::priced_with(&self.conn, &prices)?)
    }

    /// Whether the `traces` table's rows stand for all of their spans under `filter`:
    /// it has them all (kept by the writer) and no condition is on a span's service.
    pub(super) fn traces_hold_every_span(&self, filter: &Filter) -> bool {
        self.use_rollups && self.schema_version >= 7 && filter.services.is_empty()
    }

    /// [`Reader::traces_page`] from the `traces` table: the page's rows sorted there,
    /// then priced from their calls; sorted by cost, by the kept cost when it is at
    /// this reader's prices, else every trace of the selection is priced first, from
    /// its kept cost measures (`trace_spend`), else from its calls.
    fn traces_page_from_table(
        &mut self,
        filter: &Filter,
        sort: TraceSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TraceRow>, u64), StoreError> {
        let w = filter.spans_where();
        let total: u64 = self.conn.query_row(
            &format!("SELECT count(*) AS n FROM traces s WHERE {}", w.sql),
            duckdb::params_from_iter(w.params.clone()),
            |r| r.get("n"),
        )?;
        let columns = "s.trace_id, s.root_name, s.root_service AS service, s.start_ns,
                       s.end_ns - s.start_ns AS duration_ns, s.spans::UBIGINT AS spans,
                       s.llm_calls::UBIGINT AS llm_calls, s.tokens::UBIGINT AS tokens,
                       s.span_error OR s.call_error AS has_error";
        // Each trace's cost, kept by the writer at the prices in force: when it is at
        // this reader's prices, every sort shows it instead of pricing the page's calls
        // (a page of the slowest traces spans the whole range: 70 ms at 10M spans).
        let kept_cost = self.trace_cost_is_current()?;
        let priced = kept_cost || sort == TraceSort::Cost;
        let sql = if kept_cost {
            format!(
                "SELECT {columns}, coalesce(s.cost_usd, 0) AS cost_usd FROM traces s WHERE {}
                 ORDER BY {} {}, s.trace_id LIMIT ? OFFSET ?",
                w.sql,
                sort.table_order(),
                dir.sql()
            )
        } else if sort == TraceSort::Cost {
            // A trace's calls start no earlier than the trace: the same lower bound
            // keeps the pricing to the selection's row groups.
            let since = filter
                .from_ns
                .map_or("TRUE".to_string(), |from| format!("c.start_ns >= {from}"));
            if self.schema_version >= super::KEPT_SUMMARIES_SCHEMA {
                // Each trace's kept cost measures, priced here: a fraction of its calls.
                format!(
                    "WITH l AS (SELECT c.trace_id, sum({cost}) AS cost_usd
                                FROM trace_spend c WHERE {since} GROUP BY c.trace_id)
                     SELECT {columns}, coalesce(l.cost_usd, 0) AS cost_usd
                     FROM traces s LEFT JOIN l USING (trace_id) WHERE {w}
                     ORDER BY coalesce(l.cost_usd, 0) {dir}, s.trace_id LIMIT ? OFFSET ?",
                    cost = self.inline_measures_cost()?,
                    w = w.sql,
                    dir = dir.sql(),
                )
            } else {
                format!(
                    "WITH {cte},
                 l AS (SELECT c.trace_id, sum({cost}) AS cost_usd
                       FROM llm_calls c {join} WHERE {since} GROUP BY c.trace_id)
                 SELECT {columns}, coalesce(l.cost_usd, 0) AS cost_usd
                 FROM traces s LEFT JOIN l USING (trace_id) WHERE {w}
                 ORDER BY coalesce(l.cost_usd, 0) {dir}, s.trace_id LIMIT ? OFFSET ?",
                    cte = self.prices_cte()?,
                    cost = cost::joined(),
                    join = cost::join_prices(),
                    w = w.sql,
                    dir = dir.sql(),
                )
            }
        } else {
            format!(
                "SELECT {columns} FROM traces s WHERE {}
                 ORDER BY {} {}, s.trace_id LIMIT ? OFFSET ?",
                w.sql,
                sort.table_order(),
                dir.sql()
            )
        };
        let mut p = w.params;
        p.push(Value::UBigInt(limit));
        p.push(Value::UBigInt(offset));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut ids = Vec::new();
        let mut rows = stmt
            .query_map(duckdb::params_from_iter(p), |r| {
                let id: u128 = r.get("trace_id")?;
                Ok((
                    id,
                    TraceRow {
                        trace_id: trace_id_hex(id),
                        root_name: r.get("root_name")?,
                        service: r.get("service")?,
                        start_ns: r.get("start_ns")?,
                        duration_ns: r.get("duration_ns")?,
                        spans: r.get("spans")?,
                        llm_calls: r.get("llm_calls")?,
                        tokens: r.get("tokens")?,
                        cost_usd: if priced { r.get("cost_usd")? } else { 0.0 },
                        has_error: r.get("has_error")?,
                    },
                ))
            })?
            .map(|r| {
                r.map(|(id, row)| {
                    ids.push(id);
                    row
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !priced {
            self.price_traces(&ids, &mut rows)?;
        }
        Ok((rows, total))
    }

    /// Sets each row's cost from its calls (`ids` the rows' trace ids, in order).
    fn price_traces(&mut self, ids: &[u128], rows: &mut [TraceRow]) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (
            rows.iter().map(|r| r.start_ns).min(),
            rows.iter().map(|r| r.start_ns + r.duration_ns).max(),
        ) else {
            return Ok(());
        };
        let cte = self.prices_cte()?;
        let cost = cost::joined();
        let join = cost::join_prices();
        // A call starts within its trace: the time bounds keep DuckDB to a few row groups.
        let sql = format!(
            "WITH {cte}
             SELECT c.trace_id, coalesce(sum({cost}), 0) AS cost_usd
             FROM llm_calls c {join}
             WHERE c.start_ns BETWEEN ? AND ? AND c.trace_id IN ({})
             GROUP BY c.trace_id",
            trace_id_list(ids)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let costs = stmt
            .query_map(duckdb::params![first, last], |r| {
                Ok((r.get::<_, u128>("trace_id")?, r.get::<_, f64>("cost_usd")?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (id, cost_usd) in costs {
            if let Some(i) = ids.iter().position(|x| *x == id) {
                rows[i].cost_usd = cost_usd;
            }
        }
        Ok(())
    }

    /// The query listing every trace of a selection with its figures (columns as in
    /// [`TraceRow`], ids as numbers), without order or limit, and its parameters.
    pub(super) fn traces_sql(
        &mut self,
        filter: &Filter,
    ) -> Result<(String, Vec<Value>), StoreError> {
        let cte = self.prices_cte()?;
        let cost = cost::joined();
        let join = cost::join_prices();
        // The traces holding a selected span; each listed whole, when it starts in the
        // range (as the `traces` table lists them).
        let (candidates, p) = self.spans_sql(filter, "SELECT DISTINCT s.trace_id FROM spans s")?;
        let mut starts = vec!["TRUE".to_string()];
        if let Some(from) = filter.from_ns {
            starts.push(format!("min(s.start_ns) >= {from}"));
        }
        if let Some(to) = filter.to_ns {
            starts.push(format!("min(s.start_ns) < {to}"));
        }
        let sql = format!(
            "WITH {cte}, t AS (
                 SELECT s.trace_id, min(s.start_ns) AS start_ns, max(s.end_ns) - min(s.start_ns) AS duration_ns,
                        count(*) AS spans,
                        coalesce(arg_min(s.name, s.start_ns) FILTER (WHERE s.parent_span_id IS NULL), arg_min(s.name, s.start_ns)) AS root_name,
                        coalesce(arg_min(s.service, s.start_ns) FILTER (WHERE s.parent_span_id IS NULL), arg_min(s.service, s.start_ns)) AS service,
                        bool_or(s.status_code = 2) AS span_error
                 FROM spans s WHERE s.trace_id IN ({candidates})
                 GROUP BY s.trace_id HAVING {}),
             l AS (SELECT c.trace_id, count(*) AS llm_calls,
                          coalesce(sum(c.input_tokens), 0) + coalesce(sum(c.output_tokens), 0) AS tokens,
                          coalesce(sum({cost}), 0) AS cost, bool_or(c.is_error) AS call_error
                   FROM llm_calls c {join}
                   WHERE c.trace_id IN (SELECT trace_id FROM t) GROUP BY c.trace_id)
             SELECT t.trace_id, t.root_name, t.service, t.start_ns, t.duration_ns, t.spans,
                    coalesce(l.llm_calls, 0) AS llm_calls, coalesce(l.tokens, 0)::UBIGINT AS tokens,
                    coalesce(l.cost, 0) AS cost_usd, t.span_error OR coalesce(l.call_error, false) AS has_error
             FROM t LEFT JOIN l USING (trace_id)",
            starts.join(" AND ")
        );
        Ok((sql, p))
    }

    /// Several traces at once, in the order asked (a trace not found comes back with
    /// no spans): one query for them all, which an export of 100,000 traces needs
    /// (one query per trace took minutes). Ids close in time (as [`Reader::trace_ids`]
    /// lists them) read few row groups; ids far apart (a session's turns over weeks)
    /// read every row group their spans are in, and decompress the wide columns of
    /// each vector holding one of them: 2 s for 419 turns at 10M spans (the session
    /// page reads [`Reader::session_turns`] instead).
    pub fn traces(&mut self, ids: &[u128]) -> Result<Vec<TraceTree>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cte = self.prices_cte()?;
        let cost = cost::joined();
        let join = cost::join_prices();
        // Files of schema 2 and older, opened read-only, have no classes: their model
        // calls are still told apart.
        let class = if self.schema_version >= 3 {
            "s.class"
        } else {
            "CASE WHEN s.is_llm THEN 1 ELSE 0 END::UTINYINT AS class"
        };
        // Agents' and tools' names from schema 8 on.
        let entity = if self.schema_version >= 8 {
            "s.entity"
        } else {
            "NULL::VARCHAR AS entity"
        };
        // Calls' timing from schema 11 on.
        let timing = if self.has_timing() {
            "c.ttft_ns, c.queue_ns, c.prefill_ns, c.decode_ns, c.streamed"
        } else {
            "NULL::BIGINT AS ttft_ns, NULL::BIGINT AS queue_ns, NULL::BIGINT AS prefill_ns,
             NULL::BIGINT AS decode_ns, NULL::BOOLEAN AS streamed"
        };
        // Every span of a trace starts between the trace's first start and last end:
        // with those bounds from the `traces` table, DuckDB reads the few row groups
        // holding them instead of every trace id (128 ms → a few ms at 50M spans).
        let list = trace_id_list(ids);
        let (lo, hi) = self
            .traces_time_range(&list)?
            .unwrap_or((i64::MIN, i64::MAX));
        let sql = format!(
            "WITH {cte}
             SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.service, s.start_ns, s.duration_ns,
                    s.status_code, s.status_message, s.attributes, s.resource, s.events, s.links,
                    c.model, c.response_model, c.provider, c.input_tokens, c.output_tokens, {cost} AS cost_usd, c.prompt, c.response,
                    s.scope, {class}, c.cache_read_tokens, c.finish_reason, c.error_type, {entity},
                    {timing}
             FROM spans s
             LEFT JOIN (SELECT * FROM llm_calls WHERE trace_id IN ({list}) AND start_ns BETWEEN ?1 AND ?2) c
               ON c.trace_id = s.trace_id AND c.span_id = s.span_id
             {join}
             WHERE s.trace_id IN ({list}) AND s.start_ns BETWEEN ?1 AND ?2
             ORDER BY s.trace_id, s.start_ns, s.span_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut by_trace: std::collections::HashMap<u128, Vec<TraceSpan>> =
            std::collections::HashMap::with_capacity(ids.len());
        let rows = stmt.query_map(duckdb::params![lo, hi], |r| {
            Ok((
                r.get::<_, u128>("trace_id")?,
                TraceSpan {
                    span_id: span_id_hex(r.get("span_id")?),
                    parent_span_id: r.get::<_, Option<u64>>("parent_span_id")?.map(span_id_hex),
                    depth: 0,
                    name: r.get("name")?,
                    kind: r.get::<_, i8>("kind")? as i32,
                    class: SpanClass::from_code(r.get::<_, Option<u8>>("class")?.unwrap_or(0)),
                    service: r.get("service")?,
                    start_ns: r.get("start_ns")?,
                    duration_ns: r.get("duration_ns")?,
                    status: StatusCode::from_i32(r.get::<_, i8>("status_code")? as i32),
                    status_message: r.get("status_message")?,
                    attributes_json: r
                        .get::<_, Option<String>>("attributes")?
                        .unwrap_or_default(),
                    resource_json: r.get::<_, Option<String>>("resource")?.unwrap_or_default(),
                    events_json: r.get::<_, Option<String>>("events")?.unwrap_or_default(),
                    links_json: r.get::<_, Option<String>>("links")?.unwrap_or_default(),
                    model: r.get("model")?,
                    response_model: r.get("response_model")?,
                    provider: r.get("provider")?,
                    input_tokens: r.get("input_tokens")?,
                    output_tokens: r.get("output_tokens")?,
                    cost_usd: r.get("cost_usd")?,
                    prompt: r.get("prompt")?,
                    response: r.get("response")?,
                    scope: r.get("scope")?,
                    cache_read_tokens: r.get("cache_read_tokens")?,
                    finish_reason: r.get("finish_reason")?,
                    error_type: r.get("error_type")?,
                    entity: r.get("entity")?,
                    timing: CallTiming {
                        ttft_ns: r.get("ttft_ns")?,
                        queue_ns: r.get("queue_ns")?,
                        prefill_ns: r.get("prefill_ns")?,
                        decode_ns: r.get("decode_ns")?,
                        streamed: r.get("streamed")?,
                    },
                },
            ))
        })?;
        for row in rows {
            let (id, span) = row?;
            by_trace.entry(id).or_default().push(span);
        }
        Ok(ids
            .iter()
            .map(|id| TraceTree {
                trace_id: trace_id_hex(*id),
                spans: depth_first(by_trace.remove(id).unwrap_or_default()),
            })
            .collect())
    }

    /// The first start and last end of the traces `list` (a [`trace_id_list`]) from the
    /// `traces` table; `None` when the file has no such table, it is turned off, or no
    /// trace is there.
    fn traces_time_range(&mut self, list: &str) -> Result<Option<(i64, i64)>, StoreError> {
        if !self.use_rollups || self.schema_version < 7 {
            return Ok(None);
        }
        let range: (Option<i64>, Option<i64>) = self.conn.query_row(
            &format!("SELECT min(start_ns) AS lo, max(end_ns) AS hi FROM traces WHERE trace_id IN ({list})"),
            [],
            |r| Ok((r.get("lo")?, r.get("hi")?)),
        )?;
        Ok(match range {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            _ => None,
        })
    }
}

/// Orders spans (sorted by start) depth-first under their parents; spans whose parent
/// is not in the trace become roots.
pub(crate) fn depth_first(flat: Vec<TraceSpan>) -> Vec<TraceSpan> {
    use std::collections::HashMap;
    let index: HashMap<&str, usize> = flat
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); flat.len()];
    let mut roots = Vec::new();
    for (i, s) in flat.iter().enumerate() {
        match s.parent_span_id.as_deref().and_then(|p| index.get(p)) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let mut order = Vec::with_capacity(flat.len());
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
    let mut visited = vec![false; flat.len()];
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        order.push((i, depth));
        stack.extend(children[i].iter().rev().map(|&c| (c, depth + 1)));
    }
    // Spans caught in a parent cycle are never reached from a root: keep them anyway.
    for (i, seen) in visited.iter().enumerate() {
        if !seen {
            order.push((i, 0));
        }
    }
    let mut slots: Vec<Option<TraceSpan>> = flat.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|(i, depth)| {
            let mut s = slots[i].take().expect("each span once");
            s.depth = depth;
            s
        })
        .collect()
}
