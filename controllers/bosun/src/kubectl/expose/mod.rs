//! `kubectl bosun expose`: the core Service upstream's `kubectl expose` makes for a Deployment or
//! ReplicaSet (kubectl's pkg/cmd/expose/expose.go `RunExpose` and `createService`, with
//! polymorphichelpers' `MapBasedSelectorForObject`, `PortsForObject`, `MultiProtocolsForObject`).

mod service;

pub use service::{map_based_selector, ports_of, protocols_of, service};

use std::collections::BTreeMap;

use bosun_api::apps::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{PodSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use super::{DryRun, Failure, Kind, Session, print_result, server_error};

/// The flags of `expose` (kubectl's, with its help).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExposeFlags {
    /// The port that the service should serve on. Copied from the resource being exposed, if unspecified.
    #[arg(long)]
    pub port: Option<String>,
    /// Name or number for the port on the container that the service should direct traffic to. Optional.
    #[arg(long)]
    pub target_port: Option<String>,
    /// Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'.
    #[arg(long = "type")]
    pub type_: Option<String>,
    /// The name for the newly created object.
    #[arg(long)]
    pub name: Option<String>,
    /// The network protocol for the service to be created. Default is 'TCP'.
    #[arg(long)]
    pub protocol: Option<String>,
    /// A label selector to use for this service. Only equality-based selector requirements are supported. If empty (the default) infer the selector from the resource being exposed.
    #[arg(long)]
    pub selector: Option<String>,
    /// Labels to apply to the service created by this call.
    #[arg(short = 'l', long)]
    pub labels: Option<String>,
    /// Additional external IP address (not managed by Kubernetes) to accept for the service.
    #[arg(long)]
    pub external_ip: Option<String>,
    /// IP to assign to the LoadBalancer. If empty, an ephemeral IP will be created and used (cloud-provider specific).
    #[arg(long)]
    pub load_balancer_ip: Option<String>,
    /// If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'
    #[arg(long)]
    pub session_affinity: Option<String>,
    /// ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to create a headless service.
    #[arg(long)]
    pub cluster_ip: Option<String>,
}

/// What expose reads from the exposed object.
#[derive(Debug, Clone)]
pub struct Exposed {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its selector.
    pub selector: LabelSelector,
    /// Its pod template's spec.
    pub pod_spec: PodSpec,
    /// Its kind, for the error wording.
    pub kind: Kind,
}

/// Read the object, create its Service, print `service/NAME exposed`.
pub async fn run(
    session: &Session,
    kind: Kind,
    name: &str,
    flags: &ExposeFlags,
    dry_run: DryRun,
    output: Option<&str>,
) -> Result<String, Failure> {
    let client = session.client.clone();
    let exposed = match kind {
        Kind::Deployment => {
            let d = Api::<Deployment>::namespaced(client.clone(), &session.ns)
                .get(name)
                .await
                .map_err(server_error)?;
            Exposed {
                name: d.name_any(),
                labels: d.labels().clone(),
                selector: d.spec.selector.clone(),
                pod_spec: d.spec.template.spec.clone().unwrap_or_default(),
                kind,
            }
        }
        Kind::ReplicaSet => {
            let rs = Api::<ReplicaSet>::namespaced(client.clone(), &session.ns)
                .get(name)
                .await
                .map_err(server_error)?;
            Exposed {
                name: rs.name_any(),
                labels: rs.labels().clone(),
                selector: rs.spec.selector.clone(),
                pod_spec: rs.spec.template.spec.clone().unwrap_or_default(),
                kind,
            }
        }
    };
    let mut object = service(&exposed, flags)?;
    let svc_name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if dry_run == DryRun::Client {
        if session.explicit_ns {
            object["metadata"]["namespace"] = json!(session.ns);
        }
        return print_result("service", &svc_name, "exposed", dry_run, output, &object);
    }
    let svc: Service = serde_json::from_value(object)?;
    let pp = PostParams {
        dry_run: dry_run == DryRun::Server,
        field_manager: Some("kubectl-expose".into()),
    };
    let created = Api::<Service>::namespaced(client, &session.ns)
        .create(&pp, &svc)
        .await
        .map_err(server_error)?;
    let mut value = serde_json::to_value(&created)?;
    if let Some(m) = value
        .pointer_mut("/metadata")
        .and_then(Value::as_object_mut)
    {
        m.remove("managedFields");
    }
    print_result("service", &svc_name, "exposed", dry_run, output, &value)
}
