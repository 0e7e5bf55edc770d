//! Objects the tests of the verbs read.

use bosun_api::apps::Deployment;
use serde_json::json;

/// A Deployment `web` of 10 replicas, 7 updated, stopped at `partition` (its condition
/// `RolloutPartitioned`), maxSurge 2 and maxUnavailable 1.
pub(super) fn partitioned(partition: serde_json::Value, strategy: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "generation": 2},
        "spec": {"replicas": 10, "selector": {"matchLabels": {"a": "b"}}, "template": {},
            "strategy": {"type": strategy, "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1, "partition": partition}}},
        "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 7, "readyReplicas": 10,
            "availableReplicas": 10, "conditions": [{"type": "Progressing", "status": "True",
            "reason": "RolloutPartitioned"}]}
    }))
    .unwrap()
}
