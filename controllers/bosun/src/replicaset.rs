//! The ReplicaSet controller's `act` side: upstream's event handlers (`replica_set.go` addPod,
//! updatePod, deletePod, addRS, updateRS, deleteRS), then per key one sync that reads the
//! caches, calls [`bosun_core::replicaset::plan`] and applies it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::runtime::entry::{Entry, pending};
use crate::runtime::informer::Informer;
use crate::runtime::rbac::{Rule, rule};

use bosun_api::apps::ReplicaSet;
use bosun_core::expectations::Expectations;
use bosun_core::pod::controller_of;
use bosun_core::replicaset::events;
use bosun_core::replicaset::status::{self, ManageOutcome};
use bosun_core::replicaset::{Manage, Observed, plan, pod_from_template, slow_start_batches};
use bosun_core::selector::Selector;
use bosun_core::{Timestamp, key_of};
use futures::StreamExt;

use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::info;

use crate::runtime::claim::{ClaimError, claim};
use crate::runtime::events::Events;
use crate::runtime::informer::Handler;
use crate::runtime::meta::Identity;
use crate::runtime::queue::WorkQueue;
use crate::runtime::{
    ApiError, Shared, api_err, in_parallel, namespace_index, orphan_index, owner_index,
};

/// Requests of one batch in flight at once. kube's client speaks HTTP/1.1, one connection per
/// request in flight: a batch of 245 at once costs 245 TLS handshakes on the API server, which
/// (on a small control plane) takes longer than queueing them over fewer connections.
const MAX_IN_FLIGHT: usize = 64;

/// The field manager and event reporter of this controller.
pub const MANAGER: &str = "replicaset-controller.bosun.dev";

/// What can go wrong in one sync. Every variant requeues the ReplicaSet with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The cached object lacks a field the API server always sets.
    #[error(transparent)]
    Meta(#[from] crate::runtime::meta::MissingMeta),
    /// Adopting or releasing pods failed; the sync stopped before scaling.
    #[error("claiming pods: {0}")]
    Claim(#[from] ClaimError),
    /// Creating or deleting pods failed (the ReplicaFailure condition says so).
    #[error(transparent)]
    Manage(#[from] ManageError),
}

/// The first failure of a sync's creates or deletes; its message is what the ReplicaFailure
/// condition and the Event quote.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// No Pod can be made from the template.
    #[error("{0}")]
    Template(#[from] bosun_core::replicaset::TemplateError),
    /// The API server refused a create.
    #[error("{}", crate::runtime::message(.0))]
    Create(#[source] kube::Error),
    /// The API server refused a delete.
    #[error("{}", crate::runtime::message(.0))]
    Delete(#[source] kube::Error),
}

impl crate::runtime::MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::Api(_) => "api",
            Error::Meta(_) => "metadata",
            Error::Claim(_) => "claim",
            Error::Manage(_) => "manage",
        }
    }
}

/// This controller in `bosun run`'s registry (`registry/mod.rs`).
pub const ENTRY: Entry = Entry {
    name: "replicaset",
    about: "apps.bosun.dev/v1 ReplicaSet → core Pods.",
    rbac: RBAC,
    start: |shared, _| pending(Controller::new(shared.clone())),
};

/// What this controller asks of the API server; the chart's ClusterRole grants exactly this
/// (see `runtime/rbac.rs`). Each rule says which calls need it.
pub const RBAC: &[Rule] = &[
    rule(
        "",
        &["pods"],
        &["list", "watch"],
        "replicaset.rs: its Pod handlers (the shared Pod informer)",
    ),
    rule(
        "",
        &["pods"],
        &["create", "delete", "patch"],
        "replicaset.rs: creates and deletes; runtime/claim.rs adopts and releases \
         (a patch of ownerReferences)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets"],
        &["list", "watch"],
        "replicaset.rs: its ReplicaSet handlers (informer)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets"],
        &["get"],
        "runtime/claim.rs: reads the ReplicaSet live before adopting \
         (RecheckDeletionTimestamp)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets"],
        &["patch"],
        "replicaset.rs: sync writes spec.scaleStrategy.podsToDelete back (merge patch)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets/status"],
        &["patch"],
        "replicaset.rs through runtime/status.rs: the status (server-side apply)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets/finalizers"],
        &["update"],
        "not a call: its Pods carry blockOwnerDeletion owner references",
    ),
];

