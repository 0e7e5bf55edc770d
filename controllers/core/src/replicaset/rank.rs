//! Which pods a ReplicaSet deletes first: upstream's `ActivePodsWithRanks.Less`
//! (`controller_utils.go`) and `getPodsToDelete` (`replica_set.go`).
//!
//! "Smaller" is deleted first; the first rule that tells two pods apart decides:
//!
//! 1. unassigned before assigned;
//! 2. phase Pending < Unknown < Running (any other phase counts as Pending);
//! 3. not Ready before Ready;
//! 4. lower `controller.kubernetes.io/pod-deletion-cost` first;
//! 5. higher rank (more related pods on the same node) first;
//! 6. both Ready at different times: more recently Ready first, by `log2` buckets of the age in
//!    nanoseconds, pod UID deciding within a bucket (a zero time counts as most recent);
//! 7. more container restarts first (regular containers, then restartable init containers);
//! 8. newer first by the same bucketing of `creationTimestamp`;
//! 9. otherwise equal.
//!
//! Upstream's relation is not transitive in every corner (rule 6 breaks ties by UID only when
//! the times differ), so pods are ordered with a merge sort that needs no total order and never
//! panics.

use std::cmp::Ordering;

use k8s_openapi::api::core::v1::Pod;

use crate::Timestamp;
use crate::pod::{deletion_cost, is_ready, max_restarts, phase, ready_since};

/// A candidate for deletion with its rank.
#[derive(Debug, Clone, Copy)]
pub struct Ranked<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Active related pods on the same node (0 for a ReplicaSet without a controller).
    pub rank: usize,
}

fn phase_ordinal(p: &Pod) -> u8 {
    match phase(p) {
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    }
}

