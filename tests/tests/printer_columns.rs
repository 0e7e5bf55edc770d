//! `kubectl get` prints the same cells for bosun's kinds as for their built-in twins.
//!
//! One namespace holds the same Deployment twice, as apps/v1 (run by kube-controller-manager)
//! and as apps.bosun.dev/v1 (run by bosun), with two containers, behind a Service with three
//! ports that both EndpointSlice controllers serve. Once both sides have converged, every cell
//! but AGE must be equal, `-o wide` included: a JSONPath printer column prints only its first
//! match, so a column over a list (every container, port or address) shows what the built-in
//! one shows only if bosun writes the joined cell (`bosun_core::printers`).

use std::collections::BTreeSet;
use std::time::Duration;

use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, kubectl, poll};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const REPLICAS: usize = 3;

/// The rows of `kubectl get` output as cells, cut at the header's column starts (a cell such as
/// `10.0.0.1,10.0.0.2,10.0.0.3 + 3 more...` holds spaces).
fn table(out: &str) -> Vec<Vec<String>> {
    let mut lines = out.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let mut starts = Vec::new();
    let mut prev = ' ';
    for (i, c) in header.char_indices() {
        if c != ' ' && prev == ' ' {
            starts.push(i);
        }
        prev = c;
    }
    std::iter::once(header)
        .chain(lines)
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(k, &s)| {
                    let end = starts.get(k + 1).copied().unwrap_or(line.len());
                    line.get(s.min(line.len())..end.min(line.len()))
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                })
                .collect()
        })
        .collect()
}

/// `kubectl get` in the namespace, as a table; AGE dropped (the twins are created a moment
/// apart).
fn get(ns: &str, args: &[&str]) -> anyhow::Result<Vec<Vec<String>>> {
    let mut full = vec!["get", "-n", ns];
    full.extend_from_slice(args);
    let out = kubectl(&full)?;
    anyhow::ensure!(
        out.code == 0,
        "kubectl {} exited {}: {}",
        full.join(" "),
        out.code,
        out.stderr
    );
    let rows = table(&out.stdout);
    let age = rows.first().and_then(|h| h.iter().position(|c| c == "AGE"));
    Ok(rows
        .into_iter()
        .map(|mut r| {
            if let Some(i) = age {
                r.remove(i);
            }
            r
        })
        .collect())
}

/// A ReplicaSet's rows with its `pod-template-hash` (its name's last part) written `HASH`: the
/// hash is FNV-1a over Go's spew dump of the template, which bosun does not reproduce (see
/// upstream-inventory), so only the cells around it can match.
fn without_hash(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let hash = rows
        .get(1)
        .and_then(|r| r.first())
        .and_then(|name| name.rsplit_once('-'))
        .map(|(_, h)| h.to_string());
    match hash {
        Some(h) if rows[0].first().is_some_and(|c| c == "NAME") => rows
            .into_iter()
            .map(|r| r.into_iter().map(|c| c.replace(&h, "HASH")).collect())
            .collect(),
        _ => rows,
    }
}

fn workload(api_version: &str) -> Value {
    json!({
        "apiVersion": api_version, "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": "web", "tier": "front"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.27"},
                    {"name": "sidecar", "image": "busybox:1.37"},
                ]},
            },
        },
    })
}

/// An ENDPOINTS cell in a form that does not depend on the order the controller listed the
/// addresses in (upstream's is its informer's): the addresses when all are listed, else how
/// many are listed and the `+ N more...` tail, with every listed one among `all`.
fn endpoints_cell(cell: &str, all: &BTreeSet<String>) -> anyhow::Result<String> {
    let (listed, more) = cell.split_once(" + ").unwrap_or((cell, ""));
    let listed: BTreeSet<&str> = listed.split(',').collect();
    for a in &listed {
        anyhow::ensure!(all.contains(*a), "{a} in {cell:?} is no Pod's address");
    }
    Ok(if more.is_empty() {
        listed.into_iter().collect::<Vec<_>>().join(",")
    } else {
        format!("{} listed + {more}", listed.len())
    })
}

