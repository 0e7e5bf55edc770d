//! `kubectl bosun set image`: upstream's `kubectl set image` (kubectl's pkg/cmd/set/set_image.go)
//! for bosun's Deployments and ReplicaSets.

use bosun_api::apps::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodSpec;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::{DryRun, Failure, Kind, Session, print_result, server_error};

/// Parse `NAME=IMAGE` pairs as upstream's `parseImages`.
pub fn parse_pairs(args: &[String]) -> Result<Vec<(String, String)>, Failure> {
    let mut pairs = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some((c, i)) if !c.is_empty() && !i.is_empty() => pairs.push((c.into(), i.into())),
            _ => {
                return Err(Failure(format!(
                    "error: invalid image update: {a:?}: expected CONTAINER_NAME=CONTAINER_IMAGE"
                )));
            }
        }
    }
    if pairs.is_empty() {
        return Err(Failure(
            "error: at least one image update is required".into(),
        ));
    }
    if pairs.len() > 1 && pairs.iter().any(|(c, _)| c == "*") {
        return Err(Failure("error: all containers are already specified by *, but saw more than one container_name=container_image pairs".into()));
    }
    Ok(pairs)
}

/// The JSON patch that sets the images (upstream's `setImage` on init containers and
/// containers, `*` meaning all of them), guarded by a test of each container's name, and the
/// errors for names no container has (`unable to find container named "x"`). An empty patch
/// means nothing changes.
pub fn plan(spec: &PodSpec, pairs: &[(String, String)]) -> (Vec<Value>, Vec<String>) {
    let mut ops = Vec::new();
    let mut errors = Vec::new();
    for (name, image) in pairs {
        let mut found = false;
        let lists = [
            (
                "initContainers",
                spec.init_containers.as_deref().unwrap_or_default(),
            ),
            ("containers", spec.containers.as_slice()),
        ];
        for (field, list) in lists {
            for (i, c) in list.iter().enumerate() {
                if name != "*" && &c.name != name {
                    continue;
                }
                found = true;
                if c.image.as_deref() == Some(image.as_str()) {
                    continue;
                }
                let path = format!("/spec/template/spec/{field}/{i}");
                ops.push(json!({"op": "test", "path": format!("{path}/name"), "value": c.name}));
                ops.push(json!({"op": "add", "path": format!("{path}/image"), "value": image}));
            }
        }
        if !found {
            errors.push(format!("error: unable to find container named {name:?}"));
        }
    }
    (ops, errors)
}

/// Set the images on one object; print `KIND/NAME image updated` when something changed.
pub async fn run(
    session: &Session,
    kind: Kind,
    name: &str,
    pairs: &[(String, String)],
    dry_run: DryRun,
    output: Option<&str>,
) -> Result<String, Failure> {
    let client = session.client.clone();
    let (spec, object) = match kind {
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &session.ns);
            let d = api.get(name).await.map_err(server_error)?;
            (
                d.spec.template.spec.clone().unwrap_or_default(),
                serde_json::to_value(&d)?,
            )
        }
        Kind::ReplicaSet => {
            let api: Api<ReplicaSet> = Api::namespaced(client.clone(), &session.ns);
            let rs = api.get(name).await.map_err(server_error)?;
            (
                rs.spec.template.spec.clone().unwrap_or_default(),
                serde_json::to_value(&rs)?,
            )
        }
    };
    let (ops, errors) = plan(&spec, pairs);
    let mut out = String::new();
    if !ops.is_empty() {
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops))?;
        let written = if dry_run == DryRun::Client {
            let mut object = object;
            json_patch::patch(&mut object, &patch)?;
            object
        } else {
            let pp = PatchParams {
                dry_run: dry_run == DryRun::Server,
                field_manager: Some("kubectl-set".into()),
                ..Default::default()
            };
            patch_template(&client, &session.ns, kind, name, &pp, patch).await?
        };
        out = print_result(
            kind.kind_group(),
            name,
            "image updated",
            dry_run,
            output,
            &written,
        )?;
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        print!("{out}");
        Err(Failure(errors.join("\n")))
    }
}

/// Apply the JSON patch to the object's template; kubectl's wording of a refusal.
async fn patch_template(
    client: &kube::Client,
    ns: &str,
    kind: Kind,
    name: &str,
    pp: &PatchParams,
    patch: json_patch::Patch,
) -> Result<Value, Failure> {
    let patch = Patch::<()>::Json(patch);
    let refused = |e| {
        let Failure(m) = server_error(e);
        Failure(format!(
            "error: failed to patch image update to pod template: {m}"
        ))
    };
    Ok(match kind {
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            serde_json::to_value(api.patch(name, pp, &patch).await.map_err(refused)?)?
        }
        Kind::ReplicaSet => {
            let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
            serde_json::to_value(api.patch(name, pp, &patch).await.map_err(refused)?)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PodSpec {
        serde_json::from_value(json!({
            "initContainers": [{"name": "init", "image": "busybox:1"}],
            "containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "side", "image": "envoy:1"}]
        }))
        .unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn set_image_changes_the_named_container_only() {
        let (ops, errs) = plan(&spec(), &pairs(&[("web", "nginx:1.28")]));
        assert!(errs.is_empty());
        assert_eq!(
            ops,
            [
                json!({"op": "test", "path": "/spec/template/spec/containers/0/name", "value": "web"}),
                json!({"op": "add", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.28"}),
            ]
        );
    }

    #[test]
    fn set_image_reaches_init_containers() {
        let (ops, _) = plan(&spec(), &pairs(&[("init", "busybox:2")]));
        assert_eq!(
            ops[1]["path"],
            json!("/spec/template/spec/initContainers/0/image")
        );
    }

    #[test]
    fn set_image_star_sets_every_container() {
        let (ops, errs) = plan(&spec(), &pairs(&[("*", "x:1")]));
        assert!(errs.is_empty());
        assert_eq!(ops.len(), 6);
    }

    #[test]
    fn unknown_container_is_an_error_and_the_others_still_change() {
        let (ops, errs) = plan(&spec(), &pairs(&[("nope", "x:1"), ("side", "envoy:2")]));
        assert_eq!(errs, ["error: unable to find container named \"nope\""]);
        assert_eq!(ops.len(), 2);
    }

    #[test]
    fn the_same_image_changes_nothing() {
        let (ops, errs) = plan(&spec(), &pairs(&[("web", "nginx:1.27")]));
        assert!(ops.is_empty() && errs.is_empty());
    }

    #[test]
    fn pairs_need_name_and_image_and_star_stands_alone() {
        assert!(parse_pairs(&["web".to_string()]).is_err());
        assert!(parse_pairs(&[]).is_err());
        assert!(parse_pairs(&["*=a".to_string(), "b=c".to_string()]).is_err());
        assert_eq!(
            parse_pairs(&["a=b:1".to_string()]).unwrap(),
            pairs(&[("a", "b:1")])
        );
    }
}
