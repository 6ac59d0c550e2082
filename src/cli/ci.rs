//! `wave ci plan|agent|close`: one wave attempt fanned out over CI jobs (docs/ci.md).
//!
//! Each command prints its outcome as JSON on stdout and, under GitHub Actions, writes the same
//! values to `$GITHUB_OUTPUT`. `close` publishes the verdict through `wave github report` when
//! a GitHub token and repository are configured.

use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::coord::WaveSel;
use super::coord_render::SignalEvents;
use super::launch::{
    claude_settings_paths, coordination_facts, credentials, dry_run_error, force_plan,
    local_command, parse_forced, plan_error,
};
use super::{CliError, ErrorKind, output};
use crate::exit::Code;
use crate::github::actions;
use crate::github::report::WaveReport;
use crate::github::verdict;
use crate::plan::{self, ExecutorId, PlanError, WavePlan};
use crate::run::ci::{self, CiError, CiLimits, PlanOutcome};
use crate::run::executor::dryrun::{self, DryRunOptions};
use crate::run::launch::{Forced, LaunchConfig};
use crate::run::process::ALWAYS_SCRUBBED;
use crate::settings::Settings;

/// Arguments of `wave ci`.
#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(subcommand)]
    command: CiCommand,
}

#[derive(Debug, Subcommand)]
enum CiCommand {
    /// Start (or re-announce) the wave's attempt and print the agents to fan out.
    #[command(
        after_help = "Outputs: matrix, design-matrix ({\"include\":[{\"agent\":\"A1\"},…]}), attempt, has-work, has-agents, has-design.\nExit codes: 0 planned (also when nothing is left to do); 1 invalid plan; 70 store error."
    )]
    Plan(PlanArgs),
    /// Run exactly one implementation agent of the open attempt and record it.
    #[command(
        after_help = "Exit codes: 0 the agent ran and is recorded (whatever its proof says: `wave ci close` judges it); 1 invalid plan or agent; 70 infrastructure error."
    )]
    Agent(AgentArgs),
    /// Close the open attempt: closure sweep, verdict, GitHub report, retry targets.
    #[command(
        after_help = "Outputs: verdict, closure-state, retry-targets, next-attempt, attempt, exit-code.\nExit codes: 0 closed; 43 waiting on a human or dependency, or another attempt follows; 42 only cont-QA failed; 1 failed; 70 infrastructure error."
    )]
    Close(CloseArgs),
}

#[derive(Debug, Args)]
struct Common {
    #[command(flatten)]
    sel: WaveSel,
    /// Executor for agents whose plan, profile and lane role default name none.
    #[arg(long, value_name = "ID", value_parser = parse_executor)]
    executor: Option<ExecutorId>,
    /// Run every agent with this executor (`local`, `codex`, `claude`, `opencode`) or with
    /// `command:<program>` (the prompt file is its first argument).
    #[arg(long, value_name = "ID", value_parser = parse_forced)]
    force_executor: Option<Forced>,
    /// Per-agent timeout in minutes (fractions allowed).
    #[arg(long, value_name = "MINUTES", default_value_t = 240.0)]
    timeout_minutes: f64,
    /// Retries after the first attempt (the same value for plan and close).
    #[arg(long, value_name = "N", default_value_t = 1)]
    max_retries_per_wave: u64,
}

#[derive(Debug, Args)]
struct PlanArgs {
    #[command(flatten)]
    common: Common,
    /// Decide only; record nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct AgentArgs {
    #[command(flatten)]
    common: Common,
    /// The agent to run.
    #[arg(long, value_name = "ID")]
    agent: String,
}

#[derive(Debug, Args)]
struct CloseArgs {
    #[command(flatten)]
    common: Common,
    /// Do not publish to GitHub even when a token and repository are configured.
    #[arg(long)]
    no_report: bool,
}

fn parse_executor(value: &str) -> Result<ExecutorId, String> {
    ExecutorId::parse(value).ok_or_else(|| "use codex, claude, opencode or local".to_owned())
}

/// Runs `wave ci`.
pub fn run(settings: &Settings, args: CiArgs) -> Result<Code, CliError> {
    match args.command {
        CiCommand::Plan(a) => with_launch(
            settings,
            &a.common,
            SignalEvents::Record,
            |cfg, store, plan| plan_cmd(settings, cfg, store, plan, &a),
        ),
        // Agent jobs run side by side: the plan and close jobs record signal events.
        CiCommand::Agent(a) => with_launch(
            settings,
            &a.common,
            SignalEvents::FilesOnly,
            |cfg, store, plan| agent_cmd(settings, cfg, store, plan, &a),
        ),
        CiCommand::Close(a) => with_launch(
            settings,
            &a.common,
            SignalEvents::Record,
            |cfg, store, plan| close_cmd(settings, cfg, store, plan, &a),
        ),
    }
}