#[tokio::test]
async fn kubectl_get_prints_what_it_prints_for_the_builtin_twins() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("printer-columns")?;
    let ns = TestNamespace::new(&client, "twins").await?;
    let n = ns.name.as_str();

    for (group, version, plural) in [
        ("apps", "v1", "deployments"),
        ("apps.bosun.dev", "v1", "deployments"),
    ] {
        let gvk = GroupVersionKind::gvk(group, version, "Deployment");
        let api: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            n,
            &ApiResource::from_gvk_with_plural(&gvk, plural),
        );
        let obj: DynamicObject = serde_json::from_value(workload(&gvk.api_version()))?;
        api.create(&PostParams::default(), &obj).await?;
    }
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(client.clone(), n);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [
                    {"name": "http", "port": 80, "targetPort": 8080},
                    {"name": "metrics", "port": 9090},
                    {"name": "dns", "port": 53, "protocol": "UDP"},
                ]},
            }))?,
        )
        .await?;

    // The Deployments and their ReplicaSets: equal row for row once both report every replica
    // ready (the built-in READY cell is `3/3`, bosun's must be too).
    let ready = format!("{REPLICAS}/{REPLICAS}");
    for (builtin, ours, ready_col) in [
        ("deployments.apps", "deployments.apps.bosun.dev", Some(1)),
        ("replicasets.apps", "replicasets.apps.bosun.dev", None),
    ] {
        for wide in [false, true] {
            let extra: &[&str] = if wide { &["-o", "wide"] } else { &[] };
            let (a, b) = poll(&format!("{ours} printed as {builtin}"), WAIT, || async {
                let a = without_hash(get(n, &[&[builtin][..], extra].concat())?);
                let b = without_hash(get(n, &[&[ours][..], extra].concat())?);
                let settled = |rows: &[Vec<String>]| match ready_col {
                    Some(i) => rows.len() == 2 && rows[1].get(i) == Some(&ready),
                    None => rows.len() == 2 && rows[1].get(3) == Some(&REPLICAS.to_string()),
                };
                Ok((settled(&a) && settled(&b) && a == b).then_some((a, b)))
            })
            .await
            .map_err(|e| {
                let a = get(n, &[&[builtin][..], extra].concat());
                let b = get(n, &[&[ours][..], extra].concat());
                e.context(format!("built-in {a:?}\nbosun    {b:?}"))
            })?;
            assert_eq!(a, b);
            if wide {
                let header = &a[0];
                let at = |name: &str| header.iter().position(|c| c == name);
                let row = &a[1];
                assert_eq!(
                    at("CONTAINERS").map(|i| row[i].as_str()),
                    Some("nginx,sidecar")
                );
                assert_eq!(
                    at("IMAGES").map(|i| row[i].as_str()),
                    Some("nginx:1.27,busybox:1.37")
                );
            }
        }
    }

    // The slices: both controllers list the six Pods' addresses (three shown, `+ 3 more...`)
    // and the three ports in upstream's order (by hash, not the Service's).
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), n);
    let addresses: BTreeSet<String> = pods
        .list(&Default::default())
        .await?
        .into_iter()
        .filter_map(|p| p.status.and_then(|s| s.pod_ip))
        .collect();
    assert_eq!(addresses.len(), 2 * REPLICAS, "{addresses:?}");
    let selector = "kubernetes.io/service-name=web";
    let (a, b) = poll("bosun's slices printed as the built-in ones", WAIT, || {
        let addresses = &addresses;
        async move {
            let mut rows = Vec::new();
            for kind in [
                "endpointslices.discovery.k8s.io",
                "endpointslices.discovery.bosun.dev",
            ] {
                let t = get(n, &[kind, "-l", selector])?;
                if t.len() != 2 {
                    return Ok(None);
                }
                let h = &t[0];
                let at = |name: &str| h.iter().position(|c| c == name).unwrap_or(usize::MAX);
                let row = &t[1];
                let cell = |name: &str| row.get(at(name)).cloned().unwrap_or_default();
                let endpoints = match endpoints_cell(&cell("ENDPOINTS"), addresses) {
                    Ok(e) => e,
                    Err(_) => return Ok(None),
                };
                rows.push((
                    h[1..].to_vec(),
                    cell("ADDRESSTYPE"),
                    cell("PORTS"),
                    endpoints,
                ));
            }
            let want_more = format!("3 listed + {} more...", 2 * REPLICAS - 3);
            Ok((rows[0] == rows[1] && rows[0].3 == want_more)
                .then(|| (rows[0].clone(), rows[1].clone())))
        }
    })
    .await
    .map_err(|e| {
        let a = get(n, &["endpointslices.discovery.k8s.io", "-l", selector]);
        let b = get(n, &["endpointslices.discovery.bosun.dev", "-l", selector]);
        e.context(format!(
            "built-in {a:?}\nbosun    {b:?}\nPod IPs {addresses:?}"
        ))
    })?;
    assert_eq!(a, b);
    assert_eq!(
        a.2, "8080,53,9090",
        "upstream's order: by each port's deep hash"
    );
    Ok(())
}
