//! Talking to the remote: fetch the state branch, push it without force, and read the per-ref
//! status the server sends back. Credentials come from a token through the credentials callback
//! and are offered once; a refused token ends the operation at once.
//!
//! Must not: put the token in a URL, a message or anything written to disk.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use git2::{AutotagOption, Cred, CredentialType, FetchOptions, PushOptions, RemoteCallbacks};

/// The environment variable holding the network timeout, in seconds.
pub const TIMEOUT_VAR: &str = "WAVE_GIT_TIMEOUT_SECS";

/// How long to wait for a connection, and between two reads or writes of one, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `1.5 s`, `30 s`.
fn show_duration(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The user name sent with a token (GitHub's convention for installation and job tokens).
pub const TOKEN_USER: &str = "x-access-token";

/// A token, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    /// The environment variable it came from, for messages.
    pub source: &'static str,
}

impl Token {
    /// A token read from `source`.
    pub fn new(value: impl Into<String>, source: &'static str) -> Self {
        Self {
            value: value.into(),
            source,
        }
    }

    /// Replaces every occurrence of the token in `text`, so no message can carry it.
    pub fn scrub(&self, text: &str) -> String {
        if self.value.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.value, "***")
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(from {}, redacted)", self.source)
    }
}

/// Why the git-branch store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitStoreError {
    /// The server refused the token.
    #[error(
        "{remote} refused the token from ${source_var}: check that it is valid and may push to the repository"
    )]
    AuthRefused {
        /// The remote (without credentials).
        remote: String,
        /// The variable the token came from.
        source_var: &'static str,
    },
    /// The server wants credentials and none were given.
    #[error(
        "{remote} asks for credentials: set WAVE_GIT_TOKEN (or GITHUB_TOKEN) to a token that may push to the repository"
    )]
    AuthMissing {
        /// The remote (without credentials).
        remote: String,
    },
    /// The remote accepted the connection (or not) but did not answer in time.
    #[error(
        "cannot {action} {remote}: no answer within {}; check that the server is up, or raise {TIMEOUT_VAR} (seconds) to wait longer",
        show_duration(*after)
    )]
    TimedOut {
        /// `fetch from` or `push to`.
        action: &'static str,
        /// The remote (without credentials).
        remote: String,
        /// The timeout that ran out (on connecting, or between two reads or writes).
        after: Duration,
    },
    /// The remote could not be reached or answered with an error.
    #[error("cannot {action} {remote}: {message}")]
    Unreachable {
        /// `fetch from` or `push to`.
        action: &'static str,
        /// The remote (without credentials).
        remote: String,
        /// What the transport said.
        message: String,
    },
    /// A local git operation on the cache failed.
    #[error("git failed to {action} in the state cache {cache}: {message}")]
    Local {
        /// What was being done.
        action: &'static str,
        /// The cache directory.
        cache: String,
        /// What libgit2 said.
        message: String,
    },
    /// The branch holds a newer store format than this build writes.
    #[error(
        "the state branch's format marker {location} declares format {found}, newer than {supported}: upgrade wave-runner before writing to it"
    )]
    NewerFormat {
        /// The marker.
        location: String,
        /// The declared format.
        found: u64,
        /// The newest format this build writes.
        supported: u64,
    },
    /// The network timeout setting is not a positive number of seconds.
    #[error("{TIMEOUT_VAR}={value} is not a positive number of seconds (e.g. 30 or 2.5)")]
    InvalidTimeout {
        /// The value as set.
        value: String,
    },
    /// The store spec is malformed.
    #[error("invalid git store spec: {reason}; the form is `git:<remote-url>[#<branch>]`")]
    InvalidSpec {
        /// What is wrong (never the spec itself, which may hold a secret).
        reason: String,
    },
}

impl GitStoreError {
    /// Whether the error is about credentials (retrying cannot help).
    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            GitStoreError::AuthRefused { .. } | GitStoreError::AuthMissing { .. }
        )
    }
}

/// What the server said about a pushed ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PushOutcome {
    /// The ref now points at the pushed commit.
    Accepted,
    /// The ref moved meanwhile (or the server refused it): fetch, rebuild and retry.
    Rejected(String),
}

