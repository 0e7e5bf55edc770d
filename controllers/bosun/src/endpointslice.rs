//! The EndpointSlice controller's `act` side: upstream's `endpointslice_controller.go` event
//! handlers (Services, Pods through their projection, EndpointSlices through the tracker,
//! Nodes for zones), then per Service key one sync that reads the caches, calls
//! [`bosun_core::endpointslice::plan`] for bosun's slices (and, in mirror mode, for core
//! slices) and applies the plans: creates, then updates, then deletes, stopping at the first
//! error as upstream's `finalize` does.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::runtime::entry::{Entry, pending};
use crate::runtime::informer::Informer;
use crate::runtime::rbac::{Rule, rule};

use bosun_api::discovery::{EndpointSlice, MANAGED_BY};
use bosun_core::endpointslice::mirror::{Selection, selection};
use bosun_core::endpointslice::pods::services_to_update;
use bosun_core::endpointslice::tracker::Tracker;
use bosun_core::endpointslice::trigger_time::{TriggerTimeTracker, set_trigger_time};
use bosun_core::endpointslice::utils::LABEL_ZONE;
use bosun_core::endpointslice::{
    Config, Input, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, Plan, Slice, plan,
};
use bosun_core::{Timestamp, key_of};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice as CoreEndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, info};

use crate::runtime::events::Events;
use crate::runtime::informer::Handler;
use crate::runtime::meta::Identity;
use crate::runtime::queue::WorkQueue;
use crate::runtime::{ApiError, Requeue, Shared, api_err, in_parallel, namespace_index};

/// The field manager and event reporter of this controller.
pub const MANAGER: &str = "endpointslice-controller.bosun.dev";

/// Slice writes of one sync in flight at once.
const WRITES_IN_FLIGHT: usize = 16;

/// `endpointSliceChangeMinSyncDelay`: the least delay of a sync caused by a slice change.
const SLICE_CHANGE_MIN_SYNC_DELAY: Duration = Duration::from_secs(1);

/// What can go wrong in one sync. Every variant requeues the Service with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The cached object lacks a field the API server always sets.
    #[error(transparent)]
    Meta(#[from] crate::runtime::meta::MissingMeta),
    /// Pods were left out because their nodes are not known yet.
    #[error("skipped pods on unknown nodes: {0}")]
    NodesNotFound(String),
}

impl crate::runtime::MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::Api(_) => "api",
            Error::Meta(_) => "metadata",
            Error::NodesNotFound(_) => "node_not_found",
        }
    }
}

/// The controller's flags.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--max-endpoints-per-slice`.
    pub max_endpoints_per_slice: usize,
    /// `--endpoint-updates-batch-period`: how long pod changes wait, so bursts share one sync.
    pub batch_period: Duration,
}

/// This controller in `bosun run`'s registry (`registry/mod.rs`).
pub const ENTRY: Entry = Entry {
    name: "endpointslice",
    about: "core Services + Pods → discovery.bosun.dev/v1 EndpointSlices (and mirrored core ones).",
    rbac: RBAC,
    start: |shared, flags| {
        pending(Controller::new(
            shared.clone(),
            Settings {
                max_endpoints_per_slice: flags.max_endpoints_per_slice,
                batch_period: flags.endpoint_updates_batch_period,
            },
        ))
    },
};

/// What this controller asks of the API server; the chart's ClusterRole grants exactly this
/// (see `runtime/rbac.rs`). Each rule says which calls need it.
pub const RBAC: &[Rule] = &[
    rule(
        "",
        &["services", "pods", "nodes"],
        &["list", "watch"],
        "endpointslice.rs: its Service, Pod and Node handlers (informers)",
    ),
    rule(
        "",
        &["services/finalizers"],
        &["update"],
        "not a call: its slices carry a blockOwnerDeletion owner reference to the \
         Service",
    ),
    rule(
        "discovery.bosun.dev",
        &["endpointslices"],
        &["list", "watch", "create", "update", "delete"],
        "endpointslice.rs: its slice handlers (informer); apply creates, replaces and \
         deletes",
    ),
    rule(
        "discovery.k8s.io",
        &["endpointslices"],
        &["list", "watch", "create", "update", "delete"],
        "endpointslice.rs: the mirrored slices, the same way (informer by label)",
    ),
];

