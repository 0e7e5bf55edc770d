//! The ReplicaSet controller on the real cluster: scaling, replacement, adoption, release,
//! garbage collection, quota failures, minReadySeconds, and templates the API server refuses.

use std::time::{Duration, Instant};

use bosun_api::apps::ReplicaSet;
use bosun_e2e::{
    TestNamespace, client, ensure_controller, ensure_crds, ensure_garbage_collector, kubectl, poll,
};
use k8s_openapi::api::core::v1::{Event, Pod, ResourceQuota};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

struct Env {
    client: Client,
    ns: TestNamespace,
    rs: Api<ReplicaSet>,
    pods: Api<Pod>,
}

async fn env(prefix: &str) -> anyhow::Result<Env> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("replicaset")?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok(Env {
        rs: Api::namespaced(client.clone(), &ns.name),
        pods: Api::namespaced(client.clone(), &ns.name),
        client,
        ns,
    })
}

fn replicaset(name: &str, replicas: i32, app: &str) -> anyhow::Result<ReplicaSet> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
            }
        }
    }))?)
}

/// Active pods whose controller is the ReplicaSet `uid`.
async fn owned_pods(pods: &Api<Pod>, uid: &str) -> anyhow::Result<Vec<Pod>> {
    Ok(pods
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|r| r.controller == Some(true) && r.uid == uid)
        })
        .collect())
}

/// Wait until the ReplicaSet reports `n` ready replicas out of `n` and owns exactly `n` pods.
async fn wait_ready(e: &Env, name: &str, n: i32) -> anyhow::Result<ReplicaSet> {
    poll(
        &format!("ReplicaSet {name} with {n} ready pods"),
        WAIT,
        || async {
            let rs = e.rs.get(name).await?;
            let s = rs.status.clone().unwrap_or_default();
            let owned = owned_pods(&e.pods, &rs.uid().unwrap_or_default())
                .await?
                .len() as i32;
            let generation_seen = s.observed_generation == rs.metadata.generation;
            Ok(
                (s.replicas == n && s.ready_replicas == n && owned == n && generation_seen)
                    .then_some(rs),
            )
        },
    )
    .await
}

async fn scale(e: &Env, name: &str, n: i32) -> anyhow::Result<()> {
    let patch = json!({"spec": {"replicas": n}});
    e.rs.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

#[tokio::test]
async fn scales_up_and_down() -> anyhow::Result<()> {
    let e = env("rs-scale").await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 3, "web")?)
        .await?;
    let rs = wait_ready(&e, "web", 3).await?;
    let s = rs.status.unwrap_or_default();
    assert_eq!((s.fully_labeled_replicas, s.available_replicas), (3, 3));
    assert_eq!(s.selector.as_deref(), Some("app=web"));
    for p in owned_pods(&e.pods, &rs.metadata.uid.unwrap_or_default()).await? {
        let r = &p.owner_references()[0];
        assert_eq!(
            (r.kind.as_str(), r.name.as_str(), r.block_owner_deletion),
            ("ReplicaSet", "web", Some(true))
        );
        assert!(p.name_any().starts_with("web-"));
    }
    scale(&e, "web", 12).await?;
    wait_ready(&e, "web", 12).await?;
    scale(&e, "web", 2).await?;
    wait_ready(&e, "web", 2).await?;
    scale(&e, "web", 0).await?;
    wait_ready(&e, "web", 0).await?;
    Ok(())
}

#[tokio::test]
async fn a_deleted_pod_is_replaced() -> anyhow::Result<()> {
    let e = env("rs-replace").await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 2, "web")?)
        .await?;
    let rs = wait_ready(&e, "web", 2).await?;
    let uid = rs.metadata.uid.unwrap_or_default();
    let before = owned_pods(&e.pods, &uid).await?;
    let victim = before[0].name_any();
    e.pods.delete(&victim, &DeleteParams::default()).await?;
    poll("a replacement pod", WAIT, || async {
        let now = owned_pods(&e.pods, &uid).await?;
        Ok((now.len() == 2 && now.iter().all(|p| p.name_any() != victim)).then_some(()))
    })
    .await?;
    wait_ready(&e, "web", 2).await?;
    Ok(())
}

