//! The filter every query takes: what the filter bar and the CLI flags select.

use crate::error::StoreError;

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

    pub(crate) fn sql(self) -> &'static str {
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

/// What an evaluation must say for an `eval:` or `feedback:` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalTest {
    /// Anything: the evaluation exists.
    Any,
    /// Its score compared with a bound (`eval:relevance<0.5`).
    Score(Bound),
    /// Its label, ignoring case (`eval:hallucination=yes`).
    Label(String),
}

/// A condition on the evaluations of a call (its own, its trace's or its session's):
/// one named `name` (ignoring case) passes `test`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCondition {
    /// The evaluator's or annotation's name ([`crate::FEEDBACK`] for people's feedback).
    pub name: String,
    /// What it must say.
    pub test: EvalTest,
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
    /// Session ids, any of which may match: the call's own, or its trace's (a session
    /// named only on the agent's root span counts for every call of the turn).
    pub sessions: Vec<String>,
    /// User ids, any of which may match, likewise.
    pub users: Vec<String>,
    /// Conditions on latency in milliseconds.
    pub latency_ms: Vec<Bound>,
    /// Conditions on cost in USD (reported, else priced).
    pub cost_usd: Vec<Bound>,
    /// Conditions on input + output tokens.
    pub tokens: Vec<Bound>,
    /// Conditions on the time to first token in milliseconds (calls without one never
    /// match).
    pub ttft_ms: Vec<Bound>,
    /// Conditions on output tokens per second of generation (see
    /// `OUTPUT_TPS_DOC` in the query module).
    pub output_tps: Vec<Bound>,
    /// Only streamed calls (`Some(true)`) or only calls not streamed (`Some(false)`:
    /// those that said so or have no first token).
    pub streamed: Option<bool>,
    /// Conditions on evaluations and feedback, all of which must hold.
    pub evaluations: Vec<EvalCondition>,
    /// Agents (by name), any of which must have run in the call's trace.
    pub agents: Vec<String>,
    /// Tools (by name), any of which must have executed in the call's trace.
    pub tools: Vec<String>,
    /// Kinds of work ([`crate::SpanClass`]), any of which the call's trace must hold.
    pub kinds: Vec<crate::row::SpanClass>,
    /// Prompt patterns (their ids, see [`crate::patterns`]), any of which the call's
    /// prompt must have been made from.
    pub patterns: Vec<i32>,
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
            || !self.ttft_ms.is_empty()
            || !self.output_tps.is_empty()
            || self.streamed.is_some()
            || !self.evaluations.is_empty()
            || !self.agents.is_empty()
            || !self.tools.is_empty()
            || !self.kinds.is_empty()
            || !self.patterns.is_empty()
    }

    /// Whether every condition is one the rollups keep apart (time, model, provider,
    /// service, status), so that they can answer the selection.
    #[cfg(feature = "duckdb")]
    pub(crate) fn on_dimensions_only(&self) -> bool {
        self.text.is_empty()
            && self.exclude_text.is_empty()
            && self.errors.is_empty()
            && self.sessions.is_empty()
            && self.users.is_empty()
            && self.latency_ms.is_empty()
            && self.cost_usd.is_empty()
            && self.tokens.is_empty()
            && self.ttft_ms.is_empty()
            && self.output_tps.is_empty()
            && self.streamed.is_none()
            && self.evaluations.is_empty()
            && self.agents.is_empty()
            && self.tools.is_empty()
            && self.kinds.is_empty()
            && self.patterns.is_empty()
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
}
