//! Loop detection (CoreDNS's `loop`): at start the server forwards a question for a random
//! name, `<n>.<n>.` HINFO, that nobody else asks. If that question then arrives at the
//! server's own listeners, its forwarding leads back to itself; the server stops with an error
//! instead of amplifying its own queries.

use std::sync::atomic::{AtomicU32, Ordering};

use hickory_proto::rr::{LowerName, Name, RecordType};

/// The probe question's type (CoreDNS's).
pub const PROBE_TYPE: RecordType = RecordType::HINFO;

/// Whether the probe seen `arrivals` times at our own listeners means a loop. CoreDNS counts
/// the probe it sends to itself as the first of three; bosun hands the probe to the forwarder
/// directly, so any arrival at all came back through the upstreams.
pub fn is_loop(arrivals: u32) -> bool {
    arrivals > 0
}

/// The probe: its name and how often it arrived.
pub struct Probe {
    name: LowerName,
    arrivals: AtomicU32,
}

impl Probe {
    /// A probe named `<a>.<b>.` from two random numbers.
    pub fn new() -> Self {
        let r = uuid::Uuid::new_v4().as_u128();
        let text = format!("{}.{}.", r as u64, (r >> 64) as u64);
        let name = Name::from_ascii(&text).unwrap_or_else(|_| Name::root());
        Self {
            name: LowerName::new(&name),
            arrivals: AtomicU32::new(0),
        }
    }

    /// The probe's name.
    pub fn name(&self) -> &LowerName {
        &self.name
    }

    /// Count a question if it is the probe; whether it was.
    pub fn saw(&self, name: &LowerName, qtype: RecordType) -> bool {
        let hit = qtype == PROBE_TYPE && *name == self.name;
        if hit {
            self.arrivals.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// How often the probe arrived.
    pub fn arrivals(&self) -> u32 {
        self.arrivals.load(Ordering::Relaxed)
    }
}

impl Default for Probe {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_that_never_comes_back_is_no_loop() {
        assert!(!is_loop(0));
    }

    #[test]
    fn a_probe_that_comes_back_is_a_loop() {
        let p = Probe::new();
        assert!(!p.saw(&LowerName::from(Name::root()), PROBE_TYPE));
        let name = p.name().clone();
        assert!(!p.saw(&name, RecordType::A));
        assert!(p.saw(&name, PROBE_TYPE));
        assert!(is_loop(p.arrivals()));
    }

    #[test]
    fn probe_names_are_random_two_label_names() {
        let (a, b) = (Probe::new(), Probe::new());
        assert_ne!(a.name(), b.name());
        assert_eq!(a.name().num_labels(), 2);
    }
}
