//! The Helm chart `charts/bosun`: it lints clean, its schema refuses bad values, its CRDs are
//! the ones under `crds/`, the API server accepts what it renders, and once installed its
//! ServiceAccount's RBAC is enough for the controllers and refuses what they do not need.
//!
//! `helm` comes from PATH (`make e2e` puts ~/.cache/bosun/bin first).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::DNSRecordSet;
use bosun_e2e::{
    ControllerProcess, Output, TestNamespace, client, external_controller, kubectl, poll,
    read_yaml, repo_root, run,
};
use k8s_openapi::api::apps::v1::Deployment as CoreDeployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use k8s_openapi::api::rbac::v1::ClusterRole;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);

/// `helm template` cannot ask a cluster for its version and the locally built helm would assume
/// an old one (refused by the chart's kubeVersion); the version the local cluster runs.
const KUBE_VERSION: &str = "v1.35.4";

const CRDS: [&str; 4] = [
    "deployments.apps.bosun.dev",
    "dnsrecordsets.dns.bosun.dev",
    "endpointslices.discovery.bosun.dev",
    "replicasets.apps.bosun.dev",
];

fn chart() -> String {
    repo_root()
        .join("charts/bosun")
        .to_string_lossy()
        .into_owned()
}

fn helm(args: &[&str]) -> anyhow::Result<Output> {
    run("helm", args)
}

/// `helm template` of the chart with `--set` values, parsed; fails when helm does.
fn template(namespace: &str, sets: &[&str]) -> anyhow::Result<Vec<Value>> {
    let chart = chart();
    let mut args = vec![
        "template",
        "t",
        &chart,
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = helm(&args)?;
    anyhow::ensure!(out.code == 0, "helm template failed: {}", out.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&out.stdout)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn crds_of(docs: &[Value]) -> BTreeMap<String, Value> {
    docs.iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap_or("").to_string(),
                d.clone(),
            )
        })
        .collect()
}

#[test]
fn helm_lint_is_clean_also_strict() {
    let chart = chart();
    for args in [vec!["lint", &chart], vec!["lint", "--strict", &chart]] {
        let out = helm(&args).expect("helm runs");
        assert_eq!(out.code, 0, "helm {args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("0 chart(s) failed")
                && !out.stdout.contains("[ERROR]")
                && !out.stdout.contains("[WARNING]"),
            "helm {args:?} reported problems: {}",
            out.stdout
        );
    }
}

#[test]
fn values_schema_refuses_bad_values_with_a_clear_message() {
    let chart = chart();
    // (--set, what the message must name)
    let cases = [
        (
            "controller.replicas=two",
            vec!["/controller/replicas", "want integer"],
        ),
        ("logFormat=yaml", vec!["/logFormat", "'text', 'json'"]),
        (
            "controller.controllers={replicaset,statefulset}",
            vec!["/controller/controllers/1", "'endpointslice'"],
        ),
        ("dns.containerPort=53", vec!["/dns/containerPort", "1,024"]),
        (
            "controller.leaderElection.leaseDuration=soon",
            vec!["/controller/leaderElection/leaseDuration", "pattern"],
        ),
        ("contoller.replicas=1", vec!["'contoller' not allowed"]),
        (
            "rbac.aggregateToDefaultRoles=yes",
            vec!["/rbac/aggregateToDefaultRoles", "want boolean"],
        ),
        (
            "controller.replicas=2,controller.leaderElection.enabled=false",
            vec!["/controller/leaderElection/enabled", "must be true"],
        ),
        (
            "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.interval=1.5m",
            vec!["/metrics/serviceMonitor/interval", "pattern"],
        ),
    ];
    for (set, wanted) in cases {
        for verb in ["lint", "template"] {
            let mut args = vec![verb, "t", &chart, "--set", set];
            if verb == "lint" {
                args.remove(1);
            } else {
                args.extend(["--kube-version", KUBE_VERSION]);
            }
            let out = helm(&args).expect("helm runs");
            let text = format!("{}{}", out.stdout, out.stderr);
            assert_ne!(out.code, 0, "helm {verb} accepted {set}: {text}");
            for w in &wanted {
                assert!(
                    text.contains(w),
                    "helm {verb} --set {set}: the message does not name {w:?}: {text}"
                );
            }
        }
    }
    // The defaults themselves pass, so the refusals above are the values' doing.
    template("default", &[]).expect("the default values render");
}

