//! Helper assignments (spec §3.7, `buildRequestAssignments`): every target of every live
//! request resolved to an agent, and matched against `resolved-by-policy` records.

use crate::event::coordination::is_js_space;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::coordination::{BlockerSeverity, CoordinationRecord, Kind, Priority, Status};

use super::views::AgentProfile;
use super::{CoordinationState, RecordView, blocks_wave, locale_cmp};

/// `capabilityRouting`: preferred agents per capability, tried in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityRouting {
    /// Capability → agent ids.
    pub preferred_agents: BTreeMap<String, Vec<String>>,
}

/// A ledger task, as far as routing looks at it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerTask {
    /// Owning agent.
    pub owner: String,
    /// Task state (`done`, `closed`, `resolved` count as completed).
    pub state: String,
    /// Capability the task exercised, if any.
    pub capability: String,
}

/// A helper assignment recorded in the ledger, as far as routing looks at it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerAssignment {
    /// Assignee.
    pub assigned_agent_id: String,
    /// Assignment state.
    pub state: String,
    /// Capability routed.
    pub capability: String,
}

/// What routing by load reads from the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingLedger {
    /// Tasks.
    pub tasks: Vec<LedgerTask>,
    /// Recorded helper assignments.
    pub capability_assignments: Vec<LedgerAssignment>,
}

fn is_completed(state: &str) -> bool {
    matches!(
        state.trim_matches(is_js_space).to_lowercase().as_str(),
        "done" | "closed" | "resolved"
    )
}

impl RoutingLedger {
    fn open_tasks(&self, agent_id: &str) -> usize {
        self.tasks
            .iter()
            .filter(|t| {
                t.owner == agent_id && !matches!(t.state.as_str(), "done" | "closed" | "resolved")
            })
            .count()
    }

    fn completed_with_capability(&self, agent_id: &str, capability: &str) -> usize {
        if capability.is_empty() {
            return 0;
        }
        let tasks = self
            .tasks
            .iter()
            .filter(|t| {
                t.owner == agent_id
                    && matches!(t.state.as_str(), "done" | "closed" | "resolved")
                    && t.capability.trim_matches(is_js_space).to_lowercase() == capability
            })
            .count();
        let assignments = self
            .capability_assignments
            .iter()
            .filter(|a| {
                a.assigned_agent_id == agent_id
                    && is_completed(&a.state)
                    && a.capability.trim_matches(is_js_space).to_lowercase() == capability
            })
            .count();
        tasks + assignments
    }
}

/// How a target was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignmentReason {
    /// The target was empty.
    EmptyTarget,
    /// `agent:<id>` naming a known agent.
    ExplicitAgent,
    /// `agent:<id>` naming no known agent.
    MissingAgent,
    /// A bare known agent id.
    ExactAgentId,
    /// `capability:<cap>` routed to a preferred agent.
    PreferredAgent,
    /// `capability:<cap>` routed to the agent with most same-wave completions.
    SameWaveCapabilityOwner,
    /// `capability:<cap>` routed to the least busy capable agent.
    LeastBusyCapability,
    /// No agent lists the capability.
    MissingCapabilityOwner,
    /// The target is neither an agent nor a capability.
    UnsupportedTarget,
}

impl AssignmentReason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmptyTarget => "empty-target",
            Self::ExplicitAgent => "explicit-agent",
            Self::MissingAgent => "missing-agent",
            Self::ExactAgentId => "exact-agent-id",
            Self::PreferredAgent => "preferred-agent",
            Self::SameWaveCapabilityOwner => "same-wave-capability-owner",
            Self::LeastBusyCapability => "least-busy-capability",
            Self::MissingCapabilityOwner => "missing-capability-owner",
            Self::UnsupportedTarget => "unsupported-target",
        }
    }
}

/// Kind of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// An agent.
    Agent,
    /// A capability.
    Capability,
    /// Empty or unsupported.
    Unknown,
}

