//! bosun as its users run it: installed by its chart, the controllers (2 replicas, leader
//! election) and `bosun dns` in Pods, on a node that runs containers, serving real traffic
//! through kube-proxy. Nothing here starts a bosun process.
//!
//! Built only with `--features in-cluster` (`cargo test -p bosun-e2e --features in-cluster
//! --test in_cluster`): `make e2e` runs it when the local cluster has its real node (after
//! hack/install.sh), and the kind workflow after `helm install`. Cluster-agnostic; what it needs
//! comes from the environment:
//! - `KUBECONFIG`;
//! - `BOSUN_E2E_RELEASE` / `BOSUN_E2E_RELEASE_NAMESPACE` (`bosun` / `bosun-system`): the release;
//! - `BOSUN_E2E_NODE_LABEL` (`bosun.dev/real-node=true`; empty: the first node): the node whose
//!   InternalIP the tests reach NodePorts at;
//! - `BOSUN_E2E_ECHO_IMAGE` (`bosun.local/echo:dev`): bosun's echo server image, loaded in the
//!   cluster (on the local cluster, Pods of `bosun.local/` images go to the real node);
//! - `BOSUN_E2E_COREDNS_IMAGE` (`bosun.local/coredns:v1.14.7`): CoreDNS, for the kube-dns switch;
//! - `BOSUN_E2E_IMAGE_LOADER` (`hack/cluster/node.sh import`): the command that loads an image
//!   archive into the cluster's nodes (kind: `kind load image-archive --name <cluster>`).
//!
//! The tests freeze, delete and upgrade the controllers, so they run one at a time (one lock).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_api::discovery::EndpointSlice;
use bosun_e2e::{TestNamespace, client, http_get_at, kubectl, kubectl_bosun, poll, repo_root, run};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment as AppsDeployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);
/// A user workload's image on the kwok nodes (never pulled there).
const PAUSE: &str = "registry.k8s.io/pause:3.10";

/// One test at a time: each may take the controllers away from the others.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Prints how long the test took when it ends, pass or fail (the suite's time in the CI log).
struct Timed(Instant);

impl Drop for Timed {
    fn drop(&mut self) {
        println!("took {:?}", self.0.elapsed());
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn echo_image() -> String {
    env_or("BOSUN_E2E_ECHO_IMAGE", "bosun.local/echo:dev")
}

/// What every test starts with: the lock (one test at a time), its timer, and the release once
/// it has settled.
async fn begin() -> anyhow::Result<(tokio::sync::MutexGuard<'static, ()>, Timed, Release)> {
    let one = ONE_AT_A_TIME.lock().await;
    let timed = Timed(Instant::now());
    Ok((one, timed, Release::new().await?))
}

/// The chart's release under test.
struct Release {
    client: Client,
    name: String,
    ns: String,
    pods: Api<Pod>,
    leases: Api<Lease>,
}

impl Release {
    async fn new() -> anyhow::Result<Self> {
        let client = client().await?;
        let name = env_or("BOSUN_E2E_RELEASE", "bosun");
        let ns = env_or("BOSUN_E2E_RELEASE_NAMESPACE", "bosun-system");
        let r = Self {
            pods: Api::namespaced(client.clone(), &ns),
            leases: Api::namespaced(client.clone(), &ns),
            client,
            name,
            ns,
        };
        let t0 = Instant::now();
        r.wait_ready().await?;
        println!("the release settled in {:?}", t0.elapsed());
        Ok(r)
    }

    fn lease_name(&self) -> String {
        format!("{}-controller", self.name)
    }

    /// The release's Pods of one component (`controller` or `dns`), not terminating.
    async fn component(&self, component: &str) -> anyhow::Result<Vec<Pod>> {
        let lp = ListParams::default().labels(&format!(
            "app.kubernetes.io/instance={},app.kubernetes.io/component={component}",
            self.name
        ));
        Ok(self
            .pods
            .list(&lp)
            .await?
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect())
    }

    /// Both Deployments of the chart fully rolled out and Ready, and the Lease held by one of the
    /// controller Pods: the state every test starts from (the one before may have disturbed it).
    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deployments: Api<AppsDeployment> = Api::namespaced(self.client.clone(), &self.ns);
        poll("the chart's Deployments ready", WAIT, || async {
            for c in ["controller", "dns"] {
                let d = deployments.get(&format!("{}-{c}", self.name)).await?;
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
                let st = d.status.unwrap_or_default();
                let settled = st.observed_generation == d.metadata.generation
                    && st.replicas == Some(want)
                    && st.updated_replicas == Some(want)
                    && st.ready_replicas == Some(want)
                    && self.component(c).await?.len() == want as usize;
                if !settled {
                    return Ok(None);
                }
            }
            let holder = self.holder().await?.unwrap_or_default();
            let pods = self.component("controller").await?;
            Ok(pods
                .iter()
                .any(|p| holder.starts_with(&format!("{}_", p.name_any())) && ready(p))
                .then_some(()))
        })
        .await
    }

    async fn holder(&self) -> anyhow::Result<Option<String>> {
        Ok(self
            .leases
            .get_opt(&self.lease_name())
            .await?
            .and_then(|l| l.spec?.holder_identity)
            .filter(|h| !h.is_empty()))
    }

    /// The leader's Pod and the standby's.
    async fn leader_and_standby(&self) -> anyhow::Result<(Pod, Pod, String)> {
        let holder = self.holder().await?.context("nobody holds the lease")?;
        let pods = self.component("controller").await?;
        let (leader, standby): (Vec<Pod>, Vec<Pod>) = pods
            .into_iter()
            .partition(|p| holder.starts_with(&format!("{}_", p.name_any())));
        match (leader.into_iter().next(), standby.into_iter().next()) {
            (Some(l), Some(s)) => Ok((l, s, holder)),
            _ => bail!("the lease holder {holder} is not one of two controller Pods"),
        }
    }

    /// Run `bosun-echo ARGS` in an ephemeral container of `pod` that shares the process namespace
    /// of its container `target` (`kubectl debug --target`); its output.
    async fn debug(&self, pod: &str, target: &str, args: &[&str]) -> anyhow::Result<String> {
        let name = format!(
            "e2e-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
                % 1_000_000_000
        );
        let image = echo_image();
        let mut cmd = vec![
            "debug",
            "-n",
            &self.ns,
            pod,
            "--image",
            &image,
            "--target",
            target,
            "--container",
            &name,
            "--profile=restricted",
            "--",
            "/bosun-echo",
        ];
        cmd.extend_from_slice(args);
        let out = kubectl(&cmd)?;
        ensure!(out.code == 0, "kubectl debug {pod}: {}", out.stderr);
        let exit = poll(
            &format!("ephemeral container {name} of {pod} finished"),
            Duration::from_secs(60),
            || async {
                let p = self.pods.get(pod).await?;
                Ok(p.status
                    .and_then(|s| s.ephemeral_container_statuses)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.name == name)
                    .and_then(|c| c.state?.terminated)
                    .map(|t| t.exit_code))
            },
        )
        .await?;
        let logs = kubectl(&["logs", "-n", &self.ns, pod, "-c", &name])?;
        let text = logs.stdout.to_string();
        ensure!(
            exit == 0,
            "bosun-echo {args:?} in {pod} exited {exit}: {text}"
        );
        Ok(text)
    }
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The address the tests reach NodePorts at: the InternalIP of the node `BOSUN_E2E_NODE_LABEL`
/// selects (or of the first node).
async fn node_address(client: &Client) -> anyhow::Result<String> {
    let label = env_or("BOSUN_E2E_NODE_LABEL", "bosun.dev/real-node=true");
    let nodes: Api<Node> = Api::all(client.clone());
    let lp = if label.is_empty() {
        ListParams::default()
    } else {
        ListParams::default().labels(&label)
    };
    let node = nodes
        .list(&lp)
        .await?
        .items
        .into_iter()
        .next()
        .with_context(|| format!("no node has the label {label:?} (BOSUN_E2E_NODE_LABEL)"))?;
    let name = node.name_any();
    node.status
        .and_then(|s| s.addresses)
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address)
        .with_context(|| format!("node {name} has no InternalIP"))
}

