//! The ReplicaSet controller's event handlers (upstream's `addPod`, `updatePod`, `deletePod`,
//! `addRS`, `updateRS`, `deleteRS` in pkg/controller/replicaset/replica_set.go) as pure
//! functions to [`Wake`]s.

use std::time::Duration;

use bosun_api::apps::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;

use crate::key_of;
use crate::pod::{controller_of, is_ready};
use crate::wake::{Cache, Wake, resolve_replicaset, selects};

/// The key of the cached ReplicaSet that controls `pod`, with the ReplicaSet.
fn owner(
    caches: &impl Cache<ReplicaSet>,
    pod: &Pod,
) -> Option<(String, std::sync::Arc<ReplicaSet>)> {
    let r = controller_of(&pod.metadata)?;
    let ns = pod.metadata.namespace.as_deref()?;
    let rs = resolve_replicaset(caches, ns, r)?;
    Some((key_of(&rs.metadata), rs))
}

/// `getPodReplicaSets`: every ReplicaSet of the Pod's namespace whose selector matches it.
fn matching(caches: &impl Cache<ReplicaSet>, pod: &Pod) -> Vec<Wake> {
    let Some(ns) = pod.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    caches
        .in_namespace(ns)
        .iter()
        .filter(|rs| selects(&rs.spec.selector, pod.metadata.labels.as_ref()))
        .map(|rs| Wake::Sync(key_of(&rs.metadata)))
        .collect()
}

/// `deletePod`: the owner's expectation of this deletion is settled and the owner synced.
pub fn pod_deleted(caches: &impl Cache<ReplicaSet>, pod: &Pod) -> Vec<Wake> {
    match owner(caches, pod) {
        Some((key, _)) => vec![
            Wake::DeletionObserved(key.clone(), key_of(&pod.metadata)),
            Wake::Sync(key),
        ],
        None => Vec::new(),
    }
}

/// `addPod`.
pub fn pod_added(caches: &impl Cache<ReplicaSet>, pod: &Pod) -> Vec<Wake> {
    if pod.metadata.deletion_timestamp.is_some() {
        // A Pod that shows up already terminating (after a restart, say) counts as deleted.
        return pod_deleted(caches, pod);
    }
    if controller_of(&pod.metadata).is_some() {
        // A controlled Pod wakes its owner only, whose creation it may settle.
        return match owner(caches, pod) {
            Some((key, _)) => vec![Wake::CreationObserved(key.clone()), Wake::Sync(key)],
            None => Vec::new(),
        };
    }
    // An orphan wakes every ReplicaSet that may adopt it.
    matching(caches, pod)
}

/// `updatePod`.
pub fn pod_updated(caches: &impl Cache<ReplicaSet>, old: &Pod, cur: &Pod) -> Vec<Wake> {
    if old.metadata.resource_version == cur.metadata.resource_version {
        // A periodic resync: nothing changed.
        return Vec::new();
    }
    let labels_changed = old.metadata.labels != cur.metadata.labels;
    if cur.metadata.deletion_timestamp.is_some() {
        // Terminating: replace it now, not when the kubelet is done with it; with new labels,
        // its old owner (if another) is told too.
        let mut out = pod_deleted(caches, cur);
        if labels_changed {
            out.extend(pod_deleted(caches, old));
        }
        return out;
    }
    let (old_ref, cur_ref) = (controller_of(&old.metadata), controller_of(&cur.metadata));
    let ref_changed = old_ref.map(|r| &r.uid) != cur_ref.map(|r| &r.uid);
    let mut out = Vec::new();
    if ref_changed && old_ref.is_some() {
        // The old controller lost it.
        if let Some((key, _)) = owner(caches, old) {
            out.push(Wake::Sync(key));
        }
    }
    if cur_ref.is_some() {
        if let Some((key, rs)) = owner(caches, cur) {
            out.push(Wake::Sync(key.clone()));
            // A Pod just Ready becomes available minReadySeconds later; nothing else would
            // wake the ReplicaSet then.
            let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
            if min_ready > 0 && !is_ready(old) && is_ready(cur) {
                out.push(Wake::After(key, Duration::from_secs(min_ready as u64)));
            }
        }
        return out;
    }
    // An orphan: if anything that matters for adoption changed, wake whoever may adopt it.
    if labels_changed || ref_changed {
        out.extend(matching(caches, cur));
    }
    out
}

/// `addRS`.
pub fn rs_added(rs: &ReplicaSet) -> Vec<Wake> {
    vec![Wake::Sync(key_of(&rs.metadata))]
}

