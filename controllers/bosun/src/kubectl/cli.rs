//! The command line of `kubectl bosun` (clap's derive: its verbs, flags, help and
//! examples) and [`run`], which hands each verb to its module. `src/kubectl_bosun.rs` parses
//! it and prints what [`run`] returns.

#[cfg(test)]
mod tests;

use clap::{Parser, Subcommand};

use super::expose::ExposeFlags;
use super::rollout::Rollout;
use super::{DryRun, Failure, Kind, Target, resource_args};

/// kubectl's commands for bosun's kinds.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-bosun",
    bin_name = "kubectl bosun",
    version,
    about = "kubectl commands for bosun's Deployments and ReplicaSets (apps.bosun.dev/v1)"
)]
pub struct Cli {
    /// If present, the namespace scope for this CLI request.
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The name of the kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Path to the kubeconfig file to use for CLI requests.
    #[arg(long, global = true)]
    pub kubeconfig: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        #[command(flatten)]
        flags: ExposeFlags,
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
        action: Rollout,
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
        #[arg(long, default_value = "5m", value_parser = crate::duration::parse)]
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
pub enum Create {
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
pub enum Set {
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
pub struct PrintFlags {
    /// Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.
    #[arg(long, default_value = "none", default_missing_value = "client", num_args = 0..=1, require_equals = true)]
    pub dry_run: String,
    /// Output format. One of: (json, yaml, name).
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

/// Run the command: the text to print on success (verbs that print as they go return it
/// empty).
pub async fn run(cli: Cli) -> Result<String, Failure> {
    let target = Target {
        kubeconfig: cli.kubeconfig.clone(),
        context: cli.context.clone(),
        namespace: cli.namespace.clone(),
    };
    match cli.command {
        Command::Completion { shell } => Ok(completion(shell)),
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
            let o = super::create::CreateDeployment {
                name,
                images: image,
                port,
                replicas,
                command,
                namespace: None,
            };
            create_deployment(&target, o, &print).await
        }
        Command::Set {
            what: Set::Image { args, print },
        } => set_image(&target, &args, &print).await,
        Command::Expose {
            resource,
            flags,
            print,
        } => expose(&target, &resource, &flags, &print).await,
        Command::Describe {
            resource,
            show_events,
        } => describe(&target, &resource, show_events).await,
        Command::Get {
            resource,
            watch,
            output,
            timeout,
        } => get(&target, &resource, watch, output, timeout).await,
        Command::Migrate {
            target: what,
            to,
            force,
            timeout,
            dry_run,
            output,
        } => {
            let dry_run = DryRun::parse(&dry_run)?;
            let to = super::migrate::Flavor::parse(&to)?;
            let session = target.connect().await?;
            let output = output.as_deref();
            super::migrate::run(&session, &what, to, dry_run, output, force, timeout).await
        }
        Command::Rollout { action } => {
            let session = target.connect().await?;
            super::rollout::run(&session, &action)
                .await
                .map(|()| String::new())
        }
    }
}

/// `completion SHELL`: clap_complete's script for `kubectl-bosun`.
fn completion(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "kubectl-bosun",
        &mut out,
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// `create deployment`: checked before connecting.
async fn create_deployment(
    target: &Target,
    o: super::create::CreateDeployment,
    print: &PrintFlags,
) -> Result<String, Failure> {
    let dry_run = DryRun::parse(&print.dry_run)?;
    super::create::validate(&o)?;
    let session = target.connect().await?;
    super::create::run(&session, o, dry_run, print.output.as_deref()).await
}

/// `set image (TYPE NAME | TYPE/NAME) CONTAINER=IMAGE...`.
async fn set_image(
    target: &Target,
    args: &[String],
    print: &PrintFlags,
) -> Result<String, Failure> {
    let dry_run = DryRun::parse(&print.dry_run)?;
    let (kind, name, rest) = resource_args(args, "set image")?;
    let Some(name) = name else {
        return Err(Failure("error: one or more resources must be specified as <resource> <name> or <resource>/<name>".into()));
    };
    let pairs = super::set_image::parse_pairs(rest)?;
    let session = target.connect().await?;
    let output = print.output.as_deref();
    super::set_image::run(&session, kind, &name, &pairs, dry_run, output).await
}

/// `expose (TYPE NAME | TYPE/NAME)`.
async fn expose(
    target: &Target,
    resource: &[String],
    flags: &ExposeFlags,
    print: &PrintFlags,
) -> Result<String, Failure> {
    let dry_run = DryRun::parse(&print.dry_run)?;
    let (kind, object, rest) = resource_args(resource, "expose")?;
    let Some(object) = object.filter(|_| rest.is_empty()) else {
        return Err(Failure(
            "error: you must provide one or more resources by argument or filename".into(),
        ));
    };
    let session = target.connect().await?;
    let output = print.output.as_deref();
    super::expose::run(&session, kind, &object, flags, dry_run, output).await
}

/// `get deploy NAME`: the name and `-o` checked before connecting.
async fn get(
    target: &Target,
    resource: &[String],
    watch: bool,
    output: Option<String>,
    timeout: std::time::Duration,
) -> Result<String, Failure> {
    let name = get_target(resource)?;
    super::get::check_output(output.as_deref())?;
    let session = target.connect().await?;
    let o = super::get::GetOptions {
        name,
        watch,
        output,
        timeout,
    };
    super::get::run(&session, &o).await
}

/// `describe TYPE [NAME]`.
async fn describe(
    target: &Target,
    resource: &[String],
    show_events: bool,
) -> Result<String, Failure> {
    let (kind, name, rest) = resource_args(resource, "describe")?;
    if !rest.is_empty() {
        return Err(Failure(format!("error: unexpected argument {:?}", rest[0])));
    }
    let session = target.connect().await?;
    super::describe::run(&session, kind, name.as_deref(), show_events).await
}

/// The Deployment `get` shows: `deploy NAME` or `deploy/NAME` (the words of [`Kind::parse`]).
fn get_target(resource: &[String]) -> Result<String, Failure> {
    let (kind, name, rest) = resource_args(resource, "get")?;
    if kind != Kind::Deployment {
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
