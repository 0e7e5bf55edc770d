//! The translation, the refusals and the plan, case by case.

use super::*;
use serde_json::{Map, Value, json};

/// An apps/v1 Deployment `web` as the API server returns it after a finished rollout to
/// revision 2.
fn apps_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "shop", "uid": "d-uid", "resourceVersion": "812",
            "generation": 2, "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web"},
            "annotations": {
                "deployment.kubernetes.io/revision": "2",
                "kubernetes.io/change-cause": "image 2",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"apps/v1\"}"
            },
            "finalizers": ["example.com/hold"],
            "managedFields": [{"manager": "kubectl", "operation": "Update"}]
        },
        "spec": {
            "replicas": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "img:2"}]}},
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        },
        "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 10,
            "readyReplicas": 10, "availableReplicas": 10}
    })
}

/// An apps/v1 ReplicaSet of `web` with upstream's hash, `revision` and `replicas`.
fn apps_rs(hash: &str, revision: &str, replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {
            "name": format!("web-{hash}"), "namespace": "shop", "uid": format!("rs-{hash}"),
            "resourceVersion": "700", "generation": 1,
            "labels": {"app": "web", "pod-template-hash": hash},
            "annotations": {
                "deployment.kubernetes.io/revision": revision,
                "deployment.kubernetes.io/desired-replicas": "10",
                "deployment.kubernetes.io/max-replicas": "13",
                "kubernetes.io/change-cause": format!("image {revision}")
            },
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-uid",
                    "controller": true, "blockOwnerDeletion": true},
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "keep", "uid": "cm-uid"}
            ],
            "managedFields": [{"manager": "kube-controller-manager"}]
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": 0,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
            "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                "spec": {"containers": [{"name": "app", "image": image}]}}
        },
        "status": {"replicas": replicas, "observedGeneration": 1}
    })
}

fn pod(uid: &str, controller: Option<&str>) -> PodRef {
    PodRef {
        uid: uid.into(),
        controller: controller.map(str::to_string),
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn the_controller_annotations_are_renamed_both_ways_and_the_rest_kept() {
    let apps = map(json!({
        "deployment.kubernetes.io/revision": "3",
        "deployment.kubernetes.io/revision-history": "1,2",
        "deployment.kubernetes.io/desired-replicas": "10",
        "deployment.kubernetes.io/max-replicas": "13",
        "deprecated.deployment.rollback.to": "1",
        "kubernetes.io/change-cause": "x",
        "kubectl.kubernetes.io/last-applied-configuration": "{}"
    }));
    let bosun = map(json!({
        "bosun.dev/revision": "3",
        "bosun.dev/revision-history": "1,2",
        "bosun.dev/desired-replicas": "10",
        "bosun.dev/max-replicas": "13",
        "deprecated.deployment.rollback.to": "1",
        "kubernetes.io/change-cause": "x"
    }));
    assert_eq!(translate_annotations(&apps, Flavor::Bosun), bosun);
    let mut back = apps.clone();
    back.remove(LAST_APPLIED);
    assert_eq!(translate_annotations(&bosun, Flavor::Apps), back);
    // A stale key already in the target's form loses to the translated one.
    let both = map(json!({"deployment.kubernetes.io/revision": "4", "bosun.dev/revision": "1"}));
    assert_eq!(
        translate_annotations(&both, Flavor::Bosun),
        map(json!({"bosun.dev/revision": "4"}))
    );
}

#[test]
fn the_target_deployment_keeps_the_spec_starts_paused_and_drops_what_the_server_owns() {
    assert_eq!(
        target_deployment(&apps_deployment(), Flavor::Bosun),
        json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop", "labels": {"app": "web"},
                "annotations": {"bosun.dev/revision": "2", "kubernetes.io/change-cause": "image 2"}
            },
            "spec": {
                "replicas": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "img:2"}]}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "paused": true
            }
        })
    );
}

#[test]
fn the_way_back_translates_to_apps_v1() {
    let bosun = target_deployment(&apps_deployment(), Flavor::Bosun);
    let back = target_deployment(&bosun, Flavor::Apps);
    assert_eq!(back["apiVersion"], "apps/v1");
    assert_eq!(
        back.pointer("/metadata/annotations"),
        Some(
            &json!({"deployment.kubernetes.io/revision": "2", "kubernetes.io/change-cause": "image 2"})
        )
    );
    assert_eq!(back["spec"], bosun["spec"]);
}