/// `helm template` with `controller.leaderElection.leaseDuration` set (as a string): the
/// controller's rendered BOSUN_LEASE_DURATION, or helm's message.
fn rendered_lease_duration(value: &str) -> Result<String, String> {
    let chart = chart();
    let set = format!("controller.leaderElection.leaseDuration={value}");
    let args = [
        "template",
        "t",
        &chart,
        "--kube-version",
        KUBE_VERSION,
        "--set-string",
        &set,
    ];
    let out = helm(&args).map_err(|e| e.to_string())?;
    if out.code != 0 {
        return Err(format!("{}{}", out.stdout, out.stderr));
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple(&out.stdout).map_err(|e| e.to_string())?;
    docs.iter()
        .filter(|d| d["kind"] == "Deployment")
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .find(|e| e["name"] == "BOSUN_LEASE_DURATION")
        .and_then(|e| e["value"].as_str().map(String::from))
        .ok_or_else(|| format!("no BOSUN_LEASE_DURATION rendered: {}", out.stdout))
}

/// `bosun run` with BOSUN_LEASE_DURATION=`value` and no cluster to reach: `Ok` when it got past
/// its flags (and then failed to connect), else clap's message.
fn bosun_run_accepts_lease_duration(value: &str) -> Result<(), String> {
    let mut child = std::process::Command::new(bosun_e2e::bosun_bin())
        .arg("run")
        .env("BOSUN_LEADER_ELECT", "true")
        .env("BOSUN_LEASE_DURATION", value)
        .env("BOSUN_METRICS_ADDR", "127.0.0.1:0")
        .env("KUBECONFIG", "/nonexistent/bosun-kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bosun_e2e::bosun_bin().display()))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("bosun run neither refused its flags nor failed to connect".into());
            }
        }
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    // clap's usage errors exit 2; a run that got past its flags fails to connect, exit 1.
    match status.code() {
        Some(2) => Err(stderr),
        Some(1) if stderr.contains("connecting to the API server") => Ok(()),
        other => Err(format!("bosun run exited {other:?}: {stderr}")),
    }
}

/// Issue 14: a leaseDuration the schema accepts is one `bosun run` accepts, passed unchanged;
/// one it refuses is refused by helm naming the key, not by a crash-looping Pod.
#[test]
fn lease_duration_as_go_writes_it_renders_unchanged_and_bosun_run_accepts_it() {
    for value in [
        "1m30s",
        "15s",
        "3s",
        "3000ms",
        "1.5m",
        "1s1s1s",
        "1h",
        "0.05m",
        "3000000000ns",
        "3000000µs",
        "2s999ms1000us",
    ] {
        let rendered = rendered_lease_duration(value)
            .unwrap_or_else(|e| panic!("leaseDuration={value} refused: {e}"));
        assert_eq!(rendered, value, "the chart passes the duration unchanged");
        if let Err(e) = bosun_run_accepts_lease_duration(&rendered) {
            panic!("bosun run refuses the rendered BOSUN_LEASE_DURATION={rendered}: {e}");
        }
    }
}

