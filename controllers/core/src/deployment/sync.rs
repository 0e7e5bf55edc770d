//! Scaling, cleanup and status (`sync.go`): `sync`, `scale` (proportional scaling),
//! `cleanupDeployment`, `calculateStatus`, `isScalingEvent`.

use super::Pass;
use super::progress::{condition, set_condition};
use super::replacement;
use super::util::*;
use crate::pod::{is_active, is_available, is_ready};
use crate::selector::Selector;

/// `isScalingEvent`: an active ReplicaSet's `desired-replicas` annotation differs from
/// `spec.replicas` (ReplicaSets without a valid annotation do not count).
pub(crate) fn is_scaling_event(p: &mut Pass<'_>) -> bool {
    let new = p.sync_revision(false);
    let _ = new;
    let want = replicas(p.d);
    p.rss
        .iter()
        .filter(|rs| rs_replicas(rs) > 0)
        .any(|rs| int_annotation(rs, DESIRED_REPLICAS).is_some_and(|d| d != want))
}

/// `sync`: proportional scaling of existing ReplicaSets; cleanup when paused; status.
pub(crate) fn sync(p: &mut Pass<'_>, paused: bool) {
    let new = p.sync_revision(false);
    scale(p, new);
    if paused
        && !p
            .d
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(ROLLBACK_TO))
    {
        let olds = p.old_indexes(new);
        cleanup(p, &olds);
    }
    sync_status(p, new);
}

/// `FindActiveOrLatest`: the one active ReplicaSet; with none active, the new one or else the
/// newest old one; with several, none.
fn active_or_latest(p: &Pass<'_>, new: Option<usize>) -> Option<usize> {
    let active: Vec<usize> = (0..p.rss.len())
        .filter(|i| rs_replicas(&p.rss[*i]) > 0)
        .collect();
    match active.len() {
        1 => Some(active[0]),
        0 => new.or_else(|| {
            let mut olds = p.old_indexes(new);
            olds.sort_by(|a, b| super::by_creation(&p.rss[*a], &p.rss[*b]));
            olds.last().copied()
        }),
        _ => None,
    }
}

/// `IsSaturated`: the new ReplicaSet runs every desired pod, all available.
fn is_saturated(p: &Pass<'_>, new: Option<usize>) -> bool {
    let Some(i) = new else { return false };
    let rs = &p.rss[i];
    let want = replicas(p.d);
    let desired = rs
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DESIRED_REPLICAS))
        .and_then(|v| v.parse::<i32>().ok());
    rs_replicas(rs) == want
        && desired == Some(want)
        && rs
            .status
            .as_ref()
            .is_some_and(|s| s.available_replicas == want)
}

/// `scale`: bring the ReplicaSets to the Deployment's size, spreading a change during a
/// rollout across them in proportion to their size.
///
/// Worked example (upstream's e2e): replicas 10, maxSurge 3, old 8 and new 5 pods, both
/// annotated `max-replicas: 13`; scaling to 30 allows 33, so 20 more: old gets
/// `round(8 × 33 / 13) − 8 = 12` (→ 20), new `round(5 × 33 / 13) − 5 = 8` (→ 13).
pub(crate) fn scale(p: &mut Pass<'_>, new: Option<usize>) {
    let want = replicas(p.d);
    if let Some(i) = active_or_latest(p, new) {
        let cur = rs_replicas(&p.rss[i]);
        if cur != want && !replacement::scale_up_must_wait(p, want - cur, want) {
            p.scale_if_needed(i, want);
        }
        return;
    }
    if is_saturated(p, new) {
        for i in p.old_indexes(new) {
            if rs_replicas(&p.rss[i]) > 0 {
                p.scale_if_needed(i, 0);
            }
        }
        return;
    }
    if p.d.spec.strategy.as_ref().and_then(|s| s.type_)
        == Some(bosun_api::apps::DeploymentStrategyType::Recreate)
    {
        return;
    }
    let active: Vec<usize> = (0..p.rss.len())
        .filter(|i| rs_replicas(&p.rss[*i]) > 0)
        .collect();
    let allowed = if want > 0 { want + max_surge(p.d) } else { 0 };
    let to_add = allowed - p.spec_sum(&active);
    if replacement::scale_up_must_wait(p, to_add, allowed) {
        return;
    }
    let mut order = active.clone();
    let size = |i: &usize| rs_replicas(&p.rss[*i]);
    if to_add > 0 {
        // Largest first; ties: newer first.
        order.sort_by(|a, b| {
            size(b)
                .cmp(&size(a))
                .then_with(|| super::by_creation(&p.rss[*b], &p.rss[*a]))
        });
    } else if to_add < 0 {
        // Largest first; ties: older first.
        order.sort_by(|a, b| {
            size(b)
                .cmp(&size(a))
                .then_with(|| super::by_creation(&p.rss[*a], &p.rss[*b]))
        });
    }
    let mut added = 0;
    let mut sizes: Vec<(usize, i32)> = Vec::new();
    for i in &order {
        let proportion = proportion(p, *i, to_add, added);
        sizes.push((*i, size(i) + proportion));
        added += proportion;
    }
    if let Some(first) = sizes.first_mut() {
        first.1 = (first.1 + to_add - added).max(0);
    }
    for (i, to) in sizes {
        p.scale(i, to);
    }
}

