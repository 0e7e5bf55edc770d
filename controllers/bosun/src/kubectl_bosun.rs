//! `kubectl bosun`: the kubectl verbs that plain kubectl only has for built-in kinds, for
//! bosun's Deployments and ReplicaSets, with kubectl's flags, output, wording and exit codes.
//!
//! ```text
//! kubectl bosun create deployment NAME --image=IMG [--replicas=N] [--port=P] [-- COMMAND ARGS]
//! kubectl bosun set image deploy/NAME CONTAINER=IMAGE ...
//! kubectl bosun expose deploy/NAME|rs/NAME [--port=P] [--target-port=T] [--type=T] [--name=N]
//! kubectl bosun describe deploy|rs [NAME]
//! kubectl bosun get deploy NAME [-w] [-o json|yaml] [--timeout=D]
//! kubectl bosun rollout status|history|undo|pause|resume|restart|promote|abort|retry deploy/NAME
//! kubectl bosun migrate deploy/NAME [--to apps/v1] [--dry-run] [--force] [--timeout=5m]
//! ```
//!
//! Global flags as kubectl's: `-n/--namespace`, `--context`, `--kubeconfig` (and `KUBECONFIG`).

use bosun::{complete, duration, kubectl};

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kubectl::{DryRun, Failure, Target, resource_args};

