//! `apps.bosun.dev/v1`: Deployment and ReplicaSet, mirroring `apps/v1`.
// kube-derive's repeated `printcolumn(type_ = ..)` and `category` look duplicated to clippy.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use crate::rules;

/// The API group of bosun's workload kinds.
pub const GROUP: &str = "apps.bosun.dev";

/// On a bosun ReplicaSet: adopt matching orphan Pods, but create and delete none while this
/// annotation is there (bosun's own, for `kubectl bosun migrate`: a ReplicaSet created over
/// Pods another controller just let go must not count them missing while its Pod cache still
/// shows their old owner).
pub const ADOPT_ONLY_ANNOTATION: &str = "apps.bosun.dev/adopt-only";

fn is_zero(v: &i32) -> bool {
    *v == 0
}
fn default_replicas() -> Option<i32> {
    Some(1)
}
fn default_revision_history_limit() -> Option<i32> {
    Some(10)
}
fn default_progress_deadline_seconds() -> Option<i32> {
    Some(600)
}
/// maxSurge's and maxUnavailable's default, upstream's 25%.
pub fn default_percent() -> Option<IntOrString> {
    Some(IntOrString::String("25%".into()))
}
fn default_strategy() -> Option<DeploymentStrategy> {
    Some(DeploymentStrategy {
        type_: Some(DeploymentStrategyType::RollingUpdate),
        rolling_update: Some(RollingUpdateDeployment {
            max_unavailable: default_percent(),
            max_surge: default_percent(),
            partition: None,
        }),
    })
}
fn default_strategy_type() -> Option<DeploymentStrategyType> {
    Some(DeploymentStrategyType::RollingUpdate)
}

/// DeploymentSpec is the specification of the desired behavior of the Deployment.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "apps.bosun.dev",
    version = "v1",
    kind = "Deployment",
    namespaced,
    status = "DeploymentStatus",
    derive = "PartialEq",
    shortname = "bdeploy",
    category = "bosun",
    category = "all",
    doc = "Deployment enables declarative updates for Pods and ReplicaSets, as apps/v1 Deployment, run by bosun.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.readyRatio",
        description = "Ready Pods out of desired ones"
    ),
    printcolumn(
        name = "Up-to-date",
        type_ = "integer",
        json_path = ".status.updatedReplicas",
        description = "Pods of the newest template"
    ),
    printcolumn(
        name = "Available",
        type_ = "integer",
        json_path = ".status.availableReplicas",
        description = "Pods ready for at least minReadySeconds"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Containers",
        type_ = "string",
        json_path = ".status.templateContainers",
        priority = 1
    ),
    printcolumn(
        name = "Images",
        type_ = "string",
        json_path = ".status.templateImages",
        priority = 1
    ),
    printcolumn(
        name = "Selector",
        type_ = "string",
        json_path = ".status.selector",
        priority = 1
    )
)]
#[x_kube(validation = rules::selector_matches_template())]
#[x_kube(validation = rules::progress_deadline_after_min_ready())]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// Number of desired pods. This is a pointer to distinguish between explicit zero and not
    /// specified. Defaults to 1.
    #[serde(default = "default_replicas", skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub replicas: Option<i32>,

    /// Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the
    /// ones affected by this deployment. It must match the pod template's labels. Immutable.
    #[x_kube(validation = rules::selector_immutable())]
    #[x_kube(validation = rules::selector_not_empty())]
    #[x_kube(validation = rules::selector_operators())]
    #[x_kube(validation = rules::selector_in_needs_values())]
    #[x_kube(validation = rules::selector_exists_no_values())]
    #[x_kube(validation = rules::selector_label_values())]
    #[x_kube(validation = rules::selector_label_keys())]
    pub selector: LabelSelector,

    /// Template describes the pods that will be created. The only allowed
    /// template.spec.restartPolicy value is "Always".
    #[x_kube(validation = rules::no_active_deadline())]
    pub template: PodTemplateSpec,

    /// The deployment strategy to use to replace existing pods with new ones.
    #[serde(default = "default_strategy", skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,

    /// Minimum number of seconds for which a newly created pod should be ready without any of
    /// its container crashing, for it to be considered available. Defaults to 0 (pod will be
    /// considered available as soon as it is ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub min_ready_seconds: Option<i32>,

    /// The number of old ReplicaSets to retain to allow rollback. This is a pointer to
    /// distinguish between explicit zero and not specified. Defaults to 10.
    #[serde(
        default = "default_revision_history_limit",
        skip_serializing_if = "Option::is_none"
    )]
    #[x_kube(validation = rules::nonnegative())]
    pub revision_history_limit: Option<i32>,

    /// Indicates that the deployment is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,

    /// The maximum time in seconds for a deployment to make progress before it is considered to
    /// be failed. The deployment controller will continue to process failed deployments and a
    /// condition with a ProgressDeadlineExceeded reason will be surfaced in the deployment
    /// status. Note that progress will not be estimated during the time a deployment is paused.
    /// Defaults to 600s.
    #[serde(
        default = "default_progress_deadline_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    #[x_kube(validation = rules::nonnegative())]
    pub progress_deadline_seconds: Option<i32>,

    /// When true, a rollout that exceeds progressDeadlineSeconds is aborted (Argo Rollouts'
    /// `progressDeadlineAbort`; not in apps/v1): the new ReplicaSet is scaled back down and the
    /// last complete revision back up, within maxSurge and maxUnavailable, the condition
    /// Progressing turns False with reason RolloutAborted, and the same template is not rolled
    /// out again until `kubectl bosun rollout retry` or a template change. `kubectl bosun
    /// rollout abort` does the same by hand at any time. Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_abort: Option<bool>,

    /// Which Pods go first: names handed to the ReplicaSets that own them (OpenKruise's
    /// `scaleStrategy.podsToDelete`; not in apps/v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_strategy: Option<ScaleStrategy>,

    /// podReplacementPolicy specifies when to create replacement Pods (the schema's description
    /// is [`PodReplacementPolicy`]'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_replacement_policy: Option<PodReplacementPolicy>,
}

