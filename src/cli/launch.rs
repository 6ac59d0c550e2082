//! `wave launch`: run the selected waves end to end (agents, closure sweep, gates, retries), or
//! with `--dry-run` only compile every selected agent's prompt and executor launch preview.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{CliError, ErrorKind, output};
use crate::engine::gates::CoordinationFacts;
use crate::engine::reducer::{self, WaveInputs};
use crate::event::time;
use crate::exit::Code;
use crate::github::actions;
use crate::plan::{self, ExecutorId, LaneProfile, PlanError, WavePlan};
use crate::run::executor::dryrun::{self, DryRunError, DryRunOptions};
use crate::run::executor::preview::CredentialRef;
use crate::run::launch::Forced;
use crate::run::launch::{self, LaunchConfig};
use crate::run::lock::{LauncherLock, LockError};
use crate::run::process::ALWAYS_SCRUBBED;
use crate::settings::Settings;
use crate::store::StreamId;
use std::time::Duration;

/// Arguments of `wave launch`.
///
/// Runs each selected wave until it closes or its attempts are spent, stopping at the first wave
/// that does not close. `--dry-run` writes each agent's compiled prompt and launch preview under
/// `<stateRoot>/<lane>-wave-launcher/dry-run/` and runs nothing.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every wave closed; 1 failed; 32 another launcher holds the lock; 42 only cont-QA failed; 43 recoverable or waiting for input."
)]
pub struct LaunchArgs {
    /// Compile prompts and executor launch previews only; start no process.
    #[arg(long)]
    pub dry_run: bool,

    /// Lane (default: the configuration's `defaultLane`, else `main`).
    #[arg(long, value_name = "LANE")]
    pub lane: Option<String>,

    /// Only this wave (repeatable).
    #[arg(long = "wave", value_name = "N", conflicts_with_all = ["start_wave", "end_wave"])]
    pub waves: Vec<u64>,

    /// First wave of the range (default: the lowest).
    #[arg(long, value_name = "N")]
    pub start_wave: Option<u64>,

    /// Last wave of the range (default: the highest).
    #[arg(long, value_name = "N")]
    pub end_wave: Option<u64>,

    /// Executor for agents whose plan, profile and lane role default name none.
    #[arg(long, value_name = "ID", value_parser = parse_executor)]
    pub executor: Option<ExecutorId>,

    /// Run every agent with this executor (`local`, `codex`, `claude`, `opencode`), with
    /// `command` (the program from `command.program` / `executors.command.program`) or with
    /// `command:<program>` (the prompt file is its first argument).
    #[arg(long, value_name = "ID", value_parser = parse_forced)]
    pub force_executor: Option<Forced>,

    /// Per-agent timeout in minutes (fractions allowed).
    #[arg(long, value_name = "MINUTES", default_value_t = 240.0)]
    pub timeout_minutes: f64,

    /// Retries after the first attempt of each wave.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_retries_per_wave: u64,

    /// Retries of an agent CLI whose output shows a rate limit (HTTP 429).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub agent_rate_limit_retries: u64,

    /// Delay before the first rate-limit retry, in seconds (doubled per retry).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub agent_rate_limit_base_delay_seconds: u64,

    /// Longest delay between rate-limit retries, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 180)]
    pub agent_rate_limit_max_delay_seconds: u64,

    /// Delay between concurrent launches of agent CLIs, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1200)]
    pub launch_stagger_ms: u64,

    /// Orchestrator id named in the prompts' escalation command (default `<lane>-orch`).
    #[arg(long, value_name = "ID")]
    pub orchestrator_id: Option<String>,

