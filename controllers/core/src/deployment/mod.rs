//! The Deployment controller's decisions (`pkg/controller/deployment/`).
//!
//! One sync, as upstream's `syncDeployment`, in this order:
//!
//! 1. claim ReplicaSets (keep, adopt, release — [`crate::claim`]);
//! 2. being deleted → status only;
//! 3. `checkPausedConditions`;
//! 4. paused, or a scaling event (an active ReplicaSet's `desired-replicas` differs from
//!    `spec.replicas`) → [`sync`]: proportional scaling (and cleanup when paused);
//! 5. otherwise roll out by strategy: [`rolling`] or [`recreate`].
//!
//! A pass works on copies of the ReplicaSets and records what to write: a ReplicaSet to create,
//! sizes and annotations to change, old ReplicaSets to delete, the Deployment's revision
//! annotation, its status, events, and when to look again.

pub mod abort;
pub mod events;
pub mod named;
pub mod progress;
pub mod recreate;
pub mod replacement;
pub mod rollback;
pub mod rolling;
pub mod sync;
pub mod util;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use bosun_api::apps::{
    Deployment, DeploymentStatus, DeploymentStrategyType, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::claim::{Claim, Owner, claim};
use crate::selector::Selector;
use crate::{SignedDuration, Timestamp};
use util::*;

/// What one sync observed.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The Deployment.
    pub deployment: &'a Deployment,
    /// Its parsed selector.
    pub selector: &'a Selector,
    /// ReplicaSets of its namespace whose controller is this Deployment, and orphans.
    pub candidates: Vec<&'a ReplicaSet>,
    /// Pods by the UID of the ReplicaSet that controls them (any phase, terminating included).
    /// The plan keeps only those of ReplicaSets it claims, so the act side may pass the pods of
    /// every candidate.
    pub pods_by_rs: HashMap<String, Vec<&'a Pod>>,
}

/// A write to a ReplicaSet.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create this ReplicaSet (the new one).
    Create(Box<ReplicaSet>),
    /// Set `spec.replicas` (and these annotations) of an existing ReplicaSet.
    Scale {
        /// Its name.
        name: String,
        /// The size it had.
        from: i32,
        /// The size it gets.
        to: i32,
        /// Its annotations after the change.
        annotations: BTreeMap<String, String>,
        /// The resourceVersion the decision was made on: the write is refused (Conflict) when
        /// the ReplicaSet changed since, as upstream's Update is.
        resource_version: Option<String>,
    },
    /// Update the new ReplicaSet's annotations and `minReadySeconds` (revision sync).
    Annotate {
        /// Its name.
        name: String,
        /// Its annotations after the change.
        annotations: BTreeMap<String, String>,
        /// Its `minReadySeconds` after the change.
        min_ready_seconds: Option<i32>,
        /// The resourceVersion the decision was made on (see [`Action::Scale`]).
        resource_version: Option<String>,
    },
    /// Delete an old ReplicaSet (`revisionHistoryLimit`).
    Delete(String),
    /// Set a ReplicaSet's `spec.scaleStrategy.podsToDelete` (the Deployment's names of its
    /// Pods, [`named`]).
    PodsToDelete {
        /// Its name.
        name: String,
        /// The list after the change.
        pods: Vec<String>,
        /// Its annotations, unchanged.
        annotations: BTreeMap<String, String>,
        /// The resourceVersion the decision was made on (see [`Action::Scale`]).
        resource_version: Option<String>,
    },
}

/// An event on the Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Normal (`false`) or Warning (`true`).
    pub warning: bool,
    /// The reason.
    pub reason: String,
    /// The message.
    pub message: String,
}

/// A rewrite of the Deployment itself (the rollback annotation's outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    /// The template to copy back, if the rollback happens.
    pub template: Option<k8s_openapi::api::core::v1::PodTemplateSpec>,
    /// The Deployment's annotations afterwards (the rollback annotation removed).
    pub annotations: BTreeMap<String, String>,
}

/// When to sync again without a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Not needed.
    No,
    /// At once, with backoff (a deadline less than a second away).
    RateLimited,
    /// After this long (the progress deadline).
    After(SignedDuration),
}

