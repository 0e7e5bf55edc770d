//! Upstream's `EndpointSliceTracker` (`endpointslice/util/endpointslice_tracker.go`): the
//! generation of every slice this controller wrote, by Service, so that
//!
//! - the watch events of its own writes do not trigger another sync ([`Tracker::should_sync`]),
//! - a sync on a cache that has not caught up with those writes stops and retries instead of
//!   writing again from stale data ([`Tracker::stale`]).
//!
//! | cache holds a slice tracked at generation g | stale when                          |
//! |---------------------------------------------|-------------------------------------|
//! | at generation < g                           | yes (our update is not seen yet)    |
//! | expected deleted                            | yes (our delete is not seen yet)    |
//! | missing, tracked g ≥ 0                      | yes (our create is not seen yet)    |
//!
//! bosun's slices are custom resources, whose generation does not move on a label-only change;
//! such a write is then not detected as stale, and the next sync may rewrite the labels once
//! more (an update with the read resourceVersion, refused on conflict).

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::LABEL_SERVICE_NAME;

const DELETION_EXPECTED: i64 = -1;

/// `(namespace, service name)`.
type ServiceId = (String, String);

/// Generations written, by Service and slice UID.
#[derive(Debug, Default, Clone)]
pub struct Tracker {
    by_service: HashMap<ServiceId, HashMap<String, i64>>,
}

fn service_of(meta: &ObjectMeta) -> ServiceId {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.labels
            .as_ref()
            .and_then(|l| l.get(LABEL_SERVICE_NAME))
            .cloned()
            .unwrap_or_default(),
    )
}

fn uid(meta: &ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_default()
}

impl Tracker {
    /// `Has`: the slice is tracked.
    pub fn has(&self, meta: &ObjectMeta) -> bool {
        self.by_service
            .get(&service_of(meta))
            .is_some_and(|g| g.contains_key(&uid(meta)))
    }

    /// `ShouldSync`: the slice is not ours as last written (unknown, or a newer generation).
    pub fn should_sync(&self, meta: &ObjectMeta) -> bool {
        let Some(gens) = self.by_service.get(&service_of(meta)) else {
            return true;
        };
        match gens.get(&uid(meta)) {
            None => true,
            Some(g) => meta.generation.unwrap_or(0) > *g,
        }
    }

    /// `StaleSlices`: the cached slices of a Service lag behind what was written (see the table).
    pub fn stale<'a>(
        &self,
        namespace: &str,
        service: &str,
        cached: impl IntoIterator<Item = &'a ObjectMeta>,
    ) -> bool {
        let Some(gens) = self
            .by_service
            .get(&(namespace.to_string(), service.to_string()))
        else {
            return false;
        };
        let mut seen = std::collections::HashSet::new();
        for meta in cached {
            let u = uid(meta);
            if let Some(g) = gens.get(&u)
                && (*g == DELETION_EXPECTED || *g > meta.generation.unwrap_or(0))
            {
                return true;
            }
            seen.insert(u);
        }
        gens.iter()
            .any(|(u, g)| *g != DELETION_EXPECTED && !seen.contains(u))
    }

    /// `Update`: record a slice as written (the API server's answer to a create or update).
    pub fn update(&mut self, meta: &ObjectMeta) {
        self.by_service
            .entry(service_of(meta))
            .or_default()
            .insert(uid(meta), meta.generation.unwrap_or(0));
    }

    /// `ExpectDeletion`: record a slice as deleted by us.
    pub fn expect_deletion(&mut self, meta: &ObjectMeta) {
        self.by_service
            .entry(service_of(meta))
            .or_default()
            .insert(uid(meta), DELETION_EXPECTED);
    }

    /// `HandleDeletion`: forget a deleted slice; `true` when the deletion was ours (expected,
    /// or the slice untracked), `false` when someone else deleted a slice we wrote.
    pub fn handle_deletion(&mut self, meta: &ObjectMeta) -> bool {
        if let Some(gens) = self.by_service.get_mut(&service_of(meta))
            && let Some(g) = gens.remove(&uid(meta))
        {
            return g == DELETION_EXPECTED;
        }
        true
    }

    /// `DeleteService`: forget a Service.
    pub fn delete_service(&mut self, namespace: &str, service: &str) {
        self.by_service
            .remove(&(namespace.to_string(), service.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta(uid: &str, generation: i64) -> ObjectMeta {
        ObjectMeta {
            namespace: Some("ns".into()),
            uid: Some(uid.into()),
            generation: Some(generation),
            labels: Some(BTreeMap::from([(
                LABEL_SERVICE_NAME.to_string(),
                "svc".to_string(),
            )])),
            ..Default::default()
        }
    }

    #[test]
    fn should_sync_ignores_own_writes_and_older_generations() {
        let mut t = Tracker::default();
        assert!(t.should_sync(&meta("a", 1)), "unknown service");
        t.update(&meta("a", 2));
        assert!(!t.should_sync(&meta("a", 2)));
        assert!(!t.should_sync(&meta("a", 1)));
        assert!(t.should_sync(&meta("a", 3)), "someone else wrote it");
        assert!(t.should_sync(&meta("b", 1)), "untracked slice");
    }

    #[test]
    fn stale_slices_older_generation_missing_or_expected_deleted() {
        let mut t = Tracker::default();
        assert!(!t.stale("ns", "svc", [&meta("a", 1)]), "nothing tracked");
        t.update(&meta("a", 2));
        assert!(t.stale("ns", "svc", [&meta("a", 1)]), "older generation");
        assert!(!t.stale("ns", "svc", [&meta("a", 2)]));
        assert!(!t.stale("ns", "svc", [&meta("a", 3)]));
        assert!(t.stale("ns", "svc", []), "created slice not seen yet");
        t.expect_deletion(&meta("a", 2));
        assert!(
            t.stale("ns", "svc", [&meta("a", 2)]),
            "deleted slice still cached"
        );
        assert!(!t.stale("ns", "svc", []));
    }

    #[test]
    fn handle_deletion_tells_own_deletes_from_foreign_ones() {
        let mut t = Tracker::default();
        t.update(&meta("a", 1));
        t.expect_deletion(&meta("b", 1));
        assert!(t.has(&meta("a", 1)));
        assert!(!t.handle_deletion(&meta("a", 1)), "someone else deleted it");
        assert!(t.handle_deletion(&meta("b", 1)), "we deleted it");
        assert!(!t.has(&meta("a", 1)));
        assert!(t.handle_deletion(&meta("c", 1)), "untracked");
    }

    #[test]
    fn delete_service_forgets_everything() {
        let mut t = Tracker::default();
        t.update(&meta("a", 1));
        t.delete_service("ns", "svc");
        assert!(!t.stale("ns", "svc", []));
        assert!(!t.has(&meta("a", 1)));
    }
}
