//! The data behind the shared summary (§10.2) and the per-agent inbox (§10.3): which records,
//! assignments and dependencies each projection shows. `render::summary` and `render::inbox`
//! lay them out as text.

use crate::event::coordination::is_js_space;
use serde::Serialize;

use crate::event::coordination::{CoordinationRecord, Kind};

use super::CoordinationState;
use super::assignments::Assignment;
use super::metrics::{ResponseMetrics, TimingOptions, response_metrics};

/// An agent as projections and routing see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentProfile {
    /// Agent id.
    pub agent_id: String,
    /// Title.
    pub title: String,
    /// Owned paths (records whose artifacts fall under them are relevant to the agent).
    pub owned_paths: Vec<String>,
    /// Capabilities (`capability:<cap>` targets reach the agent).
    pub capabilities: Vec<String>,
    /// Owned component ids.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
}

/// One executor assignment listed under an integration summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeAssignment {
    /// Agent id.
    pub agent_id: String,
    /// Executor id, when known.
    pub executor_id: Option<String>,
    /// Role, when known.
    pub role: Option<String>,
    /// Executor profile, when any.
    pub profile: Option<String>,
    /// The executor is a fallback.
    pub fallback_used: bool,
}

/// The integration summary facts the projections show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationSummary {
    /// Recommendation.
    pub recommendation: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// Conflicting claims.
    pub conflicting_claims: Vec<String>,
    /// Changed interfaces.
    pub changed_interfaces: Vec<String>,
    /// Cross-component impacts.
    pub cross_component_impacts: Vec<String>,
    /// Proof gaps.
    pub proof_gaps: Vec<String>,
    /// Deploy risks.
    pub deploy_risks: Vec<String>,
    /// Documentation gaps.
    pub doc_gaps: Vec<String>,
    /// Security review state.
    pub security_state: Option<String>,
    /// Security findings.
    pub security_findings: Vec<String>,
    /// Security approvals.
    pub security_approvals: Vec<String>,
    /// Executor assignments.
    pub runtime_assignments: Vec<RuntimeAssignment>,
}

/// A ledger task as the inbox lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerTaskView {
    /// Task id.
    pub id: String,
    /// Owner.
    pub owner: String,
    /// Title.
    pub title: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Priority.
    pub priority: Option<String>,
}

/// The ledger facts the projections show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerView {
    /// Phase.
    pub phase: Option<String>,
    /// Tasks.
    pub tasks: Vec<LedgerTaskView>,
}

/// A docs-queue item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocsQueueItem {
    /// Kind.
    pub kind: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Path.
    pub path: Option<String>,
    /// Detail.
    pub detail: Option<String>,
    /// Owner agent.
    pub owner_agent_id: Option<String>,
    /// Agent.
    pub agent_id: Option<String>,
    /// Targets.
    pub targets: Vec<String>,
}

/// A summarized cross-lane dependency ticket (§3.11).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyItem {
    /// Ticket id.
    pub id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Required for closure.
    pub required: bool,
    /// Open status.
    pub open: bool,
    /// The ticket's status (`open`, `acknowledged`, `in_progress`, `resolved`, …).
    pub status: String,
    /// Summary.
    pub summary: String,
    /// Detail.
    pub detail: String,
    /// Priority.
    pub priority: String,
    /// Targets.
    pub targets: Vec<String>,
    /// Artifact refs.
    pub artifact_refs: Vec<String>,
    /// Assignee.
    pub assigned_agent_id: Option<String>,
}

/// The dependency snapshot facts the projections show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencySnapshot {
    /// Inbound tickets.
    pub inbound: Vec<DependencyItem>,
    /// Outbound tickets.
    pub outbound: Vec<DependencyItem>,
}

impl DependencySnapshot {
    /// Open inbound tickets.
    pub fn open_inbound(&self) -> impl Iterator<Item = &DependencyItem> {
        self.inbound.iter().filter(|d| d.open)
    }
    /// Open outbound tickets.
    pub fn open_outbound(&self) -> impl Iterator<Item = &DependencyItem> {
        self.outbound.iter().filter(|d| d.open)
    }
}

