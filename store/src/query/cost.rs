//! What a call costs, defined once. A call's tokens fall in four classes, each priced
//! at its own rate ([`Price::rates`]): input neither read from nor written to the prompt
//! cache, cache reads, cache writes (both already inside the input tokens), and output.
//! A cost the client reported wins over the price table. Three paths price calls: per
//! call in SQL against the joined price table `p` (lists, traces, exports), per call in
//! SQL with the prices written inline (cost conditions of a filter), and per group in
//! Rust from the classes' sums (summaries, per model, series: cost is linear in tokens,
//! so pricing a group's sums equals summing its priced calls; the rollups keep those
//! sums, so history reprices when a price changes). All three are built here.

use crate::prices::Price;

/// The name a call is priced by: the most specific one, the served snapshot
/// (`gpt-4o-2024-05-13` may cost more than `gpt-4o`), else the model asked for.
pub(crate) const PRICED_AS: &str = "coalesce(c.response_model, c.model)";

/// Joins the price table `p` (see `Reader::prices_cte`) to `llm_calls c`.
pub(super) fn join_prices() -> String {
    format!("LEFT JOIN p ON p.model = {PRICED_AS}")
}

/// The token classes of a call of `llm_calls c`, in the order of [`Price::rates`].
const CLASSES: [&str; 4] = [
    "greatest(coalesce(c.input_tokens, 0) - coalesce(c.cache_read_tokens, 0) - coalesce(c.cache_write_tokens, 0), 0)",
    "coalesce(c.cache_read_tokens, 0)",
    "coalesce(c.cache_write_tokens, 0)",
    "coalesce(c.output_tokens, 0)",
];

/// The names of the classes' sums in [`sums_sql`].
const SUM_NAMES: [&str; 4] = [
    "priced_plain_input",
    "priced_cache_read",
    "priced_cache_write",
    "priced_output",
];

/// The name of the reported costs' sum in [`sums_sql`].
const REPORTED_SUM: &str = "reported_cost_sum";

/// The classes times `rates` (SQL expressions, USD per million tokens), in USD.
fn priced(rates: [String; 4]) -> String {
    let terms: Vec<String> = CLASSES
        .iter()
        .zip(rates)
        .map(|(class, rate)| format!("{class} * {rate}"))
        .collect();
    format!("(({}) / 1e6)", terms.join(" + "))
}

/// A call's cost with the price table joined as `p` (columns `p_in`, `p_cr`, `p_cw`,
/// `p_out`, as [`Price::rates`] gives them); NULL when its model has no price.
pub(super) fn joined() -> String {
    let rates = ["p.p_in", "p.p_cr", "p.p_cw", "p.p_out"].map(String::from);
    format!("coalesce(c.reported_cost, {})", priced(rates))
}

/// A call's cost with each priced model's rates written inline (no join); NULL when
/// its model has no price.
pub(crate) fn inline<'a>(prices: impl Iterator<Item = (&'a str, Price)>) -> String {
    let arms: Vec<String> = prices
        .map(|(model, price)| {
            let rates = price.rates().map(|r| format!("{r:?}"));
            format!("WHEN {} THEN {}", super::sql_string(model), priced(rates))
        })
        .collect();
    if arms.is_empty() {
        "c.reported_cost".into()
    } else {
        format!(
            "coalesce(c.reported_cost, CASE {PRICED_AS} {} END)",
            arms.join(" ")
        )
    }
}

/// The cost of a row of [`per_call_columns`]' measures (or their sums) and its
/// `priced_as`, each priced name's rates written inline: its reported costs plus its
/// token classes at its name's rates (nothing for a name without a price).
pub(crate) fn inline_measures<'a>(prices: impl Iterator<Item = (&'a str, Price)>) -> String {
    let arms: Vec<String> = prices
        .map(|(model, price)| {
            let terms: Vec<String> = SUM_NAMES
                .iter()
                .zip(price.rates())
                .map(|(class, rate)| format!("{class} * {rate:?}"))
                .collect();
            format!(
                "WHEN {} THEN ({}) / 1e6",
                super::sql_string(model),
                terms.join(" + ")
            )
        })
        .collect();
    if arms.is_empty() {
        REPORTED_SUM.to_string()
    } else {
        format!(
            "({REPORTED_SUM} + CASE priced_as {} ELSE 0 END)",
            arms.join(" ")
        )
    }
}