/// The ReplicaSet controller.
pub struct Controller {
    shared: Arc<Shared>,
    pods: Arc<Informer<Pod>>,
    replicasets: Arc<Informer<ReplicaSet>>,
    queue: WorkQueue,
    expectations: Mutex<Expectations>,
    events: Events,
    status_pacer: crate::runtime::pacer::Pacer,
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn object_ref(rs: &ReplicaSet) -> ObjectReference {
    rs.object_ref(&())
}

impl Controller {
    /// A controller over the shared informers; call [`Controller::run`] to start it.
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        let events = Events::new(shared.client.clone(), MANAGER);
        let c = Arc::new(Self {
            shared: shared.clone(),
            pods: shared.informer(),
            replicasets: shared.informer(),
            queue: WorkQueue::default(),
            expectations: Mutex::new(Expectations::default()),
            events,
            status_pacer: crate::runtime::pacer::Pacer::new(
                crate::runtime::pacer::STATUS_INTERVAL,
                crate::runtime::pacer::STATUS_BURST,
            ),
        });
        c.pods.add_handler(Arc::new(PodEvents(c.clone())));
        c.replicasets.add_handler(Arc::new(RsEvents(c.clone())));
        c
    }

    fn expectations(&self) -> std::sync::MutexGuard<'_, Expectations> {
        self.expectations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `syncReplicaSet`: read the caches, plan, claim, create or delete Pods, write the
    /// status. Returns when to sync again (to notice availability, or for a paced status).
    async fn sync_rs(&self, key: &str) -> Result<Option<Duration>, Error> {
        let Some(rs) = self.replicasets.get(key) else {
            self.expectations().forget(key);
            self.status_pacer.forget(key);
            return Ok(None);
        };
        let selector = match Selector::new(&rs.spec.selector) {
            Ok(s) => s,
            Err(e) => {
                // The CRD's CEL rules refuse such selectors; an old object may still carry one.
                self.events
                    .warning(&object_ref(&rs), None, "InvalidSelector", e.to_string());
                return Ok(None);
            }
        };
        let Identity { namespace, uid, .. } = Identity::of(&*rs)?;
        let satisfied = self.expectations().satisfied(key, now());
        let mut candidates = self.pods.by_index(&owner_index(&uid));
        candidates.extend(self.pods.by_index(&orphan_index(&namespace)));
        let related = self.related_pods(&rs, &namespace);
        let observed = Observed {
            rs: &rs,
            selector: &selector,
            candidates: candidates.iter().map(|p| p.as_ref()).collect(),
            related: related.iter().map(|p| p.as_ref()).collect(),
            expectations_satisfied: satisfied,
        };
        let p = plan(observed, now());

        let pods: Api<Pod> = Api::namespaced(self.shared.client.clone(), &namespace);
        let rs_api: Api<ReplicaSet> = Api::namespaced(self.shared.client.clone(), &namespace);
        claim(&rs_api, &*rs, &pods, &p.adopt, &p.release).await?;
        if let Some(names) = &p.pods_to_delete {
            // Names of Pods that are not this ReplicaSet's (any more) leave podsToDelete; the
            // resourceVersion read is a precondition, so a stale cache cannot drop a new name.
            let body = json!({"metadata": {"resourceVersion": rs.metadata.resource_version},
                "spec": {"scaleStrategy": {"podsToDelete": names}}});
            rs_api
                .patch(
                    &rs.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&body),
                )
                .await
                .map_err(api_err("writing podsToDelete"))?;
        }

