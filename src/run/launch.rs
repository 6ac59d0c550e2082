//! Real wave runs: the dispatcher. For each selected wave it runs attempts until the wave closes
//! or the attempt budget is spent: the implementation agents concurrently, then the closure
//! sweep's stewards one at a time in stage order, each agent's log turned into a summary and a
//! result envelope, the gates evaluated on the result.
//!
//! Owns: the attempt loop; the first attempt's selection (every implementation agent, or those
//! of an active rerun request) and, after a failed attempt, applying the retry engine's
//! decision ([`retry::resolve_retry`]: its targets and executor fallbacks); rebuilding the
//! wave's derived coordination state (through [`LaunchConfig::coordinate`]) before agents start
//! and after they finish, so each prompt embeds the current shared summary and inbox; the
//! control-plane events of the run (`attempt`, `agent_run`, `gate`), result envelopes, the gate
//! snapshot projection and the per-attempt trace bundle ([`super::trace`]). The dispatcher is
//! the only code that appends to the store while a launch runs; agent processes run
//! concurrently under tokio and report back through their join handles.
//! Must not: decide gate verdicts, retry targets, closure order or exit codes (the engine does:
//! [`gates`], [`retry`], [`closure`], [`retry::final_outcome`]); read the clock other than
//! through [`LaunchConfig::clock`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::executor::command::{LaunchInput, ResolvedExecutor, build_launch_plan};
use super::executor::dryrun::{DryRun, lane_state_dir};
use super::executor::resolve;
use super::process::{self, AgentProcess, ProcessOutcome, Program};
use super::trace::{self, Material, SummarySource};
use crate::engine::closure::{ClosureSweep, SweepAction, stage_of};
use crate::engine::gates::{self, CoordinationFacts, GateInputs, GateResult, GateSnapshot};
use crate::engine::retry::{self, Failure, FingerprintParts, ProcessEnd};
use crate::engine::summary::{
    EnvelopeContext, ExecutionSummary, FileFact, FileFacts, StatusRecord, build_envelope,
    envelope_value,
};
use crate::event::control::{ControlEvent, EventDefaults};
use crate::event::time;
use crate::plan::matrix::{BenchmarkCatalog, ComponentMatrix};
use crate::plan::{Agent, ExecutorId, LaneProfile, WavePlan, roles};
use crate::settings::Clock;
use crate::store::{EventStore, Record, ResultKey, StoreError, StreamId};

/// How every agent is run when `--force-executor` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forced {
    /// One of the built-in executors.
    Executor(ExecutorId),
    /// Any program: the compiled prompt file is its first argument, its output the agent log.
    Command(PathBuf),
}

/// Why a launch failed to run (not a wave failing its gates: that is an [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The store refused a write.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A projection or trace file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An agent's executor could not be resolved.
    #[error("wave {wave} agent {agent}: {message}")]
    Resolve {
        /// Wave.
        wave: u64,
        /// Agent.
        agent: String,
        /// Cause.
        message: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the agent runtime: {0}")]
    Runtime(std::io::Error),
}

/// Coordination facts for the gates, read fresh from the store before each evaluation.
pub type FactsSource<'a> = dyn Fn(u64) -> CoordinationFacts + 'a;

/// The current derived coordination views of a wave (spec §10.2, §10.3), already within their
/// budgets: what each agent's prompt embeds when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveViews {
    /// The shared summary.
    pub shared_summary: String,
    /// Each agent's inbox, by agent id.
    pub inboxes: BTreeMap<String, String>,
}

/// Rebuilds a wave's derived coordination state at the launch's clock — seed records,
/// clarification triage and the human-input clock, appended through the store, then the
/// projections — for `(wave, attempt, closed)`, and returns the views prompts embed (`None`
/// when the state could not be read; the caller reports why). `closed` is true once, after
/// the attempt that closed the wave: the launcher's open request seeds are then resolved.
pub type CoordinateFn<'a> = dyn Fn(u64, u64, bool) -> Option<LiveViews> + 'a;

/// Everything a launch needs.
pub struct LaunchConfig<'a> {
    /// Absolute repository root.
    pub repo_root: &'a Path,
    /// The lane.
    pub lane: &'a LaneProfile,
    /// Selected waves, in order (agents' executors already forced when `force` is set).
    pub waves: &'a [WavePlan],
    /// Compiled prompts and overlays of the selected waves (a dry-run preparation).
    pub prepared: &'a DryRun,
    /// The component matrix.
    pub matrix: Option<&'a ComponentMatrix>,
    /// The benchmark catalog.
    pub catalog: Option<&'a BenchmarkCatalog>,
    /// `--executor`.
    pub cli_executor: Option<ExecutorId>,
    /// `--force-executor`.
    pub force: Option<Forced>,
    /// This binary, for the local executor.
    pub local_command: &'a str,
    /// Orchestrator id exported to agents.
    pub orchestrator_id: &'a str,
    /// `--timeout-minutes` per agent.
    pub timeout: Duration,
    /// `--max-retries-per-wave`.
    pub max_retries: u64,
    /// Delay between concurrent launches of non-local agents.
    pub stagger: Duration,
    /// Variables removed from every agent's environment.
    pub scrub: Vec<String>,
    /// `WAVE_<ID>_COMMAND` / `WAVE_<ID>_BASE_URL` overrides of the agent CLIs.
    pub overrides: resolve::EnvOverrides,
    /// Secret values (API keys) masked in agent logs.
    pub secrets: Vec<String>,
    /// The agents run as root.
    pub running_as_root: bool,
    /// The store writer name.
    pub writer: &'a str,
    /// Where the gates' coordination facts come from.
    pub facts: &'a FactsSource<'a>,
    /// The wave's active rerun request, if any: its id and the agents it selects.
    pub rerun: &'a dyn Fn(u64) -> Option<(String, Vec<String>)>,
    /// Progress line sink.
    pub progress: &'a dyn Fn(&str),
    /// Called with each finished agent's id and log file (echoes the log under CI).
    pub agent_log: &'a dyn Fn(&str, &Path),
    /// The clock events, envelopes and timers use (the system clock unless injected).
    pub clock: Clock,
    /// Derived-state refresh, run before agents start and after they finish.
    pub coordinate: &'a CoordinateFn<'a>,
    /// Whether a command (an executor's binary) is on the search path.
    pub on_path: &'a dyn Fn(&str) -> bool,
    /// Retries of agent CLIs refused by a rate limit.
    pub rate_limit: RateLimitRetry,
}

/// The result of one wave.
#[derive(Debug, Clone)]
pub struct WaveOutcome {
    /// Wave number.
    pub wave: u64,
    /// Attempts used.
    pub attempts: u64,
    /// The last attempt's gate snapshot.
    pub snapshot: GateSnapshot,
    /// The last attempt's failures.
    pub failures: Vec<Failure>,
    /// Exit code of the wave (0 closed; 42, 43 or 1 otherwise).
    pub exit_code: u8,
    /// Agents launched per attempt.
    pub launched: Vec<Vec<String>>,
    /// What stopped retrying, when a retry barrier did (`retry-fallback-blocked`, …).
    pub retry_barrier: Option<retry::RetryBarrier>,
}

/// The result of a launch.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Waves run, in order; the run stops at the first wave that does not close.
    pub waves: Vec<WaveOutcome>,
}

impl Outcome {
    /// The process exit code: the first failing wave's, else 0.
    pub fn exit_code(&self) -> u8 {
        self.waves
            .iter()
            .map(|w| w.exit_code)
            .find(|c| *c != 0)
            .unwrap_or(0)
    }
}

fn now_text(cfg: &LaunchConfig<'_>) -> String {
    time::format(cfg.clock.now())
}

