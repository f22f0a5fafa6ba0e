//! The query cache between the panels and the store. A panel asks for a named slot
//! every frame with the query it wants; the cache answers at once with the last result
//! it has (perhaps for an older filter or older data) and, when the query or the store's
//! data version changed, computes a fresh one on a background worker. While data
//! streams in, a slot refreshes at most once a second. The UI thread never waits.

use std::any::Any;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Reader, Store, StoreError};

/// How often a slot may refresh for new data alone.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

type AnyResult = Arc<dyn Any + Send + Sync>;
type Run = Box<dyn FnOnce(&mut Reader) -> Result<AnyResult, StoreError> + Send>;

/// What a slot holds now.
pub struct Answer<T> {
    /// The latest result, possibly for an older query or older data.
    pub value: Option<Arc<T>>,
    /// The error of the latest computation, if it failed.
    pub error: Option<String>,
}

#[derive(Default)]
struct Slot {
    result_key: Option<String>,
    result_version: u64,
    value: Option<AnyResult>,
    error: Option<String>,
    running: bool,
    started: Option<Instant>,
}

struct Job {
    slot: &'static str,
    key: String,
    version: u64,
    run: Run,
}

struct Shared {
    slots: Mutex<HashMap<&'static str, Slot>>,
    repaint: Box<dyn Fn() + Send + Sync>,
}

/// The cache for one open store. Dropping it stops its workers after their current
/// query.
pub struct QueryCache {
    shared: Arc<Shared>,
    store: Arc<Store>,
    jobs: Sender<Job>,
}

impl QueryCache {
    /// Starts `workers` threads, each with its own reader; `repaint` is called when a
    /// result arrives.
    pub fn new(
        store: Arc<Store>,
        workers: usize,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            slots: Mutex::new(HashMap::new()),
            repaint: Box::new(repaint),
        });
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers.max(1) {
            let queue = queue.clone();
            let shared = shared.clone();
            let reader = store.reader();
            std::thread::Builder::new()
                .name(format!("query-{i}"))
                .spawn(move || work(reader, &queue, &shared))
                .expect("spawn query worker");
        }
        QueryCache {
            shared,
            store,
            jobs,
        }
    }

    /// The answer held for `slot`; starts computing `run` in the background when `key`
    /// (a description of the query) differs from the held result's, or when the data
    /// changed since and the slot has not refreshed within the last second.
    pub fn get<T: Send + Sync + 'static>(
        &self,
        slot: &'static str,
        key: String,
        run: impl FnOnce(&mut Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Answer<T> {
        let version = self.store.data_version();
        let mut slots = self.shared.slots.lock().expect("cache lock");
        let s = slots.entry(slot).or_default();
        let current = s.result_key.as_deref() == Some(key.as_str());
        let stale_data =
            version > s.result_version && s.started.is_none_or(|t| t.elapsed() >= REFRESH_EVERY);
        if !s.running && (!current || stale_data) {
            s.running = true;
            s.started = Some(Instant::now());
            let job = Job {
                slot,
                key,
                version,
                run: Box::new(move |r| run(r).map(|v| Arc::new(v) as AnyResult)),
            };
            if self.jobs.send(job).is_err() {
                s.running = false;
                s.error = Some("the query workers have stopped".into());
            }
        }
        Answer {
            value: s.value.clone().and_then(|v| v.downcast::<T>().ok()),
            error: s.error.clone(),
        }
    }

    /// Whether any query is being computed (for the busy indicator and benchmarks).
    pub fn busy(&self) -> bool {
        self.shared
            .slots
            .lock()
            .expect("cache lock")
            .values()
            .any(|s| s.running)
    }
}

fn work(reader: Result<Reader, StoreError>, queue: &Mutex<Receiver<Job>>, shared: &Shared) {
    let mut reader = reader;
    loop {
        let job = match queue.lock().expect("queue lock").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        let result = match &mut reader {
            Ok(r) => (job.run)(r).map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot read the database: {e}")),
        };
        {
            let mut slots = shared.slots.lock().expect("cache lock");
            let s = slots.entry(job.slot).or_default();
            s.running = false;
            s.result_key = Some(job.key);
            s.result_version = job.version;
            match result {
                Ok(v) => {
                    s.value = Some(v);
                    s.error = None;
                }
                Err(e) => s.error = Some(e),
            }
        }
        (shared.repaint)();
    }
}