/// Everything the shared summary shows.
#[derive(Debug, Clone)]
pub struct SharedSummaryView<'a> {
    /// Wave number.
    pub wave: i64,
    /// Open requests.
    pub open_requests: usize,
    /// Open blockers.
    pub open_blockers: Vec<&'a CoordinationRecord>,
    /// Open clarification requests.
    pub open_clarifications: Vec<&'a CoordinationRecord>,
    /// Open human escalations.
    pub open_human_escalations: usize,
    /// Open records.
    pub open_records: usize,
    /// Blocking helper assignments.
    pub helper_assignments: Vec<&'a Assignment>,
    /// Open inbound dependencies.
    pub inbound: Vec<&'a DependencyItem>,
    /// Open outbound dependencies.
    pub outbound: Vec<&'a DependencyItem>,
    /// The last five decisions.
    pub decisions: Vec<&'a CoordinationRecord>,
    /// Response metrics.
    pub metrics: ResponseMetrics,
    /// Integration summary, when one exists.
    pub integration: Option<&'a IntegrationSummary>,
    /// Ledger phase line (`Some("n/a")` when a ledger has no phase; `None` without a ledger).
    pub ledger_phase: Option<String>,
    /// Character budget (4000 by default).
    pub max_chars: usize,
}

/// Default character budget of the shared summary.
pub const SHARED_SUMMARY_MAX_CHARS: usize = 4000;
/// Default character budget of an inbox.
pub const INBOX_MAX_CHARS: usize = 8000;

/// Optional inputs of the projections.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectionInputs<'a> {
    /// Ledger.
    pub ledger: Option<&'a LedgerView>,
    /// Docs queue items.
    pub docs_queue: Option<&'a [DocsQueueItem]>,
    /// Integration summary.
    pub integration: Option<&'a IntegrationSummary>,
    /// Dependency snapshot.
    pub dependencies: Option<&'a DependencySnapshot>,
}

/// Collects the shared summary's data (`compileSharedSummary`).
pub fn shared_summary_view<'a>(
    wave: i64,
    state: &'a CoordinationState,
    assignments: &'a [Assignment],
    inputs: ProjectionInputs<'a>,
    timing: TimingOptions,
) -> SharedSummaryView<'a> {
    let open_of = |kind: Kind| state.of_kind(kind).filter(|r| r.status.is_open());
    let decisions: Vec<&CoordinationRecord> = state.decisions().collect();
    let skip = decisions.len().saturating_sub(5);
    SharedSummaryView {
        wave,
        open_requests: open_of(Kind::Request).count(),
        open_blockers: open_of(Kind::Blocker).collect(),
        open_clarifications: open_of(Kind::ClarificationRequest).collect(),
        open_human_escalations: open_of(Kind::HumanEscalation).count(),
        open_records: state.open_records().count(),
        helper_assignments: assignments.iter().filter(|a| a.blocking).collect(),
        inbound: inputs
            .dependencies
            .map(|d| d.open_inbound().collect())
            .unwrap_or_default(),
        outbound: inputs
            .dependencies
            .map(|d| d.open_outbound().collect())
            .unwrap_or_default(),
        decisions: decisions.into_iter().skip(skip).collect(),
        metrics: response_metrics(state, timing),
        integration: inputs.integration,
        ledger_phase: inputs.ledger.map(|l| {
            l.phase
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "n/a".to_owned())
        }),
        max_chars: SHARED_SUMMARY_MAX_CHARS,
    }
}

/// Everything one agent's inbox shows.
#[derive(Debug, Clone)]
pub struct InboxView<'a> {
    /// Wave number.
    pub wave: i64,
    /// The agent.
    pub agent_id: String,
    /// Response metrics.
    pub metrics: ResponseMetrics,
    /// Open records targeted at the agent.
    pub targeted: Vec<&'a CoordinationRecord>,
    /// Open records authored by the agent.
    pub owned: Vec<&'a CoordinationRecord>,
    /// Open clarification requests authored by or targeted at the agent.
    pub clarifications: Vec<&'a CoordinationRecord>,
    /// Other open records whose artifacts concern the agent.
    pub relevant: Vec<&'a CoordinationRecord>,
    /// Blocking assignments assigned to the agent.
    pub helper_assignments: Vec<&'a Assignment>,
    /// Open dependencies concerning the agent.
    pub dependencies: Vec<&'a DependencyItem>,
    /// Ledger tasks owned by the agent.
    pub ledger_tasks: Vec<&'a LedgerTaskView>,
    /// Docs queue items for the agent.
    pub docs_items: Vec<&'a DocsQueueItem>,
    /// Integration summary, when one exists.
    pub integration: Option<&'a IntegrationSummary>,
    /// Character budget (8000 by default).
    pub max_chars: usize,
}

