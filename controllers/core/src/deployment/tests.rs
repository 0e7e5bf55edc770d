//! Scenario tests of the Deployment plan, one per upstream rule, and a simulation of whole
//! rollouts checking the bounds at every step.

use std::collections::HashMap;

use bosun_api::apps::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::fixtures::{deployment, rs_of};
use super::util::*;
use super::*;
use crate::pod::fixtures::{pod, t};

fn i(v: i32) -> Option<IntOrString> {
    Some(IntOrString::Int(v))
}

fn run<'a>(
    d: &'a Deployment,
    sel: &'a Selector,
    rss: &'a [ReplicaSet],
    now: Timestamp,
) -> Plan<'a> {
    plan(
        Observed {
            deployment: d,
            selector: sel,
            candidates: rss.iter().collect(),
            pods_by_rs: HashMap::new(),
        },
        now,
    )
}

/// `run` with the pods of the ReplicaSets, by ReplicaSet UID.
fn run_with_pods<'a>(
    d: &'a Deployment,
    sel: &'a Selector,
    rss: &'a [ReplicaSet],
    pods_by_rs: HashMap<String, Vec<&'a Pod>>,
    now: Timestamp,
) -> Plan<'a> {
    plan(
        Observed {
            deployment: d,
            selector: sel,
            candidates: rss.iter().collect(),
            pods_by_rs,
        },
        now,
    )
}

fn sel(d: &Deployment) -> Selector {
    Selector::new(&d.spec.selector).expect("valid")
}

fn scales(p: &Plan<'_>) -> Vec<(String, i32, i32)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::Scale { name, from, to, .. } => Some((name.clone(), *from, *to)),
            _ => None,
        })
        .collect()
}

fn created(p: &Plan<'_>) -> Option<ReplicaSet> {
    p.actions.iter().find_map(|a| match a {
        Action::Create(rs) => Some((**rs).clone()),
        _ => None,
    })
}

fn cond<'s>(s: &'s DeploymentStatus, type_: &str) -> Option<(&'s str, &'s str)> {
    progress::get(s, type_).map(|c| (c.status.as_str(), c.reason.as_deref().unwrap_or("")))
}

#[test]
fn get_new_replicaset_creates_it_with_hash_revision_and_surge() {
    let old_d = deployment("web", 10)
        .rolling(i(3), i(2))
        .image("img:0")
        .build();
    let old = rs_of(&old_d, "old", 10, 1);
    let mut d = deployment("web", 10).rolling(i(3), i(2)).build();
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: 10,
        ready_replicas: 10,
        available_replicas: 10,
        ..Default::default()
    });
    let s = sel(&d);
    let rss = [old];
    let p = run(&d, &s, &rss, t(100));
    let new = created(&p).expect("a new ReplicaSet");
    let hash = compute_hash(&d.spec.template, None);
    assert_eq!(
        new.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(
        new.spec.replicas,
        Some(3),
        "replicas + maxSurge - current = 13 - 10"
    );
    let a = new.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(
        (
            a[REVISION].as_str(),
            a[DESIRED_REPLICAS].as_str(),
            a[MAX_REPLICAS].as_str()
        ),
        ("2", "10", "13")
    );
    assert_eq!(
        new.spec
            .selector
            .match_labels
            .as_ref()
            .and_then(|m| m.get(POD_TEMPLATE_HASH)),
        Some(&hash)
    );
    assert_eq!(
        new.metadata
            .owner_references
            .as_ref()
            .map(|o| o[0].kind.as_str()),
        Some("Deployment")
    );
    assert_eq!(
        p.annotations
            .as_ref()
            .and_then(|a| a.get(REVISION))
            .map(String::as_str),
        Some("2")
    );
    assert!(
        p.events
            .iter()
            .any(|e| e.message == format!("Scaled up replica set web-{hash} from 0 to 3"))
    );
    let st = p.status.expect("status");
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("True", "NewReplicaSetCreated"))
    );
}

#[test]
fn reconcile_old_replicasets_keeps_min_available() {
    // 10 replicas, surge 3, unavailable 2: old 10 available, new 3 not yet available.
    let old_d = deployment("web", 10)
        .rolling(i(3), i(2))
        .image("img:0")
        .build();
    let d = deployment("web", 10).rolling(i(3), i(2)).build();
    let mut new = rs_of(&d, "new", 3, 2);
    new.status = Some(ReplicaSetStatus {
        replicas: 3,
        ..Default::default()
    });
    let rss = [rs_of(&old_d, "old", 10, 1), new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    // maxScaledDown = 13 - 8 - 3 = 2; available 10 - minAvailable 8 = 2.
    assert_eq!(scales(&p), [("web-old".to_string(), 10, 8)]);
    assert!(
        p.events
            .iter()
            .any(|e| e.message == "Scaled down replica set web-old from 10 to 8")
    );
}

#[test]
fn cleanup_unhealthy_replicas_goes_first_and_oldest_first() {
    let v0 = deployment("web", 4)
        .rolling(i(1), i(1))
        .image("img:0")
        .build();
    let v1 = deployment("web", 4)
        .rolling(i(1), i(1))
        .image("img:1")
        .build();
    let d = deployment("web", 4)
        .rolling(i(1), i(1))
        .image("img:2")
        .build();
    let mut sick = rs_of(&v0, "v0", 2, 1);
    sick.status = Some(ReplicaSetStatus {
        replicas: 2,
        ..Default::default()
    });
    let healthy = rs_of(&v1, "v1", 2, 2);
    let mut new = rs_of(&d, "new", 1, 3);
    new.status = Some(ReplicaSetStatus {
        replicas: 1,
        ..Default::default()
    });
    let rss = [sick, healthy, new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    // maxScaledDown = 5 - 3 - 1 = 1: one unavailable pod of the oldest goes.
    assert_eq!(scales(&p)[0], ("web-v0".to_string(), 2, 1));
}

#[test]
fn new_replicaset_above_replicas_is_scaled_down_first() {
    let d = deployment("web", 2).build();
    let rss = [rs_of(&d, "new", 5, 1)];
    let s = sel(&d);
    // The single active ReplicaSet of a scaling event: straight to replicas.
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-new".to_string(), 5, 2)]);
}

#[test]
fn recreate_scales_every_old_replicaset_to_zero_first() {
    let old_d = deployment("web", 3).recreate().image("img:0").build();
    let d = deployment("web", 3).recreate().build();
    let rss = [rs_of(&old_d, "old", 3, 1)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-old".to_string(), 3, 0)]);
    assert!(
        created(&p).is_none(),
        "no new ReplicaSet while old pods exist"
    );
}

#[test]
fn recreate_waits_until_no_old_pod_exists() {
    let old_d = deployment("web", 3).recreate().image("img:0").build();
    let d = deployment("web", 3).recreate().build();
    let mut old = rs_of(&old_d, "old", 0, 1);
    old.status = Some(ReplicaSetStatus {
        replicas: 0,
        observed_generation: Some(1),
        ..Default::default()
    });
    let rss = [old];
    let s = sel(&d);
    let terminating = pod("old-1")
        .owned_by("ReplicaSet", "web-old", "rs-old")
        .deleting()
        .build();
    let pods = HashMap::from([("rs-old".to_string(), vec![&terminating])]);
    let p = run_with_pods(&d, &s, &rss, pods, t(100));
    assert!(created(&p).is_none(), "a terminating old pod still blocks");
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(
        created(&p).and_then(|rs| rs.spec.replicas),
        Some(3),
        "then the new one at full size"
    );
}

#[test]
fn proportional_scaling_matches_upstreams_e2e_example() {
    // replicas 10, surge 3, unavailable 2; a stuck rollout: old 8, new 5, both max-replicas 13.
    let old_d = deployment("web", 10)
        .rolling(i(3), i(2))
        .image("img:0")
        .build();
    let d = deployment("web", 30).rolling(i(3), i(2)).build();
    let mut old = rs_of(&old_d, "old", 8, 1);
    let mut new = rs_of(&d, "new", 5, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 10, 13);
    }
    new.status = Some(ReplicaSetStatus {
        replicas: 5,
        ..Default::default()
    });
    let rss = [old, new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let mut got = scales(&p);
    got.sort();
    assert_eq!(
        got,
        [
            ("web-new".to_string(), 5, 13),
            ("web-old".to_string(), 8, 20)
        ]
    );
}

#[test]
fn cleanup_deployment_deletes_the_oldest_idle_replicasets_beyond_the_limit() {
    let d = deployment("web", 2).history(1).build();
    let mut rss = vec![rs_of(&d, "cur", 2, 4)];
    for (n, rev) in [("a", 1), ("b", 2), ("c", 3)] {
        let old_d = deployment("web", 2).image(&format!("img:{n}")).build();
        let mut rs = rs_of(&old_d, n, 0, rev);
        rs.status = Some(ReplicaSetStatus {
            observed_generation: Some(1),
            ..Default::default()
        });
        rss.push(rs);
    }
    // "b" is still busy: it is skipped, not replaced by "c".
    rss[2].status = Some(ReplicaSetStatus {
        replicas: 1,
        observed_generation: Some(1),
        ..Default::default()
    });
    let mut d = d;
    d.status = Some(DeploymentStatus {
        replicas: 2,
        updated_replicas: 2,
        available_replicas: 2,
        ready_replicas: 2,
        observed_generation: Some(1),
        ..Default::default()
    });
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let deleted: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::Delete(n) = a {
                Some(n.as_str())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(deleted, ["web-a"]);
}

#[test]
fn paused_deployment_creates_no_replicaset_and_reports_paused() {
    let old_d = deployment("web", 3).image("img:0").build();
    let d = deployment("web", 3).paused().build();
    let rss = [rs_of(&old_d, "old", 3, 1)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert!(created(&p).is_none());
    let st = p.status.expect("status");
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("Unknown", "DeploymentPaused"))
    );
}

#[test]
fn paused_deployment_still_scales() {
    let d = deployment("web", 5).paused().build();
    let rss = [rs_of(&d, "cur", 3, 1)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-cur".to_string(), 3, 5)]);
}

#[test]
fn complete_rollout_reports_new_replicaset_available() {
    let mut d = deployment("web", 3).build();
    let rss = [rs_of(&d, "cur", 3, 1)];
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        ..Default::default()
    });
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let st = p.status.expect("status");
    assert_eq!(
        (
            st.replicas,
            st.updated_replicas,
            st.available_replicas,
            st.unavailable_replicas
        ),
        (3, 3, 3, 0)
    );
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("True", "NewReplicaSetAvailable"))
    );
    assert_eq!(
        cond(&st, "Available"),
        Some(("True", "MinimumReplicasAvailable"))
    );
    assert_eq!(st.ready_ratio.as_deref(), Some("3/3"));
    assert_eq!(st.selector.as_deref(), Some("app=web"));
}

