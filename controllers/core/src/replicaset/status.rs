//! `calculateStatus` and `updateReplicaSetStatus` (`replica_set_utils.go`).

use bosun_api::apps::{ReplicaSet, ReplicaSetCondition, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::Timestamp;
use crate::pod::{is_available, is_ready};
use crate::printers::layout_container_cells;

/// The only ReplicaSet condition upstream sets.
pub const REPLICA_FAILURE: &str = "ReplicaFailure";

/// Whether the pod's labels hold every label of the template (`fullyLabeledReplicas`).
fn fully_labeled(rs: &ReplicaSet, pod: &Pod) -> bool {
    let want = rs
        .spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref());
    let have = pod.metadata.labels.as_ref();
    want.into_iter()
        .flatten()
        .all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
}

/// What the last `manageReplicas` did, for the `ReplicaFailure` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManageOutcome {
    /// It ran without error, or was skipped (expectations unsatisfied, owner deleted).
    Ok,
    /// It failed with this message; `diff` is active pods minus desired before it ran.
    Failed {
        /// The error's text, the condition's message.
        message: String,
        /// `len(activePods) - spec.replicas` before the attempt.
        diff: i64,
    },
}

/// `calculateStatus`: the status to write, starting from the current one.
///
/// `active` are the claimed active pods, `terminating` those controlled by this ReplicaSet
/// with a deletion timestamp and not finished, `selector` the selector's string form.
pub fn calculate(
    rs: &ReplicaSet,
    active: &[&Pod],
    terminating: i32,
    selector: &str,
    outcome: &ManageOutcome,
    now: Timestamp,
) -> ReplicaSetStatus {
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    let mut status = rs.status.clone().unwrap_or_default();
    status.replicas = active.len() as i32;
    status.fully_labeled_replicas = active.iter().filter(|p| fully_labeled(rs, p)).count() as i32;
    status.ready_replicas = active.iter().filter(|p| is_ready(p)).count() as i32;
    status.available_replicas = active
        .iter()
        .filter(|p| is_available(p, min_ready, now))
        .count() as i32;
    status.terminating_replicas = Some(terminating);
    status.observed_generation = rs.metadata.generation;
    status.selector = Some(selector.to_string());
    let containers = rs.spec.template.spec.as_ref().map(|s| &s.containers[..]);
    let (names, images) = layout_container_cells(containers.unwrap_or_default());
    status.template_containers = Some(names);
    status.template_images = Some(images);

    let mut conditions = status.conditions.take().unwrap_or_default();
    let has_failure = conditions.iter().any(|c| c.type_ == REPLICA_FAILURE);
    match outcome {
        ManageOutcome::Failed { message, diff } if !has_failure => {
            let reason = match diff {
                d if *d < 0 => "FailedCreate",
                d if *d > 0 => "FailedDelete",
                _ => "",
            };
            conditions.push(ReplicaSetCondition {
                type_: REPLICA_FAILURE.into(),
                status: "True".into(),
                last_transition_time: Some(Time(now)),
                reason: (!reason.is_empty()).then(|| reason.to_string()),
                message: Some(message.clone()),
            });
        }
        ManageOutcome::Ok => conditions.retain(|c| c.type_ != REPLICA_FAILURE),
        ManageOutcome::Failed { .. } => {}
    }
    status.conditions = (!conditions.is_empty()).then_some(conditions);
    status
}

/// `updateReplicaSetStatus`'s skip: write only when something differs from what is stored
/// (which includes `observedGeneration` lagging `metadata.generation`).
pub fn needs_write(rs: &ReplicaSet, new: &ReplicaSetStatus) -> bool {
    rs.status.as_ref() != Some(new)
}