/// GET / on host:port with a deadline: the answering Pod's name.
async fn ask(host: &str, port: u16, path: &str) -> anyhow::Result<String> {
    let (code, body) = tokio::time::timeout(Duration::from_secs(2), http_get_at(host, port, path))
        .await
        .context("no answer within 2s")??;
    ensure!(code == 200, "HTTP {code}: {body}");
    Ok(body.trim().to_string())
}

/// The NodePort of a Service's first port.
async fn node_port(client: &Client, ns: &str, name: &str) -> anyhow::Result<u16> {
    let svcs: Api<Service> = Api::namespaced(client.clone(), ns);
    let svc = svcs.get(name).await?;
    svc.spec
        .and_then(|s| s.ports)
        .and_then(|p| p.into_iter().next())
        .and_then(|p| p.node_port)
        .and_then(|p| u16::try_from(p).ok())
        .with_context(|| format!("service {ns}/{name} has no NodePort"))
}

/// Wait until `host:port` answers, a few times in a row (kube-proxy has programmed it).
async fn wait_answers(host: &str, port: u16) -> anyhow::Result<()> {
    poll(&format!("{host}:{port} answers"), WAIT, || async {
        for _ in 0..3 {
            if ask(host, port, "/").await.is_err() {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await
}

/// An echo server Deployment of bosun: `replicas` Pods, maxUnavailable 0, a readiness probe on
/// /readyz, and a shutdown delay that outlasts kube-proxy's reaction to a terminating Pod.
fn echo_deployment(name: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "containers": [{
                        "name": "echo", "image": echo_image(), "args": ["--shutdown-delay=3"],
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                                           "periodSeconds": 1, "failureThreshold": 1}
                    }]
                }
            }
        }
    })
}

async fn node_port_service(client: &Client, ns: &str, name: &str) -> anyhow::Result<()> {
    let svcs: Api<Service> = Api::namespaced(client.clone(), ns);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": name},
                 "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}
    }))?;
    svcs.create(&PostParams::default(), &svc).await?;
    Ok(())
}

/// A bosun Deployment's rollout is complete: every replica updated, available, no old Pod left.
async fn wait_rolled_out(client: &Client, ns: &str, name: &str) -> anyhow::Result<()> {
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    poll(&format!("deployment {name} rolled out"), WAIT, || async {
        let d = deploys.get(name).await?;
        let want = d.spec.replicas.unwrap_or(1);
        let st = serde_json::to_value(&d.status)?;
        let n = |k: &str| st[k].as_i64().unwrap_or(-1);
        let done = st["observedGeneration"].as_i64() == d.metadata.generation
            && n("updatedReplicas") == i64::from(want)
            && n("availableReplicas") == i64::from(want)
            && n("replicas") == i64::from(want);
        let live = pods
            .list(&ListParams::default().labels(&format!("app={name}")))
            .await?
            .items
            .len();
        Ok((done && live == want as usize).then_some(()))
    })
    .await
}

/// Count the Pods of a namespace at every watch event: (the most seen at once, every Pod UID
/// ever seen, the ADDED and DELETED events after the initial list).
struct PodWatch {
    max: Arc<Mutex<usize>>,
    changes: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PodWatch {
    async fn start(client: &Client, ns: &str, selector: &str) -> anyhow::Result<Self> {
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let max = Arc::new(Mutex::new(0));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let (m, c) = (max.clone(), changes.clone());
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let cfg = watcher::Config::default().labels(selector);
        let task = tokio::spawn(async move {
            let mut live: BTreeMap<String, String> = BTreeMap::new();
            let mut listed = false;
            let mut ready_tx = Some(ready_tx);
            let mut stream = watcher(pods, cfg).boxed();
            while let Some(Ok(ev)) = stream.next().await {
                match ev {
                    watcher::Event::Init => live.clear(),
                    watcher::Event::InitApply(p) => {
                        live.insert(p.uid().unwrap_or_default(), p.name_any());
                    }
                    watcher::Event::InitDone => {
                        listed = true;
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    watcher::Event::Apply(p) => {
                        let uid = p.uid().unwrap_or_default();
                        if live.insert(uid, p.name_any()).is_none() && listed {
                            lock(&c).push(format!("ADDED {}", p.name_any()));
                        }
                    }
                    watcher::Event::Delete(p) => {
                        live.remove(&p.uid().unwrap_or_default());
                        lock(&c).push(format!("DELETED {}", p.name_any()));
                    }
                }
                let mut mx = lock(&m);
                *mx = (*mx).max(live.len());
            }
        });
        tokio::time::timeout(Duration::from_secs(30), ready_rx)
            .await
            .context("the pod watch did not list")??;
        Ok(Self { max, changes, task })
    }

    fn max(&self) -> usize {
        *lock(&self.max)
    }

    fn changes(&self) -> Vec<String> {
        lock(&self.changes).clone()
    }
}

impl Drop for PodWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bosun ReplicaSet of `n` Pods on the kwok nodes: the user workload the controllers keep
/// acting on while the tests disturb them.
async fn workload(client: &Client, ns: &str, n: i32) -> anyhow::Result<Api<ReplicaSet>> {
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let rs: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": "load"},
        "spec": {"replicas": n, "selector": {"matchLabels": {"app": "load"}},
                 "template": {"metadata": {"labels": {"app": "load"}},
                              "spec": {"containers": [{"name": "c", "image": PAUSE}]}}}
    }))?;
    rss.create(&PostParams::default(), &rs).await?;
    wait_rs_ready(&rss, n).await?;
    Ok(rss)
}

async fn wait_rs_ready(rss: &Api<ReplicaSet>, n: i32) -> anyhow::Result<()> {
    poll(&format!("ReplicaSet load has {n} ready"), WAIT, || async {
        let rs = rss.get("load").await?;
        let st = serde_json::to_value(&rs.status)?;
        Ok((st["readyReplicas"].as_i64() == Some(i64::from(n))
            && st["replicas"].as_i64() == Some(i64::from(n)))
        .then_some(()))
    })
    .await
}

async fn scale(rss: &Api<ReplicaSet>, n: i32) -> anyhow::Result<()> {
    rss.patch(
        "load",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": n}})),
    )
    .await?;
    Ok(())
}

/// The Lease's holders in the order the test saw them, with when (None: released).
type LeaseHistory = Arc<Mutex<Vec<(Instant, Option<String>)>>>;

