//! The Prompts view's figures: each prompt pattern (see [`crate::patterns`]) with what
//! its calls cost, how fast and how reliably they answered, which models ran them and
//! how their number moved over the range. Patterns are per call, so these read the
//! calls themselves (the rollups do not split by pattern).

use super::filter_sql::Where;
use super::{Reader, cost, params};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::pattern_table::PATTERNS_SCHEMA;
use duckdb::types::Value;
use serde::Serialize;

/// Equal parts of the range each pattern's trend counts calls in.
pub const TREND_BUCKETS: usize = 24;

/// One prompt pattern's figures over a selection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternRow {
    /// Its id (`pattern:ID` in the inspector); `None` for the calls without one (a
    /// prompt nothing else resembled yet, or no prompt recorded), listed so that the
    /// shares add up.
    pub id: Option<i32>,
    /// The template: fixed words, `‹number›`-style slots and `‹*›` for learned
    /// variable parts, or a declared template as given; empty for the calls without.
    pub template: String,
    /// Whether the instrumentation declared it (its name or template was sent).
    pub declared: bool,
    /// The declared name, when one was sent.
    pub name: Option<String>,
    /// Calls.
    pub calls: u64,
    /// Failed calls.
    pub errors: u64,
    /// Cost in USD (reported, else priced).
    pub cost_usd: f64,
    /// Its share of the selection's cost (0–1).
    pub cost_share: f64,
    /// Calls whose model has no price (their cost is not in `cost_usd`).
    pub unpriced_calls: u64,
    /// 95th percentile of latency, in ms.
    pub p95_ms: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// The models its calls asked for, by name.
    pub models: Vec<String>,
    /// Calls in each of [`TREND_BUCKETS`] equal parts of the range, oldest first.
    pub trend: Vec<u64>,
}

impl PatternRow {
    /// Failed calls over calls (0–1).
    pub fn error_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.errors as f64 / self.calls as f64
        }
    }
}

/// What the pattern list is ranked by (largest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum PatternSort {
    /// Cost: which prompt costs the most.
    #[default]
    Cost,
    /// Calls.
    Calls,
    /// 95th percentile of latency.
    Latency,
    /// Error rate.
    Errors,
    /// Input plus output tokens.
    Tokens,
}

impl PatternSort {
    /// Every ranking, in the order the view offers them.
    pub const ALL: [PatternSort; 5] = [
        PatternSort::Cost,
        PatternSort::Calls,
        PatternSort::Latency,
        PatternSort::Errors,
        PatternSort::Tokens,
    ];

    /// The ranking's name as people read it.
    pub fn label(self) -> &'static str {
        match self {
            PatternSort::Cost => "Cost",
            PatternSort::Calls => "Calls",
            PatternSort::Latency => "p95 latency",
            PatternSort::Errors => "Error rate",
            PatternSort::Tokens => "Tokens",
        }
    }

    fn key(self, r: &PatternRow) -> f64 {
        match self {
            PatternSort::Cost => r.cost_usd,
            PatternSort::Calls => r.calls as f64,
            PatternSort::Latency => r.p95_ms,
            PatternSort::Errors => r.error_rate(),
            PatternSort::Tokens => (r.input_tokens + r.output_tokens) as f64,
        }
    }
}

