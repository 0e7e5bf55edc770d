//! `kubectl bosun rollout`: what `kubectl rollout` does for `apps/v1` Deployments, for bosun's
//! Deployments, with kubectl's wording and exit codes (kubectl's pkg/cmd/rollout/ and
//! pkg/polymorphichelpers/rollout_status.go, history.go, rollback.go).

use std::time::{Duration, Instant};

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::progress;
use bosun_core::deployment::util::{
    ANNOTATIONS_TO_SKIP, POD_TEMPLATE_HASH, REVISION, equal_ignore_hash, max_surge,
    max_unavailable, partition, revision,
};
use bosun_core::pod::controller_of;
use clap::Subcommand;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use super::{DEPLOY_KIND as KIND, DEPLOY_RESOURCE as RESOURCE, Failure, Session, server_error};

/// The annotation `kubectl rollout history` shows.
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
/// The template annotation `rollout restart` sets: kubectl's (objectrestarter.go), so a
/// Deployment restarted by either tool shows the same key.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

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

/// Upstream's `DeploymentStatusViewer.Status`: a message, and whether the rollout is done.
fn status_message(d: &Deployment) -> Result<(String, bool), Failure> {
    let name = d.name_any();
    let s = d.status.clone().unwrap_or_default();
    if d.metadata.generation > s.observed_generation {
        return Ok((
            "Waiting for deployment spec update to be observed...\n".into(),
            false,
        ));
    }
    let timed_out = s.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if timed_out {
        return Err(Failure(format!(
            "error: deployment {name:?} exceeded its progress deadline"
        )));
    }
    let aborted = s.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing"
            && c.reason.as_deref() == Some(bosun_core::deployment::abort::ABORTED)
    });
    if let Some(c) = aborted {
        return Err(Failure(format!(
            "error: deployment {name:?} rollout aborted: {}",
            c.message.as_deref().unwrap_or_default()
        )));
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

/// Upstream's `DeploymentHistoryViewer` table: REVISION and CHANGE-CAUSE (the ReplicaSet's
/// `kubernetes.io/change-cause`, `<none>` without one), revisions ascending.
pub fn history_table(rss: &[(i64, ReplicaSet)]) -> String {
    let mut text = "REVISION\tCHANGE-CAUSE\n".to_string();
    for (r, rs) in rss {
        let cause = rs
            .annotations()
            .get(CHANGE_CAUSE)
            .filter(|c| !c.is_empty())
            .cloned()
            .unwrap_or_else(|| "<none>".into());
        text.push_str(&format!("{r}\t{cause}\n"));
    }
    super::tabwriter::align(&text)
}

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

pub async fn run(session: &Session, action: &Rollout) -> Result<(), Failure> {
    let client = session.client.clone();
    let ns = session.ns.clone();
    let api: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    match action {
        Rollout::Status {
            target,
            watch,
            timeout,
        } => {
            let name = name_of(target)?;
            // kubectl's ContextWithOptionalTimeout: 0 waits forever. (A negative --timeout, which
            // kubectl logs as an error and then treats as 0, is refused by the flag's parser.)
            let limit = *timeout;
            let start = Instant::now();
            let mut last = String::new();
            loop {
                let d = api.get(&name).await.map_err(server_error)?;
                let (msg, done) = status_message(&d)?;
                if msg != last {
                    print!("{msg}");
                    last = msg;
                }
                if done || !watch {
                    return Ok(());
                }
                if !limit.is_zero() && start.elapsed() >= limit {
                    return Err(Failure("error: timed out waiting for the condition".into()));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Rollout::History {
            target,
            revision: want,
        } => {
            let name = name_of(target)?;
            let d = api.get(&name).await.map_err(server_error)?;
            let mut rss: Vec<(i64, ReplicaSet)> = owned_replicasets(&client, &ns, &d)
                .await?
                .into_iter()
                .filter_map(|rs| revision(&rs).map(|r| (r, rs)))
                .collect();
            rss.sort_by_key(|(r, _)| *r);
            if rss.is_empty() {
                println!("{KIND}/{name} \nNo rollout history found.");
                return Ok(());
            }
            if *want > 0 {
                let Some((_, rs)) = rss.iter().find(|(r, _)| r == want) else {
                    return Err(Failure(
                        "error: unable to find the specified revision".into(),
                    ));
                };
                // Upstream prints the template with describe's writer, unaligned, and the
                // ReplicaSet's change cause among the template's annotations.
                let mut template = rs.spec.template.clone();
                if let Some(cause) = rs.annotations().get(CHANGE_CAUSE) {
                    template
                        .metadata
                        .get_or_insert_with(Default::default)
                        .annotations
                        .get_or_insert_with(Default::default)
                        .insert(CHANGE_CAUSE.into(), cause.clone());
                }
                println!("{KIND}/{name} with revision #{want}");
                println!("{}", super::describe::pod_template_raw(&template));
                return Ok(());
            }
            println!("{KIND}/{name} ");
            print!("{}", history_table(&rss));
            println!();
            Ok(())
        }
        Rollout::Undo {
            target,
            to_revision,
        } => {
            let name = name_of(target)?;
            if *to_revision < 0 {
                return Err(Failure(format!(
                    "error: unable to find specified revision {to_revision} in history"
                )));
            }
            let d = api.get(&name).await.map_err(server_error)?;
            if d.spec.paused.unwrap_or(false) {
                return Err(Failure("error: you cannot rollback a paused deployment; resume it first with 'kubectl bosun rollout resume' and try again".into()));
            }
            let rss = owned_replicasets(&client, &ns, &d).await?;
            let current = d
                .annotations()
                .get(REVISION)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            let target_rs = if *to_revision > 0 {
                rss.iter().find(|rs| revision(rs) == Some(*to_revision))
            } else {
                // The newest revision other than the current one.
                rss.iter()
                    .filter(|rs| revision(rs).is_some_and(|r| r != current))
                    .max_by_key(|rs| revision(rs))
            };
            let Some(rs) = target_rs else {
                return Err(Failure(if *to_revision > 0 {
                    format!("error: unable to find specified revision {to_revision} in history")
                } else {
                    format!("error: no rollout history found for deployment {name:?}")
                }));
            };
            let rev = revision(rs).unwrap_or(0);
            if equal_ignore_hash(&rs.spec.template, &d.spec.template) {
                println!(
                    "{KIND}/{name} skipped rollback (current template already matches revision {rev})"
                );
                return Ok(());
            }
            let mut template = rs.spec.template.clone();
            if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
                labels.remove(POD_TEMPLATE_HASH);
            }
            // The Deployment keeps its own skip-list annotations and takes the ReplicaSet's others.
            let mut annotations: std::collections::BTreeMap<String, String> = d
                .annotations()
                .iter()
                .filter(|(k, _)| ANNOTATIONS_TO_SKIP.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for (k, v) in rs.annotations() {
                if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
                    annotations.insert(k.clone(), v.clone());
                }
            }
            let patch = json!([
                {"op": "replace", "path": "/spec/template", "value": template},
                {"op": "replace", "path": "/metadata/annotations", "value": annotations},
            ]);
            let patch: json_patch::Patch = serde_json::from_value(patch)?;
            api.patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
                .await
                .map_err(server_error)?;
            println!("{KIND}/{name} rolled back");
            Ok(())
        }
        Rollout::Pause { target } | Rollout::Resume { target } => {
            let pause = matches!(action, Rollout::Pause { .. });
            let name = name_of(target)?;
            let d = api.get(&name).await.map_err(server_error)?;
            if d.spec.paused.unwrap_or(false) == pause {
                let state = if pause {
                    "is already paused"
                } else {
                    "is not paused"
                };
                return Err(Failure(format!("error: {RESOURCE} {name:?} {state}")));
            }
            let patch = json!({"spec": {"paused": pause}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(server_error)?;
            println!("{KIND}/{name} {}", if pause { "paused" } else { "resumed" });
            Ok(())
        }
        Rollout::Abort { target } | Rollout::Retry { target } => {
            let abort = matches!(action, Rollout::Abort { .. });
            let name = name_of(target)?;
            let d = api.get(&name).await.map_err(server_error)?;
            let status = d.status.clone().unwrap_or_default();
            let value = if abort {
                let rss = owned_replicasets(&client, &ns, &d).await?;
                let current = rss
                    .iter()
                    .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
                    .and_then(|rs| rs.labels().get(POD_TEMPLATE_HASH).cloned());
                match current {
                    Some(h) if status.stable_template_hash.as_ref() != Some(&h) => {
                        json!({"abortedTemplateHash": h})
                    }
                    _ => {
                        return Err(Failure(format!(
                            "error: {RESOURCE} {name:?} has no rollout in progress to abort"
                        )));
                    }
                }
            } else {
                if status.aborted_template_hash.is_none() {
                    return Err(Failure(format!(
                        "error: {RESOURCE} {name:?} has no aborted rollout to retry"
                    )));
                }
                json!({})
            };
            // The one field manager of the field (bosun_core::deployment::abort::MANAGER): an
            // empty apply removes it.
            let body =
                json!({"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "status": value});
            api.patch_status(
                &name,
                &PatchParams::apply(bosun_core::deployment::abort::MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(server_error)?;
            println!(
                "{KIND}/{name} {}",
                if abort { "aborted" } else { "retried" }
            );
            Ok(())
        }
        Rollout::Promote { target, full } => {
            let name = name_of(target)?;
            let d = api.get(&name).await.map_err(server_error)?;
            let before = partition(&d);
            let after = promoted_partition(&d, *full)?;
            let value = if after == 0 {
                json!(null)
            } else {
                json!(after)
            };
            let patch = json!({"spec": {"strategy": {"rollingUpdate": {"partition": value}}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(server_error)?;
            println!("{KIND}/{name} promoted (partition {before} -> {after})");
            Ok(())
        }
        Rollout::Restart { target } => {
            let name = name_of(target)?;
            let d = api.get(&name).await.map_err(server_error)?;
            if d.spec.paused.unwrap_or(false) {
                return Err(Failure(format!(
                    "error: {RESOURCE} {name:?} can't restart paused deployment (run rollout resume first)"
                )));
            }
            let now = restarted_at(k8s_openapi::jiff::Timestamp::now());
            let patch =
                json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(server_error)?;
            println!("{KIND}/{name} restarted");
            Ok(())
        }
    }
}

/// `rollout promote`: the partition after one promotion, from the Deployment as read; an
/// error when there is nothing to promote.
fn promoted_partition(d: &Deployment, full: bool) -> Result<i32, Failure> {
    let name = d.name_any();
    let rolling = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_)
        .is_none_or(|t| t == bosun_api::apps::DeploymentStrategyType::RollingUpdate);
    let current = partition(d);
    if !rolling || current == 0 {
        return Err(Failure(format!(
            "error: {RESOURCE} {name:?} has no partition to promote"
        )));
    }
    if full {
        return Ok(0);
    }
    let step = max_surge(d).max(max_unavailable(d)).max(1);
    Ok((current - step).max(0))
}

/// The value of [`RESTARTED_AT`]: `now` as kubectl writes it, Go's `time.RFC3339` (whole
/// seconds; kubectl writes the machine's offset, this the UTC `Z`, which RFC 3339 equates).
fn restarted_at(now: k8s_openapi::jiff::Timestamp) -> String {
    k8s_openapi::jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(cause: Option<&str>) -> ReplicaSet {
        let mut annotations = serde_json::Map::new();
        if let Some(c) = cause {
            annotations.insert(CHANGE_CAUSE.into(), json!(c));
        }
        serde_json::from_value(json!({
            "metadata": {"name": "x", "annotations": annotations},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {}}
        }))
        .unwrap()
    }

    #[test]
    fn history_shows_change_cause_or_none_by_revision() {
        let rss = [
            (1, rs(None)),
            (2, rs(Some("kubectl set image deploy/web nginx=nginx:1.28"))),
            (10, rs(Some(""))),
        ];
        assert_eq!(
            history_table(&rss),
            "REVISION  CHANGE-CAUSE\n1         <none>\n2         kubectl set image deploy/web nginx=nginx:1.28\n10        <none>\n"
        );
    }

    #[test]
    fn restarted_at_is_rfc3339_in_whole_seconds_as_kubectl_writes_it() {
        use k8s_openapi::jiff::Timestamp;
        // (unix seconds, nanoseconds) -> the annotation's value
        let cases = [
            (0, 0, "1970-01-01T00:00:00Z"),
            (1_764_692_431, 0, "2025-12-02T16:20:31Z"),
            (1_764_692_431, 999_999_999, "2025-12-02T16:20:31Z"),
        ];
        for (secs, nanos, want) in cases {
            let now = Timestamp::new(secs, nanos).unwrap();
            assert_eq!(restarted_at(now), want, "{secs}.{nanos}");
        }
        assert_eq!(RESTARTED_AT, "kubectl.kubernetes.io/restartedAt");
    }

    fn partitioned(partition: serde_json::Value, strategy: &str) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 10, "selector": {"matchLabels": {"a": "b"}}, "template": {},
                "strategy": {"type": strategy, "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 1, "partition": partition}}},
            "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 7, "readyReplicas": 10,
                "availableReplicas": 10, "conditions": [{"type": "Progressing", "status": "True",
                "reason": "RolloutPartitioned"}]}
        }))
        .unwrap()
    }

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

    #[test]
    fn promote_lowers_the_partition_by_one_step_or_to_zero_with_full() {
        // Step: the larger of maxSurge (2) and maxUnavailable (1).
        assert_eq!(
            promoted_partition(&partitioned(json!(3), "RollingUpdate"), false).unwrap(),
            1
        );
        assert_eq!(
            promoted_partition(&partitioned(json!(1), "RollingUpdate"), false).unwrap(),
            0
        );
        assert_eq!(
            promoted_partition(&partitioned(json!("30%"), "RollingUpdate"), true).unwrap(),
            0
        );
        assert_eq!(
            promoted_partition(&partitioned(json!("30%"), "RollingUpdate"), false).unwrap(),
            1
        );
        let none = promoted_partition(&partitioned(json!(0), "RollingUpdate"), false);
        assert_eq!(
            none.err().map(|f| f.0),
            Some(
                "error: deployments.apps.bosun.dev \"web\" has no partition to promote".to_string()
            )
        );
    }
}
