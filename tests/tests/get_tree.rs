//! `kubectl bosun get deploy NAME [-w] [-o json]` against the real cluster: the tree of a
//! rolled-out Deployment, its JSON document, a watch that follows a rolling update to its end
//! and stops when the Deployment is deleted, `--timeout`, and kubectl's NotFound error.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bosun_api::apps::Deployment;
use bosun_e2e::{TestNamespace, client, ensure_controller, ensure_crds, kubectl_bosun};
use kube::api::{Api, DeleteParams};
use serde_json::Value;

/// The words of each line of `tree` that contains `needle`.
fn rows<'a>(tree: &'a str, needle: &str) -> Vec<Vec<&'a str>> {
    tree.lines()
        .filter(|l| l.contains(needle))
        .map(|l| l.split_whitespace().collect())
        .collect()
}

/// The table part of a tree split by revision: (revision line, the lines under it).
fn revisions(tree: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in tree.lines() {
        if line.contains("# revision:") {
            out.push((
                line.trim_start_matches(['├', '└', '─', ' ']).into(),
                Vec::new(),
            ));
        } else if let Some((_, under)) = out.last_mut() {
            under.push(line.to_string());
        }
    }
    out
}

/// The tree the test waits for at the end of the update: revision 2 stable with three ready
/// Pods Running, revision 1 scaled down to 0 with no Pod left.
fn rolled_out_to_2(tree: &str) -> bool {
    let revs = revisions(tree);
    let [(r2, new), (r1, old)] = revs.as_slice() else {
        return false;
    };
    let rs_row = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .find(|l| l.contains("ReplicaSet"))
            .map(|l| l.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let pods = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains(" Pod "))
            .cloned()
            .collect()
    };
    r2 == "# revision:2"
        && rs_row(new).last().map(String::as_str) == Some("stable,ready:3/3")
        && rs_row(new).contains(&"Healthy".to_string())
        && pods(new).len() == 3
        && pods(new)
            .iter()
            .all(|p| p.contains("✔ Running") && p.ends_with("ready:1/1,restarts:0"))
        && r1 == "# revision:1"
        && rs_row(old).last().map(String::as_str) == Some("old,ready:0/0")
        && rs_row(old).contains(&"ScaledDown".to_string())
        && pods(old).is_empty()
}

