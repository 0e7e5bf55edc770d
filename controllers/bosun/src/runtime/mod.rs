//! The `act` side's machinery: shared informers, the work queue, events.

pub mod claim;
pub mod client;
pub mod events;
pub mod fence;
pub mod informer;
pub mod meta;
pub mod metrics;
pub mod pacer;
pub mod queue;
pub mod rbac;
pub mod status;
pub mod wake;

use std::sync::Arc;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::DNSRecordSet;
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice as CoreEndpointSlice;
use kube::Resource;

use informer::Informer;

/// Objects per page of an informer's list: a page is held whole (its JSON and every object at
/// full size) until the cache has taken its objects, so smaller pages lower the peak memory of a
/// first list of thousands of Pods (client-go's reflector pages by 500).
const LIST_PAGE_SIZE: u32 = 100;

/// Index value: objects whose controller has this UID.
pub fn owner_index(uid: &str) -> String {
    format!("owner:{uid}")
}
/// Index value: objects without a controller in this namespace.
pub fn orphan_index(ns: &str) -> String {
    format!("orphan:{ns}")
}
/// Index value: objects of this namespace.
pub fn namespace_index(ns: &str) -> String {
    format!("ns:{ns}")
}

/// Index an object by namespace and by controller UID (or as an orphan).
pub fn owner_and_namespace<K: Resource>(obj: &K) -> Vec<String> {
    let meta = obj.meta();
    let ns = meta.namespace.as_deref().unwrap_or_default();
    let by_owner = match controller_of(meta) {
        Some(r) => owner_index(&r.uid),
        None => orphan_index(ns),
    };
    vec![namespace_index(ns), by_owner]
}

/// The informers every controller shares, and the client.
pub struct Shared {
    /// The API client (one rate limiter for the process).
    pub client: kube::Client,
    /// Every Pod of the cluster.
    pub pods: Arc<Informer<Pod>>,
    /// Every bosun ReplicaSet.
    pub replicasets: Arc<Informer<ReplicaSet>>,
    /// Every bosun Deployment.
    pub deployments: Arc<Informer<Deployment>>,
    /// Every core Service.
    pub services: Arc<Informer<Service>>,
    /// Every Node (for endpoint zones).
    pub nodes: Arc<Informer<Node>>,
    /// Every bosun EndpointSlice.
    pub endpointslices: Arc<Informer<EndpointSlice>>,
    /// The core EndpointSlices bosun manages (mirror mode): only those labelled
    /// `endpointslice.kubernetes.io/managed-by: endpointslice.bosun.dev`.
    pub core_endpointslices: Arc<Informer<CoreEndpointSlice>>,
    /// Every DNSRecordSet.
    pub dnsrecordsets: Arc<Informer<DNSRecordSet>>,
}

impl Shared {
    /// Empty informers; [`Shared::start`] fills them.
    pub fn new(client: kube::Client) -> Arc<Self> {
        Arc::new(Self {
            client,
            pods: Informer::with_slim(
                Some(owner_and_namespace::<Pod>),
                Some(bosun_core::pod_cache::slim),
            ),
            replicasets: Informer::new(Some(owner_and_namespace::<ReplicaSet>)),
            deployments: Informer::new(Some(owner_and_namespace::<Deployment>)),
            services: Informer::new(Some(owner_and_namespace::<Service>)),
            nodes: Informer::new(None),
            endpointslices: Informer::new(Some(owner_and_namespace::<EndpointSlice>)),
            core_endpointslices: Informer::new(Some(owner_and_namespace::<CoreEndpointSlice>)),
            dnsrecordsets: Informer::new(Some(owner_and_namespace::<DNSRecordSet>)),
        })
    }

    /// Start the watches of the kinds some controller registered a handler for; returns when
    /// each of those caches holds its first list. Controllers register in their constructors,
    /// before this, so they see the first list.
    pub async fn start(self: &Arc<Self>) {
        let all = kube::runtime::watcher::Config::default().page_size(LIST_PAGE_SIZE);
        let mirrored = kube::runtime::watcher::Config::default().labels(&format!(
            "endpointslice.kubernetes.io/managed-by={}",
            bosun_api::discovery::MANAGED_BY
        ));
        let mut synced: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>> =
            Vec::new();
        macro_rules! watch {
            ($inf:ident, $cfg:expr) => {
                if self.$inf.has_handlers() {
                    tokio::spawn(
                        self.$inf
                            .clone()
                            .run(kube::Api::all(self.client.clone()), $cfg),
                    );
                    let inf = self.$inf.clone();
                    synced.push(Box::pin(async move { inf.synced().await }));
                }
            };
        }
        watch!(pods, all.clone());
        watch!(replicasets, all.clone());
        watch!(deployments, all.clone());
        watch!(services, all.clone());
        watch!(nodes, all.clone());
        watch!(endpointslices, all.clone());
        watch!(core_endpointslices, mirrored);
        watch!(dnsrecordsets, all);
        futures::future::join_all(synced).await;
    }
}

