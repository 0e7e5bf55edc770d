//! One test per upstream rule of `reconciler.go` / `utils.go` (named after it), and property
//! tests of the invariants.

use std::collections::{BTreeMap, BTreeSet};

use bosun_api::discovery::AddressType;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, Pod, PodIP, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::discovery::v1::Endpoint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::prelude::*;

use super::utils::*;
use super::*;
use crate::pod::fixtures::{PodBuilder, pod, t};

// ---- fixtures -------------------------------------------------------------------------------

fn svc() -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some("svc".into()),
            namespace: Some("ns".into()),
            uid: Some("svc-uid".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([("app".into(), "web".into())])),
            cluster_ip: Some("10.96.0.10".into()),
            ip_families: Some(vec!["IPv4".into()]),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                target_port: Some(IntOrString::Int(8080)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn with_spec(mut s: Service, f: impl FnOnce(&mut ServiceSpec)) -> Service {
    f(s.spec.get_or_insert_with(Default::default));
    s
}

trait PodExt {
    fn ip(self, ip: &str) -> Self;
    fn ips(self, ips: &[&str]) -> Self;
    fn port(self, name: &str, n: i32) -> Self;
    fn host(self, hostname: &str, subdomain: &str) -> Self;
}

impl PodExt for PodBuilder {
    fn ip(self, ip: &str) -> Self {
        self.ips(&[ip])
    }
    fn ips(mut self, ips: &[&str]) -> Self {
        let st = self.0.status.get_or_insert_with(Default::default);
        st.pod_ip = ips.first().map(|s| s.to_string());
        st.pod_ips = Some(ips.iter().map(|ip| PodIP { ip: ip.to_string() }).collect());
        self
    }
    fn port(mut self, name: &str, n: i32) -> Self {
        let spec = self.0.spec.get_or_insert_with(Default::default);
        if spec.containers.is_empty() {
            spec.containers.push(Container {
                name: "c".into(),
                ..Default::default()
            });
        }
        spec.containers[0]
            .ports
            .get_or_insert_with(Vec::new)
            .push(ContainerPort {
                name: Some(name.into()),
                container_port: n,
                protocol: Some("TCP".into()),
                ..Default::default()
            });
        self
    }
    fn host(mut self, hostname: &str, subdomain: &str) -> Self {
        let spec = self.0.spec.get_or_insert_with(Default::default);
        spec.hostname = Some(hostname.into());
        spec.subdomain = Some(subdomain.into());
        self
    }
}

/// A ready pod `name` with `ip` on node `n0`.
fn ready(name: &str, ip: &str) -> Pod {
    pod(name).ready().on_node("n0").ip(ip).build()
}

fn zones(node: &str) -> Option<Option<String>> {
    match node {
        "n0" => Some(Some("zone-a".into())),
        "n1" => Some(Some("zone-b".into())),
        "bare" => Some(None),
        _ => None,
    }
}

fn config(max: usize) -> Config {
    Config {
        max_endpoints_per_slice: max,
        managed_by: bosun_api::discovery::MANAGED_BY.into(),
    }
}

fn run(svc: &Service, pods: &[Pod], existing: &[Slice], max: usize) -> Plan {
    reconcile(
        &Input {
            service: svc,
            pods: pods.iter().collect(),
            node_zone: &zones,
            existing: existing.to_vec(),
        },
        &config(max),
    )
}

/// The API server's side of a plan: creates get a name, uid and generation; updates bump the
/// generation.
fn apply(existing: &[Slice], plan: &Plan, counter: &mut usize) -> Vec<Slice> {
    let mut out: Vec<Slice> = existing.to_vec();
    for u in &plan.update {
        let i = out
            .iter()
            .position(|s| s.name() == u.name())
            .expect("updates name an existing slice");
        let mut s = u.clone();
        s.metadata.generation = Some(out[i].metadata.generation.unwrap_or(1) + 1);
        out[i] = s;
    }
    out.retain(|s| !plan.delete.iter().any(|d| d.name() == s.name()));
    for c in &plan.create {
        *counter += 1;
        let mut s = c.clone();
        s.metadata.name = Some(format!("svc-{counter}"));
        s.metadata.uid = Some(format!("slice-uid-{counter}"));
        s.metadata.generation = Some(1);
        out.push(s);
    }
    out
}

fn names(eps: &[Endpoint]) -> Vec<String> {
    let mut v: Vec<String> = eps
        .iter()
        .filter_map(|e| e.target_ref.as_ref().and_then(|r| r.name.clone()))
        .collect();
    v.sort();
    v
}

fn endpoint_of(svc: &Service, p: &Pod) -> Endpoint {
    pod_to_endpoint(p, Some("zone-a"), svc, AddressType::IPv4)
}

fn n_pods(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            ready(
                &format!("p{i:03}"),
                &format!("10.0.{}.{}", i / 250, i % 250 + 1),
            )
        })
        .collect()
}

fn cond(e: &Endpoint) -> (Option<bool>, Option<bool>, Option<bool>) {
    let c = e.conditions.clone().unwrap_or_default();
    (c.ready, c.serving, c.terminating)
}

// ---- address types (getAddressTypesForService) -----------------------------------------------

