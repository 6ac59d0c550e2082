//! The steward-facing projections of a wave: each agent's outcome as its latest result
//! envelope states it, the docs queue (§10.5) and the ledger (§10.6: seed tasks per agent and
//! promotion, helper, dependency and documentation-helper tasks, the phase and the closure
//! states).
//!
//! Owns: which tasks exist, their states and the ledger phase. Must not: do I/O, read the
//! clock (times are parameters) or decide gates (the gates engine does; the ledger only
//! reports).
//!
//! Deliberate difference from upstream: an agent's validation is read from its latest result
//! envelope (exit code, proof state, the role section's verdict) instead of re-validating the
//! agent's execution summary; the envelope is what the runner keeps as canonical state.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::assignments::{Assignment, AssignmentState};
use super::views::{DependencyItem, DependencySnapshot};
use super::{CoordinationState, blocks_wave, is_hard_blocker};
use crate::event::coordination::Kind;
use crate::event::envelope::{ProofState, ResultEnvelope};

/// The ledger kind of an agent's seed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// The cont-QA agent.
    ContQa,
    /// The cont-EVAL agent.
    ContEval,
    /// The integration steward.
    Integration,
    /// The documentation steward.
    Documentation,
    /// A design agent.
    Design,
    /// A security reviewer.
    Security,
    /// Everyone else.
    Implementation,
}

impl TaskKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::ContQa => "cont-qa",
            TaskKind::ContEval => "cont-eval",
            TaskKind::Integration => "integration",
            TaskKind::Documentation => "documentation",
            TaskKind::Design => "design",
            TaskKind::Security => "security",
            TaskKind::Implementation => "implementation",
        }
    }
}

/// A wave agent as the ledger sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAgent {
    /// Agent id.
    pub agent_id: String,
    /// Title.
    pub title: String,
    /// Its seed task kind.
    pub kind: TaskKind,
    /// A design agent that also owns implementation paths (gets a design and an
    /// implementation task).
    pub hybrid_design: bool,
    /// The cont-EVAL agent owns implementation paths too (its proof must also be met).
    pub implementation_owning: bool,
    /// Owned paths.
    pub owned_paths: Vec<String>,
    /// Owned component ids.
    pub components: Vec<String>,
    /// Its executor runtime facts, when known (`null` otherwise).
    pub runtime: Value,
}

/// A `docDelta` an agent reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocDelta {
    /// `none`, `owned` or `shared-plan`.
    pub state: String,
    /// Paths.
    pub paths: Vec<String>,
    /// Detail.
    pub detail: String,
}

/// A gap an agent reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gap {
    /// `docs`, `ops`, or any other kind.
    pub kind: String,
    /// Detail.
    pub detail: String,
}

/// The integration steward's marker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationMarker {
    /// Recommendation (`ready-for-doc-closure`, `needs-more-work`, …).
    pub state: String,
    /// Reported claims.
    pub claims: u64,
    /// Reported conflicts.
    pub conflicts: u64,
    /// Reported blockers.
    pub blockers: u64,
    /// Detail.
    pub detail: String,
}

/// One agent's latest outcome, read from its latest result envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentOutcome {
    /// Process exit code.
    pub exit_code: Option<i64>,
    /// Proof met.
    pub proof_met: bool,
    /// Proof failed or partial.
    pub proof_gap: bool,
    /// Reported doc delta.
    pub doc_delta: Option<DocDelta>,
    /// Component ids reported `met`.
    pub met_components: Vec<String>,
    /// Reported gaps.
    pub gaps: Vec<Gap>,
    /// The integration marker, for the integration steward.
    pub integration: Option<IntegrationMarker>,
    /// cont-QA verdict.
    pub cont_qa_verdict: Option<String>,
    /// Documentation closure state.
    pub doc_closure: Option<String>,
    /// cont-EVAL state.
    pub cont_eval: Option<String>,
    /// Security review state.
    pub security: Option<String>,
    /// Security review detail.
    pub security_detail: String,
    /// Security approvals reported.
    pub security_approvals: u64,
    /// Design state.
    pub design: Option<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| text(Some(x))).collect())
        .unwrap_or_default()
}

fn section<'a>(rest: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    rest.get(name).and_then(Value::as_object)
}

