//! `kubectl bosun migrate deploy/NAME [--to apps/v1] [--dry-run] [--force]`: hand a Deployment
//! and its ReplicaSets from kube-controller-manager to bosun (or back) without deleting,
//! creating or restarting a single Pod, as OpenKruise's `kubectl kruise migrate` does for its
//! own kinds.
//!
//! The objects, for `deploy/web` with two revisions (`→` is "becomes", by the steps below):
//!
//! ```text
//! deployment.apps/web (uid D)                 → deployment.apps.bosun.dev/web (uid D')
//!  ├─ replicaset.apps/web-6b7f (rev 2, 10)    → replicaset.apps.bosun.dev/web-6b7f, owner D'
//!  │    └─ 10 Pods, controller web-6b7f        →   the same 10 Pods, controller web-6b7f (bosun)
//!  └─ replicaset.apps/web-59d9 (rev 1, 0)     → replicaset.apps.bosun.dev/web-59d9, owner D'
//! ```
//!
//! ReplicaSets keep their names, labels, selectors and templates, so their `pod-template-hash`
//! (upstream's hash, which bosun cannot compute) stays; both Deployment controllers find their
//! new ReplicaSet by `EqualIgnoreHash`, never by the hash, so neither starts a rollout.
//!
//! The order of the steps, and why ([`Plan::steps`]):
//!
//! 1. **Create the target Deployment paused.** Until its ReplicaSets exist, an unpaused one
//!    would create a new ReplicaSet of full size. Nothing has changed yet if this is refused.
//! 2. **Delete the source Deployment, orphaning** (`propagationPolicy: Orphan`) and wait until it
//!    is gone. Its ReplicaSets stay, still kept at size by their ReplicaSet controller. It must
//!    go before them: alive, it would replace a deleted ReplicaSet with a new one.
//! 3. **Delete the source ReplicaSets, orphaning.** From the moment one carries a
//!    deletionTimestamp its controller stops creating and deleting Pods for it (upstream's
//!    `syncReplicaSet` skips `manageReplicas`), and the garbage collector removes it from its
//!    Pods' owner references.
//! 4. **Wait until no Pod names a source ReplicaSet as controller.** The Pods run untouched,
//!    without a controller: no Pod is replaced during this gap, none is deleted either. It lasts
//!    as long as the garbage collector takes to patch the Pods (tens of milliseconds a Pod).
//! 5. **Create the target ReplicaSets** (same name, selector, template, size, translated
//!    annotations, controller reference to the target Deployment). Their controller adopts the
//!    orphans its selector matches before counting them, finds the count right, and creates
//!    nothing. They are created only now because a ReplicaSet that exists while its Pods still
//!    belong to the source one counts zero Pods and creates its full size: the two controllers
//!    must never both size the same Pods, and orphaning first is what keeps them apart.
//! 6. **Wait until every Pod's controller is its target ReplicaSet.**
//! 7. **Resume the target Deployment** (unless the source was paused): it finds its new
//!    ReplicaSet by template, the revisions from the translated annotations, and has nothing to
//!    do; the next template change is an ordinary rollout.
//!
//! The Pods' labels never change, so a Service's selector keeps matching them, they stay Ready,
//! and its endpoints never empty.
//!
//! One race is left to the target controller's caches (as it is in upstream's own adoption): in
//! step 5 it reads Pods from its watch, and if that watch lags behind the garbage collector's
//! patches that step 4 already saw, it could count a Pod it does not see as an orphan yet as
//! missing and create one (then delete the surplus once it adopts). Step 6 reports any Pod that
//! appeared.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Map, Value, json};

use bosun_core::deployment::util::{DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY};

use super::{DryRun, Failure, Session, render, server_error};

/// The Deployment controller's annotations: upstream's key, bosun's key. The rollback request
/// (`deprecated.deployment.rollback.to`) has the same key in both.
pub const ANNOTATIONS: [(&str, &str); 4] = [
    ("deployment.kubernetes.io/revision", REVISION),
    (
        "deployment.kubernetes.io/revision-history",
        REVISION_HISTORY,
    ),
    (
        "deployment.kubernetes.io/desired-replicas",
        DESIRED_REPLICAS,
    ),
    ("deployment.kubernetes.io/max-replicas", MAX_REPLICAS),
];