impl TargetType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Capability => "capability",
            Self::Unknown => "unknown",
        }
    }
}

/// Assignment state derived from the request status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    /// Open.
    Open,
    /// Acknowledged.
    Acknowledged,
    /// In progress.
    InProgress,
    /// Resolved, closed, superseded, cancelled, or resolved by policy.
    Resolved,
}

impl AssignmentState {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
        }
    }

    fn from_status(status: Status) -> Self {
        match status {
            Status::Resolved | Status::Closed | Status::Superseded | Status::Cancelled => {
                Self::Resolved
            }
            Status::InProgress => Self::InProgress,
            Status::Acknowledged => Self::Acknowledged,
            Status::Open => Self::Open,
        }
    }
}

/// One helper assignment (field names as upstream's snapshot).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// `assignment:<requestId>:<targetSlug>`.
    pub id: String,
    /// The request.
    pub request_id: String,
    /// Same as `request_id`.
    pub record_id: String,
    /// Always `request`.
    pub source_kind: Kind,
    /// Request author.
    pub source_agent_id: String,
    /// Request summary.
    pub summary: String,
    /// Request detail.
    pub detail: String,
    /// Request priority.
    pub priority: Priority,
    /// Request status, `resolved` when resolved by policy.
    pub request_status: Status,
    /// Assignment state.
    pub state: AssignmentState,
    /// The target as written (trimmed).
    pub target: String,
    /// Kind of target.
    pub target_type: TargetType,
    /// Capability for capability targets.
    pub capability: Option<String>,
    /// Assignee, when resolved.
    pub assigned_agent_id: Option<String>,
    /// How the target was resolved.
    pub assignment_reason: AssignmentReason,
    /// Human-readable resolution detail.
    pub assignment_detail: String,
    /// Not resolved by policy and the request blocks the wave.
    pub blocking: bool,
    /// Request severity.
    pub blocker_severity: BlockerSeverity,
    /// Request artifact refs.
    pub artifact_refs: Vec<String>,
    /// Request dependencies.
    pub depends_on: Vec<String>,
    /// Request closure condition.
    pub closure_condition: String,
    /// Request `createdAt`.
    pub created_at: String,
    /// Request `updatedAt`.
    pub updated_at: String,
    /// The `resolved-by-policy` record that settled it.
    pub resolved_by_record_id: Option<String>,
}

/// How one target resolves to an agent (§3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The agent, when one was found.
    pub assigned: Option<String>,
    /// The target as written (trimmed).
    pub target: String,
    /// Kind of target.
    pub target_type: TargetType,
    /// Capability for capability targets.
    pub capability: Option<String>,
    /// How it was resolved.
    pub reason: AssignmentReason,
    /// Human-readable resolution detail.
    pub detail: String,
}

