//! `kubectl bosun create deployment`: the object upstream's `kubectl create deployment`
//! generator makes (kubectl's pkg/cmd/create/create_deployment.go), as a bosun Deployment.

use std::collections::BTreeMap;

use bosun_api::apps::Deployment;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use super::{DEPLOY_KIND, DryRun, Failure, Session, print_result, server_error};

/// What `create deployment` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateDeployment {
    /// NAME.
    pub name: String,
    /// `--image`, repeated or comma-separated: one container each.
    pub images: Vec<String>,
    /// `--port`: the first container's containerPort.
    pub port: Option<i32>,
    /// `--replicas` (upstream's default: 1).
    pub replicas: i32,
    /// The command after `--`.
    pub command: Vec<String>,
    /// The namespace to set in the object (only when `-n` named it, as upstream).
    pub namespace: Option<String>,
}

/// The container name upstream derives from an image: its last path segment without tag or
/// digest; with `.` or `_` in it, those become `-` and a random 5-character suffix is added
/// (`buildPodSpec` and `sanitizeAndUniquify`). `suffix` is that random part.
pub fn container_name(image: &str, suffix: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let name = last.split(':').next().unwrap_or(last);
    let name = name.split('@').next().unwrap_or(name);
    if name.contains(['_', '.']) {
        format!("{}-{suffix}", name.replace(['_', '.'], "-"))
    } else {
        name.to_string()
    }
}

/// Upstream's `validate`: several images and a command do not mix.
pub fn validate(o: &CreateDeployment) -> Result<(), Failure> {
    if o.images.is_empty() {
        return Err(Failure("error: required flag(s) \"image\" not set".into()));
    }
    if o.images.len() > 1 && !o.command.is_empty() {
        return Err(Failure(
            "error: cannot specify multiple --image options and command".into(),
        ));
    }
    Ok(())
}

/// Upstream's `createDeployment`: labels and selector `app=NAME`, one container per image
/// (named by [`container_name`], with the command), `--port` on the first container.
/// `suffix` stands for upstream's random suffix of sanitised container names.
pub fn deployment(o: &CreateDeployment, suffix: &str) -> Value {
    let labels: BTreeMap<&str, &str> = [("app", o.name.as_str())].into();
    let mut containers: Vec<Value> = o
        .images
        .iter()
        .map(|image| {
            let mut c =
                json!({"name": container_name(image, suffix), "image": image, "resources": {}});
            if !o.command.is_empty() {
                c["command"] = json!(o.command);
            }
            c
        })
        .collect();
    if let (Some(port), Some(first)) = (o.port, containers.first_mut()) {
        first["ports"] = json!([{"containerPort": port}]);
    }
    let mut metadata = json!({"name": o.name, "labels": labels});
    if let Some(ns) = &o.namespace {
        metadata["namespace"] = json!(ns);
    }
    json!({
        "apiVersion": "apps.bosun.dev/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": o.replicas,
            "selector": {"matchLabels": labels},
            "strategy": {},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": containers},
            },
        },
        "status": {},
    })
}

