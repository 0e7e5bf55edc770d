//! Builders of the objects the tree's tests read: `deploy(3, "app:2").status(4, 1, 3, 3)`,
//! `rs("a", 1, "app:1").replicas(3, 3, 3)`, `pod("web-a-1", "a", 5).running()`.

use bosun_api::apps::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::Tree;
pub(super) fn now() -> Timestamp {
    "2026-11-24T10:10:00Z".parse().unwrap()
}

/// `now` minus `secs`, as the API server writes it.
pub(super) fn ago(secs: i64) -> String {
    Timestamp::from_second(now().as_second() - secs)
        .unwrap()
        .to_string()
}

/// Set the value at a JSON pointer, creating objects on the way.
pub(super) fn put(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let map = cur.as_object_mut().unwrap();
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), value);
            return;
        }
        cur = map.entry((*part).to_string()).or_insert_with(|| json!({}));
    }
}

pub(super) fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image}]}})
}

/// A Deployment `web` (uid `d1`) of `replicas`, rolled out and observed unless told.
pub(super) struct D(Value);

pub(super) fn deploy(replicas: i32, image: &str) -> D {
    D(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "d1", "generation": 2,
            "creationTimestamp": ago(600)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": template(image)},
        "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas}
    }))
}

impl D {
    /// status: replicas, updated, ready, available.
    pub(super) fn status(mut self, current: i32, updated: i32, ready: i32, available: i32) -> Self {
        put(&mut self.0, "/status/replicas", json!(current));
        put(&mut self.0, "/status/updatedReplicas", json!(updated));
        put(&mut self.0, "/status/readyReplicas", json!(ready));
        put(&mut self.0, "/status/availableReplicas", json!(available));
        self
    }
    pub(super) fn condition(
        mut self,
        type_: &str,
        status: &str,
        reason: &str,
        message: &str,
    ) -> Self {
        let c = json!({"type": type_, "status": status, "reason": reason, "message": message});
        match self.0["status"]["conditions"].as_array_mut() {
            Some(list) => list.push(c),
            None => put(&mut self.0, "/status/conditions", json!([c])),
        }
        self
    }
    pub(super) fn paused(mut self) -> Self {
        put(&mut self.0, "/spec/paused", json!(true));
        self
    }
    pub(super) fn recreate(mut self) -> Self {
        put(&mut self.0, "/spec/strategy", json!({"type": "Recreate"}));
        self
    }
    pub(super) fn surge(mut self, max_surge: Value, max_unavailable: Value) -> Self {
        put(
            &mut self.0,
            "/spec/strategy",
            json!({"type": "RollingUpdate", "rollingUpdate":
                    {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}),
        );
        self
    }
    pub(super) fn unobserved(mut self) -> Self {
        put(&mut self.0, "/metadata/generation", json!(3));
        self
    }
    pub(super) fn build(self) -> Deployment {
        serde_json::from_value(self.0).unwrap()
    }
}

/// A ReplicaSet `web-<hash>` of revision `rev` owned by `web`, its template of `image`.
pub(super) struct R(Value);

pub(super) fn rs(hash: &str, rev: i64, image: &str) -> R {
    let mut t = template(image);
    put(&mut t, "/metadata/labels/pod-template-hash", json!(hash));
    R(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("web-{hash}"), "namespace": "default", "uid": hash,
            "generation": 1, "creationTimestamp": ago(600 - rev * 60),
            "annotations": {"bosun.dev/revision": rev.to_string()},
            "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                "name": "web", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
            "template": t},
        "status": {"observedGeneration": 1, "replicas": 0}
    }))
}

impl R {
    /// spec.replicas, then status: replicas, ready (and available).
    pub(super) fn replicas(mut self, desired: i32, current: i32, ready: i32) -> Self {
        put(&mut self.0, "/spec/replicas", json!(desired));
        put(&mut self.0, "/status/replicas", json!(current));
        put(&mut self.0, "/status/readyReplicas", json!(ready));
        put(&mut self.0, "/status/availableReplicas", json!(ready));
        self
    }
    pub(super) fn failing(mut self) -> Self {
        put(
            &mut self.0,
            "/status/conditions",
            json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                    "message": "pods \"web-x\" is forbidden: exceeded quota"}]),
        );
        self
    }
    pub(super) fn owner(mut self, uid: &str) -> Self {
        put(&mut self.0, "/metadata/ownerReferences/0/uid", json!(uid));
        self
    }
    pub(super) fn build(self) -> ReplicaSet {
        let mut v = self.0;
        // put() cannot index arrays: rebuild the owner reference when owner() set "0".
        if let Some(o) = v["metadata"]["ownerReferences"].as_object().cloned() {
            let mut r = json!({"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                    "name": "web", "uid": "d1", "controller": true});
            if let Some(uid) = o.get("0").and_then(|x| x.get("uid")) {
                r["uid"] = uid.clone();
            }
            v["metadata"]["ownerReferences"] = json!([r]);
        }
        serde_json::from_value(v).unwrap()
    }
}

/// A Pod `name` of ReplicaSet uid `rs`, created `age` seconds ago, with one container `app`.
pub(super) struct P(Value);

pub(super) fn pod(name: &str, rs: &str, age: i64) -> P {
    P(json!({
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(age),
            "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                "name": format!("web-{rs}"), "uid": rs, "controller": true}]},
        "spec": {"containers": [{"name": "app", "image": "img"}]},
        "status": {"phase": "Pending"}
    }))
}

impl P {
    pub(super) fn running(mut self) -> Self {
        put(&mut self.0, "/status/phase", json!("Running"));
        put(
            &mut self.0,
            "/status/conditions",
            json!([{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]),
        );
        put(
            &mut self.0,
            "/status/containerStatuses",
            json!([{"name": "app", "image": "img", "imageID": "", "ready": true,
                    "restartCount": 0, "state": {"running": {}}}]),
        );
        self
    }
    pub(super) fn container_statuses(mut self, statuses: Value) -> Self {
        put(&mut self.0, "/status/containerStatuses", statuses);
        self
    }
    pub(super) fn phase(mut self, phase: &str) -> Self {
        put(&mut self.0, "/status/phase", json!(phase));
        self
    }
    pub(super) fn deleting(mut self) -> Self {
        put(&mut self.0, "/metadata/deletionTimestamp", json!(ago(1)));
        self
    }
    pub(super) fn at(mut self, pointer: &str, v: Value) -> Self {
        put(&mut self.0, pointer, v);
        self
    }
    pub(super) fn build(self) -> Pod {
        serde_json::from_value(self.0).unwrap()
    }
}

/// A waiting container `app` with `reason`, after `restarts` restarts.
pub(super) fn waiting(reason: &str, restarts: i32) -> Value {
    json!([{"name": "app", "image": "img", "imageID": "", "ready": false,
            "restartCount": restarts, "state": {"waiting": {"reason": reason}}}])
}

/// The words of the line of `text` that contains `needle`.
pub(super) fn row<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.contains(needle))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default()
}

/// The roles of the tree's ReplicaSets by name.
pub(super) fn roles_of(t: &Tree) -> Vec<(String, &'static str, &'static str)> {
    t.replica_sets
        .iter()
        .map(|r| (r.name.clone(), r.role.word(), r.health.word()))
        .collect()
}
