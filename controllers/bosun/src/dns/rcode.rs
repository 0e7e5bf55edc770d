//! Response codes as metrics labels.

use hickory_proto::op::ResponseCode;

/// The metrics label of a response code: its mnemonic as dig and CoreDNS print it (`NOERROR`,
/// `NXDOMAIN`, ...; hickory's `to_str` gives prose such as "No Error"), `RCODE<n>` for others.
pub fn rcode_label(rcode: ResponseCode) -> String {
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

#[cfg(test)]
mod tests {
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
