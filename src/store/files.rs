//! Reading log files: whole, or cut at line boundaries into ranges read on several threads.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::line::{Source, scan_line_bytes, split_lines, visit_line};
use super::{
    ByteVisitor, LinePlace, LineVisitor, ParallelByteVisitor, ParallelVisitor, Problem, StoreError,
};

/// Files smaller than this are read by one thread: splitting would cost more than it saves.
const MIN_SPLIT: u64 = 4 << 20;

/// Ranges per visitor when a file is cut for a byte scan: enough that a thread slowed down by
/// the machine leaves its share to the others.
const RANGES_PER_VISITOR: usize = 4;

/// A range of a byte scan is at least this long.
const MIN_RANGE: u64 = 1 << 20;

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

    /// Visits `[start, end)`, whose first line is line `lines_before + 1`; returns the number
    /// of lines.
    fn scan(
        &self,
        start: u64,
        end: u64,
        lines_before: u64,
        visitor: &mut LineVisitor<'_>,
        problems: &mut Vec<Problem>,
    ) -> Result<u64, StoreError> {
        let mut file = self.open()?;
        let shown = self.path.display().to_string();
        let source = Source {
            file: &shown,
            writer: &self.writer,
            legacy: self.legacy,
        };
        file.seek(SeekFrom::Start(start))
            .map_err(StoreError::io("read", &self.path))?;
        split_lines(
            file.take(end.saturating_sub(start)),
            start,
            lines_before,
            &mut |bytes, complete, line, offset| {
                visit_line(bytes, complete, line, offset, &source, visitor, problems);
            },
        )
        .map_err(StoreError::io("read", &self.path))
    }

    /// Visits every line's bytes, unchecked.
    fn scan_bytes(
        &self,
        visitor: &mut ByteVisitor<'_>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), StoreError> {
        let file = self.open()?;
        let shown = self.path.display().to_string();
        let source = Source {
            file: &shown,
            writer: &self.writer,
            legacy: self.legacy,
        };
        scan_line_bytes(file.take(self.len), &source, 0, 0, visitor, problems)
            .map(drop)
            .map_err(StoreError::io("read", &self.path))
    }

    /// Visits the bytes of every line in `[start, end)`, unchecked; the range's first line is
    /// line `lines_before + 1`. Returns the number of lines.
    fn scan_bytes_range(
        &self,
        start: u64,
        end: u64,
        lines_before: u64,
        visitor: &mut ByteVisitor<'_>,
        problems: &mut Vec<Problem>,
    ) -> Result<u64, StoreError> {
        let mut file = self.open()?;
        let shown = self.path.display().to_string();
        let source = Source {
            file: &shown,
            writer: &self.writer,
            legacy: self.legacy,
        };
        file.seek(SeekFrom::Start(start))
            .map_err(StoreError::io("read", &self.path))?;
        scan_line_bytes(
            file.take(end.saturating_sub(start)),
            &source,
            start,
            lines_before,
            visitor,
            problems,
        )
        .map_err(StoreError::io("read", &self.path))
    }

    /// Visits the lines at the given places, sorted by offset.
    ///
    /// The file is read in windows of [`WINDOW`] bytes starting at a wanted line, so stretches
    /// without one are never read, and a run of wanted lines costs one read per window.
    fn visit_places(
        &self,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), StoreError> {
        let Some(first) = places.first() else {
            return Ok(());
        };
        if first.offset >= self.len {
            return Ok(());
        }
        let mut file = self.open()?;
        let shown = self.path.display().to_string();
        let source = Source {
            file: &shown,
            writer: &self.writer,
            legacy: self.legacy,
        };
        let read_err = |e| StoreError::io("read", &self.path)(e);
        // `buf[..filled]` holds the file's bytes from offset `window`.
        let mut buf: Vec<u8> = Vec::new();
        let mut window = 0u64;
        let mut filled = 0usize;
        let mut previous: Option<u64> = None;
        for place in places {
            if previous == Some(place.offset) || place.offset >= self.len {
                continue;
            }
            previous = Some(place.offset);
            // Where the line starts in the buffer, and where its newline is, if loaded.
            let found = |buf: &[u8], window: u64, filled: usize| {
                let start = usize::try_from(place.offset.checked_sub(window)?).ok()?;
                let rest = buf.get(start..filled)?;
                Some((start, memchr::memchr(b'\n', rest).map(|i| start + i)))
            };
            let mut at = found(&buf, window, filled);
            if !matches!(at, Some((_, Some(_)))) {
                // Load a window from the byte before the line (to see that it ends a line),
                // growing it until the line ends.
                window = place.offset.saturating_sub(1);
                filled = 0;
                let want = usize::try_from(self.len - window)
                    .unwrap_or(usize::MAX)
                    .min(WINDOW);
                buf.resize(want.max(buf.len()), 0);
                file.seek(SeekFrom::Start(window)).map_err(read_err)?;
                loop {
                    let remaining = usize::try_from(self.len - window)
                        .unwrap_or(usize::MAX)
                        .saturating_sub(filled);
                    if remaining == 0 {
                        break;
                    }
                    if filled == buf.len() {
                        buf.resize(buf.len().saturating_mul(2).max(WINDOW), 0);
                    }
                    let room = buf.len() - filled;
                    let target = buf
                        .get_mut(filled..filled + room.min(remaining))
                        .unwrap_or_default();
                    let n = match file.read(target) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => return Err(read_err(e)),
                    };
                    // The byte before the line is not its end.
                    let searched = filled.max(usize::from(place.offset > 0));
                    filled += n;
                    if memchr::memchr(b'\n', buf.get(searched..filled).unwrap_or_default())
                        .is_some()
                    {
                        break;
                    }
                }
                at = found(&buf, window, filled);
            }
            let Some((start, newline)) = at else {
                continue;
            };
            // A place must start a line: the byte before it is a newline (or it is the
            // file's first byte).
            if place.offset > 0 && (start == 0 || buf.get(start - 1) != Some(&b'\n')) {
                continue;
            }
            let end = newline.map_or(filled, |n| n + 1);
            visit_line(
                buf.get(start..end).unwrap_or_default(),
                newline.is_some(),
                place.line,
                place.offset,
                &source,
                visitor,
                problems,
            );
        }
        Ok(())
    }
}

