//! The reducer's view of a coordination record and the streaming last-record-per-id fold.
//!
//! The fold keeps one entry per distinct id: the winning record under upstream's order (sort by
//! `(updatedAt, id)`, stable, so among equal times the later arrival wins), with `createdAt` taken
//! from the id's first record in that order. Records are folded one at a time, so memory follows
//! the number of distinct ids, never the length of the log; folding the same sequence in one pass
//! or in pieces gives the same state, and a record delivered twice changes nothing.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Maps on the fold's hot path hash with foldhash: the keys are ids and line positions from the
/// wave's own logs, and SipHash cost a tenth of the fold.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A set hashed like [`FastMap`].
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

use std::sync::Arc;

use compact_str::CompactString;
use serde::Deserialize;

use crate::engine::coordination;
use crate::event::coordination::{
    BlockerSeverity, Kind, MinuteCache, Priority, Status, default_severity, timestamp_millis,
};

/// A coordination record, normalized, with the fields the reducer reads.
///
/// Text of up to 24 bytes (ids, wire timestamps, lanes of tickets) is held inline, and lists of
/// none or one item take no allocation: a usual record allocates for its summary and detail
/// only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordRecord {
    /// Record id.
    pub id: CompactString,
    /// Kind.
    pub kind: Kind,
    /// Lane.
    pub lane: Arc<str>,
    /// Wave.
    pub wave: Option<u64>,
    /// Author.
    pub agent_id: Arc<str>,
    /// Targets (`agent:<id>`, `capability:<cap>`, bare ids).
    pub targets: TextList,
    /// Status.
    pub status: Status,
    /// Priority.
    pub priority: Priority,
    /// Whether it may block the wave.
    pub blocking: bool,
    /// Blocker severity.
    pub blocker_severity: BlockerSeverity,
    /// Artifact references.
    pub artifact_refs: TextList,
    /// Ids it depends on.
    pub depends_on: TextList,
    /// Closure condition (`clarification:<id>`, `required=true`, …).
    pub closure_condition: CompactString,
    /// Creation time (from the id's first record).
    pub created_at: CompactString,
    /// Last update time.
    pub updated_at: CompactString,
    /// Summary.
    pub summary: CompactString,
    /// Detail.
    pub detail: CompactString,
    /// Source (`launcher`, `agent`, `feedback`, …).
    pub source: Arc<str>,
    /// Requesting lane (dependency tickets).
    pub requester_lane: CompactString,
    /// Owning lane (dependency tickets).
    pub owner_lane: CompactString,
    /// Requesting wave (dependency tickets).
    pub requester_wave: Option<u64>,
    /// Owning wave (dependency tickets).
    pub owner_wave: Option<u64>,
    /// Whether the ticket is required.
    pub required: bool,
}

/// A record's list of texts (artifact references, dependencies), read as a slice. A list of
/// none or one item, the usual one, takes no allocation beyond its item's.
#[derive(Clone, Default)]
pub struct TextList(Items);

/// [`TextList`]'s storage: a list of two or more items is boxed, never a shorter one.
#[derive(Clone, Default)]
enum Items {
    #[default]
    Empty,
    One(Box<str>),
    Many(Box<[Box<str>]>),
}

impl TextList {
    /// A list of one item.
    pub fn one(item: impl Into<Box<str>>) -> Self {
        TextList(Items::One(item.into()))
    }
}

impl std::ops::Deref for TextList {
    type Target = [Box<str>];
    fn deref(&self) -> &[Box<str>] {
        match &self.0 {
            Items::Empty => &[],
            Items::One(item) => std::slice::from_ref(item),
            Items::Many(items) => items,
        }
    }
}

impl From<Vec<Box<str>>> for TextList {
    fn from(mut items: Vec<Box<str>>) -> Self {
        TextList(match items.len() {
            0 => Items::Empty,
            1 => items.pop().map_or(Items::Empty, Items::One),
            _ => Items::Many(items.into_boxed_slice()),
        })
    }
}

impl<T: Into<Box<str>>> FromIterator<T> for TextList {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        iter.into_iter()
            .map(Into::into)
            .collect::<Vec<Box<str>>>()
            .into()
    }
}

impl PartialEq for TextList {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for TextList {}

impl std::fmt::Debug for TextList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a TextList {
    type Item = &'a Box<str>;
    type IntoIter = std::slice::Iter<'a, Box<str>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Why a coordination line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not a JSON object with the expected field types.
    #[error("not a valid coordination record ({message}); fix or delete the line")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// A required field is missing.
    #[error("coordination record field `{field}` is required")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// A field holds a value outside its set.
    #[error("coordination record field `{field}` has unknown value `{value}`")]
    Invalid {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
    },
}

/// A boolean that also accepts upstream's spellings (`yes`, `1`, `off`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BoolLike(pub(super) Option<bool>);

/// A non-negative integer that may be written as a number or as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UintLike(pub(super) Option<u64>);

/// A boolean's upstream spellings as text.
pub(super) fn bool_from_text(t: &str) -> Option<bool> {
    match t.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Some(true),
        "false" | "0" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// A non-negative integer written as text.
pub(super) fn uint_from_text(t: &str) -> Option<u64> {
    t.trim().parse().ok()
}

/// Reads a scalar of any JSON type straight from the parser (no buffering, unlike an untagged
/// enum), mapping it with the given functions; arrays and objects are errors.
struct Loose<T> {
    from_bool: fn(bool) -> Option<T>,
    from_u64: fn(u64) -> Option<T>,
    from_i64: fn(i64) -> Option<T>,
    from_f64: fn(f64) -> Option<T>,
    from_str: fn(&str) -> Option<T>,
}

impl<'de, T> serde::de::Visitor<'de> for Loose<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a boolean, number, string or null")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok((self.from_bool)(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok((self.from_u64)(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok((self.from_i64)(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok((self.from_f64)(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.from_str)(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> Deserialize<'de> for BoolLike {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Loose {
            from_bool: Some,
            from_u64: |n| Some(n != 0),
            from_i64: |n| Some(n != 0),
            from_f64: |n| Some(n != 0.0),
            from_str: bool_from_text,
        })
        .map(BoolLike)
    }
}

impl<'de> Deserialize<'de> for UintLike {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Loose {
            from_bool: |_| None,
            from_u64: Some,
            from_i64: |n| u64::try_from(n).ok(),
            from_f64: |n| (n >= 0.0).then(|| n.trunc() as u64),
            from_str: uint_from_text,
        })
        .map(UintLike)
    }
}

