//! `rollout undo`: upstream's `DeploymentRollbacker` (kubectl's polymorphichelpers/rollback.go):
//! the template of an earlier revision patched back onto the Deployment.

use std::collections::BTreeMap;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::util::{
    ANNOTATIONS_TO_SKIP, POD_TEMPLATE_HASH, REVISION, equal_ignore_hash, revision,
};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::super::{DEPLOY_KIND as KIND, Failure, Session, server_error};
use super::owned_replicasets;

/// Roll Deployment `name` back to `to_revision`, or with 0 to the newest other revision.
pub(super) async fn run(
    session: &Session,
    api: &Api<Deployment>,
    name: &str,
    to_revision: i64,
) -> Result<(), Failure> {
    if to_revision < 0 {
        return Err(Failure(format!(
            "error: unable to find specified revision {to_revision} in history"
        )));
    }
    let d = api.get(name).await.map_err(server_error)?;
    if d.spec.paused.unwrap_or(false) {
        return Err(Failure("error: you cannot rollback a paused deployment; resume it first with 'kubectl bosun rollout resume' and try again".into()));
    }
    let rss = owned_replicasets(&session.client, &session.ns, &d).await?;
    let Some(rs) = target(&d, &rss, to_revision) else {
        return Err(Failure(if to_revision > 0 {
            format!("error: unable to find specified revision {to_revision} in history")
        } else {
            format!("error: no rollout history found for deployment {name:?}")
        }));
    };
    let rev = revision(rs).unwrap_or(0);
    if equal_ignore_hash(&rs.spec.template, &d.spec.template) {
        println!(
            "{KIND}/{name} skipped rollback (current template already matches revision {rev})"
        );
        return Ok(());
    }
    let patch: json_patch::Patch = serde_json::from_value(rollback_patch(&d, rs))?;
    api.patch(name, &PatchParams::default(), &Patch::<()>::Json(patch))
        .await
        .map_err(server_error)?;
    println!("{KIND}/{name} rolled back");
    Ok(())
}

/// The ReplicaSet of revision `to_revision`, or with 0 the newest one other than the current.
fn target<'a>(d: &Deployment, rss: &'a [ReplicaSet], to_revision: i64) -> Option<&'a ReplicaSet> {
    let current = d
        .annotations()
        .get(REVISION)
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    if to_revision > 0 {
        rss.iter().find(|rs| revision(rs) == Some(to_revision))
    } else {
        rss.iter()
            .filter(|rs| revision(rs).is_some_and(|r| r != current))
            .max_by_key(|rs| revision(rs))
    }
}

/// The JSON patch that puts `rs`'s template (without its hash label) on `d`; the Deployment
/// keeps its own skip-list annotations and takes the ReplicaSet's others.
fn rollback_patch(d: &Deployment, rs: &ReplicaSet) -> serde_json::Value {
    let mut template = rs.spec.template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    let mut annotations: BTreeMap<String, String> = d
        .annotations()
        .iter()
        .filter(|(k, _)| ANNOTATIONS_TO_SKIP.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in rs.annotations() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ])
}
