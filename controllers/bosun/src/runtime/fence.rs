//! The write fence of a leader: its writes go out only while its hold of the Lease is known to
//! be valid by its own clock.
//!
//! Why: a leader that is frozen (SIGSTOP, a stalled node, a long GC pause of the host) past its
//! lease duration loses the Lease to a standby, which starts acting. When the frozen process
//! resumes, its workers run on the events buffered during the pause before its lease manager
//! gets round to a renewal that fails, and write from a stale cache: a ReplicaSet scaled while
//! it was frozen gets Pods from both leaders. client-go's leader election has the same window
//! (kube-controller-manager exits only when its renewal fails). The fence closes it: every
//! mutating request of the controllers' client is refused once `renewTime + duration - margin`
//! of the last renewal of ours that we saw has passed, measured on the monotonic clock, so
//! the writes stop before the standby may take the Lease.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How long before the Lease could be taken by another holder our writes stop.
pub const MARGIN: Duration = Duration::from_secs(1);

/// Whether writes may go out now.
#[derive(Debug)]
pub struct Fence {
    /// None: no leader election, always open. Some(t): open until t.
    until: Mutex<Option<Option<Instant>>>,
}

impl Fence {
    /// Always open (no leader election).
    pub const fn open() -> Self {
        Self {
            until: Mutex::new(None),
        }
    }

    /// Closed until a renewal of ours is seen.
    pub const fn closed() -> Self {
        Self {
            until: Mutex::new(Some(None)),
        }
    }

    /// Whether a write may go out at `now`.
    pub fn allows(&self, now: Instant) -> bool {
        match *self.lock() {
            None => true,
            Some(Some(until)) => now < until,
            Some(None) => false,
        }
    }

    /// A renewal of ours seen at `seen_at`, `age` after its renewTime, of a Lease of `duration`.
    pub fn renewed(&self, seen_at: Instant, age: Duration, duration: Duration) {
        let mut g = self.lock();
        if g.is_some() {
            *g = Some(Some(valid_until(seen_at, age, duration)));
        }
    }

    /// The Lease shows another holder, or none.
    pub fn lost(&self) {
        let mut g = self.lock();
        if g.is_some() {
            *g = Some(None);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Option<Instant>>> {
        self.until.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The instant our writes must stop: the renewal's expiry less [`MARGIN`], on the monotonic
/// clock (`seen_at - age` is when the renewal happened).
pub fn valid_until(seen_at: Instant, age: Duration, duration: Duration) -> Instant {
    (seen_at + duration.saturating_sub(MARGIN))
        .checked_sub(age)
        .unwrap_or(seen_at)
}

/// How long ago `renew_time` was by the wall clock (0 if it is in the future: clock skew).
pub fn age(renew_time: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(renew_time).unwrap_or_default()
}

/// Whether a request is one the fence holds back: a write of anything but a Lease (the lease
/// manager renews and releases through the same client).
pub fn is_fenced(method: &http::Method, path: &str) -> bool {
    let writes = !matches!(
        *method,
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    writes && !path.starts_with("/apis/coordination.k8s.io/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_fence_lets_everything_through() {
        let f = Fence::open();
        f.lost();
        assert!(f.allows(Instant::now()));
    }

    #[test]
    fn a_closed_fence_opens_at_a_renewal_and_closes_before_the_lease_expires() {
        let f = Fence::closed();
        let t0 = Instant::now();
        assert!(!f.allows(t0), "closed until a renewal is seen");
        // Seen 200 ms after the renewal, lease 15 s: writes until 13.8 s after t0.
        f.renewed(t0, Duration::from_millis(200), Duration::from_secs(15));
        assert!(f.allows(t0 + Duration::from_secs(13)));
        assert!(!f.allows(t0 + Duration::from_millis(13_800)));
        // A frozen leader resumes 16 s later: its next write is refused.
        assert!(!f.allows(t0 + Duration::from_secs(16)));
        // The next renewal extends it; another holder closes it.
        f.renewed(
            t0 + Duration::from_secs(10),
            Duration::ZERO,
            Duration::from_secs(15),
        );
        assert!(f.allows(t0 + Duration::from_secs(20)));
        f.lost();
        assert!(!f.allows(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn a_renewal_seen_late_counts_from_its_renew_time() {
        let t0 = Instant::now();
        let until = valid_until(t0, Duration::from_secs(20), Duration::from_secs(15));
        assert!(until <= t0, "a renewal older than the lease opens nothing");
    }

    #[test]
    fn only_writes_of_other_kinds_than_leases_are_fenced() {
        use http::Method;
        let pods = "/api/v1/namespaces/a/pods";
        assert!(is_fenced(&Method::POST, pods));
        assert!(is_fenced(
            &Method::PATCH,
            "/apis/apps.bosun.dev/v1/namespaces/a/replicasets/x"
        ));
        assert!(is_fenced(&Method::DELETE, pods));
        assert!(!is_fenced(&Method::GET, pods));
        assert!(!is_fenced(
            &Method::PUT,
            "/apis/coordination.k8s.io/v1/namespaces/a/leases/bosun"
        ));
    }

    #[test]
    fn a_renew_time_in_the_future_has_age_zero() {
        let now = SystemTime::now();
        assert_eq!(age(now + Duration::from_secs(1), now), Duration::ZERO);
        assert_eq!(
            age(now - Duration::from_secs(2), now),
            Duration::from_secs(2)
        );
    }
}
