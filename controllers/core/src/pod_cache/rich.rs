//! Rich random Pods against the slim cache: the tests that hold [`KEPT`], [`slim`] and this
//! crate's readers of Pods together.
//!
//! The Pods are generated from the Pod's own JSON schema (k8s-openapi's), so every field the
//! API knows (volumes, probes, affinity, every status) is filled in, each optional one with
//! probability [`FIELD_CHANCE`] (`the_generated_pods_fill_every_field_of_the_schema` checks
//! that each is, in some Pod), from vocabularies ([`strings`], [`integers`], [`map_keys`])
//! holding the literals the readers compare with ("Ready", "True", "Running", "Always",
//! container port names, IPs), and then shaped ([`shape`]) so the plans look at them (the
//! namespace, the ReplicaSets' labels and controller references).
//!
//! How a new field read is caught:
//!
//! 1. A reader (a predicate, a plan, a handler) that starts reading a Pod field [`slim`] drops
//!    sees the field set on the full Pod and unset on its slim copy, so for some Pod here its
//!    answer differs, and `every_reader_answers_the_same_for_a_slim_pod` fails naming it.
//! 2. Keeping the field in [`slim`] then fails `slim_keeps_exactly_what_kept_declares` until
//!    [`KEPT`] declares it; a declared path that [`slim`] no longer keeps fails it too.
//! 3. A new reader (a `pub fn` of this crate with a parameter holding a Pod) fails
//!    `every_reader_of_pods_is_compared` until [`answers`] asks it and [`COMPARED`] names it.
//!
//! A reader comparing a field with a literal that no vocabulary holds is caught only when the
//! field's absence changes its answer: add the literal to [`strings`]. Readers on the act side
//! (`controllers/bosun`) are not compared here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use bosun_api::apps::{Deployment, ReplicaSet, ScaleStrategy};
use bosun_api::discovery::AddressType;
use k8s_openapi::api::core::v1::{Pod, Service};
use serde_json::{Value, json};

use super::{KEPT, slim};
use crate::deployment::fixtures::{deployment, rs_of};
use crate::endpointslice::{self, Config, Input};
use crate::pod::DELETION_COST_ANNOTATION;
use crate::replicaset::rank::Ranked;
use crate::selector::Selector;
use crate::wake::fake::FakeCaches;
use crate::{SignedDuration, Timestamp};

/// How many scenarios each test runs (seeds `0..SEEDS`), and Pods per scenario.
const SEEDS: u64 = 32;
const PODS: usize = 8;
/// The probability of an optional field being present.
const FIELD_CHANCE: f64 = 0.85;

/// The lists that get up to three elements (order and maxima matter to their readers).
const LONG_LISTS: &[&str] = &[
    "containers",
    "initContainers",
    "ports",
    "conditions",
    "containerStatuses",
    "initContainerStatuses",
    "podIPs",
    "ownerReferences",
];

/// splitmix64: small, deterministic, good enough to pick from vocabularies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// The values a string field takes, by its property name (a list's or a map's own name for
/// its elements); any other string field takes any of them, or a word of its own.
fn strings(name: &str) -> &'static [&'static str] {
    match name {
        "phase" => &["Pending", "Running", "Succeeded", "Failed", "Unknown"],
        "type" => &[
            "Ready",
            "PodScheduled",
            "ContainersReady",
            "Initialized",
            "DisruptionTarget",
        ],
        "status" => &["True", "False", "Unknown"],
        "restartPolicy" => &["Always", "OnFailure", "Never"],
        "protocol" => &["TCP", "UDP", "SCTP"],
        // Containers, their ports (a Service's named target ports), sidecars, owners.
        "name" => &["app", "side", "init", "http", "dns", "metrics", "web-new"],
        "ip" | "podIP" | "hostIP" => &["10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2", "bad", ""],
        "nodeName" => &["n1", "n2", "n3", ""],
        "hostname" => &["web-0", "h", ""],
        "subdomain" => &["web", "other", ""],
        "namespace" => &["ns", "other"],
        "uid" => &["rs-new", "rs-old", "u1"],
        "apiVersion" => &["apps.bosun.dev/v1", "apps/v1", "v1"],
        "kind" => &["ReplicaSet", "Deployment", "Node"],
        "labels" => &["web", "new", "old", "db"],
        "annotations" => &["-5", "0", "7", "008", "x", "2147483648", ""],
        "resourceVersion" => &["1", "2", "3"],
        _ => &[],
    }
}

/// Every string of [`strings`].
const ANY_STRING_OF: &[&str] = &[
    "phase",
    "type",
    "status",
    "restartPolicy",
    "protocol",
    "name",
    "ip",
    "nodeName",
    "hostname",
    "subdomain",
    "namespace",
    "uid",
    "apiVersion",
    "kind",
    "labels",
    "annotations",
];

