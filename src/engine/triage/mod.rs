//! Clarification triage (spec §3.8), answer reconciliation (§3.10), the human-input workflow
//! clock (§4.6) and launcher seed records (§3.6), as pure functions from materialized state
//! to the records a caller appends.
//!
//! Owns: deciding which coordination records, triage-log records and human-input requests a
//! triage pass produces. Must not: read or write logs, read the clock (`now` is an input) or
//! create files. Callers append [`TriageOutput::coordination`] to the wave's coordination log
//! and [`TriageOutput::triage_log`] to the triage log, and record every
//! [`TriageOutput::human_requests`] as a pending human-input request.
//!
//! Idempotency: every output depends only on the inputs, and an update is emitted only when
//! it changes the latest stored version's status or detail, so applying the output and
//! running again at the same `now` yields an empty output.
//!
//! Deliberate differences from upstream's triage (§14.3):
//! - Decision matching ignores empty needles: a decision whose summary, detail and refs are
//!   blank (after trimming) matches nothing, where a plain substring test would match every
//!   clarification.
//! - Launcher-authored decisions (component promotion seeds and assignment mirrors, agent id
//!   `launcher`) do not take part in policy resolution: they describe the launcher's own
//!   bookkeeping, not an answer to anyone's question.
//! - Once the reroute cycles are exhausted and a clarification is escalated, the open
//!   escalation is kept: it is not superseded by the routed follow-up on the next pass, which
//!   would otherwise alternate between superseding and re-escalating.

mod human_input;
mod seeds;

pub use human_input::{
    HumanInputClock, HumanInputItem, HumanInputKind, HumanInputState, HumanInputTransition,
    TimeoutPolicy, advance, human_input_items,
};
pub use seeds::{SeedAgent, SeedFeedbackRequest, SeedInputs, close_seeds, seed_records};

use std::collections::HashMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::coordination::{CoordinationState, blocks_wave, clarification_id_from_closure};
use crate::event::coordination::{
    CoordinationRecord, Kind, RawCoordinationRecord, RecordDefaults, Status, normalize,
};

/// How long a routed follow-up may stay unacknowledged before it is rerouted (§14.4).
pub const ACK_TIMEOUT_MS: i64 = 5 * 60 * 1000;
/// How many routed cycles a clarification gets before it goes to a human.
pub const MAX_ROUTE_CYCLES: usize = 2;

/// Errors of a triage pass.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TriageError {
    /// A record the triage built did not pass the record schema.
    #[error(
        "triage built an invalid `{kind}` record `{id}`: {reason}; check the lane name and the wave's record ids"
    )]
    InvalidRecord {
        /// Record id.
        id: String,
        /// Record kind.
        kind: String,
        /// What the schema rejected.
        reason: String,
    },
}

/// One agent of the wave, as triage sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageAgent {
    /// Agent id.
    pub id: String,
    /// Owned paths (plan).
    pub owned_paths: Vec<String>,
    /// Owned component ids (plan).
    pub components: Vec<String>,
    /// Doc paths from the agent's latest summary (`docDelta.paths`).
    pub summary_doc_paths: Vec<String>,
    /// Component ids from the agent's latest summary.
    pub summary_components: Vec<String>,
}

/// Closure-role agent ids of the lane.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageRoles {
    /// cont-QA (A0).
    pub cont_qa: String,
    /// cont-EVAL (E0).
    pub cont_eval: String,
    /// Integration (A8).
    pub integration: String,
    /// Documentation (A9).
    pub documentation: String,
}

impl Default for TriageRoles {
    fn default() -> Self {
        Self {
            cont_qa: "A0".into(),
            cont_eval: "E0".into(),
            integration: "A8".into(),
            documentation: "A9".into(),
        }
    }
}

/// A docs-queue item (§10.5), as triage sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageDocsItem {
    /// Item id.
    pub id: String,
    /// Doc path (or component id).
    pub path: String,
    /// Summary.
    pub summary: String,
}

