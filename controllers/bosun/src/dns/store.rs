//! The DNS server's in-memory zone: every DNSRecordSet's records by owner name, updated one set
//! at a time, and the answer logic as a pure function of the zone and one question.
//!
//! Answers, for a question `(name, type)`:
//!
//! ```text
//! name outside <zone>, in-addr.arpa, ip6.arpa      REFUSED
//! AXFR / IXFR                                      REFUSED (no transfers)
//! name has records of the type (or ANY)            NOERROR, those records (SRV: targets' A/AAAA as additionals)
//! name has a CNAME, type is not CNAME              NOERROR, the CNAME, chased while the target is in the zone
//! <zone> SOA                                       NOERROR, the SOA
//! name exists otherwise (other types, or only      NOERROR, no answer, SOA in authority  (NODATA)
//!   names below it: <ns>.svc.<zone>, svc.<zone>)
//! anything else                                    NXDOMAIN, SOA in authority
//! <a-b-c-d>.<ns>.pod.<zone>                        A a.b.c.d (AAAA for the IPv6 form), `pods insecure`
//! ```
//!
//! The SOA is CoreDNS's: `ns.dns.<zone>. hostmaster.<zone>. <serial> 7200 1800 86400 <ttl>`,
//! its own TTL `min(ttl, 300)`, the serial the unix time of the last change.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use bosun_api::dns::{DNSRecord, DNSRecordSet, RecordType as ApiType};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};

use super::pod::PodName;

/// TTL of the `dns-version` record (CoreDNS's).
const VERSION_TTL: u32 = 28800;
/// How many CNAMEs an answer follows inside the zone.
const MAX_CNAME_CHAIN: usize = 8;

/// One answer: response code and the three record sections.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Answer {
    /// The response code.
    pub rcode: ResponseCode,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section (the SOA of negative answers).
    pub authority: Vec<Record>,
    /// The additional section (addresses of SRV targets).
    pub additionals: Vec<Record>,
}

#[derive(Default)]
struct Node {
    /// Records at this name, each with the key of the set it came from.
    records: Vec<(Arc<str>, Record)>,
    /// How many records live strictly below this name (it exists as an empty non-terminal).
    below: usize,
}

#[derive(Default)]
struct Inner {
    names: HashMap<LowerName, Node>,
    /// The owner names each set contributed, to take them out when it changes.
    sets: HashMap<Arc<str>, Vec<LowerName>>,
    serial: u32,
}

/// The zone's records, shared by the watch (writer) and the query path (readers).
pub struct Store {
    ttl: u32,
    /// `<zone>.`, `in-addr.arpa.`, `ip6.arpa.`.
    apexes: [LowerName; 3],
    /// Names that always exist: `svc.<zone>.` and `pod.<zone>.` (CoreDNS answers NODATA there).
    fixed: [LowerName; 2],
    mname: Name,
    rname: Name,
    inner: RwLock<Inner>,
}

fn fqdn(name: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(name).map_err(|e| format!("name {name:?}: {e}"))?;
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}

