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

use std::borrow::Cow;

use super::record::{BoolLike, Raw, Text, UintLike, bool_from_text, uint_from_text};

/// Nesting deeper than this in an unknown field is left to serde (which has its own limit).
const MAX_DEPTH: usize = 64;

/// Eight copies of a byte.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of each byte of `w` that is a quote, a backslash or a control character; the
/// lowest set bit marks the first such byte exactly (higher ones may be false alarms).
fn special(w: u64) -> u64 {
    let q = w ^ splat(b'"');
    let s = w ^ splat(b'\\');
    let zero = |v: u64| v.wrapping_sub(splat(1)) & !v;
    (zero(q) | zero(s) | (w.wrapping_sub(splat(0x20)) & !w)) & splat(0x80)
}

/// The index of the first byte at or after `from` that a JSON string cannot hold as it is: a
/// quote, a backslash or a control character. Reads eight bytes at a time.
pub(crate) fn next_special(b: &[u8], mut from: usize) -> Option<usize> {
    loop {
        match b.get(from..from + 8) {
            Some(chunk) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(chunk);
                let hits = special(u64::from_le_bytes(word));
                if hits == 0 {
                    from += 8;
                    continue;
                }
                return Some(from + (hits.trailing_zeros() / 8) as usize);
            }
            None => {
                let rest = b.get(from..)?;
                return rest
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                    .map(|p| from + p);
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i.checked_add(word.len())?;
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    fn next_special(&self, from: usize) -> Option<usize> {
        next_special(self.b, from)
    }

    /// A string at the cursor (on its opening quote), borrowed when it has no escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.i;
        let mut at = self.next_special(start)?;
        if self.b.get(at) == Some(&b'"') {
            self.i = at + 1;
            return Some(Cow::Borrowed(self.text.get(start..at)?));
        }
        let mut owned = String::new();
        let mut run = start;
        loop {
            match *self.b.get(at)? {
                b'"' => {
                    owned.push_str(self.text.get(run..at)?);
                    self.i = at + 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    owned.push_str(self.text.get(run..at)?);
                    owned.push(match *self.b.get(at + 1)? {
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
                    at = self.next_special(run)?;
                }
                // A raw control character.
                _ => return None,
            }
        }
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
    #[inline]
    fn text(&mut self) -> Option<Option<Text<'a>>> {
        match self.peek()? {
            b'"' => Some(Some(Text(self.string()?))),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// A known list field: an array of strings or `null`.
    fn list(&mut self) -> Option<Option<Vec<Text<'a>>>> {
        match self.peek()? {
            b'n' => return self.literal(b"null").map(|()| None),
            b'[' => self.i += 1,
            _ => return None,
        }
        let mut out = Vec::new();
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

    /// Skips a JSON number, checking its grammar.
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
            b'"' => self.string().map(drop),
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

/// The wire struct's fields.
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
}

/// The field a key names, found by length first (a record has some thirty keys).
fn field(key: &[u8]) -> Option<Field> {
    let named = |name: &[u8], f: Field| (key == name).then_some(f);
    match key.len() {
        2 => named(b"id", Field::Id),
        4 => match key.first()? {
            b'k' => named(b"kind", Field::Kind),
            b'l' => named(b"lane", Field::Lane),
            _ => named(b"wave", Field::Wave),
        },
        6 => match key.first()? {
            b's' => named(b"status", Field::Status).or_else(|| named(b"source", Field::Source)),
            _ => named(b"detail", Field::Detail),
        },
        7 => match key.first()? {
            b'a' => named(b"agentId", Field::AgentId),
            b't' => named(b"targets", Field::Targets),
            _ => named(b"summary", Field::Summary),
        },
        8 => match key.first()? {
            b'p' => named(b"priority", Field::Priority),
            b'b' => named(b"blocking", Field::Blocking),
            _ => named(b"required", Field::Required),
        },
        9 => match key.first()? {
            b'd' => named(b"dependsOn", Field::DependsOn),
            b'c' => named(b"createdAt", Field::CreatedAt),
            b'u' => named(b"updatedAt", Field::UpdatedAt),
            b'o' => named(b"ownerLane", Field::OwnerLane)
                .or_else(|| named(b"ownerWave", Field::OwnerWave)),
            _ => None,
        },
        12 => named(b"artifactRefs", Field::ArtifactRefs),
        13 => named(b"requesterLane", Field::RequesterLane)
            .or_else(|| named(b"requesterWave", Field::RequesterWave)),
        15 => named(b"blockerSeverity", Field::BlockerSeverity),
        16 => named(b"closureCondition", Field::ClosureCondition),
        _ => None,
    }
}

/// Sets a known field once; a second occurrence is serde's error to report.
#[inline]
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
    let mut p = Parser {
        text: line,
        b: line.as_bytes(),
        i: 0,
    };
    let mut raw = Raw::default();
    let mut seen = 0u32;
    p.ws();
    p.eat(b'{')?;
    p.ws();
    if p.eat(b'}').is_none() {
        loop {
            if p.peek()? != b'"' {
                return None;
            }
            let key = p.key()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            let s = &mut seen;
            let r = &mut raw;
            match field(key) {
                Some(Field::Id) => once(&mut r.id, s, 1, p.text()?)?,
                Some(Field::Kind) => once(&mut r.kind, s, 1 << 1, p.text()?)?,
                Some(Field::Lane) => once(&mut r.lane, s, 1 << 2, p.text()?)?,
                Some(Field::Wave) => once(&mut r.wave, s, 1 << 3, p.uint()?)?,
                Some(Field::AgentId) => once(&mut r.agent_id, s, 1 << 4, p.text()?)?,
                Some(Field::Targets) => once(&mut r.targets, s, 1 << 5, p.list()?)?,
                Some(Field::Status) => once(&mut r.status, s, 1 << 6, p.text()?)?,
                Some(Field::Priority) => once(&mut r.priority, s, 1 << 7, p.text()?)?,
                Some(Field::Blocking) => once(&mut r.blocking, s, 1 << 8, p.boolean()?)?,
                Some(Field::BlockerSeverity) => {
                    once(&mut r.blocker_severity, s, 1 << 9, p.text()?)?
                }
                Some(Field::ArtifactRefs) => once(&mut r.artifact_refs, s, 1 << 10, p.list()?)?,
                Some(Field::DependsOn) => once(&mut r.depends_on, s, 1 << 11, p.list()?)?,
                Some(Field::ClosureCondition) => {
                    once(&mut r.closure_condition, s, 1 << 12, p.text()?)?
                }
                Some(Field::CreatedAt) => once(&mut r.created_at, s, 1 << 13, p.text()?)?,
                Some(Field::UpdatedAt) => once(&mut r.updated_at, s, 1 << 14, p.text()?)?,
                Some(Field::Summary) => once(&mut r.summary, s, 1 << 15, p.text()?)?,
                Some(Field::Detail) => once(&mut r.detail, s, 1 << 16, p.text()?)?,
                Some(Field::Source) => once(&mut r.source, s, 1 << 17, p.text()?)?,
                Some(Field::RequesterLane) => once(&mut r.requester_lane, s, 1 << 18, p.text()?)?,
                Some(Field::OwnerLane) => once(&mut r.owner_lane, s, 1 << 19, p.text()?)?,
                Some(Field::RequesterWave) => once(&mut r.requester_wave, s, 1 << 20, p.uint()?)?,
                Some(Field::OwnerWave) => once(&mut r.owner_wave, s, 1 << 21, p.uint()?)?,
                Some(Field::Required) => once(&mut r.required, s, 1 << 22, p.boolean()?)?,
                None => p.skip_value(1)?,
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
    (p.i == p.b.len()).then_some(raw)
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

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