#[test]
fn get_address_types_for_service_one_per_ip_family() {
    let dual = with_spec(svc(), |s| {
        s.ip_families = Some(vec!["IPv6".into(), "IPv4".into()])
    });
    assert_eq!(
        address_types_for_service(&dual),
        vec![AddressType::IPv4, AddressType::IPv6]
    );
    let p = pod("a")
        .ready()
        .on_node("n0")
        .ips(&["10.0.0.1", "fd00::1"])
        .build();
    let plan = run(&dual, &[p], &[], 100);
    let types: BTreeSet<_> = plan.create.iter().map(|s| s.address_type).collect();
    assert_eq!(
        types,
        BTreeSet::from([AddressType::IPv4, AddressType::IPv6])
    );
    let v6 = plan
        .create
        .iter()
        .find(|s| s.address_type == AddressType::IPv6)
        .expect("an IPv6 slice");
    assert_eq!(v6.endpoints[0].addresses, vec!["fd00::1".to_string()]);
}

#[test]
fn get_address_types_for_service_without_families_uses_cluster_ip_then_both() {
    let v6 = with_spec(svc(), |s| {
        s.ip_families = None;
        s.cluster_ip = Some("fd00::10".into());
    });
    assert_eq!(address_types_for_service(&v6), vec![AddressType::IPv6]);
    let v4 = with_spec(svc(), |s| s.ip_families = None);
    assert_eq!(address_types_for_service(&v4), vec![AddressType::IPv4]);
    let headless = with_spec(svc(), |s| {
        s.ip_families = None;
        s.cluster_ip = Some("None".into());
    });
    assert_eq!(
        address_types_for_service(&headless),
        vec![AddressType::IPv4, AddressType::IPv6]
    );
}

#[test]
fn reconcile_deletes_slices_of_unsupported_address_types() {
    let s = svc();
    let mut counter = 0;
    let dual = with_spec(svc(), |sp| {
        sp.ip_families = Some(vec!["IPv4".into(), "IPv6".into()])
    });
    let pods = [pod("a")
        .ready()
        .on_node("n0")
        .ips(&["10.0.0.1", "fd00::1"])
        .build()];
    let state = apply(&[], &run(&dual, &pods, &[], 100), &mut counter);
    assert_eq!(state.len(), 2);
    let plan = run(&s, &pods, &state, 100);
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.delete[0].address_type, AddressType::IPv6);
    assert!(plan.create.is_empty() && plan.update.is_empty());
}

// ---- which pods (ShouldPodBeInEndpoints) --------------------------------------------------------

#[test]
fn should_pod_be_in_endpoints_skips_terminal_and_ipless_pods_keeps_terminating() {
    assert!(!should_pod_be_in_endpoints(&pod("a").on_node("n0").build()));
    assert!(!should_pod_be_in_endpoints(
        &pod("a").phase("Succeeded").ip("10.0.0.1").build()
    ));
    assert!(!should_pod_be_in_endpoints(
        &pod("a").phase("Failed").ip("10.0.0.1").build()
    ));
    assert!(should_pod_be_in_endpoints(
        &pod("a").ready().deleting().ip("10.0.0.1").build()
    ));
    let pods = [
        ready("a", "10.0.0.1"),
        pod("b")
            .phase("Failed")
            .on_node("n0")
            .ip("10.0.0.2")
            .build(),
        pod("c").on_node("n0").build(),
    ];
    let plan = run(&svc(), &pods, &[], 100);
    assert_eq!(names(&plan.create[0].endpoints), vec!["a"]);
}

// ---- endpoint fields (podToEndpoint) ------------------------------------------------------------

