//! The cache of forwarded answers (CoreDNS's `cache 30`): positive and negative answers kept
//! for the smallest TTL of their records, clamped to `[min_ttl, max_ttl]`, and served with
//! their TTLs counted down; one cache shared by UDP and TCP, bounded in entries.
//!
//! The TTL rules are pure functions ([`cache_ttl`]); [`Cache`] is the map around them.
//!
//! ```text
//! NOERROR with records          min TTL of answer, authority, additional   (CoreDNS MinimalTTL)
//! NXDOMAIN / NODATA with SOA    as above, the SOA counting min(SOA TTL, SOA minimum) (RFC 2308)
//! NODATA without SOA            min_ttl                                     (CoreDNS)
//! SERVFAIL from the upstream    min_ttl (5 s: CoreDNS's `servfail 5s`)
//! anything else, truncated      not cached
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, LowerName, RData, Record, RecordType};

use super::store::Answer;

/// CoreDNS's `MaximumDefaulTTL`: no record counts for more than an hour.
const MAXIMUM_DEFAULT_TTL: u32 = 3600;

/// How long an answer may be cached, in seconds, before clamping; `None` when it must not be.
pub fn message_ttl(answer: &Answer, truncated: bool) -> Option<u32> {
    if truncated {
        return None;
    }
    let negative = match answer.rcode {
        ResponseCode::ServFail => return Some(0),
        ResponseCode::NXDomain => true,
        ResponseCode::NoError => answer.answers.is_empty(),
        _ => return None,
    };
    if answer.answers.is_empty() && answer.authority.is_empty() && answer.additionals.is_empty() {
        // No records at all: CoreDNS's fail-safe minimum.
        return Some(0);
    }
    let ttl_of = |r: &Record| match (&r.data, negative) {
        // RFC 2308 §5: a negative answer lives min(SOA TTL, SOA MINIMUM).
        (RData::SOA(soa), true) => r.ttl.min(soa.minimum),
        _ => r.ttl,
    };
    Some(
        answer
            .answers
            .iter()
            .chain(&answer.authority)
            .chain(
                answer
                    .additionals
                    .iter()
                    .filter(|r| r.record_type() != RecordType::OPT),
            )
            .map(ttl_of)
            .fold(MAXIMUM_DEFAULT_TTL, u32::min),
    )
}

/// The TTL an answer is cached for: [`message_ttl`] clamped to `[min, max]` (CoreDNS's
/// `computeTTL`), `None` when it is not cached or `max` is 0.
pub fn cache_ttl(answer: &Answer, truncated: bool, min: u32, max: u32) -> Option<u32> {
    let ttl = message_ttl(answer, truncated)?.max(min).min(max);
    (ttl > 0).then_some(ttl)
}

/// `answer` with every record's TTL set to what is left of its cache lifetime, as CoreDNS
/// serves cached items.
pub fn aged(answer: &Answer, left: u32) -> Answer {
    let set = |rs: &[Record]| {
        rs.iter()
            .map(|r| {
                let mut r = r.clone();
                r.ttl = left;
                r
            })
            .collect()
    };
    Answer {
        rcode: answer.rcode,
        answers: set(&answer.answers),
        authority: set(&answer.authority),
        additionals: set(&answer.additionals),
    }
}

/// What a question is cached under: name (case-folded), type, class and the DO bit.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Key {
    /// The question's name.
    pub name: LowerName,
    /// The question's type.
    pub qtype: RecordType,
    /// The question's class.
    pub qclass: DNSClass,
    /// Whether the client asked for DNSSEC records.
    pub dnssec_ok: bool,
}

struct Entry {
    answer: Answer,
    stored: Instant,
    ttl: u32,
}

/// Seconds of `ttl` left at `now` for an entry stored at `stored`; `None` once expired.
pub fn ttl_left(stored: Instant, ttl: u32, now: Instant) -> Option<u32> {
    let age = now.saturating_duration_since(stored);
    let ttl = Duration::from_secs(u64::from(ttl));
    (age < ttl).then(|| {
        // Round up, so a live entry is never served with TTL 0.
        let left = (ttl - age).as_millis().div_ceil(1000);
        u32::try_from(left).unwrap_or(u32::MAX)
    })
}

/// The cache of forwarded answers.
pub struct Cache {
    capacity: usize,
    min_ttl: u32,
    max_ttl: u32,
    entries: Mutex<HashMap<Key, Entry>>,
    last_sweep: Mutex<Option<Instant>>,
}

impl Cache {
    /// A cache of at most `capacity` answers, each kept `[min_ttl, max_ttl]` seconds.
    pub fn new(capacity: usize, min_ttl: u32, max_ttl: u32) -> Self {
        Self {
            capacity,
            min_ttl: min_ttl.min(max_ttl),
            max_ttl,
            entries: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(None),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached answer to `key`, its TTLs counted down, if one is live at `now`.
    pub fn get(&self, key: &Key, now: Instant) -> Option<Answer> {
        let mut entries = self.lock();
        let entry = entries.get(key)?;
        match ttl_left(entry.stored, entry.ttl, now) {
            Some(left) => Some(aged(&entry.answer, left)),
            None => {
                entries.remove(key);
                None
            }
        }
    }

    /// Keep `answer` under `key` if it is cacheable; the TTL it is kept for. CoreDNS sends the
    /// first reply with every TTL set to that too, so clients see no jump (1799, then 29).
    pub fn insert(&self, key: Key, answer: &Answer, truncated: bool, now: Instant) -> Option<u32> {
        if self.capacity == 0 {
            return None;
        }
        let ttl = cache_ttl(answer, truncated, self.min_ttl, self.max_ttl)?;
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            // Full: drop the expired entries (a whole scan, so at most once a second), else
            // one arbitrary entry (CoreDNS evicts a random one).
            let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1)) {
                entries.retain(|_, e| ttl_left(e.stored, e.ttl, now).is_some());
                *last = Some(now);
            }
            if entries.len() >= self.capacity
                && let Some(victim) = entries.keys().next().cloned()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(
            key,
            Entry {
                answer: answer.clone(),
                stored: now,
                ttl,
            },
        );
        Some(ttl)
    }

