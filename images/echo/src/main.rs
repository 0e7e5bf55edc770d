//! The echo server of bosun's images (`bosun.local/echo`): answers every HTTP request with
//! `200 OK` and its Pod's name, like the tutorial's `agnhost netexec` does on `/hostname`.
//!
//! The name comes from `POD_NAME` (the downward API), else from the hostname (a Pod's hostname
//! is its name). The port is `--http-port=N` (agnhost's flag), else `PORT`, else 8080. Each
//! request is logged on stdout.
//!
//! Readiness: `/readyz` answers 200 while the server is ready, 503 otherwise; a request to
//! `/unready` makes it unready (a test's way to fail a readiness probe), `/ready` ready again.
//!
//! Shutdown: SIGTERM and SIGINT end it at once (as a container's PID 1 it would otherwise ignore
//! them and hold up every Pod deletion for its grace period), or, with `--shutdown-delay=N`
//! (seconds), after N seconds during which it keeps serving and `/readyz` answers 503: the time
//! kube-proxy needs to stop sending it new connections, so a rolling update drops no request.
//!
//! Two tools beside the server, since the image has no shell:
//! `bosun-echo --resolve=NAME [--resolve=NAME ...]` looks each name up
//! through the C library's resolver (musl's: the Pod's /etc/resolv.conf, its nameserver, search
//! path and ndots), prints `NAME -> ADDRESSES` and exits non-zero if a name did not resolve.
//! `bosun-echo --inspect=N` prints what the kernel says of process N (with `kubectl debug
//! --target`, another container's): its uid and gid, no_new_privs, effective capabilities, and
//! whether its root filesystem is mounted read-only, as `key=value` lines.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

/// Whether `/readyz` answers 200.
static READY: AtomicBool = AtomicBool::new(true);
/// The write end of the pipe the signal handler wakes the shutdown thread through.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--resolve="))
        .collect();
    if !names.is_empty() {
        std::process::exit(resolve(&names));
    }
    if let Some(pid) = flag(&args, "--inspect") {
        std::process::exit(inspect(&pid));
    }
    let delay = flag(&args, "--shutdown-delay")
        .or_else(|| std::env::var("SHUTDOWN_DELAY").ok())
        .and_then(|d| d.trim_end_matches('s').parse::<u64>().ok())
        .unwrap_or(0);
    install_signal_handlers(Duration::from_secs(delay));
    let port = port(args.into_iter(), std::env::var("PORT").ok());
    let name = pod_name();
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bosun-echo: listen on :{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("bosun-echo: {name} listening on :{port}");
    for stream in listener.incoming().flatten() {
        let name = name.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &name) {
                eprintln!("bosun-echo: {e}");
            }
        });
    }
}

/// Reads one request (line and headers) and answers it; the connection is then closed.
fn serve(stream: TcpStream, name: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let peer = stream.peer_addr()?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line.trim_end() != "" {
        line.clear();
    }
    let request = request.trim_end();
    println!("{peer} {request}");
    let (status, body) = response(request, name);
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !request.starts_with("HEAD ") {
        out.write_all(body.as_bytes())?;
    }
    out.flush()
}

/// The status line's tail and the body for a request line.
fn response(request: &str, name: &str) -> (&'static str, String) {
    let mut parts = request.split(' ');
    let (Some(_method), Some(path)) = (parts.next(), parts.next()) else {
        return ("400 Bad Request", "bad request\n".to_string());
    };
    match path.split('?').next().unwrap_or_default() {
        "/readyz" if READY.load(Ordering::SeqCst) => ("200 OK", "ok\n".to_string()),
        "/readyz" => ("503 Service Unavailable", "not ready\n".to_string()),
        "/unready" => {
            READY.store(false, Ordering::SeqCst);
            ("200 OK", format!("{name} unready\n"))
        }
        "/ready" => {
            READY.store(true, Ordering::SeqCst);
            ("200 OK", format!("{name} ready\n"))
        }
        _ => ("200 OK", format!("{name}\n")),
    }
}

/// The value of `--name=value` among the arguments.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// `--resolve=NAME...`: the exit code (1 when a name did not resolve).
fn resolve(names: &[&str]) -> i32 {
    use std::net::ToSocketAddrs;
    let mut code = 0;
    for name in names {
        match (*name, 0).to_socket_addrs() {
            Ok(addrs) => {
                let mut ips: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
                ips.sort();
                ips.dedup();
                println!("{name} -> {}", ips.join(" "));
            }
            Err(e) => {
                println!("{name} -> {e}");
                code = 1;
            }
        }
    }
    code
}

/// `--inspect=N`: the exit code.
fn inspect(pid: &str) -> i32 {
    let read = |file: &str| std::fs::read_to_string(format!("/proc/{pid}/{file}"));
    let (status, mounts) = match (read("status"), read("mountinfo")) {
        (Ok(s), Ok(m)) => (s, m),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("bosun-echo: reading /proc/{pid}: {e}");
            return 1;
        }
    };
    print!("{}", inspect_report(&status, &mounts));
    0
}

