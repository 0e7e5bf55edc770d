//! Events, as upstream's recorder sends them: published in the background so a sync never
//! waits on them, and limited per object like client-go's `EventSourceObjectSpamFilter`
//! (a burst of 25, then one every 5 minutes), so scaling to 1000 pods does not write 1000
//! events.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use tokio::time::Instant;
use tracing::debug;

const BURST: f64 = 25.0;
const REFILL_EVERY: Duration = Duration::from_secs(300);

/// Publishes events for one controller.
pub struct Events {
    recorder: Recorder,
    budget: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Events {
    /// A sink reporting as `controller` (for example `replicaset-controller.bosun.dev`).
    pub fn new(client: kube::Client, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client, reporter),
            budget: Mutex::new(HashMap::new()),
        }
    }

    fn allow(&self, reference: &ObjectReference) -> bool {
        let key = reference.uid.clone().unwrap_or_default();
        let now = Instant::now();
        let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if budget.len() > 10_000 {
            budget.retain(|_, (_, at)| now.duration_since(*at) < REFILL_EVERY * 25);
        }
        let (tokens, last) = budget.entry(key).or_insert((BURST, now));
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
        // The related object keeps one pod's event from being folded into another's series.
        let ev = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: reason.into(),
            secondary: related,
        };
        let recorder = self.recorder.clone();
        let reference = reference.clone();
        tokio::spawn(async move {
            if let Err(e) = recorder.publish(&ev, &reference).await {
                debug!(error = %e, "publishing an event failed");
            }
        });
    }
}
