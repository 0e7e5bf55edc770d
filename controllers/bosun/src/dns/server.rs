//! `bosun dns`: an authoritative DNS server for the cluster zone and the reverse zones, fed by
//! a watch of DNSRecordSets, forwarding every other question (and reverse names it does not
//! know) to upstream resolvers through a cache, as the CoreDNS of kind and kubeadm does. hickory-server does the wire format, UDP and TCP, truncation (TC
//! when an answer exceeds 512 bytes or the client's EDNS size on UDP, so resolvers retry over
//! TCP) and FORMERR for undecodable queries; the answer itself comes from [`Store::answer`],
//! an in-memory map, with no API call on the query path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_api::dns::DNSRecordSet;
use bosun_core::key_of;
use hickory_proto::op::{
    Edns, Header, HeaderCounts, LowerQuery, MessageType, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::{Name, RecordType};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tracing::{debug, info, warn};

use super::cache::{Cache, Key as CacheKey};
use super::forward::{Forwarder, parse_upstream};
use super::probe::{PROBE_TYPE, Probe, is_loop};
use super::route::{Route, inside_zones, outside_zones};
use super::store::{Answer, Store};
use crate::runtime::informer::{Handler, Informer};

/// The flags of `bosun dns`.
#[derive(clap::Args, Debug)]
pub struct DnsArgs {
    /// Address and port to serve on, UDP and TCP; repeatable (e.g. `0.0.0.0:53` and `[::]:53`:
    /// IPv6 sockets are IPv6-only, so both can be bound).
    #[arg(
        long,
        env = "BOSUN_DNS_LISTEN",
        value_delimiter = ',',
        default_value = "127.0.0.1:5353"
    )]
    pub listen: Vec<SocketAddr>,
    /// The cluster's DNS zone.
    #[arg(long, env = "BOSUN_DNS_ZONE", default_value = "cluster.local")]
    pub zone: String,
    /// TTL of the answers, in seconds (CoreDNS's default is 5).
    #[arg(long, env = "BOSUN_DNS_TTL", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub ttl: u32,
    /// Upstream resolver for every name outside the served zones, `IP[:port]` (port 53 by
    /// default); repeatable. Without it, the nameservers of --resolv-conf.
    #[arg(long, env = "BOSUN_DNS_UPSTREAM", value_delimiter = ',', value_parser = parse_upstream)]
    pub upstream: Vec<SocketAddr>,
    /// Where the upstreams come from when no --upstream is given.
    #[arg(
        long,
        env = "BOSUN_DNS_RESOLV_CONF",
        default_value = "/etc/resolv.conf"
    )]
    pub resolv_conf: std::path::PathBuf,
    /// Forwarded questions in flight at most; SERVFAIL beyond (CoreDNS's `max_concurrent`).
    #[arg(long, env = "BOSUN_DNS_MAX_CONCURRENT", default_value_t = 1000)]
    pub max_concurrent: usize,
    /// How long one upstream has to answer before the next one is tried.
    #[arg(long, env = "BOSUN_DNS_FORWARD_TIMEOUT", default_value = "2s", value_parser = crate::duration::parse)]
    pub forward_timeout: Duration,
    /// How often an upstream with failures is probed (`. IN NS`) until it answers again.
    #[arg(long, env = "BOSUN_DNS_HEALTH_CHECK", default_value = "500ms", value_parser = crate::duration::parse)]
    pub health_check: Duration,
    /// Forwarded answers the cache holds at most; 0 turns the cache off.
    #[arg(long, env = "BOSUN_DNS_CACHE_SIZE", default_value_t = 9984)]
    pub cache_size: usize,
    /// Longest a forwarded answer is cached, in seconds (CoreDNS's `cache 30`).
    #[arg(long, env = "BOSUN_DNS_CACHE_MAX_TTL", default_value_t = 30)]
    pub cache_max_ttl: u32,
    /// Shortest a forwarded answer is cached, in seconds (CoreDNS's default minimum, 5).
    #[arg(long, env = "BOSUN_DNS_CACHE_MIN_TTL", default_value_t = 5)]
    pub cache_min_ttl: u32,
    /// After SIGTERM, how long /readyz fails while the server keeps answering, before it exits
    /// (CoreDNS's `health { lameduck 5s }`).
    #[arg(long, env = "BOSUN_DNS_LAMEDUCK", default_value = "5s", value_parser = crate::duration::parse)]
    pub lameduck: Duration,
    /// Receive queue of each UDP socket, in bytes, so that a burst of datagrams waits instead of
    /// being dropped (needs CAP_NET_ADMIN above net.core.rmem_max); 0 keeps the kernel's default.
    #[arg(long, env = "BOSUN_DNS_UDP_RECEIVE_BUFFER", default_value_t = 16 << 20)]
    pub udp_receive_buffer: usize,
    /// Log format.
    #[arg(long, env = "BOSUN_LOG_FORMAT", value_enum, default_value_t = crate::LogFormat::Text)]
    pub log_format: crate::LogFormat,
    /// Where to serve /metrics, /healthz and /readyz (ready once the DNSRecordSets are listed).
    #[arg(long, env = "BOSUN_METRICS_ADDR", default_value = "127.0.0.1:8081")]
    pub metrics_addr: SocketAddr,
}

