//! Coordination records (spec §3.2): the canonical schema of every line of a coordination log,
//! normalized the same way on write and on read.
//!
//! Owns: the record type and its closed vocabularies (kind, status, priority, confidence,
//! blocker severity), the loose input form ([`RawCoordinationRecord`]), normalization with
//! defaults ([`normalize`]), and the per-line reader ([`parse_line`], [`parse_log`]).
//! Must not: know where records are stored, read the clock (the caller passes `now` in
//! [`RecordDefaults`]), or decide what records mean (that is the engine's job).
//!
//! Input is loose, as upstream writers produce it: strings may arrive as numbers, booleans as
//! `"yes"`/`"off"`, integers as strings. Fields this schema does not know are kept verbatim in
//! [`CoordinationRecord::extra`] and written back after the known fields, so a read/write round
//! trip loses nothing. An invalid record is an error for that record only: [`parse_log`] reports
//! it with its line number and keeps reading.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Version written into every record's `recordVersion`.
pub const RECORD_VERSION: u64 = 1;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $label:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the order upstream lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the wire spelling (already trimmed and lowercased); `None` when unknown.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The allowed spellings joined with `, `, for error messages.
            pub fn allowed() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }

            /// The field name used in error messages.
            pub const LABEL: &'static str = $label;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(text.trim_matches(is_js_space).to_lowercase().as_str()).ok_or_else(|| {
                    de::Error::custom(format!(
                        "{} must be one of {} (got: {})",
                        $label,
                        $name::allowed(),
                        text
                    ))
                })
            }
        }
    };
}

vocabulary!(
    /// What a record is (`kind`).
    Kind, "kind", {
        /// Ask another agent (or a capability) for something.
        Request => "request",
        /// Acknowledge a request.
        Ack => "ack",
        /// Claim ownership of work.
        Claim => "claim",
        /// Evidence for a claim or a gate.
        Evidence => "evidence",
        /// A decision; also mirrors helper assignments.
        Decision => "decision",
        /// Something blocks progress.
        Blocker => "blocker",
        /// Hand work over.
        Handoff => "handoff",
        /// A question that needs an answer before closure.
        ClarificationRequest => "clarification-request",
        /// Guidance from the orchestrator.
        OrchestratorGuidance => "orchestrator-guidance",
        /// A request settled by policy rather than by its target.
        ResolvedByPolicy => "resolved-by-policy",
        /// A question escalated to a human.
        HumanEscalation => "human-escalation",
        /// A human feedback request.
        HumanFeedback => "human-feedback",
        /// The integration steward's summary.
        IntegrationSummary => "integration-summary",
    }
);

vocabulary!(
    /// Lifecycle state of a record (`status`).
    Status, "status", {
        /// Not yet acknowledged.
        Open => "open",
        /// Seen by its target.
        Acknowledged => "acknowledged",
        /// Being worked on.
        InProgress => "in_progress",
        /// Done.
        Resolved => "resolved",
        /// Closed without further work.
        Closed => "closed",
        /// Replaced by a newer record.
        Superseded => "superseded",
        /// Withdrawn.
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// Urgency (`priority`).
    Priority, "priority", {
        /// Low.
        Low => "low",
        /// Normal (the default).
        Normal => "normal",
        /// High.
        High => "high",
        /// Urgent.
        Urgent => "urgent",
    }
);

vocabulary!(
    /// How sure the author is (`confidence`).
    Confidence, "confidence", {
        /// Low.
        Low => "low",
        /// Medium (the default).
        Medium => "medium",
        /// High.
        High => "high",
    }
);

vocabulary!(
    /// How hard an open record blocks the wave (`blockerSeverity`).
    BlockerSeverity, "blockerSeverity", {
        /// Blocks, and counts as a hard blocker.
        Hard => "hard",
        /// Blocks, but not hard.
        Soft => "soft",
        /// Does not block.
        Stale => "stale",
        /// Does not block.
        Advisory => "advisory",
        /// Blocks, hard: proof is missing.
        ProofCritical => "proof-critical",
        /// Blocks, hard: closure depends on it.
        ClosureCritical => "closure-critical",
    }
);

impl Status {
    /// `open`, `acknowledged` and `in_progress` are open; the rest are closed.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Open | Status::Acknowledged | Status::InProgress
        )
    }
}

impl BlockerSeverity {
    /// `stale` and `advisory` never block.
    pub fn is_non_blocking(self) -> bool {
        matches!(self, BlockerSeverity::Stale | BlockerSeverity::Advisory)
    }

    /// `hard`, `proof-critical` and `closure-critical` make a blocking record a hard blocker.
    pub fn is_hard(self) -> bool {
        matches!(
            self,
            BlockerSeverity::Hard
                | BlockerSeverity::ProofCritical
                | BlockerSeverity::ClosureCritical
        )
    }
}

impl Kind {
    /// Kinds that block by default: request, blocker, clarification-request, human-escalation,
    /// human-feedback.
    pub fn blocks_by_default(self) -> bool {
        matches!(
            self,
            Kind::Request
                | Kind::Blocker
                | Kind::ClarificationRequest
                | Kind::HumanEscalation
                | Kind::HumanFeedback
        )
    }
}

