//! Rollback through the `deprecated.deployment.rollback.to` annotation (`rollback.go`): kept
//! for parity with upstream, whose iterative-rollouts e2e uses it. `kubectl bosun rollout undo`
//! patches the template directly instead, as `kubectl rollout undo` does.

use std::collections::BTreeMap;

use super::util::*;
use super::{Pass, Rollback};

/// The requested revision: present, non-empty and an integer (anything else is ignored).
pub fn rollback_to(d: &bosun_api::apps::Deployment) -> Option<i64> {
    d.metadata
        .annotations
        .as_ref()?
        .get(ROLLBACK_TO)?
        .parse()
        .ok()
}

/// `LastRevision`: the second-highest revision (the highest again if it occurs twice).
fn last_revision(p: &Pass<'_>) -> i64 {
    let (mut max, mut second) = (0, 0);
    for v in p.rss.iter().filter_map(revision) {
        if v >= max {
            second = max;
            max = v;
        } else if v > second {
            second = v;
        }
    }
    second
}

/// `rollback`: copy the template of the requested revision back, or say why not; the
/// annotation is removed in every case.
pub(crate) fn rollback(p: &mut Pass<'_>, to: i64) {
    p.sync_revision(true);
    let name = p.name();
    let mut annotations = p.annotations.clone();
    annotations.remove(ROLLBACK_TO);
    let mut out = Rollback {
        template: None,
        annotations,
    };
    let to = if to == 0 { last_revision(p) } else { to };
    if to == 0 {
        p.event(
            true,
            "DeploymentRollbackRevisionNotFound",
            "Unable to find last revision.".into(),
        );
        p.rollback = Some(out);
        return;
    }
    let Some(rs) = p.rss.iter().find(|rs| revision(rs) == Some(to)).cloned() else {
        p.event(
            true,
            "DeploymentRollbackRevisionNotFound",
            "Unable to find the revision to rollback to.".into(),
        );
        p.rollback = Some(out);
        return;
    };
    if equal_ignore_hash(&p.d.spec.template, &rs.spec.template) {
        p.event(
            true,
            "DeploymentRollbackTemplateUnchanged",
            format!(
                "The rollback revision contains the same template as current deployment {name:?}"
            ),
        );
        p.rollback = Some(out);
        return;
    }
    let mut template = rs.spec.template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    // SetDeploymentAnnotationsTo: keep the Deployment's skip-list annotations, take the rest
    // from the ReplicaSet.
    let mut next: BTreeMap<String, String> = out
        .annotations
        .iter()
        .filter(|(k, _)| ANNOTATIONS_TO_SKIP.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            next.insert(k.clone(), v.clone());
        }
    }
    out.annotations = next;
    out.template = Some(template);
    p.event(
        false,
        "DeploymentRollback",
        format!("Rolled back deployment {name:?} to revision {to}"),
    );
    p.rollback = Some(out);
}