/// podReplacementPolicy specifies when to create replacement Pods (upstream KEP-3973, not in
/// apps/v1 yet). TerminationStarted (the default when unset): a replacement is created as soon as
/// a Pod starts terminating, so terminating Pods come on top of `replicas + maxSurge`.
/// TerminationComplete: terminating Pods count against `replicas + maxSurge` during a rolling
/// update (and a scale-up in the middle of one), and against `replicas` when a Deployment that
/// is not rolling out is scaled up, so the Pods that exist, terminating ones included, stay
/// within those bounds; rollouts and scale-ups wait for terminating Pods to go,
/// and the rollout is complete only when none is left. The Recreate strategy always waits for
/// the old Pods to terminate. A ReplicaSet replaces a Pod deleted by someone else (an eviction,
/// `kubectl delete pod`) at once either way, as upstream's does.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReplacementPolicy {
    /// Create a replacement as soon as a Pod starts terminating.
    TerminationStarted,
    /// Create a replacement only once a terminating Pod is gone.
    TerminationComplete,
}

/// DeploymentStrategy describes how to replace existing pods with new ones.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = rules::recreate_has_no_rolling_update())]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStrategy {
    /// Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.
    #[serde(
        rename = "type",
        default = "default_strategy_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_: Option<DeploymentStrategyType>,

    /// Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate.
    /// When absent with type RollingUpdate, maxSurge and maxUnavailable are 25% each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDeployment>,
}

/// The strategy a Deployment replaces its Pods with.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStrategyType {
    /// Kill all existing pods before creating new ones.
    Recreate,
    /// Replace the old ReplicaSets by new one using rolling update i.e gradually scale down the
    /// old ReplicaSets and scale up the new one.
    RollingUpdate,
}

/// Spec to control the desired behavior of rolling update.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = rules::not_both_zero())]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateDeployment {
    /// The maximum number of pods that can be unavailable during the update. Value can be an
    /// absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Absolute number is
    /// calculated from percentage by rounding down. This can not be 0 if MaxSurge is 0.
    /// Defaults to 25%.
    #[serde(default = "default_percent", skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::int_or_percent())]
    #[x_kube(validation = rules::at_most_100_percent())]
    pub max_unavailable: Option<IntOrString>,

    /// The maximum number of pods that can be scheduled above the desired number of pods. Value
    /// can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). This can not
    /// be 0 if MaxUnavailable is 0. Absolute number is calculated from percentage by rounding
    /// up. Defaults to 25%.
    #[serde(default = "default_percent", skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::int_or_percent())]
    pub max_surge: Option<IntOrString>,

    /// The number of Pods kept on the old revisions during a rolling update (OpenKruise's
    /// `partition`; not in apps/v1). Value can be an absolute number (ex: 3) or a percentage of
    /// desired pods (ex: 30%); absolute number is calculated from percentage by rounding up. The
    /// rollout stops once `replicas - partition` Pods run the new template, with the condition
    /// Progressing=True, reason RolloutPartitioned; `kubectl bosun rollout promote` lowers it.
    /// Raising it does not roll Pods back. Defaults to 0 (roll everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::int_or_percent())]
    #[x_kube(validation = rules::at_most_100_percent())]
    pub partition: Option<IntOrString>,
}

