//! The Deployment controller's `act` side: upstream's handlers (`deployment_controller.go`),
//! then per key one sync that reads the caches, calls [`bosun_core::deployment::plan`] and
//! applies it: claims, then ReplicaSet writes in order, then the Deployment's revision
//! annotation and status.

use std::collections::HashMap;
use std::sync::Arc;

use crate::runtime::entry::{Entry, pending};
use crate::runtime::informer::Informer;
use crate::runtime::rbac::{Rule, rule};

use bosun_api::apps::{Deployment, DeploymentStatus, ReplicaSet};
use bosun_core::Timestamp;
use bosun_core::deployment::events;
use bosun_core::deployment::progress;
use bosun_core::deployment::util::{equal_ignore_hash, raised_collision_count};
use bosun_core::deployment::{Action, Event as PlanEvent, Observed, Requeue as PlanRequeue, plan};
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{debug, info};

use crate::runtime::claim::{ClaimError, claim};
use crate::runtime::events::Events;
use crate::runtime::informer::Handler;
use crate::runtime::meta::Identity;
use crate::runtime::queue::WorkQueue;
use crate::runtime::{ApiError, Reconciler, Requeue, Shared, api_err, orphan_index, owner_index};

/// The field manager and event reporter of this controller.
pub const MANAGER: &str = "deployment-controller.bosun.dev";

/// What can go wrong in one sync. Every variant requeues the Deployment with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The cached object lacks a field the API server always sets.
    #[error(transparent)]
    Meta(#[from] crate::runtime::meta::MissingMeta),
    /// Adopting or releasing ReplicaSets failed; the sync stopped.
    #[error("claiming replica sets: {0}")]
    Claim(#[from] ClaimError),
    /// The new ReplicaSet's name is taken by another template: the collision count went up.
    #[error("hash collision on replica set {0}; retrying with a new name")]
    Collision(String),
    /// A patch could not be built from the plan.
    #[error("building a patch: {0}")]
    Patch(#[source] serde_json::Error),
}

impl crate::runtime::MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::Api(_) => "api",
            Error::Meta(_) => "metadata",
            Error::Claim(_) => "claim",
            Error::Collision(_) => "collision",
            Error::Patch(_) => "patch",
        }
    }
}

/// How long pod readiness changes gather before a rolling Deployment syncs.
const POD_BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);

/// This controller in `bosun run`'s registry (`registry/mod.rs`).
pub const ENTRY: Entry = Entry {
    name: "deployment",
    about: "apps.bosun.dev/v1 Deployment → ReplicaSets.",
    rbac: RBAC,
    start: |shared, _| pending(Controller::new(shared.clone())),
};

/// What this controller asks of the API server; the chart's ClusterRole grants exactly this
/// (see `runtime/rbac.rs`). Each rule says which calls need it.
pub const RBAC: &[Rule] = &[
    rule(
        "apps.bosun.dev",
        &["deployments"],
        &["list", "watch"],
        "deployment.rs: its Deployment handlers (informer)",
    ),
    rule(
        "apps.bosun.dev",
        &["deployments"],
        &["get", "patch"],
        "runtime/claim.rs: reads the Deployment live before adopting; deployment.rs \
         patches revision annotations, rollbacks and podsToDelete",
    ),
    rule(
        "apps.bosun.dev",
        &["deployments/status"],
        &["patch"],
        "deployment.rs through runtime/status.rs: the status and the abort hash \
         (server-side apply)",
    ),
    rule(
        "apps.bosun.dev",
        &["deployments/finalizers"],
        &["update"],
        "not a call: its ReplicaSets carry blockOwnerDeletion owner references",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets"],
        &["list", "watch"],
        "deployment.rs: its ReplicaSet handlers (informer)",
    ),
    rule(
        "apps.bosun.dev",
        &["replicasets"],
        &["create", "get", "patch", "delete"],
        "deployment.rs: create (and get after a 409, the collision check), patch (scale, \
         annotations), delete (the revision history limit); runtime/claim.rs: patch \
         (adoption and release)",
    ),
    rule(
        "",
        &["pods"],
        &["list", "watch"],
        "deployment.rs: its Pod handlers (the shared Pod informer)",
    ),
];

/// The Deployment controller.
pub struct Controller {
    shared: Arc<Shared>,
    deployments: Arc<Informer<Deployment>>,
    replicasets: Arc<Informer<ReplicaSet>>,
    pods: Arc<Informer<Pod>>,
    queue: WorkQueue,
    events: Events,
    status_pacer: crate::runtime::pacer::Pacer,
}

