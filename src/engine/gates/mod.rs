//! The gate engine (spec §7.1, §7.3, §4.7): every gate of a wave evaluated from plan, summaries
//! and reduced coordination facts, in upstream's order and with upstream's gate names and status
//! codes, plus the proof families and the two-phase proof view built on them.
//!
//! Owns: [`GateResult`], [`GateSnapshot`] (`designGate → implementationGate → componentGate →
//! helperAssignmentBarrier → dependencyBarrier → contEvalGate → securityGate →
//! integrationBarrier → documentationGate → componentMatrixGate → contQaGate → infraGate →
//! clarificationBarrier`; the first failing gate is `overall`), gate modes, closure
//! adjudication of transport-only failures, [`ProofFamilies`] and [`ClosureReadiness`].
//! Must not: read files, the clock or the environment. Everything the gates look at is in
//! [`GateInputs`]; file presence comes as [`FileFacts`].
//!
//! Decisions on upstream quirks (spec §14.3), each tested:
//! - Gates are evaluated in live (strict) validation mode: a role's report must exist. The gate
//!   mode is whatever the caller resolves with [`resolve_gate_mode`] from the lane's
//!   `gateModeThresholds` (upstream's live reducer always used strict because no caller set it).
//! - `infraGate` can fail: callers pass the agents' last `[infra-status]` lines
//!   ([`GateInputs::infra`]); a state outside the non-blocking set fails with `infra-<state>`.
//! - `waveMayClose` is real: [`ClosureReadiness::wave_may_close`] is true once every agent's
//!   owned slice is proven and every gate passes (upstream never moved tasks to
//!   `wave_closure_ready`, so it was never true).
//! - The local executor's missing `[wave-security]` marker is fixed in the executor; the
//!   security gate here still requires a reviewer's marker and report.
//! - Proof families (code, integration, deploy) are evaluated independently; deploy is
//!   `not_applicable` unless the wave declares deploy environments.
//! - Doc `no-change` auto-closure can fire for waves with promotions once the matrix shows
//!   every target ([`DocsQueue::build`]).
//! - The integration summary ([`IntegrationSummary::build`]) counts open claims, blockers,
//!   proof gaps and deploy/infra risks; the steward's own marker is authoritative for the
//!   recommendation, as upstream. Its deploy and infra risks follow upstream's integration
//!   summary (each agent's last `[deploy-status]` overall unless exactly `healthy`), while the
//!   deploy proof family ([`proof_families`]) judges every service's last status.

pub mod adjudicate;
pub mod facts;
pub mod validate;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::markers::{DeployStatus, InfraStatus};
use crate::engine::summary::{ExecutionSummary, FileFacts};
use crate::plan::config::ModeThresholds;
use crate::plan::matrix::{BenchmarkCatalog, ComponentMatrix};
use crate::plan::roles;
use crate::plan::{Agent, LaneProfile, WavePlan};

pub use adjudicate::{Adjudication, AdjudicationStatus, adjudicate};

/// Why a validation failed (§7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// A marker is missing or malformed.
    TransportFailure,
    /// The agent reported a gap or a level below its contract.
    SemanticFailure,
    /// A deliverable or proof artifact is missing.
    ArtifactFailure,
    /// No summary.
    StateFailure,
}

/// One gate's result: `{ok, agentId, statusCode, detail, logPath, …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GateResult {
    /// Passed.
    pub ok: bool,
    /// The agent the result is about (`null` for wave-level results).
    pub agent_id: Option<String>,
    /// Status code (`pass`, `missing-wave-proof`, …).
    pub status_code: String,
    /// Human detail.
    pub detail: String,
    /// The agent's log path, when known.
    pub log_path: Option<String>,
    /// Failure class of implementation validations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_class: Option<FailureClass>,
    /// True when a transport-only failure may be adjudicated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub eligible_for_adjudication: bool,
    /// Why it is eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjudication_hint: Option<String>,
    /// Extra fields (`componentId`, `integrationState`, `docClosureState`, `adjudicated`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GateResult {
    /// A passing result.
    pub fn pass(agent_id: Option<&str>, detail: &str) -> Self {
        GateResult {
            ok: true,
            agent_id: agent_id.map(str::to_owned),
            status_code: "pass".into(),
            detail: detail.to_owned(),
            log_path: None,
            failure_class: None,
            eligible_for_adjudication: false,
            adjudication_hint: None,
            extra: Map::new(),
        }
    }

    /// A failing result.
    pub fn fail(agent_id: Option<&str>, status_code: &str, detail: String) -> Self {
        GateResult {
            ok: false,
            status_code: status_code.to_owned(),
            detail,
            ..GateResult::pass(agent_id, "")
        }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    fn with_log(mut self, summaries: &BTreeMap<String, ExecutionSummary>) -> Self {
        if self.log_path.is_none()
            && let Some(s) = self.agent_id.as_ref().and_then(|a| summaries.get(a))
            && !s.log_path.is_empty()
        {
            self.log_path = Some(s.log_path.clone());
        }
        self
    }
}

/// Gate strictness (§7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GateMode {
    /// Early waves: closure-quality gates are advisory.
    Bootstrap,
    /// Middle waves.
    Standard,
    /// Everything blocks.
    Strict,
}

/// `resolveGateMode`: no thresholds → strict; wave below `standard` → bootstrap; below `strict`
/// → standard; else strict.
pub fn resolve_gate_mode(wave: u64, thresholds: Option<&ModeThresholds>) -> GateMode {
    let Some(t) = thresholds else {
        return GateMode::Strict;
    };
    let n = wave as f64;
    if n < t.standard {
        GateMode::Bootstrap
    } else if n < t.strict {
        GateMode::Standard
    } else {
        GateMode::Strict
    }
}

