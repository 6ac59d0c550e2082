//! The reducer: merged canonical streams (coordination records, control-plane events, dependency
//! tickets, result envelopes) → the state of one wave, as `wave control status` reports it
//! (spec §10.8, with §3.7 assignments, §3.9 ack metrics, §3.11 dependencies, §4.5 tasks).
//!
//! Reduction is pure: time is the `now` parameter, nothing is read or written. Coordination
//! records are folded one at a time ([`CoordFold`]), so memory follows distinct ids; the status is
//! a view over the fold that borrows from it, and its task list is produced while it is written.
//!
//! Deliberate differences from upstream, each tested:
//! - closure eligibility is real: [`ClosureEligibility::wave_may_close`] is true when every agent
//!   finished with exit 0 and its proof met, no blocking task, helper assignment, dependency or
//!   human input is open, and no attempt or rerun request is active. The phase is then
//!   `completed` (upstream reads the phase from its ledger projection, default `planned`).
//! - dependency tickets fold by id like coordination records (upstream treats every line as a
//!   separate ticket, so an update line never closes one).
//! - an agent's outcome comes from its latest `agent_run` event and result envelope, not from
//!   status files.
//! - capability targets are ranked against a ledger of the wave's own tasks (open work per
//!   agent); same-wave capability completions, which need the persisted ledger, do not count.
//!
//! Helper assignments, their target resolution and `resolved-by-policy` matching, the blocking
//! predicates and the acknowledgement/staleness rules are the coordination engine's
//! ([`crate::engine::coordination`]), applied to [`CoordRecord`] through
//! [`crate::engine::coordination::RecordView`]; this module only combines them.
//!
//! [`ClosureEligibility`] is not the gates' [`crate::engine::gates::closure_readiness`]: that one
//! asks whether every owned slice is proven by the agents' summaries and artifacts and every
//! gate passes, and needs the plan and the files; this one asks, from the runtime streams only,
//! whether every agent's latest run exited 0 with its proof met and nothing in the
//! coordination or control plane still blocks. A wave is closed by the gates; the status
//! reports the runtime side so an operator sees why a wave waits.
//!
//! Must not: do I/O, read the clock or the environment.

pub(crate) mod flat;
pub mod record;
pub mod roster;
pub mod scan;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde::ser::{SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::engine::control::{BundleState, ControlState, ProofBundle, RerunRequest};
use crate::engine::coordination::signals::{
    self, ChangedSignal, SignalAck, SignalBlock, SignalSync,
};
use crate::engine::coordination::{
    AgentProfile, CapabilityRouting, LedgerTask, RoutingLedger, TimingOptions,
    is_launcher_seed_request, record_timing_flags, request_assignments, resolve_target,
};
use crate::event::coordination::{BlockerSeverity, Kind, Status};
use crate::event::envelope::ResultEnvelope;
use crate::event::time;

pub use record::{
    CoordFold, CoordRecord, LineRef, Parsed, Position, RecordError, Rejected, WinnerLookup,
    WinnerSink, Winners,
};
pub use roster::{RoleIds, Roster, RosterAgent};

pub use crate::engine::coordination::{ACK_TIMEOUT_MS, Assignment, RESOLUTION_STALE_MS};

/// Everything a wave's state is reduced from.
#[derive(Debug, Clone, Copy)]
pub struct WaveInputs<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave number.
    pub wave: u64,
    /// The wave's agents.
    pub roster: &'a Roster,
    /// The wave's coordination records: latest per id, in `(updatedAt, id)` order
    /// ([`CoordFold::finish`]).
    pub coordination: &'a [CoordRecord],
    /// Cross-lane dependency tickets (every lane's), latest per id.
    pub dependencies: &'a [CoordRecord],
    /// The wave's control plane, materialized.
    pub control: &'a ControlState,
    /// The latest result envelope per agent.
    pub envelopes: &'a [ResultEnvelope],
    /// The time the status is computed for, in Unix milliseconds.
    pub now_ms: i64,
}

impl<'a> WaveInputs<'a> {
    /// The inputs of wave `wave` of `lane` from its coordination records and control plane
    /// alone: no dependency tickets, no result envelopes.
    pub fn from_records(
        (lane, wave): (&'a str, u64),
        roster: &'a Roster,
        coordination: &'a [CoordRecord],
        control: &'a ControlState,
        now_ms: i64,
    ) -> Self {
        WaveInputs {
            lane,
            wave,
            roster,
            coordination,
            dependencies: &[],
            control,
            envelopes: &[],
            now_ms,
        }
    }
}

/// A feedback request (human input) as the status lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackRequest {
    /// Request id.
    pub id: String,
    /// Agent that asked.
    pub agent_id: String,
    /// `pending` or `answered`.
    pub status: String,
    /// The question.
    pub question: String,
    /// Context.
    pub context: String,
    /// Resident orchestrator id (empty when none).
    pub orchestrator_id: String,
    /// When it was asked.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Who answered (empty until answered).
    pub response_operator: String,
    /// The answer (empty until answered).
    pub response_text: String,
}

/// A control/status task (§4.5a), borrowed from its coordination record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task<'a> {
    /// Task id (the record id).
    pub task_id: &'a str,
    /// Source record id.
    pub source_record_id: Option<&'a str>,
    /// `request`, `blocker`, `clarification`, `human-input`, `escalation`, …
    pub task_type: &'a str,
    /// `open`, `working`, `input-required`, `resolved`, `cancelled`, `superseded`, `dismissed`.
    pub state: &'static str,
    /// Title.
    pub title: &'a str,
    /// Detail.
    pub detail: &'a str,
    /// Priority.
    pub priority: &'a str,
    /// Author.
    pub owner_agent_id: Option<&'a str>,
    /// First `agent:` target.
    pub assignee_agent_id: Option<&'a str>,
    /// Assignee while acknowledged or in progress.
    pub lease_owner_agent_id: Option<&'a str>,
    /// Whether it blocks the wave.
    pub blocking: bool,
    /// Severity.
    pub blocker_severity: &'a str,
    /// Whether a human must act.
    pub needs_human: bool,
    /// Dependencies.
    pub depends_on: &'a [Box<str>],
    /// Artifact references.
    pub evidence_refs: &'a [Box<str>],
    /// Blocker text (blockers only).
    pub blocker_reason: Option<&'a str>,
    /// Retry text (requests only).
    pub retry_reason: Option<&'a str>,
    /// The record id when superseded.
    pub supersedes: Option<&'a str>,
    /// The clarification it belongs to.
    pub clarification_id: Option<&'a str>,
    /// Created.
    pub created_at: &'a str,
    /// Updated.
    pub updated_at: &'a str,
    /// Acknowledgement deadline.
    pub ack_deadline_at: Option<Stamp>,
    /// Resolution deadline.
    pub resolve_deadline_at: Option<Stamp>,
    /// Last sign of life while working.
    pub last_heartbeat_at: Option<&'a str>,
    /// Acknowledgement overdue at `now`.
    pub overdue_ack: bool,
    /// Stale at `now`.
    pub stale: bool,
    /// Feedback request id.
    pub feedback_request_id: Option<&'a str>,
    /// Human answer.
    pub human_response: Option<&'a str>,
    /// Who answered.
    pub human_operator: Option<&'a str>,
}