/// The wire form, borrowed from the line where possible. Unknown fields are ignored here; the
/// coordination log keeps them.
/// A string field borrowed from the line unless it holds escapes (`Option<Cow<str>>` with
/// serde's `borrow` would always copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A list field of the wire struct, its first item apart, so that the usual list of none or
/// one item is read without an allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Texts<'a> {
    first: Option<Text<'a>>,
    rest: Vec<Text<'a>>,
}

impl<'a> Texts<'a> {
    /// Appends an item.
    pub(super) fn push(&mut self, item: Text<'a>) {
        match self.first {
            None => self.first = Some(item),
            Some(_) => self.rest.push(item),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Text<'a>> {
        self.first.iter().chain(&self.rest)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Texts<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Texts::default();
                while let Some(item) = seq.next_element::<Text<'a>>()? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Raw<'a> {
    #[serde(borrow, default)]
    pub(super) id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) lane: Option<Text<'a>>,
    #[serde(default)]
    pub(super) wave: Option<UintLike>,
    #[serde(borrow, default)]
    pub(super) agent_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) targets: Option<Texts<'a>>,
    #[serde(borrow, default)]
    pub(super) status: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) priority: Option<Text<'a>>,
    #[serde(default)]
    pub(super) blocking: Option<BoolLike>,
    #[serde(borrow, default)]
    pub(super) blocker_severity: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) artifact_refs: Option<Texts<'a>>,
    #[serde(borrow, default)]
    pub(super) depends_on: Option<Texts<'a>>,
    #[serde(borrow, default)]
    pub(super) closure_condition: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) created_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) updated_at: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) summary: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) detail: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) source: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) requester_lane: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) owner_lane: Option<Text<'a>>,
    #[serde(default)]
    pub(super) requester_wave: Option<UintLike>,
    #[serde(default)]
    pub(super) owner_wave: Option<UintLike>,
    #[serde(default)]
    pub(super) required: Option<BoolLike>,
}

/// `text` without surrounding whitespace ([`str::trim`]), with no work for the usual text that
/// starts and ends with a visible ASCII character.
fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|&c| c > b' ' && c < 0x7f);
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

/// A field's text, trimmed, borrowed from the parsed line.
fn text<'r>(value: &'r Option<Text<'_>>) -> &'r str {
    value.as_ref().map_or("", |t| trim(&t.0))
}

/// A field's trimmed text, owned (held inline up to 24 bytes).
fn owned(value: &Option<Text<'_>>) -> CompactString {
    match text(value) {
        "" => CompactString::const_new(""),
        t => CompactString::new(t),
    }
}

/// Parses a closed set of lower-case spellings, accepting any case.
fn parse_any_case<T>(value: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    parse(value).or_else(|| {
        value
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| parse(&value.to_ascii_lowercase()))
            .flatten()
    })
}

/// A list field's items, trimmed, without blanks and repeats.
fn items(values: &Option<Texts<'_>>) -> Box<[Box<str>]> {
    let Some(values) = values else {
        return Box::default();
    };
    if values.rest.is_empty() {
        return match values.first.as_ref().map(|t| trim(&t.0)) {
            None | Some("") => Box::default(),
            Some(t) => Box::new([Box::<str>::from(t)]),
        };
    }
    // Sized for every value, so the usual list (no blanks, no repeats) is boxed in place.
    let mut out: Vec<Box<str>> = Vec::with_capacity(values.rest.len() + 1);
    for v in values.iter() {
        let t = trim(&v.0);
        if !t.is_empty() && !out.iter().any(|o| &**o == t) {
            out.push(t.into());
        }
    }
    out.into_boxed_slice()
}

/// [`items`] as a [`TextList`], without a list allocation for none or one item.
fn list(values: &Option<Texts<'_>>) -> TextList {
    match values {
        Some(Texts { first, rest }) if rest.is_empty() => {
            match first.as_ref().map(|t| trim(&t.0)) {
                None | Some("") => TextList::default(),
                Some(t) => TextList::one(t),
            }
        }
        _ => Vec::from(items(values)).into(),
    }
}

/// Where a parsed record's `createdAt` comes from.
#[derive(Debug, Clone, Copy)]
enum Created<'a> {
    /// The line's own, or this time when it has none.
    Own(&'a str),
    /// The id's first version's (a fold's winner).
    First(&'a str),
}

/// Shared copies of the few distinct lanes, authors and sources of a log.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    set: HashSet<Arc<str>, foldhash::fast::RandomState>,
    /// The last lane and the last source taken, which a log repeats from record to record.
    last: [Option<Arc<str>>; 2],
}

/// The fields whose last value [`Interner`] keeps at hand.
#[derive(Debug, Clone, Copy)]
enum Repeated {
    Lane = 0,
    Source = 1,
}

impl Interner {
    /// The shared copy of `text`, made on first sight.
    pub fn get(&mut self, text: &str) -> Arc<str> {
        match self.set.get(text) {
            Some(shared) => Arc::clone(shared),
            None => {
                let shared: Arc<str> = text.into();
                self.set.insert(Arc::clone(&shared));
                shared
            }
        }
    }

    /// [`Interner::get`] for a field whose value usually repeats the last record's.
    fn get_repeated(&mut self, field: Repeated, text: &str) -> Arc<str> {
        if let Some(Some(shared)) = self.last.get(field as usize)
            && **shared == *text
        {
            return Arc::clone(shared);
        }
        let shared = self.get(text);
        if let Some(slot) = self.last.get_mut(field as usize) {
            *slot = Some(Arc::clone(&shared));
        }
        shared
    }
}

impl CoordRecord {
    /// Parses and normalizes one JSONL line. `now` fills a missing `createdAt`.
    pub fn from_line(line: &str, now: &str) -> Result<Self, RecordError> {
        Self::from_line_interned(line, now, &mut Interner::default())
    }

    /// Like [`CoordRecord::from_line`], sharing lanes, authors and sources through `interner`.
    pub fn from_line_interned(
        line: &str,
        now: &str,
        interner: &mut Interner,
    ) -> Result<Self, RecordError> {
        Self::from_parsed(line, Created::Own(now), interner)
    }

