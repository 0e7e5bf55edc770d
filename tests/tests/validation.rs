//! Upstream's API validation (rules V2–V21 of the upstream inventory, §3), enforced by the real
//! API server through the CRD schemas and CEL rules: every rule has a test that submits an
//! invalid object and asserts the refusal, its field path and upstream's message.

use bosun_e2e::{MANAGER, TestNamespace, api_error_message, client, ensure_crds, remove, set};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

fn resource(kind: &str) -> ApiResource {
    let (group, plural) = match kind {
        "Deployment" => ("apps.bosun.dev", "deployments"),
        "ReplicaSet" => ("apps.bosun.dev", "replicasets"),
        "EndpointSlice" => ("discovery.bosun.dev", "endpointslices"),
        _ => ("dns.bosun.dev", "dnsrecordsets"),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// A valid workload of `kind` (Deployment or ReplicaSet) selecting `app: web`.
fn workload(kind: &str, name: &str) -> Value {
    json!({
        "apiVersion": "apps.bosun.dev/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/web:1"}]}
            }
        }
    })
}

/// Server-side dry runs in a namespace of the test's own: a dry-run create is refused with
/// AlreadyExists when an object of the name exists, so a shared namespace (say `default`, where
/// `make demo` leaves its Service `web` and that Service's DNSRecordSet) would decide the outcome.
struct DryRun {
    client: Client,
    ns: TestNamespace,
}

impl DryRun {
    async fn new() -> anyhow::Result<Self> {
        let client = client().await?;
        ensure_crds(&client).await?;
        let ns = TestNamespace::new(&client, "validation").await?;
        Ok(Self { client, ns })
    }

    fn api(&self, obj: &Value) -> Api<DynamicObject> {
        let kind = obj["kind"].as_str().unwrap_or_default();
        Api::namespaced_with(self.client.clone(), &self.ns.name, &resource(kind))
    }

    /// Submit `obj` with a server-side dry run and return the API server's message.
    async fn refusal(&self, obj: Value) -> anyhow::Result<String> {
        let api = self.api(&obj);
        let obj: DynamicObject = serde_json::from_value(obj)?;
        Ok(api_error_message(api.create(&dry_run(), &obj).await))
    }

    /// Dry-run `obj` and return it as the API server would store it.
    async fn accepted(&self, obj: Value) -> anyhow::Result<Value> {
        let api = self.api(&obj);
        let obj: DynamicObject = serde_json::from_value(obj)?;
        let created = api.create(&dry_run(), &obj).await?;
        Ok(serde_json::to_value(created)?)
    }
}

fn dry_run() -> PostParams {
    PostParams {
        dry_run: true,
        field_manager: Some(MANAGER.into()),
    }
}

/// Assert the message names `path`, the error `type_` and upstream's `detail`.
fn assert_refused(message: &str, path: &str, type_: &str, detail: &str) {
    let expected = format!("{path}: {type_}");
    assert!(
        message.contains(&expected) && message.contains(detail),
        "expected `{expected}` and `{detail}` in the refusal, got: {message}"
    );
}

/// One test per rule: mutate a valid workload, submit it, check the refusal.
macro_rules! refused {
    ($name:ident, $kind:literal, |$o:ident| $mutate:expr, $path:literal, $type_:literal, $detail:literal) => {
        #[tokio::test]
        async fn $name() -> anyhow::Result<()> {
            let mut $o = workload($kind, "invalid");
            $mutate;
            let dry = DryRun::new().await?;
            let message = dry.refusal($o).await?;
            assert_refused(&message, $path, $type_, $detail);
            Ok(())
        }
    };
}

