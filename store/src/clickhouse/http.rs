//! ClickHouse's HTTP interface: queries with typed parameters, inserts, and the
//! server's errors turned into [`ClickHouseError`]s that say what to do.

use super::endpoint::{Compression, Endpoint};
use crate::error::ClickHouseError;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// ClickHouse's codes for the errors a user can act on.
mod code {
    pub const UNKNOWN_TABLE: u32 = 60;
    pub const UNKNOWN_DATABASE: u32 = 81;
    pub const TIMEOUT_EXCEEDED: u32 = 159;
    pub const UNKNOWN_USER: u32 = 192;
    pub const WRONG_PASSWORD: u32 = 193;
    pub const REQUIRED_PASSWORD: u32 = 194;
    pub const AUTHENTICATION_FAILED: u32 = 516;
}

/// A query parameter: ClickHouse substitutes `{name:Type}` with it on the server, so
/// values never become SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A `String`.
    Text(String),
    /// An `Int64`.
    Int(i64),
    /// A `Float64`.
    Float(f64),
}

impl Param {
    fn type_name(&self) -> &'static str {
        match self {
            Param::Text(_) => "String",
            Param::Int(_) => "Int64",
            Param::Float(_) => "Float64",
        }
    }

    fn value(&self) -> String {
        match self {
            // The HTTP interface reads parameter values in the escaped text format.
            Param::Text(s) => s
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n"),
            Param::Int(i) => i.to_string(),
            Param::Float(f) => format!("{f:?}"),
        }
    }
}

/// Parameters collected while SQL is written: each [`Params::push`] returns the
/// placeholder to write.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<Param>);

impl Params {
    /// Adds a value; returns its `{pN:Type}` placeholder.
    pub fn push(&mut self, p: Param) -> String {
        let placeholder = format!("{{p{}:{}}}", self.0.len(), p.type_name());
        self.0.push(p);
        placeholder
    }

    /// Adds a text value.
    pub fn text(&mut self, s: &str) -> String {
        self.push(Param::Text(s.to_string()))
    }
}

/// One server's HTTP client; cheap to clone, shared by a backend's readers.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    /// The id of the query running now, for [`Client::canceller`]; each reader's
    /// client has its own (see [`Client::for_reader`]).
    running: Arc<Mutex<Option<String>>>,
}

/// Numbers the queries of this process, for their `query_id`.
static NEXT_QUERY: AtomicU64 = AtomicU64::new(1);