#[test]
fn the_target_replicaset_keeps_name_hash_and_size_and_takes_the_new_owner() {
    let mut rs = target_replicaset(
        &apps_rs("7c5ddbdf54", "2", 10, "img:2"),
        Flavor::Bosun,
        "web",
    );
    set_owner_uid(&mut rs, "new-d-uid");
    assert_eq!(
        rs,
        json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": "web-7c5ddbdf54", "namespace": "shop",
                "labels": {"app": "web", "pod-template-hash": "7c5ddbdf54"},
                "annotations": {
                    // Adopt only, until the migration lifts it once every Pod is adopted.
                    "apps.bosun.dev/adopt-only": "true",
                    "bosun.dev/revision": "2",
                    "bosun.dev/desired-replicas": "10",
                    "bosun.dev/max-replicas": "13",
                    "kubernetes.io/change-cause": "image 2"
                },
                "ownerReferences": [
                    {"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "name": "web",
                        "uid": "new-d-uid", "controller": true, "blockOwnerDeletion": true},
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "keep", "uid": "cm-uid"}
                ]
            },
            "spec": {
                "replicas": 10,
                "minReadySeconds": 0,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                    "spec": {"containers": [{"name": "app", "image": "img:2"}]}}
            }
        })
    );
}

#[test]
fn migration_is_refused_mid_rollout_unless_forced() {
    let ok = apps_deployment();
    assert_eq!(refusal(&ok, Flavor::Apps, false), None);
    let cases = [
        (
            "/status/updatedReplicas",
            json!(4),
            "in the middle of a rollout (4 of 10 updated, 10 in total, 10 available)",
        ),
        (
            "/status/replicas",
            json!(13),
            "in the middle of a rollout (10 of 10 updated, 13 in total, 10 available)",
        ),
        (
            "/status/availableReplicas",
            json!(8),
            "in the middle of a rollout (10 of 10 updated, 10 in total, 8 available)",
        ),
        (
            "/status/observedGeneration",
            json!(1),
            "has not observed its spec yet (generation 2, observed 1)",
        ),
    ];
    for (pointer, value, why) in cases {
        let mut d = ok.clone();
        if let Some(v) = d.pointer_mut(pointer) {
            *v = value;
        }
        let r = refusal(&d, Flavor::Apps, false).unwrap_or_default();
        assert!(r.starts_with("deployment.apps/web"), "{r}");
        assert!(r.contains(why), "{pointer}: {r}");
        assert!(r.ends_with("or pass --force"), "{r}");
        assert_eq!(refusal(&d, Flavor::Apps, true), None, "{pointer}");
    }
}

#[test]
fn migration_is_refused_for_a_deleted_a_controlled_or_an_untranslatable_deployment() {
    let mut d = apps_deployment();
    d["metadata"]["deletionTimestamp"] = json!("2025-01-02T00:00:00Z");
    assert_eq!(
        refusal(&d, Flavor::Apps, true).as_deref(),
        Some("deployment.apps/web is being deleted")
    );
    let mut d = apps_deployment();
    d["metadata"]["ownerReferences"] = json!([{"apiVersion": "example.com/v1",
            "kind": "App", "name": "shop", "uid": "u", "controller": true}]);
    assert_eq!(
        refusal(&d, Flavor::Apps, true).as_deref(),
        Some("deployment.apps/web is controlled by App \"shop\"; migrate that instead")
    );
    let mut d = target_deployment(&apps_deployment(), Flavor::Bosun);
    d["spec"]["podReplacementPolicy"] = json!("TerminationComplete");
    assert_eq!(
        refusal(&d, Flavor::Bosun, true).as_deref(),
        Some(
            "deployment.apps.bosun.dev/web sets spec.podReplacementPolicy, which apps/v1 Deployments do not have; remove it first"
        )
    );
    for (pointer, value, field) in [
        (
            "/spec/progressDeadlineAbort",
            json!(true),
            "spec.progressDeadlineAbort",
        ),
        (
            "/spec/scaleStrategy",
            json!({"podsToDelete": ["p"]}),
            "spec.scaleStrategy",
        ),
        (
            "/status/abortedTemplateHash",
            json!("h"),
            "status.abortedTemplateHash",
        ),
    ] {
        let mut d = target_deployment(&apps_deployment(), Flavor::Bosun);
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        if d.pointer(parent).is_none() {
            d[parent.trim_start_matches('/')] = json!({});
        }
        d.pointer_mut(parent).unwrap()[key] = value;
        assert_eq!(
            refusal(&d, Flavor::Bosun, true),
            Some(format!(
                "deployment.apps.bosun.dev/web sets {field}, which apps/v1 Deployments do not have; remove it first"
            ))
        );
    }
    // Going to bosun, the same field is no reason to refuse (apps/v1 has none to carry).
    assert_eq!(refusal(&apps_deployment(), Flavor::Apps, true), None);
}