// V2, V3, V17, V18: non-negative numbers.
refused!(
    v2_deployment_negative_replicas_refused,
    "Deployment",
    |o| set(&mut o, "/spec/replicas", json!(-1)),
    "spec.replicas",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v2_replicaset_negative_replicas_refused,
    "ReplicaSet",
    |o| set(&mut o, "/spec/replicas", json!(-1)),
    "spec.replicas",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v3_deployment_negative_min_ready_seconds_refused,
    "Deployment",
    |o| set(&mut o, "/spec/minReadySeconds", json!(-5)),
    "spec.minReadySeconds",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v3_replicaset_negative_min_ready_seconds_refused,
    "ReplicaSet",
    |o| set(&mut o, "/spec/minReadySeconds", json!(-5)),
    "spec.minReadySeconds",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v17_negative_revision_history_limit_refused,
    "Deployment",
    |o| set(&mut o, "/spec/revisionHistoryLimit", json!(-1)),
    "spec.revisionHistoryLimit",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v18_negative_progress_deadline_refused,
    "Deployment",
    |o| set(&mut o, "/spec/progressDeadlineSeconds", json!(-1)),
    "spec.progressDeadlineSeconds",
    "Invalid value",
    "must be greater than or equal to 0"
);

// V4: the selector is required.
refused!(
    v4_deployment_selector_required,
    "Deployment",
    |o| remove(&mut o, "/spec/selector"),
    "spec.selector",
    "Required value",
    ""
);
refused!(
    v4_replicaset_selector_required,
    "ReplicaSet",
    |o| remove(&mut o, "/spec/selector"),
    "spec.selector",
    "Required value",
    ""
);

// V5: the selector is valid.
refused!(
    v5_unknown_selector_operator_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/selector",
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Near"}]})
    ),
    "spec.selector",
    "Invalid value",
    "not a valid selector operator"
);
refused!(
    v5_in_operator_without_values_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/selector",
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In"}]})
    ),
    "spec.selector",
    "Required value",
    "must be specified when `operator` is 'In' or 'NotIn'"
);
refused!(
    v5_exists_operator_with_values_refused,
    "ReplicaSet",
    |o| set(
        &mut o,
        "/spec/selector",
        json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["front"]}]})
    ),
    "spec.selector",
    "Forbidden",
    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
);
refused!(
    v5_invalid_selector_label_value_refused,
    "Deployment",
    |o| {
        set(&mut o, "/spec/selector/matchLabels/app", json!("-web"));
        set(&mut o, "/spec/template/metadata/labels/app", json!("-web"));
    },
    "spec.selector",
    "Invalid value",
    "a valid label must be an empty string or consist of alphanumeric characters"
);
refused!(
    v5_invalid_selector_label_key_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/selector/matchExpressions",
        json!([{"key": "bad key!", "operator": "DoesNotExist"}])
    ),
    "spec.selector",
    "Invalid value",
    "name part must consist of alphanumeric characters"
);

// V6: the selector is not empty.
refused!(
    v6_deployment_empty_selector_refused,
    "Deployment",
    |o| set(&mut o, "/spec/selector", json!({})),
    "spec.selector",
    "Invalid value",
    "empty selector is invalid for deployment"
);
refused!(
    v6_replicaset_empty_selector_refused,
    "ReplicaSet",
    |o| set(&mut o, "/spec/selector", json!({"matchLabels": {}})),
    "spec.selector",
    "Invalid value",
    "empty selector is invalid for deployment"
);

// V7: the selector selects the template's labels, operator by operator.
refused!(
    v7_deployment_selector_must_match_template_labels,
    "Deployment",
    |o| set(&mut o, "/spec/selector/matchLabels/app", json!("api")),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);
refused!(
    v7_replicaset_selector_must_match_template_labels,
    "ReplicaSet",
    |o| set(
        &mut o,
        "/spec/selector/matchLabels",
        json!({"app": "web", "track": "canary"})
    ),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);
refused!(
    v7_in_expression_must_match_template_labels,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/selector/matchExpressions",
        json!([{"key": "tier", "operator": "In", "values": ["back", "db"]}])
    ),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);
refused!(
    v7_not_in_expression_must_match_template_labels,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/selector/matchExpressions",
        json!([{"key": "tier", "operator": "NotIn", "values": ["front"]}])
    ),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);
