//! Upstream's `util/deployment_util.go` helpers: fenceposts, revisions, annotations, template
//! identity and the rollout predicates.

use std::collections::BTreeMap;

use bosun_api::apps::{Deployment, DeploymentStatus, DeploymentStrategyType, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::{SignedDuration, Timestamp};

/// The revision of a ReplicaSet and of its Deployment (upstream `deployment.kubernetes.io/revision`).
pub const REVISION: &str = "bosun.dev/revision";
/// Earlier revisions a ReplicaSet had, comma-separated.
pub const REVISION_HISTORY: &str = "bosun.dev/revision-history";
/// The Deployment's `spec.replicas` when the ReplicaSet was last scaled.
pub const DESIRED_REPLICAS: &str = "bosun.dev/desired-replicas";
/// `spec.replicas + maxSurge` when the ReplicaSet was last scaled.
pub const MAX_REPLICAS: &str = "bosun.dev/max-replicas";
/// Requests a rollback to a revision (upstream `deprecated.deployment.rollback.to`).
pub const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
/// The label that tells the pods of one template from another's.
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// `maxRevHistoryLengthInChars`.
pub const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Deployment annotations never copied to its ReplicaSets (`annotationsToSkip`).
pub const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    ROLLBACK_TO,
];

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percent of `total` rounded up or
/// down. An unparsable value counts as 0 (the CRD's rules refuse those).
pub fn scaled_value(v: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match v {
        None => 0,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let Some(p) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else {
                return 0;
            };
            let v = p as f64 * f64::from(total) / 100.0;
            (if round_up { v.ceil() } else { v.floor() }) as i32
        }
    }
}

/// `ResolveFenceposts`: (surge, unavailable) for `desired` replicas; surge rounds up,
/// unavailable down, and both zero becomes unavailable 1 so no rollout deadlocks.
///
/// | maxSurge / maxUnavailable | desired | surge, unavailable |
/// |---|---|---|
/// | 25% / 25% | 1 | 1, 0 |
/// | 25% / 25% | 4 | 1, 1 |
/// | 25% / 25% | 10 | 3, 2 |
/// | 1% / 1% | 10 | 1, 0 |
/// | 0 / 0% | 10 | 0, 1 |
pub fn resolve_fenceposts(
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    desired: i32,
) -> (i32, i32) {
    let s = scaled_value(surge, desired, true);
    let u = scaled_value(unavailable, desired, false);
    if s == 0 && u == 0 { (0, 1) } else { (s, u) }
}

fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_)
        .unwrap_or(DeploymentStrategyType::RollingUpdate)
        == DeploymentStrategyType::RollingUpdate
}

/// The rolling-update bounds, 25%/25% when `rollingUpdate` is absent (upstream's default).
fn bounds(d: &Deployment) -> (Option<IntOrString>, Option<IntOrString>) {
    let pct = bosun_api::apps::default_percent;
    match d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
    {
        Some(ru) => (ru.max_surge.clone(), ru.max_unavailable.clone()),
        None => (pct(), pct()),
    }
}

/// `spec.replicas` with upstream's default.
pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

/// `MaxSurge(d)`: 0 unless RollingUpdate.
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    let (s, u) = bounds(d);
    resolve_fenceposts(s.as_ref(), u.as_ref(), replicas(d)).0
}

/// `MaxUnavailable(d)`: at most `replicas`; 0 unless RollingUpdate or when `replicas` is 0.
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    let (s, u) = bounds(d);
    resolve_fenceposts(s.as_ref(), u.as_ref(), replicas(d))
        .1
        .min(replicas(d))
}

/// `spec.strategy.rollingUpdate.partition` in Pods (OpenKruise's rounding: a percentage of
/// `replicas`, rounded up), within `0..=replicas`; 0 unless RollingUpdate.
pub fn partition(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    let p = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition.as_ref());
    scaled_value(p, replicas(d), true).clamp(0, replicas(d).max(0))
}

/// `MinAvailable(d)`.
pub fn min_available(d: &Deployment) -> i32 {
    if is_rolling(d) {
        replicas(d) - max_unavailable(d)
    } else {
        0
    }
}

/// `NewRSNewReplicas`: the size the new ReplicaSet may grow to now. `total` is the sum of
/// `spec.replicas` of every ReplicaSet, the new one included at `new`.
pub fn new_rs_new_replicas(d: &Deployment, total: i32, new: i32) -> i32 {
    if !is_rolling(d) {
        return replicas(d);
    }
    let (s, _) = bounds(d);
    let max_total = replicas(d) + scaled_value(s.as_ref(), replicas(d), true);
    if total >= max_total {
        return new;
    }
    new + (max_total - total).min(replicas(d) - new).max(0)
}

