//! `bosun selftest`: what the chart's `helm test` Pod runs. It checks that the controllers
//! answer (a bosun Deployment of one replica rolls out, then is deleted) and that the DNS
//! server answers its own Service's name with that Service's ClusterIP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bosun_api::apps::Deployment;
use hickory_proto::op::{Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

/// The flags of `bosun selftest`.
#[derive(clap::Args, Debug)]
pub struct SelftestArgs {
    /// The namespace to create the test Deployment in (the release's).
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: String,
    /// The test Deployment's name.
    #[arg(long, default_value = "bosun-selftest")]
    pub name: String,
    /// The test Deployment's image.
    #[arg(long, default_value = "registry.k8s.io/pause:3.10")]
    pub image: String,
    /// The DNS server's Service (in --namespace) to ask for its own name; none: skip the check.
    #[arg(long)]
    pub dns_service: Option<String>,
    /// The cluster's DNS zone.
    #[arg(long, default_value = "cluster.local")]
    pub zone: String,
    /// How long each check may take.
    #[arg(long, default_value = "120s", value_parser = crate::duration::parse)]
    pub timeout: Duration,
}

/// Whether a Deployment's status shows one available replica of its current generation.
fn rolled_out(d: &Deployment) -> bool {
    let Some(s) = d.status.as_ref() else {
        return false;
    };
    s.observed_generation == d.metadata.generation
        && s.updated_replicas == 1
        && s.available_replicas == 1
}

async fn controllers_answer(client: &kube::Client, args: &SelftestArgs) -> anyhow::Result<()> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), &args.namespace);
    let labels = json!({"app.kubernetes.io/name": args.name});
    let d: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps.bosun.dev/v1", "kind": "Deployment",
        "metadata": {"name": args.name, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "selftest", "image": args.image}]}}}
    }))
    .context("building the test Deployment")?;
    // A leftover of an interrupted run goes first.
    let _ = api.delete(&args.name, &DeleteParams::foreground()).await;
    let started = Instant::now();
    loop {
        match api.create(&PostParams::default(), &d).await {
            Ok(_) => break,
            Err(kube::Error::Api(e)) if e.code == 409 && started.elapsed() < args.timeout => {
                // The leftover is still being deleted.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).context(format!("creating deployment {}", args.name)),
        }
    }
    let outcome = async {
        loop {
            let cur = api
                .get(&args.name)
                .await
                .context("reading the test Deployment")?;
            if rolled_out(&cur) {
                return anyhow::Ok(());
            }
            if started.elapsed() > args.timeout {
                bail!(
                    "deployment {} did not roll out within {:?}: status {:?}",
                    args.name,
                    args.timeout,
                    cur.status
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    .await;
    let deleted = api.delete(&args.name, &DeleteParams::background()).await;
    outcome?;
    deleted.context("deleting the test Deployment")?;
    println!(
        "controllers: deployment {} rolled out 1/1 in {:.1}s (and was deleted)",
        args.name,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn dns_answers(client: &kube::Client, args: &SelftestArgs, svc: &str) -> anyhow::Result<()> {
    let services: Api<Service> = Api::namespaced(client.clone(), &args.namespace);
    let spec = services
        .get(svc)
        .await
        .with_context(|| format!("reading service {svc}"))?
        .spec
        .unwrap_or_default();
    let ip: std::net::IpAddr = spec
        .cluster_ip
        .as_deref()
        .context("the DNS Service has no ClusterIP")?
        .parse()
        .context("the DNS Service's ClusterIP")?;
    let port = spec
        .ports
        .iter()
        .flatten()
        .find(|p| p.protocol.as_deref().unwrap_or("TCP") == "UDP")
        .map_or(53, |p| p.port);
    let port = u16::try_from(port).context("the DNS Service's port")?;
    let server = SocketAddr::new(ip, port);
    let name = format!(
        "{svc}.{}.svc.{}.",
        args.namespace,
        args.zone.trim_matches('.')
    );
    let query = Query::query(
        Name::from_ascii(&name).with_context(|| format!("{name} is not a DNS name"))?,
        RecordType::A,
    );
    let forwarder = crate::dns::forward::Forwarder::new(
        &[server],
        Duration::from_secs(2),
        1,
        Duration::from_secs(1),
    );
    let started = Instant::now();
    loop {
        let got = forwarder.forward(&query, true, false).await;
        let addresses: Vec<String> = match &got {
            Ok(f) if f.answer.rcode == ResponseCode::NoError => f
                .answer
                .answers
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if addresses.contains(&ip.to_string()) {
            println!(
                "dns: {server} answered {name} A {} in {:.1}s",
                addresses.join(" "),
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if started.elapsed() > args.timeout {
            bail!(
                "{server} did not answer {name} A with {ip} within {:?}: last answer {:?}",
                args.timeout,
                got.map(|f| f.answer)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Run both checks; the first failure is the error.
pub async fn run(args: SelftestArgs) -> anyhow::Result<()> {
    let client = crate::runtime::client::unfenced()
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    controllers_answer(&client, &args).await?;
    if let Some(svc) = args.dns_service.as_deref() {
        dns_answers(&client, &args, svc).await?;
    }
    Ok(())
}
