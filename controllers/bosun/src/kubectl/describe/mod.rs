//! `kubectl bosun describe deploy|rs`: upstream's `DeploymentDescriber` and `ReplicaSetDescriber`
//! (kubectl's pkg/describe/describe.go), line for line, for bosun's kinds. The text is built by
//! pure functions from the objects read and the time now; [`super::tabwriter`] aligns it.
//!
//! ```text
//! deployment.rs  replicaset.rs   the describer of each kind
//! pod_template.rs                its Pod template (containers.rs: each container)
//! events.rs  text.rs             the Events table; ages, selectors, labels, conditions
//! ```

mod containers;
mod deployment;
mod events;
#[cfg(test)]
mod fixtures;
mod pod_template;
mod replicaset;
mod text;

pub use deployment::describe_deployment;
pub use pod_template::pod_template_raw;
pub use replicaset::{describe_replicaset, pod_phases};
pub use text::{human_duration, selector_string};

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::pod::controller_of;
use bosun_core::selector::Selector;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::jiff::Timestamp;
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

/// The events of `o` when they were asked for (`--show-events`), else `None`.
async fn events_if<K: kube::Resource>(
    session: &Session,
    kind: Kind,
    o: &K,
    show_events: bool,
) -> Option<Vec<Event>> {
    if !show_events {
        return None;
    }
    let uid = o.meta().uid.clone().unwrap_or_default();
    Some(events_for(session, kind, &o.name_any(), &uid).await)
}

/// The object `name`, or without a name every object of the kind in the session's namespace;
/// kubectl's `No resources found` when there is none.
async fn read<K>(session: &Session, name: Option<&str>) -> Result<Vec<K>, Failure>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(session.client.clone(), &session.ns);
    let objects = match name {
        Some(n) => vec![api.get(n).await.map_err(server_error)?],
        None => {
            api.list(&ListParams::default())
                .await
                .map_err(server_error)?
                .items
        }
    };
    if objects.is_empty() {
        return Err(Failure(format!(
            "No resources found in {} namespace.",
            session.ns
        )));
    }
    Ok(objects)
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
    let texts = match kind {
        Kind::Deployment => deployments(session, name, show_events, now).await?,
        Kind::ReplicaSet => replicasets(session, name, show_events, now).await?,
    };
    Ok(texts.join("\n\n"))
}

/// The text of each Deployment, with the ReplicaSets it controls whose template its selector
/// matches.
async fn deployments(
    session: &Session,
    name: Option<&str>,
    show_events: bool,
    now: Timestamp,
) -> Result<Vec<String>, Failure> {
    let ds: Vec<Deployment> = read(session, name).await?;
    let all_rs = Api::<ReplicaSet>::namespaced(session.client.clone(), &session.ns)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let mut texts = Vec::new();
    for d in ds {
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let selector = Selector::new(&d.spec.selector).ok();
        let matches = |rs: &ReplicaSet| {
            let labels = rs.spec.template.metadata.as_ref();
            selector
                .as_ref()
                .is_none_or(|s| s.matches(labels.and_then(|m| m.labels.as_ref())))
        };
        let rss: Vec<ReplicaSet> = all_rs
            .iter()
            .filter(|rs| controller_of(&rs.metadata).is_some_and(|r| r.uid == uid))
            .filter(|rs| matches(rs))
            .cloned()
            .collect();
        let events = events_if(session, Kind::Deployment, &d, show_events).await;
        texts.push(describe_deployment(&d, &rss, events.as_deref(), now));
    }
    Ok(texts)
}

/// The text of each ReplicaSet, with its Pods counted by phase.
async fn replicasets(
    session: &Session,
    name: Option<&str>,
    show_events: bool,
    now: Timestamp,
) -> Result<Vec<String>, Failure> {
    let rss: Vec<ReplicaSet> = read(session, name).await?;
    let mut texts = Vec::new();
    for rs in rss {
        let selector = selector_string(&rs.spec.selector);
        let pods = Api::<Pod>::namespaced(session.client.clone(), &session.ns)
            .list(&ListParams::default().labels(&selector))
            .await
            .map(|l| pod_phases(&rs, &l.items))
            .map_err(|e| e.to_string());
        let events = events_if(session, Kind::ReplicaSet, &rs, show_events).await;
        texts.push(describe_replicaset(&rs, pods, events.as_deref(), now));
    }
    Ok(texts)
}
