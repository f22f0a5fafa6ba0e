//! Each trace's cost in dollars, kept in `traces.cost_usd` so that the traces list
//! sorts by cost without pricing every call of the selection (at 10M spans that
//! pricing took 0.5–0.7 s, at 50M 4.3 s).
//!
//! Dollars depend on the price table, which a user changes and a history reprices
//! with. So `meta` records the table the column was priced with (`trace_cost_prices`:
//! the md5 of its TOML). A reader sorts by the column only when its own table is that
//! one, and prices `trace_spend` (the kept cost measures) otherwise, as before. The
//! writer adds each commit's cost at its prices, and prices the whole column again
//! from `trace_spend` when the recorded table is not its own (a new price file, the
//! migration that added the column, retention summing traces again).

use crate::prices::PriceTable;
use crate::query::cost;
use duckdb::Connection;

/// The `meta` key of the price table the column was priced with.
const KEY: &str = "trace_cost_prices";

/// Forgets which prices the column holds (its rows were summed again without cost).
pub(crate) const FORGET: &str = "DELETE FROM meta WHERE key = 'trace_cost_prices';";

/// Whether the column holds the costs at `prices`.
pub(crate) fn priced_with(conn: &Connection, prices: &PriceTable) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM meta WHERE key = ? AND value = md5(?)",
        [KEY, &prices.to_toml()],
        |r| r.get(0),
    )
}

/// The cost of a row of `table`'s cost measures (`trace_spend`'s columns) as one SQL
/// expression, with the rates of the names priced there written inline.
pub(crate) fn measures_cost(
    conn: &Connection,
    prices: &PriceTable,
    table: &str,
) -> duckdb::Result<String> {
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT priced_as FROM {table} WHERE priced_as IS NOT NULL"
    ))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<duckdb::Result<Vec<_>>>()?;
    Ok(cost::inline_measures(
        names
            .iter()
            .filter_map(|n| prices.lookup(n).map(|p| (n.as_str(), p))),
    ))
}

/// Prices every trace again at `prices` when the column holds other prices (or none),
/// in one transaction: split traces are joined first, so that each trace has the one
/// row its cost goes to. Returns whether it did.
pub(crate) fn reprice_if_stale(conn: &Connection, prices: &PriceTable) -> duckdb::Result<bool> {
    if priced_with(conn, prices)? {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let cost = measures_cost(conn, prices, "trace_spend")?;
    conn.execute_batch("BEGIN TRANSACTION")?;
    let priced = conn
        .execute_batch(&format!(
            "{merge}
             UPDATE traces SET cost_usd = 0;
             UPDATE traces t SET cost_usd = k.cost_usd
             FROM (SELECT trace_id, sum({cost}) AS cost_usd FROM trace_spend GROUP BY trace_id) k
             WHERE t.trace_id = k.trace_id;",
            merge = crate::trace_table::MERGE_SPLIT,
        ))
        .and_then(|()| {
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, md5(?))",
                [KEY, &prices.to_toml()],
            )
        });
    match priced {
        Ok(_) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    tracing::info!(
        "priced every trace at the prices in force in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(true)
}
