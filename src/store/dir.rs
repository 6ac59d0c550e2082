//! The directory backend: the layout as plain files under a root directory.
//!
//! Appends take an exclusive `flock`-style lock on the writer's file (`File::lock`), find the
//! last readable sequence number in the file's tail, write the whole batch with one write and
//! `fsync` before unlocking, so any number of processes (even ones sharing a writer name by
//! mistake) can append at once without losing, duplicating or interleaving lines. A file that
//! does not end in a newline (a crash mid-append) gets one first, so the torn fragment stays a
//! line of its own, reported on read, and numbering continues from the last good record.
//! Readers take a shared lock only long enough to learn the file's length and then read up to
//! it, so an append in progress is never seen half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use super::files::{
    LogFile, scan_files, scan_files_parallel, visit_files, visit_files_at, visit_files_parallel,
};
use super::line::{check_records, encode_appended, last_seq_in_tail};
use super::{
    Appended, ByteVisitor, EventStore, LineNumbers, LinePlace, LineVisitor, ParallelByteVisitor,
    ParallelVisitor, Problem, PutOutcome, Record, ResultKey, StoreError, StreamId, validate_name,
    validate_writer,
};
use crate::event::time;

/// The format version of the layout and line envelope this build writes (`docs/event-format.md`).
pub const STORE_FORMAT: u64 = 1;

/// Bytes read from the end of a writer file when looking for its last sequence number; grows
/// when the tail holds no readable line.
const TAIL_CHUNK: u64 = 64 * 1024;

/// The file at the store root that names its format version.
pub const FORMAT_FILE: &str = "store-format.json";

/// A store in a plain directory (`dir:<path>`).
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
    /// Set once the format marker has been checked (or written) by this handle.
    format_checked: OnceLock<()>,
}

impl DirStore {
    /// A store rooted at `root`; nothing is created until the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            format_checked: OnceLock::new(),
        }
    }

    /// Checks before a write that the store's format is one this build writes, and marks a new
    /// store with it.
    fn check_format(&self) -> Result<(), StoreError> {
        if self.format_checked.get().is_some() {
            return Ok(());
        }
        let path = self.root.join(FORMAT_FILE);
        let found = match read_format(&path)? {
            Some(found) => found,
            None => {
                fs::create_dir_all(&self.root)
                    .map_err(StoreError::io("create directory", &self.root))?;
                let marker = format!("{{\"storeFormat\": {STORE_FORMAT}}}\n");
                match create_file_once(&self.root, &path, marker.as_bytes()) {
                    Ok(()) => {
                        sync_dir(&self.root)?;
                        STORE_FORMAT
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        read_format(&path)?.unwrap_or(STORE_FORMAT)
                    }
                    Err(e) => return Err(StoreError::io("write", &path)(e)),
                }
            }
        };
        if found > STORE_FORMAT {
            return Err(StoreError::NewerFormat {
                location: path.display().to_string(),
                found,
                supported: STORE_FORMAT,
            });
        }
        let _ = self.format_checked.set(());
        Ok(())
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file holding `writer`'s lines of `stream`.
    pub fn writer_file(&self, stream: &StreamId, writer: &str) -> PathBuf {
        self.root.join(stream.dir()).join(format!("{writer}.jsonl"))
    }

    /// The stream's writer files with their lengths, each learned under a shared lock so that
    /// no append is half done at that length.
    fn log_files(&self, stream: &StreamId) -> Result<Vec<LogFile>, StoreError> {
        let mut files = Vec::new();
        for writer in self.writers(stream)? {
            let path = self.writer_file(stream, &writer);
            let file = match File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::io("open", &path)(e)),
            };
            let len = locked_len(&file, &path)?;
            files.push(LogFile {
                path,
                writer,
                legacy: false,
                len,
            });
        }
        Ok(files)
    }

    fn result_path(&self, key: &ResultKey) -> PathBuf {
        self.root.join(key.path())
    }
}

