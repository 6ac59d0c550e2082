//! Signal snapshots (§10.7): the wave signal and one signal per agent, built from the control
//! status of a wave, and their versioning — a snapshot's `version` grows and its `changedAt`
//! moves only when its `comparable` part differs from the previous snapshot's.
//!
//! Owns: which signal a wave or agent gets, its reason and targets, versioning and the
//! `shouldWake` rule. Must not: do I/O or read the clock (the time is a parameter). The
//! previous snapshot is passed in: the runner records every changed snapshot as a
//! `wave_signal` / `agent_signal` control-plane event and versions from the latest one, so
//! versions are a function of the canonical log, not of the projection files.

use serde_json::{Map, Value, json};

/// Signals an agent should wake for when it has not acknowledged them.
pub const ACTIONABLE_SIGNALS: [&str; 6] = [
    "feedback-requested",
    "feedback-answered",
    "coordination-action",
    "resume-ready",
    "completed",
    "failed",
];

const ACTIONABLE_TASK_TYPES: [&str; 5] = [
    "request",
    "blocker",
    "clarification",
    "human-input",
    "escalation",
];

const ACTIONABLE_TASK_STATES: [&str; 3] = ["open", "working", "input-required"];

/// A control-status task as signals read it, borrowed from the status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalTask<'a> {
    /// Task id.
    pub task_id: &'a str,
    /// Task type (`request`, `clarification`, `human-input`, …).
    pub task_type: &'a str,
    /// State (`open`, `working`, `input-required`, …).
    pub state: &'a str,
    /// Title.
    pub title: &'a str,
    /// Owner.
    pub owner_agent_id: Option<&'a str>,
    /// Assignee.
    pub assignee_agent_id: Option<&'a str>,
}

/// Whether `value`, trimmed, is one of `set` ignoring ASCII case (the exact spelling is
/// checked first).
fn one_of(value: &str, set: &[&str]) -> bool {
    set.contains(&value) || {
        let value = value.trim();
        set.iter().any(|s| s.eq_ignore_ascii_case(value))
    }
}

impl SignalTask<'_> {
    fn actionable(&self) -> bool {
        one_of(self.task_type, &ACTIONABLE_TASK_TYPES)
            && one_of(self.state, &ACTIONABLE_TASK_STATES)
    }

    fn concerns(&self, agent: &str) -> bool {
        self.owner_agent_id == Some(agent) || self.assignee_agent_id == Some(agent)
    }
}

/// A human feedback request as signals read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalFeedback {
    /// Request id.
    pub id: String,
    /// Asking agent.
    pub agent_id: String,
    /// `pending` or `answered`.
    pub status: String,
    /// Question.
    pub question: String,
    /// Answer text.
    pub response_text: String,
}

/// A logical agent as signals read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalAgent {
    /// Agent id.
    pub agent_id: String,
    /// Logical state (`working`, `needs-rerun`, `blocked`, …).
    pub state: String,
    /// Why.
    pub reason: Option<String>,
    /// Selected by a rerun request or relaunch plan.
    pub selected_for_rerun: bool,
    /// Selected by the running attempt.
    pub selected_for_active_attempt: bool,
}

/// The blocking edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalEdge {
    /// Kind.
    pub kind: String,
    /// Id.
    pub id: String,
    /// Agent.
    pub agent_id: Option<String>,
    /// Detail.
    pub detail: String,
}

impl SignalEdge {
    fn value(&self) -> Value {
        json!({"kind": self.kind, "id": self.id, "agentId": self.agent_id, "detail": self.detail})
    }
}

/// What signals are built from (the control status of one wave).
#[derive(Debug, Clone, Default)]
pub struct SignalInputs<'a> {
    /// Lane.
    pub lane: String,
    /// Wave.
    pub wave: u64,
    /// Phase.
    pub phase: String,
    /// Blocking edge.
    pub blocking: Option<SignalEdge>,
    /// The running attempt's number.
    pub active_attempt: Option<u64>,
    /// The running attempt's selected agents.
    pub active_selected: Vec<String>,
    /// The active rerun request's selected agents.
    pub rerun_selected: Vec<String>,
    /// `active-attempt`, `rerun-request`, `relaunch-plan` or `none`.
    pub selection_source: String,
    /// Tasks in order.
    pub tasks: Vec<SignalTask<'a>>,
    /// Feedback requests.
    pub feedback: Vec<SignalFeedback>,
    /// Logical agents in plan order.
    pub agents: Vec<SignalAgent>,
    /// The lane state directory, repository-relative (artifact paths are under it).
    pub state_dir: String,
}