/// The EndpointSlice controller.
pub struct Controller {
    shared: Arc<Shared>,
    services: Arc<Informer<Service>>,
    pods: Arc<Informer<Pod>>,
    nodes: Arc<Informer<Node>>,
    endpointslices: Arc<Informer<EndpointSlice>>,
    core_endpointslices: Arc<Informer<CoreEndpointSlice>>,
    queue: WorkQueue,
    tracker: Mutex<Tracker>,
    trigger_times: Mutex<TriggerTimeTracker>,
    /// Services that left pods out because their node was not known yet, by node name: the
    /// node's arrival syncs them again.
    awaiting_nodes: Mutex<HashMap<String, BTreeSet<String>>>,
    /// Services whose sync found the slice cache older than our own writes: the next event of
    /// one of their slices (our write arriving) syncs them at once, rather than when the
    /// backoff of the retry fires.
    awaiting_cache: Mutex<HashSet<String>>,
    events: Events,
    config: Config,
    batch_period: Duration,
}

/// The `namespace/name` key of the Service a slice belongs to (`ServiceControllerKey`).
fn service_key_of(meta: &ObjectMeta) -> Option<String> {
    let svc = meta.labels.as_ref()?.get(LABEL_SERVICE_NAME)?;
    (!svc.is_empty()).then(|| format!("{}/{svc}", meta.namespace.as_deref().unwrap_or_default()))
}

fn managed_by_us(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(LABEL_MANAGED_BY))
        .is_some_and(|v| v == MANAGED_BY)
}

/// The slices of `svc` in `cached` managed by bosun and not being deleted
/// (`dropEndpointSlicesPendingDeletion`).
fn slices_of<K: Resource>(cached: &[Arc<K>], svc: &str) -> Vec<Arc<K>> {
    cached
        .iter()
        .filter(|s| {
            let m = s.meta();
            managed_by_us(m)
                && m.labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_SERVICE_NAME))
                    .map(String::as_str)
                    == Some(svc)
                && m.deletion_timestamp.is_none()
        })
        .cloned()
        .collect()
}

impl Controller {
    /// A controller over the shared informers; call [`crate::runtime::run_workers`] to start it.
    pub fn new(shared: Arc<Shared>, settings: Settings) -> Arc<Self> {
        let c = Arc::new(Self {
            events: Events::new(shared.client.clone(), MANAGER),
            shared: shared.clone(),
            services: shared.informer(),
            pods: shared.informer(),
            nodes: shared.informer(),
            endpointslices: shared.informer(),
            core_endpointslices: shared.informer(),
            queue: WorkQueue::default(),
            tracker: Mutex::new(Tracker::default()),
            trigger_times: Mutex::new(TriggerTimeTracker::default()),
            awaiting_nodes: Mutex::new(HashMap::new()),
            awaiting_cache: Mutex::new(HashSet::new()),
            config: Config {
                max_endpoints_per_slice: settings.max_endpoints_per_slice.max(1),
                managed_by: MANAGED_BY.into(),
            },
            batch_period: settings.batch_period,
        });
        info!(
            max_endpoints_per_slice = c.config.max_endpoints_per_slice,
            batch_period = ?c.batch_period,
            "endpointslice controller configured"
        );
        c.services.add_handler(Arc::new(ServiceEvents(c.clone())));
        c.pods.add_handler(Arc::new(PodEvents(c.clone())));
        c.nodes.add_handler(Arc::new(NodeEvents(c.clone())));
        c.endpointslices
            .add_handler(Arc::new(SliceEvents(c.clone())));
        c.core_endpointslices
            .add_handler(Arc::new(SliceEvents(c.clone())));
        c
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a Service after the batch period; a Service already waiting keeps its earlier
    /// time, so a burst of pod changes makes one sync (client-go's delaying queue does the same).
    fn enqueue_batched(&self, key: &str) {
        if self.batch_period.is_zero() {
            return self.queue.add(key);
        }
        self.queue.add_batched(key, self.batch_period);
    }

    /// A slice of ours arrived in the cache: a sync waiting for it runs now.
    fn cache_caught_up(&self, meta: &ObjectMeta) {
        if !managed_by_us(meta) {
            return;
        }
        if let Some(key) = service_key_of(meta)
            && self
                .awaiting_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key)
        {
            self.queue.add(&key);
        }
    }

