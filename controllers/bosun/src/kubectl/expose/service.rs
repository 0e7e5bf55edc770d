//! The Service itself: upstream's `createService` with polymorphichelpers'
//! `MapBasedSelectorForObject`, `PortsForObject` and `MultiProtocolsForObject`, from what was
//! read of the exposed object and the flags.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Value, json};

use super::super::Failure;
use super::{ExposeFlags, Exposed};

/// Upstream's `MapBasedSelectorForObject` for apps/v1 Deployments and ReplicaSets.
pub fn map_based_selector(o: &Exposed) -> Result<BTreeMap<String, String>, Failure> {
    let labels = o.selector.match_labels.clone().unwrap_or_default();
    if labels.is_empty() {
        let kind = o.kind.name().to_ascii_lowercase();
        return Err(Failure(format!(
            "error: couldn't retrieve selectors via --selector flag or introspection: invalid {kind}: no selectors, therefore cannot be exposed"
        )));
    }
    if o.selector
        .match_expressions
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        return Err(Failure(
            "error: couldn't retrieve selectors via --selector flag or introspection: couldn't convert expressions to map-based selector format".into(),
        ));
    }
    Ok(labels)
}

/// Upstream's `getPorts`: every container port, once, in order.
pub fn ports_of(spec: &PodSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            let key = p.container_port.to_string();
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// Upstream's `getMultiProtocols`: port → the protocols of every container port on it (TCP
/// when unset), duplicates kept.
pub fn protocols_of(spec: &PodSpec) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &spec.containers {
        for p in c.ports.iter().flatten() {
            out.entry(p.container_port.to_string())
                .or_default()
                .push(p.protocol.clone().unwrap_or_else(|| "TCP".into()));
        }
    }
    out
}

fn parse_labels(spec: &str) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for pair in spec.split(',') {
        let parts: Vec<&str> = pair.split('=').collect();
        if parts.len() != 2 {
            return Err(Failure(format!("error: unexpected label spec: {pair}")));
        }
        if parts[0].is_empty() {
            return Err(Failure("error: unexpected empty label key".into()));
        }
        out.insert(parts[0].to_string(), parts[1].to_string());
    }
    Ok(out)
}

/// Upstream's `RunExpose` + `createService`: the Service for `o`.
pub fn service(o: &Exposed, f: &ExposeFlags) -> Result<Value, Failure> {
    // The name: --name, else the object's, cut to a DNS-1035 label's 63 characters.
    let name = match &f.name {
        Some(n) if !n.is_empty() => n.clone(),
        _ => o.name.chars().take(63).collect(),
    };
    let selector = match &f.selector {
        Some(s) if !s.is_empty() => parse_labels(s)?,
        _ => map_based_selector(o)?,
    };
    let ports = service_ports(o, f)?;
    let labels = match &f.labels {
        Some(l) if !l.is_empty() => parse_labels(l)?,
        _ => o.labels.clone(),
    };
    let spec = service_spec(f, json!({"selector": selector, "ports": ports}))?;
    let mut metadata = json!({"name": name});
    if !labels.is_empty() {
        metadata["labels"] = json!(labels);
    }
    Ok(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec, "status": {"loadBalancer": {}}}),
    )
}

/// The ports to serve, comma-separated, and whether they are the object's several ports:
/// --port, else the object's (none only for a headless Service).
fn port_list(o: &Exposed, f: &ExposeFlags) -> Result<(String, bool), Failure> {
    if let Some(p) = f.port.as_ref().filter(|p| !p.is_empty()) {
        return Ok((p.clone(), false));
    }
    let headless = f.cluster_ip.as_deref() == Some("None");
    let ports = ports_of(&o.pod_spec);
    match ports.len() {
        0 if !headless => Err(Failure(
            "error: couldn't find port via --port flag or introspection".into(),
        )),
        0 => Ok((String::new(), false)),
        1 => Ok((ports[0].clone(), false)),
        _ => Ok((ports.join(","), true)),
    }
}

