//! One test per record form of the specification, named after its section.

use super::*;
use bosun_api::discovery::{AddressType, EndpointSliceFields};
use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

const ZONE: &str = "cluster.local";

struct Svc(Service);

fn svc(name: &str) -> Svc {
    Svc(Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("prod".into()),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            ..Default::default()
        }),
        status: None,
    })
}

impl Svc {
    fn spec(&mut self) -> &mut ServiceSpec {
        self.0.spec.get_or_insert_with(Default::default)
    }
    fn cluster_ips(mut self, ips: &[&str]) -> Self {
        self.spec().cluster_ip = ips.first().map(|s| s.to_string());
        self.spec().cluster_ips = Some(ips.iter().map(|s| s.to_string()).collect());
        self
    }
    fn headless(self) -> Self {
        self.cluster_ips(&["None"])
    }
    fn port(mut self, name: &str, protocol: &str, port: i32) -> Self {
        self.spec()
            .ports
            .get_or_insert_with(Vec::new)
            .push(ServicePort {
                name: (!name.is_empty()).then(|| name.into()),
                protocol: Some(protocol.into()),
                port,
                ..Default::default()
            });
        self
    }
    fn external_name(mut self, target: &str) -> Self {
        self.spec().type_ = Some("ExternalName".into());
        self.spec().external_name = Some(target.into());
        self
    }
    fn publish_not_ready(mut self) -> Self {
        self.spec().publish_not_ready_addresses = Some(true);
        self
    }
}

struct Ep(Endpoint);

fn ep(ip: &str) -> Ep {
    Ep(Endpoint {
        addresses: vec![ip.into()],
        conditions: Some(EndpointConditions {
            ready: Some(true),
            serving: Some(true),
            terminating: Some(false),
        }),
        ..Default::default()
    })
}

impl Ep {
    fn hostname(mut self, h: &str) -> Self {
        self.0.hostname = Some(h.into());
        self
    }
    fn not_ready(mut self) -> Self {
        self.0.conditions = Some(EndpointConditions {
            ready: Some(false),
            serving: Some(false),
            terminating: Some(false),
        });
        self
    }
}

fn slice(
    service: &str,
    family: AddressType,
    eps: Vec<Ep>,
    ports: &[(&str, &str, i32)],
) -> EndpointSlice {
    let mut s = EndpointSlice::new(
        &format!("{service}-abcde"),
        EndpointSliceFields {
            summary: None,
            address_type: family,
            endpoints: eps.into_iter().map(|e| e.0).collect(),
            ports: Some(
                ports
                    .iter()
                    .map(|(n, p, port)| EndpointPort {
                        name: Some(n.to_string()),
                        protocol: Some(p.to_string()),
                        port: Some(*port),
                        app_protocol: None,
                    })
                    .collect(),
            ),
        },
    );
    s.metadata.namespace = Some("prod".into());
    s.metadata.labels = Some([(SERVICE_NAME_LABEL.to_string(), service.to_string())].into());
    s
}

/// `(name, type, data)` triples, for readable assertions.
fn show(records: &[DNSRecord]) -> Vec<(String, RecordType, String)> {
    records
        .iter()
        .map(|r| {
            let data = match r.type_ {
                RecordType::A | RecordType::AAAA => r.address.clone().unwrap_or_default(),
                RecordType::CNAME | RecordType::PTR => r.target.clone().unwrap_or_default(),
                RecordType::SRV => format!(
                    "{} {} {} {}",
                    r.priority.unwrap_or_default(),
                    r.weight.unwrap_or_default(),
                    r.port.unwrap_or_default(),
                    r.target.clone().unwrap_or_default()
                ),
                RecordType::TXT => r.text.clone().unwrap_or_default(),
            };
            (r.name.clone(), r.type_, data)
        })
        .collect()
}

fn of_type(records: &[DNSRecord], t: RecordType) -> Vec<(String, RecordType, String)> {
    show(records).into_iter().filter(|r| r.1 == t).collect()
}

