//! A team's ClickHouse as a [`Database`]: the OpenTelemetry Collector's traces table
//! (`otel_traces`, as its `clickhouseexporter` writes it) read with every query of the
//! app, and written by `serve --clickhouse` and `import --clickhouse` in the same
//! layout. Nothing is kept locally but the price table.

mod agents;
mod alerts;
mod endpoint;
mod evaluations;
mod extract;
mod filter_sql;
mod http;
mod metrics;
mod raw;
mod reader;
mod rollups;
mod rows;
mod sessions;
mod signals;
mod source;
mod usage;

pub use endpoint::{
    Compression, Endpoint, PASSWORD_VARIABLE, is_clickhouse_url, redact, without_password,
};
pub use reader::ClickHouseReader;
pub use rollups::{Initialized, Rollups};

use crate::backend::{AlertLog, Database, Queries};
use crate::collector_signals::{CollectorLog, CollectorMetricPoint};
use crate::collector_span::{CollectorSpan, Normalizer};
use crate::error::{ClickHouseError, StoreError};
use crate::output::{OutputFile, Replace};
use crate::prices::PriceTable;
use http::{Client, Params};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The exporter's DDL for the traces table and its trace-id lookup (see the file).
const EXPORTER_DDL: &str = include_str!("exporter_ddl.sql");

/// How often a ClickHouse's data version moves: its data changes without telling us,
/// so views ask again this often while they are shown.
const REFRESH: Duration = Duration::from_secs(5);

/// One ClickHouse database holding the Collector's tables.
pub struct ClickHouse {
    client: Client,
    prices: Arc<RwLock<PriceTable>>,
    opened: Instant,
    /// Bumped when the prices change, so that cached costs are asked again.
    bumps: Arc<std::sync::atomic::AtomicU64>,
    server_version: String,
    normalize: Normalizer,
    /// The rollup tables, when `clickhouse init` made them (looked up on connecting).
    rollups: Option<Rollups>,
}

impl ClickHouse {
    /// Connects: checks that the server answers, the user may sign in, the database
    /// exists and (unless `allow_missing_table`, for a writer about to create it) the
    /// traces table is there. `normalize` reads a raw span as the local database would
    /// have stored it (`ingest::collector::normalize_collector_span`).
    pub fn connect(
        endpoint: Endpoint,
        allow_missing_table: bool,
        normalize: Normalizer,
    ) -> Result<ClickHouse, StoreError> {
        let client = Client::new(endpoint);
        // A writer about to create the database asks in `default`, which always exists.
        let asking = if allow_missing_table {
            client.with_database("default")
        } else {
            client.clone()
        };
        let server_version = asking
            .rows("SELECT version()", &Params::default())?
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        let mut ch = ClickHouse {
            client,
            prices: Arc::new(RwLock::new(PriceTable::default())),
            opened: Instant::now(),
            bumps: Arc::default(),
            server_version,
            normalize,
            rollups: None,
        };
        if !allow_missing_table {
            ch.check_table()?;
            ch.rollups = rollups::find(&ch.client)?;
        }
        Ok(ch)
    }

