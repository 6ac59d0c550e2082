//! Control-plane events (spec §4.1–§4.2): the canonical log of attempts, agent runs, rerun
//! requests, proof bundles, human input and the other entity types the runtime records.
//!
//! Owns: the event type, its normalization on read and on write (defaults, lowercased action and
//! entity type, enum checks) and its wire form. Unknown top-level fields are kept and written back
//! unchanged, so a newer writer's additions survive a round trip.
//! Must not: know where events are stored, read the clock (the caller passes the time used for a
//! missing `recordedAt`) or interpret `data` (that is `engine::control`).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The only record version this module writes; readers accept any.
pub const RECORD_VERSION: u64 = 1;

/// What a control-plane event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// A control task.
    Task,
    /// A registered proof bundle (§4.4).
    ProofBundle,
    /// A request to rerun agents or resume from a phase.
    RerunRequest,
    /// One attempt of a wave.
    Attempt,
    /// A human-input request and its answer.
    HumanInput,
    /// A detected contradiction between agents' claims.
    Contradiction,
    /// A fact introduced by an agent.
    Fact,
    /// The wave run as a whole.
    WaveRun,
    /// One agent process in one attempt.
    AgentRun,
    /// The wave's signal snapshot.
    WaveSignal,
    /// An agent's signal snapshot.
    AgentSignal,
    /// A mirrored coordination record.
    CoordinationRecord,
    /// A gate evaluation.
    Gate,
    /// An artifact.
    Artifact,
    /// A benchmark run.
    BenchmarkRun,
    /// One benchmark item.
    BenchmarkItem,
    /// A verification.
    Verification,
    /// A review.
    Review,
}

impl EntityType {
    /// Every entity type, in the order the spec lists them.
    pub const ALL: [EntityType; 18] = [
        EntityType::Task,
        EntityType::ProofBundle,
        EntityType::RerunRequest,
        EntityType::Attempt,
        EntityType::HumanInput,
        EntityType::Contradiction,
        EntityType::Fact,
        EntityType::WaveRun,
        EntityType::AgentRun,
        EntityType::WaveSignal,
        EntityType::AgentSignal,
        EntityType::CoordinationRecord,
        EntityType::Gate,
        EntityType::Artifact,
        EntityType::BenchmarkRun,
        EntityType::BenchmarkItem,
        EntityType::Verification,
        EntityType::Review,
    ];

    /// The wire name (`proof_bundle`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Task => "task",
            EntityType::ProofBundle => "proof_bundle",
            EntityType::RerunRequest => "rerun_request",
            EntityType::Attempt => "attempt",
            EntityType::HumanInput => "human_input",
            EntityType::Contradiction => "contradiction",
            EntityType::Fact => "fact",
            EntityType::WaveRun => "wave_run",
            EntityType::AgentRun => "agent_run",
            EntityType::WaveSignal => "wave_signal",
            EntityType::AgentSignal => "agent_signal",
            EntityType::CoordinationRecord => "coordination_record",
            EntityType::Gate => "gate",
            EntityType::Artifact => "artifact",
            EntityType::BenchmarkRun => "benchmark_run",
            EntityType::BenchmarkItem => "benchmark_item",
            EntityType::Verification => "verification",
            EntityType::Review => "review",
        }
    }

    /// Parses a wire name, ignoring case and surrounding space.
    pub fn parse(text: &str) -> Option<Self> {
        let wanted = text.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.as_str() == wanted)
    }
}

/// The kind of run an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunKind {
    /// A planned roadmap wave (the default).
    Roadmap,
    /// An ad-hoc run.
    Adhoc,
    /// A benchmark run.
    Benchmark,
    /// A service run.
    Service,
    /// Not known.
    Unknown,
}

impl RunKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Roadmap => "roadmap",
            RunKind::Adhoc => "adhoc",
            RunKind::Benchmark => "benchmark",
            RunKind::Service => "service",
            RunKind::Unknown => "unknown",
        }
    }

    /// Parses a wire name, ignoring case and surrounding space.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "roadmap" => Some(RunKind::Roadmap),
            "adhoc" => Some(RunKind::Adhoc),
            "benchmark" => Some(RunKind::Benchmark),
            "service" => Some(RunKind::Service),
            "unknown" => Some(RunKind::Unknown),
            _ => None,
        }
    }
}

