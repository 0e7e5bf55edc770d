//! The ReplicaSet controller's decisions (`pkg/controller/replicaset/replica_set.go`).
//!
//! One sync, as upstream's `syncReplicaSet`:
//!
//! 1. candidates = pods whose controller is this ReplicaSet, plus orphans of its namespace;
//! 2. of the *active* ones, claim: keep ours that match, adopt matching orphans, release ours
//!    that stopped matching ([`crate::claim`]);
//! 3. if expectations are satisfied and the ReplicaSet is not being deleted, `manageReplicas`:
//!    create the missing pods (at most [`BURST_REPLICAS`], in slow-start batches) or delete the
//!    surplus ones chosen by [`rank`];
//! 4. compute the status ([`status`]) and write it when it changed.

pub mod events;
pub mod rank;
pub mod status;

use std::collections::HashMap;

use bosun_api::apps::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::claim::{Claim, Owner, claim};
use crate::pod::{controller_of, is_active, is_terminating, until_available};
use crate::selector::Selector;
use crate::{SignedDuration, Timestamp};
use rank::Ranked;

/// `BurstReplicas`: the most pods created or deleted in one sync.
pub const BURST_REPLICAS: usize = 500;
/// `SlowStartInitialBatchSize`.
pub const SLOW_START_INITIAL_BATCH: usize = 1;

/// What one sync observed.
#[derive(Debug)]
pub struct Observed<'a> {
    /// The ReplicaSet.
    pub rs: &'a ReplicaSet,
    /// Its parsed selector.
    pub selector: &'a Selector,
    /// Pods whose controller is this ReplicaSet, and orphans of its namespace.
    pub candidates: Vec<&'a Pod>,
    /// Active pods selected by every ReplicaSet with the same controller as this one (itself
    /// included), for the deletion rank; empty for a ReplicaSet without a controller.
    pub related: Vec<&'a Pod>,
    /// Whether this ReplicaSet's expectations are satisfied.
    pub expectations_satisfied: bool,
}

/// What `manageReplicas` does.
#[derive(Debug, PartialEq)]
pub enum Manage<'a> {
    /// Nothing: the count is right, or the sync may not act.
    Nothing,
    /// Create this many pods.
    Create(usize),
    /// Delete these pods.
    Delete(Vec<&'a Pod>),
}

/// The decisions of one sync.
#[derive(Debug)]
pub struct Plan<'a> {
    /// Orphans to adopt.
    pub adopt: Vec<&'a Pod>,
    /// Pods to release.
    pub release: Vec<&'a Pod>,
    /// The claimed active pods once the claims succeed: kept plus adopted.
    pub claimed: Vec<&'a Pod>,
    /// Pods this ReplicaSet controls that are terminating (status.terminatingReplicas).
    pub terminating: i32,
    /// Creations or deletions.
    pub manage: Manage<'a>,
    /// `len(claimed) - spec.replicas`.
    pub diff: i64,
    /// `spec.scaleStrategy.podsToDelete` without the names of Pods that are not this
    /// ReplicaSet's (any more), when that drops any: the list to write back.
    pub pods_to_delete: Option<Vec<String>>,
}

/// `spec.scaleStrategy.podsToDelete`.
pub fn pods_to_delete(rs: &ReplicaSet) -> &[String] {
    rs.spec
        .scale_strategy
        .as_ref()
        .and_then(|s| s.pods_to_delete.as_deref())
        .unwrap_or_default()
}