/// kubectl's last-applied annotation: it records the manifest of the *source* object
/// (`apiVersion: apps/v1`), so it is not carried over; `kubectl apply` of the target's own
/// manifest starts it afresh.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The field manager of the objects `migrate` creates.
const MANAGER: &str = "kubectl-bosun-migrate";

/// One of the two APIs a Deployment can live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `apps/v1`, run by kube-controller-manager.
    Apps,
    /// `apps.bosun.dev/v1`, run by bosun.
    Bosun,
}

impl Flavor {
    /// `--to`'s value: `apps/v1` or `apps.bosun.dev/v1`.
    pub fn parse(s: &str) -> Result<Flavor, Failure> {
        match s {
            "apps/v1" | "apps" => Ok(Flavor::Apps),
            "apps.bosun.dev/v1" | "apps.bosun.dev" | "bosun" => Ok(Flavor::Bosun),
            other => Err(Failure(format!(
                "error: --to must be \"apps.bosun.dev/v1\" or \"apps/v1\", not {other:?}"
            ))),
        }
    }

    /// The other one.
    pub fn other(self) -> Flavor {
        match self {
            Flavor::Apps => Flavor::Bosun,
            Flavor::Bosun => Flavor::Apps,
        }
    }

    /// The API group.
    pub fn group(self) -> &'static str {
        match self {
            Flavor::Apps => "apps",
            Flavor::Bosun => "apps.bosun.dev",
        }
    }

    /// `apps/v1` or `apps.bosun.dev/v1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Flavor::Apps => "apps/v1",
            Flavor::Bosun => "apps.bosun.dev/v1",
        }
    }

    /// kubectl's `kind.group` of `kind` (`Deployment` → `deployment.apps`).
    pub fn kind_group(self, kind: &str) -> String {
        format!("{}.{}", kind.to_ascii_lowercase(), self.group())
    }

    /// The resource of `kind` for the client.
    pub fn resource(self, kind: &str) -> ApiResource {
        let plural = format!("{}s", kind.to_ascii_lowercase());
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(self.group(), "v1", kind), &plural)
    }

    /// `deployments.apps "web"`, as kubectl names an object in its errors.
    fn quoted(self, kind: &str, name: &str) -> String {
        format!("{}s.{} {name:?}", kind.to_ascii_lowercase(), self.group())
    }
}

/// The annotations of an object moving to `to`: the Deployment controller's keys renamed into
/// `to`'s (a key already in `to`'s form is overwritten by the translated one), the
/// last-applied configuration dropped, everything else as it is.
pub fn translate_annotations(a: &Map<String, Value>, to: Flavor) -> Map<String, Value> {
    let rename = |k: &str| -> Option<&'static str> {
        ANNOTATIONS.iter().find_map(|(apps, bosun)| match to {
            Flavor::Bosun if k == *apps => Some(*bosun),
            Flavor::Apps if k == *bosun => Some(*apps),
            _ => None,
        })
    };
    let mut out = Map::new();
    // Keys that are not renamed first, so a renamed one wins over a stale copy of it.
    for (k, v) in a {
        if k != LAST_APPLIED && rename(k).is_none() {
            out.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in a {
        if let Some(new) = rename(k) {
            out.insert(new.to_string(), v.clone());
        }
    }
    out
}

/// The metadata a target object starts from: name, namespace, labels and translated
/// annotations. Everything the API server or the source's controllers own (uid,
/// resourceVersion, generation, creationTimestamp, managedFields, finalizers, status) is left
/// behind.
fn target_metadata(src: &Value, to: Flavor) -> Map<String, Value> {
    let mut m = Map::new();
    for key in ["name", "namespace", "labels"] {
        if let Some(v) = src.pointer(&format!("/metadata/{key}")) {
            m.insert(key.into(), v.clone());
        }
    }
    if let Some(a) = src
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let a = translate_annotations(a, to);
        if !a.is_empty() {
            m.insert("annotations".into(), Value::Object(a));
        }
    }
    m
}

/// The owner references of `src` without its controller's: `(others, controller uid)`.
fn split_owners(src: &Value) -> (Vec<Value>, Option<String>) {
    let mut others = Vec::new();
    let mut controller = None;
    for r in src
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            controller = r.get("uid").and_then(Value::as_str).map(str::to_string);
        } else {
            others.push(r.clone());
        }
    }
    (others, controller)
}