fn string(rng: &mut Rng, name: &str) -> String {
    let own = strings(name);
    if !own.is_empty() && rng.chance(0.9) {
        return rng.pick(own).to_string();
    }
    if rng.chance(0.5) {
        let of = rng.pick(ANY_STRING_OF);
        return rng.pick(strings(of)).to_string();
    }
    format!("w{}", rng.below(1000))
}

/// The values an integer field takes, by its property name; others take small numbers.
fn integers(name: &str) -> &'static [i64] {
    match name {
        "containerPort" | "port" | "hostPort" => &[53, 80, 7000, 8080, 9090],
        "restartCount" => &[0, 1, 2, 3, 4, 7],
        _ => &[],
    }
}

/// The keys a map takes, by its property name.
fn map_keys(name: &str) -> &'static [&'static str] {
    match name {
        "labels" => &["app", "pod-template-hash", "tier"],
        "annotations" => &[
            DELETION_COST_ANNOTATION,
            "kubectl.kubernetes.io/last-applied-configuration",
            "endpoints.kubernetes.io/last-change-trigger-time",
            "example.com/other",
        ],
        _ => &["k1", "cpu", "memory", "kubernetes.io/os"],
    }
}

/// The time the scenarios run at; generated times fall within two hours of it.
fn now() -> Timestamp {
    crate::pod::fixtures::t(10_000)
}

/// A Pod's JSON schema, its definitions resolved by [`Schema::get`].
struct Schema {
    root: Value,
}

impl Schema {
    fn pod() -> Self {
        let root = k8s_openapi::schemars::SchemaGenerator::default()
            .into_root_schema_for::<Pod>()
            .to_value();
        Self { root }
    }

    /// `s`, or what its `$ref` names.
    fn get<'a>(&'a self, s: &'a Value) -> &'a Value {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                let defs = self
                    .root
                    .get("$defs")
                    .or_else(|| self.root.get("definitions"));
                self.get(&defs.expect("the schema has definitions")[name])
            }
            None => s,
        }
    }

    /// A random value of schema `s`, for a property called `name`.
    fn generate(&self, rng: &mut Rng, s: &Value, name: &str, depth: usize) -> Value {
        let s = self.get(s);
        assert!(depth < 40, "the Pod schema is not recursive");
        if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            return match rng.below(3) {
                0 => json!(rng.pick(&[53, 80, 7000, 8080])),
                1 => json!(rng.pick(&["http", "dns", "metrics", "x"])),
                _ => json!(rng.pick(&["100m", "1", "64Mi"])),
            };
        }
        match s.get("type").and_then(Value::as_str) {
            Some("object") => {
                if let Some(props) = s.get("properties").and_then(Value::as_object) {
                    let required: BTreeSet<&str> = s
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let mut out = serde_json::Map::new();
                    for (p, sub) in props {
                        if required.contains(p.as_str()) || rng.chance(FIELD_CHANCE) {
                            out.insert(p.clone(), self.generate(rng, sub, p, depth + 1));
                        }
                    }
                    Value::Object(out)
                } else if let Some(values) = s.get("additionalProperties") {
                    let mut out = serde_json::Map::new();
                    for _ in 0..rng.below(4) {
                        let key = rng.pick(map_keys(name)).to_string();
                        out.insert(key, self.generate(rng, values, name, depth + 1));
                    }
                    Value::Object(out)
                } else {
                    json!({})
                }
            }
            Some("array") => {
                // Up to three elements of the lists the readers search, one of the others (a
                // Pod of long lists everywhere costs time and finds nothing more).
                let most = if LONG_LISTS.contains(&name) { 3 } else { 1 };
                let n = if rng.chance(0.9) {
                    1 + rng.below(most)
                } else {
                    0
                };
                let items = &s["items"];
                Value::Array(
                    (0..n)
                        .map(|_| self.generate(rng, items, name, depth + 1))
                        .collect(),
                )
            }
            Some("string") => match s.get("format").and_then(Value::as_str) {
                Some("date-time") => {
                    let offset = rng.below(2 * 7200) as i64 - 7200;
                    let at = now()
                        .checked_add(SignedDuration::from_secs(offset))
                        .expect("in range");
                    json!(at.to_string())
                }
                Some("byte") => json!("Ynl0ZXM="),
                _ => json!(string(rng, name)),
            },
            Some("integer") => {
                let own = integers(name);
                if !own.is_empty() && rng.chance(0.9) {
                    json!(*rng.pick(own))
                } else {
                    json!(rng.below(100))
                }
            }
            Some("number") => json!(rng.below(100) as f64 / 4.0),
            Some("boolean") => json!(rng.chance(0.5)),
            other => panic!("a schema of type {other:?} under {name}: {s}"),
        }
    }

    /// The paths (as [`KEPT`] writes them) of `v`'s leaves holding more than a default value
    /// (an empty string, 0, false, null, an empty list or map), `v` being of schema `s`.
    fn leaves(&self, s: &Value, v: &Value, path: &str, out: &mut BTreeSet<String>) {
        let s = self.get(s);
        let join = |sep: &str, p: &str| {
            if path.is_empty() {
                p.to_string()
            } else {
                format!("{path}{sep}{p}")
            }
        };
        match v {
            Value::Object(fields) => {
                let props = s.get("properties").and_then(Value::as_object);
                for (k, sub) in fields {
                    match props {
                        Some(props) => {
                            let Some(ps) = props.get(k) else {
                                panic!("{path}.{k} is not in the schema")
                            };
                            self.leaves(ps, sub, &join(".", k), out);
                        }
                        None => {
                            let values = s.get("additionalProperties").unwrap_or(&Value::Null);
                            self.leaves(values, sub, &format!("{path}{{{k}}}"), out);
                        }
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.leaves(&s["items"], item, &format!("{path}[]"), out);
                }
            }
            Value::Null | Value::Bool(false) => {}
            Value::String(x) if x.is_empty() => {}
            Value::Number(n) if n.as_f64() == Some(0.0) => {}
            _ => {
                out.insert(path.to_string());
            }
        }
    }
}

