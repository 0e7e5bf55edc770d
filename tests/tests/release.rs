//! The release workflow (`.github/workflows/release.yml`) and the krew manifest
//! (`plugins/bosun.yaml`) agree with the chart: a `v*` tag publishes the image the chart installs
//! by default, under the one tag the chart derives from its appVersion, and the archives the
//! manifest points krew at. Nothing here needs a cluster: `cargo test -p bosun-e2e --test
//! release` (`make release-lint` runs it, with actionlint and krew's validator).
//!
//! `helm` comes from PATH (`make` puts ~/.cache/bosun/bin first).

use std::collections::{BTreeMap, BTreeSet};

use bosun_e2e::{read_yaml, repo_root, run};
use regex::{Captures, Regex};
use serde_json::Value;

/// The one image tag release.yml may push: the `version` job's output, which
/// hack/release/check-tag.sh computes from the chart's appVersion after checking the tag is
/// `v<appVersion>`. Never a literal: a literal would drift from Chart.yaml.
const APP_VERSION_EXPR: &str = "${{ needs.version.outputs.app_version }}";

/// `helm template` cannot ask a cluster for its version and the chart requires >= 1.30.
const KUBE_VERSION: &str = "v1.35.4";

fn first_doc(relative: &str) -> Value {
    let mut docs = read_yaml(relative).unwrap_or_else(|e| panic!("{relative}: {e:#}"));
    assert_eq!(docs.len(), 1, "{relative} holds one YAML document");
    docs.remove(0)
}

fn str_at<'a>(v: &'a Value, pointer: &str, what: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: no string at {pointer}"))
}

fn chart() -> Value {
    first_doc("charts/bosun/Chart.yaml")
}

fn app_version() -> String {
    str_at(&chart(), "/appVersion", "Chart.yaml").to_string()
}

fn values() -> Value {
    first_doc("charts/bosun/values.yaml")
}

fn image_repository() -> String {
    str_at(&values(), "/image/repository", "values.yaml").to_string()
}

fn workflow() -> Value {
    first_doc(".github/workflows/release.yml")
}

fn job<'a>(wf: &'a Value, name: &str) -> &'a Value {
    wf.pointer(&format!("/jobs/{name}"))
        .unwrap_or_else(|| panic!("release.yml has no job {name}"))
}

fn steps(job: &Value) -> &[Value] {
    job["steps"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn env_map(v: &Value) -> BTreeMap<String, String> {
    v["env"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), s)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every `${{ env.X }}`, `${X}` and `$X` replaced by X's value in `env` (until nothing changes, so
/// an env value naming another resolves too); other references are left as they are.
fn substitute(text: &str, env: &BTreeMap<String, String>) -> anyhow::Result<String> {
    let re = Regex::new(concat!(
        r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}",
        r"|\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
        r"|\$([A-Za-z_][A-Za-z0-9_]*)",
    ))?;
    let mut text = text.to_string();
    for _ in 0..4 {
        let next = re
            .replace_all(&text, |c: &Captures| {
                let name = c
                    .get(1)
                    .or(c.get(2))
                    .or(c.get(3))
                    .map_or("", |m| m.as_str());
                env.get(name).cloned().unwrap_or_else(|| c[0].to_string())
            })
            .into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    Ok(text)
}

fn strings_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings_in(x, out)
        }),
        _ => {}
    }
}

/// Every string of release.yml (keys, values, `run:` scripts), each with the env references it
/// can see (workflow, job, step) substituted, labelled by where it is.
fn resolved_strings(wf: &Value) -> anyhow::Result<Vec<(String, String)>> {
    // (where, the strings there, the env they see)
    let mut places: Vec<(String, Vec<String>, BTreeMap<String, String>)> = Vec::new();
    let outside = |v: &Value, skip: &str| {
        let mut found = Vec::new();
        for (key, x) in v.as_object().into_iter().flatten() {
            if key != skip {
                strings_in(x, &mut found);
            }
        }
        found
    };
    let top = env_map(wf);
    places.push(("(top)".to_string(), outside(wf, "jobs"), top.clone()));
    for (name, job) in wf["jobs"].as_object().into_iter().flatten() {
        let mut job_env = top.clone();
        job_env.extend(env_map(job));
        places.push((name.clone(), outside(job, "steps"), job_env.clone()));
        for (i, step) in steps(job).iter().enumerate() {
            let mut step_env = job_env.clone();
            step_env.extend(env_map(step));
            let mut found = Vec::new();
            strings_in(step, &mut found);
            places.push((format!("{name}.steps[{i}]"), found, step_env));
        }
    }
    let mut out = Vec::new();
    for (at, found, env) in places {
        for s in found {
            out.push((at.clone(), substitute(&s, &env)?));
        }
    }
    Ok(out)
}

