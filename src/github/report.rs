//! The input of every GitHub surface: a plain [`WaveReport`] view of one wave.
//!
//! Owns: the view's shape (its JSON form is what `wave github report --report-json` reads) and
//! the adapter from `wave control status --json` output. Must not: decide verdicts — the state
//! it carries is the engine's; this module only reshapes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a wave stands, as the engine decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportState {
    /// Closure passed: every gate passes and the wave is closed with proof.
    Passed,
    /// Waiting on a human: an open blocking request only a person can answer (human input,
    /// an escalation) stands between the wave and closure.
    AwaitingHuman,
    /// A gate fails (or a blocker stands) and no human is awaited.
    Failed,
    /// Agents are still running, or closure has not been evaluated yet.
    Running,
    /// The runner or its infrastructure failed: never a verdict about the work.
    InfraError,
}

impl ReportState {
    /// The wire name (`passed`, `awaiting-human`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::Passed => "passed",
            ReportState::AwaitingHuman => "awaiting-human",
            ReportState::Failed => "failed",
            ReportState::Running => "running",
            ReportState::InfraError => "infra-error",
        }
    }
}

/// One row of the gate table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GateRow {
    /// Gate name (`implementationGate`, `contQaGate`, …).
    pub name: String,
    /// Whether the gate passes.
    pub ok: bool,
    /// The gate's status code (`pass`, `missing-proof`, …).
    #[serde(default)]
    pub status_code: String,
    /// The agent the gate points at, if any.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// One-line detail.
    #[serde(default)]
    pub detail: String,
    /// A failure the gate mode reports without blocking closure (bootstrap mode).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
}

/// An open blocker with its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// Record or task id.
    pub id: String,
    /// Kind (`blocker`, `clarification`, `human-input`, `gate-failure`, …).
    pub kind: String,
    /// Who has to act (an agent id, or `human`).
    #[serde(default)]
    pub owner: Option<String>,
    /// One-line detail.
    #[serde(default)]
    pub detail: String,
}

/// An open clarification or human-input request a person can answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanRequest {
    /// The request id a `/wave answer <id> …` reply names.
    pub id: String,
    /// `clarification`, `human-input` or `escalation`.
    pub kind: String,
    /// The agent that asked.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The question.
    pub question: String,
    /// Context for the question.
    #[serde(default)]
    pub context: String,
}

/// One agent with its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRow {
    /// Agent id.
    pub id: String,
    /// State (`proven`, `running`, `blocked`, `failed`, …).
    pub state: String,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// One-line detail.
    #[serde(default)]
    pub detail: String,
}

/// A problem bound to a file: a missing deliverable or proof artifact at its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileProblem {
    /// Repository-relative path.
    pub path: String,
    /// 1-based line, when the problem has one.
    #[serde(default)]
    pub line: Option<u32>,
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// What the verdict was computed from: a new push or plan edit does not inherit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    /// Head commit SHA.
    pub commit: String,
    /// Hash of the wave file and its role prompts.
    pub plan_hash: String,
    /// The runner's version.
    pub runner_version: String,
}

/// Everything the GitHub surfaces show about one wave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveReport {
    /// Lane.
    pub lane: String,
    /// Wave number.
    pub wave: u32,
    /// Where the wave stands.
    pub state: ReportState,
    /// For [`ReportState::InfraError`]: what failed.
    #[serde(default)]
    pub infra_error: Option<String>,
    /// Gate table, in evaluation order.
    #[serde(default)]
    pub gates: Vec<GateRow>,
    /// Open blockers.
    #[serde(default)]
    pub blockers: Vec<Blocker>,
    /// Open clarification and human-input requests.
    #[serde(default)]
    pub requests: Vec<HumanRequest>,
    /// Agents and attempts.
    #[serde(default)]
    pub agents: Vec<AgentRow>,
    /// File-bound problems, shown as annotations.
    #[serde(default)]
    pub problems: Vec<FileProblem>,
    /// Agents a retry would relaunch.
    #[serde(default)]
    pub retry_targets: Vec<String>,
    /// The verdict stamp.
    pub stamp: Stamp,
    /// Where the full report lives (a run URL), pointed at when text is truncated.
    #[serde(default)]
    pub details_url: Option<String>,
    /// Why the state is what it is, when the gates alone do not say (`attempt 2 running`, `not
    /// launched yet`, the failures of the last attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The commit that superseded the stamp's commit (a push to the pull request), when the
    /// verdict is stale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_by: Option<String>,
}

impl WaveReport {
    /// The first gate that fails and blocks closure, if any (advisory failures never block).
    pub fn first_failing_gate(&self) -> Option<&GateRow> {
        self.gates.iter().find(|g| !g.ok && !g.advisory)
    }
}