    /// How many answers the cache holds (live or not yet swept).
    pub fn entries(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Name;
    use hickory_proto::rr::rdata::{A, SOA};

    fn a(ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_ascii("example.test.").unwrap(),
            ttl,
            RData::A(A::new(192, 0, 2, 1)),
        )
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let n = Name::from_ascii("test.").unwrap();
        Record::from_rdata(
            n.clone(),
            ttl,
            RData::SOA(SOA::new(n.clone(), n, 1, 7200, 1800, 86400, minimum)),
        )
    }

    fn positive(ttls: &[u32]) -> Answer {
        Answer {
            answers: ttls.iter().map(|t| a(*t)).collect(),
            ..Answer::default()
        }
    }

    fn nxdomain(soa_ttl: u32, minimum: u32) -> Answer {
        Answer {
            rcode: ResponseCode::NXDomain,
            authority: vec![soa(soa_ttl, minimum)],
            ..Answer::default()
        }
    }

    fn key(name: &str) -> Key {
        Key {
            name: LowerName::new(&Name::from_ascii(name).unwrap()),
            qtype: RecordType::A,
            qclass: DNSClass::IN,
            dnssec_ok: false,
        }
    }

    #[test]
    fn positive_ttl_is_the_smallest_record_ttl() {
        assert_eq!(message_ttl(&positive(&[300, 20, 60]), false), Some(20));
    }

    #[test]
    fn positive_ttl_is_capped_at_the_cache_maximum() {
        assert_eq!(cache_ttl(&positive(&[300]), false, 5, 30), Some(30));
    }

    #[test]
    fn ttl_below_the_minimum_is_raised_to_it() {
        assert_eq!(cache_ttl(&positive(&[1]), false, 5, 30), Some(5));
    }

    #[test]
    fn negative_ttl_is_the_soa_minimum_when_smaller_than_its_ttl() {
        assert_eq!(message_ttl(&nxdomain(3600, 12), false), Some(12));
        assert_eq!(message_ttl(&nxdomain(8, 600), false), Some(8));
        assert_eq!(cache_ttl(&nxdomain(3600, 900), false, 5, 30), Some(30));
    }

    #[test]
    fn nodata_is_cached_like_nxdomain() {
        let nodata = Answer {
            authority: vec![soa(3600, 15)],
            ..Answer::default()
        };
        assert_eq!(message_ttl(&nodata, false), Some(15));
    }

    #[test]
    fn nodata_without_soa_gets_the_minimum() {
        assert_eq!(cache_ttl(&Answer::default(), false, 5, 30), Some(5));
    }

    #[test]
    fn servfail_is_cached_for_the_minimum_and_refused_not_at_all() {
        let servfail = Answer {
            rcode: ResponseCode::ServFail,
            ..Answer::default()
        };
        assert_eq!(cache_ttl(&servfail, false, 5, 30), Some(5));
        let refused = Answer {
            rcode: ResponseCode::Refused,
            ..Answer::default()
        };
        assert_eq!(cache_ttl(&refused, false, 5, 30), None);
    }

    #[test]
    fn truncated_answers_are_not_cached() {
        assert_eq!(cache_ttl(&positive(&[60]), true, 5, 30), None);
    }

    #[test]
    fn max_ttl_zero_caches_nothing() {
        assert_eq!(cache_ttl(&positive(&[60]), false, 5, 0), None);
    }

    #[test]
    fn cached_answers_count_their_ttl_down_and_expire() {
        let c = Cache::new(10, 5, 30);
        let t0 = Instant::now();
        assert_eq!(
            c.insert(key("example.test."), &positive(&[20]), false, t0),
            Some(20)
        );
        let hit = c.get(&key("EXAMPLE.test."), t0 + Duration::from_millis(7500));
        assert_eq!(hit.map(|a| a.answers[0].ttl), Some(13));
        assert!(
            c.get(&key("example.test."), t0 + Duration::from_secs(20))
                .is_none()
        );
        assert_eq!(c.entries(), 0);
    }

    #[test]
    fn a_full_cache_evicts_to_stay_within_its_size() {
        let c = Cache::new(2, 5, 30);
        let t0 = Instant::now();
        for n in ["a.test.", "b.test.", "c.test."] {
            assert!(c.insert(key(n), &positive(&[20]), false, t0).is_some());
        }
        assert_eq!(c.entries(), 2);
        assert!(c.get(&key("c.test."), t0).is_some());
    }

    #[test]
    fn a_full_cache_drops_expired_entries_before_live_ones() {
        let c = Cache::new(2, 1, 30);
        let t0 = Instant::now();
        c.insert(key("short.test."), &positive(&[1]), false, t0);
        c.insert(key("long.test."), &positive(&[20]), false, t0);
        let later = t0 + Duration::from_secs(2);
        c.insert(key("new.test."), &positive(&[20]), false, later);
        assert!(c.get(&key("long.test."), later).is_some());
        assert!(c.get(&key("new.test."), later).is_some());
        assert_eq!(c.entries(), 2);
    }

    #[test]
    fn size_zero_turns_the_cache_off() {
        let c = Cache::new(0, 5, 30);
        assert!(
            c.insert(key("a.test."), &positive(&[20]), false, Instant::now())
                .is_none()
        );
    }
}
