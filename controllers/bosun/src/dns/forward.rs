//! Forwarding of the questions outside the served zones (CoreDNS's `forward . /etc/resolv.conf
//! { max_concurrent 1000 }`).
//!
//! The wire work is hickory-resolver's: each upstream is a one-server [`NameServerPool`]
//! (UDP, retried over TCP when the answer comes back truncated; connection reuse; its own
//! dedup of identical in-flight questions). What hickory cannot express is built here, thinly:
//!
//! - **Failover in CoreDNS's order.** A multi-server pool orders servers by its own smoothed
//!   RTT and gives no say over which are skipped, and it exposes no per-server health; so
//!   bosun keeps one pool per upstream and walks them itself: healthy ones first, from a
//!   round-robin start, then the unhealthy ones (CoreDNS tries a random one when all are down).
//! - **Health.** CoreDNS marks an upstream down after `max_fails` (2) failed exchanges in a row
//!   and then probes it with `. IN NS` every 0.5 s until it answers; [`Upstream::health_loop`]
//!   does the same.
//! - **max_concurrent.** hickory has no bound on in-flight queries; a semaphore here rejects
//!   (SERVFAIL) any forwarded question beyond the bound, as CoreDNS does.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::xfer::DnsHandle;
use hickory_net::{DnsError, NetError};
use hickory_proto::op::{DnsRequest, DnsRequestOptions, Query};
use hickory_proto::rr::{Name, RecordType};
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverOpts};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};
use tokio::sync::Semaphore;
use tracing::{debug, info, warn};

use super::store::Answer;

/// CoreDNS's `max_fails`: failed exchanges in a row before an upstream counts as down.
pub const MAX_FAILS: u32 = 2;

/// Why a question could not be forwarded; each is answered SERVFAIL.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// More forwarded questions in flight than `--max-concurrent`.
    #[error("more than {0} forwarded queries in flight")]
    MaxConcurrent(usize),
    /// No upstream answered.
    #[error("no upstream answered: {0}")]
    NoAnswer(String),
}

/// What a forwarded question brought back.
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// The upstream's answer, relayed.
    pub answer: Answer,
    /// Whether the final answer was still truncated (even over TCP): never cached.
    pub truncated: bool,
    /// The upstream that answered.
    pub upstream: SocketAddr,
}

/// Parse one `--upstream`: `IP`, `IP:port`, `[IPv6]:port`; port 53 by default.
pub fn parse_upstream(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = SocketAddr::from_str(s) {
        return Ok(addr);
    }
    IpAddr::from_str(s.trim_start_matches('[').trim_end_matches(']'))
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{s:?} is not IP[:port]"))
}

/// The `nameserver` lines of a resolv.conf, as upstreams on port 53 (scoped IPv6 addresses
/// such as `fe80::1%eth0` are skipped: CoreDNS cannot use them either).
pub fn resolv_conf_nameservers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .map(|l| l.split(['#', ';']).next().unwrap_or_default())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
                .and_then(|ip| IpAddr::from_str(ip).ok())
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

/// The order in which to try upstreams: the healthy ones from `start` (round robin), then the
/// unhealthy ones in the same rotation.
pub fn try_order(healthy: &[bool], start: usize) -> Vec<usize> {
    let n = healthy.len();
    let rotated: Vec<usize> = (0..n).map(|i| (start + i) % n.max(1)).collect();
    let mut order: Vec<usize> = rotated.iter().copied().filter(|&i| healthy[i]).collect();
    order.extend(rotated.iter().copied().filter(|&i| !healthy[i]));
    order
}

/// The result of one exchange with one upstream, as bosun sees it.
enum Exchange {
    /// The upstream answered (whatever the response code).
    Answered(Answer, bool),
    /// It did not (timeout, connection error, undecodable answer).
    Failed(String),
}

/// One upstream resolver.
pub struct Upstream {
    addr: SocketAddr,
    label: String,
    pool: NameServerPool<TokioRuntimeProvider>,
    fails: AtomicU32,
    healthy: AtomicBool,
}

