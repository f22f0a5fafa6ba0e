//! The query cache between the panels and the store. A panel asks for a query (a type
//! from [`super::queries`]) every frame with the input it wants; the cache answers at once with the last result
//! it has (perhaps for an older filter or older data) and, when the query or the store's
//! data version changed, computes a fresh one on a background worker. While data
//! streams in, a slot refreshes at most once a second, and less often when its query is
//! slow; the refreshed results of one round are shown together, in one frame (what the
//! user asked for shows as soon as each answer arrives). The UI thread never waits.

use super::queries::CachedQuery;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use store::{Canceller, Database, Queries, StoreError};

/// How often a slot may refresh for new data alone, at most.
const REFRESH_EVERY: Duration = Duration::from_secs(1);

/// A slot asked this much before its refresh is due counts as due: the data waker's
/// once-a-second frames then start each round, rather than each being followed by a
/// frame of its own a few milliseconds later.
const DUE_SLACK: Duration = Duration::from_millis(150);

/// A slot refreshing for new data waits at least this many times what refreshing every
/// slot took last, so that on a large database the queries of a live view take at most
/// about a fifth of one core and leave the rest to drawing and ingest.
const QUERY_SHARE: u32 = 5;

type AnyResult = Arc<dyn Any + Send + Sync>;
type Run = Box<dyn FnOnce(&mut dyn Queries) -> Result<AnyResult, StoreError> + Send>;

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
    /// The input of the running computation.
    running_key: Option<String>,
    /// The running computation only refreshes the shown input for new data.
    refreshing: bool,
    /// The running computation was cancelled (its input changed): its result is
    /// dropped and the slot asks afresh.
    cancelled: bool,
    started: Option<Instant>,
    took: Duration,
}

struct Job {
    slot: TypeId,
    name: &'static str,
    key: String,
    version: u64,
    run: Run,
}

/// Jobs waiting for a worker: what a view shows first, menu contents (queries marked
/// [`CachedQuery::BACKGROUND`]) after, so that the first figures appear as soon as
/// possible.
#[derive(Default)]
struct Queue {
    views: VecDeque<Job>,
    menus: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    /// One slot per query type.
    slots: Mutex<HashMap<TypeId, Slot>>,
    queue: Mutex<Queue>,
    ready: Condvar,
    /// How to stop the query computing each running slot (taken only while the slots
    /// are not locked by the worker, so the two locks never wait on each other).
    cancellers: Mutex<HashMap<TypeId, Canceller>>,
    repaint: Box<dyn Fn() + Send + Sync>,
    /// The soonest moment a slot waiting to refresh for new data may refresh: the frame
    /// loop asks to be woken then, instead of polling.
    next_look: Mutex<Option<Instant>>,
    /// The look the frame loop last asked to be woken for (see [`QueryCache::wants_wake`]).
    scheduled: Mutex<Option<Instant>>,
    /// The latest refresh round (taken only while the slots are locked).
    round: Mutex<Round>,
}

/// Slots behind the data refresh together, in rounds: the first slot asked once a round
/// is due opens the next one at the data version of that moment, and every slot behind
/// it joins, so the whole view refreshes at once (one frame for the answers) instead of
/// each slot on its own clock.
#[derive(Default)]
struct Round {
    started: Option<Instant>,
    version: u64,
}

/// The cache for one open store. Dropping it stops its workers after their current
/// query.
pub struct QueryCache {
    shared: Arc<Shared>,
    store: Arc<dyn Database>,
}

impl Drop for QueryCache {
    fn drop(&mut self) {
        self.shared.queue.lock().expect("queue lock").closed = true;
        self.shared.ready.notify_all();
    }
}

