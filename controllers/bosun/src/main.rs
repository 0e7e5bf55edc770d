//! `bosun`: the controllers (`bosun run`), the DNS server (`bosun dns`) and the CRDs
//! (`bosun crds`) in one binary.

use bosun::{
    LogFormat, dns, duration, registry, runtime, selftest, serve, shutdown_signal, uninstall_check,
};

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
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
    /// Check an installation: a bosun Deployment of one replica rolls out, and the DNS server
    /// answers its own Service's name (what the chart's `helm test` Pod runs).
    Selftest(selftest::SelftestArgs),
    /// Fail while bosun Deployments or ReplicaSets exist (the chart's pre-delete hook when
    /// `helm uninstall` would delete the CRDs, and with them those objects and their Pods).
    UninstallCheck,
    /// Print a shell completion script for `bosun`.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the CustomResourceDefinitions of bosun's kinds as a multi-document YAML stream.
    Crds {
        /// Write one `<plural>.<group>.yaml` file per CRD into this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The controllers to run.
    #[arg(long, env = "BOSUN_CONTROLLERS", value_delimiter = ',',
          default_values = registry::names(), value_parser = registry::parser())]
    controllers: Vec<String>,
    /// Concurrent syncs per controller (upstream's --concurrent-*-syncs default is 5).
    #[arg(long, env = "BOSUN_WORKERS", default_value_t = 5)]
    workers: usize,
    /// The most endpoints an EndpointSlice holds (upstream's default 100, allowed 1 to 1000).
    #[arg(long, env = "BOSUN_MAX_ENDPOINTS_PER_SLICE", default_value_t = 100,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    max_endpoints_per_slice: u16,
    /// How long pod changes wait before their Services sync, so bursts share one write
    /// (a Go duration such as `0s`, `500ms` or `1s`; upstream's default 0s).
    #[arg(long, env = "BOSUN_ENDPOINT_UPDATES_BATCH_PERIOD", default_value = "0s",
          value_parser = duration::parse)]
    endpoint_updates_batch_period: std::time::Duration,
    /// Log format.
    #[arg(long, env = "BOSUN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Take a coordination.k8s.io/v1 Lease before acting, so that of several replicas only one
    /// acts; the others keep warm caches and take over when the lease expires.
    #[arg(long, env = "BOSUN_LEADER_ELECT", default_value_t = false)]
    leader_elect: bool,
    /// The Lease's name.
    #[arg(long, env = "BOSUN_LEASE_NAME", default_value = "bosun-controller")]
    lease_name: String,
    /// The Lease's namespace (default: $POD_NAMESPACE, else "default").
    #[arg(long, env = "BOSUN_LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// How long a lease holds without renewal, a Go duration such as `15s`, `1m30s` or `1.5m`
    /// of at least 3s (upstream's --leader-elect-lease-duration, default 15s); a standby takes
    /// over at most this long after the leader dies. The Lease holds it in whole seconds.
    #[arg(long, env = "BOSUN_LEASE_DURATION", default_value = "15s",
          value_parser = parse_lease_duration)]
    lease_duration: std::time::Duration,
    /// This process's identity in the Lease (default: $POD_NAME or $HOSTNAME, plus a random UUID).
    #[arg(long, env = "BOSUN_LEADER_IDENTITY")]
    leader_identity: Option<String>,
    /// Where to serve /metrics, /healthz and /readyz.
    #[arg(long, env = "BOSUN_METRICS_ADDR", default_value = "127.0.0.1:8080")]
    metrics_addr: std::net::SocketAddr,
    /// Client-side rate limit of API requests per second, as client-go's --kube-api-qps
    /// (kube-controller-manager's default is 20); 0 disables the limit.
    #[arg(long, env = "BOSUN_KUBE_API_QPS", default_value_t = 100.0)]
    kube_api_qps: f32,
    /// Requests allowed in a burst above the rate (kube-controller-manager's default is 30).
    #[arg(long, env = "BOSUN_KUBE_API_BURST", default_value_t = 200)]
    kube_api_burst: u32,
    /// The DNS zone the dns controller writes records under.
    #[arg(long, env = "BOSUN_DNS_ZONE", default_value = "cluster.local")]
    dns_zone: String,
}

