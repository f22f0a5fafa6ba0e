//! Where the app keeps its files by default: the platform's data and config
//! directories.

use directories::ProjectDirs;
use std::path::PathBuf;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("dev", "llm-observatory", "llm-observatory")
}

/// The default database: `observatory.duckdb` in the platform data directory.
pub fn default_db() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("observatory.duckdb"))
        .unwrap_or_else(|| PathBuf::from("observatory.duckdb"))
}

/// The user's price file: `prices.toml` in the platform config directory.
pub fn user_prices() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("prices.toml"))
}

/// The demo database `--demo` opens: `demo.duckdb` in the platform data directory.
pub fn demo_db() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("demo.duckdb"))
        .unwrap_or_else(|| PathBuf::from("demo.duckdb"))
}

/// The platform data directory (where the running window announces itself to later
/// launches).
pub fn data_dir() -> Option<PathBuf> {
    dirs().map(|d| d.data_dir().to_path_buf())
}

/// A file in the platform config directory.
pub fn config_file(name: &str) -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join(name))
}