/// The decisions of one sync.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Orphan ReplicaSets to adopt.
    pub adopt: Vec<&'a ReplicaSet>,
    /// Owned ReplicaSets to release.
    pub release: Vec<&'a ReplicaSet>,
    /// ReplicaSet writes, in order.
    pub actions: Vec<Action>,
    /// The Deployment's annotations after the sync, when they change (the revision).
    pub annotations: Option<BTreeMap<String, String>>,
    /// The status to write, when it changes.
    pub status: Option<DeploymentStatus>,
    /// Events.
    pub events: Vec<Event>,
    /// When to look again.
    pub requeue: Requeue,
    /// A rollback to write to the Deployment (replacing its template and annotations).
    pub rollback: Option<Rollback>,
    /// The Deployment's `spec.scaleStrategy.podsToDelete` to write back, without the names
    /// no Pod of its ReplicaSets has ([`named`]).
    pub pods_to_delete: Option<Vec<String>>,
    /// `status.abortedTemplateHash` to write, apart from the rest of the status
    /// ([`abort::MANAGER`]): `Some(None)` removes it.
    pub abort: Option<Option<String>>,
}

/// One pass over copies of the owned ReplicaSets.
pub(crate) struct Pass<'a> {
    pub d: &'a Deployment,
    pub now: Timestamp,
    pub rss: Vec<ReplicaSet>,
    /// `spec.replicas` of the ReplicaSets this pass scaled, as they were before it scaled them:
    /// upstream's status is calculated from the ReplicaSet objects it read, not from its writes.
    pub before_scale: HashMap<usize, i32>,
    /// Pods of the claimed ReplicaSets, by ReplicaSet UID.
    pub pods_by_rs: HashMap<String, Vec<&'a Pod>>,
    /// The Deployment's selector.
    pub selector: &'a Selector,
    /// The Deployment's status as this pass updates its conditions (the start of
    /// `calculateStatus`).
    pub status: DeploymentStatus,
    pub annotations: BTreeMap<String, String>,
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    pub write_status: bool,
    pub requeue: Requeue,
    pub rollback: Option<Rollback>,
    pub abort: Option<Option<String>>,
}

impl<'a> Pass<'a> {
    pub fn name(&self) -> String {
        self.d.metadata.name.clone().unwrap_or_default()
    }

    pub fn event(&mut self, warning: bool, reason: &str, message: String) {
        self.events.push(Event {
            warning,
            reason: reason.into(),
            message,
        });
    }

    /// `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the Deployment's.
    pub fn new_index(&self) -> Option<usize> {
        let mut matches: Vec<usize> = (0..self.rss.len())
            .filter(|i| equal_ignore_hash(&self.rss[*i].spec.template, &self.d.spec.template))
            .collect();
        matches.sort_by(|a, b| by_creation(&self.rss[*a], &self.rss[*b]));
        matches.first().copied()
    }

    /// Indexes of the old ReplicaSets.
    pub fn old_indexes(&self, new: Option<usize>) -> Vec<usize> {
        (0..self.rss.len()).filter(|i| Some(*i) != new).collect()
    }

    /// Σ `spec.replicas` over `idx`.
    pub fn spec_sum(&self, idx: &[usize]) -> i32 {
        idx.iter().map(|i| rs_replicas(&self.rss[*i])).sum()
    }

    /// Σ over `idx` of the Pods that count against `replicas + maxSurge`: `spec.replicas`, or,
    /// with `podReplacementPolicy: TerminationComplete`, the Pods that exist
    /// ([`replacement::existing`]).
    pub fn counted_sum(&self, idx: &[usize]) -> i32 {
        if replacement::counts_terminating(self.d) {
            idx.iter().map(|i| replacement::existing(self, *i)).sum()
        } else {
            self.spec_sum(idx)
        }
    }

    /// `scaleReplicaSet`: set the size and stamp the replicas annotations; records a write
    /// when either changed, and the `ScalingReplicaSet` event when the size did.
    pub fn scale(&mut self, i: usize, to: i32) {
        let desired = replicas(self.d);
        let max = desired + max_surge(self.d);
        let rs = &mut self.rss[i];
        let from = rs_replicas(rs);
        let stamped = set_replicas_annotations(rs, desired, max);
        if from == to && !stamped {
            return;
        }
        rs.spec.replicas = Some(to);
        self.before_scale.entry(i).or_insert(from);
        let name = rs.metadata.name.clone().unwrap_or_default();
        let annotations = rs.metadata.annotations.clone().unwrap_or_default();
        let resource_version = rs.metadata.resource_version.clone();
        if from != to {
            let dir = if to > from { "up" } else { "down" };
            self.event(
                false,
                "ScalingReplicaSet",
                format!("Scaled {dir} replica set {name} from {from} to {to}"),
            );
        }
        if let Some(Action::Create(created)) = self
            .actions
            .iter_mut()
            .find(|a| matches!(a, Action::Create(c) if c.metadata.name.as_deref() == Some(&name)))
        {
            created.spec.replicas = Some(to);
            created.metadata.annotations = Some(annotations);
            return;
        }
        self.actions.push(Action::Scale {
            name,
            from,
            to,
            annotations,
            resource_version,
        });
    }

