//! Stored lines: encoding a record with its envelope, and reading lines back without copying.

use std::borrow::Cow;
use std::io::Read;

use serde::{Deserialize, Deserializer};

use super::{
    ByteVisitor, ENVELOPE_FIELDS, LEGACY_WRITER, LineVisitor, Problem, Record, StoreError,
};

/// The envelope of a stored line: who wrote it, its place in that writer's file, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope<'a> {
    /// The writer (one process); [`LEGACY_WRITER`] for imported upstream lines.
    pub writer: Cow<'a, str>,
    /// Per-writer, per-file sequence number, gap-free from 1 (the line number for legacy lines).
    pub seq: u64,
    /// Wire timestamp (`2026-01-02T03:04:05.678Z`); for legacy lines the record's `updatedAt`,
    /// else `recordedAt`, else `createdAt`, else empty.
    pub at: Cow<'a, str>,
}

impl Envelope<'_> {
    /// An owned copy.
    pub fn into_owned(self) -> Envelope<'static> {
        Envelope {
            writer: Cow::Owned(self.writer.into_owned()),
            seq: self.seq,
            at: Cow::Owned(self.at.into_owned()),
        }
    }
}

/// One stored line, borrowed from the reader's buffer for the duration of a visit.
///
/// The store hands lines over unparsed, so each is parsed once, by the visitor, with one of
/// the readers below; every one of them checks the whole line and the envelope, and their
/// error (returned from the visitor) turns the line into a [`super::Problem`].
#[derive(Debug, Clone)]
pub struct RawLine<'a> {
    /// The file (or in-memory location) it came from, for messages.
    pub file: &'a str,
    /// Its 1-based line number in that file.
    pub line: u64,
    /// The byte offset of its first byte in that file ([`super::LinePlace::offset`]).
    pub offset: u64,
    /// The writer whose file holds it ([`LEGACY_WRITER`] for imported upstream lines).
    pub writer: &'a str,
    /// Whether it was imported from upstream state (then the text has no envelope fields).
    pub legacy: bool,
    /// The whole line without its newline. For store lines it carries `writer`, `seq` and
    /// `at` beside the record's own fields.
    pub text: &'a str,
}

/// One stored line as bytes not yet checked to be UTF-8, for scans that look at a few fields
/// of every line and read only some lines in full ([`super::EventStore::scan`]).
///
/// A scan that keeps a line's verdict must check the bytes it reads ([`RawBytes::to_line`]
/// checks the whole line).
#[derive(Debug, Clone)]
pub struct RawBytes<'a> {
    /// The file (or in-memory location) it came from, for messages.
    pub file: &'a str,
    /// Its 1-based line number in that file.
    pub line: u64,
    /// The byte offset of its first byte in that file.
    pub offset: u64,
    /// The writer whose file holds it.
    pub writer: &'a str,
    /// Whether it was imported from upstream state.
    pub legacy: bool,
    /// The line without its newline (and without a `\r` before it).
    pub bytes: &'a [u8],
}

impl<'a> RawBytes<'a> {
    /// The line as text, once its bytes are checked to be UTF-8.
    pub fn to_line(&self) -> Result<RawLine<'a>, String> {
        let text = std::str::from_utf8(self.bytes).map_err(|_| "not valid UTF-8".to_owned())?;
        Ok(RawLine {
            file: self.file,
            line: self.line,
            offset: self.offset,
            writer: self.writer,
            legacy: self.legacy,
            text,
        })
    }
}

