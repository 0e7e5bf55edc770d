//! The tree as a JSON document (`-o json|yaml`).

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::{Strategy, Tree};

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_string()))
}

/// The tree as a JSON document for scripts. Times are absolute (`creationTimestamp`), so the
/// document changes only when the objects do; every key is always present.
pub fn to_json(t: &Tree) -> Value {
    let strategy = match &t.strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => {
            json!({"type": "RollingUpdate", "maxSurge": max_surge, "maxUnavailable": max_unavailable})
        }
        Strategy::Recreate => json!({"type": "Recreate"}),
    };
    json!({
        "name": t.name,
        "namespace": t.namespace,
        "creationTimestamp": time(t.created),
        "status": t.health.word(),
        "message": t.message,
        "paused": t.paused,
        "strategy": strategy,
        "replicas": {
            "desired": t.replicas.desired,
            "current": t.replicas.current,
            "updated": t.replicas.updated,
            "ready": t.replicas.ready,
            "available": t.replicas.available,
        },
        "conditions": t.conditions.iter().map(|c| json!({
            "type": c.type_, "status": c.status, "reason": c.reason, "message": c.message,
        })).collect::<Vec<_>>(),
        "replicaSets": t.replica_sets.iter().map(|rs| json!({
            "name": rs.name,
            "revision": rs.revision,
            "role": rs.role.word(),
            "status": rs.health.word(),
            "desired": rs.desired,
            "current": rs.current,
            "ready": rs.ready,
            "available": rs.available,
            "images": rs.images,
            "creationTimestamp": time(rs.created),
            "pods": rs.pods.iter().map(|p| json!({
                "name": p.name,
                "status": p.status,
                "ready": format!("{}/{}", p.ready, p.containers),
                "restarts": p.restarts,
                "creationTimestamp": time(p.created),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::build;
    use super::super::fixtures::{ago, deploy, pod, rs, waiting};
    use super::*;

    #[test]
    fn the_json_document_has_every_key_and_absolute_times() {
        let d = deploy(1, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(1, 1, 1).build()];
        let pods = [pod("web-a-1", "a", 5)
            .phase("Running")
            .container_statuses(waiting("CrashLoopBackOff", 2))
            .build()];
        let doc = to_json(&build(&d, &rss, &pods));
        assert_eq!(
            doc,
            json!({
                "name": "web", "namespace": "default", "creationTimestamp": ago(600),
                "status": "Healthy", "message": null, "paused": false,
                "strategy": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
                "replicas": {"desired": 1, "current": 1, "updated": 1, "ready": 1, "available": 1},
                "conditions": [],
                "replicaSets": [{
                    "name": "web-a", "revision": 1, "role": "stable", "status": "Healthy",
                    "desired": 1, "current": 1, "ready": 1, "available": 1,
                    "images": ["app:1"], "creationTimestamp": ago(540),
                    "pods": [{"name": "web-a-1", "status": "CrashLoopBackOff", "ready": "0/1",
                        "restarts": 2, "creationTimestamp": ago(5)}]
                }]
            })
        );
    }
}
