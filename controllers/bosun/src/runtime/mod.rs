//! The `act` side's machinery: shared informers, the work queue, events.

pub mod events;
pub mod informer;
pub mod queue;

use std::sync::Arc;

use bosun_api::apps::ReplicaSet;
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;

use informer::Informer;

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
    /// The API client.
    pub client: kube::Client,
    /// Every Pod of the cluster.
    pub pods: Arc<Informer<Pod>>,
    /// Every bosun ReplicaSet.
    pub replicasets: Arc<Informer<ReplicaSet>>,
}

impl Shared {
    /// Empty informers; [`Shared::start`] fills them.
    pub fn new(client: kube::Client) -> Arc<Self> {
        Arc::new(Self {
            client,
            pods: Informer::new(Some(owner_and_namespace::<Pod>)),
            replicasets: Informer::new(Some(owner_and_namespace::<ReplicaSet>)),
        })
    }

    /// Start the watches; returns when every cache holds its first list.
    pub async fn start(self: &Arc<Self>) {
        let cfg = kube::runtime::watcher::Config::default();
        tokio::spawn(
            self.pods
                .clone()
                .run(kube::Api::all(self.client.clone()), cfg.clone()),
        );
        tokio::spawn(
            self.replicasets
                .clone()
                .run(kube::Api::all(self.client.clone()), cfg),
        );
        self.pods.synced().await;
        self.replicasets.synced().await;
    }
}
