//! The harness of bosun's end-to-end tests.
//!
//! The tests run against whatever cluster `KUBECONFIG` names: the project's local cluster
//! (`make e2e` starts it), or kind in CI. Nothing here fakes the API server. Every wait polls for
//! a condition with a deadline.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// The field manager the tests write with.
pub const MANAGER: &str = "bosun-e2e";

/// A client for the cluster `KUBECONFIG` names; fails loudly when it is unset.
pub async fn client() -> anyhow::Result<Client> {
    if std::env::var_os("KUBECONFIG").is_none() {
        bail!("KUBECONFIG is not set: the end-to-end tests need a cluster (run `make e2e`)");
    }
    Client::try_default()
        .await
        .context("connecting to the cluster KUBECONFIG names")
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Read a YAML file of the repository (a multi-document stream) as JSON values.
pub fn read_yaml(relative: &str) -> anyhow::Result<Vec<Value>> {
    let path = repo_root().join(relative);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

static CRDS: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// Install the CRDs under `crds/` with server-side apply (once per test process) and wait until
/// every one is Established.
pub async fn ensure_crds(client: &Client) -> anyhow::Result<()> {
    let mut done = CRDS.lock().await;
    if *done {
        return Ok(());
    }
    install_crds(client).await?;
    *done = true;
    Ok(())
}

/// Server-side apply every CRD under `crds/` and wait for Established; returns their names.
pub async fn install_crds(client: &Client) -> anyhow::Result<Vec<String>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let dir = repo_root().join("crds");
    let mut names = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for file in files {
        let rel = file
            .strip_prefix(repo_root())
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        for doc in read_yaml(&rel)? {
            let crd: CustomResourceDefinition = serde_json::from_value(doc)?;
            let name = crd.metadata.name.clone().context("a CRD without a name")?;
            api.patch(
                &name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&crd),
            )
            .await
            .with_context(|| format!("applying CRD {name}"))?;
            names.push(name);
        }
    }
    for name in &names {
        let api = api.clone();
        poll(
            &format!("CRD {name} Established"),
            Duration::from_secs(60),
            || {
                let api = api.clone();
                let name = name.clone();
                async move {
                    let crd = api.get(&name).await?;
                    let established = crd
                        .status
                        .and_then(|s| s.conditions)
                        .unwrap_or_default()
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True");
                    Ok(established.then_some(()))
                }
            },
        )
        .await?;
    }
    // Established is not yet served discovery: wait until kubectl (and its discovery cache)
    // knows every kind, so that `kubectl get bdeploy` works in the tests that follow.
    poll(
        "bosun's kinds in kubectl's discovery",
        Duration::from_secs(60),
        || async {
            let out = kubectl(&["api-resources", "--categories=bosun", "-o", "name"])?;
            Ok(names
                .iter()
                .all(|n| out.stdout.lines().any(|l| l == n))
                .then_some(()))
        },
    )
    .await?;
    Ok(names)
}

/// Poll `check` every 100 ms until it yields `Some`, or fail after `timeout` naming `what`.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e),
        }
        if Instant::now() >= deadline {
            let why = last_err
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {what}{why}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A namespace of one test, deleted (without waiting) when dropped, with the cluster-scoped
/// Nodes the test registered with [`TestNamespace::node_name`].
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    /// Nodes of this test: deleted on drop, after the Pods bound to them.
    nodes: std::sync::Mutex<Vec<String>>,
}

/// Tells apart the namespaces one test process creates in the same microsecond.
static NAMESPACES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The label of every cluster-scoped object a test makes, so leftovers are easy to find.
pub const E2E_LABEL: &str = "bosun.dev/e2e";

/// The NoSchedule taint of the Nodes tests create: only Pods a test binds there (spec.nodeName,
/// which bypasses the scheduler) run on them.
pub const E2E_NODE_TAINT: &str = "bosun.dev/e2e-node";