        let outcome = match &p.manage {
            Manage::Nothing => Ok(()),
            Manage::Create(n) => self.create_pods(key, &rs, &namespace, *n).await,
            Manage::Delete(victims) => self.delete_pods(key, &rs, &namespace, victims).await,
        };
        let manage_outcome = match &outcome {
            Ok(()) => ManageOutcome::Ok,
            Err(e) => ManageOutcome::Failed {
                message: e.to_string(),
                diff: p.diff,
            },
        };
        let t = now();
        let selector = selector.to_string();
        let new_status = status::calculate(
            &rs,
            &p.claimed,
            p.terminating,
            &selector,
            &manage_outcome,
            t,
        );
        let pods_written = !matches!(p.manage, Manage::Nothing) || outcome.is_err();
        let paced = self
            .write_status_paced(key, &rs_api, &rs, &new_status, pods_written)
            .await?;
        outcome?;
        let next = bosun_core::replicaset::next_availability_check(
            &rs,
            &p.claimed,
            new_status.ready_replicas,
            new_status.available_replicas,
            t,
        );
        let next = next.map(|d| d.unsigned_abs());
        Ok(match (next, paced) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Write `new` unless it is what the ReplicaSet has, or the pacer holds it back
    /// ([`status::may_pace`]): then `Some` says when it admits one.
    async fn write_status_paced(
        &self,
        key: &str,
        api: &Api<ReplicaSet>,
        rs: &ReplicaSet,
        new: &bosun_api::apps::ReplicaSetStatus,
        pods_written: bool,
    ) -> Result<Option<Duration>, Error> {
        if !status::needs_write(rs, new) {
            return Ok(None);
        }
        let at = std::time::Instant::now();
        if status::may_pace(rs, new, pods_written) {
            if let Some(wait) = self.status_pacer.admit(key, at) {
                return Ok(Some(wait));
            }
        } else {
            self.status_pacer.wrote(key, at);
        }
        crate::runtime::status::apply(api, &rs.name_any(), MANAGER, new)
            .await
            .map_err(api_err("writing status"))?;
        Ok(None)
    }

    /// Active pods selected by every ReplicaSet with this one's controller (`getIndirectlyRelatedPods`).
    fn related_pods(&self, rs: &ReplicaSet, ns: &str) -> Vec<Arc<Pod>> {
        let Some(owner) = controller_of(&rs.metadata) else {
            return Vec::new();
        };
        let in_ns = self.pods.by_index(&namespace_index(ns));
        let mut out = Vec::new();
        for sibling in self.replicasets.by_index(&owner_index(&owner.uid)) {
            let Ok(sel) = Selector::new(&sibling.spec.selector) else {
                continue;
            };
            out.extend(
                in_ns
                    .iter()
                    .filter(|p| sel.matches(p.metadata.labels.as_ref()))
                    .cloned(),
            );
        }
        out
    }

    /// Create `n` pods in slow-start batches; the first failure, if any.
    async fn create_pods(
        &self,
        key: &str,
        rs: &ReplicaSet,
        ns: &str,
        n: usize,
    ) -> Result<(), ManageError> {
        let template = match pod_from_template(rs) {
            Ok(t) => t,
            Err(e) => {
                self.events.warning(
                    &object_ref(rs),
                    None,
                    "FailedCreate",
                    format!("Error creating: {e}"),
                );
                return Err(e.into());
            }
        };
        self.expectations().expect_creations(key, n, now());
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), ns);
        let reference = object_ref(rs);
        let mut created = 0usize;
        let mut failure = None;
        let pp = PostParams::default();
        for batch in slow_start_batches(n) {
            let results = in_parallel(
                (0..batch).map(|_| api.create(&pp, &template)).collect(),
                MAX_IN_FLIGHT,
            )
            .await;
            let mut batch_ok = 0;
            for r in results {
                match r {
                    Ok(pod) => {
                        batch_ok += 1;
                        let note = format!("Created pod: {}", pod.name_any());
                        self.events.normal(
                            &reference,
                            Some(pod.object_ref(&())),
                            "SuccessfulCreate",
                            note,
                        );
                    }
                    // Creations into a terminating namespace are not failures (upstream).
                    Err(e) if crate::runtime::is_namespace_terminating(&e) => {
                        batch_ok += 1;
                    }
                    Err(e) => {
                        let message = crate::runtime::message(&e);
                        self.events.warning(
                            &reference,
                            None,
                            "FailedCreate",
                            format!("Error creating: {message}"),
                        );
                        failure.get_or_insert(ManageError::Create(e));
                    }
                }
            }
            created += batch_ok;
            if failure.is_some() {
                break;
            }
        }
        // Creations that were skipped or failed will never be observed.
        let skipped = n - created;
        if skipped > 0 {
            let mut e = self.expectations();
            for _ in 0..skipped {
                e.creation_observed(key);
            }
        }
        if created > 0 {
            info!(created, wanted = n, "created pods");
        }
        failure.map_or(Ok(()), Err)
    }

    /// Delete `victims` in parallel; the first failure, if any.
    async fn delete_pods(
        &self,
        key: &str,
        rs: &ReplicaSet,
        ns: &str,
        victims: &[&Pod],
    ) -> Result<(), ManageError> {
        let keys: Vec<String> = victims.iter().map(|p| key_of(&p.metadata)).collect();
        self.expectations().expect_deletions(key, &keys, now());
        let api: Api<Pod> = Api::namespaced(self.shared.client.clone(), ns);
        let reference = object_ref(rs);
        // In order (`buffered`): the results are matched with `keys` and `victims` below.
        let deletes: Vec<_> = victims
            .iter()
            .map(|p| {
                let api = api.clone();
                let name = p.name_any();
                async move {
                    (
                        name.clone(),
                        api.delete(&name, &DeleteParams::default()).await,
                    )
                }
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(deletes)
            .buffered(MAX_IN_FLIGHT)
            .collect()
            .await;
        let mut failure = None;
        for (((name, r), pod_key), victim) in results.into_iter().zip(keys).zip(victims) {
            match r {
                Ok(_) => {
                    let note = format!("Deleted pod: {name}");
                    self.events.normal(
                        &reference,
                        Some(victim.object_ref(&())),
                        "SuccessfulDelete",
                        note,
                    );
                }
                Err(e) => {
                    self.expectations().deletion_observed(key, &pod_key);
                    if let kube::Error::Api(ae) = &e
                        && ae.code == 404
                    {
                        continue;
                    }
                    let message = crate::runtime::message(&e);
                    self.events.warning(
                        &reference,
                        None,
                        "FailedDelete",
                        format!("Error deleting: {message}"),
                    );
                    failure.get_or_insert(ManageError::Delete(e));
                }
            }
        }
        info!(deleted = victims.len(), "deleted pods");
        failure.map_or(Ok(()), Err)
    }
}

impl crate::runtime::Reconciler for Controller {
    const NAME: &'static str = "replicaset";
    type Error = Error;
    type Primary = ReplicaSet;

    fn queue(&self) -> &WorkQueue {
        &self.queue
    }

    fn primary(&self) -> &crate::runtime::informer::Informer<ReplicaSet> {
        &self.replicasets
    }

    async fn sync(&self, key: &str) -> Result<crate::runtime::Requeue, Error> {
        Ok(match self.sync_rs(key).await? {
            Some(d) => crate::runtime::Requeue::After(d),
            None => crate::runtime::Requeue::No,
        })
    }
}

impl Controller {
    fn wake(&self, wakes: Vec<bosun_core::wake::Wake>) {
        crate::runtime::wake::Waker {
            queue: &self.queue,
            batch_window: Duration::ZERO,
            expectations: Some(&self.expectations),
        }
        .apply(wakes);
    }
}

/// Pod events, as upstream's addPod / updatePod / deletePod (decided in
/// `bosun_core::replicaset::events`).
struct PodEvents(Arc<Controller>);

impl Handler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        let c = &self.0;
        c.wake(events::pod_added(&*c.replicasets, pod));
    }

    fn on_update(&self, old: &Arc<Pod>, cur: &Arc<Pod>) {
        let c = &self.0;
        c.wake(events::pod_updated(&*c.replicasets, old, cur));
    }

    fn on_delete(&self, pod: &Arc<Pod>) {
        let c = &self.0;
        c.wake(events::pod_deleted(&*c.replicasets, pod));
    }
}

/// ReplicaSet events, as upstream's addRS / updateRS / deleteRS.
struct RsEvents(Arc<Controller>);

impl Handler<ReplicaSet> for RsEvents {
    fn on_add(&self, rs: &Arc<ReplicaSet>) {
        self.0.wake(events::rs_added(rs));
    }

    fn on_update(&self, old: &Arc<ReplicaSet>, cur: &Arc<ReplicaSet>) {
        self.0.wake(events::rs_updated(old, cur));
    }

    fn on_delete(&self, rs: &Arc<ReplicaSet>) {
        self.0.wake(events::rs_deleted(rs));
    }
}