/// Task states that still need someone to act.
const OPEN_TASK_STATES: [&str; 4] = ["open", "input-required", "working", "blocked"];
/// Task types a person can answer with `/wave answer`.
const ANSWERABLE_TASK_TYPES: [&str; 3] = ["clarification", "human-input", "escalation"];
/// Task types that wait on a person by definition.
const HUMAN_TASK_TYPES: [&str; 2] = ["human-input", "escalation"];

/// The fields of one control-plane task the report reads, from either the reducer or its JSON.
#[derive(Debug, Clone, Copy)]
pub struct TaskFacts<'t> {
    /// Task id.
    pub id: &'t str,
    /// Task type (`clarification`, `human-input`, `blocker`, …).
    pub kind: &'t str,
    /// Task state (`open`, `working`, `resolved`, …).
    pub state: &'t str,
    /// Title (the question, for requests).
    pub title: &'t str,
    /// Detail.
    pub detail: &'t str,
    /// The agent that owns (asked) it.
    pub owner: Option<&'t str>,
    /// The agent it is assigned to.
    pub assignee: Option<&'t str>,
    /// Whether it blocks closure.
    pub blocking: bool,
    /// Whether the control plane says a person must act.
    pub needs_human: bool,
}

/// Open blockers and answerable requests of a wave's tasks, and whether a person is awaited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskSummary {
    /// Open blocking tasks with their owners.
    pub blockers: Vec<Blocker>,
    /// Open tasks a person can answer (clarifications, human input, escalations).
    pub requests: Vec<HumanRequest>,
    /// True when an open blocking task waits on a person: human input, an escalation, or a
    /// task the control plane marks `needsHuman`. An open clarification no one escalated to a
    /// person is answerable but does not make the wave wait on one: its gate fails instead.
    pub awaits_human: bool,
}

/// Sorts tasks into blockers and requests (the rule both report adapters share).
pub fn summarize_tasks<'t>(tasks: impl IntoIterator<Item = TaskFacts<'t>>) -> TaskSummary {
    let mut out = TaskSummary::default();
    for task in tasks {
        if !OPEN_TASK_STATES.contains(&task.state) {
            continue;
        }
        let human = task.needs_human || HUMAN_TASK_TYPES.contains(&task.kind);
        let answerable = human || ANSWERABLE_TASK_TYPES.contains(&task.kind);
        if answerable && task.state != "working" {
            out.requests.push(HumanRequest {
                id: task.id.to_owned(),
                kind: task.kind.to_owned(),
                agent_id: task.owner.map(str::to_owned),
                question: task.title.to_owned(),
                context: task.detail.to_owned(),
            });
        }
        if task.blocking {
            out.awaits_human |= human && task.state != "working";
            let owner = if human {
                Some("human")
            } else if answerable {
                task.assignee.or(Some("human"))
            } else {
                task.assignee.or(task.owner)
            };
            out.blockers.push(Blocker {
                id: task.id.to_owned(),
                kind: task.kind.to_owned(),
                owner: owner.map(str::to_owned),
                detail: task.title.to_owned(),
            });
        }
    }
    // An escalation (`escalation-<request>`) and the human request it opened are one question:
    // one comment, one blocker.
    let ids: Vec<String> = out.requests.iter().map(|r| r.id.clone()).collect();
    let duplicate = |id: &str| {
        id.strip_prefix("escalation-")
            .is_some_and(|request| ids.iter().any(|i| i == request))
    };
    out.requests.retain(|r| !duplicate(&r.id));
    out.blockers.retain(|b| !duplicate(&b.id));
    out
}

