//! Agents and tools on a team's ClickHouse, as the local database answers them: each
//! agent run (an agent span, classified and named at query time by the normalizer's
//! rules) with the spans of its trace that start within it.

use super::extract;
use super::http::{Param, Params};
use super::reader::ClickHouseReader;
use crate::error::StoreError;
use crate::filter::Filter;
use crate::query::{AgentRow, AgentRun, ToolRow};
use serde_json::Value;

impl ClickHouseReader {
    /// The selection's agent runs, each with the steps, LLM calls, tool executions,
    /// tokens and cost of the spans of its trace starting within it.
    fn runs(&self, filter: &Filter, p: &mut Params) -> Result<String, StoreError> {
        let selected = self.selected_spans(filter, p)?;
        let cost = self.inline_cost(filter)?;
        // The spans inside a run start at or after it, so after the range's start too.
        let inside = match filter.from_ns {
            Some(from) => format!(
                "Timestamp >= fromUnixTimestamp64Nano({})",
                p.push(Param::Int(from))
            ),
            None => "TRUE".to_string(),
        };
        Ok(format!(
            "SELECT r.trace_id AS trace_id, r.span_id AS span_id, r.agent AS agent,
                    r.start_ns AS start_ns, r.duration_ns AS duration_ns, r.failed AS failed,
                    toUInt64(countIf(c.span_id != r.span_id)) AS steps,
                    toUInt64(countIf(c.class = 1)) AS llm_calls,
                    toUInt64(countIf(c.class = 3 AND c.span_id != r.span_id)) AS tool_calls,
                    toUInt64(sumIf(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0), c.class = 1)) AS tokens,
                    sumIf(coalesce({cost}, 0), c.class = 1) AS cost_usd
             FROM (SELECT s.trace_id AS trace_id, s.span_id AS span_id, s.entity AS agent,
                          s.start_ns AS start_ns, s.start_ns + s.duration_ns AS end_ns,
                          s.duration_ns AS duration_ns, s.span_failed AS failed
                   FROM ({runs}) AS s WHERE s.class = 2 AND s.entity IS NOT NULL) AS r
             INNER JOIN ({spans}) AS c ON c.trace_id = r.trace_id
             WHERE c.start_ns >= r.start_ns AND c.start_ns <= r.end_ns
             GROUP BY r.trace_id, r.span_id, r.agent, r.start_ns, r.duration_ns, r.failed",
            runs = extract::spans(&self.table(), &selected),
            spans = extract::spans(&self.table(), &inside),
        ))
    }

    /// Every agent of the selection, most runs first.
    pub(super) fn agent_rows(&self, filter: &Filter) -> Result<Vec<AgentRow>, StoreError> {
        let mut p = Params::default();
        let runs = self.runs(filter, &mut p)?;
        let sql = format!(
            "SELECT agent, count(), countIf(failed),
                    quantilesExactInclusive(0.5, 0.95)(duration_ns),
                    avg(llm_calls), avg(tool_calls), avg(tokens), avg(cost_usd), max(steps)
             FROM ({runs}) GROUP BY agent ORDER BY count() DESC, agent"
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| {
                let q = |i: usize| r[3].get(i).and_then(Value::as_f64).unwrap_or(0.0) / 1e6;
                AgentRow {
                    agent: r[0].as_str().unwrap_or_default().to_string(),
                    runs: r[1].as_u64().unwrap_or(0),
                    failed_runs: r[2].as_u64().unwrap_or(0),
                    p50_ms: q(0),
                    p95_ms: q(1),
                    llm_calls_per_run: r[4].as_f64().unwrap_or(0.0),
                    tool_calls_per_run: r[5].as_f64().unwrap_or(0.0),
                    tokens_per_run: r[6].as_f64().unwrap_or(0.0),
                    cost_per_run: r[7].as_f64().unwrap_or(0.0),
                    max_steps: r[8].as_u64().unwrap_or(0),
                    durations_approximate: false,
                }
            })
            .collect())
    }

    /// An agent's runs, most steps first (ties: latest first).
    pub(super) fn agent_run_rows(
        &self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError> {
        let mut p = Params::default();
        let runs = self.runs(filter, &mut p)?;
        let name = p.text(agent);
        let l = p.push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT trace_id, span_id, start_ns, duration_ns, steps, llm_calls, tool_calls,
                    tokens, cost_usd, failed
             FROM ({runs}) WHERE agent = {name}
             ORDER BY steps DESC, start_ns DESC, trace_id, span_id LIMIT {l}"
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| AgentRun {
                trace_id: r[0].as_str().unwrap_or_default().to_string(),
                span_id: r[1].as_str().unwrap_or_default().to_string(),
                start_ns: r[2].as_i64().unwrap_or(0),
                duration_ns: r[3].as_i64().unwrap_or(0),
                steps: r[4].as_u64().unwrap_or(0),
                llm_calls: r[5].as_u64().unwrap_or(0),
                tool_calls: r[6].as_u64().unwrap_or(0),
                tokens: r[7].as_u64().unwrap_or(0),
                cost_usd: r[8].as_f64().unwrap_or(0.0),
                failed: r[9].as_bool().unwrap_or(false) || r[9].as_u64() == Some(1),
            })
            .collect())
    }

    /// Every tool of the selection, most executions first, with the agents in whose
    /// runs it was executed.
    pub(super) fn tool_rows(&self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        let mut p = Params::default();
        let selected = self.selected_spans(filter, &mut p)?;
        let tools = format!(
            "SELECT t.trace_id AS trace_id, t.start_ns AS start_ns, t.entity AS tool,
                    t.duration_ns AS duration_ns, t.span_failed AS failed
             FROM ({}) AS t WHERE t.class = 3 AND t.entity IS NOT NULL",
            extract::spans(&self.table(), &selected)
        );
        let runs = format!(
            "SELECT r.trace_id AS trace_id, r.entity AS agent, r.start_ns AS start_ns,
                    r.start_ns + r.duration_ns AS end_ns
             FROM ({}) AS r WHERE r.class = 2 AND r.entity IS NOT NULL",
            extract::spans(&self.table(), "TRUE")
        );
        let sql = format!(
            "SELECT e.tool, count(), countIf(e.failed), avg(e.duration_ns) / 1e6,
                    quantileExactInclusive(0.95)(e.duration_ns) / 1e6,
                    any(u.agents)
             FROM ({tools}) AS e
             LEFT JOIN (
                 SELECT x.tool AS tool, arraySort(groupUniqArray(y.agent)) AS agents
                 FROM ({tools}) AS x INNER JOIN ({runs}) AS y ON y.trace_id = x.trace_id
                 WHERE x.start_ns >= y.start_ns AND x.start_ns <= y.end_ns
                 GROUP BY x.tool) AS u ON u.tool = e.tool
             GROUP BY e.tool ORDER BY count() DESC, e.tool"
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .map(|r| ToolRow {
                p95_approximate: false,
                tool: r[0].as_str().unwrap_or_default().to_string(),
                calls: r[1].as_u64().unwrap_or(0),
                errors: r[2].as_u64().unwrap_or(0),
                avg_ms: r[3].as_f64().unwrap_or(0.0),
                p95_ms: r[4].as_f64().unwrap_or(0.0),
                agents: r[5]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }
}