fn node(p: &Pod) -> &str {
    p.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

fn uid(p: &Pod) -> &str {
    p.metadata.uid.as_deref().unwrap_or("")
}

/// `floor(log2(now - t))` with the age in nanoseconds; −1 for a non-positive age.
fn log_bucket(t: Timestamp, now: Timestamp) -> i64 {
    let age = t.duration_until(now).as_nanos();
    if age > 0 {
        (age as f64).log2() as i64
    } else {
        -1
    }
}

/// Rules 6 and 8 for two different times, `None` meaning unknown (zero).
fn time_less(
    a: Option<Timestamp>,
    b: Option<Timestamp>,
    ua: &str,
    ub: &str,
    now: Timestamp,
) -> bool {
    match (a, b) {
        // afterOrZero: a zero time is smaller.
        (None, _) => true,
        (_, None) => false,
        (Some(a), Some(b)) => {
            let diff = log_bucket(a, now) - log_bucket(b, now);
            if diff == 0 { ua < ub } else { diff < 0 }
        }
    }
}

/// `ActivePodsWithRanks.Less`: whether `a` is deleted before `b`.
pub fn less(a: &Ranked<'_>, b: &Ranked<'_>, now: Timestamp) -> bool {
    let (pa, pb) = (a.pod, b.pod);
    // 1.
    if node(pa) != node(pb) && (node(pa).is_empty() || node(pb).is_empty()) {
        return node(pa).is_empty();
    }
    // 2.
    if phase_ordinal(pa) != phase_ordinal(pb) {
        return phase_ordinal(pa) < phase_ordinal(pb);
    }
    // 3.
    if is_ready(pa) != is_ready(pb) {
        return !is_ready(pa);
    }
    // 4.
    let (ca, cb) = (deletion_cost(pa), deletion_cost(pb));
    if ca != cb {
        return ca < cb;
    }
    // 5.
    if a.rank != b.rank {
        return a.rank > b.rank;
    }
    // 6.
    if is_ready(pa) && is_ready(pb) {
        let (ta, tb) = (ready_since(pa), ready_since(pb));
        if ta != tb {
            return time_less(ta, tb, uid(pa), uid(pb), now);
        }
    }
    // 7.
    let (ra, rb) = (max_restarts(pa), max_restarts(pb));
    if ra.0 != rb.0 {
        return ra.0 > rb.0;
    }
    if ra.1 != rb.1 {
        return ra.1 > rb.1;
    }
    // 8.
    let ta = pa.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let tb = pb.metadata.creation_timestamp.as_ref().map(|t| t.0);
    if ta != tb {
        return time_less(ta, tb, uid(pa), uid(pb), now);
    }
    false
}

/// `Less` as an ordering for the merge sort.
fn compare(a: &Ranked<'_>, b: &Ranked<'_>, now: Timestamp) -> Ordering {
    if less(a, b, now) {
        Ordering::Less
    } else if less(b, a, now) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// Stable merge sort by `compare`; correct for any comparator, never panics.
fn merge_sort<'a>(items: Vec<Ranked<'a>>, now: Timestamp) -> Vec<Ranked<'a>> {
    if items.len() <= 1 {
        return items;
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let (left, right) = (merge_sort(left, now), merge_sort(right, now));
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if compare(b, a, now) == Ordering::Less {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    out
}

/// `getPodsToDelete`: the `count` pods to delete, first to last. All of them when `count`
/// covers every candidate (no sorting, as upstream).
pub fn pods_to_delete<'a>(
    candidates: Vec<Ranked<'a>>,
    count: usize,
    now: Timestamp,
) -> Vec<&'a Pod> {
    if count >= candidates.len() {
        return candidates.into_iter().map(|r| r.pod).collect();
    }
    merge_sort(candidates, now)
        .into_iter()
        .take(count)
        .map(|r| r.pod)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SignedDuration;
    use crate::pod::fixtures::{pod, t};

    const NOW: i64 = 100_000;

    fn r(p: &Pod) -> Ranked<'_> {
        Ranked { pod: p, rank: 0 }
    }

    fn first(a: &Pod, b: &Pod) -> bool {
        less(&r(a), &r(b), t(NOW)) && !less(&r(b), &r(a), t(NOW))
    }

    #[test]
    fn rule1_unassigned_before_assigned() {
        assert!(first(
            &pod("a").ready().build(),
            &pod("b").ready().on_node("n1").build()
        ));
    }

    #[test]
    fn rule2_pending_before_unknown_before_running() {
        let pending = pod("a").on_node("n").phase("Pending").build();
        let unknown = pod("b").on_node("n").phase("Unknown").build();
        let running = pod("c").on_node("n").phase("Running").build();
        let empty = pod("d").on_node("n").phase("").build();
        assert!(first(&pending, &unknown));
        assert!(first(&unknown, &running));
        assert!(
            first(&empty, &unknown),
            "an unknown phase string counts as Pending"
        );
    }

    #[test]
    fn rule3_not_ready_before_ready() {
        assert!(first(
            &pod("a").on_node("n").not_ready().build(),
            &pod("b").on_node("n").ready().build()
        ));
    }

    #[test]
    fn rule4_lower_deletion_cost_first() {
        let cheap = pod("a")
            .on_node("n")
            .ready()
            .annotation("controller.kubernetes.io/pod-deletion-cost", "-10")
            .build();
        let dear = pod("b")
            .on_node("n")
            .ready()
            .annotation("controller.kubernetes.io/pod-deletion-cost", "10")
            .build();
        assert!(first(&cheap, &dear));
    }

    #[test]
    fn rule5_higher_rank_first() {
        let a = pod("a").on_node("n1").ready().build();
        let b = pod("b").on_node("n2").ready().build();
        let (ra, rb) = (Ranked { pod: &a, rank: 3 }, Ranked { pod: &b, rank: 1 });
        assert!(less(&ra, &rb, t(NOW)) && !less(&rb, &ra, t(NOW)));
    }

    #[test]
    fn rule6_more_recently_ready_first_by_log_bucket() {
        // Ready 10 s ago vs 10 000 s ago: different buckets.
        let recent = pod("z").on_node("n").ready_at(t(NOW - 10)).build();
        let old = pod("a").on_node("n").ready_at(t(NOW - 10_000)).build();
        assert!(first(&recent, &old));
    }

    #[test]
    fn rule6_same_log_bucket_is_decided_by_uid() {
        // 1000 s and 1001 s ago fall in one bucket; the smaller UID goes first even though
        // the other pod has more restarts.
        let a = pod("a")
            .uid("uid-a")
            .on_node("n")
            .ready_at(t(NOW - 1001))
            .build();
        let b = pod("b")
            .uid("uid-b")
            .on_node("n")
            .ready_at(t(NOW - 1000))
            .restarts(9)
            .build();
        assert!(first(&a, &b));
    }

    #[test]
    fn rule7_more_restarts_first() {
        let flaky = pod("a").on_node("n").ready().restarts(5).build();
        let calm = pod("b").on_node("n").ready().restarts(1).build();
        assert!(first(&flaky, &calm));
    }

    #[test]
    fn rule8_newer_first() {
        let newer = pod("z").on_node("n").ready().created(t(NOW - 5)).build();
        let older = pod("a")
            .on_node("n")
            .ready()
            .created(t(NOW - 50_000))
            .build();
        assert!(first(&newer, &older));
    }

    #[test]
    fn rule9_identical_pods_are_equal() {
        let a = pod("a").uid("same").on_node("n").ready().build();
        let b = pod("b").uid("same").on_node("n").ready().build();
        assert!(!less(&r(&a), &r(&b), t(NOW)) && !less(&r(&b), &r(&a), t(NOW)));
    }

    #[test]
    fn zero_ready_time_counts_as_most_recent() {
        let mut zero = pod("z").on_node("n").ready().build();
        if let Some(c) = zero.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[0].last_transition_time = None;
        }
        let old = pod("a").on_node("n").ready_at(t(NOW - 10)).build();
        assert!(first(&zero, &old));
    }

    #[test]
    fn get_pods_to_delete_takes_all_without_sorting_when_deleting_everything() {
        let a = pod("a").on_node("n").ready().build();
        let b = pod("b").build();
        let out = pods_to_delete(vec![r(&a), r(&b)], 2, t(NOW));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].metadata.name.as_deref(), Some("a"));
    }

    #[test]
    fn get_pods_to_delete_takes_the_smallest() {
        let ready = pod("ready").on_node("n").ready().build();
        let pending = pod("pending").on_node("n").build();
        let unassigned = pod("unassigned").build();
        let out = pods_to_delete(vec![r(&ready), r(&pending), r(&unassigned)], 2, t(NOW));
        let names: Vec<_> = out
            .iter()
            .map(|p| p.metadata.name.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(names, ["unassigned", "pending"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn arb_pod() -> impl Strategy<Value = (Pod, usize)> {
            (
                0u8..3,
                0u8..4,
                any::<bool>(),
                -2i32..3,
                0usize..3,
                0i64..5000,
                0i32..3,
                0i64..5000,
                0u8..4,
            )
                .prop_map(
                    |(node, ph, ready, cost, rank, ready_age, restarts, age, uid)| {
                        let mut b = pod(&format!("p{uid}"))
                            .uid(&format!("u{uid}"))
                            .annotation(
                                "controller.kubernetes.io/pod-deletion-cost",
                                &cost.to_string(),
                            )
                            .restarts(restarts)
                            .created(t(NOW) - SignedDuration::from_secs(age));
                        if node > 0 {
                            b = b.on_node(&format!("n{node}"));
                        }
                        b = if ready {
                            b.ready_at(t(NOW) - SignedDuration::from_secs(ready_age))
                        } else {
                            b.not_ready()
                        };
                        b = b.phase(["Pending", "Unknown", "Running", ""][ph as usize]);
                        (b.build(), rank)
                    },
                )
        }

        proptest! {
            #[test]
            fn ranking_is_irreflexive_and_antisymmetric(a in arb_pod(), b in arb_pod()) {
                let (ra, rb) = (Ranked { pod: &a.0, rank: a.1 }, Ranked { pod: &b.0, rank: b.1 });
                prop_assert!(!less(&ra, &ra, t(NOW)));
                prop_assert!(!(less(&ra, &rb, t(NOW)) && less(&rb, &ra, t(NOW))));
            }

            #[test]
            fn deleting_k_pods_picks_k_pods_with_no_better_candidate_left(
                pods in proptest::collection::vec(arb_pod(), 1..30), k in 0usize..30
            ) {
                let ranked: Vec<_> = pods.iter().map(|(p, r)| Ranked { pod: p, rank: *r }).collect();
                let chosen = pods_to_delete(ranked.clone(), k, t(NOW));
                prop_assert_eq!(chosen.len(), k.min(pods.len()));
                // Sorted output has no adjacent inversion.
                let sorted = merge_sort(ranked, t(NOW));
                for w in sorted.windows(2) {
                    prop_assert!(!less(&w[1], &w[0], t(NOW)));
                }
            }

            #[test]
            fn unassigned_not_ready_pods_always_go_before_running_ready_ones(
                pods in proptest::collection::vec(arb_pod(), 1..20)
            ) {
                let victim = pod("victim").uid("victim").phase("Pending").build();
                let mut all: Vec<_> = pods.iter().map(|(p, r)| Ranked { pod: p, rank: *r }).collect();
                let has_strictly_better = all.iter().any(|r| node(r.pod).is_empty() && phase_ordinal(r.pod) == 0 && !is_ready(r.pod));
                all.push(Ranked { pod: &victim, rank: 0 });
                let chosen = pods_to_delete(all, 1, t(NOW));
                if !has_strictly_better {
                    prop_assert_eq!(chosen[0].metadata.uid.as_deref(), Some("victim"));
                }
            }
        }
    }
}
