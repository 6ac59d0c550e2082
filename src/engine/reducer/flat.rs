//! A hand-written parser for flat coordination records, the fast path of
//! [`super::CoordRecord::from_line`].
//!
//! It reads the wire form the runtime and upstream write — one JSON object whose known fields
//! hold strings, lists of strings, booleans, small integers or `null` — straight into the
//! reducer's borrowed wire struct, and gives up (`None`) on anything it does not fully
//! understand: escaped keys, `\u` escapes, control characters, a known field twice, a value of
//! an unexpected type, numbers beyond plain integers in known fields, deep nesting, trailing
//! text. The caller then takes the general serde path, so what this parser accepts it must read
//! exactly as serde would, and everything else is serde's to decide (`tests` and
//! `tests/status_properties.rs` check the agreement on generated records).
//!
//! Strings without escapes are borrowed from the line; strings with escapes are decoded into
//! owned text. Unknown fields are skipped, with their grammar checked as serde checks it.
//!
//! Two paths: a line as writers write it (every field in the wire order of
//! `docs/event-format.md`, no whitespace) is read by straight-line code that compares each key
//! as a few machine words and reads its value by the field's type; any other line is read key
//! by key, each key still first compared with the one the wire order puts next. Both read
//! values with the same functions, so they agree with each other and with serde.

use std::borrow::Cow;

use super::record::{BoolLike, Raw, Text, Texts, UintLike, bool_from_text, uint_from_text};

/// Nesting deeper than this in an unknown field is left to serde (which has its own limit).
const MAX_DEPTH: usize = 64;

/// Eight copies of a byte.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of each byte of `w` that is a quote, a backslash or a control character; the
/// lowest set bit marks the first such byte exactly (higher ones may be false alarms).
///
/// Below the first such byte no subtraction borrows, so each byte is judged on its own: an
/// ASCII byte has its high bit set in `x - 1` (for `x` the byte xor a quote, or xor a
/// backslash) only when it is that character, and in `w - 0x20` only when it is a control
/// character; a byte of 0x80 or more has the high bit set in all of `q`, `s` and `w`, so the
/// last mask clears it.
#[inline(always)]
fn special(w: u64) -> u64 {
    let q = w ^ splat(b'"');
    let s = w ^ splat(b'\\');
    (q.wrapping_sub(splat(1)) | s.wrapping_sub(splat(1)) | w.wrapping_sub(splat(0x20)))
        & !(q & s & w)
        & splat(0x80)
}

/// The index of the first byte at or after `from` that a JSON string cannot hold as it is: a
/// quote, a backslash or a control character. Reads eight bytes at a time. (Not inlined: the
/// loop keeps its constants in registers, which it does not inside the large callers.)
#[inline(never)]
pub(crate) fn next_special(b: &[u8], from: usize) -> Option<usize> {
    find_special(b, from)
}

