//! `rollout promote`: lower a rolling update's partition
//! (`spec.strategy.rollingUpdate.partition`) so the rollout goes on.

use bosun_api::apps::Deployment;
use bosun_core::deployment::util::{max_surge, max_unavailable, partition};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::super::{DEPLOY_KIND as KIND, DEPLOY_RESOURCE as RESOURCE, Failure, server_error};

/// Promote Deployment `name` by one step, or with `full` remove its partition.
pub(super) async fn run(api: &Api<Deployment>, name: &str, full: bool) -> Result<(), Failure> {
    let d = api.get(name).await.map_err(server_error)?;
    let before = partition(&d);
    let after = promoted_partition(&d, full)?;
    let value = if after == 0 {
        json!(null)
    } else {
        json!(after)
    };
    let patch = json!({"spec": {"strategy": {"rollingUpdate": {"partition": value}}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(server_error)?;
    println!("{KIND}/{name} promoted (partition {before} -> {after})");
    Ok(())
}

/// `rollout promote`: the partition after one promotion, from the Deployment as read; an
/// error when there is nothing to promote.
fn promoted_partition(d: &Deployment, full: bool) -> Result<i32, Failure> {
    let name = d.name_any();
    let rolling = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_)
        .is_none_or(|t| t == bosun_api::apps::DeploymentStrategyType::RollingUpdate);
    let current = partition(d);
    if !rolling || current == 0 {
        return Err(Failure(format!(
            "error: {RESOURCE} {name:?} has no partition to promote"
        )));
    }
    if full {
        return Ok(0);
    }
    let step = max_surge(d).max(max_unavailable(d)).max(1);
    Ok((current - step).max(0))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::partitioned;
    use super::*;

    #[test]
    fn promote_lowers_the_partition_by_one_step_or_to_zero_with_full() {
        // Step: the larger of maxSurge (2) and maxUnavailable (1).
        assert_eq!(
            promoted_partition(&partitioned(json!(3), "RollingUpdate"), false).unwrap(),
            1
        );
        assert_eq!(
            promoted_partition(&partitioned(json!(1), "RollingUpdate"), false).unwrap(),
            0
        );
        assert_eq!(
            promoted_partition(&partitioned(json!("30%"), "RollingUpdate"), true).unwrap(),
            0
        );
        assert_eq!(
            promoted_partition(&partitioned(json!("30%"), "RollingUpdate"), false).unwrap(),
            1
        );
        let none = promoted_partition(&partitioned(json!(0), "RollingUpdate"), false);
        assert_eq!(
            none.err().map(|f| f.0),
            Some(
                "error: deployments.apps.bosun.dev \"web\" has no partition to promote".to_string()
            )
        );
    }
}