/// Per-agent run facts the dispatcher keeps between attempts.
#[derive(Debug, Clone)]
pub(crate) struct AgentState {
    pub(crate) executor: ExecutorId,
    pub(crate) tried: Vec<ExecutorId>,
    pub(crate) status: Option<StatusRecord>,
    pub(crate) summary: Option<ExecutionSummary>,
    pub(crate) last_end: Option<ProcessOutcome>,
}

struct Job {
    agent_id: String,
    process: AgentProcess,
    executor: ExecutorId,
}

/// Runs the selected waves.
pub fn run(cfg: &LaunchConfig<'_>, store: &dyn EventStore) -> Result<Outcome, LaunchError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LaunchError::Runtime)?;
    let mut out = Outcome { waves: Vec::new() };
    for plan in cfg.waves {
        let w = rt.block_on(run_wave(cfg, store, plan))?;
        let stop = w.exit_code != 0;
        out.waves.push(w);
        if stop {
            break;
        }
    }
    Ok(out)
}

fn state_dir(cfg: &LaunchConfig<'_>) -> PathBuf {
    lane_state_dir(cfg.repo_root, cfg.lane)
}

/// Moves a dry-run path to the live state directory.
fn live_path(cfg: &LaunchConfig<'_>, p: &Path) -> PathBuf {
    match p.strip_prefix(&cfg.prepared.dir) {
        Ok(rel) => state_dir(cfg).join(rel),
        Err(_) => p.to_owned(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError + '_ {
    move |source| LaunchError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), LaunchError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    std::fs::write(path, contents).map_err(io_err(path))
}

/// Writes the compiled prompts and overlays of one wave into the live state directory.
pub(crate) fn write_prepared(cfg: &LaunchConfig<'_>, wave: u64) -> Result<(), LaunchError> {
    let old = cfg.prepared.dir.to_string_lossy().into_owned();
    let new = state_dir(cfg).to_string_lossy().into_owned();
    let old_rel = rel(cfg.repo_root, &cfg.prepared.dir);
    let new_rel = rel(cfg.repo_root, &state_dir(cfg));
    let marks = [
        format!("prompts/wave-{wave}-"),
        format!("executors/wave-{wave}/"),
        format!("inboxes/wave-{wave}/"),
        format!("messageboards/wave-{wave}."),
    ];
    for f in &cfg.prepared.files {
        let r = rel(&cfg.prepared.dir, &f.path);
        if !marks.iter().any(|m| r.starts_with(m.as_str())) {
            continue;
        }
        let text = f
            .contents
            .replace(&old, &new)
            .replace(&format!("{old_rel}/"), &format!("{new_rel}/"));
        write_file(&live_path(cfg, &f.path), text.as_bytes())?;
    }
    Ok(())
}

/// The prepared (dry-run) text of a file of the preparation, by its path under the preparation
/// directory.
fn prepared_text<'p>(cfg: &'p LaunchConfig<'_>, rel_path: &str) -> Option<&'p str> {
    let path = cfg.prepared.dir.join(rel_path);
    cfg.prepared
        .files
        .iter()
        .find(|f| f.path == path)
        .map(|f| f.contents.as_str())
}

/// Replaces the text embedded under `heading` (a fenced markdown block) when it is `old`.
fn replace_embedded(prompt: &str, heading: &str, old: &str, new: &str) -> String {
    let fence = format!("{heading}\n```markdown\n");
    let needle = format!("{fence}{old}");
    let mut body = new.trim_end_matches('\n').to_owned();
    if old.ends_with('\n') {
        body.push('\n');
    }
    prompt.replacen(&needle, &format!("{fence}{body}"), 1)
}

/// The prompt an agent starts with: the compiled prompt with the current shared summary and
/// its current inbox in place of the preparation's placeholders (spec §9.2 items 5–6).
fn live_prompt(
    cfg: &LaunchConfig<'_>,
    wave: u64,
    agent: &Agent,
    views: &LiveViews,
) -> Option<String> {
    let prompt = prepared_text(
        cfg,
        &format!("prompts/wave-{wave}-{}.prompt.md", agent.slug),
    )?;
    let mut text = prompt.to_owned();
    if let Some(old) = prepared_text(cfg, &format!("inboxes/wave-{wave}/shared-summary.md")) {
        text = replace_embedded(
            &text,
            "Current wave shared summary:",
            old,
            &views.shared_summary,
        );
    }
    if let (Some(old), Some(new)) = (
        prepared_text(cfg, &format!("inboxes/wave-{wave}/{}.md", agent.agent_id)),
        views.inboxes.get(&agent.agent_id),
    ) {
        text = replace_embedded(&text, "Current agent inbox:", old, new);
    }
    let old = cfg.prepared.dir.to_string_lossy().into_owned();
    let new = state_dir(cfg).to_string_lossy().into_owned();
    let old_rel = rel(cfg.repo_root, &cfg.prepared.dir);
    let new_rel = rel(cfg.repo_root, &state_dir(cfg));
    Some(
        text.replace(&old, &new)
            .replace(&format!("{old_rel}/"), &format!("{new_rel}/")),
    )
}

pub(crate) fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

pub(crate) fn append(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    wave: u64,
    event: Value,
) -> Result<(), LaunchError> {
    let now = cfg.clock.now();
    let defaults = EventDefaults {
        lane: Some(cfg.lane.lane.clone()),
        wave: Some(wave),
        source: Some("launcher".into()),
        recorded_at: Some(time::format(now)),
        ..EventDefaults::default()
    };
    let ev = ControlEvent::from_value(event, &defaults).map_err(|e| LaunchError::Io {
        path: PathBuf::from("control-plane"),
        source: std::io::Error::other(e.to_string()),
    })?;
    let Value::Object(record) = ev.to_value() else {
        return Ok(());
    };
    let stream = StreamId::control(cfg.lane.lane.clone(), wave32(wave));
    store.append(&stream, cfg.writer, now, &[record])?;
    Ok(())
}

pub(crate) fn wave32(wave: u64) -> u32 {
    u32::try_from(wave).unwrap_or(u32::MAX)
}

pub(crate) fn attempt_event(
    wave: u64,
    attempt: u64,
    state: &str,
    selected: &[String],
    detail: &str,
) -> Value {
    let id = format!("wave-{wave}-attempt-{attempt}");
    json!({
        "entityType": "attempt",
        "entityId": id,
        "action": state,
        "attempt": attempt,
        "data": {
            "attemptId": id,
            "attemptNumber": attempt,
            "state": if state == "started" { "running" } else { state },
            "selectedAgentIds": selected,
            "detail": detail,
        },
    })
}

pub(crate) fn is_closure_agent(plan: &WavePlan, lane: &LaneProfile, agent: &Agent) -> bool {
    stage_of(&agent.agent_id, plan, lane).is_some()
}

/// Presence facts for every path the gates may ask about.
pub(crate) fn file_facts(root: &Path, plan: &WavePlan) -> FileFacts {
    let mut facts = FileFacts::new();
    let mut visit = |p: &str| {
        if facts.contains_key(p) {
            return;
        }
        let meta = std::fs::metadata(root.join(p)).ok();
        facts.insert(
            p.to_owned(),
            FileFact {
                exists: meta.is_some(),
                modified_at: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| jiff::Timestamp::try_from(t).ok())
                    .map(time::format),
                sha256: None,
            },
        );
    };
    for a in &plan.agents {
        for p in &a.owned_paths {
            visit(p);
        }
        for p in &a.deliverables {
            visit(p);
        }
        for p in &a.proof_artifacts {
            visit(&p.path);
        }
    }
    if let Some(p) = &plan.cont_qa_report_path {
        visit(p);
    }
    if let Some(p) = &plan.cont_eval_report_path {
        visit(p);
    }
    facts
}