/// [`next_special`], inlined.
#[inline(always)]
fn find_special(b: &[u8], from: usize) -> Option<usize> {
    let mut chunks = b.get(from..)?.chunks_exact(8);
    let mut at = from;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = special(u64::from_le_bytes(word));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

/// The body of a string of `text` that starts at `start` (after its opening quote): when it
/// holds no escape and no control character, the body, borrowed, and the index after its
/// closing quote; otherwise (`Err`) the index of its first backslash or control character.
/// One call per string: the scan and the slicing of the body together.
#[inline(never)]
fn plain(text: &str, start: usize) -> Option<Result<(&str, usize), usize>> {
    let at = find_special(text.as_bytes(), start)?;
    if text.as_bytes().get(at) == Some(&b'"') {
        Some(Ok((text.get(start..at)?, at + 1)))
    } else {
        Some(Err(at))
    }
}

/// The rest of a string of `text` that starts at `start` and holds a backslash or a control
/// character at `at`: its decoded text and the index after its closing quote.
#[inline(never)]
fn escaped(text: &str, start: usize, mut at: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    let mut owned = String::new();
    let mut run = start;
    loop {
        match *b.get(at)? {
            b'"' => {
                owned.push_str(text.get(run..at)?);
                return Some((Cow::Owned(owned), at + 1));
            }
            b'\\' => {
                owned.push_str(text.get(run..at)?);
                owned.push(match *b.get(at + 1)? {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    // `\u` escapes (surrogates) and bad escapes are serde's to judge.
                    _ => return None,
                });
                run = at + 2;
                at = next_special(b, run)?;
            }
            // A raw control character.
            _ => return None,
        }
    }
}

#[derive(Clone, Copy)]
struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i.checked_add(word.len())?;
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    #[inline(always)]
    fn next_special(&self, from: usize) -> Option<usize> {
        next_special(self.b, from)
    }

    /// A string at the cursor (on its opening quote), borrowed when it has no escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        // The empty string, frequent in records (empty lanes, conditions, ids), costs no call.
        if self.peek()? == b'"' {
            self.i += 1;
            return Some(Cow::Borrowed(""));
        }
        let (text, end) = match plain(self.text, start)? {
            Ok((body, end)) => (Cow::Borrowed(body), end),
            Err(at) => escaped(self.text, start, at)?,
        };
        self.i = end;
        Some(text)
    }

    /// Skips a string at the cursor (on its opening quote), checking it as [`Parser::string`]
    /// does, without keeping its text.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        if self.peek()? != b'"' {
            return None;
        }
        if self.b.get(self.i + 1) == Some(&b'"') {
            self.i += 2;
            return Some(());
        }
        let end = self.next_special(self.i + 1)?;
        if self.b.get(end) == Some(&b'"') {
            self.i = end + 1;
            return Some(());
        }
        self.string().map(drop)
    }

    /// An object key: a string without escapes.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        let end = self.next_special(start)?;
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        self.b.get(start..end)
    }

    /// A known text field: a string or `null`.
    #[inline(always)]
    fn text(&mut self) -> Option<Option<Text<'a>>> {
        match self.peek()? {
            b'"' => Some(Some(Text(self.string()?))),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// A known list field: an array of strings or `null`.
    #[inline(always)]
    fn list(&mut self) -> Option<Option<Texts<'a>>> {
        match self.peek()? {
            b'n' => return self.literal(b"null").map(|()| None),
            b'[' => self.i += 1,
            _ => return None,
        }
        let mut out = Texts::default();
        self.ws();
        if self.eat(b']').is_some() {
            return Some(Some(out));
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            out.push(Text(self.string()?));
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Some(out));
                }
                _ => return None,
            }
        }
    }

    /// A plain non-negative integer (no sign, fraction or exponent) that fits easily in a u64.
    #[inline(always)]
    fn small_uint(&mut self) -> Option<u64> {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = self.b.get(start..self.i)?;
        if digits.is_empty()
            || digits.len() > 18
            || (digits.len() > 1 && digits.first() == Some(&b'0'))
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        Some(
            digits
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
        )
    }

    /// A known integer field (`wave`, …): `null`, a plain integer, a string or a boolean.
    #[inline(always)]
    fn uint(&mut self) -> Option<Option<UintLike>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true").map(|()| Some(UintLike(None))),
            b'f' => self.literal(b"false").map(|()| Some(UintLike(None))),
            b'"' => Some(Some(UintLike(uint_from_text(&self.string()?)))),
            b'0'..=b'9' => Some(Some(UintLike(Some(self.small_uint()?)))),
            _ => None,
        }
    }

    /// A known boolean field: `null`, `true`, `false`, a plain integer or a spelling as text.
    #[inline(always)]
    fn boolean(&mut self) -> Option<Option<BoolLike>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b't' => self.literal(b"true").map(|()| Some(BoolLike(Some(true)))),
            b'f' => self.literal(b"false").map(|()| Some(BoolLike(Some(false)))),
            b'"' => Some(Some(BoolLike(bool_from_text(&self.string()?)))),
            b'0'..=b'9' => Some(Some(BoolLike(Some(self.small_uint()? != 0)))),
            _ => None,
        }
    }

    /// Skips any JSON value, with the usual scalars (a string, `null`) read inline.
    #[inline(always)]
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'n' => self.literal(b"null"),
            _ => {
                // On a copy, so that the cursor of the caller stays in a register.
                let mut copy = *self;
                copy.skip_value(1)?;
                self.i = copy.i;
                Some(())
            }
        }
    }

    /// Skips a JSON number, checking its grammar.
    #[inline(always)]
    fn skip_number(&mut self) -> Option<()> {
        let digits = |p: &mut Self| {
            let start = p.i;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            (p.i > start).then_some(())
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => digits(self)?,
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            digits(self)?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self)?;
        }
        Some(())
    }

    /// Skips any JSON value (an unknown field's), checking its grammar.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            b'[' if depth < MAX_DEPTH => {
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'{' if depth < MAX_DEPTH => {
                self.i += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }
}

