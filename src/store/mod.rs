//! The store: the only persistence of canonical state (DESIGN §4).
//!
//! Owns: the [`EventStore`] trait and its backends ([`DirStore`], [`MemStore`], the read-only
//! [`legacy`] import of upstream state), one append-only JSONL file per writer per stream, the
//! line envelope (`writer`, `seq`, `at`), locking and fsync, torn-line tolerance, the
//! deterministic [`merge`] of writers, and store selection ([`StoreSpec`], [`open_store`]).
//!
//! Must not: interpret records beyond their envelope (no last-record-per-id folding, no schema
//! checks: that is the reducer's job), read the clock (every `at` is a parameter) or the
//! environment (settings come in as [`crate::settings::Settings`]).
//!
//! Layout, identical in every backend (the wire format is described in `docs/event-format.md`):
//! ```text
//! <lane>/wave-<n>/coordination/<writer>.jsonl      append-only, one file per writer
//! <lane>/wave-<n>/control/<writer>.jsonl           append-only, one file per writer
//! <lane>/wave-<n>/results/attempt-<a>/<agent>.json immutable envelope
//! <lane>/dependencies/<writer>.jsonl               cross-lane tickets
//! ```
//!
//! Reading is streaming: [`EventStore::visit`] hands each stored line to a visitor as a
//! borrowed [`RawLine`], so a caller can deserialize straight into its own type and keep only
//! what it needs; [`EventStore::visit_parallel`] does the same on several threads;
//! [`EventStore::scan`] hands lines over as unchecked bytes for a cheap first pass
//! ([`EventStore::scan_parallel`] on several threads), and
//! [`EventStore::visit_at`] reads back only the lines it picked;
//! [`read_stream`] is the convenience that collects and merges everything.

mod dir;
mod error;
mod files;
pub mod git;
pub mod legacy;
mod line;
mod mem;
mod merge;
pub mod outbox;
mod spec;

use std::fmt;

pub use dir::{DirStore, FORMAT_FILE, STORE_FORMAT};
pub use error::StoreError;
pub use files::LineNumbers;
pub use git::GitBranchStore;
pub use legacy::{LegacyUpstream, WithLegacy};
pub use line::{Envelope, RawBytes, RawLine, StoredRecord};
pub use mem::MemStore;
pub use merge::{MergeKey, merge};
pub use outbox::{ImportError, ImportReport, OutboxStore, import};
pub use spec::{
    ACCEPTED_SPECS, DEFAULT_SPEC, OUTBOX_VAR, StoreSpec, open_store, open_store_with_legacy,
};

/// A record as the store sees it: a JSON object it does not interpret.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// The writer name of state imported from an upstream `.tmp/` tree (read-only).
pub const LEGACY_WRITER: &str = "legacy-upstream";

/// The envelope fields the store adds to every line it writes.
pub const ENVELOPE_FIELDS: [&str; 3] = ["writer", "seq", "at"];

/// One append-only log: the records of every writer of one kind for one wave (or lane).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamId {
    /// `<lane>/wave-<n>/coordination/`: coordination records (spec §3.2).
    Coordination {
        /// The lane.
        lane: String,
        /// The wave number.
        wave: u32,
    },
    /// `<lane>/wave-<n>/control/`: control-plane events (spec §4.1).
    Control {
        /// The lane.
        lane: String,
        /// The wave number.
        wave: u32,
    },
    /// `<lane>/dependencies/`: cross-lane dependency tickets owned by this lane (spec §3.11).
    Dependencies {
        /// The owner lane.
        lane: String,
    },
}

impl StreamId {
    /// The coordination log of a wave.
    pub fn coordination(lane: impl Into<String>, wave: u32) -> Self {
        StreamId::Coordination {
            lane: lane.into(),
            wave,
        }
    }

    /// The control-plane log of a wave.
    pub fn control(lane: impl Into<String>, wave: u32) -> Self {
        StreamId::Control {
            lane: lane.into(),
            wave,
        }
    }

    /// The dependency tickets owned by a lane.
    pub fn dependencies(lane: impl Into<String>) -> Self {
        StreamId::Dependencies { lane: lane.into() }
    }

    /// The lane the stream belongs to.
    pub fn lane(&self) -> &str {
        match self {
            StreamId::Coordination { lane, .. }
            | StreamId::Control { lane, .. }
            | StreamId::Dependencies { lane } => lane,
        }
    }

    /// The stream's directory relative to the store root, with `/` separators.
    pub fn dir(&self) -> String {
        match self {
            StreamId::Coordination { lane, wave } => format!("{lane}/wave-{wave}/coordination"),
            StreamId::Control { lane, wave } => format!("{lane}/wave-{wave}/control"),
            StreamId::Dependencies { lane } => format!("{lane}/dependencies"),
        }
    }