impl AgentOutcome {
    /// Reads an envelope's outcome.
    pub fn from_envelope(env: &ResultEnvelope) -> Self {
        let rest = &env.rest;
        let implementation = section(rest, "implementation");
        let doc_delta = implementation
            .and_then(|i| i.get("docDelta"))
            .and_then(Value::as_object)
            .map(|d| DocDelta {
                state: text(d.get("state")).unwrap_or_default(),
                paths: strings(d.get("paths")),
                detail: text(d.get("detail")).unwrap_or_default(),
            });
        let met_components = implementation
            .and_then(|i| i.get("components"))
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter(|c| text(c.get("state")).as_deref() == Some("met"))
                    .filter_map(|c| text(c.get("componentId")))
                    .collect()
            })
            .unwrap_or_default();
        let gaps = rest
            .get("gaps")
            .and_then(Value::as_array)
            .map(|gs| {
                gs.iter()
                    .map(|g| Gap {
                        kind: text(g.get("kind")).unwrap_or_default(),
                        detail: text(g.get("detail")).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let integration = section(rest, "integration")
            .filter(|i| text(i.get("state")).is_some())
            .map(|i| IntegrationMarker {
                state: text(i.get("state")).unwrap_or_default(),
                claims: i.get("claims").and_then(Value::as_u64).unwrap_or(0),
                conflicts: i.get("conflicts").and_then(Value::as_u64).unwrap_or(0),
                blockers: i.get("blockers").and_then(Value::as_u64).unwrap_or(0),
                detail: text(i.get("detail")).unwrap_or_default(),
            });
        let state_of = |name: &str| section(rest, name).and_then(|s| text(s.get("state")));
        AgentOutcome {
            exit_code: env.exit_code,
            proof_met: env.proof_state == ProofState::Satisfied,
            proof_gap: matches!(env.proof_state, ProofState::Partial | ProofState::Failed),
            doc_delta,
            met_components,
            gaps,
            integration,
            cont_qa_verdict: section(rest, "contQa")
                .and_then(|q| q.get("verdict"))
                .and_then(|v| text(v.get("verdict"))),
            doc_closure: section(rest, "documentation")
                .and_then(|d| d.get("docClosure"))
                .and_then(|d| text(d.get("state"))),
            cont_eval: state_of("contEval"),
            security: state_of("security"),
            security_detail: section(rest, "security")
                .and_then(|s| text(s.get("detail")))
                .unwrap_or_default(),
            security_approvals: section(rest, "security")
                .and_then(|s| s.get("approvals"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
            design: state_of("design"),
        }
    }

    fn exited_ok(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Whether the agent's work validates for its task kind.
    pub fn validates(&self, kind: TaskKind, agent: &LedgerAgent) -> bool {
        if !self.exited_ok() {
            return false;
        }
        match kind {
            TaskKind::Implementation => {
                self.proof_met
                    && agent
                        .components
                        .iter()
                        .all(|c| self.met_components.contains(c))
            }
            TaskKind::Design => {
                !self.proof_gap
                    && self
                        .design
                        .as_deref()
                        .is_none_or(|s| s == "ready-for-implementation")
            }
            TaskKind::Documentation => {
                matches!(self.doc_closure.as_deref(), Some("closed" | "no-change"))
            }
            TaskKind::ContEval => {
                self.cont_eval.as_deref() == Some("satisfied")
                    && (!agent.implementation_owning || self.proof_met)
            }
            TaskKind::ContQa => self.cont_qa_verdict.as_deref() == Some("pass"),
            TaskKind::Security => matches!(
                self.security.as_deref(),
                Some("clear" | "concerns" | "approved")
            ),
            TaskKind::Integration => self
                .integration
                .as_ref()
                .is_some_and(|i| i.state == "ready-for-doc-closure"),
        }
    }
}

/// One docs-queue item (§10.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsItem {
    /// Item id.
    pub id: String,
    /// `owned-doc`, `shared-plan` or `component-matrix`.
    pub kind: String,
    /// The agent that reported it.
    pub agent_id: Option<String>,
    /// The agent that owns the update.
    pub owner_agent_id: Option<String>,
    /// Path (or component id).
    pub path: String,
    /// Summary.
    pub summary: String,
    /// Detail.
    pub detail: String,
    /// Targets.
    pub targets: Vec<String>,
}

/// The docs queue (`S/docs-queue/wave-N.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsQueue {
    /// Lane.
    pub lane: String,
    /// Wave.
    pub wave: u64,
    /// Build time.
    pub created_at: String,
    /// Build time.
    pub updated_at: String,
    /// Any shared-plan item.
    pub release_notes_required: bool,
    /// Executor assignments.
    pub runtime_assignments: Vec<Value>,
    /// Items.
    pub items: Vec<DocsItem>,
}

/// What the docs queue is built from.
#[derive(Debug, Clone, Copy)]
pub struct DocsInputs<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave.
    pub wave: u64,
    /// Agents in plan order.
    pub agents: &'a [LedgerAgent],
    /// Latest outcome per agent.
    pub outcomes: &'a BTreeMap<String, AgentOutcome>,
    /// The lane's shared-plan documents.
    pub shared_plan_docs: &'a [String],
    /// Component promotions `(componentId, targetLevel)`.
    pub promotions: &'a [(String, String)],
    /// Build time.
    pub now: &'a str,
}

/// Builds the docs queue: owned-doc and shared-plan items from each agent's doc delta (in
/// agent order), then one component-matrix item per promotion.
pub fn docs_queue(i: &DocsInputs<'_>, runtime_assignments: Vec<Value>) -> DocsQueue {
    let DocsInputs {
        lane,
        wave,
        agents,
        outcomes,
        shared_plan_docs,
        promotions,
        now,
    } = *i;
    let mut items = Vec::new();
    for a in agents {
        let Some(delta) = outcomes.get(&a.agent_id).and_then(|o| o.doc_delta.as_ref()) else {
            continue;
        };
        let id = &a.agent_id;
        match delta.state.as_str() {
            "owned" => items.extend(delta.paths.iter().map(|p| DocsItem {
                id: format!("{id}:owned:{p}"),
                kind: "owned-doc".into(),
                agent_id: Some(id.clone()),
                owner_agent_id: Some(id.clone()),
                path: p.clone(),
                summary: format!("Owned documentation update required in {p}"),
                detail: delta.detail.clone(),
                targets: vec![id.clone()],
            })),
            "shared-plan" => {
                let paths = if delta.paths.is_empty() {
                    shared_plan_docs
                } else {
                    &delta.paths
                };
                items.extend(paths.iter().map(|p| DocsItem {
                    id: format!("{id}:shared:{p}"),
                    kind: "shared-plan".into(),
                    agent_id: Some(id.clone()),
                    owner_agent_id: None,
                    path: p.clone(),
                    summary: format!("Shared-plan reconciliation required in {p}"),
                    detail: delta.detail.clone(),
                    targets: Vec::new(),
                }));
            }
            _ => {}
        }
    }
    items.extend(promotions.iter().map(|(cid, level)| DocsItem {
        id: format!("component-matrix:{cid}"),
        kind: "component-matrix".into(),
        agent_id: None,
        owner_agent_id: None,
        path: cid.clone(),
        summary: format!("Component matrix currentLevel must reflect {cid} -> {level}"),
        detail: String::new(),
        targets: Vec::new(),
    }));
    DocsQueue {
        lane: lane.to_owned(),
        wave,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        release_notes_required: items.iter().any(|i| i.kind == "shared-plan"),
        runtime_assignments,
        items,
    }
}

/// One ledger task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveTask {
    /// `<kind>:<id>`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Owner agent.
    pub owner: Option<String>,
    /// Kind.
    pub kind: String,
    /// Prerequisites.
    pub depends_on: Vec<String>,
    /// `planned`, `in_progress`, `acknowledged`, `blocked` or `done`.
    pub state: String,
    /// Proof state.
    pub proof_state: String,
    /// Documentation state.
    pub doc_state: String,
    /// Always `n/a`.
    pub infra_state: String,
    /// Priority.
    pub priority: String,
    /// Artifacts.
    pub artifact_refs: Vec<String>,
    /// Executor runtime (seed tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Value>,
    /// Routing facts (helper, dependency and documentation-helper tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment: Option<Value>,
    /// The dependency ticket (dependency tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency: Option<Value>,
}

/// Dependency ids of the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerDependencies {
    /// Open inbound ticket ids.
    pub open_inbound: Vec<String>,
    /// Open outbound ticket ids.
    pub open_outbound: Vec<String>,
    /// Required open inbound ticket ids.
    pub required_inbound: Vec<String>,
    /// Required open outbound ticket ids.
    pub required_outbound: Vec<String>,
    /// Required open inbound tickets nobody is assigned.
    pub unresolved_inbound_assignments: Vec<String>,
}