#[test]
fn pod_to_endpoint_conditions_ready_serving_terminating() {
    let s = svc();
    let e = |p: Pod| cond(&endpoint_of(&s, &p));
    assert_eq!(
        e(ready("a", "10.0.0.1")),
        (Some(true), Some(true), Some(false))
    );
    assert_eq!(
        e(pod("a").not_ready().ip("10.0.0.1").build()),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(
        e(pod("a").ready().deleting().ip("10.0.0.1").build()),
        (Some(false), Some(true), Some(true)),
        "terminating endpoints are kept with ready false"
    );
    assert_eq!(
        e(pod("a").not_ready().deleting().ip("10.0.0.1").build()),
        (Some(false), Some(false), Some(true))
    );
}

#[test]
fn pod_to_endpoint_publish_not_ready_addresses_makes_endpoints_ready() {
    let s = with_spec(svc(), |sp| sp.publish_not_ready_addresses = Some(true));
    let e = |p: Pod| cond(&endpoint_of(&s, &p));
    assert_eq!(
        e(pod("a").not_ready().ip("10.0.0.1").build()),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(
        e(pod("a").ready().deleting().ip("10.0.0.1").build()),
        (Some(true), Some(true), Some(true))
    );
}

#[test]
fn get_endpoint_addresses_canonical_and_of_the_family() {
    let p = pod("a")
        .ips(&["010.000.000.001", "FD00:0::1", "::ffff:10.0.0.2", "junk"])
        .build();
    assert_eq!(
        endpoint_addresses(&p, AddressType::IPv4),
        vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()]
    );
    assert_eq!(
        endpoint_addresses(&p, AddressType::IPv6),
        vec!["fd00::1".to_string()]
    );
}

#[test]
fn reconcile_by_address_type_drops_endpoints_without_an_address_of_the_type() {
    let dual = with_spec(svc(), |sp| {
        sp.ip_families = Some(vec!["IPv4".into(), "IPv6".into()])
    });
    let plan = run(&dual, &[ready("a", "10.0.0.1")], &[], 100);
    let v6 = plan
        .create
        .iter()
        .find(|s| s.address_type == AddressType::IPv6)
        .expect("IPv6 slice");
    assert!(v6.endpoints.is_empty(), "an empty placeholder for IPv6");
    assert!(v6.ports.is_empty());
}

#[test]
fn pod_to_endpoint_target_ref_node_name_and_zone() {
    let p = ready("a", "10.0.0.1");
    let e = endpoint_of(&svc(), &p);
    let r = e.target_ref.expect("targetRef");
    assert_eq!(r.kind.as_deref(), Some("Pod"));
    assert_eq!(r.namespace.as_deref(), Some("ns"));
    assert_eq!(r.name.as_deref(), Some("a"));
    assert_eq!(r.uid.as_deref(), Some("uid-a"));
    assert_eq!(r.resource_version, None);
    assert_eq!(e.node_name.as_deref(), Some("n0"));
    assert_eq!(e.zone.as_deref(), Some("zone-a"));
    let plan = run(
        &svc(),
        &[pod("b").ready().on_node("bare").ip("10.0.0.2").build()],
        &[],
        100,
    );
    assert_eq!(
        plan.create[0].endpoints[0].zone, None,
        "node without a zone"
    );
}

#[test]
fn should_set_hostname_only_when_subdomain_names_the_service() {
    let s = svc();
    let with = pod("a").ready().ip("10.0.0.1").host("web-0", "svc").build();
    assert_eq!(endpoint_of(&s, &with).hostname.as_deref(), Some("web-0"));
    let other = pod("a")
        .ready()
        .ip("10.0.0.1")
        .host("web-0", "other")
        .build();
    assert_eq!(endpoint_of(&s, &other).hostname, None);
    let no_host = pod("a").ready().ip("10.0.0.1").host("", "svc").build();
    assert_eq!(endpoint_of(&s, &no_host).hostname, None);
    let mut elsewhere = with.clone();
    elsewhere.metadata.namespace = Some("other".into());
    assert_eq!(endpoint_of(&s, &elsewhere).hostname, None);
}

#[test]
fn reconcile_by_address_type_skips_pods_on_unknown_nodes_unless_publishing_not_ready() {
    let p = pod("a").ready().on_node("gone").ip("10.0.0.1").build();
    let plan = run(&svc(), std::slice::from_ref(&p), &[], 100);
    assert_eq!(
        plan.skipped,
        vec![SkippedPod {
            pod: "a".into(),
            node: "gone".into()
        }]
    );
    assert!(plan.create[0].endpoints.is_empty());
    let publish = with_spec(svc(), |sp| sp.publish_not_ready_addresses = Some(true));
    let plan = run(&publish, &[p], &[], 100);
    assert!(plan.skipped.is_empty());
    assert_eq!(plan.create[0].endpoints[0].zone, None);
    assert_eq!(
        plan.create[0].endpoints[0].node_name.as_deref(),
        Some("gone")
    );
}

// ---- ports (getEndpointPorts, FindPort) ---------------------------------------------------------

#[test]
fn get_endpoint_ports_headless_without_ports_is_empty() {
    let headless = with_spec(svc(), |sp| {
        sp.cluster_ip = Some("None".into());
        sp.ports = None;
    });
    let plan = run(&headless, &[ready("a", "10.0.0.1")], &[], 100);
    assert_eq!(plan.create.len(), 1);
    assert!(plan.create[0].ports.is_empty());
    assert_eq!(names(&plan.create[0].endpoints), vec!["a"]);
}

#[test]
fn find_port_numeric_named_and_sidecar() {
    let sp = |target: IntOrString, proto: &str| ServicePort {
        port: 80,
        protocol: Some(proto.into()),
        target_port: Some(target),
        ..Default::default()
    };
    let p = pod("a").port("http", 8080).build();
    assert_eq!(
        find_port(&p, &sp(IntOrString::Int(9000), "TCP")),
        Some(9000)
    );
    assert_eq!(
        find_port(&p, &sp(IntOrString::String("http".into()), "TCP")),
        Some(8080)
    );
    assert_eq!(
        find_port(&p, &sp(IntOrString::String("http".into()), "UDP")),
        None,
        "the protocol must match"
    );
    assert_eq!(
        find_port(&p, &sp(IntOrString::String("nope".into()), "TCP")),
        None
    );
    let mut side = pod("b").build();
    if let Some(spec) = side.spec.as_mut() {
        spec.init_containers = Some(vec![
            Container {
                name: "init".into(),
                ports: Some(vec![ContainerPort {
                    name: Some("admin".into()),
                    container_port: 1111,
                    ..Default::default()
                }]),
                ..Default::default()
            },
            Container {
                name: "sidecar".into(),
                restart_policy: Some("Always".into()),
                ports: Some(vec![ContainerPort {
                    name: Some("admin".into()),
                    container_port: 2222,
                    ..Default::default()
                }]),
                ..Default::default()
            },
        ]);
    }
    assert_eq!(
        find_port(&side, &sp(IntOrString::String("admin".into()), "TCP")),
        Some(2222),
        "only restartable init containers count"
    );
}

#[test]
fn get_endpoint_ports_fields_and_unresolved_ports_omitted() {
    let s = with_spec(svc(), |sp| {
        sp.ports = Some(vec![
            ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                app_protocol: Some("kubernetes.io/h2c".into()),
                ..Default::default()
            },
            ServicePort {
                name: Some("metrics".into()),
                port: 9100,
                target_port: Some(IntOrString::String("metrics".into())),
                ..Default::default()
            },
        ])
    });
    let p = pod("a").port("http", 8080).build();
    let ports = endpoint_ports(&s, &p);
    assert_eq!(ports.len(), 1, "metrics is not resolved and left out");
    assert_eq!(ports[0].name.as_deref(), Some("http"));
    assert_eq!(ports[0].port, Some(8080));
    assert_eq!(ports[0].protocol.as_deref(), Some("TCP"));
    assert_eq!(ports[0].app_protocol.as_deref(), Some("kubernetes.io/h2c"));
    let unnamed = with_spec(svc(), |sp| {
        if let Some(ps) = sp.ports.as_mut() {
            ps[0].name = None;
        }
    });
    assert_eq!(
        endpoint_ports(&unnamed, &p)[0].name.as_deref(),
        Some(""),
        "an unnamed port is named \"\""
    );
}

