//! OTLP in: decoding requests from files (and, with the receivers, from the network),
//! normalizing the competing LLM semantic conventions into store rows, and feeding the
//! store's writer.

pub mod import;
pub mod normalize;
pub mod otlp_json;
pub mod receive;
pub mod sink;
pub mod synth;
