//! Upstream's `describeContainers` and `DescribeProbe` for a Pod template (no statuses).

use k8s_openapi::api::core::v1::{Container, EnvFromSource, EnvVar, Probe};

use super::Writer;
use super::text::int_or_string;

/// Upstream's `DescribeProbe`.
fn describe_probe(p: &Probe) -> String {
    let attrs = format!(
        "delay={}s timeout={}s period={}s #success={} #failure={}",
        p.initial_delay_seconds.unwrap_or(0),
        p.timeout_seconds.unwrap_or(1),
        p.period_seconds.unwrap_or(10),
        p.success_threshold.unwrap_or(1),
        p.failure_threshold.unwrap_or(3)
    );
    if let Some(e) = &p.exec {
        return format!(
            "exec [{}] {attrs}",
            e.command.clone().unwrap_or_default().join(" ")
        );
    }
    if let Some(h) = &p.http_get {
        let scheme = h
            .scheme
            .clone()
            .unwrap_or_else(|| "HTTP".into())
            .to_ascii_lowercase();
        let host = h.host.clone().unwrap_or_default();
        let port = int_or_string(&h.port);
        let hostport = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        return format!(
            "http-get {scheme}://{hostport}{} {attrs}",
            h.path.clone().unwrap_or_default()
        );
    }
    if let Some(t) = &p.tcp_socket {
        return format!(
            "tcp-socket {}:{} {attrs}",
            t.host.clone().unwrap_or_default(),
            int_or_string(&t.port)
        );
    }
    if let Some(g) = &p.grpc {
        return format!(
            "grpc <pod>:{} {} {attrs}",
            g.port,
            g.service.clone().unwrap_or_default()
        );
    }
    format!("unknown {attrs}")
}

