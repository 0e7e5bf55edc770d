//! The EndpointSlice controller on the real cluster, against an oracle: kube-controller-manager's
//! own endpointslice controller runs on the same cluster and writes core EndpointSlices for the
//! same Services; every scenario waits until bosun's endpoints (addresses, conditions, ports,
//! hostname, nodeName, zone, targetRef, hints) equal the built-in controller's, set for set.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bosun_api::apps::ReplicaSet;
use bosun_api::discovery::EndpointSlice;
use bosun_e2e::{
    E2E_LABEL, E2E_NODE_TAINT, TestNamespace, client, ensure_controller, ensure_crds, poll,
    wait_for_event,
};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice as CoreSlice};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const BUILTIN: &str = "endpointslice-controller.k8s.io";
const BOSUN: &str = "endpointslice.bosun.dev";

struct Env {
    client: Client,
    ns: TestNamespace,
    services: Api<Service>,
    pods: Api<Pod>,
    bosun: Api<EndpointSlice>,
    core: Api<CoreSlice>,
}

async fn env(prefix: &str) -> anyhow::Result<Env> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("endpointslice")?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok(Env {
        services: Api::namespaced(client.clone(), &ns.name),
        pods: Api::namespaced(client.clone(), &ns.name),
        bosun: Api::namespaced(client.clone(), &ns.name),
        core: Api::namespaced(client.clone(), &ns.name),
        client,
        ns,
    })
}

/// One endpoint as both controllers write it, with its slice's address type and ports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ep {
    address_type: String,
    ports: Vec<(String, i32, String, Option<String>)>,
    addresses: Vec<String>,
    ready: Option<bool>,
    serving: Option<bool>,
    terminating: Option<bool>,
    hostname: Option<String>,
    node_name: Option<String>,
    zone: Option<String>,
    target: Option<(String, String, String, String)>,
    /// `hints.forZones` and `hints.forNodes` names.
    hints: (Vec<String>, Vec<String>),
}

/// A multiset of endpoints, and the endpoint count of each slice.
#[derive(Debug, Clone, PartialEq, Default)]
struct View {
    endpoints: BTreeMap<Ep, usize>,
    slice_sizes: Vec<usize>,
}

impl View {
    fn total(&self) -> usize {
        self.endpoints.values().sum()
    }
    fn add(&mut self, address_type: &str, ports: &[EndpointPort], eps: &[Endpoint]) {
        let mut ports: Vec<_> = ports
            .iter()
            .map(|p| {
                (
                    p.name.clone().unwrap_or_default(),
                    p.port.unwrap_or_default(),
                    p.protocol.clone().unwrap_or_default(),
                    p.app_protocol.clone(),
                )
            })
            .collect();
        ports.sort();
        self.slice_sizes.push(eps.len());
        for e in eps {
            let c = e.conditions.clone().unwrap_or_default();
            let mut addresses = e.addresses.clone();
            addresses.sort();
            let ep = Ep {
                address_type: address_type.into(),
                ports: ports.clone(),
                addresses,
                ready: c.ready,
                serving: c.serving,
                terminating: c.terminating,
                hostname: e.hostname.clone(),
                node_name: e.node_name.clone(),
                zone: e.zone.clone(),
                target: e.target_ref.as_ref().map(|r| {
                    (
                        r.kind.clone().unwrap_or_default(),
                        r.namespace.clone().unwrap_or_default(),
                        r.name.clone().unwrap_or_default(),
                        r.uid.clone().unwrap_or_default(),
                    )
                }),
                hints: e
                    .hints
                    .as_ref()
                    .map(|h| {
                        (
                            h.for_zones
                                .iter()
                                .flatten()
                                .map(|z| z.name.clone())
                                .collect(),
                            h.for_nodes
                                .iter()
                                .flatten()
                                .map(|n| n.name.clone())
                                .collect(),
                        )
                    })
                    .unwrap_or_default(),
            };
            *self.endpoints.entry(ep).or_default() += 1;
        }
        self.slice_sizes.sort();
    }
    fn by_pod(&self, pod: &str) -> Vec<&Ep> {
        self.endpoints
            .keys()
            .filter(|e| e.target.as_ref().is_some_and(|t| t.2 == pod))
            .collect()
    }
}

