//! ClickHouse for tests: its engine (PyPI's chdb) behind `tests/python/clickhouse_front.py`,
//! which speaks ClickHouse's HTTP interface, started on a free loopback port and stopped
//! when dropped. Shared by the end-to-end and window tests (`#[path]` modules).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The chdb-backed ClickHouse HTTP front, stopped when dropped.
pub struct Front {
    child: Child,
    auth: Option<(String, String)>,
    extra: Vec<String>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _data: tempfile::TempDir,
}

impl Front {
    /// Starts a front keeping its data in a fresh folder; `auth` requires that user
    /// and password.
    pub fn start(name: &str, auth: Option<(&str, &str)>) -> Front {
        Front::start_with(name, auth, &[])
    }

    /// Starts a front whose every SELECT first waits `seconds` (a slow server).
    pub fn slow(name: &str, seconds: f64) -> Front {
        Front::start_with(name, None, &["--delay".into(), seconds.to_string()])
    }

    fn start_with(name: &str, auth: Option<(&str, &str)>, extra: &[String]) -> Front {
        let data = tempfile::Builder::new()
            .prefix(&format!("clickhouse-{name}-"))
            .tempdir()
            .expect("a folder for the front's data");
        let auth = auth.map(|(u, p)| (u.to_string(), p.to_string()));
        let (child, port) = spawn(data.path(), 0, auth.as_ref(), extra);
        Front {
            child,
            auth,
            port,
            extra: extra.to_vec(),
            _data: data,
        }
    }

    /// Stops the server as a crash would (its data stays), for fault tests.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port with the same data.
    pub fn restart(&mut self) {
        self.kill();
        let (child, port) = spawn(
            self._data.path(),
            self.port,
            self.auth.as_ref(),
            &self.extra,
        );
        assert_eq!(port, self.port);
        self.child = child;
    }

    /// The URL of `database` on it.
    pub fn url(&self, database: &str) -> String {
        format!("clickhouse://127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` over HTTP as any client would; returns the body (TabSeparated).
    pub fn query(&self, sql: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let auth = self
            .auth
            .as_ref()
            .map(|(u, p)| format!("X-ClickHouse-User: {u}\r\nX-ClickHouse-Key: {p}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {}\r\n\r\n{sql}",
            sql.len()
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{sql}: {reply}"
        );
        body.to_string()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `clickhouse_front.py` on `port` (0: any free one) keeping its data in
/// `data`; returns it and its port once it listens.
fn spawn(
    data: &Path,
    port: u16,
    auth: Option<&(String, String)>,
    extra: &[String],
) -> (Child, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/clickhouse_front.py");
    let python = std::env::var("LLM_OBSERVATORY_PYTHON").expect(
        "LLM_OBSERVATORY_PYTHON is unset: run the tests with tests/run.sh, which sets up the Python venv with chdb",
    );
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg("--data")
        .arg(data.join("chdb"))
        .args(["--port", &port.to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some((user, password)) = auth {
        cmd.args(["--user", user, "--password", password]);
    }
    let mut child = cmd.spawn().expect("start the ClickHouse front");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the front says its port");
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the front did not start: {line:?}"));
    (child, port)
}
