//! `wave launch`: only `--dry-run` is available, which compiles every selected agent's prompt
//! and executor launch preview without running anything.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use super::{CliError, ErrorKind, output};
use crate::exit::Code;
use crate::plan::{ExecutorId, PlanError, WavePlan};
use crate::run::executor::dryrun::{self, DryRunError, DryRunOptions};
use crate::run::executor::preview::CredentialRef;
use crate::run::executor::workspace;
use crate::settings::Settings;

/// Arguments of `wave launch`.
///
/// Only `--dry-run` is available: it writes each agent's compiled prompt and launch preview
/// under `<stateRoot>/<lane>-wave-launcher/dry-run/` and runs nothing. Real runs are not built
/// yet; without `--dry-run` the command fails.
#[derive(Debug, Args)]
#[command(after_help = "Real launches are not built yet: `--dry-run` is required.")]
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

fn credentials(config: &serde_json::Map<String, Value>) -> (Vec<String>, Vec<CredentialRef>) {
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
    if !args.dry_run {
        return Err(CliError::usage(
            "`wave launch` without `--dry-run` is not built yet: real agent runs are not available",
        )
        .hint("run `wave launch --dry-run` to compile prompts and launch previews"));
    }
    let root = std::path::absolute(&settings.repo_root)?;
    let ws = workspace::load_config(&root, args.lane.as_deref()).map_err(plan_error)?;
    let waves = workspace::load_waves(&root, &ws.lane).map_err(plan_error)?;
    let selected = select(&waves, &args)?;

    let index_path = root.join(&ws.lane.paths.context7_bundle_index_path);
    let index: Option<Value> = std::fs::read_to_string(&index_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut claude_settings: Vec<(String, Value)> = Vec::new();
    for path in claude_settings_paths(&ws, &selected) {
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
    let (providers, creds) = credentials(&ws.config);
    let local_command = local_command();
    let orchestrator_id = args
        .orchestrator_id
        .clone()
        .unwrap_or_else(|| format!("{}-orch", ws.lane.lane));
    let opts = DryRunOptions {
        repo_root: &root,
        cli_executor: args.executor,
        local_command: &local_command,
        orchestrator_id: &orchestrator_id,
        credential_providers: &providers,
        credentials: &creds,
        context7_index: index.as_ref(),
        claude_settings: &claude_settings,
    };
    let run = dryrun::prepare(&ws.lane, &selected, &opts).map_err(dry_run_error)?;
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
            "lane": ws.lane.lane,
            "dir": dir_rel,
            "waves": selected.iter().map(|w| w.wave).collect::<Vec<_>>(),
            "files": run.files.len(),
            "agents": run.agents,
        }))?;
    } else {
        let mut text = format!(
            "[dry-run] lane {}: {} wave(s), {} agent(s), {} files under {dir_rel}\n",
            ws.lane.lane,
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

fn dry_run_error(err: DryRunError) -> CliError {
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

fn claude_settings_paths(ws: &workspace::Workspace, waves: &[&WavePlan]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lane_settings = ws
        .lane
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
fn local_command() -> String {
    std::env::current_exe()
        .ok()
        .map(|p: PathBuf| p.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wave".to_owned())
}