/// An open coordination record, as the barriers need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OpenRecord {
    /// Record id.
    pub id: String,
    /// Kind (`request`, `blocker`, `clarification-request`, `human-escalation`, …).
    pub kind: String,
    /// Author.
    pub agent_id: String,
    /// Targets (`agent:A1`, `capability:x`).
    pub targets: Vec<String>,
    /// Blocks the wave (`blocksWave`).
    pub blocking: bool,
    /// A request routed from a clarification (`closureCondition clarification:<id>` or
    /// `dependsOn` a clarification).
    pub clarification_linked: bool,
}

impl OpenRecord {
    /// True when authored by or targeted at `agent:<id>`.
    pub fn involves(&self, agent_id: &str) -> bool {
        self.agent_id == agent_id
            || self
                .targets
                .iter()
                .any(|t| t.strip_prefix("agent:") == Some(agent_id))
    }

    /// Agent ids among the targets.
    pub fn target_agents(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().filter_map(|t| t.strip_prefix("agent:"))
    }
}

/// An open helper assignment (§3.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HelperAssignment {
    /// The request it serves.
    pub request_id: String,
    /// Assignee, `None` when unresolved.
    pub assigned_agent_id: Option<String>,
    /// Blocks the wave.
    pub blocking: bool,
}

/// An open cross-lane dependency ticket (§3.11).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DependencyTicket {
    /// Ticket id.
    pub id: String,
    /// Inbound (another lane needs this wave) or outbound.
    pub inbound: bool,
    /// Required for closure.
    pub required: bool,
    /// Assignee in this wave.
    pub assigned_agent_id: Option<String>,
}

/// The coordination facts the barriers read (open items only).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CoordinationFacts {
    /// Open coordination records.
    pub open_records: Vec<OpenRecord>,
    /// Open helper assignments.
    pub helper_assignments: Vec<HelperAssignment>,
    /// Open dependency tickets.
    pub dependencies: Vec<DependencyTicket>,
    /// Pending human feedback request ids.
    pub pending_feedback: Vec<String>,
}

/// A contradiction (§6.2 step 3), as the integration barrier needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    /// Id.
    pub id: String,
    /// `detected`, `acknowledged`, `repair_in_progress`, `resolved`, `waived`.
    pub status: String,
    /// `blocking` or `advisory`.
    pub severity: String,
    /// Gates it impacts (`integrationBarrier`, …).
    pub impacted_gates: Vec<String>,
}

impl Contradiction {
    fn blocks(&self, gate: &str) -> bool {
        !matches!(self.status.as_str(), "resolved" | "waived")
            && self.severity == "blocking"
            && self.impacted_gates.iter().any(|g| g == gate)
    }
}

/// External security context (§9.10), when configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorridorState {
    /// The fetch worked.
    pub ok: bool,
    /// A failed fetch blocks closure.
    pub required_at_closure: bool,
    /// Blocking findings.
    pub blocking_findings: usize,
    /// Error text.
    pub error: Option<String>,
}

/// The documentation queue, as doc auto-closure needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocsQueue {
    /// Shared-plan items.
    pub shared_plan_items: usize,
    /// Component-matrix items still owed.
    pub component_matrix_items: usize,
}

impl DocsQueue {
    /// The queue of the current state: one shared-plan item per implementation summary whose
    /// `[wave-doc-delta]` is `shared-plan`, and one component-matrix item per promotion the
    /// matrix does not yet show at its target (every promotion when no matrix is loaded).
    ///
    /// Upstream queued a matrix item for every promotion whatever the matrix said, so
    /// `no-change` doc auto-closure could never fire for a wave with promotions; here an item
    /// disappears once the matrix is updated.
    pub fn build(
        plan: &WavePlan,
        summaries: &BTreeMap<String, ExecutionSummary>,
        matrix: Option<&ComponentMatrix>,
    ) -> Self {
        DocsQueue {
            shared_plan_items: summaries
                .values()
                .filter(|s| {
                    s.doc_delta
                        .as_ref()
                        .is_some_and(|d| d.state == "shared-plan")
                })
                .count(),
            component_matrix_items: plan
                .component_promotions
                .iter()
                .filter(|p| {
                    matrix
                        .and_then(|m| m.components.get(&p.component_id))
                        .is_none_or(|c| c.current_level != p.target_level)
                })
                .count(),
        }
    }
}

/// The wave's integration summary (§10.9), reduced to what the gates read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationSummary {
    /// `ready-for-doc-closure` or `needs-more-work`.
    pub recommendation: String,
    /// Detail.
    pub detail: String,
    /// Open claims.
    pub open_claims: usize,
    /// Conflicting claims.
    pub conflicting_claims: usize,
    /// Unresolved blockers.
    pub unresolved_blockers: usize,
    /// Proof gaps (agent gaps and proof gaps of implementation agents).
    pub proof_gaps: Vec<String>,
    /// Deploy and infra risks.
    pub deploy_risks: Vec<String>,
}