/// The objects a scenario's Pods belong to.
struct World {
    deployment: Deployment,
    new: ReplicaSet,
    old: ReplicaSet,
    services: Vec<Service>,
}

fn world(rng: &mut Rng) -> World {
    let replicas = rng.below(6) as i32;
    let mut d = deployment("web", replicas);
    if rng.chance(0.5) {
        d = d.recreate();
    }
    let mut deployment = d.build();
    let min_ready = *rng.pick(&[0, 5, 600]);
    deployment.spec.min_ready_seconds = Some(min_ready);
    let pods_to_delete = |rng: &mut Rng| {
        rng.chance(0.3).then(|| ScaleStrategy {
            pods_to_delete: Some(vec!["p1".into(), "p4".into(), "gone".into()]),
        })
    };
    deployment.spec.scale_strategy = pods_to_delete(rng);
    let mut new = rs_of(&deployment, "new", rng.below(6) as i32, 2);
    new.spec.min_ready_seconds = Some(min_ready);
    new.spec.scale_strategy = pods_to_delete(rng);
    let mut old = rs_of(
        &crate::deployment::fixtures::deployment("web", replicas)
            .image("img:0")
            .build(),
        "old",
        rng.below(3) as i32,
        1,
    );
    old.metadata.owner_references = new.metadata.owner_references.clone();
    let ports = json!([
        {"name": "a", "port": 80, "targetPort": "http"},
        {"name": "b", "port": 53, "targetPort": "dns", "protocol": "UDP"},
        {"name": "c", "port": 90, "targetPort": "metrics"},
        {"name": "d", "port": 91, "targetPort": 7000},
        {"name": "e", "port": 92},
    ]);
    let service = |spec: Value| -> Service {
        serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "ns", "uid": "svc-uid",
                         "creationTimestamp": crate::pod::fixtures::t(0).to_string()},
            "spec": spec,
        }))
        .expect("a valid Service")
    };
    let services = vec![
        service(json!({"selector": {"app": "web"}, "ports": ports,
                       "clusterIP": "10.96.0.10", "ipFamilies": ["IPv4"]})),
        service(
            json!({"selector": {"app": "web"}, "ports": ports, "clusterIP": "None",
                       "ipFamilies": ["IPv4", "IPv6"], "publishNotReadyAddresses": true}),
        ),
    ];
    World {
        deployment,
        new,
        old,
        services,
    }
}

