//! The DNS controller's plan: the records of the Kubernetes DNS-Based Service Discovery
//! specification (schema 1.1.0, kubernetes/dns `docs/specification.md`) for one Service, as a
//! pure function of the Service, its bosun EndpointSlices and the zone.
//!
//! ```text
//! spec §   owner name                                   type       data
//! 2.2      dns-version.<zone>                           TXT        "1.1.0"   (zone-wide: dns_version_record)
//! 2.3.1    <svc>.<ns>.svc.<zone>                        A / AAAA   each ClusterIP
//! 2.3.2    _<port>._<proto>.<svc>.<ns>.svc.<zone>       SRV        0 100 <port> <svc>.<ns>.svc.<zone>
//! 2.3.3    reverse of each ClusterIP                    PTR        <svc>.<ns>.svc.<zone>
//! 2.4.1    <svc>.<ns>.svc.<zone>  (headless)            A / AAAA   each ready endpoint IP
//! 2.4.1    <hostname>.<svc>.<ns>.svc.<zone>             A / AAAA   that endpoint's IPs
//! 2.4.2    _<port>._<proto>.<svc>.<ns>.svc.<zone>       SRV        0 w <endpoint port> <hostname>.<svc>.<ns>.svc.<zone>
//! 2.4.3    reverse of each ready endpoint IP            PTR        <hostname>.<svc>.<ns>.svc.<zone>
//! 2.5      <svc>.<ns>.svc.<zone>  (ExternalName)        CNAME      <externalName>
//! CoreDNS  <svc>.<ns>.svc.<zone>                        SRV        the records above for every port
//! ```
//!
//! Worked example: headless `db` in `prod`, zone `cluster.local`, one ready endpoint `10.1.2.3`
//! with hostname `db-0`, named port `pg`/TCP 5432 gives
//! `db.prod.svc.cluster.local A 10.1.2.3`, `db-0.db.prod.svc.cluster.local A 10.1.2.3`,
//! `_pg._tcp.db.prod.svc.cluster.local SRV 0 100 5432 db-0.db.prod.svc.cluster.local`,
//! `3.2.1.10.in-addr.arpa PTR db-0.db.prod.svc.cluster.local`.
//!
//! Choices where the specification leaves room:
//! - The *hostname* of an endpoint without `hostname` is "a unique, system-assigned identifier"
//!   (spec §1); like CoreDNS we use its first address dashed (`10-1-2-3`, IPv6 `:` → `-`), which
//!   is stable, readable and unique within the Service.
//! - *Ready* is the EndpointSlice condition `ready`, absent meaning ready (CoreDNS); an
//!   endpoint that is not ready still counts when the Service has `publishNotReadyAddresses`
//!   (upstream's EndpointSlice controller already sets `ready` then; this guards slices written
//!   otherwise).
//! - SRV priority is 0 and weight `max(1, 100 / n)` for `n` records of one owner name (CoreDNS).
//! - SRV at the Service's own name: not in the specification (SRV is defined only at
//!   `_<port>._<proto>.<svc>`), but CoreDNS answers it, taking the missing port and protocol as
//!   wildcards (`matchPortAndProtocol`): one record per port, named or not, with the target and
//!   port the specification gives the named ones. bosun does the same, so a client that asks
//!   there gets what CoreDNS gives it.
//! - `dns-version` is not per Service: the DNS server synthesises it from
//!   [`dns_version_record`], so no DNSRecordSet holds it.
//!
//! All names are lower-case (the specification's comparisons are case-insensitive) and the
//! output is sorted and free of duplicates, so an unchanged world yields an identical set.

use std::collections::BTreeMap;
use std::net::IpAddr;

use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::{DNSRecord, DNSRecordSet, DNSRecordSetSpec, DNSRecordSetStatus, RecordType};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

#[cfg(test)]
mod tests;

/// The specification's schema version, served as the `dns-version` TXT record (§2.2).
pub const SCHEMA_VERSION: &str = "1.1.0";

/// The label naming the Service an EndpointSlice belongs to.
pub use crate::endpointslice::LABEL_SERVICE_NAME as SERVICE_NAME_LABEL;

/// The kind of a Service, for DNS purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// A Service with one or more ClusterIPs (§2.3).
    ClusterIp,
    /// `clusterIP: None` (§2.4).
    Headless,
    /// `type: ExternalName` (§2.5).
    ExternalName,
}

/// How the specification classifies a Service: ExternalName by type, headless when its first
/// ClusterIP is `None` (CoreDNS's test) or it has none at all.
pub fn service_kind(svc: &Service) -> ServiceKind {
    let Some(spec) = svc.spec.as_ref() else {
        return ServiceKind::Headless;
    };
    if spec.type_.as_deref() == Some("ExternalName") {
        return ServiceKind::ExternalName;
    }
    match cluster_ips(svc).first() {
        Some(ip) if ip != "None" => ServiceKind::ClusterIp,
        _ => ServiceKind::Headless,
    }
}