/// The severity a record gets when it names none (§3.2).
pub fn default_severity(kind: Kind, priority: Priority, blocking: bool) -> BlockerSeverity {
    if !blocking {
        return BlockerSeverity::Advisory;
    }
    match kind {
        Kind::HumanEscalation | Kind::HumanFeedback => BlockerSeverity::Hard,
        Kind::Request | Kind::ClarificationRequest => BlockerSeverity::ClosureCritical,
        Kind::Blocker if matches!(priority, Priority::High | Priority::Urgent) => {
            BlockerSeverity::Hard
        }
        Kind::Blocker => BlockerSeverity::Soft,
        _ => BlockerSeverity::Advisory,
    }
}

/// One normalized coordination record (§3.2). Field names on the wire are camelCase.
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinationRecord {
    /// Stable id; updates are new lines with the same id.
    pub id: String,
    /// What the record is.
    pub kind: Kind,
    /// Wave number.
    pub wave: u64,
    /// Lane name.
    pub lane: String,
    /// Author.
    pub agent_id: String,
    /// `agent:<id>`, a bare agent id, or `capability:<cap>` (§3.5); deduplicated, non-empty.
    pub targets: Vec<String>,
    /// Lifecycle state.
    pub status: Status,
    /// Urgency.
    pub priority: Priority,
    /// Whether the record can block the wave at all.
    pub blocking: bool,
    /// How hard it blocks.
    pub blocker_severity: BlockerSeverity,
    /// Paths or component ids the record is about.
    pub artifact_refs: Vec<String>,
    /// Ids of records (or assignments) this one depends on.
    pub depends_on: Vec<String>,
    /// Free-form closure condition (`clarification:<id>`, `required=true`, …); may be empty.
    pub closure_condition: String,
    /// When the id was first recorded (kept from the first line on materialization).
    pub created_at: String,
    /// When this version was recorded; the materialization sort key.
    pub updated_at: String,
    /// How sure the author is.
    pub confidence: Confidence,
    /// One-line summary.
    pub summary: String,
    /// Longer detail.
    pub detail: String,
    /// Attempt number, when known.
    pub attempt: Option<i64>,
    /// Who wrote it (`launcher`, `agent`, `feedback`, `benchmark-case`, …).
    pub source: String,
    /// Executor of the authoring agent, or empty.
    pub executor_id: String,
    /// Project id, or empty.
    pub project: String,
    /// Cross-lane: lane that asked.
    pub requester_lane: String,
    /// Cross-lane: lane that owns the work.
    pub owner_lane: String,
    /// Cross-lane: project that asked.
    pub requester_project: String,
    /// Cross-lane: project that owns the work.
    pub owner_project: String,
    /// Cross-lane: wave that asked.
    pub requester_wave: Option<i64>,
    /// Cross-lane: wave that owns the work.
    pub owner_wave: Option<i64>,
    /// Cross-lane: the ticket is required for closure.
    pub required: bool,
    /// Fields this schema does not know, kept verbatim and written after the known ones.
    pub extra: Map<String, Value>,
}

impl CoordinationRecord {
    /// Milliseconds since the epoch of `updatedAt`, or `None` when it does not parse.
    pub fn updated_millis(&self) -> Option<i64> {
        timestamp_millis(&self.updated_at)
    }

    /// Milliseconds since the epoch of `createdAt`, or `None` when it does not parse.
    pub fn created_millis(&self) -> Option<i64> {
        timestamp_millis(&self.created_at)
    }
}

/// Milliseconds of a stored timestamp as a JavaScript `Date.parse` would read the forms the
/// runtime writes: RFC 3339 instants and bare `YYYY-MM-DD` dates (UTC midnight).
pub fn timestamp_millis(text: &str) -> Option<i64> {
    if let Some(ms) = canonical_millis(text.as_bytes()) {
        return Some(ms);
    }
    if let Some(ms) = super::time::parse_millis(text) {
        return Some(ms);
    }
    let text = text.trim_matches(is_js_space);
    let date: jiff::civil::Date = text.parse().ok()?;
    if text.len() != 10 {
        return None;
    }
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// [`timestamp_millis`] of a time in the form every writer produces, given as bytes
/// (`YYYY-MM-DDTHH:MM:SS.mmmZ`); `None` for any other form, which [`timestamp_millis`] decides.
pub fn canonical_timestamp_millis(text: &[u8]) -> Option<i64> {
    canonical_millis(text)
}

/// [`canonical_timestamp_millis`] for a run of times that mostly share their minute, as a log's
/// lines do: the last canonical time's `YYYY-MM-DDTHH:MM` and its milliseconds are kept, so a
/// time in the same minute costs only its seconds and milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct MinuteCache {
    /// The minute's text, or zeros before the first canonical time.
    minute: [u8; 16],
    /// Milliseconds of the minute's start.
    base: i64,
}

impl MinuteCache {
    /// [`canonical_timestamp_millis`] of `text`.
    pub fn millis(&mut self, text: &[u8]) -> Option<i64> {
        let (minute, rest) = text.split_first_chunk::<16>()?;
        let tail = seconds_and_millis(rest)?;
        if self.minute != [0; 16] && *minute == self.minute {
            return Some(self.base + tail);
        }
        let ms = canonical_millis(text)?;
        self.minute = *minute;
        self.base = ms - tail;
        Some(ms)
    }
}

/// Milliseconds of the `:SS.mmmZ` that ends a canonical time; `None` for any other form.
fn seconds_and_millis(rest: &[u8]) -> Option<i64> {
    let &[b':', s1, s0, b'.', m2, m1, m0, b'Z'] = rest else {
        return None;
    };
    let mut value = 0i64;
    for c in [s1, s0, m2, m1, m0] {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(c - b'0');
    }
    // Seconds above 59 are not canonical.
    (value < 60_000).then_some(value)
}

