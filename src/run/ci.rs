//! Fan-out over CI jobs (DESIGN §8): one wave attempt split into a plan job, one job per
//! implementation agent and a close job, the store (usually the state branch) being the only
//! thing the jobs share.
//!
//! Owns: reading a wave's attempt history back from the store, choosing the agents an attempt
//! runs ([`plan`]), running exactly one agent of the open attempt ([`agent`]) and finishing the
//! attempt ([`close`]: the closure sweep, the gate snapshot, the verdict and whether another
//! attempt may follow). Every step goes through the dispatcher's own code ([`super::launch`]):
//! the same prompts, executors, processes, summaries, envelopes and events a single-job
//! `wave launch` produces.
//! Must not: decide gate verdicts, closure order or exit classes (the engine does), talk to
//! GitHub (the CLI publishes the verdict) or read the environment.
//!
//! Re-running a job is safe: `plan` re-announces an attempt that is still open instead of
//! starting another, `agent` does nothing for an agent whose run in the open attempt is already
//! recorded, and `close` re-derives the verdict of an attempt that is already closed.
//!
//! Decisions:
//! - An agent job leaves the tail of its log in the store (an `artifact` event
//!   `wave-N-attempt-A-agent-<id>-log`), the part summaries are read from, so the close job —
//!   on another machine — rebuilds each agent's summary exactly as the agent's job saw it.
//! - The attempt budget counts every attempt since the wave last closed or stopped on a human,
//!   a helper or a dependency, whatever started it (a retry, a rerun request, a re-run
//!   workflow): an answer, or a rerun of a closed wave, starts a fresh budget, as a new
//!   `wave launch` does. A wave never runs more attempts than the budget in one stretch.
//! - An active rerun request starts an attempt for its agents (and any without a recorded run),
//!   whatever the wave's state, while the budget has room; the attempt's `started` event names
//!   it (`rerunRequestId`) and the close job of that attempt marks it applied, as `wave launch`
//!   does after the attempt it narrowed. When the budget is spent the plan job clears the
//!   request (`cleared`, with `clearedReason`) and starts nothing, so the wave's verdict stays
//!   the failure of its last attempt instead of `running`.
//! - Executor fallbacks are the retry engine's, planned by the close job of a failed attempt
//!   through the dispatcher's `WaveRun::plan_retry` and recorded as `artifact` events
//!   (`executor-fallback`) naming the agent, the next attempt and the executor; the agent job
//!   of that attempt runs the agent on it. An agent's executor state is its resolved executor
//!   with every recorded fallback replayed, so executors it already ran on count as tried.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use super::launch::{
    self, LaunchConfig, LaunchError, WaveRun, agent_paths, append, attempt_event, close_attempt,
    executor_state, file_facts, files_and_summary_prove, initial_agents, is_closure_agent,
    lane_models, rerun_applied, reusable, summary_source, wave32, write_prepared,
};
use super::process::ProcessOutcome;
use crate::engine::control::{AttemptState, ControlLog, ControlState, RerunState};
use crate::engine::gates::GateSnapshot;
use crate::engine::markers;
use crate::engine::retry::{self, Failure, ProcessEnd};
use crate::engine::summary::StatusRecord;
use crate::event::control::{ControlEvent, EntityType, EventDefaults};
use crate::plan::{ExecutorId, WavePlan, roles};
use crate::store::{EventStore, StoreError, StreamId};

/// Overall gates that mean "waiting on someone", not "retry".
pub const WAITING_GATES: [&str; 3] = [
    "helperAssignmentBarrier",
    "dependencyBarrier",
    "clarificationBarrier",
];

