//! Retry planning (spec §8, §9.1, §9.6): attempt budget, initial run selection with reuse by
//! prompt fingerprint, failure annotation, retry target resolution in upstream's priority order,
//! executor fallback on retry, the resume plan, and the final attempt's exit class.
//!
//! Owns: deciding which agents run next and why. Must not: run processes, probe `PATH`, read
//! files or the clock. Executor availability (`command -v`) is a parameter
//! ([`RetryInputs::available_executors`]); time stamps are parameters.
//!
//! Decisions, each tested:
//! - The resume plan invalidates only the agents of the phase it resumes from: after an
//!   implementation failure that is the non-closure agents whose own slice is not proven, so a
//!   wave where only A1 missed its `[wave-proof]` retries A1 alone and reuses everyone else; the
//!   closure stewards run again in the next closure sweep (upstream also invalidated every
//!   closure agent that had not run yet).
//! - Executor fallback is attempted for every failed agent unless its policy is sticky (upstream
//!   behaviour, kept: a failure on one runtime is evidence enough to try another).
//! - `control rerun`-style overrides with unknown agent ids are reported and ignored.
//! - An implementation agent that failed the attempt (its process, or a gate naming it) puts
//!   the resume plan in the implementation phase and is invalidated, even when a later gate is
//!   the first failing one: resuming from a closure stage would never rerun it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::closure::{ClosureStage, stage_of};
use crate::engine::gates::{ClosureReadiness, CoordinationFacts, GateResult, GateSnapshot};
use crate::engine::summary::{ExecutionSummary, StatusRecord, TerminationReason};
use crate::exit;
use crate::plan::roles;
use crate::plan::{Agent, ExecutorId, LaneProfile, RetryPolicy, WavePlan};

/// Attempt budget (§8.1): attempts run while `attempt <= max_retries_per_wave + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptBudget {
    /// `--max-retries-per-wave` (default 1).
    pub max_retries_per_wave: u64,
}

impl Default for AttemptBudget {
    fn default() -> Self {
        AttemptBudget {
            max_retries_per_wave: 1,
        }
    }
}

impl AttemptBudget {
    /// Total attempts allowed.
    pub fn max_attempts(&self) -> u64 {
        self.max_retries_per_wave.saturating_add(1)
    }

    /// True when attempt `n` (1-based) may run.
    pub fn allows(&self, attempt: u64) -> bool {
        attempt >= 1 && attempt <= self.max_attempts()
    }

    /// True when `attempt` is the last one.
    pub fn is_final(&self, attempt: u64) -> bool {
        attempt >= self.max_attempts()
    }
}

/// Why the attempt loop moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptTransition {
    /// A design-only pass completed; implementation agents run next.
    DesignPassCompleted,
    /// Shared-component owners that still owe a component run next.
    SharedComponentContinuation,
    /// The attempt failed and a retry runs.
    Retry,
}

/// The attempt counters of a wave run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounter {
    /// The attempt number written to events, envelopes and traces (1-based).
    pub attempt: u64,
    /// Retries used against the budget.
    pub retries_used: u64,
}

impl AttemptCounter {
    /// The first attempt.
    pub const FIRST: AttemptCounter = AttemptCounter {
        attempt: 1,
        retries_used: 0,
    };

    /// The counters after a transition. Every transition starts a new numbered attempt (so
    /// results and traces never collide), but only a retry uses the budget: a design pass or a
    /// shared-component continuation is progress, not failure. (Upstream let the design pass
    /// consume an attempt, so a design wave had no retry left with the default budget.)
    pub fn next(self, transition: AttemptTransition) -> AttemptCounter {
        AttemptCounter {
            attempt: self.attempt.saturating_add(1),
            retries_used: self.retries_used + u64::from(transition == AttemptTransition::Retry),
        }
    }

    /// True when a retry is still allowed by `budget`.
    pub fn may_retry(self, budget: &AttemptBudget) -> bool {
        self.retries_used < budget.max_retries_per_wave
    }
}

// ---------------------------------------------------------------------------------------------
// Prompt fingerprint (§9.6).

/// The resolved skills part of the fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillsFingerprint {
    /// Skill ids.
    pub ids: Vec<String>,
    /// Runtime role.
    pub role: Option<String>,
    /// Executor id.
    pub runtime: Option<String>,
    /// Deploy kind.
    pub deploy_kind: Option<String>,
    /// Hash of the skills prompt text.
    pub prompt_hash: Option<String>,
}

/// What the prompt fingerprint covers besides the plan's agent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FingerprintParts<'a> {
    /// sha256 of the Context7 selection (empty when none).
    pub context7_selection_hash: &'a str,
    /// The resolved executor object (`executorResolved`), as written to status records.
    pub executor_resolved: Option<&'a Value>,
    /// The resolved skills.
    pub skills: Option<&'a SkillsFingerprint>,
}

