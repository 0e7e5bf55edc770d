//! The verbs of `kubectl bosun`, one module each, named after upstream's kubectl packages
//! (`create`, `set image`, `expose`, `describe`, `rollout`), and `get` (Argo Rollouts' tree of a
//! Deployment, drawn by `tree`). Each verb splits as the controllers
//! do: a pure part that builds the object or the text from what it read (unit-tested here,
//! case by case against upstream's rules), and a thin part that reads and writes through the API.

pub mod cli;
pub mod create;
pub mod describe;
pub mod expose;
pub mod get;
pub mod migrate;
pub mod rollout;
pub mod set_image;
pub mod tabwriter;
pub mod tree;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// kubectl's resource string for bosun's Deployments, in errors.
pub const DEPLOY_RESOURCE: &str = "deployments.apps.bosun.dev";
/// kubectl's `kind.group` for bosun's Deployments, in what it prints on success.
pub const DEPLOY_KIND: &str = "deployment.apps.bosun.dev";
/// kubectl's `kind.group` for bosun's ReplicaSets.
pub const RS_KIND: &str = "replicaset.apps.bosun.dev";

/// A failure, printed as kubectl prints its errors (`error: …` or `Error from server …`).
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Where the command talks to, from the global flags: kubectl's `--kubeconfig`, `--context`,
/// `-n/--namespace` (and `KUBECONFIG`, read by kube as by kubectl, several files merged).
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--kubeconfig`.
    pub kubeconfig: Option<String>,
    /// `--context`.
    pub context: Option<String>,
    /// `-n/--namespace`.
    pub namespace: Option<String>,
}

/// A client and the namespace to work in (the flag's, else the context's, else `default`).
pub struct Session {
    /// The client.
    pub client: Client,
    /// The namespace.
    pub ns: String,
    /// Whether `-n` named it (kubectl's `EnforceNamespace`).
    pub explicit_ns: bool,
}

impl Target {
    /// Connect as kubectl would.
    pub async fn connect(&self) -> Result<Session, Failure> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path).map_err(|e| Failure(format!("error: {e}")))?;
                Config::from_custom_kubeconfig(kc, &options).await?
            }
            None => match Kubeconfig::read() {
                Ok(kc) => Config::from_custom_kubeconfig(kc, &options).await?,
                Err(_) => Config::infer().await?,
            },
        };
        let ns = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        Ok(Session {
            client: Client::try_from(config)?,
            ns,
            explicit_ns: self.namespace.is_some(),
        })
    }
}

/// The kinds `kubectl bosun` works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `apps.bosun.dev/v1` Deployment.
    Deployment,
    /// `apps.bosun.dev/v1` ReplicaSet.
    ReplicaSet,
}

impl Kind {
    /// The kind for a resource word as kubectl accepts it (`deploy`, `deployments`, `bdeploy`,
    /// `deployment.apps.bosun.dev`, …).
    pub fn parse(word: &str) -> Option<Kind> {
        match word.to_ascii_lowercase().as_str() {
            "deploy"
            | "deployment"
            | "deployments"
            | "bdeploy"
            | "deployment.apps.bosun.dev"
            | "deployments.apps.bosun.dev"
            | "deployment.apps"
            | "deployments.apps" => Some(Kind::Deployment),
            "rs"
            | "replicaset"
            | "replicasets"
            | "brs"
            | "replicaset.apps.bosun.dev"
            | "replicasets.apps.bosun.dev"
            | "replicaset.apps"
            | "replicasets.apps" => Some(Kind::ReplicaSet),
            _ => None,
        }
    }

    /// `deployment.apps.bosun.dev` or `replicaset.apps.bosun.dev`.
    pub fn kind_group(self) -> &'static str {
        match self {
            Kind::Deployment => DEPLOY_KIND,
            Kind::ReplicaSet => RS_KIND,
        }
    }

    /// The Kind as in owner references (`Deployment`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
        }
    }
}

/// Split kubectl's resource arguments: `TYPE/NAME` or `TYPE NAME` (the rest of `args` is
/// returned untouched). The words kubectl accepts are in [`Kind::parse`].
pub fn resource_args<'a>(
    args: &'a [String],
    verb: &str,
) -> Result<(Kind, Option<String>, &'a [String]), Failure> {
    let Some(first) = args.first() else {
        return Err(Failure(format!(
            "error: you must specify the type of resource to {verb}"
        )));
    };
    if let Some((kind, name)) = first.split_once('/') {
        let kind = Kind::parse(kind).ok_or_else(|| unsupported(kind, verb))?;
        return Ok((kind, Some(name.to_string()), &args[1..]));
    }
    let kind = Kind::parse(first).ok_or_else(|| unsupported(first, verb))?;
    match args.get(1) {
        Some(name) if !name.contains('=') => Ok((kind, Some(name.clone()), &args[2..])),
        _ => Ok((kind, None, &args[1..])),
    }
}

fn unsupported(kind: &str, verb: &str) -> Failure {
    Failure(format!(
        "error: kubectl bosun {verb} works on bosun's deployments (deploy) and replicasets (rs), not {kind:?}; use kubectl {verb} for other kinds"
    ))
}

/// kubectl's wording of an API error (`cmdutil.CheckErr`): `Error from server (NotFound): …`,
/// or for a refused object `The Deployment "x" is invalid: field: message`.
pub fn server_error(e: kube::Error) -> Failure {
    match e {
        kube::Error::Api(status) => Failure(api_status_message(&status)),
        other => Failure(format!("error: {other}")),
    }
}

/// kubectl's text for an API status (`checkErr` in kubectl's cmd/util/helpers.go).
pub fn api_status_message(s: &kube::core::Status) -> String {
    if s.reason == "Invalid" {
        if let Some(d) = &s.details {
            let mut head = "The request is invalid".to_string();
            if !d.kind.is_empty() || !d.name.is_empty() {
                head = format!("The {} {:?} is invalid", d.kind, d.name);
            } else if !s.message.is_empty() && d.causes.is_empty() {
                head = format!("{head}: {}", s.message);
            }
            return match d.causes.as_slice() {
                [] => head,
                [c] => format!("{head}: {}: {}", c.field, c.message),
                causes => {
                    let mut out = format!("{head}: ");
                    for c in causes {
                        out.push_str(&format!("\n* {}: {}", c.field, c.message));
                    }
                    out
                }
            };
        }
        return if s.message.is_empty() {
            "The request is invalid".into()
        } else {
            format!("The request is invalid: {}", s.message)
        };
    }
    if s.reason == "Unauthorized" {
        return format!("error: You must be logged in to the server ({})", s.message);
    }
    if s.reason.is_empty() {
        format!("Error from server: {}", s.message)
    } else {
        format!("Error from server ({}): {}", s.reason, s.message)
    }
}

/// Render a JSON value as kubectl's `-o yaml` or `-o json` does (keys sorted).
pub fn render(value: &serde_json::Value, output: &str) -> Result<String, Failure> {
    match output {
        "yaml" => Ok(serde_saphyr::to_string(value)?),
        "json" => Ok(format!("{}\n", serde_json::to_string_pretty(value)?)),
        other => Err(Failure(format!(
            "error: unable to match a printer suitable for the output format {other:?}, allowed formats are: json,name,yaml"
        ))),
    }
}

/// What kubectl prints for a written object: `KIND/NAME OPERATION`, `-o name`, or the object.
pub fn print_result(
    kind_group: &str,
    name: &str,
    operation: &str,
    dry_run: DryRun,
    output: Option<&str>,
    object: &serde_json::Value,
) -> Result<String, Failure> {
    match output {
        None | Some("") => {
            let suffix = match dry_run {
                DryRun::None => "",
                DryRun::Client => " (dry run)",
                DryRun::Server => " (server dry run)",
            };
            Ok(format!("{kind_group}/{name} {operation}{suffix}\n"))
        }
        Some("name") => Ok(format!("{kind_group}/{name}\n")),
        Some(o) => render(object, o),
    }
}

/// kubectl's `--dry-run` strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DryRun {
    /// Write for real.
    #[default]
    None,
    /// Print what would be sent, send nothing.
    Client,
    /// Send with `dryRun=All`.
    Server,
}

impl DryRun {
    /// Parse `--dry-run` as kubectl does (`none`, `client`, `server`).
    pub fn parse(s: &str) -> Result<DryRun, Failure> {
        match s {
            "none" | "false" => Ok(DryRun::None),
            "client" => Ok(DryRun::Client),
            "server" => Ok(DryRun::Server),
            other => Err(Failure(format!(
                "error: Invalid dry-run value ({other}). Must be \"none\", \"server\", or \"client\"."
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn resource_args_take_type_slash_name_and_type_space_name() {
        let a = args(&["deploy/web", "c=img"]);
        let (k, n, rest) = resource_args(&a, "set").unwrap();
        assert_eq!(
            (k, n.as_deref(), rest.len()),
            (Kind::Deployment, Some("web"), 1)
        );
        let a = args(&["rs", "web-1", "c=img"]);
        let (k, n, rest) = resource_args(&a, "set").unwrap();
        assert_eq!(
            (k, n.as_deref(), rest.len()),
            (Kind::ReplicaSet, Some("web-1"), 1)
        );
        let a = args(&["bdeploy"]);
        let (_, n, _) = resource_args(&a, "describe").unwrap();
        assert_eq!(n, None);
        assert!(resource_args(&args(&["svc/x"]), "describe").is_err());
    }

    #[test]
    fn invalid_errors_read_as_kubectl_words_them() {
        let s: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": 422, "reason": "Invalid",
            "message": "Deployment.apps.bosun.dev \"x\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "details": {"name": "x", "group": "apps.bosun.dev", "kind": "Deployment",
                "causes": [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                    "message": "Invalid value: -1: must be greater than or equal to 0"}]}
        }))
        .unwrap();
        assert_eq!(
            api_status_message(&s),
            "The Deployment \"x\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        let s: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": 404, "reason": "NotFound",
            "message": "deployments.apps.bosun.dev \"x\" not found"
        }))
        .unwrap();
        assert_eq!(
            api_status_message(&s),
            "Error from server (NotFound): deployments.apps.bosun.dev \"x\" not found"
        );
    }
}