/// Five characters of upstream's `utilrand.String` alphabet, from the clock.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
        ^ u64::from(std::process::id()).rotate_left(32);
    (0..5)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ALPHABET[((seed >> 33) % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

/// Create it (or print it for `--dry-run=client`) and say what kubectl says.
pub async fn run(
    session: &Session,
    mut o: CreateDeployment,
    dry_run: DryRun,
    output: Option<&str>,
) -> Result<String, Failure> {
    validate(&o)?;
    if session.explicit_ns {
        o.namespace = Some(session.ns.clone());
    }
    let object = deployment(&o, &random_suffix());
    if dry_run == DryRun::Client {
        return print_result(DEPLOY_KIND, &o.name, "created", dry_run, output, &object);
    }
    // kubectl shows an empty `strategy: {}`; sent as such it would keep the CRD from defaulting
    // the whole strategy (type and rollingUpdate), so the object sent leaves it out.
    let mut object = object;
    if let Some(spec) = object.pointer_mut("/spec").and_then(Value::as_object_mut) {
        spec.remove("strategy");
    }
    let d: Deployment = serde_json::from_value(object)?;
    let api: Api<Deployment> = Api::namespaced(session.client.clone(), &session.ns);
    let pp = PostParams {
        dry_run: dry_run == DryRun::Server,
        field_manager: Some("kubectl-create".into()),
    };
    let created = api.create(&pp, &d).await.map_err(|e| {
        // Upstream wraps the server's error: `failed to create deployment: …`.
        let Failure(msg) = server_error(e);
        let msg = msg
            .strip_prefix("Error from server (")
            .and_then(|m| m.split_once("): ").map(|(_, rest)| rest.to_string()))
            .unwrap_or(msg);
        Failure(format!("error: failed to create deployment: {msg}"))
    })?;
    let mut value = serde_json::to_value(&created)?;
    if let Some(m) = value
        .pointer_mut("/metadata")
        .and_then(Value::as_object_mut)
    {
        m.remove("managedFields");
    }
    print_result(DEPLOY_KIND, &o.name, "created", dry_run, output, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(name: &str, images: &[&str]) -> CreateDeployment {
        CreateDeployment {
            name: name.into(),
            images: images.iter().map(|s| s.to_string()).collect(),
            replicas: 1,
            ..Default::default()
        }
    }

    #[test]
    fn build_pod_spec_names_containers_after_the_image_without_registry_tag_or_digest() {
        assert_eq!(container_name("nginx", "x"), "nginx");
        assert_eq!(container_name("nginx:1.27", "x"), "nginx");
        assert_eq!(
            container_name("registry.k8s.io/e2e-test-images/agnhost:2.53", "x"),
            "agnhost"
        );
        assert_eq!(container_name("busybox@sha256:abc", "x"), "busybox");
        assert_eq!(container_name("localhost:5000/app:v1", "x"), "app");
    }

    #[test]
    fn sanitize_and_uniquify_replaces_dots_and_underscores_and_adds_a_suffix() {
        assert_eq!(container_name("my_app.v2:1", "abcde"), "my-app-v2-abcde");
    }

    #[test]
    fn create_deployment_labels_selector_and_template_with_app_name() {
        let d = deployment(&opts("web", &["nginx:1.27"]), "s");
        assert_eq!(d["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(
            d["spec"]["selector"],
            json!({"matchLabels": {"app": "web"}})
        );
        assert_eq!(
            d["spec"]["template"]["metadata"]["labels"],
            json!({"app": "web"})
        );
        assert_eq!(d["spec"]["replicas"], json!(1));
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx:1.27", "resources": {}}])
        );
        assert!(d["metadata"].get("namespace").is_none());
        // The object is a valid bosun Deployment.
        let typed: Deployment = serde_json::from_value(d).unwrap();
        assert_eq!(typed.spec.replicas, Some(1));
    }

    #[test]
    fn create_deployment_port_goes_on_the_first_container_only() {
        let mut o = opts("web", &["nginx", "redis"]);
        o.port = Some(8080);
        let d = deployment(&o, "s");
        let cs = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs[0]["ports"], json!([{"containerPort": 8080}]));
        assert!(cs[1].get("ports").is_none());
        assert_eq!(cs[1]["name"], json!("redis"));
    }

    #[test]
    fn create_deployment_command_goes_on_the_container() {
        let mut o = opts("d", &["busybox"]);
        o.command = vec!["date".into()];
        let d = deployment(&o, "s");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["command"],
            json!(["date"])
        );
    }

    #[test]
    fn validate_refuses_several_images_with_a_command_and_no_image() {
        let mut o = opts("d", &["a", "b"]);
        o.command = vec!["date".into()];
        assert_eq!(
            validate(&o).unwrap_err().0,
            "error: cannot specify multiple --image options and command"
        );
        assert_eq!(
            validate(&opts("d", &[])).unwrap_err().0,
            "error: required flag(s) \"image\" not set"
        );
    }
}