/// A cross-lane dependency ticket as it concerns this wave (§3.11).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency<'a> {
    /// Ticket id.
    pub id: &'a str,
    /// `inbound` (we owe) or `outbound` (we wait).
    pub direction: &'static str,
    /// Lane of the record.
    pub lane: &'a str,
    /// Requesting lane.
    pub requester_lane: &'a str,
    /// Owning lane.
    pub owner_lane: &'a str,
    /// Requesting wave.
    pub requester_wave: Option<u64>,
    /// Owning wave.
    pub owner_wave: Option<u64>,
    /// Required for closure.
    pub required: bool,
    /// Status.
    pub status: &'a str,
    /// Summary.
    pub summary: &'a str,
    /// Detail.
    pub detail: &'a str,
    /// Priority.
    pub priority: &'a str,
    /// Targets.
    pub targets: &'a [Box<str>],
    /// Artifact references.
    pub artifact_refs: &'a [Box<str>],
    /// Local agent it is assigned to (inbound only).
    pub assigned_agent_id: Option<String>,
    /// How it was assigned.
    pub assignment_reason: Option<&'static str>,
    /// Why, in words.
    pub assignment_detail: String,
    /// Required and open.
    pub blocking: bool,
    /// Created.
    pub created_at: &'a str,
    /// Updated.
    pub updated_at: &'a str,
}

/// What currently stops the wave (§10.8 `blockingEdge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlockingEdge {
    /// `human-input`, `human-escalation`, `clarification`, `helper-assignment-unresolved`,
    /// `helper-assignment`, `dependency`, `rerun-request`, `relaunch-plan`, `blocker`, `request`.
    pub kind: &'static str,
    /// The task, request or ticket id.
    pub id: String,
    /// The agent concerned.
    #[serde(rename = "agentId")]
    pub agent_id: Option<String>,
    /// Why.
    pub detail: String,
}

impl BlockingEdge {
    /// The edge as the signal snapshots carry it.
    pub fn signal_edge(&self) -> signals::SignalEdge {
        signals::SignalEdge {
            kind: self.kind.to_owned(),
            id: self.id.clone(),
            agent_id: self.agent_id.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// One agent's state (§10.8 `logicalAgents`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalAgent<'a> {
    /// Agent id.
    pub agent_id: String,
    /// `working`, `needs-rerun`, `closed`, `satisfied`, `blocked`, `planned`.
    pub state: &'static str,
    /// Why.
    pub reason: Option<String>,
    /// `active`, `settled` or `pending`.
    pub execution_state: &'static str,
    /// `evaluating`, `passed`, `blocked`, `failed` or `pending`.
    pub closure_state: &'static str,
    /// Tasks it owns or is assigned.
    pub task_ids: Vec<&'a str>,
    /// Selected by a rerun request or relaunch plan.
    pub selected_for_rerun: bool,
    /// Selected by the running attempt.
    pub selected_for_active_attempt: bool,
    /// Its active proof bundles.
    pub active_proof_bundle_ids: Vec<String>,
}

/// The next task deadline (§4.5 `nextTaskDeadline`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NextTimer {
    /// `ack` or `resolve`.
    pub kind: &'static str,
    /// The task.
    pub task_id: String,
    /// When.
    pub at: String,
    /// The task's title.
    pub title: String,
    /// The task's assignee.
    pub assignee_agent_id: Option<String>,
}

/// Whether the wave may close now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosureEligibility {
    /// Every agent finished with exit 0 and met proof.
    pub all_agents_proven: bool,
    /// No blocking task, assignment, dependency or human input is open.
    pub no_open_blockers: bool,
    /// The wave may close.
    pub wave_may_close: bool,
    /// Agents whose slice is proven.
    pub owned_slice_proven_agent_ids: Vec<String>,
    /// Agents still pending.
    pub pending_agent_ids: Vec<String>,
}

/// The selected agents and where the selection came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    source: &'static str,
    agent_ids: Vec<String>,
    detail: Option<String>,
}

/// The reduced state of one wave.
#[derive(Debug, Clone)]
pub struct WaveStatus<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave.
    pub wave: u64,
    /// The agent the view is for (`None`: the whole wave).
    pub agent_id: Option<&'a str>,
    /// Phase: `planned`, `running`, `clarifying`, `blocked` or `completed`.
    pub phase: &'static str,
    /// `active`, `settled` or `pending`.
    pub execution_state: &'static str,
    /// `awaiting-adjudication`, `blocked`, `passed`, `evaluating` or `pending`.
    pub closure_state: &'static str,
    /// `active`, `relaunch-planned`, `stale` or `idle`.
    pub controller_state: &'static str,
    /// What stops the wave.
    pub blocking_edge: Option<BlockingEdge>,
    /// Per-agent state.
    pub logical_agents: Vec<LogicalAgent<'a>>,
    /// Task source records, in task order.
    task_records: Vec<&'a CoordRecord>,
    feedback_by_id: HashMap<String, usize>,
    /// Blocking helper assignments.
    pub helper_assignments: Vec<Assignment>,
    /// Open inbound and outbound dependencies.
    pub dependencies: Vec<Dependency<'a>>,
    /// Proof bundles.
    pub proof_bundles: Vec<&'a ProofBundle>,
    /// Feedback requests.
    pub feedback_requests: Vec<FeedbackRequest>,
    /// Where the agent selection comes from.
    pub selection_source: &'static str,
    /// The active rerun request.
    pub rerun_request: Option<&'a RerunRequest>,
    /// The next deadline.
    pub next_timer: Option<NextTimer>,
    /// The running attempt.
    pub active_attempt: Option<&'a crate::engine::control::Attempt>,
    /// Closure eligibility.
    pub closure_eligibility: ClosureEligibility,
    /// The `signals` block (§10.8), once [`WaveStatus::sync_signals`] built it.
    pub signals: Option<SignalBlock>,
    /// The last recorded signal snapshot of each signal entity.
    recorded_signals: &'a BTreeMap<String, Map<String, Value>>,
    /// The signal tasks, gathered in the reduction's pass over the tasks when the signals are
    /// to be built ([`reduce_for`]); taken by [`WaveStatus::sync_signals`].
    signal_tasks: Option<Vec<signals::SignalTask<'a>>>,
    now_ms: i64,
}

impl<'a> WaveStatus<'a> {
    /// Tasks in order, built on demand from their records.
    pub fn tasks(&self) -> impl Iterator<Item = Task<'_>> + '_ {
        self.task_records.iter().map(|r| {
            let fb = self
                .feedback_by_id
                .get(&*r.id)
                .and_then(|i| self.feedback_requests.get(*i));
            task_of(r, fb, self.now_ms)
        })
    }

