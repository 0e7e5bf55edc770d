//! The Argo CD health check `docs/argocd-health.lua`, run as Argo CD runs it: Lua 5.1 (Argo CD's
//! gopher-lua) with the object's JSON as the global `obj`, and only Lua's base library (Argo CD
//! offers more; the script needs no more). First a table of objects, one per rule of Argo CD's
//! built-in apps/v1 checks (gitops-engine health_deployment.go, health_replicaset.go), needing no
//! cluster; then real bosun objects on the local cluster, read through kubectl as Argo CD reads
//! them, from Healthy through Suspended, Progressing and Degraded.

use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, remove, repo_root, set};
use mlua::serde::SerializeOptions;
use mlua::{Lua, LuaOptions, LuaSerdeExt, StdLib, Table};
use serde_json::{Value, json};

/// Argo CD's verdict: `hs.status` and `hs.message`.
#[derive(Debug, PartialEq)]
struct Health {
    status: String,
    message: Option<String>,
}

fn lua_error(e: mlua::Error) -> anyhow::Error {
    anyhow::anyhow!("docs/argocd-health.lua: {e}")
}

/// Run `docs/argocd-health.lua` on `obj`. JSON `null` becomes Lua `nil`, as in Argo CD.
fn health(obj: &Value) -> anyhow::Result<Health> {
    let path = repo_root().join("docs/argocd-health.lua");
    let script = std::fs::read_to_string(&path)?;
    // StdLib::NONE still opens the base library (print, ipairs, tostring...).
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::new()).map_err(lua_error)?;
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    let value = lua.to_value_with(obj, options).map_err(lua_error)?;
    lua.globals().set("obj", value).map_err(lua_error)?;
    let hs: Table = lua
        .load(script)
        .set_name("argocd-health.lua")
        .eval()
        .map_err(lua_error)?;
    Ok(Health {
        status: hs.get("status").map_err(lua_error)?,
        message: hs.get("message").map_err(lua_error)?,
    })
}

/// A JSON object with a fluent way to set and remove fields by JSON pointer.
struct Obj(Value);

impl Obj {
    fn with(mut self, pointer: &str, value: Value) -> Self {
        set(&mut self.0, pointer, value);
        self
    }

    fn without(mut self, pointer: &str) -> Self {
        remove(&mut self.0, pointer);
        self
    }

    fn condition(self, type_: &str, status: &str, reason: &str, message: &str) -> Self {
        let mut conditions: Vec<Value> = self.0["status"]["conditions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c["type"] != type_)
            .collect();
        conditions
            .push(json!({"type": type_, "status": status, "reason": reason, "message": message}));
        self.with("/status/conditions", Value::Array(conditions))
    }
}

/// A bosun Deployment at generation 2 whose rollout of 3 replicas is complete.
fn complete_deployment() -> Obj {
    Obj(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "generation": 2},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
        "status": {
            "observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3, "readyRatio": "3/3",
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability."},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": "ReplicaSet \"web-5c47bf4f66\" has successfully progressed."}
            ]
        }
    }))
}

/// A bosun ReplicaSet at generation 1 with its 3 replicas available.
fn available_replicaset() -> Obj {
    Obj(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
        "metadata": {"name": "frontend", "namespace": "default", "generation": 1},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "frontend"}}},
        "status": {"observedGeneration": 1, "replicas": 3, "fullyLabeledReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3}
    }))
}

fn progressing(message: &str) -> Health {
    Health {
        status: "Progressing".into(),
        message: Some(format!("Waiting for rollout to finish: {message}")),
    }
}

fn verdict(status: &str, message: Option<&str>) -> Health {
    Health {
        status: status.into(),
        message: message.map(String::from),
    }
}