/// The spec fields of a bosun Deployment that apps/v1 has no counterpart for: the way back
/// refuses while one is set, rather than drop what it does.
const BOSUN_ONLY: [&str; 5] = [
    "spec.podReplacementPolicy",
    "spec.progressDeadlineAbort",
    "spec.scaleStrategy",
    "spec.strategy.rollingUpdate.partition",
    "status.abortedTemplateHash",
];

/// The target Deployment for source Deployment `src`: its spec as it is (bosun's
/// `podReplacementPolicy` has no apps/v1 counterpart, [`refusal`] stops that case), created
/// paused, with the source's other (non-controller) owner references.
pub fn target_deployment(src: &Value, to: Flavor) -> Value {
    let mut meta = target_metadata(src, to);
    let (owners, _) = split_owners(src);
    if !owners.is_empty() {
        meta.insert("ownerReferences".into(), Value::Array(owners));
    }
    let mut spec = src.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(s) = spec.as_object_mut() {
        if to == Flavor::Apps {
            s.remove("podReplacementPolicy");
        }
        s.insert("paused".into(), Value::Bool(true));
    }
    json!({
        "apiVersion": to.api_version(),
        "kind": "Deployment",
        "metadata": meta,
        "spec": spec,
    })
}

/// The target ReplicaSet for source ReplicaSet `src`, controlled by the target Deployment
/// `owner` (its uid is filled in by [`set_owner_uid`] once it exists): the same name, labels,
/// selector, template, size and `minReadySeconds`, so the same Pods match and its `pod-template-hash`
/// is the source's.
pub fn target_replicaset(src: &Value, to: Flavor, owner: &str) -> Value {
    let mut meta = target_metadata(src, to);
    let (mut owners, _) = split_owners(src);
    owners.insert(
        0,
        json!({
            "apiVersion": to.api_version(), "kind": "Deployment", "name": owner,
            "controller": true, "blockOwnerDeletion": true,
        }),
    );
    meta.insert("ownerReferences".into(), Value::Array(owners));
    let mut spec = Map::new();
    for key in ["replicas", "minReadySeconds", "selector", "template"] {
        if let Some(v) = src.pointer(&format!("/spec/{key}")) {
            spec.insert(key.into(), v.clone());
        }
    }
    json!({
        "apiVersion": to.api_version(),
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": spec,
    })
}

/// Put the target Deployment's uid into a target ReplicaSet's controller reference.
pub fn set_owner_uid(rs: &mut Value, uid: &str) {
    if let Some(r) = rs.pointer_mut("/metadata/ownerReferences/0") {
        r["uid"] = Value::String(uid.into());
    }
}

fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Why `src` (a Deployment in `from`) may not be migrated now, if it may not: being deleted,
/// controlled by something else, a field the target lacks, or (unless `force`) a rollout
/// that is not complete (upstream's `DeploymentComplete`, the spec observed).
pub fn refusal(src: &Value, from: Flavor, force: bool) -> Option<String> {
    let name = str_at(src, "/metadata/name").unwrap_or_default();
    let kg = from.kind_group("Deployment");
    if src.pointer("/metadata/deletionTimestamp").is_some() {
        return Some(format!("{kg}/{name} is being deleted"));
    }
    if let Some(r) = src
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
    {
        return Some(format!(
            "{kg}/{name} is controlled by {} {:?}; migrate that instead",
            r.get("kind").and_then(Value::as_str).unwrap_or_default(),
            r.get("name").and_then(Value::as_str).unwrap_or_default()
        ));
    }
    if from == Flavor::Bosun
        && let Some(field) = BOSUN_ONLY
            .iter()
            .find(|f| src.pointer(&format!("/{}", f.replace('.', "/"))).is_some())
    {
        return Some(format!(
            "{kg}/{name} sets {field}, which apps/v1 Deployments do not have; remove it first"
        ));
    }
    if force {
        return None;
    }
    let replicas = int_at(src, "/spec/replicas").unwrap_or(1);
    let count = |field: &str| int_at(src, &format!("/status/{field}")).unwrap_or(0);
    let observed = int_at(src, "/status/observedGeneration").unwrap_or(0);
    let generation = int_at(src, "/metadata/generation").unwrap_or(0);
    let (updated, total, available) = (
        count("updatedReplicas"),
        count("replicas"),
        count("availableReplicas"),
    );
    if observed < generation {
        return Some(format!(
            "{kg}/{name}: its controller has not observed its spec yet (generation {generation}, observed {observed}); wait, or pass --force"
        ));
    }
    if updated != replicas || total != replicas || available != replicas {
        return Some(format!(
            "{kg}/{name} is in the middle of a rollout ({updated} of {replicas} updated, {total} in total, {available} available); wait for it (kubectl rollout status), or pass --force"
        ));
    }
    None
}

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