impl Controller {
    /// A controller over the shared informers.
    pub fn new(shared: Arc<Shared>) -> Arc<Self> {
        let c = Arc::new(Self {
            events: Events::new(shared.client.clone(), MANAGER),
            shared: shared.clone(),
            deployments: shared.informer(),
            replicasets: shared.informer(),
            pods: shared.informer(),
            queue: WorkQueue::default(),
            status_pacer: crate::runtime::pacer::Pacer::new(
                crate::runtime::pacer::STATUS_INTERVAL,
                crate::runtime::pacer::STATUS_BURST,
            ),
        });
        c.deployments
            .add_handler(Arc::new(DeploymentEvents(c.clone())));
        c.replicasets.add_handler(Arc::new(RsEvents(c.clone())));
        c.pods.add_handler(Arc::new(PodEvents(c.clone())));
        c
    }

    /// `syncDeployment`: read the caches, plan, then write in upstream's order: claims,
    /// ReplicaSets, Events, a rollback (which ends the sync) or the Deployment's own fields,
    /// and the status.
    async fn sync_deployment(&self, key: &str) -> Result<Requeue, Error> {
        let Some(d) = self.deployments.get(key) else {
            self.status_pacer.forget(key);
            return Ok(Requeue::No);
        };
        let reference = d.object_ref(&());
        let selector = match bosun_core::deployment::selector(&d) {
            Ok(s) => s,
            Err(e) => {
                self.emit(&reference, [e]);
                return Ok(Requeue::No);
            }
        };
        let Identity { namespace, uid, .. } = Identity::of(&*d)?;
        let mut candidates = self.replicasets.by_index(&owner_index(&uid));
        candidates.extend(self.replicasets.by_index(&orphan_index(&namespace)));
        // The pods of every candidate: Recreate waits for the old ones to go, RollingUpdate
        // counts the available ones (see `rolling::available`).
        let pods: Vec<(String, Vec<Arc<Pod>>)> = candidates
            .iter()
            .filter_map(|rs| rs.metadata.uid.clone())
            .map(|u| {
                let pods = self.pods.by_index(&owner_index(&u));
                (u, pods)
            })
            .collect();
        let pods_by_rs: HashMap<String, Vec<&Pod>> = pods
            .iter()
            .map(|(u, ps)| (u.clone(), ps.iter().map(|p| p.as_ref()).collect()))
            .collect();
        let observed = Observed {
            deployment: &d,
            selector: &selector,
            candidates: candidates.iter().map(|r| r.as_ref()).collect(),
            pods_by_rs,
        };
        let p = plan(observed, Timestamp::now());

        let rs_api: Api<ReplicaSet> = Api::namespaced(self.shared.client.clone(), &namespace);
        let d_api: Api<Deployment> = Api::namespaced(self.shared.client.clone(), &namespace);
        claim(&d_api, &d, &rs_api, &p.adopt, &p.release).await?;
        if let Some(stop) = self.write_replicasets(key, &d, &rs_api, &p.actions).await? {
            return Ok(stop);
        }
        self.emit(&reference, p.events.iter().cloned());
        if let Some(rb) = &p.rollback {
            self.roll_back(&d_api, &d, rb).await?;
            return Ok(Requeue::No);
        }
        self.write_deployment(&d_api, &d, &p).await?;
        self.write_status_paced(key, &d_api, &d, &p).await
    }

    /// Post the plan's Events about `reference`.
    fn emit(&self, reference: &ObjectReference, events: impl IntoIterator<Item = PlanEvent>) {
        for e in events {
            if e.warning {
                self.events.warning(reference, None, &e.reason, e.message);
            } else {
                self.events.normal(reference, None, &e.reason, e.message);
            }
        }
    }

