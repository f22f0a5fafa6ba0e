//! `llm-observatory`: see what your LLM applications are doing. The library holds the
//! command line (`cli`) and the desktop window (`gui`) so that the binary and the UI
//! tests (egui_kittest) drive the very same code.

pub mod alerts;
pub mod api;
pub mod cli;
pub mod digest;
pub mod figures;
pub mod format;
pub mod gui;
pub mod paths;
pub mod report;
pub mod scrape;
pub mod selection;
pub mod snapshot;
pub mod timearg;
