//! The git-branch backend: canonical state on an orphan branch of a git remote (DESIGN §5).
//!
//! Owns: the local cache of the branch (a bare repository), commits built from in-memory blobs
//! on top of the last fetched tip (no work tree, no checkout), non-forced pushes with the per-ref
//! status checked, fetch–rebuild–retry with jittered backoff when the branch moved, and keeping
//! records locally when the remote cannot be reached so the next push carries them.
//!
//! Must not: let git2 types out of this module, put a token in a URL, message, commit or file,
//! force-push, or print (what was kept for later is queued with [`take_notices`] for the CLI).
//!
//! Cache layout: `<cache>.git` is a bare repository with two refs, [`REMOTE_REF`] (the branch
//! as last fetched) and [`LOCAL_REF`] (that plus the commits not pushed yet); `<cache>.lock`
//! serializes the processes of one machine. Reads fetch once per store instance, then read the
//! cache.

mod remote;
mod tree;
mod wire;

use std::collections::BTreeSet;
use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use git2::{Oid, Repository, Signature, Tree};
use sha2::{Digest, Sha256};

pub use remote::{CaLocations, DEFAULT_TIMEOUT, GitStoreError, TIMEOUT_VAR, TOKEN_USER, Token};
pub use tree::MergeConflict;

use self::remote::{PushOutcome, Remote};
use super::line::{Source, check_records, encode_appended, last_seq_in_tail, scan_lines};
use super::{
    Appended, EventStore, FORMAT_FILE, LineVisitor, Problem, PutOutcome, Record, ResultKey,
    STORE_FORMAT, StoreError, StreamId, validate_name, validate_writer,
};
use crate::event::time;

/// The branch used when the spec names none.
pub const DEFAULT_BRANCH: &str = "wave-state";

/// The cache's copy of the remote branch as last fetched.
pub const REMOTE_REF: &str = "refs/wave/remote";

/// The cache's local view: the remote tip plus the commits not pushed yet.
pub const LOCAL_REF: &str = "refs/wave/local";

/// Where caches live, relative to the repository root.
pub const CACHE_DIR: &str = ".wave/cache/state-branch";

/// Push attempts before the records are kept for a later push…
const MAX_PUSH_ATTEMPTS: u32 = 1000;

/// …or time spent retrying rejected pushes, whichever ends first.
const PUSH_BUDGET: Duration = Duration::from_secs(90);

/// First backoff step after a rejected push; doubles up to [`MAX_BACKOFF`], with full jitter.
const BASE_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(400);

/// Environment variables a token is read from, in order.
pub const TOKEN_VARS: [&str; 2] = ["WAVE_GIT_TOKEN", "GITHUB_TOKEN"];

/// Messages for the user about records kept for later or reads served from the cache, keyed
/// so that a later notice on the same subject replaces an earlier one.
static NOTICES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// Takes the notices queued by git-branch stores in this process (each once, in order).
pub fn take_notices() -> Vec<String> {
    std::mem::take(&mut *NOTICES.lock().unwrap_or_else(PoisonError::into_inner))
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

fn notice(key: String, text: String) {
    let mut queue = NOTICES.lock().unwrap_or_else(PoisonError::into_inner);
    match queue.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = text,
        None => queue.push((key, text)),
    }
}

/// Initialises libgit2, once per process, without letting OpenSSL parse a CA bundle (see
/// [`crate::settings::with_ca_locations_hidden`]; the locations are handed over before the
/// first `http(s)://` connection instead), and registers the push transport for `git://`
/// remotes ([`wire`]). Every way into git2 in this module starts here.
fn init_libgit2() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        // SAFETY: this runs when the first spec or store of the process is made, which the
        // CLI does before it starts any thread; git2 initialises itself inside (any git2 call
        // does) and nothing else runs meanwhile on this thread.
        unsafe {
            crate::settings::with_ca_locations_hidden(|| git2::Reference::is_valid_name("HEAD"))
        };
        // SAFETY: as above, nothing else uses libgit2 yet. Without the transport, pushes to
        // `git://` remotes take libgit2's own (slower) path.
        let _ = unsafe { wire::register() };
    });
}

/// A parsed `git:<remote-url>[#<branch>]` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSpec {
    /// The remote URL (never holding a password).
    pub url: String,
    /// The branch holding the state.
    pub branch: String,
}

impl GitSpec {
    /// Parses what follows `git:`.
    pub fn parse(rest: &str) -> Result<Self, GitStoreError> {
        init_libgit2();
        let invalid = |reason: &str| GitStoreError::InvalidSpec {
            reason: reason.to_owned(),
        };
        let (url, branch) = match rest.rsplit_once('#') {
            Some((url, branch)) => (url.trim(), branch.trim()),
            None => (rest.trim(), DEFAULT_BRANCH),
        };
        if url.is_empty() {
            return Err(invalid("the remote URL is empty"));
        }
        if let Some((_, after_scheme)) = url.split_once("://") {
            let authority = after_scheme.split('/').next().unwrap_or_default();
            if authority
                .rsplit_once('@')
                .is_some_and(|(userinfo, _)| userinfo.contains(':'))
            {
                return Err(invalid(
                    "the remote URL holds a password; remove it and set WAVE_GIT_TOKEN instead",
                ));
            }
        }
        if branch.is_empty() || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
            return Err(invalid(
                "the branch name after `#` is not a valid git branch name",
            ));
        }
        Ok(Self {
            url: url.to_owned(),
            branch: branch.to_owned(),
        })
    }

    /// The URL without any user part, for messages.
    pub fn shown_url(&self) -> String {
        match self.url.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                format!("{scheme}://{host}{path}")
            }
            None => self.url.clone(),
        }
    }

    /// The cache's base path (without `.git` / `.lock`) under `repo_root`.
    pub fn cache_base(&self, repo_root: &Path) -> PathBuf {
        let digest = Sha256::digest(format!("{}#{}", self.shown_url(), self.branch).as_bytes());
        let hash = hex::encode(digest);
        repo_root
            .join(CACHE_DIR)
            .join(format!("{}-{}", self.branch.replace('/', "-"), &hash[..16]))
    }
}

/// What a pull or push did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// The remote tip after the operation (as far as this cache knows).
    pub remote_tip: Option<String>,
    /// The local tip (equal to the remote tip when nothing is pending).
    pub local_tip: Option<String>,
    /// Commits the remote does not have yet.
    pub pending_commits: usize,
    /// Whether this operation pushed something.
    pub pushed: bool,
    /// Rejected pushes that were rebuilt and retried.
    pub retries: u32,
    /// Why pending commits were kept for later, when they were.
    pub kept: Option<String>,
    /// Files whose local and remote versions could not be reconciled.
    pub conflicts: Vec<MergeConflict>,
}

/// One commit of the state branch, for `wave state log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The commit id.
    pub id: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// The author (the writer that appended, for single-writer commits).
    pub author: String,
    /// The full message.
    pub message: String,
    /// Whether the remote has it.
    pub pushed: bool,
}

