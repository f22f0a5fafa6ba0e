//! The filter every query takes: what the filter bar and the CLI flags select.

use crate::error::StoreError;
use duckdb::types::Value;

/// Which calls by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Every call.
    #[default]
    All,
    /// Calls that succeeded.
    Ok,
    /// Calls that failed.
    Error,
}

/// A comparison in a numeric condition (`latency>2s`, `cost<=0.01`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl Cmp {
    /// The comparison as written (`>`, `<=`), for captions and messages.
    pub fn symbol(self) -> &'static str {
        self.sql()
    }

    fn sql(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// A numeric condition: the value compared with a bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// How to compare.
    pub cmp: Cmp,
    /// The bound.
    pub value: f64,
}

/// A selection of data: a time range (on span start), model globs (`gpt-*`), providers,
/// services, status, text that must or must not appear in prompts and responses, and the
/// inspector's finer conditions. Empty lists select all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Inclusive lower bound on start, Unix nanoseconds.
    pub from_ns: Option<i64>,
    /// Exclusive upper bound on start, Unix nanoseconds.
    pub to_ns: Option<i64>,
    /// Model globs (`*`, `?`, `[…]`), any of which may match; case-sensitive.
    pub models: Vec<String>,
    /// Providers, any of which may match.
    pub providers: Vec<String>,
    /// Services, any of which may match.
    pub services: Vec<String>,
    /// Outcome.
    pub status: StatusFilter,
    /// Words or phrases that must each appear in the prompt or the response
    /// (case-insensitive, in any script).
    pub text: Vec<String>,
    /// Words or phrases none of which may appear in the prompt or the response.
    pub exclude_text: Vec<String>,
    /// Error types or codes (`429`, `RateLimitError`), any of which must appear in the
    /// call's error type or message.
    pub errors: Vec<String>,
    /// Session ids, any of which may match.
    pub sessions: Vec<String>,
    /// User ids, any of which may match.
    pub users: Vec<String>,
    /// Conditions on latency in milliseconds.
    pub latency_ms: Vec<Bound>,
    /// Conditions on cost in USD (reported, else priced).
    pub cost_usd: Vec<Bound>,
    /// Conditions on input + output tokens.
    pub tokens: Vec<Bound>,
}

/// SQL conditions and their parameters, built from a filter for one table.
pub(crate) struct Where {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Filter {
    /// Whether the filter selects by LLM-call fields (so span-level figures must be
    /// restricted to traces holding a matching call).
    pub fn selects_calls(&self) -> bool {
        !self.models.is_empty()
            || !self.providers.is_empty()
            || self.status != StatusFilter::All
            || !self.text.is_empty()
            || !self.exclude_text.is_empty()
            || !self.errors.is_empty()
            || !self.sessions.is_empty()
            || !self.users.is_empty()
            || !self.latency_ms.is_empty()
            || !self.cost_usd.is_empty()
            || !self.tokens.is_empty()
    }

    /// Checks the globs, so that a typo is an error rather than an empty result.
    pub fn validate(&self) -> Result<(), StoreError> {
        for m in &self.models {
            globset::Glob::new(m)
                .map_err(|e| StoreError::BadFilter(format!("model pattern {m:?}: {e}")))?;
        }
        if let (Some(a), Some(b)) = (self.from_ns, self.to_ns)
            && a > b
        {
            return Err(StoreError::BadFilter(
                "the range ends before it starts".into(),
            ));
        }
        Ok(())
    }

    /// Conditions on the `llm_calls` table (aliased `c`); `cost` is the SQL of a call's
    /// cost (it needs the price table, which the reader knows).
    pub(crate) fn calls_where(&self, cost: &str) -> Where {
        let mut w = Where {
            sql: "TRUE".into(),
            params: Vec::new(),
        };
        self.time_and_service(&mut w, "c");
        any_of(&mut w, "c.model GLOB ?", &self.models);
        any_of(&mut w, "c.provider = ?", &self.providers);
        match self.status {
            StatusFilter::All => {}
            StatusFilter::Ok => w.sql.push_str(" AND NOT c.is_error"),
            StatusFilter::Error => w.sql.push_str(" AND c.is_error"),
        }
        for term in &self.text {
            w.sql
                .push_str(" AND (c.prompt ILIKE ? ESCAPE '\\' OR c.response ILIKE ? ESCAPE '\\')");
            let pattern = format!("%{}%", escape_like(term));
            w.params.push(Value::Text(pattern.clone()));
            w.params.push(Value::Text(pattern));
        }
        for term in &self.exclude_text {
            w.sql.push_str(
                " AND NOT (coalesce(c.prompt, '') ILIKE ? ESCAPE '\\' OR coalesce(c.response, '') ILIKE ? ESCAPE '\\')",
            );
            let pattern = format!("%{}%", escape_like(term));
            w.params.push(Value::Text(pattern.clone()));
            w.params.push(Value::Text(pattern));
        }
        if !self.errors.is_empty() {
            let parts: Vec<&str> = self
                .errors
                .iter()
                .map(
                    |_| "(c.error_type ILIKE ? ESCAPE '\\' OR c.error_message ILIKE ? ESCAPE '\\')",
                )
                .collect();
            w.sql
                .push_str(&format!(" AND c.is_error AND ({})", parts.join(" OR ")));
            for e in &self.errors {
                let pattern = format!("%{}%", escape_like(e));
                w.params.push(Value::Text(pattern.clone()));
                w.params.push(Value::Text(pattern));
            }
        }
        any_of(&mut w, "c.session_id = ?", &self.sessions);
        any_of(&mut w, "c.user_id = ?", &self.users);
        bounds(&mut w, "c.duration_ns / 1e6", &self.latency_ms);
        bounds(&mut w, &format!("coalesce({cost}, 0)"), &self.cost_usd);
        bounds(
            &mut w,
            "(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0))",
            &self.tokens,
        );
        w
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

fn any_of(w: &mut Where, condition: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let parts: Vec<&str> = values.iter().map(|_| condition).collect();
    w.sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    w.params
        .extend(values.iter().map(|v| Value::Text(v.clone())));
}

fn bounds(w: &mut Where, expr: &str, bounds: &[Bound]) {
    for b in bounds {
        w.sql.push_str(&format!(" AND {expr} {} ?", b.cmp.sql()));
        w.params.push(Value::Double(b.value));
    }
}

/// Escapes `%`, `_` and `\` so that a search word matches literally.
fn escape_like(word: &str) -> String {
    word.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
