//! `kubectl bosun get deploy NAME`: a Deployment, its ReplicaSets by revision and their Pods as
//! a tree, in the layout of Argo Rollouts' `kubectl argo rollouts get rollout`. Pure: the
//! objects and the time now in, a [`Tree`] out ([`build`]); then text ([`render_text`]) or a
//! JSON document ([`to_json`]). `kubectl/get.rs` reads and watches the objects.
//!
//! ```text
//! Name:            web
//! Namespace:       default
//! Status:          ◌ Progressing
//! Message:         Waiting for rollout to finish: 1 out of 3 new replicas have been updated...
//! Strategy:        RollingUpdate (max surge 25%, max unavailable 25%)
//! ...
//! NAME                      KIND        STATUS         AGE  INFO
//! ⟳ web                     Deployment  ◌ Progressing  5m
//! ├──# revision:2
//! │  └──⧉ web-7c9f6b5d4     ReplicaSet  ◌ Progressing  10s  new,ready:0/1
//! │     └──□ web-7c9f6b5d4-x2x8v  Pod   ◌ ContainerCreating  10s  ready:0/1,restarts:0
//! └──# revision:1
//!    └──⧉ web-5d8b9c7f6d    ReplicaSet  ✔ Healthy      5m   stable,ready:3/3
//! ```
//!
//! Every glyph is one code point that terminals draw one column wide (box drawing, Dingbats,
//! Geometric Shapes; no emoji, no variation selectors), so the columns line up; colour is an
//! argument, decided by the caller (a terminal, and no `NO_COLOR`).

use std::collections::BTreeMap;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::util::{deployment_complete, equal_ignore_hash, revision};
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde_json::{Value, json};

use super::describe::human_duration;

/// A workload's health: Argo CD's words (gitops-engine `health_deployment.go`,
/// `health_replicaset.go`, the rules of `docs/argocd-health.lua`), with Argo Rollouts'
/// `Paused` for Argo CD's `Suspended` and `ScaledDown` for a ReplicaSet with nothing to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Rolled out: every replica updated and available.
    Healthy,
    /// Moving towards the spec.
    Progressing,
    /// Stuck: the progress deadline passed, or a ReplicaSet cannot create its Pods.
    Degraded,
    /// `spec.paused`.
    Paused,
    /// A ReplicaSet of zero replicas with none left.
    ScaledDown,
}

impl Health {
    /// The word.
    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Progressing => "Progressing",
            Health::Degraded => "Degraded",
            Health::Paused => "Paused",
            Health::ScaledDown => "ScaledDown",
        }
    }

    fn tone(self) -> Tone {
        match self {
            Health::Healthy => Tone::Ok,
            Health::Progressing => Tone::Waiting,
            Health::Degraded => Tone::Bad,
            Health::Paused => Tone::Paused,
            Health::ScaledDown => Tone::Neutral,
        }
    }
}

/// How a status reads: its icon and colour (Argo Rollouts' icons, `॥` drawn as `‖`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Ok,
    Waiting,
    Bad,
    Paused,
    Neutral,
    Unknown,
}

impl Tone {
    fn icon(self) -> char {
        match self {
            Tone::Ok => '✔',
            Tone::Waiting => '◌',
            Tone::Bad => '✖',
            Tone::Paused => '‖',
            Tone::Neutral => '•',
            Tone::Unknown => '?',
        }
    }

    /// The ANSI SGR code of its colour.
    fn sgr(self) -> &'static str {
        match self {
            Tone::Ok => "32",
            Tone::Waiting => "33",
            Tone::Bad => "31",
            Tone::Paused => "36",
            Tone::Neutral | Tone::Unknown => "90",
        }
    }
}

/// What a ReplicaSet is to its Deployment's rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The newest revision that is fully rolled out: the new ReplicaSet once the rollout is
    /// complete, else the old one of the highest revision still running Pods.
    Stable,
    /// The new ReplicaSet (the Deployment's template) while the rollout is not complete.
    New,
    /// Any other.
    Old,
}

impl Role {
    /// `stable`, `new` or `old`.
    pub fn word(self) -> &'static str {
        match self {
            Role::Stable => "stable",
            Role::New => "new",
            Role::Old => "old",
        }
    }
}

/// The rollout strategy, with upstream's default for an absent `rollingUpdate`.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// `RollingUpdate` and its bounds as written (`25%` or a count).
    RollingUpdate {
        /// `maxSurge`.
        max_surge: IntOrString,
        /// `maxUnavailable`.
        max_unavailable: IntOrString,
    },
    /// `Recreate`.
    Recreate,
}

/// A condition of the Deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// `type`.
    pub type_: String,
    /// `status`.
    pub status: String,
    /// `reason`, empty when none.
    pub reason: String,
    /// `message`, empty when none.
    pub message: String,
}

/// The Deployment's replica counts: `spec.replicas` and the status'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Replicas {
    /// `spec.replicas` (1 when unset).
    pub desired: i32,
    /// `status.replicas`.
    pub current: i32,
    /// `status.updatedReplicas`.
    pub updated: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// One Pod as `kubectl get pods` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PodNode {
    /// Its name.
    pub name: String,
    /// kubectl's STATUS cell.
    pub status: String,
    /// Ready containers.
    pub ready: usize,
    /// Containers (regular and restartable init ones).
    pub containers: usize,
    /// kubectl's RESTARTS count.
    pub restarts: i64,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
}