/// The report an agent's summary reads, by role.
fn report_path_of(plan: &WavePlan, lane: &LaneProfile, agent: &Agent) -> Option<String> {
    let r = &lane.roles;
    if agent.agent_id == r.cont_qa_agent_id {
        plan.cont_qa_report_path.clone().or_else(|| {
            roles::report_path(&plan.agents, &agent.agent_id, roles::is_cont_qa_report_path)
        })
    } else if agent.agent_id == r.cont_eval_agent_id {
        plan.cont_eval_report_path.clone().or_else(|| {
            roles::report_path(
                &plan.agents,
                &agent.agent_id,
                roles::is_cont_eval_report_path,
            )
        })
    } else if roles::is_security_reviewer(agent, lane) {
        roles::security_report_path(agent)
    } else if roles::is_design_agent(agent, lane) {
        roles::design_report_path(agent)
    } else {
        None
    }
}

pub(crate) struct Paths {
    pub(crate) prompt: PathBuf,
    pub(crate) log: PathBuf,
    pub(crate) overlay: PathBuf,
}

pub(crate) fn agent_paths(cfg: &LaunchConfig<'_>, wave: u64, agent: &Agent) -> Paths {
    let s = state_dir(cfg);
    Paths {
        prompt: s.join(format!("prompts/wave-{wave}-{}.prompt.md", agent.slug)),
        log: s.join(format!("logs/wave-{wave}-{}.log", agent.slug)),
        overlay: s.join(format!("executors/wave-{wave}/{}", agent.slug)),
    }
}

pub(crate) fn prompt_hash(agent: &Agent, executor: ExecutorId) -> String {
    let resolved = json!({ "id": executor.as_str() });
    retry::prompt_hash(
        agent,
        &FingerprintParts {
            context7_selection_hash: "",
            executor_resolved: Some(&resolved),
            skills: None,
        },
    )
}

fn job(
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
    agent: &Agent,
    attempt: u64,
    executor: ExecutorId,
) -> Result<Job, LaunchError> {
    let paths = agent_paths(cfg, plan.wave, agent);
    let prompt = paths.prompt.to_string_lossy().into_owned();
    let mut env: Vec<(String, String)> = vec![
        ("WAVE_AGENT_ID".into(), agent.agent_id.clone()),
        ("WAVE_LANE".into(), cfg.lane.lane.clone()),
        ("WAVE_WAVE".into(), plan.wave.to_string()),
        ("WAVE_ATTEMPT".into(), attempt.to_string()),
        ("WAVE_PROMPT_FILE".into(), prompt.clone()),
        (
            "WAVE_ORCHESTRATOR_ID".into(),
            cfg.orchestrator_id.to_owned(),
        ),
        ("WAVE_EXECUTOR_MODE".into(), executor.as_str().to_owned()),
    ];
    if cfg.clock.is_injected() {
        // An injected clock carries on in the agent's own `wave` commands from now.
        env.push(("WAVE_NOW".into(), now_text(cfg)));
    }
    let program = match (&cfg.force, executor) {
        (Some(Forced::Command(program)), _) => Program::Direct {
            program: program.clone(),
            args: vec![prompt],
        },
        (_, ExecutorId::Local) => Program::Direct {
            program: PathBuf::from(cfg.local_command),
            // The same command line the launch preview shows (`wave local --prompt-file P`);
            // the prompt names the working directory and the process runs there.
            args: vec!["local".into(), "--prompt-file".into(), prompt],
        },
        (_, ExecutorId::Command) => {
            let program = crate::plan::command_program(agent, cfg.lane).ok_or_else(|| {
                LaunchError::Resolve {
                    wave: plan.wave,
                    agent: agent.agent_id.clone(),
                    message: "executor=command needs `- command.program: <path>`".to_owned(),
                }
            })?;
            let path = PathBuf::from(&program);
            Program::Direct {
                program: if path.is_relative() && program.contains('/') {
                    cfg.repo_root.join(path)
                } else {
                    path
                },
                args: vec![prompt],
            }
        }
        (_, id) => {
            let mut resolved: ResolvedExecutor =
                resolve::resolve_executor(agent, cfg.lane, cfg.cli_executor).map_err(|e| {
                    LaunchError::Resolve {
                        wave: plan.wave,
                        agent: agent.agent_id.clone(),
                        message: e.to_string(),
                    }
                })?;
            resolved.id = id;
            cfg.overrides.apply(&mut resolved);
            let log = paths.log.to_string_lossy().into_owned();
            let overlay = paths.overlay.to_string_lossy().into_owned();
            // The CLI's config home is fresh for every run.
            let home_dir = paths.overlay.join("home");
            if home_dir.exists() {
                std::fs::remove_dir_all(&home_dir).map_err(io_err(&home_dir))?;
            }
            let home = home_dir.to_string_lossy().into_owned();
            let lp = build_launch_plan(
                &resolved,
                &LaunchInput {
                    agent_id: &agent.agent_id,
                    title: &agent.title,
                    prompt_path: &prompt,
                    log_path: &log,
                    overlay_dir: &overlay,
                    local_command: cfg.local_command,
                    skill_text: "",
                    claude_base_settings: None,
                    isolation: Some(crate::run::executor::command::Isolation {
                        home_dir: &home,
                        running_as_root: cfg.running_as_root,
                    }),
                },
            );
            for f in &lp.files {
                let p = paths.overlay.join(f.name);
                // The prepared overlay files stay, except OpenCode's config: it carries the
                // endpoint overrides and the real-run settings.
                if !p.exists() || f.name == "opencode.json" {
                    write_file(&p, f.contents.as_bytes())?;
                }
            }
            env.extend(lp.spec.env.iter().cloned());
            Program::Shell {
                script: format!("set -o pipefail\n{}", lp.spec.invocation_lines.join("\n")),
            }
        }
    };
    let minutes = resolve::resolve_executor(agent, cfg.lane, cfg.cli_executor)
        .ok()
        .and_then(|r| r.budget_minutes)
        .map(|m| Duration::from_secs(m.saturating_mul(60)));
    let timeout = minutes.map_or(cfg.timeout, |m| m.min(cfg.timeout));
    Ok(Job {
        agent_id: agent.agent_id.clone(),
        process: AgentProcess {
            program,
            cwd: cfg.repo_root.to_owned(),
            env,
            scrub: cfg.scrub.clone(),
            secrets: cfg.secrets.clone(),
            log_path: paths.log,
            timeout,
        },
        executor,
    })
}

/// The inputs an agent's summary is built from, read now (its log and report).
pub(crate) fn summary_source(
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
    agent: &Agent,
    executor: ExecutorId,
    status: &StatusRecord,
    files: &FileFacts,
) -> SummarySource {
    let paths = agent_paths(cfg, plan.wave, agent);
    let report_path = report_path_of(plan, cfg.lane, agent);
    let report_text = report_path
        .as_deref()
        .and_then(|p| std::fs::read_to_string(cfg.repo_root.join(p)).ok());
    SummarySource {
        executor: Some(executor),
        status: status.clone(),
        log_text: std::fs::read_to_string(&paths.log).unwrap_or_default(),
        log_path: rel(cfg.repo_root, &paths.log),
        report_path,
        report_text,
        files: files.clone(),
    }
}

pub(crate) struct Evaluation {
    pub(crate) snapshot: GateSnapshot,
    pub(crate) material: Material,
}