/// kubectl's commands for bosun's kinds.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-bosun",
    bin_name = "kubectl bosun",
    version,
    about = "kubectl commands for bosun's Deployments and ReplicaSets (apps.bosun.dev/v1)"
)]
struct Cli {
    /// If present, the namespace scope for this CLI request.
    #[arg(short = 'n', long, global = true)]
    namespace: Option<String>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    context: Option<String>,
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long, global = true)]
    kubeconfig: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a resource (as `kubectl create`): `create deployment`.
    Create {
        #[command(subcommand)]
        what: Create,
    },
    /// Set specific features on objects (as `kubectl set`): `set image`.
    Set {
        #[command(subcommand)]
        what: Set,
    },
    /// Take a bosun Deployment or ReplicaSet and expose it as a new Kubernetes Service.
    ///
    /// Looks up the object by name and uses its selector as the selector of a new Service on
    /// the given port, exactly as `kubectl expose` does for apps/v1 objects. The selector must
    /// be map-based (matchLabels only). Without --port, the containers' ports are used.
    #[command(
        after_help = "Examples:\n  # Create a service for a bosun Deployment, serving on port 80 and connecting to the containers on port 8000\n  kubectl bosun expose deploy/nginx --port=80 --target-port=8000\n\n  # Create a NodePort service for a bosun ReplicaSet\n  kubectl bosun expose rs/frontend --type=NodePort --port=8080 --name=frontend"
    )]
    Expose {
        /// TYPE NAME or TYPE/NAME: deploy/NAME or rs/NAME.
        #[arg(required = true, num_args = 1..=2)]
        resource: Vec<String>,
        /// The port that the service should serve on. Copied from the resource being exposed, if unspecified.
        #[arg(long)]
        port: Option<String>,
        /// Name or number for the port on the container that the service should direct traffic to. Optional.
        #[arg(long)]
        target_port: Option<String>,
        /// Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'.
        #[arg(long = "type")]
        type_: Option<String>,
        /// The name for the newly created object.
        #[arg(long)]
        name: Option<String>,
        /// The network protocol for the service to be created. Default is 'TCP'.
        #[arg(long)]
        protocol: Option<String>,
        /// A label selector to use for this service. Only equality-based selector requirements are supported. If empty (the default) infer the selector from the resource being exposed.
        #[arg(long)]
        selector: Option<String>,
        /// Labels to apply to the service created by this call.
        #[arg(short = 'l', long)]
        labels: Option<String>,
        /// Additional external IP address (not managed by Kubernetes) to accept for the service.
        #[arg(long)]
        external_ip: Option<String>,
        /// IP to assign to the LoadBalancer. If empty, an ephemeral IP will be created and used (cloud-provider specific).
        #[arg(long)]
        load_balancer_ip: Option<String>,
        /// If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'
        #[arg(long)]
        session_affinity: Option<String>,
        /// ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to create a headless service.
        #[arg(long)]
        cluster_ip: Option<String>,
        #[command(flatten)]
        print: PrintFlags,
    },
    /// Show details of a bosun Deployment or ReplicaSet, as `kubectl describe` does for apps/v1.
    #[command(
        after_help = "Examples:\n  kubectl bosun describe deploy hello\n  kubectl bosun describe rs/hello-5d8b9c7f6d\n  kubectl bosun describe deploy        # every Deployment in the namespace"
    )]
    Describe {
        /// TYPE [NAME] or TYPE/NAME: deploy or rs.
        #[arg(required = true, num_args = 1..=2)]
        resource: Vec<String>,
        /// If true, display events related to the described object.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        show_events: bool,
    },
    /// Show a bosun Deployment as a tree: its ReplicaSets by revision, their Pods, each with
    /// status, readiness, restarts and age (as `kubectl argo rollouts get rollout`).
    ///
    /// The ReplicaSet of the Deployment's template is `new` while it rolls out and `stable`
    /// once the rollout is complete; until then the old one of the highest revision that still
    /// runs Pods is `stable`. With --watch the tree is printed again whenever it changes (on a
    /// terminal, redrawn in place) until Ctrl-C, --timeout, or the Deployment's deletion.
    #[command(
        after_help = "Examples:\n  kubectl bosun get deploy web\n  kubectl bosun get deploy/web --watch\n  kubectl bosun get deployment web -o json"
    )]
    Get {
        /// deploy NAME or deploy/NAME (also deployment, deployments, bdeploy).
        #[arg(required = true, num_args = 1..=2)]
        resource: Vec<String>,
        /// After printing the tree, watch for changes and print it again.
        #[arg(short = 'w', long)]
        watch: bool,
        /// Output format: json or yaml (a document for scripts); the tree when unset.
        #[arg(short = 'o', long)]
        output: Option<String>,
        /// With --watch, stop after this long (Go's durations: 30s, 5m, 1m30s); 0 never stops.
        #[arg(long, default_value = "0s", value_parser = crate::duration::parse)]
        timeout: std::time::Duration,
    },
    /// Manage the rollout of a bosun Deployment, as `kubectl rollout`.
    Rollout {
        #[command(subcommand)]
        action: kubectl::rollout::Rollout,
    },
    /// Move an apps/v1 Deployment to bosun (or back, --to apps/v1) without restarting a Pod.
    ///
    /// Creates the bosun Deployment (paused), deletes the apps/v1 Deployment and its
    /// ReplicaSets orphaning their Pods, creates bosun ReplicaSets of the same names, selectors
    /// and templates that adopt the Pods, then resumes the Deployment. No Pod is created,
    /// deleted or changed; the next template change is an ordinary bosun rollout.
    #[command(
        after_help = "Examples:\n  # Show what would be done, change nothing\n  kubectl bosun migrate deploy/web --dry-run\n\n  # The objects that would be created\n  kubectl bosun migrate deploy/web --dry-run -o yaml\n\n  # Hand deploy/web to bosun\n  kubectl bosun migrate deploy/web\n\n  # And back to kube-controller-manager\n  kubectl bosun migrate deploy/web --to apps/v1"
    )]
    Migrate {
        /// deploy/NAME or NAME: the Deployment in the API it leaves.
        target: String,
        /// The API the Deployment moves to: apps.bosun.dev/v1, or apps/v1 for the way back.
        #[arg(long, default_value = "apps.bosun.dev/v1", value_parser = ["apps.bosun.dev/v1", "apps/v1"])]
        to: String,
        /// Migrate even while a rollout is in progress (the target Deployment carries it on).
        #[arg(long)]
        force: bool,
        /// How long to wait for the garbage collector and the adoption before giving up (a Go duration).
        #[arg(long, default_value = "5m", value_parser = duration::parse)]
        timeout: std::time::Duration,
        /// Must be "none" or "client". With "client" (or --dry-run alone), print the steps (or with -o, the objects) and change nothing.
        #[arg(long, default_value = "none", default_missing_value = "client", num_args = 0..=1, require_equals = true)]
        dry_run: String,
        /// Output format of --dry-run's objects. One of: (json, yaml).
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
    /// Print a shell completion script for `kubectl-bosun` (through kubectl, install the
    /// `kubectl_complete-bosun` helper instead: README).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum Create {
    /// Create a bosun Deployment with the specified name, as `kubectl create deployment` does.
    #[command(
        visible_alias = "deploy",
        after_help = "Examples:\n  # Create a deployment named my-dep that runs the busybox image\n  kubectl bosun create deployment my-dep --image=busybox\n\n  # Create a deployment with a command\n  kubectl bosun create deployment my-dep --image=busybox -- date\n\n  # Create a deployment named my-dep that runs the nginx image with 3 replicas\n  kubectl bosun create deployment my-dep --image=nginx --replicas=3\n\n  # Create a deployment named my-dep that runs the busybox image and expose port 5701\n  kubectl bosun create deployment my-dep --image=busybox --port=5701"
    )]
    Deployment {
        /// The Deployment's name.
        name: String,
        /// Image names to run. A deployment can have multiple images set for multi-container pod.
        #[arg(long, value_delimiter = ',')]
        image: Vec<String>,
        /// The containerPort that this deployment exposes.
        #[arg(long)]
        port: Option<i32>,
        /// Number of replicas to create. Default is 1.
        #[arg(short = 'r', long, default_value_t = 1)]
        replicas: i32,
        /// The command (and its arguments) of the container, after `--`.
        #[arg(last = true)]
        command: Vec<String>,
        #[command(flatten)]
        print: PrintFlags,
    },
}

