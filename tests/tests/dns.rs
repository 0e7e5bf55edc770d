//! DNS for Services on the real cluster: the dns controller (in `bosun run`) writes
//! DNSRecordSets, `bosun dns` (started here on a free 127.0.0.1 port) answers from them, and the
//! real `dig` (bind9-dnsutils) asks, over UDP and TCP.
//!
//! Headless Services get their bosun EndpointSlices written by the tests exactly as the
//! EndpointSlice controller would (labels `kubernetes.io/service-name` and
//! `endpointslice.kubernetes.io/managed-by`, addresses, `conditions.ready`, hostname, ports).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bosun_api::discovery::EndpointSlice;
use bosun_api::dns::DNSRecordSet;
use bosun_e2e::{
    ControllerProcess, TestNamespace, client, ensure_controller, ensure_crds, kubectl, poll, run,
};
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const ZONE: &str = "cluster.local";

static SERVER: OnceLock<(ControllerProcess, u16)> = OnceLock::new();

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

/// The port of this test process's `bosun dns`, started once and answering.
async fn dns_server() -> anyhow::Result<u16> {
    if let Some((_, port)) = SERVER.get() {
        return Ok(*port);
    }
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let proc = ControllerProcess::start_subcommand("dns-server", "dns", &["--listen", &listen])?;
    let port = SERVER.get_or_init(|| (proc, port)).1;
    poll("bosun dns to answer", WAIT, || async move {
        let d = dig(port, &format!("dns-version.{ZONE}"), "TXT", &[])?;
        Ok((d.status == "NOERROR").then_some(()))
    })
    .await?;
    Ok(port)
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
    fn has_soa_authority(&self) -> bool {
        self.authority.iter().any(|r| r.type_ == "SOA")
    }
}

/// `dig @127.0.0.1 -p <port> <name> <type> <extra..>`, parsed. Three tries, as a resolver
/// retries: the fuzz test floods the same server's UDP socket and the kernel drops datagrams.
fn dig(port: u16, name: &str, type_: &str, extra: &[&str]) -> anyhow::Result<Dig> {
    let server = "@127.0.0.1".to_string();
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
}

async fn env(prefix: &str) -> anyhow::Result<Env> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("dns")?;
    let port = dns_server().await?;
    let ns = TestNamespace::new(&client, prefix).await?;
    Ok(Env { client, ns, port })
}

impl Env {
    fn fqdn(&self, svc: &str) -> String {
        format!("{svc}.{}.svc.{ZONE}.", self.ns.name)
    }

    async fn service(&self, body: Value) -> anyhow::Result<Service> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), &self.ns.name);
        Ok(api
            .create(&PostParams::default(), &serde_json::from_value(body)?)
            .await?)
    }

    /// Write a bosun EndpointSlice as the EndpointSlice controller would.
    async fn slice(
        &self,
        svc: &str,
        name: &str,
        endpoints: Value,
        ports: Value,
    ) -> anyhow::Result<()> {
        let api: Api<EndpointSlice> = Api::namespaced(self.client.clone(), &self.ns.name);
        let body = json!({
            "apiVersion": "discovery.bosun.dev/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/service-name": svc,
                "endpointslice.kubernetes.io/managed-by": "endpointslice.bosun.dev",
                "service.kubernetes.io/headless": ""}},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        });
        api.patch(
            name,
            &PatchParams::apply("bosun-e2e").force(),
            &Patch::Apply(&body),
        )
        .await?;
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
}

fn endpoint(ip: &str, ready: bool, hostname: Option<&str>) -> Value {
    let mut e = json!({"addresses": [ip],
        "conditions": {"ready": ready, "serving": ready, "terminating": false}});
    if let Some(h) = hostname {
        e["hostname"] = json!(h);
    }
    e
}

fn reverse(ip: &str) -> String {
    let mut o: Vec<&str> = ip.split('.').collect();
    o.reverse();
    format!("{}.in-addr.arpa.", o.join("."))
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
        Some(&["cluster.local", "4"][..]),
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
    // Outside the zones: REFUSED, over UDP and TCP.
    for extra in [&[][..], &["+tcp"][..]] {
        let d = dig(e.port, "example.com.", "A", extra)?;
        assert_eq!(d.status, "REFUSED");
        assert!(d.answer.is_empty());
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
        "clusterIP": "None", "selector": {"app": "db"},
        "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]}}))
        .await?;
    let fqdn = e.fqdn("db");
    e.slice(
        "db",
        "db-abc12",
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
    assert_eq!(
        dig(e.port, &reverse("10.244.7.3"), "PTR", &[])?.status,
        "NXDOMAIN"
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
    Ok(())
}

#[tokio::test]
async fn headless_service_without_ready_endpoints_is_nxdomain() -> anyhow::Result<()> {
    let e = env("dns-empty").await?;
    e.service(json!({"metadata": {"name": "db"}, "spec": {"clusterIP": "None", "selector": {"app": "db"}}}))
        .await?;
    e.slice(
        "db",
        "db-xyz12",
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
    e.service(json!({"metadata": {"name": "big"}, "spec": {"clusterIP": "None", "selector": {"app": "big"}}}))
        .await?;
    let eps: Vec<Value> = (1..=80)
        .map(|i| endpoint(&format!("10.244.9.{i}"), true, None))
        .collect();
    e.slice("big", "big-aaaaa", Value::Array(eps), json!([]))
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
    Ok(())
}

#[tokio::test]
async fn endpoint_readiness_flip_propagates_to_the_headless_answer() -> anyhow::Result<()> {
    let e = env("dns-flip").await?;
    e.service(json!({"metadata": {"name": "app"}, "spec": {"clusterIP": "None", "selector": {"app": "x"}}}))
        .await?;
    let fqdn = e.fqdn("app");
    let eps = |ready: bool| {
        json!([
            endpoint("10.244.10.1", true, None),
            endpoint("10.244.10.2", ready, None)
        ])
    };
    e.slice("app", "app-flip1", eps(true), json!([])).await?;
    e.until("both endpoints", &fqdn, "A", |d| d.answer.len() == 2)
        .await?;
    for (ready, want) in [
        (false, vec!["10.244.10.1"]),
        (true, vec!["10.244.10.1", "10.244.10.2"]),
    ] {
        let start = Instant::now();
        e.slice("app", "app-flip1", eps(ready), json!([])).await?;
        let want_s: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        e.until(
            "the answer to follow the ready condition",
            &fqdn,
            "A",
            |d| d.data("A") == want_s,
        )
        .await?;
        println!(
            "dns propagation: endpoint ready={ready} -> headless A answer changed after {:?}",
            start.elapsed()
        );
    }
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
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64
        | 1;
    println!("fuzz seed {seed}");
    let mut rng = Rng(seed);
    let target = ("127.0.0.1", e.port);
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
    udp.set_read_timeout(Some(Duration::from_secs(2)))?;
    udp.send_to(
        &[
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'a', b'b',
        ],
        target,
    )?;
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut formerr = false;
    while Instant::now() < deadline {
        match udp.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 && buf[0] == 0x12 && buf[1] == 0x34 => {
                formerr = buf[3] & 0x0f == 1 && buf[2] & 0x80 != 0;
                break;
            }
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    assert!(formerr, "no FORMERR response to a truncated question");
    // Still answering, over both transports.
    for extra in [&[][..], &["+tcp"][..]] {
        let d = dig(e.port, &format!("dns-version.{ZONE}."), "TXT", extra)?;
        assert_eq!(d.data("TXT"), vec!["\"1.1.0\"".to_string()]);
    }
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