#[test]
fn new_port_map_key_pods_resolving_differently_land_in_different_slices() {
    let s = with_spec(svc(), |sp| {
        if let Some(ps) = sp.ports.as_mut() {
            ps[0].target_port = Some(IntOrString::String("example-name".into()));
        }
    });
    let pods = [
        pod("a")
            .ready()
            .on_node("n0")
            .ip("10.0.0.1")
            .port("example-name", 8080)
            .build(),
        pod("b")
            .ready()
            .on_node("n0")
            .ip("10.0.0.2")
            .port("example-name", 8090)
            .build(),
        pod("c")
            .ready()
            .on_node("n0")
            .ip("10.0.0.3")
            .port("example-name", 8080)
            .build(),
    ];
    let plan = run(&s, &pods, &[], 100);
    assert_eq!(plan.create.len(), 2);
    let by_port: BTreeMap<Option<i32>, Vec<String>> = plan
        .create
        .iter()
        .map(|sl| (sl.ports[0].port, names(&sl.endpoints)))
        .collect();
    assert_eq!(by_port[&Some(8080)], vec!["a", "c"]);
    assert_eq!(by_port[&Some(8090)], vec!["b"]);
}

/// The expected hashes and order were printed by upstream's own code: `dump.ForHash` of each
/// `discovery.EndpointPort` through `fnv.New128a` (k8s.io/apimachinery v0.35.4), the
/// computation `deepHashObjectToString` does.
#[test]
fn ports_in_order_sorts_by_the_deep_hash_of_each_port() {
    let port = |name: Option<&str>, protocol: Option<&str>, n: Option<i32>, app: Option<&str>| {
        k8s_openapi::api::discovery::v1::EndpointPort {
            name: name.map(Into::into),
            protocol: protocol.map(Into::into),
            port: n,
            app_protocol: app.map(Into::into),
        }
    };
    let http = port(Some("http"), Some("TCP"), Some(8080), None);
    let metrics = port(Some("metrics"), Some("TCP"), Some(9090), None);
    let dns = port(Some("dns"), Some("UDP"), Some(53), None);
    let h2c = port(Some(""), Some("TCP"), None, Some("kubernetes.io/h2c"));
    assert_eq!(port_hash(&http), "0e874d5677090ee5c32afa85f637c347");
    assert_eq!(port_hash(&metrics), "db53925936f86f6dfe328518e98204e2");
    assert_eq!(port_hash(&dns), "1caf216365b57b5d2659d4ba9f662580");
    assert_eq!(port_hash(&h2c), "7e203b49fc9072e34a9e977d7bbf0a13");
    assert_eq!(
        port_hash(&port(None, None, None, None)),
        "ad866eb7cd5162a9e20434ebd9deeacd"
    );
    let mut ports = vec![http.clone(), metrics.clone(), dns.clone(), h2c.clone()];
    sort_ports(&mut ports);
    assert_eq!(ports, vec![http, dns, h2c, metrics]);
}

#[test]
fn reconcile_by_address_type_deletes_slices_of_port_mappings_no_longer_desired() {
    let mut counter = 0;
    let pods = [ready("a", "10.0.0.1")];
    let state = apply(&[], &run(&svc(), &pods, &[], 100), &mut counter);
    let moved = with_spec(svc(), |sp| {
        if let Some(ps) = sp.ports.as_mut() {
            ps[0].target_port = Some(IntOrString::Int(9090));
        }
    });
    let plan = run(&moved, &pods, &state, 100);
    // finalize turns the create + delete pair into one update that keeps the name.
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].name(), state[0].name());
    assert_eq!(plan.update[0].ports[0].port, Some(9090));
}

// ---- labels, naming, ownership (newEndpointSlice, setEndpointSliceLabels, ownedBy) -------------

#[test]
fn new_endpoint_slice_owner_generate_name_and_labels() {
    let mut s = svc();
    s.metadata.labels = Some(BTreeMap::from([
        ("team".to_string(), "blue".to_string()),
        (LABEL_MANAGED_BY.to_string(), "someone-else".to_string()),
        (LABEL_SERVICE_NAME.to_string(), "spoof".to_string()),
    ]));
    let plan = run(&s, &[ready("a", "10.0.0.1")], &[], 100);
    let sl = &plan.create[0];
    assert_eq!(sl.metadata.generate_name.as_deref(), Some("svc-"));
    assert_eq!(sl.metadata.namespace.as_deref(), Some("ns"));
    let owners = sl.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1);
    assert_eq!(
        (
            owners[0].api_version.as_str(),
            owners[0].kind.as_str(),
            owners[0].name.as_str(),
            owners[0].uid.as_str()
        ),
        ("v1", "Service", "svc", "svc-uid")
    );
    assert_eq!(owners[0].controller, Some(true));
    assert_eq!(owners[0].block_owner_deletion, Some(true));
    let labels = sl.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels,
        BTreeMap::from([
            ("team".to_string(), "blue".to_string()),
            (
                LABEL_MANAGED_BY.to_string(),
                "endpointslice.bosun.dev".to_string()
            ),
            (LABEL_SERVICE_NAME.to_string(), "svc".to_string()),
        ]),
        "reserved Service labels are not copied"
    );
}