#[test]
fn progress_deadline_exceeded_after_no_progress() {
    let mut d = deployment("web", 2).build();
    d.spec.progress_deadline_seconds = Some(10);
    let mut cur = rs_of(&d, "cur", 2, 1);
    cur.status = Some(ReplicaSetStatus {
        replicas: 2,
        observed_generation: Some(1),
        terminating_replicas: Some(0),
        ..Default::default()
    });
    let stuck = DeploymentStatus {
        observed_generation: Some(1),
        replicas: 2,
        updated_replicas: 2,
        unavailable_replicas: 2,
        conditions: Some(vec![progress::condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "x".into(),
            t(0),
        )]),
        ..Default::default()
    };
    d.status = Some(stuck);
    let rss = [cur];
    let s = sel(&d);
    let before = run(&d, &s, &rss, t(5));
    let st = before.status.expect("status changes (Available condition)");
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("True", "ReplicaSetUpdated"))
    );
    let after = run(&d, &s, &rss, t(11));
    let st = after.status.expect("status");
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("False", "ProgressDeadlineExceeded"))
    );
    assert_eq!(
        cond(&st, "Available"),
        Some(("False", "MinimumReplicasUnavailable"))
    );
}

#[test]
fn requeue_stuck_deployment_at_the_deadline() {
    let mut d = deployment("web", 2).build();
    d.spec.progress_deadline_seconds = Some(10);
    let mut cur = rs_of(&d, "cur", 2, 1);
    cur.status = Some(ReplicaSetStatus {
        replicas: 2,
        observed_generation: Some(1),
        terminating_replicas: Some(0),
        ..Default::default()
    });
    let rss = [cur];
    let s = sel(&d);
    // Write the status a first pass computes, then plan again: nothing changed, so wait.
    d.status = Some(DeploymentStatus {
        conditions: Some(vec![progress::condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "x".into(),
            t(0),
        )]),
        ..Default::default()
    });
    let first = run(&d, &s, &rss, t(3)).status.expect("status");
    d.status = Some(first);
    let again = run(&d, &s, &rss, t(3));
    assert!(again.status.is_none());
    // The first pass saw progress (2 updated pods) and stamped the condition at t(3):
    // 10 s later, plus one.
    assert_eq!(again.requeue, Requeue::After(SignedDuration::from_secs(11)));
}

#[test]
fn scaling_event_is_detected_from_desired_replicas() {
    let d = deployment("web", 6).build();
    let mut cur = rs_of(&d, "cur", 3, 1);
    set_replicas_annotations(&mut cur, 3, 4);
    let rss = [cur];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-cur".to_string(), 3, 6)]);
    assert!(created(&p).is_none());
}

#[test]
fn orphan_replicasets_are_adopted_and_others_left_alone() {
    let d = deployment("web", 1).build();
    let mut orphan = rs_of(&d, "cur", 1, 1);
    orphan.metadata.owner_references = None;
    let mut foreign = rs_of(&d, "x", 1, 1);
    if let Some(r) = foreign.metadata.owner_references.as_mut() {
        r[0].uid = "other".into();
    }
    let rss = [orphan, foreign];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(p.adopt.len(), 1);
    assert!(
        created(&p).is_none(),
        "the adopted ReplicaSet is the new one"
    );
}