fn selector(svc: &str, managed_by: &str) -> ListParams {
    ListParams::default().labels(&format!(
        "kubernetes.io/service-name={svc},endpointslice.kubernetes.io/managed-by={managed_by}"
    ))
}

/// bosun's `discovery.bosun.dev` slices of `svc`.
async fn bosun_view(e: &Env, svc: &str) -> anyhow::Result<View> {
    let mut v = View::default();
    for s in e.bosun.list(&selector(svc, BOSUN)).await?.items {
        let at = format!("{:?}", s.spec.address_type);
        v.add(
            &at,
            s.spec.ports.as_deref().unwrap_or_default(),
            &s.spec.endpoints,
        );
    }
    Ok(v)
}

/// Core slices of `svc` written by `managed_by`.
async fn core_view(e: &Env, svc: &str, managed_by: &str) -> anyhow::Result<View> {
    let mut v = View::default();
    for s in e.core.list(&selector(svc, managed_by)).await?.items {
        if s.metadata.deletion_timestamp.is_some() {
            continue;
        }
        v.add(
            &s.address_type,
            s.ports.as_deref().unwrap_or_default(),
            &s.endpoints,
        );
    }
    Ok(v)
}

/// Wait until the built-in controller shows `n` endpoints for `svc` and bosun's equal them.
async fn matches_oracle(e: &Env, svc: &str, n: usize) -> anyhow::Result<View> {
    let last = std::sync::Mutex::new(None);
    let r = poll(
        &format!("bosun's slices of {svc} to equal the built-in ones ({n} endpoints)"),
        WAIT,
        || async {
            let builtin = core_view(e, svc, BUILTIN).await?;
            let ours = bosun_view(e, svc).await?;
            let ok = builtin.total() == n && ours.endpoints == builtin.endpoints;
            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some((ours.clone(), builtin));
            Ok(ok.then_some(ours))
        },
    )
    .await;
    if r.is_err() {
        eprintln!(
            "last views (bosun, built-in): {:#?}",
            last.lock().unwrap_or_else(|p| p.into_inner())
        );
    }
    r
}

fn service(name: &str, sel: &str, extra: Value) -> anyhow::Result<Service> {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"team": "blue"}},
        "spec": {"selector": {"app": sel},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
    });
    merge(&mut v, extra);
    Ok(serde_json::from_value(v)?)
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A plain pod labelled `app` on kwok node `i % 3`, with `extra` merged into it.
fn pod(name: &str, app: &str, i: usize, extra: Value) -> anyhow::Result<Pod> {
    let mut v = json!({
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"nodeName": format!("kwok-node-{}", i % 3),
                 "containers": [{"name": "c", "image": "registry.example/app:1"}]}
    });
    merge(&mut v, extra);
    Ok(serde_json::from_value(v)?)
}

async fn create_pods(e: &Env, pods: Vec<Pod>) -> anyhow::Result<()> {
    for p in pods {
        e.pods.create(&PostParams::default(), &p).await?;
    }
    Ok(())
}

/// Set a pod's Ready condition (kwok keeps what a status patch writes).
async fn set_ready(e: &Env, name: &str, ready: bool) -> anyhow::Result<()> {
    let status = if ready { "True" } else { "False" };
    let body = json!({"status": {"conditions": [{"type": "Ready", "status": status}]}});
    e.pods
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(&body))
        .await?;
    Ok(())
}

async fn wait_running(e: &Env, n: usize, app: &str) -> anyhow::Result<()> {
    poll(&format!("{n} pods of {app} with IPs"), WAIT, || async {
        let pods = e
            .pods
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await?
            .items;
        let with_ip = pods
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some())
            .count();
        Ok((with_ip == n).then_some(()))
    })
    .await
}

/// Counts the watch events (creates, updates, deletes) of slices of kind `K` managed by
/// `managed_by` in a namespace, from the moment the watch has listed (when this returns).
async fn count_writes<K>(
    client: &Client,
    ns: &str,
    managed_by: &str,
) -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicUsize>>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    let (listed_tx, listed_rx) = tokio::sync::oneshot::channel();
    let mut listed_tx = Some(listed_tx);
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let c = count.clone();
    let config = watcher::Config::default().labels(&format!(
        "endpointslice.kubernetes.io/managed-by={managed_by}"
    ));
    tokio::spawn(async move {
        let stream = watcher(api, config);
        futures::pin_mut!(stream);
        let mut live = false;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::InitDone) => {
                    live = true;
                    if let Some(tx) = listed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) if live => {
                    c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                _ => {}
            }
        }
    });
    listed_rx.await?;
    Ok(count)
}