#[test]
fn set_endpoint_slice_labels_headless_marker() {
    let headless = with_spec(svc(), |sp| sp.cluster_ip = Some("None".into()));
    let (labels, _) = slice_labels(None, &headless, "m");
    assert_eq!(labels.get(LABEL_HEADLESS).map(String::as_str), Some(""));
    let (labels, _) = slice_labels(None, &svc(), "m");
    assert!(!labels.contains_key(LABEL_HEADLESS));
}

#[test]
fn set_endpoint_slice_labels_service_label_change_updates_unchanged_slices() {
    let mut counter = 0;
    let pods = [ready("a", "10.0.0.1")];
    let state = apply(&[], &run(&svc(), &pods, &[], 100), &mut counter);
    let mut relabelled = svc();
    relabelled.metadata.labels = Some(BTreeMap::from([("team".into(), "red".into())]));
    let plan = run(&relabelled, &pods, &state, 100);
    assert_eq!(plan.update.len(), 1);
    assert_eq!(
        plan.update[0]
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("team"))
            .map(String::as_str),
        Some("red")
    );
    assert_eq!(plan.update[0].endpoints, state[0].endpoints);
}

#[test]
fn owned_by_slices_of_an_old_service_uid_are_deleted() {
    let mut counter = 0;
    let pods = [ready("a", "10.0.0.1")];
    let state = apply(&[], &run(&svc(), &pods, &[], 100), &mut counter);
    let mut recreated = svc();
    recreated.metadata.uid = Some("new-uid".into());
    let plan = run(&recreated, &pods, &state, 100);
    assert_eq!(plan.create.len(), 1, "a fresh slice for the new Service");
    assert_eq!(plan.delete.len(), 1, "the old Service's slice goes");
    assert!(
        plan.update.is_empty(),
        "never paired: not owned by this Service"
    );
}

// ---- packing (reconcileByPortMapping, getSliceToFill, finalize) ---------------------------------

#[test]
fn reconcile_by_port_mapping_max_endpoints_per_slice() {
    let plan = run(&svc(), &n_pods(250), &[], 100);
    let mut sizes: Vec<usize> = plan.create.iter().map(|s| s.endpoints.len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![50, 100, 100]);
    assert_eq!(DEFAULT_MAX_ENDPOINTS_PER_SLICE, 100);
}

#[test]
fn reconcile_by_port_mapping_unchanged_world_writes_nothing() {
    let mut counter = 0;
    let pods = n_pods(30);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    assert!(run(&svc(), &pods, &state, 10).is_noop());
}

#[test]
fn reconcile_by_port_mapping_changed_endpoint_is_updated_in_place() {
    let mut counter = 0;
    let pods = n_pods(30);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    let mut changed = pods.clone();
    changed[5] = pod("p005").not_ready().on_node("n0").ip("10.0.0.6").build();
    let plan = run(&svc(), &changed, &state, 10);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.update.len(), 1, "only the slice holding p005");
    let ep = plan.update[0]
        .endpoints
        .iter()
        .find(|e| names(std::slice::from_ref(e)) == vec!["p005"])
        .expect("p005 stays in its slice");
    assert_eq!(cond(ep), (Some(false), Some(false), Some(false)));
}

#[test]
fn reconcile_by_port_mapping_deletes_only_emptied_slices() {
    let mut counter = 0;
    let pods = n_pods(30);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    // Remove exactly the pods of the first slice, and one pod of the second.
    let first: BTreeSet<String> = names(&state[0].endpoints).into_iter().collect();
    let one_of_second = names(&state[1].endpoints)[0].clone();
    let rest: Vec<Pod> = pods
        .iter()
        .filter(|p| {
            let n = p.metadata.name.clone().unwrap_or_default();
            !first.contains(&n) && n != one_of_second
        })
        .cloned()
        .collect();
    let plan = run(&svc(), &rest, &state, 10);
    assert_eq!(plan.delete.len(), 1);
    assert_eq!(plan.delete[0].name(), state[0].name());
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].name(), state[1].name());
    assert_eq!(plan.update[0].endpoints.len(), 9);
    assert!(plan.create.is_empty());
}

#[test]
fn reconcile_by_port_mapping_fills_updated_slices_fullest_first() {
    let mut counter = 0;
    let pods = n_pods(20);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    // Two slices of 10. Remove 2 pods of the first and 5 of the second, add 4 new pods.
    let a = names(&state[0].endpoints);
    let b = names(&state[1].endpoints);
    let gone: BTreeSet<String> = a[..2].iter().chain(b[..5].iter()).cloned().collect();
    let mut next: Vec<Pod> = pods
        .iter()
        .filter(|p| !gone.contains(p.metadata.name.as_deref().unwrap_or_default()))
        .cloned()
        .collect();
    next.extend((0..4).map(|i| ready(&format!("new{i}"), &format!("10.1.0.{}", i + 1))));
    let plan = run(&svc(), &next, &state, 10);
    assert!(plan.create.is_empty());
    let sizes: BTreeMap<&str, usize> = plan
        .update
        .iter()
        .map(|s| (s.name(), s.endpoints.len()))
        .collect();
    assert_eq!(
        sizes[state[0].name()],
        10,
        "the fuller slice (8) filled to 10"
    );
    assert_eq!(
        sizes[state[1].name()],
        7,
        "the emptier one (5) took the rest"
    );
}