/// The fingerprint source JSON: `{prompt, context7SelectionHash, exitContract, deliverables,
/// proofArtifacts, components, componentTargets, executorResolved, skillsResolved}`, keys in
/// that order, serialized compactly as `JSON.stringify` does.
pub fn fingerprint_source(agent: &Agent, parts: &FingerprintParts<'_>) -> String {
    let contract = agent.exit_contract.as_ref().map(|c| {
        json!({
            "completion": c.completion, "durability": c.durability,
            "proof": c.proof, "docImpact": c.doc_impact,
        })
    });
    let targets: serde_json::Map<String, Value> = agent
        .component_targets
        .iter()
        .map(|(c, l)| (c.clone(), l.clone().map_or(Value::Null, Value::from)))
        .collect();
    let artifacts: Vec<Value> = agent
        .proof_artifacts
        .iter()
        .map(|a| json!({"path": a.path, "kind": a.kind, "requiredFor": a.required_for}))
        .collect();
    let v = json!({
        "prompt": agent.prompt,
        "context7SelectionHash": parts.context7_selection_hash,
        "exitContract": contract,
        "deliverables": agent.deliverables,
        "proofArtifacts": artifacts,
        "components": agent.components,
        "componentTargets": Value::Object(targets),
        "executorResolved": parts.executor_resolved.cloned().unwrap_or(Value::Null),
        "skillsResolved": parts.skills.map_or(Value::Null, |s| json!({
            "ids": s.ids, "role": s.role, "runtime": s.runtime,
            "deployKind": s.deploy_kind, "promptHash": s.prompt_hash,
        })),
    });
    serde_json::to_string(&v).unwrap_or_default()
}

/// `promptHash`: lowercase hex SHA-256 of [`fingerprint_source`].
pub fn prompt_hash(agent: &Agent, parts: &FingerprintParts<'_>) -> String {
    hex::encode(Sha256::digest(fingerprint_source(agent, parts).as_bytes()))
}

/// Basic reuse (§9.6): the last run exited 0 with the current fingerprint.
pub fn reusable_status(status: Option<&StatusRecord>, current_hash: &str) -> bool {
    status.is_some_and(|s| s.code == Some(0) && s.prompt_hash.as_deref() == Some(current_hash))
}

// ---------------------------------------------------------------------------------------------
// Failures (§8.3).

/// How an agent process ended without a usable status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEnd {
    /// Exited with a code.
    Exited(i64),
    /// Killed at its deadline.
    TimeoutNoStatus,
    /// The runtime record went terminal before a status file existed.
    RuntimeFailedBeforeStatus,
    /// The process vanished without a status file.
    MissingStatus,
}

/// An attempt failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Agent (`None` for wave-level barriers).
    pub agent_id: Option<String>,
    /// Status code.
    pub status_code: String,
    /// Detail.
    pub detail: String,
    /// Log path.
    pub log_path: Option<String>,
    /// Component (sibling-pending failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
    /// Owners still owing the component.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_on_agent_ids: Vec<String>,
    /// Owners that satisfied it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub satisfied_agent_ids: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Failure {
    /// A failure from a process end; `None` for exit 0.
    pub fn from_process(agent_id: &str, end: ProcessEnd, log_path: Option<&str>) -> Option<Self> {
        let (code, detail) = match end {
            ProcessEnd::Exited(0) => return None,
            ProcessEnd::Exited(c) => (c.to_string(), format!("{agent_id} exited with code {c}.")),
            ProcessEnd::TimeoutNoStatus => (
                "timeout-no-status".into(),
                format!("{agent_id} timed out before writing a status."),
            ),
            ProcessEnd::RuntimeFailedBeforeStatus => (
                "runtime-failed-before-status".into(),
                format!("{agent_id}'s runtime failed before writing a status."),
            ),
            ProcessEnd::MissingStatus => (
                "missing-status".into(),
                format!("{agent_id} ended without a status."),
            ),
        };
        Some(Failure {
            agent_id: Some(agent_id.to_owned()),
            status_code: code,
            detail,
            log_path: log_path.map(str::to_owned),
            component_id: None,
            waiting_on_agent_ids: Vec::new(),
            satisfied_agent_ids: Vec::new(),
        })
    }

    /// A failure from a gate result.
    pub fn from_gate(g: &GateResult) -> Self {
        Failure {
            agent_id: g.agent_id.clone(),
            status_code: g.status_code.clone(),
            detail: g.detail.clone(),
            log_path: g.log_path.clone(),
            component_id: g
                .extra
                .get("componentId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            waiting_on_agent_ids: strings(g.extra.get("waitingOnAgentIds")),
            satisfied_agent_ids: strings(g.extra.get("satisfiedAgentIds")),
        }
    }

    /// Recoverable (§8.3): timeouts and missing status, a summary ended by timeout or max
    /// turns, or a rate-limit hint.
    pub fn is_recoverable(&self, summary: Option<&ExecutionSummary>) -> bool {
        if matches!(
            self.status_code.as_str(),
            "timeout-no-status" | "timed_out" | "missing-status"
        ) {
            return true;
        }
        if summary.is_some_and(|s| {
            matches!(
                s.termination_reason,
                Some(TerminationReason::Timeout | TerminationReason::MaxTurns)
            )
        }) {
            return true;
        }
        let hint = summary.map(|s| s.termination_hint.as_str()).unwrap_or("");
        [self.detail.as_str(), hint].iter().any(|t| {
            let t = t.to_lowercase();
            t.contains("rate limit") || t.contains("429 too many requests")
        })
    }
}