/// Why a CI step could not do its job (not a wave failing its gates).
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// Running or recording an agent failed.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The store could not be read.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// No attempt is open for the wave.
    #[error("wave {wave} has no open attempt; run `wave ci plan` for it first")]
    NoOpenAttempt {
        /// Wave.
        wave: u64,
    },
    /// The agent is not in the wave.
    #[error("wave {wave} has no agent `{agent}`; its agents: {known}")]
    UnknownAgent {
        /// Wave.
        wave: u64,
        /// The id asked for.
        agent: String,
        /// The wave's agent ids.
        known: String,
    },
    /// The agent is a closure steward: the close job runs it.
    #[error("wave {wave} agent `{agent}` is a closure steward; `wave ci close` runs it")]
    ClosureAgent {
        /// Wave.
        wave: u64,
        /// The agent.
        agent: String,
    },
    /// The agent is not part of the open attempt.
    #[error(
        "wave {wave} attempt {attempt} does not run `{agent}` (it runs: {selected}); use the matrix `wave ci plan` printed"
    )]
    NotSelected {
        /// Wave.
        wave: u64,
        /// Attempt.
        attempt: u64,
        /// The agent.
        agent: String,
        /// The attempt's agents.
        selected: String,
    },
}

/// What [`plan`] decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanOutcome {
    /// The attempt the jobs work on (the next one when nothing is left to do).
    pub attempt: u64,
    /// True when an attempt is open and its close job should run.
    pub has_work: bool,
    /// Design agents to run before the others (run them first when not empty).
    pub design: Vec<String>,
    /// Implementation agents to run (after the design agents).
    pub agents: Vec<String>,
    /// Why there is nothing to do, or what was decided.
    pub reason: String,
}

/// What [`agent`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentOutcome {
    /// The agent.
    pub agent: String,
    /// The attempt.
    pub attempt: u64,
    /// False when an earlier run of this job had already recorded the agent.
    pub ran: bool,
    /// The recorded run's state (`completed`, `failed`, `timed_out`).
    pub state: String,
    /// The recorded exit code.
    pub exit_code: Option<i64>,
}

/// How a closed attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Closure {
    /// Every gate passes: the wave is closed.
    Passed,
    /// Waiting on a human answer (clarification or human input).
    AwaitingHuman,
    /// Waiting on a helper assignment or a dependency.
    Blocked,
    /// A gate fails.
    Failed,
}

/// What [`close`] decided.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseOutcome {
    /// The attempt closed.
    pub attempt: u64,
    /// How it ended.
    pub closure: Closure,
    /// The final gate snapshot.
    #[serde(skip)]
    pub snapshot: GateSnapshot,
    /// Every failure of the attempt.
    pub failures: Vec<Failure>,
    /// Agents the next attempt would run again.
    pub retry_targets: Vec<String>,
    /// True when another attempt should follow (retryable and within the budget).
    pub next_attempt: bool,
    /// The exit code (`docs/exit-codes.md`): 0 closed, 43 waiting or retrying, else 1 or 42.
    pub exit_code: u8,
    /// False when the attempt had already been closed by an earlier run of the job.
    pub ran: bool,
}

/// Limits shared by the three steps.
#[derive(Debug, Clone, Copy)]
pub struct CiLimits {
    /// Attempts per budget (retries + 1).
    pub max_attempts: u64,
}

/// A log tail an agent job recorded.
#[derive(Debug, Clone, Default)]
struct LogTail {
    text: String,
    prompt_hash: Option<String>,
    executor: Option<String>,
}

/// A wave's attempt history, read from the store.
struct History {
    control: ControlState,
    /// (agent, attempt) → the recorded log tail.
    logs: BTreeMap<(String, u64), LogTail>,
    /// attempt → the overall gate of its evaluation.
    overall_gates: BTreeMap<u64, String>,
    /// attempt → the rerun request it was started for.
    rerun_of: BTreeMap<u64, String>,
    /// (agent, attempt) → the fallback executor the attempt runs it on, and why.
    fallbacks: BTreeMap<(String, u64), (ExecutorId, String)>,
}

