//! Opening a database file: the checks that give a clear error before DuckDB does, the
//! connection settings, migration, and handing out readers and the writer.

use crate::error::StoreError;
use crate::prices::PriceTable;
use crate::query::Reader;
use crate::schema;
use crate::text_index::TextIndex;
use crate::writer::Writer;
use duckdb::{AccessMode, Config, Connection};
use std::io::Read;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

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
}

impl Store {
    /// Opens (creating and migrating when writable) the database at `path`.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store, StoreError> {
        check_path(path, mode)?;
        let config = Config::default()
            .access_mode(match mode {
                OpenMode::ReadWrite => AccessMode::ReadWrite,
                OpenMode::ReadOnly => AccessMode::ReadOnly,
            })?
            .enable_autoload_extension(false)?;
        let conn =
            Connection::open_with_flags(path, config).map_err(|e| classify_open_error(path, e))?;
        Self::from_connection(conn, mode, Some(path))
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory()?;
        Self::from_connection(conn, OpenMode::ReadWrite, None)
    }

    fn from_connection(
        conn: Connection,
        mode: OpenMode,
        path: Option<&Path>,
    ) -> Result<Store, StoreError> {
        match mode {
            OpenMode::ReadWrite => schema::migrate(&conn)?,
            OpenMode::ReadOnly => schema::check_readable(&conn)?,
        }
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
        })
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

    /// Replaces the price table; costs of all history follow at the next query.
    pub fn set_prices(&self, prices: PriceTable) {
        *self.prices.write().expect("price lock") = prices;
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A reader with its own connection, for one thread.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = self.primary.lock().expect("connection lock").try_clone()?;
        Ok(Reader::new(
            conn,
            self.prices.clone(),
            self.version.clone(),
            self.text.clone(),
        ))
    }

    /// Starts the one writer thread.
    pub fn writer(&self) -> Result<Writer, StoreError> {
        if self.mode == OpenMode::ReadOnly {
            return Err(StoreError::ReadOnly);
        }
        let conn = self.primary.lock().expect("connection lock").try_clone()?;
        Writer::start(conn, self.version.clone(), self.text.clone())
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
    let mut header = [0u8; 12];
    let mut file = std::fs::File::open(path).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    let read = file.read(&mut header).map_err(|source| StoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    if read < 12 || &header[8..12] != b"DUCK" {
        return Err(StoreError::NotADatabase(path.to_owned()));
    }
    Ok(())
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
        StoreError::Db(e)
    }
}
