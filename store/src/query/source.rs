//! Where a query over calls reads its rows: the rollups (`crate::rollup`) for the
//! whole minutes — whole hours, for latency sketches — inside the selection's range
//! when every condition of its filter is a rollup dimension, raw calls for the partial
//! ones at the range's edges and for every other selection. Both come in the shape of
//! the rollups' per-call projections, so the queries over them are written once.

use super::Reader;
use super::filter_sql::Where;
use crate::error::StoreError;
use crate::filter::Filter;
use crate::rollup::{self, HOUR_NS, MINUTE_NS, Sketched, whole_units};
use duckdb::types::Value;

/// One latency sketch: `(bucket, calls)` pairs in bucket order.
pub(super) type Sketch = Vec<(i16, i64)>;

/// A selection's range split for an hourly rollup kept beside raw rows (agents, tools,
/// evaluations): the rollup rows of its whole hours, and the raw rows of the partial
/// hours at its edges.
pub(super) struct HourSplit {
    /// Conditions on a rollup row's `hour_ns` (and `service`, when asked for).
    pub(super) hours: String,
    /// Their parameters.
    pub(super) params: Vec<Value>,
    /// A condition on a raw row's start selecting the partial hours; none when the
    /// range has none (unbounded, or on whole hours).
    pub(super) edges: Option<String>,
}

/// Conditions on a start column (and a service column) selecting a filter's time range
/// (and services), with their parameters.
pub(super) fn time_and_service(
    filter: &Filter,
    start: &str,
    service: Option<&str>,
) -> (String, Vec<Value>) {
    let mut conditions = vec!["TRUE".to_string()];
    let mut params = Vec::new();
    if let Some(from) = filter.from_ns {
        conditions.push(format!("{start} >= ?"));
        params.push(Value::BigInt(from));
    }
    if let Some(to) = filter.to_ns {
        conditions.push(format!("{start} < ?"));
        params.push(Value::BigInt(to));
    }
    if let Some(service) = service
        && !filter.services.is_empty()
    {
        conditions.push(format!(
            "{service} IN ({})",
            vec!["?"; filter.services.len()].join(", ")
        ));
        params.extend(filter.services.iter().map(|s| Value::Text(s.clone())));
    }
    (conditions.join(" AND "), params)
}

impl Reader {
    /// The whole `unit`s (minutes, hours) of the filter's range that rollups of that
    /// grain may answer, as bounds: `None` unless the file has rollups, they are not
    /// turned off, every condition is a dimension, the time buckets the caller groups
    /// by (`bucket_ns`) are whole units, and the range holds one.
    fn rolled_up_range(
        &self,
        filter: &Filter,
        bucket_ns: Option<i64>,
        unit: i64,
    ) -> Option<(Option<i64>, Option<i64>)> {
        let usable = self.use_rollups
            && self.schema_version >= 6
            && filter.on_dimensions_only()
            && bucket_ns.is_none_or(|b| b % unit == 0);
        whole_units(filter, unit).filter(|_| usable)
    }