fn replicaset(name: &str, replicas: i32) -> anyhow::Result<ReplicaSet> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                                         "ports": [{"containerPort": 8080}]}]}
            }
        }
    }))?)
}

async fn scale(rs: &Api<ReplicaSet>, name: &str, n: i32) -> anyhow::Result<()> {
    rs.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": n}})),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn two_hundred_fifty_pods_give_three_slices_and_shrink_back() -> anyhow::Result<()> {
    let e = env("eps-scale").await?;
    let rs: Api<ReplicaSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    rs.create(&PostParams::default(), &replicaset("big", 250)?)
        .await?;
    wait_running(&e, 250, "big").await?;
    let writes = count_writes::<EndpointSlice>(&e.client, &e.ns.name, BOSUN).await?;
    let builtin_writes = count_writes::<CoreSlice>(&e.client, &e.ns.name, BUILTIN).await?;
    let n = |c: &std::sync::Arc<std::sync::atomic::AtomicUsize>| {
        c.load(std::sync::atomic::Ordering::SeqCst)
    };
    let start = Instant::now();
    e.services
        .create(&PostParams::default(), &service("big", "big", json!({}))?)
        .await?;
    let view = matches_oracle(&e, "big", 250).await?;
    eprintln!(
        "250 ready pods, Service created: both controllers' slices complete after {:?}; \
         slice writes: bosun {}, built-in {}",
        start.elapsed(),
        n(&writes),
        n(&builtin_writes)
    );
    assert_eq!(view.slice_sizes, vec![50, 100, 100]);

    scale(&rs, "big", 100).await?;
    let view = matches_oracle(&e, "big", 100).await?;
    assert!(view.slice_sizes.len() <= 3, "{:?}", view.slice_sizes);
    assert!(view.slice_sizes.iter().all(|n| *n > 0 && *n <= 100));

    scale(&rs, "big", 0).await?;
    let view = poll(
        "bosun's slices to shrink to one empty slice",
        WAIT,
        || async {
            let ours = bosun_view(&e, "big").await?;
            let builtin = core_view(&e, "big", BUILTIN).await?;
            Ok((ours.slice_sizes == vec![0] && builtin.slice_sizes == vec![0]).then_some(ours))
        },
    )
    .await?;
    assert_eq!(view.total(), 0);

    // With the Service in place, the pods arrive in a stream.
    let (before, builtin_before) = (n(&writes), n(&builtin_writes));
    let start = Instant::now();
    scale(&rs, "big", 250).await?;
    let view = matches_oracle(&e, "big", 250).await?;
    eprintln!(
        "scale 0 -> 250 behind the Service: both complete after {:?}; slice writes: bosun {} \
         ({} slices), built-in {}",
        start.elapsed(),
        n(&writes) - before,
        view.slice_sizes.len(),
        n(&builtin_writes) - builtin_before
    );
    assert!(view.slice_sizes.iter().all(|n| *n <= 100));
    Ok(())
}