impl IntegrationSummary {
    /// Builds the summary: the integration steward's marker is authoritative for the
    /// recommendation; otherwise it is `ready-for-doc-closure` only when no blocker, claim,
    /// conflict, proof gap or deploy risk is open.
    ///
    /// `deploy_risks` are the agents' deploy and infra risks in agent order, each read from
    /// the agent's log by [`crate::engine::coordination::integration::log_deploy_risks`] (its
    /// last `[deploy-status]` overall unless exactly `healthy`, its last `[infra-status]` unless
    /// `conformant` or `action-complete`, §10.9), so the gates and the integration projection
    /// apply one rule.
    pub fn build(
        plan: &WavePlan,
        lane: &LaneProfile,
        summaries: &BTreeMap<String, ExecutionSummary>,
        coordination: &CoordinationFacts,
        deploy_risks: Vec<String>,
    ) -> Self {
        let open = |kind: &str| {
            coordination
                .open_records
                .iter()
                .filter(|r| r.kind == kind)
                .count()
        };
        let mut proof_gaps = Vec::new();
        for agent in &plan.agents {
            let Some(s) = summaries.get(&agent.agent_id) else {
                continue;
            };
            if let Some(p) = s.proof.as_ref().filter(|p| p.state == "gap") {
                proof_gaps.push(format!(
                    "{}: {}",
                    agent.agent_id,
                    if p.detail.is_empty() {
                        "proof gap"
                    } else {
                        &p.detail
                    }
                ));
            }
            for g in &s.gaps {
                proof_gaps.push(
                    format!("{}: {} {}", agent.agent_id, g.kind, g.detail)
                        .trim()
                        .to_owned(),
                );
            }
        }
        let mut s = IntegrationSummary {
            recommendation: String::new(),
            detail: String::new(),
            open_claims: open("claim"),
            conflicting_claims: 0,
            unresolved_blockers: open("blocker"),
            proof_gaps,
            deploy_risks,
        };
        let steward = summaries
            .get(&lane.roles.integration_agent_id)
            .and_then(|x| x.integration.as_ref());
        if let Some(m) = steward {
            s.recommendation = m.state.clone();
            s.detail = m.detail.clone();
            s.conflicting_claims = usize::try_from(m.conflicts).unwrap_or(0);
        } else if s.open_claims + s.unresolved_blockers + s.proof_gaps.len() + s.deploy_risks.len()
            == 0
        {
            s.recommendation = "ready-for-doc-closure".into();
            s.detail = "No open claims, blockers, proof gaps or deploy risks.".into();
        } else {
            s.recommendation = "needs-more-work".into();
            s.detail = "Open claims, blockers, proof gaps or deploy risks remain.".into();
        }
        s
    }

    fn clean(&self) -> bool {
        self.recommendation == "ready-for-doc-closure"
            && self.open_claims + self.conflicting_claims + self.unresolved_blockers == 0
            && self.proof_gaps.is_empty()
            && self.deploy_risks.is_empty()
    }
}

/// Infra states that do not block (§7.1 infraGate).
pub const INFRA_OK: [&str; 6] = [
    "conformant",
    "setup-required",
    "setup-in-progress",
    "action-required",
    "action-approved",
    "action-complete",
];

/// Everything the gates read.
#[derive(Debug, Clone, Copy)]
pub struct GateInputs<'a> {
    /// The wave.
    pub plan: &'a WavePlan,
    /// Lane roles, validation thresholds and auto-closure policy.
    pub lane: &'a LaneProfile,
    /// Latest execution summary per agent id.
    pub summaries: &'a BTreeMap<String, ExecutionSummary>,
    /// Presence of report files.
    pub files: &'a FileFacts,
    /// The component cutover matrix, when the wave promotes components.
    pub matrix: Option<&'a ComponentMatrix>,
    /// The benchmark catalog, when the wave has eval targets.
    pub catalog: Option<&'a BenchmarkCatalog>,
    /// Open coordination facts.
    pub coordination: &'a CoordinationFacts,
    /// The integration summary.
    pub integration: Option<&'a IntegrationSummary>,
    /// Contradictions.
    pub contradictions: &'a [Contradiction],
    /// External security context.
    pub corridor: Option<&'a CorridorState>,
    /// The documentation queue.
    pub docs_queue: DocsQueue,
    /// Each agent's last `[infra-status]`.
    pub infra: &'a [(String, InfraStatus)],
    /// Persisted adjudications per agent (a decided adjudication is not recomputed).
    pub adjudications: &'a BTreeMap<String, Adjudication>,
    /// Gate mode.
    pub gate_mode: GateMode,
}

/// Gate names in evaluation order (the snapshot's keys).
pub const GATE_ORDER: [&str; 13] = [
    "designGate",
    "implementationGate",
    "componentGate",
    "helperAssignmentBarrier",
    "dependencyBarrier",
    "contEvalGate",
    "securityGate",
    "integrationBarrier",
    "documentationGate",
    "componentMatrixGate",
    "contQaGate",
    "infraGate",
    "clarificationBarrier",
];

/// Gates whose failures are advisory in bootstrap mode.
pub const BOOTSTRAP_ADVISORY: [&str; 5] = [
    "documentationGate",
    "contQaGate",
    "integrationBarrier",
    "componentMatrixGate",
    "componentGate",
];

/// The first failing gate (or pass).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overall {
    /// All blocking gates passed.
    pub ok: bool,
    /// Gate name, or `pass`.
    pub gate: String,
    /// Status code.
    pub status_code: String,
    /// Detail.
    pub detail: String,
    /// Agent.
    pub agent_id: Option<String>,
}

/// An advisory failure (bootstrap mode).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvisoryFailure {
    /// Gate name.
    pub gate: String,
    /// Status code.
    pub status_code: String,
    /// Agent.
    pub agent_id: Option<String>,
    /// Detail.
    pub detail: String,
}