    /// Parses a winning line of the fold, whose id's first `createdAt` is `created` (empty when
    /// it had none: [`Winners::finish`] fills it). A missing `updatedAt` takes the line's own
    /// `createdAt`.
    pub fn from_line_created(
        line: &str,
        created: &str,
        interner: &mut Interner,
    ) -> Result<Self, RecordError> {
        Self::from_parsed(line, Created::First(created), interner)
    }

    /// Parses with the flat parser, or serde for what it leaves, and builds the record.
    fn from_parsed(
        line: &str,
        created: Created<'_>,
        interner: &mut Interner,
    ) -> Result<Self, RecordError> {
        let raw = match super::flat::parse(line) {
            Some(raw) => raw,
            None => Self::parse_general(line)?,
        };
        Self::from_raw(&raw, created, interner)
    }

    /// The general parser (serde), which decides every line the flat parser leaves to it.
    fn parse_general(line: &str) -> Result<Raw<'_>, RecordError> {
        serde_json::from_str(line).map_err(|e| RecordError::Json {
            message: e.to_string(),
        })
    }

    /// Like [`CoordRecord::from_line`], through the general parser only (serde), never the
    /// flat fast path: the reference the fast path is tested against.
    pub fn from_line_general(line: &str, now: &str) -> Result<Self, RecordError> {
        Self::from_raw(
            &Self::parse_general(line)?,
            Created::Own(now),
            &mut Interner::default(),
        )
    }

    fn from_raw(
        raw: &Raw<'_>,
        created: Created<'_>,
        interner: &mut Interner,
    ) -> Result<Self, RecordError> {
        let kind_text = text(&raw.kind);
        if kind_text.is_empty() {
            return Err(RecordError::Missing { field: "kind" });
        }
        let kind = parse_any_case(kind_text, Kind::parse).ok_or_else(|| RecordError::Invalid {
            field: "kind",
            value: kind_text.to_ascii_lowercase(),
        })?;
        let lane = text(&raw.lane);
        if lane.is_empty() {
            return Err(RecordError::Missing { field: "lane" });
        }
        let agent_id = text(&raw.agent_id);
        if agent_id.is_empty() {
            return Err(RecordError::Missing { field: "agentId" });
        }
        let wave = raw.wave.and_then(|w| w.0);
        let status = match text(&raw.status) {
            "" if kind == Kind::ResolvedByPolicy => Status::Resolved,
            "" => Status::Open,
            s => parse_any_case(s, Status::parse).ok_or_else(|| RecordError::Invalid {
                field: "status",
                value: s.to_ascii_lowercase(),
            })?,
        };
        let priority = match text(&raw.priority) {
            "" => Priority::Normal,
            p => parse_any_case(p, Priority::parse).ok_or_else(|| RecordError::Invalid {
                field: "priority",
                value: p.to_ascii_lowercase(),
            })?,
        };
        let blocking = raw
            .blocking
            .and_then(|b| b.0)
            .unwrap_or_else(|| kind.blocks_by_default());
        let blocker_severity = parse_any_case(text(&raw.blocker_severity), BlockerSeverity::parse)
            .unwrap_or_else(|| default_severity(kind, priority, blocking));
        let id = match text(&raw.id) {
            "" => return Err(RecordError::Missing { field: "id" }),
            id => id,
        };
        let own_created = text(&raw.created_at);
        let (created_at, updated_at) = match created {
            Created::Own(now) => {
                let created_at = CompactString::new(match own_created {
                    "" => now,
                    c => c,
                });
                let updated_at = match text(&raw.updated_at) {
                    "" => created_at.clone(),
                    u => u.into(),
                };
                (created_at, updated_at)
            }
            Created::First(first) => (
                first.into(),
                match text(&raw.updated_at) {
                    "" => own_created.into(),
                    u => u.into(),
                },
            ),
        };
        let source = match text(&raw.source) {
            "" => "launcher",
            s => s,
        };
        Ok(CoordRecord {
            id: id.into(),
            kind,
            lane: interner.get_repeated(Repeated::Lane, lane),
            wave,
            agent_id: interner.get(agent_id),
            targets: list(&raw.targets),
            status,
            priority,
            blocking,
            blocker_severity,
            artifact_refs: list(&raw.artifact_refs),
            depends_on: list(&raw.depends_on),
            closure_condition: owned(&raw.closure_condition),
            created_at,
            updated_at,
            summary: owned(&raw.summary),
            detail: owned(&raw.detail),
            source: interner.get_repeated(Repeated::Source, source),
            requester_lane: owned(&raw.requester_lane),
            owner_lane: owned(&raw.owner_lane),
            requester_wave: raw.requester_wave.and_then(|w| w.0),
            owner_wave: raw.owner_wave.and_then(|w| w.0),
            required: raw.required.and_then(|b| b.0).unwrap_or(false),
        })
    }

    /// The normalized wire form (§3.2 field order), one JSONL line without a newline.
    pub fn to_line(&self) -> String {
        serde_json::Value::Object(self.to_map()).to_string()
    }

    /// The normalized wire form (§3.2 field order) as a JSON object.
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::{Map, Value};
        let mut o = Map::new();
        let s = |v: &str| Value::from(v);
        let list =
            |v: &[Box<str>]| Value::from(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        let opt = |v: Option<u64>| v.map_or(Value::Null, Value::from);
        o.insert("recordVersion".into(), Value::from(1));
        o.insert("id".into(), s(&self.id));
        o.insert("kind".into(), s(self.kind.as_str()));
        o.insert("wave".into(), opt(self.wave));
        o.insert("lane".into(), s(&self.lane));
        o.insert("agentId".into(), s(&self.agent_id));
        o.insert("targets".into(), list(&self.targets));
        o.insert("status".into(), s(self.status.as_str()));
        o.insert("priority".into(), s(self.priority.as_str()));
        o.insert("blocking".into(), Value::from(self.blocking));
        o.insert("blockerSeverity".into(), s(self.blocker_severity.as_str()));
        o.insert("artifactRefs".into(), list(&self.artifact_refs));
        o.insert("dependsOn".into(), list(&self.depends_on));
        o.insert("closureCondition".into(), s(&self.closure_condition));
        o.insert("createdAt".into(), s(&self.created_at));
        o.insert("updatedAt".into(), s(&self.updated_at));
        o.insert("confidence".into(), s("medium"));
        o.insert("summary".into(), s(&self.summary));
        o.insert("detail".into(), s(&self.detail));
        o.insert("attempt".into(), Value::Null);
        o.insert("source".into(), s(&self.source));
        o.insert("executorId".into(), s(""));
        o.insert("project".into(), s(""));
        o.insert("requesterLane".into(), s(&self.requester_lane));
        o.insert("ownerLane".into(), s(&self.owner_lane));
        o.insert("requesterProject".into(), s(""));
        o.insert("ownerProject".into(), s(""));
        o.insert("requesterWave".into(), opt(self.requester_wave));
        o.insert("ownerWave".into(), opt(self.owner_wave));
        o.insert("required".into(), Value::from(self.required));
        o
    }

    /// Open statuses: open, acknowledged, in_progress.
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// `blocksWave` (§3.4), as [`coordination::blocks_wave`] decides it.
    pub fn blocks_wave(&self) -> bool {
        coordination::blocks_wave(self)
    }

    /// The clarification id of a `clarification:<id>` closure condition.
    pub fn clarification_condition(&self) -> Option<&str> {
        coordination::clarification_id_from_closure(&self.closure_condition)
    }

    /// The first `agent:<id>` target.
    pub fn first_agent_target(&self) -> Option<&str> {
        self.targets.iter().find_map(|t| t.strip_prefix("agent:"))
    }
}

