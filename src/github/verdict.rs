//! A wave's [`WaveReport`] built from what the engine recorded: the latest gate evaluation,
//! the control plane's attempts and agent runs, the reduced wave status, and the plan; plus
//! the plan hash of the verdict stamp.
//!
//! Owns: the mapping from recorded facts onto the five report states (and from a state onto
//! the check run's verdict and the step outputs, for `wave github report` and `wave ci close`
//! alike), and the plan hash.
//! Must not: evaluate a gate, read files or the clock — gate results are the launcher's recorded
//! `gate` `evaluated` events, file presence is a caller-supplied predicate.
//!
//! The mapping, in order:
//! 1. no attempt recorded → running (`not launched yet`);
//! 2. the latest attempt is running → running;
//! 3. the latest attempt was cancelled, ended without a gate evaluation, or could not start
//!    an agent (exit 127) → `infra: …`;
//! 4. a push superseded the commit the last evaluation ran on, and this report is for another
//!    commit → running (no verdict for this commit yet: a new commit never inherits one);
//! 5. an active rerun request or relaunch plan blocks the wave → running;
//! 6. the evaluation passed, the attempt completed, and nothing blocks → passed;
//! 7. an open blocking task waits on a person, and no other gate fails nor deliverable is
//!    missing → awaiting a human;
//! 8. otherwise → failed, naming the first blocking failing gate (a failure of the work outranks
//!    a question: the reviewer must see that proof is missing even while a human is asked).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::report::{
    AgentRow, Blocker, FileProblem, GateRow, ReportState, Stamp, TaskFacts, TaskSummary,
    WaveReport, summarize_tasks,
};
use crate::engine::control::{AttemptState, ControlLog, ControlState};
use crate::engine::gates::GATE_ORDER;
use crate::engine::reducer::WaveStatus;
use crate::event::control::EntityType;
use crate::event::time::parse_millis;
use crate::plan::WavePlan;

/// Gates whose failure is caused by open tasks the report already lists as blockers.
const TASK_GATES: [&str; 3] = [
    "helperAssignmentBarrier",
    "dependencyBarrier",
    "clarificationBarrier",
];

/// Blocking-edge kinds that mean a relaunch is already planned.
const RELAUNCH_EDGES: [&str; 2] = ["rerun-request", "relaunch-plan"];

/// What the report of one wave is built from.
pub struct EngineView<'v, 's> {
    /// The reduced wave status (tasks, logical agents, blocking edge).
    pub status: &'v WaveStatus<'s>,
    /// The wave's control-plane events (gate evaluations, stale-verdict markers).
    pub log: &'v ControlLog,
    /// The same events, materialized (attempts, agent runs).
    pub control: &'v ControlState,
    /// The wave's plan, when it parses: deliverables and proof artifacts.
    pub plan: Option<&'v WavePlan>,
    /// Whether a repository-relative path exists.
    pub exists: &'v dyn Fn(&str) -> bool,
    /// The verdict stamp (the commit reported on).
    pub stamp: Stamp,
}

/// The latest recorded gate evaluation.
struct Evaluation<'e> {
    attempt: u64,
    at: i64,
    data: &'e Map<String, Value>,
}

/// A recorded `verification` `stale` marker.
struct StaleMarker<'e> {
    commit: &'e str,
    superseded_by: &'e str,
    at: i64,
}