/// Why a control-plane event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlEventError {
    /// The line is not a JSON object.
    #[error("a control-plane event must be a JSON object; rewrite the line as one object")]
    NotAnObject,
    /// A required field is missing or empty.
    #[error("control-plane event field `{field}` is required; add it to the event")]
    Missing {
        /// The missing field's wire name.
        field: &'static str,
    },
    /// An entity type outside the known set.
    #[error(
        "unknown control-plane entityType `{value}`; use one of task, proof_bundle, rerun_request, attempt, human_input, contradiction, fact, wave_run, agent_run, wave_signal, agent_signal, coordination_record, gate, artifact, benchmark_run, benchmark_item, verification, review"
    )]
    EntityType {
        /// The rejected value.
        value: String,
    },
    /// A run kind outside the known set.
    #[error(
        "unknown control-plane runKind `{value}`; use roadmap, adhoc, benchmark, service or unknown"
    )]
    RunKind {
        /// The rejected value.
        value: String,
    },
    /// A number field that is not a non-negative integer.
    #[error("control-plane field `{field}` must be a non-negative integer, got `{value}`")]
    NotANumber {
        /// The field's wire name.
        field: &'static str,
        /// The rejected value as text.
        value: String,
    },
    /// `data` is present but not an object.
    #[error("control-plane field `data` must be an object")]
    DataNotObject,
}

/// Values used for fields an event leaves out (upstream's `defaults` argument).
#[derive(Debug, Clone, Default)]
pub struct EventDefaults {
    /// Lane when the event has none.
    pub lane: Option<String>,
    /// Wave when the event has none.
    pub wave: Option<u64>,
    /// Run kind when the event has none (else `roadmap`).
    pub run_kind: Option<RunKind>,
    /// Run id when the event has none.
    pub run_id: Option<String>,
    /// Source when the event has none (else `launcher`).
    pub source: Option<String>,
    /// Actor when the event has none (else empty).
    pub actor: Option<String>,
    /// `recordedAt` when the event has none; without it a missing `recordedAt` is an error.
    pub recorded_at: Option<String>,
    /// Attempt when the event has none.
    pub attempt: Option<u64>,
}

/// One normalized control-plane event.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlEvent {
    /// Event id (`ctrl-<entityType>-<8 hex>` when none was given).
    pub id: String,
    /// Lane.
    pub lane: String,
    /// Wave number.
    pub wave: u64,
    /// Run kind.
    pub run_kind: RunKind,
    /// Run id, if any.
    pub run_id: Option<String>,
    /// Entity type.
    pub entity_type: EntityType,
    /// Entity id (`wave-0-attempt-1`, a proof bundle id, …).
    pub entity_id: String,
    /// Action, lowercased (`started`, `registered`, …).
    pub action: String,
    /// Who wrote it (default `launcher`).
    pub source: String,
    /// The acting operator or agent (may be empty).
    pub actor: String,
    /// When it was recorded (wire timestamp).
    pub recorded_at: String,
    /// Attempt number, if any.
    pub attempt: Option<u64>,
    /// Entity data merged into the entity's snapshot.
    pub data: Map<String, Value>,
    /// Top-level fields this version does not know, kept verbatim.
    pub extra: Map<String, Value>,
}

const KNOWN_FIELDS: [&str; 14] = [
    "recordVersion",
    "id",
    "lane",
    "wave",
    "runKind",
    "runId",
    "entityType",
    "entityId",
    "action",
    "source",
    "actor",
    "recordedAt",
    "attempt",
    "data",
];

/// Text of a JSON scalar, trimmed; `None` for null, missing, empty or non-scalar values.
pub(crate) fn text_of(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A non-negative integer from a number or numeric text (leading digits, like `parseInt`).
pub(crate) fn uint_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.trunc() as u64)),
        Value::String(s) => {
            let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        }
        _ => None,
    }
}

