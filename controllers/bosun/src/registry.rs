//! The controllers `bosun run` can run. Each controller's module declares itself once, in an
//! [`Entry`]: its `--controllers` name, what it does, the RBAC its calls need, and how it
//! starts. `bosun run`'s flag, the chart's RBAC and its values schema all come from this list
//! (`runtime/rbac.rs` generates and checks the chart's copies).

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::rbac::Rule;
use crate::runtime::{self, Shared};

/// The flags of `bosun run` a controller may read.
#[derive(Debug, Clone)]
pub struct Flags {
    /// `--max-endpoints-per-slice`.
    pub max_endpoints_per_slice: usize,
    /// `--endpoint-updates-batch-period`.
    pub endpoint_updates_batch_period: Duration,
    /// `--dns-zone`.
    pub dns_zone: String,
}

/// A controller registered on the informers, waiting to lead: starting it spawns its workers,
/// which stop when the future given resolves.
pub type Pending = Box<
    dyn FnOnce(usize, futures::future::BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()>
        + Send,
>;

/// A constructed controller, waiting to be started.
pub fn pending<R: runtime::Reconciler>(c: Arc<R>) -> Pending {
    Box::new(move |workers, stop| tokio::spawn(runtime::run_workers(c, workers, stop)))
}

/// One controller of `bosun run`.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Its `--controllers` name (and the chart's `controller.controllers` value).
    pub name: &'static str,
    /// One line on what it does (`bosun run --help`).
    pub about: &'static str,
    /// The permissions its calls need (see `runtime/rbac.rs`).
    pub rbac: &'static [Rule],
    /// Construct it: register its handlers on the shared informers (before they start, so it
    /// sees their first list).
    pub start: fn(&Arc<Shared>, &Flags) -> Pending,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).finish()
    }
}

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
