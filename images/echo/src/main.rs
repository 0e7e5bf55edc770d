//! The echo server of bosun's images (`bosun.local/echo`): answers every HTTP request with
//! `200 OK` and its Pod's name, like the tutorial's `agnhost netexec` does on `/hostname`.
//!
//! The name comes from `POD_NAME` (the downward API), else from the hostname (a Pod's hostname
//! is its name). The port is `--http-port=N` (agnhost's flag), else `PORT`, else 8080. Each
//! request is logged on stdout. SIGTERM and SIGINT end it at once: as a container's PID 1 it
//! would otherwise ignore them and hold up every Pod deletion for its grace period.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

fn main() {
    install_signal_handlers();
    let port = port(std::env::args().skip(1), std::env::var("PORT").ok());
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
    if request.split(' ').count() < 2 {
        return ("400 Bad Request", "bad request\n".to_string());
    }
    ("200 OK", format!("{name}\n"))
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
    fn _exit(status: i32) -> !;
}

extern "C" fn exit_now(_: i32) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { _exit(0) }
}

fn install_signal_handlers() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    // SAFETY: the handler only calls _exit.
    unsafe {
        signal(SIGINT, exit_now);
        signal(SIGTERM, exit_now);
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
