//! The command line as clap parses it, and as it completes.

use super::*;
use std::time::Duration;

/// The `--timeout` of `rollout status` as clap parses `args`.
fn rollout_status_timeout(args: &[&str]) -> Result<Duration, clap::Error> {
    let argv = ["kubectl-bosun", "rollout", "status", "deploy/web"];
    let cli = Cli::try_parse_from(argv.iter().chain(args))?;
    match cli.command {
        Command::Rollout {
            action: Rollout::Status { timeout, .. },
        } => Ok(timeout),
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn rollout_status_timeout_takes_go_durations_as_kubectl() {
    assert_eq!(rollout_status_timeout(&[]).ok(), Some(Duration::ZERO));
    for (arg, want) in [
        ("--timeout=1m30s", Duration::from_secs(90)),
        ("--timeout=0", Duration::ZERO),
        ("--timeout=1.5h", Duration::from_secs(5400)),
        ("--timeout=500ms", Duration::from_millis(500)),
    ] {
        assert_eq!(rollout_status_timeout(&[arg]).ok(), Some(want), "{arg}");
    }
}

#[test]
fn rollout_status_timeout_refuses_what_kubectl_refuses_naming_the_flag() {
    // kubectl: `invalid argument "5" for "--timeout" flag: time: missing unit in duration "5"`.
    for (arg, reason) in [
        ("--timeout=5", r#"time: missing unit in duration "5""#),
        ("--timeout=5x", r#"time: unknown unit "x" in duration "5x""#),
        ("--timeout=-1s", r#"negative duration "-1s""#),
    ] {
        let err = match rollout_status_timeout(&[arg]) {
            Ok(d) => panic!("{arg} accepted as {d:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("--timeout") && err.contains(reason),
            "{arg}: {err}"
        );
    }
}

/// What `get` parses `args` into: (name, watch, output, timeout).
fn get(args: &[&str]) -> Result<(String, bool, Option<String>, Duration), String> {
    let cli = Cli::try_parse_from(["kubectl-bosun", "get"].iter().chain(args))
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Get {
            resource,
            watch,
            output,
            timeout,
        } => {
            let name = get_target(&resource).map_err(|Failure(m)| m)?;
            Ok((name, watch, output, timeout))
        }
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn get_takes_a_deployment_as_the_other_verbs_name_it() {
    for args in [
        &["deploy", "web"][..],
        &["deploy/web"],
        &["deployment", "web"],
        &["deployments/web"],
        &["bdeploy", "web"],
        &["deployment.apps.bosun.dev/web"],
    ] {
        assert_eq!(
            get(args),
            Ok(("web".into(), false, None, Duration::ZERO)),
            "{args:?}"
        );
    }
    assert_eq!(
        get(&["deploy/web", "-w", "--timeout=1m30s", "-o", "json"]),
        Ok((
            "web".into(),
            true,
            Some("json".into()),
            Duration::from_secs(90)
        ))
    );
    assert_eq!(get(&["deploy", "web", "--watch"]).map(|g| g.1), Ok(true));
}

#[test]
fn get_refuses_other_kinds_a_missing_name_and_extra_words() {
    let refused = |args: &[&str]| match get(args) {
        Ok(g) => panic!("{args:?} accepted as {g:?}"),
        Err(e) => e,
    };
    assert!(refused(&["rs", "web-1"]).contains("kubectl bosun get shows a deployment's tree"));
    assert!(refused(&["svc/web"]).contains("not \"svc\""));
    assert!(refused(&["deploy"]).contains("you must specify the name"));
    assert!(refused(&["deploy/web", "extra"]).contains("unexpected argument \"extra\""));
    assert!(refused(&["deploy/web", "--timeout=5"]).contains("missing unit"));
    assert_eq!(
            super::super::get::check_output(Some("wide")).map_err(|Failure(m)| m),
            Err("error: unable to match a printer suitable for the output format \"wide\", allowed formats are: json,yaml".into())
        );
}

#[test]
fn get_is_among_the_completed_verbs_with_its_flags() {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(crate::complete::candidates(&cmd, &words(&[""])).contains(&"get".to_string()));
    assert_eq!(crate::complete::candidates(&cmd, &words(&["g"])), ["get"]);
    assert_eq!(
        crate::complete::candidates(&cmd, &words(&["get", "deploy/web", "--w"])),
        ["--watch"]
    );
}

#[test]
fn migrate_parses_its_flags_and_completes() {
    let cli = Cli::try_parse_from([
        "kubectl-bosun",
        "migrate",
        "deploy/web",
        "--to",
        "apps/v1",
        "--dry-run",
        "--timeout=2m",
    ]);
    match cli.map(|c| c.command) {
        Ok(Command::Migrate {
            target,
            to,
            dry_run,
            timeout,
            force,
            ..
        }) => {
            assert_eq!(
                (target.as_str(), to.as_str(), dry_run.as_str(), force),
                ("deploy/web", "apps/v1", "client", false)
            );
            assert_eq!(timeout, Duration::from_secs(120));
        }
        other => panic!("parsed as {other:?}"),
    }
    assert!(Cli::try_parse_from(["kubectl-bosun", "migrate", "deploy/web", "--to", "v2"]).is_err());
    let mut cmd = <Cli as clap::CommandFactory>::command();
    cmd.build();
    let help = cmd.render_help().to_string();
    assert!(
        help.lines().any(|l| l.trim_start().starts_with("migrate ")),
        "{help}"
    );
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        crate::complete::candidates(&cmd, &words(&["mig"])),
        ["migrate"]
    );
    let flags = crate::complete::candidates(&cmd, &words(&["migrate", "deploy/web", "--"]));
    for f in ["--to", "--force", "--dry-run", "--timeout", "--output"] {
        assert!(flags.iter().any(|c| c == f), "{f} in {flags:?}");
    }
    assert_eq!(
        crate::complete::candidates(&cmd, &words(&["migrate", "deploy/web", "--to", ""])),
        ["apps.bosun.dev/v1", "apps/v1"]
    );
}