#[test]
fn rollback_to_zero_copies_the_previous_revisions_template() {
    let v1 = deployment("web", 2).image("img:1").build();
    let d = deployment("web", 2)
        .image("img:2")
        .annotation(ROLLBACK_TO, "0")
        .annotation("team", "x")
        .build();
    let mut old = rs_of(&v1, "v1", 0, 1);
    old.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("note".into(), "from v1".into());
    let rss = [old, rs_of(&d, "v2", 2, 2)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let rb = p.rollback.expect("a rollback");
    let template = rb.template.expect("the template is copied back");
    assert_eq!(
        template
            .spec
            .as_ref()
            .and_then(|s| s.containers[0].image.as_deref()),
        Some("img:1")
    );
    assert!(
        template
            .metadata
            .and_then(|m| m.labels)
            .is_some_and(|l| !l.contains_key(POD_TEMPLATE_HASH))
    );
    assert!(!rb.annotations.contains_key(ROLLBACK_TO));
    assert_eq!(
        rb.annotations.get("note").map(String::as_str),
        Some("from v1")
    );
    assert!(
        !rb.annotations.contains_key("team"),
        "annotations are replaced, as upstream"
    );
    assert!(p.events.iter().any(|e| e.reason == "DeploymentRollback"
        && e.message == "Rolled back deployment \"web\" to revision 1"));
}

#[test]
fn rollback_to_a_missing_revision_only_clears_the_annotation() {
    let d = deployment("web", 2).annotation(ROLLBACK_TO, "7").build();
    let rss = [rs_of(&d, "v1", 2, 1)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let rb = p.rollback.expect("the annotation is cleared");
    assert!(rb.template.is_none() && !rb.annotations.contains_key(ROLLBACK_TO));
    assert_eq!(
        p.events[0].message,
        "Unable to find the revision to rollback to."
    );
}

#[test]
fn rollback_to_the_current_template_reports_unchanged() {
    let d = deployment("web", 2).annotation(ROLLBACK_TO, "1").build();
    let rss = [rs_of(&d, "v1", 2, 1)];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert!(p.rollback.expect("cleared").template.is_none());
    assert_eq!(p.events[0].reason, "DeploymentRollbackTemplateUnchanged");
}

#[test]
fn an_unparsable_rollback_annotation_is_ignored() {
    let d = deployment("web", 2).annotation(ROLLBACK_TO, "last").build();
    let rss = [rs_of(&d, "v1", 2, 1)];
    let s = sel(&d);
    assert!(run(&d, &s, &rss, t(100)).rollback.is_none());
}

#[test]
fn adopting_a_replicaset_with_a_huge_revision_continues_from_it() {
    // Upstream's e2e: an adopted ReplicaSet at revision 3546343826724305832.
    let old_d = deployment("web", 1).image("img:0").build();
    let mut old = rs_of(&old_d, "old", 1, 0);
    old.metadata.owner_references = None;
    old.metadata.annotations =
        Some([(REVISION.to_string(), "3546343826724305832".to_string())].into());
    let d = deployment("web", 1).build();
    let rss = [old];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(p.adopt.len(), 1);
    assert_eq!(
        p.annotations
            .and_then(|a| a.get(REVISION).cloned())
            .as_deref(),
        Some("3546343826724305833")
    );
}

#[test]
fn a_migrated_replicaset_with_upstreams_hash_is_the_new_one_and_nothing_rolls() {
    // `kubectl bosun migrate`: the ReplicaSets keep upstream's names and `pod-template-hash`
    // (which `compute_hash` does not reproduce) and their translated annotations; the
    // Deployment, resumed, finds the current one by `EqualIgnoreHash` (`FindNewReplicaSet`)
    // and has nothing to create, scale or annotate.
    let old_d = deployment("web", 10).image("img:0").build();
    let mut d = deployment("web", 10).annotation(REVISION, "2").build();
    let upstream_hash = "7c5ddbdf54";
    assert_ne!(compute_hash(&d.spec.template, None), upstream_hash);
    let mut cur = rs_of(&d, upstream_hash, 10, 2);
    let mut old = rs_of(&old_d, "59d9c7f6b8", 0, 1);
    for rs in [&mut cur, &mut old] {
        let replicas = rs_replicas(rs);
        set_replicas_annotations(rs, 10, 13);
        rs.status = Some(ReplicaSetStatus {
            replicas,
            ready_replicas: replicas,
            available_replicas: replicas,
            fully_labeled_replicas: replicas,
            observed_generation: Some(1),
            terminating_replicas: Some(0),
            ..Default::default()
        });
    }
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        ..Default::default()
    });
    let rss = [cur, old];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    assert_eq!(p.annotations, None);
    let st = p.status.expect("status");
    assert_eq!(
        (st.replicas, st.updated_replicas, st.available_replicas),
        (10, 10, 10)
    );
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("True", "NewReplicaSetAvailable"))
    );
}

/// A whole rollout simulated: the plan acts, the ReplicaSets follow (pods appear at once and
/// become available in random order, surplus pods go unavailable-first), and at every step the
/// ReplicaSets' sizes stay within `replicas + maxSurge` and availability never drops below
/// `replicas - maxUnavailable`.
mod simulation {
    use super::*;
    use proptest::prelude::*;

    fn status_of(rs: &ReplicaSet) -> ReplicaSetStatus {
        rs.status.clone().unwrap_or_default()
    }

    /// The ReplicaSet controller and the kubelets: pods follow spec; `ready` of the unavailable
    /// pods become available.
    fn settle(rss: &mut [ReplicaSet], ready: &[u8], step: usize) {
        for (k, rs) in rss.iter_mut().enumerate() {
            let spec = rs_replicas(rs);
            let mut s = status_of(rs);
            s.available_replicas = s.available_replicas.min(spec);
            s.replicas = spec;
            let waiting = spec - s.available_replicas;
            let coin = ready[(step + k) % ready.len()] as i32;
            s.available_replicas += waiting.min(coin);
            s.ready_replicas = s.available_replicas;
            s.fully_labeled_replicas = spec;
            s.observed_generation = Some(1);
            s.terminating_replicas = Some(0);
            rs.status = Some(s);
        }
    }

    fn apply(rss: &mut Vec<ReplicaSet>, p: &Plan<'_>, step: usize) {
        for a in &p.actions {
            match a {
                Action::Create(rs) => {
                    let mut rs = (**rs).clone();
                    rs.metadata.uid = Some(format!("uid-{step}"));
                    rs.metadata.creation_timestamp = Some(Time(t(1000 + step as i64)));
                    rs.metadata.generation = Some(1);
                    rss.push(rs);
                }
                Action::Scale {
                    name,
                    to,
                    annotations,
                    ..
                } => {
                    if let Some(rs) = rss
                        .iter_mut()
                        .find(|r| r.metadata.name.as_ref() == Some(name))
                    {
                        rs.spec.replicas = Some(*to);
                        rs.metadata.annotations = Some(annotations.clone());
                    }
                }
                Action::Annotate {
                    name, annotations, ..
                } => {
                    if let Some(rs) = rss
                        .iter_mut()
                        .find(|r| r.metadata.name.as_ref() == Some(name))
                    {
                        rs.metadata.annotations = Some(annotations.clone());
                    }
                }
                Action::Delete(name) => rss.retain(|r| r.metadata.name.as_ref() != Some(name)),
                Action::PodsToDelete { .. } => {}
            }
        }
    }

