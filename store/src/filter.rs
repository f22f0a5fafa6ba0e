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

/// A selection of data: a time range (on span start), model globs (`gpt-*`), providers,
/// services, status and free text over prompts and responses. Empty lists select all.
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
    /// Words that must all appear in the prompt or the response (case-insensitive).
    pub text: Option<String>,
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
            || self.text.is_some()
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

    /// Conditions on the `llm_calls` table (aliased `c`).
    pub(crate) fn calls_where(&self) -> Where {
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
        if let Some(text) = &self.text {
            for word in text.split_whitespace() {
                w.sql.push_str(
                    " AND (c.prompt ILIKE ? ESCAPE '\\' OR c.response ILIKE ? ESCAPE '\\')",
                );
                let pattern = format!("%{}%", escape_like(word));
                w.params.push(Value::Text(pattern.clone()));
                w.params.push(Value::Text(pattern));
            }
        }
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

/// Escapes `%`, `_` and `\` so that a search word matches literally.
fn escape_like(word: &str) -> String {
    word.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
