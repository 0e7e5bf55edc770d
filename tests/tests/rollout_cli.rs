//! `kubectl bosun rollout …` against the real cluster: status waits and fails on a missed
//! progress deadline, history lists revisions with their change cause, undo restores the
//! previous template, pause and resume, restart.

use std::time::Duration;

use bosun_api::apps::Deployment;
use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, kubectl_bosun, poll};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

fn deployment(image: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"kubernetes.io/change-cause": "first"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]}
            }
        }
    }))?)
}

fn image(d: &Deployment) -> String {
    d.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn rollout_status_history_undo_pause_resume_restart() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("rollout-cli")?;
    let ns = TestNamespace::new(&client, "rollout").await?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &deployment("registry.example/app:1")?,
    )
    .await?;
    let n = ns.name.as_str();

    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("deployment \"web\" successfully rolled out\n"),
        "{}",
        out.stdout
    );

    let patch = json!({"metadata": {"annotations": {"kubernetes.io/change-cause": "second"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/app:2"}]}}}});
    api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = kubectl_bosun(&["rollout", "history", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0].trim_end(), "deployment.apps.bosun.dev/web");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["REVISION", "CHANGE-CAUSE"]
    );
    assert_eq!(
        lines[3].split_whitespace().collect::<Vec<_>>(),
        ["2", "second"],
        "{}",
        out.stdout
    );

    let out = kubectl_bosun(&["rollout", "undo", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "deployment.apps.bosun.dev/web rolled back\n");
    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let d = api.get("web").await?;
    assert_eq!(image(&d), "registry.example/app:1");
    assert_eq!(
        d.annotations()
            .get("bosun.dev/revision")
            .map(String::as_str),
        Some("3")
    );

    let out = kubectl_bosun(&["rollout", "undo", "deploy/web", "-n", n, "--to-revision=3"])?;
    assert_eq!(
        out.stdout,
        "deployment.apps.bosun.dev/web skipped rollback (current template already matches revision 3)\n"
    );

    let out = kubectl_bosun(&["rollout", "pause", "deploy/web", "-n", n])?;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "deployment.apps.bosun.dev/web paused\n")
    );
    let out = kubectl_bosun(&["rollout", "pause", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: deployments.apps.bosun.dev \"web\" is already paused\n"
    );
    let out = kubectl_bosun(&["rollout", "undo", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("you cannot rollback a paused deployment"),
        "{}",
        out.stderr
    );
    let out = kubectl_bosun(&["rollout", "resume", "deploy/web", "-n", n])?;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "deployment.apps.bosun.dev/web resumed\n")
    );

    let before = api.get("web").await?.metadata.generation;
    let out = kubectl_bosun(&["rollout", "restart", "deploy/web", "-n", n])?;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "deployment.apps.bosun.dev/web restarted\n")
    );
    let d = api.get("web").await?;
    assert!(d.metadata.generation > before);
    // kubectl's annotation, with kubectl's value: RFC 3339 in whole seconds.
    let annotations = d
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let restarted = annotations.get("kubectl.kubernetes.io/restartedAt");
    let at = restarted.map(|t| t.parse::<k8s_openapi::jiff::Timestamp>());
    assert!(
        matches!(at, Some(Ok(t)) if t.subsec_nanosecond() == 0)
            && restarted.is_some_and(|t| t.ends_with('Z') && !t.contains('.')),
        "template annotations {annotations:?}"
    );
    assert!(
        !annotations.contains_key("bosun.dev/restartedAt"),
        "the old key: {annotations:?}"
    );
    let out = kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = kubectl_bosun(&["rollout", "status", "deploy/nope", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): deployments.apps.bosun.dev \"nope\" not found\n"
    );
    Ok(())
}

#[tokio::test]
async fn rollout_status_fails_when_the_progress_deadline_passes() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("rollout-cli")?;
    let ns = TestNamespace::new(&client, "rollout-deadline").await?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let mut d = deployment("registry.example/app:1")?;
    d.spec.progress_deadline_seconds = Some(2);
    if let Some(spec) = d.spec.template.spec.as_mut() {
        spec.node_selector =
            Some([("bosun.dev/no-such-node".to_string(), "true".to_string())].into());
    }
    api.create(&PostParams::default(), &d).await?;
    let out = kubectl_bosun(&[
        "rollout",
        "status",
        "deploy/web",
        "-n",
        &ns.name,
        "--timeout=60s",
    ])?;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stderr,
        "error: deployment \"web\" exceeded its progress deadline\n"
    );
    // The condition it read is on the object.
    poll(
        "ProgressDeadlineExceeded",
        Duration::from_secs(5),
        || async {
            let d = api.get("web").await?;
            Ok(d.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
                .then_some(()))
        },
    )
    .await?;
    Ok(())
}

