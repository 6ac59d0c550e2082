//! The reducer's view of a coordination record and the streaming last-record-per-id fold.
//!
//! The fold keeps one entry per distinct id: the winning record under upstream's order (sort by
//! `(updatedAt, id)`, stable, so among equal times the later arrival wins), with `createdAt` taken
//! from the id's first record in that order. Records are folded one at a time, so memory follows
//! the number of distinct ids, never the length of the log; folding the same sequence in one pass
//! or in pieces gives the same state, and a record delivered twice changes nothing.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;

/// Record kinds (§3.2).
pub const KINDS: [&str; 13] = [
    "request",
    "ack",
    "claim",
    "evidence",
    "decision",
    "blocker",
    "handoff",
    "clarification-request",
    "orchestrator-guidance",
    "resolved-by-policy",
    "human-escalation",
    "human-feedback",
    "integration-summary",
];

const STATUSES: [&str; 7] = [
    "open",
    "acknowledged",
    "in_progress",
    "resolved",
    "closed",
    "superseded",
    "cancelled",
];

const SEVERITIES: [&str; 6] = [
    "hard",
    "soft",
    "stale",
    "advisory",
    "proof-critical",
    "closure-critical",
];

/// A coordination record, normalized, with the fields the reducer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordRecord {
    /// Record id.
    pub id: String,
    /// Kind (one of [`KINDS`]).
    pub kind: String,
    /// Lane.
    pub lane: String,
    /// Wave.
    pub wave: Option<u64>,
    /// Author.
    pub agent_id: String,
    /// Targets (`agent:<id>`, `capability:<cap>`, bare ids).
    pub targets: Vec<String>,
    /// Status (open, acknowledged, in_progress, resolved, closed, superseded, cancelled).
    pub status: String,
    /// Priority (low, normal, high, urgent).
    pub priority: String,
    /// Whether it may block the wave.
    pub blocking: bool,
    /// Blocker severity.
    pub blocker_severity: String,
    /// Artifact references.
    pub artifact_refs: Vec<String>,
    /// Ids it depends on.
    pub depends_on: Vec<String>,
    /// Closure condition (`clarification:<id>`, `required=true`, …).
    pub closure_condition: String,
    /// Creation time (from the id's first record).
    pub created_at: String,
    /// Last update time.
    pub updated_at: String,
    /// Summary.
    pub summary: String,
    /// Detail.
    pub detail: String,
    /// Source (`launcher`, `agent`, `feedback`, …).
    pub source: String,
    /// Requesting lane (dependency tickets).
    pub requester_lane: String,
    /// Owning lane (dependency tickets).
    pub owner_lane: String,
    /// Requesting wave (dependency tickets).
    pub requester_wave: Option<u64>,
    /// Owning wave (dependency tickets).
    pub owner_wave: Option<u64>,
    /// Whether the ticket is required.
    pub required: bool,
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
#[derive(Debug, Clone, Copy)]
struct BoolLike(Option<bool>);

impl<'de> Deserialize<'de> for BoolLike {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Bool(bool),
            Num(f64),
            #[serde(borrow)]
            Text(Cow<'a, str>),
            Null(()),
        }
        Ok(BoolLike(match Raw::deserialize(d)? {
            Raw::Bool(b) => Some(b),
            Raw::Num(n) => Some(n != 0.0),
            Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "y" | "on" => Some(true),
                "false" | "0" | "no" | "n" | "off" => Some(false),
                _ => None,
            },
            Raw::Null(()) => None,
        }))
    }
}

/// A non-negative integer that may be written as a number or as text.
#[derive(Debug, Clone, Copy)]
struct UintLike(Option<u64>);

impl<'de> Deserialize<'de> for UintLike {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Int(u64),
            Num(f64),
            #[serde(borrow)]
            Text(Cow<'a, str>),
            Null(()),
        }
        Ok(UintLike(match Raw::deserialize(d)? {
            Raw::Int(n) => Some(n),
            Raw::Num(n) if n >= 0.0 => Some(n.trunc() as u64),
            Raw::Num(_) | Raw::Null(()) => None,
            Raw::Text(t) => t.trim().parse().ok(),
        }))
    }
}

/// The wire form, borrowed from the line where possible. Unknown fields are ignored here; the
/// coordination log keeps them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    lane: Option<Cow<'a, str>>,
    #[serde(default)]
    wave: Option<UintLike>,
    #[serde(borrow, default)]
    agent_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    targets: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    priority: Option<Cow<'a, str>>,
    #[serde(default)]
    blocking: Option<BoolLike>,
    #[serde(borrow, default)]
    blocker_severity: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    artifact_refs: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    depends_on: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    closure_condition: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    summary: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    requester_lane: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    owner_lane: Option<Cow<'a, str>>,
    #[serde(default)]
    requester_wave: Option<UintLike>,
    #[serde(default)]
    owner_wave: Option<UintLike>,
    #[serde(default)]
    required: Option<BoolLike>,
}

