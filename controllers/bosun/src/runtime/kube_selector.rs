//! Why core keeps its own label selector (`bosun_core::selector`) rather than kube's
//! `kube::core::Selector`: on matching the two agree, but kube's accepts `In`/`NotIn` with no
//! values (upstream's `LabelSelectorAsSelector` refuses them, and a ReplicaSet with such a
//! selector reports the error rather than selecting nothing), and its string form keeps the
//! written order where upstream's `labels.Selector.String()` sorts by key (the form a
//! ReplicaSet's `status.selector` carries for the scale subresource and the HPA).

use std::collections::BTreeMap;

use bosun_core::selector::Selector as Core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::core::{Selector as Kube, SelectorExt};

fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
    LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty() || op == "In" || op == "NotIn")
            .then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn kube_and_core_selectors_match_the_same_labels() {
    let keys = ["app", "tier", "track"];
    let values = ["web", "db", "canary"];
    // Every requirement over a small alphabet, alone and with a matchLabels entry, against
    // every label set over it: both selectors agree on each.
    let mut requirements = Vec::new();
    for k in keys {
        requirements.push(req(k, "Exists", &[]));
        requirements.push(req(k, "DoesNotExist", &[]));
        for v in values {
            requirements.push(req(k, "In", &[v]));
            requirements.push(req(k, "NotIn", &[v]));
            requirements.push(req(k, "In", &[v, "web"]));
        }
    }
    let mut label_sets = vec![BTreeMap::new()];
    for k in keys {
        let mut more = Vec::new();
        for set in &label_sets {
            for v in values {
                let mut s = set.clone();
                s.insert(k.to_string(), v.to_string());
                more.push(s);
            }
        }
        label_sets.extend(more);
    }
    let mut compared = 0;
    for r in &requirements {
        for match_labels in [None, Some(labels(&[("app", "web")]))] {
            let ls = LabelSelector {
                match_labels,
                match_expressions: Some(vec![r.clone()]),
            };
            let core = Core::new(&ls).expect("core parses it");
            let kube = Kube::try_from(ls.clone()).expect("kube parses it");
            for set in &label_sets {
                assert_eq!(
                    core.matches(Some(set)),
                    kube.matches(set),
                    "{ls:?} on {set:?}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "{compared}");
    // The empty selector selects everything in both.
    assert!(
        Core::new(&LabelSelector::default())
            .expect("empty")
            .matches(None)
    );
    assert!(
        Kube::try_from(LabelSelector::default())
            .expect("empty")
            .matches(&BTreeMap::new())
    );
}

#[test]
fn kube_accepts_in_without_values_where_upstream_refuses() {
    let ls = LabelSelector {
        match_labels: None,
        match_expressions: Some(vec![req("app", "In", &[])]),
    };
    assert!(Kube::try_from(ls.clone()).is_ok());
    let err = Core::new(&ls).expect_err("upstream refuses it");
    assert!(
        err.to_string().contains("values set can't be empty"),
        "{err}"
    );
}

#[test]
fn kube_writes_requirements_in_their_order_where_upstream_sorts_by_key() {
    let ls = LabelSelector {
        match_labels: Some(labels(&[("tier", "back")])),
        match_expressions: Some(vec![req("app", "In", &["web", "api"])]),
    };
    let core = Core::new(&ls).expect("valid").to_string();
    let kube = Kube::try_from(ls).expect("valid").to_string();
    assert_eq!(core, "app in (api,web),tier=back");
    assert_ne!(kube, core);
}
