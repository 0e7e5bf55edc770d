//! Upstream's `endpointslice/utils.go` and the endpoint helpers of `util/controller_utils.go`
//! and `util/endpointset.go`: which pods become endpoints, what an endpoint holds, ports,
//! address types, labels, ownership.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bosun_api::discovery::AddressType;
use k8s_openapi::api::core::v1::{ObjectReference, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{LABEL_HEADLESS, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, Slice};
use crate::pod::{is_finished, is_ready};

/// The node label holding a node's zone.
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";

/// `ShouldPodBeInEndpoints(pod, includeTerminating=true)`: not terminal (Succeeded/Failed) and
/// has an IP. Terminating pods are included.
pub fn should_pod_be_in_endpoints(pod: &Pod) -> bool {
    if is_finished(pod) {
        return false;
    }
    let Some(st) = pod.status.as_ref() else {
        return false;
    };
    st.pod_ip.as_deref().is_some_and(|ip| !ip.is_empty())
        || st.pod_ips.as_ref().is_some_and(|ips| !ips.is_empty())
}

/// `ShouldSetHostname`: the pod has a hostname, its subdomain names the Service, and both live
/// in the same namespace. Any Service type, not only headless ones.
pub fn should_set_hostname(pod: &Pod, svc: &Service) -> bool {
    let spec = pod.spec.as_ref();
    let hostname = spec.and_then(|s| s.hostname.as_deref()).unwrap_or("");
    let subdomain = spec.and_then(|s| s.subdomain.as_deref()).unwrap_or("");
    !hostname.is_empty()
        && Some(subdomain) == svc.metadata.name.as_deref()
        && svc.metadata.namespace == pod.metadata.namespace
}

/// `ParseIPSloppy(..).String()` with the family: IPv4 octets may carry leading zeros, and an
/// IPv4-mapped IPv6 address counts as IPv4. `None` for text that is no address.
pub fn canonical_ip(text: &str) -> Option<(AddressType, String)> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(match ip {
            IpAddr::V4(v4) => (AddressType::IPv4, v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => (AddressType::IPv4, v4.to_string()),
                None => (AddressType::IPv6, v6.to_string()),
            },
        });
    }
    // Go's sloppy parser accepts "010.001.0.1" as decimal octets.
    let octets: Vec<&str> = text.split('.').collect();
    if octets.len() != 4 {
        return None;
    }
    let mut parsed = [0u8; 4];
    for (i, o) in octets.iter().enumerate() {
        if o.is_empty() || o.len() > 3 || !o.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parsed[i] = o.parse().ok()?;
    }
    Some((
        AddressType::IPv4,
        std::net::Ipv4Addr::from(parsed).to_string(),
    ))
}

/// `getEndpointAddresses`: the pod's `status.podIPs` of `address_type`, canonical.
pub fn endpoint_addresses(pod: &Pod, address_type: AddressType) -> Vec<String> {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ips.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|ip| canonical_ip(&ip.ip))
        .filter(|(family, _)| *family == address_type)
        .map(|(_, ip)| ip)
        .collect()
}

/// `podToEndpoint`. `zone` is the zone label of the pod's node, when the node is known.
///
/// | pod                       | serving | terminating | ready                               |
/// |---------------------------|---------|-------------|-------------------------------------|
/// | Ready                     | true    | false       | true                                |
/// | not Ready                 | false   | false       | publishNotReadyAddresses            |
/// | Ready, being deleted      | true    | true        | publishNotReadyAddresses            |
pub fn pod_to_endpoint(
    pod: &Pod,
    zone: Option<&str>,
    svc: &Service,
    address_type: AddressType,
) -> Endpoint {
    let serving = is_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let ready = publish || (serving && !terminating);
    let spec = pod.spec.as_ref();
    Endpoint {
        addresses: endpoint_addresses(pod, address_type),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
        node_name: spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        zone: zone.filter(|z| !z.is_empty()).map(str::to_string),
        hostname: should_set_hostname(pod, svc)
            .then(|| spec.and_then(|s| s.hostname.clone()))
            .flatten(),
        ..Default::default()
    }
}

/// The protocol of a port, `TCP` when unset (the API server's default).
fn protocol(p: Option<&String>) -> &str {
    p.map(String::as_str).unwrap_or("TCP")
}

/// `FindPort`: a numeric `targetPort` is the port; a named one is the first container port with
/// that name and the Service port's protocol, in the containers, then in the restartable init
/// (sidecar) containers. An unset `targetPort` means the Service port (the API server's default).
pub fn find_port(pod: &Pod, svc_port: &ServicePort) -> Option<i32> {
    match &svc_port.target_port {
        None => Some(svc_port.port),
        Some(IntOrString::Int(n)) => Some(*n),
        Some(IntOrString::String(name)) => {
            let spec = pod.spec.as_ref()?;
            let want = protocol(svc_port.protocol.as_ref());
            let sidecars = spec
                .init_containers
                .iter()
                .flatten()
                .filter(|c| c.restart_policy.as_deref() == Some("Always"));
            spec.containers
                .iter()
                .chain(sidecars)
                .flat_map(|c| c.ports.iter().flatten())
                .find(|p| p.name.as_deref() == Some(name) && protocol(p.protocol.as_ref()) == want)
                .map(|p| p.container_port)
        }
    }
}