impl<'a> RawLine<'a> {
    /// Reads the envelope only (skipping every other value without building it).
    pub fn envelope(&self) -> Result<Envelope<'a>, String> {
        read_envelope(self.text, self.writer, self.legacy, self.line)
    }

    /// Reads the envelope and deserializes the line into the caller's own type, in one pass.
    ///
    /// `T` sees every field of the line, envelope fields included; what it does with unknown
    /// fields is its own call (readers should tolerate them).
    pub fn parse_enveloped<T: Deserialize<'a>>(&self) -> Result<(Envelope<'a>, T), String> {
        let mut de = serde_json::Deserializer::from_str(self.text);
        let both = de
            .deserialize_map(tee::BothVisitor::<T>::new(self.legacy))
            .and_then(|both| de.end().map(|()| both))
            .map_err(|e| format!("not a valid record: {e}"))?;
        let envelope = finish_envelope(both.fields, self.writer, self.legacy, self.line)?;
        Ok((envelope, both.value))
    }

    /// Deserializes the line into the caller's own type without checking its envelope.
    pub fn parse<T: Deserialize<'a>>(&self) -> Result<T, String> {
        serde_json::from_str(self.text).map_err(|e| format!("not a valid record: {e}"))
    }

    /// The line as an owned record with its envelope split off.
    pub fn to_record(&self) -> Result<StoredRecord, String> {
        let (envelope, mut record) = self.parse_enveloped::<Record>()?;
        if !self.legacy {
            for field in ENVELOPE_FIELDS {
                record.shift_remove(field);
            }
        }
        Ok(StoredRecord {
            writer: envelope.writer.into_owned(),
            seq: envelope.seq,
            at: envelope.at.into_owned(),
            record,
        })
    }
}

/// A record with its envelope, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The writer that appended it.
    pub writer: String,
    /// Its sequence number in that writer's file.
    pub seq: u64,
    /// Its wire timestamp.
    pub at: String,
    /// The record's own fields (without `writer`, `seq` and `at`).
    pub record: Record,
}

impl StoredRecord {
    /// The record's `id` field, when it is a string.
    pub fn id(&self) -> Option<&str> {
        self.record.get("id").and_then(serde_json::Value::as_str)
    }
}

/// Refuses a batch whose records already carry an envelope field, before anything is written.
pub(crate) fn check_records(records: &[Record]) -> Result<(), StoreError> {
    for record in records {
        if let Some(field) = ENVELOPE_FIELDS
            .into_iter()
            .find(|f| record.contains_key(*f))
        {
            return Err(StoreError::EnvelopeField { field });
        }
    }
    Ok(())
}

/// Encodes one stored line (without the newline): envelope fields first, then the record's
/// fields in their order.
pub(crate) fn encode_line(
    writer: &str,
    seq: u64,
    at: &str,
    record: &Record,
) -> Result<String, StoreError> {
    for field in ENVELOPE_FIELDS {
        if record.contains_key(field) {
            return Err(StoreError::EnvelopeField { field });
        }
    }
    let body = serde_json::to_string(record).map_err(|source| StoreError::Serialize { source })?;
    let head = serde_json::to_string(&serde_json::json!({"writer": writer, "seq": seq, "at": at}))
        .map_err(|source| StoreError::Serialize { source })?;
    // Both are JSON objects: `{…}`. Splice the record's fields after the envelope's.
    let mut line = String::with_capacity(head.len() + body.len());
    line.push_str(head.strip_suffix('}').unwrap_or(&head));
    match body.strip_prefix('{') {
        Some("}") | None => line.push('}'),
        Some(rest) => {
            line.push(',');
            line.push_str(rest);
        }
    }
    Ok(line)
}

/// The text a writer appends after its file's last line, and the `seq` range it takes:
/// `records` enveloped as `writer` with `seq` from `last + 1`, one line each, preceded by a
/// newline when the file ends in a torn line (`ends_with_newline` false). `location` names the
/// file for the overflow error.
pub(crate) fn encode_appended(
    writer: &str,
    last: u64,
    ends_with_newline: bool,
    at: &str,
    records: &[Record],
    location: impl Fn() -> String,
) -> Result<(String, super::Appended), StoreError> {
    let overflow = || StoreError::SeqOverflow {
        writer: writer.to_owned(),
        location: location(),
    };
    let first = last.checked_add(1).ok_or_else(overflow)?;
    let mut text = String::new();
    if !ends_with_newline && !records.is_empty() {
        text.push('\n');
    }
    let mut seq = last;
    for record in records {
        seq = seq.checked_add(1).ok_or_else(overflow)?;
        text.push_str(&encode_line(writer, seq, at, record)?);
        text.push('\n');
    }
    Ok((text, super::Appended { first, last: seq }))
}

