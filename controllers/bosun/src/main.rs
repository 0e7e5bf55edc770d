//! `bosun`: the controllers (`bosun run`), the DNS server (`bosun dns`) and the CRDs
//! (`bosun crds`) in one binary.

mod deployment;
mod dns;
mod replicaset;
mod runtime;

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracing::info;

/// Kubernetes' core controllers as custom resources, and a DNS server.
#[derive(Parser, Debug)]
#[command(name = "bosun", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controllers.
    Run(RunArgs),
    /// Serve DNS for the cluster zone from the DNSRecordSets.
    Dns(dns::server::DnsArgs),
    /// Print the CustomResourceDefinitions of bosun's kinds as a multi-document YAML stream.
    Crds {
        /// Write one `<plural>.<group>.yaml` file per CRD into this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
}

/// The controllers `bosun run` can run.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ControllerName {
    /// apps.bosun.dev/v1 ReplicaSet → core Pods.
    Replicaset,
    /// apps.bosun.dev/v1 Deployment → ReplicaSets.
    Deployment,
    /// core Service + bosun EndpointSlices → dns.bosun.dev/v1 DNSRecordSet.
    Dns,
}

/// How logs are written.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The controllers to run.
    #[arg(long, env = "BOSUN_CONTROLLERS", value_delimiter = ',', default_values = ["replicaset", "deployment", "dns"])]
    controllers: Vec<ControllerName>,
    /// Concurrent syncs per controller (upstream's --concurrent-*-syncs default is 5).
    #[arg(long, env = "BOSUN_WORKERS", default_value_t = 5)]
    workers: usize,
    /// Log format.
    #[arg(long, env = "BOSUN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// The DNS zone the dns controller writes records under.
    #[arg(long, env = "BOSUN_DNS_ZONE", default_value = "cluster.local")]
    dns_zone: String,
}

fn init_logs(format: LogFormat) {
    init_logs_with(format, "info");
}

/// Logs filtered by `BOSUN_LOG`, else by `default`.
fn init_logs_with(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOSUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
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

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    let shared = runtime::Shared::new(client);
    let mut tasks = Vec::new();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    // Handlers first, so they see the first list; workers only once the caches hold it, so no
    // sync ever acts on a partial view.
    let rs_controller = args
        .controllers
        .contains(&ControllerName::Replicaset)
        .then(|| replicaset::Controller::new(shared.clone()));
    let deploy_controller = args
        .controllers
        .contains(&ControllerName::Deployment)
        .then(|| deployment::Controller::new(shared.clone()));
    let dns_controller = args
        .controllers
        .contains(&ControllerName::Dns)
        .then(|| dns::controller::Controller::new(shared.clone(), &args.dns_zone));
    shared.start().await;
    if let Some(c) = rs_controller {
        tasks.push(tokio::spawn(runtime::run_workers(
            c,
            args.workers,
            stopped(),
        )));
    }
    if let Some(c) = deploy_controller {
        tasks.push(tokio::spawn(runtime::run_workers(
            c,
            args.workers,
            stopped(),
        )));
    }
    if let Some(c) = dns_controller {
        tasks.push(tokio::spawn(runtime::run_workers(
            c,
            args.workers,
            stopped(),
        )));
    }
    info!(controllers = ?args.controllers, workers = args.workers, "caches synced; controllers running");
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    info!("stopped");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            init_logs(args.log_format);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(run(args))
        }
        Command::Dns(args) => {
            // hickory logs every query at info: keep that for BOSUN_LOG=debug-style filters.
            init_logs_with(args.log_format, "info,hickory_server=warn,hickory_net=warn");
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(dns::server::run(args))
        }
        Command::Crds { out_dir: None } => print_crds(),
        Command::Crds { out_dir: Some(dir) } => write_crds(&dir),
    }
}

fn print_crds() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(crds_yaml()?.as_bytes())
        .context("writing the CRDs to stdout")
}

fn write_crds(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, yaml) in crd_files()? {
        let path = dir.join(file);
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The CRDs as one YAML stream.
fn crds_yaml() -> anyhow::Result<String> {
    Ok(crd_files()?
        .into_iter()
        .map(|(_, yaml)| format!("---\n{yaml}"))
        .collect())
}

/// The CRDs as the files committed under `crds/`: `(file name, YAML)`.
fn crd_files() -> anyhow::Result<Vec<(String, String)>> {
    bosun_api::crd::all()
        .into_iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let yaml = serde_saphyr::to_string(&crd).context("serialising a CRD to YAML")?;
            Ok((format!("{name}.yaml"), yaml))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crds/` is generated from the types; regenerate with `make crds`.
    #[test]
    fn committed_crds_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds");
        let files = crd_files().expect("CRDs serialise");
        let mut committed: Vec<_> = std::fs::read_dir(&dir)
            .expect("crds/ exists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        committed.sort();
        let mut generated: Vec<_> = files.iter().map(|(n, _)| n.clone()).collect();
        generated.sort();
        assert_eq!(
            committed, generated,
            "crds/ holds other files than the types generate; run `make crds`"
        );
        for (name, yaml) in files {
            let on_disk = std::fs::read_to_string(dir.join(&name)).expect("readable");
            assert!(
                on_disk == yaml,
                "crds/{name} drifted from the Rust types; run `make crds`"
            );
        }
    }
}
