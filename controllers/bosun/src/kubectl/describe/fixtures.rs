//! The objects the describers' tests describe.

use bosun_api::apps::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

/// The time the tests describe at.
pub(super) fn now() -> Timestamp {
    "2026-11-24T10:00:30Z".parse().unwrap()
}

/// A rolled-out Deployment `hello` of 3 nginx replicas.
pub(super) fn deployment() -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": "hello", "namespace": "default", "uid": "d1",
            "creationTimestamp": "2026-11-24T10:00:00Z",
            "labels": {"app": "hello"}, "annotations": {"bosun.dev/revision": "1"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "template": {"metadata": {"labels": {"app": "hello"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}},
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    }))
    .unwrap()
}

/// The ReplicaSet of `d`'s template, 3 of 3 ready.
pub(super) fn replicaset(d: &Deployment) -> ReplicaSet {
    let mut template = serde_json::to_value(&d.spec.template).unwrap();
    template["metadata"]["labels"]["pod-template-hash"] = json!("6d5f8c9b7");
    serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": "hello-6d5f8c9b7", "namespace": "default", "uid": "r1",
            "creationTimestamp": "2026-11-24T10:00:00Z",
            "labels": {"app": "hello", "pod-template-hash": "6d5f8c9b7"},
            "annotations": {"bosun.dev/revision": "1"},
            "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "name": "hello", "uid": "d1", "controller": true}]},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello", "pod-template-hash": "6d5f8c9b7"}}, "template": template},
        "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    }))
    .unwrap()
}

/// A Normal event about `hello` from the Deployment controller.
pub(super) fn event(reason: &str, message: &str, at: &str) -> Event {
    serde_json::from_value(json!({
        "metadata": {"name": "e"}, "involvedObject": {"kind": "Deployment", "name": "hello"},
        "type": "Normal", "reason": reason, "message": message, "eventTime": at,
        "reportingComponent": "deployment-controller.bosun.dev"
    }))
    .unwrap()
}
