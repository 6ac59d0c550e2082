//! Read-only import of upstream state (spec §0, §3.1, §3.11, §4.1, §5.1).
//!
//! A repository that ran the upstream runtime holds its logs under the lane state directory
//! `S = <stateRoot>/<lane>-wave-launcher` and the orchestrator directory
//! `O = <stateRoot>/wave-orchestrator` (`stateRoot` defaults to `.tmp`):
//! ```text
//! S/coordination/wave-<n>.jsonl          → StreamId::Coordination { lane, wave: n }
//! S/control-plane/wave-<n>.jsonl         → StreamId::Control { lane, wave: n }
//! O/dependencies/<ownerLane>.jsonl       → StreamId::Dependencies { lane: ownerLane }
//! S/results/wave-<n>/attempt-<a>/<id>.json → ResultKey { lane, wave: n, attempt: a, agent: id }
//! ```
//! Each log reads as one writer, [`LEGACY_WRITER`], with `seq` = line number and `at` = the
//! record's `updatedAt`, else `recordedAt`, else `createdAt`. [`WithLegacy`] merges it with a
//! store's own writers. Nothing here ever writes.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::dir::read_result;
use super::files::{
    LogFile, scan_files, scan_files_parallel, visit_files, visit_files_at, visit_files_parallel,
};
use super::{
    Appended, ByteVisitor, EventStore, LEGACY_WRITER, LineNumbers, LinePlace, LineVisitor,
    ParallelByteVisitor, ParallelVisitor, Problem, PutOutcome, Record, ResultKey, StoreError,
    StreamId, validate_name,
};

/// Upstream's default state root, relative to the repository root.
pub const DEFAULT_STATE_ROOT: &str = ".tmp";

/// Where upstream state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyUpstream {
    state_root: PathBuf,
    orchestrator_dir: PathBuf,
}

impl LegacyUpstream {
    /// Upstream's default locations in a repository: `<root>/.tmp/<lane>-wave-launcher` and
    /// `<root>/.tmp/wave-orchestrator`.
    pub fn for_repo(repo_root: &Path) -> Self {
        let state_root = repo_root.join(DEFAULT_STATE_ROOT);
        Self {
            orchestrator_dir: state_root.join("wave-orchestrator"),
            state_root,
        }
    }