    /// `scaleReplicaSetAndRecordEvent`: scale only when the size differs.
    pub fn scale_if_needed(&mut self, i: usize, to: i32) -> bool {
        if rs_replicas(&self.rss[i]) == to {
            return false;
        }
        self.scale(i, to);
        true
    }

    /// `getAllReplicaSetsAndSyncRevision`: find (or, with `create`, make) the new ReplicaSet and
    /// bring the revisions up to date. Returns the new ReplicaSet's index.
    pub fn sync_revision(&mut self, create: bool) -> Option<usize> {
        let new = self.new_index();
        let olds = self.old_indexes(new);
        let new_revision = max_revision(olds.iter().map(|i| &self.rss[*i])) + 1;
        let deadline = progress_deadline(self.d).is_some();
        if let Some(i) = new {
            let mut updated = self.rss[i].clone();
            let mut changed = set_new_rs_annotations(self.d, &mut updated, new_revision, true);
            if updated.spec.min_ready_seconds != self.d.spec.min_ready_seconds {
                updated.spec.min_ready_seconds = self.d.spec.min_ready_seconds;
                changed = true;
            }
            if changed {
                self.actions.push(Action::Annotate {
                    name: updated.metadata.name.clone().unwrap_or_default(),
                    annotations: updated.metadata.annotations.clone().unwrap_or_default(),
                    min_ready_seconds: updated.spec.min_ready_seconds,
                    resource_version: updated.metadata.resource_version.clone(),
                });
                self.rss[i] = updated;
                return Some(i);
            }
            if let Some(rev) = self.rss[i]
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .cloned()
            {
                self.annotations.insert(REVISION.into(), rev);
            }
            let has_progressing = self
                .status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Progressing");
            if deadline && !has_progressing {
                let msg = format!(
                    "Found new replica set {:?}",
                    self.rss[i].metadata.name.clone().unwrap_or_default()
                );
                progress::set_condition(
                    &mut self.status,
                    progress::condition("Progressing", "True", "FoundNewReplicaSet", msg, self.now),
                );
            }
            return Some(i);
        }
        if !create {
            return None;
        }
        let rs = self.new_replicaset(new_revision, &olds);
        let name = rs.metadata.name.clone().unwrap_or_default();
        let size = rs_replicas(&rs);
        self.annotations
            .insert(REVISION.into(), new_revision.to_string());
        if size > 0 {
            self.event(
                false,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {size}"),
            );
        }
        if deadline {
            let msg = format!("Created new replica set {name:?}");
            progress::set_condition(
                &mut self.status,
                progress::condition("Progressing", "True", "NewReplicaSetCreated", msg, self.now),
            );
        }
        self.actions.push(Action::Create(Box::new(rs.clone())));
        self.rss.push(rs);
        Some(self.rss.len() - 1)
    }

    /// The new ReplicaSet `getNewReplicaSet` creates.
    fn new_replicaset(&self, revision: i64, olds: &[usize]) -> ReplicaSet {
        let d = self.d;
        let collision = d.status.as_ref().and_then(|s| s.collision_count);
        let hash = compute_hash(&d.spec.template, collision);
        let (template, selector) = with_hash(d, &hash);
        let labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(replicaset_name(&self.name(), &hash)),
                namespace: d.metadata.namespace.clone(),
                labels,
                owner_references: Some(vec![controller_ref(d)]),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: d.spec.min_ready_seconds,
                scale_strategy: None,
                selector,
                template,
            },
            status: None,
        };
        set_new_rs_annotations(d, &mut rs, revision, false);
        let total = self.counted_sum(olds);
        let kept = partition(d).min(self.spec_sum(olds));
        rs.spec.replicas = Some(new_rs_new_replicas(d, total, 0).min(replicas(d) - kept));
        rs
    }
}