/// The gate snapshot (upstream's keys).
#[derive(Debug, Clone, PartialEq)]
pub struct GateSnapshot {
    /// Gate results in [`GATE_ORDER`].
    pub gates: Vec<(&'static str, GateResult)>,
    /// The integration steward's marker-level result.
    pub integration_gate: GateResult,
    /// Gate mode.
    pub gate_mode: GateMode,
    /// Failures that did not block.
    pub advisory_failures: Vec<AdvisoryFailure>,
    /// First blocking failure or pass.
    pub overall: Overall,
}

impl GateSnapshot {
    /// A gate by name.
    pub fn gate(&self, name: &str) -> Option<&GateResult> {
        self.gates.iter().find(|(n, _)| *n == name).map(|(_, g)| g)
    }

    /// The snapshot JSON: gates in order, then `integrationGate`, `gateMode`,
    /// `advisoryFailures`, `overall`.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        for (name, g) in &self.gates {
            m.insert(
                (*name).to_owned(),
                serde_json::to_value(g).unwrap_or(Value::Null),
            );
        }
        m.insert(
            "integrationGate".into(),
            serde_json::to_value(&self.integration_gate).unwrap_or(Value::Null),
        );
        m.insert(
            "gateMode".into(),
            serde_json::to_value(self.gate_mode).unwrap_or(Value::Null),
        );
        m.insert(
            "advisoryFailures".into(),
            serde_json::to_value(&self.advisory_failures).unwrap_or(Value::Null),
        );
        m.insert(
            "overall".into(),
            serde_json::to_value(&self.overall).unwrap_or(Value::Null),
        );
        Value::Object(m)
    }
}

impl<'a> GateInputs<'a> {
    fn summary(&self, id: &str) -> Option<&'a ExecutionSummary> {
        self.summaries.get(id)
    }

    fn agents(&self) -> impl Iterator<Item = &'a Agent> + 'a {
        self.plan.agents.iter()
    }

    fn has_agent(&self, id: &str) -> bool {
        !id.is_empty() && self.plan.agent(id).is_some()
    }

    /// Agents the implementation gate validates: not cont-QA / integration / documentation,
    /// not report-only cont-EVAL, not docs-only design, not security reviewers.
    pub fn implementation_agents(&self) -> impl Iterator<Item = &'a Agent> + 'a {
        let lane = self.lane;
        self.agents()
            .filter(move |a| roles::is_implementation_owning(a, lane))
    }

    /// Design agents.
    pub fn design_agents(&self) -> impl Iterator<Item = &'a Agent> + 'a {
        let lane = self.lane;
        self.agents()
            .filter(move |a| roles::is_design_agent(a, lane))
    }

    /// Security reviewers.
    pub fn security_reviewers(&self) -> impl Iterator<Item = &'a Agent> + 'a {
        let lane = self.lane;
        self.agents()
            .filter(move |a| roles::is_security_reviewer(a, lane))
    }

    fn component_rule_active(&self) -> bool {
        self.lane
            .validation
            .require_component_promotions_from_wave
            .is_some_and(|from| self.plan.wave >= from)
    }

    fn integration_required(&self) -> bool {
        match self.lane.validation.require_integration_steward_from_wave {
            Some(from) => self.plan.wave >= from,
            None => self.has_agent(&self.lane.roles.integration_agent_id),
        }
    }
}

/// designGate.
pub fn design_gate(i: &GateInputs<'_>) -> GateResult {
    for agent in i.design_agents() {
        let r = validate::design(&agent.agent_id, i.summary(&agent.agent_id), i.files);
        if !r.ok {
            return r;
        }
    }
    GateResult::pass(None, "Design packets are ready for implementation.")
}

/// implementationGate, with adjudication of eligible transport failures (§4.7).
pub fn implementation_gate(i: &GateInputs<'_>) -> GateResult {
    for agent in i.implementation_agents() {
        let summary = i.summary(&agent.agent_id);
        let r = validate::implementation(agent, summary);
        if r.ok {
            continue;
        }
        if r.failure_class == Some(FailureClass::TransportFailure)
            && r.eligible_for_adjudication
            && let Some(summary) = summary
        {
            let adj = i
                .adjudications
                .get(&agent.agent_id)
                .cloned()
                .unwrap_or_else(|| adjudicate(agent, summary, &r, i.coordination));
            match adj.status {
                AdjudicationStatus::Pass => continue,
                AdjudicationStatus::Ambiguous => {
                    let mut out = r.clone();
                    out.status_code = "awaiting-adjudication".into();
                    out.detail = adj.detail.clone();
                    return out
                        .with("adjudicated", true)
                        .with("adjudicationStatus", "ambiguous");
                }
                AdjudicationStatus::ReworkRequired => {
                    return r
                        .with("adjudicated", true)
                        .with("adjudicationStatus", "rework-required");
                }
            }
        }
        return r;
    }
    GateResult::pass(None, "All implementation exit contracts are satisfied.")
}

fn component_met(summary: Option<&ExecutionSummary>, component: &str, level: &str) -> bool {
    summary.is_some_and(|s| {
        s.components
            .iter()
            .any(|c| c.component_id == component && c.level == level && c.state == "met")
    })
}

