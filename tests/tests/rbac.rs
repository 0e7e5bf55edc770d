//! RBAC for the people who use bosun's kinds: the chart's ClusterRoles labelled
//! `rbac.authorization.k8s.io/aggregate-to-{view,edit,admin}` (`rbac.aggregateToDefaultRoles`)
//! are folded by kube-controller-manager into the built-in `view`, `edit` and `admin`
//! ClusterRoles, so a ServiceAccount bound to `edit` in one namespace creates, scales, patches
//! and deletes bosun Deployments and ReplicaSets there, and nowhere else.
//!
//! The cluster may or may not have the chart installed, so the test applies the roles itself,
//! as `helm template` renders them under a release name of its own (cluster-scoped objects of
//! its own, labelled `bosun.dev/e2e`, deleted when it ends, pass or fail). No `bosun run` is
//! needed: the API server's authorizer is what is tested. The ServiceAccount acts through
//! kubectl's impersonation (`--as=system:serviceaccount:<ns>:<name>`), which the tests'
//! cluster-admin kubeconfig allows.
//!
//! `helm` comes from PATH (`make e2e` puts ~/.cache/bosun/bin first).

use std::collections::BTreeSet;
use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_e2e::{
    E2E_LABEL, MANAGER, Output, TestNamespace, client, ensure_crds, kubectl, poll, repo_root, run,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

/// `helm template` cannot ask a cluster for its version; the version the local cluster runs.
const KUBE_VERSION: &str = "v1.35.4";
/// The chart's template of the aggregated ClusterRoles.
const TEMPLATE: &str = "templates/aggregate-to-default-roles.yaml";
/// The built-in ClusterRoles, each with the label that aggregates into it.
const DEFAULT_ROLES: [&str; 3] = ["view", "edit", "admin"];
/// kube-controller-manager's aggregation controller and the authorizer's informers are quick;
/// a loaded 2-core machine is not.
const WAIT: Duration = Duration::from_secs(60);

/// The chart's ClusterRoles as `helm template <release>` renders them with `--set sets`: of
/// [`TEMPLATE`] only (`--show-only`, which fails when it renders nothing), or of the whole chart.
fn rendered(release: &str, sets: &[&str], show_only: bool) -> anyhow::Result<Vec<ClusterRole>> {
    let chart = repo_root().join("charts/bosun");
    let chart = chart.to_string_lossy();
    let mut args = vec!["template", release, &chart, "--kube-version", KUBE_VERSION];
    if show_only {
        args.extend(["--show-only", TEMPLATE]);
    }
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = run("helm", &args)?;
    anyhow::ensure!(out.code == 0, "helm template: {}", out.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&out.stdout)?;
    docs.into_iter()
        .filter(|d| d["kind"] == "ClusterRole")
        .map(|d| serde_json::from_value::<ClusterRole>(d).map_err(anyhow::Error::from))
        .collect()
}

/// The one of `roles` labelled `aggregate-to-<builtin>: "true"`.
fn aggregating_into<'a>(roles: &'a [ClusterRole], builtin: &str) -> Option<&'a ClusterRole> {
    let label = format!("rbac.authorization.k8s.io/aggregate-to-{builtin}");
    roles
        .iter()
        .find(|r| r.labels().get(&label).map(String::as_str) == Some("true"))
}

fn set_of(v: &Option<Vec<String>>) -> BTreeSet<&str> {
    v.iter().flatten().map(String::as_str).collect()
}

/// Whether `rules` hold `rule` (the aggregation controller copies rules as they are).
fn holds(rules: &[PolicyRule], rule: &PolicyRule) -> bool {
    rules.iter().any(|r| {
        set_of(&r.api_groups) == set_of(&rule.api_groups)
            && set_of(&r.resources) == set_of(&rule.resources)
            && r.verbs.iter().collect::<BTreeSet<_>>() == rule.verbs.iter().collect::<BTreeSet<_>>()
            && r.resource_names.iter().flatten().next().is_none()
    })
}

/// Every (resource, verb) a role grants in `group`.
fn grants(role: &ClusterRole, group: &str) -> BTreeSet<(String, String)> {
    role.rules
        .iter()
        .flatten()
        .filter(|r| set_of(&r.api_groups).contains(group))
        .flat_map(|r| {
            r.resources
                .iter()
                .flatten()
                .flat_map(move |res| r.verbs.iter().map(move |v| (res.clone(), v.clone())))
        })
        .collect()
}

