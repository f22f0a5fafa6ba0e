//! Wakes the window when the open database's data changes, so that the frame loop need
//! not poll: an idle window draws nothing, and a stream of spans repaints it at most a
//! few times a second (on a software renderer a frame costs a tenth of a core-second).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use store::Database;

/// How often the data version is looked at (an atomic load).
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// The shortest time between two wake-ups for new data: while spans stream in, one
/// frame a second starts the queries' refresh round and one more shows its results.
pub const MIN_GAP: Duration = Duration::from_secs(1);

/// How long after the last change one more repaint comes, so that the live indicator
/// turns from "receiving" to still (it calls data flowing for two seconds after a change).
const SETTLE_AFTER: Duration = Duration::from_millis(2_100);

/// The thread watching one database; dropping it stops the thread at its next look
/// (without waiting for it: the window drops it on the UI thread when another database
/// opens).
pub struct DataWaker {
    _stop: Sender<()>,
}

impl DataWaker {
    /// Starts calling `wake` when `store`'s data version moves (at most every
    /// [`MIN_GAP`]), and once more [`SETTLE_AFTER`] the last change.
    /// The thread holds the store weakly, so that a database the window lets go of
    /// closes at once, not at the thread's next look.
    pub fn start(store: Arc<dyn Database>, wake: impl Fn() + Send + 'static) -> Self {
        let (stop, stopped) = channel();
        let store = Arc::downgrade(&store);
        if let Err(e) = std::thread::Builder::new()
            .name("data-waker".into())
            .spawn(move || watch(&store, &wake, &stopped))
        {
            tracing::warn!("no data waker, new data shows on the next input: {e}");
        }
        DataWaker { _stop: stop }
    }
}

fn watch(store: &Weak<dyn Database>, wake: &dyn Fn(), stopped: &Receiver<()>) {
    let version_now = || store.upgrade().map(|s| s.data_version());
    let Some(mut seen) = version_now() else {
        return;
    };
    let mut changed_at: Option<Instant> = None;
    let mut woken_at: Option<Instant> = None;
    let mut unannounced = false;
    loop {
        match stopped.recv_timeout(LOOK_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        let Some(version) = version_now() else {
            return;
        };
        if version != seen {
            seen = version;
            changed_at = Some(now);
            unannounced = true;
        }
        if unannounced && woken_at.is_none_or(|t| now.duration_since(t) >= MIN_GAP) {
            wake();
            woken_at = Some(now);
            unannounced = false;
        }
        if let Some(t) = changed_at
            && now.duration_since(t) >= SETTLE_AFTER
        {
            wake();
            changed_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use store::Store;

    /// No data, no wake-ups; a burst of commits, a few (paced), then one to settle.
    #[test]
    fn wakes_for_new_data_only_and_paced() {
        let store = Arc::new(Store::open_in_memory().unwrap());
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let waker = DataWaker::start(store.clone(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(woken.load(Ordering::SeqCst), 0, "nothing changed");
        let prices = store::PriceTable::default();
        for _ in 0..20 {
            store.set_prices(prices.clone());
            std::thread::sleep(Duration::from_millis(50));
        }
        // One second of changes: at most one wake-up per MIN_GAP, at least one.
        let during = woken.load(Ordering::SeqCst);
        assert!((1..=2).contains(&during), "{during} wake-ups in a second");
        std::thread::sleep(SETTLE_AFTER + Duration::from_millis(600));
        let after = woken.load(Ordering::SeqCst);
        assert!(
            after > during && after <= during + 2,
            "{during} then {after}"
        );
        drop(waker);
    }
}
