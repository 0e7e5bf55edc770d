//! `discovery.bosun.dev/v1`: EndpointSlice, mirroring `discovery.k8s.io/v1`.
//!
//! The object has no `spec`: like upstream's, its `addressType`, `endpoints` and `ports` sit at
//! the top level, so a core EndpointSlice manifest converts by changing `apiVersion`.
// kube-derive's repeated `printcolumn(type_ = ..)` and `category` look duplicated to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The API group of bosun's EndpointSlices.
pub const GROUP: &str = "discovery.bosun.dev";
/// The value of `endpointslice.kubernetes.io/managed-by` on slices bosun writes.
pub const MANAGED_BY: &str = "endpointslice.bosun.dev";
/// Upstream's maximum number of endpoints in one slice.
pub const MAX_ENDPOINTS: usize = 1000;

/// EndpointSlice represents a set of service endpoints, as discovery.k8s.io/v1 EndpointSlice.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "discovery.bosun.dev",
    version = "v1",
    kind = "EndpointSlice",
    namespaced,
    no_spec,
    derive = "PartialEq",
    shortname = "beps",
    category = "bosun",
    category = "all",
    doc = "EndpointSlice represents a set of service endpoints, as discovery.k8s.io/v1 EndpointSlice, written by bosun.",
    printcolumn(name = "AddressType", type_ = "string", json_path = ".addressType"),
    printcolumn(name = "Ports", type_ = "string", json_path = ".summary.ports"),
    printcolumn(name = "Endpoints", type_ = "string", json_path = ".summary.endpoints"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSliceFields {
    /// addressType specifies the type of address carried by this EndpointSlice. All addresses in
    /// this slice must be the same type. This field is immutable after creation. The following
    /// address types are currently supported: IPv4, IPv6, FQDN.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("field is immutable"))]
    pub address_type: AddressType,

    /// endpoints is a list of unique endpoints in this slice. Each slice may include a maximum
    /// of 1000 endpoints.
    #[serde(default)]
    #[schemars(length(max = 1000))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Atomic)]
    pub endpoints: Vec<Endpoint>,

    /// ports specifies the list of network ports exposed by each endpoint in this slice. Each
    /// port must have a unique name. Each slice may include a maximum of 100 ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Atomic)]
    pub ports: Option<Vec<EndpointPort>>,

    /// The PORTS and ENDPOINTS cells `kubectl get endpointslices` prints for this slice. Written
    /// by the controller for display only. Not in discovery.k8s.io/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<EndpointSliceSummary>,
}

/// What `kubectl get` prints for an EndpointSlice, as upstream's printer formats it: the first
/// three ports or addresses, then `+ N more...`, or `<unset>`.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EndpointSliceSummary {
    /// The ports: each one's number, else its name, else `*`.
    pub ports: String,
    /// The addresses of the endpoints.
    pub endpoints: String,
}

/// The type of address an EndpointSlice carries.
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
pub enum AddressType {
    /// An IPv4 address.
    IPv4,
    /// An IPv6 address.
    IPv6,
    /// A fully qualified domain name.
    FQDN,
}
