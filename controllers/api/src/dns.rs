//! `dns.bosun.dev/v1`: DNSRecordSet, the records the Kubernetes DNS-Based Service Discovery
//! specification requires for one Service.
// kube-derive's repeated `printcolumn(type_ = ..)` and `category` look duplicated to clippy.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The API group of bosun's DNS records.
pub const GROUP: &str = "dns.bosun.dev";

/// A DNS name: labels of letters, digits, `-` and `_` (for SRV labels), without a trailing dot.
const DNS_NAME_RE: &str = r"^([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*$";

/// DNSRecordSetSpec holds every DNS record of one Service.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "dns.bosun.dev",
    version = "v1",
    kind = "DNSRecordSet",
    namespaced,
    status = "DNSRecordSetStatus",
    derive = "PartialEq",
    shortname = "bdns",
    category = "bosun",
    category = "all",
    doc = "DNSRecordSet holds the DNS records of one Service, as the Kubernetes DNS-Based Service Discovery specification defines them; the bosun DNS server answers from these.",
    printcolumn(name = "Zone", type_ = "string", json_path = ".spec.zone"),
    printcolumn(
        name = "Records",
        type_ = "integer",
        json_path = ".status.recordCount",
        description = "Number of records in the set"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct DNSRecordSetSpec {
    /// The cluster's DNS zone the records live in, such as `cluster.local`.
    #[schemars(length(max = 253), regex(pattern = DNS_NAME_RE))]
    pub zone: String,

    /// The records, each a fully qualified name (without the trailing dot) and its data.
    #[serde(default)]
    #[schemars(length(max = 10000))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Atomic)]
    pub records: Vec<DNSRecord>,
}

/// One resource record.
#[derive(
    KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[x_kube(validation = kube::core::Rule::new("self.type in ['A', 'AAAA'] == has(self.address)").message("address is required for A and AAAA records and forbidden for others").field_path(".address"))]
#[x_kube(validation = kube::core::Rule::new("!has(self.address) || (self.type == 'A' ? isIP(self.address) && ip(self.address).family() == 4 : isIP(self.address) && ip(self.address).family() == 6)").message("must be an IPv4 address for A records and an IPv6 address for AAAA records").field_path(".address"))]
#[x_kube(validation = kube::core::Rule::new("self.type in ['CNAME', 'PTR', 'SRV'] == has(self.target)").message("target is required for CNAME, PTR and SRV records and forbidden for others").field_path(".target"))]
#[x_kube(validation = kube::core::Rule::new("(self.type == 'SRV') == has(self.port)").message("port is required for SRV records and forbidden for others").field_path(".port"))]
#[x_kube(validation = kube::core::Rule::new("(self.type == 'TXT') == has(self.text)").message("text is required for TXT records and forbidden for others").field_path(".text"))]
#[serde(rename_all = "camelCase")]
pub struct DNSRecord {
    /// The owner name, fully qualified, without the trailing dot
    /// (`web.default.svc.cluster.local`, `_http._tcp.web.default.svc.cluster.local`,
    /// `12.0.96.10.in-addr.arpa`).
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_NAME_RE))]
    pub name: String,

    /// The record type.
    #[serde(rename = "type")]
    pub type_: RecordType,

    /// A and AAAA: the IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 45))]
    pub address: Option<String>,

    /// CNAME, PTR and SRV: the name pointed to, without the trailing dot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = DNS_NAME_RE))]
    pub target: Option<String>,

    /// SRV: the port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,

    /// SRV: the priority (lower first). Defaults to 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub priority: Option<i32>,

    /// SRV: the weight among records of equal priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub weight: Option<i32>,

    /// TXT: the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub text: Option<String>,
}

/// The DNS record types the specification uses.
#[derive(
    schemars::JsonSchema,
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
)]
#[allow(clippy::upper_case_acronyms)]
pub enum RecordType {
    /// An IPv4 address.
    A,
    /// An IPv6 address.
    AAAA,
    /// An alias (ExternalName Services).
    CNAME,
    /// A service location (named ports).
    SRV,
    /// A reverse-lookup pointer.
    PTR,
    /// Text (the `dns-version` record).
    TXT,
}

/// DNSRecordSetStatus is written by the dns controller.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DNSRecordSetStatus {
    /// How many records `spec.records` holds.
    #[serde(default)]
    pub record_count: i32,
    /// The generation of the set the controller last wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