/// The integration summary (§10.9), as triage sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageIntegration {
    /// Free-text detail (the route guidance).
    pub detail: String,
    /// Every evidence entry (claims, conflicts, blockers, interfaces, impacts, gaps, risks).
    pub entries: Vec<String>,
}

/// Everything one triage pass reads.
#[derive(Debug, Clone)]
pub struct TriageInputs<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave number.
    pub wave: u64,
    /// Materialized coordination log of the wave.
    pub state: &'a CoordinationState,
    /// The wave's agents.
    pub agents: &'a [TriageAgent],
    /// Closure-role ids.
    pub roles: &'a TriageRoles,
    /// Docs-queue items.
    pub docs_queue: &'a [TriageDocsItem],
    /// Integration summary, when one exists.
    pub integration: Option<&'a TriageIntegration>,
    /// Attempt number recorded on the appended records.
    pub attempt: Option<i64>,
    /// The current time, milliseconds since the epoch.
    pub now_ms: i64,
    /// The current time in wire form (RFC 3339, milliseconds, `Z`).
    pub now: &'a str,
}

/// A human-input request the triage opened (§3.10 shape).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanRequest {
    /// `<yyyymmddHHMMSSmmm>-<lane>-w<wave>-<agentId>-<6 hex>`.
    pub id: String,
    /// Lane.
    pub lane: String,
    /// Wave.
    pub wave: u64,
    /// The requesting agent.
    pub agent_id: String,
    /// The clarification it escalates.
    pub clarification_id: String,
    /// Question (the clarification summary).
    pub question: String,
    /// Context (the clarification detail).
    pub context: String,
    /// When it was opened.
    pub created_at: String,
}

/// What one triage pass produces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageOutput {
    /// Records for the wave's coordination log, in append order.
    pub coordination: Vec<CoordinationRecord>,
    /// Records for the triage log (`S/feedback/triage/wave-N.jsonl`), in append order.
    pub triage_log: Vec<CoordinationRecord>,
    /// Human-input requests to open.
    pub human_requests: Vec<HumanRequest>,
}

impl TriageOutput {
    /// True when the pass produced nothing.
    pub fn is_empty(&self) -> bool {
        self.coordination.is_empty() && self.triage_log.is_empty() && self.human_requests.is_empty()
    }
}

/// How a clarification is resolved by policy (§3.8 step 2).
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Answered by a decision record: the guidance text.
    Policy {
        /// Guidance.
        guidance: String,
    },
    /// Routed to an owner.
    Route {
        /// Owner agent id.
        agent: String,
        /// Guidance.
        guidance: String,
    },
}

fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Case-insensitive substring test that ignores blank needles.
fn mentions_any<'n>(haystack: &str, needles: impl IntoIterator<Item = &'n str>) -> bool {
    let hay = lower(haystack);
    needles.into_iter().any(|n| {
        let n = lower(n);
        !n.is_empty() && hay.contains(&n)
    })
}

fn refs_intersect(record: &CoordinationRecord, candidates: &[&str]) -> bool {
    record.artifact_refs.iter().any(|r| {
        let r = lower(r);
        !r.is_empty() && candidates.iter().any(|c| lower(c) == r)
    })
}

fn searchable(record: &CoordinationRecord) -> String {
    let mut parts = vec![record.summary.as_str(), record.detail.as_str()];
    parts.extend(record.artifact_refs.iter().map(String::as_str));
    parts.join("\n")
}

/// Decision records prepared for matching: lowercased needles, launcher records left out.
struct DecisionNeedles {
    guidance: String,
    refs: Vec<String>,
    needles: Vec<String>,
}

