//! Pod predicates of upstream's `controller_utils.go` and `pkg/api/v1/pod/util.go`.

use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::{SignedDuration, Timestamp};

/// `IsPodActive`: not Succeeded, not Failed, not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    !is_finished(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// Phase Succeeded or Failed.
pub fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// `IsPodTerminating`: being deleted and not finished.
pub fn is_terminating(pod: &Pod) -> bool {
    !is_finished(pod) && pod.metadata.deletion_timestamp.is_some()
}

/// The pod's phase, `""` when unset.
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

/// The pod's `Ready` condition, if any.
pub fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
}

/// `IsPodReady`: the `Ready` condition is `True`.
pub fn is_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the pod became Ready, if it is Ready and the time is known.
pub fn ready_since(pod: &Pod) -> Option<Timestamp> {
    ready_condition(pod)
        .filter(|c| c.status == "True")
        .and_then(|c| c.last_transition_time.as_ref())
        .map(|t| t.0)
}

/// `IsPodAvailable`: Ready, and either `min_ready_seconds` is 0 or it has been Ready for at
/// least that long (inclusive) by `now`. A Ready pod with no transition time is not available
/// unless `min_ready_seconds` is 0.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    if !is_ready(pod) {
        return false;
    }
    if min_ready_seconds <= 0 {
        return true;
    }
    ready_since(pod).is_some_and(|t| {
        t.checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds)))
            .is_ok_and(|at| at <= now)
    })
}

/// How long until a Ready but not yet available pod becomes available (`None` when it is not
/// Ready, already available, or `min_ready_seconds` is 0). Zero when the moment has passed.
pub fn until_available(
    pod: &Pod,
    min_ready_seconds: i32,
    now: Timestamp,
) -> Option<SignedDuration> {
    if min_ready_seconds <= 0 || !is_ready(pod) || is_available(pod, min_ready_seconds, now) {
        return None;
    }
    let since = ready_since(pod)?;
    let at = since
        .checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds)))
        .ok()?;
    Some(now.duration_until(at).max(SignedDuration::ZERO))
}

/// `metav1.GetControllerOf`: the owner reference with `controller: true`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The highest restart count of the pod's regular containers, and of its restartable init
/// (sidecar) containers.
pub fn max_restarts(pod: &Pod) -> (i32, i32) {
    let Some(status) = pod.status.as_ref() else {
        return (0, 0);
    };
    let regular = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    let sidecars = sidecar_names(pod);
    let init = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecars.contains(&c.name.as_str()))
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    (regular, init)
}