/// (By `helm template` and so `helm install`; `helm lint` reports a template's `fail` as [INFO]
/// only, so the schema test above, which also lints, cannot hold these.)
#[test]
fn lease_duration_too_short_or_not_go_s_is_refused_by_helm_naming_the_key() {
    // (value, what helm's message must hold): under 3s by the templates, malformed by the schema.
    let cases = [
        (
            "1s",
            "controller.leaderElection.leaseDuration: \"1s\" is shorter than 3s",
        ),
        (
            "2999ms",
            "controller.leaderElection.leaseDuration: \"2999ms\" is shorter than 3s",
        ),
        (
            "0",
            "controller.leaderElection.leaseDuration: \"0\" is shorter than 3s",
        ),
        ("1s1s", "is shorter than 3s"),
        ("2999999999ns", "is shorter than 3s"),
        ("2999999μs", "is shorter than 3s"),
        // 2999999999ns for Go and bosun, though 3.0 as one float64.
        ("2.9999999999999999s", "is shorter than 3s"),
        ("596523h14m8s", "is longer than 2147483647s"),
        ("5x", "/controller/leaderElection/leaseDuration"),
        ("15", "/controller/leaderElection/leaseDuration"),
        ("-15s", "/controller/leaderElection/leaseDuration"),
        ("1 m", "/controller/leaderElection/leaseDuration"),
    ];
    for (value, wanted) in cases {
        match rendered_lease_duration(value) {
            Ok(r) => panic!("helm template accepted leaseDuration={value} as {r}"),
            Err(text) => assert!(
                text.contains(wanted),
                "leaseDuration={value}: helm's message does not hold {wanted:?}: {text}"
            ),
        }
        // And bosun refuses it too: the two accept the same set.
        match bosun_run_accepts_lease_duration(value) {
            Ok(()) => panic!("bosun run accepts BOSUN_LEASE_DURATION={value}, the chart not"),
            Err(e) => assert!(
                e.contains("--lease-duration"),
                "{value}: bosun run's refusal does not name the flag: {e}"
            ),
        }
    }
}

#[test]
fn chart_crds_are_the_crds_directory_with_a_keep_policy() {
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    for name in CRDS {
        let docs = read_yaml(&format!("crds/{name}.yaml")).expect("crds/ reads");
        assert_eq!(docs.len(), 1, "crds/{name}.yaml holds one CRD");
        expected.insert(name.to_string(), docs[0].clone());
    }

    let rendered = crds_of(&template("bosun-system", &[]).expect("renders"));
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the chart renders exactly the CRDs of crds/"
    );
    for (name, crd) in &rendered {
        assert_eq!(
            crd["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"}),
            "{name}: crds.keep (default true) keeps it on uninstall"
        );
        assert_eq!(
            crd["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
        let mut stripped = crd.clone();
        bosun_e2e::remove(&mut stripped, "/metadata/labels");
        bosun_e2e::remove(&mut stripped, "/metadata/annotations");
        assert!(
            stripped == expected[name],
            "the chart's {name} differs from crds/{name}.yaml: run `make chart-crds`"
        );
    }

    let not_kept = crds_of(&template("bosun-system", &["crds.keep=false"]).expect("renders"));
    assert_eq!(not_kept.len(), CRDS.len());
    for (name, crd) in not_kept {
        assert!(
            crd["metadata"].get("annotations").is_none(),
            "{name}: crds.keep=false leaves no resource policy"
        );
    }
    let none = crds_of(&template("bosun-system", &["crds.install=false"]).expect("renders"));
    assert!(none.is_empty(), "crds.install=false renders no CRD");
}

