//! `bosun dns`: an authoritative DNS server for the cluster zone and the reverse zones, fed by
//! a watch of DNSRecordSets. hickory-server does the wire format, UDP and TCP, truncation (TC
//! when an answer exceeds 512 bytes or the client's EDNS size on UDP, so resolvers retry over
//! TCP) and FORMERR for undecodable queries; the answer itself comes from [`Store::answer`],
//! an in-memory map, with no API call on the query path.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use bosun_api::dns::DNSRecordSet;
use bosun_core::key_of;
use hickory_proto::op::{Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tracing::{debug, info, warn};

use super::store::Store;
use crate::runtime::informer::{Handler, Informer};

/// The flags of `bosun dns`.
#[derive(clap::Args, Debug)]
pub struct DnsArgs {
    /// Address and port to serve on, UDP and TCP.
    #[arg(long, env = "BOSUN_DNS_LISTEN", default_value = "127.0.0.1:5353")]
    pub listen: SocketAddr,
    /// The cluster's DNS zone.
    #[arg(long, env = "BOSUN_DNS_ZONE", default_value = "cluster.local")]
    pub zone: String,
    /// TTL of the answers, in seconds (CoreDNS's default is 5).
    #[arg(long, env = "BOSUN_DNS_TTL", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=3600))]
    pub ttl: u32,
    /// Log format.
    #[arg(long, env = "BOSUN_LOG_FORMAT", value_enum, default_value_t = crate::LogFormat::Text)]
    pub log_format: crate::LogFormat,
    /// Where to serve /metrics, /healthz and /readyz (ready once the DNSRecordSets are listed).
    #[arg(long, env = "BOSUN_METRICS_ADDR", default_value = "127.0.0.1:8081")]
    pub metrics_addr: SocketAddr,
}

/// The metrics label of a response code: its mnemonic as dig and CoreDNS print it (`NOERROR`,
/// `NXDOMAIN`, ...; hickory's `to_str` gives prose such as "No Error"), `RCODE<n>` for others.
fn rcode_label(rcode: ResponseCode) -> String {
    let code = u16::from(rcode);
    let name = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return format!("RCODE{code}"),
    };
    name.to_string()
}

/// Answers queries from the store.
struct Responder {
    store: Arc<Store>,
    synced: Arc<AtomicBool>,
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
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.recursion_available = false;
        let mut resp_edns = None;
        if let Some(req) = request.edns.as_ref() {
            let mut e = Edns::new();
            e.set_max_payload(req.max_payload().max(512));
            e.set_version(0);
            if req.version() > 0 {
                metadata.response_code = ResponseCode::BADVERS;
            }
            resp_edns = Some(e);
        }
        let queries = request.queries.queries();
        let answer = if metadata.response_code != ResponseCode::NoError {
            super::store::Answer {
                rcode: metadata.response_code,
                ..Default::default()
            }
        } else if request.metadata.op_code != OpCode::Query {
            super::store::Answer {
                rcode: ResponseCode::NotImp,
                ..Default::default()
            }
        } else if queries.len() != 1 {
            super::store::Answer {
                rcode: ResponseCode::FormErr,
                ..Default::default()
            }
        } else {
            let q = &queries[0];
            let a = self.store.answer(q.name(), q.query_type(), q.query_class());
            if !self.synced.load(Ordering::Relaxed) && a.rcode == ResponseCode::NXDomain {
                // Not yet listed: the name may well exist (CoreDNS answers SERVFAIL too).
                super::store::Answer {
                    rcode: ResponseCode::ServFail,
                    ..Default::default()
                }
            } else {
                a
            }
        };
        metadata.response_code = answer.rcode;
        crate::runtime::metrics::METRICS
            .dns_queries
            .get_or_create(&crate::runtime::metrics::DnsLabels {
                rcode: rcode_label(answer.rcode),
            })
            .inc();
        if answer.rcode == ResponseCode::Refused {
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
            answer.additionals.iter(),
        );
        match response_handle.send_response(response).await {
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
        }
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

/// Run the server until SIGTERM or SIGINT.
pub async fn run(args: DnsArgs) -> anyhow::Result<()> {
    let health = crate::serve::Health::new();
    crate::serve::spawn(args.metrics_addr, health.clone())
        .await
        .with_context(|| format!("serving metrics on {}", args.metrics_addr))?;
    let store = Arc::new(Store::new(&args.zone, args.ttl).map_err(anyhow::Error::msg)?);
    let synced = Arc::new(AtomicBool::new(false));
    let mut server = hickory_server::Server::new(Responder {
        store: store.clone(),
        synced: synced.clone(),
    });
    let udp = tokio::net::UdpSocket::bind(args.listen)
        .await
        .with_context(|| format!("binding UDP {}", args.listen))?;
    let tcp = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding TCP {}", args.listen))?;
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64);
    info!(listen = %args.listen, zone = %args.zone, ttl = args.ttl, "serving DNS");

    let client = crate::runtime::client::build(0.0, 1)
        .await
        .context("connecting to the API server (KUBECONFIG or in-cluster config)")?;
    let informer: Arc<Informer<DNSRecordSet>> = Informer::new(None);
    informer.add_handler(Arc::new(Feed(store.clone())));
    tokio::spawn(informer.clone().run(
        kube::Api::all(client),
        kube::runtime::watcher::Config::default(),
    ));
    let sync_flag = synced.clone();
    let inf = informer.clone();
    let st = store.clone();
    tokio::spawn(async move {
        inf.synced().await;
        sync_flag.store(true, Ordering::Relaxed);
        health.set_ready(true);
        info!(
            sets = inf.list().len(),
            names = st.names(),
            "DNSRecordSets listed; answering"
        );
    });

    tokio::select! {
        r = server.block_until_done() => r.context("the DNS server stopped")?,
        _ = crate::shutdown_signal() => {
            server.shutdown_gracefully().await.context("stopping the DNS server")?;
        }
    }
    info!("stopped");
    Ok(())
}

#[cfg(test)]
mod rcode_tests {
    use super::*;

    #[test]
    fn rcode_labels_are_the_mnemonics_dig_prints() {
        assert_eq!(rcode_label(ResponseCode::NoError), "NOERROR");
        assert_eq!(rcode_label(ResponseCode::NXDomain), "NXDOMAIN");
        assert_eq!(rcode_label(ResponseCode::Refused), "REFUSED");
        assert_eq!(rcode_label(ResponseCode::ServFail), "SERVFAIL");
        assert_eq!(rcode_label(ResponseCode::FormErr), "FORMERR");
        assert_eq!(rcode_label(ResponseCode::BADVERS), "BADVERS");
        assert_eq!(rcode_label(ResponseCode::Unknown(3841)), "RCODE3841");
    }
}