/// `GetReplicaSetProportion`: this ReplicaSet's share of `to_add`, within what is left.
fn proportion(p: &Pass<'_>, i: usize, to_add: i32, added: i32) -> i32 {
    let rs = &p.rss[i];
    let size = rs_replicas(rs);
    if size == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let want = replicas(p.d);
    let fraction = if want == 0 {
        -size
    } else {
        let denominator = match int_annotation(rs, MAX_REPLICAS) {
            Some(m) if m > 0 => m,
            _ => p.d.status.as_ref().map(|s| s.replicas).unwrap_or(0),
        };
        if denominator == 0 {
            0
        } else {
            let new_max = want + max_surge(p.d);
            (f64::from(size) * f64::from(new_max) / f64::from(denominator)).round() as i32 - size
        }
    };
    let allowance = to_add - added;
    if to_add > 0 {
        fraction.min(allowance)
    } else {
        fraction.max(allowance)
    }
}

/// `cleanupDeployment`: delete the oldest idle ReplicaSets beyond `revisionHistoryLimit`.
/// Only the first `len - limit` by revision are looked at; busy ones are skipped, not replaced.
pub(crate) fn cleanup(p: &mut Pass<'_>, olds: &[usize]) {
    let Some(limit) = p.d.spec.revision_history_limit.filter(|l| *l != i32::MAX) else {
        return;
    };
    let mut candidates: Vec<usize> = olds
        .iter()
        .copied()
        .filter(|i| p.rss[*i].metadata.deletion_timestamp.is_none())
        .collect();
    let diff = candidates.len() as i64 - i64::from(limit);
    if diff <= 0 {
        return;
    }
    candidates.sort_by(|a, b| {
        let (ra, rb) = (revision(&p.rss[*a]), revision(&p.rss[*b]));
        match (ra, rb) {
            (Some(x), Some(y)) if x != y => x.cmp(&y),
            _ => super::by_creation(&p.rss[*a], &p.rss[*b]),
        }
    });
    for i in candidates.into_iter().take(diff as usize) {
        let rs = &p.rss[i];
        let s = rs.status.clone().unwrap_or_default();
        let idle = s.replicas == 0
            && rs_replicas(rs) == 0
            && rs.metadata.generation.unwrap_or(0) <= s.observed_generation.unwrap_or(0);
        if idle && rs.metadata.uid.is_some() {
            p.actions.push(super::Action::Delete(
                rs.metadata.name.clone().unwrap_or_default(),
            ));
        }
    }
}