/// Fast path for the form every writer produces, `YYYY-MM-DDTHH:MM:SS.mmmZ`; anything else
/// (other precisions, offsets, out-of-range fields) returns `None` and takes the general parser.
fn canonical_millis(b: &[u8]) -> Option<i64> {
    if b.len() != 24
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
        || b.get(19) != Some(&b'.')
        || b.get(23) != Some(&b'Z')
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let mut value = 0i64;
        for &c in b.get(from..to)? {
            if !c.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(c - b'0');
        }
        Some(value)
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second, milli) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if day < 1 || day > max_day || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days since 1970-01-01 (proleptic Gregorian, civil-from-days inverse).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli)
}

/// Known wire keys, in the order records are written.
const KNOWN_KEYS: [&str; 30] = [
    "recordVersion",
    "id",
    "kind",
    "wave",
    "lane",
    "agentId",
    "targets",
    "status",
    "priority",
    "blocking",
    "blockerSeverity",
    "artifactRefs",
    "dependsOn",
    "closureCondition",
    "createdAt",
    "updatedAt",
    "confidence",
    "summary",
    "detail",
    "attempt",
    "source",
    "executorId",
    "project",
    "requesterLane",
    "ownerLane",
    "requesterProject",
    "ownerProject",
    "requesterWave",
    "ownerWave",
    "required",
];

/// Slot of a known wire key in [`KNOWN_KEYS`].
fn key_index(key: &str) -> Option<usize> {
    Some(match key {
        "recordVersion" => 0,
        "id" => 1,
        "kind" => 2,
        "wave" => 3,
        "lane" => 4,
        "agentId" => 5,
        "targets" => 6,
        "status" => 7,
        "priority" => 8,
        "blocking" => 9,
        "blockerSeverity" => 10,
        "artifactRefs" => 11,
        "dependsOn" => 12,
        "closureCondition" => 13,
        "createdAt" => 14,
        "updatedAt" => 15,
        "confidence" => 16,
        "summary" => 17,
        "detail" => 18,
        "attempt" => 19,
        "source" => 20,
        "executorId" => 21,
        "project" => 22,
        "requesterLane" => 23,
        "ownerLane" => 24,
        "requesterProject" => 25,
        "ownerProject" => 26,
        "requesterWave" => 27,
        "ownerWave" => 28,
        "required" => 29,
        _ => return None,
    })
}

impl Serialize for CoordinationRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(KNOWN_KEYS.len() + self.extra.len()))?;
        map.serialize_entry("recordVersion", &RECORD_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("wave", &self.wave)?;
        map.serialize_entry("lane", &self.lane)?;
        map.serialize_entry("agentId", &self.agent_id)?;
        map.serialize_entry("targets", &self.targets)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("priority", &self.priority)?;
        map.serialize_entry("blocking", &self.blocking)?;
        map.serialize_entry("blockerSeverity", &self.blocker_severity)?;
        map.serialize_entry("artifactRefs", &self.artifact_refs)?;
        map.serialize_entry("dependsOn", &self.depends_on)?;
        map.serialize_entry("closureCondition", &self.closure_condition)?;
        map.serialize_entry("createdAt", &self.created_at)?;
        map.serialize_entry("updatedAt", &self.updated_at)?;
        map.serialize_entry("confidence", &self.confidence)?;
        map.serialize_entry("summary", &self.summary)?;
        map.serialize_entry("detail", &self.detail)?;
        map.serialize_entry("attempt", &self.attempt)?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("executorId", &self.executor_id)?;
        map.serialize_entry("project", &self.project)?;
        map.serialize_entry("requesterLane", &self.requester_lane)?;
        map.serialize_entry("ownerLane", &self.owner_lane)?;
        map.serialize_entry("requesterProject", &self.requester_project)?;
        map.serialize_entry("ownerProject", &self.owner_project)?;
        map.serialize_entry("requesterWave", &self.requester_wave)?;
        map.serialize_entry("ownerWave", &self.owner_wave)?;
        map.serialize_entry("required", &self.required)?;
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Reads a record that is already stored: loose input normalized with no defaults. A record
/// without `createdAt` is rejected here (there is no clock); use [`normalize`] with
/// [`RecordDefaults::now`] to accept one.
impl<'de> Deserialize<'de> for CoordinationRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawCoordinationRecord::deserialize(deserializer)?;
        normalize(raw, &RecordDefaults::default()).map_err(de::Error::custom)
    }
}

/// A record as it arrives: every known field as the loose JSON value it was written with
/// (`None` = absent, `Some(Value::Null)` = explicit null), plus the unknown fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawCoordinationRecord {
    /// Known fields by wire key, in [`KNOWN_KEYS`] order.
    fields: [Option<Value>; 30],
    /// Unknown fields, in input order.
    pub extra: Map<String, Value>,
}