/// Whether a record is targeted at an agent (§3.5).
pub fn is_targeted_to(targets: &[String], agent: &AgentProfile) -> bool {
    targets.iter().any(|target| {
        target == &agent.agent_id
            || target.strip_prefix("agent:") == Some(agent.agent_id.as_str())
            || target
                .strip_prefix("capability:")
                .is_some_and(|cap| agent.capabilities.iter().any(|c| c == cap))
    })
}

fn owned_reference(value: &str) -> &str {
    value.trim_matches(is_js_space).trim_end_matches('/')
}

/// Whether any artifact ref equals an owned component or is (under) an owned path.
pub fn is_artifact_relevant(artifact_refs: &[String], agent: &AgentProfile) -> bool {
    artifact_refs.iter().any(|artifact| {
        let artifact = owned_reference(artifact);
        if artifact.is_empty() {
            return false;
        }
        if agent
            .components
            .iter()
            .any(|c| c.trim_matches(is_js_space) == artifact)
        {
            return true;
        }
        agent.owned_paths.iter().any(|path| {
            let path = owned_reference(path);
            !path.is_empty()
                && (artifact == path
                    || artifact
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('/')))
        })
    })
}

/// Collects one agent's inbox data (`compileAgentInbox`).
pub fn inbox_view<'a>(
    wave: i64,
    agent: &AgentProfile,
    state: &'a CoordinationState,
    assignments: &'a [Assignment],
    inputs: ProjectionInputs<'a>,
    timing: TimingOptions,
) -> InboxView<'a> {
    let targeted: Vec<&CoordinationRecord> = state
        .open_records()
        .filter(|r| is_targeted_to(&r.targets, agent))
        .collect();
    let owned: Vec<&CoordinationRecord> = state
        .records_by_agent(&agent.agent_id)
        .filter(|r| r.status.is_open())
        .collect();
    let clarifications: Vec<&CoordinationRecord> = state
        .clarifications()
        .filter(|r| {
            r.status.is_open()
                && (r.agent_id == agent.agent_id || is_targeted_to(&r.targets, agent))
        })
        .collect();
    let listed = |id: &str| {
        targeted
            .iter()
            .chain(&owned)
            .chain(&clarifications)
            .any(|r| r.id == id)
    };
    let relevant: Vec<&CoordinationRecord> = state
        .open_records()
        .filter(|r| {
            !listed(&r.id)
                && r.kind != Kind::ClarificationRequest
                && is_artifact_relevant(&r.artifact_refs, agent)
        })
        .collect();
    let docs_items = inputs
        .docs_queue
        .into_iter()
        .flatten()
        .filter(|item| {
            item.owner_agent_id.as_deref() == Some(agent.agent_id.as_str())
                || item.agent_id.as_deref() == Some(agent.agent_id.as_str())
                || item.targets.contains(&agent.agent_id)
        })
        .collect();
    let ledger_tasks = inputs
        .ledger
        .into_iter()
        .flat_map(|l| &l.tasks)
        .filter(|t| t.owner == agent.agent_id)
        .collect();
    let helper_assignments = assignments
        .iter()
        .filter(|a| a.blocking && a.assigned_agent_id.as_deref() == Some(agent.agent_id.as_str()))
        .collect();
    let mut dependencies: Vec<&DependencyItem> = Vec::new();
    if let Some(snapshot) = inputs.dependencies {
        dependencies.extend(snapshot.inbound.iter().filter(|d| {
            d.open
                && (d.assigned_agent_id.as_deref() == Some(agent.agent_id.as_str())
                    || is_artifact_relevant(&d.artifact_refs, agent)
                    || is_targeted_to(&d.targets, agent))
        }));
        dependencies.extend(snapshot.outbound.iter().filter(|d| {
            d.open
                && (is_artifact_relevant(&d.artifact_refs, agent)
                    || is_targeted_to(&d.targets, agent))
        }));
    }
    InboxView {
        wave,
        agent_id: agent.agent_id.clone(),
        metrics: response_metrics(state, timing),
        targeted,
        owned,
        clarifications,
        relevant,
        helper_assignments,
        dependencies,
        ledger_tasks,
        docs_items,
        integration: inputs.integration,
        max_chars: INBOX_MAX_CHARS,
    }
}
