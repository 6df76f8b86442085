//! Keeps a repeated log line from flooding the log: the first occurrence of a
//! key is logged, then at most one line per period, carrying how many were
//! left out meanwhile. Owned by whoever logs (no global), cheap to ask.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a repeated line is logged again by default.
pub const PERIOD: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Quiet {
    period: Duration,
    seen: Mutex<HashMap<String, (Instant, u64)>>,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet::new(PERIOD)
    }
}

impl Quiet {
    pub fn new(period: Duration) -> Quiet {
        Quiet {
            period,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(n)` when the line for `key` should be logged now, `n` being how
    /// many were left out since the last one; `None` to stay quiet.
    pub fn allow(&self, key: &str) -> Option<u64> {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 1024 {
            // Keys are few (a kind of trouble per account); never grow without end.
            let period = self.period;
            seen.retain(|_, (at, _)| now.duration_since(*at) < period);
        }
        match seen.get_mut(key) {
            Some((at, skipped)) if now.duration_since(*at) < self.period => {
                *skipped += 1;
                None
            }
            Some((at, skipped)) => {
                let n = *skipped;
                *at = now;
                *skipped = 0;
                Some(n)
            }
            None => {
                seen.insert(key.to_string(), (now, 0));
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_then_one_per_period_with_the_count() {
        let q = Quiet::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(q.allow_at("token", t0), Some(0));
        for i in 1..=99 {
            assert_eq!(
                q.allow_at("token", t0 + Duration::from_millis(i * 10)),
                None
            );
        }
        assert_eq!(q.allow_at("other", t0), Some(0), "keys are separate");
        assert_eq!(q.allow_at("token", t0 + Duration::from_secs(10)), Some(99));
        assert_eq!(q.allow_at("token", t0 + Duration::from_secs(11)), None);
        assert_eq!(q.allow_at("token", t0 + Duration::from_secs(25)), Some(1));
    }
}
