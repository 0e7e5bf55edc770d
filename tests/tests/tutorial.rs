//! Replays `docs/tutorial.md` against the cluster and checks every output against the document,
//! so the tutorial cannot drift from the program.
//!
//! The document's format:
//! - Only ```` ```console ```` blocks are replayed (setup that differs per cluster, like starting
//!   it or `helm install`, is in ```` ```sh ```` blocks and is not).
//! - In a console block, a line starting with `$ ` is a command (a trailing `\` continues it on
//!   the next line); the lines up to the next command are what it prints, stdout and stderr
//!   together.
//! - A command whose expected output holds no `error:` or `Error from server` must exit 0; one
//!   that shows an error must exit non-zero.
//!
//! How it runs: in a fresh namespace of its own. The tutorial tells the reader to make a
//! namespace `tutorial` their kubeconfig context's default; the test does the same with a copy
//! of the kubeconfig whose current context names the test's namespace (`KUBECONFIG` points at
//! the copy), so the commands are run exactly as written, from the repository's top directory,
//! with the `kubectl-bosun` built beside `$BOSUN_BIN` first on `PATH`. Each command gets 180 s.
//!
//! What is masked before comparing (in both the document and the actual output): the test's
//! namespace name reads `tutorial`; ages (`5s`, `2m30s`), IP addresses, node ports, UIDs,
//! timestamps, resourceVersions, kwok's node names, and generated name parts (the
//! `pod-template-hash` and the random suffix of pod names, from upstream's alphabet without
//! vowels) become placeholders; runs of spaces count as one (column widths follow the masked
//! names); `rollout status` progress lines (`Waiting for …`) are dropped, since how many a
//! rollout prints depends on timing.
//!
//! `BOSUN_TUTORIAL_PRINT=1` prints every command's actual output, to update the document.

use std::path::PathBuf;
use std::process::Command;

use bosun_e2e::{
    TestNamespace, bosun_bin, client, ensure_controller, ensure_crds, kubectl, repo_root,
};
use regex::Regex;

/// One replayed step: the command and the output the document promises.
#[derive(Debug)]
struct Step {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The console blocks' commands and outputs, in document order.
fn parse(doc: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut continuing = false;
    for (i, line) in doc.lines().enumerate() {
        if line.starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if continuing {
            if let Some(step) = steps.last_mut() {
                step.command.push('\n');
                step.command.push_str(line);
            }
            continuing = line.ends_with('\\');
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: i + 1,
                command: cmd.to_string(),
                expected: Vec::new(),
            });
            continuing = cmd.ends_with('\\');
        } else if let Some(step) = steps.last_mut() {
            step.expected.push(line.to_string());
        }
    }
    steps
}

