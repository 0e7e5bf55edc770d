//! `bosun run` as a product: of two replicas with leader election only one acts, a standby
//! takes over when the leader dies (without duplicate pods), SIGTERM shuts down cleanly and
//! releases the lease, and `/metrics` moves when work happens.
//!
//! One test: every process here runs every controller over the whole cluster, so two such
//! tests at once would fight over each other's objects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_api::apps::ReplicaSet;
use bosun_e2e::{
    ControllerProcess, TestNamespace, client, ensure_crds, external_controller, http_get, metric,
    poll,
};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);
const LEASE_SECONDS: u64 = 4;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn metrics(port: u16) -> anyhow::Result<String> {
    let (code, body) = http_get(port, "/metrics").await?;
    anyhow::ensure!(code == 200, "/metrics answered {code}");
    Ok(body)
}

fn replica(identity: &str, ns: &str, port: u16) -> anyhow::Result<ControllerProcess> {
    replica_with_lease(identity, ns, port, LEASE_SECONDS)
}

fn replica_with_lease(
    identity: &str,
    ns: &str,
    port: u16,
    lease_seconds: u64,
) -> anyhow::Result<ControllerProcess> {
    let lease_duration = format!("{lease_seconds}s");
    let addr = format!("--metrics-addr=127.0.0.1:{port}");
    ControllerProcess::start(
        &format!("leader-{identity}"),
        &[
            "--leader-elect",
            "--lease-name=bosun-e2e",
            &format!("--lease-namespace={ns}"),
            &format!("--lease-duration={lease_duration}"),
            &format!("--leader-identity={identity}"),
            &addr,
            "--controllers=replicaset",
        ],
    )
}

async fn holder(leases: &Api<Lease>) -> anyhow::Result<Option<String>> {
    Ok(leases
        .get_opt("bosun-e2e")
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

/// Count the namespace's non-terminating pods at every event; the maximum seen.
fn watch_pod_count(pods: Api<Pod>) -> (Arc<Mutex<usize>>, tokio::task::JoinHandle<()>) {
    let max = Arc::new(Mutex::new(0));
    let m = max.clone();
    let task = tokio::spawn(async move {
        let mut live: HashMap<String, bool> = HashMap::new();
        let stream = watcher(pods, watcher::Config::default()).default_backoff();
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => {
                    live.insert(p.name_any(), p.metadata.deletion_timestamp.is_none());
                }
                Ok(watcher::Event::Delete(p)) => {
                    live.remove(&p.name_any());
                }
                _ => continue,
            }
            let n = live.values().filter(|v| **v).count();
            let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
            *g = (*g).max(n);
        }
    });
    (max, task)
}

async fn ready_replicas(rs: &Api<ReplicaSet>, n: i32) -> anyhow::Result<()> {
    poll(&format!("{n} ready replicas"), WAIT, || async {
        let r = rs.get("web").await?;
        Ok(r.status
            .is_some_and(|s| s.ready_replicas == n && s.replicas == n)
            .then_some(()))
    })
    .await
}

