//! Status writes paced per object: while pods turn Ready one by one (hundreds a second in a
//! rollout), a controller would write a ReplicaSet's status once per pod. The pacer lets one
//! status-only write through per object per interval; a sync that finds it too early requeues
//! itself for the rest of the interval and then writes the latest status, so the status is at
//! most one interval behind and every intermediate write is saved.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The default interval.
pub const STATUS_INTERVAL: Duration = Duration::from_millis(250);

/// When each object's status was last written.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    /// A pacer letting one write per `interval` through.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// `None`: write now (recorded as written); `Some(d)`: too early, try again in `d`.
    pub fn admit(&self, key: &str, now: Instant) -> Option<Duration> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(key) {
            let since = now.saturating_duration_since(*at);
            if since < self.interval {
                return Some(self.interval - since);
            }
        }
        last.insert(key.to_string(), now);
        None
    }

    /// Record a write that was not paced (one that had to go at once).
    pub fn wrote(&self, key: &str, now: Instant) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string(), now);
    }

    /// Forget a deleted object.
    pub fn forget(&self, key: &str) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_per_interval_per_object() {
        let p = Pacer::new(Duration::from_millis(100));
        let t0 = Instant::now();
        assert_eq!(p.admit("a", t0), None);
        assert_eq!(p.admit("b", t0), None, "objects are paced apart");
        assert_eq!(
            p.admit("a", t0 + Duration::from_millis(30)),
            Some(Duration::from_millis(70))
        );
        assert_eq!(p.admit("a", t0 + Duration::from_millis(100)), None);
        p.forget("a");
        assert_eq!(p.admit("a", t0 + Duration::from_millis(101)), None);
    }
}
