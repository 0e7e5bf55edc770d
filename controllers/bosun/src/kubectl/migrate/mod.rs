//! `kubectl bosun migrate deploy/NAME [--to apps/v1] [--dry-run] [--force]`: hand a Deployment
//! and its ReplicaSets from kube-controller-manager to bosun (or back) without deleting,
//! creating or restarting a single Pod, as OpenKruise's `kubectl kruise migrate` does for its
//! own kinds.
//!
//! The objects, for `deploy/web` with two revisions (`→` is "becomes", by the steps below):
//!
//! ```text
//! deployment.apps/web (uid D)                 → deployment.apps.bosun.dev/web (uid D')
//!  ├─ replicaset.apps/web-6b7f (rev 2, 10)    → replicaset.apps.bosun.dev/web-6b7f, owner D'
//!  │    └─ 10 Pods, controller web-6b7f        →   the same 10 Pods, controller web-6b7f (bosun)
//!  └─ replicaset.apps/web-59d9 (rev 1, 0)     → replicaset.apps.bosun.dev/web-59d9, owner D'
//! ```
//!
//! ReplicaSets keep their names, labels, selectors and templates, so their `pod-template-hash`
//! (upstream's hash, which bosun cannot compute) stays; both Deployment controllers find their
//! new ReplicaSet by `EqualIgnoreHash`, never by the hash, so neither starts a rollout.
//!
//! The order of the steps, and why ([`Plan::steps`]):
//!
//! 1. **Create the target Deployment paused.** Until its ReplicaSets exist, an unpaused one
//!    would create a new ReplicaSet of full size. Nothing has changed yet if this is refused.
//! 2. **Delete the source Deployment, orphaning** (`propagationPolicy: Orphan`) and wait until it
//!    is gone. Its ReplicaSets stay, still kept at size by their ReplicaSet controller. It must
//!    go before them: alive, it would replace a deleted ReplicaSet with a new one.
//! 3. **Delete the source ReplicaSets, orphaning.** From the moment one carries a
//!    deletionTimestamp its controller stops creating and deleting Pods for it (upstream's
//!    `syncReplicaSet` skips `manageReplicas`), and the garbage collector removes it from its
//!    Pods' owner references.
//! 4. **Wait until no Pod names a source ReplicaSet as controller.** The Pods run untouched,
//!    without a controller: no Pod is replaced during this gap, none is deleted either. It lasts
//!    as long as the garbage collector takes to patch the Pods (tens of milliseconds a Pod).
//! 5. **Create the target ReplicaSets** (same name, selector, template, size, translated
//!    annotations, controller reference to the target Deployment). Their controller adopts the
//!    orphans its selector matches before counting them, finds the count right, and creates
//!    nothing. They are created only now because a ReplicaSet that exists while its Pods still
//!    belong to the source one counts zero Pods and creates its full size: the two controllers
//!    must never both size the same Pods, and orphaning first is what keeps them apart.
//! 6. **Wait until every Pod's controller is its target ReplicaSet.**
//! 7. **Resume the target Deployment** (unless the source was paused): it finds its new
//!    ReplicaSet by template, the revisions from the translated annotations, and has nothing to
//!    do; the next template change is an ordinary rollout.
//!
//! The Pods' labels never change, so a Service's selector keeps matching them, they stay Ready,
//! and its endpoints never empty.
//!
//! A race with the target controller's cache is closed for bosun as the target: in step 5 it
//! reads Pods from its watch, and if that watch lagged behind the garbage collector's patches
//! that step 4 already saw, it would count a Pod that still shows its old owner as missing and
//! create one (then delete the surplus once it adopts; a fresh-clone CI run saw one). So the
//! ReplicaSets are created `apps.bosun.dev/adopt-only` (core's plan adopts but creates and
//! deletes nothing), and step 6 lifts it once every Pod is adopted. kube-controller-manager has
//! no such hold, so the way back keeps the race; step 6 reports any Pod that appeared.