impl RawCoordinationRecord {
    /// Builds a raw record from a JSON object; anything else is [`RecordProblem::NotAnObject`].
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        match value {
            Value::Object(map) => {
                let mut raw = Self::default();
                for (key, value) in map {
                    raw.insert(key, value);
                }
                Ok(raw)
            }
            _ => Err(RecordError::new(None, RecordProblem::NotAnObject)),
        }
    }

    /// Sets a field by wire key (known keys go to their slot, others to `extra`).
    pub fn insert(&mut self, key: String, value: Value) {
        match key_index(&key) {
            Some(index) => {
                if let Some(slot) = self.fields.get_mut(index) {
                    *slot = Some(value);
                }
            }
            None => {
                self.extra.insert(key, value);
            }
        }
    }

    /// The value of a known wire key, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let index = key_index(key)?;
        self.fields.get(index)?.as_ref()
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let index = key_index(key)?;
        self.fields.get_mut(index)?.take()
    }
}

impl<'de> Deserialize<'de> for RawCoordinationRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawCoordinationRecord;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a coordination record object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut raw = RawCoordinationRecord::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let value: Value = map.next_value()?;
                    match key_index(&key) {
                        Some(index) => {
                            if let Some(slot) = raw.fields.get_mut(index) {
                                *slot = Some(value);
                            }
                        }
                        None => {
                            raw.extra.insert(key.into_owned(), value);
                        }
                    }
                }
                Ok(raw)
            }
        }

        deserializer.deserialize_map(RawVisitor)
    }
}

/// Values a writer supplies for fields a record leaves out (upstream's `defaults` argument),
/// plus the clock reading used when neither names `createdAt`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordDefaults {
    /// Fallback id. Without one, a record with no id is an error.
    pub id: Option<String>,
    /// Fallback kind.
    pub kind: Option<String>,
    /// Fallback lane.
    pub lane: Option<String>,
    /// Fallback wave.
    pub wave: Option<i64>,
    /// Fallback author.
    pub agent_id: Option<String>,
    /// Fallback status.
    pub status: Option<String>,
    /// Fallback priority.
    pub priority: Option<String>,
    /// Fallback confidence.
    pub confidence: Option<String>,
    /// Fallback `blocking`.
    pub blocking: Option<bool>,
    /// Fallback severity.
    pub blocker_severity: Option<String>,
    /// Fallback `createdAt`.
    pub created_at: Option<String>,
    /// Fallback `updatedAt`.
    pub updated_at: Option<String>,
    /// Fallback targets.
    pub targets: Option<Vec<String>>,
    /// Fallback artifact refs.
    pub artifact_refs: Option<Vec<String>>,
    /// Fallback dependencies.
    pub depends_on: Option<Vec<String>>,
    /// Fallback closure condition.
    pub closure_condition: Option<String>,
    /// Fallback summary.
    pub summary: Option<String>,
    /// Fallback detail.
    pub detail: Option<String>,
    /// Fallback attempt.
    pub attempt: Option<i64>,
    /// Fallback source (else `launcher`).
    pub source: Option<String>,
    /// Fallback executor id.
    pub executor_id: Option<String>,
    /// Fallback project.
    pub project: Option<String>,
    /// Fallback requester lane.
    pub requester_lane: Option<String>,
    /// Fallback owner lane.
    pub owner_lane: Option<String>,
    /// Fallback requester project.
    pub requester_project: Option<String>,
    /// Fallback owner project.
    pub owner_project: Option<String>,
    /// Fallback requester wave.
    pub requester_wave: Option<i64>,
    /// Fallback owner wave.
    pub owner_wave: Option<i64>,
    /// Fallback `required`.
    pub required: Option<bool>,
    /// The current time (wire format), used for `createdAt` when nothing else names it.
    pub now: Option<String>,
}

/// Why one record is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    /// The JSON value is not an object.
    #[error("a coordination record must be a JSON object")]
    NotAnObject,
    /// The line is not JSON.
    #[error("not valid JSON ({message}); rewrite or delete the line")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// An enum field has a value outside its vocabulary.
    #[error("{field} must be one of {allowed} (got: {value})")]
    InvalidValue {
        /// Wire name of the field.
        field: &'static str,
        /// The value found (`empty` when empty).
        value: String,
        /// The allowed values.
        allowed: String,
    },
    /// `lane` is missing or empty.
    #[error("lane is required")]
    MissingLane,
    /// `wave` is missing, not an integer, or negative.
    #[error("wave must be a non-negative integer (got: {value})")]
    InvalidWave {
        /// The value found.
        value: String,
    },
    /// `agentId` is missing or empty.
    #[error("agentId is required")]
    MissingAgentId,
    /// No id and no fallback id.
    #[error("id is required")]
    MissingId,
    /// No `createdAt` and no clock reading to default it from.
    #[error("createdAt is required")]
    MissingCreatedAt,
}

/// An invalid coordination record, naming its id when it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RecordError {
    /// The record's id, when it has one.
    pub id: Option<String>,
    /// What is wrong.
    pub problem: RecordProblem,
}

impl RecordError {
    fn new(id: Option<String>, problem: RecordProblem) -> Self {
        Self { id, problem }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "coordination record {id}: {}", self.problem),
            None => write!(f, "coordination record: {}", self.problem),
        }
    }
}

/// An invalid line of a coordination log: its 1-based line number and the error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with the record on that line.
    pub error: RecordError,
}

/// Parses and normalizes one log line.
pub fn parse_line(
    line: &str,
    defaults: &RecordDefaults,
) -> Result<CoordinationRecord, RecordError> {
    let raw: RawCoordinationRecord = serde_json::from_str(line).map_err(|e| {
        let problem = if e.is_data() {
            RecordProblem::NotAnObject
        } else {
            RecordProblem::Json {
                message: e.to_string(),
            }
        };
        RecordError::new(None, problem)
    })?;
    normalize(raw, defaults)
}

