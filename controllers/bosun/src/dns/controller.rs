//! The dns controller's `act` side: one DNSRecordSet per core Service (same namespace and
//! name, controlled by the Service), holding the records [`bosun_core::dns::records`] computes
//! from the Service and its bosun EndpointSlices. Written only when its content changes.

use std::sync::Arc;

use crate::runtime::entry::{Entry, pending};
use crate::runtime::informer::Informer;
use crate::runtime::rbac::{Rule, rule};

use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::DNSRecordSet;
use bosun_core::dns::{SERVICE_NAME_LABEL, Write, plan, service_ref, status};
use bosun_core::key_of;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use tracing::{debug, info};

use crate::runtime::informer::Handler;
use crate::runtime::queue::WorkQueue;
use crate::runtime::{ApiError, Requeue, Shared, api_err, namespace_index};

/// The field manager of this controller.
pub const MANAGER: &str = "dns-controller.bosun.dev";

/// What can go wrong in one sync; every variant requeues the Service with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An API call failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The cached object lacks a field the API server always sets.
    #[error(transparent)]
    Meta(#[from] crate::runtime::meta::MissingMeta),
}

impl crate::runtime::MetricLabel for Error {
    fn metric_label(&self) -> &'static str {
        match self {
            Error::Api(_) => "api",
            Error::Meta(_) => "metadata",
        }
    }
}

/// This controller in `bosun run`'s registry (`registry/mod.rs`).
pub const ENTRY: Entry = Entry {
    name: "dns",
    about: "core Service + bosun EndpointSlices → dns.bosun.dev/v1 DNSRecordSet.",
    rbac: RBAC,
    start: |shared, flags| pending(Controller::new(shared.clone(), &flags.dns_zone)),
};

/// What this controller asks of the API server; the chart's ClusterRole grants exactly this
/// (see `runtime/rbac.rs`). Each rule says which calls need it.
pub const RBAC: &[Rule] = &[
    rule(
        "",
        &["services"],
        &["list", "watch"],
        "dns/controller.rs: its Service handlers (informer)",
    ),
    rule(
        "",
        &["services/finalizers"],
        &["update"],
        "not a call: its DNSRecordSets carry a blockOwnerDeletion owner reference to \
         the Service",
    ),
    rule(
        "discovery.bosun.dev",
        &["endpointslices"],
        &["list", "watch"],
        "dns/controller.rs: its slice handlers (informer)",
    ),
    rule(
        "dns.bosun.dev",
        &["dnsrecordsets"],
        &["list", "watch"],
        "dns/controller.rs: its DNSRecordSet handlers (informer)",
    ),
    rule(
        "dns.bosun.dev",
        &["dnsrecordsets"],
        &["patch", "create", "delete"],
        "dns/controller.rs: server-side apply (a patch; the API server also asks for \
         create when the apply creates the object), delete with preconditions",
    ),
    rule(
        "dns.bosun.dev",
        &["dnsrecordsets/status"],
        &["patch"],
        "dns/controller.rs through runtime/status.rs: the status (server-side apply)",
    ),
];

/// The dns controller.
pub struct Controller {
    shared: Arc<Shared>,
    services: Arc<Informer<Service>>,
    endpointslices: Arc<Informer<EndpointSlice>>,
    dnsrecordsets: Arc<Informer<DNSRecordSet>>,
    queue: WorkQueue,
    zone: String,
}

impl Controller {
    /// A controller writing records under `zone`; registers its handlers on the shared
    /// Service, EndpointSlice and DNSRecordSet informers.
    pub fn new(shared: Arc<Shared>, zone: &str) -> Arc<Self> {
        let c = Arc::new(Self {
            shared: shared.clone(),
            services: shared.informer(),
            endpointslices: shared.informer(),
            dnsrecordsets: shared.informer(),
            queue: WorkQueue::default(),
            zone: bosun_core::dns::normalize_zone(zone),
        });
        c.services.add_handler(Arc::new(ServiceEvents(c.clone())));
        c.endpointslices
            .add_handler(Arc::new(SliceEvents(c.clone())));
        c.dnsrecordsets.add_handler(Arc::new(SetEvents(c.clone())));
        c
    }

    /// The bosun EndpointSlices of a Service (labelled with its name, in its namespace).
    fn slices_of(&self, ns: &str, name: &str) -> Vec<Arc<EndpointSlice>> {
        self.endpointslices
            .by_index(&namespace_index(ns))
            .into_iter()
            .filter(|s| service_key_of_slice(s).is_some_and(|k| k == format!("{ns}/{name}")))
            .collect()
    }