    /// Checks that the lane can name a directory.
    pub fn validate(&self) -> Result<(), StoreError> {
        validate_name("lane", self.lane())
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dir())
    }
}

/// Where one immutable result envelope lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultKey {
    /// The lane.
    pub lane: String,
    /// The wave number.
    pub wave: u32,
    /// The attempt number (1-based).
    pub attempt: u32,
    /// The agent id.
    pub agent: String,
}

impl ResultKey {
    /// A result key.
    pub fn new(lane: impl Into<String>, wave: u32, attempt: u32, agent: impl Into<String>) -> Self {
        Self {
            lane: lane.into(),
            wave,
            attempt,
            agent: agent.into(),
        }
    }

    /// The envelope's path relative to the store root, with `/` separators.
    pub fn path(&self) -> String {
        format!(
            "{}/wave-{}/results/attempt-{}/{}.json",
            self.lane, self.wave, self.attempt, self.agent
        )
    }

    /// Checks that lane and agent can name files.
    pub fn validate(&self) -> Result<(), StoreError> {
        validate_name("lane", &self.lane)?;
        validate_name("agent", &self.agent)
    }
}

impl fmt::Display for ResultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// The sequence numbers an append was given: `first..=last`, gap-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Sequence number of the first record of the batch.
    pub first: u64,
    /// Sequence number of the last record of the batch (equal to `first` for one record).
    pub last: u64,
}

/// What storing a result envelope did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The envelope was new and is now stored.
    Written,
    /// An identical envelope was already stored; nothing changed.
    Unchanged,
}

/// A line that could not be read as a record: reported, skipped, never counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or in-memory location) holding the line.
    pub file: String,
    /// The 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The visitor [`EventStore::visit`] calls once per non-blank line.
///
/// The line arrives unparsed. The visitor reads it with one of [`RawLine`]'s readers
/// ([`RawLine::parse_enveloped`] into its own type, [`RawLine::envelope`] when it only counts,
/// [`RawLine::to_record`] for an owned map), each of which checks the whole line and its
/// envelope, and returns their error: `Err(message)` makes the line a [`Problem`] at its
/// file:line, skipped and not counted, and the read goes on. Each line is parsed once.
pub type LineVisitor<'v> = dyn FnMut(&RawLine<'_>) -> Result<(), String> + 'v;

/// One of several visitors [`EventStore::visit_parallel`] runs at once, each on its own thread.
pub type ParallelVisitor<'v> = dyn FnMut(&RawLine<'_>) -> Result<(), String> + Send + 'v;

/// The visitor [`EventStore::scan`] calls once per non-blank line, with its bytes unchecked.
/// `Err(message)` makes the line a [`Problem`], as for [`LineVisitor`].
pub type ByteVisitor<'v> = dyn FnMut(&RawBytes<'_>) -> Result<(), String> + 'v;

/// One of several visitors [`EventStore::scan_parallel`] runs at once, each on its own thread.
pub type ParallelByteVisitor<'v> = dyn FnMut(&RawBytes<'_>) -> Result<(), String> + Send + 'v;

/// Where a line sits: its writer's file and the byte offset of its first byte there, with its
/// line number (for messages). [`EventStore::scan`] and [`EventStore::visit`] report both, and
/// [`EventStore::visit_at`] reads lines back from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinePlace<'a> {
    /// The writer whose file holds the line.
    pub writer: &'a str,
    /// Byte offset of the line in that file.
    pub offset: u64,
    /// The line's 1-based number in that file.
    pub line: u64,
}

/// The persistence of canonical state: append-only per-writer logs and immutable envelopes.
///
/// Every backend stores the same layout and the same line bytes, so a store can be copied
/// between backends file by file. Implementations are safe to share between threads; the
/// directory backend is also safe between processes.
pub trait EventStore: Send + Sync + fmt::Debug {
    /// Names the store for messages, e.g. `dir:/repo/.wave/state`.
    fn describe(&self) -> String;

    /// Appends records to `writer`'s file of `stream`, stamping each with `writer`, the next
    /// sequence numbers and `at`.
    ///
    /// The batch is written whole, under the writer file's lock, and made durable before this
    /// returns. Records must not already carry `writer`, `seq` or `at`.
    fn append(
        &self,
        stream: &StreamId,
        writer: &str,
        at: jiff::Timestamp,
        records: &[Record],
    ) -> Result<Appended, StoreError>;

