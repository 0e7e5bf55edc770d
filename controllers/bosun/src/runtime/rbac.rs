//! What each part of bosun asks of the API server, declared once: the chart's RBAC
//! (`charts/bosun/templates/rbac.yaml` and the `_controller-rbac.tpl` generated from the
//! controllers' declarations) must grant exactly this, and the tests of `registry/chart.rs` fail
//! when the two drift apart, either way (a verb the chart grants that nothing declares, or a
//! declared verb the chart lacks). Here: the rule type and what is not a controller's; each
//! controller's own rules stand beside its code (its `RBAC`).
//!
//! Nothing at run time reads it. Every entry comes from the calls the code makes, found by
//! reading the act side for `Api::<K>` calls (`create`, `get`, `patch`, `patch_status`,
//! `replace`, `delete`; `runtime/claim.rs` and `runtime/status.rs` make some for them), the
//! informers each controller registers a handler on (list and watch, `runtime/mod.rs`
//! `Shared::start`), the Events sink (`runtime/events.rs`) and the Lease calls (kube-lease-manager
//! and `main.rs`); each rule's `from` names them. The one kind of entry that is not a call is
//! `<owner>/finalizers` `update`: an object created or adopted with a `blockOwnerDeletion`
//! owner reference needs it on the owner under the `OwnerReferencesPermissionEnforcement`
//! admission plugin. A controller that makes a new call adds it to its `RBAC`; `make generate`
//! writes the chart's copy.
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
/// its own beside its code (its `RBAC`, in its registry entry); `crate::registry::parts` is
/// both.
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