#[tokio::test]
async fn rendered_chart_is_accepted_by_the_api_server() -> anyhow::Result<()> {
    let client = client().await?;
    // On a fresh cluster the install test below may be creating the CRDs at this moment, and a
    // dry-run create of one that appears meanwhile is refused (AlreadyExists): install them first,
    // so the dry run checks an update of existing CRDs, as on any cluster bosun was installed on.
    bosun_e2e::ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "chart-dry").await?;
    let chart = chart();
    // What `helm install` creates: the `helm test` hook's Pod names a ServiceAccount that a dry
    // run never creates, so the API server would refuse it here (the in-cluster suite runs the
    // hook for real).
    let out = helm(&[
        "template",
        &ns.name,
        &chart,
        "--namespace",
        &ns.name,
        "--kube-version",
        KUBE_VERSION,
        "--skip-tests",
    ])?;
    anyhow::ensure!(out.code == 0, "helm template: {}", out.stderr);
    let file = std::env::temp_dir().join(format!("{}.yaml", ns.name));
    std::fs::write(&file, &out.stdout)?;
    let applied = kubectl(&[
        "apply",
        "--dry-run=server",
        "-n",
        &ns.name,
        "-f",
        &file.to_string_lossy(),
    ])?;
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        applied.code, 0,
        "the API server refused: {}",
        applied.stderr
    );
    let kinds = [
        "customresourcedefinition.apiextensions.k8s.io/",
        "clusterrole.rbac.authorization.k8s.io/",
        "role.rbac.authorization.k8s.io/",
        "serviceaccount/",
        "deployment.apps/",
        "service/",
        "poddisruptionbudget.policy/",
    ];
    for kind in kinds {
        assert!(
            applied.stdout.contains(kind),
            "no {kind} in the dry run: {}",
            applied.stdout
        );
    }
    // kubectl's own note on objects it did not create (the CRDs, when an earlier test applied
    // them) is no warning about the chart.
    let warnings: Vec<&str> = applied
        .stderr
        .lines()
        .filter(|l| l.contains("Warning") && !l.contains("last-applied-configuration"))
        .collect();
    assert!(warnings.is_empty(), "the API server warned: {warnings:?}");
    Ok(())
}

/// A kubeconfig authenticating as `system:serviceaccount:<ns>:<sa>` with a fresh token, against
/// the tests' cluster.
fn service_account_kubeconfig(ns: &str, sa: &str) -> anyhow::Result<PathBuf> {
    let token = kubectl(&["create", "token", sa, "-n", ns, "--duration", "1h"])?;
    anyhow::ensure!(token.code == 0, "kubectl create token: {}", token.stderr);
    let view = kubectl(&["config", "view", "--raw", "--minify", "-o", "json"])?;
    anyhow::ensure!(view.code == 0, "kubectl config view: {}", view.stderr);
    let current: Value = serde_json::from_str(&view.stdout)?;
    let cluster = current["clusters"][0]["cluster"].clone();
    let mut server = json!({"server": cluster["server"]});
    for key in [
        "certificate-authority-data",
        "certificate-authority",
        "tls-server-name",
    ] {
        if !cluster[key].is_null() {
            server[key] = cluster[key].clone();
        }
    }
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": sa, "user": {"token": token.stdout.trim()}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": sa, "namespace": ns}}],
        "current-context": "sa"
    });
    let path = repo_root().join(format!("target/e2e-logs/{ns}-{sa}.kubeconfig"));
    std::fs::create_dir_all(repo_root().join("target/e2e-logs"))?;
    std::fs::write(&path, serde_json::to_vec_pretty(&config)?)?;
    Ok(path)
}

async fn client_from(path: &PathBuf) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(path)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

fn status_code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> String {
    match r {
        Ok(v) => format!("allowed: {v:?}"),
        Err(kube::Error::Api(e)) => e.code.to_string(),
        Err(e) => format!("not an API error: {e}"),
    }
}

/// The release that owns bosun's CRDs (`namespace/name`), if one that still exists does.
fn live_owner_of_crds(client_crds: &[CustomResourceDefinition]) -> Option<(String, String)> {
    let crd = client_crds.first()?;
    let a = crd.annotations();
    let name = a.get("meta.helm.sh/release-name")?.clone();
    let ns = a.get("meta.helm.sh/release-namespace")?.clone();
    let status = helm(&["status", &name, "-n", &ns]).ok()?;
    (status.code == 0).then_some((ns, name))
}

/// A release of a test, uninstalled when dropped before the test did (a failing test must not
/// leave its ClusterRoles behind).
struct Release {
    name: String,
    namespace: String,
    installed: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.installed {
            let _ = helm(&["uninstall", &self.name, "--namespace", &self.namespace]);
        }
    }
}