impl TestNamespace {
    /// Create `e2e-<prefix>-<unique>` (unique per test process, per call and per run).
    pub async fn new(client: &Client, prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let seq = NAMESPACES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(
            "e2e-{prefix}-{:x}{:02x}{:05x}",
            std::process::id() & 0xfff,
            seq & 0xff,
            nanos >> 12
        );
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {E2E_LABEL: "true"}}
        }))?;
        api.create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        Ok(Self {
            name,
            nodes: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A Node name unique to this test, `bosun-e2e-<prefix>-<namespace>`. The test creates the
    /// Node (or not); when the namespace is dropped, the Pods bound to it are force-deleted and
    /// the Node is deleted, pass or fail.
    pub fn node_name(&self, prefix: &str) -> String {
        let name = format!("bosun-e2e-{prefix}-{}", self.name);
        self.nodes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        name
    }

    /// Create a Node of this test that nobody plays (kwok manages only the nodes annotated
    /// `kwok.x-k8s.io/node: fake`): without a kubelet, a graceful deletion of a Pod bound to it
    /// stays Terminating. Removed with the namespace, see [`TestNamespace::node_name`]. Tainted
    /// [`E2E_NODE_TAINT`], so the scheduler never puts another test's Pod there (a new Node is
    /// schedulable until kube-controller-manager marks it not ready, and a Pod placed there
    /// vanishes with the Node, which other tests once saw as a Pod deleted by no one).
    pub async fn unmanaged_node(&self, client: &Client) -> anyhow::Result<String> {
        let name = self.node_name("unmanaged");
        let nodes: Api<Node> = Api::all(client.clone());
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {E2E_LABEL: "true"}},
            "spec": {"taints": [{"key": E2E_NODE_TAINT, "effect": "NoSchedule"}]}
        }))?;
        nodes
            .create(&PostParams::default(), &node)
            .await
            .with_context(|| format!("creating node {name}"))?;
        Ok(name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // The namespace first: once it is Terminating nothing creates Pods in it any more.
        let _ = Command::new("kubectl")
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .output();
        // No kubelet confirms the deletion of a Pod bound to a test's Node, so the namespace
        // would stay Terminating: confirm it (grace period 0), as the kubelet would, then remove
        // the Node.
        let nodes = std::mem::take(self.nodes.get_mut().unwrap_or_else(|e| e.into_inner()));
        for node in nodes {
            let _ = Command::new("kubectl")
                .args([
                    "delete",
                    "pods",
                    "--namespace",
                    &self.name,
                    "--field-selector",
                    &format!("spec.nodeName={node}"),
                    "--grace-period=0",
                    "--force",
                    "--ignore-not-found",
                ])
                .output();
            let _ = Command::new("kubectl")
                .args([
                    "delete",
                    "node",
                    &node,
                    "--wait=false",
                    "--ignore-not-found",
                ])
                .output();
        }
    }
}

/// Wait until the namespace has an `events.k8s.io` Event that `matches`.
pub async fn wait_for_event<F>(
    client: &Client,
    ns: &str,
    what: &str,
    matches: F,
) -> anyhow::Result<()>
where
    F: Fn(&k8s_openapi::api::events::v1::Event) -> bool,
{
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    poll(what, Duration::from_secs(90), || async {
        let found = events
            .list(&kube::api::ListParams::default())
            .await?
            .items
            .iter()
            .any(&matches);
        Ok(found.then_some(()))
    })
    .await
}

/// Delete an object and ignore NotFound.
pub async fn delete_ignoring_missing<K>(api: &Api<K>, name: &str) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The output of a finished command.
#[derive(Debug)]
pub struct Output {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Run `kubectl` with `args` (the `KUBECONFIG` of the tests) and collect its output.
pub fn kubectl(args: &[&str]) -> anyhow::Result<Output> {
    run("kubectl", args)
}

/// Run a program and collect its output.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<Output> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    Ok(Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// The message of an API error, or a description of the unexpected outcome.
pub fn api_error_message<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(e)) => e.message,
        Err(other) => format!("not an API error: {other}"),
        Ok(v) => format!("the API server accepted the object: {v:?}"),
    }
}

/// Set the value at a JSON pointer, creating objects on the way.
pub fn set(v: &mut Value, pointer: &str, value: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), value);
            return;
        }
        cur = map.entry((*part).to_string()).or_insert_with(|| json!({}));
    }
}

/// Remove the value at a JSON pointer, if any.
pub fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    if let Some(Value::Object(map)) = v.pointer_mut(parent) {
        map.remove(key);
    }
}

/// A `bosun run` process of the tests, killed when dropped and when the test process exits.
pub struct ControllerProcess {
    child: Option<std::process::Child>,
}

