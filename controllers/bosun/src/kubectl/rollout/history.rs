//! `rollout history`: upstream's `DeploymentHistoryViewer` (kubectl's
//! polymorphichelpers/history.go).

use bosun_api::apps::{Deployment, ReplicaSet};
use bosun_core::deployment::util::revision;
use kube::ResourceExt;
use kube::api::Api;

use super::super::{DEPLOY_KIND as KIND, Failure, Session, server_error};
use super::{CHANGE_CAUSE, owned_replicasets};

/// Upstream's `DeploymentHistoryViewer` table: REVISION and CHANGE-CAUSE (the ReplicaSet's
/// `kubernetes.io/change-cause`, `<none>` without one), revisions ascending.
pub fn history_table(rss: &[(i64, ReplicaSet)]) -> String {
    let mut text = "REVISION\tCHANGE-CAUSE\n".to_string();
    for (r, rs) in rss {
        let cause = rs
            .annotations()
            .get(CHANGE_CAUSE)
            .filter(|c| !c.is_empty())
            .cloned()
            .unwrap_or_else(|| "<none>".into());
        text.push_str(&format!("{r}\t{cause}\n"));
    }
    super::super::tabwriter::align(&text)
}

/// Print the revisions of Deployment `name`, or with `want` > 0 the template of that one.
pub(super) async fn run(
    session: &Session,
    api: &Api<Deployment>,
    name: &str,
    want: i64,
) -> Result<(), Failure> {
    let d = api.get(name).await.map_err(server_error)?;
    let mut rss: Vec<(i64, ReplicaSet)> = owned_replicasets(&session.client, &session.ns, &d)
        .await?
        .into_iter()
        .filter_map(|rs| revision(&rs).map(|r| (r, rs)))
        .collect();
    rss.sort_by_key(|(r, _)| *r);
    if rss.is_empty() {
        println!("{KIND}/{name} \nNo rollout history found.");
        return Ok(());
    }
    if want > 0 {
        let Some((_, rs)) = rss.iter().find(|(r, _)| *r == want) else {
            return Err(Failure(
                "error: unable to find the specified revision".into(),
            ));
        };
        println!("{KIND}/{name} with revision #{want}");
        println!("{}", revision_template(rs));
        return Ok(());
    }
    println!("{KIND}/{name} ");
    print!("{}", history_table(&rss));
    println!();
    Ok(())
}

/// The template of a revision as `--revision` prints it: upstream prints it with describe's
/// writer, unaligned, and the ReplicaSet's change cause among the template's annotations.
fn revision_template(rs: &ReplicaSet) -> String {
    let mut template = rs.spec.template.clone();
    if let Some(cause) = rs.annotations().get(CHANGE_CAUSE) {
        template
            .metadata
            .get_or_insert_with(Default::default)
            .annotations
            .get_or_insert_with(Default::default)
            .insert(CHANGE_CAUSE.into(), cause.clone());
    }
    super::super::describe::pod_template_raw(&template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rs(cause: Option<&str>) -> ReplicaSet {
        let mut annotations = serde_json::Map::new();
        if let Some(c) = cause {
            annotations.insert(CHANGE_CAUSE.into(), json!(c));
        }
        serde_json::from_value(json!({
            "metadata": {"name": "x", "annotations": annotations},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {}}
        }))
        .unwrap()
    }

    #[test]
    fn history_shows_change_cause_or_none_by_revision() {
        let rss = [
            (1, rs(None)),
            (2, rs(Some("kubectl set image deploy/web nginx=nginx:1.28"))),
            (10, rs(Some(""))),
        ];
        assert_eq!(
            history_table(&rss),
            "REVISION  CHANGE-CAUSE\n1         <none>\n2         kubectl set image deploy/web nginx=nginx:1.28\n10        <none>\n"
        );
    }
}