/// Whether `grants` hold `verb` on `resource`.
fn has(grants: &BTreeSet<(String, String)>, resource: &str, verb: &str) -> bool {
    grants.contains(&(resource.to_string(), verb.to_string()))
}

/// Cluster-scoped ClusterRoles of one test, deleted when dropped, pass or fail.
struct TestClusterRoles(Vec<String>);

impl Drop for TestClusterRoles {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = kubectl(&[
                "delete",
                "clusterrole",
                name,
                "--ignore-not-found",
                "--wait=false",
            ]);
        }
    }
}

/// Server-side apply `roles`, each labelled [`E2E_LABEL`]; they go when the guard drops.
async fn apply_roles(client: &Client, roles: &[ClusterRole]) -> anyhow::Result<TestClusterRoles> {
    let api: Api<ClusterRole> = Api::all(client.clone());
    let mut guard = TestClusterRoles(Vec::new());
    for role in roles {
        let mut role = role.clone();
        let name = role.name_any();
        role.labels_mut().insert(E2E_LABEL.into(), "true".into());
        guard.0.push(name.clone());
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&role),
        )
        .await?;
    }
    Ok(guard)
}

/// kubectl as the ServiceAccount `sa` of namespace `sa_ns`, with the groups its token would
/// carry.
fn kubectl_as(sa_ns: &str, sa: &str, args: &[&str]) -> anyhow::Result<Output> {
    let user = format!("--as=system:serviceaccount:{sa_ns}:{sa}");
    let group = format!("--as-group=system:serviceaccounts:{sa_ns}");
    let mut all = vec![
        user.as_str(),
        "--as-group=system:serviceaccounts",
        group.as_str(),
    ];
    all.extend_from_slice(args);
    kubectl(&all)
}

/// `kubectl auth can-i` as the ServiceAccount: `yes` or `no`.
fn can_i(sa_ns: &str, sa: &str, ns: &str, verb: &str, resource: &str) -> anyhow::Result<String> {
    let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let subresource = format!("--subresource={sub}");
    let mut args = vec!["auth", "can-i", verb, resource, "-n", ns];
    if !sub.is_empty() {
        args.push(&subresource);
    }
    let out = kubectl_as(sa_ns, sa, &args)?;
    Ok(out.stdout.trim().to_string())
}

fn ok(out: Output, what: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        out.code == 0,
        "{what} exited {}: {}{}",
        out.code,
        out.stdout,
        out.stderr
    );
    Ok(out.stdout.trim().to_string())
}