/// Make a generated Pod one the plans look at: its name, namespace and UID, and mostly the
/// labels and controller of one of the world's ReplicaSets; mostly not being deleted, mostly
/// Running, and mostly with a Ready condition, mostly True.
fn shape(rng: &mut Rng, w: &World, i: usize, v: &mut Value) {
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Pod");
    let meta = &mut v["metadata"];
    meta["name"] = json!(format!("p{i}"));
    meta["uid"] = json!(format!("pu{i}"));
    if rng.chance(0.95) {
        meta["namespace"] = json!("ns");
    }
    let rs = if rng.chance(0.6) { &w.new } else { &w.old };
    if rng.chance(0.8) {
        let labels = rs
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone());
        meta["labels"] = json!(labels);
    }
    match rng.below(5) {
        0..=2 => {
            meta["ownerReferences"] = json!([{
                "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
                "name": rs.metadata.name, "uid": rs.metadata.uid, "controller": true,
            }])
        }
        3 => meta["ownerReferences"] = Value::Null,
        _ => {}
    }
    if rng.chance(0.75) {
        meta["deletionTimestamp"] = Value::Null;
    }
    if let Some(status) = v.get_mut("status").and_then(Value::as_object_mut) {
        if rng.chance(0.6) {
            status.insert("phase".into(), json!("Running"));
        }
        if let Some(first) = status
            .get_mut("conditions")
            .and_then(Value::as_array_mut)
            .and_then(|cs| cs.first_mut())
            && rng.chance(0.7)
        {
            first["type"] = json!("Ready");
            first["status"] = json!(if rng.chance(0.6) { "True" } else { "False" });
        }
    }
}

/// The Pod schema, read once.
fn pod_schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(Schema::pod)
}

/// The scenarios of seeds `0..SEEDS`, generated once for all the tests (about 10 ms a Pod in
/// a debug build).
fn scenarios() -> &'static [(World, Vec<Pod>)] {
    static SCENARIOS: std::sync::OnceLock<Vec<(World, Vec<Pod>)>> = std::sync::OnceLock::new();
    SCENARIOS.get_or_init(|| {
        (0..SEEDS)
            .map(|seed| scenario(pod_schema(), seed))
            .collect()
    })
}

/// The full Pods of scenario `seed`, and the world they live in.
fn scenario(schema: &Schema, seed: u64) -> (World, Vec<Pod>) {
    let mut rng = Rng(seed);
    let w = world(&mut rng);
    let pods = (0..PODS)
        .map(|i| {
            let mut v = schema.generate(&mut rng, &schema.root, "pod", 0);
            shape(&mut rng, &w, i, &mut v);
            serde_json::from_value(v)
                .unwrap_or_else(|e| panic!("seed {seed}: a generated Pod does not parse: {e}"))
        })
        .collect();
    (w, pods)
}

/// Every reader of Pods that [`answers`] asks (`file: function`); covered through its caller
/// when it says so. `every_reader_of_pods_is_compared` keeps this list complete.
const COMPARED: &[&str] = &[
    "pod.rs: is_active",
    "pod.rs: is_finished",
    "pod.rs: is_terminating",
    "pod.rs: phase",
    "pod.rs: ready_condition",
    "pod.rs: is_ready",
    "pod.rs: ready_since",
    "pod.rs: is_available",
    "pod.rs: until_available",
    "pod.rs: max_restarts",
    "pod.rs: sidecar_names",
    "pod.rs: deletion_cost",
    "endpointslice/utils.rs: should_pod_be_in_endpoints",
    "endpointslice/utils.rs: should_set_hostname",
    "endpointslice/utils.rs: endpoint_addresses",
    "endpointslice/utils.rs: pod_to_endpoint",
    "endpointslice/utils.rs: find_port",
    "endpointslice/utils.rs: endpoint_ports",
    "endpointslice/pods.rs: pod_endpoints_changed",
    "endpointslice/pods.rs: services_to_update",
    "endpointslice/trigger_time.rs: compute",
    "endpointslice/mod.rs: plan",
    // Through endpointslice::plan, which calls it when the Service selects Pods.
    "endpointslice/reconciler.rs: reconcile",
    "replicaset/mod.rs: plan",
    "replicaset/mod.rs: next_availability_check",
    "replicaset/rank.rs: less",
    "replicaset/rank.rs: pods_to_delete",
    "replicaset/status.rs: calculate",
    "replicaset/events.rs: pod_added",
    "replicaset/events.rs: pod_updated",
    "replicaset/events.rs: pod_deleted",
    "deployment/mod.rs: plan",
    "deployment/events.rs: pod_updated",
    "deployment/events.rs: pod_deleted",
    // The slimming itself, what the others are compared across.
    "pod_cache.rs: slim",
];

