//! Settings: the one module that reads the process environment.
//!
//! Owns: turning global flags plus environment variables (`WAVE_REPO_ROOT`, `WAVE_STORE`,
//! `WAVE_NOW`, `NO_COLOR`, `CI`, `GITHUB_*`, the agent CLI overrides `WAVE_<ID>_COMMAND` /
//! `WAVE_<ID>_BASE_URL`) into a plain [`Settings`] value, naming this process as a store writer,
//! and the process clock ([`Clock`]: the system clock, or an injected one). Secret values (API
//! keys) are read only on demand, for masking. Everything below the CLI receives settings as
//! parameters.
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` are captured for the git-branch store's `https://` remotes,
//! and [`with_ca_locations_hidden`] keeps libgit2's start-up from parsing a CA bundle.
//! Must not: be called from `plan`, `engine`, `render` or `store` code (the git-branch store
//! runs libgit2's initialisation inside [`with_ca_locations_hidden`], nothing more); hold logic
//! beyond lookup and defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Environment variables the runner reads, captured once at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvSnapshot {
    vars: BTreeMap<String, String>,
}

/// Prefixes and names of the variables that are captured; nothing else is ever read.
const CAPTURED_PREFIXES: &[&str] = &["WAVE_", "GITHUB_", "RUNNER_"];
const CAPTURED_NAMES: &[&str] = &[
    "CI",
    "NO_COLOR",
    "HOSTNAME",
    "PATH",
    "HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

impl EnvSnapshot {
    /// Captures the variables the runner uses from the current process environment.
    #[allow(clippy::disallowed_methods)] // the one place the process environment is read
    pub fn capture() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| {
                CAPTURED_NAMES.contains(&k.as_str())
                    || CAPTURED_PREFIXES.iter().any(|p| k.starts_with(p))
            })
            .collect();
        Self { vars }
    }

    /// An explicit snapshot, for tests and embedding.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of a variable, if set and non-empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// True when a variable is set to a truthy value (`1`, `true`, `yes`, `on`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.get(key).map(str::to_ascii_lowercase).as_deref(),
            Some("1" | "true" | "yes" | "on")
        )
    }
}

/// Global settings every command receives.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Repository root: `--repo-root`, else `WAVE_REPO_ROOT`, else the current directory.
    pub repo_root: PathBuf,
    /// Store spec (`dir:<path>`, later `git:<remote>#<branch>`): `--store`, else `WAVE_STORE`.
    pub store: Option<String>,
    /// Running under CI (`CI=true`): never prompt, plain progress lines.
    pub ci: bool,
    /// Running inside GitHub Actions.
    pub github_actions: bool,
    /// Colour allowed (no `NO_COLOR`); the terminal check happens at output time.
    pub color: bool,
    /// This process's writer name in the store.
    pub writer: String,
    /// The captured environment, for the few effect modules that need more.
    pub env: EnvSnapshot,
    /// The clock every command stamps records and evaluates timers with.
    pub clock: Clock,
    /// Why `WAVE_NOW` was not used, when it is set but is not an RFC 3339 timestamp.
    pub clock_error: Option<String>,
}

/// The process clock: the system clock, or an injected start time (`WAVE_NOW`, RFC 3339) that
/// advances with the real time elapsed since the process started, so timestamps stay ordered
/// within a run while timers (acknowledgement timeouts, escalation deadlines) can be exercised
/// without waiting.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    injected: Option<(jiff::Timestamp, std::time::Instant)>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { injected: None }
    }

    /// A clock that reads `start` now and advances in real time.
    pub fn starting_at(start: jiff::Timestamp) -> Self {
        Self {
            injected: Some((start, std::time::Instant::now())),
        }
    }

    /// The current time.
    pub fn now(&self) -> jiff::Timestamp {
        match self.injected {
            None => jiff::Timestamp::now(),
            Some((start, at)) => {
                let elapsed = jiff::SignedDuration::try_from(at.elapsed()).unwrap_or_default();
                start.checked_add(elapsed).unwrap_or(start)
            }
        }
    }

    /// True when the time is injected rather than read from the system.
    pub fn is_injected(&self) -> bool {
        self.injected.is_some()
    }
}

