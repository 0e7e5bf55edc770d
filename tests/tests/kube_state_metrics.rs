//! `docs/kube-state-metrics.yaml` in kube-state-metrics itself (KSM_VERSION of
//! hack/cluster/versions.env, built from the Go module proxy by `hack/cluster/build.sh
//! kube-state-metrics`), on loopback against the local cluster: the metrics of a real bosun
//! Deployment and ReplicaSet carry the names, labels and values kube-prometheus' alerts expect.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bosun_e2e::{
    ControllerProcess, TestNamespace, client, ensure_controller, ensure_crds, http_get, poll,
    repo_root, run, set,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

/// The kube-state-metrics binary: `$KUBE_STATE_METRICS_BIN`, else `kube-state-metrics` in
/// `$BOSUN_CACHE/bin` (what `hack/cluster/build.sh kube-state-metrics` builds, and builds here
/// when it is missing).
fn ksm_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("KUBE_STATE_METRICS_BIN") {
        return Ok(p.into());
    }
    let cache = std::env::var_os("BOSUN_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/bosun")))
        .context("neither BOSUN_CACHE nor HOME is set")?;
    let bin = cache.join("bin/kube-state-metrics");
    if !bin.exists() {
        let script = repo_root().join("hack/cluster/build.sh");
        let out = run(&script.to_string_lossy(), &["kube-state-metrics"])?;
        anyhow::ensure!(
            out.code == 0 && bin.exists(),
            "hack/cluster/build.sh kube-state-metrics failed: {}",
            out.stderr
        );
    }
    Ok(bin)
}

use bosun_e2e::free_tcp_port as free_port;

/// The value of the one sample of `name` whose labels include `labels`; `None` when there is
/// none. More than one is an error: the labels given must name a single series.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> anyhow::Result<Option<f64>> {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v.parse::<f64>().context("a sample's value"))
        .collect::<anyhow::Result<_>>()?;
    match found[..] {
        [] => Ok(None),
        [v] => Ok(Some(v)),
        _ => anyhow::bail!("{} series of {name} match {labels:?}", found.len()),
    }
}

