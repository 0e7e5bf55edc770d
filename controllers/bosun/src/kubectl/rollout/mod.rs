//! `kubectl bosun rollout`: what `kubectl rollout` does for `apps/v1` Deployments, for bosun's
//! Deployments, with kubectl's wording and exit codes (kubectl's pkg/cmd/rollout/ and
//! pkg/polymorphichelpers/rollout_status.go, history.go, rollback.go). One module a verb;
//! [`run`] hands each to its own.

mod abort;
#[cfg(test)]
mod fixtures;
mod history;
mod pause;
mod promote;
mod restart;
mod status;
mod undo;

pub use history::history_table;

use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::pod::controller_of;
use clap::Subcommand;
use kube::Client;
use kube::api::{Api, ListParams};

use super::{DEPLOY_RESOURCE as RESOURCE, Failure, Session, server_error};

/// The annotation `kubectl rollout history` shows.
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

#[derive(Subcommand, Debug)]
pub enum Rollout {
    /// Watch the rollout until it completes; exits non-zero when the progress deadline passes.
    Status {
        /// deploy/NAME, deployment/NAME or NAME.
        target: String,
        /// Watch until done (`--watch=false` prints the state once).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        watch: bool,
        /// The length of time to wait before ending watch, zero means never. Any other values
        /// should contain a corresponding time unit (e.g. 1s, 2m, 3h, 1m30s; Go's durations).
        #[arg(long, default_value = "0s", value_parser = crate::duration::parse)]
        timeout: Duration,
    },
    /// List the revisions, with their change cause.
    History {
        /// deploy/NAME.
        target: String,
        /// Show the template of this revision.
        #[arg(long, default_value_t = 0)]
        revision: i64,
    },
    /// Roll back to the previous revision, or to --to-revision.
    Undo {
        /// deploy/NAME.
        target: String,
        /// The revision to roll back to (0: the previous one).
        #[arg(long, default_value_t = 0)]
        to_revision: i64,
    },
    /// Pause the rollout.
    Pause {
        /// deploy/NAME.
        target: String,
    },
    /// Resume a paused rollout.
    Resume {
        /// deploy/NAME.
        target: String,
    },
    /// Restart every pod by a rollout (a template annotation with the time).
    Restart {
        /// deploy/NAME.
        target: String,
    },
    /// Abort the rollout in progress: roll back to the last complete revision and hold the
    /// new template until `rollout retry` (Argo Rollouts' abort).
    Abort {
        /// deploy/NAME.
        target: String,
    },
    /// Retry an aborted rollout: roll the held template out again.
    Retry {
        /// deploy/NAME.
        target: String,
    },
    /// Lower a rolling update's partition (`spec.strategy.rollingUpdate.partition`) by one
    /// step, the larger of maxSurge and maxUnavailable in Pods, so the rollout goes on; to 0
    /// with --full.
    Promote {
        /// deploy/NAME.
        target: String,
        /// Remove the partition: roll every Pod.
        #[arg(long)]
        full: bool,
    },
}

/// `deploy/NAME`, `deployment/NAME` or `NAME`.
fn name_of(target: &str) -> Result<String, Failure> {
    match target.split_once('/') {
        None => Ok(target.to_string()),
        Some((
            "deploy"
            | "deployment"
            | "deployments"
            | "bdeploy"
            | RESOURCE
            | "deployment.apps.bosun.dev",
            n,
        )) => Ok(n.to_string()),
        Some((kind, _)) => Err(Failure(format!(
            "no rollout support for {kind:?}; use deploy/NAME"
        ))),
    }
}

/// The ReplicaSets in `ns` that `d` controls.
async fn owned_replicasets(
    client: &Client,
    ns: &str,
    d: &Deployment,
) -> Result<Vec<ReplicaSet>, Failure> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let uid = d.metadata.uid.clone().unwrap_or_default();
    Ok(api
        .list(&ListParams::default())
        .await
        .map_err(server_error)?
        .items
        .into_iter()
        .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
        .collect())
}

/// Run one verb of `rollout` on the Deployment it names.
pub async fn run(session: &Session, action: &Rollout) -> Result<(), Failure> {
    let api: Api<Deployment> = Api::namespaced(session.client.clone(), &session.ns);
    match action {
        Rollout::Status {
            target,
            watch,
            timeout,
        } => status::run(&api, &name_of(target)?, *watch, *timeout).await,
        Rollout::History { target, revision } => {
            history::run(session, &api, &name_of(target)?, *revision).await
        }
        Rollout::Undo {
            target,
            to_revision,
        } => undo::run(session, &api, &name_of(target)?, *to_revision).await,
        Rollout::Pause { target } => pause::run(&api, &name_of(target)?, true).await,
        Rollout::Resume { target } => pause::run(&api, &name_of(target)?, false).await,
        Rollout::Restart { target } => restart::run(&api, &name_of(target)?).await,
        Rollout::Abort { target } => abort::run(session, &api, &name_of(target)?, true).await,
        Rollout::Retry { target } => abort::run(session, &api, &name_of(target)?, false).await,
        Rollout::Promote { target, full } => promote::run(&api, &name_of(target)?, *full).await,
    }
}
