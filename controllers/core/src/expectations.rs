//! Upstream's `UIDTrackingControllerExpectations` (`controller_utils.go`): creations and
//! deletions a controller has asked for and not yet seen through its watch.
//!
//! A controller records what it is about to do (`expect_creations`, `expect_deletions`) before
//! doing it, the watch handlers lower the counts as the results arrive, and the controller does
//! not act again for that owner until the record is satisfied. So a lagging cache never causes
//! a duplicate create or an extra delete. Deletions are tracked by pod key, so a pod seen first
//! as terminating and then as deleted counts once.
//!
//! | record                          | satisfied |
//! |---------------------------------|-----------|
//! | none                            | yes       |
//! | adds ≤ 0 and deletes ≤ 0        | yes       |
//! | set more than 5 minutes ago     | yes (expired: a lost event must not wedge the owner) |
//! | otherwise                       | no        |

use std::collections::{HashMap, HashSet};

use crate::{ObjectKey, SignedDuration, Timestamp};

/// `ExpectationsTimeout`.
pub const TIMEOUT: SignedDuration = SignedDuration::from_secs(5 * 60);

#[derive(Debug, Clone)]
struct Record {
    add: i64,
    del: i64,
    deleting: HashSet<ObjectKey>,
    stamped: Timestamp,
}

/// The expectations of one controller, keyed by owner.
#[derive(Debug, Default, Clone)]
pub struct Expectations {
    records: HashMap<ObjectKey, Record>,
}

impl Expectations {
    /// `SatisfiedExpectations`: whether the owner may act (see the table above).
    pub fn satisfied(&self, owner: &str, now: Timestamp) -> bool {
        match self.records.get(owner) {
            None => true,
            Some(r) => (r.add <= 0 && r.del <= 0) || r.stamped.duration_until(now) > TIMEOUT,
        }
    }

    /// `ExpectCreations`: replace the record with `n` creations, stamped `now`.
    pub fn expect_creations(&mut self, owner: &str, n: usize, now: Timestamp) {
        let deleting = self
            .records
            .remove(owner)
            .map(|r| r.deleting)
            .unwrap_or_default();
        self.records.insert(
            owner.to_string(),
            Record {
                add: n as i64,
                del: 0,
                deleting,
                stamped: now,
            },
        );
    }

    /// `ExpectDeletions` of these pod keys: replace the record, stamped `now`.
    pub fn expect_deletions(&mut self, owner: &str, pods: &[ObjectKey], now: Timestamp) {
        self.records.insert(
            owner.to_string(),
            Record {
                add: 0,
                del: pods.len() as i64,
                deleting: pods.iter().cloned().collect(),
                stamped: now,
            },
        );
    }

    /// `CreationObserved`: one expected creation arrived (or will never happen).
    pub fn creation_observed(&mut self, owner: &str) {
        if let Some(r) = self.records.get_mut(owner) {
            r.add -= 1;
        }
    }

    /// `DeletionObserved`: the pod is gone or going; counted once per pod key.
    pub fn deletion_observed(&mut self, owner: &str, pod: &str) {
        if let Some(r) = self.records.get_mut(owner)
            && r.deleting.remove(pod)
        {
            r.del -= 1;
        }
    }

    /// `DeleteExpectations`: the owner is gone.
    pub fn forget(&mut self, owner: &str) {
        self.records.remove(owner);
    }

    /// The outstanding (creations, deletions) of an owner, for logs and tests.
    pub fn pending(&self, owner: &str) -> (i64, i64) {
        self.records
            .get(owner)
            .map(|r| (r.add, r.del))
            .unwrap_or((0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::fixtures::t;

    #[test]
    fn no_record_is_satisfied() {
        assert!(Expectations::default().satisfied("ns/rs", t(0)));
    }

    #[test]
    fn creations_are_satisfied_once_all_are_observed() {
        let mut e = Expectations::default();
        e.expect_creations("ns/rs", 2, t(0));
        assert!(!e.satisfied("ns/rs", t(1)));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs", t(1)));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs", t(1)));
    }

    #[test]
    fn deletions_count_each_pod_key_once() {
        let mut e = Expectations::default();
        e.expect_deletions("ns/rs", &["ns/a".into(), "ns/b".into()], t(0));
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/unrelated");
        assert_eq!(e.pending("ns/rs"), (0, 1));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs", t(1)));
    }

    #[test]
    fn expectations_expire_after_five_minutes() {
        let mut e = Expectations::default();
        e.expect_creations("ns/rs", 3, t(0));
        assert!(!e.satisfied("ns/rs", t(300)));
        assert!(e.satisfied("ns/rs", t(301)));
    }

    #[test]
    fn set_expectations_replaces_and_restamps() {
        let mut e = Expectations::default();
        e.expect_creations("ns/rs", 3, t(0));
        e.expect_creations("ns/rs", 1, t(200));
        assert_eq!(e.pending("ns/rs"), (1, 0));
        assert!(!e.satisfied("ns/rs", t(400)));
    }

    #[test]
    fn observations_do_not_restamp() {
        let mut e = Expectations::default();
        e.expect_creations("ns/rs", 3, t(0));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs", t(301)));
    }

    #[test]
    fn forgotten_owner_is_satisfied() {
        let mut e = Expectations::default();
        e.expect_creations("ns/rs", 3, t(0));
        e.forget("ns/rs");
        assert!(e.satisfied("ns/rs", t(0)));
    }
}
