//! Where a ClickHouse query over calls reads its rows, as the local one does
//! (`crate::query::source`): the rollup tables ([`super::rollups`]) for the whole
//! minutes — whole hours, for latency sketches — of the range when every condition is
//! a rollup dimension, the calls extracted from raw spans for the partial units at
//! the range's edges and for every other selection. Both come in the shape of the
//! rollups' per-call projections, in the same column order (ClickHouse unites by
//! position), so the queries over them are written once.

use super::filter_sql;
use super::http::Param;
use super::reader::{ClickHouseReader, Selection};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::rollup::{self, HOUR_NS, MINUTE_NS, whole_units};
use serde_json::Value;

/// One latency sketch: `(bucket, calls)` pairs in bucket order.
pub(super) type Sketch = Vec<(i16, i64)>;

/// A rollup table and the whole units of a range it answers for (bounds; `None`:
/// unbounded).
type RolledUp = (String, (Option<i64>, Option<i64>));

impl ClickHouseReader {
    /// The whole `unit`s of the filter's range that a rollup table of that grain may
    /// answer, with the table: `None` unless the rollups exist and are on, every
    /// condition is a dimension, the caller's time buckets (`bucket_ns`) are whole
    /// units, and the range holds one.
    fn rolled_up(&self, filter: &Filter, bucket_ns: Option<i64>, unit: i64) -> Option<RolledUp> {
        let rollups = self.rollups()?;
        let usable = filter.on_dimensions_only() && bucket_ns.is_none_or(|b| b % unit == 0);
        let table = if unit == HOUR_NS {
            &rollups.latency
        } else {
            &rollups.minutes
        };
        whole_units(filter, unit)
            .filter(|_| usable)
            .map(|w| (table.clone(), w))
    }

    /// Whether [`ClickHouseReader::sketch_rows`] reads hour rollups for this selection.
    pub(super) fn sketches_answer(&self, filter: &Filter, bucket_ns: Option<i64>) -> bool {
        self.rolled_up(filter, bucket_ns, HOUR_NS).is_some()
    }

    /// The selected calls as rows of [`rollup::call_projection`]'s columns (`t`, the
    /// dimensions, the measures; many calls to a row where rolled up). `bucket_ns`:
    /// the time buckets the caller groups `t` into.
    pub(super) fn call_rows(
        &self,
        filter: &Filter,
        bucket_ns: Option<i64>,
    ) -> Result<Selection, StoreError> {
        let whole = self.rolled_up(filter, bucket_ns, MINUTE_NS);
        self.rolled_or_raw(
            filter,
            whole,
            "minute_ns",
            &rollup::call_columns(),
            &rollup::call_projection(),
        )
    }

    /// The selected calls as sketch rows (`t`, the latency dimensions, `bucket`,
    /// `calls`) when the hour rollups answer for the range (`None` otherwise: exact
    /// percentiles from the calls are then the answer).
    pub(super) fn sketch_rows(
        &self,
        filter: &Filter,
        bucket_ns: Option<i64>,
    ) -> Result<Option<Selection>, StoreError> {
        let Some(whole) = self.rolled_up(filter, bucket_ns, HOUR_NS) else {
            return Ok(None);
        };
        self.rolled_or_raw(
            filter,
            Some(whole),
            "hour_ns",
            &rollup::latency_columns(),
            &rollup::latency_projection(rollup::Sketched::Duration),
        )
        .map(Some)
    }

    /// The latency sketches of `rows` per value of `key` (an SQL expression over
    /// them), keys in order, each with its buckets in order.
    pub(super) fn sketches_by(
        &self,
        key: &str,
        rows: Selection,
    ) -> Result<Vec<(Value, Sketch)>, StoreError> {
        let sql = format!(
            "SELECT {key} AS key, bucket, sum(calls) FROM ({}) GROUP BY key, bucket
             ORDER BY key, bucket",
            rows.sql
        );
        let mut sketches: Vec<(Value, Sketch)> = Vec::new();
        for r in self.client().rows(&sql, &rows.params)? {
            let bucket = (
                r[1].as_i64().unwrap_or_default() as i16,
                r[2].as_i64().unwrap_or_default(),
            );
            match sketches.last_mut() {
                Some((k, b)) if *k == r[0] => b.push(bucket),
                _ => sketches.push((r[0].clone(), vec![bucket])),
            }
        }
        Ok(sketches)
    }

    /// Rows of the rollup table for the whole units of `whole`, and the extracted
    /// calls (as `projection`) for the rest of the selection; only the calls when
    /// `whole` is `None`.
    fn rolled_or_raw(
        &self,
        filter: &Filter,
        whole: Option<RolledUp>,
        unit_column: &str,
        columns: &str,
        projection: &str,
    ) -> Result<Selection, StoreError> {
        let raw = self.calls(filter, projection)?;
        let Some((table, (lo, hi))) = whole else {
            return Ok(raw);
        };
        let mut params = raw.params;
        let mut sql = format!(
            "SELECT {columns} FROM {table} WHERE {}",
            filter_sql::dimensions_where(filter, &mut params)
        );
        let mut edges = Vec::new();
        if let Some(lo) = lo {
            let p = params.push(Param::Int(lo));
            sql.push_str(&format!(" AND {unit_column} >= {p}"));
            edges.push(format!("c.start_ns < {p}"));
        }
        if let Some(hi) = hi {
            let p = params.push(Param::Int(hi));
            sql.push_str(&format!(" AND {unit_column} < {p}"));
            edges.push(format!("c.start_ns >= {p}"));
        }
        if !edges.is_empty() {
            sql.push_str(&format!(
                " UNION ALL {} AND ({})",
                raw.sql,
                edges.join(" OR ")
            ));
        }
        Ok(Selection { sql, params })
    }
}