/// Plan one sync of a ReplicaSet.
pub fn plan<'a>(o: Observed<'a>, now: Timestamp) -> Plan<'a> {
    let rs = o.rs;
    let owner = Owner {
        uid: rs.metadata.uid.as_deref().unwrap_or_default(),
        namespace: rs.metadata.namespace.as_deref().unwrap_or_default(),
        deleting: rs.metadata.deletion_timestamp.is_some(),
    };
    let mut plan = Plan {
        adopt: Vec::new(),
        release: Vec::new(),
        claimed: Vec::new(),
        terminating: 0,
        manage: Manage::Nothing,
        diff: 0,
        pods_to_delete: None,
    };
    for pod in &o.candidates {
        let matches = o.selector.matches(pod.metadata.labels.as_ref());
        if is_terminating(pod)
            && matches
            && controller_of(&pod.metadata).is_some_and(|r| r.uid == owner.uid)
        {
            plan.terminating += 1;
        }
        if !is_active(pod) {
            continue;
        }
        match claim(owner, &pod.metadata, matches) {
            Claim::Keep => plan.claimed.push(pod),
            Claim::Adopt => {
                plan.adopt.push(pod);
                plan.claimed.push(pod);
            }
            Claim::Release => plan.release.push(pod),
            Claim::Ignore => {}
        }
    }
    let replicas = rs.spec.replicas.unwrap_or(1).max(0) as usize;
    plan.diff = plan.claimed.len() as i64 - replicas as i64;
    let named = pods_to_delete(rs);
    let adopt_only = rs
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(bosun_api::apps::ADOPT_ONLY_ANNOTATION));
    if o.expectations_satisfied && !owner.deleting && !adopt_only {
        plan.manage = manage(&plan.claimed, replicas, &o.related, named, now);
    }
    // A name stays while a Pod of this ReplicaSet (terminating ones included) has it.
    let ours = |n: &String| {
        o.candidates.iter().any(|p| {
            p.metadata.name.as_ref() == Some(n)
                && controller_of(&p.metadata).is_some_and(|r| r.uid == owner.uid)
        })
    };
    if named.iter().any(|n| !ours(n)) {
        plan.pods_to_delete = Some(named.iter().filter(|n| ours(n)).cloned().collect());
    }
    plan
}

/// `manageReplicas`' arithmetic: how many to create, or which to delete.
///
/// bosun's `podsToDelete` (OpenKruise's): the named active Pods are deleted, whatever the
/// count, and first; a scale-down takes the rest of its count from upstream's ranking. Named
/// Pods deleted without a scale-down are replaced by the next sync's creations.
fn manage<'a>(
    active: &[&'a Pod],
    replicas: usize,
    related: &[&Pod],
    named: &[String],
    now: Timestamp,
) -> Manage<'a> {
    let is_named = |p: &Pod| p.metadata.name.as_ref().is_some_and(|n| named.contains(n));
    let first: Vec<&'a Pod> = active
        .iter()
        .copied()
        .filter(|p| is_named(p))
        .take(BURST_REPLICAS)
        .collect();
    if active.len() < replicas && first.is_empty() {
        return Manage::Create((replicas - active.len()).min(BURST_REPLICAS));
    }
    if active.len() <= replicas && first.is_empty() {
        return Manage::Nothing;
    }
    let count = active
        .len()
        .saturating_sub(replicas)
        .saturating_sub(first.len())
        .min(BURST_REPLICAS - first.len());
    let ranks = ranks_by_node(related);
    let candidates = active
        .iter()
        .filter(|p| !is_named(p))
        .map(|p| Ranked {
            pod: p,
            rank: node_of(p).and_then(|n| ranks.get(n)).copied().unwrap_or(0),
        })
        .collect();
    let mut delete = first;
    delete.extend(rank::pods_to_delete(candidates, count, now));
    Manage::Delete(delete)
}

fn node_of(p: &Pod) -> Option<&str> {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// `getPodsRankedByRelatedPodsOnSameNode`: active related pods per node, deduplicated by UID.
fn ranks_by_node<'p>(related: &[&'p Pod]) -> HashMap<&'p str, usize> {
    let mut seen = std::collections::HashSet::new();
    let mut ranks = HashMap::new();
    for p in related {
        if !is_active(p) || !seen.insert(p.metadata.uid.as_deref().unwrap_or_default()) {
            continue;
        }
        if let Some(n) = node_of(p) {
            *ranks.entry(n).or_insert(0) += 1;
        }
    }
    ranks
}

/// `slowStartBatch`'s batch sizes for `count` calls: 1, 2, 4, … and the remainder.
/// 10 → [1, 2, 4, 3].
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut remaining, mut batch) = (count, SLOW_START_INITIAL_BATCH.min(count));
    while remaining > 0 {
        out.push(batch);
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    out
}

/// A template that cannot become pods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `createPods` refuses a template without labels.
    #[error("unable to create pods, no labels")]
    NoLabels,
}

