//! Where a ClickHouse is and how to sign in: parsed from the URL a user gives
//! (`clickhouse://user:password@host:8123/otel`, `https://host:8443/otel`), with the
//! password from the URL, a file or the environment.

use crate::error::ClickHouseError;
use std::time::Duration;

/// The environment variable a password is read from when the URL has none.
pub const PASSWORD_VARIABLE: &str = "CLICKHOUSE_PASSWORD";

/// How replies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// As they are (fastest on a local network).
    #[default]
    None,
    /// gzip, which ClickHouse applies when asked (`enable_http_compression`).
    Gzip,
    /// LZ4 frames: nearly free to decode, for large answers over a fast network.
    Lz4,
}

/// One ClickHouse server, database and sign-in.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or address.
    pub host: String,
    /// HTTP port.
    pub port: u16,
    /// The database the Collector's tables are in.
    pub database: String,
    /// The traces table (`otel_traces` unless `?table=` says otherwise).
    pub traces_table: String,
    /// User name.
    pub user: String,
    /// Password (empty: none).
    pub password: String,
    /// Reply compression.
    pub compression: Compression,
    /// The longest a query may run on the server (`max_execution_time`).
    pub max_execution_time: Duration,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "Endpoint({})", self.display())
    }
}

/// Whether `s` names a ClickHouse rather than a database file.
pub fn is_clickhouse_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["clickhouse://", "clickhouses://", "http://", "https://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

impl Endpoint {
    /// Parses a URL: `clickhouse://` and `http://` speak plain HTTP (port 8123 unless
    /// given), `clickhouses://` and `https://` TLS (port 8443); the path is the
    /// database (`default` when empty); `?table=`, `?compression=none|gzip|lz4` and
    /// `?timeout=SECONDS` tune the rest. A password missing from the URL comes from
    /// `password_file`, else from `CLICKHOUSE_PASSWORD`.
    pub fn parse(
        text: &str,
        password_file: Option<&std::path::Path>,
    ) -> Result<Endpoint, ClickHouseError> {
        let bad = |reason: String| ClickHouseError::BadUrl {
            url: redact(text),
            reason,
        };
        let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
        let (scheme, default_port) = match url.scheme() {
            "clickhouse" | "http" => ("http", 8123),
            "clickhouses" | "https" => ("https", 8443),
            other => {
                return Err(bad(format!(
                    "scheme {other:?}: use clickhouse://, clickhouses://, http:// or https://"
                )));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host".into()))?
            .to_string();
        let mut path = url.path().trim_matches('/').split('/');
        let database = match path.next() {
            Some("") | None => "default".to_string(),
            Some(db) => decode(db),
        };
        if path.next().is_some() {
            return Err(bad(
                "the path is the database: one name, such as /otel".into()
            ));
        }
        let mut endpoint = Endpoint {
            scheme: scheme.into(),
            host,
            port: url.port().unwrap_or(default_port),
            database,
            traces_table: "otel_traces".into(),
            user: match url.username() {
                "" => "default".into(),
                u => decode(u),
            },
            password: url.password().map(decode).unwrap_or_default(),
            compression: Compression::None,
            max_execution_time: Duration::from_secs(60),
        };
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "table" => endpoint.traces_table = value.into_owned(),
                "compression" => {
                    endpoint.compression = match value.as_ref() {
                        "none" => Compression::None,
                        "gzip" => Compression::Gzip,
                        "lz4" => Compression::Lz4,
                        other => {
                            return Err(bad(format!("compression={other}: use none, gzip or lz4")));
                        }
                    }
                }
                "timeout" => {
                    let secs: u64 = value
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| bad(format!("timeout={value}: a number of seconds")))?;
                    endpoint.max_execution_time = Duration::from_secs(secs);
                }
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?} (known: table, compression, timeout)"
                    )));
                }
            }
        }
        for name in [&endpoint.database, &endpoint.traces_table] {
            if !valid_identifier(name) {
                return Err(bad(format!(
                    "{name:?} is not a plain ClickHouse name (letters, digits, _)"
                )));
            }
        }
        if url.password().is_none() {
            if let Some(file) = password_file {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| bad(format!("password file {}: {e}", file.display())))?;
                endpoint.password = text.trim_end_matches(['\n', '\r']).to_string();
            } else if let Ok(p) = std::env::var(PASSWORD_VARIABLE) {
                endpoint.password = p;
            }
        }
        Ok(endpoint)
    }

    /// `scheme://host:port/database`, for messages and the top bar (no password).
    pub fn display(&self) -> String {
        format!(
            "{}://{}:{}/{}",
            self.scheme, self.host, self.port, self.database
        )
    }

    /// `scheme://host:port`, where requests go.
    pub fn base(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }

    /// The traces table, qualified with its database.
    pub fn traces(&self) -> String {
        format!("{}.{}", self.database, self.traces_table)
    }
}

/// A percent-encoded URL part (user names and passwords may hold `@` or `:`).
fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Letters, digits and `_`, not starting with a digit: safe to write into SQL.
fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The URL with its password replaced, for error messages.
pub fn redact(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => text.to_string(),
    }
}

/// The URL without its password, for remembering it (the password comes from the
/// environment or a file when it is opened again).
pub fn without_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        let e = Endpoint::parse("clickhouse://bob:s%40cret@ch.local/otel", None).unwrap();
        assert_eq!(
            (
                e.scheme.as_str(),
                e.host.as_str(),
                e.port,
                e.database.as_str()
            ),
            ("http", "ch.local", 8123, "otel")
        );
        assert_eq!((e.user.as_str(), e.password.as_str()), ("bob", "s@cret"));
        let e = Endpoint::parse(
            "https://ch.example.com/?table=traces&timeout=5&compression=gzip",
            None,
        )
        .unwrap();
        assert_eq!(
            (e.port, e.database.as_str(), e.traces_table.as_str()),
            (8443, "default", "traces")
        );
        assert_eq!(e.max_execution_time, Duration::from_secs(5));
        assert_eq!(e.compression, Compression::Gzip);
        let e = Endpoint::parse("clickhouse://h/db?compression=lz4", None).unwrap();
        assert_eq!(e.compression, Compression::Lz4);
        assert!(
            !format!(
                "{:?}",
                Endpoint::parse("clickhouse://u:pw@h/db", None).unwrap()
            )
            .contains("pw")
        );
    }

    #[test]
    fn refuses_what_cannot_be_used_and_says_why() {
        for (url, says) in [
            ("ftp://h/db", "scheme"),
            ("clickhouse://h/a/b", "one name"),
            ("clickhouse://h/db?tabel=x", "unknown parameter"),
            ("clickhouse://h/db;drop", "plain ClickHouse name"),
            ("clickhouse://h/db?timeout=0", "seconds"),
        ] {
            let e = Endpoint::parse(url, None).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
        }
        let e = Endpoint::parse("clickhouse://u:topsecret@h/db?x=1", None)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("topsecret"), "{e}");
        assert_eq!(
            without_password("clickhouse://u:topsecret@h:8123/db"),
            "clickhouse://u@h:8123/db"
        );
    }

    #[test]
    fn password_from_a_file_when_the_url_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let e = Endpoint::parse("clickhouse://u@h/db", Some(&file)).unwrap();
        assert_eq!(e.password, "from-file");
        let e = Endpoint::parse("clickhouse://u:inurl@h/db", Some(&file)).unwrap();
        assert_eq!(e.password, "inurl");
    }
}
