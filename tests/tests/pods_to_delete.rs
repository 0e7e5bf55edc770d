//! `spec.scaleStrategy.podsToDelete` (OpenKruise's) on the real control plane: a named Pod is
//! deleted and replaced when the replicas stay, goes first when they go down, and its name
//! leaves the list once the Pod is gone; on a Deployment the name reaches the ReplicaSet that
//! owns the Pod.

use std::collections::BTreeSet;
use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, poll};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

fn spec(replicas: i32) -> serde_json::Value {
    json!({
        "replicas": replicas,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}},
    })
}

/// The names of the running (not terminating) Pods labelled `app=web`.
async fn running(client: &Client, ns: &str) -> anyhow::Result<BTreeSet<String>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    Ok(pods
        .list(&ListParams::default().labels("app=web"))
        .await?
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| p.name_any())
        .collect())
}

fn named(rs: &ReplicaSet) -> Vec<String> {
    rs.spec
        .scale_strategy
        .as_ref()
        .and_then(|s| s.pods_to_delete.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_named_pod_is_replaced_goes_first_on_a_scale_down_and_leaves_the_list()
-> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("pods-to-delete")?;
    let ns = TestNamespace::new(&client, "named").await?;
    let n = ns.name.as_str();
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), n);
    let rs: ReplicaSet =
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": spec(3)}))?;
    rss.create(&PostParams::default(), &rs).await?;
    let three = poll("3 pods", WAIT, || async {
        let r = running(&client, n).await?;
        Ok((r.len() == 3).then_some(r))
    })
    .await?;

    // Named, the replicas unchanged: deleted and replaced; the name leaves the list.
    let victim = three.iter().next().cloned().unwrap_or_default();
    let patch = json!({"spec": {"scaleStrategy": {"podsToDelete": [victim]}}});
    rss.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let after = poll(
        "the named pod replaced and its name dropped",
        WAIT,
        || async {
            let r = running(&client, n).await?;
            let list = named(&rss.get("web").await?);
            Ok((r.len() == 3 && !r.contains(&victim) && list.is_empty()).then_some(r))
        },
    )
    .await?;
    let kept: Vec<&String> = three.iter().filter(|p| **p != victim).collect();
    assert!(
        kept.iter().all(|p| after.contains(*p)),
        "only the named pod went: {three:?} -> {after:?}"
    );

    // Named with a scale-down: the named one goes, not another by rank.
    let victim = after.iter().next_back().cloned().unwrap_or_default();
    let patch = json!({"spec": {"replicas": 2, "scaleStrategy": {"podsToDelete": [victim]}}});
    rss.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let two = poll("2 pods, the named one gone", WAIT, || async {
        let r = running(&client, n).await?;
        let list = named(&rss.get("web").await?);
        Ok((r.len() == 2 && list.is_empty()).then_some(r))
    })
    .await?;
    let expected: BTreeSet<String> = after.into_iter().filter(|p| *p != victim).collect();
    assert_eq!(two, expected);

    // A name no Pod has is dropped.
    let patch = json!({"spec": {"scaleStrategy": {"podsToDelete": ["no-such-pod"]}}});
    rss.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    poll("the unknown name dropped", WAIT, || async {
        Ok(named(&rss.get("web").await?).is_empty().then_some(()))
    })
    .await?;
    assert_eq!(running(&client, n).await?, two, "nothing else deleted");
    Ok(())
}

#[tokio::test]
async fn a_deployments_named_pod_reaches_its_replicaset_and_is_replaced() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("pods-to-delete")?;
    let ns = TestNamespace::new(&client, "named-deploy").await?;
    let n = ns.name.as_str();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), n);
    let d: Deployment =
        serde_json::from_value(json!({"metadata": {"name": "web"}, "spec": spec(3)}))?;
    deployments.create(&PostParams::default(), &d).await?;
    let three = poll("3 pods", WAIT, || async {
        let r = running(&client, n).await?;
        Ok((r.len() == 3).then_some(r))
    })
    .await?;
    let victim = three.iter().next().cloned().unwrap_or_default();
    let patch = json!({"spec": {"scaleStrategy": {"podsToDelete": [victim]}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), n);
    poll("replaced, both lists empty", WAIT, || async {
        let r = running(&client, n).await?;
        let d_list = deployments
            .get("web")
            .await?
            .spec
            .scale_strategy
            .and_then(|s| s.pods_to_delete)
            .unwrap_or_default();
        let rs_lists: Vec<Vec<String>> = rss
            .list(&Default::default())
            .await?
            .iter()
            .map(named)
            .collect();
        Ok((r.len() == 3
            && !r.contains(&victim)
            && d_list.is_empty()
            && rs_lists.iter().all(|l| l.is_empty()))
        .then_some(()))
    })
    .await?;
    assert_eq!(
        rss.list(&Default::default()).await?.items.len(),
        1,
        "no rollout"
    );
    Ok(())
}
