//! Pushes to `git://` remotes over a connection this module owns, so that a push is one
//! request and one answer on the wire, without the stalls of small TCP segments.
//!
//! libgit2 writes a pack as many small pieces (a 2-byte header, then the object) and its socket
//! keeps Nagle's algorithm on: every piece after the first waits for the server to acknowledge
//! the previous one, and the server delays that acknowledgement (40 ms on Linux). The server
//! answers in small pieces too, which wait for this side's delayed acknowledgement. Here the
//! request (commands and pack) is collected in memory and written at once on a socket with
//! `TCP_NODELAY`, and every read asks for immediate acknowledgements (`TCP_QUICKACK`).
//!
//! The transport is registered under the private scheme [`SCHEME`]; [`push_url`] maps a
//! `git://` URL onto it. It speaks the git protocol as a stateless request/answer pair: the
//! reference advertisement (presented to libgit2 as the smart HTTP protocol presents it), then
//! the commands and pack, then the server's report. Fetches keep libgit2's own transport.
//!
//! Must not: log or keep what crosses the wire; be used for anything but `git-receive-pack`.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{Error, ErrorClass, ErrorCode};

/// The URL scheme this transport is registered under.
pub(super) const SCHEME: &str = "wave-git";

/// The network timeout for connections of this transport, in milliseconds.
static TIMEOUT_MS: Mutex<u64> = Mutex::new(30_000);

/// Whether [`register`] succeeded in this process.
static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets how long a connection may take to open, and to stay silent between two reads or writes.
pub(super) fn set_timeout(timeout: Duration) {
    let ms = u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    *TIMEOUT_MS.lock().unwrap_or_else(PoisonError::into_inner) = ms;
}