/// How the credentials callback fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthState {
    NotAsked,
    Offered,
    Refused,
    Missing,
    Unsupported,
}

/// Where the server certificates of `http(s)://` remotes are checked: `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` as the command found them, else the system's certificates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaLocations {
    /// A bundle of CA certificates (PEM), parsed in full when loaded.
    pub file: Option<PathBuf>,
    /// A directory of CA certificates under OpenSSL's hashed names, read one by one on demand.
    pub dir: Option<PathBuf>,
}

/// Directories where systems keep CA certificates under OpenSSL's hashed names.
const HASHED_CA_DIRS: [&str; 3] = ["/etc/ssl/certs", "/etc/openssl/certs", "/etc/pki/tls/certs"];

/// Where systems keep their CA bundle, for systems without a hashed directory.
const CA_BUNDLES: [&str; 7] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
];

impl CaLocations {
    /// The locations `SSL_CERT_FILE` and `SSL_CERT_DIR` name in `env` (none: the system's).
    pub fn from_env(env: &crate::settings::EnvSnapshot) -> Self {
        let [file, dir] = crate::settings::CA_VARS.map(|var| env.get(var).map(PathBuf::from));
        Self { file, dir }
    }

    /// The locations to load: the configured ones when either is set, else the system's
    /// hashed directory (cheap: certificates are read on demand), else its bundle.
    fn resolve(&self) -> Self {
        if self.file.is_some() || self.dir.is_some() {
            return self.clone();
        }
        if let Some(dir) = HASHED_CA_DIRS
            .into_iter()
            .map(Path::new)
            .find(|dir| holds_hashed_names(dir))
        {
            return Self {
                file: None,
                dir: Some(dir.to_owned()),
            };
        }
        Self {
            file: CA_BUNDLES
                .into_iter()
                .map(PathBuf::from)
                .find(|f| f.is_file()),
            dir: None,
        }
    }
}

/// Whether `dir` holds a certificate under a hashed name (`1a2b3c4d.0`).
fn holds_hashed_names(dir: &Path) -> bool {
    let hashed = |name: &std::ffi::OsStr| {
        let name = name.to_string_lossy();
        name.split_once('.').is_some_and(|(hash, n)| {
            hash.len() == 8
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && n.parse::<u8>().is_ok()
        })
    };
    std::fs::read_dir(dir)
        .is_ok_and(|mut entries| entries.any(|e| e.is_ok_and(|e| hashed(&e.file_name()))))
}

/// Whether `url` may involve TLS (an `http://` remote can redirect to `https://`).
fn may_use_tls(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
}

/// Whether the CA locations were handed to libgit2 in this process.
static TLS_READY: Mutex<bool> = Mutex::new(false);

/// A remote and the credentials to reach it.
pub(super) struct Remote<'s> {
    /// The URL as configured (never holding a password).
    pub url: &'s str,
    /// The URL for messages.
    pub shown: &'s str,
    /// The branch on the remote.
    pub branch: &'s str,
    /// The token, when one is set.
    pub token: Option<&'s Token>,
    /// How long to wait for the connection, and between two reads or writes on it.
    pub timeout: Duration,
    /// Where TLS server certificates are checked.
    pub ca: &'s CaLocations,
}

/// The network timeout last handed to libgit2, in milliseconds.
static APPLIED_TIMEOUT: Mutex<Option<i32>> = Mutex::new(None);

