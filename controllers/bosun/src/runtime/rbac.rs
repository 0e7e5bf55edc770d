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

/// A [`Rule`] (a function, so that the declarations read as one line each).
pub const fn rule(
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

/// The permissions of the parts of bosun that are not controllers; each controller declares
/// its own beside its code (its `RBAC`, in `registry.rs`'s list). [`parts`] is both.
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
        name: DNS_SERVER,
        rules: &[rule(
            "dns.bosun.dev",
            &["dnsrecordsets"],
            &["list", "watch"],
            "dns/server.rs: the informer its store is fed from",
        )],
    },
];

/// Every part of bosun: [`PARTS`], then each registered controller under its
/// `--controllers` name.
pub fn parts() -> impl Iterator<Item = Part> {
    PARTS
        .iter()
        .copied()
        .chain(crate::registry::CONTROLLERS.iter().map(|e| Part {
            name: e.name,
            rules: e.rbac,
        }))
}

/// The chart's template of the controllers' rules (`charts/bosun/templates/_controller-rbac.tpl`),
/// generated from [`crate::registry::CONTROLLERS`]: a `bosun.controllerRules` definition with one
/// `if has "<name>"` block per controller, granting its rules when `controller.controllers` holds
/// it. `make generate` writes it; a test fails while the file differs.
pub fn chart_rules_template() -> String {
    let mut out = String::from(
        "{{- /*\nGenerated by `make generate` from each controller's `RBAC` (controllers/bosun/src, listed\n\
         in registry.rs); do not edit. rbac.yaml's ClusterRole includes it.\n*/}}\n\
         {{- define \"bosun.controllerRules\" }}\n\
         {{- $c := .Values.controller.controllers }}\n",
    );
    let quoted = |items: &[&str]| {
        let q: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", q.join(", "))
    };
    for e in crate::registry::CONTROLLERS {
        out.push_str(&format!("{{{{- if has \"{}\" $c }}}}\n", e.name));
        out.push_str(&format!("  # {}: {}\n", e.name, e.about));
        for r in e.rbac {
            for line in wrap(r.from, 94) {
                out.push_str(&format!("  # {line}\n"));
            }
            out.push_str(&format!("  - apiGroups: {}\n", quoted(&[r.group])));
            out.push_str(&format!("    resources: {}\n", quoted(r.resources)));
            out.push_str(&format!("    verbs: {}\n", quoted(r.verbs)));
        }
        out.push_str("{{- end }}\n");
    }
    out.push_str("{{- end }}\n");
    out
}

/// `text` in lines of at most `width` characters, broken between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(l) if l.chars().count() + 1 + word.chars().count() <= width => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// The chart's values schema (`charts/bosun/values.schema.json`, as text) with its
/// `controller.controllers` enum set to the registered names; `None` if the schema has no such
/// enum. Only the enum's lines change, so the file keeps its layout.
pub fn values_schema_with_controllers(schema: &str) -> Option<String> {
    let at = schema.find("\"controllers\": {")?;
    let open = at + schema[at..].find("\"enum\": [")? + "\"enum\": [".len();
    let close = open + schema[open..].find(']')?;
    let indent = schema[..close]
        .rfind('\n')
        .map(|nl| &schema[nl + 1..close])
        .filter(|i| i.chars().all(|c| c == ' '))
        .unwrap_or("");
    let items: Vec<String> = crate::registry::names()
        .map(|n| format!("{indent}  \"{n}\""))
        .collect();
    Some(format!(
        "{}\n{}\n{indent}{}",
        &schema[..open],
        items.join(",\n"),
        &schema[close..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// The chart's RBAC template.
    const TEMPLATE: &str = include_str!("../../../../charts/bosun/templates/rbac.yaml");
    /// The chart's template of the controllers' rules, which [`TEMPLATE`] includes.
    const CONTROLLER_RULES: &str =
        include_str!("../../../../charts/bosun/templates/_controller-rbac.tpl");
    /// The chart's values schema.
    const VALUES_SCHEMA: &str = include_str!("../../../../charts/bosun/values.schema.json");
    /// Set to rewrite the generated chart files instead of comparing them (`make generate`).
    const GENERATE: &str = "BOSUN_GENERATE";

    /// The registered controllers' names.
    fn controllers() -> impl Iterator<Item = &'static str> {
        crate::registry::names()
    }

    /// One granted (or declared) permission: group, resource, verb.
    type Grant = (String, String, String);

    /// Everything `part` declares.
    fn declared(part: &str) -> BTreeSet<Grant> {
        let p = parts()
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
        let include = "{{- include \"bosun.controllerRules\" . }}";
        assert!(
            TEMPLATE.contains(include),
            "rbac.yaml includes the controllers' rules"
        );
        let define = "{{- define \"bosun.controllerRules\" }}\n";
        let body = CONTROLLER_RULES
            .split_once(define)
            .and_then(|(_, rest)| rest.trim_end().strip_suffix("{{- end }}"))
            .expect("_controller-rbac.tpl defines bosun.controllerRules");
        let mut text = TEMPLATE.replace(include, body.trim_end());
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

    /// The names of the `has "<name>" $c` blocks of the templates.
    fn blocks() -> BTreeSet<String> {
        let text = format!("{TEMPLATE}{CONTROLLER_RULES}");
        text.match_indices("if has \"")
            .filter_map(|(i, m)| text[i + m.len()..].split('"').next())
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
        let schema: Value = serde_json::from_str(VALUES_SCHEMA).expect("the values schema is JSON");
        let offered: BTreeSet<String> =
            schema["properties"]["controller"]["properties"]["controllers"]["items"]["enum"]
                .as_array()
                .expect("the controllers enum")
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
        assert_eq!(offered, declared);
    }

    /// `file` (under the repository) holds `want`; with [`GENERATE`] set, make it so.
    fn generated(file: &str, have: &str, want: &str) {
        if std::env::var_os(GENERATE).is_some() {
            let path = format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(&path, want).unwrap_or_else(|e| panic!("writing {path}: {e}"));
            return;
        }
        assert!(
            have == want,
            "{file} is not what the registry generates; run `make generate`.\n--- want:\n{want}"
        );
    }

    #[test]
    fn generated_chart_rules_are_the_registrys() {
        generated(
            "charts/bosun/templates/_controller-rbac.tpl",
            CONTROLLER_RULES,
            &chart_rules_template(),
        );
    }

    #[test]
    fn generated_values_schema_offers_the_registered_controllers() {
        let want = values_schema_with_controllers(VALUES_SCHEMA).expect("the controllers enum");
        generated("charts/bosun/values.schema.json", VALUES_SCHEMA, &want);
    }

    #[test]
    fn wrap_breaks_between_words_within_the_width() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("  ", 6), Vec::<String>::new());
        assert_eq!(wrap("longerthanwidth x", 4), ["longerthanwidth", "x"]);
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
        for p in parts() {
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
