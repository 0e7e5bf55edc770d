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
    /// Time `bosun dns` took to answer, by how the answer was made (zone, cache, forward).
    pub dns_durations: Family<DnsSourceLabels, Histogram>,
    /// Cache lookups of forwarded questions that found a live answer.
    pub dns_cache_hits: Counter,
    /// Cache lookups of forwarded questions that found none.
    pub dns_cache_misses: Counter,
    /// Answers held by the cache.
    pub dns_cache_size: Gauge,
    /// Exchanges with upstreams, by upstream and response code (`error` when none came).
    pub dns_forward_requests: Family<ForwardLabels, Counter>,
    /// Time one exchange with an upstream took, by upstream.
    pub dns_forward_durations: Family<UpstreamLabels, Histogram>,
    /// 1 while an upstream is considered up, by upstream.
    pub dns_upstream_healthy: Family<UpstreamLabels, Gauge>,
    /// Forwarded questions refused (SERVFAIL) beyond `--max-concurrent`.
    pub dns_forward_max_concurrent_rejects: Counter,
}

/// Labels of the answer-duration histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DnsSourceLabels {
    /// `zone`, `cache`, `forward` or `error`.
    pub source: String,
}

/// Labels of an upstream's metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// The upstream's `IP:port`.
    pub to: String,
}

/// Labels of an exchange with an upstream.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ForwardLabels {
    /// The upstream's `IP:port`.
    pub to: String,
    /// The upstream's response code, `error` when none came.
    pub rcode: String,
}

/// Labels of an answered DNS query.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DnsLabels {
    /// The question's type (A, AAAA, PTR, ...).
    pub r#type: String,
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
        // Each metric registered under its name and help, and kept for the struct.
        macro_rules! reg {
            ($name:literal, $help:literal, $m:expr) => {{
                let m = $m;
                registry.register($name, $help, m.clone());
                m
            }};
        }
        let reconciles = reg!(
            "reconcile",
            "Reconciliations (syncs of one object key)",
            Family::<ControllerLabels, Counter>::default()
        );
        let errors = reg!(
            "reconcile_errors",
            "Reconciliations that failed and were requeued with backoff",
            Family::<ErrorLabels, Counter>::default()
        );
        let durations = reg!(
            "reconcile_duration_seconds",
            "Time one reconciliation took",
            Family::<ControllerLabels, Histogram>::new_with_constructor(
                duration_histogram as fn() -> Histogram
            )
        );
        let queue_depth = reg!(
            "workqueue_depth",
            "Object keys waiting in a controller's work queue",
            Family::<ControllerLabels, Gauge>::default()
        );
        let requests = reg!(
            "api_requests",
            "Requests to the Kubernetes API server",
            Family::<RequestLabels, Counter>::default()
        );
        let leader = reg!(
            "leader",
            "1 while this process holds the leader lease",
            Gauge::default()
        );
        let dns_queries = reg!(
            "dns_queries",
            "DNS queries answered by bosun dns",
            Family::<DnsLabels, Counter>::default()
        );
        let dns_names = reg!(
            "dns_names",
            "DNS names bosun dns answers for",
            Gauge::default()
        );
        let dns_durations = reg!(
            "dns_request_duration_seconds",
            "Time bosun dns took to answer, by source of the answer (zone, cache, forward, error)",
            Family::<DnsSourceLabels, Histogram>::new_with_constructor(
                duration_histogram as fn() -> Histogram
            )
        );
        let dns_cache_hits = reg!(
            "dns_cache_hits",
            "Forwarded questions answered from the cache",
            Counter::default()
        );
        let dns_cache_misses = reg!(
            "dns_cache_misses",
            "Forwarded questions not found in the cache",
            Counter::default()
        );
        let dns_cache_size = reg!(
            "dns_cache_entries",
            "Answers held by the cache",
            Gauge::default()
        );
        let dns_forward_requests = reg!(
            "dns_forward_requests",
            "Exchanges with upstream resolvers, by upstream and response code",
            Family::<ForwardLabels, Counter>::default()
        );
        let dns_forward_durations = reg!(
            "dns_forward_request_duration_seconds",
            "Time one exchange with an upstream took",
            Family::<UpstreamLabels, Histogram>::new_with_constructor(
                duration_histogram as fn() -> Histogram
            )
        );
        let dns_upstream_healthy = reg!(
            "dns_upstream_healthy",
            "1 while an upstream resolver is considered up",
            Family::<UpstreamLabels, Gauge>::default()
        );
        let dns_forward_max_concurrent_rejects = reg!(
            "dns_forward_max_concurrent_rejects",
            "Forwarded questions answered SERVFAIL beyond --max-concurrent",
            Counter::default()
        );
        Self {
            registry,
            dns_durations,
            dns_cache_hits,
            dns_cache_misses,
            dns_cache_size,
            dns_forward_requests,
            dns_forward_durations,
            dns_upstream_healthy,
            dns_forward_max_concurrent_rejects,
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

    /// The `bosun_*` metric names a text refers to, without the `_total`, `_bucket`, `_sum`
    /// and `_count` suffixes of their samples.
    fn referenced(text: &str) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find("bosun_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            let base = ["_total", "_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            out.insert(base.to_string());
            rest = &tail[end..];
        }
        out
    }

    /// The names registered in [`Metrics::new`] (the first argument of each `reg!` there; the
    /// encoder prints a family only once it has a sample), with the prefix.
    fn registered() -> std::collections::BTreeSet<String> {
        let source = include_str!("metrics.rs");
        let source = &source[..source.find("#[cfg(test)]").unwrap_or(source.len())];
        let marker = concat!("= reg", "!(");
        let mut out = std::collections::BTreeSet::new();
        let mut rest = source;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            let Some(open) = rest.find('"') else { break };
            let tail = &rest[open + 1..];
            let Some(close) = tail.find('"') else { break };
            out.insert(format!("bosun_{}", &tail[..close]));
            rest = &tail[close..];
        }
        out
    }

    #[test]
    fn the_charts_alerts_and_dashboard_name_metrics_bosun_exports() {
        let exported = registered();
        assert!(exported.contains("bosun_leader"), "{exported:?}");
        for (file, body) in [
            (
                "templates/prometheusrule.yaml",
                include_str!("../../../../charts/bosun/templates/prometheusrule.yaml"),
            ),
            (
                "dashboards/bosun.json",
                include_str!("../../../../charts/bosun/dashboards/bosun.json"),
            ),
        ] {
            let names = referenced(body);
            assert!(!names.is_empty(), "{file} names no metric");
            for n in names {
                assert!(
                    exported.contains(&n),
                    "{file} refers to {n}, which bosun does not export ({exported:?})"
                );
            }
        }
    }
}
