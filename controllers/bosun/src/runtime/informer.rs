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

/// What every object loses before it is cached: `managedFields`, then what `slim` drops.
fn trim<K: Resource>(obj: &mut K, slim: Option<SlimFn<K>>) {
    obj.managed_fields_mut().clear();
    if let Some(f) = slim {
        f(obj);
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
            .modify(move |o: &mut K| trim(o, slim));
        futures::pin_mut!(stream);
        let mut relist: Option<HashMap<String, K>> = None;
        while let Some(event) = stream.next().await {
            match event {
                Ok(event) => self.handle(&mut relist, event),
                Err(e) => {
                    warn!(kind = %K::kind(&Default::default()), error = %e, "watch error; retrying with backoff")
                }
            }
        }
    }

    /// Apply one watcher event to the cache and the handlers (the part of [`Informer::run`]
    /// that does no I/O). A list arrives as `Init`, `InitApply`s and `InitDone`; its objects are
    /// buffered in `relist` until `InitDone`, then diffed against the cache ([`Informer::relisted`]).
    fn handle(&self, relist: &mut Option<HashMap<String, K>>, event: Event<K>) {
        match event {
            Event::Init => *relist = Some(HashMap::new()),
            Event::InitApply(obj) => {
                if let Some(buf) = relist.as_mut() {
                    buf.insert(key(&obj), obj);
                }
            }
            Event::InitDone => {
                self.relisted(relist.take().unwrap_or_default());
                self.synced_tx.send_replace(true);
                debug!(kind = %K::kind(&Default::default()), objects = self.read().objects.len(), "listed");
            }
            Event::Apply(obj) => self.applied(obj),
            Event::Delete(obj) => self.deleted(&obj),
        }
    }

    /// A complete list replaces the cache: cached objects the list lacks are deleted (each
    /// handler sees its last known state), listed objects the cache lacks are added, and those
    /// whose resourceVersion changed are updated; an unchanged one emits nothing. Deletions go
    /// first. Like client-go's `Replace`, an object deleted and created again under the same
    /// name while the watch was down is one update (old and new UIDs differ); unlike it, an
    /// unchanged object is not re-sent as an update.
    fn relisted(&self, listed: HashMap<String, K>) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};
    use std::sync::Mutex;

    /// A Pod `ns/name` at resourceVersion `rv`, owned by the object of UID `owner` if any.
    fn pod(name: &str, rv: &str, owner: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                resource_version: Some(rv.into()),
                owner_references: owner.map(|uid| {
                    vec![
                        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                            api_version: "apps.bosun.dev/v1".into(),
                            kind: "ReplicaSet".into(),
                            name: "rs".into(),
                            uid: uid.into(),
                            controller: Some(true),
                            block_owner_deletion: None,
                        },
                    ]
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Every handler call, as `add ns/a@1`, `update ns/a@1->2`, `delete ns/a@1`.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    fn at(p: &Pod) -> String {
        format!("{}@{}", key(p), p.resource_version().unwrap_or_default())
    }

    impl Handler<Pod> for Recorder {
        fn on_add(&self, obj: &Arc<Pod>) {
            self.push(format!("add {}", at(obj)));
        }
        fn on_update(&self, old: &Arc<Pod>, new: &Arc<Pod>) {
            let rv = new.resource_version().unwrap_or_default();
            self.push(format!("update {}->{rv}", at(old)));
        }
        fn on_delete(&self, obj: &Arc<Pod>) {
            self.push(format!("delete {}", at(obj)));
        }
    }

    impl Recorder {
        fn push(&self, s: String) {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(s);
        }
        /// The calls since the last look: deletions first, as emitted; the rest sorted (a
        /// relist applies in no particular order).
        fn take(&self) -> Vec<String> {
            let mut calls = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
            let first_apply = calls
                .iter()
                .position(|c| !c.starts_with("delete"))
                .unwrap_or(calls.len());
            calls[first_apply..].sort();
            calls
        }
    }

    fn informer() -> (Arc<Informer<Pod>>, Arc<Recorder>) {
        let inf = Informer::new(Some(crate::runtime::owner_and_namespace::<Pod>));
        let rec = Arc::new(Recorder::default());
        inf.add_handler(rec.clone());
        (inf, rec)
    }

    /// A complete list, as the watcher delivers it.
    fn list(inf: &Informer<Pod>, relist: &mut Option<HashMap<String, Pod>>, pods: Vec<Pod>) {
        inf.handle(relist, Event::Init);
        for p in pods {
            inf.handle(relist, Event::InitApply(p));
        }
        inf.handle(relist, Event::InitDone);
    }

    fn names(pods: Vec<Arc<Pod>>) -> Vec<String> {
        let mut n: Vec<String> = pods.iter().map(|p| at(p)).collect();
        n.sort();
        n
    }

    #[tokio::test]
    async fn the_first_list_adds_every_object_and_marks_the_cache_synced() {
        let (inf, rec) = informer();
        let mut relist = None;
        inf.handle(&mut relist, Event::Init);
        inf.handle(&mut relist, Event::InitApply(pod("a", "1", None)));
        inf.handle(&mut relist, Event::InitApply(pod("b", "1", None)));
        assert!(
            rec.take().is_empty() && inf.list().is_empty(),
            "nothing is cached or emitted before the list is complete"
        );
        assert!(
            !*inf.synced_tx.borrow(),
            "not synced before the list is complete"
        );
        inf.handle(&mut relist, Event::InitDone);
        assert_eq!(rec.take(), ["add ns/a@1", "add ns/b@1"]);
        assert_eq!(names(inf.list()), ["ns/a@1", "ns/b@1"]);
        // synced() returns at once now.
        tokio::time::timeout(std::time::Duration::from_secs(1), inf.synced())
            .await
            .expect("synced after the first list");
    }

    #[test]
    fn a_relist_emits_the_difference_with_the_cache() {
        let (inf, rec) = informer();
        let mut relist = None;
        list(
            &inf,
            &mut relist,
            vec![
                pod("kept", "1", None),
                pod("changed", "1", None),
                pod("gone", "1", None),
            ],
        );
        rec.take();
        // The watch broke; meanwhile "gone" was deleted, "changed" updated, "new" created.
        list(
            &inf,
            &mut relist,
            vec![
                pod("kept", "1", None),
                pod("changed", "5", None),
                pod("new", "6", None),
            ],
        );
        assert_eq!(
            rec.take(),
            ["delete ns/gone@1", "add ns/new@6", "update ns/changed@1->5",],
            "deletions first (with the last known state); an unchanged object emits nothing"
        );
        assert_eq!(names(inf.list()), ["ns/changed@5", "ns/kept@1", "ns/new@6"]);
    }

    #[test]
    fn an_empty_relist_deletes_everything_cached() {
        let (inf, rec) = informer();
        let mut relist = None;
        list(
            &inf,
            &mut relist,
            vec![pod("a", "1", None), pod("b", "2", None)],
        );
        rec.take();
        list(&inf, &mut relist, vec![]);
        let mut calls = rec.take();
        calls.sort();
        assert_eq!(calls, ["delete ns/a@1", "delete ns/b@2"]);
        assert!(inf.list().is_empty());
    }

    #[test]
    fn an_object_recreated_under_its_name_while_the_watch_was_down_is_an_update() {
        let (inf, rec) = informer();
        let mut relist = None;
        list(&inf, &mut relist, vec![pod("a", "1", Some("old-owner"))]);
        rec.take();
        list(&inf, &mut relist, vec![pod("a", "9", Some("new-owner"))]);
        assert_eq!(rec.take(), ["update ns/a@1->9"]);
        // The indexes follow the new version.
        assert!(
            inf.by_index(&crate::runtime::owner_index("old-owner"))
                .is_empty()
        );
        assert_eq!(
            names(inf.by_index(&crate::runtime::owner_index("new-owner"))),
            ["ns/a@9"]
        );
    }

    #[test]
    fn a_list_interrupted_by_another_starts_over() {
        let (inf, rec) = informer();
        let mut relist = None;
        list(&inf, &mut relist, vec![pod("a", "1", None)]);
        rec.take();
        // A first relist breaks off after one object; the second is the one that counts.
        inf.handle(&mut relist, Event::Init);
        inf.handle(&mut relist, Event::InitApply(pod("b", "2", None)));
        list(&inf, &mut relist, vec![pod("a", "1", None)]);
        assert!(rec.take().is_empty(), "b was never part of a complete list");
        assert_eq!(names(inf.list()), ["ns/a@1"]);
    }

    #[test]
    fn watch_events_between_lists_apply_one_by_one() {
        let (inf, rec) = informer();
        let mut relist = None;
        list(&inf, &mut relist, vec![]);
        inf.handle(&mut relist, Event::Apply(pod("a", "1", None)));
        inf.handle(&mut relist, Event::Apply(pod("a", "2", None)));
        // Unlike a relist, a watch event is passed on even when the version is the same.
        inf.handle(&mut relist, Event::Apply(pod("a", "2", None)));
        inf.handle(&mut relist, Event::Delete(pod("a", "3", None)));
        // A deletion of an object the cache does not hold emits nothing.
        inf.handle(&mut relist, Event::Delete(pod("b", "1", None)));
        let calls = std::mem::take(&mut *rec.0.lock().unwrap_or_else(|e| e.into_inner()));
        assert_eq!(
            calls,
            [
                "add ns/a@1",
                "update ns/a@1->2",
                "update ns/a@2->2",
                "delete ns/a@2",
            ],
            "a delete hands the handlers the cached state"
        );
        // An InitApply outside a list is dropped.
        inf.handle(&mut relist, Event::InitApply(pod("c", "1", None)));
        assert!(inf.list().is_empty());
    }

    #[test]
    fn indexes_follow_updates_and_deletions() {
        let (inf, _) = informer();
        let mut relist = None;
        list(
            &inf,
            &mut relist,
            vec![pod("a", "1", Some("rs1")), pod("b", "1", None)],
        );
        let owned = |uid: &str| names(inf.by_index(&crate::runtime::owner_index(uid)));
        let orphans = || names(inf.by_index(&crate::runtime::orphan_index("ns")));
        assert_eq!(owned("rs1"), ["ns/a@1"]);
        assert_eq!(orphans(), ["ns/b@1"]);
        // b is adopted, a released.
        inf.handle(&mut relist, Event::Apply(pod("b", "2", Some("rs1"))));
        inf.handle(&mut relist, Event::Apply(pod("a", "2", None)));
        assert_eq!(owned("rs1"), ["ns/b@2"]);
        assert_eq!(orphans(), ["ns/a@2"]);
        inf.handle(&mut relist, Event::Delete(pod("a", "2", None)));
        inf.handle(&mut relist, Event::Delete(pod("b", "2", None)));
        assert!(owned("rs1").is_empty() && orphans().is_empty());
        assert!(
            inf.read().index.is_empty(),
            "no empty index entries are left behind"
        );
    }

    #[test]
    fn objects_lose_managed_fields_and_what_slim_drops_before_caching() {
        let mut p = pod("a", "1", None);
        p.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            ..Default::default()
        }]);
        p.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
        let mut plain = p.clone();
        trim(&mut plain, None);
        let no_managed_fields = |p: &Pod| p.metadata.managed_fields.iter().flatten().count() == 0;
        assert!(no_managed_fields(&plain));
        assert_eq!(plain.metadata.labels, p.metadata.labels);
        let mut slimmed = p.clone();
        trim(&mut slimmed, Some(|p: &mut Pod| p.metadata.labels = None));
        assert!(no_managed_fields(&slimmed));
        assert_eq!(slimmed.metadata.labels, None);
    }
}
