//! A [`Filter`] as ClickHouse conditions with typed parameters: on the traces table's
//! own columns (time and service, which its partitions and primary key answer) and on
//! the calls extracted from it ([`super::extract::calls`], aliased `c`).

use super::http::{Param, Params};
use crate::filter::{Bound, EvalCondition, EvalTest, Filter, StatusFilter};
use crate::row::SpanClass;

/// Checks a filter for what a team's ClickHouse can answer: a valid one.
pub(super) fn check(filter: &Filter) -> Result<(), crate::error::StoreError> {
    if !filter.patterns.is_empty() {
        return Err(crate::error::StoreError::Unsupported(
            super::reader::PATTERNS_ON_CLICKHOUSE,
        ));
    }
    filter.validate()
}

/// The Collector's tables the conditions read: the traces table, and `otel_logs` when
/// the database has it (evaluation records are read from it).
pub(super) struct Tables {
    /// The traces table, qualified.
    pub(super) traces: String,
    /// `otel_logs`, qualified, when there is one.
    pub(super) logs: Option<String>,
}

/// Conditions on the traces table's columns: start time and service.
pub(super) fn spans_where(filter: &Filter, p: &mut Params) -> String {
    let mut parts = vec!["TRUE".to_string()];
    if let Some(from) = filter.from_ns {
        parts.push(format!(
            "Timestamp >= fromUnixTimestamp64Nano({})",
            p.push(Param::Int(from))
        ));
    }
    if let Some(to) = filter.to_ns {
        parts.push(format!(
            "Timestamp < fromUnixTimestamp64Nano({})",
            p.push(Param::Int(to))
        ));
    }
    if !filter.services.is_empty() {
        let names: Vec<String> = filter.services.iter().map(|s| p.text(s)).collect();
        parts.push(format!("ServiceName IN ({})", names.join(", ")));
    }
    parts.join(" AND ")
}

/// Conditions on rollup rows (their dimension columns, unaliased): service, model
/// (asked for, or the served name `priced_as` is whenever one was reported), provider
/// and outcome — what [`Filter::on_dimensions_only`] leaves besides time.
pub(super) fn dimensions_where(filter: &Filter, p: &mut Params) -> String {
    let mut parts = vec!["TRUE".to_string()];
    any_of(&mut parts, p, "service", &filter.services);
    models_providers_status(filter, p, &mut parts, "", "priced_as");
    parts.join(" AND ")
}

/// The model (asked for, or `served`), provider and outcome conditions, on columns
/// named with `prefix` (`c.` for extracted calls, nothing for rollup rows).
fn models_providers_status(
    filter: &Filter,
    p: &mut Params,
    parts: &mut Vec<String>,
    prefix: &str,
    served: &str,
) {
    if !filter.models.is_empty() {
        let any: Vec<String> = filter
            .models
            .iter()
            .map(|g| {
                let re = p.text(&glob_regex(g));
                format!("(match({prefix}model, {re}) OR match({served}, {re}))")
            })
            .collect();
        parts.push(format!("({})", any.join(" OR ")));
    }
    any_of(parts, p, &format!("{prefix}provider"), &filter.providers);
    match filter.status {
        StatusFilter::All => {}
        StatusFilter::Ok => parts.push(format!("NOT {prefix}is_error")),
        StatusFilter::Error => parts.push(format!("{prefix}is_error")),
    }
}

/// Conditions on the extracted calls `c` (everything but time and service, which
/// [`spans_where`] applied); `cost` is a call's cost as SQL (prices written inline).
pub(super) fn calls_where(filter: &Filter, cost: &str, tables: &Tables, p: &mut Params) -> String {
    let table = tables.traces.as_str();
    let mut parts = vec!["TRUE".to_string()];
    models_providers_status(
        filter,
        p,
        &mut parts,
        "c.",
        "coalesce(c.response_model, '')",
    );
    for word in &filter.text {
        parts.push(holds_text(p, word));
    }
    for word in &filter.exclude_text {
        parts.push(format!("NOT {}", holds_text(p, word)));
    }
    if !filter.errors.is_empty() {
        let any: Vec<String> = filter
            .errors
            .iter()
            .map(|e| {
                let w = p.text(e);
                format!(
                    "(positionCaseInsensitiveUTF8(coalesce(c.error_type, ''), {w}) > 0 OR positionCaseInsensitiveUTF8(coalesce(c.error_message, ''), {w}) > 0)"
                )
            })
            .collect();
        parts.push(format!("c.is_error AND ({})", any.join(" OR ")));
    }
    // The call's own session or user, or one named on any span of its trace.
    for (column, values) in [("session_id", &filter.sessions), ("user_id", &filter.users)] {
        if values.is_empty() {
            continue;
        }
        let names: Vec<String> = values.iter().map(|v| p.text(v)).collect();
        let names = names.join(", ");
        parts.push(format!(
            "(c.{column} IN ({names}) OR c.trace_id IN (SELECT s.trace_id FROM ({}) AS s WHERE s.{column} IN ({names})))",
            super::extract::spans(table, "TRUE")
        ));
    }
    // Traces in which the named agents ran, tools executed, kinds of work happened.
    for (class, names) in [
        (SpanClass::Agent, &filter.agents),
        (SpanClass::Tool, &filter.tools),
    ] {
        if names.is_empty() {
            continue;
        }
        let names: Vec<String> = names.iter().map(|v| p.text(v)).collect();
        parts.push(format!(
            "c.trace_id IN (SELECT s.trace_id FROM ({}) AS s WHERE s.class = {} AND s.entity IN ({}))",
            super::extract::spans(table, "TRUE"),
            class.code(),
            names.join(", ")
        ));
    }
    if !filter.kinds.is_empty() {
        let codes: Vec<String> = filter.kinds.iter().map(|k| k.code().to_string()).collect();
        parts.push(format!(
            "c.trace_id IN (SELECT s.trace_id FROM ({}) AS s WHERE s.class IN ({}))",
            super::extract::spans(table, "TRUE"),
            codes.join(", ")
        ));
    }
    for condition in &filter.evaluations {
        parts.push(evaluated(tables, condition, p));
    }
    bounds(&mut parts, p, "c.duration_ns / 1e6", &filter.latency_ms);
    bounds(
        &mut parts,
        p,
        &format!("coalesce({cost}, 0)"),
        &filter.cost_usd,
    );
    bounds(
        &mut parts,
        p,
        "(coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0))",
        &filter.tokens,
    );
    bounds(&mut parts, p, "c.ttft_ns / 1e6", &filter.ttft_ms);
    bounds(
        &mut parts,
        p,
        crate::query::timing::OUTPUT_TPS_SQL,
        &filter.output_tps,
    );
    if let Some(streamed) = filter.streamed {
        parts.push(crate::query::streamed_sql(streamed).to_string());
    }
    parts.join(" AND ")
}

