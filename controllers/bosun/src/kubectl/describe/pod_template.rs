//! Upstream's `DescribePodTemplate`: labels, containers, volumes, scheduling.

use k8s_openapi::api::core::v1::{PodTemplateSpec, Toleration, TopologySpreadConstraint, Volume};

use super::Writer;
use super::containers::describe_containers;
use super::text::{annotations_multiline, format_selector, labels_multiline};

/// Upstream's `DescribePodTemplate`.
pub(super) fn describe_pod_template(w: &mut Writer, t: &PodTemplateSpec) {
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
    describe_spread(
        w,
        spec.topology_spread_constraints
            .as_deref()
            .unwrap_or_default(),
    );
    if let Some(pc) = spec
        .priority_class_name
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        w.w(1, &format!("Priority Class Name:\t{pc}\n"));
    }
    labels_multiline(w, "  Node-Selectors", spec.node_selector.as_ref());
    describe_tolerations(w, spec.tolerations.as_deref().unwrap_or_default());
}

/// `Topology Spread Constraints:` by topology key, when there are any.
fn describe_spread(w: &mut Writer, constraints: &[TopologySpreadConstraint]) {
    if constraints.is_empty() {
        return;
    }
    let mut tscs = constraints.to_vec();
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

/// `Tolerations:` by key, as upstream's `printTolerationsMultilineWithIndent`.
fn describe_tolerations(w: &mut Writer, tolerations: &[Toleration]) {
    w.w(0, "  Tolerations:\t");
    if tolerations.is_empty() {
        w.w(0, "<none>\n");
    }
    let mut tols = tolerations.to_vec();
    tols.sort_by(|a, b| a.key.cmp(&b.key));
    for (i, t) in tols.iter().enumerate() {
        if i != 0 {
            w.w(0, "  \t");
        }
        w.w(0, &format!("{}\n", toleration_text(t)));
    }
}

/// One toleration: `key=value:effect`, ` op=Exists` for a key without value, ` for Ns`.
fn toleration_text(t: &Toleration) -> String {
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
    s
}

/// The Pod Template block as `rollout history --revision` prints it: describe's writer without
/// the tab alignment (upstream's `printTemplate`).
pub fn pod_template_raw(t: &PodTemplateSpec) -> String {
    let mut w = Writer::default();
    describe_pod_template(&mut w, t);
    w.buf
}

pub(super) fn describe_volumes(w: &mut Writer, volumes: &[Volume]) {
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