    /// Task `i` in task order (`None` past the end).
    pub fn task(&self, i: usize) -> Option<Task<'_>> {
        let r = self.task_records.get(i)?;
        let fb = self
            .feedback_by_id
            .get(&*r.id)
            .and_then(|i| self.feedback_requests.get(*i));
        Some(task_of(r, fb, self.now_ms))
    }

    /// Number of tasks.
    pub fn task_count(&self) -> usize {
        self.task_records.len()
    }

    /// A serializable view of the task list that streams while it is written.
    pub fn tasks_view(&self) -> TasksView<'_, 'a> {
        TasksView(self)
    }

    /// What the signals of this status are built from (§10.7: the status payload itself).
    /// `state_dir` is the lane state directory as signal artifact paths name it. Only the
    /// actionable tasks (a request, blocker, clarification, human input or escalation that is
    /// open, working or waiting for input) are carried: no signal reads any other. Only the
    /// first task of the wave and of each agent carries its title (signals read no other).
    pub fn signal_inputs(&self, state_dir: &str) -> signals::SignalInputs<'_> {
        let tasks = match &self.signal_tasks {
            Some(tasks) => tasks.clone(),
            None => self.walk_signal_tasks(),
        };
        self.signal_inputs_with(tasks, state_dir)
    }

    /// The signal tasks of this status, read from its task records.
    fn walk_signal_tasks(&self) -> Vec<signals::SignalTask<'a>> {
        let mut firsts = FirstTasks::default();
        self.task_records
            .iter()
            .filter_map(|&r| {
                let fb = self
                    .feedback_by_id
                    .get(&*r.id)
                    .and_then(|i| self.feedback_requests.get(*i));
                signal_task(&task_core(r, fb), r, fb, &mut firsts)
            })
            .collect()
    }

    /// The agents the active attempt selected (none without an active attempt).
    pub fn active_selected(&self) -> Vec<String> {
        self.active_attempt
            .map(|a| a.selected_agent_ids.clone())
            .unwrap_or_default()
    }

    /// The agents the active rerun request selected (none without one).
    pub fn rerun_selected(&self) -> Vec<String> {
        self.rerun_request
            .map(|r| r.selected_agent_ids.clone())
            .unwrap_or_default()
    }

    /// The signal inputs of this status with the given signal tasks.
    fn signal_inputs_with<'s>(
        &'s self,
        tasks: Vec<signals::SignalTask<'s>>,
        state_dir: &str,
    ) -> signals::SignalInputs<'s> {
        signals::SignalInputs {
            lane: self.lane.to_owned(),
            wave: self.wave,
            phase: self.phase.to_owned(),
            blocking: self.blocking_edge.as_ref().map(BlockingEdge::signal_edge),
            active_attempt: self.active_attempt.map(|a| a.attempt_number),
            active_selected: self.active_selected(),
            rerun_selected: self.rerun_selected(),
            selection_source: self.selection_source.to_owned(),
            tasks,
            feedback: self
                .feedback_requests
                .iter()
                .map(|f| signals::SignalFeedback {
                    id: f.id.clone(),
                    agent_id: f.agent_id.clone(),
                    status: f.status.clone(),
                    question: f.question.clone(),
                    response_text: f.response_text.clone(),
                })
                .collect(),
            agents: self
                .logical_agents
                .iter()
                .map(|a| signals::SignalAgent {
                    agent_id: a.agent_id.clone(),
                    state: a.state.to_owned(),
                    reason: a.reason.clone(),
                    selected_for_rerun: a.selected_for_rerun,
                    selected_for_active_attempt: a.selected_for_active_attempt,
                })
                .collect(),
            state_dir: state_dir.to_owned(),
        }
    }

    /// Builds the `signals` block from this status, versioned against the last recorded
    /// snapshots (the `wave_signal` / `agent_signal` events of the control plane) at the
    /// status's time, with each agent's acknowledgement from `ack`. Records nothing: a
    /// snapshot whose comparable part changed shows the version and `changedAt` it will be
    /// recorded with, and is returned (as [`SignalSync::changed`] lists it; the snapshot is the
    /// block's).
    pub fn sync_signals(
        &mut self,
        state_dir: &str,
        ack: impl FnMut(&str) -> Option<SignalAck>,
    ) -> Vec<ChangedSignal> {
        let tasks = match self.signal_tasks.take() {
            Some(tasks) => tasks,
            None => self.walk_signal_tasks(),
        };
        let inputs = self.signal_inputs_with(tasks, state_dir);
        let SignalSync { block, changed } = signals::sync(
            &inputs,
            self.recorded_signals,
            ack,
            &Stamp(self.now_ms).text(),
        );
        drop(inputs);
        self.signals = Some(block);
        changed
    }
}

/// Serializes a status's tasks one at a time.
pub struct TasksView<'s, 'a>(&'s WaveStatus<'a>);

impl Serialize for TasksView<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.task_count()))?;
        for task in self.0.tasks() {
            seq.serialize_element(&task)?;
        }
        seq.end()
    }
}

/// An instant in Unix milliseconds, written as a wire timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub i64);

impl Stamp {
    /// The wire form (`2026-01-02T03:04:05.678Z`); empty when out of range.
    pub fn text(self) -> String {
        let mut out = Vec::with_capacity(24);
        self.write_text(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Appends the wire form to `out` ([`Stamp::text`]); instants from 1970 to 9999-12-29 are
    /// formatted here, the rest (and the edge of the representable range) through the general
    /// formatter.
    pub fn write_text(self, out: &mut Vec<u8>) {
        const END: i64 = 253_402_128_000_000; // 9999-12-30T00:00:00Z
        if !(0..END).contains(&self.0) {
            let text = jiff::Timestamp::from_millisecond(self.0)
                .map(time::format)
                .unwrap_or_default();
            out.extend_from_slice(text.as_bytes());
            return;
        }
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, day_secs) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (proleptic Gregorian, era-based).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let digits = |out: &mut Vec<u8>, value: i64, width: u32| {
            for place in (0..width).rev() {
                let d = (value / 10i64.pow(place)) % 10;
                out.push(b'0' + d as u8);
            }
        };
        digits(out, year, 4);
        out.push(b'-');
        digits(out, month, 2);
        out.push(b'-');
        digits(out, day, 2);
        out.push(b'T');
        digits(out, day_secs / 3600, 2);
        out.push(b':');
        digits(out, day_secs / 60 % 60, 2);
        out.push(b':');
        digits(out, day_secs % 60, 2);
        out.push(b'.');
        digits(out, ms, 3);
        out.push(b'Z');
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

fn deadline(base: &str, offset_ms: i64) -> Option<Stamp> {
    let ms = record::millis(base);
    (ms != i64::MIN).then(|| Stamp(ms.saturating_add(offset_ms)))
}

fn task_type_of(kind: Kind) -> &'static str {
    match kind {
        Kind::ClarificationRequest => "clarification",
        Kind::HumanFeedback => "human-input",
        Kind::HumanEscalation => "escalation",
        other => other.as_str(),
    }
}

fn is_taskable(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Request
            | Kind::Blocker
            | Kind::Handoff
            | Kind::Evidence
            | Kind::Claim
            | Kind::Decision
            | Kind::ClarificationRequest
            | Kind::HumanFeedback
            | Kind::HumanEscalation
    )
}

/// The fields of a task that the reduction's single pass reads, borrowed from the record
/// alone: [`task_of`] builds the rest around them.
#[derive(Debug, Clone, Copy)]
struct TaskCore<'a> {
    task_id: &'a str,
    task_type: &'static str,
    state: &'static str,
    title: &'a str,
    owner_agent_id: Option<&'a str>,
    assignee_agent_id: Option<&'a str>,
    /// `blocksWave` (§3.4).
    blocking: bool,
}

impl TaskCore<'_> {
    fn is_active(&self) -> bool {
        matches!(self.state, "open" | "working" | "input-required")
    }

    fn blocks_agent(&self) -> bool {
        matches!(
            self.task_type,
            "request" | "blocker" | "clarification" | "human-input" | "escalation"
        ) && self.blocking
    }
}