impl ControlEvent {
    /// Normalizes a raw JSON value into an event, filling defaults.
    pub fn from_value(value: Value, defaults: &EventDefaults) -> Result<Self, ControlEventError> {
        let Value::Object(mut obj) = value else {
            return Err(ControlEventError::NotAnObject);
        };
        let entity_text = text_of(obj.get("entityType")).ok_or(ControlEventError::Missing {
            field: "entityType",
        })?;
        let entity_type = EntityType::parse(&entity_text)
            .ok_or(ControlEventError::EntityType { value: entity_text })?;
        let lane = text_of(obj.get("lane"))
            .or_else(|| defaults.lane.clone())
            .ok_or(ControlEventError::Missing { field: "lane" })?;
        let wave = match obj.get("wave").filter(|v| !v.is_null()) {
            Some(v) => uint_of(v).ok_or_else(|| ControlEventError::NotANumber {
                field: "wave",
                value: v.to_string(),
            })?,
            None => defaults
                .wave
                .ok_or(ControlEventError::Missing { field: "wave" })?,
        };
        let entity_id =
            text_of(obj.get("entityId")).ok_or(ControlEventError::Missing { field: "entityId" })?;
        let action = text_of(obj.get("action"))
            .map(|a| a.to_lowercase())
            .ok_or(ControlEventError::Missing { field: "action" })?;
        let run_kind = match text_of(obj.get("runKind")) {
            Some(text) => {
                RunKind::parse(&text).ok_or(ControlEventError::RunKind { value: text })?
            }
            None => defaults.run_kind.unwrap_or(RunKind::Roadmap),
        };
        let recorded_at = text_of(obj.get("recordedAt"))
            .or_else(|| defaults.recorded_at.clone())
            .ok_or(ControlEventError::Missing {
                field: "recordedAt",
            })?;
        let attempt = match obj.get("attempt") {
            None | Some(Value::Null) => defaults.attempt,
            Some(Value::String(s)) if s.is_empty() => defaults.attempt,
            Some(v) => Some(uint_of(v).ok_or_else(|| ControlEventError::NotANumber {
                field: "attempt",
                value: v.to_string(),
            })?),
        };
        let data = match obj.remove("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(ControlEventError::DataNotObject),
        };
        let id = text_of(obj.get("id")).unwrap_or_else(|| {
            default_id(entity_type, &lane, wave, &entity_id, &action, &recorded_at)
        });
        let event = ControlEvent {
            id,
            run_id: text_of(obj.get("runId")).or_else(|| defaults.run_id.clone()),
            source: text_of(obj.get("source"))
                .or_else(|| defaults.source.clone())
                .unwrap_or_else(|| "launcher".to_owned()),
            actor: text_of(obj.get("actor"))
                .or_else(|| defaults.actor.clone())
                .unwrap_or_default(),
            lane,
            wave,
            run_kind,
            entity_type,
            entity_id,
            action,
            recorded_at,
            attempt,
            data,
            extra: Map::new(),
        };
        let extra = obj
            .into_iter()
            .filter(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str()))
            .collect();
        Ok(ControlEvent { extra, ..event })
    }

    /// Parses and normalizes one JSONL line.
    pub fn from_line(line: &str, defaults: &EventDefaults) -> Result<Self, ControlLineError> {
        let value: Value = serde_json::from_str(line).map_err(|e| ControlLineError::Json {
            message: e.to_string(),
        })?;
        Self::from_value(value, defaults).map_err(ControlLineError::Event)
    }

    /// The wire form: upstream's field order, then unknown fields.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("recordVersion".into(), Value::from(RECORD_VERSION));
        obj.insert("id".into(), Value::from(self.id.clone()));
        obj.insert("lane".into(), Value::from(self.lane.clone()));
        obj.insert("wave".into(), Value::from(self.wave));
        obj.insert("runKind".into(), Value::from(self.run_kind.as_str()));
        obj.insert(
            "runId".into(),
            self.run_id.clone().map_or(Value::Null, Value::from),
        );
        obj.insert("entityType".into(), Value::from(self.entity_type.as_str()));
        obj.insert("entityId".into(), Value::from(self.entity_id.clone()));
        obj.insert("action".into(), Value::from(self.action.clone()));
        obj.insert("source".into(), Value::from(self.source.clone()));
        obj.insert("actor".into(), Value::from(self.actor.clone()));
        obj.insert("recordedAt".into(), Value::from(self.recorded_at.clone()));
        obj.insert(
            "attempt".into(),
            self.attempt.map_or(Value::Null, Value::from),
        );
        obj.insert("data".into(), Value::Object(self.data.clone()));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        Value::Object(obj)
    }

    /// One JSONL line (no trailing newline).
    pub fn to_line(&self) -> String {
        self.to_value().to_string()
    }

    /// Read order: `(recordedAt as an instant, id)`; an unparsable time sorts first.
    pub fn order_key(&self) -> (i64, &str) {
        let millis = crate::event::time::parse_millis(&self.recorded_at).unwrap_or(i64::MIN);
        (millis, self.id.as_str())
    }
}

/// Why a control-plane line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlLineError {
    /// Not JSON.
    #[error("not valid JSON ({message}); fix or delete the line")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// JSON but not a valid event.
    #[error(transparent)]
    Event(ControlEventError),
}

