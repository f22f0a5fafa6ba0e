//! OTLP in: decoding requests from files (and, with the receivers, from the network),
//! normalizing the competing LLM semantic conventions into store rows, and feeding the
//! store's writer.
//!
//! Without its default `database` feature only decoding and normalization are built
//! (no receivers, no import into a database, no DuckDB), for the fuzz targets.

pub mod collector;
pub mod collector_signals;
#[cfg(feature = "database")]
pub mod demo;
pub mod import;
pub mod normalize;
pub mod otlp_json;
#[cfg(feature = "database")]
pub mod receive;
#[cfg(feature = "database")]
pub mod sink;
pub mod synth;