impl Upstream {
    fn new(addr: SocketAddr, timeout: Duration) -> Self {
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        opts.num_concurrent_reqs = 1;
        opts.cache_size = 0;
        opts.case_randomization = false;
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        // Without a TLS feature, TlsConfig is empty and cannot fail to build.
        let tls = TlsConfig::new().unwrap_or(TlsConfig {});
        let cx = Arc::new(PoolContext::new(opts, tls));
        Self {
            addr,
            label: addr.to_string(),
            pool: NameServerPool::from_config([server], cx, TokioRuntimeProvider::default()),
            fails: AtomicU32::new(0),
            healthy: AtomicBool::new(true),
        }
    }

    /// The upstream's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it is considered up.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    async fn exchange(&self, query: Query, options: DnsRequestOptions) -> Exchange {
        let request = DnsRequest::from_query(query, options);
        match self.pool.send(request).next().await {
            Some(Ok(response)) => {
                let truncated = response.metadata.truncation;
                let message = response.into_message();
                Exchange::Answered(
                    Answer {
                        rcode: message.metadata.response_code,
                        answers: message.answers,
                        authority: message.authorities,
                        additionals: message.additionals,
                    },
                    truncated,
                )
            }
            // hickory turns negative and error responses into errors; they are answers all the
            // same, relayed with their code (and, for NXDOMAIN/NODATA, the authority section).
            Some(Err(NetError::Dns(DnsError::NoRecordsFound(nr)))) => Exchange::Answered(
                Answer {
                    rcode: nr.response_code,
                    authority: nr.authorities.map(|a| a.to_vec()).unwrap_or_default(),
                    ..Answer::default()
                },
                false,
            ),
            Some(Err(NetError::Dns(DnsError::ResponseCode(code)))) => Exchange::Answered(
                Answer {
                    rcode: code,
                    ..Answer::default()
                },
                false,
            ),
            Some(Err(e)) => Exchange::Failed(e.to_string()),
            None => Exchange::Failed("no response".into()),
        }
    }

    fn record(&self, ok: bool) {
        if ok {
            self.fails.store(0, Ordering::Relaxed);
            if !self.healthy.swap(true, Ordering::Relaxed) {
                info!(upstream = %self.addr, "upstream is healthy again");
            }
        } else {
            let fails = self.fails.fetch_add(1, Ordering::Relaxed) + 1;
            if fails >= MAX_FAILS && self.healthy.swap(false, Ordering::Relaxed) {
                warn!(upstream = %self.addr, fails, "upstream marked down");
            }
        }
        crate::runtime::metrics::METRICS
            .dns_upstream_healthy
            .get_or_create(&self.labels())
            .set(i64::from(self.is_healthy()));
    }

    fn labels(&self) -> crate::runtime::metrics::UpstreamLabels {
        crate::runtime::metrics::UpstreamLabels {
            to: self.label.clone(),
        }
    }

    /// While the upstream has failures, probe it with `. IN NS` (no recursion) every `every`
    /// until it answers, as CoreDNS's health checker does.
    async fn health_loop(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if self.fails.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut options = DnsRequestOptions::default();
            options.recursion_desired = false;
            let probe = Query::query(Name::root(), RecordType::NS);
            match self.exchange(probe, options).await {
                Exchange::Answered(..) => self.record(true),
                Exchange::Failed(e) => {
                    debug!(upstream = %self.addr, error = %e, "health check failed");
                    self.record(false);
                }
            }
        }
    }
}

/// The upstreams, and the bound on forwarded questions in flight.
pub struct Forwarder {
    upstreams: Vec<Arc<Upstream>>,
    next: AtomicUsize,
    slots: Arc<Semaphore>,
    max_concurrent: usize,
}

impl Forwarder {
    /// Forward to `upstreams` (in this order), each exchange bounded by `timeout`, at most
    /// `max_concurrent` questions in flight; health checks every `health_every` (spawned on
    /// the current runtime).
    pub fn new(
        upstreams: &[SocketAddr],
        timeout: Duration,
        max_concurrent: usize,
        health_every: Duration,
    ) -> Arc<Self> {
        let upstreams: Vec<Arc<Upstream>> = upstreams
            .iter()
            .map(|a| Arc::new(Upstream::new(*a, timeout)))
            .collect();
        for u in &upstreams {
            crate::runtime::metrics::METRICS
                .dns_upstream_healthy
                .get_or_create(&u.labels())
                .set(1);
            tokio::spawn(u.clone().health_loop(health_every));
        }
        Arc::new(Self {
            upstreams,
            next: AtomicUsize::new(0),
            slots: Arc::new(Semaphore::new(max_concurrent)),
            max_concurrent,
        })
    }

