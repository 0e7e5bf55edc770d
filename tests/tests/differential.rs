//! Differential test of the workload controllers: random sequences of user operations, applied
//! in lockstep to `apps/v1` objects in one namespace (kube-controller-manager's built-in
//! controllers are the oracle) and to bosun's kinds in a twin namespace. After every operation
//! both namespaces settle and their normalized states must be equal: the Deployment's status
//! counts, condition types/statuses/reasons and revision annotations; each ReplicaSet, keyed by
//! revision, with its template image, owner, `spec.replicas`, status counts and conditions; the
//! pods of each ReplicaSet; the Service's endpoints grouped by the ReplicaSet of their pod.
//! A divergence is shrunk to a short sequence that still diverges and printed with its seed and
//! a line that replays it.
//!
//! Knobs (environment variables):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BOSUN_DIFF_SEQUENCES` | `4` | random sequences to run (`make diff-long`: 50) |
//! | `BOSUN_DIFF_OPS` | `8` | operations per sequence, after the creation |
//! | `BOSUN_DIFF_SEED` | from the clock | the first seed; sequence `i` uses seed + `i` |
//! | `BOSUN_DIFF_REPLAY` | — | run exactly this printed sequence (`start/… scale/2 …`) |
//! | `BOSUN_DIFF_SHRINK` | `12` | re-runs the shrinker may spend on a divergence |

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, kubectl, kubectl_bosun};
use k8s_openapi::api::core::v1::{Pod, Service, ServiceAccount};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde::Serialize;
use serde_json::{Value, json};

/// How long one step may take to settle on both sides.
const SETTLE: Duration = Duration::from_secs(120);
/// How long both sides may stay settled and different before that counts as a divergence (one
/// side may lag, e.g. a requeue with backoff).
const DIFFER_GRACE: Duration = Duration::from_secs(15);
/// Poll interval of the settle loop.
const INTERVAL: Duration = Duration::from_millis(400);
/// A side is quiet when nothing it holds (resourceVersions of the Deployment, ReplicaSets, pods,
/// Service, slices) changed for this many consecutive polls (≥ 1.2 s).
const QUIET_POLLS: usize = 4;

const BUILTIN_SLICES: &str = "endpointslice-controller.k8s.io";
const BOSUN_SLICES: &str = "endpointslice.bosun.dev";

// ---------------------------------------------------------------------------------------------
// Randomness.

/// splitmix64 (Steele, Lea, Flood 2014). A seed must replay the same sequence on any machine and
/// in any later version of this test; `rand`'s `StdRng` explicitly promises no stable stream
/// across versions, and these few lines of a well-known generator do.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// Label sets for orphan pods and Service selectors. The Deployment selects `app=web`; its own
/// ReplicaSets add `pod-template-hash`; standalone ReplicaSet `solo-N` selects `solo=sN`. Sets
/// never let two ReplicaSets select one pod, where even upstream's outcome is a race.
const LABEL_SETS: &[&[(&str, &str)]] = &[
    &[("app", "web")],
    &[("app", "web"), ("solo", "s1")],
    &[("app", "other")],
    &[("solo", "s2")],
];

/// `maxSurge`/`maxUnavailable` pairs of RollingUpdate (never both zero).
const ROLLING: &[(&str, &str)] = &[
    ("25%", "25%"),
    ("1", "0"),
    ("0", "1"),
    ("2", "1"),
    ("50%", "0"),
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Strategy {
    Recreate,
    Rolling(&'static str, &'static str),
}

/// The creation every sequence starts with: a Deployment `web` and a Service `web`
/// selecting `app=web`.
#[derive(Clone, Debug, PartialEq)]
struct Start {
    replicas: i32,
    image: u8,
    strategy: Strategy,
    history: i32,
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    /// Set `spec.replicas`.
    Scale(i32),
    /// Change the template's image to `registry.example/app:N`.
    Image(u8),
    /// Set `spec.paused`.
    Paused(bool),
    /// `kubectl rollout undo` (`kubectl bosun rollout undo`), `--to-revision` when > 0.
    Undo(i64),
    /// Switch the strategy.
    Strategy(Strategy),
    /// A user's ReplicaSet `solo-<id>` selecting `solo=s<id>`, whose own labels match the
    /// Deployment's selector (`adopt`) or not, whose pods carry `app=web` (`match`) or not.
    Solo {
        id: u8,
        replicas: i32,
        adopt: bool,
        pods_match: bool,
        image: u8,
    },
    /// A bare pod `stray-<id>` with the labels `LABEL_SETS[labels]`.
    Orphan { id: u8, labels: usize },
    /// Patch one Ready pod's Ready condition to False: of the groups (ReplicaSet by revision or
    /// name, or orphan pod) with Ready pods, in order, number `pick` modulo their count; in it,
    /// the pod with the smallest name.
    Unready(u8),
    /// Set the Service's selector to `LABEL_SETS[n]`.
    Selector(usize),
}

fn labels_text(i: usize) -> String {
    LABEL_SETS[i % LABEL_SETS.len()]
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn labels_json(i: usize) -> Value {
    let map: serde_json::Map<String, Value> = LABEL_SETS[i % LABEL_SETS.len()]
        .iter()
        .map(|(k, v)| ((*k).to_string(), json!(v)))
        .collect();
    Value::Object(map)
}

fn labels_index(s: &str) -> Option<usize> {
    (0..LABEL_SETS.len()).find(|i| labels_text(*i) == s)
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Recreate => write!(f, "recreate"),
            Strategy::Rolling(s, u) => write!(f, "rolling-{s}-{u}"),
        }
    }
}

