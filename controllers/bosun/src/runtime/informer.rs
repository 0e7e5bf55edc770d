//! An informer: a watch kept in an in-memory cache, with indexes and event handlers, as
//! client-go's shared informers. One informer per kind serves every controller (one Pod watch
//! for the replicaset and endpointslice controllers).
//!
//! kube-runtime's `watcher` lists, watches, resumes from the last resourceVersion and relists
//! when the API server closes a slow watch; the informer turns its events into add / update /
//! delete calls, diffing a relist against the cache so that objects deleted while the watch
//! was down are reported as deleted. `managedFields` are dropped before caching, and an informer
//! may drop more ([`Informer::with_slim`]: Pods keep only what the controllers read).

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tracing::{debug, warn};

/// Reacts to changes of the cache. Calls are made in order, from the informer's task, after
/// the cache already holds the change; they must not block.
pub trait Handler<K>: Send + Sync {
    /// A new object.
    fn on_add(&self, obj: &Arc<K>);
    /// A changed object.
    fn on_update(&self, old: &Arc<K>, new: &Arc<K>);
    /// A deleted object (its last known state).
    fn on_delete(&self, obj: &Arc<K>);
}

/// The index values of an object (for example its controller's UID).
pub type IndexFn<K> = fn(&K) -> Vec<String>;

/// What the cache drops of an object before keeping it (say, the fields no controller reads).
pub type SlimFn<K> = fn(&mut K);

struct Inner<K> {
    objects: HashMap<String, Arc<K>>,
    index: HashMap<String, HashSet<String>>,
}

/// A cache of one kind, kept by a watch.
pub struct Informer<K> {
    inner: RwLock<Inner<K>>,
    index_fn: Option<IndexFn<K>>,
    slim: Option<SlimFn<K>>,
    handlers: RwLock<Vec<Arc<dyn Handler<K>>>>,
    synced_tx: watch::Sender<bool>,
}

fn key<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    match &meta.namespace {
        Some(ns) => format!("{ns}/{}", meta.name.as_deref().unwrap_or_default()),
        None => meta.name.clone().unwrap_or_default(),
    }
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    /// An empty informer, optionally indexing objects by `index_fn`.
    pub fn new(index_fn: Option<IndexFn<K>>) -> Arc<Self> {
        Self::with_slim(index_fn, None)
    }

    /// [`Informer::new`] that passes every object through `slim` before caching it (after
    /// dropping `managedFields`, which every informer does).
    pub fn with_slim(index_fn: Option<IndexFn<K>>, slim: Option<SlimFn<K>>) -> Arc<Self> {
        Arc::new(Self {
            inner: RwLock::new(Inner {
                objects: HashMap::new(),
                index: HashMap::new(),
            }),
            index_fn,
            slim,
            handlers: RwLock::new(Vec::new()),
            synced_tx: watch::channel(false).0,
        })
    }

    /// Register a handler; it sees every change from now on.
    pub fn add_handler(&self, h: Arc<dyn Handler<K>>) {
        self.handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(h);
    }

    /// Whether any handler is registered: [`super::Shared::start`] watches only the kinds some
    /// controller subscribed to.
    pub fn has_handlers(&self) -> bool {
        !self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// The cached object under `namespace/name`.
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().objects.get(key).cloned()
    }

    /// The cached objects whose index holds `value`.
    pub fn by_index(&self, value: &str) -> Vec<Arc<K>> {
        let inner = self.read();
        inner
            .index
            .get(value)
            .into_iter()
            .flatten()
            .filter_map(|k| inner.objects.get(k).cloned())
            .collect()
    }

    /// Every cached object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().objects.values().cloned().collect()
    }

    /// Wait until the first list has been cached.
    pub async fn synced(&self) {
        let mut rx = self.synced_tx.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn handlers(&self) -> Vec<Arc<dyn Handler<K>>> {
        self.handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn insert(&self, obj: Arc<K>) -> Option<Arc<K>> {
        let k = key(obj.as_ref());
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let old = inner.objects.insert(k.clone(), obj.clone());
        if let Some(f) = self.index_fn {
            if let Some(old) = &old {
                for v in f(old) {
                    if let Some(set) = inner.index.get_mut(&v) {
                        set.remove(&k);
                        if set.is_empty() {
                            inner.index.remove(&v);
                        }
                    }
                }
            }
            for v in f(&obj) {
                inner.index.entry(v).or_default().insert(k.clone());
            }
        }
        old
    }

    fn remove(&self, k: &str) -> Option<Arc<K>> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let old = inner.objects.remove(k)?;
        if let Some(f) = self.index_fn {
            for v in f(&old) {
                if let Some(set) = inner.index.get_mut(&v) {
                    set.remove(k);
                    if set.is_empty() {
                        inner.index.remove(&v);
                    }
                }
            }
        }
        Some(old)
    }

    fn applied(&self, obj: K) {
        let obj = Arc::new(obj);
        let old = self.insert(obj.clone());
        for h in self.handlers() {
            match &old {
                Some(old) => h.on_update(old, &obj),
                None => h.on_add(&obj),
            }
        }
    }

    fn deleted(&self, obj: &K) {
        if let Some(old) = self.remove(&key(obj)) {
            for h in self.handlers() {
                h.on_delete(&old);
            }
        }
    }

    /// Watch `api` and keep the cache until the stream ends (it does not, short of shutdown).
    pub async fn run(self: Arc<Self>, api: Api<K>, config: watcher::Config) {
        let slim = self.slim;
        let stream = watcher::watcher(api, config)
            .default_backoff()
            .modify(move |o: &mut K| {
                o.managed_fields_mut().clear();
                if let Some(f) = slim {
                    f(o);
                }
            });
        futures::pin_mut!(stream);
        let mut relist: Option<HashMap<String, K>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Init) => relist = Some(HashMap::new()),
                Ok(Event::InitApply(obj)) => {
                    if let Some(buf) = relist.as_mut() {
                        buf.insert(key(&obj), obj);
                    }
                }
                Ok(Event::InitDone) => {
                    let listed = relist.take().unwrap_or_default();
                    let gone: Vec<Arc<K>> = self
                        .list()
                        .into_iter()
                        .filter(|o| !listed.contains_key(&key(o.as_ref())))
                        .collect();
                    for o in gone {
                        self.deleted(&o);
                    }
                    for (_, obj) in listed {
                        let unchanged = self
                            .get(&key(&obj))
                            .is_some_and(|old| old.resource_version() == obj.resource_version());
                        if !unchanged {
                            self.applied(obj);
                        }
                    }
                    self.synced_tx.send_replace(true);
                    debug!(kind = %K::kind(&Default::default()), objects = self.read().objects.len(), "listed");
                }
                Ok(Event::Apply(obj)) => self.applied(obj),
                Ok(Event::Delete(obj)) => self.deleted(&obj),
                Err(e) => {
                    warn!(kind = %K::kind(&Default::default()), error = %e, "watch error; retrying with backoff")
                }
            }
        }
    }
}
