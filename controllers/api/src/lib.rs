//! bosun's custom resource types.
//!
//! ```text
//! apps.bosun.dev/v1      Deployment ──owns──▶ ReplicaSet ──owns──▶ core Pod
//! discovery.bosun.dev/v1 EndpointSlice  (owned by a core Service)
//! dns.bosun.dev/v1       DNSRecordSet   (owned by a core Service)
//! ```
//!
//! Field names and meanings are upstream's (`apps/v1`, `discovery.k8s.io/v1`), so converting a
//! manifest is a change of `apiVersion`. Upstream's API validation is encoded as schema
//! constraints and CEL rules carrying upstream's messages ([`rules`]); [`crd`] turns the types
//! into installable `CustomResourceDefinition`s.

pub mod apps;
pub mod crd;
pub mod discovery;
pub mod dns;
pub mod rules;

/// Labels and annotations that upstream keeps under `kubernetes.io` live under this prefix.
pub const ANNOTATION_PREFIX: &str = "bosun.dev/";