impl FromStr for Strategy {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        if s == "recreate" {
            return Ok(Strategy::Recreate);
        }
        ROLLING
            .iter()
            .find(|(a, b)| format!("rolling-{a}-{b}") == s)
            .map(|(a, b)| Strategy::Rolling(a, b))
            .with_context(|| format!("unknown strategy {s:?}"))
    }
}

impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "start/{}/{}/{}/{}",
            self.replicas, self.image, self.strategy, self.history
        )
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Scale(n) => write!(f, "scale/{n}"),
            Op::Image(i) => write!(f, "image/{i}"),
            Op::Paused(true) => write!(f, "pause"),
            Op::Paused(false) => write!(f, "resume"),
            Op::Undo(r) => write!(f, "undo/{r}"),
            Op::Strategy(s) => write!(f, "strategy/{s}"),
            Op::Solo {
                id,
                replicas,
                adopt,
                pods_match,
                image,
            } => write!(
                f,
                "solo-rs/{id}/{replicas}/{}/{}/{image}",
                if *adopt { "adopt" } else { "free" },
                if *pods_match { "match" } else { "apart" }
            ),
            Op::Orphan { id, labels } => write!(f, "orphan-pod/{id}/{}", labels_text(*labels)),
            Op::Unready(p) => write!(f, "unready/{p}"),
            Op::Selector(l) => write!(f, "selector/{}", labels_text(*l)),
        }
    }
}

impl FromStr for Op {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        let parts: Vec<&str> = s.split('/').collect();
        let arg = |i: usize| -> anyhow::Result<&str> {
            parts
                .get(i)
                .copied()
                .with_context(|| format!("{s:?}: argument {i} missing"))
        };
        Ok(match parts[0] {
            "scale" => Op::Scale(arg(1)?.parse()?),
            "image" => Op::Image(arg(1)?.parse()?),
            "pause" => Op::Paused(true),
            "resume" => Op::Paused(false),
            "undo" => Op::Undo(arg(1)?.parse()?),
            "strategy" => Op::Strategy(arg(1)?.parse()?),
            "solo-rs" => Op::Solo {
                id: arg(1)?.parse()?,
                replicas: arg(2)?.parse()?,
                adopt: arg(3)? == "adopt",
                pods_match: arg(4)? == "match",
                image: arg(5)?.parse()?,
            },
            "orphan-pod" => Op::Orphan {
                id: arg(1)?.parse()?,
                labels: labels_index(arg(2)?).with_context(|| format!("{s:?}: labels"))?,
            },
            "unready" => Op::Unready(arg(1)?.parse()?),
            "selector" => Op::Selector(labels_index(arg(1)?).with_context(|| format!("{s:?}"))?),
            other => bail!("unknown operation {other:?}"),
        })
    }
}

/// One sequence: the creation, then the operations.
#[derive(Clone, Debug, PartialEq)]
struct Sequence {
    start: Start,
    ops: Vec<Op>,
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start)?;
        for op in &self.ops {
            write!(f, " {op}")?;
        }
        Ok(())
    }
}

impl FromStr for Sequence {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        let mut words = s.split_whitespace();
        let first = words.next().context("an empty sequence")?;
        let p: Vec<&str> = first.split('/').collect();
        if p.len() != 5 || p[0] != "start" {
            bail!("a sequence begins with start/<replicas>/<image>/<strategy>/<history>");
        }
        Ok(Sequence {
            start: Start {
                replicas: p[1].parse()?,
                image: p[2].parse()?,
                strategy: p[3].parse()?,
                history: p[4].parse()?,
            },
            ops: words.map(str::parse).collect::<anyhow::Result<_>>()?,
        })
    }
}

fn random_strategy(rng: &mut Rng) -> Strategy {
    if rng.below(3) == 0 {
        Strategy::Recreate
    } else {
        let (s, u) = rng.pick(ROLLING);
        Strategy::Rolling(s, u)
    }
}

/// The sequence of `seed`: `n` operations after the creation.
fn generate(seed: u64, n: usize) -> Sequence {
    let mut rng = Rng(seed);
    let start = Start {
        replicas: 1 + rng.below(4) as i32,
        image: 1 + rng.below(3) as u8,
        strategy: random_strategy(&mut rng),
        history: rng.pick(&[1, 10]),
    };
    let ops = (0..n)
        .map(|_| match rng.below(14) {
            0 | 1 => Op::Scale(rng.below(6) as i32),
            2..=4 => Op::Image(1 + rng.below(3) as u8),
            5 => Op::Paused(rng.coin()),
            6 => Op::Undo(if rng.below(3) == 0 {
                1 + rng.below(3) as i64
            } else {
                0
            }),
            7 => Op::Strategy(random_strategy(&mut rng)),
            8 | 13 => Op::Solo {
                id: 1 + rng.below(2) as u8,
                replicas: rng.below(3) as i32,
                adopt: rng.coin(),
                pods_match: rng.coin(),
                image: 1 + rng.below(3) as u8,
            },
            9 => Op::Orphan {
                id: 1 + rng.below(2) as u8,
                labels: rng.below(LABEL_SETS.len()),
            },
            10 | 11 => Op::Unready(rng.below(4) as u8),
            _ => Op::Selector(rng.below(LABEL_SETS.len())),
        })
        .collect();
    Sequence { start, ops }
}