    /// `queueServiceForEndpointSlice`: after `max(1 s, batch period)`.
    fn enqueue_for_slice(&self, meta: &ObjectMeta) {
        if let Some(key) = service_key_of(meta) {
            self.queue
                .add_after(&key, SLICE_CHANGE_MIN_SYNC_DELAY.max(self.batch_period));
        }
    }

    /// The keys of the Services of the pod's namespace that select `labels` (`getServicesForPod`).
    fn services_for(&self, pod: &Pod) -> BTreeSet<String> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
        self.services
            .by_index(&namespace_index(ns))
            .iter()
            .filter(|svc| match selection(svc) {
                Ok(Selection::Spec(sel) | Selection::Mirror(sel)) => {
                    sel.matches(pod.metadata.labels.as_ref())
                }
                _ => false,
            })
            .map(|svc| key_of(&svc.metadata))
            .collect()
    }

    /// The zone lookup of the plan: `None` for an unknown node.
    fn node_zone(&self, name: &str) -> Option<Option<String>> {
        let node = self.nodes.get(name)?;
        Some(
            node.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_ZONE))
                .cloned(),
        )
    }

    /// `syncService`: read the caches (waiting while they are older than our own writes),
    /// plan bosun's slices and, in mirror mode, the built-in ones, and write both.
    async fn sync_service(&self, key: &str) -> Result<Requeue, Error> {
        let Some(svc) = self.services.get(key) else {
            self.forget_service(key);
            return Ok(Requeue::No);
        };
        let Identity {
            namespace: ns,
            name,
            ..
        } = Identity::of(&*svc)?;
        let sel = match selection(&svc) {
            Ok(s) => s,
            Err(e) => {
                // Leave the slices as they are until the annotation is fixed.
                let annotation = bosun_core::endpointslice::mirror::SELECTOR_ANNOTATION;
                let message = format!("annotation {annotation}: {e}");
                let reference = svc.object_ref(&());
                self.events
                    .warning(&reference, None, "InvalidSelector", message);
                return Ok(Requeue::No);
            }
        };
        let in_ns = namespace_index(&ns);
        let bosun_slices = slices_of(&self.endpointslices.by_index(&in_ns), &name);
        let core_slices = slices_of(&self.core_endpointslices.by_index(&in_ns), &name);
        let metas = bosun_slices.iter().map(|s| &s.metadata);
        let metas = metas.chain(core_slices.iter().map(|s| &s.metadata));
        if self.tracker().stale(&ns, &name, metas) {
            // Our own writes are not in the cache yet: the usual aftermath of a write, not a
            // failure worth a warning. Retry with the key's backoff (5 ms, doubling), as upstream
            // requeues a StaleInformerCache error through its rate limiter.
            debug!("EndpointSlice cache is older than our writes; retrying");
            self.awaiting_cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.to_string());
            return Ok(Requeue::RateLimited);
        }
        let pods = self.selected_pods(&in_ns, &sel);
        let pod_refs: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let trigger = self
            .trigger_times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .compute(&svc, &pod_refs);
        let zone = |n: &str| self.node_zone(n);
        let plan_for = |existing: Vec<Slice>, wanted: bool| {
            let input = Input {
                service: &svc,
                pods: pod_refs.clone(),
                node_zone: &zone,
                existing,
            };
            plan(&input, &self.config, wanted)
        };
        let bosun_plan = plan_for(
            bosun_slices
                .iter()
                .map(|s| Slice::from(s.as_ref()))
                .collect(),
            sel != Selection::Nothing,
        );
        let core_plan = plan_for(
            core_slices
                .iter()
                .map(|s| Slice::from(s.as_ref()))
                .collect(),
            matches!(sel, Selection::Mirror(_)),
        );
        let being_deleted = svc.metadata.deletion_timestamp.is_some();
        let result = async {
            self.apply::<EndpointSlice>(&ns, &bosun_plan, being_deleted, trigger)
                .await?;
            self.apply::<CoreEndpointSlice>(&ns, &core_plan, being_deleted, trigger)
                .await
        }
        .await;
        if let Err(e) = result {
            self.events.warning(
                &svc.object_ref(&()),
                None,
                "FailedToUpdateEndpointSlices",
                format!("Error updating Endpoint Slices for Service {ns}/{name}: {e}"),
            );
            return Err(e.into());
        }
        if !bosun_plan.skipped.is_empty() {
            return Err(self.await_nodes(key, &bosun_plan.skipped));
        }
        Ok(Requeue::No)
    }

    /// A Service gone: forget what was tracked for it (its slices go with it, they name it as
    /// their owner).
    fn forget_service(&self, key: &str) {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        self.tracker().delete_service(ns, name);
        self.trigger_times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .delete_service(ns, name);
    }

    /// The Pods of the namespace (its index value `in_ns`) that `sel` selects.
    fn selected_pods(&self, in_ns: &str, sel: &Selection) -> Vec<Arc<Pod>> {
        match sel {
            Selection::Spec(s) | Selection::Mirror(s) => self
                .pods
                .by_index(in_ns)
                .into_iter()
                .filter(|p| s.matches(p.metadata.labels.as_ref()))
                .collect(),
            Selection::Nothing => Vec::new(),
        }
    }

    /// Pods left out because their Node is not in the cache yet: the Service syncs again when
    /// one of those Nodes arrives, and the sync fails (with backoff) meanwhile.
    fn await_nodes(&self, key: &str, skipped: &[bosun_core::endpointslice::SkippedPod]) -> Error {
        let mut awaiting = self
            .awaiting_nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for s in skipped {
            awaiting
                .entry(s.node.clone())
                .or_default()
                .insert(key.to_string());
        }
        let which: Vec<String> = skipped
            .iter()
            .map(|s| format!("{} (node {:?})", s.pod, s.node))
            .collect();
        Error::NodesNotFound(which.join(", "))
    }

    /// `finalize`'s writes: creates, updates, deletes; the first error stops the rest. A create
    /// refused because the namespace is terminating ends the pass quietly. Every slice written
    /// carries the trigger time (or loses a stale one).
    async fn apply<K: SliceKind>(
        &self,
        ns: &str,
        p: &Plan,
        being_deleted: bool,
        trigger: Option<Timestamp>,
    ) -> Result<(), ApiError> {
        if p.is_noop() {
            return Ok(());
        }
        let kind = format!("{}.{}", K::kind(&()), K::group(&()));
        let api: Api<K> = Api::namespaced(self.shared.client.clone(), ns);
        let prepared = |s: &Slice| {
            let mut s = s.clone();
            set_trigger_time(&mut s, trigger);
            K::from(s)
        };
        // Creates, then updates, each set in parallel (at most WRITES_IN_FLIGHT at once): a
        // Service over thousands of pods needs tens of slices at once, and one round trip each
        // in sequence would add up. Every success is tracked; the first failure is returned.
        let created = if being_deleted {
            0
        } else {
            let creates: Vec<K> = p.create.iter().map(prepared).collect();
            match self.create_all(&api, &kind, &creates).await? {
                Some(n) => n,
                None => return Ok(()),
            }
        };
        let updates: Vec<(String, K)> = p
            .update
            .iter()
            .map(|s| (s.name().to_string(), prepared(s)))
            .collect();
        let updated = self.update_all(&api, &kind, &updates).await?;
        for s in &p.delete {
            match api.delete(s.name(), &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(api_err(format!("deleting {kind} {}", s.name()))(e)),
            }
            self.tracker().expect_deletion(&s.metadata);
        }
        let deleted = p.delete.len();
        info!(%kind, created, updated, deleted, "wrote slices");
        Ok(())
    }

    /// Create `objs` in parallel: how many were created, or `None` when the namespace is
    /// being deleted.
    async fn create_all<K: SliceKind>(
        &self,
        api: &Api<K>,
        kind: &str,
        objs: &[K],
    ) -> Result<Option<usize>, ApiError> {
        let pp = post_params();
        let calls = objs.iter().map(|obj| api.create(&pp, obj)).collect();
        let mut first_error = None;
        let mut created = 0;
        for r in in_parallel(calls, WRITES_IN_FLIGHT).await {
            match r {
                Ok(obj) => {
                    self.tracker().update(obj.meta());
                    created += 1;
                }
                Err(e) if crate::runtime::is_namespace_terminating(&e) => return Ok(None),
                Err(e) => {
                    first_error.get_or_insert(api_err(format!("creating a {kind}"))(e));
                }
            }
        }
        first_error.map_or(Ok(Some(created)), Err)
    }

    /// Replace each named object in parallel: how many were replaced.
    async fn update_all<K: SliceKind>(
        &self,
        api: &Api<K>,
        kind: &str,
        objs: &[(String, K)],
    ) -> Result<usize, ApiError> {
        let pp = post_params();
        let calls = objs
            .iter()
            .map(|(name, obj)| tagged(name, api.replace(name, &pp, obj)))
            .collect();
        let mut first_error = None;
        let mut updated = 0;
        for (name, r) in in_parallel(calls, WRITES_IN_FLIGHT).await {
            match r {
                Ok(obj) => {
                    self.tracker().update(obj.meta());
                    updated += 1;
                }
                Err(e) => {
                    first_error.get_or_insert(api_err(format!("updating {kind} {name}"))(e));
                }
            }
        }
        first_error.map_or(Ok(updated), Err)
    }
}

