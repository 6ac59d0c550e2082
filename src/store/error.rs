//! The store's one error type.

use std::path::PathBuf;

/// Everything that can go wrong storing or loading canonical state.
///
/// Malformed *lines* are not errors: a read returns them as [`super::Problem`]s and goes on.
/// These errors mean the operation itself could not be done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A lane, writer or agent name that cannot name a file.
    #[error(
        "invalid {what} name `{name}`: use 1-128 characters from [A-Za-z0-9._-], not starting with `.`"
    )]
    InvalidName {
        /// Which kind of name (`lane`, `writer`, `agent`).
        what: &'static str,
        /// The rejected name.
        name: String,
    },

    /// The writer name is reserved for state imported from upstream, which is never written.
    #[error(
        "writer name `{name}` is reserved for imported upstream state and cannot append; use this process's own writer name"
    )]
    ReservedWriter {
        /// The rejected name.
        name: String,
    },

    /// A record to append already carries an envelope field the store sets itself.
    #[error(
        "record to append already has the envelope field `{field}`: remove it, the store sets `writer`, `seq` and `at`"
    )]
    EnvelopeField {
        /// The offending field.
        field: &'static str,
    },

    /// A result envelope already exists with a different body; envelopes are immutable.
    #[error(
        "result envelope {location} already exists with a different body: envelopes are immutable, record a new attempt instead"
    )]
    ResultConflict {
        /// Where the existing envelope is.
        location: String,
    },

    /// A stored result envelope is not a JSON object.
    #[error(
        "result envelope {location} is not a readable JSON object ({message}): repair or remove the file"
    )]
    CorruptResult {
        /// Where the envelope is.
        location: String,
        /// What the parser said.
        message: String,
    },

    /// The store was written by a newer version of the format; writing could corrupt it.
    #[error(
        "store {location} has format {found}, newer than format {supported} this wave-runner writes: upgrade wave-runner to write to it (reading still works)"
    )]
    NewerFormat {
        /// The store's format marker.
        location: String,
        /// The format it declares.
        found: u64,
        /// The newest format this build writes.
        supported: u64,
    },

    /// The store's format marker cannot be read.
    #[error(
        "store format marker {location} is unreadable ({message}): restore it as {{\"storeFormat\": 1}}"
    )]
    CorruptFormat {
        /// The marker file.
        location: String,
        /// What is wrong.
        message: String,
    },

    /// The store spec names no known backend.
    #[error("unknown store spec `{spec}`: accepted forms are {accepted}")]
    UnknownSpec {
        /// The spec as given.
        spec: String,
        /// The accepted forms, for the message.
        accepted: &'static str,
    },

    /// The store spec names a backend but no location.
    #[error("store spec `{spec}` has an empty path: give one, e.g. `dir:.wave/state`")]
    EmptySpecPath {
        /// The spec as given.
        spec: String,
    },

    /// A file-system operation failed.
    #[error("failed to {action} {}", path.display())]
    Io {
        /// What was being done (`open`, `lock`, `append to`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The state branch could not be used: its remote refused, could not be reached, or its
    /// local cache failed. The source says which (and what to do).
    #[error("state branch {store}: {source}")]
    Branch {
        /// The store, as `git:<remote>#<branch>` (never with credentials).
        store: String,
        /// What went wrong.
        #[source]
        source: crate::store::git::GitStoreError,
    },

    /// A record could not be serialized (a bug: records are JSON maps).
    #[error("failed to serialize a record")]
    Serialize {
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },

    /// A writer's sequence number would overflow.
    #[error("writer `{writer}` has exhausted its sequence numbers in {location}")]
    SeqOverflow {
        /// The writer.
        writer: String,
        /// The stream file.
        location: String,
    },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}