    async fn sync_service(&self, key: &str) -> Result<Requeue, Error> {
        let Some(svc) = self.services.get(key) else {
            // The garbage collector removes the set through its owner reference.
            return Ok(Requeue::No);
        };
        if svc.metadata.deletion_timestamp.is_some() {
            return Ok(Requeue::No);
        }
        let crate::runtime::meta::Identity {
            namespace: ns,
            name,
            ..
        } = crate::runtime::meta::Identity::of(&*svc)?;
        let slices = self.slices_of(&ns, &name);
        let slice_refs: Vec<&EndpointSlice> = slices.iter().map(|s| s.as_ref()).collect();
        let existing = self.dnsrecordsets.get(key);
        let api: Api<DNSRecordSet> = Api::namespaced(self.shared.client.clone(), &ns);
        match plan(&svc, &slice_refs, &self.zone, existing.as_deref()) {
            Write::Nothing => Ok(Requeue::No),
            Write::Status(st) => {
                self.write_status(&api, &name, &st).await?;
                Ok(Requeue::No)
            }
            Write::Spec(spec) => {
                let body = json!({
                    "apiVersion": "dns.bosun.dev/v1",
                    "kind": "DNSRecordSet",
                    "metadata": {"name": name, "ownerReferences": [service_ref(&svc)]},
                    "spec": spec,
                });
                let written = api
                    .patch(
                        &name,
                        &PatchParams::apply(MANAGER).force(),
                        &Patch::Apply(&body),
                    )
                    .await
                    .map_err(api_err("applying the DNSRecordSet"))?;
                let st = status(&spec.records, written.metadata.generation);
                if written.status.as_ref() != Some(&st) {
                    self.write_status(&api, &name, &st).await?;
                }
                info!(records = spec.records.len(), "wrote DNS records");
                Ok(Requeue::No)
            }
            Write::Replace { uid } => {
                let dp = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: Some(uid),
                        resource_version: None,
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
                    Err(e) => return Err(api_err("deleting a foreign DNSRecordSet")(e).into()),
                }
                info!("replacing a DNSRecordSet not controlled by this Service");
                // The deletion's watch event requeues the key and the next sync creates ours.
                Ok(Requeue::No)
            }
        }
    }

    async fn write_status(
        &self,
        api: &Api<DNSRecordSet>,
        name: &str,
        st: &bosun_api::dns::DNSRecordSetStatus,
    ) -> Result<(), Error> {
        crate::runtime::status::apply(api, name, MANAGER, st)
            .await
            .map_err(api_err("writing the DNSRecordSet status"))?;
        debug!(records = st.record_count, "wrote status");
        Ok(())
    }
}

/// `namespace/service` of the Service a slice belongs to, by its service-name label.
fn service_key_of_slice(s: &EndpointSlice) -> Option<String> {
    let svc = s.metadata.labels.as_ref()?.get(SERVICE_NAME_LABEL)?;
    Some(format!(
        "{}/{svc}",
        s.metadata.namespace.as_deref().unwrap_or_default()
    ))
}

impl crate::runtime::Reconciler for Controller {
    const NAME: &'static str = "dns";
    type Error = Error;
    type Primary = Service;

    fn queue(&self) -> &WorkQueue {
        &self.queue
    }

    fn primary(&self) -> &crate::runtime::informer::Informer<Service> {
        &self.services
    }

    async fn sync(&self, key: &str) -> Result<Requeue, Error> {
        self.sync_service(key).await
    }
}

/// Service changes: resync that Service.
struct ServiceEvents(Arc<Controller>);

impl Handler<Service> for ServiceEvents {
    fn on_add(&self, s: &Arc<Service>) {
        self.0.queue.add(&key_of(&s.metadata));
    }
    fn on_update(&self, old: &Arc<Service>, cur: &Arc<Service>) {
        if old.spec != cur.spec || old.metadata.uid != cur.metadata.uid {
            self.0.queue.add(&key_of(&cur.metadata));
        }
    }
    fn on_delete(&self, _: &Arc<Service>) {}
}

/// EndpointSlice changes: resync the Service(s) named by the old and new labels.
struct SliceEvents(Arc<Controller>);

impl Handler<EndpointSlice> for SliceEvents {
    fn on_add(&self, s: &Arc<EndpointSlice>) {
        if let Some(k) = service_key_of_slice(s) {
            self.0.queue.add(&k);
        }
    }
    fn on_update(&self, old: &Arc<EndpointSlice>, cur: &Arc<EndpointSlice>) {
        let (a, b) = (service_key_of_slice(old), service_key_of_slice(cur));
        if let Some(k) = &b {
            self.0.queue.add(k);
        }
        if let Some(k) = a.filter(|a| Some(a) != b.as_ref()) {
            self.0.queue.add(&k);
        }
    }
    fn on_delete(&self, s: &Arc<EndpointSlice>) {
        if let Some(k) = service_key_of_slice(s) {
            self.0.queue.add(&k);
        }
    }
}

/// DNSRecordSet changes made by others (an edit, a deletion): resync its Service, which
/// restores it. The controller's own writes come back here too and find nothing to do.
struct SetEvents(Arc<Controller>);

impl Handler<DNSRecordSet> for SetEvents {
    fn on_add(&self, _: &Arc<DNSRecordSet>) {}
    fn on_update(&self, old: &Arc<DNSRecordSet>, cur: &Arc<DNSRecordSet>) {
        if old.spec != cur.spec || old.status != cur.status {
            self.0.queue.add(&key_of(&cur.metadata));
        }
    }
    fn on_delete(&self, s: &Arc<DNSRecordSet>) {
        self.0.queue.add(&key_of(&s.metadata));
    }
}