/// `deploy/NAME`, `deployment/NAME` or `NAME`.
pub fn name_of(target: &str) -> Result<String, Failure> {
    match target.split_once('/') {
        None => Ok(target.to_string()),
        Some((kind, name)) if super::Kind::parse(kind) == Some(super::Kind::Deployment) => {
            Ok(name.to_string())
        }
        Some((kind, _)) => Err(Failure(format!(
            "error: kubectl bosun migrate works on deployments (deploy/NAME), not {kind:?}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// The act side.

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
    let from = to.other();
    let (src, dst) = (Side::new(session, from), Side::new(session, to));
    let pod_api: Api<Pod> = Api::namespaced(session.client.clone(), &session.ns);

    let source = src.deployments.get(&name).await.map_err(server_error)?;
    let source = value_of(&source)?;
    if dst
        .deployments
        .get_opt(&name)
        .await
        .map_err(server_error)?
        .is_some()
    {
        return Err(Failure(format!(
            "Error from server (AlreadyExists): {} already exists",
            to.quoted("Deployment", &name)
        )));
    }
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
    let selector = selector.to_string();
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
        if dst
            .replicasets
            .get_opt(&rs.name)
            .await
            .map_err(server_error)?
            .is_some()
        {
            return Err(Failure(format!(
                "Error from server (AlreadyExists): {} already exists",
                to.quoted("ReplicaSet", &rs.name)
            )));
        }
    }

    match dry_run {
        DryRun::None => {}
        DryRun::Client => {
            return match output {
                None | Some("") => Ok(plan.dry_run_text()),
                Some(o) => render(&plan.objects(), o),
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

    let deadline = Instant::now() + timeout;
    let mut done: Vec<Step> = Vec::new();
    let stopped = |done: &[Step], e: Failure| -> Failure {
        if done.is_empty() {
            return e;
        }
        let last = done.last().map(|s| plan.describe(*s)).unwrap_or_default();
        Failure(format!(
            "{}\nerror: migrate stopped after: {last}; see README 'Migrating from apps/v1' to finish by hand",
            e.0
        ))
    };
    let mut target_uid = String::new();
    let mut target_rs_uids: HashMap<String, String> = HashMap::new();
    for step in plan.steps() {
        let r = apply(
            &plan,
            step,
            (&src, &dst, &pod_api),
            &selector,
            deadline,
            &mut target_uid,
            &mut target_rs_uids,
        )
        .await;
        match r {
            Ok(note) => {
                println!("{}", plan.describe(step));
                if let Some(note) = note {
                    eprintln!("warning: {note}");
                }
                done.push(step);
            }
            Err(e) => return Err(stopped(&done, e)),
        }
    }
    Ok(String::new())
}

/// Carry out one step; `Some(note)` is a warning to print.
async fn apply(
    plan: &Plan,
    step: Step,
    (src, dst, pod_api): (&Side, &Side, &Api<Pod>),
    selector: &str,
    deadline: Instant,
    target_uid: &mut String,
    target_rs_uids: &mut HashMap<String, String>,
) -> Result<Option<String>, Failure> {
    let pp = PostParams {
        field_manager: Some(MANAGER.into()),
        ..Default::default()
    };
    match step {
        Step::CreateDeployment => {
            let created = dst
                .deployments
                .create(&pp, &object_of(&plan.deployment)?)
                .await
                .map_err(server_error)?;
            *target_uid = created.metadata.uid.unwrap_or_default();
        }
        Step::DeleteDeployment => {
            src.deployments
                .delete(&plan.name, &orphan(&plan.source_uid))
                .await
                .map_err(server_error)?;
            let what = format!(
                "{}/{} to be deleted (the garbage collector orphans its replicasets)",
                plan.from.kind_group("Deployment"),
                plan.name
            );
            wait_for(&what, deadline, || async {
                let d = src
                    .deployments
                    .get_opt(&plan.name)
                    .await
                    .map_err(server_error)?;
                let gone =
                    d.is_none_or(|d| d.metadata.uid.as_deref() != Some(plan.source_uid.as_str()));
                Ok(gone.then_some(()))
            })
            .await?;
        }
        Step::DeleteReplicaSet(i) => {
            let rs = &plan.replicasets[i];
            src.replicasets
                .delete(&rs.name, &orphan(&rs.source_uid))
                .await
                .map_err(server_error)?;
        }
        Step::WaitOrphaned => {
            let sources: BTreeSet<&str> = plan
                .replicasets
                .iter()
                .map(|r| r.source_uid.as_str())
                .collect();
            let what = format!(
                "the garbage collector to orphan the pods of {}",
                plan.from.kind_group("ReplicaSet")
            );
            wait_for(&what, deadline, || async {
                let held = pods(pod_api, selector).await?.iter().any(|p| {
                    PodRef::of(p)
                        .controller
                        .is_some_and(|c| sources.contains(c.as_str()))
                });
                Ok((!held).then_some(()))
            })
            .await?;
        }
        Step::CreateReplicaSet(i) => {
            let rs = &plan.replicasets[i];
            let mut body = rs.target.clone();
            set_owner_uid(&mut body, target_uid);
            let created = dst
                .replicasets
                .create(&pp, &object_of(&body)?)
                .await
                .map_err(server_error)?;
            target_rs_uids.insert(rs.name.clone(), created.metadata.uid.unwrap_or_default());
        }
        Step::WaitAdopted => {
            // Each moved Pod's controller must become its target ReplicaSet; a Pod that is
            // gone meanwhile (evicted, deleted by someone) is its controller's to replace.
            let want: HashMap<&str, &str> = plan
                .replicasets
                .iter()
                .flat_map(|r| {
                    let uid = target_rs_uids
                        .get(&r.name)
                        .map(String::as_str)
                        .unwrap_or_default();
                    r.pods.iter().map(move |p| (p.as_str(), uid))
                })
                .collect();
            let what = format!("{} to adopt their pods", plan.to.kind_group("ReplicaSet"));
            let now = wait_for(&what, deadline, || async {
                let now = pods(pod_api, selector).await?;
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
            let targets: BTreeSet<&str> = target_rs_uids.values().map(String::as_str).collect();
            let now: Vec<PodRef> = now.iter().map(PodRef::of).collect();
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
            return Ok((!notes.is_empty()).then(|| notes.join("; ")));
        }
        Step::Resume => {
            let patch = json!({"spec": {"paused": plan.paused}});
            dst.deployments
                .patch(
                    &plan.name,
                    &PatchParams {
                        field_manager: Some(MANAGER.into()),
                        ..Default::default()
                    },
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(server_error)?;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An apps/v1 Deployment `web` as the API server returns it after a finished rollout to
    /// revision 2.
    fn apps_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "shop", "uid": "d-uid", "resourceVersion": "812",
                "generation": 2, "creationTimestamp": "2025-01-01T00:00:00Z",
                "labels": {"app": "web"},
                "annotations": {
                    "deployment.kubernetes.io/revision": "2",
                    "kubernetes.io/change-cause": "image 2",
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"apps/v1\"}"
                },
                "finalizers": ["example.com/hold"],
                "managedFields": [{"manager": "kubectl", "operation": "Update"}]
            },
            "spec": {
                "replicas": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "img:2"}]}},
                "strategy": {"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": {"observedGeneration": 2, "replicas": 10, "updatedReplicas": 10,
                "readyReplicas": 10, "availableReplicas": 10}
        })
    }

    /// An apps/v1 ReplicaSet of `web` with upstream's hash, `revision` and `replicas`.
    fn apps_rs(hash: &str, revision: &str, replicas: i64, image: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": format!("web-{hash}"), "namespace": "shop", "uid": format!("rs-{hash}"),
                "resourceVersion": "700", "generation": 1,
                "labels": {"app": "web", "pod-template-hash": hash},
                "annotations": {
                    "deployment.kubernetes.io/revision": revision,
                    "deployment.kubernetes.io/desired-replicas": "10",
                    "deployment.kubernetes.io/max-replicas": "13",
                    "kubernetes.io/change-cause": format!("image {revision}")
                },
                "ownerReferences": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-uid",
                        "controller": true, "blockOwnerDeletion": true},
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "keep", "uid": "cm-uid"}
                ],
                "managedFields": [{"manager": "kube-controller-manager"}]
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": 0,
                "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": hash}},
                    "spec": {"containers": [{"name": "app", "image": image}]}}
            },
            "status": {"replicas": replicas, "observedGeneration": 1}
        })
    }

    fn pod(uid: &str, controller: Option<&str>) -> PodRef {
        PodRef {
            uid: uid.into(),
            controller: controller.map(str::to_string),
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_controller_annotations_are_renamed_both_ways_and_the_rest_kept() {
        let apps = map(json!({
            "deployment.kubernetes.io/revision": "3",
            "deployment.kubernetes.io/revision-history": "1,2",
            "deployment.kubernetes.io/desired-replicas": "10",
            "deployment.kubernetes.io/max-replicas": "13",
            "deprecated.deployment.rollback.to": "1",
            "kubernetes.io/change-cause": "x",
            "kubectl.kubernetes.io/last-applied-configuration": "{}"
        }));
        let bosun = map(json!({
            "bosun.dev/revision": "3",
            "bosun.dev/revision-history": "1,2",
            "bosun.dev/desired-replicas": "10",
            "bosun.dev/max-replicas": "13",
            "deprecated.deployment.rollback.to": "1",
            "kubernetes.io/change-cause": "x"
        }));
        assert_eq!(translate_annotations(&apps, Flavor::Bosun), bosun);
        let mut back = apps.clone();
        back.remove(LAST_APPLIED);
        assert_eq!(translate_annotations(&bosun, Flavor::Apps), back);
        // A stale key already in the target's form loses to the translated one.
        let both =
            map(json!({"deployment.kubernetes.io/revision": "4", "bosun.dev/revision": "1"}));
        assert_eq!(
            translate_annotations(&both, Flavor::Bosun),
            map(json!({"bosun.dev/revision": "4"}))
        );
    }

    #[test]
    fn the_target_deployment_keeps_the_spec_starts_paused_and_drops_what_the_server_owns() {
        assert_eq!(
            target_deployment(&apps_deployment(), Flavor::Bosun),
            json!({
                "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                "metadata": {
                    "name": "web", "namespace": "shop", "labels": {"app": "web"},
                    "annotations": {"bosun.dev/revision": "2", "kubernetes.io/change-cause": "image 2"}
                },
                "spec": {
                    "replicas": 10,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "app", "image": "img:2"}]}},
                    "strategy": {"type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                    "revisionHistoryLimit": 10,
                    "progressDeadlineSeconds": 600,
                    "paused": true
                }
            })
        );
    }

    #[test]
    fn the_way_back_translates_to_apps_v1() {
        let bosun = target_deployment(&apps_deployment(), Flavor::Bosun);
        let back = target_deployment(&bosun, Flavor::Apps);
        assert_eq!(back["apiVersion"], "apps/v1");
        assert_eq!(
            back.pointer("/metadata/annotations"),
            Some(
                &json!({"deployment.kubernetes.io/revision": "2", "kubernetes.io/change-cause": "image 2"})
            )
        );
        assert_eq!(back["spec"], bosun["spec"]);
    }

    #[test]
    fn the_target_replicaset_keeps_name_hash_and_size_and_takes_the_new_owner() {
        let mut rs = target_replicaset(
            &apps_rs("7c5ddbdf54", "2", 10, "img:2"),
            Flavor::Bosun,
            "web",
        );
        set_owner_uid(&mut rs, "new-d-uid");
        assert_eq!(
            rs,
            json!({
                "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": "web-7c5ddbdf54", "namespace": "shop",
                    "labels": {"app": "web", "pod-template-hash": "7c5ddbdf54"},
                    "annotations": {
                        "bosun.dev/revision": "2",
                        "bosun.dev/desired-replicas": "10",
                        "bosun.dev/max-replicas": "13",
                        "kubernetes.io/change-cause": "image 2"
                    },
                    "ownerReferences": [
                        {"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "name": "web",
                            "uid": "new-d-uid", "controller": true, "blockOwnerDeletion": true},
                        {"apiVersion": "v1", "kind": "ConfigMap", "name": "keep", "uid": "cm-uid"}
                    ]
                },
                "spec": {
                    "replicas": 10,
                    "minReadySeconds": 0,
                    "selector": {"matchLabels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                    "template": {"metadata": {"labels": {"app": "web", "pod-template-hash": "7c5ddbdf54"}},
                        "spec": {"containers": [{"name": "app", "image": "img:2"}]}}
                }
            })
        );
    }

    #[test]
    fn migration_is_refused_mid_rollout_unless_forced() {
        let ok = apps_deployment();
        assert_eq!(refusal(&ok, Flavor::Apps, false), None);
        let cases = [
            (
                "/status/updatedReplicas",
                json!(4),
                "in the middle of a rollout (4 of 10 updated, 10 in total, 10 available)",
            ),
            (
                "/status/replicas",
                json!(13),
                "in the middle of a rollout (10 of 10 updated, 13 in total, 10 available)",
            ),
            (
                "/status/availableReplicas",
                json!(8),
                "in the middle of a rollout (10 of 10 updated, 10 in total, 8 available)",
            ),
            (
                "/status/observedGeneration",
                json!(1),
                "has not observed its spec yet (generation 2, observed 1)",
            ),
        ];
        for (pointer, value, why) in cases {
            let mut d = ok.clone();
            if let Some(v) = d.pointer_mut(pointer) {
                *v = value;
            }
            let r = refusal(&d, Flavor::Apps, false).unwrap_or_default();
            assert!(r.starts_with("deployment.apps/web"), "{r}");
            assert!(r.contains(why), "{pointer}: {r}");
            assert!(r.ends_with("or pass --force"), "{r}");
            assert_eq!(refusal(&d, Flavor::Apps, true), None, "{pointer}");
        }
    }

    #[test]
    fn migration_is_refused_for_a_deleted_a_controlled_or_an_untranslatable_deployment() {
        let mut d = apps_deployment();
        d["metadata"]["deletionTimestamp"] = json!("2025-01-02T00:00:00Z");
        assert_eq!(
            refusal(&d, Flavor::Apps, true).as_deref(),
            Some("deployment.apps/web is being deleted")
        );
        let mut d = apps_deployment();
        d["metadata"]["ownerReferences"] = json!([{"apiVersion": "example.com/v1",
            "kind": "App", "name": "shop", "uid": "u", "controller": true}]);
        assert_eq!(
            refusal(&d, Flavor::Apps, true).as_deref(),
            Some("deployment.apps/web is controlled by App \"shop\"; migrate that instead")
        );
        let mut d = target_deployment(&apps_deployment(), Flavor::Bosun);
        d["spec"]["podReplacementPolicy"] = json!("TerminationComplete");
        assert_eq!(
            refusal(&d, Flavor::Bosun, true).as_deref(),
            Some(
                "deployment.apps.bosun.dev/web sets spec.podReplacementPolicy, which apps/v1 Deployments do not have; remove it first"
            )
        );
        for (pointer, value, field) in [
            (
                "/spec/progressDeadlineAbort",
                json!(true),
                "spec.progressDeadlineAbort",
            ),
            (
                "/spec/scaleStrategy",
                json!({"podsToDelete": ["p"]}),
                "spec.scaleStrategy",
            ),
            (
                "/status/abortedTemplateHash",
                json!("h"),
                "status.abortedTemplateHash",
            ),
        ] {
            let mut d = target_deployment(&apps_deployment(), Flavor::Bosun);
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            if d.pointer(parent).is_none() {
                d[parent.trim_start_matches('/')] = json!({});
            }
            d.pointer_mut(parent).unwrap()[key] = value;
            assert_eq!(
                refusal(&d, Flavor::Bosun, true),
                Some(format!(
                    "deployment.apps.bosun.dev/web sets {field}, which apps/v1 Deployments do not have; remove it first"
                ))
            );
        }
        // Going to bosun, the same field is no reason to refuse (apps/v1 has none to carry).
        assert_eq!(refusal(&apps_deployment(), Flavor::Apps, true), None);
    }

    fn two_revisions() -> Result<Plan, Failure> {
        let mut stranger = apps_rs("0000000000", "9", 3, "other:1");
        stranger["metadata"]["ownerReferences"] = json!([]);
        let rss = [
            apps_rs("59d9c7f6b8", "1", 0, "img:1"),
            stranger,
            apps_rs("7c5ddbdf54", "2", 10, "img:2"),
        ];
        let mut pods: Vec<PodRef> = (0..10)
            .map(|i| pod(&format!("p{i}"), Some("rs-7c5ddbdf54")))
            .collect();
        pods.push(pod("orphan", None));
        pods.push(pod("other", Some("rs-0000000000")));
        plan(&apps_deployment(), &rss, &pods, Flavor::Apps, false)
    }

    #[test]
    fn the_plan_moves_the_owned_replicasets_newest_first_with_their_pods() -> Result<(), Failure> {
        let p = two_revisions()?;
        assert_eq!((p.from, p.to), (Flavor::Apps, Flavor::Bosun));
        assert_eq!(
            p.replicasets
                .iter()
                .map(|r| (r.name.as_str(), r.source_uid.as_str(), r.pods.len()))
                .collect::<Vec<_>>(),
            [
                ("web-7c5ddbdf54", "rs-7c5ddbdf54", 10),
                ("web-59d9c7f6b8", "rs-59d9c7f6b8", 0)
            ]
        );
        assert_eq!(
            p.steps(),
            [
                Step::CreateDeployment,
                Step::DeleteDeployment,
                Step::DeleteReplicaSet(0),
                Step::DeleteReplicaSet(1),
                Step::WaitOrphaned,
                Step::CreateReplicaSet(0),
                Step::CreateReplicaSet(1),
                Step::WaitAdopted,
                Step::Resume,
            ]
        );
        Ok(())
    }

    #[test]
    fn dry_run_prints_every_step_and_the_objects_it_would_create() -> Result<(), Failure> {
        let p = two_revisions()?;
        assert_eq!(
            p.dry_run_text(),
            "deployment.apps.bosun.dev/web created (paused until its replicasets control the pods) (dry run)\n\
             deployment.apps/web deleted (orphaning 2 replicasets) (dry run)\n\
             replicaset.apps/web-7c5ddbdf54 deleted (orphaning 10 pods) (dry run)\n\
             replicaset.apps/web-59d9c7f6b8 deleted (orphaning 0 pods) (dry run)\n\
             10 pods without a controller (dry run)\n\
             replicaset.apps.bosun.dev/web-7c5ddbdf54 created (10 replicas, revision 2) (dry run)\n\
             replicaset.apps.bosun.dev/web-59d9c7f6b8 created (0 replicas, revision 1) (dry run)\n\
             10 pods adopted (replicaset.apps.bosun.dev/web-7c5ddbdf54: 10) (dry run)\n\
             deployment.apps.bosun.dev/web resumed (dry run)\n"
        );
        let objects = p.objects();
        let kinds: Vec<(&str, &str)> = objects["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| Some((o["kind"].as_str()?, o["metadata"]["name"].as_str()?)))
            .collect();
        assert_eq!(
            kinds,
            [
                ("Deployment", "web"),
                ("ReplicaSet", "web-7c5ddbdf54"),
                ("ReplicaSet", "web-59d9c7f6b8")
            ]
        );
        Ok(())
    }

    #[test]
    fn a_paused_deployment_moves_paused_and_is_not_resumed() -> Result<(), Failure> {
        let mut d = apps_deployment();
        d["spec"]["paused"] = json!(true);
        let p = plan(&d, &[], &[], Flavor::Apps, false)?;
        assert_eq!(p.paused, Some(true));
        assert!(!p.steps().contains(&Step::Resume));
        assert_eq!(
            p.describe(Step::CreateDeployment),
            "deployment.apps.bosun.dev/web created (paused, as deployment.apps/web is)"
        );
        Ok(())
    }

    #[test]
    fn the_flags_read_as_kubectl_words() {
        assert_eq!(name_of("deploy/web").ok(), Some("web".into()));
        assert_eq!(name_of("deployments.apps/web").ok(), Some("web".into()));
        assert_eq!(name_of("web").ok(), Some("web".into()));
        assert!(name_of("rs/web-1").is_err());
        assert_eq!(Flavor::parse("apps/v1").ok(), Some(Flavor::Apps));
        assert_eq!(Flavor::parse("apps.bosun.dev/v1").ok(), Some(Flavor::Bosun));
        assert!(Flavor::parse("extensions/v1beta1").is_err());
    }
}