    /// Explicit locations: the directory holding `<lane>-wave-launcher/` directories, and `O`.
    pub fn new(state_root: impl Into<PathBuf>, orchestrator_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_root: state_root.into(),
            orchestrator_dir: orchestrator_dir.into(),
        }
    }

    /// The lane state directory `S`.
    pub fn lane_dir(&self, lane: &str) -> PathBuf {
        self.state_root.join(format!("{lane}-wave-launcher"))
    }

    /// The upstream log holding a stream.
    pub fn log_path(&self, stream: &StreamId) -> PathBuf {
        match stream {
            StreamId::Coordination { lane, wave } => self
                .lane_dir(lane)
                .join(format!("coordination/wave-{wave}.jsonl")),
            StreamId::Control { lane, wave } => self
                .lane_dir(lane)
                .join(format!("control-plane/wave-{wave}.jsonl")),
            StreamId::Dependencies { lane } => self
                .orchestrator_dir
                .join(format!("dependencies/{lane}.jsonl")),
        }
    }

    /// The upstream file holding a result envelope.
    pub fn result_path(&self, key: &ResultKey) -> PathBuf {
        self.lane_dir(&key.lane).join(format!(
            "results/wave-{}/attempt-{}/{}.json",
            key.wave, key.attempt, key.agent
        ))
    }

    /// Whether upstream has a log for the stream.
    pub fn has_log(&self, stream: &StreamId) -> bool {
        self.log_path(stream).is_file()
    }

    /// The stream's upstream log, if there is one.
    fn log_files(&self, stream: &StreamId) -> Result<Vec<LogFile>, StoreError> {
        stream.validate()?;
        let path = self.log_path(stream);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(vec![LogFile {
                path,
                writer: LEGACY_WRITER.to_owned(),
                legacy: true,
                len: meta.len(),
            }]),
            Ok(_) => Ok(Vec::new()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::io("inspect", &path)(e)),
        }
    }

    /// Visits the lines of the stream's upstream log as the [`LEGACY_WRITER`].
    pub fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        visit_files(&self.log_files(stream)?, visitor)
    }

    /// Visits the lines of the stream's upstream log as unchecked bytes.
    pub fn scan(
        &self,
        stream: &StreamId,
        visitor: &mut ByteVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        scan_files(&self.log_files(stream)?, visitor)
    }

    /// Visits the lines of the stream's upstream log as unchecked bytes, one visitor per
    /// thread.
    pub fn scan_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelByteVisitor<'_>],
        numbers: &mut LineNumbers,
    ) -> Result<Vec<Problem>, StoreError> {
        scan_files_parallel(&self.log_files(stream)?, visitors, numbers)
    }

    /// Visits the lines of the stream's upstream log at the given places.
    pub fn visit_at(
        &self,
        stream: &StreamId,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        visit_files_at(&self.log_files(stream)?, places, visitor)
    }

    /// Visits the lines of the stream's upstream log with one visitor per thread.
    pub fn visit_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelVisitor<'_>],
    ) -> Result<Vec<Problem>, StoreError> {
        visit_files_parallel(&self.log_files(stream)?, visitors)
    }

    /// Loads an upstream result envelope.
    pub fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        key.validate()?;
        read_result(&self.result_path(key))
    }

    /// Upstream result envelopes of a wave.
    pub fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        validate_name("lane", lane)?;
        let dir = self.lane_dir(lane).join(format!("results/wave-{wave}"));
        let mut keys = Vec::new();
        for name in dir_names(&dir)? {
            let Some(attempt) = name
                .strip_prefix("attempt-")
                .and_then(|a| a.parse::<u32>().ok())
            else {
                continue;
            };
            for file in dir_names(&dir.join(&name))? {
                if let Some(agent) = file.strip_suffix(".json")
                    && validate_name("agent", agent).is_ok()
                {
                    keys.push(ResultKey::new(lane, wave, attempt, agent));
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Lanes with upstream state: `<lane>-wave-launcher` directories and dependency logs.
    pub fn lanes(&self) -> Result<Vec<String>, StoreError> {
        let launchers = dir_names(&self.state_root)?
            .into_iter()
            .filter_map(|n| n.strip_suffix("-wave-launcher").map(str::to_owned));
        let owners = dir_names(&self.orchestrator_dir.join("dependencies"))?
            .into_iter()
            .filter_map(|n| n.strip_suffix(".jsonl").map(str::to_owned));
        let mut lanes: Vec<String> = launchers
            .chain(owners)
            .filter(|l| validate_name("lane", l).is_ok())
            .collect();
        lanes.sort();
        lanes.dedup();
        Ok(lanes)
    }

    /// Waves of a lane with an upstream log or result envelope.
    pub fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        validate_name("lane", lane)?;
        let s = self.lane_dir(lane);
        let mut waves: Vec<u32> = Vec::new();
        for sub in ["coordination", "control-plane"] {
            waves.extend(dir_names(&s.join(sub))?.iter().filter_map(|n| {
                n.strip_prefix("wave-")?
                    .strip_suffix(".jsonl")?
                    .parse::<u32>()
                    .ok()
            }));
        }
        waves.extend(
            dir_names(&s.join("results"))?
                .iter()
                .filter_map(|n| n.strip_prefix("wave-")?.parse::<u32>().ok()),
        );
        waves.sort_unstable();
        waves.dedup();
        Ok(waves)
    }
}

/// Names in a directory; a missing directory has none.
fn dir_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| {
                e.map(|e| e.file_name().to_string_lossy().into_owned())
                    .map_err(StoreError::io("list", dir))
            })
            .collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io("list", dir)(e)),
    }
}

/// A store whose reads also include upstream state, as one more read-only writer.
///
/// Appends and new envelopes go to the inner store only; an envelope upstream already holds
/// counts as stored (storing it again with the same body is a no-op, with another body a
/// conflict).
#[derive(Debug)]
pub struct WithLegacy {
    inner: Box<dyn EventStore>,
    legacy: LegacyUpstream,
}

