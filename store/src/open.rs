//! Opening a database file: the checks that give a clear error before DuckDB does, the
//! connection settings, migration, and handing out readers and the writer.

use crate::error::StoreError;
use crate::output::{DatabaseFiles, OutputFile, Replace};
use crate::prices::PriceTable;
use crate::query::Reader;
use crate::schema::{self, Upgrade};
use crate::text_index::TextIndex;
use crate::writer::Writer;
use duckdb::{AccessMode, Config, Connection};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

/// DuckDB's buffer memory per open database: without a limit DuckDB keeps up to 80 % of
/// the machine's memory in cache, which a desktop app shares with everything else
/// (past it, DuckDB spills to `NAME.duckdb.tmp/`). Writing 2M demo spans peaked at
/// 1.66 GB of resident memory at 1 GB, 1.18 GB at 512 MB, 0.91 GB at 256 MB, equally
/// fast; every dashboard query at 10M spans answers as fast at 256 MB (the README's
/// benchmark table has the commands). `LLM_OBSERVATORY_DB_MEMORY` (e.g. `2GB`)
/// changes it.
const MEMORY_LIMIT: &str = "256MB";

/// DuckDB's worker threads per open database: half the cores, at least two, so that a
/// query never takes every core from the window and the receivers on a desktop.
/// `LLM_OBSERVATORY_DB_THREADS` changes it.
fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores / 2).max(2)
}

/// The environment's setting `variable`, else `default`.
fn setting(variable: &str, default: &str) -> String {
    std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// DuckDB's memory limit and threads for a new connection, from the environment or the
/// defaults above; a value DuckDB refuses is named in the error.
fn tuned(config: Config) -> Result<Config, StoreError> {
    let memory = setting("LLM_OBSERVATORY_DB_MEMORY", MEMORY_LIMIT);
    let config = config
        .max_memory(&memory)
        .map_err(|e| StoreError::Setting {
            variable: "LLM_OBSERVATORY_DB_MEMORY",
            value: memory.clone(),
            detail: e.to_string(),
            hint: "write a size such as 512MB or 2GB",
        })?;
    let threads = setting("LLM_OBSERVATORY_DB_THREADS", &default_threads().to_string());
    let bad = |detail: String| StoreError::Setting {
        variable: "LLM_OBSERVATORY_DB_THREADS",
        value: threads.clone(),
        detail,
        hint: "write a number of threads such as 2",
    };
    let n: i64 = threads
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| bad("not a positive whole number".into()))?;
    config.threads(n).map_err(|e| bad(e.to_string()))
}

/// Whether a database is opened for writing or only browsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create if missing, migrate, write.
    ReadWrite,
    /// Browse only; nothing in the file changes.
    ReadOnly,
}

/// One open database: the connection everything else is cloned from, the data version
/// and the price table queries use.
pub struct Store {
    primary: Mutex<Connection>,
    mode: OpenMode,
    version: Arc<AtomicU64>,
    prices: Arc<RwLock<PriceTable>>,
    text: Option<Arc<TextIndex>>,
    files: Option<DatabaseFiles>,
    /// The file's schema version (older than this build's only when opened read-only).
    schema_version: i64,
}

