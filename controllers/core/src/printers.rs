//! The cells `kubectl get` prints for the built-in twins of bosun's kinds
//! (`pkg/printers/internalversion/printers.go`).
//!
//! The API server prints a custom resource's columns from `additionalPrinterColumns`, and a
//! JSONPath column prints only its first match (`tableconvertor.go`: "we can assume to have only
//! one result"). A column over a list (every port, every container) therefore needs a field that
//! already holds the joined string. The controllers write these fields from the functions here,
//! so `kubectl get` shows what it shows for apps/v1 and discovery.k8s.io/v1.

use k8s_openapi::api::core::v1::Container;
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort};

/// How many ports or addresses the EndpointSlice columns list before `+ N more...`.
const MAX_LISTED: usize = 3;

/// `layoutContainerCells`: the names and the images of the containers, each joined by commas.
pub fn layout_container_cells(containers: &[Container]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers
        .iter()
        .map(|c| c.image.as_deref().unwrap_or_default())
        .collect();
    (names.join(","), images.join(","))
}

/// `formatDiscoveryPorts`: the first three ports (the number, else the name, else `*`).
pub fn format_discovery_ports(ports: &[EndpointPort]) -> String {
    let cells: Vec<String> = ports
        .iter()
        .map(|p| match (p.port, &p.name) {
            (Some(n), _) => n.to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => "*".into(),
        })
        .collect();
    list_with_more_string(&cells)
}

/// `formatDiscoveryEndpoints`: the first three addresses over all endpoints.
pub fn format_discovery_endpoints(endpoints: &[Endpoint]) -> String {
    let cells: Vec<String> = endpoints
        .iter()
        .flat_map(|e| e.addresses.iter().cloned())
        .collect();
    list_with_more_string(&cells)
}

/// `listWithMoreString`: up to three cells joined by commas, then `+ N more...`; `<unset>` for
/// none.
pub fn list_with_more_string(cells: &[String]) -> String {
    if cells.is_empty() {
        return "<unset>".into();
    }
    let listed = cells[..cells.len().min(MAX_LISTED)].join(",");
    if cells.len() > MAX_LISTED {
        format!("{listed} + {} more...", cells.len() - MAX_LISTED)
    } else {
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, image: Option<&str>) -> Container {
        Container {
            name: name.into(),
            image: image.map(Into::into),
            ..Default::default()
        }
    }

    fn port(port: Option<i32>, name: Option<&str>) -> EndpointPort {
        EndpointPort {
            port,
            name: name.map(Into::into),
            ..Default::default()
        }
    }

    fn endpoint(addresses: &[&str]) -> Endpoint {
        Endpoint {
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn layout_container_cells_joins_every_container_in_order() {
        let cs = [
            container("web", Some("nginx:1.27")),
            container("sidecar", Some("busybox")),
            container("noimage", None),
        ];
        assert_eq!(
            layout_container_cells(&cs),
            (
                "web,sidecar,noimage".to_string(),
                "nginx:1.27,busybox,".to_string()
            )
        );
        assert_eq!(layout_container_cells(&[]), (String::new(), String::new()));
    }

    #[test]
    fn format_discovery_ports_prints_the_number_else_the_name_else_a_star() {
        let ps = [
            port(Some(5353), Some("dns")),
            port(None, Some("http")),
            port(None, None),
        ];
        assert_eq!(format_discovery_ports(&ps), "5353,http,*");
        assert_eq!(format_discovery_ports(&[]), "<unset>");
    }

    #[test]
    fn format_discovery_endpoints_lists_addresses_across_endpoints() {
        let es = [endpoint(&["10.0.0.1", "10.0.0.2"]), endpoint(&["10.0.0.3"])];
        assert_eq!(
            format_discovery_endpoints(&es),
            "10.0.0.1,10.0.0.2,10.0.0.3"
        );
        assert_eq!(format_discovery_endpoints(&[endpoint(&[])]), "<unset>");
    }

    #[test]
    fn list_with_more_string_lists_three_then_counts_the_rest() {
        let cells: Vec<String> = (1..=5).map(|i| format!("10.0.0.{i}")).collect();
        assert_eq!(
            list_with_more_string(&cells),
            "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."
        );
        assert_eq!(
            list_with_more_string(&cells[..3]),
            "10.0.0.1,10.0.0.2,10.0.0.3"
        );
        assert_eq!(list_with_more_string(&[]), "<unset>");
    }
}
