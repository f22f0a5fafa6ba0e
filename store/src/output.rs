//! Files written for the user — exports, the price file, the rules file, screenshots —
//! are written to a temporary file in the same folder and renamed into place only when
//! complete, so that a failed write leaves whatever was there untouched. A path that is
//! an open database, its write-ahead log, its spill folder or its search folder is
//! refused by name, however it is spelled.

use crate::error::StoreError;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// An existing file is an error ([`StoreError::OutputExists`]).
    Never,
    /// An existing file is replaced when the new one is complete.
    Allowed,
}

/// What a database keeps on disk, for refusing those paths as outputs.
#[derive(Debug, Clone)]
pub struct DatabaseFiles {
    db: PathBuf,
}

impl DatabaseFiles {
    /// The files of the database at `db`.
    pub fn new(db: &Path) -> Self {
        DatabaseFiles { db: db.to_owned() }
    }

    /// The database file itself.
    pub fn path(&self) -> &Path {
        &self.db
    }

    /// DuckDB's write-ahead log beside the database.
    pub fn wal(&self) -> PathBuf {
        self.with(".wal")
    }

    fn with(&self, suffix: &str) -> PathBuf {
        let mut p = self.db.clone().into_os_string();
        p.push(suffix);
        PathBuf::from(p)
    }

    /// The database's files with what each is to a user: the file itself, DuckDB's
    /// write-ahead log and spill folder, and the full-text index folder.
    fn parts(&self) -> [(PathBuf, &'static str, bool); 4] {
        [
            (self.db.clone(), "the open database", false),
            (self.wal(), "the open database's write-ahead log", false),
            (
                self.with(".tmp"),
                "the open database's temporary folder",
                true,
            ),
            (
                self.with(".search"),
                "the open database's search index",
                true,
            ),
        ]
    }

    /// The files and folders kept beside the database file: the write-ahead log, the
    /// spill folder and the search index (for removing a database whole).
    pub fn parts_beside(&self) -> Vec<PathBuf> {
        self.parts().into_iter().skip(1).map(|p| p.0).collect()
    }

    /// Refuses `target` when it is (or, for folders, lies inside) one of the database's
    /// files.
    pub fn check(&self, target: &Path) -> Result<(), StoreError> {
        for (part, what, is_folder) in self.parts() {
            if same_place(target, &part) || (is_folder && inside(target, &part)) {
                return Err(StoreError::OutputIsDatabase {
                    path: target.to_owned(),
                    what,
                });
            }
        }
        Ok(())
    }
}

/// Whether two paths name the same file: by identity when both exist (hard links,
/// symbolic links, `..`, case-insensitive file systems), else by their resolved names.
fn same_place(a: &Path, b: &Path) -> bool {
    if a.exists() && b.exists() {
        return same_file::is_same_file(a, b).unwrap_or(false);
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether `path` lies inside the folder `dir`.
fn inside(path: &Path, dir: &Path) -> bool {
    match (resolved(path), resolved(dir)) {
        (Some(p), Some(d)) => p.starts_with(&d) && p != d,
        _ => false,
    }
}

/// The absolute path with its folder's symbolic links and `..` resolved (the folder
/// must exist; the last component need not).
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Some(resolved(&parent)?.join(name))
}

/// A file being written: a temporary file beside the target that becomes the target on
/// [`OutputFile::commit`]; dropped without committing, it is removed and the target is
/// untouched.
pub struct OutputFile {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
    replace: Replace,
}

impl OutputFile {
    /// Starts writing `target`: refused when it is one of `protected`'s files, a folder,
    /// or (with [`Replace::Never`]) an existing file.
    pub fn create(
        target: &Path,
        replace: Replace,
        protected: Option<&DatabaseFiles>,
    ) -> Result<OutputFile, StoreError> {
        if let Some(db) = protected {
            db.check(target)?;
        }
        let io = |source| StoreError::Io {
            path: target.to_owned(),
            source,
        };
        match std::fs::metadata(target) {
            Ok(m) if m.is_dir() => return Err(StoreError::IsDirectory(target.to_owned())),
            Ok(_) if replace == Replace::Never => {
                return Err(StoreError::OutputExists(target.to_owned()));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| io(std::io::Error::other("the path names no file")))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".partial")
            .tempfile_in(dir)
            .map_err(io)?;
        Ok(OutputFile {
            target: target.to_owned(),
            temp,
            replace,
        })
    }

    /// The temporary file's path, for writers that open the file themselves (DuckDB's
    /// `COPY … TO`).
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// The temporary file, to write into.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes the data to disk and renames the temporary file over the target.
    pub fn commit(self) -> Result<(), StoreError> {
        let target = self.target;
        let io = |source| StoreError::Io {
            path: target.clone(),
            source,
        };
        // Writers that opened the path themselves may have replaced the file: sync by
        // path, not through our handle.
        File::open(self.temp.path())
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        let kept = match self.replace {
            Replace::Allowed => self.temp.persist(&target),
            Replace::Never => self.temp.persist_noclobber(&target),
        };
        kept.map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::OutputExists(target.clone())
            } else {
                io(e.error)
            }
        })?;
        Ok(())
    }
}

/// Writes `bytes` to `target` through a temporary file (replacing what is there).
pub fn write_file(target: &Path, bytes: &[u8], replace: Replace) -> Result<(), StoreError> {
    use std::io::Write;
    let mut out = OutputFile::create(target, replace, None)?;
    out.file()
        .write_all(bytes)
        .map_err(|source| StoreError::Io {
            path: target.to_owned(),
            source,
        })?;
    out.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("store-output-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_database_and_its_files_are_refused_however_spelled() {
        let d = scratch("spell");
        let db = d.join("a.duckdb");
        std::fs::write(&db, b"db").unwrap();
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::hard_link(&db, d.join("hard.duckdb")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&db, d.join("soft")).unwrap();
        let files = DatabaseFiles::new(&db);
        let spellings = [
            db.clone(),
            d.join("sub/../a.duckdb"),
            d.join("./a.duckdb"),
            d.join("hard.duckdb"),
            #[cfg(unix)]
            d.join("soft"),
            d.join("a.duckdb.wal"),
            d.join("sub/../a.duckdb.wal"),
            d.join("a.duckdb.search/meta.json"),
            d.join("a.duckdb.tmp/x"),
        ];
        for p in spellings {
            let e = OutputFile::create(&p, Replace::Allowed, Some(&files))
                .err()
                .unwrap_or_else(|| panic!("{} was accepted", p.display()));
            assert!(
                matches!(e, StoreError::OutputIsDatabase { .. }),
                "{}: {e}",
                p.display()
            );
        }
        assert_eq!(std::fs::read(&db).unwrap(), b"db");
        assert!(OutputFile::create(&d.join("b.csv"), Replace::Never, Some(&files)).is_ok());
    }

    #[test]
    fn an_uncommitted_write_leaves_the_old_file_and_no_temporary() {
        let d = scratch("atomic");
        let target = d.join("out.csv");
        std::fs::write(&target, b"old").unwrap();
        {
            let mut out = OutputFile::create(&target, Replace::Allowed, None).unwrap();
            out.file().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "temporary left");
        let e = OutputFile::create(&target, Replace::Never, None)
            .err()
            .unwrap();
        assert!(matches!(e, StoreError::OutputExists(_)), "{e}");
        write_file(&target, b"new", Replace::Allowed).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
    }
}
