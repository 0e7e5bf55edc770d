//! `kubectl bosun migrate` on the real cluster: a 10-replica apps/v1 Deployment behind a
//! Service moves to bosun and back while watches record every Pod event and the Service's
//! EndpointSlices. No Pod is created or deleted (the same UIDs throughout, none terminating),
//! the Service never loses a ready endpoint, and on each side the next template change is an
//! ordinary rollout of that side's controller.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_e2e::{
    TestNamespace, client, ensure_controller, ensure_crds, ensure_garbage_collector, kubectl,
    kubectl_bosun, poll,
};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

fn apps(kind: &str) -> ApiResource {
    resource("apps", kind, &format!("{}s", kind.to_ascii_lowercase()))
}

fn bosun(kind: &str) -> ApiResource {
    resource(
        "apps.bosun.dev",
        kind,
        &format!("{}s", kind.to_ascii_lowercase()),
    )
}

/// An apps/v1 (or bosun, by `api_version`) Deployment of `replicas` Pods of `image`.
fn deployment(
    api_version: &str,
    name: &str,
    replicas: i32,
    image: &str,
) -> anyhow::Result<DynamicObject> {
    Ok(serde_json::from_value(json!({
        "apiVersion": api_version, "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name},
            "annotations": {"kubernetes.io/change-cause": format!("image {image}")}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image,
                    "ports": [{"containerPort": 8080}]}]}
            }
        }
    }))?)
}

/// A merge patch of `web` to `image`, with its change cause.
fn new_revision(image: &str) -> Value {
    json!({
        "metadata": {"annotations": {"kubernetes.io/change-cause": format!("image {image}")}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image,
            "ports": [{"containerPort": 8080}]}]}}}
    })
}

/// Every Pod event of a namespace after the initial list.
#[derive(Default, Debug)]
struct PodLog {
    /// UIDs of the initial list.
    initial: BTreeSet<String>,
    /// Whether the initial list is complete.
    listed: bool,
    /// UIDs seen after it that were not in it.
    created: BTreeSet<String>,
    /// UIDs of deleted Pods.
    deleted: BTreeSet<String>,
    /// UIDs of Pods seen with a deletionTimestamp.
    terminating: BTreeSet<String>,
    /// Events seen after the initial list.
    events: usize,
}

/// Ready endpoints of a Service by slice, per EndpointSlice controller.
#[derive(Default, Debug)]
struct SliceLog {
    listed: bool,
    ready_by_slice: BTreeMap<String, usize>,
    /// The total after the initial list, and its lowest value since.
    total: usize,
    min: usize,
    events: usize,
}

fn ready_endpoints(slice: &DynamicObject) -> usize {
    slice
        .data
        .get("endpoints")
        .and_then(Value::as_array)
        .map(|e| {
            e.iter()
                .filter(|e| e.pointer("/conditions/ready") != Some(&Value::Bool(false)))
                .count()
        })
        .unwrap_or(0)
}

fn record_pods(api: Api<Pod>) -> (Arc<Mutex<PodLog>>, tokio::task::JoinHandle<()>) {
    let log = Arc::new(Mutex::new(PodLog::default()));
    let l = log.clone();
    let task = tokio::spawn(async move {
        let mut s = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(ev) = s.next().await {
            let mut g = l.lock().unwrap_or_else(|e| e.into_inner());
            match ev {
                Ok(watcher::Event::InitApply(p)) | Ok(watcher::Event::Apply(p)) => {
                    let uid = p.metadata.uid.clone().unwrap_or_default();
                    if p.metadata.deletion_timestamp.is_some() {
                        g.terminating.insert(uid.clone());
                    }
                    if g.listed {
                        g.events += 1;
                        if !g.initial.contains(&uid) {
                            g.created.insert(uid);
                        }
                    } else {
                        g.initial.insert(uid);
                    }
                }
                Ok(watcher::Event::Delete(p)) => {
                    g.events += 1;
                    g.deleted.insert(p.metadata.uid.clone().unwrap_or_default());
                }
                Ok(watcher::Event::InitDone) => g.listed = true,
                Ok(watcher::Event::Init) | Err(_) => {}
            }
        }
    });
    (log, task)
}

