//! Events, as upstream's recorder sends them: published in the background so a sync never
//! waits on them, and limited per object like client-go's `EventSourceObjectSpamFilter`
//! ([`SpamFilter`]: a burst of 25, then one every 5 minutes), so scaling to 1000 pods does not
//! write 1000 events. client-go's other correlator step, the `EventAggregator` (10 events of
//! one reason with different messages within 10 minutes become one "(combined from similar
//! events)" Event), is not done here. Each is its own `events.k8s.io/v1` Event: kube-runtime's
//! `Recorder` folds events of one reason into a series that keeps the first message only
//! ("Scaled up … from 0 to 3 (x7)"), which would misreport every later scaling step.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::time::Instant;
use tracing::debug;

const BURST: f64 = 25.0;
const REFILL_EVERY: Duration = Duration::from_secs(300);

/// client-go's `EventSourceObjectSpamFilter` with its defaults: a token bucket per object (by
/// UID), full at 25 and refilled by one every 5 minutes; an event that finds its bucket empty
/// is dropped. Upstream's key is the event's source, its involved object and its type; here
/// one filter serves one controller (the source), and the UID stands for the object, so
/// Normal and Warning events about one object share a bucket. Upstream keeps the 4096 most
/// recently used buckets; here, past 10,000 buckets, those untouched for 125 minutes (long
/// enough to refill from empty) are dropped.
#[derive(Default)]
pub struct SpamFilter {
    budget: Mutex<HashMap<String, (f64, Instant)>>,
}

impl SpamFilter {
    /// Whether an event about the object `key` may go out at `now` (taking a token if so).
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if budget.len() > 10_000 {
            budget.retain(|_, (_, at)| now.duration_since(*at) < REFILL_EVERY * 25);
        }
        let (tokens, last) = budget.entry(key.to_string()).or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() / REFILL_EVERY.as_secs_f64())
            .min(BURST);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Publishes events for one controller.
pub struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
    spam: SpamFilter,
}

/// Normal or Warning.
#[derive(Debug, Clone, Copy)]
enum EventType {
    Normal,
    Warning,
}

