//! Whole selections written to files: spans, LLM calls or traces as CSV, JSON or
//! Parquet, with hex ids and readable times beside the exact nanoseconds, so that a
//! spreadsheet, pandas or any DuckDB opens them as they are.

use super::{Reader, cost, sql_string};
use crate::error::StoreError;
use crate::filter::Filter;
use duckdb::types::{Value, ValueRef};
use std::io::Write;
use std::path::Path;

/// Which rows an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportTable {
    /// Every span of the selected traces, with its attributes as JSON.
    Spans,
    /// Every LLM call of the selection, priced, with prompt and response.
    Calls,
    /// One row per trace with its figures.
    Traces,
    /// Every evaluation, annotation and feedback of the selection (with no filter at
    /// all, every one stored, those whose call is not stored too), with the judged
    /// call's model.
    Evaluations,
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON array of objects, one object per line.
    Json,
    /// Apache Parquet (zstd-compressed).
    Parquet,
}

impl Reader {
    /// Writes the rows of `table` in the selection into `out` (made by
    /// [`Reader::output`]) and returns how many; the caller commits `out` once the
    /// count is what it wants.
    pub fn export(
        &mut self,
        table: ExportTable,
        filter: &Filter,
        format: ExportFormat,
        out: &mut crate::output::OutputFile,
    ) -> Result<u64, StoreError> {
        let path = out.temp_path().to_owned();
        let path = path.as_path();
        Self::check(filter)?;
        let (sql, params) = self.export_sql(table, filter)?;
        match format {
            ExportFormat::Csv | ExportFormat::Parquet => {
                let options = if format == ExportFormat::Csv {
                    "FORMAT csv, HEADER true"
                } else {
                    "FORMAT parquet, COMPRESSION zstd"
                };
                let copy = format!(
                    "COPY ({sql}) TO {} ({options})",
                    sql_string(&path.to_string_lossy())
                );
                let n = self.conn.execute(&copy, duckdb::params_from_iter(params))?;
                Ok(n as u64)
            }
            ExportFormat::Json => {
                // Times as RFC 3339 text in UTC, which JSON readers understand.
                let sql = format!(
                    "SELECT * REPLACE (strftime(start_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS start_time) FROM ({sql})"
                );
                self.write_json(&sql, params, path)
            }
        }
    }