/// A call's priced token classes and reported cost as columns of one row each (the
/// token classes count only when no cost was reported), plus whether the call would be
/// unpriced without a price for its name: the cost measures of [`crate::rollup`]'s
/// per-call projection, which rollups and raw rows both sum.
pub(crate) fn per_call_columns() -> String {
    let mut columns: Vec<String> = CLASSES
        .iter()
        .zip(SUM_NAMES)
        .map(|(class, name)| {
            format!("CASE WHEN c.reported_cost IS NULL THEN {class} ELSE 0 END::DOUBLE AS {name}")
        })
        .collect();
    columns.push(format!(
        "coalesce(c.reported_cost, 0)::DOUBLE AS {REPORTED_SUM}"
    ));
    columns.push(format!(
        "(c.reported_cost IS NULL AND coalesce(c.input_tokens, 0) + coalesce(c.output_tokens, 0) > 0)::BIGINT AS {UNPRICED}"
    ));
    columns.join(", ")
}

/// The names of [`per_call_columns`], each summed when rows are grouped.
pub(crate) fn measure_names() -> impl Iterator<Item = &'static str> {
    SUM_NAMES.into_iter().chain([REPORTED_SUM, UNPRICED])
}

/// The name of the count of calls without a reported cost that have tokens.
pub(crate) const UNPRICED: &str = "would_be_unpriced";

/// Aggregate columns from which a group of rows with [`per_call_columns`] is priced by
/// [`CostSums`]. The group must be one price: group by `priced_as` too.
pub(crate) fn sums_sql() -> String {
    SUM_NAMES
        .into_iter()
        .chain([REPORTED_SUM])
        .map(|name| format!("coalesce(sum({name}), 0)::DOUBLE AS {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The [`sums_sql`] columns of one group.
pub(crate) struct CostSums {
    tokens: [f64; 4],
    reported: f64,
}

impl CostSums {
    /// The sums of the four token classes (in [`sums_sql`]'s order) and of the
    /// reported costs, as another backend read them.
    #[cfg(feature = "clickhouse")]
    pub(crate) fn from_values(tokens: [f64; 4], reported: f64) -> Self {
        CostSums { tokens, reported }
    }

    /// The names of [`sums_sql`]'s columns, in order: the four token classes, then
    /// the reported costs.
    #[cfg(feature = "clickhouse")]
    pub(crate) fn column_names() -> [&'static str; 5] {
        [
            SUM_NAMES[0],
            SUM_NAMES[1],
            SUM_NAMES[2],
            SUM_NAMES[3],
            REPORTED_SUM,
        ]
    }

    /// Reads the columns by name.
    pub(super) fn read(r: &duckdb::Row<'_>) -> duckdb::Result<Self> {
        let mut tokens = [0.0; 4];
        for (t, name) in tokens.iter_mut().zip(SUM_NAMES) {
            *t = r.get(name)?;
        }
        Ok(CostSums {
            tokens,
            reported: r.get(REPORTED_SUM)?,
        })
    }

    /// Reported costs plus the tokens priced at `price` (nothing for them without one).
    pub(crate) fn cost(&self, price: Option<Price>) -> f64 {
        let priced = price.map_or(0.0, |p| {
            self.tokens
                .iter()
                .zip(p.rates())
                .map(|(t, r)| t * r)
                .sum::<f64>()
                / 1e6
        });
        self.reported + priced
    }
}

/// A call's cost computed in Rust from its fields, for calls read whole rather than
/// summed (a ClickHouse trace or page): the classes of [`CLASSES`] at `price`'s rates,
/// a reported cost winning; `None` without either.
#[cfg(feature = "clickhouse")]
pub(crate) fn call_cost(call: &crate::row::LlmCall, price: Option<Price>) -> Option<f64> {
    if let Some(reported) = call.reported_cost_usd {
        return Some(reported);
    }
    let price = price?;
    let cache_read = call.cache_read_tokens.unwrap_or(0);
    let cache_write = call.cache_write_tokens.unwrap_or(0);
    let classes = [
        (call.input_tokens.unwrap_or(0) - cache_read - cache_write).max(0),
        cache_read,
        cache_write,
        call.output_tokens.unwrap_or(0),
    ];
    Some(
        classes
            .iter()
            .zip(price.rates())
            .map(|(t, r)| *t as f64 * r)
            .sum::<f64>()
            / 1e6,
    )
}