/// The Service's ports: one is used as is, several become port-1, port-2, …; a port the
/// containers use with several protocols becomes one port each (port-N-udp, …). Each targets
/// --target-port, else its own number.
fn service_ports(o: &Exposed, f: &ExposeFlags) -> Result<Vec<Value>, Failure> {
    let (port_string, several) = port_list(o, f)?;
    let protocols = protocols_of(&o.pod_spec);
    let flag_protocol = f.protocol.clone().unwrap_or_default();
    let mut ports: Vec<Value> = Vec::new();
    let list: Vec<&str> = port_string
        .split(',')
        .filter(|_| !port_string.is_empty())
        .collect();
    let multi = several || list.len() > 1;
    for (i, p) in list.iter().enumerate() {
        let port: i32 = p.parse().map_err(|_| {
            Failure(format!(
                "error: strconv.Atoi: parsing {p:?}: invalid syntax"
            ))
        })?;
        let mut protocol = flag_protocol.clone();
        if protocol.is_empty() {
            protocol = "TCP".into();
            match protocols.get(*p).map(Vec::as_slice) {
                Some([one]) => protocol = one.clone(),
                Some(found @ [_, _, ..]) => {
                    // One service port per protocol the containers use on this port.
                    for proto in found {
                        ports.push(json!({
                            "name": format!("port-{}-{}", i + 1, proto.to_ascii_lowercase()),
                            "port": port,
                            "protocol": proto,
                        }));
                    }
                    continue;
                }
                _ => {}
            }
        }
        let mut sp = json!({"port": port, "protocol": protocol});
        if multi {
            sp["name"] = json!(format!("port-{}", i + 1));
        }
        ports.push(sp);
    }
    for sp in &mut ports {
        sp["targetPort"] = match &f.target_port {
            Some(t) if !t.is_empty() => match t.parse::<i32>() {
                Ok(n) => json!(n),
                Err(_) => json!(t),
            },
            _ => sp["port"].clone(),
        };
    }
    Ok(ports)
}