/// The masks, in order (UIDs before generated names, node ports before ages).
struct Masks {
    rules: Vec<(Regex, &'static str)>,
}

impl Masks {
    fn new() -> anyhow::Result<Self> {
        let rules = [
            (
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "<uid>",
            ),
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>"),
            (
                r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}",
                "<time>",
            ),
            (r#"resourceVersion: "\d+""#, r#"resourceVersion: "<rv>""#),
            (
                r"pod-template-hash[=:] ?[a-z0-9]+",
                "pod-template-hash=<hash>",
            ),
            (r"-[bcdfghjklmnpqrstvwxz2456789]{5,10}\b", "-<id>"),
            (r"\b\d{1,3}(\.\d{1,3}){3}\b", "<ip>"),
            (r":\d{5}/", ":<nodeport>/"),
            (r"\bkwok-node-\d+\b", "<node>"),
            (r"\b(\d+[smhdy])+\b", "<age>"),
            (r"<invalid>", "<age>"),
        ];
        Ok(Self {
            rules: rules
                .into_iter()
                .map(|(re, to)| Ok((Regex::new(re)?, to)))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The comparable form of some output lines.
    fn apply(&self, lines: &[String], namespace: &str) -> Vec<String> {
        lines
            .iter()
            .filter(|l| !l.starts_with("Waiting for "))
            .map(|l| {
                let mut l = l.replace(namespace, "tutorial");
                for (re, to) in &self.rules {
                    l = re.replace_all(&l, *to).into_owned();
                }
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .filter(|l| !l.is_empty())
            .collect()
    }
}

/// A kubeconfig whose current context's namespace is `ns`.
fn kubeconfig_for(ns: &str) -> anyhow::Result<PathBuf> {
    let out = kubectl(&["config", "view", "--raw", "--minify", "--flatten"])?;
    anyhow::ensure!(out.code == 0, "kubectl config view: {}", out.stderr);
    let path = repo_root().join(format!("target/e2e-logs/tutorial-{ns}.kubeconfig"));
    std::fs::create_dir_all(path.parent().unwrap_or(&repo_root()))?;
    std::fs::write(&path, out.stdout)?;
    let path_s = path.to_string_lossy().into_owned();
    let out = kubectl(&[
        "--kubeconfig",
        &path_s,
        "config",
        "set-context",
        "--current",
        &format!("--namespace={ns}"),
    ])?;
    anyhow::ensure!(out.code == 0, "kubectl config set-context: {}", out.stderr);
    Ok(path)
}

#[test]
fn the_document_parses_into_commands_and_outputs() -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(repo_root().join("docs/tutorial.md"))?;
    let steps = parse(&doc);
    assert!(steps.len() >= 20, "only {} steps", steps.len());
    for verb in [
        "kubectl bosun create deployment",
        "kubectl bosun set image",
        "kubectl bosun expose",
        "kubectl bosun describe deploy",
        "kubectl bosun describe rs",
        "kubectl bosun rollout history",
        "kubectl bosun rollout undo",
        "kubectl edit",
        "kubectl replace -f",
        "kubectl scale",
        "kubectl delete",
        "kubectl get all",
    ] {
        assert!(
            steps.iter().any(|s| s.command.contains(verb)),
            "the tutorial never runs `{verb}`"
        );
    }
    let masks = Masks::new()?;
    let masked = masks.apply(
        &["hello-node-6d4f5b8c9-x7k2p 1/1 Running 0 12s 10.244.1.7 kwok-node-2".to_string()],
        "ns",
    );
    assert_eq!(
        masked,
        ["hello-node-<id>-<id> 1/1 Running 0 <age> <ip> <node>"]
    );
    Ok(())
}

#[tokio::test]
async fn the_tutorial_replays_as_written() -> anyhow::Result<()> {
    let client = client().await?;
    ensure_crds(&client).await?;
    ensure_controller("tutorial")?;
    let ns = TestNamespace::new(&client, "tutorial").await?;
    let kubeconfig = kubeconfig_for(&ns.name)?;
    let doc = std::fs::read_to_string(repo_root().join("docs/tutorial.md"))?;
    let steps = parse(&doc);
    let masks = Masks::new()?;
    let plugin_dir = bosun_bin()
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug"));
    let path = format!(
        "{}:{}",
        plugin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let print = std::env::var_os("BOSUN_TUTORIAL_PRINT").is_some();
    for step in &steps {
        let out = Command::new("timeout")
            .args([
                "180",
                "bash",
                "-c",
                &format!("{{\n{}\n}} 2>&1", step.command),
            ])
            .current_dir(repo_root())
            .env("KUBECONFIG", &kubeconfig)
            .env("PATH", &path)
            .output()?;
        let actual = String::from_utf8_lossy(&out.stdout).into_owned();
        if print {
            println!("$ {}\n{actual}", step.command);
        }
        let actual_lines: Vec<String> = actual.lines().map(str::to_string).collect();
        let shows_error = step
            .expected
            .iter()
            .any(|l| l.starts_with("error:") || l.starts_with("Error from server"));
        let code = out.status.code().unwrap_or(-1);
        assert_eq!(
            code != 0,
            shows_error,
            "docs/tutorial.md:{}: `{}` exited {code}:\n{actual}",
            step.line,
            step.command
        );
        let want = masks.apply(&step.expected, &ns.name);
        let got = masks.apply(&actual_lines, &ns.name);
        assert_eq!(
            got, want,
            "docs/tutorial.md:{}: `{}` printed (masked, left) not what the document shows (right); it printed:\n{actual}",
            step.line, step.command
        );
    }
    Ok(())
}
