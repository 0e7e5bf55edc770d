//! The chart's knobs for operators (issue 20): `image.digest`, `logLevel`, `extraArgs`,
//! `extraVolumes`/`extraVolumeMounts`, `topologySpreadConstraints`, `networkPolicy.enabled`,
//! ServiceMonitor relabelings, the PrometheusRule and the Grafana dashboard. Rendered with
//! `helm template` (no cluster needed); the schema's refusals checked with `helm lint`. That
//! bosun accepts every log level the schema accepts, and that the alerts and the dashboard
//! name metrics bosun exports, are unit tests of the binary (main.rs, runtime/metrics.rs).

use bosun_e2e::{repo_root, run};
use serde_json::Value;

const KUBE_VERSION: &str = "v1.35.4";

/// `helm template` with `--set-json` values, parsed.
fn render(values: &[&str]) -> anyhow::Result<Vec<Value>> {
    let chart = repo_root().join("charts/bosun").display().to_string();
    let mut args = vec![
        "template",
        "t",
        &chart,
        "--namespace",
        "ops",
        "--kube-version",
        KUBE_VERSION,
    ];
    for v in values {
        args.extend(["--set-json", v]);
    }
    let out = run("helm", &args)?;
    anyhow::ensure!(out.code == 0, "helm template failed: {}", out.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&out.stdout)?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// `helm lint` with one `--set-json` value: its output when it fails.
fn refused(value: &str) -> anyhow::Result<Option<String>> {
    let chart = repo_root().join("charts/bosun").display().to_string();
    let out = run("helm", &["lint", &chart, "--set-json", value])?;
    Ok((out.code != 0).then(|| format!("{}{}", out.stdout, out.stderr)))
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> anyhow::Result<&'a Value> {
    bosun_e2e::rendered(docs, kind, name)
        .ok_or_else(|| anyhow::anyhow!("no {kind} {name} rendered"))
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn an_image_digest_pins_both_components_and_a_malformed_one_is_refused() -> anyhow::Result<()> {
    let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
    let docs = render(&[&format!("image={{\"digest\":\"{digest}\"}}")])?;
    for d in ["t-bosun-controller", "t-bosun-dns"] {
        assert_eq!(
            container(find(&docs, "Deployment", d)?)["image"],
            format!("ghcr.io/bosun-dev/bosun@{digest}")
        );
    }
    // Without one, the tag (the appVersion by default).
    let docs = render(&[])?;
    let image = container(find(&docs, "Deployment", "t-bosun-dns")?)["image"].clone();
    assert!(
        image
            .as_str()
            .is_some_and(|i| i.starts_with("ghcr.io/bosun-dev/bosun:")),
        "{image}"
    );
    let out = refused("image={\"digest\":\"sha256:xyz\"}")?.expect("refused");
    assert!(out.contains("/image/digest"), "{out}");
    Ok(())
}

#[test]
fn log_level_reaches_both_components_and_only_known_levels_pass() -> anyhow::Result<()> {
    let docs = render(&["logLevel=\"debug\""])?;
    assert_eq!(
        bosun_e2e::container_env(
            find(&docs, "Deployment", "t-bosun-controller")?,
            "BOSUN_LOG"
        )
        .as_deref(),
        Some("debug")
    );
    assert_eq!(
        bosun_e2e::container_env(find(&docs, "Deployment", "t-bosun-dns")?, "BOSUN_LOG").as_deref(),
        Some("debug")
    );
    // At info the DNS server keeps hickory's per-query lines off, as bosun dns's default.
    let docs = render(&[])?;
    assert_eq!(
        bosun_e2e::container_env(
            find(&docs, "Deployment", "t-bosun-controller")?,
            "BOSUN_LOG"
        )
        .as_deref(),
        Some("info")
    );
    assert_eq!(
        bosun_e2e::container_env(find(&docs, "Deployment", "t-bosun-dns")?, "BOSUN_LOG").as_deref(),
        Some("info,hickory_server=warn,hickory_net=warn,hickory_resolver=warn")
    );
    let out = refused("logLevel=\"loud\"")?.expect("refused");
    assert!(out.contains("logLevel"), "{out}");
    Ok(())
}

#[test]
fn extra_args_volumes_and_spread_reach_the_component_they_are_set_on() -> anyhow::Result<()> {
    let docs = render(&[
        "controller.extraArgs=[\"--kube-api-qps=50\"]",
        "dns.extraArgs=[\"--cache-min-ttl=1\"]",
        "dns.extraVolumes=[{\"name\":\"zones\",\"configMap\":{\"name\":\"zones\"}}]",
        "dns.extraVolumeMounts=[{\"name\":\"zones\",\"mountPath\":\"/etc/zones\"}]",
        "controller.topologySpreadConstraints=[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\"}]",
    ])?;
    let controller = find(&docs, "Deployment", "t-bosun-controller")?;
    let dns = find(&docs, "Deployment", "t-bosun-dns")?;
    assert_eq!(
        container(controller)["args"],
        serde_json::json!(["run", "--kube-api-qps=50"])
    );
    assert_eq!(
        container(dns)["args"],
        serde_json::json!(["dns", "--cache-min-ttl=1"])
    );
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(&dns["spec"]["template"]["spec"]["volumes"]),
        ["tmp", "zones"]
    );
    assert_eq!(names(&container(dns)["volumeMounts"]), ["tmp", "zones"]);
    assert_eq!(
        names(&controller["spec"]["template"]["spec"]["volumes"]),
        ["tmp"]
    );
    assert_eq!(
        controller["spec"]["template"]["spec"]["topologySpreadConstraints"][0]["topologyKey"],
        "topology.kubernetes.io/zone"
    );
    assert!(dns["spec"]["template"]["spec"]["topologySpreadConstraints"].is_null());
    // A spread constraint without its required fields is refused by the schema.
    let out = refused("dns.topologySpreadConstraints=[{\"maxSkew\":1}]")?.expect("refused");
    assert!(out.contains("topologySpreadConstraints"), "{out}");
    Ok(())
}

#[test]
fn network_policies_admit_only_the_dns_and_metrics_ports() -> anyhow::Result<()> {
    assert!(
        !render(&[])?.iter().any(|d| d["kind"] == "NetworkPolicy"),
        "off by default"
    );
    let docs = render(&["networkPolicy={\"enabled\":true}"])?;
    let ports = |name: &str| -> anyhow::Result<Vec<(String, i64)>> {
        let p = find(&docs, "NetworkPolicy", name)?;
        assert_eq!(p["spec"]["policyTypes"], serde_json::json!(["Ingress"]));
        Ok(p["spec"]["ingress"][0]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                (
                    x["protocol"].as_str().unwrap_or_default().to_string(),
                    x["port"].as_i64().unwrap_or_default(),
                )
            })
            .collect())
    };
    assert_eq!(ports("t-bosun-controller")?, [("TCP".to_string(), 8080)]);
    assert_eq!(
        ports("t-bosun-dns")?,
        [
            ("UDP".to_string(), 5353),
            ("TCP".to_string(), 5353),
            ("TCP".to_string(), 8081)
        ]
    );
    let selector =
        &find(&docs, "NetworkPolicy", "t-bosun-dns")?["spec"]["podSelector"]["matchLabels"];
    assert_eq!(selector["app.kubernetes.io/component"], "dns");
    Ok(())
}

