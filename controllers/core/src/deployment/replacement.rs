//! `spec.podReplacementPolicy` (upstream KEP-3973, "Consider Terminating Pods in Deployments",
//! not in apps/v1 as of 1.35).
//!
//! With `TerminationComplete` a terminating Pod still counts as a Pod of its ReplicaSet, so a
//! rolling update keeps the Pods that exist, terminating ones included, within `replicas +
//! maxSurge`, and a scale-up within `replicas + maxSurge` (proportional scaling during a rollout,
//! as the KEP) or `replicas` (a Deployment with one active ReplicaSet). Where the KEP scales some
//! ReplicaSets partly and remembers the ratio in an annotation
//! (`replicaset-replicas-before-scale`), bosun postpones a scale-up until it fits whole: the
//! proportions stay upstream's, and no new annotation exists to drift. Scaling down is never held
//! back. `TerminationStarted` (or unset) is today's behaviour.

use bosun_api::apps::{Deployment, PodReplacementPolicy};

use super::Pass;
use super::util::rs_replicas;
use crate::pod::{is_active, is_terminating};

/// Whether terminating Pods count against the Deployment's bounds.
pub fn counts_terminating(d: &Deployment) -> bool {
    d.spec.pod_replacement_policy == Some(PodReplacementPolicy::TerminationComplete)
}

/// The Pods of ReplicaSet `i` that exist: the larger of `spec.replicas` (creations still in
/// flight) and its active Pods, plus its terminating ones. From the pod cache when the pass has
/// the ReplicaSet's Pods (fresher than the status), else from `status.replicas` and
/// `status.terminatingReplicas`, as the KEP reads them.
pub(crate) fn existing(p: &Pass<'_>, i: usize) -> i32 {
    let rs = &p.rss[i];
    let spec = rs_replicas(rs);
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let (active, terminating) = match rs.metadata.uid.as_ref().and_then(|u| p.pods_by_rs.get(u)) {
        Some(pods) => (
            count(pods.iter().filter(|pod| is_active(pod)).count()),
            count(pods.iter().filter(|pod| is_terminating(pod)).count()),
        ),
        None => rs
            .status
            .as_ref()
            .map(|s| (s.replicas, s.terminating_replicas.unwrap_or(0)))
            .unwrap_or((0, 0)),
    };
    spec.max(active).saturating_add(terminating)
}

/// Whether raising ReplicaSets by `to_add` in all would take the Pods that exist above `bound`:
/// then the scale-up waits (for the terminating Pods to go; their ReplicaSet's status change
/// wakes the Deployment).
pub(crate) fn scale_up_must_wait(p: &Pass<'_>, to_add: i32, bound: i32) -> bool {
    if !counts_terminating(p.d) || to_add <= 0 {
        return false;
    }
    let all: Vec<usize> = (0..p.rss.len()).collect();
    p.counted_sum(&all).saturating_add(to_add) > bound
}