    /// The plan's ReplicaSet writes, in order. `Some` ends the sync there: a create that
    /// found its ReplicaSet made already, a namespace being deleted, or a write refused
    /// because the cache is older than the ReplicaSet.
    async fn write_replicasets(
        &self,
        key: &str,
        d: &Deployment,
        rs_api: &Api<ReplicaSet>,
        actions: &[Action],
    ) -> Result<Option<Requeue>, Error> {
        // The resourceVersion each ReplicaSet has after this sync's own writes: a second write
        // of the same ReplicaSet in one sync (annotate, then scale) builds on the first.
        let mut written: HashMap<String, Option<String>> = HashMap::new();
        for action in actions {
            let write = match action {
                Action::Create(rs) => match self.create(d, rs_api, rs).await? {
                    Created::Yes => continue,
                    // Made by an earlier sync, not yet in the cache: upstream announces no scale
                    // for it; sync again once the cache has it.
                    Created::Already => return Ok(Some(Requeue::RateLimited)),
                    // The namespace is being deleted: every later create fails too.
                    Created::NamespaceTerminating => return Ok(Some(Requeue::No)),
                },
                Action::Delete(name) => {
                    match rs_api.delete(name, &DeleteParams::default()).await {
                        Ok(_) => {
                            info!(replicaset = %name, "deleted old replica set (revisionHistoryLimit)")
                        }
                        Err(kube::Error::Api(e)) if e.code == 404 => {}
                        Err(e) => {
                            return Err(api_err(format!("deleting replica set {name}"))(e).into());
                        }
                    }
                    continue;
                }
                other => RsPatch::of(other),
            };
            let Some(RsPatch {
                name,
                annotations,
                resource_version,
                spec,
                what,
            }) = write
            else {
                continue;
            };
            let rv = written.get(name).unwrap_or(resource_version);
            let body = json!({"metadata": guarded(annotations, rv), "spec": spec});
            match rs_api
                .patch(name, &PatchParams::default(), &Patch::Merge(&body))
                .await
            {
                Ok(rs) => {
                    written.insert(name.clone(), rs.metadata.resource_version);
                }
                // The cache is older than the ReplicaSet (often this controller's own previous
                // write): upstream's Update conflicts the same way. Nothing was written and no
                // Event announces it; the watch brings the newer ReplicaSet and another sync.
                Err(kube::Error::Api(e)) if e.code == 409 => {
                    debug!(deployment = %key, "{what}: the replica set changed since it was read; syncing again");
                    return Ok(Some(Requeue::RateLimited));
                }
                Err(e) => return Err(api_err(what)(e).into()),
            }
        }
        Ok(None)
    }

    /// Replace the template (when rolling back) and the annotations, as upstream's Update.
    async fn roll_back(
        &self,
        d_api: &Api<Deployment>,
        d: &Deployment,
        rb: &bosun_core::deployment::Rollback,
    ) -> Result<(), Error> {
        let mut ops =
            vec![json!({"op": "add", "path": "/metadata/annotations", "value": rb.annotations})];
        if let Some(t) = &rb.template {
            ops.push(json!({"op": "add", "path": "/spec/template", "value": t}));
        }
        let patch: json_patch::Patch =
            serde_json::from_value(serde_json::Value::Array(ops)).map_err(Error::Patch)?;
        d_api
            .patch(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::<()>::Json(patch),
            )
            .await
            .map_err(api_err("rolling back"))?;
        Ok(())
    }

    /// The Deployment's own fields the plan changes: its revision annotations, the names in
    /// `podsToDelete` that are gone, and the aborted template.
    async fn write_deployment(
        &self,
        d_api: &Api<Deployment>,
        d: &Deployment,
        p: &bosun_core::deployment::Plan<'_>,
    ) -> Result<(), Error> {
        let changed = p.changed_annotations(d);
        if !changed.is_empty() {
            // A CRD's /status ignores metadata, so the revision goes through the object itself.
            let body = json!({"metadata": {"annotations": changed}});
            d_api
                .patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map_err(api_err("writing the revision annotation"))?;
        }
        if let Some(names) = &p.pods_to_delete {
            // Names no Pod of its ReplicaSets has leave the list; the resourceVersion read is a
            // precondition, so a stale cache cannot drop a name just added.
            let body = json!({"metadata": {"resourceVersion": d.metadata.resource_version},
                "spec": {"scaleStrategy": {"podsToDelete": names}}});
            d_api
                .patch(&d.name_any(), &PatchParams::default(), &Patch::Merge(&body))
                .await
                .map_err(api_err("writing podsToDelete"))?;
        }
        if let Some(hash) = &p.abort {
            // Its own manager, apart from the status apply (see abort::MANAGER). None applies
            // an empty status: the manager's field, and so the hash, goes.
            let status = match hash {
                Some(h) => json!({"abortedTemplateHash": h}),
                None => json!({}),
            };
            let manager = bosun_core::deployment::abort::MANAGER;
            crate::runtime::status::apply(d_api, &d.name_any(), manager, &status)
                .await
                .map_err(api_err("writing the aborted template"))?;
        }
        Ok(())
    }

