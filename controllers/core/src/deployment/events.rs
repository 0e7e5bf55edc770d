//! The Deployment controller's event handlers (upstream's `addDeployment`, `addReplicaSet`,
//! `updateReplicaSet`, `deleteReplicaSet`, `deletePod` in
//! pkg/controller/deployment/deployment_controller.go, and bosun's `updatePod`) as pure
//! functions to [`Wake`]s.

use std::sync::Arc;

use bosun_api::apps::{Deployment, DeploymentStrategyType, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use crate::key_of;
use crate::pod::{controller_of, is_finished, is_ready, is_terminating};
use crate::wake::{Cache, Wake, resolve_deployment, resolve_replicaset, selects};

/// `addDeployment`, `updateDeployment`, `deleteDeployment`: the Deployment itself.
pub fn deployment_changed(d: &Deployment) -> Vec<Wake> {
    vec![Wake::Sync(key_of(&d.metadata))]
}

/// The Deployment a ReplicaSet's controller reference resolves to.
fn owner_of_rs(caches: &impl Cache<Deployment>, rs: &ReplicaSet) -> Option<Arc<Deployment>> {
    let ns = rs.metadata.namespace.as_deref()?;
    resolve_deployment(caches, ns, controller_of(&rs.metadata)?)
}

/// `getDeploymentsForReplicaSet`: the Deployments of the ReplicaSet's namespace whose selector
/// matches it; a ReplicaSet without labels matches none.
fn matching(caches: &impl Cache<Deployment>, rs: &ReplicaSet) -> Vec<Wake> {
    let Some(ns) = rs.metadata.namespace.as_deref() else {
        return Vec::new();
    };
    if rs.metadata.labels.as_ref().is_none_or(|l| l.is_empty()) {
        return Vec::new();
    }
    caches
        .in_namespace(ns)
        .iter()
        .filter(|d| selects(&d.spec.selector, rs.metadata.labels.as_ref()))
        .map(|d| Wake::Sync(key_of(&d.metadata)))
        .collect()
}

/// `addReplicaSet`: a controlled ReplicaSet wakes its owner (a terminating one too, as
/// `deleteReplicaSet`); an orphan, unless terminating, every Deployment that may adopt it.
pub fn rs_added(caches: &impl Cache<Deployment>, rs: &ReplicaSet) -> Vec<Wake> {
    if let Some(d) = owner_of_rs(caches, rs) {
        return vec![Wake::Sync(key_of(&d.metadata))];
    }
    if controller_of(&rs.metadata).is_none() && rs.metadata.deletion_timestamp.is_none() {
        return matching(caches, rs);
    }
    Vec::new()
}

/// `updateReplicaSet`.
pub fn rs_updated(
    caches: &impl Cache<Deployment>,
    old: &ReplicaSet,
    cur: &ReplicaSet,
) -> Vec<Wake> {
    if old.metadata.resource_version == cur.metadata.resource_version {
        return Vec::new();
    }
    let (old_ref, cur_ref) = (controller_of(&old.metadata), controller_of(&cur.metadata));
    let ref_changed = old_ref.map(|r| &r.uid) != cur_ref.map(|r| &r.uid);
    let mut out = Vec::new();
    if ref_changed && let Some(d) = owner_of_rs(caches, old) {
        out.push(Wake::Sync(key_of(&d.metadata)));
    }
    if cur_ref.is_some() {
        if let Some(d) = owner_of_rs(caches, cur) {
            out.push(Wake::Sync(key_of(&d.metadata)));
        }
        return out;
    }
    if ref_changed || old.metadata.labels != cur.metadata.labels {
        out.extend(matching(caches, cur));
    }
    out
}

/// `deleteReplicaSet`: its owner.
pub fn rs_deleted(caches: &impl Cache<Deployment>, rs: &ReplicaSet) -> Vec<Wake> {
    owner_of_rs(caches, rs)
        .map(|d| vec![Wake::Sync(key_of(&d.metadata))])
        .unwrap_or_default()
}

/// `getDeploymentForPod`: the Pod's ReplicaSet (its UID checked), then that ReplicaSet's
/// Deployment.
fn owner_of_pod(
    rss: &impl Cache<ReplicaSet>,
    ds: &impl Cache<Deployment>,
    pod: &Pod,
) -> Option<Arc<Deployment>> {
    let ns = pod.metadata.namespace.as_deref()?;
    let rs = resolve_replicaset(rss, ns, controller_of(&pod.metadata)?)?;
    owner_of_rs(ds, &rs)
}

fn is_recreate(d: &Deployment) -> bool {
    d.spec.strategy.as_ref().and_then(|s| s.type_) == Some(DeploymentStrategyType::Recreate)
}

/// bosun's `updatePod` (upstream has none: it waits for the ReplicaSet's status). A Recreate
/// rollout waits for its old Pods to finish, so a Pod that finished wakes it; a rolling update
/// counts available Pods itself, so a Pod whose readiness or termination changed wakes it at
/// the end of the batching window (a burst of Pods turning Ready makes one sync).
pub fn pod_updated(
    rss: &impl Cache<ReplicaSet>,
    ds: &impl Cache<Deployment>,
    old: &Pod,
    cur: &Pod,
) -> Vec<Wake> {
    let changed = |f: fn(&Pod) -> bool| f(old) != f(cur);
    let Some(d) = owner_of_pod(rss, ds, cur) else {
        return Vec::new();
    };
    let key = key_of(&d.metadata);
    if is_recreate(&d) {
        if changed(is_finished) {
            return vec![Wake::Sync(key)];
        }
    } else if changed(is_ready) || changed(is_terminating) {
        return vec![Wake::Batched(key)];
    }
    Vec::new()
}

/// `deletePod`: a Recreate Deployment's Pod gone may unblock it. (Upstream syncs only when no
/// Pod is left; bosun syncs on each, and its sync checks.)
pub fn pod_deleted(
    rss: &impl Cache<ReplicaSet>,
    ds: &impl Cache<Deployment>,
    pod: &Pod,
) -> Vec<Wake> {
    owner_of_pod(rss, ds, pod)
        .filter(|d| is_recreate(d))
        .map(|d| vec![Wake::Sync(key_of(&d.metadata))])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wake::fake::FakeCaches;

    fn deployment(name: &str, uid: &str, app: &str, recreate: bool) -> Arc<Deployment> {
        let strategy = if recreate {
            json!({"type": "Recreate"})
        } else {
            json!({"type": "RollingUpdate"})
        };
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": "ns", "uid": uid},
                "spec": {"selector": {"matchLabels": {"app": app}}, "strategy": strategy,
                         "template": {"metadata": {"labels": {"app": app}},
                                      "spec": {"containers": [{"name": "c", "image": "i"}]}}}
            }))
            .expect("a Deployment"),
        )
    }

    fn owner_ref(kind: &str, name: &str, uid: &str) -> serde_json::Value {
        json!([{"apiVersion": "apps.bosun.dev/v1", "kind": kind, "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true}])
    }

    fn rs(name: &str, rv: &str, app: Option<&str>, owner: Option<(&str, &str)>) -> ReplicaSet {
        let mut meta = json!({"name": name, "namespace": "ns", "uid": format!("uid-{name}"),
                              "resourceVersion": rv});
        if let Some(app) = app {
            meta["labels"] = json!({"app": app});
        }
        if let Some((d, uid)) = owner {
            meta["ownerReferences"] = owner_ref("Deployment", d, uid);
        }
        serde_json::from_value(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet", "metadata": meta,
            "spec": {"selector": {"matchLabels": {"app": app.unwrap_or("x")}},
                     "template": {"metadata": {"labels": {"app": app.unwrap_or("x")}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        }))
        .expect("a ReplicaSet")
    }

    fn caches() -> FakeCaches {
        FakeCaches {
            deployments: vec![
                deployment("web", "uid-d-web", "web", false),
                deployment("web-too", "uid-d-web-too", "web", false),
                deployment("batch", "uid-d-batch", "batch", true),
            ],
            replicasets: vec![
                Arc::new(rs("web-1", "1", Some("web"), Some(("web", "uid-d-web")))),
                Arc::new(rs(
                    "batch-1",
                    "1",
                    Some("batch"),
                    Some(("batch", "uid-d-batch")),
                )),
            ],
        }
    }

    fn pod(rs_name: &str, rs_uid: &str, status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns",
                         "ownerReferences": owner_ref("ReplicaSet", rs_name, rs_uid)},
            "status": status
        }))
        .expect("a Pod")
    }

    fn sync(k: &str) -> Wake {
        Wake::Sync(k.into())
    }

    fn ready(is: bool) -> serde_json::Value {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": if is { "True" } else { "False" }}]})
    }

    #[test]
    fn add_update_delete_deployment_wake_it() {
        assert_eq!(
            deployment_changed(&deployment("web", "u", "web", false)),
            vec![sync("ns/web")]
        );
    }

    #[test]
    fn add_replicaset_with_a_controller_wakes_that_deployment_only() {
        let r = rs("web-2", "1", Some("web"), Some(("web", "uid-d-web")));
        assert_eq!(rs_added(&caches(), &r), vec![sync("ns/web")]);
        // Its controller's UID is another's (a Deployment recreated under the same name).
        let r = rs("web-2", "1", Some("web"), Some(("web", "uid-old")));
        assert_eq!(rs_added(&caches(), &r), vec![]);
    }

    #[test]
    fn add_orphan_replicaset_wakes_every_matching_deployment_unless_terminating() {
        let r = rs("web-2", "1", Some("web"), None);
        assert_eq!(
            rs_added(&caches(), &r),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
        let mut t = r.clone();
        t.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            crate::Timestamp::UNIX_EPOCH,
        ));
        assert_eq!(rs_added(&caches(), &t), vec![]);
        // Without labels it matches nothing.
        assert_eq!(rs_added(&caches(), &rs("bare", "1", None, None)), vec![]);
    }

    #[test]
    fn update_replicaset_with_the_same_resource_version_wakes_nothing() {
        let r = rs("web-1", "1", Some("web"), Some(("web", "uid-d-web")));
        assert_eq!(rs_updated(&caches(), &r, &r.clone()), vec![]);
    }

    #[test]
    fn update_replicaset_whose_controller_changed_wakes_the_old_and_the_new_owner() {
        let old = rs("web-1", "1", Some("web"), Some(("web", "uid-d-web")));
        let cur = rs(
            "web-1",
            "2",
            Some("web"),
            Some(("web-too", "uid-d-web-too")),
        );
        assert_eq!(
            rs_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
    }

    #[test]
    fn update_orphan_replicaset_wakes_the_matching_deployments_when_its_labels_change() {
        let old = rs("o", "1", Some("nothing"), None);
        let cur = rs("o", "2", Some("web"), None);
        assert_eq!(
            rs_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web-too")]
        );
        assert_eq!(
            rs_updated(&caches(), &cur, &rs("o", "3", Some("web"), None)),
            vec![]
        );
    }

    #[test]
    fn update_replicaset_released_wakes_the_old_owner_and_the_adopters() {
        let old = rs("web-1", "1", Some("web"), Some(("web", "uid-d-web")));
        let cur = rs("web-1", "2", Some("web"), None);
        assert_eq!(
            rs_updated(&caches(), &old, &cur),
            vec![sync("ns/web"), sync("ns/web"), sync("ns/web-too")]
        );
    }

    #[test]
    fn delete_replicaset_wakes_its_owner() {
        let r = rs("web-1", "1", Some("web"), Some(("web", "uid-d-web")));
        assert_eq!(rs_deleted(&caches(), &r), vec![sync("ns/web")]);
        assert_eq!(
            rs_deleted(&caches(), &rs("o", "1", Some("web"), None)),
            vec![]
        );
    }

    #[test]
    fn a_pod_turning_ready_wakes_its_rolling_deployment_batched() {
        let old = pod("web-1", "uid-web-1", ready(false));
        let cur = pod("web-1", "uid-web-1", ready(true));
        assert_eq!(
            pod_updated(&caches(), &caches(), &old, &cur),
            vec![Wake::Batched("ns/web".into())]
        );
        // No change that matters: nothing.
        assert_eq!(
            pod_updated(&caches(), &caches(), &cur, &cur.clone()),
            vec![]
        );
    }

    #[test]
    fn a_pod_of_an_unknown_or_recreated_replicaset_wakes_nothing() {
        let old = pod("web-1", "uid-other", ready(false));
        let cur = pod("web-1", "uid-other", ready(true));
        assert_eq!(pod_updated(&caches(), &caches(), &old, &cur), vec![]);
        let old = pod("gone", "uid-gone", ready(false));
        let cur = pod("gone", "uid-gone", ready(true));
        assert_eq!(pod_updated(&caches(), &caches(), &old, &cur), vec![]);
    }

    #[test]
    fn a_recreate_deployments_pod_wakes_it_when_it_finishes_not_when_it_turns_ready() {
        let running = pod("batch-1", "uid-batch-1", ready(false));
        let now_ready = pod("batch-1", "uid-batch-1", ready(true));
        assert_eq!(
            pod_updated(&caches(), &caches(), &running, &now_ready),
            vec![]
        );
        let done = pod("batch-1", "uid-batch-1", json!({"phase": "Succeeded"}));
        assert_eq!(
            pod_updated(&caches(), &caches(), &running, &done),
            vec![sync("ns/batch")]
        );
    }

    #[test]
    fn delete_pod_wakes_a_recreate_deployment_only() {
        assert_eq!(
            pod_deleted(
                &caches(),
                &caches(),
                &pod("batch-1", "uid-batch-1", ready(true))
            ),
            vec![sync("ns/batch")]
        );
        assert_eq!(
            pod_deleted(
                &caches(),
                &caches(),
                &pod("web-1", "uid-web-1", ready(true))
            ),
            vec![]
        );
    }
}
