//! `rollout abort` and `rollout retry` (Argo Rollouts' abort): `status.abortedTemplateHash`,
//! written with the one field manager of that field.

use bosun_api::apps::Deployment;
use bosun_core::deployment::util::{POD_TEMPLATE_HASH, equal_ignore_hash};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::super::{
    DEPLOY_KIND as KIND, DEPLOY_RESOURCE as RESOURCE, Failure, Session, server_error,
};
use super::owned_replicasets;

/// Abort (`abort`) the rollout of Deployment `name`, or retry the aborted one.
pub(super) async fn run(
    session: &Session,
    api: &Api<Deployment>,
    name: &str,
    abort: bool,
) -> Result<(), Failure> {
    let d = api.get(name).await.map_err(server_error)?;
    let value = if abort {
        aborted_status(session, &d).await?
    } else {
        retried_status(&d)?
    };
    // The one field manager of the field (bosun_core::deployment::abort::MANAGER): an
    // empty apply removes it.
    let body = json!({"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "status": value});
    api.patch_status(
        name,
        &PatchParams::apply(bosun_core::deployment::abort::MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(server_error)?;
    println!(
        "{KIND}/{name} {}",
        if abort { "aborted" } else { "retried" }
    );
    Ok(())
}

/// The status that aborts: the hash of the ReplicaSet of the Deployment's template, unless
/// that is the stable one (no rollout in progress).
async fn aborted_status(session: &Session, d: &Deployment) -> Result<Value, Failure> {
    let name = d.name_any();
    let status = d.status.clone().unwrap_or_default();
    let rss = owned_replicasets(&session.client, &session.ns, d).await?;
    let current = rss
        .iter()
        .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
        .and_then(|rs| rs.labels().get(POD_TEMPLATE_HASH).cloned());
    match current {
        Some(h) if status.stable_template_hash.as_ref() != Some(&h) => {
            Ok(json!({"abortedTemplateHash": h}))
        }
        _ => Err(Failure(format!(
            "error: {RESOURCE} {name:?} has no rollout in progress to abort"
        ))),
    }
}

/// The status that retries: none of ours (the field removed), when an abort is held.
fn retried_status(d: &Deployment) -> Result<Value, Failure> {
    let name = d.name_any();
    let held = d
        .status
        .as_ref()
        .is_some_and(|s| s.aborted_template_hash.is_some());
    if !held {
        return Err(Failure(format!(
            "error: {RESOURCE} {name:?} has no aborted rollout to retry"
        )));
    }
    Ok(json!({}))
}