// ---------------------------------------------------------------------------------------------
// The two sides.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flavor {
    /// `apps/v1`, reconciled by kube-controller-manager.
    Upstream,
    /// `apps.bosun.dev/v1`, reconciled by bosun.
    Bosun,
}

impl Flavor {
    fn group(self) -> &'static str {
        match self {
            Flavor::Upstream => "apps",
            Flavor::Bosun => "apps.bosun.dev",
        }
    }
    /// Where the Deployment controller's annotations live.
    fn annotation_prefix(self) -> &'static str {
        match self {
            Flavor::Upstream => "deployment.kubernetes.io/",
            Flavor::Bosun => "bosun.dev/",
        }
    }
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

/// One namespace and the APIs of its flavour.
struct Side {
    flavor: Flavor,
    ns: TestNamespace,
    deployments: Api<DynamicObject>,
    replicasets: Api<DynamicObject>,
    pods: Api<Pod>,
    services: Api<Service>,
    /// The slices of the side's own EndpointSlice controller (built-in core slices for
    /// `apps/v1`, bosun's for bosun), then the other controller's slices of the same Service.
    slices: [(Api<DynamicObject>, &'static str); 2],
}

/// What an operation did, compared between the sides (the wording of errors is not).
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Done,
    /// Nothing to do (no Ready pod to make unready).
    Nothing,
    /// Refused: the HTTP status and reason, or kubectl's exit code.
    Refused(String),
}

impl Side {
    async fn new(client: &Client, flavor: Flavor) -> anyhow::Result<Self> {
        let prefix = match flavor {
            Flavor::Upstream => "diff-up",
            Flavor::Bosun => "diff-bo",
        };
        let ns = TestNamespace::new(client, prefix).await?;
        let n = ns.name.clone();
        let core = (
            Api::namespaced_with(
                client.clone(),
                &n,
                &resource("discovery.k8s.io", "EndpointSlice", "endpointslices"),
            ),
            BUILTIN_SLICES,
        );
        let ours = (
            Api::namespaced_with(
                client.clone(),
                &n,
                &resource("discovery.bosun.dev", "EndpointSlice", "endpointslices"),
            ),
            BOSUN_SLICES,
        );
        let side = Side {
            flavor,
            deployments: Api::namespaced_with(
                client.clone(),
                &n,
                &resource(flavor.group(), "Deployment", "deployments"),
            ),
            replicasets: Api::namespaced_with(
                client.clone(),
                &n,
                &resource(flavor.group(), "ReplicaSet", "replicasets"),
            ),
            pods: Api::namespaced(client.clone(), &n),
            services: Api::namespaced(client.clone(), &n),
            slices: match flavor {
                Flavor::Upstream => [core, ours],
                Flavor::Bosun => [ours, core],
            },
            ns,
        };
        // Pods are refused until the namespace's default ServiceAccount exists: wait for it,
        // or the first pods of one side would be late.
        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), &n);
        bosun_e2e::poll(
            &format!("the default ServiceAccount of {n}"),
            Duration::from_secs(60),
            || async { Ok(sas.get_opt("default").await?.map(|_| ())) },
        )
        .await?;
        Ok(side)
    }

    fn api_version(&self) -> String {
        format!("{}/v1", self.flavor.group())
    }

    async fn start(&self, st: &Start) -> anyhow::Result<(Outcome, String)> {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        }))?;
        self.services.create(&PostParams::default(), &svc).await?;
        let d = json!({
            "apiVersion": self.api_version(), "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": st.replicas,
                "revisionHistoryLimit": st.history,
                "strategy": strategy_json(st.strategy),
                "selector": {"matchLabels": {"app": "web"}},
                "template": template(&json!({"app": "web"}), st.image),
            }
        });
        outcome(
            self.deployments
                .create(&PostParams::default(), &serde_json::from_value(d)?)
                .await,
        )
    }

    async fn patch_deployment(&self, body: Value) -> anyhow::Result<(Outcome, String)> {
        outcome(
            self.deployments
                .patch("web", &PatchParams::default(), &Patch::Merge(&body))
                .await,
        )
    }

    async fn apply(&self, op: &Op) -> anyhow::Result<(Outcome, String)> {
        match op {
            Op::Scale(n) => {
                self.patch_deployment(json!({"spec": {"replicas": n}}))
                    .await
            }
            Op::Image(i) => {
                self.patch_deployment(json!({"spec": {"template": {"spec": {
                    "containers": [{"name": "app", "image": image(*i)}]}}}}))
                    .await
            }
            Op::Paused(p) => self.patch_deployment(json!({"spec": {"paused": p}})).await,
            Op::Strategy(s) => {
                let mut strategy = strategy_json(*s);
                if *s == Strategy::Recreate {
                    // A merge patch must drop the old rollingUpdate explicitly.
                    strategy["rollingUpdate"] = Value::Null;
                }
                self.patch_deployment(json!({"spec": {"strategy": strategy}}))
                    .await
            }
            Op::Undo(to) => {
                let mut args = vec![
                    "rollout".to_string(),
                    "undo".into(),
                    "deployment/web".into(),
                    "-n".into(),
                    self.ns.name.clone(),
                ];
                if *to > 0 {
                    args.push(format!("--to-revision={to}"));
                }
                let flavor = self.flavor;
                let out = tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    match flavor {
                        Flavor::Upstream => kubectl(&args),
                        Flavor::Bosun => kubectl_bosun(&args),
                    }
                })
                .await??;
                let detail = format!("{}{}", out.stdout, out.stderr).trim().to_string();
                Ok(if out.code == 0 {
                    (Outcome::Done, detail)
                } else {
                    (Outcome::Refused(format!("exit {}", out.code)), detail)
                })
            }
            Op::Solo {
                id,
                replicas,
                adopt,
                pods_match,
                image: img,
            } => {
                let own = json!({"solo": format!("s{id}")});
                let mut labels = own.clone();
                if *adopt {
                    labels["app"] = json!("web");
                }
                let mut pod_labels = own.clone();
                if *pods_match {
                    pod_labels["app"] = json!("web");
                }
                let rs = json!({
                    "apiVersion": self.api_version(), "kind": "ReplicaSet",
                    "metadata": {"name": format!("solo-{id}"), "labels": labels},
                    "spec": {
                        "replicas": replicas,
                        "selector": {"matchLabels": own},
                        "template": template(&pod_labels, *img),
                    }
                });
                outcome(
                    self.replicasets
                        .create(&PostParams::default(), &serde_json::from_value(rs)?)
                        .await,
                )
            }
            Op::Orphan { id, labels } => {
                let pod: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("stray-{id}"), "labels": labels_json(*labels)},
                    "spec": {"containers": [{"name": "app", "image": image(1)}]}
                }))?;
                outcome(self.pods.create(&PostParams::default(), &pod).await)
            }
            Op::Unready(pick) => {
                let raw = self.observe().await?;
                let Some(name) = raw.unready_target(self.flavor, *pick) else {
                    return Ok((Outcome::Nothing, "no Ready pod".into()));
                };
                let body =
                    json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
                let (o, d) = outcome(
                    self.pods
                        .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&body))
                        .await,
                )?;
                Ok((o, format!("{name}: {d}")))
            }
            Op::Selector(l) => {
                // A merge patch merges maps: clear every key a label set may have, then set.
                let mut selector = json!({"app": null, "solo": null});
                for (k, v) in LABEL_SETS[*l % LABEL_SETS.len()] {
                    selector[*k] = json!(v);
                }
                outcome(
                    self.services
                        .patch(
                            "web",
                            &PatchParams::default(),
                            &Patch::Merge(&json!({"spec": {"selector": selector}})),
                        )
                        .await,
                )
            }
        }
    }

    /// Everything the comparison reads, in one pass.
    async fn observe(&self) -> anyhow::Result<Raw> {
        let lp = ListParams::default();
        let deployment = match self.deployments.get_opt("web").await? {
            Some(d) => Some(serde_json::to_value(d)?),
            None => None,
        };
        let replicasets = self
            .replicasets
            .list(&lp)
            .await?
            .items
            .into_iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()?;
        let pods = self.pods.list(&lp).await?.items;
        let service = self.services.get_opt("web").await?;
        let mut slices: [Vec<Value>; 2] = Default::default();
        for (i, (api, managed_by)) in self.slices.iter().enumerate() {
            let sel = ListParams::default().labels(&format!(
                "kubernetes.io/service-name=web,endpointslice.kubernetes.io/managed-by={managed_by}"
            ));
            slices[i] = api
                .list(&sel)
                .await?
                .items
                .into_iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()?;
        }
        Ok(Raw {
            deployment,
            replicasets,
            pods,
            service,
            slices,
        })
    }
}