/// Canonical state on a git branch (`git:<remote-url>[#<branch>]`).
pub struct GitBranchStore {
    spec: GitSpec,
    shown: String,
    cache: PathBuf,
    lock_path: PathBuf,
    token: Option<Token>,
    timeout: Duration,
    ca: CaLocations,
    runtime: Mutex<Runtime>,
    /// The open [`GitBranchStore::batch`], if any.
    batch: Mutex<Option<Batch>>,
}

/// Writes held back by [`GitBranchStore::batch`]: one tree built from in-memory blobs on the
/// local tip, committed and pushed once when the batch ends.
#[derive(Debug)]
struct Batch {
    /// The local tip when the batch began.
    base: Option<Oid>,
    /// The tree holding every write of the batch so far (`None`: nothing written yet).
    tree: Option<Oid>,
    /// The latest time of the records written, seconds since the epoch.
    when: i64,
    /// Who wrote: the writers, `wave-runner` for result envelopes.
    authors: BTreeSet<String>,
}

/// A file rewritten in a tree by [`GitBranchStore::edit_tree`].
struct Edited {
    /// The new tree.
    tree: Oid,
    /// What changed, for the commit message.
    changes: Vec<tree::Change>,
    /// The file's blob before, `None` when it was new.
    old: Option<Oid>,
}

/// Clears the open batch however [`GitBranchStore::batch`] ends.
struct BatchGuard<'s>(&'s Mutex<Option<Batch>>);

impl BatchGuard<'_> {
    fn take(&self) -> Option<Batch> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl Drop for BatchGuard<'_> {
    fn drop(&mut self) {
        let _ = self.take();
    }
}

/// The machine-wide lock of a cache, held while the value lives. Inside a batch the batch
/// holds the lock, and this value holds nothing.
struct CacheLock<'s> {
    store: &'s GitBranchStore,
    file: Option<File>,
    in_batch: bool,
}

