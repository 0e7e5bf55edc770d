//! What of a Pod the controllers' shared cache keeps.
//!
//! A Pod as k8s-openapi deserializes it takes about 17 KB of memory (a kwok Pod of 2.5 KB of
//! JSON: every `Container` and `ContainerStatus` carries dozens of optional fields), so 5000 of
//! them cost 85 MB. The controllers read only a few fields; [`slim`] drops the rest
//! before a Pod enters the cache. Upstream's informers keep whole Pods (client-go has a
//! transform hook for this, which kube-controller-manager does not use for Pods).
//!
//! What is kept, and who reads it, is declared once, in [`KEPT`]. A controller that reads
//! another Pod field adds it there and keeps it in [`slim`]. The tests of `pod_cache/rich.rs`
//! hold the declaration, [`slim`] and the readers together: every reader of Pods in this crate
//! answers the same for random Pods with every field of the Pod schema filled in as for their
//! slim copies (a reader of a dropped field fails this), and what [`slim`] keeps of those Pods
//! is exactly what [`KEPT`] declares (a field kept but not declared, or declared but not kept,
//! fails that). How, and what they do not catch, is in that file's documentation.

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Pod, PodCondition, PodSpec, PodStatus,
};

use crate::pod::{DELETION_COST_ANNOTATION, sidecar_names};

/// One Pod field the cache keeps.
#[derive(Debug, Clone, Copy)]
pub struct Kept {
    /// Its path in the Pod's JSON: `.` before a field, `[]` for every element of a list, and
    /// `{key}` for one key of a map. Everything under it is kept.
    pub path: &'static str,
    /// Of which elements, or in what form, when not all and as is.
    pub only: &'static str,
    /// Who reads it (functions of this crate unless said otherwise), and what for.
    pub read_by: &'static str,
}

const fn kept(path: &'static str, only: &'static str, read_by: &'static str) -> Kept {
    Kept {
        path,
        only,
        read_by,
    }
}

/// The Pod fields the controllers' shared cache keeps; [`slim`] drops every other one. A new
/// reader of a Pod field extends this list and [`slim`] (the tests in `pod_cache/rich.rs` say
/// which of the two is missing).
pub const KEPT: &[Kept] = &[
    kept("apiVersion", "", "the type"),
    kept("kind", "", "the type"),
    kept(
        "metadata.name",
        "",
        "keys, expectations, podsToDelete, endpoints' targetRef",
    ),
    kept(
        "metadata.namespace",
        "",
        "keys, claims, endpoints' targetRef",
    ),
    kept(
        "metadata.uid",
        "",
        "claims, the deletion ranking's tie-break, targetRef",
    ),
    kept(
        "metadata.resourceVersion",
        "",
        "services_to_update; the informer's relist diff (runtime/informer.rs)",
    ),
    kept(
        "metadata.creationTimestamp",
        "",
        "the deletion ranking (younger first)",
    ),
    kept(
        "metadata.deletionTimestamp",
        "",
        "is_active, is_terminating, pod_endpoints_changed, endpoints' terminating",
    ),
    kept(
        "metadata.labels",
        "",
        "selectors, fullyLabeledReplicas, pod_endpoints_changed",
    ),
    kept(
        "metadata.ownerReferences",
        "",
        "controller_of, claims, the Pod handlers",
    ),
    kept(
        "metadata.annotations{controller.kubernetes.io/pod-deletion-cost}",
        "",
        "deletion_cost (the deletion ranking)",
    ),
    // The rest of `metadata` is small, and kept whole but for `managedFields` and the other
    // annotations.
    kept("metadata.generateName", "", "nobody (metadata is kept)"),
    kept("metadata.generation", "", "nobody (metadata is kept)"),
    kept(
        "metadata.deletionGracePeriodSeconds",
        "",
        "nobody (metadata is kept)",
    ),
    kept("metadata.finalizers", "", "nobody (metadata is kept)"),
    kept("metadata.selfLink", "", "nobody (metadata is kept)"),
    kept(
        "spec.nodeName",
        "",
        "the deletion ranking (same node), endpoints' nodeName and zone",
    ),
    kept(
        "spec.hostname",
        "",
        "should_set_hostname, pod_endpoints_changed",
    ),
    kept(
        "spec.subdomain",
        "",
        "should_set_hostname, pod_endpoints_changed",
    ),
    kept(
        "spec.containers[].name",
        "containers with ports",
        "find_port (a Service's named target ports)",
    ),
    kept(
        "spec.containers[].ports",
        "containers with ports",
        "find_port",
    ),
    kept(
        "spec.containers[].restartPolicy",
        "containers with ports",
        "nobody (kept with the name and ports, as the sidecars' is)",
    ),
    kept(
        "spec.initContainers[].name",
        "restartable (sidecar) init containers",
        "sidecar_names, find_port",
    ),
    kept("spec.initContainers[].ports", "sidecars", "find_port"),
    kept(
        "spec.initContainers[].restartPolicy",
        "sidecars",
        "sidecar_names",
    ),
    kept(
        "status.phase",
        "",
        "is_active, is_finished, the deletion ranking, should_pod_be_in_endpoints",
    ),
    kept("status.podIP", "", "should_pod_be_in_endpoints"),
    kept(
        "status.podIPs",
        "",
        "endpoint_addresses, pod_endpoints_changed",
    ),
    kept(
        "status.conditions[].type",
        "the Ready condition",
        "ready_condition",
    ),
    kept(
        "status.conditions[].status",
        "the Ready condition",
        "is_ready",
    ),
    kept(
        "status.conditions[].lastTransitionTime",
        "the Ready condition",
        "ready_since (availability, the ranking), endpoints' trigger time",
    ),
    kept(
        "status.containerStatuses[].restartCount",
        "one entry holding the highest count (none when 0)",
        "max_restarts (the deletion ranking)",
    ),
    kept(
        "status.initContainerStatuses[].name",
        "one entry of sidecars, named after the first sidecar",
        "max_restarts",
    ),
    kept(
        "status.initContainerStatuses[].restartCount",
        "one entry holding the sidecars' highest count (none when 0)",
        "max_restarts",
    ),
];

