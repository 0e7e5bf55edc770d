//! bosun's planning logic: upstream's controller rules as pure functions.
//!
//! Nothing here talks to the API server, reads the clock or draws random numbers: the observed
//! objects and the time come in as arguments, the decisions go out as plain data. The binary's
//! `act` side reads caches, calls these functions and applies their results.
//!
//! ```text
//! pod, selector      helpers of upstream's controller_utils.go and pkg/api/v1/pod
//! expectations       ControllerExpectations / UIDTrackingControllerExpectations
//! claim              ControllerRefManager.ClaimObject
//! replicaset         syncReplicaSet's decisions: manageReplicas, the deletion ranking, status
//! deployment         syncDeployment: rolling, recreate, rollover, scaling, rollback, progress
//! endpointslice      the EndpointSlice reconciler: Service + Pods -> slices
//! dns                the DNS specification: Service + slices -> records
//! printers           the cells kubectl prints for the built-in twins of bosun's kinds
//! ```

pub mod claim;
pub mod deployment;
pub mod dns;
pub mod endpointslice;
pub mod expectations;
pub mod pod;
pub mod pod_cache;
pub mod printers;
pub mod replicaset;
pub mod selector;
pub mod wake;

pub use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// `namespace/name`, the key of a namespaced object in caches and queues.
pub type ObjectKey = String;

/// The `namespace/name` key of an object's metadata.
pub fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> ObjectKey {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}
