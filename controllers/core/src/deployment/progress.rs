//! Conditions and progress (`progress.go`, `SetDeploymentCondition`, `checkPausedConditions`).

use bosun_api::apps::{DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::util::{
    deployment_complete, deployment_progressing, deployment_timed_out, progress_deadline,
};
use super::{Pass, Requeue};
use crate::{SignedDuration, Timestamp};

/// `NewDeploymentCondition`.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: Timestamp,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
        reason: Some(reason.into()),
        message: Some(message),
    }
}

/// `getNewReplicaSet` when the create fails (any error but AlreadyExists or a terminating
/// namespace): the message of the Warning event, and, with a progress deadline, the status to
/// write: the Deployment's own with `Progressing=False`, reason `ReplicaSetCreateError`.
pub fn replica_set_create_failed(
    d: &bosun_api::apps::Deployment,
    name: &str,
    error: &str,
    now: Timestamp,
) -> (String, Option<DeploymentStatus>) {
    let message = format!("Failed to create new replica set {name:?}: {error}");
    let status = progress_deadline(d).map(|_| {
        let mut s = d.status.clone().unwrap_or_default();
        set_condition(
            &mut s,
            condition(
                "Progressing",
                "False",
                FAILED_RS_CREATE_REASON,
                message.clone(),
                now,
            ),
        );
        s
    });
    (message, status)
}

/// `FailedRSCreateReason`.
pub const FAILED_RS_CREATE_REASON: &str = "ReplicaSetCreateError";

/// The condition of `type_`, if any.
pub fn get<'s>(status: &'s DeploymentStatus, type_: &str) -> Option<&'s DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
}

/// `SetDeploymentCondition`: no-op when status and reason are unchanged; keeps the transition
/// time when only the reason changes; the new condition goes last.
pub fn set_condition(status: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = get(status, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(status, &c.type_);
    status.conditions.get_or_insert_with(Vec::new).push(c);
}

/// `RemoveDeploymentCondition`.
pub fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = status.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
        if cs.is_empty() {
            status.conditions = None;
        }
    }
}

pub(crate) fn reason(status: &DeploymentStatus, type_: &str) -> Option<String> {
    get(status, type_).and_then(|c| c.reason.clone())
}

/// `checkPausedConditions`: `Progressing=Unknown` with DeploymentPaused or DeploymentResumed,
/// never over ProgressDeadlineExceeded.
pub(crate) fn check_paused_conditions(p: &mut Pass<'_>) {
    if progress_deadline(p.d).is_none() {
        return;
    }
    let r = reason(&p.status, "Progressing");
    if r.as_deref() == Some("ProgressDeadlineExceeded") {
        return;
    }
    let paused = p.d.spec.paused.unwrap_or(false);
    let paused_cond = r.as_deref() == Some("DeploymentPaused");
    if paused && !paused_cond {
        set_condition(
            &mut p.status,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentPaused",
                "Deployment is paused".into(),
                p.now,
            ),
        );
        p.write_status = true;
    } else if !paused && paused_cond {
        set_condition(
            &mut p.status,
            condition(
                "Progressing",
                "Unknown",
                "DeploymentResumed",
                "Deployment is resumed".into(),
                p.now,
            ),
        );
        p.write_status = true;
    }
}

/// `syncRolloutStatus`: the status with the progress conditions, and the requeue for the
/// progress deadline when nothing changed.
pub(crate) fn sync_rollout_status(p: &mut Pass<'_>, new: Option<usize>) {
    let mut status = super::sync::calculate_status(p, new);
    let rs_name = new.and_then(|i| p.rss[i].metadata.name.clone());
    let subject = match &rs_name {
        Some(n) => format!("ReplicaSet {n:?}"),
        None => format!("Deployment {:?}", p.name()),
    };
    if progress_deadline(p.d).is_none() {
        remove_condition(&mut status, "Progressing");
    }
    let cur = get(&status, "Progressing").cloned();
    let complete = status.replicas == status.updated_replicas
        && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some("NewReplicaSetAvailable");
    let aborted = super::abort::is_aborted(p, new);
    if aborted {
        // The hash is written before the status (its own manager), so a pass can read the
        // hash beside the condition of before: an abort found on a rollout past its deadline
        // is progressDeadlineAbort's.
        let why = if p.d.spec.progress_deadline_abort == Some(true)
            && deployment_timed_out(p.d, &status, p.now)
        {
            "timed out progressing"
        } else {
            "aborted"
        };
        mark_aborted(p, &mut status, new, cur.as_ref(), why);
    } else if progress_deadline(p.d).is_some() && !complete {
        if deployment_complete(p.d, &status) {
            let msg = format!("{subject} has successfully progressed.");
            set_condition(
                &mut status,
                condition("Progressing", "True", "NewReplicaSetAvailable", msg, p.now),
            );
        } else if let Some(kept) = partitioned(p, &status, new) {
            let updated = status.updated_replicas;
            let msg = format!(
                "{subject} is rolled out to its partition: {updated} of {} pods updated, {kept} kept on old revisions.",
                super::util::replicas(p.d)
            );
            set_condition(
                &mut status,
                condition("Progressing", "True", PARTITIONED, msg, p.now),
            );
        } else if deployment_progressing(p.d, &status)
            || matches!(
                cur.as_ref().and_then(|c| c.reason.as_deref()),
                Some(PARTITIONED | super::abort::ABORTED)
            )
        {
            // A partition lowered (promote) or an abort lifted (retry, or a new template)
            // resumes the rollout: progressing again at once, with a fresh deadline, so
            // `rollout status` never reads the stopped state of before.
            let msg = format!("{subject} is progressing.");
            let mut c = condition("Progressing", "True", "ReplicaSetUpdated", msg, p.now);
            if let Some(cur) = cur.as_ref().filter(|c| c.status == "True") {
                c.last_transition_time = cur.last_transition_time.clone();
            }
            remove_condition(&mut status, "Progressing");
            set_condition(&mut status, c);
        } else if deployment_timed_out(p.d, &status, p.now) {
            let msg = format!("{subject} has timed out progressing.");
            set_condition(
                &mut status,
                condition(
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    msg,
                    p.now,
                ),
            );
        }
    }
    // progressDeadlineAbort: the deadline just passed; give the template up.
    let timed_out = reason(&status, "Progressing").as_deref() == Some("ProgressDeadlineExceeded");
    if !aborted
        && timed_out
        && p.d.spec.progress_deadline_abort == Some(true)
        && let Some(hash) = new.and_then(|i| super::abort::hash_of(p, i))
    {
        status.aborted_template_hash = Some(hash.to_string());
        p.status.aborted_template_hash = status.aborted_template_hash.clone();
        p.abort = Some(status.aborted_template_hash.clone());
        let cur = get(&status, "Progressing").cloned();
        mark_aborted(p, &mut status, new, cur.as_ref(), "timed out progressing");
    }
    // ReplicaFailure mirrors the new ReplicaSet's, else any other ReplicaSet's.
    let failure = new
        .into_iter()
        .chain(0..p.rss.len())
        .filter_map(|i| {
            p.rss[i]
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "ReplicaFailure")
                .cloned()
        })
        .next();
    match failure {
        Some(f) => set_condition(
            &mut status,
            bosun_api::apps::DeploymentCondition {
                type_: "ReplicaFailure".into(),
                status: f.status,
                last_update_time: f.last_transition_time.clone(),
                last_transition_time: f.last_transition_time,
                reason: f.reason,
                message: f.message,
            },
        ),
        None => remove_condition(&mut status, "ReplicaFailure"),
    }
    if p.d.status.as_ref() == Some(&status) {
        p.requeue = requeue_stuck(p, &status);
    }
    p.status = status;
    p.write_status = true;
}