/// The envelope fields of a line as found, before the rules are applied.
#[derive(Debug, Default)]
pub(crate) struct EnvelopeFields<'a> {
    pub writer: Option<Cow<'a, str>>,
    pub seq: Option<u64>,
    pub at: Option<Cow<'a, str>>,
    pub updated_at: Option<Cow<'a, str>>,
    pub recorded_at: Option<Cow<'a, str>>,
    pub created_at: Option<Cow<'a, str>>,
}

/// The envelope fields of a store line; every other field is skipped without being built.
#[derive(Deserialize)]
struct WireEnvelope<'a> {
    #[serde(borrow, default)]
    writer: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(borrow, default)]
    at: Option<Cow<'a, str>>,
}

/// The timestamps a legacy upstream line may carry.
#[derive(Deserialize)]
#[allow(non_snake_case)]
struct LegacyTimes<'a> {
    #[serde(borrow, default)]
    updatedAt: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    recordedAt: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    createdAt: Option<Cow<'a, str>>,
}

/// Reads and checks the envelope of a line from `writer`'s file.
///
/// This parses the whole line (skipping values it does not need), so a torn or malformed line
/// is always caught here.
pub(crate) fn read_envelope<'a>(
    text: &'a str,
    writer: &'a str,
    legacy: bool,
    line: u64,
) -> Result<Envelope<'a>, String> {
    if !text.trim_start().starts_with('{') {
        return Err("not a JSON object".to_owned());
    }
    let fields = if legacy {
        let times: LegacyTimes<'a> =
            serde_json::from_str(text).map_err(|e| format!("not a valid record: {e}"))?;
        EnvelopeFields {
            updated_at: times.updatedAt,
            recorded_at: times.recordedAt,
            created_at: times.createdAt,
            ..EnvelopeFields::default()
        }
    } else {
        let wire: WireEnvelope<'a> =
            serde_json::from_str(text).map_err(|e| format!("not a valid record: {e}"))?;
        EnvelopeFields {
            writer: wire.writer,
            seq: wire.seq,
            at: wire.at,
            ..EnvelopeFields::default()
        }
    };
    finish_envelope(fields, writer, legacy, line)
}

/// Applies the envelope rules: a store line must name its file's writer and carry a positive
/// `seq` and an `at`; a legacy line is the legacy writer's, numbered by line, timed by its
/// `updatedAt`, else `recordedAt`, else `createdAt`, else empty.
pub(crate) fn finish_envelope<'a>(
    fields: EnvelopeFields<'a>,
    writer: &'a str,
    legacy: bool,
    line: u64,
) -> Result<Envelope<'a>, String> {
    if legacy {
        let at = [fields.updated_at, fields.recorded_at, fields.created_at]
            .into_iter()
            .flatten()
            .find(|t| !t.is_empty())
            .unwrap_or(Cow::Borrowed(""));
        return Ok(Envelope {
            writer: Cow::Borrowed(LEGACY_WRITER),
            seq: line,
            at,
        });
    }
    let found = fields
        .writer
        .ok_or_else(|| "missing envelope field `writer`".to_owned())?;
    if found != writer {
        return Err(format!(
            "envelope names writer `{found}` but the line is in the file of writer `{writer}`"
        ));
    }
    let seq = fields
        .seq
        .filter(|s| *s > 0)
        .ok_or_else(|| "missing or invalid envelope field `seq` (a positive integer)".to_owned())?;
    let at = fields
        .at
        .ok_or_else(|| "missing envelope field `at`".to_owned())?;
    Ok(Envelope {
        writer: found,
        seq,
        at,
    })
}

/// Where lines come from, for [`scan_lines`].
pub(crate) struct Source<'s> {
    /// The file name for messages.
    pub file: &'s str,
    /// The file's writer.
    pub writer: &'s str,
    /// Legacy upstream lines carry no envelope.
    pub legacy: bool,
}

/// Read buffer for scanning a log; it grows only for a line longer than this.
const SCAN_BUFFER: usize = 256 * 1024;

