//! A [`Filter`] as SQL conditions with their parameters, for each table the queries
//! read.

use crate::filter::{Bound, EvalTest, Filter, StatusFilter};
use crate::row::SpanClass;
use duckdb::types::Value;

/// SQL conditions and their parameters, built from a filter for one table.
pub(crate) struct Where {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Filter {
    /// Conditions on the `llm_calls` table (aliased `c`); `cost` is the SQL of a call's
    /// cost (it needs the price table, which the reader knows). `candidates`, when
    /// given, is a cheap condition every call holding the searched words meets (the
    /// text index's hits): the text is only read for the calls it lets through
    /// (DuckDB would otherwise test the text of every call first).
    ///
    /// `all_targets`: whether evaluations of traces and sessions (and of spans that are
    /// not calls) exist, so that `eval:` conditions must look at them too; without, a
    /// condition is one semi-join of the calls with the results.
    pub(crate) fn calls_where(
        &self,
        cost: &str,
        candidates: Option<&str>,
        all_targets: bool,
    ) -> Where {
        let mut w = Where {
            sql: "TRUE".into(),
            params: Vec::new(),
        };
        self.time_and_service(&mut w, "c");
        self.models_providers_status(&mut w, "c.model", "c.response_model", "c.");
        let mut text = Vec::new();
        for term in &self.text {
            text.push(either_holds(&mut w.params, "c.prompt", "c.response", term));
        }
        for term in &self.exclude_text {
            let any = either_holds(
                &mut w.params,
                "coalesce(c.prompt, '')",
                "coalesce(c.response, '')",
                term,
            );
            text.push(format!("NOT {any}"));
        }
        match (text.is_empty(), candidates) {
            (true, _) => {}
            (false, None) => w.sql.push_str(&format!(" AND {}", text.join(" AND "))),
            (false, Some(c)) => w.sql.push_str(&format!(
                " AND CASE WHEN {c} THEN {} ELSE FALSE END",
                text.join(" AND ")
            )),
        }
        if !self.errors.is_empty() {
            let parts: Vec<String> = self
                .errors
                .iter()
                .map(|e| either_holds(&mut w.params, "c.error_type", "c.error_message", e))
                .collect();
            w.sql
                .push_str(&format!(" AND c.is_error AND ({})", parts.join(" OR ")));
        }
        // The call's own session or user, or its trace's (named on any of its spans).
        for (column, values) in [("session_id", &self.sessions), ("user_id", &self.users)] {
            any_of(
                &mut w,
                &format!(
                    "(c.{column} = ? OR c.trace_id IN (SELECT t.trace_id FROM traces t WHERE t.{column} = ?))"
                ),
                values,
            );
        }
        for (class, names) in [
            (SpanClass::Agent, &self.agents),
            (SpanClass::Tool, &self.tools),
        ] {
            any_of(
                &mut w,
                &format!(
                    "c.trace_id IN (SELECT s.trace_id FROM spans s WHERE s.class = {} AND s.entity = ?)",
                    class.code()
                ),
                names,
            );
        }
        if !self.kinds.is_empty() {
            let codes: Vec<String> = self.kinds.iter().map(|k| k.code().to_string()).collect();
            w.sql.push_str(&format!(
                " AND c.trace_id IN (SELECT s.trace_id FROM spans s WHERE s.class IN ({}))",
                codes.join(", ")
            ));
        }
        if !self.patterns.is_empty() {
            let ids: Vec<String> = self.patterns.iter().map(i32::to_string).collect();
            w.sql
                .push_str(&format!(" AND c.pattern_id IN ({})", ids.join(", ")));
        }
        bounds(&mut w, "c.duration_ns / 1e6", &self.latency_ms);
        bounds(&mut w, &format!("coalesce({cost}, 0)"), &self.cost_usd);
        bounds(
            &mut w,
            "(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0))",
            &self.tokens,
        );
        bounds(&mut w, "c.ttft_ns / 1e6", &self.ttft_ms);
        bounds(&mut w, super::timing::OUTPUT_TPS_SQL, &self.output_tps);
        if let Some(streamed) = self.streamed {
            w.sql.push_str(&format!(" AND {}", streamed_sql(streamed)));
        }
        for condition in &self.evaluations {
            evaluated(&mut w, &condition.name, &condition.test, all_targets);
        }
        w
    }

    /// Conditions on the rollup dimensions (`crate::rollup`), unqualified, without the
    /// time: what a rollup row must match to be in the selection.
    pub(crate) fn dimensions_where(&self) -> Where {
        let mut w = Where {
            sql: "TRUE".into(),
            params: Vec::new(),
        };
        any_of(&mut w, "service = ?", &self.services);
        // `priced_as` is the served name whenever one was reported, else the model.
        self.models_providers_status(&mut w, "model", "priced_as", "");
        w
    }