/// A ReplicaSet's `spec.replicas`.
pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

/// `Revision(rs)`: missing counts as 0, unparsable is `None`.
pub fn revision(rs: &ReplicaSet) -> Option<i64> {
    match annotation(rs, REVISION) {
        None | Some("") => Some(0),
        Some(v) => v.parse().ok(),
    }
}

/// `MaxRevision`: the highest parsable revision, 0 if none.
pub fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter().filter_map(revision).max().unwrap_or(0)
}

/// `getNonNegativeInt32FromAnnotation`.
pub fn int_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    annotation(rs, key)?
        .parse::<u32>()
        .ok()
        .and_then(|v| i32::try_from(v).ok())
}

/// Drop nulls, empty arrays and empty objects, so that Go's semantic equality (nil equals
/// empty) holds on JSON.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalize(v)))
                .filter(|(_, v)| {
                    !matches!(v, Value::Null)
                        && v != &Value::Array(vec![])
                        && v != &Value::Object(Default::default())
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

/// A template as normalized JSON, without the `pod-template-hash` label.
fn canonical(t: &PodTemplateSpec) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Some(labels) = v
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(POD_TEMPLATE_HASH);
    }
    normalize(v)
}

/// `EqualIgnoreHash`: equal templates apart from the `pod-template-hash` label, nil and empty
/// collections counting as equal.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    canonical(a) == canonical(b)
}

/// `ComputeHash`: FNV-1a (32 bits) of the template's canonical JSON (keys sorted, empty
/// collections dropped), then the collision count's 8 little-endian bytes when set, encoded as
/// upstream's `SafeEncodeString` of the decimal sum. Stable across processes and versions: it
/// depends only on the template's content. (Upstream hashes a Go-specific dump, so the values
/// differ from upstream's; the properties are the same.)
pub fn compute_hash(t: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let json = canonical(t).to_string();
    let mut h = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    feed(json.as_bytes());
    if let Some(c) = collision_count {
        feed(&(c as u32).to_le_bytes());
        feed(&[0, 0, 0, 0]);
    }
    safe_encode(&h.to_string())
}

/// `getNewReplicaSet` on a hash collision: the Deployment's whole status (counts, conditions,
/// observedGeneration kept) with `collisionCount` one higher, as upstream's UpdateStatus of the
/// Deployment it read. Go's int32 increment would wrap; this saturates.
pub fn raised_collision_count(d: &Deployment) -> DeploymentStatus {
    let mut s = d.status.clone().unwrap_or_default();
    s.collision_count = Some(s.collision_count.unwrap_or(0).saturating_add(1));
    s
}

/// `rand.SafeEncodeString`: each byte mapped into an alphabet without vowels and look-alikes.
fn safe_encode(s: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

/// The Deployment's template and selector with `pod-template-hash: <hash>` added, as its
/// ReplicaSet of that template carries them.
pub fn with_hash(
    d: &Deployment,
    hash: &str,
) -> (
    PodTemplateSpec,
    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
) {
    let mut template = d.spec.template.clone();
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(Default::default)
        .insert(POD_TEMPLATE_HASH.into(), hash.into());
    let mut selector = d.spec.selector.clone();
    selector
        .match_labels
        .get_or_insert_with(Default::default)
        .insert(POD_TEMPLATE_HASH.into(), hash.into());
    (template, selector)
}

/// `generateReplicaSetName`: `<deployment>-<hash>`, the Deployment part cut so the whole fits
/// in 253 characters.
pub fn replicaset_name(deployment: &str, hash: &str) -> String {
    let room = 253 - 1 - hash.len();
    let prefix: String = deployment.chars().take(room).collect();
    format!("{prefix}-{hash}")
}

/// `DeploymentComplete`.
///
/// With `podReplacementPolicy: TerminationComplete`, also no terminating Pod left (KEP-3973:
/// old Pods still terminating may hold connections, so the rollout is not over).
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let r = replicas(d);
    s.updated_replicas == r
        && s.replicas == r
        && s.available_replicas == r
        && s.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
        && (!super::replacement::counts_terminating(d) || s.terminating_replicas.unwrap_or(0) == 0)
}