fn image(i: u8) -> String {
    format!("registry.example/app:{i}")
}

fn template(labels: &Value, img: u8) -> Value {
    json!({"metadata": {"labels": labels},
           "spec": {"containers": [{"name": "app", "image": image(img)}]}})
}

fn int_or_string(s: &str) -> Value {
    s.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| json!(s))
}

fn strategy_json(s: Strategy) -> Value {
    match s {
        Strategy::Recreate => json!({"type": "Recreate"}),
        Strategy::Rolling(surge, unavailable) => json!({"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": int_or_string(surge),
                              "maxUnavailable": int_or_string(unavailable)}}),
    }
}

/// An API call's outcome; errors other than the API server's refusals end the test.
fn outcome<T>(r: Result<T, kube::Error>) -> anyhow::Result<(Outcome, String)> {
    match r {
        Ok(_) => Ok((Outcome::Done, String::new())),
        Err(kube::Error::Api(e)) => Ok((
            Outcome::Refused(format!("{} {}", e.code, e.reason)),
            e.message,
        )),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Observation and the normalized view.

/// One side's objects as listed.
struct Raw {
    deployment: Option<Value>,
    replicasets: Vec<Value>,
    pods: Vec<Pod>,
    service: Option<Service>,
    /// Own controller's slices, the other controller's slices (of Service `web`).
    slices: [Vec<Value>; 2],
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn annotation(v: &Value, key: &str) -> Option<String> {
    v.get("metadata")?
        .get("annotations")?
        .get(key)?
        .as_str()
        .map(str::to_string)
}

/// The kind of an object's controller owner.
fn controller_kind(v: &Value) -> Option<String> {
    v.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .map(|r| text(r, "/kind"))
}

/// `type=status/reason` of each condition.
fn conditions(v: &Value) -> BTreeSet<String> {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{}={}/{}",
                text(c, "/type"),
                text(c, "/status"),
                text(c, "/reason")
            )
        })
        .collect()
}

