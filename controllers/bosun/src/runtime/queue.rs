//! A work queue with upstream's semantics (client-go `workqueue`): a key is queued at most once,
//! is never handed to two workers at once (re-added while processing, it runs again after),
//! can be added after a delay, and failures back off per key (5 ms doubling to 1000 s).
//!
//! kube-runtime's `Controller` hides the watch events, and the expectations need them (a pod's
//! arrival lowers its owner's expected creations), so the controllers use this queue with their
//! own event handlers, as upstream does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(1000);

/// The delay before the `failures`-th retry of a key (from 1): client-go's
/// `ItemExponentialFailureRateLimiter(5ms, 1000s)`, `5 ms * 2^(failures - 1)`, at most 1000 s.
/// (client-go's default controller limiter also caps all keys together at 10 per second,
/// burst 100; this queue does not: the client's own rate limit paces the writes.)
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(31);
    BASE_DELAY
        .saturating_mul(1u32 << exp.min(20))
        .min(MAX_DELAY)
}

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    dirty: HashSet<String>,
    processing: HashSet<String>,
    delayed: BinaryHeap<Reverse<(Instant, String)>>,
    /// Keys waiting for a batch window ([`WorkQueue::add_batched`]).
    batched: HashSet<String>,
    failures: HashMap<String, u32>,
    shutting_down: bool,
}

/// A deduplicating, delaying, rate-limited queue of object keys.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    notify: Notify,
}