/// Resolves one request target (or dependency ticket target) against the wave's agents.
pub fn resolve_target(
    target: &str,
    agents: &[AgentProfile],
    ledger: &RoutingLedger,
    routing: &CapabilityRouting,
) -> Resolution {
    let target = target.trim_matches(is_js_space);
    let find = |id: &str| agents.iter().find(|a| a.agent_id == id);
    let resolution =
        |assigned: Option<String>, target_type, capability, reason, detail| Resolution {
            assigned,
            target: target.to_owned(),
            target_type,
            capability,
            reason,
            detail,
        };
    if target.is_empty() {
        return resolution(
            None,
            TargetType::Unknown,
            None,
            AssignmentReason::EmptyTarget,
            "Request target was empty.".to_owned(),
        );
    }
    if let Some(rest) = target.strip_prefix("agent:") {
        let agent_id = rest.trim_matches(is_js_space);
        return if find(agent_id).is_some() {
            resolution(
                Some(agent_id.to_owned()),
                TargetType::Agent,
                None,
                AssignmentReason::ExplicitAgent,
                ["Assigned explicitly to ", agent_id, "."].concat(),
            )
        } else {
            resolution(
                None,
                TargetType::Agent,
                None,
                AssignmentReason::MissingAgent,
                ["No matching agent exists for ", target, "."].concat(),
            )
        };
    }
    if find(target).is_some() {
        return resolution(
            Some(target.to_owned()),
            TargetType::Agent,
            None,
            AssignmentReason::ExactAgentId,
            ["Assigned directly to ", target, "."].concat(),
        );
    }
    if let Some(rest) = target.strip_prefix("capability:") {
        let capability = rest.trim_matches(is_js_space).to_lowercase();
        let has = |agent: &AgentProfile| agent.capabilities.contains(&capability);
        for preferred in routing
            .preferred_agents
            .get(&capability)
            .into_iter()
            .flatten()
        {
            if find(preferred).is_some_and(has) {
                return resolution(
                    Some(preferred.clone()),
                    TargetType::Capability,
                    Some(capability.clone()),
                    AssignmentReason::PreferredAgent,
                    format!("Capability {capability} routed to preferred agent {preferred}."),
                );
            }
        }
        let best = agents
            .iter()
            .filter(|a| has(a))
            .map(|a| {
                (
                    a,
                    ledger.completed_with_capability(&a.agent_id, &capability),
                    ledger.open_tasks(&a.agent_id),
                )
            })
            .min_by(|(a, done_a, open_a), (b, done_b, open_b)| {
                done_b
                    .cmp(done_a)
                    .then(open_a.cmp(open_b))
                    .then_with(|| locale_cmp(&a.agent_id, &b.agent_id))
            });
        return match best {
            Some((agent, completions, _)) => {
                let id = agent.agent_id.clone();
                if completions > 0 {
                    resolution(
                        Some(id.clone()),
                        TargetType::Capability,
                        Some(capability.clone()),
                        AssignmentReason::SameWaveCapabilityOwner,
                        format!(
                            "Capability {capability} routed to {id} based on demonstrated same-wave capability work ({completions})."
                        ),
                    )
                } else {
                    resolution(
                        Some(id.clone()),
                        TargetType::Capability,
                        Some(capability.clone()),
                        AssignmentReason::LeastBusyCapability,
                        format!("Capability {capability} routed to {id}."),
                    )
                }
            }
            None => resolution(
                None,
                TargetType::Capability,
                Some(capability.clone()),
                AssignmentReason::MissingCapabilityOwner,
                format!("No agent advertises capability {capability}."),
            ),
        };
    }
    resolution(
        None,
        TargetType::Unknown,
        None,
        AssignmentReason::UnsupportedTarget,
        format!("Unsupported assignment target {target}."),
    )
}

/// `wave-<n>-agent-<id>-request` from the launcher with no dependencies or closure condition.
pub fn is_launcher_seed_request<R: RecordView + ?Sized>(record: &R) -> bool {
    if !is_launcher_request(record) {
        return false;
    }
    let Some(rest) = record.id().strip_prefix("wave-") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(rest) = rest.get(digits..).filter(|_| digits > 0) else {
        return false;
    };
    let Some(middle) = rest
        .strip_prefix("-agent-")
        .and_then(|r| r.strip_suffix("-request"))
    else {
        return false;
    };
    !middle.is_empty() && !middle.contains('-')
}

