//! The [`Plan`] of a migration, decided from what was read (nothing here talks to the API
//! server), and the line each of its steps prints.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::super::Failure;
use super::translate::{
    int_at, refusal, split_owners, str_at, target_deployment, target_replicaset,
};
use super::{ANNOTATIONS, Flavor};

/// A Pod as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    /// Its uid.
    pub uid: String,
    /// The uid of its controller, if any.
    pub controller: Option<String>,
}

impl PodRef {
    /// From a Pod.
    pub fn of(p: &Pod) -> PodRef {
        PodRef {
            uid: p.metadata.uid.clone().unwrap_or_default(),
            controller: bosun_core::pod::controller_of(&p.metadata).map(|r| r.uid.clone()),
        }
    }
}

/// One ReplicaSet to move.
#[derive(Debug, Clone, PartialEq)]
pub struct MovedReplicaSet {
    /// Its name, on both sides.
    pub name: String,
    /// The source's uid.
    pub source_uid: String,
    /// The target to create (its owner's uid still empty).
    pub target: Value,
    /// The uids of the Pods it controls.
    pub pods: BTreeSet<String>,
}

impl MovedReplicaSet {
    fn replicas(&self) -> i64 {
        int_at(&self.target, "/spec/replicas").unwrap_or(1)
    }

    fn revision(&self, to: Flavor) -> Option<&str> {
        let key = match to {
            Flavor::Apps => ANNOTATIONS[0].0,
            Flavor::Bosun => ANNOTATIONS[0].1,
        };
        self.target
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
    }
}

/// What `migrate` does, decided from what it read (nothing here talks to the API server).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Where the Deployment is.
    pub from: Flavor,
    /// Where it goes.
    pub to: Flavor,
    /// Its name, on both sides.
    pub name: String,
    /// The source Deployment's uid.
    pub source_uid: String,
    /// The target Deployment to create (paused).
    pub deployment: Value,
    /// The source's `spec.paused`, restored at the end (`None`: the field was absent).
    pub paused: Option<bool>,
    /// Its ReplicaSets, newest first.
    pub replicasets: Vec<MovedReplicaSet>,
}

/// One step of a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Create the target Deployment, paused.
    CreateDeployment,
    /// Delete the source Deployment, orphaning its ReplicaSets; wait until it is gone.
    DeleteDeployment,
    /// Delete the source ReplicaSet of this index, orphaning its Pods.
    DeleteReplicaSet(usize),
    /// Wait until no Pod names a source ReplicaSet as its controller.
    WaitOrphaned,
    /// Create the target ReplicaSet of this index.
    CreateReplicaSet(usize),
    /// Wait until every Pod's controller is its target ReplicaSet.
    WaitAdopted,
    /// Restore `spec.paused` of the target Deployment (resume it).
    Resume,
}

