//! Killing the controller with SIGKILL in the middle of a scale-up and starting it again
//! converges on exactly the desired pods: the new process starts from the API server's truth
//! (its caches list, a quorum read, before any sync acts). A watch counts the pods the whole
//! time. What no controller can take back are creates the killed process had already sent: the
//! API server may still commit them after the new process listed (upstream's controller has the
//! same window), so the count may pass the target by at most what was in flight at each kill
//! (bosun keeps at most 64 pod writes in flight) before the new process deletes the excess.
//!
//! This binary runs its own `bosun run` (no shared one), so it alone acts on the cluster.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_api::apps::ReplicaSet;
use bosun_e2e::{ControllerProcess, TestNamespace, client, ensure_crds, external_controller, poll};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

const REPLICAS: usize = 200;
/// The ReplicaSet controller's bound on pod writes in flight (`MAX_IN_FLIGHT`), per kill.
const IN_FLIGHT: usize = 64;
const KILLS: usize = 2;

#[derive(Default)]
struct Count {
    live: HashSet<String>,
    max: usize,
}

#[tokio::test]
async fn sigkill_during_scale_up_never_overshoots_and_converges() -> anyhow::Result<()> {
    if external_controller() {
        eprintln!("the controller runs in the cluster; this test needs a local process to kill");
        return Ok(());
    }
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "rs-sigkill").await?;
    let mut controller = ControllerProcess::start("replicaset-restart", &[])?;
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);

    let rs: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
            }
        }
    }))?;
    rs_api.create(&PostParams::default(), &rs).await?;
    poll(
        "the controller to see the ReplicaSet",
        Duration::from_secs(60),
        || async {
            let rs = rs_api.get("web").await?;
            Ok(rs
                .status
                .and_then(|s| s.observed_generation)
                .is_some()
                .then_some(()))
        },
    )
    .await?;

    // Count pods for the whole test, from a watch.
    let count = Arc::new(Mutex::new(Count::default()));
    let counter = {
        let count = count.clone();
        let stream = watcher(pods.clone(), watcher::Config::default()).default_backoff();
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(ev) = stream.next().await {
                let mut c = count.lock().unwrap_or_else(|e| e.into_inner());
                match ev {
                    Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) => {
                        c.live.insert(p.name_any());
                    }
                    Ok(watcher::Event::Delete(p)) => {
                        c.live.remove(&p.name_any());
                    }
                    _ => {}
                }
                c.max = c.max.max(c.live.len());
            }
        })
    };
    // (pods now, most pods at once)
    let counts = || {
        let c = count.lock().unwrap_or_else(|e| e.into_inner());
        (c.live.len(), c.max)
    };
    let live = || counts().0;

    let patch = json!({"spec": {"replicas": REPLICAS}});
    rs_api
        .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    for threshold in [30, 110] {
        poll(
            &format!("{threshold} pods"),
            Duration::from_secs(60),
            || async { Ok((live() >= threshold).then_some(())) },
        )
        .await?;
        let status = controller.signal_and_wait(libc::SIGKILL)?;
        eprintln!("killed the controller at {} pods ({status})", live());
        controller = ControllerProcess::start("replicaset-restart", &[])?;
    }

    let converged = poll("200 ready replicas", Duration::from_secs(120), || async {
        let s = rs_api.get("web").await?.status.unwrap_or_default();
        Ok(
            (s.replicas as usize == REPLICAS && s.ready_replicas as usize == REPLICAS)
                .then_some(()),
        )
    })
    .await;
    if let Err(e) = converged {
        let (now, max) = counts();
        let status = rs_api.get("web").await?.status;
        anyhow::bail!(
            "{e}; the watch counts {now} pods (at most {max}), the ReplicaSet's status: {status:?}"
        );
    }
    // A late duplicate would show up within moments of convergence: watch a short window.
    let window = poll(
        "a pod beyond 200 (none expected)",
        Duration::from_secs(3),
        || async { Ok((live() > REPLICAS).then_some(())) },
    )
    .await;
    counter.abort();
    let (now, max) = counts();
    eprintln!("after convergence: {now} pods; at most {max} at once");
    assert!(
        window.is_err(),
        "more than {REPLICAS} pods after convergence: {now} (at most {max} at once)"
    );
    assert_eq!(
        now, REPLICAS,
        "pods after convergence (at most {max} at once)"
    );
    assert!(
        max <= REPLICAS + KILLS * IN_FLIGHT,
        "saw {max} pods at once: more than {REPLICAS} plus what two kills could leave in flight"
    );
    let zero = json!({"spec": {"replicas": 0}});
    rs_api
        .patch("web", &PatchParams::default(), &Patch::Merge(&zero))
        .await?;
    drop(controller);
    Ok(())
}