impl Store {
    /// An empty zone `zone` answering with `ttl`, holding only `dns-version.<zone>`.
    pub fn new(zone: &str, ttl: u32) -> Result<Self, String> {
        let zone = bosun_core::dns::normalize_zone(zone);
        let apex = fqdn(&zone)?;
        let store = Self {
            ttl,
            apexes: [
                LowerName::new(&apex),
                LowerName::new(&fqdn("in-addr.arpa")?),
                LowerName::new(&fqdn("ip6.arpa")?),
            ],
            fixed: [
                LowerName::new(&fqdn(&format!("svc.{zone}"))?),
                LowerName::new(&fqdn(&format!("pod.{zone}"))?),
            ],
            mname: fqdn(&format!("ns.dns.{zone}"))?,
            rname: fqdn(&format!("hostmaster.{zone}"))?,
            inner: RwLock::new(Inner::default()),
        };
        // §2.2 of the specification: one per zone, so the server holds it rather than a set.
        let version = bosun_core::dns::dns_version_record(&zone);
        let rec = to_record(&version, VERSION_TTL)?;
        store.write().insert(Arc::from(""), vec![rec]);
        Ok(store)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the records of the set `key` (`namespace/name`) with those of `set`; returns
    /// the records that could not be converted (the CRD's validation makes that rare).
    pub fn apply(&self, key: &str, set: &DNSRecordSet, serial: u32) -> Vec<String> {
        let mut errors = Vec::new();
        let records: Vec<Record> = set
            .spec
            .records
            .iter()
            .filter_map(|r| {
                to_record(r, self.ttl)
                    .map_err(|e| errors.push(e))
                    .ok()
                    .filter(|rec| self.zone_of(&LowerName::new(&rec.name)).is_some())
            })
            .collect();
        let mut inner = self.write();
        let key: Arc<str> = Arc::from(key);
        inner.remove(&key, &self.apexes);
        inner.insert_under(key, records, &self.apexes);
        inner.serial = serial;
        errors
    }

    /// Forget the records of the set `key`.
    pub fn delete(&self, key: &str, serial: u32) {
        let mut inner = self.write();
        inner.remove(&Arc::from(key), &self.apexes);
        inner.serial = serial;
    }

    /// How many owner names the zone holds (for logs).
    pub fn names(&self) -> usize {
        self.read().names.len()
    }

    /// The apex of the zone `name` lies in, if any.
    fn zone_of(&self, name: &LowerName) -> Option<&LowerName> {
        self.apexes.iter().find(|a| a.zone_of(name))
    }

    /// Where `name` stands under `pod.<zone>` (`None` when it is not strictly below it).
    fn pod_name(&self, name: &LowerName) -> Option<PodName> {
        let pod = &self.fixed[1];
        if name == pod || !pod.zone_of(name) {
            return None;
        }
        let below = usize::from(name.num_labels().saturating_sub(pod.num_labels()));
        let full = Name::from(name);
        let labels: Vec<String> = full
            .iter()
            .take(below)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        Some(super::pod::classify(&labels))
    }

    /// Whether `name` holds records of its own (not just names below it): the reverse zones
    /// fall through to the forwarder for every other name, as CoreDNS's `fallthrough`.
    pub fn has_records(&self, name: &LowerName) -> bool {
        self.read()
            .names
            .get(name)
            .is_some_and(|n| !n.records.is_empty())
    }

    /// Whether `name` lies in a reverse zone (`in-addr.arpa.` or `ip6.arpa.`), not at its apex.
    pub fn is_reverse_below_apex(&self, name: &LowerName) -> bool {
        self.apexes[1..]
            .iter()
            .any(|a| a != name && a.zone_of(name))
    }

    /// Whether `name` is served from the store (the cluster zone and the reverse zones).
    pub fn serves(&self, name: &LowerName) -> bool {
        self.zone_of(name).is_some()
    }

    fn soa(&self, apex: &LowerName, serial: u32) -> Record {
        let soa = SOA::new(
            self.mname.clone(),
            self.rname.clone(),
            serial,
            7200,
            1800,
            86400,
            self.ttl,
        );
        Record::from_rdata(Name::from(apex), self.ttl.min(300), RData::SOA(soa))
    }

    /// The answer to one question.
    pub fn answer(&self, name: &LowerName, qtype: RecordType, qclass: DNSClass) -> Answer {
        let Some(apex) = self.zone_of(name) else {
            return refused();
        };
        if matches!(qtype, RecordType::AXFR | RecordType::IXFR)
            || !matches!(qclass, DNSClass::IN | DNSClass::ANY)
        {
            return refused();
        }
        let inner = self.read();
        let mut answer = Answer::default();
        let negative = |answer: &mut Answer, rcode: ResponseCode| {
            answer.rcode = rcode;
            answer.authority.push(self.soa(apex, inner.serial));
        };
        if name == apex && qtype == RecordType::SOA {
            answer.answers.push(self.soa(apex, inner.serial));
            return answer;
        }
        if let Some(pod) = self.pod_name(name) {
            return self.pod_answer(name, pod, qtype, apex, inner.serial);
        }
        let node = inner.names.get(name);
        let matching: Vec<&Record> = node
            .into_iter()
            .flat_map(|n| n.records.iter().map(|(_, r)| r))
            .filter(|r| qtype == RecordType::ANY || r.record_type() == qtype)
            .collect();
        if !matching.is_empty() {
            answer.answers.extend(matching.into_iter().cloned());
            if qtype == RecordType::SRV {
                answer.additionals = inner.glue(&answer.answers);
            }
            return answer;
        }
        // A CNAME answers every other type; follow it while it stays in our zones.
        if self.follow_cnames(&inner, node, qtype, &mut answer) {
            return answer;
        }
        if !answer.answers.is_empty() {
            // A chain ending in our zone at a name without the type.
            return answer;
        }
        let exists = node.is_some() || name == apex || self.fixed.contains(name);
        negative(
            &mut answer,
            if exists {
                ResponseCode::NoError
            } else {
                ResponseCode::NXDomain
            },
        );
        answer
    }
}

impl Store {
    /// The answer for a name under `pod.<zone>`: the address the name spells, NODATA for
    /// another type or the namespace level, NXDOMAIN for a name that spells no address.
    fn pod_answer(
        &self,
        name: &LowerName,
        pod: PodName,
        qtype: RecordType,
        apex: &LowerName,
        serial: u32,
    ) -> Answer {
        let mut answer = Answer::default();
        let found = match pod {
            PodName::Address(ip) => {
                let data = match ip {
                    IpAddr::V4(v4) => RData::A(A(v4)),
                    IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
                };
                Some(Record::from_rdata(Name::from(name), self.ttl, data))
            }
            PodName::Namespace => None,
            PodName::Missing => {
                answer.rcode = ResponseCode::NXDomain;
                answer.authority.push(self.soa(apex, serial));
                return answer;
            }
        };
        match found {
            Some(r) if qtype == RecordType::ANY || r.record_type() == qtype => {
                answer.answers.push(r);
            }
            _ => answer.authority.push(self.soa(apex, serial)),
        }
        answer
    }