impl WorkQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a worker panicked mid-update; the state is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue `key` now (a no-op when it is already queued).
    pub fn add(&self, key: &str) {
        let mut s = self.lock();
        if s.shutting_down || s.dirty.contains(key) {
            return;
        }
        s.dirty.insert(key.to_string());
        if !s.processing.contains(key) {
            s.queue.push_back(key.to_string());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Queue `key` after `delay`.
    pub fn add_after(&self, key: &str, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let mut s = self.lock();
        if s.shutting_down {
            return;
        }
        s.delayed
            .push(Reverse((Instant::now() + delay, key.to_string())));
        drop(s);
        self.notify.notify_one();
    }

    /// Queue `key` at the end of a batch window that opens now, unless a window is already open
    /// for it: a burst of events inside one window makes one sync.
    pub fn add_batched(&self, key: &str, window: Duration) {
        {
            let mut s = self.lock();
            if s.shutting_down || !s.batched.insert(key.to_string()) {
                return;
            }
        }
        self.add_after(key, window);
    }

    /// Queue `key` after its next backoff delay.
    pub fn add_rate_limited(&self, key: &str) {
        let delay = {
            let mut s = self.lock();
            let n = s.failures.entry(key.to_string()).or_insert(0);
            *n += 1;
            backoff(*n)
        };
        self.add_after(key, delay);
    }

    /// Reset `key`'s backoff after a success.
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// How many keys wait (queued now or later).
    pub fn len(&self) -> usize {
        let s = self.lock();
        s.queue.len() + s.delayed.len()
    }

    /// The next key to process; `None` once the queue shuts down.
    pub async fn get(&self) -> Option<String> {
        loop {
            let wait_until = {
                let mut s = self.lock();
                if s.shutting_down {
                    return None;
                }
                let now = Instant::now();
                while let Some(Reverse((at, _))) = s.delayed.peek() {
                    if *at > now {
                        break;
                    }
                    let Some(Reverse((_, key))) = s.delayed.pop() else {
                        break;
                    };
                    s.batched.remove(&key);
                    if !s.dirty.contains(&key) {
                        s.dirty.insert(key.clone());
                        if !s.processing.contains(&key) {
                            s.queue.push_back(key);
                        }
                    }
                }
                if let Some(key) = s.queue.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    return Some(key);
                }
                s.delayed.peek().map(|Reverse((at, _))| *at)
            };
            match wait_until {
                Some(at) => {
                    tokio::select! {
                        _ = self.notify.notified() => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => self.notify.notified().await,
            }
        }
    }

    /// Mark `key` processed; if it was re-added meanwhile, queue it again.
    pub fn done(&self, key: &str) {
        let mut s = self.lock();
        s.processing.remove(key);
        if s.dirty.contains(key) {
            s.queue.push_back(key.to_string());
            drop(s);
            self.notify.notify_one();
        }
    }

    /// Stop handing out keys; waiting `get`s return `None`.
    pub fn shut_down(&self) {
        self.lock().shutting_down = true;
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_key_is_queued_once() {
        let q = WorkQueue::default();
        q.add("a");
        q.add("a");
        q.add("b");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(q.get().await.as_deref(), Some("b"));
        assert_eq!(q.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_re_added_while_processing_runs_again_after_done() {
        let q = WorkQueue::default();
        q.add("a");
        let k = q.get().await;
        q.add("a");
        assert_eq!(q.len(), 0, "not handed out while processing");
        q.done(k.as_deref().unwrap_or_default());
        assert_eq!(q.get().await.as_deref(), Some("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_inside_a_batch_window_makes_one_sync() {
        let q = WorkQueue::default();
        q.add_batched("a", Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(50)).await;
        q.add_batched("a", Duration::from_millis(100));
        q.add_batched("a", Duration::from_millis(100));
        assert_eq!(q.len(), 1, "one window, one pending key");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        q.done("a");
        assert_eq!(q.len(), 0, "the burst made one sync");
        // The window closed: the next event opens a new one.
        q.add_batched("a", Duration::from_millis(100));
        assert_eq!(q.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_keys_arrive_after_their_delay() {
        let q = WorkQueue::default();
        q.add_after("late", Duration::from_secs(5));
        q.add_after("early", Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(q.get().await.as_deref(), Some("early"));
        assert!(start.elapsed() >= Duration::from_secs(1));
        assert_eq!(q.get().await.as_deref(), Some("late"));
        assert!(start.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_until_forgotten() {
        let q = WorkQueue::default();
        let start = Instant::now();
        for expected_ms in [5u64, 10, 20] {
            q.add_rate_limited("k");
            let k = q.get().await;
            q.done(k.as_deref().unwrap_or_default());
            let _ = expected_ms;
        }
        assert!(start.elapsed() >= Duration::from_millis(35));
        q.forget("k");
        let t = Instant::now();
        q.add_rate_limited("k");
        q.get().await;
        assert!(t.elapsed() < Duration::from_millis(6));
    }

    /// Five workers, keys added now, later and with backoff from inside the workers: every
    /// delayed key is handed out once its delay has passed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_delayed_key_is_delivered_to_some_worker() {
        use std::sync::Arc;
        let q = Arc::new(WorkQueue::default());
        let seen = Arc::new(std::sync::Mutex::new(HashMap::<String, u32>::new()));
        let workers: Vec<_> = (0..5)
            .map(|_| {
                let (q, seen) = (q.clone(), seen.clone());
                tokio::spawn(async move {
                    while let Some(k) = q.get().await {
                        let n = {
                            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
                            let n = s.entry(k.clone()).or_insert(0);
                            *n += 1;
                            *n
                        };
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        if n == 1 {
                            if k.starts_with("fail") {
                                q.add_rate_limited(&k);
                            } else {
                                q.add_after(&k, Duration::from_millis(50));
                            }
                        }
                        q.done(&k);
                    }
                })
            })
            .collect();
        for i in 0..200 {
            q.add(&format!("k{i}"));
            q.add(&format!("fail{i}"));
            if i % 7 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let done = seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
                .filter(|n| **n >= 2)
                .count();
            if done == 400 || Instant::now() > deadline {
                assert_eq!(done, 400, "some requeued keys were never handed out again");
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        q.shut_down();
        for w in workers {
            let _ = w.await;
        }
    }

    #[test]
    fn backoff_doubles_from_5ms_and_stops_at_1000s() {
        let ms = Duration::from_millis;
        for (failures, want) in [
            (1, ms(5)),
            (2, ms(10)),
            (3, ms(20)),
            (4, ms(40)),
            (10, ms(2_560)),
            (18, ms(655_360)),
            // 5 ms * 2^18 = 1310.72 s: capped.
            (19, Duration::from_secs(1000)),
            (32, Duration::from_secs(1000)),
            (u32::MAX, Duration::from_secs(1000)),
        ] {
            assert_eq!(backoff(failures), want, "failure {failures}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_key_backs_off_on_its_own_failures() {
        let q = WorkQueue::default();
        let t0 = Instant::now();
        // "a" fails three times in a row: retried after 5, 10, then 20 ms.
        let mut at = Vec::new();
        for _ in 0..3 {
            q.add_rate_limited("a");
            let k = q.get().await;
            at.push(t0.elapsed());
            q.done(k.as_deref().unwrap_or_default());
        }
        let ms = Duration::from_millis;
        assert_eq!(at, [ms(5), ms(5 + 10), ms(5 + 10 + 20)]);
        // "b"'s first failure starts at 5 ms, whatever "a" went through.
        let t1 = Instant::now();
        q.add_rate_limited("b");
        assert_eq!(q.get().await.as_deref(), Some("b"));
        assert_eq!(t1.elapsed(), ms(5));
        q.done("b");
        // A success of "a" (forget) starts it over.
        q.forget("a");
        let t2 = Instant::now();
        q.add_rate_limited("a");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(t2.elapsed(), ms(5));
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_handed_out_in_the_order_they_were_queued() {
        let q = WorkQueue::default();
        for k in ["c", "a", "b", "a"] {
            q.add(k);
        }
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(q.get().await.unwrap_or_default());
        }
        assert_eq!(got, ["c", "a", "b"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_add_of_a_key_still_queued_is_absorbed() {
        let q = WorkQueue::default();
        q.add("a");
        q.add_after("a", Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(q.get().await.as_deref(), Some("a"));
        q.done("a");
        assert_eq!(
            q.len(),
            0,
            "the delayed add found the key queued and merged into it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_add_of_a_key_processed_meanwhile_queues_it_again() {
        let q = WorkQueue::default();
        let t0 = Instant::now();
        q.add("a");
        q.add_after("a", Duration::from_secs(1));
        assert_eq!(q.get().await.as_deref(), Some("a"));
        q.done("a");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_window_is_not_extended_by_later_events() {
        let q = WorkQueue::default();
        let t0 = Instant::now();
        let window = Duration::from_millis(100);
        q.add_batched("a", window);
        q.add_batched("b", window);
        tokio::time::advance(Duration::from_millis(60)).await;
        q.add_batched("a", window);
        // "c"'s window opens 60 ms later than the others'.
        q.add_batched("c", window);
        let mut got = Vec::new();
        for _ in 0..3 {
            let k = q.get().await.unwrap_or_default();
            got.push((k.clone(), t0.elapsed()));
            q.done(&k);
        }
        let ms = Duration::from_millis;
        assert_eq!(
            got,
            [
                ("a".to_string(), ms(100)),
                ("b".to_string(), ms(100)),
                ("c".to_string(), ms(160)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_closing_while_its_key_is_processed_runs_it_after_done() {
        let q = WorkQueue::default();
        q.add("a");
        assert_eq!(q.get().await.as_deref(), Some("a"));
        // An event during the sync opens a window; it closes before the sync ends.
        q.add_batched("a", Duration::from_millis(10));
        tokio::time::advance(Duration::from_millis(20)).await;
        // Handing out "b" moves the due key along: marked, but not handed out twice.
        q.add("b");
        assert_eq!(q.get().await.as_deref(), Some("b"));
        q.done("b");
        q.done("a");
        assert_eq!(q.get().await.as_deref(), Some("a"), "after done");
    }

    #[tokio::test(start_paused = true)]
    async fn after_shut_down_nothing_is_added_or_handed_out() {
        let q = WorkQueue::default();
        q.add("a");
        q.shut_down();
        q.add("b");
        q.add_after("c", Duration::from_millis(1));
        q.add_batched("d", Duration::from_millis(1));
        q.add_rate_limited("e");
        assert_eq!(q.get().await, None, "even with a key queued before");
        assert_eq!(q.len(), 1, "only what was queued before the shut-down");
    }

    #[tokio::test(start_paused = true)]
    async fn shut_down_releases_waiting_workers() {
        let q = std::sync::Arc::new(WorkQueue::default());
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.get().await });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(waiter.await.ok().flatten(), None);
    }
}