fn decision_needles(state: &CoordinationState) -> Vec<DecisionNeedles> {
    state
        .decisions()
        .filter(|d| d.agent_id != "launcher")
        .map(|d| {
            let refs: Vec<String> = d
                .artifact_refs
                .iter()
                .map(|r| lower(r))
                .filter(|r| !r.is_empty())
                .collect();
            let mut needles: Vec<String> = [lower(&d.summary), lower(&d.detail)]
                .into_iter()
                .filter(|n| !n.is_empty())
                .collect();
            needles.extend(refs.iter().cloned());
            let guidance = [d.detail.trim(), d.summary.trim()]
                .into_iter()
                .find(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Resolved from coordination decision {}.", d.id));
            DecisionNeedles {
                guidance,
                refs,
                needles,
            }
        })
        .collect()
}

/// Policy resolution for one clarification (§3.8 step 2), first hit wins.
pub fn resolve(
    clarification: &CoordinationRecord,
    inputs: &TriageInputs<'_>,
) -> Option<Resolution> {
    resolve_with(clarification, inputs, &decision_needles(inputs.state))
}

fn resolve_with(
    clarification: &CoordinationRecord,
    inputs: &TriageInputs<'_>,
    decisions: &[DecisionNeedles],
) -> Option<Resolution> {
    let text = searchable(clarification);
    let hay = lower(&text);
    let own_refs: Vec<String> = clarification
        .artifact_refs
        .iter()
        .map(|r| lower(r))
        .collect();
    let decision = decisions.iter().find(|d| {
        d.refs.iter().any(|r| own_refs.contains(r))
            || d.needles.iter().any(|n| hay.contains(n.as_str()))
    });
    if let Some(d) = decision {
        return Some(Resolution::Policy {
            guidance: d.guidance.clone(),
        });
    }
    let roles = inputs.roles;
    let route = |agent: &str, guidance: String| {
        Some(Resolution::Route {
            agent: agent.to_owned(),
            guidance,
        })
    };
    if let Some(item) = inputs.docs_queue.iter().find(|i| {
        refs_intersect(clarification, &[i.path.as_str(), i.id.as_str()])
            || mentions_any(&text, [i.id.as_str(), i.path.as_str(), i.summary.as_str()])
    }) {
        let guidance = if item.summary.trim().is_empty() {
            format!(
                "Documentation reconciliation item {} is owned by {}.",
                item.id, roles.documentation
            )
        } else {
            item.summary.clone()
        };
        return route(&roles.documentation, guidance);
    }
    let others = || {
        inputs
            .agents
            .iter()
            .filter(|a| a.id != clarification.agent_id)
    };
    if let Some(a) =
        others().find(|a| mentions_any(&text, a.owned_paths.iter().map(String::as_str)))
    {
        return route(
            &a.id,
            format!("Ownership policy resolved this clarification to {}.", a.id),
        );
    }
    if let Some(a) = others().find(|a| mentions_any(&text, a.components.iter().map(String::as_str)))
    {
        return route(
            &a.id,
            format!(
                "Component ownership resolved this clarification to {}.",
                a.id
            ),
        );
    }
    if let Some(a) = inputs.agents.iter().find(|a| {
        mentions_any(&text, a.summary_doc_paths.iter().map(String::as_str))
            || mentions_any(&text, a.summary_components.iter().map(String::as_str))
    }) {
        return route(
            &a.id,
            format!(
                "Latest summary evidence points to {} for this clarification.",
                a.id
            ),
        );
    }
    if let Some(summary) = inputs.integration {
        const KEYWORDS: [&str; 5] = [
            "contradict",
            "cross-component",
            "cross component",
            "interface",
            "integration",
        ];
        if mentions_any(
            &text,
            KEYWORDS
                .into_iter()
                .chain(summary.entries.iter().map(String::as_str)),
        ) {
            let guidance = if summary.detail.trim().is_empty() {
                format!("Integration state is owned by {}.", roles.integration)
            } else {
                summary.detail.clone()
            };
            return route(&roles.integration, guidance);
        }
    }
    let low = text.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| low.contains(w));
    if has(&[
        "shared-plan",
        "shared plan",
        "docs/plans/",
        "component-cutover-matrix",
    ]) {
        return route(
            &roles.documentation,
            format!(
                "Shared plan and component matrix updates are owned by {}.",
                roles.documentation
            ),
        );
    }
    if has(&["cont-eval", "benchmark", "eval target"]) {
        return route(
            &roles.cont_eval,
            format!(
                "Eval target selection and tuning are owned by {}.",
                roles.cont_eval
            ),
        );
    }
    if has(&["cont-qa", "evaluator", "gate"]) {
        return route(
            &roles.cont_qa,
            format!(
                "Final cont-QA pass/fail judgement and gate interpretation are owned by {}.",
                roles.cont_qa
            ),
        );
    }
    None
}

