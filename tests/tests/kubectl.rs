//! What a user sees through plain kubectl: the CRDs install, examples apply, `kubectl scale`,
//! `kubectl get` columns, `kubectl explain`, and the `bosun`/`all` categories.

use bosun_e2e::{MANAGER, TestNamespace, client, ensure_crds, install_crds, kubectl, repo_root};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

use bosun_e2e::kubectl_ok as ok;

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[tokio::test]
async fn crds_install_with_server_side_apply_and_plain_apply() -> anyhow::Result<()> {
    let client = client().await?;
    let mut names = install_crds(&client).await?;
    names.sort();
    assert_eq!(
        names,
        [
            "deployments.apps.bosun.dev",
            "dnsrecordsets.dns.bosun.dev",
            "endpointslices.discovery.bosun.dev",
            "replicasets.apps.bosun.dev",
        ]
    );
    // Plain (client-side) apply stores the whole object in an annotation limited to 262144 bytes.
    let crds = repo_root().join("crds");
    let crds = crds.to_string_lossy();
    let out = ok(&["apply", "--dry-run=server", "-f", &crds])?;
    assert_eq!(out.lines().count(), 4, "{out}");
    Ok(())
}

#[tokio::test]
async fn examples_in_manifests_are_accepted() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "examples").await?;
    let dir = repo_root().join("manifests");
    for example in ["deployment.yaml", "replicaset.yaml"] {
        let path = dir.join(example);
        let out = ok(&["apply", "-n", &ns.name, "-f", &path.to_string_lossy()])?;
        assert!(out.contains("created"), "{example}: {out}");
    }
    Ok(())
}

#[tokio::test]
async fn kubectl_scale_changes_replicas_through_the_scale_subresource() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "scale").await?;
    let path = repo_root().join("manifests/deployment.yaml");
    ok(&["apply", "-n", &ns.name, "-f", &path.to_string_lossy()])?;
    let out = ok(&["scale", "-n", &ns.name, "bdeploy/web", "--replicas=7"])?;
    assert!(
        out.contains("deployment.apps.bosun.dev/web scaled"),
        "{out}"
    );
    let replicas = ok(&[
        "get",
        "-n",
        &ns.name,
        "bdeploy",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ])?;
    assert_eq!(replicas, "7");
    let scale = ok(&[
        "get",
        "-n",
        &ns.name,
        "bdeploy",
        "web",
        "--subresource=scale",
        "-o",
        "jsonpath={.kind} {.spec.replicas}",
    ])?;
    assert_eq!(scale, "Scale 7");
    // To zero, as upstream's TestDeploymentScaleSubresource does.
    ok(&["scale", "-n", &ns.name, "bdeploy/web", "--replicas=0"])?;
    let replicas = ok(&[
        "get",
        "-n",
        &ns.name,
        "bdeploy",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ])?;
    assert_eq!(replicas, "0");

    let rs = repo_root().join("manifests/replicaset.yaml");
    ok(&["apply", "-n", &ns.name, "-f", &rs.to_string_lossy()])?;
    ok(&["scale", "-n", &ns.name, "brs/frontend", "--replicas=6"])?;
    let replicas = ok(&[
        "get",
        "-n",
        &ns.name,
        "brs",
        "frontend",
        "-o",
        "jsonpath={.spec.replicas}",
    ])?;
    assert_eq!(replicas, "6");
    Ok(())
}

