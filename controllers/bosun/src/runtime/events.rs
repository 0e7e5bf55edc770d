//! Events, as upstream's recorder sends them: published in the background so a sync never
//! waits on them, and limited per object like client-go's `EventSourceObjectSpamFilter`
//! (a burst of 25, then one every 5 minutes), so scaling to 1000 pods does not write 1000
//! events. Each is its own `events.k8s.io/v1` Event: kube-runtime's `Recorder` folds events
//! of one reason into a series that keeps the first message only ("Scaled up … from 0 to 3
//! (x7)"), which would misreport every later scaling step.

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

/// Publishes events for one controller.
pub struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
    budget: Mutex<HashMap<String, (f64, Instant)>>,
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