/// The shortest `--lease-duration`: the lease manager renews a third of it (at least 1s) before
/// it expires, and needs that grace shorter than the lease. The chart checks the same bound
/// (`bosun.checkLeaseDuration` in charts/bosun/templates/_helpers.tpl).
const MIN_LEASE: std::time::Duration = std::time::Duration::from_secs(3);
/// The longest `--lease-duration`: a Lease's `spec.leaseDurationSeconds` is an int32.
const MAX_LEASE_SECS: u64 = i32::MAX as u64;

/// `--lease-duration`: a Go duration from [`MIN_LEASE`] to [`MAX_LEASE_SECS`] seconds.
fn parse_lease_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = duration::parse(text).map_err(|e| e.to_string())?;
    if d < MIN_LEASE {
        return Err(format!(
            "lease duration {text:?} is shorter than the minimum {}s",
            MIN_LEASE.as_secs()
        ));
    }
    if d.as_secs() > MAX_LEASE_SECS {
        return Err(format!(
            "lease duration {text:?} is longer than the maximum {MAX_LEASE_SECS}s (a Lease's \
             leaseDurationSeconds is an int32)"
        ));
    }
    Ok(d)
}

fn init_logs(format: LogFormat) -> anyhow::Result<()> {
    init_logs_with(format, "info")
}

/// The log filter: `BOSUN_LOG` when set (refused with a clear error when it does not parse,
/// rather than silently replaced), else `default`.
fn log_filter(value: Option<&str>, default: &str) -> anyhow::Result<tracing_subscriber::EnvFilter> {
    match value {
        Some(v) => tracing_subscriber::EnvFilter::builder()
            .parse(v)
            .with_context(|| {
                format!("BOSUN_LOG={v:?} is not a log filter (a level such as info, or directives such as info,bosun=debug)")
            }),
        None => Ok(tracing_subscriber::EnvFilter::new(default)),
    }
}

