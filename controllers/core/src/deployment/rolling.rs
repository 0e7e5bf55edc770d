//! The RollingUpdate strategy (`rolling.go`): grow the new ReplicaSet within
//! `replicas + maxSurge`, shrink the old ones while keeping `replicas - maxUnavailable`
//! available, one direction per sync.

use super::Pass;
use super::abort;
use super::progress::sync_rollout_status;
use super::util::*;
use crate::pod::{is_active, is_available};

/// `rolloutRolling`.
pub(crate) fn rollout(p: &mut Pass<'_>) {
    let new = p.sync_revision(true);
    abort::forget_stale(p, new);
    if abort::is_aborted(p, new) {
        roll_back(p, new);
        return sync_rollout_status(p, new);
    }
    let all: Vec<usize> = (0..p.rss.len()).collect();
    let olds = p.old_indexes(new);
    let kept = kept_on_old(p, &olds);
    if let Some(i) = new
        && reconcile_new(p, i, &all, kept)
    {
        return sync_rollout_status(p, new);
    }
    let active_olds: Vec<usize> = olds
        .iter()
        .copied()
        .filter(|i| rs_replicas(&p.rss[*i]) > 0)
        .collect();
    if reconcile_old(p, &all, &active_olds, new, kept) {
        return sync_rollout_status(p, new);
    }
    if deployment_complete(p.d, &p.d.status.clone().unwrap_or_default()) {
        super::sync::cleanup(p, &olds);
    }
    sync_rollout_status(p, new)
}

/// An aborted rollout ([`abort`]): the same rolling update, toward the last complete revision;
/// the aborted ReplicaSet is one of the "old" ones it scales down (its unavailable Pods first).
fn roll_back(p: &mut Pass<'_>, new: Option<usize>) {
    let Some(stable) = abort::stable(p, new) else {
        return;
    };
    let all: Vec<usize> = (0..p.rss.len()).collect();
    if reconcile_new(p, stable, &all, 0) {
        return;
    }
    let others: Vec<usize> = all
        .iter()
        .copied()
        .filter(|i| *i != stable && rs_replicas(&p.rss[*i]) > 0)
        .collect();
    reconcile_old(p, &all, &others, Some(stable), 0);
}

/// The Pods the partition keeps on the old revisions now: the partition, or fewer when the old
/// ReplicaSets hold fewer (a new Deployment has none to keep, and raising the partition does not
/// roll Pods back).
pub(crate) fn kept_on_old(p: &Pass<'_>, olds: &[usize]) -> i32 {
    partition(p.d).min(p.spec_sum(olds))
}

/// `reconcileNewReplicaSet`: whether the new ReplicaSet's size changed. With a partition the
/// new ReplicaSet grows to `replicas - kept` only (never shrunk for it).
fn reconcile_new(p: &mut Pass<'_>, new: usize, all: &[usize], kept: i32) -> bool {
    let want = replicas(p.d);
    let cur = rs_replicas(&p.rss[new]);
    if cur == want {
        return false;
    }
    if cur > want {
        return p.scale_if_needed(new, want);
    }
    let target = want - kept;
    if cur > target {
        // Above its share with Pods beyond `replicas` in all (the surge a proportional scale-up
        // leaves during a partition): give the surplus back, never below the share. At
        // `replicas` in all (a partition raised by hand) nothing is rolled back.
        let surplus = p.spec_sum(all) - want;
        if surplus > 0 {
            return p.scale_if_needed(new, cur - surplus.min(cur - target));
        }
        return false;
    }
    if cur == target {
        return false;
    }
    let size = new_rs_new_replicas(p.d, p.counted_sum(all), cur).min(target);
    p.scale_if_needed(new, size)
}