    /// The last sequence number `writer` has in `stream` (0 when it has none).
    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError>;

    /// The writers that have a file in `stream`, sorted.
    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError>;

    /// Calls `visitor` on every non-blank line of every writer of `stream`, one file after the
    /// other (files in writer order, lines in file order); memory use does not grow with the
    /// log. Returns the lines that were not UTF-8 or that the visitor rejected (see
    /// [`LineVisitor`]: a visitor must read each line with a [`RawLine`] reader so that torn
    /// and malformed lines are rejected).
    fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError>;

    /// Like [`EventStore::visit`], with one visitor per thread: a backend that can cut its
    /// files at line boundaries reads the parts at once, each visitor seeing some of the lines
    /// (each line exactly once, lines of one part in order). Callers fold into per-visitor
    /// state and combine it afterwards, which the total merge order ([`MergeKey`]) makes
    /// independent of how lines were shared out. Problems come back sorted by file and line.
    ///
    /// The default reads sequentially with the first visitor.
    fn visit_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelVisitor<'_>],
    ) -> Result<Vec<Problem>, StoreError> {
        match visitors.first_mut() {
            Some(visitor) => self.visit(stream, &mut **visitor),
            None => Ok(Vec::new()),
        }
    }

    /// Like [`EventStore::visit`], but hands each line over as bytes without checking that
    /// they are UTF-8, for a first pass that reads a few fields of every line and keeps only
    /// the places of the lines it will read in full ([`EventStore::visit_at`]). Whatever the
    /// visitor keeps it must check itself ([`RawBytes::to_line`]).
    ///
    /// The default checks every line through [`EventStore::visit`].
    fn scan(
        &self,
        stream: &StreamId,
        visitor: &mut ByteVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        self.visit(stream, &mut |line| {
            visitor(&RawBytes {
                file: line.file,
                line: line.line,
                offset: line.offset,
                writer: line.writer,
                legacy: line.legacy,
                bytes: line.text.as_bytes(),
            })
        })
    }

    /// Like [`EventStore::scan`], with one visitor per thread, sharing lines out as
    /// [`EventStore::visit_parallel`] does (each line exactly once, lines of one part in
    /// order, offsets those of the whole file). Problems come back sorted by file and line.
    ///
    /// Nothing counts the lines ahead of a part before it is read, so the lines of a part
    /// after a file's first are handed out provisional numbers, in file order within each
    /// file; `numbers` turns them into real ones once this returns ([`LineNumbers::real`]).
    ///
    /// The default scans sequentially with the first visitor, with real numbers.
    fn scan_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelByteVisitor<'_>],
        _numbers: &mut LineNumbers,
    ) -> Result<Vec<Problem>, StoreError> {
        match visitors.first_mut() {
            Some(visitor) => self.scan(stream, &mut **visitor),
            None => Ok(Vec::new()),
        }
    }

    /// Visits only the lines at `places` (as [`EventStore::scan`] or [`EventStore::visit`]
    /// reported them), each checked like a [`EventStore::visit`] line: lines of one writer in
    /// file order, writers in name order. A place past the end of its file, or not at the
    /// start of a line, yields nothing; a line whose file has no newline after it reads as
    /// torn.
    ///
    /// The default visits every line and keeps those at the places.
    fn visit_at(
        &self,
        stream: &StreamId,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let wanted: std::collections::HashSet<(&str, u64)> =
            places.iter().map(|p| (p.writer, p.offset)).collect();
        self.visit(stream, &mut |line| {
            if wanted.contains(&(line.writer, line.offset)) {
                visitor(line)
            } else {
                Ok(())
            }
        })
    }

    /// Stores an immutable result envelope: a new key is written, the same body again is a
    /// no-op, a different body is [`StoreError::ResultConflict`].
    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError>;

    /// Loads a result envelope, `None` when there is none.
    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError>;

    /// The result envelopes stored for a wave, sorted by attempt then agent.
    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError>;

    /// The lanes that have any state, sorted.
    fn lanes(&self) -> Result<Vec<String>, StoreError>;

    /// The waves of a lane that have any state, sorted.
    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError>;
}