/// What the parser does with a key's value: one of the wire struct's fields, or skip it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Kind,
    Lane,
    Wave,
    AgentId,
    Targets,
    Status,
    Priority,
    Blocking,
    BlockerSeverity,
    ArtifactRefs,
    DependsOn,
    ClosureCondition,
    CreatedAt,
    UpdatedAt,
    Summary,
    Detail,
    Source,
    RequesterLane,
    OwnerLane,
    RequesterWave,
    OwnerWave,
    Required,
    /// A field the reducer does not read: its value is checked and skipped.
    Skip,
}

/// A key as it appears on the wire, `"name":`, packed into little-endian words with a mask of
/// its bytes, so matching it at the cursor is a few word compares.
#[derive(Debug, Clone, Copy)]
struct Key {
    name: &'static [u8],
    field: Field,
    /// Bytes of `"name":`.
    len: usize,
    /// `"name":`, padded with zeros.
    bytes: [u8; 24],
    words: [u64; 3],
    masks: [u64; 3],
}

impl Key {
    const fn new(name: &'static [u8], field: Field) -> Key {
        let len = name.len() + 3;
        assert!(len <= 24, "a wire key longer than three words");
        let mut bytes = [0u8; 24];
        bytes[0] = b'"';
        let mut i = 0;
        while i < name.len() {
            bytes[i + 1] = name[i];
            i += 1;
        }
        bytes[len - 2] = b'"';
        bytes[len - 1] = b':';
        let mut words = [0u64; 3];
        let mut masks = [0u64; 3];
        let mut i = 0;
        while i < len {
            words[i / 8] |= (bytes[i] as u64) << (8 * (i % 8));
            masks[i / 8] |= 0xff << (8 * (i % 8));
            i += 1;
        }
        Key {
            name,
            field,
            len,
            bytes,
            words,
            masks,
        }
    }

    /// Whether `"name":` starts at byte `at` of `b`: a compare of whole words where the line
    /// holds them, byte by byte near its end.
    #[inline(always)]
    fn at(&self, b: &[u8], at: usize) -> bool {
        let words = self.len.div_ceil(8);
        let Some(bytes) = at.checked_add(8 * words).and_then(|end| b.get(at..end)) else {
            // Near the end of the line: byte by byte.
            return at
                .checked_add(self.len)
                .and_then(|end| b.get(at..end))
                .is_some_and(|key| self.bytes.get(..self.len) == Some(key));
        };
        let mut differ = 0;
        for (k, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let (Some(p), Some(m)) = (self.words.get(k), self.masks.get(k)) else {
                return false;
            };
            differ |= (u64::from_le_bytes(word) ^ p) & m;
        }
        differ == 0
    }
}

/// The keys in the order writers put them (the store's envelope, then the record fields in
/// the wire order of `docs/event-format.md`), fields the reducer does not read included. The
/// parser expects each key to follow the one before it, so a line in this order costs one key
/// compare per field; a key out of order is looked up in the table, and the expectation goes
/// on from there.
const WIRE: [Key; 33] = [
    Key::new(b"writer", Field::Skip),
    Key::new(b"seq", Field::Skip),
    Key::new(b"at", Field::Skip),
    Key::new(b"recordVersion", Field::Skip),
    Key::new(b"id", Field::Id),
    Key::new(b"kind", Field::Kind),
    Key::new(b"wave", Field::Wave),
    Key::new(b"lane", Field::Lane),
    Key::new(b"agentId", Field::AgentId),
    Key::new(b"targets", Field::Targets),
    Key::new(b"status", Field::Status),
    Key::new(b"priority", Field::Priority),
    Key::new(b"blocking", Field::Blocking),
    Key::new(b"blockerSeverity", Field::BlockerSeverity),
    Key::new(b"artifactRefs", Field::ArtifactRefs),
    Key::new(b"dependsOn", Field::DependsOn),
    Key::new(b"closureCondition", Field::ClosureCondition),
    Key::new(b"createdAt", Field::CreatedAt),
    Key::new(b"updatedAt", Field::UpdatedAt),
    Key::new(b"confidence", Field::Skip),
    Key::new(b"summary", Field::Summary),
    Key::new(b"detail", Field::Detail),
    Key::new(b"attempt", Field::Skip),
    Key::new(b"source", Field::Source),
    Key::new(b"executorId", Field::Skip),
    Key::new(b"project", Field::Skip),
    Key::new(b"requesterLane", Field::RequesterLane),
    Key::new(b"ownerLane", Field::OwnerLane),
    Key::new(b"requesterProject", Field::Skip),
    Key::new(b"ownerProject", Field::Skip),
    Key::new(b"requesterWave", Field::RequesterWave),
    Key::new(b"ownerWave", Field::OwnerWave),
    Key::new(b"required", Field::Required),
];