/// `key=value` lines from a /proc/N/status and /proc/N/mountinfo.
fn inspect_report(status: &str, mountinfo: &str) -> String {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(","))
            .unwrap_or_default()
    };
    // mountinfo: id parent major:minor root mount-point options ...; the process's "/" is the
    // last mount of "/" listed.
    let root = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/"))
        .and_then(|l| l.split(' ').nth(5))
        .map(|opts| {
            if opts.split(',').any(|o| o == "ro") {
                "ro"
            } else {
                "rw"
            }
        })
        .unwrap_or("unknown");
    format!(
        "name={}\nuid={}\ngid={}\nno_new_privs={}\ncap_eff={}\nrootfs={root}\n",
        field("Name"),
        field("Uid"),
        field("Gid"),
        field("NoNewPrivs"),
        field("CapEff")
    )
}

fn port(args: impl Iterator<Item = String>, env: Option<String>) -> u16 {
    let mut port = env.and_then(|p| p.parse().ok()).unwrap_or(8080);
    for a in args {
        if let Some(p) = a.strip_prefix("--http-port=").and_then(|p| p.parse().ok()) {
            port = p;
        }
    }
    port
}

fn pod_name() -> String {
    if let Ok(n) = std::env::var("POD_NAME")
        && !n.is_empty()
    {
        return n;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

unsafe extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn _exit(status: i32) -> !;
}

extern "C" fn exit_now(_: i32) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { _exit(0) }
}

extern "C" fn wake_shutdown(_: i32) {
    let fd = SIGNAL_PIPE.load(Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; the fd stays open for the process's life.
    unsafe {
        write(fd, b"x".as_ptr(), 1);
    }
}

/// SIGTERM/SIGINT: exit at once, or after `delay` (unready, still serving) when it is not zero.
/// The handler only writes a byte to a socket pair (a self-pipe); a thread waits on the other end.
fn install_signal_handlers(delay: Duration) {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    let handler: extern "C" fn(i32) = if delay.is_zero() {
        exit_now
    } else {
        match std::os::unix::net::UnixStream::pair() {
            Ok((tx, mut rx)) => {
                SIGNAL_PIPE.store(tx.as_raw_fd(), Ordering::SeqCst);
                std::mem::forget(tx);
                std::thread::spawn(move || {
                    let mut byte = [0u8; 1];
                    let _ = std::io::Read::read(&mut rx, &mut byte);
                    READY.store(false, Ordering::SeqCst);
                    println!("bosun-echo: terminating in {}s, unready", delay.as_secs());
                    std::thread::sleep(delay);
                    std::process::exit(0);
                });
                wake_shutdown
            }
            Err(e) => {
                eprintln!("bosun-echo: no shutdown delay ({e}): exiting on SIGTERM at once");
                exit_now
            }
        }
    };
    // SAFETY: the handlers only call async-signal-safe functions (_exit, write).
    unsafe {
        signal(SIGINT, handler);
        signal(SIGTERM, handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_the_pod_name() {
        assert_eq!(
            response("GET / HTTP/1.1", "web-1"),
            ("200 OK", "web-1\n".to_string())
        );
        assert_eq!(response("GET /hostname HTTP/1.0", "web-1").1, "web-1\n");
        assert_eq!(response("", "web-1").0, "400 Bad Request");
    }

    #[test]
    fn readyz_follows_unready_and_ready() {
        assert_eq!(response("GET /readyz HTTP/1.1", "w").0, "200 OK");
        response("GET /unready HTTP/1.1", "w");
        assert_eq!(
            response("GET /readyz HTTP/1.1", "w").0,
            "503 Service Unavailable"
        );
        assert_eq!(response("GET / HTTP/1.1", "w").1, "w\n");
        response("GET /ready HTTP/1.1", "w");
        assert_eq!(response("GET /readyz HTTP/1.1", "w").0, "200 OK");
    }

    #[test]
    fn inspect_reads_ids_privileges_and_the_root_mount() {
        let status = "Name:\tbosun\nUid:\t65532\t65532\t65532\t65532\nGid:\t65532\t65532\t65532\t65532\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n";
        let mounts = "1 0 0:1 / / rw,relatime - overlay overlay rw\n2 1 0:2 / / ro,relatime - overlay overlay rw\n3 2 0:3 / /proc rw - proc proc rw\n";
        assert_eq!(
            inspect_report(status, mounts),
            "name=bosun\nuid=65532,65532,65532,65532\ngid=65532,65532,65532,65532\nno_new_privs=1\ncap_eff=0000000000000000\nrootfs=ro\n"
        );
        assert!(inspect_report(status, "").ends_with("rootfs=unknown\n"));
    }

    #[test]
    fn port_from_flag_env_or_default() {
        let none = std::iter::empty::<String>;
        assert_eq!(port(none(), None), 8080);
        assert_eq!(port(none(), Some("9000".into())), 9000);
        assert_eq!(
            port(
                ["--http-port=8081".to_string()].into_iter(),
                Some("9000".into())
            ),
            8081
        );
    }
}