    /// Follow the CNAME at `node` (and at its targets, while they stay in our zones, at most
    /// [`MAX_CNAME_CHAIN`] hops) into `answer`; `true` when the answer is complete: the chain
    /// reached records of `qtype`, or left our zones, or grew too long.
    fn follow_cnames(
        &self,
        inner: &Inner,
        node: Option<&Node>,
        qtype: RecordType,
        answer: &mut Answer,
    ) -> bool {
        let mut current = node;
        let mut hops = 0;
        while let Some(cname) = current.and_then(|n| {
            n.records
                .iter()
                .map(|(_, r)| r)
                .find(|r| r.record_type() == RecordType::CNAME)
        }) {
            answer.answers.push(cname.clone());
            hops += 1;
            let RData::CNAME(target) = &cname.data else {
                break;
            };
            let target = LowerName::new(&target.0);
            if hops > MAX_CNAME_CHAIN || self.zone_of(&target).is_none() {
                return true;
            }
            current = inner.names.get(&target);
            let at_target: Vec<&Record> = current
                .into_iter()
                .flat_map(|n| n.records.iter().map(|(_, r)| r))
                .filter(|r| r.record_type() == qtype)
                .collect();
            if !at_target.is_empty() {
                answer.answers.extend(at_target.into_iter().cloned());
                return true;
            }
        }
        false
    }
}

fn refused() -> Answer {
    Answer {
        rcode: ResponseCode::Refused,
        ..Answer::default()
    }
}

impl Inner {
    fn insert(&mut self, key: Arc<str>, records: Vec<Record>) {
        // Only used for the zone's own records, which sit under the zone apex.
        for r in records {
            let n = LowerName::new(&r.name);
            self.sets.entry(key.clone()).or_default().push(n.clone());
            self.names
                .entry(n)
                .or_default()
                .records
                .push((key.clone(), r));
        }
    }