/// A `kubectl bosun get -w` child, killed when dropped; its stdout's lines arrive on a channel.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(args: &[&str]) -> anyhow::Result<Self> {
        let bin = bosun_e2e::bosun_bin().with_file_name("kubectl-bosun");
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Ok(Self { child, lines })
    }

    /// The next whole tree: its lines up to the blank line that ends it (a tree has one blank
    /// line inside, between the summary and the table), or the first line that is not part of
    /// a tree. Fails after `deadline`.
    fn next_tree(&self, deadline: Instant) -> anyhow::Result<String> {
        let mut tree = String::new();
        let mut blanks = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|e| anyhow::anyhow!("no whole tree in time ({e}); so far:\n{tree}"))?;
            if tree.is_empty() && !line.starts_with("Name:") {
                return Ok(line);
            }
            tree.push_str(&line);
            tree.push('\n');
            if line.is_empty() {
                blanks += 1;
                if blanks == 2 {
                    return Ok(tree);
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn get_shows_the_tree_and_watch_follows_a_rolling_update() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("get-tree")?;
    let ns = TestNamespace::new(&client, "get-tree").await?;
    let n = ns.name.as_str();
    let ok = |args: &[&str]| -> anyhow::Result<String> {
        let out = kubectl_bosun(args)?;
        anyhow::ensure!(out.code == 0, "{args:?}: {}", out.stderr);
        Ok(out.stdout)
    };
    ok(&[
        "create",
        "deployment",
        "web",
        "--image=registry.example/app:1",
        "--replicas=3",
        "-n",
        n,
    ])?;
    ok(&["rollout", "status", "deploy/web", "-n", n, "--timeout=90s"])?;

    let tree = ok(&["get", "deploy", "web", "-n", n])?;
    println!("{tree}");
    assert!(!tree.contains('\x1b'), "colour on a pipe:\n{tree}");
    let d = rows(&tree, "⟳ ");
    assert_eq!(d.len(), 1, "{tree}");
    assert_eq!(
        d[0][..5],
        ["⟳", "web", "Deployment", "✔", "Healthy"],
        "{tree}"
    );
    assert_eq!(
        d[0].len(),
        6,
        "the age and nothing else after the status: {tree}"
    );
    assert!(tree.contains("Status:       ✔ Healthy\n"), "{tree}");
    let revs = revisions(&tree);
    assert_eq!(revs.len(), 1, "{tree}");
    assert_eq!(revs[0].0, "# revision:1");
    let rs = rows(&tree, "⧉ ");
    assert_eq!(rs.len(), 1, "{tree}");
    assert_eq!(rs[0][2..5], ["ReplicaSet", "✔", "Healthy"], "{tree}");
    assert_eq!(rs[0].last(), Some(&"stable,ready:3/3"), "{tree}");
    let pods = rows(&tree, "□ ");
    assert_eq!(pods.len(), 3, "{tree}");
    for p in &pods {
        assert_eq!(p[2..5], ["Pod", "✔", "Running"], "{tree}");
        assert_eq!(p.last(), Some(&"ready:1/1,restarts:0"), "{tree}");
    }
    // The other words for the Deployment print the same tree, ages aside.
    let age = regex::Regex::new(r"^\d+[smhdy](\d+[smhdy])?$")?;
    let mask = |t: &str| {
        t.lines()
            .map(|l| {
                l.split_whitespace()
                    .filter(|w| !age.is_match(w))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
    };
    for args in [
        &["deploy/web"][..],
        &["deployments", "web"],
        &["bdeploy/web"],
    ] {
        let other = ok(&[&["get"], args, &["-n", n]].concat())?;
        assert_eq!(mask(&other), mask(&tree), "{args:?}");
    }

    let doc: Value = serde_json::from_str(&ok(&["get", "deploy", "web", "-n", n, "-o", "json"])?)?;
    assert_eq!(
        (&doc["name"], &doc["namespace"], &doc["status"]),
        (
            &Value::from("web"),
            &Value::from(n),
            &Value::from("Healthy")
        )
    );
    assert_eq!(doc["strategy"]["type"], "RollingUpdate");
    assert_eq!(doc["replicas"]["available"], 3);
    let rss = doc["replicaSets"].as_array().cloned().unwrap_or_default();
    assert_eq!(rss.len(), 1, "{doc:#}");
    assert_eq!(
        (
            &rss[0]["revision"],
            &rss[0]["role"],
            &rss[0]["desired"],
            &rss[0]["ready"]
        ),
        (
            &Value::from(1),
            &Value::from("stable"),
            &Value::from(3),
            &Value::from(3)
        )
    );
    let pods = rss[0]["pods"].as_array().cloned().unwrap_or_default();
    assert_eq!(pods.len(), 3, "{doc:#}");
    for p in &pods {
        assert_eq!(
            (&p["status"], &p["ready"], &p["restarts"]),
            (
                &Value::from("Running"),
                &Value::from("1/1"),
                &Value::from(0)
            ),
            "{p}"
        );
        assert!(p["creationTimestamp"].is_string(), "{p}");
    }

    // --timeout ends a watch with nothing to report: one tree, exit 0.
    let started = Instant::now();
    let out = kubectl_bosun(&["get", "deploy", "web", "-n", n, "-w", "--timeout=2s"])?;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(out.stdout.matches("Name:").count(), 1, "{}", out.stdout);
    assert!(out.stdout.ends_with("restarts:0\n\n"), "{}", out.stdout);

    // The watch, on a pipe: the first tree, then every change of the rolling update.
    let mut watch = Watch::start(&["get", "deploy", "web", "-n", n, "-w", "--timeout=180s"])?;
    let first = watch.next_tree(Instant::now() + Duration::from_secs(30))?;
    assert_eq!(revisions(&first).len(), 1, "{first}");
    ok(&[
        "set",
        "image",
        "deploy/web",
        "*=registry.example/app:2",
        "-n",
        n,
    ])?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut trees = vec![first];
    while !trees.last().is_some_and(|t| rolled_out_to_2(t)) {
        trees.push(watch.next_tree(deadline)?);
    }
    let last = trees.last().cloned().unwrap_or_default();
    println!("{} trees; the last:\n{last}", trees.len());
    // The watch saw the rollout under way: revision 2 new while revision 1 was stable.
    assert!(
        trees.iter().any(|t| {
            rows(t, "⧉ ")
                .iter()
                .any(|r| r.last().is_some_and(|i| i.starts_with("new,")))
        }),
        "no tree with a new ReplicaSet among {} trees",
        trees.len()
    );

    // Deleting the Deployment ends the watch with a line and exit 0.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), n);
    deployments.delete("web", &DeleteParams::default()).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let end = loop {
        let line = watch.next_tree(deadline)?;
        if !line.starts_with("Name:") {
            break line;
        }
    };
    assert_eq!(end, "deployment.apps.bosun.dev/web deleted");
    // Its stdout closes as it exits; then its exit status is there to collect.
    let left = deadline.saturating_duration_since(Instant::now());
    assert_eq!(
        watch.lines.recv_timeout(left),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
    let status = watch.child.wait()?;
    assert!(status.success(), "{status}");

    let out = kubectl_bosun(&["get", "deploy", "x", "-n", n])?;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): deployments.apps.bosun.dev \"x\" not found\n"
    );
    let out = kubectl_bosun(&["get", "deploy", "x", "-n", n, "-w"])?;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stderr,
        "Error from server (NotFound): deployments.apps.bosun.dev \"x\" not found\n"
    );
    Ok(())
}
