//! What each part of bosun asks of the API server, declared once: the chart's RBAC
//! (`charts/bosun/templates/rbac.yaml`) must grant exactly this, and the tests below fail when
//! the two drift apart, either way (a verb the chart grants that nothing here declares, or a
//! declared verb the chart lacks).
//!
//! Nothing at run time reads it. Every entry comes from the calls the code makes, found by
//! reading the act side for `Api::<K>` calls (`create`, `get`, `patch`, `patch_status`,
//! `replace`, `delete`; `runtime/claim.rs` and `runtime/status.rs` make some for them), the
//! informers each controller registers a handler on (list and watch, `runtime/mod.rs`
//! `Shared::start`), the Events sink (`runtime/events.rs`) and the Lease calls (kube-lease-manager
//! and `main.rs`); each rule's `from` names them. The one kind of entry that is not a call is
//! `<owner>/finalizers` `update`: an object created or adopted with a `blockOwnerDeletion`
//! owner reference needs it on the owner under the `OwnerReferencesPermissionEnforcement`
//! admission plugin. A controller that makes a new call adds it here and to the chart.
//!
//! Not covered: the roles of the chart's selftest and uninstall-check hooks (their own
//! ServiceAccounts), the aggregated view/edit/admin roles for users, and `resourceNames`
//! (the Lease Role limits all but `create` to the one Lease; that is the chart's to keep).

/// One permission: these verbs on these resources of one API group.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The API group (`""` for the core group).
    pub group: &'static str,
    /// The resources, a subresource as `<resource>/<subresource>`.
    pub resources: &'static [&'static str],
    /// The verbs.
    pub verbs: &'static [&'static str],
    /// The calls that need them (file: what).
    pub from: &'static str,
}

/// The permissions of one part of bosun.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// A `bosun run --controllers` name, or [`PROCESS`], [`LEADER_ELECTION`] or [`DNS_SERVER`].
    pub name: &'static str,
    /// What it needs.
    pub rules: &'static [Rule],
}

/// `bosun run` itself, whichever controllers it runs (the controllers' ClusterRole).
pub const PROCESS: &str = "bosun run";
/// `bosun run --leader-elect` (the leader-election Role, in the release's namespace).
pub const LEADER_ELECTION: &str = "leader election";
/// `bosun dns`, the DNS server (its own ClusterRole).
pub const DNS_SERVER: &str = "bosun dns";

const fn rule(
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    from: &'static str,
) -> Rule {
    Rule {
        group,
        resources,
        verbs,
        from,
    }
}