impl LedgerDependencies {
    /// The ids of a snapshot.
    pub fn of(d: &DependencySnapshot) -> Self {
        let ids = |it: &mut dyn Iterator<Item = &DependencyItem>| -> Vec<String> {
            it.map(|i| i.id.clone()).collect()
        };
        LedgerDependencies {
            open_inbound: ids(&mut d.open_inbound()),
            open_outbound: ids(&mut d.open_outbound()),
            required_inbound: ids(&mut d.open_inbound().filter(|i| i.required)),
            required_outbound: ids(&mut d.open_outbound().filter(|i| i.required)),
            unresolved_inbound_assignments: ids(&mut d
                .open_inbound()
                .filter(|i| i.required && i.assigned_agent_id.is_none())),
        }
    }
}

/// A ledger capability assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerCapability {
    /// Assignment id.
    pub id: String,
    /// Request id.
    pub request_id: String,
    /// Assignee.
    pub assigned_agent_id: Option<String>,
    /// Target.
    pub target: String,
    /// Target type.
    pub target_type: Value,
    /// Capability.
    pub capability: Option<String>,
    /// Blocking.
    pub blocking: bool,
    /// Why this assignee.
    pub assignment_reason: Value,
    /// State.
    pub state: Value,
}

/// The ledger (`S/ledger/wave-N.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveLedger {
    /// Wave.
    pub wave: u64,
    /// Lane.
    pub lane: String,
    /// Attempt.
    pub attempt: u64,
    /// Phase (§10.6).
    pub phase: String,
    /// Tasks.
    pub tasks: Vec<WaveTask>,
    /// Every blocker id.
    pub blockers: Vec<String>,
    /// Blocking clarification ids.
    pub open_clarifications: Vec<String>,
    /// Blocking clarification-linked request ids.
    pub clarification_linked_requests: Vec<String>,
    /// Open request ids.
    pub open_requests: Vec<String>,
    /// Capability assignments.
    pub capability_assignments: Vec<LedgerCapability>,
    /// Dependency ids.
    pub dependency_snapshot: Option<LedgerDependencies>,
    /// Blocking human feedback and escalation ids.
    pub human_feedback: Vec<String>,
    /// Blocking human escalation ids.
    pub human_escalations: Vec<String>,
    /// `pass` or `open`.
    pub cont_eval_state: String,
    /// `pass`, `security-concerns` or `open`.
    pub security_state: String,
    /// The integration recommendation or `pending`.
    pub integration_state: String,
    /// `closed` or `open`.
    pub doc_closure_state: String,
    /// `pass` or `open`.
    pub cont_qa_state: String,
    /// Build time.
    pub updated_at: String,
}