impl Settings {
    /// Resolves settings from global flags and the captured environment.
    pub fn resolve(repo_root: Option<PathBuf>, store: Option<String>, env: EnvSnapshot) -> Self {
        let repo_root = repo_root
            .or_else(|| env.get("WAVE_REPO_ROOT").map(PathBuf::from))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        let store = store.or_else(|| env.get("WAVE_STORE").map(str::to_owned));
        let ci = env.flag("CI");
        let github_actions = env.flag("GITHUB_ACTIONS");
        let color = env.get("NO_COLOR").is_none();
        let writer = writer_name(&env, std::process::id());
        let (clock, clock_error) = match env.get("WAVE_NOW") {
            None => (Clock::system(), None),
            Some(text) => match text.trim().parse::<jiff::Timestamp>() {
                Ok(t) => (Clock::starting_at(t), None),
                Err(e) => (
                    Clock::system(),
                    Some(format!(
                        "WAVE_NOW={text:?} is not an RFC 3339 timestamp ({e}); use e.g. 2026-01-01T00:00:00Z"
                    )),
                ),
            },
        };
        Self {
            repo_root,
            store,
            ci,
            github_actions,
            color,
            writer,
            env,
            clock,
            clock_error,
        }
    }

    /// The current time of this process's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

impl Settings {
    /// `WAVE_<ID>_COMMAND` and `WAVE_<ID>_BASE_URL` for one agent CLI (`codex`, `claude`,
    /// `opencode`): the program and the model endpoint that override configuration.
    pub fn agent_cli_override(&self, id: &str) -> (Option<String>, Option<String>) {
        let upper = id.to_ascii_uppercase();
        let get = |suffix: &str| {
            self.env
                .get(&format!("WAVE_{upper}_{suffix}"))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        (get("COMMAND"), get("BASE_URL"))
    }

    /// The values of the named secret variables that are set (API keys named by
    /// `apiKeyEnv`, leased credentials), read on demand and only so that agent logs can be
    /// masked. Values shorter than 4 characters are not returned: masking them would mangle
    /// ordinary text.
    #[allow(clippy::disallowed_methods)] // secrets are not captured in the snapshot
    pub fn secret_values(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .filter_map(|n| std::env::var(n).ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| v.len() >= 4)
            .collect()
    }

    /// True when this process runs as root (agent CLIs need to know: Claude Code refuses to
    /// skip permissions for root outside a declared sandbox).
    pub fn running_as_root(&self) -> bool {
        rustix::process::getuid().is_root()
    }
}

/// Names this process as a store writer (DESIGN §4): `gha-<run_id>-<run_attempt>-<job>` in
/// Actions (plus `WAVE_MATRIX_KEY` when set), `local-<host>-<pid>` elsewhere. Always a safe file
/// name: `[A-Za-z0-9._-]` only.
pub fn writer_name(env: &EnvSnapshot, pid: u32) -> String {
    let raw = match (env.get("GITHUB_RUN_ID"), env.get("GITHUB_JOB")) {
        (Some(run), Some(job)) => {
            let attempt = env.get("GITHUB_RUN_ATTEMPT").unwrap_or("1");
            match env.get("WAVE_MATRIX_KEY") {
                Some(key) => format!("gha-{run}-{attempt}-{job}-{key}"),
                None => format!("gha-{run}-{attempt}-{job}"),
            }
        }
        _ => format!("local-{}-{pid}", hostname(env)),
    };
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn hostname(env: &EnvSnapshot) -> String {
    env.get("HOSTNAME")
        .map(str::to_owned)
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "host".to_owned())
}

/// The variables naming OpenSSL's CA certificates (a bundle file, a hashed directory).
pub const CA_VARS: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Runs `init` with OpenSSL's CA variables ([`CA_VARS`]) pointing at nothing, then restores
/// them exactly as they were (set, unset or with their old values).
///
/// libgit2 initialises OpenSSL once per process, when git2 is first used, and OpenSSL then
/// parses the whole CA bundle named by `SSL_CERT_FILE` (or its compiled-in default, the system
/// bundle): about 235 million instructions, some 50 ms per process, paid even when no remote
/// uses TLS. Running git2's initialisation inside this function makes that step load nothing
/// and keeps git2 from writing its probed locations into the environment child processes
/// inherit; the git-branch store hands the real locations to libgit2 when it first talks to an
/// `http(s)://` remote.
///
/// # Safety
///
/// Sets and restores process environment variables: no other thread may read or write the
/// environment meanwhile (the store calls it once, when the first git-branch store or spec is
/// made, before a command starts threads of its own).
pub unsafe fn with_ca_locations_hidden<T>(init: impl FnOnce() -> T) -> T {
    #[allow(clippy::disallowed_methods)] // saved to be restored, never interpreted
    let saved = CA_VARS.map(std::env::var_os);
    for var in CA_VARS {
        // SAFETY: the caller guarantees no other thread touches the environment.
        unsafe { std::env::set_var(var, "/dev/null") };
    }
    let out = init();
    for (var, value) in CA_VARS.into_iter().zip(saved) {
        // SAFETY: as above.
        unsafe {
            match value {
                Some(value) => std::env::set_var(var, value),
                None => std::env::remove_var(var),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_in_actions_names_run_attempt_job_and_key() {
        let env = EnvSnapshot::from_pairs([
            ("GITHUB_RUN_ID", "123"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "agents"),
            ("WAVE_MATRIX_KEY", "A1/x"),
        ]);
        assert_eq!(writer_name(&env, 9), "gha-123-2-agents-A1-x");
    }

    #[test]
    fn wave_now_injects_a_clock_that_advances_from_it() {
        let env = EnvSnapshot::from_pairs([("WAVE_NOW", "2030-01-02T03:04:05Z")]);
        let s = Settings::resolve(Some(PathBuf::from(".")), None, env);
        assert!(s.clock.is_injected());
        assert!(s.clock_error.is_none());
        let start: jiff::Timestamp = "2030-01-02T03:04:05Z".parse().unwrap();
        let now = s.now();
        assert!(now >= start);
        assert!(
            now < start
                .checked_add(jiff::SignedDuration::from_secs(60))
                .unwrap()
        );
    }

    #[test]
    fn a_malformed_wave_now_is_reported_and_the_system_clock_used() {
        let env = EnvSnapshot::from_pairs([("WAVE_NOW", "yesterday")]);
        let s = Settings::resolve(Some(PathBuf::from(".")), None, env);
        assert!(!s.clock.is_injected());
        assert!(s.clock_error.as_deref().unwrap().contains("WAVE_NOW"));
    }

    #[test]
    fn agent_cli_overrides_are_read_per_cli() {
        let env = EnvSnapshot::from_pairs([
            ("WAVE_CODEX_COMMAND", "/opt/codex"),
            ("WAVE_CODEX_BASE_URL", " http://127.0.0.1:1/v1 "),
            ("WAVE_CLAUDE_BASE_URL", ""),
        ]);
        let s = Settings::resolve(Some(PathBuf::from("/r")), None, env);
        assert_eq!(
            s.agent_cli_override("codex"),
            (
                Some("/opt/codex".to_owned()),
                Some("http://127.0.0.1:1/v1".to_owned())
            )
        );
        assert_eq!(s.agent_cli_override("claude"), (None, None));
    }

    #[test]
    fn writer_locally_names_host_and_pid() {
        let env = EnvSnapshot::from_pairs([("HOSTNAME", "box")]);
        assert_eq!(writer_name(&env, 42), "local-box-42");
    }
}
