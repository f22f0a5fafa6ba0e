//! The usage totals of a selection ([`crate::usage`]) from a team's ClickHouse: sums
//! from the minute rollups, the latency sketch from the hour rollups where they
//! answer, the rest (and every time to first token) from the calls extracted from
//! raw spans.

use super::reader::{ClickHouseReader, Selection, boolean, float, text, uint};
use crate::error::StoreError;
use crate::filter::Filter;
use crate::query::cost::{self, CostSums};
use crate::rollup::{self, Sketched};
use crate::usage::{UsageFold, UsageKey, UsageRow, UsageSums};
use serde_json::Value;

impl ClickHouseReader {
    /// Totals per service, model asked for, provider and outcome, with latency and
    /// time-to-first-token distributions.
    pub(super) fn usage(&self, filter: &Filter) -> Result<Vec<UsageRow>, StoreError> {
        let mut fold = UsageFold::default();
        let inner = self.call_rows(filter, None)?;
        let costs = CostSums::column_names()
            .map(|n| format!("toFloat64(sum({n}))"))
            .join(", ");
        let sql = format!(
            "SELECT service, model, provider, is_error, priced_as, sum(calls),
                    sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                    sum(cache_write_tokens), {costs}, sum({unpriced}), toFloat64(sum(duration_ns))
             FROM ({}) GROUP BY service, model, provider, is_error, priced_as",
            inner.sql,
            unpriced = cost::UNPRICED,
        );
        let prices = self.prices.read().expect("price lock").clone();
        for r in self.client().rows(&sql, &inner.params)? {
            let price = prices.lookup(&text(&r[4]).unwrap_or_default());
            let tokens = [float(&r[10]), float(&r[11]), float(&r[12]), float(&r[13])];
            let sums = UsageSums {
                calls: uint(&r[5]),
                tokens: [uint(&r[6]), uint(&r[7]), uint(&r[8]), uint(&r[9])],
                cost_usd: CostSums::from_values(tokens, float(&r[14])).cost(price),
                unpriced_calls: if price.is_none() { uint(&r[15]) } else { 0 },
                duration_ns: float(&r[16]),
            };
            fold.add_sums(key(&r), sums);
        }
        for measure in Sketched::ALL {
            let rows = match measure {
                Sketched::Duration => self.sketch_rows(filter, None)?,
                Sketched::FirstToken => None,
            };
            let rows = match rows {
                Some(rows) => rows,
                None => {
                    let raw = self.calls(
                        filter,
                        &format!(
                            "{}, {} AS measured",
                            rollup::latency_projection(measure),
                            measure.value()
                        ),
                    )?;
                    Selection {
                        sql: format!("SELECT * FROM ({}) WHERE measured IS NOT NULL", raw.sql),
                        params: raw.params,
                    }
                }
            };
            let sql = format!(
                "SELECT service, model, provider, is_error, bucket, sum(calls) FROM ({})
                 GROUP BY service, model, provider, is_error, bucket",
                rows.sql
            );
            for r in self.client().rows(&sql, &rows.params)? {
                let bucket = r[4].as_i64().unwrap_or_default() as i16;
                fold.add_bucket(measure, key(&r), bucket, uint(&r[5]));
            }
        }
        Ok(fold.finish())
    }
}

/// The group of a row starting with the key columns.
fn key(r: &[Value]) -> UsageKey {
    UsageKey {
        service: text(&r[0]).unwrap_or_default(),
        model: text(&r[1]).unwrap_or_default(),
        provider: text(&r[2]).filter(|p| !p.is_empty()),
        is_error: boolean(&r[3]),
    }
}