    /// One step of a simulated rollout: the plan acts, the ReplicaSets follow, and the bounds
    /// (`replicas + maxSurge` wanted, `replicas - maxUnavailable` available) hold.
    fn advance(
        d: &mut Deployment,
        s: &Selector,
        rss: &mut Vec<ReplicaSet>,
        ready: &[u8],
        step: usize,
        (max_total, min_avail): (i32, i32),
    ) -> Result<(), TestCaseError> {
        let snapshot = rss.clone();
        let p = plan(
            Observed {
                deployment: d,
                selector: s,
                candidates: snapshot.iter().collect(),
                pods_by_rs: HashMap::new(),
            },
            t(2000 + step as i64),
        );
        apply(rss, &p, step);
        let new_status = p.status.clone();
        drop(p);
        if let Some(st) = new_status {
            d.status = Some(st);
        }
        let total: i32 = rss.iter().map(rs_replicas).sum();
        prop_assert!(
            total <= max_total,
            "step {step}: {total} pods wanted > {max_total}"
        );
        settle(rss, ready, step);
        let avail: i32 = rss.iter().map(|r| status_of(r).available_replicas).sum();
        let replicas = replicas(d);
        prop_assert!(
            avail >= min_avail.min(replicas),
            "step {step}: {avail} available < {min_avail}"
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn rolling_update_bounds_hold_at_every_step(
            replicas in 1i32..30,
            surge_pct in 0i32..=100,
            unavail_pct in 0i32..=100,
            surge_int in proptest::option::of(0i32..5),
            ready in proptest::collection::vec(0u8..4, 1..16),
        ) {
            let surge = Some(match surge_int { Some(v) => IntOrString::Int(v), None => IntOrString::String(format!("{surge_pct}%")) });
            let unavail = Some(IntOrString::String(format!("{unavail_pct}%")));
            let old_d = deployment("web", replicas).rolling(surge.clone(), unavail.clone()).image("img:0").build();
            let mut d = deployment("web", replicas).rolling(surge, unavail).build();
            let mut rss = vec![rs_of(&old_d, "old", replicas, 1)];
            let (max_total, min_avail) = (replicas + max_surge(&d), replicas - max_unavailable(&d));
            let s = sel(&d);
            let mut done = false;
            for step in 0..400 {
                advance(&mut d, &s, &mut rss, &ready, step, (max_total, min_avail))?;
                let st = d.status.clone().unwrap_or_default();
                if deployment_complete(&d, &st) && rss.iter().filter(|r| rs_replicas(r) > 0).count() == 1 {
                    done = true;
                    break;
                }
            }
            // Pods that never become ready (all-zero coins) legitimately stall a rollout.
            if ready.iter().any(|c| *c > 0) {
                prop_assert!(done, "the rollout did not complete");
            }
        }

        #[test]
        fn a_partitioned_rollout_stops_at_the_partition_within_the_bounds_and_promote_finishes_it(
            replicas in 1i32..30,
            surge_pct in 0i32..=100,
            unavail_pct in 0i32..=100,
            partition_pct in 0i32..=100,
            ready in proptest::collection::vec(1u8..4, 1..16),
        ) {
            let surge = Some(IntOrString::String(format!("{surge_pct}%")));
            let unavail = Some(IntOrString::String(format!("{unavail_pct}%")));
            let old_d = deployment("web", replicas).rolling(surge.clone(), unavail.clone()).image("img:0").build();
            let mut d = deployment("web", replicas).rolling(surge, unavail).build();
            if let Some(ru) = d.spec.strategy.as_mut().and_then(|s| s.rolling_update.as_mut()) {
                ru.partition = Some(IntOrString::String(format!("{partition_pct}%")));
            }
            let kept = partition(&d);
            prop_assert_eq!(kept, (partition_pct * replicas + 99) / 100, "rounded up");
            let mut rss = vec![rs_of(&old_d, "old", replicas, 1)];
            let (max_total, min_avail) = (replicas + max_surge(&d), replicas - max_unavailable(&d));
            let s = sel(&d);
            for round in 0..2 {
                let mut stopped = false;
                for step in 0..400 {
                    let step = step + 400 * round;
                    advance(&mut d, &s, &mut rss, &ready, step, (max_total, min_avail))?;
                    let st = d.status.clone().unwrap_or_default();
                    let reason = progress::reason(&st, "Progressing");
                    if reason.as_deref() == Some(progress::PARTITIONED) || deployment_complete(&d, &st) {
                        stopped = true;
                        break;
                    }
                }
                prop_assert!(stopped, "round {round}: the rollout neither completed nor stopped at its partition");
                let kept_now = if round == 0 { kept } else { 0 };
                let new_size: i32 = rss.iter().filter(|r| r.metadata.name.as_deref() != Some("web-old")).map(rs_replicas).sum();
                let old_size: i32 = rss.iter().filter(|r| r.metadata.name.as_deref() == Some("web-old")).map(rs_replicas).sum();
                prop_assert_eq!((new_size, old_size), (replicas - kept_now, kept_now), "round {}", round);
                // `kubectl bosun rollout promote --full`: the partition goes to 0.
                if let Some(ru) = d.spec.strategy.as_mut().and_then(|s| s.rolling_update.as_mut()) {
                    ru.partition = None;
                }
                d.metadata.generation = Some(d.metadata.generation.unwrap_or(1) + 1);
            }
        }
    }
}

/// A rolling update at the floor: `replicas` 20, maxSurge 0, maxUnavailable 3; the old
/// ReplicaSet was just scaled 20 → 17 and the new one 0 → 3.
fn at_the_floor() -> (Deployment, [ReplicaSet; 2]) {
    let old_d = deployment("web", 20)
        .rolling(i(0), i(3))
        .image("img:0")
        .build();
    let d = deployment("web", 20).rolling(i(0), i(3)).build();
    let mut old = rs_of(&old_d, "old", 17, 1);
    // The ReplicaSet controller has not deleted the 3 pods yet: its status still says 20.
    if let Some(s) = old.status.as_mut() {
        s.replicas = 20;
        s.ready_replicas = 20;
        s.available_replicas = 20;
    }
    let mut new = rs_of(&d, "new", 3, 2);
    new.status = Some(ReplicaSetStatus {
        replicas: 3,
        observed_generation: Some(1),
        ..Default::default()
    });
    (d, [old, new])
}

#[test]
fn rolling_scale_down_counts_no_more_available_pods_than_spec_while_status_lags() {
    // Upstream sums status.availableReplicas (20 + 0 > 17) and would scale the old ReplicaSet
    // down again, below replicas - maxUnavailable once its pods go; bosun caps each
    // ReplicaSet's count at its spec (17 + 0 = 17): nothing more to scale down.
    let (d, rss) = at_the_floor();
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), vec![], "no scale-down below the floor");
}

#[test]
fn rolling_counts_available_pods_of_the_cache_before_the_status_says_so() {
    // The new ReplicaSet's 3 pods are Ready in the pod cache while its status still says 0:
    // bosun scales the old one down by 3 at once instead of waiting for the status write.
    let (d, rss) = at_the_floor();
    let ready: Vec<_> = (0..3)
        .map(|n| {
            pod(&format!("new-{n}"))
                .owned_by("ReplicaSet", "web-new", "rs-new")
                .ready_at(t(50))
                .build()
        })
        .collect();
    let mut pending = pod("new-3")
        .owned_by("ReplicaSet", "web-new", "rs-new")
        .build();
    pending.status = None;
    let terminating = pod("new-4")
        .owned_by("ReplicaSet", "web-new", "rs-new")
        .ready_at(t(50))
        .deleting()
        .build();
    let mut pods: Vec<&Pod> = ready.iter().collect();
    pods.extend([&pending, &terminating]);
    let s = sel(&d);
    let p = run_with_pods(
        &d,
        &s,
        &rss,
        HashMap::from([("rs-new".to_string(), pods)]),
        t(100),
    );
    assert_eq!(
        scales(&p),
        vec![("web-old".to_string(), 17, 14)],
        "3 available new pods (not the pending or terminating ones) free 3 old ones"
    );
}

/// `n` running, ready pods of ReplicaSet `rs` (uid `rs-<suffix>`), labelled `labels`.
fn running_pods(rs: &ReplicaSet, n: usize, labels: &[(&str, &str)]) -> Vec<Pod> {
    let name = rs.metadata.name.clone().unwrap_or_default();
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    (0..n)
        .map(|k| {
            let mut b = pod(&format!("{name}-{k}"))
                .owned_by("ReplicaSet", &name, &uid)
                .phase("Running")
                .ready_at(t(50));
            b.0.metadata.labels = None;
            b.labels(labels).build()
        })
        .collect()
}

#[test]
fn get_pod_map_for_deployment_ignores_pods_of_a_standalone_replicaset() {
    // A standalone ReplicaSet `cache` (no owner, 2 running pods, labels the Deployment does not
    // select) does not hold back a Recreate Deployment: upstream maps only pods of the
    // ReplicaSets the Deployment claimed.
    let d = deployment("web", 2).recreate().build();
    let mut cache = rs_of(&d, "cache", 2, 1);
    cache.metadata.name = Some("cache".into());
    cache.metadata.owner_references = None;
    cache.metadata.labels = Some([("app".to_string(), "cache".to_string())].into());
    let cache_pods = running_pods(&cache, 2, &[("app", "cache")]);
    let rss = [cache];
    let s = sel(&d);
    let p = run_with_pods(
        &d,
        &s,
        &rss,
        HashMap::from([("rs-cache".to_string(), cache_pods.iter().collect())]),
        t(100),
    );
    assert!(p.adopt.is_empty() && p.release.is_empty());
    assert_eq!(
        created(&p).and_then(|rs| rs.spec.replicas),
        Some(2),
        "the new ReplicaSet at once, at full size"
    );
}