/// What bosun writes slices of: its own EndpointSlice and, in mirror mode, the built-in one.
trait SliceKind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + From<Slice>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
{
}

impl<K> SliceKind for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + From<Slice>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
{
}

/// Writes under this controller's field manager.
fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    }
}

impl crate::runtime::Reconciler for Controller {
    const NAME: &'static str = "endpointslice";
    type Error = Error;
    type Primary = Service;

    fn queue(&self) -> &WorkQueue {
        &self.queue
    }

    fn primary(&self) -> &crate::runtime::informer::Informer<Service> {
        &self.services
    }

    async fn sync(&self, key: &str) -> Result<Requeue, Error> {
        self.sync_service(key).await
    }
}

/// Service events: every change syncs the Service (`onServiceUpdate`, `onServiceDelete`).
struct ServiceEvents(Arc<Controller>);

impl Handler<Service> for ServiceEvents {
    fn on_add(&self, svc: &Arc<Service>) {
        self.0.queue.add(&key_of(&svc.metadata));
    }
    fn on_update(&self, _old: &Arc<Service>, svc: &Arc<Service>) {
        self.0.queue.add(&key_of(&svc.metadata));
    }
    fn on_delete(&self, svc: &Arc<Service>) {
        self.0.queue.add(&key_of(&svc.metadata));
    }
}

