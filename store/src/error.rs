//! Errors of the store, each saying what went wrong in words a user can act on.

use std::path::PathBuf;

/// Everything that can go wrong opening, writing or querying a database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The path names a directory, not a database file.
    #[error("{0} is a directory, not a database file")]
    IsDirectory(PathBuf),
    /// The file exists but is not a DuckDB database.
    #[error("{0} is not a DuckDB database file (it has no DuckDB header); nothing was changed")]
    NotADatabase(PathBuf),
    /// The file is a DuckDB database, but damaged: nothing reads or writes it.
    #[error(
        "{path} is a damaged DuckDB database: {detail}. Nothing was read or changed; restore a copy (its figures would be wrong)"
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong, with the sizes involved.
        detail: String,
    },
    /// The database's folder does not take new files, so nothing could be written.
    #[error(
        "cannot write in {dir} ({source}): the database needs it for its write-ahead log {wal}; choose a writable folder or fix its permissions"
    )]
    FolderNotWritable {
        /// The folder.
        dir: PathBuf,
        /// The write-ahead log that would be created there.
        wal: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another process holds the database open.
    #[error("{path} is already open in another process: {detail}")]
    Locked {
        /// The database file.
        path: PathBuf,
        /// DuckDB's own words, which name the process holding the lock.
        detail: String,
    },
    /// The file is a DuckDB database, but not one of ours.
    #[error("the database has tables but no LLM Observatory schema; refusing to modify it")]
    ForeignDatabase,
    /// The file was written by a newer version of this program.
    #[error(
        "the database has schema version {found}, newer than this program supports ({supported}); upgrade LLM Observatory"
    )]
    NewerSchema {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// A migration step failed; the file was left at the version before it.
    #[error("migrating the database to schema version {to} failed: {detail}")]
    Migration {
        /// Target version of the failed step.
        to: i64,
        /// The database's own words.
        detail: String,
    },
    /// The database is open read-only and a write was asked for.
    #[error("the database is open read-only")]
    ReadOnly,
    /// A file opened read-only predates what was asked for; opening it for writing once
    /// upgrades it.
    #[error(
        "{what} needs schema version {needs}; this file is at {has} and was opened read-only (open it once with the app or `serve`, which upgrade it)"
    )]
    OlderSchema {
        /// What was asked for.
        what: &'static str,
        /// The version it needs.
        needs: i64,
        /// The file's version.
        has: i64,
    },
    /// A price file could not be read or parsed.
    #[error("price file {path}: {message}")]
    Prices {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, with the line where known.
        message: String,
    },
    /// A filter value that cannot be used (a malformed glob, a bad id).
    #[error("invalid filter: {0}")]
    BadFilter(String),
    /// A time annotation that cannot be stored (empty, too long), and why.
    #[error("annotation not added: {0}")]
    BadAnnotation(String),
    /// Something this backend cannot do (yet), and what to do instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A batch could not be committed; nothing of it was stored.
    #[error("commit failed, nothing of the batch was stored: {0}")]
    Commit(String),
    /// A step that tidies the summaries (compacting rollups, joining split traces)
    /// failed; the rows committed are all kept and the step is tried again later.
    #[error("{what} failed; every committed row is kept, and it is tried again later: {detail}")]
    Upkeep {
        /// The step.
        what: &'static str,
        /// DuckDB's error.
        detail: String,
    },
    /// The writer thread has stopped.
    #[error("the database writer has stopped")]
    WriterStopped,
    /// An output path that is one of the open database's own files.
    #[error("refusing to write {path}: it is {what}")]
    OutputIsDatabase {
        /// The path asked for.
        path: PathBuf,
        /// Which of the database's files it is.
        what: &'static str,
    },
    /// An output file exists and replacing it was not asked for.
    #[error("{0} already exists; nothing was written")]
    OutputExists(PathBuf),
    /// A file system error.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The full-text index failed (the database itself is unaffected).
    #[error("{variable}={value:?} is not a setting DuckDB takes ({detail}); {hint}")]
    /// A memory or thread setting from the environment that DuckDB refuses.
    Setting {
        /// The environment variable.
        variable: &'static str,
        /// What it said.
        value: String,
        /// DuckDB's complaint.
        detail: String,
        /// What a good value looks like.
        hint: &'static str,
    },
    #[error("text index: {0}")]
    Index(String),
    /// Any other error of the database engine, in its own words (the engine's error
    /// types stay inside the store, so callers are the same for every backend).
    #[error("database error: {0}")]
    Db(String),
    /// The ClickHouse server could not answer (see [`ClickHouseError`] for each case).
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
}

#[cfg(feature = "duckdb")]
impl From<duckdb::Error> for StoreError {
    fn from(e: duckdb::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

/// What went wrong talking to a ClickHouse server, each case saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// The URL cannot be used.
    #[error("ClickHouse URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given (without its password).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answers at the address, or the connection broke.
    #[error(
        "ClickHouse at {endpoint} is not reachable ({detail}); is the server running and the address right?"
    )]
    Unreachable {
        /// Scheme, host and port.
        endpoint: String,
        /// The transport's words.
        detail: String,
    },
    /// The server refused the user or password.
    #[error(
        "ClickHouse at {endpoint} refused user {user:?}: {detail} (give the password in the URL, with --clickhouse-password-file or in CLICKHOUSE_PASSWORD)"
    )]
    Auth {
        /// Scheme, host and port.
        endpoint: String,
        /// The user tried.
        user: String,
        /// The server's words.
        detail: String,
    },
    /// The database named in the URL does not exist.
    #[error("ClickHouse at {endpoint} has no database {database:?}: {detail}")]
    UnknownDatabase {
        /// Scheme, host and port.
        endpoint: String,
        /// The database asked for.
        database: String,
        /// The server's words.
        detail: String,
    },
    /// A table the views read is missing.
    #[error(
        "ClickHouse database {database:?} has no table {table:?}: point the OpenTelemetry Collector's clickhouseexporter at it (it creates the table), or run `llm-observatory serve --clickhouse URL --create-tables` once"
    )]
    MissingTable {
        /// The database.
        database: String,
        /// The table.
        table: String,
    },
    /// The query ran longer than the limit the app sets.
    #[error("ClickHouse stopped the query after {seconds} s (max_execution_time): {detail}")]
    Timeout {
        /// The limit.
        seconds: u64,
        /// The server's words.
        detail: String,
    },
    /// Any other error the server reported, with its code.
    #[error("ClickHouse error {code}: {detail}")]
    Server {
        /// ClickHouse's error code (`X-ClickHouse-Exception-Code`), 0 when not given.
        code: u32,
        /// The server's words.
        detail: String,
    },
    /// The server's answer could not be read.
    #[error("unreadable answer from ClickHouse: {0}")]
    Protocol(String),
}
