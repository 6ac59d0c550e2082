//! An outbox: a store whose writes go to a local directory store while its reads see the
//! configured store and that directory together (`WAVE_OUTBOX`, docs/ci.md).
//!
//! Owns: routing appends and result envelopes to the outbox, and reading the union of both
//! stores — a writer that has a file in the outbox is read from the outbox only, so a writer's
//! lines are never counted twice — and [`import`]ing a store's records into another one.
//! Must not: interpret records beyond their envelope.
//!
//! A job that may not write the state branch (a CI agent job holding a read-only token) runs
//! with an outbox: everything it and its agents record lands in the directory, which a later
//! job with write access imports ([`import`], `wave state import`). Files are per writer and
//! append-only, so the import is a union: lines a writer already has at the destination are
//! checked and skipped, the rest are appended with their own writer, `seq` and `at`.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Appended, ByteVisitor, DirStore, ENVELOPE_FIELDS, EventStore, LinePlace, LineVisitor, Problem,
    PutOutcome, Record, ResultKey, StoreError, StreamId,
};

/// Reads the base store and the outbox together; writes only to the outbox.
#[derive(Debug)]
pub struct OutboxStore {
    base: Box<dyn EventStore>,
    outbox: DirStore,
}

impl OutboxStore {
    /// A store reading `base` and `outbox`, writing to `outbox`.
    pub fn new(base: Box<dyn EventStore>, outbox: DirStore) -> Self {
        Self { base, outbox }
    }

    /// Copies `writer`'s lines in the base into the outbox, so the writer's appends continue
    /// its `seq` there (the import then finds those lines present). The file appears whole or
    /// not at all: it is written aside and linked into place only if no process did so first.
    fn seed(&self, stream: &StreamId, writer: &str) -> Result<(), StoreError> {
        let mut text = String::new();
        self.base.visit(stream, &mut |line| {
            if line.writer == writer {
                text.push_str(line.text);
                text.push('\n');
            }
            Ok(())
        })?;
        let path = self.outbox.writer_file(stream, writer);
        let dir = self.outbox.root().join(stream.dir());
        std::fs::create_dir_all(&dir).map_err(StoreError::io("create directory", &dir))?;
        let aside = dir.join(format!(".{writer}.seed-{}", std::process::id()));
        std::fs::write(&aside, text.as_bytes()).map_err(StoreError::io("write", &aside))?;
        let linked = std::fs::hard_link(&aside, &path);
        let _ = std::fs::remove_file(&aside);
        match linked {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::io("create", &path)(e)),
        }
    }

    fn outbox_writers(&self, stream: &StreamId) -> Result<BTreeSet<String>, StoreError> {
        Ok(self.outbox.writers(stream)?.into_iter().collect())
    }
}

impl EventStore for OutboxStore {
    fn describe(&self) -> String {
        format!(
            "{} (writing to the outbox {})",
            self.base.describe(),
            self.outbox.describe()
        )
    }