/// Text kept by a fold (ids, first `createdAt` values) in one growing buffer, so the fold makes
/// no allocation per id. What goes in is checked to be UTF-8 first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Arena(Vec<u8>);

/// Where a text sits in an [`Arena`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Arena {
    fn push(&mut self, text: &[u8]) -> Span {
        // Past 4 GiB of ids a span could not say where its text is: keep it empty instead of
        // pointing at the wrong text (a log that large is far beyond what a wave writes).
        match (u32::try_from(self.0.len()), u32::try_from(text.len())) {
            (Ok(start), Ok(len)) if start.checked_add(len).is_some() => {
                self.0.extend_from_slice(text);
                Span { start, len }
            }
            _ => Span::default(),
        }
    }

    fn get(&self, span: Span) -> &[u8] {
        let start = span.start as usize;
        self.0
            .get(start..start + span.len as usize)
            .unwrap_or_default()
    }

    fn text(&self, span: Span) -> &str {
        std::str::from_utf8(self.get(span)).unwrap_or_default()
    }
}

/// The order of a line in the fold: `(updatedAt, position)` with the position's time filled in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    updated: i64,
    at: i64,
    writer: u32,
    seq: u64,
}

impl Key {
    fn position(self) -> Position {
        Position {
            at_millis: Some(self.at),
            writer: self.writer,
            seq: self.seq,
        }
    }
}

/// One id's state in the fold: its winning line (key and byte offset), the key and
/// `createdAt` of its first version, and the winning record itself when it was already parsed
/// (pushed as a record, or a line the key scan could not read).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    hash: u64,
    id: Span,
    latest: Key,
    first: Key,
    /// Byte offset of the winning line in its writer's file (0 when not known).
    offset: u64,
    created_at: Span,
    record: Option<Box<CoordRecord>>,
}

/// Where a line sits in the merged stream: `(at, writer, seq)` order (DESIGN §4), with the
/// writer given as its rank among the stream's writers sorted by name. A single-file log is one
/// writer, its line numbers the sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// Milliseconds of the line's `at`; `None` takes the record's `updatedAt` (else
    /// `createdAt`), which is what a single-file upstream log's lines are stamped with.
    pub at_millis: Option<i64>,
    /// Rank of the writer's name.
    pub writer: u32,
    /// The writer's sequence number (line number for a single file).
    pub seq: u64,
}

impl Position {
    /// The position of line `n` of a single-file log.
    pub fn line(n: u64) -> Self {
        Position {
            at_millis: None,
            writer: 0,
            seq: n,
        }
    }
}

/// A line the fold could not use, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The line's position.
    pub position: Position,
    /// Why.
    pub error: RecordError,
}

/// Streaming last-record-per-id fold of coordination lines, in two passes.
///
/// Each line comes with its position in the merged stream (the line number of a single-file
/// log, the index in `(at, writer, seq)` order for a store). A line wins over another of the same
/// id when its `(updatedAt, position)` is greater, so the fold is a per-id maximum: the result
/// does not depend on the order lines are pushed in, and pushing the same line at the same
/// position again changes nothing.
///
/// Pass one ([`CoordFold::push_bytes`]) orders lines by a key scan and keeps only keys: memory
/// follows the number of distinct ids, not the log, and ids and times sit in one buffer, so an
/// id costs no allocation. Pass two ([`Winners`]) sees the winning lines again and fully parses
/// only those. [`CoordFold::fold_lines`] runs both over lines held in memory.
#[derive(Debug, Clone, Default)]
pub struct CoordFold {
    /// Slot indices, hashed by id.
    table: hashbrown::HashTable<u32>,
    slots: Vec<Slot>,
    arena: Arena,
    hasher: foldhash::fast::RandomState,
    rejected: Vec<Rejected>,
    /// Ids whose every line is parsed in full in pass one ([`CoordFold::with_suspects`]).
    suspects: FastSet<Box<[u8]>>,
    /// The minute of the last time read (lines in a row mostly share it).
    minutes: MinuteCache,
}

/// Where a winning line is: its writer (rank), byte offset and sequence number (line number
/// of its file), and which winner it is. Ordered by writer, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineRef {
    /// Rank of the writer's name.
    pub writer: u32,
    /// Byte offset in the writer's file, as given to [`CoordFold::push_bytes`].
    pub offset: u64,
    /// Sequence number (line number).
    pub seq: u64,
    /// The winner the line belongs to (an index into the final record order).
    pub winner: usize,
}

/// One winner's keys: its id and first `createdAt`.
#[derive(Debug, Clone, Copy)]
struct WinnerMeta {
    id: Span,
    created_at: Span,
}

/// The winners of a fold, already in upstream's final order `(updatedAt, id)`, waiting for
/// their lines (pass two).
#[derive(Debug, Clone)]
pub struct Winners {
    meta: Vec<WinnerMeta>,
    records: Vec<Option<CoordRecord>>,
    arena: Arena,
    /// Winning lines not parsed yet, by writer then offset.
    places: Vec<LineRef>,
    /// `(writer, seq)` → winner, built on the first [`Winners::attach`].
    by_position: Option<FastMap<(u32, u64), usize>>,
    rejected: Vec<Rejected>,
    interned: Interner,
}