/// componentGate (LA-49, LA-50).
pub fn component_gate(i: &GateInputs<'_>) -> GateResult {
    if !i.component_rule_active() {
        return GateResult::pass(
            None,
            "Component promotion rule is not active for this wave.",
        );
    }
    let owners_of = |cid: &str| -> Vec<&Agent> {
        i.implementation_agents()
            .filter(|a| a.components.iter().any(|c| c == cid))
            .collect()
    };
    if i.plan.component_promotions.is_empty() {
        return if i.implementation_agents().next().is_some() {
            GateResult::fail(
                None,
                "missing-component-promotions",
                format!(
                    "Wave {} declares implementation agents but no component promotions.",
                    i.plan.wave
                ),
            )
        } else {
            GateResult::pass(None, "No component promotions declared.")
        };
    }
    for p in &i.plan.component_promotions {
        let owners = owners_of(&p.component_id);
        let (satisfied, waiting): (Vec<&Agent>, Vec<&Agent>) = owners.iter().partition(|a| {
            let s = i.summary(&a.agent_id);
            validate::implementation(a, s).ok && component_met(s, &p.component_id, &p.target_level)
        });
        if !satisfied.is_empty() && !waiting.is_empty() {
            let ids = |v: &[&Agent]| v.iter().map(|a| a.agent_id.clone()).collect::<Vec<_>>();
            let failed_own: Vec<String> = waiting
                .iter()
                .filter(|a| !validate::implementation(a, i.summary(&a.agent_id)).ok)
                .map(|a| a.agent_id.clone())
                .collect();
            let first = waiting.first().map(|a| a.agent_id.as_str());
            return GateResult::fail(
                first,
                "shared-component-sibling-pending",
                format!(
                    "Component {} is satisfied by {} but still waits on {}.",
                    p.component_id,
                    ids(&satisfied).join(", "),
                    ids(&waiting).join(", ")
                ),
            )
            .with("componentId", p.component_id.clone())
            .with("ownerAgentIds", ids(&owners))
            .with("satisfiedAgentIds", ids(&satisfied))
            .with("waitingOnAgentIds", ids(&waiting))
            .with("failedOwnContractAgentIds", failed_own);
        }
    }
    for p in &i.plan.component_promotions {
        let owners = owners_of(&p.component_id);
        if !owners
            .iter()
            .any(|a| component_met(i.summary(&a.agent_id), &p.component_id, &p.target_level))
        {
            let first = owners.first().map(|a| a.agent_id.as_str());
            return GateResult::fail(
                first,
                "component-promotion-gap",
                format!(
                    "Component {} has no met [wave-component] marker at {} from its owners.",
                    p.component_id, p.target_level
                ),
            )
            .with("componentId", p.component_id.clone());
        }
    }
    GateResult::pass(
        None,
        "Every promoted component is proven at its target level.",
    )
}

/// helperAssignmentBarrier.
pub fn helper_assignment_barrier(i: &GateInputs<'_>) -> GateResult {
    let blocking: Vec<&HelperAssignment> = i
        .coordination
        .helper_assignments
        .iter()
        .filter(|a| a.blocking)
        .collect();
    if let Some(a) = blocking.iter().find(|a| a.assigned_agent_id.is_none()) {
        return GateResult::fail(
            None,
            "helper-assignment-unresolved",
            format!("Helper request {} has no assignee.", a.request_id),
        );
    }
    let Some(a) = blocking.first() else {
        return GateResult::pass(None, "No open helper assignments.");
    };
    let detail = format!("Helper assignment for {} is still open.", a.request_id);
    if i.gate_mode == GateMode::Bootstrap {
        let mut r = GateResult::pass(a.assigned_agent_id.as_deref(), &detail);
        r.status_code = "helper-assignment-open-advisory".into();
        return r;
    }
    GateResult::fail(
        a.assigned_agent_id.as_deref(),
        "helper-assignment-open",
        detail,
    )
}

/// dependencyBarrier.
pub fn dependency_barrier(i: &GateInputs<'_>) -> GateResult {
    let required: Vec<&DependencyTicket> = i
        .coordination
        .dependencies
        .iter()
        .filter(|d| d.required)
        .collect();
    if let Some(d) = required
        .iter()
        .find(|d| d.inbound && d.assigned_agent_id.is_none())
    {
        return GateResult::fail(
            None,
            "dependency-assignment-unresolved",
            format!("Required inbound dependency {} has no assignee.", d.id),
        );
    }
    if let Some(d) = required.first() {
        return GateResult::fail(
            d.assigned_agent_id.as_deref(),
            "dependency-open",
            format!("Required dependency {} is still open.", d.id),
        );
    }
    GateResult::pass(None, "No required dependencies are open.")
}

/// contEvalGate.
pub fn cont_eval_gate(i: &GateInputs<'_>) -> GateResult {
    let id = &i.lane.roles.cont_eval_agent_id;
    if !i.has_agent(id) {
        return GateResult::pass(None, "No cont-EVAL agent in this wave.");
    }
    let r = validate::cont_eval(id, i.summary(id), i.files, &i.plan.eval_targets, i.catalog);
    if !r.ok {
        return r;
    }
    // An implementation-owning cont-EVAL agent must also meet its exit contract.
    if let Some(agent) = i.plan.agent(id)
        && roles::is_cont_eval_implementation_owning(agent, i.lane)
    {
        let imp = validate::implementation(agent, i.summary(id));
        if !imp.ok {
            return imp;
        }
    }
    r
}