/// What every reader of Pods in this crate answers about `pods` in world `w`, one line per
/// question, in a fixed order. Answers that hold Pods name them (the slim and the full Pod
/// differ, by design).
fn answers(w: &World, pods: &[Pod]) -> Vec<(String, String)> {
    use crate::endpointslice::pods::{pod_endpoints_changed, services_to_update};
    use crate::endpointslice::utils::*;
    use crate::pod::*;
    let now = now();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut ask = |q: String, a: String| out.push((q, a));
    let name = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
    let names = |ps: &[&Pod]| ps.iter().map(|p| name(p)).collect::<Vec<_>>();
    let families = [AddressType::IPv4, AddressType::IPv6];
    let ms = [0, 1, 5, 600, 100_000];

    for p in pods {
        let n = name(p);
        ask(format!("is_active {n}"), format!("{:?}", is_active(p)));
        ask(format!("is_finished {n}"), format!("{:?}", is_finished(p)));
        ask(
            format!("is_terminating {n}"),
            format!("{:?}", is_terminating(p)),
        );
        ask(format!("phase {n}"), phase(p).to_string());
        // The fields the cache keeps of it: a caller that reads more is compared itself.
        let ready = ready_condition(p).map(|c| (&c.type_, &c.status, &c.last_transition_time));
        ask(format!("ready_condition {n}"), format!("{ready:?}"));
        ask(format!("is_ready {n}"), format!("{:?}", is_ready(p)));
        ask(format!("ready_since {n}"), format!("{:?}", ready_since(p)));
        for m in ms {
            ask(
                format!("is_available {n} {m}"),
                format!("{:?}", is_available(p, m, now)),
            );
            ask(
                format!("until_available {n} {m}"),
                format!("{:?}", until_available(p, m, now)),
            );
        }
        ask(
            format!("controller_of {n}"),
            format!("{:?}", controller_of(&p.metadata)),
        );
        ask(
            format!("max_restarts {n}"),
            format!("{:?}", max_restarts(p)),
        );
        ask(
            format!("sidecar_names {n}"),
            format!("{:?}", sidecar_names(p)),
        );
        ask(
            format!("deletion_cost {n}"),
            format!("{:?}", deletion_cost(p)),
        );
        ask(
            format!("should_pod_be_in_endpoints {n}"),
            format!("{:?}", should_pod_be_in_endpoints(p)),
        );
        for (i, svc) in w.services.iter().enumerate() {
            ask(
                format!("should_set_hostname {n} svc{i}"),
                format!("{:?}", should_set_hostname(p, svc)),
            );
            ask(
                format!("endpoint_ports {n} svc{i}"),
                format!("{:?}", endpoint_ports(svc, p)),
            );
            for port in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
                ask(
                    format!("find_port {n} svc{i} {:?}", port.name),
                    format!("{:?}", find_port(p, port)),
                );
            }
            for family in families {
                for zone in [None, Some("z1")] {
                    ask(
                        format!("pod_to_endpoint {n} svc{i} {family:?} {zone:?}"),
                        format!("{:?}", pod_to_endpoint(p, zone, svc, family)),
                    );
                }
            }
        }
        for family in families {
            ask(
                format!("endpoint_addresses {n} {family:?}"),
                format!("{:?}", endpoint_addresses(p, family)),
            );
        }
    }

    // Handlers, with the world in the caches; updates from each Pod to the next.
    let caches = FakeCaches {
        replicasets: vec![Arc::new(w.new.clone()), Arc::new(w.old.clone())],
        deployments: vec![Arc::new(w.deployment.clone())],
    };
    for (i, p) in pods.iter().enumerate() {
        let q = &pods[(i + 1) % pods.len()];
        let (n, m) = (name(p), name(q));
        use crate::deployment::events as d;
        use crate::replicaset::events as r;
        ask(
            format!("rs pod_added {n}"),
            format!("{:?}", r::pod_added(&caches, p)),
        );
        ask(
            format!("rs pod_deleted {n}"),
            format!("{:?}", r::pod_deleted(&caches, p)),
        );
        ask(
            format!("rs pod_updated {n} {m}"),
            format!("{:?}", r::pod_updated(&caches, p, q)),
        );
        ask(
            format!("d pod_deleted {n}"),
            format!("{:?}", d::pod_deleted(&caches, &caches, p)),
        );
        ask(
            format!("d pod_updated {n} {m}"),
            format!("{:?}", d::pod_updated(&caches, &caches, p, q)),
        );
        ask(
            format!("pod_endpoints_changed {n} {m}"),
            format!("{:?}", pod_endpoints_changed(p, q)),
        );
        let set = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        ask(
            format!("services_to_update {n} {m}"),
            format!(
                "{:?}",
                services_to_update(p, q, set(&["s1", "s2"]), set(&["s2", "s3"]))
            ),
        );
    }

    // The ReplicaSet controller's sync of each ReplicaSet, as its act side gathers the Pods.
    let controlled_by =
        |p: &Pod, uid: &str| controller_of(&p.metadata).is_some_and(|r| r.uid == uid);
    let in_ns = |p: &Pod| p.metadata.namespace.as_deref() == Some("ns");
    for rs in [&w.new, &w.old] {
        let uid = rs.metadata.uid.as_deref().unwrap_or_default();
        let selector = Selector::new(&rs.spec.selector).expect("a valid selector");
        let candidates: Vec<&Pod> = pods
            .iter()
            .filter(|p| in_ns(p) && (controlled_by(p, uid) || controller_of(&p.metadata).is_none()))
            .collect();
        let related: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                in_ns(p)
                    && is_active(p)
                    && (controlled_by(p, "rs-new") || controlled_by(p, "rs-old"))
            })
            .collect();
        for satisfied in [true, false] {
            let plan = crate::replicaset::plan(
                crate::replicaset::Observed {
                    rs,
                    selector: &selector,
                    candidates: candidates.clone(),
                    related: related.clone(),
                    expectations_satisfied: satisfied,
                },
                now,
            );
            let manage = match &plan.manage {
                crate::replicaset::Manage::Delete(ps) => format!("Delete {:?}", names(ps)),
                other => format!("{other:?}"),
            };
            ask(
                format!("rs plan {uid} {satisfied}"),
                format!(
                    "adopt {:?} release {:?} claimed {:?} terminating {} manage {manage} \
                     diff {} podsToDelete {:?}",
                    names(&plan.adopt),
                    names(&plan.release),
                    names(&plan.claimed),
                    plan.terminating,
                    plan.diff,
                    plan.pods_to_delete
                ),
            );
            let status = crate::replicaset::status::calculate(
                rs,
                &plan.claimed,
                plan.terminating,
                "app=web",
                &crate::replicaset::status::ManageOutcome::Ok,
                now,
            );
            ask(
                format!("rs status {uid} {satisfied}"),
                format!("{status:?}"),
            );
            ask(
                format!("next_availability_check {uid} {satisfied}"),
                format!(
                    "{:?}",
                    crate::replicaset::next_availability_check(
                        rs,
                        &plan.claimed,
                        status.ready_replicas,
                        status.available_replicas,
                        now
                    )
                ),
            );
        }
        // The deletion ranking, with ranks as a controller's siblings give them.
        let ranked: Vec<Ranked> = candidates
            .iter()
            .enumerate()
            .map(|(i, p)| Ranked {
                pod: p,
                rank: i % 3,
            })
            .collect();
        for pair in ranked.windows(2) {
            ask(
                format!("less {} {}", name(pair[0].pod), name(pair[1].pod)),
                format!(
                    "{:?}",
                    crate::replicaset::rank::less(&pair[0], &pair[1], now)
                ),
            );
        }
        for count in 0..=ranked.len() {
            let chosen = crate::replicaset::rank::pods_to_delete(ranked.clone(), count, now);
            ask(
                format!("pods_to_delete {uid} {count}"),
                format!("{:?}", names(&chosen)),
            );
        }
    }

    // The Deployment controller's sync.
    let selector = Selector::new(&w.deployment.spec.selector).expect("a valid selector");
    let mut pods_by_rs: HashMap<String, Vec<&Pod>> = HashMap::new();
    for p in pods.iter().filter(|p| in_ns(p)) {
        if let Some(owner) = controller_of(&p.metadata) {
            pods_by_rs.entry(owner.uid.clone()).or_default().push(p);
        }
    }
    let plan = crate::deployment::plan(
        crate::deployment::Observed {
            deployment: &w.deployment,
            selector: &selector,
            candidates: vec![&w.new, &w.old],
            pods_by_rs,
        },
        now,
    );
    ask("deployment plan".into(), format!("{plan:?}"));

    // The EndpointSlice controller's sync of each Service, and its trigger times.
    let zone = |node: &str| match node {
        "n1" => Some(Some("z1".to_string())),
        "n2" => Some(None),
        _ => None,
    };
    for (i, svc) in w.services.iter().enumerate() {
        let selected: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                in_ns(p)
                    && crate::wake::selects(
                        &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                            match_labels: svc.spec.as_ref().and_then(|s| s.selector.clone()),
                            match_expressions: None,
                        },
                        p.metadata.labels.as_ref(),
                    )
            })
            .collect();
        let input = Input {
            service: svc,
            pods: selected.clone(),
            node_zone: &zone,
            existing: Vec::new(),
        };
        let config = Config {
            max_endpoints_per_slice: 3,
            ..Config::default()
        };
        ask(
            format!("endpointslice plan svc{i}"),
            format!("{:?}", endpointslice::plan(&input, &config, true)),
        );
        let mut tracker = endpointslice::trigger_time::TriggerTimeTracker::default();
        let half = &selected[..selected.len() / 2];
        ask(
            format!("trigger_time svc{i} first"),
            format!("{:?}", tracker.compute(svc, half)),
        );
        ask(
            format!("trigger_time svc{i} then"),
            format!("{:?}", tracker.compute(svc, &selected)),
        );
    }
    out
}