/// Pass two's read-only half of [`Winners`] (see [`Winners::split`]): parses winning lines,
/// shareable between threads.
#[derive(Debug, Clone, Copy)]
pub struct WinnerLookup<'w> {
    meta: &'w [WinnerMeta],
    arena: &'w Arena,
    places: &'w [LineRef],
}

/// Pass two's writing half of [`Winners`] (see [`Winners::split`]): takes parsed lines.
#[derive(Debug)]
pub struct WinnerSink<'w> {
    records: &'w mut [Option<CoordRecord>],
    rejected: &'w mut Vec<Rejected>,
}

/// A winning line parsed by [`WinnerLookup::parse`]: the record, or why the line was rejected.
pub type Parsed = (usize, Result<CoordRecord, Rejected>);

/// Milliseconds of a stored timestamp ([`timestamp_millis`]); unparsable times sort first.
pub fn millis(text: &str) -> i64 {
    timestamp_millis(text).unwrap_or(i64::MIN)
}

/// `text` without surrounding whitespace (as [`str::trim`]), with no work for the usual text
/// that starts and ends with a visible ASCII character; `None` when it would need trimming but
/// is not UTF-8.
fn trimmed(text: &[u8]) -> Option<&[u8]> {
    let visible = |b: Option<&u8>| b.is_some_and(|&c| c > b' ' && c < 0x7f);
    if visible(text.first()) && visible(text.last()) {
        Some(text)
    } else {
        std::str::from_utf8(text).ok().map(|t| trim(t).as_bytes())
    }
}

/// [`millis`] of a time given as bytes; `None` when they are not UTF-8.
fn millis_of(text: &[u8], minutes: &mut MinuteCache) -> Option<i64> {
    match minutes.millis(text) {
        Some(ms) => Some(ms),
        None => std::str::from_utf8(text).ok().map(millis),
    }
}

impl CoordFold {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty fold that parses every line of the given ids in full in pass one, so a line of
    /// theirs that is not a valid record is rejected there and never wins. Pass two reports the
    /// ids whose winning line turned out invalid ([`Winners::failed_ids`]); folding the stream
    /// again with those ids as suspects gives each of them its latest valid line.
    pub fn with_suspects(ids: impl IntoIterator<Item = Box<str>>) -> Self {
        CoordFold {
            suspects: ids.into_iter().map(str::into_boxed_bytes).collect(),
            ..Self::default()
        }
    }

    /// Pass one: folds the keys of one JSONL line found at `position`.
    pub fn push_line(&mut self, line: &str, position: Position) {
        self.push_bytes(line.as_bytes(), position, 0);
    }

    /// Pass one over a line's bytes, not yet checked to be UTF-8, found at byte `offset` of its
    /// writer's file ([`Winners::lines_needed`] gives the winners' offsets back). Only the
    /// fields the fold orders by are read, and checked to be UTF-8 when the fold keeps them; a
    /// line the key scan cannot read, or whose keys are not UTF-8, is checked and parsed in
    /// full at once.
    pub fn push_bytes(&mut self, line: &[u8], position: Position, offset: u64) {
        if let Some(super::scan::LineKeys {
            id: Some(id),
            updated_at,
            created_at,
        }) = super::scan::line_keys_bytes(line)
            && !id.is_empty()
            && trimmed(id) == Some(id)
            && (self.suspects.is_empty() || !self.suspects.contains(id))
            && let Some(created) = trimmed(created_at.unwrap_or_default())
            && let Some(updated) = updated_at.map_or(Some(&b""[..]), trimmed)
        {
            let updated = if updated.is_empty() { created } else { updated };
            if let Some(updated) = millis_of(updated, &mut self.minutes)
                && self.offer(id, updated, created, position, offset, None)
            {
                return;
            }
        }
        self.push_parsed(line, position);
    }

    /// Pass one for a line read in full.
    fn push_parsed(&mut self, line: &[u8], position: Position) {
        match std::str::from_utf8(line) {
            Ok(text) => match CoordRecord::from_line(text, "") {
                Ok(r) => self.push(r, position),
                Err(error) => self.rejected.push(Rejected { position, error }),
            },
            Err(_) => self.rejected.push(Rejected {
                position,
                error: RecordError::Json {
                    message: "not valid UTF-8".into(),
                },
            }),
        }
    }

    /// Folds a record that is already parsed.
    pub fn push(&mut self, record: CoordRecord, position: Position) {
        let record = Box::new(record);
        let (id, created) = (record.id.clone(), record.created_at.clone());
        let updated = millis(&record.updated_at);
        self.offer(
            id.as_bytes(),
            updated,
            created.as_bytes(),
            position,
            0,
            Some(record),
        );
    }

