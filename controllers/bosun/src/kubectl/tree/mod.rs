//! `kubectl bosun get deploy NAME`: a Deployment, its ReplicaSets by revision and their Pods as
//! a tree, in the layout of Argo Rollouts' `kubectl argo rollouts get rollout`. Pure: the
//! objects and the time now in, a [`Tree`] out ([`build`]); then text ([`render_text`]) or a
//! JSON document ([`to_json`]). `kubectl/get.rs` reads and watches the objects.
//!
//! ```text
//! Name:            web
//! Namespace:       default
//! Status:          ◌ Progressing
//! Message:         Waiting for rollout to finish: 1 out of 3 new replicas have been updated...
//! Strategy:        RollingUpdate (max surge 25%, max unavailable 25%)
//! ...
//! NAME                      KIND        STATUS         AGE  INFO
//! ⟳ web                     Deployment  ◌ Progressing  5m
//! ├──# revision:2
//! │  └──⧉ web-7c9f6b5d4     ReplicaSet  ◌ Progressing  10s  new,ready:0/1
//! │     └──□ web-7c9f6b5d4-x2x8v  Pod   ◌ ContainerCreating  10s  ready:0/1,restarts:0
//! └──# revision:1
//!    └──⧉ web-5d8b9c7f6d    ReplicaSet  ✔ Healthy      5m   stable,ready:3/3
//! ```
//!
//! Every glyph is one code point that terminals draw one column wide (box drawing, Dingbats,
//! Geometric Shapes; no emoji, no variation selectors), so the columns line up; colour is an
//! argument, decided by the caller (a terminal, and no `NO_COLOR`).

//!
//! ```text
//! build.rs   the Tree from the objects (roles: new, stable, old)
//! health.rs  Argo CD's health of a Deployment and a ReplicaSet
//! pod.rs     kubectl's STATUS, READY and RESTARTS cells of a Pod
//! render.rs  the text; json.rs: the document of -o json|yaml
//! ```

mod build;
#[cfg(test)]
mod fixtures;
mod health;
mod json;
mod pod;
mod render;
#[cfg(test)]
mod tests;

pub use build::build;
pub use health::{deployment_health, replicaset_health};
pub use json::to_json;
pub use pod::pod_cells;
pub use render::render_text;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

/// A workload's health: Argo CD's words (gitops-engine `health_deployment.go`,
/// `health_replicaset.go`, the rules of `docs/argocd-health.lua`), with Argo Rollouts'
/// `Paused` for Argo CD's `Suspended` and `ScaledDown` for a ReplicaSet with nothing to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Rolled out: every replica updated and available.
    Healthy,
    /// Moving towards the spec.
    Progressing,
    /// Stuck: the progress deadline passed, or a ReplicaSet cannot create its Pods.
    Degraded,
    /// `spec.paused`.
    Paused,
    /// A ReplicaSet of zero replicas with none left.
    ScaledDown,
}

impl Health {
    /// The word.
    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Progressing => "Progressing",
            Health::Degraded => "Degraded",
            Health::Paused => "Paused",
            Health::ScaledDown => "ScaledDown",
        }
    }

    fn tone(self) -> Tone {
        match self {
            Health::Healthy => Tone::Ok,
            Health::Progressing => Tone::Waiting,
            Health::Degraded => Tone::Bad,
            Health::Paused => Tone::Paused,
            Health::ScaledDown => Tone::Neutral,
        }
    }
}

/// How a status reads: its icon and colour (Argo Rollouts' icons, `॥` drawn as `‖`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ok,
    Waiting,
    Bad,
    Paused,
    Neutral,
    Unknown,
}

impl Tone {
    fn icon(self) -> char {
        match self {
            Tone::Ok => '✔',
            Tone::Waiting => '◌',
            Tone::Bad => '✖',
            Tone::Paused => '‖',
            Tone::Neutral => '•',
            Tone::Unknown => '?',
        }
    }

    /// The ANSI SGR code of its colour.
    fn sgr(self) -> &'static str {
        match self {
            Tone::Ok => "32",
            Tone::Waiting => "33",
            Tone::Bad => "31",
            Tone::Paused => "36",
            Tone::Neutral | Tone::Unknown => "90",
        }
    }
}

/// What a ReplicaSet is to its Deployment's rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The newest revision that is fully rolled out: the new ReplicaSet once the rollout is
    /// complete, else the old one of the highest revision still running Pods.
    Stable,
    /// The new ReplicaSet (the Deployment's template) while the rollout is not complete.
    New,
    /// Any other.
    Old,
}

impl Role {
    /// `stable`, `new` or `old`.
    pub fn word(self) -> &'static str {
        match self {
            Role::Stable => "stable",
            Role::New => "new",
            Role::Old => "old",
        }
    }
}

/// The rollout strategy, with upstream's default for an absent `rollingUpdate`.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// `RollingUpdate` and its bounds as written (`25%` or a count).
    RollingUpdate {
        /// `maxSurge`.
        max_surge: IntOrString,
        /// `maxUnavailable`.
        max_unavailable: IntOrString,
    },
    /// `Recreate`.
    Recreate,
}

/// A condition of the Deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// `type`.
    pub type_: String,
    /// `status`.
    pub status: String,
    /// `reason`, empty when none.
    pub reason: String,
    /// `message`, empty when none.
    pub message: String,
}

/// The Deployment's replica counts: `spec.replicas` and the status'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replicas {
    /// `spec.replicas` (1 when unset).
    pub desired: i32,
    /// `status.replicas`.
    pub current: i32,
    /// `status.updatedReplicas`.
    pub updated: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// One Pod as `kubectl get pods` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodNode {
    /// Its name.
    pub name: String,
    /// kubectl's STATUS cell.
    pub status: String,
    /// Ready containers.
    pub ready: usize,
    /// Containers (regular and restartable init ones).
    pub containers: usize,
    /// kubectl's RESTARTS count.
    pub restarts: i64,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
}

/// One ReplicaSet and its Pods.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSetNode {
    /// Its name.
    pub name: String,
    /// `bosun.dev/revision` (`None` when unparsable; missing counts as 0, as upstream's).
    pub revision: Option<i64>,
    /// Its role in the rollout.
    pub role: Role,
    /// Its health.
    pub health: Health,
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas`.
    pub current: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// Its template's images.
    pub images: Vec<String>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// Its Pods (controlled by it), by name.
    pub pods: Vec<PodNode>,
}

/// A Deployment, its ReplicaSets newest revision first, and their Pods.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The Deployment's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// Its health.
    pub health: Health,
    /// Why it is not healthy (Argo CD's message), if it is not.
    pub message: Option<String>,
    /// `spec.paused`.
    pub paused: bool,
    /// The strategy.
    pub strategy: Strategy,
    /// The replica counts.
    pub replicas: Replicas,
    /// `status.conditions`, in the object's order.
    pub conditions: Vec<Condition>,
    /// The ReplicaSets it controls, by revision descending, then name.
    pub replica_sets: Vec<ReplicaSetNode>,
}