/// Drop every field [`KEPT`] does not list.
pub fn slim(pod: &mut Pod) {
    let meta = &mut pod.metadata;
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.take() {
        let kept: std::collections::BTreeMap<String, String> = a
            .into_iter()
            .filter(|(k, _)| k == DELETION_COST_ANNOTATION)
            .collect();
        meta.annotations = (!kept.is_empty()).then_some(kept);
    }
    // Sidecars' names tell sidecar restarts apart.
    let sidecars: Vec<String> = sidecar_names(pod).into_iter().map(String::from).collect();
    if let Some(status) = pod.status.take() {
        pod.status = Some(slim_status(status, &sidecars));
    }
    if let Some(spec) = pod.spec.take() {
        // Only ports are looked up by container (named target ports), regular containers'
        // only when they have some; sidecars stay for their names too.
        let container = |c: Container| Container {
            name: c.name,
            ports: c.ports,
            restart_policy: c.restart_policy,
            ..Default::default()
        };
        let has_ports = |c: &Container| c.ports.as_ref().is_some_and(|p| !p.is_empty());
        let init: Vec<Container> = spec
            .init_containers
            .into_iter()
            .flatten()
            .filter(|c| sidecars.contains(&c.name))
            .map(container)
            .collect();
        pod.spec = Some(PodSpec {
            node_name: spec.node_name,
            hostname: spec.hostname,
            subdomain: spec.subdomain,
            containers: spec
                .containers
                .into_iter()
                .filter(has_ports)
                .map(container)
                .collect(),
            init_containers: (!init.is_empty()).then_some(init),
            ..Default::default()
        });
    }
}

/// The status part of [`slim`]: the Ready condition, and of the container statuses only the
/// highest restart count (of regular containers, and of `sidecars`), which is all the
/// ReplicaSet controller's ranking asks of them.
fn slim_status(status: PodStatus, sidecars: &[String]) -> PodStatus {
    let highest = |cs: Option<Vec<ContainerStatus>>, only: Option<&[String]>| {
        let max = cs
            .into_iter()
            .flatten()
            .filter(|c| only.is_none_or(|names| names.contains(&c.name)))
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0);
        (max != 0).then(|| {
            vec![ContainerStatus {
                name: only.and_then(|n| n.first().cloned()).unwrap_or_default(),
                restart_count: max,
                ..Default::default()
            }]
        })
    };
    PodStatus {
        phase: status.phase,
        pod_ip: status.pod_ip,
        pod_ips: status.pod_ips,
        conditions: status.conditions.map(|cs| {
            cs.into_iter()
                .filter(|c| c.type_ == "Ready")
                .map(|c| PodCondition {
                    type_: c.type_,
                    status: c.status,
                    last_transition_time: c.last_transition_time,
                    ..Default::default()
                })
                .collect()
        }),
        container_statuses: highest(status.container_statuses, None),
        init_container_statuses: highest(status.init_container_statuses, Some(sidecars)),
        ..Default::default()
    }
}