impl EventStore for DirStore {
    fn describe(&self) -> String {
        format!("dir:{}", self.root.display())
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
        if records.is_empty() {
            // Nothing to write, and no file to create for it.
            let last = self.last_seq(stream, writer)?;
            return Ok(Appended {
                first: last.saturating_add(1),
                last,
            });
        }
        self.check_format()?;
        let path = self.writer_file(stream, writer);
        let dir = self.root.join(stream.dir());
        fs::create_dir_all(&dir).map_err(StoreError::io("create directory", &dir))?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(StoreError::io("open", &path))?;
        file.lock().map_err(StoreError::io("lock", &path))?;
        let result = append_locked(&mut file, &path, writer, &time::format(at), records);
        // Closing the file releases the lock too; unlocking first keeps the hold short.
        let unlocked = file.unlock().map_err(StoreError::io("unlock", &path));
        let appended = result?;
        unlocked?;
        if appended.new_file {
            sync_dir(&dir)?;
        }
        Ok(appended.range)
    }

    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
        stream.validate()?;
        validate_name("writer", writer)?;
        let path = self.writer_file(stream, writer);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(StoreError::io("open", &path)(e)),
        };
        let len = locked_len(&file, &path)?;
        Ok(tail_state(&mut file, &path, writer, len)?.last_seq)
    }

    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
        stream.validate()?;
        let dir = self.root.join(stream.dir());
        let mut writers: Vec<String> = list_dir(&dir)?
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
        visit_files(&self.log_files(stream)?, visitor)
    }

    fn visit_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelVisitor<'_>],
    ) -> Result<Vec<Problem>, StoreError> {
        visit_files_parallel(&self.log_files(stream)?, visitors)
    }

    fn scan(
        &self,
        stream: &StreamId,
        visitor: &mut ByteVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        scan_files(&self.log_files(stream)?, visitor)
    }

    fn scan_parallel(
        &self,
        stream: &StreamId,
        visitors: &mut [&mut ParallelByteVisitor<'_>],
        numbers: &mut LineNumbers,
    ) -> Result<Vec<Problem>, StoreError> {
        scan_files_parallel(&self.log_files(stream)?, visitors, numbers)
    }

    fn visit_at(
        &self,
        stream: &StreamId,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        visit_files_at(&self.log_files(stream)?, places, visitor)
    }

    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
        key.validate()?;
        let path = self.result_path(key);
        if let Some(existing) = read_result(&path)? {
            return compare_result(&existing, body, &path);
        }
        self.check_format()?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&dir).map_err(StoreError::io("create directory", &dir))?;
        let mut text = serde_json::to_string_pretty(body)
            .map_err(|source| StoreError::Serialize { source })?;
        text.push('\n');
        let written = create_file_once(&dir, &path, text.as_bytes());
        match written {
            Ok(()) => {
                sync_dir(&dir)?;
                Ok(PutOutcome::Written)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => match read_result(&path)? {
                Some(existing) => compare_result(&existing, body, &path),
                None => Err(StoreError::io("store result envelope", &path)(e)),
            },
            Err(e) => Err(StoreError::io("store result envelope", &path)(e)),
        }
    }

    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        key.validate()?;
        read_result(&self.result_path(key))
    }

    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        validate_name("lane", lane)?;
        let dir = self.root.join(lane).join(format!("wave-{wave}/results"));
        let mut keys = Vec::new();
        for (name, is_dir) in list_dir(&dir)? {
            let Some(attempt) = name
                .strip_prefix("attempt-")
                .and_then(|a| a.parse::<u32>().ok())
                .filter(|_| is_dir)
            else {
                continue;
            };
            for (file, is_dir) in list_dir(&dir.join(&name))? {
                if let Some(agent) = file.strip_suffix(".json").filter(|_| !is_dir)
                    && validate_name("agent", agent).is_ok()
                {
                    keys.push(ResultKey::new(lane, wave, attempt, agent));
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn lanes(&self) -> Result<Vec<String>, StoreError> {
        let mut lanes: Vec<String> = list_dir(&self.root)?
            .into_iter()
            .filter(|(name, is_dir)| *is_dir && validate_name("lane", name).is_ok())
            .map(|(name, _)| name)
            .collect();
        lanes.sort();
        Ok(lanes)
    }

    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        validate_name("lane", lane)?;
        let mut waves: Vec<u32> = list_dir(&self.root.join(lane))?
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
            .filter_map(|(name, _)| name.strip_prefix("wave-")?.parse().ok())
            .collect();
        waves.sort_unstable();
        Ok(waves)
    }
}

/// Writes a file durably under `path` only if no file has that name yet (`AlreadyExists`
/// otherwise), never leaving a partial file under the name.
///
/// The bytes go to a temporary file first; a hard link then creates the name only if it is
/// free: the create-if-absent step that keeps envelopes immutable even when two processes race
/// to store one.
fn create_file_once(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_synced(&tmp, bytes).and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    written
}

/// Reads the format marker; `None` when there is none.
fn read_format(path: &Path) -> Result<Option<u64>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path)(e)),
    };
    let corrupt = |message: String| StoreError::CorruptFormat {
        location: path.display().to_string(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    value
        .get("storeFormat")
        .and_then(serde_json::Value::as_u64)
        .map(Some)
        .ok_or_else(|| corrupt("no integer `storeFormat`".to_owned()))
}

/// Distinguishes temporary files of one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

struct AppendDone {
    range: Appended,
    new_file: bool,
}

/// The state of a writer file's end: its last good sequence number and whether a newline is
/// needed before the next line.
struct TailState {
    last_seq: u64,
    ends_with_newline: bool,
}

fn append_locked(
    file: &mut File,
    path: &Path,
    writer: &str,
    at: &str,
    records: &[Record],
) -> Result<AppendDone, StoreError> {
    let len = file
        .metadata()
        .map_err(StoreError::io("inspect", path))?
        .len();
    let tail = tail_state(file, path, writer, len)?;
    let (text, range) = encode_appended(
        writer,
        tail.last_seq,
        tail.ends_with_newline,
        at,
        records,
        || path.display().to_string(),
    )?;
    if !records.is_empty() {
        file.write_all(text.as_bytes())
            .map_err(StoreError::io("append to", path))?;
        file.sync_data().map_err(StoreError::io("sync", path))?;
    }
    Ok(AppendDone {
        range,
        new_file: len == 0,
    })
}

/// Finds the last good sequence number in the first `len` bytes of a writer file, reading
/// backwards from the end in growing chunks.
fn tail_state(
    file: &mut File,
    path: &Path,
    writer: &str,
    len: u64,
) -> Result<TailState, StoreError> {
    if len == 0 {
        return Ok(TailState {
            last_seq: 0,
            ends_with_newline: true,
        });
    }
    let mut chunk = TAIL_CHUNK;
    loop {
        let start = len.saturating_sub(chunk);
        // One byte more before the chunk tells whether the chunk starts a line.
        let read_from = start.saturating_sub(1);
        let mut bytes = vec![0u8; usize::try_from(len - read_from).unwrap_or(usize::MAX)];
        file.seek(SeekFrom::Start(read_from))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(StoreError::io("read", path))?;
        let ends_with_newline = bytes.last() == Some(&b'\n');
        let (boundary, body) = if start == 0 {
            (true, bytes.as_slice())
        } else {
            (
                bytes.first() == Some(&b'\n'),
                bytes.get(1..).unwrap_or_default(),
            )
        };
        if let Some(last_seq) = last_seq_in_tail(body, boundary, writer) {
            return Ok(TailState {
                last_seq,
                ends_with_newline,
            });
        }
        if start == 0 {
            return Ok(TailState {
                last_seq: 0,
                ends_with_newline,
            });
        }
        chunk = chunk.saturating_mul(4);
    }
}

/// The file's length, read under a shared lock so that no append is half done at that length.
fn locked_len(file: &File, path: &Path) -> Result<u64, StoreError> {
    file.lock_shared().map_err(StoreError::io("lock", path))?;
    let len = file.metadata().map(|m| m.len());
    file.unlock().map_err(StoreError::io("unlock", path))?;
    len.map_err(StoreError::io("inspect", path))
}

/// Entries of a directory as (name, is directory); a missing directory has none.
fn list_dir(dir: &Path) -> Result<Vec<(String, bool)>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list", dir))?;
        let is_dir = entry
            .file_type()
            .map_err(StoreError::io("inspect", entry.path()))?
            .is_dir();
        if let Ok(name) = entry.file_name().into_string() {
            out.push((name, is_dir));
        }
    }
    Ok(out)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a new directory entry durable.
fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(StoreError::io("sync directory", dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a stored envelope; `None` when the file does not exist.
pub(crate) fn read_result(path: &Path) -> Result<Option<Record>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path)(e)),
    };
    serde_json::from_str::<Record>(&text)
        .map(Some)
        .map_err(|e| StoreError::CorruptResult {
            location: path.display().to_string(),
            message: e.to_string(),
        })
}

fn compare_result(existing: &Record, body: &Record, path: &Path) -> Result<PutOutcome, StoreError> {
    if existing == body {
        Ok(PutOutcome::Unchanged)
    } else {
        Err(StoreError::ResultConflict {
            location: path.display().to_string(),
        })
    }
}