/// The replicas, ready and available counts of ReplicaSet `i` for the Deployment's status:
/// its status's (`replica_set_utils.go` `calculateStatus`, as upstream sums them), each capped
/// by what its active pods in the pod cache show when the pass has them.
///
/// ReplicaSet statuses are written at different moments (each one paced), so summing them
/// during a rollout can add an old ReplicaSet's count from before its scale-down to a new one's
/// from after its scale-up: 27 replicas with 20 wanted and maxSurge 5, a number no moment had.
/// Capped by one snapshot of the pod cache, the sum never exceeds the pods that snapshot holds;
/// never above the statuses, the Deployment never reports more than its ReplicaSets do (a
/// complete Deployment has ReplicaSets whose statuses say so). Settled, both are the same.
fn counts(p: &Pass<'_>, i: usize) -> (i32, i32, i32) {
    let rs = &p.rss[i];
    let s = rs.status.clone().unwrap_or_default();
    let reported = (s.replicas, s.ready_replicas, s.available_replicas);
    let Some(pods) = rs.metadata.uid.as_ref().and_then(|u| p.pods_by_rs.get(u)) else {
        return reported;
    };
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    let active: Vec<_> = pods.iter().filter(|pod| is_active(pod)).collect();
    let ready = active.iter().filter(|pod| is_ready(pod)).count();
    let available = active
        .iter()
        .filter(|pod| is_available(pod, min_ready, p.now))
        .count();
    let n = |v: usize| i32::try_from(v).unwrap_or(i32::MAX);
    (
        reported.0.min(n(active.len())),
        reported.1.min(n(ready)),
        reported.2.min(n(available)),
    )
}

/// `calculateStatus` over the ReplicaSets as this pass read them: sizes from before its own
/// scaling (upstream calculates from the objects it listed, not from its writes).
pub(crate) fn calculate_status(
    p: &Pass<'_>,
    new: Option<usize>,
) -> bosun_api::apps::DeploymentStatus {
    let all = 0..p.rss.len();
    let counts: Vec<(i32, i32, i32)> = all.clone().map(|i| counts(p, i)).collect();
    let available: i32 = counts.iter().map(|c| c.2).sum();
    let spec_total: i32 = all
        .clone()
        .map(|i| {
            p.before_scale
                .get(&i)
                .copied()
                .unwrap_or_else(|| rs_replicas(&p.rss[i]))
        })
        .sum();
    let mut s = p.status.clone();
    s.observed_generation = p.d.metadata.generation;
    s.replicas = counts.iter().map(|c| c.0).sum();
    s.updated_replicas = new.map(|i| counts[i].0).unwrap_or(0);
    s.ready_replicas = counts.iter().map(|c| c.1).sum();
    s.available_replicas = available;
    s.unavailable_replicas = (spec_total - available).max(0);
    s.terminating_replicas = terminating(p);
    s.selector = Selector::new(&p.d.spec.selector)
        .ok()
        .map(|sel| sel.to_string());
    s.ready_ratio = Some(format!("{}/{}", s.ready_replicas, replicas(p.d)));
    let containers = p.d.spec.template.spec.as_ref().map(|s| &s.containers[..]);
    let (names, images) = crate::printers::layout_container_cells(containers.unwrap_or_default());
    s.template_containers = Some(names);
    s.template_images = Some(images);
    if let Some(i) = new
        && deployment_complete(p.d, &s)
    {
        s.stable_template_hash = super::abort::hash_of(p, i).map(str::to_string);
    }
    let min = replicas(p.d) - max_unavailable(p.d);
    let c = if available >= min {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            p.now,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            p.now,
        )
    };
    set_condition(&mut s, c);
    s
}

/// `GetTerminatingReplicaCountForReplicaSets`: unknown if a synced ReplicaSet does not say.
fn terminating(p: &Pass<'_>) -> Option<i32> {
    let mut sum = 0;
    for rs in &p.rss {
        let s = rs.status.clone().unwrap_or_default();
        match s.terminating_replicas {
            Some(n) => sum += n,
            None if s.observed_generation.unwrap_or(0) == 0 => {}
            None => return None,
        }
    }
    Some(sum)
}

/// `syncDeploymentStatus`: the status without the progress logic.
pub(crate) fn sync_status(p: &mut Pass<'_>, new: Option<usize>) {
    p.status = calculate_status(p, new);
    p.write_status = true;
}
