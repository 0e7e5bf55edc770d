//! The order of addresses in an answer (CoreDNS's `loadbalance`): the A and AAAA records of
//! the answer section rotate by one position per answer, so every address comes first in turn
//! (CoreDNS shuffles them at random; a rotation spreads the same way and can be tested). Other
//! records keep their place ahead of the addresses, so a CNAME chain still reads in order.

use hickory_proto::rr::{Record, RecordType};

/// `answers` with its A/AAAA records rotated left by `turn` (modulo their count), placed after
/// the other records.
pub fn rotate(answers: Vec<Record>, turn: usize) -> Vec<Record> {
    let (mut addresses, mut out): (Vec<Record>, Vec<Record>) = answers
        .into_iter()
        .partition(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA));
    if addresses.len() > 1 {
        let n = turn % addresses.len();
        addresses.rotate_left(n);
    }
    out.extend(addresses);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, CNAME};
    use hickory_proto::rr::{Name, RData};

    fn a(ip: [u8; 4]) -> Record {
        Record::from_rdata(
            Name::root(),
            5,
            RData::A(A::from(std::net::Ipv4Addr::from(ip))),
        )
    }

    fn data(rs: &[Record]) -> Vec<String> {
        rs.iter().map(|r| r.data.to_string()).collect()
    }

    #[test]
    fn round_robin_puts_each_address_first_in_turn() {
        let rs = vec![a([1, 1, 1, 1]), a([2, 2, 2, 2]), a([3, 3, 3, 3])];
        let firsts: Vec<String> = (0..3)
            .map(|t| data(&rotate(rs.clone(), t))[0].clone())
            .collect();
        assert_eq!(firsts, vec!["1.1.1.1", "2.2.2.2", "3.3.3.3"]);
        assert_eq!(data(&rotate(rs, 4)), vec!["2.2.2.2", "3.3.3.3", "1.1.1.1"]);
    }

    #[test]
    fn cname_stays_ahead_of_the_rotated_addresses() {
        let cname = Record::from_rdata(
            Name::root(),
            5,
            RData::CNAME(CNAME(Name::from_ascii("t.").unwrap())),
        );
        let rs = vec![cname, a([1, 1, 1, 1]), a([2, 2, 2, 2])];
        assert_eq!(data(&rotate(rs, 1)), vec!["t.", "2.2.2.2", "1.1.1.1"]);
    }

    #[test]
    fn single_address_answers_are_unchanged() {
        assert_eq!(data(&rotate(vec![a([1, 1, 1, 1])], 7)), vec!["1.1.1.1"]);
    }
}
