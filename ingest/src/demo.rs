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

/// A gentle stream of synthetic traffic arriving as the clock runs, so that a demo
/// database in the window feels alive: the live indicator, the charts and the alerts
/// move. About `traces_per_second` traces (two or three LLM calls each) are written every
/// second, starting a few seconds back so that most of their spans have ended by now.
pub struct LiveDemo {
    /// Spans written so far (the window's live indicator counts them as arriving).
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How far back the traces of each second start: their calls take a few seconds.
const LIVE_LAG_NS: i64 = 8_000_000_000;

impl LiveDemo {
    /// Starts writing into `writer` until [`LiveDemo::stop`] (or drop).
    pub fn start(writer: std::sync::Arc<Writer>, traces_per_second: u64) -> LiveDemo {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = written.clone();
        let thread = std::thread::Builder::new()
            .name("demo-stream".into())
            .spawn(move || {
                let now = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as i64)
                };
                let mut from = now() - LIVE_LAG_NS;
                let mut second = 0u64;
                loop {
                    match stopped.recv_timeout(std::time::Duration::from_secs(1)) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let to = now() - LIVE_LAG_NS;
                    second += 1;
                    let cfg = SynthConfig {
                        traces: traces_per_second,
                        start_ns: from,
                        end_ns: to,
                        // Fresh ids every second (the seed fixes them), none shared with
                        // the stored demo traffic's seed.
                        seed: (to as u64).rotate_left(17) ^ second,
                    };
                    from = to;
                    let mut synth = Synth::new(cfg);
                    let mut spans = Vec::new();
                    while let Some(req) = synth.next_request(64) {
                        spans.extend(normalize_traces(&req).rows);
                    }
                    let n = spans.len() as u64;
                    if let Err(e) = writer.write(store::Batch {
                        spans,
                        ..store::Batch::default()
                    }) {
                        tracing::warn!("the demo stream stops: {e}");
                        return;
                    }
                    counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                }
            })
            .expect("start the demo stream thread");
        LiveDemo {
            written,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Spans written so far.
    pub fn spans(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops the stream and waits for its last write, so that the writer is free.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LiveDemo {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::{Filter, Store};

    #[test]
    fn the_live_demo_writes_calls_of_now_until_stopped() {
        let store = Store::open_in_memory().unwrap();
        let writer = std::sync::Arc::new(store.writer().unwrap());
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        let live = LiveDemo::start(writer.clone(), 3);
        std::thread::sleep(std::time::Duration::from_millis(3_300));
        let counted = live.spans();
        live.stop();
        let mut r = store.reader().unwrap();
        let s = r.summary(&Filter::default()).unwrap();
        assert!(
            counted > 0 && counted <= s.spans.unwrap(),
            "{counted} of {s:?}"
        );
        assert!(s.llm_calls >= 3, "three seconds of traffic: {s:?}");
        let first = s.first_start_ns.unwrap();
        assert!(
            first >= started - LIVE_LAG_NS - 1_000_000_000,
            "starts now, not in the past"
        );
        // Stopped means stopped: no more rows after it returns, and the writer is free.
        let after = r.summary(&Filter::default()).unwrap().llm_calls;
        std::thread::sleep(std::time::Duration::from_millis(1_200));
        let mut r = store.reader().unwrap();
        assert_eq!(r.summary(&Filter::default()).unwrap().llm_calls, after);
        assert!(
            std::sync::Arc::try_unwrap(writer).is_ok(),
            "the stream let go of the writer"
        );
    }
}