    /// The ids of every trace in the selection, oldest first (for exporting them as
    /// OTLP one by one).
    pub fn trace_ids(&mut self, filter: &Filter) -> Result<Vec<u128>, StoreError> {
        Self::check(filter)?;
        let (select, params) = self.traces_sql(filter)?;
        let sql = format!("SELECT trace_id FROM ({select}) ORDER BY start_ns, trace_id");
        let mut stmt = self.conn.prepare(&sql)?;
        let ids = stmt.query_map(duckdb::params_from_iter(params), |r| {
            r.get::<_, u128>("trace_id")
        })?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    fn export_sql(
        &mut self,
        table: ExportTable,
        filter: &Filter,
    ) -> Result<(String, Vec<Value>), StoreError> {
        Ok(match table {
            ExportTable::Spans => self.spans_sql(
                filter,
                "SELECT lpad(lower(hex(s.trace_id)), 32, '0') AS trace_id,
                        lpad(lower(hex(s.span_id)), 16, '0') AS span_id,
                        lpad(lower(hex(s.parent_span_id)), 16, '0') AS parent_span_id,
                        s.name, s.kind, make_timestamp(s.start_ns // 1000) AS start_time,
                        s.start_ns, s.end_ns, s.duration_ns / 1e6 AS duration_ms,
                        s.status_code, s.status_message, s.service, s.scope, s.is_llm,
                        s.attributes, s.resource, s.events, s.links
                 FROM spans s",
            )?,
            ExportTable::Calls => {
                let cte = self.prices_cte()?;
                let cost = cost::joined();
                let join = cost::join_prices();
                let w = self.calls_where(filter)?;
                (
                    format!(
                        "WITH {cte}
                         SELECT lpad(lower(hex(c.trace_id)), 32, '0') AS trace_id,
                                lpad(lower(hex(c.span_id)), 16, '0') AS span_id,
                                make_timestamp(c.start_ns // 1000) AS start_time, c.start_ns,
                                c.duration_ns / 1e6 AS duration_ms, c.service, c.provider,
                                c.operation, c.request_model, c.response_model, c.model,
                                c.input_tokens, c.output_tokens, c.cache_read_tokens,
                                c.cache_write_tokens, c.reasoning_tokens, {cost} AS cost_usd,
                                c.reported_cost, c.finish_reason, c.is_error, c.error_type,
                                c.error_message, c.session_id, c.user_id, c.prompt, c.response
                         FROM llm_calls c {join}
                         WHERE {}
                         ORDER BY c.start_ns, c.trace_id, c.span_id",
                        w.sql
                    ),
                    w.params,
                )
            }
            ExportTable::Evaluations => {
                let columns = "e.target, lpad(lower(hex(e.trace_id)), 32, '0') AS trace_id,
                     lpad(lower(hex(e.span_id)), 16, '0') AS span_id, e.session_id,
                     e.response_id, make_timestamp(e.time_ns // 1000) AS start_time,
                     e.time_ns, e.name, e.score, e.label, e.explanation, e.annotator,
                     e.source";
                if *filter == Filter::default() {
                    self.needs_evaluations()?;
                    (
                        format!(
                            "SELECT {columns}, e.model FROM evaluations e
                             ORDER BY e.time_ns, e.name, e.trace_id, e.span_id"
                        ),
                        Vec::new(),
                    )
                } else {
                    let (judged, params) = self.judged_sql(filter)?;
                    (
                        format!(
                            "{judged} SELECT {columns}, e.model FROM judged e
                             ORDER BY e.time_ns, e.name, e.trace_id, e.span_id"
                        ),
                        params,
                    )
                }
            }
            ExportTable::Traces => {
                let (select, params) = self.traces_sql(filter)?;
                (
                    format!(
                        "SELECT lpad(lower(hex(trace_id)), 32, '0') AS trace_id, root_name, service,
                                make_timestamp(start_ns // 1000) AS start_time, start_ns,
                                duration_ns / 1e6 AS duration_ms, spans, llm_calls, tokens,
                                cost_usd, has_error
                         FROM ({select}) ORDER BY start_ns, trace_id"
                    ),
                    params,
                )
            }
        })
    }

    /// Streams the rows as a JSON array of objects keyed by column name.
    fn write_json(&self, sql: &str, params: Vec<Value>, path: &Path) -> Result<u64, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut out = std::io::BufWriter::new(file);
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query(duckdb::params_from_iter(params))?;
        let names: Vec<String> = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut n = 0u64;
        out.write_all(b"[").map_err(io)?;
        while let Some(row) = rows.next()? {
            let mut object = serde_json::Map::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                object.insert(name.clone(), json_value(row.get_ref(i)?));
            }
            out.write_all(if n == 0 { b"\n" } else { b",\n" })
                .map_err(io)?;
            serde_json::to_writer(&mut out, &object).map_err(|e| io(e.into()))?;
            n += 1;
        }
        out.write_all(b"\n]\n").map_err(io)?;
        out.flush().map_err(io)?;
        Ok(n)
    }
}

/// A DuckDB value as JSON (numbers stay numbers).
fn json_value(v: ValueRef<'_>) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        ValueRef::Null => J::Null,
        ValueRef::Boolean(b) => J::Bool(b),
        ValueRef::TinyInt(i) => i.into(),
        ValueRef::SmallInt(i) => i.into(),
        ValueRef::Int(i) => i.into(),
        ValueRef::BigInt(i) => i.into(),
        ValueRef::UTinyInt(i) => i.into(),
        ValueRef::USmallInt(i) => i.into(),
        ValueRef::UInt(i) => i.into(),
        ValueRef::UBigInt(i) => i.into(),
        ValueRef::Float(f) => serde_json::Number::from_f64(f as f64).map_or(J::Null, J::Number),
        ValueRef::Double(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        ValueRef::Text(t) => J::String(String::from_utf8_lossy(t).into_owned()),
        other => J::String(format!("{:?}", other.to_owned())),
    }
}
