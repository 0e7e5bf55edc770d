//! The tree of a rollout in each of its states, built and drawn.

use serde_json::json;

use super::fixtures::{deploy, now, pod, roles_of, row, rs, waiting};
use super::*;

#[test]
fn a_rolling_update_shows_the_new_revision_above_the_stable_one() {
    let d = deploy(3, "app:2")
        .status(4, 1, 3, 3)
        .condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        .condition(
            "Progressing",
            "True",
            "ReplicaSetUpdated",
            "ReplicaSet \"web-b\" is progressing.",
        )
        .build();
    let rss = [
        rs("a", 1, "app:1").replicas(2, 3, 3).build(),
        rs("b", 2, "app:2").replicas(2, 1, 1).build(),
    ];
    let pods = [
        pod("web-a-1", "a", 540).running().build(),
        pod("web-a-2", "a", 540).running().build(),
        pod("web-a-3", "a", 540).running().deleting().build(),
        pod("web-b-1", "b", 150).running().build(),
        pod("web-b-2", "b", 5)
            .container_statuses(waiting("ContainerCreating", 0))
            .build(),
    ];
    let tree = build(&d, &rss, &pods);
    let expected = "\
Name:         web
Namespace:    default
Status:       ◌ Progressing
Message:      Waiting for rollout to finish: 1 out of 3 new replicas have been updated...
Strategy:     RollingUpdate (max surge 25%, max unavailable 25%)
Images:       app:2 (new)
              app:1 (stable)
Replicas:
  Desired:    3
  Current:    4
  Updated:    1
  Ready:      3
  Available:  3
Conditions:
  TYPE         STATUS  REASON                    MESSAGE
  Available    True    MinimumReplicasAvailable  Deployment has minimum availability.
  Progressing  True    ReplicaSetUpdated         ReplicaSet \"web-b\" is progressing.

NAME                KIND        STATUS               AGE    INFO
⟳ web               Deployment  ◌ Progressing        10m
├──# revision:2
│  └──⧉ web-b       ReplicaSet  ◌ Progressing        8m     new,ready:1/2
│     ├──□ web-b-1  Pod         ✔ Running            2m30s  ready:1/1,restarts:0
│     └──□ web-b-2  Pod         ◌ ContainerCreating  5s     ready:0/1,restarts:0
└──# revision:1
   └──⧉ web-a       ReplicaSet  ◌ Progressing        9m     stable,ready:3/2
      ├──□ web-a-1  Pod         ✔ Running            9m     ready:1/1,restarts:0
      ├──□ web-a-2  Pod         ✔ Running            9m     ready:1/1,restarts:0
      └──□ web-a-3  Pod         ◌ Terminating        9m     ready:1/1,restarts:0
";
    let text = render_text(&tree, now(), false);
    assert_eq!(text, expected, "\n{text}");
}

#[test]
fn a_complete_rollout_marks_the_new_replicaset_stable_and_the_rest_old() {
    let d = deploy(3, "app:3").build();
    let rss = [
        rs("a", 1, "app:1").build(),
        rs("c", 3, "app:3").replicas(3, 3, 3).build(),
        rs("b", 2, "app:2").build(),
    ];
    let tree = build(&d, &rss, &[]);
    assert_eq!(tree.health, Health::Healthy);
    assert_eq!(tree.message, None);
    assert_eq!(
        roles_of(&tree),
        [
            ("web-c".into(), "stable", "Healthy"),
            ("web-b".into(), "old", "ScaledDown"),
            ("web-a".into(), "old", "ScaledDown"),
        ]
    );
    let text = render_text(&tree, now(), false);
    assert_eq!(
        row(&text, "⧉ web-a"),
        [
            "└──⧉",
            "web-a",
            "ReplicaSet",
            "•",
            "ScaledDown",
            "9m",
            "old,ready:0/0"
        ],
        "{text}"
    );
    assert!(
        text.contains("Images:       app:3 (stable)\nReplicas:"),
        "{text}"
    );
}

#[test]
fn before_the_new_replicaset_exists_the_running_one_of_the_highest_revision_is_stable() {
    // The template changed; the controller has not created revision 3 yet.
    let d = deploy(2, "app:3").unobserved().build();
    let rss = [
        rs("a", 1, "app:1").build(),
        rs("b", 2, "app:2").replicas(2, 2, 2).build(),
    ];
    let tree = build(&d, &rss, &[]);
    assert_eq!(tree.health, Health::Progressing);
    assert_eq!(
        roles_of(&tree),
        [
            ("web-b".into(), "stable", "Healthy"),
            ("web-a".into(), "old", "ScaledDown"),
        ]
    );
}