fn trimmed(value: Option<Cow<'_, str>>) -> String {
    match value {
        Some(v) => {
            let t = v.trim();
            if t.len() == v.len() {
                v.into_owned()
            } else {
                t.to_owned()
            }
        }
        None => String::new(),
    }
}

fn list(values: Option<Vec<Cow<'_, str>>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values.into_iter().flatten() {
        let t = v.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// Default `blocking` for a kind (§3.2).
pub fn default_blocking(kind: &str) -> bool {
    matches!(
        kind,
        "request" | "blocker" | "clarification-request" | "human-escalation" | "human-feedback"
    )
}

/// Default severity for a kind, priority and blocking flag (§3.2).
pub fn default_severity(kind: &str, priority: &str, blocking: bool) -> &'static str {
    if !blocking {
        return "advisory";
    }
    match kind {
        "human-escalation" | "human-feedback" => "hard",
        "request" | "clarification-request" => "closure-critical",
        "blocker" if matches!(priority, "high" | "urgent") => "hard",
        "blocker" => "soft",
        _ => "advisory",
    }
}

impl CoordRecord {
    /// Parses and normalizes one JSONL line. `now` fills a missing `createdAt`.
    pub fn from_line(line: &str, now: &str) -> Result<Self, RecordError> {
        let raw: Raw<'_> = serde_json::from_str(line).map_err(|e| RecordError::Json {
            message: e.to_string(),
        })?;
        Self::from_raw(raw, now)
    }

    fn from_raw(raw: Raw<'_>, now: &str) -> Result<Self, RecordError> {
        let kind = trimmed(raw.kind).to_ascii_lowercase();
        if kind.is_empty() {
            return Err(RecordError::Missing { field: "kind" });
        }
        if !KINDS.contains(&kind.as_str()) {
            return Err(RecordError::Invalid {
                field: "kind",
                value: kind,
            });
        }
        let lane = trimmed(raw.lane);
        if lane.is_empty() {
            return Err(RecordError::Missing { field: "lane" });
        }
        let agent_id = trimmed(raw.agent_id);
        if agent_id.is_empty() {
            return Err(RecordError::Missing { field: "agentId" });
        }
        let wave = raw.wave.and_then(|w| w.0);
        let status = match trimmed(raw.status).to_ascii_lowercase() {
            s if s.is_empty() && kind == "resolved-by-policy" => "resolved".to_owned(),
            s if s.is_empty() => "open".to_owned(),
            s if STATUSES.contains(&s.as_str()) => s,
            s => {
                return Err(RecordError::Invalid {
                    field: "status",
                    value: s,
                });
            }
        };
        let priority = match trimmed(raw.priority).to_ascii_lowercase() {
            p if p.is_empty() => "normal".to_owned(),
            p if matches!(p.as_str(), "low" | "normal" | "high" | "urgent") => p,
            p => {
                return Err(RecordError::Invalid {
                    field: "priority",
                    value: p,
                });
            }
        };
        let blocking = raw
            .blocking
            .and_then(|b| b.0)
            .unwrap_or_else(|| default_blocking(&kind));
        let blocker_severity = match trimmed(raw.blocker_severity).to_ascii_lowercase() {
            s if SEVERITIES.contains(&s.as_str()) => s,
            _ => default_severity(&kind, &priority, blocking).to_owned(),
        };
        let id = match trimmed(raw.id) {
            id if id.is_empty() => return Err(RecordError::Missing { field: "id" }),
            id => id,
        };
        let created_at = match trimmed(raw.created_at) {
            c if c.is_empty() => now.to_owned(),
            c => c,
        };
        let updated_at = match trimmed(raw.updated_at) {
            u if u.is_empty() => created_at.clone(),
            u => u,
        };
        let source = match trimmed(raw.source) {
            s if s.is_empty() => "launcher".to_owned(),
            s => s,
        };
        Ok(CoordRecord {
            id,
            kind,
            lane,
            wave,
            agent_id,
            targets: list(raw.targets),
            status,
            priority,
            blocking,
            blocker_severity,
            artifact_refs: list(raw.artifact_refs),
            depends_on: list(raw.depends_on),
            closure_condition: trimmed(raw.closure_condition),
            created_at,
            updated_at,
            summary: trimmed(raw.summary),
            detail: trimmed(raw.detail),
            source,
            requester_lane: trimmed(raw.requester_lane),
            owner_lane: trimmed(raw.owner_lane),
            requester_wave: raw.requester_wave.and_then(|w| w.0),
            owner_wave: raw.owner_wave.and_then(|w| w.0),
            required: raw.required.and_then(|b| b.0).unwrap_or(false),
        })
    }

    /// Open statuses: open, acknowledged, in_progress.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status.as_str(),
            "open" | "acknowledged" | "in_progress"
        )
    }

    /// `blocksWave` (§3.4): open, blocking, and not a stale or advisory severity.
    pub fn blocks_wave(&self) -> bool {
        self.is_open()
            && self.blocking
            && !matches!(self.blocker_severity.as_str(), "stale" | "advisory")
    }

    /// The clarification id of a `clarification:<id>` closure condition.
    pub fn clarification_condition(&self) -> Option<&str> {
        self.closure_condition
            .strip_prefix("clarification:")
            .filter(|s| !s.is_empty())
    }

    /// The first `agent:<id>` target.
    pub fn first_agent_target(&self) -> Option<&str> {
        self.targets.iter().find_map(|t| t.strip_prefix("agent:"))
    }

    /// Upstream's timestamp order key for `updatedAt`.
    fn updated_millis(&self) -> i64 {
        crate::event::time::parse_millis(&self.updated_at).unwrap_or(i64::MIN)
    }
}