/// `updateRS`: always synced (upstream: safer than comparing specs); a ReplicaSet deleted and
/// recreated between two observations (another UID) loses the old one's expectations first.
pub fn rs_updated(old: &ReplicaSet, cur: &ReplicaSet) -> Vec<Wake> {
    let key = key_of(&cur.metadata);
    let mut out = Vec::new();
    if old.metadata.uid != cur.metadata.uid {
        out.push(Wake::Forget(key.clone()));
    }
    out.push(Wake::Sync(key));
    out
}

/// `deleteRS`: its expectations dropped, and one last sync (which finds it gone).
pub fn rs_deleted(rs: &ReplicaSet) -> Vec<Wake> {
    let key = key_of(&rs.metadata);
    vec![Wake::Forget(key.clone()), Wake::Sync(key)]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
    use serde_json::json;

    use super::*;
    use crate::wake::fake::FakeCaches;

    fn rs(name: &str, uid: &str, app: &str, min_ready: i32) -> Arc<ReplicaSet> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                "metadata": {"name": name, "namespace": "ns", "uid": uid},
                "spec": {"replicas": 1, "minReadySeconds": min_ready,
                         "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}
            }))
            .expect("a ReplicaSet"),
        )
    }

    fn caches() -> FakeCaches {
        FakeCaches {
            replicasets: vec![
                rs("web", "uid-web", "web", 0),
                rs("slow", "uid-slow", "slow", 10),
                rs("web-too", "uid-web-too", "web", 0),
            ],
            deployments: Vec::new(),
        }
    }

    fn pod(rv: &str, app: &str, owner: Option<(&str, &str)>) -> Pod {
        let mut p = Pod {
            metadata: ObjectMeta {
                name: Some("p".into()),
                namespace: Some("ns".into()),
                resource_version: Some(rv.into()),
                labels: Some(BTreeMap::from([("app".to_string(), app.to_string())])),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        };
        if let Some((name, uid)) = owner {
            p.metadata.owner_references = Some(vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "apps.bosun.dev/v1".into(),
                    kind: "ReplicaSet".into(),
                    name: name.into(),
                    uid: uid.into(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                },
            ]);
        }
        p
    }

    fn ready(mut p: Pod, is: bool) -> Pod {
        p.status = Some(
            serde_json::from_value(json!({"conditions": [
                {"type": "Ready", "status": if is { "True" } else { "False" }}]}))
            .expect("a status"),
        );
        p
    }

    fn terminating(mut p: Pod) -> Pod {
        p.metadata.deletion_timestamp = Some(Time(crate::Timestamp::UNIX_EPOCH));
        p
    }

    fn sync(k: &str) -> Wake {
        Wake::Sync(k.into())
    }

    #[test]
    fn add_pod_with_a_controller_observes_its_creation_and_wakes_the_owner() {
        assert_eq!(
            pod_added(&caches(), &pod("1", "web", Some(("web", "uid-web")))),
            vec![Wake::CreationObserved("ns/web".into()), sync("ns/web")]
        );
    }

    #[test]
    fn add_pod_whose_controller_is_not_cached_or_has_another_uid_wakes_nothing() {
        assert_eq!(
            pod_added(&caches(), &pod("1", "web", Some(("gone", "uid-gone")))),
            vec![]
        );
        // A ReplicaSet of the same name recreated: another object.
        assert_eq!(
            pod_added(&caches(), &pod("1", "web", Some(("web", "uid-old")))),
            vec![]
        );
        // Even when orphan-matching ReplicaSets exist: a controlled Pod is not adoptable.
    }

    #[test]
    fn add_pod_already_terminating_counts_as_its_deletion() {
        assert_eq!(
            pod_added(
                &caches(),
                &terminating(pod("1", "web", Some(("web", "uid-web"))))
            ),
            vec![
                Wake::DeletionObserved("ns/web".into(), "ns/p".into()),
                sync("ns/web")
            ]
        );
    }

    #[test]
    fn add_orphan_pod_wakes_every_matching_replicaset() {
        assert_eq!(
            pod_added(&caches(), &pod("1", "web", None)),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
        assert_eq!(pod_added(&caches(), &pod("1", "nobody", None)), vec![]);
    }

    #[test]
    fn update_pod_with_the_same_resource_version_is_a_resync_and_wakes_nothing() {
        let p = pod("5", "web", Some(("web", "uid-web")));
        assert_eq!(pod_updated(&caches(), &p, &p.clone()), vec![]);
    }

    #[test]
    fn update_pod_terminating_is_observed_as_deleted_at_once() {
        let old = pod("1", "web", Some(("web", "uid-web")));
        let cur = terminating(pod("2", "web", Some(("web", "uid-web"))));
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![
                Wake::DeletionObserved("ns/web".into(), "ns/p".into()),
                sync("ns/web")
            ]
        );
    }

    #[test]
    fn update_pod_terminating_with_new_labels_tells_the_old_owner_too() {
        let old = pod("1", "web", Some(("web", "uid-web")));
        let cur = terminating(pod("2", "other", Some(("slow", "uid-slow"))));
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![
                Wake::DeletionObserved("ns/slow".into(), "ns/p".into()),
                sync("ns/slow"),
                Wake::DeletionObserved("ns/web".into(), "ns/p".into()),
                sync("ns/web"),
            ]
        );
    }

    #[test]
    fn update_pod_whose_controller_changed_wakes_the_old_and_the_new_owner() {
        let old = pod("1", "web", Some(("web", "uid-web")));
        let cur = pod("2", "web", Some(("web-too", "uid-web-too")));
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
    }

    #[test]
    fn update_pod_released_wakes_the_old_owner_and_the_matching_replicasets() {
        let old = pod("1", "web", Some(("web", "uid-web")));
        let cur = pod("2", "web", None);
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web"), sync("ns/web-too")]
        );
    }

    #[test]
    fn update_pod_turning_ready_wakes_the_owner_again_after_min_ready_seconds() {
        let old = ready(pod("1", "slow", Some(("slow", "uid-slow"))), false);
        let cur = ready(pod("2", "slow", Some(("slow", "uid-slow"))), true);
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![
                sync("ns/slow"),
                Wake::After("ns/slow".into(), Duration::from_secs(10))
            ]
        );
        // Already Ready, or a ReplicaSet without minReadySeconds: no delayed sync.
        assert_eq!(
            pod_updated(
                &caches(),
                &cur,
                &ready(pod("3", "slow", Some(("slow", "uid-slow"))), true)
            ),
            vec![sync("ns/slow")]
        );
        let old = ready(pod("1", "web", Some(("web", "uid-web"))), false);
        let cur = ready(pod("2", "web", Some(("web", "uid-web"))), true);
        assert_eq!(pod_updated(&caches(), &old, &cur), vec![sync("ns/web")]);
    }

    #[test]
    fn update_orphan_pod_wakes_the_matching_replicasets_only_when_its_labels_change() {
        let old = pod("1", "nobody", None);
        let cur = pod("2", "web", None);
        assert_eq!(
            pod_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
        // A status change of an orphan: nobody's business.
        assert_eq!(pod_updated(&caches(), &cur, &pod("3", "web", None)), vec![]);
    }

    #[test]
    fn delete_pod_settles_the_owners_expectation_and_wakes_it() {
        assert_eq!(
            pod_deleted(&caches(), &pod("1", "web", Some(("web", "uid-web")))),
            vec![
                Wake::DeletionObserved("ns/web".into(), "ns/p".into()),
                sync("ns/web")
            ]
        );
        assert_eq!(pod_deleted(&caches(), &pod("1", "web", None)), vec![]);
    }

    #[test]
    fn add_rs_wakes_it() {
        assert_eq!(
            rs_added(&rs("web", "uid-web", "web", 0)),
            vec![sync("ns/web")]
        );
    }

    #[test]
    fn update_rs_always_wakes_it_and_a_recreated_one_forgets_the_old_expectations() {
        let a = rs("web", "uid-web", "web", 0);
        let b = rs("web", "uid-new", "web", 0);
        assert_eq!(rs_updated(&a, &a), vec![sync("ns/web")]);
        assert_eq!(
            rs_updated(&a, &b),
            vec![Wake::Forget("ns/web".into()), sync("ns/web")]
        );
    }

    #[test]
    fn delete_rs_forgets_its_expectations_and_wakes_it() {
        assert_eq!(
            rs_deleted(&rs("web", "uid-web", "web", 0)),
            vec![Wake::Forget("ns/web".into()), sync("ns/web")]
        );
    }

    #[test]
    fn a_selector_that_selects_everything_adopts_nothing() {
        let mut all = (*rs("all", "uid-all", "web", 0)).clone();
        all.spec.selector = LabelSelector::default();
        let c = FakeCaches {
            replicasets: vec![Arc::new(all)],
            deployments: Vec::new(),
        };
        assert_eq!(pod_added(&c, &pod("1", "web", None)), vec![]);
    }
}