impl History {
    fn read(store: &dyn EventStore, lane: &str, wave: u64) -> Result<Self, CiError> {
        let mut log = ControlLog::new();
        let defaults = EventDefaults {
            lane: Some(lane.to_owned()),
            wave: Some(wave),
            ..EventDefaults::default()
        };
        store.visit(&StreamId::control(lane, wave32(wave)), &mut |line| {
            let ev = ControlEvent::from_line(line.text, &defaults).map_err(|e| e.to_string())?;
            log.insert(ev);
            Ok(())
        })?;
        let mut logs = BTreeMap::new();
        let mut overall_gates = BTreeMap::new();
        let mut rerun_of = BTreeMap::new();
        let mut fallbacks = BTreeMap::new();
        for ev in log.events() {
            let text = |k: &str| ev.data.get(k).and_then(Value::as_str).map(str::to_owned);
            match ev.entity_type {
                EntityType::Artifact if text("kind").as_deref() == Some(LOG_KIND) => {
                    let (Some(agent), Some(attempt)) = (text("agentId"), ev.attempt) else {
                        continue;
                    };
                    logs.insert(
                        (agent, attempt),
                        LogTail {
                            text: text("text").unwrap_or_default(),
                            prompt_hash: text("promptHash"),
                            executor: text("executorId"),
                        },
                    );
                }
                EntityType::Artifact if text("kind").as_deref() == Some(FALLBACK_KIND) => {
                    let (Some(agent), Some(attempt), Some(executor)) = (
                        text("agentId"),
                        ev.data.get("attemptNumber").and_then(Value::as_u64),
                        text("executorId").as_deref().and_then(ExecutorId::parse),
                    ) else {
                        continue;
                    };
                    let reason = text("reason").unwrap_or_default();
                    fallbacks.insert((agent, attempt), (executor, reason));
                }
                EntityType::Attempt if ev.action == "started" => {
                    if let (Some(a), Some(id)) = (ev.attempt, text("rerunRequestId")) {
                        rerun_of.insert(a, id);
                    }
                }
                EntityType::Gate => {
                    if let (Some(a), Some(g)) = (
                        ev.attempt,
                        ev.data
                            .get("overall")
                            .and_then(|o| o.get("gate"))
                            .and_then(Value::as_str),
                    ) {
                        overall_gates.insert(a, g.to_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(History {
            control: log.materialize(),
            logs,
            overall_gates,
            rerun_of,
            fallbacks,
        })
    }

    /// The latest attempt: its number and state.
    fn latest(&self) -> Option<(u64, AttemptState, Vec<String>)> {
        self.control
            .attempts
            .iter()
            .max_by_key(|a| (a.attempt_number, a.updated_at.clone()))
            .map(|a| (a.attempt_number, a.state, a.selected_agent_ids.clone()))
    }

    /// The last attempt before `before` that closed the wave or ended waiting on someone (0
    /// when none): budgets count from it. Every other attempt counts, whatever started it (a
    /// retry, a rerun request, a re-run workflow).
    fn budget_base(&self, before: u64) -> u64 {
        let waited = self
            .overall_gates
            .iter()
            .filter(|(a, g)| **a < before && WAITING_GATES.contains(&g.as_str()))
            .map(|(a, _)| *a);
        let closed = self
            .control
            .attempts
            .iter()
            .filter(|a| a.attempt_number < before && a.state == AttemptState::Completed)
            .map(|a| a.attempt_number);
        waited.chain(closed).max().unwrap_or(0)
    }

    /// The active rerun request that selects agents: its id and agents.
    fn active_rerun(&self) -> Option<(String, Vec<String>)> {
        self.control
            .active_rerun_request()
            .filter(|r| !r.selected_agent_ids.is_empty())
            .map(|r| (r.request_id.clone(), r.selected_agent_ids.clone()))
    }

    /// The latest finished run of an agent at or before `attempt`.
    fn latest_run(&self, agent: &str, attempt: u64) -> Option<&crate::engine::control::AgentRun> {
        self.control
            .agent_runs
            .iter()
            .filter(|r| r.agent_id == agent && r.finished() && r.attempt_number <= attempt)
            .filter(|r| r.state != "skipped")
            .max_by_key(|r| r.attempt_number)
    }
}

/// The event clearing a rerun request the attempt budget leaves no room for (`attempt` is the
/// wave's latest attempt).
fn rerun_refused(id: &str, attempt: u64, reason: &str) -> Value {
    json!({"entityType": "rerun_request", "entityId": id, "action": "cleared",
           "attempt": attempt,
           "data": {"requestId": id, "state": "cleared", "clearedReason": reason}})
}

/// `data.kind` of the log-tail artifact events.
const LOG_KIND: &str = "agent-log-tail";

/// `data.kind` of the artifact events naming the fallback executor an agent runs on in an
/// attempt (the retry engine's choice when the previous attempt failed).
const FALLBACK_KIND: &str = "executor-fallback";

fn implementation_ids(cfg: &LaunchConfig<'_>, plan: &WavePlan) -> Vec<String> {
    plan.agents
        .iter()
        .filter(|a| !is_closure_agent(plan, cfg.lane, a))
        .map(|a| a.agent_id.clone())
        .collect()
}

fn closure_ids(cfg: &LaunchConfig<'_>, plan: &WavePlan) -> Vec<String> {
    plan.agents
        .iter()
        .filter(|a| is_closure_agent(plan, cfg.lane, a))
        .map(|a| a.agent_id.clone())
        .collect()
}

fn new_run<'c, 'a>(
    cfg: &'c LaunchConfig<'a>,
    store: &'c dyn EventStore,
    plan: &'c WavePlan,
    attempt: u64,
) -> Result<WaveRun<'c, 'a>, CiError> {
    Ok(WaveRun {
        cfg,
        store,
        plan,
        attempt,
        agents: initial_agents(cfg, plan)?,
        summaries: BTreeMap::new(),
        sources: BTreeMap::new(),
        launched: Vec::new(),
    })
}

/// Rebuilds the implementation agents' summaries from their latest recorded runs up to
/// `attempt`: the recorded log tail is put back at the agent's log path (when the file there
/// ends differently) and summarized as the dispatcher does.
fn restore(run: &mut WaveRun<'_, '_>, hist: &History, attempt: u64) -> Result<(), CiError> {
    let cfg = run.cfg;
    let plan = run.plan;
    let files = file_facts(cfg.repo_root, plan);
    for id in implementation_ids(cfg, plan) {
        let (Some(agent), Some(rec)) = (plan.agent(&id), hist.latest_run(&id, attempt)) else {
            continue;
        };
        let tail = hist.logs.get(&(id.clone(), rec.attempt_number));
        let path = agent_paths(cfg, plan.wave, agent).log;
        if let Some(t) = tail {
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            if markers::tail(&on_disk, markers::LOG_TAIL_CHARS) != t.text {
                launch::write_file(&path, t.text.as_bytes())?;
            }
        }
        let Some(st) = run.agents.get_mut(&id) else {
            continue;
        };
        if let Some(e) = tail
            .and_then(|t| t.executor.as_deref())
            .and_then(crate::plan::ExecutorId::parse)
        {
            st.executor = e;
        }
        let status = StatusRecord {
            code: rec.exit_code,
            prompt_hash: tail.and_then(|t| t.prompt_hash.clone()),
            attempt: Some(rec.attempt_number),
            completed_at: rec.completed_at.clone(),
            ..StatusRecord::default()
        };
        let source = summary_source(cfg, plan, agent, st.executor, &status, &files);
        let summary = source.summary(agent);
        run.sources.insert(id.clone(), source);
        st.last_end = Some(match (rec.state.as_str(), rec.exit_code) {
            ("timed_out", _) => ProcessOutcome::TimedOut,
            (_, Some(c)) => ProcessOutcome::Exited(c),
            (_, None) => ProcessOutcome::Exited(1),
        });
        st.status = Some(status);
        st.summary = Some(summary.clone());
        run.summaries.insert(id, summary);
    }
    Ok(())
}

/// Each agent's executor state for retry planning after `attempt`: its resolved executor, then
/// every fallback recorded up to `attempt` applied in order (so executors it already ran on
/// count as tried).
fn executor_states(
    run: &WaveRun<'_, '_>,
    hist: &History,
    attempt: u64,
) -> Result<BTreeMap<String, retry::ExecutorState>, CiError> {
    let models = lane_models(run.cfg.lane);
    let mut out = BTreeMap::new();
    for (id, initial) in initial_agents(run.cfg, run.plan)? {
        let Some(agent) = run.plan.agent(&id) else {
            continue;
        };
        let mut state = executor_state(run.cfg, agent, initial.executor);
        for ((_, a), (executor, reason)) in hist
            .fallbacks
            .iter()
            .filter(|((agent_id, a), _)| *agent_id == id && *a <= attempt)
        {
            state.id = *executor;
            state.model = models.get(executor).cloned();
            state.selected_by = "retry-fallback".into();
            state.fallback_used = true;
            state.fallback_reason = Some(reason.clone());
            state.executor_history.push(retry::HistoryEntry {
                attempt: *a,
                executor_id: *executor,
                reason: reason.clone(),
            });
        }
        out.insert(id, state);
    }
    Ok(out)
}

/// Implementation agents that must run again: every one without a reusable run (exit 0, same
/// prompt hash, its slice still proven).
fn not_reusable(run: &WaveRun<'_, '_>) -> Vec<String> {
    implementation_ids(run.cfg, run.plan)
        .into_iter()
        .filter(|id| {
            let (Some(agent), Some(st)) = (run.plan.agent(id), run.agents.get(id)) else {
                return true;
            };
            !(st.status.is_some() && reusable(st, agent, files_and_summary_prove(run, agent)))
        })
        .collect()
}

fn split_design(run: &WaveRun<'_, '_>, ids: Vec<String>) -> (Vec<String>, Vec<String>) {
    ids.into_iter().partition(|id| {
        run.plan
            .agent(id)
            .is_some_and(|a| roles::is_design_agent(a, run.cfg.lane))
    })
}

/// Chooses the agents of the wave's open attempt, starting the attempt when none is open.
/// With `dry_run` nothing is recorded.
pub fn plan(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    plan: &WavePlan,
    limits: CiLimits,
    dry_run: bool,
) -> Result<PlanOutcome, CiError> {
    let hist = History::read(store, &cfg.lane.lane, plan.wave)?;
    let closure = closure_ids(cfg, plan);
    let latest = hist.latest();
    if let Some((n, AttemptState::Running, selected)) = &latest {
        // A re-run of the plan job: the open attempt keeps its selection.
        let impls: Vec<String> = selected
            .iter()
            .filter(|id| !closure.contains(id))
            .cloned()
            .collect();
        let run = new_run(cfg, store, plan, *n)?;
        let (design, agents) = split_design(&run, impls);
        return Ok(PlanOutcome {
            attempt: *n,
            has_work: true,
            design,
            agents,
            reason: format!("attempt {n} is open"),
        });
    }
    let last = latest.as_ref().map_or(0, |(n, _, _)| *n);
    let attempt = last + 1;
    let base = hist.budget_base(attempt);
    let spent = (attempt - base > limits.max_attempts).then(|| {
        format!(
            "attempts spent: {} of {} since attempt {}",
            attempt - base - 1,
            limits.max_attempts,
            base + 1
        )
    });
    let nothing = |reason: String| PlanOutcome {
        attempt,
        has_work: false,
        design: Vec::new(),
        agents: Vec::new(),
        reason,
    };
    // An active rerun request starts an attempt for its agents whatever the wave's state, as
    // `wave launch` does, within the attempt budget; it is marked applied when that attempt
    // closes. Once the budget is spent it is cleared instead, so it no longer holds the
    // wave's verdict open.
    if let Some((id, ids)) = hist.active_rerun() {
        if let Some(spent) = spent {
            let reason = format!("rerun request {id} refused: {spent}");
            if !dry_run {
                append(cfg, store, plan.wave, rerun_refused(&id, last, &reason))?;
            }
            return Ok(nothing(reason));
        }
        let mut run = new_run(cfg, store, plan, attempt)?;
        restore(&mut run, &hist, last)?;
        let impls: Vec<String> = implementation_ids(cfg, plan)
            .into_iter()
            .filter(|a| ids.contains(a) || !run.summaries.contains_key(a))
            .collect();
        let (design, agents) = split_design(&run, impls);
        if !dry_run {
            let mut selected = design.clone();
            selected.extend(agents.iter().cloned());
            selected.extend(closure);
            let mut event = attempt_event(
                plan.wave,
                attempt,
                "started",
                &selected,
                &format!("ci attempt for rerun request {id}"),
            );
            event["data"]["rerunRequestId"] = json!(id);
            append(cfg, store, plan.wave, event)?;
        }
        return Ok(PlanOutcome {
            attempt,
            has_work: true,
            design,
            agents,
            reason: format!("attempt {attempt} started for rerun request {id}"),
        });
    }
    if let Some((n, AttemptState::Completed, _)) = &latest {
        return Ok(nothing(format!("closed in attempt {n}")));
    }
    if let Some(spent) = spent {
        return Ok(nothing(spent));
    }
    let mut run = new_run(cfg, store, plan, attempt)?;
    restore(&mut run, &hist, last)?;
    if let Some(gate) = hist.overall_gates.get(&last)
        && WAITING_GATES.contains(&gate.as_str())
    {
        let now = run.evaluate();
        if now.snapshot.overall.gate == *gate {
            return Ok(nothing(format!(
                "attempt {last} waits on {gate}: {}",
                now.snapshot.overall.detail
            )));
        }
    }
    let (design, agents) = split_design(&run, not_reusable(&run));
    if !dry_run {
        let mut selected = design.clone();
        selected.extend(agents.iter().cloned());
        selected.extend(closure);
        append(
            cfg,
            store,
            plan.wave,
            attempt_event(plan.wave, attempt, "started", &selected, "ci attempt"),
        )?;
    }
    Ok(PlanOutcome {
        attempt,
        has_work: true,
        design,
        agents,
        reason: format!("attempt {attempt} started"),
    })
}

/// Runs one implementation agent of the open attempt and records its run, log tail and result
/// envelope. An agent whose run in that attempt is already recorded is not run again.
pub fn agent(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    plan: &WavePlan,
    agent_id: &str,
) -> Result<AgentOutcome, CiError> {
    let Some(agent) = plan.agent(agent_id) else {
        return Err(CiError::UnknownAgent {
            wave: plan.wave,
            agent: agent_id.to_owned(),
            known: plan
                .agents
                .iter()
                .map(|a| a.agent_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    if is_closure_agent(plan, cfg.lane, agent) {
        return Err(CiError::ClosureAgent {
            wave: plan.wave,
            agent: agent_id.to_owned(),
        });
    }
    let hist = History::read(store, &cfg.lane.lane, plan.wave)?;
    let Some((attempt, state, selected)) = hist.latest() else {
        return Err(CiError::NoOpenAttempt { wave: plan.wave });
    };
    let recorded = hist
        .latest_run(agent_id, attempt)
        .filter(|r| r.attempt_number == attempt);
    if let Some(r) = recorded
        && hist.logs.contains_key(&(agent_id.to_owned(), attempt))
    {
        return Ok(AgentOutcome {
            agent: agent_id.to_owned(),
            attempt,
            ran: false,
            state: r.state.clone(),
            exit_code: r.exit_code,
        });
    }
    if state != AttemptState::Running {
        return Err(CiError::NoOpenAttempt { wave: plan.wave });
    }
    if !selected.iter().any(|s| s == agent_id) {
        return Err(CiError::NotSelected {
            wave: plan.wave,
            attempt,
            agent: agent_id.to_owned(),
            selected: selected.join(", "),
        });
    }
    write_prepared(cfg, plan.wave)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LaunchError::Runtime)?;
    let mut run = new_run(cfg, store, plan, attempt)?;
    if let Some((executor, reason)) = hist.fallbacks.get(&(agent_id.to_owned(), attempt))
        && let Some(st) = run.agents.get_mut(agent_id)
        && st.executor != *executor
    {
        (cfg.progress)(&format!(
            "[{}] wave {} attempt {attempt}: {agent_id}: falling back from {} to {} ({reason})",
            cfg.lane.lane,
            plan.wave,
            st.executor.as_str(),
            executor.as_str()
        ));
        st.executor = *executor;
    }
    rt.block_on(run.launch(&[agent_id.to_owned()]))?;
    let st = run.agents.get(agent_id);
    let status = st.and_then(|s| s.status.clone()).unwrap_or_default();
    let executor = st.map(|s| s.executor.as_str()).unwrap_or("local");
    let log = std::fs::read_to_string(agent_paths(cfg, plan.wave, agent).log).unwrap_or_default();
    let run_id = format!("wave-{}-attempt-{attempt}-agent-{agent_id}", plan.wave);
    append(
        cfg,
        store,
        plan.wave,
        json!({"entityType": "artifact", "entityId": format!("{run_id}-log"),
               "action": "recorded", "attempt": attempt,
               "data": {"kind": LOG_KIND, "agentId": agent_id, "attemptNumber": attempt,
                        "executorId": executor, "promptHash": status.prompt_hash,
                        "exitCode": status.code,
                        "text": markers::tail(&log, markers::LOG_TAIL_CHARS)}}),
    )?;
    let state = match st.and_then(|s| s.last_end.as_ref()) {
        Some(ProcessOutcome::Exited(0)) => "completed",
        Some(ProcessOutcome::TimedOut) => "timed_out",
        _ => "failed",
    };
    Ok(AgentOutcome {
        agent: agent_id.to_owned(),
        attempt,
        ran: true,
        state: state.to_owned(),
        exit_code: status.code,
    })
}

/// Finishes the open attempt: the closure sweep (stewards in stage order) once every
/// implementation agent is recorded and passes, the gate snapshot and the attempt's end. An
/// attempt that is already closed is not closed again; its recorded evaluation is re-read.
pub fn close(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    plan: &WavePlan,
    limits: CiLimits,
) -> Result<CloseOutcome, CiError> {
    let hist = History::read(store, &cfg.lane.lane, plan.wave)?;
    let Some((attempt, state, selected)) = hist.latest() else {
        return Err(CiError::NoOpenAttempt { wave: plan.wave });
    };
    write_prepared(cfg, plan.wave)?;
    let mut run = new_run(cfg, store, plan, attempt)?;
    restore(&mut run, &hist, attempt)?;
    let stewards = closure_ids(cfg, plan);
    let (snapshot, failures, ran) = if state == AttemptState::Running {
        let mut failures = Vec::new();
        for id in selected.iter().filter(|id| !stewards.contains(id)) {
            match hist
                .latest_run(id, attempt)
                .filter(|r| r.attempt_number == attempt)
            {
                None => {
                    failures.push(Failure {
                        agent_id: Some(id.clone()),
                        status_code: "missing-status".to_owned(),
                        detail: format!(
                            "{id} has no recorded run in attempt {attempt}: its agent job did not finish"
                        ),
                        log_path: None,
                        component_id: None,
                        waiting_on_agent_ids: Vec::new(),
                        satisfied_agent_ids: Vec::new(),
                    });
                }
                Some(r) => {
                    let end = match (r.state.as_str(), r.exit_code) {
                        ("timed_out", _) => ProcessEnd::TimeoutNoStatus,
                        (_, Some(c)) => ProcessEnd::Exited(c),
                        (_, None) => ProcessEnd::MissingStatus,
                    };
                    let log = plan
                        .agent(id)
                        .map(|a| launch::rel(cfg.repo_root, &agent_paths(cfg, plan.wave, a).log));
                    failures.extend(Failure::from_process(id, end, log.as_deref()));
                }
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LaunchError::Runtime)?;
        let (snapshot, failures) =
            rt.block_on(close_attempt(&mut run, failures, &stewards, false))?;
        (snapshot, failures, true)
    } else {
        // Closed earlier: evaluate again from what is recorded (the same inputs).
        let eval = run.evaluate();
        let mut failures = Vec::new();
        if state != AttemptState::Completed && !eval.snapshot.overall.ok {
            let o = &eval.snapshot.overall;
            let mut g = crate::engine::gates::GateResult::fail(
                o.agent_id.as_deref(),
                &o.status_code,
                o.detail.clone(),
            );
            g.ok = false;
            failures.push(Failure::from_gate(&g));
        }
        (eval.snapshot, failures, false)
    };
    let waiting = !failures.is_empty() && WAITING_GATES.contains(&snapshot.overall.gate.as_str());
    let closure = if failures.is_empty() {
        Closure::Passed
    } else if snapshot.overall.gate == "clarificationBarrier" {
        Closure::AwaitingHuman
    } else if waiting {
        Closure::Blocked
    } else {
        Closure::Failed
    };
    let mut retry_targets = Vec::new();
    if !failures.is_empty() && !waiting {
        retry_targets = not_reusable(&run);
        for f in &failures {
            if let Some(a) = &f.agent_id
                && !retry_targets.contains(a)
                && plan.agent(a).is_some()
            {
                retry_targets.push(a.clone());
            }
        }
    }
    // A rerun request this attempt was started for is applied now, as `wave launch` marks it
    // after the attempt it narrowed (also when an earlier run of this job closed the attempt).
    if let Some(id) = hist.rerun_of.get(&attempt)
        && hist
            .control
            .rerun_requests
            .iter()
            .any(|r| r.request_id == *id && r.state == RerunState::Active)
    {
        append(cfg, store, plan.wave, rerun_applied(id, attempt))?;
    }
    let base = hist.budget_base(attempt);
    let mut next_attempt =
        closure == Closure::Failed && attempt.saturating_sub(base) < limits.max_attempts;
    if next_attempt {
        // The retry engine's executor fallbacks for the next attempt, as `wave launch` applies
        // them between attempts; a fallback that cannot be made safely ends the retries.
        let executors = executor_states(&run, &hist, attempt)?;
        let next = run.plan_retry(
            &snapshot,
            &failures,
            &executors,
            &lane_models(cfg.lane),
            attempt + 1,
        );
        if let Some(b) = &next.barrier {
            run.progress(&format!("retry blocked ({}): {}", b.status_code, b.detail));
            next_attempt = false;
        }
        for (id, st) in &next.executor_changes {
            let current = executors.get(id).map(|s| s.id);
            if current == Some(st.id) || hist.fallbacks.contains_key(&(id.clone(), attempt + 1)) {
                continue;
            }
            append(
                cfg,
                store,
                plan.wave,
                json!({"entityType": "artifact",
                       "entityId": format!("wave-{}-attempt-{}-agent-{id}-executor", plan.wave, attempt + 1),
                       "action": "recorded", "attempt": attempt + 1,
                       "data": {"kind": FALLBACK_KIND, "agentId": id,
                                "attemptNumber": attempt + 1,
                                "executorId": st.id.as_str(),
                                "fromExecutorId": current.map(ExecutorId::as_str),
                                "reason": st.fallback_reason}}),
            )?;
        }
    }
    let final_outcome = retry::final_outcome(&failures, &run.summaries, None);
    let exit_code = match closure {
        Closure::Passed => crate::exit::Code::OK.0,
        Closure::AwaitingHuman | Closure::Blocked => crate::exit::Code::BLOCKED.0,
        Closure::Failed if next_attempt => crate::exit::Code::BLOCKED.0,
        Closure::Failed => match final_outcome.exit_code {
            0 | 43 => crate::exit::Code::FAILURE.0,
            c => c,
        },
    };
    Ok(CloseOutcome {
        attempt,
        closure,
        snapshot,
        failures,
        retry_targets,
        next_attempt,
        exit_code,
        ran,
    })
}