#[derive(Subcommand, Debug)]
enum Set {
    /// Update existing container image(s) of a bosun Deployment or ReplicaSet, as `kubectl set image`.
    #[command(
        after_help = "Examples:\n  # Set a deployment's nginx container image to 'nginx:1.9.1', and its busybox container image to 'busybox'\n  kubectl bosun set image deploy/nginx busybox=busybox nginx=nginx:1.9.1\n\n  # Update the image of every container of a deployment\n  kubectl bosun set image deploy/nginx '*=nginx:1.9.1'"
    )]
    Image {
        /// (TYPE NAME | TYPE/NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... CONTAINER_NAME_N=CONTAINER_IMAGE_N
        #[arg(required = true, num_args = 1..)]
        args: Vec<String>,
        #[command(flatten)]
        print: PrintFlags,
    },
}

/// kubectl's `--dry-run` and `-o`.
#[derive(clap::Args, Debug)]
struct PrintFlags {
    /// Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.
    #[arg(long, default_value = "none", default_missing_value = "client", num_args = 0..=1, require_equals = true)]
    dry_run: String,
    /// Output format. One of: (json, yaml, name).
    #[arg(short = 'o', long)]
    output: Option<String>,
}

async fn run(cli: Cli) -> Result<String, Failure> {
    let target = Target {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    };
    match cli.command {
        Command::Completion { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "kubectl-bosun",
                &mut out,
            );
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        Command::Create {
            what:
                Create::Deployment {
                    name,
                    image,
                    port,
                    replicas,
                    command,
                    print,
                },
        } => {
            let dry_run = DryRun::parse(&print.dry_run)?;
            let o = kubectl::create::CreateDeployment {
                name,
                images: image,
                port,
                replicas,
                command,
                namespace: None,
            };
            kubectl::create::validate(&o)?;
            let session = target.connect().await?;
            kubectl::create::run(&session, o, dry_run, print.output.as_deref()).await
        }
        Command::Set {
            what: Set::Image { args, print },
        } => {
            let dry_run = DryRun::parse(&print.dry_run)?;
            let (kind, name, rest) = resource_args(&args, "set image")?;
            let Some(name) = name else {
                return Err(Failure("error: one or more resources must be specified as <resource> <name> or <resource>/<name>".into()));
            };
            let pairs = kubectl::set_image::parse_pairs(rest)?;
            let session = target.connect().await?;
            kubectl::set_image::run(
                &session,
                kind,
                &name,
                &pairs,
                dry_run,
                print.output.as_deref(),
            )
            .await
        }
        Command::Expose {
            resource,
            port,
            target_port,
            type_,
            name,
            protocol,
            selector,
            labels,
            external_ip,
            load_balancer_ip,
            session_affinity,
            cluster_ip,
            print,
        } => {
            let dry_run = DryRun::parse(&print.dry_run)?;
            let (kind, object, rest) = resource_args(&resource, "expose")?;
            let Some(object) = object.filter(|_| rest.is_empty()) else {
                return Err(Failure(
                    "error: you must provide one or more resources by argument or filename".into(),
                ));
            };
            let flags = kubectl::expose::ExposeFlags {
                port,
                target_port,
                type_,
                name,
                protocol,
                selector,
                labels,
                external_ip,
                load_balancer_ip,
                session_affinity,
                cluster_ip,
            };
            let session = target.connect().await?;
            kubectl::expose::run(
                &session,
                kind,
                &object,
                &flags,
                dry_run,
                print.output.as_deref(),
            )
            .await
        }
        Command::Describe {
            resource,
            show_events,
        } => {
            let (kind, name, rest) = resource_args(&resource, "describe")?;
            if !rest.is_empty() {
                return Err(Failure(format!("error: unexpected argument {:?}", rest[0])));
            }
            let session = target.connect().await?;
            kubectl::describe::run(&session, kind, name.as_deref(), show_events).await
        }
        Command::Get {
            resource,
            watch,
            output,
            timeout,
        } => {
            let name = get_target(&resource)?;
            kubectl::get::check_output(output.as_deref())?;
            let session = target.connect().await?;
            let o = kubectl::get::GetOptions {
                name,
                watch,
                output,
                timeout,
            };
            kubectl::get::run(&session, &o).await
        }
        Command::Migrate {
            target: what,
            to,
            force,
            timeout,
            dry_run,
            output,
        } => {
            let dry_run = DryRun::parse(&dry_run)?;
            let to = kubectl::migrate::Flavor::parse(&to)?;
            let session = target.connect().await?;
            kubectl::migrate::run(
                &session,
                &what,
                to,
                dry_run,
                output.as_deref(),
                force,
                timeout,
            )
            .await
        }
        Command::Rollout { action } => {
            let session = target.connect().await?;
            kubectl::rollout::run(&session, &action)
                .await
                .map(|()| String::new())
        }
    }
}