/// The call `c` has a result named as `condition` says passing its test: its own (by
/// its ids, or by its response id), its trace's, or its trace's session's.
fn evaluated(tables: &Tables, condition: &EvalCondition, p: &mut Params) -> String {
    let results = super::evaluations::results(&tables.traces, "TRUE", tables.logs.as_deref());
    let mut named = format!("lower(name) = lower({})", p.text(&condition.name));
    match &condition.test {
        EvalTest::Any => {}
        EvalTest::Score(b) => named.push_str(&format!(
            " AND score {} {}",
            b.cmp.sql(),
            p.push(Param::Float(b.value))
        )),
        EvalTest::Label(l) => named.push_str(&format!(" AND lower(label) = lower({})", p.text(l))),
    }
    format!(
        "((c.trace_id, c.span_id) IN (
              SELECT trace_id, span_id FROM ({results}) WHERE target = 'span' AND {named})
          OR c.response_id IN (
              SELECT response_id FROM ({results})
              WHERE target = 'span' AND trace_id IS NULL AND {named})
          OR c.trace_id IN (
              SELECT trace_id FROM ({results}) WHERE target = 'trace' AND {named})
          OR c.trace_id IN (
              SELECT s.trace_id FROM ({spans}) AS s WHERE s.session_id IN (
                  SELECT session_id FROM ({results}) WHERE target = 'session' AND {named})))",
        spans = super::extract::spans(&tables.traces, "TRUE"),
    )
}

/// Whether the call's prompt or response holds `word`, ignoring case: the text of
/// every attribute and event attribute the conventions carry messages in.
fn holds_text(p: &mut Params, word: &str) -> String {
    let w = p.text(word);
    format!("positionCaseInsensitiveUTF8(c.message_text, {w}) > 0")
}

fn any_of(parts: &mut Vec<String>, p: &mut Params, column: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let names: Vec<String> = values.iter().map(|v| p.text(v)).collect();
    parts.push(format!("{column} IN ({})", names.join(", ")));
}

fn bounds(parts: &mut Vec<String>, p: &mut Params, expr: &str, bounds: &[Bound]) {
    for b in bounds {
        parts.push(format!(
            "{expr} {} {}",
            b.cmp.sql(),
            p.push(Param::Float(b.value))
        ));
    }
}

/// A glob (`*`, `?`, `[…]`, as DuckDB's GLOB reads them) as an anchored RE2 regex.
fn glob_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            '[' if !in_class => {
                in_class = true;
                re.push('[');
            }
            ']' if in_class => {
                in_class = false;
                re.push(']');
            }
            '!' if in_class && re.ends_with('[') => re.push('^'),
            _ if in_class => {
                if c == '\\' {
                    re.push('\\');
                }
                re.push(c);
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c if c.is_alphanumeric() || c == '_' => re.push(c),
            c => {
                re.push('\\');
                re.push(c);
            }
        }
    }
    if in_class {
        // An unclosed class is a literal `[` to GLOB.
        return format!("^{}$", regex_escape(glob));
    }
    re.push('$');
    re
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_alphanumeric() || c == '_' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_regexes() {
        assert_eq!(glob_regex("gpt-4o*"), "^gpt\\-4o.*$");
        assert_eq!(glob_regex("gpt-4?"), "^gpt\\-4.$");
        assert_eq!(glob_regex("claude-[0-9]*"), "^claude\\-[0-9].*$");
        assert_eq!(glob_regex("a.b"), "^a\\.b$");
    }
}