/// One id's state in the fold: the winning record and the order keys of the latest and first
/// versions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    latest: CoordRecord,
    latest_key: (i64, u64),
    first_key: (i64, u64),
}

/// Streaming last-record-per-id fold of coordination records.
///
/// Each record comes with its position in the merged stream (the line number of a single-file
/// log, the index in `(at, writer, seq)` order for a store). A record wins over another of the
/// same id when its `(updatedAt, position)` is greater, so the fold is a per-id maximum: the
/// result does not depend on the order records are pushed in, and pushing the same record at the
/// same position again changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoordFold {
    slots: HashMap<String, Slot>,
}

impl CoordFold {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds one record found at `position` in the merged stream.
    pub fn push(&mut self, record: CoordRecord, position: u64) {
        let key = (record.updated_millis(), position);
        match self.slots.get_mut(&record.id) {
            None => {
                self.slots.insert(
                    record.id.clone(),
                    Slot {
                        latest: record,
                        latest_key: key,
                        first_key: key,
                    },
                );
            }
            Some(slot) => {
                if key < slot.first_key {
                    // An earlier version arrived late: its createdAt is the id's.
                    slot.first_key = key;
                    slot.latest.created_at = record.created_at.clone();
                }
                if key >= slot.latest_key {
                    let created_at = if slot.first_key == key {
                        record.created_at.clone()
                    } else {
                        std::mem::take(&mut slot.latest.created_at)
                    };
                    slot.latest = record;
                    slot.latest.created_at = created_at;
                    slot.latest_key = key;
                }
            }
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

    /// The latest record of an id.
    pub fn get(&self, id: &str) -> Option<&CoordRecord> {
        self.slots.get(id).map(|s| &s.latest)
    }

    /// Latest records in upstream's order: `(updatedAt, id)`.
    pub fn latest(&self) -> Vec<&CoordRecord> {
        let mut out: Vec<&Slot> = self.slots.values().collect();
        out.sort_by(|a, b| (a.latest_key.0, &a.latest.id).cmp(&(b.latest_key.0, &b.latest.id)));
        out.into_iter().map(|s| &s.latest).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(r.kind, "blocker");
        assert_eq!(r.status, "open");
        assert!(r.blocking);
        assert_eq!(r.blocker_severity, "hard");
        assert_eq!(r.wave, Some(1));
        assert_eq!(r.created_at, "2026-01-01T00:00:00.000Z");
        assert_eq!(r.updated_at, r.created_at);
        assert_eq!(r.source, "launcher");
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
    fn latest_wins_and_created_at_stays_from_the_first() {
        let mut fold = CoordFold::new();
        fold.push(
            rec(&line(
                "r",
                "resolved",
                "2026-01-01T00:05:00.000Z",
                "2026-01-01T00:05:00.000Z",
            )),
            1,
        );
        fold.push(
            rec(&line(
                "r",
                "open",
                "2026-01-01T00:01:00.000Z",
                "2026-01-01T00:01:00.000Z",
            )),
            0,
        );
        let r = fold.get("r").expect("present");
        assert_eq!(r.status, "resolved");
        assert_eq!(r.created_at, "2026-01-01T00:01:00.000Z");
        // Equal times: the later position wins.
        fold.push(
            rec(&line(
                "r",
                "closed",
                "2026-01-01T00:09:00.000Z",
                "2026-01-01T00:05:00.000Z",
            )),
            2,
        );
        assert_eq!(fold.get("r").map(|r| r.status.as_str()), Some("closed"));
        assert_eq!(
            fold.get("r").map(|r| r.created_at.as_str()),
            Some("2026-01-01T00:01:00.000Z")
        );
    }
}
