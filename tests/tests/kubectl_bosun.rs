//! `kubectl bosun create deployment | set image | expose | describe` against the real cluster:
//! the objects they write, what they print, their errors and exit codes, and the global flags
//! (`-n`, `--context`, `--kubeconfig`, `KUBECONFIG`) and `--help` of every verb.

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_e2e::{
    TestNamespace, client, ensure_controller, ensure_crds, kubectl, kubectl_bosun, poll, repo_root,
};
use k8s_openapi::api::core::v1::Service;
use kube::api::Api;
use serde_json::{Value, json};
use std::time::Duration;

fn ok(args: &[&str]) -> anyhow::Result<String> {
    let out = kubectl_bosun(args)?;
    anyhow::ensure!(
        out.code == 0,
        "kubectl bosun {} exited {}: {}",
        args.join(" "),
        out.code,
        out.stderr
    );
    Ok(out.stdout)
}

fn service_spec(svc: &Service) -> Value {
    let spec = serde_json::to_value(svc.spec.clone().unwrap_or_default()).unwrap_or_default();
    json!({"selector": spec["selector"], "ports": spec["ports"], "type": spec["type"]})
}

#[tokio::test]
async fn create_deployment_makes_upstreams_object_and_rolls_out() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("kubectl-bosun")?;
    let ns = TestNamespace::new(&client, "create-deploy").await?;
    let n = ns.name.as_str();
    let out = ok(&[
        "create",
        "deployment",
        "web",
        "--image=registry.example/team/web:1.2",
        "--replicas=3",
        "--port=8080",
        "-n",
        n,
    ])?;
    assert_eq!(out, "deployment.apps.bosun.dev/web created\n");
    let api: Api<Deployment> = Api::namespaced(client.clone(), n);
    let d = api.get("web").await?;
    let mut spec = serde_json::to_value(&d.spec)?;
    // The CRD's defaults are the API server's business; the generator's fields are these.
    let spec = json!({
        "replicas": spec["replicas"].take(),
        "selector": spec["selector"].take(),
        "template": spec["template"].take(),
        "strategy": spec["strategy"].take(),
    });
    assert_eq!(
        spec,
        json!({
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "web", "image": "registry.example/team/web:1.2", "resources": {},
                 "ports": [{"containerPort": 8080}]}]}},
            // Left out on create, so the CRD defaults the whole strategy as apps/v1 does.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        })
    );
    assert_eq!(
        d.metadata.labels,
        Some([("app".to_string(), "web".to_string())].into())
    );
    let out = ok(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    assert!(
        out.ends_with("deployment \"web\" successfully rolled out\n"),
        "{out}"
    );

    // Again: upstream's wrapped error, exit code 1.
    let out = kubectl_bosun(&["create", "deployment", "web", "--image=x", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: failed to create deployment: deployments.apps.bosun.dev \"web\" already exists\n"
    );
    // A client dry run writes nothing.
    let out = ok(&[
        "create",
        "deployment",
        "dry",
        "--image=busybox",
        "-n",
        n,
        "--dry-run=client",
        "-o",
        "yaml",
    ])?;
    assert!(
        out.starts_with("apiVersion: apps.bosun.dev/v1\nkind: Deployment\n"),
        "{out}"
    );
    assert!(out.contains(&format!("  namespace: {n}\n")), "{out}");
    assert!(api.get_opt("dry").await?.is_none());
    // A server dry run is sent and not stored.
    let out = ok(&[
        "create",
        "deployment",
        "dry",
        "--image=busybox",
        "-n",
        n,
        "--dry-run=server",
    ])?;
    assert_eq!(
        out,
        "deployment.apps.bosun.dev/dry created (server dry run)\n"
    );
    assert!(api.get_opt("dry").await?.is_none());
    // The command after `--`, and the required --image.
    ok(&[
        "create",
        "deployment",
        "cmd",
        "--image=busybox",
        "-n",
        n,
        "--",
        "sleep",
        "3600",
    ])?;
    let cmd = api.get("cmd").await?;
    let c = &cmd
        .spec
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default()[0];
    assert_eq!(
        c.command.as_deref(),
        Some(&["sleep".to_string(), "3600".to_string()][..])
    );
    let out = kubectl_bosun(&["create", "deployment", "noimage", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "error: required flag(s) \"image\" not set\n")
    );
    Ok(())
}

#[tokio::test]
async fn set_image_updates_containers_and_refuses_unknown_ones() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("kubectl-bosun")?;
    let ns = TestNamespace::new(&client, "set-image").await?;
    let n = ns.name.as_str();
    ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--image=redis:7",
        "-n",
        n,
    ])?;
    let out = ok(&[
        "set",
        "image",
        "deploy/web",
        "nginx=nginx:1.28",
        "redis=redis:8",
        "-n",
        n,
    ])?;
    assert_eq!(out, "deployment.apps.bosun.dev/web image updated\n");
    let api: Api<Deployment> = Api::namespaced(client.clone(), n);
    let images = |d: &Deployment| -> Vec<String> {
        d.spec
            .template
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .filter_map(|c| c.image.clone())
            .collect()
    };
    assert_eq!(images(&api.get("web").await?), ["nginx:1.28", "redis:8"]);

    // The same image again: nothing to change, nothing printed (upstream skips an empty patch).
    let out = ok(&[
        "set",
        "image",
        "deployment",
        "web",
        "nginx=nginx:1.28",
        "-n",
        n,
    ])?;
    assert_eq!(out, "");

    let out = kubectl_bosun(&["set", "image", "deploy/web", "nope=x:1", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "error: unable to find container named \"nope\"\n"
    );
    assert_eq!(images(&api.get("web").await?), ["nginx:1.28", "redis:8"]);

    let out = kubectl_bosun(&["set", "image", "deploy/missing", "nginx=x:1", "-n", n])?;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): deployments.apps.bosun.dev \"missing\" not found\n"
    );

    // On a ReplicaSet too, and `*` for every container.
    let rs_path = repo_root().join("manifests/replicaset.yaml");
    let applied = kubectl(&["apply", "-n", n, "-f", &rs_path.to_string_lossy()])?;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let out = ok(&[
        "set",
        "image",
        "rs/frontend",
        "*=registry.example/fe:2",
        "-n",
        n,
    ])?;
    assert_eq!(out, "replicaset.apps.bosun.dev/frontend image updated\n");
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), n)
        .get("frontend")
        .await?;
    let image = rs
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].image.clone());
    assert_eq!(image.as_deref(), Some("registry.example/fe:2"));
    Ok(())
}

