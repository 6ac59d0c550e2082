//! The CLI's one error type: a kind, a message that says what went wrong, hints that say what to
//! do, and the exit code it maps to.
//!
//! Subsystem errors (`PlanError`, …) convert into [`CliError`] with `From` impls that live
//! beside the command that uses them; store errors, which every command meets, map here
//! ([`store_error`], [`git_store_error`]).

use std::fmt;

use crate::exit::Code;
use crate::store::StoreError;
use crate::store::git::{GitStoreError, TIMEOUT_VAR};

/// Who has to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input (flags, plans, records) is wrong; they can fix it.
    User,
    /// The repository set-up or configuration is wrong.
    Config,
    /// A bug or an infrastructure failure.
    Internal,
}

/// An error reported by a `wave` command.
#[derive(Debug)]
pub struct CliError {
    /// Who has to act.
    pub kind: ErrorKind,
    /// What went wrong, one or more lines.
    pub message: String,
    /// What to do about it.
    pub hints: Vec<String>,
    /// The exit code to leave with.
    pub code: Code,
}

impl CliError {
    /// An error in the user's input: exit 1.
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message, Code::FAILURE)
    }

    /// A usage error (bad flags or arguments): exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message, Code::USAGE)
    }

    /// A configuration or set-up error: exit 1.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message, Code::FAILURE)
    }

    /// A bug or an infrastructure failure: exit 70.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message, Code::INTERNAL)
    }

    fn new(kind: ErrorKind, message: impl Into<String>, code: Code) -> Self {
        Self {
            kind,
            message: message.into(),
            hints: Vec::new(),
            code,
        }
    }

    /// Adds a hint: what the user can do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Overrides the exit code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// Renders the error with its source chain's messages already folded into `message`.
    pub fn from_error(kind: ErrorKind, err: &dyn std::error::Error, code: Code) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Self::new(kind, message, code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            ErrorKind::Internal => "internal error",
            _ => "error",
        };
        write!(f, "{prefix}: {}", self.message)?;
        for hint in &self.hints {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        Self::from_error(ErrorKind::Internal, &err, Code::INTERNAL)
    }
}

/// A store failure as a CLI error. Who has to act decides the exit code: bad names and
/// records are the user's (1), a refused or missing token, a newer or damaged store are
/// configuration (1), a bad `--store` is usage (2); only I/O and network failures are 70.
pub(crate) fn store_error(err: StoreError) -> CliError {
    let (kind, code, hint) = match &err {
        StoreError::Branch { source, .. } => return git_store_error_of(&err, source),
        StoreError::UnknownSpec { .. } | StoreError::EmptySpecPath { .. } => {
            (ErrorKind::User, Code::USAGE, None)
        }
        StoreError::InvalidName { .. }
        | StoreError::ReservedWriter { .. }
        | StoreError::EnvelopeField { .. }
        | StoreError::ResultConflict { .. } => (ErrorKind::User, Code::FAILURE, None),
        StoreError::NewerFormat { .. }
        | StoreError::CorruptFormat { .. }
        | StoreError::CorruptResult { .. } => (ErrorKind::Config, Code::FAILURE, None),
        StoreError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => (
            ErrorKind::Config,
            Code::FAILURE,
            Some("check the permissions of the store (`--store`/WAVE_STORE)"),
        ),
        StoreError::Io { .. } => (
            ErrorKind::Internal,
            Code::INTERNAL,
            Some("check the store path (`--store`/WAVE_STORE), its permissions and free space"),
        ),
        StoreError::Serialize { .. } | StoreError::SeqOverflow { .. } => {
            (ErrorKind::Internal, Code::INTERNAL, None)
        }
    };
    let cli = CliError::from_error(kind, &err, code);
    match hint {
        Some(hint) => cli.hint(hint),
        None => cli,
    }
}

/// A state-branch failure as a CLI error (see [`store_error`]).
pub(crate) fn git_store_error(err: GitStoreError) -> CliError {
    git_store_error_of(&err, &err)
}

