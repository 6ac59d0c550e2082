//! Real git servers on loopback for tests, started and stopped by the tests themselves:
//! `git daemon --enable=receive-pack` (anonymous push) and `git http-backend` behind a tiny
//! HTTP server that checks a basic-auth token. Ports are picked free; every server is killed
//! on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The token the HTTP server accepts (user `x-access-token`).
pub const GOOD_TOKEN: &str = "good-token-5f1c2a";

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

fn git(args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("run git");
    assert!(status.success(), "git {args:?} failed");
}

/// `git-daemon` itself: `git daemon` would fork it, and killing `git` would leave it running.
fn daemon_binary() -> PathBuf {
    let out = Command::new("git")
        .arg("--exec-path")
        .output()
        .expect("git --exec-path");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("git-daemon")
}

fn wait_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("git server exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("git server did not listen on port {port} within 20 s");
}

/// Which server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Daemon,
    Http,
}

/// A bare repository served on loopback.
pub struct GitServer {
    base: tempfile::TempDir,
    port: u16,
    kind: Kind,
    child: Option<Child>,
}

impl GitServer {
    /// `git daemon --enable=receive-pack` serving an empty `repo.git`.
    pub fn daemon() -> Self {
        Self::start(Kind::Daemon)
    }

    /// `git http-backend` behind basic auth ([`GOOD_TOKEN`]) serving an empty `repo.git`.
    pub fn http() -> Self {
        Self::start(Kind::Http)
    }

    fn start(kind: Kind) -> Self {
        let base = tempfile::tempdir().expect("temp dir");
        let repo = base.path().join("repo.git");
        let repo_s = repo.to_str().expect("utf-8 path");
        git(&["init", "--quiet", "--bare", repo_s]);
        // Belt and braces: the server also refuses non-fast-forward updates.
        git(&[
            "--git-dir",
            repo_s,
            "config",
            "receive.denyNonFastForwards",
            "true",
        ]);
        git(&["--git-dir", repo_s, "config", "http.receivepack", "true"]);
        // A test server on a shared build machine: no automatic gc after pushes (it would
        // compete with the writers) and no fsync (the repository is thrown away).
        git(&["--git-dir", repo_s, "config", "receive.autogc", "false"]);
        git(&["--git-dir", repo_s, "config", "core.fsync", "none"]);
        let mut server = Self {
            base,
            port: free_port(),
            kind,
            child: None,
        };
        server.restart();
        server
    }

    /// Starts the server again on the same port (after [`GitServer::stop`]).
    pub fn restart(&mut self) {
        let base = self.base.path().to_str().expect("utf-8 path").to_owned();
        let mut child = match self.kind {
            Kind::Daemon => Command::new(daemon_binary())
                .args([
                    "--reuseaddr",
                    "--listen=127.0.0.1",
                    &format!("--port={}", self.port),
                    &format!("--base-path={base}"),
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                    &base,
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start git daemon"),
            Kind::Http => {
                let script = self.base.path().join("http_server.py");
                std::fs::write(&script, HTTP_SERVER).expect("write the http server");
                Command::new("python3")
                    .arg(&script)
                    .arg(self.port.to_string())
                    .arg(&base)
                    .arg(GOOD_TOKEN)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start the http server")
            }
        };
        wait_listening(self.port, &mut child);
        self.child = Some(child);
    }

    /// Stops the server; the repository stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // The port is free once nothing accepts connections on it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The remote URL of the served repository.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Daemon => format!("git://127.0.0.1:{}/repo.git", self.port),
            Kind::Http => format!("http://127.0.0.1:{}/repo.git", self.port),
        }
    }

    /// `git:<url>#<branch>`.
    pub fn spec(&self, branch: &str) -> String {
        format!("git:{}#{branch}", self.url())
    }

    /// The served bare repository.
    pub fn repo(&self) -> PathBuf {
        self.base.path().join("repo.git")
    }

    /// The files of `branch` on the server: (path, content), sorted by path.
    pub fn files(&self, branch: &str) -> Vec<(String, String)> {
        files_of(&self.repo(), branch)
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A listener on loopback that accepts every connection and never sends a byte: a remote
/// that hangs. Connections are held open until it is dropped.
pub struct SilentListener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentListener {
    /// Listens on `port` (of a stopped [`GitServer`], say).
    pub fn bind(port: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the silent listener");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The files of `branch` in the bare repository at `repo`.
pub fn files_of(repo: &Path, branch: &str) -> Vec<(String, String)> {
    let git_dir = repo.to_str().expect("utf-8 path");
    let out = Command::new("git")
        .args(["--git-dir", git_dir, "ls-tree", "-r", "--name-only", branch])
        .output()
        .expect("git ls-tree");
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|path| {
            let blob = Command::new("git")
                .args(["--git-dir", git_dir, "show", &format!("{branch}:{path}")])
                .output()
                .expect("git show");
            (
                path.to_owned(),
                String::from_utf8_lossy(&blob.stdout).into_owned(),
            )
        })
        .collect()
}

/// A minimal HTTP server running `git http-backend` as CGI, accepting only basic auth with
/// user `x-access-token` and the token given on its command line.
const HTTP_SERVER: &str = r#"
import base64, http.server, os, subprocess, sys

PORT, ROOT, TOKEN = int(sys.argv[1]), sys.argv[2], sys.argv[3]
GOOD = "Basic " + base64.b64encode(("x-access-token:" + TOKEN).encode()).decode()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *args):
        pass
    def handle_any(self):
        if self.headers.get("Authorization") != GOOD:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        env = dict(os.environ)
        env.update({
            "GIT_PROJECT_ROOT": ROOT, "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "x-access-token",
            "REQUEST_METHOD": self.command, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding") or "",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol") or "",
        })
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            if not line:
                continue
            name, _, value = line.decode().partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
    do_GET = handle_any
    do_POST = handle_any

http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
"#;
