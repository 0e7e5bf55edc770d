//! Upstream's `reconciler.go`: `Reconcile`, `reconcileByAddressType`, `reconcileByPortMapping`
//! and the pairing half of `finalize`.

use std::collections::BTreeMap;

use bosun_api::discovery::AddressType;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort};

use super::utils::{
    EndpointKey, PortKey, address_types_for_service, endpoint_key, endpoint_ports,
    endpoints_equal_beyond_hash, new_slice, owned_by, placeholder_equal, pod_to_endpoint, port_key,
    should_pod_be_in_endpoints, slice_labels, slice_to_fill,
};
use super::{Config, Input, Plan, SkippedPod, Slice, trafficdist};

/// `Reconcile`: slices of address types the Service no longer has are deleted; each supported
/// address type is reconciled on its own ([`reconcile_by_address_type`]).
pub fn reconcile(input: &Input<'_>, config: &Config) -> Plan {
    let svc = input.service;
    let supported = address_types_for_service(svc);
    let mut by_type: BTreeMap<AddressType, Vec<Slice>> = BTreeMap::new();
    let mut unsupported = Vec::new();
    for s in &input.existing {
        if supported.contains(&s.address_type) {
            by_type.entry(s.address_type).or_default().push(s.clone());
        } else {
            unsupported.push(s.clone());
        }
    }
    let mut plan = Plan::default();
    for at in supported {
        let existing = by_type.remove(&at).unwrap_or_default();
        let sub = reconcile_by_address_type(input, config, existing, at);
        plan.create.extend(sub.create);
        plan.update.extend(sub.update);
        plan.delete.extend(sub.delete);
        for s in sub.skipped {
            if !plan.skipped.contains(&s) {
                plan.skipped.push(s);
            }
        }
    }
    plan.delete.extend(unsupported);
    plan
}

/// `reconcileByAddressType`: group existing slices and desired endpoints by port mapping,
/// reconcile each mapping, delete slices of mappings no longer desired (and slices not owned by
/// this Service), keep one placeholder slice when nothing else would remain, then pair creates
/// with deletes (`finalize`).
fn reconcile_by_address_type(
    input: &Input<'_>,
    config: &Config,
    existing: Vec<Slice>,
    at: AddressType,
) -> Plan {
    let svc = input.service;
    let existing_count = existing.len();
    let all_existing = existing.clone();
    let mut plan = Plan::default();
    let mut existing_by_port: BTreeMap<PortKey, Vec<Slice>> = BTreeMap::new();
    for s in existing {
        if owned_by(&s, svc) {
            existing_by_port
                .entry(port_key(&s.ports))
                .or_default()
                .push(s);
        } else {
            plan.delete.push(s);
        }
    }

    let (desired_meta, mut desired_eps, skipped) = desired_endpoints(input, at);
    plan.skipped = skipped;

    for (key, desired) in desired_eps.iter_mut() {
        let ports = desired_meta.get(key).cloned().unwrap_or_default();
        let existing = existing_by_port.remove(key).unwrap_or_default();
        let (create, update, delete) =
            reconcile_by_port_mapping(svc, config, existing, desired, ports, at);
        plan.create.extend(create);
        plan.update.extend(update);
        plan.delete.extend(delete);
    }
    // Mappings no Pod resolves to any more.
    plan.delete.extend(existing_by_port.into_values().flatten());

    if existing_count == plan.delete.len() && plan.create.is_empty() {
        let placeholder = new_slice(svc, Vec::new(), at, &config.managed_by);
        if plan.delete.len() == 1 && placeholder_equal(&plan.delete[0], &placeholder) {
            plan.delete.clear();
        } else {
            plan.create.push(placeholder);
        }
    }

    reconcile_hints(svc, &mut plan, all_existing);
    finalize(svc, &mut plan);
    plan
}

/// `ReconcileHints` / `RemoveHintsFromSlices`: slices being written get the hints of the
/// Service's heuristic; unchanged ones are written only when their hints disagree.
fn reconcile_hints(svc: &Service, plan: &mut Plan, existing: Vec<Slice>) {
    let h = trafficdist::heuristic(svc);
    let written: Vec<String> = plan
        .update
        .iter()
        .chain(&plan.delete)
        .map(|s| s.name().to_string())
        .collect();
    for s in existing {
        if !written.iter().any(|n| n == s.name()) && trafficdist::needs_update(h, &s) {
            plan.update.push(s);
        }
    }
    for s in plan.create.iter_mut().chain(plan.update.iter_mut()) {
        trafficdist::update(h, s);
    }
}

/// The desired endpoints of one address type, by port mapping: `(ports by mapping, endpoints
/// by mapping and identity, pods skipped for an unknown node)`.
#[allow(clippy::type_complexity)]
fn desired_endpoints(
    input: &Input<'_>,
    at: AddressType,
) -> (
    BTreeMap<PortKey, Vec<EndpointPort>>,
    BTreeMap<PortKey, BTreeMap<EndpointKey, Endpoint>>,
    Vec<SkippedPod>,
) {
    let svc = input.service;
    let publish = svc
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    let mut meta = BTreeMap::new();
    let mut eps: BTreeMap<PortKey, BTreeMap<EndpointKey, Endpoint>> = BTreeMap::new();
    let mut skipped = Vec::new();
    for pod in &input.pods {
        if !should_pod_be_in_endpoints(pod) {
            continue;
        }
        let ports = endpoint_ports(svc, pod);
        let key = port_key(&ports);
        let set = eps.entry(key.clone()).or_default();
        meta.entry(key).or_insert(ports);
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let zone = match (input.node_zone)(&node) {
            Some(zone) => zone,
            None if publish => None,
            None => {
                skipped.push(SkippedPod {
                    pod: pod.metadata.name.clone().unwrap_or_default(),
                    node,
                });
                continue;
            }
        };
        let ep = pod_to_endpoint(pod, zone.as_deref(), svc, at);
        if !ep.addresses.is_empty() {
            set.insert(endpoint_key(&ep), ep);
        }
    }
    (meta, eps, skipped)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Unchanged,
    Update,
    Delete,
}

