//! `rollout pause` and `rollout resume`: `spec.paused`, as kubectl's polymorphichelpers
//! objectpauser.go and objectresumer.go set it.

use bosun_api::apps::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::super::{DEPLOY_KIND as KIND, DEPLOY_RESOURCE as RESOURCE, Failure, server_error};

/// Pause (`pause`) or resume Deployment `name`; an error when it already is.
pub(super) async fn run(api: &Api<Deployment>, name: &str, pause: bool) -> Result<(), Failure> {
    let d = api.get(name).await.map_err(server_error)?;
    if d.spec.paused.unwrap_or(false) == pause {
        let state = if pause {
            "is already paused"
        } else {
            "is not paused"
        };
        return Err(Failure(format!("error: {RESOURCE} {name:?} {state}")));
    }
    let patch = json!({"spec": {"paused": pause}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(server_error)?;
    println!("{KIND}/{name} {}", if pause { "paused" } else { "resumed" });
    Ok(())
}