/// The chart renders one ClusterRole per built-in role, each with only its own label; view
/// reads, edit and admin also write Deployments, ReplicaSets and their scale, and no role writes
/// a status, an EndpointSlice or a DNSRecordSet. `rbac.aggregateToDefaultRoles=false` renders
/// none.
#[test]
fn chart_renders_one_aggregated_role_per_default_role_and_none_when_off() -> anyhow::Result<()> {
    let roles = rendered("t", &[], false)?;
    let ours: Vec<&ClusterRole> = roles
        .iter()
        .filter(|r| {
            r.labels()
                .keys()
                .any(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
        })
        .collect();
    assert_eq!(ours.len(), 3, "three aggregated roles: {ours:?}");
    let writes = ["create", "update", "patch", "delete", "deletecollection"];
    for builtin in DEFAULT_ROLES {
        let role = aggregating_into(&roles, builtin)
            .ok_or_else(|| anyhow::anyhow!("no role aggregates into {builtin}"))?;
        assert_eq!(role.name_any(), format!("t-bosun-aggregate-to-{builtin}"));
        let aggregate_labels = role
            .labels()
            .keys()
            .filter(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
            .count();
        assert_eq!(aggregate_labels, 1, "{builtin}: {:?}", role.labels());
        let apps = grants(role, "apps.bosun.dev");
        for res in [
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
        ] {
            for verb in ["get", "list", "watch"] {
                assert!(has(&apps, res, verb), "{builtin} {verb} {res}");
            }
        }
        for (group, res) in [
            ("discovery.bosun.dev", "endpointslices"),
            ("dns.bosun.dev", "dnsrecordsets"),
        ] {
            let g = grants(role, group);
            assert!(has(&g, res, "list"), "{builtin} list {res}");
            assert!(
                g.iter()
                    .all(|(_, v)| ["get", "list", "watch"].contains(&v.as_str())),
                "{builtin} must only read {group}: {g:?}"
            );
        }
        for res in [
            "deployments",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
        ] {
            for verb in writes {
                assert_eq!(
                    has(&apps, res, verb),
                    builtin != "view",
                    "{builtin} {verb} {res}"
                );
            }
        }
        for res in ["deployments/status", "replicasets/status"] {
            assert!(
                !apps
                    .iter()
                    .any(|(r, v)| r == res && writes.contains(&v.as_str())),
                "{builtin} writes {res}"
            );
        }
    }
    let off = rendered("t", &["rbac.aggregateToDefaultRoles=false"], false)?;
    for builtin in DEFAULT_ROLES {
        assert!(
            aggregating_into(&off, builtin).is_none(),
            "rbac.aggregateToDefaultRoles=false still aggregates into {builtin}"
        );
    }
    Ok(())
}

/// A ServiceAccount bound to the built-in `edit` in namespace A creates, lists, scales, patches
/// and deletes bosun Deployments and ReplicaSets in A, is refused (Forbidden) all of it in B,
/// and only reads EndpointSlices and DNSRecordSets; one bound to `view` only reads.
#[tokio::test]
async fn edit_in_one_namespace_writes_bosun_deployments_there_and_is_forbidden_elsewhere()
-> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let a = TestNamespace::new(&client, "rbac-a").await?;
    let b = TestNamespace::new(&client, "rbac-b").await?;

    // The chart's roles under this test's own release name: another release's identical rules
    // (the chart installed or uninstalled meanwhile) neither help nor hurt.
    let roles = rendered(&a.name, &[], true)?;
    let _roles = apply_roles(&client, &roles).await?;
    let cluster_roles: Api<ClusterRole> = Api::all(client.clone());
    for builtin in DEFAULT_ROLES {
        let ours = aggregating_into(&roles, builtin)
            .ok_or_else(|| anyhow::anyhow!("the chart renders no role for {builtin}"))?;
        let wanted = ours.rules.clone().unwrap_or_default();
        poll(
            &format!("{}'s rules aggregated into {builtin}", ours.name_any()),
            WAIT,
            || async {
                let live = cluster_roles.get(builtin).await?.rules.unwrap_or_default();
                Ok(wanted.iter().all(|r| holds(&live, r)).then_some(()))
            },
        )
        .await?;
    }

    ok(
        kubectl(&["create", "serviceaccount", "dev", "-n", &a.name])?,
        "create sa dev",
    )?;
    ok(
        kubectl(&["create", "serviceaccount", "viewer", "-n", &a.name])?,
        "create sa viewer",
    )?;
    for (sa, role) in [("dev", "edit"), ("viewer", "view")] {
        let subject = format!("--serviceaccount={}:{sa}", a.name);
        let clusterrole = format!("--clusterrole={role}");
        let out = kubectl(&[
            "create",
            "rolebinding",
            sa,
            &clusterrole,
            &subject,
            "-n",
            &a.name,
        ])?;
        ok(out, &format!("create rolebinding {sa}"))?;
    }
    // The authorizer learns of the binding through its informers.
    poll(
        "dev allowed to scale bosun Deployments in A",
        WAIT,
        || async {
            let answer = can_i(
                &a.name,
                "dev",
                &a.name,
                "patch",
                "deployments.apps.bosun.dev/scale",
            )?;
            Ok((answer == "yes").then_some(()))
        },
    )
    .await?;

    // What `edit` and `view` allow, asked of the API server, in A and in B.
    let cases = [
        ("create", "deployments.apps.bosun.dev", "yes", "no"),
        ("delete", "replicasets.apps.bosun.dev", "yes", "no"),
        ("update", "replicasets.apps.bosun.dev/scale", "yes", "no"),
        ("patch", "deployments.apps.bosun.dev/status", "no", "no"),
        ("list", "endpointslices.discovery.bosun.dev", "yes", "yes"),
        ("create", "endpointslices.discovery.bosun.dev", "no", "no"),
        ("watch", "dnsrecordsets.dns.bosun.dev", "yes", "yes"),
        ("patch", "dnsrecordsets.dns.bosun.dev", "no", "no"),
    ];
    for (verb, resource, dev, viewer) in cases {
        assert_eq!(
            can_i(&a.name, "dev", &a.name, verb, resource)?,
            dev,
            "edit: {verb} {resource}"
        );
        assert_eq!(
            can_i(&a.name, "viewer", &a.name, verb, resource)?,
            viewer,
            "view: {verb} {resource}"
        );
        assert_eq!(
            can_i(&a.name, "dev", &b.name, verb, resource)?,
            "no",
            "edit in B: {verb} {resource}"
        );
    }

    // In A, through kubectl as the ServiceAccount.
    let deployment = repo_root().join("manifests/deployment.yaml");
    let deployment = deployment.to_string_lossy();
    let replicaset = repo_root().join("manifests/replicaset.yaml");
    let replicaset = replicaset.to_string_lossy();
    let dev = |args: &[&str]| kubectl_as(&a.name, "dev", args);
    let created = ok(
        dev(&[
            "create",
            "-n",
            &a.name,
            "-f",
            &deployment,
            "-f",
            &replicaset,
        ])?,
        "create",
    )?;
    assert_eq!(
        created,
        "deployment.apps.bosun.dev/web created\nreplicaset.apps.bosun.dev/frontend created"
    );
    let listed = ok(
        dev(&["get", "bdeploy,brs", "-n", &a.name, "-o", "name"])?,
        "get",
    )?;
    assert_eq!(
        listed,
        "deployment.apps.bosun.dev/web\nreplicaset.apps.bosun.dev/frontend"
    );
    let scaled = ok(
        dev(&["scale", "-n", &a.name, "bdeploy/web", "--replicas=5"])?,
        "scale",
    )?;
    assert_eq!(scaled, "deployment.apps.bosun.dev/web scaled");
    let scaled = ok(
        dev(&["scale", "-n", &a.name, "brs/frontend", "--replicas=1"])?,
        "scale",
    )?;
    assert_eq!(scaled, "replicaset.apps.bosun.dev/frontend scaled");
    let patched = ok(
        dev(&[
            "patch",
            "-n",
            &a.name,
            "bdeploy/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"paused":true}}"#,
        ])?,
        "patch",
    )?;
    assert_eq!(patched, "deployment.apps.bosun.dev/web patched");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &a.name);
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &a.name);
    let web = deployments.get("web").await?;
    assert_eq!(web.spec.replicas, Some(5));
    assert_eq!(web.spec.paused, Some(true));
    assert_eq!(replicasets.get("frontend").await?.spec.replicas, Some(1));
    let deleted = ok(
        dev(&[
            "delete",
            "-n",
            &a.name,
            "bdeploy/web",
            "brs/frontend",
            "--wait=false",
        ])?,
        "delete",
    )?;
    assert_eq!(
        deleted,
        format!(
            "deployment.apps.bosun.dev \"web\" deleted from {0} namespace\n\
             replicaset.apps.bosun.dev \"frontend\" deleted from {0} namespace",
            a.name
        )
    );
    poll("web and frontend gone from A", WAIT, || async {
        let gone = deployments.get_opt("web").await?.is_none()
            && replicasets.get_opt("frontend").await?.is_none();
        Ok(gone.then_some(()))
    })
    .await?;

    // In B the same ServiceAccount is refused everything, and B's Deployment stays as it was.
    ok(
        kubectl(&["create", "-n", &b.name, "-f", &deployment])?,
        "create web in B",
    )?;
    let refused = [
        vec!["create", "-n", &b.name, "-f", &deployment],
        vec!["get", "-n", &b.name, "bdeploy/web"],
        vec!["scale", "-n", &b.name, "bdeploy/web", "--replicas=5"],
        vec![
            "patch",
            "-n",
            &b.name,
            "bdeploy/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"paused":true}}"#,
        ],
        vec!["delete", "-n", &b.name, "bdeploy/web", "--wait=false"],
    ];
    let user = format!("User \"system:serviceaccount:{}:dev\" cannot", a.name);
    let place = format!(
        "in API group \"apps.bosun.dev\" in the namespace \"{}\"",
        b.name
    );
    for args in refused {
        let out = dev(&args)?;
        assert_ne!(
            out.code, 0,
            "kubectl {args:?} in B was allowed: {}",
            out.stdout
        );
        assert!(
            out.stderr.contains("Error from server (Forbidden)")
                && out.stderr.contains(&user)
                && out.stderr.contains(&place),
            "kubectl {args:?} in B: {}",
            out.stderr
        );
    }
    let web_b = Api::<Deployment>::namespaced(client.clone(), &b.name)
        .get("web")
        .await?;
    assert_eq!(web_b.spec.replicas, Some(3));
    assert_eq!(web_b.spec.paused, None);
    Ok(())
}