/// The Deployment controller's annotations, without their prefix.
fn controller_annotations(v: &Value, flavor: Flavor) -> BTreeMap<String, String> {
    [
        "revision",
        "revision-history",
        "desired-replicas",
        "max-replicas",
    ]
    .iter()
    .filter_map(|k| {
        annotation(v, &format!("{}{k}", flavor.annotation_prefix())).map(|a| (k.to_string(), a))
    })
    .collect()
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn pod_ip(p: &Pod) -> Option<&str> {
    p.status.as_ref().and_then(|s| s.pod_ip.as_deref())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct DeploymentView {
    replicas: i64,
    updated: i64,
    ready: i64,
    available: i64,
    unavailable: i64,
    terminating: Option<i64>,
    collision_count: Option<i64>,
    conditions: BTreeSet<String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct ReplicaSetView {
    owner: Option<String>,
    image: String,
    spec_replicas: i64,
    replicas: i64,
    fully_labeled: i64,
    ready: i64,
    available: i64,
    terminating: Option<i64>,
    conditions: BTreeSet<String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct PodCounts {
    total: usize,
    ready: usize,
    terminating: usize,
}

/// The normalized state of one side; both sides must produce equal views.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct View {
    deployment: Option<DeploymentView>,
    /// By revision (`rev N`), or by name for the user's `solo-N`.
    replicasets: BTreeMap<String, ReplicaSetView>,
    /// By the key of the owning ReplicaSet, or `orphan <name>`.
    pods: BTreeMap<String, PodCounts>,
    /// `<pod group> ready=.. serving=.. terminating=..` → count, over the own controller's
    /// slices of Service `web`.
    endpoints: BTreeMap<String, usize>,
    slices: usize,
    ports: BTreeSet<String>,
}

impl Raw {
    /// ReplicaSet name → its key in the view.
    fn rs_keys(&self, flavor: Flavor) -> BTreeMap<String, String> {
        let mut keys = BTreeMap::new();
        let mut used = BTreeSet::new();
        for rs in &self.replicasets {
            let name = text(rs, "/metadata/name");
            let mut key = if name.starts_with("solo-") {
                name.clone()
            } else {
                match annotation(rs, &format!("{}revision", flavor.annotation_prefix())) {
                    Some(r) => format!("rev {r}"),
                    None => "rev ?".to_string(),
                }
            };
            // Two ReplicaSets of one revision would be a divergence of its own: keep both.
            while !used.insert(key.clone()) {
                key.push('+');
            }
            keys.insert(name, key);
        }
        keys
    }

    /// The group of a pod: its ReplicaSet's key, or `orphan <name>`.
    fn pod_group(&self, keys: &BTreeMap<String, String>, p: &Pod) -> String {
        let owner = p
            .owner_references()
            .iter()
            .find(|r| r.controller == Some(true))
            .map(|r| r.name.clone());
        match owner {
            Some(o) => keys.get(&o).cloned().unwrap_or_else(|| format!("gone {o}")),
            None => format!("orphan {}", p.name_any()),
        }
    }

    fn view(&self, flavor: Flavor) -> View {
        let keys = self.rs_keys(flavor);
        let deployment = self.deployment.as_ref().map(|d| DeploymentView {
            replicas: int(d, "/status/replicas"),
            updated: int(d, "/status/updatedReplicas"),
            ready: int(d, "/status/readyReplicas"),
            available: int(d, "/status/availableReplicas"),
            unavailable: int(d, "/status/unavailableReplicas"),
            terminating: d
                .pointer("/status/terminatingReplicas")
                .and_then(Value::as_i64),
            collision_count: d.pointer("/status/collisionCount").and_then(Value::as_i64),
            conditions: conditions(d),
            annotations: controller_annotations(d, flavor),
        });
        let replicasets = self
            .replicasets
            .iter()
            .map(|rs| {
                let name = text(rs, "/metadata/name");
                (
                    keys.get(&name).cloned().unwrap_or(name),
                    ReplicaSetView {
                        owner: controller_kind(rs),
                        image: text(rs, "/spec/template/spec/containers/0/image"),
                        spec_replicas: rs
                            .pointer("/spec/replicas")
                            .and_then(Value::as_i64)
                            .unwrap_or(1),
                        replicas: int(rs, "/status/replicas"),
                        fully_labeled: int(rs, "/status/fullyLabeledReplicas"),
                        ready: int(rs, "/status/readyReplicas"),
                        available: int(rs, "/status/availableReplicas"),
                        terminating: rs
                            .pointer("/status/terminatingReplicas")
                            .and_then(Value::as_i64),
                        conditions: conditions(rs),
                        annotations: controller_annotations(rs, flavor),
                    },
                )
            })
            .collect();
        let mut pods: BTreeMap<String, PodCounts> = BTreeMap::new();
        let mut group_of = BTreeMap::new();
        for p in &self.pods {
            let group = self.pod_group(&keys, p);
            group_of.insert(p.name_any(), group.clone());
            let c = pods.entry(group).or_default();
            c.total += 1;
            c.ready += usize::from(pod_ready(p));
            c.terminating += usize::from(p.metadata.deletion_timestamp.is_some());
        }
        let mut endpoints = BTreeMap::new();
        let mut ports = BTreeSet::new();
        for s in &self.slices[0] {
            for p in s
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                ports.insert(format!(
                    "{} {} {}",
                    text(p, "/name"),
                    int(p, "/port"),
                    text(p, "/protocol")
                ));
            }
            for e in s
                .get("endpoints")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let pod = text(e, "/targetRef/name");
                let group = group_of
                    .get(&pod)
                    .cloned()
                    .unwrap_or_else(|| "gone pod".into());
                let key = format!(
                    "{group} ready={} serving={} terminating={}",
                    e.pointer("/conditions/ready")
                        .map_or("-".into(), Value::to_string),
                    e.pointer("/conditions/serving")
                        .map_or("-".into(), Value::to_string),
                    e.pointer("/conditions/terminating")
                        .map_or("-".into(), Value::to_string),
                );
                *endpoints.entry(key).or_insert(0) += 1;
            }
        }
        let mut deployment = deployment;
        if let (Some(dv), Some(d)) = (deployment.as_mut(), &self.deployment) {
            racy_progress_reason(dv, d, &replicasets);
        }
        View {
            deployment,
            replicasets,
            pods,
            endpoints,
            slices: self.slices[0].len(),
            ports,
        }
    }

    /// Why this side is not settled yet, if it is not: every ReplicaSet has observed its
    /// generation and owns exactly `spec.replicas` live pods its status counts; the Deployment
    /// has observed its generation and its status adds up its ReplicaSets'; no pod is
    /// terminating or without an IP; both controllers' slices list exactly the pods the Service
    /// selects, with their readiness.
    fn unsettled(&self, flavor: Flavor) -> Option<String> {
        let mut live: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for p in &self.pods {
            if p.metadata.deletion_timestamp.is_some() {
                return Some(format!("pod {} terminating", p.name_any()));
            }
            if pod_ip(p).is_none() {
                return Some(format!("pod {} without an IP", p.name_any()));
            }
            if let Some(r) = p
                .owner_references()
                .iter()
                .find(|r| r.controller == Some(true))
            {
                let c = live.entry(r.name.clone()).or_default();
                c.0 += 1;
                c.1 += i64::from(pod_ready(p));
            }
        }
        let (mut sum_replicas, mut sum_ready, mut sum_available) = (0, 0, 0);
        for rs in &self.replicasets {
            let name = text(rs, "/metadata/name");
            if int(rs, "/status/observedGeneration") < int(rs, "/metadata/generation") {
                return Some(format!("ReplicaSet {name}: generation not observed"));
            }
            let spec = rs
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let (pods, ready) = live.get(&name).copied().unwrap_or_default();
            let status = (
                int(rs, "/status/replicas"),
                int(rs, "/status/readyReplicas"),
                int(rs, "/status/availableReplicas"),
            );
            if pods != spec || status != (pods, ready, ready) {
                return Some(format!(
                    "ReplicaSet {name}: spec {spec}, {pods} pods ({ready} ready), status \
                     (replicas, ready, available) {status:?}"
                ));
            }
            if controller_kind(rs).as_deref() == Some("Deployment") {
                sum_replicas += status.0;
                sum_ready += status.1;
                sum_available += status.2;
            }
        }
        if let Some(d) = &self.deployment {
            if int(d, "/status/observedGeneration") < int(d, "/metadata/generation") {
                return Some("Deployment: generation not observed".into());
            }
            let status = (
                int(d, "/status/replicas"),
                int(d, "/status/readyReplicas"),
                int(d, "/status/availableReplicas"),
            );
            if status != (sum_replicas, sum_ready, sum_available) {
                return Some(format!(
                    "Deployment status (replicas, ready, available) {status:?}, its \
                     ReplicaSets' {:?}",
                    (sum_replicas, sum_ready, sum_available)
                ));
            }
        }
        let selector = self
            .service
            .as_ref()
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.selector.clone())
            .unwrap_or_default();
        let wanted: BTreeSet<(String, bool)> = self
            .pods
            .iter()
            .filter(|p| {
                let labels = p.labels();
                !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .map(|p| (p.name_any(), pod_ready(p)))
            .collect();
        for (i, slices) in self.slices.iter().enumerate() {
            let listed: BTreeSet<(String, bool)> = slices
                .iter()
                .filter_map(|s| s.get("endpoints").and_then(Value::as_array))
                .flatten()
                .map(|e| {
                    (
                        text(e, "/targetRef/name"),
                        e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(true),
                    )
                })
                .collect();
            if listed != wanted || slices.is_empty() {
                let whose = if (i == 0) == (flavor == Flavor::Upstream) {
                    "built-in"
                } else {
                    "bosun's"
                };
                return Some(format!(
                    "{whose} slices list (pod, ready) {listed:?}, the Service selects {wanted:?}"
                ));
            }
        }
        None
    }

    /// Every resourceVersion: unchanged over a few polls means nothing is being written.
    fn fingerprint(&self) -> Vec<String> {
        let rv = |v: &Value| text(v, "/metadata/resourceVersion");
        let mut f: Vec<String> = self.deployment.iter().map(rv).collect();
        f.extend(self.replicasets.iter().map(rv));
        f.extend(self.pods.iter().filter_map(|p| p.resource_version()));
        f.extend(self.service.iter().filter_map(|s| s.resource_version()));
        f.extend(self.slices.iter().flatten().map(rv));
        f
    }

    /// The pod `Op::Unready(pick)` makes unready.
    fn unready_target(&self, flavor: Flavor, pick: u8) -> Option<String> {
        let keys = self.rs_keys(flavor);
        let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for p in &self.pods {
            if pod_ready(p) && p.metadata.deletion_timestamp.is_none() {
                groups
                    .entry(self.pod_group(&keys, p))
                    .or_default()
                    .insert(p.name_any());
            }
        }
        let n = groups.len();
        groups
            .into_values()
            .nth(usize::from(pick) % n.max(1))
            .and_then(|names| names.into_iter().next())
    }
}

/// Excluded case, found by seed 4014 (shrunk: `start/4/1/rolling-2-1/10 scale/4 image/1
/// unready/1 solo-rs/1/2/adopt/apart/3`; it did not reproduce in three replays): a Deployment
/// that adopted a standalone ReplicaSet while incomplete (a pod unready) ended with
/// `Progressing=True/ReplicaSetUpdated` upstream and `NewReplicaSetAvailable` in bosun. Which
/// one `syncRolloutStatus` keeps depends on whether a sync saw the adopted ReplicaSet's pods
/// before it scaled them away (`DeploymentProgressing` compares with the previous status), a
/// race on both sides; it may also be a face of the known issue-14 item "status.replicas summed
/// from ReplicaSet statuses of different ages". Only in that state, the two reasons count as one.
fn racy_progress_reason(
    dv: &mut DeploymentView,
    d: &Value,
    replicasets: &BTreeMap<String, ReplicaSetView>,
) {
    let want = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let complete = dv.updated == want && dv.replicas == want && dv.available == want;
    let adopted = replicasets
        .iter()
        .any(|(k, r)| k.starts_with("solo-") && r.owner.as_deref() == Some("Deployment"));
    if complete || !adopted {
        return;
    }
    for reason in ["ReplicaSetUpdated", "NewReplicaSetAvailable"] {
        if dv.conditions.remove(&format!("Progressing=True/{reason}")) {
            dv.conditions
                .insert("Progressing=True/ReplicaSetUpdated|NewReplicaSetAvailable".into());
        }
    }
}

/// Flatten a JSON value into `path → value` lines.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                flatten(&format!("{prefix}.{k}"), x, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                out.insert(format!("{prefix}[{x}]"), "present".into());
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The fields where the views differ, one line each.
fn diff(up: &View, bo: &View) -> String {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &serde_json::to_value(up).unwrap_or_default(), &mut a);
    flatten("", &serde_json::to_value(bo).unwrap_or_default(), &mut b);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let none = "(absent)".to_string();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            format!(
                "    {}: apps/v1 {} | bosun {}\n",
                k.trim_start_matches('.'),
                a.get(k).unwrap_or(&none),
                b.get(k).unwrap_or(&none)
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running a sequence.

/// A divergence: at which step (0: the creation, i: operation i) and what differed.
#[derive(Debug)]
struct Divergence {
    step: usize,
    report: String,
}

/// Wait until both sides are settled and quiet, then compare; `Err` describes a divergence.
async fn settle(up: &Side, bo: &Side) -> anyhow::Result<Result<Duration, String>> {
    let began = Instant::now();
    let mut quiet = [0usize; 2];
    let mut last: [Option<Vec<String>>; 2] = [None, None];
    let mut differing_since: Option<Instant> = None;
    loop {
        let raws = [up.observe().await?, bo.observe().await?];
        let mut views = Vec::new();
        let mut reasons = Vec::new();
        for (i, (raw, side)) in raws.iter().zip([up, bo]).enumerate() {
            let fp = raw.fingerprint();
            quiet[i] = if last[i].as_ref() == Some(&fp) {
                quiet[i] + 1
            } else {
                0
            };
            last[i] = Some(fp);
            views.push(raw.view(side.flavor));
            reasons.push(raw.unsettled(side.flavor));
        }
        let settled =
            reasons.iter().all(Option::is_none) && quiet.iter().all(|q| *q >= QUIET_POLLS);
        if settled {
            if views[0] == views[1] {
                return Ok(Ok(began.elapsed()));
            }
            let since = *differing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= DIFFER_GRACE {
                return Ok(Err(format!(
                    "both sides settled, and differ (for {DIFFER_GRACE:?}):\n{}",
                    diff(&views[0], &views[1])
                )));
            }
        } else {
            differing_since = None;
        }
        if began.elapsed() >= SETTLE {
            let why = |r: &Option<String>, q: usize| match r {
                Some(r) => r.clone(),
                None if q < QUIET_POLLS => "still writing".into(),
                None => "settled".into(),
            };
            return Ok(Err(format!(
                "not settled after {SETTLE:?}: apps/v1: {}; bosun: {}\n  last difference:\n{}",
                why(&reasons[0], quiet[0]),
                why(&reasons[1], quiet[1]),
                diff(&views[0], &views[1])
            )));
        }
        // The poll interval of this loop, not a wait standing in for a condition.
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Run `seq` on fresh twin namespaces; `Ok(None)` when the sides agree after every step.
async fn run(client: &Client, seq: &Sequence, verbose: bool) -> anyhow::Result<Option<Divergence>> {
    let (up, bo) = tokio::try_join!(
        Side::new(client, Flavor::Upstream),
        Side::new(client, Flavor::Bosun)
    )?;
    if verbose {
        eprintln!(
            "  namespaces {} (apps/v1), {} (bosun)",
            up.ns.name, bo.ns.name
        );
    }
    let steps = std::iter::once(None).chain(seq.ops.iter().map(Some));
    for (step, op) in steps.enumerate() {
        let (a, b) = match op {
            None => (up.start(&seq.start).await?, bo.start(&seq.start).await?),
            Some(op) => (up.apply(op).await?, bo.apply(op).await?),
        };
        let name = op.map_or(seq.start.to_string(), Op::to_string);
        if a.0 != b.0 {
            return Ok(Some(Divergence {
                step,
                report: format!(
                    "step {step} ({name}) had different outcomes: apps/v1 {:?} ({}) | bosun \
                     {:?} ({})",
                    a.0, a.1, b.0, b.1
                ),
            }));
        }
        match settle(&up, &bo).await? {
            Ok(took) => {
                if verbose {
                    eprintln!(
                        "  [{step}] {name}: {:?}{}, equal after {:.1}s",
                        a.0,
                        if a.1.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", a.1.lines().next().unwrap_or_default())
                        },
                        took.as_secs_f64()
                    );
                }
            }
            Err(report) => {
                return Ok(Some(Divergence {
                    step,
                    report: format!("after step {step} ({name}): {report}"),
                }));
            }
        }
    }
    Ok(None)
}

/// Shrink a diverging sequence: drop chunks of operations (halves, then quarters, … then single
/// ones, ddmin-style), keeping any shorter sequence that still diverges, within `budget` runs.
async fn shrink(
    client: &Client,
    mut seq: Sequence,
    mut div: Divergence,
    budget: usize,
) -> anyhow::Result<(Sequence, Divergence, usize)> {
    seq.ops.truncate(div.step);
    let mut runs = 0;
    // Sequences already run (and found equal): never run one twice.
    let mut tried = BTreeSet::new();
    let mut chunk = seq.ops.len().div_ceil(2).max(1);
    while !seq.ops.is_empty() && runs < budget {
        let mut at = 0;
        let mut removed_any = false;
        while at < seq.ops.len() && runs < budget {
            let mut candidate = seq.clone();
            let end = (at + chunk).min(candidate.ops.len());
            candidate.ops.drain(at..end);
            if !tried.insert(candidate.to_string()) {
                at += chunk;
                continue;
            }
            runs += 1;
            eprintln!("  shrink run {runs}/{budget}: {candidate}");
            match run(client, &candidate, false).await? {
                Some(d) => {
                    eprintln!("    still diverges at step {}", d.step);
                    candidate.ops.truncate(d.step);
                    seq = candidate;
                    div = d;
                    removed_any = true;
                }
                None => at += chunk,
            }
        }
        if chunk == 1 && !removed_any {
            break;
        }
        chunk = (chunk / 2).max(1);
    }
    Ok((seq, div, runs))
}

fn env_usize(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

#[tokio::test]
async fn random_operation_sequences_match_the_builtin_controllers() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("differential")?;
    let shrink_budget = env_usize("BOSUN_DIFF_SHRINK", 12)?;
    let plan: Vec<(Option<u64>, Sequence)> = match std::env::var("BOSUN_DIFF_REPLAY") {
        Ok(s) => vec![(None, s.parse()?)],
        Err(_) => {
            let n = env_usize("BOSUN_DIFF_SEQUENCES", 4)?;
            let ops = env_usize("BOSUN_DIFF_OPS", 8)?;
            let first = match std::env::var("BOSUN_DIFF_SEED") {
                Ok(s) => s
                    .parse()
                    .with_context(|| format!("BOSUN_DIFF_SEED={s:?}"))?,
                Err(_) => {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)?
                        .as_micros() as u64
                        % 1_000_000_000
                }
            };
            (0..n as u64)
                .map(|i| (Some(first + i), generate(first + i, ops)))
                .collect()
        }
    };
    let began = Instant::now();
    for (seed, seq) in plan.iter() {
        let name = seed.map_or("replay".to_string(), |s| format!("seed={s}"));
        eprintln!("{name}: {seq}");
        let t = Instant::now();
        let Some(div) = run(&client, seq, true).await? else {
            eprintln!(
                "{name}: equal after every step ({:.0}s)",
                t.elapsed().as_secs_f64()
            );
            continue;
        };
        eprintln!("{name}: DIVERGED {}\nshrinking…", div.report);
        let original = seq.ops.len();
        let (small, div, runs) = shrink(&client, seq.clone(), div, shrink_budget).await?;
        bail!(
            "{name}: bosun diverged from the built-in controllers.\n  sequence: {seq}\n  \
             shrunk from {original} to {} operations in {runs} runs; replay with\n  \
             BOSUN_DIFF_REPLAY='{small}' cargo test -p bosun-e2e --test differential -- \
             --nocapture\n  {}",
            small.ops.len(),
            div.report
        );
    }
    eprintln!(
        "{} sequences equal after every step in {:.0}s",
        plan.len(),
        began.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The printed form of a sequence replays it (needs no cluster).
#[test]
fn sequences_print_and_parse_back() -> anyhow::Result<()> {
    for seed in 0..200 {
        let seq = generate(seed, 12);
        let back: Sequence = seq.to_string().parse()?;
        assert_eq!(back, seq, "{seq}");
    }
    assert_eq!(generate(7, 6), generate(7, 6));
    assert_ne!(generate(7, 6), generate(8, 6));
    Ok(())
}