/// Watch the Lease: every holder it shows, with the time the test saw it (None: released).
fn watch_lease(leases: Api<Lease>, name: &str) -> (LeaseHistory, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let cfg = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let task = tokio::spawn(async move {
        let mut stream = watcher(leases, cfg).boxed();
        while let Some(Ok(ev)) = stream.next().await {
            if let watcher::Event::Apply(l) | watcher::Event::InitApply(l) = ev {
                let holder = l
                    .spec
                    .and_then(|s| s.holder_identity)
                    .filter(|h| !h.is_empty());
                let mut v = lock(&s);
                if v.last().map(|(_, h)| h) != Some(&holder) {
                    v.push((Instant::now(), holder));
                }
            }
        }
    });
    (seen, task)
}

#[tokio::test]
async fn the_charts_security_context_holds_in_the_running_containers() -> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    for (component, container) in [("controller", "bosun"), ("dns", "dns")] {
        for pod in r.component(component).await? {
            // Read from the kernel, for the container's process: not what the manifest asks.
            let report = r
                .debug(&pod.name_any(), container, &["--inspect=1"])
                .await?;
            let facts: BTreeMap<&str, &str> =
                report.lines().filter_map(|l| l.split_once('=')).collect();
            let who = format!("{}/{container}", pod.name_any());
            assert_eq!(
                facts.get("name"),
                Some(&"bosun"),
                "{who}: the container's process: {report}"
            );
            assert_eq!(
                facts.get("uid"),
                Some(&"65532,65532,65532,65532"),
                "{who}: {report}"
            );
            assert_eq!(
                facts.get("gid"),
                Some(&"65532,65532,65532,65532"),
                "{who}: {report}"
            );
            assert_eq!(
                facts.get("rootfs"),
                Some(&"ro"),
                "{who}: read-only root: {report}"
            );
            assert_eq!(facts.get("no_new_privs"), Some(&"1"), "{who}: {report}");
            assert_eq!(
                facts.get("cap_eff"),
                Some(&"0000000000000000"),
                "{who}: {report}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_leader_pod_deleted_the_waiting_standby_takes_over_within_2s() -> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-leader").await?;
    let rss = workload(&r.client, &ns.name, 4).await?;
    let pods = PodWatch::start(&r.client, &ns.name, "app=load").await?;
    let (leader, standby, old_identity) = r.leader_and_standby().await?;
    let (seen, lease_task) = watch_lease(r.leases.clone(), &r.lease_name());

    r.pods
        .delete(&leader.name_any(), &DeleteParams::default())
        .await?;
    // The new leader has work to do at once.
    scale(&rss, 6).await?;
    let standby_prefix = format!("{}_", standby.name_any());
    let new_identity = poll("the standby holds the lease", WAIT, || async {
        Ok(r.holder().await?.filter(|h| *h != old_identity))
    })
    .await?;
    wait_rs_ready(&rss, 6).await?;
    lease_task.abort();

    assert!(
        new_identity.starts_with(&standby_prefix),
        "the waiting standby {} took over, not a new Pod: {new_identity}",
        standby.name_any()
    );
    let history = lock(&seen).clone();
    let released = history
        .iter()
        .find(|(_, h)| h.is_none())
        .map(|(t, _)| *t)
        .context(format!(
            "the deleted leader released the lease on SIGTERM: {history:?}"
        ))?;
    let taken = history
        .iter()
        .find(|(_, h)| h.as_deref() == Some(new_identity.as_str()))
        .map(|(t, _)| *t)
        .context("the watch saw the new holder")?;
    let handover = taken.saturating_duration_since(released);
    println!("handover: the lease released, taken by the standby {handover:?} later");
    assert!(
        handover < Duration::from_secs(2),
        "handover took {handover:?}"
    );
    assert!(
        pods.max() <= 6,
        "at most 6 Pods of the workload at any watch event, saw {}",
        pods.max()
    );
    Ok(())
}

#[tokio::test]
async fn a_frozen_leader_loses_the_lease_within_its_duration_and_identities_stay_unique()
-> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-frozen").await?;
    let rss = workload(&r.client, &ns.name, 4).await?;
    let pods = PodWatch::start(&r.client, &ns.name, "app=load").await?;
    let (leader, standby, frozen_identity) = r.leader_and_standby().await?;
    let restarts_before = restart_count(&leader, "bosun");

    // A container's PID 1 ignores SIGSTOP sent from inside its PID namespace (an ephemeral
    // container's `kill` does nothing), so the signal comes from this host, an ancestor
    // namespace: the tests must run on the node's machine (the local cluster's real node).
    let pid = host_pid(&leader, "/usr/local/bin/bosun\0run")?;
    signal(pid, libc::SIGSTOP)?;
    let frozen_at = r
        .leases
        .get(&r.lease_name())
        .await?
        .spec
        .context("lease spec")?;
    let last_renew = frozen_at.renew_time.context("renewTime")?.0;
    let duration = i64::from(frozen_at.lease_duration_seconds.unwrap_or(15));
    scale(&rss, 6).await?;
    let taken = poll(
        "the standby takes the frozen leader's lease",
        Duration::from_secs(duration as u64 + 30),
        || async {
            let l = r.leases.get(&r.lease_name()).await?;
            Ok(l.spec.filter(|s| {
                s.holder_identity
                    .as_deref()
                    .is_some_and(|h| h != frozen_identity)
            }))
        },
    )
    .await?;
    let new_identity = taken.holder_identity.clone().unwrap_or_default();
    assert!(
        new_identity.starts_with(&format!("{}_", standby.name_any())),
        "the standby took over: {new_identity}"
    );
    let acquired = taken.acquire_time.context("acquireTime")?.0;
    let after = acquired.duration_since(last_renew).as_secs_f64();
    println!(
        "frozen leader: the standby took the lease {after:.1}s after its last renewal (lease {duration}s)"
    );
    assert!(
        after <= duration as f64 + 2.0,
        "taken {after:.1}s after the last renewal, lease duration {duration}s"
    );
    wait_rs_ready(&rss, 6).await?;

    // Thawed, the old leader finds the lease taken and exits; its container restarts.
    signal(pid, libc::SIGCONT)?;
    poll(
        "the thawed leader's container restarted and Ready",
        WAIT,
        || async {
            let p = r.pods.get(&leader.name_any()).await?;
            Ok((restart_count(&p, "bosun") > restarts_before && ready(&p)).then_some(()))
        },
    )
    .await?;
    // The restarted container leads under a new identity once the other one leaves.
    r.pods
        .delete(&standby.name_any(), &DeleteParams::default())
        .await?;
    let again = poll("the restarted container leads", WAIT, || async {
        Ok(r.holder()
            .await?
            .filter(|h| h.starts_with(&format!("{}_", leader.name_any()))))
    })
    .await?;
    assert_ne!(
        again, frozen_identity,
        "a restarted container leads under a new identity"
    );
    scale(&rss, 3).await?;
    wait_rs_ready(&rss, 3).await?;
    assert!(
        pods.max() <= 6,
        "at most 6 Pods of the workload at any watch event, saw {}: {:?}",
        pods.max(),
        pods.changes()
    );
    Ok(())
}

/// The host's process id of the process of `pod` whose command line starts with `cmdline`
/// (NUL-separated), found through /proc/PID/cgroup naming the Pod's UID.
fn host_pid(pod: &Pod, cmdline: &str) -> anyhow::Result<i32> {
    let uid = pod.uid().context("pod uid")?;
    let (dashed, underscored) = (uid.clone(), uid.replace('-', "_"));
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if !(cgroup.contains(&dashed) || cgroup.contains(&underscored)) {
            continue;
        }
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).starts_with(cmdline) {
            return Ok(pid);
        }
    }
    bail!(
        "no process of Pod {} ({uid}) runs {:?} on this machine: this test must run on the \
         machine of the Pod's node (the local cluster's real node)",
        pod.name_any(),
        cmdline.replace('\0', " ")
    )
}