/// Builds the report of one wave from the engine's recorded state.
pub fn from_engine(view: &EngineView<'_, '_>) -> WaveReport {
    let status = view.status;
    let lane = status.lane.to_owned();
    let wave = u32::try_from(status.wave).unwrap_or(u32::MAX);
    let evaluation = latest_evaluation(view.log);
    let gates = evaluation
        .as_ref()
        .map(|e| gate_rows(e.data))
        .unwrap_or_default();

    let TaskSummary {
        mut blockers,
        requests,
        awaits_human,
    } = summarize_tasks(status.tasks().map(|t| TaskFacts {
        id: t.task_id,
        kind: t.task_type,
        state: t.state,
        title: t.title,
        detail: t.detail,
        owner: t.owner_agent_id,
        assignee: t.assignee_agent_id,
        blocking: t.blocking,
        needs_human: t.needs_human,
    }));

    let missing = view
        .plan
        .map(|plan| missing_files(plan, view.exists))
        .unwrap_or_default();
    let hard_failure = !missing.is_empty()
        || gates
            .iter()
            .any(|g| !g.ok && !g.advisory && !TASK_GATES.contains(&g.name.as_str()));

    let latest = view
        .control
        .attempts
        .iter()
        .filter(|a| a.attempt_number > 0)
        .max_by_key(|a| a.attempt_number);
    let stale = stale_markers(view.log);
    let stale_by = stale
        .iter()
        .rev()
        .find(|m| m.commit == view.stamp.commit)
        .map(|m| m.superseded_by.to_owned());

    let mut note = None;
    let mut infra_error = None;
    let state = match latest {
        None => {
            note = Some("not launched yet".to_owned());
            ReportState::Running
        }
        Some(a) if a.state == AttemptState::Running => {
            note = Some(format!("attempt {} running", a.attempt_number));
            ReportState::Running
        }
        Some(a) if a.state == AttemptState::Cancelled => {
            infra_error = Some(format!(
                "attempt {} was cancelled before a verdict",
                a.attempt_number
            ));
            ReportState::InfraError
        }
        Some(a) => {
            let evaluated = evaluation
                .as_ref()
                .filter(|e| e.attempt == a.attempt_number);
            let unstartable = view.control.agent_runs.iter().find(|r| {
                r.attempt_number == a.attempt_number
                    && r.state == "failed"
                    && r.exit_code == Some(127)
            });
            let superseded = evaluated.and_then(|e| {
                stale
                    .iter()
                    .rev()
                    .find(|m| m.at >= e.at && m.commit != view.stamp.commit)
            });
            let edge = status.blocking_edge.as_ref();
            if let Some(run) = unstartable {
                infra_error = Some(format!(
                    "agent {} could not be started in attempt {} (exit 127: is its executor installed?)",
                    run.agent_id, a.attempt_number
                ));
                ReportState::InfraError
            } else if evaluated.is_none() {
                infra_error = Some(format!(
                    "attempt {} ended without a gate evaluation",
                    a.attempt_number
                ));
                ReportState::InfraError
            } else if let Some(m) = superseded {
                note = Some(format!(
                    "no verdict for this commit yet (the last one was for {}, superseded by a push)",
                    short(m.commit)
                ));
                ReportState::Running
            } else if let Some(e) = edge.filter(|e| RELAUNCH_EDGES.contains(&e.kind)) {
                note = Some(format!("relaunch requested ({})", e.id));
                ReportState::Running
            } else {
                let overall_ok = evaluated
                    .and_then(|e| e.data.get("overall"))
                    .and_then(|o| o.get("ok"))
                    .and_then(Value::as_bool)
                    == Some(true);
                if overall_ok
                    && a.state == AttemptState::Completed
                    && edge.is_none()
                    && blockers.is_empty()
                {
                    ReportState::Passed
                } else if awaits_human && !hard_failure {
                    ReportState::AwaitingHuman
                } else {
                    if gates.iter().all(|g| g.ok || g.advisory) {
                        note = a.detail.clone().filter(|d| !d.is_empty());
                    }
                    ReportState::Failed
                }
            }
        }
    };

    if state == ReportState::Failed {
        for g in gates
            .iter()
            .filter(|g| !g.ok && !g.advisory && !TASK_GATES.contains(&g.name.as_str()))
        {
            blockers.push(Blocker {
                id: g.name.clone(),
                kind: "gate-failure".to_owned(),
                owner: g.agent_id.clone(),
                detail: if g.detail.is_empty() {
                    g.status_code.clone()
                } else {
                    g.detail.clone()
                },
            });
        }
    }

    let agents = agent_rows(view);
    let mut retry_targets: Vec<String> = Vec::new();
    if state == ReportState::Failed {
        let from_gates = gates
            .iter()
            .filter(|g| !g.ok && !g.advisory && !TASK_GATES.contains(&g.name.as_str()))
            .filter_map(|g| g.agent_id.clone());
        let from_agents = status
            .logical_agents
            .iter()
            .filter(|a| a.state == "needs-rerun")
            .map(|a| a.agent_id.clone());
        for id in from_gates.chain(from_agents) {
            if !retry_targets.contains(&id) {
                retry_targets.push(id);
            }
        }
    }
    let problems = match state {
        ReportState::Failed | ReportState::AwaitingHuman => missing,
        _ => Vec::new(),
    };

    WaveReport {
        lane,
        wave,
        state,
        infra_error,
        gates,
        blockers,
        requests,
        agents,
        problems,
        retry_targets,
        stamp: view.stamp.clone(),
        details_url: None,
        note,
        stale_by,
    }
}