    /// Offers one version of `id`; returns false, changing nothing, when the id or the
    /// `createdAt` it would keep is not UTF-8.
    fn offer(
        &mut self,
        id: &[u8],
        updated: i64,
        created_at: &[u8],
        position: Position,
        offset: u64,
        record: Option<Box<CoordRecord>>,
    ) -> bool {
        let key = Key {
            updated,
            at: position.at_millis.unwrap_or(updated),
            writer: position.writer,
            seq: position.seq,
        };
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, id);
        let found = self.find(hash, id);
        match found.and_then(|i| self.slots.get_mut(i)) {
            Some(slot) => {
                if key < slot.first {
                    if std::str::from_utf8(created_at).is_err() {
                        return false;
                    }
                    slot.first = key;
                    slot.created_at = self.arena.push(created_at);
                }
                if key > slot.latest {
                    slot.latest = key;
                    slot.offset = offset;
                    slot.record = record;
                }
            }
            None => {
                if std::str::from_utf8(id).is_err() || std::str::from_utf8(created_at).is_err() {
                    return false;
                }
                let id = self.arena.push(id);
                let created_at = self.arena.push(created_at);
                self.add(Slot {
                    hash,
                    id,
                    latest: key,
                    first: key,
                    offset,
                    created_at,
                    record,
                });
            }
        }
        true
    }

    /// The slot of `id`, whose hash is `hash`, if the fold has one.
    #[inline]
    fn find(&self, hash: u64, id: &[u8]) -> Option<usize> {
        let (slots, arena) = (&self.slots, &self.arena);
        self.table
            .find(hash, |&i| {
                slots
                    .get(i as usize)
                    .is_some_and(|s| s.hash == hash && arena.get(s.id) == id)
            })
            .map(|&i| i as usize)
    }

    /// Adds the slot of a new id; false, adding nothing, once there are more ids than a slot
    /// number counts (a log far beyond what a wave writes).
    fn add(&mut self, slot: Slot) -> bool {
        let Ok(index) = u32::try_from(self.slots.len()) else {
            return false;
        };
        let hash = slot.hash;
        self.slots.push(slot);
        let slots = &self.slots;
        self.table.insert_unique(hash, index, |&i| {
            slots.get(i as usize).map_or(0, |s| s.hash)
        });
        true
    }

    /// Merges a fold of other lines of the same stream (a fold per thread): the result is the
    /// fold of all the lines, whatever way they were shared out.
    pub fn merge(&mut self, other: CoordFold) {
        if self.slots.is_empty() && self.rejected.is_empty() && self.suspects == other.suspects {
            *self = other;
            return;
        }
        self.rejected.extend(other.rejected);
        for slot in other.slots {
            let id = other.arena.get(slot.id);
            let hash = std::hash::BuildHasher::hash_one(&self.hasher, id);
            let found = self.find(hash, id);
            match found.and_then(|i| self.slots.get_mut(i)) {
                Some(mine) => {
                    if slot.first < mine.first {
                        mine.first = slot.first;
                        mine.created_at = self.arena.push(other.arena.get(slot.created_at));
                    }
                    if slot.latest > mine.latest {
                        mine.latest = slot.latest;
                        mine.offset = slot.offset;
                        mine.record = slot.record;
                    }
                }
                None => {
                    let id = self.arena.push(id);
                    let created_at = self.arena.push(other.arena.get(slot.created_at));
                    if !self.add(Slot {
                        hash,
                        id,
                        created_at,
                        ..slot
                    }) {
                        return;
                    }
                }
            }
        }
    }

    /// Replaces every sequence number the fold holds (its lines' and its rejected lines') with
    /// `real(writer, seq)`, which must keep the order of each writer's numbers: a parallel
    /// scan hands out provisional line numbers and settles them afterwards.
    pub fn renumber(&mut self, real: impl Fn(u32, u64) -> u64) {
        for slot in &mut self.slots {
            slot.latest.seq = real(slot.latest.writer, slot.latest.seq);
            slot.first.seq = real(slot.first.writer, slot.first.seq);
        }
        for rejected in &mut self.rejected {
            rejected.position.seq = real(rejected.position.writer, rejected.position.seq);
        }
    }

    /// Number of distinct ids.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when nothing was folded.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Ends pass one: the winners in upstream's final order `(updatedAt, id)`.
    pub fn winners(self) -> Winners {
        let records = Vec::with_capacity(self.len());
        self.winners_in(records)
    }

    /// [`CoordFold::winners`], with the winners' records kept in `records` (emptied first), a
    /// buffer the caller may have prepared for [`CoordFold::len`] of them.
    pub fn winners_in(self, mut records: Vec<Option<CoordRecord>>) -> Winners {
        records.clear();
        records.reserve(self.len());
        let CoordFold {
            slots,
            arena,
            rejected,
            ..
        } = self;
        let mut order: Vec<(i64, u32)> = slots
            .iter()
            .zip(0u32..)
            .map(|(s, i)| (s.latest.updated, i))
            .collect();
        let id_of = |i: u32| slots.get(i as usize).map_or(&b""[..], |s| arena.get(s.id));
        order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id_of(a.1).cmp(id_of(b.1))));
        let mut slots = slots;
        let mut meta = Vec::with_capacity(order.len());
        let mut places = Vec::new();
        for (_, i) in order {
            let Some(slot) = slots.get_mut(i as usize) else {
                continue;
            };
            let winner = records.len();
            let position = slot.latest.position();
            let record = match slot.record.take() {
                Some(r) => {
                    let mut r = *r;
                    r.created_at = arena.text(slot.created_at).into();
                    Some(r)
                }
                None => {
                    places.push(LineRef {
                        writer: position.writer,
                        offset: slot.offset,
                        seq: position.seq,
                        winner,
                    });
                    None
                }
            };
            meta.push(WinnerMeta {
                id: slot.id,
                created_at: slot.created_at,
            });
            records.push(record);
        }
        places.sort_unstable();
        Winners {
            meta,
            records,
            arena,
            places,
            by_position: None,
            rejected,
            interned: Interner::default(),
        }
    }

    /// Both passes over lines held in memory: `(line, position)` pairs.
    pub fn fold_lines<'l>(
        lines: impl Iterator<Item = (&'l str, Position)> + Clone,
        now: &str,
    ) -> (Vec<CoordRecord>, Vec<Rejected>) {
        let mut suspects = Vec::new();
        loop {
            let retry = !suspects.is_empty();
            let mut fold = CoordFold::with_suspects(std::mem::take(&mut suspects));
            for (line, position) in lines.clone() {
                fold.push_line(line, position);
            }
            let mut winners = fold.winners();
            if winners.needs_lines() {
                for (line, position) in lines.clone() {
                    winners.attach(line, position);
                }
            }
            suspects = winners.failed_ids();
            // A second round parses every line of the suspects in full: none of theirs can
            // fail in pass two again, and the other ids' winners are the same lines as before.
            if suspects.is_empty() || retry {
                return winners.finish(now);
            }
        }
    }
}

impl WinnerLookup<'_> {
    /// The winner whose line starts at byte `offset` of writer `writer`'s file, if any.
    pub fn winner_at(&self, writer: u32, offset: u64) -> Option<usize> {
        let i = self
            .places
            .binary_search_by(|p| (p.writer, p.offset).cmp(&(writer, offset)))
            .ok()?;
        self.places.get(i).map(|p| p.winner)
    }

    /// Parses winner `winner`'s line, found at `position`, with the id's first `createdAt`.
    /// A rejected line leaves its winner without a record: see [`Winners::failed_ids`].
    pub fn parse(
        &self,
        winner: usize,
        line: &str,
        position: Position,
        interner: &mut Interner,
    ) -> Parsed {
        let created = self
            .meta
            .get(winner)
            .map_or("", |m| self.arena.text(m.created_at));
        let parsed = CoordRecord::from_line_created(line, created, interner)
            .map_err(|error| Rejected { position, error });
        (winner, parsed)
    }
}