/// `GetPodFromTemplate`: a pod of the ReplicaSet, named by the API server from
/// `<rs-name>-`, carrying the template's labels, annotations, finalizers and spec and a
/// controller reference to the ReplicaSet.
pub fn pod_from_template(rs: &ReplicaSet) -> Result<Pod, TemplateError> {
    let template = &rs.spec.template;
    let tmeta = template.metadata.clone().unwrap_or_default();
    if tmeta.labels.as_ref().is_none_or(|l| l.is_empty()) {
        return Err(TemplateError::NoLabels);
    }
    let name = rs.metadata.name.clone().unwrap_or_default();
    Ok(Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}-")),
            namespace: rs.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec.clone(),
        status: None,
    })
}

/// The controller reference a ReplicaSet puts on its pods.
pub fn controller_ref(rs: &ReplicaSet) -> OwnerReference {
    crate::claim::controller_ref("ReplicaSet", &rs.metadata)
}

/// `FindMinNextPodAvailabilityCheck`: when to sync again so that a Ready pod is counted
/// available once `minReadySeconds` pass; `None` when nothing is waiting. Falls back to
/// `minReadySeconds` when ready and available counts differ but no pod says when.
pub fn next_availability_check(
    rs: &ReplicaSet,
    active: &[&Pod],
    ready: i32,
    available: i32,
    now: Timestamp,
) -> Option<SignedDuration> {
    let min_ready = rs.spec.min_ready_seconds.unwrap_or(0);
    if min_ready <= 0 || ready == available {
        return None;
    }
    active
        .iter()
        .filter_map(|p| until_available(p, min_ready, now))
        .min()
        .or(Some(SignedDuration::from_secs(i64::from(min_ready))))
}

#[cfg(test)]
pub(crate) mod fixtures {
    use bosun_api::apps::{ReplicaSet, ReplicaSetSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use std::collections::BTreeMap;

    pub struct RsBuilder(pub ReplicaSet);

    pub fn rs(name: &str, replicas: i32) -> RsBuilder {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        RsBuilder(ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some("rs-uid".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: ReplicaSetSpec {
                replicas: Some(replicas),
                min_ready_seconds: None,
                scale_strategy: None,
                selector: LabelSelector {
                    match_labels: Some(labels.clone()),
                    match_expressions: None,
                },
                template: crate::pod::fixtures::template("img"),
            },
            status: None,
        })
    }

    impl RsBuilder {
        pub fn build(self) -> ReplicaSet {
            self.0
        }
        pub fn min_ready(mut self, s: i32) -> Self {
            self.0.spec.min_ready_seconds = Some(s);
            self
        }
        pub fn template_labels(mut self, pairs: &[(&str, &str)]) -> Self {
            let labels = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.0.spec.template.metadata = Some(ObjectMeta {
                labels: Some(labels),
                ..Default::default()
            });
            self
        }
        pub fn deleting(mut self) -> Self {
            self.0.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(crate::pod::fixtures::t(50)),
            );
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::rs;
    use super::*;
    use crate::pod::fixtures::{pod, t};

    fn sel(r: &ReplicaSet) -> Selector {
        Selector::new(&r.spec.selector).expect("valid")
    }

    fn run<'a>(r: &'a ReplicaSet, s: &'a Selector, pods: &'a [Pod], satisfied: bool) -> Plan<'a> {
        plan(
            Observed {
                rs: r,
                selector: s,
                candidates: pods.iter().collect(),
                related: vec![],
                expectations_satisfied: satisfied,
            },
            t(1000),
        )
    }