/// `reconcileByPortMapping` (see the module table of `mod.rs`):
///
/// 1. each existing slice keeps the endpoints still desired, refreshed; it is deleted when none
///    remain, updated when one changed or went away (or only the Service's labels changed),
///    and left alone otherwise;
/// 2. the slices being updated anyway, fullest first, take new endpoints up to the maximum;
/// 3. the rest: while fewer than the maximum remain, into the unchanged slice that all of them
///    fill closest to full; otherwise (or with no such slice) into new slices of the maximum.
///
/// Returns `(create, update, delete)`.
fn reconcile_by_port_mapping(
    svc: &Service,
    config: &Config,
    existing: Vec<Slice>,
    desired: &mut BTreeMap<EndpointKey, Endpoint>,
    ports: Vec<EndpointPort>,
    at: AddressType,
) -> (Vec<Slice>, Vec<Slice>, Vec<Slice>) {
    let max = config.max_endpoints_per_slice.max(1);
    let mut slices = existing;
    let mut fates = vec![Fate::Unchanged; slices.len()];

    for (slice, fate) in slices.iter_mut().zip(fates.iter_mut()) {
        let mut kept = Vec::new();
        let mut endpoint_updated = false;
        for ep in &slice.endpoints {
            if let Some(got) = desired.remove(&endpoint_key(ep)) {
                if !endpoints_equal_beyond_hash(&got, ep) {
                    endpoint_updated = true;
                }
                kept.push(got);
            }
        }
        let (labels, labels_changed) =
            slice_labels(slice.metadata.labels.as_ref(), svc, &config.managed_by);
        if endpoint_updated || slice.endpoints.len() != kept.len() {
            if kept.is_empty() {
                *fate = Fate::Delete;
            } else {
                slice.endpoints = kept;
                slice.metadata.labels = Some(labels);
                *fate = Fate::Update;
            }
        } else if labels_changed {
            slice.metadata.labels = Some(labels);
            *fate = Fate::Update;
        }
    }

    // 2. Fill the slices being written anyway, fullest first.
    if !desired.is_empty() {
        let mut updating: Vec<usize> = (0..slices.len())
            .filter(|i| fates[*i] == Fate::Update)
            .collect();
        updating.sort_by_key(|i| std::cmp::Reverse(slices[*i].endpoints.len()));
        for i in updating {
            fill(&mut slices[i], desired, max);
        }
    }

    // 3. The rest.
    let mut create = Vec::new();
    while !desired.is_empty() {
        let mut target = None;
        if desired.len() < max {
            let unchanged: Vec<usize> = (0..slices.len())
                .filter(|i| fates[*i] == Fate::Unchanged)
                .collect();
            let candidates: Vec<&Slice> = unchanged.iter().map(|i| &slices[*i]).collect();
            target = slice_to_fill(&candidates, desired.len(), max).map(|j| unchanged[j]);
        }
        match target {
            Some(i) => {
                fill(&mut slices[i], desired, max);
                fates[i] = Fate::Update;
            }
            None => {
                let mut s = new_slice(svc, ports.clone(), at, &config.managed_by);
                fill(&mut s, desired, max);
                create.push(s);
            }
        }
    }

    let mut update = Vec::new();
    let mut delete = Vec::new();
    for (s, fate) in slices.into_iter().zip(fates) {
        match fate {
            Fate::Update => update.push(s),
            Fate::Delete => delete.push(s),
            Fate::Unchanged => {}
        }
    }
    (create, update, delete)
}

/// Move desired endpoints into `slice` until it holds `max`.
fn fill(slice: &mut Slice, desired: &mut BTreeMap<EndpointKey, Endpoint>, max: usize) {
    while slice.endpoints.len() < max {
        let Some((_, ep)) = desired.pop_first() else {
            return;
        };
        slice.endpoints.push(ep);
    }
}

/// The planning half of `finalize`: a pending create (from the end of the list) and a pending
/// delete of the same address type owned by the Service become one update that reuses the
/// deleted slice's name; a Service being deleted gets no creates.
fn finalize(svc: &Service, plan: &mut Plan) {
    let mut i = 0;
    while i < plan.delete.len() {
        let Some(last) = plan.create.last() else {
            break;
        };
        let old = &plan.delete[i];
        if old.address_type == last.address_type && owned_by(old, svc) {
            let old = plan.delete.remove(i);
            if let Some(mut s) = plan.create.pop() {
                s.metadata.name = old.metadata.name;
                s.metadata.resource_version = old.metadata.resource_version;
                s.metadata.uid = old.metadata.uid;
                s.metadata.generate_name = old.metadata.generate_name;
                plan.update.push(s);
            }
        } else {
            i += 1;
        }
    }
    if svc.metadata.deletion_timestamp.is_some() {
        plan.create.clear();
    }
}