#[tokio::test]
async fn a_matching_orphan_is_adopted_and_counted() -> anyhow::Result<()> {
    let e = env("rs-adopt").await?;
    let orphan: Pod = serde_json::from_value(json!({
        "metadata": {"name": "orphan", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
    }))?;
    e.pods.create(&PostParams::default(), &orphan).await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 2, "web")?)
        .await?;
    let rs = wait_ready(&e, "web", 2).await?;
    let owned = owned_pods(&e.pods, &rs.metadata.uid.unwrap_or_default()).await?;
    assert!(
        owned.iter().any(|p| p.name_any() == "orphan"),
        "the orphan was adopted"
    );
    assert_eq!(
        e.pods.list(&ListParams::default()).await?.items.len(),
        2,
        "only one pod was created"
    );
    Ok(())
}

#[tokio::test]
async fn a_relabeled_pod_is_released_and_replaced() -> anyhow::Result<()> {
    let e = env("rs-release").await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 2, "web")?)
        .await?;
    let rs = wait_ready(&e, "web", 2).await?;
    let uid = rs.metadata.uid.unwrap_or_default();
    let victim = owned_pods(&e.pods, &uid).await?[0].name_any();
    let patch = json!({"metadata": {"labels": {"app": "debug"}}});
    e.pods
        .patch(&victim, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    poll("the relabeled pod released", WAIT, || async {
        let p = e.pods.get(&victim).await?;
        Ok(p.owner_references().is_empty().then_some(()))
    })
    .await?;
    let rs = wait_ready(&e, "web", 2).await?;
    assert!(
        owned_pods(&e.pods, &rs.metadata.uid.unwrap_or_default())
            .await?
            .iter()
            .all(|p| p.name_any() != victim)
    );
    assert_eq!(e.pods.list(&ListParams::default()).await?.items.len(), 3);
    Ok(())
}

#[tokio::test]
async fn deletion_cascades_through_the_garbage_collector_and_orphaned_pods_are_adopted()
-> anyhow::Result<()> {
    let e = env("rs-gc").await?;
    ensure_garbage_collector(&e.client).await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 3, "web")?)
        .await?;
    wait_ready(&e, "web", 3).await?;
    // --cascade=orphan leaves the pods, without owner.
    let out = kubectl(&["delete", "-n", &e.ns.name, "brs/web", "--cascade=orphan"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let orphaned = poll("pods orphaned", WAIT, || async {
        let pods = e.pods.list(&ListParams::default()).await?.items;
        Ok(
            (pods.len() == 3 && pods.iter().all(|p| p.owner_references().is_empty()))
                .then(|| pods.iter().map(|p| p.name_any()).collect::<Vec<_>>()),
        )
    })
    .await?;
    // A new ReplicaSet with the same selector adopts them and creates nothing.
    e.rs.create(&PostParams::default(), &replicaset("web2", 3, "web")?)
        .await?;
    let rs = wait_ready(&e, "web2", 3).await?;
    let mut owned: Vec<_> = owned_pods(&e.pods, &rs.metadata.uid.unwrap_or_default())
        .await?
        .iter()
        .map(|p| p.name_any())
        .collect();
    owned.sort();
    let mut orphaned = orphaned;
    orphaned.sort();
    assert_eq!(owned, orphaned);
    // A plain delete removes the pods through the garbage collector.
    let out = kubectl(&["delete", "-n", &e.ns.name, "brs/web2"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    poll("pods garbage-collected", WAIT, || async {
        Ok(e.pods
            .list(&ListParams::default())
            .await?
            .items
            .is_empty()
            .then_some(()))
    })
    .await?;
    Ok(())
}

fn condition(rs: &ReplicaSet, type_: &str) -> Option<bosun_api::apps::ReplicaSetCondition> {
    rs.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
}

async fn events_for(
    client: &Client,
    ns: &str,
    name: &str,
    reason: &str,
) -> anyhow::Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name) && e.reason.as_deref() == Some(reason)
        })
        .collect())
}

