//! What a controller declares to be run by `bosun run`: its [`Entry`] (name, help, RBAC,
//! constructor). The list of entries is `crate::registry`.

use std::sync::Arc;
use std::time::Duration;

use super::rbac::Rule;
use super::{Reconciler, Shared};

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
pub fn pending<R: Reconciler>(c: Arc<R>) -> Pending {
    Box::new(move |workers, stop| tokio::spawn(super::run_workers(c, workers, stop)))
}

/// One controller of `bosun run`.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Its `--controllers` name (and the chart's `controller.controllers` value).
    pub name: &'static str,
    /// One line on what it does (`bosun run --help`).
    pub about: &'static str,
    /// The permissions its calls need (see `runtime/rbac.rs`; the chart is generated from it).
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