/// `clarification:<id>`.
pub fn closure_condition(clarification_id: &str) -> String {
    format!("clarification:{clarification_id}")
}

/// Builds a record through the schema (defaults, validation) at `now`.
pub(crate) fn build(fields: Value, now: &str) -> Result<CoordinationRecord, TriageError> {
    let id = fields
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let kind = fields
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let invalid = |reason: String| TriageError::InvalidRecord {
        id: id.clone(),
        kind: kind.clone(),
        reason,
    };
    let raw = RawCoordinationRecord::from_value(fields).map_err(|e| invalid(e.to_string()))?;
    let defaults = RecordDefaults {
        now: Some(now.to_owned()),
        ..RecordDefaults::default()
    };
    normalize(raw, &defaults).map_err(|e| invalid(e.to_string()))
}

/// A new version of `record` with another status and detail, stamped `now`; `None` when the
/// latest version already has them.
pub(crate) fn update(
    record: &CoordinationRecord,
    status: Status,
    detail: &str,
    attempt: Option<i64>,
    now: &str,
) -> Option<CoordinationRecord> {
    if record.status == status && record.detail == detail {
        return None;
    }
    let mut next = record.clone();
    next.status = status;
    next.detail = detail.to_owned();
    if attempt.is_some() {
        next.attempt = attempt;
    }
    next.updated_at = now.to_owned();
    Some(next)
}

/// Upstream's token rule for ids: whitespace and other characters outside `[A-Za-z0-9._-]`
/// become `-`, runs collapse, ends are trimmed.
fn token(value: &str) -> String {
    let mut out = String::new();
    for c in value.trim().chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "unknown".into()
    } else {
        trimmed.to_owned()
    }
}

/// A human request id (§3.10): the digits of `now`, lane, wave, agent and 6 hex digits
/// derived from the clarification id and `now` (deterministic, so a pass is reproducible).
pub fn human_request_id(
    lane: &str,
    wave: u64,
    agent_id: &str,
    clarification_id: &str,
    now: &str,
) -> String {
    let digits: String = now.chars().filter(char::is_ascii_digit).collect();
    let mut h = Sha256::new();
    h.update(clarification_id.as_bytes());
    h.update([0]);
    h.update(now.as_bytes());
    let hex = hex::encode(h.finalize());
    let short = hex.get(..6).unwrap_or("000000");
    format!(
        "{digits}-{}-w{wave}-{}-{short}",
        token(lane),
        token(agent_id)
    )
}

struct Pass<'a, 'i> {
    inputs: &'a TriageInputs<'i>,
    decisions: Vec<DecisionNeedles>,
    /// Requests linked to each clarification id (closure condition or `dependsOn`).
    linked: HashMap<&'i str, Vec<&'i CoordinationRecord>>,
    /// Escalations by closure condition.
    escalations: HashMap<&'i str, Vec<&'i CoordinationRecord>>,
    out: TriageOutput,
}

