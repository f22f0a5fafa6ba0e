//! The rows of a selection that do not travel with its spans, for a snapshot: the log
//! records of its traces, every evaluation, annotation and feedback about its calls
//! (whatever trace the judge's own span was in), and the metric points of its range.
//! Read from the source as they are stored, added to the snapshot as they were, and the
//! snapshot's evaluation hours summed again from them.

use crate::error::StoreError;
use crate::open::Store;
use crate::query::Reader;
use duckdb::types::Value;

/// Ids inlined per statement.
const IDS_PER_QUERY: usize = 1000;

/// The tables copied, and what selects their rows.
const TABLES: [&str; 3] = ["logs", "evaluations", "metric_points"];

/// Rows read from one database for another, table by table, every column as stored.
#[derive(Debug, Default)]
pub struct SideRows {
    tables: Vec<(&'static str, Vec<Vec<Value>>)>,
}

impl SideRows {
    /// How many rows of `table` (`logs`, `evaluations`, `metric_points`) it holds.
    pub fn count(&self, table: &str) -> usize {
        self.tables
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, rows)| rows.len())
            .sum()
    }
}

impl Reader {
    /// The side rows of the traces `trace_ids`, and the metric points in `window` (Unix
    /// ns; every one without).
    pub fn side_rows(
        &mut self,
        trace_ids: &[u128],
        window: Option<(i64, i64)>,
    ) -> Result<SideRows, StoreError> {
        let mut rows = SideRows::default();
        for chunk in trace_ids.chunks(IDS_PER_QUERY) {
            let ids = crate::ids::trace_id_list(chunk);
            for table in &TABLES[..2] {
                let got =
                    self.select(&format!("SELECT * FROM {table} WHERE trace_id IN ({ids})"))?;
                rows.tables.push((table, got));
            }
        }
        let range = match window {
            Some((a, b)) => format!("WHERE time_ns >= {a} AND time_ns < {b}"),
            None => String::new(),
        };
        let points = self.select(&format!("SELECT * FROM metric_points {range}"))?;
        rows.tables.push(("metric_points", points));
        Ok(rows)
    }

    fn select(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, StoreError> {
        let mut stmt = self.conn.prepare(sql)?;
        let mut out = Vec::new();
        let mut result = stmt.query([])?;
        while let Some(row) = result.next()? {
            let n = row.as_ref().column_count();
            out.push(
                (0..n)
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(out)
    }
}

impl Store {
    /// Adds `rows` to this database (a snapshot just written): the evaluations it made
    /// of its spans give way to the source's, which hold every result about them; then
    /// the evaluation hours are summed again. One transaction.
    pub fn add_side_rows(&self, rows: &SideRows) -> Result<(), StoreError> {
        let conn = self.connection()?;
        conn.execute_batch("BEGIN TRANSACTION; DELETE FROM evaluations;")?;
        let result = (|| -> Result<(), StoreError> {
            for (table, table_rows) in &rows.tables {
                let mut app = conn.appender(table)?;
                for row in table_rows {
                    app.append_row(duckdb::appender_params_from_iter(row))?;
                }
                app.flush()?;
            }
            conn.execute_batch(&format!(
                "DELETE FROM eval_hours; INSERT INTO eval_hours {};",
                crate::evaluations::eval_hours_where("TRUE")
            ))?;
            Ok(())
        })();
        match result {
            Ok(()) => Ok(conn.execute_batch("COMMIT")?),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}