/// What the ledger is built from.
#[derive(Debug, Clone, Copy)]
pub struct LedgerInputs<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave.
    pub wave: u64,
    /// Attempt.
    pub attempt: u64,
    /// Agents in plan order.
    pub agents: &'a [LedgerAgent],
    /// Component promotions `(componentId, targetLevel)`.
    pub promotions: &'a [(String, String)],
    /// Latest outcome per agent.
    pub outcomes: &'a BTreeMap<String, AgentOutcome>,
    /// Coordination state.
    pub state: &'a CoordinationState,
    /// Helper assignments.
    pub assignments: &'a [Assignment],
    /// Dependency snapshot.
    pub dependencies: Option<&'a DependencySnapshot>,
    /// Docs queue.
    pub docs_queue: Option<&'a DocsQueue>,
    /// Integration recommendation, when an integration summary exists.
    pub integration_recommendation: Option<&'a str>,
    /// The documentation steward's id (owner of documentation-helper tasks).
    pub documentation_agent_id: &'a str,
    /// Build time.
    pub now: &'a str,
}

fn task(id: String, title: String, owner: Option<String>, kind: &str) -> WaveTask {
    WaveTask {
        id,
        title,
        owner,
        kind: kind.to_owned(),
        depends_on: Vec::new(),
        state: "planned".into(),
        proof_state: "pending".into(),
        doc_state: "pending".into(),
        infra_state: "n/a".into(),
        priority: "high".into(),
        artifact_refs: Vec::new(),
        runtime: None,
        assignment: None,
        dependency: None,
    }
}