#[test]
fn get_pod_map_for_deployment_ignores_pods_of_a_released_replicaset() {
    // An owned ReplicaSet whose labels no longer match is released in this sync: its pods are
    // no longer the Deployment's old pods.
    let old_d = deployment("web", 2).recreate().image("img:0").build();
    let d = deployment("web", 2).recreate().build();
    let mut other = rs_of(&old_d, "other", 0, 1);
    other.metadata.labels = Some([("app".to_string(), "other".to_string())].into());
    if let Some(st) = other.status.as_mut() {
        st.replicas = 0;
    }
    let other_pods = running_pods(&other, 2, &[("app", "other")]);
    let rss = [other];
    let s = sel(&d);
    let p = run_with_pods(
        &d,
        &s,
        &rss,
        HashMap::from([("rs-other".to_string(), other_pods.iter().collect())]),
        t(100),
    );
    assert_eq!(p.release.len(), 1, "the ReplicaSet is released");
    assert_eq!(created(&p).and_then(|rs| rs.spec.replicas), Some(2));
}

#[test]
fn get_pod_map_for_deployment_keeps_only_pods_the_selector_matches() {
    // Pods of an owned old ReplicaSet that were relabelled out of the selector do not block a
    // Recreate; those still selected do.
    let old_d = deployment("web", 2).recreate().image("img:0").build();
    let d = deployment("web", 2).recreate().build();
    let mut old = rs_of(&old_d, "old", 0, 1);
    if let Some(st) = old.status.as_mut() {
        st.replicas = 0;
    }
    let relabelled = running_pods(&old, 1, &[("app", "debug")]);
    let selected = running_pods(&old, 1, &[("app", "web")]);
    let rss = [old];
    let s = sel(&d);
    let observe = |pods: &[Pod]| {
        run_with_pods(
            &d,
            &s,
            &rss,
            HashMap::from([("rs-old".to_string(), pods.iter().collect())]),
            t(100),
        )
        .actions
        .iter()
        .any(|a| matches!(a, Action::Create(_)))
    };
    assert!(
        observe(&relabelled),
        "a pod outside the selector does not block"
    );
    assert!(!observe(&selected), "a selected old pod blocks");
}

#[test]
fn calculate_status_uses_replica_set_sizes_from_before_the_pass_scaled_them() {
    // One ReplicaSet with 10 available pods, the Deployment scaled 10 -> 20: upstream's status
    // of that sync counts the ReplicaSet at 10 (the object it read), so unavailableReplicas 0.
    let d10 = deployment("web", 10).rolling(i(5), i(0)).build();
    let d = deployment("web", 20).rolling(i(5), i(0)).build();
    let mut rs = rs_of(&d, "cur", 10, 1);
    set_replicas_annotations(&mut rs, 10, 10 + max_surge(&d10));
    let rss = [rs];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-cur".to_string(), 10, 20)]);
    let st = p.status.expect("a status");
    assert_eq!(st.available_replicas, 10);
    assert_eq!(
        st.unavailable_replicas, 0,
        "10 (before the scale) - 10 available"
    );
}

#[test]
fn calculate_status_caps_replica_set_statuses_by_one_pod_cache_snapshot() {
    // maxSurge 5 on 20: old wants 10 and its (lagging) status still says 15; new wants 15 and
    // its status says 12 (14 of its 15 pods are ready). Each count is the smaller of the
    // status and the pod cache: 10 + 12 = 22 replicas, not 27 (a sum no moment had, above
    // replicas + maxSurge), and never more than the ReplicaSets' statuses report.
    let old_d = deployment("web", 20)
        .rolling(i(5), i(0))
        .image("img:0")
        .build();
    let d = deployment("web", 20).rolling(i(5), i(0)).build();
    let mut old = rs_of(&old_d, "old", 10, 1);
    let mut new = rs_of(&d, "new", 15, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 20, 25);
    }
    if let Some(st) = old.status.as_mut() {
        (st.replicas, st.ready_replicas, st.available_replicas) = (15, 15, 15);
    }
    if let Some(st) = new.status.as_mut() {
        (st.replicas, st.ready_replicas, st.available_replicas) = (12, 12, 12);
    }
    let old_pods = running_pods(&old, 10, &[("app", "web")]);
    let mut new_pods = running_pods(&new, 15, &[("app", "web")]);
    // One new pod not yet ready, one old pod already terminating (not counted at all).
    new_pods[14] = pod("web-new-14")
        .owned_by("ReplicaSet", "web-new", "rs-new")
        .phase("Running")
        .build();
    let mut leaving = running_pods(&old, 1, &[("app", "web")]).remove(0);
    leaving.metadata.name = Some("web-old-leaving".into());
    leaving.metadata.deletion_timestamp = Some(Time(t(90)));
    let mut old_refs: Vec<&Pod> = old_pods.iter().collect();
    old_refs.push(&leaving);
    let rss = [old, new];
    let s = sel(&d);
    let p = run_with_pods(
        &d,
        &s,
        &rss,
        HashMap::from([
            ("rs-old".to_string(), old_refs),
            ("rs-new".to_string(), new_pods.iter().collect()),
        ]),
        t(100),
    );
    let st = p.status.expect("a status");
    assert_eq!(
        (
            st.replicas,
            st.updated_replicas,
            st.ready_replicas,
            st.available_replicas
        ),
        (22, 12, 22, 22)
    );
}

#[test]
fn replica_set_create_error_sets_progressing_false_on_the_deployments_own_status() {
    let mut d = deployment("web", 3).build();
    let mut st = DeploymentStatus {
        observed_generation: Some(1),
        replicas: 3,
        available_replicas: 3,
        ..Default::default()
    };
    progress::set_condition(
        &mut st,
        progress::condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "ok".into(),
            t(1),
        ),
    );
    progress::set_condition(
        &mut st,
        progress::condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            "ok".into(),
            t(1),
        ),
    );
    d.status = Some(st.clone());
    let (message, status) =
        progress::replica_set_create_failed(&d, "web-abc", "exceeded quota: q", t(50));
    assert_eq!(
        message,
        r#"Failed to create new replica set "web-abc": exceeded quota: q"#
    );
    let status = status.expect("a progress deadline: the condition is written");
    assert_eq!(
        cond(&status, "Progressing"),
        Some(("False", "ReplicaSetCreateError"))
    );
    assert_eq!(
        progress::get(&status, "Progressing").and_then(|c| c.message.clone()),
        Some(message.clone())
    );
    assert_eq!(
        cond(&status, "Available"),
        Some(("True", "MinimumReplicasAvailable"))
    );
    assert_eq!(
        (
            status.replicas,
            status.available_replicas,
            status.observed_generation
        ),
        (3, 3, Some(1))
    );
    // Without a progress deadline upstream writes no condition, only the event.
    d.spec.progress_deadline_seconds = None;
    assert!(
        progress::replica_set_create_failed(&d, "web-abc", "x", t(50))
            .1
            .is_none()
    );
}

#[test]
fn hash_collision_raises_the_count_and_keeps_the_rest_of_the_status() {
    let mut d = deployment("web", 3).build();
    let mut st = DeploymentStatus {
        observed_generation: Some(4),
        replicas: 3,
        ready_replicas: 3,
        available_replicas: 3,
        updated_replicas: 3,
        collision_count: Some(1),
        ..Default::default()
    };
    progress::set_condition(
        &mut st,
        progress::condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            "ok".into(),
            t(1),
        ),
    );
    d.status = Some(st.clone());
    let raised = raised_collision_count(&d);
    assert_eq!(raised.collision_count, Some(2));
    st.collision_count = Some(2);
    assert_eq!(raised, st, "everything else as it was");
    d.status = None;
    assert_eq!(raised_collision_count(&d).collision_count, Some(1));
}

