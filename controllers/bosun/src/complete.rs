//! kubectl's plugin completion for `kubectl-bosun` (`completion <shell>` in both binaries prints
//! clap_complete's static script instead). [`candidates`] answers kubectl's protocol, which kubectl ≥ 1.26
//! runs through an executable `kubectl_complete-bosun` on PATH with the words typed after
//! `kubectl bosun` (the last one possibly empty): one candidate a line, then `:<directive>`
//! (Cobra's `ShellCompDirective`; 4 is NoFileComp).

/// Cobra's `ShellCompDirectiveNoFileComp`: offer no file names.
pub const NO_FILE_COMP: u32 = 4;

/// The option of `cmd` that `flag` (`--name`, `-n`) names when it takes its value in the next
/// word (never for `--name=value`).
fn takes_next_word<'c>(cmd: &'c clap::Command, flag: &str) -> Option<&'c clap::Arg> {
    if flag.contains('=') {
        return None;
    }
    cmd.get_arguments().find(|a| {
        let named = match flag.strip_prefix("--") {
            Some(long) => a.get_long() == Some(long),
            None => flag
                .strip_prefix('-')
                .and_then(|s| s.chars().next())
                .is_some_and(|c| a.get_short() == Some(c)),
        };
        named && a.get_action().takes_values()
    })
}

/// The completions of the last of `words` under `root` (built, so that global flags reach the
/// subcommands): subcommands, or `--flags` when the word starts with `-`.
pub fn candidates(root: &clap::Command, words: &[String]) -> Vec<String> {
    let (last, before) = match words.split_last() {
        Some((l, b)) => (l.as_str(), b),
        None => ("", &[][..]),
    };
    let mut cmd = root;
    let mut value_next: Option<&clap::Arg> = None;
    for w in before {
        if value_next.take().is_some() {
            continue;
        }
        if w.starts_with('-') {
            value_next = takes_next_word(cmd, w);
        } else if let Some(sub) = cmd.find_subcommand(w) {
            cmd = sub;
        }
    }
    if let Some(arg) = value_next {
        // A flag's value: its possible values (`migrate --to`), else nothing to offer from the
        // command line's shape (a namespace, a file).
        return arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .filter(|v| v.starts_with(last))
            .collect();
    }
    if last.starts_with('-') {
        return cmd
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .filter(|f| f.starts_with(last))
            .collect();
    }
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .filter(|n| n.starts_with(last))
        .collect()
}

/// The protocol's output: the candidates, then the directive.
pub fn protocol_output(candidates: &[String]) -> String {
    let mut out = String::new();
    for c in candidates {
        out.push_str(c);
        out.push('\n');
    }
    out.push_str(&format!(":{NO_FILE_COMP}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn cli() -> Command {
        let mut c = Command::new("kubectl-bosun")
            .arg(
                Arg::new("namespace")
                    .short('n')
                    .long("namespace")
                    .global(true),
            )
            .subcommand(
                Command::new("rollout")
                    .subcommand(
                        Command::new("status")
                            .arg(Arg::new("watch").long("watch").action(ArgAction::SetTrue)),
                    )
                    .subcommand(Command::new("history"))
                    .subcommand(Command::new("restart")),
            )
            .subcommand(Command::new("describe"))
            .subcommand(
                Command::new("migrate")
                    .arg(
                        Arg::new("to")
                            .long("to")
                            .value_parser(["apps.bosun.dev/v1", "apps/v1"]),
                    )
                    .arg(Arg::new("force").long("force").action(ArgAction::SetTrue)),
            )
            .subcommand(Command::new("secret").hide(true));
        c.build();
        c
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_word_completes_to_the_visible_subcommands() {
        assert_eq!(
            candidates(&cli(), &words(&[""])),
            ["rollout", "describe", "migrate"]
        );
        assert_eq!(candidates(&cli(), &words(&["ro"])), ["rollout"]);
        assert_eq!(candidates(&cli(), &words(&["mi"])), ["migrate"]);
        assert_eq!(candidates(&cli(), &[]), ["rollout", "describe", "migrate"]);
    }

    #[test]
    fn a_subcommands_verbs_complete_after_it() {
        assert_eq!(
            candidates(&cli(), &words(&["rollout", ""])),
            ["status", "history", "restart"]
        );
        assert_eq!(candidates(&cli(), &words(&["rollout", "s"])), ["status"]);
    }

    #[test]
    fn flags_complete_with_the_global_ones_and_values_are_skipped() {
        assert_eq!(
            candidates(&cli(), &words(&["rollout", "status", "--"])),
            ["--watch", "--namespace", "--help"]
        );
        // `-n prod` is a flag and its value: `rollout` is still the word before.
        assert_eq!(
            candidates(&cli(), &words(&["-n", "prod", "rollout", "h"])),
            ["history"]
        );
        assert_eq!(
            candidates(&cli(), &words(&["--namespace=prod", "rollout", "r"])),
            ["restart"]
        );
        // The value of a flag itself: nothing.
        assert!(candidates(&cli(), &words(&["rollout", "-n", ""])).is_empty());
    }

    #[test]
    fn a_flag_with_possible_values_completes_to_them() {
        assert_eq!(
            candidates(&cli(), &words(&["migrate", "deploy/web", "--to", ""])),
            ["apps.bosun.dev/v1", "apps/v1"]
        );
        assert_eq!(
            candidates(&cli(), &words(&["migrate", "--to", "apps/"])),
            ["apps/v1"]
        );
        // After the value, the flags again.
        assert_eq!(
            candidates(&cli(), &words(&["migrate", "--to", "apps/v1", "--f"])),
            ["--force"]
        );
    }

    #[test]
    fn the_output_ends_with_the_no_file_directive() {
        assert_eq!(
            protocol_output(&words(&["status", "history"])),
            "status\nhistory\n:4\n"
        );
        assert_eq!(protocol_output(&[]), ":4\n");
    }
}