/// `spec` with the flags' external IP, type (and load balancer IP), session affinity and
/// cluster IP.
fn service_spec(f: &ExposeFlags, mut spec: Value) -> Result<Value, Failure> {
    if let Some(ip) = f.external_ip.as_deref().filter(|s| !s.is_empty()) {
        spec["externalIPs"] = json!([ip]);
    }
    if let Some(t) = f.type_.as_deref().filter(|s| !s.is_empty()) {
        spec["type"] = json!(t);
        if let Some(ip) = f
            .load_balancer_ip
            .as_deref()
            .filter(|s| t == "LoadBalancer" && !s.is_empty())
        {
            spec["loadBalancerIP"] = json!(ip);
        }
    }
    match f.session_affinity.as_deref() {
        None | Some("") => {}
        Some(a @ ("None" | "ClientIP")) => spec["sessionAffinity"] = json!(a),
        Some(other) => {
            return Err(Failure(format!("error: unknown session affinity: {other}")));
        }
    }
    if let Some(ip) = f.cluster_ip.as_deref().filter(|s| !s.is_empty()) {
        spec["clusterIP"] = json!(ip);
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::super::super::Kind;
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    fn exposed(ports: Value) -> Exposed {
        Exposed {
            name: "web".into(),
            labels: [
                ("app".to_string(), "web".to_string()),
                ("tier".into(), "front".into()),
            ]
            .into(),
            selector: serde_json::from_value(json!({"matchLabels": {"app": "web"}})).unwrap(),
            pod_spec: serde_json::from_value(json!({"containers": [
                {"name": "c", "image": "i", "ports": ports}
            ]}))
            .unwrap(),
            kind: Kind::Deployment,
        }
    }

    #[test]
    fn selector_comes_from_match_labels_and_labels_from_the_object() {
        let f = ExposeFlags {
            port: Some("8080".into()),
            ..Default::default()
        };
        let s = service(&exposed(json!([])), &f).unwrap();
        assert_eq!(s["spec"]["selector"], json!({"app": "web"}));
        assert_eq!(
            s["metadata"],
            json!({"name": "web", "labels": {"app": "web", "tier": "front"}})
        );
    }

    #[test]
    fn a_single_port_is_unnamed_and_targets_itself_unless_target_port_is_given() {
        let f = ExposeFlags {
            port: Some("8080".into()),
            type_: Some("NodePort".into()),
            ..Default::default()
        };
        let s = service(&exposed(json!([{"containerPort": 80}])), &f).unwrap();
        assert_eq!(
            s["spec"]["ports"],
            json!([{"port": 8080, "protocol": "TCP", "targetPort": 8080}])
        );
        assert_eq!(s["spec"]["type"], json!("NodePort"));
        let f = ExposeFlags {
            port: Some("80".into()),
            target_port: Some("http".into()),
            ..Default::default()
        };
        let s = service(&exposed(json!([])), &f).unwrap();
        assert_eq!(s["spec"]["ports"][0]["targetPort"], json!("http"));
        let f = ExposeFlags {
            port: Some("80".into()),
            target_port: Some("9376".into()),
            ..Default::default()
        };
        let s = service(&exposed(json!([])), &f).unwrap();
        assert_eq!(s["spec"]["ports"][0]["targetPort"], json!(9376));
    }

    #[test]
    fn without_port_the_containers_ports_are_used_and_several_are_named_port_n() {
        let s = service(
            &exposed(json!([{"containerPort": 80}])),
            &ExposeFlags::default(),
        )
        .unwrap();
        assert_eq!(
            s["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP", "targetPort": 80}])
        );
        let s = service(
            &exposed(json!([{"containerPort": 80}, {"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])),
            &ExposeFlags::default(),
        )
        .unwrap();
        assert_eq!(s["spec"]["ports"][0]["name"], json!("port-1-tcp"));
        let s = service(
            &exposed(json!([{"containerPort": 80}, {"containerPort": 443}])),
            &ExposeFlags::default(),
        )
        .unwrap();
        assert_eq!(
            s["spec"]["ports"],
            json!([{"name": "port-1", "port": 80, "protocol": "TCP", "targetPort": 80},
                   {"name": "port-2", "port": 443, "protocol": "TCP", "targetPort": 443}])
        );
    }

    #[test]
    fn no_port_anywhere_is_an_error() {
        assert_eq!(
            service(&exposed(json!([])), &ExposeFlags::default())
                .unwrap_err()
                .0,
            "error: couldn't find port via --port flag or introspection"
        );
    }

    #[test]
    fn the_container_protocol_is_kept_and_protocol_flag_overrides_it() {
        let ports = json!([{"containerPort": 53, "protocol": "UDP"}]);
        let s = service(&exposed(ports.clone()), &ExposeFlags::default()).unwrap();
        assert_eq!(s["spec"]["ports"][0]["protocol"], json!("UDP"));
        let f = ExposeFlags {
            protocol: Some("SCTP".into()),
            ..Default::default()
        };
        let s = service(&exposed(ports), &f).unwrap();
        assert_eq!(s["spec"]["ports"][0]["protocol"], json!("SCTP"));
    }

    #[test]
    fn a_port_used_with_two_protocols_becomes_one_service_port_each() {
        let ports = json!([{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}]);
        let s = service(&exposed(ports), &ExposeFlags::default()).unwrap();
        assert_eq!(
            s["spec"]["ports"],
            json!([{"name": "port-1-udp", "port": 53, "protocol": "UDP", "targetPort": 53},
                   {"name": "port-1-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}])
        );
    }

    #[test]
    fn name_flag_and_long_names_cut_to_63() {
        let f = ExposeFlags {
            port: Some("80".into()),
            name: Some("front".into()),
            ..Default::default()
        };
        assert_eq!(
            service(&exposed(json!([])), &f).unwrap()["metadata"]["name"],
            json!("front")
        );
        let mut o = exposed(json!([]));
        o.name = "x".repeat(70);
        let f = ExposeFlags {
            port: Some("80".into()),
            ..Default::default()
        };
        assert_eq!(
            service(&o, &f).unwrap()["metadata"]["name"]
                .as_str()
                .unwrap()
                .len(),
            63
        );
    }

    #[test]
    fn selector_with_expressions_or_none_cannot_be_exposed() {
        let mut o = exposed(json!([]));
        o.selector = serde_json::from_value(json!({"matchLabels": {"a": "b"}, "matchExpressions": [{"key": "x", "operator": "Exists"}]})).unwrap();
        let f = ExposeFlags {
            port: Some("80".into()),
            ..Default::default()
        };
        assert!(service(&o, &f).is_err());
        o.selector = LabelSelector::default();
        assert!(
            service(&o, &f)
                .unwrap_err()
                .0
                .contains("no selectors, therefore cannot be exposed")
        );
        // --selector replaces what introspection would find.
        let f = ExposeFlags {
            port: Some("80".into()),
            selector: Some("x=y".into()),
            ..Default::default()
        };
        assert_eq!(
            service(&o, &f).unwrap()["spec"]["selector"],
            json!({"x": "y"})
        );
    }

    #[test]
    fn session_affinity_cluster_ip_and_external_ip() {
        let f = ExposeFlags {
            port: Some("80".into()),
            session_affinity: Some("ClientIP".into()),
            cluster_ip: Some("None".into()),
            external_ip: Some("1.2.3.4".into()),
            ..Default::default()
        };
        let s = service(&exposed(json!([])), &f).unwrap();
        assert_eq!(s["spec"]["sessionAffinity"], json!("ClientIP"));
        assert_eq!(s["spec"]["clusterIP"], json!("None"));
        assert_eq!(s["spec"]["externalIPs"], json!(["1.2.3.4"]));
        let f = ExposeFlags {
            port: Some("80".into()),
            session_affinity: Some("Sticky".into()),
            ..Default::default()
        };
        assert!(service(&exposed(json!([])), &f).is_err());
    }
}