/// The names of the pod's restartable init containers (sidecars: `restartPolicy: Always`).
pub fn sidecar_names(pod: &Pod) -> Vec<&str> {
    pod.spec
        .iter()
        .flat_map(|s| s.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect()
}

/// The annotation that orders pods for deletion (lowest cost first).
pub const DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// `GetDeletionCostFromPodAnnotations`: `controller.kubernetes.io/pod-deletion-cost` as an
/// int32. `validFirstDigit` looks at the first character only (a `-`, a lone `"0"`, or 1-9), so
/// a leading `+` or `"008"` is invalid while `"-008"` is -8; then `strconv.ParseInt(v, 10, 32)`.
/// Missing or invalid counts as 0.
pub fn deletion_cost(pod: &Pod) -> i32 {
    let Some(v) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DELETION_COST_ANNOTATION))
    else {
        return 0;
    };
    let valid_first_digit = match v.as_bytes().first() {
        Some(b'-') | Some(b'1'..=b'9') => true,
        Some(b'0') => v == "0",
        _ => false,
    };
    if !valid_first_digit {
        return 0;
    }
    // Like ParseInt, Rust's parse refuses "-", "-+1" and out-of-range values.
    v.parse::<i32>().unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! `pod("web-1").ready_at(t).on_node("n1")`-style builders for the tests.
    use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition, PodSpec, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
    use std::collections::BTreeMap;

    use crate::Timestamp;

    /// A pod template labelled `app: web` with one container of `image`.
    pub fn template(image: &str) -> k8s_openapi::api::core::v1::PodTemplateSpec {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        k8s_openapi::api::core::v1::PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(labels),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![k8s_openapi::api::core::v1::Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    pub fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).expect("in range")
    }

    pub struct PodBuilder(pub Pod);

    pub fn pod(name: &str) -> PodBuilder {
        PodBuilder(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some(format!("uid-{name}")),
                labels: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                creation_timestamp: Some(Time(t(0))),
                ..Default::default()
            },
            spec: Some(PodSpec::default()),
            status: Some(PodStatus {
                phase: Some("Pending".into()),
                ..Default::default()
            }),
        })
    }

    impl PodBuilder {
        pub fn build(self) -> Pod {
            self.0
        }
        pub fn phase(mut self, p: &str) -> Self {
            self.0.status.get_or_insert_with(Default::default).phase = Some(p.into());
            self
        }
        pub fn on_node(mut self, n: &str) -> Self {
            self.0.spec.get_or_insert_with(Default::default).node_name = Some(n.into());
            self
        }
        /// Running, Ready since `at`.
        pub fn ready_at(mut self, at: Timestamp) -> Self {
            self = self.phase("Running");
            let st = self.0.status.get_or_insert_with(Default::default);
            st.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(at)),
                ..Default::default()
            }]);
            self
        }
        pub fn ready(self) -> Self {
            self.ready_at(t(0))
        }
        pub fn not_ready(mut self) -> Self {
            self = self.phase("Running");
            let st = self.0.status.get_or_insert_with(Default::default);
            st.conditions = Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "False".into(),
                ..Default::default()
            }]);
            self
        }
        pub fn created(mut self, at: Timestamp) -> Self {
            self.0.metadata.creation_timestamp = Some(Time(at));
            self
        }
        pub fn deleting(mut self) -> Self {
            self.0.metadata.deletion_timestamp = Some(Time(t(100)));
            self
        }
        pub fn restarts(mut self, n: i32) -> Self {
            let st = self.0.status.get_or_insert_with(Default::default);
            st.container_statuses = Some(vec![ContainerStatus {
                name: "c".into(),
                restart_count: n,
                ..Default::default()
            }]);
            self
        }
        pub fn label(mut self, k: &str, v: &str) -> Self {
            self.0
                .metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(k.into(), v.into());
            self
        }
        pub fn labels(mut self, pairs: &[(&str, &str)]) -> Self {
            self.0.metadata.labels = Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            self
        }
        pub fn annotation(mut self, k: &str, v: &str) -> Self {
            self.0
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(k.into(), v.into());
            self
        }
        pub fn uid(mut self, uid: &str) -> Self {
            self.0.metadata.uid = Some(uid.into());
            self
        }
        pub fn owned_by(mut self, kind: &str, name: &str, uid: &str) -> Self {
            self.0.metadata.owner_references = Some(vec![OwnerReference {
                api_version: "apps.bosun.dev/v1".into(),
                kind: kind.into(),
                name: name.into(),
                uid: uid.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]);
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn is_pod_active_excludes_finished_and_deleted_pods() {
        assert!(is_active(&pod("a").build()));
        assert!(is_active(&pod("a").ready().build()));
        assert!(!is_active(&pod("a").phase("Succeeded").build()));
        assert!(!is_active(&pod("a").phase("Failed").build()));
        assert!(!is_active(&pod("a").deleting().build()));
    }

    #[test]
    fn is_pod_available_is_inclusive_of_min_ready_seconds() {
        let p = pod("a").ready_at(t(10)).build();
        assert!(is_available(&p, 0, t(10)));
        assert!(!is_available(&p, 5, t(14)));
        assert!(is_available(&p, 5, t(15)));
        assert!(!is_available(&pod("a").not_ready().build(), 0, t(15)));
    }

    #[test]
    fn is_pod_available_needs_a_transition_time_when_min_ready_seconds_is_set() {
        let mut p = pod("a").ready().build();
        if let Some(c) = p.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[0].last_transition_time = None;
        }
        assert!(is_available(&p, 0, t(100)));
        assert!(!is_available(&p, 1, t(100)));
    }

    #[test]
    fn until_available_counts_down_to_zero() {
        let p = pod("a").ready_at(t(10)).build();
        assert_eq!(
            until_available(&p, 5, t(12)),
            Some(SignedDuration::from_secs(3))
        );
        assert_eq!(until_available(&p, 5, t(15)), None);
        assert_eq!(until_available(&p, 0, t(12)), None);
    }

    #[test]
    fn get_deletion_cost_from_pod_annotations_rejects_non_canonical_ints() {
        let cost = |v: &str| {
            deletion_cost(
                &pod("a")
                    .annotation("controller.kubernetes.io/pod-deletion-cost", v)
                    .build(),
            )
        };
        assert_eq!(cost("100"), 100);
        assert_eq!(cost("-5"), -5);
        assert_eq!(cost("0"), 0);
        assert_eq!(cost("+5"), 0);
        assert_eq!(cost("007"), 0);
        assert_eq!(cost("2147483648"), 0);
        assert_eq!(cost("abc"), 0);
        assert_eq!(cost("-"), 0);
        assert_eq!(cost("-+5"), 0);
        assert_eq!(cost("-2147483648"), i32::MIN);
        assert_eq!(deletion_cost(&pod("a").build()), 0);
    }

    #[test]
    fn get_deletion_cost_from_pod_annotations_checks_only_the_first_digit() {
        // validFirstDigit looks at the first character: after a '-', ParseInt takes leading
        // zeros ("-008" is -8, "-0" is 0).
        let cost = |v: &str| {
            deletion_cost(
                &pod("a")
                    .annotation("controller.kubernetes.io/pod-deletion-cost", v)
                    .build(),
            )
        };
        assert_eq!(cost("-008"), -8);
        assert_eq!(cost("-0"), 0);
        assert_eq!(cost("-00"), 0);
        assert_eq!(cost("08"), 0);
    }
}
