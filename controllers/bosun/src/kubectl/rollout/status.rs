//! `rollout status`: upstream's `DeploymentStatusViewer` (kubectl's
//! polymorphichelpers/rollout_status.go), kept current from a watch of the one Deployment as
//! kubectl's `watchtools.UntilWithSync` does.

use std::pin::pin;
use std::time::Duration;

use bosun_api::apps::Deployment;
use bosun_core::deployment::progress;
use futures::StreamExt;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use super::super::{Failure, api_status_message, server_error};

/// Upstream's `DeploymentStatusViewer.Status`: a message, and whether the rollout is done.
pub(super) fn status_message(d: &Deployment) -> Result<(String, bool), Failure> {
    let name = d.name_any();
    let s = d.status.clone().unwrap_or_default();
    if d.metadata.generation > s.observed_generation {
        return Ok((
            "Waiting for deployment spec update to be observed...\n".into(),
            false,
        ));
    }
    if let Some(failure) = failed(d) {
        return Err(failure);
    }
    let replicas = d.spec.replicas.unwrap_or(1);
    let partitioned =
        s.conditions.iter().flatten().any(|c| {
            c.type_ == "Progressing" && c.reason.as_deref() == Some(progress::PARTITIONED)
        });
    if partitioned {
        // bosun's own state: the rollout went as far as its partition lets it, and stays
        // there until `rollout promote`; done for scripts waiting on it (exit 0).
        return Ok((
            format!(
                "deployment {name:?} rolled out to its partition: {} of {replicas} replicas updated, {} kept on old revisions (kubectl bosun rollout promote deploy/{name} goes on)\n",
                s.updated_replicas,
                replicas - s.updated_replicas
            ),
            true,
        ));
    }
    Ok(if s.updated_replicas < replicas {
        (
            format!(
                "Waiting for deployment {name:?} rollout to finish: {} out of {replicas} new replicas have been updated...\n",
                s.updated_replicas
            ),
            false,
        )
    } else if s.replicas > s.updated_replicas {
        (
            format!(
                "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...\n",
                s.replicas - s.updated_replicas
            ),
            false,
        )
    } else if s.available_replicas < s.updated_replicas {
        (
            format!(
                "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...\n",
                s.available_replicas, s.updated_replicas
            ),
            false,
        )
    } else {
        (
            format!("deployment {name:?} successfully rolled out\n"),
            true,
        )
    })
}

/// The rollout failed: its progress deadline passed, or it was aborted.
fn failed(d: &Deployment) -> Option<Failure> {
    let name = d.name_any();
    let conditions = d.status.iter().flat_map(|s| s.conditions.iter().flatten());
    let progressing = |reason: &str| {
        conditions
            .clone()
            .find(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some(reason))
    };
    if progressing("ProgressDeadlineExceeded").is_some() {
        return Some(Failure(format!(
            "error: deployment {name:?} exceeded its progress deadline"
        )));
    }
    progressing(bosun_core::deployment::abort::ABORTED).map(|c| {
        Failure(format!(
            "error: deployment {name:?} rollout aborted: {}",
            c.message.as_deref().unwrap_or_default()
        ))
    })
}

/// The status messages printed so far: each is printed once, when it changes.
#[derive(Default)]
struct Printed(String);

impl Printed {
    /// Print `d`'s status if it changed; whether the rollout is done.
    fn show(&mut self, d: &Deployment) -> Result<bool, Failure> {
        let (msg, done) = status_message(d)?;
        if msg != self.0 {
            print!("{msg}");
            self.0 = msg;
        }
        Ok(done)
    }
}

/// Print the status of Deployment `name` (read first, so a missing one is kubectl's NotFound)
/// and, with `watch`, every change of it until the rollout is done or fails; `timeout` (zero:
/// never, as kubectl's `ContextWithOptionalTimeout`; a negative one is refused by the flag's
/// parser) ends the wait with kubectl's `timed out waiting for the condition`.
pub(super) async fn run(
    api: &Api<Deployment>,
    name: &str,
    watch: bool,
    timeout: Duration,
) -> Result<(), Failure> {
    let mut printed = Printed::default();
    let d = api.get(name).await.map_err(server_error)?;
    if printed.show(&d)? || !watch {
        return Ok(());
    }
    let deadline = pin!(async move {
        if timeout.is_zero() {
            std::future::pending::<()>().await;
        } else {
            tokio::time::sleep(timeout).await;
        }
    });
    tokio::select! {
        r = follow(api, name, &mut printed) => r,
        () = deadline => Err(Failure("error: timed out waiting for the condition".into())),
    }
}

/// Watch Deployment `name` until `printed` shows its rollout done (or failed). A deletion is
/// read again, so it ends as a read of a missing object does (`Error from server (NotFound)`),
/// unless the object was recreated meanwhile.
async fn follow(api: &Api<Deployment>, name: &str, printed: &mut Printed) -> Result<(), Failure> {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = pin!(watcher(api.clone(), config).default_backoff());
    while let Some(event) = events.next().await {
        let d = match event {
            Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) => d,
            Ok(watcher::Event::Delete(_)) => api.get(name).await.map_err(server_error)?,
            Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
            Err(e) => match fatal(e) {
                Some(failure) => return Err(failure),
                None => continue,
            },
        };
        if printed.show(&d)? {
            return Ok(());
        }
    }
    Err(Failure("error: the watch ended".into()))
}

/// A watch error that ends `rollout status`, worded as kubectl's; `None` for those the
/// watcher recovers from itself (an expired resourceVersion relists, a dropped stream resumes).
fn fatal(e: watcher::Error) -> Option<Failure> {
    match e {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) => {
            Some(server_error(e))
        }
        watcher::Error::WatchError(s) if s.code == 410 => None,
        watcher::Error::WatchError(s) => Some(Failure(api_status_message(&s))),
        watcher::Error::WatchFailed(_) => None,
        other => Some(Failure(format!("error: {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::partitioned;
    use super::*;
    use serde_json::json;

    #[test]
    fn status_of_a_rollout_stopped_at_its_partition_is_done_and_says_how_to_go_on() {
        let d = partitioned(json!(3), "RollingUpdate");
        let (msg, done) = status_message(&d).unwrap();
        assert!(done);
        assert_eq!(
            msg,
            "deployment \"web\" rolled out to its partition: 7 of 10 replicas updated, 3 kept on old revisions (kubectl bosun rollout promote deploy/web goes on)\n"
        );
        // A newer generation not observed yet is not done, whatever the condition says.
        let mut newer = d.clone();
        newer.metadata.generation = Some(3);
        assert!(!status_message(&newer).unwrap().1);
    }
}