fn timeout() -> Duration {
    Duration::from_millis(*TIMEOUT_MS.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Registers the transport with libgit2. Call once per process, before any push.
///
/// # Safety
///
/// libgit2's transport registry is not synchronised: no other thread may use libgit2 meanwhile.
pub(super) unsafe fn register() -> Result<(), Error> {
    // SAFETY: the caller guarantees exclusive use of libgit2 during the call.
    unsafe {
        git2::transport::register(SCHEME, |remote| {
            Transport::smart(remote, true, PushOverGit::default())
        })
    }?;
    REGISTERED.store(true, std::sync::atomic::Ordering::Release);
    Ok(())
}

/// The URL that routes a push to `url` through this transport: `Some` for a `git://` URL once
/// the transport is registered.
pub(super) fn push_url(url: &str) -> Option<String> {
    if !REGISTERED.load(std::sync::atomic::Ordering::Acquire) {
        return None;
    }
    let rest = url.strip_prefix("git://")?;
    Some(format!("{SCHEME}://{rest}"))
}

/// One push: the connection opened for the advertisement, reused for the request.
#[derive(Default)]
struct PushOverGit {
    conn: Mutex<Option<Arc<TcpStream>>>,
}

impl SmartSubtransport for PushOverGit {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, Error> {
        let mut slot = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        match action {
            Service::ReceivePackLs => {
                let target = Target::parse(url)?;
                let tcp = Arc::new(target.connect()?);
                *slot = Some(Arc::clone(&tcp));
                // Stateless callers expect the advertisement to open with the service line.
                let service = "# service=git-receive-pack\n";
                let prefix = format!("{:04x}{service}0000", service.len() + 4).into_bytes();
                Ok(Box::new(Wire::new(tcp, prefix)))
            }
            Service::ReceivePack => match slot.as_ref() {
                Some(tcp) => Ok(Box::new(Wire::new(Arc::clone(tcp), Vec::new()))),
                None => Err(net_error("push request without an advertisement")),
            },
            Service::UploadPackLs | Service::UploadPack => {
                Err(net_error("this transport only pushes"))
            }
        }
    }

    fn close(&self) -> Result<(), Error> {
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }
}

/// Where to connect and what to ask for.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `host` or `host:port` as written in the URL (sent as the virtual host).
    authority: String,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, Error> {
        let rest = url
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix("://"))
            .ok_or_else(|| net_error("not a git:// URL"))?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6
                    .split_once(']')
                    .ok_or_else(|| net_error("unclosed `[` in the host"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| net_error("invalid port"))?,
            None => 9418,
        };
        if host.is_empty() || path.is_empty() {
            return Err(net_error("the URL names no host or no repository"));
        }
        Ok(Self {
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// Connects and sends the request line of the git protocol.
    fn connect(&self) -> Result<TcpStream, Error> {
        let limit = timeout();
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| net_error(&format!("cannot resolve {}: {e}", self.host)))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, limit) {
                Ok(tcp) => {
                    let setup = tcp
                        .set_nodelay(true)
                        .and_then(|()| tcp.set_read_timeout(Some(limit)))
                        .and_then(|()| tcp.set_write_timeout(Some(limit)));
                    setup.map_err(|e| io_error(&e))?;
                    let line = format!("git-receive-pack {}\0host={}\0", self.path, self.authority);
                    let request = format!("{:04x}{line}", line.len() + 4);
                    (&tcp)
                        .write_all(request.as_bytes())
                        .map_err(|e| io_error(&e))?;
                    return Ok(tcp);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => io_error(&e),
            None => net_error(&format!("{} has no address", self.host)),
        })
    }
}

/// One direction of libgit2's use of the connection: writes are collected and sent at once
/// before the next read (or when the stream is dropped).
struct Wire {
    tcp: Arc<TcpStream>,
    prefix: Vec<u8>,
    prefix_read: usize,
    out: Vec<u8>,
}

impl Wire {
    fn new(tcp: Arc<TcpStream>, prefix: Vec<u8>) -> Self {
        Self {
            tcp,
            prefix,
            prefix_read: 0,
            out: Vec::new(),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let out = std::mem::take(&mut self.out);
            (&*self.tcp).write_all(&out).map_err(timed_out)?;
        }
        Ok(())
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.send()?;
        if let Some(rest) = self
            .prefix
            .get(self.prefix_read..)
            .filter(|r| !r.is_empty())
        {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.prefix_read += n;
            return Ok(n);
        }
        // Acknowledge what arrives at once: the server writes its answer in small pieces, and
        // each would otherwise wait for this side's delayed acknowledgement of the previous one.
        // A failure here only costs time.
        let _ = rustix::net::sockopt::set_tcp_quickack(&*self.tcp, true);
        (&*self.tcp).read(buf).map_err(timed_out)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        // A request libgit2 wrote but never read an answer to still goes out.
        let _ = self.send();
    }
}

/// A socket timeout reads as "timed out", which the store reports as an unanswered remote.
fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            io::Error::new(io::ErrorKind::TimedOut, "the remote timed out")
        }
        _ => e,
    }
}

fn io_error(e: &io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            net_error("failed to connect: the connection timed out")
        }
        _ => net_error(&e.to_string()),
    }
}

fn net_error(message: &str) -> Error {
    Error::new(ErrorCode::GenericError, ErrorClass::Net, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_map_onto_the_scheme_and_parse_back() {
        super::super::init_libgit2();
        let url = push_url("git://127.0.0.1:19431/repo.git").expect("git url");
        assert_eq!(url, "wave-git://127.0.0.1:19431/repo.git");
        assert_eq!(
            Target::parse(&url).ok(),
            Some(Target {
                authority: "127.0.0.1:19431".into(),
                host: "127.0.0.1".into(),
                port: 19431,
                path: "/repo.git".into(),
            })
        );
        let v6 = Target::parse("wave-git://[::1]/r.git").expect("v6");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 9418));
        assert!(push_url("https://h/r.git").is_none());
        for bad in ["wave-git://h", "wave-git:///r.git", "wave-git://h:x/r.git"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
