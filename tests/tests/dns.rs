//! DNS for Services on the real cluster: the dns controller (in `bosun run`) writes
//! DNSRecordSets, `bosun dns` (started here on free 127.0.0.1 ports, DNS and metrics) answers
//! from them, and the real `dig` (bind9-dnsutils) asks, over UDP and TCP.
//!
//! Where the endpoints come from, and why the two kinds never meet:
//!
//! - **The real chain.** Services with a `spec.selector` over real Pods (bound to the kwok nodes
//!   `kwok-node-{0,1,2}`, which mark them Running and Ready and give them IPs): the EndpointSlice
//!   controller of the same `bosun run` writes their bosun EndpointSlices, the dns controller
//!   turns them into records. The tests that measure readiness propagation use this chain.
//! - **Hand-made slices.** Tests that need endpoints no kwok pod has (80 of them for truncation,
//!   IPv6 addresses, exact IPs and hostnames, a not-ready endpoint written as such) write bosun
//!   EndpointSlices themselves, the way a user does upstream for a Service without a selector:
//!   the Service has **no `spec.selector`**, and each slice is labelled
//!   `kubernetes.io/service-name: <svc>` and `endpointslice.kubernetes.io/managed-by:
//!   e2e.bosun.dev` (not bosun's `endpointslice.bosun.dev`). The EndpointSlice controller owns
//!   only slices labelled with its own managed-by value (for a selector-less Service it deletes
//!   those, and only those), so it leaves these alone; the dns controller reads every bosun
//!   slice by its service-name label, whoever manages it. [`Env::assert_left_alone`] checks
//!   both halves at the end of each such test: after poking the Service and letting the
//!   EndpointSlice controller's queue move past it, the hand-made slices are there with their
//!   resourceVersions unchanged and no slice of bosun's manager exists for the Service.
//!
//! kwok sometimes gives two pods the same IP, so answers are compared as sets of distinct
//! values, and reverse lookups of a pod IP check that the expected name is among the answers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::DNSRecordSet;
use bosun_e2e::{
    ControllerProcess, TestNamespace, client, ensure_controller, ensure_crds, http_get, kubectl,
    metric, poll, run,
};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

#[path = "support/dns_upstream.rs"]
mod dns_upstream;
use dns_upstream::Upstream;

const WAIT: Duration = Duration::from_secs(90);
const ZONE: &str = "cluster.local";
/// The managed-by value of the tests' hand-made slices (bosun's own is `endpointslice.bosun.dev`).
const USER_MANAGER: &str = "e2e.bosun.dev";
const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// This test process's `bosun dns`: the process, its DNS port and its metrics port.
struct DnsServer {
    proc: ControllerProcess,
    port: u16,
    metrics_port: u16,
}

static SERVER: tokio::sync::OnceCell<DnsServer> = tokio::sync::OnceCell::const_new();

/// A port free on 127.0.0.1 for both UDP and TCP right now.
fn free_port() -> anyhow::Result<u16> {
    for _ in 0..20 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    anyhow::bail!("no port free for both UDP and TCP")
}

use bosun_e2e::free_tcp_port;

/// The shared server's upstream: the tests' own resolver on loopback (nothing is forwarded
/// off this machine; the default of reading /etc/resolv.conf is never used here).
static UPSTREAM: std::sync::OnceLock<Upstream> = std::sync::OnceLock::new();

fn shared_upstream() -> anyhow::Result<&'static Upstream> {
    if let Some(u) = UPSTREAM.get() {
        return Ok(u);
    }
    let u = Upstream::start()?;
    Ok(UPSTREAM.get_or_init(|| u))
}

/// Start a `bosun dns` on free ports (logging to `target/e2e-logs/<log>.log`) forwarding to the
/// test upstream on `upstream_port`, with `extra` flags, and wait until it answers.
async fn start_dns_server_with(
    log: &str,
    upstream_port: u16,
    extra: &[&str],
) -> anyhow::Result<DnsServer> {
    let port = free_port()?;
    let metrics_port = free_tcp_port(port)?;
    let listen = format!("127.0.0.1:{port}");
    let metrics = format!("--metrics-addr=127.0.0.1:{metrics_port}");
    let upstream = format!("--upstream=127.0.0.1:{upstream_port}");
    let mut args = vec!["--listen", &listen, &metrics, &upstream];
    args.extend_from_slice(extra);
    let proc = ControllerProcess::start_subcommand(log, "dns", &args)?;
    poll("bosun dns to answer", WAIT, || async move {
        let d = dig(port, &format!("dns-version.{ZONE}"), "TXT", &[])?;
        Ok((d.status == "NOERROR").then_some(()))
    })
    .await?;
    Ok(DnsServer {
        proc,
        port,
        metrics_port,
    })
}

async fn start_dns_server(log: &str) -> anyhow::Result<DnsServer> {
    start_dns_server_with(log, shared_upstream()?.port, &[]).await
}

/// This test process's shared `bosun dns`, started once and answering: (DNS port, metrics port).
async fn dns_server() -> anyhow::Result<(u16, u16)> {
    let s = SERVER
        .get_or_try_init(|| start_dns_server("dns-server"))
        .await?;
    Ok((s.port, s.metrics_port))
}

/// One resource record as dig prints it.
#[derive(Debug, Clone, PartialEq)]
struct Rr {
    name: String,
    ttl: u32,
    type_: String,
    data: String,
}

/// What dig printed: status, header flags and sections.
#[derive(Debug, Default)]
struct Dig {
    status: String,
    flags: Vec<String>,
    answer: Vec<Rr>,
    authority: Vec<Rr>,
    additional: Vec<Rr>,
}

impl Dig {
    /// The data of the answers of one type, sorted.
    fn data(&self, type_: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .answer
            .iter()
            .filter(|r| r.type_ == type_)
            .map(|r| r.data.clone())
            .collect();
        v.sort();
        v
    }
    /// The distinct data of the answers of one type.
    fn data_set(&self, type_: &str) -> BTreeSet<String> {
        self.data(type_).into_iter().collect()
    }
    fn has_soa_authority(&self) -> bool {
        self.authority.iter().any(|r| r.type_ == "SOA")
    }
}
/// `dig @127.0.0.1 -p <port> <name> <type> <extra..>`, parsed. Three tries, as a resolver
/// retries: on a loaded machine the kernel may drop a UDP datagram now and then.
fn dig(port: u16, name: &str, type_: &str, extra: &[&str]) -> anyhow::Result<Dig> {
    dig_at("127.0.0.1", port, name, type_, extra)
}

/// [`dig`] at the server address `addr` (`127.0.0.1`, `::1`).
fn dig_at(addr: &str, port: u16, name: &str, type_: &str, extra: &[&str]) -> anyhow::Result<Dig> {
    let server = format!("@{addr}");
    let port_s = port.to_string();
    let mut args = vec![
        server.as_str(),
        "-p",
        &port_s,
        "+noall",
        "+comments",
        "+answer",
        "+authority",
        "+additional",
        "+tries=3",
        "+time=2",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[name, type_]);
    let out = run("dig", &args)?;
    if out.code != 0 {
        anyhow::bail!(
            "dig {args:?} exited {}: {}{}",
            out.code,
            out.stdout,
            out.stderr
        );
    }
    let mut d = Dig::default();
    let mut section = "";
    for line in out.stdout.lines() {
        if let Some(rest) = line.split("status: ").nth(1) {
            d.status = rest.split(',').next().unwrap_or_default().to_string();
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            d.flags = rest
                .split(';')
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
        } else if line.starts_with(";; ANSWER SECTION") {
            section = "answer";
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = "authority";
        } else if line.starts_with(";; ADDITIONAL SECTION") {
            section = "additional";
        } else if line.starts_with(';') || line.trim().is_empty() {
            continue;
        } else {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 5 {
                continue;
            }
            let rr = Rr {
                name: f[0].to_string(),
                ttl: f[1].parse().unwrap_or_default(),
                type_: f[3].to_string(),
                data: f[4..].join(" "),
            };
            match section {
                "answer" => d.answer.push(rr),
                "authority" => d.authority.push(rr),
                "additional" => d.additional.push(rr),
                _ => {}
            }
        }
    }
    Ok(d)
}

struct Env {
    client: Client,
    ns: TestNamespace,
    port: u16,
    metrics_port: u16,
    services: Api<Service>,
    slices: Api<EndpointSlice>,
    pods: Api<Pod>,
}

async fn env(prefix: &str) -> anyhow::Result<Env> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("dns")?;
    let (port, metrics_port) = dns_server().await?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok(Env {
        services: Api::namespaced(client.clone(), &ns.name),
        slices: Api::namespaced(client.clone(), &ns.name),
        pods: Api::namespaced(client.clone(), &ns.name),
        client,
        ns,
        port,
        metrics_port,
    })
}

impl Env {
    fn fqdn(&self, svc: &str) -> String {
        format!("{svc}.{}.svc.{ZONE}.", self.ns.name)
    }

    async fn service(&self, body: Value) -> anyhow::Result<Service> {
        Ok(self
            .services
            .create(&PostParams::default(), &serde_json::from_value(body)?)
            .await?)
    }