#[cfg(test)]
mod rich;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpointslice::pods::pod_endpoints_changed;
    use crate::endpointslice::utils::{
        endpoint_addresses, endpoint_ports, pod_to_endpoint, should_pod_be_in_endpoints,
        should_set_hostname,
    };
    use crate::pod::{
        deletion_cost, is_active, is_available, is_ready, is_terminating, max_restarts, phase,
        ready_since,
    };
    use bosun_api::discovery::AddressType;
    use k8s_openapi::api::core::v1::Service;
    use serde_json::json;

    /// A Pod as kwok and the API server fill it in, with a sidecar, named ports, two IPs, a big
    /// annotation and the deletion cost.
    fn full_pod(ready: &str, deleting: bool) -> Pod {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {
                "name": "web-1", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "creationTimestamp": "2026-11-24T04:54:27Z",
                "labels": {"app": "web"},
                "annotations": {
                    "controller.kubernetes.io/pod-deletion-cost": "-5",
                    "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(4000),
                },
                "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                    "name": "web", "uid": "rs", "controller": true}],
                "managedFields": [{"manager": "kwok", "operation": "Update"}],
            },
            "spec": {
                "nodeName": "kwok-node-1", "hostname": "h", "subdomain": "svc",
                "serviceAccountName": "default", "dnsPolicy": "ClusterFirst",
                "tolerations": [{"key": "k", "operator": "Exists"}],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "initContainers": [
                    {"name": "init", "image": "i", "ports": [{"name": "http", "containerPort": 1}]},
                    {"name": "side", "image": "s", "restartPolicy": "Always",
                     "ports": [{"name": "metrics", "containerPort": 9090}]},
                ],
                "containers": [{"name": "app", "image": "registry.example/app:1",
                    "env": [{"name": "A", "value": "b"}],
                    "ports": [{"name": "http", "containerPort": 8080},
                              {"name": "dns", "containerPort": 53, "protocol": "UDP"}]},
                    {"name": "logger", "image": "l"}],
            },
            "status": {
                "phase": "Running", "podIP": "10.0.0.1",
                "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                "hostIP": "192.168.0.1", "qosClass": "BestEffort",
                "conditions": [
                    {"type": "PodScheduled", "status": "True",
                     "lastTransitionTime": "2026-11-24T04:54:27Z"},
                    {"type": "Ready", "status": ready, "message": "m", "reason": "r",
                     "lastTransitionTime": "2026-11-24T04:54:28Z"},
                ],
                "containerStatuses": [{"name": "app", "image": "i", "imageID": "", "ready": true,
                    "restartCount": 3, "state": {"running": {}}},
                    {"name": "logger", "image": "l", "imageID": "", "ready": true, "restartCount": 1}],
                "initContainerStatuses": [
                    {"name": "init", "image": "i", "imageID": "", "ready": false, "restartCount": 9},
                    {"name": "side", "image": "s", "imageID": "", "ready": true, "restartCount": 4},
                ],
            },
        }))
        .expect("a valid pod");
        if deleting {
            p.metadata.deletion_timestamp = p.metadata.creation_timestamp.clone();
        }
        p
    }

    fn service(ports: serde_json::Value) -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "svc", "namespace": "ns"},
            "spec": {"selector": {"app": "web"}, "ports": ports},
        }))
        .expect("a valid service")
    }

    #[test]
    fn a_slim_pod_answers_every_controller_predicate_as_the_full_one() {
        let now: crate::Timestamp = "2026-11-24T05:00:00Z".parse().expect("a time");
        let svc = service(json!([
            {"name": "a", "port": 80, "targetPort": "http"},
            {"name": "b", "port": 53, "targetPort": "dns", "protocol": "UDP"},
            {"name": "c", "port": 90, "targetPort": "metrics"},
            {"name": "d", "port": 91, "targetPort": 7000},
        ]));
        for ready in ["True", "False"] {
            for deleting in [false, true] {
                let full = full_pod(ready, deleting);
                let mut s = full.clone();
                slim(&mut s);
                let case = format!("ready={ready} deleting={deleting}");
                assert_eq!(is_active(&s), is_active(&full), "{case}");
                assert_eq!(is_terminating(&s), is_terminating(&full), "{case}");
                assert_eq!(is_ready(&s), is_ready(&full), "{case}");
                assert_eq!(phase(&s), phase(&full), "{case}");
                assert_eq!(ready_since(&s), ready_since(&full), "{case}");
                for min in [0, 10, 100_000] {
                    assert_eq!(is_available(&s, min, now), is_available(&full, min, now));
                }
                assert_eq!(max_restarts(&s), max_restarts(&full), "{case}");
                assert_eq!(max_restarts(&s), (3, 4), "{case}");
                assert_eq!(deletion_cost(&s), -5, "{case}");
                assert_eq!(s.metadata.labels, full.metadata.labels);
                assert_eq!(s.metadata.owner_references, full.metadata.owner_references);
                assert_eq!(
                    s.metadata.deletion_timestamp,
                    full.metadata.deletion_timestamp
                );
                assert_eq!(s.metadata.resource_version, full.metadata.resource_version);
                assert_eq!(
                    should_pod_be_in_endpoints(&s),
                    should_pod_be_in_endpoints(&full)
                );
                assert_eq!(
                    should_set_hostname(&s, &svc),
                    should_set_hostname(&full, &svc)
                );
                assert_eq!(
                    endpoint_ports(&svc, &s),
                    endpoint_ports(&svc, &full),
                    "{case}"
                );
                assert_eq!(endpoint_ports(&svc, &s).len(), 4, "{case}");
                for family in [AddressType::IPv4, AddressType::IPv6] {
                    assert_eq!(
                        endpoint_addresses(&s, family),
                        endpoint_addresses(&full, family)
                    );
                    assert_eq!(
                        pod_to_endpoint(&s, Some("z"), &svc, family),
                        pod_to_endpoint(&full, Some("z"), &svc, family),
                        "{case}"
                    );
                }
                // Every version of a terminating pod is a change (upstream compares pointers).
                let deleting = full.metadata.deletion_timestamp.is_some();
                assert_eq!(
                    pod_endpoints_changed(&full, &s),
                    (deleting, false),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn a_slim_pod_drops_what_no_controller_reads() {
        let mut s = full_pod("True", false);
        slim(&mut s);
        assert!(s.metadata.managed_fields.is_none());
        assert_eq!(s.metadata.annotations.as_ref().map(|a| a.len()), Some(1));
        let spec = s.spec.as_ref().expect("spec");
        assert!(spec.volumes.is_none() && spec.tolerations.is_none());
        assert_eq!(spec.containers[0].image, None);
        assert_eq!(spec.containers[0].env, None);
        let init: Vec<&str> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(init, ["side"], "only restartable init containers");
        let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["app"], "only containers with ports");
        let status = s.status.as_ref().expect("status");
        assert!(status.host_ip.is_none() && status.qos_class.is_none());
        let conditions: Vec<&str> = status
            .conditions
            .iter()
            .flatten()
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(conditions, ["Ready"]);
        assert_eq!(status.container_statuses.as_ref().map(Vec::len), Some(1));
        assert_eq!(
            status.init_container_statuses.as_ref().map(Vec::len),
            Some(1)
        );
        assert!(
            status
                .conditions
                .iter()
                .flatten()
                .all(|c| c.message.is_none() && c.reason.is_none())
        );
        // No restarts: no statuses kept. A pod without annotations keeps none; without spec or
        // status stays so.
        let mut calm = full_pod("True", false);
        for c in calm
            .status
            .iter_mut()
            .flat_map(|s| s.container_statuses.iter_mut().flatten())
        {
            c.restart_count = 0;
        }
        slim(&mut calm);
        assert_eq!(calm.status.and_then(|s| s.container_statuses), None);
        let mut bare = Pod::default();
        slim(&mut bare);
        assert_eq!(bare, Pod::default());
    }
}