#[test]
fn get_slice_to_fill_picks_the_unchanged_slice_closest_to_full() {
    let mk = |n: usize| Slice {
        metadata: ObjectMeta::default(),
        address_type: AddressType::IPv4,
        endpoints: vec![Endpoint::default(); n],
        ports: vec![],
    };
    let (a, b, c) = (mk(5), mk(8), mk(9));
    assert_eq!(
        slice_to_fill(&[&a, &b, &c], 2, 10),
        Some(1),
        "8+2 fits exactly"
    );
    assert_eq!(slice_to_fill(&[&a, &b, &c], 1, 10), Some(2));
    assert_eq!(
        slice_to_fill(&[&a, &b, &c], 3, 10),
        Some(0),
        "only 5 has room for 3"
    );
    assert_eq!(slice_to_fill(&[&a, &b, &c], 6, 10), None);
}

#[test]
fn reconcile_by_port_mapping_leftovers_go_to_an_unchanged_slice_only_if_all_fit() {
    let mut counter = 0;
    let pods = n_pods(15);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    let mut sizes: Vec<usize> = state.iter().map(|s| s.endpoints.len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![5, 10]);
    let five = state
        .iter()
        .find(|s| s.endpoints.len() == 5)
        .expect("a slice of 5");
    // 3 more fit into the slice of 5: it is updated, no slice is created.
    let mut more = pods.clone();
    more.extend((0..3).map(|i| ready(&format!("new{i}"), &format!("10.1.0.{}", i + 1))));
    let plan = run(&svc(), &more, &state, 10);
    assert!(plan.create.is_empty());
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].name(), five.name());
    assert_eq!(plan.update[0].endpoints.len(), 8);
    // 6 more do not fit anywhere: a new slice, the others untouched.
    let mut many = pods.clone();
    many.extend((0..6).map(|i| ready(&format!("new{i}"), &format!("10.1.0.{}", i + 1))));
    let plan = run(&svc(), &many, &state, 10);
    assert!(plan.update.is_empty());
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.create[0].endpoints.len(), 6);
}

#[test]
fn reconcile_by_port_mapping_full_new_slices_first_when_max_or_more_remain() {
    let mut counter = 0;
    let pods = n_pods(5);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    let mut more = pods.clone();
    more.extend((0..12).map(|i| ready(&format!("new{i:02}"), &format!("10.1.0.{}", i + 1))));
    let plan = run(&svc(), &more, &state, 10);
    // 12 >= 10: a full new slice first; then the 2 left fit the unchanged slice of 5.
    assert_eq!(plan.create.len(), 1);
    assert_eq!(plan.create[0].endpoints.len(), 10);
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].endpoints.len(), 7);
}

#[test]
fn placeholder_slice_for_a_service_without_endpoints() {
    let plan = run(&svc(), &[], &[], 100);
    assert_eq!(plan.create.len(), 1);
    let p = &plan.create[0];
    assert!(p.endpoints.is_empty() && p.ports.is_empty());
    let mut counter = 0;
    let state = apply(&[], &plan, &mut counter);
    assert!(
        run(&svc(), &[], &state, 100).is_noop(),
        "the existing placeholder is kept, not deleted and recreated"
    );
}

#[test]
fn placeholder_slice_replaced_when_endpoints_appear_and_restored_when_they_go() {
    let mut counter = 0;
    let state = apply(&[], &run(&svc(), &[], &[], 100), &mut counter);
    let pods = [ready("a", "10.0.0.1")];
    let plan = run(&svc(), &pods, &state, 100);
    assert_eq!(
        plan.update.len(),
        1,
        "create + delete paired into an update"
    );
    assert_eq!(plan.update[0].name(), state[0].name());
    assert_eq!(names(&plan.update[0].endpoints), vec!["a"]);
    let state = apply(&state, &plan, &mut counter);
    let plan = run(&svc(), &[], &state, 100);
    assert_eq!(plan.update.len(), 1);
    assert!(plan.update[0].endpoints.is_empty() && plan.update[0].ports.is_empty());
}

#[test]
fn finalize_pairs_creates_with_deletes_of_the_same_address_type() {
    let mut counter = 0;
    let pods = n_pods(10);
    let state = apply(&[], &run(&svc(), &pods, &[], 10), &mut counter);
    // All 10 pods replaced by 10 others: the emptied slice is reused for the new ones.
    let fresh: Vec<Pod> = (0..10)
        .map(|i| ready(&format!("q{i}"), &format!("10.2.0.{}", i + 1)))
        .collect();
    let plan = run(&svc(), &fresh, &state, 10);
    assert!(plan.create.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.update.len(), 1);
    assert_eq!(plan.update[0].name(), state[0].name());
    assert_eq!(
        plan.update[0].metadata.resource_version,
        state[0].metadata.resource_version
    );
    assert_eq!(plan.update[0].endpoints.len(), 10);
}

#[test]
fn finalize_no_creates_while_the_service_is_being_deleted() {
    let mut s = svc();
    s.metadata.deletion_timestamp = Some(Time(t(5)));
    let plan = run(&s, &[ready("a", "10.0.0.1")], &[], 100);
    assert!(plan.create.is_empty());
}