fn signal(pid: i32, sig: i32) -> anyhow::Result<()> {
    // SAFETY: kill(2) on a process id just found under the Pod's cgroup.
    if unsafe { libc::kill(pid, sig) } != 0 {
        bail!("kill({pid}, {sig}): {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn restart_count(p: &Pod, container: &str) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container))
        .map(|c| c.restart_count)
        .unwrap_or_default()
}

#[tokio::test]
async fn helm_upgrade_to_a_new_image_tag_rolls_only_bosuns_pods() -> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-upgrade").await?;
    workload(&r.client, &ns.name, 3).await?;
    let deploys: Api<Deployment> = Api::namespaced(r.client.clone(), &ns.name);
    let dep: Deployment = serde_json::from_value(echo_deployment("served", 2))?;
    deploys.create(&PostParams::default(), &dep).await?;
    wait_rolled_out(&r.client, &ns.name, "served").await?;
    let user_pods = PodWatch::start(&r.client, &ns.name, "").await?;

    // The running image, and a new tag of the same contents.
    let current = r.component("controller").await?[0]
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .context("the controller's image")?;
    let (repo, _) = current
        .rsplit_once(':')
        .context(format!("image {current} has no tag"))?;
    let tag = format!(
        "e2e-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    let dir = std::env::temp_dir().join(format!("bosun-e2e-image-{tag}"));
    let built = Instant::now();
    // Only the environment a user's shell gives the script: the CARGO_* variables `cargo test`
    // sets for this process would reach the build scripts of the image's dependencies and make
    // cargo rebuild the whole release image (3 minutes) instead of finding it fresh.
    let mut cmd = std::process::Command::new(repo_root().join("hack/image/build.sh"));
    cmd.env_clear()
        .arg("bosun")
        .env("IMAGE", format!("{repo}:{tag}"))
        .env("BOSUN_IMAGE_DIR", &dir);
    for (k, v) in std::env::vars_os() {
        let keep = k.to_str().is_some_and(|k| {
            matches!(k, "PATH" | "HOME" | "CARGO_HOME" | "RUSTUP_HOME" | "TMPDIR")
                || (k.starts_with("BOSUN_") && k != "BOSUN_IMAGE_DIR")
        });
        if keep {
            cmd.env(k, v);
        }
    }
    let build = cmd.output()?;
    ensure!(
        build.status.success(),
        "hack/image/build.sh bosun: {}",
        String::from_utf8_lossy(&build.stderr)
    );
    println!("image {repo}:{tag} built in {:?}", built.elapsed());
    let archive = dir.join("bosun.tar");
    let loader = env_or("BOSUN_E2E_IMAGE_LOADER", "");
    if !loader.is_empty() {
        let mut parts = loader.split_whitespace();
        let program = parts.next().context("BOSUN_E2E_IMAGE_LOADER")?;
        let mut args: Vec<String> = parts.map(str::to_string).collect();
        args.push(archive.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(program, &args)?;
        ensure!(out.code == 0, "{loader}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let before: BTreeSet<String> = r
        .component("controller")
        .await?
        .into_iter()
        .chain(r.component("dns").await?)
        .map(|p| p.name_any())
        .collect();

    let t0 = Instant::now();
    let chart = repo_root().join("charts/bosun");
    let out = run(
        "helm",
        &[
            "upgrade",
            &r.name,
            &chart.display().to_string(),
            "-n",
            &r.ns,
            "--reuse-values",
            "--set",
            &format!("image.tag={tag}"),
            "--wait",
            "--timeout",
            "3m",
        ],
    )?;
    ensure!(out.code == 0, "helm upgrade: {}", out.stderr);
    r.wait_ready().await?;
    println!("helm upgrade to {repo}:{tag}: rolled in {:?}", t0.elapsed());

    for c in ["controller", "dns"] {
        for p in r.component(c).await? {
            assert!(
                !before.contains(&p.name_any()),
                "{} was replaced",
                p.name_any()
            );
            let image = p
                .spec
                .as_ref()
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone());
            assert_eq!(image.as_deref(), Some(format!("{repo}:{tag}").as_str()));
        }
    }
    assert_eq!(
        user_pods.changes(),
        Vec::<String>::new(),
        "no user Pod was created or deleted by the roll"
    );
    Ok(())
}

#[tokio::test]
async fn a_failing_readiness_probe_takes_the_pod_out_of_slices_dns_and_traffic()
-> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-ready").await?;
    let deploys: Api<Deployment> = Api::namespaced(r.client.clone(), &ns.name);
    let dep: Deployment = serde_json::from_value(echo_deployment("echo", 2))?;
    deploys.create(&PostParams::default(), &dep).await?;
    node_port_service(&r.client, &ns.name, "echo").await?;
    let svcs: Api<Service> = Api::namespaced(r.client.clone(), &ns.name);
    let headless: Service = serde_json::from_value(json!({
        "metadata": {"name": "echo-headless"},
        "spec": {"clusterIP": "None", "selector": {"app": "echo"}, "ports": [{"name": "http", "port": 8080}]}
    }))?;
    svcs.create(&PostParams::default(), &headless).await?;
    wait_rolled_out(&r.client, &ns.name, "echo").await?;
    let host = node_address(&r.client).await?;
    let port = node_port(&r.client, &ns.name, "echo").await?;
    wait_answers(&host, port).await?;
    let pods: Api<Pod> = Api::namespaced(r.client.clone(), &ns.name);
    let ips: BTreeMap<String, String> = pods
        .list(&ListParams::default().labels("app=echo"))
        .await?
        .items
        .into_iter()
        .filter_map(|p| Some((p.name_any(), p.status?.pod_ip?)))
        .collect();
    let fqdn = format!("echo-headless.{}.svc.cluster.local", ns.name);
    let all: BTreeSet<String> = ips.values().cloned().collect();
    assert_eq!(resolve(&r, &ns.name, &fqdn).await?, all, "both Pods in DNS");

    // Whichever Pod answers is made unready; the other keeps serving.
    let sick = ask(&host, port, "/unready").await?;
    let sick = sick.trim_end_matches(" unready").to_string();
    let sick_ip = ips
        .get(&sick)
        .context(format!("{sick} is not an echo Pod"))?
        .clone();
    let (healthy, healthy_ip) = ips
        .iter()
        .find(|(n, _)| **n != sick)
        .map(|(n, ip)| (n.clone(), ip.clone()))
        .context("the other Pod")?;
    let t0 = Instant::now();
    let slices: Api<EndpointSlice> = Api::namespaced(r.client.clone(), &ns.name);
    poll(
        "the unready endpoint leaves bosun's slice",
        WAIT,
        || async {
            let lp = ListParams::default().labels("kubernetes.io/service-name=echo");
            for s in slices.list(&lp).await?.items {
                let v = serde_json::to_value(&s)?;
                for e in v["endpoints"].as_array().cloned().unwrap_or_default() {
                    let is_sick = e["addresses"][0].as_str() == Some(sick_ip.as_str());
                    if is_sick && e["conditions"]["ready"].as_bool() == Some(false) {
                        return Ok(Some(()));
                    }
                }
            }
            Ok(None)
        },
    )
    .await?;
    println!(
        "readiness: {sick} not ready in bosun's slice {:?} after it failed",
        t0.elapsed()
    );
    let only: BTreeSet<String> = [healthy_ip.clone()].into();
    poll("DNS answers only the ready Pod", WAIT, || async {
        Ok((resolve(&r, &ns.name, &fqdn).await? == only).then_some(()))
    })
    .await?;
    // kube-proxy follows the core slices: once the healthy Pod answers ten in a row, the next
    // twenty all reach it.
    poll("requests reach only the ready Pod", WAIT, || async {
        for _ in 0..10 {
            if ask(&host, port, "/").await? != healthy {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })
    .await?;
    for _ in 0..20 {
        assert_eq!(ask(&host, port, "/").await?, healthy, "{sick} is unready");
    }
    Ok(())
}

/// The ClusterIP of Service `ns/name`.
async fn cluster_ip(client: &Client, ns: &str, name: &str) -> anyhow::Result<String> {
    Api::<Service>::namespaced(client.clone(), ns)
        .get(name)
        .await?
        .spec
        .and_then(|s| s.cluster_ip)
        .with_context(|| format!("the ClusterIP of service {ns}/{name}"))
}

/// Resolve `name` from a Pod whose only nameserver is bosun's DNS Service (so the answer is
/// bosun dns's whatever the cluster's DNS is): the addresses.
async fn resolve(r: &Release, ns: &str, name: &str) -> anyhow::Result<BTreeSet<String>> {
    let dns_ip = cluster_ip(&r.client, &r.ns, &format!("{}-dns", r.name)).await?;
    let (ok, text) = resolve_via(&r.client, ns, &dns_ip, name).await?;
    ensure!(ok, "resolving {name}: {text}");
    let (_, addrs) = text
        .trim()
        .split_once(" -> ")
        .context(format!("unexpected output: {text}"))?;
    Ok(addrs.split_whitespace().map(str::to_string).collect())
}

/// Look `name` up from a Pod of `ns` whose only nameserver is `nameserver` (ndots 1, no search
/// path): whether it resolved, and the echo server's line (`NAME -> ADDRESSES` or the error).
async fn resolve_via(
    client: &Client,
    ns: &str,
    nameserver: &str,
    name: &str,
) -> anyhow::Result<(bool, String)> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod_name = format!(
        "resolve-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
            % 1_000_000_000
    );
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": pod_name},
        "spec": {"restartPolicy": "Never", "dnsPolicy": "None",
                 "dnsConfig": {"nameservers": [nameserver], "options": [{"name": "ndots", "value": "1"}]},
                 "containers": [{"name": "resolve", "image": echo_image(),
                                 "args": [format!("--resolve={name}")]}]}
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let phase = poll(&format!("pod {pod_name} finished"), WAIT, || async {
        let p = pods.get(&pod_name).await?;
        Ok(p.status
            .and_then(|s| s.phase)
            .filter(|ph| ph == "Succeeded" || ph == "Failed"))
    })
    .await?;
    let logs = kubectl(&["logs", "-n", ns, &pod_name])?;
    let text = logs.stdout.trim().to_string();
    pods.delete(&pod_name, &DeleteParams::default()).await?;
    Ok((phase == "Succeeded", text))
}

#[tokio::test]
async fn a_rolling_update_with_max_unavailable_0_drops_no_request() -> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-roll").await?;
    let deploys: Api<Deployment> = Api::namespaced(r.client.clone(), &ns.name);
    let dep: Deployment = serde_json::from_value(echo_deployment("echo", 3))?;
    deploys.create(&PostParams::default(), &dep).await?;
    node_port_service(&r.client, &ns.name, "echo").await?;
    wait_rolled_out(&r.client, &ns.name, "echo").await?;
    let host = node_address(&r.client).await?;
    let port = node_port(&r.client, &ns.name, "echo").await?;
    wait_answers(&host, port).await?;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h, s) = (host.clone(), stop.clone());
    let requests = tokio::spawn(async move {
        let (mut ok, mut failed) = (BTreeMap::<String, u32>::new(), Vec::new());
        while !s.load(std::sync::atomic::Ordering::SeqCst) {
            match ask(&h, port, "/").await {
                Ok(name) => *ok.entry(name).or_default() += 1,
                Err(e) => failed.push(format!("{e:#}")),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (ok, failed)
    });
    let before: BTreeSet<String> = Api::<Pod>::namespaced(r.client.clone(), &ns.name)
        .list(&ListParams::default().labels("app=echo"))
        .await?
        .items
        .iter()
        .map(|p| p.name_any())
        .collect();
    let t0 = Instant::now();
    deploys
        .patch(
            "echo",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"metadata": {"annotations": {"e2e/restarted": "1"}}}}})),
        )
        .await?;
    wait_rolled_out(&r.client, &ns.name, "echo").await?;
    let took = t0.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = requests.await?;
    let total: u32 = ok.values().sum();
    let new_pods = ok.keys().filter(|n| !before.contains(*n)).count();
    println!(
        "rolling update of 3 Pods in {took:?}: {total} requests answered by {} Pods ({new_pods} new), {} failed",
        ok.len(),
        failed.len()
    );
    assert_eq!(failed, Vec::<String>::new(), "no request failed");
    assert!(new_pods >= 1, "the new Pods answered: {ok:?}");
    assert!(total >= 50, "the loop ran through the rollout: {total}");
    Ok(())
}

