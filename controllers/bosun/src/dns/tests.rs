//! The server's answer logic, without a network or a cluster: records in, answers out.

use std::str::FromStr;

use bosun_api::dns::{DNSRecordSet, DNSRecordSetSpec};
use bosun_core::dns::records;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, LowerName, RData, RecordType};
use k8s_openapi::api::core::v1::Service;

use super::store::{Answer, Store};

fn service(yaml: serde_json::Value) -> Service {
    serde_json::from_value(yaml).expect("a Service")
}

fn set_of(svc: &Service) -> DNSRecordSet {
    let mut set = DNSRecordSet::new(
        svc.metadata.name.as_deref().unwrap_or_default(),
        DNSRecordSetSpec {
            zone: "cluster.local".into(),
            records: records(svc, &[], "cluster.local"),
        },
    );
    set.metadata.namespace = svc.metadata.namespace.clone();
    set
}

fn store() -> Store {
    let s = Store::new("cluster.local", 5).expect("store");
    let web = service(serde_json::json!({
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
    }));
    let ext = service(serde_json::json!({
        "metadata": {"name": "ext", "namespace": "prod"},
        "spec": {"type": "ExternalName", "externalName": "web.prod.svc.cluster.local"}
    }));
    s.apply("prod/web", &set_of(&web), 1);
    s.apply("prod/ext", &set_of(&ext), 2);
    s
}

fn ask(s: &Store, name: &str, t: RecordType) -> Answer {
    s.answer(&LowerName::from_str(name).expect("name"), t, DNSClass::IN)
}

fn data(a: &Answer) -> Vec<String> {
    a.answers.iter().map(|r| r.data.to_string()).collect()
}

#[test]
fn existing_name_and_type_answers_the_records() {
    let a = ask(&store(), "WEB.prod.svc.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(data(&a), vec!["10.96.0.10"]);
    assert!(a.authority.is_empty());
}

#[test]
fn existing_name_of_another_type_is_nodata_with_soa() {
    let a = ask(&store(), "web.prod.svc.cluster.local.", RecordType::AAAA);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.answers.is_empty());
    assert_eq!(a.authority.len(), 1);
    assert_eq!(a.authority[0].record_type(), RecordType::SOA);
    assert_eq!(a.authority[0].ttl, 5);
}

#[test]
fn empty_non_terminals_are_nodata() {
    let s = store();
    for name in [
        "prod.svc.cluster.local.",
        "svc.cluster.local.",
        "_tcp.web.prod.svc.cluster.local.",
        "cluster.local.",
        "0.96.10.in-addr.arpa.",
    ] {
        let a = ask(&s, name, RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NoError, "{name}");
        assert!(a.answers.is_empty(), "{name}");
        assert_eq!(a.authority.len(), 1, "{name}");
    }
}

#[test]
fn missing_names_are_nxdomain_with_soa() {
    let s = store();
    for name in [
        "nope.prod.svc.cluster.local.",
        "prod.cluster.local.",
        "web.prod.svc.cluster.local.prod.svc.cluster.local.",
        "1.2.3.4.in-addr.arpa.",
    ] {
        let a = ask(&s, name, RecordType::A);
        assert_eq!(a.rcode, ResponseCode::NXDomain, "{name}");
        assert_eq!(a.authority[0].record_type(), RecordType::SOA, "{name}");
    }
}