/// A failed attempt that another attempt follows (`wave ci close` dispatches it) is reported as
/// in progress, not as the wave's verdict: the report's state becomes running and its note
/// names the attempt and what it retries. Any other state is left as it is.
pub fn retrying(report: &mut WaveReport, next_attempt: u64) {
    if report.state != ReportState::Failed {
        return;
    }
    report.state = ReportState::Running;
    report.note = Some(format!(
        "attempt {next_attempt} follows, retrying {}",
        if report.retry_targets.is_empty() {
            "the closure sweep".to_owned()
        } else {
            report.retry_targets.join(", ")
        }
    ));
}

/// The verdict of a report as the check run carries it: its conclusion (`success`,
/// `action_required`, `failure`) once completed, else its status (`in_progress`).
pub fn verdict(report: &WaveReport) -> &'static str {
    let outcome = crate::render::github::outcome(report.state);
    outcome.conclusion.unwrap_or(outcome.status)
}

/// The step outputs of a report (`verdict`, `closure-state`, `retry-targets`, `closed`): the
/// one mapping `wave github report` and `wave ci close` both write.
pub fn action_outputs(report: &WaveReport) -> Vec<(&'static str, String)> {
    vec![
        ("verdict", verdict(report).to_owned()),
        ("closure-state", report.state.as_str().to_owned()),
        ("retry-targets", report.retry_targets.join(",")),
        ("closed", (report.state == ReportState::Passed).to_string()),
    ]
}

/// The evaluation with the highest attempt (the latest recorded one among equals).
fn latest_evaluation(log: &ControlLog) -> Option<Evaluation<'_>> {
    let mut best: Option<Evaluation<'_>> = None;
    for event in log.events() {
        if event.entity_type != EntityType::Gate || event.action != "evaluated" {
            continue;
        }
        let attempt = event.attempt.unwrap_or(0);
        if best.as_ref().is_none_or(|b| attempt >= b.attempt) {
            best = Some(Evaluation {
                attempt,
                at: parse_millis(&event.recorded_at).unwrap_or(i64::MIN),
                data: &event.data,
            });
        }
    }
    best
}

fn stale_markers(log: &ControlLog) -> Vec<StaleMarker<'_>> {
    log.events()
        .filter(|e| e.entity_type == EntityType::Verification && e.action == "stale")
        .filter_map(|e| {
            let commit = e
                .data
                .get("commit")
                .and_then(Value::as_str)
                .or_else(|| e.entity_id.strip_prefix("verdict-"))?;
            Some(StaleMarker {
                commit,
                superseded_by: e
                    .data
                    .get("supersededBy")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                at: parse_millis(&e.recorded_at).unwrap_or(i64::MIN),
            })
        })
        .collect()
}