/// Splits a reader into lines and hands each line to the visitor, in place in one reused
/// buffer (no copy per line); bad lines become problems. Memory stays at the buffer size, or
/// the longest line if that is longer.
///
/// `lines_before` is the number of lines before the reader's first byte (0 for a whole file).
pub(crate) fn scan_lines<R: Read>(
    reader: R,
    source: &Source<'_>,
    lines_before: u64,
    visitor: &mut LineVisitor<'_>,
    problems: &mut Vec<Problem>,
) -> std::io::Result<()> {
    split_lines(
        reader,
        0,
        lines_before,
        &mut |bytes, complete, line, offset| {
            visit_line(bytes, complete, line, offset, source, visitor, problems);
        },
    )
    .map(drop)
}

/// Like [`scan_lines`] without checking that lines are UTF-8: the visitor gets each line's
/// bytes. `first_offset` is the file offset of the reader's first byte. Returns the number of
/// lines.
pub(crate) fn scan_line_bytes<R: Read>(
    reader: R,
    source: &Source<'_>,
    first_offset: u64,
    lines_before: u64,
    visitor: &mut ByteVisitor<'_>,
    problems: &mut Vec<Problem>,
) -> std::io::Result<u64> {
    split_lines(
        reader,
        first_offset,
        lines_before,
        &mut |bytes, complete, line, offset| {
            visit_bytes(bytes, complete, line, offset, source, visitor, problems);
        },
    )
}

/// What [`split_lines`] calls per line: `(bytes, complete, line number, offset)`.
pub(crate) type EachLine<'f> = dyn FnMut(&[u8], bool, u64, u64) + 'f;

/// Splits a reader into lines in one reused buffer, calling `each(bytes, complete, line
/// number, offset)` for every line (with its newline when it has one). Returns the number of
/// lines.
pub(crate) fn split_lines<R: Read>(
    mut reader: R,
    first_offset: u64,
    lines_before: u64,
    each: &mut EachLine<'_>,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; SCAN_BUFFER];
    // `buf[..filled]` holds unread bytes, starting at file offset `buf_offset`;
    // `buf[..searched]` is known to hold no newline.
    let mut filled = 0usize;
    let mut buf_offset = first_offset;
    let mut line_no = lines_before;
    loop {
        if filled == buf.len() {
            buf.resize(buf.len().saturating_mul(2), 0);
        }
        let searched = filled;
        let n = match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if let Some(rest) = buf.get(..filled).filter(|rest| !rest.is_empty()) {
                line_no += 1;
                each(rest, false, line_no, buf_offset);
            }
            return Ok(line_no - lines_before);
        }
        filled += n;
        let data = buf.get(..filled).unwrap_or_default();
        let mut start = 0usize;
        for end in memchr::memchr_iter(b'\n', data.get(searched..).unwrap_or_default()) {
            let end = searched + end;
            line_no += 1;
            let line = data.get(start..=end).unwrap_or_default();
            each(line, true, line_no, buf_offset + start as u64);
            start = end + 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        buf_offset += start as u64;
    }
}

/// Reports a bad line as a problem at its file and line.
fn report_line(
    problems: &mut Vec<Problem>,
    source: &Source<'_>,
    line: u64,
    complete: bool,
    message: String,
) {
    let message = if complete {
        message
    } else {
        format!("torn line (no newline at end of file): {message}")
    };
    problems.push(Problem {
        file: source.file.to_owned(),
        line,
        message,
    });
}

/// A line's bytes without the newline (and a `\r` before it); `None` for a blank line.
fn line_body(bytes: &[u8]) -> Option<&[u8]> {
    let mut end = bytes.len();
    while end > 0 && matches!(bytes.get(end - 1), Some(b'\n' | b'\r')) {
        end -= 1;
    }
    let body = bytes.get(..end)?;
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => None,
        Some(b) if b.is_ascii() => Some(body),
        // Only whitespace beyond ASCII (a no-break space, …) is blank as well.
        Some(_) => match std::str::from_utf8(body) {
            Ok(text) if text.trim().is_empty() => None,
            _ => Some(body),
        },
    }
}