impl CacheLock<'_> {
    /// Lets other processes of this machine use the cache (while this one waits).
    fn pause(&mut self) {
        if !self.in_batch {
            self.file = None;
        }
    }

    /// Takes the lock again after [`CacheLock::pause`].
    fn resume(&mut self) -> Result<(), GitStoreError> {
        if !self.in_batch && self.file.is_none() {
            self.file = Some(self.store.lock_file()?);
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Runtime {
    /// The cache was refreshed from the remote (or that was tried) by this instance.
    refreshed: bool,
    /// The remote could not be reached: do not try again in this instance.
    offline: Option<String>,
}

impl std::fmt::Debug for GitBranchStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitBranchStore")
            .field("remote", &self.shown)
            .field("branch", &self.spec.branch)
            .field("cache", &self.cache)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GitBranchStore {
    /// A store for `spec`, cached at `cache_base` (`.git` and `.lock` are added); nothing is
    /// created or fetched until first used.
    pub fn new(spec: GitSpec, cache_base: &Path, token: Option<Token>) -> Self {
        init_libgit2();
        let shown = spec.shown_url();
        let with_ext = |ext: &str| {
            let mut name = cache_base.as_os_str().to_owned();
            name.push(ext);
            PathBuf::from(name)
        };
        Self {
            cache: with_ext(".git"),
            lock_path: with_ext(".lock"),
            shown,
            spec,
            token,
            timeout: DEFAULT_TIMEOUT,
            ca: CaLocations::default(),
            runtime: Mutex::new(Runtime::default()),
            batch: Mutex::new(None),
        }
    }

    /// The store `spec` names as the settings configure it: cached under the repository root,
    /// with the token and the network timeout ([`TIMEOUT_VAR`]) from the environment.
    pub fn for_settings(
        spec: GitSpec,
        settings: &crate::settings::Settings,
    ) -> Result<Self, GitStoreError> {
        let cache = spec.cache_base(&settings.repo_root);
        let token = Self::token_from_env(&settings.env);
        let timeout = Self::timeout_from_env(&settings.env)?;
        Ok(Self::new(spec, &cache, token)
            .with_timeout(timeout)
            .with_ca_locations(CaLocations::from_env(&settings.env)))
    }

    /// Checks the server certificates of `http(s)://` remotes against `ca` (by default: the
    /// system's certificates).
    pub fn with_ca_locations(mut self, ca: CaLocations) -> Self {
        self.ca = ca;
        self
    }

    /// Waits at most `timeout` for a connection to the remote, and between two reads or
    /// writes on it, before treating the remote as unreachable.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout in [`TIMEOUT_VAR`] (seconds, fractions allowed), else [`DEFAULT_TIMEOUT`].
    pub fn timeout_from_env(env: &crate::settings::EnvSnapshot) -> Result<Duration, GitStoreError> {
        let Some(value) = env.get(TIMEOUT_VAR) else {
            return Ok(DEFAULT_TIMEOUT);
        };
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|secs| secs.is_finite() && *secs > 0.0)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .filter(|d| d.as_millis() >= 1)
            .ok_or_else(|| GitStoreError::InvalidTimeout {
                value: value.to_owned(),
            })
    }

    /// The token from `WAVE_GIT_TOKEN`, else `GITHUB_TOKEN`.
    pub fn token_from_env(env: &crate::settings::EnvSnapshot) -> Option<Token> {
        TOKEN_VARS
            .into_iter()
            .find_map(|var| env.get(var).map(|value| Token::new(value, var)))
    }

    /// The spec this store serves.
    pub fn spec(&self) -> &GitSpec {
        &self.spec
    }

    /// The bare repository holding the cache.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Fetches the branch and rebuilds pending local commits on the new tip (no push).
    pub fn pull(&self) -> Result<SyncReport, GitStoreError> {
        let _lock = self.lock()?;
        let repo = self.open_repo()?;
        self.remote().fetch(&repo, REMOTE_REF)?;
        self.mark_refreshed(None);
        let conflicts = self.rebuild(&repo)?;
        let mut report = self.report(&repo)?;
        report.conflicts = conflicts;
        Ok(report)
    }

    /// Pushes the commits not pushed yet (fetching and rebuilding when the branch moved).
    /// An unreachable remote is not an error: the report says what was kept.
    pub fn push(&self) -> Result<SyncReport, GitStoreError> {
        let mut lock = self.lock()?;
        let repo = self.open_repo()?;
        let mut conflicts = Vec::new();
        match self.remote().fetch(&repo, REMOTE_REF) {
            Ok(()) => {
                self.mark_refreshed(None);
                conflicts = self.rebuild(&repo)?;
            }
            Err(e) if e.is_auth() => return Err(e),
            Err(e) => {
                self.mark_refreshed(Some(e.to_string()));
                return self.kept(&repo, e.to_string(), 0, conflicts);
            }
        }
        let mut report = self.push_locked(&repo, &mut lock, true)?;
        conflicts.append(&mut report.conflicts);
        report.conflicts = conflicts;
        Ok(report)
    }

    /// Runs `work` with this store's writes held back, then commits all of them as one commit
    /// on the local tip and pushes once (fetching, rebuilding and retrying like any push when
    /// the branch moved): how an import of many writers' lines costs one push. Reads inside
    /// `work` see what it wrote. The cache lock is held throughout, and the branch is fetched
    /// once at the start, unless this store did so already.
    ///
    /// What `work` wrote is committed and pushed whatever it returns (an import that stops
    /// at a refused writer keeps the writers before it). Writes from other threads through
    /// this store while `work` runs join the batch; a batch does not nest.
    pub fn batch<T>(
        &self,
        work: impl FnOnce(&Self) -> T,
    ) -> Result<(T, SyncReport), GitStoreError> {
        let file = self.lock_file()?;
        let repo = self.open_repo()?;
        self.refresh_locked(&repo)?;
        let base = self.ref_oid(&repo, LOCAL_REF)?;
        let guard = BatchGuard(&self.batch);
        *guard.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Batch {
            base,
            tree: None,
            when: 0,
            authors: BTreeSet::new(),
        });
        let out = work(self);
        let staged = guard.take();
        let mut lock = CacheLock {
            store: self,
            file: Some(file),
            in_batch: false,
        };
        let committed = match staged {
            Some(batch) => self.commit_batch(&repo, batch)?,
            None => None,
        };
        let Some((ours, previous)) = committed else {
            return Ok((out, self.report(&repo)?));
        };
        match self.push_locked(&repo, &mut lock, false) {
            Ok(report) => Ok((out, report)),
            Err(e) => {
                // Refused credentials: nothing of the batch stays, as for a single append.
                let err = self.local_err("take back a commit");
                let before = previous
                    .map(|p| repo.find_commit(p).and_then(|c| c.tree()))
                    .transpose()
                    .map_err(&err)?;
                let after = repo
                    .find_commit(ours)
                    .and_then(|c| c.tree())
                    .map_err(&err)?;
                let restore: Vec<(String, Option<Oid>)> =
                    tree::changes(&repo, before.as_ref(), &after)
                        .map_err(&err)?
                        .into_iter()
                        .map(|c| {
                            let blob = before.as_ref().and_then(|t| tree::blob_id(t, &c.path));
                            (c.path, blob)
                        })
                        .collect();
                self.take_back(&repo, ours, previous, &restore)?;
                Err(e)
            }
        }
    }

    /// The commits of the local view, newest first, at most `limit`.
    pub fn log(&self, limit: usize) -> Result<Vec<LogEntry>, GitStoreError> {
        self.refresh()?;
        let repo = self.open_repo()?;
        let Some(tip) = self.ref_oid(&repo, LOCAL_REF)? else {
            return Ok(Vec::new());
        };
        let remote = self.ref_oid(&repo, REMOTE_REF)?;
        let mut walk = repo.revwalk().map_err(self.local_err("walk history"))?;
        walk.push(tip).map_err(self.local_err("walk history"))?;
        let mut out = Vec::new();
        for oid in walk.take(limit) {
            let oid = oid.map_err(self.local_err("walk history"))?;
            let commit = repo
                .find_commit(oid)
                .map_err(self.local_err("read a commit"))?;
            let pushed = match remote {
                Some(r) => r == oid || repo.graph_descendant_of(r, oid).unwrap_or(false),
                None => false,
            };
            out.push(LogEntry {
                id: oid.to_string(),
                time: commit.time().seconds(),
                author: commit.author().name().unwrap_or_default().to_owned(),
                message: commit.message().unwrap_or_default().to_owned(),
                pushed,
            });
        }
        Ok(out)
    }

    /// Appends raw text to a writer file, bypassing the envelope, and pushes: how tests stage
    /// torn or hand-edited lines.
    pub fn append_raw(
        &self,
        stream: &StreamId,
        writer: &str,
        text: &str,
    ) -> Result<(), GitStoreError> {
        let path = format!("{}/{writer}.jsonl", stream.dir());
        let staged = self.write_file::<std::convert::Infallible>(
            &path,
            jiff::Timestamp::UNIX_EPOCH,
            writer,
            |old| {
                let mut bytes = old.unwrap_or_default();
                bytes.extend_from_slice(text.as_bytes());
                Ok(Some(bytes))
            },
        )?;
        match staged {
            Ok(_) => Ok(()),
            Err(never) => match never {},
        }
    }

    /// The text of a writer file in the local view, as a directory store would hold it.
    pub fn file_text(
        &self,
        stream: &StreamId,
        writer: &str,
    ) -> Result<Option<String>, GitStoreError> {
        let path = format!("{}/{writer}.jsonl", stream.dir());
        self.with_tree(|repo, tree| {
            let bytes = tree::read_blob(repo, tree, &path)?;
            Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
        })
        .map(Option::flatten)
    }

    // ---- internals ----

    fn remote(&self) -> Remote<'_> {
        Remote {
            url: &self.spec.url,
            shown: &self.shown,
            branch: &self.spec.branch,
            token: self.token.as_ref(),
            timeout: self.timeout,
            ca: &self.ca,
        }
    }

    fn local_err(&self, action: &'static str) -> impl Fn(git2::Error) -> GitStoreError + '_ {
        move |e| GitStoreError::Local {
            action,
            cache: self.cache.display().to_string(),
            message: e.message().to_owned(),
        }
    }

    fn io_err(&self, action: &'static str) -> impl Fn(std::io::Error) -> GitStoreError + '_ {
        move |e| GitStoreError::Local {
            action,
            cache: self.cache.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Takes the machine-wide lock of this cache (unless the open batch holds it); released
    /// when the value is dropped.
    fn lock(&self) -> Result<CacheLock<'_>, GitStoreError> {
        let in_batch = self
            .batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        Ok(CacheLock {
            store: self,
            file: if in_batch {
                None
            } else {
                Some(self.lock_file()?)
            },
            in_batch,
        })
    }

    /// Takes the lock file itself.
    fn lock_file(&self) -> Result<File, GitStoreError> {
        if let Some(parent) = self.lock_path.parent() {
            fs::create_dir_all(parent).map_err(self.io_err("create the cache directory"))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(self.io_err("open the cache lock"))?;
        file.lock().map_err(self.io_err("lock the cache"))?;
        Ok(file)
    }

    /// Opens the cache, creating it when missing. Call with the lock held when creating.
    fn open_repo(&self) -> Result<Repository, GitStoreError> {
        match Repository::open_bare(&self.cache) {
            Ok(repo) => Ok(repo),
            Err(_) if !self.cache.join("HEAD").exists() => {
                Repository::init_bare(&self.cache).map_err(self.local_err("create the cache"))
            }
            Err(e) => Err(self.local_err("open the cache")(e)),
        }
    }

    fn ref_oid(&self, repo: &Repository, name: &str) -> Result<Option<Oid>, GitStoreError> {
        match repo.refname_to_id(name) {
            Ok(oid) => Ok(Some(oid)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(self.local_err("read a ref")(e)),
        }
    }

    /// Points a cache ref at `oid`. A lock file left by a process killed mid-update is removed
    /// first: every writer of these refs holds the cache lock, so it cannot be live.
    fn set_ref(&self, repo: &Repository, name: &str, oid: Oid) -> Result<(), GitStoreError> {
        let stale = self.cache.join(format!("{name}.lock"));
        if stale.exists() {
            fs::remove_file(&stale).map_err(self.io_err("remove a stale ref lock"))?;
        }
        repo.reference(name, oid, true, "wave-state")
            .map(|_| ())
            .map_err(self.local_err("update a ref"))
    }

    fn mark_refreshed(&self, offline: Option<String>) {
        let mut rt = self.runtime.lock().unwrap_or_else(PoisonError::into_inner);
        rt.refreshed = true;
        if offline.is_some() {
            rt.offline = offline;
        }
    }

    fn offline(&self) -> Option<String> {
        self.runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .offline
            .clone()
    }

    /// Fetches once per instance (under the lock). An unreachable remote leaves the cache as
    /// it is and queues a notice; refused credentials are an error.
    fn refresh(&self) -> Result<(), GitStoreError> {
        if self
            .runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .refreshed
        {
            return Ok(());
        }
        let _lock = self.lock()?;
        let repo = self.open_repo()?;
        self.refresh_locked(&repo)
    }

    fn refresh_locked(&self, repo: &Repository) -> Result<(), GitStoreError> {
        {
            let rt = self.runtime.lock().unwrap_or_else(PoisonError::into_inner);
            if rt.refreshed {
                return Ok(());
            }
        }
        match self.remote().fetch(repo, REMOTE_REF) {
            Ok(()) => {
                self.mark_refreshed(None);
                self.rebuild(repo)?;
                Ok(())
            }
            Err(e) if e.is_auth() => Err(e),
            Err(e) => {
                notice(
                    format!("offline {}", self.cache.display()),
                    format!(
                        "note: {e}; using the local cache of {}#{} ({})",
                        self.shown,
                        self.spec.branch,
                        self.cache.display()
                    ),
                );
                self.mark_refreshed(Some(e.to_string()));
                Ok(())
            }
        }
    }

    /// Rebuilds the local view on the remote tip: fast-forward when nothing is pending, else
    /// one commit on the remote tip holding the union of both trees.
    fn rebuild(&self, repo: &Repository) -> Result<Vec<MergeConflict>, GitStoreError> {
        let Some(remote) = self.ref_oid(repo, REMOTE_REF)? else {
            return Ok(Vec::new());
        };
        let Some(local) = self.ref_oid(repo, LOCAL_REF)? else {
            self.set_ref(repo, LOCAL_REF, remote)?;
            return Ok(Vec::new());
        };
        let err = self.local_err("rebuild pending commits");
        if local == remote || repo.graph_descendant_of(local, remote).map_err(&err)? {
            return Ok(Vec::new());
        }
        if repo.graph_descendant_of(remote, local).map_err(&err)? {
            self.set_ref(repo, LOCAL_REF, remote)?;
            return Ok(Vec::new());
        }
        let local_commit = repo.find_commit(local).map_err(&err)?;
        let remote_commit = repo.find_commit(remote).map_err(&err)?;
        let local_tree = local_commit.tree().map_err(&err)?;
        let remote_tree = remote_commit.tree().map_err(&err)?;
        let mut conflicts = Vec::new();
        let merged =
            tree::merge_trees(repo, &local_tree, &remote_tree, "", &mut conflicts).map_err(&err)?;
        if merged == remote_tree.id() {
            self.set_ref(repo, LOCAL_REF, remote)?;
            return Ok(conflicts);
        }
        let merged_tree = repo.find_tree(merged).map_err(&err)?;
        let changes = tree::changes(repo, Some(&remote_tree), &merged_tree).map_err(&err)?;
        let when = local_commit
            .time()
            .seconds()
            .max(remote_commit.time().seconds());
        let author = local_commit.author();
        let oid = commit_tree(
            repo,
            author.name().unwrap_or("wave-runner"),
            when,
            &changes,
            &merged_tree,
            &[&remote_commit],
        )
        .map_err(&err)?;
        self.set_ref(repo, LOCAL_REF, oid)?;
        Ok(conflicts)
    }

    fn report(&self, repo: &Repository) -> Result<SyncReport, GitStoreError> {
        let remote = self.ref_oid(repo, REMOTE_REF)?;
        let local = self.ref_oid(repo, LOCAL_REF)?;
        let pending = match (local, remote) {
            (Some(l), Some(r)) if l == r => 0,
            (Some(l), r) => {
                let mut walk = repo.revwalk().map_err(self.local_err("walk history"))?;
                walk.push(l).map_err(self.local_err("walk history"))?;
                if let Some(r) = r {
                    walk.hide(r).map_err(self.local_err("walk history"))?;
                }
                walk.count()
            }
            (None, _) => 0,
        };
        Ok(SyncReport {
            remote_tip: remote.map(|o| o.to_string()),
            local_tip: local.map(|o| o.to_string()),
            pending_commits: pending,
            ..SyncReport::default()
        })
    }

    /// Pushes pending commits, retrying on rejection. Call with the lock held; it is let go
    /// while waiting to retry, so other processes sharing the cache can commit meanwhile, and
    /// the next push (this one's or theirs) carries every pending record at once.
    fn push_locked(
        &self,
        repo: &Repository,
        lock: &mut CacheLock<'_>,
        explicit: bool,
    ) -> Result<SyncReport, GitStoreError> {
        let mut retries = 0u32;
        let mut conflicts = Vec::new();
        let started = std::time::Instant::now();
        if !explicit && let Some(reason) = self.offline() {
            return self.kept(repo, reason, retries, conflicts);
        }
        loop {
            let local = self.ref_oid(repo, LOCAL_REF)?;
            let remote = self.ref_oid(repo, REMOTE_REF)?;
            let Some(local) = local else {
                return self.report(repo);
            };
            if Some(local) == remote {
                let mut report = self.report(repo)?;
                report.retries = retries;
                report.conflicts = conflicts;
                return Ok(report);
            }
            match self.remote().push(repo, LOCAL_REF) {
                Ok(PushOutcome::Accepted) => {
                    self.set_ref(repo, REMOTE_REF, local)?;
                    let mut report = self.report(repo)?;
                    report.pushed = true;
                    report.retries = retries;
                    report.conflicts = conflicts;
                    return Ok(report);
                }
                Ok(PushOutcome::Rejected(reason)) => {
                    retries += 1;
                    if retries >= MAX_PUSH_ATTEMPTS || started.elapsed() >= PUSH_BUDGET {
                        let why = format!(
                            "the branch kept moving ({retries} rejected pushes, last: {reason})"
                        );
                        return self.kept(repo, why, retries, conflicts);
                    }
                    lock.pause();
                    std::thread::sleep(backoff(retries));
                    lock.resume()?;
                    // A process sharing this cache may have pushed meanwhile, carrying these
                    // commits with its own: then nothing is left to push.
                    let local = self.ref_oid(repo, LOCAL_REF)?;
                    if local.is_none() || local == self.ref_oid(repo, REMOTE_REF)? {
                        continue;
                    }
                    match self.remote().fetch(repo, REMOTE_REF) {
                        Ok(()) => conflicts.extend(self.rebuild(repo)?),
                        Err(e) if e.is_auth() => return Err(e),
                        Err(e) => {
                            self.mark_refreshed(Some(e.to_string()));
                            return self.kept(repo, e.to_string(), retries, conflicts);
                        }
                    }
                }
                Err(e) if e.is_auth() => return Err(e),
                Err(e) => {
                    self.mark_refreshed(Some(e.to_string()));
                    return self.kept(repo, e.to_string(), retries, conflicts);
                }
            }
        }
    }

    fn kept(
        &self,
        repo: &Repository,
        reason: String,
        retries: u32,
        conflicts: Vec<MergeConflict>,
    ) -> Result<SyncReport, GitStoreError> {
        let mut report = self.report(repo)?;
        report.retries = retries;
        report.conflicts = conflicts;
        if report.pending_commits > 0 {
            notice(
                format!("kept {}", self.cache.display()),
                format!(
                    "note: kept {} unpushed commit{} of {}#{} in {} for the next push ({reason}); run `wave state push` to retry",
                    report.pending_commits,
                    if report.pending_commits == 1 { "" } else { "s" },
                    self.shown,
                    self.spec.branch,
                    self.cache.display()
                ),
            );
        }
        report.kept = Some(reason);
        Ok(report)
    }

    /// Rewrites one file of the local view as `edit` says (`None`: leave it), commits on the
    /// local tip and pushes; inside a batch, only stages the change. Returns what `edit`
    /// returned alongside.
    fn write_file<T>(
        &self,
        path: &str,
        at: jiff::Timestamp,
        author: &str,
        edit: impl FnOnce(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, T>,
    ) -> Result<Result<Vec<MergeConflict>, T>, GitStoreError> {
        {
            let mut batch = self.batch.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(open) = batch.as_mut() {
                return self.stage(open, path, at, author, edit);
            }
        }
        let mut lock = self.lock()?;
        let repo = self.open_repo()?;
        // No fetch first: the commit goes on the cached tip and the push is optimistic; a
        // rejected push fetches, rebuilds and retries. Files are per writer, so a stale tip
        // never changes what this writer appends.
        let err = self.local_err("commit");
        let parent_oid = self.ref_oid(&repo, LOCAL_REF)?;
        let parent = parent_oid
            .map(|oid| repo.find_commit(oid))
            .transpose()
            .map_err(&err)?;
        let base = parent
            .as_ref()
            .map(|c| c.tree())
            .transpose()
            .map_err(&err)?;
        let edited = match self.edit_tree(&repo, base.as_ref(), path, edit)? {
            Ok(Some(edited)) => edited,
            Ok(None) => return Ok(Ok(Vec::new())),
            Err(refused) => return Ok(Err(refused)),
        };
        let new_tree = repo.find_tree(edited.tree).map_err(&err)?;
        let when = at
            .as_second()
            .max(parent.as_ref().map_or(0, |c| c.time().seconds()));
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid =
            commit_tree(&repo, author, when, &edited.changes, &new_tree, &parents).map_err(&err)?;
        self.set_ref(&repo, LOCAL_REF, oid)?;
        match self.push_locked(&repo, &mut lock, false) {
            Ok(report) => Ok(Ok(report.conflicts)),
            Err(e) => {
                // Refused credentials: take the commit back, so the caller's error means
                // "nothing was stored" and retrying cannot duplicate it.
                self.take_back(&repo, oid, parent_oid, &[(path.to_owned(), edited.old)])?;
                Err(e)
            }
        }
    }

    /// The tree `base` (or an empty tree) with the file at `path` rewritten as `edit` says,
    /// plus the format marker when `base` has none; `None` when `edit` leaves the file alone.
    fn edit_tree<T>(
        &self,
        repo: &Repository,
        base: Option<&Tree<'_>>,
        path: &str,
        edit: impl FnOnce(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, T>,
    ) -> Result<Result<Option<Edited>, T>, GitStoreError> {
        let err = self.local_err("commit");
        let old_blob = base.and_then(|tree| tree::blob_id(tree, path));
        let old = match base {
            Some(tree) => tree::read_blob(repo, tree, path).map_err(&err)?,
            None => None,
        };
        let old_lines = old.as_deref().map_or(0, tree::line_count);
        let new = match edit(old) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Ok(None)),
            Err(refused) => return Ok(Err(refused)),
        };
        let needs_marker = match base {
            Some(tree) => match tree::read_blob(repo, tree, FORMAT_FILE).map_err(&err)? {
                Some(bytes) => {
                    self.check_format(&bytes)?;
                    false
                }
                None => true,
            },
            None => true,
        };
        let blob = repo.blob(&new).map_err(&err)?;
        let mut tree_oid = tree::put_blob(repo, base, path, blob).map_err(&err)?;
        if needs_marker {
            // The same format marker a directory store has at its root.
            let marker = format!("{{\"storeFormat\": {STORE_FORMAT}}}\n");
            let marker = repo.blob(marker.as_bytes()).map_err(&err)?;
            let with_path = repo.find_tree(tree_oid).map_err(&err)?;
            tree_oid = tree::put_blob(repo, Some(&with_path), FORMAT_FILE, marker).map_err(&err)?;
        }
        // What changed is known: no tree diff needed for the message.
        let mut changes = vec![tree::Change {
            path: path.to_owned(),
            new_lines: if path.ends_with(".jsonl") {
                tree::line_count(&new).saturating_sub(old_lines)
            } else {
                0
            },
        }];
        if needs_marker {
            changes.push(tree::Change {
                path: FORMAT_FILE.to_owned(),
                new_lines: 0,
            });
        }
        Ok(Ok(Some(Edited {
            tree: tree_oid,
            changes,
            old: old_blob,
        })))
    }

    /// Stages a write in the open batch: the batch's tree gets the edited file.
    fn stage<T>(
        &self,
        batch: &mut Batch,
        path: &str,
        at: jiff::Timestamp,
        author: &str,
        edit: impl FnOnce(Option<Vec<u8>>) -> Result<Option<Vec<u8>>, T>,
    ) -> Result<Result<Vec<MergeConflict>, T>, GitStoreError> {
        let repo = self.open_repo()?;
        let err = self.local_err("stage a write");
        let base = match (batch.tree, batch.base) {
            (Some(tree), _) => Some(repo.find_tree(tree)),
            (None, Some(commit)) => Some(repo.find_commit(commit).and_then(|c| c.tree())),
            (None, None) => None,
        }
        .transpose()
        .map_err(&err)?;
        match self.edit_tree(&repo, base.as_ref(), path, edit)? {
            Ok(Some(edited)) => {
                batch.tree = Some(edited.tree);
                batch.when = batch.when.max(at.as_second());
                batch.authors.insert(author.to_owned());
                Ok(Ok(Vec::new()))
            }
            Ok(None) => Ok(Ok(Vec::new())),
            Err(refused) => Ok(Err(refused)),
        }
    }

    /// Commits what the batch staged on the local tip; the new commit and its parent, or
    /// `None` when the batch changed nothing.
    fn commit_batch(
        &self,
        repo: &Repository,
        batch: Batch,
    ) -> Result<Option<(Oid, Option<Oid>)>, GitStoreError> {
        let err = self.local_err("commit");
        let Some(staged) = batch.tree else {
            return Ok(None);
        };
        let parent_oid = self.ref_oid(repo, LOCAL_REF)?;
        let parent = parent_oid
            .map(|oid| repo.find_commit(oid))
            .transpose()
            .map_err(&err)?;
        let parent_tree = parent
            .as_ref()
            .map(|c| c.tree())
            .transpose()
            .map_err(&err)?;
        let mut new_tree = repo.find_tree(staged).map_err(&err)?;
        // The batch holds the cache lock, so the local tip is where the batch began; should it
        // have moved all the same, the staged tree joins it as a rebuild would.
        if parent_oid != batch.base
            && let Some(tip) = &parent_tree
        {
            let mut conflicts = Vec::new();
            let merged =
                tree::merge_trees(repo, &new_tree, tip, "", &mut conflicts).map_err(&err)?;
            new_tree = repo.find_tree(merged).map_err(&err)?;
        }
        if parent_tree.as_ref().map(Tree::id) == Some(new_tree.id()) {
            return Ok(None);
        }
        let changes = tree::changes(repo, parent_tree.as_ref(), &new_tree).map_err(&err)?;
        let author = match batch.authors.len() {
            1 => batch.authors.first().map_or("wave-runner", String::as_str),
            _ => "wave-runner",
        };
        let when = batch
            .when
            .max(parent.as_ref().map_or(0, |c| c.time().seconds()));
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = commit_tree(repo, author, when, &changes, &new_tree, &parents).map_err(&err)?;
        self.set_ref(repo, LOCAL_REF, oid)?;
        Ok(Some((oid, parent_oid)))
    }

    /// Takes back commit `ours`, made on `previous`, after refused credentials. When commits of
    /// other processes sharing the cache went on top of it meanwhile (the lock is let go while
    /// a rejected push waits), their work stays pending as one commit on the remote tip, with
    /// the files `ours` changed restored as `restore` lists them (path, blob before).
    fn take_back(
        &self,
        repo: &Repository,
        ours: Oid,
        previous: Option<Oid>,
        restore: &[(String, Option<Oid>)],
    ) -> Result<(), GitStoreError> {
        let err = self.local_err("take back a commit");
        let drop_local = || {
            repo.find_reference(LOCAL_REF)
                .and_then(|mut r| r.delete())
                .map_err(&err)
        };
        let Some(local) = self.ref_oid(repo, LOCAL_REF)? else {
            return Ok(());
        };
        if local == ours {
            return match previous {
                Some(previous) => self.set_ref(repo, LOCAL_REF, previous),
                None => drop_local(),
            };
        }
        let local_commit = repo.find_commit(local).map_err(&err)?;
        let mut tree_oid = local_commit.tree_id();
        for (path, blob) in restore {
            let tree = repo.find_tree(tree_oid).map_err(&err)?;
            tree_oid = tree::set_blob(repo, Some(&tree), path, *blob).map_err(&err)?;
        }
        let remote = self.ref_oid(repo, REMOTE_REF)?;
        let remote_commit = remote
            .map(|oid| repo.find_commit(oid))
            .transpose()
            .map_err(&err)?;
        let remote_tree = remote_commit
            .as_ref()
            .map(|c| c.tree())
            .transpose()
            .map_err(&err)?;
        let new_tree = repo.find_tree(tree_oid).map_err(&err)?;
        match (remote, &remote_tree) {
            (Some(remote), Some(tree)) if tree.id() == tree_oid => {
                return self.set_ref(repo, LOCAL_REF, remote);
            }
            (None, _) if new_tree.is_empty() => return drop_local(),
            _ => {}
        }
        let changes = tree::changes(repo, remote_tree.as_ref(), &new_tree).map_err(&err)?;
        let author = local_commit.author();
        let parents: Vec<&git2::Commit<'_>> = remote_commit.iter().collect();
        let oid = commit_tree(
            repo,
            author.name().unwrap_or("wave-runner"),
            local_commit.time().seconds(),
            &changes,
            &new_tree,
            &parents,
        )
        .map_err(&err)?;
        self.set_ref(repo, LOCAL_REF, oid)
    }

    /// Runs `read` on the local view's tree after refreshing once; `None` when the branch has
    /// no commit yet.
    fn with_tree<T>(
        &self,
        read: impl FnOnce(&Repository, &Tree<'_>) -> Result<T, git2::Error>,
    ) -> Result<Option<T>, GitStoreError> {
        self.refresh()?;
        if !self.cache.join("HEAD").exists() {
            return Ok(None);
        }
        let repo = Repository::open_bare(&self.cache).map_err(self.local_err("open the cache"))?;
        let err = self.local_err("read the state tree");
        // Inside a batch, what it staged so far.
        let staged = self
            .batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|b| b.tree);
        let tree = match staged {
            Some(staged) => repo.find_tree(staged).map_err(&err)?,
            None => {
                let Some(oid) = self.ref_oid(&repo, LOCAL_REF)? else {
                    return Ok(None);
                };
                repo.find_commit(oid).and_then(|c| c.tree()).map_err(&err)?
            }
        };
        read(&repo, &tree).map(Some).map_err(&err)
    }

    /// Refuses to write to a branch whose format marker names a newer format.
    fn check_format(&self, bytes: &[u8]) -> Result<(), GitStoreError> {
        let found = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v.get("storeFormat").and_then(serde_json::Value::as_u64));
        match found {
            Some(found) if found <= STORE_FORMAT => Ok(()),
            Some(found) => Err(GitStoreError::NewerFormat {
                location: self.location(FORMAT_FILE),
                found,
                supported: STORE_FORMAT,
            }),
            None => Err(GitStoreError::Local {
                action: "read the store format marker",
                cache: self.location(FORMAT_FILE),
                message: format!(
                    "not {{\"storeFormat\": N}}; restore it as {{\"storeFormat\": {STORE_FORMAT}}}"
                ),
            }),
        }
    }

    fn location(&self, path: &str) -> String {
        format!("git:{}#{}:{path}", self.shown, self.spec.branch)
    }

    fn store_err(&self, e: GitStoreError) -> StoreError {
        match e {
            GitStoreError::NewerFormat {
                location,
                found,
                supported,
            } => StoreError::NewerFormat {
                location,
                found,
                supported,
            },
            source => StoreError::Branch {
                store: self.describe(),
                source,
            },
        }
    }
}

/// The signature of state commits: the writer's name at the time of the records.
/// Commits `tree` on `parents` (no ref moves), authored and committed by `author` at `seconds`,
/// with the message describing `changes`.
fn commit_tree(
    repo: &Repository,
    author: &str,
    seconds: i64,
    changes: &[tree::Change],
    tree: &Tree<'_>,
    parents: &[&git2::Commit<'_>],
) -> Result<git2::Oid, git2::Error> {
    let sig = signature(author, seconds)?;
    repo.commit(None, &sig, &sig, &tree::describe(changes), tree, parents)
}

fn signature(name: &str, seconds: i64) -> Result<Signature<'static>, git2::Error> {
    let email = format!("{name}@wave-runner.invalid");
    Signature::new(name, &email, &git2::Time::new(seconds, 0))
}

/// Full-jitter exponential backoff for the `attempt`-th retry.
fn backoff(attempt: u32) -> Duration {
    let cap = BASE_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    hasher.write_u32(std::process::id());
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(BASE_BACKOFF.as_millis() as u64 / 2 + hasher.finish() % cap_ms)
}

impl EventStore for GitBranchStore {
    fn describe(&self) -> String {
        format!("git:{}#{}", self.shown, self.spec.branch)
    }

    fn append(
        &self,
        stream: &StreamId,
        writer: &str,
        at: jiff::Timestamp,
        records: &[Record],
    ) -> Result<Appended, StoreError> {
        stream.validate()?;
        validate_writer(writer)?;
        check_records(records)?;
        let path = format!("{}/{writer}.jsonl", stream.dir());
        let stamp = time::format(at);
        let location = self.location(&path);
        let mut range = Appended { first: 1, last: 0 };
        let outcome = self
            .write_file(&path, at, writer, |old| {
                let mut bytes = old.unwrap_or_default();
                let last = last_seq_in_tail(&bytes, true, writer).unwrap_or(0);
                let (text, appended) = encode_appended(
                    writer,
                    last,
                    bytes.is_empty() || bytes.ends_with(b"\n"),
                    &stamp,
                    records,
                    || location.clone(),
                )?;
                range = appended;
                if records.is_empty() {
                    return Ok(None);
                }
                bytes.extend_from_slice(text.as_bytes());
                Ok(Some(bytes))
            })
            .map_err(|e| self.store_err(e))?;
        outcome?;
        Ok(range)
    }

    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
        stream.validate()?;
        validate_name("writer", writer)?;
        let path = format!("{}/{writer}.jsonl", stream.dir());
        let bytes = self
            .with_tree(|repo, tree| tree::read_blob(repo, tree, &path))
            .map_err(|e| self.store_err(e))?
            .flatten();
        Ok(bytes
            .and_then(|b| last_seq_in_tail(&b, true, writer))
            .unwrap_or(0))
    }

    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
        stream.validate()?;
        let dir = stream.dir();
        let mut writers: Vec<String> = self
            .with_tree(|repo, tree| {
                Ok(match tree::subtree(repo, tree, &dir)? {
                    Some(sub) => tree::entries(&sub),
                    None => Vec::new(),
                })
            })
            .map_err(|e| self.store_err(e))?
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .filter_map(|(name, _)| name.strip_suffix(".jsonl").map(str::to_owned))
            .filter(|w| validate_name("writer", w).is_ok())
            .collect();
        writers.sort();
        Ok(writers)
    }

    fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let writers = self.writers(stream)?;
        let dir = stream.dir();
        let files: Vec<(String, Vec<u8>)> = self
            .with_tree(|repo, tree| {
                let mut files = Vec::new();
                for writer in &writers {
                    if let Some(bytes) =
                        tree::read_blob(repo, tree, &format!("{dir}/{writer}.jsonl"))?
                    {
                        files.push((writer.clone(), bytes));
                    }
                }
                Ok(files)
            })
            .map_err(|e| self.store_err(e))?
            .unwrap_or_default();
        let mut problems = Vec::new();
        for (writer, bytes) in files {
            let shown = self.location(&format!("{dir}/{writer}.jsonl"));
            let source = Source {
                file: &shown,
                writer: &writer,
                legacy: false,
            };
            scan_lines(bytes.as_slice(), &source, 0, visitor, &mut problems).map_err(|e| {
                StoreError::Io {
                    action: "read",
                    path: PathBuf::from(&shown),
                    source: e,
                }
            })?;
        }
        Ok(problems)
    }

    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
        key.validate()?;
        let path = key.path();
        let location = self.location(&path);
        let mut text = serde_json::to_string_pretty(body)
            .map_err(|source| StoreError::Serialize { source })?;
        text.push('\n');
        let mut outcome = PutOutcome::Written;
        // Envelopes carry no timestamp of their own: the commit keeps its parent's time.
        let result = self
            .write_file(&path, jiff::Timestamp::UNIX_EPOCH, "wave-runner", |old| {
                let Some(old) = old else {
                    return Ok(Some(text.into_bytes()));
                };
                let existing: Record =
                    serde_json::from_slice(&old).map_err(|e| StoreError::CorruptResult {
                        location: location.clone(),
                        message: e.to_string(),
                    })?;
                if &existing == body {
                    outcome = PutOutcome::Unchanged;
                    Ok(None)
                } else {
                    Err(StoreError::ResultConflict {
                        location: location.clone(),
                    })
                }
            })
            .map_err(|e| self.store_err(e))?;
        // Another machine stored a different envelope under this key first: the remote's
        // stays, and this one was not stored.
        if result?.iter().any(|c| c.path == path) {
            return Err(StoreError::ResultConflict { location });
        }
        Ok(outcome)
    }

    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        key.validate()?;
        let path = key.path();
        let Some(bytes) = self
            .with_tree(|repo, tree| tree::read_blob(repo, tree, &path))
            .map_err(|e| self.store_err(e))?
            .flatten()
        else {
            return Ok(None);
        };
        serde_json::from_slice::<Record>(&bytes)
            .map(Some)
            .map_err(|e| StoreError::CorruptResult {
                location: self.location(&path),
                message: e.to_string(),
            })
    }

    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        validate_name("lane", lane)?;
        let dir = format!("{lane}/wave-{wave}/results");
        let mut keys = self
            .with_tree(|repo, tree| {
                let mut keys = Vec::new();
                let Some(results) = tree::subtree(repo, tree, &dir)? else {
                    return Ok(keys);
                };
                for (name, is_dir) in tree::entries(&results) {
                    let Some(attempt) = name
                        .strip_prefix("attempt-")
                        .and_then(|a| a.parse::<u32>().ok())
                        .filter(|_| is_dir)
                    else {
                        continue;
                    };
                    let Some(sub) = tree::subtree(repo, &results, &name)? else {
                        continue;
                    };
                    for (file, is_dir) in tree::entries(&sub) {
                        if let Some(agent) = file.strip_suffix(".json").filter(|_| !is_dir)
                            && validate_name("agent", agent).is_ok()
                        {
                            keys.push(ResultKey::new(lane, wave, attempt, agent));
                        }
                    }
                }
                Ok(keys)
            })
            .map_err(|e| self.store_err(e))?
            .unwrap_or_default();
        keys.sort();
        Ok(keys)
    }

    fn lanes(&self) -> Result<Vec<String>, StoreError> {
        let mut lanes: Vec<String> = self
            .with_tree(|_, tree| Ok(tree::entries(tree)))
            .map_err(|e| self.store_err(e))?
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, is_dir)| *is_dir && validate_name("lane", name).is_ok())
            .map(|(name, _)| name)
            .collect();
        lanes.sort();
        Ok(lanes)
    }

    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        validate_name("lane", lane)?;
        let mut waves: Vec<u32> = self
            .with_tree(|repo, tree| {
                Ok(match tree::subtree(repo, tree, lane)? {
                    Some(sub) => tree::entries(&sub),
                    None => Vec::new(),
                })
            })
            .map_err(|e| self.store_err(e))?
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
            .filter_map(|(name, _)| name.strip_prefix("wave-")?.parse().ok())
            .collect();
        waves.sort_unstable();
        Ok(waves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_take_a_url_and_an_optional_branch() {
        let spec = GitSpec::parse("git://127.0.0.1:9418/repo.git#state/x").expect("parses");
        assert_eq!(spec.url, "git://127.0.0.1:9418/repo.git");
        assert_eq!(spec.branch, "state/x");
        let spec = GitSpec::parse("https://github.com/o/r.git").expect("parses");
        assert_eq!(spec.branch, DEFAULT_BRANCH);
        for bad in [
            "",
            "#wave-state",
            "git://h/r.git#bad..name",
            "git://h/r.git#",
        ] {
            assert!(GitSpec::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        let err = GitSpec::parse("https://user:hunter2@example.com/r.git").expect_err("refused");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let spec = GitSpec::parse("https://x-access-token@example.com/r.git").expect("parses");
        assert_eq!(spec.shown_url(), "https://example.com/r.git");
    }

    #[test]
    fn the_timeout_setting_takes_positive_seconds_and_refuses_the_rest() {
        use crate::settings::EnvSnapshot;
        let read = |value: &str| {
            GitBranchStore::timeout_from_env(&EnvSnapshot::from_pairs([(TIMEOUT_VAR, value)]))
        };
        assert_eq!(
            GitBranchStore::timeout_from_env(&EnvSnapshot::default()),
            Ok(DEFAULT_TIMEOUT)
        );
        assert_eq!(read("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(read(" 30 "), Ok(Duration::from_secs(30)));
        for bad in ["0", "-1", "soon", "NaN", "inf", "0.0001"] {
            let err = read(bad).expect_err(bad);
            assert!(err.to_string().contains(TIMEOUT_VAR), "{err}");
        }
    }

    /// Commits `path` with `text` on the local tip of `store`'s cache; the new commit.
    fn commit_file(store: &GitBranchStore, repo: &Repository, path: &str, text: &str) -> Oid {
        let parent = store
            .ref_oid(repo, LOCAL_REF)
            .expect("ref")
            .map(|oid| repo.find_commit(oid).expect("commit"));
        let base = parent.as_ref().map(|c| c.tree().expect("tree"));
        let edited = store
            .edit_tree::<()>(repo, base.as_ref(), path, |_| {
                Ok(Some(text.as_bytes().to_vec()))
            })
            .expect("edit")
            .expect("accepted")
            .expect("changed");
        let tree = repo.find_tree(edited.tree).expect("tree");
        let sig = signature("w", 1).expect("signature");
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = repo
            .commit(None, &sig, &sig, "m", &tree, &parents)
            .expect("commit");
        store.set_ref(repo, LOCAL_REF, oid).expect("set ref");
        oid
    }

    #[test]
    fn taking_a_commit_back_keeps_what_others_committed_on_top_of_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = GitSpec::parse("git://127.0.0.1:9/none.git").expect("spec");
        let store = GitBranchStore::new(spec, &dir.path().join("cache"), None);
        let repo = store.open_repo().expect("cache");
        let tree_of = |oid: Oid| repo.find_commit(oid).expect("commit").tree().expect("tree");
        let first = commit_file(&store, &repo, "l/wave-0/coordination/a.jsonl", "a1\n");
        let first_blob = tree::blob_id(&tree_of(first), "l/wave-0/coordination/a.jsonl");
        // Alone on the tip: the ref goes back to the parent.
        let ours = commit_file(&store, &repo, "l/wave-0/coordination/a.jsonl", "a1\na2\n");
        store
            .take_back(
                &repo,
                ours,
                Some(first),
                &[("l/wave-0/coordination/a.jsonl".into(), first_blob)],
            )
            .expect("take back");
        assert_eq!(store.ref_oid(&repo, LOCAL_REF).expect("ref"), Some(first));
        // Another writer's commit on top: it stays, this one's lines go.
        let ours = commit_file(&store, &repo, "l/wave-0/coordination/a.jsonl", "a1\na2\n");
        commit_file(&store, &repo, "l/wave-0/coordination/b.jsonl", "b1\n");
        store
            .take_back(
                &repo,
                ours,
                Some(first),
                &[("l/wave-0/coordination/a.jsonl".into(), first_blob)],
            )
            .expect("take back");
        let tip = store.ref_oid(&repo, LOCAL_REF).expect("ref").expect("tip");
        let tree = tree_of(tip);
        let read = |path: &str| tree::read_blob(&repo, &tree, path).expect("read");
        assert_eq!(
            read("l/wave-0/coordination/a.jsonl").as_deref(),
            Some(&b"a1\n"[..])
        );
        assert_eq!(
            read("l/wave-0/coordination/b.jsonl").as_deref(),
            Some(&b"b1\n"[..])
        );
        // Nothing was pushed, so the pending work is one commit with no parent.
        assert_eq!(repo.find_commit(tip).expect("commit").parent_count(), 0);
    }

    #[test]
    fn backoff_stays_within_bounds() {
        for attempt in 1..30 {
            let d = backoff(attempt);
            assert!(d <= MAX_BACKOFF + BASE_BACKOFF, "{d:?}");
        }
    }
}
