//! A Pod's cells: upstream's `printPod`, and the icon of its STATUS.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::Tone;

/// Upstream's `printPod` (kubectl's pkg/printers/internalversion/printers.go): the STATUS
/// cell, ready and total containers, and the RESTARTS count.
pub fn pod_cells(pod: &Pod) -> (String, usize, usize, i64) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_default();
    let mut reason = match status.reason.as_deref() {
        Some(r) if !r.is_empty() => r.to_string(),
        _ => phase.clone(),
    };
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".into();
    }
    let init_specs = spec.init_containers.clone().unwrap_or_default();
    let total = spec.containers.len()
        + init_specs
            .iter()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .count();
    let init = init_cells(
        &init_specs,
        status
            .init_container_statuses
            .as_deref()
            .unwrap_or_default(),
    );
    let (mut ready, mut restarts) = (init.ready, init.restarts);
    let initializing = init.reason.is_some();
    if let Some(r) = init.reason {
        reason = r;
    }
    let condition = |type_: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == "True")
    };
    if !initializing || condition("Initialized") {
        let (more_ready, container_restarts) = container_cells(
            status.container_statuses.as_deref().unwrap_or_default(),
            condition("Ready"),
            &mut reason,
        );
        ready += more_ready;
        restarts = init.restartable_restarts + container_restarts;
    }
    let terminal = phase == "Succeeded" || phase == "Failed";
    if pod.metadata.deletion_timestamp.is_some() && status.reason.as_deref() == Some("NodeLost") {
        reason = "Unknown".into();
    } else if pod.metadata.deletion_timestamp.is_some() && !terminal {
        reason = "Terminating".into();
    }
    (reason, ready, total, restarts)
}

/// What `printPod` takes from the init containers.
#[derive(Debug, Default)]
struct InitCells {
    /// Started sidecars (restartable init containers) that are ready.
    ready: usize,
    /// The restarts of every init container.
    restarts: i64,
    /// The restarts of the sidecars alone.
    restartable_restarts: i64,
    /// The STATUS of a Pod still initializing (`Init:…`), else `None`.
    reason: Option<String>,
}

/// `printPod`'s loop over the init containers' statuses, up to the first one not done.
fn init_cells(specs: &[Container], statuses: &[ContainerStatus]) -> InitCells {
    let restartable = |name: &str| {
        specs
            .iter()
            .any(|c| c.name == name && c.restart_policy.as_deref() == Some("Always"))
    };
    let mut out = InitCells::default();
    for (i, c) in statuses.iter().enumerate() {
        out.restarts += i64::from(c.restart_count);
        let sidecar = restartable(&c.name);
        if sidecar {
            out.restartable_restarts += i64::from(c.restart_count);
        }
        let state = c.state.clone().unwrap_or_default();
        if state.terminated.as_ref().is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar && c.started == Some(true) {
            if c.ready {
                out.ready += 1;
            }
            continue;
        }
        out.reason = Some(if let Some(t) = &state.terminated {
            match t.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match t.signal {
                    Some(s) if s != 0 => format!("Init:Signal:{s}"),
                    _ => format!("Init:ExitCode:{}", t.exit_code),
                },
            }
        } else if let Some(r) = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{}", specs.len())
        });
        break;
    }
    out
}

