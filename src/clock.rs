//! The one source of "now". Production reads the system clock; tests hold a
//! manual clock and move it, so time-based rules (session expiry, login lockout,
//! later the timeouts and work hours) are tested without sleeping.

use jiff::{SignedDuration, Timestamp};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// Milliseconds since the Unix epoch, shared by every clone.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start: Timestamp) -> Self {
        Clock::Manual(Arc::new(AtomicI64::new(start.as_millisecond())))
    }

    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Manual(ms) => Timestamp::from_millisecond(ms.load(Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: SignedDuration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let c = Clock::manual(start);
        assert_eq!(c.now(), start);
        c.advance(SignedDuration::from_mins(15));
        assert_eq!(c.now(), start + SignedDuration::from_mins(15));
    }
}
