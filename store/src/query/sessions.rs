//! Sessions and users: the conversations a selection's traces belong to (a trace's
//! session and user are those its spans name, kept on the `traces` table), with each
//! session's turns, calls, tokens, cost and failures, and the same per end user.

use super::{KEPT_SUMMARIES_SCHEMA, Reader, SortDir};
use crate::conversation;
use crate::error::StoreError;
use crate::filter::Filter;
use duckdb::types::Value;
use serde::Serialize;

/// The schema version that keeps sessions and users on traces (and agents' and
/// tools' names on spans).
pub(super) const SESSIONS_SCHEMA: i64 = 8;

/// How long the first message of a session is shown, in characters.
const FIRST_MESSAGE_CHARS: usize = 240;

/// How the sessions (or users) page is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionSort {
    /// Last activity (the end of the latest turn).
    #[default]
    LastActivity,
    /// First turn's start.
    Start,
    /// From first start to last end.
    Duration,
    /// Turns (traces).
    Turns,
    /// LLM calls.
    Calls,
    /// Input + output tokens.
    Tokens,
    /// Cost.
    Cost,
    /// Turns that failed.
    Errors,
}

impl SessionSort {
    /// The page's column it sorts by.
    pub(crate) fn column(self) -> &'static str {
        match self {
            SessionSort::LastActivity => "last_end_ns",
            SessionSort::Start => "first_start_ns",
            SessionSort::Duration => "duration_ns",
            SessionSort::Turns => "turns",
            SessionSort::Calls => "llm_calls",
            SessionSort::Tokens => "tokens",
            SessionSort::Cost => "cost_usd",
            SessionSort::Errors => "errors",
        }
    }
}

/// One session (conversation) of a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionRow {
    /// The session or conversation id the spans named.
    pub session_id: String,
    /// The end user of its first turn that names one.
    pub user_id: Option<String>,
    /// Start of its first turn, Unix ns.
    pub first_start_ns: i64,
    /// End of its latest turn, Unix ns.
    pub last_end_ns: i64,
    /// Turns: traces of the session.
    pub turns: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Input + output tokens.
    pub tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Turns with a failed span or call.
    pub errors: u64,
    /// The user's message that opened the session (its first call's latest user
    /// message), shortened.
    pub first_message: Option<String>,
}

/// One end user of a selection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserRow {
    /// The user id the spans named.
    pub user_id: String,
    /// Sessions.
    pub sessions: u64,
    /// Turns (traces).
    pub turns: u64,
    /// LLM calls.
    pub llm_calls: u64,
    /// Input + output tokens.
    pub tokens: u64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Turns with a failed span or call.
    pub errors: u64,
    /// Start of the user's first turn, Unix ns.
    pub first_start_ns: i64,
    /// End of the user's latest turn (last seen), Unix ns.
    pub last_end_ns: i64,
}

/// What the sessions and users pages group by.
#[derive(Clone, Copy)]
enum Group {
    Session,
    User,
}

impl Group {
    fn column(self) -> &'static str {
        match self {
            Group::Session => "session_id",
            Group::User => "user_id",
        }
    }
}

