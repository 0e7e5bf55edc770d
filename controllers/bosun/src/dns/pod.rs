//! Pod records, as CoreDNS's `pods insecure`: `a-b-c-d.<namespace>.pod.<zone>` answers
//! `A a.b.c.d` and `fd00--1.<namespace>.pod.<zone>` answers `AAAA fd00::1`, without looking
//! the pod up (so any namespace, any address).

use std::net::IpAddr;
use std::str::FromStr;

/// The address a pod label stands for: with exactly three dashes and no `--` the dashes are
/// dots (IPv4), otherwise colons (IPv6), as CoreDNS's `findPods`; `None` when the result is
/// no address.
pub fn pod_label_address(label: &str) -> Option<IpAddr> {
    let text = if label.matches('-').count() == 3 && !label.contains("--") {
        label.replace('-', ".")
    } else {
        label.replace('-', ":")
    };
    IpAddr::from_str(&text).ok()
}

/// Where a name under `pod.<zone>` stands, given its labels below `pod.<zone>` (leftmost first).
#[derive(Debug, PartialEq, Eq)]
pub enum PodName {
    /// `<namespace>.pod.<zone>`: exists, no records (NODATA).
    Namespace,
    /// `<ip>.<namespace>.pod.<zone>` with a valid address.
    Address(IpAddr),
    /// Anything else: NXDOMAIN.
    Missing,
}

/// Classify the labels below `pod.<zone>`.
pub fn classify(labels: &[&str]) -> PodName {
    match labels {
        [_namespace] => PodName::Namespace,
        [ip, _namespace] => pod_label_address(ip).map_or(PodName::Missing, PodName::Address),
        _ => PodName::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_ipv4_is_the_address() {
        assert_eq!(pod_label_address("10-244-1-7"), "10.244.1.7".parse().ok());
    }

    #[test]
    fn dashed_ipv6_with_double_dash_is_the_address() {
        assert_eq!(pod_label_address("fd00--1"), "fd00::1".parse().ok());
        assert_eq!(
            pod_label_address("2001-db8-0-0-0-0-0-1"),
            "2001:db8::1".parse().ok()
        );
    }

    #[test]
    fn labels_that_are_no_address_do_not_exist() {
        for label in ["web", "10-244-1", "10-244-1-300", "1-2-3-4-5"] {
            assert_eq!(pod_label_address(label), None, "{label}");
        }
    }

    #[test]
    fn namespace_level_exists_and_deeper_names_do_not() {
        assert_eq!(classify(&["default"]), PodName::Namespace);
        assert_eq!(
            classify(&["1-2-3-4", "default"]),
            PodName::Address("1.2.3.4".parse().unwrap())
        );
        assert_eq!(classify(&["x", "1-2-3-4", "default"]), PodName::Missing);
        assert_eq!(classify(&["nope", "default"]), PodName::Missing);
    }
}
