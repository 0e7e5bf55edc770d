//! The act side: read both APIs, decide the [`Plan`], and carry out its steps one by one,
//! waiting on the garbage collector and the adoption between them.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use serde_json::{Value, json};

use super::super::{DryRun, Failure, Session, render, server_error};
use super::plan::{Plan, PodRef, Step, plan};
use super::translate::set_owner_uid;
use super::{Flavor, MANAGER, name_of};

/// The APIs of one side.
struct Side {
    deployments: Api<DynamicObject>,
    replicasets: Api<DynamicObject>,
}

impl Side {
    fn new(session: &Session, a: Flavor) -> Side {
        Side {
            deployments: Api::namespaced_with(
                session.client.clone(),
                &session.ns,
                &a.resource("Deployment"),
            ),
            replicasets: Api::namespaced_with(
                session.client.clone(),
                &session.ns,
                &a.resource("ReplicaSet"),
            ),
        }
    }
}

fn value_of(o: &DynamicObject) -> Result<Value, Failure> {
    Ok(serde_json::to_value(o)?)
}

fn object_of(v: &Value) -> Result<DynamicObject, Failure> {
    Ok(serde_json::from_value(v.clone())?)
}

/// Poll `check` every 100 ms until it yields `Some`, failing with `what` at `deadline`.
async fn wait_for<T, F, Fut>(what: &str, deadline: Instant, mut check: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, Failure>>,
{
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(Failure(format!("error: timed out waiting for {what}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn orphan(uid: &str) -> DeleteParams {
    DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    }
}

/// The Pods `selector` matches in the session's namespace.
async fn pods(api: &Api<Pod>, selector: &str) -> Result<Vec<Pod>, Failure> {
    Ok(api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(server_error)?
        .items)
}

/// Run `kubectl bosun migrate`.
pub async fn run(
    session: &Session,
    target: &str,
    to: Flavor,
    dry_run: DryRun,
    output: Option<&str>,
    force: bool,
    timeout: Duration,
) -> Result<String, Failure> {
    let name = name_of(target)?;
    let m = Migration::prepare(session, &name, to, force).await?;
    match dry_run {
        DryRun::None => {}
        DryRun::Client => {
            return match output {
                None | Some("") => Ok(m.plan.dry_run_text()),
                Some(o) => render(&m.plan.objects(), o),
            };
        }
        DryRun::Server => {
            return Err(Failure(
                "error: migrate has no --dry-run=server (its steps depend on each other); use --dry-run".into(),
            ));
        }
    }
    if output.is_some() {
        return Err(Failure("error: -o goes with --dry-run only".into()));
    }
    m.execute(Instant::now() + timeout).await?;
    Ok(String::new())
}

/// A migration decided: its plan, and what its steps talk to.
struct Migration {
    plan: Plan,
    src: Side,
    dst: Side,
    pod_api: Api<Pod>,
    /// The Deployment's selector, as a label selector query.
    selector: String,
}

/// The uids of the objects created so far: the target Deployment's, and each target
/// ReplicaSet's by name.
#[derive(Default)]
struct Created {
    deployment: String,
    replicasets: HashMap<String, String>,
}

/// Refuse, as the API server would on create, when `api` already has `kind` `name`.
async fn refuse_existing(
    api: &Api<DynamicObject>,
    to: Flavor,
    kind: &str,
    name: &str,
) -> Result<(), Failure> {
    if api.get_opt(name).await.map_err(server_error)?.is_some() {
        return Err(Failure(format!(
            "Error from server (AlreadyExists): {} already exists",
            to.quoted(kind, name)
        )));
    }
    Ok(())
}

/// The selector of the source Deployment as a query; refused when it is empty (it would
/// select every Pod).
fn selector_of(source: &Value) -> Result<String, Failure> {
    let selector: LabelSelector = serde_json::from_value(
        source
            .pointer("/spec/selector")
            .cloned()
            .unwrap_or(Value::Null),
    )
    .map_err(|e| Failure(format!("error: the Deployment's selector: {e}")))?;
    let selector = bosun_core::selector::Selector::new(&selector)
        .map_err(|e| Failure(format!("error: the Deployment's selector: {e}")))?;
    if selector.is_empty() {
        return Err(Failure(
            "error: the Deployment's selector is empty; it would select every Pod".into(),
        ));
    }
    Ok(selector.to_string())
}

impl Migration {
    /// Read the source Deployment, its ReplicaSets and Pods, and decide the plan; refused when
    /// a target object exists already.
    async fn prepare(
        session: &Session,
        name: &str,
        to: Flavor,
        force: bool,
    ) -> Result<Migration, Failure> {
        let from = to.other();
        let (src, dst) = (Side::new(session, from), Side::new(session, to));
        let pod_api: Api<Pod> = Api::namespaced(session.client.clone(), &session.ns);
        let source = src.deployments.get(name).await.map_err(server_error)?;
        let source = value_of(&source)?;
        refuse_existing(&dst.deployments, to, "Deployment", name).await?;
        let selector = selector_of(&source)?;
        let rss: Vec<Value> = src
            .replicasets
            .list(&ListParams::default())
            .await
            .map_err(server_error)?
            .items
            .iter()
            .map(value_of)
            .collect::<Result<_, _>>()?;
        let pod_refs: Vec<PodRef> = pods(&pod_api, &selector)
            .await?
            .iter()
            .map(PodRef::of)
            .collect();
        let plan = plan(&source, &rss, &pod_refs, from, force)?;
        for rs in &plan.replicasets {
            refuse_existing(&dst.replicasets, to, "ReplicaSet", &rs.name).await?;
        }
        Ok(Migration {
            plan,
            src,
            dst,
            pod_api,
            selector,
        })
    }

    /// Carry out the steps in order, printing each once done; a failure names the last step
    /// done, so the rest can be finished by hand.
    async fn execute(&self, deadline: Instant) -> Result<(), Failure> {
        let mut done: Vec<Step> = Vec::new();
        let mut created = Created::default();
        for step in self.plan.steps() {
            match self.apply(step, deadline, &mut created).await {
                Ok(note) => {
                    println!("{}", self.plan.describe(step));
                    if let Some(note) = note {
                        eprintln!("warning: {note}");
                    }
                    done.push(step);
                }
                Err(e) => return Err(self.stopped(&done, e)),
            }
        }
        Ok(())
    }

    /// The failure `e` after the steps `done`.
    fn stopped(&self, done: &[Step], e: Failure) -> Failure {
        if done.is_empty() {
            return e;
        }
        let last = done
            .last()
            .map(|s| self.plan.describe(*s))
            .unwrap_or_default();
        Failure(format!(
            "{}\nerror: migrate stopped after: {last}; see README 'Migrating from apps/v1' to finish by hand",
            e.0
        ))
    }

    /// Carry out one step; `Some(note)` is a warning to print.
    async fn apply(
        &self,
        step: Step,
        deadline: Instant,
        created: &mut Created,
    ) -> Result<Option<String>, Failure> {
        let plan = &self.plan;
        let pp = PostParams {
            field_manager: Some(MANAGER.into()),
            ..Default::default()
        };
        match step {
            Step::CreateDeployment => {
                let d = self
                    .dst
                    .deployments
                    .create(&pp, &object_of(&plan.deployment)?)
                    .await
                    .map_err(server_error)?;
                created.deployment = d.metadata.uid.unwrap_or_default();
            }
            Step::DeleteDeployment => self.delete_deployment(deadline).await?,
            Step::DeleteReplicaSet(i) => {
                let rs = &plan.replicasets[i];
                self.src
                    .replicasets
                    .delete(&rs.name, &orphan(&rs.source_uid))
                    .await
                    .map_err(server_error)?;
            }
            Step::WaitOrphaned => self.wait_orphaned(deadline).await?,
            Step::CreateReplicaSet(i) => {
                let rs = &plan.replicasets[i];
                let mut body = rs.target.clone();
                set_owner_uid(&mut body, &created.deployment);
                let made = self
                    .dst
                    .replicasets
                    .create(&pp, &object_of(&body)?)
                    .await
                    .map_err(server_error)?;
                let uid = made.metadata.uid.unwrap_or_default();
                created.replicasets.insert(rs.name.clone(), uid);
            }
            Step::WaitAdopted => return self.wait_adopted(deadline, &created.replicasets).await,
            Step::Resume => self.resume().await?,
        }
        Ok(None)
    }

    /// Delete the source Deployment, orphaning its ReplicaSets, and wait until it is gone.
    async fn delete_deployment(&self, deadline: Instant) -> Result<(), Failure> {
        let plan = &self.plan;
        let deployments = &self.src.deployments;
        deployments
            .delete(&plan.name, &orphan(&plan.source_uid))
            .await
            .map_err(server_error)?;
        let what = format!(
            "{}/{} to be deleted (the garbage collector orphans its replicasets)",
            plan.from.kind_group("Deployment"),
            plan.name
        );
        wait_for(&what, deadline, || async {
            let d = deployments
                .get_opt(&plan.name)
                .await
                .map_err(server_error)?;
            let gone =
                d.is_none_or(|d| d.metadata.uid.as_deref() != Some(plan.source_uid.as_str()));
            Ok(gone.then_some(()))
        })
        .await
    }

    /// Wait until no Pod names a source ReplicaSet as its controller.
    async fn wait_orphaned(&self, deadline: Instant) -> Result<(), Failure> {
        let sources: BTreeSet<&str> = self
            .plan
            .replicasets
            .iter()
            .map(|r| r.source_uid.as_str())
            .collect();
        let what = format!(
            "the garbage collector to orphan the pods of {}",
            self.plan.from.kind_group("ReplicaSet")
        );
        wait_for(&what, deadline, || async {
            let held = pods(&self.pod_api, &self.selector).await?.iter().any(|p| {
                PodRef::of(p)
                    .controller
                    .is_some_and(|c| sources.contains(c.as_str()))
            });
            Ok((!held).then_some(()))
        })
        .await
    }

    /// Wait until each moved Pod's controller is its target ReplicaSet (uids by name in
    /// `targets`); a Pod that is gone meanwhile (evicted, deleted by someone) is its
    /// controller's to replace. A note counts the Pods that appeared or went meanwhile.
    async fn wait_adopted(
        &self,
        deadline: Instant,
        targets: &HashMap<String, String>,
    ) -> Result<Option<String>, Failure> {
        let want: HashMap<&str, &str> = self
            .plan
            .replicasets
            .iter()
            .flat_map(|r| {
                let uid = targets.get(&r.name).map(String::as_str).unwrap_or_default();
                r.pods.iter().map(move |p| (p.as_str(), uid))
            })
            .collect();
        let what = format!(
            "{} to adopt their pods",
            self.plan.to.kind_group("ReplicaSet")
        );
        let now = wait_for(&what, deadline, || async {
            let now = pods(&self.pod_api, &self.selector).await?;
            let adopted = now.iter().all(|p| {
                let r = PodRef::of(p);
                match want.get(r.uid.as_str()) {
                    Some(uid) => r.controller.as_deref() == Some(*uid),
                    None => true,
                }
            });
            Ok(adopted.then_some(now))
        })
        .await?;
        let now: Vec<PodRef> = now.iter().map(PodRef::of).collect();
        if self.plan.to == Flavor::Bosun {
            // Every Pod is adopted: the ReplicaSets may scale again.
            let lift = json!({"metadata": {"annotations": {
                bosun_api::apps::ADOPT_ONLY_ANNOTATION: null}}});
            for name in targets.keys() {
                self.dst
                    .replicasets
                    .patch(name, &PatchParams::default(), &Patch::Merge(&lift))
                    .await
                    .map_err(server_error)?;
            }
        }
        Ok(adoption_note(&want, targets, &now))
    }

    /// Restore `spec.paused` of the target Deployment.
    async fn resume(&self) -> Result<(), Failure> {
        let patch = json!({"spec": {"paused": self.plan.paused}});
        self.dst
            .deployments
            .patch(
                &self.plan.name,
                &PatchParams {
                    field_manager: Some(MANAGER.into()),
                    ..Default::default()
                },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(server_error)?;
        Ok(())
    }
}

/// The warning after the adoption, if any: Pods of the target ReplicaSets (`targets`) that
/// were not moved (`want`: moved Pod uid → target uid) were created meanwhile, moved ones no
/// longer there went.
fn adoption_note(
    want: &HashMap<&str, &str>,
    targets: &HashMap<String, String>,
    now: &[PodRef],
) -> Option<String> {
    let targets: BTreeSet<&str> = targets.values().map(String::as_str).collect();
    let appeared = now
        .iter()
        .filter(|p| {
            p.controller.as_deref().is_some_and(|c| targets.contains(c))
                && !want.contains_key(p.uid.as_str())
        })
        .count();
    let present: BTreeSet<&str> = now.iter().map(|p| p.uid.as_str()).collect();
    let gone = want.keys().filter(|u| !present.contains(*u)).count();
    let were = |n: usize| {
        if n == 1 {
            "1 pod was".to_string()
        } else {
            format!("{n} pods were")
        }
    };
    let mut notes = Vec::new();
    if appeared > 0 {
        notes.push(format!("{} created during the migration", were(appeared)));
    }
    if gone > 0 {
        notes.push(format!("{} gone during the migration", were(gone)));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}
