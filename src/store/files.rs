//! Reading log files: whole, or cut at line boundaries into ranges read on several threads.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::line::{Source, scan_line_bytes, split_lines, visit_line};
use super::{
    ByteVisitor, LinePlace, LineVisitor, ParallelByteVisitor, ParallelVisitor, Problem, StoreError,
};

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
            .map_err(StoreError::io("read", &self.path))
    }

    /// Visits the bytes of every line in `[start, end)`, unchecked; the range's first line is
    /// line `lines_before + 1`.
    fn scan_bytes_range(
        &self,
        start: u64,
        end: u64,
        lines_before: u64,
        visitor: &mut ByteVisitor<'_>,
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
        |file, (start, end), before, visitor, found| file.scan(start, end, before, visitor, found),
    )
}

/// Like [`visit_files_parallel`], handing lines over as unchecked bytes.
pub(crate) fn scan_files_parallel(
    files: &[LogFile],
    visitors: &mut [&mut ParallelByteVisitor<'_>],
) -> Result<Vec<Problem>, StoreError> {
    in_parallel(
        files,
        visitors,
        |file, (start, end), before, visitor, found| {
            file.scan_bytes_range(start, end, before, visitor, found)
        },
    )
}

/// Cuts each file into one range per visitor (files under [`MIN_SPLIT`] stay whole) and runs
/// `read(file, range, lines before it, visitor, problems)` on every range at once, one thread
/// per range. Problems come back sorted by file and line.
fn in_parallel<V: ?Sized + Send>(
    files: &[LogFile],
    visitors: &mut [&mut V],
    read: impl Fn(&LogFile, (u64, u64), u64, &mut V, &mut Vec<Problem>) -> Result<(), StoreError> + Sync,
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
            read(file, (0, file.len), 0, *first, &mut problems)?;
            continue;
        }
        let bounds = range_bounds(file, parts)?;
        let ranges: Vec<(u64, u64)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        // Line numbers are absolute (upstream lines are numbered by them), so count the
        // newlines of every range but the last first, on the same threads.
        // Each counted range is itself cut into one piece per thread, so the count takes a
        // share of the time of reading the range.
        let counted = ranges.get(..ranges.len() - 1).unwrap_or_default();
        let pieces: Vec<(usize, u64, u64)> = counted
            .iter()
            .enumerate()
            .flat_map(|(i, &(start, end))| {
                let step = (end - start).div_ceil(parts as u64).max(1);
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
        let read = &read;
        let found = std::thread::scope(|scope| {
            let handles: Vec<_> = visitors
                .iter_mut()
                .zip(ranges.iter().zip(&lines_before))
                .map(|(visitor, (range, before))| {
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        read(file, *range, *before, &mut **visitor, &mut found).map(|()| found)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