impl Reader {
    /// One page of the sessions of a selection's traces (those holding a selected call
    /// when the filter selects calls), whose id or user contains `search`
    /// (case-insensitive; empty: all), and how many there are in all.
    pub fn sessions_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SessionRow>, u64), StoreError> {
        let (rows, total) =
            self.grouped_page(Group::Session, filter, search, sort, dir, offset, limit)?;
        Ok((
            rows.into_iter().map(GroupRow::into_session).collect(),
            total,
        ))
    }

    /// One page of the end users of a selection's traces, whose id contains `search`,
    /// and how many there are in all.
    pub fn users_page(
        &mut self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<UserRow>, u64), StoreError> {
        let (rows, total) =
            self.grouped_page(Group::User, filter, search, sort, dir, offset, limit)?;
        Ok((rows.into_iter().map(GroupRow::into_user).collect(), total))
    }

    /// The session's traces, earliest first: its turns, for the session page.
    pub fn session_traces(&mut self, session_id: &str) -> Result<Vec<u128>, StoreError> {
        self.needs_sessions()?;
        let mut stmt = self.conn.prepare(
            "SELECT trace_id FROM traces WHERE session_id = ? ORDER BY start_ns, trace_id",
        )?;
        let ids = stmt.query_map([session_id], |r| r.get::<_, u128>("trace_id"))?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    pub(super) fn needs_sessions(&self) -> Result<(), StoreError> {
        if self.schema_version < SESSIONS_SCHEMA {
            return Err(StoreError::OlderSchema {
                what: "sessions and users",
                needs: SESSIONS_SCHEMA,
                has: self.schema_version,
            });
        }
        Ok(())
    }

    /// The groups of one page, with their figures, and how many groups in all.
    #[allow(clippy::too_many_arguments)]
    fn grouped_page(
        &mut self,
        group: Group,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<GroupRow>, u64), StoreError> {
        Self::check(filter)?;
        self.needs_sessions()?;
        let key = group.column();
        let mut params: Vec<Value> = Vec::new();
        let mut conditions = vec![format!("t.{key} IS NOT NULL")];
        if let Some(from) = filter.from_ns {
            conditions.push("t.start_ns >= ?".into());
            params.push(Value::BigInt(from));
        }
        if let Some(to) = filter.to_ns {
            conditions.push("t.start_ns < ?".into());
            params.push(Value::BigInt(to));
        }
        if filter.selects_calls() || !filter.services.is_empty() {
            let w = self.calls_where(filter)?;
            conditions.push(format!(
                "t.trace_id IN (SELECT c.trace_id FROM llm_calls c WHERE {})",
                w.sql
            ));
            params.extend(w.params);
        }
        if !search.is_empty() {
            conditions
                .push("(t.session_id ILIKE ? ESCAPE '\\' OR t.user_id ILIKE ? ESCAPE '\\')".into());
            let pattern = format!("%{}%", like_escaped(search));
            params.push(Value::Text(pattern.clone()));
            params.push(Value::Text(pattern));
        }
        // Each group's cost, and the prompt of its first call, for the groups `only`
        // selects: from the traces' kept cost measures and first calls (the prompt read
        // for that call alone), or, in files without them, from the calls of its traces.
        let per_group: Box<dyn Fn(&str) -> String> =
            if self.use_rollups && self.schema_version >= KEPT_SUMMARIES_SCHEMA {
                let cost = self.inline_measures_cost()?;
                // Only a session shows its opening message: a user's is not read.
                let (prompt, opening) = match group {
                    Group::Session => (
                        "left(c.prompt, 4000)",
                        "LEFT JOIN llm_calls c ON c.start_ns = f.first.s AND c.trace_id = f.first.t
                                              AND c.span_id = f.first.p",
                    ),
                    Group::User => ("NULL::VARCHAR", ""),
                };
                Box::new(move |only: &str| {
                    format!(
                        "SELECT f.key, coalesce(s.cost_usd, 0) AS cost_usd,
                            {prompt} AS first_prompt
                     FROM (SELECT t.{key} AS key,
                                  min({{'s': t.first_call.s, 't': t.trace_id, 'p': t.first_call.p}})
                                      FILTER (t.first_call IS NOT NULL) AS first
                           FROM selected t WHERE {only} GROUP BY 1) f
                     LEFT JOIN (SELECT t.{key} AS key, sum({cost}) AS cost_usd
                                FROM trace_spend x JOIN selected t USING (trace_id)
                                WHERE {only} GROUP BY 1) s USING (key)
                     {opening}"
                    )
                })
            } else {
                let cost = self.inline_cost()?;
                Box::new(move |only: &str| {
                    format!(
                        "SELECT f.key, f.cost_usd, left(c.prompt, 4000) AS first_prompt
                     FROM (SELECT t.{key} AS key, sum(coalesce({cost}, 0)) AS cost_usd,
                                  min({{'s': c.start_ns, 't': c.trace_id, 'p': c.span_id}}) AS first
                           FROM llm_calls c JOIN selected t USING (trace_id)
                           WHERE {only} GROUP BY 1) f
                     LEFT JOIN llm_calls c ON c.start_ns = f.first.s AND c.trace_id = f.first.t
                                          AND c.span_id = f.first.p"
                    )
                })
            };
        let measures = GROUP_MEASURES
            .iter()
            .map(|(column, aggregate)| format!("{aggregate} AS {column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let column = sort.column();
        let dir = dir.sql();
        let sql = if sort == SessionSort::Cost {
            // Cost sorts need every group's cost.
            format!(
                "WITH selected AS NOT MATERIALIZED (SELECT * FROM traces t WHERE {where_}),
                 groups AS (SELECT {key} AS key, {measures} FROM selected GROUP BY {key}),
                 page AS (
                     SELECT g.*, coalesce(a.cost_usd, 0) AS cost_usd, count(*) OVER () AS total
                     FROM groups g LEFT JOIN ({all_groups}) a ON a.key = g.key
                     ORDER BY cost_usd {dir} NULLS LAST, g.key LIMIT ? OFFSET ?)
                 SELECT p.*, p.cost_usd AS page_cost_usd, k.first_prompt
                 FROM page p LEFT JOIN ({page_groups}) k ON k.key = p.key
                 ORDER BY p.cost_usd {dir} NULLS LAST, p.key",
                where_ = conditions.join(" AND "),
                all_groups = per_group("TRUE"),
                page_groups = per_group(&format!("t.{key} IN (SELECT key FROM page)")),
            )
        } else {
            // The page's groups first, from the sort's own aggregate (one or two
            // columns of every selected trace), then their figures: 4× faster over
            // millions of traces than every group's figures sorted.
            let sort_by = GROUP_MEASURES
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, aggregate)| *aggregate)
                .expect("every sort but cost is a group measure");
            format!(
                "WITH selected AS NOT MATERIALIZED (SELECT * FROM traces t WHERE {where_}),
                 page AS MATERIALIZED (
                     SELECT {key} AS key, {sort_by} AS sort_value, count(*) OVER () AS total
                     FROM selected GROUP BY {key}
                     ORDER BY sort_value {dir} NULLS LAST, key LIMIT ? OFFSET ?),
                 groups AS (
                     SELECT {key} AS key, {measures} FROM selected
                     WHERE {key} IN (SELECT key FROM page) GROUP BY {key})
                 SELECT g.*, p.total, coalesce(k.cost_usd, 0) AS page_cost_usd, k.first_prompt
                 FROM groups g JOIN page p USING (key)
                 LEFT JOIN ({page_groups}) k ON k.key = g.key
                 ORDER BY g.{column} {dir} NULLS LAST, g.key",
                where_ = conditions.join(" AND "),
                page_groups = per_group(&format!("t.{key} IN (SELECT key FROM page)")),
            )
        };
        let mut all = params.clone();
        all.push(Value::UBigInt(limit));
        all.push(Value::UBigInt(offset));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut total = 0;
        let rows = stmt
            .query_map(duckdb::params_from_iter(all), |r| {
                total = r.get::<_, u64>("total")?;
                Ok(GroupRow {
                    key: r.get("key")?,
                    user_id: r.get("user_id")?,
                    sessions: r.get("sessions")?,
                    first_start_ns: r.get("first_start_ns")?,
                    last_end_ns: r.get("last_end_ns")?,
                    turns: r.get("turns")?,
                    llm_calls: r.get("llm_calls")?,
                    tokens: r.get("tokens")?,
                    cost_usd: r.get("page_cost_usd")?,
                    errors: r.get("errors")?,
                    first_message: r
                        .get::<_, Option<String>>("first_prompt")?
                        .as_deref()
                        .and_then(opening_message),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() && offset > 0 {
            // A page past the end has no row to carry the total: count on its own.
            total = self.conn.query_row(
                &format!(
                    "SELECT count(DISTINCT t.{key}) FROM traces t WHERE {}",
                    conditions.join(" AND ")
                ),
                duckdb::params_from_iter(params),
                |r| r.get(0),
            )?;
        }
        Ok((rows, total))
    }
}

/// The figures of a group of traces (columns of [`GroupRow`]) as aggregates over its
/// rows of `traces`; each sort but cost orders by one of them.
const GROUP_MEASURES: [(&str, &str); 9] = [
    (
        "user_id",
        "arg_min(user_id, start_ns) FILTER (user_id IS NOT NULL)",
    ),
    ("sessions", "count(DISTINCT session_id)"),
    ("first_start_ns", "min(start_ns)"),
    ("last_end_ns", "max(end_ns)"),
    ("duration_ns", "max(end_ns) - min(start_ns)"),
    ("turns", "count(*)"),
    ("llm_calls", "sum(llm_calls)::UBIGINT"),
    ("tokens", "sum(tokens)::UBIGINT"),
    ("errors", "count(*) FILTER (span_error OR call_error)"),
];

/// One group of traces (a session, or a user) as either backend reads it: what the
/// sessions and users pages are made of.
pub(crate) struct GroupRow {
    pub(crate) key: String,
    /// The user of the group's earliest trace naming one.
    pub(crate) user_id: Option<String>,
    /// Distinct sessions (for a user).
    pub(crate) sessions: u64,
    pub(crate) first_start_ns: i64,
    pub(crate) last_end_ns: i64,
    pub(crate) turns: u64,
    pub(crate) llm_calls: u64,
    pub(crate) tokens: u64,
    pub(crate) cost_usd: f64,
    pub(crate) errors: u64,
    /// The opening message (see [`opening_message`]), for a session.
    pub(crate) first_message: Option<String>,
}

impl GroupRow {
    /// The group as a session.
    pub(crate) fn into_session(self) -> SessionRow {
        SessionRow {
            session_id: self.key,
            user_id: self.user_id,
            first_start_ns: self.first_start_ns,
            last_end_ns: self.last_end_ns,
            turns: self.turns,
            llm_calls: self.llm_calls,
            tokens: self.tokens,
            cost_usd: self.cost_usd,
            errors: self.errors,
            first_message: self.first_message,
        }
    }

    /// The group as a user.
    pub(crate) fn into_user(self) -> UserRow {
        UserRow {
            user_id: self.key,
            sessions: self.sessions,
            turns: self.turns,
            llm_calls: self.llm_calls,
            tokens: self.tokens,
            cost_usd: self.cost_usd,
            errors: self.errors,
            first_start_ns: self.first_start_ns,
            last_end_ns: self.last_end_ns,
        }
    }
}

/// The latest user message of a prompt (the one the call answered), else its last
/// message, shortened.
pub(crate) fn opening_message(prompt: &str) -> Option<String> {
    let message = conversation::latest_user_message(prompt)
        .or_else(|| conversation::parse(prompt, "user").pop().map(|m| m.content))?;
    let text = message.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.char_indices().nth(FIRST_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    })
}

/// `s` with LIKE's wildcards and escape character taken literally.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