#[tokio::test]
async fn a_quota_sets_replica_failure_until_it_is_raised() -> anyhow::Result<()> {
    let e = env("rs-quota").await?;
    let quotas: Api<ResourceQuota> = Api::namespaced(e.client.clone(), &e.ns.name);
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "pods"}, "spec": {"hard": {"pods": "2"}}
    }))?;
    quotas.create(&PostParams::default(), &quota).await?;
    poll("the quota's status", WAIT, || async {
        let q = quotas.get("pods").await?;
        Ok(q.status.and_then(|s| s.hard).is_some().then_some(()))
    })
    .await?;
    e.rs.create(&PostParams::default(), &replicaset("web", 3, "web")?)
        .await?;
    let failure = poll("ReplicaFailure", WAIT, || async {
        Ok(condition(&e.rs.get("web").await?, "ReplicaFailure"))
    })
    .await?;
    assert_eq!(
        (failure.status.as_str(), failure.reason.as_deref()),
        ("True", Some("FailedCreate"))
    );
    let message = failure.message.unwrap_or_default();
    assert!(message.contains("exceeded quota: pods"), "{message}");
    let events = poll("a FailedCreate event", WAIT, || async {
        let evs = events_for(&e.client, &e.ns.name, "web", "FailedCreate").await?;
        Ok((!evs.is_empty()).then_some(evs))
    })
    .await?;
    let note = events[0].message.clone().unwrap_or_default();
    assert!(
        note.starts_with("Error creating: ") && note.contains("exceeded quota"),
        "{note}"
    );

    let raise = json!({"spec": {"hard": {"pods": "3"}}});
    quotas
        .patch("pods", &PatchParams::default(), &Patch::Merge(&raise))
        .await?;
    let rs = wait_ready(&e, "web", 3).await?;
    let rs = poll("ReplicaFailure cleared", WAIT, || async {
        let rs = e.rs.get("web").await?;
        Ok(condition(&rs, "ReplicaFailure").is_none().then_some(rs))
    })
    .await
    .map_err(|err| anyhow::anyhow!("{err}; last status {:?}", rs.status))?;
    assert_eq!(rs.status.unwrap_or_default().replicas, 3);
    Ok(())
}

#[tokio::test]
async fn min_ready_seconds_delays_available_replicas() -> anyhow::Result<()> {
    let e = env("rs-minready").await?;
    let mut rs = replicaset("web", 2, "web")?;
    rs.spec.min_ready_seconds = Some(4);
    e.rs.create(&PostParams::default(), &rs).await?;
    let ready_at = poll("2 ready, 0 available", WAIT, || async {
        let s = e.rs.get("web").await?.status.unwrap_or_default();
        Ok((s.ready_replicas == 2 && s.available_replicas == 0).then(Instant::now))
    })
    .await?;
    let available_at = poll("2 available", WAIT, || async {
        let s = e.rs.get("web").await?.status.unwrap_or_default();
        Ok((s.available_replicas == 2).then(k8s_openapi::jiff::Timestamp::now))
    })
    .await?;
    assert!(
        ready_at.elapsed() <= Duration::from_secs(15),
        "available only after {:?}",
        ready_at.elapsed()
    );
    // Each pod became available no sooner than minReadySeconds after it became Ready (the
    // cluster runs on this machine's clock; 100 ms of slack for the status round trip).
    for p in e.pods.list(&ListParams::default()).await?.items {
        let ready_since = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready" && c.status == "True"))
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0)
            .ok_or_else(|| anyhow::anyhow!("pod {} is not Ready", p.name_any()))?;
        let waited = ready_since.duration_until(available_at);
        assert!(
            waited.as_millis() >= 3900,
            "pod {} counted available {waited:?} after Ready",
            p.name_any()
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_template_the_api_server_refuses_reports_failed_create() -> anyhow::Result<()> {
    let e = env("rs-refused").await?;
    let mut rs = replicaset("web", 2, "web")?;
    // The CRD accepts any container name; Pod validation refuses upper case.
    if let Some(spec) = rs.spec.template.spec.as_mut() {
        spec.containers[0].name = "Bad_Name".into();
    }
    e.rs.create(&PostParams::default(), &rs).await?;
    let failure = poll("ReplicaFailure", WAIT, || async {
        Ok(condition(&e.rs.get("web").await?, "ReplicaFailure"))
    })
    .await?;
    let message = failure.message.unwrap_or_default();
    assert!(
        message.contains("spec.containers[0].name: Invalid value: \"Bad_Name\""),
        "{message}"
    );
    poll("a FailedCreate event", WAIT, || async {
        let evs = events_for(&e.client, &e.ns.name, "web", "FailedCreate").await?;
        Ok((!evs.is_empty()).then_some(()))
    })
    .await?;
    // Fixing the template (a spec change) lets it converge.
    let fix = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}}});
    e.rs.patch("web", &PatchParams::default(), &Patch::Merge(&fix))
        .await?;
    wait_ready(&e, "web", 2).await?;
    let rs = e.rs.get("web").await?;
    assert!(condition(&rs, "ReplicaFailure").is_none());
    Ok(())
}