fn ci_error(err: CiError) -> CliError {
    match &err {
        CiError::Launch(_) | CiError::Store(_) => {
            CliError::from_error(ErrorKind::Internal, &err, Code::INTERNAL).hint(
                "check the store (`--store`/WAVE_STORE), its credentials and the state directory",
            )
        }
        _ => CliError::from_error(ErrorKind::User, &err, Code::FAILURE),
    }
}

/// Loads the lane, prepares the wave's prompts and runs `f` with a launch configuration.
fn with_launch(
    settings: &Settings,
    common: &Common,
    signals: SignalEvents,
    f: impl FnOnce(
        &LaunchConfig<'_>,
        &dyn crate::store::EventStore,
        &WavePlan,
    ) -> Result<Code, CliError>,
) -> Result<Code, CliError> {
    if !common.timeout_minutes.is_finite() || common.timeout_minutes <= 0.0 {
        return Err(CliError::usage(
            "--timeout-minutes must be a positive number",
        ));
    }
    let root = std::path::absolute(&settings.repo_root)?;
    let plans = plan::load_lane(&root, common.sel.lane.as_deref()).map_err(plan_error)?;
    if !plans.is_valid() {
        return Err(plan_error(PlanError::Invalid(plans.findings))
            .hint("every wave of the lane must be valid; see `wave plan validate`"));
    }
    let lane = &plans.inputs.lane;
    let wave = u64::from(common.sel.wave);
    let Some(found) = plans.waves.iter().find(|w| w.wave == wave) else {
        return Err(CliError::usage(format!(
            "no wave {wave} in lane {}",
            lane.lane
        )));
    };
    let plan = match &common.force_executor {
        Some(Forced::Executor(id)) => force_plan(found, *id),
        Some(Forced::Command(_)) => force_plan(found, ExecutorId::Local),
        None => found.clone(),
    };
    let selected = [&plan];
    let index: Option<Value> =
        std::fs::read_to_string(root.join(&lane.paths.context7_bundle_index_path))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    let mut claude_settings: Vec<(String, Value)> = Vec::new();
    for path in claude_settings_paths(lane, &selected) {
        let full = root.join(&path);
        let value = std::fs::read_to_string(&full)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or_else(|| {
                CliError::config(format!(
                    "cannot read Claude settings {} as JSON",
                    full.display()
                ))
                .hint("fix `claude.settings` in the plan or wave.config.json")
            })?;
        claude_settings.push((path, value));
    }
    let (providers, creds) = credentials(&plans.config.raw);
    let local = local_command();
    let orchestrator_id = format!("{}-orch", lane.lane);
    let opts = DryRunOptions {
        repo_root: &root,
        cli_executor: common.executor,
        local_command: &local,
        orchestrator_id: &orchestrator_id,
        credential_providers: &providers,
        credentials: &creds,
        context7_index: index.as_ref(),
        claude_settings: &claude_settings,
        catalog: plans.inputs.catalog.as_ref().ok(),
    };
    let prepared = dryrun::prepare(lane, &selected, &opts).map_err(dry_run_error)?;
    let store = crate::store::open_store(settings).map_err(super::control::store_error)?;
    // Agents never see a credential: the GitHub and state-branch tokens stay in this process.
    let mut scrub: Vec<String> = ALWAYS_SCRUBBED.iter().map(|s| (*s).to_owned()).collect();
    scrub.extend(
        [
            "WAVE_GIT_TOKEN",
            "WAVE_GITHUB_TOKEN",
            "WAVE_GITHUB_APP_PRIVATE_KEY",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ]
        .map(str::to_owned),
    );
    let mut secret_names = crate::run::executor::resolve::api_key_env_names(lane);
    secret_names.extend(creds.iter().map(|c| c.env_var.clone()));
    scrub.extend(creds.into_iter().map(|c| c.env_var));
    let facts = |w: u64| coordination_facts(settings, &lane.lane, w);
    let rerun = |_: u64| None;
    let progress = |line: &str| output::eprint_line(line);
    let search_path = settings.env.get("PATH").unwrap_or_default().to_owned();
    let on_path = move |command: &str| super::launch::on_search_path(&search_path, command);
    let coordinate = |wave: u64, attempt: u64, closed: bool| {
        super::launch::refresh_views(settings, &lane.lane, wave, attempt, closed, signals)
    };
    let in_actions = settings.github_actions;
    let agent_log = move |agent: &str, log: &std::path::Path| {
        if in_actions {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let nonce = format!("{}:{}", std::process::id(), log.display());
            output::eprint_line(&actions::agent_output(agent, &text, &nonce));
        }
    };
    let waves = std::slice::from_ref(&plan);
    let cfg = LaunchConfig {
        repo_root: &root,
        lane,
        waves,
        prepared: &prepared,
        matrix: plans.inputs.matrix.as_ref().ok(),
        catalog: plans.inputs.catalog.as_ref().ok(),
        cli_executor: common.executor,
        force: common.force_executor.clone(),
        local_command: &local,
        orchestrator_id: &orchestrator_id,
        timeout: Duration::from_secs_f64(common.timeout_minutes * 60.0),
        max_retries: common.max_retries_per_wave,
        stagger: Duration::ZERO,
        scrub,
        overrides: crate::run::executor::resolve::EnvOverrides::from_settings(settings),
        secrets: settings.secret_values(&secret_names),
        running_as_root: settings.running_as_root(),
        writer: &settings.writer,
        facts: &facts,
        rerun: &rerun,
        progress: &progress,
        agent_log: &agent_log,
        clock: settings.clock,
        coordinate: &coordinate,
        on_path: &on_path,
        rate_limit: crate::run::launch::RateLimitRetry::default(),
    };
    f(&cfg, &*store, &plan)
}