/// What the gates read besides summaries, read now: file facts, coordination facts, agent logs
/// and the component matrix (agents may move it forward: the documentation steward records
/// promotions).
fn gather(cfg: &LaunchConfig<'_>, plan: &WavePlan) -> Material {
    let mut logs = BTreeMap::new();
    for a in &plan.agents {
        if let Ok(text) = std::fs::read_to_string(agent_paths(cfg, plan.wave, a).log) {
            logs.insert(a.agent_id.clone(), text);
        }
    }
    Material {
        files: file_facts(cfg.repo_root, plan),
        coordination: (cfg.facts)(plan.wave),
        logs,
        matrix_text: std::fs::read_to_string(
            cfg.repo_root
                .join(&cfg.lane.paths.component_cutover_matrix_json_path),
        )
        .ok(),
    }
}

fn gate_inputs_eval<R>(
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
    summaries: &BTreeMap<String, ExecutionSummary>,
    files: &FileFacts,
    coordination: &CoordinationFacts,
    f: impl FnOnce(&GateInputs<'_>) -> R,
) -> R {
    let mut material = gather(cfg, plan);
    material.files = files.clone();
    material.coordination = coordination.clone();
    with_material(cfg, plan, summaries, &material, f)
}

fn with_material<R>(
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
    summaries: &BTreeMap<String, ExecutionSummary>,
    material: &Material,
    f: impl FnOnce(&GateInputs<'_>) -> R,
) -> R {
    trace::with_gate_inputs(
        plan,
        cfg.lane,
        cfg.matrix,
        cfg.catalog,
        summaries,
        material,
        f,
    )
}

/// Retries of agent CLIs refused by a rate limit (spec §9.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitRetry {
    /// Retries after the first try (`--agent-rate-limit-retries`, default 2).
    pub retries: u64,
    /// Delay before the first retry, doubled for each later one.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RateLimitRetry {
    fn default() -> Self {
        Self {
            retries: 2,
            base_delay: Duration::from_secs(20),
            max_delay: Duration::from_secs(180),
        }
    }
}

/// True when a try's output says the model provider refused it for its rate limit.
pub fn rate_limited(output: &str) -> bool {
    let low = output.to_lowercase();
    [
        "429 too many requests",
        "exceeded retry limit",
        "last status: 429",
        "rate limit",
    ]
    .iter()
    .any(|p| low.contains(p))
}

/// The wait before retry `n` (1-based): `min(base * 2^(n-1), max)` plus up to four seconds of
/// jitter derived from the agent and the retry (none when the base delay is zero).
pub fn rate_limit_delay(policy: &RateLimitRetry, agent_id: &str, n: u64) -> Duration {
    let factor = 1u32
        .checked_shl(u32::try_from(n.saturating_sub(1)).unwrap_or(31))
        .unwrap_or(u32::MAX);
    let delay = policy
        .base_delay
        .checked_mul(factor)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay);
    if policy.base_delay.is_zero() {
        return delay;
    }
    let mut h: u64 = 1469598103934665603;
    for b in agent_id.bytes().chain(n.to_le_bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    delay + Duration::from_secs(h % 5)
}

/// Runs an agent CLI, trying again while its output shows a rate limit (spec §9.5): the log
/// keeps every try, with a launcher line before each retry; the agent's deadline covers all
/// tries.
async fn run_with_rate_limit(
    p: AgentProcess,
    policy: RateLimitRetry,
    lane: String,
    agent_id: String,
) -> process::Finished {
    let start = std::time::Instant::now();
    let mut earlier = String::new();
    let mut n = 0;
    loop {
        let mut try_p = p.clone();
        try_p.timeout = p.timeout.saturating_sub(start.elapsed());
        let f = process::run(try_p).await;
        let output = std::fs::read_to_string(&p.log_path).unwrap_or_default();
        let retry = matches!(f.outcome, ProcessOutcome::Exited(c) if c != 0)
            && n < policy.retries
            && rate_limited(&output);
        if !retry {
            if !earlier.is_empty() {
                let _ = std::fs::write(&p.log_path, format!("{earlier}{output}"));
            }
            return process::Finished {
                outcome: f.outcome,
                elapsed: start.elapsed(),
            };
        }
        n += 1;
        let delay = rate_limit_delay(&policy, &agent_id, n);
        earlier.push_str(&output);
        if !earlier.ends_with('\n') && !earlier.is_empty() {
            earlier.push('\n');
        }
        earlier.push_str(&format!(
            "[{lane}-wave-launcher] rate-limit detected for {agent_id}; retry {n}/{} after {}s\n",
            policy.retries,
            delay.as_secs()
        ));
        if start.elapsed() + delay >= p.timeout {
            let _ = std::fs::write(&p.log_path, &earlier);
            return process::Finished {
                outcome: ProcessOutcome::TimedOut,
                elapsed: start.elapsed(),
            };
        }
        tokio::time::sleep(delay).await;
    }
}

async fn run_jobs(cfg: &LaunchConfig<'_>, jobs: Vec<Job>) -> Vec<(Job, process::Finished)> {
    let mut set = tokio::task::JoinSet::new();
    let count = jobs.len();
    for (i, j) in jobs.into_iter().enumerate() {
        if i > 0 && j.executor != ExecutorId::Local && !cfg.stagger.is_zero() {
            tokio::time::sleep(cfg.stagger).await;
        }
        let p = j.process.clone();
        // Agent CLIs get the rate-limit wrapper; the local executor and forced programs do not.
        let wrapped = j.executor != ExecutorId::Local && cfg.force.is_none();
        let policy = cfg.rate_limit;
        let lane = cfg.lane.lane.clone();
        set.spawn(async move {
            let f = if wrapped {
                run_with_rate_limit(p, policy, lane, j.agent_id.clone()).await
            } else {
                process::run(p).await
            };
            (j, f)
        });
    }
    let mut done = Vec::with_capacity(count);
    while let Some(r) = set.join_next().await {
        if let Ok(pair) = r {
            done.push(pair);
        }
    }
    done
}

pub(crate) struct WaveRun<'c, 'a> {
    pub(crate) cfg: &'c LaunchConfig<'a>,
    pub(crate) store: &'c dyn EventStore,
    pub(crate) plan: &'c WavePlan,
    pub(crate) attempt: u64,
    pub(crate) agents: BTreeMap<String, AgentState>,
    pub(crate) summaries: BTreeMap<String, ExecutionSummary>,
    /// The inputs each summary was built from (for the trace bundle).
    pub(crate) sources: BTreeMap<String, SummarySource>,
    pub(crate) launched: Vec<String>,
}

impl WaveRun<'_, '_> {
    pub(crate) fn progress(&self, text: &str) {
        (self.cfg.progress)(&format!(
            "[{}] wave {} attempt {}: {text}",
            self.cfg.lane.lane, self.plan.wave, self.attempt
        ));
    }

    /// Rebuilds the wave's derived coordination state (triage, timers, projections).
    fn coordinate(&self) -> Option<LiveViews> {
        (self.cfg.coordinate)(self.plan.wave, self.attempt, false)
    }

    /// Launches agents concurrently and records their ends, summaries and envelopes. The
    /// derived coordination state is rebuilt first (each prompt embeds the current shared
    /// summary and the agent's inbox) and again once the agents have finished.
    pub(crate) async fn launch(&mut self, ids: &[String]) -> Result<Vec<Failure>, LaunchError> {
        let views = self.coordinate();
        let mut jobs = Vec::new();
        for id in ids {
            let Some(agent) = self.plan.agent(id) else {
                continue;
            };
            if let Some(text) = views
                .as_ref()
                .and_then(|v| live_prompt(self.cfg, self.plan.wave, agent, v))
            {
                write_file(
                    &agent_paths(self.cfg, self.plan.wave, agent).prompt,
                    text.as_bytes(),
                )?;
            }
            let executor = self
                .agents
                .get(id)
                .map_or(ExecutorId::Local, |s| s.executor);
            let j = job(self.cfg, self.plan, agent, self.attempt, executor)?;
            let run_id = format!(
                "wave-{}-attempt-{}-agent-{}",
                self.plan.wave, self.attempt, id
            );
            append(
                self.cfg,
                self.store,
                self.plan.wave,
                json!({
                    "entityType": "agent_run", "entityId": run_id, "action": "started",
                    "attempt": self.attempt,
                    "data": {"agentId": id, "attemptNumber": self.attempt,
                             "executorId": executor.as_str(), "startedAt": now_text(self.cfg)},
                }),
            )?;
            let label = match &self.cfg.force {
                Some(Forced::Command(p)) => format!("command {}", p.display()),
                _ => executor.as_str().to_owned(),
            };
            self.progress(&format!("{id} started ({label})"));
            jobs.push(j);
        }
        let finished = run_jobs(self.cfg, jobs).await;
        let files = file_facts(self.cfg.repo_root, self.plan);
        let mut failures = Vec::new();
        for (j, f) in finished {
            let Some(agent) = self.plan.agent(&j.agent_id) else {
                continue;
            };
            let completed_at = now_text(self.cfg);
            let hash = prompt_hash(agent, j.executor);
            let (action, code, status_code, end) = match &f.outcome {
                ProcessOutcome::Exited(0) => ("completed", Some(0), None, ProcessEnd::Exited(0)),
                ProcessOutcome::Exited(c) => (
                    "failed",
                    Some(*c),
                    Some(c.to_string()),
                    ProcessEnd::Exited(*c),
                ),
                ProcessOutcome::TimedOut => (
                    "timed_out",
                    None,
                    Some("timeout-no-status".to_owned()),
                    ProcessEnd::TimeoutNoStatus,
                ),
                ProcessOutcome::SpawnFailed(msg) => {
                    let log = &j.process.log_path;
                    let _ = std::fs::write(log, format!("{msg}\n"));
                    (
                        "failed",
                        Some(127),
                        Some("127".to_owned()),
                        ProcessEnd::Exited(127),
                    )
                }
            };
            if f.outcome == ProcessOutcome::TimedOut {
                // Make the log say so, as the summary's termination detection expects.
                use std::io::Write;
                if let Ok(mut file) = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&j.process.log_path)
                {
                    let _ = writeln!(
                        file,
                        "[{}-wave-launcher] {} timed out after {} s",
                        self.cfg.lane.lane,
                        j.agent_id,
                        j.process.timeout.as_secs()
                    );
                    // An infrastructure failure, not a proof gap: the infra gate names it.
                    let _ = writeln!(
                        file,
                        "[infra-status] kind=executor target={} state=failed detail=timed-out-after-{}s-without-a-result",
                        j.executor.as_str(),
                        j.process.timeout.as_secs()
                    );
                }
            }
            let status = StatusRecord {
                code,
                prompt_hash: Some(hash),
                attempt: Some(self.attempt),
                completed_at: Some(completed_at.clone()),
                ..StatusRecord::default()
            };
            let source = summary_source(self.cfg, self.plan, agent, j.executor, &status, &files);
            let summary = source.summary(agent);
            self.sources.insert(j.agent_id.clone(), source);
            let run_id = format!(
                "wave-{}-attempt-{}-agent-{}",
                self.plan.wave, self.attempt, j.agent_id
            );
            let mut data = Map::new();
            data.insert("agentId".into(), json!(j.agent_id));
            data.insert("attemptNumber".into(), json!(self.attempt));
            data.insert("executorId".into(), json!(j.executor.as_str()));
            data.insert("completedAt".into(), json!(completed_at));
            data.insert("elapsedMs".into(), json!(f.elapsed.as_millis() as u64));
            if let Some(c) = code {
                data.insert("exitCode".into(), json!(c));
            }
            if let Some(s) = &status_code {
                data.insert("statusCode".into(), json!(s));
            }
            append(
                self.cfg,
                self.store,
                self.plan.wave,
                json!({"entityType": "agent_run", "entityId": run_id, "action": action,
                       "attempt": self.attempt, "data": Value::Object(data)}),
            )?;
            self.put_envelope(agent, &summary, &completed_at)?;
            self.progress(&format!(
                "{} {action}{} in {} ms",
                j.agent_id,
                code.map(|c| format!(" (exit {c})")).unwrap_or_default(),
                f.elapsed.as_millis()
            ));
            (self.cfg.agent_log)(&j.agent_id, &j.process.log_path);
            let log_rel = rel(self.cfg.repo_root, &j.process.log_path);
            if let Some(fail) = Failure::from_process(&j.agent_id, end, Some(&log_rel)) {
                failures.push(fail);
            }
            self.launched.push(j.agent_id.clone());
            self.summaries.insert(j.agent_id.clone(), summary.clone());
            if let Some(st) = self.agents.get_mut(&j.agent_id) {
                st.status = Some(status);
                st.summary = Some(summary);
                st.last_end = Some(f.outcome.clone());
                if !st.tried.contains(&j.executor) {
                    st.tried.push(j.executor);
                }
            }
        }
        // Agents' records (clarifications, answers) are triaged before the gates read them.
        let _ = self.coordinate();
        Ok(failures)
    }

    /// Records a steward the closure sweep did not need to launch: an `agent_run` with action
    /// `skipped`, exit 0 and the policy's reason, so the wave's state shows the stage as closed
    /// by policy rather than pending.
    fn record_skip(&self, agent_id: &str, stage: &str, reason: &str) -> Result<(), LaunchError> {
        let run_id = format!(
            "wave-{}-attempt-{}-agent-{}",
            self.plan.wave, self.attempt, agent_id
        );
        append(
            self.cfg,
            self.store,
            self.plan.wave,
            json!({"entityType": "agent_run", "entityId": run_id, "action": "skipped",
                   "attempt": self.attempt,
                   "data": {"agentId": agent_id, "attemptNumber": self.attempt, "exitCode": 0,
                            "statusCode": "closure-skipped", "stage": stage,
                            "detail": reason, "completedAt": now_text(self.cfg)}}),
        )
    }

    fn put_envelope(
        &self,
        agent: &Agent,
        summary: &ExecutionSummary,
        completed_at: &str,
    ) -> Result<(), LaunchError> {
        let role = envelope_role(self.plan, self.cfg.lane, agent);
        let ctx = EnvelopeContext {
            wave: self.plan.wave,
            attempt: self.attempt,
            role,
            completed_at_fallback: completed_at,
        };
        if build_envelope(summary, &ctx).is_err() {
            return Ok(());
        }
        let Value::Object(body) = envelope_value(summary, &ctx) else {
            return Ok(());
        };
        let key = ResultKey::new(
            self.cfg.lane.lane.clone(),
            wave32(self.plan.wave),
            u32::try_from(self.attempt).unwrap_or(u32::MAX),
            agent.agent_id.clone(),
        );
        let body: Record = body;
        self.store.put_result(&key, &body)?;
        Ok(())
    }

    /// The retry decision after a failed attempt (spec §8.4), from the current gates,
    /// closure readiness and coordination facts.
    pub(crate) fn plan_retry(
        &self,
        snapshot: &GateSnapshot,
        failures: &[Failure],
        executors: &BTreeMap<String, retry::ExecutorState>,
        models: &BTreeMap<ExecutorId, String>,
        next_attempt: u64,
    ) -> retry::RetryPlan {
        let files = file_facts(self.cfg.repo_root, self.plan);
        let facts = (self.cfg.facts)(self.plan.wave);
        let available = available_executors(self.cfg, executors);
        gate_inputs_eval(self.cfg, self.plan, &self.summaries, &files, &facts, |i| {
            let readiness = gates::closure_readiness(i, snapshot);
            retry::resolve_retry(&retry::RetryInputs {
                plan: self.plan,
                lane: self.cfg.lane,
                failures,
                coordination: &facts,
                snapshot,
                readiness: &readiness,
                executors,
                available_executors: &available,
                lane_models: models,
                next_attempt,
                rerun: None,
            })
        })
    }

    pub(crate) fn evaluate(&self) -> Evaluation {
        let material = gather(self.cfg, self.plan);
        let snapshot = with_material(
            self.cfg,
            self.plan,
            &self.summaries,
            &material,
            gates::evaluate,
        );
        Evaluation { snapshot, material }
    }

    /// The closure sweep: stewards one at a time, in stage order.
    async fn sweep(&mut self, closure: &[String]) -> Result<Vec<GateResult>, LaunchError> {
        let gate_mode = gates::resolve_gate_mode(
            self.plan.wave,
            Some(&self.cfg.lane.validation.gate_mode_thresholds),
        );
        let mut sweep =
            ClosureSweep::new(self.plan, self.cfg.lane, closure, self.attempt, gate_mode);
        loop {
            let material = gather(self.cfg, self.plan);
            let action = with_material(self.cfg, self.plan, &self.summaries, &material, |i| {
                sweep.next(i)
            });
            match action {
                SweepAction::Launch { agent_id, .. } => {
                    let fails = self.launch(std::slice::from_ref(&agent_id)).await?;
                    let failure = fails.first().map(|f| {
                        GateResult::fail(Some(&agent_id), &f.status_code, f.detail.clone())
                    });
                    sweep.record_run(&agent_id, failure);
                }
                SweepAction::Done(outcome) => {
                    for (stage, reason) in &outcome.skipped {
                        self.progress(&format!("closure stage {} skipped: {reason}", stage.key()));
                        let ids: Vec<String> = sweep
                            .stages()
                            .iter()
                            .filter(|s| s.stage == *stage)
                            .flat_map(|s| s.agent_ids.iter().cloned())
                            .collect();
                        for id in ids {
                            self.record_skip(&id, stage.key(), reason)?;
                        }
                    }
                    return Ok(outcome.failures);
                }
            }
        }
    }
}