impl QueryCache {
    /// Starts `workers` threads, each with its own reader; `repaint` is called when a
    /// result arrives.
    pub fn new(
        store: Arc<dyn Database>,
        workers: usize,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            slots: Mutex::new(HashMap::new()),
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            cancellers: Mutex::new(HashMap::new()),
            repaint: Box::new(repaint),
            next_look: Mutex::new(None),
            scheduled: Mutex::new(None),
            round: Mutex::new(Round::default()),
        });
        for i in 0..workers.max(1) {
            let shared = shared.clone();
            let reader = store.reader();
            std::thread::Builder::new()
                .name(format!("query-{i}"))
                .spawn(move || work(reader, &shared))
                .expect("spawn query worker");
        }
        QueryCache { shared, store }
    }

    /// The database the cache reads (for guarding its files from exports).
    pub fn store(&self) -> &Arc<dyn Database> {
        &self.store
    }

    /// The answer held for query `Q`; starts computing it for `input` in the background
    /// when `input` differs from the held result's, or when the data changed since and
    /// the slot has not refreshed within the last second.
    pub fn get<Q: CachedQuery>(&self, input: Q::Input) -> Answer<Q::Output> {
        let slot = TypeId::of::<Q>();
        let key = format!("{input:?}");
        let version = self.store.data_version();
        let mut slots = self.shared.slots.lock().expect("cache lock");
        let all_took: Duration = slots.values().map(|s| s.took).sum();
        let s = slots.entry(slot).or_default();
        let current = s.result_key.as_deref() == Some(key.as_str());
        let wait = REFRESH_EVERY.max(all_took * QUERY_SHARE);
        let behind = current && !s.running && version > s.result_version;
        let mut round = self.shared.round.lock().expect("round lock");
        // The next round is due a wait after the last one and after this slot's own last
        // computation (so a slot answered a moment ago for a new input waits too).
        let now = Instant::now();
        let next_round = [round.started, s.started]
            .into_iter()
            .flatten()
            .map(|t| t + wait)
            .max();
        if behind
            && s.result_version >= round.version
            && next_round.is_none_or(|due| due <= now + DUE_SLACK)
        {
            *round = Round {
                started: Some(now),
                version,
            };
        }
        let stale_data = behind && s.result_version < round.version;
        drop(round);
        if s.running && s.running_key.as_deref() != Some(key.as_str()) && !s.cancelled {
            // Nobody wants the running answer any more: stop it on the database (the
            // canceller returns at once; a server's kill request goes on its own).
            let canceller = self
                .shared
                .cancellers
                .lock()
                .expect("cancellers lock")
                .get(&slot)
                .cloned();
            if let Some(cancel) = canceller {
                cancel();
                s.cancelled = true;
            }
        }
        if behind
            && !stale_data
            && let Some(due) = next_round
        {
            let mut next = self.shared.next_look.lock().expect("next look lock");
            *next = Some(next.map_or(due, |n| n.min(due)));
        }
        if !s.running && (!current || stale_data) {
            s.running = true;
            s.refreshing = current;
            s.running_key = Some(key.clone());
            s.started = Some(Instant::now());
            let job = Job {
                slot,
                name: std::any::type_name::<Q>(),
                key,
                version,
                run: Box::new(move |r| Q::run(r, input).map(|v| Arc::new(v) as AnyResult)),
            };
            let mut queue = self.shared.queue.lock().expect("queue lock");
            if Q::BACKGROUND {
                queue.menus.push_back(job);
            } else {
                queue.views.push_back(job);
            }
            self.shared.ready.notify_one();
        }
        Answer {
            // The slot of `Q` only ever holds `Q::Output`.
            value: s.value.clone().and_then(|v| v.downcast::<Q::Output>().ok()),
            error: s.error.clone(),
        }
    }

    /// Forgets which query each slot's result answers, so that every slot computes
    /// afresh when next asked (after a change the data version does not show at once,
    /// such as new prices). Results stay on screen until the new ones arrive.
    pub fn invalidate(&self) {
        for s in self.shared.slots.lock().expect("cache lock").values_mut() {
            s.result_key = None;
        }
    }

    /// How long until a slot that waits to refresh for new data may do so (the frame
    /// loop asks for a repaint then); `None` when none waits. Taken: each frame's `get`
    /// calls set it again.
    pub fn take_next_look(&self) -> Option<Duration> {
        let next = self.shared.next_look.lock().expect("next look lock").take();
        *self.shared.scheduled.lock().expect("scheduled lock") = next;
        next.map(|t| t.saturating_duration_since(Instant::now()))
    }

    /// Whether a frame for new data would do anything now, for the data waker: not
    /// while a refresh round runs (its answers bring a frame) nor while a look for the
    /// next round is already scheduled. Without this, the waker's frames fall between
    /// the rounds' and a live view draws half again as often for nothing.
    pub fn wants_wake(&self) -> impl Fn() -> bool + Send + 'static {
        let shared = self.shared.clone();
        move || {
            let scheduled = *shared.scheduled.lock().expect("scheduled lock");
            let running = shared
                .slots
                .lock()
                .expect("cache lock")
                .values()
                .any(|s| s.running);
            !running && scheduled.is_none_or(|t| t <= Instant::now())
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

fn work(reader: Result<Box<dyn Queries>, StoreError>, shared: &Shared) {
    let mut reader = reader;
    let canceller = reader.as_ref().ok().map(|r| r.canceller());
    loop {
        let job = {
            let mut queue = shared.queue.lock().expect("queue lock");
            loop {
                if queue.closed {
                    return;
                }
                if let Some(job) = queue.views.pop_front().or_else(|| queue.menus.pop_front()) {
                    break job;
                }
                queue = shared.ready.wait(queue).expect("queue lock");
            }
        };
        let started = Instant::now();
        if let Some(c) = &canceller {
            shared
                .cancellers
                .lock()
                .expect("cancellers lock")
                .insert(job.slot, c.clone());
        }
        let result = match &mut reader {
            Ok(r) => (job.run)(r.as_mut()).map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot read the database: {e}")),
        };
        shared
            .cancellers
            .lock()
            .expect("cancellers lock")
            .remove(&job.slot);
        let took = started.elapsed();
        tracing::debug!(query = job.name, ms = took.as_secs_f64() * 1e3, "query");
        {
            let mut slots = shared.slots.lock().expect("cache lock");
            let s = slots.entry(job.slot).or_default();
            s.running = false;
            let refreshed = std::mem::take(&mut s.refreshing);
            if std::mem::take(&mut s.cancelled) {
                // Computed (or stopped) for an input nobody shows: keep what is on
                // screen; the next frame asks for the current input.
                drop(slots);
                (shared.repaint)();
                continue;
            }
            s.took = took;
            s.result_key = Some(job.key);
            s.result_version = job.version;
            match result {
                Ok(v) => {
                    s.value = Some(v);
                    s.error = None;
                }
                Err(e) => s.error = Some(e),
            }
            // A refresh for new data waits for the rest of its round: one frame shows
            // them all.
            if refreshed && slots.values().any(|s| s.running && s.refreshing) {
                continue;
            }
        }
        (shared.repaint)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::queries::{HoldsData, Services, TimeBounds};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use store::{Batch, SpanRow, Store};

    fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
        let t = Instant::now();
        while !cond() {
            assert!(t.elapsed() < Duration::from_secs(10), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_refresh_round_is_shown_in_one_frame_and_new_inputs_at_once() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let writer = store.writer().unwrap();
        let frames = Arc::new(AtomicUsize::new(0));
        let counted = frames.clone();
        let cache = QueryCache::new(store.clone(), 2, move || {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        // New inputs: each answer asks for its frame.
        cache.get::<HoldsData>(());
        cache.get::<TimeBounds>(());
        wait_until("both answers", || !cache.busy());
        assert_eq!(frames.load(Ordering::SeqCst), 2);
        assert_eq!(cache.get::<HoldsData>(()).value.as_deref(), Some(&false));
        // A slot first asked later, on a clock of its own so far.
        std::thread::sleep(Duration::from_millis(300));
        cache.get::<Services>(());
        wait_until("the third answer", || !cache.busy());

        writer
            .write(Batch {
                spans: vec![SpanRow {
                    trace_id: [1; 16],
                    span_id: [1; 8],
                    name: "work".into(),
                    service: "svc".into(),
                    start_ns: 1,
                    end_ns: 2,
                    ..SpanRow::default()
                }],
                ..Batch::default()
            })
            .unwrap();
        // Not due yet: the answers stay, and the window is told when to look again.
        cache.get::<HoldsData>(());
        assert!(!cache.busy(), "no refresh before its time");
        let wait = cache.take_next_look().expect("a look is due");
        std::thread::sleep(wait);
        frames.store(0, Ordering::SeqCst);
        cache.get::<HoldsData>(());
        cache.get::<TimeBounds>(());
        cache.get::<Services>(());
        wait_until("the round", || !cache.busy());
        // One frame for the round; two when a worker answered its first query before
        // the next one was asked (these take microseconds). On their own clocks the
        // three would ask three.
        let drawn = frames.load(Ordering::SeqCst);
        assert!((1..=2).contains(&drawn), "{drawn} frames for the round");
        assert_eq!(cache.get::<HoldsData>(()).value.as_deref(), Some(&true));
        // The slot first asked later joined the round rather than waiting for its own
        // time.
        assert_eq!(
            cache.get::<Services>(()).value.as_deref(),
            Some(&vec!["svc".to_string()])
        );
    }
}
