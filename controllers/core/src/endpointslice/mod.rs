//! The EndpointSlice controller's plan: upstream's `k8s.io/endpointslice` reconciler
//! (`reconciler.go` `Reconcile`, `reconcileByAddressType`, `reconcileByPortMapping`,
//! `finalize`; `utils.go`) as a pure function.
//!
//! ```text
//! Service ─┐
//! Pods ────┼─ reconcile ─▶ Plan { create, update, delete, skipped }
//! zones ───┤     per address type (spec.ipFamilies)
//! slices ──┘       per port mapping (pods whose targetPorts resolve alike)
//!                    keep / refresh endpoints in place, fill fullest updated slices,
//!                    then the unchanged slice closest to full, then new slices
//! ```
//!
//! The same plan serves bosun's `discovery.bosun.dev/v1` slices and, in mirror mode, core
//! `discovery.k8s.io/v1` slices: both convert to and from [`Slice`].
//!
//! Deliberate differences from upstream: endpoints are taken in a deterministic order (upstream
//! pops from a hash set); a Service that has no selector (or is `ExternalName`) gets its slices
//! deleted, where upstream leaves them behind; `topology-mode: Auto` hints are not written
//! (`trafficDistribution` hints are).

pub mod mirror;
pub mod pods;
mod reconciler;
pub mod tracker;
pub mod trafficdist;
pub mod trigger_time;
pub mod utils;

#[cfg(test)]
mod tests;

use bosun_api::discovery::AddressType;

use crate::printers;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice as CoreEndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use reconciler::reconcile;

/// `kubernetes.io/service-name`.
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
/// `endpointslice.kubernetes.io/managed-by`.
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
/// `service.kubernetes.io/headless`, set on slices of Services without a cluster IP.
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
/// Upstream's default `--max-endpoints-per-slice`.
pub const DEFAULT_MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// An EndpointSlice, bosun's or core's: what the plan reads and writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// The object's metadata (name, labels, owners, resourceVersion of existing slices).
    pub metadata: ObjectMeta,
    /// The address type.
    pub address_type: AddressType,
    /// The endpoints.
    pub endpoints: Vec<Endpoint>,
    /// The ports.
    pub ports: Vec<EndpointPort>,
}

impl Slice {
    /// The slice's name (`""` for one not created yet).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
}

impl From<&bosun_api::discovery::EndpointSlice> for Slice {
    fn from(s: &bosun_api::discovery::EndpointSlice) -> Self {
        Slice {
            metadata: s.metadata.clone(),
            address_type: s.spec.address_type,
            endpoints: s.spec.endpoints.clone(),
            ports: s.spec.ports.clone().unwrap_or_default(),
        }
    }
}

impl From<Slice> for bosun_api::discovery::EndpointSlice {
    fn from(s: Slice) -> Self {
        let mut out = bosun_api::discovery::EndpointSlice::new(
            "",
            bosun_api::discovery::EndpointSliceFields {
                summary: Some(bosun_api::discovery::EndpointSliceSummary {
                    ports: printers::format_discovery_ports(&s.ports),
                    endpoints: printers::format_discovery_endpoints(&s.endpoints),
                }),
                address_type: s.address_type,
                endpoints: s.endpoints,
                ports: Some(s.ports),
            },
        );
        out.metadata = s.metadata;
        out
    }
}

impl From<&CoreEndpointSlice> for Slice {
    /// An address type this plan does not know (none exists today) reads as `FQDN`, which no
    /// Service supports, so such a slice is deleted.
    fn from(s: &CoreEndpointSlice) -> Self {
        let address_type = match s.address_type.as_str() {
            "IPv4" => AddressType::IPv4,
            "IPv6" => AddressType::IPv6,
            _ => AddressType::FQDN,
        };
        Slice {
            metadata: s.metadata.clone(),
            address_type,
            endpoints: s.endpoints.clone(),
            ports: s.ports.clone().unwrap_or_default(),
        }
    }
}

impl From<Slice> for CoreEndpointSlice {
    fn from(s: Slice) -> Self {
        let address_type = match s.address_type {
            AddressType::IPv4 => "IPv4",
            AddressType::IPv6 => "IPv6",
            AddressType::FQDN => "FQDN",
        };
        CoreEndpointSlice {
            metadata: s.metadata,
            address_type: address_type.into(),
            endpoints: s.endpoints,
            ports: Some(s.ports),
        }
    }
}

/// What the plan needs to know about the world for one Service.
pub struct Input<'a> {
    /// The Service.
    pub service: &'a Service,
    /// The pods its selector matches, in its namespace.
    pub pods: Vec<&'a Pod>,
    /// The node lookup: `None` when the node is unknown, `Some(zone)` otherwise (`zone` being
    /// its `topology.kubernetes.io/zone` label, if any).
    pub node_zone: &'a dyn Fn(&str) -> Option<Option<String>>,
    /// The existing slices of the Service managed by this controller, not being deleted.
    pub existing: Vec<Slice>,
}

/// The controller's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--max-endpoints-per-slice`.
    pub max_endpoints_per_slice: usize,
    /// The value of the managed-by label.
    pub managed_by: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_endpoints_per_slice: DEFAULT_MAX_ENDPOINTS_PER_SLICE,
            managed_by: bosun_api::discovery::MANAGED_BY.into(),
        }
    }
}

/// A pod left out because its node is not known (upstream skips it and retries the Service).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedPod {
    /// The pod's name.
    pub pod: String,
    /// The node it names.
    pub node: String,
}

/// The writes one reconcile asks for, in upstream's order: creates, updates, deletes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Slices to create (`generateName` set, no name).
    pub create: Vec<Slice>,
    /// Slices to replace, carrying the resourceVersion they were read at.
    pub update: Vec<Slice>,
    /// Slices to delete.
    pub delete: Vec<Slice>,
    /// Pods skipped because their node is unknown: the Service should be retried.
    pub skipped: Vec<SkippedPod>,
}

impl Plan {
    /// Whether the plan writes nothing.
    pub fn is_noop(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// One sync's plan: [`reconcile`] when the Service selects pods (`selects`); otherwise every
/// slice of the Service is deleted (upstream leaves them; bosun cleans up, see the module doc).
pub fn plan(input: &Input<'_>, config: &Config, selects: bool) -> Plan {
    if selects {
        return reconcile(input, config);
    }
    Plan {
        delete: input.existing.clone(),
        ..Plan::default()
    }
}