/// Makes libgit2 give up on a connection that is not established within `timeout`, or that
/// stays silent for `timeout` between two reads or writes (a server that accepts and never
/// answers would otherwise hold the command forever).
fn apply_timeout(timeout: Duration) {
    let ms = i32::try_from(timeout.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    let mut applied = APPLIED_TIMEOUT
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if *applied == Some(ms) {
        return;
    }
    // SAFETY: both options are plain `int`s in libgit2, read when a connection is opened. This
    // is the only place in the process that writes them, under `APPLIED_TIMEOUT`, and it writes
    // only when the value changes (once per process unless stores with different timeouts are
    // used). Neither call can fail for these options.
    unsafe {
        let _ = git2::opts::set_server_connect_timeout_in_milliseconds(ms);
        let _ = git2::opts::set_server_timeout_in_milliseconds(ms);
    }
    super::wire::set_timeout(timeout);
    *applied = Some(ms);
}

impl Remote<'_> {
    /// Hands the CA locations to libgit2 before the first `http(s)://` connection of the
    /// process: libgit2 was initialised without them (see
    /// [`crate::settings::with_ca_locations_hidden`]), so other remotes never pay for them.
    fn prepare_tls(&self, action: &'static str) -> Result<(), GitStoreError> {
        if !may_use_tls(self.url) {
            return Ok(());
        }
        let mut ready = TLS_READY.lock().unwrap_or_else(PoisonError::into_inner);
        if *ready {
            return Ok(());
        }
        let ca = self.ca.resolve();
        let failed = |what: &Path, e: git2::Error| GitStoreError::Unreachable {
            action,
            remote: self.shown.to_owned(),
            message: format!(
                "cannot load the CA certificates in {}: {}; check SSL_CERT_FILE and SSL_CERT_DIR",
                what.display(),
                e.message()
            ),
        };
        // SAFETY: libgit2 reads these settings when it opens a TLS connection. They are
        // written once per process, here, under `TLS_READY`, before any TLS connection of
        // this module is opened (every one comes through this function first).
        unsafe {
            if let Some(file) = &ca.file {
                git2::opts::set_ssl_cert_file(file).map_err(|e| failed(file, e))?;
            }
            if let Some(dir) = &ca.dir {
                git2::opts::set_ssl_cert_dir(dir).map_err(|e| failed(dir, e))?;
            }
        }
        *ready = true;
        Ok(())
    }

    /// Fetches the branch into `into` (a ref of `repo`), forced: the remote is the authority.
    /// A branch the remote does not have yet leaves `into` as it is.
    pub fn fetch(&self, repo: &git2::Repository, into: &str) -> Result<(), GitStoreError> {
        let auth = Cell::new(AuthState::NotAsked);
        apply_timeout(self.timeout);
        self.prepare_tls("fetch from")?;
        let mut remote = repo
            .remote_anonymous(self.url)
            .map_err(|e| self.transport_error("fetch from", &e, &auth))?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks(&auth, None));
        options.download_tags(AutotagOption::None);
        let spec = format!("+refs/heads/{}:{into}", self.branch);
        remote
            .fetch(&[spec.as_str()], Some(&mut options), None)
            .map_err(|e| self.transport_error("fetch from", &e, &auth))
    }

    /// Pushes `local` (a ref of `repo`) to the branch without force and reads the per-ref
    /// status: `push()` itself succeeds even when the server refuses the ref.
    pub fn push(&self, repo: &git2::Repository, local: &str) -> Result<PushOutcome, GitStoreError> {
        let auth = Cell::new(AuthState::NotAsked);
        let status: RefCell<Option<String>> = RefCell::new(None);
        apply_timeout(self.timeout);
        self.prepare_tls("push to")?;
        // `git://`: through the transport that sends the request in one piece.
        let url = super::wire::push_url(self.url);
        let mut remote = repo
            .remote_anonymous(url.as_deref().unwrap_or(self.url))
            .map_err(|e| self.transport_error("push to", &e, &auth))?;
        let mut options = PushOptions::new();
        options.remote_callbacks(self.callbacks(&auth, Some(&status)));
        let spec = format!("{local}:refs/heads/{}", self.branch);
        let pushed = remote.push(&[spec.as_str()], Some(&mut options));
        drop(options);
        match pushed {
            Ok(()) => match status.take() {
                Some(reason) => Ok(PushOutcome::Rejected(self.scrub(&reason))),
                None => Ok(PushOutcome::Accepted),
            },
            Err(e) if is_rejection(&e) => Ok(PushOutcome::Rejected(self.scrub(e.message()))),
            Err(e) => Err(self.transport_error("push to", &e, &auth)),
        }
    }

    fn callbacks<'c>(
        &'c self,
        auth: &'c Cell<AuthState>,
        status: Option<&'c RefCell<Option<String>>>,
    ) -> RemoteCallbacks<'c> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |_url, _user, allowed| {
            if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                auth.set(AuthState::Unsupported);
                return Err(git2::Error::from_str(
                    "the remote asks for a kind of credential other than a token",
                ));
            }
            match (self.token, auth.get()) {
                (None, _) => {
                    auth.set(AuthState::Missing);
                    Err(git2::Error::from_str("no token to offer"))
                }
                // Offered once and asked again: the server refused it. Stop here, or libgit2
                // would keep asking.
                (Some(_), AuthState::Offered | AuthState::Refused) => {
                    auth.set(AuthState::Refused);
                    Err(git2::Error::from_str("the token was refused"))
                }
                (Some(token), _) => {
                    auth.set(AuthState::Offered);
                    Cred::userpass_plaintext(TOKEN_USER, &token.value)
                }
            }
        });
        if let Some(status) = status {
            callbacks.push_update_reference(move |_refname, message| {
                if let Some(message) = message {
                    *status.borrow_mut() = Some(message.to_owned());
                }
                Ok(())
            });
        }
        callbacks
    }

    fn scrub(&self, text: &str) -> String {
        match self.token {
            Some(token) => token.scrub(text),
            None => text.to_owned(),
        }
    }

    fn transport_error(
        &self,
        action: &'static str,
        error: &git2::Error,
        auth: &Cell<AuthState>,
    ) -> GitStoreError {
        let remote = self.shown.to_owned();
        match auth.get() {
            AuthState::Refused => GitStoreError::AuthRefused {
                remote,
                source_var: self.token.map_or("WAVE_GIT_TOKEN", |t| t.source),
            },
            AuthState::Missing => GitStoreError::AuthMissing { remote },
            _ if error.code() == git2::ErrorCode::Auth => match self.token {
                Some(token) => GitStoreError::AuthRefused {
                    remote,
                    source_var: token.source,
                },
                None => GitStoreError::AuthMissing { remote },
            },
            // A silent connection ends with GIT_TIMEOUT; one never established, with a
            // generic network error saying it timed out.
            _ if error.code() == git2::ErrorCode::Timeout
                || (error.class() == git2::ErrorClass::Net
                    && error.message().contains("timed out")) =>
            {
                GitStoreError::TimedOut {
                    action,
                    remote,
                    after: self.timeout,
                }
            }
            _ => GitStoreError::Unreachable {
                action,
                remote,
                message: self.scrub(error.message()),
            },
        }
    }
}