/// Logs filtered by `BOSUN_LOG`, else by `default`.
fn init_logs_with(format: LogFormat, default: &str) -> anyhow::Result<()> {
    let value = std::env::var("BOSUN_LOG").ok();
    let filter = log_filter(value.as_deref(), default)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Wait until this process holds the Lease (`Some`) or is told to stop (`None`).
///
/// Keep the write fence fed from a watch of our Lease: each renewal of ours opens it until the
/// renewal's expiry less a margin; another holder (or none) closes it.
async fn feed_fence(
    leases: Api<Lease>,
    name: String,
    identity: String,
    duration: std::time::Duration,
    fence: std::sync::Arc<runtime::fence::Fence>,
) {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut stream = watcher(leases, config)
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(ev) = stream.next().await {
        let Ok(lease) = ev else { continue };
        let spec = lease.spec.unwrap_or_default();
        match (spec.holder_identity, spec.renew_time) {
            (Some(h), Some(renewed)) if h == identity => {
                let renewed = std::time::SystemTime::from(renewed.0);
                let age = runtime::fence::age(renewed, std::time::SystemTime::now());
                fence.renewed(std::time::Instant::now(), age, duration);
            }
            _ => fence.lost(),
        }
    }
}

/// kube-lease-manager's standby sleeps until the Lease's recorded expiry (up to its whole
/// duration) even when the leader released it at shutdown. A watch of the one Lease wakes the
/// standby instead: when the Lease shows no holder, the waiting manager is dropped and a new one
/// built, which takes the free Lease at once (client-go's standbys poll every 2 s; this is
/// faster). Writing our own election would mean re-deriving the lease-locking rules the crate
/// already gets right, so only the wake-up is ours.
async fn wait_to_lead<F, Fut>(
    build: F,
    leases: Api<Lease>,
    name: &str,
    sig_rx: &mut tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<LeaderHandle>>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<kube_lease_manager::LeaseManager>>,
{
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let released = watcher(leases, config)
        .default_backoff()
        .applied_objects()
        .filter(|l| {
            let free = l.as_ref().is_ok_and(|l| {
                l.spec
                    .as_ref()
                    .and_then(|s| s.holder_identity.as_deref())
                    .is_none_or(str::is_empty)
            });
            std::future::ready(free)
        });
    futures::pin_mut!(released);
    loop {
        let (mut leading, handle) = build().await?.watch().await;
        enum Woke {
            Leading(Result<(), tokio::sync::watch::error::RecvError>),
            Stop,
            Released,
        }
        let woke = tokio::select! {
            r = leading.wait_for(|l| *l) => Woke::Leading(r.map(|_| ())),
            _ = sig_rx.wait_for(|s| *s) => Woke::Stop,
            Some(_) = released.next() => Woke::Released,
        };
        match woke {
            Woke::Leading(r) => {
                r.context("the lease manager stopped")?;
                return Ok(Some((leading, handle)));
            }
            Woke::Stop => {
                drop(leading);
                let _ = handle.await;
                return Ok(None);
            }
            Woke::Released => {
                // Dropping the receiver stops the waiting manager (it releases nothing: it holds
                // nothing); the next one tries the free Lease first thing.
                drop(leading);
                let _ = handle.await;
                tracing::debug!(lease = name, "the lease was released; trying to take it");
            }
        }
    }
}

/// A held Lease: its state channel and the task keeping it.
type LeaderHandle = (
    tokio::sync::watch::Receiver<bool>,
    tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>,
);

/// This process's identity in the Lease.
fn leader_identity(args: &RunArgs) -> String {
    if let Some(id) = &args.leader_identity {
        return id.clone();
    }
    let base = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "bosun".into());
    // client-go's leader election: `<hostname>_<uuid>`. The pid would be 1 in every container,
    // so a restarted container would claim its predecessor's identity.
    format!("{base}_{}", uuid::Uuid::new_v4())
}

/// Run the started controllers until a signal (or, leading, until the Lease is lost: an
/// error), then stop their workers and release the Lease.
async fn run_until_stopped(
    args: &RunArgs,
    lease: Option<LeaderHandle>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop_tx: tokio::sync::watch::Sender<bool>,
    sig_rx: &mut tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    match lease {
        Some((mut leading, handle)) => {
            tokio::select! {
                _ = sig_rx.wait_for(|s| *s) => {}
                _ = leading.wait_for(|l| !*l) => {
                    // As upstream: a controller that lost its lease stops at once, before another
                    // leader's writes could race its own.
                    runtime::metrics::METRICS.leader.set(0);
                    anyhow::bail!("lost the lease {}; exiting", args.lease_name);
                }
            }
            let _ = stop_tx.send(true);
            for t in tasks {
                let _ = t.await;
            }
            // Closing the channel makes the manager release the lease, so a standby takes over
            // now rather than when it expires.
            drop(leading);
            match handle.await {
                Ok(Ok(_)) => info!("lease released"),
                Ok(Err(e)) => tracing::warn!(error = %e, "releasing the lease failed"),
                Err(e) => tracing::warn!(error = %e, "the lease manager panicked"),
            }
        }
        None => {
            let _ = sig_rx.wait_for(|s| *s).await;
            let _ = stop_tx.send(true);
            for t in tasks {
                let _ = t.await;
            }
        }
    }
    Ok(())
}

/// Wait until this process holds the Lease and its fence lets writes out; `None` when a signal
/// came first.
async fn lead(
    args: &RunArgs,
    client: &kube::Client,
    fence: &std::sync::Arc<runtime::fence::Fence>,
    sig_rx: &mut tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<LeaderHandle>> {
    let namespace = args
        .lease_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .unwrap_or_else(|| "default".into());
    let identity = leader_identity(args);
    let lease_name = format!("{namespace}/{}", args.lease_name);
    info!(lease = %lease_name, %identity, "waiting to lead");
    let build = || async {
        kube_lease_manager::LeaseManagerBuilder::new(client.clone(), &args.lease_name)
            .with_namespace(&namespace)
            .with_identity(&identity)
            // Whole seconds, truncated as client-go's leaseDurationSeconds; at least 3.
            .with_duration(args.lease_duration.as_secs())
            .with_grace((args.lease_duration.as_secs() / 3).max(1))
            .build()
            .await
            .with_context(|| format!("setting up the Lease {lease_name}"))
    };
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    let Some(held) = wait_to_lead(build, leases.clone(), &args.lease_name, sig_rx).await? else {
        return Ok(None);
    };
    info!(%identity, "leading");
    let open = tokio::spawn(feed_fence(
        leases,
        args.lease_name.clone(),
        identity.clone(),
        args.lease_duration,
        fence.clone(),
    ));
    // The workers start once our renewal was seen (the fence holds back their writes until
    // then anyway).
    let deadline = tokio::time::Instant::now() + args.lease_duration;
    while !fence.allows(std::time::Instant::now()) {
        if tokio::time::Instant::now() >= deadline || open.is_finished() {
            anyhow::bail!("the Lease {lease_name} never showed this process as its holder");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(Some(held))
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let health = serve::Health::new();
    serve::spawn(args.metrics_addr, health.clone())
        .await
        .with_context(|| format!("serving metrics on {}", args.metrics_addr))?;
    // Writes wait for a renewal of the Lease when leader election is on (runtime/fence.rs).
    let fence = std::sync::Arc::new(if args.leader_elect {
        runtime::fence::Fence::closed()
    } else {
        runtime::fence::Fence::open()
    });
    let client = runtime::client::build(args.kube_api_qps, args.kube_api_burst, fence.clone())
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    // One client, and so one rate limiter, for the whole process. (kube-controller-manager gives
    // each controller a client of its own; tried here, the Deployment controller then outran a
    // throttled ReplicaSet controller and re-patched ReplicaSets hundreds of times per rollout,
    // see bench/notes.md.)
    let shared = runtime::Shared::new(client.clone());
    // SIGTERM/SIGINT, as a value every waiter can watch.
    let (sig_tx, mut sig_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = sig_tx.send(true);
    });

    // Handlers first, so they see the first list. The caches fill (and keep filling) whether or
    // not this process leads, so a standby takes over with warm caches; workers start only once
    // it leads and the caches hold the first list, so no sync ever acts on a partial view.
    let flags = registry::Flags {
        max_endpoints_per_slice: usize::from(args.max_endpoints_per_slice),
        endpoint_updates_batch_period: args.endpoint_updates_batch_period,
        dns_zone: args.dns_zone.clone(),
    };
    let controllers: Vec<registry::Pending> = registry::CONTROLLERS
        .iter()
        .filter(|e| args.controllers.iter().any(|n| n == e.name))
        .map(|e| (e.start)(&shared, &flags))
        .collect();
    tokio::select! {
        _ = shared.start() => {}
        _ = sig_rx.wait_for(|s| *s) => return Ok(()),
    }
    health.set_ready(true);

    let lease = if args.leader_elect {
        match lead(&args, &client, &fence, &mut sig_rx).await? {
            Some(l) => Some(l),
            None => return Ok(()),
        }
    } else {
        None
    };
    runtime::metrics::METRICS.leader.set(1);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let tasks: Vec<_> = controllers
        .into_iter()
        .map(|start| start(args.workers, Box::pin(stopped())))
        .collect();
    info!(controllers = ?args.controllers, workers = args.workers, "caches synced; controllers running");

    run_until_stopped(&args, lease, tasks, stop_tx, &mut sig_rx).await?;
    runtime::metrics::METRICS.leader.set(0);
    info!("stopped");
    Ok(())
}

/// One malloc arena for the whole process (glibc; musl has no arenas). glibc gives each thread
/// that contends its own arena, and the pages of a first list of thousands of Pods, freed after
/// the cache took its slim copies, then stay resident scattered over them: measured with 2000
/// Pods, one arena keeps 25 MB resident where the default keeps 34 MB. Two worker threads
/// hardly contend.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// With `--features heap-profile`, every allocation goes through dhat, which records its site.
#[cfg(feature = "heap-profile")]
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

fn main() -> anyhow::Result<()> {
    one_malloc_arena();
    // Written when dropped, as `main` returns (after SIGTERM or SIGINT).
    #[cfg(feature = "heap-profile")]
    let _heap_profile = dhat::Profiler::builder()
        .file_name(
            std::env::var_os("BOSUN_HEAP_PROFILE").unwrap_or_else(|| "dhat-heap.json".into()),
        )
        // Deep enough to reach bosun's own frames under tokio's and kube's (dhat's default is 10).
        .trim_backtraces(Some(48))
        .build();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => {
            init_logs(args.log_format)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(run(args))
        }
        Command::Dns(args) => {
            // hickory logs every query at info: keep that for BOSUN_LOG=debug-style filters.
            init_logs_with(
                args.log_format,
                "info,hickory_server=warn,hickory_net=warn,hickory_resolver=warn",
            )?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(dns::server::run(args))
        }
        Command::Selftest(args) => {
            init_logs(LogFormat::Text)?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(selftest::run(args))
        }
        Command::UninstallCheck => {
            init_logs(LogFormat::Text)?;
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?
                .block_on(uninstall_check::run())
        }
        Command::Completion { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "bosun",
                &mut std::io::stdout(),
            );
            Ok(())
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
    use std::time::Duration;

    /// `bosun run` with `args`, as clap parses them.
    fn run_args(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(["bosun", "run"].iter().chain(args))?;
        match cli.command {
            Command::Run(a) => Ok(a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn controllers_default_to_every_registered_one_and_refuse_others() {
        let all: Vec<&str> = registry::names().collect();
        assert_eq!(run_args(&[]).expect("no flags").controllers, all);
        let one = run_args(&["--controllers", "dns"]).expect("a registered name");
        assert_eq!(one.controllers, ["dns"]);
        let err = run_args(&["--controllers", "replicaset,statefulset"])
            .expect_err("an unregistered name");
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
        assert!(err.to_string().contains("statefulset"), "{err}");
    }

    #[test]
    fn every_log_level_the_chart_accepts_is_a_filter_bosun_accepts() {
        // The chart's values schema lists the levels; its helper bosun.logFilter gives the
        // controller the level and the DNS server, at info, hickory's crates at warn.
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../charts/bosun/values.schema.json"))
                .expect("the chart's values schema is JSON");
        let levels = schema["properties"]["logLevel"]["enum"]
            .as_array()
            .expect("logLevel is an enum");
        assert!(!levels.is_empty());
        for level in levels {
            let level = level.as_str().expect("a string");
            for v in [
                level.to_string(),
                format!("{level},hickory_server=warn,hickory_net=warn,hickory_resolver=warn"),
            ] {
                assert!(log_filter(Some(&v), "info").is_ok(), "BOSUN_LOG={v}");
            }
        }
    }

    #[test]
    fn a_bosun_log_that_does_not_parse_is_refused_naming_the_variable() {
        let e = log_filter(Some("info,bosun=loud"), "info").expect_err("refused");
        assert!(
            format!("{e:#}").starts_with("BOSUN_LOG=\"info,bosun=loud\" is not a log filter"),
            "{e:#}"
        );
        assert!(log_filter(None, "info").is_ok());
    }

    #[test]
    fn leader_identities_are_unique_per_process_start() {
        // Two starts of the same container (same POD_NAME, both pid 1) must not share one.
        let a = run_args(&[]).expect("parses");
        let (x, y) = (leader_identity(&a), leader_identity(&a));
        assert_ne!(x, y);
        let named = run_args(&["--leader-identity", "me"]).expect("parses");
        assert_eq!(leader_identity(&named), "me");
    }

    #[test]
    fn run_duration_flags_take_go_durations() {
        let a = run_args(&[
            "--leader-elect",
            "--lease-duration",
            "1m30s",
            "--endpoint-updates-batch-period=500ms",
        ])
        .expect("parses");
        assert_eq!(a.lease_duration, Duration::from_secs(90));
        assert_eq!(a.endpoint_updates_batch_period, Duration::from_millis(500));
        let a = run_args(&[]).expect("the defaults parse");
        assert_eq!(a.lease_duration, Duration::from_secs(15));
        assert_eq!(a.endpoint_updates_batch_period, Duration::ZERO);
        for (arg, want) in [
            ("1.5m", Duration::from_secs(90)),
            ("3s", Duration::from_secs(3)),
            ("3000ms", Duration::from_secs(3)),
            ("1s1s1s", Duration::from_secs(3)),
            ("1h", Duration::from_secs(3600)),
            ("596523h14m7s", Duration::from_secs(2147483647)),
        ] {
            let a = run_args(&["--lease-duration", arg]).expect(arg);
            assert_eq!(a.lease_duration, want, "{arg}");
        }
    }

    #[test]
    fn run_duration_flags_refuse_bad_values_naming_the_flag() {
        for (args, reason) in [
            (["--lease-duration", "1s"], "shorter than the minimum 3s"),
            (
                ["--lease-duration", "2999ms"],
                "shorter than the minimum 3s",
            ),
            (["--lease-duration", "0"], "shorter than the minimum 3s"),
            (
                ["--lease-duration", "596523h14m8s"],
                "longer than the maximum",
            ),
            (["--lease-duration", "15"], "time: missing unit in duration"),
            (["--lease-duration", "5x"], r#"unknown unit "x""#),
            (["--lease-duration", "-15s"], "negative duration"),
            (
                ["--endpoint-updates-batch-period", "-1s"],
                "negative duration",
            ),
            (
                ["--endpoint-updates-batch-period", "1"],
                "time: missing unit in duration",
            ),
        ] {
            // `--flag=value`, as a value starting with `-` needs.
            let err = match run_args(&[&format!("{}={}", args[0], args[1])]) {
                Ok(a) => panic!("{args:?} accepted: {a:?}"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(args[0]) && err.contains(reason),
                "{args:?}: {err}"
            );
        }
    }

    /// The chart's values.schema.json.
    fn chart_schema() -> serde_json::Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../charts/bosun/values.schema.json");
        let text = std::fs::read_to_string(&path).expect("the chart's schema is readable");
        serde_json::from_str(&text).expect("the chart's schema is JSON")
    }

    /// Every property of `schema` under `path` (dotted, as `--set` writes it), depth first.
    fn properties<'a>(
        path: &str,
        schema: &'a serde_json::Value,
        out: &mut Vec<(String, &'a serde_json::Value)>,
    ) {
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, sub) in props {
                let p = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                out.push((p.clone(), sub));
                properties(&p, sub, out);
            }
        }
    }

    /// The chart's duration fields: (key, its schema, whether it is bosun's Go duration rather
    /// than a Prometheus one); fails on a field that speaks of a duration without saying which.
    fn chart_duration_fields(
        schema: &serde_json::Value,
    ) -> Vec<(String, &serde_json::Value, bool)> {
        let mut all = Vec::new();
        properties("", schema, &mut all);
        let mut fields = Vec::new();
        for (key, sub) in all {
            let desc = sub["description"].as_str().unwrap_or("");
            if desc.starts_with("A Go duration") {
                fields.push((key, sub, true));
            } else if desc.starts_with("A Prometheus duration") {
                fields.push((key, sub, false));
            } else {
                assert!(
                    !desc.to_lowercase().contains("duration"),
                    "{key} speaks of a duration but is neither \"A Go duration\" nor \"A \
                     Prometheus duration\": {desc}"
                );
            }
        }
        fields
    }

    /// The subcommand and flag each Go duration of the chart becomes (through its env var).
    const CHART_DURATION_FLAGS: &[(&str, &str, &str)] = &[
        (
            "controller.leaderElection.leaseDuration",
            "run",
            "--lease-duration",
        ),
        ("dns.lameduck", "dns", "--lameduck"),
    ];

    /// Parse `bosun <subcommand> <args>`.
    fn parses(subcommand: &str, args: &[&str]) -> Result<(), clap::Error> {
        Cli::try_parse_from(["bosun", subcommand].iter().chain(args)).map(|_| ())
    }

    #[test]
    fn every_duration_example_of_the_chart_schema_is_accepted_by_its_flag() {
        let schema = chart_schema();
        let fields = chart_duration_fields(&schema);
        assert!(
            fields
                .iter()
                .any(|(k, _, go)| *go && k == "controller.leaderElection.leaseDuration"),
            "leaseDuration is no Go duration field: {:?}",
            fields.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for (key, sub, go) in fields {
            let pattern = regex::Regex::new(sub["pattern"].as_str().expect("a pattern"))
                .expect("the pattern compiles");
            let examples: Vec<&str> = sub["examples"]
                .as_array()
                .expect("examples")
                .iter()
                .map(|e| e.as_str().expect("string examples"))
                .collect();
            assert!(!examples.is_empty(), "{key} has no examples");
            for ex in examples {
                assert!(pattern.is_match(ex), "{key}: its pattern refuses {ex}");
                if !go {
                    continue;
                }
                let (sub, flag) = CHART_DURATION_FLAGS
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .map(|(_, s, f)| (*s, *f))
                    .unwrap_or_else(|| panic!("{key}: which flag of bosun is it?"));
                if let Err(e) = parses(sub, &[flag, ex]) {
                    panic!("{key}: the chart's example {ex} is refused by {flag}: {e}");
                }
            }
        }
    }

    /// Strings of up to four tokens, the tokens of Go durations and of near misses.
    fn duration_corpus() -> Vec<String> {
        const TOKENS: &[&str] = &[
            "0", "1", "5", "00", ".", "+", "-", "s", "m", "h", "ms", "us", "µs", "μs", "ns", "x",
            " ", "d",
        ];
        let mut corpus = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| TOKENS.iter().map(move |t| format!("{s}{t}")))
                .collect();
            corpus.extend(last.iter().cloned());
        }
        corpus.extend(
            [
                "1m30s", "1.5m", "2h45m", "500ms", "1m0.5s", "5.s", ".5s", "1.5.s", "S", "1M",
                "1s ", "１s", "0x1s", "1e3s", "-0", "+-1s", "1h-1m",
            ]
            .map(String::from),
        );
        corpus
    }

    #[test]
    fn chart_go_duration_patterns_accept_exactly_what_the_parser_accepts() {
        let schema = chart_schema();
        let corpus = duration_corpus();
        let mut compared = 0;
        for (key, sub, go) in chart_duration_fields(&schema) {
            if !go {
                continue;
            }
            let pattern = regex::Regex::new(sub["pattern"].as_str().expect("a pattern"))
                .expect("the pattern compiles");
            let mut accepted = 0;
            for s in &corpus {
                let parsed = duration::parse(s);
                assert_eq!(
                    pattern.is_match(s),
                    parsed.is_ok(),
                    "{key}: the pattern and the parser disagree on {s:?} ({parsed:?})"
                );
                accepted += usize::from(parsed.is_ok());
            }
            // The corpus holds both kinds, so the comparison means something.
            assert!(accepted > 1000 && accepted < corpus.len() / 2, "{accepted}");
            compared += 1;
        }
        assert!(compared > 0, "no Go duration field in the chart's schema");
    }

    #[test]
    fn chart_prometheus_duration_patterns_refuse_go_only_forms() {
        let schema = chart_schema();
        let mut checked = 0;
        for (key, sub, go) in chart_duration_fields(&schema) {
            if go {
                continue;
            }
            let pattern = regex::Regex::new(sub["pattern"].as_str().expect("a pattern"))
                .expect("the pattern compiles");
            for ok in ["30s", "1m30s", "500ms", "1d", "0"] {
                assert!(pattern.is_match(ok), "{key} refuses {ok}");
            }
            for bad in ["1.5m", "30s1m", "+30s", "10us", "1m 30s"] {
                assert!(!pattern.is_match(bad), "{key} accepts {bad}");
            }
            checked += 1;
        }
        assert_eq!(
            checked, 2,
            "the ServiceMonitor's interval and scrapeTimeout"
        );
    }

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
