//! Agents and tools: each agent's runs (its agent spans) with what happened inside
//! them — the LLM calls and tool executions of the same trace that start within the
//! run, their tokens and cost —, and each tool's executions with the agents whose runs
//! they happened in.

use super::{Reader, sessions::SESSIONS_SCHEMA};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::ids::{span_id_hex, trace_id_hex};
use duckdb::types::Value;
use serde::Serialize;

/// One agent of a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentRow {
    /// The agent's name.
    pub agent: String,
    /// Its runs (agent spans).
    pub runs: u64,
    /// Runs whose span failed.
    pub failed_runs: u64,
    /// Median run duration in ms.
    pub p50_ms: f64,
    /// 95th percentile run duration in ms.
    pub p95_ms: f64,
    /// LLM calls per run, on average.
    pub llm_calls_per_run: f64,
    /// Tool executions per run, on average.
    pub tool_calls_per_run: f64,
    /// Input + output tokens per run, on average.
    pub tokens_per_run: f64,
    /// Cost per run in USD, on average.
    pub cost_per_run: f64,
    /// The most steps (spans) one run held.
    pub max_steps: u64,
}

/// One tool of a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolRow {
    /// The tool's name.
    pub tool: String,
    /// Executions (tool spans).
    pub calls: u64,
    /// Executions whose span failed.
    pub errors: u64,
    /// Average duration in ms.
    pub avg_ms: f64,
    /// 95th percentile duration in ms.
    pub p95_ms: f64,
    /// The agents in whose runs it was executed, by name.
    pub agents: Vec<String>,
}

/// One run of an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentRun {
    /// Its trace, 32 hex digits.
    pub trace_id: String,
    /// Its agent span, 16 hex digits.
    pub span_id: String,
    /// Start, Unix ns.
    pub start_ns: i64,
    /// Duration, ns.
    pub duration_ns: i64,
    /// Spans inside it.
    pub steps: u64,
    /// LLM calls inside it.
    pub llm_calls: u64,
    /// Tool executions inside it.
    pub tool_calls: u64,
    /// Input + output tokens of its calls.
    pub tokens: u64,
    /// Cost of its calls in USD.
    pub cost_usd: f64,
    /// Whether its span failed.
    pub failed: bool,
}