/// The ReplicaSets' `spec.replicas` by image, and the Deployment's Progressing reason.
async fn sizes(
    client: &kube::Client,
    ns: &str,
) -> anyhow::Result<(std::collections::BTreeMap<String, i32>, Option<String>)> {
    let rss: Api<bosun_api::apps::ReplicaSet> = Api::namespaced(client.clone(), ns);
    let mut by_image = std::collections::BTreeMap::new();
    for rs in rss.list(&Default::default()).await? {
        let image = rs
            .spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.containers[0].image.clone())
            .unwrap_or_default();
        *by_image.entry(image).or_default() += rs.spec.replicas.unwrap_or(1);
    }
    let d: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let reason = d
        .get("web")
        .await?
        .status
        .and_then(|s| s.conditions)
        .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Progressing"))
        .and_then(|c| c.reason);
    Ok((by_image, reason))
}

#[tokio::test]
async fn a_partition_stops_the_rollout_and_promote_carries_it_on() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("rollout-cli")?;
    let ns = TestNamespace::new(&client, "partition").await?;
    let n = ns.name.as_str();
    let api: Api<Deployment> = Api::namespaced(client.clone(), n);
    let mut d = deployment("registry.example/app:1")?;
    d.spec.replicas = Some(10);
    d.spec.strategy = Some(serde_json::from_value(json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0, "partition": "30%"}}))?);
    api.create(&PostParams::default(), &d).await?;
    let status = || kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=90s"]);
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.ends_with("successfully rolled out\n"),
        "a new Deployment keeps nothing old: {}",
        out.stdout
    );

    let set = |image: &str| json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}});
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&set("registry.example/app:2")),
    )
    .await?;
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.ends_with(
            "deployment \"web\" rolled out to its partition: 7 of 10 replicas updated, 3 kept on old revisions (kubectl bosun rollout promote deploy/web goes on)\n"
        ),
        "{}",
        out.stdout
    );
    let (by_image, reason) = sizes(&client, n).await?;
    assert_eq!(by_image["registry.example/app:1"], 3);
    assert_eq!(by_image["registry.example/app:2"], 7);
    assert_eq!(reason.as_deref(), Some("RolloutPartitioned"));

    // Scaled while partitioned: 30% of 20 stay old, in the same ratio.
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": 20}})),
    )
    .await?;
    let settled = |old: i32, new: i32| {
        let client = client.clone();
        async move {
            poll(
                &format!("{old} old and {new} new"),
                Duration::from_secs(90),
                || async {
                    let (by_image, reason) = sizes(&client, n).await?;
                    Ok((by_image.get("registry.example/app:1") == Some(&old)
                        && by_image.get("registry.example/app:2") == Some(&new)
                        && reason.as_deref() == Some("RolloutPartitioned"))
                    .then_some(()))
                },
            )
            .await
        }
    };
    settled(6, 14).await?;

    // One step (maxSurge 2): the partition 6 -> 4.
    let out = kubectl_bosun(&["rollout", "promote", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "deployment.apps.bosun.dev/web promoted (partition 6 -> 4)\n"
    );
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.ends_with("16 of 20 replicas updated, 4 kept on old revisions (kubectl bosun rollout promote deploy/web goes on)\n"), "{}", out.stdout);
    settled(4, 16).await?;

    let out = kubectl_bosun(&["rollout", "promote", "deploy/web", "-n", n, "--full"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("deployment \"web\" successfully rolled out\n"),
        "{}",
        out.stdout
    );
    let (by_image, _) = sizes(&client, n).await?;
    assert_eq!(
        by_image.get("registry.example/app:1").copied().unwrap_or(0),
        0
    );
    assert_eq!(by_image["registry.example/app:2"], 20);

    let out = kubectl_bosun(&["rollout", "promote", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: deployments.apps.bosun.dev \"web\" has no partition to promote"
    );
    Ok(())
}