    /// Write a bosun EndpointSlice of the selector-less Service `svc` by hand, as a user does
    /// upstream: labelled with the Service's name and the tests' own managed-by value. Its
    /// resourceVersion after the write.
    async fn slice(
        &self,
        svc: &str,
        name: &str,
        address_type: &str,
        endpoints: Value,
        ports: Value,
    ) -> anyhow::Result<String> {
        let body = json!({
            "apiVersion": "discovery.bosun.dev/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {
                LABEL_SERVICE_NAME: svc,
                LABEL_MANAGED_BY: USER_MANAGER}},
            "addressType": address_type,
            "endpoints": endpoints,
            "ports": ports,
        });
        let written = self
            .slices
            .patch(
                name,
                &PatchParams::apply("bosun-e2e").force(),
                &Patch::Apply(&body),
            )
            .await?;
        Ok(written.resource_version().unwrap_or_default())
    }

    /// The bosun EndpointSlices labelled with `svc`'s name: name → (managed-by, resourceVersion).
    async fn slices_of(&self, svc: &str) -> anyhow::Result<BTreeMap<String, (String, String)>> {
        let list = self
            .slices
            .list(&ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}={svc}")))
            .await?;
        Ok(list
            .items
            .iter()
            .map(|s| {
                let by = s
                    .labels()
                    .get(LABEL_MANAGED_BY)
                    .cloned()
                    .unwrap_or_default();
                (s.name_any(), (by, s.resource_version().unwrap_or_default()))
            })
            .collect())
    }

    /// The EndpointSlice controller left the hand-made slices of the selector-less Service
    /// `svc` alone: poke `svc` (an annotation, so the controller syncs it again), then create a
    /// sentinel Service with a selector and wait for the placeholder slice the controller
    /// writes for it — queued after the poke, so the controller's queue has moved past `svc` —
    /// and compare: exactly the hand-made slices `made` (name → resourceVersion of the last
    /// write), unchanged, and none of bosun's manager.
    async fn assert_left_alone(
        &self,
        svc: &str,
        made: &BTreeMap<String, String>,
    ) -> anyhow::Result<()> {
        self.services
            .patch(
                svc,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": {
                    "e2e.bosun.dev/poke": format!("{:?}", Instant::now())}}})),
            )
            .await?;
        let sentinel = format!("{svc}-sentinel");
        self.service(json!({"metadata": {"name": sentinel}, "spec": {
            "selector": {"e2e.bosun.dev/selects": "nothing"}, "ports": [{"port": 80}]}}))
            .await?;
        poll(
            "the EndpointSlice controller's placeholder slice of the sentinel Service",
            WAIT,
            || async {
                let of = self.slices_of(&sentinel).await?;
                Ok(of
                    .values()
                    .any(|(by, _)| by == bosun_api::discovery::MANAGED_BY)
                    .then_some(()))
            },
        )
        .await?;
        let now = self.slices_of(svc).await?;
        let want: BTreeMap<String, (String, String)> = made
            .iter()
            .map(|(n, rv)| (n.clone(), (USER_MANAGER.to_string(), rv.clone())))
            .collect();
        assert_eq!(
            now, want,
            "the hand-made slices of {svc} (name → (managed-by, resourceVersion))"
        );
        Ok(())
    }

    /// Poll dig until `check` holds for its answer; the last answer.
    async fn until(
        &self,
        what: &str,
        name: &str,
        type_: &str,
        check: impl Fn(&Dig) -> bool,
    ) -> anyhow::Result<Dig> {
        let port = self.port;
        let check = &check;
        poll(what, WAIT, || async move {
            let d = dig(port, name, type_, &[])?;
            Ok(check(&d).then_some(d))
        })
        .await
    }

    /// Create a pod labelled `app` on kwok node `node`, with `extra` merged into its spec.
    async fn pod(&self, name: &str, app: &str, node: usize, extra: Value) -> anyhow::Result<()> {
        let mut spec = json!({
            "nodeName": format!("kwok-node-{}", node % 3),
            "containers": [{"name": "c", "image": "registry.example/app:1",
                            "ports": [{"name": "http", "containerPort": 8080}]}],
        });
        if let (Some(s), Some(x)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(x.clone());
        }
        let body = json!({"metadata": {"name": name, "labels": {"app": app}}, "spec": spec});
        self.pods
            .create(&PostParams::default(), &serde_json::from_value(body)?)
            .await?;
        Ok(())
    }

    /// Wait until the pods `names` are Ready with an IP (kwok's doing); name → IP.
    async fn ready_ips(&self, names: &[&str]) -> anyhow::Result<BTreeMap<String, String>> {
        poll(&format!("pods {names:?} Ready with IPs"), WAIT, || async {
            let mut ips = BTreeMap::new();
            for name in names {
                let pod = self.pods.get(name).await?;
                let Some(ip) = pod_ip_if_ready(&pod) else {
                    return Ok(None);
                };
                ips.insert(name.to_string(), ip);
            }
            Ok(Some(ips))
        })
        .await
    }

    /// Set a pod's Ready condition through pods/status (kwok keeps what a status patch writes).
    async fn set_ready(&self, name: &str, ready: bool) -> anyhow::Result<()> {
        let status = if ready { "True" } else { "False" };
        let body = json!({"status": {"conditions": [{"type": "Ready", "status": status}]}});
        self.pods
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&body))
            .await?;
        Ok(())
    }
}

/// The pod's IP when it is Ready.
fn pod_ip_if_ready(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let ip = status.pod_ip.clone().filter(|ip| !ip.is_empty())?;
    ready.then_some(ip)
}

fn endpoint(ip: &str, ready: bool, hostname: Option<&str>) -> Value {
    let mut e = json!({"addresses": [ip],
        "conditions": {"ready": ready, "serving": ready, "terminating": false}});
    if let Some(h) = hostname {
        e["hostname"] = json!(h);
    }
    e
}

/// The reverse-lookup name of an IPv4 or IPv6 address.
fn reverse(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let mut out = String::new();
            for b in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", b & 0x0f, b >> 4));
            }
            out + "ip6.arpa."
        }
        _ => {
            let mut o: Vec<&str> = ip.split('.').collect();
            o.reverse();
            format!("{}.in-addr.arpa.", o.join("."))
        }
    }
}

/// The name the specification's "system-assigned identifier" takes for an endpoint without a
/// hostname: its address dashed (CoreDNS's form).
fn dashed(ip: &str) -> String {
    ip.replace(['.', ':'], "-")
}

fn set_of<'a>(items: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    items.into_iter().cloned().collect()
}

#[tokio::test]
async fn cluster_ip_service_a_srv_ptr_over_udp_and_tcp() -> anyhow::Result<()> {
    let e = env("dns-cip").await?;
    let svc = e
        .service(json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                      {"name": "dns", "port": 53, "protocol": "UDP"}]}}))
        .await?;
    let ip = svc.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    let fqdn = e.fqdn("web");
    // §2.3.1, UDP then TCP.
    let a = e
        .until("the ClusterIP A record", &fqdn, "A", |d| {
            !d.answer.is_empty()
        })
        .await?;
    assert_eq!(a.status, "NOERROR");
    assert!(
        a.flags.contains(&"aa".to_string()),
        "authoritative: {:?}",
        a.flags
    );
    assert_eq!(a.data("A"), vec![ip.clone()]);
    assert_eq!(a.answer[0].ttl, 5);
    let tcp = dig(e.port, &fqdn, "A", &["+tcp"])?;
    assert_eq!(tcp.data("A"), vec![ip.clone()]);
    // Case does not matter.
    assert_eq!(
        dig(e.port, &fqdn.to_uppercase(), "A", &[])?.data("A"),
        vec![ip.clone()]
    );
    // §2.3.2: SRV per named port, the target's address as glue.
    let srv = dig(e.port, &format!("_http._tcp.{fqdn}"), "SRV", &[])?;
    assert_eq!(srv.data("SRV"), vec![format!("0 100 80 {fqdn}")]);
    assert_eq!(
        srv.additional
            .iter()
            .map(|r| r.data.clone())
            .collect::<Vec<_>>(),
        vec![ip.clone()]
    );
    let srv_udp = dig(e.port, &format!("_dns._udp.{fqdn}"), "SRV", &["+tcp"])?;
    assert_eq!(srv_udp.data("SRV"), vec![format!("0 100 53 {fqdn}")]);
    // CoreDNS's SRV at the Service's own name: every port.
    let srv_name = dig(e.port, &fqdn, "SRV", &[])?;
    assert_eq!(
        srv_name.data_set("SRV"),
        [format!("0 50 53 {fqdn}"), format!("0 50 80 {fqdn}")].into()
    );
    // §2.3.3: reverse lookup.
    let ptr = dig(e.port, &reverse(&ip), "PTR", &[])?;
    assert_eq!(ptr.data("PTR"), vec![fqdn.clone()]);
    // NODATA: the name exists with another type.
    let aaaa = dig(e.port, &fqdn, "AAAA", &[])?;
    assert_eq!(aaaa.status, "NOERROR");
    assert!(aaaa.answer.is_empty());
    assert!(aaaa.has_soa_authority(), "SOA in authority: {aaaa:?}");
    let txt = dig(e.port, &fqdn, "TXT", &[])?;
    assert!(txt.status == "NOERROR" && txt.answer.is_empty() && txt.has_soa_authority());
    // The set, its owner and its count, as kubectl shows them.
    let sets: Api<DNSRecordSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    let set = sets.get("web").await?;
    let owner = set.metadata.owner_references.unwrap_or_default();
    assert_eq!(owner.len(), 1);
    assert_eq!(
        (owner[0].kind.as_str(), owner[0].controller),
        ("Service", Some(true))
    );
    let out = kubectl(&["get", "bdns", "web", "-n", &e.ns.name, "--no-headers"])?;
    let cols: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(
        cols.get(1..3),
        // A, PTR, two SRV per named port, two at the name.
        Some(&["cluster.local", "6"][..]),
        "{}",
        out.stdout
    );
    Ok(())
}

#[tokio::test]
async fn names_that_do_not_exist_and_names_outside_the_zone() -> anyhow::Result<()> {
    let e = env("dns-neg").await?;
    e.service(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}))
        .await?;
    let fqdn = e.fqdn("web");
    e.until("the A record", &fqdn, "A", |d| !d.answer.is_empty())
        .await?;
    // NXDOMAIN with the SOA.
    for name in [
        format!("nope.{}.svc.{ZONE}.", e.ns.name),
        format!("web.{}.{ZONE}.", e.ns.name),
        format!("kubernetes.default.{}.svc.{ZONE}.", e.ns.name),
        // Forwarded (reverse fallthrough); the test upstream has no A there either.
        "1.2.3.4.in-addr.arpa.".to_string(),
    ] {
        let d = dig(e.port, &name, "A", &[])?;
        assert_eq!(d.status, "NXDOMAIN", "{name}");
        assert!(d.has_soa_authority(), "{name}: {d:?}");
    }
    // Empty non-terminals exist: NODATA (as CoreDNS for <ns>.svc.<zone>).
    for name in [format!("{}.svc.{ZONE}.", e.ns.name), format!("svc.{ZONE}.")] {
        let d = dig(e.port, &name, "A", &[])?;
        assert_eq!(d.status, "NOERROR", "{name}");
        assert!(
            d.answer.is_empty() && d.has_soa_authority(),
            "{name}: {d:?}"
        );
    }
    // Outside the zones: forwarded to the test's upstream, over UDP and TCP; not
    // authoritative, recursion available.
    for extra in [&[][..], &["+tcp"][..]] {
        let d = dig(e.port, "ttl30.neg.example.test.", "A", extra)?;
        assert_eq!(d.status, "NOERROR", "{d:?}");
        assert_eq!(d.data("A"), vec!["192.0.2.1".to_string()]);
        assert!(!d.flags.contains(&"aa".to_string()), "{d:?}");
        assert!(d.flags.contains(&"ra".to_string()), "{d:?}");
    }

    // The zone's own records.
    let v = dig(e.port, &format!("dns-version.{ZONE}."), "TXT", &[])?;
    assert_eq!(v.data("TXT"), vec!["\"1.1.0\"".to_string()]);
    let soa = dig(e.port, &format!("{ZONE}."), "SOA", &[])?;
    assert_eq!(soa.answer.len(), 1);
    assert!(
        soa.answer[0]
            .data
            .starts_with(&format!("ns.dns.{ZONE}. hostmaster.{ZONE}."))
    );
    Ok(())
}