#[tokio::test]
async fn kubectl_get_prints_upstream_columns() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "columns").await?;
    let dir = repo_root().join("manifests");
    ok(&[
        "apply",
        "-n",
        &ns.name,
        "-f",
        &dir.join("deployment.yaml").to_string_lossy(),
    ])?;
    ok(&[
        "apply",
        "-n",
        &ns.name,
        "-f",
        &dir.join("replicaset.yaml").to_string_lossy(),
    ])?;

    // Write a status as a controller would, so the columns have values to show.
    let gvk = |kind| GroupVersionKind::gvk("apps.bosun.dev", "v1", kind);
    let deploy: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk_with_plural(&gvk("Deployment"), "deployments"),
    );
    let status = json!({"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "status": {
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2,
        "unavailableReplicas": 1, "readyRatio": "2/3", "selector": "app=web",
        "templateContainers": "nginx", "templateImages": "nginx:1.27"}});
    deploy
        .patch_status("web", &PatchParams::apply(MANAGER), &Patch::Apply(&status))
        .await?;
    let rs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk_with_plural(&gvk("ReplicaSet"), "replicasets"),
    );
    let status = json!({"apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet", "status": {
        "replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 1, "availableReplicas": 1, "selector": "tier=frontend"}});
    rs.patch_status(
        "frontend",
        &PatchParams::apply(MANAGER),
        &Patch::Apply(&status),
    )
    .await?;

    let out = ok(&["get", "-n", &ns.name, "bdeploy"])?;
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "{out}"
    );
    assert_eq!(columns(lines[1])[..4], ["web", "2/3", "3", "2"], "{out}");

    let out = ok(&["get", "-n", &ns.name, "bdeploy", "-o", "wide"])?;
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{out}"
    );
    assert_eq!(
        columns(lines[1])[5..],
        ["nginx", "nginx:1.27", "app=web"],
        "{out}"
    );

    let out = ok(&["get", "-n", &ns.name, "brs"])?;
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(
        columns(lines[0]),
        ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "{out}"
    );
    assert_eq!(columns(lines[1])[..4], ["frontend", "3", "3", "1"], "{out}");
    Ok(())
}

#[tokio::test]
async fn kubectl_explain_shows_descriptions() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let cases = [
        (
            "bdeploy.spec.strategy",
            "The deployment strategy to use to replace existing pods with new ones.",
        ),
        (
            "bdeploy.spec.strategy.rollingUpdate.maxSurge",
            "Absolute number is calculated from percentage by rounding",
        ),
        (
            "bdeploy.spec.progressDeadlineSeconds",
            "ProgressDeadlineExceeded",
        ),
        (
            "brs.spec.replicas",
            "Replicas is the number of desired pods.",
        ),
        (
            "brs.status.availableReplicas",
            "ready for at least minReadySeconds",
        ),
        (
            "beps.endpoints",
            "endpoints is a list of unique endpoints in this slice.",
        ),
        ("bdns.spec.records", "fully qualified name"),
    ];
    for (field, text) in cases {
        let out = ok(&["explain", field])?;
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(text),
            "kubectl explain {field} lacks `{text}`:\n{out}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn bosun_kinds_are_in_the_bosun_and_all_categories() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "categories").await?;
    let path = repo_root().join("manifests/deployment.yaml");
    ok(&["apply", "-n", &ns.name, "-f", &path.to_string_lossy()])?;
    for category in ["all", "bosun"] {
        let out = ok(&["get", category, "-n", &ns.name, "-o", "name"])?;
        assert!(
            out.lines().any(|l| l == "deployment.apps.bosun.dev/web"),
            "get {category}: {out}"
        );
    }
    let out = ok(&["api-resources", "--categories=bosun", "-o", "name"])?;
    let mut kinds: Vec<_> = out.lines().collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "deployments.apps.bosun.dev",
            "dnsrecordsets.dns.bosun.dev",
            "endpointslices.discovery.bosun.dev",
            "replicasets.apps.bosun.dev",
        ]
    );
    Ok(())
}