/// `helm install` into a namespace of its own; then `bosun run` authenticated as the chart's
/// ServiceAccount reconciles a Deployment (the ClusterRole and the Lease Role are enough), the
/// same token is refused Secrets and apps/v1 Deployments, the DNS server's account reads only
/// DNSRecordSets, and `helm uninstall` keeps the CRDs and the users' objects.
#[tokio::test]
async fn helm_install_gives_the_controllers_enough_rbac_and_no_more() -> anyhow::Result<()> {
    let client = client().await?;
    let ns = TestNamespace::new(&client, "chart").await?;
    let release = ns.name.clone();
    let fullname = format!("{release}-bosun");
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    // The dry-run test applies crds/ too; doing it here first (once per process, under one lock)
    // means no CRD appears between the look below and `helm install`, which would refuse it.
    bosun_e2e::ensure_crds(&client).await?;

    // CRDs that exist already belong either to another live release (CI installs the chart
    // before the suite: leave them to it) or to nobody (earlier tests applied crds/): adopt
    // them into this release, the documented way to bring existing objects under Helm.
    let mut existing = Vec::new();
    for name in CRDS {
        if let Some(crd) = crd_api.get_opt(name).await? {
            existing.push(crd);
        }
    }
    let owner = live_owner_of_crds(&existing);
    let mut sets = vec![];
    if let Some((owner_ns, owner_name)) = &owner {
        eprintln!("the CRDs belong to release {owner_ns}/{owner_name}; installing without them");
        sets.push("crds.install=false".to_string());
    } else {
        for crd in &existing {
            let name = crd.name_any();
            let label = kubectl(&[
                "label",
                "crd",
                &name,
                "--overwrite",
                "app.kubernetes.io/managed-by=Helm",
            ])?;
            anyhow::ensure!(label.code == 0, "labelling {name}: {}", label.stderr);
            let annotate = kubectl(&[
                "annotate",
                "crd",
                &name,
                "--overwrite",
                &format!("meta.helm.sh/release-name={release}"),
                &format!("meta.helm.sh/release-namespace={}", ns.name),
            ])?;
            anyhow::ensure!(annotate.code == 0, "annotating {name}: {}", annotate.stderr);
        }
    }
    if external_controller() {
        // The cluster's own bosun acts; this release's controllers must not compete with it.
        sets.push("controller.replicas=0".into());
        sets.push("dns.replicas=0".into());
    }

    let chart = chart();
    let mut args = vec!["install", &release, &chart, "--namespace", &ns.name];
    for s in &sets {
        args.extend(["--set", s]);
    }
    let installed = helm(&args)?;
    let mut release_guard = Release {
        name: release.clone(),
        namespace: ns.name.clone(),
        installed: true,
    };
    anyhow::ensure!(
        installed.code == 0,
        "helm install: {}{}",
        installed.stdout,
        installed.stderr
    );
    assert!(
        installed.stdout.contains("STATUS: deployed") && installed.stdout.contains("NOTES:"),
        "helm install printed no deployed status and notes: {}",
        installed.stdout
    );
    assert!(
        installed
            .stdout
            .contains(&format!("rollout status deployment/{fullname}-controller")),
        "the NOTES say what to run next: {}",
        installed.stdout
    );

    // The CRDs are installed (by this release, or the one that owns them) and Established.
    let expected_owner = owner
        .as_ref()
        .map(|(_, n)| n.clone())
        .unwrap_or(release.clone());
    for name in CRDS {
        let crd = poll(&format!("CRD {name} Established"), WAIT, || async {
            let crd = crd_api.get(name).await?;
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            Ok(established.then_some(crd))
        })
        .await?;
        let a = crd.annotations();
        assert_eq!(
            a.get("meta.helm.sh/release-name"),
            Some(&expected_owner),
            "{name} belongs to the release"
        );
        assert_eq!(
            a.get("helm.sh/resource-policy").map(String::as_str),
            Some("keep")
        );
        assert!(
            crd.labels().contains_key("helm.sh/chart"),
            "{name} carries the chart's labels: the chart applied it"
        );
    }

    let sa = format!("{fullname}-controller");
    let kubeconfig = service_account_kubeconfig(&ns.name, &sa)?;
    let sa_client = client_from(&kubeconfig).await?;

    // What bosun does not need is refused (403), while the token itself works.
    let secrets: Api<Secret> = Api::namespaced(sa_client.clone(), &ns.name);
    assert_eq!(
        status_code(secrets.list(&ListParams::default()).await),
        "403",
        "the controllers' token must not list Secrets"
    );
    assert_eq!(
        status_code(secrets.get("anything").await),
        "403",
        "the controllers' token must not read a Secret"
    );
    let core_deploys: Api<CoreDeployment> = Api::all(sa_client.clone());
    assert_eq!(
        status_code(core_deploys.list(&ListParams::default()).await),
        "403",
        "the controllers' token must not list apps/v1 Deployments"
    );
    let sa_pods: Api<Pod> = Api::all(sa_client.clone());
    sa_pods
        .list(&ListParams::default().limit(1))
        .await
        .map_err(|e| anyhow::anyhow!("the token must list Pods: {e}"))?;

    // The Lease Role: the chart's Lease in the release's namespace, and no other.
    let lease_name = format!("{fullname}-controller");
    let leases: Api<Lease> = Api::namespaced(sa_client.clone(), &ns.name);
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": lease_name}}))?;
    leases
        .create(&PostParams::default(), &lease)
        .await
        .map_err(|e| anyhow::anyhow!("the token must create the chart's Lease: {e}"))?;
    leases
        .patch(
            &lease_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"bosun.dev/e2e": "true"}}})),
        )
        .await
        .map_err(|e| anyhow::anyhow!("the token must patch the chart's Lease: {e}"))?;
    leases
        .get(&lease_name)
        .await
        .map_err(|e| anyhow::anyhow!("the token must get the chart's Lease: {e}"))?;
    assert_eq!(
        status_code(leases.get("another-lease").await),
        "403",
        "the token must not read other Leases"
    );
    // Another namespace of this test's own, not `default`: were the Role too wide, the Lease
    // created there goes with the namespace.
    let elsewhere = TestNamespace::new(&client, "chart-other").await?;
    let other_leases: Api<Lease> = Api::namespaced(sa_client.clone(), &elsewhere.name);
    assert_eq!(
        status_code(other_leases.create(&PostParams::default(), &lease).await),
        "403",
        "the token must not create Leases outside the release's namespace"
    );

    // The DNS server's account reads DNSRecordSets and nothing else of the controllers'.
    let dns_sa = format!("system:serviceaccount:{}:{fullname}-dns", ns.name);
    for (verb, resource, want) in [
        ("list", "dnsrecordsets.dns.bosun.dev", "yes"),
        ("watch", "dnsrecordsets.dns.bosun.dev", "yes"),
        ("create", "dnsrecordsets.dns.bosun.dev", "no"),
        ("list", "services", "no"),
        ("list", "secrets", "no"),
    ] {
        let out = kubectl(&["auth", "can-i", verb, resource, "--as", &dns_sa, "-A"])?;
        assert_eq!(
            out.stdout.trim(),
            want,
            "can the DNS server {verb} {resource}? {}",
            out.stderr
        );
    }

    // The controllers as the chart's ServiceAccount: only what they need, so a failure to
    // reconcile below means the RBAC falls short. With external controllers (CI), the cluster's
    // bosun already runs as this chart's account and does the work.
    let log_name = "chart-sa";
    let log_path = repo_root().join(format!("target/e2e-logs/{log_name}.log"));
    // The log appends across runs: judge only what this run writes.
    let log_start = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
    let _controller = if external_controller() {
        None
    } else {
        let kc = kubeconfig.to_string_lossy().into_owned();
        let lease = lease_name.clone();
        Some(ControllerProcess::start_with_env(
            log_name,
            &["--controllers", "replicaset,deployment,endpointslice,dns"],
            &[
                ("KUBECONFIG", kc.as_str()),
                // Honoured once `bosun run` elects a leader: the chart's Lease, in the release's
                // namespace, the only one its Role allows.
                ("BOSUN_LEADER_ELECT", "true"),
                ("BOSUN_LEASE_NAME", lease.as_str()),
                ("BOSUN_LEASE_NAMESPACE", ns.name.as_str()),
                ("POD_NAMESPACE", ns.name.as_str()),
                ("POD_NAME", "e2e-chart"),
                ("BOSUN_METRICS_ADDR", "127.0.0.1:0"),
            ],
        )?)
    };

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]}
            }
        }
    }))?;
    deployments.create(&PostParams::default(), &d).await?;
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns.name);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    poll(
        "the Deployment's ReplicaSet and its 3 Pods, and the Deployment's status",
        WAIT,
        || async {
            let rss = replicasets.list(&ListParams::default()).await?.items;
            let Some(rs) = rss.iter().find(|rs| {
                rs.owner_references()
                    .iter()
                    .any(|o| o.kind == "Deployment" && o.name == "web")
            }) else {
                return Ok(None);
            };
            let owned = pods
                .list(&ListParams::default().labels("app=web"))
                .await?
                .items
                .iter()
                .filter(|p| {
                    p.owner_references()
                        .iter()
                        .any(|o| o.uid == rs.uid().unwrap_or_default())
                })
                .count();
            let d = deployments.get("web").await?;
            let status = d.status.unwrap_or_default();
            Ok((owned == 3 && status.replicas == 3).then_some(()))
        },
    )
    .await?;

    // A Service over those pods: the EndpointSlice and DNS controllers' RBAC at work.
    let services: Api<Service> = Api::namespaced(client.clone(), &ns.name);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}
            }))?,
        )
        .await?;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), &ns.name);
    let records: Api<DNSRecordSet> = Api::namespaced(client.clone(), &ns.name);
    poll(
        "bosun EndpointSlices listing the 3 pods and the Service's DNSRecordSet",
        WAIT,
        || async {
            let endpoints: usize = slices
                .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
                .await?
                .items
                .iter()
                .map(|s| s.spec.endpoints.len())
                .sum();
            let set = records.get_opt("web").await?;
            let has_a = set
                .as_ref()
                .is_some_and(|s| s.spec.records.iter().any(|r| r.address.is_some()));
            Ok((endpoints == 3 && has_a).then_some(()))
        },
    )
    .await?;

    if !external_controller() {
        let log = std::fs::read(&log_path)?;
        let log = String::from_utf8_lossy(log.get(log_start as usize..).unwrap_or_default());
        assert!(
            log.contains(&format!("{}/web", ns.name)),
            "the ServiceAccount's controllers did the work: {log}"
        );
        assert!(
            !log.to_lowercase().contains("forbidden"),
            "the controllers were refused something with the chart's RBAC: {log}"
        );
    }

    // helm uninstall removes the release's objects but keeps the CRDs, and with them the
    // users' objects.
    let uninstalled = helm(&["uninstall", &release, "--namespace", &ns.name, "--wait"])?;
    anyhow::ensure!(
        uninstalled.code == 0,
        "helm uninstall: {}",
        uninstalled.stderr
    );
    release_guard.installed = false;
    let _ = std::fs::remove_file(&kubeconfig);
    let roles: Api<ClusterRole> = Api::all(client.clone());
    assert!(
        roles
            .get_opt(&format!("{fullname}-controller"))
            .await?
            .is_none(),
        "helm uninstall removes the release's ClusterRole"
    );
    for name in CRDS {
        assert!(
            crd_api.get_opt(name).await?.is_some(),
            "helm uninstall must keep CRD {name}"
        );
    }
    assert!(
        deployments.get_opt("web").await?.is_some(),
        "the user's Deployment survives helm uninstall"
    );
    Ok(())
}

