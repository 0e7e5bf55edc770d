//! Adopt and release: the writes of upstream's `ClaimObject` (controller_ref_manager.go), once
//! for every owner and kind of child. Which children to adopt and release is decided in core
//! (`bosun_core::claim`); this applies it.
//!
//! Every patch carries the child's UID as a precondition, so a child deleted and recreated
//! under the same name is not claimed. Adoption first re-reads the owner from the API server
//! (`RecheckDeletionTimestamp`): an owner being deleted adopts nothing.

use std::fmt;

use futures::future::join_all;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tracing::debug;

/// One claim write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOp {
    /// Our controller reference added.
    Adopt,
    /// Our controller reference removed.
    Release,
}

impl fmt::Display for ClaimOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClaimOp::Adopt => "adopting",
            ClaimOp::Release => "releasing",
        })
    }
}

/// A claim write the API server refused.
#[derive(Debug, thiserror::Error)]
#[error("{op} {kind} {name}: {source}")]
pub struct ClaimFailure {
    /// Adopting or releasing.
    pub op: ClaimOp,
    /// The child's kind.
    pub kind: String,
    /// The child's name.
    pub name: String,
    /// The API error.
    #[source]
    pub source: kube::Error,
}

/// Why a claim stopped the sync.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The owner could not be re-read before adopting.
    #[error("rechecking the {kind} before adoption: {source}")]
    Recheck {
        /// The owner's kind.
        kind: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The owner is gone, replaced, or being deleted: it adopts nothing.
    #[error("original {kind} {namespace}/{name} is gone or being deleted")]
    OwnerGone {
        /// The owner's kind.
        kind: String,
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// Some writes failed (the first is the source; `more` failed besides).
    #[error("{first}{}", if *more > 0 { format!(" (and {more} more)") } else { String::new() })]
    Write {
        /// The first failure.
        #[source]
        first: ClaimFailure,
        /// How many more failed.
        more: usize,
    },
}

/// How a kind of child is patched to add or remove its controller reference.
pub trait Claimable: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug {
    /// The patch that applies `op` with `owner` (the owner's controller reference) to `child`;
    /// it carries the child's UID as a precondition.
    fn claim_patch(op: ClaimOp, child: &Self, owner: &OwnerReference) -> Patch<Value>;
}

impl Claimable for k8s_openapi::api::core::v1::Pod {
    /// A strategic merge patch, as upstream's: owner references merge by UID.
    fn claim_patch(op: ClaimOp, child: &Self, owner: &OwnerReference) -> Patch<Value> {
        let uid = &child.metadata.uid;
        Patch::Strategic(match op {
            ClaimOp::Adopt => json!({"metadata": {"ownerReferences": [owner], "uid": uid}}),
            ClaimOp::Release => json!({"metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": owner.uid}], "uid": uid}}),
        })
    }
}

impl Claimable for bosun_api::apps::ReplicaSet {
    /// A custom resource takes no strategic merge patch: a JSON merge patch of the whole list.
    fn claim_patch(op: ClaimOp, child: &Self, owner: &OwnerReference) -> Patch<Value> {
        let refs = child.metadata.owner_references.iter().flatten();
        let refs: Vec<&OwnerReference> = match op {
            ClaimOp::Adopt => refs.chain([owner]).collect(),
            ClaimOp::Release => refs.filter(|r| r.uid != owner.uid).collect(),
        };
        Patch::Merge(json!({"metadata": {"ownerReferences": refs, "uid": child.metadata.uid}}))
    }
}

/// Whether a refused claim write is not ours to retry: the child is gone (404), or, releasing,
/// it changed under us (the UID precondition, 422).
fn moot(op: ClaimOp, e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404 || (op == ClaimOp::Release && s.code == 422))
}