/// The controller reference a Deployment puts on its ReplicaSets.
pub fn controller_ref(d: &Deployment) -> OwnerReference {
    crate::claim::controller_ref("Deployment", &d.metadata)
}

/// `ReplicaSetsByCreationTimestamp`: older first, then by name.
pub(crate) fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> std::cmp::Ordering {
    let t = |r: &ReplicaSet| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
    // A ReplicaSet still to be created has no timestamp: it is the newest.
    match (t(a), t(b)) {
        (Some(x), Some(y)) if x != y => x.cmp(&y),
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        _ => a.metadata.name.cmp(&b.metadata.name),
    }
}

fn is_recreate(d: &Deployment) -> bool {
    d.spec.strategy.as_ref().and_then(|s| s.type_) == Some(DeploymentStrategyType::Recreate)
}

/// `syncDeployment`'s first check: a Deployment whose selector selects everything does
/// nothing but say so (a Warning Event, `SelectingAll`). Otherwise its parsed selector.
pub fn selector(d: &Deployment) -> Result<Selector, Event> {
    match Selector::new(&d.spec.selector) {
        Ok(s) if !s.is_empty() => Ok(s),
        _ => Err(Event {
            warning: true,
            reason: "SelectingAll".into(),
            message: "This deployment is selecting all pods. A non-empty selector is required."
                .into(),
        }),
    }
}