/// Reads a whole JSONL log: blank lines are skipped, every valid record is returned in file
/// order, and every invalid line is reported with its line number instead of failing the log.
pub fn parse_log(
    text: &str,
    defaults: &RecordDefaults,
) -> (Vec<CoordinationRecord>, Vec<LineError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.trim_matches(is_js_space);
        if line.is_empty() {
            continue;
        }
        match parse_line(line, defaults) {
            Ok(record) => records.push(record),
            Err(error) => errors.push(LineError {
                line: index + 1,
                error,
            }),
        }
    }
    (records, errors)
}

/// Normalizes a loose record (§3.2): applies `defaults` and the schema defaults, parses loose
/// booleans and integers, lowercases and validates the vocabularies, deduplicates lists.
///
/// Falsy input values (empty string, `0`, `false`, `null`) fall back to the default for `id`,
/// `kind`, `lane`, `agentId`, `status`, `priority`, `confidence`, `createdAt` and `updatedAt`;
/// the other fields fall back only when absent or `null`, as upstream does.
pub fn normalize(
    mut raw: RawCoordinationRecord,
    defaults: &RecordDefaults,
) -> Result<CoordinationRecord, RecordError> {
    let id = {
        let given = raw
            .take("id")
            .map(|v| js_string(&v).into_owned())
            .unwrap_or_default();
        let given = given.trim_matches(is_js_space);
        if !given.is_empty() {
            given.to_owned()
        } else {
            match defaults
                .id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                Some(id) => id.to_owned(),
                None => return Err(RecordError::new(None, RecordProblem::MissingId)),
            }
        }
    };
    let fail = |problem: RecordProblem| RecordError::new(Some(id.clone()), problem);

    let kind_text = lowercase(or_default(raw.take("kind"), defaults.kind.as_deref()));
    let lane = or_default(raw.take("lane"), defaults.lane.as_deref());
    let wave_value = nullish(raw.take("wave"));
    let wave = match &wave_value {
        Some(v) => js_parse_int(&js_string(v)),
        None => defaults.wave,
    };
    let agent_id = or_default(raw.take("agentId"), defaults.agent_id.as_deref());
    let status_fallback = if kind_text == Kind::ResolvedByPolicy.as_str() {
        "resolved"
    } else {
        "open"
    };
    let status_text = lowercase(or_default(
        raw.take("status"),
        Some(
            defaults
                .status
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(status_fallback),
        ),
    ));
    let priority_text = lowercase(or_default(
        raw.take("priority"),
        Some(
            defaults
                .priority
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("normal"),
        ),
    ));
    let confidence_text = lowercase(or_default(
        raw.take("confidence"),
        Some(
            defaults
                .confidence
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("medium"),
        ),
    ));
    let explicit_blocking = loose_bool(raw.take("blocking")).or(defaults.blocking);
    let severity_text = match nullish(raw.take("blockerSeverity")) {
        Some(v) => js_string(&v).trim_matches(is_js_space).to_lowercase(),
        None => defaults
            .blocker_severity
            .as_deref()
            .unwrap_or("")
            .trim_matches(is_js_space)
            .to_lowercase(),
    };
    let created_at = {
        let text = or_default(raw.take("createdAt"), defaults.created_at.as_deref());
        if text.is_empty() {
            match defaults
                .now
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                Some(now) => now.to_owned(),
                None => return Err(fail(RecordProblem::MissingCreatedAt)),
            }
        } else {
            text
        }
    };
    let updated_at = {
        let text = or_default(raw.take("updatedAt"), defaults.updated_at.as_deref());
        if text.is_empty() {
            created_at.clone()
        } else {
            text
        }
    };

    let kind = Kind::parse(&kind_text)
        .ok_or_else(|| fail(invalid(Kind::LABEL, &kind_text, Kind::allowed())))?;
    let status = Status::parse(&status_text)
        .ok_or_else(|| fail(invalid(Status::LABEL, &status_text, Status::allowed())))?;
    let priority = Priority::parse(&priority_text).ok_or_else(|| {
        fail(invalid(
            Priority::LABEL,
            &priority_text,
            Priority::allowed(),
        ))
    })?;
    let confidence = Confidence::parse(&confidence_text).ok_or_else(|| {
        fail(invalid(
            Confidence::LABEL,
            &confidence_text,
            Confidence::allowed(),
        ))
    })?;
    let blocking = explicit_blocking.unwrap_or_else(|| kind.blocks_by_default());
    let blocker_severity = if severity_text.is_empty() {
        default_severity(kind, priority, blocking)
    } else {
        BlockerSeverity::parse(&severity_text).ok_or_else(|| {
            fail(invalid(
                BlockerSeverity::LABEL,
                &severity_text,
                BlockerSeverity::allowed(),
            ))
        })?
    };
    if lane.is_empty() {
        return Err(fail(RecordProblem::MissingLane));
    }
    let wave = match wave.and_then(|w| u64::try_from(w).ok()) {
        Some(w) => w,
        None => {
            let shown = wave_value
                .as_ref()
                .map(|v| js_string(v).into_owned())
                .unwrap_or_else(|| "undefined".to_owned());
            return Err(fail(RecordProblem::InvalidWave { value: shown }));
        }
    };
    if agent_id.is_empty() {
        return Err(fail(RecordProblem::MissingAgentId));
    }

    Ok(CoordinationRecord {
        kind,
        wave,
        lane,
        agent_id,
        targets: string_list(raw.take("targets"), defaults.targets.as_deref()),
        status,
        priority,
        blocking,
        blocker_severity,
        artifact_refs: string_list(raw.take("artifactRefs"), defaults.artifact_refs.as_deref()),
        depends_on: string_list(raw.take("dependsOn"), defaults.depends_on.as_deref()),
        closure_condition: text_field(
            raw.take("closureCondition"),
            defaults.closure_condition.as_deref(),
            "",
        ),
        created_at,
        updated_at,
        confidence,
        summary: text_field(raw.take("summary"), defaults.summary.as_deref(), ""),
        detail: text_field(raw.take("detail"), defaults.detail.as_deref(), ""),
        attempt: loose_int(raw.take("attempt"), defaults.attempt),
        source: text_field(raw.take("source"), defaults.source.as_deref(), "launcher"),
        executor_id: text_field(raw.take("executorId"), defaults.executor_id.as_deref(), ""),
        project: text_field(raw.take("project"), defaults.project.as_deref(), ""),
        requester_lane: text_field(
            raw.take("requesterLane"),
            defaults.requester_lane.as_deref(),
            "",
        ),
        owner_lane: text_field(raw.take("ownerLane"), defaults.owner_lane.as_deref(), ""),
        requester_project: text_field(
            raw.take("requesterProject"),
            defaults.requester_project.as_deref(),
            "",
        ),
        owner_project: text_field(
            raw.take("ownerProject"),
            defaults.owner_project.as_deref(),
            "",
        ),
        requester_wave: loose_int(raw.take("requesterWave"), defaults.requester_wave),
        owner_wave: loose_int(raw.take("ownerWave"), defaults.owner_wave),
        required: match raw.take("required") {
            Some(v) => js_truthy(&v),
            None => defaults.required.unwrap_or(false),
        },
        id,
        extra: raw.extra,
    })
}