use bosun_e2e::kubectl_ok as ok;

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
async fn kube_state_metrics_reports_bosun_workloads_under_upstreams_names() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("kube-state-metrics")?;
    let ns = TestNamespace::new(&client, "ksm").await?;
    let n = ns.name.as_str();

    let dir = repo_root().join("target/e2e-logs");
    std::fs::create_dir_all(&dir)?;
    let manifest = dir.join(format!("{n}-workloads.yaml"));
    let mut web = workload("Deployment", "web", 2);
    set(&mut web, "/metadata/labels", json!({"app": "web"}));
    let frontend = workload("ReplicaSet", "frontend", 2);
    std::fs::write(
        &manifest,
        format!(
            "{}\n---\n{}\n",
            serde_json::to_string(&web)?,
            serde_json::to_string(&frontend)?
        ),
    )?;
    ok(&["apply", "-n", n, "-f", &manifest.to_string_lossy()])?;
    ok(&[
        "wait",
        "-n",
        n,
        "bdeploy/web",
        "--for=jsonpath={.status.conditions[?(@.type==\"Progressing\")].reason}=NewReplicaSetAvailable",
        "--timeout=90s",
    ])?;
    ok(&[
        "wait",
        "-n",
        n,
        "brs/frontend",
        "--for=jsonpath={.status.availableReplicas}=2",
        "--timeout=90s",
    ])?;

    let port = free_port(0)?;
    let telemetry = free_port(port)?;
    let kubeconfig = std::env::var("KUBECONFIG").context("KUBECONFIG is not set")?;
    let config = repo_root().join("docs/kube-state-metrics.yaml");
    let _ksm = ControllerProcess::start_program(
        "kube-state-metrics",
        &ksm_bin()?,
        &[
            &format!("--kubeconfig={kubeconfig}"),
            "--host=127.0.0.1",
            &format!("--port={port}"),
            "--telemetry-host=127.0.0.1",
            &format!("--telemetry-port={telemetry}"),
            "--custom-resource-state-only",
            &format!("--custom-resource-state-config-file={}", config.display()),
            &format!("--namespaces={n}"),
        ],
    )?;

    let d = [("namespace", n), ("deployment", "web")];
    let rs = [("namespace", n), ("replicaset", "frontend")];
    let text = poll(
        "kube-state-metrics to report both objects",
        WAIT,
        || async {
            let (code, body) = http_get(port, "/metrics").await?;
            let seen = code == 200
                && sample(&body, "kube_bosun_deployment_status_replicas_available", &d)?
                    == Some(2.0)
                && sample(&body, "kube_bosun_replicaset_status_ready_replicas", &rs)? == Some(2.0);
            Ok(seen.then_some(body))
        },
    )
    .await?;
    std::fs::write(dir.join(format!("{n}-metrics.txt")), &text)?;

    let generation = |resource: &str| -> anyhow::Result<f64> {
        Ok(ok(&[
            "get",
            "-n",
            n,
            resource,
            "-o",
            "jsonpath={.metadata.generation}",
        ])?
        .parse()?)
    };
    let d_gen = generation("bdeploy/web")?;
    let rs_gen = generation("brs/frontend")?;
    let at = |name: &str, labels: &[(&str, &str)]| sample(&text, name, labels);
    let gvk_d = [
        ("customresource_group", "apps.bosun.dev"),
        ("customresource_version", "v1"),
        ("customresource_kind", "Deployment"),
    ];
    // The Deployment, every metric kube-prometheus' Deployment alerts read.
    let expected_d: [(&str, f64); 9] = [
        ("kube_bosun_deployment_metadata_generation", d_gen),
        ("kube_bosun_deployment_status_observed_generation", d_gen),
        ("kube_bosun_deployment_spec_replicas", 2.0),
        ("kube_bosun_deployment_spec_paused", 0.0),
        ("kube_bosun_deployment_status_replicas", 2.0),
        ("kube_bosun_deployment_status_replicas_updated", 2.0),
        ("kube_bosun_deployment_status_replicas_ready", 2.0),
        ("kube_bosun_deployment_status_replicas_available", 2.0),
        ("kube_bosun_deployment_status_replicas_unavailable", 0.0),
    ];
    for (name, want) in expected_d {
        let labels: Vec<(&str, &str)> = d.iter().chain(&gvk_d).copied().collect();
        assert_eq!(at(name, &labels)?, Some(want), "{name}");
    }
    let condition = |c: &str, s: &str| -> anyhow::Result<Option<f64>> {
        let labels = [d[0], d[1], ("condition", c), ("status", s)];
        at("kube_bosun_deployment_status_condition", &labels)
    };
    assert_eq!(condition("Available", "True")?, Some(1.0));
    assert_eq!(condition("Available", "False")?, Some(0.0));
    assert_eq!(condition("Available", "Unknown")?, Some(0.0));
    assert_eq!(condition("Progressing", "True")?, Some(1.0));
    assert_eq!(condition("Progressing", "False")?, Some(0.0));
    let reason = [
        d[0],
        d[1],
        ("condition", "Progressing"),
        ("status", "True"),
        ("reason", "NewReplicaSetAvailable"),
    ];
    assert_eq!(
        at("kube_bosun_deployment_status_condition", &reason)?,
        Some(1.0)
    );

    // The ReplicaSet, and the one the Deployment owns (the metrics cover every ReplicaSet).
    let expected_rs: [(&str, f64); 7] = [
        ("kube_bosun_replicaset_metadata_generation", rs_gen),
        ("kube_bosun_replicaset_status_observed_generation", rs_gen),
        ("kube_bosun_replicaset_spec_replicas", 2.0),
        ("kube_bosun_replicaset_status_replicas", 2.0),
        ("kube_bosun_replicaset_status_fully_labeled_replicas", 2.0),
        ("kube_bosun_replicaset_status_ready_replicas", 2.0),
        ("kube_bosun_replicaset_status_available_replicas", 2.0),
    ];
    for (name, want) in expected_rs {
        assert_eq!(at(name, &rs)?, Some(want), "{name}");
    }
    let owned = text
        .lines()
        .filter(|l| {
            l.starts_with("kube_bosun_replicaset_spec_replicas{")
                && l.contains(&format!("namespace=\"{n}\""))
                && l.contains("replicaset=\"web-")
        })
        .count();
    assert_eq!(owned, 1, "the Deployment's ReplicaSet:\n{text}");

    // A change reaches the metrics: paused, as kube_deployment_spec_paused shows it.
    ok(&[
        "patch",
        "-n",
        n,
        "bdeploy/web",
        "--type=merge",
        "-p",
        r#"{"spec":{"paused":true}}"#,
    ])?;
    poll("kube_bosun_deployment_spec_paused 1", WAIT, || async {
        let (_, body) = http_get(port, "/metrics").await?;
        Ok((sample(&body, "kube_bosun_deployment_spec_paused", &d)? == Some(1.0)).then_some(()))
    })
    .await?;
    Ok(())
}