#[tokio::test]
async fn readiness_changes_flip_conditions() -> anyhow::Result<()> {
    let e = env("eps-ready").await?;
    e.services
        .create(&PostParams::default(), &service("web", "web", json!({}))?)
        .await?;
    create_pods(
        &e,
        (0..3)
            .map(|i| pod(&format!("web-{i}"), "web", i, json!({})))
            .collect::<anyhow::Result<_>>()?,
    )
    .await?;
    wait_running(&e, 3, "web").await?;
    let view = matches_oracle(&e, "web", 3).await?;
    assert!(view.endpoints.keys().all(|ep| ep.ready == Some(true)));
    assert!(
        view.endpoints
            .keys()
            .all(|ep| ep.zone.is_some() && ep.node_name.is_some())
    );

    set_ready(&e, "web-1", false).await?;
    let view = poll("web-1 not ready in both", WAIT, || async {
        let v = matches_oracle(&e, "web", 3).await?;
        let ep = v.by_pod("web-1");
        Ok((ep.len() == 1 && ep[0].ready == Some(false)).then_some(v))
    })
    .await?;
    assert_eq!(view.by_pod("web-1")[0].serving, Some(false));
    assert_eq!(view.by_pod("web-0")[0].ready, Some(true));

    set_ready(&e, "web-1", true).await?;
    poll("web-1 ready again in both", WAIT, || async {
        let v = matches_oracle(&e, "web", 3).await?;
        let ep = v.by_pod("web-1");
        Ok((ep.len() == 1 && ep[0].ready == Some(true)).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_named_target_port_resolving_differently_splits_slices() -> anyhow::Result<()> {
    let e = env("eps-named").await?;
    let extra = json!({"spec": {"ports": [{"name": "http", "port": 80, "targetPort": "web"}]}});
    e.services
        .create(&PostParams::default(), &service("named", "named", extra)?)
        .await?;
    let with_port = |n: i32| {
        json!({"spec": {"containers": [{"name": "c", "image": "registry.example/app:1",
            "ports": [{"name": "web", "containerPort": n}]}]}})
    };
    create_pods(
        &e,
        vec![
            pod("a", "named", 0, with_port(8080))?,
            pod("b", "named", 1, with_port(8080))?,
            pod("c", "named", 2, with_port(9090))?,
        ],
    )
    .await?;
    wait_running(&e, 3, "named").await?;
    let view = matches_oracle(&e, "named", 3).await?;
    assert_eq!(view.slice_sizes, vec![1, 2]);
    for s in e.bosun.list(&selector("named", BOSUN)).await?.items {
        assert!(
            s.annotations()
                .contains_key("endpoints.kubernetes.io/last-change-trigger-time"),
            "a written slice carries the trigger time, as upstream's"
        );
    }
    let port_of = |p: &str| view.by_pod(p)[0].ports.clone();
    assert_eq!(port_of("a")[0].1, 8080);
    assert_eq!(port_of("c")[0].1, 9090);
    Ok(())
}

#[tokio::test]
async fn a_headless_service_names_hostname_subdomain_pods() -> anyhow::Result<()> {
    let e = env("eps-headless").await?;
    e.services
        .create(
            &PostParams::default(),
            &service("hs", "hs", json!({"spec": {"clusterIP": "None"}}))?,
        )
        .await?;
    let host = |h: &str, sub: &str| json!({"spec": {"hostname": h, "subdomain": sub}});
    create_pods(
        &e,
        vec![
            pod("p0", "hs", 0, host("web-0", "hs"))?,
            pod("p1", "hs", 1, host("web-1", "hs"))?,
            pod("p2", "hs", 2, host("web-2", "elsewhere"))?,
        ],
    )
    .await?;
    wait_running(&e, 3, "hs").await?;
    let view = matches_oracle(&e, "hs", 3).await?;
    assert_eq!(view.by_pod("p0")[0].hostname.as_deref(), Some("web-0"));
    assert_eq!(view.by_pod("p1")[0].hostname.as_deref(), Some("web-1"));
    assert_eq!(view.by_pod("p2")[0].hostname, None);
    let ours = e.bosun.list(&selector("hs", BOSUN)).await?.items;
    assert!(ours.iter().all(|s| {
        s.labels()
            .get("service.kubernetes.io/headless")
            .is_some_and(|v| v.is_empty())
    }));
    Ok(())
}

#[tokio::test]
async fn publish_not_ready_addresses_makes_unready_pods_ready() -> anyhow::Result<()> {
    let e = env("eps-publish").await?;
    e.services
        .create(
            &PostParams::default(),
            &service(
                "pub",
                "pub",
                json!({"spec": {"publishNotReadyAddresses": true}}),
            )?,
        )
        .await?;
    create_pods(
        &e,
        vec![
            pod("a", "pub", 0, json!({}))?,
            pod("b", "pub", 1, json!({}))?,
        ],
    )
    .await?;
    wait_running(&e, 2, "pub").await?;
    matches_oracle(&e, "pub", 2).await?;
    set_ready(&e, "b", false).await?;
    let view = poll("b serving false in both", WAIT, || async {
        let v = matches_oracle(&e, "pub", 2).await?;
        let ep = v.by_pod("b");
        Ok((ep.len() == 1 && ep[0].serving == Some(false)).then_some(v))
    })
    .await?;
    assert_eq!(view.by_pod("b")[0].ready, Some(true));
    Ok(())
}

#[tokio::test]
async fn terminating_pods_stay_as_terminating_endpoints() -> anyhow::Result<()> {
    let e = env("eps-terminating").await?;
    // kwok finishes deletions at once; on a node nobody plays, a graceful deletion stays
    // Terminating, and the test plays the kubelet's status reports. The namespace's drop
    // removes the node and, should the test fail, the pods left on it.
    let node = e.ns.unmanaged_node(&e.client).await?;
    e.services
        .create(&PostParams::default(), &service("term", "term", json!({}))?)
        .await?;
    let on_unmanaged = json!({"spec": {"nodeName": node}});
    create_pods(
        &e,
        vec![
            pod("t0", "term", 0, on_unmanaged.clone())?,
            pod("t1", "term", 0, on_unmanaged)?,
        ],
    )
    .await?;
    for (i, name) in ["t0", "t1"].iter().enumerate() {
        let ip = format!("10.254.{}.{}", std::process::id() % 200, i + 1);
        let body = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}]}});
        e.pods
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&body))
            .await?;
    }
    matches_oracle(&e, "term", 2).await?;
    e.pods.delete("t0", &DeleteParams::default()).await?;
    let view = poll("t0 terminating in both", WAIT, || async {
        let v = matches_oracle(&e, "term", 2).await?;
        let ep = v.by_pod("t0");
        Ok((ep.len() == 1 && ep[0].terminating == Some(true)).then_some(v))
    })
    .await?;
    let t0 = view.by_pod("t0")[0];
    assert_eq!((t0.ready, t0.serving), (Some(false), Some(true)));
    // Play the kubelet: confirm the deletions, so the namespace can go.
    for name in ["t0", "t1"] {
        e.pods
            .delete(
                name,
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                },
            )
            .await?;
    }
    matches_oracle(&e, "term", 0).await?;
    Ok(())
}