/// Trims, drops empty entries, de-duplicates and sorts.
fn id_set<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    // Sorted by their first 16 bytes as a number, then by the whole text: the number never
    // orders two texts against their byte order, so the order is the texts' own, and most
    // comparisons of a long list read no text.
    let mut v: Vec<(u128, &str)> = values
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| (prefix_key(s), s))
        .collect();
    v.sort_unstable();
    v.dedup_by(|a, b| a.1 == b.1);
    v.into_iter().map(|(_, s)| s.to_owned()).collect()
}

/// The first 16 bytes of `s` as a big-endian number, zero-padded: `a <= b` implies
/// `prefix_key(a) <= prefix_key(b)`.
fn prefix_key(s: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let head = s.as_bytes().get(..16).unwrap_or(s.as_bytes());
    if let Some(dst) = bytes.get_mut(..head.len()) {
        dst.copy_from_slice(head);
    }
    u128::from_be_bytes(bytes)
}

fn non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

/// A file-name-safe agent id, as signal paths use it.
pub fn signal_file_id(agent: &str) -> String {
    let mut out = String::new();
    for c in agent.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        "unknown".into()
    } else {
        t.to_owned()
    }
}

fn selected_ids(i: &SignalInputs<'_>) -> Vec<String> {
    if !i.active_selected.is_empty() {
        return id_set(i.active_selected.iter().map(String::as_str));
    }
    if !i.rerun_selected.is_empty() {
        return id_set(i.rerun_selected.iter().map(String::as_str));
    }
    id_set(
        i.agents
            .iter()
            .filter(|a| a.selected_for_rerun || a.selected_for_active_attempt)
            .map(|a| a.agent_id.as_str()),
    )
}

fn terminal(phase: &str) -> Option<&'static str> {
    match phase.trim().to_lowercase().as_str() {
        "completed" => Some("completed"),
        "failed" | "timed_out" | "timed-out" => Some("failed"),
        _ => None,
    }
}

fn wave_artifacts(i: &SignalInputs<'_>) -> Value {
    let s = &i.state_dir;
    let w = i.wave;
    json!({
        "signalPath": format!("{s}/signals/wave-{w}.json"),
        "messageBoardPath": format!("{s}/messageboards/wave-{w}.md"),
        "sharedSummaryPath": format!("{s}/inboxes/wave-{w}/shared-summary.md"),
        "dashboardPath": format!("{s}/dashboards/wave-{w}.json"),
    })
}