/// `spec.clusterIPs`, falling back to `spec.clusterIP` when the list is empty.
fn cluster_ips(svc: &Service) -> Vec<String> {
    let Some(spec) = svc.spec.as_ref() else {
        return Vec::new();
    };
    match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.clone(),
        _ => spec
            .cluster_ip
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
    }
}

/// `dns-version.<zone>. TXT "1.1.0"` (§2.2): one per zone, synthesised by the server.
pub fn dns_version_record(zone: &str) -> DNSRecord {
    DNSRecord {
        text: Some(SCHEMA_VERSION.to_string()),
        ..record(
            format!("dns-version.{}", normalize_zone(zone)),
            RecordType::TXT,
        )
    }
}

/// The zone as names are written: lower-case, without leading or trailing dots.
pub fn normalize_zone(zone: &str) -> String {
    zone.trim_matches('.').to_ascii_lowercase()
}

/// The reverse-lookup name of an address: `d.c.b.a.in-addr.arpa` for IPv4, the 32 nibbles of an
/// IPv6 address reversed under `ip6.arpa` (§2.3.3).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

/// The system-assigned hostname of an endpoint without one: its address dashed, as CoreDNS
/// (`10.1.2.3` → `10-1-2-3`; `fd00::1` → `fd00--1`; a trailing `-` becomes `-0`).
pub fn generated_hostname(ip: IpAddr) -> String {
    let mut s = ip.to_string().replace([':', '.'], "-");
    if s.ends_with('-') {
        s.push('0');
    }
    if s.starts_with('-') {
        s.insert(0, '0');
    }
    s
}

fn record(name: String, type_: RecordType) -> DNSRecord {
    DNSRecord {
        name,
        type_,
        address: None,
        target: None,
        port: None,
        priority: None,
        weight: None,
        text: None,
    }
}

fn address_record(name: &str, ip: IpAddr) -> DNSRecord {
    let t = if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    DNSRecord {
        address: Some(ip.to_string()),
        ..record(name.to_string(), t)
    }
}

fn ptr_record(ip: IpAddr, target: &str) -> DNSRecord {
    DNSRecord {
        target: Some(target.to_string()),
        ..record(reverse_name(ip), RecordType::PTR)
    }
}

fn srv_record(name: String, port: i32, target: &str) -> DNSRecord {
    DNSRecord {
        target: Some(target.to_string()),
        port: Some(port),
        priority: Some(0),
        ..record(name, RecordType::SRV)
    }
}

/// Whether a string is a host name a CNAME may point at: dot-separated labels of letters,
/// digits, `-` and `_`, each 1 to 63 long, 253 in all (the CRD's own pattern), and no IP address.
fn is_hostname(s: &str) -> bool {
    s.parse::<IpAddr>().is_err()
        && !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The SRV owner label of a port: `_<name>._<proto>` (proto lower-case, TCP when unset).
fn srv_prefix(port_name: &str, protocol: Option<&str>) -> String {
    format!(
        "_{}._{}",
        port_name.to_ascii_lowercase(),
        protocol.unwrap_or("TCP").to_ascii_lowercase()
    )
}

/// Every record the specification requires for `svc` under `zone`, given its EndpointSlices
/// (those labelled `kubernetes.io/service-name=<svc>` in its namespace; others are ignored):
/// sorted, without duplicates. `dns-version` is not included (see [`dns_version_record`]).
pub fn records(svc: &Service, slices: &[&EndpointSlice], zone: &str) -> Vec<DNSRecord> {
    let zone = normalize_zone(zone);
    let name = svc.metadata.name.as_deref().unwrap_or_default();
    let ns = svc.metadata.namespace.as_deref().unwrap_or_default();
    let fqdn = format!("{name}.{ns}.svc.{zone}").to_ascii_lowercase();
    let mut out = Vec::new();
    let spec = svc.spec.clone().unwrap_or_default();
    match service_kind(svc) {
        ServiceKind::ExternalName => {
            // §2.5; an externalName that is no host name (an IP, say) gets no record (CoreDNS).
            let target = spec
                .external_name
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            if is_hostname(&target) {
                out.push(DNSRecord {
                    target: Some(target),
                    ..record(fqdn, RecordType::CNAME)
                });
            }
        }
        ServiceKind::ClusterIp => {
            for ip in cluster_ips(svc)
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok())
            {
                // §2.3.1 and §2.3.3.
                out.push(address_record(&fqdn, ip));
                out.push(ptr_record(ip, &fqdn));
            }
            // §2.3.2: one SRV per named port, pointing at the Service name with its own port;
            // CoreDNS: every port at the Service's own name.
            for p in spec.ports.iter().flatten() {
                out.push(srv_record(fqdn.clone(), p.port, &fqdn));
                let Some(port_name) = p.name.as_deref().filter(|n| !n.is_empty()) else {
                    continue;
                };
                let owner = format!("{}.{fqdn}", srv_prefix(port_name, p.protocol.as_deref()));
                out.push(srv_record(owner, p.port, &fqdn));
            }
        }
        ServiceKind::Headless => {
            let publish_not_ready = spec.publish_not_ready_addresses.unwrap_or(false);
            for slice in slices {
                if slice.metadata.namespace.as_deref() != Some(ns)
                    || slice
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(SERVICE_NAME_LABEL))
                        .map(String::as_str)
                        != Some(name)
                {
                    continue;
                }
                headless_slice(slice, &fqdn, publish_not_ready, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    set_srv_weights(&mut out);
    out
}

/// §2.4.1–§2.4.3 for the endpoints of one slice.
fn headless_slice(
    slice: &EndpointSlice,
    fqdn: &str,
    publish_not_ready: bool,
    out: &mut Vec<DNSRecord>,
) {
    let named_ports: Vec<(String, i32)> = slice
        .spec
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let n = p.name.as_deref().filter(|n| !n.is_empty())?;
            Some((srv_prefix(n, p.protocol.as_deref()), p.port?))
        })
        .collect();
    let all_ports: Vec<i32> = slice
        .spec
        .ports
        .iter()
        .flatten()
        .filter_map(|p| p.port)
        .collect();
    for ep in &slice.spec.endpoints {
        let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
        if !ready && !publish_not_ready {
            continue;
        }
        let ips: Vec<IpAddr> = ep.addresses.iter().filter_map(|a| a.parse().ok()).collect();
        let Some(first) = ips.first() else {
            continue;
        };
        let hostname = match ep.hostname.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => h.to_ascii_lowercase(),
            None => generated_hostname(*first),
        };
        let host_fqdn = format!("{hostname}.{fqdn}");
        for ip in &ips {
            out.push(address_record(fqdn, *ip));
            out.push(address_record(&host_fqdn, *ip));
            out.push(ptr_record(*ip, &host_fqdn));
        }
        for (prefix, port) in &named_ports {
            out.push(srv_record(format!("{prefix}.{fqdn}"), *port, &host_fqdn));
        }
        // CoreDNS: every port at the Service's own name.
        for port in &all_ports {
            out.push(srv_record(fqdn.to_string(), *port, &host_fqdn));
        }
    }
}

