//! `kubectl bosun describe deploy|rs`: upstream's `DeploymentDescriber` and `ReplicaSetDescriber`
//! (kubectl's pkg/describe/describe.go), line for line, for bosun's kinds. The text is built by
//! pure functions from the objects read and the time now; [`super::tabwriter`] aligns it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::util::equal_ignore_hash;
use bosun_core::pod::controller_of;
use bosun_core::selector::Selector;
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodTemplateSpec, Probe, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{Timestamp, tz::TimeZone};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::tabwriter::align;
use super::{Failure, Kind, Session, server_error};

/// Upstream's `PrefixWriter`: each level indents two spaces.
#[derive(Default)]
struct Writer {
    done: String,
    buf: String,
}

impl Writer {
    fn w(&mut self, level: usize, text: &str) {
        for _ in 0..level {
            self.buf.push_str("  ");
        }
        self.buf.push_str(text);
    }
    /// `Flush`: align what was written so far on its own.
    fn flush(&mut self) {
        self.done.push_str(&align(&std::mem::take(&mut self.buf)));
    }
    fn finish(mut self) -> String {
        self.flush();
        self.done
    }
}

/// apimachinery's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

/// `metav1.LabelSelectorAsSelector(s).String()`: requirements sorted by key.
pub fn selector_string(s: &LabelSelector) -> String {
    let mut reqs: Vec<(String, String)> = Vec::new();
    for (k, v) in s.match_labels.iter().flatten() {
        reqs.push((k.clone(), format!("{k}={v}")));
    }
    for e in s.match_expressions.iter().flatten() {
        let mut values = e.values.clone().unwrap_or_default();
        values.sort();
        let k = &e.key;
        let text = match e.operator.as_str() {
            "In" => format!("{k} in ({})", values.join(",")),
            "NotIn" => format!("{k} notin ({})", values.join(",")),
            "Exists" => k.clone(),
            "DoesNotExist" => format!("!{k}"),
            other => format!("{k} {other} ({})", values.join(",")),
        };
        reqs.push((k.clone(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

/// `metav1.FormatLabelSelector`: `<none>` when empty.
fn format_selector(s: &LabelSelector) -> String {
    let text = selector_string(s);
    if text.is_empty() {
        "<none>".into()
    } else {
        text
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn labels_multiline(w: &mut Writer, title: &str, labels: Option<&BTreeMap<String, String>>) {
    w.w(0, &format!("{title}:\t"));
    let Some(labels) = labels.filter(|l| !l.is_empty()) else {
        w.w(0, "<none>\n");
        return;
    };
    for (i, (k, v)) in labels.iter().enumerate() {
        if i != 0 {
            w.w(0, "\t");
        }
        w.w(0, &format!("{k}={v}\n"));
    }
}

fn annotations_multiline(
    w: &mut Writer,
    title: &str,
    annotations: Option<&BTreeMap<String, String>>,
) {
    w.w(0, &format!("{title}:\t"));
    let keys: Vec<(&String, &String)> = annotations
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "kubectl.kubernetes.io/last-applied-configuration")
        .collect();
    if keys.is_empty() {
        w.w(0, "<none>\n");
        return;
    }
    for (i, (k, v)) in keys.into_iter().enumerate() {
        if i != 0 {
            w.w(0, "\t");
        }
        let value = v.strip_suffix('\n').unwrap_or(v);
        if value.len() + k.len() + 2 > 140 || value.contains('\n') {
            w.w(0, &format!("{k}:\n"));
            for s in value.split('\n') {
                let short = if s.len() > 138 {
                    format!("{}...", &s[..138])
                } else {
                    s.to_string()
                };
                w.w(0, &format!("\t  {short}\n"));
            }
        } else {
            w.w(0, &format!("{k}: {value}\n"));
        }
    }
}

/// Upstream's `DescribeProbe`.
fn describe_probe(p: &Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    );
    if let Some(e) = &p.exec {
        return format!(
            "exec [{}] {attrs}",
            e.command.clone().unwrap_or_default().join(" ")
        );
    }
    if let Some(h) = &p.http_get {
        let scheme = h
            .scheme
            .clone()
            .unwrap_or_else(|| "HTTP".into())
            .to_ascii_lowercase();
        let host = h.host.clone().unwrap_or_default();
        let port = int_or_string(&h.port);
        let hostport = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        return format!(
            "http-get {scheme}://{hostport}{} {attrs}",
            h.path.clone().unwrap_or_default()
        );
    }
    if let Some(t) = &p.tcp_socket {
        return format!(
            "tcp-socket {}:{} {attrs}",
            t.host.clone().unwrap_or_default(),
            int_or_string(&t.port)
        );
    }
    if let Some(g) = &p.grpc {
        return format!(
            "grpc <pod>:{} {} {attrs}",
            g.port,
            g.service.clone().unwrap_or_default()
        );
    }
    format!("unknown {attrs}")
}

fn ports_text(c: &Container, host: bool) -> String {
    c.ports
        .iter()
        .flatten()
        .map(|p| {
            // The API server defaults an apps/v1 template's protocol to TCP; a CRD's template is
            // not defaulted, and its pods get TCP: print what they get.
            let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            let n = if host {
                p.host_port.unwrap_or(0)
            } else {
                p.container_port
            };
            match &p.name {
                Some(name) if !name.is_empty() => format!("{n}/{proto} ({name})"),
                _ => format!("{n}/{proto}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upstream's `describeContainers` for a template (no statuses).
fn describe_containers(w: &mut Writer, label: &str, containers: &[Container]) {
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.w(0, &format!("  {label}:{none}\n"));
    for c in containers {
        w.w(1, &format!(" {}:\n", c.name));
        w.w(
            2,
            &format!("Image:\t{}\n", c.image.clone().unwrap_or_default()),
        );
        let ports = ports_text(c, false);
        if ports.contains(',') {
            w.w(2, &format!("Ports:\t{ports}\n"));
        } else {
            w.w(
                2,
                &format!(
                    "Port:\t{}\n",
                    if ports.is_empty() { "<none>" } else { &ports }
                ),
            );
        }
        let host = ports_text(c, true);
        if host.contains(',') {
            w.w(2, &format!("Host Ports:\t{host}\n"));
        } else {
            w.w(
                2,
                &format!(
                    "Host Port:\t{}\n",
                    if host.is_empty() { "<none>" } else { &host }
                ),
            );
        }
        if let Some(sp) = c
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            w.w(2, &format!("SeccompProfile:\t{}\n", sp.type_));
        }
        for (title, list) in [("Command", &c.command), ("Args", &c.args)] {
            if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
                w.w(2, &format!("{title}:\n"));
                for item in list {
                    for s in item.split('\n') {
                        w.w(3, &format!("{s}\n"));
                    }
                }
            }
        }
        if let Some(r) = &c.resources {
            for (title, map) in [("Limits", &r.limits), ("Requests", &r.requests)] {
                if let Some(map) = map.as_ref().filter(|m| !m.is_empty()) {
                    w.w(2, &format!("{title}:\n"));
                    for (name, q) in map {
                        w.w(3, &format!("{name}:\t{}\n", q.0));
                    }
                }
            }
        }
        for (title, probe) in [
            ("Liveness", &c.liveness_probe),
            ("Readiness", &c.readiness_probe),
            ("Startup", &c.startup_probe),
        ] {
            if let Some(p) = probe {
                w.w(2, &format!("{title}:\t{}\n", describe_probe(p)));
            }
        }
        if let Some(from) = c.env_from.as_ref().filter(|e| !e.is_empty()) {
            w.w(2, "Environment Variables from:\n");
            for e in from {
                let (kind, name, optional) = if let Some(r) = &e.config_map_ref {
                    ("ConfigMap", r.name.clone(), r.optional.unwrap_or(false))
                } else if let Some(r) = &e.secret_ref {
                    ("Secret", r.name.clone(), r.optional.unwrap_or(false))
                } else {
                    ("", String::new(), false)
                };
                match e.prefix.as_deref().filter(|p| !p.is_empty()) {
                    None => w.w(3, &format!("{name}\t{kind}\tOptional: {optional}\n")),
                    Some(p) => w.w(
                        3,
                        &format!("{name}\t{kind} with prefix '{p}'\tOptional: {optional}\n"),
                    ),
                }
            }
        }
        let env = c.env.clone().unwrap_or_default();
        w.w(
            2,
            &format!(
                "Environment:{}\n",
                if env.is_empty() { "\t<none>" } else { "" }
            ),
        );
        for e in &env {
            match &e.value_from {
                None => {
                    for (i, s) in e.value.clone().unwrap_or_default().split('\n').enumerate() {
                        if i == 0 {
                            w.w(3, &format!("{}:\t{s}\n", e.name));
                        } else {
                            w.w(3, &format!("\t{s}\n"));
                        }
                    }
                }
                Some(v) => {
                    if let Some(f) = &v.field_ref {
                        w.w(
                            3,
                            &format!(
                                "{}:\t ({}:{})\n",
                                e.name,
                                f.api_version.clone().unwrap_or_default(),
                                f.field_path
                            ),
                        );
                    } else if let Some(r) = &v.resource_field_ref {
                        w.w(3, &format!("{}:\t ({})\n", e.name, r.resource));
                    } else if let Some(s) = &v.secret_key_ref {
                        w.w(
                            3,
                            &format!(
                                "{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                                e.name,
                                s.key,
                                s.name,
                                s.optional.unwrap_or(false)
                            ),
                        );
                    } else if let Some(s) = &v.config_map_key_ref {
                        w.w(
                            3,
                            &format!(
                                "{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                                e.name,
                                s.key,
                                s.name,
                                s.optional.unwrap_or(false)
                            ),
                        );
                    }
                }
            }
        }
        let mut mounts = c.volume_mounts.clone().unwrap_or_default();
        mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
        w.w(
            2,
            &format!(
                "Mounts:{}\n",
                if mounts.is_empty() { "\t<none>" } else { "" }
            ),
        );
        for m in &mounts {
            let mut flags = vec![if m.read_only.unwrap_or(false) {
                "ro".to_string()
            } else {
                "rw".to_string()
            }];
            if let Some(sp) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
                flags.push(format!("path={sp:?}"));
            }
            w.w(
                3,
                &format!("{} from {} ({})\n", m.mount_path, m.name, flags.join(",")),
            );
        }
    }
}

fn describe_volumes(w: &mut Writer, volumes: &[Volume]) {
    if volumes.is_empty() {
        w.w(0, "  Volumes:\t<none>\n");
        return;
    }
    w.w(0, "  Volumes:\n");
    for v in volumes {
        w.w(1, &format!(" {}:\n", v.name));
        if let Some(e) = &v.empty_dir {
            w.w(
                2,
                "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n",
            );
            w.w(
                2,
                &format!("Medium:\t{}\n", e.medium.clone().unwrap_or_default()),
            );
            match &e.size_limit {
                Some(q) => w.w(2, &format!("SizeLimit:\t{}\n", q.0)),
                None => w.w(2, "SizeLimit:\t<unset>\n"),
            }
        } else if let Some(c) = &v.config_map {
            w.w(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n");
            w.w(2, &format!("Name:\t{}\n", c.name));
            w.w(2, &format!("Optional:\t{}\n", c.optional.unwrap_or(false)));
        } else if let Some(s) = &v.secret {
            w.w(2, "Type:\tSecret (a volume populated by a Secret)\n");
            w.w(
                2,
                &format!(
                    "SecretName:\t{}\n",
                    s.secret_name.clone().unwrap_or_default()
                ),
            );
            w.w(2, &format!("Optional:\t{}\n", s.optional.unwrap_or(false)));
        } else if let Some(h) = &v.host_path {
            w.w(2, "Type:\tHostPath (bare host directory volume)\n");
            w.w(2, &format!("Path:\t{}\n", h.path));
            w.w(
                2,
                &format!("HostPathType:\t{}\n", h.type_.clone().unwrap_or_default()),
            );
        } else if let Some(p) = &v.persistent_volume_claim {
            w.w(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n");
            w.w(2, &format!("ClaimName:\t{}\n", p.claim_name));
            w.w(2, &format!("ReadOnly:\t{}\n", p.read_only.unwrap_or(false)));
        } else {
            w.w(1, "<unknown>\n");
        }
    }
}

/// bosun's `spec.scaleStrategy.podsToDelete`, when it names any Pod.
fn describe_pods_to_delete(w: &mut Writer, s: Option<&bosun_api::apps::ScaleStrategy>) {
    let names = s
        .and_then(|s| s.pods_to_delete.as_deref())
        .unwrap_or_default();
    if !names.is_empty() {
        w.w(0, &format!("PodsToDelete:\t{}\n", names.join(", ")));
    }
}

/// Upstream's `DescribePodTemplate`.
fn describe_pod_template(w: &mut Writer, t: &PodTemplateSpec) {
    w.w(0, "Pod Template:\n");
    let meta = t.metadata.clone().unwrap_or_default();
    labels_multiline(w, "  Labels", meta.labels.as_ref());
    if meta.annotations.as_ref().is_some_and(|a| !a.is_empty()) {
        annotations_multiline(w, "  Annotations", meta.annotations.as_ref());
    }
    let spec = t.spec.clone().unwrap_or_default();
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.w(1, &format!("Service Account:\t{sa}\n"));
    }
    if let Some(init) = spec.init_containers.as_ref().filter(|c| !c.is_empty()) {
        describe_containers(w, "Init Containers", init);
    }
    describe_containers(w, "Containers", &spec.containers);
    describe_volumes(w, spec.volumes.as_deref().unwrap_or_default());
    let mut tscs = spec.topology_spread_constraints.clone().unwrap_or_default();
    if !tscs.is_empty() {
        tscs.sort_by(|a, b| a.topology_key.cmp(&b.topology_key));
        w.w(0, "  Topology Spread Constraints:\t");
        for (i, t) in tscs.iter().enumerate() {
            if i != 0 {
                w.w(0, "  \t");
            }
            w.w(
                0,
                &format!(
                    "{}:{} when max skew {} is exceeded",
                    t.topology_key, t.when_unsatisfiable, t.max_skew
                ),
            );
            if let Some(ls) = &t.label_selector {
                w.w(0, &format!(" for selector {}", format_selector(ls)));
            }
            w.w(0, "\n");
        }
    }
    if let Some(pc) = spec
        .priority_class_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.w(1, &format!("Priority Class Name:\t{pc}\n"));
    }
    labels_multiline(w, "  Node-Selectors", spec.node_selector.as_ref());
    w.w(0, "  Tolerations:\t");
    let mut tols = spec.tolerations.clone().unwrap_or_default();
    if tols.is_empty() {
        w.w(0, "<none>\n");
    }
    tols.sort_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in tols.iter().enumerate() {
        if i != 0 {
            w.w(0, "  \t");
        }
        let key = t.key.clone().unwrap_or_default();
        let value = t.value.clone().unwrap_or_default();
        let effect = t.effect.clone().unwrap_or_default();
        let mut s = key.clone();
        if !value.is_empty() {
            s.push_str(&format!("={value}"));
        }
        if !effect.is_empty() {
            s.push_str(&format!(":{effect}"));
        }
        if t.operator.as_deref() == Some("Exists") && value.is_empty() {
            s.push_str(if key.is_empty() && effect.is_empty() {
                "op=Exists"
            } else {
                " op=Exists"
            });
        }
        if let Some(secs) = t.toleration_seconds {
            s.push_str(&format!(" for {secs}s"));
        }
        w.w(0, &format!("{s}\n"));
    }
}

/// The Pod Template block as `rollout history --revision` prints it: describe's writer without
/// the tab alignment (upstream's `printTemplate`).
pub fn pod_template_raw(t: &PodTemplateSpec) -> String {
    let mut w = Writer::default();
    describe_pod_template(&mut w, t);
    w.buf
}

/// Upstream's `DescribeEvents`, sorted as `SortableEvents` (by last timestamp, stably).
fn describe_events(w: &mut Writer, events: &[Event], now: Timestamp) {
    if events.is_empty() {
        w.w(0, "Events:\t<none>\n");
        return;
    }
    w.flush();
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0));
    w.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w.w(1, "----\t------\t----\t----\t-------\n");
    for e in events {
        let first = match &e.event_time {
            Some(t) => since(Some(t.0), now),
            None => since(e.first_timestamp.as_ref().map(|t| t.0), now),
        };
        let interval = if let Some(s) = &e.series {
            format!(
                "{} (x{} over {first})",
                since(s.last_observed_time.as_ref().map(|t| t.0), now),
                s.count.unwrap_or(0)
            )
        } else if e.count.unwrap_or(0) > 1 {
            format!(
                "{} (x{} over {first})",
                since(e.last_timestamp.as_ref().map(|t| t.0), now),
                e.count.unwrap_or(0)
            )
        } else {
            first
        };
        let source = e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .filter(|c| !c.is_empty())
            .or_else(|| e.reporting_component.clone())
            .unwrap_or_default();
        let mut message = e.message.clone().unwrap_or_default().trim().to_string();
        if let Some(fp) = e
            .involved_object
            .field_path
            .as_deref()
            .filter(|f| !f.is_empty())
        {
            message = format!("{fp}: {message}");
        }
        w.w(
            1,
            &format!(
                "{}\t{}\t{interval}\t{source}\t{message}\n",
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default()
            ),
        );
    }
}

fn creation(meta: &ObjectMeta) -> String {
    match &meta.creation_timestamp {
        Some(t) => {
            t.0.to_zoned(TimeZone::system())
                .strftime("%a, %d %b %Y %H:%M:%S %z")
                .to_string()
        }
        None => "Mon, 01 Jan 0001 00:00:00 +0000".into(),
    }
}

fn rs_list(rss: &[&ReplicaSet]) -> String {
    if rss.is_empty() {
        return "<none>".into();
    }
    rss.iter()
        .map(|rs| {
            format!(
                "{} ({}/{} replicas created)",
                rs.name_any(),
                rs.status.as_ref().map(|s| s.replicas).unwrap_or(0),
                rs.spec.replicas.unwrap_or(1)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upstream's `describeDeployment`; `rss` are the ReplicaSets the Deployment controls, in list
/// order; `events` None means events were not asked for.
pub fn describe_deployment(
    d: &Deployment,
    rss: &[ReplicaSet],
    events: Option<&[Event]>,
    now: Timestamp,
) -> String {
    let mut w = Writer::default();
    let status = d.status.clone().unwrap_or_default();
    w.w(0, &format!("Name:\t{}\n", d.name_any()));
    w.w(
        0,
        &format!("Namespace:\t{}\n", d.namespace().unwrap_or_default()),
    );
    w.w(
        0,
        &format!("CreationTimestamp:\t{}\n", creation(&d.metadata)),
    );
    labels_multiline(&mut w, "Labels", d.metadata.labels.as_ref());
    annotations_multiline(&mut w, "Annotations", d.metadata.annotations.as_ref());
    w.w(
        0,
        &format!("Selector:\t{}\n", selector_string(&d.spec.selector)),
    );
    w.w(
        0,
        &format!(
            "Replicas:\t{} desired | {} updated | {} total | {} available | {} unavailable\n",
            d.spec.replicas.unwrap_or(1),
            status.updated_replicas,
            status.replicas,
            status.available_replicas,
            status.unavailable_replicas
        ),
    );
    let strategy = d.spec.strategy.clone().unwrap_or_default();
    let type_ = strategy
        .type_
        .as_ref()
        .map(|t| {
            serde_json::to_value(t)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    w.w(0, &format!("StrategyType:\t{type_}\n"));
    w.w(
        0,
        &format!(
            "MinReadySeconds:\t{}\n",
            d.spec.min_ready_seconds.unwrap_or(0)
        ),
    );
    // An absent rollingUpdate with type RollingUpdate means 25% and 25% (the CRD's documented
    // default; apps/v1 writes it into the object).
    let rolling = strategy.rolling_update.clone().or_else(|| {
        (type_ == "RollingUpdate").then(|| bosun_api::apps::RollingUpdateDeployment {
            max_unavailable: Some(IntOrString::String("25%".into())),
            max_surge: Some(IntOrString::String("25%".into())),
            partition: None,
        })
    });
    if let Some(ru) = &rolling {
        let mu = ru
            .max_unavailable
            .as_ref()
            .map(int_or_string)
            .unwrap_or_else(|| "0".into());
        let ms = ru
            .max_surge
            .as_ref()
            .map(int_or_string)
            .unwrap_or_else(|| "0".into());
        w.w(
            0,
            &format!("RollingUpdateStrategy:\t{mu} max unavailable, {ms} max surge\n"),
        );
    }
    // bosun's own fields: shown when set, so a Deployment without them reads as apps/v1's.
    if let Some(p) = rolling.as_ref().and_then(|r| r.partition.as_ref()) {
        let pods = bosun_core::deployment::util::partition(d);
        w.w(
            0,
            &format!(
                "Partition:\t{} ({pods} Pods kept on old revisions)\n",
                int_or_string(p)
            ),
        );
    }
    if let Some(policy) = d.spec.pod_replacement_policy {
        let name = match policy {
            bosun_api::apps::PodReplacementPolicy::TerminationStarted => "TerminationStarted",
            bosun_api::apps::PodReplacementPolicy::TerminationComplete => "TerminationComplete",
        };
        w.w(0, &format!("PodReplacementPolicy:\t{name}\n"));
    }
    describe_pods_to_delete(&mut w, d.spec.scale_strategy.as_ref());
    if d.spec.progress_deadline_abort == Some(true) {
        w.w(0, "ProgressDeadlineAbort:\ttrue\n");
    }
    if let Some(h) = &status.aborted_template_hash {
        w.w(
            0,
            &format!(
                "Aborted:\tpod-template-hash {h} (kubectl bosun rollout retry to roll it out)\n"
            ),
        );
    }
    describe_pod_template(&mut w, &d.spec.template);
    let conditions = status.conditions.clone().unwrap_or_default();
    if !conditions.is_empty() {
        w.w(0, "Conditions:\n  Type\tStatus\tReason\n");
        w.w(1, "----\t------\t------\n");
        for c in &conditions {
            w.w(
                1,
                &format!(
                    "{} \t{}\t{}\n",
                    c.type_,
                    c.status,
                    c.reason.clone().unwrap_or_default()
                ),
            );
        }
    }
    // Upstream's FindNewReplicaSet: the oldest whose template equals the Deployment's.
    let mut by_age: Vec<&ReplicaSet> = rss.iter().collect();
    by_age.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .then_with(|| a.name_any().cmp(&b.name_any()))
    });
    let new = by_age
        .iter()
        .find(|rs| equal_ignore_hash(&rs.spec.template, &d.spec.template))
        .map(|rs| rs.metadata.uid.clone());
    let (newer, old): (Vec<&ReplicaSet>, Vec<&ReplicaSet>) = rss
        .iter()
        .partition(|rs| new.as_ref().is_some_and(|uid| &rs.metadata.uid == uid));
    if !old.is_empty() || !newer.is_empty() {
        w.w(0, &format!("OldReplicaSets:\t{}\n", rs_list(&old)));
        w.w(0, &format!("NewReplicaSet:\t{}\n", rs_list(&newer)));
    }
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    w.finish()
}

/// Pods of a ReplicaSet by phase: running, waiting (pending), succeeded, failed.
pub fn pod_phases(rs: &ReplicaSet, pods: &[Pod]) -> (usize, usize, usize, usize) {
    let uid = rs.metadata.uid.clone().unwrap_or_default();
    let mut n = (0, 0, 0, 0);
    for p in pods
        .iter()
        .filter(|p| controller_of(&p.metadata).is_some_and(|r| r.uid == uid))
    {
        match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Running") => n.0 += 1,
            Some("Pending") => n.1 += 1,
            Some("Succeeded") => n.2 += 1,
            Some("Failed") => n.3 += 1,
            _ => {}
        }
    }
    n
}

/// Upstream's `describeReplicaSet`.
pub fn describe_replicaset(
    rs: &ReplicaSet,
    phases: Result<(usize, usize, usize, usize), String>,
    events: Option<&[Event]>,
    now: Timestamp,
) -> String {
    let mut w = Writer::default();
    w.w(0, &format!("Name:\t{}\n", rs.name_any()));
    w.w(
        0,
        &format!("Namespace:\t{}\n", rs.namespace().unwrap_or_default()),
    );
    w.w(
        0,
        &format!("Selector:\t{}\n", format_selector(&rs.spec.selector)),
    );
    labels_multiline(&mut w, "Labels", rs.metadata.labels.as_ref());
    annotations_multiline(&mut w, "Annotations", rs.metadata.annotations.as_ref());
    if let Some(r) = controller_of(&rs.metadata) {
        w.w(0, &format!("Controlled By:\t{}/{}\n", r.kind, r.name));
    }
    let status = rs.status.clone().unwrap_or_default();
    w.w(
        0,
        &format!(
            "Replicas:\t{} current / {} desired\n",
            status.replicas,
            rs.spec.replicas.unwrap_or(1)
        ),
    );
    w.w(0, "Pods Status:\t");
    match phases {
        Ok((r, wt, s, f)) => w.w(
            0,
            &format!("{r} Running / {wt} Waiting / {s} Succeeded / {f} Failed\n"),
        ),
        Err(e) => w.w(0, &format!("error in fetching pods: {e}\n")),
    }
    describe_pods_to_delete(&mut w, rs.spec.scale_strategy.as_ref());
    describe_pod_template(&mut w, &rs.spec.template);
    let conditions = status.conditions.clone().unwrap_or_default();
    if !conditions.is_empty() {
        w.w(0, "Conditions:\n  Type\tStatus\tReason\n");
        w.w(1, "----\t------\t------\n");
        for c in &conditions {
            w.w(
                1,
                &format!(
                    "{} \t{}\t{}\n",
                    c.type_,
                    c.status,
                    c.reason.clone().unwrap_or_default()
                ),
            );
        }
    }
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    w.finish()
}

/// The core/v1 view of the events about an object (bosun writes events.k8s.io/v1 Events; the
/// API server serves the same objects as core Events, as kubectl describe reads them).
async fn events_for(session: &Session, kind: Kind, name: &str, uid: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(session.client.clone(), &session.ns);
    let fields = format!(
        "involvedObject.name={name},involvedObject.kind={},involvedObject.uid={uid}",
        kind.name()
    );
    api.list(&ListParams::default().fields(&fields))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

/// Describe one object or, without a name, every object of the kind (upstream joins them with
/// a blank line).
pub async fn run(
    session: &Session,
    kind: Kind,
    name: Option<&str>,
    show_events: bool,
) -> Result<String, Failure> {
    let now = Timestamp::now();
    let client = session.client.clone();
    let mut texts = Vec::new();
    match kind {
        Kind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(client.clone(), &session.ns);
            let ds = match name {
                Some(n) => vec![api.get(n).await.map_err(server_error)?],
                None => {
                    api.list(&ListParams::default())
                        .await
                        .map_err(server_error)?
                        .items
                }
            };
            if ds.is_empty() {
                return Err(Failure(format!(
                    "No resources found in {} namespace.",
                    session.ns
                )));
            }
            let all_rs = Api::<ReplicaSet>::namespaced(client.clone(), &session.ns)
                .list(&ListParams::default())
                .await
                .map(|l| l.items)
                .unwrap_or_default();
            for d in ds {
                let uid = d.metadata.uid.clone().unwrap_or_default();
                let selector = Selector::new(&d.spec.selector).ok();
                let rss: Vec<ReplicaSet> = all_rs
                    .iter()
                    .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
                    .filter(|rs| {
                        selector.as_ref().is_none_or(|s| {
                            s.matches(
                                rs.spec
                                    .template
                                    .metadata
                                    .as_ref()
                                    .and_then(|m| m.labels.as_ref()),
                            )
                        })
                    })
                    .cloned()
                    .collect();
                let events = if show_events {
                    Some(events_for(session, kind, &d.name_any(), &uid).await)
                } else {
                    None
                };
                texts.push(describe_deployment(&d, &rss, events.as_deref(), now));
            }
        }
        Kind::ReplicaSet => {
            let api: Api<ReplicaSet> = Api::namespaced(client.clone(), &session.ns);
            let rss = match name {
                Some(n) => vec![api.get(n).await.map_err(server_error)?],
                None => {
                    api.list(&ListParams::default())
                        .await
                        .map_err(server_error)?
                        .items
                }
            };
            if rss.is_empty() {
                return Err(Failure(format!(
                    "No resources found in {} namespace.",
                    session.ns
                )));
            }
            for rs in rss {
                let selector = selector_string(&rs.spec.selector);
                let pods = Api::<Pod>::namespaced(client.clone(), &session.ns)
                    .list(&ListParams::default().labels(&selector))
                    .await
                    .map(|l| pod_phases(&rs, &l.items))
                    .map_err(|e| e.to_string());
                let uid = rs.metadata.uid.clone().unwrap_or_default();
                let events = if show_events {
                    Some(events_for(session, kind, &rs.name_any(), &uid).await)
                } else {
                    None
                };
                texts.push(describe_replicaset(&rs, pods, events.as_deref(), now));
            }
        }
    }
    let mut out = String::new();
    for (i, t) in texts.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        let _ = write!(out, "{t}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-24T10:00:30Z".parse().unwrap()
    }

    fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
            "metadata": {"name": "hello", "namespace": "default", "uid": "d1",
                "creationTimestamp": "2026-11-24T10:00:00Z",
                "labels": {"app": "hello"}, "annotations": {"bosun.dev/revision": "1"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "template": {"metadata": {"labels": {"app": "hello"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}},
            "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
        }))
        .unwrap()
    }

    fn replicaset(d: &Deployment) -> ReplicaSet {
        let mut template = serde_json::to_value(&d.spec.template).unwrap();
        template["metadata"]["labels"]["pod-template-hash"] = json!("6d5f8c9b7");
        serde_json::from_value(json!({
            "apiVersion": "apps.bosun.dev/v1", "kind": "ReplicaSet",
            "metadata": {"name": "hello-6d5f8c9b7", "namespace": "default", "uid": "r1",
                "creationTimestamp": "2026-11-24T10:00:00Z",
                "labels": {"app": "hello", "pod-template-hash": "6d5f8c9b7"},
                "annotations": {"bosun.dev/revision": "1"},
                "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": "Deployment", "name": "hello", "uid": "d1", "controller": true}]},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "hello", "pod-template-hash": "6d5f8c9b7"}}, "template": template},
            "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}
        }))
        .unwrap()
    }

    fn event(reason: &str, message: &str, at: &str) -> Event {
        serde_json::from_value(json!({
            "metadata": {"name": "e"}, "involvedObject": {"kind": "Deployment", "name": "hello"},
            "type": "Normal", "reason": reason, "message": message, "eventTime": at,
            "reportingComponent": "deployment-controller.bosun.dev"
        }))
        .unwrap()
    }

    #[test]
    fn deployment_describer_prints_upstreams_layout() {
        let d = deployment();
        let rs = replicaset(&d);
        let events = [event(
            "ScalingReplicaSet",
            "Scaled up replica set hello-6d5f8c9b7 from 0 to 3",
            "2026-11-24T10:00:20Z",
        )];
        let text = describe_deployment(&d, &[rs], Some(&events), now());
        let zone = "2026-11-24T10:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .to_zoned(TimeZone::system())
            .strftime("%a, %d %b %Y %H:%M:%S %z")
            .to_string();
        let expected = format!("\
Name:                   hello
Namespace:              default
CreationTimestamp:      {zone}
Labels:                 app=hello
Annotations:            bosun.dev/revision: 1
Selector:               app=hello
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=hello
  Containers:
   nginx:
    Image:         nginx:1.27
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  <none>
NewReplicaSet:   hello-6d5f8c9b7 (3/3 replicas created)
Events:
  Type    Reason             Age   From                             Message
  ----    ------             ----  ----                             -------
  Normal  ScalingReplicaSet  10s   deployment-controller.bosun.dev  Scaled up replica set hello-6d5f8c9b7 from 0 to 3
");
        assert_eq!(text, expected);
    }

    #[test]
    fn old_replicasets_are_those_whose_template_differs() {
        let d = deployment();
        let mut old = replicaset(&d);
        old.metadata.name = Some("hello-old".into());
        old.metadata.uid = Some("r0".into());
        old.spec.replicas = Some(0);
        old.status = None;
        if let Some(s) = old.spec.template.spec.as_mut() {
            s.containers[0].image = Some("nginx:1.26".into());
        }
        let text = describe_deployment(&d, &[old, replicaset(&d)], None, now());
        assert!(
            text.contains("OldReplicaSets:  hello-old (0/0 replicas created)\n"),
            "{text}"
        );
        assert!(
            text.contains("NewReplicaSet:   hello-6d5f8c9b7 (3/3 replicas created)\n"),
            "{text}"
        );
        assert!(!text.contains("Events:"), "{text}");
    }

    #[test]
    fn pod_replacement_policy_is_shown_only_when_set() {
        let mut d = deployment();
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(!text.contains("PodReplacementPolicy"), "{text}");
        d.spec.pod_replacement_policy =
            Some(bosun_api::apps::PodReplacementPolicy::TerminationComplete);
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains(
                "RollingUpdateStrategy:  25% max unavailable, 25% max surge\nPodReplacementPolicy:   TerminationComplete\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn an_abort_and_its_switch_are_shown() {
        let mut d = deployment();
        d.spec.scale_strategy = Some(bosun_api::apps::ScaleStrategy {
            pods_to_delete: Some(vec!["hello-a".into(), "hello-b".into()]),
        });
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("PodsToDelete:           hello-a, hello-b\n"),
            "{text}"
        );
        d.spec.scale_strategy = None;
        d.spec.progress_deadline_abort = Some(true);
        if let Some(st) = d.status.as_mut() {
            st.aborted_template_hash = Some("7fdc67d697".into());
        }
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("ProgressDeadlineAbort:  true\nAborted:                pod-template-hash 7fdc67d697 (kubectl bosun rollout retry to roll it out)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_partition_is_shown_with_the_pods_it_keeps() {
        let mut d = deployment();
        d.spec.strategy = Some(bosun_api::apps::DeploymentStrategy {
            type_: Some(bosun_api::apps::DeploymentStrategyType::RollingUpdate),
            rolling_update: Some(bosun_api::apps::RollingUpdateDeployment {
                max_unavailable: Some(IntOrString::Int(0)),
                max_surge: Some(IntOrString::Int(1)),
                partition: Some(IntOrString::String("50%".into())),
            }),
        });
        let text = describe_deployment(&d, &[replicaset(&d)], None, now());
        assert!(
            text.contains("RollingUpdateStrategy:  0 max unavailable, 1 max surge\nPartition:              50% (2 Pods kept on old revisions)\n"),
            "{text}"
        );
    }

    #[test]
    fn replicaset_describer_prints_upstreams_layout() {
        let rs = replicaset(&deployment());
        let text = describe_replicaset(&rs, Ok((3, 0, 0, 0)), Some(&[]), now());
        let expected = "\
Name:           hello-6d5f8c9b7
Namespace:      default
Selector:       app=hello,pod-template-hash=6d5f8c9b7
Labels:         app=hello
                pod-template-hash=6d5f8c9b7
Annotations:    bosun.dev/revision: 1
Controlled By:  Deployment/hello
Replicas:       3 current / 3 desired
Pods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed
Pod Template:
  Labels:  app=hello
           pod-template-hash=6d5f8c9b7
  Containers:
   nginx:
    Image:         nginx:1.27
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Events:            <none>
";
        assert_eq!(text, expected);
    }

    #[test]
    fn human_duration_matches_apimachinery() {
        for (secs, want) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (5, "5s"),
            (119, "119s"),
            (150, "2m30s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (9 * 3600, "9h"),
            (3 * 86400, "3d"),
            (30 * 86400, "30d"),
            (800 * 86400, "2y70d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn selectors_print_sorted_by_key() {
        let s: LabelSelector = serde_json::from_value(json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]}, {"key": "0", "operator": "DoesNotExist"}]})).unwrap();
        assert_eq!(selector_string(&s), "!0,a=1,b=2,c in (x,y)");
        assert_eq!(format_selector(&LabelSelector::default()), "<none>");
    }
}
