//! The e2e tests' own upstream resolver, on 127.0.0.1 (UDP and TCP on one port), so that no
//! forwarded question ever leaves the machine. It answers from its name alone:
//!
//! ```text
//! ttl<N>.<x>.example.test A       192.0.2.1, TTL N
//! multi.<x>.example.test A        192.0.2.1, 192.0.2.2, 192.0.2.3 (TTL 60)
//! big.<x>.example.test A          100 addresses; over UDP only TC (so the asker retries on TCP)
//! nx<M>.<x>.example.test          NXDOMAIN, SOA (TTL 3600, minimum M) in authority
//! <reverse>.in-addr.arpa PTR      upstream-ptr.example.test.
//! anything else                   NXDOMAIN with SOA minimum 60
//! ```
//!
//! `set_servfail(true)` makes it answer SERVFAIL to everything, `set_silent(true)` answer
//! nothing; `stop()` closes its sockets.
//! It counts the questions it receives by name.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Default)]
struct State {
    servfail: AtomicBool,
    silent: AtomicBool,
    seen: Mutex<HashMap<String, u32>>,
}

/// A running test upstream.
pub struct Upstream {
    /// Its port on 127.0.0.1 (UDP and TCP).
    pub port: u16,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn soa(minimum: u32) -> Record {
    let zone = Name::from_ascii("example.test.").unwrap_or_default();
    let data = SOA::new(zone.clone(), zone.clone(), 1, 7200, 1800, 86400, minimum);
    Record::from_rdata(zone, 3600, RData::SOA(data))
}

fn a(name: &Name, ttl: u32, last: u8) -> Record {
    Record::from_rdata(
        name.clone(),
        ttl,
        RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
    )
}

/// The answer to `query` (a wire message), `None` for undecodable input.
fn respond(state: &State, bytes: &[u8], udp: bool) -> Option<Vec<u8>> {
    let request = Message::from_vec(bytes).ok()?;
    let mut response = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    let Some(query) = request.queries.first().cloned() else {
        response.metadata.response_code = ResponseCode::FormErr;
        return response.to_vec().ok();
    };
    response.add_query(query.clone());
    let name = query.name().to_lowercase();
    let text = name.to_ascii();
    *state
        .seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(text.clone())
        .or_default() += 1;
    if state.silent.load(Ordering::Relaxed) {
        return None;
    }
    if state.servfail.load(Ordering::Relaxed) {
        response.metadata.response_code = ResponseCode::ServFail;
        return response.to_vec().ok();
    }
    let first = text.split('.').next().unwrap_or_default().to_string();
    let qtype = query.query_type();
    if text.ends_with(".in-addr.arpa.") && qtype == RecordType::PTR {
        let target = Name::from_ascii("upstream-ptr.example.test.").unwrap_or_default();
        response.add_answer(Record::from_rdata(name, 30, RData::PTR(PTR(target))));
    } else if text.ends_with(".example.test.") && qtype == RecordType::A {
        if let Some(ttl) = first.strip_prefix("ttl").and_then(|t| t.parse().ok()) {
            response.add_answer(a(&name, ttl, 1));
        } else if first == "multi" {
            for last in 1..=3 {
                response.add_answer(a(&name, 60, last));
            }
        } else if first == "big" {
            if udp {
                response.metadata.truncation = true;
            } else {
                for last in 1..=100 {
                    response.add_answer(a(&name, 60, last));
                }
            }
        } else if let Some(min) = first.strip_prefix("nx").and_then(|t| t.parse().ok()) {
            response.metadata.response_code = ResponseCode::NXDomain;
            response.add_authority(soa(min));
        } else {
            response.metadata.response_code = ResponseCode::NXDomain;
            response.add_authority(soa(60));
        }
    } else {
        response.metadata.response_code = ResponseCode::NXDomain;
        response.add_authority(soa(60));
    }
    response.to_vec().ok()
}

async fn serve_udp(udp: tokio::net::UdpSocket, st: Arc<State>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(out) = respond(&st, &buf[..n], true) {
            let _ = udp.send_to(&out, from).await;
        }
    }
}

async fn serve_tcp(tcp: tokio::net::TcpListener, st: Arc<State>) {
    loop {
        let Ok((mut conn, _)) = tcp.accept().await else {
            continue;
        };
        let st = st.clone();
        tokio::spawn(async move {
            loop {
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).await.is_err() {
                    return;
                }
                let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut msg).await.is_err() {
                    return;
                }
                let Some(out) = respond(&st, &msg, false) else {
                    return;
                };
                let Ok(n) = u16::try_from(out.len()) else {
                    return;
                };
                if conn.write_all(&n.to_be_bytes()).await.is_err()
                    || conn.write_all(&out).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

async fn bind() -> anyhow::Result<(tokio::net::UdpSocket, tokio::net::TcpListener)> {
    for _ in 0..20 {
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
        let port = udp.local_addr()?.port();
        if let Ok(tcp) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            return Ok((udp, tcp));
        }
    }
    anyhow::bail!("no port free for UDP and TCP")
}

impl Upstream {
    /// Start on a port free for UDP and TCP on 127.0.0.1, on a thread and runtime of its own
    /// (so it outlives the test that started it when tests share it).
    pub fn start() -> anyhow::Result<Self> {
        let state = Arc::new(State::default());
        let st = state.clone();
        let (port_tx, port_rx) = std::sync::mpsc::channel::<anyhow::Result<u16>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = port_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let (udp, tcp) = match bind().await {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = port_tx.send(Err(e));
                        return;
                    }
                };
                let _ = port_tx.send(udp.local_addr().map(|a| a.port()).map_err(Into::into));
                tokio::select! {
                    _ = serve_udp(udp, st.clone()) => {}
                    _ = serve_tcp(tcp, st) => {}
                    _ = stop_rx => {}
                }
            });
        });
        let port = port_rx.recv()??;
        Ok(Self {
            port,
            state,
            stop: Some(stop_tx),
        })
    }

    /// Answer SERVFAIL to everything (or not).
    pub fn set_servfail(&self, on: bool) {
        self.state.servfail.store(on, Ordering::Relaxed);
    }

    /// Receive but never answer (or answer again).
    pub fn set_silent(&self, on: bool) {
        self.state.silent.store(on, Ordering::Relaxed);
    }

    /// How many questions for `name` (lower case, with the final dot) arrived.
    pub fn queries(&self, name: &str) -> u32 {
        self.state
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
            .unwrap_or_default()
    }

    /// Close the sockets: the upstream is gone.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}