/// The place of a key (read without escapes) in [`WIRE`].
fn wire_index(key: &[u8]) -> Option<usize> {
    WIRE.iter().position(|k| k.name == key)
}

/// Sets a known field once; a second occurrence is serde's error to report.
#[inline(always)]
fn once<T>(slot: &mut Option<T>, seen: &mut u32, bit: u32, value: Option<T>) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    *slot = value;
    Some(())
}

/// Parses one line into the wire struct, or `None` when the line needs the general parser.
pub(super) fn parse(line: &str) -> Option<Raw<'_>> {
    compact(line).or_else(|| {
        let mut raw = Raw::default();
        keyed(line, &mut raw).map(|()| raw)
    })
}

/// The line as writers write it: every record field in the wire order ([`WIRE`], after the
/// store's envelope when there is one), no whitespace. Straight-line code, one key compare per
/// field; `None` for anything else, which [`keyed`] then reads from the start.
fn compact(line: &str) -> Option<Raw<'_>> {
    let mut p = Parser {
        text: line,
        b: line.as_bytes(),
        i: 0,
    };
    p.eat(b'{')?;
    macro_rules! field {
        ($at:expr, $value:expr) => {{
            let key = WIRE.get($at)?;
            if !key.at(p.b, p.i) {
                return None;
            }
            p.i += key.len;
            let value = $value;
            p.eat(if $at + 1 == WIRE.len() { b'}' } else { b',' })?;
            value
        }};
    }
    if WIRE.first()?.at(p.b, p.i) {
        field!(0, p.skip_scalar()?);
        field!(1, p.skip_scalar()?);
        field!(2, p.skip_scalar()?);
    }
    field!(3, p.skip_scalar()?);
    let id = field!(4, p.text()?);
    let kind = field!(5, p.text()?);
    let wave = field!(6, p.uint()?);
    let lane = field!(7, p.text()?);
    let agent_id = field!(8, p.text()?);
    let targets = field!(9, p.list()?);
    let status = field!(10, p.text()?);
    let priority = field!(11, p.text()?);
    let blocking = field!(12, p.boolean()?);
    let blocker_severity = field!(13, p.text()?);
    let artifact_refs = field!(14, p.list()?);
    let depends_on = field!(15, p.list()?);
    let closure_condition = field!(16, p.text()?);
    let created_at = field!(17, p.text()?);
    let updated_at = field!(18, p.text()?);
    field!(19, p.skip_scalar()?);
    let summary = field!(20, p.text()?);
    let detail = field!(21, p.text()?);
    field!(22, p.skip_scalar()?);
    let source = field!(23, p.text()?);
    field!(24, p.skip_scalar()?);
    field!(25, p.skip_scalar()?);
    let requester_lane = field!(26, p.text()?);
    let owner_lane = field!(27, p.text()?);
    field!(28, p.skip_scalar()?);
    field!(29, p.skip_scalar()?);
    let requester_wave = field!(30, p.uint()?);
    let owner_wave = field!(31, p.uint()?);
    let required = field!(32, p.boolean()?);
    (p.i == p.b.len()).then_some(Raw {
        id,
        kind,
        lane,
        wave,
        agent_id,
        targets,
        status,
        priority,
        blocking,
        blocker_severity,
        artifact_refs,
        depends_on,
        closure_condition,
        created_at,
        updated_at,
        summary,
        detail,
        source,
        requester_lane,
        owner_lane,
        requester_wave,
        owner_wave,
        required,
    })
}