/// Run `futures` with at most `limit` of them in flight; their outputs in completion order.
/// (A `Vec`, not any iterator: a stream over a closure held across an await trips rustc's
/// `Send` check of the controllers' futures.)
pub async fn in_parallel<F: std::future::Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    use futures::StreamExt;
    futures::stream::iter(futures)
        .buffer_unordered(limit)
        .collect()
        .await
}

/// A failed API call and what it was for; every controller's error wraps it.
#[derive(Debug, thiserror::Error)]
#[error("{action}: {source}")]
pub struct ApiError {
    /// What was being done.
    pub action: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// Wrap a kube error with what was being done: `.map_err(api_err("writing status"))`.
pub fn api_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> ApiError {
    let action = action.into();
    move |source| ApiError { action, source }
}

/// The API server's own message for an error (what Events and conditions quote), or the
/// client's description when the request never got an answer.
pub fn message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(ae) => ae.message.clone(),
        other => other.to_string(),
    }
}

/// `errors.HasStatusCause(err, NamespaceTerminatingCause)`: the API server refuses creates in
/// a namespace being deleted with 403 and this wording (kube's error type keeps no causes).
/// Upstream's controllers treat it as the end of the pass, not a failure.
pub fn is_namespace_terminating(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s)
        if s.code == 403 && s.message.contains("because it is being terminated"))
}

/// Requeue decision of one sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// Wait for the next watch event.
    No,
    /// Sync again after this long.
    After(std::time::Duration),
    /// Sync again soon, with the key's backoff.
    RateLimited,
}

/// An error with a short stable label per variant, for logs and metrics.
pub trait MetricLabel {
    /// The label (`api`, `claim`, ...).
    fn metric_label(&self) -> &'static str;
}

/// A controller's sync, driven by [`run_workers`].
pub trait Reconciler: Send + Sync + 'static {
    /// The controller's name in logs.
    const NAME: &'static str;
    /// Its error type.
    type Error: std::fmt::Display + MetricLabel + Send;
    /// The kind whose objects are its keys (a Service for the EndpointSlice controller).
    type Primary: Resource<DynamicType: Default>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static;
    /// Its queue of object keys.
    fn queue(&self) -> &queue::WorkQueue;
    /// The cache of its primary kind.
    fn primary(&self) -> &Informer<Self::Primary>;
    /// Every key to sync once at start: every object of the primary kind.
    fn initial_keys(&self) -> Vec<String> {
        self.primary()
            .list()
            .iter()
            .map(|o| bosun_core::key_of(o.meta()))
            .collect()
    }
    /// Sync one key.
    fn sync(
        &self,
        key: &str,
    ) -> impl std::future::Future<Output = Result<Requeue, Self::Error>> + Send;
}

/// Run `workers` workers over the controller's queue until `shutdown` resolves, then let the
/// in-flight syncs finish: errors requeue with per-key backoff, successes reset it.
pub async fn run_workers<R: Reconciler>(
    r: Arc<R>,
    workers: usize,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use tracing::Instrument;
    for key in r.initial_keys() {
        r.queue().add(&key);
    }
    let handles: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move {
                let labels = metrics::Metrics::controller(R::NAME);
                while let Some(key) = r.queue().get().await {
                    let span = tracing::info_span!("sync", controller = R::NAME, key = %key);
                    let started = std::time::Instant::now();
                    let result = r.sync(&key).instrument(span.clone()).await;
                    let m = &metrics::METRICS;
                    m.reconciles.get_or_create(&labels).inc();
                    m.durations
                        .get_or_create(&labels)
                        .observe(started.elapsed().as_secs_f64());
                    match result {
                        Ok(requeue) => {
                            r.queue().forget(&key);
                            match requeue {
                                Requeue::No => {}
                                Requeue::After(d) => {
                                    span.in_scope(|| tracing::debug!(after = ?d, "requeue"));
                                    r.queue().add_after(&key, d);
                                }
                                Requeue::RateLimited => r.queue().add_rate_limited(&key),
                            }
                        }
                        Err(e) => {
                            m.errors
                                .get_or_create(&metrics::ErrorLabels {
                                    controller: R::NAME.to_string(),
                                    kind: e.metric_label().to_string(),
                                })
                                .inc();
                            span.in_scope(|| tracing::warn!(error = %e, kind = e.metric_label(), "sync failed; requeued with backoff"));
                            r.queue().add_rate_limited(&key);
                        }
                    }
                    r.queue().done(&key);
                }
            })
        })
        .collect();
    // The queue depth, sampled every second (adds happen in watch handlers, not here).
    let sampler = {
        let r = r.clone();
        tokio::spawn(async move {
            let gauge = metrics::METRICS
                .queue_depth
                .get_or_create(&metrics::Metrics::controller(R::NAME))
                .clone();
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                gauge.set(i64::try_from(r.queue().len()).unwrap_or(i64::MAX));
            }
        })
    };
    shutdown.await;
    sampler.abort();
    r.queue().shut_down();
    futures::future::join_all(handles).await;
}
