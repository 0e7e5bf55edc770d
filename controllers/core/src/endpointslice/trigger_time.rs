//! Upstream's `TriggerTimeTracker` (`util/trigger_time_tracker.go`) and
//! `addTriggerTimeAnnotation`: the `endpoints.kubernetes.io/last-change-trigger-time` annotation
//! on every slice written, the time of the earliest change that this write reflects.
//!
//! | sync                                   | trigger time                                        |
//! |----------------------------------------|-----------------------------------------------------|
//! | first sync of a Service                | the Service's creation time                         |
//! | pods whose Ready transition is newer   | the earliest of those transitions                   |
//! | nothing newer than last time           | none: the annotation is removed from written slices |

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Pod, Service};

use super::Slice;
use crate::Timestamp;
use crate::pod::ready_condition;

/// `endpoints.kubernetes.io/last-change-trigger-time`.
pub const ANNOTATION_TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";

#[derive(Debug, Clone, Default)]
struct State {
    service: Option<Timestamp>,
    pods: HashMap<String, Timestamp>,
}

/// What each Service's last sync saw.
#[derive(Debug, Clone, Default)]
pub struct TriggerTimeTracker {
    states: HashMap<(String, String), State>,
}

fn pod_trigger_time(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

impl TriggerTimeTracker {
    /// `ComputeEndpointLastChangeTriggerTime`, remembering what it saw (see the table).
    pub fn compute(&mut self, svc: &Service, pods: &[&Pod]) -> Option<Timestamp> {
        let key = (
            svc.metadata.namespace.clone().unwrap_or_default(),
            svc.metadata.name.clone().unwrap_or_default(),
        );
        let known = self.states.contains_key(&key);
        let state = self.states.entry(key).or_default();
        let mut earliest: Option<Timestamp> = None;
        let mut seen = HashMap::new();
        for pod in pods {
            let Some(t) = pod_trigger_time(pod) else {
                continue;
            };
            let name = pod.metadata.name.clone().unwrap_or_default();
            if state.pods.get(&name).is_none_or(|last| t > *last) {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
            seen.insert(name, t);
        }
        let created = svc.metadata.creation_timestamp.as_ref().map(|t| t.0);
        if let Some(c) = created
            && state.service.is_none_or(|last| c > last)
        {
            earliest = Some(earliest.map_or(c, |e| e.min(c)));
        }
        state.pods = seen;
        state.service = created;
        if !known {
            return created;
        }
        earliest
    }

    /// `DeleteService`.
    pub fn delete_service(&mut self, namespace: &str, name: &str) {
        self.states
            .remove(&(namespace.to_string(), name.to_string()));
    }
}

/// `addTriggerTimeAnnotation`: set the annotation (UTC, RFC 3339 with as many fraction digits
/// as needed) or remove it when there is no trigger time.
pub fn set_trigger_time(slice: &mut Slice, at: Option<Timestamp>) {
    let annotations = slice.metadata.annotations.get_or_insert_with(BTreeMap::new);
    match at {
        Some(t) => {
            annotations.insert(ANNOTATION_TRIGGER_TIME.into(), t.to_string());
        }
        None => {
            annotations.remove(ANNOTATION_TRIGGER_TIME);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::fixtures::{pod, t};
    use bosun_api::discovery::AddressType;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    fn svc() -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some("svc".into()),
                namespace: Some("ns".into()),
                creation_timestamp: Some(Time(t(1))),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn compute_endpoint_last_change_trigger_time_first_sync_is_service_creation() {
        let mut tr = TriggerTimeTracker::default();
        let a = pod("a").ready_at(t(50)).build();
        assert_eq!(tr.compute(&svc(), &[&a]), Some(t(1)));
        assert_eq!(tr.compute(&svc(), &[&a]), None, "nothing changed since");
    }

    #[test]
    fn compute_endpoint_last_change_trigger_time_earliest_changed_pod() {
        let mut tr = TriggerTimeTracker::default();
        let (a, b) = (
            pod("a").ready_at(t(10)).build(),
            pod("b").ready_at(t(10)).build(),
        );
        tr.compute(&svc(), &[&a, &b]);
        let (a2, b2) = (
            pod("a").ready_at(t(30)).build(),
            pod("b").ready_at(t(20)).build(),
        );
        assert_eq!(tr.compute(&svc(), &[&a2, &b2]), Some(t(20)));
        let c = pod("c").not_ready().build();
        assert_eq!(
            tr.compute(&svc(), &[&a2, &b2, &c]),
            None,
            "no transition time"
        );
        tr.delete_service("ns", "svc");
        assert_eq!(tr.compute(&svc(), &[&a2]), Some(t(1)), "forgotten");
    }

    #[test]
    fn add_trigger_time_annotation_sets_or_removes() {
        let mut s = Slice {
            metadata: ObjectMeta::default(),
            address_type: AddressType::IPv4,
            endpoints: vec![],
            ports: vec![],
        };
        set_trigger_time(&mut s, Some(t(0)));
        let get = |s: &Slice| {
            s.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_TRIGGER_TIME))
                .cloned()
        };
        assert_eq!(get(&s).as_deref(), Some("2027-01-15T08:00:00Z"));
        set_trigger_time(&mut s, None);
        assert_eq!(get(&s), None);
    }
}