/// `targetSlug`: lowercase, runs outside `[a-z0-9._:-]` → `-`, dashes collapsed and trimmed.
///
/// Characters are lowercased one at a time: that differs from lowercasing the whole text only
/// for a final capital sigma, which is not kept either way.
pub fn target_slug(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value
        .trim_matches(is_js_space)
        .chars()
        .flat_map(char::to_lowercase)
    {
        let keep =
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | '-');
        let c = if keep { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    // Runs of dashes are already single, so at most one leads and one trails.
    if out.ends_with('-') {
        out.pop();
    }
    if out.starts_with('-') {
        out.remove(0);
    }
    out
}

/// From the launcher, with no dependencies and no closure condition: such requests never
/// become helper assignments.
fn is_launcher_request<R: RecordView + ?Sized>(record: &R) -> bool {
    record.source() == "launcher"
        && record
            .closure_condition()
            .trim_matches(is_js_space)
            .is_empty()
        && record.depends_on().is_empty()
}

fn target_matches_agent(target: &str, agent_id: &str) -> bool {
    let target = target.trim_matches(is_js_space);
    let agent_id = agent_id.trim_matches(is_js_space);
    if target.is_empty() || agent_id.is_empty() {
        return false;
    }
    target == agent_id || target.strip_prefix("agent:") == Some(agent_id)
}

fn record_targets_agent<R: RecordView + ?Sized>(record: &R, agent_id: Option<&str>) -> bool {
    let Some(agent_id) = agent_id.map(str::trim).filter(|a| !a.is_empty()) else {
        return false;
    };
    record.agent_id().trim_matches(is_js_space) == agent_id
        || record
            .targets()
            .iter()
            .any(|t| target_matches_agent(t.as_ref(), agent_id))
}

fn resolved_by_policy<'a, R: RecordView>(
    policies: &[&'a R],
    request: &R,
    assignment_id: &str,
    assigned: Option<&str>,
    target: &str,
) -> Option<&'a R> {
    if policies.is_empty() {
        return None;
    }
    let request_id = request.id().trim_matches(is_js_space).to_lowercase();
    if request_id.is_empty() {
        return None;
    }
    let assignment_id = assignment_id.trim_matches(is_js_space).to_lowercase();
    let specific_only = request.targets().len() > 1;
    for record in policies.iter().rev().copied() {
        let depends_assignment = !assignment_id.is_empty()
            && record
                .depends_on()
                .iter()
                .any(|d| d.as_ref().trim_matches(is_js_space).to_lowercase() == assignment_id);
        let depends_request = record
            .depends_on()
            .iter()
            .any(|d| d.as_ref().trim_matches(is_js_space).to_lowercase() == request_id);
        if depends_assignment || (!specific_only && depends_request) {
            return Some(record);
        }
        let closure = record
            .closure_condition()
            .trim_matches(is_js_space)
            .to_lowercase();
        let closure_assignment = !assignment_id.is_empty() && closure.contains(&assignment_id);
        if closure_assignment || (!specific_only && closure.contains(&request_id)) {
            return Some(record);
        }
        if !record_targets_agent(record, assigned)
            && !target_matches_agent(target, record.agent_id())
        {
            continue;
        }
        let text = format!("{}\n{}", record.summary(), record.detail())
            .trim_matches(is_js_space)
            .to_lowercase();
        let text_assignment = !assignment_id.is_empty() && text.contains(&assignment_id);
        if text_assignment || (!specific_only && text.contains(&request_id)) {
            return Some(record);
        }
    }
    None
}

/// Builds the helper assignments of a state (§3.7).
pub fn build_request_assignments(
    state: &CoordinationState,
    agents: &[AgentProfile],
    ledger: &RoutingLedger,
    routing: &CapabilityRouting,
) -> Vec<Assignment> {
    let policies: Vec<&CoordinationRecord> = state.resolved_by_policy().collect();
    request_assignments(state.requests(), &policies, agents, ledger, routing)
}