#[test]
fn every_reader_answers_the_same_for_a_slim_pod() {
    let mut questions = 0;
    for (seed, (w, full)) in scenarios().iter().enumerate() {
        let slimmed: Vec<Pod> = full
            .iter()
            .map(|p| {
                let mut s = p.clone();
                slim(&mut s);
                s
            })
            .collect();
        let (want, got) = (answers(w, full), answers(w, &slimmed));
        assert_eq!(want.len(), got.len());
        for ((q, a), (_, b)) in want.iter().zip(&got) {
            assert_eq!(
                a, b,
                "seed {seed}: `{q}` answers differently for the slim Pods: a reader reads a \
                 field that pod_cache::slim drops; keep it in slim and declare it in KEPT"
            );
        }
        questions += want.len();
    }
    assert!(questions > 10_000, "{questions} questions asked");
}

#[test]
fn slim_keeps_exactly_what_kept_declares() {
    let schema = pod_schema();
    let covers = |declared: &str, leaf: &str| {
        leaf == declared
            || leaf
                .strip_prefix(declared)
                .is_some_and(|rest| rest.starts_with(['.', '[', '{']))
    };
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for (seed, (_, full)) in scenarios().iter().enumerate() {
        for p in full {
            let mut s = p.clone();
            slim(&mut s);
            let mut leaves = BTreeSet::new();
            let v = serde_json::to_value(&s).expect("a Pod serializes");
            schema.leaves(&schema.root, &v, "", &mut leaves);
            for leaf in &leaves {
                let by: Vec<&str> = KEPT
                    .iter()
                    .map(|k| k.path)
                    .filter(|d| covers(d, leaf))
                    .collect();
                assert!(
                    !by.is_empty(),
                    "seed {seed}: slim keeps {leaf}, which KEPT does not declare"
                );
                used.extend(by);
            }
        }
    }
    let unused: Vec<&str> = KEPT
        .iter()
        .map(|k| k.path)
        .filter(|p| !used.contains(p))
        .collect();
    assert!(
        unused.is_empty(),
        "KEPT declares what slim never kept of {SEEDS} scenarios' Pods: {unused:?}"
    );
}