#[tokio::test]
async fn terminating_pods_are_replaced_at_once_and_counted() -> anyhow::Result<()> {
    let e = env("rs-terminating").await?;
    // kwok finishes the deletion of pods on its nodes at once, so these pods go to a node that
    // nobody plays: without a kubelet to confirm it, a graceful deletion stays Terminating.
    // The namespace's drop removes the node and the pods left on it.
    let node = e.ns.unmanaged_node(&e.client).await?;
    let mut rs = replicaset("web", 2, "web")?;
    if let Some(spec) = rs.spec.template.spec.as_mut() {
        spec.node_name = Some(node);
    }
    e.rs.create(&PostParams::default(), &rs).await?;
    let rs = poll("2 pods", WAIT, || async {
        let rs = e.rs.get("web").await?;
        Ok((rs.status.as_ref().is_some_and(|s| s.replicas == 2)).then_some(rs))
    })
    .await?;
    let uid = rs.metadata.uid.unwrap_or_default();
    let victim = owned_pods(&e.pods, &uid).await?[0].name_any();
    e.pods.delete(&victim, &DeleteParams::default()).await?;
    let rs = poll("a replacement and terminatingReplicas 1", WAIT, || async {
        let rs = e.rs.get("web").await?;
        let s = rs.status.clone().unwrap_or_default();
        Ok((s.replicas == 2 && s.terminating_replicas == Some(1)).then_some(rs))
    })
    .await?;
    assert_eq!(
        owned_pods(&e.pods, &rs.metadata.uid.unwrap_or_default())
            .await?
            .len(),
        2
    );
    // Play the kubelet: confirm the deletion.
    e.pods
        .delete(
            &victim,
            &DeleteParams {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .await?;
    poll("terminatingReplicas 0", WAIT, || async {
        let s = e.rs.get("web").await?.status.unwrap_or_default();
        Ok((s.terminating_replicas == Some(0)).then_some(()))
    })
    .await?;
    Ok(())
}

/// When something watching saw it: the last of a ReplicaSet's Pods turning Ready, and its status
/// reporting them all ready.
#[derive(Default, Debug)]
struct Seen {
    pod_ready: std::collections::BTreeMap<String, Instant>,
    status_ready: Option<Instant>,
}

#[tokio::test]
async fn status_shows_ready_pods_about_as_soon_as_upstreams() -> anyhow::Result<()> {
    // Issue 19, fresh status: the time from the last Pod of a ReplicaSet turning Ready to the
    // ReplicaSet's status showing all of them, bosun's beside kube-controller-manager's (an
    // apps/v1 ReplicaSet in the same namespace, created at the same moment). One status write
    // per 250 ms per object made bosun's 0.18–0.25 s where upstream's is ~0.01 s; the status
    // pacer's burst (runtime/pacer.rs) lets a quiet ReplicaSet's writes through at once.
    use futures::StreamExt;
    use k8s_openapi::api::apps::v1::ReplicaSet as AppsReplicaSet;
    use kube::runtime::{WatchStreamExt, watcher};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    let e = env("rs-fresh").await?;
    const ROUNDS: usize = 5;
    const REPLICAS: i32 = 3;
    let seen: Arc<Mutex<HashMap<String, Seen>>> = Arc::default();
    // Three watches recording arrival times: Pods, bosun's ReplicaSets, upstream's.
    let pods_seen = seen.clone();
    let pods = watcher(e.pods.clone(), watcher::Config::default()).applied_objects();
    let pod_task = tokio::spawn(async move {
        let mut pods = std::pin::pin!(pods);
        while let Some(Ok(p)) = pods.next().await {
            let app = p.labels().get("app").cloned().unwrap_or_default();
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            if ready {
                let mut m = pods_seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                m.entry(app)
                    .or_default()
                    .pod_ready
                    .entry(p.name_any())
                    .or_insert_with(Instant::now);
            }
        }
    });
    fn status_task<K>(
        api: Api<K>,
        seen: Arc<Mutex<HashMap<String, Seen>>>,
        ready: fn(&K) -> i32,
    ) -> tokio::task::JoinHandle<()>
    where
        K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    {
        tokio::spawn(async move {
            let objs = watcher(api, watcher::Config::default()).applied_objects();
            let mut objs = std::pin::pin!(objs);
            while let Some(Ok(o)) = objs.next().await {
                if ready(&o) >= REPLICAS {
                    let mut m = seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let s = m
                        .entry(o.meta().name.clone().unwrap_or_default())
                        .or_default();
                    s.status_ready.get_or_insert_with(Instant::now);
                }
            }
        })
    }
    let upstream: Api<AppsReplicaSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    let bosun_task = status_task(e.rs.clone(), seen.clone(), |rs: &ReplicaSet| {
        rs.status.as_ref().map_or(0, |s| s.ready_replicas)
    });
    let upstream_task = status_task(upstream.clone(), seen.clone(), |rs: &AppsReplicaSet| {
        rs.status
            .as_ref()
            .and_then(|s| s.ready_replicas)
            .unwrap_or(0)
    });
    let outcome = async {
        for i in 0..ROUNDS {
            let (b, u) = (format!("bosun-{i}"), format!("upstream-{i}"));
            let mut theirs = serde_json::to_value(replicaset(&u, REPLICAS, &u)?)?;
            theirs["apiVersion"] = json!("apps/v1");
            let theirs: AppsReplicaSet = serde_json::from_value(theirs)?;
            let ours = replicaset(&b, REPLICAS, &b)?;
            let pp = PostParams::default();
            let (x, y) = tokio::join!(e.rs.create(&pp, &ours), upstream.create(&pp, &theirs));
            x?;
            y?;
            poll(&format!("round {i}: both statuses ready"), WAIT, || async {
                let m = seen
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let done = |k: &str| {
                    m.get(k).is_some_and(|s| {
                        s.status_ready.is_some() && s.pod_ready.len() == REPLICAS as usize
                    })
                };
                Ok((done(&b) && done(&u)).then_some(()))
            })
            .await?;
        }
        anyhow::Ok(())
    }
    .await;
    pod_task.abort();
    bosun_task.abort();
    upstream_task.abort();
    outcome?;
    let m = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let delays = |side: &str| -> Vec<Duration> {
        let mut d: Vec<Duration> = (0..ROUNDS)
            .filter_map(|i| {
                let s = m.get(&format!("{side}-{i}"))?;
                let last = s.pod_ready.values().max()?;
                Some(s.status_ready?.saturating_duration_since(*last))
            })
            .collect();
        d.sort();
        d
    };
    let (ours, theirs) = (delays("bosun"), delays("upstream"));
    println!(
        "last Pod Ready -> status {REPLICAS}/{REPLICAS} ready: bosun {ours:?}, kube-controller-manager {theirs:?}"
    );
    assert_eq!((ours.len(), theirs.len()), (ROUNDS, ROUNDS));
    let (mo, mt) = (ours[ROUNDS / 2], theirs[ROUNDS / 2]);
    assert!(
        mo <= mt + Duration::from_millis(100),
        "bosun's median {mo:?} is more than 100 ms behind kube-controller-manager's {mt:?}"
    );
    Ok(())
}
