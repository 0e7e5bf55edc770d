//! Where a question's answer comes from, as a pure decision (CoreDNS's plugin chain of kind's
//! Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa { fallthrough in-addr.arpa
//! ip6.arpa }` before `forward .`).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::store::Answer;

/// What the server does with one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Answer with what the store said.
    Zone,
    /// Ask the cache, then the upstreams.
    Forward,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
}

/// A question outside the served zones: forwarded, except zone transfers (refused).
pub fn outside_zones(qtype: RecordType) -> Route {
    if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
        Route::Refused
    } else {
        Route::Forward
    }
}

/// A question inside the served zones that the store answered `zone`: `synced` once the
/// DNSRecordSets are listed; `reverse` when the name lies below `in-addr.arpa.`/`ip6.arpa.`;
/// `owned` when the name holds records of the cluster.
pub fn inside_zones(zone: &Answer, synced: bool, reverse: bool, owned: bool) -> Route {
    if !synced && zone.rcode == ResponseCode::NXDomain {
        // Not yet listed: the name may well exist (CoreDNS answers SERVFAIL too).
        return Route::ServFail;
    }
    if reverse && !owned && zone.answers.is_empty() && zone.rcode != ResponseCode::Refused {
        // `fallthrough in-addr.arpa ip6.arpa`: an address the cluster does not know.
        return Route::Forward;
    }
    Route::Zone
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::PTR;
    use hickory_proto::rr::{Name, RData, Record};

    fn rcode(rcode: ResponseCode) -> Answer {
        Answer {
            rcode,
            ..Answer::default()
        }
    }

    fn ptr() -> Answer {
        Answer {
            answers: vec![Record::from_rdata(
                Name::root(),
                5,
                RData::PTR(PTR(Name::root())),
            )],
            ..Answer::default()
        }
    }

    #[test]
    fn forward_dot_takes_every_name_outside_the_zones() {
        assert_eq!(outside_zones(RecordType::A), Route::Forward);
        assert_eq!(outside_zones(RecordType::PTR), Route::Forward);
    }

    #[test]
    fn zone_transfers_are_never_forwarded() {
        assert_eq!(outside_zones(RecordType::AXFR), Route::Refused);
        assert_eq!(outside_zones(RecordType::IXFR), Route::Refused);
    }

    #[test]
    fn kubernetes_answers_the_ptr_of_an_ip_it_knows() {
        assert_eq!(inside_zones(&ptr(), true, true, true), Route::Zone);
    }

    #[test]
    fn fallthrough_forwards_reverse_names_the_cluster_does_not_know() {
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NXDomain), true, true, false),
            Route::Forward
        );
        // An empty non-terminal such as 0.96.10.in-addr.arpa. holds no record either.
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NoError), true, true, false),
            Route::Forward
        );
    }

    #[test]
    fn a_known_reverse_name_asked_for_another_type_is_nodata_not_forwarded() {
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NoError), true, true, true),
            Route::Zone
        );
    }

    #[test]
    fn no_fallthrough_in_the_cluster_zone() {
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NXDomain), true, false, false),
            Route::Zone
        );
    }

    #[test]
    fn nxdomain_before_the_first_list_is_servfail() {
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NXDomain), false, false, false),
            Route::ServFail
        );
        assert_eq!(
            inside_zones(&rcode(ResponseCode::NXDomain), false, true, false),
            Route::ServFail
        );
        assert_eq!(inside_zones(&ptr(), false, true, true), Route::Zone);
    }
}
