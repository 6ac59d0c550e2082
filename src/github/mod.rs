//! GitHub: the API client, check runs, comments, webhook-event ingestion and Actions plumbing.
//!
//! Owns: every call to GitHub and every write to the Actions runner's files and workflow
//! commands. Must not: evaluate a gate or decide closure; its surfaces are projections of the
//! engine's recorded verdicts ([`verdict`] reads them into a plain [`report::WaveReport`]).
//! octocrab types never leave [`client`].
//!
//! | module | owns |
//! |---|---|
//! | [`report`] | the [`report::WaveReport`] input view and its adapter from `wave control status --json` |
//! | [`verdict`] | the report built from the engine's recorded state (the verdict mapping) and the plan hash |
//! | [`client`] | the [`client::Api`] trait, the octocrab transport (auth, headers, retries, rate limits) and the dry-run transport |
//! | [`publish`] | idempotent publishing: lookup before every create, edit in place, write budget |
//! | [`ingest`] | event payloads → authorized, sanitized human-feedback / rerun / resolve records |
//! | [`sanitize`] | cleaning untrusted text before it can reach a prompt |
//! | [`actions`] | `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and workflow commands |
//!
//! The text of every surface is rendered by [`crate::render::github`].

pub mod actions;
pub mod client;
pub mod ingest;
pub mod publish;
pub mod report;
pub mod sanitize;
pub mod verdict;

use crate::store::StoreError;

/// Everything that can go wrong talking to GitHub or reading its events.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// A required setting is missing.
    #[error("{what} is not set: {hint}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// What to do.
        hint: &'static str,
    },
    /// A setting has a value that cannot be used.
    #[error("{what} `{value}` is not valid: {hint}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// Its value.
        value: String,
        /// What is expected.
        hint: String,
    },
    /// GitHub refused a request for a reason retrying will not fix.
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Method.
        method: &'static str,
        /// Path and query.
        path: String,
        /// GitHub's message.
        message: String,
    },
    /// A request failed in a way that may or may not have reached GitHub (a 5xx, a dropped
    /// connection, a timeout) and was not retried because it is not idempotent by itself.
    #[error("{method} {path} failed and may not have been applied: {message}")]
    Transient {
        /// Method.
        method: &'static str,
        /// Path and query.
        path: String,
        /// What happened.
        message: String,
    },
    /// Retries ran out.
    #[error("{method} {path} still failing after {attempts} attempts: {message}")]
    Exhausted {
        /// Method.
        method: &'static str,
        /// Path and query.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// A rate limit asks for a longer wait than the runner will make.
    #[error(
        "rate limited on {path}: GitHub asks to wait {wait_secs} s, more than the {max_secs} s allowed; rerun later"
    )]
    RateLimited {
        /// Path and query.
        path: String,
        /// Requested wait.
        wait_secs: u64,
        /// Longest wait allowed.
        max_secs: u64,
    },
    /// GitHub answered something that is not the documented shape.
    #[error("unexpected response to {path}: {message}")]
    Response {
        /// Path and query.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// An event payload lacks a field or has the wrong type.
    #[error(
        "event payload field `{field}` is {message}; is this the event the workflow says it is?"
    )]
    Payload {
        /// Dotted field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An id is recorded in more than one wave.
    #[error("`{id}` is recorded in more than one wave: {hint}")]
    Ambiguous {
        /// The id.
        id: String,
        /// What to do.
        hint: String,
    },
    /// The GitHub App credentials could not make a token.
    #[error("GitHub App authentication failed: {message}")]
    AppAuth {
        /// What failed.
        message: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local file (event payload, `$GITHUB_OUTPUT`, …) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
