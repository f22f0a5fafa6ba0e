//! Demo data: the synthetic traffic of [`crate::synth`], normalized and committed into a
//! database, for `demo`, a new demo database in the window, and the benchmarks.

use crate::normalize::normalize_traces;
use crate::sink::Sink;
use crate::synth::{Synth, SynthConfig};
use store::{CommitReport, Writer};

/// Generated spans the writer refused.
#[derive(Debug, thiserror::Error)]
#[error("{spans} generated spans could not be stored: {reason}")]
pub struct DemoError {
    /// How many.
    pub spans: usize,
    /// Why (the writer's error).
    pub reason: String,
}

/// Generates `cfg`'s traffic into the writer; `progress` gets the traces done so far.
pub fn generate(
    cfg: SynthConfig,
    writer: &Writer,
    progress: &dyn Fn(u64),
) -> Result<CommitReport, DemoError> {
    let mut synth = Synth::new(cfg);
    let mut sink = Sink::new(Some(writer));
    let mut rows = Vec::new();
    while let Some(req) = synth.next_request(256) {
        let n = normalize_traces(&req);
        debug_assert!(n.rejected.is_empty(), "the generator makes valid spans");
        rows.extend(n.rows);
        if rows.len() >= 32 * 1024 {
            sink.send(std::mem::take(&mut rows));
            progress(synth.emitted());
        }
    }
    sink.send(rows);
    let totals = sink.finish();
    match totals.failures.into_iter().next() {
        Some((spans, reason)) => Err(DemoError { spans, reason }),
        None => Ok(totals.committed),
    }
}
