//! Upstream's `trafficdist/trafficdist.go` (`ReconcileHints`) and `topologycache`'s
//! `RemoveHintsFromSlices`: the zone (and node) hints of endpoints.
//!
//! | Service                                                  | ready endpoints get                       |
//! |----------------------------------------------------------|-------------------------------------------|
//! | `trafficDistribution: PreferClose` or `PreferSameZone`   | `forZones: [own zone]`                    |
//! | `trafficDistribution: PreferSameNode`                    | `forZones: [own zone]`, `forNodes: [own node]` |
//! | anything else                                            | no hints                                  |
//!
//! Endpoints that are not ready keep whatever hints they had (upstream skips them). Slices
//! that the packing left unchanged are updated only when their hints disagree.
//!
//! Not done: `service.kubernetes.io/topology-mode: Auto` (upstream's topology cache, which
//! allocates endpoints to zones by node CPU); such a Service gets no hints from bosun.

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointHints, ForNode, ForZone};

use super::Slice;

/// `service.kubernetes.io/topology-mode`.
pub const ANNOTATION_TOPOLOGY_MODE: &str = "service.kubernetes.io/topology-mode";
/// `service.kubernetes.io/topology-aware-hints` (deprecated; takes precedence).
pub const ANNOTATION_TOPOLOGY_AWARE_HINTS: &str = "service.kubernetes.io/topology-aware-hints";

/// Which hints a Service's endpoints carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heuristic {
    /// No hints (`defaultHeuristic`).
    None,
    /// Zone hints, and node hints when `nodes` (`preferCloseHeuristic`).
    PreferClose {
        /// `PreferSameNode`: hint the node too.
        nodes: bool,
    },
}

/// `hintsEnabled`: the topology annotation asks for `Auto`.
pub fn hints_annotation_auto(svc: &Service) -> bool {
    let a = svc.metadata.annotations.as_ref();
    let v = a
        .and_then(|a| a.get(ANNOTATION_TOPOLOGY_AWARE_HINTS))
        .or_else(|| a.and_then(|a| a.get(ANNOTATION_TOPOLOGY_MODE)));
    matches!(v.map(String::as_str), Some("Auto" | "auto"))
}

/// The heuristic of a Service: `trafficDistribution` counts unless the topology annotation
/// asks for `Auto` (`canUseTrafficDistribution`).
pub fn heuristic(svc: &Service) -> Heuristic {
    if hints_annotation_auto(svc) {
        return Heuristic::None;
    }
    match svc
        .spec
        .as_ref()
        .and_then(|s| s.traffic_distribution.as_deref())
    {
        Some("PreferClose" | "PreferSameZone") => Heuristic::PreferClose { nodes: false },
        Some("PreferSameNode") => Heuristic::PreferClose { nodes: true },
        _ => Heuristic::None,
    }
}

fn ready(e: &Endpoint) -> bool {
    e.conditions.as_ref().and_then(|c| c.ready) == Some(true)
}

fn zones(e: &Endpoint) -> Vec<&str> {
    e.hints
        .iter()
        .flat_map(|h| h.for_zones.iter().flatten())
        .map(|z| z.name.as_str())
        .collect()
}

fn nodes(e: &Endpoint) -> Vec<&str> {
    e.hints
        .iter()
        .flat_map(|h| h.for_nodes.iter().flatten())
        .map(|n| n.name.as_str())
        .collect()
}

/// `needsUpdate`: some endpoint's hints disagree with the heuristic.
pub fn needs_update(h: Heuristic, slice: &Slice) -> bool {
    match h {
        Heuristic::None => slice.endpoints.iter().any(|e| e.hints.is_some()),
        Heuristic::PreferClose { nodes: node_hints } => {
            slice.endpoints.iter().filter(|e| ready(e)).any(|e| {
                let zone_wrong = match &e.zone {
                    Some(z) => e.hints.is_none() || zones(e) != vec![z.as_str()],
                    None => !zones(e).is_empty(),
                };
                let node_wrong = match (&e.node_name, node_hints) {
                    (Some(n), true) => e.hints.is_none() || nodes(e) != vec![n.as_str()],
                    _ => !nodes(e).is_empty(),
                };
                zone_wrong || node_wrong
            })
        }
    }
}

/// `update`: set the hints the heuristic wants.
pub fn update(h: Heuristic, slice: &mut Slice) {
    for e in &mut slice.endpoints {
        match h {
            Heuristic::None => e.hints = None,
            Heuristic::PreferClose { nodes: node_hints } => {
                if !ready(e) {
                    continue;
                }
                let for_zones = e.zone.as_ref().map(|z| vec![ForZone { name: z.clone() }]);
                let for_nodes = e
                    .node_name
                    .as_ref()
                    .filter(|_| node_hints)
                    .map(|n| vec![ForNode { name: n.clone() }]);
                e.hints = (for_zones.is_some() || for_nodes.is_some()).then_some(EndpointHints {
                    for_zones,
                    for_nodes,
                });
            }
        }
    }
}