impl Events {
    /// A sink reporting as `controller` (for example `replicaset-controller.bosun.dev`).
    pub fn new(client: kube::Client, controller: &str) -> Self {
        let instance = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "bosun".into());
        Self {
            client,
            controller: controller.into(),
            instance,
            spam: SpamFilter::default(),
        }
    }

    fn allow(&self, reference: &ObjectReference) -> bool {
        let key = reference.uid.as_deref().unwrap_or_default();
        self.spam.allow(key, Instant::now())
    }

    /// A Normal event about `reference`, concerning `related` (the pod created, say).
    pub fn normal(
        &self,
        reference: &ObjectReference,
        related: Option<ObjectReference>,
        reason: &str,
        note: String,
    ) {
        self.publish(reference, related, EventType::Normal, reason, note);
    }

    /// A Warning event about `reference`.
    pub fn warning(
        &self,
        reference: &ObjectReference,
        related: Option<ObjectReference>,
        reason: &str,
        note: String,
    ) {
        self.publish(reference, related, EventType::Warning, reason, note);
    }

    fn publish(
        &self,
        reference: &ObjectReference,
        related: Option<ObjectReference>,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        if !self.allow(reference) {
            debug!(reason, "event dropped by the per-object rate limit");
            return;
        }
        let ns = reference
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let now = k8s_openapi::jiff::Timestamp::now();
        let ev = Event {
            metadata: ObjectMeta {
                // Upstream's naming: `<object>.<unix nanoseconds in hex>`.
                name: Some(format!(
                    "{}.{:x}",
                    reference.name.clone().unwrap_or_default(),
                    now.as_nanosecond()
                )),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(match type_ {
                EventType::Normal => "Normal".into(),
                EventType::Warning => "Warning".into(),
            }),
            reason: Some(reason.into()),
            action: Some(reason.into()),
            note: Some(note.chars().take(1024).collect()),
            regarding: Some(reference.clone()),
            related,
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        tokio::spawn(async move {
            if let Err(e) = api.create(&PostParams::default(), &ev).await {
                tracing::warn!(error = %e, "publishing an event failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// How many of `n` events about `key`, at `t0`, `t0 + every`, … the filter lets through.
    fn allowed(f: &SpamFilter, key: &str, t0: Instant, every: Duration, n: u32) -> usize {
        (0..n).filter(|i| f.allow(key, t0 + every * *i)).count()
    }

    #[test]
    fn a_burst_of_25_events_about_one_object_goes_out_and_the_26th_is_dropped() {
        let f = SpamFilter::default();
        let t0 = Instant::now();
        assert_eq!(allowed(&f, "rs", t0, Duration::ZERO, 25), 25);
        assert!(!f.allow("rs", t0), "the 26th");
        assert!(!f.allow("rs", t0 + secs(1)));
    }

    #[test]
    fn after_the_burst_one_event_goes_out_every_five_minutes() {
        let f = SpamFilter::default();
        let t0 = Instant::now();
        assert_eq!(allowed(&f, "rs", t0, Duration::ZERO, 25), 25);
        assert!(!f.allow("rs", t0 + secs(299)));
        assert!(f.allow("rs", t0 + secs(300)), "one token refilled");
        assert!(!f.allow("rs", t0 + secs(301)));
        assert!(f.allow("rs", t0 + secs(600)));
    }

    #[test]
    fn each_object_has_a_bucket_of_its_own() {
        let f = SpamFilter::default();
        let t0 = Instant::now();
        assert_eq!(allowed(&f, "rs-a", t0, Duration::ZERO, 30), 25);
        assert_eq!(allowed(&f, "rs-b", t0, Duration::ZERO, 30), 25);
        assert!(!f.allow("rs-a", t0) && !f.allow("rs-b", t0));
    }

    #[test]
    fn a_quiet_object_refills_to_the_burst_and_no_further() {
        let f = SpamFilter::default();
        let t0 = Instant::now();
        assert_eq!(allowed(&f, "rs", t0, Duration::ZERO, 25), 25);
        // 25 refills take 125 minutes; a day refills no more than that.
        let t1 = t0 + secs(25 * 300);
        assert_eq!(allowed(&f, "rs", t1, Duration::ZERO, 30), 25);
        let t2 = t1 + secs(86_400);
        assert_eq!(allowed(&f, "rs", t2, Duration::ZERO, 30), 25);
    }

    /// An object always failing, with an event every 10 s for an hour (360 events, spanning
    /// 3590 s): the burst, then one per 300 s of that span (11.97 tokens, so 11), as client-go's
    /// token bucket (`golang.org/x/time/rate`, 1/300 per second, burst 25) lets through.
    #[test]
    fn an_hour_of_events_every_ten_seconds_sends_36() {
        let f = SpamFilter::default();
        assert_eq!(allowed(&f, "rs", Instant::now(), secs(10), 360), 25 + 11);
    }

    #[test]
    fn past_10000_objects_only_buckets_quiet_for_125_minutes_are_forgotten() {
        let f = SpamFilter::default();
        let t0 = Instant::now();
        for i in 0..10_000 {
            f.allow(&format!("quiet-{i}"), t0);
        }
        // An object that drained its bucket two minutes before the clean-up.
        let busy_at = t0 + secs(123 * 60);
        assert_eq!(allowed(&f, "busy", busy_at, Duration::ZERO, 30), 25);
        let len = || f.budget.lock().unwrap_or_else(|e| e.into_inner()).len();
        assert_eq!(len(), 10_001);
        // The next event past 10,000 buckets, 125 minutes after the quiet ones: they go.
        let later = t0 + secs(125 * 60);
        assert!(f.allow("new", later));
        assert_eq!(len(), 2, "busy and new are left");
        // The busy object's bucket was kept: no fresh burst for it (two minutes refilled 0.4).
        assert!(!f.allow("busy", later));
    }
}
