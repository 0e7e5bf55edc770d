//! The act side of bosun, held once for both binaries: `bosun` (`src/main.rs`: the
//! controllers, the DNS server, the CRDs) and `kubectl-bosun` (`src/kubectl_bosun.rs`: the
//! kubectl plugin). Each binary is a thin edge that parses its flags and calls in here.
//!
//! ```text
//! runtime/         informers, work queue, client, leader fence, pacer, events, metrics
//! deployment.rs    replicaset.rs    endpointslice.rs    dns/controller.rs   the controllers
//! dns/             the DNS server (`bosun dns`)
//! selftest.rs  uninstall_check.rs  serve.rs             `bosun selftest`, the chart's hooks, /metrics
//! kubectl/         the plugin's verbs, one module each (kubectl/cli.rs: its flags)
//! duration.rs  complete.rs                               Go durations; shell completion
//! ```

pub mod complete;
pub mod deployment;
pub mod dns;
pub mod duration;
pub mod endpointslice;
pub mod kubectl;
pub mod registry;
pub mod replicaset;
// `WorkQueue::len` is read by metrics and tests only; the lint asks public types for an
// `is_empty`, which nothing here needs (the crate is public only to its two binaries).
#[allow(clippy::len_without_is_empty)]
pub mod runtime;
pub mod selftest;
pub mod serve;
pub mod uninstall_check;

use tracing::info;

/// How logs are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    info!("shutting down: finishing in-flight syncs");
}