/// Where an answer came from (the `source` label of the duration histogram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Zone,
    Cache,
    Forward,
    Error,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Zone => "zone",
            Source::Cache => "cache",
            Source::Forward => "forward",
            Source::Error => "error",
        }
    }
}

/// Answers queries from the store, the cache and the upstreams.
struct Responder {
    store: Arc<Store>,
    synced: Arc<AtomicBool>,
    forwarder: Arc<Forwarder>,
    cache: Arc<Cache>,
    probe: Arc<Probe>,
    /// Rotation of multi-address answers.
    turn: AtomicUsize,
}

fn rcode_only(rcode: ResponseCode) -> Answer {
    Answer {
        rcode,
        ..Default::default()
    }
}

impl Responder {
    /// The answer to one well-formed question, and where it came from.
    async fn answer(
        &self,
        q: &LowerQuery,
        recursion_desired: bool,
        dnssec_ok: bool,
    ) -> (Answer, Source) {
        let (name, qtype, qclass) = (q.name(), q.query_type(), q.query_class());
        if self.probe.saw(name, qtype) {
            // Our own loop probe came back: answer it here instead of sending it round again.
            warn!(name = %name, "the loop-detection probe came back to this server");
            return (rcode_only(ResponseCode::ServFail), Source::Error);
        }
        let route = if self.store.serves(name) {
            let a = self.store.answer(name, qtype, qclass);
            let route = inside_zones(
                &a,
                self.synced.load(Ordering::Relaxed),
                self.store.is_reverse_below_apex(name),
                self.store.has_records(name),
            );
            if route == Route::Zone {
                return (a, Source::Zone);
            }
            route
        } else {
            outside_zones(qtype)
        };
        match route {
            Route::Forward => {}
            Route::Refused => return (rcode_only(ResponseCode::Refused), Source::Zone),
            // (Route::Zone was answered above.)
            Route::ServFail | Route::Zone => {
                return (rcode_only(ResponseCode::ServFail), Source::Error);
            }
        }
        let metrics = &crate::runtime::metrics::METRICS;
        let key = CacheKey {
            name: name.clone(),
            qtype,
            qclass,
            dnssec_ok,
        };
        if let Some(hit) = self.cache.get(&key, Instant::now()) {
            metrics.dns_cache_hits.inc();
            return (hit, Source::Cache);
        }
        metrics.dns_cache_misses.inc();
        match self
            .forwarder
            .forward(q.original(), recursion_desired, dnssec_ok)
            .await
        {
            Ok(f) => {
                debug!(name = %name, qtype = %qtype, upstream = %f.upstream, rcode = %f.answer.rcode, "forwarded");
                let kept = self
                    .cache
                    .insert(key, &f.answer, f.truncated, Instant::now());
                metrics
                    .dns_cache_size
                    .set(i64::try_from(self.cache.entries()).unwrap_or(i64::MAX));
                match kept {
                    Some(ttl) => (super::cache::aged(&f.answer, ttl), Source::Forward),
                    None => (f.answer, Source::Forward),
                }
            }
            Err(e) => {
                debug!(name = %name, qtype = %qtype, error = %e, "forwarding failed");
                (rcode_only(ResponseCode::ServFail), Source::Error)
            }
        }
    }
}