/// The tutorial's plain-kubectl verbs on a bosun ReplicaSet: `create -f`, `get -o yaml`,
/// `describe` (kubectl's generic describer), `edit` (KUBE_EDITOR as a non-interactive editor),
/// `replace -f`, `scale`, `delete`; each changes what the API server holds.
#[tokio::test]
async fn plain_kubectl_verbs_work_on_bosun_replicasets() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "plain-verbs").await?;
    let n = ns.name.as_str();
    let file = repo_root().join("manifests/replicaset.yaml");
    let file = file.to_string_lossy();
    let replicas = || -> anyhow::Result<String> {
        ok(&[
            "get",
            "-n",
            n,
            "brs",
            "frontend",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
    };

    let out = ok(&["create", "-n", n, "-f", &file])?;
    assert_eq!(out, "replicaset.apps.bosun.dev/frontend created\n");
    let out = kubectl(&["create", "-n", n, "-f", &file])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("replicasets.apps.bosun.dev \"frontend\" already exists"),
        "{}",
        out.stderr
    );

    let yaml = ok(&["get", "-n", n, "brs", "frontend", "-o", "yaml"])?;
    assert!(
        yaml.starts_with("apiVersion: apps.bosun.dev/v1\nkind: ReplicaSet\n"),
        "{yaml}"
    );
    assert!(yaml.contains("  replicas: 3\n"), "{yaml}");

    let out = ok(&["describe", "-n", n, "brs", "frontend"])?;
    assert!(out.starts_with("Name:         frontend\n"), "{out}");
    assert!(out.contains("Kind:         ReplicaSet"), "{out}");

    // `edit` and `replace` send the object with the resourceVersion they read. When a controller
    // (the suite's shared bosun, if another test started it) writes the status in between, the
    // API server answers Conflict, as it does for apps/v1 and kube-controller-manager; a user
    // runs the command again, and so does this test (a few times at most).
    let conflict =
        |stderr: &[u8]| String::from_utf8_lossy(stderr).contains("the object has been modified");

    // `kubectl edit` runs $KUBE_EDITOR on a temporary file and applies the change.
    let mut edit = std::process::Command::new("kubectl")
        .args(["edit", "-n", n, "brs", "frontend"])
        .env("KUBE_EDITOR", "sed -i s/replicas:\\ 3/replicas:\\ 4/")
        .output()?;
    for _ in 0..3 {
        if !conflict(&edit.stderr) {
            break;
        }
        edit = std::process::Command::new("kubectl")
            .args(["edit", "-n", n, "brs", "frontend"])
            .env("KUBE_EDITOR", "sed -i s/replicas:\\ 3/replicas:\\ 4/")
            .output()?;
    }
    assert!(
        edit.status.success(),
        "{}",
        String::from_utf8_lossy(&edit.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&edit.stdout),
        "replicaset.apps.bosun.dev/frontend edited\n"
    );
    assert_eq!(replicas()?, "4");

    // `kubectl replace -f` with a changed manifest.
    let changed = std::fs::read_to_string(repo_root().join("manifests/replicaset.yaml"))?
        .replace("replicas: 3", "replicas: 5");
    let path = repo_root().join(format!("target/e2e-logs/replace-{n}.yaml"));
    std::fs::write(&path, changed)?;
    let path = path.to_string_lossy();
    let mut replaced = kubectl(&["replace", "-n", n, "-f", &path])?;
    for _ in 0..3 {
        if !conflict(replaced.stderr.as_bytes()) {
            break;
        }
        replaced = kubectl(&["replace", "-n", n, "-f", &path])?;
    }
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    let out = replaced.stdout;
    assert_eq!(out, "replicaset.apps.bosun.dev/frontend replaced\n");
    assert_eq!(replicas()?, "5");

    let out = ok(&["scale", "-n", n, "--replicas=6", "brs", "frontend"])?;
    assert_eq!(out, "replicaset.apps.bosun.dev/frontend scaled\n");
    assert_eq!(replicas()?, "6");

    let out = ok(&["delete", "-n", n, "brs", "frontend"])?;
    assert_eq!(
        out,
        format!("replicaset.apps.bosun.dev \"frontend\" deleted from {n} namespace\n")
    );
    let out = kubectl(&["get", "-n", n, "brs", "frontend"])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): replicasets.apps.bosun.dev \"frontend\" not found\n"
    );
    Ok(())
}