/// Gate rows in evaluation order from a recorded snapshot (upstream's keys).
fn gate_rows(snapshot: &Map<String, Value>) -> Vec<GateRow> {
    let advisory: Vec<&str> = snapshot
        .get("advisoryFailures")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| a.get("gate").and_then(Value::as_str))
        .collect();
    let text = |g: &Value, key: &str| {
        g.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    GATE_ORDER
        .iter()
        .filter_map(|name| {
            let g = snapshot.get(*name)?;
            let ok = g.get("ok").and_then(Value::as_bool) == Some(true);
            Some(GateRow {
                name: (*name).to_owned(),
                ok,
                status_code: text(g, "statusCode"),
                agent_id: g.get("agentId").and_then(Value::as_str).map(str::to_owned),
                detail: text(g, "detail"),
                advisory: !ok && advisory.contains(name),
            })
        })
        .collect()
}

/// One row per agent of the plan (else of the status), with attempts from its recorded runs.
fn agent_rows(view: &EngineView<'_, '_>) -> Vec<AgentRow> {
    let ids: Vec<&str> = match view.plan {
        Some(plan) => plan.agents.iter().map(|a| a.agent_id.as_str()).collect(),
        None => view
            .status
            .logical_agents
            .iter()
            .map(|a| a.agent_id.as_str())
            .collect(),
    };
    ids.into_iter()
        .map(|id| {
            let mut attempts: Vec<u64> = view
                .control
                .agent_runs
                .iter()
                .filter(|r| r.agent_id == id && r.state != "skipped")
                .map(|r| r.attempt_number)
                .collect();
            attempts.sort_unstable();
            attempts.dedup();
            let logical = view.status.logical_agents.iter().find(|a| a.agent_id == id);
            let latest = view.control.latest_agent_run(id);
            let detail = match latest {
                Some(r) if r.state == "skipped" => "skipped by the closure policy".to_owned(),
                Some(r) => match (r.state.as_str(), r.exit_code) {
                    ("started", _) => format!("attempt {}: running", r.attempt_number),
                    ("timed_out", _) => format!("attempt {}: timed out", r.attempt_number),
                    (_, Some(code)) => format!("attempt {}: exit {code}", r.attempt_number),
                    (state, None) => format!("attempt {}: {state}", r.attempt_number),
                },
                None => logical.and_then(|a| a.reason.clone()).unwrap_or_default(),
            };
            AgentRow {
                id: id.to_owned(),
                state: logical.map_or("planned", |a| a.state).to_owned(),
                attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
                detail,
            }
        })
        .collect()
}