mod act;
mod plan;
#[cfg(test)]
mod tests;
mod translate;

pub use act::run;
pub use plan::{MovedReplicaSet, Plan, PodRef, Step, plan};
pub use translate::{
    refusal, set_owner_uid, target_deployment, target_replicaset, translate_annotations,
};

use kube::core::{ApiResource, GroupVersionKind};

use bosun_core::deployment::util::{DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY};

use super::Failure;

/// The Deployment controller's annotations: upstream's key, bosun's key. The rollback request
/// (`deprecated.deployment.rollback.to`) has the same key in both.
pub const ANNOTATIONS: [(&str, &str); 4] = [
    ("deployment.kubernetes.io/revision", REVISION),
    (
        "deployment.kubernetes.io/revision-history",
        REVISION_HISTORY,
    ),
    (
        "deployment.kubernetes.io/desired-replicas",
        DESIRED_REPLICAS,
    ),
    ("deployment.kubernetes.io/max-replicas", MAX_REPLICAS),
];

/// kubectl's last-applied annotation: it records the manifest of the *source* object
/// (`apiVersion: apps/v1`), so it is not carried over; `kubectl apply` of the target's own
/// manifest starts it afresh.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The field manager of the objects `migrate` creates.
const MANAGER: &str = "kubectl-bosun-migrate";

/// One of the two APIs a Deployment can live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `apps/v1`, run by kube-controller-manager.
    Apps,
    /// `apps.bosun.dev/v1`, run by bosun.
    Bosun,
}

impl Flavor {
    /// `--to`'s value: `apps/v1` or `apps.bosun.dev/v1`.
    pub fn parse(s: &str) -> Result<Flavor, Failure> {
        match s {
            "apps/v1" | "apps" => Ok(Flavor::Apps),
            "apps.bosun.dev/v1" | "apps.bosun.dev" | "bosun" => Ok(Flavor::Bosun),
            other => Err(Failure(format!(
                "error: --to must be \"apps.bosun.dev/v1\" or \"apps/v1\", not {other:?}"
            ))),
        }
    }

    /// The other one.
    pub fn other(self) -> Flavor {
        match self {
            Flavor::Apps => Flavor::Bosun,
            Flavor::Bosun => Flavor::Apps,
        }
    }

    /// The API group.
    pub fn group(self) -> &'static str {
        match self {
            Flavor::Apps => "apps",
            Flavor::Bosun => "apps.bosun.dev",
        }
    }

    /// `apps/v1` or `apps.bosun.dev/v1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::Apps => "apps/v1",
            Flavor::Bosun => "apps.bosun.dev/v1",
        }
    }

    /// kubectl's `kind.group` of `kind` (`Deployment` → `deployment.apps`).
    pub fn kind_group(self, kind: &str) -> String {
        format!("{}.{}", kind.to_ascii_lowercase(), self.group())
    }

    /// The resource of `kind` for the client.
    pub fn resource(self, kind: &str) -> ApiResource {
        let plural = format!("{}s", kind.to_ascii_lowercase());
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group(), "v1", kind), &plural)
    }

    /// `deployments.apps "web"`, as kubectl names an object in its errors.
    fn quoted(self, kind: &str, name: &str) -> String {
        format!("{}s.{} {name:?}", kind.to_ascii_lowercase(), self.group())
    }
}

/// `deploy/NAME`, `deployment/NAME` or `NAME`.
pub fn name_of(target: &str) -> Result<String, Failure> {
    match target.split_once('/') {
        None => Ok(target.to_string()),
        Some((kind, name)) if super::Kind::parse(kind) == Some(super::Kind::Deployment) => {
            Ok(name.to_string())
        }
        Some((kind, _)) => Err(Failure(format!(
            "error: kubectl bosun migrate works on deployments (deploy/NAME), not {kind:?}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