impl WinnerSink<'_> {
    /// Stores what [`WinnerLookup::parse`] returned.
    pub fn fill(&mut self, (winner, parsed): Parsed) {
        match parsed {
            Ok(r) => {
                if let Some(slot) = self.records.get_mut(winner) {
                    *slot = Some(r);
                }
            }
            Err(rejected) => self.rejected.push(rejected),
        }
    }
}

impl Winners {
    /// True while some winner's line has not been attached.
    pub fn needs_lines(&self) -> bool {
        !self.places.is_empty()
    }

    /// Where the winning lines that pass two needs are, by writer then offset (offsets are
    /// those given to [`CoordFold::push_bytes`]), so a reader can go to them instead of reading
    /// every line again.
    pub fn lines_needed(&self) -> &[LineRef] {
        &self.places
    }

    /// Splits the winners for pass two on several threads: a lookup that parses lines (shared)
    /// and a sink that stores them (behind a lock).
    pub fn split(&mut self) -> (WinnerLookup<'_>, WinnerSink<'_>) {
        (
            WinnerLookup {
                meta: &self.meta,
                arena: &self.arena,
                places: &self.places,
            },
            WinnerSink {
                records: &mut self.records,
                rejected: &mut self.rejected,
            },
        )
    }

    /// The ids whose winning line pass two rejected or never saw (a reader may skip a line
    /// that is not UTF-8, reporting it itself), sorted. Fold the stream again with them as
    /// suspects ([`CoordFold::with_suspects`]) to get their latest valid lines: until then they
    /// are missing from [`Winners::finish`].
    pub fn failed_ids(&self) -> Vec<Box<str>> {
        let mut ids: Vec<Box<str>> = self
            .records
            .iter()
            .zip(&self.meta)
            .filter(|(r, _)| r.is_none())
            .map(|(_, m)| self.arena.text(m.id).into())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Pass two: parses the line at `position` if it is a winner; other lines cost a lookup.
    pub fn attach(&mut self, line: &str, position: Position) {
        let places = &self.places;
        let by_position = self.by_position.get_or_insert_with(|| {
            places
                .iter()
                .map(|p| ((p.writer, p.seq), p.winner))
                .collect()
        });
        let Some(winner) = by_position.remove(&(position.writer, position.seq)) else {
            return;
        };
        let created = self
            .meta
            .get(winner)
            .map_or("", |m| self.arena.text(m.created_at));
        match CoordRecord::from_line_created(line, created, &mut self.interned) {
            Ok(r) => {
                if let Some(slot) = self.records.get_mut(winner) {
                    *slot = Some(r);
                }
            }
            Err(error) => self.rejected.push(Rejected { position, error }),
        }
    }

    /// The latest records in upstream's order `(updatedAt, id)`, with each id's first
    /// `createdAt` (or `now` when it had none), and every rejected line by position. A winner
    /// whose line never came back in pass two is dropped.
    pub fn finish(self, now: &str) -> (Vec<CoordRecord>, Vec<Rejected>) {
        let mut rejected = self.rejected;
        // Collected in place (an `Option` of a record is the size of a record): the records are
        // already in order, and a second list would double the peak memory.
        #[allow(
            clippy::filter_map_identity,
            reason = "`flatten` does not collect in place"
        )]
        let mut out: Vec<CoordRecord> = self.records.into_iter().filter_map(|r| r).collect();
        for r in &mut out {
            if r.created_at.is_empty() {
                r.created_at = now.into();
            }
            if r.updated_at.is_empty() {
                r.updated_at = r.created_at.clone();
            }
        }
        rejected.sort_by_key(|r| (r.position.writer, r.position.seq));
        (out, rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_and_texts_are_held_in_place() {
        assert!(size_of::<TextList>() <= 24, "{}", size_of::<TextList>());
        let r = rec(
            r#"{"id":"x","kind":"request","lane":"main","agentId":"A1","artifactRefs":[" a ","","a"],"dependsOn":["b"," c","b","c "],"createdAt":"2026-11-22T01:00:00.000Z"}"#,
        );
        let refs: Vec<&str> = r.artifact_refs.iter().map(|t| &**t).collect();
        assert_eq!(refs, ["a"]);
        let deps: Vec<&str> = r.depends_on.iter().map(|t| &**t).collect();
        assert_eq!(deps, ["b", "c"]);
        assert!(!r.id.is_heap_allocated() && !r.created_at.is_heap_allocated());
        assert_eq!(
            TextList::one("a"),
            TextList::from(vec![Box::<str>::from("a")])
        );
        assert_eq!(TextList::default(), TextList::from(Vec::new()));
        assert_eq!(
            ["a", "b"].into_iter().collect::<TextList>().len(),
            2,
            "a list of two"
        );
    }

    #[test]
    fn trimming_agrees_with_the_standard_library() {
        for text in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{a0}a",
            "a\u{3000}",
            "\ta\n",
            "é",
            " é ",
            "~x~",
            "\u{7f}",
            "\u{85}a",
            "a b",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
            assert_eq!(
                trimmed(text.as_bytes()),
                Some(text.trim().as_bytes()),
                "{text:?}"
            );
        }
        assert_eq!(trimmed(b"\xff "), None);
        assert_eq!(trimmed(b"a\xffb"), Some(&b"a\xffb"[..]));
    }

    fn line(id: &str, status: &str, created: &str, updated: &str) -> String {
        format!(
            r#"{{"id":"{id}","kind":"request","lane":"main","wave":0,"agentId":"A1","status":"{status}","createdAt":"{created}","updatedAt":"{updated}","unknown":{{"x":1}}}}"#
        )
    }

    fn rec(l: &str) -> CoordRecord {
        CoordRecord::from_line(l, "2026-01-01T00:00:00.000Z").expect("valid")
    }

    #[test]
    fn normalizes_defaults() {
        let r = CoordRecord::from_line(
            r#"{"id":"x","kind":"Blocker","lane":"main","wave":"1","agentId":"A1","priority":"high","blocking":"yes"}"#,
            "2026-01-01T00:00:00.000Z",
        )
        .expect("valid");
        assert_eq!(r.kind, Kind::Blocker);
        assert_eq!(r.status, Status::Open);
        assert!(r.blocking);
        assert_eq!(r.blocker_severity, BlockerSeverity::Hard);
        assert_eq!(r.wave, Some(1));
        assert_eq!(&*r.created_at, "2026-01-01T00:00:00.000Z");
        assert_eq!(r.updated_at, r.created_at);
        assert_eq!(&*r.source, "launcher");
        assert!(r.blocks_wave());
        let e = CoordRecord::from_line(
            r#"{"id":"x","kind":"gossip","lane":"m","agentId":"A"}"#,
            "t",
        )
        .expect_err("invalid kind");
        assert!(matches!(e, RecordError::Invalid { field: "kind", .. }));
        assert!(CoordRecord::from_line("{", "t").is_err());
    }

