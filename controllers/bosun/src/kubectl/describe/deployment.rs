//! Upstream's `describeDeployment`, with bosun's own fields when they are set.

use bosun_api::apps::{Deployment, ReplicaSet, RollingUpdateDeployment};
use bosun_core::deployment::util::equal_ignore_hash;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::Writer;
use super::events::describe_events;
use super::pod_template::describe_pod_template;
use super::text::{
    annotations_multiline, creation, describe_conditions, describe_pods_to_delete, int_or_string,
    labels_multiline, selector_string,
};

fn rs_list(rss: &[&ReplicaSet]) -> String {
    if rss.is_empty() {
        return "<none>".into();
    }
    rss.iter()
        .map(|rs| {
            format!(
                "{} ({}/{} replicas created)",
                rs.name_any(),
                rs.status.as_ref().map(|s| s.replicas).unwrap_or(0),
                rs.spec.replicas.unwrap_or(1)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upstream's `describeDeployment`; `rss` are the ReplicaSets the Deployment controls, in list
/// order; `events` None means events were not asked for.
pub fn describe_deployment(
    d: &Deployment,
    rss: &[ReplicaSet],
    events: Option<&[Event]>,
    now: Timestamp,
) -> String {
    let mut w = Writer::default();
    let status = d.status.clone().unwrap_or_default();
    w.w(0, &format!("Name:\t{}\n", d.name_any()));
    w.w(
        0,
        &format!("Namespace:\t{}\n", d.namespace().unwrap_or_default()),
    );
    w.w(
        0,
        &format!("CreationTimestamp:\t{}\n", creation(&d.metadata)),
    );
    labels_multiline(&mut w, "Labels", d.metadata.labels.as_ref());
    annotations_multiline(&mut w, "Annotations", d.metadata.annotations.as_ref());
    w.w(
        0,
        &format!("Selector:\t{}\n", selector_string(&d.spec.selector)),
    );
    w.w(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
            d.spec.replicas.unwrap_or(1),
            status.updated_replicas,
            status.replicas,
            status.available_replicas,
            status.unavailable_replicas
        ),
    );
    let rolling = describe_strategy(&mut w, d);
    describe_bosun_fields(&mut w, d, rolling.as_ref());
    describe_pod_template(&mut w, &d.spec.template);
    describe_conditions(
        &mut w,
        status
            .conditions
            .iter()
            .flatten()
            .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref())),
    );
    describe_replicasets(&mut w, d, rss);
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    w.finish()
}

/// StrategyType, MinReadySeconds and RollingUpdateStrategy; the rolling update's parameters
/// (an absent rollingUpdate with type RollingUpdate means 25% and 25%, the CRD's documented
/// default; apps/v1 writes it into the object).
fn describe_strategy(w: &mut Writer, d: &Deployment) -> Option<RollingUpdateDeployment> {
    let strategy = d.spec.strategy.clone().unwrap_or_default();
    let type_ = strategy
        .type_
        .as_ref()
        .map(|t| {
            serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    w.w(0, &format!("StrategyType:\t{type_}\n"));
    w.w(
        0,
        &format!(
            "MinReadySeconds:\t{}\n",
            d.spec.min_ready_seconds.unwrap_or(0)
        ),
    );
    let rolling = strategy.rolling_update.clone().or_else(|| {
        (type_ == "RollingUpdate").then(|| RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::String("25%".into())),
            max_surge: Some(IntOrString::String("25%".into())),
            partition: None,
        })
    });
    if let Some(ru) = &rolling {
        let mu = ru
            .max_unavailable
            .as_ref()
            .map(int_or_string)
            .unwrap_or_else(|| "0".into());
        let ms = ru
            .max_surge
            .as_ref()
            .map(int_or_string)
            .unwrap_or_else(|| "0".into());
        w.w(
            0,
            &format!("RollingUpdateStrategy:\t{mu} max unavailable, {ms} max surge\n"),
        );
    }
    rolling
}

/// bosun's own fields: shown when set, so a Deployment without them reads as apps/v1's.
fn describe_bosun_fields(
    w: &mut Writer,
    d: &Deployment,
    rolling: Option<&RollingUpdateDeployment>,
) {
    if let Some(p) = rolling.and_then(|r| r.partition.as_ref()) {
        let pods = bosun_core::deployment::util::partition(d);
        w.w(
            0,
            &format!(
                "Partition:\t{} ({pods} Pods kept on old revisions)\n",
                int_or_string(p)
            ),
        );
    }
    if let Some(policy) = d.spec.pod_replacement_policy {
        let name = match policy {
            bosun_api::apps::PodReplacementPolicy::TerminationStarted => "TerminationStarted",
            bosun_api::apps::PodReplacementPolicy::TerminationComplete => "TerminationComplete",
        };
        w.w(0, &format!("PodReplacementPolicy:\t{name}\n"));
    }
    describe_pods_to_delete(w, d.spec.scale_strategy.as_ref());
    if d.spec.progress_deadline_abort == Some(true) {
        w.w(0, "ProgressDeadlineAbort:\ttrue\n");
    }
    let aborted = d
        .status
        .as_ref()
        .and_then(|s| s.aborted_template_hash.as_ref());
    if let Some(h) = aborted {
        w.w(
            0,
            &format!(
                "Aborted:\tpod-template-hash {h} (kubectl bosun rollout retry to roll it out)\n"
            ),
        );
    }
}

/// OldReplicaSets and NewReplicaSet, when there is any: the new one is upstream's
/// `FindNewReplicaSet`, the oldest whose template equals the Deployment's.
fn describe_replicasets(w: &mut Writer, d: &Deployment, rss: &[ReplicaSet]) {
    let mut by_age: Vec<&ReplicaSet> = rss.iter().collect();
    by_age.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    let new = by_age
        .iter()
        .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
        .map(|rs| rs.metadata.uid.clone());
    let (newer, old): (Vec<&ReplicaSet>, Vec<&ReplicaSet>) = rss
        .iter()
        .partition(|rs| new.as_ref().is_some_and(|uid| &rs.metadata.uid == uid));
    if !old.is_empty() || !newer.is_empty() {
        w.w(0, &format!("OldReplicaSets:\t{}\n", rs_list(&old)));
        w.w(0, &format!("NewReplicaSet:\t{}\n", rs_list(&newer)));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{deployment, event, now, replicaset};
    use super::*;
    use k8s_openapi::jiff::tz::TimeZone;

    #[test]
    fn deployment_describer_prints_upstreams_layout() {
        let d = deployment();
        let rs = replicaset(&d);
        let events = [event(
            "ScalingReplicaSet",
            "Scaled up replica set hello-6d5f8c9b7 from 0 to 3",
            "2026-11-24T10:00:20Z",
        )];
        let text = describe_deployment(&d, &[rs], Some(&events), now());
        let zone = "2026-11-24T10:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .to_zoned(TimeZone::system())
            .strftime("%a, %d %b %Y %H:%M:%S %z")
            .to_string();
        let expected = format!("\
Name:                   hello
Namespace:              default
CreationTimestamp:      {zone}
Labels:                 app=hello
Annotations:            bosun.dev/revision: 1
Selector:               app=hello
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=hello
  Containers:
   nginx:
    Image:         nginx:1.27
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  <none>
NewReplicaSet:   hello-6d5f8c9b7 (3/3 replicas created)
Events:
  Type    Reason             Age   From                             Message
  ----    ------             ----  ----                             -------
  Normal  ScalingReplicaSet  10s   deployment-controller.bosun.dev  Scaled up replica set hello-6d5f8c9b7 from 0 to 3
");
        assert_eq!(text, expected);
    }

    #[test]
    fn old_replicasets_are_those_whose_template_differs() {
        let d = deployment();
        let mut old = replicaset(&d);
        old.metadata.name = Some("hello-old".into());
        old.metadata.uid = Some("r0".into());
        old.spec.replicas = Some(0);
        old.status = None;
        if let Some(s) = old.spec.template.spec.as_mut() {
            s.containers[0].image = Some("nginx:1.26".into());
        }
        let text = describe_deployment(&d, &[old, replicaset(&d)], None, now());
        assert!(
            text.contains("OldReplicaSets:  hello-old (0/0 replicas created)\n"),
            "{text}"
        );
        assert!(
            text.contains("NewReplicaSet:   hello-6d5f8c9b7 (3/3 replicas created)\n"),
            "{text}"
        );
        assert!(!text.contains("Events:"), "{text}");
    }

    #[test]
    fn pod_replacement_policy_is_shown_only_when_set() {
        let mut d = deployment();
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(!text.contains("PodReplacementPolicy"), "{text}");
        d.spec.pod_replacement_policy =
            Some(bosun_api::apps::PodReplacementPolicy::TerminationComplete);
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains(
                "RollingUpdateStrategy:  25% max unavailable, 25% max surge\nPodReplacementPolicy:   TerminationComplete\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_abort_and_its_switch_are_shown() {
        let mut d = deployment();
        d.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
            pods_to_delete: Some(vec!["hello-a".into(), "hello-b".into()]),
        });
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("PodsToDelete:           hello-a, hello-b\n"),
            "{text}"
        );
        d.spec.scale_strategy = None;
        d.spec.progress_deadline_abort = Some(true);
        if let Some(st) = d.status.as_mut() {
            st.aborted_template_hash = Some("7fdc67d697".into());
        }
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("ProgressDeadlineAbort:  true\nAborted:                pod-template-hash 7fdc67d697 (kubectl bosun rollout retry to roll it out)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_partition_is_shown_with_the_pods_it_keeps() {
        let mut d = deployment();
        d.spec.strategy = Some(bosun_api::apps::DeploymentStrategy {
            type_: Some(bosun_api::apps::DeploymentStrategyType::RollingUpdate),
            rolling_update: Some(bosun_api::apps::RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::Int(0)),
                max_surge: Some(IntOrString::Int(1)),
                partition: Some(IntOrString::String("50%".into())),
            }),
        });
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("RollingUpdateStrategy:  0 max unavailable, 1 max surge\nPartition:              50% (2 Pods kept on old revisions)\n"),
            "{text}"
        );
    }
}