#[tokio::test]
async fn the_seeds_path_create_expose_and_curl() -> anyhow::Result<()> {
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-seeds").await?;
    let image = format!("--image={}", echo_image());
    let out = kubectl_bosun(&[
        "create",
        "deployment",
        "hello-minikube",
        &image,
        "-n",
        &ns.name,
    ])?;
    ensure!(out.code == 0, "create: {}", out.stderr);
    let out = kubectl_bosun(&[
        "expose",
        "deploy/hello-minikube",
        "--type=NodePort",
        "--port=8080",
        "-n",
        &ns.name,
    ])?;
    ensure!(out.code == 0, "expose: {}", out.stderr);
    wait_rolled_out(&r.client, &ns.name, "hello-minikube").await?;
    let host = node_address(&r.client).await?;
    let port = node_port(&r.client, &ns.name, "hello-minikube").await?;
    wait_answers(&host, port).await?;
    let answer = ask(&host, port, "/").await?;
    assert!(
        answer.starts_with("hello-minikube-"),
        "curl http://{host}:{port}/ answers with the Pod's name: {answer}"
    );
    Ok(())
}

#[tokio::test]
async fn a_pod_resolves_names_through_bosun_dns_as_the_kubelets_cluster_dns() -> anyhow::Result<()>
{
    // The kubelet gives a Pod of dnsPolicy ClusterFirst (the default) the clusterDNS address
    // and the search path `<ns>.svc.<zone> svc.<zone> <zone>`; with the chart's clusterDNS mode
    // that address is bosun dns's Service, the only DNS server of the local cluster.
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-cdns").await?;
    let dns_ip = cluster_ip(&r.client, &r.ns, &format!("{}-dns", r.name)).await?;
    let ns_svcs: Api<Service> = Api::namespaced(r.client.clone(), &ns.name);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    }))?;
    let web_ip = ns_svcs
        .create(&PostParams::default(), &svc)
        .await?
        .spec
        .and_then(|s| s.cluster_ip)
        .context("ClusterIP")?;
    let pods: Api<Pod> = Api::namespaced(r.client.clone(), &ns.name);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "resolve"},
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "resolve", "image": echo_image(),
                                 "args": ["--resolve=web", format!("--resolve=web.{}", ns.name),
                                          "--resolve=kubernetes.default"]}]}
    }))?;
    pods.create(&PostParams::default(), &pod).await?;
    let phase = poll("pod resolve finished", WAIT, || async {
        let p = pods.get("resolve").await?;
        Ok(p.status
            .and_then(|s| s.phase)
            .filter(|ph| ph == "Succeeded" || ph == "Failed"))
    })
    .await?;
    let logs = kubectl(&["logs", "-n", &ns.name, "resolve"])?;
    ensure!(phase == "Succeeded", "resolving: {}", logs.stdout);
    let kubernetes_ip = cluster_ip(&r.client, "default", "kubernetes").await?;
    assert_eq!(
        logs.stdout,
        format!(
            "web -> {web_ip}\nweb.{ns} -> {web_ip}\nkubernetes.default -> {kubernetes_ip}\n",
            ns = ns.name
        )
    );
    // The names went to bosun dns: the kubelet's nameserver is its Service.
    let resolv = pods
        .get("resolve")
        .await?
        .spec
        .and_then(|s| s.dns_config)
        .and_then(|c| c.nameservers);
    assert_eq!(
        resolv, None,
        "the kubelet, not the Pod, chose the nameserver"
    );
    let node_dns = kubectl(&[
        "get",
        "--raw",
        &format!(
            "/api/v1/nodes/{}/proxy/configz",
            pods.get("resolve")
                .await?
                .spec
                .and_then(|s| s.node_name)
                .context("node")?
        ),
    ])?;
    ensure!(
        node_dns
            .stdout
            .contains(&format!("\"clusterDNS\":[\"{dns_ip}\"]")),
        "the node's kubelet gives Pods bosun dns's Service {dns_ip} as nameserver: {}",
        node_dns.stdout
    );
    Ok(())
}