#[test]
fn replica_set_writes_carry_the_resource_version_they_were_decided_on() {
    // A sync on a cache older than its own previous write must conflict, not scale again.
    let old_d = deployment("web", 4)
        .rolling(i(1), i(0))
        .image("img:0")
        .build();
    let d = deployment("web", 4).rolling(i(1), i(0)).build();
    let mut old = rs_of(&old_d, "old", 4, 1);
    old.metadata.resource_version = Some("41".into());
    let mut new = rs_of(&d, "new", 1, 2);
    new.metadata.resource_version = Some("42".into());
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 4, 5);
    }
    let rss = [old, new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    let versions: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Scale {
                name,
                resource_version,
                ..
            } => Some((name.as_str(), resource_version.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(versions, [("web-old", Some("41"))]);
}

#[test]
fn status_counts_pods_an_adopted_replicaset_owns_even_outside_the_selector() {
    // A ReplicaSet the Deployment adopted whose pods carry labels the Deployment does not
    // select: its status counts them, and so does the Deployment's (upstream sums the
    // ReplicaSets' statuses). Found by the differential test (seed 792219406).
    let d = deployment("web", 2).build();
    let mut rs = rs_of(&d, "cur", 2, 1);
    set_replicas_annotations(&mut rs, 2, 3);
    let pods = running_pods(&rs, 2, &[("app", "other")]);
    let rss = [rs];
    let s = sel(&d);
    let p = run_with_pods(
        &d,
        &s,
        &rss,
        HashMap::from([("rs-cur".to_string(), pods.iter().collect())]),
        t(100),
    );
    let st = p.status.expect("a status");
    assert_eq!(
        (st.replicas, st.ready_replicas, st.available_replicas),
        (2, 2, 2)
    );
}

// ---- podReplacementPolicy (KEP-3973) --------------------------------------------------------

fn termination_complete(mut d: Deployment) -> Deployment {
    d.spec.pod_replacement_policy =
        Some(bosun_api::apps::PodReplacementPolicy::TerminationComplete);
    d
}

/// Replicas 10, maxSurge 0, maxUnavailable 2: the old ReplicaSet was scaled down to 8 and its
/// 2 deleted pods are still terminating; the new ReplicaSet has none yet.
fn midway_with_terminating(d: &Deployment, terminating: i32) -> [ReplicaSet; 2] {
    let old_d = deployment("web", 10)
        .rolling(i(0), i(2))
        .image("img:0")
        .build();
    let mut old = rs_of(&old_d, "old", 8, 1);
    let mut new = rs_of(d, "new", 0, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 10, 10);
    }
    if let Some(st) = old.status.as_mut() {
        st.terminating_replicas = Some(terminating);
    }
    [old, new]
}

#[test]
fn termination_complete_rolling_update_counts_terminating_pods_against_replicas_plus_surge() {
    let started = deployment("web", 10).rolling(i(0), i(2)).build();
    let complete = termination_complete(started.clone());
    // TerminationStarted (today's, upstream's): the new ReplicaSet grows into the room the
    // scale-down made, on top of the 2 pods still terminating.
    let rss = midway_with_terminating(&started, 2);
    let s = sel(&started);
    let p = run(&started, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-new".to_string(), 0, 2)]);
    // TerminationComplete: 8 + 2 terminating already fill replicas + maxSurge = 10.
    let rss = midway_with_terminating(&complete, 2);
    let p = run(&complete, &s, &rss, t(100));
    assert_eq!(scales(&p), [], "waits for the terminating pods");
    // One of them gone: one new pod.
    let rss = midway_with_terminating(&complete, 1);
    let p = run(&complete, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-new".to_string(), 0, 1)]);
}

#[test]
fn termination_complete_reads_terminating_pods_from_the_pod_cache_before_the_status() {
    // The ReplicaSet's status has not caught up (it says 0 terminating), but the pod cache holds
    // its 8 running pods and 2 being deleted: the cache wins.
    let d = termination_complete(deployment("web", 10).rolling(i(0), i(2)).build());
    let rss = midway_with_terminating(&d, 0);
    let mut pods = running_pods(&rss[0], 8, &[("app", "web")]);
    let old_name = rss[0].metadata.name.clone().unwrap_or_default();
    for k in 0..2 {
        pods.push(
            pod(&format!("{old_name}-gone-{k}"))
                .owned_by("ReplicaSet", &old_name, "rs-old")
                .phase("Running")
                .ready_at(t(50))
                .deleting()
                .build(),
        );
    }
    let by_rs = HashMap::from([("rs-old".to_string(), pods.iter().collect::<Vec<_>>())]);
    let s = sel(&d);
    let p = run_with_pods(&d, &s, &rss, by_rs, t(100));
    assert_eq!(scales(&p), []);
}

#[test]
fn termination_complete_scale_up_waits_until_it_fits_whole() {
    // One ReplicaSet of 10 (2 of its pods terminating, replaced already), the Deployment scaled
    // to 15: with TerminationComplete the Pods that exist (12) + 5 would exceed 15, so the
    // scale-up waits; once the terminating pods are gone it happens whole.
    let d10 = deployment("web", 10).rolling(i(0), i(2)).build();
    let started = deployment("web", 15).rolling(i(0), i(2)).build();
    let complete = termination_complete(started.clone());
    let with = |terminating: i32| {
        let mut rs = rs_of(&d10, "cur", 10, 1);
        set_replicas_annotations(&mut rs, 10, 10 + max_surge(&d10));
        if let Some(st) = rs.status.as_mut() {
            st.terminating_replicas = Some(terminating);
        }
        // The template of d10 is the Deployment's: it is the new ReplicaSet.
        [rs]
    };
    let s = sel(&started);
    let rss = with(2);
    assert_eq!(
        scales(&run(&started, &s, &rss, t(100))),
        [("web-cur".to_string(), 10, 15)]
    );
    assert_eq!(scales(&run(&complete, &s, &rss, t(100))), []);
    let rss = with(0);
    assert_eq!(
        scales(&run(&complete, &s, &rss, t(100))),
        [("web-cur".to_string(), 10, 15)]
    );
}

#[test]
fn partition_is_a_share_of_replicas_rounded_up_and_zero_outside_rolling_updates() {
    let with = |p: IntOrString, replicas: i32| {
        let mut d = deployment("web", replicas).rolling(i(1), i(0)).build();
        if let Some(ru) = d
            .spec
            .strategy
            .as_mut()
            .and_then(|s| s.rolling_update.as_mut())
        {
            ru.partition = Some(p);
        }
        d
    };
    let pct = |s: &str| IntOrString::String(s.into());
    assert_eq!(partition(&with(pct("30%"), 10)), 3);
    assert_eq!(partition(&with(pct("25%"), 10)), 3, "2.5 rounds up");
    assert_eq!(partition(&with(pct("100%"), 10)), 10);
    assert_eq!(partition(&with(IntOrString::Int(4), 10)), 4);
    assert_eq!(
        partition(&with(IntOrString::Int(40), 10)),
        10,
        "at most replicas"
    );
    assert_eq!(partition(&deployment("web", 10).build()), 0, "unset");
    let mut recreate = with(IntOrString::Int(4), 10);
    if let Some(s) = recreate.spec.strategy.as_mut() {
        s.type_ = Some(bosun_api::apps::DeploymentStrategyType::Recreate);
    }
    assert_eq!(partition(&recreate), 0, "RollingUpdate only");
}

#[test]
fn a_partition_keeps_the_old_pods_of_a_new_deployment_at_none() {
    // A Deployment's first ReplicaSet has no old revision to keep Pods on: it gets every replica.
    let mut d = deployment("web", 5).rolling(i(1), i(0)).build();
    if let Some(ru) = d
        .spec
        .strategy
        .as_mut()
        .and_then(|s| s.rolling_update.as_mut())
    {
        ru.partition = Some(IntOrString::Int(3));
    }
    let s = sel(&d);
    let p = run(&d, &s, &[], t(100));
    assert_eq!(created(&p).and_then(|rs| rs.spec.replicas), Some(5));
}

#[test]
fn termination_complete_scale_down_is_never_held_back() {
    let d10 = deployment("web", 10).rolling(i(0), i(2)).build();
    let complete = termination_complete(deployment("web", 4).rolling(i(0), i(2)).build());
    let mut rs = rs_of(&d10, "cur", 10, 1);
    set_replicas_annotations(&mut rs, 10, 10);
    if let Some(st) = rs.status.as_mut() {
        st.terminating_replicas = Some(3);
    }
    let rss = [rs];
    let s = sel(&complete);
    assert_eq!(
        scales(&run(&complete, &s, &rss, t(100))),
        [("web-cur".to_string(), 10, 4)]
    );
}

#[test]
fn termination_complete_deployment_is_not_complete_while_pods_terminate() {
    let started = deployment("web", 3).build();
    let complete = termination_complete(started.clone());
    let status = |terminating| DeploymentStatus {
        observed_generation: Some(1),
        replicas: 3,
        updated_replicas: 3,
        ready_replicas: 3,
        available_replicas: 3,
        terminating_replicas: Some(terminating),
        ..Default::default()
    };
    assert!(deployment_complete(&started, &status(1)));
    assert!(!deployment_complete(&complete, &status(1)));
    assert!(deployment_complete(&complete, &status(0)));
    // And a terminating pod going counts as progress.
    let mut was = complete.clone();
    was.status = Some(status(2));
    assert!(deployment_progressing(&was, &status(1)));
    let mut was = started.clone();
    was.status = Some(status(2));
    assert!(!deployment_progressing(&was, &status(1)));
}

#[test]
fn a_partitioned_new_replicaset_gives_back_the_surge_a_scale_up_left_it() {
    // Replicas 10 -> 20 with partition 30% and maxSurge 2: proportional scaling made old 6 and
    // new 16 (22 = replicas + maxSurge); the partition wants 6 old and 14 new, so the new
    // ReplicaSet gives its 2 surplus back.
    let old_d = deployment("web", 20)
        .rolling(i(2), i(0))
        .image("img:0")
        .build();
    let mut d = deployment("web", 20).rolling(i(2), i(0)).build();
    if let Some(ru) = d
        .spec
        .strategy
        .as_mut()
        .and_then(|s| s.rolling_update.as_mut())
    {
        ru.partition = Some(IntOrString::String("30%".into()));
    }
    let mut old = rs_of(&old_d, "old", 6, 1);
    let mut new = rs_of(&d, "new", 16, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 20, 22);
    }
    let rss = [old, new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-new".to_string(), 16, 14)]);
    // A partition raised by hand at replicas in all rolls nothing back.
    let mut old = rs_of(&old_d, "old", 4, 1);
    let mut new = rs_of(&d, "new", 16, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 20, 22);
    }
    let rss = [old, new];
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), []);
}