#[test]
fn names_outside_the_zones_are_refused() {
    let a = ask(&store(), "example.com.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::Refused);
    assert!(a.answers.is_empty() && a.authority.is_empty());
}

#[test]
fn zone_transfers_are_refused() {
    assert_eq!(
        ask(&store(), "cluster.local.", RecordType::AXFR).rcode,
        ResponseCode::Refused
    );
}

#[test]
fn apex_soa_is_answered() {
    let a = ask(&store(), "cluster.local.", RecordType::SOA);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(a.answers[0].record_type(), RecordType::SOA);
}

#[test]
fn dns_version_txt_is_served() {
    let a = ask(&store(), "dns-version.cluster.local.", RecordType::TXT);
    assert_eq!(data(&a), vec!["1.1.0"]);
    assert_eq!(a.answers[0].ttl, 28800);
}

#[test]
fn srv_answers_carry_target_addresses_as_additionals() {
    let a = ask(
        &store(),
        "_http._tcp.web.prod.svc.cluster.local.",
        RecordType::SRV,
    );
    assert_eq!(data(&a), vec!["0 100 80 web.prod.svc.cluster.local."]);
    assert_eq!(a.additionals.len(), 1);
    assert!(matches!(a.additionals[0].data, RData::A(_)));
}

#[test]
fn ptr_of_a_cluster_ip() {
    let a = ask(&store(), "10.0.96.10.in-addr.arpa.", RecordType::PTR);
    assert_eq!(data(&a), vec!["web.prod.svc.cluster.local."]);
}

#[test]
fn cname_answers_other_types_and_is_chased_inside_the_zone() {
    let a = ask(&store(), "ext.prod.svc.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(data(&a), vec!["web.prod.svc.cluster.local.", "10.96.0.10"]);
}

#[test]
fn replacing_and_deleting_a_set_updates_names_and_their_parents() {
    let s = store();
    s.delete("prod/web", 3);
    assert_eq!(
        ask(&s, "web.prod.svc.cluster.local.", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    assert_eq!(
        ask(&s, "_tcp.web.prod.svc.cluster.local.", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    // `ext` still lives in the namespace.
    assert_eq!(
        ask(&s, "prod.svc.cluster.local.", RecordType::A).rcode,
        ResponseCode::NoError
    );
    s.delete("prod/ext", 4);
    assert_eq!(
        ask(&s, "prod.svc.cluster.local.", RecordType::A).rcode,
        ResponseCode::NXDomain
    );
    assert_eq!(
        ask(&s, "svc.cluster.local.", RecordType::A).rcode,
        ResponseCode::NoError
    );
}

#[test]
fn pod_records_answer_the_dashed_address_in_any_namespace() {
    let s = store();
    let a = ask(&s, "10-244-1-7.default.pod.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(data(&a), vec!["10.244.1.7"]);
    assert_eq!(a.answers[0].ttl, 5);
    let v6 = ask(&s, "fd00--7.other.pod.cluster.local.", RecordType::AAAA);
    assert_eq!(data(&v6), vec!["fd00::7"]);
}

#[test]
fn pod_record_of_the_other_family_is_nodata() {
    let a = ask(
        &store(),
        "10-244-1-7.default.pod.cluster.local.",
        RecordType::AAAA,
    );
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.answers.is_empty());
    assert_eq!(a.authority[0].record_type(), RecordType::SOA);
}

#[test]
fn pod_names_that_are_no_address_are_nxdomain_and_namespaces_nodata() {
    let s = store();
    let a = ask(&s, "web.default.pod.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    let a = ask(&s, "x.1-2-3-4.default.pod.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    let a = ask(&s, "default.pod.cluster.local.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.answers.is_empty());
}

#[test]
fn reverse_names_without_records_are_the_forwarders_and_known_ones_are_not() {
    let s = store();
    let known = LowerName::from_str("10.0.96.10.in-addr.arpa.").expect("name");
    let unknown = LowerName::from_str("8.8.8.8.in-addr.arpa.").expect("name");
    let middle = LowerName::from_str("0.96.10.in-addr.arpa.").expect("name");
    assert!(s.has_records(&known) && s.is_reverse_below_apex(&known));
    assert!(!s.has_records(&unknown) && s.is_reverse_below_apex(&unknown));
    assert!(!s.has_records(&middle));
    assert!(!s.is_reverse_below_apex(&LowerName::from_str("in-addr.arpa.").expect("name")));
    assert!(
        !s.is_reverse_below_apex(
            &LowerName::from_str("web.prod.svc.cluster.local.").expect("name")
        )
    );
}