impl<'i> Pass<'_, 'i> {
    fn both(&mut self, record: CoordinationRecord) {
        self.out.triage_log.push(record.clone());
        self.out.coordination.push(record);
    }

    fn coord(&mut self, record: Option<CoordinationRecord>) {
        if let Some(r) = record {
            self.out.coordination.push(r);
        }
    }

    fn supersede_escalations(&mut self, escalations: &[&CoordinationRecord], detail: &str) {
        for e in escalations {
            if let Some(next) = update(
                e,
                Status::Superseded,
                detail,
                self.inputs.attempt,
                self.inputs.now,
            ) {
                self.both(next);
            }
        }
    }

    fn route(
        &mut self,
        clarification: &CoordinationRecord,
        agent: &str,
        guidance: &str,
        cycle: usize,
    ) -> Result<(), TriageError> {
        let i = self.inputs;
        let c = clarification;
        self.coord(update(c, Status::InProgress, guidance, i.attempt, i.now));
        let priority = c.priority.as_str();
        let guide = build(
            json!({
                "id": format!("triage-{}-route-{cycle}", c.id), "lane": i.lane, "wave": i.wave,
                "agentId": "launcher", "kind": "orchestrator-guidance",
                "targets": [format!("agent:{}", c.agent_id)], "dependsOn": [c.id],
                "priority": priority, "summary": format!("Clarification {} routed to {agent}", c.id),
                "detail": guidance, "status": "resolved", "attempt": i.attempt, "source": "launcher",
                "createdAt": i.now, "updatedAt": i.now,
            }),
            i.now,
        )?;
        self.out.triage_log.push(guide);
        let request = build(
            json!({
                "id": format!("route-{}-{cycle}", c.id), "lane": i.lane, "wave": i.wave,
                "agentId": "launcher", "kind": "request",
                "targets": [format!("agent:{agent}")], "dependsOn": [c.id],
                "closureCondition": closure_condition(&c.id), "priority": priority,
                "summary": format!("Clarification follow-up for {}", c.agent_id),
                "detail": format!("{}\n\n{guidance}", c.summary), "artifactRefs": c.artifact_refs,
                "status": "open", "attempt": i.attempt, "source": "launcher",
                "createdAt": i.now, "updatedAt": i.now,
            }),
            i.now,
        )?;
        self.both(request);
        Ok(())
    }

    fn escalate(&mut self, c: &CoordinationRecord, reason: &str) -> Result<(), TriageError> {
        let i = self.inputs;
        let request_id = human_request_id(i.lane, i.wave, &c.agent_id, &c.id, i.now);
        let summary = if c.summary.trim().is_empty() {
            "Human escalation required"
        } else {
            c.summary.as_str()
        };
        let escalation = build(
            json!({
                "id": format!("escalation-{request_id}"), "lane": i.lane, "wave": i.wave,
                "agentId": "launcher", "kind": "human-escalation",
                "targets": [format!("agent:{}", c.agent_id)], "dependsOn": [c.id],
                "closureCondition": closure_condition(&c.id), "priority": c.priority.as_str(),
                "summary": summary, "detail": reason, "artifactRefs": [request_id],
                "status": "open", "attempt": i.attempt, "source": "launcher",
                "createdAt": i.now, "updatedAt": i.now,
            }),
            i.now,
        )?;
        self.both(escalation);
        let question = if c.summary.trim().is_empty() {
            "Clarification requested".to_owned()
        } else {
            c.summary.trim().to_owned()
        };
        // The request's mirror record (§3.6), so the request is listed and answerable at once.
        let mirror = build(
            json!({
                "id": request_id, "lane": i.lane, "wave": i.wave, "agentId": c.agent_id,
                "kind": "human-feedback", "targets": [format!("agent:{}", c.agent_id)],
                "priority": "high", "summary": question, "detail": c.detail.trim(),
                "status": "open", "source": "launcher", "createdAt": i.now, "updatedAt": i.now,
            }),
            i.now,
        )?;
        self.out.coordination.push(mirror);
        self.out.human_requests.push(HumanRequest {
            id: request_id.clone(),
            lane: i.lane.to_owned(),
            wave: i.wave,
            agent_id: c.agent_id.clone(),
            clarification_id: c.id.clone(),
            question,
            context: c.detail.trim().to_owned(),
            created_at: i.now.to_owned(),
        });
        self.coord(update(
            c,
            Status::InProgress,
            &format!("Escalated to human via {request_id}."),
            i.attempt,
            i.now,
        ));
        Ok(())
    }

    fn one(&mut self, c: &'i CoordinationRecord) -> Result<(), TriageError> {
        let i = self.inputs;
        let state = i.state;
        let cond = closure_condition(&c.id);
        let linked: Vec<&CoordinationRecord> =
            self.linked.get(c.id.as_str()).cloned().unwrap_or_default();
        let open_linked: Vec<&CoordinationRecord> =
            linked.iter().copied().filter(blocks_wave).collect();
        let escalations: Vec<&CoordinationRecord> = self
            .escalations
            .get(cond.as_str())
            .cloned()
            .unwrap_or_default();
        let open_escalations: Vec<&CoordinationRecord> =
            escalations.iter().copied().filter(blocks_wave).collect();
        let done = |s: Status| matches!(s, Status::Resolved | Status::Closed);
        let resolved_by = linked
            .iter()
            .find(|r| done(r.status))
            .or_else(|| escalations.iter().find(|e| done(e.status)));
        if let Some(by) = resolved_by {
            self.supersede_escalations(
                &open_escalations,
                &format!(
                    "Superseded because clarification {} was already resolved.",
                    c.id
                ),
            );
            self.coord(update(
                c,
                Status::Resolved,
                &format!("Resolved via {}.", by.id),
                i.attempt,
                i.now,
            ));
            return Ok(());
        }
        match resolve_with(c, i, &self.decisions) {
            Some(Resolution::Policy { guidance }) => {
                self.supersede_escalations(
                    &open_escalations,
                    &format!(
                        "Superseded by policy resolution for clarification {}.",
                        c.id
                    ),
                );
                self.coord(update(c, Status::Resolved, &guidance, i.attempt, i.now));
                let id = format!("triage-{}-policy", c.id);
                if state.get(&id).is_none() {
                    let record = build(
                        json!({
                            "id": id, "lane": i.lane, "wave": i.wave, "agentId": "launcher",
                            "kind": "resolved-by-policy", "targets": [format!("agent:{}", c.agent_id)],
                            "dependsOn": [c.id], "priority": c.priority.as_str(),
                            "summary": format!("Clarification {} resolved from repo state", c.id),
                            "detail": guidance, "status": "resolved", "attempt": i.attempt,
                            "source": "launcher", "createdAt": i.now, "updatedAt": i.now,
                        }),
                        i.now,
                    )?;
                    self.both(record);
                }
                Ok(())
            }
            Some(Resolution::Route { agent, guidance }) => {
                let cycles = linked.len();
                let exhausted = cycles >= MAX_ROUTE_CYCLES;
                if !exhausted {
                    self.supersede_escalations(
                        &open_escalations,
                        &format!("Superseded by routed clarification follow-up for {}.", c.id),
                    );
                }
                if open_linked.is_empty() {
                    return self.route(c, &agent, &guidance, cycles + 1);
                }
                if open_linked.iter().any(|r| r.status != Status::Open) {
                    return Ok(());
                }
                let timed_out: Vec<&CoordinationRecord> = open_linked
                    .iter()
                    .copied()
                    .filter(|r| {
                        r.created_millis()
                            .or_else(|| r.updated_millis())
                            .is_some_and(|at| i.now_ms.saturating_sub(at) >= ACK_TIMEOUT_MS)
                    })
                    .collect();
                if timed_out.is_empty() {
                    return Ok(());
                }
                if !exhausted {
                    for r in timed_out {
                        let detail = match i.attempt {
                            Some(a) => {
                                format!("Superseded by clarification reroute at attempt {a}.")
                            }
                            None => "Superseded by clarification reroute.".to_owned(),
                        };
                        self.coord(update(r, Status::Superseded, &detail, i.attempt, i.now));
                    }
                    return self.route(c, &agent, &guidance, cycles + 1);
                }
                if !open_escalations.is_empty() {
                    return Ok(());
                }
                let reason = if guidance.trim().is_empty() {
                    format!(
                        "Clarification remained unresolved after {MAX_ROUTE_CYCLES} routed cycles."
                    )
                } else {
                    guidance
                };
                self.escalate(c, &reason)
            }
            None => {
                if !open_escalations.is_empty() {
                    return Ok(());
                }
                let reason = if c.detail.trim().is_empty() {
                    "No repo-state or owner resolution was available.".to_owned()
                } else {
                    c.detail.clone()
                };
                self.escalate(c, &reason)
            }
        }
    }
}