fn seed_task(i: &LedgerInputs<'_>, a: &LedgerAgent, kind: TaskKind) -> WaveTask {
    let mut t = task(
        format!("{}:{}", kind.as_str(), a.agent_id),
        format!("{}: {}", a.agent_id, a.title),
        Some(a.agent_id.clone()),
        kind.as_str(),
    );
    t.priority = if kind == TaskKind::Implementation {
        "normal"
    } else {
        "high"
    }
    .into();
    t.artifact_refs = a.owned_paths.clone();
    t.runtime = Some(a.runtime.clone());
    let outcome = i.outcomes.get(&a.agent_id);
    let ok = outcome.is_some_and(|o| o.validates(kind, a));
    let state = match outcome {
        None => "planned",
        Some(_) if ok => "done",
        Some(_) => "blocked",
    };
    let met = if ok { "met" } else { "gap" };
    let (proof, doc) = match kind {
        TaskKind::Implementation => (
            met.to_owned(),
            outcome
                .and_then(|o| o.doc_delta.as_ref())
                .map(|d| d.state.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "pending".into()),
        ),
        TaskKind::Design => (met.to_owned(), met.to_owned()),
        TaskKind::Documentation => (
            "n/a".to_owned(),
            if ok { "closed" } else { "open" }.to_owned(),
        ),
        TaskKind::ContEval | TaskKind::ContQa | TaskKind::Security => {
            (met.to_owned(), "n/a".to_owned())
        }
        TaskKind::Integration => {
            let ready = i.integration_recommendation == Some("ready-for-doc-closure");
            t.state = if ready {
                "done"
            } else if i.integration_recommendation.is_some() {
                "blocked"
            } else {
                "planned"
            }
            .into();
            t.proof_state = if ready { "met" } else { "pending" }.into();
            t.doc_state = "n/a".into();
            return t;
        }
    };
    t.state = state.into();
    t.proof_state = proof;
    t.doc_state = doc;
    t
}

fn component_task(i: &LedgerInputs<'_>, cid: &str, level: &str) -> WaveTask {
    let mut t = task(
        format!("component:{cid}"),
        format!("Promote {cid} to {level}"),
        None,
        "component",
    );
    t.artifact_refs = vec![cid.to_owned()];
    t.runtime = Some(Value::Null);
    let owners: Vec<&LedgerAgent> = i
        .agents
        .iter()
        .filter(|a| a.components.iter().any(|c| c == cid))
        .collect();
    let complete = !owners.is_empty()
        && owners.iter().all(|a| {
            i.outcomes
                .get(&a.agent_id)
                .is_some_and(|o| o.met_components.iter().any(|c| c == cid))
        });
    t.state = if complete { "done" } else { "blocked" }.into();
    t.proof_state = if complete { "met" } else { "gap" }.into();
    let matrix_items = i
        .docs_queue
        .is_some_and(|d| d.items.iter().any(|x| x.kind == "component-matrix"));
    t.doc_state = if matrix_items { "pending" } else { "n/a" }.into();
    t
}