// ---- abort (Argo Rollouts' abort and progressDeadlineAbort) ---------------------------------

/// Replicas 10, maxSurge 2, maxUnavailable 0: the old ReplicaSet (hash `old`, revision 1) has
/// 8 available pods, the new one (hash `new`, revision 2) 4 pods, none available.
fn stuck_rollout(d: &Deployment) -> [ReplicaSet; 2] {
    let old_d = deployment("web", 10)
        .rolling(i(2), i(0))
        .image("img:0")
        .build();
    let mut old = rs_of(&old_d, "old", 8, 1);
    let mut new = rs_of(d, "new", 4, 2);
    for rs in [&mut old, &mut new] {
        set_replicas_annotations(rs, 10, 12);
    }
    if let Some(st) = new.status.as_mut() {
        (st.ready_replicas, st.available_replicas) = (0, 0);
    }
    [old, new]
}

fn progressing_since(at: Timestamp) -> DeploymentStatus {
    DeploymentStatus {
        observed_generation: Some(1),
        conditions: Some(vec![progress::condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "x".into(),
            at,
        )]),
        ..Default::default()
    }
}

#[test]
fn an_aborted_rollout_rolls_back_toward_the_last_complete_revision_within_the_bounds() {
    let mut d = deployment("web", 10).rolling(i(2), i(0)).build();
    let mut st = progressing_since(t(50));
    st.aborted_template_hash = Some("new".into());
    d.status = Some(st);
    let rss = stuck_rollout(&d);
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    // 12 pods = replicas + maxSurge already, nothing available to lose: the new ReplicaSet's
    // unavailable pods go first, 2 of them (12 - 10 available needed - 0 unavailable on old).
    assert_eq!(scales(&p), [("web-new".to_string(), 4, 2)]);
    let st = p.status.expect("a status");
    assert_eq!(cond(&st, "Progressing"), Some(("False", abort::ABORTED)));
    let c = progress::get(&st, "Progressing").expect("Progressing");
    assert_eq!(
        c.message.as_deref(),
        Some("Rollout of ReplicaSet \"web-new\" aborted; rolling back to ReplicaSet \"web-old\".")
    );
    assert!(
        p.events
            .iter()
            .any(|e| e.warning && e.reason == abort::ABORTED)
    );
}

#[test]
fn an_aborted_rollout_scales_the_stable_revision_up_once_there_is_room() {
    let mut d = deployment("web", 10).rolling(i(2), i(0)).build();
    let mut st = progressing_since(t(50));
    st.aborted_template_hash = Some("new".into());
    d.status = Some(st);
    let [old, mut new] = stuck_rollout(&d);
    new.spec.replicas = Some(2);
    let rss = [old, new];
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(100));
    assert_eq!(scales(&p), [("web-old".to_string(), 8, 10)]);
}

#[test]
fn progress_deadline_abort_gives_the_template_up_when_the_deadline_passes() {
    let mut d = deployment("web", 10).rolling(i(2), i(0)).build();
    // Last progress at t(0), and the status already counts what the ReplicaSets show.
    let mut st = progressing_since(t(0));
    (
        st.replicas,
        st.updated_replicas,
        st.ready_replicas,
        st.available_replicas,
    ) = (12, 4, 8, 8);
    d.status = Some(st);
    let rss = stuck_rollout(&d);
    let s = sel(&d);
    // Without the switch: upstream's ProgressDeadlineExceeded, nothing rolled back.
    let p = run(&d, &s, &rss, t(1000));
    let st = p.status.expect("a status");
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("False", "ProgressDeadlineExceeded"))
    );
    assert_eq!(st.aborted_template_hash, None);
    // With it: the template is given up, and the next pass rolls back.
    d.spec.progress_deadline_abort = Some(true);
    let p = run(&d, &s, &rss, t(1000));
    let st = p.status.expect("a status");
    assert_eq!(st.aborted_template_hash.as_deref(), Some("new"));
    assert_eq!(
        p.abort,
        Some(Some("new".to_string())),
        "written by its own manager"
    );
    assert_eq!(cond(&st, "Progressing"), Some(("False", abort::ABORTED)));
    let msg = progress::get(&st, "Progressing").and_then(|c| c.message.clone());
    assert_eq!(
        msg.as_deref(),
        Some(
            "Rollout of ReplicaSet \"web-new\" timed out progressing; rolling back to ReplicaSet \"web-old\"."
        )
    );
    d.status = Some(st);
    let p = run(&d, &s, &rss, t(1001));
    assert_eq!(scales(&p), [("web-new".to_string(), 4, 2)]);
}

#[test]
fn a_deadline_abort_whose_hash_landed_before_its_condition_still_says_it_timed_out() {
    let mut d = deployment("web", 10).rolling(i(2), i(0)).build();
    d.spec.progress_deadline_abort = Some(true);
    let mut st = progressing_since(t(0));
    st.aborted_template_hash = Some("new".into());
    d.status = Some(st);
    let rss = stuck_rollout(&d);
    let s = sel(&d);
    // Last progress at t(0), deadline 600 s: the condition read is still ReplicaSetUpdated.
    let st = run(&d, &s, &rss, t(1000)).status.expect("a status");
    let msg = progress::get(&st, "Progressing").and_then(|c| c.message.clone());
    assert_eq!(
        msg.as_deref(),
        Some(
            "Rollout of ReplicaSet \"web-new\" timed out progressing; rolling back to ReplicaSet \"web-old\"."
        )
    );
}