#[test]
fn monitoring_relabelings_alerts_and_dashboard_render_when_asked() -> anyhow::Result<()> {
    let docs = render(&[])?;
    for kind in ["ServiceMonitor", "PrometheusRule", "ConfigMap"] {
        assert!(
            !docs.iter().any(|d| d["kind"] == kind),
            "no {kind} by default"
        );
    }
    let docs = render(&[
        "metrics.serviceMonitor={\"enabled\":true,\"relabelings\":[{\"targetLabel\":\"cluster\",\"replacement\":\"prod\"}],\"metricRelabelings\":[{\"action\":\"drop\",\"sourceLabels\":[\"__name__\"],\"regex\":\"bosun_dns_names\"}]}",
        "metrics.prometheusRule={\"enabled\":true,\"labels\":{\"release\":\"kps\"}}",
        "metrics.grafanaDashboard={\"enabled\":true}",
    ])?;
    let sm = find(&docs, "ServiceMonitor", "t-bosun")?;
    assert_eq!(
        sm["spec"]["endpoints"][0]["relabelings"][0]["targetLabel"],
        "cluster"
    );
    assert_eq!(
        sm["spec"]["endpoints"][0]["metricRelabelings"][0]["action"],
        "drop"
    );
    let rule = find(&docs, "PrometheusRule", "t-bosun")?;
    assert_eq!(rule["metadata"]["labels"]["release"], "kps");
    let alerts: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["alert"].as_str())
        .collect();
    assert_eq!(
        alerts,
        [
            "BosunControllerDown",
            "BosunReconcileErrors",
            "BosunDNSServfailRate"
        ]
    );
    // The alert's own template stays for Prometheus to fill.
    let summary = rule["spec"]["groups"][0]["rules"][1]["annotations"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(summary.contains("{{ $labels.controller }}"), "{summary}");
    let cm = find(&docs, "ConfigMap", "t-bosun-dashboard")?;
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    let dashboard: Value =
        serde_json::from_str(cm["data"]["bosun.json"].as_str().unwrap_or("null"))?;
    assert_eq!(dashboard["uid"], "bosun");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 8));
    // Without a DNS server, no DNS alert.
    let docs = render(&[
        "metrics.prometheusRule={\"enabled\":true}",
        "dns={\"enabled\":false}",
        "controller={\"controllers\":[\"replicaset\",\"deployment\",\"endpointslice\"]}",
    ])?;
    let rules = find(&docs, "PrometheusRule", "t-bosun")?["spec"]["groups"][0]["rules"].clone();
    assert_eq!(rules.as_array().map(Vec::len), Some(2));
    Ok(())
}

#[test]
fn the_uninstall_check_renders_only_when_uninstall_would_delete_the_crds() -> anyhow::Result<()> {
    let jobs = |values: &[&str]| -> anyhow::Result<Vec<Value>> {
        Ok(render(values)?
            .into_iter()
            .filter(|d| d["kind"] == "Job")
            .collect())
    };
    // Kept CRDs (the default), CRDs the release does not install, or the loss accepted: no hook.
    assert!(jobs(&[])?.is_empty());
    assert!(jobs(&["crds={\"keep\":false,\"install\":false}"])?.is_empty());
    assert!(jobs(&["crds={\"keep\":false,\"deleteWithObjects\":true}"])?.is_empty());
    let docs = render(&["crds={\"keep\":false}"])?;
    let job = find(&docs, "Job", "t-bosun-uninstall-check")?;
    assert_eq!(job["metadata"]["annotations"]["helm.sh/hook"], "pre-delete");
    assert_eq!(
        container(job)["args"],
        serde_json::json!(["uninstall-check"])
    );
    // Its ClusterRole lists bosun's Deployments and ReplicaSets, and nothing else.
    let role = find(&docs, "ClusterRole", "t-bosun-uninstall-check")?;
    assert_eq!(
        role["rules"],
        serde_json::json!([{"apiGroups": ["apps.bosun.dev"],
                            "resources": ["deployments", "replicasets"], "verbs": ["list"]}])
    );
    Ok(())
}
