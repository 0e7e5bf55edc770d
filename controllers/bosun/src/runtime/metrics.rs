//! Prometheus metrics of the process: per controller reconciliations, errors, durations and
//! queue depth; API requests by verb, resource and code; leadership. One registry per process,
//! served on `/metrics` by [`crate::serve`].

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a controller's metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    /// The controller's name.
    pub controller: String,
}

/// Labels of a failed reconciliation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The controller's name.
    pub controller: String,
    /// The error's stable label.
    pub kind: String,
}

/// Labels of an API request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: String,
    /// The resource (`pods`, `replicasets`, `replicasets/status`, ...).
    pub resource: String,
    /// The HTTP status code, or `error` when no response came.
    pub code: String,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// Reconciliations, by controller.
    pub reconciles: Family<ControllerLabels, Counter>,
    /// Failed reconciliations, by controller and error kind.
    pub errors: Family<ErrorLabels, Counter>,
    /// Reconciliation durations in seconds, by controller.
    pub durations: Family<ControllerLabels, Histogram>,
    /// Keys waiting in the work queue, by controller.
    pub queue_depth: Family<ControllerLabels, Gauge>,
    /// API requests, by verb, resource and code.
    pub requests: Family<RequestLabels, Counter>,
    /// 1 while this process holds the leader lease (or runs without leader election).
    pub leader: Gauge,
    /// DNS queries answered by `bosun dns`, by response code.
    pub dns_queries: Family<DnsLabels, Counter>,
    /// DNS names `bosun dns` answers for.
    pub dns_names: Gauge,
}

/// Labels of an answered DNS query.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DnsLabels {
    /// The response code (NOERROR, NXDOMAIN, REFUSED, ...).
    pub rcode: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("bosun");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations = Family::<ControllerLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let queue_depth = Family::<ControllerLabels, Gauge>::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let leader = Gauge::default();
        let dns_queries = Family::<DnsLabels, Counter>::default();
        let dns_names = Gauge::default();
        registry.register(
            "reconcile",
            "Reconciliations (syncs of one object key)",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciliations that failed and were requeued with backoff",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconciliation took",
            durations.clone(),
        );
        registry.register(
            "workqueue_depth",
            "Object keys waiting in a controller's work queue",
            queue_depth.clone(),
        );
        registry.register(
            "api_requests",
            "Requests to the Kubernetes API server",
            requests.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader lease",
            leader.clone(),
        );
        registry.register(
            "dns_queries",
            "DNS queries answered by bosun dns",
            dns_queries.clone(),
        );
        registry.register(
            "dns_names",
            "DNS names bosun dns answers for",
            dns_names.clone(),
        );
        Self {
            registry,
            reconciles,
            errors,
            durations,
            queue_depth,
            requests,
            leader,
            dns_queries,
            dns_names,
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// The labels of controller `name`.
    pub fn controller(name: &str) -> ControllerLabels {
        ControllerLabels {
            controller: name.to_string(),
        }
    }
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The verb and resource of an API request, as the API server's own metrics name them.
pub fn classify(method: &http::Method, uri: &http::Uri) -> (&'static str, String) {
    let watch = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1"));
    // /api/v1/... or /apis/<group>/<version>/...; then optionally namespaces/<ns>/, then
    // <resource>[/<name>[/<subresource>]].
    let segs: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segs.first() {
        Some(&"api") => segs.get(2..).unwrap_or_default(),
        Some(&"apis") => segs.get(3..).unwrap_or_default(),
        _ => &[],
    };
    let rest = match rest {
        ["namespaces", _, more @ ..] if !more.is_empty() => more,
        other => other,
    };
    let (resource, named) = match rest {
        [r] => (r.to_string(), false),
        [r, _] => (r.to_string(), true),
        [r, _, sub, ..] => (format!("{r}/{sub}"), true),
        [] => ("".to_string(), false),
    };
    let verb = match (method.as_str(), named, watch) {
        (_, _, true) => "watch",
        ("GET", true, _) => "get",
        ("GET", false, _) => "list",
        ("POST", _, _) => "create",
        ("PUT", _, _) => "update",
        ("PATCH", _, _) => "patch",
        ("DELETE", true, _) => "delete",
        ("DELETE", false, _) => "deletecollection",
        _ => "other",
    };
    (verb, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(method: &str, uri: &str) -> (&'static str, String) {
        let m = http::Method::from_bytes(method.as_bytes()).expect("method");
        let u: http::Uri = uri.parse().expect("uri");
        classify(&m, &u)
    }

    #[test]
    fn requests_are_classified_as_the_api_server_names_them() {
        assert_eq!(
            c("GET", "/api/v1/pods?watch=true&resourceVersion=1"),
            ("watch", "pods".into())
        );
        assert_eq!(
            c("GET", "/api/v1/namespaces/a/pods"),
            ("list", "pods".into())
        );
        assert_eq!(
            c("GET", "/api/v1/namespaces/a/pods/p"),
            ("get", "pods".into())
        );
        assert_eq!(
            c("POST", "/api/v1/namespaces/a/pods"),
            ("create", "pods".into())
        );
        assert_eq!(
            c(
                "PATCH",
                "/apis/apps.bosun.dev/v1/namespaces/a/replicasets/r/status"
            ),
            ("patch", "replicasets/status".into())
        );
        assert_eq!(
            c("DELETE", "/api/v1/namespaces/a/pods/p"),
            ("delete", "pods".into())
        );
        assert_eq!(
            c("PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/l"),
            ("update", "leases".into())
        );
        assert_eq!(
            c("GET", "/api/v1/namespaces/a"),
            ("get", "namespaces".into())
        );
    }

    #[test]
    fn the_registry_encodes_every_family() {
        METRICS
            .reconciles
            .get_or_create(&Metrics::controller("x"))
            .inc();
        let text = METRICS.encode();
        assert!(
            text.contains("bosun_reconcile_total{controller=\"x\"} 1"),
            "{text}"
        );
        assert!(text.contains("# TYPE bosun_leader gauge"), "{text}");
    }
}
