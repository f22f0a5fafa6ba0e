//! What makes a database file a *snapshot*: a selection saved to share, which opens on
//! the view and filters it was saved with and figures its costs with the prices in
//! force where it was saved (a colleague's price file must not change its figures).
//! Both live in the `meta` table; the view is the app's own text, opaque here.

use crate::error::StoreError;
use crate::open::Store;
use crate::prices::PriceTable;

/// The `meta` key holding the view to open on.
const VIEW_KEY: &str = "snapshot_view";

/// The `meta` key holding the prices, as a price file's text.
const PRICES_KEY: &str = "snapshot_prices";

/// A snapshot's mark: how to show it, and the prices it was figured with.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotMark {
    /// The view and filters to open on, as the app wrote them.
    pub view: String,
    /// The prices in force where it was saved.
    pub prices: PriceTable,
}

/// The mark of the database file at `path`, read without opening it as a [`Store`]
/// (no text index, no threads): `None` for a file that is no snapshot, or that cannot
/// be read now (another process writes it, an older schema), which the caller then
/// opens as usual.
pub fn snapshot_mark_of(path: &std::path::Path) -> Option<SnapshotMark> {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .ok()?
        .enable_autoload_extension(false)
        .ok()?;
    let conn = duckdb::Connection::open_with_flags(path, config).ok()?;
    read_mark(&conn).ok().flatten()
}

fn read_mark(conn: &duckdb::Connection) -> Result<Option<SnapshotMark>, StoreError> {
    let read = |key: &str| -> Result<Option<String>, StoreError> {
        let mut stmt = conn.prepare("SELECT value FROM meta WHERE key = ?")?;
        let mut rows = stmt.query([key])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get(0)?),
            None => None,
        })
    };
    let Some(view) = read(VIEW_KEY)? else {
        return Ok(None);
    };
    let prices = match read(PRICES_KEY)? {
        Some(text) => PriceTable::parse(&text).map_err(|message| StoreError::Prices {
            path: "the snapshot's prices".into(),
            message,
        })?,
        None => PriceTable::default(),
    };
    Ok(Some(SnapshotMark { view, prices }))
}

impl Store {
    /// Marks this database as a snapshot (see [`SnapshotMark`]).
    pub fn mark_snapshot(&self, mark: &SnapshotMark) -> Result<(), StoreError> {
        let conn = self.connection()?;
        conn.execute_batch("BEGIN TRANSACTION")?;
        for (key, value) in [
            (VIEW_KEY, mark.view.clone()),
            (PRICES_KEY, mark.prices.to_toml()),
        ] {
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                [key, value.as_str()],
            )?;
        }
        conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// The mark of a snapshot; `None` for any other database.
    pub fn snapshot_mark(&self) -> Result<Option<SnapshotMark>, StoreError> {
        read_mark(&self.connection()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open::OpenMode;
    use crate::prices::Price;

    #[test]
    fn a_marked_file_opens_with_its_view_and_prices_over_the_openers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap.duckdb");
        let mut prices = PriceTable::default();
        let price = Price {
            input: 1.5,
            output: 6.0,
            cache_read: None,
            cache_write: Some(2.0),
        };
        prices.set("house-model", price);
        {
            let store = Store::open(&path, OpenMode::ReadWrite).unwrap();
            assert_eq!(store.snapshot_mark().unwrap(), None);
            store
                .mark_snapshot(&SnapshotMark {
                    view: r#"{"view":"Models"}"#.into(),
                    prices: prices.clone(),
                })
                .unwrap();
        }
        assert_eq!(snapshot_mark_of(&path).unwrap().prices, prices);
        assert_eq!(snapshot_mark_of(&dir.path().join("none.duckdb")), None);
        let store = Store::open(&path, OpenMode::ReadOnly).unwrap();
        let mark = store.snapshot_mark().unwrap().unwrap();
        assert_eq!(mark.view, r#"{"view":"Models"}"#);
        assert_eq!(mark.prices, prices);
        // The opener's table does not replace the snapshot's prices.
        let mut theirs = PriceTable::bundled();
        theirs.set(
            "house-model",
            Price {
                input: 99.0,
                output: 99.0,
                cache_read: None,
                cache_write: None,
            },
        );
        store.set_prices(theirs);
        assert_eq!(store.prices().lookup("house-model"), Some(price));
        assert!(store.prices().lookup("gpt-4o").is_some());
    }
}