    #[test]
    fn escaped_and_plain_strings_both_read() {
        let r = rec(
            r#"{"id":"x","kind":"request","lane":"main","agentId":"A1","summary":" say \"hi\" ","targets":["agent:A2","a\u0067ent:A3"],"wave":null,"blocking":0}"#,
        );
        assert_eq!(&*r.summary, "say \"hi\"");
        assert_eq!(r.wave, None);
        assert!(!r.blocking);
        assert!(
            CoordRecord::from_line(
                r#"{"id":"x","kind":"request","lane":"m","agentId":"A","targets":["a",1]}"#,
                "t"
            )
            .is_err()
        );
        let t: Vec<&str> = r.targets.iter().map(|t| &**t).collect();
        assert_eq!(t, ["agent:A2", "agent:A3"]);
    }

    fn finished(lines: &[(String, u64)]) -> Vec<CoordRecord> {
        let (records, rejected) = CoordFold::fold_lines(
            lines.iter().map(|(l, p)| (l.as_str(), Position::line(*p))),
            "2026-01-01T00:00:00.000Z",
        );
        assert!(rejected.is_empty(), "{rejected:?}");
        records
    }

    #[test]
    fn an_invalid_winning_line_gives_way_to_the_latest_valid_one() {
        let good = line("r", "open", T1, T1);
        let bad = line("r", "no-such-status", T1, T5);
        let torn = line("r", "resolved", T1, T9);
        let torn = &torn[..torn.len() - 20];
        let other = line("s", "resolved", T1, T5);
        let lines = [
            (good.as_str(), 1),
            (bad.as_str(), 2),
            (torn, 3),
            (other.as_str(), 4),
        ];
        let (records, rejected) = CoordFold::fold_lines(
            lines.iter().map(|(l, p)| (*l, Position::line(*p))),
            "2026-01-01T00:00:00.000Z",
        );
        let got: Vec<(&str, Status)> = records.iter().map(|r| (&*r.id, r.status)).collect();
        assert_eq!(got, [("r", Status::Open), ("s", Status::Resolved)]);
        let seqs: Vec<u64> = rejected.iter().map(|r| r.position.seq).collect();
        assert_eq!(seqs, [2, 3]);
    }

    const T1: &str = "2026-01-01T00:01:00.000Z";
    const T5: &str = "2026-01-01T00:05:00.000Z";
    const T9: &str = "2026-01-01T00:09:00.000Z";

    #[test]
    fn latest_wins_and_created_at_stays_from_the_first() {
        let mut lines = vec![
            (line("r", "resolved", T5, T5), 1),
            (line("r", "open", T1, T1), 0),
        ];
        let r = finished(&lines);
        assert_eq!((r[0].status, &*r[0].created_at), (Status::Resolved, T1));
        // Equal times: the later position wins.
        lines.push((line("r", "closed", T9, T5), 2));
        let r = finished(&lines);
        assert_eq!((r[0].status, &*r[0].created_at), (Status::Closed, T1));
        // A parsed record folds like its line.
        let mut other = CoordFold::new();
        other.push(rec(&line("r", "open", T1, T1)), Position::line(0));
        other.push(rec(&line("r", "resolved", T5, T5)), Position::line(1));
        let (r, _) = other.winners().finish("now");
        assert_eq!(r[0].status, Status::Resolved);
    }

    #[test]
    fn fast_timestamps_agree_with_the_full_parser() {
        for t in [
            "2026-01-01T00:00:00.000Z",
            "2024-02-29T23:59:59.999Z",
            "1970-01-01T00:00:00.001Z",
            "2000-03-01T12:34:56.789Z",
            "1969-12-31T23:59:59.000Z",
        ] {
            assert_eq!(Some(millis(t)), crate::event::time::parse_millis(t), "{t}");
        }
        assert_eq!(millis("2026-02-30T00:00:00.000Z"), i64::MIN);
        assert_eq!(millis("2026-01-01T00:00:00Z"), 1_767_225_600_000);
        assert_eq!(millis("garbage"), i64::MIN);
    }

    #[test]
    fn bad_lines_are_rejected_with_their_position() {
        let lines = [
            ("{broken", Position::line(3)),
            (
                r#"{"id":"x","kind":"gossip","lane":"m","agentId":"A"}"#,
                Position::line(4),
            ),
        ];
        let (records, rejected) = CoordFold::fold_lines(lines.iter().copied(), "now");
        assert!(records.is_empty());
        let positions: Vec<_> = rejected.iter().map(|r| r.position.seq).collect();
        assert_eq!(positions, [3, 4]);
    }

    #[test]
    fn winners_in_a_used_buffer_are_the_winners() {
        let lines = [
            r#"{"id":"b","kind":"claim","lane":"m","agentId":"A","createdAt":"2026-01-01T00:00:02.000Z"}"#,
            r#"{"id":"a","kind":"claim","lane":"m","agentId":"A","createdAt":"2026-01-01T00:00:01.000Z"}"#,
            r#"{"id":"a","kind":"claim","lane":"m","agentId":"B","createdAt":"2026-01-01T00:00:03.000Z"}"#,
        ];
        let fold = || {
            let mut fold = CoordFold::new();
            for (n, line) in (1..).zip(lines) {
                fold.push_line(line, Position::line(n));
            }
            fold
        };
        let read = |mut winners: Winners| {
            for place in winners.lines_needed().to_vec() {
                let line = lines[usize::try_from(place.seq).unwrap_or(0) - 1];
                winners.attach(line, Position::line(place.seq));
            }
            winners.finish("now")
        };
        let used = vec![None, Some(rec(lines[0])), None, Some(rec(lines[1]))];
        let expected = read(fold().winners());
        assert_eq!(expected.0.len(), 2);
        assert_eq!(read(fold().winners_in(used)), expected);
        assert_eq!(read(fold().winners_in(Vec::new())), expected);
    }
}
