//! Which Services a Pod change concerns: upstream's `GetPodUpdateProjectionKey`,
//! `podEndpointsChanged` and `determineNeededServiceUpdates` (`util/controller_utils.go`).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use crate::pod::is_ready;

/// `podEndpointsChanged`: `(pod changed, labels changed)`. The pod changed when its deletion
/// timestamp, readiness or IPs did; a hostname or subdomain change counts as a label change
/// (it moves the pod between headless Services' hostnames).
pub fn pod_endpoints_changed(old: &Pod, new: &Pod) -> (bool, bool) {
    let host = |p: &Pod| {
        p.spec
            .as_ref()
            .map(|s| (s.hostname.clone(), s.subdomain.clone()))
    };
    let labels_changed = old.metadata.labels != new.metadata.labels || host(old) != host(new);
    let ips = |p: &Pod| {
        p.status
            .as_ref()
            .and_then(|s| s.pod_ips.as_ref())
            .map(|ips| ips.iter().map(|i| i.ip.clone()).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    // Upstream compares the DeletionTimestamp *pointers*: two decoded versions of a terminating
    // pod never share one, so every update of a terminating pod counts as a change (a
    // terminating pod that turns Failed leaves its slice at once).
    let terminating =
        old.metadata.deletion_timestamp.is_some() || new.metadata.deletion_timestamp.is_some();
    let pod_changed = terminating || is_ready(old) != is_ready(new) || ips(old) != ips(new);
    (pod_changed, labels_changed)
}

/// The Services to sync for a pod update, given those matching the old and the new labels
/// (`GetServicesToUpdate`): `None` when nothing endpoint-relevant changed. Labels alone changed:
/// only the Services gained or lost (symmetric difference); the pod changed too: all of them.
pub fn services_to_update(
    old: &Pod,
    new: &Pod,
    old_services: BTreeSet<String>,
    new_services: BTreeSet<String>,
) -> BTreeSet<String> {
    if old.metadata.resource_version == new.metadata.resource_version {
        return BTreeSet::new();
    }
    let (pod_changed, labels_changed) = pod_endpoints_changed(old, new);
    match (pod_changed, labels_changed) {
        (false, false) => BTreeSet::new(),
        (true, false) => new_services,
        (true, true) => new_services.union(&old_services).cloned().collect(),
        (false, true) => new_services
            .symmetric_difference(&old_services)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::fixtures::pod;
    use k8s_openapi::api::core::v1::PodIP;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn rv(mut p: Pod, v: &str) -> Pod {
        p.metadata.resource_version = Some(v.into());
        p
    }

    #[test]
    fn get_pod_update_projection_key_ignores_resync_and_irrelevant_changes() {
        let a = rv(pod("a").ready().build(), "1");
        assert!(services_to_update(&a, &a, set(&["s"]), set(&["s"])).is_empty());
        let b = rv(pod("a").ready().annotation("x", "y").build(), "2");
        assert!(services_to_update(&a, &b, set(&["s"]), set(&["s"])).is_empty());
    }

    #[test]
    fn pod_endpoints_changed_on_readiness_deletion_and_ips() {
        let a = pod("a").ready().build();
        assert_eq!(
            pod_endpoints_changed(&a, &pod("a").not_ready().build()),
            (true, false)
        );
        assert_eq!(
            pod_endpoints_changed(&a, &pod("a").ready().deleting().build()),
            (true, false)
        );
        let mut c = a.clone();
        if let Some(st) = c.status.as_mut() {
            st.pod_ips = Some(vec![PodIP {
                ip: "10.0.0.9".into(),
            }]);
        }
        assert_eq!(pod_endpoints_changed(&a, &c), (true, false));
        let mut h = a.clone();
        if let Some(s) = h.spec.as_mut() {
            s.hostname = Some("h".into());
        }
        assert_eq!(pod_endpoints_changed(&a, &h), (false, true));
    }

    #[test]
    fn pod_endpoints_changed_on_any_update_of_a_terminating_pod() {
        // Upstream compares DeletionTimestamp pointers: a terminating, not-ready pod that turns
        // Failed is a changed pod, and leaves its slice.
        let old = rv(pod("a").not_ready().deleting().build(), "1");
        let failed = rv(pod("a").not_ready().deleting().phase("Failed").build(), "2");
        assert_eq!(pod_endpoints_changed(&old, &failed), (true, false));
        assert_eq!(
            services_to_update(&old, &failed, set(&["s"]), set(&["s"])),
            set(&["s"])
        );
        // Neither version terminating and nothing relevant changed: no change.
        let running = rv(pod("a").not_ready().build(), "1");
        let annotated = rv(pod("a").not_ready().annotation("x", "y").build(), "2");
        assert_eq!(pod_endpoints_changed(&running, &annotated), (false, false));
    }

    #[test]
    fn determine_needed_service_updates_symmetric_difference_or_union() {
        let a = rv(pod("a").ready().build(), "1");
        let relabelled = rv(pod("a").ready().label("tier", "x").build(), "2");
        assert_eq!(
            services_to_update(
                &a,
                &relabelled,
                set(&["old", "both"]),
                set(&["new", "both"])
            ),
            set(&["old", "new"])
        );
        let relabelled_unready = rv(pod("a").not_ready().label("tier", "x").build(), "2");
        assert_eq!(
            services_to_update(
                &a,
                &relabelled_unready,
                set(&["old", "both"]),
                set(&["new", "both"])
            ),
            set(&["old", "new", "both"])
        );
        let unready = rv(pod("a").not_ready().build(), "2");
        assert_eq!(
            services_to_update(&a, &unready, set(&["s"]), set(&["s"])),
            set(&["s"])
        );
    }
}
