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
use duckdb::Connection;

/// The `meta` key of the price table the column was priced with.
const KEY: &str = "trace_cost_prices";

/// Forgets which prices the column holds (retention summed rows again without cost).
pub(crate) const FORGET: &str = "DELETE FROM meta WHERE key = 'trace_cost_prices';";

/// Whether the column holds the costs at `prices`.
pub(crate) fn priced_with(conn: &Connection, prices: &PriceTable) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM meta WHERE key = ? AND value = md5(?)",
        [KEY, &prices.to_toml()],
        |r| r.get(0),
    )
}

/// Prices every trace again at `prices` when the column holds other prices (or none),
/// in one transaction, after joining split traces (`trace_table::merge_split`).
/// Returns whether it did.
pub(crate) fn reprice_if_stale(conn: &Connection, prices: &PriceTable) -> duckdb::Result<bool> {
    if priced_with(conn, prices)? {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    // Each trace's cost goes to its one row.
    crate::trace_table::merge_split(conn)?;
    let cost = crate::trace_table::spend_cost(conn, prices, "trace_spend")?;
    conn.execute_batch("BEGIN TRANSACTION")?;
    let priced = conn
        .execute_batch(&format!(
            "UPDATE traces SET cost_usd = 0;
             UPDATE traces t SET cost_usd = k.cost_usd
             FROM (SELECT trace_id, sum({cost}) AS cost_usd FROM trace_spend GROUP BY trace_id) k
             WHERE t.trace_id = k.trace_id;"
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