/// The SRV records of the specification: those at `_<port>._<proto>.` names.
fn port_srv(records: &[DNSRecord]) -> Vec<(String, RecordType, String)> {
    of_type(records, RecordType::SRV)
        .into_iter()
        .filter(|r| r.0.starts_with('_'))
        .collect()
}

/// The SRV records at `name` itself (CoreDNS's wildcard port and protocol).
fn srv_at(records: &[DNSRecord], name: &str) -> Vec<(String, RecordType, String)> {
    of_type(records, RecordType::SRV)
        .into_iter()
        .filter(|r| r.0 == name)
        .collect()
}

fn row(name: &str, t: RecordType, data: &str) -> (String, RecordType, String) {
    (name.to_string(), t, data.to_string())
}

#[test]
fn spec_2_2_dns_version_txt_record() {
    assert_eq!(
        show(&[dns_version_record("Cluster.Local.")]),
        vec![row("dns-version.cluster.local", RecordType::TXT, "1.1.0")]
    );
}

#[test]
fn spec_2_3_1_cluster_ip_a_record() {
    let s = svc("web").cluster_ips(&["10.96.0.10"]).0;
    assert_eq!(
        of_type(&records(&s, &[], ZONE), RecordType::A),
        vec![row(
            "web.prod.svc.cluster.local",
            RecordType::A,
            "10.96.0.10"
        )]
    );
}

#[test]
fn spec_2_3_1_cluster_ip_aaaa_record_and_dual_stack() {
    let s = svc("web").cluster_ips(&["fd00::10", "10.96.0.10"]).0;
    let r = records(&s, &[], ZONE);
    assert_eq!(
        of_type(&r, RecordType::AAAA),
        vec![row(
            "web.prod.svc.cluster.local",
            RecordType::AAAA,
            "fd00::10"
        )]
    );
    assert_eq!(
        of_type(&r, RecordType::A),
        vec![row(
            "web.prod.svc.cluster.local",
            RecordType::A,
            "10.96.0.10"
        )]
    );
}

#[test]
fn spec_2_3_2_cluster_ip_srv_record_per_named_port() {
    let s = svc("web")
        .cluster_ips(&["10.96.0.10"])
        .port("http", "TCP", 80)
        .port("DNS", "UDP", 53)
        .port("", "TCP", 8080)
        .0;
    // The unnamed port has no SRV record; names are lower-case; target is the Service.
    assert_eq!(
        port_srv(&records(&s, &[], ZONE)),
        vec![
            row(
                "_dns._udp.web.prod.svc.cluster.local",
                RecordType::SRV,
                "0 100 53 web.prod.svc.cluster.local"
            ),
            row(
                "_http._tcp.web.prod.svc.cluster.local",
                RecordType::SRV,
                "0 100 80 web.prod.svc.cluster.local"
            ),
        ]
    );
}

#[test]
fn spec_2_3_3_cluster_ip_ptr_record() {
    let s = svc("web").cluster_ips(&["10.96.0.10", "fd00::a"]).0;
    assert_eq!(
        of_type(&records(&s, &[], ZONE), RecordType::PTR),
        vec![
            row(
                "10.0.96.10.in-addr.arpa",
                RecordType::PTR,
                "web.prod.svc.cluster.local"
            ),
            row(
                "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
                RecordType::PTR,
                "web.prod.svc.cluster.local"
            ),
        ]
    );
}

#[test]
fn spec_2_4_1_headless_a_record_per_ready_endpoint() {
    let s = svc("db").headless().0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.1"), ep("10.1.0.2"), ep("10.1.0.3").not_ready()],
        &[],
    );
    assert_eq!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::A)
            .into_iter()
            .filter(|r| r.0 == "db.prod.svc.cluster.local")
            .collect::<Vec<_>>(),
        vec![
            row("db.prod.svc.cluster.local", RecordType::A, "10.1.0.1"),
            row("db.prod.svc.cluster.local", RecordType::A, "10.1.0.2"),
        ]
    );
}

