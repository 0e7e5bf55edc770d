//! Which pods a Service selects, and mirror mode.
//!
//! A Service with `spec.selector` selects pods as upstream does; bosun writes its
//! `discovery.bosun.dev` slices. A Service with no selector but the annotation
//! `endpointslice.bosun.dev/selector: <label selector>` selects pods by that selector, and bosun
//! writes both its own slices and core `discovery.k8s.io/v1` slices labelled managed-by
//! `endpointslice.bosun.dev` (the built-in controller ignores selector-less Services, so the two
//! never write the same Service's slices).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::selector::{Selector, SelectorError};

/// The annotation naming the pods of a selector-less Service, in mirror mode.
pub const SELECTOR_ANNOTATION: &str = "endpointslice.bosun.dev/selector";

/// How a Service selects its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// No pods: `ExternalName`, or no selector and no annotation. Its slices are deleted.
    Nothing,
    /// `spec.selector`: bosun slices only.
    Spec(Selector),
    /// The annotation: bosun slices and mirrored core slices.
    Mirror(Selector),
}

/// Why the annotation's selector cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A requirement that is not `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (..)`, `k notin (..)`.
    #[error("cannot parse requirement {0:?}")]
    Requirement(String),
    /// The requirements do not make a selector.
    #[error(transparent)]
    Selector(#[from] SelectorError),
}

/// How `svc` selects its pods. A selector the annotation spells wrongly is an error (the act
/// side reports it as an Event and leaves the slices alone).
pub fn selection(svc: &Service) -> Result<Selection, ParseError> {
    let spec = svc.spec.as_ref();
    if spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName") {
        return Ok(Selection::Nothing);
    }
    // An empty map is omitted on the wire (Go's omitempty), so it reads back as no selector.
    if let Some(sel) = spec
        .and_then(|s| s.selector.as_ref())
        .filter(|m| !m.is_empty())
    {
        let ls = LabelSelector {
            match_labels: Some(sel.clone()),
            match_expressions: None,
        };
        return Ok(Selection::Spec(Selector::new(&ls)?));
    }
    match svc
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SELECTOR_ANNOTATION))
    {
        Some(text) => Ok(Selection::Mirror(Selector::new(&parse_selector(text)?)?)),
        None => Ok(Selection::Nothing),
    }
}

/// Parse the string form of a label selector (`labels.Parse`): comma-separated requirements
/// `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`. An empty string selects
/// everything, as upstream's.
pub fn parse_selector(text: &str) -> Result<LabelSelector, ParseError> {
    let mut match_labels = BTreeMap::new();
    let mut exprs = Vec::new();
    for part in split_top_level(text) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let bad = || ParseError::Requirement(part.to_string());
        let req = |key: &str, op: &str, values: Option<Vec<String>>| LabelSelectorRequirement {
            key: key.trim().to_string(),
            operator: op.into(),
            values,
        };
        if let Some(key) = part.strip_prefix('!') {
            check_key(key.trim()).ok_or_else(bad)?;
            exprs.push(req(key, "DoesNotExist", None));
        } else if let Some((k, v)) = part.split_once("!=") {
            check_key(k.trim()).ok_or_else(bad)?;
            exprs.push(req(k, "NotIn", Some(vec![v.trim().to_string()])));
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            check_key(k.trim()).ok_or_else(bad)?;
            match_labels.insert(k.trim().to_string(), v.trim().to_string());
        } else if let Some((k, op, values)) = set_requirement(part) {
            check_key(k).ok_or_else(bad)?;
            exprs.push(req(k, op, Some(values)));
        } else {
            check_key(part).ok_or_else(bad)?;
            exprs.push(req(part, "Exists", None));
        }
    }
    Ok(LabelSelector {
        match_labels: (!match_labels.is_empty()).then_some(match_labels),
        match_expressions: (!exprs.is_empty()).then_some(exprs),
    })
}

/// Split on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `k in (a,b)` / `k notin (a,b)`.
fn set_requirement(part: &str) -> Option<(&str, &'static str, Vec<String>)> {
    let open = part.find('(')?;
    let inner = part[open + 1..].strip_suffix(')')?;
    let mut head = part[..open].split_whitespace();
    let key = head.next()?;
    let op = match head.next()? {
        "in" => "In",
        "notin" => "NotIn",
        _ => return None,
    };
    if head.next().is_some() {
        return None;
    }
    let values = inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    Some((key, op, values))
}

/// A label key: non-empty, no spaces or selector punctuation.
fn check_key(key: &str) -> Option<()> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    ok.then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ServiceSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn matches(sel: &str, l: &[(&str, &str)]) -> bool {
        let ls = parse_selector(sel).expect("parses");
        Selector::new(&ls).expect("valid").matches(Some(&labels(l)))
    }

    #[test]
    fn labels_parse_supports_every_operator() {
        assert!(matches("app=web", &[("app", "web")]));
        assert!(matches("app==web", &[("app", "web")]));
        assert!(!matches("app=web", &[("app", "db")]));
        assert!(matches("app!=web", &[]));
        assert!(!matches("app!=web", &[("app", "web")]));
        assert!(matches(
            "tier in (a, b),app",
            &[("tier", "b"), ("app", "x")]
        ));
        assert!(!matches("tier in (a,b)", &[("tier", "c")]));
        assert!(matches("tier notin (a,b)", &[("tier", "c")]));
        assert!(matches("!legacy", &[("app", "web")]));
        assert!(!matches("!legacy", &[("legacy", "")]));
        assert!(matches("", &[("any", "thing")]));
    }

    #[test]
    fn labels_parse_rejects_garbage() {
        assert!(parse_selector("app in web").is_err());
        assert!(parse_selector("a b").is_err());
        assert!(parse_selector("=web").is_err());
    }

    fn svc(selector: Option<&[(&str, &str)]>, annotation: Option<&str>, type_: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                annotations: annotation
                    .map(|a| BTreeMap::from([(SELECTOR_ANNOTATION.to_string(), a.to_string())])),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: selector.map(labels),
                type_: Some(type_.into()),
                ..Default::default()
            }),
            status: None,
        }
    }

    #[test]
    fn selection_prefers_spec_selector_then_annotation() {
        assert!(matches!(
            selection(&svc(Some(&[("app", "web")]), Some("app=db"), "ClusterIP")),
            Ok(Selection::Spec(_))
        ));
        assert!(matches!(
            selection(&svc(None, Some("app=db"), "ClusterIP")),
            Ok(Selection::Mirror(_))
        ));
        assert_eq!(
            selection(&svc(None, None, "ClusterIP")),
            Ok(Selection::Nothing)
        );
        assert_eq!(
            selection(&svc(Some(&[]), None, "ClusterIP")),
            Ok(Selection::Nothing),
            "an empty selector is no selector"
        );
        assert!(selection(&svc(None, Some("a in b"), "ClusterIP")).is_err());
    }

    #[test]
    fn external_name_services_get_no_slices() {
        assert_eq!(
            selection(&svc(Some(&[("app", "web")]), None, "ExternalName")),
            Ok(Selection::Nothing)
        );
    }
}