/// One ReplicaSet and its Pods.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaSetNode {
    /// Its name.
    pub name: String,
    /// `bosun.dev/revision` (`None` when unparsable; missing counts as 0, as upstream's).
    pub revision: Option<i64>,
    /// Its role in the rollout.
    pub role: Role,
    /// Its health.
    pub health: Health,
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas`.
    pub current: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// Its template's images.
    pub images: Vec<String>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// Its Pods (controlled by it), by name.
    pub pods: Vec<PodNode>,
}

/// A Deployment, its ReplicaSets newest revision first, and their Pods.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The Deployment's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// Its health.
    pub health: Health,
    /// Why it is not healthy (Argo CD's message), if it is not.
    pub message: Option<String>,
    /// `spec.paused`.
    pub paused: bool,
    /// The strategy.
    pub strategy: Strategy,
    /// The replica counts.
    pub replicas: Replicas,
    /// `status.conditions`, in the object's order.
    pub conditions: Vec<Condition>,
    /// The ReplicaSets it controls, by revision descending, then name.
    pub replica_sets: Vec<ReplicaSetNode>,
}

/// The Deployment's health, first rule that holds (Argo CD's `getAppsv1DeploymentHealth`).
pub fn deployment_health(d: &Deployment) -> (Health, Option<String>) {
    let s = d.status.clone().unwrap_or_default();
    if d.spec.paused.unwrap_or(false) {
        return (Health::Paused, Some("Deployment is paused".into()));
    }
    if d.metadata.generation.unwrap_or(0) > s.observed_generation.unwrap_or(0) {
        return (
            Health::Progressing,
            Some("Waiting for rollout to finish: observed deployment generation less then desired generation".into()),
        );
    }
    let deadline = s.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline {
        return (
            Health::Degraded,
            Some(format!(
                "Deployment {:?} exceeded its progress deadline",
                d.name_any()
            )),
        );
    }
    let progressing = |m: String| {
        (
            Health::Progressing,
            Some(format!("Waiting for rollout to finish: {m}")),
        )
    };
    if let Some(r) = d.spec.replicas
        && s.updated_replicas < r
    {
        return progressing(format!(
            "{} out of {r} new replicas have been updated...",
            s.updated_replicas
        ));
    }
    if s.replicas > s.updated_replicas {
        return progressing(format!(
            "{} old replicas are pending termination...",
            s.replicas - s.updated_replicas
        ));
    }
    if s.available_replicas < s.updated_replicas {
        return progressing(format!(
            "{} of {} updated replicas are available...",
            s.available_replicas, s.updated_replicas
        ));
    }
    (Health::Healthy, None)
}

/// A ReplicaSet's health (Argo CD's `getAppsv1ReplicaSetHealth`), and two refinements for a
/// tree of revisions: one still removing Pods is Progressing, one with none to run nor left is
/// ScaledDown (Argo CD calls both Healthy).
pub fn replicaset_health(rs: &ReplicaSet) -> Health {
    let s = rs.status.clone().unwrap_or_default();
    if rs.metadata.generation.unwrap_or(0) > s.observed_generation.unwrap_or(0) {
        return Health::Progressing;
    }
    let failure = s
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "ReplicaFailure" && c.status == "True");
    if failure {
        return Health::Degraded;
    }
    let desired = rs.spec.replicas.unwrap_or(1);
    if s.replicas > desired {
        return Health::Progressing;
    }
    if desired == 0 && s.replicas == 0 {
        return Health::ScaledDown;
    }
    if s.available_replicas < desired {
        return Health::Progressing;
    }
    Health::Healthy
}

/// Upstream's `FindNewReplicaSet`: the oldest ReplicaSet whose template equals the
/// Deployment's (ties by name).
fn find_new<'a>(d: &Deployment, rss: &[&'a ReplicaSet]) -> Option<&'a ReplicaSet> {
    let mut by_age: Vec<&ReplicaSet> = rss.to_vec();
    by_age.sort_by(|a, b| {
        created(*a)
            .cmp(&created(*b))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    by_age
        .into_iter()
        .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
}

fn created<K: kube::Resource>(o: &K) -> Option<Timestamp> {
    o.meta().creation_timestamp.as_ref().map(|t| t.0)
}

/// The role of each ReplicaSet, by uid: see [`Role`].
///
/// | rollout | new ReplicaSet | old, highest revision with replicas | other old |
/// |---|---|---|---|
/// | complete | stable | old | old |
/// | not complete | new | stable | old |
/// | no new one yet | — | stable | old |
fn roles(d: &Deployment, rss: &[&ReplicaSet]) -> BTreeMap<String, Role> {
    let uid = |rs: &ReplicaSet| rs.metadata.uid.clone().unwrap_or_else(|| rs.name_any());
    let new = find_new(d, rss);
    let status = d.status.clone().unwrap_or_default();
    let complete = new.is_some() && deployment_complete(d, &status);
    let new_uid = new.map(uid);
    let mut out: BTreeMap<String, Role> = rss.iter().map(|rs| (uid(rs), Role::Old)).collect();
    if let Some(n) = &new_uid {
        out.insert(n.clone(), if complete { Role::Stable } else { Role::New });
    }
    if !complete {
        let running = |rs: &&&ReplicaSet| {
            rs.spec.replicas.unwrap_or(1) > 0 || rs.status.as_ref().is_some_and(|s| s.replicas > 0)
        };
        let stable = rss
            .iter()
            .filter(|rs| Some(uid(rs)) != new_uid)
            .filter(running)
            .max_by_key(|rs| (revision(rs).unwrap_or(-1), created(**rs)));
        if let Some(rs) = stable {
            out.insert(uid(rs), Role::Stable);
        }
    }
    out
}

/// Upstream's `printPod` (kubectl's pkg/printers/internalversion/printers.go): the STATUS
/// cell, ready and total containers, and the RESTARTS count.
pub fn pod_cells(pod: &Pod) -> (String, usize, usize, i64) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = match status.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => phase.clone(),
    };
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let restartable = |name: &str| {
        init_specs
            .iter()
            .any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    };
    let total = spec.containers.len()
        + init_specs
            .iter()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .count();
    let mut ready = 0;
    let mut restarts: i64 = 0;
    let mut restartable_restarts: i64 = 0;
    let mut initializing = false;
    let init_statuses = status.init_container_statuses.clone().unwrap_or_default();
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += i64::from(c.restart_count);
        let sidecar = restartable(&c.name);
        if sidecar {
            restartable_restarts += i64::from(c.restart_count);
        }
        let state = c.state.clone().unwrap_or_default();
        if state.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar && c.started == Some(true) {
            if c.ready {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = &state.terminated {
            reason = match t.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match t.signal {
                    Some(s) if s != 0 => format!("Init:Signal:{s}"),
                    _ => format!("Init:ExitCode:{}", t.exit_code),
                },
            };
        } else if let Some(r) = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            reason = format!("Init:{i}/{}", init_specs.len());
        }
        initializing = true;
        break;
    }
    let initialized = conditions
        .iter()
        .any(|c| c.type_ == "Initialized" && c.status == "True");
    if !initializing || initialized {
        restarts = restartable_restarts;
        let mut has_running = false;
        let statuses: Vec<ContainerStatus> = status.container_statuses.clone().unwrap_or_default();
        for c in statuses.iter().rev() {
            restarts += i64::from(c.restart_count);
            let state = c.state.clone().unwrap_or_default();
            let waiting = state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .filter(|r| !r.is_empty());
            if let Some(r) = waiting {
                reason = r;
            } else if let Some(t) = &state.terminated {
                reason = match t.reason.as_deref() {
                    Some(r) if !r.is_empty() => r.to_string(),
                    _ => match t.signal {
                        Some(s) if s != 0 => format!("Signal:{s}"),
                        _ => format!("ExitCode:{}", t.exit_code),
                    },
                };
            } else if c.ready && state.running.is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let terminal = phase == "Succeeded" || phase == "Failed";
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".into();
    } else if pod.metadata.deletion_timestamp.is_some() && !terminal {
        reason = "Terminating".into();
    }
    (reason, ready, total, restarts)
}

/// The icon and colour of a Pod's STATUS cell (Argo Rollouts' `podIcon`).
fn pod_tone(status: &str) -> Tone {
    if status.starts_with("Init:") {
        return Tone::Waiting;
    }
    if status.starts_with("Signal:") || status.starts_with("ExitCode:") {
        return Tone::Bad;
    }
    match status {
        "Running" | "Completed" => Tone::Ok,
        "Pending" | "Terminating" | "ContainerCreating" | "PodInitializing" | "NotReady"
        | "SchedulingGated" => Tone::Waiting,
        "Unknown" => Tone::Unknown,
        s if s.ends_with("Error") || s.starts_with("Err") || s.ends_with("BackOff") => Tone::Bad,
        "Failed" | "InvalidImageName" | "OOMKilled" | "Evicted" => Tone::Bad,
        _ => Tone::Neutral,
    }
}

/// Build the tree of `d` from the ReplicaSets and Pods read: those it controls (by owner uid)
/// are kept, the rest ignored.
pub fn build(d: &Deployment, rss: &[ReplicaSet], pods: &[Pod]) -> Tree {
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let owned: Vec<&ReplicaSet> = rss
        .iter()
        .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
        .collect();
    let roles = roles(d, &owned);
    let mut replica_sets: Vec<ReplicaSetNode> = owned
        .iter()
        .map(|rs| {
            let rs_uid = rs.metadata.uid.clone().unwrap_or_else(|| rs.name_any());
            let mut rs_pods: Vec<PodNode> = pods
                .iter()
                .filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == rs_uid))
                .map(|p| {
                    let (status, ready, containers, restarts) = pod_cells(p);
                    PodNode {
                        name: p.name_any(),
                        status,
                        ready,
                        containers,
                        restarts,
                        created: created(p),
                    }
                })
                .collect();
            rs_pods.sort_by(|a, b| a.name.cmp(&b.name));
            let s = rs.status.clone().unwrap_or_default();
            ReplicaSetNode {
                name: rs.name_any(),
                revision: revision(rs),
                role: roles.get(&rs_uid).copied().unwrap_or(Role::Old),
                health: replicaset_health(rs),
                desired: rs.spec.replicas.unwrap_or(1),
                current: s.replicas,
                ready: s.ready_replicas,
                available: s.available_replicas,
                images: rs
                    .spec
                    .template
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .map(|c| c.image.clone().unwrap_or_default())
                    .collect(),
                created: created(*rs),
                pods: rs_pods,
            }
        })
        .collect();
    replica_sets.sort_by(|a, b| {
        b.revision
            .unwrap_or(-1)
            .cmp(&a.revision.unwrap_or(-1))
            .then_with(|| a.name.cmp(&b.name))
    });
    let strategy = d.spec.strategy.clone().unwrap_or_default();
    let recreate = strategy
        .type_
        .as_ref()
        .and_then(|t| serde_json::to_value(t).ok())
        .is_some_and(|v| v == "Recreate");
    let strategy = if recreate {
        Strategy::Recreate
    } else {
        // An absent bound is 25% (the CRD's documented default; apps/v1 writes it in).
        let ru = strategy.rolling_update.unwrap_or_default();
        let quarter = || IntOrString::String("25%".into());
        Strategy::RollingUpdate {
            max_surge: ru.max_surge.unwrap_or_else(quarter),
            max_unavailable: ru.max_unavailable.unwrap_or_else(quarter),
        }
    };
    let s = d.status.clone().unwrap_or_default();
    let (health, message) = deployment_health(d);
    Tree {
        name: d.name_any(),
        namespace: d.namespace().unwrap_or_default(),
        created: created(d),
        health,
        message,
        paused: d.spec.paused.unwrap_or(false),
        strategy,
        replicas: Replicas {
            desired: d.spec.replicas.unwrap_or(1),
            current: s.replicas,
            updated: s.updated_replicas,
            ready: s.ready_replicas,
            available: s.available_replicas,
        },
        conditions: s
            .conditions
            .unwrap_or_default()
            .into_iter()
            .map(|c| Condition {
                type_: c.type_,
                status: c.status,
                reason: c.reason.unwrap_or_default(),
                message: c.message.unwrap_or_default(),
            })
            .collect(),
        replica_sets,
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn age(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn revision_label(r: Option<i64>) -> String {
    match r {
        Some(r) => format!("revision:{r}"),
        None => "revision:?".into(),
    }
}

/// A cell of the table: its text and, for a status, its colour.
struct Cell {
    text: String,
    sgr: Option<&'static str>,
}

fn plain(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        sgr: None,
    }
}

fn status_cell(tone: Tone, word: &str) -> Cell {
    Cell {
        text: format!("{} {word}", tone.icon()),
        sgr: Some(tone.sgr()),
    }
}

/// Lay cells out in columns two spaces apart (widths in characters); a line's last cell is not
/// padded and trailing blanks are dropped. Colour wraps a cell's text, never its padding.
fn columns(rows: &[Vec<Cell>], colour: bool) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            let w = c.text.chars().count();
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.iter().rposition(|c| !c.text.is_empty()).unwrap_or(0);
        let mut line = String::new();
        for (i, c) in row.iter().enumerate().take(last + 1) {
            match (colour, c.sgr) {
                (true, Some(sgr)) => line.push_str(&format!("\x1b[{sgr}m{}\x1b[0m", c.text)),
                _ => line.push_str(&c.text),
            }
            if i < last {
                let pad = widths[i] - c.text.chars().count() + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The tree as text, ages as of `now`, with ANSI colours when `colour`.
pub fn render_text(t: &Tree, now: Timestamp, colour: bool) -> String {
    let mut head: Vec<Vec<Cell>> = vec![
        vec![plain("Name:"), plain(&t.name)],
        vec![plain("Namespace:"), plain(&t.namespace)],
        vec![
            plain("Status:"),
            status_cell(t.health.tone(), t.health.word()),
        ],
    ];
    if let Some(m) = &t.message {
        head.push(vec![plain("Message:"), plain(m)]);
    }
    head.push(vec![
        plain("Strategy:"),
        plain(match &t.strategy {
            Strategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => format!(
                "RollingUpdate (max surge {}, max unavailable {})",
                int_or_string(max_surge),
                int_or_string(max_unavailable)
            ),
            Strategy::Recreate => "Recreate".into(),
        }),
    ]);
    // Images of the ReplicaSets that run or are to run Pods, tagged with their role.
    let mut images: Vec<(String, Role)> = Vec::new();
    for rs in &t.replica_sets {
        if rs.desired > 0 || rs.current > 0 || rs.role != Role::Old {
            for i in &rs.images {
                if !images.iter().any(|(x, r)| x == i && *r == rs.role) {
                    images.push((i.clone(), rs.role));
                }
            }
        }
    }
    for (n, (image, role)) in images.iter().enumerate() {
        let title = if n == 0 { "Images:" } else { "" };
        head.push(vec![
            plain(title),
            plain(format!("{image} ({})", role.word())),
        ]);
    }
    let r = t.replicas;
    head.push(vec![plain("Replicas:")]);
    for (k, v) in [
        ("  Desired:", r.desired),
        ("  Current:", r.current),
        ("  Updated:", r.updated),
        ("  Ready:", r.ready),
        ("  Available:", r.available),
    ] {
        head.push(vec![plain(k), plain(v.to_string())]);
    }
    let mut out = columns(&head, colour);
    if !t.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let rows: Vec<Vec<Cell>> = std::iter::once(vec![
            plain("  TYPE"),
            plain("STATUS"),
            plain("REASON"),
            plain("MESSAGE"),
        ])
        .chain(t.conditions.iter().map(|c| {
            vec![
                plain(format!("  {}", c.type_)),
                plain(&c.status),
                plain(&c.reason),
                plain(&c.message),
            ]
        }))
        .collect();
        out.push_str(&columns(&rows, colour));
    }
    out.push('\n');

    let mut rows: Vec<Vec<Cell>> = vec![vec![
        plain("NAME"),
        plain("KIND"),
        plain("STATUS"),
        plain("AGE"),
        plain("INFO"),
    ]];
    rows.push(vec![
        plain(format!("⟳ {}", t.name)),
        plain("Deployment"),
        status_cell(t.health.tone(), t.health.word()),
        plain(age(t.created, now)),
    ]);
    // Group by revision (one ReplicaSet each, unless someone edited the annotations).
    let mut groups: Vec<(Option<i64>, Vec<&ReplicaSetNode>)> = Vec::new();
    for rs in &t.replica_sets {
        match groups.last_mut() {
            Some((r, v)) if *r == rs.revision => v.push(rs),
            _ => groups.push((rs.revision, vec![rs])),
        }
    }
    for (g, (rev, members)) in groups.iter().enumerate() {
        let last_group = g + 1 == groups.len();
        let (branch, stem) = if last_group {
            ("└──", "   ")
        } else {
            ("├──", "│  ")
        };
        rows.push(vec![plain(format!("{branch}# {}", revision_label(*rev)))]);
        for (i, rs) in members.iter().enumerate() {
            let last_rs = i + 1 == members.len();
            let (rs_branch, rs_stem) = if last_rs {
                ("└──", "   ")
            } else {
                ("├──", "│  ")
            };
            rows.push(vec![
                plain(format!("{stem}{rs_branch}⧉ {}", rs.name)),
                plain("ReplicaSet"),
                status_cell(rs.health.tone(), rs.health.word()),
                plain(age(rs.created, now)),
                plain(format!(
                    "{},ready:{}/{}",
                    rs.role.word(),
                    rs.ready,
                    rs.desired
                )),
            ]);
            for (j, p) in rs.pods.iter().enumerate() {
                let pod_branch = if j + 1 == rs.pods.len() {
                    "└──"
                } else {
                    "├──"
                };
                rows.push(vec![
                    plain(format!("{stem}{rs_stem}{pod_branch}□ {}", p.name)),
                    plain("Pod"),
                    status_cell(pod_tone(&p.status), &p.status),
                    plain(age(p.created, now)),
                    plain(format!(
                        "ready:{}/{},restarts:{}",
                        p.ready, p.containers, p.restarts
                    )),
                ]);
            }
        }
    }
    out.push_str(&columns(&rows, colour));
    out
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_string()))
}

/// The tree as a JSON document for scripts. Times are absolute (`creationTimestamp`), so the
/// document changes only when the objects do; every key is always present.
pub fn to_json(t: &Tree) -> Value {
    let strategy = match &t.strategy {
        Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => {
            json!({"type": "RollingUpdate", "maxSurge": max_surge, "maxUnavailable": max_unavailable})
        }
        Strategy::Recreate => json!({"type": "Recreate"}),
    };
    json!({
        "name": t.name,
        "namespace": t.namespace,
        "creationTimestamp": time(t.created),
        "status": t.health.word(),
        "message": t.message,
        "paused": t.paused,
        "strategy": strategy,
        "replicas": {
            "desired": t.replicas.desired,
            "current": t.replicas.current,
            "updated": t.replicas.updated,
            "ready": t.replicas.ready,
            "available": t.replicas.available,
        },
        "conditions": t.conditions.iter().map(|c| json!({
            "type": c.type_, "status": c.status, "reason": c.reason, "message": c.message,
        })).collect::<Vec<_>>(),
        "replicaSets": t.replica_sets.iter().map(|rs| json!({
            "name": rs.name,
            "revision": rs.revision,
            "role": rs.role.word(),
            "status": rs.health.word(),
            "desired": rs.desired,
            "current": rs.current,
            "ready": rs.ready,
            "available": rs.available,
            "images": rs.images,
            "creationTimestamp": time(rs.created),
            "pods": rs.pods.iter().map(|p| json!({
                "name": p.name,
                "status": p.status,
                "ready": format!("{}/{}", p.ready, p.containers),
                "restarts": p.restarts,
                "creationTimestamp": time(p.created),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-24T10:10:00Z".parse().unwrap()
    }

    /// `now` minus `secs`, as the API server writes it.
    fn ago(secs: i64) -> String {
        Timestamp::from_second(now().as_second() - secs)
            .unwrap()
            .to_string()
    }

    /// Set the value at a JSON pointer, creating objects on the way.
    fn put(v: &mut Value, pointer: &str, value: Value) {
        let mut cur = v;
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            if !cur.is_object() {
                *cur = json!({});
            }
            let map = cur.as_object_mut().unwrap();
            if i + 1 == parts.len() {
                map.insert((*part).to_string(), value);
                return;
            }
            cur = map.entry((*part).to_string()).or_insert_with(|| json!({}));
        }
    }

    fn template(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image}]}})
    }

    /// A Deployment `web` (uid `d1`) of `replicas`, rolled out and observed unless told.
    struct D(Value);

    fn deploy(replicas: i32, image: &str) -> D {
        D(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d1", "generation": 2,
                "creationTimestamp": ago(600)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": template(image)},
            "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas}
        }))
    }

    impl D {
        /// status: replicas, updated, ready, available.
        fn status(mut self, current: i32, updated: i32, ready: i32, available: i32) -> Self {
            put(&mut self.0, "/status/replicas", json!(current));
            put(&mut self.0, "/status/updatedReplicas", json!(updated));
            put(&mut self.0, "/status/readyReplicas", json!(ready));
            put(&mut self.0, "/status/availableReplicas", json!(available));
            self
        }
        fn condition(mut self, type_: &str, status: &str, reason: &str, message: &str) -> Self {
            let c = json!({"type": type_, "status": status, "reason": reason, "message": message});
            match self.0["status"]["conditions"].as_array_mut() {
                Some(list) => list.push(c),
                None => put(&mut self.0, "/status/conditions", json!([c])),
            }
            self
        }
        fn paused(mut self) -> Self {
            put(&mut self.0, "/spec/paused", json!(true));
            self
        }
        fn recreate(mut self) -> Self {
            put(&mut self.0, "/spec/strategy", json!({"type": "Recreate"}));
            self
        }
        fn surge(mut self, max_surge: Value, max_unavailable: Value) -> Self {
            put(
                &mut self.0,
                "/spec/strategy",
                json!({"type": "RollingUpdate", "rollingUpdate":
                    {"maxSurge": max_surge, "maxUnavailable": max_unavailable}}),
            );
            self
        }
        fn unobserved(mut self) -> Self {
            put(&mut self.0, "/metadata/generation", json!(3));
            self
        }
        fn build(self) -> Deployment {
            serde_json::from_value(self.0).unwrap()
        }
    }

    /// A ReplicaSet `web-<hash>` of revision `rev` owned by `web`, its template of `image`.
    struct R(Value);

    fn rs(hash: &str, rev: i64, image: &str) -> R {
        let mut t = template(image);
        put(&mut t, "/metadata/labels/pod-template-hash", json!(hash));
        R(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("web-{hash}"), "namespace": "default", "uid": hash,
                "generation": 1, "creationTimestamp": ago(600 - rev * 60),
                "annotations": {"bosun.dev/revision": rev.to_string()},
                "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                    "name": "web", "uid": "d1", "controller": true}]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
                "template": t},
            "status": {"observedGeneration": 1, "replicas": 0}
        }))
    }

    impl R {
        /// spec.replicas, then status: replicas, ready (and available).
        fn replicas(mut self, desired: i32, current: i32, ready: i32) -> Self {
            put(&mut self.0, "/spec/replicas", json!(desired));
            put(&mut self.0, "/status/replicas", json!(current));
            put(&mut self.0, "/status/readyReplicas", json!(ready));
            put(&mut self.0, "/status/availableReplicas", json!(ready));
            self
        }
        fn failing(mut self) -> Self {
            put(
                &mut self.0,
                "/status/conditions",
                json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                    "message": "pods \"web-x\" is forbidden: exceeded quota"}]),
            );
            self
        }
        fn owner(mut self, uid: &str) -> Self {
            put(&mut self.0, "/metadata/ownerReferences/0/uid", json!(uid));
            self
        }
        fn build(self) -> ReplicaSet {
            let mut v = self.0;
            // put() cannot index arrays: rebuild the owner reference when owner() set "0".
            if let Some(o) = v["metadata"]["ownerReferences"].as_object().cloned() {
                let mut r = json!({"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
                    "name": "web", "uid": "d1", "controller": true});
                if let Some(uid) = o.get("0").and_then(|x| x.get("uid")) {
                    r["uid"] = uid.clone();
                }
                v["metadata"]["ownerReferences"] = json!([r]);
            }
            serde_json::from_value(v).unwrap()
        }
    }

    /// A Pod `name` of ReplicaSet uid `rs`, created `age` seconds ago, with one container `app`.
    struct P(Value);

    fn pod(name: &str, rs: &str, age: i64) -> P {
        P(json!({
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(age),
                "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                    "name": format!("web-{rs}"), "uid": rs, "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "img"}]},
            "status": {"phase": "Pending"}
        }))
    }

    impl P {
        fn running(mut self) -> Self {
            put(&mut self.0, "/status/phase", json!("Running"));
            put(
                &mut self.0,
                "/status/conditions",
                json!([{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]),
            );
            put(
                &mut self.0,
                "/status/containerStatuses",
                json!([{"name": "app", "image": "img", "imageID": "", "ready": true,
                    "restartCount": 0, "state": {"running": {}}}]),
            );
            self
        }
        fn container_statuses(mut self, statuses: Value) -> Self {
            put(&mut self.0, "/status/containerStatuses", statuses);
            self
        }
        fn phase(mut self, phase: &str) -> Self {
            put(&mut self.0, "/status/phase", json!(phase));
            self
        }
        fn deleting(mut self) -> Self {
            put(&mut self.0, "/metadata/deletionTimestamp", json!(ago(1)));
            self
        }
        fn at(mut self, pointer: &str, v: Value) -> Self {
            put(&mut self.0, pointer, v);
            self
        }
        fn build(self) -> Pod {
            serde_json::from_value(self.0).unwrap()
        }
    }

    /// A waiting container `app` with `reason`, after `restarts` restarts.
    fn waiting(reason: &str, restarts: i32) -> Value {
        json!([{"name": "app", "image": "img", "imageID": "", "ready": false,
            "restartCount": restarts, "state": {"waiting": {"reason": reason}}}])
    }

    /// The words of the line of `text` that contains `needle`.
    fn row<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
        text.lines()
            .find(|l| l.contains(needle))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default()
    }

    /// The roles of the tree's ReplicaSets by name.
    fn roles_of(t: &Tree) -> Vec<(String, &'static str, &'static str)> {
        t.replica_sets
            .iter()
            .map(|r| (r.name.clone(), r.role.word(), r.health.word()))
            .collect()
    }

    #[test]
    fn a_rolling_update_shows_the_new_revision_above_the_stable_one() {
        let d = deploy(3, "app:2")
            .status(4, 1, 3, 3)
            .condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            )
            .condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                "ReplicaSet \"web-b\" is progressing.",
            )
            .build();
        let rss = [
            rs("a", 1, "app:1").replicas(2, 3, 3).build(),
            rs("b", 2, "app:2").replicas(2, 1, 1).build(),
        ];
        let pods = [
            pod("web-a-1", "a", 540).running().build(),
            pod("web-a-2", "a", 540).running().build(),
            pod("web-a-3", "a", 540).running().deleting().build(),
            pod("web-b-1", "b", 150).running().build(),
            pod("web-b-2", "b", 5)
                .container_statuses(waiting("ContainerCreating", 0))
                .build(),
        ];
        let tree = build(&d, &rss, &pods);
        let expected = "\
Name:         web
Namespace:    default
Status:       ◌ Progressing
Message:      Waiting for rollout to finish: 1 out of 3 new replicas have been updated...
Strategy:     RollingUpdate (max surge 25%, max unavailable 25%)
Images:       app:2 (new)
              app:1 (stable)
Replicas:
  Desired:    3
  Current:    4
  Updated:    1
  Ready:      3
  Available:  3
Conditions:
  TYPE         STATUS  REASON                    MESSAGE
  Available    True    MinimumReplicasAvailable  Deployment has minimum availability.
  Progressing  True    ReplicaSetUpdated         ReplicaSet \"web-b\" is progressing.

NAME                KIND        STATUS               AGE    INFO
⟳ web               Deployment  ◌ Progressing        10m
├──# revision:2
│  └──⧉ web-b       ReplicaSet  ◌ Progressing        8m     new,ready:1/2
│     ├──□ web-b-1  Pod         ✔ Running            2m30s  ready:1/1,restarts:0
│     └──□ web-b-2  Pod         ◌ ContainerCreating  5s     ready:0/1,restarts:0
└──# revision:1
   └──⧉ web-a       ReplicaSet  ◌ Progressing        9m     stable,ready:3/2
      ├──□ web-a-1  Pod         ✔ Running            9m     ready:1/1,restarts:0
      ├──□ web-a-2  Pod         ✔ Running            9m     ready:1/1,restarts:0
      └──□ web-a-3  Pod         ◌ Terminating        9m     ready:1/1,restarts:0
";
        let text = render_text(&tree, now(), false);
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn a_complete_rollout_marks_the_new_replicaset_stable_and_the_rest_old() {
        let d = deploy(3, "app:3").build();
        let rss = [
            rs("a", 1, "app:1").build(),
            rs("c", 3, "app:3").replicas(3, 3, 3).build(),
            rs("b", 2, "app:2").build(),
        ];
        let tree = build(&d, &rss, &[]);
        assert_eq!(tree.health, Health::Healthy);
        assert_eq!(tree.message, None);
        assert_eq!(
            roles_of(&tree),
            [
                ("web-c".into(), "stable", "Healthy"),
                ("web-b".into(), "old", "ScaledDown"),
                ("web-a".into(), "old", "ScaledDown"),
            ]
        );
        let text = render_text(&tree, now(), false);
        assert_eq!(
            row(&text, "⧉ web-a"),
            [
                "└──⧉",
                "web-a",
                "ReplicaSet",
                "•",
                "ScaledDown",
                "9m",
                "old,ready:0/0"
            ],
            "{text}"
        );
        assert!(
            text.contains("Images:       app:3 (stable)\nReplicas:"),
            "{text}"
        );
    }

    #[test]
    fn before_the_new_replicaset_exists_the_running_one_of_the_highest_revision_is_stable() {
        // The template changed; the controller has not created revision 3 yet.
        let d = deploy(2, "app:3").unobserved().build();
        let rss = [
            rs("a", 1, "app:1").build(),
            rs("b", 2, "app:2").replicas(2, 2, 2).build(),
        ];
        let tree = build(&d, &rss, &[]);
        assert_eq!(tree.health, Health::Progressing);
        assert_eq!(
            roles_of(&tree),
            [
                ("web-b".into(), "stable", "Healthy"),
                ("web-a".into(), "old", "ScaledDown"),
            ]
        );
    }

    #[test]
    fn a_paused_rollout_reads_paused_and_keeps_new_and_stable() {
        let d = deploy(2, "app:2").status(3, 1, 3, 3).paused().build();
        let rss = [
            rs("a", 1, "app:1").replicas(2, 2, 2).build(),
            rs("b", 2, "app:2").replicas(1, 1, 1).build(),
        ];
        let tree = build(&d, &rss, &[]);
        assert_eq!(
            (tree.health, tree.message.as_deref(), tree.paused),
            (Health::Paused, Some("Deployment is paused"), true)
        );
        assert_eq!(
            roles_of(&tree),
            [
                ("web-b".into(), "new", "Healthy"),
                ("web-a".into(), "stable", "Healthy"),
            ]
        );
        let text = render_text(&tree, now(), false);
        assert!(text.contains("Status:       ‖ Paused\n"), "{text}");
        assert_eq!(
            row(&text, "⟳ web"),
            ["⟳", "web", "Deployment", "‖", "Paused", "10m"],
            "{text}"
        );
        assert_eq!(to_json(&tree)["paused"], json!(true));
    }

    #[test]
    fn recreate_prints_the_strategy_without_bounds_and_rolling_update_with_them() {
        let d = deploy(1, "app:1").recreate().build();
        let tree = build(&d, &[], &[]);
        assert_eq!(tree.strategy, Strategy::Recreate);
        let text = render_text(&tree, now(), false);
        assert!(text.contains("Strategy:     Recreate\n"), "{text}");
        assert_eq!(to_json(&tree)["strategy"], json!({"type": "Recreate"}));

        let d = deploy(1, "app:1").surge(json!(1), json!("0%")).build();
        let tree = build(&d, &[], &[]);
        let text = render_text(&tree, now(), false);
        assert!(
            text.contains("Strategy:     RollingUpdate (max surge 1, max unavailable 0%)\n"),
            "{text}"
        );
        assert_eq!(
            to_json(&tree)["strategy"],
            json!({"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": "0%"})
        );
    }

    #[test]
    fn a_passed_progress_deadline_is_degraded_with_upstreams_message() {
        let d = deploy(2, "app:2")
            .status(2, 0, 0, 0)
            .condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                "ReplicaSet \"web-b\" has timed out progressing.",
            )
            .build();
        let rss = [rs("b", 1, "app:2").replicas(2, 0, 0).failing().build()];
        let tree = build(&d, &rss, &[]);
        assert_eq!(
            (tree.health, tree.message.as_deref()),
            (
                Health::Degraded,
                Some("Deployment \"web\" exceeded its progress deadline")
            )
        );
        assert_eq!(roles_of(&tree), [("web-b".into(), "new", "Degraded")]);
        let text = render_text(&tree, now(), false);
        assert!(text.contains("Status:       ✖ Degraded\n"), "{text}");
        assert!(
            text.contains("  Progressing  False   ProgressDeadlineExceeded  ReplicaSet \"web-b\" has timed out progressing.\n"),
            "{text}"
        );
    }

    #[test]
    fn deployment_health_takes_argo_cds_rules_in_order() {
        // (deployment, health, message)
        let cases = [
            (
                deploy(3, "i").unobserved().paused().build(),
                Health::Paused,
                "Deployment is paused",
            ),
            (
                deploy(3, "i").unobserved().build(),
                Health::Progressing,
                "Waiting for rollout to finish: observed deployment generation less then desired generation",
            ),
            (
                deploy(3, "i").status(3, 2, 3, 3).build(),
                Health::Progressing,
                "Waiting for rollout to finish: 2 out of 3 new replicas have been updated...",
            ),
            (
                deploy(3, "i").status(4, 3, 4, 4).build(),
                Health::Progressing,
                "Waiting for rollout to finish: 1 old replicas are pending termination...",
            ),
            (
                deploy(3, "i").status(3, 3, 2, 2).build(),
                Health::Progressing,
                "Waiting for rollout to finish: 2 of 3 updated replicas are available...",
            ),
        ];
        for (d, health, message) in cases {
            assert_eq!(deployment_health(&d), (health, Some(message.to_string())));
        }
        assert_eq!(
            deployment_health(&deploy(3, "i").build()),
            (Health::Healthy, None)
        );
    }

    #[test]
    fn replicasets_of_other_owners_and_their_pods_are_left_out() {
        let d = deploy(1, "app:1").build();
        let rss = [
            rs("a", 1, "app:1").replicas(1, 1, 1).build(),
            rs("z", 1, "app:1")
                .replicas(1, 1, 1)
                .owner("someone-else")
                .build(),
        ];
        let pods = [
            pod("web-a-1", "a", 60).running().build(),
            pod("web-z-1", "z", 60).running().build(),
        ];
        let tree = build(&d, &rss, &pods);
        assert_eq!(tree.replica_sets.len(), 1);
        assert_eq!(tree.replica_sets[0].pods.len(), 1);
        assert_eq!(tree.replica_sets[0].pods[0].name, "web-a-1");
    }

    #[test]
    fn pod_status_cells_are_kubectls() {
        let sidecar = json!([{"name": "proxy", "image": "p", "restartPolicy": "Always"}]);
        let init = json!([{"name": "setup", "image": "s"}]);
        // (pod, STATUS, ready, total, restarts)
        let cases = [
            (pod("p", "a", 1).running().build(), "Running", 1, 1, 0),
            (pod("p", "a", 1).build(), "Pending", 0, 1, 0),
            (
                pod("p", "a", 1).container_statuses(waiting("ContainerCreating", 0)).build(),
                "ContainerCreating",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .phase("Running")
                    .container_statuses(waiting("CrashLoopBackOff", 4))
                    .build(),
                "CrashLoopBackOff",
                0,
                1,
                4,
            ),
            (pod("p", "a", 1).running().deleting().build(), "Terminating", 1, 1, 0),
            (
                pod("p", "a", 1).phase("Succeeded").deleting().container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])).build(),
                "Completed",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1).running().deleting().at("/status/reason", json!("NodeLost")).build(),
                "Unknown",
                1,
                1,
                0,
            ),
            (
                pod("p", "a", 1).phase("Running").container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 1,
                     "state": {"terminated": {"exitCode": 1}}}])).build(),
                "ExitCode:1",
                0,
                1,
                1,
            ),
            (
                pod("p", "a", 1).phase("Running").container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"terminated": {"exitCode": 137, "signal": 9}}}])).build(),
                "Signal:9",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .at("/spec/initContainers", init.clone())
                    .at("/status/initContainerStatuses", json!([
                        {"name": "setup", "image": "s", "imageID": "", "ready": false, "restartCount": 0,
                         "state": {"running": {}}}]))
                    .build(),
                "Init:0/1",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .at("/spec/initContainers", init)
                    .at("/status/initContainerStatuses", json!([
                        {"name": "setup", "image": "s", "imageID": "", "ready": false, "restartCount": 3,
                         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]))
                    .build(),
                "Init:CrashLoopBackOff",
                0,
                1,
                3,
            ),
            (
                // A running sidecar counts among the containers, and its restarts.
                pod("p", "a", 1)
                    .running()
                    .at("/spec/initContainers", sidecar)
                    .at("/status/initContainerStatuses", json!([
                        {"name": "proxy", "image": "p", "imageID": "", "ready": true, "restartCount": 2,
                         "started": true, "state": {"running": {}}}]))
                    .build(),
                "Running",
                2,
                2,
                2,
            ),
            (
                pod("p", "a", 1)
                    .at("/status/conditions", json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]))
                    .build(),
                "SchedulingGated",
                0,
                1,
                0,
            ),
        ];
        for (i, (p, status, ready, total, restarts)) in cases.into_iter().enumerate() {
            assert_eq!(
                pod_cells(&p),
                (status.to_string(), ready, total, restarts),
                "case {i}"
            );
        }
    }

    #[test]
    fn pod_icons_tell_running_waiting_and_failing_apart() {
        for (status, icon) in [
            ("Running", '✔'),
            ("Completed", '✔'),
            ("Pending", '◌'),
            ("ContainerCreating", '◌'),
            ("Terminating", '◌'),
            ("Init:0/1", '◌'),
            ("CrashLoopBackOff", '✖'),
            ("ImagePullBackOff", '✖'),
            ("ErrImagePull", '✖'),
            ("ExitCode:1", '✖'),
            ("Unknown", '?'),
        ] {
            assert_eq!(pod_tone(status).icon(), icon, "{status}");
        }
    }

    #[test]
    fn ages_read_as_kubectls_age_column() {
        let d = deploy(3, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(3, 3, 3).build()];
        let pods = [
            pod("web-a-1", "a", 5).running().build(),
            pod("web-a-2", "a", 150).running().build(),
            pod("web-a-3", "a", 3 * 3600 + 60).running().build(),
        ];
        let text = render_text(&build(&d, &rss, &pods), now(), false);
        let ages: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" Pod "))
            .filter_map(|l| l.split_whitespace().nth(5))
            .collect();
        assert_eq!(ages, ["5s", "2m30s", "3h1m"], "{text}");
    }

    #[test]
    fn colour_wraps_the_status_cells_only_and_keeps_the_columns() {
        let d = deploy(1, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(1, 1, 1).build()];
        let pods = [pod("web-a-1", "a", 5).running().build()];
        let tree = build(&d, &rss, &pods);
        let plain_text = render_text(&tree, now(), false);
        let coloured = render_text(&tree, now(), true);
        assert!(!plain_text.contains('\x1b'));
        assert!(coloured.contains("\x1b[32m✔ Healthy\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[32m✔ Running\x1b[0m"), "{coloured}");
        let stripped = coloured.replace("\x1b[32m", "").replace("\x1b[0m", "");
        assert_eq!(stripped, plain_text);
    }

    #[test]
    fn the_json_document_has_every_key_and_absolute_times() {
        let d = deploy(1, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(1, 1, 1).build()];
        let pods = [pod("web-a-1", "a", 5)
            .phase("Running")
            .container_statuses(waiting("CrashLoopBackOff", 2))
            .build()];
        let doc = to_json(&build(&d, &rss, &pods));
        assert_eq!(
            doc,
            json!({
                "name": "web", "namespace": "default", "creationTimestamp": ago(600),
                "status": "Healthy", "message": null, "paused": false,
                "strategy": {"type": "RollingUpdate", "maxSurge": "25%", "maxUnavailable": "25%"},
                "replicas": {"desired": 1, "current": 1, "updated": 1, "ready": 1, "available": 1},
                "conditions": [],
                "replicaSets": [{
                    "name": "web-a", "revision": 1, "role": "stable", "status": "Healthy",
                    "desired": 1, "current": 1, "ready": 1, "available": 1,
                    "images": ["app:1"], "creationTimestamp": ago(540),
                    "pods": [{"name": "web-a-1", "status": "CrashLoopBackOff", "ready": "0/1",
                        "restarts": 2, "creationTimestamp": ago(5)}]
                }]
            })
        );
    }
}