fn enum_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn helper_tasks(i: &LedgerInputs<'_>) -> Vec<WaveTask> {
    let mut out = Vec::new();
    for a in i.assignments.iter().filter(|a| a.blocking) {
        let mut t = task(
            format!("helper:{}", a.id),
            if a.summary.is_empty() {
                format!("Follow-up for {}", a.request_id)
            } else {
                a.summary.clone()
            },
            a.assigned_agent_id.clone(),
            "helper",
        );
        t.depends_on = vec![a.request_id.clone()];
        t.state = match (a.state, &a.assigned_agent_id) {
            (AssignmentState::Resolved, _) => "done",
            (_, None) => "blocked",
            (AssignmentState::InProgress, _) => "in_progress",
            (AssignmentState::Acknowledged, _) => "acknowledged",
            _ => "planned",
        }
        .into();
        t.priority = a.priority.as_str().to_owned();
        t.artifact_refs = a.artifact_refs.clone();
        t.assignment = Some(serde_json::json!({
            "target": a.target, "targetType": enum_value(&a.target_type),
            "capability": a.capability, "assignmentReason": enum_value(&a.assignment_reason),
        }));
        out.push(t);
    }
    if let Some(d) = i.dependencies {
        for dep in d.inbound.iter().filter(|x| x.open) {
            let mut t = task(
                format!("dependency:{}", dep.id),
                if dep.summary.is_empty() {
                    format!("Inbound dependency {}", dep.id)
                } else {
                    dep.summary.clone()
                },
                dep.assigned_agent_id.clone(),
                "dependency",
            );
            t.state = if dep.required && dep.assigned_agent_id.is_none() {
                "blocked"
            } else {
                match dep.status.as_str() {
                    "in_progress" => "in_progress",
                    "acknowledged" => "acknowledged",
                    _ => "planned",
                }
            }
            .into();
            if !dep.priority.is_empty() {
                t.priority = dep.priority.clone();
            }
            t.artifact_refs = dep.artifact_refs.clone();
            let first = dep.targets.first();
            let capability = first.and_then(|x| x.strip_prefix("capability:"));
            t.assignment = Some(serde_json::json!({
                "target": first,
                "targetType": if capability.is_some() { "capability" } else { "agent" },
                "capability": capability.map(|c| c.trim().to_lowercase()),
                "assignmentReason": Value::Null,
            }));
            t.dependency = Some(dependency_value(dep));
            out.push(t);
        }
    }
    if let Some(q) = i.docs_queue {
        for item in q
            .items
            .iter()
            .filter(|x| matches!(x.kind.as_str(), "shared-plan" | "component-matrix"))
        {
            let mut t = task(
                format!("doc-helper:{}", item.id),
                if !item.summary.is_empty() {
                    item.summary.clone()
                } else {
                    format!("Documentation follow-up for {}", item.path)
                },
                Some(
                    item.owner_agent_id
                        .clone()
                        .unwrap_or_else(|| i.documentation_agent_id.to_owned()),
                ),
                "documentation-helper",
            );
            t.proof_state = "n/a".into();
            t.artifact_refs = if item.path.is_empty() {
                Vec::new()
            } else {
                vec![item.path.clone()]
            };
            t.assignment = Some(Value::Null);
            out.push(t);
        }
    }
    if let Some(d) = i.dependencies {
        for dep in d.open_outbound().filter(|x| x.required) {
            let mut t = task(
                format!("dependency-outbound:{}", dep.id),
                if dep.summary.is_empty() {
                    format!("Outbound dependency {}", dep.id)
                } else {
                    dep.summary.clone()
                },
                None,
                "dependency-outbound",
            );
            t.state = "blocked".into();
            if !dep.priority.is_empty() {
                t.priority = dep.priority.clone();
            }
            t.artifact_refs = dep.artifact_refs.clone();
            t.assignment = Some(Value::Null);
            t.dependency = Some(dependency_value(dep));
            out.push(t);
        }
    }
    out
}

/// The JSON of a dependency ticket as projections embed it.
pub fn dependency_value(i: &DependencyItem) -> Value {
    serde_json::json!({
        "id": i.id, "direction": i.direction, "required": i.required, "open": i.open,
        "status": i.status, "summary": i.summary, "detail": i.detail, "priority": i.priority,
        "targets": i.targets, "artifactRefs": i.artifact_refs,
        "assignedAgentId": i.assigned_agent_id,
    })
}

struct Closure {
    cont_eval: bool,
    security: Option<&'static str>,
    docs: bool,
    cont_qa: bool,
}

fn closure(i: &LedgerInputs<'_>) -> Closure {
    let validates = |kind: TaskKind| {
        let agents: Vec<&LedgerAgent> = i.agents.iter().filter(|a| a.kind == kind).collect();
        agents.iter().all(|a| {
            i.outcomes
                .get(&a.agent_id)
                .is_some_and(|o| o.validates(kind, a))
        })
    };
    let reviewers: Vec<&LedgerAgent> = i
        .agents
        .iter()
        .filter(|a| a.kind == TaskKind::Security)
        .collect();
    let security = if !validates(TaskKind::Security) {
        None
    } else if reviewers.iter().any(|a| {
        i.outcomes
            .get(&a.agent_id)
            .is_some_and(|o| o.security.as_deref() == Some("concerns"))
    }) {
        Some("security-concerns")
    } else {
        Some("pass")
    };
    Closure {
        cont_eval: validates(TaskKind::ContEval),
        security,
        docs: validates(TaskKind::Documentation),
        cont_qa: validates(TaskKind::ContQa),
    }
}

