//! Materialized control-plane state (spec §4.3–§4.4): attempts, agent runs, rerun requests,
//! human input and proof bundles, folded from control-plane events.
//!
//! Each entity's snapshot is the shallow merge of every event's `data` for that entity, in read
//! order `(recordedAt, id)`, then normalized with upstream's defaults. Two deliberate differences:
//! an entity's `updatedAt` follows its latest event (upstream keeps the first value when later
//! events omit it), and actions that name a state (`revoked`, `superseded`, `cleared`,
//! `completed`, …) set it even when the event's `data` forgot to.
//!
//! Owns: [`ControlLog`] (the set of events, deduplicated by id and order-independent) and
//! [`ControlState`] (its materialization). Must not: do I/O or read the clock.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::control::{ControlEvent, EntityType};

/// The events of one wave's control plane, kept in read order and deduplicated by event id, so
/// delivering an event twice or in another order gives the same state.
#[derive(Debug, Clone, Default)]
pub struct ControlLog {
    events: BTreeMap<(i64, String), ControlEvent>,
    seen: HashSet<String>,
}

impl ControlLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event; returns false when an event with the same id was already present.
    pub fn insert(&mut self, event: ControlEvent) -> bool {
        if !self.seen.insert(event.id.clone()) {
            return false;
        }
        let (millis, id) = event.order_key();
        let key = (millis, id.to_owned());
        self.events.insert(key, event);
        true
    }

    /// Events in read order.
    pub fn events(&self) -> impl Iterator<Item = &ControlEvent> {
        self.events.values()
    }

    /// Number of distinct events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Folds the events into control state.
    pub fn materialize(&self) -> ControlState {
        let mut merged: BTreeMap<(EntityType, String), Merged> = BTreeMap::new();
        let mut triage_log = Vec::new();
        let mut executor_fallbacks = Vec::new();
        for event in self.events() {
            if let Some(f) = ExecutorFallback::of(event) {
                executor_fallbacks.push(f);
            }
            if event.entity_type == EntityType::CoordinationRecord
                && event.action == TRIAGE_LOG_ACTION
                && let Some(Value::Array(records)) = event.data.get("records")
            {
                triage_log.extend(records.iter().filter_map(|r| r.as_object().cloned()));
            }
            let entry = merged
                .entry((event.entity_type, event.entity_id.clone()))
                .or_default();
            for (k, v) in &event.data {
                entry.fields.insert(k.clone(), v.clone());
            }
            if entry.first_at.is_none() {
                entry.first_at = Some(event.recorded_at.clone());
            }
            entry.last_at = event.recorded_at.clone();
            entry.last_action = event.action.clone();
            entry.last_actor = event.actor.clone();
            entry.attempt = event.attempt.or(entry.attempt);
        }
        let mut state = ControlState {
            triage_log,
            executor_fallbacks,
            ..ControlState::default()
        };
        for ((entity_type, entity_id), m) in merged {
            match entity_type {
                EntityType::ProofBundle => {
                    state.proof_bundles.push(ProofBundle::from(&entity_id, &m))
                }
                EntityType::RerunRequest => state
                    .rerun_requests
                    .push(RerunRequest::from(&entity_id, &m)),
                EntityType::Attempt => state.attempts.push(Attempt::from(&entity_id, &m)),
                EntityType::HumanInput => state.human_inputs.push(HumanInput::from(&entity_id, &m)),
                EntityType::AgentRun => state.agent_runs.push(AgentRun::from(&entity_id, &m)),
                EntityType::WaveSignal | EntityType::AgentSignal => {
                    state.signals.insert(entity_id, m.fields);
                }
                _ => {}
            }
        }
        // Supersession named on the new bundle marks the old one.
        let links: Vec<(String, String)> = state
            .proof_bundles
            .iter()
            .filter_map(|b| Some((b.supersedes.clone()?, b.proof_bundle_id.clone())))
            .collect();
        for (old, new) in links {
            if let Some(b) = state
                .proof_bundles
                .iter_mut()
                .find(|b| b.proof_bundle_id == old)
            {
                if b.superseded_by.is_none() {
                    b.superseded_by = Some(new);
                }
                if b.state == BundleState::Active {
                    b.state = BundleState::Superseded;
                }
            }
        }
        sort_by_updated(&mut state.proof_bundles, |b| {
            (&b.recorded_at, &b.proof_bundle_id)
        });
        sort_by_updated(&mut state.rerun_requests, |r| {
            (&r.updated_at, &r.request_id)
        });
        sort_by_updated(&mut state.attempts, |a| (&a.updated_at, &a.attempt_id));
        sort_by_updated(&mut state.human_inputs, |h| {
            (&h.updated_at, &h.human_input_id)
        });
        sort_by_updated(&mut state.agent_runs, |r| (&r.updated_at, &r.run_id));
        state
    }
}

