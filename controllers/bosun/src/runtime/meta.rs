//! The identity of a cached object, read once at the start of a sync. The API server always
//! sets a namespaced object's namespace, name and UID; a cache entry without one is a bug
//! somewhere, and a typed error rather than an empty string (an empty UID would look up the
//! children of `owner_index("")`, an empty namespace a key `"/name"`).

use kube::Resource;

/// A metadata field the API server always sets is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name:?} has no {field}")]
pub struct MissingMeta {
    /// The object's kind.
    pub kind: String,
    /// Its name, as far as known.
    pub name: String,
    /// The missing field.
    pub field: &'static str,
}

/// Namespace, name and UID of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
}

impl Identity {
    /// The identity of `obj`, or which field it lacks.
    pub fn of<K: Resource<DynamicType = ()>>(obj: &K) -> Result<Self, MissingMeta> {
        let meta = obj.meta();
        let missing = |field| MissingMeta {
            kind: K::kind(&()).into_owned(),
            name: meta.name.clone().unwrap_or_default(),
            field,
        };
        let field = |v: &Option<String>, name| v.clone().ok_or_else(|| missing(name));
        Ok(Self {
            namespace: field(&meta.namespace, "namespace")?,
            name: field(&meta.name, "name")?,
            uid: field(&meta.uid, "uid")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Service;

    #[test]
    fn an_object_without_uid_or_namespace_is_an_error_naming_the_field() {
        let mut svc = Service::default();
        svc.metadata.name = Some("web".into());
        svc.metadata.namespace = Some("demo".into());
        let e = Identity::of(&svc).expect_err("no uid");
        assert_eq!(e.to_string(), "Service \"web\" has no uid");
        svc.metadata.uid = Some("u-1".into());
        assert_eq!(
            Identity::of(&svc),
            Ok(Identity {
                namespace: "demo".into(),
                name: "web".into(),
                uid: "u-1".into()
            })
        );
        svc.metadata.namespace = None;
        assert_eq!(Identity::of(&svc).map_err(|e| e.field), Err("namespace"));
    }
}
