//! Upstream's `describeReplicaSet`.

use bosun_api::apps::ReplicaSet;
use bosun_core::pod::controller_of;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::Writer;
use super::events::describe_events;
use super::pod_template::describe_pod_template;
use super::text::{
    annotations_multiline, describe_conditions, describe_pods_to_delete, format_selector,
    labels_multiline,
};

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
    describe_conditions(
        &mut w,
        status
            .conditions
            .iter()
            .flatten()
            .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref())),
    );
    if let Some(events) = events {
        describe_events(&mut w, events, now);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{deployment, now, replicaset};
    use super::*;

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
}