fn sort_by_updated<T>(items: &mut [T], key: impl Fn(&T) -> (&String, &String)) {
    items.sort_by(|a, b| {
        let (ua, ia) = key(a);
        let (ub, ib) = key(b);
        let ma = crate::event::time::parse_millis(ua).unwrap_or(i64::MIN);
        let mb = crate::event::time::parse_millis(ub).unwrap_or(i64::MIN);
        (ma, ia).cmp(&(mb, ib))
    });
}

/// One entity's merged data and the facts of its events.
#[derive(Debug, Default)]
struct Merged {
    fields: Map<String, Value>,
    first_at: Option<String>,
    last_at: String,
    last_action: String,
    last_actor: String,
    attempt: Option<u64>,
}

impl Merged {
    fn text(&self, key: &str) -> Option<String> {
        crate::event::control::text_of(self.fields.get(key))
    }
    fn list(&self, key: &str) -> Vec<String> {
        string_list(self.fields.get(key))
    }
    fn flag(&self, key: &str) -> Option<bool> {
        self.fields.get(key).and_then(Value::as_bool)
    }
    fn object(&self, key: &str) -> Option<Map<String, Value>> {
        self.fields.get(key).and_then(Value::as_object).cloned()
    }
    fn created_at(&self) -> String {
        self.text("createdAt")
            .or_else(|| self.first_at.clone())
            .unwrap_or_default()
    }
    fn updated_at(&self) -> String {
        // The latest event's time, unless its data names a later one.
        let data = self.text("updatedAt");
        match data {
            Some(d)
                if crate::event::time::parse_millis(&d)
                    >= crate::event::time::parse_millis(&self.last_at) =>
            {
                d
            }
            _ => self.last_at.clone(),
        }
    }
}

/// Distinct non-empty trimmed strings of a JSON array, in order.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.and_then(Value::as_array).into_iter().flatten() {
        if let Some(text) = crate::event::control::text_of(Some(item))
            && !out.contains(&text)
        {
            out.push(text);
        }
    }
    out
}

/// Proof bundle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleState {
    /// Counts as proof and is reusable.
    Active,
    /// Replaced by a newer bundle.
    Superseded,
    /// Withdrawn by an operator.
    Revoked,
}

/// A registered proof bundle (§4.4), as the proof registry lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofBundle {
    /// Bundle id (`proof-<agent>-<timestamp>`).
    #[serde(rename = "id")]
    pub proof_bundle_id: String,
    /// The agent whose proof it is.
    pub agent_id: String,
    /// Active, superseded or revoked.
    pub state: BundleState,
    /// Whether it overrides the agent's own summary.
    pub authoritative: bool,
    /// When it was registered.
    pub recorded_at: String,
    /// Who registered it.
    pub recorded_by: Option<String>,
    /// Free text.
    pub detail: Option<String>,
    /// Short summary.
    pub summary: Option<String>,
    /// Whether it satisfies all owned components.
    pub satisfy_owned_components: bool,
    /// The proof block, if any.
    pub proof: Option<Map<String, Value>>,
    /// The doc-delta block, if any.
    pub doc_delta: Option<Map<String, Value>>,
    /// Components it proves.
    pub components: Vec<Value>,
    /// Artifacts it points at.
    pub artifacts: Vec<Value>,
    /// Scope (`wave`).
    pub scope: String,
    /// Attestation, if any.
    pub attestation: Option<Map<String, Value>>,
    /// Component ids it satisfies.
    pub satisfies: Vec<String>,
    /// The bundle it replaces.
    pub supersedes: Option<String>,
    /// The bundle that replaced it.
    pub superseded_by: Option<String>,
    /// Last change.
    #[serde(skip)]
    pub updated_at: String,
}

