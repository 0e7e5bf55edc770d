//! DNS for Services: the `dns` controller (Service + bosun EndpointSlices → one DNSRecordSet
//! per Service) and `bosun dns`, the server answering from the DNSRecordSets.
//!
//! ```text
//! core Service ─┐
//!               ├─(controller)─▶ DNSRecordSet <ns>/<svc> ─(watch)─▶ Store ─▶ UDP/TCP answers
//! EndpointSlice ┘                                      dns-version.<zone> TXT: the server's own
//! ```

pub mod balance;
pub mod cache;
pub mod controller;
pub mod forward;
pub mod pod;
pub mod probe;
pub mod rcode;
pub mod route;
pub mod server;
pub mod store;
pub mod udp;

#[cfg(test)]
mod tests;