/// Pod events, as upstream's `onPodUpdate` + `syncPod`: the Services selecting the pod (for an
/// update, per `GetPodUpdateProjectionKey`), after the batch period.
struct PodEvents(Arc<Controller>);

impl Handler<Pod> for PodEvents {
    fn on_add(&self, pod: &Arc<Pod>) {
        for key in self.0.services_for(pod) {
            self.0.enqueue_batched(&key);
        }
    }
    fn on_update(&self, old: &Arc<Pod>, cur: &Arc<Pod>) {
        if old.metadata.resource_version == cur.metadata.resource_version {
            return;
        }
        let keys = services_to_update(old, cur, self.0.services_for(old), self.0.services_for(cur));
        if !keys.is_empty() {
            debug!(pod = %cur.name_any(), services = ?keys, ready = bosun_core::pod::is_ready(cur), "pod change syncs services");
        }
        for key in keys {
            self.0.enqueue_batched(&key);
        }
    }
    fn on_delete(&self, pod: &Arc<Pod>) {
        for key in self.0.services_for(pod) {
            self.0.enqueue_batched(&key);
        }
    }
}

/// Node events: a node appearing syncs the Services that left pods out for want of it; a node
/// going or changing zone re-syncs the Services of its pods (upstream reads zones at sync time
/// only and relies on the retry).
struct NodeEvents(Arc<Controller>);