#[tokio::test]
async fn headless_service_records_from_its_endpoint_slices() -> anyhow::Result<()> {
    let e = env("dns-headless").await?;
    e.service(json!({"metadata": {"name": "db"}, "spec": {
        "clusterIP": "None",
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}}))
        .await?;
    let fqdn = e.fqdn("db");
    let rv = e
        .slice(
            "db",
            "db-abc12",
            "IPv4",
            json!([
                endpoint("10.244.7.1", true, Some("db-0")),
                endpoint("10.244.7.2", true, None),
                endpoint("10.244.7.3", false, Some("db-2"))
            ]),
            json!([{"name": "pg", "port": 15432, "protocol": "TCP"}]),
        )
        .await?;
    // §2.4.1: one A per ready endpoint.
    let a = e
        .until("the headless A records", &fqdn, "A", |d| {
            d.answer.len() == 2
        })
        .await?;
    assert_eq!(a.data("A"), vec!["10.244.7.1", "10.244.7.2"]);
    // §2.4.1: hostname records, and the generated name of the endpoint without one.
    let host = format!("db-0.{fqdn}");
    assert_eq!(dig(e.port, &host, "A", &[])?.data("A"), vec!["10.244.7.1"]);
    let generated = format!("10-244-7-2.{fqdn}");
    assert_eq!(
        dig(e.port, &generated, "A", &["+tcp"])?.data("A"),
        vec!["10.244.7.2"]
    );
    // The unready endpoint has no record at all.
    assert_eq!(
        dig(e.port, &format!("db-2.{fqdn}"), "A", &[])?.status,
        "NXDOMAIN"
    );
    // §2.4.2: SRV per ready endpoint and named port, with the endpoint port.
    let srv = dig(e.port, &format!("_pg._tcp.{fqdn}"), "SRV", &[])?;
    assert_eq!(
        srv.data("SRV"),
        vec![
            format!("0 50 15432 {generated}"),
            format!("0 50 15432 {host}")
        ]
    );
    let mut glue: Vec<String> = srv.additional.iter().map(|r| r.data.clone()).collect();
    glue.sort();
    assert_eq!(glue, vec!["10.244.7.1", "10.244.7.2"]);
    // §2.4.3: PTR per ready endpoint.
    assert_eq!(
        dig(e.port, &reverse("10.244.7.1"), "PTR", &[])?.data("PTR"),
        vec![host.clone()]
    );
    assert_eq!(
        dig(e.port, &reverse("10.244.7.2"), "PTR", &[])?.data("PTR"),
        vec![generated]
    );
    // The not-ready endpoint has no PTR of the cluster: the question falls through to the
    // upstream (the test's, which answers every PTR with upstream-ptr.example.test.).
    assert_eq!(
        dig(e.port, &reverse("10.244.7.3"), "PTR", &[])?.data("PTR"),
        vec!["upstream-ptr.example.test.".to_string()]
    );
    // publishNotReadyAddresses: the unready endpoint is published too.
    let api: Api<Service> = Api::namespaced(e.client.clone(), &e.ns.name);
    api.patch(
        "db",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"publishNotReadyAddresses": true}})),
    )
    .await?;
    let all = e
        .until("the unready endpoint published", &fqdn, "A", |d| {
            d.answer.len() == 3
        })
        .await?;
    assert_eq!(
        all.data("A"),
        vec!["10.244.7.1", "10.244.7.2", "10.244.7.3"]
    );
    e.assert_left_alone("db", &[("db-abc12".to_string(), rv)].into())
        .await?;
    Ok(())
}

#[tokio::test]
async fn headless_service_without_ready_endpoints_is_nxdomain() -> anyhow::Result<()> {
    let e = env("dns-empty").await?;
    e.service(json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None"}}))
        .await?;
    let rv = e
        .slice(
            "db",
            "db-xyz12",
            "IPv4",
            json!([endpoint("10.244.8.1", false, None)]),
            json!([]),
        )
        .await?;
    let sets: Api<DNSRecordSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    poll("the empty record set", WAIT, || async {
        Ok(sets
            .get_opt("db")
            .await?
            .and_then(|s| s.status)
            .map(|s| s.record_count))
    })
    .await?;
    let d = dig(e.port, &e.fqdn("db"), "A", &[])?;
    assert_eq!(d.status, "NXDOMAIN");
    assert!(d.has_soa_authority());
    e.assert_left_alone("db", &[("db-xyz12".to_string(), rv)].into())
        .await?;
    Ok(())
}

#[tokio::test]
async fn external_name_cname_follows_changes() -> anyhow::Result<()> {
    let e = env("dns-ext").await?;
    e.service(json!({"metadata": {"name": "ext"}, "spec": {"type": "ExternalName", "externalName": "foo.example.com"}}))
        .await?;
    let fqdn = e.fqdn("ext");
    let d = e
        .until("the CNAME", &fqdn, "CNAME", |d| !d.answer.is_empty())
        .await?;
    assert_eq!(d.data("CNAME"), vec!["foo.example.com."]);
    // An A question gets the CNAME (the target is outside the zone: not chased).
    let a = dig(e.port, &fqdn, "A", &["+tcp"])?;
    assert_eq!(
        (a.status.as_str(), a.data("CNAME")),
        ("NOERROR", vec!["foo.example.com.".to_string()])
    );
    // As upstream's e2e: change the name, then turn the Service into a ClusterIP one.
    let api: Api<Service> = Api::namespaced(e.client.clone(), &e.ns.name);
    api.patch(
        "ext",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"externalName": "bar.example.com"}})),
    )
    .await?;
    e.until("the new CNAME", &fqdn, "CNAME", |d| {
        d.data("CNAME") == vec!["bar.example.com."]
    })
    .await?;
    let svc = api
        .patch(
            "ext",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"type": "ClusterIP", "externalName": null, "ports": [{"port": 80}]}})),
        )
        .await?;
    let ip = svc.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    let a = e
        .until("the ClusterIP", &fqdn, "A", |d| {
            d.data("A") == vec![ip.clone()]
        })
        .await?;
    assert!(a.data("CNAME").is_empty());
    Ok(())
}

#[tokio::test]
async fn large_answers_truncate_over_udp_and_complete_over_tcp() -> anyhow::Result<()> {
    let e = env("dns-big").await?;
    e.service(json!({"metadata": {"name": "big"}, "spec": {"clusterIP": "None"}}))
        .await?;
    let eps: Vec<Value> = (1..=80)
        .map(|i| endpoint(&format!("10.244.9.{i}"), true, None))
        .collect();
    let rv = e
        .slice("big", "big-aaaaa", "IPv4", Value::Array(eps), json!([]))
        .await?;
    let fqdn = e.fqdn("big");
    let port = e.port;
    poll("80 records", WAIT, || {
        let fqdn = fqdn.clone();
        async move { Ok((dig(port, &fqdn, "A", &["+tcp"])?.answer.len() == 80).then_some(())) }
    })
    .await?;
    // 80 A records do not fit 512 bytes: TC set, partial answer.
    let udp = dig(e.port, &fqdn, "A", &["+noedns", "+ignore"])?;
    assert!(udp.flags.contains(&"tc".to_string()), "{:?}", udp.flags);
    assert!(udp.answer.len() < 80);
    // dig retries over TCP on TC, as resolvers do.
    let fallback = dig(e.port, &fqdn, "A", &["+noedns"])?;
    assert_eq!(fallback.answer.len(), 80);
    assert!(!fallback.flags.contains(&"tc".to_string()));
    e.assert_left_alone("big", &[("big-aaaaa".to_string(), rv)].into())
        .await?;
    Ok(())
}

/// The dns controller's and server's share of readiness propagation alone: the endpoint's
/// `ready` flips in a hand-made slice (the real chain, from the pod's condition, is
/// `pod_readiness_flip_propagates_through_the_real_chain`).
#[tokio::test]
async fn hand_made_endpoint_readiness_flip_propagates_to_the_headless_answer() -> anyhow::Result<()>
{
    let e = env("dns-flip").await?;
    e.service(json!({"metadata": {"name": "app"}, "spec": {"clusterIP": "None"}}))
        .await?;
    let fqdn = e.fqdn("app");
    let eps = |ready: bool| {
        json!([
            endpoint("10.244.10.1", true, None),
            endpoint("10.244.10.2", ready, None)
        ])
    };
    let mut rv = e
        .slice("app", "app-flip1", "IPv4", eps(true), json!([]))
        .await?;
    e.until("both endpoints", &fqdn, "A", |d| d.answer.len() == 2)
        .await?;
    for (ready, want) in [
        (false, vec!["10.244.10.1"]),
        (true, vec!["10.244.10.1", "10.244.10.2"]),
    ] {
        let start = Instant::now();
        rv = e
            .slice("app", "app-flip1", "IPv4", eps(ready), json!([]))
            .await?;
        let want_s: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        e.until(
            "the answer to follow the ready condition",
            &fqdn,
            "A",
            |d| d.data("A") == want_s,
        )
        .await?;
        println!(
            "dns propagation (hand-made slice): endpoint ready={ready} -> headless A answer changed after {:?}",
            start.elapsed()
        );
    }
    e.assert_left_alone("app", &[("app-flip1".to_string(), rv)].into())
        .await?;
    Ok(())
}