/// Whether a status write may wait for the status pacer (bosun's own, one write per interval
/// per ReplicaSet; upstream paces nothing): only a status that follows Pods turning Ready —
/// this sync wrote no Pod (`pods_written`: created, deleted, or tried and failed), the
/// generation is already observed — and not the one that shows the ReplicaSet settled, every
/// wanted Pod ready and available. That write is what `kubectl wait` and a Deployment's rollout
/// wait for, and it comes once per change, so it always goes at once.
pub fn may_pace(rs: &ReplicaSet, new: &ReplicaSetStatus, pods_written: bool) -> bool {
    let wanted = rs.spec.replicas.unwrap_or(1);
    let settled = new.replicas == wanted
        && new.ready_replicas == wanted
        && new.available_replicas == wanted
        && new.conditions.is_none();
    let observed = rs.status.as_ref().and_then(|s| s.observed_generation) == rs.metadata.generation;
    !pods_written && observed && !settled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_that_shows_a_replicaset_settled_is_not_paced() {
        let mut r = crate::replicaset::fixtures::rs("web", 3).build();
        r.metadata.generation = Some(1);
        r.status = Some(ReplicaSetStatus {
            observed_generation: Some(1),
            ..Default::default()
        });
        let mut s = ReplicaSetStatus {
            replicas: 3,
            ready_replicas: 2,
            available_replicas: 2,
            ..Default::default()
        };
        assert!(
            may_pace(&r, &s, false),
            "2 of 3 ready: an intermediate count"
        );
        assert!(!may_pace(&r, &s, true), "this sync created or deleted Pods");
        (s.ready_replicas, s.available_replicas) = (3, 3);
        assert!(!may_pace(&r, &s, false), "3 of 3 ready and available");
        s.replicas = 4;
        assert!(may_pace(&r, &s, false), "a surplus Pod still to go");
        r.metadata.generation = Some(2);
        assert!(
            !may_pace(&r, &s, false),
            "a new generation is observed at once"
        );
    }
    use crate::pod::fixtures::{pod, t};
    use crate::replicaset::fixtures::rs;

    #[test]
    fn counts_replicas_fully_labeled_ready_and_available() {
        let r = rs("web", 3)
            .min_ready(10)
            .template_labels(&[("app", "web"), ("tier", "front")])
            .build();
        let a = pod("a")
            .labels(&[("app", "web"), ("tier", "front")])
            .ready_at(t(0))
            .build();
        let b = pod("b").labels(&[("app", "web")]).ready_at(t(5)).build();
        let c = pod("c")
            .labels(&[("app", "web"), ("tier", "front")])
            .build();
        let s = calculate(&r, &[&a, &b, &c], 1, "app=web", &ManageOutcome::Ok, t(12));
        assert_eq!(
            (
                s.replicas,
                s.fully_labeled_replicas,
                s.ready_replicas,
                s.available_replicas
            ),
            (3, 2, 2, 1)
        );
        assert_eq!(s.terminating_replicas, Some(1));
        assert_eq!(s.selector.as_deref(), Some("app=web"));
        assert_eq!(s.observed_generation, Some(1));
    }

    #[test]
    fn replica_failure_reason_follows_the_direction_of_the_diff() {
        let r = rs("web", 3).build();
        for (diff, reason) in [
            (-2, Some("FailedCreate")),
            (2, Some("FailedDelete")),
            (0, None),
        ] {
            let out = ManageOutcome::Failed {
                message: "quota".into(),
                diff,
            };
            let s = calculate(&r, &[], 0, "app=web", &out, t(0));
            let c = &s.conditions.expect("condition")[0];
            assert_eq!(
                (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()),
                ("ReplicaFailure", "True", reason)
            );
            assert_eq!(c.message.as_deref(), Some("quota"));
        }
    }

    #[test]
    fn replica_failure_is_not_rewritten_while_present() {
        let mut r = rs("web", 3).build();
        let first = calculate(
            &r,
            &[],
            0,
            "",
            &ManageOutcome::Failed {
                message: "one".into(),
                diff: -3,
            },
            t(0),
        );
        r.status = Some(first.clone());
        let again = calculate(
            &r,
            &[],
            0,
            "",
            &ManageOutcome::Failed {
                message: "two".into(),
                diff: -3,
            },
            t(9),
        );
        assert_eq!(again.conditions, first.conditions);
    }

    #[test]
    fn replica_failure_is_removed_by_a_sync_without_error() {
        let mut r = rs("web", 3).build();
        r.status = Some(calculate(
            &r,
            &[],
            0,
            "",
            &ManageOutcome::Failed {
                message: "x".into(),
                diff: -3,
            },
            t(0),
        ));
        let s = calculate(&r, &[], 0, "", &ManageOutcome::Ok, t(1));
        assert_eq!(s.conditions, None);
    }

    #[test]
    fn unchanged_status_is_not_written() {
        let mut r = rs("web", 1).build();
        let a = pod("a").ready().build();
        let s = calculate(&r, &[&a], 0, "app=web", &ManageOutcome::Ok, t(1));
        assert!(needs_write(&r, &s));
        r.status = Some(s);
        let again = calculate(&r, &[&a], 0, "app=web", &ManageOutcome::Ok, t(2));
        assert!(!needs_write(&r, &again));
        r.metadata.generation = Some(2);
        let bumped = calculate(&r, &[&a], 0, "app=web", &ManageOutcome::Ok, t(2));
        assert!(
            needs_write(&r, &bumped),
            "observedGeneration must follow generation"
        );
    }
}