/// securityGate (AS-25..27, LA-09, LA-10).
pub fn security_gate(i: &GateInputs<'_>) -> GateResult {
    if let Some(c) = i.corridor {
        if !c.ok && c.required_at_closure {
            return GateResult::fail(
                None,
                "corridor-fetch-failed",
                format!(
                    "Corridor security context could not be fetched{}.",
                    c.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            );
        }
        if c.blocking_findings > 0 {
            return GateResult::fail(
                None,
                "corridor-blocked",
                format!(
                    "Corridor reports {} blocking finding(s).",
                    c.blocking_findings
                ),
            );
        }
    }
    let mut concerns: Option<GateResult> = None;
    let mut any = false;
    for agent in i.security_reviewers() {
        any = true;
        let r = validate::security(&agent.agent_id, i.summary(&agent.agent_id), i.files);
        if !r.ok {
            return r;
        }
        if r.status_code == "security-concerns" && concerns.is_none() {
            concerns = Some(r);
        }
    }
    if !any {
        return GateResult::pass(None, "No security reviewers in this wave.");
    }
    concerns.unwrap_or_else(|| GateResult::pass(None, "Security review is clear."))
}

/// The integration steward's marker-level result (`integrationGate`).
pub fn integration_gate(i: &GateInputs<'_>) -> GateResult {
    let id = &i.lane.roles.integration_agent_id;
    if !i.has_agent(id) {
        return GateResult::pass(None, "No integration steward in this wave.");
    }
    validate::integration(id, i.summary(id))
}

/// Inferred integration closure (§7.4): allowed, recommendation ready and nothing open.
pub fn inferred_integration(i: &GateInputs<'_>) -> bool {
    let policy = i.lane.validation.auto_closure;
    let Some(summary) = i.integration else {
        return false;
    };
    policy.allow_inferred_integration
        && summary.clean()
        && i.coordination.helper_assignments.is_empty()
        && i.coordination.dependencies.is_empty()
        && i.coordination.pending_feedback.is_empty()
        && !i.coordination.open_records.iter().any(|r| r.blocking)
        && !i
            .contradictions
            .iter()
            .any(|c| c.blocks("integrationBarrier"))
        && helper_assignment_barrier(i).ok
        && dependency_barrier(i).ok
        && security_gate(i).ok
}

/// integrationBarrier (LA-11..16, LA-36, LA-37).
pub fn integration_barrier(i: &GateInputs<'_>) -> GateResult {
    if inferred_integration(i) {
        return GateResult::pass(
            None,
            "Integration closure inferred from a clean integration summary.",
        )
        .with("integrationState", "inferred");
    }
    let id = &i.lane.roles.integration_agent_id;
    if !i.has_agent(id) {
        return if i.integration_required() {
            GateResult::fail(
                Some(id),
                "missing-integration",
                format!(
                    "Wave {} requires an integration steward ({id}).",
                    i.plan.wave
                ),
            )
        } else {
            GateResult::pass(None, "No integration steward in this wave.")
        };
    }
    let marker = integration_gate(i);
    if !marker.ok {
        return marker;
    }
    let Some(summary) = i.integration else {
        return GateResult::fail(
            Some(id),
            "missing-integration-summary",
            "Integration summary has not been built for this wave.".into(),
        );
    };
    if summary.recommendation != "ready-for-doc-closure" {
        return GateResult::fail(
            Some(id),
            "integration-needs-more-work",
            if summary.detail.is_empty() {
                "Integration summary needs more work.".into()
            } else {
                summary.detail.clone()
            },
        );
    }
    if let Some(c) = i
        .contradictions
        .iter()
        .find(|c| c.blocks("integrationBarrier"))
    {
        return GateResult::fail(
            Some(id),
            "integration-contradiction-open",
            format!("Blocking contradiction {} is unresolved.", c.id),
        );
    }
    marker.with("integrationState", summary.recommendation.clone())
}

/// Doc auto-closure (§7.4): `no-change` when allowed and the queue owes nothing; `auto-closed`
/// when projection is allowed, only matrix items remain and the matrix gate passes.
pub fn doc_auto_closure(i: &GateInputs<'_>) -> Option<&'static str> {
    let policy = i.lane.validation.auto_closure;
    let q = i.docs_queue;
    if policy.allow_auto_doc_no_change && q.shared_plan_items == 0 && q.component_matrix_items == 0
    {
        return Some("no-change");
    }
    if policy.allow_auto_doc_projection
        && q.shared_plan_items == 0
        && q.component_matrix_items > 0
        && component_matrix_gate(i).ok
    {
        return Some("auto-closed");
    }
    None
}

/// documentationGate (AS-28, AS-29).
pub fn documentation_gate(i: &GateInputs<'_>) -> GateResult {
    if let Some(state) = doc_auto_closure(i) {
        return GateResult::pass(None, "Documentation closure applied by policy.")
            .with("docClosureState", state);
    }
    let id = &i.lane.roles.documentation_agent_id;
    if !i.has_agent(id) {
        return GateResult::pass(None, "No documentation steward in this wave.");
    }
    let r = validate::documentation(id, i.summary(id), true);
    if r.status_code == "missing-doc-closure-empty-run" {
        let integration_ready = i
            .integration
            .is_some_and(|s| s.recommendation == "ready-for-doc-closure");
        let qa_pass = i
            .summary(&i.lane.roles.cont_qa_agent_id)
            .and_then(|s| s.verdict.as_ref())
            .is_some_and(|v| v.verdict == "pass");
        if integration_ready || qa_pass {
            let mut ok = GateResult::pass(Some(id), &r.detail).with("docClosureState", "no-change");
            ok.status_code = "fallback-auto-closed".into();
            return ok;
        }
        let mut out = r;
        out.status_code = "missing-doc-closure".into();
        return out;
    }
    r
}

/// componentMatrixGate (LA-51): the documentation steward must raise each promoted
/// component's `currentLevel` to the wave's target.
pub fn component_matrix_gate(i: &GateInputs<'_>) -> GateResult {
    if i.plan.component_promotions.is_empty() {
        return GateResult::pass(None, "No component promotions declared.");
    }
    let a9 = i.lane.roles.documentation_agent_id.as_str();
    let Some(matrix) = i.matrix else {
        return GateResult::fail(
            Some(a9),
            "component-matrix-missing",
            "The component cutover matrix was not loaded; load it before evaluating gates.".into(),
        );
    };
    for p in &i.plan.component_promotions {
        let Some(c) = matrix.components.get(&p.component_id) else {
            return GateResult::fail(
                Some(a9),
                "unknown-component",
                format!("Component {} is not in the matrix.", p.component_id),
            )
            .with("componentId", p.component_id.clone());
        };
        if c.current_level != p.target_level {
            return GateResult::fail(
                Some(a9),
                "component-current-level-stale",
                format!(
                    "Matrix currentLevel for {} is {}; the wave promotes it to {}.",
                    p.component_id, c.current_level, p.target_level
                ),
            )
            .with("componentId", p.component_id.clone());
        }
    }
    GateResult::pass(None, "Component matrix reflects every promotion.")
}

/// contQaGate.
pub fn cont_qa_gate(i: &GateInputs<'_>) -> GateResult {
    let id = &i.lane.roles.cont_qa_agent_id;
    validate::cont_qa(id, i.summary(id), i.files)
}

/// infraGate: an agent's last `[infra-status]` outside the non-blocking set fails.
pub fn infra_gate(i: &GateInputs<'_>) -> GateResult {
    for (agent, s) in i.infra {
        if !INFRA_OK.contains(&s.state.as_str()) {
            return GateResult::fail(
                Some(agent),
                &format!("infra-{}", s.state),
                format!("Infra {} on {} is {}.", s.kind, s.target, s.state),
            );
        }
    }
    GateResult::pass(None, "No blocking infra state.")
}

/// clarificationBarrier.
pub fn clarification_barrier(i: &GateInputs<'_>) -> GateResult {
    let open = &i.coordination.open_records;
    if let Some(r) = open
        .iter()
        .find(|r| r.blocking && r.kind == "clarification-request")
    {
        return GateResult::fail(
            Some(&r.agent_id),
            "clarification-open",
            format!("Clarification {} is open.", r.id),
        );
    }
    if let Some(r) = open
        .iter()
        .find(|r| r.blocking && r.kind == "request" && r.clarification_linked)
    {
        let target = r.target_agents().next().unwrap_or(&r.agent_id).to_owned();
        return GateResult::fail(
            Some(&target),
            "clarification-follow-up-open",
            format!("Clarification follow-up {} is open.", r.id),
        );
    }
    if let Some(r) = open
        .iter()
        .find(|r| r.blocking && matches!(r.kind.as_str(), "human-escalation" | "human-feedback"))
    {
        return GateResult::fail(
            Some(&r.agent_id),
            "human-feedback-open",
            format!("Human input {} is pending.", r.id),
        );
    }
    if let Some(id) = i.coordination.pending_feedback.first() {
        return GateResult::fail(
            None,
            "human-feedback-open",
            format!("Human feedback request {id} is pending."),
        );
    }
    GateResult::pass(None, "No open clarifications.")
}

/// Evaluates every gate and the overall verdict.
pub fn evaluate(i: &GateInputs<'_>) -> GateSnapshot {
    let fns: [fn(&GateInputs<'_>) -> GateResult; 13] = [
        design_gate,
        implementation_gate,
        component_gate,
        helper_assignment_barrier,
        dependency_barrier,
        cont_eval_gate,
        security_gate,
        integration_barrier,
        documentation_gate,
        component_matrix_gate,
        cont_qa_gate,
        infra_gate,
        clarification_barrier,
    ];
    let gates: Vec<(&'static str, GateResult)> = GATE_ORDER
        .iter()
        .zip(fns)
        .map(|(name, f)| (*name, f(i).with_log(i.summaries)))
        .collect();
    let mut advisory_failures = Vec::new();
    let mut overall = None;
    for (name, g) in &gates {
        if g.ok {
            continue;
        }
        if i.gate_mode == GateMode::Bootstrap && BOOTSTRAP_ADVISORY.contains(name) {
            advisory_failures.push(AdvisoryFailure {
                gate: (*name).to_owned(),
                status_code: g.status_code.clone(),
                agent_id: g.agent_id.clone(),
                detail: g.detail.clone(),
            });
            continue;
        }
        if overall.is_none() {
            overall = Some(Overall {
                ok: false,
                gate: (*name).to_owned(),
                status_code: g.status_code.clone(),
                detail: g.detail.clone(),
                agent_id: g.agent_id.clone(),
            });
        }
    }
    GateSnapshot {
        integration_gate: integration_gate(i).with_log(i.summaries),
        gates,
        gate_mode: i.gate_mode,
        advisory_failures,
        overall: overall.unwrap_or_else(|| Overall {
            ok: true,
            gate: "pass".into(),
            status_code: "pass".into(),
            detail: "All replayed wave gates passed.".into(),
            agent_id: None,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Two-phase proof and proof families.

/// Whether one agent's own slice is proven (phase one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnedSlice {
    /// Agent.
    pub agent_id: String,
    /// Proven.
    pub proven: bool,
    /// The validation's status code.
    pub status_code: String,
    /// Detail.
    pub detail: String,
}

/// Phase one for one agent: its role's validation of its own summary.
pub fn owned_slice(i: &GateInputs<'_>, agent: &Agent) -> OwnedSlice {
    let id = agent.agent_id.as_str();
    let s = i.summary(id);
    let r = &i.lane.roles;
    let result = if id == r.cont_qa_agent_id {
        validate::cont_qa(id, s, i.files)
    } else if id == r.cont_eval_agent_id {
        let e = validate::cont_eval(id, s, i.files, &i.plan.eval_targets, i.catalog);
        if e.ok && roles::is_cont_eval_implementation_owning(agent, i.lane) {
            validate::implementation(agent, s)
        } else {
            e
        }
    } else if id == r.integration_agent_id {
        validate::integration(id, s)
    } else if id == r.documentation_agent_id {
        let d = validate::documentation(id, s, true);
        if d.status_code == "missing-doc-closure-empty-run" {
            GateResult::pass(Some(id), &d.detail)
        } else {
            d
        }
    } else if roles::is_security_reviewer(agent, i.lane) {
        validate::security(id, s, i.files)
    } else if roles::is_design_agent(agent, i.lane) {
        let d = validate::design(id, s, i.files);
        if d.ok && roles::is_implementation_owning_design_agent(agent, i.lane) {
            validate::implementation(agent, s)
        } else {
            d
        }
    } else {
        let mut imp = validate::implementation(agent, s);
        if imp.ok {
            for (cid, level) in &agent.component_targets {
                if let Some(level) = level
                    && !component_met(s, cid, level)
                {
                    imp = GateResult::fail(
                        Some(id),
                        "component-promotion-gap",
                        format!("{id} has not proven {cid} at {level}."),
                    );
                    break;
                }
            }
        }
        imp
    };
    OwnedSlice {
        agent_id: id.to_owned(),
        proven: result.ok && s.is_some_and(|s| s.exit_code == Some(0)),
        status_code: if result.ok && s.is_none_or(|s| s.exit_code != Some(0)) {
            "agent-not-finished".into()
        } else {
            result.status_code
        },
        detail: result.detail,
    }
}

/// Phase two: the wave as a whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureReadiness {
    /// Every agent's slice.
    pub slices: Vec<OwnedSlice>,
    /// Agents whose slice is proven.
    pub owned_slice_proven_agent_ids: Vec<String>,
    /// Agents whose slice is not.
    pub pending_agent_ids: Vec<String>,
    /// Every gate passes.
    pub all_gates_pass: bool,
    /// Every slice proven and every gate passes.
    pub wave_may_close: bool,
}

/// Two-phase proof: owned slices, then wave closure readiness over the snapshot.
pub fn closure_readiness(i: &GateInputs<'_>, snapshot: &GateSnapshot) -> ClosureReadiness {
    let slices: Vec<OwnedSlice> = i.plan.agents.iter().map(|a| owned_slice(i, a)).collect();
    let proven: Vec<String> = slices
        .iter()
        .filter(|s| s.proven)
        .map(|s| s.agent_id.clone())
        .collect();
    let pending: Vec<String> = slices
        .iter()
        .filter(|s| !s.proven)
        .map(|s| s.agent_id.clone())
        .collect();
    let all_gates_pass = snapshot.overall.ok;
    ClosureReadiness {
        wave_may_close: all_gates_pass && pending.is_empty(),
        slices,
        owned_slice_proven_agent_ids: proven,
        pending_agent_ids: pending,
        all_gates_pass,
    }
}

/// A proof family's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyState {
    /// Proven.
    Satisfied,
    /// Not proven.
    Unsatisfied,
    /// The wave does not ask for it.
    NotApplicable,
}

/// One proof family's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyVerdict {
    /// State.
    pub state: FamilyState,
    /// Failing status codes with their agents (`A1: missing-wave-proof`).
    pub reasons: Vec<String>,
}

/// The three proof families, each evaluated on its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofFamilies {
    /// Owned deliverables, exit contracts and component promotions.
    pub code_proof: FamilyVerdict,
    /// Cross-cutting contracts: integration, dependencies, contradictions.
    pub integration_proof: FamilyVerdict,
    /// Runtime behaviour; opt-in through declared deploy environments.
    pub deploy_proof: FamilyVerdict,
}

fn family(results: Vec<GateResult>) -> FamilyVerdict {
    let reasons: Vec<String> = results
        .iter()
        .filter(|r| !r.ok)
        .map(|r| match &r.agent_id {
            Some(a) => format!("{a}: {}", r.status_code),
            None => r.status_code.clone(),
        })
        .collect();
    FamilyVerdict {
        state: if reasons.is_empty() {
            FamilyState::Satisfied
        } else {
            FamilyState::Unsatisfied
        },
        reasons,
    }
}

/// Evaluates the proof families. `deploy` is every agent's last `[deploy-status]` per service.
pub fn proof_families(i: &GateInputs<'_>, deploy: &[(String, DeployStatus)]) -> ProofFamilies {
    let mut code: Vec<GateResult> = i
        .implementation_agents()
        .map(|a| validate::implementation(a, i.summary(&a.agent_id)))
        .collect();
    code.push(component_gate(i));
    let integration = vec![integration_barrier(i), dependency_barrier(i)];
    let deploy_proof = if i.plan.deploy_environments.is_empty() {
        FamilyVerdict {
            state: FamilyState::NotApplicable,
            reasons: Vec::new(),
        }
    } else if deploy.is_empty() {
        FamilyVerdict {
            state: FamilyState::Unsatisfied,
            reasons: vec!["missing-deploy-status".into()],
        }
    } else {
        family(
            deploy
                .iter()
                .map(|(agent, d)| {
                    if d.state == "healthy" {
                        GateResult::pass(Some(agent), "healthy")
                    } else {
                        GateResult::fail(
                            Some(agent),
                            &format!("deploy-{}", d.state),
                            d.detail.clone(),
                        )
                    }
                })
                .collect(),
        )
    };
    ProofFamilies {
        code_proof: family(code),
        integration_proof: family(integration),
        deploy_proof,
    }
}