impl ProofBundle {
    fn from(entity_id: &str, m: &Merged) -> Self {
        let state = match m.last_action.as_str() {
            "revoked" => Some(BundleState::Revoked),
            "superseded" => Some(BundleState::Superseded),
            _ => None,
        }
        .or_else(|| match m.text("state")?.to_lowercase().as_str() {
            "active" => Some(BundleState::Active),
            "superseded" => Some(BundleState::Superseded),
            "revoked" => Some(BundleState::Revoked),
            _ => None,
        })
        .unwrap_or(BundleState::Active);
        let array = |key: &str| {
            m.fields
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        ProofBundle {
            proof_bundle_id: m
                .text("proofBundleId")
                .or_else(|| m.text("id"))
                .unwrap_or_else(|| entity_id.to_owned()),
            agent_id: m.text("agentId").unwrap_or_default(),
            state,
            authoritative: m.flag("authoritative") == Some(true),
            recorded_at: m.text("recordedAt").unwrap_or_else(|| m.created_at()),
            recorded_by: m.text("recordedBy"),
            detail: m.text("detail"),
            summary: m.text("summary"),
            satisfy_owned_components: m.flag("satisfyOwnedComponents") == Some(true),
            proof: m.object("proof"),
            doc_delta: m.object("docDelta"),
            components: array("components"),
            artifacts: array("artifacts"),
            scope: m.text("scope").unwrap_or_else(|| "wave".to_owned()),
            attestation: m.object("attestation"),
            satisfies: m.list("satisfies"),
            supersedes: m.text("supersedes"),
            superseded_by: m.text("supersededBy"),
            updated_at: m.updated_at(),
        }
    }
}

/// Rerun request state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RerunState {
    /// Controls the next attempt's selection.
    Active,
    /// Consumed by an attempt.
    Applied,
    /// Withdrawn.
    Cleared,
}

/// A request to rerun agents or resume from a phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RerunRequest {
    /// Request id.
    pub request_id: String,
    /// Active, applied or cleared.
    pub state: RerunState,
    /// Agents to rerun.
    pub selected_agent_ids: Vec<String>,
    /// Phase to resume from.
    pub resume_cursor: Option<String>,
    /// Attempts whose results may be reused.
    pub reuse_attempt_ids: Vec<String>,
    /// Proof bundles that may be reused.
    pub reuse_proof_bundle_ids: Vec<String>,
    /// Whether derived summaries may be reused (default true).
    pub reuse_derived_summaries: bool,
    /// Components whose proof is invalidated.
    pub invalidate_component_ids: Vec<String>,
    /// Agents whose reusable results are cleared.
    pub clear_reusable_agent_ids: Vec<String>,
    /// Agents whose reusable results are kept.
    pub preserve_reusable_agent_ids: Vec<String>,
    /// Who asked (default `human-operator`).
    pub requested_by: String,
    /// Why.
    pub reason: Option<String>,
    /// Applies to one attempt only (default true).
    pub apply_once: bool,
    /// When it was created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl RerunRequest {
    fn from(entity_id: &str, m: &Merged) -> Self {
        let state = match m.last_action.as_str() {
            "cleared" => Some(RerunState::Cleared),
            "applied" => Some(RerunState::Applied),
            _ => None,
        }
        .or_else(|| match m.text("state")?.to_lowercase().as_str() {
            "active" => Some(RerunState::Active),
            "applied" => Some(RerunState::Applied),
            "cleared" => Some(RerunState::Cleared),
            _ => None,
        })
        .unwrap_or(RerunState::Active);
        RerunRequest {
            request_id: m.text("requestId").unwrap_or_else(|| entity_id.to_owned()),
            state,
            selected_agent_ids: m.list("selectedAgentIds"),
            resume_cursor: m.text("resumeCursor").or_else(|| m.text("resumePhase")),
            reuse_attempt_ids: m.list("reuseAttemptIds"),
            reuse_proof_bundle_ids: m.list("reuseProofBundleIds"),
            reuse_derived_summaries: m.flag("reuseDerivedSummaries") != Some(false),
            invalidate_component_ids: m.list("invalidateComponentIds"),
            clear_reusable_agent_ids: m.list("clearReusableAgentIds"),
            preserve_reusable_agent_ids: m.list("preserveReusableAgentIds"),
            requested_by: m
                .text("requestedBy")
                .unwrap_or_else(|| "human-operator".to_owned()),
            reason: m.text("reason"),
            apply_once: m.flag("applyOnce") != Some(false),
            created_at: m.created_at(),
            updated_at: m.updated_at(),
        }
    }
}