/// The `bosun` binary the tests run: `$BOSUN_BIN`, or the workspace's debug build.
pub fn bosun_bin() -> PathBuf {
    std::env::var_os("BOSUN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/bosun"))
}

/// Run the `kubectl-bosun` plugin built beside `bosun` (the tests' KUBECONFIG).
pub fn kubectl_bosun(args: &[&str]) -> anyhow::Result<Output> {
    let bin = bosun_bin().with_file_name("kubectl-bosun");
    run(&bin.to_string_lossy(), args)
}

/// Whether the controllers run elsewhere (in the cluster, installed by the chart), so the
/// tests must not start their own: `BOSUN_E2E_CONTROLLER=external`.
pub fn external_controller() -> bool {
    std::env::var("BOSUN_E2E_CONTROLLER").is_ok_and(|v| v == "external")
}

impl ControllerProcess {
    /// Start `bosun run <args>` with the tests' KUBECONFIG, logging to
    /// `target/e2e-logs/<log_name>.log` (appending, so restarts keep one log).
    pub fn start(log_name: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_with_env(log_name, args, &[])
    }

    /// [`ControllerProcess::start`] with extra environment variables for the process (e.g. a
    /// `KUBECONFIG` of another identity).
    pub fn start_with_env(
        log_name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::start_process(log_name, "run", args, env)
    }

    /// Start `bosun <subcommand> <args>` (say `dns --listen ..`) the same way.
    pub fn start_subcommand(
        log_name: &str,
        subcommand: &str,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        Self::start_process(log_name, subcommand, args, &[])
    }

    /// Start another program of the tests (CoreDNS beside `bosun dns`, say) the same way:
    /// logging to `target/e2e-logs/<log_name>.log`, killed when dropped or when the tests exit.
    pub fn start_program(log_name: &str, program: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let mut cmd = Command::new(program);
        cmd.args(args);
        Self::spawn(log_name, cmd)
    }

    fn start_process(
        log_name: &str,
        subcommand: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(bosun_bin());
        cmd.arg(subcommand).args(args).envs(env.iter().copied());
        // Several bosun processes may run at once (leader election tests, `bosun dns`): each
        // serves its metrics on a port of its own unless the test names one.
        let named = args.iter().any(|a| a.starts_with("--metrics-addr"))
            || env.iter().any(|(k, _)| *k == "BOSUN_METRICS_ADDR");
        if !named {
            cmd.arg("--metrics-addr=127.0.0.1:0");
        }
        Self::spawn(log_name, cmd)
    }

    fn spawn(log_name: &str, mut cmd: Command) -> anyhow::Result<Self> {
        let dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{log_name}.log")))?;
        let program = cmd.get_program().to_string_lossy().into_owned();
        cmd.stdout(log.try_clone()?).stderr(log);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child when
        // the test process dies, so no controller outlives its tests.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        // PR_SET_PDEATHSIG fires when the *thread* that spawned the child exits, and each test
        // runs on a thread of its own: spawn from a thread that lives as long as the process.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        });
        let child = rx
            .recv()
            .context("the spawning thread died")?
            .with_context(|| format!("starting {program}"))?;
        Ok(Self { child: Some(child) })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or_default()
    }

    /// Send a signal without waiting.
    pub fn signal(&self, signal: i32) {
        if let Some(c) = self.child.as_ref() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(c.id() as i32, signal);
            }
        }
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_wait(&mut self) -> anyhow::Result<Option<std::process::ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => Ok(c.try_wait()?),
            None => anyhow::bail!("the controller was already stopped"),
        }
    }

    /// Send a signal and wait for the process to exit; its exit status.
    pub fn signal_and_wait(&mut self, signal: i32) -> anyhow::Result<std::process::ExitStatus> {
        let mut child = self
            .child
            .take()
            .context("the controller was already stopped")?;
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, signal);
        }
        Ok(child.wait()?)
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

static SHARED_CONTROLLER: std::sync::Mutex<Option<ControllerProcess>> = std::sync::Mutex::new(None);