fn task_core<'a>(r: &'a CoordRecord, fb: Option<&FeedbackRequest>) -> TaskCore<'a> {
    let answered = fb.is_some_and(|f| f.status == "answered");
    let state: &'static str = if answered {
        "resolved"
    } else {
        match r.status {
            Status::Open if r.kind == Kind::HumanFeedback => "input-required",
            Status::Open => "open",
            Status::Acknowledged | Status::InProgress => "working",
            Status::Resolved | Status::Closed => "resolved",
            Status::Cancelled => "cancelled",
            Status::Superseded => "superseded",
        }
    };
    TaskCore {
        task_id: &r.id,
        task_type: task_type_of(r.kind),
        state,
        title: if r.summary.is_empty() && r.detail.is_empty() {
            "Untitled task"
        } else if r.summary.is_empty() {
            &r.detail
        } else {
            &r.summary
        },
        owner_agent_id: (!r.agent_id.is_empty()).then_some(&*r.agent_id),
        assignee_agent_id: r.first_agent_target(),
        blocking: r.blocks_wave(),
    }
}

/// Which agents (and, as "", the wave) have had their first signal task: a few ids, so a list.
#[derive(Debug, Default)]
struct FirstTasks<'a> {
    covered: Vec<&'a str>,
}

impl<'a> FirstTasks<'a> {
    /// Whether a task of these agents is the first of the wave or of one of them.
    fn first(&mut self, owner: Option<&'a str>, assignee: Option<&'a str>) -> bool {
        let mut first = self.covered.is_empty();
        if first {
            self.covered.push("");
        }
        for id in [owner, assignee].into_iter().flatten() {
            if !self.covered.contains(&id) {
                self.covered.push(id);
                first = true;
            }
        }
        first
    }
}

/// The task as signals read it, when it is actionable (a request, blocker, clarification,
/// human input or escalation that is open, working or waiting for input; an answered feedback
/// request resolves its task): the fields `task_of` gives, without deadlines and timing. Only
/// the first task of the wave and of each agent carries its title (signals read no other).
fn signal_task<'a>(
    t: &TaskCore<'a>,
    r: &CoordRecord,
    fb: Option<&FeedbackRequest>,
    firsts: &mut FirstTasks<'a>,
) -> Option<signals::SignalTask<'a>> {
    let actionable = matches!(
        r.kind,
        Kind::Request
            | Kind::Blocker
            | Kind::ClarificationRequest
            | Kind::HumanFeedback
            | Kind::HumanEscalation
    ) && matches!(
        r.status,
        Status::Open | Status::Acknowledged | Status::InProgress
    ) && fb.is_none_or(|f| f.status != "answered");
    if !actionable {
        return None;
    }
    let first = firsts.first(t.owner_agent_id, t.assignee_agent_id);
    Some(signals::SignalTask {
        task_id: t.task_id,
        task_type: t.task_type,
        state: t.state,
        title: if first { t.title } else { "" },
        owner_agent_id: t.owner_agent_id,
        assignee_agent_id: t.assignee_agent_id,
    })
}

fn task_of<'a>(r: &'a CoordRecord, fb: Option<&'a FeedbackRequest>, now_ms: i64) -> Task<'a> {
    let core = task_core(r, fb);
    let state = core.state;
    // The flags read the record's times only when it blocks the wave and waits for an
    // acknowledgement or a clarification.
    let timing = record_timing_flags(r, TimingOptions::at(now_ms));
    let tracked = timing.ack_tracked;
    let linked = timing.clarification_linked;
    let base = if r.created_at.is_empty() {
        &r.updated_at
    } else {
        &r.created_at
    };
    let updated_at = fb.map_or(&*r.updated_at, |f| f.updated_at.as_str());
    let non_empty = |s: &'a str| (!s.is_empty()).then_some(s);
    let text_or = |a: &'a str, b: &'a str| if a.is_empty() { b } else { a };
    Task {
        task_id: core.task_id,
        source_record_id: Some(core.task_id),
        task_type: core.task_type,
        state,
        title: core.title,
        detail: text_or(&r.detail, &r.summary),
        priority: r.priority.as_str(),
        owner_agent_id: core.owner_agent_id,
        assignee_agent_id: core.assignee_agent_id,
        lease_owner_agent_id: matches!(r.status, Status::Acknowledged | Status::InProgress)
            .then_some(core.assignee_agent_id)
            .flatten(),
        blocking: core.blocking,
        blocker_severity: r.blocker_severity.as_str(),
        needs_human: r.kind == Kind::HumanFeedback
            || fb.is_some_and(|f| f.status == "pending")
            || state == "input-required",
        depends_on: &r.depends_on,
        evidence_refs: &r.artifact_refs,
        blocker_reason: (r.kind == Kind::Blocker).then(|| text_or(&r.detail, &r.summary)),
        retry_reason: (r.kind == Kind::Request).then(|| text_or(&r.detail, &r.summary)),
        supersedes: (r.status == Status::Superseded).then_some(core.task_id),
        clarification_id: if r.kind == Kind::ClarificationRequest {
            Some(core.task_id)
        } else {
            r.clarification_condition()
        },
        created_at: &r.created_at,
        updated_at,
        ack_deadline_at: (tracked && state == "open")
            .then(|| deadline(base, ACK_TIMEOUT_MS))
            .flatten(),
        resolve_deadline_at: ((r.kind == Kind::ClarificationRequest || linked)
            && matches!(state, "open" | "working" | "input-required"))
        .then(|| deadline(base, RESOLUTION_STALE_MS))
        .flatten(),
        last_heartbeat_at: (state == "working").then_some(updated_at),
        overdue_ack: timing.overdue_ack,
        stale: timing.stale_clarification || r.blocker_severity == BlockerSeverity::Stale,
        feedback_request_id: fb.map(|f| f.id.as_str()),
        human_response: fb.and_then(|f| non_empty(&f.response_text)),
        human_operator: fb.and_then(|f| non_empty(&f.response_operator)),
    }
}

/// What target resolution reads: the wave's agents, its routing preferences and its ledger.
struct Routing {
    agents: Vec<AgentProfile>,
    preferences: CapabilityRouting,
    ledger: RoutingLedger,
}

impl Routing {
    /// The routing facts of a wave: its roster, and a ledger of its own tasks (each owned by
    /// its assignee, else its author), which ranks capable agents by open work.
    ///
    /// Only `capability:` targets read the ledger; without any, it stays empty rather than
    /// holding an entry per task.
    fn of(roster: &Roster, tasks: &[&CoordRecord], capability_targets: bool) -> Self {
        let agents = roster
            .agents
            .iter()
            .map(|a| AgentProfile {
                agent_id: a.id.clone(),
                title: a.title.clone(),
                capabilities: a.capabilities.clone(),
                ..AgentProfile::default()
            })
            .collect();
        let preferences = CapabilityRouting {
            preferred_agents: roster.preferred_agents.iter().cloned().collect(),
        };
        let ledger = RoutingLedger {
            tasks: tasks
                .iter()
                .filter(|_| capability_targets)
                .filter_map(|r| {
                    let owner = r
                        .first_agent_target()
                        .or((!r.agent_id.is_empty()).then_some(&*r.agent_id))?;
                    Some(LedgerTask {
                        owner: owner.to_owned(),
                        state: if r.is_open() { "open" } else { "done" }.to_owned(),
                        capability: String::new(),
                    })
                })
                .collect(),
            capability_assignments: Vec::new(),
        };
        Routing {
            agents,
            preferences,
            ledger,
        }
    }

    fn resolve(&self, target: &str) -> crate::engine::coordination::Resolution {
        resolve_target(target, &self.agents, &self.ledger, &self.preferences)
    }
}

