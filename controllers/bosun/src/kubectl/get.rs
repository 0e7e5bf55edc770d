//! `kubectl bosun get deploy NAME [-w] [-o json|yaml] [--timeout=D]`: the tree of
//! [`super::tree`], read once, or kept current from watches.
//!
//! With `-w`, three watches (kube-runtime's watcher into reflector stores) follow the
//! Deployment (by name), and the ReplicaSets and Pods its selector matches; the tree is built
//! again from the stores after every event and printed when it changed, ages aside. On a
//! terminal the screen is cleared and the tree redrawn, and ages tick once a second from the
//! stores, with no request; elsewhere each tree is printed whole and followed by a blank line
//! (`-o json|yaml`: one document after another). It ends on Ctrl-C, when `--timeout` passes (exit 0 for both), or
//! when the Deployment is deleted (`deployment.apps.bosun.dev/NAME deleted`, exit 0).

use std::io::{IsTerminal, Write};
use std::pin::pin;
use std::time::Duration;

use bosun_api::apps::{Deployment, ReplicaSet};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

use super::describe::selector_string;
use super::tree::{Tree, build, render_text, to_json};
use super::{DEPLOY_KIND, Failure, Session, render, server_error};

/// What `get` was asked for.
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// The Deployment's name.
    pub name: String,
    /// `-w`.
    pub watch: bool,
    /// `-o`: `json` or `yaml`; the tree when `None`.
    pub output: Option<String>,
    /// With `-w`, stop after this long (zero: never).
    pub timeout: Duration,
}

/// Refuse an `-o` this command has no printer for, as kubectl words it.
pub fn check_output(output: Option<&str>) -> Result<(), Failure> {
    match output {
        None | Some("json" | "yaml") => Ok(()),
        Some(other) => Err(Failure(format!(
            "error: unable to match a printer suitable for the output format {other:?}, allowed formats are: json,yaml"
        ))),
    }
}

/// Whether to colour: stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The text of one tree in the chosen format.
fn present(
    doc: &Value,
    tree: &Tree,
    output: Option<&str>,
    colour: bool,
) -> Result<String, Failure> {
    match output {
        None => Ok(render_text(tree, Timestamp::now(), colour)),
        Some(o) => render(doc, o),
    }
}

/// Run `get`: the text to print (empty when `-w` printed as it went).
pub async fn run(session: &Session, o: &GetOptions) -> Result<String, Failure> {
    check_output(o.output.as_deref())?;
    let client = session.client.clone();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &session.ns);
    let d = deployments.get(&o.name).await.map_err(server_error)?;
    // The ReplicaSets and Pods of a Deployment carry its template's labels, which its
    // selector matches: the server filters by it, the tree by owner uid.
    let selector = selector_string(&d.spec.selector);
    let rs_api: Api<ReplicaSet> = Api::namespaced(client.clone(), &session.ns);
    let pod_api: Api<Pod> = Api::namespaced(client.clone(), &session.ns);
    if !o.watch {
        let lp = ListParams::default().labels(&selector);
        let rss = rs_api.list(&lp).await.map_err(server_error)?.items;
        let pods = pod_api.list(&lp).await.map_err(server_error)?.items;
        let tree = build(&d, &rss, &pods);
        return present(&to_json(&tree), &tree, o.output.as_deref(), use_colour());
    }
    watch(deployments, rs_api, pod_api, &selector, o).await
}

/// A watch of `api` into a store: the stream yields `true` at the end of each (re)list.
fn follow<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl Stream<Item = Result<bool, watcher::Error>> + Send,
)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, config)
        .default_backoff()
        .modify(|o: &mut K| o.meta_mut().managed_fields = None)
        .reflect(writer)
        .map(|e| e.map(|e| matches!(e, watcher::Event::InitDone)));
    (store, stream)
}