#[tokio::test]
async fn expose_makes_upstreams_service_for_deployments_and_replicasets() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "expose").await?;
    let n = ns.name.as_str();
    ok(&[
        "create",
        "deployment",
        "hello",
        "--image=agnhost:2.53",
        "--port=8080",
        "-n",
        n,
    ])?;
    let out = ok(&[
        "expose",
        "deploy/hello",
        "--type=NodePort",
        "--port=80",
        "--target-port=8080",
        "-n",
        n,
    ])?;
    assert_eq!(out, "service/hello exposed\n");
    let svcs: Api<Service> = Api::namespaced(client.clone(), n);
    let svc = svcs.get("hello").await?;
    assert_eq!(
        svc.metadata.labels,
        Some([("app".to_string(), "hello".to_string())].into())
    );
    let spec = service_spec(&svc);
    assert_eq!(spec["selector"], json!({"app": "hello"}));
    assert_eq!(spec["type"], json!("NodePort"));
    assert_eq!(spec["ports"][0]["port"], json!(80));
    assert_eq!(spec["ports"][0]["targetPort"], json!(8080));
    assert_eq!(spec["ports"][0]["protocol"], json!("TCP"));
    assert!(
        spec["ports"][0]["nodePort"]
            .as_i64()
            .is_some_and(|p| (30000..=32767).contains(&p))
    );

    // Without --port, the container's; --name; a ReplicaSet's matchLabels.
    ok(&[
        "expose",
        "deployment",
        "hello",
        "--name=hello-internal",
        "-n",
        n,
    ])?;
    let spec = service_spec(&svcs.get("hello-internal").await?);
    assert_eq!(
        spec["ports"],
        json!([{"port": 8080, "protocol": "TCP", "targetPort": 8080}])
    );
    assert_eq!(spec["type"], json!("ClusterIP"));

    let rs_path = repo_root().join("manifests/replicaset.yaml");
    let applied = kubectl(&["apply", "-n", n, "-f", &rs_path.to_string_lossy()])?;
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let out = ok(&[
        "expose",
        "rs/frontend",
        "--port=80",
        "--protocol=TCP",
        "-n",
        n,
    ])?;
    assert_eq!(out, "service/frontend exposed\n");
    let svc = svcs.get("frontend").await?;
    assert_eq!(service_spec(&svc)["selector"], json!({"tier": "frontend"}));
    assert_eq!(
        svc.metadata.labels,
        Some(
            [
                ("app".to_string(), "guestbook".to_string()),
                ("tier".to_string(), "frontend".to_string())
            ]
            .into()
        )
    );

    // Errors as kubectl's.
    let out = kubectl_bosun(&["expose", "deploy/hello", "--port=80", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error from server (AlreadyExists): services \"hello\" already exists\n"
        )
    );
    let out = kubectl_bosun(&["expose", "rs/frontend", "--name=x", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "error: couldn't find port via --port flag or introspection\n"
        )
    );
    let out = kubectl_bosun(&["expose", "deploy/nope", "--port=80", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error from server (NotFound): deployments.apps.bosun.dev \"nope\" not found\n"
        )
    );
    let out = kubectl_bosun(&[
        "expose",
        "deploy/hello",
        "--port=80",
        "--name=bad",
        "--type=Sideways",
        "-n",
        n,
    ])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "The Service \"bad\" is invalid: spec.type: Unsupported value: \"Sideways\""
        ),
        "{}",
        out.stderr
    );
    Ok(())
}