/// The Deployment `get` shows: `deploy NAME` or `deploy/NAME` (the words of [`Kind::parse`]).
fn get_target(resource: &[String]) -> Result<String, Failure> {
    let (kind, name, rest) = resource_args(resource, "get")?;
    if kind != kubectl::Kind::Deployment {
        return Err(Failure(
            "error: kubectl bosun get shows a deployment's tree (deploy NAME); use kubectl get brs for replicasets".into(),
        ));
    }
    match (name, rest) {
        (Some(name), []) => Ok(name),
        (_, [extra, ..]) => Err(Failure(format!("error: unexpected argument {extra:?}"))),
        (None, []) => Err(Failure(
            "error: you must specify the name of the deployment to get (deploy NAME)".into(),
        )),
    }
}

fn main() -> ExitCode {
    // kubectl's plugin completion: `kubectl_complete-bosun WORDS...` runs
    // `kubectl-bosun __complete WORDS...`.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__complete") {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        cmd.build();
        print!(
            "{}",
            complete::protocol_output(&complete::candidates(&cmd, &args[2..]))
        );
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // kubectl exits 0 for --help and 1 for every usage error.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure(msg)) => {
            let msg = if msg.starts_with("error: ")
                || msg.starts_with("Error from server")
                || msg.starts_with("The ")
                || msg.starts_with("No resources found")
            {
                msg
            } else {
                format!("error: {msg}")
            };
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The `--timeout` of `rollout status` as clap parses `args`.
    fn rollout_status_timeout(args: &[&str]) -> Result<Duration, clap::Error> {
        let argv = ["kubectl-bosun", "rollout", "status", "deploy/web"];
        let cli = Cli::try_parse_from(argv.iter().chain(args))?;
        match cli.command {
            Command::Rollout {
                action: kubectl::rollout::Rollout::Status { timeout, .. },
            } => Ok(timeout),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn rollout_status_timeout_takes_go_durations_as_kubectl() {
        assert_eq!(rollout_status_timeout(&[]).ok(), Some(Duration::ZERO));
        for (arg, want) in [
            ("--timeout=1m30s", Duration::from_secs(90)),
            ("--timeout=0", Duration::ZERO),
            ("--timeout=1.5h", Duration::from_secs(5400)),
            ("--timeout=500ms", Duration::from_millis(500)),
        ] {
            assert_eq!(rollout_status_timeout(&[arg]).ok(), Some(want), "{arg}");
        }
    }

    #[test]
    fn rollout_status_timeout_refuses_what_kubectl_refuses_naming_the_flag() {
        // kubectl: `invalid argument "5" for "--timeout" flag: time: missing unit in duration "5"`.
        for (arg, reason) in [
            ("--timeout=5", r#"time: missing unit in duration "5""#),
            ("--timeout=5x", r#"time: unknown unit "x" in duration "5x""#),
            ("--timeout=-1s", r#"negative duration "-1s""#),
        ] {
            let err = match rollout_status_timeout(&[arg]) {
                Ok(d) => panic!("{arg} accepted as {d:?}"),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains("--timeout") && err.contains(reason),
                "{arg}: {err}"
            );
        }
    }

    /// What `get` parses `args` into: (name, watch, output, timeout).
    fn get(args: &[&str]) -> Result<(String, bool, Option<String>, Duration), String> {
        let cli = Cli::try_parse_from(["kubectl-bosun", "get"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Get {
                resource,
                watch,
                output,
                timeout,
            } => {
                let name = get_target(&resource).map_err(|Failure(m)| m)?;
                Ok((name, watch, output, timeout))
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn get_takes_a_deployment_as_the_other_verbs_name_it() {
        for args in [
            &["deploy", "web"][..],
            &["deploy/web"],
            &["deployment", "web"],
            &["deployments/web"],
            &["bdeploy", "web"],
            &["deployment.apps.bosun.dev/web"],
        ] {
            assert_eq!(
                get(args),
                Ok(("web".into(), false, None, Duration::ZERO)),
                "{args:?}"
            );
        }
        assert_eq!(
            get(&["deploy/web", "-w", "--timeout=1m30s", "-o", "json"]),
            Ok((
                "web".into(),
                true,
                Some("json".into()),
                Duration::from_secs(90)
            ))
        );
        assert_eq!(get(&["deploy", "web", "--watch"]).map(|g| g.1), Ok(true));
    }

    #[test]
    fn get_refuses_other_kinds_a_missing_name_and_extra_words() {
        let refused = |args: &[&str]| match get(args) {
            Ok(g) => panic!("{args:?} accepted as {g:?}"),
            Err(e) => e,
        };
        assert!(refused(&["rs", "web-1"]).contains("kubectl bosun get shows a deployment's tree"));
        assert!(refused(&["svc/web"]).contains("not \"svc\""));
        assert!(refused(&["deploy"]).contains("you must specify the name"));
        assert!(refused(&["deploy/web", "extra"]).contains("unexpected argument \"extra\""));
        assert!(refused(&["deploy/web", "--timeout=5"]).contains("missing unit"));
        assert_eq!(
            kubectl::get::check_output(Some("wide")).map_err(|Failure(m)| m),
            Err("error: unable to match a printer suitable for the output format \"wide\", allowed formats are: json,yaml".into())
        );
    }

    #[test]
    fn get_is_among_the_completed_verbs_with_its_flags() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        cmd.build();
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(complete::candidates(&cmd, &words(&[""])).contains(&"get".to_string()));
        assert_eq!(complete::candidates(&cmd, &words(&["g"])), ["get"]);
        assert_eq!(
            complete::candidates(&cmd, &words(&["get", "deploy/web", "--w"])),
            ["--watch"]
        );
    }

    #[test]
    fn migrate_parses_its_flags_and_completes() {
        let cli = Cli::try_parse_from([
            "kubectl-bosun",
            "migrate",
            "deploy/web",
            "--to",
            "apps/v1",
            "--dry-run",
            "--timeout=2m",
        ]);
        match cli.map(|c| c.command) {
            Ok(Command::Migrate {
                target,
                to,
                dry_run,
                timeout,
                force,
                ..
            }) => {
                assert_eq!(
                    (target.as_str(), to.as_str(), dry_run.as_str(), force),
                    ("deploy/web", "apps/v1", "client", false)
                );
                assert_eq!(timeout, Duration::from_secs(120));
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(
            Cli::try_parse_from(["kubectl-bosun", "migrate", "deploy/web", "--to", "v2"]).is_err()
        );
        let mut cmd = <Cli as clap::CommandFactory>::command();
        cmd.build();
        let help = cmd.render_help().to_string();
        assert!(
            help.lines().any(|l| l.trim_start().starts_with("migrate ")),
            "{help}"
        );
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(complete::candidates(&cmd, &words(&["mig"])), ["migrate"]);
        let flags = complete::candidates(&cmd, &words(&["migrate", "deploy/web", "--"]));
        for f in ["--to", "--force", "--dry-run", "--timeout", "--output"] {
            assert!(flags.iter().any(|c| c == f), "{f} in {flags:?}");
        }
        assert_eq!(
            complete::candidates(&cmd, &words(&["migrate", "deploy/web", "--to", ""])),
            ["apps.bosun.dev/v1", "apps/v1"]
        );
    }
}