async fn watch(
    deployments: Api<Deployment>,
    rs_api: Api<ReplicaSet>,
    pod_api: Api<Pod>,
    selector: &str,
    o: &GetOptions,
) -> Result<String, Failure> {
    let name = &o.name;
    let (d_store, d_events) = follow(
        deployments,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    );
    let (rs_store, rs_events) = follow(rs_api, watcher::Config::default().labels(selector));
    let (pod_store, pod_events) = follow(pod_api, watcher::Config::default().labels(selector));
    let mut events = futures::stream::select_all([
        d_events.map(|e| (0, e)).boxed(),
        rs_events.map(|e| (1, e)).boxed(),
        pod_events.map(|e| (2, e)).boxed(),
    ]);
    let mut screen = Screen::new(o.output.as_deref());
    let mut ctrl_c = pin!(tokio::signal::ctrl_c());
    let timeout = o.timeout;
    let mut deadline = pin!(async move {
        if timeout.is_zero() {
            std::future::pending::<()>().await;
        } else {
            tokio::time::sleep(timeout).await;
        }
    });
    // Ages change with the clock, not the objects: on a terminal, redraw them every second.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ticking = screen.terminal && screen.output.is_none();
    let mut synced = [false; 3];
    loop {
        tokio::select! {
            event = events.next() => match event {
                None => return Err(Failure("error: the watch ended".into())),
                // The watcher backs off and resumes; say why nothing changes meanwhile.
                Some((_, Err(e))) => eprintln!("error: {e}"),
                Some((i, Ok(init_done))) => {
                    if init_done {
                        synced[i] = true;
                    }
                }
            },
            _ = &mut ctrl_c => return Ok(String::new()),
            () = &mut deadline => return Ok(String::new()),
            _ = tick.tick(), if ticking => {}
        }
        if !synced.iter().all(|s| *s) {
            continue;
        }
        let Some(d) = d_store.state().into_iter().next() else {
            let _ = writeln!(screen.stdout, "{DEPLOY_KIND}/{name} deleted");
            return Ok(String::new());
        };
        let rss: Vec<ReplicaSet> = rs_store.state().iter().map(|r| (**r).clone()).collect();
        let pods: Vec<Pod> = pod_store.state().iter().map(|p| (**p).clone()).collect();
        if !screen.show(&build(&d, &rss, &pods))? {
            return Ok(String::new());
        }
    }
}

/// Where `get -w` prints its trees, and what it printed last.
struct Screen<'a> {
    /// stdout is a terminal: each tree redraws the screen.
    terminal: bool,
    colour: bool,
    output: Option<&'a str>,
    /// What decides that the tree changed: the JSON document, or the text as of the watch's
    /// start (so the ages, which move with the clock, do not count; creation times do).
    start: Timestamp,
    last_key: Option<String>,
    last_text: String,
    stdout: std::io::Stdout,
}

impl<'a> Screen<'a> {
    fn new(output: Option<&'a str>) -> Screen<'a> {
        Screen {
            terminal: std::io::stdout().is_terminal(),
            colour: use_colour(),
            output,
            start: Timestamp::now(),
            last_key: None,
            last_text: String::new(),
            stdout: std::io::stdout(),
        }
    }

    /// Print `tree` if it changed (on a terminal, also when only its ages moved); `false`
    /// when stdout is closed (`| head`), which ends the watch quietly, as kubectl's does.
    fn show(&mut self, tree: &Tree) -> Result<bool, Failure> {
        let doc = to_json(tree);
        let key = match self.output {
            None => render_text(tree, self.start, false),
            Some(_) => doc.to_string(),
        };
        let changed = self.last_key.as_ref() != Some(&key);
        let text = present(&doc, tree, self.output, self.colour)?;
        let aged = self.terminal && self.output.is_none() && text != self.last_text;
        if !(changed || aged) {
            return Ok(true);
        }
        // Not on a terminal, each tree ends with a blank line: a reader knows it has a whole one.
        let frame = match (self.last_key.is_some(), self.terminal, self.output) {
            (_, true, None) => format!("\x1b[H\x1b[2J{text}"),
            (_, false, None) => format!("{text}\n"),
            (true, _, Some("yaml")) => format!("---\n{text}"),
            (_, _, Some(_)) => text.clone(),
        };
        if self
            .stdout
            .write_all(frame.as_bytes())
            .and_then(|()| self.stdout.flush())
            .is_err()
        {
            return Ok(false);
        }
        self.last_key = Some(key);
        self.last_text = text;
        Ok(true)
    }
}