/// The step of `job` that uses `action` (owner/name, any version).
fn uses<'a>(job: &'a Value, action: &str) -> Vec<&'a Value> {
    steps(job)
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.split('@').next() == Some(action))
        })
        .collect()
}

fn run_scripts(job: &Value) -> String {
    steps(job)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_chart_defaults_to_its_image_tagged_with_its_app_version() {
    let app = app_version();
    let repo = image_repository();
    assert_eq!(
        repo, "ghcr.io/bosun-dev/bosun",
        "values.yaml image.repository"
    );
    assert_eq!(
        values().pointer("/image/tag").and_then(Value::as_str),
        Some(""),
        "values.yaml image.tag must stay empty, so the chart's image is <repository>:<appVersion>, \
         the one tag release.yml pushes"
    );
    // What helm renders, every container of every workload.
    let chart = repo_root().join("charts/bosun");
    let chart = chart.to_string_lossy();
    let out = run(
        "helm",
        &[
            "template",
            "t",
            &chart,
            "--namespace",
            "bosun-system",
            "--kube-version",
            KUBE_VERSION,
        ],
    )
    .expect("helm runs");
    assert_eq!(out.code, 0, "helm template: {}", out.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&out.stdout).expect("helm's YAML");
    let mut images = BTreeSet::new();
    for d in docs.iter().filter(|d| d["kind"] == "Deployment") {
        for key in ["containers", "initContainers"] {
            let containers = d["spec"]["template"]["spec"][key].as_array();
            for c in containers.into_iter().flatten() {
                images.insert(c["image"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    assert_eq!(
        images,
        BTreeSet::from([format!("{repo}:{app}")]),
        "the images the chart's Deployments run by default"
    );
}

#[test]
fn release_runs_on_v_tags_and_first_checks_the_tag_is_v_app_version() {
    let wf = workflow();
    assert_eq!(
        wf.pointer("/on/push/tags"),
        Some(&serde_json::json!(["v*"])),
        "release.yml runs on pushed v* tags"
    );
    let version = job(&wf, "version");
    assert_eq!(
        version
            .pointer("/outputs/app_version")
            .and_then(Value::as_str),
        Some("${{ steps.check.outputs.app_version }}"),
        "the version job's output comes from its step `check`"
    );
    let check = steps(version)
        .iter()
        .find(|s| s["id"] == "check")
        .expect("the version job has a step with id check");
    let script = check["run"].as_str().unwrap_or_default();
    assert!(
        script.contains(r#"$(hack/release/check-tag.sh "$GITHUB_REF_NAME")"#)
            && script.contains(r#"echo "app_version=$app_version" >> "$GITHUB_OUTPUT""#),
        "the step check outputs what hack/release/check-tag.sh prints for the pushed tag: {script}"
    );
    // Every other job waits for the check, directly or through another job.
    let jobs = wf["jobs"].as_object().expect("jobs");
    let needs = |name: &str| -> Vec<String> {
        match &jobs[name]["needs"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => vec![],
        }
    };
    for name in jobs.keys().filter(|n| *n != "version") {
        let mut seen = BTreeSet::new();
        let mut todo = needs(name);
        while let Some(n) = todo.pop() {
            if seen.insert(n.clone()) {
                todo.extend(needs(&n));
            }
        }
        assert!(
            seen.contains("version"),
            "job {name} does not wait for the version job"
        );
    }
    // The script itself: the version it prints is appVersion, and only v<appVersion> passes.
    let app = app_version();
    let script = repo_root().join("hack/release/check-tag.sh");
    let script = script.to_string_lossy();
    let ok = run(&script, &[&format!("v{app}")]).expect("check-tag.sh runs");
    assert_eq!(
        (ok.code, ok.stdout.trim()),
        (0, app.as_str()),
        "{}",
        ok.stderr
    );
    for wrong in [
        app.clone(),
        format!("v{app}.1"),
        format!("v{app}-rc.1"),
        "v0.0.0".to_string(),
    ] {
        let out = run(&script, &[&wrong]).expect("check-tag.sh runs");
        assert_ne!(out.code, 0, "check-tag.sh accepted the tag {wrong}");
        assert!(
            out.stderr.contains(&format!("'v{app}'")),
            "check-tag.sh {wrong}: the message names v{app}: {}",
            out.stderr
        );
    }
}

#[test]
fn release_pushes_the_image_only_as_the_charts_repository_and_app_version() -> anyhow::Result<()> {
    let wf = workflow();
    let repo = image_repository();
    let image = job(&wf, "image");
    let builds = uses(image, "docker/build-push-action");
    assert_eq!(builds.len(), 1, "one docker/build-push-action step");
    let build = builds[0];
    let mut env = env_map(&wf);
    env.extend(env_map(image));
    env.extend(env_map(build));
    let with = &build["with"];
    assert_eq!(with["push"], Value::Bool(true), "the build pushes");
    assert_eq!(with["sbom"], Value::Bool(true), "the build attests an SBOM");
    let platforms: BTreeSet<&str> = with["platforms"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(platforms, BTreeSet::from(["linux/amd64", "linux/arm64"]));
    assert_eq!(with["context"], ".", "the repository's Dockerfile");
    let tags: Vec<String> = substitute(with["tags"].as_str().unwrap_or_default(), &env)?
        .split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(
        tags,
        [format!("{repo}:{APP_VERSION_EXPR}")],
        "the image's only tag is the chart's image.repository and the version job's appVersion"
    );
    // Nowhere else in the workflow is the image named with another tag (a `docker tag`, an
    // `imagetools create -t`, a hard-coded version): after substituting env, every
    // `<repository>:` is followed by the appVersion expression.
    let prefix = format!("{repo}:");
    let resolved = resolved_strings(&wf)?;
    for (at, s) in &resolved {
        for (i, _) in s.match_indices(&prefix) {
            let rest = &s[i + prefix.len()..];
            assert!(
                rest.starts_with(APP_VERSION_EXPR),
                "{at}: release.yml names the image with a tag other than {APP_VERSION_EXPR}: \
                 {prefix}{}",
                rest.chars().take(60).collect::<String>()
            );
        }
    }
    // The pushed index is signed by digest, in the image job.
    assert_eq!(build["id"], "build");
    let sign = format!("cosign sign --yes \"{repo}@${{{{ steps.build.outputs.digest }}}}\"");
    assert!(
        resolved
            .iter()
            .any(|(at, s)| at.starts_with("image.steps[") && s.contains(&sign)),
        "the image job runs {sign}"
    );
    Ok(())
}

#[test]
fn krew_manifest_is_v_app_version_and_names_the_archives_release_builds() {
    let app = app_version();
    let tag = format!("v{app}");
    let m = first_doc("plugins/bosun.yaml");
    assert_eq!(
        m["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2",
        "apiVersion"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(
        m["metadata"]["name"], "bosun",
        "kubectl bosun is krew's bosun"
    );
    assert_eq!(
        m["spec"]["version"], tag,
        "the manifest's spec.version is v<appVersion>"
    );
    assert_eq!(
        m["spec"]["homepage"],
        chart()["home"],
        "the homepage is the chart's"
    );
    let home = str_at(&chart(), "/home", "Chart.yaml").to_string();

    let wf = workflow();
    let built: BTreeSet<(String, String)> = job(&wf, "binaries")
        .pointer("/strategy/matrix/include")
        .and_then(Value::as_array)
        .expect("the binaries job's matrix lists its builds in include")
        .iter()
        .map(|b| {
            (
                b["os"].as_str().unwrap_or_default().to_string(),
                b["arch"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let platforms = m["spec"]["platforms"].as_array().expect("spec.platforms");
    let mut listed = BTreeSet::new();
    for p in platforms {
        let os = p["selector"]["matchLabels"]["os"]
            .as_str()
            .unwrap_or_default();
        let arch = p["selector"]["matchLabels"]["arch"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(
            p["uri"].as_str().unwrap_or_default(),
            format!("{home}/releases/download/{tag}/kubectl-bosun_{tag}_{os}_{arch}.tar.gz"),
            "the {os}/{arch} uri is the archive release.yml uploads for {tag}"
        );
        assert_eq!(p["bin"], "kubectl-bosun");
        let froms: BTreeSet<&str> = p["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["from"].as_str())
            .collect();
        assert_eq!(froms, BTreeSet::from(["LICENSE", "kubectl-bosun"]));
        listed.insert((os.to_string(), arch.to_string()));
    }
    assert_eq!(
        listed, built,
        "the manifest's platforms are the binaries release.yml builds"
    );
    let want: BTreeSet<(String, String)> = ["linux", "darwin"]
        .iter()
        .flat_map(|os| {
            ["amd64", "arm64"]
                .iter()
                .map(move |arch| (os.to_string(), arch.to_string()))
        })
        .collect();
    assert_eq!(built, want, "linux and darwin, amd64 and arm64");

    // The release renders it from the archives' checksums, has krew install it from them, and
    // uploads it beside them.
    let release = run_scripts(job(&wf, "release"));
    for needed in [
        "hack/release/check-krew.sh target/dist",
        "target/dist/kubectl-bosun_*.tar.gz target/dist/checksums.txt target/dist/bosun.yaml",
    ] {
        assert!(
            release.contains(needed),
            "the release job runs {needed:?}: {release}"
        );
    }
}
