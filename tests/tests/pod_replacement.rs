//! `spec.podReplacementPolicy` (KEP-3973) on the real control plane: how many Pods exist,
//! terminating ones included, at any moment of a rolling update.
//!
//! Three Deployments of 10 replicas, maxSurge 0 and maxUnavailable 2, roll out side by side: an
//! apps/v1 one (kube-controller-manager), a bosun one with the default (TerminationStarted) and
//! a bosun one with TerminationComplete. Their Pods are bound to a Node nobody plays, and the
//! test plays its kubelet: a new Pod is reported Running and Ready at once, and a Pod being
//! deleted is confirmed gone (grace period 0) 1 s after its deletion began, so every deleted Pod
//! is Terminating for a second, as a Pod with a graceful shutdown is. A watch of every Pod event
//! keeps the largest number of Pods each Deployment had at one moment.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, poll};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);
const REPLICAS: i64 = 10;
/// How long a deleted Pod stays Terminating before the played kubelet confirms it.
const TERMINATING_FOR: Duration = Duration::from_secs(1);

/// The largest number of Pods that existed at once, per `app` label, and the current ones.
#[derive(Default)]
struct Census {
    live: HashMap<String, String>,
    max: BTreeMap<String, usize>,
}

impl Census {
    fn count(&self, app: &str) -> usize {
        self.live.values().filter(|a| *a == app).count()
    }
    fn reset(&mut self) {
        self.max.clear();
        let apps: Vec<String> = self.live.values().cloned().collect();
        for app in apps {
            let n = self.count(&app);
            self.max.insert(app, n);
        }
    }
    fn seen(&mut self, pod: &Pod) {
        let app = pod.labels().get("app").cloned().unwrap_or_default();
        let finished = pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|p| p == "Succeeded" || p == "Failed");
        if finished {
            self.live.remove(&pod.name_any());
        } else {
            self.live.insert(pod.name_any(), app.clone());
        }
        let n = self.count(&app);
        let m = self.max.entry(app).or_default();
        *m = (*m).max(n);
    }
}

fn lock(c: &Mutex<Census>) -> std::sync::MutexGuard<'_, Census> {
    c.lock().unwrap_or_else(|e| e.into_inner())
}

/// Count every Pod event of the namespace, and play the kubelet of `node` for them.
fn watch_and_play(
    client: Client,
    ns: &str,
    census: Arc<Mutex<Census>>,
) -> tokio::task::JoinHandle<()> {
    let pods: Api<Pod> = Api::namespaced(client, ns);
    tokio::spawn(async move {
        let mut events = watcher(pods.clone(), watcher::Config::default()).boxed();
        let mut ip = 0u32;
        let mut confirming = std::collections::HashSet::new();
        while let Some(Ok(ev)) = events.next().await {
            let (applied, deleted) = match ev {
                watcher::Event::Apply(p) | watcher::Event::InitApply(p) => (Some(p), None),
                watcher::Event::Delete(p) => (None, Some(p)),
                _ => (None, None),
            };
            if let Some(p) = deleted {
                lock(&census).live.remove(&p.name_any());
                continue;
            }
            let Some(p) = applied else { continue };
            lock(&census).seen(&p);
            let name = p.name_any();
            if p.metadata.deletion_timestamp.is_some() {
                if confirming.insert(name.clone()) {
                    let pods = pods.clone();
                    tokio::spawn(async move {
                        // The simulated graceful shutdown, not a wait for anything.
                        tokio::time::sleep(TERMINATING_FOR).await;
                        let dp = DeleteParams {
                            grace_period_seconds: Some(0),
                            ..Default::default()
                        };
                        let _ = pods.delete(&name, &dp).await;
                    });
                }
                continue;
            }
            let running = p
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|ph| ph == "Running");
            if !running {
                ip += 1;
                let addr = format!("10.253.{}.{}", ip / 250, ip % 250 + 1);
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                let body = json!({"status": {"phase": "Running", "podIP": addr, "podIPs": [{"ip": addr}],
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}});
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
                    .await;
            }
        }
    })
}

fn deployment(
    api_version: &str,
    app: &str,
    node: &str,
    image: &str,
    policy: Option<&str>,
) -> Value {
    let mut spec = json!({
        "replicas": REPLICAS,
        "selector": {"matchLabels": {"app": app}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 2}},
        "template": {"metadata": {"labels": {"app": app}},
                     "spec": {"nodeName": node, "containers": [{"name": "c", "image": image}]}},
    });
    if let Some(p) = policy {
        spec["podReplacementPolicy"] = json!(p);
    }
    json!({"apiVersion": api_version, "kind": "Deployment", "metadata": {"name": app}, "spec": spec})
}

fn api(client: &Client, ns: &str, group: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, "v1", "Deployment");
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk_with_plural(&gvk, "deployments"),
    )
}

/// The Deployment rolled out: every replica updated and available, no other Pod left.
async fn rolled_out(
    d: &Api<DynamicObject>,
    name: &str,
    census: &Mutex<Census>,
) -> anyhow::Result<()> {
    poll(&format!("{name} rolled out"), WAIT, || async {
        let o = d.get(name).await?;
        let st = &o.data["status"];
        let is = |k: &str| st[k].as_i64() == Some(REPLICAS);
        let observed = st["observedGeneration"].as_i64() == o.metadata.generation;
        let settled = observed
            && is("updatedReplicas")
            && is("availableReplicas")
            && is("replicas")
            && lock(census).count(name) == REPLICAS as usize;
        Ok(settled.then_some(()))
    })
    .await
}

#[tokio::test]
async fn termination_complete_keeps_every_pod_within_replicas_through_a_rolling_update()
-> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("pod-replacement")?;
    let ns = TestNamespace::new(&client, "replacement").await?;
    let n = ns.name.as_str();
    let node = ns.unmanaged_node(&client).await?;
    let census = Arc::new(Mutex::new(Census::default()));
    let player = watch_and_play(client.clone(), n, census.clone());

    let sides = [
        ("apps", "upstream", None),
        ("apps.bosun.dev", "started", None),
        ("apps.bosun.dev", "complete", Some("TerminationComplete")),
    ];
    for (group, app, policy) in sides {
        let obj = deployment(&format!("{group}/v1"), app, &node, "img:1", policy);
        api(&client, n, group)
            .create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    }
    for (group, app, _) in sides {
        rolled_out(&api(&client, n, group), app, &census).await?;
    }
    lock(&census).reset();

    let patch =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:2"}]}}}});
    for (group, app, _) in sides {
        api(&client, n, group)
            .patch(app, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    for (group, app, _) in sides {
        rolled_out(&api(&client, n, group), app, &census).await?;
    }
    let max = lock(&census).max.clone();
    player.abort();
    println!(
        "most Pods at once during the rolling update (replicas {REPLICAS}, maxSurge 0): {max:?}"
    );
    let of = |app: &str| max.get(app).copied().unwrap_or_default();
    assert!(
        of("complete") <= REPLICAS as usize,
        "TerminationComplete: {} Pods at once, above replicas + maxSurge = {REPLICAS}",
        of("complete")
    );
    assert!(
        of("started") > REPLICAS as usize,
        "TerminationStarted replaces a Pod as soon as it starts terminating (the watch saw {})",
        of("started")
    );
    Ok(())
}