fn unix_serial() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl RequestHandler for Responder {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let began = Instant::now();
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.recursion_available = true;
        let mut resp_edns = None;
        let mut dnssec_ok = false;
        if let Some(req) = request.edns.as_ref() {
            let mut e = Edns::new();
            e.set_max_payload(req.max_payload().max(512));
            e.set_version(0);
            if req.version() > 0 {
                metadata.response_code = ResponseCode::BADVERS;
            }
            dnssec_ok = req.flags().dnssec_ok;
            resp_edns = Some(e);
        }
        let queries = request.queries.queries();
        let mut qtype_label = String::new();
        let (answer, source) = if metadata.response_code != ResponseCode::NoError {
            (rcode_only(metadata.response_code), Source::Error)
        } else if request.metadata.op_code != OpCode::Query {
            (rcode_only(ResponseCode::NotImp), Source::Error)
        } else if queries.len() != 1 {
            (rcode_only(ResponseCode::FormErr), Source::Error)
        } else {
            let q = &queries[0];
            qtype_label = q.query_type().to_string();
            self.answer(q, request.metadata.recursion_desired, dnssec_ok)
                .await
        };
        let mut answer = answer;
        if answer.answers.len() > 1 {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed);
            answer.answers = super::balance::rotate(std::mem::take(&mut answer.answers), turn);
        }
        metadata.response_code = answer.rcode;
        let metrics = &crate::runtime::metrics::METRICS;
        metrics
            .dns_queries
            .get_or_create(&crate::runtime::metrics::DnsLabels {
                r#type: qtype_label,
                rcode: super::rcode::rcode_label(answer.rcode),
            })
            .inc();
        if answer.rcode == ResponseCode::Refused || source != Source::Zone {
            metadata.authoritative = false;
        }
        let mut builder = MessageResponseBuilder::new(&request.queries, None);
        if let Some(e) = resp_edns.as_ref() {
            builder.edns(e);
        }
        let response = builder.build(
            metadata,
            answer.answers.iter(),
            answer.authority.iter(),
            std::iter::empty(),
            answer
                .additionals
                .iter()
                .filter(|r| r.record_type() != RecordType::OPT),
        );
        let info = match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                debug!(error = %e, "sending a response failed");
                let mut m =
                    Metadata::new(request.metadata.id, MessageType::Response, OpCode::Query);
                m.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata: m,
                    counts: HeaderCounts::default(),
                })
            }
        };
        metrics
            .dns_durations
            .get_or_create(&crate::runtime::metrics::DnsSourceLabels {
                source: source.label().to_string(),
            })
            .observe(began.elapsed().as_secs_f64());
        info
    }
}

/// The one [`Responder`] shared by hickory's TCP server and [`super::udp::serve`].
struct Shared(Arc<Responder>);

#[async_trait::async_trait]
impl RequestHandler for Shared {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.0
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// Keeps the store in step with the DNSRecordSet cache.
struct Feed(Arc<Store>);

impl Feed {
    fn apply(&self, set: &DNSRecordSet) {
        let key = key_of(&set.metadata);
        let errors = self.0.apply(&key, set, unix_serial());
        for e in errors {
            warn!(set = %key, error = %e, "skipping a record");
        }
        debug!(set = %key, records = set.spec.records.len(), "records updated");
        crate::runtime::metrics::METRICS
            .dns_names
            .set(i64::try_from(self.0.names()).unwrap_or(i64::MAX));
    }
}

impl Handler<DNSRecordSet> for Feed {
    fn on_add(&self, set: &Arc<DNSRecordSet>) {
        self.apply(set);
    }
    fn on_update(&self, old: &Arc<DNSRecordSet>, cur: &Arc<DNSRecordSet>) {
        if old.spec != cur.spec {
            self.apply(cur);
        }
    }
    fn on_delete(&self, set: &Arc<DNSRecordSet>) {
        self.0.delete(&key_of(&set.metadata), unix_serial());
    }
}

/// A UDP socket and a TCP listener on `addr`; IPv6 ones IPv6-only, so `0.0.0.0:53` and
/// `[::]:53` can both be bound. The UDP socket asks for a receive queue of `receive_buffer`
/// bytes (SO_RCVBUFFORCE with CAP_NET_ADMIN, else SO_RCVBUF, which the kernel caps at
/// net.core.rmem_max) so that a burst waits for the server instead of being dropped.
fn bind(
    addr: SocketAddr,
    receive_buffer: usize,
) -> anyhow::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = Domain::for_address(addr);
    let udp = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    let tcp = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        udp.set_only_v6(true)?;
        tcp.set_only_v6(true)?;
    }
    tcp.set_reuse_address(true)?;
    if receive_buffer > 0 {
        if force_recv_buffer(&udp, receive_buffer).is_err() {
            udp.set_recv_buffer_size(receive_buffer)
                .with_context(|| format!("setting the UDP receive buffer of {addr}"))?;
        }
        info!(%addr, asked = receive_buffer, got = udp.recv_buffer_size().unwrap_or_default(), "UDP receive buffer");
    }
    udp.bind(&addr.into())
        .with_context(|| format!("binding UDP {addr}"))?;
    tcp.bind(&addr.into())
        .with_context(|| format!("binding TCP {addr}"))?;
    tcp.listen(1024)?;
    udp.set_nonblocking(true)?;
    tcp.set_nonblocking(true)?;
    Ok((
        tokio::net::UdpSocket::from_std(udp.into())?,
        tokio::net::TcpListener::from_std(tcp.into())?,
    ))
}