/// Forwards every method to the store behind a smart pointer, so `Box<dyn EventStore>` and
/// `Arc<dyn EventStore>` are stores themselves.
macro_rules! forward_event_store {
    ($($ptr:ident)::+) => {
        impl<S: EventStore + ?Sized> EventStore for $($ptr)::+<S> {
            fn describe(&self) -> String {
                (**self).describe()
            }
            fn append(
                &self,
                stream: &StreamId,
                writer: &str,
                at: jiff::Timestamp,
                records: &[Record],
            ) -> Result<Appended, StoreError> {
                (**self).append(stream, writer, at, records)
            }
            fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
                (**self).last_seq(stream, writer)
            }
            fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
                (**self).writers(stream)
            }
            fn visit(
                &self,
                stream: &StreamId,
                visitor: &mut LineVisitor<'_>,
            ) -> Result<Vec<Problem>, StoreError> {
                (**self).visit(stream, visitor)
            }
            fn visit_parallel(
                &self,
                stream: &StreamId,
                visitors: &mut [&mut ParallelVisitor<'_>],
            ) -> Result<Vec<Problem>, StoreError> {
                (**self).visit_parallel(stream, visitors)
            }
            fn scan(
                &self,
                stream: &StreamId,
                visitor: &mut ByteVisitor<'_>,
            ) -> Result<Vec<Problem>, StoreError> {
                (**self).scan(stream, visitor)
            }
            fn scan_parallel(
                &self,
                stream: &StreamId,
                visitors: &mut [&mut ParallelByteVisitor<'_>],
                numbers: &mut LineNumbers,
            ) -> Result<Vec<Problem>, StoreError> {
                (**self).scan_parallel(stream, visitors, numbers)
            }
            fn visit_at(
                &self,
                stream: &StreamId,
                places: &[LinePlace<'_>],
                visitor: &mut LineVisitor<'_>,
            ) -> Result<Vec<Problem>, StoreError> {
                (**self).visit_at(stream, places, visitor)
            }
            fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
                (**self).put_result(key, body)
            }
            fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
                (**self).get_result(key)
            }
            fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
                (**self).list_results(lane, wave)
            }
            fn lanes(&self) -> Result<Vec<String>, StoreError> {
                (**self).lanes()
            }
            fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
                (**self).waves(lane)
            }
        }
    };
}

forward_event_store!(Box);
forward_event_store!(std::sync::Arc);

/// Every record of a stream, merged, with the lines that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRead {
    /// All readable records of all writers in (`at`, `writer`, `seq`) order ([`merge`]).
    pub records: Vec<StoredRecord>,
    /// Torn or malformed lines, skipped.
    pub problems: Vec<Problem>,
}

/// Reads and merges every record of a stream.
///
/// Convenient for small streams and tests; memory grows with the log. Callers that only need
/// the live state of a large log should fold over [`EventStore::visit`] instead.
pub fn read_stream(store: &dyn EventStore, stream: &StreamId) -> Result<StreamRead, StoreError> {
    let mut records = Vec::new();
    let problems = store.visit(stream, &mut |line| {
        records.push(line.to_record()?);
        Ok(())
    })?;
    Ok(StreamRead {
        records: merge(records),
        problems,
    })
}

/// Checks that a lane, writer or agent name can safely name a file.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            what,
            name: name.to_owned(),
        })
    }
}

/// Checks a writer name for appending: a valid name that is not the reserved legacy writer.
pub(crate) fn validate_writer(writer: &str) -> Result<(), StoreError> {
    validate_name("writer", writer)?;
    if writer == LEGACY_WRITER {
        return Err(StoreError::ReservedWriter {
            name: writer.to_owned(),
        });
    }
    Ok(())
}

/// The sorted, de-duplicated union of two listings: what a store layered over another (an
/// outbox over the state branch, repository state over upstream's) lists.
pub(crate) fn sorted_union<T: Ord>(mut first: Vec<T>, second: Vec<T>) -> Vec<T> {
    first.extend(second);
    first.sort_unstable();
    first.dedup();
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_directory_are_rejected() {
        for bad in ["", ".", "..", "../x", "a/b", "a b", ".hidden", "é"] {
            assert!(validate_name("lane", bad).is_err(), "{bad:?} accepted");
        }
        for good in ["main", "lane-2", "A1", "gha-1-2-agents.x_y"] {
            assert!(validate_name("lane", good).is_ok(), "{good:?} rejected");
        }
        assert!(matches!(
            validate_writer(LEGACY_WRITER),
            Err(StoreError::ReservedWriter { .. })
        ));
    }

    #[test]
    fn layout_paths_follow_the_design() {
        assert_eq!(
            StreamId::coordination("main", 3).dir(),
            "main/wave-3/coordination"
        );
        assert_eq!(StreamId::control("main", 3).dir(), "main/wave-3/control");
        assert_eq!(StreamId::dependencies("ops").dir(), "ops/dependencies");
        assert_eq!(
            ResultKey::new("main", 3, 2, "A1").path(),
            "main/wave-3/results/attempt-2/A1.json"
        );
    }
}
