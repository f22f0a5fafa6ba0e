//! File import: any OTLP trace dump real tools write, detected from its content,
//! streamed in bounded memory into the store. Bad records are reported one by one as
//! `FILE:LINE: reason` and never stop the good ones (unless `strict`).

mod detect;
#[cfg(feature = "database")]
mod files;
mod read;

pub use detect::{Compression, Shape, decompress, shape};
#[cfg(feature = "database")]
pub use files::*;
pub use read::{Location, for_each_request};