/// The rendered object of `kind` named `name`.
#[test]
fn cluster_dns_mode_gives_the_dns_service_its_fixed_ip_and_port_53() -> anyhow::Result<()> {
    let docs = template(
        "kube-system",
        &[
            "dns.clusterDNS.enabled=true",
            "dns.clusterDNS.clusterIP=10.96.0.10",
            "dns.service.port=5300",
        ],
    )?;
    let svc = bosun_e2e::rendered(&docs, "Service", "t-bosun-dns").expect("the DNS Service");
    assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
    let ports: Vec<(String, i64, String)> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap_or_default().to_string(),
                p["port"].as_i64().unwrap_or_default(),
                p["targetPort"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            ("UDP".to_string(), 53, "dns".to_string()),
            ("TCP".to_string(), 53, "dns-tcp".to_string())
        ]
    );
    // Without its address the mode refuses to render.
    let out = helm(&[
        "template",
        "t",
        &chart(),
        "--kube-version",
        KUBE_VERSION,
        "--set",
        "dns.clusterDNS.enabled=true",
    ])?;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("dns.clusterDNS.clusterIP"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn dns_server_listens_on_ipv4_and_ipv6_forwards_with_the_nodes_resolver() -> anyhow::Result<()> {
    let docs = template("bosun", &["dns.upstreams={10.0.0.2,10.0.0.3:5300}"])?;
    let dep = bosun_e2e::rendered(&docs, "Deployment", "t-bosun-dns").expect("the DNS Deployment");
    assert_eq!(
        bosun_e2e::container_env(dep, "BOSUN_DNS_LISTEN").as_deref(),
        Some("0.0.0.0:5353,[::]:5353")
    );
    assert_eq!(
        bosun_e2e::container_env(dep, "BOSUN_DNS_UPSTREAM").as_deref(),
        Some("10.0.0.2,10.0.0.3:5300")
    );
    assert_eq!(
        bosun_e2e::container_env(dep, "BOSUN_DNS_LAMEDUCK").as_deref(),
        Some("5s")
    );
    // The cluster's resolver would be this server itself: a loop.
    assert_eq!(dep["spec"]["template"]["spec"]["dnsPolicy"], "Default");
    let docs = template("bosun", &["dns.ipv6=false"])?;
    let dep = bosun_e2e::rendered(&docs, "Deployment", "t-bosun-dns").expect("the DNS Deployment");
    assert_eq!(
        bosun_e2e::container_env(dep, "BOSUN_DNS_LISTEN").as_deref(),
        Some("0.0.0.0:5353")
    );
    assert_eq!(bosun_e2e::container_env(dep, "BOSUN_DNS_UPSTREAM"), None);
    Ok(())
}

#[test]
fn dns_zone_mismatch_or_dns_without_endpointslice_refuses_to_render() -> anyhow::Result<()> {
    let chart = chart();
    let render = |set: &str| {
        helm(&[
            "template",
            "t",
            &chart,
            "--kube-version",
            KUBE_VERSION,
            "--set",
            set,
        ])
    };
    let out = render("controller.dnsZone=other.local")?;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("dns.zone (cluster.local) and controller.dnsZone (other.local) differ"),
        "{}",
        out.stderr
    );
    let out = render("controller.controllers={replicaset,deployment,dns}")?;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("dns without endpointslice"),
        "{}",
        out.stderr
    );
    // The same zone written with a final dot is the same zone.
    assert_eq!(render("controller.dnsZone=cluster.local.")?.code, 0);
    // Without the dns controller, the server's zone is not checked against it.
    let out = render("controller.controllers={replicaset,deployment}")?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    Ok(())
}