impl Reader {
    /// Every agent of the selection, most runs first.
    pub fn agents(&mut self, filter: &Filter) -> Result<Vec<AgentRow>, StoreError> {
        let (runs, params) = self.runs_sql(filter)?;
        let sql = format!(
            "{runs}
             SELECT agent, count(*) AS runs, count(*) FILTER (failed) AS failed_runs,
                    quantile_cont(duration_ns, 0.5) / 1e6 AS p50_ms,
                    quantile_cont(duration_ns, 0.95) / 1e6 AS p95_ms,
                    avg(llm_calls) AS llm_calls_per_run, avg(tool_calls) AS tool_calls_per_run,
                    avg(tokens) AS tokens_per_run, avg(cost_usd) AS cost_per_run,
                    max(steps)::UBIGINT AS max_steps
             FROM figures GROUP BY agent ORDER BY runs DESC, agent"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            Ok(AgentRow {
                agent: r.get("agent")?,
                runs: r.get("runs")?,
                failed_runs: r.get("failed_runs")?,
                p50_ms: r.get("p50_ms")?,
                p95_ms: r.get("p95_ms")?,
                llm_calls_per_run: r.get("llm_calls_per_run")?,
                tool_calls_per_run: r.get("tool_calls_per_run")?,
                tokens_per_run: r.get("tokens_per_run")?,
                cost_per_run: r.get("cost_per_run")?,
                max_steps: r.get("max_steps")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// An agent's runs in the selection, most steps first (ties: latest first).
    pub fn agent_runs(
        &mut self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError> {
        let (runs, mut params) = self.runs_sql(filter)?;
        let sql = format!(
            "{runs}
             SELECT * FROM figures WHERE agent = ?
             ORDER BY steps DESC, start_ns DESC, trace_id, span_id LIMIT ?"
        );
        params.push(Value::Text(agent.to_string()));
        params.push(Value::UBigInt(limit));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            Ok(AgentRun {
                trace_id: trace_id_hex(r.get("trace_id")?),
                span_id: span_id_hex(r.get("span_id")?),
                start_ns: r.get("start_ns")?,
                duration_ns: r.get("duration_ns")?,
                steps: r.get("steps")?,
                llm_calls: r.get("llm_calls")?,
                tool_calls: r.get("tool_calls")?,
                tokens: r.get("tokens")?,
                cost_usd: r.get("cost_usd")?,
                failed: r.get("failed")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every tool of the selection, most executions first.
    pub fn tools(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        let (runs, params) = self.runs_sql(filter)?;
        let (within, mut tool_params) = self.selected_spans(filter, "t")?;
        let mut all = params;
        all.append(&mut tool_params);
        let sql = format!(
            "{runs},
             executions AS (
                 SELECT t.trace_id, t.start_ns, t.entity AS tool, t.duration_ns,
                        t.status_code = 2 AS failed
                 FROM spans t WHERE t.class = 3 AND t.entity IS NOT NULL AND {within}),
             used AS (
                 SELECT DISTINCT e.tool, r.agent FROM executions e JOIN runs r
                   ON r.trace_id = e.trace_id AND e.start_ns BETWEEN r.start_ns AND r.end_ns)
             SELECT e.tool, count(*) AS calls, count(*) FILTER (e.failed) AS errors,
                    avg(e.duration_ns) / 1e6 AS avg_ms,
                    quantile_cont(e.duration_ns, 0.95) / 1e6 AS p95_ms,
                    (SELECT coalesce(list(u.agent ORDER BY u.agent), []) FROM used u
                     WHERE u.tool = e.tool) AS agents
             FROM executions e GROUP BY e.tool ORDER BY calls DESC, e.tool"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(all), |r| {
            let agents: duckdb::types::Value = r.get("agents")?;
            Ok(ToolRow {
                tool: r.get("tool")?,
                calls: r.get("calls")?,
                errors: r.get("errors")?,
                avg_ms: r.get("avg_ms")?,
                p95_ms: r.get("p95_ms")?,
                agents: match agents {
                    Value::List(items) => items
                        .into_iter()
                        .filter_map(|v| match v {
                            Value::Text(t) => Some(t),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Conditions selecting the spans `alias` of a selection: by their start and
    /// service, and within traces holding a selected call when the filter selects calls.
    fn selected_spans(
        &mut self,
        filter: &Filter,
        alias: &str,
    ) -> Result<(String, Vec<Value>), StoreError> {
        Self::check(filter)?;
        if self.schema_version < SESSIONS_SCHEMA {
            return Err(StoreError::OlderSchema {
                what: "agents and tools",
                needs: SESSIONS_SCHEMA,
                has: self.schema_version,
            });
        }
        let mut conditions = vec!["TRUE".to_string()];
        let mut params = Vec::new();
        if let Some(from) = filter.from_ns {
            conditions.push(format!("{alias}.start_ns >= ?"));
            params.push(Value::BigInt(from));
        }
        if let Some(to) = filter.to_ns {
            conditions.push(format!("{alias}.start_ns < ?"));
            params.push(Value::BigInt(to));
        }
        if !filter.services.is_empty() {
            let marks = vec!["?"; filter.services.len()].join(", ");
            conditions.push(format!("{alias}.service IN ({marks})"));
            params.extend(filter.services.iter().map(|s| Value::Text(s.clone())));
        }
        if filter.selects_calls() {
            let w = self.calls_where(filter)?;
            conditions.push(format!(
                "{alias}.trace_id IN (SELECT c.trace_id FROM llm_calls c WHERE {})",
                w.sql
            ));
            params.extend(w.params);
        }
        Ok((conditions.join(" AND "), params))
    }

    /// `WITH runs AS (…), figures AS (…)`: the selection's agent runs, and each with
    /// the steps, LLM calls, tool executions, tokens and cost inside it.
    fn runs_sql(&mut self, filter: &Filter) -> Result<(String, Vec<Value>), StoreError> {
        let (within, params) = self.selected_spans(filter, "a")?;
        let cost = self.inline_cost()?;
        Ok((
            format!(
                "WITH runs AS (
                     SELECT a.trace_id, a.span_id, a.entity AS agent, a.start_ns, a.end_ns,
                            a.duration_ns, a.status_code = 2 AS failed
                     FROM spans a WHERE a.class = 2 AND a.entity IS NOT NULL AND {within}),
                 inside AS (
                     SELECT r.trace_id, r.span_id, count(*) AS steps,
                            count(*) FILTER (x.class = 1) AS llm_calls,
                            count(*) FILTER (x.class = 3) AS tool_calls
                     FROM runs r JOIN spans x
                       ON x.trace_id = r.trace_id AND x.start_ns BETWEEN r.start_ns AND r.end_ns
                      AND x.span_id <> r.span_id
                     GROUP BY ALL),
                 spend AS (
                     SELECT r.trace_id, r.span_id,
                            sum(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0)) AS tokens,
                            sum(coalesce({cost}, 0)) AS cost_usd
                     FROM runs r JOIN llm_calls c
                       ON c.trace_id = r.trace_id AND c.start_ns BETWEEN r.start_ns AND r.end_ns
                     GROUP BY ALL),
                 figures AS (
                     SELECT r.*, coalesce(i.steps, 0)::UBIGINT AS steps,
                            coalesce(i.llm_calls, 0)::UBIGINT AS llm_calls,
                            coalesce(i.tool_calls, 0)::UBIGINT AS tool_calls,
                            coalesce(s.tokens, 0)::UBIGINT AS tokens,
                            coalesce(s.cost_usd, 0)::DOUBLE AS cost_usd
                     FROM runs r LEFT JOIN inside i USING (trace_id, span_id)
                     LEFT JOIN spend s USING (trace_id, span_id))"
            ),
            params,
        ))
    }
}