#[test]
fn spec_2_4_1_headless_aaaa_record_per_ready_endpoint() {
    let s = svc("db").headless().0;
    let sl = slice("db", AddressType::IPv6, vec![ep("fd00::1")], &[]);
    assert_eq!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::AAAA),
        vec![
            row("db.prod.svc.cluster.local", RecordType::AAAA, "fd00::1"),
            row(
                "fd00--1.db.prod.svc.cluster.local",
                RecordType::AAAA,
                "fd00::1"
            ),
        ]
    );
}

#[test]
fn spec_2_4_1_headless_with_no_ready_endpoints_has_no_records() {
    // The server answers NXDOMAIN for the name then (§2.4.1).
    let s = svc("db").headless().port("pg", "TCP", 5432).0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.1").not_ready()],
        &[("pg", "TCP", 5432)],
    );
    assert_eq!(records(&s, &[&sl], ZONE), vec![]);
}

#[test]
fn spec_2_4_1_headless_publish_not_ready_addresses_includes_unready_endpoints() {
    let s = svc("db").headless().publish_not_ready().0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.1").not_ready()],
        &[],
    );
    assert!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::A).contains(&row(
            "db.prod.svc.cluster.local",
            RecordType::A,
            "10.1.0.1"
        ))
    );
}

#[test]
fn spec_2_4_1_hostname_a_record_for_endpoint_with_hostname() {
    let s = svc("db").headless().0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.1").hostname("DB-0")],
        &[],
    );
    assert_eq!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::A),
        vec![
            row("db-0.db.prod.svc.cluster.local", RecordType::A, "10.1.0.1"),
            row("db.prod.svc.cluster.local", RecordType::A, "10.1.0.1"),
        ]
    );
}

#[test]
fn spec_1_endpoint_without_hostname_gets_a_system_assigned_hostname() {
    let s = svc("db").headless().0;
    let sl = slice("db", AddressType::IPv4, vec![ep("10.1.0.7")], &[]);
    assert!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::A).contains(&row(
            "10-1-0-7.db.prod.svc.cluster.local",
            RecordType::A,
            "10.1.0.7"
        ))
    );
    assert_eq!(generated_hostname("fd00::".parse().expect("ip")), "fd00--0");
    assert_eq!(generated_hostname("::1".parse().expect("ip")), "0--1");
}

#[test]
fn spec_2_4_2_headless_srv_record_per_ready_endpoint_and_named_port() {
    let s = svc("db").headless().port("pg", "TCP", 5432).0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![
            ep("10.1.0.1").hostname("db-0"),
            ep("10.1.0.2"),
            ep("10.1.0.3").not_ready(),
        ],
        // The endpoint (target) port is what SRV carries; the unnamed one has none.
        &[("pg", "TCP", 15432), ("", "TCP", 9000)],
    );
    assert_eq!(
        port_srv(&records(&s, &[&sl], ZONE)),
        vec![
            row(
                "_pg._tcp.db.prod.svc.cluster.local",
                RecordType::SRV,
                "0 50 15432 10-1-0-2.db.prod.svc.cluster.local"
            ),
            row(
                "_pg._tcp.db.prod.svc.cluster.local",
                RecordType::SRV,
                "0 50 15432 db-0.db.prod.svc.cluster.local"
            ),
        ]
    );
}

#[test]
fn spec_2_4_3_headless_ptr_record_per_ready_endpoint() {
    let s = svc("db").headless().0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![
            ep("10.1.0.1").hostname("db-0"),
            ep("10.1.0.2"),
            ep("10.1.0.3").not_ready(),
        ],
        &[],
    );
    assert_eq!(
        of_type(&records(&s, &[&sl], ZONE), RecordType::PTR),
        vec![
            row(
                "1.0.1.10.in-addr.arpa",
                RecordType::PTR,
                "db-0.db.prod.svc.cluster.local"
            ),
            row(
                "2.0.1.10.in-addr.arpa",
                RecordType::PTR,
                "10-1-0-2.db.prod.svc.cluster.local"
            ),
        ]
    );
}