/// kind's CoreDNS as kind deploys it (its Corefile, `k8s-app: kube-dns`, a `kube-dns` Service
/// with ports `dns`, `dns-tcp` and `metrics`), in `ns` under `name`-prefixed names where kind's
/// names are cluster-wide. CoreDNS is the image hack/image/build.sh makes of the CoreDNS the
/// project builds (`BOSUN_E2E_COREDNS_IMAGE`).
fn kind_coredns_manifest(ns: &str, name: &str) -> String {
    let image = env_or("BOSUN_E2E_COREDNS_IMAGE", "bosun.local/coredns:v1.14.7");
    format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}
subjects: [{{kind: ServiceAccount, name: {name}, namespace: {ns}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}, namespace: {ns}}}
data:
  Corefile: |
    .:53 {{
        errors
        health {{
           lameduck 5s
        }}
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {{
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }}
        prometheus :9153
        forward . /etc/resolv.conf {{
           max_concurrent 1000
        }}
        cache 30
        loop
        reload
        loadbalance
    }}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{k8s-app: kube-dns}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{k8s-app: kube-dns}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns}}}}
    spec:
      serviceAccountName: {name}
      dnsPolicy: Default
      containers:
      - name: coredns
        image: {image}
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {{name: dns, containerPort: 53, protocol: UDP}}
        - {{name: dns-tcp, containerPort: 53, protocol: TCP}}
        - {{name: metrics, containerPort: 9153, protocol: TCP}}
        readinessProbe:
          httpGet: {{path: /ready, port: 8181}}
          periodSeconds: 1
        volumeMounts: [{{name: config, mountPath: /etc/coredns, readOnly: true}}]
      volumes: [{{name: config, configMap: {{name: {name}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: kube-dns, namespace: {ns}, labels: {{k8s-app: kube-dns}}}}
spec:
  selector: {{k8s-app: kube-dns}}
  ports:
  - {{name: dns, port: 53, targetPort: 53, protocol: UDP}}
  - {{name: dns-tcp, port: 53, targetPort: 53, protocol: TCP}}
  - {{name: metrics, port: 9153, targetPort: 9153, protocol: TCP}}
"#
    )
}

#[tokio::test]
async fn the_kube_dns_service_switches_to_bosun_dns_and_back() -> anyhow::Result<()> {
    // The README's switch of a kind cluster to bosun dns: `hack/dns-switch.sh to-bosun` points
    // the kube-dns Service (its ClusterIP, which Pods' resolv.conf names, unchanged) at bosun's
    // DNS Pods, `to-coredns` back at CoreDNS. Here against a kind-shaped kube-dns in the release's
    // namespace (a Service selects Pods of its own namespace; on kind both are in kube-system).
    // Which server answers shows in a name only bosun knows: a hand-made DNSRecordSet.
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "ic-switch").await?;
    let name = format!("{}-switch-coredns", r.name);
    let manifest = std::env::temp_dir().join(format!("{}-kube-dns.yaml", ns.name));
    std::fs::write(&manifest, kind_coredns_manifest(&r.ns, &name))?;
    let manifest_arg = manifest.display().to_string();
    let applied = kubectl(&["apply", "-f", &manifest_arg]);
    let outcome = switch_and_back(&r, &ns.name, applied).await;
    // Whatever happened, kind's objects go, and the DNS Service of the release stays as it was.
    let cleaned = kubectl(&[
        "delete",
        "--ignore-not-found",
        "--wait=false",
        "-f",
        &manifest_arg,
    ]);
    let _ = std::fs::remove_file(&manifest);
    outcome?;
    cleaned?;
    Ok(())
}

