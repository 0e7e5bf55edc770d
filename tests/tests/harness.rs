//! The harness cleans up after a test, pass or fail: a test's namespace goes away for good, and
//! so do the cluster-scoped objects it made, even the ones a kubelet would have to let go of.

use std::time::Duration;

use bosun_e2e::{TestNamespace, client, poll};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

/// A Pod on a Node no kubelet plays keeps a graceful deletion pending for ever, and with it its
/// namespace in Terminating: dropping the namespace confirms such deletions and removes the Node.
#[tokio::test]
async fn a_dropped_namespace_takes_its_nodes_and_their_terminating_pods_along() -> anyhow::Result<()>
{
    let client = client().await?;
    let ns = TestNamespace::new(&client, "harness").await?;
    let node = ns.unmanaged_node(&client).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "stuck"},
        "spec": {"nodeName": node,
            "containers": [{"name": "c", "image": "registry.example/app:1"}]}
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    pods.delete("stuck", &DeleteParams::default()).await?;
    let stuck = pods.get("stuck").await?;
    assert!(
        stuck.metadata.deletion_timestamp.is_some(),
        "a graceful deletion waits for the kubelet that never comes"
    );

    let name = ns.name.clone();
    drop(ns);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    poll(
        &format!("namespace {name} gone"),
        Duration::from_secs(180),
        || async { Ok(namespaces.get_opt(&name).await?.is_none().then_some(())) },
    )
    .await?;
    let nodes: Api<Node> = Api::all(client);
    poll(
        &format!("node {node} gone"),
        Duration::from_secs(30),
        || async { Ok(nodes.get_opt(&node).await?.is_none().then_some(())) },
    )
    .await?;
    Ok(())
}