/// Whether the Service has a cluster IP (`isServiceIPSet`): not headless.
pub fn is_service_ip_set(svc: &Service) -> bool {
    let ip = svc
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.as_deref())
        .unwrap_or("");
    ip != "None" && !ip.is_empty()
}

/// `getEndpointPorts`: one port per Service port the pod resolves, sorted (the port-mapping
/// key). A headless Service without ports gets none.
pub fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let spec = svc.spec.as_ref();
    let ports = spec.and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let mut out: Vec<EndpointPort> = ports
        .iter()
        .filter_map(|sp| {
            let port = find_port(pod, sp)?;
            Some(EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(port),
                protocol: Some(protocol(sp.protocol.as_ref()).to_string()),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect();
    sort_ports(&mut out);
    out
}

/// A port mapping's identity (`PortMapKey`): the ports, sorted.
pub type PortKey = Vec<(Option<String>, Option<i32>, Option<String>, Option<String>)>;

fn port_tuple(p: &EndpointPort) -> (Option<String>, Option<i32>, Option<String>, Option<String>) {
    (
        p.name.clone(),
        p.port,
        p.protocol.clone(),
        p.app_protocol.clone(),
    )
}

/// `portsInOrder`: ports sorted by the hex of each one's `deepHashObjectToString`, as upstream
/// writes them (`NewPortMapKey` sorts the slice in place), so `kubectl get` and `-o yaml` list a
/// slice's ports in the order the built-in controller does.
pub fn sort_ports(ports: &mut [EndpointPort]) {
    ports.sort_by_cached_key(port_hash);
}

/// `deepHashObjectToString` of one port: FNV-1a 128 over the port's `dump.ForHash` text
/// (go-spew's `%v` with pointers dereferenced: `(v1.EndpointPort){Name:(*string)http
/// Protocol:(*v1.Protocol)TCP Port:(*int32)8080 AppProtocol:(*string)<nil>}`), as lowercase hex
/// of the 16 big-endian bytes. A port is four optional scalars, so its dump is one format
/// string; FNV-128 is written here because the maintained fnv crates stop at 64 bits.
pub fn port_hash(p: &EndpointPort) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let field = |v: Option<String>| v.unwrap_or_else(|| "<nil>".into());
    let dump = format!(
        "(v1.EndpointPort){{Name:(*string){} Protocol:(*v1.Protocol){} Port:(*int32){} AppProtocol:(*string){}}}",
        field(p.name.clone()),
        field(p.protocol.clone()),
        field(p.port.map(|n| n.to_string())),
        field(p.app_protocol.clone()),
    );
    let h = dump
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("{h:032x}")
}

/// `NewPortMapKey`.
pub fn port_key(ports: &[EndpointPort]) -> PortKey {
    let mut key: PortKey = ports.iter().map(port_tuple).collect();
    key.sort();
    key
}

/// An endpoint's identity (`hashEndpoint`): sorted addresses, hostname, target namespace and
/// name.
pub type EndpointKey = (Vec<String>, String, String, String);

/// `hashEndpoint`.
pub fn endpoint_key(ep: &Endpoint) -> EndpointKey {
    let mut addresses = ep.addresses.clone();
    addresses.sort();
    let (ns, name) = ep
        .target_ref
        .as_ref()
        .map(|r| {
            (
                r.namespace.clone().unwrap_or_default(),
                r.name.clone().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    (addresses, ep.hostname.clone().unwrap_or_default(), ns, name)
}

/// `EndpointsEqualBeyondHash`: node, zone, the three conditions and the target (its
/// resourceVersion aside) are equal. Hints are not compared, as upstream.
pub fn endpoints_equal_beyond_hash(a: &Endpoint, b: &Endpoint) -> bool {
    let cond = |e: &Endpoint| {
        let c = e.conditions.clone().unwrap_or_default();
        (c.ready, c.serving, c.terminating)
    };
    let target = |e: &Endpoint| {
        e.target_ref.clone().map(|mut r| {
            r.resource_version = None;
            r
        })
    };
    a.node_name == b.node_name && a.zone == b.zone && cond(a) == cond(b) && target(a) == target(b)
}

/// `getAddressTypesForService`: one address type per entry of `spec.ipFamilies`; without
/// families, the family of the cluster IP, and both for a headless Service.
pub fn address_types_for_service(svc: &Service) -> Vec<AddressType> {
    let spec = svc.spec.as_ref();
    let mut types: Vec<AddressType> = spec
        .and_then(|s| s.ip_families.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|f| match f.as_str() {
            "IPv4" => Some(AddressType::IPv4),
            "IPv6" => Some(AddressType::IPv6),
            _ => None,
        })
        .collect();
    types.sort();
    types.dedup();
    if !types.is_empty() {
        return types;
    }
    if is_service_ip_set(svc) {
        let ip = spec.and_then(|s| s.cluster_ip.as_deref()).unwrap_or("");
        let family = match canonical_ip(ip) {
            Some((AddressType::IPv6, _)) => AddressType::IPv6,
            _ => AddressType::IPv4,
        };
        return vec![family];
    }
    vec![AddressType::IPv4, AddressType::IPv6]
}

/// `isReservedLabelKey`: the labels the controller owns on a slice.
pub fn is_reserved_label(key: &str) -> bool {
    key == LABEL_SERVICE_NAME || key == LABEL_MANAGED_BY || key == LABEL_HEADLESS
}

/// `setEndpointSliceLabels`: the slice's labels (the Service's non-reserved labels, the
/// headless marker when the Service has no cluster IP, the service name and managed-by), and
/// whether the non-reserved labels differ from the Service's.
pub fn slice_labels(
    current: Option<&BTreeMap<String, String>>,
    svc: &Service,
    managed_by: &str,
) -> (BTreeMap<String, String>, bool) {
    let ours: BTreeMap<&String, &String> = current
        .into_iter()
        .flatten()
        .filter(|(k, _)| !is_reserved_label(k))
        .collect();
    let mut labels: BTreeMap<String, String> = svc
        .metadata
        .labels
        .iter()
        .flatten()
        .filter(|(k, _)| !is_reserved_label(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let changed =
        ours.len() != labels.len() || ours.iter().any(|(k, v)| labels.get(k.as_str()) != Some(*v));
    if !is_service_ip_set(svc) {
        labels.insert(LABEL_HEADLESS.into(), String::new());
    }
    labels.insert(
        LABEL_SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    labels.insert(LABEL_MANAGED_BY.into(), managed_by.into());
    (labels, changed)
}

/// The controller reference of a slice to its Service (`metav1.NewControllerRef`).
pub fn service_controller_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// `ownedBy`: some owner reference names the Service's UID, kind `Service`, apiVersion `v1`.
pub fn owned_by(slice: &Slice, svc: &Service) -> bool {
    let uid = svc.metadata.uid.as_deref().unwrap_or_default();
    slice
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.kind == "Service" && o.api_version == "v1")
}

/// `getEndpointSlicePrefix`: `<service>-`, or the bare name when the dash form would not be a
/// valid DNS subdomain prefix (too long).
pub fn slice_prefix(service_name: &str) -> String {
    if service_name.len() < 253 {
        format!("{service_name}-")
    } else {
        service_name.to_string()
    }
}

/// `newEndpointSlice`: an empty slice of the Service, to be created with `generateName`.
pub fn new_slice(
    svc: &Service,
    ports: Vec<EndpointPort>,
    address_type: AddressType,
    managed_by: &str,
) -> Slice {
    let (labels, _) = slice_labels(None, svc, managed_by);
    Slice {
        metadata: ObjectMeta {
            generate_name: Some(slice_prefix(
                svc.metadata.name.as_deref().unwrap_or_default(),
            )),
            namespace: svc.metadata.namespace.clone(),
            owner_references: Some(vec![service_controller_ref(svc)]),
            labels: Some(labels),
            ..Default::default()
        },
        address_type,
        endpoints: Vec::new(),
        ports,
    }
}

/// `placeholderSliceCompare`: same namespace, same labels, same address type, no endpoints and
/// no ports (names, owners and annotations are not compared).
pub fn placeholder_equal(a: &Slice, b: &Slice) -> bool {
    let labels = |s: &Slice| s.metadata.labels.clone().unwrap_or_default();
    a.metadata.namespace == b.metadata.namespace
        && labels(a) == labels(b)
        && a.address_type == b.address_type
        && a.endpoints == b.endpoints
        && a.ports == b.ports
}

/// `getSliceToFill`: of `slices`, the one that would be closest to full, without overflowing,
/// after taking all `num_endpoints`; the first exact fit wins, ties go to the first seen.
pub fn slice_to_fill(slices: &[&Slice], num_endpoints: usize, max: usize) -> Option<usize> {
    let mut closest_diff = max;
    let mut closest = None;
    for (i, s) in slices.iter().enumerate() {
        let total = num_endpoints + s.endpoints.len();
        if total > max {
            continue;
        }
        let diff = max - total;
        if diff < closest_diff {
            closest_diff = diff;
            closest = Some(i);
            if diff == 0 {
                return closest;
            }
        }
    }
    closest
}
