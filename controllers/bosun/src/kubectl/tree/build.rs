//! The [`Tree`] of a Deployment from the objects read: its ReplicaSets' roles and health, their
//! Pods' cells.

use std::collections::BTreeMap;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::util::{deployment_complete, equal_ignore_hash, revision};
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::health::{deployment_health, replicaset_health};
use super::pod::pod_cells;
use super::{Condition, PodNode, ReplicaSetNode, Replicas, Role, Strategy, Tree};

/// Upstream's `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the
/// Deployment's (ties by name).
fn find_new<'a>(d: &Deployment, rss: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let mut by_age: Vec<&ReplicaSet> = rss.to_vec();
    by_age.sort_by(|a, b| {
        created(*a)
            .cmp(&created(*b))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    by_age
        .into_iter()
        .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
}

fn created<K: kube::Resource>(o: &K) -> Option<Timestamp> {
    o.meta().creation_timestamp.as_ref().map(|t| t.0)
}

/// The role of each ReplicaSet, by uid: see [`Role`].
///
/// | rollout | new ReplicaSet | old, highest revision with replicas | other old |
/// |---|---|---|---|
/// | complete | stable | old | old |
/// | not complete | new | stable | old |
/// | no new one yet | — | stable | old |
fn roles(d: &Deployment, rss: &[&ReplicaSet]) -> BTreeMap<String, Role> {
    let uid = |rs: &ReplicaSet| rs.metadata.uid.clone().unwrap_or_else(|| rs.name_any());
    let new = find_new(d, rss);
    let status = d.status.clone().unwrap_or_default();
    let complete = new.is_some() && deployment_complete(d, &status);
    let new_uid = new.map(uid);
    let mut out: BTreeMap<String, Role> = rss.iter().map(|rs| (uid(rs), Role::Old)).collect();
    if let Some(n) = &new_uid {
        out.insert(n.clone(), if complete { Role::Stable } else { Role::New });
    }
    if !complete {
        let running = |rs: &&&ReplicaSet| {
            rs.spec.replicas.unwrap_or(1) > 0 || rs.status.as_ref().is_some_and(|s| s.replicas > 0)
        };
        let stable = rss
            .iter()
            .filter(|rs| Some(uid(rs)) != new_uid)
            .filter(running)
            .max_by_key(|rs| (revision(rs).unwrap_or(-1), created(**rs)));
        if let Some(rs) = stable {
            out.insert(uid(rs), Role::Stable);
        }
    }
    out
}

/// Build the tree of `d` from the ReplicaSets and Pods read: those it controls (by owner uid)
/// are kept, the rest ignored.
pub fn build(d: &Deployment, rss: &[ReplicaSet], pods: &[Pod]) -> Tree {
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let owned: Vec<&ReplicaSet> = rss
        .iter()
        .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let roles = roles(d, &owned);
    let mut replica_sets: Vec<ReplicaSetNode> = owned
        .iter()
        .map(|rs| replicaset_node(rs, &roles, pods))
        .collect();
    replica_sets.sort_by(|a, b| {
        b.revision
            .unwrap_or(-1)
            .cmp(&a.revision.unwrap_or(-1))
            .then_with(|| a.name.cmp(&b.name))
    });
    let s = d.status.clone().unwrap_or_default();
    let (health, message) = deployment_health(d);
    Tree {
        name: d.name_any(),
        namespace: d.namespace().unwrap_or_default(),
        created: created(d),
        health,
        message,
        paused: d.spec.paused.unwrap_or(false),
        strategy: strategy(d),
        replicas: Replicas {
            desired: d.spec.replicas.unwrap_or(1),
            current: s.replicas,
            updated: s.updated_replicas,
            ready: s.ready_replicas,
            available: s.available_replicas,
        },
        conditions: s
            .conditions
            .unwrap_or_default()
            .into_iter()
            .map(|c| Condition {
                type_: c.type_,
                status: c.status,
                reason: c.reason.unwrap_or_default(),
                message: c.message.unwrap_or_default(),
            })
            .collect(),
        replica_sets,
    }
}

/// The node of `rs`, with its role from `roles` (by uid) and the Pods it controls by name.
fn replicaset_node(
    rs: &ReplicaSet,
    roles: &BTreeMap<String, Role>,
    pods: &[Pod],
) -> ReplicaSetNode {
    let rs_uid = rs.metadata.uid.clone().unwrap_or_else(|| rs.name_any());
    let mut rs_pods: Vec<PodNode> = pods
        .iter()
        .filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == rs_uid))
        .map(|p| {
            let (status, ready, containers, restarts) = pod_cells(p);
            PodNode {
                name: p.name_any(),
                status,
                ready,
                containers,
                restarts,
                created: created(p),
            }
        })
        .collect();
    rs_pods.sort_by(|a, b| a.name.cmp(&b.name));
    let s = rs.status.clone().unwrap_or_default();
    ReplicaSetNode {
        name: rs.name_any(),
        revision: revision(rs),
        role: roles.get(&rs_uid).copied().unwrap_or(Role::Old),
        health: replicaset_health(rs),
        desired: rs.spec.replicas.unwrap_or(1),
        current: s.replicas,
        ready: s.ready_replicas,
        available: s.available_replicas,
        images: rs
            .spec
            .template
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .map(|c| c.image.clone().unwrap_or_default())
            .collect(),
        created: created(rs),
        pods: rs_pods,
    }
}

/// The strategy of `d`; an absent bound is 25% (the CRD's documented default; apps/v1 writes
/// it in).
fn strategy(d: &Deployment) -> Strategy {
    let strategy = d.spec.strategy.clone().unwrap_or_default();
    let recreate = strategy
        .type_
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .is_some_and(|v| v == "Recreate");
    if recreate {
        return Strategy::Recreate;
    }
    let ru = strategy.rolling_update.unwrap_or_default();
    let quarter = || IntOrString::String("25%".into());
    Strategy::RollingUpdate {
        max_surge: ru.max_surge.unwrap_or_else(quarter),
        max_unavailable: ru.max_unavailable.unwrap_or_else(quarter),
    }
}