refused!(
    v7_does_not_exist_expression_must_match_template_labels,
    "ReplicaSet",
    |o| set(
        &mut o,
        "/spec/selector/matchExpressions",
        json!([{"key": "tier", "operator": "DoesNotExist"}])
    ),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);
refused!(
    v7_template_without_labels_refused,
    "Deployment",
    |o| remove(&mut o, "/spec/template/metadata"),
    "spec.template.metadata.labels",
    "Invalid value",
    "`selector` does not match template `labels`"
);

// V9, V10: the Pod template of a workload.
refused!(
    v9_deployment_restart_policy_must_be_always,
    "Deployment",
    |o| set(&mut o, "/spec/template/spec/restartPolicy", json!("Never")),
    "spec.template.spec.restartPolicy",
    "Unsupported value",
    "supported values: \"Always\""
);
refused!(
    v9_replicaset_restart_policy_must_be_always,
    "ReplicaSet",
    |o| set(
        &mut o,
        "/spec/template/spec/restartPolicy",
        json!("OnFailure")
    ),
    "spec.template.spec.restartPolicy",
    "Unsupported value",
    "supported values: \"Always\""
);
refused!(
    v10_deployment_active_deadline_seconds_forbidden,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/template/spec/activeDeadlineSeconds",
        json!(30)
    ),
    "spec.template.spec.activeDeadlineSeconds",
    "Forbidden",
    "activeDeadlineSeconds in ReplicaSet is not Supported"
);
refused!(
    v10_replicaset_active_deadline_seconds_forbidden,
    "ReplicaSet",
    |o| set(
        &mut o,
        "/spec/template/spec/activeDeadlineSeconds",
        json!(30)
    ),
    "spec.template.spec.activeDeadlineSeconds",
    "Forbidden",
    "activeDeadlineSeconds in ReplicaSet is not Supported"
);

// V11–V16: the strategy.
refused!(
    v11_unknown_strategy_type_refused,
    "Deployment",
    |o| set(&mut o, "/spec/strategy", json!({"type": "BlueGreen"})),
    "spec.strategy.type",
    "Unsupported value",
    "supported values: \"Recreate\", \"RollingUpdate\""
);
refused!(
    v12_recreate_with_rolling_update_forbidden,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    ),
    "spec.strategy.rollingUpdate",
    "Forbidden",
    "may not be specified when strategy `type` is 'Recreate'"
);
refused!(
    v14_max_surge_not_a_percent_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "ten"}})
    ),
    "spec.strategy.rollingUpdate.maxSurge",
    "Invalid value",
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
);
refused!(
    v14_negative_max_unavailable_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": -2}})
    ),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "Invalid value",
    "must be greater than or equal to 0"
);
refused!(
    v15_max_surge_and_max_unavailable_both_zero_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})
    ),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "Invalid value",
    "may not be 0 when `maxSurge` is 0"
);
refused!(
    v15_zero_percent_counts_as_zero,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "0%", "maxUnavailable": 0}})
    ),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "Invalid value",
    "may not be 0 when `maxSurge` is 0"
);
refused!(
    v16_max_unavailable_over_100_percent_refused,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "101%"}})
    ),
    "spec.strategy.rollingUpdate.maxUnavailable",
    "Invalid value",
    "must not be greater than 100%"
);

// V18: the progress deadline comes after minReadySeconds.
refused!(
    v18_progress_deadline_must_exceed_min_ready_seconds,
    "Deployment",
    |o| {
        set(&mut o, "/spec/minReadySeconds", json!(30));
        set(&mut o, "/spec/progressDeadlineSeconds", json!(30));
    },
    "spec.progressDeadlineSeconds",
    "Invalid value",
    "must be greater than minReadySeconds"
);

#[tokio::test]
async fn v7_matching_expressions_are_accepted() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    let mut o = workload("Deployment", "expressions");
    set(
        &mut o,
        "/spec/selector/matchExpressions",
        json!([
            {"key": "tier", "operator": "In", "values": ["front", "back"]},
            {"key": "track", "operator": "NotIn", "values": ["canary"]},
            {"key": "app", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"}
        ]),
    );
    dry.accepted(o).await?;
    Ok(())
}