/// Bytes read at a time by [`visit_files_at`].
const WINDOW: usize = 256 * 1024;

/// Visits every line of the files as unchecked bytes, one file after the other.
pub(crate) fn scan_files(
    files: &[LogFile],
    visitor: &mut ByteVisitor<'_>,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for file in files {
        file.scan_bytes(visitor, &mut problems)?;
    }
    Ok(problems)
}

/// Visits the lines at `places` in the files (each file's in offset order).
pub(crate) fn visit_files_at(
    files: &[LogFile],
    places: &[LinePlace<'_>],
    visitor: &mut LineVisitor<'_>,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for file in files {
        let mut mine: Vec<LinePlace<'_>> = places
            .iter()
            .filter(|p| p.writer == file.writer)
            .copied()
            .collect();
        mine.sort_unstable_by_key(|p| p.offset);
        file.visit_places(&mine, visitor, &mut problems)?;
    }
    Ok(problems)
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
    in_parallel(
        files,
        visitors,
        Numbering::Counted,
        |file, (start, end), before, visitor, found| file.scan(start, end, before, visitor, found),
    )
}

/// Like [`visit_files_parallel`], handing lines over as unchecked bytes. Lines of a range after
/// a file's first get provisional numbers from `numbers` (see [`LineNumbers`]).
pub(crate) fn scan_files_parallel(
    files: &[LogFile],
    visitors: &mut [&mut ParallelByteVisitor<'_>],
    numbers: &mut LineNumbers,
) -> Result<Vec<Problem>, StoreError> {
    in_parallel(
        files,
        visitors,
        Numbering::Provisional(numbers),
        |file, (start, end), before, visitor, found| {
            file.scan_bytes_range(start, end, before, visitor, found)
        },
    )
}

/// Line numbers of a parallel byte scan ([`super::EventStore::scan_parallel`]).
///
/// A range of a file other than its first is read at the same time as the ranges before it,
/// before anything has counted their lines, so its lines are handed out provisional numbers:
/// above [`LineNumbers::PROVISIONAL`], and still in file order within each file (a later range
/// of a file gets higher numbers). When the scan has counted every range, [`LineNumbers::real`]
/// turns a provisional number into the line's number in its file. Problems the scan reports
/// already carry real numbers.
#[derive(Debug, Clone, Default)]
pub struct LineNumbers {
    /// `(provisional, real)` numbers of the line before each range, by provisional number.
    ranges: Vec<(u64, u64)>,
    /// The next range's provisional number (0 before the first).
    next: u64,
}

impl LineNumbers {
    /// Provisional numbers are above this one; real ones are not (a file with this many lines
    /// would hold exabytes).
    pub const PROVISIONAL: u64 = 1 << 62;

    /// Numbers set aside for one range: more lines than a range of any real file has.
    const STRIDE: u64 = 1 << 40;

    /// Sets aside numbers for a range: its lines are numbered from the returned one plus 1.
    /// `None` once they run out (after millions of ranges): the range is then counted first.
    fn reserve(&mut self) -> Option<u64> {
        let base = self.next.max(Self::PROVISIONAL);
        self.next = base.checked_add(Self::STRIDE)?;
        Some(base)
    }

    /// Records that the range numbered from `provisional` starts after line `real`.
    fn settle(&mut self, provisional: u64, real: u64) {
        self.ranges.push((provisional, real));
    }

    /// The real number of a line the scan numbered `line`.
    pub fn real(&self, line: u64) -> u64 {
        if line <= Self::PROVISIONAL {
            return line;
        }
        let i = self.ranges.partition_point(|&(p, _)| p < line);
        match i.checked_sub(1).and_then(|i| self.ranges.get(i)) {
            Some(&(p, r)) if line - p <= Self::STRIDE => line - p + r,
            _ => line,
        }
    }
}

/// How [`in_parallel`] numbers the lines of a range after a file's first.
enum Numbering<'n> {
    /// Count the lines before each range first, so visitors see real numbers.
    Counted,
    /// Hand out provisional numbers and settle them after the read.
    Provisional(&'n mut LineNumbers),
}

/// Cuts each file at line boundaries into ranges (files under [`MIN_SPLIT`] stay whole) and
/// runs `read(file, range, lines before it, visitor, problems)` on them, one thread per
/// visitor, each thread taking the next range nobody has taken, so a thread that gets less of
/// the machine takes fewer ranges. `read` returns the number of lines of its range. A visitor
/// sees its ranges in file order. Problems come back sorted by file and line, with real line
/// numbers.
///
/// With provisional numbering a file is cut into [`RANGES_PER_VISITOR`] ranges per visitor;
/// counted numbering needs the lines before every range counted first, so it cuts one per
/// visitor.
fn in_parallel<V: ?Sized + Send>(
    files: &[LogFile],
    visitors: &mut [&mut V],
    mut numbering: Numbering<'_>,
    read: impl Fn(&LogFile, (u64, u64), u64, &mut V, &mut Vec<Problem>) -> Result<u64, StoreError>
    + Sync,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    for file in files {
        let threads = if file.len < MIN_SPLIT {
            1
        } else {
            visitors.len()
        };
        let Some((first, _)) = visitors.split_first_mut() else {
            return Ok(problems);
        };
        if threads <= 1 {
            read(file, (0, file.len), 0, *first, &mut problems)?;
            continue;
        }
        let cuts = match numbering {
            Numbering::Provisional(_) => (threads * RANGES_PER_VISITOR)
                .min(usize::try_from(file.len / MIN_RANGE).unwrap_or(usize::MAX))
                .max(threads),
            Numbering::Counted => threads,
        };
        let bounds = range_bounds(file, cuts)?;
        let ranges: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        let provisional: Option<Vec<u64>> = match &mut numbering {
            Numbering::Provisional(numbers) => std::iter::once(Some(0))
                .chain(ranges.iter().skip(1).map(|_| numbers.reserve()))
                .collect(),
            Numbering::Counted => None,
        };
        let lines_before = match &provisional {
            Some(bases) => bases.clone(),
            None => count_lines_before(file, &ranges, threads)?,
        };
        let read = &read;
        let next = AtomicUsize::new(0);
        let (ranges, lines_before, next) = (&ranges, &lines_before, &next);
        let done = std::thread::scope(|scope| {
            let handles: Vec<_> = visitors
                .iter_mut()
                .map(|visitor| {
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        let mut counted = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let (Some(range), Some(before)) = (ranges.get(i), lines_before.get(i))
                            else {
                                break;
                            };
                            let lines = read(file, *range, *before, &mut **visitor, &mut found)?;
                            counted.push((i, lines));
                        }
                        Ok((counted, found))
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
        let mut lines = vec![0u64; ranges.len()];
        for &(i, n) in done.iter().flat_map(|(counted, _)| counted) {
            if let Some(slot) = lines.get_mut(i) {
                *slot = n;
            }
        }
        let mut found: Vec<Problem> = done.into_iter().flat_map(|(_, found)| found).collect();
        if let (Some(bases), Numbering::Provisional(numbers)) = (&provisional, &mut numbering) {
            let mut real = 0u64;
            for (i, (base, n)) in bases.iter().zip(&lines).enumerate() {
                if i > 0 {
                    numbers.settle(*base, real);
                }
                real += n;
            }
            for problem in &mut found {
                problem.line = numbers.real(problem.line);
            }
        }
        problems.extend(found);
    }
    problems.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    Ok(problems)
}

/// The number of lines before each of `ranges` (consecutive, from the file's start), counted
/// on `threads` threads: each counted range is itself cut into one piece per thread, so the
/// count takes a share of the time of reading the range.
fn count_lines_before(
    file: &LogFile,
    ranges: &[(u64, u64)],
    threads: usize,
) -> Result<Vec<u64>, StoreError> {
    let counted = ranges
        .get(..ranges.len().saturating_sub(1))
        .unwrap_or_default();
    let pieces: Vec<(usize, u64, u64)> = counted
        .iter()
        .enumerate()
        .flat_map(|(i, &(start, end))| {
            let step = (end - start).div_ceil(threads as u64).max(1);
            (start..end)
                .step_by(usize::try_from(step).unwrap_or(usize::MAX))
                .map(move |from| (i, from, (from + step).min(end)))
        })
        .collect();
    let counts = run_on_threads(&pieces, |(_, start, end)| {
        count_newlines(file, *start, *end)
    })?;
    let mut per_range = vec![0u64; counted.len()];
    for ((i, _, _), count) in pieces.iter().zip(counts) {
        if let Some(total) = per_range.get_mut(*i) {
            *total += count;
        }
    }
    let mut lines_before = Vec::with_capacity(ranges.len());
    let mut total = 0u64;
    lines_before.push(0);
    for count in per_range {
        total += count;
        lines_before.push(total);
    }
    Ok(lines_before)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RawBytes;

    fn log(text: &[u8]) -> (tempfile::TempDir, LogFile) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w1.jsonl");
        std::fs::write(&path, text).expect("write");
        let file = LogFile {
            path,
            writer: "w1".into(),
            legacy: true,
            len: text.len() as u64,
        };
        (dir, file)
    }

    /// `(line, offset, text)` of every line the visitor accepted.
    fn read_back(file: &LogFile, places: &[LinePlace<'_>]) -> (Vec<(u64, u64, String)>, usize) {
        let mut seen = Vec::new();
        let problems = visit_files_at(std::slice::from_ref(file), places, &mut |l| {
            seen.push((l.line, l.offset, l.text.to_owned()));
            Ok(())
        })
        .expect("reads");
        (seen, problems.len())
    }

    #[test]
    fn places_from_a_scan_read_the_same_lines_back() {
        let long = "y".repeat(WINDOW + 17);
        let mut text =
            format!("{{\"a\":1}}\n\n  \r\n{{\"b\":\"{long}\"}}\r\n#\n{{\"c\":3}}\n{{\"torn\":")
                .into_bytes();
        // Line 5 is not UTF-8.
        if let Some(b) = text.iter_mut().find(|b| **b == b'#') {
            *b = 0xff;
        }
        let (_dir, file) = log(&text);
        let mut scanned = Vec::new();
        let problems = scan_files(std::slice::from_ref(&file), &mut |l| {
            scanned.push((l.line, l.offset, l.bytes.to_vec()));
            Ok(())
        })
        .expect("scans");
        assert!(problems.is_empty(), "{problems:?}");
        let lines: Vec<u64> = scanned.iter().map(|s| s.0).collect();
        assert_eq!(lines, [1, 4, 5, 6, 7], "blank lines are skipped");
        for (line, offset, body) in &scanned {
            let at = usize::try_from(*offset).expect("offset");
            assert!(text[at..].starts_with(body), "line {line} at {offset}");
        }
        // Every place, in any order, reads its line back checked; the invalid UTF-8 line and
        // the torn line become problems.
        let mut places: Vec<LinePlace<'_>> = scanned
            .iter()
            .rev()
            .map(|(line, offset, _)| LinePlace {
                writer: "w1",
                offset: *offset,
                line: *line,
            })
            .collect();
        places.push(places[0]);
        let (seen, problems) = read_back(&file, &places);
        let got: Vec<(u64, String)> = seen.iter().map(|s| (s.0, s.2.clone())).collect();
        assert_eq!(
            got,
            [
                (1, "{\"a\":1}".to_owned()),
                (4, format!("{{\"b\":\"{long}\"}}")),
                (6, "{\"c\":3}".to_owned()),
                (7, "{\"torn\":".to_owned()),
            ]
        );
        assert_eq!(problems, 1, "the line that is not UTF-8");
        // A place inside a line, past the end, or of another writer yields nothing.
        let odd = [
            LinePlace {
                writer: "w1",
                offset: 3,
                line: 1,
            },
            LinePlace {
                writer: "w1",
                offset: 1 << 40,
                line: 9,
            },
            LinePlace {
                writer: "w2",
                offset: 0,
                line: 1,
            },
        ];
        assert_eq!(read_back(&file, &odd), (Vec::new(), 0));
    }

    #[test]
    fn a_parallel_scan_numbers_lines_provisionally_and_settles_them() {
        // Over the split size, with blank lines, a line that is not UTF-8 and a torn end, so
        // line numbers and line counts differ.
        let mut text = Vec::new();
        let mut n = 0u64;
        while text.len() < (MIN_SPLIT as usize) * 2 {
            n += 1;
            match n % 1000 {
                7 => text.extend_from_slice(b"\n"),
                500 => text.extend_from_slice(b"\xff\n"),
                _ => text.extend_from_slice(format!("{{\"n\":{n}}}\n").as_bytes()),
            }
        }
        text.extend_from_slice(b"{\"torn\":");
        let (_dir, file) = log(&text);
        let mut sequential = Vec::new();
        let expected_problems = scan_files(std::slice::from_ref(&file), &mut |l| {
            if l.bytes.first() == Some(&0xff) {
                return Err("bad".into());
            }
            sequential.push((l.line, l.offset));
            Ok(())
        })
        .expect("scans");
        let parts: Vec<std::sync::Mutex<Vec<(u64, u64)>>> =
            (0..3).map(|_| std::sync::Mutex::new(Vec::new())).collect();
        let mut visitors: Vec<Box<ParallelByteVisitor<'_>>> = parts
            .iter()
            .map(|part| {
                let visitor: Box<ParallelByteVisitor<'_>> = Box::new(move |l: &RawBytes<'_>| {
                    if l.bytes.first() == Some(&0xff) {
                        return Err("bad".into());
                    }
                    part.lock().expect("lock").push((l.line, l.offset));
                    Ok(())
                });
                visitor
            })
            .collect();
        let mut refs: Vec<&mut ParallelByteVisitor<'_>> =
            visitors.iter_mut().map(|v| &mut **v).collect();
        let mut numbers = LineNumbers::default();
        let problems = scan_files_parallel(std::slice::from_ref(&file), &mut refs, &mut numbers)
            .expect("scans");
        drop(refs);
        drop(visitors);
        let handed: Vec<Vec<(u64, u64)>> = parts
            .into_iter()
            .map(|p| p.into_inner().expect("lock"))
            .collect();
        // Each visitor sees its lines in file order. The first range has real numbers, the
        // others provisional ones, rising within the file.
        for mine in &handed {
            assert!(mine.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        }
        let mut all: Vec<(u64, u64)> = handed.iter().flatten().copied().collect();
        all.sort_by_key(|&(_, offset)| offset);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(all.first().map(|f| f.0), Some(1));
        assert!(all.last().is_some_and(|l| l.0 > LineNumbers::PROVISIONAL));
        // Settled, they are the sequential scan's; problems already carry real numbers.
        let settled: Vec<(u64, u64)> = all.iter().map(|&(l, o)| (numbers.real(l), o)).collect();
        assert_eq!(settled, sequential);
        let lines = |p: &[Problem]| p.iter().map(|p| p.line).collect::<Vec<_>>();
        assert_eq!(lines(&problems), lines(&expected_problems));
        assert!(problems.len() > 100, "{}", problems.len());
    }

    #[test]
    fn real_line_numbers_leave_real_ones_alone() {
        let mut numbers = LineNumbers::default();
        let a = numbers.reserve().expect("numbers");
        let b = numbers.reserve().expect("numbers");
        assert!(a >= LineNumbers::PROVISIONAL && b > a);
        numbers.settle(a, 100);
        numbers.settle(b, 250);
        assert_eq!(numbers.real(7), 7);
        assert_eq!(
            numbers.real(LineNumbers::PROVISIONAL),
            LineNumbers::PROVISIONAL
        );
        assert_eq!(numbers.real(a + 1), 101);
        assert_eq!(numbers.real(b + 3), 253);
        // A number no range handed out stays as it is.
        assert_eq!(
            numbers.real(b + LineNumbers::STRIDE + 1),
            b + LineNumbers::STRIDE + 1
        );
        // Once the numbers run out, a range is counted instead.
        numbers.next = u64::MAX - 1;
        assert_eq!(numbers.reserve(), None);
    }
}
