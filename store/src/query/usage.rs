//! The usage totals of a selection ([`crate::usage`]) from the local database: sums
//! from the minute rollups and sketches from the hour rollups, raw calls at the edges.

use super::cost::{self, CostSums};
use super::{Reader, params};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::rollup::Sketched;
use crate::usage::{UsageFold, UsageKey, UsageRow, UsageSums};

impl Reader {
    /// Totals per service, model asked for, provider and outcome, with latency and
    /// time-to-first-token distributions.
    pub fn usage(&mut self, filter: &Filter) -> Result<Vec<UsageRow>, StoreError> {
        Self::check(filter)?;
        let mut fold = UsageFold::default();
        let rows = self.call_rows(filter, None)?;
        let sql = format!(
            "SELECT service, model, priced_as, provider, is_error,
                    sum(calls)::UBIGINT AS calls,
                    sum(input_tokens)::UBIGINT AS input_tokens,
                    sum(output_tokens)::UBIGINT AS output_tokens,
                    sum(cache_read_tokens)::UBIGINT AS cache_read_tokens,
                    sum(cache_write_tokens)::UBIGINT AS cache_write_tokens,
                    {cost_sums},
                    sum({unpriced})::UBIGINT AS {unpriced},
                    sum(duration_ns)::DOUBLE AS duration_ns
             FROM ({}) GROUP BY ALL",
            rows.sql,
            cost_sums = cost::sums_sql(),
            unpriced = cost::UNPRICED,
        );
        let prices = self.prices.read().expect("price lock").clone();
        let mut stmt = self.conn.prepare(&sql)?;
        let mut result = stmt.query(params(&rows, []))?;
        while let Some(r) = result.next()? {
            let price = prices.lookup(&r.get::<_, String>("priced_as")?);
            let sums = UsageSums {
                calls: r.get("calls")?,
                tokens: [
                    r.get("input_tokens")?,
                    r.get("output_tokens")?,
                    r.get("cache_read_tokens")?,
                    r.get("cache_write_tokens")?,
                ],
                cost_usd: CostSums::read(r)?.cost(price),
                unpriced_calls: if price.is_none() {
                    r.get(cost::UNPRICED)?
                } else {
                    0
                },
                duration_ns: r.get("duration_ns")?,
            };
            fold.add_sums(key(r)?, sums);
        }
        for measure in Sketched::ALL {
            if let Sketched::FirstToken = measure
                && !self.has_timing()
            {
                continue;
            }
            let (rows, _) = self.sketch_rows(filter, None, measure)?;
            let sql = format!(
                "SELECT service, model, provider, is_error, bucket, sum(calls)::UBIGINT AS n
                 FROM ({}) GROUP BY ALL",
                rows.sql
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let mut result = stmt.query(params(&rows, []))?;
            while let Some(r) = result.next()? {
                fold.add_bucket(measure, key(r)?, r.get("bucket")?, r.get("n")?);
            }
        }
        Ok(fold.finish())
    }
}

/// The group of a row with the key columns.
fn key(r: &duckdb::Row<'_>) -> duckdb::Result<UsageKey> {
    Ok(UsageKey {
        service: r.get::<_, Option<String>>("service")?.unwrap_or_default(),
        model: r.get("model")?,
        provider: r.get("provider")?,
        is_error: r.get("is_error")?,
    })
}
