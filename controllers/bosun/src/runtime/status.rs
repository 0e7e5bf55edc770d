//! The one way a controller writes a status: server-side apply of the whole status under the
//! controller's field manager, forced (a controller owns its status fields).

use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The apply body for `status` of a `K`: its apiVersion and kind, and the status.
pub fn body<K: Resource<DynamicType = ()>>(status: &impl Serialize) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    })
}

/// Apply `status` to `name`'s status subresource as `manager`.
pub async fn apply<K>(
    api: &Api<K>,
    name: &str,
    manager: &str,
    status: &impl Serialize,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(
        name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&body::<K>(status)),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_the_kind_and_version_the_api_server_expects() {
        let b = body::<bosun_api::dns::DNSRecordSet>(&serde_json::json!({"recordCount": 3}));
        assert_eq!(
            b,
            serde_json::json!({"apiVersion": "dns.bosun.dev/v1", "kind": "DNSRecordSet",
                "status": {"recordCount": 3}})
        );
        let b = body::<bosun_api::apps::Deployment>(&serde_json::json!({}));
        assert_eq!(
            (b["apiVersion"].as_str(), b["kind"].as_str()),
            (Some("apps.bosun.dev/v1"), Some("Deployment"))
        );
    }
}