fn limits(common: &Common) -> CiLimits {
    CiLimits {
        max_attempts: common.max_retries_per_wave.saturating_add(1),
    }
}

fn matrix(ids: &[String]) -> String {
    let include: Vec<Value> = ids.iter().map(|id| json!({ "agent": id })).collect();
    json!({ "include": include }).to_string()
}

/// Writes `$GITHUB_OUTPUT` entries when the runner provides the file.
fn write_outputs(settings: &Settings, outputs: &[(&str, String)]) -> Result<(), CliError> {
    if let Some(path) = settings.env.get("GITHUB_OUTPUT") {
        actions::write_outputs(Path::new(path), outputs)?;
    }
    Ok(())
}

fn plan_outputs(p: &PlanOutcome) -> Vec<(&'static str, String)> {
    vec![
        ("matrix", matrix(&p.agents)),
        ("design-matrix", matrix(&p.design)),
        ("attempt", p.attempt.to_string()),
        ("has-work", p.has_work.to_string()),
        ("has-agents", (!p.agents.is_empty()).to_string()),
        ("has-design", (!p.design.is_empty()).to_string()),
    ]
}

fn plan_cmd(
    settings: &Settings,
    cfg: &LaunchConfig<'_>,
    store: &dyn crate::store::EventStore,
    plan: &WavePlan,
    args: &PlanArgs,
) -> Result<Code, CliError> {
    let outcome =
        ci::plan(cfg, store, plan, limits(&args.common), args.dry_run).map_err(ci_error)?;
    let outputs = plan_outputs(&outcome);
    if !args.dry_run {
        write_outputs(settings, &outputs)?;
    }
    output::eprint_line(&format!(
        "[{}] wave {}: {}",
        cfg.lane.lane, plan.wave, outcome.reason
    ));
    output::print_json(&json!({
        "lane": cfg.lane.lane,
        "wave": plan.wave,
        "attempt": outcome.attempt,
        "hasWork": outcome.has_work,
        "matrix": serde_json::from_str::<Value>(&matrix(&outcome.agents)).unwrap_or(Value::Null),
        "designMatrix": serde_json::from_str::<Value>(&matrix(&outcome.design)).unwrap_or(Value::Null),
        "reason": outcome.reason,
    }))?;
    Ok(Code::OK)
}

