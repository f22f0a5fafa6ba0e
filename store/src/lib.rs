//! The store of LLM Observatory: the only crate that talks to DuckDB.
//!
//! A [`Store`] opens (or creates and migrates) one database file. One [`Writer`] thread
//! appends batches and commits each group of them once, telling every submitter when its
//! rows are durable; [`Reader`]s, one per thread, answer typed queries over a
//! [`Filter`]. The data version ([`Store::data_version`]) moves after every commit so
//! that caches know when to ask again.
//!
//! Without its default `duckdb` feature the crate is the data model alone (rows,
//! filters, prices, alert rules, writing files for the user), for code that must not
//! compile DuckDB.

pub mod alert_rules;
pub mod anomaly;
#[cfg(feature = "duckdb")]
mod backend;
#[cfg(feature = "clickhouse")]
pub mod clickhouse;
mod collector_signals;
mod collector_span;
pub mod conventions;
pub mod conversation;
#[cfg(feature = "duckdb")]
mod duckdb_file;
mod error;
#[cfg(feature = "duckdb")]
mod evaluations;
mod filter;
mod ids;
#[cfg(feature = "duckdb")]
mod open;
mod output;
#[cfg(feature = "duckdb")]
mod pattern_table;
pub mod patterns;
mod prices;
#[cfg(feature = "duckdb")]
mod query;
mod query_language;
#[cfg(feature = "duckdb")]
mod retention;
#[cfg(feature = "duckdb")]
mod rollup;
mod row;
#[cfg(feature = "duckdb")]
mod run_table;
#[cfg(feature = "duckdb")]
mod schema;
#[cfg(feature = "duckdb")]
mod sketch;
#[cfg(feature = "duckdb")]
mod snapshot_mark;
#[cfg(feature = "duckdb")]
mod snapshot_rows;
#[cfg(feature = "duckdb")]
mod text_index;
#[cfg(feature = "duckdb")]
mod time_annotations;
#[cfg(feature = "duckdb")]
mod trace_cost;
#[cfg(feature = "duckdb")]
mod trace_table;
#[cfg(feature = "duckdb")]
mod usage;
#[cfg(feature = "duckdb")]
mod writer;

#[cfg(feature = "duckdb")]
pub use backend::{AlertLog, Canceller, Database, Queries};
#[cfg(feature = "clickhouse")]
pub use clickhouse::ClickHouse;
pub use collector_signals::{
    CollectorExemplar, CollectorLog, CollectorMetricPoint, CollectorMetricValue, CollectorOrigin,
};
pub use collector_span::{
    CollectorEvent, CollectorLink, CollectorSpan, Normalizer, kind_number, status_number,
};
pub use error::{ClickHouseError, StoreError};
pub use filter::{Bound, Cmp, EvalCondition, EvalTest, Filter, StatusFilter};
pub use ids::{hex_to_trace_id, span_id_hex, trace_id_hex};
#[cfg(feature = "duckdb")]
pub use open::{OpenMode, Store, is_database_file};
pub use output::{DatabaseFiles, OutputFile, Replace, write_file};
pub use prices::{Price, PriceTable};
#[cfg(feature = "duckdb")]
pub use query::{
    AgentRow, AgentRun, CallRow, CallSort, EXACT_CALLS_UP_TO, EvalModelRow, EvalPoint, Evaluation,
    EvaluatorRow, ExportFormat, ExportTable, FirstTokenSummary, Heatmap, HeatmapCell, JudgedCall,
    LatencyPoint, MetricBucket, MetricGroup, MetricInfo, MetricView, ModelFirstToken, ModelRow,
    OUTPUT_TPS_DOC, PatternRow, PatternSort, Reader, SCORE_BINS, SeriesPoint, SessionRow,
    SessionSort, SessionTurn, SortDir, Summary, ToolRow, TopError, TraceRow, TraceSort, TraceSpan,
    TraceTree, UserRow,
};
pub use query_language::{Query, QueryError};
#[cfg(feature = "duckdb")]
pub use retention::Pruned;
pub use row::{
    AlertEvent, CallPhases, CallTiming, EvalTarget, EvaluationRow, FEEDBACK, Feedback,
    GenAiEventText, LlmCall, LogRow, MetricPoint, SpanClass, SpanRow, StatusCode, Temporality,
};
#[cfg(feature = "duckdb")]
pub use schema::{SCHEMA_VERSION, Upgrade};
#[cfg(feature = "duckdb")]
pub use snapshot_mark::{SnapshotMark, snapshot_mark_of};
#[cfg(feature = "duckdb")]
pub use snapshot_rows::SideRows;
#[cfg(feature = "duckdb")]
pub use text_index::TextIndex;
#[cfg(feature = "duckdb")]
pub use time_annotations::{
    AnnotationEdit, MAX_TEXT_CHARS as MAX_ANNOTATION_CHARS, TimeAnnotation,
};
#[cfg(feature = "duckdb")]
pub use usage::{Distribution, UsageRow};
#[cfg(feature = "duckdb")]
pub use writer::{Batch, CommitReport, Writer, WriterTimings};
