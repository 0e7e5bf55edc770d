//! Label selectors: matching (`metav1.LabelSelectorAsSelector(..).Matches`) and the string form
//! (`labels.Selector.String()`) that the scale subresource and the HPA read.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A selector that cannot be turned into requirements.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// An operator other than In, NotIn, Exists, DoesNotExist.
    #[error("{0:?} is not a valid label selector operator")]
    Operator(String),
    /// In or NotIn without values.
    #[error("for 'in', 'notin' operators, values set can't be empty (key {0:?})")]
    NoValues(String),
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    Equals(String, String),
}

impl Requirement {
    fn key(&self) -> &str {
        match self {
            Self::In(k, _)
            | Self::NotIn(k, _)
            | Self::Exists(k)
            | Self::DoesNotExist(k)
            | Self::Equals(k, _) => k,
        }
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Self::Equals(k, v) => labels.get(k) == Some(v),
            Self::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Self::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Self::Exists(k) => labels.contains_key(k),
            Self::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// A parsed label selector. An empty selector matches everything, as upstream's does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parse a `LabelSelector` (`LabelSelectorAsSelector`).
    pub fn new(ls: &LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (k, v) in ls.match_labels.iter().flatten() {
            requirements.push(Requirement::Equals(k.clone(), v.clone()));
        }
        for e in ls.match_expressions.iter().flatten() {
            let mut values = e.values.clone().unwrap_or_default();
            values.sort();
            values.dedup();
            let r = match e.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => {
                    return Err(SelectorError::NoValues(e.key.clone()));
                }
                "In" => Requirement::In(e.key.clone(), values),
                "NotIn" => Requirement::NotIn(e.key.clone(), values),
                "Exists" => Requirement::Exists(e.key.clone()),
                "DoesNotExist" => Requirement::DoesNotExist(e.key.clone()),
                other => return Err(SelectorError::Operator(other.into())),
            };
            requirements.push(r);
        }
        requirements.sort_by(|a, b| a.key().cmp(b.key()));
        Ok(Self { requirements })
    }

    /// Whether the selector selects nothing in particular (no requirements).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl std::fmt::Display for Selector {
    /// `app=web,tier in (back,front),!legacy`: requirements sorted by key, values sorted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .requirements
            .iter()
            .map(|r| match r {
                Requirement::Equals(k, v) => format!("{k}={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::DoesNotExist(k) => format!("!{k}"),
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn sel(labels: &[(&str, &str)], exprs: &[(&str, &str, &[&str])]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            match_expressions: Some(
                exprs
                    .iter()
                    .map(|(k, op, vs)| LabelSelectorRequirement {
                        key: k.to_string(),
                        operator: op.to_string(),
                        values: (!vs.is_empty())
                            .then(|| vs.iter().map(|v| v.to_string()).collect()),
                    })
                    .collect(),
            ),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selector_as_selector_matches_every_operator() {
        let s = Selector::new(&sel(
            &[("app", "web")],
            &[
                ("tier", "In", &["front", "back"]),
                ("track", "NotIn", &["canary"]),
                ("env", "Exists", &[]),
                ("legacy", "DoesNotExist", &[]),
            ],
        ))
        .expect("valid");
        assert!(s.matches(Some(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "prod")
        ]))));
        assert!(!s.matches(Some(&labels(&[
            ("app", "web"),
            ("tier", "db"),
            ("env", "prod")
        ]))));
        assert!(!s.matches(Some(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "prod"),
            ("track", "canary")
        ]))));
        assert!(!s.matches(Some(&labels(&[("app", "web"), ("tier", "front")]))));
        assert!(!s.matches(Some(&labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("env", "p"),
            ("legacy", "1")
        ]))));
        assert!(!s.matches(None));
    }

    #[test]
    fn empty_selector_matches_everything() {
        let s = Selector::new(&LabelSelector::default()).expect("valid");
        assert!(s.is_empty());
        assert!(s.matches(None));
    }

    #[test]
    fn selector_string_form_sorts_requirements_and_values() {
        let s = Selector::new(&sel(
            &[("app", "web")],
            &[
                ("tier", "In", &["front", "back"]),
                ("legacy", "DoesNotExist", &[]),
                ("env", "Exists", &[]),
                ("z", "NotIn", &["b", "a"]),
            ],
        ))
        .expect("valid");
        assert_eq!(
            s.to_string(),
            "app=web,env,!legacy,tier in (back,front),z notin (a,b)"
        );
    }

    #[test]
    fn invalid_selectors_are_errors_not_panics() {
        assert!(matches!(
            Selector::new(&sel(&[], &[("k", "Near", &["a"])])),
            Err(SelectorError::Operator(_))
        ));
        assert!(matches!(
            Selector::new(&sel(&[], &[("k", "In", &[])])),
            Err(SelectorError::NoValues(_))
        ));
    }
}