/// Shared-component reconciliation (§8.3): failures of agents that already satisfied a
/// promoted component while siblings still owe it become one sibling-pending failure per
/// component.
pub fn reconcile_shared_component_failures(
    failures: &[Failure],
    component_gate: &GateResult,
) -> Vec<Failure> {
    if component_gate.status_code != "shared-component-sibling-pending" {
        return failures.to_vec();
    }
    let pending = Failure::from_gate(component_gate);
    let satisfied: BTreeSet<&str> = pending
        .satisfied_agent_ids
        .iter()
        .map(String::as_str)
        .collect();
    let mut out: Vec<Failure> = failures
        .iter()
        .filter(|f| f.agent_id.as_deref().is_none_or(|a| !satisfied.contains(a)))
        .cloned()
        .collect();
    if !out
        .iter()
        .any(|f| f.status_code == pending.status_code && f.component_id == pending.component_id)
    {
        out.push(pending);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Executor fallback (§9.1, §8.4 step 2).

/// One executor history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// Attempt (0 = initial).
    pub attempt: u64,
    /// Executor.
    pub executor_id: ExecutorId,
    /// `initial` or `retry:<statusCode>`.
    pub reason: String,
}

/// The part of an agent's resolved executor that retry planning reads and changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorState {
    /// Current executor.
    pub id: ExecutorId,
    /// Retry policy.
    pub retry_policy: RetryPolicy,
    /// Whether fallback is allowed on retry.
    pub allow_fallback_on_retry: bool,
    /// Fallback chain.
    pub fallbacks: Vec<ExecutorId>,
    /// How it was selected (`agent-id`, …, `retry-fallback`).
    pub selected_by: String,
    /// True after a fallback.
    pub fallback_used: bool,
    /// `retry:<statusCode>` after a fallback.
    pub fallback_reason: Option<String>,
    /// The first executor.
    pub initial_executor_id: ExecutorId,
    /// Model (lane model of the new executor after a fallback).
    pub model: Option<String>,
    /// History.
    pub executor_history: Vec<HistoryEntry>,
}

impl ExecutorState {
    /// A fresh state: history `[{attempt 0, id, initial}]`; retry policy derived as upstream
    /// (explicit allow flag, else explicit policy, else not proof-centric).
    pub fn initial(
        id: ExecutorId,
        selected_by: &str,
        explicit_policy: Option<RetryPolicy>,
        explicit_allow: Option<bool>,
        proof_centric: bool,
        fallbacks: Vec<ExecutorId>,
        model: Option<String>,
    ) -> Self {
        let allow = explicit_allow.unwrap_or(match explicit_policy {
            Some(p) => p != RetryPolicy::Sticky,
            None => !proof_centric,
        });
        let policy = explicit_policy.unwrap_or(if allow {
            RetryPolicy::FallbackAllowed
        } else {
            RetryPolicy::Sticky
        });
        ExecutorState {
            id,
            retry_policy: policy,
            allow_fallback_on_retry: allow,
            fallbacks: if allow {
                fallbacks.into_iter().filter(|f| *f != id).collect()
            } else {
                Vec::new()
            },
            selected_by: selected_by.to_owned(),
            fallback_used: false,
            fallback_reason: None,
            initial_executor_id: id,
            model,
            executor_history: vec![HistoryEntry {
                attempt: 0,
                executor_id: id,
                reason: "initial".into(),
            }],
        }
    }

    /// The fallback chain: empty when sticky or fallback is not allowed.
    pub fn fallback_chain(&self) -> &[ExecutorId] {
        if self.retry_policy == RetryPolicy::Sticky || !self.allow_fallback_on_retry {
            &[]
        } else {
            &self.fallbacks
        }
    }
}

/// The result of trying a fallback for one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FallbackOutcome {
    /// Switched; the new state.
    Applied(ExecutorState),
    /// No chain configured: retry on the same executor.
    NoFallback,
    /// A chain exists but every candidate is used, unavailable or over the runtime mix.
    Blocked(String),
}

/// Picks the fallback executor for a failed agent: the first chain candidate that is not the
/// current one, not in its history, available, and keeps the wave within its runtime-mix
/// targets (LA-29..LA-31).
#[allow(clippy::too_many_arguments)]
pub fn choose_fallback(
    agent_id: &str,
    state: &ExecutorState,
    status_code: &str,
    attempt: u64,
    available: &BTreeSet<ExecutorId>,
    assignments: &BTreeMap<String, ExecutorId>,
    mix_targets: &BTreeMap<ExecutorId, u64>,
    lane_models: &BTreeMap<ExecutorId, String>,
) -> FallbackOutcome {
    let chain = state.fallback_chain();
    if chain.is_empty() {
        return FallbackOutcome::NoFallback;
    }
    let tried: BTreeSet<ExecutorId> = state
        .executor_history
        .iter()
        .map(|h| h.executor_id)
        .chain([state.id])
        .collect();
    let mut blocked = Vec::new();
    for &candidate in chain {
        if tried.contains(&candidate) {
            blocked.push(format!("{}: already tried", candidate.as_str()));
            continue;
        }
        if !available.contains(&candidate) {
            blocked.push(format!("{}: command unavailable", candidate.as_str()));
            continue;
        }
        let mut counts: BTreeMap<ExecutorId, u64> = BTreeMap::new();
        for (a, e) in assignments {
            let e = if a == agent_id { candidate } else { *e };
            *counts.entry(e).or_default() += 1;
        }
        if let Some((e, n)) = counts
            .iter()
            .find(|(e, n)| mix_targets.get(e).is_some_and(|t| *n > t))
        {
            blocked.push(format!(
                "{}: runtime mix {} agents exceeds target {}",
                candidate.as_str(),
                n,
                mix_targets.get(e).copied().unwrap_or(0)
            ));
            continue;
        }
        let reason = format!("retry:{status_code}");
        let mut next = state.clone();
        next.id = candidate;
        next.model = lane_models.get(&candidate).cloned();
        next.selected_by = "retry-fallback".into();
        next.fallback_used = true;
        next.fallback_reason = Some(reason.clone());
        next.executor_history.push(HistoryEntry {
            attempt,
            executor_id: candidate,
            reason,
        });
        return FallbackOutcome::Applied(next);
    }
    FallbackOutcome::Blocked(format!(
        "Agent {agent_id} cannot retry safely on a configured fallback ({}).",
        if blocked.is_empty() {
            "no safe fallback remained".into()
        } else {
            blocked.join("; ")
        }
    ))
}