async fn switch_and_back(
    r: &Release,
    ns: &str,
    applied: anyhow::Result<bosun_e2e::Output>,
) -> anyhow::Result<()> {
    applied?;
    let marker = format!("marker.{ns}.svc.cluster.local");
    let sets: Api<bosun_api::dns::DNSRecordSet> = Api::namespaced(r.client.clone(), ns);
    sets.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "marker"},
            "spec": {"zone": "cluster.local",
                     "records": [{"name": marker, "type": "A", "address": "192.0.2.10"}]}
        }))?,
    )
    .await?;
    let kube_dns = cluster_ip(&r.client, &r.ns, "kube-dns").await?;
    let kubernetes_ip = cluster_ip(&r.client, "default", "kubernetes").await?;
    let bosun_port = Api::<Service>::namespaced(r.client.clone(), &r.ns)
        .get(&format!("{}-dns", r.name))
        .await?
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.into_iter().next())
        .and_then(|p| p.target_port)
        .map(|t| match t {
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
            k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s,
        })
        .context("the release's DNS target port")?;

    // Which server kube-dns reaches: bosun dns answers the marker; CoreDNS says it does not
    // exist (NXDOMAIN: musl's "does not resolve", not a timeout). Both answer the kubernetes
    // Service. Polled: kube-proxy follows a Service's new endpoints within a second or so.
    let serves = |bosun: bool| {
        let (client, kube_dns, marker, kubernetes_ip) =
            (&r.client, &kube_dns, &marker, &kubernetes_ip);
        async move {
            let (ok, line) = resolve_via(client, ns, kube_dns, marker).await?;
            let marker_ok = if bosun {
                ok && line == format!("{marker} -> 192.0.2.10")
            } else {
                !ok && line.contains("does not resolve")
            };
            if !marker_ok {
                println!("  kube-dns gave {line}");
                return Ok(None);
            }
            let k = "kubernetes.default.svc.cluster.local";
            let (ok, line) = resolve_via(client, ns, kube_dns, k).await?;
            Ok((ok && line == format!("{k} -> {kubernetes_ip}")).then_some(()))
        }
    };
    let t0 = Instant::now();
    poll("kube-dns answered by kind's CoreDNS", WAIT, || {
        serves(false)
    })
    .await?;
    println!("CoreDNS answers through kube-dns ({:?})", t0.elapsed());

    let switch = |to: &str| {
        let script = repo_root().join("hack/dns-switch.sh");
        let out = std::process::Command::new(script)
            .arg(to)
            .env("NAMESPACE", &r.ns)
            .env("RELEASE", &r.name)
            .env("DNS_PORT", &bosun_port)
            .output()?;
        ensure!(
            out.status.success(),
            "hack/dns-switch.sh {to}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        anyhow::Ok(())
    };
    switch("to-bosun")?;
    let t0 = Instant::now();
    poll("kube-dns answered by bosun dns", WAIT, || serves(true)).await?;
    println!(
        "bosun dns answers through kube-dns ({:?} after the switch)",
        t0.elapsed()
    );

    switch("to-coredns")?;
    let t0 = Instant::now();
    poll("kube-dns answered by CoreDNS again", WAIT, || serves(false)).await?;
    println!(
        "CoreDNS answers again ({:?} after the switch back)",
        t0.elapsed()
    );
    Ok(())
}

#[tokio::test]
async fn helm_test_rolls_out_a_deployment_and_asks_the_dns_server_its_own_name()
-> anyhow::Result<()> {
    // The chart's test hook (templates/tests/selftest.yaml): `bosun selftest` in a Pod, with a
    // ServiceAccount that may create, read and delete bosun Deployments and read Services in
    // the release's namespace, and nothing else.
    let (_one, _timed, r) = begin().await?;
    let out = run(
        "helm",
        &["test", &r.name, "-n", &r.ns, "--logs", "--timeout", "3m"],
    )?;
    println!("{}", out.stdout);
    ensure!(
        out.code == 0,
        "helm test failed: {}{}",
        out.stdout,
        out.stderr
    );
    let pod = format!("{}-selftest", r.name);
    assert!(
        out.stdout.contains(&format!("TEST SUITE:     {pod}")) && out.stdout.contains("Succeeded"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("controllers: deployment {pod} rolled out 1/1")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "answered {}-dns.{}.svc.cluster.local. A",
            r.name, r.ns
        )),
        "{}",
        out.stdout
    );
    // The test Deployment is gone.
    let deployments: Api<Deployment> = Api::namespaced(r.client.clone(), &r.ns);
    poll("the selftest Deployment deleted", WAIT, || async {
        Ok(deployments.get_opt(&pod).await?.is_none().then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn helm_uninstall_that_would_delete_the_crds_stops_while_bosun_deployments_exist()
-> anyhow::Result<()> {
    // With crds.keep=false, `helm uninstall` would delete bosun's CRDs, and with them every
    // bosun Deployment and ReplicaSet and (through the garbage collector) their Pods. The
    // chart's pre-delete hook (`bosun uninstall-check`) stops it while one exists.
    let (_one, _timed, r) = begin().await?;
    let chart = repo_root().join("charts/bosun").display().to_string();
    let upgrade = |keep: bool| {
        run(
            "helm",
            &[
                "upgrade",
                &r.name,
                &chart,
                "-n",
                &r.ns,
                "--reuse-values",
                "--set",
                &format!("crds.keep={keep}"),
                "--wait",
                "--timeout",
                "3m",
            ],
        )
    };
    let out = upgrade(false)?;
    ensure!(out.code == 0, "helm upgrade: {}", out.stderr);
    let outcome = async {
        // Only with the hook in the release does the uninstall below stop (with crds.install
        // off, it would not render, and the uninstall would go through).
        let hooks = run("helm", &["get", "hooks", &r.name, "-n", &r.ns])?;
        let check = format!("{}-uninstall-check", r.name);
        ensure!(
            hooks.stdout.contains(&format!("name: {check}")),
            "the release has no uninstall check: {}",
            hooks.stdout
        );
        let ns = TestNamespace::new(&r.client, "ic-uninstall").await?;
        let deployments: Api<Deployment> = Api::namespaced(r.client.clone(), &ns.name);
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
            "metadata": {"name": "precious"},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "precious"}},
                     "template": {"metadata": {"labels": {"app": "precious"}},
                                  "spec": {"containers": [{"name": "c", "image": PAUSE}]}}}
        }))?;
        deployments.create(&PostParams::default(), &d).await?;
        let out = run(
            "helm",
            &["uninstall", &r.name, "-n", &r.ns, "--timeout", "2m"],
        )?;
        println!("helm uninstall: {}{}", out.stdout, out.stderr);
        ensure!(out.code != 0, "helm uninstall went through: {}", out.stdout);
        ensure!(
            out.stderr.contains(&format!("job {check} failed")),
            "not stopped by the hook: {}",
            out.stderr
        );
        let logs = kubectl(&["logs", "-n", &r.ns, &format!("job/{check}")])?;
        let log = format!("{}{}", logs.stdout, logs.stderr);
        println!("{log}");
        ensure!(
            log.contains("refusing to delete bosun's CRDs: that would delete")
                && log.contains("crds.keep=true"),
            "the check's log: {log}"
        );
        // Nothing was lost: the CRDs, the Deployment. Helm marks the release `uninstalling`;
        // `helm rollback` (to the revision before) makes it deployed again.
        ensure!(deployments.get_opt("precious").await?.is_some());
        let crds = kubectl(&["get", "crd", "deployments.apps.bosun.dev", "-o", "name"])?;
        ensure!(crds.code == 0, "the CRD is gone: {}", crds.stderr);
        let status = run("helm", &["status", &r.name, "-n", &r.ns])?;
        ensure!(
            status.stdout.contains("STATUS: uninstalling"),
            "{}",
            status.stdout
        );
        anyhow::Ok(())
    }
    .await;
    // The failed hook's objects stay for its log (before-hook-creation replaces them next time).
    let check = format!("{}-uninstall-check", r.name);
    let _ = kubectl(&["delete", "-n", &r.ns, "job", &check, "--ignore-not-found"]);
    for kind in ["serviceaccount", "clusterrole", "clusterrolebinding"] {
        let mut args = vec!["delete", kind, check.as_str(), "--ignore-not-found"];
        if kind == "serviceaccount" {
            args.extend(["-n", &r.ns]);
        }
        let _ = kubectl(&args);
    }
    // Whatever happened, the release is deployed and keeps its CRDs again.
    let rolled_back = run("helm", &["rollback", &r.name, "-n", &r.ns, "--wait"]);
    println!("helm rollback: {rolled_back:?}");
    let restored = upgrade(true);
    outcome?;
    let restored = restored?;
    ensure!(restored.code == 0, "helm upgrade back: {}", restored.stderr);
    Ok(())
}