/// `printPod`'s loop over the regular containers' statuses, last first: each waiting or
/// terminated one's reason replaces `reason`; the ready running ones and the restarts
/// counted. `pod_ready`: the Pod's Ready condition, which tells a `Completed` Pod that still
/// runs a container `Running` from `NotReady`.
fn container_cells(
    statuses: &[ContainerStatus],
    pod_ready: bool,
    reason: &mut String,
) -> (usize, i64) {
    let (mut ready, mut restarts) = (0, 0);
    let mut has_running = false;
    for c in statuses.iter().rev() {
        restarts += i64::from(c.restart_count);
        let state = c.state.clone().unwrap_or_default();
        let waiting = state
            .waiting
            .as_ref()
            .and_then(|w| w.reason.clone())
            .filter(|r| !r.is_empty());
        if let Some(r) = waiting {
            *reason = r;
        } else if let Some(t) = &state.terminated {
            *reason = match t.reason.as_deref() {
                Some(r) if !r.is_empty() => r.to_string(),
                _ => match t.signal {
                    Some(s) if s != 0 => format!("Signal:{s}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                },
            };
        } else if c.ready && state.running.is_some() {
            has_running = true;
            ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        *reason = if pod_ready { "Running" } else { "NotReady" }.into();
    }
    (ready, restarts)
}

/// The icon and colour of a Pod's STATUS cell (Argo Rollouts' `podIcon`).
pub(super) fn pod_tone(status: &str) -> Tone {
    if status.starts_with("Init:") {
        return Tone::Waiting;
    }
    if status.starts_with("Signal:") || status.starts_with("ExitCode:") {
        return Tone::Bad;
    }
    match status {
        "Running" | "Completed" => Tone::Ok,
        "Pending" | "Terminating" | "ContainerCreating" | "PodInitializing" | "NotReady"
        | "SchedulingGated" => Tone::Waiting,
        "Unknown" => Tone::Unknown,
        s if s.ends_with("Error") || s.starts_with("Err") || s.ends_with("BackOff") => Tone::Bad,
        "Failed" | "InvalidImageName" | "OOMKilled" | "Evicted" => Tone::Bad,
        _ => Tone::Neutral,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{pod, waiting};
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_status_cells_are_kubectls() {
        let sidecar = json!([{"name": "proxy", "image": "p", "restartPolicy": "Always"}]);
        let init = json!([{"name": "setup", "image": "s"}]);
        // (pod, STATUS, ready, total, restarts)
        let cases = [
            (pod("p", "a", 1).running().build(), "Running", 1, 1, 0),
            (pod("p", "a", 1).build(), "Pending", 0, 1, 0),
            (
                pod("p", "a", 1).container_statuses(waiting("ContainerCreating", 0)).build(),
                "ContainerCreating",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .phase("Running")
                    .container_statuses(waiting("CrashLoopBackOff", 4))
                    .build(),
                "CrashLoopBackOff",
                0,
                1,
                4,
            ),
            (pod("p", "a", 1).running().deleting().build(), "Terminating", 1, 1, 0),
            (
                pod("p", "a", 1).phase("Succeeded").deleting().container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])).build(),
                "Completed",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1).running().deleting().at("/status/reason", json!("NodeLost")).build(),
                "Unknown",
                1,
                1,
                0,
            ),
            (
                pod("p", "a", 1).phase("Running").container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 1,
                     "state": {"terminated": {"exitCode": 1}}}])).build(),
                "ExitCode:1",
                0,
                1,
                1,
            ),
            (
                pod("p", "a", 1).phase("Running").container_statuses(json!([
                    {"name": "app", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"terminated": {"exitCode": 137, "signal": 9}}}])).build(),
                "Signal:9",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .at("/spec/initContainers", init.clone())
                    .at("/status/initContainerStatuses", json!([
                        {"name": "setup", "image": "s", "imageID": "", "ready": false, "restartCount": 0,
                         "state": {"running": {}}}]))
                    .build(),
                "Init:0/1",
                0,
                1,
                0,
            ),
            (
                pod("p", "a", 1)
                    .at("/spec/initContainers", init)
                    .at("/status/initContainerStatuses", json!([
                        {"name": "setup", "image": "s", "imageID": "", "ready": false, "restartCount": 3,
                         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]))
                    .build(),
                "Init:CrashLoopBackOff",
                0,
                1,
                3,
            ),
            (
                // A running sidecar counts among the containers, and its restarts.
                pod("p", "a", 1)
                    .running()
                    .at("/spec/initContainers", sidecar)
                    .at("/status/initContainerStatuses", json!([
                        {"name": "proxy", "image": "p", "imageID": "", "ready": true, "restartCount": 2,
                         "started": true, "state": {"running": {}}}]))
                    .build(),
                "Running",
                2,
                2,
                2,
            ),
            (
                pod("p", "a", 1)
                    .at("/status/conditions", json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]))
                    .build(),
                "SchedulingGated",
                0,
                1,
                0,
            ),
        ];
        for (i, (p, status, ready, total, restarts)) in cases.into_iter().enumerate() {
            assert_eq!(
                pod_cells(&p),
                (status.to_string(), ready, total, restarts),
                "case {i}"
            );
        }
    }

    #[test]
    fn pod_icons_tell_running_waiting_and_failing_apart() {
        for (status, icon) in [
            ("Running", '✔'),
            ("Completed", '✔'),
            ("Pending", '◌'),
            ("ContainerCreating", '◌'),
            ("Terminating", '◌'),
            ("Init:0/1", '◌'),
            ("CrashLoopBackOff", '✖'),
            ("ImagePullBackOff", '✖'),
            ("ErrImagePull", '✖'),
            ("ExitCode:1", '✖'),
            ("Unknown", '?'),
        ] {
            assert_eq!(pod_tone(status).icon(), icon, "{status}");
        }
    }
}