    fn append(
        &self,
        stream: &StreamId,
        writer: &str,
        at: jiff::Timestamp,
        records: &[Record],
    ) -> Result<Appended, StoreError> {
        if !records.is_empty()
            && self.outbox.last_seq(stream, writer)? == 0
            && self.base.last_seq(stream, writer)? > 0
        {
            self.seed(stream, writer)?;
        }
        self.outbox.append(stream, writer, at, records)
    }

    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
        match self.outbox.last_seq(stream, writer)? {
            0 => self.base.last_seq(stream, writer),
            n => Ok(n),
        }
    }

    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
        let mut all: BTreeSet<String> = self.base.writers(stream)?.into_iter().collect();
        all.extend(self.outbox.writers(stream)?);
        Ok(all.into_iter().collect())
    }

    fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mine = self.outbox_writers(stream)?;
        let mut problems = self.base.visit(stream, &mut |line| {
            if mine.contains(line.writer) {
                Ok(())
            } else {
                visitor(line)
            }
        })?;
        problems.extend(self.outbox.visit(stream, visitor)?);
        Ok(problems)
    }

    fn scan(
        &self,
        stream: &StreamId,
        visitor: &mut ByteVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mine = self.outbox_writers(stream)?;
        let mut problems = self.base.scan(stream, &mut |line| {
            if mine.contains(line.writer) {
                Ok(())
            } else {
                visitor(line)
            }
        })?;
        problems.extend(self.outbox.scan(stream, visitor)?);
        Ok(problems)
    }

    fn visit_at(
        &self,
        stream: &StreamId,
        places: &[LinePlace<'_>],
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mine = self.outbox_writers(stream)?;
        let (own, base): (Vec<LinePlace<'_>>, Vec<LinePlace<'_>>) =
            places.iter().partition(|p| mine.contains(p.writer));
        let mut problems = if base.is_empty() {
            Vec::new()
        } else {
            self.base.visit_at(stream, &base, visitor)?
        };
        if !own.is_empty() {
            problems.extend(self.outbox.visit_at(stream, &own, visitor)?);
        }
        Ok(problems)
    }

    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
        // The base's envelope is as immutable as the outbox's own.
        match self.base.get_result(key)? {
            Some(existing) if existing == *body => Ok(PutOutcome::Unchanged),
            Some(_) => Err(StoreError::ResultConflict {
                location: format!("{} in {}", key.path(), self.base.describe()),
            }),
            None => self.outbox.put_result(key, body),
        }
    }

    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        match self.outbox.get_result(key)? {
            Some(found) => Ok(Some(found)),
            None => self.base.get_result(key),
        }
    }

    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        Ok(super::sorted_union(
            self.base.list_results(lane, wave)?,
            self.outbox.list_results(lane, wave)?,
        ))
    }

    fn lanes(&self) -> Result<Vec<String>, StoreError> {
        Ok(super::sorted_union(
            self.base.lanes()?,
            self.outbox.lanes()?,
        ))
    }

    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        Ok(super::sorted_union(
            self.base.waves(lane)?,
            self.outbox.waves(lane)?,
        ))
    }
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading or writing a store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source holds unreadable lines: importing around them would leave a `seq` gap.
    #[error(
        "{problem}: the line cannot be imported; repair or remove it in the source and import again"
    )]
    Unreadable {
        /// The first unreadable line.
        problem: Problem,
    },
    /// A writer's line differs between the source and the destination: one writer name was
    /// used in two places.
    #[error(
        "{stream}: writer `{writer}` line {seq} differs between {from} and {into}; a writer name was used by two processes, nothing of this writer was imported"
    )]
    Diverged {
        /// The stream.
        stream: String,
        /// The writer.
        writer: String,
        /// The sequence number whose lines differ.
        seq: u64,
        /// The source store.
        from: String,
        /// The destination store.
        into: String,
    },
    /// A writer's lines in the source do not continue its lines at the destination.
    #[error(
        "{stream}: writer `{writer}` continues at seq {found} in {from}, but {into} ends at {last}; import the missing lines first"
    )]
    Gap {
        /// The stream.
        stream: String,
        /// The writer.
        writer: String,
        /// The destination's last `seq`.
        last: u64,
        /// The first `seq` the source has after it.
        found: u64,
        /// The source store.
        from: String,
        /// The destination store.
        into: String,
    },
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Lines appended to the destination.
    pub appended: u64,
    /// Lines the destination already held (identical), skipped.
    pub present: u64,
    /// Result envelopes written.
    pub results_written: u64,
    /// Result envelopes the destination already held (identical).
    pub results_present: u64,
}

/// Imports every line and result envelope of `from` into `into`, keeping each line's writer,
/// `seq` and `at`: the destination ends up holding the union of both. Importing twice, or a
/// source the destination already holds, appends nothing. Writers are checked before anything
/// of theirs is written: a line that differs at the same `seq`, or a `seq` gap, stops the
/// import with an error naming the writer (writers already imported stay imported).
pub fn import(from: &dyn EventStore, into: &dyn EventStore) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    for lane in from.lanes()? {
        let mut streams = vec![StreamId::dependencies(lane.clone())];
        for wave in from.waves(&lane)? {
            streams.push(StreamId::coordination(lane.clone(), wave));
            streams.push(StreamId::control(lane.clone(), wave));
        }
        for stream in &streams {
            import_stream(from, into, stream, &mut report)?;
        }
        for wave in from.waves(&lane)? {
            for key in from.list_results(&lane, wave)? {
                let Some(body) = from.get_result(&key)? else {
                    continue;
                };
                match into.put_result(&key, &body)? {
                    PutOutcome::Written => report.results_written += 1,
                    PutOutcome::Unchanged => report.results_present += 1,
                }
            }
        }
    }
    Ok(report)
}