/// SRV weight `max(1, 100 / n)` for the `n` SRV records sharing an owner name (CoreDNS).
fn set_srv_weights(records: &mut [DNSRecord]) {
    let mut counts: BTreeMap<String, i32> = BTreeMap::new();
    for r in records.iter().filter(|r| r.type_ == RecordType::SRV) {
        *counts.entry(r.name.clone()).or_default() += 1;
    }
    for r in records.iter_mut().filter(|r| r.type_ == RecordType::SRV) {
        let n = counts.get(&r.name).copied().unwrap_or(1);
        r.weight = Some((100 / n).max(1));
    }
}

/// The status the controller writes for a set of `records` at `generation`.
pub fn status(records: &[DNSRecord], generation: Option<i64>) -> DNSRecordSetStatus {
    DNSRecordSetStatus {
        record_count: i32::try_from(records.len()).unwrap_or(i32::MAX),
        observed_generation: generation,
    }
}

/// The controller reference a DNSRecordSet carries to its Service (`controller` and
/// `blockOwnerDeletion` set, as upstream's `NewControllerRef`), so the garbage collector
/// deletes the set with the Service.
pub fn service_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What the controller must do with a Service's DNSRecordSet.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// The set is up to date: write nothing.
    Nothing,
    /// Apply this spec (creating the set if absent), then the status.
    Spec(DNSRecordSetSpec),
    /// The spec is current, only the status lags: write this status.
    Status(DNSRecordSetStatus),
    /// The set under the Service's name belongs to something else (an older Service of the
    /// same name, or a user): delete it (with its UID as precondition) and create ours.
    Replace {
        /// The UID of the set to delete.
        uid: String,
    },
}

/// The plan of one sync: compare the desired records with the cached set.
pub fn plan(
    svc: &Service,
    slices: &[&EndpointSlice],
    zone: &str,
    existing: Option<&DNSRecordSet>,
) -> Write {
    let spec = DNSRecordSetSpec {
        zone: normalize_zone(zone),
        records: records(svc, slices, zone),
    };
    let Some(set) = existing else {
        return Write::Spec(spec);
    };
    let ours = crate::pod::controller_of(&set.metadata)
        .is_some_and(|r| Some(&r.uid) == svc.metadata.uid.as_ref() && r.kind == "Service");
    if !ours {
        return Write::Replace {
            uid: set.metadata.uid.clone().unwrap_or_default(),
        };
    }
    if set.spec != spec {
        return Write::Spec(spec);
    }
    let want = status(&spec.records, set.metadata.generation);
    if set.status.as_ref() != Some(&want) {
        return Write::Status(want);
    }
    Write::Nothing
}
