//! The controllers `bosun run` can run. Each controller's module declares itself once, in an
//! [`Entry`] (`runtime/entry.rs`): its `--controllers` name, what it does, the RBAC its calls
//! need, and how it starts. `bosun run`'s flag, the chart's controller RBAC and its values
//! schema all come from this list (`chart.rs` generates the chart's copies; its tests fail when
//! they drift).

pub mod chart;

pub use crate::runtime::entry::{Entry, Flags, Pending, pending};
use crate::runtime::rbac::{PARTS, Part};

/// Every controller, in the order `bosun run` starts them. A new controller is a line here.
pub const CONTROLLERS: &[Entry] = &[
    crate::replicaset::ENTRY,
    crate::deployment::ENTRY,
    crate::endpointslice::ENTRY,
    crate::dns::controller::ENTRY,
];

/// The `--controllers` names.
pub fn names() -> impl Iterator<Item = &'static str> {
    CONTROLLERS.iter().map(|e| e.name)
}

/// The controller called `name`.
pub fn find(name: &str) -> Option<&'static Entry> {
    CONTROLLERS.iter().find(|e| e.name == name)
}

/// `--controllers`' parser: the registered names, each with its line of help.
pub fn parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        CONTROLLERS
            .iter()
            .map(|e| clap::builder::PossibleValue::new(e.name).help(e.about)),
    )
}

/// Every part of bosun: the process's ([`PARTS`]), then each registered controller under its
/// `--controllers` name.
pub fn parts() -> impl Iterator<Item = Part> {
    PARTS
        .iter()
        .copied()
        .chain(CONTROLLERS.iter().map(|e| Part {
            name: e.name,
            rules: e.rbac,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_words() {
        let names: Vec<&str> = names().collect();
        let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for n in names {
            assert!(
                !n.is_empty() && n.chars().all(|c| c.is_ascii_lowercase()),
                "{n:?}: a chart value and a flag value, so a plain lowercase word"
            );
            assert!(find(n).is_some());
        }
        assert!(find("statefulset").is_none());
    }
}