fn dependencies<'a>(
    tickets: &'a [CoordRecord],
    lane: &str,
    wave: u64,
    routing: &Routing,
) -> Vec<Dependency<'a>> {
    let relevant = |w: Option<u64>| w.is_none_or(|w| w == wave);
    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for r in tickets {
        let required = r.required || r.closure_condition.contains("required=true");
        let owner: &str = if r.owner_lane.is_empty() {
            &r.lane
        } else {
            &r.owner_lane
        };
        let summarize = |direction: &'static str,
                         agent: Option<String>,
                         reason: Option<&'static str>,
                         detail: String| Dependency {
            id: &r.id,
            direction,
            lane: &r.lane,
            requester_lane: &r.requester_lane,
            owner_lane: &r.owner_lane,
            requester_wave: r.requester_wave,
            owner_wave: r.owner_wave,
            required,
            status: r.status.as_str(),
            summary: &r.summary,
            detail: &r.detail,
            priority: r.priority.as_str(),
            targets: &r.targets,
            artifact_refs: &r.artifact_refs,
            assigned_agent_id: agent,
            assignment_reason: reason,
            assignment_detail: detail,
            blocking: required && r.is_open(),
            created_at: &r.created_at,
            updated_at: &r.updated_at,
        };
        if owner.trim() == lane && relevant(r.owner_wave) && r.is_open() {
            let resolutions: Vec<_> = r.targets.iter().map(|t| routing.resolve(t)).collect();
            let dep = match resolutions.iter().find(|x| x.assigned.is_some()) {
                Some(x) => summarize(
                    "inbound",
                    x.assigned.clone(),
                    Some(x.reason.as_str()),
                    x.detail.clone(),
                ),
                None if r.targets.is_empty() => summarize(
                    "inbound",
                    None,
                    Some("untargeted"),
                    "Dependency ticket is not targeted to a local agent or capability.".into(),
                ),
                None => summarize(
                    "inbound",
                    None,
                    Some("unresolved-target"),
                    resolutions
                        .iter()
                        .map(|x| x.detail.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            };
            inbound.push(dep);
        }
        if r.requester_lane.trim() == lane && relevant(r.requester_wave) && r.is_open() {
            outbound.push(summarize("outbound", None, None, String::new()));
        }
    }
    inbound.extend(outbound);
    inbound
}

fn feedback_requests(
    latest: &[&CoordRecord],
    control: &ControlState,
    roster: &Roster,
) -> Vec<FeedbackRequest> {
    let mut out: Vec<FeedbackRequest> = Vec::new();
    for r in latest.iter().filter(|r| r.kind == Kind::HumanFeedback) {
        if !roster.agents.is_empty() && !roster.has(&r.agent_id) {
            continue;
        }
        let input = control
            .human_inputs
            .iter()
            .find(|h| h.request_id.as_deref() == Some(&*r.id) || *h.human_input_id == *r.id);
        let answered = input.is_some_and(|h| h.state == "answered")
            || (input.is_none() && matches!(r.status, Status::Resolved | Status::Closed));
        out.push(FeedbackRequest {
            id: r.id.to_string(),
            agent_id: r.agent_id.to_string(),
            status: if answered { "answered" } else { "pending" }.into(),
            question: r.summary.to_string(),
            context: r.detail.to_string(),
            orchestrator_id: String::new(),
            created_at: r.created_at.to_string(),
            updated_at: input.map_or_else(|| r.updated_at.to_string(), |h| h.updated_at.clone()),
            response_operator: input.and_then(|h| h.operator.clone()).unwrap_or_default(),
            response_text: input.and_then(|h| h.response.clone()).unwrap_or_default(),
        });
    }
    out.sort_by(|a, b| {
        match (
            time::parse_millis(&a.created_at),
            time::parse_millis(&b.created_at),
        ) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.id.cmp(&b.id),
        }
    });
    out
}

/// An agent's latest outcome: exit code and whether its proof is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    exit_code: Option<i64>,
    proof_met: bool,
}

fn outcome(agent: &str, inputs: &WaveInputs<'_>) -> Outcome {
    let run = inputs
        .control
        .latest_agent_run(agent)
        .filter(|r| r.finished());
    let envelope = inputs
        .envelopes
        .iter()
        .filter(|e| e.agent_id == agent)
        .max_by_key(|e| e.attempt.unwrap_or(0));
    let exit_code = match (run, envelope) {
        (Some(r), Some(e)) if e.attempt.unwrap_or(0) > r.attempt_number => e.exit_code,
        (Some(r), _) => r
            .exit_code
            .or(Some(if r.state == "completed" { 0 } else { 1 })),
        (None, Some(e)) => e.exit_code,
        (None, None) => None,
    };
    let authoritative = inputs.control.proof_bundles.iter().any(|b| {
        b.agent_id == agent
            && b.authoritative
            && b.state == BundleState::Active
            && b.proof
                .as_ref()
                .and_then(|p| p.get("state"))
                .and_then(|s| s.as_str())
                == Some("met")
    });
    let proof_met = authoritative || envelope.is_none_or(ResultEnvelope::proof_met);
    Outcome {
        exit_code,
        proof_met,
    }
}

fn who<'t>(t: &TaskCore<'t>) -> Option<&'t str> {
    t.assignee_agent_id.or(t.owner_agent_id)
}

fn edge(kind: &'static str, id: &str, agent: Option<&str>, detail: &str) -> BlockingEdge {
    BlockingEdge {
        kind,
        id: id.to_owned(),
        agent_id: agent.map(str::to_owned),
        detail: detail.to_owned(),
    }
}

/// The first task of each kind the blocking edge may name, in the edge's order of precedence.
#[derive(Debug, Default)]
struct EdgeFirsts {
    human_input: Option<BlockingEdge>,
    escalation: Option<BlockingEdge>,
    clarification: Option<BlockingEdge>,
    blocker: Option<BlockingEdge>,
    request: Option<BlockingEdge>,
}

impl EdgeFirsts {
    /// Notes the task if it is the first of its kind to block.
    fn offer(&mut self, t: &TaskCore<'_>) {
        let open_or_working = t.blocking && matches!(t.state, "open" | "working");
        let (slot, kind, agent) = if t.state == "input-required" && t.blocking {
            (&mut self.human_input, "human-input", who(t))
        } else if !open_or_working {
            return;
        } else {
            match t.task_type {
                "escalation" => (&mut self.escalation, "human-escalation", who(t)),
                "clarification" => (&mut self.clarification, "clarification", who(t)),
                "blocker" => (&mut self.blocker, "blocker", t.owner_agent_id),
                "request" => (&mut self.request, "request", who(t)),
                _ => return,
            }
        };
        if slot.is_none() {
            *slot = Some(edge(kind, t.task_id, agent, t.title));
        }
    }
}