/// Make sure a `bosun run` serves this test process (one per test binary; none when the
/// controllers are external). It lives until the test process exits.
pub fn ensure_controller(log_name: &str) -> anyhow::Result<()> {
    if external_controller() {
        return Ok(());
    }
    let mut guard = SHARED_CONTROLLER.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(ControllerProcess::start(log_name, &[])?);
    }
    Ok(())
}

static GC_READY: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// Wait until kube-controller-manager's garbage collector handles bosun's workload kinds.
///
/// It picks up new CRD kinds at its discovery resync (about every 30 s), and until then
/// ignores their owners and dependents: a test that deletes a bosun object with cascading or
/// orphaning right after the CRDs appear would race it. The probe: a ConfigMap owned by an idle
/// bosun Deployment and one owned by an idle ReplicaSet; both owners deleted; the collector
/// removing both ConfigMaps shows it watches both kinds. Once per test process.
pub async fn ensure_garbage_collector(client: &Client) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{DynamicObject, ListParams};
    use kube::core::{ApiResource, GroupVersionKind};
    let mut ready = GC_READY.lock().await;
    if *ready {
        return Ok(());
    }
    ensure_crds(client).await?;
    let ns = TestNamespace::new(client, "gc-probe").await?;
    let owner = |kind: &str, plural: &str, extra: Value| {
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apps.bosun.dev", "v1", kind),
            plural,
        );
        let mut spec = json!({
            "replicas": 0,
            "selector": {"matchLabels": {"app": "gc-probe"}},
            "template": {"metadata": {"labels": {"app": "gc-probe"}},
                "spec": {"containers": [{"name": "c", "image": "registry.example/probe:1"}]}}
        });
        if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        (
            ar,
            json!({"apiVersion": "apps.bosun.dev/v1", "kind": kind, "metadata": {"name": "probe"}, "spec": spec}),
        )
    };
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    for (ar, body) in [
        owner("Deployment", "deployments", json!({"paused": true})),
        owner("ReplicaSet", "replicasets", json!({})),
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns.name, &ar);
        let created = api
            .create(&PostParams::default(), &serde_json::from_value(body)?)
            .await?;
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {
            "name": format!("owned-by-{}", ar.plural),
            "labels": {"bosun.dev/gc-probe": "true"},
            "ownerReferences": [{"apiVersion": "apps.bosun.dev/v1", "kind": ar.kind,
                "name": "probe", "uid": created.metadata.uid}]
        }}))?;
        cms.create(&PostParams::default(), &cm).await?;
        api.delete("probe", &DeleteParams::background()).await?;
    }
    poll(
        "the garbage collector to handle bosun's kinds",
        Duration::from_secs(120),
        || async {
            let left = cms
                .list(&ListParams::default().labels("bosun.dev/gc-probe=true"))
                .await?
                .items
                .len();
            Ok((left == 0).then_some(()))
        },
    )
    .await?;
    *ready = true;
    Ok(())
}

/// GET `path` from 127.0.0.1:`port`: (status code, body).
pub async fn http_get(port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    http_get_at("127.0.0.1", port, path).await
}

/// GET `path` from `host`:`port`: (status code, body).
pub async fn http_get_at(host: &str, port: u16, path: &str) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect((host, port)).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await?;
    let code = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Ok((code, body.to_string()))
}

/// Run kubectl and fail with its stderr unless it exits 0; its stdout.
pub fn kubectl_ok(args: &[&str]) -> anyhow::Result<String> {
    let out = kubectl(args)?;
    anyhow::ensure!(
        out.code == 0,
        "kubectl {} exited {}: {}",
        args.join(" "),
        out.code,
        out.stderr
    );
    Ok(out.stdout)
}

/// A TCP port free on 127.0.0.1 right now, other than `not`.
pub fn free_tcp_port(not: u16) -> anyhow::Result<u16> {
    for _ in 0..20 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if port != not {
            return Ok(port);
        }
    }
    anyhow::bail!("no free TCP port")
}

/// The sum of the samples of metric `name` whose labels include `labels`.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(series, _)| {
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|(_, v)| v.parse::<f64>().ok())
        .sum()
}

/// The rendered object of `kind` named `name` in a parsed `helm template` stream.
pub fn rendered<'a>(docs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
}

/// The `value` of env var `name` of the first container of a rendered Deployment (or Job).
pub fn container_env(workload: &Value, name: &str) -> Option<String> {
    workload["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str().map(String::from))
}