    /// The upstreams.
    pub fn upstreams(&self) -> &[Arc<Upstream>] {
        &self.upstreams
    }

    /// Forward one question; `recursion_desired` and `dnssec_ok` as the client sent them.
    pub async fn forward(
        &self,
        query: &Query,
        recursion_desired: bool,
        dnssec_ok: bool,
    ) -> Result<Forwarded, ForwardError> {
        let metrics = &crate::runtime::metrics::METRICS;
        let Ok(_slot) = self.slots.clone().try_acquire_owned() else {
            metrics.dns_forward_max_concurrent_rejects.inc();
            return Err(ForwardError::MaxConcurrent(self.max_concurrent));
        };
        let healthy: Vec<bool> = self.upstreams.iter().map(|u| u.is_healthy()).collect();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut errors = Vec::new();
        for i in try_order(&healthy, start) {
            let Some(upstream) = self.upstreams.get(i) else {
                continue;
            };
            let mut options = DnsRequestOptions::default();
            options.recursion_desired = recursion_desired;
            options.use_edns = true;
            options.edns_payload_len = 1232;
            options.edns_set_dnssec_ok = dnssec_ok;
            options.case_randomization = false;
            let began = Instant::now();
            let result = upstream.exchange(query.clone(), options).await;
            let took = began.elapsed().as_secs_f64();
            let rcode = match &result {
                Exchange::Answered(a, _) => super::rcode::rcode_label(a.rcode),
                Exchange::Failed(_) => "error".to_string(),
            };
            metrics
                .dns_forward_requests
                .get_or_create(&crate::runtime::metrics::ForwardLabels {
                    to: upstream.label.clone(),
                    rcode,
                })
                .inc();
            metrics
                .dns_forward_durations
                .get_or_create(&upstream.labels())
                .observe(took);
            match result {
                Exchange::Answered(answer, truncated) => {
                    upstream.record(true);
                    return Ok(Forwarded {
                        answer,
                        truncated,
                        upstream: upstream.addr,
                    });
                }
                Exchange::Failed(e) => {
                    debug!(upstream = %upstream.addr, error = %e, "forwarding failed");
                    upstream.record(false);
                    errors.push(format!("{}: {e}", upstream.addr));
                }
            }
        }
        Err(ForwardError::NoAnswer(errors.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_is_ip_with_optional_port_53_by_default() {
        assert_eq!(
            parse_upstream("10.0.0.1"),
            Ok("10.0.0.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_upstream("127.0.0.1:5300").ok(),
            "127.0.0.1:5300".parse().ok()
        );
        assert_eq!(parse_upstream("::1").ok(), "[::1]:53".parse().ok());
        assert_eq!(parse_upstream("[::1]:54").ok(), "[::1]:54".parse().ok());
        assert!(parse_upstream("dns.example").is_err());
    }

    #[test]
    fn resolv_conf_nameservers_are_the_upstreams_as_forward_reads_them() {
        let text = "# generated\nsearch svc.cluster.local\nnameserver 10.0.0.10\n\
                    nameserver fd00::10 # v6\noptions ndots:5\nnameserver fe80::1%eth0\n";
        assert_eq!(
            resolv_conf_nameservers(text),
            vec![
                "10.0.0.10:53".parse().unwrap(),
                "[fd00::10]:53".parse().unwrap(),
            ]
        );
    }

    #[test]
    fn healthy_upstreams_are_tried_first_in_round_robin_then_the_down_ones() {
        assert_eq!(try_order(&[true, true, true], 0), vec![0, 1, 2]);
        assert_eq!(try_order(&[true, true, true], 4), vec![1, 2, 0]);
        assert_eq!(try_order(&[false, true, true], 0), vec![1, 2, 0]);
        // All down: every one is still tried (CoreDNS picks one at random then).
        assert_eq!(try_order(&[false, false], 1), vec![1, 0]);
        assert!(try_order(&[], 3).is_empty());
    }
}
