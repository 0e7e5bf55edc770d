//! The act side of the event handlers: every informer as a `bosun_core::wake::Cache` of its kind,
//! and the one place where the [`Wake`]s a handler decided reach the queue and the
//! expectations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_core::expectations::Expectations;
use bosun_core::wake::{Cache, Wake};

use super::informer::Informer;
use super::namespace_index;
use super::queue::WorkQueue;

/// Every informer is the handlers' view of its kind's cache.
impl<K> Cache<K> for Informer<K>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync,
    K: 'static,
    K::DynamicType: Default,
{
    fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        Informer::get(self, &format!("{namespace}/{name}"))
    }
    fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        self.by_index(&namespace_index(namespace))
    }
}

/// Where a controller's wakes go: its queue, its batching window, and its expectations if it
/// keeps any.
pub struct Waker<'a> {
    pub queue: &'a WorkQueue,
    pub batch_window: Duration,
    pub expectations: Option<&'a Mutex<Expectations>>,
}

impl Waker<'_> {
    /// Apply `wakes` in order.
    pub fn apply(&self, wakes: Vec<Wake>) {
        for w in wakes {
            match w {
                Wake::Sync(key) => self.queue.add(&key),
                Wake::Batched(key) => self.queue.add_batched(&key, self.batch_window),
                Wake::After(key, delay) => self.queue.add_after(&key, delay),
                Wake::CreationObserved(key) => {
                    self.with_expectations(|e| e.creation_observed(&key));
                }
                Wake::DeletionObserved(key, pod) => {
                    self.with_expectations(|e| e.deletion_observed(&key, &pod));
                }
                Wake::Forget(key) => self.with_expectations(|e| e.forget(&key)),
            }
        }
    }

    fn with_expectations(&self, f: impl FnOnce(&mut Expectations)) {
        if let Some(m) = self.expectations {
            // A poisoned lock still holds consistent counts (each update is one call).
            f(&mut m.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_core::Timestamp;

    #[tokio::test(start_paused = true)]
    async fn wakes_settle_expectations_before_their_key_is_handed_out() {
        let queue = WorkQueue::default();
        let expectations = Mutex::new(Expectations::default());
        let now = Timestamp::now();
        {
            let mut e = expectations.lock().expect("unpoisoned");
            e.expect_creations("ns/a", 1, now);
            e.expect_deletions("ns/b", &["ns/p".to_string()], now);
            e.expect_creations("ns/c", 2, now);
        }
        let waker = Waker {
            queue: &queue,
            batch_window: Duration::from_millis(100),
            expectations: Some(&expectations),
        };
        waker.apply(vec![
            Wake::CreationObserved("ns/a".into()),
            Wake::Sync("ns/a".into()),
            Wake::DeletionObserved("ns/b".into(), "ns/p".into()),
            Wake::Forget("ns/c".into()),
        ]);
        {
            let e = expectations.lock().expect("unpoisoned");
            assert!(e.satisfied("ns/a", now), "the creation was observed");
            assert!(e.satisfied("ns/b", now), "the deletion was observed");
            assert_eq!(e.pending("ns/c"), (0, 0), "forgotten");
        }
        assert_eq!(queue.get().await.as_deref(), Some("ns/a"));
        queue.done("ns/a");
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn batched_and_delayed_wakes_arrive_after_their_window() {
        let queue = WorkQueue::default();
        let waker = Waker {
            queue: &queue,
            batch_window: Duration::from_millis(100),
            expectations: None,
        };
        let t0 = tokio::time::Instant::now();
        waker.apply(vec![
            Wake::Batched("ns/d".into()),
            Wake::Batched("ns/d".into()),
            Wake::After("ns/e".into(), Duration::from_secs(10)),
            // Without expectations these are no-ops, not panics.
            Wake::CreationObserved("ns/d".into()),
        ]);
        assert_eq!(queue.get().await.as_deref(), Some("ns/d"));
        assert_eq!(t0.elapsed(), Duration::from_millis(100));
        queue.done("ns/d");
        assert_eq!(queue.get().await.as_deref(), Some("ns/e"));
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
    }
}
