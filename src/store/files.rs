//! Reading log files: whole, or cut at line boundaries into ranges read on several threads.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::line::{Source, scan_lines};
use super::{LineVisitor, ParallelVisitor, Problem, StoreError};

/// Files smaller than this are read by one thread: splitting would cost more than it saves.
const MIN_SPLIT: u64 = 4 << 20;

/// Bytes read at a time while looking for the newline that ends a range.
const PROBE: usize = 64 * 1024;

/// One log file to read, up to `len` bytes.
#[derive(Debug)]
pub(crate) struct LogFile {
    pub path: PathBuf,
    pub writer: String,
    pub legacy: bool,
    pub len: u64,
}

impl LogFile {
    fn open(&self) -> Result<File, StoreError> {
        File::open(&self.path).map_err(StoreError::io("open", &self.path))
    }

    /// Visits `[start, end)`, whose first line is line `lines_before + 1`.
    fn scan(
        &self,
        start: u64,
        end: u64,
        lines_before: u64,
        visitor: &mut LineVisitor<'_>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), StoreError> {
        let mut file = self.open()?;
        let shown = self.path.display().to_string();
        let source = Source {
            file: &shown,
            writer: &self.writer,
            legacy: self.legacy,
        };
        file.seek(SeekFrom::Start(start))
            .map_err(StoreError::io("read", &self.path))?;
        scan_lines(
            file.take(end.saturating_sub(start)),
            &source,
            lines_before,
            visitor,
            problems,
        )
        .map_err(StoreError::io("read", &self.path))
    }
}

/// Visits every line of the files, one file after the other.
pub(crate) fn visit_files(
    files: &[LogFile],
    visitor: &mut LineVisitor<'_>,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for file in files {
        file.scan(0, file.len, 0, visitor, &mut problems)?;
    }
    Ok(problems)
}

/// Visits every line of the files with one visitor per thread: each file is cut at line
/// boundaries into as many ranges as there are visitors, and the ranges are read at once.
pub(crate) fn visit_files_parallel(
    files: &[LogFile],
    visitors: &mut [&mut ParallelVisitor<'_>],
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for file in files {
        let parts = if file.len < MIN_SPLIT {
            1
        } else {
            visitors.len()
        };
        let Some((first, _)) = visitors.split_first_mut() else {
            return Ok(problems);
        };
        if parts <= 1 {
            file.scan(0, file.len, 0, *first, &mut problems)?;
            continue;
        }
        let bounds = range_bounds(file, parts)?;
        let ranges: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        // Line numbers are absolute (upstream lines are numbered by them), so count the
        // newlines of every range first, on the same threads.
        let counts = run_on_threads(&ranges, |(start, end)| count_newlines(file, *start, *end))?;
        let mut lines_before = Vec::with_capacity(ranges.len());
        let mut total = 0u64;
        for count in counts {
            lines_before.push(total);
            total += count;
        }
        let found = std::thread::scope(|scope| {
            let handles: Vec<_> = visitors
                .iter_mut()
                .zip(ranges.iter().zip(&lines_before))
                .map(|(visitor, ((start, end), before))| {
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        file.scan(*start, *end, *before, *visitor, &mut found)
                            .map(|()| found)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        problems.extend(found.into_iter().flatten());
    }
    problems.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    Ok(problems)
}

/// Runs `work` on each item on its own scoped thread and collects the results in order.
fn run_on_threads<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<R, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || work(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Cuts `[0, len)` into `parts` ranges, each ending just after a newline (the last at `len`).
/// Returns the `parts + 1` boundaries; ranges may be empty when lines are long.
fn range_bounds(file: &LogFile, parts: usize) -> Result<Vec<u64>, StoreError> {
    let mut handle = file.open()?;
    let mut bounds = vec![0u64];
    let parts = parts as u64;
    for i in 1..parts {
        let nominal = (file.len / parts * i).max(*bounds.last().unwrap_or(&0));
        bounds.push(next_line_start(&mut handle, file, nominal)?);
    }
    bounds.push(file.len);
    Ok(bounds)
}

/// The offset just after the first newline at or after `from`, or the file length.
fn next_line_start(handle: &mut File, file: &LogFile, from: u64) -> Result<u64, StoreError> {
    let mut pos = from;
    let mut buf = vec![0u8; PROBE];
    handle
        .seek(SeekFrom::Start(pos))
        .map_err(StoreError::io("read", &file.path))?;
    while pos < file.len {
        let want = usize::try_from(file.len - pos).unwrap_or(PROBE).min(PROBE);
        let n = match handle.read(buf.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("read", &file.path)(e)),
        };
        if let Some(i) = memchr::memchr(b'\n', buf.get(..n).unwrap_or_default()) {
            return Ok(pos + i as u64 + 1);
        }
        pos += n as u64;
    }
    Ok(file.len)
}

/// The number of newlines in `[start, end)`.
fn count_newlines(file: &LogFile, start: u64, end: u64) -> Result<u64, StoreError> {
    let mut handle = file.open()?;
    handle
        .seek(SeekFrom::Start(start))
        .map_err(StoreError::io("read", &file.path))?;
    let mut reader = handle.take(end.saturating_sub(start));
    let mut buf = vec![0u8; 256 * 1024];
    let mut count = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(count),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(StoreError::io("read", &file.path)(e)),
        };
        count += memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()).count() as u64;
    }
}