    fn insert_under(&mut self, key: Arc<str>, records: Vec<Record>, apexes: &[LowerName]) {
        let mut owners = Vec::with_capacity(records.len());
        for r in records {
            let n = LowerName::new(&r.name);
            for ancestor in ancestors(&n, apexes) {
                self.names.entry(ancestor).or_default().below += 1;
            }
            owners.push(n.clone());
            self.names
                .entry(n)
                .or_default()
                .records
                .push((key.clone(), r));
        }
        if !owners.is_empty() {
            self.sets.insert(key, owners);
        }
    }

    fn remove(&mut self, key: &Arc<str>, apexes: &[LowerName]) {
        let Some(owners) = self.sets.remove(key) else {
            return;
        };
        for n in owners {
            for ancestor in ancestors(&n, apexes) {
                if let Some(node) = self.names.get_mut(&ancestor) {
                    node.below = node.below.saturating_sub(1);
                    if node.below == 0 && node.records.is_empty() {
                        self.names.remove(&ancestor);
                    }
                }
            }
            if let Some(node) = self.names.get_mut(&n) {
                node.records.retain(|(k, _)| k != key);
                if node.below == 0 && node.records.is_empty() {
                    self.names.remove(&n);
                }
            }
        }
    }

    /// The A/AAAA records of SRV targets, for the additional section.
    fn glue(&self, answers: &[Record]) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        for r in answers {
            if let RData::SRV(srv) = &r.data
                && let Some(node) = self.names.get(&LowerName::new(&srv.target))
            {
                for (_, a) in &node.records {
                    if matches!(a.record_type(), RecordType::A | RecordType::AAAA)
                        && !out.contains(a)
                    {
                        out.push(a.clone());
                    }
                }
            }
        }
        out
    }
}

/// The names strictly between `name` and its zone apex (`_http._tcp.web.ns.svc.z.` gives
/// `_tcp.web.ns.svc.z.`, `web.ns.svc.z.`, `ns.svc.z.`, `svc.z.`).
fn ancestors(name: &LowerName, apexes: &[LowerName]) -> Vec<LowerName> {
    let Some(apex) = apexes.iter().find(|a| a.zone_of(name)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur = name.base_name();
    while cur.num_labels() > apex.num_labels() {
        let next = cur.base_name();
        out.push(cur);
        cur = next;
    }
    out
}

/// A DNSRecord as a wire record with `ttl`.
pub fn to_record(r: &DNSRecord, ttl: u32) -> Result<Record, String> {
    let name = fqdn(&r.name)?;
    let target = || -> Result<Name, String> {
        fqdn(
            r.target
                .as_deref()
                .ok_or_else(|| format!("{}: no target", r.name))?,
        )
    };
    let address = || r.address.as_deref().unwrap_or_default();
    let data = match r.type_ {
        ApiType::A => RData::A(A(Ipv4Addr::from_str(address())
            .map_err(|e| format!("{}: A {:?}: {e}", r.name, address()))?)),
        ApiType::AAAA => RData::AAAA(AAAA(
            Ipv6Addr::from_str(address())
                .map_err(|e| format!("{}: AAAA {:?}: {e}", r.name, address()))?,
        )),
        ApiType::CNAME => RData::CNAME(CNAME(target()?)),
        ApiType::PTR => RData::PTR(PTR(target()?)),
        ApiType::SRV => {
            let n = |v: Option<i32>| u16::try_from(v.unwrap_or_default()).unwrap_or_default();
            RData::SRV(SRV::new(n(r.priority), n(r.weight), n(r.port), target()?))
        }
        ApiType::TXT => RData::TXT(TXT::new(vec![r.text.clone().unwrap_or_default()])),
    };
    Ok(Record::from_rdata(name, ttl, data))
}