/// Whether a push error means "the branch moved": fetch, rebuild and try again.
fn is_rejection(error: &git2::Error) -> bool {
    error.code() == git2::ErrorCode::NotFastForward
        || error.message().contains("not present locally")
        || error.message().contains("non-fastforwardable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_ca_locations_win_and_tls_is_only_for_http_remotes() {
        use crate::settings::EnvSnapshot;
        let env = EnvSnapshot::from_pairs([("SSL_CERT_FILE", "/x/bundle.pem")]);
        let ca = CaLocations::from_env(&env);
        assert_eq!(ca.file.as_deref(), Some(Path::new("/x/bundle.pem")));
        assert_eq!(ca.resolve(), ca);
        let system = CaLocations::default().resolve();
        assert!(
            system.file.is_none() || system.dir.is_none(),
            "one system location, not both: {system:?}"
        );
        assert!(may_use_tls("https://github.com/o/r.git"));
        assert!(may_use_tls("HTTP://127.0.0.1:8080/r.git"));
        assert!(!may_use_tls("git://127.0.0.1:9418/r.git"));
        assert!(!may_use_tls("/srv/r.git"));
    }

    #[test]
    fn a_token_never_shows_in_debug_or_scrubbed_text() {
        let token = Token::new("s3cr3t-value", "WAVE_GIT_TOKEN");
        assert!(!format!("{token:?}").contains("s3cr3t"));
        assert_eq!(token.scrub("bad s3cr3t-value here"), "bad *** here");
    }
}