fn agent_cmd(
    settings: &Settings,
    cfg: &LaunchConfig<'_>,
    store: &dyn crate::store::EventStore,
    plan: &WavePlan,
    args: &AgentArgs,
) -> Result<Code, CliError> {
    let outcome = ci::agent(cfg, store, plan, &args.agent).map_err(ci_error)?;
    if !outcome.ran {
        output::eprint_line(&format!(
            "[{}] wave {} attempt {}: {} already recorded ({}); not run again",
            cfg.lane.lane, plan.wave, outcome.attempt, outcome.agent, outcome.state
        ));
    }
    write_outputs(
        settings,
        &[
            ("attempt", outcome.attempt.to_string()),
            ("state", outcome.state.clone()),
            (
                "exit-code",
                outcome.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            ),
        ],
    )?;
    output::print_json(&json!({
        "lane": cfg.lane.lane,
        "wave": plan.wave,
        "attempt": outcome.attempt,
        "agent": outcome.agent,
        "ran": outcome.ran,
        "state": outcome.state,
        "exitCode": outcome.exit_code,
    }))?;
    Ok(Code::OK)
}

fn close_cmd(
    settings: &Settings,
    cfg: &LaunchConfig<'_>,
    store: &dyn crate::store::EventStore,
    plan: &WavePlan,
    args: &CloseArgs,
) -> Result<Code, CliError> {
    let outcome = ci::close(cfg, store, plan, limits(&args.common)).map_err(ci_error)?;
    let next_number = outcome.attempt + 1;
    let next = outcome.next_attempt.then_some(next_number);
    let published = !args.no_report && github_configured(settings);
    // One verdict: the report the check run shows, read back from what was just recorded.
    let report = wave_report(settings, cfg, plan, next, published)?;
    let verdict = verdict::verdict(&report).to_owned();
    let mut outputs = verdict::action_outputs(&report);
    // The retry targets are what the next attempt reruns (the retry engine's choice).
    outputs.retain(|(k, _)| *k != "retry-targets");
    outputs.extend([
        ("retry-targets", outcome.retry_targets.join(",")),
        ("attempt", outcome.attempt.to_string()),
        ("next-attempt", outcome.next_attempt.to_string()),
        ("next-attempt-number", next_number.to_string()),
        ("exit-code", outcome.exit_code.to_string()),
    ]);
    write_outputs(settings, &outputs)?;
    output::eprint_line(&format!(
        "[{}] wave {} attempt {}: {}{}",
        cfg.lane.lane,
        plan.wave,
        outcome.attempt,
        report.state.as_str(),
        if outcome.next_attempt {
            format!("; attempt {next_number} follows")
        } else {
            String::new()
        }
    ));
    output::print_json(&json!({
        "lane": cfg.lane.lane,
        "wave": plan.wave,
        "attempt": outcome.attempt,
        "verdict": verdict,
        "closureState": report.state.as_str(),
        "retryTargets": outcome.retry_targets,
        "nextAttempt": outcome.next_attempt,
        "exitCode": outcome.exit_code,
        "failures": outcome.failures,
        "closedNow": outcome.ran,
        "published": published,
    }))?;
    Ok(Code(outcome.exit_code))
}

/// True when GitHub credentials and a repository are configured.
fn github_configured(settings: &Settings) -> bool {
    let env = &settings.env;
    let token = env.get("GITHUB_TOKEN").is_some()
        || env.get("WAVE_GITHUB_TOKEN").is_some()
        || (env.get("WAVE_GITHUB_APP_ID").is_some()
            && env.get("WAVE_GITHUB_APP_PRIVATE_KEY").is_some());
    token && env.get("GITHUB_REPOSITORY").is_some()
}

/// The wave's report as `wave github report` builds it from the store (the one mapping from
/// recorded facts to a verdict), published when `publish` is set; a failed attempt that
/// `next_attempt` follows is reported as in progress.
fn wave_report(
    settings: &Settings,
    cfg: &LaunchConfig<'_>,
    plan: &WavePlan,
    next_attempt: Option<u64>,
    publish: bool,
) -> Result<WaveReport, CliError> {
    let wave = u32::try_from(plan.wave)
        .map_err(|_| CliError::usage(format!("--wave {} is too large", plan.wave)))?;
    let args = super::github::ReportArgs {
        lane: Some(cfg.lane.lane.clone()),
        wave,
        sha: None,
        pr: None,
        repo: None,
        report_json: None,
        status_json: None,
        infra_error: None,
        plan_hash: None,
        dry_run: false,
        json: false,
        next_attempt,
    };
    if publish {
        return super::github::publish_report(settings, args);
    }
    let sha = settings
        .env
        .get("GITHUB_SHA")
        .unwrap_or_default()
        .to_owned();
    let mut report = super::github::load_report(settings, &args, &cfg.lane.lane, &sha)?;
    if let Some(n) = next_attempt {
        verdict::retrying(&mut report, n);
    }
    Ok(report)
}