/// The wave signal's core (without version fields).
pub fn wave_signal(i: &SignalInputs<'_>) -> Map<String, Value> {
    let phase = non_empty(&i.phase).unwrap_or("unknown");
    let blocking = i.blocking.as_ref();
    let selected = selected_ids(i);
    let pending: Vec<&SignalFeedback> = i
        .feedback
        .iter()
        .filter(|f| f.status.trim().eq_ignore_ascii_case("pending"))
        .collect();
    let answered: Vec<&SignalFeedback> = i
        .feedback
        .iter()
        .filter(|f| f.status.trim().eq_ignore_ascii_case("answered"))
        .collect();
    let edge_kind = blocking.map(|b| b.kind.trim().to_lowercase());
    let action = i.tasks.iter().find(|t| t.actionable());
    let w = i.wave;
    let (status, signal, reason, targets): (&str, &str, String, Vec<String>) =
        if let Some(t) = terminal(phase) {
            let reason = if t == "completed" {
                format!("Wave {w} completed.")
            } else {
                format!("Wave {w} entered a terminal failure state.")
            };
            (t, t, reason, Vec::new())
        } else if !pending.is_empty()
            || matches!(
                edge_kind.as_deref(),
                Some("human-input" | "human-escalation")
            )
        {
            let reason = pending
                .first()
                .and_then(|f| non_empty(&f.question))
                .or_else(|| blocking.and_then(|b| non_empty(&b.detail)))
                .unwrap_or("Human feedback is required before the wave can continue.")
                .to_owned();
            (
                "blocked",
                "feedback-requested",
                reason,
                id_set(pending.iter().map(|f| f.agent_id.as_str())),
            )
        } else if let Some(first) = answered.first() {
            let reason = non_empty(&first.response_text)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Human feedback {} was answered.", first.id));
            (
                "running",
                "feedback-answered",
                reason,
                id_set(answered.iter().map(|f| f.agent_id.as_str())),
            )
        } else if let Some(t) = action {
            (
                if blocking.is_some() {
                    "blocked"
                } else {
                    "running"
                },
                "coordination-action",
                non_empty(t.title)
                    .unwrap_or("Targeted coordination action is pending.")
                    .to_owned(),
                id_set(
                    [t.assignee_agent_id, t.owner_agent_id]
                        .into_iter()
                        .flatten(),
                ),
            )
        } else if i.active_attempt.is_none()
            && !selected.is_empty()
            && matches!(
                i.selection_source.as_str(),
                "rerun-request" | "relaunch-plan"
            )
        {
            (
                "running",
                "resume-ready",
                format!("Wave {w} is ready to relaunch selected agents."),
                selected,
            )
        } else {
            let reason = blocking
                .and_then(|b| non_empty(&b.detail))
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    if i.active_attempt.is_some() {
                        "Wave is still running.".into()
                    } else {
                        "No new actionable signal.".into()
                    }
                });
            (
                if blocking.is_some() {
                    "blocked"
                } else {
                    "running"
                },
                if i.active_attempt.is_some() || blocking.is_some() {
                    "waiting"
                } else {
                    "stable"
                },
                reason,
                selected,
            )
        };
    let mut m = Map::new();
    m.insert("kind".into(), "wave-signal".into());
    m.insert("lane".into(), i.lane.clone().into());
    m.insert("wave".into(), w.into());
    m.insert("status".into(), status.into());
    m.insert("phase".into(), phase.into());
    m.insert("signal".into(), signal.into());
    m.insert("reason".into(), reason.into());
    m.insert("attempt".into(), i.active_attempt.unwrap_or(0).into());
    m.insert(
        "blocking".into(),
        blocking.map_or(Value::Null, SignalEdge::value),
    );
    m.insert(
        "selectionSource".into(),
        non_empty(&i.selection_source).unwrap_or("none").into(),
    );
    m.insert("targetAgentIds".into(), targets.into());
    m.insert("artifacts".into(), wave_artifacts(i));
    m
}

