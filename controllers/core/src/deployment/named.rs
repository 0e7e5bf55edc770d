//! `spec.scaleStrategy.podsToDelete` on a Deployment (OpenKruise's): each named Pod's name is
//! handed to the ReplicaSet that controls it, whose controller deletes it first (and, without
//! a scale-down, replaces it; `crate::replicaset`). A name stays on the Deployment while a Pod
//! of one of its ReplicaSets has it, terminating ones included, and leaves once none does.

use super::{Action, Pass};

/// Hand the named Pods to their ReplicaSets; the Deployment's list without the names no Pod of
/// its ReplicaSets has, when that drops any.
pub(crate) fn hand_out(p: &mut Pass<'_>) -> Option<Vec<String>> {
    let names: Vec<String> =
        p.d.spec
            .scale_strategy
            .as_ref()
            .and_then(|s| s.pods_to_delete.clone())
            .unwrap_or_default();
    if names.is_empty() {
        return None;
    }
    let mut kept = Vec::new();
    for name in &names {
        let owner = p.rss.iter().position(|rs| {
            rs.metadata
                .uid
                .as_ref()
                .and_then(|uid| p.pods_by_rs.get(uid))
                .is_some_and(|pods| {
                    pods.iter()
                        .any(|pod| pod.metadata.name.as_ref() == Some(name))
                })
        });
        let Some(i) = owner else { continue };
        kept.push(name.clone());
        let rs = &mut p.rss[i];
        let list = rs
            .spec
            .scale_strategy
            .get_or_insert_with(Default::default)
            .pods_to_delete
            .get_or_insert_with(Vec::new);
        if list.contains(name) {
            continue;
        }
        list.push(name.clone());
        let (rs_name, list, annotations, resource_version) = (
            rs.metadata.name.clone().unwrap_or_default(),
            list.clone(),
            rs.metadata.annotations.clone().unwrap_or_default(),
            rs.metadata.resource_version.clone(),
        );
        // One write per ReplicaSet: a second name for it replaces the first action's list.
        if let Some(Action::PodsToDelete { pods, .. }) = p
            .actions
            .iter_mut()
            .find(|a| matches!(a, Action::PodsToDelete { name, .. } if *name == rs_name))
        {
            *pods = list;
        } else {
            p.actions.push(Action::PodsToDelete {
                name: rs_name,
                pods: list,
                annotations,
                resource_version,
            });
        }
    }
    (kept.len() != names.len()).then_some(kept)
}