#[test]
fn deployment_health_follows_argo_cds_rules_for_apps_v1() -> anyhow::Result<()> {
    let deadline = |o: Obj| {
        o.condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            "ReplicaSet \"web-6d4f\" has timed out progressing.",
        )
    };
    let generation = "observed deployment generation less then desired generation";
    let cases: Vec<(&str, Obj, Health)> = vec![
        ("complete", complete_deployment(), verdict("Healthy", None)),
        (
            "paused, before any other rule",
            complete_deployment()
                .with("/spec/paused", json!(true))
                .with("/metadata/generation", json!(3)),
            verdict("Suspended", Some("Deployment is paused")),
        ),
        (
            "paused: false is not paused",
            complete_deployment().with("/spec/paused", json!(false)),
            verdict("Healthy", None),
        ),
        (
            "a generation the controller has not observed",
            complete_deployment().with("/metadata/generation", json!(3)),
            progressing(generation),
        ),
        (
            "no status yet",
            complete_deployment().without("/status"),
            progressing(generation),
        ),
        (
            "an unobserved generation wins over an exceeded deadline",
            deadline(complete_deployment()).with("/metadata/generation", json!(3)),
            progressing(generation),
        ),
        (
            "progress deadline exceeded",
            deadline(complete_deployment()).with("/status/updatedReplicas", json!(1)),
            verdict(
                "Degraded",
                Some("Deployment \"web\" exceeded its progress deadline"),
            ),
        ),
        (
            "fewer updated replicas than desired",
            complete_deployment().with("/status/updatedReplicas", json!(1)),
            progressing("1 out of 3 new replicas have been updated..."),
        ),
        (
            "no updatedReplicas field counts as 0",
            complete_deployment().without("/status/updatedReplicas"),
            progressing("0 out of 3 new replicas have been updated..."),
        ),
        (
            "old replicas still terminating",
            complete_deployment().with("/status/replicas", json!(5)),
            progressing("2 old replicas are pending termination..."),
        ),
        (
            "updated replicas not yet available",
            complete_deployment().with("/status/availableReplicas", json!(1)),
            progressing("1 of 3 updated replicas are available..."),
        ),
        (
            "scaled to zero",
            complete_deployment()
                .with("/spec/replicas", json!(0))
                .with("/status/replicas", json!(0))
                .with("/status/updatedReplicas", json!(0))
                .with("/status/availableReplicas", json!(0)),
            verdict("Healthy", None),
        ),
    ];
    let mut failures = Vec::new();
    for (name, obj, want) in cases {
        let got = health(&obj.0)?;
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn replicaset_health_follows_argo_cds_rules_for_apps_v1() -> anyhow::Result<()> {
    let quota = "pods \"frontend-x\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2";
    let generation = "observed replica set generation less then desired generation";
    let cases: Vec<(&str, Obj, Health)> = vec![
        (
            "all available",
            available_replicaset(),
            verdict("Healthy", None),
        ),
        (
            "a generation the controller has not observed",
            available_replicaset().with("/metadata/generation", json!(2)),
            progressing(generation),
        ),
        (
            "no status yet",
            available_replicaset().without("/status"),
            progressing(generation),
        ),
        (
            "ReplicaFailure True",
            available_replicaset()
                .with("/status/availableReplicas", json!(2))
                .condition("ReplicaFailure", "True", "FailedCreate", quota),
            verdict("Degraded", Some(quota)),
        ),
        (
            "ReplicaFailure False is no failure",
            available_replicaset().condition("ReplicaFailure", "False", "FailedCreate", quota),
            verdict("Healthy", None),
        ),
        (
            "fewer available than desired",
            available_replicaset().with("/status/availableReplicas", json!(1)),
            progressing("1 out of 3 new replicas are available..."),
        ),
        (
            "no availableReplicas field counts as 0",
            available_replicaset().without("/status/availableReplicas"),
            progressing("0 out of 3 new replicas are available..."),
        ),
    ];
    let mut failures = Vec::new();
    for (name, obj, want) in cases {
        let got = health(&obj.0)?;
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

// --- on the local cluster ---------------------------------------------------------------------

use bosun_e2e::kubectl_ok as ok;

/// `kubectl apply` a manifest written to `target/e2e-logs/<ns>-<file>`.
fn apply(ns: &str, file: &str, manifest: &Value) -> anyhow::Result<()> {
    let dir = repo_root().join("target/e2e-logs");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{ns}-{file}"));
    std::fs::write(&path, serde_json::to_string_pretty(manifest)?)?;
    ok(&["apply", "-n", ns, "-f", &path.to_string_lossy()])?;
    Ok(())
}

/// The health of `resource` as `kubectl get -o json` shows it.
fn live_health(ns: &str, resource: &str) -> anyhow::Result<Health> {
    let obj: Value = serde_json::from_str(&ok(&["get", "-n", ns, resource, "-o", "json"])?)?;
    health(&obj)
}

/// The health of the object a `kubectl patch` returns: the object as that write left it, before
/// any controller could act on it.
fn patched_health(ns: &str, resource: &str, patch: &Value) -> anyhow::Result<Health> {
    let out = ok(&[
        "patch",
        "-n",
        ns,
        resource,
        "--type=merge",
        "-p",
        &patch.to_string(),
        "-o",
        "json",
    ])?;
    health(&serde_json::from_str(&out)?)
}

fn wait(ns: &str, resource: &str, condition: &str) -> anyhow::Result<()> {
    ok(&[
        "wait",
        "-n",
        ns,
        resource,
        &format!("--for={condition}"),
        "--timeout=90s",
    ])?;
    Ok(())
}

fn workload(kind: &str, name: &str, replicas: i32) -> Value {
    json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}}
        }
    })
}