/// Maps `shown` (the error as reported) by the state-branch failure `git` inside it.
fn git_store_error_of(shown: &dyn std::error::Error, git: &GitStoreError) -> CliError {
    let (kind, code, hint) = match git {
        GitStoreError::AuthRefused { .. } => (
            ErrorKind::Config,
            Code::FAILURE,
            "set WAVE_GIT_TOKEN (or GITHUB_TOKEN) to a token with write access to the repository's contents".to_owned(),
        ),
        GitStoreError::AuthMissing { .. } => (
            ErrorKind::Config,
            Code::FAILURE,
            "set WAVE_GIT_TOKEN (in GitHub Actions: `WAVE_GIT_TOKEN: ${{ github.token }}` with `permissions: contents: write`)".to_owned(),
        ),
        GitStoreError::InvalidSpec { .. } => (
            ErrorKind::User,
            Code::USAGE,
            "e.g. `--store git:https://github.com/owner/repo.git#wave-state`".to_owned(),
        ),
        GitStoreError::InvalidTimeout { .. } => (
            ErrorKind::Config,
            Code::FAILURE,
            format!("unset {TIMEOUT_VAR} for the default, or give seconds such as 30"),
        ),
        GitStoreError::NewerFormat { .. } => (
            ErrorKind::Config,
            Code::FAILURE,
            "install a newer wave-runner".to_owned(),
        ),
        GitStoreError::Unreachable { .. } | GitStoreError::TimedOut { .. } => (
            ErrorKind::Internal,
            Code::INTERNAL,
            "records appended meanwhile stay in the local cache; `wave state push` sends them once the remote answers".to_owned(),
        ),
        GitStoreError::Local { .. } => (
            ErrorKind::Internal,
            Code::INTERNAL,
            "the cache under .wave/cache/state-branch can be deleted and is fetched again; only commits marked `(not pushed)` by `wave state log` would be lost".to_owned(),
        ),
    };
    CliError::from_error(kind, shown, code).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_exit_by_who_has_to_act() {
        let branch = |source| StoreError::Branch {
            store: "git:git://h/r.git#wave-state".to_owned(),
            source,
        };
        let refused = store_error(branch(GitStoreError::AuthRefused {
            remote: "https://h/r.git".to_owned(),
            source_var: "WAVE_GIT_TOKEN",
        }));
        assert_eq!(
            (refused.kind, refused.code),
            (ErrorKind::Config, Code::FAILURE)
        );
        assert!(refused.message.contains("refused the token"), "{refused}");
        assert!(!refused.hints.is_empty());
        let timed_out = store_error(branch(GitStoreError::TimedOut {
            action: "push to",
            remote: "git://h/r.git".to_owned(),
            after: std::time::Duration::from_secs(2),
        }));
        assert_eq!(timed_out.code, Code::INTERNAL);
        assert!(
            timed_out.message.contains("no answer within 2 s"),
            "{timed_out}"
        );
        let spec = store_error(branch(GitStoreError::InvalidSpec {
            reason: "the remote URL is empty".to_owned(),
        }));
        assert_eq!(spec.code, Code::USAGE);
        let name = store_error(StoreError::InvalidName {
            what: "lane",
            name: "a/b".to_owned(),
        });
        assert_eq!((name.kind, name.code), (ErrorKind::User, Code::FAILURE));
        let newer = store_error(StoreError::NewerFormat {
            location: "x".to_owned(),
            found: 9,
            supported: 1,
        });
        assert_eq!((newer.kind, newer.code), (ErrorKind::Config, Code::FAILURE));
        let io = store_error(StoreError::Io {
            action: "open",
            path: "/x".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        });
        assert_eq!((io.kind, io.code), (ErrorKind::Internal, Code::INTERNAL));
    }

    #[test]
    fn display_lists_hints_under_the_message() {
        let err = CliError::user("plan is broken").hint("fix line 3");
        assert_eq!(err.to_string(), "error: plan is broken\n  hint: fix line 3");
        assert_eq!(err.code, Code::FAILURE);
    }
}