    /// A model's name or the snapshot that served it; providers; outcome.
    fn models_providers_status(&self, w: &mut Where, model: &str, served: &str, prefix: &str) {
        if !self.models.is_empty() {
            let part = format!("{model} GLOB ? OR {served} GLOB ?");
            let parts: Vec<&str> = self.models.iter().map(|_| part.as_str()).collect();
            w.sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
            for m in &self.models {
                w.params.push(Value::Text(m.clone()));
                w.params.push(Value::Text(m.clone()));
            }
        }
        any_of(w, &format!("{prefix}provider = ?"), &self.providers);
        match self.status {
            StatusFilter::All => {}
            StatusFilter::Ok => w.sql.push_str(&format!(" AND NOT {prefix}is_error")),
            StatusFilter::Error => w.sql.push_str(&format!(" AND {prefix}is_error")),
        }
    }

    /// Conditions on the `spans` table (aliased `s`): time and service only.
    pub(crate) fn spans_where(&self) -> Where {
        let mut w = Where {
            sql: "TRUE".into(),
            params: Vec::new(),
        };
        self.time_and_service(&mut w, "s");
        w
    }

    fn time_and_service(&self, w: &mut Where, alias: &str) {
        if let Some(from) = self.from_ns {
            w.sql.push_str(&format!(" AND {alias}.start_ns >= ?"));
            w.params.push(Value::BigInt(from));
        }
        if let Some(to) = self.to_ns {
            w.sql.push_str(&format!(" AND {alias}.start_ns < ?"));
            w.params.push(Value::BigInt(to));
        }
        any_of(w, &format!("{alias}.service = ?"), &self.services);
    }
}

/// The call `c` has an evaluation named `name` passing `test`: its own, and when
/// `all_targets`, its trace's or its trace's session's. Each is an uncorrelated `IN`
/// (DuckDB 1.5 plans a correlated `EXISTS` as a join of every call: 0.45 s against
/// 0.1 s at 4M calls), and an `OR` inside one subquery would be a nested loop.
fn evaluated(w: &mut Where, name: &str, test: &EvalTest, all_targets: bool) {
    let one = |w: &mut Where| {
        w.params.push(Value::Text(name.to_string()));
        let passes = match test {
            EvalTest::Any => String::new(),
            EvalTest::Score(b) => {
                w.params.push(Value::Double(b.value));
                format!(" AND e.score {} ?", b.cmp.sql())
            }
            EvalTest::Label(l) => {
                w.params.push(Value::Text(l.clone()));
                " AND lower(e.label) = lower(?)".to_string()
            }
        };
        format!("lower(e.name) = lower(?){passes}")
    };
    let span = one(w);
    let own = format!(
        "(c.trace_id, c.span_id) IN (SELECT e.trace_id, e.span_id FROM evaluations e
                                     WHERE e.target = 'span' AND {span})"
    );
    if !all_targets {
        w.sql.push_str(&format!(" AND {own}"));
        return;
    }
    let (trace, session) = (one(w), one(w));
    w.sql.push_str(&format!(
        " AND ({own}
               OR c.trace_id IN (SELECT e.trace_id FROM evaluations e
                                 WHERE e.target = 'trace' AND {trace})
               OR c.trace_id IN (SELECT t.trace_id FROM traces t
                         JOIN evaluations e ON e.session_id = t.session_id
                         WHERE e.target = 'session' AND {session}))"
    ));
}

/// `condition` for any of `values`, each value given to every `?` of it.
fn any_of(w: &mut Where, condition: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let parts: Vec<&str> = values.iter().map(|_| condition).collect();
    w.sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    let uses = condition.matches('?').count();
    for v in values {
        w.params
            .extend(std::iter::repeat_n(Value::Text(v.clone()), uses));
    }
}

/// A call `c` streamed (it said so, or reported a first token), or not; the same in
/// DuckDB and ClickHouse.
pub(crate) fn streamed_sql(streamed: bool) -> &'static str {
    if streamed {
        "(coalesce(c.streamed, FALSE) OR c.ttft_ns IS NOT NULL)"
    } else {
        "NOT (coalesce(c.streamed, FALSE) OR c.ttft_ns IS NOT NULL)"
    }
}

fn bounds(w: &mut Where, expr: &str, bounds: &[Bound]) {
    for b in bounds {
        w.sql.push_str(&format!(" AND {expr} {} ?", b.cmp.sql()));
        w.params.push(Value::Double(b.value));
    }
}

/// Whether column `a` or column `b` holds `word`, ignoring case, with its parameters
/// added to `params`: a literal substring test (no wildcards to escape), three times
/// faster than `ILIKE` in DuckDB 1.5, which a scan over millions of prompts feels.
fn either_holds(params: &mut Vec<Value>, a: &str, b: &str, word: &str) -> String {
    params.push(Value::Text(word.to_string()));
    params.push(Value::Text(word.to_string()));
    format!("(contains(lower({a}), lower(?)) OR contains(lower({b}), lower(?)))")
}