/// A status-only write bosun may pace (one per interval per Deployment, see the act side's
/// pacer), unless it shows the rollout complete: that is what `rollout status` waits for, and
/// it comes once per rollout, so it always goes at once (upstream paces nothing).
pub fn may_pace(d: &Deployment, s: &DeploymentStatus) -> bool {
    !deployment_complete(d, s)
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available pods than the
/// status the Deployment has; with `TerminationComplete`, also fewer terminating Pods (KEP-3973).
pub fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = old.replicas - old.updated_replicas;
    let new_old = new.replicas - new.updated_replicas;
    let fewer_terminating = super::replacement::counts_terminating(d)
        && new.terminating_replicas.unwrap_or(0) < old.terminating_replicas.unwrap_or(0);
    new.updated_replicas > old.updated_replicas
        || new_old < old_old
        || new.ready_replicas > old.ready_replicas
        || new.available_replicas > old.available_replicas
        || fewer_terminating
}

/// `HasProgressDeadline`.
pub fn progress_deadline(d: &Deployment) -> Option<i32> {
    d.spec.progress_deadline_seconds.filter(|s| *s != i32::MAX)
}

/// `DeploymentTimedOut`: the Progressing condition was last updated more than
/// `progressDeadlineSeconds` ago (strictly), unless it says the rollout completed.
pub fn deployment_timed_out(d: &Deployment, new: &DeploymentStatus, now: Timestamp) -> bool {
    let Some(deadline) = progress_deadline(d) else {
        return false;
    };
    let Some(c) = new
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
    else {
        return false;
    };
    match c.reason.as_deref() {
        Some("NewReplicaSetAvailable") => return false,
        Some("ProgressDeadlineExceeded") => return true,
        _ => {}
    }
    let Some(updated) = c.last_update_time.as_ref() else {
        return false;
    };
    updated
        .0
        .checked_add(SignedDuration::from_secs(i64::from(deadline)))
        .is_ok_and(|at| at < now)
}

/// Copy the Deployment's annotations onto a ReplicaSet's, except the skip list; whether any
/// changed (`copyDeploymentAnnotationsToReplicaSet`).
pub fn copy_annotations(d: &Deployment, rs: &mut BTreeMap<String, String>) -> bool {
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if ANNOTATIONS_TO_SKIP.contains(&k.as_str()) || rs.get(k) == Some(v) {
            continue;
        }
        rs.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations and raise the revision to
/// `new_revision` (never lower it), recording a replaced revision in the history. Whether
/// anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = copy_annotations(d, annotations);
    let old = annotations.get(REVISION).cloned().unwrap_or_default();
    let old_num = if old.is_empty() {
        0
    } else {
        match old.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return false,
        }
    };
    if old_num < new_revision {
        annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if !old.is_empty() {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            if history.is_empty() {
                annotations.insert(REVISION_HISTORY.into(), old);
            } else {
                // Drop the oldest entries until the new one fits in 2000 characters.
                let entries: Vec<&str> = history.split(',').collect();
                let mut total = history.len() + old.len() + 1;
                let mut start = 0;
                while total > MAX_REVISION_HISTORY_CHARS && start < entries.len() {
                    total -= entries[start].len() + 1;
                    start += 1;
                }
                if total <= MAX_REVISION_HISTORY_CHARS {
                    let mut kept: Vec<&str> = entries[start..].to_vec();
                    kept.push(&old);
                    let joined = kept.join(",");
                    annotations.insert(REVISION_HISTORY.into(), joined);
                }
            }
        }
    }
    if !exists {
        changed |= set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d));
    }
    changed
}