/// Adopt `adopt` and release `release` as `owner`'s children (at once, in parallel); any
/// failure stops the sync.
pub async fn claim<O, K>(
    owners: &Api<O>,
    owner: &O,
    children: &Api<K>,
    adopt: &[&K],
    release: &[&K],
) -> Result<(), ClaimError>
where
    O: Resource<DynamicType = ()> + Clone + DeserializeOwned + fmt::Debug,
    K: Claimable,
{
    if adopt.is_empty() && release.is_empty() {
        return Ok(());
    }
    let kind = |_: &O| O::kind(&()).into_owned();
    if !adopt.is_empty() {
        let fresh = owners
            .get(&owner.name_any())
            .await
            .map_err(|source| ClaimError::Recheck {
                kind: kind(owner),
                source,
            })?;
        if fresh.meta().deletion_timestamp.is_some() || fresh.meta().uid != owner.meta().uid {
            return Err(ClaimError::OwnerGone {
                kind: kind(owner),
                namespace: owner.namespace().unwrap_or_default(),
                name: owner.name_any(),
            });
        }
    }
    // The same reference core puts on the children it creates.
    let ours = bosun_core::claim::controller_ref(&O::kind(&()), owner.meta());
    let ops = adopt
        .iter()
        .map(|c| (ClaimOp::Adopt, *c))
        .chain(release.iter().map(|c| (ClaimOp::Release, *c)));
    let writes = ops.map(|(op, child)| {
        let patch = K::claim_patch(op, child, &ours);
        let name = child.name_any();
        async move {
            match children.patch(&name, &PatchParams::default(), &patch).await {
                Ok(_) => {
                    debug!(child = %name, "{op} {}", K::kind(&()));
                    Ok(())
                }
                Err(e) if moot(op, &e) => Ok(()),
                Err(source) => Err(ClaimFailure {
                    op,
                    kind: K::kind(&()).into_owned(),
                    name,
                    source,
                }),
            }
        }
    });
    let mut failures = join_all(writes).await.into_iter().filter_map(Result::err);
    match failures.next() {
        None => Ok(()),
        Some(first) => Err(ClaimError::Write {
            first,
            more: failures.count(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_api::apps::ReplicaSet;
    use k8s_openapi::api::core::v1::Pod;

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "apps.bosun.dev/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    fn body(p: Patch<Value>) -> (&'static str, Value) {
        match p {
            Patch::Strategic(v) => ("strategic", v),
            Patch::Merge(v) => ("merge", v),
            _ => ("other", Value::Null),
        }
    }

    #[test]
    fn a_pod_is_adopted_and_released_by_strategic_merge_with_its_uid_as_precondition() {
        let mut pod = Pod::default();
        pod.metadata.uid = Some("pod-1".into());
        let (how, v) = body(Pod::claim_patch(ClaimOp::Adopt, &pod, &owner("d-1")));
        assert_eq!(how, "strategic");
        assert_eq!(v["metadata"]["uid"], "pod-1");
        assert_eq!(v["metadata"]["ownerReferences"][0]["uid"], "d-1");
        let (_, v) = body(Pod::claim_patch(ClaimOp::Release, &pod, &owner("d-1")));
        assert_eq!(
            v["metadata"]["ownerReferences"],
            json!([{"$patch": "delete", "uid": "d-1"}])
        );
    }

    #[test]
    fn a_replicaset_is_adopted_and_released_by_a_merge_patch_of_its_whole_reference_list() {
        let mut rs: ReplicaSet = serde_json::from_value(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "uid": "rs-1"},
            "spec": {"selector": {}, "template": {}}}))
        .expect("a ReplicaSet");
        rs.metadata.owner_references = Some(vec![owner("other")]);
        let (how, v) = body(ReplicaSet::claim_patch(ClaimOp::Adopt, &rs, &owner("d-1")));
        assert_eq!(how, "merge");
        let uids: Vec<&Value> = v["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| &r["uid"])
            .collect();
        assert_eq!(uids, [&json!("other"), &json!("d-1")]);
        assert_eq!(v["metadata"]["uid"], "rs-1");
        rs.metadata.owner_references = Some(vec![owner("other"), owner("d-1")]);
        let (_, v) = body(ReplicaSet::claim_patch(
            ClaimOp::Release,
            &rs,
            &owner("d-1"),
        ));
        assert_eq!(v["metadata"]["ownerReferences"], json!([owner("other")]));
    }

    #[test]
    fn a_child_gone_or_replaced_while_released_is_not_an_error() {
        let status = |code| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                ..Default::default()
            }))
        };
        assert!(moot(ClaimOp::Adopt, &status(404)));
        assert!(moot(ClaimOp::Release, &status(422)));
        assert!(
            !moot(ClaimOp::Adopt, &status(422)),
            "adopting: a real failure"
        );
        assert!(!moot(ClaimOp::Release, &status(500)));
    }
}