impl Client {
    /// A client for `endpoint`; nothing is sent yet.
    pub fn new(endpoint: Endpoint) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            // The server stops a query at max_execution_time; the socket waits a little
            // longer for its error to arrive.
            .timeout_global(Some(endpoint.max_execution_time + Duration::from_secs(10)))
            .build()
            .into();
        Client {
            agent,
            endpoint,
            running: Arc::default(),
        }
    }

    /// The same server and sign-in with its own record of the running query, for one
    /// reader.
    pub fn for_reader(&self) -> Client {
        Client {
            running: Arc::default(),
            ..self.clone()
        }
    }

    /// A handle that kills the query this client runs at the moment it is called
    /// (`KILL QUERY … ASYNC` on another connection). It returns at once: the id is
    /// taken then, and the request goes from a thread of its own, so a later query of
    /// this client is never the one killed.
    pub fn canceller(&self) -> crate::backend::Canceller {
        let running = self.running.clone();
        let killer = self.for_reader();
        Arc::new(move || {
            let Some(id) = running.lock().expect("running lock").clone() else {
                return;
            };
            let killer = killer.clone();
            std::thread::spawn(move || {
                // The id is ours (`llm-observatory-PID-N`), written as a plain literal.
                let sql = format!(
                    "KILL QUERY WHERE query_id = '{}' ASYNC",
                    id.replace(['\\', '\''], "")
                );
                if let Err(e) = killer.send(&sql, &Params::default(), &[]) {
                    tracing::debug!("cancelling ClickHouse query {id}: {e}");
                }
            });
        })
    }

    /// The same server and sign-in, asking in another database.
    pub fn with_database(&self, database: &str) -> Client {
        Client {
            agent: self.agent.clone(),
            endpoint: Endpoint {
                database: database.to_string(),
                ..self.endpoint.clone()
            },
            running: Arc::default(),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs a SELECT and returns its rows, each a JSON array of the columns
    /// (`JSONCompactEachRow`, 64-bit integers as numbers).
    pub fn rows(&self, sql: &str, params: &Params) -> Result<Vec<Vec<Value>>, ClickHouseError> {
        let body = format!("{sql}\nFORMAT JSONCompactEachRow");
        let reply = self.send(
            &body,
            params,
            &[("output_format_json_quote_64bit_integers", "0")],
        )?;
        let mut rows = Vec::new();
        for line in BufReader::new(reply.as_slice()).lines() {
            let line = line.map_err(|e| ClickHouseError::Protocol(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(&line) {
                Ok(Value::Array(cols)) => rows.push(cols),
                _ => {
                    return Err(ClickHouseError::Protocol(format!(
                        "expected a JSON array per row, got {:?}",
                        line.chars().take(200).collect::<String>()
                    )));
                }
            }
        }
        Ok(rows)
    }

    /// Runs a SELECT ending in a LIMIT and returns its rows and how many rows it would
    /// have returned without the LIMIT, counted by the server in the same pass
    /// (`JSONCompact`'s `rows_before_limit_at_least`, made exact by
    /// `exact_rows_before_limit`): a page and its total for the price of the page.
    pub fn rows_and_total(
        &self,
        sql: &str,
        params: &Params,
    ) -> Result<(Vec<Vec<Value>>, u64), ClickHouseError> {
        let body = format!("{sql}\nFORMAT JSONCompact");
        let reply = self.send(
            &body,
            params,
            &[
                ("output_format_json_quote_64bit_integers", "0"),
                ("exact_rows_before_limit", "1"),
            ],
        )?;
        let protocol = |what: &str| {
            ClickHouseError::Protocol(format!(
                "expected JSONCompact {what}, got {:?}",
                String::from_utf8_lossy(&reply[..reply.len().min(200)])
            ))
        };
        let mut reply: serde_json::Map<String, Value> =
            serde_json::from_slice(&reply).map_err(|_| protocol("output"))?;
        let rows: Vec<Vec<Value>> = match reply.remove("data") {
            Some(Value::Array(rows)) => rows
                .into_iter()
                .map(|r| match r {
                    Value::Array(cols) => Ok(cols),
                    _ => Err(protocol("rows")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(protocol("data")),
        };
        // Absent when the query ran no LIMIT step (an empty source): nothing was cut.
        let total = reply
            .get("rows_before_limit_at_least")
            .and_then(Value::as_u64)
            .unwrap_or(rows.len() as u64);
        Ok((rows, total))
    }

    /// Runs a SELECT and streams its result, in ClickHouse's output `format`
    /// (`CSVWithNames`, `Parquet`, `JSONEachRow`…), into `out`; returns the bytes.
    pub fn copy_to(
        &self,
        sql: &str,
        params: &Params,
        format: &str,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, ClickHouseError> {
        let body = format!("{sql}\nFORMAT {format}");
        let _done = Finished(&self.running);
        let mut reply = self.request(
            body.into_bytes(),
            params,
            &[("output_format_json_quote_64bit_integers", "0")],
        )?;
        std::io::copy(&mut body_reader(&mut reply), out).map_err(|err| self.broke_off(err))
    }

    /// The server stopped sending a reply halfway (it went down, the network failed).
    fn broke_off(&self, err: std::io::Error) -> ClickHouseError {
        ClickHouseError::Unreachable {
            endpoint: self.endpoint.base(),
            detail: format!("the reply broke off: {err}"),
        }
    }

    /// Runs a statement that returns nothing worth reading (DDL, `KILL QUERY`).
    pub fn execute(&self, sql: &str) -> Result<(), ClickHouseError> {
        self.send(sql, &Params::default(), &[]).map(|_| ())
    }

    /// Inserts `data` (rows in `format`) into `table`; returns once the server
    /// acknowledged the insert (it is then durable on the server as ClickHouse
    /// defines it).
    pub fn insert(&self, table: &str, format: &str, data: &[u8]) -> Result<(), ClickHouseError> {
        let mut body = format!("INSERT INTO {table} FORMAT {format}\n").into_bytes();
        body.extend_from_slice(data);
        self.post(body, &Params::default(), &[]).map(|_| ())
    }

    /// [`Client::insert`] into a table whose layout may differ from the rows' (the
    /// Collector's tables across its versions): columns the table lacks are skipped.
    pub fn insert_lenient(
        &self,
        table: &str,
        format: &str,
        data: &[u8],
    ) -> Result<(), ClickHouseError> {
        let mut body = format!("INSERT INTO {table} FORMAT {format}\n").into_bytes();
        body.extend_from_slice(data);
        self.post(
            body,
            &Params::default(),
            &[("input_format_skip_unknown_fields", "1")],
        )
        .map(|_| ())
    }

    fn send(
        &self,
        sql: &str,
        params: &Params,
        settings: &[(&str, &str)],
    ) -> Result<Vec<u8>, ClickHouseError> {
        self.post(sql.as_bytes().to_vec(), params, settings)
    }

    fn post(
        &self,
        body: Vec<u8>,
        params: &Params,
        settings: &[(&str, &str)],
    ) -> Result<Vec<u8>, ClickHouseError> {
        let _done = Finished(&self.running);
        let mut reply = self.request(body, params, settings)?;
        let mut bytes = Vec::new();
        body_reader(&mut reply)
            .read_to_end(&mut bytes)
            .map_err(|err| self.broke_off(err))?;
        Ok(bytes)
    }

    /// Sends a request; returns the reply once its status says it succeeded (its body
    /// unread), else the error the server gave.
    fn request(
        &self,
        body: Vec<u8>,
        params: &Params,
        settings: &[(&str, &str)],
    ) -> Result<ureq::http::Response<ureq::Body>, ClickHouseError> {
        let e = &self.endpoint;
        let query_id = format!(
            "llm-observatory-{}-{}",
            std::process::id(),
            NEXT_QUERY.fetch_add(1, Ordering::Relaxed)
        );
        *self.running.lock().expect("running lock") = Some(query_id.clone());
        let mut request = self
            .agent
            .post(format!("{}/", e.base()))
            .header("X-ClickHouse-User", &e.user)
            .header("X-ClickHouse-Key", &e.password)
            .query("database", &e.database)
            .query("query_id", &query_id)
            .query(
                "max_execution_time",
                e.max_execution_time.as_secs().to_string(),
            )
            .query(
                "enable_http_compression",
                if e.compression == Compression::None {
                    "0"
                } else {
                    "1"
                },
            );
        if e.compression == Compression::Lz4 {
            // ureq decodes gzip itself; LZ4 frames are decoded by `body_reader`.
            request = request.header("Accept-Encoding", "lz4");
        }
        for (k, v) in settings {
            request = request.query(*k, *v);
        }
        for (i, p) in params.0.iter().enumerate() {
            request = request.query(format!("param_p{i}"), p.value());
        }
        let mut reply = request
            .send(&body[..])
            .map_err(|err| ClickHouseError::Unreachable {
                endpoint: e.base(),
                detail: err.to_string(),
            })?;
        let status = reply.status().as_u16();
        let exception_code = reply
            .headers()
            .get("X-ClickHouse-Exception-Code")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        if status == 200 && exception_code.is_none() {
            return Ok(reply);
        }
        let bytes = reply
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        let detail = String::from_utf8_lossy(&bytes).trim().to_string();
        Err(self.classify(status, exception_code.unwrap_or(0), detail))
    }

    fn classify(&self, status: u16, code: u32, detail: String) -> ClickHouseError {
        let e = &self.endpoint;
        match code {
            code::AUTHENTICATION_FAILED
            | code::UNKNOWN_USER
            | code::WRONG_PASSWORD
            | code::REQUIRED_PASSWORD => ClickHouseError::Auth {
                endpoint: e.base(),
                user: e.user.clone(),
                detail,
            },
            code::UNKNOWN_DATABASE => ClickHouseError::UnknownDatabase {
                endpoint: e.base(),
                database: e.database.clone(),
                detail,
            },
            code::UNKNOWN_TABLE => ClickHouseError::MissingTable {
                database: e.database.clone(),
                table: missing_table(&detail).unwrap_or_else(|| e.traces_table.clone()),
            },
            code::TIMEOUT_EXCEEDED => ClickHouseError::Timeout {
                seconds: e.max_execution_time.as_secs(),
                detail,
            },
            0 if status == 401 || status == 403 => ClickHouseError::Auth {
                endpoint: e.base(),
                user: e.user.clone(),
                detail,
            },
            _ => ClickHouseError::Server {
                code,
                detail: if detail.is_empty() {
                    format!("HTTP status {status}")
                } else {
                    detail
                },
            },
        }
    }
}

/// A reply's body, decoded when the server sent LZ4 frames (gzip ureq decodes).
fn body_reader(reply: &mut ureq::http::Response<ureq::Body>) -> Box<dyn Read + '_> {
    let lz4 = reply
        .headers()
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("lz4"));
    let raw = reply.body_mut().with_config().limit(u64::MAX).reader();
    if lz4 {
        Box::new(lz4_flex::frame::FrameDecoder::new(raw))
    } else {
        Box::new(raw)
    }
}

/// Forgets the running query's id when the reply has been read (or failed).
struct Finished<'a>(&'a Mutex<Option<String>>);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        *self.0.lock().expect("running lock") = None;
    }
}

/// The table an UNKNOWN_TABLE error names (`Table otel.x does not exist`, `Unknown
/// table expression identifier 'otel.x'`).
fn missing_table(detail: &str) -> Option<String> {
    let quoted = detail.split('\'').nth(1).or_else(|| {
        detail
            .split_whitespace()
            .skip_while(|w| *w != "Table")
            .nth(1)
    })?;
    Some(quoted.rsplit('.').next()?.trim_matches('`').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_and_type_the_values() {
        let mut p = Params::default();
        assert_eq!(p.text("a"), "{p0:String}");
        assert_eq!(p.push(Param::Int(5)), "{p1:Int64}");
        assert_eq!(p.push(Param::Float(0.5)), "{p2:Float64}");
        assert_eq!(Param::Text("a\tb\\c\n".into()).value(), "a\\tb\\\\c\\n");
    }

    #[test]
    fn names_the_missing_table() {
        assert_eq!(
            missing_table("Code: 60. DB::Exception: Unknown table expression identifier 'otel.otel_traces' in scope").as_deref(),
            Some("otel_traces")
        );
        assert_eq!(
            missing_table("Code: 60. DB::Exception: Table otel.otel_traces does not exist.")
                .as_deref(),
            Some("otel_traces")
        );
    }
}