#[test]
fn the_generated_pods_fill_every_field_of_the_schema() {
    // Without this, a generator that missed a part of the schema would leave readers of that
    // part unchecked. Map keys count as one.
    let schema = pod_schema();
    let mut all = BTreeSet::new();
    schema_paths(schema, &schema.root, "", &mut all, 0);
    let mut seen = BTreeSet::new();
    for (_, full) in scenarios() {
        for p in full {
            let v = serde_json::to_value(p).expect("a Pod serializes");
            let mut leaves = BTreeSet::new();
            schema.leaves(&schema.root, &v, "", &mut leaves);
            seen.extend(leaves.into_iter().map(|l| any_key(&l)));
        }
    }
    let missed: Vec<&String> = all.iter().filter(|p| !seen.contains(*p)).collect();
    assert!(
        missed.is_empty(),
        "{} of {} leaves never filled: {missed:?}",
        missed.len(),
        all.len()
    );
}

/// `path` with every map key written `{}`.
fn any_key(path: &str) -> String {
    let mut out = String::new();
    let mut in_key = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_key = true;
                out.push_str("{}");
            }
            '}' => in_key = false,
            c if !in_key => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every leaf path of schema `s` under `path`, map keys written `{}`.
fn schema_paths(schema: &Schema, s: &Value, path: &str, out: &mut BTreeSet<String>, depth: usize) {
    let s = schema.get(s);
    assert!(depth < 40, "the Pod schema is not recursive");
    if s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        out.insert(path.to_string());
        return;
    }
    match s.get("type").and_then(Value::as_str) {
        Some("object") => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (p, sub) in props {
                    let at = if path.is_empty() {
                        p.clone()
                    } else {
                        format!("{path}.{p}")
                    };
                    schema_paths(schema, sub, &at, out, depth + 1);
                }
            } else if let Some(values) = s.get("additionalProperties") {
                schema_paths(schema, values, &format!("{path}{{}}"), out, depth + 1);
            }
            // An object of no properties holds nothing (`{}`): not a leaf.
        }
        Some("array") => schema_paths(schema, &s["items"], &format!("{path}[]"), out, depth + 1),
        _ => {
            out.insert(path.to_string());
        }
    }
}

