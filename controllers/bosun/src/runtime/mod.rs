//! The `act` side's machinery: shared informers, the work queue, events.

pub mod claim;
pub mod client;
pub mod entry;
pub mod events;
pub mod fence;
pub mod informer;
#[cfg(test)]
mod kube_selector;
pub mod meta;
pub mod metrics;
pub mod pacer;
pub mod queue;
pub mod rbac;
pub mod status;
pub mod wake;

use std::sync::Arc;

use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::{Node, Pod};
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

/// Spawns an informer's watch when some controller registered a handler on it; the future
/// resolves at the first list.
type StartFn =
    Box<dyn Fn(&kube::Client) -> Option<futures::future::BoxFuture<'static, ()>> + Send + Sync>;

/// One informer of [`Shared`], type-erased: the `Arc<Informer<K>>` and how to start its watch.
struct Slot {
    informer: Arc<dyn std::any::Any + Send + Sync>,
    start: StartFn,
}

impl Slot {
    /// `informer`, watched with `config` once it has a handler.
    fn new<K: Watched>(informer: Arc<Informer<K>>, config: kube::runtime::watcher::Config) -> Self {
        let inf = informer.clone();
        let start = move |client: &kube::Client| {
            if !inf.has_handlers() {
                return None;
            }
            tokio::spawn(
                inf.clone()
                    .run(kube::Api::all(client.clone()), config.clone()),
            );
            let inf = inf.clone();
            let synced: futures::future::BoxFuture<'static, ()> =
                Box::pin(async move { inf.synced().await });
            Some(synced)
        };
        Self {
            informer,
            start: Box::new(start),
        }
    }
}

/// The informers every controller shares (one per kind, created on first ask), and the client.
///
/// A controller asks for the informers of the kinds it reads in its constructor
/// ([`Shared::informer`]) and registers its handlers there; [`Shared::start`] then watches every
/// kind some controller registered a handler for. A new kind needs nothing here: its informer
/// indexes by namespace and controller ([`owner_and_namespace`]) and watches every object. The
/// kinds that differ are configured in [`Shared::new`].
pub struct Shared {
    /// The API client (one rate limiter for the process).
    pub client: kube::Client,
    slots: std::sync::Mutex<std::collections::HashMap<std::any::TypeId, Slot>>,
}

/// The bounds of a kind an informer watches.
pub trait Watched:
    Resource<DynamicType: Default>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
}
impl<K> Watched for K where
    K: Resource<DynamicType: Default>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

impl Shared {
    /// No informers yet but the configured ones; [`Shared::start`] fills them.
    pub fn new(client: kube::Client) -> Arc<Self> {
        let shared = Arc::new(Self {
            client,
            slots: std::sync::Mutex::new(std::collections::HashMap::new()),
        });
        let all = watch_all();
        // Every Pod of the cluster, slimmed to what the controllers read (core/pod_cache.rs).
        shared.configure(
            Informer::with_slim(
                Some(owner_and_namespace::<Pod>),
                Some(bosun_core::pod_cache::slim),
            ),
            all.clone(),
        );
        // Nodes (for endpoint zones) are read by name only.
        shared.configure(Informer::<Node>::new(None), all);
        // Of the core EndpointSlices, only those bosun manages (mirror mode), by label.
        shared.configure(
            Informer::<CoreEndpointSlice>::new(Some(owner_and_namespace::<CoreEndpointSlice>)),
            kube::runtime::watcher::Config::default().labels(&format!(
                "endpointslice.kubernetes.io/managed-by={}",
                bosun_api::discovery::MANAGED_BY
            )),
        );
        shared
    }

    fn slots(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::any::TypeId, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Use `informer`, watched with `config`, for its kind.
    fn configure<K: Watched>(
        &self,
        informer: Arc<Informer<K>>,
        config: kube::runtime::watcher::Config,
    ) {
        self.slots()
            .insert(std::any::TypeId::of::<K>(), Slot::new(informer, config));
    }

    /// The informer of kind `K`, created on first ask (indexed by namespace and controller,
    /// watching every object). Ask in a controller's constructor, before [`Shared::start`]:
    /// only kinds with a handler by then are watched.
    pub fn informer<K: Watched>(&self) -> Arc<Informer<K>> {
        // One lock for the lookup and the insert: two constructors asking at once get one
        // informer.
        let mut slots = self.slots();
        let slot = slots.entry(std::any::TypeId::of::<K>()).or_insert_with(|| {
            Slot::new(
                Informer::<K>::new(Some(owner_and_namespace::<K>)),
                watch_all(),
            )
        });
        slot.informer
            .clone()
            .downcast::<Informer<K>>()
            .unwrap_or_else(|_| unreachable!("slots are keyed by their informer's kind"))
    }

    /// Start the watches of the kinds some controller registered a handler for; returns when
    /// each of those caches holds its first list. Controllers register in their constructors,
    /// before this, so they see the first list.
    pub async fn start(self: &Arc<Self>) {
        let synced: Vec<_> = self
            .slots()
            .values()
            .filter_map(|s| (s.start)(&self.client))
            .collect();
        futures::future::join_all(synced).await;
    }
}

/// Every object of a kind, listed in pages of [`LIST_PAGE_SIZE`].
fn watch_all() -> kube::runtime::watcher::Config {
    kube::runtime::watcher::Config::default().page_size(LIST_PAGE_SIZE)
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
    type Primary: Watched;
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

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_api::apps::ReplicaSet;

    /// A client that is never called (nothing here starts a watch).
    fn idle_client() -> kube::Client {
        let url = "http://127.0.0.1:9".parse().expect("a URL");
        kube::Client::try_from(kube::Config::new(url)).expect("a client")
    }

    struct Ignore;
    impl<K> informer::Handler<K> for Ignore {
        fn on_add(&self, _: &Arc<K>) {}
        fn on_update(&self, _: &Arc<K>, _: &Arc<K>) {}
        fn on_delete(&self, _: &Arc<K>) {}
    }

    #[tokio::test]
    async fn each_kind_has_one_informer_whoever_asks() {
        let shared = Shared::new(idle_client());
        // A kind nothing configured is created on first ask, and shared from then on: a
        // handler one controller registers is on the informer another gets.
        let first = shared.informer::<ReplicaSet>();
        assert!(!shared.informer::<ReplicaSet>().has_handlers());
        first.add_handler(Arc::new(Ignore));
        assert!(Arc::ptr_eq(&first, &shared.informer::<ReplicaSet>()));
        assert!(shared.informer::<ReplicaSet>().has_handlers());
        // The configured kinds too.
        shared.informer::<Pod>().add_handler(Arc::new(Ignore));
        assert!(shared.informer::<Pod>().has_handlers());
        assert!(!shared.informer::<Node>().has_handlers());
    }

    #[tokio::test]
    async fn without_handlers_nothing_is_watched() {
        let shared = Shared::new(idle_client());
        let _ = shared.informer::<ReplicaSet>();
        // Nothing to wait for: no watch started against the (unreachable) API server.
        shared.start().await;
    }
}
