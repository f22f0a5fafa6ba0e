//! The store of LLM Observatory: the only crate that talks to DuckDB.
//!
//! A [`Store`] opens (or creates and migrates) one database file. One [`Writer`] thread
//! appends batches and commits each group of them once, telling every submitter when its
//! rows are durable; [`Reader`]s, one per thread, answer typed queries over a
//! [`Filter`]. The data version ([`Store::data_version`]) moves after every commit so
//! that caches know when to ask again.

mod error;
mod filter;
mod ids;
mod open;
mod output;
mod prices;
mod query;
mod retention;
mod row;
mod schema;
mod text_index;
mod writer;

pub use error::StoreError;
pub use filter::{Bound, Cmp, Filter, StatusFilter};
pub use ids::{hex_to_trace_id, span_id_hex, trace_id_hex};
pub use open::{OpenMode, Store};
pub use output::{DatabaseFiles, OutputFile, Replace, write_file};
pub use prices::{Price, PriceTable};
pub use query::{
    CallRow, CallSort, ExportFormat, ExportTable, Heatmap, HeatmapCell, LatencyPoint, ModelRow,
    Reader, SeriesPoint, SortDir, Summary, TopError, TraceRow, TraceSort, TraceSpan, TraceTree,
};
pub use retention::Pruned;
pub use row::{AlertEvent, GenAiEventText, LlmCall, LogRow, MetricPoint, SpanRow, StatusCode};
pub use schema::SCHEMA_VERSION;
pub use text_index::TextIndex;
pub use writer::{Batch, CommitReport, Writer, WriterTimings};