/// The permissions of every part of bosun. The controllers are the variants of `main.rs`'s
/// `ControllerName` (a test there checks the list is complete).
pub const PARTS: &[Part] = &[
    Part {
        name: PROCESS,
        rules: &[rule(
            "events.k8s.io",
            &["events"],
            &["create"],
            "runtime/events.rs: Events::publish creates each Event (no series, so no patch); \
             the replicaset, deployment and endpointslice controllers publish",
        )],
    },
    Part {
        name: LEADER_ELECTION,
        rules: &[
            rule(
                "coordination.k8s.io",
                &["leases"],
                &["get", "create", "patch"],
                "kube-lease-manager's LeaseState: get, create when missing, patch (take, renew, \
                 release)",
            ),
            rule(
                "coordination.k8s.io",
                &["leases"],
                &["list", "watch"],
                "main.rs: feed_fence and wait_to_lead watch the Lease (a field selector on its \
                 name)",
            ),
        ],
    },
    Part {
        name: "replicaset",
        rules: &[
            rule(
                "",
                &["pods"],
                &["list", "watch"],
                "replicaset.rs: its Pod handlers (the shared Pod informer)",
            ),
            rule(
                "",
                &["pods"],
                &["create", "delete", "patch"],
                "replicaset.rs: creates and deletes; runtime/claim.rs adopts and releases \
                 (a patch of ownerReferences)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets"],
                &["list", "watch"],
                "replicaset.rs: its ReplicaSet handlers (informer)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets"],
                &["get"],
                "runtime/claim.rs: reads the ReplicaSet live before adopting \
                 (RecheckDeletionTimestamp)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets"],
                &["patch"],
                "replicaset.rs: sync writes spec.scaleStrategy.podsToDelete back (merge patch)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets/status"],
                &["patch"],
                "replicaset.rs through runtime/status.rs: the status (server-side apply)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets/finalizers"],
                &["update"],
                "not a call: its Pods carry blockOwnerDeletion owner references",
            ),
        ],
    },
    Part {
        name: "deployment",
        rules: &[
            rule(
                "apps.bosun.dev",
                &["deployments"],
                &["list", "watch"],
                "deployment.rs: its Deployment handlers (informer)",
            ),
            rule(
                "apps.bosun.dev",
                &["deployments"],
                &["get", "patch"],
                "runtime/claim.rs: reads the Deployment live before adopting; deployment.rs \
                 patches revision annotations, rollbacks and podsToDelete",
            ),
            rule(
                "apps.bosun.dev",
                &["deployments/status"],
                &["patch"],
                "deployment.rs through runtime/status.rs: the status and the abort hash \
                 (server-side apply)",
            ),
            rule(
                "apps.bosun.dev",
                &["deployments/finalizers"],
                &["update"],
                "not a call: its ReplicaSets carry blockOwnerDeletion owner references",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets"],
                &["list", "watch"],
                "deployment.rs: its ReplicaSet handlers (informer)",
            ),
            rule(
                "apps.bosun.dev",
                &["replicasets"],
                &["create", "get", "patch", "delete"],
                "deployment.rs: create (and get after a 409, the collision check), patch (scale, \
                 annotations), delete (the revision history limit); runtime/claim.rs: patch \
                 (adoption and release)",
            ),
            rule(
                "",
                &["pods"],
                &["list", "watch"],
                "deployment.rs: its Pod handlers (the shared Pod informer)",
            ),
        ],
    },
    Part {
        name: "endpointslice",
        rules: &[
            rule(
                "",
                &["services", "pods", "nodes"],
                &["list", "watch"],
                "endpointslice.rs: its Service, Pod and Node handlers (informers)",
            ),
            rule(
                "",
                &["services/finalizers"],
                &["update"],
                "not a call: its slices carry a blockOwnerDeletion owner reference to the \
                 Service",
            ),
            rule(
                "discovery.bosun.dev",
                &["endpointslices"],
                &["list", "watch", "create", "update", "delete"],
                "endpointslice.rs: its slice handlers (informer); apply creates, replaces and \
                 deletes",
            ),
            rule(
                "discovery.k8s.io",
                &["endpointslices"],
                &["list", "watch", "create", "update", "delete"],
                "endpointslice.rs: the mirrored slices, the same way (informer by label)",
            ),
        ],
    },
    Part {
        name: "dns",
        rules: &[
            rule(
                "",
                &["services"],
                &["list", "watch"],
                "dns/controller.rs: its Service handlers (informer)",
            ),
            rule(
                "",
                &["services/finalizers"],
                &["update"],
                "not a call: its DNSRecordSets carry a blockOwnerDeletion owner reference to \
                 the Service",
            ),
            rule(
                "discovery.bosun.dev",
                &["endpointslices"],
                &["list", "watch"],
                "dns/controller.rs: its slice handlers (informer)",
            ),
            rule(
                "dns.bosun.dev",
                &["dnsrecordsets"],
                &["list", "watch"],
                "dns/controller.rs: its DNSRecordSet handlers (informer)",
            ),
            rule(
                "dns.bosun.dev",
                &["dnsrecordsets"],
                &["patch", "create", "delete"],
                "dns/controller.rs: server-side apply (a patch; the API server also asks for \
                 create when the apply creates the object), delete with preconditions",
            ),
            rule(
                "dns.bosun.dev",
                &["dnsrecordsets/status"],
                &["patch"],
                "dns/controller.rs through runtime/status.rs: the status (server-side apply)",
            ),
        ],
    },
    Part {
        name: DNS_SERVER,
        rules: &[rule(
            "dns.bosun.dev",
            &["dnsrecordsets"],
            &["list", "watch"],
            "dns/server.rs: the informer its store is fed from",
        )],
    },
];

