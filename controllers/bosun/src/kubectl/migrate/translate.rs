//! The objects a migration creates, translated from the ones it reads: annotations renamed
//! between the two APIs, what the server and the source's controllers own left behind; and
//! the reasons a Deployment may not move now.

use serde_json::{Map, Value, json};

use super::{ANNOTATIONS, Flavor, LAST_APPLIED};

/// The annotations of an object moving to `to`: the Deployment controller's keys renamed into
/// `to`'s (a key already in `to`'s form is overwritten by the translated one), the
/// last-applied configuration dropped, everything else as it is.
pub fn translate_annotations(a: &Map<String, Value>, to: Flavor) -> Map<String, Value> {
    let rename = |k: &str| -> Option<&'static str> {
        ANNOTATIONS.iter().find_map(|(apps, bosun)| match to {
            Flavor::Bosun if k == *apps => Some(*bosun),
            Flavor::Apps if k == *bosun => Some(*apps),
            _ => None,
        })
    };
    let mut out = Map::new();
    // Keys that are not renamed first, so a renamed one wins over a stale copy of it.
    for (k, v) in a {
        if k != LAST_APPLIED && rename(k).is_none() {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in a {
        if let Some(new) = rename(k) {
            out.insert(new.to_string(), v.clone());
        }
    }
    out
}

/// The metadata a target object starts from: name, namespace, labels and translated
/// annotations. Everything the API server or the source's controllers own (uid,
/// resourceVersion, generation, creationTimestamp, managedFields, finalizers, status) is left
/// behind.
pub(super) fn target_metadata(src: &Value, to: Flavor) -> Map<String, Value> {
    let mut m = Map::new();
    for key in ["name", "namespace", "labels"] {
        if let Some(v) = src.pointer(&format!("/metadata/{key}")) {
            m.insert(key.into(), v.clone());
        }
    }
    if let Some(a) = src
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let a = translate_annotations(a, to);
        if !a.is_empty() {
            m.insert("annotations".into(), Value::Object(a));
        }
    }
    m
}

/// The owner references of `src` without its controller's: `(others, controller uid)`.
pub(super) fn split_owners(src: &Value) -> (Vec<Value>, Option<String>) {
    let mut others = Vec::new();
    let mut controller = None;
    for r in src
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            controller = r.get("uid").and_then(Value::as_str).map(str::to_string);
        } else {
            others.push(r.clone());
        }
    }
    (others, controller)
}

/// The spec fields of a bosun Deployment that apps/v1 has no counterpart for: the way back
/// refuses while one is set, rather than drop what it does.
const BOSUN_ONLY: [&str; 5] = [
    "spec.podReplacementPolicy",
    "spec.progressDeadlineAbort",
    "spec.scaleStrategy",
    "spec.strategy.rollingUpdate.partition",
    "status.abortedTemplateHash",
];

/// The target Deployment for source Deployment `src`: its spec as it is (bosun's
/// `podReplacementPolicy` has no apps/v1 counterpart, [`refusal`] stops that case), created
/// paused, with the source's other (non-controller) owner references.
pub fn target_deployment(src: &Value, to: Flavor) -> Value {
    let mut meta = target_metadata(src, to);
    let (owners, _) = split_owners(src);
    if !owners.is_empty() {
        meta.insert("ownerReferences".into(), Value::Array(owners));
    }
    let mut spec = src.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(s) = spec.as_object_mut() {
        if to == Flavor::Apps {
            s.remove("podReplacementPolicy");
        }
        s.insert("paused".into(), Value::Bool(true));
    }
    json!({
        "apiVersion": to.api_version(),
        "kind": "Deployment",
        "metadata": meta,
        "spec": spec,
    })
}

/// The target ReplicaSet for source ReplicaSet `src`, controlled by the target Deployment
/// `owner` (its uid is filled in by [`set_owner_uid`] once it exists): the same name, labels,
/// selector, template, size and `minReadySeconds`, so the same Pods match and its `pod-template-hash`
/// is the source's.
pub fn target_replicaset(src: &Value, to: Flavor, owner: &str) -> Value {
    let mut meta = target_metadata(src, to);
    let (mut owners, _) = split_owners(src);
    owners.insert(
        0,
        json!({
            "apiVersion": to.api_version(), "kind": "Deployment", "name": owner,
            "controller": true, "blockOwnerDeletion": true,
        }),
    );
    meta.insert("ownerReferences".into(), Value::Array(owners));
    if to == Flavor::Bosun {
        // Adopt only until the migration has seen every Pod adopted (act.rs lifts it): the
        // Pods the source let go may still show their old owner in bosun's cache.
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(
                bosun_api::apps::ADOPT_ONLY_ANNOTATION.into(),
                Value::String("true".into()),
            );
        }
    }
    let mut spec = Map::new();
    for key in ["replicas", "minReadySeconds", "selector", "template"] {
        if let Some(v) = src.pointer(&format!("/spec/{key}")) {
            spec.insert(key.into(), v.clone());
        }
    }
    json!({
        "apiVersion": to.api_version(),
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": spec,
    })
}

/// Put the target Deployment's uid into a target ReplicaSet's controller reference.
pub fn set_owner_uid(rs: &mut Value, uid: &str) {
    if let Some(r) = rs.pointer_mut("/metadata/ownerReferences/0") {
        r["uid"] = Value::String(uid.into());
    }
}

pub(super) fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

pub(super) fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Why `src` (a Deployment in `from`) may not be migrated now, if it may not: being deleted,
/// controlled by something else, a field the target lacks, or (unless `force`) a rollout
/// that is not complete (upstream's `DeploymentComplete`, the spec observed).
pub fn refusal(src: &Value, from: Flavor, force: bool) -> Option<String> {
    let name = str_at(src, "/metadata/name").unwrap_or_default();
    let kg = from.kind_group("Deployment");
    if src.pointer("/metadata/deletionTimestamp").is_some() {
        return Some(format!("{kg}/{name} is being deleted"));
    }
    if let Some(r) = src
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
    {
        return Some(format!(
            "{kg}/{name} is controlled by {} {:?}; migrate that instead",
            r.get("kind").and_then(Value::as_str).unwrap_or_default(),
            r.get("name").and_then(Value::as_str).unwrap_or_default()
        ));
    }
    if from == Flavor::Bosun
        && let Some(field) = BOSUN_ONLY
            .iter()
            .find(|f| src.pointer(&format!("/{}", f.replace('.', "/"))).is_some())
    {
        return Some(format!(
            "{kg}/{name} sets {field}, which apps/v1 Deployments do not have; remove it first"
        ));
    }
    if force {
        return None;
    }
    let replicas = int_at(src, "/spec/replicas").unwrap_or(1);
    let count = |field: &str| int_at(src, &format!("/status/{field}")).unwrap_or(0);
    let observed = int_at(src, "/status/observedGeneration").unwrap_or(0);
    let generation = int_at(src, "/metadata/generation").unwrap_or(0);
    let (updated, total, available) = (
        count("updatedReplicas"),
        count("replicas"),
        count("availableReplicas"),
    );
    if observed < generation {
        return Some(format!(
            "{kg}/{name}: its controller has not observed its spec yet (generation {generation}, observed {observed}); wait, or pass --force"
        ));
    }
    if updated != replicas || total != replicas || available != replicas {
        return Some(format!(
            "{kg}/{name} is in the middle of a rollout ({updated} of {replicas} updated, {total} in total, {available} available); wait for it (kubectl rollout status), or pass --force"
        ));
    }
    None
}