fn record_slices(
    api: Api<DynamicObject>,
    service: &str,
) -> (Arc<Mutex<SliceLog>>, tokio::task::JoinHandle<()>) {
    let log = Arc::new(Mutex::new(SliceLog::default()));
    let l = log.clone();
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let task = tokio::spawn(async move {
        let mut s = watcher(api, config).default_backoff().boxed();
        while let Some(ev) = s.next().await {
            let mut g = l.lock().unwrap_or_else(|e| e.into_inner());
            match ev {
                Ok(watcher::Event::InitApply(o)) | Ok(watcher::Event::Apply(o)) => {
                    let n = ready_endpoints(&o);
                    g.ready_by_slice
                        .insert(o.metadata.name.clone().unwrap_or_default(), n);
                }
                Ok(watcher::Event::Delete(o)) => {
                    g.ready_by_slice
                        .remove(&o.metadata.name.clone().unwrap_or_default());
                }
                Ok(watcher::Event::InitDone) => {
                    g.listed = true;
                    g.total = g.ready_by_slice.values().sum();
                    g.min = g.total;
                    continue;
                }
                Ok(watcher::Event::Init) | Err(_) => continue,
            }
            if g.listed {
                g.events += 1;
                g.total = g.ready_by_slice.values().sum();
                g.min = g.min.min(g.total);
            }
        }
    });
    (log, task)
}