/// The pods of ReplicaSet `i` that count as available for the rolling-update bounds.
///
/// Upstream reads `status.availableReplicas`, which lags twice: right after a scale-down it
/// still counts the pods being deleted (so a second pass can scale down again and dip below
/// `replicas - maxUnavailable`), and it learns of newly available pods only after the
/// ReplicaSet controller writes its status. bosun counts the available, non-terminating pods
/// of the ReplicaSet in its pod cache when it has them (fresh, so rollouts advance as soon as a
/// pod is available) and never more than `spec.replicas` (the ReplicaSet controller deletes
/// the surplus, unavailable ones first): a deliberate difference that keeps the floor at every
/// moment, not just eventually.
pub(crate) fn available(p: &Pass<'_>, i: usize) -> i32 {
    let rs = &p.rss[i];
    let spec = rs_replicas(rs);
    let observed = rs
        .metadata
        .uid
        .as_ref()
        .and_then(|uid| p.pods_by_rs.get(uid))
        .map(|pods| {
            let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
            let n = pods
                .iter()
                .filter(|pod| is_active(pod) && is_available(pod, min_ready, p.now))
                .count();
            i32::try_from(n).unwrap_or(i32::MAX)
        })
        .unwrap_or_else(|| {
            rs.status
                .as_ref()
                .map(|s| s.available_replicas)
                .unwrap_or(0)
        });
    observed.min(spec)
}

fn oldest_first(p: &Pass<'_>, idx: &[usize]) -> Vec<usize> {
    let mut v = idx.to_vec();
    v.sort_by(|a, b| super::by_creation(&p.rss[*a], &p.rss[*b]));
    v
}

/// `reconcileOldReplicaSets`: whether any old ReplicaSet was scaled down.
///
/// With a partition the old ReplicaSets keep `kept` Pods between them: no scale-down takes
/// their sum below it.
fn reconcile_old(
    p: &mut Pass<'_>,
    all: &[usize],
    active_olds: &[usize],
    new: Option<usize>,
    kept: i32,
) -> bool {
    let old_room = p.spec_sum(active_olds) - kept;
    if old_room <= 0 {
        return false;
    }
    let min_available = replicas(p.d) - max_unavailable(p.d);
    let new_unavailable = new
        .map(|i| rs_replicas(&p.rss[i]) - available(p, i))
        .unwrap_or(0);
    let max_scaled_down = (p.spec_sum(all) - min_available - new_unavailable).min(old_room);
    if max_scaled_down <= 0 {
        return false;
    }
    let cleaned = cleanup_unhealthy(p, active_olds, max_scaled_down);
    let scaled = scale_down_old(p, active_olds, new, min_available, old_room - cleaned);
    cleaned + scaled > 0
}

/// `cleanupUnhealthyReplicas`: scale down the old ReplicaSets' unavailable pods first, oldest
/// ReplicaSet first, at most `max_scaled_down` in all.
fn cleanup_unhealthy(p: &mut Pass<'_>, olds: &[usize], max_scaled_down: i32) -> i32 {
    let mut total = 0;
    for i in oldest_first(p, olds) {
        if total >= max_scaled_down {
            break;
        }
        let spec = rs_replicas(&p.rss[i]);
        let unhealthy = spec - available(p, i);
        if spec == 0 || unhealthy <= 0 {
            continue;
        }
        let down = (max_scaled_down - total).min(unhealthy);
        p.scale_if_needed(i, spec - down);
        total += down;
    }
    total
}

/// `scaleDownOldReplicaSetsForRollingUpdate`: scale old ReplicaSets down, oldest first, by as
/// many pods as are available above `min_available`.
/// At most `old_room` in all (what the partition lets go).
fn scale_down_old(
    p: &mut Pass<'_>,
    olds: &[usize],
    new: Option<usize>,
    min_available: i32,
    old_room: i32,
) -> i32 {
    let avail: i32 = olds
        .iter()
        .chain(new.iter())
        .map(|i| available(p, *i))
        .sum();
    if avail <= min_available || old_room <= 0 {
        return 0;
    }
    let budget = (avail - min_available).min(old_room);
    let mut total = 0;
    for i in oldest_first(p, olds) {
        if total >= budget {
            break;
        }
        let spec = rs_replicas(&p.rss[i]);
        if spec == 0 {
            continue;
        }
        let down = spec.min(budget - total);
        p.scale_if_needed(i, spec - down);
        total += down;
    }
    total
}