    /// Write the plan's status, unless the pacer holds it back ([`Plan::may_pace_status`]:
    /// then sync again when it admits one), and say when to sync next.
    async fn write_status_paced(
        &self,
        key: &str,
        d_api: &Api<Deployment>,
        d: &Deployment,
        p: &bosun_core::deployment::Plan<'_>,
    ) -> Result<Requeue, Error> {
        if let Some(status) = &p.status {
            let at = std::time::Instant::now();
            if p.may_pace_status(d) {
                if let Some(wait) = self.status_pacer.admit(key, at) {
                    return Ok(match p.requeue {
                        PlanRequeue::After(d) if d.unsigned_abs() < wait => {
                            Requeue::After(d.unsigned_abs())
                        }
                        _ => Requeue::After(wait),
                    });
                }
            } else {
                self.status_pacer.wrote(key, at);
            }
            self.write_status(d_api, d, status)
                .await
                .map_err(api_err("writing status"))?;
        }
        Ok(match p.requeue {
            PlanRequeue::No => Requeue::No,
            PlanRequeue::RateLimited => Requeue::RateLimited,
            PlanRequeue::After(d) => Requeue::After(d.unsigned_abs()),
        })
    }

    /// Create the new ReplicaSet (upstream's `getNewReplicaSet`): on a name taken by another
    /// template, raise the collision count; on any other failure, `Progressing=False` with
    /// reason ReplicaSetCreateError and a Warning event.
    async fn create(
        &self,
        d: &Deployment,
        api: &Api<ReplicaSet>,
        rs: &ReplicaSet,
    ) -> Result<Created, Error> {
        let name = rs.name_any();
        let ns = crate::runtime::meta::Identity::of(d)?.namespace;
        let d_api: Api<Deployment> = Api::namespaced(self.shared.client.clone(), &ns);
        match api.create(&PostParams::default(), rs).await {
            Ok(_) => {
                info!(replicaset = %name, replicas = rs.spec.replicas.unwrap_or(0), "created new replica set");
                Ok(Created::Yes)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => {
                let existing = api
                    .get(&name)
                    .await
                    .map_err(api_err(format!("reading replica set {name}")))?;
                let ours = controller_of(&existing.metadata)
                    .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
                if ours && equal_ignore_hash(&existing.spec.template, &d.spec.template) {
                    // Our own, not yet in the cache.
                    return Ok(Created::Already);
                }
                // The whole status, as upstream's UpdateStatus: an apply of the count alone
                // under this manager would drop every other field it owns.
                let status = raised_collision_count(d);
                self.write_status(&d_api, d, &status)
                    .await
                    .map_err(api_err("raising the collision count"))?;
                Err(Error::Collision(name))
            }
            Err(e) if crate::runtime::is_namespace_terminating(&e) => {
                Ok(Created::NamespaceTerminating)
            }
            Err(e) => {
                let (message, status) = progress::replica_set_create_failed(
                    d,
                    &name,
                    &crate::runtime::message(&e),
                    Timestamp::now(),
                );
                if let Some(status) = status
                    && let Err(err) = self.write_status(&d_api, d, &status).await
                {
                    // Upstream ignores this error too: the create's failure is the bigger one.
                    debug!(error = %err, "writing the ReplicaSetCreateError condition");
                }
                self.events.warning(
                    &d.object_ref(&()),
                    None,
                    progress::FAILED_RS_CREATE_REASON,
                    message,
                );
                Err(api_err(format!("creating replica set {name}"))(e).into())
            }
        }
    }

    /// Write the Deployment's whole status (server-side apply, this controller's manager).
    async fn write_status(
        &self,
        api: &Api<Deployment>,
        d: &Deployment,
        status: &DeploymentStatus,
    ) -> Result<(), kube::Error> {
        // abortedTemplateHash is written by its own manager only (abort::MANAGER): a status
        // from a cache older than an abort or a retry must neither drop nor restore it.
        let mut status = status.clone();
        status.aborted_template_hash = None;
        crate::runtime::status::apply(api, &d.name_any(), MANAGER, &status).await
    }
}

impl Reconciler for Controller {
    const NAME: &'static str = "deployment";
    type Error = Error;
    type Primary = Deployment;

    fn queue(&self) -> &WorkQueue {
        &self.queue
    }

    fn primary(&self) -> &crate::runtime::informer::Informer<Deployment> {
        &self.deployments
    }