/// DeploymentStatus is the most recently observed status of the Deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = rules::status_at_most_replicas("updatedReplicas"))]
#[x_kube(validation = rules::status_at_most_replicas("readyReplicas"))]
#[x_kube(validation = rules::status_at_most_replicas("availableReplicas"))]
#[x_kube(validation = rules::status_available_at_most_ready())]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    /// The generation observed by the deployment controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub observed_generation: Option<i64>,

    /// Total number of non-terminating pods targeted by this deployment (their labels match the
    /// selector).
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub replicas: i32,

    /// Total number of non-terminating pods targeted by this deployment that have the desired
    /// template spec.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub updated_replicas: i32,

    /// Total number of non-terminating pods targeted by this Deployment with a Ready Condition.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub ready_replicas: i32,

    /// Total number of available non-terminating pods (ready for at least minReadySeconds)
    /// targeted by this deployment.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub available_replicas: i32,

    /// Total number of unavailable pods targeted by this deployment. This is the total number of
    /// pods that are still required for the deployment to have 100% available capacity. They may
    /// either be pods that are running but not yet available or pods that still have not been
    /// created.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[x_kube(validation = rules::nonnegative())]
    pub unavailable_replicas: i32,

    /// Total number of terminating pods targeted by this deployment. Terminating pods have a
    /// non-null .metadata.deletionTimestamp and have not yet reached the Failed or Succeeded
    /// .status.phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub terminating_replicas: Option<i32>,

    /// Represents the latest available observations of a deployment's current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<DeploymentCondition>>,

    /// Count of hash collisions for the Deployment. The Deployment controller uses this field as
    /// a collision avoidance mechanism when it needs to create the name for the newest
    /// ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    #[x_kube(validation = rules::not_decremented())]
    pub collision_count: Option<i32>,

    /// The label selector of the Deployment in string form (`app=web,tier in (a,b)`), for the
    /// scale subresource and the HorizontalPodAutoscaler. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,

    /// The `pod-template-hash` of an aborted rollout (`kubectl bosun rollout abort`, or
    /// `progressDeadlineAbort`): while it is the current template's, the controller rolls back
    /// to the last complete revision instead. `kubectl bosun rollout retry` clears it; a
    /// template change makes it stale. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_template_hash: Option<String>,

    /// The `pod-template-hash` of the last revision that completed, where an abort rolls back
    /// to. Written by the controller. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_template_hash: Option<String>,

    /// `<readyReplicas>/<spec.replicas>`, as `kubectl get deployment` prints in its READY column.
    /// Written by the controller for display only. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_ratio: Option<String>,
    /// The names of the pod template's containers joined by commas, as `kubectl get -o wide`
    /// prints in its CONTAINERS column. Written by the controller for display only. Not in
    /// apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_containers: Option<String>,

    /// The images of the pod template's containers joined by commas, as `kubectl get -o wide`
    /// prints in its IMAGES column. Written by the controller for display only. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_images: Option<String>,
}