/// One source line: its `seq`, `at`, record and the whole line as JSON (for comparison).
struct Line {
    seq: u64,
    at: String,
    record: Record,
    whole: serde_json::Value,
}

/// A stream's readable lines by writer, and the lines that could not be read.
type ByWriter = (BTreeMap<String, Vec<Line>>, Vec<Problem>);

fn lines_by_writer(
    store: &dyn EventStore,
    stream: &StreamId,
    only: Option<&BTreeSet<String>>,
) -> Result<ByWriter, StoreError> {
    let mut out: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    let problems = store.visit(stream, &mut |line| {
        if only.is_some_and(|w| !w.contains(line.writer)) {
            return Ok(());
        }
        // The record's fields keep their order (removing the envelope fields by shifting),
        // so the imported line has the source line's bytes.
        let (envelope, mut record) = line.parse_enveloped::<Record>()?;
        if !line.legacy {
            for field in ENVELOPE_FIELDS {
                record.shift_remove(field);
            }
        }
        let whole = serde_json::from_str(line.text).map_err(|e| e.to_string())?;
        out.entry(envelope.writer.into_owned())
            .or_default()
            .push(Line {
                seq: envelope.seq,
                at: envelope.at.into_owned(),
                record,
                whole,
            });
        Ok(())
    })?;
    Ok((out, problems))
}

fn import_stream(
    from: &dyn EventStore,
    into: &dyn EventStore,
    stream: &StreamId,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let (source, problems) = lines_by_writer(from, stream, None)?;
    if let Some(problem) = problems.into_iter().next() {
        return Err(ImportError::Unreadable { problem });
    }
    if source.is_empty() {
        return Ok(());
    }
    let writers: BTreeSet<String> = source.keys().cloned().collect();
    let (present, _) = lines_by_writer(into, stream, Some(&writers))?;
    for (writer, lines) in source {
        let held: BTreeMap<u64, &serde_json::Value> = present
            .get(&writer)
            .map(|ls| ls.iter().map(|l| (l.seq, &l.whole)).collect())
            .unwrap_or_default();
        let last = into.last_seq(stream, &writer)?;
        let diverged = |seq: u64| ImportError::Diverged {
            stream: stream.dir(),
            writer: writer.clone(),
            seq,
            from: from.describe(),
            into: into.describe(),
        };
        let mut next = last + 1;
        let mut fresh: Vec<&Line> = Vec::new();
        for line in &lines {
            if line.seq <= last {
                match held.get(&line.seq) {
                    Some(whole) if **whole == line.whole => report.present += 1,
                    _ => return Err(diverged(line.seq)),
                }
            } else if line.seq == next {
                fresh.push(line);
                next += 1;
            } else {
                return Err(ImportError::Gap {
                    stream: stream.dir(),
                    writer: writer.clone(),
                    last: next - 1,
                    found: line.seq,
                    from: from.describe(),
                    into: into.describe(),
                });
            }
        }
        // Consecutive lines with one `at` go in one append.
        for group in fresh.chunk_by(|a, b| a.at == b.at) {
            let Some(first) = group.first() else {
                continue;
            };
            let at =
                crate::event::time::parse(&first.at).ok_or_else(|| ImportError::Unreadable {
                    problem: Problem {
                        file: format!("{}/{writer}.jsonl", stream.dir()),
                        line: first.seq,
                        message: format!("`at` {:?} is not a wire timestamp", first.at),
                    },
                })?;
            let records: Vec<Record> = group.iter().map(|l| l.record.clone()).collect();
            let appended = into.append(stream, &writer, at, &records)?;
            if appended.first != first.seq {
                return Err(diverged(appended.first));
            }
            report.appended += records.len() as u64;
        }
    }
    Ok(())
}