#[tokio::test]
async fn describe_prints_upstreams_describer_with_the_replicasets_and_events() -> anyhow::Result<()>
{
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("kubectl-bosun")?;
    let ns = TestNamespace::new(&client, "describe").await?;
    let n = ns.name.as_str();
    ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
        "-n",
        n,
    ])?;
    ok(&["rollout", "status", "deploy/web", "-n", n, "--timeout=60s"])?;
    let rs_name = poll(
        "the ReplicaSet's scaling event",
        Duration::from_secs(30),
        || async {
            let out = ok(&["describe", "deploy", "web", "-n", n])?;
            Ok(out
                .lines()
                .find_map(|l| {
                    l.strip_prefix("NewReplicaSet:   ")
                        .and_then(|r| r.split_once(' '))
                        .map(|(name, _)| name.to_string())
                })
                .filter(|_| out.contains("Scaled up replica set"))
                .map(|name| (name, out)))
        },
    )
    .await?;
    let (rs_name, out) = rs_name;
    for line in [
        format!("Namespace:              {n}"),
        "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable"
            .into(),
        "StrategyType:           RollingUpdate".into(),
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge".into(),
        "  Available      True    MinimumReplicasAvailable".into(),
        "OldReplicaSets:  <none>".into(),
        format!("NewReplicaSet:   {rs_name} (2/2 replicas created)"),
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "no line `{line}` in:\n{out}"
        );
    }
    assert!(
        out.contains(&format!(
            "deployment-controller.bosun.dev  Scaled up replica set {rs_name} from 0 to 2"
        )),
        "{out}"
    );

    let out = ok(&["describe", &format!("rs/{rs_name}"), "-n", n])?;
    for line in [
        "Controlled By:  Deployment/web",
        "Replicas:       2 current / 2 desired",
        "Pods Status:    2 Running / 0 Waiting / 0 Succeeded / 0 Failed",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "no line `{line}` in:\n{out}"
        );
    }
    assert!(out.contains("Created pod: web-"), "{out}");

    // Without a name: every Deployment of the namespace; a missing one: kubectl's NotFound.
    ok(&["create", "deployment", "api", "--image=nginx:1.27", "-n", n])?;
    let out = ok(&["describe", "bdeploy", "-n", n, "--show-events=false"])?;
    assert_eq!(out.matches("\nPod Template:\n").count(), 2, "{out}");
    assert!(!out.contains("Events:"), "{out}");
    let out = kubectl_bosun(&["describe", "deploy", "nope", "-n", n])?;
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            1,
            "Error from server (NotFound): deployments.apps.bosun.dev \"nope\" not found\n"
        )
    );
    Ok(())
}