/// The recorders of one migration: Pods, and the Service's slices from kube-controller-manager
/// (`discovery.k8s.io`) and from bosun (`discovery.bosun.dev`).
struct Watch {
    pods: Arc<Mutex<PodLog>>,
    slices: [(&'static str, Arc<Mutex<SliceLog>>); 2],
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Watch {
    async fn start(
        client: &kube::Client,
        ns: &str,
        service: &str,
        want_ready: usize,
    ) -> anyhow::Result<Watch> {
        let (pods, t1) = record_pods(Api::namespaced(client.clone(), ns));
        let core = resource("discovery.k8s.io", "EndpointSlice", "endpointslices");
        let ours = resource("discovery.bosun.dev", "EndpointSlice", "endpointslices");
        let (s1, t2) = record_slices(Api::namespaced_with(client.clone(), ns, &core), service);
        let (s2, t3) = record_slices(Api::namespaced_with(client.clone(), ns, &ours), service);
        let w = Watch {
            pods,
            slices: [("discovery.k8s.io", s1), ("discovery.bosun.dev", s2)],
            tasks: vec![t1, t2, t3],
        };
        poll(
            "the watches' initial lists, every endpoint ready",
            Duration::from_secs(60),
            || async {
                let pods = w.pods.lock().unwrap_or_else(|e| e.into_inner()).listed;
                let slices = w.slices.iter().all(|(_, s)| {
                    let g = s.lock().unwrap_or_else(|e| e.into_inner());
                    g.listed && g.total == want_ready
                });
                Ok((pods && slices).then_some(()))
            },
        )
        .await?;
        Ok(w)
    }

    /// Show that the slice watches are still live: a label on the Service, which both
    /// EndpointSlice controllers copy onto their slices, must reach both logs as an event.
    /// (Without it, "0 slice events, never below 10" could be a dead watch.)
    async fn prove_slices_live(&self, services: &Api<Service>, value: &str) -> anyhow::Result<()> {
        let before: Vec<usize> = self
            .slices
            .iter()
            .map(|(_, s)| s.lock().unwrap_or_else(|e| e.into_inner()).events)
            .collect();
        let patch = json!({"metadata": {"labels": {"bosun.dev/e2e-probe": value}}});
        services
            .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        poll(
            "both controllers' slices relabelled",
            Duration::from_secs(30),
            || async {
                let live = self
                    .slices
                    .iter()
                    .zip(&before)
                    .all(|((_, s), b)| s.lock().unwrap_or_else(|e| e.into_inner()).events > *b);
                Ok(live.then_some(()))
            },
        )
        .await
    }

    /// Stop, and return the Pod log and each slice log's (events, lowest ready count).
    fn stop(self) -> (PodLog, Vec<(&'static str, usize, usize)>) {
        for t in &self.tasks {
            t.abort();
        }
        let pods = std::mem::take(&mut *self.pods.lock().unwrap_or_else(|e| e.into_inner()));
        let slices = self
            .slices
            .iter()
            .map(|(name, s)| {
                let g = s.lock().unwrap_or_else(|e| e.into_inner());
                (*name, g.events, g.min)
            })
            .collect();
        (pods, slices)
    }
}

/// `(name, controller kind's apiVersion, controller name)` of every Pod of `app`.
async fn pod_owners(pods: &Api<Pod>, app: &str) -> anyhow::Result<Vec<(String, String, String)>> {
    let list = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await?;
    let mut out: Vec<_> = list
        .items
        .iter()
        .map(|p| {
            let c = p
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|r| r.controller == Some(true));
            (
                p.metadata.name.clone().unwrap_or_default(),
                c.map(|r| r.api_version.clone()).unwrap_or_default(),
                c.map(|r| r.name.clone()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Names of `web`'s ReplicaSets in `api` (not those of the refusals' Deployments), sorted.
async fn names(api: &Api<DynamicObject>) -> anyhow::Result<Vec<String>> {
    let mut n: Vec<String> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .filter(|n| n.starts_with("web-"))
        .collect();
    n.sort();
    Ok(n)
}

/// The revision annotation of each ReplicaSet of `api`, by name, under `key`.
async fn revisions(
    api: &Api<DynamicObject>,
    key: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|o| {
            let r = o.metadata.annotations.as_ref()?.get(key)?.clone();
            Some((o.metadata.name?, r))
        })
        .collect())
}

fn assert_untouched(side: &str, pods: &PodLog, slices: &[(&str, usize, usize)], want: usize) {
    println!(
        "{side}: {} pods listed, {} pod events after the list, created {}, deleted {}, terminating {}; \
         ready endpoints (events, min): {slices:?}",
        pods.initial.len(),
        pods.events,
        pods.created.len(),
        pods.deleted.len(),
        pods.terminating.len()
    );
    assert_eq!(pods.initial.len(), want, "{side}: {pods:?}");
    assert!(
        pods.events > 0,
        "{side}: the pod watch saw no change at all: {pods:?}"
    );
    assert!(pods.created.is_empty(), "{side}: pods created: {pods:?}");
    assert!(pods.deleted.is_empty(), "{side}: pods deleted: {pods:?}");
    assert!(
        pods.terminating.is_empty(),
        "{side}: pods terminating: {pods:?}"
    );
    for (api, _, min) in slices {
        assert_eq!(
            *min, want,
            "{side}: {api} slices went down to {min} ready endpoints"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_to_bosun_and_back_without_touching_a_pod() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    // The way back deletes bosun's objects orphaning: the garbage collector must know the kinds.
    ensure_garbage_collector(&client).await?;
    ensure_controller("migrate")?;
    let ns = TestNamespace::new(&client, "migrate").await?;
    let n = ns.name.as_str();
    let apps_deploys: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), n, &apps("Deployment"));
    let apps_rss: Api<DynamicObject> = Api::namespaced_with(client.clone(), n, &apps("ReplicaSet"));
    let bosun_deploys: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), n, &bosun("Deployment"));
    let bosun_rss: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), n, &bosun("ReplicaSet"));
    let pods: Api<Pod> = Api::namespaced(client.clone(), n);

    // An apps/v1 Deployment at revision 2 (two ReplicaSets), behind a Service.
    apps_deploys
        .create(
            &PostParams::default(),
            &deployment("apps/v1", "web", 10, "registry.example/web:1")?,
        )
        .await?;
    let out = kubectl(&["rollout", "status", "deploy/web", "-n", n, "--timeout=120s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The change cause and the image in one write, so the cause lands on the new
    // ReplicaSet only (an annotation alone is copied onto the current one).
    let out = kubectl(&[
        "patch",
        "deploy/web",
        "-n",
        n,
        "--type=merge",
        "-p",
        &new_revision("registry.example/web:2").to_string(),
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = kubectl(&["rollout", "status", "deploy/web", "-n", n, "--timeout=120s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))?;
    let services: Api<Service> = Api::namespaced(client.clone(), n);
    services.create(&PostParams::default(), &svc).await?;
    let rs_names = names(&apps_rss).await?;
    assert_eq!(rs_names.len(), 2, "{rs_names:?}");
    let before = pod_owners(&pods, "web").await?;

    // Refusals, each changing nothing.
    let out = kubectl_bosun(&["migrate", "deploy/nope", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error from server (NotFound): deployments.apps \"nope\" not found\n"
        )
    );
    bosun_deploys
        .create(
            &PostParams::default(),
            &deployment("apps.bosun.dev/v1", "taken", 0, "registry.example/web:1")?,
        )
        .await?;
    apps_deploys
        .create(
            &PostParams::default(),
            &deployment("apps/v1", "taken", 0, "registry.example/web:1")?,
        )
        .await?;
    let out = kubectl_bosun(&["migrate", "deploy/taken", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error from server (AlreadyExists): deployments.apps.bosun.dev \"taken\" already exists\n"
        )
    );
    // Paused, then a new template: the rollout waits, so it is not complete.
    let mut stuck = deployment("apps/v1", "stuck", 1, "registry.example/web:1")?;
    stuck.data["spec"]["paused"] = json!(true);
    apps_deploys.create(&PostParams::default(), &stuck).await?;
    let out = kubectl(&[
        "set",
        "image",
        "deploy/stuck",
        "app=registry.example/web:2",
        "-n",
        n,
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = poll(
        "deploy/stuck's new generation observed",
        Duration::from_secs(30),
        || async {
            let out = kubectl_bosun(&["migrate", "deploy/stuck", "-n", n])?;
            Ok((!out.stderr.contains("has not observed")).then_some(out))
        },
    )
    .await?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "error: deployment.apps/stuck is in the middle of a rollout (0 of 1 updated"
        ),
        "{}",
        out.stderr
    );
    let out = kubectl_bosun(&["migrate", "deploy/stuck", "-n", n, "--force", "--dry-run"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("deployment.apps.bosun.dev/stuck created (paused, as deployment.apps/stuck is) (dry run)\n"),
        "{}",
        out.stdout
    );

    // The dry run prints the plan and changes nothing.
    let (new_rs, old_rs) = {
        let rev = revisions(&apps_rss, "deployment.kubernetes.io/revision").await?;
        let of = |r: &str| {
            rev.iter()
                .find(|(k, v)| rs_names.contains(k) && v.as_str() == r)
                .map(|(k, _)| k.clone())
                .unwrap_or_default()
        };
        (of("2"), of("1"))
    };
    let out = kubectl_bosun(&["migrate", "deploy/web", "-n", n, "--dry-run"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    println!(
        "$ kubectl bosun migrate deploy/web --dry-run\n{}",
        out.stdout
    );
    assert_eq!(
        out.stdout,
        format!(
            "deployment.apps.bosun.dev/web created (paused until its replicasets control the pods) (dry run)\n\
             deployment.apps/web deleted (orphaning 2 replicasets) (dry run)\n\
             replicaset.apps/{new_rs} deleted (orphaning 10 pods) (dry run)\n\
             replicaset.apps/{old_rs} deleted (orphaning 0 pods) (dry run)\n\
             10 pods without a controller (dry run)\n\
             replicaset.apps.bosun.dev/{new_rs} created (10 replicas, revision 2) (dry run)\n\
             replicaset.apps.bosun.dev/{old_rs} created (0 replicas, revision 1) (dry run)\n\
             10 pods adopted (replicaset.apps.bosun.dev/{new_rs}: 10) (dry run)\n\
             deployment.apps.bosun.dev/web resumed (dry run)\n"
        )
    );
    let out = kubectl_bosun(&["migrate", "deploy/web", "-n", n, "--dry-run", "-o", "yaml"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("apiVersion: apps.bosun.dev/v1"),
        "{}",
        out.stdout
    );
    assert!(bosun_deploys.get_opt("web").await?.is_none());
    assert!(apps_deploys.get_opt("web").await?.is_some());
    assert_eq!(pod_owners(&pods, "web").await?, before);

    // To bosun, under watch.
    let watch = Watch::start(&client, n, "web", 10).await?;
    let out = kubectl_bosun(&["migrate", "deploy/web", "-n", n])?;
    println!(
        "$ kubectl bosun migrate deploy/web\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    assert_eq!(out.stdout.lines().count(), 9, "{}", out.stdout);
    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().last(),
        Some("deployment \"web\" successfully rolled out")
    );
    watch.prove_slices_live(&services, "1").await?;
    let (pod_log, slices) = watch.stop();
    assert_untouched("to bosun", &pod_log, &slices, 10);
    // The same Pods, now each controlled by the bosun ReplicaSet of the same name.
    let after = pod_owners(&pods, "web").await?;
    assert_eq!(
        after,
        before
            .iter()
            .map(|(p, _, rs)| (p.clone(), "apps.bosun.dev/v1".to_string(), rs.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(names(&bosun_rss).await?, rs_names);
    // The adopt-only hold the ReplicaSets were created with is lifted once the Pods are adopted.
    let held = revisions(&bosun_rss, "apps.bosun.dev/adopt-only").await?;
    assert!(held.is_empty(), "still adopt-only: {held:?}");
    assert!(
        names(&apps_rss)
            .await?
            .iter()
            .all(|r| !rs_names.contains(r))
    );
    assert!(apps_deploys.get_opt("web").await?.is_none());
    let d = bosun_deploys.get("web").await?;
    assert_eq!(d.data["spec"].get("paused"), None);
    assert_eq!(
        d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("bosun.dev/revision"))
            .map(String::as_str),
        Some("2")
    );
    let out = kubectl_bosun(&["rollout", "history", "deploy/web", "-n", n])?;
    println!("$ kubectl bosun rollout history deploy/web\n{}", out.stdout);
    assert!(
        out.stdout.contains("image registry.example/web:2"),
        "{}",
        out.stdout
    );

    // A bosun rollout: its third revision, a ReplicaSet bosun names.
    let out = kubectl_bosun(&[
        "set",
        "image",
        "deploy/web",
        "app=registry.example/web:3",
        "-n",
        n,
    ])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=120s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let bosun_names = names(&bosun_rss).await?;
    assert_eq!(bosun_names.len(), 3, "{bosun_names:?}");
    let rev = revisions(&bosun_rss, "bosun.dev/revision").await?;
    assert_eq!(
        rev.values().filter(|r| r.as_str() == "3").count(),
        1,
        "{rev:?}"
    );
    let before = pod_owners(&pods, "web").await?;

    // And back to apps/v1, under watch.
    let watch = Watch::start(&client, n, "web", 10).await?;
    let out = kubectl_bosun(&["migrate", "deploy/web", "--to", "apps/v1", "-n", n])?;
    println!(
        "$ kubectl bosun migrate deploy/web --to apps/v1\n{}{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    let out = kubectl(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    println!("$ kubectl rollout status deploy/web\n{}", out.stdout);
    watch.prove_slices_live(&services, "2").await?;
    let (pod_log, slices) = watch.stop();
    assert_untouched("to apps/v1", &pod_log, &slices, 10);
    let after = pod_owners(&pods, "web").await?;
    assert_eq!(
        after,
        before
            .iter()
            .map(|(p, _, rs)| (p.clone(), "apps/v1".to_string(), rs.clone()))
            .collect::<Vec<_>>()
    );
    // kube-controller-manager took the ReplicaSets as they are: no new one, revision 3 current.
    assert_eq!(names(&apps_rss).await?, bosun_names);
    assert!(
        names(&bosun_rss)
            .await?
            .iter()
            .all(|r| !bosun_names.contains(r))
    );
    let d = apps_deploys.get("web").await?;
    assert_eq!(
        d.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deployment.kubernetes.io/revision"))
            .map(String::as_str),
        Some("3")
    );
    let out = kubectl(&["rollout", "history", "deploy/web", "-n", n])?;
    println!("$ kubectl rollout history deploy/web\n{}", out.stdout);
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(())
}
