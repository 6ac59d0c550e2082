//! CA certificates for `https://` state branches: libgit2 starts without them (so `git://`
//! remotes never pay for parsing a bundle), and they are handed over before the first TLS
//! connection — `SSL_CERT_FILE` when set, the system's otherwise. A TLS server on loopback
//! (`openssl s_server` with a self-signed certificate) tells the two apart: trusted, the
//! handshake succeeds and the request fails later, on the HTTP answer; untrusted, the
//! handshake fails. Skipped when the `openssl` command is missing (fails under CI=true).
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(args: &[&str], dir: &Path) -> Option<bool> {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()
        .map(|s| s.success())
}

/// A self-signed certificate for 127.0.0.1 in `dir/cert.pem`, served over TLS; `None` when
/// `openssl` cannot be run.
fn tls_server(dir: &Path) -> Option<TlsServer> {
    let made = openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        dir,
    )?;
    assert!(made, "openssl could not make a certificate");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new("openssl")
        .args([
            "s_server", "-quiet", "-www", "-cert", "cert.pem", "-key", "key.pem",
        ])
        .args(["-accept", &port.to_string()])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start openssl s_server");
    let server = TlsServer { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "s_server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn pull(root: &Path, port: u16, cert_file: Option<&Path>) -> String {
    let mut cmd = Command::new(common::wave_bin());
    cmd.arg("--repo-root")
        .arg(root)
        .arg("--store")
        .arg(format!("git:https://127.0.0.1:{port}/r.git#wave-state"))
        .args(["state", "pull"])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env_remove("WAVE_GIT_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("WAVE_STORE")
        .env("WAVE_GIT_TIMEOUT_SECS", "20")
        .stdin(Stdio::null());
    if let Some(file) = cert_file {
        cmd.env("SSL_CERT_FILE", file);
    }
    let out = cmd.output().expect("run wave");
    assert!(!out.status.success(), "no git server there: pull must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn https_remotes_check_certificates_against_ssl_cert_file_or_the_system() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(server) = tls_server(dir.path()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl is needed for this test under CI"
        );
        return;
    };
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("root");

    let trusted = pull(&root, server.port, Some(&dir.path().join("cert.pem")));
    assert!(
        !trusted.contains("certificate"),
        "the certificate in SSL_CERT_FILE was not used: {trusted}"
    );
    assert!(trusted.contains("content-type"), "{trusted}");

    let untrusted = pull(&root, server.port, None);
    assert!(
        untrusted.contains("certificate"),
        "a self-signed certificate passed with the system's CAs: {untrusted}"
    );
}