#[test]
fn a_paused_rollout_reads_paused_and_keeps_new_and_stable() {
    let d = deploy(2, "app:2").status(3, 1, 3, 3).paused().build();
    let rss = [
        rs("a", 1, "app:1").replicas(2, 2, 2).build(),
        rs("b", 2, "app:2").replicas(1, 1, 1).build(),
    ];
    let tree = build(&d, &rss, &[]);
    assert_eq!(
        (tree.health, tree.message.as_deref(), tree.paused),
        (Health::Paused, Some("Deployment is paused"), true)
    );
    assert_eq!(
        roles_of(&tree),
        [
            ("web-b".into(), "new", "Healthy"),
            ("web-a".into(), "stable", "Healthy"),
        ]
    );
    let text = render_text(&tree, now(), false);
    assert!(text.contains("Status:       ‖ Paused\n"), "{text}");
    assert_eq!(
        row(&text, "⟳ web"),
        ["⟳", "web", "Deployment", "‖", "Paused", "10m"],
        "{text}"
    );
    assert_eq!(to_json(&tree)["paused"], json!(true));
}

#[test]
fn recreate_prints_the_strategy_without_bounds_and_rolling_update_with_them() {
    let d = deploy(1, "app:1").recreate().build();
    let tree = build(&d, &[], &[]);
    assert_eq!(tree.strategy, Strategy::Recreate);
    let text = render_text(&tree, now(), false);
    assert!(text.contains("Strategy:     Recreate\n"), "{text}");
    assert_eq!(to_json(&tree)["strategy"], json!({"type": "Recreate"}));

    let d = deploy(1, "app:1").surge(json!(1), json!("0%")).build();
    let tree = build(&d, &[], &[]);
    let text = render_text(&tree, now(), false);
    assert!(
        text.contains("Strategy:     RollingUpdate (max surge 1, max unavailable 0%)\n"),
        "{text}"
    );
    assert_eq!(
        to_json(&tree)["strategy"],
        json!({"type": "RollingUpdate", "maxSurge": 1, "maxUnavailable": "0%"})
    );
}

#[test]
fn a_passed_progress_deadline_is_degraded_with_upstreams_message() {
    let d = deploy(2, "app:2")
        .status(2, 0, 0, 0)
        .condition(
            "Progressing",
            "False",
            "ProgressDeadlineExceeded",
            "ReplicaSet \"web-b\" has timed out progressing.",
        )
        .build();
    let rss = [rs("b", 1, "app:2").replicas(2, 0, 0).failing().build()];
    let tree = build(&d, &rss, &[]);
    assert_eq!(
        (tree.health, tree.message.as_deref()),
        (
            Health::Degraded,
            Some("Deployment \"web\" exceeded its progress deadline")
        )
    );
    assert_eq!(roles_of(&tree), [("web-b".into(), "new", "Degraded")]);
    let text = render_text(&tree, now(), false);
    assert!(text.contains("Status:       ✖ Degraded\n"), "{text}");
    assert!(
            text.contains("  Progressing  False   ProgressDeadlineExceeded  ReplicaSet \"web-b\" has timed out progressing.\n"),
            "{text}"
        );
}

#[test]
fn deployment_health_takes_argo_cds_rules_in_order() {
    // (deployment, health, message)
    let cases = [
        (
            deploy(3, "i").unobserved().paused().build(),
            Health::Paused,
            "Deployment is paused",
        ),
        (
            deploy(3, "i").unobserved().build(),
            Health::Progressing,
            "Waiting for rollout to finish: observed deployment generation less then desired generation",
        ),
        (
            deploy(3, "i").status(3, 2, 3, 3).build(),
            Health::Progressing,
            "Waiting for rollout to finish: 2 out of 3 new replicas have been updated...",
        ),
        (
            deploy(3, "i").status(4, 3, 4, 4).build(),
            Health::Progressing,
            "Waiting for rollout to finish: 1 old replicas are pending termination...",
        ),
        (
            deploy(3, "i").status(3, 3, 2, 2).build(),
            Health::Progressing,
            "Waiting for rollout to finish: 2 of 3 updated replicas are available...",
        ),
    ];
    for (d, health, message) in cases {
        assert_eq!(deployment_health(&d), (health, Some(message.to_string())));
    }
    assert_eq!(
        deployment_health(&deploy(3, "i").build()),
        (Health::Healthy, None)
    );
}

#[test]
fn replicasets_of_other_owners_and_their_pods_are_left_out() {
    let d = deploy(1, "app:1").build();
    let rss = [
        rs("a", 1, "app:1").replicas(1, 1, 1).build(),
        rs("z", 1, "app:1")
            .replicas(1, 1, 1)
            .owner("someone-else")
            .build(),
    ];
    let pods = [
        pod("web-a-1", "a", 60).running().build(),
        pod("web-z-1", "z", 60).running().build(),
    ];
    let tree = build(&d, &rss, &pods);
    assert_eq!(tree.replica_sets.len(), 1);
    assert_eq!(tree.replica_sets[0].pods.len(), 1);
    assert_eq!(tree.replica_sets[0].pods[0].name, "web-a-1");
}
