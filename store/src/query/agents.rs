//! Agents and tools: each agent's runs (its agent spans) with what happened inside
//! them — the LLM calls and tool executions of the same trace that start within the
//! run, their tokens and cost —, and each tool's executions with the agents whose runs
//! they happened in.

use super::cost::{self, CostSums};
use super::filter_sql::Where;
use super::source::time_and_service;
use super::{KEPT_SUMMARIES_SCHEMA, Reader, sessions::SESSIONS_SCHEMA};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::ids::{span_id_hex, trace_id_hex};
use crate::run_table;
use crate::sketch;
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
    /// Whether the duration percentiles are read from the hours' sketches (within 1 %)
    /// rather than sorted exactly.
    pub durations_approximate: bool,
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
    /// Whether `p95_ms` is read from the hours' sketches (within 1 %) rather than
    /// sorted exactly.
    pub p95_approximate: bool,
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
        let (runs, spend, params) = if self.runs_are_kept(filter) {
            self.kept_run_rows(filter)?
        } else {
            // Every run summed from the spans, as rows of one run each.
            let (with, params) = self.run_sources(filter)?;
            let runs = format!("{with} {}", run_table::run_projection("run_figures"));
            let spend = format!("{with} SELECT * FROM run_spend");
            (runs, spend, params)
        };
        // The calls' cost by agent and priced name, priced here (history reprices).
        let prices = self.prices.read().expect("price lock").clone();
        let mut spent: Vec<(String, f64)> = Vec::new();
        {
            let sql = format!(
                "SELECT agent, priced_as, {sums} FROM ({spend}) GROUP BY agent, priced_as",
                sums = cost::sums_sql()
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query(duckdb::params_from_iter(params.clone()))?;
            while let Some(r) = rows.next()? {
                let agent: String = r.get("agent")?;
                let priced_as: Option<String> = r.get("priced_as")?;
                let cost = CostSums::read(r)?.cost(priced_as.and_then(|m| prices.lookup(&m)));
                match spent.iter_mut().find(|(a, _)| *a == agent) {
                    Some((_, total)) => *total += cost,
                    None => spent.push((agent, cost)),
                }
            }
        }
        let sql = format!(
            "SELECT agent, sum(runs)::UBIGINT AS runs,
                    coalesce(sum(runs) FILTER (failed), 0)::UBIGINT AS failed_runs,
                    (sum(llm_calls) / sum(runs))::DOUBLE AS llm_calls_per_run,
                    (sum(tool_calls) / sum(runs))::DOUBLE AS tool_calls_per_run,
                    (sum(tokens) / sum(runs))::DOUBLE AS tokens_per_run,
                    max(max_steps)::UBIGINT AS max_steps
             FROM ({runs}) GROUP BY agent HAVING sum(runs) > 0 ORDER BY runs DESC, agent"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params.clone()), |r| {
            let agent: String = r.get("agent")?;
            let runs: u64 = r.get("runs")?;
            let spent = spent
                .iter()
                .find(|(a, _)| *a == agent)
                .map_or(0.0, |(_, c)| *c);
            Ok(AgentRow {
                cost_per_run: spent / runs as f64,
                agent,
                runs,
                failed_runs: r.get("failed_runs")?,
                llm_calls_per_run: r.get("llm_calls_per_run")?,
                tool_calls_per_run: r.get("tool_calls_per_run")?,
                tokens_per_run: r.get("tokens_per_run")?,
                max_steps: r.get("max_steps")?,
                ..AgentRow::default()
            })
        })?;
        let mut agents: Vec<AgentRow> = rows.collect::<Result<_, _>>()?;
        self.run_durations(filter, &runs, &params, &mut agents)?;
        Ok(agents)
    }

    /// Fills each agent's p50 and p95 run duration: exact from the runs when the
    /// selection holds few (or the file keeps no hours), else from the sketches of the
    /// rows `runs` (within 1 %).
    fn run_durations(
        &mut self,
        filter: &Filter,
        runs: &str,
        params: &[Value],
        agents: &mut [AgentRow],
    ) -> Result<(), StoreError> {
        let total: u64 = agents.iter().map(|a| a.runs).sum();
        let sketched = self.runs_are_kept(filter) && total > self.exact_percentiles_up_to;
        let mut durations: Vec<(String, [f64; 2])> = Vec::new();
        if sketched {
            let rows = Where {
                sql: format!("SELECT agent, bucket, runs AS calls FROM ({runs})"),
                params: params.to_vec(),
            };
            durations = self
                .sketches_by::<String>("agent", Vec::new(), rows)?
                .into_iter()
                .map(|(a, b)| (a, sketch::quantiles(&b, [0.5, 0.95])))
                .collect();
        } else {
            // Sorted exactly: the kept runs themselves (the hours hold sketches only),
            // or the rows summed from the spans.
            let (source, source_params) = if self.runs_are_kept(filter) {
                let (with, p) = self.run_sources(filter)?;
                (format!("{with} SELECT * FROM run_figures"), p)
            } else {
                (runs.to_string(), params.to_vec())
            };
            let sql = format!(
                "SELECT agent, quantile_cont(duration_ns, [0.5, 0.95]) AS q
                 FROM ({source}) GROUP BY agent"
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query(duckdb::params_from_iter(source_params))?;
            while let Some(r) = rows.next()? {
                let q = super::percentiles(r.get("q")?);
                durations.push((r.get("agent")?, [q[0], q[1]]));
            }
        }
        for a in agents {
            if let Some((_, [p50, p95])) = durations.iter().find(|(name, _)| *name == a.agent) {
                (a.p50_ms, a.p95_ms) = (p50 / 1e6, p95 / 1e6);
            }
            a.durations_approximate = sketched;
        }
        Ok(())
    }

    /// The selection's runs as rows of [`run_table::run_projection`]'s columns and its
    /// calls' cost measures as rows of `agent_run_spend`'s (the two take the same
    /// parameters): the kept hours for the whole hours of its range, the runs
    /// themselves for the rest.
    fn kept_run_rows(
        &mut self,
        filter: &Filter,
    ) -> Result<(String, String, Vec<Value>), StoreError> {
        let (within, params) = self.selected_spans(filter, "a")?;
        let Some(split) = self.hour_split(filter, "a.start_ns", true) else {
            let runs =
                run_table::run_projection(&format!("(SELECT * FROM agent_runs a WHERE {within})"));
            let spend = format!("SELECT * FROM agent_run_spend a WHERE {within}");
            return Ok((runs, spend, params));
        };
        let measures = cost::measure_names().collect::<Vec<_>>().join(", ");
        let mut runs = format!(
            "SELECT hour_ns AS t, {dims}, runs, llm_calls, tool_calls, tokens, max_steps
             FROM agent_hours WHERE {hours}",
            dims = run_table::RUN_DIMENSIONS,
            hours = split.hours,
        );
        let mut spend = format!(
            "SELECT hour_ns AS start_ns, agent, service, priced_as, {measures}
             FROM agent_spend_hours WHERE {}",
            split.hours
        );
        let mut all = split.params;
        if let Some(edges) = split.edges {
            let edge = format!("{within} AND {edges}");
            runs.push_str(&format!(
                " UNION ALL BY NAME {}",
                run_table::run_projection(&format!("(SELECT * FROM agent_runs a WHERE {edge})"))
            ));
            spend.push_str(&format!(
                " UNION ALL BY NAME SELECT start_ns, agent, service, priced_as, {measures}
                  FROM agent_run_spend a WHERE {edge}"
            ));
            all.extend(params);
        }
        Ok((runs, spend, all))
    }

    /// An agent's runs in the selection, most steps first (ties: latest first).
    pub fn agent_runs(
        &mut self,
        filter: &Filter,
        agent: &str,
        limit: u64,
    ) -> Result<Vec<AgentRun>, StoreError> {
        let (with, mut params) = self.run_sources(filter)?;
        let order = "ORDER BY steps DESC, start_ns DESC, trace_id, span_id";
        // The page of runs, each once per priced name of its calls (priced here).
        let sql = format!(
            "{with}, page AS (SELECT * FROM run_figures WHERE agent = ? {order} LIMIT ?)
             SELECT p.*, s.priced_as, {sums} FROM page p LEFT JOIN run_spend s
               ON s.start_ns = p.start_ns AND s.trace_id = p.trace_id AND s.span_id = p.span_id
             GROUP BY ALL {order}",
            sums = cost::sums_sql()
        );
        params.push(Value::Text(agent.to_string()));
        params.push(Value::UBigInt(limit));
        let prices = self.prices.read().expect("price lock").clone();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params))?;
        let mut runs: Vec<AgentRun> = Vec::new();
        while let Some(r) = rows.next()? {
            let priced_as: Option<String> = r.get("priced_as")?;
            let run = AgentRun {
                trace_id: trace_id_hex(r.get("trace_id")?),
                span_id: span_id_hex(r.get("span_id")?),
                start_ns: r.get("start_ns")?,
                duration_ns: r.get("duration_ns")?,
                steps: r.get::<_, u64>("steps")?,
                llm_calls: r.get::<_, u64>("llm_calls")?,
                tool_calls: r.get::<_, u64>("tool_calls")?,
                tokens: r.get::<_, u64>("tokens")?,
                cost_usd: CostSums::read(r)?.cost(priced_as.and_then(|m| prices.lookup(&m))),
                failed: r.get("failed")?,
            };
            match runs.last_mut() {
                Some(last) if last.trace_id == run.trace_id && last.span_id == run.span_id => {
                    last.cost_usd += run.cost_usd;
                }
                _ => runs.push(run),
            }
        }
        Ok(runs)
    }

    /// Every tool of the selection, most executions first.
    pub fn tools(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        if !self.runs_are_kept(filter) {
            return self.tools_from_spans(filter);
        }
        // Executions: the kept hours for the range's whole hours, the spans elsewhere.
        let (within, params) = self.selected_spans(filter, "t")?;
        let split = self.hour_split(filter, "t.start_ns", true);
        let sketches_kept = split.is_some();
        let (rows, row_params) = match split {
            None => (run_table::tool_projection("spans", &within), params.clone()),
            Some(split) => {
                let mut rows = format!(
                    "SELECT hour_ns AS t, {dims}, executions, duration_ns FROM tool_hours
                     WHERE {hours}",
                    dims = run_table::TOOL_DIMENSIONS,
                    hours = split.hours,
                );
                let mut all = split.params;
                if let Some(edges) = split.edges {
                    rows.push_str(&format!(
                        " UNION ALL BY NAME {}",
                        run_table::tool_projection("spans", &format!("{within} AND {edges}"))
                    ));
                    all.extend(params.clone());
                }
                (rows, all)
            }
        };
        let sql = format!(
            "SELECT tool, sum(executions)::UBIGINT AS calls,
                    coalesce(sum(executions) FILTER (failed), 0)::UBIGINT AS errors,
                    (sum(duration_ns) / sum(executions) / 1e6)::DOUBLE AS avg_ms
             FROM ({rows}) GROUP BY tool HAVING sum(executions) > 0 ORDER BY calls DESC, tool"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut tools: Vec<ToolRow> = stmt
            .query_map(duckdb::params_from_iter(row_params.clone()), |r| {
                Ok(ToolRow {
                    tool: r.get("tool")?,
                    calls: r.get("calls")?,
                    errors: r.get("errors")?,
                    avg_ms: r.get("avg_ms")?,
                    ..ToolRow::default()
                })
            })?
            .collect::<Result<_, _>>()?;
        // p95: exact from the spans when they are few, else from the sketches.
        let total: u64 = tools.iter().map(|t| t.calls).sum();
        let sketched = sketches_kept && total > self.exact_percentiles_up_to;
        let p95: Vec<(String, f64)> = if sketched {
            let rows = Where {
                sql: format!("SELECT tool, bucket, executions AS calls FROM ({rows})"),
                params: row_params,
            };
            self.sketches_by::<String>("tool", Vec::new(), rows)?
                .into_iter()
                .map(|(t, b)| (t, sketch::quantiles(&b, [0.95])[0]))
                .collect()
        } else {
            let sql = format!(
                "SELECT t.entity AS tool, quantile_cont(t.duration_ns, 0.95)::DOUBLE AS p95
                 FROM spans t WHERE t.class = 3 AND t.entity IS NOT NULL AND {within}
                 GROUP BY 1"
            );
            let mut stmt = self.conn.prepare(&sql)?;
            stmt.query_map(duckdb::params_from_iter(params), |r| {
                Ok((r.get("tool")?, r.get("p95")?))
            })?
            .collect::<Result<_, _>>()?
        };
        // Used by: the agents of the selected runs the selected executions happened in.
        let (executions, mut pair_params) = time_and_service(filter, "start_ns", Some("service"));
        let (runs, run_params) = time_and_service(filter, "run_start_ns", Some("run_service"));
        pair_params.extend(run_params);
        let sql = format!(
            "SELECT tool, list(DISTINCT agent ORDER BY agent) AS agents FROM tool_agents
             WHERE {executions} AND {runs} GROUP BY tool"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let used: Vec<(String, Value)> = stmt
            .query_map(duckdb::params_from_iter(pair_params), |r| {
                Ok((r.get("tool")?, r.get("agents")?))
            })?
            .collect::<Result<_, _>>()?;
        for t in &mut tools {
            if let Some((_, ns)) = p95.iter().find(|(name, _)| *name == t.tool) {
                t.p95_ms = ns / 1e6;
            }
            t.p95_approximate = sketched;
            if let Some((_, agents)) = used.iter().find(|(name, _)| *name == t.tool) {
                t.agents = texts(agents.clone());
            }
        }
        Ok(tools)
    }

    /// [`Reader::tools`] summed from the spans (files without the kept tables, and
    /// selections of calls).
    fn tools_from_spans(&mut self, filter: &Filter) -> Result<Vec<ToolRow>, StoreError> {
        let (with, mut params) = self.run_sources(filter)?;
        let (within, mut tool_params) = self.selected_spans(filter, "t")?;
        params.append(&mut tool_params);
        let sql = format!(
            "{with},
             executions AS (
                 SELECT t.trace_id, t.start_ns, t.entity AS tool, t.duration_ns,
                        t.status_code = 2 AS failed
                 FROM spans t WHERE t.class = 3 AND t.entity IS NOT NULL AND {within}),
             used AS (
                 SELECT DISTINCT e.tool, r.agent FROM executions e JOIN run_figures r
                   ON r.trace_id = e.trace_id AND e.start_ns BETWEEN r.start_ns AND r.end_ns)
             SELECT e.tool, count(*) AS calls, count(*) FILTER (e.failed) AS errors,
                    avg(e.duration_ns) / 1e6 AS avg_ms,
                    quantile_cont(e.duration_ns, 0.95) / 1e6 AS p95_ms,
                    (SELECT coalesce(list(u.agent ORDER BY u.agent), []) FROM used u
                     WHERE u.tool = e.tool) AS agents
             FROM executions e GROUP BY e.tool ORDER BY calls DESC, e.tool"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::params_from_iter(params), |r| {
            Ok(ToolRow {
                tool: r.get("tool")?,
                calls: r.get("calls")?,
                errors: r.get("errors")?,
                avg_ms: r.get("avg_ms")?,
                p95_ms: r.get("p95_ms")?,
                p95_approximate: false,
                agents: texts(r.get("agents")?),
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
        let (time_and_service, mut params) = time_and_service(
            filter,
            &format!("{alias}.start_ns"),
            Some(&format!("{alias}.service")),
        );
        let mut conditions = vec![time_and_service];
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

    /// Whether the selection's runs are read from the tables the writer keeps
    /// (`crate::run_table`): when the file has them and the filter selects no calls (a
    /// run is in a selection by its own start and service alone).
    fn runs_are_kept(&self, filter: &Filter) -> bool {
        self.schema_version >= KEPT_SUMMARIES_SCHEMA && !filter.selects_calls()
    }

    /// `WITH run_figures AS (…), run_spend AS (…)`: the selection's agent runs with
    /// what happened inside them (the columns of `agent_runs`), and their calls' cost
    /// measures by priced name (those of `agent_run_spend`). Read from those tables,
    /// which the writer keeps, when the file has them and the filter selects no calls
    /// (a run is selected by its own start and service alone); else summed from the
    /// spans, by the same SQL the writer uses.
    fn run_sources(&mut self, filter: &Filter) -> Result<(String, Vec<Value>), StoreError> {
        let (within, params) = self.selected_spans(filter, "a")?;
        if self.runs_are_kept(filter) {
            let mut twice = params.clone();
            twice.extend(params);
            return Ok((
                format!(
                    "WITH run_figures AS (SELECT * FROM agent_runs a WHERE {within}),
                     run_spend AS (SELECT * FROM agent_run_spend a WHERE {within})"
                ),
                twice,
            ));
        }
        let selected = run_table::runs(&format!("(SELECT * FROM spans a WHERE {within})"));
        Ok((
            format!(
                "WITH selected_runs AS ({selected}),
                 run_figures AS ({figures}),
                 run_spend AS ({spend})",
                figures = run_table::contents("selected_runs", "spans", "llm_calls"),
                spend = run_table::spend("selected_runs", "llm_calls"),
            ),
            params,
        ))
    }
}

/// A `LIST` of text as strings.
fn texts(v: Value) -> Vec<String> {
    match v {
        Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Text(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