#[tokio::test]
async fn a_live_deployment_reads_healthy_suspended_progressing_then_degraded() -> anyhow::Result<()>
{
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("argocd-health")?;
    let ns = TestNamespace::new(&client, "argocd-d").await?;
    let mut d = workload("Deployment", "web", 2);
    set(&mut d, "/spec/progressDeadlineSeconds", json!(15));
    apply(&ns.name, "web.yaml", &d)?;
    wait(
        &ns.name,
        "bdeploy/web",
        "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}=NewReplicaSetAvailable",
    )?;
    assert_eq!(
        live_health(&ns.name, "bdeploy/web")?,
        verdict("Healthy", None)
    );

    let paused = patched_health(&ns.name, "bdeploy/web", &json!({"spec": {"paused": true}}))?;
    assert_eq!(paused, verdict("Suspended", Some("Deployment is paused")));

    // Resumed with a template no node can run: a rollout that cannot progress.
    let stuck = json!({"spec": {"paused": false, "template": {"spec": {
        "nodeSelector": {"bosun.dev/no-such-node": "true"}}}}});
    assert_eq!(
        patched_health(&ns.name, "bdeploy/web", &stuck)?,
        progressing("observed deployment generation less then desired generation"),
        "the object as the patch wrote it: a generation the controller has not seen"
    );
    let generation = ok(&[
        "get",
        "-n",
        &ns.name,
        "bdeploy/web",
        "-o",
        "jsonpath={.metadata.generation}",
    ])?;
    wait(
        &ns.name,
        "bdeploy/web",
        &format!("jsonpath={{.status.observedGeneration}}={generation}"),
    )?;
    // Within the 15 s deadline, the rollout waits for its new replicas.
    let rolling = live_health(&ns.name, "bdeploy/web")?;
    assert_eq!(rolling.status, "Progressing", "{rolling:?}");
    let message = rolling.message.unwrap_or_default();
    assert!(
        message.starts_with("Waiting for rollout to finish: ") && !message.contains("generation"),
        "{message}"
    );

    wait(
        &ns.name,
        "bdeploy/web",
        "jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}=ProgressDeadlineExceeded",
    )?;
    assert_eq!(
        live_health(&ns.name, "bdeploy/web")?,
        verdict(
            "Degraded",
            Some("Deployment \"web\" exceeded its progress deadline")
        )
    );
    Ok(())
}

#[tokio::test]
async fn a_live_replicaset_reads_healthy_progressing_then_degraded_by_a_quota() -> anyhow::Result<()>
{
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("argocd-health")?;
    let ns = TestNamespace::new(&client, "argocd-rs").await?;
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": {"name": "pods"}, "spec": {"hard": {"pods": "2"}}});
    apply(&ns.name, "quota.yaml", &quota)?;
    wait(
        &ns.name,
        "resourcequota/pods",
        "jsonpath={.status.hard.pods}=2",
    )?;
    apply(
        &ns.name,
        "frontend.yaml",
        &workload("ReplicaSet", "frontend", 2),
    )?;
    wait(
        &ns.name,
        "brs/frontend",
        "jsonpath={.status.availableReplicas}=2",
    )?;
    assert_eq!(
        live_health(&ns.name, "brs/frontend")?,
        verdict("Healthy", None)
    );

    // One more replica than the quota allows.
    assert_eq!(
        patched_health(&ns.name, "brs/frontend", &json!({"spec": {"replicas": 3}}))?,
        progressing("observed replica set generation less then desired generation")
    );
    wait(&ns.name, "brs/frontend", "condition=ReplicaFailure")?;
    let failed = live_health(&ns.name, "brs/frontend")?;
    assert_eq!(failed.status, "Degraded", "{failed:?}");
    let message = failed.message.unwrap_or_default();
    assert!(message.contains("exceeded quota: pods"), "{message}");
    Ok(())
}
