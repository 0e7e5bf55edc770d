//! `rollout restart`: a template annotation with the time (kubectl's
//! polymorphichelpers/objectrestarter.go), so every Pod is replaced by a rollout.

use bosun_api::apps::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::super::{DEPLOY_KIND as KIND, DEPLOY_RESOURCE as RESOURCE, Failure, server_error};

/// The template annotation `rollout restart` sets: kubectl's (objectrestarter.go), so a
/// Deployment restarted by either tool shows the same key.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Restart Deployment `name`; an error while it is paused.
pub(super) async fn run(api: &Api<Deployment>, name: &str) -> Result<(), Failure> {
    let d = api.get(name).await.map_err(server_error)?;
    if d.spec.paused.unwrap_or(false) {
        return Err(Failure(format!(
            "error: {RESOURCE} {name:?} can't restart paused deployment (run rollout resume first)"
        )));
    }
    let now = restarted_at(k8s_openapi::jiff::Timestamp::now());
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(server_error)?;
    println!("{KIND}/{name} restarted");
    Ok(())
}

/// The value of [`RESTARTED_AT`]: `now` as kubectl writes it, Go's `time.RFC3339` (whole
/// seconds; kubectl writes the machine's offset, this the UTC `Z`, which RFC 3339 equates).
fn restarted_at(now: k8s_openapi::jiff::Timestamp) -> String {
    k8s_openapi::jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarted_at_is_rfc3339_in_whole_seconds_as_kubectl_writes_it() {
        use k8s_openapi::jiff::Timestamp;
        // (unix seconds, nanoseconds) -> the annotation's value
        let cases = [
            (0, 0, "1970-01-01T00:00:00Z"),
            (1_764_692_431, 0, "2025-12-02T16:20:31Z"),
            (1_764_692_431, 999_999_999, "2025-12-02T16:20:31Z"),
        ];
        for (secs, nanos, want) in cases {
            let now = Timestamp::new(secs, nanos).unwrap();
            assert_eq!(restarted_at(now), want, "{secs}.{nanos}");
        }
        assert_eq!(RESTARTED_AT, "kubectl.kubernetes.io/restartedAt");
    }
}
