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
    let (by_image, reason, _) = rollout_state(client, ns).await?;
    Ok((
        by_image
            .into_iter()
            .map(|(k, (spec, _))| (k, spec))
            .collect(),
        reason,
    ))
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

/// The ReplicaSets' sizes by image (spec, available), the Deployment's Progressing reason
/// and its observed generation against its generation.
async fn rollout_state(
    client: &kube::Client,
    ns: &str,
) -> anyhow::Result<(
    std::collections::BTreeMap<String, (i32, i32)>,
    Option<String>,
    bool,
)> {
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
        let available = rs
            .status
            .as_ref()
            .map(|s| s.available_replicas)
            .unwrap_or(0);
        by_image.insert(image, (rs.spec.replicas.unwrap_or(1), available));
    }
    let d: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = d.get("web").await?;
    let st = d.status.clone().unwrap_or_default();
    let reason = st
        .conditions
        .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Progressing"))
        .and_then(|c| c.reason);
    Ok((
        by_image,
        reason,
        st.observed_generation == d.metadata.generation,
    ))
}

#[tokio::test]
async fn a_rollout_past_its_deadline_is_aborted_rolled_back_and_held_until_retry()
-> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("rollout-cli")?;
    let ns = TestNamespace::new(&client, "abort").await?;
    let n = ns.name.as_str();
    let api: Api<Deployment> = Api::namespaced(client.clone(), n);
    let mut d = deployment("registry.example/app:1")?;
    d.spec.replicas = Some(3);
    d.spec.progress_deadline_seconds = Some(5);
    d.spec.progress_deadline_abort = Some(true);
    d.spec.strategy = Some(serde_json::from_value(json!({"type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))?);
    api.create(&PostParams::default(), &d).await?;
    let status = || kubectl_bosun(&["rollout", "status", "deploy/web", "-n", n, "--timeout=90s"]);
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);

    // A template whose Pods can never be scheduled (no Node has the label): no progress.
    let stuck = |image: &str| {
        json!({"spec": {"template": {"spec": {
        "nodeSelector": {"e2e.bosun.dev/no-such-node": "true"},
        "containers": [{"name": "app", "image": image}]}}}})
    };
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&stuck("registry.example/app:2")),
    )
    .await?;
    let out = status()?;
    println!("$ kubectl bosun rollout status deploy/web\n{}", out.stderr);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr
            .starts_with("error: deployment \"web\" rollout aborted: Rollout of ReplicaSet \"web-")
            && out
                .stderr
                .contains("timed out progressing; rolling back to ReplicaSet \"web-"),
        "{}",
        out.stderr
    );
    let rolled_back = |held: &'static str| {
        let client = client.clone();
        async move {
            poll("rolled back to app:1", Duration::from_secs(60), || async {
                let (by_image, reason, observed) = rollout_state(&client, n).await?;
                Ok((observed
                    && by_image.get("registry.example/app:1") == Some(&(3, 3))
                    && by_image.get(held).is_some_and(|(spec, _)| *spec == 0)
                    && reason.as_deref() == Some("RolloutAborted"))
                .then_some(()))
            })
            .await
        }
    };
    rolled_back("registry.example/app:2").await?;
    let events = bosun_e2e::kubectl(&[
        "get",
        "events",
        "-n",
        n,
        "--field-selector",
        "reason=RolloutAborted",
    ])?;
    assert!(
        events.stdout.contains("timed out progressing"),
        "{}",
        events.stdout
    );
    // Held: a spec change the controller observes (a new generation) does not retry it.
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"minReadySeconds": 0, "revisionHistoryLimit": 9}})),
    )
    .await?;
    rolled_back("registry.example/app:2").await?;

    // retry: the same template rolls out again (and, stuck again, is aborted again).
    let out = kubectl_bosun(&["rollout", "retry", "deploy/web", "-n", n])?;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "deployment.apps.bosun.dev/web retried\n"),
        "{}",
        out.stderr
    );
    poll("app:2 scaled up again", Duration::from_secs(60), || async {
        let (by_image, _, _) = rollout_state(&client, n).await?;
        Ok(by_image
            .get("registry.example/app:2")
            .is_some_and(|(spec, _)| *spec > 0)
            .then_some(()))
    })
    .await?;
    // abort by hand, at once.
    let out = kubectl_bosun(&["rollout", "abort", "deploy/web", "-n", n])?;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "deployment.apps.bosun.dev/web aborted\n"),
        "{}",
        out.stderr
    );
    rolled_back("registry.example/app:2").await?;
    let out = status()?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains(" aborted; rolling back to ReplicaSet \"web-"),
        "{}",
        out.stderr
    );
    // A new template lifts the hold: back to app:1's template completes as a normal rollout.
    let back = json!({"spec": {"template": {"spec": {"nodeSelector": null,
        "containers": [{"name": "app", "image": "registry.example/app:1"}]}}}});
    api.patch("web", &PatchParams::default(), &Patch::Merge(&back))
        .await?;
    let out = status()?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.ends_with("successfully rolled out\n"),
        "{}",
        out.stdout
    );
    let out = kubectl_bosun(&["rollout", "abort", "deploy/web", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "error: deployments.apps.bosun.dev \"web\" has no rollout in progress to abort"
    );
    Ok(())
}
