//! The DNS controller's plan: the records of the Kubernetes DNS-Based Service Discovery
//! specification for one Service, as a pure function (to be written).