impl NodeEvents {
    fn resync_pods_on(&self, node: &Node) {
        let name = node.name_any();
        let mut keys = BTreeSet::new();
        for pod in self.0.pods.list() {
            if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(name.as_str()) {
                keys.extend(self.0.services_for(&pod));
            }
        }
        for key in keys {
            self.0.queue.add(&key);
        }
    }
}

impl Handler<Node> for NodeEvents {
    fn on_add(&self, node: &Arc<Node>) {
        let waiting = self
            .0
            .awaiting_nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&node.name_any());
        for key in waiting.into_iter().flatten() {
            self.0.queue.add(&key);
        }
    }
    fn on_update(&self, old: &Arc<Node>, cur: &Arc<Node>) {
        let zone = |n: &Node| {
            n.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_ZONE))
                .cloned()
        };
        if zone(old) != zone(cur) {
            self.resync_pods_on(cur);
        }
    }
    fn on_delete(&self, node: &Arc<Node>) {
        self.resync_pods_on(node);
    }
}

/// Slice events (bosun's and mirrored core ones), as upstream's `onEndpointSliceAdd/Update/
/// Delete`: only changes that are not our own writes, per the tracker.
struct SliceEvents(Arc<Controller>);

impl<K: Resource> Handler<K> for SliceEvents {
    fn on_add(&self, s: &Arc<K>) {
        let m = s.meta();
        self.0.cache_caught_up(m);
        if managed_by_us(m) && self.0.tracker().should_sync(m) {
            self.0.enqueue_for_slice(m);
        }
    }
    fn on_update(&self, old: &Arc<K>, cur: &Arc<K>) {
        let (o, m) = (old.meta(), cur.meta());
        self.0.cache_caught_up(m);
        if service_key_of(o) != service_key_of(m) {
            self.0.enqueue_for_slice(m);
            self.0.enqueue_for_slice(o);
            return;
        }
        if managed_by_us(o) != managed_by_us(m)
            || (managed_by_us(m) && self.0.tracker().should_sync(m))
        {
            debug!(slice = %m.name.as_deref().unwrap_or_default(), "slice changed by someone else");
            self.0.enqueue_for_slice(m);
        }
    }
    fn on_delete(&self, s: &Arc<K>) {
        let m = s.meta();
        if managed_by_us(m) {
            let ours = {
                let mut t = self.0.tracker();
                !t.has(m) || t.handle_deletion(m)
            };
            if !ours {
                self.0.enqueue_for_slice(m);
            }
        }
        // After the tracker forgot the expected deletion, so the sync finds the cache current.
        self.0.cache_caught_up(m);
    }
}

/// `fut`'s output with the name it concerns (parallel writes finish in any order).
async fn tagged<T>(name: &str, fut: impl std::future::Future<Output = T>) -> (&str, T) {
    (name, fut.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_key_of_a_slice_needs_the_service_name_label() {
        let mut m = ObjectMeta {
            namespace: Some("ns".into()),
            ..Default::default()
        };
        assert_eq!(service_key_of(&m), None);
        m.labels = Some([(LABEL_SERVICE_NAME.to_string(), "web".to_string())].into());
        assert_eq!(service_key_of(&m).as_deref(), Some("ns/web"));
    }
}
