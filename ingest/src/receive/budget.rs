//! One memory budget shared by every request body being read, decompressed and decoded,
//! on both transports: bytes are reserved before they are buffered, and a request that
//! cannot reserve more is refused with a retryable answer instead of growing memory.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The shared budget.
#[derive(Clone)]
pub struct Budget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl Budget {
    /// A budget of `total` bytes (at least one).
    pub fn new(total: usize) -> Self {
        let total = total.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Budget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// An empty reservation for one request.
    pub fn hold(&self) -> Hold {
        Hold {
            budget: self.clone(),
            permit: None,
            held: 0,
        }
    }
}

/// What one request has reserved; released when dropped.
pub struct Hold {
    budget: Budget,
    permit: Option<OwnedSemaphorePermit>,
    held: usize,
}

/// The budget is spent: the request must be retried later.
#[derive(Debug)]
pub struct Exhausted;

impl Hold {
    /// Makes sure `bytes` in all are reserved. One request alone may hold the whole
    /// budget and go on past it (so the largest allowed message is never refused
    /// forever); beyond that it waits for nobody and fails at once.
    pub fn grow_to(&mut self, bytes: usize) -> Result<(), Exhausted> {
        let want = bytes.min(self.budget.total);
        if want <= self.held {
            return Ok(());
        }
        let more = (want - self.held) as u32;
        let permit = self
            .budget
            .bytes
            .clone()
            .try_acquire_many_owned(more)
            .map_err(|_| Exhausted)?;
        match &mut self.permit {
            Some(p) => p.merge(permit),
            None => self.permit = Some(permit),
        }
        self.held = want;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_share_the_budget_and_give_it_back() {
        let b = Budget::new(100);
        let mut a = b.hold();
        a.grow_to(60).unwrap();
        let mut c = b.hold();
        assert!(c.grow_to(50).is_err());
        c.grow_to(40).unwrap();
        drop(a);
        c.grow_to(100).unwrap();
        // Alone, a request may go past the whole budget.
        c.grow_to(1_000).unwrap();
        assert!(b.hold().grow_to(1).is_err());
        drop(c);
        b.hold().grow_to(100).unwrap();
    }
}