/// One triage pass over every clarification that blocks the wave (§3.8).
pub fn triage(inputs: &TriageInputs<'_>) -> Result<TriageOutput, TriageError> {
    let state = inputs.state;
    let mut linked: HashMap<&str, Vec<&CoordinationRecord>> = HashMap::new();
    for r in state.requests() {
        let mut ids: Vec<&str> = r.depends_on.iter().map(|d| d.trim()).collect();
        if let Some(id) = clarification_id_from_closure(&r.closure_condition) {
            ids.push(id);
        }
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            linked.entry(id).or_default().push(r);
        }
    }
    let mut escalations: HashMap<&str, Vec<&CoordinationRecord>> = HashMap::new();
    for e in state.human_escalations() {
        escalations
            .entry(e.closure_condition.as_str())
            .or_default()
            .push(e);
    }
    let mut pass = Pass {
        inputs,
        decisions: decision_needles(state),
        linked,
        escalations,
        out: TriageOutput::default(),
    };
    let clarifications: Vec<&CoordinationRecord> =
        inputs.state.clarifications().filter(blocks_wave).collect();
    for c in clarifications {
        pass.one(c)?;
    }
    Ok(pass.out)
}

/// Answer reconciliation (§3.10, last bullet) for human request `request_id`: resolves every
/// open record whose id, artifact refs or dependencies name the request, the clarifications
/// those records depend on (by `dependsOn` or a `clarification:<id>` closure condition), and
/// the open requests and escalations linked to those clarifications. Returns the coordination
/// records to append; empty when everything is already resolved.
pub fn reconcile_answer(
    state: &CoordinationState,
    request_id: &str,
    answer: &str,
    now: &str,
) -> Vec<CoordinationRecord> {
    let names = |r: &CoordinationRecord| {
        r.id == request_id
            || r.artifact_refs.iter().any(|x| x == request_id)
            || r.depends_on.iter().any(|x| x == request_id)
    };
    let direct: Vec<&CoordinationRecord> = state.open_records().filter(|r| names(r)).collect();
    let mut clarification_ids: Vec<String> = Vec::new();
    for r in &direct {
        let mut add = |id: &str| {
            if state
                .get(id)
                .is_some_and(|c| c.kind == Kind::ClarificationRequest)
                && !clarification_ids.iter().any(|x| x == id)
            {
                clarification_ids.push(id.to_owned());
            }
        };
        if let Some(id) = clarification_id_from_closure(&r.closure_condition) {
            add(id);
        }
        for d in &r.depends_on {
            add(d.trim());
        }
    }
    let detail = format!("Resolved by human answer {request_id}: {}", answer.trim());
    let mut out: Vec<CoordinationRecord> = Vec::new();
    let push = |r: &CoordinationRecord, out: &mut Vec<CoordinationRecord>| {
        if !out.iter().any(|x| x.id == r.id)
            && let Some(next) = update(r, Status::Resolved, &detail, None, now)
        {
            out.push(next);
        }
    };
    for r in &direct {
        push(r, &mut out);
    }
    for cid in &clarification_ids {
        let cond = closure_condition(cid);
        if let Some(c) = state.get(cid).filter(|c| c.status.is_open()) {
            push(c, &mut out);
        }
        for r in state.open_records().filter(|r| {
            matches!(r.kind, Kind::Request | Kind::HumanEscalation)
                && (r.closure_condition == cond || r.depends_on.iter().any(|d| d.trim() == cid))
        }) {
            push(r, &mut out);
        }
    }
    // An escalation names the human request it opened (artifactRefs): an answer given to the
    // clarification itself answers that request too.
    let opened: Vec<String> = out
        .iter()
        .filter(|r| r.kind == Kind::HumanEscalation)
        .flat_map(|r| r.artifact_refs.iter().cloned())
        .collect();
    for id in opened {
        if let Some(r) = state
            .get(&id)
            .filter(|r| r.kind == Kind::HumanFeedback && r.status.is_open())
        {
            push(r, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests;