fn phase(i: &LedgerInputs<'_>, tasks: &[WaveTask], c: &Closure) -> &'static str {
    let s = i.state;
    if s.blockers().any(is_hard_blocker) {
        return "blocked";
    }
    if s.clarifications().any(blocks_wave)
        || s.open_clarification_linked_requests().any(blocks_wave)
    {
        return "clarifying";
    }
    if i.dependencies.is_some_and(|d| {
        d.open_inbound()
            .chain(d.open_outbound())
            .any(|x| x.required)
    }) {
        return "blocked";
    }
    let open_helpers: Vec<&WaveTask> = tasks
        .iter()
        .filter(|t| {
            matches!(
                t.kind.as_str(),
                "helper" | "dependency" | "dependency-outbound"
            )
        })
        .filter(|t| !matches!(t.state.as_str(), "done" | "closed" | "resolved"))
        .collect();
    if !open_helpers.is_empty() {
        return if open_helpers.iter().any(|t| t.state == "blocked") {
            "blocked"
        } else {
            "running"
        };
    }
    let all_done = |kind: &str| {
        tasks
            .iter()
            .filter(|t| t.kind == kind)
            .all(|t| t.state == "done")
    };
    if !all_done("design") {
        return "design";
    }
    if !all_done("implementation") {
        return "running";
    }
    let has = |k: TaskKind| i.agents.iter().any(|a| a.kind == k);
    if has(TaskKind::ContEval) && !c.cont_eval {
        return "cont-eval";
    }
    if has(TaskKind::Security) && c.security.is_none() {
        return "security-review";
    }
    if i.integration_recommendation != Some("ready-for-doc-closure") {
        return "integrating";
    }
    if !c.docs {
        return "docs-closure";
    }
    if !c.cont_qa {
        return "cont-qa-closure";
    }
    "completed"
}

/// Applies the executor fallbacks the retry engine recorded (in log order) to each agent's
/// runtime facts, as upstream's resolved executor changes on a retry fallback (§8.4 step 2):
/// the agent's executor becomes the fallback's, `selectedBy` `retry-fallback`, `fallbackUsed`
/// true, `fallbackReason` the recorded reason, and the history gains `{attempt, executorId,
/// reason}`. A fallback applies once it is recorded (upstream changes the resolved executor
/// when it plans the retry, before the attempt runs); one already in the history is not
/// applied twice, and agents without runtime facts are left as they are.
pub fn apply_executor_fallbacks(
    agents: &mut [LedgerAgent],
    fallbacks: &[crate::engine::control::ExecutorFallback],
) {
    for f in fallbacks {
        let Some(Value::Object(rt)) = agents
            .iter_mut()
            .find(|a| a.agent_id == f.agent_id)
            .map(|a| &mut a.runtime)
        else {
            continue;
        };
        let reason = f
            .reason
            .clone()
            .unwrap_or_else(|| "retry:unknown".to_owned());
        let entry = serde_json::json!({
            "attempt": f.attempt, "executorId": f.executor_id, "reason": reason,
        });
        let history = rt
            .entry("executorHistory")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(h) = history {
            if h.iter().any(|e| {
                e.get("attempt") == entry.get("attempt")
                    && e.get("executorId") == entry.get("executorId")
            }) {
                continue;
            }
            h.push(entry);
        }
        rt.insert("id".into(), f.executor_id.clone().into());
        rt.insert("selectedBy".into(), "retry-fallback".into());
        rt.insert("fallbackUsed".into(), true.into());
        rt.insert("fallbackReason".into(), reason.into());
    }
}

/// Builds the ledger (§10.6).
pub fn ledger(i: &LedgerInputs<'_>) -> WaveLedger {
    let mut tasks = Vec::new();
    for a in i.agents {
        if a.hybrid_design && a.kind == TaskKind::Design {
            tasks.push(seed_task(i, a, TaskKind::Design));
            tasks.push(seed_task(i, a, TaskKind::Implementation));
        } else {
            tasks.push(seed_task(i, a, a.kind));
        }
    }
    for (cid, level) in i.promotions {
        tasks.push(component_task(i, cid, level));
    }
    tasks.extend(helper_tasks(i));
    let c = closure(i);
    let s = i.state;
    let ids = |it: &mut dyn Iterator<Item = &crate::event::coordination::CoordinationRecord>| {
        it.map(|r| r.id.clone()).collect::<Vec<_>>()
    };
    let escalations = ids(&mut s.human_escalations().filter(|r| blocks_wave(*r)));
    let mut human_feedback = ids(&mut s.human_feedback().filter(|r| blocks_wave(*r)));
    human_feedback.extend(escalations.iter().cloned());
    WaveLedger {
        wave: i.wave,
        lane: i.lane.to_owned(),
        attempt: i.attempt,
        phase: phase(i, &tasks, &c).to_owned(),
        blockers: ids(&mut s.blockers()),
        open_clarifications: ids(&mut s.clarifications().filter(|r| blocks_wave(*r))),
        clarification_linked_requests: ids(&mut s
            .open_clarification_linked_requests()
            .filter(|r| blocks_wave(*r))),
        open_requests: ids(&mut s.of_kind(Kind::Request).filter(|r| r.status.is_open())),
        capability_assignments: i
            .assignments
            .iter()
            .map(|a| LedgerCapability {
                id: a.id.clone(),
                request_id: a.request_id.clone(),
                assigned_agent_id: a.assigned_agent_id.clone(),
                target: a.target.clone(),
                target_type: enum_value(&a.target_type),
                capability: a.capability.clone(),
                blocking: a.blocking,
                assignment_reason: enum_value(&a.assignment_reason),
                state: enum_value(&a.state),
            })
            .collect(),
        dependency_snapshot: i.dependencies.map(LedgerDependencies::of),
        human_feedback,
        human_escalations: escalations,
        cont_eval_state: if c.cont_eval { "pass" } else { "open" }.into(),
        security_state: c.security.unwrap_or("open").into(),
        integration_state: i.integration_recommendation.unwrap_or("pending").into(),
        doc_closure_state: if c.docs { "closed" } else { "open" }.into(),
        cont_qa_state: if c.cont_qa { "pass" } else { "open" }.into(),
        tasks,
        updated_at: i.now.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::control::ExecutorFallback;

    fn agent(id: &str, runtime: Value) -> LedgerAgent {
        LedgerAgent {
            agent_id: id.into(),
            title: id.into(),
            kind: TaskKind::Implementation,
            hybrid_design: false,
            implementation_owning: false,
            owned_paths: Vec::new(),
            components: Vec::new(),
            runtime,
        }
    }

    fn fallback(agent: &str, attempt: u64, executor: &str) -> ExecutorFallback {
        ExecutorFallback {
            agent_id: agent.into(),
            attempt,
            executor_id: executor.into(),
            from_executor_id: None,
            reason: Some("retry:exit-nonzero".into()),
        }
    }

    #[test]
    fn recorded_fallbacks_move_the_runtime_and_extend_its_history_once() {
        let initial = serde_json::json!({
            "id": "codex", "initialExecutorId": "codex", "selectedBy": "agent-id",
            "fallbackUsed": false, "fallbackReason": null, "fallbacks": ["claude", "local"],
            "executorHistory": [{"attempt": 0, "executorId": "codex", "reason": "initial"}],
        });
        let mut agents = vec![agent("A1", initial.clone()), agent("A2", Value::Null)];
        let recorded = [
            fallback("A1", 2, "claude"),
            fallback("A2", 2, "local"),
            fallback("A1", 3, "local"),
            // Delivered twice.
            fallback("A1", 3, "local"),
        ];
        apply_executor_fallbacks(&mut agents, &recorded);
        let rt = &agents[0].runtime;
        assert_eq!(rt["id"], "local");
        assert_eq!(rt["initialExecutorId"], "codex");
        assert_eq!(rt["selectedBy"], "retry-fallback");
        assert_eq!(rt["fallbackUsed"], true);
        assert_eq!(rt["fallbackReason"], "retry:exit-nonzero");
        assert_eq!(
            rt["executorHistory"],
            serde_json::json!([
                {"attempt": 0, "executorId": "codex", "reason": "initial"},
                {"attempt": 2, "executorId": "claude", "reason": "retry:exit-nonzero"},
                {"attempt": 3, "executorId": "local", "reason": "retry:exit-nonzero"},
            ])
        );
        // No runtime facts: nothing to move.
        assert_eq!(agents[1].runtime, Value::Null);
        // No fallback: unchanged.
        let mut untouched = vec![agent("A1", initial.clone())];
        apply_executor_fallbacks(&mut untouched, &[fallback("A9", 2, "local")]);
        assert_eq!(untouched[0].runtime, initial);
    }
}