/// `kubectl ARGS` as README's Troubleshooting shows it: printed (the README's outputs are
/// copied from this test's run), and its output.
fn shown(args: &[&str]) -> anyhow::Result<bosun_e2e::Output> {
    let out = kubectl(args)?;
    println!("$ kubectl {}\n{}{}", args.join(" "), out.stdout, out.stderr);
    Ok(out)
}

/// The value of column `name` in the rows of `kubectl get` output.
fn column<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = out.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let Some(at) = header.find(name) else {
        return Vec::new();
    };
    lines
        .map(|l| {
            l.get(at..)
                .unwrap_or_default()
                .split("   ")
                .next()
                .unwrap_or_default()
                .trim()
        })
        .collect()
}

#[tokio::test]
async fn the_troubleshooting_commands_show_what_the_readme_says() -> anyhow::Result<()> {
    // README "Troubleshooting", one story: a Service whose slices list no endpoints, because its
    // Deployment's Pods are refused (a ResourceQuota), read with the section's commands.
    let (_one, _timed, r) = begin().await?;
    let ns = TestNamespace::new(&r.client, "troubleshoot").await?;
    let n = ns.name.as_str();
    let quota: k8s_openapi::api::core::v1::ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}}))?;
    Api::namespaced(r.client.clone(), n)
        .create(&PostParams::default(), &quota)
        .await?;
    // Quota admission needs the quota's usage computed before it refuses: wait for the status.
    let quotas: Api<k8s_openapi::api::core::v1::ResourceQuota> =
        Api::namespaced(r.client.clone(), n);
    poll("the quota's usage computed", WAIT, || async {
        Ok(quotas
            .get("no-pods")
            .await?
            .status
            .and_then(|s| s.used)
            .is_some()
            .then_some(()))
    })
    .await?;
    let deployments: Api<Deployment> = Api::namespaced(r.client.clone(), n);
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}},
                                      "spec": {"containers": [{"name": "web", "image": PAUSE}]}}}}))?,
        )
        .await?;
    let services: Api<Service> = Api::namespaced(r.client.clone(), n);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))?,
        )
        .await?;

    // 5. Slices: written, but with no endpoints; no Pods behind them.
    let slices = poll("web's slice written", WAIT, || async {
        let out = kubectl(&[
            "-n",
            n,
            "get",
            "beps",
            "-l",
            "kubernetes.io/service-name=web",
        ])?;
        Ok((out.code == 0 && out.stdout.lines().count() == 2).then_some(()))
    });
    slices.await?;
    let out = shown(&[
        "-n",
        n,
        "get",
        "beps",
        "-l",
        "kubernetes.io/service-name=web",
    ])?;
    assert_eq!(
        column(&out.stdout, "ENDPOINTS"),
        ["<unset>"],
        "{}",
        out.stdout
    );
    let out = shown(&["-n", n, "get", "pods", "-l", "app=web"])?;
    assert!(
        out.stdout.is_empty() && out.stderr.contains("No resources found"),
        "{}",
        out.stderr
    );

    // 1. Refused writes: the ReplicaSet's FailedCreate Event names the refusal.
    let events = poll("a FailedCreate Event", WAIT, || async {
        let out = kubectl(&[
            "-n",
            n,
            "get",
            "events",
            "--field-selector",
            "reason=FailedCreate",
        ])?;
        Ok(out.stdout.contains("exceeded quota").then_some(()))
    });
    events.await?;
    let out = shown(&[
        "-n",
        n,
        "get",
        "events",
        "--field-selector",
        "reason=FailedCreate",
    ])?;
    assert!(
        out.stdout.contains("is forbidden: exceeded quota: no-pods"),
        "{}",
        out.stdout
    );
    // Whether RBAC is the cause: what the controllers' ServiceAccount may do.
    let sa = format!("system:serviceaccount:{}:{}-controller", r.ns, r.name);
    let out = shown(&["auth", "can-i", "create", "pods", "-n", n, "--as", &sa])?;
    assert_eq!(out.stdout.trim(), "yes");
    let out = shown(&["auth", "can-i", "create", "secrets", "-n", n, "--as", &sa])?;
    assert_eq!(out.stdout.trim(), "no", "the controllers need no Secrets");
    // The fix: the Pod is created and its address listed.
    Api::<k8s_openapi::api::core::v1::ResourceQuota>::namespaced(r.client.clone(), n)
        .delete("no-pods", &DeleteParams::default())
        .await?;
    poll("web's endpoint listed", WAIT, || async {
        let out = kubectl(&[
            "-n",
            n,
            "get",
            "beps",
            "-l",
            "kubernetes.io/service-name=web",
        ])?;
        Ok(column(&out.stdout, "ENDPOINTS")
            .first()
            .is_some_and(|e| *e != "<unset>")
            .then_some(()))
    })
    .await?;
    shown(&[
        "-n",
        n,
        "get",
        "beps",
        "-l",
        "kubernetes.io/service-name=web",
    ])?;

    // 2. Refusals by the API server: a server-side dry run names the rule.
    let patch = r#"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":0}}}}"#;
    let out = shown(&[
        "-n",
        n,
        "patch",
        "bdeploy",
        "web",
        "--type=merge",
        "-p",
        patch,
        "--dry-run=server",
    ])?;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains(r#"The Deployment "web" is invalid"#)
            && out.stderr.contains("may not be 0 when `maxSurge` is 0"),
        "{}",
        out.stderr
    );

    // 3. Leader election: the holder is a running controller Pod, renewed within its duration.
    let out = shown(&[
        "-n",
        &r.ns,
        "get",
        "lease",
        &r.lease_name(),
        "-o",
        "custom-columns=HOLDER:.spec.holderIdentity,RENEWED:.spec.renewTime,SECONDS:.spec.leaseDurationSeconds",
    ])?;
    let holder = column(&out.stdout, "HOLDER")
        .first()
        .copied()
        .unwrap_or_default()
        .to_string();
    let renewed: k8s_openapi::jiff::Timestamp = column(&out.stdout, "RENEWED")
        .first()
        .copied()
        .unwrap_or_default()
        .parse()
        .with_context(|| format!("RENEWED in {}", out.stdout))?;
    let seconds: i64 = column(&out.stdout, "SECONDS")
        .first()
        .copied()
        .unwrap_or_default()
        .parse()?;
    let age = k8s_openapi::jiff::Timestamp::now().duration_since(renewed);
    assert!(
        age.as_secs() <= seconds,
        "renewed {age:?} ago, longer than the lease's {seconds} s"
    );
    let out = shown(&[
        "-n",
        &r.ns,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component=controller",
    ])?;
    let running: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter(|l| l.contains("Running"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        running.iter().any(|p| holder.starts_with(&format!("{p}_"))),
        "holder {holder} is none of the running {running:?}"
    );

    // 4. DNS: the Service's records exist, and the DNS Pods are Ready.
    let out = shown(&["-n", n, "get", "bdns", "web"])?;
    let records: usize = column(&out.stdout, "RECORDS")
        .first()
        .copied()
        .unwrap_or_default()
        .parse()?;
    assert!(
        records >= 2,
        "an A and an SRV record at least: {}",
        out.stdout
    );
    let out = shown(&[
        "-n",
        &r.ns,
        "get",
        "pods",
        "-l",
        "app.kubernetes.io/component=dns",
    ])?;
    let ready = column(&out.stdout, "READY");
    assert!(
        !ready.is_empty() && ready.iter().all(|c| *c == "1/1"),
        "{}",
        out.stdout
    );
    Ok(())
}