/// Builds the helper assignments of the given latest `requests`, closed by the given
/// `resolved-by-policy` records (both in materialization order), over any record view.
pub fn request_assignments<'r, R: RecordView + 'r>(
    requests: impl IntoIterator<Item = &'r R>,
    policies: &[&'r R],
    agents: &[AgentProfile],
    ledger: &RoutingLedger,
    routing: &CapabilityRouting,
) -> Vec<Assignment> {
    let to_strings = |v: &[R::Text]| v.iter().map(|t| t.as_ref().to_owned()).collect();
    let requests = requests.into_iter();
    let mut assignments = Vec::with_capacity(requests.size_hint().0);
    for record in requests {
        if is_launcher_request(record) {
            continue;
        }
        for target in record.targets() {
            let target = target.as_ref();
            let resolution = resolve_target(target, agents, ledger, routing);
            let slug = target_slug(target);
            let id = [
                "assignment:",
                record.id(),
                ":",
                if slug.is_empty() { "target" } else { &slug },
            ]
            .concat();
            let policy = resolved_by_policy(
                policies,
                record,
                &id,
                resolution.assigned.as_deref(),
                target,
            );
            let status = if policy.is_some() {
                Status::Resolved
            } else {
                record.status()
            };
            assignments.push(Assignment {
                id,
                request_id: record.id().to_owned(),
                record_id: record.id().to_owned(),
                source_kind: record.kind(),
                source_agent_id: record.agent_id().to_owned(),
                summary: record.summary().to_owned(),
                detail: record.detail().to_owned(),
                priority: record.priority(),
                request_status: status,
                state: AssignmentState::from_status(status),
                target: resolution.target,
                target_type: resolution.target_type,
                capability: resolution.capability,
                assigned_agent_id: resolution.assigned,
                assignment_reason: resolution.reason,
                assignment_detail: resolution.detail,
                blocking: policy.is_none() && blocks_wave(record),
                blocker_severity: record.blocker_severity(),
                artifact_refs: to_strings(record.artifact_refs()),
                depends_on: to_strings(record.depends_on()),
                closure_condition: record.closure_condition().to_owned(),
                created_at: record.created_at().to_owned(),
                updated_at: record.updated_at().to_owned(),
                resolved_by_record_id: policy.map(|p| p.id().to_owned()),
            });
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slug as lowercasing the whole text first makes it.
    fn slug_of_lowercased(value: &str) -> String {
        let mut out = String::new();
        for c in value.trim_matches(is_js_space).to_lowercase().chars() {
            let keep =
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | '-');
            let c = if keep { c } else { '-' };
            if c == '-' && out.ends_with('-') {
                continue;
            }
            out.push(c);
        }
        out.trim_matches('-').to_owned()
    }

    #[test]
    fn slugs_lowercase_like_the_whole_text() {
        for value in [
            "",
            "-",
            "--a--",
            "agent:A1",
            " capability:Docs ",
            "ΟΔΟΣ",
            "ΣΑΣ x",
            "\u{130}stanbul",
            "\u{212a}elvin",
            "A_b.c:d-e f",
            "\u{a0}x\u{feff}",
            "-Zz-",
        ] {
            assert_eq!(target_slug(value), slug_of_lowercased(value), "{value:?}");
        }
    }

    #[test]
    fn wire_spellings_are_serdes() {
        for t in [
            TargetType::Agent,
            TargetType::Capability,
            TargetType::Unknown,
        ] {
            assert_eq!(serde_json::to_value(t).ok(), Some(t.as_str().into()));
        }
        for s in [
            AssignmentState::Open,
            AssignmentState::Acknowledged,
            AssignmentState::InProgress,
            AssignmentState::Resolved,
        ] {
            assert_eq!(serde_json::to_value(s).ok(), Some(s.as_str().into()));
        }
    }

    #[test]
    fn slugs_and_seed_ids() {
        assert_eq!(
            target_slug(" Capability:Data Base!! "),
            "capability:data-base"
        );
        assert_eq!(target_slug("!!!"), "");
        let seed = CoordinationRecord {
            id: "wave-3-agent-A1-request".into(),
            ..crate::engine::coordination::tests::record("x", "request", "2026-01-01T00:00:00Z")
        };
        assert!(is_launcher_seed_request(&seed));
        let not_seed = CoordinationRecord {
            id: "wave-3-agent-A-1-request".into(),
            ..seed.clone()
        };
        assert!(!is_launcher_seed_request(&not_seed));
    }
}