impl Plan<'_> {
    /// Whether its status write may wait for the status pacer (bosun's own, upstream paces
    /// nothing): only a status that follows Pods and ReplicaSets (no ReplicaSet written, no
    /// abort to report, the generation already observed) and does not show the rollout
    /// complete ([`util::may_pace`]).
    pub fn may_pace_status(&self, d: &Deployment) -> bool {
        self.actions.is_empty()
            && self.abort.is_none()
            && self.status.as_ref().is_some_and(|s| util::may_pace(d, s))
            && d.status.as_ref().and_then(|s| s.observed_generation) == d.metadata.generation
    }

    /// The annotations to merge into the Deployment: those of [`Plan::annotations`] whose
    /// value differs from the Deployment's (empty when none does).
    pub fn changed_annotations(&self, d: &Deployment) -> BTreeMap<String, String> {
        let current = d.metadata.annotations.as_ref();
        self.annotations
            .iter()
            .flatten()
            .filter(|(k, v)| current.and_then(|c| c.get(*k)) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Plan one sync of a Deployment.
pub fn plan<'a>(o: Observed<'a>, now: Timestamp) -> Plan<'a> {
    let d = o.deployment;
    let owner = Owner {
        uid: d.metadata.uid.as_deref().unwrap_or_default(),
        namespace: d.metadata.namespace.as_deref().unwrap_or_default(),
        deleting: d.metadata.deletion_timestamp.is_some(),
    };
    let (mut adopt, mut release, mut owned) = (Vec::new(), Vec::new(), Vec::new());
    for rs in &o.candidates {
        let matches = !o.selector.is_empty() && o.selector.matches(rs.metadata.labels.as_ref());
        match claim(owner, &rs.metadata, matches) {
            Claim::Keep => owned.push((*rs).clone()),
            Claim::Adopt => {
                adopt.push(*rs);
                owned.push((*rs).clone());
            }
            Claim::Release => release.push(*rs),
            Claim::Ignore => {}
        }
    }
    // Pods of the claimed ReplicaSets only; Recreate further keeps those the selector matches
    // (`getPodMapForDeployment`, see `recreate::old_pods_running`).
    let pods_by_rs: HashMap<String, Vec<&Pod>> = owned
        .iter()
        .filter_map(|rs| rs.metadata.uid.as_ref())
        .filter_map(|uid| Some((uid.clone(), o.pods_by_rs.get(uid)?.clone())))
        .collect();
    let mut pass = Pass {
        d,
        now,
        selector: o.selector,
        rss: owned,
        before_scale: HashMap::new(),
        pods_by_rs,
        status: d.status.clone().unwrap_or_default(),
        annotations: d.metadata.annotations.clone().unwrap_or_default(),
        actions: Vec::new(),
        events: Vec::new(),
        write_status: false,
        requeue: Requeue::No,
        rollback: None,
        abort: None,
    };
    let mut pods_to_delete = None;
    if owner.deleting {
        let new = pass.sync_revision(false);
        sync::sync_status(&mut pass, new);
    } else {
        pods_to_delete = named::hand_out(&mut pass);
        progress::check_paused_conditions(&mut pass);
        let paused = d.spec.paused.unwrap_or(false);
        if paused {
            sync::sync(&mut pass, paused);
        } else if let Some(to) = rollback::rollback_to(d) {
            rollback::rollback(&mut pass, to);
        } else if sync::is_scaling_event(&mut pass) {
            sync::sync(&mut pass, paused);
        } else if is_recreate(d) {
            recreate::rollout(&mut pass);
        } else {
            rolling::rollout(&mut pass);
        }
    }
    let annotations = (Some(&pass.annotations) != d.metadata.annotations.as_ref()
        && !(pass.annotations.is_empty() && d.metadata.annotations.is_none()))
    .then_some(pass.annotations);
    let status =
        (pass.write_status && Some(&pass.status) != d.status.as_ref()).then_some(pass.status);
    Plan {
        adopt,
        release,
        actions: pass.actions,
        annotations,
        status,
        events: pass.events,
        requeue: pass.requeue,
        rollback: pass.rollback,
        pods_to_delete,
        abort: pass.abort,
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use bosun_api::apps::{
        DeploymentSpec, DeploymentStrategy, ReplicaSetStatus, RollingUpdateDeployment,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use crate::pod::fixtures::t;

    pub struct DBuilder(pub Deployment);

    pub fn deployment(name: &str, replicas: i32) -> DBuilder {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        DBuilder(Deployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some("d-uid".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: DeploymentSpec {
                replicas: Some(replicas),
                selector: LabelSelector {
                    match_labels: Some(labels.clone()),
                    match_expressions: None,
                },
                template: crate::pod::fixtures::template("img:1"),
                strategy: None,
                min_ready_seconds: None,
                revision_history_limit: Some(10),
                paused: None,
                progress_deadline_seconds: Some(600),
                pod_replacement_policy: None,
                scale_strategy: None,
                progress_deadline_abort: None,
            },
            status: None,
        })
    }

    impl DBuilder {
        pub fn build(self) -> Deployment {
            self.0
        }
        pub fn rolling(
            mut self,
            surge: Option<IntOrString>,
            unavailable: Option<IntOrString>,
        ) -> Self {
            self.0.spec.strategy = Some(DeploymentStrategy {
                type_: Some(DeploymentStrategyType::RollingUpdate),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: surge,
                    max_unavailable: unavailable,
                    partition: None,
                }),
            });
            self
        }
        pub fn recreate(mut self) -> Self {
            self.0.spec.strategy = Some(DeploymentStrategy {
                type_: Some(DeploymentStrategyType::Recreate),
                rolling_update: None,
            });
            self
        }
        pub fn image(mut self, image: &str) -> Self {
            if let Some(s) = self.0.spec.template.spec.as_mut() {
                s.containers[0].image = Some(image.into());
            }
            self
        }
        pub fn annotation(mut self, k: &str, v: &str) -> Self {
            self.0
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(k.into(), v.into());
            self
        }
        pub fn paused(mut self) -> Self {
            self.0.spec.paused = Some(true);
            self
        }
        pub fn history(mut self, limit: i32) -> Self {
            self.0.spec.revision_history_limit = Some(limit);
            self
        }
    }

    /// A ReplicaSet of `d`'s current template named `<d>-<suffix>`, with `replicas` ready and
    /// available pods, at `revision`.
    pub fn rs_of(d: &Deployment, suffix: &str, replicas: i32, revision: i64) -> ReplicaSet {
        let (template, selector) = with_hash(d, suffix);
        ReplicaSet {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}-{suffix}",
                    d.metadata.name.clone().unwrap_or_default()
                )),
                namespace: Some("ns".into()),
                uid: Some(format!("rs-{suffix}")),
                labels: template.metadata.as_ref().and_then(|m| m.labels.clone()),
                owner_references: Some(vec![controller_ref(d)]),
                annotations: Some(BTreeMap::from([(
                    REVISION.to_string(),
                    revision.to_string(),
                )])),
                creation_timestamp: Some(Time(t(revision))),
                generation: Some(1),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: None,
                scale_strategy: None,
                selector,
                template,
            },
            status: Some(ReplicaSetStatus {
                replicas,
                ready_replicas: replicas,
                available_replicas: replicas,
                fully_labeled_replicas: replicas,
                observed_generation: Some(1),
                terminating_replicas: Some(0),
                ..Default::default()
            }),
        }
    }
}