/// Checks and visits one line's bytes (with or without its newline).
pub(crate) fn visit_line(
    bytes: &[u8],
    complete: bool,
    line: u64,
    offset: u64,
    source: &Source<'_>,
    visitor: &mut LineVisitor<'_>,
    problems: &mut Vec<Problem>,
) {
    let Some(body) = line_body(bytes) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        report_line(problems, source, line, complete, "not valid UTF-8".into());
        return;
    };
    let raw = RawLine {
        file: source.file,
        line,
        offset,
        writer: source.writer,
        legacy: source.legacy,
        text,
    };
    if let Err(message) = visitor(&raw) {
        report_line(problems, source, line, complete, message);
    }
}

/// Visits one line's bytes (with or without its newline) unchecked.
pub(crate) fn visit_bytes(
    bytes: &[u8],
    complete: bool,
    line: u64,
    offset: u64,
    source: &Source<'_>,
    visitor: &mut ByteVisitor<'_>,
    problems: &mut Vec<Problem>,
) {
    let Some(body) = line_body(bytes) else {
        return;
    };
    let raw = RawBytes {
        file: source.file,
        line,
        offset,
        writer: source.writer,
        legacy: source.legacy,
        bytes: body,
    };
    if let Err(message) = visitor(&raw) {
        report_line(problems, source, line, complete, message);
    }
}

/// The sequence number of the last readable line in a chunk of a writer's file that ends at
/// the end of the file, if any line in it is readable.
///
/// `starts_at_line_boundary` says whether the chunk's first byte begins a line (the chunk is
/// the whole file, or the byte before it is a newline); otherwise its first partial line is
/// ignored.
pub(crate) fn last_seq_in_tail(
    chunk: &[u8],
    starts_at_line_boundary: bool,
    writer: &str,
) -> Option<u64> {
    let whole_lines = if starts_at_line_boundary {
        chunk
    } else {
        // Drop the partial first line; no newline at all means no whole line.
        let first_end = memchr::memchr(b'\n', chunk)?;
        chunk.get(first_end + 1..).unwrap_or_default()
    };
    whole_lines.rsplit(|b| *b == b'\n').find_map(|bytes| {
        let text = std::str::from_utf8(bytes).ok()?.trim_end_matches('\r');
        if text.trim().is_empty() {
            return None;
        }
        read_envelope(text, writer, false, 0).ok().map(|e| e.seq)
    })
}

mod tee;