    /// Accepted for compatibility; no dashboard is ever started.
    #[arg(long, hide = true)]
    pub no_dashboard: bool,

    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_forced(value: &str) -> Result<Forced, String> {
    if let Some(program) = value.strip_prefix("command:") {
        if program.trim().is_empty() {
            return Err("`command:` needs a program path".to_owned());
        }
        return Ok(Forced::Command(PathBuf::from(program)));
    }
    ExecutorId::parse(value)
        .map(Forced::Executor)
        .ok_or_else(|| {
            "use codex, claude, opencode, local, command or command:<program>".to_owned()
        })
}

fn parse_executor(value: &str) -> Result<ExecutorId, String> {
    ExecutorId::parse(value).ok_or_else(|| "use codex, claude, opencode or local".to_owned())
}

/// Maps a plan-loading error to a CLI error.
pub fn plan_error(err: PlanError) -> CliError {
    let code = match err {
        PlanError::Io { .. } => Code::INTERNAL,
        _ => Code::FAILURE,
    };
    let hint = match &err {
        PlanError::WavesDirMissing { .. } | PlanError::NoWaveFiles { .. } => {
            Some("run `wave init` to scaffold a wave-0 plan, or check `--lane`")
        }
        _ => None,
    };
    let e = CliError::from_error(ErrorKind::Config, &err, code);
    match hint {
        Some(h) => e.hint(h),
        None => e,
    }
}

pub(crate) fn credentials(
    config: &serde_json::Map<String, Value>,
) -> (Vec<String>, Vec<CredentialRef>) {
    let wc = config.get("waveControl").and_then(Value::as_object);
    let providers = wc
        .and_then(|w| w.get("credentialProviders"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let creds = wc
        .and_then(|w| w.get("credentials"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| {
                    Some(CredentialRef {
                        id: c.get("id")?.as_str()?.to_owned(),
                        env_var: c.get("envVar")?.as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    (providers, creds)
}

/// Runs `wave launch`.
pub fn run(settings: &Settings, args: LaunchArgs) -> Result<Code, CliError> {
    let root = std::path::absolute(&settings.repo_root)?;
    let plans = plan::load_lane(&root, args.lane.as_deref()).map_err(plan_error)?;
    if !plans.is_valid() {
        if settings.github_actions {
            for d in plans.errors() {
                let line = actions::error(&d.file, Some(d.line), Some("wave plan"), &d.message);
                output::eprint_line(&line);
            }
        }
        return Err(plan_error(PlanError::Invalid(plans.findings)).hint(
            "every wave of the lane must be valid before any is launched; see `wave plan validate`",
        ));
    }
    let lane = &plans.inputs.lane;
    let waves = &plans.waves;
    let mut selected = select(waves, &args)?;
    let forced_plans: Vec<WavePlan>;
    if let Some(forced) = &args.force_executor {
        let id = match forced {
            Forced::Executor(id) => *id,
            Forced::Command(_) => ExecutorId::Local,
        };
        forced_plans = selected.iter().map(|w| force_plan(w, id)).collect();
        selected = forced_plans.iter().collect();
        if id == ExecutorId::Command {
            for w in &selected {
                if let Some(a) = w
                    .agents
                    .iter()
                    .find(|a| plan::command_program(a, lane).is_none())
                {
                    return Err(CliError::usage(format!(
                        "--force-executor command: wave {} agent {} names no program",
                        w.wave, a.agent_id
                    ))
                    .hint("set executors.command.program in wave.config.json, or pass --force-executor command:<program>"));
                }
            }
        }
    }

    let index_path = root.join(&lane.paths.context7_bundle_index_path);
    let index: Option<Value> = std::fs::read_to_string(&index_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut claude_settings: Vec<(String, Value)> = Vec::new();
    for path in claude_settings_paths(lane, &selected) {
        let full = root.join(&path);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            CliError::config(format!(
                "cannot read Claude settings {}: {e}",
                full.display()
            ))
            .hint("fix `claude.settings` in the plan or wave.config.json")
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            CliError::config(format!(
                "invalid Claude settings JSON {}: {e}",
                full.display()
            ))
        })?;
        claude_settings.push((path, value));
    }
    let (providers, creds) = credentials(&plans.config.raw);
    let local_command = local_command();
    let orchestrator_id = args
        .orchestrator_id
        .clone()
        .unwrap_or_else(|| format!("{}-orch", lane.lane));
    let opts = DryRunOptions {
        repo_root: &root,
        cli_executor: args.executor,
        local_command: &local_command,
        orchestrator_id: &orchestrator_id,
        credential_providers: &providers,
        credentials: &creds,
        context7_index: index.as_ref(),
        claude_settings: &claude_settings,
        catalog: plans.inputs.catalog.as_ref().ok(),
    };
    let run = dryrun::prepare(lane, &selected, &opts).map_err(dry_run_error)?;
    if !args.dry_run {
        let waves: Vec<WavePlan> = selected.iter().map(|w| (*w).clone()).collect();
        return launch_real(
            settings,
            &args,
            &root,
            &plans,
            &waves,
            &run,
            &local_command,
            &orchestrator_id,
        );
    }
    dryrun::write(&run).map_err(dry_run_error)?;

    let dir_rel = run
        .dir
        .strip_prefix(&root)
        .unwrap_or(&run.dir)
        .display()
        .to_string();
    if args.json {
        output::print_json(&serde_json::json!({
            "dryRun": true,
            "lane": lane.lane,
            "dir": dir_rel,
            "waves": selected.iter().map(|w| w.wave).collect::<Vec<_>>(),
            "files": run.files.len(),
            "agents": run.agents,
        }))?;
    } else {
        let mut text = format!(
            "[dry-run] lane {}: {} wave(s), {} agent(s), {} files under {dir_rel}\n",
            lane.lane,
            selected.len(),
            run.agents.len(),
            run.files.len()
        );
        for a in &run.agents {
            text.push_str(&format!(
                "  wave {} {:<4} {:<8} {:<14} {}\n",
                a.wave,
                a.agent_id,
                a.executor.as_str(),
                a.role,
                a.prompt_path
            ));
        }
        text.push_str("Nothing was executed.\n");
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}

pub(crate) fn dry_run_error(err: DryRunError) -> CliError {
    match &err {
        DryRunError::Resolve { .. } => CliError::from_error(ErrorKind::Config, &err, Code::FAILURE)
            .hint("define the profile under `executors.profiles` in wave.config.json"),
        DryRunError::Io { .. } => CliError::from_error(ErrorKind::Internal, &err, Code::INTERNAL),
    }
}

fn select<'a>(waves: &'a [WavePlan], args: &LaunchArgs) -> Result<Vec<&'a WavePlan>, CliError> {
    let selected: Vec<&WavePlan> = if !args.waves.is_empty() {
        let mut out = Vec::new();
        for n in &args.waves {
            match waves.iter().find(|w| w.wave == *n) {
                Some(w) if !out.iter().any(|o: &&WavePlan| o.wave == *n) => out.push(w),
                Some(_) => {}
                None => {
                    return Err(CliError::usage(format!("no wave {n} in this lane")).hint(
                        format!(
                            "available waves: {}",
                            waves
                                .iter()
                                .map(|w| w.wave.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
        out
    } else {
        let start = args.start_wave.unwrap_or(0);
        let end = args.end_wave.unwrap_or(u64::MAX);
        waves
            .iter()
            .filter(|w| w.wave >= start && w.wave <= end)
            .collect()
    };
    if selected.is_empty() {
        return Err(CliError::usage("no waves available for the selected range"));
    }
    Ok(selected)
}

pub(crate) fn claude_settings_paths(lane: &LaneProfile, waves: &[&WavePlan]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lane_settings = lane
        .executors
        .claude
        .get("settings")
        .and_then(Value::as_str)
        .map(str::to_owned);
    for w in waves {
        for a in &w.agents {
            let claude = a.executor.as_ref().and_then(|e| e.claude.as_ref());
            let inline = claude.is_some_and(|c| {
                c.settings_json.is_some()
                    || c.hooks_json.is_some()
                    || c.allowed_http_hook_urls.is_some()
            });
            let path = claude
                .and_then(|c| c.settings.clone())
                .or_else(|| lane_settings.clone());
            if inline && let Some(p) = path.filter(|p| !out.contains(p)) {
                out.push(p);
            }
        }
    }
    out
}

/// How prompts invoke this binary for the `local` executor: its absolute path when known.
pub(crate) fn local_command() -> String {
    std::env::current_exe()
        .ok()
        .map(|p: PathBuf| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wave".to_owned())
}

/// A copy of the wave whose agents all run on `id`.
pub(crate) fn force_plan(w: &WavePlan, id: ExecutorId) -> WavePlan {
    let mut w = w.clone();
    for a in &mut w.agents {
        let mut e = a.executor.clone().unwrap_or_default();
        e.id = Some(id);
        e.fallbacks.clear();
        a.executor = Some(e);
    }
    w
}

/// Coordination facts for the gates: the wave's records and dependencies reduced as
/// `wave control status` reduces them.
pub(crate) fn coordination_facts(settings: &Settings, lane: &str, wave: u64) -> CoordinationFacts {
    match read_facts(settings, lane, wave) {
        Ok(f) => f,
        Err(e) => {
            output::eprint_line(&format!("warning: coordination state not read: {e}"));
            CoordinationFacts::default()
        }
    }
}

fn read_facts(settings: &Settings, lane: &str, wave: u64) -> Result<CoordinationFacts, CliError> {
    use super::control::{
        Layout, open_store, read_control, read_dependencies, read_envelopes, read_records,
    };
    let layout = Layout::read(&settings.repo_root, Some(lane.to_owned()))?;
    let roster = layout.roster(wave)?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let now_text = time::format(now);
    let w32 = u32::try_from(wave).unwrap_or(u32::MAX);
    let coordination = read_records(&*store, &StreamId::coordination(lane, w32), &now_text)?;
    let dependencies = read_dependencies(&*store, &now_text)?;
    let control = read_control(&*store, lane, w32)?.materialize();
    let envelopes = read_envelopes(&*store, lane, w32, &roster)?;
    let state = reducer::reduce(&WaveInputs {
        lane,
        wave,
        roster: &roster,
        coordination: &coordination,
        dependencies: &dependencies,
        control: &control,
        envelopes: &envelopes,
        now_ms: now.as_millisecond(),
    });
    Ok(CoordinationFacts::from_reduced(
        &coordination,
        &state.helper_assignments,
        &state.dependencies,
        &state.feedback_requests,
    ))
}

/// Rebuilds the wave's derived coordination state (seeds, triage, human-input clock,
/// projections) and returns the views prompts embed; a failure is reported and leaves the
/// prompts as compiled.
pub(crate) fn refresh_views(
    settings: &Settings,
    lane: &str,
    wave: u64,
    attempt: u64,
    closed: bool,
    signals: super::coord_render::SignalEvents,
) -> Option<launch::LiveViews> {
    let sel = super::coord::WaveSel {
        lane: Some(lane.to_owned()),
        wave: u32::try_from(wave).ok()?,
    };
    let reason = closed.then(|| format!("Wave {wave} closed in attempt {attempt}."));
    match super::coord_render::refresh(
        settings,
        &sel,
        i64::try_from(attempt).ok(),
        reason.as_deref(),
        signals,
    ) {
        Ok(r) => Some(launch::LiveViews {
            shared_summary: r.shared_summary,
            inboxes: r.inboxes,
        }),
        Err(e) => {
            output::eprint_line(&format!("warning: coordination state not refreshed: {e}"));
            None
        }
    }
}

/// True when `command` names an executable file, directly (a path) or in a `PATH` directory.
pub(crate) fn on_search_path(search_path: &str, command: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        return executable(std::path::Path::new(command));
    }
    std::env::split_paths(search_path)
        .filter(|d| !d.as_os_str().is_empty())
        .any(|d| executable(&d.join(command)))
}

/// The wave's active rerun request: its id and selected agents.
fn active_rerun(settings: &Settings, lane: &str, wave: u64) -> Option<(String, Vec<String>)> {
    let layout = super::control::Layout::read(&settings.repo_root, Some(lane.to_owned())).ok()?;
    let store = super::control::open_store(settings, &layout).ok()?;
    let w32 = u32::try_from(wave).ok()?;
    let state = super::control::read_control(&*store, lane, w32)
        .ok()?
        .materialize();
    let r = state.active_rerun_request()?;
    Some((r.request_id.clone(), r.selected_agent_ids.clone()))
}

#[allow(clippy::too_many_arguments)]
fn launch_real(
    settings: &Settings,
    args: &LaunchArgs,
    root: &std::path::Path,
    plans: &plan::LanePlans,
    waves: &[WavePlan],
    prepared: &dryrun::DryRun,
    local_command: &str,
    orchestrator_id: &str,
) -> Result<Code, CliError> {
    let lane = &plans.inputs.lane;
    if !args.timeout_minutes.is_finite() || args.timeout_minutes <= 0.0 {
        return Err(CliError::usage(
            "--timeout-minutes must be a positive number",
        ));
    }
    let _lock =
        LauncherLock::acquire(&dryrun::lane_state_dir(root, lane)).map_err(|e| match e {
            LockError::Held { .. } => CliError::from_error(ErrorKind::User, &e, Code::LOCK_HELD),
            LockError::Io { .. } => CliError::from_error(ErrorKind::Internal, &e, Code::INTERNAL),
        })?;
    let store = crate::store::open_store(settings).map_err(super::control::store_error)?;
    let mut scrub: Vec<String> = ALWAYS_SCRUBBED.iter().map(|s| (*s).to_owned()).collect();
    let (_, creds) = credentials(&plans.config.raw);
    let mut secret_names = crate::run::executor::resolve::api_key_env_names(lane);
    secret_names.extend(creds.iter().map(|c| c.env_var.clone()));
    scrub.extend(creds.into_iter().map(|c| c.env_var));
    let facts = |wave: u64| coordination_facts(settings, &lane.lane, wave);
    let search_path = settings.env.get("PATH").unwrap_or_default().to_owned();
    let on_path = move |command: &str| on_search_path(&search_path, command);
    let coordinate = |wave: u64, attempt: u64, closed: bool| {
        refresh_views(
            settings,
            &lane.lane,
            wave,
            attempt,
            closed,
            super::coord_render::SignalEvents::Record,
        )
    };
    let rerun = |wave: u64| active_rerun(settings, &lane.lane, wave);
    let progress = |line: &str| output::eprint_line(line);
    let in_actions = settings.github_actions;
    if in_actions {
        let names: Vec<&str> = scrub.iter().map(String::as_str).collect();
        for line in actions::mask_vars(names, |name| settings.env.get(name)) {
            output::eprint_line(&line);
        }
    }
    let agent_log = move |agent: &str, log: &std::path::Path| {
        if in_actions {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let nonce = format!("{}:{}", std::process::id(), log.display());
            output::eprint_line(&actions::agent_output(agent, &text, &nonce));
        }
    };
    let cfg = LaunchConfig {
        repo_root: root,
        lane,
        waves,
        prepared,
        matrix: plans.inputs.matrix.as_ref().ok(),
        catalog: plans.inputs.catalog.as_ref().ok(),
        cli_executor: args.executor,
        force: args.force_executor.clone(),
        local_command,
        orchestrator_id,
        timeout: Duration::from_secs_f64(args.timeout_minutes * 60.0),
        max_retries: args.max_retries_per_wave,
        stagger: Duration::from_millis(args.launch_stagger_ms),
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
        rate_limit: launch::RateLimitRetry {
            retries: args.agent_rate_limit_retries,
            base_delay: Duration::from_secs(args.agent_rate_limit_base_delay_seconds),
            max_delay: Duration::from_secs(args.agent_rate_limit_max_delay_seconds),
        },
    };
    let outcome = launch::run(&cfg, &*store).map_err(|e| {
        CliError::from_error(ErrorKind::Internal, &e, Code::INTERNAL)
            .hint("check the state directory and the store path")
    })?;
    let code = outcome.exit_code();
    if args.json {
        let waves: Vec<Value> = outcome
            .waves
            .iter()
            .map(|w| {
                serde_json::json!({
                    "wave": w.wave,
                    "attempts": w.attempts,
                    "exitCode": w.exit_code,
                    "launched": w.launched,
                    "gates": w.snapshot.to_value(),
                    "failures": w.failures,
                    "retryBarrier": w.retry_barrier,
                })
            })
            .collect();
        output::print_json(&serde_json::json!({
            "lane": lane.lane,
            "exitCode": code,
            "waves": waves,
        }))?;
    } else {
        output::print_text(&crate::render::launch::gate_table(&lane.lane, &outcome))?;
    }
    Ok(Code(code))
}
