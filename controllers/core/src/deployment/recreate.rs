//! The Recreate strategy (`recreate.go`): every old pod gone before any new one exists.

use super::Pass;
use super::abort;
use super::progress::sync_rollout_status;
use super::util::{deployment_complete, replicas};
use crate::pod::is_finished;

/// `rolloutRecreate`.
pub(crate) fn rollout(p: &mut Pass<'_>) {
    let new = p.sync_revision(false);
    abort::forget_stale(p, new);
    if abort::is_aborted(p, new) {
        // Back to the last complete revision, Recreate's way: everything else to zero first.
        if let Some(stable) = abort::stable(p, new) {
            let others: Vec<usize> = (0..p.rss.len()).filter(|i| *i != stable).collect();
            let mut scaled = false;
            for i in others.clone() {
                scaled |= p.scale_if_needed(i, 0);
            }
            if !scaled && !old_pods_running(p, Some(stable), &others) {
                p.scale_if_needed(stable, replicas(p.d));
            }
        }
        return sync_rollout_status(p, new);
    }
    let olds = p.old_indexes(new);
    // Scale every active old ReplicaSet to zero.
    let mut scaled = false;
    for i in olds.clone() {
        scaled |= p.scale_if_needed(i, 0);
    }
    if scaled {
        return sync_rollout_status(p, new);
    }
    if old_pods_running(p, new, &olds) {
        return sync_rollout_status(p, new);
    }
    let new = match new {
        Some(i) => Some(i),
        None => p.sync_revision(true),
    };
    if let Some(i) = new {
        p.scale_if_needed(i, replicas(p.d));
    }
    if deployment_complete(p.d, &p.d.status.clone().unwrap_or_default()) {
        super::sync::cleanup(p, &p.old_indexes(new));
    }
    sync_rollout_status(p, new)
}

/// `oldPodsRunning`: an old ReplicaSet still reports pods, or one of its pods (terminating ones
/// included) has not finished.
fn old_pods_running(p: &Pass<'_>, new: Option<usize>, olds: &[usize]) -> bool {
    if olds
        .iter()
        .any(|i| p.rss[*i].status.as_ref().is_some_and(|s| s.replicas > 0))
    {
        return true;
    }
    // `getPodMapForDeployment`: pods of the claimed ReplicaSets that the selector matches.
    let new_uid = new.and_then(|i| p.rss[i].metadata.uid.clone());
    p.pods_by_rs
        .iter()
        .filter(|(uid, _)| Some(*uid) != new_uid.as_ref())
        .flat_map(|(_, pods)| pods.iter())
        .filter(|pod| p.selector.matches(pod.metadata.labels.as_ref()))
        .any(|pod| !is_finished(pod))
}