/// The blocking edge (§10.8) from the first blocking task of each kind, the blocking helper
/// assignments and the first open dependency in scope, and the active rerun request when it
/// counts: the first that applies, in upstream's order.
fn blocking_edge(
    firsts: EdgeFirsts,
    assignments: Vec<&Assignment>,
    dependency: Option<&Dependency<'_>>,
    rerun: Option<&RerunRequest>,
) -> Option<BlockingEdge> {
    let assignment_detail = |a: &Assignment| {
        if !a.assignment_detail.is_empty() {
            a.assignment_detail.clone()
        } else if !a.summary.is_empty() {
            a.summary.to_owned()
        } else {
            a.request_id.to_owned()
        }
    };
    firsts
        .human_input
        .or(firsts.escalation)
        .or(firsts.clarification)
        .or_else(|| {
            assignments
                .iter()
                .find(|a| a.blocking && a.assigned_agent_id.is_none())
                .map(|a| BlockingEdge {
                    kind: "helper-assignment-unresolved",
                    id: a.request_id.to_owned(),
                    agent_id: (!a.source_agent_id.is_empty()).then(|| a.source_agent_id.to_owned()),
                    detail: assignment_detail(a),
                })
        })
        .or_else(|| {
            assignments
                .iter()
                .find(|a| a.blocking)
                .map(|a| BlockingEdge {
                    kind: "helper-assignment",
                    id: a.request_id.to_owned(),
                    agent_id: a.assigned_agent_id.clone().or_else(|| {
                        (!a.source_agent_id.is_empty()).then(|| a.source_agent_id.to_owned())
                    }),
                    detail: assignment_detail(a),
                })
        })
        .or_else(|| {
            dependency.map(|d| BlockingEdge {
                kind: "dependency",
                id: d.id.to_owned(),
                agent_id: d.assigned_agent_id.clone(),
                detail: [d.summary, d.detail, d.id]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .unwrap_or_default()
                    .to_owned(),
            })
        })
        .or_else(|| {
            rerun.map(|r| BlockingEdge {
                kind: "rerun-request",
                id: r.request_id.clone(),
                agent_id: None,
                detail: r.reason.clone().unwrap_or_else(|| {
                    "Active rerun request controls next attempt selection.".into()
                }),
            })
        })
        .or(firsts.blocker)
        .or(firsts.request)
}

/// Whether a task is the agent's: it owns it or is its assignee.
fn concerns(t: &TaskCore<'_>, agent: &str) -> bool {
    t.owner_agent_id == Some(agent) || t.assignee_agent_id == Some(agent)
}

/// Whether a helper assignment is the agent's: assigned to it or asked by it.
fn assignment_concerns(a: &Assignment, agent: &str) -> bool {
    a.assigned_agent_id.as_deref() == Some(agent) || a.source_agent_id == agent
}

/// Reduces a wave's canonical inputs into its status.
pub fn reduce<'a>(inputs: &WaveInputs<'a>) -> WaveStatus<'a> {
    reduce_with(inputs, None, false)
}

/// Reduces a wave's canonical inputs into its status as one agent sees it (§12.5 `control
/// status --agent`), or the whole wave's when `agent` is `None`.
///
/// An agent's view keeps the tasks it owns or is assigned, the helper assignments it asked
/// for or was given, the inbound dependencies assigned to it, its proof bundles and its own
/// logical agent; its blocking edge and next timer come from those alone, without the
/// running attempt's scoping. The phase and closure eligibility stay the wave's.
///
/// The tasks its signals read are gathered in the same pass, for [`WaveStatus::sync_signals`].
pub fn reduce_for<'a>(inputs: &WaveInputs<'a>, agent: Option<&'a str>) -> WaveStatus<'a> {
    reduce_with(inputs, agent, true)
}

