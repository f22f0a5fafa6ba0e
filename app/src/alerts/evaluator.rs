//! Evaluation in the background: every few seconds each enabled rule is measured on its
//! own reader, the states move, firing and resolution events are stored in the alert
//! history (when the database is writable) and handed to the notifier. Never on the UI
//! thread; the window reads the latest [`AlertStatus`].

use super::engine::{Engine, ScopeState};
use super::measure::measure;
use super::notify::Notifier;
use super::rules::{Rule, Rules};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;
use store::{AlertEvent, AlertLog, Database, Queries, StoreError};

/// What the evaluator knows now.
#[derive(Debug, Clone, Default)]
pub struct AlertStatus {
    /// Every rule and scope's state after the last round.
    pub states: Vec<ScopeState>,
    /// The latest events of this run, newest last, at most [`EVENTS_KEPT`] (all are in
    /// the database's history when it is writable).
    pub events: Vec<AlertEvent>,
    /// Rounds done.
    pub rounds: u64,
    /// Why the last round failed, if it did.
    pub error: Option<String>,
}

/// Events kept in memory: the window reads the status every frame.
pub const EVENTS_KEPT: usize = 500;

/// One evaluation round after another on one reader: the part the thread runs, also
/// usable directly with a chosen clock.
pub struct Evaluation {
    reader: Box<dyn Queries>,
    engine: Engine,
}

impl Evaluation {
    /// Evaluates with `reader`.
    pub fn new(reader: Box<dyn Queries>) -> Evaluation {
        Evaluation {
            reader,
            engine: Engine::default(),
        }
    }

    /// Measures every enabled rule at `now_ns`; returns the events and the states.
    pub fn round(
        &mut self,
        rules: &Rules,
        now_ns: i64,
    ) -> Result<Vec<(AlertEvent, Rule)>, StoreError> {
        let names: Vec<&str> = rules
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| r.name.as_str())
            .collect();
        self.engine.keep_only(&names);
        let mut events = Vec::new();
        for rule in rules.rules.iter().filter(|r| r.enabled) {
            let measured = measure(self.reader.as_mut(), rule, now_ns)?;
            for e in self.engine.observe(rule, &measured, now_ns) {
                events.push((e, rule.clone()));
            }
        }
        Ok(events)
    }

    /// Every state.
    pub fn states(&self) -> Vec<ScopeState> {
        self.engine.states()
    }
}

/// Stops the thread when dropped.
pub struct Evaluator {
    status: Arc<Mutex<AlertStatus>>,
    stop: Arc<(AtomicBool, Mutex<()>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Evaluator {
    /// Starts evaluating `rules` on `store` every `every`; events go to `log` (when
    /// given: the history) and `notifier`; `after_round` is called with a round's events
    /// after each round that changed what the status reports (events, states, error), so
    /// that a window is not repainted for rounds that found nothing new.
    pub fn start(
        store: &dyn Database,
        log: Option<Arc<dyn AlertLog>>,
        rules: Arc<RwLock<Rules>>,
        notifier: Notifier,
        every: Duration,
        after_round: impl Fn(&[AlertEvent]) + Send + 'static,
    ) -> Result<Evaluator, StoreError> {
        let mut evaluation = Evaluation::new(store.reader()?);
        let status = Arc::new(Mutex::new(AlertStatus::default()));
        let stop = Arc::new((AtomicBool::new(false), Mutex::new(()), Condvar::new()));
        let (shared, halt) = (status.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("alerts".into())
            .spawn(move || {
                loop {
                    let snapshot = rules.read().expect("rules lock").clone();
                    let outcome = evaluation.round(&snapshot, crate::timearg::now_ns());
                    let mut error = None;
                    let mut happened = Vec::new();
                    let changed;
                    match outcome {
                        Ok(events) => {
                            if !events.is_empty() {
                                for (e, rule) in &events {
                                    notifier.send(e, rule);
                                }
                                if let Some(log) = &log {
                                    let alerts: Vec<AlertEvent> =
                                        events.iter().map(|(e, _)| e.clone()).collect();
                                    if let Err(e) = log.record(&alerts) {
                                        error =
                                            Some(format!("cannot store the alert history: {e}"));
                                    }
                                }
                            }
                            happened = events.into_iter().map(|(e, _)| e).collect();
                            let mut s = shared.lock().expect("status lock");
                            s.events.extend(happened.iter().cloned());
                            let excess = s.events.len().saturating_sub(EVENTS_KEPT);
                            s.events.drain(..excess);
                            let states = evaluation.states();
                            changed =
                                !happened.is_empty() || s.states != states || s.error != error;
                            s.states = states;
                            s.rounds += 1;
                            s.error = error;
                        }
                        Err(e) => {
                            let mut s = shared.lock().expect("status lock");
                            let e = Some(e.to_string());
                            changed = s.error != e;
                            s.error = e;
                        }
                    }
                    if changed {
                        after_round(&happened);
                    }
                    let (flag, lock, wake) = &*halt;
                    let guard = lock.lock().expect("stop lock");
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                    let _ = wake.wait_timeout(guard, every).expect("stop lock");
                    if flag.load(Ordering::Acquire) {
                        return;
                    }
                }
            })
            .expect("spawn the alert thread");
        Ok(Evaluator {
            status,
            stop,
            handle: Some(handle),
        })
    }

    /// The latest status.
    pub fn status(&self) -> AlertStatus {
        self.status.lock().expect("status lock").clone()
    }
}

impl Drop for Evaluator {
    fn drop(&mut self) {
        let (flag, lock, wake) = &*self.stop;
        flag.store(true, Ordering::Release);
        let _guard = lock.lock().expect("stop lock");
        wake.notify_all();
        drop(_guard);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