/// Attempt state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptState {
    /// Agents are running.
    Running,
    /// Finished.
    Completed,
    /// Finished with failures.
    Failed,
    /// Stopped.
    Cancelled,
}

/// One attempt of a wave.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// `wave-N-attempt-A`.
    pub attempt_id: String,
    /// A (1-based; 0 when unknown).
    pub attempt_number: u64,
    /// State.
    pub state: AttemptState,
    /// Agents launched in it.
    pub selected_agent_ids: Vec<String>,
    /// Free text.
    pub detail: Option<String>,
    /// When it started.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl Attempt {
    fn from(entity_id: &str, m: &Merged) -> Self {
        let parse = |s: &str| match s.to_lowercase().as_str() {
            "running" | "started" => Some(AttemptState::Running),
            "completed" => Some(AttemptState::Completed),
            "failed" => Some(AttemptState::Failed),
            "cancelled" => Some(AttemptState::Cancelled),
            _ => None,
        };
        let state = m
            .text("state")
            .and_then(|s| parse(&s))
            .or_else(|| parse(&m.last_action))
            .unwrap_or(AttemptState::Running);
        let attempt_number = m
            .fields
            .get("attemptNumber")
            .and_then(crate::event::control::uint_of)
            .or(m.attempt)
            .unwrap_or(0);
        Attempt {
            attempt_id: m.text("attemptId").unwrap_or_else(|| entity_id.to_owned()),
            attempt_number,
            state,
            selected_agent_ids: m.list("selectedAgentIds"),
            detail: m.text("detail"),
            created_at: m.created_at(),
            updated_at: m.updated_at(),
        }
    }
}

/// A human-input request recorded on the control plane.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanInput {
    /// Id.
    pub human_input_id: String,
    /// The feedback request it belongs to.
    pub request_id: Option<String>,
    /// `pending`, `answered`, … (lowercased).
    pub state: String,
    /// Who answered.
    pub operator: Option<String>,
    /// The answer.
    pub response: Option<String>,
    /// When it was asked.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

impl HumanInput {
    fn from(entity_id: &str, m: &Merged) -> Self {
        let state = m
            .text("state")
            .map(|s| s.to_lowercase())
            .unwrap_or_else(|| match m.last_action.as_str() {
                "answered" => "answered".to_owned(),
                _ => "pending".to_owned(),
            });
        HumanInput {
            human_input_id: m
                .text("humanInputId")
                .unwrap_or_else(|| entity_id.to_owned()),
            request_id: m.text("requestId"),
            state,
            operator: m.text("operator"),
            response: m.text("response"),
            created_at: m.created_at(),
            updated_at: m.updated_at(),
        }
    }
}

