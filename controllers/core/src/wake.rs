//! What a watch event asks of a controller: the keys it wakes and the expectations it settles.
//!
//! Upstream's event handlers (`addPod`, `updateReplicaSet`, ...) read the informers' caches and
//! then call the work queue and the expectations directly. bosun splits them as it splits a
//! sync: the decision is a pure function here, from the event and a read-only view of the caches
//! ([`Cache`]) to a list of [`Wake`]s, tested one upstream rule at a time; the runtime applies
//! the list in order (`controllers/bosun/src/runtime/wake.rs`).

use std::sync::Arc;
use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use crate::ObjectKey;
use crate::selector::Selector;

/// One thing a watch event asks of the runtime. Applied in order: an expectation is settled
/// before the key it belongs to is synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// Sync this key now.
    Sync(ObjectKey),
    /// Sync this key at the end of the controller's batching window (a burst of Pod events
    /// makes one sync).
    Batched(ObjectKey),
    /// Sync this key after a delay.
    After(ObjectKey, Duration),
    /// A Pod that this key's controller created was observed (`CreationObserved`).
    CreationObserved(ObjectKey),
    /// The deletion of Pod `.1`, which this key's controller may have asked for, was observed
    /// (`DeletionObserved`).
    DeletionObserved(ObjectKey, ObjectKey),
    /// The key's object is gone or was recreated: drop its expectations
    /// (`DeleteExpectations`).
    Forget(ObjectKey),
}

/// The read-only view of one informer's cache that the handlers need (the runtime's informer
/// of `K` is one, whatever `K`: a new kind needs nothing here).
pub trait Cache<K> {
    /// The cached object `namespace/name`.
    fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>>;
    /// The cached objects of a namespace.
    fn in_namespace(&self, namespace: &str) -> Vec<Arc<K>>;
}

/// Whether a controller reference names one of bosun's `apps` kinds of this `kind`.
pub fn names_bosun_kind(r: &OwnerReference, kind: &str) -> bool {
    r.kind == kind
        && r.api_version
            .strip_prefix(bosun_api::apps::GROUP)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `resolveControllerRef`: the object `lookup` finds under the name a controller reference of
/// bosun's `kind` gives, if its UID is the reference's (an object of the same name recreated is
/// another object).
fn resolve<K>(
    r: &OwnerReference,
    kind: &str,
    lookup: impl FnOnce(&str) -> Option<Arc<K>>,
    uid: impl FnOnce(&K) -> Option<&str>,
) -> Option<Arc<K>> {
    if !names_bosun_kind(r, kind) {
        return None;
    }
    let o = lookup(&r.name)?;
    (uid(&o) == Some(r.uid.as_str())).then_some(o)
}

/// [`resolve`] for ReplicaSets.
pub fn resolve_replicaset(
    caches: &impl Cache<ReplicaSet>,
    namespace: &str,
    r: &OwnerReference,
) -> Option<Arc<ReplicaSet>> {
    resolve(
        r,
        "ReplicaSet",
        |name| caches.get(namespace, name),
        |rs| rs.metadata.uid.as_deref(),
    )
}

/// [`resolve`] for Deployments.
pub fn resolve_deployment(
    caches: &impl Cache<Deployment>,
    namespace: &str,
    r: &OwnerReference,
) -> Option<Arc<Deployment>> {
    resolve(
        r,
        "Deployment",
        |name| caches.get(namespace, name),
        |d| d.metadata.uid.as_deref(),
    )
}

/// Whether a non-empty selector (an unparsable or empty one selects nothing here: the CRDs
/// refuse both) matches these labels.
pub fn selects(
    selector: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> bool {
    Selector::new(selector).is_ok_and(|s| !s.is_empty() && s.matches(labels))
}

#[cfg(test)]
pub(crate) mod fake {
    //! A map of objects standing in for the informers' caches in the handlers' tests.
    use super::*;

    #[derive(Default)]
    pub struct FakeCaches {
        pub replicasets: Vec<Arc<ReplicaSet>>,
        pub deployments: Vec<Arc<Deployment>>,
    }

    fn is(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, ns: &str) -> bool {
        meta.namespace.as_deref() == Some(ns)
    }

    impl Cache<ReplicaSet> for FakeCaches {
        fn get(&self, namespace: &str, name: &str) -> Option<Arc<ReplicaSet>> {
            self.replicasets
                .iter()
                .find(|r| is(&r.metadata, namespace) && r.metadata.name.as_deref() == Some(name))
                .cloned()
        }
        fn in_namespace(&self, namespace: &str) -> Vec<Arc<ReplicaSet>> {
            self.replicasets
                .iter()
                .filter(|r| is(&r.metadata, namespace))
                .cloned()
                .collect()
        }
    }

    impl Cache<Deployment> for FakeCaches {
        fn get(&self, namespace: &str, name: &str) -> Option<Arc<Deployment>> {
            self.deployments
                .iter()
                .find(|d| is(&d.metadata, namespace) && d.metadata.name.as_deref() == Some(name))
                .cloned()
        }
        fn in_namespace(&self, namespace: &str) -> Vec<Arc<Deployment>> {
            self.deployments
                .iter()
                .filter(|d| is(&d.metadata, namespace))
                .cloned()
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(api_version: &str, kind: &str) -> OwnerReference {
        OwnerReference {
            api_version: api_version.into(),
            kind: kind.into(),
            name: "x".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: None,
        }
    }

    #[test]
    fn only_bosuns_apps_group_is_resolved() {
        assert!(names_bosun_kind(
            &owner("apps.bosun.dev/v1", "ReplicaSet"),
            "ReplicaSet"
        ));
        assert!(!names_bosun_kind(
            &owner("apps/v1", "ReplicaSet"),
            "ReplicaSet"
        ));
        assert!(!names_bosun_kind(
            &owner("apps.bosun.devx/v1", "ReplicaSet"),
            "ReplicaSet"
        ));
        assert!(!names_bosun_kind(
            &owner("apps.bosun.dev/v1", "Deployment"),
            "ReplicaSet"
        ));
    }
}