fn ports_text(c: &Container, host: bool) -> String {
    c.ports
        .iter()
        .flatten()
        .map(|p| {
            // The API server defaults an apps/v1 template's protocol to TCP; a CRD's template is
            // not defaulted, and its pods get TCP: print what they get.
            let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            let n = if host {
                p.host_port.unwrap_or(0)
            } else {
                p.container_port
            };
            match &p.name {
                Some(name) if !name.is_empty() => format!("{n}/{proto} ({name})"),
                _ => format!("{n}/{proto}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upstream's `describeContainers` for a template (no statuses).
pub(super) fn describe_containers(w: &mut Writer, label: &str, containers: &[Container]) {
    let none = if containers.is_empty() { " <none>" } else { "" };
    w.w(0, &format!("  {label}:{none}\n"));
    for c in containers {
        w.w(1, &format!(" {}:\n", c.name));
        w.w(
            2,
            &format!("Image:\t{}\n", c.image.clone().unwrap_or_default()),
        );
        describe_ports(w, c);
        if let Some(sp) = c
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            w.w(2, &format!("SeccompProfile:\t{}\n", sp.type_));
        }
        describe_command_and_resources(w, c);
        for (title, probe) in [
            ("Liveness", &c.liveness_probe),
            ("Readiness", &c.readiness_probe),
            ("Startup", &c.startup_probe),
        ] {
            if let Some(p) = probe {
                w.w(2, &format!("{title}:\t{}\n", describe_probe(p)));
            }
        }
        if let Some(from) = c.env_from.as_ref().filter(|e| !e.is_empty()) {
            describe_env_from(w, from);
        }
        describe_env(w, c.env.as_deref().unwrap_or_default());
        describe_mounts(w, c);
    }
}

/// `Port:`/`Ports:` and `Host Port:`/`Host Ports:` (the plural when there are several).
fn describe_ports(w: &mut Writer, c: &Container) {
    for (host, one, several) in [(false, "Port", "Ports"), (true, "Host Port", "Host Ports")] {
        let ports = ports_text(c, host);
        if ports.contains(',') {
            w.w(2, &format!("{several}:\t{ports}\n"));
        } else {
            w.w(
                2,
                &format!(
                    "{one}:\t{}\n",
                    if ports.is_empty() { "<none>" } else { &ports }
                ),
            );
        }
    }
}

/// `Command:` and `Args:` one item a line, then the `Limits:` and `Requests:` of resources.
fn describe_command_and_resources(w: &mut Writer, c: &Container) {
    for (title, list) in [("Command", &c.command), ("Args", &c.args)] {
        if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
            w.w(2, &format!("{title}:\n"));
            for item in list {
                for s in item.split('\n') {
                    w.w(3, &format!("{s}\n"));
                }
            }
        }
    }
    if let Some(r) = &c.resources {
        for (title, map) in [("Limits", &r.limits), ("Requests", &r.requests)] {
            if let Some(map) = map.as_ref().filter(|m| !m.is_empty()) {
                w.w(2, &format!("{title}:\n"));
                for (name, q) in map {
                    w.w(3, &format!("{name}:\t{}\n", q.0));
                }
            }
        }
    }
}

/// `Environment Variables from:`: each ConfigMap or Secret, its prefix and whether optional.
fn describe_env_from(w: &mut Writer, from: &[EnvFromSource]) {
    w.w(2, "Environment Variables from:\n");
    for e in from {
        let (kind, name, optional) = if let Some(r) = &e.config_map_ref {
            ("ConfigMap", r.name.clone(), r.optional.unwrap_or(false))
        } else if let Some(r) = &e.secret_ref {
            ("Secret", r.name.clone(), r.optional.unwrap_or(false))
        } else {
            ("", String::new(), false)
        };
        match e.prefix.as_deref().filter(|p| !p.is_empty()) {
            None => w.w(3, &format!("{name}\t{kind}\tOptional: {optional}\n")),
            Some(p) => w.w(
                3,
                &format!("{name}\t{kind} with prefix '{p}'\tOptional: {optional}\n"),
            ),
        }
    }
}

/// `Environment:`: each variable's value (a multi-line one continued on lines of its own), or
/// where its value comes from.
fn describe_env(w: &mut Writer, env: &[EnvVar]) {
    w.w(
        2,
        &format!(
            "Environment:{}\n",
            if env.is_empty() { "\t<none>" } else { "" }
        ),
    );
    for e in env {
        let Some(v) = &e.value_from else {
            for (i, s) in e.value.clone().unwrap_or_default().split('\n').enumerate() {
                if i == 0 {
                    w.w(3, &format!("{}:\t{s}\n", e.name));
                } else {
                    w.w(3, &format!("\t{s}\n"));
                }
            }
            continue;
        };
        let line = if let Some(f) = &v.field_ref {
            format!(
                "{}:\t ({}:{})\n",
                e.name,
                f.api_version.clone().unwrap_or_default(),
                f.field_path
            )
        } else if let Some(r) = &v.resource_field_ref {
            format!("{}:\t ({})\n", e.name, r.resource)
        } else if let Some(s) = &v.secret_key_ref {
            format!(
                "{}:\t<set to the key '{}' in secret '{}'>\tOptional: {}\n",
                e.name,
                s.key,
                s.name,
                s.optional.unwrap_or(false)
            )
        } else if let Some(s) = &v.config_map_key_ref {
            format!(
                "{}:\t<set to the key '{}' of config map '{}'>\tOptional: {}\n",
                e.name,
                s.key,
                s.name,
                s.optional.unwrap_or(false)
            )
        } else {
            continue;
        };
        w.w(3, &line);
    }
}

/// `Mounts:` by mount path: `PATH from VOLUME (ro|rw[,path="SUB"])`.
fn describe_mounts(w: &mut Writer, c: &Container) {
    let mut mounts = c.volume_mounts.clone().unwrap_or_default();
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
    w.w(
        2,
        &format!(
            "Mounts:{}\n",
            if mounts.is_empty() { "\t<none>" } else { "" }
        ),
    );
    for m in &mounts {
        let mut flags = vec![if m.read_only.unwrap_or(false) {
            "ro".to_string()
        } else {
            "rw".to_string()
        }];
        if let Some(sp) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            flags.push(format!("path={sp:?}"));
        }
        w.w(
            3,
            &format!("{} from {} ({})\n", m.mount_path, m.name, flags.join(",")),
        );
    }
}