impl WithLegacy {
    /// Layers upstream state under a store.
    pub fn new(inner: Box<dyn EventStore>, legacy: LegacyUpstream) -> Self {
        Self { inner, legacy }
    }

    /// The upstream locations read.
    pub fn legacy(&self) -> &LegacyUpstream {
        &self.legacy
    }
}

impl EventStore for WithLegacy {
    fn describe(&self) -> String {
        format!(
            "{} (with upstream state from {})",
            self.inner.describe(),
            self.legacy.state_root.display()
        )
    }

    fn append(
        &self,
        stream: &StreamId,
        writer: &str,
        at: jiff::Timestamp,
        records: &[Record],
    ) -> Result<Appended, StoreError> {
        self.inner.append(stream, writer, at, records)
    }

    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
        if writer != LEGACY_WRITER {
            return self.inner.last_seq(stream, writer);
        }
        let mut last = 0;
        self.legacy.visit(stream, &mut |line| {
            last = line.envelope()?.seq;
            Ok(())
        })?;
        Ok(last)
    }

    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
        let mut writers = self.inner.writers(stream)?;
        if self.legacy.has_log(stream) && !writers.iter().any(|w| w == LEGACY_WRITER) {
            writers.push(LEGACY_WRITER.to_owned());
            writers.sort();
        }
        Ok(writers)
    }

    fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mut problems = self.inner.visit(stream, visitor)?;
        problems.extend(self.legacy.visit(stream, visitor)?);
        Ok(problems)
    }

    fn visit_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelVisitor<'_>],
    ) -> Result<Vec<Problem>, StoreError> {
        let mut problems = self.inner.visit_parallel(stream, visitors)?;
        problems.extend(self.legacy.visit_parallel(stream, visitors)?);
        Ok(problems)
    }

    fn scan(
        &self,
        stream: &StreamId,
        visitor: &mut ByteVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mut problems = self.inner.scan(stream, visitor)?;
        problems.extend(self.legacy.scan(stream, visitor)?);
        Ok(problems)
    }

    fn scan_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelByteVisitor<'_>],
        numbers: &mut LineNumbers,
    ) -> Result<Vec<Problem>, StoreError> {
        let mut problems = self.inner.scan_parallel(stream, visitors, numbers)?;
        problems.extend(self.legacy.scan_parallel(stream, visitors, numbers)?);
        Ok(problems)
    }

    fn visit_at(
        &self,
        stream: &StreamId,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let (upstream, own): (Vec<LinePlace<'_>>, Vec<LinePlace<'_>>) =
            places.iter().partition(|p| p.writer == LEGACY_WRITER);
        let mut problems = if own.is_empty() {
            Vec::new()
        } else {
            self.inner.visit_at(stream, &own, visitor)?
        };
        problems.extend(self.legacy.visit_at(stream, &upstream, visitor)?);
        Ok(problems)
    }

    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
        // An upstream envelope already holds the key: it is as immutable as the store's own.
        match self.legacy.get_result(key)? {
            Some(existing) if existing == *body => Ok(PutOutcome::Unchanged),
            Some(_) => Err(StoreError::ResultConflict {
                location: self.legacy.result_path(key).display().to_string(),
            }),
            None => self.inner.put_result(key, body),
        }
    }

    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        match self.inner.get_result(key)? {
            Some(found) => Ok(Some(found)),
            None => self.legacy.get_result(key),
        }
    }

    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        Ok(super::sorted_union(
            self.inner.list_results(lane, wave)?,
            self.legacy.list_results(lane, wave)?,
        ))
    }

    fn lanes(&self) -> Result<Vec<String>, StoreError> {
        Ok(super::sorted_union(
            self.inner.lanes()?,
            self.legacy.lanes()?,
        ))
    }

    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        Ok(super::sorted_union(
            self.inner.waves(lane)?,
            self.legacy.waves(lane)?,
        ))
    }
}
