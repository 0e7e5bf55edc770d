//! A Deployment's and a ReplicaSet's health: Argo CD's rules.

use bosun_api::apps::{Deployment, ReplicaSet};
use kube::ResourceExt;

use super::Health;

/// The Deployment's health, first rule that holds (Argo CD's `getAppsv1DeploymentHealth`).
pub fn deployment_health(d: &Deployment) -> (Health, Option<String>) {
    let s = d.status.clone().unwrap_or_default();
    if d.spec.paused.unwrap_or(false) {
        return (Health::Paused, Some("Deployment is paused".into()));
    }
    if d.metadata.generation.unwrap_or(0) > s.observed_generation.unwrap_or(0) {
        return (
            Health::Progressing,
            Some("Waiting for rollout to finish: observed deployment generation less then desired generation".into()),
        );
    }
    let deadline = s.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline {
        return (
            Health::Degraded,
            Some(format!(
                "Deployment {:?} exceeded its progress deadline",
                d.name_any()
            )),
        );
    }
    let progressing = |m: String| {
        (
            Health::Progressing,
            Some(format!("Waiting for rollout to finish: {m}")),
        )
    };
    if let Some(r) = d.spec.replicas
        && s.updated_replicas < r
    {
        return progressing(format!(
            "{} out of {r} new replicas have been updated...",
            s.updated_replicas
        ));
    }
    if s.replicas > s.updated_replicas {
        return progressing(format!(
            "{} old replicas are pending termination...",
            s.replicas - s.updated_replicas
        ));
    }
    if s.available_replicas < s.updated_replicas {
        return progressing(format!(
            "{} of {} updated replicas are available...",
            s.available_replicas, s.updated_replicas
        ));
    }
    (Health::Healthy, None)
}

/// A ReplicaSet's health (Argo CD's `getAppsv1ReplicaSetHealth`), and two refinements for a
/// tree of revisions: one still removing Pods is Progressing, one with none to run nor left is
/// ScaledDown (Argo CD calls both Healthy).
pub fn replicaset_health(rs: &ReplicaSet) -> Health {
    let s = rs.status.clone().unwrap_or_default();
    if rs.metadata.generation.unwrap_or(0) > s.observed_generation.unwrap_or(0) {
        return Health::Progressing;
    }
    let failure = s
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "ReplicaFailure" && c.status == "True");
    if failure {
        return Health::Degraded;
    }
    let desired = rs.spec.replicas.unwrap_or(1);
    if s.replicas > desired {
        return Health::Progressing;
    }
    if desired == 0 && s.replicas == 0 {
        return Health::ScaledDown;
    }
    if s.available_replicas < desired {
        return Health::Progressing;
    }
    Health::Healthy
}