    /// The filter's range split at whole hours (see [`HourSplit`]), raw rows starting
    /// at `start`; with `services`, the rollup keeps a `service` column the filter's
    /// services select. `None` when rollups are turned off or the range holds no whole
    /// hour: raw rows answer alone.
    pub(super) fn hour_split(
        &self,
        filter: &Filter,
        start: &str,
        services: bool,
    ) -> Option<HourSplit> {
        let (lo, hi) = whole_units(filter, HOUR_NS).filter(|_| self.use_rollups)?;
        let whole = Filter {
            from_ns: lo,
            to_ns: hi,
            ..filter.clone()
        };
        let (hours, params) = time_and_service(&whole, "hour_ns", services.then_some("service"));
        let edges: Vec<String> = [
            lo.map(|lo| format!("{start} < {lo}")),
            hi.map(|hi| format!("{start} >= {hi}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        Some(HourSplit {
            hours,
            params,
            edges: (!edges.is_empty()).then(|| format!("({})", edges.join(" OR "))),
        })
    }

    /// Whether [`Reader::call_rows`] would read minute rollups for this selection.
    pub(super) fn rollups_answer(&self, filter: &Filter) -> bool {
        self.rolled_up_range(filter, None, MINUTE_NS).is_some()
    }

    /// Whether [`Reader::sketch_rows`] would read hour rollups for this selection.
    pub(super) fn sketches_answer(&self, filter: &Filter, bucket_ns: Option<i64>) -> bool {
        self.rolled_up_range(filter, bucket_ns, HOUR_NS).is_some()
    }

    /// The selected calls, as a relation (for `FROM (…)`) of [`rollup::call_projection`]'s columns (`t`, the
    /// dimensions, the measures; many calls to a row where rolled up). `bucket_ns`:
    /// the time buckets the caller groups `t` into; minutes serve only buckets of
    /// whole minutes.
    pub(super) fn call_rows(
        &mut self,
        filter: &Filter,
        bucket_ns: Option<i64>,
    ) -> Result<Where, StoreError> {
        let whole = self.rolled_up_range(filter, bucket_ns, MINUTE_NS);
        self.rows(
            filter,
            whole,
            "call_minutes",
            "minute_ns",
            &rollup::call_columns(),
            &rollup::call_projection(),
            "TRUE",
        )
    }

    /// The selected calls that have `measure` as sketch rows of it (`t`, the
    /// dimensions, `bucket`, `calls`): from its hour rollup for the whole hours of the
    /// range when they can answer and the buckets (`bucket_ns`, as for
    /// [`Reader::call_rows`]) are whole hours, raw calls elsewhere. Also says whether
    /// any rollup is read.
    pub(super) fn sketch_rows(
        &mut self,
        filter: &Filter,
        bucket_ns: Option<i64>,
        measure: Sketched,
    ) -> Result<(Where, bool), StoreError> {
        let whole = self.rolled_up_range(filter, bucket_ns, HOUR_NS);
        let rows = self.rows(
            filter,
            whole,
            measure.table(),
            "hour_ns",
            &rollup::latency_columns(),
            &rollup::latency_projection(measure),
            measure.has_value(),
        )?;
        Ok((rows, whole.is_some()))
    }

    /// [`Reader::sketch_rows`] of the calls' duration when they read rollups and the
    /// selection holds more than [`Reader::exact_percentiles_up_to`] `calls`; `None`
    /// otherwise (exact percentiles from raw calls are then as cheap, or the only
    /// answer).
    pub(super) fn latency_rows(
        &mut self,
        filter: &Filter,
        bucket_ns: Option<i64>,
        calls: u64,
    ) -> Result<Option<Where>, StoreError> {
        if calls <= self.exact_percentiles_up_to {
            return Ok(None);
        }
        let (rows, rolled_up) = self.sketch_rows(filter, bucket_ns, Sketched::Duration)?;
        Ok(rolled_up.then_some(rows))
    }

    /// The latency sketches of `rows` (from [`Reader::sketch_rows`]) per value of
    /// `key` (an SQL expression over them, e.g. `model`), keys in order, each with its
    /// `(bucket, calls)` pairs in bucket order. `params` go before the rows' own.
    pub(super) fn sketches_by<K: duckdb::types::FromSql + PartialEq>(
        &self,
        key: &str,
        params: Vec<Value>,
        rows: Where,
    ) -> Result<Vec<(K, Sketch)>, StoreError> {
        let sql = format!(
            "SELECT {key} AS key, bucket, sum(calls)::BIGINT AS n FROM ({})
             GROUP BY 1, 2 ORDER BY 1, 2",
            rows.sql
        );
        let mut all = params;
        all.extend(rows.params);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(duckdb::params_from_iter(all))?;
        let mut sketches: Vec<(K, Sketch)> = Vec::new();
        while let Some(r) = result.next()? {
            let key: K = r.get("key")?;
            let bucket = (r.get("bucket")?, r.get("n")?);
            match sketches.last_mut() {
                Some((k, b)) if *k == key => b.push(bucket),
                _ => sketches.push((key, vec![bucket])),
            }
        }
        Ok(sketches)
    }

    /// Rollup rows of `table` for the whole units `whole` of the range, and raw calls
    /// (as `projection`, those meeting `raw_condition`) for the rest of the selection.
    #[allow(clippy::too_many_arguments)]
    fn rows(
        &mut self,
        filter: &Filter,
        whole: Option<(Option<i64>, Option<i64>)>,
        table: &str,
        unit_column: &str,
        columns: &str,
        projection: &str,
        raw_condition: &str,
    ) -> Result<Where, StoreError> {
        let mut raw = self.calls_where(filter)?;
        raw.sql = format!("{} AND {raw_condition}", raw.sql);
        let Some((lo, hi)) = whole else {
            return Ok(Where {
                sql: format!("SELECT {projection} FROM llm_calls c WHERE {}", raw.sql),
                params: raw.params,
            });
        };
        let mut relation = filter.dimensions_where();
        relation.sql = format!("SELECT {columns} FROM {table} WHERE {}", relation.sql);
        let mut edges = Vec::new();
        if let Some(lo) = lo {
            relation.sql.push_str(&format!(" AND {unit_column} >= ?"));
            relation.params.push(Value::BigInt(lo));
            edges.push("c.start_ns < ?");
            raw.params.push(Value::BigInt(lo));
        }
        if let Some(hi) = hi {
            relation.sql.push_str(&format!(" AND {unit_column} < ?"));
            relation.params.push(Value::BigInt(hi));
            edges.push("c.start_ns >= ?");
            raw.params.push(Value::BigInt(hi));
        }
        if !edges.is_empty() {
            relation.sql.push_str(&format!(
                " UNION ALL BY NAME SELECT {projection} FROM llm_calls c WHERE {} AND ({})",
                raw.sql,
                edges.join(" OR ")
            ));
            relation.params.extend(raw.params);
        }
        Ok(relation)
    }
}