// ---------------------------------------------------------------------------------------------
// Resume plan (§6.3) and retry target resolution (§8.4).

/// A resume phase from the failing gate.
pub fn phase_from_gate(gate: &str) -> &'static str {
    match gate {
        "designGate" => "design",
        "contEvalGate" => "cont-eval",
        "securityGate" => "security-review",
        "integrationBarrier" => "integrating",
        "componentMatrixGate" | "documentationGate" => "docs-closure",
        "contQaGate" => "cont-qa-closure",
        _ => "implementation",
    }
}

/// The resume plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumePlan {
    /// `all-gates-pass`, `human-request` or `gate-failure`.
    pub reason: String,
    /// False when the wave may close.
    pub can_resume: bool,
    /// Phase to resume from (`completed` when it cannot resume).
    pub resume_from_phase: String,
    /// Agents that must run again.
    pub invalidated_agent_ids: Vec<String>,
    /// Agents whose proven slices are kept.
    pub reusable_agent_ids: Vec<String>,
    /// Closure gaps forwarded between stages: `(stage, agent)`, in stage order.
    pub forwarded_closure_gaps: Vec<(String, String)>,
}

fn is_human_kind(kind: &str) -> bool {
    matches!(kind, "human-input" | "human-feedback" | "human-escalation")
}

/// Builds the resume plan from the gate snapshot, closure readiness and failures (any failure
/// of the attempt, such as a forwarded closure gap, keeps the wave from closing).
pub fn resume_plan(
    plan: &WavePlan,
    lane: &LaneProfile,
    snapshot: &GateSnapshot,
    readiness: &ClosureReadiness,
    failures: &[Failure],
    coordination: &CoordinationFacts,
) -> ResumePlan {
    let human = coordination
        .open_records
        .iter()
        .any(|r| r.blocking && is_human_kind(&r.kind))
        || !coordination.pending_feedback.is_empty();
    let reason = if readiness.wave_may_close && failures.is_empty() {
        "all-gates-pass"
    } else if human {
        "human-request"
    } else {
        "gate-failure"
    };
    let mut gaps: Vec<(ClosureStage, String)> = failures
        .iter()
        .filter(|f| f.status_code == "wave-proof-gap")
        .filter_map(|f| {
            let a = f.agent_id.as_deref()?;
            Some((stage_of(a, plan, lane)?, a.to_owned()))
        })
        .collect();
    gaps.sort();
    gaps.dedup();
    let closure_ids: BTreeSet<String> = plan
        .agents
        .iter()
        .filter(|a| stage_of(&a.agent_id, plan, lane).is_some())
        .map(|a| a.agent_id.clone())
        .collect();
    // Implementation agents that failed this attempt (their process, or a gate naming them).
    let failed_implementation: BTreeSet<String> = failures
        .iter()
        .filter(|f| f.status_code != "shared-component-sibling-pending")
        .filter_map(|f| f.agent_id.as_deref())
        .filter(|a| plan.agent(a).is_some() && stage_of(a, plan, lane).is_none())
        .map(str::to_owned)
        .collect();
    let phase = if let Some((stage, _)) = gaps.first() {
        stage.phase().to_owned()
    } else if !failed_implementation.is_empty() {
        // A failed implementation agent comes before any closure stage.
        "implementation".to_owned()
    } else if !snapshot.overall.ok {
        phase_from_gate(&snapshot.overall.gate).to_owned()
    } else {
        "implementation".to_owned()
    };
    let mut invalidated: BTreeSet<String> = readiness
        .pending_agent_ids
        .iter()
        .filter(|a| match ClosureStage::from_phase(&phase) {
            // Implementation-phase (and design) resumes invalidate the non-closure agents;
            // the closure sweep reruns the stewards.
            None => !closure_ids.contains(*a),
            Some(stage) => stage_of(a, plan, lane).is_some_and(|s| s >= stage),
        })
        .cloned()
        .collect();
    if ClosureStage::from_phase(&phase).is_none() {
        invalidated.extend(failed_implementation);
    }
    if let Some((earliest, _)) = gaps.first() {
        for a in &closure_ids {
            if stage_of(a, plan, lane).is_some_and(|s| s >= *earliest) {
                invalidated.insert(a.clone());
            }
        }
    }
    let can_resume = reason != "all-gates-pass";
    ResumePlan {
        reason: reason.into(),
        can_resume,
        resume_from_phase: if can_resume {
            phase
        } else {
            "completed".into()
        },
        reusable_agent_ids: readiness
            .owned_slice_proven_agent_ids
            .iter()
            .filter(|a| !invalidated.contains(*a))
            .cloned()
            .collect(),
        invalidated_agent_ids: invalidated.into_iter().collect(),
        forwarded_closure_gaps: gaps
            .into_iter()
            .map(|(s, a)| (s.key().to_owned(), a))
            .collect(),
    }
}

/// The agents of a resume phase (§8.2 rerun resolution).
pub fn agents_for_phase(plan: &WavePlan, lane: &LaneProfile, phase: &str) -> Vec<String> {
    let ids = |f: &dyn Fn(&Agent) -> bool| {
        plan.agents
            .iter()
            .filter(|a| f(a))
            .map(|a| a.agent_id.clone())
            .collect()
    };
    match phase {
        "design" => ids(&|a| roles::is_design_agent(a, lane)),
        "implementation" => ids(&|a| {
            stage_of(&a.agent_id, plan, lane).is_none()
                && !roles::is_docs_only_design_agent(a, lane)
        }),
        other => match ClosureStage::from_phase(other) {
            Some(stage) => ids(&|a| stage_of(&a.agent_id, plan, lane) == Some(stage)),
            None => Vec::new(),
        },
    }
}

