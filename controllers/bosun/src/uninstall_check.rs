//! `bosun uninstall-check`: the chart's pre-delete hook when `helm uninstall` would delete
//! bosun's CRDs (`crds.keep=false`). Deleting a CRD deletes every object of its kind, and the
//! garbage collector then deletes the Pods those Deployments and ReplicaSets own: the lesson
//! cert-manager's users learned. So while any bosun Deployment or ReplicaSet exists, the check
//! fails and with it the uninstall, and says what to do. EndpointSlices and DNSRecordSets are
//! not counted: the controllers derive them from Services and Pods.

use anyhow::{Context, bail};
use bosun_api::apps::{Deployment, ReplicaSet};
use kube::api::{Api, ListParams};

/// What the check found: (Deployments, ReplicaSets), each "at least" when the list was cut.
async fn count<K>(client: &kube::Client) -> anyhow::Result<(usize, bool)>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::all(client.clone());
    let list = api
        .list_metadata(&ListParams::default().limit(500))
        .await
        .with_context(|| format!("listing {}", K::plural(&K::DynamicType::default())))?;
    Ok((list.items.len(), list.metadata.continue_.is_some()))
}

/// The refusal, naming what deleting the CRDs would delete; `None` when nothing would be lost.
pub fn refusal(deployments: (usize, bool), replicasets: (usize, bool)) -> Option<String> {
    if deployments.0 == 0 && replicasets.0 == 0 {
        return None;
    }
    let n = |(n, more): (usize, bool)| {
        if more {
            format!("at least {n}")
        } else {
            n.to_string()
        }
    };
    Some(format!(
        "refusing to delete bosun's CRDs: that would delete {} bosun Deployments and {} bosun \
         ReplicaSets, and the garbage collector would then delete every Pod they own. Delete them \
         first (kubectl delete bdeploy,brs --all -A), or keep the CRDs \
         (helm upgrade --reuse-values --set crds.keep=true), or accept the loss \
         (helm upgrade --reuse-values --set crds.deleteWithObjects=true), then uninstall again. \
         Helm now lists the release as uninstalling: `helm rollback <release>` makes it deployed",
        n(deployments),
        n(replicasets)
    ))
}

/// Fail when bosun Deployments or ReplicaSets exist.
pub async fn run() -> anyhow::Result<()> {
    let client = crate::runtime::client::unfenced()
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    let d = count::<Deployment>(&client).await?;
    let r = count::<ReplicaSet>(&client).await?;
    if let Some(msg) = refusal(d, r) {
        bail!(msg);
    }
    println!("no bosun Deployment or ReplicaSet left: the CRDs can go");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_lose_passes() {
        assert_eq!(refusal((0, false), (0, false)), None);
    }

    #[test]
    fn objects_left_are_counted_and_the_ways_out_named() {
        let m = refusal((2, false), (500, true)).expect("refused");
        assert!(
            m.contains("2 bosun Deployments and at least 500 bosun ReplicaSets"),
            "{m}"
        );
        assert!(
            m.contains("crds.keep=true") && m.contains("crds.deleteWithObjects=true"),
            "{m}"
        );
        assert!(
            refusal((0, false), (1, false)).is_some(),
            "a standalone ReplicaSet counts"
        );
    }
}
