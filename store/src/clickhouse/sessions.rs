//! Sessions and users on a team's ClickHouse: a trace's session and user are those of
//! its earliest span naming one (extracted at query time, as the local writer keeps
//! them on its traces table), grouped as the local sessions and users pages are.
//! A time range selects the spans in it (locally: the traces starting in it), so
//! traces crossing its edges count only their spans inside.

use super::extract;
use super::filter_sql;
use super::http::{Param, Params};
use super::reader::ClickHouseReader;
use crate::error::StoreError;
use crate::filter::Filter;
use crate::query::SortDir;
use crate::query::sessions::{GroupRow, SessionRow, SessionSort, UserRow, opening_message};
use serde_json::Value;
use std::collections::HashMap;

/// A call's (trace id, span id), in hex.
type CallId = (String, String);

/// A group of a page and its first call.
type Grouped = (GroupRow, Option<CallId>);

/// What a page groups traces by.
#[derive(Clone, Copy)]
enum Group {
    Session,
    User,
}

impl ClickHouseReader {
    /// One page of groups, each with the (trace id, span id) of its first call, and
    /// how many groups there are in all.
    #[allow(clippy::too_many_arguments)]
    fn grouped(
        &self,
        group: Group,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Grouped>, u64), StoreError> {
        super::filter_sql::check(filter)?;
        let mut p = Params::default();
        let time_only = Filter {
            from_ns: filter.from_ns,
            to_ns: filter.to_ns,
            ..Filter::default()
        };
        let spans = filter_sql::spans_where(&time_only, &mut p);
        let cost = self.inline_cost(filter)?;
        let key = match group {
            Group::Session => "t_session",
            Group::User => "t_user",
        };
        let mut having = vec![format!("{key} IS NOT NULL")];
        if filter.selects_calls() || !filter.services.is_empty() {
            let selected_spans = filter_sql::spans_where(filter, &mut p);
            let calls = filter_sql::calls_where(filter, &cost, &self.tables()?, &mut p);
            having.push(format!(
                "trace_id IN (SELECT c.trace_id FROM ({}) AS c WHERE {calls})",
                extract::calls(&self.table(), &selected_spans)
            ));
        }
        if !search.is_empty() {
            let pattern = p.text(&search.to_lowercase());
            having.push(format!(
                "(positionCaseInsensitiveUTF8(coalesce(t_session, ''), {pattern}) > 0
                  OR positionCaseInsensitiveUTF8(coalesce(t_user, ''), {pattern}) > 0)"
            ));
        }
        let l = p.push(Param::Int(limit.min(i64::MAX as u64) as i64));
        let o = p.push(Param::Int(offset.min(i64::MAX as u64) as i64));
        let sql = format!(
            "SELECT key, user_id, sessions, first_start_ns, last_end_ns, turns, llm_calls,
                    tokens, cost_usd, errors, first_call.2, first_call.3
             FROM (
                 SELECT {key} AS key,
                        argMinIf(t_user, t_start, t_user IS NOT NULL) AS user_id,
                        uniqExactIf(t_session, t_session IS NOT NULL) AS sessions,
                        min(t_start) AS first_start_ns, max(t_end) AS last_end_ns,
                        max(t_end) - min(t_start) AS duration_ns,
                        count() AS turns, sum(t_calls) AS llm_calls, sum(t_tokens) AS tokens,
                        sum(t_cost) AS cost_usd, countIf(t_failed) AS errors,
                        minIf(t_first, t_calls > 0) AS first_call
                 FROM (
                     SELECT c.trace_id AS trace_id,
                            argMinIf(c.session_id, c.start_ns, c.session_id IS NOT NULL) AS t_session,
                            argMinIf(c.user_id, c.start_ns, c.user_id IS NOT NULL) AS t_user,
                            min(c.start_ns) AS t_start,
                            max(c.start_ns + c.duration_ns) AS t_end,
                            countIf(c.is_call) AS t_calls,
                            sumIf(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0), c.is_call) AS t_tokens,
                            sumIf(coalesce({cost}, 0), c.is_call) AS t_cost,
                            max(c.span_failed OR (c.is_call AND c.is_error)) AS t_failed,
                            minIf(tuple(c.start_ns, c.trace_id, c.span_id), c.is_call) AS t_first
                     FROM ({spans_sql}) AS c
                     GROUP BY c.trace_id
                     HAVING {having})
                 GROUP BY key)
             ORDER BY {column} {dir} NULLS LAST, key LIMIT {l} OFFSET {o}",
            spans_sql = extract::spans(&self.table(), &spans),
            having = having.join(" AND "),
            column = sort.column(),
            dir = dir.sql(),
        );
        let (rows, total) = self.client().rows_and_total(&sql, &p)?;
        let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let uint = |v: &Value| v.as_u64().unwrap_or(0);
        Ok((
            rows.iter()
                .map(|r| {
                    let group = GroupRow {
                        key: text(&r[0]).unwrap_or_default(),
                        user_id: text(&r[1]),
                        sessions: uint(&r[2]),
                        first_start_ns: r[3].as_i64().unwrap_or(0),
                        last_end_ns: r[4].as_i64().unwrap_or(0),
                        turns: uint(&r[5]),
                        llm_calls: uint(&r[6]),
                        tokens: uint(&r[7]),
                        cost_usd: r[8].as_f64().unwrap_or(0.0),
                        errors: uint(&r[9]),
                        first_message: None,
                    };
                    (group, text(&r[10]).zip(text(&r[11])))
                })
                .collect(),
            total,
        ))
    }

    /// The page's sessions, each with its opening message: its first call's prompt,
    /// normalized as the local database stores it.
    fn with_opening_messages(&self, groups: Vec<Grouped>) -> Result<Vec<GroupRow>, StoreError> {
        let firsts: Vec<&CallId> = groups.iter().filter_map(|(_, f)| f.as_ref()).collect();
        let mut prompts = HashMap::new();
        if !firsts.is_empty() {
            let mut p = Params::default();
            let joined = |part: fn(&CallId) -> &str| {
                firsts.iter().map(|f| part(f)).collect::<Vec<_>>().join(",")
            };
            let traces = p.text(&joined(|f| &f.0));
            let spans = p.text(&joined(|f| &f.1));
            let sql = format!(
                "SELECT {} FROM {} WHERE TraceId IN (SELECT arrayJoin(splitByChar(',', {traces})))
                   AND SpanId IN (SELECT arrayJoin(splitByChar(',', {spans})))",
                super::raw::select(),
                self.table()
            );
            for r in self.client().rows(&sql, &p)? {
                let row = self.normalized(&r)?;
                let id = (
                    crate::ids::trace_id_hex(u128::from_be_bytes(row.trace_id)),
                    crate::ids::span_id_hex(u64::from_be_bytes(row.span_id)),
                );
                if let Some(message) = row
                    .llm
                    .and_then(|l| l.prompt)
                    .as_deref()
                    .and_then(opening_message)
                {
                    prompts.insert(id, message);
                }
            }
        }
        Ok(groups
            .into_iter()
            .map(|(mut g, first)| {
                g.first_message = first.and_then(|f| prompts.get(&f).cloned());
                g
            })
            .collect())
    }

    /// [`crate::Queries::sessions_page`] on ClickHouse.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn session_rows(
        &self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SessionRow>, u64), StoreError> {
        let (groups, total) =
            self.grouped(Group::Session, filter, search, sort, dir, offset, limit)?;
        let groups = self.with_opening_messages(groups)?;
        Ok((
            groups.into_iter().map(GroupRow::into_session).collect(),
            total,
        ))
    }

    /// [`crate::Queries::users_page`] on ClickHouse.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn user_rows(
        &self,
        filter: &Filter,
        search: &str,
        sort: SessionSort,
        dir: SortDir,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<UserRow>, u64), StoreError> {
        let (groups, total) =
            self.grouped(Group::User, filter, search, sort, dir, offset, limit)?;
        Ok((
            groups.into_iter().map(|(g, _)| g.into_user()).collect(),
            total,
        ))
    }

    /// [`crate::Queries::session_traces`] on ClickHouse: the traces whose earliest span
    /// naming a session names this one, earliest first.
    pub(super) fn session_trace_ids(&self, session_id: &str) -> Result<Vec<u128>, StoreError> {
        let mut p = Params::default();
        let id = p.text(session_id);
        let sql = format!(
            "SELECT c.trace_id, min(c.start_ns) AS start_ns FROM ({}) AS c GROUP BY c.trace_id
             HAVING argMinIf(c.session_id, c.start_ns, c.session_id IS NOT NULL) = {id}
             ORDER BY start_ns, c.trace_id",
            extract::spans(&self.table(), "TRUE")
        );
        Ok(self
            .client()
            .rows(&sql, &p)?
            .iter()
            .filter_map(|r| r[0].as_str())
            .filter_map(crate::ids::hex_to_trace_id)
            .collect())
    }
}
