//! End-to-end tests: the `llm-observatory` binary run as a user runs it, on real
//! files, against real database files.

mod agent_framework;
mod alerts;
mod annotations;
mod anomalies;
mod architecture;
mod bad_inputs;
mod clickhouse;
#[path = "../support/clickhouse_front.rs"]
mod clickhouse_front;
mod collector;
mod digest;
mod evaluations;
mod export;
mod faults;
mod fixtures;
mod hostile;
mod hostile_live;
mod live_clients;
mod live_logs;
mod live_metrics;
mod live_robustness;
mod prometheus;
mod query_api;
mod reports;
mod snapshots;
mod util;
#[path = "../support/webhook_sink.rs"]
mod webhook_sink;
