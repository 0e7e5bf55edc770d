//! `kubectl bosun`: the kubectl verbs that plain kubectl only has for built-in kinds, for
//! bosun's Deployments and ReplicaSets, with kubectl's flags, output, wording and exit codes.
//!
//! ```text
//! kubectl bosun create deployment NAME --image=IMG [--replicas=N] [--port=P] [-- COMMAND ARGS]
//! kubectl bosun set image deploy/NAME CONTAINER=IMAGE ...
//! kubectl bosun expose deploy/NAME|rs/NAME [--port=P] [--target-port=T] [--type=T] [--name=N]
//! kubectl bosun describe deploy|rs [NAME]
//! kubectl bosun get deploy NAME [-w] [-o json|yaml] [--timeout=D]
//! kubectl bosun rollout status|history|undo|pause|resume|restart|promote|abort|retry deploy/NAME
//! kubectl bosun migrate deploy/NAME [--to apps/v1] [--dry-run] [--force] [--timeout=5m]
//! ```
//!
//! Global flags as kubectl's: `-n/--namespace`, `--context`, `--kubeconfig` (and `KUBECONFIG`).
//!
//! The command line and the verbs are in the library (`bosun::kubectl`, `kubectl/cli.rs`);
//! this is the edge: kubectl's plugin completion, the exit codes, and the error's wording.

use std::process::ExitCode;

use bosun::complete;
use bosun::kubectl::Failure;
use bosun::kubectl::cli::{Cli, run};
use clap::Parser;

fn main() -> ExitCode {
    // kubectl's plugin completion: `kubectl_complete-bosun WORDS...` runs
    // `kubectl-bosun __complete WORDS...`.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__complete") {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        cmd.build();
        print!(
            "{}",
            complete::protocol_output(&complete::candidates(&cmd, &args[2..]))
        );
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // kubectl exits 0 for --help and 1 for every usage error.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(Failure(msg)) => {
            let msg = if msg.starts_with("error: ")
                || msg.starts_with("Error from server")
                || msg.starts_with("The ")
                || msg.starts_with("No resources found")
            {
                msg
            } else {
                format!("error: {msg}")
            };
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}