#[tokio::test]
async fn v15_zero_surge_with_unavailable_is_accepted() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    let mut o = workload("Deployment", "zero-surge");
    set(
        &mut o,
        "/spec/strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "100%"}}),
    );
    dry.accepted(o).await?;
    Ok(())
}

#[tokio::test]
async fn v23_upstream_defaults_are_applied_by_the_api_server() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    let d = dry.accepted(workload("Deployment", "defaults")).await?;
    assert_eq!(d["spec"]["replicas"], json!(1));
    assert_eq!(d["spec"]["revisionHistoryLimit"], json!(10));
    assert_eq!(d["spec"]["progressDeadlineSeconds"], json!(600));
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    );

    // A partial rollingUpdate gets the other bound defaulted to 25%.
    let mut o = workload("Deployment", "partial");
    set(
        &mut o,
        "/spec/strategy",
        json!({"rollingUpdate": {"maxSurge": 2}}),
    );
    let d = dry.accepted(o).await?;
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": "25%"}})
    );

    // Recreate gets no rollingUpdate.
    let mut o = workload("Deployment", "recreate");
    set(&mut o, "/spec/strategy", json!({"type": "Recreate"}));
    let d = dry.accepted(o).await?;
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));

    let rs = dry.accepted(workload("ReplicaSet", "defaults")).await?;
    assert_eq!(rs["spec"]["replicas"], json!(1));
    Ok(())
}

/// Create a valid `kind` in a fresh namespace and return its API and the namespace guard.
async fn created(kind: &str, prefix: &str) -> anyhow::Result<(Api<DynamicObject>, TestNamespace)> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let ns = TestNamespace::new(&client, prefix).await?;
    let api: Api<DynamicObject> = Api::namespaced_with(client, &ns.name, &resource(kind));
    let obj: DynamicObject = serde_json::from_value(workload(kind, "web"))?;
    api.create(&PostParams::default(), &obj).await?;
    Ok((api, ns))
}

