//! Upstream's `BaseControllerRefManager.ClaimObject` (`controller_ref_manager.go`): whether an
//! owner keeps, adopts, releases or ignores an object its selector may match.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::pod::controller_of;

/// The controller reference a bosun `kind` (in `apps.bosun.dev/v1`) puts on what it owns:
/// `controller` and `blockOwnerDeletion` set, as upstream's `NewControllerRef`.
pub fn controller_ref(kind: &str, owner: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: "apps.bosun.dev/v1".into(),
        kind: kind.into(),
        name: owner.name.clone().unwrap_or_default(),
        uid: owner.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// What the owner does with one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and still selected.
    Keep,
    /// An orphan we select: take it (patch in our controller reference).
    Adopt,
    /// Ours but no longer selected: let it go (patch our reference out).
    Release,
    /// Not ours and not to be taken.
    Ignore,
}

/// The owner doing the claiming.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// Its UID.
    pub uid: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// Whether it is being deleted.
    pub deleting: bool,
}

/// `ClaimObject`, rule by rule in upstream's order:
///
/// | controller reference | selector matches | decision |
/// |---|---|---|
/// | another owner's      | any              | Ignore |
/// | ours                 | yes              | Keep (even while we are deleted) |
/// | ours                 | no               | Release, or Ignore while we are deleted |
/// | none                 | no, or we are deleted | Ignore |
/// | none, object being deleted | yes        | Ignore (never adopt a terminating object) |
/// | none, other namespace | yes             | Ignore |
/// | none                 | yes              | Adopt |
pub fn claim(owner: Owner<'_>, object: &ObjectMeta, selector_matches: bool) -> Claim {
    if let Some(r) = controller_of(object) {
        if r.uid != owner.uid {
            return Claim::Ignore;
        }
        return match (selector_matches, owner.deleting) {
            (true, _) => Claim::Keep,
            (false, true) => Claim::Ignore,
            (false, false) => Claim::Release,
        };
    }
    if owner.deleting || !selector_matches || object.deletion_timestamp.is_some() {
        return Claim::Ignore;
    }
    if object.namespace.as_deref().unwrap_or_default() != owner.namespace {
        return Claim::Ignore;
    }
    Claim::Adopt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::fixtures::pod;

    const US: Owner<'static> = Owner {
        uid: "rs-uid",
        namespace: "ns",
        deleting: false,
    };
    const US_DELETING: Owner<'static> = Owner {
        uid: "rs-uid",
        namespace: "ns",
        deleting: true,
    };

    #[test]
    fn object_of_another_controller_is_ignored() {
        let p = pod("a")
            .owned_by("ReplicaSet", "other", "other-uid")
            .build();
        assert_eq!(claim(US, &p.metadata, true), Claim::Ignore);
    }

    #[test]
    fn owned_and_matching_is_kept_even_while_owner_is_deleted() {
        let p = pod("a").owned_by("ReplicaSet", "rs", "rs-uid").build();
        assert_eq!(claim(US, &p.metadata, true), Claim::Keep);
        assert_eq!(claim(US_DELETING, &p.metadata, true), Claim::Keep);
    }

    #[test]
    fn owned_but_no_longer_matching_is_released_unless_owner_is_deleted() {
        let p = pod("a").owned_by("ReplicaSet", "rs", "rs-uid").build();
        assert_eq!(claim(US, &p.metadata, false), Claim::Release);
        assert_eq!(claim(US_DELETING, &p.metadata, false), Claim::Ignore);
    }

    #[test]
    fn matching_orphan_is_adopted() {
        assert_eq!(claim(US, &pod("a").build().metadata, true), Claim::Adopt);
    }

    #[test]
    fn orphan_is_not_adopted_by_a_deleted_owner_or_without_a_match() {
        let p = pod("a").build();
        assert_eq!(claim(US_DELETING, &p.metadata, true), Claim::Ignore);
        assert_eq!(claim(US, &p.metadata, false), Claim::Ignore);
    }

    #[test]
    fn terminating_orphan_is_never_adopted() {
        assert_eq!(
            claim(US, &pod("a").deleting().build().metadata, true),
            Claim::Ignore
        );
    }

    #[test]
    fn orphan_in_another_namespace_is_ignored() {
        let mut p = pod("a").build();
        p.metadata.namespace = Some("elsewhere".into());
        assert_eq!(claim(US, &p.metadata, true), Claim::Ignore);
    }
}
