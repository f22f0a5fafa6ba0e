//! Spans per second arriving at the receivers, from their counter sampled each frame,
//! and whether data is flowing right now (for the pulsing dot).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the rate looks.
const WINDOW: Duration = Duration::from_secs(3);

/// A rate over the last few seconds of a growing counter.
#[derive(Default)]
pub struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
    last_change: Option<Instant>,
}

impl RateMeter {
    /// Records the counter's value now.
    pub fn sample(&mut self, now: Instant, count: u64) {
        if self.samples.back().is_some_and(|(_, c)| *c != count) {
            self.last_change = Some(now);
        }
        self.samples.push_back((now, count));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > WINDOW)
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
    }

    /// Units per second over the window.
    pub fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((t0, c0)), Some((t1, c1))) if t1 > t0 => {
                (c1 - c0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        }
    }

    /// Whether the counter moved in the last two seconds.
    pub fn flowing(&self, now: Instant) -> bool {
        self.last_change
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(2))
    }

    /// Forgets everything (a new database).
    pub fn reset(&mut self) {
        *self = RateMeter::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_follows_the_counter() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        m.sample(t0, 0);
        m.sample(t0 + Duration::from_secs(1), 1000);
        m.sample(t0 + Duration::from_secs(2), 2000);
        assert!((m.rate() - 1000.0).abs() < 1e-6);
        assert!(m.flowing(t0 + Duration::from_secs(3)));
        assert!(!m.flowing(t0 + Duration::from_secs(5)));
        m.sample(t0 + Duration::from_secs(9), 2000);
        m.sample(t0 + Duration::from_secs(10), 2000);
        assert_eq!(m.rate(), 0.0);
    }
}