/// The Pods of the source ReplicaSets, counted.
fn pod_count(p: &Plan) -> usize {
    p.replicasets.iter().map(|r| r.pods.len()).sum()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl Plan {
    /// The steps in order (see the module's documentation for why this order).
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = vec![Step::CreateDeployment, Step::DeleteDeployment];
        steps.extend((0..self.replicasets.len()).map(Step::DeleteReplicaSet));
        steps.push(Step::WaitOrphaned);
        steps.extend((0..self.replicasets.len()).map(Step::CreateReplicaSet));
        steps.push(Step::WaitAdopted);
        if self.paused != Some(true) {
            steps.push(Step::Resume);
        }
        steps
    }

    /// What a step does, as the line printed once it is done (kubectl's `KIND/NAME verb`).
    pub fn describe(&self, step: Step) -> String {
        let (src, dst) = (self.from, self.to);
        let name = &self.name;
        match step {
            Step::CreateDeployment => {
                let why = if self.paused == Some(true) {
                    format!("paused, as {}/{name} is", src.kind_group("Deployment"))
                } else {
                    "paused until its replicasets control the pods".into()
                };
                format!("{}/{name} created ({why})", dst.kind_group("Deployment"))
            }
            Step::DeleteDeployment => format!(
                "{}/{name} deleted (orphaning {})",
                src.kind_group("Deployment"),
                plural(self.replicasets.len(), "replicaset")
            ),
            Step::DeleteReplicaSet(i) => {
                let rs = &self.replicasets[i];
                format!(
                    "{}/{} deleted (orphaning {})",
                    src.kind_group("ReplicaSet"),
                    rs.name,
                    plural(rs.pods.len(), "pod")
                )
            }
            Step::WaitOrphaned => {
                format!("{} without a controller", plural(pod_count(self), "pod"))
            }
            Step::CreateReplicaSet(i) => {
                let rs = &self.replicasets[i];
                let revision = rs
                    .revision(dst)
                    .map(|r| format!(", revision {r}"))
                    .unwrap_or_default();
                format!(
                    "{}/{} created ({}{revision})",
                    dst.kind_group("ReplicaSet"),
                    rs.name,
                    plural(usize::try_from(rs.replicas()).unwrap_or(0), "replica")
                )
            }
            Step::WaitAdopted => {
                let by: Vec<String> = self
                    .replicasets
                    .iter()
                    .filter(|r| !r.pods.is_empty())
                    .map(|r| {
                        format!(
                            "{}/{}: {}",
                            dst.kind_group("ReplicaSet"),
                            r.name,
                            r.pods.len()
                        )
                    })
                    .collect();
                let by = if by.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", by.join(", "))
                };
                format!("{} adopted{by}", plural(pod_count(self), "pod"))
            }
            Step::Resume => format!("{}/{name} resumed", dst.kind_group("Deployment")),
        }
    }

    /// The whole plan as `--dry-run` prints it: every step's line marked `(dry run)`.
    pub fn dry_run_text(&self) -> String {
        let mut out = String::new();
        for s in self.steps() {
            out.push_str(&self.describe(s));
            out.push_str(" (dry run)\n");
        }
        out
    }

    /// The objects `migrate` would create, as a `v1` List (for `--dry-run -o yaml|json`).
    pub fn objects(&self) -> Value {
        let mut items = vec![self.deployment.clone()];
        items.extend(self.replicasets.iter().map(|r| r.target.clone()));
        json!({"apiVersion": "v1", "kind": "List", "items": items})
    }
}

/// Decide the migration of Deployment `deployment` (in `from`) with the ReplicaSets of its
/// namespace (`replicasets`, of `from`) and the Pods its selector matches: the ReplicaSets it
/// controls move, with the Pods they control. Refused as [`refusal`] says.
pub fn plan(
    deployment: &Value,
    replicasets: &[Value],
    pods: &[PodRef],
    from: Flavor,
    force: bool,
) -> Result<Plan, Failure> {
    if let Some(why) = refusal(deployment, from, force) {
        return Err(Failure(format!("error: {why}")));
    }
    let to = from.other();
    let name = str_at(deployment, "/metadata/name")
        .unwrap_or_default()
        .to_string();
    let source_uid = str_at(deployment, "/metadata/uid")
        .unwrap_or_default()
        .to_string();
    let mut owned: Vec<&Value> = replicasets
        .iter()
        .filter(|rs| split_owners(rs).1.as_deref() == Some(source_uid.as_str()))
        .collect();
    // Newest first: the current revision's Pods change hands first.
    let revision = |rs: &Value| -> i64 {
        let key = match from {
            Flavor::Apps => ANNOTATIONS[0].0,
            Flavor::Bosun => ANNOTATIONS[0].1,
        };
        str_at(
            rs,
            &format!("/metadata/annotations/{}", key.replace('/', "~1")),
        )
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
    };
    owned.sort_by(|a, b| {
        revision(b)
            .cmp(&revision(a))
            .then_with(|| str_at(a, "/metadata/name").cmp(&str_at(b, "/metadata/name")))
    });
    let mut moved = Vec::new();
    for rs in owned {
        let uid = str_at(rs, "/metadata/uid").unwrap_or_default().to_string();
        let rs_name = str_at(rs, "/metadata/name").unwrap_or_default().to_string();
        if rs.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(Failure(format!(
                "error: {}/{rs_name} is being deleted; wait until it is gone",
                from.kind_group("ReplicaSet")
            )));
        }
        let pods = pods
            .iter()
            .filter(|p| p.controller.as_deref() == Some(uid.as_str()))
            .map(|p| p.uid.clone())
            .collect();
        moved.push(MovedReplicaSet {
            target: target_replicaset(rs, to, &name),
            name: rs_name,
            source_uid: uid,
            pods,
        });
    }
    Ok(Plan {
        from,
        to,
        paused: deployment.pointer("/spec/paused").and_then(Value::as_bool),
        deployment: target_deployment(deployment, to),
        name,
        source_uid,
        replicasets: moved,
    })
}