fn envelope_role(plan: &WavePlan, lane: &LaneProfile, agent: &Agent) -> Option<&'static str> {
    use crate::engine::closure::ClosureStage as S;
    match stage_of(&agent.agent_id, plan, lane) {
        Some(S::ContQa) => Some("cont-qa"),
        Some(S::ContEval) => Some("cont-eval"),
        Some(S::Integration) => Some("integration"),
        Some(S::Documentation) => Some("documentation"),
        Some(S::SecurityReview) => Some("security"),
        None if roles::is_design_agent(agent, lane) => Some("design"),
        None => Some("implementation"),
    }
}

/// How an agent's executor was chosen (spec §9.1 `selectedBy`).
fn selected_by(cfg: &LaunchConfig<'_>, agent: &Agent) -> &'static str {
    let config = agent.executor.as_ref();
    let profile = config
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| cfg.lane.executors.profiles.get(p));
    if cfg.force.is_some() {
        "forced"
    } else if config.and_then(|c| c.id).is_some() {
        "agent-id"
    } else if profile.and_then(|p| p.id).is_some() {
        "agent-profile"
    } else if cfg.cli_executor.is_some() {
        "cli-default"
    } else {
        "lane-default"
    }
}

/// True when the agent's last run can be reused: exit 0, same prompt hash, its slice proven.
pub(crate) fn reusable(st: &AgentState, agent: &Agent, proven: bool) -> bool {
    let hash = prompt_hash(agent, st.executor);
    proven && retry::reusable_status(st.status.as_ref(), &hash)
}