/// The sequence number of the last readable line of a whole writer file held in memory
/// (0 when it has none), looking only at its tail unless the tail has no readable line.
pub(crate) fn last_seq_in_text(text: &[u8], writer: &str) -> u64 {
    let mut chunk = 4 * 1024;
    loop {
        let start = text.len().saturating_sub(chunk);
        let boundary = start == 0 || text.get(start - 1) == Some(&b'\n');
        if let Some(seq) = last_seq_in_tail(text.get(start..).unwrap_or_default(), boundary, writer)
        {
            return seq;
        }
        if start == 0 {
            return 0;
        }
        chunk = chunk.saturating_mul(4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> Record {
        match json {
            serde_json::Value::Object(map) => map,
            _ => Record::new(),
        }
    }

    #[test]
    fn encodes_envelope_first_and_keeps_field_order() {
        let r = record(serde_json::json!({"id": "x", "kind": "ack", "n": 1}));
        let line = encode_line("w1", 7, "2026-01-01T00:00:00.000Z", &r).expect("encodes");
        assert_eq!(
            line,
            r#"{"writer":"w1","seq":7,"at":"2026-01-01T00:00:00.000Z","id":"x","kind":"ack","n":1}"#
        );
        let empty = encode_line("w1", 1, "t", &Record::new()).expect("encodes");
        assert_eq!(empty, r#"{"writer":"w1","seq":1,"at":"t"}"#);
    }

    #[test]
    fn to_record_keeps_the_record_fields_in_their_order() {
        let text = r#"{"writer":"w1","seq":3,"at":"t","id":"x","kind":"ack","n":1,"z":true}"#;
        let stored = raw(text, false).to_record().expect("reads");
        let keys: Vec<&str> = stored.record.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "kind", "n", "z"]);
        let again =
            encode_line(&stored.writer, stored.seq, &stored.at, &stored.record).expect("encodes");
        assert_eq!(again, text);
    }

    #[test]
    fn refuses_records_that_carry_envelope_fields() {
        let r = record(serde_json::json!({"id": "x", "seq": 3}));
        assert!(matches!(
            encode_line("w1", 1, "t", &r),
            Err(StoreError::EnvelopeField { field: "seq" })
        ));
    }

    #[test]
    fn envelope_must_match_the_file_writer() {
        let text = r#"{"writer":"w2","seq":1,"at":"t"}"#;
        let err = read_envelope(text, "w1", false, 1).expect_err("mismatch");
        assert!(err.contains("w2"), "{err}");
        assert!(read_envelope(r#"{"writer":"w1","at":"t"}"#, "w1", false, 1).is_err());
        assert!(read_envelope(r#"{"writer":"w1","seq":0,"at":"t"}"#, "w1", false, 1).is_err());
        assert!(read_envelope(r#"["w1",1,"t"]"#, "w1", false, 1).is_err());
    }

    #[test]
    fn legacy_envelope_takes_the_first_timestamp_present() {
        let e = read_envelope(
            r#"{"id":"a","createdAt":"c","updatedAt":"u"}"#,
            "ignored",
            true,
            9,
        )
        .expect("reads");
        assert_eq!(
            (e.writer.as_ref(), e.seq, e.at.as_ref()),
            (LEGACY_WRITER, 9, "u")
        );
        let e = read_envelope(r#"{"recordedAt":"r"}"#, "", true, 2).expect("reads");
        assert_eq!(e.at, "r");
        let e = read_envelope(r#"{"updatedAt":"","createdAt":"c"}"#, "", true, 2).expect("reads");
        assert_eq!(e.at, "c");
    }

    fn raw<'a>(text: &'a str, legacy: bool) -> RawLine<'a> {
        RawLine {
            file: "f.jsonl",
            line: 7,
            offset: 0,
            writer: "w1",
            legacy,
            text,
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Typed<'a> {
        id: &'a str,
        #[serde(default)]
        seq: Option<u64>,
        #[serde(rename = "updatedAt", default)]
        updated_at: Option<&'a str>,
        #[serde(default)]
        note: Option<String>,
    }

    #[test]
    fn parse_enveloped_reads_envelope_and_the_callers_type_in_one_pass() {
        let line = raw(
            r#"{"writer":"w1","seq":3,"at":"2026-01-01T00:00:00.000Z","id":"x","note":"a\"b","extra":[1,{"seq":9}]}"#,
            false,
        );
        let (env, typed): (_, Typed<'_>) = line.parse_enveloped().expect("reads");
        assert_eq!(
            (env.writer.as_ref(), env.seq, env.at.as_ref()),
            ("w1", 3, "2026-01-01T00:00:00.000Z")
        );
        assert!(
            matches!(env.writer, Cow::Borrowed(_)),
            "no copy for plain strings"
        );
        assert_eq!(typed.id, "x");
        assert_eq!(
            typed.seq,
            Some(3),
            "envelope fields reach the caller's type too"
        );
        assert_eq!(typed.note.as_deref(), Some("a\"b"));
        assert_eq!(line.envelope().expect("reads"), env);
    }

    #[test]
    fn parse_enveloped_times_legacy_lines_by_their_own_fields() {
        let line = raw(
            r#"{"id":"x","createdAt":"c","updatedAt":"u","writer":"not ours"}"#,
            true,
        );
        let (env, typed): (_, Typed<'_>) = line.parse_enveloped().expect("reads");
        assert_eq!(
            (env.writer.as_ref(), env.seq, env.at.as_ref()),
            (LEGACY_WRITER, 7, "u")
        );
        assert_eq!(typed.updated_at, Some("u"));
        let (env, _): (_, Record) = raw(r#"{"recordedAt":"r","data":{"updatedAt":"inner"}}"#, true)
            .parse_enveloped()
            .expect("reads");
        assert_eq!(env.at, "r", "only top-level fields time a record");
    }

    #[test]
    fn parse_enveloped_rejects_torn_malformed_and_unenveloped_lines() {
        let cases = [
            (r#"{"writer":"w1","seq":3,"at":"t","id":"x""#, "EOF"),
            (
                r#"{"writer":"w1","seq":3,"at":"t","id":"x"} trailing"#,
                "trailing",
            ),
            (r#"["w1",3,"t"]"#, "expected a JSON object"),
            (r#"{"writer":"w1","seq":"3","at":"t","id":"x"}"#, "`seq`"),
            (r#"{"writer":"w1","seq":-1,"at":"t","id":"x"}"#, "`seq`"),
            (
                r#"{"writer":"w2","seq":1,"at":"t","id":"x"}"#,
                "writer `w2`",
            ),
            (r#"{"writer":"w1","seq":1,"id":"x"}"#, "`at`"),
            (
                r#"{"writer":"w1","seq":1,"at":{"x":1},"id":"x"}"#,
                "envelope field",
            ),
        ];
        for (text, expected) in cases {
            let err = raw(text, false)
                .parse_enveloped::<Record>()
                .expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn scan(data: &[u8], step: usize) -> (Vec<(u64, String)>, Vec<Problem>) {
        let source = Source {
            file: "f",
            writer: LEGACY_WRITER,
            legacy: true,
        };
        let mut seen = Vec::new();
        let mut problems = Vec::new();
        scan_lines(
            Trickle { data, step },
            &source,
            0,
            &mut |line| {
                line.envelope()?;
                seen.push((line.line, line.text.to_owned()));
                Ok(())
            },
            &mut problems,
        )
        .expect("scans");
        (seen, problems)
    }

    #[test]
    fn scanning_splits_lines_across_reads_and_numbers_blank_lines() {
        let long = format!("{{\"detail\":\"{}\"}}", "z".repeat(600 * 1024));
        let data = format!("{{\"a\":1}}\r\n\n  \n{long}\n{{\"b\":2}}\n{{\"c\":");
        for step in [7, 4096, usize::MAX] {
            let (seen, problems) = scan(data.as_bytes(), step);
            let lines: Vec<u64> = seen.iter().map(|(l, _)| *l).collect();
            assert_eq!(lines, [1, 4, 5], "step {step}");
            assert_eq!(seen[0].1, "{\"a\":1}", "newline and CR trimmed");
            assert_eq!(seen[1].1.len(), long.len());
            assert_eq!(problems.len(), 1, "step {step}");
            assert_eq!(problems[0].line, 6);
            assert!(
                problems[0].message.starts_with("torn line"),
                "{}",
                problems[0].message
            );
        }
        let (seen, problems) = scan(b"{\"a\":1}", 3);
        assert_eq!(
            (seen.len(), problems.len()),
            (1, 0),
            "a complete last line without newline counts"
        );
    }

    #[test]
    fn last_seq_looks_past_a_long_unreadable_tail() {
        let mut text = String::new();
        for seq in 1..=3 {
            text.push_str(&format!(
                "{{\"writer\":\"w\",\"seq\":{seq},\"at\":\"t\"}}\n"
            ));
        }
        assert_eq!(last_seq_in_text(text.as_bytes(), "w"), 3);
        text.push_str(&"garbage line\n".repeat(20_000));
        text.push_str("{\"writer\":\"w\",\"seq\":4,\"at");
        assert!(text.len() > 200 * 1024);
        assert_eq!(last_seq_in_text(text.as_bytes(), "w"), 3);
        assert_eq!(last_seq_in_text(b"", "w"), 0);
    }

    #[test]
    fn tail_scan_skips_torn_and_partial_lines() {
        let good = r#"{"writer":"w","seq":4,"at":"t","x":1}"#;
        let chunk = format!("tial\"}}\n{good}\n{{\"writer\":\"w\",\"seq\":5,\"at");
        assert_eq!(last_seq_in_tail(chunk.as_bytes(), false, "w"), Some(4));
        assert_eq!(last_seq_in_tail(b"{\"writer\":\"w\",", true, "w"), None);
    }
}