#[test]
fn a_service_without_selector_loses_its_slices() {
    let mut counter = 0;
    let pods = [ready("a", "10.0.0.1")];
    let state = apply(&[], &run(&svc(), &pods, &[], 100), &mut counter);
    let p = plan(
        &Input {
            service: &svc(),
            pods: vec![],
            node_zone: &zones,
            existing: state.clone(),
        },
        &config(100),
        false,
    );
    assert_eq!(p.delete, state);
    assert!(p.create.is_empty() && p.update.is_empty());
}

#[test]
fn slice_round_trips_through_bosun_and_core_kinds() {
    let plan = run(&svc(), &[ready("a", "10.0.0.1")], &[], 100);
    let s = plan.create[0].clone();
    let bosun: bosun_api::discovery::EndpointSlice = s.clone().into();
    assert_eq!(Slice::from(&bosun), s);
    let core: k8s_openapi::api::discovery::v1::EndpointSlice = s.clone().into();
    assert_eq!(core.address_type, "IPv4");
    assert_eq!(Slice::from(&core), s);
}

#[test]
fn endpoints_equal_beyond_hash_compares_node_zone_conditions_and_target() {
    let s = svc();
    let base = endpoint_of(&s, &ready("a", "10.0.0.1"));
    let same_but_rv = {
        let mut e = base.clone();
        if let Some(r) = e.target_ref.as_mut() {
            r.resource_version = Some("42".into());
        }
        e
    };
    assert!(endpoints_equal_beyond_hash(&base, &same_but_rv));
    let mut other_zone = base.clone();
    other_zone.zone = Some("zone-b".into());
    assert!(!endpoints_equal_beyond_hash(&base, &other_zone));
    let mut other_node = base.clone();
    other_node.node_name = None;
    assert!(!endpoints_equal_beyond_hash(&base, &other_node));
    let unready = endpoint_of(
        &s,
        &pod("a").not_ready().on_node("n0").ip("10.0.0.1").build(),
    );
    assert!(!endpoints_equal_beyond_hash(&base, &unready));
    let mut hinted = base.clone();
    hinted.hints = Some(Default::default());
    assert!(
        endpoints_equal_beyond_hash(&base, &hinted),
        "hints are not compared"
    );
    // The identity: addresses (in any order), hostname, target namespace and name.
    let mut reordered = base.clone();
    reordered.addresses = vec!["10.0.0.1".into()];
    assert_eq!(endpoint_key(&base), endpoint_key(&reordered));
    let mut hostname = base.clone();
    hostname.hostname = Some("h".into());
    assert_ne!(endpoint_key(&base), endpoint_key(&hostname));
}

// ---- hints (trafficdist.ReconcileHints, RemoveHintsFromSlices) --------------------------------

fn hints(e: &Endpoint) -> (Vec<String>, Vec<String>) {
    let h = e.hints.clone().unwrap_or_default();
    (
        h.for_zones
            .unwrap_or_default()
            .into_iter()
            .map(|z| z.name)
            .collect(),
        h.for_nodes
            .unwrap_or_default()
            .into_iter()
            .map(|n| n.name)
            .collect(),
    )
}

fn traffic(td: &str) -> Service {
    with_spec(svc(), |sp| sp.traffic_distribution = Some(td.into()))
}

#[test]
fn reconcile_hints_prefer_close_hints_ready_endpoints_with_their_zone() {
    let pods = [
        ready("a", "10.0.0.1"),
        pod("b").not_ready().on_node("n1").ip("10.0.0.2").build(),
        pod("c").ready().on_node("bare").ip("10.0.0.3").build(),
    ];
    for td in ["PreferClose", "PreferSameZone"] {
        let plan = run(&traffic(td), &pods, &[], 100);
        let eps = &plan.create[0].endpoints;
        let of = |n: &str| {
            eps.iter()
                .find(|e| names(std::slice::from_ref(e)) == vec![n])
                .map(hints)
                .unwrap_or_default()
        };
        assert_eq!(of("a"), (vec!["zone-a".to_string()], vec![]));
        assert_eq!(of("b"), (vec![], vec![]), "not ready: no hints");
        assert_eq!(of("c"), (vec![], vec![]), "no zone: no hints");
    }
}

#[test]
fn reconcile_hints_prefer_same_node_hints_the_node_too() {
    let plan = run(
        &traffic("PreferSameNode"),
        &[ready("a", "10.0.0.1")],
        &[],
        100,
    );
    assert_eq!(
        hints(&plan.create[0].endpoints[0]),
        (vec!["zone-a".to_string()], vec!["n0".to_string()])
    );
}

#[test]
fn reconcile_hints_unchanged_slices_updated_only_when_hints_disagree() {
    let mut counter = 0;
    let pods = [ready("a", "10.0.0.1")];
    let state = apply(&[], &run(&svc(), &pods, &[], 100), &mut counter);
    assert!(run(&svc(), &pods, &state, 100).is_noop());
    let plan = run(&traffic("PreferClose"), &pods, &state, 100);
    assert_eq!(plan.update.len(), 1, "hints to add");
    let state = apply(&state, &plan, &mut counter);
    assert!(run(&traffic("PreferClose"), &pods, &state, 100).is_noop());
    let plan = run(&svc(), &pods, &state, 100);
    assert_eq!(plan.update.len(), 1, "hints to remove");
    assert_eq!(hints(&plan.update[0].endpoints[0]), (vec![], vec![]));
}

