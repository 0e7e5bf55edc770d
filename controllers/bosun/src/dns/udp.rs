//! The UDP side of `bosun dns`.
//!
//! Written here rather than taken from hickory-server, whose UDP loop (0.26) spawns a task for
//! every datagram and answers every undecodable one through a channel polled by the same task
//! that receives: under a flood of junk it fell behind the kernel's queue, which then dropped the
//! well-formed questions (0.26 of them answered within 1 s against CoreDNS's 0.63 in the flood
//! test). This loop does what CoreDNS's (miekg/dns) does instead: it screens each datagram's
//! header in place ([`screen`]), ignores what cannot be a query, answers a refused one with a
//! bare header at once, without a task and without waiting for the socket, and spawns a task only
//! for a question that parses. hickory still does the message decoding, the answer encoding and
//! its truncation, and TCP.

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::ProtoError;
use hickory_proto::op::{Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::net::UdpSocket;
use tracing::{debug, warn};

/// What to do with one datagram, from its 12-byte header alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// Shorter than a header, or a response: no answer (answering responses invites reflection).
    Ignore,
    /// Answer with this code and nothing else.
    Refuse(ResponseCode),
    /// Decode it and answer it.
    Accept,
}

/// miekg/dns's `DefaultMsgAcceptFunc`, which CoreDNS serves with: a response is ignored; an
/// opcode other than QUERY gets NOTIMP (CoreDNS also takes NOTIFY, which bosun does not serve);
/// a message that is not exactly one question, or carries more than one answer record, more
/// than one authority record or more than two additional records, gets FORMERR.
pub fn screen(datagram: &[u8]) -> Screen {
    let Some(h) = datagram.get(..12) else {
        return Screen::Ignore;
    };
    let count = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    if h[2] & 0x80 != 0 {
        return Screen::Ignore;
    }
    if (h[2] >> 3) & 0x0f != u8::from(OpCode::Query) {
        return Screen::Refuse(ResponseCode::NotImp);
    }
    if count(4) != 1 || count(6) > 1 || count(8) > 1 || count(10) > 2 {
        return Screen::Refuse(ResponseCode::FormErr);
    }
    Screen::Accept
}

/// The bare answer to a refused datagram: its id, opcode and RD bit, QR set, `rcode`, no
/// records. `None` when it has no header to answer.
pub fn refusal(datagram: &[u8], rcode: ResponseCode) -> Option<[u8; 12]> {
    let h = datagram.get(..12)?;
    let mut out = [0u8; 12];
    out[0] = h[0];
    out[1] = h[1];
    // QR, the opcode and RD from the question; AA, TC cleared.
    out[2] = 0x80 | (h[2] & 0x79);
    // RA clear, Z clear, the low four bits of the code (FORMERR and NOTIMP fit).
    out[3] = (u16::from(rcode) & 0x0f) as u8;
    Some(out)
}

/// The largest answer the client takes over UDP: its EDNS payload size (at least 512), else
/// 512 (RFC 1035 4.2.1).
fn max_size(request: &Request) -> u16 {
    request
        .edns
        .as_ref()
        .map_or(512, |e| e.max_payload().max(512))
}

/// Sends one answer to one client on the shared socket.
#[derive(Clone)]
struct Reply {
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    max_size: u16,
}

#[async_trait::async_trait]
impl ResponseHandler for Reply {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let id = response.metadata().id;
        let (info, bytes) = encoded(|e| response.destructive_emit(e), id, self.max_size)?;
        self.socket.send_to(&bytes, self.to).await?;
        Ok(info)
    }
}

/// Serve UDP on `socket` until it fails: screen, refuse or decode each datagram in this task;
/// answer each question in a task of its own.
pub async fn serve<H>(socket: UdpSocket, handler: Arc<H>) -> std::io::Result<()>
where
    H: RequestHandler,
{
    let socket = Arc::new(socket);
    // The largest datagram a client may send (EDNS allows up to 65535 bytes).
    let mut buf = vec![0u8; 65535];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        let datagram = &buf[..n];
        if from.port() == 0 {
            // Nothing can be sent back there (hickory's sanitize_src_address).
            continue;
        }
        match screen(datagram) {
            Screen::Ignore => continue,
            Screen::Refuse(rcode) => {
                refuse(&socket, datagram, rcode, from);
                continue;
            }
            Screen::Accept => {}
        }
        let request = match Request::from_bytes(datagram.to_vec(), from, Protocol::Udp) {
            Ok(r) => r,
            Err(e) => {
                debug!(%from, error = %e, "undecodable question: FORMERR");
                refuse(&socket, datagram, ResponseCode::FormErr, from);
                continue;
            }
        };
        let reply = Reply {
            socket: socket.clone(),
            to: from,
            max_size: max_size(&request),
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            handler
                .handle_request::<_, TokioTime>(&request, reply)
                .await;
        });
    }
}