fn invalid(field: &'static str, value: &str, allowed: String) -> RecordProblem {
    RecordProblem::InvalidValue {
        field,
        value: if value.is_empty() {
            "empty".to_owned()
        } else {
            value.to_owned()
        },
        allowed,
    }
}

/// `null` counts as absent (JavaScript `??`).
fn nullish(value: Option<Value>) -> Option<Value> {
    value.filter(|v| !v.is_null())
}

/// Lowercases without allocating when the text already is lowercase.
fn lowercase(text: String) -> String {
    if text.chars().any(char::is_uppercase) {
        text.to_lowercase()
    } else {
        text
    }
}

/// `String(raw || fallback || "").trim_matches(is_js_space)`: falsy input falls back.
fn or_default(value: Option<Value>, fallback: Option<&str>) -> String {
    match value.filter(js_truthy) {
        Some(Value::String(s)) => trim_owned(s),
        Some(v) => js_string(&v).trim_matches(is_js_space).to_owned(),
        None => fallback.unwrap_or("").trim_matches(is_js_space).to_owned(),
    }
}

/// `String(raw ?? fallback ?? "").trim_matches(is_js_space) || empty_default`.
fn text_field(value: Option<Value>, fallback: Option<&str>, empty_default: &str) -> String {
    let text = match nullish(value) {
        Some(Value::String(s)) => trim_owned(s),
        Some(v) => js_string(&v).trim_matches(is_js_space).to_owned(),
        None => fallback.unwrap_or("").trim_matches(is_js_space).to_owned(),
    };
    if text.is_empty() {
        empty_default.to_owned()
    } else {
        text
    }
}

fn trim_owned(s: String) -> String {
    let trimmed = s.trim_matches(is_js_space);
    if s.len() == trimmed.len() {
        s
    } else {
        trimmed.to_owned()
    }
}