/// `Progressing=False`, reason RolloutAborted, and a Warning Event, once per abort: `why` is
/// "aborted" (by hand) or "timed out progressing" (progressDeadlineAbort).
fn mark_aborted(
    p: &mut Pass<'_>,
    status: &mut super::DeploymentStatus,
    new: Option<usize>,
    cur: Option<&bosun_api::apps::DeploymentCondition>,
    why: &str,
) {
    if cur.and_then(|c| c.reason.as_deref()) == Some(super::abort::ABORTED) {
        return;
    }
    let name = |i: usize| p.rss[i].metadata.name.clone().unwrap_or_default();
    let subject = new.map(name).unwrap_or_default();
    let back = match super::abort::stable(p, new) {
        Some(i) => format!("rolling back to ReplicaSet {:?}", name(i)),
        None => "no earlier revision to roll back to".into(),
    };
    let msg = format!("Rollout of ReplicaSet {subject:?} {why}; {back}.");
    set_condition(
        status,
        condition(
            "Progressing",
            "False",
            super::abort::ABORTED,
            msg.clone(),
            p.now,
        ),
    );
    p.event(true, super::abort::ABORTED, msg);
}

/// The Progressing reason of a rollout that stopped at its partition (bosun's own, after
/// OpenKruise's `partition`): `Progressing=True`, so the progress deadline does not run while
/// the Deployment waits for `kubectl bosun rollout promote`.
pub const PARTITIONED: &str = "RolloutPartitioned";

/// A rolling update stopped at its partition, every Pod available: how many Pods the old
/// revisions keep (`None` when not there, or nothing is kept).
fn partitioned(p: &Pass<'_>, s: &super::DeploymentStatus, new: Option<usize>) -> Option<i32> {
    let olds = p.old_indexes(new);
    let kept = super::rolling::kept_on_old(p, &olds);
    let r = super::util::replicas(p.d);
    let settled = kept > 0
        && new.is_some_and(|i| super::util::rs_replicas(&p.rss[i]) == r - kept)
        && s.updated_replicas == r - kept
        && s.replicas == r
        && s.available_replicas == r
        && s.observed_generation.unwrap_or(0) >= p.d.metadata.generation.unwrap_or(0);
    settled.then_some(kept)
}

/// `requeueStuckDeployment`: look again just after the progress deadline.
fn requeue_stuck(p: &Pass<'_>, new: &super::DeploymentStatus) -> Requeue {
    let Some(deadline) = progress_deadline(p.d) else {
        return Requeue::No;
    };
    let current = p.d.status.clone().unwrap_or_default();
    let Some(c) = get(&current, "Progressing") else {
        return Requeue::No;
    };
    if deployment_complete(p.d, new)
        || matches!(
            c.reason.as_deref(),
            Some("ProgressDeadlineExceeded" | PARTITIONED | super::abort::ABORTED)
        )
    {
        return Requeue::No;
    }
    let Some(updated) = c.last_update_time.as_ref() else {
        return Requeue::No;
    };
    let at = updated
        .0
        .checked_add(SignedDuration::from_secs(i64::from(deadline)))
        .unwrap_or(p.now);
    let after = p.now.duration_until(at);
    if after < SignedDuration::from_secs(1) {
        Requeue::RateLimited
    } else {
        Requeue::After(after + SignedDuration::from_secs(1))
    }
}