/// Declared deliverables and required proof artifacts that do not exist, at their paths.
fn missing_files(plan: &WavePlan, exists: &dyn Fn(&str) -> bool) -> Vec<FileProblem> {
    let mut out: Vec<FileProblem> = Vec::new();
    let mut push = |path: &str, title: &str, message: String| {
        if !out.iter().any(|p| p.path == path) {
            out.push(FileProblem {
                path: path.to_owned(),
                line: None,
                title: title.to_owned(),
                message,
            });
        }
    };
    for agent in &plan.agents {
        for path in &agent.deliverables {
            if !exists(path) {
                push(
                    path,
                    "missing deliverable",
                    format!(
                        "agent {} declares `{path}` as a deliverable of wave {} ({}), but it does not exist",
                        agent.agent_id, plan.wave, plan.file
                    ),
                );
            }
        }
        let levels: Vec<&str> = agent
            .component_targets
            .iter()
            .filter_map(|(_, level)| level.as_deref())
            .collect();
        for artifact in &agent.proof_artifacts {
            let required = artifact.required_for.is_empty()
                || artifact
                    .required_for
                    .iter()
                    .any(|r| levels.contains(&r.as_str()));
            if required && !exists(&artifact.path) {
                push(
                    &artifact.path,
                    "missing proof artifact",
                    format!(
                        "agent {} must leave the proof artifact `{}`{} for wave {} ({}), but it does not exist",
                        agent.agent_id,
                        artifact.path,
                        artifact
                            .kind
                            .as_deref()
                            .map(|k| format!(" ({k})"))
                            .unwrap_or_default(),
                        plan.wave,
                        plan.file
                    ),
                );
            }
        }
    }
    out
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

/// The plan hash of a verdict stamp: sha256 over every file the verdict depends on — the wave
/// file, the role prompts its agents import and `wave.config.json` — each as its path and its
/// contents (`None` when the file is missing, which hashes differently from an empty file).
/// Order does not matter; a path listed twice counts once. Returns 16 hex digits.
pub fn plan_hash(files: &[(&str, Option<&[u8]>)]) -> String {
    let mut sorted: Vec<&(&str, Option<&[u8]>)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut h = Sha256::new();
    for (path, contents) in sorted {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        match contents {
            Some(bytes) => {
                h.update([1]);
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(bytes);
            }
            None => h.update([0]),
        }
    }
    hex::encode(h.finalize()).chars().take(16).collect()
}

/// The files a wave's verdict depends on, repository-relative: its plan file, the role prompts
/// its agents import (deduplicated, in order) and `wave.config.json`.
pub fn plan_files(plan: &WavePlan) -> Vec<String> {
    let mut out = vec![plan.file.clone()];
    for agent in &plan.agents {
        for role in &agent.role_prompts {
            if !out.contains(&role.path) {
                out.push(role.path.clone());
            }
        }
    }
    if !out.iter().any(|p| p == "wave.config.json") {
        out.push("wave.config.json".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reducer::{CoordRecord, Roster, RosterAgent, WaveInputs, reduce};
    use crate::event::control::{ControlEvent, EventDefaults};
    use serde_json::json;

    const SHA: &str = "c0ffee";

    fn event(n: u32, entity: &str, id: &str, action: &str, attempt: u64, data: Value) -> Value {
        json!({"id": format!("e{n}"), "lane": "main", "wave": 1, "entityType": entity,
               "entityId": id, "action": action, "attempt": attempt,
               "recordedAt": format!("2026-01-01T00:00:{n:02}.000Z"), "data": data})
    }

    fn attempt(n: u32, number: u64, action: &str) -> Value {
        event(
            n,
            "attempt",
            &format!("wave-1-attempt-{number}"),
            action,
            number,
            json!({"attemptNumber": number, "state": action, "detail": "cont-qa-concerns"}),
        )
    }

    fn evaluation(n: u32, number: u64, failing: Option<(&str, &str)>) -> Value {
        let mut data = json!({
            "implementationGate": {"ok": true, "statusCode": "pass", "agentId": null, "detail": ""},
            "contQaGate": {"ok": true, "statusCode": "pass", "agentId": "A0", "detail": ""},
            "clarificationBarrier": {"ok": true, "statusCode": "pass", "agentId": null, "detail": ""},
            "advisoryFailures": [],
            "overall": {"ok": true, "gate": "pass", "statusCode": "pass"}
        });
        if let Some((gate, code)) = failing {
            data[gate] = json!({"ok": false, "statusCode": code, "agentId": "A1", "detail": "why"});
            data["overall"] = json!({"ok": false, "gate": gate, "statusCode": code});
        }
        event(
            n,
            "gate",
            &format!("wave-1-attempt-{number}-gates"),
            "evaluated",
            number,
            data,
        )
    }

    fn agent_run(n: u32, number: u64, agent: &str, action: &str, exit: i64) -> Value {
        event(
            n,
            "agent_run",
            &format!("wave-1-attempt-{number}-agent-{agent}"),
            action,
            number,
            json!({"agentId": agent, "attemptNumber": number, "exitCode": exit}),
        )
    }

    /// The report of wave 1 (agents A0, A1) given control events and coordination records.
    fn report_of(events: &[Value], records: &[&str]) -> WaveReport {
        let mut log = ControlLog::new();
        for e in events {
            log.insert(
                ControlEvent::from_value(e.clone(), &EventDefaults::default()).expect("event"),
            );
        }
        let control = log.materialize();
        let records: Vec<CoordRecord> = records
            .iter()
            .map(|l| CoordRecord::from_line(l, "2026-01-01T00:00:00.000Z").expect("record"))
            .collect();
        let roster = Roster {
            agents: ["A0", "A1"]
                .iter()
                .map(|id| RosterAgent {
                    id: (*id).into(),
                    title: (*id).into(),
                    capabilities: Vec::new(),
                })
                .collect(),
            ..Roster::default()
        };
        let inputs =
            WaveInputs::from_records(("main", 1), &roster, &records, &control, 1_767_230_000_000);
        let status = reduce(&inputs);
        from_engine(&EngineView {
            status: &status,
            log: &log,
            control: &control,
            plan: None,
            exists: &|_| true,
            stamp: Stamp {
                commit: SHA.into(),
                plan_hash: "p".into(),
                runner_version: "0.1.0".into(),
            },
        })
    }

    #[test]
    fn nothing_recorded_or_a_running_attempt_is_running() {
        let r = report_of(&[], &[]);
        assert_eq!(r.state, ReportState::Running);
        assert_eq!(r.note.as_deref(), Some("not launched yet"));
        let r = report_of(&[attempt(1, 1, "started")], &[]);
        assert_eq!(r.state, ReportState::Running);
        assert_eq!(r.note.as_deref(), Some("attempt 1 running"));
    }

    #[test]
    fn success_only_when_the_latest_attempt_passed_closure() {
        let passed = [
            attempt(1, 1, "started"),
            evaluation(2, 1, None),
            attempt(3, 1, "completed"),
        ];
        assert_eq!(report_of(&passed, &[]).state, ReportState::Passed);
        // A later failed attempt wins over an earlier pass.
        let mut later = passed.to_vec();
        later.extend([
            attempt(4, 2, "started"),
            evaluation(5, 2, Some(("contQaGate", "cont-qa-concerns"))),
            attempt(6, 2, "failed"),
        ]);
        let r = report_of(&later, &[]);
        assert_eq!(r.state, ReportState::Failed);
        let gate = r.first_failing_gate().expect("failing gate");
        assert_eq!(
            (gate.name.as_str(), gate.status_code.as_str()),
            ("contQaGate", "cont-qa-concerns")
        );
        assert!(r.blockers.iter().any(|b| b.kind == "gate-failure"
            && b.id == "contQaGate"
            && b.owner.as_deref() == Some("A1")));
        assert_eq!(r.retry_targets, ["A1"]);
        // A blocker posted after closure passed keeps the wave from passing.
        let blocker = r#"{"id":"b1","kind":"blocker","lane":"main","wave":1,"agentId":"A1","source":"agent","blocking":true,"summary":"tests red","createdAt":"2026-01-01T00:00:09.000Z"}"#;
        let r = report_of(&passed, &[blocker]);
        assert_eq!(r.state, ReportState::Failed);
        assert_eq!(r.blockers[0].id, "b1");
    }

    #[test]
    fn a_person_is_awaited_only_for_human_requests() {
        let failed = [
            attempt(1, 1, "started"),
            evaluation(2, 1, Some(("clarificationBarrier", "clarification-open"))),
            attempt(3, 1, "failed"),
        ];
        let clarification = r#"{"id":"clar-1","kind":"clarification-request","lane":"main","wave":1,"agentId":"A1","source":"agent","blocking":true,"summary":"Which schema?","createdAt":"2026-01-01T00:00:01.000Z"}"#;
        let r = report_of(&failed, &[clarification]);
        assert_eq!(r.state, ReportState::Failed);
        assert_eq!(r.requests.len(), 1, "still answerable");
        assert_eq!(r.requests[0].id, "clar-1");
        assert!(
            r.retry_targets.is_empty(),
            "a rerun cannot answer a question"
        );
        let human = r#"{"id":"hf-1","kind":"human-feedback","lane":"main","wave":1,"agentId":"A1","source":"agent","blocking":true,"summary":"May we drop v1?","createdAt":"2026-01-01T00:00:01.000Z"}"#;
        let r = report_of(&failed, &[human]);
        assert_eq!(r.state, ReportState::AwaitingHuman);
        assert_eq!(r.requests[0].id, "hf-1");
        assert_eq!(r.blockers[0].owner.as_deref(), Some("human"));
    }

    #[test]
    fn runner_failures_are_infra_errors() {
        let cancelled = [attempt(1, 1, "started"), attempt(2, 1, "cancelled")];
        let r = report_of(&cancelled, &[]);
        assert_eq!(r.state, ReportState::InfraError);
        let unevaluated = [attempt(1, 1, "started"), attempt(2, 1, "failed")];
        let r = report_of(&unevaluated, &[]);
        assert_eq!(r.state, ReportState::InfraError);
        assert_eq!(
            r.infra_error.as_deref(),
            Some("attempt 1 ended without a gate evaluation")
        );
        let unstartable = [
            attempt(1, 1, "started"),
            agent_run(2, 1, "A1", "failed", 127),
            evaluation(3, 1, Some(("implementationGate", "missing-proof"))),
            attempt(4, 1, "failed"),
        ];
        let r = report_of(&unstartable, &[]);
        assert_eq!(r.state, ReportState::InfraError);
        assert!(
            r.infra_error
                .as_deref()
                .is_some_and(|e| e.starts_with("agent A1 could not be started")),
            "{:?}",
            r.infra_error
        );
        assert_eq!(r.agents[1].attempts, 1);
        assert_eq!(r.agents[1].detail, "attempt 1: exit 127");
    }

    #[test]
    fn a_push_after_the_verdict_makes_it_stale_and_not_inherited() {
        let mut events = vec![
            attempt(1, 1, "started"),
            evaluation(2, 1, None),
            attempt(3, 1, "completed"),
        ];
        events.push(event(
            4,
            "verification",
            &format!("verdict-{SHA}"),
            "stale",
            0,
            json!({"commit": SHA, "supersededBy": "beef"}),
        ));
        let old = report_of(&events, &[]);
        assert_eq!(old.state, ReportState::Passed);
        assert_eq!(old.stale_by.as_deref(), Some("beef"));
        // The same records reported for another commit: no verdict yet.
        let mut other = events.clone();
        other[3]["entityId"] = json!("verdict-0ld");
        other[3]["data"]["commit"] = json!("0ld");
        let new = report_of(&other, &[]);
        assert_eq!(new.state, ReportState::Running);
        assert!(new.stale_by.is_none());
        // A launch after the push evaluates again and the verdict stands.
        other.extend([
            attempt(5, 2, "started"),
            evaluation(6, 2, None),
            attempt(7, 2, "completed"),
        ]);
        assert_eq!(report_of(&other, &[]).state, ReportState::Passed);
    }

    #[test]
    fn plan_hash_covers_every_file_and_ignores_order() {
        let plan: &[u8] = b"# Wave 1";
        let prompt: &[u8] = b"## Standing prompt";
        let config: &[u8] = b"{}";
        let base = plan_hash(&[
            ("docs/plans/waves/wave-1.md", Some(plan)),
            ("docs/agents/role.md", Some(prompt)),
            ("wave.config.json", Some(config)),
        ]);
        assert_eq!(base.len(), 16);
        let reordered = plan_hash(&[
            ("wave.config.json", Some(config)),
            ("docs/plans/waves/wave-1.md", Some(plan)),
            ("docs/agents/role.md", Some(prompt)),
            ("docs/agents/role.md", Some(prompt)),
        ]);
        assert_eq!(base, reordered);
        let changed_prompt = plan_hash(&[
            ("docs/plans/waves/wave-1.md", Some(plan)),
            (
                "docs/agents/role.md",
                Some(b"## Standing prompt\nnew rule".as_slice()),
            ),
            ("wave.config.json", Some(config)),
        ]);
        assert_ne!(base, changed_prompt);
        let changed_config = plan_hash(&[
            ("docs/plans/waves/wave-1.md", Some(plan)),
            ("docs/agents/role.md", Some(prompt)),
            ("wave.config.json", Some(b"{\"version\":2}".as_slice())),
        ]);
        assert_ne!(base, changed_config);
        let missing = plan_hash(&[
            ("docs/plans/waves/wave-1.md", Some(plan)),
            ("docs/agents/role.md", Some(prompt)),
            ("wave.config.json", None),
        ]);
        let empty = plan_hash(&[
            ("docs/plans/waves/wave-1.md", Some(plan)),
            ("docs/agents/role.md", Some(prompt)),
            ("wave.config.json", Some(b"".as_slice())),
        ]);
        assert_ne!(missing, empty);
        assert_ne!(base, missing);
        // Contents cannot slide across the path boundary.
        assert_ne!(
            plan_hash(&[("ab", Some(b"c".as_slice()))]),
            plan_hash(&[("a", Some(b"bc".as_slice()))])
        );
    }

    #[test]
    fn missing_deliverables_and_required_proof_artifacts_are_problems_at_their_paths() {
        use crate::plan::config::WaveConfig;
        use crate::plan::parse::{ParseContext, parse_wave};
        let lane = WaveConfig::defaults()
            .lane_profile(None)
            .expect("default lane");
        let prompts: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        let ctx = ParseContext {
            lane: &lane,
            role_prompts: &prompts,
        };
        let text = "## Agent A1: Parser\n\n### Deliverables\n\n- src/parser.rs\n- src/lexer.rs\n\n\
            ### Proof artifacts\n\n- path: proof/always.json | kind: replay-summary\n\
            - path: proof/live.json | required-for: pilot-live\n\n\
            ### Prompt\n```text\nFile ownership:\n- src/parser.rs\n- src/lexer.rs\n- proof/always.json\n- proof/live.json\n```\n";
        let plan = parse_wave(text, "docs/plans/waves/wave-2.md", &ctx)
            .expect("parses")
            .plan;
        let exists = |p: &str| p == "src/parser.rs";
        let problems = missing_files(&plan, &exists);
        let found: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.path.as_str(), p.title.as_str()))
            .collect();
        // The live artifact is required only for a `pilot-live` promotion, which A1 has not.
        assert_eq!(
            found,
            [
                ("src/lexer.rs", "missing deliverable"),
                ("proof/always.json", "missing proof artifact")
            ]
        );
        assert!(problems[1].message.contains("(replay-summary)"));
        assert!(problems[0].message.contains("docs/plans/waves/wave-2.md"));
    }

    #[test]
    fn gate_rows_follow_the_gate_order_and_mark_advisory_failures() {
        let snapshot = serde_json::json!({
            "contQaGate": {"ok": false, "statusCode": "missing-verdict", "agentId": "A0", "detail": "no verdict"},
            "implementationGate": {"ok": true, "statusCode": "pass", "agentId": null, "detail": ""},
            "documentationGate": {"ok": false, "statusCode": "doc-open", "detail": "docs"},
            "integrationGate": {"ok": true, "statusCode": "pass"},
            "gateMode": "bootstrap",
            "advisoryFailures": [{"gate": "documentationGate", "statusCode": "doc-open"}],
            "overall": {"ok": false, "gate": "contQaGate", "statusCode": "missing-verdict"}
        });
        let rows = gate_rows(snapshot.as_object().expect("object"));
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["implementationGate", "documentationGate", "contQaGate"]
        );
        assert!(rows[1].advisory && !rows[2].advisory);
        assert_eq!(rows[2].agent_id.as_deref(), Some("A0"));
    }
}