/// [`reduce_for`], gathering the signal tasks when `signal_tasks` is set.
fn reduce_with<'a>(
    inputs: &WaveInputs<'a>,
    agent: Option<&'a str>,
    signal_tasks: bool,
) -> WaveStatus<'a> {
    let roster = inputs.roster;
    // One pass over the records: the tasks (taskable, non-seed), the feedback requests, the
    // requests that block the wave and the `resolved-by-policy` records.
    let mut task_records: Vec<&CoordRecord> = Vec::new();
    let mut asked: Vec<&CoordRecord> = Vec::new();
    let mut requests: Vec<&CoordRecord> = Vec::new();
    let mut policies: Vec<&CoordRecord> = Vec::new();
    for r in inputs.coordination {
        match r.kind {
            Kind::ResolvedByPolicy => policies.push(r),
            // Only a request that blocks the wave can give a blocking helper assignment, and
            // the status reads no other.
            Kind::Request if r.blocks_wave() => requests.push(r),
            Kind::HumanFeedback => asked.push(r),
            _ => {}
        }
        if is_taskable(r.kind) && !is_launcher_seed_request(r) {
            task_records.push(r);
        }
    }
    let feedback = feedback_requests(&asked, inputs.control, roster);
    let feedback_by_id: HashMap<String, usize> = feedback
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();

    // Tasks, stably ordered by createdAt text.
    task_records.sort_by(|a, b| a.created_at.cmp(&b.created_at));

    // Only `capability:` targets read the routing ledger: it is built when a target that is
    // resolved here names a capability.
    let capability_targets = requests
        .iter()
        .copied()
        .chain(inputs.dependencies)
        .any(|r| r.targets.iter().any(|t| t.contains("capability:")));
    let routing = Routing::of(roster, &task_records, capability_targets);
    let all_assignments = request_assignments(
        requests,
        &policies,
        &routing.agents,
        &routing.ledger,
        &routing.preferences,
    );
    let deps = dependencies(inputs.dependencies, inputs.lane, inputs.wave, &routing);
    let control = inputs.control;
    let active_attempt = control.active_attempt();
    let rerun = control.active_rerun_request();
    let selection = match (active_attempt, rerun) {
        (Some(a), _) if !a.selected_agent_ids.is_empty() => Selection {
            source: "active-attempt",
            agent_ids: a.selected_agent_ids.clone(),
            detail: a.detail.clone(),
        },
        (_, Some(r)) if !r.selected_agent_ids.is_empty() => Selection {
            source: "rerun-request",
            agent_ids: r.selected_agent_ids.clone(),
            detail: r.reason.clone(),
        },
        _ => Selection {
            source: "none",
            agent_ids: Vec::new(),
            detail: None,
        },
    };

    let now_ms = inputs.now_ms;
    let fb_of = |r: &CoordRecord| feedback_by_id.get(&*r.id).and_then(|i| feedback.get(*i));

    // Closure eligibility and the phase it implies.
    let outcomes: Vec<(&RosterAgent, Outcome)> = roster
        .agents
        .iter()
        .map(|a| (a, outcome(&a.id, inputs)))
        .collect();
    let proven: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| o.exit_code == Some(0) && o.proof_met)
        .map(|(a, _)| a.id.clone())
        .collect();
    let pending: Vec<String> = roster
        .agents
        .iter()
        .filter(|a| !proven.contains(&a.id))
        .map(|a| a.id.clone())
        .collect();
    // One pass over the tasks: blockers, the first task of each edge kind, per-agent facts and
    // the next deadline.
    let attempt_sel: Vec<&str> = active_attempt
        .map(|a| a.selected_agent_ids.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let scoped = !attempt_sel.is_empty();
    let in_sel = |id: Option<&str>| id.is_some_and(|id| attempt_sel.contains(&id));
    let agent_index: HashMap<&str, usize, foldhash::fast::RandomState> = roster
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let mut per_agent: Vec<AgentTasks<'a>> = vec![AgentTasks::default(); roster.agents.len()];
    let mut any_blocking_task = false;
    // The first task of each edge kind: for the wave (scoped to the running attempt's agents
    // when one runs) and for the agent the view is for.
    let mut wave_firsts = EdgeFirsts::default();
    let mut agent_firsts = EdgeFirsts::default();
    let mut next: Option<(Stamp, &'static str, TaskCore<'a>)> = None;
    let mut signal_tasks: Option<Vec<signals::SignalTask<'a>>> = signal_tasks.then(Vec::new);
    let mut firsts = FirstTasks::default();
    // The whole wave's view shows every task.
    let mut shown_records: Vec<&'a CoordRecord> = Vec::new();
    for &r in &task_records {
        let fb = fb_of(r);
        let t = task_core(r, fb);
        let active_blocker = t.blocks_agent() && t.is_active();
        any_blocking_task |= active_blocker;
        let mut seen = [usize::MAX; 2];
        for (k, id) in [t.owner_agent_id, t.assignee_agent_id]
            .into_iter()
            .enumerate()
        {
            if let Some(&i) = id.and_then(|id| agent_index.get(id))
                && !seen.contains(&i)
                && let Some(a) = per_agent.get_mut(i)
            {
                seen[k] = i;
                a.task_ids.push(t.task_id);
                if active_blocker {
                    a.blocking_title.get_or_insert(t.title);
                    if t.state == "working" {
                        a.working_title.get_or_insert(t.title);
                    }
                }
            }
        }
        if !scoped || in_sel(t.owner_agent_id) || in_sel(t.assignee_agent_id) {
            wave_firsts.offer(&t);
        }
        if let Some(a) = agent {
            if !concerns(&t, a) {
                continue;
            }
            shown_records.push(r);
            agent_firsts.offer(&t);
        }
        if let Some(tasks) = signal_tasks.as_mut()
            && let Some(task) = signal_task(&t, r, fb, &mut firsts)
        {
            tasks.push(task);
        }
        if t.blocking {
            // Only a blocking task has deadlines.
            let full = task_of(r, fb, now_ms);
            for (kind, at) in [
                ("ack", full.ack_deadline_at),
                ("resolve", full.resolve_deadline_at),
            ] {
                if let Some(at) = at
                    && next.as_ref().is_none_or(|(b, _, _)| at < *b)
                {
                    next = Some((at, kind, t));
                }
            }
        }
    }
    if agent.is_none() {
        shown_records = task_records;
    }
    let next = next.map(|(at, kind, t)| {
        (
            at,
            NextTimer {
                kind,
                task_id: t.task_id.to_owned(),
                at: at.text(),
                title: t.title.to_owned(),
                assignee_agent_id: t.assignee_agent_id.map(str::to_owned),
            },
        )
    });

    let no_open_blockers = !any_blocking_task
        && !all_assignments.iter().any(|a| a.blocking)
        && !deps.iter().any(|d| d.blocking)
        && !feedback.iter().any(|f| f.status == "pending");
    let all_agents_proven = !roster.agents.is_empty() && pending.is_empty();
    let wave_may_close =
        all_agents_proven && no_open_blockers && active_attempt.is_none() && rerun.is_none();
    let completed = wave_may_close;

    // Blocking edge (§10.8): the wave's, scoped to the running attempt's agents when one
    // runs, and the agent's when the view is for one agent.
    let wave_edge = if completed {
        None
    } else {
        blocking_edge(
            wave_firsts,
            all_assignments
                .iter()
                .filter(|a| {
                    !scoped
                        || in_sel(a.assigned_agent_id.as_deref())
                        || in_sel(Some(&a.source_agent_id))
                })
                .collect(),
            deps.iter()
                .find(|d| !scoped || in_sel(d.assigned_agent_id.as_deref())),
            rerun.filter(|_| !scoped),
        )
    };
    let blocking_edge = match agent {
        Some(_) if completed => None,
        Some(a) => blocking_edge(
            agent_firsts,
            all_assignments
                .iter()
                .filter(|x| assignment_concerns(x, a))
                .collect(),
            deps.iter()
                .find(|d| d.assigned_agent_id.as_deref() == Some(a)),
            rerun,
        ),
        None => wave_edge.clone(),
    };

    // Logical agents.
    let logical_agents: Vec<LogicalAgent<'a>> = outcomes
        .iter()
        .zip(per_agent)
        .filter(|((a, _), _)| agent.is_none_or(|id| a.id == id))
        .map(|((roster_agent, out), tasks)| {
            logical_agent(
                roster_agent,
                *out,
                &selection,
                tasks,
                &all_assignments,
                &deps,
                roster,
                control,
            )
        })
        .collect();

    let execution_state = if active_attempt.is_some() {
        "active"
    } else if completed
        || logical_agents
            .iter()
            .any(|a| a.execution_state == "settled" || a.closure_state == "passed")
    {
        "settled"
    } else {
        "pending"
    };
    let controller_state = if execution_state == "active" {
        "active"
    } else {
        "idle"
    };
    let closure_state =
        if logical_agents.iter().any(|a| a.closure_state == "failed") || blocking_edge.is_some() {
            "blocked"
        } else if completed || logical_agents.iter().all(|a| a.closure_state == "passed") {
            "passed"
        } else if execution_state == "active"
            || logical_agents
                .iter()
                .any(|a| a.closure_state == "evaluating")
        {
            "evaluating"
        } else {
            "pending"
        };
    let phase = if completed {
        "completed"
    } else if active_attempt.is_some() {
        "running"
    } else {
        match wave_edge.as_ref().map(|e| e.kind) {
            Some("human-input" | "human-escalation" | "clarification") => "clarifying",
            Some(_) => "blocked",
            None if !control.attempts.is_empty() => "running",
            None => "planned",
        }
    };

    let next_timer = if completed {
        None
    } else {
        next.map(|(_, t)| t)
    };

    WaveStatus {
        lane: inputs.lane,
        wave: inputs.wave,
        agent_id: agent,
        phase,
        execution_state,
        closure_state,
        controller_state,
        blocking_edge,
        logical_agents,
        task_records: shown_records,
        feedback_by_id,
        helper_assignments: all_assignments
            .into_iter()
            .filter(|a| a.blocking && agent.is_none_or(|id| assignment_concerns(a, id)))
            .collect(),
        // Outbound tickets name no local agent, so an agent's view has none.
        dependencies: deps
            .into_iter()
            .filter(|d| agent.is_none_or(|id| d.assigned_agent_id.as_deref() == Some(id)))
            .collect(),
        proof_bundles: control
            .proof_bundles
            .iter()
            .filter(|b| agent.is_none_or(|id| b.agent_id == id))
            .collect(),
        feedback_requests: feedback,
        selection_source: selection.source,
        rerun_request: rerun,
        next_timer,
        active_attempt,
        closure_eligibility: ClosureEligibility {
            all_agents_proven,
            no_open_blockers,
            wave_may_close,
            owned_slice_proven_agent_ids: proven,
            pending_agent_ids: pending,
        },
        signals: None,
        recorded_signals: &control.signals,
        signal_tasks,
        now_ms,
    }
}

/// What one agent's tasks say, gathered in the single task pass.
#[derive(Debug, Clone, Default)]
struct AgentTasks<'a> {
    task_ids: Vec<&'a str>,
    blocking_title: Option<&'a str>,
    working_title: Option<&'a str>,
}