/// DeploymentCondition describes the state of a deployment at a certain point.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCondition {
    /// Type of deployment condition: Available, Progressing or ReplicaFailure.
    #[serde(rename = "type")]
    pub type_: String,
    /// Status of the condition, one of True, False, Unknown.
    pub status: String,
    /// The last time this condition was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// Last time the condition transitioned from one status to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// The reason for the condition's last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human readable message indicating details about the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// ReplicaSetSpec is the specification of a ReplicaSet.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "apps.bosun.dev",
    version = "v1",
    kind = "ReplicaSet",
    namespaced,
    status = "ReplicaSetStatus",
    derive = "PartialEq",
    shortname = "brs",
    category = "bosun",
    category = "all",
    doc = "ReplicaSet ensures that a specified number of pod replicas are running at any given time, as apps/v1 ReplicaSet, run by bosun.",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".spec.replicas",
        description = "Number of desired pods"
    ),
    printcolumn(
        name = "Current",
        type_ = "integer",
        json_path = ".status.replicas",
        description = "Number of non-terminating pods"
    ),
    printcolumn(
        name = "Ready",
        type_ = "integer",
        json_path = ".status.readyReplicas",
        description = "Number of ready pods"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Containers",
        type_ = "string",
        json_path = ".status.templateContainers",
        priority = 1
    ),
    printcolumn(
        name = "Images",
        type_ = "string",
        json_path = ".status.templateImages",
        priority = 1
    ),
    printcolumn(
        name = "Selector",
        type_ = "string",
        json_path = ".status.selector",
        priority = 1
    )
)]
#[x_kube(validation = rules::selector_matches_template())]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetSpec {
    /// Replicas is the number of desired pods. This is a pointer to distinguish between explicit
    /// zero and unspecified. Defaults to 1.
    #[serde(default = "default_replicas", skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub replicas: Option<i32>,

    /// Minimum number of seconds for which a newly created pod should be ready without any of
    /// its container crashing, for it to be considered available. Defaults to 0 (pod will be
    /// considered available as soon as it is ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub min_ready_seconds: Option<i32>,

    /// Selector is a label query over pods that should match the replica count. Label keys and
    /// values that must match in order to be controlled by this replica set. It must match the
    /// pod template's labels. Immutable.
    #[x_kube(validation = rules::selector_immutable())]
    #[x_kube(validation = rules::selector_not_empty())]
    #[x_kube(validation = rules::selector_operators())]
    #[x_kube(validation = rules::selector_in_needs_values())]
    #[x_kube(validation = rules::selector_exists_no_values())]
    #[x_kube(validation = rules::selector_label_values())]
    #[x_kube(validation = rules::selector_label_keys())]
    pub selector: LabelSelector,

    /// Template is the object that describes the pod that will be created if insufficient
    /// replicas are detected. The only allowed template.spec.restartPolicy value is "Always".
    #[x_kube(validation = rules::no_active_deadline())]
    pub template: PodTemplateSpec,

    /// Which Pods go first (OpenKruise's `scaleStrategy`; not in apps/v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_strategy: Option<ScaleStrategy>,
}

/// scaleStrategy names Pods to delete (OpenKruise's `podsToDelete`; not in apps/v1).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScaleStrategy {
    /// Names of this object's Pods to delete: they are deleted first on a scale-down, and when
    /// the replicas do not go down they are deleted and replaced. Names of Pods that do not
    /// exist (any more) are removed from the list by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000), inner(length(max = 253)))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Set)]
    pub pods_to_delete: Option<Vec<String>>,
}

/// ReplicaSetStatus represents the current status of a ReplicaSet.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(validation = rules::status_at_most_replicas("fullyLabeledReplicas"))]
#[x_kube(validation = rules::status_at_most_replicas("readyReplicas"))]
#[x_kube(validation = rules::status_at_most_replicas("availableReplicas"))]
#[x_kube(validation = rules::status_available_at_most_ready())]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetStatus {
    /// Replicas is the most recently observed number of non-terminating pods.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub replicas: i32,

    /// The number of non-terminating pods that have labels matching the labels of the pod
    /// template of the replicaset.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[x_kube(validation = rules::nonnegative())]
    pub fully_labeled_replicas: i32,

    /// The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub ready_replicas: i32,

    /// The number of available non-terminating pods (ready for at least minReadySeconds) for this
    /// replica set.
    #[serde(default)]
    #[x_kube(validation = rules::nonnegative())]
    pub available_replicas: i32,

    /// The number of terminating pods for this replica set. Terminating pods have a non-null
    /// .metadata.deletionTimestamp and have not yet reached the Failed or Succeeded .status.phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub terminating_replicas: Option<i32>,

    /// ObservedGeneration reflects the generation of the most recently observed ReplicaSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = rules::nonnegative())]
    pub observed_generation: Option<i64>,

    /// Represents the latest available observations of a replica set's current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<ReplicaSetCondition>>,

    /// The label selector of the ReplicaSet in string form, for the scale subresource. Not in
    /// apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// The names of the pod template's containers joined by commas, as `kubectl get -o wide`
    /// prints in its CONTAINERS column. Written by the controller for display only. Not in
    /// apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_containers: Option<String>,

    /// The images of the pod template's containers joined by commas, as `kubectl get -o wide`
    /// prints in its IMAGES column. Written by the controller for display only. Not in apps/v1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_images: Option<String>,
}

/// ReplicaSetCondition describes the state of a replica set at a certain point.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetCondition {
    /// Type of replica set condition (ReplicaFailure).
    #[serde(rename = "type")]
    pub type_: String,
    /// Status of the condition, one of True, False, Unknown.
    pub status: String,
    /// The last time the condition transitioned from one status to another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// The reason for the condition's last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human readable message indicating details about the transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