/// One agent process in one attempt (`agent_run` events).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRun {
    /// `wave-N-attempt-A-agent-<id>`.
    pub run_id: String,
    /// The agent.
    pub agent_id: String,
    /// Attempt number (0 when unknown).
    pub attempt_number: u64,
    /// `started`, `completed`, `failed` or `timed_out`: the latest action.
    pub state: String,
    /// Exit code once finished.
    pub exit_code: Option<i64>,
    /// Failure status code, if any.
    pub status_code: Option<String>,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub completed_at: Option<String>,
    /// Last change.
    pub updated_at: String,
}

impl AgentRun {
    fn from(entity_id: &str, m: &Merged) -> Self {
        AgentRun {
            run_id: entity_id.to_owned(),
            agent_id: m.text("agentId").unwrap_or_default(),
            attempt_number: m
                .fields
                .get("attemptNumber")
                .and_then(crate::event::control::uint_of)
                .or(m.attempt)
                .unwrap_or(0),
            state: m.last_action.clone(),
            exit_code: m.fields.get("exitCode").and_then(Value::as_i64),
            status_code: m.text("statusCode"),
            started_at: m.text("startedAt"),
            completed_at: m.text("completedAt"),
            updated_at: m.updated_at(),
        }
    }

    /// True once the run has finished (any action other than `started`).
    pub fn finished(&self) -> bool {
        self.state != "started"
    }
}

/// The control plane of one wave, materialized. Proof bundles are sorted by
/// `(recordedAt, id)` (registration order), every other list by `(updatedAt, id)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlState {
    /// Every proof bundle.
    pub proof_bundles: Vec<ProofBundle>,
    /// Every rerun request.
    pub rerun_requests: Vec<RerunRequest>,
    /// Every attempt.
    pub attempts: Vec<Attempt>,
    /// Every human-input entity.
    pub human_inputs: Vec<HumanInput>,
    /// Every agent run.
    pub agent_runs: Vec<AgentRun>,
    /// The last recorded signal snapshot per signal entity (`wave-N`, `wave-N-agent-<id>`).
    pub signals: BTreeMap<String, Map<String, Value>>,
    /// The clarification triage log (§3.8): every record triage wrote to it, in log order.
    pub triage_log: Vec<Map<String, Value>>,
    /// The executor fallbacks the retry engine chose, in log order.
    pub executor_fallbacks: Vec<ExecutorFallback>,
}

/// `data.kind` of the `artifact` events that record an executor fallback: the executor the retry
/// engine moved an agent to for its next attempt (spec §8.4 step 2).
pub const EXECUTOR_FALLBACK_KIND: &str = "executor-fallback";

/// One recorded executor fallback (`artifact` event, `data.kind` [`EXECUTOR_FALLBACK_KIND`]:
/// `agentId`, `attemptNumber`, `executorId`, `fromExecutorId`, `reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorFallback {
    /// The agent.
    pub agent_id: String,
    /// The attempt that runs on the new executor.
    pub attempt: u64,
    /// The new executor.
    pub executor_id: String,
    /// The executor it replaced, when recorded.
    pub from_executor_id: Option<String>,
    /// Why (`retry:<statusCode>`), when recorded.
    pub reason: Option<String>,
}

impl ExecutorFallback {
    fn of(event: &ControlEvent) -> Option<Self> {
        if event.entity_type != EntityType::Artifact {
            return None;
        }
        let text = |k: &str| {
            event
                .data
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if text("kind").as_deref() != Some(EXECUTOR_FALLBACK_KIND) {
            return None;
        }
        Some(ExecutorFallback {
            agent_id: text("agentId")?,
            attempt: event
                .data
                .get("attemptNumber")
                .and_then(crate::event::control::uint_of)
                .or(event.attempt)?,
            executor_id: text("executorId")?,
            from_executor_id: text("fromExecutorId"),
            reason: text("reason"),
        })
    }
}

/// The action of a `coordination_record` event that carries the records one clarification
/// triage pass wrote to the triage log (`data.records`, in order).
pub const TRIAGE_LOG_ACTION: &str = "triage-log";

impl ControlState {
    /// Bundles in state active.
    pub fn active_proof_bundles(&self) -> impl Iterator<Item = &ProofBundle> {
        self.proof_bundles
            .iter()
            .filter(|b| b.state == BundleState::Active)
    }