#[test]
fn an_abort_of_a_template_no_longer_current_is_forgotten_and_the_rollout_resumes() {
    let mut d = deployment("web", 10).rolling(i(2), i(0)).build();
    let mut st = progressing_since(t(50));
    st.aborted_template_hash = Some("an-older-template".into());
    st.conditions = Some(vec![progress::condition(
        "Progressing",
        "False",
        abort::ABORTED,
        "x".into(),
        t(0),
    )]);
    d.status = Some(st);
    let rss = stuck_rollout(&d);
    let s = sel(&d);
    let p = run(&d, &s, &rss, t(5000));
    assert_eq!(p.abort, Some(None), "removed by its own manager");
    let st = p.status.expect("a status");
    assert_eq!(st.aborted_template_hash, None);
    assert_eq!(
        cond(&st, "Progressing"),
        Some(("True", "ReplicaSetUpdated")),
        "progressing again with a fresh deadline, not timed out at once"
    );
}

#[test]
fn the_write_that_shows_a_rollout_complete_is_not_paced() {
    let d = deployment("web", 3).build();
    let mut st = DeploymentStatus {
        observed_generation: Some(1),
        replicas: 3,
        updated_replicas: 3,
        available_replicas: 2,
        ..Default::default()
    };
    assert!(util::may_pace(&d, &st), "2 of 3 available");
    st.available_replicas = 3;
    assert!(!util::may_pace(&d, &st), "complete");
}

#[test]
fn a_completed_rollout_records_its_revision_as_the_stable_one() {
    let mut d = deployment("web", 3).build();
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        ..Default::default()
    });
    let rss = [rs_of(&d, "cur", 3, 1)];
    let s = sel(&d);
    let st = run(&d, &s, &rss, t(100)).status.expect("a status");
    assert_eq!(st.stable_template_hash.as_deref(), Some("cur"));
}

#[test]
fn an_aborted_recreate_rollout_empties_the_new_revision_before_the_stable_one_returns() {
    let old_d = deployment("web", 3).recreate().image("img:0").build();
    let mut d = deployment("web", 3).recreate().build();
    let mut st = progressing_since(t(50));
    st.aborted_template_hash = Some("new".into());
    d.status = Some(st);
    let old = rs_of(&old_d, "old", 0, 1);
    let new = rs_of(&d, "new", 3, 2);
    let rss = [old.clone(), new];
    let s = sel(&d);
    assert_eq!(
        scales(&run(&d, &s, &rss, t(100))),
        [("web-new".to_string(), 3, 0)]
    );
    // The new ReplicaSet at 0 and its pods gone: the stable one comes back.
    let mut gone = rs_of(&d, "new", 0, 2);
    if let Some(st) = gone.status.as_mut() {
        st.replicas = 0;
    }
    let rss = [old, gone];
    assert_eq!(
        scales(&run(&d, &s, &rss, t(100))),
        [("web-old".to_string(), 0, 3)]
    );
}

// ---- podsToDelete (OpenKruise's scaleStrategy) -----------------------------------------------

fn pods_to_delete_actions(p: &Plan<'_>) -> Vec<(String, Vec<String>)> {
    p.actions
        .iter()
        .filter_map(|a| match a {
            Action::PodsToDelete { name, pods, .. } => Some((name.clone(), pods.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn deployment_pods_to_delete_are_handed_to_the_replicasets_that_own_them() {
    let old_d = deployment("web", 4)
        .rolling(i(1), i(0))
        .image("img:0")
        .build();
    let mut d = deployment("web", 4).rolling(i(1), i(0)).build();
    d.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
        pods_to_delete: Some(vec!["web-old-0".into(), "web-new-1".into(), "gone".into()]),
    });
    let old = rs_of(&old_d, "old", 2, 1);
    let new = rs_of(&d, "new", 2, 2);
    let old_pods = running_pods(&old, 2, &[("app", "web")]);
    let new_pods = running_pods(&new, 2, &[("app", "web")]);
    let by_rs = HashMap::from([
        ("rs-old".to_string(), old_pods.iter().collect::<Vec<_>>()),
        ("rs-new".to_string(), new_pods.iter().collect::<Vec<_>>()),
    ]);
    let rss = [old, new];
    let s = sel(&d);
    let p = run_with_pods(&d, &s, &rss, by_rs.clone(), t(100));
    assert_eq!(
        pods_to_delete_actions(&p),
        [
            ("web-old".to_string(), vec!["web-old-0".to_string()]),
            ("web-new".to_string(), vec!["web-new-1".to_string()]),
        ]
    );
    assert_eq!(
        p.pods_to_delete,
        Some(vec!["web-old-0".to_string(), "web-new-1".to_string()]),
        "the name no Pod has leaves the Deployment's list"
    );
    // Once handed over, nothing more to write.
    let mut rss = rss;
    for (rs, name) in rss.iter_mut().zip(["web-old-0", "web-new-1"]) {
        rs.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
            pods_to_delete: Some(vec![name.to_string()]),
        });
    }
    d.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
        pods_to_delete: Some(vec!["web-old-0".into(), "web-new-1".into()]),
    });
    let p = run_with_pods(&d, &s, &rss, by_rs, t(100));
    assert_eq!(pods_to_delete_actions(&p), []);
    assert_eq!(p.pods_to_delete, None);
}

#[test]
fn a_selector_selecting_everything_is_refused_with_upstreams_event() {
    let mut d = deployment("web", 1).build();
    assert!(super::selector(&d).is_ok());
    d.spec.selector = Default::default();
    let e = super::selector(&d).expect_err("selects everything");
    assert_eq!(
        (e.warning, e.reason.as_str(), e.message.as_str()),
        (
            true,
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required."
        )
    );
}

#[test]
fn only_changed_annotations_are_written() {
    let mut d = deployment("web", 1).build();
    d.metadata.annotations = Some(
        [("deployment.kubernetes.io/revision", "2"), ("team", "a")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    );
    let rss: [ReplicaSet; 0] = [];
    let s = sel(&d);
    let mut p = run(&d, &s, &rss, t(0));
    p.annotations = Some(
        [("deployment.kubernetes.io/revision", "3"), ("team", "a")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
    );
    assert_eq!(
        p.changed_annotations(&d),
        [(
            "deployment.kubernetes.io/revision".to_string(),
            "3".to_string()
        )]
        .into()
    );
    p.annotations = None;
    assert!(p.changed_annotations(&d).is_empty());
}

#[test]
fn a_status_following_pods_is_paced_but_not_one_with_writes_or_a_new_generation() {
    let mut d = deployment("web", 3).build();
    d.metadata.generation = Some(1);
    d.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        ..Default::default()
    });
    let rss: [ReplicaSet; 0] = [];
    let s = sel(&d);
    let mut p = run(&d, &s, &rss, t(0));
    p.actions.clear();
    p.abort = None;
    p.status = Some(DeploymentStatus {
        observed_generation: Some(1),
        replicas: 3,
        updated_replicas: 3,
        available_replicas: 1,
        ..Default::default()
    });
    assert!(
        p.may_pace_status(&d),
        "1 of 3 available, nothing else written"
    );
    p.abort = Some(None);
    assert!(!p.may_pace_status(&d), "an abort is reported at once");
    p.abort = None;
    let mut newer = d.clone();
    newer.metadata.generation = Some(2);
    assert!(
        !p.may_pace_status(&newer),
        "a new generation is observed at once"
    );
}