/// One agent's signal core (without version fields).
pub fn agent_signal(i: &SignalInputs<'_>, a: &SignalAgent) -> Map<String, Value> {
    let id = a.agent_id.as_str();
    let phase = non_empty(&i.phase).unwrap_or("unknown");
    let pending: Vec<&SignalFeedback> = i
        .feedback
        .iter()
        .filter(|f| f.status.trim().eq_ignore_ascii_case("pending") && f.agent_id.trim() == id)
        .collect();
    let answered: Vec<&SignalFeedback> = i
        .feedback
        .iter()
        .filter(|f| f.status.trim().eq_ignore_ascii_case("answered") && f.agent_id.trim() == id)
        .collect();
    let mut mine = i.tasks.iter().filter(|t| t.concerns(id) && t.actionable());
    let action = mine.next();
    let blocking = i
        .blocking
        .as_ref()
        .filter(|b| b.agent_id.as_deref() == Some(id));
    let pending_tasks = id_set(action.into_iter().chain(mine).map(|t| t.task_id));
    let reason_or = |d: &str| {
        a.reason
            .as_deref()
            .and_then(non_empty)
            .unwrap_or(d)
            .to_owned()
    };
    let w = i.wave;
    let (signal, status, reason): (&str, &str, String) = match terminal(phase) {
        Some("completed") => ("completed", "completed", format!("Wave {w} completed.")),
        Some(_) => (
            "failed",
            "failed",
            reason_or(&format!("Wave {w} entered a terminal failure state.")),
        ),
        None => {
            if let Some(f) = pending.first() {
                (
                    "feedback-requested",
                    "blocked",
                    non_empty(&f.question)
                        .unwrap_or("Human feedback is pending.")
                        .to_owned(),
                )
            } else if let Some(f) = answered.first() {
                (
                    "feedback-answered",
                    "running",
                    non_empty(&f.response_text)
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("Human feedback {} was answered.", f.id)),
                )
            } else if let Some(t) = action {
                (
                    "coordination-action",
                    if t.state.trim().eq_ignore_ascii_case("input-required") {
                        "blocked"
                    } else {
                        "running"
                    },
                    non_empty(t.title)
                        .unwrap_or("Targeted coordination action is pending.")
                        .to_owned(),
                )
            } else if a.state == "needs-rerun" {
                (
                    "failed",
                    "failed",
                    reason_or(&format!(
                        "Agent {id} needs another run before the wave can complete."
                    )),
                )
            } else if a.selected_for_rerun && !a.selected_for_active_attempt {
                (
                    "resume-ready",
                    "running",
                    format!("Agent {id} was selected for the next resume pass."),
                )
            } else if a.state == "working" || a.selected_for_active_attempt {
                (
                    "waiting",
                    "running",
                    reason_or(&format!("Agent {id} is currently working.")),
                )
            } else if a.state == "blocked" {
                (
                    "waiting",
                    "blocked",
                    reason_or("Agent is blocked on an external dependency."),
                )
            } else {
                ("stable", "waiting", "No new actionable signal.".into())
            }
        }
    };
    let s = &i.state_dir;
    let file = signal_file_id(id);
    let mut m = Map::new();
    m.insert("kind".into(), "agent-signal".into());
    m.insert("lane".into(), i.lane.clone().into());
    m.insert("wave".into(), w.into());
    m.insert("agentId".into(), id.into());
    m.insert("status".into(), status.into());
    m.insert("phase".into(), phase.into());
    m.insert("signal".into(), signal.into());
    m.insert("reason".into(), reason.into());
    m.insert("attempt".into(), i.active_attempt.unwrap_or(0).into());
    m.insert(
        "logicalState".into(),
        non_empty(&a.state).unwrap_or("planned").into(),
    );
    m.insert("selectedForRerun".into(), a.selected_for_rerun.into());
    m.insert(
        "selectedForActiveAttempt".into(),
        a.selected_for_active_attempt.into(),
    );
    m.insert(
        "blocking".into(),
        blocking.map_or(Value::Null, SignalEdge::value),
    );
    m.insert("pendingTaskIds".into(), pending_tasks.into());
    m.insert(
        "pendingCoordinationAction".into(),
        action.map_or(Value::Null, |t| {
            json!({"taskId": t.task_id, "taskType": t.task_type, "state": t.state, "title": t.title})
        }),
    );
    m.insert(
        "openFeedbackRequestIds".into(),
        id_set(pending.iter().map(|f| f.id.as_str())).into(),
    );
    m.insert(
        "answeredFeedbackRequestIds".into(),
        id_set(answered.iter().map(|f| f.id.as_str())).into(),
    );
    m.insert(
        "artifacts".into(),
        json!({
            "signalPath": format!("{s}/signals/wave-{w}/{file}.json"),
            "ackPath": format!("{s}/signals/wave-{w}/acks/{file}.json"),
            "messageBoardPath": format!("{s}/messageboards/wave-{w}.md"),
            "sharedSummaryPath": format!("{s}/inboxes/wave-{w}/shared-summary.md"),
            "inboxPath": format!("{s}/inboxes/wave-{w}/{id}.md"),
        }),
    );
    m
}