#[test]
fn spec_2_5_external_name_cname_record() {
    let s = svc("ext").external_name("Example.COM.").0;
    assert_eq!(
        show(&records(&s, &[], ZONE)),
        vec![row(
            "ext.prod.svc.cluster.local",
            RecordType::CNAME,
            "example.com"
        )]
    );
}

#[test]
fn external_name_that_is_an_ip_has_no_record() {
    let s = svc("ext").external_name("10.0.0.1").0;
    // CoreDNS publishes a CNAME only when externalName is a host name.
    assert_eq!(records(&s, &[], ZONE), vec![]);
}

#[test]
fn slices_of_other_services_or_namespaces_are_ignored() {
    let s = svc("db").headless().0;
    let other = slice("cache", AddressType::IPv4, vec![ep("10.1.0.9")], &[]);
    let mut elsewhere = slice("db", AddressType::IPv4, vec![ep("10.1.0.8")], &[]);
    elsewhere.metadata.namespace = Some("dev".into());
    assert_eq!(records(&s, &[&other, &elsewhere], ZONE), vec![]);
}

#[test]
fn records_are_sorted_and_deduplicated_whatever_the_slice_order() {
    let s = svc("db").headless().port("pg", "TCP", 5432).0;
    let a = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.2"), ep("10.1.0.1")],
        &[("pg", "TCP", 5432)],
    );
    let mut b = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.3"), ep("10.1.0.1")],
        &[("pg", "TCP", 5432)],
    );
    b.metadata.name = Some("db-fghij".into());
    let one = records(&s, &[&a, &b], ZONE);
    let other = records(&s, &[&b, &a], ZONE);
    assert_eq!(one, other);
    let mut sorted = one.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(one, sorted);
    // 3 endpoints: 3 service A, 3 hostname A, 3 PTR, 3 SRV per port and 3 at the name.
    assert_eq!(one.len(), 15);
}

#[test]
fn status_counts_the_records() {
    let s = svc("web")
        .cluster_ips(&["10.96.0.10"])
        .port("http", "TCP", 80)
        .0;
    let r = records(&s, &[], ZONE);
    assert_eq!(
        status(&r, Some(4)),
        DNSRecordSetStatus {
            // A, PTR, SRV at _http._tcp and at the name.
            record_count: 4,
            observed_generation: Some(4)
        }
    );
}

fn owned_set(
    s: &Service,
    spec: DNSRecordSetSpec,
    status: Option<DNSRecordSetStatus>,
) -> DNSRecordSet {
    let mut set = DNSRecordSet::new("web", spec);
    set.metadata.namespace = Some("prod".into());
    set.metadata.uid = Some("set-uid".into());
    set.metadata.generation = Some(2);
    set.metadata.owner_references = Some(vec![service_ref(s)]);
    set.status = status;
    set
}

fn with_uid(mut s: Service, uid: &str) -> Service {
    s.metadata.uid = Some(uid.into());
    s
}

#[test]
fn plan_creates_the_set_when_absent() {
    let s = with_uid(svc("web").cluster_ips(&["10.96.0.10"]).0, "svc-uid");
    let Write::Spec(spec) = plan(&s, &[], "Cluster.Local", None) else {
        panic!("expected a spec write");
    };
    assert_eq!(spec.zone, "cluster.local");
    assert_eq!(spec.records, records(&s, &[], ZONE));
}

#[test]
fn plan_writes_nothing_when_the_set_is_current() {
    let s = with_uid(svc("web").cluster_ips(&["10.96.0.10"]).0, "svc-uid");
    let spec = DNSRecordSetSpec {
        zone: ZONE.into(),
        records: records(&s, &[], ZONE),
    };
    let set = owned_set(&s, spec.clone(), Some(status(&spec.records, Some(2))));
    assert_eq!(plan(&s, &[], ZONE, Some(&set)), Write::Nothing);
}