/// A tiny xorshift generator: the fuzz bytes need no quality, only variety.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn random_bytes_leave_the_server_answering() -> anyhow::Result<()> {
    let e = env("dns-fuzz").await?;
    // A server of its own: the flood would otherwise starve the shared server's socket and
    // stretch the other tests' dig round trips (and the propagation times they measure).
    let own = start_dns_server("dns-fuzz-server").await?;
    let port = own.port;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64
        | 1;
    println!("fuzz seed {seed}");
    let mut rng = Rng(seed);
    let target = ("127.0.0.1", port);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    for i in 0..3000 {
        let len = (rng.next() % 700) as usize;
        let mut p = rng.bytes(len);
        // Every third packet looks like a query header (QR=0, opcode 0, one question).
        if i % 3 == 0 && p.len() >= 12 {
            p[2] &= 0x07;
            p[4] = 0;
            p[5] = 1;
        }
        udp.send_to(&p, target)?;
    }
    for _ in 0..200 {
        use std::io::Write;
        let Ok(mut s) = std::net::TcpStream::connect(target) else {
            continue;
        };
        let len = (rng.next() % 600) as usize;
        let mut p = Vec::new();
        if rng.next().is_multiple_of(2) {
            p.extend_from_slice(&(len as u16).to_be_bytes());
        }
        p.extend(rng.bytes(len));
        let _ = s.write_all(&p);
    }
    // A well-formed header with a question cut short: a maintained server answers FORMERR.
    // From a fresh socket (the flood's answers fill the first one's buffer), sent again after
    // each silent second, as a resolver retries over UDP.
    let probe = std::net::UdpSocket::bind("127.0.0.1:0")?;
    probe.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut buf = [0u8; 512];
    let mut formerr = None;
    for _ in 0..10 {
        probe.send_to(
            &[
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'a', b'b',
            ],
            target,
        )?;
        match probe.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34 => {
                formerr = Some(buf[3] & 0x0f == 1 && buf[2] & 0x80 != 0);
                break;
            }
            _ => continue,
        }
    }
    assert_eq!(
        formerr,
        Some(true),
        "the response to a truncated question (None: no response)"
    );
    // Still answering, over both transports.
    for extra in [&[][..], &["+tcp"][..]] {
        let d = dig(port, &format!("dns-version.{ZONE}."), "TXT", extra)?;
        assert_eq!(d.data("TXT"), vec!["\"1.1.0\"".to_string()]);
    }
    // And from its records, not only the synthesised ones.
    e.service(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}))
        .await?;
    let fqdn = e.fqdn("web");
    poll("the fuzzed server to answer a Service's name", WAIT, || {
        let fqdn = fqdn.clone();
        async move { Ok((dig(port, &fqdn, "A", &["+tcp"])?.answer.len() == 1).then_some(())) }
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn deleting_the_service_removes_its_records() -> anyhow::Result<()> {
    let e = env("dns-gone").await?;
    // The set goes with its owner through the garbage collector, once it watches bosun's kinds.
    bosun_e2e::ensure_garbage_collector(&e.client).await?;
    e.service(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}))
        .await?;
    let fqdn = e.fqdn("web");
    e.until("the A record", &fqdn, "A", |d| !d.answer.is_empty())
        .await?;
    let api: Api<Service> = Api::namespaced(e.client.clone(), &e.ns.name);
    api.delete("web", &Default::default()).await?;
    let d = e
        .until("NXDOMAIN after the deletion", &fqdn, "A", |d| {
            d.status == "NXDOMAIN"
        })
        .await?;
    assert!(d.has_soa_authority());
    let sets: Api<DNSRecordSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    assert!(sets.get_opt("web").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn hand_made_ipv6_slice_gives_aaaa_records_beside_ipv4_ones() -> anyhow::Result<()> {
    let e = env("dns-v6").await?;
    e.service(
        json!({"metadata": {"name": "dual"}, "spec": {"clusterIP": "None",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}),
    )
    .await?;
    let fqdn = e.fqdn("dual");
    let ports = json!([{"name": "http", "port": 8080, "protocol": "TCP"}]);
    // A dual-stack endpoint (web-0, one slice per family) and an IPv6-only one without hostname.
    let rv6 = e
        .slice(
            "dual",
            "dual-v6",
            "IPv6",
            json!([
                endpoint("fd00:10:244::7", true, Some("web-0")),
                endpoint("fd00:10:244::8:1", true, None)
            ]),
            ports.clone(),
        )
        .await?;
    let rv4 = e
        .slice(
            "dual",
            "dual-v4",
            "IPv4",
            json!([endpoint("10.244.11.1", true, Some("web-0"))]),
            ports,
        )
        .await?;
    // §2.4.1: AAAA per ready IPv6 endpoint, A per ready IPv4 one.
    let aaaa = e
        .until("the headless AAAA records", &fqdn, "AAAA", |d| {
            d.answer.len() == 2
        })
        .await?;
    assert_eq!(aaaa.status, "NOERROR");
    assert_eq!(
        aaaa.data("AAAA"),
        vec!["fd00:10:244::7", "fd00:10:244::8:1"]
    );
    let a = e
        .until("the headless A record", &fqdn, "A", |d| d.answer.len() == 1)
        .await?;
    assert_eq!(a.data("A"), vec!["10.244.11.1"]);
    // The hostname record carries both families.
    let host = format!("web-0.{fqdn}");
    assert_eq!(
        dig(e.port, &host, "AAAA", &["+tcp"])?.data("AAAA"),
        vec!["fd00:10:244::7"]
    );
    assert_eq!(dig(e.port, &host, "A", &[])?.data("A"), vec!["10.244.11.1"]);
    // The IPv6 endpoint without hostname: its address dashed; no A record (NODATA).
    let generated = format!("fd00-10-244--8-1.{fqdn}");
    assert_eq!(
        dig(e.port, &generated, "AAAA", &[])?.data("AAAA"),
        vec!["fd00:10:244::8:1"]
    );
    let nodata = dig(e.port, &generated, "A", &[])?;
    assert!(
        nodata.status == "NOERROR" && nodata.answer.is_empty() && nodata.has_soa_authority(),
        "{nodata:?}"
    );
    // §2.4.2: one SRV per distinct target (web-0 is one target for both families).
    let srv = dig(e.port, &format!("_http._tcp.{fqdn}"), "SRV", &[])?;
    assert_eq!(
        srv.data("SRV"),
        vec![
            format!("0 50 8080 {generated}"),
            format!("0 50 8080 {host}")
        ]
    );
    // §2.4.3: PTR under ip6.arpa.
    assert_eq!(
        dig(e.port, &reverse("fd00:10:244::7"), "PTR", &[])?.data("PTR"),
        vec![host.clone()]
    );
    assert_eq!(
        dig(e.port, &reverse("fd00:10:244::8:1"), "PTR", &["+tcp"])?.data("PTR"),
        vec![generated]
    );
    e.assert_left_alone(
        "dual",
        &[("dual-v6".to_string(), rv6), ("dual-v4".to_string(), rv4)].into(),
    )
    .await?;
    Ok(())
}

/// The real chain for a headless Service: Pods (kwok makes them Ready) → bosun's EndpointSlice
/// controller → the dns controller → `bosun dns`.
#[tokio::test]
async fn headless_service_over_real_pods() -> anyhow::Result<()> {
    let e = env("dns-chain").await?;
    e.service(
        json!({"metadata": {"name": "chain"}, "spec": {"clusterIP": "None",
        "selector": {"app": "chain"},
        "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}),
    )
    .await?;
    e.pod(
        "web-0",
        "chain",
        0,
        json!({"hostname": "web-0", "subdomain": "chain"}),
    )
    .await?;
    e.pod(
        "web-1",
        "chain",
        1,
        json!({"hostname": "web-1", "subdomain": "chain"}),
    )
    .await?;
    e.pod("plain", "chain", 2, json!({})).await?;
    // A hostname without the Service as subdomain gives the endpoint no hostname (upstream).
    e.pod("lonely", "chain", 0, json!({"hostname": "lonely"}))
        .await?;
    // Not selected, though its subdomain names the Service.
    e.pod(
        "other",
        "other",
        1,
        json!({"hostname": "other-0", "subdomain": "chain"}),
    )
    .await?;
    let ips = e
        .ready_ips(&["web-0", "web-1", "plain", "lonely", "other"])
        .await?;
    let selected = ["web-0", "web-1", "plain", "lonely"];
    let want_a = set_of(selected.iter().map(|n| &ips[*n]));
    let fqdn = e.fqdn("chain");
    // §2.4.1: the headless A answer is the Ready pods' IPs.
    let a = e
        .until(
            "the headless A answer to be the Ready pods' IPs",
            &fqdn,
            "A",
            |d| d.data_set("A") == want_a,
        )
        .await?;
    assert_eq!(a.status, "NOERROR");
    // The slices behind it are the EndpointSlice controller's.
    let slices = e.slices_of("chain").await?;
    assert!(
        !slices.is_empty()
            && slices
                .values()
                .all(|(by, _)| by == bosun_api::discovery::MANAGED_BY),
        "{slices:?}"
    );
    // §2.4.1: <hostname>.<svc>.<ns>.svc.<zone> for the pods with hostname and subdomain.
    for h in ["web-0", "web-1"] {
        let d = dig(e.port, &format!("{h}.{fqdn}"), "A", &[])?;
        assert_eq!(d.data_set("A"), set_of([&ips[h]]), "{h}");
    }
    for absent in ["lonely", "other-0"] {
        let d = dig(e.port, &format!("{absent}.{fqdn}"), "A", &[])?;
        assert_eq!(d.status, "NXDOMAIN", "{absent}: {d:?}");
    }
    let plain = format!("{}.{fqdn}", dashed(&ips["plain"]));
    assert_eq!(
        dig(e.port, &plain, "A", &["+tcp"])?.data_set("A"),
        set_of([&ips["plain"]])
    );
    // §2.4.2: one SRV per endpoint for the named port, with the endpoint (target) port.
    let targets: BTreeSet<String> = [
        format!("web-0.{fqdn}"),
        format!("web-1.{fqdn}"),
        plain.clone(),
        format!("{}.{fqdn}", dashed(&ips["lonely"])),
    ]
    .into();
    let weight = (100 / targets.len()).max(1);
    let want_srv: BTreeSet<String> = targets
        .iter()
        .map(|t| format!("0 {weight} 8080 {t}"))
        .collect();
    let srv = dig(e.port, &format!("_http._tcp.{fqdn}"), "SRV", &[])?;
    assert_eq!(srv.data("SRV").len(), want_srv.len(), "{srv:?}");
    assert_eq!(srv.data_set("SRV"), want_srv);
    // §2.4.3: PTR for pod IPs (another pod may share an IP: the expected name is among them).
    for (ip, name) in [
        (&ips["web-0"], format!("web-0.{fqdn}")),
        (&ips["plain"], plain.clone()),
    ] {
        let ptr = dig(e.port, &reverse(ip), "PTR", &[])?;
        assert!(ptr.data_set("PTR").contains(&name), "PTR {ip}: {ptr:?}");
    }
    Ok(())
}

/// The measurement on the real chain: a pod's Ready condition set to False (pods/status,
/// as a kubelet would) takes it out of the headless A answer, True brings it back.
#[tokio::test]
async fn pod_readiness_flip_propagates_through_the_real_chain() -> anyhow::Result<()> {
    let e = env("dns-chainflip").await?;
    e.service(
        json!({"metadata": {"name": "flip"}, "spec": {"clusterIP": "None",
        "selector": {"app": "flip"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    )
    .await?;
    let names = ["flip-0", "flip-1", "flip-2"];
    for (i, n) in names.iter().enumerate() {
        e.pod(n, "flip", i, json!({})).await?;
    }
    let ips = e.ready_ips(&names).await?;
    let all = set_of(ips.values());
    let fqdn = e.fqdn("flip");
    e.until("every pod in the headless answer", &fqdn, "A", |d| {
        d.data_set("A") == all
    })
    .await?;
    // The pod to flip: one whose IP no other pod shares (kwok may repeat IPs).
    let (victim, vip) = ips
        .iter()
        .find(|(_, ip)| ips.values().filter(|o| o == ip).count() == 1)
        .map(|(n, ip)| (n.clone(), ip.clone()))
        .ok_or_else(|| anyhow::anyhow!("kwok gave every pod the same IP: {ips:?}"))?;
    let rest = set_of(ips.iter().filter(|(n, _)| **n != victim).map(|(_, ip)| ip));
    let start = Instant::now();
    e.set_ready(&victim, false).await?;
    e.until(
        "the unready pod out of the headless answer",
        &fqdn,
        "A",
        |d| d.data_set("A") == rest,
    )
    .await?;
    let gone = start.elapsed();
    // Its own name goes with it.
    let own = format!("{}.{fqdn}", dashed(&vip));
    assert_eq!(dig(e.port, &own, "A", &[])?.status, "NXDOMAIN");
    let start = Instant::now();
    e.set_ready(&victim, true).await?;
    e.until(
        "the ready pod back in the headless answer",
        &fqdn,
        "A",
        |d| d.data_set("A") == all,
    )
    .await?;
    let back = start.elapsed();
    assert_eq!(dig(e.port, &own, "A", &[])?.data_set("A"), set_of([&vip]));
    println!(
        "dns propagation (real chain, pod status -> EndpointSlice -> DNSRecordSet -> dig): \
         Ready=False -> gone from the headless A answer after {gone:?}; \
         Ready=True -> back after {back:?}"
    );
    Ok(())
}

/// The real chain for a ClusterIP Service: the answer is the ClusterIP whatever the pods, and
/// the Service's deletion takes its names away.
#[tokio::test]
async fn cluster_ip_service_over_real_pods_and_its_deletion() -> anyhow::Result<()> {
    let e = env("dns-chaincip").await?;
    // The set goes with its owner through the garbage collector, once it watches bosun's kinds.
    bosun_e2e::ensure_garbage_collector(&e.client).await?;
    let svc = e
        .service(
            json!({"metadata": {"name": "api"}, "spec": {"selector": {"app": "api"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}),
        )
        .await?;
    let cluster_ip = svc.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    e.pod("api-0", "api", 0, json!({})).await?;
    e.pod("api-1", "api", 1, json!({})).await?;
    let ips = e.ready_ips(&["api-0", "api-1"]).await?;
    let pod_ips = set_of(ips.values());
    // The EndpointSlice controller has the pods (the named target port resolved to 8080).
    poll("the bosun slice to hold both pods", WAIT, || async {
        let list = e
            .slices
            .list(&ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}=api")))
            .await?;
        let mut addrs = BTreeSet::new();
        let mut ports = BTreeSet::new();
        for s in &list.items {
            for ep in &s.spec.endpoints {
                addrs.extend(ep.addresses.iter().cloned());
            }
            ports.extend(s.spec.ports.iter().flatten().filter_map(|p| p.port));
        }
        Ok((addrs == pod_ips && ports == [8080].into()).then_some(()))
    })
    .await?;
    let fqdn = e.fqdn("api");
    // §2.3.1: the ClusterIP, never the pod IPs.
    let a = e
        .until("the ClusterIP A record", &fqdn, "A", |d| {
            !d.answer.is_empty()
        })
        .await?;
    assert_eq!(a.data("A"), vec![cluster_ip.clone()]);
    // §2.3.2: SRV for the named port, with the Service's port.
    let srv_name = format!("_http._tcp.{fqdn}");
    let srv = dig(e.port, &srv_name, "SRV", &[])?;
    assert_eq!(srv.data("SRV"), vec![format!("0 100 80 {fqdn}")]);
    // §2.3.3.
    assert_eq!(
        dig(e.port, &reverse(&cluster_ip), "PTR", &[])?.data("PTR"),
        vec![fqdn.clone()]
    );
    // Deleting the Service: NXDOMAIN for its names, and the set is gone.
    e.services.delete("api", &Default::default()).await?;
    let d = e
        .until("NXDOMAIN after the deletion", &fqdn, "A", |d| {
            d.status == "NXDOMAIN"
        })
        .await?;
    assert!(d.has_soa_authority());
    assert_eq!(dig(e.port, &srv_name, "SRV", &["+tcp"])?.status, "NXDOMAIN");
    let sets: Api<DNSRecordSet> = Api::namespaced(e.client.clone(), &e.ns.name);
    assert!(sets.get_opt("api").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn dns_server_is_ready_once_listed_and_counts_queries_by_rcode() -> anyhow::Result<()> {
    let e = env("dns-metrics").await?;
    let mp = e.metrics_port;
    let (code, _) = http_get(mp, "/healthz").await?;
    assert_eq!(code, 200, "/healthz");
    poll("/readyz 200 once the sets are listed", WAIT, || async {
        let (code, body) = http_get(mp, "/readyz").await?;
        Ok((code == 200).then_some(body))
    })
    .await?;
    e.service(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}))
        .await?;
    let fqdn = e.fqdn("web");
    e.until("the A record", &fqdn, "A", |d| !d.answer.is_empty())
        .await?;
    let scrape = || async {
        let (code, body) = http_get(mp, "/metrics").await?;
        anyhow::ensure!(code == 200, "/metrics answered {code}");
        let count = |rcode| metric(&body, "bosun_dns_queries_total", &[("rcode", rcode)]);
        Ok::<_, anyhow::Error>((count("NOERROR"), count("NXDOMAIN"), body))
    };
    let (ok0, nx0, _) = scrape().await?;
    // Other tests of this process query the same server at the same time: at least these.
    for _ in 0..5 {
        assert_eq!(dig(e.port, &fqdn, "A", &[])?.status, "NOERROR");
    }
    for i in 0..3 {
        let name = format!("nope-{i}.{}.svc.{ZONE}.", e.ns.name);
        assert_eq!(dig(e.port, &name, "A", &["+tcp"])?.status, "NXDOMAIN");
    }
    let (ok1, nx1, body) = scrape().await?;
    assert!(ok1 >= ok0 + 5.0, "NOERROR {ok0} -> {ok1}");
    assert!(nx1 >= nx0 + 3.0, "NXDOMAIN {nx0} -> {nx1}");
    assert!(
        metric(&body, "bosun_dns_names", &[]) >= 1.0,
        "bosun_dns_names: {body}"
    );
    Ok(())
}

/// The metrics text of a server.
async fn scrape(metrics_port: u16) -> anyhow::Result<String> {
    let (code, body) = http_get(metrics_port, "/metrics").await?;
    anyhow::ensure!(code == 200, "/metrics answered {code}");
    Ok(body)
}

/// A `bosun dns` of one test's own, with its own upstream (which the test may stop).
async fn own_server(log: &str, extra: &[&str]) -> anyhow::Result<(Upstream, DnsServer)> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let upstream = Upstream::start()?;
    let server = start_dns_server_with(log, upstream.port, extra).await?;
    Ok((upstream, server))
}

#[tokio::test]
async fn forwarded_answers_are_cached_and_served_until_their_ttl_when_the_upstream_stops()
-> anyhow::Result<()> {
    let (mut up, s) = own_server(
        "dns-cache",
        &["--cache-min-ttl=1", "--forward-timeout=500ms"],
    )
    .await?;
    let port = s.port;
    // Positive: asked twice (UDP, then TCP), the upstream sees it once; the TTL counts down
    // from the upstream's 30.
    let name = "ttl30.pos.example.test.";
    let first = dig(port, name, "A", &[])?;
    assert_eq!(first.status, "NOERROR", "{first:?}");
    assert_eq!(first.data("A"), vec!["192.0.2.1".to_string()]);
    let second = dig(port, name, "A", &["+tcp"])?;
    assert_eq!(second.data("A"), vec!["192.0.2.1".to_string()]);
    assert!(second.answer[0].ttl <= 30, "{second:?}");
    assert_eq!(up.queries(name), 1, "the second answer came from the cache");
    // Negative: NXDOMAIN cached for the SOA minimum (20), not the SOA's own TTL (3600).
    let nx = "nx20.neg.example.test.";
    let d = dig(port, nx, "A", &[])?;
    assert_eq!(d.status, "NXDOMAIN", "{d:?}");
    let soa_ttl = d.authority.iter().find(|r| r.type_ == "SOA").map(|r| r.ttl);
    assert!(soa_ttl.is_some_and(|t| t > 0 && t <= 20), "{d:?}");
    assert_eq!(dig(port, nx, "A", &[])?.status, "NXDOMAIN");
    assert_eq!(up.queries(nx), 1, "the NXDOMAIN came from the cache");
    // A truncated upstream answer is retried over TCP and relayed whole.
    let big = dig(port, "big.tcp.example.test.", "A", &["+tcp"])?;
    assert_eq!(big.data_set("A").len(), 100, "{big:?}");
    // SERVFAIL from the upstream is relayed.
    up.set_servfail(true);
    assert_eq!(
        dig(port, "ttl30.sf.example.test.", "A", &[])?.status,
        "SERVFAIL"
    );
    up.set_servfail(false);

    // Cache an answer of TTL 6, then stop the upstream: the answer is still served until its
    // TTL runs out, then SERVFAIL.
    let stale = "ttl6.stale.example.test.";
    let cached_at = Instant::now();
    assert_eq!(dig(port, stale, "A", &[])?.status, "NOERROR");
    up.stop();
    let d = dig(port, stale, "A", &[])?;
    assert_eq!(d.status, "NOERROR", "served from the cache: {d:?}");
    assert!(d.answer[0].ttl <= 6);
    assert_eq!(
        dig(port, "ttl30.never.example.test.", "A", &["+time=5"])?.status,
        "SERVFAIL",
        "not cached, no upstream"
    );
    poll("SERVFAIL once the cached answer expired", WAIT, || async {
        let d = dig(port, stale, "A", &["+time=5"])?;
        Ok((d.status == "SERVFAIL").then_some(()))
    })
    .await?;
    assert!(
        cached_at.elapsed() >= Duration::from_secs(5),
        "expired after {:?}, before its TTL",
        cached_at.elapsed()
    );

    let upstream_label = format!("127.0.0.1:{}", up.port);
    let body = scrape(s.metrics_port).await?;
    assert!(
        metric(&body, "bosun_dns_cache_hits_total", &[]) >= 3.0,
        "{body}"
    );
    assert!(
        metric(&body, "bosun_dns_cache_misses_total", &[]) >= 4.0,
        "{body}"
    );
    assert!(
        metric(&body, "bosun_dns_cache_entries", &[]) >= 1.0,
        "{body}"
    );
    assert!(
        metric(
            &body,
            "bosun_dns_forward_requests_total",
            &[("to", &upstream_label), ("rcode", "NOERROR")]
        ) >= 2.0,
        "{body}"
    );
    assert!(
        metric(
            &body,
            "bosun_dns_forward_request_duration_seconds_count",
            &[("to", &upstream_label)]
        ) >= 4.0,
        "{body}"
    );
    assert!(
        metric(
            &body,
            "bosun_dns_request_duration_seconds_count",
            &[("source", "cache")]
        ) >= 3.0,
        "{body}"
    );
    assert!(
        metric(
            &body,
            "bosun_dns_queries_total",
            &[("type", "A"), ("rcode", "SERVFAIL")]
        ) >= 2.0,
        "{body}"
    );
    // The stopped upstream is marked down after its failures.
    poll("the upstream marked down", WAIT, || async {
        let body = scrape(s.metrics_port).await?;
        let v = metric(
            &body,
            "bosun_dns_upstream_healthy",
            &[("to", &upstream_label)],
        );
        Ok((v == 0.0 && body.contains("bosun_dns_upstream_healthy{")).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn pod_records_answer_the_dashed_address() -> anyhow::Result<()> {
    let e = env("dns-pods").await?;
    let ns = &e.ns.name;
    let d = dig(e.port, &format!("10-244-1-7.{ns}.pod.{ZONE}."), "A", &[])?;
    assert_eq!(d.status, "NOERROR", "{d:?}");
    assert_eq!(d.data("A"), vec!["10.244.1.7".to_string()]);
    assert!(d.flags.contains(&"aa".to_string()), "{d:?}");
    let d = dig(e.port, &format!("fd00--7.{ns}.pod.{ZONE}."), "AAAA", &[])?;
    assert_eq!(d.data("AAAA"), vec!["fd00::7".to_string()]);
    let d = dig(e.port, &format!("10-244-1-7.{ns}.pod.{ZONE}."), "AAAA", &[])?;
    assert_eq!(d.status, "NOERROR");
    assert!(d.answer.is_empty() && d.has_soa_authority(), "{d:?}");
    let d = dig(e.port, &format!("not-an-ip.{ns}.pod.{ZONE}."), "A", &[])?;
    assert_eq!(d.status, "NXDOMAIN", "{d:?}");
    Ok(())
}

#[tokio::test]
async fn reverse_lookups_of_known_ips_are_answered_and_others_forwarded() -> anyhow::Result<()> {
    let e = env("dns-ptr-fall").await?;
    let svc = e
        .service(json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}))
        .await?;
    let ip = svc
        .spec
        .and_then(|s| s.cluster_ip)
        .context("the Service has a clusterIP")?;
    let fqdn = e.fqdn("web");
    let d = e
        .until("the PTR of the cluster IP", &reverse(&ip), "PTR", |d| {
            d.data("PTR").contains(&fqdn)
        })
        .await?;
    assert!(d.flags.contains(&"aa".to_string()), "{d:?}");
    // An address the cluster does not know: the upstream's answer, not NXDOMAIN.
    let d = dig(e.port, "7.100.51.198.in-addr.arpa.", "PTR", &[])?;
    assert_eq!(d.status, "NOERROR", "{d:?}");
    assert_eq!(
        d.data("PTR"),
        vec!["upstream-ptr.example.test.".to_string()]
    );
    assert!(!d.flags.contains(&"aa".to_string()), "{d:?}");
    assert!(
        shared_upstream()?.queries("7.100.51.198.in-addr.arpa.") >= 1,
        "the upstream was asked"
    );
    Ok(())
}

/// The first address of each of `n` consecutive answers to `name`.
fn first_addresses(port: u16, name: &str, n: usize) -> anyhow::Result<Vec<String>> {
    (0..n)
        .map(|_| {
            let d = dig(port, name, "A", &[])?;
            d.answer
                .iter()
                .find(|r| r.type_ == "A")
                .map(|r| r.data.clone())
                .context("no A record")
        })
        .collect()
}

#[tokio::test]
async fn headless_and_forwarded_answers_rotate_and_ipv6_listeners_answer() -> anyhow::Result<()> {
    // A server of its own (no other test's queries move its rotation), also on [::1].
    let v6_port = free_port()?;
    let v6 = format!("--listen=[::1]:{v6_port}");
    let (_up, s) = own_server("dns-rotate", &[&v6]).await?;
    let client = client().await?;
    ensure_controller("dns")?;
    let ns = TestNamespace::new(&client, "dns-rotate").await?;
    let e = Env {
        services: Api::namespaced(client.clone(), &ns.name),
        slices: Api::namespaced(client.clone(), &ns.name),
        pods: Api::namespaced(client.clone(), &ns.name),
        client,
        ns,
        port: s.port,
        metrics_port: s.metrics_port,
    };
    e.service(
        json!({"metadata": {"name": "hl"}, "spec": {"clusterIP": "None",
        "ports": [{"name": "http", "port": 80}]}}),
    )
    .await?;
    let ips = ["10.9.0.1", "10.9.0.2", "10.9.0.3"];
    e.slice(
        "hl",
        "hl-1",
        "IPv4",
        json!(
            ips.iter()
                .map(|ip| endpoint(ip, true, None))
                .collect::<Vec<_>>()
        ),
        json!([{"name": "http", "port": 80, "protocol": "TCP"}]),
    )
    .await?;
    let fqdn = e.fqdn("hl");
    e.until("three addresses", &fqdn, "A", |d| {
        d.data_set("A").len() == 3
    })
    .await?;
    let all: BTreeSet<String> = ips.iter().map(|s| s.to_string()).collect();
    let firsts = first_addresses(s.port, &fqdn, 3)?;
    assert_eq!(
        set_of(&firsts),
        all,
        "each address first in turn: {firsts:?}"
    );
    // Forwarded (and then cached) answers rotate too.
    let firsts = first_addresses(s.port, "multi.rr.example.test.", 3)?;
    let want: BTreeSet<String> = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(set_of(&firsts), want, "{firsts:?}");
    // The IPv6 listener answers the same.
    let d = dig_at("::1", v6_port, &fqdn, "A", &["+tcp"])?;
    assert_eq!(d.data_set("A"), all, "{d:?}");
    let d = dig_at("::1", v6_port, "ttl30.v6.example.test.", "A", &[])?;
    assert_eq!(d.data("A"), vec!["192.0.2.1".to_string()]);
    Ok(())
}

#[tokio::test]
async fn lameduck_fails_readyz_at_once_and_keeps_answering_until_it_exits() -> anyhow::Result<()> {
    let (_up, mut s) = own_server("dns-lameduck", &["--lameduck=3s"]).await?;
    let mp = s.metrics_port;
    poll("/readyz 200", WAIT, || async {
        Ok((http_get(mp, "/readyz").await?.0 == 200).then_some(()))
    })
    .await?;
    s.proc.signal(libc::SIGTERM);
    let termed = Instant::now();
    poll(
        "/readyz failing after SIGTERM",
        Duration::from_secs(1),
        || async { Ok((http_get(mp, "/readyz").await?.0 == 503).then_some(())) },
    )
    .await?;
    let not_ready_after = termed.elapsed();
    // Every query sent during the lameduck period is answered.
    let mut answered = 0;
    while termed.elapsed() < Duration::from_millis(2500) {
        for name in [
            format!("dns-version.{ZONE}."),
            "ttl30.ld.example.test.".into(),
        ] {
            let d = dig(
                s.port,
                &name,
                if name.starts_with("dns") { "TXT" } else { "A" },
                &[],
            )?;
            assert_eq!(
                d.status,
                "NOERROR",
                "during lameduck, {:?} after SIGTERM: {d:?}",
                termed.elapsed()
            );
            answered += 1;
        }
    }
    let status = poll("the process to exit", WAIT, || {
        let r = s.proc.try_wait();
        async move { r }
    })
    .await?;
    let exited_after = termed.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        exited_after >= Duration::from_millis(2900),
        "exited {exited_after:?} after SIGTERM, before the 3 s lameduck"
    );
    assert!(answered >= 4, "{answered}");
    eprintln!(
        "not ready after {not_ready_after:?}, {answered} answered, exited after {exited_after:?}"
    );
    Ok(())
}

#[tokio::test]
async fn forwarding_to_itself_is_detected_at_start() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let port = free_port()?;
    let listen = format!("--listen=127.0.0.1:{port}");
    let upstream = format!("--upstream=127.0.0.1:{port}");
    let log_path = bosun_e2e::repo_root().join("target/e2e-logs/dns-loop.log");
    let before = std::fs::read_to_string(&log_path)
        .map(|t| t.len())
        .unwrap_or(0);
    let mut proc = ControllerProcess::start_subcommand("dns-loop", "dns", &[&listen, &upstream])?;
    let status = poll("bosun dns to stop on the loop", WAIT, || {
        let r = proc.try_wait();
        async move { r }
    })
    .await?;
    assert!(!status.success(), "{status:?}");
    let log = std::fs::read_to_string(&log_path)?;
    let new = log.get(before..).unwrap_or_default();
    assert!(new.contains("forwarding loop detected"), "{new}");
    Ok(())
}

/// The `bosun_dns_upstream_healthy` gauge of the upstream on `port`.
async fn upstream_healthy(metrics_port: u16, port: u16) -> anyhow::Result<Option<f64>> {
    let body = scrape(metrics_port).await?;
    let label = format!("127.0.0.1:{port}");
    Ok(body
        .contains(&format!("bosun_dns_upstream_healthy{{to=\"{label}\"}}"))
        .then(|| metric(&body, "bosun_dns_upstream_healthy", &[("to", &label)])))
}

#[tokio::test]
async fn a_silent_upstream_is_failed_over_marked_down_and_up_again_once_it_answers()
-> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    let (silent, good) = (Upstream::start()?, Upstream::start()?);
    let second = format!("--upstream=127.0.0.1:{}", good.port);
    let s = start_dns_server_with(
        "dns-failover",
        silent.port,
        &[&second, "--forward-timeout=300ms", "--health-check=200ms"],
    )
    .await?;
    silent.set_silent(true);
    // Every question is answered, by the second upstream when the first keeps quiet.
    for i in 0..6 {
        let name = format!("ttl30.fo{i}.example.test.");
        let d = dig(s.port, &name, "A", &[])?;
        assert_eq!(d.status, "NOERROR", "{name}: {d:?}");
        assert_eq!(d.data("A"), vec!["192.0.2.1".to_string()]);
    }
    let mp = s.metrics_port;
    poll("the silent upstream marked down", WAIT, || async {
        Ok((upstream_healthy(mp, silent.port).await? == Some(0.0)).then_some(()))
    })
    .await?;
    assert_eq!(upstream_healthy(mp, good.port).await?, Some(1.0));
    // Down, it is no longer asked first: a new name goes to the healthy one only.
    let name = "ttl30.after-down.example.test.";
    assert_eq!(dig(s.port, name, "A", &[])?.status, "NOERROR");
    assert_eq!(silent.queries(name), 0, "asked the upstream marked down");
    assert_eq!(good.queries(name), 1);
    // The health checker's `. NS` probe finds it answering again.
    silent.set_silent(false);
    poll("the upstream up again", WAIT, || async {
        Ok((upstream_healthy(mp, silent.port).await? == Some(1.0)).then_some(()))
    })
    .await?;
    assert!(silent.queries(".") >= 1, "no health probe arrived");
    Ok(())
}

#[tokio::test]
async fn forwarded_questions_beyond_max_concurrent_are_servfail_at_once() -> anyhow::Result<()> {
    let (up, s) = own_server(
        "dns-max-concurrent",
        &["--max-concurrent=1", "--forward-timeout=3s"],
    )
    .await?;
    up.set_silent(true);
    let port = s.port;
    // One question waits on the silent upstream, holding the only slot...
    let slow = std::thread::spawn(move || {
        dig(
            port,
            "ttl30.slow.example.test.",
            "A",
            &["+tries=1", "+time=8"],
        )
    });
    poll("the slow question at the upstream", WAIT, || async {
        Ok((up.queries("ttl30.slow.example.test.") >= 1).then_some(()))
    })
    .await?;
    // ...so the next is refused with SERVFAIL without reaching the upstream (dig gives up
    // after 2 s; a question that reached the silent upstream would take 3 s).
    let d = dig(
        port,
        "ttl30.second.example.test.",
        "A",
        &["+tries=1", "+time=2"],
    )?;
    assert_eq!(d.status, "SERVFAIL", "{d:?}");
    assert_eq!(up.queries("ttl30.second.example.test."), 0);
    let body = scrape(s.metrics_port).await?;
    assert!(
        metric(&body, "bosun_dns_forward_max_concurrent_rejects_total", &[]) >= 1.0,
        "{body}"
    );
    let slow = slow
        .join()
        .map_err(|_| anyhow::anyhow!("the slow dig panicked"))??;
    assert_eq!(slow.status, "SERVFAIL", "no upstream answered: {slow:?}");
    Ok(())
}

// --- CoreDNS beside bosun dns (issue 16) ----------------------------------------------------------

/// CoreDNS started by a test with kind's Corefile, on free loopback ports.
struct CoreDns {
    _proc: ControllerProcess,
    port: u16,
}

/// The CoreDNS binary: `$COREDNS_BIN`, else `coredns` in `$BOSUN_CACHE/bin` (what
/// `hack/cluster/build.sh coredns` builds, and builds here when it is missing).
fn coredns_bin() -> anyhow::Result<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("COREDNS_BIN") {
        return Ok(p.into());
    }
    let cache = std::env::var_os("BOSUN_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache/bosun")))
        .context("neither BOSUN_CACHE nor HOME is set")?;
    let bin = cache.join("bin/coredns");
    if !bin.exists() {
        let script = bosun_e2e::repo_root().join("hack/cluster/build.sh");
        let out = run(&script.to_string_lossy(), &["coredns"])?;
        anyhow::ensure!(
            out.code == 0 && bin.exists(),
            "hack/cluster/build.sh coredns failed: {}",
            out.stderr
        );
    }
    Ok(bin)
}

/// Start CoreDNS with kind's Corefile (its `kubernetes` block reaching this cluster through the
/// tests' KUBECONFIG), forwarding to 127.0.0.1:`upstream_port`; wait until its `ready` plugin
/// says the kubernetes plugin has synced.
async fn start_coredns(log: &str, upstream_port: u16) -> anyhow::Result<CoreDns> {
    let port = free_port()?;
    let health = free_tcp_port(port)?;
    let ready = loop {
        let p = free_tcp_port(port)?;
        if p != health {
            break p;
        }
    };
    let kubeconfig = std::env::var("KUBECONFIG").context("KUBECONFIG is not set")?;
    let context = kubectl(&["config", "current-context"])?
        .stdout
        .trim()
        .to_string();
    anyhow::ensure!(!context.is_empty(), "KUBECONFIG names no current context");
    // kind's Corefile, but bound to loopback (health and ready on free ports, not :8080/:8181)
    // and forwarding to the tests' own upstream instead of /etc/resolv.conf.
    let corefile = format!(
        ".:{port} {{
    bind 127.0.0.1
    errors
    health 127.0.0.1:{health}
    ready 127.0.0.1:{ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} {context}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    forward . 127.0.0.1:{upstream_port} {{
        max_concurrent 1000
    }}
    cache 30
    loop
    loadbalance
}}
"
    );
    let dir = bosun_e2e::repo_root().join("target/e2e-logs");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{log}.Corefile"));
    std::fs::write(&path, corefile)?;
    let conf = path.to_string_lossy().into_owned();
    let proc = ControllerProcess::start_program(log, &coredns_bin()?, &["-conf", &conf])?;
    poll("CoreDNS to be ready", WAIT, || async move {
        Ok(matches!(http_get(ready, "/ready").await, Ok((200, _))).then_some(()))
    })
    .await?;
    Ok(CoreDns { _proc: proc, port })
}

/// What the comparison looks at: the rcode and the answer records (owner, type, data; not
/// TTLs, not order).
fn rcode_and_answers(d: &Dig) -> (String, BTreeSet<String>) {
    let answers = d
        .answer
        .iter()
        .map(|r| format!("{} {} {}", r.name.to_lowercase(), r.type_, r.data))
        .collect();
    (d.status.clone(), answers)
}

#[tokio::test]
async fn answers_match_coredns_with_kinds_corefile_name_by_name() -> anyhow::Result<()> {
    let e = env("dns-vs-coredns").await?;
    let upstream = shared_upstream()?;
    let core = start_coredns("dns-vs-coredns-coredns", upstream.port).await?;
    let ns = e.ns.name.clone();
    let svc = e
        .service(json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                      {"name": "dns", "port": 53, "protocol": "UDP"}]}}))
        .await?;
    let cluster_ip = svc
        .spec
        .and_then(|s| s.cluster_ip)
        .context("the Service has a clusterIP")?;
    e.service(json!({"metadata": {"name": "db"}, "spec": {
        "clusterIP": "None", "selector": {"app": "db"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}))
        .await?;
    e.pod("web-0", "web", 0, json!({})).await?;
    e.pod("db-0", "db", 1, json!({})).await?;
    e.pod("db-1", "db", 2, json!({})).await?;
    let ips = e.ready_ips(&["web-0", "db-0", "db-1"]).await?;
    let db_ips = set_of([&ips["db-0"], &ips["db-1"]]);
    // Both sides have seen the pods before either is asked (CoreDNS caches what it answers for
    // 30 s): bosun answers the headless name with both, and the discovery.k8s.io slices that
    // CoreDNS reads list both as ready.
    e.until(
        "bosun dns to answer db with both pods",
        &e.fqdn("db"),
        "A",
        |d| d.data_set("A") == db_ips,
    )
    .await?;
    let k8s_slices: Api<k8s_openapi::api::discovery::v1::EndpointSlice> =
        Api::namespaced(e.client.clone(), &ns);
    for (svc, want) in [("db", db_ips.clone()), ("web", set_of([&ips["web-0"]]))] {
        let k8s_slices = &k8s_slices;
        let want = &want;
        poll(
            &format!("kube-controller-manager's EndpointSlices of {svc}"),
            WAIT,
            || async move {
                let list = k8s_slices
                    .list(&ListParams::default().labels(&format!("{LABEL_SERVICE_NAME}={svc}")))
                    .await?;
                let ready: BTreeSet<String> = list
                    .items
                    .iter()
                    .flat_map(|s| s.endpoints.iter())
                    .filter(|ep| ep.conditions.as_ref().and_then(|c| c.ready) == Some(true))
                    .flat_map(|ep| ep.addresses.iter().cloned())
                    .collect();
                Ok((&ready == want).then_some(()))
            },
        )
        .await?;
    }

    let z = ZONE;
    let web = format!("web.{ns}.svc.{z}.");
    let db = format!("db.{ns}.svc.{z}.");
    let db0 = &ips["db-0"];
    let mut questions: Vec<(String, &str)> = vec![
        // A ClusterIP Service: A, AAAA (NODATA), SRV of the name and of each named port.
        (web.clone(), "A"),
        (web.clone(), "AAAA"),
        (web.clone(), "SRV"),
        (format!("_http._tcp.{web}"), "SRV"),
        (format!("_dns._udp.{web}"), "SRV"),
        (format!("_http._udp.{web}"), "SRV"),
        (format!("_nope._tcp.{web}"), "SRV"),
        // A headless Service: A, SRV, an endpoint by its name.
        (db.clone(), "A"),
        (db.clone(), "SRV"),
        (format!("_http._tcp.{db}"), "SRV"),
        (format!("{}.{db}", dashed(db0)), "A"),
        (format!("kubernetes.default.svc.{z}."), "A"),
        // Pod records (`pods insecure`: any dashed address in any namespace).
        (format!("{}.{ns}.pod.{z}.", dashed(db0)), "A"),
        (format!("10-244-1-7.{ns}.pod.{z}."), "A"),
        (format!("not-an-ip.{ns}.pod.{z}."), "A"),
        // What a resolver with `search <ns>.svc.cluster.local svc.cluster.local cluster.local`
        // and `ndots:5` sends, in order, for `web`, `web.<ns>`, `web.<ns>.svc.cluster.local`
        // and for `web` asked from the namespace `default`.
        (format!("web.{ns}.{ns}.svc.{z}."), "A"),
        (format!("web.{ns}.svc.{z}.{ns}.svc.{z}."), "A"),
        (format!("web.{ns}.svc.{z}.svc.{z}."), "A"),
        (format!("web.{ns}.svc.{z}.{z}."), "A"),
        (format!("web.default.svc.{z}."), "A"),
        (format!("web.svc.{z}."), "A"),
        (format!("web.{z}."), "A"),
        ("web.".to_string(), "A"),
        (format!("{ns}.svc.{z}."), "A"),
        (format!("svc.{z}."), "A"),
        (format!("web.{ns}.{z}."), "A"),
        // Names outside the cluster, through the same search path, then as asked.
        (format!("ttl30.diff.example.test.{ns}.svc.{z}."), "A"),
        (
            "ttl30.diff.example.test.svc.cluster.local.".to_string(),
            "A",
        ),
        ("ttl30.diff.example.test.cluster.local.".to_string(), "A"),
        ("ttl30.diff.example.test.".to_string(), "A"),
        ("multi.diff.example.test.".to_string(), "A"),
        // NXDOMAIN from the upstream.
        ("nx60.diff.example.test.".to_string(), "A"),
        ("nothing.invalid.".to_string(), "A"),
        // Reverse lookups: a Service IP, an endpoint of a headless Service, an address the
        // cluster does not know (forwarded: the upstream's PTR).
        (reverse(&cluster_ip), "PTR"),
        (reverse(db0), "PTR"),
        ("7.100.51.198.in-addr.arpa.".to_string(), "PTR"),
        (format!("dns-version.{z}."), "TXT"),
    ];
    questions.dedup();
    // Both answers of every question; re-asked until they agree (a side may lag by a watch
    // event) or until CoreDNS's cache (30 s) has surely expired once more.
    let compare = || -> anyhow::Result<Vec<String>> {
        let mut differ = Vec::new();
        for (name, type_) in &questions {
            let ours = rcode_and_answers(&dig(e.port, name, type_, &[])?);
            let theirs = rcode_and_answers(&dig(core.port, name, type_, &[])?);
            if ours != theirs {
                differ.push(format!(
                    "{name} {type_}\n    bosun dns: {ours:?}\n    CoreDNS:   {theirs:?}"
                ));
            }
        }
        Ok(differ)
    };
    let agreed = poll(
        "bosun dns and CoreDNS to agree",
        Duration::from_secs(45),
        || async { Ok(compare()?.is_empty().then_some(())) },
    )
    .await;
    let differ = if agreed.is_ok() {
        Vec::new()
    } else {
        compare()?
    };
    assert!(
        differ.is_empty(),
        "{} of {} questions answered differently:\n{}",
        differ.len(),
        questions.len(),
        differ.join("\n")
    );
    Ok(())
}

/// A query for `name` of type `qtype` (recursion desired) with id `id`, on the wire.
fn question(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// `n` random UDP payloads of 0..700 bytes, every third with a query's header (QR=0, opcode 0,
/// one question) so that it reaches the parser.
fn flood_payloads(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let len = (rng.next() % 700) as usize;
            let mut p = rng.bytes(len);
            if i % 3 == 0 && p.len() >= 12 {
                p[2] &= 0x07;
                p[4] = 0;
                p[5] = 1;
            }
            p
        })
        .collect()
}

/// The longest a flood lasts, whatever its count.
const FLOOD_FOR: Duration = Duration::from_secs(5);

/// While `payloads` go to 127.0.0.1:`port` as fast as one socket sends them (for at most
/// [`FLOOD_FOR`]), a well-formed question for `name` A every 10 ms from another socket: (answered
/// NOERROR within 1 s, asked).
fn answered_under_flood(
    port: u16,
    payloads: &[Vec<u8>],
    name: &str,
) -> anyhow::Result<(usize, usize)> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let target = ("127.0.0.1", port);
    let asker = std::net::UdpSocket::bind("127.0.0.1:0")?;
    asker.set_read_timeout(Some(Duration::from_millis(100)))?;
    let listener = asker.try_clone()?;
    let flooding = Arc::new(AtomicBool::new(true));
    let listening = Arc::new(AtomicBool::new(true));
    let ((sent, within), asked) = std::thread::scope(|s| {
        let f = flooding.clone();
        let flood = s.spawn(move || -> anyhow::Result<usize> {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
            let start = Instant::now();
            let mut sent = 0;
            for p in payloads {
                if start.elapsed() > FLOOD_FOR {
                    break;
                }
                // A full socket buffer on the server drops the datagram; that is the point.
                let _ = udp.send_to(p, target);
                sent += 1;
            }
            f.store(false, Ordering::Relaxed);
            Ok(sent)
        });
        let l = listening.clone();
        let listen = s.spawn(move || {
            let mut answers = BTreeMap::new();
            let mut buf = [0u8; 1500];
            while l.load(Ordering::Relaxed) {
                if let Ok((n, _)) = listener.recv_from(&mut buf) {
                    // QR set, rcode NOERROR.
                    if n >= 12 && buf[2] & 0x80 != 0 && buf[3] & 0x0f == 0 {
                        answers
                            .entry(u16::from_be_bytes([buf[0], buf[1]]))
                            .or_insert_with(Instant::now);
                    }
                }
            }
            answers
        });
        let mut asked = Vec::new();
        while flooding.load(Ordering::Relaxed) && asked.len() < usize::from(u16::MAX) {
            let id = asked.len() as u16;
            // A failed send counts as a question not answered.
            let _ = asker.send_to(&question(id, name, 1), target);
            asked.push(Instant::now());
            // Pacing the questions, not waiting for anything.
            std::thread::sleep(Duration::from_millis(10));
        }
        // Every question has had its second.
        std::thread::sleep(Duration::from_millis(1100));
        listening.store(false, Ordering::Relaxed);
        let flood = flood
            .join()
            .map_err(|_| anyhow::anyhow!("the flood thread panicked"))?;
        let answers = listen
            .join()
            .map_err(|_| anyhow::anyhow!("the listening thread panicked"))?;
        let within = asked
            .iter()
            .enumerate()
            .filter(|(id, at)| {
                answers
                    .get(&(*id as u16))
                    .is_some_and(|t| t.duration_since(**at) <= Duration::from_secs(1))
            })
            .count();
        anyhow::Ok(((flood?, within), asked.len()))
    })?;
    println!("  {sent} flood packets, {within}/{asked} questions answered within 1 s");
    Ok((within, asked))
}

/// After `payloads` sent as fast as one socket sends them, one question for `name` A from a
/// fresh socket, never repeated: whether it was answered NOERROR within 2 s.
fn first_question_after_burst_answered(
    port: u16,
    payloads: &[Vec<u8>],
    name: &str,
) -> anyhow::Result<bool> {
    let target = ("127.0.0.1", port);
    let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
    for p in payloads {
        let _ = udp.send_to(p, target);
    }
    let asker = std::net::UdpSocket::bind("127.0.0.1:0")?;
    asker.send_to(&question(0x4242, name, 1), target)?;
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 1500];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        asker.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        match asker.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 && buf[0] == 0x42 && buf[1] == 0x42 => {
                return Ok(buf[2] & 0x80 != 0 && buf[3] & 0x0f == 0);
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    Ok(false)
}

#[tokio::test]
async fn under_a_udp_flood_bosun_answers_at_least_the_share_coredns_does() -> anyhow::Result<()> {
    // Issue 16: under a flood of random datagrams, the share of well-formed questions answered
    // within 1 s is at least CoreDNS's, and the first question after a 20 000-packet burst is
    // answered without a retry. Measured here (debug build, optimised dependencies): bosun dns
    // 0.93-1.00, CoreDNS 0.46-0.55; before bosun's own UDP loop (src/dns/udp.rs) 0.26 against 0.63.
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("dns")?;
    // Servers of this test's own: the flood would starve the shared ones.
    let (up, bosun) = own_server("dns-flood-bosun", &[]).await?;
    let core = start_coredns("dns-flood-coredns", up.port).await?;
    let name = format!("kubernetes.default.svc.{ZONE}.");
    for port in [bosun.port, core.port] {
        poll(
            "both servers to answer the kubernetes Service",
            WAIT,
            || {
                let name = name.clone();
                async move { Ok((dig(port, &name, "A", &[])?.answer.len() == 1).then_some(())) }
            },
        )
        .await?;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64
        | 1;
    println!("flood seed {seed}");
    // The same payloads for both, one server after the other (two cores: flooding both at once
    // would measure the scheduler), twice, alternating, so that a load from elsewhere (the
    // rest of the suite runs beside this test) falls on both.
    let flood = flood_payloads(seed, 200_000);
    let (mut ours, mut asked_ours, mut theirs, mut asked_theirs) = (0, 0, 0, 0);
    for round in 1..=2 {
        println!("round {round}, bosun dns under the flood:");
        let (a, n) = answered_under_flood(bosun.port, &flood, &name)?;
        (ours, asked_ours) = (ours + a, asked_ours + n);
        println!("round {round}, CoreDNS under the flood:");
        let (a, n) = answered_under_flood(core.port, &flood, &name)?;
        (theirs, asked_theirs) = (theirs + a, asked_theirs + n);
    }
    let share = |a: usize, n: usize| a as f64 / n.max(1) as f64;
    println!(
        "flood: answered within 1 s: bosun dns {:.3} ({ours}/{asked_ours}), CoreDNS {:.3} ({theirs}/{asked_theirs})",
        share(ours, asked_ours),
        share(theirs, asked_theirs)
    );
    assert!(
        ours > 0 && share(ours, asked_ours) >= share(theirs, asked_theirs),
        "under the flood bosun dns answered {ours}/{asked_ours} questions within 1 s, CoreDNS {theirs}/{asked_theirs}"
    );

    // A question right behind a 20 000-packet burst: bosun dns's receive queue
    // (--udp-receive-buffer, 16 MiB) holds the burst, so the question waits instead of being
    // dropped. CoreDNS's is the kernel default; whether it keeps the question is printed.
    let burst = flood_payloads(seed ^ 0x5eed, 20_000);
    let ours = first_question_after_burst_answered(bosun.port, &burst, &name)?;
    let theirs = first_question_after_burst_answered(core.port, &burst, &name)?;
    println!(
        "first question after a 20 000-packet burst answered at once: bosun dns {ours}, CoreDNS {theirs}"
    );
    assert!(
        ours,
        "bosun dns did not answer the first question after a 20 000-packet burst within 2 s"
    );
    Ok(())
}