    /// The latest-updated running attempt.
    pub fn active_attempt(&self) -> Option<&Attempt> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.state == AttemptState::Running)
    }

    /// The latest-updated active rerun request.
    pub fn active_rerun_request(&self) -> Option<&RerunRequest> {
        self.rerun_requests
            .iter()
            .rev()
            .find(|r| r.state == RerunState::Active)
    }

    /// The latest run of an agent (highest attempt, then latest update).
    pub fn latest_agent_run(&self, agent_id: &str) -> Option<&AgentRun> {
        self.agent_runs
            .iter()
            .filter(|r| r.agent_id == agent_id)
            .max_by(|a, b| {
                (
                    a.attempt_number,
                    crate::event::time::parse_millis(&a.updated_at),
                )
                    .cmp(&(
                        b.attempt_number,
                        crate::event::time::parse_millis(&b.updated_at),
                    ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::control::EventDefaults;
    use serde_json::json;

    fn ev(
        id: &str,
        at: &str,
        entity: &str,
        entity_id: &str,
        action: &str,
        data: Value,
    ) -> ControlEvent {
        ControlEvent::from_value(
            json!({"id": id, "lane": "main", "wave": 0, "entityType": entity, "entityId": entity_id,
                   "action": action, "recordedAt": at, "data": data}),
            &EventDefaults::default(),
        )
        .expect("valid event")
    }

    fn log(events: Vec<ControlEvent>) -> ControlLog {
        let mut log = ControlLog::new();
        for e in events {
            log.insert(e);
        }
        log
    }

    #[test]
    fn attempts_fold_and_active_is_latest_running() {
        let state = log(vec![
            ev(
                "e1",
                "2026-01-01T00:00:00.000Z",
                "attempt",
                "wave-0-attempt-1",
                "running",
                json!({"attemptNumber": 1, "selectedAgentIds": ["A1", "A1", " A2 "]}),
            ),
            ev(
                "e2",
                "2026-01-01T00:01:00.000Z",
                "attempt",
                "wave-0-attempt-1",
                "completed",
                json!({}),
            ),
            ev(
                "e3",
                "2026-01-01T00:02:00.000Z",
                "attempt",
                "wave-0-attempt-2",
                "running",
                json!({"attemptNumber": 2, "selectedAgentIds": ["A2"]}),
            ),
        ])
        .materialize();
        assert_eq!(state.attempts.len(), 2);
        assert_eq!(state.attempts[0].state, AttemptState::Completed);
        assert_eq!(state.attempts[0].selected_agent_ids, ["A1", "A2"]);
        assert_eq!(state.attempts[0].created_at, "2026-01-01T00:00:00.000Z");
        assert_eq!(state.attempts[0].updated_at, "2026-01-01T00:01:00.000Z");
        let active = state.active_attempt().expect("running attempt");
        assert_eq!(active.attempt_id, "wave-0-attempt-2");
    }

    #[test]
    fn proof_bundles_supersede_and_revoke() {
        let state = log(vec![
            ev(
                "p1",
                "2026-01-01T00:00:00.000Z",
                "proof_bundle",
                "proof-A1-1",
                "registered",
                json!({"agentId": "A1", "state": "active", "authoritative": true}),
            ),
            ev(
                "p2",
                "2026-01-01T00:01:00.000Z",
                "proof_bundle",
                "proof-A1-1",
                "superseded",
                json!({"agentId": "A1", "state": "superseded"}),
            ),
            ev(
                "p3",
                "2026-01-01T00:01:01.000Z",
                "proof_bundle",
                "proof-A1-2",
                "registered",
                json!({"agentId": "A1", "state": "active"}),
            ),
            ev(
                "p4",
                "2026-01-01T00:01:02.000Z",
                "proof_bundle",
                "proof-A1-2",
                "linked-supersession",
                json!({"supersedes": "proof-A1-1"}),
            ),
            ev(
                "p5",
                "2026-01-01T00:02:00.000Z",
                "proof_bundle",
                "proof-A2-1",
                "registered",
                json!({"agentId": "A2"}),
            ),
            ev(
                "p6",
                "2026-01-01T00:03:00.000Z",
                "proof_bundle",
                "proof-A2-1",
                "revoked",
                json!({}),
            ),
        ])
        .materialize();
        let by_id = |id: &str| {
            state
                .proof_bundles
                .iter()
                .find(|b| b.proof_bundle_id == id)
                .expect("bundle")
        };
        assert_eq!(by_id("proof-A1-1").state, BundleState::Superseded);
        assert_eq!(
            by_id("proof-A1-1").superseded_by.as_deref(),
            Some("proof-A1-2")
        );
        assert!(by_id("proof-A1-1").authoritative);
        assert_eq!(
            by_id("proof-A1-2").supersedes.as_deref(),
            Some("proof-A1-1")
        );
        assert_eq!(by_id("proof-A2-1").state, BundleState::Revoked);
        let active: Vec<_> = state
            .active_proof_bundles()
            .map(|b| b.proof_bundle_id.as_str())
            .collect();
        assert_eq!(active, ["proof-A1-2"]);
    }

    #[test]
    fn rerun_requests_default_and_clear() {
        let state = log(vec![ev(
            "r1",
            "2026-01-01T00:00:00.000Z",
            "rerun_request",
            "rerun-1",
            "requested",
            json!({"selectedAgentIds": ["A1"], "resumePhase": "implementation"}),
        )])
        .materialize();
        let active = state.active_rerun_request().expect("active");
        assert_eq!(active.request_id, "rerun-1");
        assert_eq!(active.resume_cursor.as_deref(), Some("implementation"));
        assert_eq!(active.requested_by, "human-operator");
        assert!(active.apply_once && active.reuse_derived_summaries);
        let state = log(vec![
            ev(
                "r1",
                "2026-01-01T00:00:00.000Z",
                "rerun_request",
                "rerun-1",
                "requested",
                json!({}),
            ),
            ev(
                "r2",
                "2026-01-01T00:00:01.000Z",
                "rerun_request",
                "rerun-1",
                "cleared",
                json!({}),
            ),
        ])
        .materialize();
        assert!(state.active_rerun_request().is_none());
        assert_eq!(state.rerun_requests[0].state, RerunState::Cleared);
    }

    #[test]
    fn duplicates_and_order_do_not_matter() {
        let events = vec![
            ev(
                "h1",
                "2026-01-01T00:00:00.000Z",
                "human_input",
                "fb-1",
                "requested",
                json!({"requestId": "fb-1", "state": "pending"}),
            ),
            ev(
                "h2",
                "2026-01-01T00:05:00.000Z",
                "human_input",
                "fb-1",
                "answered",
                json!({"state": "answered", "operator": "ops", "response": "yes"}),
            ),
            ev(
                "a1",
                "2026-01-01T00:00:00.000Z",
                "agent_run",
                "wave-0-attempt-1-agent-A1",
                "started",
                json!({"agentId": "A1", "attemptNumber": 1}),
            ),
            ev(
                "a2",
                "2026-01-01T00:04:00.000Z",
                "agent_run",
                "wave-0-attempt-1-agent-A1",
                "failed",
                json!({"agentId": "A1", "attemptNumber": 1, "exitCode": 2}),
            ),
        ];
        let forward = log(events.clone()).materialize();
        let mut reversed = events.clone();
        reversed.reverse();
        reversed.extend(events);
        let backward = log(reversed).materialize();
        assert_eq!(forward, backward);
        assert_eq!(forward.human_inputs[0].state, "answered");
        assert_eq!(forward.human_inputs[0].response.as_deref(), Some("yes"));
        let run = forward.latest_agent_run("A1").expect("run");
        assert_eq!((run.state.as_str(), run.exit_code), ("failed", Some(2)));
    }
}