#[test]
fn plan_writes_only_the_status_when_it_lags() {
    let s = with_uid(svc("web").cluster_ips(&["10.96.0.10"]).0, "svc-uid");
    let spec = DNSRecordSetSpec {
        zone: ZONE.into(),
        records: records(&s, &[], ZONE),
    };
    let set = owned_set(&s, spec.clone(), Some(status(&spec.records, Some(1))));
    assert_eq!(
        plan(&s, &[], ZONE, Some(&set)),
        Write::Status(status(&spec.records, Some(2)))
    );
}

#[test]
fn plan_rewrites_the_spec_when_records_changed() {
    let s = with_uid(svc("web").cluster_ips(&["10.96.0.10"]).0, "svc-uid");
    let set = owned_set(
        &s,
        DNSRecordSetSpec {
            zone: ZONE.into(),
            records: vec![],
        },
        None,
    );
    assert!(matches!(plan(&s, &[], ZONE, Some(&set)), Write::Spec(_)));
}

#[test]
fn plan_replaces_a_set_owned_by_another_service() {
    let old = with_uid(svc("web").cluster_ips(&["10.96.0.10"]).0, "old-uid");
    let s = with_uid(svc("web").cluster_ips(&["10.96.0.11"]).0, "svc-uid");
    let set = owned_set(
        &old,
        DNSRecordSetSpec {
            zone: ZONE.into(),
            records: vec![],
        },
        None,
    );
    assert_eq!(
        plan(&s, &[], ZONE, Some(&set)),
        Write::Replace {
            uid: "set-uid".into()
        }
    );
}

#[test]
fn coredns_cluster_ip_srv_at_the_service_name_lists_every_port() {
    let s = svc("web")
        .cluster_ips(&["10.96.0.10"])
        .port("http", "TCP", 80)
        .port("DNS", "UDP", 53)
        .port("", "TCP", 8080)
        .0;
    // Named or not, every port; the target is the Service; weight 100/3 as CoreDNS.
    assert_eq!(
        srv_at(&records(&s, &[], ZONE), "web.prod.svc.cluster.local"),
        vec![
            row(
                "web.prod.svc.cluster.local",
                RecordType::SRV,
                "0 33 53 web.prod.svc.cluster.local"
            ),
            row(
                "web.prod.svc.cluster.local",
                RecordType::SRV,
                "0 33 80 web.prod.svc.cluster.local"
            ),
            row(
                "web.prod.svc.cluster.local",
                RecordType::SRV,
                "0 33 8080 web.prod.svc.cluster.local"
            ),
        ]
    );
    // A Service without ports has none.
    let bare = svc("bare").cluster_ips(&["10.96.0.11"]).0;
    assert!(srv_at(&records(&bare, &[], ZONE), "bare.prod.svc.cluster.local").is_empty());
}

#[test]
fn coredns_headless_srv_at_the_service_name_lists_every_ready_endpoint_and_port() {
    let s = svc("db").headless().port("pg", "TCP", 5432).0;
    let sl = slice(
        "db",
        AddressType::IPv4,
        vec![ep("10.1.0.1").hostname("db-0"), ep("10.1.0.3").not_ready()],
        &[("pg", "TCP", 15432), ("", "TCP", 9000)],
    );
    // The endpoint ports, named or not, of the ready endpoint only, at its hostname.
    assert_eq!(
        srv_at(&records(&s, &[&sl], ZONE), "db.prod.svc.cluster.local"),
        vec![
            row(
                "db.prod.svc.cluster.local",
                RecordType::SRV,
                "0 50 9000 db-0.db.prod.svc.cluster.local"
            ),
            row(
                "db.prod.svc.cluster.local",
                RecordType::SRV,
                "0 50 15432 db-0.db.prod.svc.cluster.local"
            ),
        ]
    );
}