/// A deterministic default id: `ctrl-<entityType>-<8 hex>` from the event's identity.
fn default_id(
    entity_type: EntityType,
    lane: &str,
    wave: u64,
    entity_id: &str,
    action: &str,
    recorded_at: &str,
) -> String {
    let mut hasher = Sha256::new();
    for part in [lane, &wave.to_string(), entity_id, action, recorded_at] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hex::encode(hasher.finalize());
    format!("ctrl-{}-{}", entity_type.as_str(), &digest[..8])
}

/// Sorts events into read order: `(recordedAt, id)`, stable.
pub fn sort_events(events: &mut [ControlEvent]) {
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> EventDefaults {
        EventDefaults {
            recorded_at: Some("2026-01-01T00:00:00.000Z".into()),
            ..EventDefaults::default()
        }
    }

    #[test]
    fn fills_defaults_and_lowercases_action() {
        let ev = ControlEvent::from_value(
            json!({"lane":"main","wave":"2","entityType":" Attempt ","entityId":"wave-2-attempt-1","action":"RUNNING"}),
            &defaults(),
        )
        .expect("valid");
        assert_eq!(ev.entity_type, EntityType::Attempt);
        assert_eq!(ev.action, "running");
        assert_eq!(ev.wave, 2);
        assert_eq!(ev.source, "launcher");
        assert_eq!(ev.actor, "");
        assert_eq!(ev.run_kind, RunKind::Roadmap);
        assert_eq!(ev.recorded_at, "2026-01-01T00:00:00.000Z");
        assert!(ev.id.starts_with("ctrl-attempt-"), "{}", ev.id);
        assert_eq!(ev.id.len(), "ctrl-attempt-".len() + 8);
        assert!(ev.data.is_empty());
    }

    #[test]
    fn every_entity_type_round_trips() {
        for t in EntityType::ALL {
            assert_eq!(EntityType::parse(&t.as_str().to_uppercase()), Some(t));
        }
        assert_eq!(EntityType::parse("wave"), None);
    }

    #[test]
    fn rejects_missing_and_invalid_fields() {
        let d = defaults();
        let err = |v| ControlEvent::from_value(v, &d).expect_err("invalid");
        assert_eq!(
            err(json!({"wave":0,"entityType":"task","entityId":"x","action":"a"})),
            ControlEventError::Missing { field: "lane" }
        );
        assert!(matches!(
            err(json!({"lane":"m","wave":0,"entityType":"nope","entityId":"x","action":"a"})),
            ControlEventError::EntityType { .. }
        ));
        assert!(matches!(
            err(json!({"lane":"m","wave":-1,"entityType":"task","entityId":"x","action":"a"})),
            ControlEventError::NotANumber { field: "wave", .. }
        ));
        assert!(matches!(
            err(
                json!({"lane":"m","wave":0,"entityType":"task","entityId":"x","action":"a","runKind":"x"})
            ),
            ControlEventError::RunKind { .. }
        ));
        assert_eq!(
            err(json!({"lane":"m","wave":0,"entityType":"task","entityId":"x","action":" "})),
            ControlEventError::Missing { field: "action" }
        );
        assert_eq!(err(json!([1])), ControlEventError::NotAnObject);
    }

    #[test]
    fn keeps_unknown_fields_through_a_round_trip() {
        let line = r#"{"recordVersion":1,"id":"e1","lane":"main","wave":0,"runKind":"adhoc","runId":"r","entityType":"proof_bundle","entityId":"p","action":"registered","source":"cli","actor":"me","recordedAt":"2026-01-01T00:00:00.000Z","attempt":2,"data":{"state":"active","future":1},"newField":{"x":true}}"#;
        let ev = ControlEvent::from_line(line, &EventDefaults::default()).expect("valid");
        assert_eq!(ev.extra.get("newField"), Some(&json!({"x": true})));
        assert_eq!(ev.to_line(), line);
    }

    #[test]
    fn sorts_by_recorded_instant_then_id() {
        let d = EventDefaults::default();
        let mk = |id: &str, at: &str| {
            ControlEvent::from_value(
                json!({"id":id,"lane":"m","wave":0,"entityType":"task","entityId":"t","action":"a","recordedAt":at}),
                &d,
            )
            .expect("valid")
        };
        let mut evs = vec![
            mk("b", "2026-01-01T00:00:01.000Z"),
            mk("c", "2026-01-01T00:00:00.000+00:00"),
            mk("a", "2026-01-01T00:00:01.000Z"),
        ];
        sort_events(&mut evs);
        let ids: Vec<_> = evs.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
    }
}