#[test]
fn can_use_traffic_distribution_not_with_topology_mode_auto() {
    let mut s = traffic("PreferClose");
    s.metadata.annotations = Some(BTreeMap::from([(
        "service.kubernetes.io/topology-mode".to_string(),
        "Auto".to_string(),
    )]));
    let plan = run(&s, &[ready("a", "10.0.0.1")], &[], 100);
    assert_eq!(plan.create[0].endpoints[0].hints, None);
}

// ---- properties ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct PodSpecGen {
    ready: bool,
    terminating: bool,
    terminal: bool,
    has_ip: bool,
    node: u8,
    port: u8,
    v6: bool,
}

fn pod_gen() -> impl Strategy<Value = PodSpecGen> {
    (
        any::<bool>(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.9),
        0u8..4,
        0u8..3,
        any::<bool>(),
    )
        .prop_map(
            |(ready, terminating, terminal, has_ip, node, port, v6)| PodSpecGen {
                ready,
                terminating,
                terminal,
                has_ip,
                node,
                port,
                v6,
            },
        )
}

fn build_pods(gens: &[PodSpecGen], generation: usize) -> Vec<Pod> {
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let name = format!("p{i:03}");
            let mut b = pod(&name);
            b = if g.ready { b.ready() } else { b.not_ready() };
            if g.terminating {
                b = b.deleting();
            }
            if g.terminal {
                b = b.phase("Succeeded");
            }
            b = b.on_node(["n0", "n1", "bare", "gone"][g.node as usize]);
            if g.has_ip {
                // Addresses move between generations, so endpoints are replaced, not only
                // updated.
                let v4 = format!("10.{}.{}.{}", generation % 2, i / 250, i % 250 + 1);
                let v6 = format!("fd00::{:x}", i + 1 + 1000 * (generation % 2));
                b = if g.v6 { b.ips(&[&v4, &v6]) } else { b.ip(&v4) };
            }
            match g.port {
                0 => b = b.port("http", 8080),
                1 => b = b.port("http", 8081),
                _ => {}
            }
            b.build()
        })
        .collect()
}

fn prop_svc(dual: bool, named: bool, td: u8) -> Service {
    with_spec(svc(), |sp| {
        sp.traffic_distribution = match td {
            1 => Some("PreferClose".into()),
            2 => Some("PreferSameNode".into()),
            _ => None,
        };
        if dual {
            sp.ip_families = Some(vec!["IPv4".into(), "IPv6".into()]);
        }
        if named && let Some(ps) = sp.ports.as_mut() {
            ps[0].target_port = Some(IntOrString::String("http".into()));
        }
    })
}

/// Every pod that belongs in the endpoints appears exactly once per address type it has an
/// address of, in a slice whose ports are its ports; nothing else appears; no slice is over
/// the maximum.
fn check_invariants(s: &Service, pods: &[Pod], slices: &[Slice], max: usize) {
    for sl in slices {
        assert!(sl.endpoints.len() <= max, "a slice over the maximum");
    }
    let mut expected: BTreeMap<(AddressType, PortKey, String), usize> = BTreeMap::new();
    for p in pods {
        if !should_pod_be_in_endpoints(p) {
            continue;
        }
        let node = p
            .spec
            .as_ref()
            .and_then(|x| x.node_name.clone())
            .unwrap_or_default();
        if zones(&node).is_none() {
            continue;
        }
        for at in address_types_for_service(s) {
            if endpoint_addresses(p, at).is_empty() {
                continue;
            }
            let key = (
                at,
                port_key(&endpoint_ports(s, p)),
                p.metadata.name.clone().unwrap_or_default(),
            );
            expected.insert(key, 1);
        }
    }
    let mut seen: BTreeMap<(AddressType, PortKey, String), usize> = BTreeMap::new();
    for sl in slices {
        for e in &sl.endpoints {
            let name = e
                .target_ref
                .as_ref()
                .and_then(|r| r.name.clone())
                .unwrap_or_default();
            *seen
                .entry((sl.address_type, port_key(&sl.ports), name))
                .or_default() += 1;
        }
    }
    assert_eq!(seen, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn plans_cover_every_pod_once_stay_under_max_and_converge(
        first in prop::collection::vec(pod_gen(), 0..60),
        second in prop::collection::vec(pod_gen(), 0..60),
        max in 1usize..12,
        dual in any::<bool>(),
        named in any::<bool>(),
        tds in (0u8..3, 0u8..3),
    ) {
        let mut counter = 0;
        let mut state = Vec::new();
        for (generation, gens) in [first, second].iter().enumerate() {
            // The Service's trafficDistribution may change between the two rounds.
            let s = prop_svc(dual, named, if generation == 0 { tds.0 } else { tds.1 });
            let pods = build_pods(gens, generation);
            let plan = run(&s, &pods, &state, max);
            // Never rewrite a slice to what it already is.
            for u in &plan.update {
                let old = state.iter().find(|o| o.name() == u.name());
                prop_assert!(old.is_some_and(|o| o.endpoints != u.endpoints
                    || o.ports != u.ports
                    || o.metadata.labels != u.metadata.labels), "a no-op update of {}", u.name());
            }
            state = apply(&state, &plan, &mut counter);
            check_invariants(&s, &pods, &state, max);
            let again = run(&s, &pods, &state, max);
            prop_assert!(again.is_noop(), "a plan applied to its own result plans nothing: {again:?}");
        }
    }
}