#[tokio::test]
async fn one_leader_acts_a_standby_takes_over_and_sigterm_releases_the_lease() -> anyhow::Result<()>
{
    if external_controller() {
        eprintln!(
            "not run: BOSUN_E2E_CONTROLLER=external means bosun runs in the cluster, and two more replicas here would fight it"
        );
        return Ok(());
    }
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "leader").await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns.name);
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let (port_a, port_b) = (free_port()?, free_port()?);

    let mut a = replica("a", &ns.name, port_a)?;
    poll("a holds the lease", WAIT, || async {
        Ok((holder(&leases).await?.as_deref() == Some("a")).then_some(()))
    })
    .await?;
    let b = replica("b", &ns.name, port_b)?;
    poll("b ready (caches synced) as a standby", WAIT, || async {
        Ok(match http_get(port_b, "/readyz").await {
            Ok((200, _)) => Some(()),
            _ => None,
        })
    })
    .await?;
    let (code, _) = http_get(port_b, "/healthz").await?;
    assert_eq!(code, 200);
    assert_eq!(metric(&metrics(port_a).await?, "bosun_leader", &[]), 1.0);
    assert_eq!(metric(&metrics(port_b).await?, "bosun_leader", &[]), 0.0);

    let (max_pods, watch) = watch_pod_count(pods.clone());
    let web: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 5,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
            }
        }
    }))?;
    rs.create(&PostParams::default(), &web).await?;
    ready_replicas(&rs, 5).await?;

    // The leader's metrics moved; the standby did no work.
    let ma = metrics(port_a).await?;
    let synced = metric(
        &ma,
        "bosun_reconcile_total",
        &[("controller", "replicaset")],
    );
    assert!(synced >= 1.0, "the leader reconciled: {ma}");
    let created = metric(
        &ma,
        "bosun_api_requests_total",
        &[("verb", "create"), ("resource", "pods"), ("code", "201")],
    );
    assert!(created >= 5.0, "the leader created 5 pods: {created}");
    assert!(
        metric(
            &ma,
            "bosun_reconcile_duration_seconds_count",
            &[("controller", "replicaset")]
        ) >= synced,
        "durations are observed"
    );
    let mb = metrics(port_b).await?;
    assert_eq!(
        metric(
            &mb,
            "bosun_reconcile_total",
            &[("controller", "replicaset")]
        ),
        0.0,
        "the standby never synced: {mb}"
    );
    assert_eq!(
        metric(
            &mb,
            "bosun_api_requests_total",
            &[("verb", "create"), ("resource", "pods")]
        ),
        0.0,
        "the standby created nothing"
    );

    // The leader dies without a word; the standby takes over once the lease expires.
    a.signal_and_wait(libc::SIGKILL)?;
    let killed = Instant::now();
    rs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": 8}})),
    )
    .await?;
    ready_replicas(&rs, 8).await?;
    let handover = killed.elapsed();
    assert_eq!(holder(&leases).await?.as_deref(), Some("b"));
    let mb = metrics(port_b).await?;
    assert_eq!(metric(&mb, "bosun_leader", &[]), 1.0);
    assert!(
        metric(
            &mb,
            "bosun_reconcile_total",
            &[("controller", "replicaset")]
        ) >= 1.0
    );
    eprintln!(
        "failover: the standby scaled 5 -> 8 {:.1}s after the leader was killed (lease {LEASE_SECONDS}s)",
        handover.as_secs_f64()
    );
    assert_eq!(
        pods.list(&ListParams::default()).await?.items.len(),
        8,
        "exactly the 8 wanted"
    );
    assert!(
        *max_pods.lock().unwrap_or_else(|e| e.into_inner()) <= 8,
        "never more pods than wanted during the handover"
    );
    watch.abort();

    // SIGTERM: a clean exit that releases the lease at once.
    let mut b = b;
    let status = b.signal_and_wait(libc::SIGTERM)?;
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    assert_eq!(
        holder(&leases).await?,
        None,
        "the lease is released on shutdown, not left to expire"
    );

    // A released lease is taken by the waiting standby at once, not at its recorded expiry:
    // with a 15 s lease renewed every 10 s, the expiry is 5-15 s away when the leader leaves.
    let (port_c, port_d) = (free_port()?, free_port()?);
    let mut c = replica_with_lease("c", &ns.name, port_c, 15)?;
    poll("c holds the lease", WAIT, || async {
        Ok((holder(&leases).await?.as_deref() == Some("c")).then_some(()))
    })
    .await?;
    let _d = replica_with_lease("d", &ns.name, port_d, 15)?;
    poll("d ready as a standby", WAIT, || async {
        Ok(match http_get(port_d, "/readyz").await {
            Ok((200, _)) => Some(()),
            _ => None,
        })
    })
    .await?;
    let status = c.signal_and_wait(libc::SIGTERM)?;
    let released = Instant::now();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");
    poll("d holds the lease", WAIT, || async {
        Ok((holder(&leases).await?.as_deref() == Some("d")).then_some(()))
    })
    .await?;
    let takeover = released.elapsed();
    eprintln!(
        "release: the standby took the lease {:.2}s after the leader's SIGTERM exit (lease 15s)",
        takeover.as_secs_f64()
    );
    assert!(
        takeover < Duration::from_secs(2),
        "the standby took {takeover:?} to take a released lease"
    );
    Ok(())
}