fn pick(snapshot: &Map<String, Value>, keys: &[&str]) -> Value {
    Value::Object(
        keys.iter()
            .map(|k| {
                (
                    (*k).to_owned(),
                    snapshot.get(*k).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

/// The part of a wave signal whose change bumps its version.
pub fn wave_comparable(snapshot: &Map<String, Value>) -> Value {
    pick(snapshot, &WAVE_COMPARABLE)
}

/// The part of an agent signal whose change bumps its version.
pub fn agent_comparable(snapshot: &Map<String, Value>) -> Value {
    let mut v = pick(snapshot, &AGENT_COMPARABLE);
    // An agent signal has no targets of its own; compare them as an empty set.
    if let Value::Object(m) = &mut v
        && m.get("targetAgentIds").is_none_or(Value::is_null)
    {
        m.insert("targetAgentIds".into(), Value::Array(Vec::new()));
    }
    v
}

/// A versioned snapshot and whether it changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    /// The snapshot with `version`, `changedAt` and `comparable`.
    pub snapshot: Map<String, Value>,
    /// The comparable part differs from the previous snapshot's (or there was none).
    pub changed: bool,
}

/// Versions `core` against `previous` (the last recorded snapshot, if any): the version grows
/// (from 1) and `changedAt` becomes `now` only when the comparable part differs.
pub fn versioned(
    core: Map<String, Value>,
    comparable: Value,
    previous: Option<(&Map<String, Value>, Value)>,
    now: &str,
) -> Versioned {
    let prev_version = previous
        .as_ref()
        .and_then(|(p, _)| p.get("version"))
        .and_then(Value::as_u64)
        .filter(|v| *v > 0);
    let prev_changed = previous
        .as_ref()
        .and_then(|(p, _)| p.get("changedAt"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned);
    let changed = previous.as_ref().is_none_or(|(_, c)| *c != comparable);
    let version = match prev_version {
        Some(v) if !changed => v,
        Some(v) => v + 1,
        None => 1,
    };
    let changed_at = match prev_changed {
        Some(at) if !changed && prev_version.is_some() => at,
        _ => now.to_owned(),
    };
    let mut snapshot = core;
    snapshot.insert("version".into(), version.into());
    snapshot.insert("changedAt".into(), changed_at.into());
    snapshot.insert("comparable".into(), comparable);
    Versioned { snapshot, changed }
}

/// An agent's acknowledgement (`acks/<id>.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalAck {
    /// Agent.
    pub agent_id: Option<String>,
    /// Acknowledged version.
    pub version: u64,
    /// Acknowledged signal.
    pub signal: Option<String>,
    /// When.
    pub observed_at: Option<String>,
}

impl SignalAck {
    /// Reads an ack file's JSON; `None` when it is not an object.
    pub fn from_value(v: &Value) -> Option<Self> {
        let m = v.as_object()?;
        let text = |k: &str| {
            m.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let version = match m.get("version") {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            _ => 0,
        };
        Some(SignalAck {
            agent_id: text("agentId"),
            version,
            signal: text("signal"),
            observed_at: text("observedAt"),
        })
    }
}

/// Adds `ack` and `shouldWake` (an actionable signal newer than the acknowledged version).
pub fn with_ack(mut snapshot: Map<String, Value>, ack: Option<&SignalAck>) -> Map<String, Value> {
    let version = snapshot.get("version").and_then(Value::as_u64).unwrap_or(0);
    let actionable = snapshot
        .get("signal")
        .and_then(Value::as_str)
        .is_some_and(|s| ACTIONABLE_SIGNALS.contains(&s.trim().to_lowercase().as_str()));
    snapshot.insert(
        "ack".into(),
        ack.map_or(Value::Null, |a| {
            json!({"agentId": a.agent_id, "version": a.version, "signal": a.signal,
                   "observedAt": a.observed_at})
        }),
    );
    snapshot.insert(
        "shouldWake".into(),
        (actionable && ack.map_or(0, |a| a.version) < version).into(),
    );
    snapshot
}

/// The snapshot as recorded in a control-plane event: without its `comparable` part.
pub fn persisted(snapshot: &Map<String, Value>) -> Map<String, Value> {
    let mut m = snapshot.clone();
    // Keep the order of the remaining fields (`ack` before `shouldWake`).
    m.shift_remove("comparable");
    m
}

/// The control-plane entity of a wave's signal (`wave-N`).
pub fn wave_entity(wave: u64) -> String {
    format!("wave-{wave}")
}

/// The control-plane entity of an agent's signal (`wave-N-agent-<id>`).
pub fn agent_entity(wave: u64, agent: &str) -> String {
    format!("wave-{wave}-agent-{agent}")
}

/// The `signals` block of the control status (§10.8): the wave signal and one signal per
/// logical agent, as their files hold them (without the `comparable` part).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SignalBlock {
    /// The wave signal.
    pub wave: Map<String, Value>,
    /// Each logical agent's signal, with `ack` and `shouldWake`, in logical-agent order.
    pub agents: Vec<Map<String, Value>>,
}

/// A signal snapshot whose comparable part differs from the last recorded one: what a
/// `wave_signal` / `agent_signal` event would record (its data is the snapshot in the block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedSignal {
    /// `wave_signal` or `agent_signal`.
    pub entity_type: &'static str,
    /// `wave-N` or `wave-N-agent-<id>`.
    pub entity_id: String,
    /// `None` for the wave signal, else the index of the agent's signal in the block.
    pub agent_index: Option<usize>,
}

/// Every signal of a wave, versioned, and those that changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalSync {
    /// The block as the status shows it.
    pub block: SignalBlock,
    /// Snapshots whose comparable part changed (the wave's first), to be recorded.
    pub changed: Vec<ChangedSignal>,
}

impl SignalSync {
    /// The snapshot a changed signal records.
    pub fn data(&self, c: &ChangedSignal) -> Option<&Map<String, Value>> {
        match c.agent_index {
            None => Some(&self.block.wave),
            Some(i) => self.block.agents.get(i),
        }
    }
}

const WAVE_COMPARABLE: [&str; 8] = [
    "status",
    "phase",
    "signal",
    "reason",
    "attempt",
    "blocking",
    "selectionSource",
    "targetAgentIds",
];

const AGENT_COMPARABLE: [&str; 14] = [
    "status",
    "phase",
    "signal",
    "reason",
    "attempt",
    "targetAgentIds",
    "logicalState",
    "selectedForRerun",
    "selectedForActiveAttempt",
    "blocking",
    "openFeedbackRequestIds",
    "answeredFeedbackRequestIds",
    "pendingCoordinationAction",
    "pendingTaskIds",
];

/// Whether two snapshots have the same comparable part ([`wave_comparable`] /
/// [`agent_comparable`] with these `keys`), compared in place. A missing key is `null`, except
/// an agent signal's `targetAgentIds`, which is an empty set when missing or null.
fn same_comparable(a: &Map<String, Value>, b: &Map<String, Value>, keys: &[&str]) -> bool {
    static EMPTY: Value = Value::Array(Vec::new());
    let agent = keys.len() == AGENT_COMPARABLE.len();
    fn get<'m>(m: &'m Map<String, Value>, k: &str, empty_set: bool) -> Option<&'m Value> {
        match m.get(k) {
            None | Some(Value::Null) if empty_set => Some(&EMPTY),
            v => v,
        }
    }
    keys.iter().all(|k| {
        let empty_set = agent && *k == "targetAgentIds";
        let (x, y) = (get(a, k, empty_set), get(b, k, empty_set));
        x == y || (x.is_none_or(Value::is_null) && y.is_none_or(Value::is_null))
    })
}