/// Arrays become trimmed, non-empty, first-occurrence-deduplicated strings; anything else
/// (including `null` with no fallback) is empty.
fn string_list(value: Option<Value>, fallback: Option<&[String]>) -> Vec<String> {
    let items: Vec<String> = match nullish(value) {
        Some(Value::Array(values)) => values
            .into_iter()
            .map(|v| match v {
                Value::String(s) => trim_owned(s),
                other => js_string(&other).trim_matches(is_js_space).to_owned(),
            })
            .collect(),
        Some(_) => return Vec::new(),
        None => match fallback {
            Some(list) => list
                .iter()
                .map(|s| s.trim_matches(is_js_space).to_owned())
                .collect(),
            None => return Vec::new(),
        },
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Loose booleans: `true/1/yes/y/on`, `false/0/no/n/off`; `null`/`""`/absent → `None`;
/// anything else by JavaScript truthiness.
fn loose_bool(value: Option<Value>) -> Option<bool> {
    match value? {
        Value::Null => None,
        Value::Bool(b) => Some(b),
        Value::String(s) if s.is_empty() => None,
        other => {
            let text = js_string(&other).trim_matches(is_js_space).to_lowercase();
            match text.as_str() {
                "1" | "true" | "yes" | "y" | "on" => Some(true),
                "0" | "false" | "no" | "n" | "off" => Some(false),
                _ => Some(js_truthy(&other)),
            }
        }
    }
}

/// Loose integers (`attempt`, `requesterWave`, `ownerWave`): absent, `null` or `""` take the
/// fallback; otherwise `parseInt`, with a non-number becoming `None`.
fn loose_int(value: Option<Value>, fallback: Option<i64>) -> Option<i64> {
    match value {
        None | Some(Value::Null) => fallback,
        Some(Value::String(s)) if s.is_empty() => fallback,
        Some(v) => js_parse_int(&js_string(&v)),
    }
}

/// Whitespace as JavaScript's `trim()` and `\s` see it (which differs from Unicode
/// `White_Space`: U+FEFF is whitespace, U+0085 is not).
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// JavaScript truthiness of a JSON value.
pub fn js_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// JavaScript `String(value)` of a JSON value (`null` → `""`, as `String(value ?? "")`).
pub fn js_string(value: &Value) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match value {
        Value::Null => Cow::Borrowed(""),
        Value::Bool(true) => Cow::Borrowed("true"),
        Value::Bool(false) => Cow::Borrowed("false"),
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Number(n) => Cow::Owned(js_number_string(n)),
        Value::Array(items) => Cow::Owned(
            items
                .iter()
                .map(|v| js_string(v).into_owned())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Cow::Borrowed("[object Object]"),
    }
}

fn js_number_string(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        Some(f) => f.to_string(),
        None => n.to_string(),
    }
}

/// JavaScript `Number.parseInt(text, 10)`: leading whitespace, an optional sign, then the
/// longest run of decimal digits; `None` when there are no digits (NaN) or it overflows.
pub fn js_parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start_matches(is_js_space);
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or("")),
        Some(b'+') => (false, text.get(1..).unwrap_or("")),
        _ => (false, text),
    };
    let digits: &str = rest
        .find(|c: char| !c.is_ascii_digit())
        .map_or(rest, |end| rest.get(..end).unwrap_or(""));
    if digits.is_empty() {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(value: Value) -> Result<CoordinationRecord, RecordError> {
        let defaults = RecordDefaults {
            now: Some("2026-01-01T00:00:00.000Z".into()),
            ..RecordDefaults::default()
        };
        normalize(RawCoordinationRecord::from_value(value)?, &defaults)
    }

    #[test]
    fn applies_schema_defaults() {
        let r = norm(json!({"id":"r1","kind":"Request","lane":"main","wave":"2","agentId":"A1"}))
            .expect("valid");
        assert_eq!(r.kind, Kind::Request);
        assert_eq!(r.wave, 2);
        assert_eq!(r.status, Status::Open);
        assert_eq!(r.priority, Priority::Normal);
        assert_eq!(r.confidence, Confidence::Medium);
        assert!(r.blocking);
        assert_eq!(r.blocker_severity, BlockerSeverity::ClosureCritical);
        assert_eq!(r.created_at, "2026-01-01T00:00:00.000Z");
        assert_eq!(r.updated_at, r.created_at);
        assert_eq!(r.source, "launcher");
        assert_eq!(r.attempt, None);
        assert!(!r.required);
    }

    #[test]
    fn severity_defaults_follow_kind_priority_and_blocking() {
        let base = json!({"id":"b","lane":"main","wave":0,"agentId":"A1"});
        let with = |extra: Value| {
            let mut v = base.clone();
            if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
                obj.extend(more);
            }
            norm(v).expect("valid").blocker_severity
        };
        assert_eq!(
            with(json!({"kind":"blocker","priority":"high"})),
            BlockerSeverity::Hard
        );
        assert_eq!(with(json!({"kind":"blocker"})), BlockerSeverity::Soft);
        assert_eq!(
            with(json!({"kind":"human-feedback"})),
            BlockerSeverity::Hard
        );
        assert_eq!(
            with(json!({"kind":"request","blocking":"no"})),
            BlockerSeverity::Advisory
        );
        assert_eq!(with(json!({"kind":"evidence"})), BlockerSeverity::Advisory);
        let policy = norm(
            json!({"id":"p","kind":"resolved-by-policy","lane":"main","wave":0,"agentId":"A1"}),
        )
        .expect("valid");
        assert_eq!(policy.status, Status::Resolved);
    }

    #[test]
    fn loose_booleans_parse_like_upstream() {
        for (text, expected) in [
            ("yes", true),
            ("Y", true),
            ("on", true),
            ("1", true),
            ("off", false),
            ("n", false),
            ("0", false),
        ] {
            let r = norm(json!({"id":"x","kind":"evidence","lane":"l","wave":0,"agentId":"a","blocking":text}))
                .expect("valid");
            assert_eq!(r.blocking, expected, "{text}");
        }
        let r = norm(
            json!({"id":"x","kind":"request","lane":"l","wave":0,"agentId":"a","blocking":""}),
        )
        .expect("valid");
        assert!(r.blocking, "empty string falls back to the kind default");
    }

    #[test]
    fn invalid_enum_names_the_record() {
        let err = norm(json!({"id":"bad-1","kind":"request","lane":"l","wave":0,"agentId":"a","status":"done"}))
            .expect_err("invalid status");
        assert_eq!(err.id.as_deref(), Some("bad-1"));
        assert!(
            err.to_string()
                .contains("status must be one of open, acknowledged"),
            "{err}"
        );
        let err = norm(json!({"id":"w","kind":"request","lane":"l","wave":-1,"agentId":"a"}))
            .expect_err("negative wave");
        assert_eq!(
            err.problem,
            RecordProblem::InvalidWave { value: "-1".into() }
        );
    }

    #[test]
    fn lists_are_trimmed_and_deduplicated() {
        let r = norm(
            json!({"id":"x","kind":"request","lane":"l","wave":0,"agentId":"a",
            "targets":[" agent:A1 ","agent:A1","",null,"capability:db"], "dependsOn":"nope"}),
        )
        .expect("valid");
        assert_eq!(r.targets, vec!["agent:A1", "capability:db"]);
        assert!(r.depends_on.is_empty());
    }

    #[test]
    fn unknown_fields_round_trip() {
        let line = r#"{"id":"x","kind":"claim","lane":"l","wave":0,"agentId":"a","createdAt":"2026-01-01T00:00:00.000Z","writer":"w1","seq":7}"#;
        let r = parse_line(line, &RecordDefaults::default()).expect("valid");
        assert_eq!(r.extra.get("seq"), Some(&json!(7)));
        let written = serde_json::to_string(&r).expect("serializes");
        let again: CoordinationRecord = serde_json::from_str(&written).expect("reads back");
        assert_eq!(again, r);
        assert!(written.starts_with(r#"{"recordVersion":1,"id":"x","kind":"claim""#));
        assert!(written.ends_with(r#""required":false,"writer":"w1","seq":7}"#));
    }

    #[test]
    fn log_reports_bad_lines_and_keeps_the_rest() {
        let text = "{\"id\":\"a\",\"kind\":\"claim\",\"lane\":\"l\",\"wave\":0,\"agentId\":\"x\",\"createdAt\":\"2026-01-01T00:00:00Z\"}\n\n{oops\n{\"id\":\"b\",\"kind\":\"nope\",\"lane\":\"l\",\"wave\":0,\"agentId\":\"x\",\"createdAt\":\"2026-01-01T00:00:00Z\"}\n[1]\n";
        let (records, errors) = parse_log(text, &RecordDefaults::default());
        assert_eq!(records.len(), 1);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert_eq!(errors[1].error.id.as_deref(), Some("b"));
    }

    #[test]
    fn canonical_timestamps_take_the_fast_path_with_the_same_result() {
        for text in [
            "1970-01-01T00:00:00.000Z",
            "2026-11-22T01:59:59.999Z",
            "2024-02-29T12:00:00.500Z",
            "2000-03-01T00:00:00.001Z",
            "1969-12-31T23:59:59.999Z",
        ] {
            assert_eq!(
                canonical_millis(text.as_bytes()),
                crate::event::time::parse_millis(text),
                "{text}"
            );
        }
        assert_eq!(canonical_millis(b"2023-02-29T00:00:00.000Z"), None);
        assert_eq!(timestamp_millis("2023-02-29T00:00:00.000Z"), None);
        assert_eq!(
            timestamp_millis("2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(timestamp_millis("2026-01-01"), Some(1_767_225_600_000));
    }

    proptest::proptest! {
        /// A run of times through one cache reads each as the fast path alone does, whatever
        /// minutes, seconds and damage follow each other.
        #[test]
        fn the_minute_cache_agrees_with_the_fast_path(
            times in proptest::collection::vec(
                ("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]", "[0-9]{2}", "[0-9]{3}", "Z|z|\\+|", 0u8..4),
                1..40,
            ),
        ) {
            let mut cache = MinuteCache::default();
            let mut last_minute = String::new();
            for (minute, seconds, millis, zone, reuse) in times {
                // Now and then, stay in the previous minute, as a log's lines do.
                let minute = if reuse > 0 && !last_minute.is_empty() { last_minute.clone() } else { minute };
                let text = format!("{minute}:{seconds}.{millis}{zone}");
                proptest::prop_assert_eq!(cache.millis(text.as_bytes()), canonical_millis(text.as_bytes()), "{}", text);
                last_minute = minute;
            }
        }
    }

    #[test]
    fn the_minute_cache_never_reuses_a_minute_it_did_not_read() {
        let mut cache = MinuteCache::default();
        let zeros = [0u8; 24];
        assert_eq!(cache.millis(&zeros), None);
        assert_eq!(
            cache.millis(b"2026-11-22T01:00:59.999Z"),
            canonical_millis(b"2026-11-22T01:00:59.999Z")
        );
        assert_eq!(cache.millis(b"2026-11-22T01:00:60.000Z"), None);
        assert_eq!(cache.millis(b"2026-11-22T01:00:0a.000Z"), None);
        assert_eq!(
            cache.millis(b"2026-11-22T01:00:01.000Z"),
            canonical_millis(b"2026-11-22T01:00:01.000Z")
        );
        assert_eq!(cache.millis(b"2023-02-29T00:00:00.000Z"), None);
    }

    #[test]
    fn trims_the_javascript_whitespace_set() {
        let r = norm(
            json!({"id":"\u{feff}x\u{a0}","kind":"claim","lane":"l","wave":0,"agentId":"a",
            "summary":"\u{85}keep\u{85}"}),
        )
        .expect("valid");
        assert_eq!(r.id, "x");
        assert_eq!(r.summary, "\u{85}keep\u{85}");
    }

    #[test]
    fn parse_int_matches_javascript() {
        assert_eq!(js_parse_int(" 42abc"), Some(42));
        assert_eq!(js_parse_int("-3"), Some(-3));
        assert_eq!(js_parse_int("2.9"), Some(2));
        assert_eq!(js_parse_int("x1"), None);
        assert_eq!(js_parse_int(""), None);
        assert_eq!(js_string(&json!(3.0)), "3");
        assert_eq!(js_string(&json!([1, "a", null])), "1,a,");
    }
}