#[tokio::test]
async fn a_selector_change_moves_the_endpoints() -> anyhow::Result<()> {
    let e = env("eps-selector").await?;
    e.services
        .create(&PostParams::default(), &service("sel", "a", json!({}))?)
        .await?;
    create_pods(
        &e,
        vec![
            pod("a0", "a", 0, json!({}))?,
            pod("a1", "a", 1, json!({}))?,
            pod("b0", "b", 2, json!({}))?,
        ],
    )
    .await?;
    wait_running(&e, 2, "a").await?;
    wait_running(&e, 1, "b").await?;
    let view = matches_oracle(&e, "sel", 2).await?;
    assert_eq!(view.by_pod("a0").len(), 1);
    e.services
        .patch(
            "sel",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"selector": {"app": "b"}}})),
        )
        .await?;
    let view = matches_oracle(&e, "sel", 1).await?;
    assert_eq!(view.by_pod("b0").len(), 1);
    assert!(view.by_pod("a0").is_empty());
    Ok(())
}

#[tokio::test]
async fn deleting_the_service_removes_its_slices() -> anyhow::Result<()> {
    let e = env("eps-delete").await?;
    e.services
        .create(&PostParams::default(), &service("gone", "gone", json!({}))?)
        .await?;
    create_pods(&e, vec![pod("g0", "gone", 0, json!({}))?]).await?;
    wait_running(&e, 1, "gone").await?;
    matches_oracle(&e, "gone", 1).await?;
    e.services.delete("gone", &DeleteParams::default()).await?;
    // The garbage collector removes both controllers' slices through their owner reference.
    poll(
        "both controllers' slices to be collected",
        Duration::from_secs(180),
        || async {
            let ours = e.bosun.list(&selector("gone", BOSUN)).await?.items.len();
            let builtin = e.core.list(&selector("gone", BUILTIN)).await?.items.len();
            Ok((ours == 0 && builtin == 0).then_some(()))
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn mirror_mode_writes_core_slices_equal_to_the_built_in_ones() -> anyhow::Result<()> {
    let e = env("eps-mirror").await?;
    // The oracle: an ordinary Service over the same pods.
    e.services
        .create(&PostParams::default(), &service("plain", "m", json!({}))?)
        .await?;
    let mut mirror = service(
        "mirror",
        "m",
        json!({"metadata": {"annotations": {"endpointslice.bosun.dev/selector": "app=m"}}}),
    )?;
    if let Some(spec) = mirror.spec.as_mut() {
        spec.selector = None;
    }
    e.services.create(&PostParams::default(), &mirror).await?;
    create_pods(
        &e,
        (0..4)
            .map(|i| pod(&format!("m{i}"), "m", i, json!({})))
            .collect::<anyhow::Result<_>>()?,
    )
    .await?;
    wait_running(&e, 4, "m").await?;
    set_ready(&e, "m2", false).await?;
    let view = poll(
        "mirrored core slices equal to the built-in ones",
        WAIT,
        || async {
            let builtin = core_view(&e, "plain", BUILTIN).await?;
            let mirrored = core_view(&e, "mirror", BOSUN).await?;
            let m2_unready = builtin
                .by_pod("m2")
                .first()
                .is_some_and(|ep| ep.ready == Some(false));
            Ok(
                (builtin.total() == 4 && m2_unready && mirrored.endpoints == builtin.endpoints)
                    .then_some(mirrored),
            )
        },
    )
    .await?;
    assert_eq!(view.slice_sizes, vec![4]);
    assert!(
        core_view(&e, "mirror", BUILTIN)
            .await?
            .slice_sizes
            .is_empty(),
        "the built-in controller leaves a selector-less Service alone"
    );
    // bosun's own slices serve the mirrored Service too.
    assert_eq!(bosun_view(&e, "mirror").await?.endpoints, view.endpoints);

    // Without the annotation the Service selects nothing: bosun removes what it mirrored.
    e.services
        .patch(
            "mirror",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"metadata": {"annotations": {"endpointslice.bosun.dev/selector": null}}}),
            ),
        )
        .await?;
    poll("the mirrored slices to be deleted", WAIT, || async {
        let left = e.core.list(&selector("mirror", BOSUN)).await?.items.len();
        let ours = e.bosun.list(&selector("mirror", BOSUN)).await?.items.len();
        Ok((left == 0 && ours == 0).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn traffic_distribution_hints_follow_the_built_in_ones() -> anyhow::Result<()> {
    let e = env("eps-hints").await?;
    e.services
        .create(
            &PostParams::default(),
            &service(
                "near",
                "near",
                json!({"spec": {"trafficDistribution": "PreferClose"}}),
            )?,
        )
        .await?;
    create_pods(
        &e,
        (0..3)
            .map(|i| pod(&format!("n{i}"), "near", i, json!({})))
            .collect::<anyhow::Result<_>>()?,
    )
    .await?;
    wait_running(&e, 3, "near").await?;
    let has_hints = |v: &View, zones: bool, nodes: bool| {
        v.endpoints
            .keys()
            .all(|ep| (ep.hints.0.len() == 1) == zones && (ep.hints.1.len() == 1) == nodes)
    };
    let view = poll("zone hints in both", WAIT, || async {
        let v = matches_oracle(&e, "near", 3).await?;
        Ok(has_hints(&v, true, false).then_some(v))
    })
    .await?;
    assert!(
        view.endpoints
            .keys()
            .all(|ep| ep.zone.as_ref() == ep.hints.0.first())
    );

    let set_td = |td: Value| {
        let svcs = e.services.clone();
        async move {
            svcs.patch(
                "near",
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": {"trafficDistribution": td}})),
            )
            .await
        }
    };
    set_td(json!("PreferSameNode")).await?;
    poll("zone and node hints in both", WAIT, || async {
        let v = matches_oracle(&e, "near", 3).await?;
        Ok(has_hints(&v, true, true).then_some(()))
    })
    .await?;
    set_td(Value::Null).await?;
    poll("no hints in both", WAIT, || async {
        let v = matches_oracle(&e, "near", 3).await?;
        Ok(has_hints(&v, false, false).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_selector_annotation_is_reported_not_fatal() -> anyhow::Result<()> {
    let e = env("eps-bad").await?;
    let mut bad = service(
        "bad",
        "x",
        json!({"metadata": {"annotations": {"endpointslice.bosun.dev/selector": "app in oops"}}}),
    )?;
    if let Some(spec) = bad.spec.as_mut() {
        spec.selector = None;
    }
    e.services.create(&PostParams::default(), &bad).await?;
    wait_for_event(
        &e.client,
        &e.ns.name,
        "an InvalidSelector event on the Service",
        |ev| {
            ev.reason.as_deref() == Some("InvalidSelector")
                && ev.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("bad")
        },
    )
    .await?;
    // The controller still serves other Services.
    e.services
        .create(&PostParams::default(), &service("good", "good", json!({}))?)
        .await?;
    create_pods(&e, vec![pod("g", "good", 0, json!({}))?]).await?;
    wait_running(&e, 1, "good").await?;
    matches_oracle(&e, "good", 1).await?;
    Ok(())
}

#[tokio::test]
async fn a_pod_on_a_node_not_yet_known_joins_when_the_node_appears() -> anyhow::Result<()> {
    let e = env("eps-late-node").await?;
    e.services
        .create(&PostParams::default(), &service("late", "late", json!({}))?)
        .await?;
    // Created below; the namespace's drop deletes it (and the pod bound to it), pass or fail.
    let node_name = e.ns.node_name("late");
    create_pods(
        &e,
        vec![
            pod("known", "late", 0, json!({}))?,
            pod(
                "waiting",
                "late",
                0,
                json!({"spec": {"nodeName": node_name}}),
            )?,
        ],
    )
    .await?;
    // Play the kubelet of the node that does not exist yet.
    let body = json!({"status": {"phase": "Running", "podIP": "10.253.0.1",
        "podIPs": [{"ip": "10.253.0.1"}], "conditions": [{"type": "Ready", "status": "True"}]}});
    e.pods
        .patch_status("waiting", &PatchParams::default(), &Patch::Strategic(&body))
        .await?;
    wait_running(&e, 2, "late").await?;
    let view = matches_oracle(&e, "late", 1).await?;
    assert!(
        view.by_pod("waiting").is_empty(),
        "left out while its node is unknown"
    );
    let nodes: Api<Node> = Api::all(e.client.clone());
    let node = serde_json::from_value(json!({"metadata": {"name": node_name,
        "labels": {"topology.kubernetes.io/zone": "zone-late", E2E_LABEL: "true"}},
        "spec": {"taints": [{"key": E2E_NODE_TAINT, "effect": "NoSchedule"}]}}))?;
    nodes.create(&PostParams::default(), &node).await?;
    let view = matches_oracle(&e, "late", 2).await?;
    assert_eq!(view.by_pod("waiting")[0].zone.as_deref(), Some("zone-late"));
    Ok(())
}

#[tokio::test]
async fn pod_endpoints_changed_on_any_update_of_a_terminating_pod() -> anyhow::Result<()> {
    // Upstream's podEndpointsChanged compares DeletionTimestamp pointers: every new version of a
    // terminating pod is a change. A terminating, not-ready pod that turns Failed leaves both
    // controllers' slices at once, not when the Pod object is gone.
    let e = env("eps-term-failed").await?;
    let node = e.ns.unmanaged_node(&e.client).await?;
    let on_node = json!({"spec": {"nodeName": node}});
    create_pods(
        &e,
        vec![
            pod("f0", "tf", 0, on_node.clone())?,
            pod("f1", "tf", 0, on_node)?,
        ],
    )
    .await?;
    for (i, name) in ["f0", "f1"].iter().enumerate() {
        let ip = format!("10.253.{}.{}", std::process::id() % 200, i + 1);
        let body = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}]}});
        e.pods
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&body))
            .await?;
    }
    // f0 shuts down (the kubelet's reports, played by the test): terminating, then not ready.
    e.pods.delete("f0", &DeleteParams::default()).await?;
    let unready = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
    e.pods
        .patch_status("f0", &PatchParams::default(), &Patch::Strategic(&unready))
        .await?;
    // The Service comes only now, so the one sync that writes its slices has nothing after it:
    // only the next update of f0 can bring another.
    e.services
        .create(&PostParams::default(), &service("tf", "tf", json!({}))?)
        .await?;
    poll("f0 terminating and not serving in both", WAIT, || async {
        let v = matches_oracle(&e, "tf", 2).await?;
        let ep = v.by_pod("f0");
        Ok(
            (ep.len() == 1 && ep[0].terminating == Some(true) && ep[0].serving == Some(false))
                .then_some(()),
        )
    })
    .await?;
    let failed = json!({"status": {"phase": "Failed"}});
    e.pods
        .patch_status("f0", &PatchParams::default(), &Patch::Merge(&failed))
        .await?;
    let view = matches_oracle(&e, "tf", 1).await?;
    assert!(
        view.by_pod("f0").is_empty(),
        "the Failed pod left: {view:?}"
    );
    // The Pod object is still there, terminating: the endpoint left because of the update.
    let f0 = e.pods.get("f0").await?;
    assert!(f0.metadata.deletion_timestamp.is_some());
    Ok(())
}