/// The controllers of [`PARTS`] (the `--controllers` names).
pub fn controllers() -> impl Iterator<Item = &'static str> {
    PARTS
        .iter()
        .map(|p| p.name)
        .filter(|n| ![PROCESS, LEADER_ELECTION, DNS_SERVER].contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// The chart's RBAC template.
    const TEMPLATE: &str = include_str!("../../../../charts/bosun/templates/rbac.yaml");

    /// One granted (or declared) permission: group, resource, verb.
    type Grant = (String, String, String);

    /// Everything `part` declares.
    fn declared(part: &str) -> BTreeSet<Grant> {
        let p = PARTS
            .iter()
            .find(|p| p.name == part)
            .unwrap_or_else(|| panic!("{part} is declared"));
        p.rules
            .iter()
            .flat_map(|r| {
                r.resources.iter().flat_map(move |res| {
                    r.verbs
                        .iter()
                        .map(move |v| (r.group.to_string(), res.to_string(), v.to_string()))
                })
            })
            .collect()
    }

    /// The grants of a list of rendered PolicyRules.
    fn grants(rules: &[Value]) -> BTreeSet<Grant> {
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        };
        let mut out = BTreeSet::new();
        for r in rules {
            for g in strings(&r["apiGroups"]) {
                for res in strings(&r["resources"]) {
                    for v in strings(&r["verbs"]) {
                        out.insert((g.clone(), res.clone(), v));
                    }
                }
            }
        }
        out
    }

    /// The template's `{{ … }}` action on this line, when the line holds only that.
    fn whole_line_action(line: &str) -> Option<&str> {
        let t = line.trim();
        let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
        (!inner.contains("{{")).then(|| inner.trim_start_matches('-').trim_end_matches('-').trim())
    }

    /// The template rendered for a selection of controllers: the `{{- if has "<name>" $c }}`
    /// blocks of `controllers` kept, the others cut, every `{{- if .Values.… }}` block kept
    /// (every component enabled). Other actions are `include`s and values (`.Release.…`): a
    /// line holding only one is cut (labels), one inside a line becomes `X` (names,
    /// namespaces). Anything else is refused, so a template this reader would misread fails the
    /// tests rather than passing them.
    fn render(controllers: &[&str]) -> Vec<Value> {
        let mut text = TEMPLATE.to_string();
        while let Some(start) = text.find("{{- /*").or_else(|| text.find("{{/*")) {
            let end = text[start..]
                .find("*/}}")
                .map(|e| start + e + "*/}}".len())
                .expect("a closed template comment");
            text.replace_range(start..end, "");
        }
        let mut keep: Vec<bool> = Vec::new();
        let mut out = String::new();
        for line in text.lines() {
            if let Some(action) = whole_line_action(line) {
                if let Some(name) = action
                    .strip_prefix("if has \"")
                    .and_then(|r| r.strip_suffix("\" $c"))
                {
                    keep.push(controllers.contains(&name));
                } else if action
                    .strip_prefix("if .Values.")
                    .is_some_and(|v| !v.contains(' '))
                {
                    keep.push(true);
                } else if action == "end" {
                    keep.pop().expect("an end closes an if");
                } else if action.starts_with("$c := ") || action.starts_with("include ") {
                } else {
                    panic!("rbac.yaml: `{{{{ {action} }}}}` is unknown to this test's reader");
                }
                continue;
            }
            if keep.iter().any(|k| !k) {
                continue;
            }
            let mut line = line.to_string();
            while let Some(start) = line.find("{{") {
                let end = line[start..].find("}}").expect("a closed action") + start + 2;
                let action = line[start + 2..end - 2].trim_matches(['-', ' ']);
                assert!(
                    action.starts_with("include ") || action.starts_with('.'),
                    "rbac.yaml: `{action}` inside a line is unknown to this test's reader"
                );
                line.replace_range(start..end, "X");
            }
            out.push_str(&line);
            out.push('\n');
        }
        assert!(keep.is_empty(), "every if of rbac.yaml is closed");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&out).expect("rbac.yaml is YAML");
        docs.into_iter().filter(|d| !d.is_null()).collect()
    }

    /// The rules of the rendered role of `kind` whose name ends with `suffix`.
    fn rules_of(docs: &[Value], kind: &str, suffix: &str) -> Vec<Value> {
        let role = docs
            .iter()
            .find(|d| {
                d["kind"] == kind
                    && d["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("rbac.yaml renders a {kind} named …{suffix}"));
        role["rules"].as_array().cloned().unwrap_or_default()
    }

    /// The names of the `has "<name>" $c` blocks of the template.
    fn blocks() -> BTreeSet<String> {
        TEMPLATE
            .match_indices("if has \"")
            .filter_map(|(i, m)| TEMPLATE[i + m.len()..].split('"').next())
            .map(String::from)
            .collect()
    }

    /// `declared` and `granted` as the two lists of what only one side has.
    fn drift(declared: &BTreeSet<Grant>, granted: &BTreeSet<Grant>) -> String {
        format!(
            "granted by the chart, declared by nobody: {:?}; declared, not granted: {:?}",
            granted.difference(declared).collect::<Vec<_>>(),
            declared.difference(granted).collect::<Vec<_>>()
        )
    }

    #[test]
    fn the_controllers_clusterrole_grants_each_controller_exactly_what_it_declares() {
        // The rules outside every controller's block are the process's own.
        let common = rules_of(&render(&[]), "ClusterRole", "-controller");
        let want = declared(PROCESS);
        assert_eq!(grants(&common), want, "{}", drift(&want, &grants(&common)));
        for name in controllers() {
            let mut rules = rules_of(&render(&[name]), "ClusterRole", "-controller");
            for c in &common {
                let at = rules
                    .iter()
                    .position(|r| r == c)
                    .expect("the common rules stay");
                rules.remove(at);
            }
            let (want, got) = (declared(name), grants(&rules));
            assert_eq!(got, want, "controller {name}: {}", drift(&want, &got));
        }
        // Every controller enabled: the union, and nothing more.
        let all: Vec<&str> = controllers().collect();
        let union: BTreeSet<Grant> = all
            .iter()
            .chain([&PROCESS])
            .flat_map(|n| declared(n))
            .collect();
        let got = grants(&rules_of(&render(&all), "ClusterRole", "-controller"));
        assert_eq!(got, union, "{}", drift(&union, &got));
    }

    #[test]
    fn the_chart_has_a_block_for_each_declared_controller_and_no_other() {
        let declared: BTreeSet<String> = controllers().map(String::from).collect();
        assert_eq!(blocks(), declared);
        // The values schema offers the same names.
        let schema: Value =
            serde_json::from_str(include_str!("../../../../charts/bosun/values.schema.json"))
                .expect("the values schema is JSON");
        let offered: BTreeSet<String> =
            schema["properties"]["controller"]["properties"]["controllers"]["items"]["enum"]
                .as_array()
                .expect("the controllers enum")
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
        assert_eq!(offered, declared);
    }

    #[test]
    fn the_leader_election_role_grants_what_the_lease_calls_declare() {
        let got = grants(&rules_of(&render(&[]), "Role", "-leader-election"));
        let want = declared(LEADER_ELECTION);
        assert_eq!(got, want, "{}", drift(&want, &got));
    }

    #[test]
    fn the_dns_servers_clusterrole_grants_what_it_declares() {
        let got = grants(&rules_of(&render(&[]), "ClusterRole", "-dns"));
        let want = declared(DNS_SERVER);
        assert_eq!(got, want, "{}", drift(&want, &got));
    }

    #[test]
    fn every_verb_is_one_rbac_knows() {
        const VERBS: [&str; 8] = [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ];
        for p in PARTS {
            for r in p.rules {
                for v in r.verbs {
                    assert!(VERBS.contains(v), "{}: {v}", p.name);
                }
                assert!(
                    !r.from.is_empty(),
                    "{}: say which calls need {:?}",
                    p.name,
                    r.verbs
                );
            }
        }
    }
}