    async fn sync(&self, key: &str) -> Result<Requeue, Error> {
        self.sync_deployment(key).await
    }
}

impl Controller {
    fn wake(&self, wakes: Vec<bosun_core::wake::Wake>) {
        crate::runtime::wake::Waker {
            queue: &self.queue,
            batch_window: POD_BATCH_WINDOW,
            expectations: None,
        }
        .apply(wakes);
    }
}

/// Deployment events, as upstream's addDeployment / updateDeployment / deleteDeployment.
struct DeploymentEvents(Arc<Controller>);

impl Handler<Deployment> for DeploymentEvents {
    fn on_add(&self, d: &Arc<Deployment>) {
        self.0.wake(events::deployment_changed(d));
    }
    fn on_update(&self, _: &Arc<Deployment>, d: &Arc<Deployment>) {
        self.0.wake(events::deployment_changed(d));
    }
    fn on_delete(&self, d: &Arc<Deployment>) {
        self.0.wake(events::deployment_changed(d));
    }
}

/// ReplicaSet events, as upstream's addReplicaSet / updateReplicaSet / deleteReplicaSet
/// (decided in `bosun_core::deployment::events`).
struct RsEvents(Arc<Controller>);

impl Handler<ReplicaSet> for RsEvents {
    fn on_add(&self, rs: &Arc<ReplicaSet>) {
        let c = &self.0;
        c.wake(events::rs_added(&*c.deployments, rs));
    }

    fn on_update(&self, old: &Arc<ReplicaSet>, cur: &Arc<ReplicaSet>) {
        let c = &self.0;
        c.wake(events::rs_updated(&*c.deployments, old, cur));
    }

    fn on_delete(&self, rs: &Arc<ReplicaSet>) {
        let c = &self.0;
        c.wake(events::rs_deleted(&*c.deployments, rs));
    }
}

/// The metadata of a ReplicaSet merge patch: its annotations and, when known, the
/// resourceVersion the decision was made on, which makes the API server refuse the patch
/// (409 Conflict) if the ReplicaSet changed since.
fn guarded(
    annotations: &std::collections::BTreeMap<String, String>,
    resource_version: &Option<String>,
) -> serde_json::Value {
    match resource_version {
        Some(rv) => json!({"annotations": annotations, "resourceVersion": rv}),
        None => json!({"annotations": annotations}),
    }
}

/// A ReplicaSet write of the plan other than create and delete: Scale, Annotate and
/// PodsToDelete are one merge patch of annotations and a spec field, guarded by the
/// resourceVersion the plan read.
struct RsPatch<'a> {
    name: &'a String,
    annotations: &'a std::collections::BTreeMap<String, String>,
    resource_version: &'a Option<String>,
    spec: serde_json::Value,
    what: String,
}

impl<'a> RsPatch<'a> {
    /// The patch of `action`; `None` for a create or a delete.
    fn of(action: &'a Action) -> Option<Self> {
        let (name, annotations, resource_version, spec, what) = match action {
            Action::Create(_) | Action::Delete(_) => return None,
            Action::Scale {
                name,
                to,
                annotations,
                resource_version,
                ..
            } => (
                name,
                annotations,
                resource_version,
                json!({"replicas": to}),
                format!("scaling replica set {name} to {to}"),
            ),
            Action::PodsToDelete {
                name,
                pods,
                annotations,
                resource_version,
            } => (
                name,
                annotations,
                resource_version,
                json!({"scaleStrategy": {"podsToDelete": pods}}),
                format!("naming pods to delete on replica set {name}"),
            ),
            Action::Annotate {
                name,
                annotations,
                min_ready_seconds,
                resource_version,
            } => (
                name,
                annotations,
                resource_version,
                json!({"minReadySeconds": min_ready_seconds}),
                format!("updating replica set {name}"),
            ),
        };
        Some(Self {
            name,
            annotations,
            resource_version,
            spec,
            what,
        })
    }
}

/// What a create of the new ReplicaSet came to.
enum Created {
    /// Created now.
    Yes,
    /// It exists already, this Deployment's and of its template.
    Already,
    /// The namespace is being deleted.
    NamespaceTerminating,
}

/// Pod deletions unblock Recreate rollouts (upstream's deletePod); pod readiness moves
/// rolling updates (bosun counts available pods itself, see `rolling::available`).
struct PodEvents(Arc<Controller>);

impl Handler<Pod> for PodEvents {
    fn on_add(&self, _: &Arc<Pod>) {}
    fn on_update(&self, old: &Arc<Pod>, cur: &Arc<Pod>) {
        let c = &self.0;
        let (rss, ds) = (&*c.replicasets, &*c.deployments);
        c.wake(events::pod_updated(rss, ds, old, cur));
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        let c = &self.0;
        let (rss, ds) = (&*c.replicasets, &*c.deployments);
        c.wake(events::pod_deleted(rss, ds, pod));
    }
}