#[tokio::test]
async fn global_flags_pick_namespace_context_and_kubeconfig_like_kubectl() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, "flags").await?;
    let n = ns.name.as_str();
    // A kubeconfig with a second context whose namespace is the test's.
    let out = kubectl(&["config", "view", "--raw", "--minify", "--flatten"])?;
    let path = repo_root().join(format!("target/e2e-logs/flags-{n}.kubeconfig"));
    std::fs::write(&path, out.stdout)?;
    let kc = path.to_string_lossy().into_owned();
    let cluster = kubectl(&[
        "--kubeconfig",
        &kc,
        "config",
        "view",
        "-o",
        "jsonpath={.contexts[0].context.cluster}",
    ])?
    .stdout;
    let user = kubectl(&[
        "--kubeconfig",
        &kc,
        "config",
        "view",
        "-o",
        "jsonpath={.contexts[0].context.user}",
    ])?
    .stdout;
    let set = kubectl(&[
        "--kubeconfig",
        &kc,
        "config",
        "set-context",
        "other",
        &format!("--cluster={cluster}"),
        &format!("--user={user}"),
        &format!("--namespace={n}"),
    ])?;
    assert_eq!(set.code, 0, "{}", set.stderr);

    // --kubeconfig with --context: the context's namespace.
    ok(&[
        "--kubeconfig",
        &kc,
        "--context",
        "other",
        "create",
        "deployment",
        "a",
        "--image=x:1",
    ])?;
    let api: Api<Deployment> = Api::namespaced(client.clone(), n);
    assert!(api.get_opt("a").await?.is_some());
    // KUBECONFIG from the environment, with -n.
    let bin = bosun_e2e::bosun_bin().with_file_name("kubectl-bosun");
    let out = std::process::Command::new(&bin)
        .args(["create", "deployment", "b", "--image=x:1", "-n", n])
        .env("KUBECONFIG", &kc)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(api.get_opt("b").await?.is_some());
    // A context that does not exist is an error, exit 1.
    let out = kubectl_bosun(&[
        "--kubeconfig",
        &kc,
        "--context",
        "nope",
        "describe",
        "deploy",
        "a",
    ])?;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    Ok(())
}

#[test]
fn every_verb_has_help_and_usage_errors_exit_1() -> anyhow::Result<()> {
    for verb in [
        &["--help"][..],
        &["create", "deployment", "--help"],
        &["set", "image", "--help"],
        &["expose", "--help"],
        &["describe", "--help"],
        &["get", "--help"],
        &["rollout", "status", "--help"],
        &["rollout", "history", "--help"],
        &["rollout", "undo", "--help"],
        &["migrate", "--help"],
    ] {
        let out = kubectl_bosun(verb)?;
        assert_eq!(out.code, 0, "{verb:?}: {}", out.stderr);
        assert!(
            out.stdout.contains("Usage: kubectl bosun"),
            "{verb:?}: {}",
            out.stdout
        );
    }
    let out = kubectl_bosun(&["create", "deployment", "x", "--image=y", "--bogus"])?;
    assert_eq!(out.code, 1);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    let out = kubectl_bosun(&["describe", "svc/x"])?;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: kubectl bosun describe works on bosun's deployments"),
        "{}",
        out.stderr
    );
    Ok(())
}

#[test]
fn kubectl_completes_the_plugins_verbs_through_the_completion_helper() -> anyhow::Result<()> {
    // kubectl (1.26+) completes a plugin's words by running kubectl_complete-<plugin> from PATH
    // (plugins/kubectl_complete-bosun, which asks `kubectl-bosun __complete`). The real kubectl,
    // with a PATH of the helper, the plugin built beside bosun, and what the tests run anyway.
    let plugin_dir = bosun_e2e::bosun_bin()
        .parent()
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("no directory of BOSUN_BIN"))?;
    let path = format!(
        "{}:{}:{}",
        repo_root().join("plugins").display(),
        plugin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let complete = |words: &[&str]| -> anyhow::Result<Vec<String>> {
        let out = std::process::Command::new("kubectl")
            .args(["__complete", "bosun"])
            .args(words)
            .env("PATH", &path)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    };
    let got = complete(&["rollout", "st"])?;
    assert_eq!(got, ["status", ":4"], "{got:?}");
    let got = complete(&["-n", "prod", "rollout", ""])?;
    assert_eq!(
        got,
        [
            "status", "history", "undo", "pause", "resume", "restart", "abort", "retry", "promote",
            ":4"
        ],
        "{got:?}"
    );
    let got = complete(&["g"])?;
    assert_eq!(got, ["get", ":4"], "{got:?}");
    let got = complete(&["get", "deploy/web", "--wa"])?;
    assert_eq!(got, ["--watch", ":4"], "{got:?}");
    let got = complete(&["set", "image", "--dr"])?;
    assert_eq!(got, ["--dry-run", ":4"], "{got:?}");
    let got = complete(&["mig"])?;
    assert_eq!(got, ["migrate", ":4"], "{got:?}");
    let got = complete(&["migrate", "deploy/web", "--to", ""])?;
    assert_eq!(got, ["apps.bosun.dev/v1", "apps/v1", ":4"], "{got:?}");
    let out = kubectl_bosun(&["--help"])?;
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("migrate ")),
        "{}",
        out.stdout
    );
    Ok(())
}