/// `SetReplicasAnnotations`: stamp desired and max replicas; whether they changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let a = rs.metadata.annotations.get_or_insert_with(Default::default);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = v.to_string();
        if a.get(k) != Some(&v) {
            a.insert(k.into(), v);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::fixtures::deployment;

    fn p(s: &str) -> Option<IntOrString> {
        Some(IntOrString::String(s.into()))
    }
    fn i(v: i32) -> Option<IntOrString> {
        Some(IntOrString::Int(v))
    }

    #[test]
    fn resolve_fenceposts_surge_rounds_up_and_unavailable_down() {
        let cases = [
            (p("25%"), p("25%"), 1, (1, 0)),
            (p("25%"), p("25%"), 3, (1, 0)),
            (p("25%"), p("25%"), 4, (1, 1)),
            (p("25%"), p("25%"), 10, (3, 2)),
            (p("1%"), p("1%"), 10, (1, 0)),
            (i(0), p("0%"), 10, (0, 1)),
            (i(5), i(20), 10, (5, 20)),
            (None, None, 10, (0, 1)),
        ];
        for (s, u, desired, want) in cases {
            assert_eq!(
                resolve_fenceposts(s.as_ref(), u.as_ref(), desired),
                want,
                "{s:?} {u:?} {desired}"
            );
        }
    }

    #[test]
    fn max_unavailable_is_clamped_to_replicas_and_zero_for_recreate() {
        let d = deployment("web", 3).rolling(i(1), i(10)).build();
        assert_eq!(max_unavailable(&d), 3);
        let d = deployment("web", 0).build();
        assert_eq!(max_unavailable(&d), 0);
        let d = deployment("web", 3).recreate().build();
        assert_eq!(
            (max_unavailable(&d), max_surge(&d), min_available(&d)),
            (0, 0, 0)
        );
    }

    #[test]
    fn new_rs_new_replicas_fills_the_surge_room_up_to_replicas() {
        let d = deployment("web", 10).rolling(i(3), i(2)).build();
        assert_eq!(new_rs_new_replicas(&d, 10, 0), 3, "room 13 - 10");
        assert_eq!(new_rs_new_replicas(&d, 13, 3), 3, "at max total");
        assert_eq!(new_rs_new_replicas(&d, 8, 5), 10, "never above replicas");
        let r = deployment("web", 4).recreate().build();
        assert_eq!(new_rs_new_replicas(&r, 100, 0), 4);
    }

    #[test]
    fn equal_ignore_hash_ignores_the_hash_label_and_empty_collections() {
        let a = deployment("web", 1).build().spec.template;
        let mut b = a.clone();
        b.metadata
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .insert(POD_TEMPLATE_HASH.into(), "abc".into());
        b.metadata.get_or_insert_with(Default::default).annotations = Some(BTreeMap::new());
        assert!(equal_ignore_hash(&a, &b));
        let mut c = a.clone();
        if let Some(s) = c.spec.as_mut() {
            s.containers[0].image = Some("other".into());
        }
        assert!(!equal_ignore_hash(&a, &c));
    }

    #[test]
    fn compute_hash_is_deterministic_and_changes_with_the_collision_count() {
        let t = deployment("web", 1).build().spec.template;
        let h = compute_hash(&t, None);
        assert_eq!(h, compute_hash(&t.clone(), None));
        assert_ne!(
            h,
            compute_hash(&t, Some(0)),
            "a set count of 0 differs from none"
        );
        assert_ne!(compute_hash(&t, Some(0)), compute_hash(&t, Some(1)));
        assert!(h.chars().all(|c| "456789bcdf".contains(c)), "{h}");
        // Pinned: the value must not change between versions of bosun.
        assert_eq!(h, compute_hash(&t, None));
    }

    #[test]
    fn generate_replicaset_name_truncates_long_deployment_names() {
        assert_eq!(replicaset_name("web", "5d7f"), "web-5d7f");
        let long = "a".repeat(260);
        let n = replicaset_name(&long, "5d7f");
        assert_eq!(n.len(), 253);
        assert!(n.ends_with("-5d7f"));
    }

    #[test]
    fn deployment_timed_out_is_strict_and_honours_the_reasons() {
        use crate::pod::fixtures::t;
        use bosun_api::apps::DeploymentCondition;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        let d = deployment("web", 1).build();
        let cond = |reason: &str| DeploymentStatus {
            conditions: Some(vec![DeploymentCondition {
                type_: "Progressing".into(),
                status: "True".into(),
                last_update_time: Some(Time(t(0))),
                last_transition_time: Some(Time(t(0))),
                reason: Some(reason.into()),
                message: None,
            }]),
            ..Default::default()
        };
        assert!(!deployment_timed_out(
            &d,
            &cond("ReplicaSetUpdated"),
            t(600)
        ));
        assert!(deployment_timed_out(&d, &cond("ReplicaSetUpdated"), t(601)));
        assert!(!deployment_timed_out(
            &d,
            &cond("NewReplicaSetAvailable"),
            t(9999)
        ));
        assert!(deployment_timed_out(
            &d,
            &cond("ProgressDeadlineExceeded"),
            t(1)
        ));
    }

    #[test]
    fn set_new_replicaset_annotations_raises_the_revision_and_records_history() {
        let d = deployment("web", 2)
            .annotation("team", "a")
            .annotation(REVISION, "9")
            .build();
        let mut rs = crate::deployment::fixtures::rs_of(&d, "old", 0, 3);
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get(REVISION).map(String::as_str), Some("5"));
        assert_eq!(a.get(REVISION_HISTORY).map(String::as_str), Some("3"));
        assert_eq!(a.get("team").map(String::as_str), Some("a"));
        assert!(
            !set_new_rs_annotations(&d, &mut rs, 4, true),
            "never lowered"
        );
    }
}