/// The retry-planning view of an agent's executor (spec §9.1): its fallback chain is the
/// profile's and the agent's fallbacks, else the lane's fallback order; none when every agent
/// is forced onto one executor.
pub(crate) fn executor_state(
    cfg: &LaunchConfig<'_>,
    agent: &Agent,
    id: ExecutorId,
) -> retry::ExecutorState {
    let config = agent.executor.as_ref();
    let profile = config
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| cfg.lane.executors.profiles.get(p));
    let mut chain: Vec<ExecutorId> = Vec::new();
    for e in profile
        .map(|p| p.fallbacks.iter())
        .into_iter()
        .flatten()
        .chain(config.map(|c| c.fallbacks.iter()).into_iter().flatten())
    {
        if !chain.contains(e) {
            chain.push(*e);
        }
    }
    if chain.is_empty() {
        chain = cfg.lane.runtime_policy.fallback_executor_order.clone();
    }
    if cfg.force.is_some() {
        chain.clear();
    }
    let model = resolve::resolve_executor(agent, cfg.lane, cfg.cli_executor)
        .ok()
        .and_then(|r| r.model);
    retry::ExecutorState::initial(
        id,
        selected_by(cfg, agent),
        config.and_then(|c| c.retry_policy),
        config.and_then(|c| c.allow_fallback_on_retry),
        retry::is_proof_centric(agent),
        chain,
        model,
    )
}

/// Lane models per executor (claude, opencode), for fallback states.
pub(crate) fn lane_models(lane: &LaneProfile) -> BTreeMap<ExecutorId, String> {
    let mut out = BTreeMap::new();
    for (id, runtime) in [
        (ExecutorId::Claude, &lane.executors.claude),
        (ExecutorId::Opencode, &lane.executors.opencode),
    ] {
        if let Some(m) = runtime.get("model").and_then(Value::as_str) {
            out.insert(id, m.to_owned());
        }
    }
    out
}

/// The executors of the fallback chains whose command can run: `local` always, the others
/// when their command is on the search path.
fn available_executors(
    cfg: &LaunchConfig<'_>,
    states: &BTreeMap<String, retry::ExecutorState>,
) -> BTreeSet<ExecutorId> {
    let mut out = BTreeSet::new();
    for id in states
        .values()
        .flat_map(|s| s.fallbacks.iter().chain([&s.id]))
    {
        if out.contains(id) {
            continue;
        }
        let command = ResolvedExecutor::new(*id)
            .command(cfg.local_command)
            .to_owned();
        if *id == ExecutorId::Local || (cfg.on_path)(&command) {
            out.insert(*id);
        }
    }
    out
}

/// Closure barriers no rerun of an agent settles by itself: the wave waits for coordination.
fn coordination_barrier(gate: &str) -> bool {
    matches!(
        gate,
        "helperAssignmentBarrier" | "dependencyBarrier" | "clarificationBarrier"
    )
}

/// Every agent of the wave with the executor it starts on (forced, else resolved).
pub(crate) fn initial_agents(
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
) -> Result<BTreeMap<String, AgentState>, LaunchError> {
    let mut agents = BTreeMap::new();
    for a in &plan.agents {
        let executor = match &cfg.force {
            Some(Forced::Executor(id)) => *id,
            Some(Forced::Command(_)) => ExecutorId::Local,
            None => resolve::resolve_executor(a, cfg.lane, cfg.cli_executor)
                .map(|r| r.id)
                .map_err(|e| LaunchError::Resolve {
                    wave: plan.wave,
                    agent: a.agent_id.clone(),
                    message: e.to_string(),
                })?,
        };
        agents.insert(
            a.agent_id.clone(),
            AgentState {
                executor,
                tried: Vec::new(),
                status: None,
                summary: None,
                last_end: None,
            },
        );
    }
    Ok(agents)
}