/// An answer's bytes, truncated (TC) to `max_size` by hickory's encoder (`emit` is the
/// response's `destructive_emit`); a bare SERVFAIL when it cannot be encoded at all, as
/// hickory's own handle does.
fn encoded(
    emit: impl FnOnce(&mut BinEncoder<'_>) -> Result<ResponseInfo, ProtoError>,
    id: u16,
    max_size: u16,
) -> Result<(ResponseInfo, Vec<u8>), ProtoError> {
    let mut bytes = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_max_size(max_size);
    match emit(&mut encoder) {
        Ok(info) => return Ok((info, bytes)),
        Err(e) => warn!(error = %e, "an answer could not be encoded; SERVFAIL"),
    }
    bytes.clear();
    let mut encoder = BinEncoder::new(&mut bytes);
    let mut metadata = Metadata::new(id, MessageType::Response, OpCode::Query);
    metadata.response_code = ResponseCode::ServFail;
    let header = Header {
        metadata,
        counts: HeaderCounts::default(),
    };
    header.emit(&mut encoder)?;
    Ok((ResponseInfo::from(header), bytes))
}

/// Send a refusal if the socket takes it now; under a flood a refusal is the first thing to drop.
fn refuse(socket: &UdpSocket, datagram: &[u8], rcode: ResponseCode, to: SocketAddr) {
    if let Some(answer) = refusal(datagram, rcode) {
        let _ = socket.try_send_to(&answer, to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: [u8; 2], counts: [u16; 4]) -> Vec<u8> {
        let mut h = vec![0x12, 0x34, flags[0], flags[1]];
        for c in counts {
            h.extend_from_slice(&c.to_be_bytes());
        }
        h
    }

    #[test]
    fn a_datagram_shorter_than_a_header_is_ignored() {
        assert_eq!(screen(&[0u8; 11]), Screen::Ignore);
        assert_eq!(refusal(&[0u8; 11], ResponseCode::FormErr), None);
    }

    #[test]
    fn a_response_is_ignored_not_answered() {
        assert_eq!(screen(&header([0x81, 0x80], [1, 1, 0, 0])), Screen::Ignore);
    }

    #[test]
    fn an_opcode_other_than_query_gets_notimp() {
        // UPDATE (5) and NOTIFY (4).
        assert_eq!(
            screen(&header([5 << 3, 0], [1, 0, 0, 0])),
            Screen::Refuse(ResponseCode::NotImp)
        );
        assert_eq!(
            screen(&header([4 << 3, 0], [1, 0, 0, 0])),
            Screen::Refuse(ResponseCode::NotImp)
        );
    }

    #[test]
    fn not_exactly_one_question_gets_formerr() {
        for qd in [0, 2, 65535] {
            assert_eq!(
                screen(&header([0x01, 0], [qd, 0, 0, 0])),
                Screen::Refuse(ResponseCode::FormErr),
                "{qd} questions"
            );
        }
    }

    #[test]
    fn too_many_records_beside_the_question_get_formerr() {
        assert_eq!(
            screen(&header([0, 0], [1, 2, 0, 0])),
            Screen::Refuse(ResponseCode::FormErr)
        );
        assert_eq!(
            screen(&header([0, 0], [1, 0, 2, 0])),
            Screen::Refuse(ResponseCode::FormErr)
        );
        assert_eq!(
            screen(&header([0, 0], [1, 0, 0, 3])),
            Screen::Refuse(ResponseCode::FormErr)
        );
        // One answer, one authority, two additionals (OPT and a TSIG, say) are accepted.
        assert_eq!(screen(&header([0, 0], [1, 1, 1, 2])), Screen::Accept);
    }

    #[test]
    fn a_plain_question_is_accepted() {
        assert_eq!(screen(&header([0x01, 0x20], [1, 0, 0, 1])), Screen::Accept);
    }

    #[test]
    fn a_refusal_keeps_id_opcode_and_rd_and_clears_the_rest() {
        // Opcode 5 (UPDATE), AA, TC and RD set in the question.
        let q = header([(5 << 3) | 0x07, 0xb0], [1, 3, 3, 3]);
        let r = refusal(&q, ResponseCode::NotImp).expect("a header");
        assert_eq!(&r[..2], &[0x12, 0x34]);
        assert_eq!(r[2], 0x80 | (5 << 3) | 0x01, "QR, opcode and RD only");
        assert_eq!(r[3], 4, "NOTIMP, RA and Z clear");
        assert_eq!(&r[4..], &[0u8; 8], "no records");
        let r = refusal(&q, ResponseCode::FormErr).expect("a header");
        assert_eq!(r[3], 1);
    }
}