#[tokio::test]
async fn v19_deployment_selector_is_immutable() -> anyhow::Result<()> {
    let (api, _ns) = created("Deployment", "immutable").await?;
    let patch = json!({"spec": {
        "selector": {"matchLabels": {"app": "web", "tier": "front"}}
    }});
    let message = api_error_message(
        api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_refused(
        &message,
        "spec.selector",
        "Invalid value",
        "field is immutable",
    );
    Ok(())
}

#[tokio::test]
async fn v19_replicaset_selector_is_immutable() -> anyhow::Result<()> {
    let (api, _ns) = created("ReplicaSet", "immutable").await?;
    let patch = json!({"spec": {"selector": {"matchLabels": {"app": "web", "tier": "front"}}}});
    let message = api_error_message(
        api.patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_refused(
        &message,
        "spec.selector",
        "Invalid value",
        "field is immutable",
    );
    Ok(())
}

/// Patch the status of the object `web` and return the refusal.
async fn status_refusal(api: &Api<DynamicObject>, status: Value) -> String {
    let patch = json!({"status": status});
    api_error_message(
        api.patch_status("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    )
}

#[tokio::test]
async fn v20_deployment_status_counts_are_consistent() -> anyhow::Result<()> {
    let (api, _ns) = created("Deployment", "dstatus").await?;
    let m = status_refusal(&api, json!({"replicas": 2, "updatedReplicas": 3})).await;
    assert_refused(
        &m,
        "status.updatedReplicas",
        "Invalid value",
        "cannot be greater than status.replicas",
    );
    let m = status_refusal(&api, json!({"replicas": 2, "readyReplicas": 3})).await;
    assert_refused(
        &m,
        "status.readyReplicas",
        "Invalid value",
        "cannot be greater than status.replicas",
    );
    let m = status_refusal(
        &api,
        json!({"replicas": 3, "readyReplicas": 3, "availableReplicas": 4}),
    )
    .await;
    assert_refused(
        &m,
        "status.availableReplicas",
        "Invalid value",
        "cannot be greater than status.replicas",
    );
    let m = status_refusal(
        &api,
        json!({"replicas": 3, "readyReplicas": 1, "availableReplicas": 2}),
    )
    .await;
    assert_refused(
        &m,
        "status.availableReplicas",
        "Invalid value",
        "cannot be greater than readyReplicas",
    );
    let m = status_refusal(&api, json!({"unavailableReplicas": -1})).await;
    assert_refused(
        &m,
        "status.unavailableReplicas",
        "Invalid value",
        "must be greater than or equal to 0",
    );
    let m = status_refusal(&api, json!({"observedGeneration": -1})).await;
    assert_refused(
        &m,
        "status.observedGeneration",
        "Invalid value",
        "must be greater than or equal to 0",
    );
    // A consistent status is accepted.
    let ok = json!({"status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1}});
    api.patch_status("web", &PatchParams::default(), &Patch::Merge(&ok))
        .await?;
    Ok(())
}

#[tokio::test]
async fn v20_replicaset_status_counts_are_consistent() -> anyhow::Result<()> {
    let (api, _ns) = created("ReplicaSet", "rsstatus").await?;
    let m = status_refusal(&api, json!({"replicas": 1, "fullyLabeledReplicas": 2})).await;
    assert_refused(
        &m,
        "status.fullyLabeledReplicas",
        "Invalid value",
        "cannot be greater than status.replicas",
    );
    let m = status_refusal(&api, json!({"replicas": 1, "readyReplicas": 2})).await;
    assert_refused(
        &m,
        "status.readyReplicas",
        "Invalid value",
        "cannot be greater than status.replicas",
    );
    let m = status_refusal(
        &api,
        json!({"replicas": 2, "readyReplicas": 1, "availableReplicas": 2}),
    )
    .await;
    assert_refused(
        &m,
        "status.availableReplicas",
        "Invalid value",
        "cannot be greater than readyReplicas",
    );
    let m = status_refusal(&api, json!({"replicas": -1})).await;
    assert_refused(
        &m,
        "status.replicas",
        "Invalid value",
        "must be greater than or equal to 0",
    );
    let m = status_refusal(&api, json!({"terminatingReplicas": -1})).await;
    assert_refused(
        &m,
        "status.terminatingReplicas",
        "Invalid value",
        "must be greater than or equal to 0",
    );
    Ok(())
}

#[tokio::test]
async fn v21_collision_count_cannot_be_decremented() -> anyhow::Result<()> {
    let (api, _ns) = created("Deployment", "collision").await?;
    let up = json!({"status": {"collisionCount": 2}});
    api.patch_status("web", &PatchParams::default(), &Patch::Merge(&up))
        .await?;
    let m = status_refusal(&api, json!({"collisionCount": 1})).await;
    assert_refused(
        &m,
        "status.collisionCount",
        "Invalid value",
        "cannot be decremented",
    );
    let m = status_refusal(&api, json!({"collisionCount": -1})).await;
    assert_refused(
        &m,
        "status.collisionCount",
        "Invalid value",
        "must be greater than or equal to 0",
    );
    Ok(())
}

// The bounds of the discovery and DNS kinds.

fn slice(endpoints: usize) -> Value {
    let eps: Vec<Value> = (0..endpoints)
        .map(|i| json!({"addresses": [format!("10.1.{}.{}", i / 250, i % 250 + 1)]}))
        .collect();
    json!({
        "apiVersion": "discovery.bosun.dev/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc"},
        "addressType": "IPv4", "endpoints": eps,
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]
    })
}

#[tokio::test]
async fn endpointslice_holds_at_most_1000_endpoints() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    dry.accepted(slice(1000)).await?;
    let m = dry.refusal(slice(1001)).await?;
    assert_refused(&m, "endpoints", "Too many", "must have at most 1000 items");
    Ok(())
}

#[tokio::test]
async fn endpointslice_address_type_and_addresses_are_checked() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    let mut o = slice(1);
    set(&mut o, "/addressType", json!("IPv5"));
    let m = dry.refusal(o).await?;
    assert_refused(
        &m,
        "addressType",
        "Unsupported value",
        "supported values: \"IPv4\", \"IPv6\", \"FQDN\"",
    );
    let mut o = slice(1);
    set(&mut o, "/endpoints", json!([{"addresses": []}]));
    let m = dry.refusal(o).await?;
    assert_refused(
        &m,
        "endpoints[0].addresses",
        "Invalid value",
        "should have at least 1 items",
    );
    Ok(())
}

fn records(records: Value) -> Value {
    json!({
        "apiVersion": "dns.bosun.dev/v1", "kind": "DNSRecordSet",
        "metadata": {"name": "web"},
        "spec": {"zone": "cluster.local", "records": records}
    })
}

#[tokio::test]
async fn dnsrecordset_records_are_checked() -> anyhow::Result<()> {
    let dry = DryRun::new().await?;
    dry.accepted(records(json!([
        {"name": "web.default.svc.cluster.local", "type": "A", "address": "10.96.0.10"},
        {"name": "web.default.svc.cluster.local", "type": "AAAA", "address": "fd00::10"},
        {"name": "_http._tcp.web.default.svc.cluster.local", "type": "SRV", "port": 80, "priority": 0, "weight": 100, "target": "web.default.svc.cluster.local"},
        {"name": "10.0.96.10.in-addr.arpa", "type": "PTR", "target": "web.default.svc.cluster.local"},
        {"name": "dns-version.cluster.local", "type": "TXT", "text": "1.1.0"}
    ]))).await?;
    let m = dry
        .refusal(records(
            json!([{"name": "web.default.svc.cluster.local", "type": "MX", "target": "x"}]),
        ))
        .await?;
    assert_refused(
        &m,
        "spec.records[0].type",
        "Unsupported value",
        "\"A\", \"AAAA\", \"CNAME\", \"SRV\", \"PTR\", \"TXT\"",
    );
    let m = dry
        .refusal(records(
            json!([{"name": "web..svc", "type": "A", "address": "10.0.0.1"}]),
        ))
        .await?;
    assert_refused(&m, "spec.records[0].name", "Invalid value", "should match");
    let m = dry
        .refusal(records(
            json!([{"name": "web.default.svc.cluster.local", "type": "A", "address": "fd00::1"}]),
        ))
        .await?;
    assert_refused(
        &m,
        "spec.records[0].address",
        "Invalid value",
        "must be an IPv4 address for A records",
    );
    let m = dry
        .refusal(records(
            json!([{"name": "_http._tcp.web", "type": "SRV", "target": "web"}]),
        ))
        .await?;
    assert_refused(
        &m,
        "spec.records[0].port",
        "Invalid value",
        "port is required for SRV records",
    );
    Ok(())
}

// bosun's own: spec.podReplacementPolicy (KEP-3973) is one of two values.
refused!(
    deployment_pod_replacement_policy_is_one_of_two,
    "Deployment",
    |o| set(&mut o, "/spec/podReplacementPolicy", json!("WhenIdle")),
    "spec.podReplacementPolicy",
    "Unsupported value",
    "supported values: \"TerminationStarted\", \"TerminationComplete\""
);

// bosun's own: spec.strategy.rollingUpdate.partition is an int >= 0 or a percentage <= 100%.
refused!(
    deployment_partition_is_at_most_100_percent,
    "Deployment",
    |o| set(
        &mut o,
        "/spec/strategy/rollingUpdate/partition",
        json!("150%")
    ),
    "spec.strategy.rollingUpdate.partition",
    "Invalid value",
    "must not be greater than 100%"
);
refused!(
    deployment_partition_is_not_negative,
    "Deployment",
    |o| set(&mut o, "/spec/strategy/rollingUpdate/partition", json!(-1)),
    "spec.strategy.rollingUpdate.partition",
    "Invalid value",
    "must be greater than or equal to 0"
);