fn two_revisions() -> Result<Plan, Failure> {
    let mut stranger = apps_rs("0000000000", "9", 3, "other:1");
    stranger["metadata"]["ownerReferences"] = json!([]);
    let rss = [
        apps_rs("59d9c7f6b8", "1", 0, "img:1"),
        stranger,
        apps_rs("7c5ddbdf54", "2", 10, "img:2"),
    ];
    let mut pods: Vec<PodRef> = (0..10)
        .map(|i| pod(&format!("p{i}"), Some("rs-7c5ddbdf54")))
        .collect();
    pods.push(pod("orphan", None));
    pods.push(pod("other", Some("rs-0000000000")));
    plan(&apps_deployment(), &rss, &pods, Flavor::Apps, false)
}

#[test]
fn the_plan_moves_the_owned_replicasets_newest_first_with_their_pods() -> Result<(), Failure> {
    let p = two_revisions()?;
    assert_eq!((p.from, p.to), (Flavor::Apps, Flavor::Bosun));
    assert_eq!(
        p.replicasets
            .iter()
            .map(|r| (r.name.as_str(), r.source_uid.as_str(), r.pods.len()))
            .collect::<Vec<_>>(),
        [
            ("web-7c5ddbdf54", "rs-7c5ddbdf54", 10),
            ("web-59d9c7f6b8", "rs-59d9c7f6b8", 0)
        ]
    );
    assert_eq!(
        p.steps(),
        [
            Step::CreateDeployment,
            Step::DeleteDeployment,
            Step::DeleteReplicaSet(0),
            Step::DeleteReplicaSet(1),
            Step::WaitOrphaned,
            Step::CreateReplicaSet(0),
            Step::CreateReplicaSet(1),
            Step::WaitAdopted,
            Step::Resume,
        ]
    );
    Ok(())
}

#[test]
fn dry_run_prints_every_step_and_the_objects_it_would_create() -> Result<(), Failure> {
    let p = two_revisions()?;
    assert_eq!(
        p.dry_run_text(),
        "deployment.apps.bosun.dev/web created (paused until its replicasets control the pods) (dry run)\n\
             deployment.apps/web deleted (orphaning 2 replicasets) (dry run)\n\
             replicaset.apps/web-7c5ddbdf54 deleted (orphaning 10 pods) (dry run)\n\
             replicaset.apps/web-59d9c7f6b8 deleted (orphaning 0 pods) (dry run)\n\
             10 pods without a controller (dry run)\n\
             replicaset.apps.bosun.dev/web-7c5ddbdf54 created (10 replicas, revision 2) (dry run)\n\
             replicaset.apps.bosun.dev/web-59d9c7f6b8 created (0 replicas, revision 1) (dry run)\n\
             10 pods adopted (replicaset.apps.bosun.dev/web-7c5ddbdf54: 10) (dry run)\n\
             deployment.apps.bosun.dev/web resumed (dry run)\n"
    );
    let objects = p.objects();
    let kinds: Vec<(&str, &str)> = objects["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| Some((o["kind"].as_str()?, o["metadata"]["name"].as_str()?)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Deployment", "web"),
            ("ReplicaSet", "web-7c5ddbdf54"),
            ("ReplicaSet", "web-59d9c7f6b8")
        ]
    );
    Ok(())
}

#[test]
fn a_paused_deployment_moves_paused_and_is_not_resumed() -> Result<(), Failure> {
    let mut d = apps_deployment();
    d["spec"]["paused"] = json!(true);
    let p = plan(&d, &[], &[], Flavor::Apps, false)?;
    assert_eq!(p.paused, Some(true));
    assert!(!p.steps().contains(&Step::Resume));
    assert_eq!(
        p.describe(Step::CreateDeployment),
        "deployment.apps.bosun.dev/web created (paused, as deployment.apps/web is)"
    );
    Ok(())
}

#[test]
fn the_flags_read_as_kubectl_words() {
    assert_eq!(name_of("deploy/web").ok(), Some("web".into()));
    assert_eq!(name_of("deployments.apps/web").ok(), Some("web".into()));
    assert_eq!(name_of("web").ok(), Some("web".into()));
    assert!(name_of("rs/web-1").is_err());
    assert_eq!(Flavor::parse("apps/v1").ok(), Some(Flavor::Apps));
    assert_eq!(Flavor::parse("apps.bosun.dev/v1").ok(), Some(Flavor::Bosun));
    assert!(Flavor::parse("extensions/v1beta1").is_err());
}