/// Where a retry selection came from (the first non-empty source of §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetrySource {
    /// An operator rerun request.
    Override,
    /// Waiting on human input: nothing runs.
    HumanWait,
    /// Executor fallback blocked: nothing runs.
    FallbackBlocked,
    /// Clarification follow-up targets.
    Clarification,
    /// Helper assignees (or unresolved barrier).
    HelperAssignment,
    /// Dependency assignees (or unresolved barrier).
    Dependency,
    /// Blocker authors and targets.
    Blocker,
    /// Waiting sibling owners of a shared component.
    SharedComponentSibling,
    /// Agents of the resume phase.
    ResumePhase,
    /// Invalidated agents or reducer retry targets.
    Invalidated,
    /// Failed agents.
    Failed,
    /// The wave may close or cannot resume: nothing runs.
    None,
}

/// A barrier that stops the retry (exit 43).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryBarrier {
    /// `retry-fallback-blocked`, `helper-assignment-unresolved`, `dependency-assignment-unresolved`.
    pub status_code: String,
    /// Detail.
    pub detail: String,
    /// Per-agent failures.
    pub failures: Vec<Failure>,
}

/// An operator rerun request, as selection reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RerunOverride {
    /// Explicit agents.
    pub selected_agent_ids: Vec<String>,
    /// Resume phase when no agents are named.
    pub resume_phase: Option<String>,
    /// Agents never reused.
    pub clear_reusable_agent_ids: Vec<String>,
}

/// Everything retry resolution reads.
#[derive(Debug, Clone, Copy)]
pub struct RetryInputs<'a> {
    /// The wave.
    pub plan: &'a WavePlan,
    /// The lane.
    pub lane: &'a LaneProfile,
    /// This attempt's failures (after shared-component reconciliation).
    pub failures: &'a [Failure],
    /// Open coordination facts.
    pub coordination: &'a CoordinationFacts,
    /// Gate snapshot.
    pub snapshot: &'a GateSnapshot,
    /// Closure readiness.
    pub readiness: &'a ClosureReadiness,
    /// Each agent's executor state.
    pub executors: &'a BTreeMap<String, ExecutorState>,
    /// Executors whose command is available.
    pub available_executors: &'a BTreeSet<ExecutorId>,
    /// Lane model per executor (claude / opencode).
    pub lane_models: &'a BTreeMap<ExecutorId, String>,
    /// The attempt the retry will run.
    pub next_attempt: u64,
    /// An active operator rerun request.
    pub rerun: Option<&'a RerunOverride>,
}

/// The retry decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPlan {
    /// Agents to run next.
    pub selected_agent_ids: Vec<String>,
    /// Where the selection came from.
    pub source: RetrySource,
    /// A barrier that stops retrying.
    pub barrier: Option<RetryBarrier>,
    /// Executor changes to apply (fallbacks).
    pub executor_changes: BTreeMap<String, ExecutorState>,
    /// The resume plan.
    pub resume: ResumePlan,
    /// Override ids that are not agents of the wave (the override is then ignored).
    pub unknown_override_ids: Vec<String>,
}