#[allow(clippy::too_many_arguments)]
fn logical_agent<'a>(
    agent: &RosterAgent,
    out: Outcome,
    selection: &Selection,
    tasks: AgentTasks<'a>,
    assignments: &[Assignment],
    deps: &[Dependency<'_>],
    roster: &Roster,
    control: &ControlState,
) -> LogicalAgent<'a> {
    let id = agent.id.as_str();
    let selected = selection.agent_ids.iter().any(|s| s == id);
    let by_attempt = selection.source == "active-attempt" && selected;
    let helper = assignments
        .iter()
        .find(|a| a.blocking && a.assigned_agent_id.as_deref() == Some(id));
    let dependency = deps
        .iter()
        .find(|d| d.direction == "inbound" && d.assigned_agent_id.as_deref() == Some(id));
    let satisfied = out.exit_code == Some(0) && out.proof_met;
    let done_state = if roster.is_closure_role(id) {
        "closed"
    } else {
        "satisfied"
    };
    let (state, reason, closure_state): (&'static str, Option<String>, &'static str) = if by_attempt
    {
        (
            "working",
            Some(
                selection
                    .detail
                    .clone()
                    .unwrap_or_else(|| "Selected by the active launcher attempt.".into()),
            ),
            "evaluating",
        )
    } else if selected {
        (
            "needs-rerun",
            Some("Selected by active rerun request.".into()),
            "failed",
        )
    } else if let Some(title) = tasks.working_title {
        ("working", Some(title.to_owned()), "evaluating")
    } else if tasks.blocking_title.is_some() || helper.is_some() || dependency.is_some() {
        let reason = tasks
            .blocking_title
            .map(str::to_owned)
            .or_else(|| helper.map(|h| h.assignment_detail.clone()))
            .or_else(|| dependency.map(|d| d.summary.to_owned()));
        ("blocked", reason, "blocked")
    } else if satisfied {
        (
            done_state,
            Some("Latest attempt satisfied current control-plane state.".into()),
            "passed",
        )
    } else if let Some(code) = out.exit_code.filter(|c| *c != 0) {
        (
            "needs-rerun",
            Some(format!("Latest attempt exited with code {code}.")),
            "failed",
        )
    } else if out.exit_code == Some(0) {
        (
            "needs-rerun",
            Some("Latest attempt exited 0 without meeting its proof.".into()),
            "failed",
        )
    } else {
        ("planned", None, "pending")
    };
    let execution_state = if by_attempt {
        "active"
    } else if out.exit_code.is_some() {
        "settled"
    } else {
        "pending"
    };
    LogicalAgent {
        agent_id: id.to_owned(),
        state,
        reason: reason.filter(|r| !r.is_empty()),
        execution_state,
        closure_state,
        task_ids: tasks.task_ids,
        selected_for_rerun: selected && selection.source != "active-attempt",
        selected_for_active_attempt: by_attempt,
        active_proof_bundle_ids: control
            .proof_bundles
            .iter()
            .filter(|b| b.agent_id == id && b.state == BundleState::Active)
            .map(|b| b.proof_bundle_id.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_format_like_the_general_formatter() {
        let mut ms = 0i64;
        let max = jiff::Timestamp::MAX.as_millisecond();
        let end = 253_402_128_000_000;
        let mut samples = vec![
            -1,
            0,
            1,
            951_782_400_000,
            end - 1,
            end,
            max - 1,
            max,
            max + 1,
        ];
        while ms < end {
            samples.push(ms);
            ms = ms * 3 + 7_777_777;
        }
        // Every month boundary and leap day: days in steps that cycle through the calendar.
        for day in (0..2_932_895i64).step_by(29) {
            samples.push(day * 86_400_000 + (day * 1_001) % 86_400_000);
        }
        for ms in samples {
            let general = jiff::Timestamp::from_millisecond(ms)
                .map(time::format)
                .unwrap_or_default();
            assert_eq!(Stamp(ms).text(), general, "{ms}");
        }
    }

    fn rec(line: &str) -> CoordRecord {
        CoordRecord::from_line(line, "2026-01-01T00:00:00.000Z").expect("valid record")
    }

    fn roster() -> Roster {
        let agent = |id: &str, caps: &[&str]| RosterAgent {
            id: id.into(),
            title: id.into(),
            capabilities: caps.iter().map(|c| (*c).to_owned()).collect(),
        };
        Roster {
            agents: vec![
                agent("A1", &[]),
                agent("A2", &["docs"]),
                agent("A3", &["docs"]),
            ],
            ..Roster::default()
        }
    }

    fn reduce_lines(lines: &[&str]) -> Vec<Assignment> {
        let records: Vec<CoordRecord> = lines.iter().map(|l| rec(l)).collect();
        let roster = roster();
        let control = ControlState::default();
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
        let status = reduce(&inputs);
        status.helper_assignments
    }

    const ASK: &str = r#"{"id":"ask","kind":"request","lane":"main","agentId":"A1","source":"agent","targets":["capability:docs"],"createdAt":"2026-01-01T00:00:00.000Z"}"#;

    #[test]
    fn capability_targets_go_to_the_least_busy_capable_agent() {
        // A2 owns an open task, so A3 (alphabetically later) is less busy.
        let busy = r#"{"id":"work","kind":"blocker","lane":"main","agentId":"A2","source":"agent","createdAt":"2026-01-01T00:00:01.000Z"}"#;
        let assignments = reduce_lines(&[ASK, busy]);
        assert_eq!(assignments.len(), 1);
        assert_eq!(assignments[0].assigned_agent_id.as_deref(), Some("A3"));
        assert_eq!(
            assignments[0].assignment_reason.as_str(),
            "least-busy-capability"
        );
        let assignments = reduce_lines(&[ASK]);
        assert_eq!(assignments[0].assigned_agent_id.as_deref(), Some("A2"));
    }

    #[test]
    fn signal_tasks_gathered_in_the_pass_are_those_read_from_the_tasks() {
        let kinds = [
            "request",
            "blocker",
            "clarification-request",
            "human-feedback",
            "human-escalation",
            "evidence",
        ];
        let statuses = [
            "open",
            "acknowledged",
            "in_progress",
            "resolved",
            "cancelled",
        ];
        let records: Vec<CoordRecord> = (0..120)
            .map(|i| {
                rec(&format!(
                    r#"{{"id":"t-{i}","kind":"{}","lane":"main","agentId":"{}","source":"agent","status":"{}","targets":{},"summary":"{}","detail":"d{i}","createdAt":"2026-01-01T00:00:{:02}.000Z"}}"#,
                    kinds[i % kinds.len()],
                    ["A1", "A2", "A0", "A3"][i % 4],
                    statuses[i % statuses.len()],
                    ["[]", r#"["agent:A3"]"#, r#"["agent:A9","agent:A1"]"#][i % 3],
                    ["", "s"][i % 2],
                    (i * 7) % 60,
                ))
            })
            .collect();
        let roster = roster();
        let control = ControlState::default();
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
        for agent in [None, Some("A1"), Some("A3")] {
            let walked = reduce_with(&inputs, agent, false);
            let gathered = reduce_with(&inputs, agent, true);
            let (walked, gathered) = (
                walked.signal_inputs("s").tasks,
                gathered.signal_inputs("s").tasks,
            );
            assert!(!walked.is_empty());
            assert_eq!(walked, gathered, "{agent:?}");
            // Only the first task of the wave and of each agent has a title.
            assert!(walked.iter().filter(|t| !t.title.is_empty()).count() < walked.len());
        }
    }

    #[test]
    fn resolved_by_policy_closes_the_assignment() {
        let policy = r#"{"id":"p","kind":"resolved-by-policy","lane":"main","agentId":"A1","source":"agent","dependsOn":["ask"],"createdAt":"2026-01-01T00:00:02.000Z"}"#;
        assert_eq!(reduce_lines(&[ASK]).len(), 1);
        assert!(reduce_lines(&[ASK, policy]).is_empty());
    }
}