async fn run_wave(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    plan: &WavePlan,
) -> Result<WaveOutcome, LaunchError> {
    write_prepared(cfg, plan.wave)?;
    let agents = initial_agents(cfg, plan)?;
    let mut run = WaveRun {
        cfg,
        store,
        plan,
        attempt: 0,
        agents,
        summaries: BTreeMap::new(),
        sources: BTreeMap::new(),
        launched: Vec::new(),
    };
    let max_attempts = cfg.max_retries.saturating_add(1);
    let mut launched_per_attempt = Vec::new();
    let mut last: Option<(GateSnapshot, Vec<Failure>)> = None;
    // Attempt numbers continue after earlier launches of the wave: envelopes are immutable.
    let (base, stale) = previous_attempts(cfg, store, plan.wave)?;
    for a in stale {
        append(
            cfg,
            store,
            plan.wave,
            attempt_event(
                plan.wave,
                a,
                "cancelled",
                &[],
                "the launcher that ran this attempt stopped before finishing it",
            ),
        )?;
    }
    // An active rerun request narrows the first attempt to its agents; the others keep the
    // result of their last run, rebuilt from their logs.
    let rerun = (cfg.rerun)(plan.wave).filter(|(_, ids)| !ids.is_empty());
    if let Some((_, ids)) = &rerun {
        let files = file_facts(cfg.repo_root, plan);
        for a in plan.agents.iter().filter(|a| !ids.contains(&a.agent_id)) {
            let Some(st) = run.agents.get(&a.agent_id) else {
                continue;
            };
            if !agent_paths(cfg, plan.wave, a).log.is_file() {
                continue;
            }
            let status = StatusRecord {
                code: Some(0),
                prompt_hash: Some(prompt_hash(a, st.executor)),
                ..StatusRecord::default()
            };
            let source = summary_source(cfg, plan, a, st.executor, &status, &files);
            let summary = source.summary(a);
            run.sources.insert(a.agent_id.clone(), source);
            run.summaries.insert(a.agent_id.clone(), summary.clone());
            if let Some(s) = run.agents.get_mut(&a.agent_id) {
                s.status = Some(status);
                s.summary = Some(summary);
            }
        }
    }
    let mut executors: BTreeMap<String, retry::ExecutorState> = run
        .agents
        .iter()
        .filter_map(|(id, st)| {
            Some((
                id.clone(),
                executor_state(cfg, plan.agent(id)?, st.executor),
            ))
        })
        .collect();
    let models = lane_models(cfg.lane);
    let closure_all: Vec<String> = plan
        .agents
        .iter()
        .filter(|a| is_closure_agent(plan, cfg.lane, a))
        .map(|a| a.agent_id.clone())
        .collect();
    // The retry decision for the next attempt (spec §8.4), once an attempt has failed.
    let mut retry_plan: Option<retry::RetryPlan> = None;
    for n in 1..=max_attempts {
        let attempt = base + n;
        run.attempt = attempt;
        run.launched.clear();
        let (impl_ids, closure_ids, closure_only) = match &retry_plan {
            None => {
                // Every implementation agent, or those of an active rerun request.
                let ids: Vec<String> = plan
                    .agents
                    .iter()
                    .filter(|a| !is_closure_agent(plan, cfg.lane, a))
                    .filter(|a| match &rerun {
                        Some((_, ids)) => {
                            ids.contains(&a.agent_id) || !run.summaries.contains_key(&a.agent_id)
                        }
                        None => true,
                    })
                    .map(|a| a.agent_id.clone())
                    .collect();
                (ids, closure_all.clone(), false)
            }
            Some(p) => {
                let (closure, implementation): (Vec<String>, Vec<String>) = p
                    .selected_agent_ids
                    .iter()
                    .cloned()
                    .partition(|id| closure_all.contains(id));
                if implementation.is_empty() {
                    // A closure-only retry: the sweep reruns every stage, since a stage's
                    // verdict reads the stages before it.
                    let _ = closure;
                    (implementation, closure_all.clone(), true)
                } else {
                    (implementation, closure_all.clone(), false)
                }
            }
        };
        let mut selected = impl_ids.clone();
        selected.extend(closure_ids.iter().cloned());
        append(
            cfg,
            store,
            plan.wave,
            attempt_event(plan.wave, attempt, "started", &selected, "launcher attempt"),
        )?;
        let failures = run.launch(&impl_ids).await?;
        let (snapshot, failures) =
            close_attempt(&mut run, failures, &closure_ids, closure_only).await?;
        if n == 1
            && let Some((id, _)) = &rerun
        {
            append(cfg, store, plan.wave, rerun_applied(id, attempt))?;
        }
        launched_per_attempt.push(run.launched.clone());
        let done = failures.is_empty();
        if done {
            last = Some((snapshot, failures));
            retry_plan = None;
            break;
        }
        // What the next attempt would run (spec §8.4), also for the final classification.
        let next = run.plan_retry(&snapshot, &failures, &executors, &models, attempt + 1);
        last = Some((snapshot, failures));
        let stop = next.source == retry::RetrySource::HumanWait
            || next.barrier.is_some()
            || next.selected_agent_ids.is_empty();
        if !stop && n < max_attempts {
            for (id, st) in &next.executor_changes {
                if let Some(a) = run.agents.get_mut(id) {
                    if a.executor != st.id {
                        (cfg.progress)(&format!(
                            "[{}] wave {} attempt {attempt}: {id}: falling back from {} to {}",
                            cfg.lane.lane,
                            plan.wave,
                            a.executor.as_str(),
                            st.id.as_str()
                        ));
                        // The retry engine's choice, recorded as the fan-out's close job does.
                        append(
                            cfg,
                            store,
                            plan.wave,
                            json!({"entityType": "artifact",
                                   "entityId": format!("wave-{}-attempt-{}-agent-{id}-executor",
                                                       plan.wave, attempt + 1),
                                   "action": "recorded", "attempt": attempt + 1,
                                   "data": {"kind": crate::engine::control::EXECUTOR_FALLBACK_KIND,
                                            "agentId": id, "attemptNumber": attempt + 1,
                                            "executorId": st.id.as_str(),
                                            "fromExecutorId": a.executor.as_str(),
                                            "reason": st.fallback_reason}}),
                        )?;
                    }
                    a.executor = st.id;
                }
                executors.insert(id.clone(), st.clone());
            }
            run.progress(&format!(
                "retry selects {} ({})",
                next.selected_agent_ids.join(", "),
                serde_json::to_value(next.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
        if let Some(b) = &next.barrier {
            run.progress(&format!("retry blocked ({}): {}", b.status_code, b.detail));
        }
        retry_plan = Some(next);
        if stop {
            break;
        }
    }
    let (snapshot, failures) = last.unwrap_or_else(|| (run.evaluate().snapshot, Vec::new()));
    let final_outcome = retry::final_outcome(&failures, &run.summaries, retry_plan.as_ref());
    let mut exit_code = final_outcome.exit_code;
    // A wave blocked on coordination waits for people or other agents: recoverable.
    if !failures.is_empty() && coordination_barrier(&snapshot.overall.gate) {
        exit_code = crate::exit::Code::BLOCKED.0;
    }
    Ok(WaveOutcome {
        wave: plan.wave,
        attempts: launched_per_attempt.len() as u64,
        snapshot,
        failures,
        exit_code,
        launched: launched_per_attempt,
        retry_barrier: retry_plan.and_then(|p| p.barrier),
    })
}

/// The event marking a rerun request applied in `attempt`.
pub(crate) fn rerun_applied(id: &str, attempt: u64) -> Value {
    json!({"entityType": "rerun_request", "entityId": id, "action": "applied",
           "attempt": attempt,
           "data": {"requestId": id, "state": "applied", "appliedInAttempt": attempt}})
}

/// Finishes an attempt once its implementation agents have run: the closure sweep when
/// implementation passes, the final gate evaluation, the gate snapshot projection and the
/// attempt's `gate` and terminal `attempt` events. Returns the snapshot and every failure.
pub(crate) async fn close_attempt(
    run: &mut WaveRun<'_, '_>,
    mut failures: Vec<Failure>,
    closure_ids: &[String],
    closure_only: bool,
) -> Result<(GateSnapshot, Vec<Failure>), LaunchError> {
    let cfg = run.cfg;
    let store = run.store;
    let plan = run.plan;
    let attempt = run.attempt;
    let mid = run.evaluate();
    // The sweep starts only once implementation passes (a closure-only retry runs it
    // regardless: only the stewards were selected).
    let impl_gates = [
        "designGate",
        "implementationGate",
        "componentGate",
        "helperAssignmentBarrier",
        "dependencyBarrier",
    ];
    let blocking = impl_gates.iter().find_map(|g| {
        mid.snapshot
            .gate(g)
            .filter(|r| !r.ok && !mid.snapshot.advisory_failures.iter().any(|a| a.gate == *g))
            .cloned()
    });
    if failures.is_empty() && (blocking.is_none() || closure_only) {
        let sweep_failures = run.sweep(closure_ids).await?;
        failures.extend(sweep_failures.iter().map(Failure::from_gate));
    } else if let Some(g) = &blocking {
        failures.push(Failure::from_gate(g));
    }
    let eval = run.evaluate();
    if !eval.snapshot.overall.ok
        && !failures
            .iter()
            .any(|f| f.status_code == eval.snapshot.overall.status_code)
    {
        let o = &eval.snapshot.overall;
        let mut g = GateResult::fail(o.agent_id.as_deref(), &o.status_code, o.detail.clone());
        g.ok = false;
        failures.push(Failure::from_gate(&g));
    }
    let state = if failures.is_empty() {
        "completed"
    } else {
        "failed"
    };
    write_snapshot(cfg, plan.wave, attempt, &eval, run)?;
    let gate_id = format!("wave-{}-attempt-{attempt}-gates", plan.wave);
    append(
        cfg,
        store,
        plan.wave,
        json!({"entityType": "gate", "entityId": gate_id, "action": "evaluated",
               "attempt": attempt, "data": eval.snapshot.to_value()}),
    )?;
    let detail = if failures.is_empty() {
        "closure passed".to_owned()
    } else {
        failures
            .iter()
            .map(|f| f.status_code.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    append(
        cfg,
        store,
        plan.wave,
        attempt_event(plan.wave, attempt, state, &[], &detail),
    )?;
    run.progress(&format!("{state}: {detail}"));
    if failures.is_empty() {
        // The wave closed: the launcher's own request seeds are resolved with it.
        let _ = (cfg.coordinate)(plan.wave, attempt, true);
    }
    Ok((eval.snapshot, failures))
}

/// The highest attempt number the store holds for the wave (0 when none), and the attempts a
/// previous launcher left running (it is gone: this one holds the lock).
fn previous_attempts(
    cfg: &LaunchConfig<'_>,
    store: &dyn EventStore,
    wave: u64,
) -> Result<(u64, Vec<u64>), LaunchError> {
    let results = store.list_results(&cfg.lane.lane, wave32(wave))?;
    let mut max = results
        .iter()
        .map(|k| u64::from(k.attempt))
        .max()
        .unwrap_or(0);
    let stream = StreamId::control(cfg.lane.lane.clone(), wave32(wave));
    let needle = format!("\"entityId\":\"wave-{wave}-attempt-");
    let mut last_action: BTreeMap<u64, (String, bool)> = BTreeMap::new();
    store.visit(&stream, &mut |line| {
        if let Some(i) = line.text.find(&needle) {
            let rest = &line.text[i + needle.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(a) = digits.parse::<u64>() {
                max = max.max(a);
                let whole_attempt = rest[digits.len()..].starts_with('"');
                if whole_attempt {
                    let at = line.text.find("\"at\":\"").map_or("", |j| {
                        let t = &line.text[j + 6..];
                        &t[..t.find('"').unwrap_or(0)]
                    });
                    let started = line.text.contains("\"action\":\"started\"");
                    let e = last_action.entry(a).or_insert((String::new(), false));
                    if at >= e.0.as_str() {
                        *e = (at.to_owned(), started);
                    }
                }
            }
        }
        Ok(())
    })?;
    let open = last_action
        .into_iter()
        .filter(|(_, (_, started))| *started)
        .map(|(a, _)| a)
        .collect();
    Ok((max, open))
}

pub(crate) fn files_and_summary_prove(run: &WaveRun<'_, '_>, agent: &Agent) -> bool {
    let files = file_facts(run.cfg.repo_root, run.plan);
    let facts = (run.cfg.facts)(run.plan.wave);
    gate_inputs_eval(run.cfg, run.plan, &run.summaries, &files, &facts, |i| {
        gates::owned_slice(i, agent).proven
    })
}

/// Writes the gate snapshot projection and the attempt's trace bundle.
pub(crate) fn write_snapshot(
    cfg: &LaunchConfig<'_>,
    wave: u64,
    attempt: u64,
    eval: &Evaluation,
    run: &WaveRun<'_, '_>,
) -> Result<(), LaunchError> {
    let s = state_dir(cfg);
    let snapshot = &eval.snapshot;
    let text = serde_json::to_string_pretty(&snapshot.to_value()).unwrap_or_default() + "\n";
    write_file(&s.join(format!("gates/wave-{wave}.json")), text.as_bytes())?;
    let trace_dir = s.join(format!("traces/wave-{wave}/attempt-{attempt}"));
    let agents: Vec<Value> = run
        .plan
        .agents
        .iter()
        .map(|a| {
            let st = run.agents.get(&a.agent_id);
            json!({
                "agentId": a.agent_id,
                "executorId": st.map(|s| s.executor.as_str()),
                "launched": run.launched.contains(&a.agent_id),
                "promptHash": st.and_then(|s| s.status.as_ref()).and_then(|s| s.prompt_hash.clone()),
            })
        })
        .collect();
    trace::write(
        &trace_dir,
        &trace::Bundle {
            repo_root: cfg.repo_root,
            lane: cfg.lane,
            plan: run.plan,
            attempt,
            snapshot,
            material: &eval.material,
            sources: &run.sources,
            agents,
        },
    )
    .map_err(|e| LaunchError::Io {
        path: trace_dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_are_recognised_in_any_case() {
        assert!(rate_limited(
            "ERROR: unexpected status 429 Too Many Requests"
        ));
        assert!(rate_limited(
            "stream error: exceeded retry limit, last status: 429"
        ));
        assert!(rate_limited("Rate limit reached for gpt"));
        assert!(!rate_limited("error: file not found\n"));
    }

    #[test]
    fn rate_limit_delays_double_up_to_the_cap_with_bounded_jitter() {
        let p = RateLimitRetry::default();
        for (n, base) in [(1, 20), (2, 40), (3, 80), (4, 160), (5, 180), (40, 180)] {
            let d = rate_limit_delay(&p, "A1", n).as_secs();
            assert!((base..base + 5).contains(&d), "retry {n}: {d}");
            assert_eq!(rate_limit_delay(&p, "A1", n), rate_limit_delay(&p, "A1", n));
        }
        let none = RateLimitRetry {
            base_delay: Duration::ZERO,
            ..p
        };
        assert_eq!(rate_limit_delay(&none, "A1", 3), Duration::ZERO);
    }
}