/// Builds a report from `wave control status --json` output (upstream's field names).
///
/// The status view carries no gate table, so gates stay empty and the state follows the
/// status's `closureState` and `executionState`: `passed` → passed; an active attempt →
/// running; blocked with an open blocking task that waits on a person (human input, an
/// escalation, `needsHuman`) → awaiting a human; blocked otherwise → failed (the blocking edge
/// is named as the failing gate); anything else → running.
pub fn from_control_status(status: &Value, stamp: Stamp) -> Result<WaveReport, String> {
    let obj = status
        .as_object()
        .ok_or("control status must be a JSON object")?;
    let lane = obj
        .get("lane")
        .and_then(Value::as_str)
        .ok_or("control status has no `lane`")?
        .to_owned();
    let wave = obj
        .get("wave")
        .and_then(Value::as_u64)
        .and_then(|w| u32::try_from(w).ok())
        .ok_or("control status has no numeric `wave`")?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let opt_text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);

    let empty = Vec::new();
    let tasks = obj.get("tasks").and_then(Value::as_array).unwrap_or(&empty);
    fn str_of<'v>(task: &'v Value, key: &str) -> Option<&'v str> {
        task.get(key).and_then(Value::as_str)
    }
    let TaskSummary {
        blockers,
        requests,
        awaits_human,
    } = summarize_tasks(tasks.iter().map(|task| TaskFacts {
        id: str_of(task, "taskId").unwrap_or_default(),
        kind: str_of(task, "taskType").unwrap_or_default(),
        state: str_of(task, "state").unwrap_or_default(),
        title: str_of(task, "title").unwrap_or_default(),
        detail: str_of(task, "detail").unwrap_or_default(),
        owner: str_of(task, "ownerAgentId"),
        assignee: str_of(task, "assigneeAgentId"),
        blocking: task.get("blocking").and_then(Value::as_bool) == Some(true),
        needs_human: task.get("needsHuman").and_then(Value::as_bool) == Some(true),
    }));

    let agents = obj
        .get("logicalAgents")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .map(|a| AgentRow {
            id: text(a.get("agentId")),
            state: text(a.get("state")),
            attempts: 0,
            detail: text(a.get("reason")),
        })
        .collect();

    let closure = text(obj.get("closureState"));
    let execution = text(obj.get("executionState"));
    let edge = obj.get("blockingEdge").filter(|e| !e.is_null());
    let mut gates = Vec::new();
    let state = if closure == "passed" {
        ReportState::Passed
    } else if execution == "active" {
        ReportState::Running
    } else if closure == "blocked" && awaits_human {
        ReportState::AwaitingHuman
    } else if closure == "blocked" {
        let kind = edge
            .map(|e| text(e.get("kind")))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "closure".to_owned());
        gates.push(GateRow {
            name: kind,
            ok: false,
            status_code: "blocked".to_owned(),
            agent_id: edge.and_then(|e| opt_text(e.get("agentId"))),
            detail: edge.map(|e| text(e.get("detail"))).unwrap_or_default(),
            advisory: false,
        });
        ReportState::Failed
    } else {
        ReportState::Running
    };

    Ok(WaveReport {
        lane,
        wave,
        state,
        infra_error: None,
        gates,
        blockers,
        requests,
        agents,
        problems: Vec::new(),
        retry_targets: Vec::new(),
        stamp,
        details_url: None,
        note: None,
        stale_by: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stamp() -> Stamp {
        Stamp {
            commit: "abc".into(),
            plan_hash: "p".into(),
            runner_version: "0.1.0".into(),
        }
    }

    #[test]
    fn open_human_input_makes_the_wave_await_a_human() {
        let status = json!({
            "lane": "main", "wave": 0, "executionState": "pending", "closureState": "blocked",
            "blockingEdge": {"kind": "human-input", "id": "r1", "agentId": "A1", "detail": "q"},
            "logicalAgents": [{"agentId": "A1", "state": "blocked", "reason": "q"}],
            "tasks": [{"taskId": "r1", "taskType": "human-input", "state": "input-required",
                       "title": "May we?", "detail": "ctx", "ownerAgentId": "A1",
                       "blocking": true, "needsHuman": true}]
        });
        let report = from_control_status(&status, stamp()).expect("valid");
        assert_eq!(report.state, ReportState::AwaitingHuman);
        assert_eq!(report.requests.len(), 1);
        assert_eq!(report.requests[0].id, "r1");
        assert_eq!(report.blockers[0].owner.as_deref(), Some("human"));
        assert_eq!(report.agents[0].id, "A1");
    }

    #[test]
    fn blocked_without_a_human_fails_naming_the_blocking_edge() {
        let status = json!({
            "lane": "main", "wave": 2, "executionState": "settled", "closureState": "blocked",
            "blockingEdge": {"kind": "blocker", "id": "b1", "agentId": "A2", "detail": "tests red"},
            "tasks": [{"taskId": "b1", "taskType": "blocker", "state": "open", "title": "tests red",
                       "ownerAgentId": "A2", "blocking": true}]
        });
        let report = from_control_status(&status, stamp()).expect("valid");
        assert_eq!(report.state, ReportState::Failed);
        assert_eq!(
            report.first_failing_gate().map(|g| g.name.as_str()),
            Some("blocker")
        );
        assert_eq!(report.blockers[0].owner.as_deref(), Some("A2"));
    }

    #[test]
    fn passed_closure_and_bad_input() {
        let status = json!({"lane": "main", "wave": 1, "closureState": "passed"});
        assert_eq!(
            from_control_status(&status, stamp()).map(|r| r.state),
            Ok(ReportState::Passed)
        );
        assert!(from_control_status(&json!([]), stamp()).is_err());
        assert!(from_control_status(&json!({"lane": "x"}), stamp()).is_err());
    }
}