/// Any line: keys in any order, whitespace between tokens. Keys are still expected in the wire
/// order, each checked with one compare before it is looked up.
fn keyed<'a>(line: &'a str, raw: &mut Raw<'a>) -> Option<()> {
    let mut p = Parser {
        text: line,
        b: line.as_bytes(),
        i: 0,
    };
    let mut seen = 0u32;
    // The index in `WIRE` of the key expected next.
    let mut next = 0;
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.eat(b'}').is_none() {
        loop {
            let field = match WIRE.get(next) {
                Some(k) if k.at(p.b, p.i) => {
                    p.i += k.len;
                    next += 1;
                    k.field
                }
                _ => {
                    if p.peek()? != b'"' {
                        return None;
                    }
                    let key = p.key()?;
                    p.ws();
                    p.eat(b':')?;
                    match wire_index(key) {
                        Some(at) => {
                            next = at + 1;
                            WIRE.get(at).map_or(Field::Skip, |k| k.field)
                        }
                        None => Field::Skip,
                    }
                }
            };
            p.ws();
            let s = &mut seen;
            let r = &mut *raw;
            match field {
                Field::Id => once(&mut r.id, s, 1, p.text()?)?,
                Field::Kind => once(&mut r.kind, s, 1 << 1, p.text()?)?,
                Field::Lane => once(&mut r.lane, s, 1 << 2, p.text()?)?,
                Field::Wave => once(&mut r.wave, s, 1 << 3, p.uint()?)?,
                Field::AgentId => once(&mut r.agent_id, s, 1 << 4, p.text()?)?,
                Field::Targets => once(&mut r.targets, s, 1 << 5, p.list()?)?,
                Field::Status => once(&mut r.status, s, 1 << 6, p.text()?)?,
                Field::Priority => once(&mut r.priority, s, 1 << 7, p.text()?)?,
                Field::Blocking => once(&mut r.blocking, s, 1 << 8, p.boolean()?)?,
                Field::BlockerSeverity => once(&mut r.blocker_severity, s, 1 << 9, p.text()?)?,
                Field::ArtifactRefs => once(&mut r.artifact_refs, s, 1 << 10, p.list()?)?,
                Field::DependsOn => once(&mut r.depends_on, s, 1 << 11, p.list()?)?,
                Field::ClosureCondition => once(&mut r.closure_condition, s, 1 << 12, p.text()?)?,
                Field::CreatedAt => once(&mut r.created_at, s, 1 << 13, p.text()?)?,
                Field::UpdatedAt => once(&mut r.updated_at, s, 1 << 14, p.text()?)?,
                Field::Summary => once(&mut r.summary, s, 1 << 15, p.text()?)?,
                Field::Detail => once(&mut r.detail, s, 1 << 16, p.text()?)?,
                Field::Source => once(&mut r.source, s, 1 << 17, p.text()?)?,
                Field::RequesterLane => once(&mut r.requester_lane, s, 1 << 18, p.text()?)?,
                Field::OwnerLane => once(&mut r.owner_lane, s, 1 << 19, p.text()?)?,
                Field::RequesterWave => once(&mut r.requester_wave, s, 1 << 20, p.uint()?)?,
                Field::OwnerWave => once(&mut r.owner_wave, s, 1 << 21, p.uint()?)?,
                Field::Required => once(&mut r.required, s, 1 << 22, p.boolean()?)?,
                Field::Skip => p.skip_scalar()?,
            }
            p.ws();
            match p.peek()? {
                b',' => {
                    p.i += 1;
                    p.ws();
                }
                b'}' => {
                    p.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    p.ws();
    (p.i == p.b.len()).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// String contents as they may appear between quotes: plain text, unicode, every escape
    /// form (valid or not), raw control characters.
    fn string_body() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9 :._-]{0,12}",
            1 => Just("é✓ 🚀".to_owned()),
            1 => prop::sample::select(vec![
                "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\\u0041",
                "\\ud83d\\ude00", "\\ud800", "\\x", "\u{1}", "\t", " ",
            ])
            .prop_map(str::to_owned),
        ];
        prop::collection::vec(piece, 0..4).prop_map(|p| p.concat())
    }

    fn json_string() -> impl Strategy<Value = String> {
        string_body().prop_map(|b| format!("\"{b}\""))
    }

    fn number() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u64..100).prop_map(|n| n.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("123456789012345678".to_owned()),
            prop::sample::select(vec![
                "-1", "0", "01", "1.5", "-0.0", "2e3", "1E+2", "1.", "-", "1e"
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => json_string(),
            2 => number(),
            1 => prop::sample::select(vec!["true", "false", "null", "tru", "nul"]).prop_map(str::to_owned),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        scalar().prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((json_string(), inner), 0..3).prop_map(|v| {
                    let fields: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "id", "kind", "lane", "wave", "agentId", "targets", "status", "priority",
                "blocking", "blockerSeverity", "artifactRefs", "dependsOn", "closureCondition",
                "createdAt", "updatedAt", "summary", "detail", "source", "requesterLane",
                "ownerLane", "requesterWave", "ownerWave", "required",
            ])
            .prop_map(|k| format!("\"{k}\"")),
            1 => prop::sample::select(vec!["recordVersion", "attempt", "confidence", "x", "i\\u0064", "Id"])
                .prop_map(|k| format!("\"{k}\"")),
        ]
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", "", " ", "\t", "\r\n "])
    }

    fn line() -> impl Strategy<Value = String> {
        let field = (key(), ws(), ws(), value(), ws());
        (
            prop::collection::vec(field, 0..10),
            ws(),
            any::<u8>(),
            any::<u16>(),
        )
            .prop_map(|(fields, pad, damage, at)| {
                let body: Vec<String> = fields
                    .into_iter()
                    .map(|(k, a, b, v, c)| format!("{a}{k}{b}:{c}{v}{a}"))
                    .collect();
                let mut line = format!("{pad}{{{}}}{pad}", body.join(","));
                // Now and then, damage the line: cut it short or drop in a stray byte.
                match damage % 16 {
                    0 => {
                        line.truncate(line.floor_char_boundary(usize::from(at) % (line.len() + 1)))
                    }
                    1 => line.insert(
                        line.floor_char_boundary(usize::from(at) % (line.len() + 1)),
                        ',',
                    ),
                    _ => {}
                }
                line
            })
    }

    /// A value for a key of the wire order: of the field's own type most of the time (`plain`
    /// keeps to the shapes the compact path must accept), any value now and then.
    fn wire_value(field: Field, plain: bool) -> BoxedStrategy<String> {
        let text = "[a-zA-Z0-9 :._-]{0,30}".prop_map(|t| format!("\"{t}\""));
        let typed: BoxedStrategy<String> = match field {
            Field::Targets | Field::ArtifactRefs | Field::DependsOn => prop_oneof![
                Just("[]".to_owned()),
                text.clone().prop_map(|t| format!("[{t}]")),
                (text.clone(), text.clone()).prop_map(|(a, b)| format!("[{a},{b},{a}]")),
                Just("null".to_owned()),
            ]
            .boxed(),
            Field::Wave | Field::RequesterWave | Field::OwnerWave => prop_oneof![
                (0u64..100).prop_map(|n| n.to_string()),
                Just("null".to_owned()),
                Just("\"7\"".to_owned()),
                Just("true".to_owned()),
            ]
            .boxed(),
            Field::Blocking | Field::Required => {
                prop::sample::select(vec!["true", "false", "null", "\"yes\"", "0", "1"])
                    .prop_map(str::to_owned)
                    .boxed()
            }
            Field::Skip => prop_oneof![
                text.clone(),
                Just("null".to_owned()),
                (0u64..100).prop_map(|n| n.to_string()),
                Just("-2.5e3".to_owned()),
            ]
            .boxed(),
            _ => prop_oneof![3 => text, 1 => Just("null".to_owned())].boxed(),
        };
        if plain {
            typed
        } else {
            prop_oneof![6 => typed, 1 => value()].boxed()
        }
    }

    /// Every key of the wire order with a value, with or without the envelope.
    fn wire_fields(plain: bool) -> impl Strategy<Value = Vec<(String, String)>> {
        let fields: Vec<_> = WIRE
            .iter()
            .map(|k| {
                let name = String::from_utf8_lossy(k.name).into_owned();
                wire_value(k.field, plain).prop_map(move |v| (format!("\"{name}\""), v))
            })
            .collect();
        (fields, any::<bool>()).prop_map(|(mut fields, envelope)| {
            if !envelope {
                fields.drain(..3);
            }
            fields
        })
    }

    fn join(fields: &[(String, String)]) -> String {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("{{{}}}", body.join(","))
    }

    /// A line in the wire order, now and then out of it: a key dropped, two swapped, one
    /// repeated, whitespace or a stray byte added, the line cut short.
    fn wire_line() -> impl Strategy<Value = String> {
        (wire_fields(false), any::<u8>(), any::<u16>()).prop_map(|(mut fields, damage, at)| {
            let k = usize::from(at) % fields.len();
            match damage % 12 {
                0 => {
                    fields.remove(k);
                }
                1 if k + 1 < fields.len() => fields.swap(k, k + 1),
                2 => {
                    let again = fields[k].clone();
                    fields.push(again);
                }
                3 => fields[k].1.insert(0, ' '),
                4 => fields[k].0.push(' '),
                _ => {}
            }
            let mut line = join(&fields);
            match damage % 12 {
                5 => line.truncate(line.floor_char_boundary(usize::from(at) % (line.len() + 1))),
                6 => line.insert(
                    line.floor_char_boundary(usize::from(at) % (line.len() + 1)),
                    '"',
                ),
                7 => line.push(' '),
                _ => {}
            }
            line
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the fast path accepts of a line in (or near) the wire order, serde reads the
        /// same way.
        #[test]
        fn wire_order_agrees_with_serde(line in wire_line()) {
            if let Some(fast) = parse(&line) {
                prop_assert_eq!(Some(fast), serde(&line), "{}", line);
            }
        }

        /// A line in the wire order with values of their fields' types takes the
        /// straight-line path.
        #[test]
        fn wire_order_takes_the_compact_path(fields in wire_fields(true)) {
            let line = join(&fields);
            let fast = compact(&line);
            prop_assert!(fast.is_some(), "{}", line);
            prop_assert_eq!(fast, serde(&line), "{}", line);
        }

        /// Whatever the fast path accepts, serde reads the same way.
        #[test]
        fn agrees_with_serde(line in line()) {
            if let Some(fast) = parse(&line) {
                prop_assert_eq!(Some(fast), serde(&line), "{}", line);
            }
        }

        /// Lines in the shape the runtime writes always take the fast path.
        #[test]
        fn plain_records_take_the_fast_path(
            id in "[a-z0-9-]{1,12}",
            summary in string_body().prop_filter("simple escapes only", |s| !s.contains("\\u") && !s.contains("\\x") && !s.contains('\u{1}') && !s.contains('\t')),
            wave in 0u64..1000,
            blocking in any::<bool>(),
        ) {
            let line = format!(
                r#"{{"recordVersion":1,"id":"{id}","kind":"request","wave":{wave},"lane":"main","agentId":"A1","targets":["agent:A2"],"blocking":{blocking},"summary":"{summary}","attempt":null,"dependsOn":[]}}"#
            );
            let fast = parse(&line);
            prop_assert!(fast.is_some(), "{}", line);
            prop_assert_eq!(fast, serde(&line));
        }
    }

    fn serde(line: &str) -> Option<Raw<'_>> {
        serde_json::from_str(line).ok()
    }

    #[test]
    fn reads_what_serde_reads() {
        for line in [
            r#"{"id":"a","kind":"request","wave":0,"targets":["agent:A1"],"blocking":true,"x":[1,{"y":-2.5e3}],"attempt":null}"#,
            r#" { "id" : "a\"b\\c\/d\n" , "wave" : "7" , "blocking" : "yes" , "required" : 0 } "#,
            r#"{"wave":true,"requesterWave":12,"ownerWave":null,"dependsOn":[ ],"artifactRefs":null}"#,
            r#"{"summary":"héllo ✓","detail":"","u":"é\t"}"#,
            "{}",
        ] {
            let fast = parse(line).unwrap_or_else(|| panic!("fast path for {line}"));
            assert_eq!(Some(fast), serde(line), "{line}");
        }
    }

    #[test]
    fn leaves_the_unusual_to_serde() {
        for line in [
            r#"{"id":"a","id":"b"}"#,
            r#"{"id":1}"#,
            r#"{"i\u0064":"a"}"#,
            r#"{"id":"\u0041"}"#,
            "{\"id\":\"a\u{1}\"}",
            r#"{"wave":1.0}"#,
            r#"{"wave":-1}"#,
            r#"{"wave":01}"#,
            r#"{"wave":12345678901234567890}"#,
            r#"{"targets":["a",1]}"#,
            r#"{"x":01}"#,
            r#"{"x":[1,]}"#,
            r#"{"id":"a",}"#,
            r#"{"id":"a"} x"#,
            r#"{"id":"a""#,
            r#"{"x":tru}"#,
            "",
            "[]",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
    }
}