    fn check_table(&self) -> Result<(), StoreError> {
        let e = self.client.endpoint();
        let mut p = Params::default();
        let sql = format!(
            "SELECT count() FROM system.tables WHERE database = {} AND name = {}",
            p.text(&e.database),
            p.text(&e.traces_table)
        );
        let rows = self.client.rows(&sql, &p)?;
        if rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_u64())
            == Some(0)
        {
            return Err(ClickHouseError::MissingTable {
                database: e.database.clone(),
                table: e.traces_table.clone(),
            }
            .into());
        }
        Ok(())
    }

    /// Creates the database, the traces table and its trace-id lookup, and the log and
    /// metric tables, with the exporter's own DDL, where missing (`serve --create-tables`, `clickhouse init`);
    /// a traces table created here gets its rollups too (it has no history to wait
    /// for). Returns whether the traces table was created.
    pub fn create_tables(&mut self) -> Result<bool, StoreError> {
        let e = self.client.endpoint();
        // Without the database the requests that name it fail: create it from `default`.
        let bootstrap = self.client.with_database("default");
        let existed = bootstrap
            .rows(&format!("EXISTS TABLE {}", e.traces()), &Params::default())?
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_u64())
            == Some(1);
        for statement in exporter_statements(&e.database, &e.traces_table) {
            bootstrap.execute(&statement)?;
        }
        for statement in signals::statements(&e.database) {
            bootstrap.execute(&statement)?;
        }
        if existed {
            self.rollups = rollups::find(&self.client)?;
        } else {
            self.init_rollups(Duration::ZERO, false, &mut |_| {})?;
        }
        Ok(!existed)
    }

    /// Creates the rollup tables and their materialized views and summarises the
    /// history into them (`llm-observatory clickhouse init`; see
    /// [`rollups`](Rollups)); `None` when complete rollups were there and not
    /// `rebuild`. Readers made afterwards use them.
    pub fn init_rollups(
        &mut self,
        settle: Duration,
        rebuild: bool,
        progress: &mut dyn FnMut(String),
    ) -> Result<Option<Initialized>, StoreError> {
        let done = rollups::init(&self.client, settle, rebuild, progress)?;
        self.rollups = rollups::find(&self.client)?;
        Ok(done)
    }

    /// The rollup tables readers use, if any.
    pub fn rollups(&self) -> Option<&Rollups> {
        self.rollups.as_ref()
    }

    /// Inserts spans in the exporter's row layout; returns once ClickHouse
    /// acknowledged them.
    pub fn insert_spans(&self, spans: &[CollectorSpan]) -> Result<(), StoreError> {
        if spans.is_empty() {
            return Ok(());
        }
        let data = rows::json_each_row(spans);
        self.client
            .insert(&self.client.endpoint().traces(), "JSONEachRow", &data)?;
        Ok(())
    }

    /// Creates the table keeping the alert history beside the Collector's, where
    /// missing: what `serve --clickhouse` evaluating rules records into (as an
    /// [`AlertLog`]) and `alerts` reads.
    pub fn keep_alert_history(&self) -> Result<(), StoreError> {
        Ok(alerts::create(&self.client)?)
    }

    /// Inserts log records into the Collector's `otel_logs`; returns once ClickHouse
    /// acknowledged them.
    pub fn insert_logs(&self, logs: &[CollectorLog]) -> Result<(), StoreError> {
        Ok(signals::insert_logs(&self.client, logs)?)
    }

    /// Inserts metric points into the Collector's `otel_metrics_*` table of their
    /// kind; returns once ClickHouse acknowledged them.
    pub fn insert_metrics(&self, points: &[CollectorMetricPoint]) -> Result<(), StoreError> {
        Ok(signals::insert_metrics(&self.client, points)?)
    }

    /// Replaces the price table; costs of all history follow at the next query.
    pub fn set_prices(&self, prices: PriceTable) {
        *self.prices.write().expect("price lock") = prices;
        self.bumps.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// The endpoint (without its password when displayed).
    pub fn endpoint(&self) -> &Endpoint {
        self.client.endpoint()
    }

    /// A reader with the concrete type (tests and benchmarks).
    pub fn clickhouse_reader(&self) -> ClickHouseReader {
        let opened = self.opened;
        let bumps = self.bumps.clone();
        ClickHouseReader::new(
            self.client.for_reader(),
            self.prices.clone(),
            Arc::new(move || version(opened, &bumps)),
            self.normalize.clone(),
            self.rollups.clone(),
        )
    }
}

fn version(opened: Instant, bumps: &std::sync::atomic::AtomicU64) -> u64 {
    opened.elapsed().as_secs() / REFRESH.as_secs()
        + bumps.load(std::sync::atomic::Ordering::Acquire)
}

/// The exporter's statements for `database` and `table`, in order.
fn exporter_statements(database: &str, table: &str) -> Vec<String> {
    let text: String = EXPORTER_DDL
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    text.replace("{db}", database)
        .replace("{table}", table)
        .split("\n;\n")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Database for ClickHouse {
    fn reader(&self) -> Result<Box<dyn Queries>, StoreError> {
        Ok(Box::new(self.clickhouse_reader()))
    }

    fn data_version(&self) -> u64 {
        version(self.opened, &self.bumps)
    }

    fn describe(&self) -> String {
        format!(
            "ClickHouse {} at {}",
            self.server_version,
            self.client.endpoint().display()
        )
    }

    fn output(&self, target: &Path, replace: Replace) -> Result<OutputFile, StoreError> {
        OutputFile::create(target, replace, None)
    }

    fn set_prices(&self, prices: PriceTable) {
        ClickHouse::set_prices(self, prices)
    }

    fn prices(&self) -> PriceTable {
        self.prices.read().expect("price lock").clone()
    }
}

impl AlertLog for ClickHouse {
    fn record(&self, events: &[crate::row::AlertEvent]) -> Result<(), StoreError> {
        Ok(alerts::insert(&self.client, events)?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exporter_ddl_splits_into_its_four_statements() {
        let s = super::exporter_statements("otel", "otel_traces");
        assert_eq!(s.len(), 4);
        assert!(s[1].starts_with("CREATE TABLE IF NOT EXISTS otel.otel_traces ("));
        assert!(s[3].contains("TO otel.otel_traces_trace_id_ts"));
    }
}