impl Reader {
    /// The selection's prompt patterns ranked by `sort` (ties by calls, then id), the
    /// first `limit` of them, and how many patterns the selection holds in all.
    pub fn prompt_patterns(
        &mut self,
        filter: &Filter,
        sort: PatternSort,
        limit: usize,
    ) -> Result<(Vec<PatternRow>, usize), StoreError> {
        Self::check(filter)?;
        self.needs_patterns()?;
        let cte = self.prices_cte()?;
        let call_cost = cost::joined();
        let join = cost::join_prices();
        let w = self.calls_where(filter)?;
        let sql = format!(
            "WITH {cte}
             SELECT c.pattern_id, any_value(pp.template) AS template,
                    any_value(pp.declared) IS NOT NULL AS declared, any_value(pp.name) AS name,
                    count(*)::UBIGINT AS calls,
                    (count(*) FILTER (WHERE c.is_error))::UBIGINT AS errors,
                    coalesce(sum({call_cost}), 0)::DOUBLE AS cost,
                    (count(*) FILTER (WHERE {call_cost} IS NULL))::UBIGINT AS unpriced,
                    coalesce(quantile_cont(c.duration_ns, 0.95) / 1e6, 0)::DOUBLE AS p95_ms,
                    coalesce(sum(c.input_tokens), 0)::UBIGINT AS input_tokens,
                    coalesce(sum(c.output_tokens), 0)::UBIGINT AS output_tokens,
                    string_agg(DISTINCT c.model, chr(10) ORDER BY c.model) AS models,
                    min(c.start_ns) AS first_ns, max(c.start_ns) AS last_ns
             FROM llm_calls c {join}
             LEFT JOIN prompt_patterns pp ON pp.id = c.pattern_id
             WHERE {}
             GROUP BY c.pattern_id",
            w.sql
        );
        let mut rows = Vec::new();
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        {
            let mut stmt = self.conn.prepare(&sql)?;
            let mut result = stmt.query(params(&w, []))?;
            while let Some(r) = result.next()? {
                lo = lo.min(r.get("first_ns")?);
                hi = hi.max(r.get("last_ns")?);
                let models: Option<String> = r.get("models")?;
                rows.push(PatternRow {
                    id: r.get("pattern_id")?,
                    template: r.get::<_, Option<String>>("template")?.unwrap_or_default(),
                    declared: r.get("declared")?,
                    name: r.get("name")?,
                    calls: r.get("calls")?,
                    errors: r.get("errors")?,
                    cost_usd: r.get("cost")?,
                    cost_share: 0.0,
                    unpriced_calls: r.get("unpriced")?,
                    p95_ms: r.get("p95_ms")?,
                    input_tokens: r.get("input_tokens")?,
                    output_tokens: r.get("output_tokens")?,
                    models: models
                        .map(|m| m.split('\n').map(str::to_string).collect())
                        .unwrap_or_default(),
                    trend: vec![0; TREND_BUCKETS],
                });
            }
        }
        let total_cost: f64 = rows.iter().map(|r| r.cost_usd).sum();
        for r in &mut rows {
            r.cost_share = if total_cost > 0.0 {
                r.cost_usd / total_cost
            } else {
                0.0
            };
        }
        // Patterns first, the calls without one last, whatever the ranking.
        rows.sort_by(|a, b| {
            a.id.is_none()
                .cmp(&b.id.is_none())
                .then(sort.key(b).total_cmp(&sort.key(a)))
                .then(b.calls.cmp(&a.calls))
                .then(a.id.cmp(&b.id))
        });
        let total = rows.iter().filter(|r| r.id.is_some()).count();
        rows.truncate(limit);
        if !rows.is_empty() {
            let from = filter.from_ns.unwrap_or(lo);
            let to = filter.to_ns.unwrap_or(hi.saturating_add(1)).max(from + 1);
            self.fill_trends(&w, &mut rows, from, to)?;
        }
        Ok((rows, total))
    }

    /// Counts each listed pattern's calls in [`TREND_BUCKETS`] parts of `from..to`,
    /// among the calls `w` selects (the list's own conditions, searched once).
    fn fill_trends(
        &mut self,
        w: &Where,
        rows: &mut [PatternRow],
        from: i64,
        to: i64,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = rows
            .iter()
            .flat_map(|r| r.id)
            .map(|i| i.to_string())
            .collect();
        let listed = match (ids.is_empty(), rows.iter().any(|r| r.id.is_none())) {
            (true, _) => "c.pattern_id IS NULL".to_string(),
            (false, true) => format!(
                "(c.pattern_id IN ({}) OR c.pattern_id IS NULL)",
                ids.join(", ")
            ),
            (false, false) => format!("c.pattern_id IN ({})", ids.join(", ")),
        };
        let span = (to - from) as f64;
        let sql = format!(
            "SELECT c.pattern_id,
                    least(floor((c.start_ns - ?) / ? * {TREND_BUCKETS})::BIGINT, {last})
                        AS bucket,
                    count(*)::UBIGINT AS calls
             FROM llm_calls c WHERE {} AND {listed}
             GROUP BY ALL",
            w.sql,
            last = TREND_BUCKETS - 1,
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut all = vec![Value::BigInt(from), Value::Double(span)];
        all.extend(w.params.iter().cloned());
        let mut result = stmt.query(duckdb::params_from_iter(all))?;
        while let Some(r) = result.next()? {
            let id: Option<i32> = r.get("pattern_id")?;
            let bucket: i64 = r.get("bucket")?;
            if let (Some(row), Ok(b)) = (
                rows.iter_mut().find(|x| x.id == id),
                usize::try_from(bucket),
            ) {
                row.trend[b] += r.get::<_, u64>("calls")?;
            }
        }
        Ok(())
    }

    /// Refuses pattern figures and `pattern:` conditions on a file from before calls
    /// had patterns (opened read-only: opening it writable upgrades it).
    pub(super) fn needs_patterns(&self) -> Result<(), StoreError> {
        if self.schema_version < PATTERNS_SCHEMA {
            return Err(StoreError::OlderSchema {
                what: "prompt patterns",
                needs: PATTERNS_SCHEMA,
                has: self.schema_version,
            });
        }
        Ok(())
    }
}