impl Store {
    /// Opens (creating and migrating when writable) the database at `path`.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        Self::open_reporting(path, mode, &|_| {})
    }

    /// [`Store::open`], telling `report` of each step that brings an older file
    /// forward before it runs.
    pub fn open_reporting(
        path: &Path,
        mode: OpenMode,
        report: &dyn Fn(Upgrade),
    ) -> Result<Store, StoreError> {
        check_path(path, mode)?;
        if mode == OpenMode::ReadWrite {
            check_folder_writable(path)?;
        }
        let config = Config::default()
            .access_mode(match mode {
                OpenMode::ReadWrite => AccessMode::ReadWrite,
                OpenMode::ReadOnly => AccessMode::ReadOnly,
            })?
            .enable_autoload_extension(false)?;
        let config = tuned(config)?;
        let conn =
            Connection::open_with_flags(path, config).map_err(|e| classify_open_error(path, e))?;
        Self::from_connection(conn, mode, Some(path), report)
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::from_connection(conn, OpenMode::ReadWrite, None, &|_| {})
    }

    fn from_connection(
        conn: Connection,
        mode: OpenMode,
        path: Option<&Path>,
        report: &dyn Fn(Upgrade),
    ) -> Result<Store, StoreError> {
        let schema_version = match mode {
            OpenMode::ReadWrite => {
                schema::migrate(&conn, report)?;
                crate::pattern_table::backfill(&conn)?;
                schema::SCHEMA_VERSION
            }
            OpenMode::ReadOnly => schema::check_readable(&conn)?,
        };
        // The text index only speeds searches up: without it (another process holds
        // it, the folder is not writable) everything works by scanning.
        let text = match TextIndex::open(path, mode == OpenMode::ReadWrite) {
            Ok(t) => t.map(Arc::new),
            Err(e) => {
                tracing::warn!("no text index, searches will scan: {e}");
                None
            }
        };
        if let Some(t) = &text {
            let (t, c) = (t.clone(), conn.try_clone()?);
            std::thread::Builder::new()
                .name("text-index".into())
                .spawn(move || {
                    if let Err(e) = t.sync_with(&c) {
                        tracing::warn!("text index: {e}; searches will scan");
                    }
                })
                .map_err(|source| StoreError::Io {
                    path: "text index thread".into(),
                    source,
                })?;
        }
        Ok(Store {
            primary: Mutex::new(conn),
            mode,
            version: Arc::new(AtomicU64::new(1)),
            prices: Arc::new(RwLock::new(PriceTable::bundled())),
            text,
            files: path.map(DatabaseFiles::new),
            schema_version,
        })
    }

    /// Starts writing a file for the user at `target` (see [`OutputFile`]); refused when
    /// it is one of this database's own files.
    pub fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError> {
        OutputFile::create(target, replace, self.files.as_ref())
    }

    /// The database file; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.files.as_ref().map(DatabaseFiles::path)
    }

    /// The full-text index, when there is one (for its readiness).
    pub fn text_index(&self) -> Option<&TextIndex> {
        self.text.as_deref()
    }

    /// Brings the full-text index up to date now (rebuilding it if it does not match the
    /// calls stored) and returns when searches can use it.
    pub fn sync_text_index(&self) -> Result<(), StoreError> {
        let Some(t) = &self.text else {
            return Err(StoreError::Index(
                "this database has no text index (opened read-only without one)".into(),
            ));
        };
        let conn = self.primary.lock().expect("connection lock").try_clone()?;
        t.sync_with(&conn)
    }

    /// A number that grows after every commit; a cache whose result was computed at an
    /// older version should ask again.
    pub fn data_version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Replaces the price table; costs of all history follow at the next query. A
    /// snapshot's own prices ([`crate::SnapshotMark`]) stay over `prices`, so its
    /// figures are those it was saved with.
    pub fn set_prices(&self, prices: PriceTable) {
        let prices = match self.snapshot_mark() {
            Ok(Some(mark)) => prices.overridden_by(mark.prices),
            _ => prices,
        };
        *self.prices.write().expect("price lock") = prices;
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The price table in force.
    pub fn prices(&self) -> PriceTable {
        self.prices.read().expect("price lock").clone()
    }

    /// A connection of this database's own, for a statement outside the writer.
    pub(crate) fn connection(&self) -> Result<Connection, StoreError> {
        Ok(self.primary.lock().expect("connection lock").try_clone()?)
    }

    /// A reader with its own connection, for one thread.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = self.primary.lock().expect("connection lock").try_clone()?;
        Ok(Reader::new(
            conn,
            self.prices.clone(),
            self.version.clone(),
            self.text.clone(),
            self.files.clone(),
            self.schema_version,
        ))
    }

    /// Starts the one writer thread.
    pub fn writer(&self) -> Result<Writer, StoreError> {
        if self.mode == OpenMode::ReadOnly {
            return Err(StoreError::ReadOnly);
        }
        let conn = self.primary.lock().expect("connection lock").try_clone()?;
        Writer::start(
            conn,
            self.version.clone(),
            self.text.clone(),
            self.prices.clone(),
        )
    }
}

/// Rejects a directory, and a file that is not a DuckDB database, before DuckDB would
/// overwrite or misreport it.
fn check_path(path: &Path, mode: OpenMode) -> Result<(), StoreError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && mode == OpenMode::ReadWrite => {
            return Ok(());
        }
        Err(source) => {
            return Err(StoreError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    if meta.is_dir() {
        return Err(StoreError::IsDirectory(path.to_owned()));
    }
    if meta.len() == 0 {
        return Err(StoreError::NotADatabase(path.to_owned()));
    }
    let mut file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut header = vec![0u8; crate::duckdb_file::BLOCKS_START as usize];
    let read = read_up_to(&mut file, &mut header).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !has_duckdb_magic(&header[..read]) {
        return Err(StoreError::NotADatabase(path.to_owned()));
    }
    if let Some(detail) = crate::duckdb_file::damage(&header[..read], &mut file, meta.len()) {
        return Err(StoreError::Damaged {
            path: path.to_owned(),
            detail,
        });
    }
    Ok(())
}

/// Whether a file's first bytes carry DuckDB's magic ("DUCK" at offset 8).
fn has_duckdb_magic(header: &[u8]) -> bool {
    header.get(8..12) == Some(b"DUCK")
}

/// Whether `path` is a DuckDB database file (by its header), so that a file dropped on
/// the window opens as a database instead of being imported as OTLP. Unreadable files
/// are not databases.
pub fn is_database_file(path: &Path) -> bool {
    let mut header = [0u8; 12];
    std::fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut header))
        .is_ok_and(|n| has_duckdb_magic(&header[..n]))
}

/// Fails when the database's folder cannot take new files: DuckDB creates its
/// write-ahead log there at the first write, which would otherwise fail only then —
/// after a collector had said it was listening.
fn check_folder_writable(path: &Path) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    tempfile::tempfile_in(dir)
        .map(drop)
        .map_err(|source| StoreError::FolderNotWritable {
            dir: dir.to_owned(),
            wal: crate::output::DatabaseFiles::new(path).wal(),
            source,
        })
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn classify_open_error(path: &Path, e: duckdb::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("lock") {
        StoreError::Locked {
            path: path.to_owned(),
            detail: text,
        }
    } else if text.contains("not a valid DuckDB database") {
        StoreError::NotADatabase(path.to_owned())
    } else {
        StoreError::Db(text)
    }
}