fn known(plan: &WavePlan, ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if plan.agent(&id).is_some() && !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Retry target resolution (§8.4), first non-empty source wins.
pub fn resolve_retry(i: &RetryInputs<'_>) -> RetryPlan {
    let resume = resume_plan(
        i.plan,
        i.lane,
        i.snapshot,
        i.readiness,
        i.failures,
        i.coordination,
    );
    let mut out = RetryPlan {
        selected_agent_ids: Vec::new(),
        source: RetrySource::None,
        barrier: None,
        executor_changes: BTreeMap::new(),
        resume: resume.clone(),
        unknown_override_ids: Vec::new(),
    };
    let pick = |mut out: RetryPlan, source, ids: Vec<String>| {
        out.selected_agent_ids = known(i.plan, ids);
        out.source = source;
        out
    };
    if let Some(r) = i.rerun {
        let ids = if r.selected_agent_ids.is_empty() {
            r.resume_phase
                .as_deref()
                .map(|p| agents_for_phase(i.plan, i.lane, p))
                .unwrap_or_default()
        } else {
            r.selected_agent_ids.clone()
        };
        let unknown: Vec<String> = ids
            .iter()
            .filter(|a| i.plan.agent(a).is_none())
            .cloned()
            .collect();
        if unknown.is_empty() && !ids.is_empty() {
            return pick(out, RetrySource::Override, ids);
        }
        out.unknown_override_ids = unknown;
    }
    // 1. Human input.
    let co = i.coordination;
    if co
        .open_records
        .iter()
        .any(|r| r.blocking && matches!(r.kind.as_str(), "human-feedback" | "human-escalation"))
        || !co.pending_feedback.is_empty()
    {
        out.source = RetrySource::HumanWait;
        return out;
    }
    // 2. Executor fallback for each failed agent.
    let assignments: BTreeMap<String, ExecutorId> =
        i.executors.iter().map(|(a, s)| (a.clone(), s.id)).collect();
    let mut blocked = Vec::new();
    for f in i
        .failures
        .iter()
        .filter(|f| f.status_code != "shared-component-sibling-pending")
    {
        let Some(agent) = f.agent_id.as_deref() else {
            continue;
        };
        let Some(state) = i.executors.get(agent) else {
            continue;
        };
        match choose_fallback(
            agent,
            state,
            &f.status_code,
            i.next_attempt,
            i.available_executors,
            &assignments,
            &i.lane.runtime_policy.runtime_mix_targets,
            i.lane_models,
        ) {
            FallbackOutcome::Applied(next) => {
                out.executor_changes.insert(agent.to_owned(), next);
            }
            FallbackOutcome::NoFallback => {}
            FallbackOutcome::Blocked(detail) => blocked.push(Failure {
                agent_id: Some(agent.to_owned()),
                status_code: "retry-fallback-blocked".into(),
                detail,
                log_path: f.log_path.clone(),
                component_id: None,
                waiting_on_agent_ids: Vec::new(),
                satisfied_agent_ids: Vec::new(),
            }),
        }
    }
    if !blocked.is_empty() {
        out.executor_changes.clear();
        out.barrier = Some(RetryBarrier {
            status_code: "retry-fallback-blocked".into(),
            detail: blocked
                .iter()
                .map(|f| f.detail.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            failures: blocked,
        });
        out.source = RetrySource::FallbackBlocked;
        return out;
    }
    // 3. Clarification follow-ups.
    let targets: Vec<String> = co
        .open_records
        .iter()
        .filter(|r| r.blocking && r.kind == "request" && r.clarification_linked)
        .flat_map(|r| {
            r.targets
                .iter()
                .map(|t| t.strip_prefix("agent:").unwrap_or(t).to_owned())
        })
        .collect();
    if !targets.is_empty() {
        return pick(out, RetrySource::Clarification, targets);
    }
    // 4. Helper assignments.
    let helpers: Vec<_> = co
        .helper_assignments
        .iter()
        .filter(|a| a.blocking)
        .collect();
    if !helpers.is_empty() {
        let unresolved: Vec<_> = helpers
            .iter()
            .filter(|a| a.assigned_agent_id.is_none())
            .collect();
        if !unresolved.is_empty() {
            out.barrier = Some(RetryBarrier {
                status_code: "helper-assignment-unresolved".into(),
                detail: format!(
                    "No matching assignee exists for helper requests ({}).",
                    unresolved
                        .iter()
                        .map(|a| a.request_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                failures: Vec::new(),
            });
            out.source = RetrySource::HelperAssignment;
            return out;
        }
        return pick(
            out,
            RetrySource::HelperAssignment,
            helpers
                .iter()
                .filter_map(|a| a.assigned_agent_id.clone())
                .collect(),
        );
    }
    // 5. Dependencies.
    let unresolved: Vec<_> = co
        .dependencies
        .iter()
        .filter(|d| d.required && d.inbound && d.assigned_agent_id.is_none())
        .collect();
    if !unresolved.is_empty() {
        out.barrier = Some(RetryBarrier {
            status_code: "dependency-assignment-unresolved".into(),
            detail: format!(
                "Required inbound dependencies are not assigned ({}).",
                unresolved
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            failures: Vec::new(),
        });
        out.source = RetrySource::Dependency;
        return out;
    }
    let inbound: Vec<String> = co
        .dependencies
        .iter()
        .filter(|d| d.inbound)
        .filter_map(|d| d.assigned_agent_id.clone())
        .collect();
    if !inbound.is_empty() {
        return pick(out, RetrySource::Dependency, inbound);
    }
    // 6. Blockers.
    let blockers: Vec<String> = co
        .open_records
        .iter()
        .filter(|r| r.blocking && r.kind == "blocker")
        .flat_map(|r| {
            std::iter::once(r.agent_id.clone()).chain(r.target_agents().map(str::to_owned))
        })
        .collect();
    if !known(i.plan, blockers.clone()).is_empty() {
        return pick(out, RetrySource::Blocker, blockers);
    }
    // 7. Shared-component siblings.
    let waiting: Vec<String> = i
        .failures
        .iter()
        .filter(|f| f.status_code == "shared-component-sibling-pending")
        .flat_map(|f| f.waiting_on_agent_ids.iter().cloned())
        .collect();
    if !waiting.is_empty() {
        return pick(out, RetrySource::SharedComponentSibling, waiting);
    }
    // 8. Resume plan.
    if !resume.can_resume || resume.reason == "human-request" {
        return out;
    }
    let phase_runs = agents_for_phase(i.plan, i.lane, &resume.resume_from_phase);
    if resume.resume_from_phase != "implementation" && !phase_runs.is_empty() {
        let mut ids = phase_runs;
        // Forwarded gaps rerun every steward from the earliest gap stage on.
        for a in &resume.invalidated_agent_ids {
            if stage_of(a, i.plan, i.lane).is_some() && !ids.contains(a) {
                ids.push(a.clone());
            }
        }
        return pick(out, RetrySource::ResumePhase, ids);
    }
    // 9. Invalidated agents.
    if !resume.invalidated_agent_ids.is_empty() {
        return pick(
            out,
            RetrySource::Invalidated,
            resume.invalidated_agent_ids.clone(),
        );
    }
    // 10. Failed agents.
    let failed: Vec<String> = i
        .failures
        .iter()
        .filter_map(|f| f.agent_id.clone())
        .collect();
    pick(out, RetrySource::Failed, failed)
}

// ---------------------------------------------------------------------------------------------
// Initial selection (§8.2).

/// Reuse facts for one agent, computed by the caller from status records and summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReuseFacts {
    /// Status code 0 and matching prompt hash.
    pub status_reusable: bool,
    /// Its own slice validates (design: design validation; hybrid: both; proof-centric:
    /// implementation validation).
    pub slice_valid: bool,
}

/// The initial selection of an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitialSelection {
    /// Agents to launch.
    pub selected_agent_ids: Vec<String>,
    /// Agents reused from a previous run.
    pub reused_agent_ids: Vec<String>,
    /// Completed with exit 0 but not reusable.
    pub stale_completed_agent_ids: Vec<String>,
    /// True when the operator override chose the selection.
    pub from_override: bool,
    /// Unknown override ids (the override was ignored).
    pub unknown_override_ids: Vec<String>,
}

/// Initial selection: pre-completed agents are reused; an override wins; else pending design
/// agents, else implementation fan-out (non-closure, not docs-only design), else non-closure,
/// else everything (LA-44..LA-47).
pub fn initial_selection(
    plan: &WavePlan,
    lane: &LaneProfile,
    reuse: &BTreeMap<String, ReuseFacts>,
    proof_centric_barrier_failing: bool,
    rerun: Option<&RerunOverride>,
) -> InitialSelection {
    let closure = |a: &Agent| stage_of(&a.agent_id, plan, lane).is_some();
    let cleared =
        |a: &Agent| rerun.is_some_and(|r| r.clear_reusable_agent_ids.contains(&a.agent_id));
    let mut reused = Vec::new();
    let mut stale = Vec::new();
    for a in plan.agents.iter().filter(|a| !closure(a)) {
        let f = reuse.get(&a.agent_id).copied().unwrap_or_default();
        if !f.status_reusable {
            continue;
        }
        let design = roles::is_design_agent(a, lane);
        let proof_centric = is_proof_centric(a);
        let ok = !cleared(a)
            && (!(design || proof_centric) || f.slice_valid)
            && !(proof_centric && proof_centric_barrier_failing);
        if ok {
            reused.push(a.agent_id.clone())
        } else {
            stale.push(a.agent_id.clone())
        }
    }
    let mut sel = InitialSelection {
        selected_agent_ids: Vec::new(),
        reused_agent_ids: reused.clone(),
        stale_completed_agent_ids: stale,
        from_override: false,
        unknown_override_ids: Vec::new(),
    };
    if let Some(r) = rerun {
        let ids = if r.selected_agent_ids.is_empty() {
            r.resume_phase
                .as_deref()
                .map(|p| agents_for_phase(plan, lane, p))
                .unwrap_or_default()
        } else {
            r.selected_agent_ids.clone()
        };
        let unknown: Vec<String> = ids
            .iter()
            .filter(|a| plan.agent(a).is_none())
            .cloned()
            .collect();
        if unknown.is_empty() && !ids.is_empty() {
            sel.selected_agent_ids = ids;
            sel.from_override = true;
            return sel;
        }
        sel.unknown_override_ids = unknown;
    }
    let pending = |a: &&&Agent| !reused.contains(&a.agent_id);
    let non_closure: Vec<&Agent> = plan.agents.iter().filter(|a| !closure(a)).collect();
    let design: Vec<String> = non_closure
        .iter()
        .filter(pending)
        .filter(|a| roles::is_design_agent(a, lane))
        .map(|a| a.agent_id.clone())
        .collect();
    sel.selected_agent_ids = if !design.is_empty() {
        design
    } else {
        let fanout: Vec<String> = non_closure
            .iter()
            .filter(pending)
            .filter(|a| !roles::is_docs_only_design_agent(a, lane))
            .map(|a| a.agent_id.clone())
            .collect();
        if !fanout.is_empty() {
            fanout
        } else if !non_closure.is_empty() {
            non_closure
                .iter()
                .filter(pending)
                .map(|a| a.agent_id.clone())
                .collect()
        } else {
            plan.agents.iter().map(|a| a.agent_id.clone()).collect()
        }
    };
    sel
}

/// Proof-centric: a component target at or above `pilot-live`, or a proof artifact required
/// for such a level (or for every level).
pub fn is_proof_centric(agent: &Agent) -> bool {
    use crate::engine::ladder::is_proof_centric_level;
    agent
        .component_targets
        .iter()
        .any(|(_, l)| l.as_deref().is_some_and(is_proof_centric_level))
        || agent.proof_artifacts.iter().any(|a| {
            a.required_for.is_empty() || a.required_for.iter().any(|l| is_proof_centric_level(l))
        })
}

// ---------------------------------------------------------------------------------------------
// Final attempt (§8.5).

/// What the last attempt's failures mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalOutcome {
    /// Exit code: 43 recoverable / waiting, 42 cont-QA-only, 1 otherwise.
    pub exit_code: u8,
    /// Every failure recoverable and something to rerun.
    pub recoverable: bool,
    /// Agents the recovery rerun request selects.
    pub rerun_agent_ids: Vec<String>,
}

/// Classifies the final attempt. `retry` is the plan resolved for the would-be next attempt
/// (its human wait or barrier also means "waiting", exit 43).
pub fn final_outcome(
    failures: &[Failure],
    summaries: &BTreeMap<String, ExecutionSummary>,
    retry: Option<&RetryPlan>,
) -> FinalOutcome {
    if failures.is_empty() {
        return FinalOutcome {
            exit_code: exit::Code::OK.0,
            recoverable: false,
            rerun_agent_ids: Vec::new(),
        };
    }
    let waiting = retry.is_some_and(|r| r.source == RetrySource::HumanWait || r.barrier.is_some())
        || failures
            .iter()
            .all(|f| f.status_code == "awaiting-adjudication");
    let mut targets: Vec<String> = Vec::new();
    if let Some(r) = retry {
        targets.extend(r.selected_agent_ids.iter().cloned());
        targets.extend(r.resume.invalidated_agent_ids.iter().cloned());
    }
    targets.extend(failures.iter().filter_map(|f| f.agent_id.clone()));
    let mut seen = BTreeSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    let all_recoverable = failures
        .iter()
        .all(|f| f.is_recoverable(f.agent_id.as_deref().and_then(|a| summaries.get(a))));
    if waiting || (all_recoverable && !targets.is_empty()) {
        return FinalOutcome {
            exit_code: exit::Code::BLOCKED.0,
            recoverable: true,
            rerun_agent_ids: targets,
        };
    }
    let qa_only = failures.iter().all(|f| {
        f.status_code.starts_with("cont-qa-") || f.status_code == "missing-cont-qa-verdict"
    });
    FinalOutcome {
        exit_code: if qa_only {
            exit::Code::CONT_QA_ONLY.0
        } else {
            exit::Code::FAILURE.0
        },
        recoverable: false,
        rerun_agent_ids: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Records the dispatcher writes after a retry decision (§8.4, §8.5, §8.6).

/// The repair request appended per selected agent after a (non-override) retry selection:
/// `repair-wave-<N>-attempt-<A>-<id>`, kind `request`, non-blocking, severity soft.
pub fn repair_request(
    lane: &str,
    wave: u64,
    next_attempt: u64,
    agent_id: &str,
    reason: &str,
    now: &str,
) -> Value {
    json!({
        "recordVersion": 1,
        "id": format!("repair-wave-{wave}-attempt-{next_attempt}-{agent_id}"),
        "kind": "request",
        "wave": wave,
        "lane": lane,
        "agentId": "launcher",
        "targets": [format!("agent:{agent_id}")],
        "status": "open",
        "priority": "high",
        "blocking": false,
        "blockerSeverity": "soft",
        "summary": format!("Repair {agent_id}: {reason}"),
        "detail": reason,
        "source": "launcher",
        "createdAt": now,
        "updatedAt": now,
    })
}

/// The relaunch plan projection (`S/status/relaunch-plan-wave-N.json`).
pub fn relaunch_plan(
    wave: u64,
    attempt: u64,
    phase: &str,
    retry: &RetryPlan,
    reasons: &ReasonBuckets,
    executor_states: &BTreeMap<String, ExecutorState>,
    now: &str,
) -> Value {
    let executor_states: serde_json::Map<String, Value> = executor_states
        .iter()
        .map(|(a, s)| (a.clone(), serde_json::to_value(s).unwrap_or(Value::Null)))
        .collect();
    let history: serde_json::Map<String, Value> = executor_states
        .iter()
        .map(|(a, s)| {
            (
                a.clone(),
                s.get("executorHistory").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    json!({
        "schemaVersion": 1,
        "kind": "wave-relaunch-plan",
        "wave": wave,
        "attempt": attempt,
        "phase": phase,
        "selectedAgentIds": retry.selected_agent_ids,
        "resumeFromPhase": retry.resume.resume_from_phase,
        "invalidatedAgentIds": retry.resume.invalidated_agent_ids,
        "reusableAgentIds": retry.resume.reusable_agent_ids,
        "reusableProofBundleIds": [],
        "forwardedClosureGaps": retry.resume.forwarded_closure_gaps.iter().map(|(stage, agent)| json!({"stage": stage, "agentId": agent})).collect::<Vec<_>>(),
        "reasonBuckets": reasons,
        "executorStates": executor_states,
        "fallbackHistory": history,
        "createdAt": now,
    })
}

/// Which kinds of reasons led to a relaunch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonBuckets {
    /// Clarification follow-ups.
    pub clarification: bool,
    /// Helper assignments.
    pub helper_assignment: bool,
    /// Dependencies.
    pub dependency: bool,
    /// Blockers.
    pub blocker: bool,
    /// A closure gate failed.
    pub closure_gate: bool,
    /// Shared-component siblings.
    pub shared_component_sibling_wait: bool,
}

impl ReasonBuckets {
    /// Buckets from a retry plan's source and failures.
    pub fn of(retry: &RetryPlan, failures: &[Failure]) -> Self {
        ReasonBuckets {
            clarification: retry.source == RetrySource::Clarification,
            helper_assignment: retry.source == RetrySource::HelperAssignment,
            dependency: retry.source == RetrySource::Dependency,
            blocker: retry.source == RetrySource::Blocker,
            closure_gate: retry.resume.resume_from_phase != "implementation"
                && retry.resume.resume_from_phase != "design",
            shared_component_sibling_wait: failures
                .iter()
                .any(|f| f.status_code == "shared-component-sibling-pending"),
        }
    }
}

/// The recovery rerun request written when the final attempt is recoverable (§8.5): a
/// `rerun_request` control event's data.
pub fn recovery_rerun_request(
    wave: u64,
    outcome: &FinalOutcome,
    retry: Option<&RetryPlan>,
    failures: &[Failure],
    now_ms: i64,
    now: &str,
) -> Value {
    let resume = retry
        .map(|r| r.resume.resume_from_phase.clone())
        .filter(|p| p != "completed");
    let failed: Vec<String> = failures.iter().filter_map(|f| f.agent_id.clone()).collect();
    json!({
        "requestId": format!("rerun-wave-{wave}-{now_ms}"),
        "state": "active",
        "selectedAgentIds": outcome.rerun_agent_ids,
        "resumeCursor": resume,
        "reuseAttemptIds": [],
        "reuseProofBundleIds": [],
        "reuseDerivedSummaries": true,
        "invalidateComponentIds": [],
        "clearReusableAgentIds": failed,
        "preserveReusableAgentIds": retry.map(|r| r.resume.reusable_agent_ids.clone()).unwrap_or_default(),
        "requestedBy": "launcher-recovery",
        "reason": "Final attempt failed with recoverable failures.",
        "applyOnce": true,
        "createdAt": now,
    })
}