/// SO_RCVBUFFORCE, which socket2 does not offer: a receive queue above net.core.rmem_max, for
/// a process with CAP_NET_ADMIN (Linux only; elsewhere SO_RCVBUF alone).
#[cfg(not(target_os = "linux"))]
fn force_recv_buffer(_: &socket2::Socket, _: usize) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// SO_RCVBUFFORCE, which socket2 does not offer: a receive queue above net.core.rmem_max, for
/// a process with CAP_NET_ADMIN.
#[cfg(target_os = "linux")]
fn force_recv_buffer(socket: &socket2::Socket, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live c_int, on a descriptor the
    // socket owns for the whole call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The upstreams: `--upstream`, else the nameservers of the resolv.conf.
fn upstreams(args: &DnsArgs) -> anyhow::Result<Vec<SocketAddr>> {
    if !args.upstream.is_empty() {
        return Ok(args.upstream.clone());
    }
    let text = std::fs::read_to_string(&args.resolv_conf)
        .with_context(|| format!("reading {} for upstreams", args.resolv_conf.display()))?;
    let found = super::forward::resolv_conf_nameservers(&text);
    if found.is_empty() {
        anyhow::bail!(
            "no nameserver in {}; give --upstream",
            args.resolv_conf.display()
        );
    }
    Ok(found)
}

/// Send the loop probe through the forwarder (a few tries while upstreams do not answer) and
/// report whether it came back to this server.
async fn detect_loop(forwarder: Arc<Forwarder>, probe: Arc<Probe>) -> Option<String> {
    let query = Query::query(Name::from(probe.name()), PROBE_TYPE);
    for _ in 0..3 {
        let answered = forwarder.forward(&query, true, false).await.is_ok();
        if is_loop(probe.arrivals()) {
            let to: Vec<String> = forwarder
                .upstreams()
                .iter()
                .map(|u| u.addr().to_string())
                .collect();
            return Some(format!(
                "forwarding loop detected: the probe {} HINFO sent to the upstreams [{}] came back to this server; \
                 an upstream is this server or forwards to it (CoreDNS's `loop` stops here too)",
                probe.name(),
                to.join(", ")
            ));
        }
        if answered {
            return None;
        }
    }
    None
}

/// Run the server until SIGTERM or SIGINT (then a lameduck period), or a forwarding loop.
pub async fn run(args: DnsArgs) -> anyhow::Result<()> {
    let health = crate::serve::Health::new();
    crate::serve::spawn(args.metrics_addr, health.clone())
        .await
        .with_context(|| format!("serving metrics on {}", args.metrics_addr))?;
    let upstreams = upstreams(&args)?;
    let responder = responder(&args, &upstreams)?;
    let mut server = hickory_server::Server::new(Shared(responder.clone()));
    let mut udp_servers = tokio::task::JoinSet::new();
    for addr in &args.listen {
        let (udp, tcp) = bind(*addr, args.udp_receive_buffer)?;
        let at = *addr;
        let responder = responder.clone();
        udp_servers.spawn(async move {
            super::udp::serve(udp, responder)
                .await
                .with_context(|| format!("serving UDP on {at}"))
        });
        server.register_listener(tcp, Duration::from_secs(5), 64);
    }
    info!(listen = ?args.listen, zone = %args.zone, ttl = args.ttl, upstreams = ?upstreams, "serving DNS");
    let (loop_tx, mut loop_rx) = tokio::sync::mpsc::channel::<String>(1);
    let (forwarder, probe) = (responder.forwarder.clone(), responder.probe.clone());
    tokio::spawn(async move {
        if let Some(e) = detect_loop(forwarder, probe).await {
            let _ = loop_tx.send(e).await;
        }
    });
    let stopping = Arc::new(AtomicBool::new(false));
    watch_records(&responder, &health, &stopping).await?;

    // Owns the UDP tasks: dropping it stops them.
    let mut udp_failed = Box::pin(async move {
        match udp_servers.join_next().await {
            Some(Ok(Err(e))) => e,
            Some(Err(e)) => anyhow::anyhow!("the UDP server task ended: {e}"),
            Some(Ok(Ok(()))) | None => anyhow::anyhow!("the UDP server stopped"),
        }
    });
    tokio::select! {
        r = server.block_until_done() => r.context("the DNS server stopped")?,
        e = &mut udp_failed => return Err(e),
        Some(e) = loop_rx.recv() => {
            anyhow::bail!(e);
        }
        _ = crate::shutdown_signal() => {
            // Lameduck: not ready at once (so the Service stops sending here), answering still.
            stopping.store(true, Ordering::Relaxed);
            health.set_ready(false);
            info!(lameduck = ?args.lameduck, "lameduck: /readyz fails, still answering");
            tokio::select! {
                r = server.block_until_done() => r.context("the DNS server stopped")?,
                e = &mut udp_failed => return Err(e),
                _ = tokio::time::sleep(args.lameduck) => {}
            }
            drop(udp_failed);
            server.shutdown_gracefully().await.context("stopping the DNS server")?;
        }
    }
    info!("stopped");
    Ok(())
}

/// The responder of `args`: an empty record store (not yet synced), the forwarder to
/// `upstreams`, the cache and the loop probe.
fn responder(args: &DnsArgs, upstreams: &[SocketAddr]) -> anyhow::Result<Arc<Responder>> {
    let store = Arc::new(Store::new(&args.zone, args.ttl).map_err(anyhow::Error::msg)?);
    let forwarder = Forwarder::new(
        upstreams,
        args.forward_timeout,
        args.max_concurrent,
        args.health_check,
    );
    let cache = Arc::new(Cache::new(
        args.cache_size,
        args.cache_min_ttl,
        args.cache_max_ttl,
    ));
    Ok(Arc::new(Responder {
        store,
        synced: Arc::new(AtomicBool::new(false)),
        forwarder,
        cache,
        probe: Arc::new(Probe::new()),
        turn: AtomicUsize::new(0),
    }))
}

/// Feed the responder's store from a watch of every DNSRecordSet; once the first list is in,
/// the responder answers from it and /readyz passes (unless the server is `stopping`).
async fn watch_records(
    responder: &Responder,
    health: &Arc<crate::serve::Health>,
    stopping: &Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let client = crate::runtime::client::unfenced()
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    let informer: Arc<Informer<DNSRecordSet>> = Informer::new(None);
    informer.add_handler(Arc::new(Feed(responder.store.clone())));
    tokio::spawn(informer.clone().run(
        kube::Api::all(client),
        kube::runtime::watcher::Config::default(),
    ));
    let (synced, store) = (responder.synced.clone(), responder.store.clone());
    let (ready, stopping) = (health.clone(), stopping.clone());
    tokio::spawn(async move {
        informer.synced().await;
        synced.store(true, Ordering::Relaxed);
        if !stopping.load(Ordering::Relaxed) {
            ready.set_ready(true);
        }
        info!(
            sets = informer.list().len(),
            names = store.names(),
            "DNSRecordSets listed; answering"
        );
    });
    Ok(())
}