/// Sets `version` and `changedAt` of `core` against `previous` (as [`versioned`] does, without
/// storing the comparable part) and says whether it changed.
fn version_in_place(
    core: &mut Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    keys: &[&str],
    now: &str,
) -> bool {
    let prev_version = previous
        .and_then(|p| p.get("version"))
        .and_then(Value::as_u64)
        .filter(|v| *v > 0);
    let prev_changed = previous
        .and_then(|p| p.get("changedAt"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let changed = previous.is_none_or(|p| !same_comparable(core, p, keys));
    let version = match prev_version {
        Some(v) if !changed => v,
        Some(v) => v + 1,
        None => 1,
    };
    let changed_at = match prev_changed {
        Some(at) if !changed && prev_version.is_some() => at.to_owned(),
        _ => now.to_owned(),
    };
    core.insert("version".into(), version.into());
    core.insert("changedAt".into(), changed_at.into());
    changed
}

/// Builds the wave's and each agent's signal from `inputs`, versions each against the last
/// recorded snapshot of its entity in `recorded` (keyed by [`wave_entity`] / [`agent_entity`])
/// and adds each agent's acknowledgement (`ack` is asked for each agent id). Nothing is
/// recorded here: the snapshots that changed are listed for the caller to record. The
/// snapshots are as [`versioned`] then [`persisted`] make them, built without copies.
pub fn sync(
    inputs: &SignalInputs<'_>,
    recorded: &std::collections::BTreeMap<String, Map<String, Value>>,
    mut ack: impl FnMut(&str) -> Option<SignalAck>,
    now: &str,
) -> SignalSync {
    let mut out = SignalSync::default();
    let mut wave = wave_signal(inputs);
    let entity = wave_entity(inputs.wave);
    if version_in_place(&mut wave, recorded.get(&entity), &WAVE_COMPARABLE, now) {
        out.changed.push(ChangedSignal {
            entity_type: "wave_signal",
            entity_id: entity,
            agent_index: None,
        });
    }
    out.block.wave = wave;
    for (index, a) in inputs.agents.iter().enumerate() {
        let mut core = agent_signal(inputs, a);
        let entity = agent_entity(inputs.wave, &a.agent_id);
        let changed = version_in_place(&mut core, recorded.get(&entity), &AGENT_COMPARABLE, now);
        let snapshot = with_ack(core, ack(&a.agent_id).as_ref());
        if changed {
            out.changed.push(ChangedSignal {
                entity_type: "agent_signal",
                entity_id: entity,
                agent_index: Some(index),
            });
        }
        out.block.agents.push(snapshot);
    }
    out
}

fn text_of<'m>(m: &'m Map<String, Value>, key: &str) -> Option<&'m str> {
    m.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The one-line form of a signal (§10.7): `signal=… lane=… wave=… phase=… status=…
/// blocking=… attempt=… agent(s)=… version=… should_wake=…`. `agent` names the agent the view
/// is for (then `agent=<id>`; otherwise `agents=` lists the signal's targets, or `none`).
pub fn status_line(snapshot: &Map<String, Value>, agent: Option<&str>) -> String {
    let target = match agent.map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => format!("agent={a}"),
        None => {
            let ids = id_set(
                snapshot
                    .get("targetAgentIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
            if ids.is_empty() {
                "agents=none".into()
            } else {
                format!("agents={}", ids.join(","))
            }
        }
    };
    let number = |k: &str| snapshot.get(k).and_then(Value::as_u64).unwrap_or(0);
    let should_wake = match snapshot.get("shouldWake").and_then(Value::as_bool) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "n/a",
    };
    let blocking = snapshot
        .get("blocking")
        .and_then(Value::as_object)
        .and_then(|b| text_of(b, "kind"))
        .unwrap_or("none");
    format!(
        "signal={} lane={} wave={} phase={} status={} blocking={blocking} attempt={} {target} version={} should_wake={should_wake}",
        text_of(snapshot, "signal").unwrap_or("waiting"),
        text_of(snapshot, "lane").unwrap_or("main"),
        number("wave"),
        text_of(snapshot, "phase").unwrap_or("unknown"),
        text_of(snapshot, "status").unwrap_or("running"),
        number("attempt"),
        number("version"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const T0: &str = "2026-01-01T00:00:00.000Z";
    const T1: &str = "2026-01-01T01:00:00.000Z";

    fn inputs() -> SignalInputs<'static> {
        SignalInputs {
            lane: "main".into(),
            wave: 2,
            phase: "running".into(),
            selection_source: "none".into(),
            tasks: vec![SignalTask {
                task_id: "req-1",
                task_type: "request",
                state: "open",
                title: "Need the schema",
                owner_agent_id: Some("A1"),
                assignee_agent_id: Some("A2"),
            }],
            agents: vec![
                SignalAgent {
                    agent_id: "A1".into(),
                    state: "planned".into(),
                    ..SignalAgent::default()
                },
                SignalAgent {
                    agent_id: "A3".into(),
                    state: "planned".into(),
                    ..SignalAgent::default()
                },
            ],
            state_dir: ".tmp/main-wave-launcher".into(),
            ..SignalInputs::default()
        }
    }

    #[test]
    fn a_first_sync_versions_every_signal_1_and_reports_each_as_changed() {
        let s = sync(&inputs(), &BTreeMap::new(), |_| None, T0);
        assert_eq!(s.block.wave["signal"], "coordination-action");
        assert_eq!(s.block.wave["version"], 1);
        assert_eq!(s.block.wave["changedAt"], T0);
        assert!(!s.block.wave.contains_key("comparable"));
        assert_eq!(s.block.agents.len(), 2);
        let a1 = &s.block.agents[0];
        assert_eq!(a1["signal"], "coordination-action");
        assert_eq!(a1["shouldWake"], true);
        // `ack` comes before `shouldWake`, as in the files.
        let keys: Vec<&String> = a1.keys().collect();
        assert_eq!(keys[keys.len() - 2..], ["ack", "shouldWake"]);
        assert_eq!(s.block.agents[1]["signal"], "stable");
        let entities: Vec<(&str, &str)> = s
            .changed
            .iter()
            .map(|c| (c.entity_type, c.entity_id.as_str()))
            .collect();
        assert_eq!(
            entities,
            [
                ("wave_signal", "wave-2"),
                ("agent_signal", "wave-2-agent-A1"),
                ("agent_signal", "wave-2-agent-A3")
            ]
        );
    }

    #[test]
    fn a_recorded_snapshot_keeps_its_version_until_its_comparable_part_changes() {
        let first = sync(&inputs(), &BTreeMap::new(), |_| None, T0);
        let recorded: BTreeMap<String, Map<String, Value>> = first
            .changed
            .iter()
            .map(|c| {
                let mut data = first.data(c).expect("changed snapshot").clone();
                data.insert("version".into(), 7.into());
                (c.entity_id.clone(), data)
            })
            .collect();
        let again = sync(&inputs(), &recorded, |_| None, T1);
        assert!(again.changed.is_empty());
        assert_eq!(again.block.wave["version"], 7);
        assert_eq!(again.block.wave["changedAt"], T0);
        // The request is resolved: the wave and A1 change, A3 does not.
        let mut next = inputs();
        next.tasks.clear();
        let ack = SignalAck {
            agent_id: Some("A1".into()),
            version: 8,
            signal: Some("stable".into()),
            observed_at: None,
        };
        let changed = sync(&next, &recorded, |a| (a == "A1").then(|| ack.clone()), T1);
        assert_eq!(changed.block.wave["version"], 8);
        assert_eq!(changed.block.wave["changedAt"], T1);
        assert_eq!(changed.block.agents[0]["version"], 8);
        assert_eq!(changed.block.agents[0]["ack"]["version"], 8);
        assert_eq!(changed.block.agents[1]["version"], 7);
        assert_eq!(changed.changed.len(), 2);
    }

    #[test]
    fn id_sets_are_trimmed_unique_and_in_byte_order() {
        let ids = [
            "rec-10",
            " rec-9 ",
            "rec-10",
            "",
            "   ",
            "a-very-long-common-prefix-2",
            "a-very-long-common-prefix-10",
            "a-very-long-common-prefix-",
            "a-very-long-common-prefix",
            "rec\u{0}",
            "rec",
            "é",
            "Z",
            "exactly-16-bytes",
            "exactly-16-bytes!",
        ];
        let mut expected: Vec<String> = ids
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        expected.sort();
        expected.dedup();
        assert_eq!(id_set(ids), expected);
    }

    #[test]
    fn the_status_line_names_targets_or_the_viewed_agent() {
        let s = sync(&inputs(), &BTreeMap::new(), |_| None, T0);
        assert_eq!(
            status_line(&s.block.wave, None),
            "signal=coordination-action lane=main wave=2 phase=running status=running \
             blocking=none attempt=0 agents=A1,A2 version=1 should_wake=n/a"
        );
        assert_eq!(
            status_line(&s.block.agents[1], Some("A3")),
            "signal=stable lane=main wave=2 phase=running status=waiting blocking=none \
             attempt=0 agent=A3 version=1 should_wake=no"
        );
        assert_eq!(
            status_line(&Map::new(), None),
            "signal=waiting lane=main wave=0 phase=unknown status=running blocking=none \
             attempt=0 agents=none version=0 should_wake=n/a"
        );
    }
}
