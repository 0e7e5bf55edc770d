//! The installable CustomResourceDefinitions of bosun's kinds.
//!
//! kube-derive generates each CRD from the Rust types; [`all`] then fits them for a real API
//! server:
//!
//! - descriptions inside the embedded Pod template are removed (their schema and validation
//!   stay): with them a workload CRD is ~340 KB, over the 262,144-byte annotation that plain
//!   `kubectl apply` writes; without them ~55 KB. Our own fields keep their descriptions, and so
//!   `kubectl explain` explains them;
//! - the template's `restartPolicy` is narrowed to `Always` (V9), so the refusal reads as
//!   upstream's `Unsupported value: "Never": supported values: "Always"`;
//! - a workload's selector gets bounds (64 labels, 32 expressions of up to 128 values, keys
//!   and values no longer than labels may be) so that CEL can bound the cost of its rules;
//! - an EndpointSlice endpoint carries 1 to 100 addresses, as upstream validates.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{Value, json};

use crate::{apps, discovery, dns};

/// Every CRD bosun installs, in a stable order.
pub fn all() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        apps::Deployment::crd(),
        apps::ReplicaSet::crd(),
        discovery::EndpointSlice::crd(),
        dns::DNSRecordSet::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            else {
                continue;
            };
            // Round-trip through JSON to edit the schema as a tree.
            let Ok(mut tree) = serde_json::to_value(&*schema) else {
                continue;
            };
            fit(&crd.spec.names.kind, &mut tree);
            if let Ok(fitted) = serde_json::from_value(tree) {
                *schema = fitted;
            }
        }
    }
    crds
}

/// Bounds on a workload's selector. Upstream has none; CEL needs them to estimate the cost of
/// the selector rules (the API server refuses a CRD whose rules could cost too much). A label
/// key is at most 253 + 1 + 63 characters, a label value at most 63.
const SELECTOR_MAX_LABELS: u32 = 64;
const SELECTOR_MAX_EXPRESSIONS: u32 = 32;
const SELECTOR_MAX_VALUES: u32 = 128;
const LABEL_KEY_MAX: u32 = 317;
const LABEL_VALUE_MAX: u32 = 63;

/// Apply the edits described in the module doc to one kind's schema.
fn fit(kind: &str, root: &mut Value) {
    if let Some(selector) = root.pointer_mut("/properties/spec/properties/selector/properties") {
        let labels = &mut selector["matchLabels"];
        labels["maxProperties"] = json!(SELECTOR_MAX_LABELS);
        labels["additionalProperties"]["maxLength"] = json!(LABEL_VALUE_MAX);
        let exprs = &mut selector["matchExpressions"];
        exprs["maxItems"] = json!(SELECTOR_MAX_EXPRESSIONS);
        let item = &mut exprs["items"]["properties"];
        item["key"]["maxLength"] = json!(LABEL_KEY_MAX);
        item["operator"]["maxLength"] = json!(16);
        item["values"]["maxItems"] = json!(SELECTOR_MAX_VALUES);
        item["values"]["items"]["maxLength"] = json!(LABEL_VALUE_MAX);
    }
    if let Some(template) = root.pointer_mut("/properties/spec/properties/template") {
        strip_nested_descriptions(template);
        if let Some(rp) = template.pointer_mut("/properties/spec/properties/restartPolicy") {
            rp["enum"] = json!(["Always"]);
        }
    }
    if kind == "EndpointSlice"
        && let Some(addresses) =
            root.pointer_mut("/properties/endpoints/items/properties/addresses")
    {
        addresses["minItems"] = json!(1);
        addresses["maxItems"] = json!(100);
    }
}

/// Remove every `description` below `node`, keeping `node`'s own.
fn strip_nested_descriptions(node: &mut Value) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("description");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    if let Value::Object(map) = node {
        for (key, child) in map.iter_mut() {
            if key != "description" {
                strip(child);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(kind: &str) -> Value {
        let crd = all()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .expect("kind is generated");
        serde_json::to_value(&crd.spec.versions[0].schema).expect("schema serialises")
    }

    #[test]
    fn every_crd_fits_under_the_client_side_apply_limit() {
        for crd in all() {
            let json = serde_json::to_string(&crd).expect("serialises");
            assert!(
                json.len() < 262_144 / 2,
                "{} is {} bytes",
                crd.spec.names.kind,
                json.len()
            );
        }
    }

    #[test]
    fn template_descriptions_are_stripped_but_own_fields_keep_theirs() {
        let s = schema_of("Deployment");
        let template = &s["openAPIV3Schema"]["properties"]["spec"]["properties"]["template"];
        assert!(template["description"].is_string());
        assert!(
            !template
                .to_string()
                .contains("\"description\":\"Specification")
        );
        assert!(template["properties"]["spec"]["description"].is_null());
        let strategy = &s["openAPIV3Schema"]["properties"]["spec"]["properties"]["strategy"];
        assert!(
            strategy["properties"]["rollingUpdate"]["properties"]["maxSurge"]["description"]
                .is_string()
        );
    }

    #[test]
    fn restart_policy_is_narrowed_to_always() {
        for kind in ["Deployment", "ReplicaSet"] {
            let s = schema_of(kind);
            let rp = s.pointer(
                "/openAPIV3Schema/properties/spec/properties/template/properties/spec/properties/restartPolicy/enum",
            );
            assert_eq!(rp, Some(&json!(["Always"])), "{kind}");
        }
    }

    #[test]
    fn upstream_defaults_are_schema_defaults() {
        let s = schema_of("Deployment");
        let spec = &s["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert_eq!(spec["replicas"]["default"], json!(1));
        assert_eq!(spec["revisionHistoryLimit"]["default"], json!(10));
        assert_eq!(spec["progressDeadlineSeconds"]["default"], json!(600));
        assert_eq!(spec["strategy"]["default"]["type"], json!("RollingUpdate"));
        assert_eq!(
            spec["strategy"]["default"]["rollingUpdate"],
            json!({"maxSurge": "25%", "maxUnavailable": "25%"})
        );
        let rs = schema_of("ReplicaSet");
        assert_eq!(
            rs["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"]["default"],
            json!(1)
        );
    }

    #[test]
    fn workloads_have_scale_and_status_subresources() {
        for crd in all() {
            let sub = crd.spec.versions[0].subresources.clone();
            match crd.spec.names.kind.as_str() {
                "Deployment" | "ReplicaSet" => {
                    let sub = sub.expect("subresources");
                    assert!(sub.status.is_some());
                    let scale = sub.scale.expect("scale");
                    assert_eq!(
                        scale.label_selector_path.as_deref(),
                        Some(".status.selector")
                    );
                }
                "DNSRecordSet" => assert!(sub.and_then(|s| s.status).is_some()),
                _ => {}
            }
        }
    }

    #[test]
    fn short_names_and_categories() {
        let names: Vec<_> = all()
            .into_iter()
            .map(|c| {
                (
                    c.spec.names.short_names.unwrap_or_default(),
                    c.spec.names.categories.unwrap_or_default(),
                )
            })
            .collect();
        let shorts: Vec<_> = names.iter().map(|(s, _)| s.join(",")).collect();
        assert_eq!(shorts, ["bdeploy", "brs", "beps", "bdns"]);
        for (_, cats) in names {
            assert_eq!(cats, ["bosun", "all"]);
        }
    }
}