#[test]
fn every_reader_of_pods_is_compared() {
    // The `pub fn`s of this crate with a parameter that holds a Pod (`Pod` itself, or a struct
    // with a Pod field, transitively), outside test code and comments.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(&root)
                    .expect("under src")
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = std::fs::read_to_string(&path).expect("readable");
                files.push((rel, without_tests_and_comments(&text)));
            }
        }
    }
    let mentions = |text: &str, word: &str| {
        text.match_indices(word).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !ident(before) && !ident(after)
        })
    };
    // Struct and enum name -> its body, for the types of the crate.
    let mut structs: Vec<(String, String)> = Vec::new();
    for (_, code) in &files {
        let starts = code
            .match_indices("struct ")
            .chain(code.match_indices("enum "));
        for (i, keyword) in starts {
            let rest = &code[i + keyword.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // A struct with named fields, or an enum: `{` comes before any `;` or `(`.
            let Some(open) = rest.find('{') else { continue };
            if rest[..open].contains([';', '(']) || name.is_empty() {
                continue;
            }
            let body = &rest[open..];
            let body = body.split_once("\n}").map(|(b, _)| b).unwrap_or(body);
            structs.push((name, body.to_string()));
        }
    }
    let mut holders: BTreeSet<String> = BTreeSet::from(["Pod".to_string()]);
    loop {
        let more: Vec<String> = structs
            .iter()
            .filter(|(n, body)| !holders.contains(n) && holders.iter().any(|h| mentions(body, h)))
            .map(|(n, _)| n.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        holders.extend(more);
    }
    let mut found = BTreeSet::new();
    for (file, code) in &files {
        for (i, _) in code.match_indices("pub fn ") {
            let rest = &code[i + "pub fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(open) = rest.find('(') else { continue };
            let mut depth = 0;
            let mut close = open;
            for (j, c) in rest[open..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let params = &rest[open..close];
            if holders.iter().any(|h| mentions(params, h)) {
                found.insert(format!("{file}: {name}"));
            }
        }
    }
    let compared: BTreeSet<String> = COMPARED.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = found.difference(&compared).collect();
    assert!(
        missing.is_empty(),
        "readers of Pods that `answers` does not compare: {missing:?} (the Pod holders: \
         {holders:?})"
    );
    let stale: Vec<&String> = compared.difference(&found).collect();
    assert!(
        stale.is_empty(),
        "COMPARED names what is no reader of Pods: {stale:?}"
    );
}

#[test]
fn the_vocabularies_reach_the_readers_branches() {
    // The comparison proves little if the Pods never reach a reader's branches: count the
    // answers that need rich Pods (Ready and available, endpoints with ports, sidecar restarts,
    // a deletion cost, a plan that deletes).
    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
    for (w, full) in scenarios() {
        for p in full {
            let mut count = |what: &'static str, yes: bool| {
                *tally.entry(what).or_default() += usize::from(yes);
            };
            count("ready", crate::pod::is_ready(p));
            count(
                "available after 600 s",
                crate::pod::is_available(p, 600, now()),
            );
            count("active", crate::pod::is_active(p));
            count("sidecar restarts", crate::pod::max_restarts(p).1 > 0);
            count("deletion cost", crate::pod::deletion_cost(p) != 0);
            count(
                "a named port found",
                w.services[0]
                    .spec
                    .iter()
                    .flat_map(|s| s.ports.iter().flatten())
                    .filter(|sp| sp.name.as_deref() == Some("a"))
                    .any(|sp| crate::endpointslice::utils::find_port(p, sp).is_some()),
            );
            count(
                "a hostname set",
                crate::endpointslice::utils::should_set_hostname(p, &w.services[1]),
            );
        }
        let a = answers(w, full);
        let plans_deleting = a
            .iter()
            .filter(|(q, ans)| q.starts_with("rs plan") && ans.contains("Delete ["))
            .count();
        *tally.entry("rs plans deleting").or_default() += plans_deleting;
        let with_endpoints = a
            .iter()
            .filter(|(q, ans)| q.starts_with("endpointslice plan") && ans.contains("addresses: ["))
            .count();
        *tally.entry("slices with endpoints").or_default() += with_endpoints;
    }
    for (what, n) in &tally {
        assert!(*n >= 5, "only {n} Pods or plans: {what} ({tally:?})");
    }
}

/// Rust source without its comments and its `#[cfg(test)]` items (rustfmt's layout assumed:
/// an item ends on the line holding only `}` at the attribute's indentation, or on its own
/// line when that ends with `;`).
fn without_tests_and_comments(text: &str) -> String {
    let mut out = String::new();
    let mut skip_until: Option<String> = None;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(end) = &skip_until {
            if line == end {
                skip_until = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            let indent = &line[..line.len() - trimmed.len()];
            if let Some(item) = lines.next()
                && !item.trim_end().ends_with(';')
            {
                skip_until = Some(format!("{indent}}}"));
            }
            continue;
        }
        let code = line.split_once("//").map_or(line, |(code, _)| code);
        out.push_str(code);
        out.push('\n');
    }
    out
}