    fn names(ps: &[&Pod]) -> Vec<String> {
        ps.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    fn named(mut r: ReplicaSet, names: &[&str]) -> ReplicaSet {
        r.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
            pods_to_delete: Some(names.iter().map(|n| n.to_string()).collect()),
        });
        r
    }

    fn ready_pods(names: &[&str]) -> Vec<Pod> {
        names
            .iter()
            .map(|n| {
                pod(n)
                    .owned_by("ReplicaSet", "web", "rs-uid")
                    .on_node("n")
                    .ready()
                    .build()
            })
            .collect()
    }

    #[test]
    fn pods_to_delete_go_first_on_a_scale_down() {
        // Five ready pods alike, three wanted: the named one and one by upstream's rank.
        let r = named(rs("web", 3).build(), &["d"]);
        let pods = ready_pods(&["a", "b", "c", "d", "e"]);
        let s = sel(&r);
        let Manage::Delete(gone) = run(&r, &s, &pods, true).manage else {
            panic!("a deletion");
        };
        assert_eq!(gone.len(), 2);
        assert_eq!(names(&gone)[0], "d");
    }

    #[test]
    fn pods_to_delete_are_deleted_and_replaced_without_a_scale_down() {
        let r = named(rs("web", 3).build(), &["b"]);
        let s = sel(&r);
        let pods = ready_pods(&["a", "b", "c"]);
        let Manage::Delete(gone) = run(&r, &s, &pods, true).manage else {
            panic!("a deletion");
        };
        assert_eq!(names(&gone), ["b"]);
        // b terminating (no longer active): its replacement, and the name kept meanwhile.
        let mut pods = ready_pods(&["a", "b", "c"]);
        pods[1].metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(900)));
        let p = run(&r, &s, &pods, true);
        assert_eq!(p.manage, Manage::Create(1));
        assert_eq!(p.pods_to_delete, None, "b still exists");
    }

    #[test]
    fn names_of_pods_that_are_not_the_replicasets_are_dropped_from_pods_to_delete() {
        let r = named(rs("web", 2).build(), &["a", "gone", "someone-elses"]);
        let s = sel(&r);
        let mut pods = ready_pods(&["a", "b"]);
        pods.push(
            pod("someone-elses")
                .owned_by("ReplicaSet", "other", "other-uid")
                .build(),
        );
        let p = run(&r, &s, &pods, true);
        assert_eq!(p.pods_to_delete, Some(vec!["a".to_string()]));
        // Nothing named: nothing to write back.
        let r = rs("web", 2).build();
        assert_eq!(run(&r, &s, &pods, true).pods_to_delete, None);
    }

    #[test]
    fn an_adopt_only_replicaset_adopts_orphans_but_creates_and_deletes_nothing() {
        let mut r = rs("web", 3).build();
        r.metadata.annotations = Some(
            [(
                bosun_api::apps::ADOPT_ONLY_ANNOTATION.to_string(),
                "true".to_string(),
            )]
            .into(),
        );
        let s = sel(&r);
        // One orphan of the selector: adopted, and the two missing are not created.
        let pods = [pod("a").labels(&[("app", "web")]).build()];
        let p = run(&r, &s, &pods, true);
        assert_eq!(names(&p.adopt), ["a"]);
        assert_eq!(p.manage, Manage::Nothing);
        // Five of its own: none deleted either.
        let pods = ready_pods(&["a", "b", "c", "d", "e"]);
        assert_eq!(run(&r, &s, &pods, true).manage, Manage::Nothing);
        // Lifted: it scales as any other.
        r.metadata.annotations = None;
        assert!(matches!(run(&r, &s, &pods, true).manage, Manage::Delete(_)));
    }

    #[test]
    fn manage_replicas_creates_the_missing_pods() {
        let r = rs("web", 3).build();
        let pods = [pod("a").owned_by("ReplicaSet", "web", "rs-uid").build()];
        let s = sel(&r);
        assert_eq!(run(&r, &s, &pods, true).manage, Manage::Create(2));
    }

    #[test]
    fn manage_replicas_creates_at_most_burst_replicas() {
        let r = rs("web", 2000).build();
        let s = sel(&r);
        assert_eq!(
            run(&r, &s, &[], true).manage,
            Manage::Create(BURST_REPLICAS)
        );
    }

    #[test]
    fn manage_replicas_deletes_the_surplus_by_rank() {
        let r = rs("web", 1).build();
        let pods = [
            pod("ready")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .on_node("n")
                .ready()
                .build(),
            pod("pending")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .on_node("n")
                .build(),
        ];
        let s = sel(&r);
        let p = run(&r, &s, &pods, true);
        match p.manage {
            Manage::Delete(v) => assert_eq!(names(&v), ["pending"]),
            other => panic!("expected a delete, got {other:?}"),
        }
    }

    #[test]
    fn unsatisfied_expectations_skip_manage_replicas() {
        let r = rs("web", 3).build();
        let s = sel(&r);
        assert_eq!(run(&r, &s, &[], false).manage, Manage::Nothing);
    }

    #[test]
    fn deleted_replicaset_does_not_scale() {
        let r = rs("web", 3).deleting().build();
        let s = sel(&r);
        assert_eq!(run(&r, &s, &[], true).manage, Manage::Nothing);
    }

    #[test]
    fn terminating_and_finished_pods_are_not_counted_and_get_replaced() {
        let r = rs("web", 2).build();
        let pods = [
            pod("a")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .ready()
                .build(),
            pod("gone")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .ready()
                .deleting()
                .build(),
            pod("done")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .phase("Succeeded")
                .build(),
            pod("failed")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .phase("Failed")
                .build(),
        ];
        let s = sel(&r);
        let p = run(&r, &s, &pods, true);
        assert_eq!(names(&p.claimed), ["a"]);
        assert_eq!(p.terminating, 1);
        assert_eq!(p.manage, Manage::Create(1));
    }

    #[test]
    fn matching_orphans_are_adopted_and_counted() {
        let r = rs("web", 2).build();
        let pods = [
            pod("orphan").ready().build(),
            pod("other").label("app", "api").build(),
        ];
        let s = sel(&r);
        let p = run(&r, &s, &pods, true);
        assert_eq!(names(&p.adopt), ["orphan"]);
        assert_eq!(names(&p.claimed), ["orphan"]);
        assert_eq!(p.manage, Manage::Create(1));
    }

    #[test]
    fn owned_pods_that_stop_matching_are_released_and_replaced() {
        let r = rs("web", 1).build();
        let pods = [pod("relabeled")
            .owned_by("ReplicaSet", "web", "rs-uid")
            .label("app", "debug")
            .build()];
        let s = sel(&r);
        let p = run(&r, &s, &pods, true);
        assert_eq!(names(&p.release), ["relabeled"]);
        assert_eq!(p.manage, Manage::Create(1));
    }

    #[test]
    fn terminating_orphans_and_other_controllers_pods_are_left_alone() {
        let r = rs("web", 0).build();
        let pods = [
            pod("t").deleting().build(),
            pod("x")
                .owned_by("ReplicaSet", "other", "other-uid")
                .build(),
        ];
        let s = sel(&r);
        let p = run(&r, &s, &pods, true);
        assert!(p.adopt.is_empty() && p.release.is_empty() && p.claimed.is_empty());
        assert_eq!(p.terminating, 0, "orphans never count as terminating");
    }

    #[test]
    fn rank_counts_related_pods_on_the_same_node() {
        let r = rs("web", 1).build();
        let pods = [
            pod("alone")
                .uid("u1")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .on_node("n1")
                .ready()
                .build(),
            pod("crowded")
                .uid("u2")
                .owned_by("ReplicaSet", "web", "rs-uid")
                .on_node("n2")
                .ready()
                .build(),
        ];
        let sibling = [
            pod("s1").uid("s1").on_node("n2").ready().build(),
            pod("s2").uid("s2").on_node("n2").ready().build(),
        ];
        let s = sel(&r);
        let mut related: Vec<&Pod> = pods.iter().collect();
        related.extend(sibling.iter());
        let p = plan(
            Observed {
                rs: &r,
                selector: &s,
                candidates: pods.iter().collect(),
                related,
                expectations_satisfied: true,
            },
            t(1000),
        );
        match p.manage {
            Manage::Delete(v) => assert_eq!(names(&v), ["crowded"]),
            other => panic!("expected a delete, got {other:?}"),
        }
    }

    #[test]
    fn slow_start_batch_doubles_from_one() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), [1]);
        assert_eq!(slow_start_batches(10), [1, 2, 4, 3]);
        assert_eq!(slow_start_batches(500), [1, 2, 4, 8, 16, 32, 64, 128, 245]);
    }

    #[test]
    fn get_pod_from_template_sets_owner_name_prefix_labels_and_spec() {
        let r = rs("web", 1).build();
        let p = pod_from_template(&r).expect("labels present");
        assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(p.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(
            p.metadata.labels,
            r.spec
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone())
        );
        let o = &p.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (
                o.kind.as_str(),
                o.uid.as_str(),
                o.controller,
                o.block_owner_deletion
            ),
            ("ReplicaSet", "rs-uid", Some(true), Some(true))
        );
        assert_eq!(p.spec, r.spec.template.spec);
    }

    #[test]
    fn create_pods_refuses_a_template_without_labels() {
        let mut r = rs("web", 1).build();
        r.spec.template.metadata = None;
        assert_eq!(pod_from_template(&r), Err(TemplateError::NoLabels));
    }

    #[test]
    fn availability_requeue_waits_for_the_earliest_ready_pod() {
        let r = rs("web", 2).min_ready(30).build();
        let a = pod("a").ready_at(t(1000 - 10)).build();
        let b = pod("b").ready_at(t(1000 - 25)).build();
        assert_eq!(
            next_availability_check(&r, &[&a, &b], 2, 0, t(1000)),
            Some(SignedDuration::from_secs(5))
        );
        assert_eq!(next_availability_check(&r, &[&a, &b], 2, 2, t(1000)), None);
        let r0 = rs("web", 2).build();
        assert_eq!(next_availability_check(&r0, &[&a], 1, 0, t(1000)), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn arb_pods() -> impl Strategy<Value = Vec<Pod>> {
            proptest::collection::vec((0u8..4, any::<bool>(), 0u8..3), 0..40).prop_map(|v| {
                v.into_iter()
                    .enumerate()
                    .map(|(i, (state, ready, owner))| {
                        let mut b = pod(&format!("p{i}")).uid(&format!("u{i}"));
                        b = match owner {
                            0 => b.owned_by("ReplicaSet", "web", "rs-uid"),
                            1 => b,
                            _ => b.owned_by("ReplicaSet", "other", "other-uid"),
                        };
                        b = match state {
                            0 => b,
                            1 => b.deleting(),
                            2 => b.phase("Failed"),
                            _ => b.on_node("n1"),
                        };
                        if ready { b.ready() } else { b }.build()
                    })
                    .collect()
            })
        }

        proptest! {
            #[test]
            fn never_creates_more_than_missing_nor_deletes_below_replicas(
                pods in arb_pods(), replicas in 0i32..50
            ) {
                let r = rs("web", replicas).build();
                let s = sel(&r);
                let p = run(&r, &s, &pods, true);
                let active = p.claimed.len();
                match &p.manage {
                    Manage::Create(n) => {
                        prop_assert!(*n <= (replicas as usize).saturating_sub(active));
                        prop_assert!(*n > 0);
                    }
                    Manage::Delete(v) => {
                        prop_assert!(active - v.len() >= replicas as usize);
                        prop_assert!(v.iter().all(|d| p.claimed.iter().any(|c| std::ptr::eq(*c, *d))));
                    }
                    Manage::Nothing => prop_assert_eq!(active, replicas as usize),
                }
            }

            #[test]
            fn a_plan_applied_to_its_result_plans_nothing(pods in arb_pods(), replicas in 0i32..30) {
                let r = rs("web", replicas).build();
                let s = sel(&r);
                let p = run(&r, &s, &pods, true);
                // Simulate: claimed pods are ours; creations appear; deletions vanish.
                let mut after: Vec<Pod> = p.claimed.iter().map(|c| {
                    let mut c = (*c).clone();
                    c.metadata.owner_references = Some(vec![controller_ref(&r)]);
                    c
                }).collect();
                match &p.manage {
                    Manage::Create(n) => after.extend((0..*n).map(|i| pod(&format!("new{i}")).uid(&format!("new{i}")).owned_by("ReplicaSet", "web", "rs-uid").build())),
                    Manage::Delete(v) => after.retain(|a| !v.iter().any(|d| d.metadata.uid == a.metadata.uid)),
                    Manage::Nothing => {}
                }
                let again = run(&r, &s, &after, true);
                prop_assert_eq!(again.manage, Manage::Nothing);
                prop_assert!(again.adopt.is_empty() && again.release.is_empty());
            }
        }
    }
}
