//! `wave plan`: show one wave plan, or validate every plan of a lane.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::CliError;
use super::output::{eprint_line, print_json, print_text};
use crate::exit::Code;
use crate::plan::{self, Diagnostic, LaneInputs, PlanError, Severity, WavePlan};
use crate::settings::Settings;

/// Arguments of `wave plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Parse one wave file and print it; validation findings go to stderr as warnings.
    Show(ShowArgs),
    /// Parse and validate every wave of a lane; exit 1 with the full report when any is invalid.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Print the plan as JSON (upstream's field names).
    #[arg(long)]
    json: bool,
    /// Lane whose config applies (default: the config's default lane).
    #[arg(long, value_name = "LANE")]
    lane: Option<String>,
    /// The wave file (`wave-<n>.md`), relative to the repository root or absolute.
    #[arg(value_name = "PATH")]
    path: PathBuf,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    /// Lane to validate (default: the config's default lane).
    #[arg(long, value_name = "LANE")]
    lane: Option<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs `wave plan`.
pub fn run(settings: &Settings, args: PlanArgs) -> Result<Code, CliError> {
    match args.command {
        PlanCommand::Show(a) => show(settings, a),
        PlanCommand::Validate(a) => validate(settings, a),
    }
}

fn plan_error(err: PlanError) -> CliError {
    match err {
        PlanError::Parse {
            file,
            pos,
            message,
            hint,
        } => CliError::user(format!("{file}:{}:{}: {message}", pos.line, pos.column)).hint(hint),
        PlanError::Config {
            file,
            message,
            hint,
        } => CliError::config(format!("{file}: {message}")).hint(hint),
        err @ (PlanError::WavesDirMissing { .. } | PlanError::NoWaveFiles { .. }) => {
            CliError::config(err.to_string()).hint(
                "add wave files named `wave-<n>.md` to the lane's waves directory, or pass --lane",
            )
        }
        PlanError::Io { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::user(format!("{} does not exist", path.display()))
                .hint("pass the path of a wave file relative to the repository root")
        }
        err @ PlanError::Io { .. } => {
            CliError::from_error(super::ErrorKind::Internal, &err, Code::INTERNAL)
        }
        err @ PlanError::Invalid(_) => CliError::user(err.to_string()),
    }
}

fn show(settings: &Settings, args: ShowArgs) -> Result<Code, CliError> {
    let root = &settings.repo_root;
    let config = plan::load_config(root).map_err(plan_error)?;
    let lane = config
        .lane_profile(args.lane.as_deref())
        .map_err(plan_error)?;
    let parsed = plan::load_wave_file(root, &args.path, &lane).map_err(plan_error)?;
    if args.json {
        print_json(&plan::plan_view(&parsed.plan))?;
    } else {
        print_text(&render_text(&parsed.plan))?;
    }
    let inputs = LaneInputs::load(root, lane).map_err(plan_error)?;
    let mut findings: Vec<Diagnostic> = parsed.warnings;
    findings.extend(
        plan::validate_wave(&parsed.plan, &inputs.validate_context())
            .into_iter()
            .map(|d| Diagnostic {
                severity: Severity::Warning,
                ..d
            }),
    );
    findings.sort_by_key(Diagnostic::pos);
    for d in config.warnings.iter().chain(&findings) {
        eprint_line(&d.to_string());
    }
    Ok(Code::OK)
}

fn render_text(plan: &WavePlan) -> String {
    let mut out = format!("wave {} ({})\n", plan.wave, plan.file);
    if let Some(m) = &plan.commit_message {
        out.push_str(&format!("commit message: {m}\n"));
    }
    for p in &plan.component_promotions {
        out.push_str(&format!(
            "promotes {} -> {}\n",
            p.component_id, p.target_level
        ));
    }
    for t in &plan.eval_targets {
        out.push_str(&format!("eval target {}\n", t.id));
    }
    for a in &plan.agents {
        let exec = a.executor.as_ref();
        let executor = exec
            .and_then(|e| e.id.map(|id| id.to_string()))
            .or_else(|| exec.and_then(|e| e.profile.as_ref().map(|p| format!("profile {p}"))))
            .unwrap_or_else(|| "lane default".to_owned());
        out.push_str(&format!("agent {}: {} [{executor}]\n", a.agent_id, a.title));
        for p in &a.owned_paths {
            out.push_str(&format!("  owns {p}\n"));
        }
    }
    out
}

#[derive(Serialize)]
struct ValidateReport<'a> {
    lane: &'a str,
    valid: bool,
    waves: Vec<WaveSummary<'a>>,
    findings: &'a [Diagnostic],
}

#[derive(Serialize)]
struct WaveSummary<'a> {
    wave: u64,
    file: &'a str,
    agents: usize,
}

fn validate(settings: &Settings, args: ValidateArgs) -> Result<Code, CliError> {
    let lane_plans =
        plan::load_lane(&settings.repo_root, args.lane.as_deref()).map_err(plan_error)?;
    let valid = lane_plans.is_valid();
    let lane_name = lane_plans.inputs.lane.lane.clone();
    if args.json {
        print_json(&ValidateReport {
            lane: &lane_name,
            valid,
            waves: lane_plans
                .waves
                .iter()
                .map(|w| WaveSummary {
                    wave: w.wave,
                    file: &w.file,
                    agents: w.agents.len(),
                })
                .collect(),
            findings: &lane_plans.findings,
        })?;
    }
    for d in &lane_plans.findings {
        eprint_line(&d.to_string());
    }
    let errors = lane_plans.errors().count();
    if valid {
        if !args.json {
            print_text(&format!(
                "lane {lane_name}: {} wave plan(s) valid",
                lane_plans.waves.len()
            ))?;
        }
        Ok(Code::OK)
    } else {
        eprint_line(&format!(
            "lane {lane_name}: {errors} error(s) in the wave plans; fix them and run `wave plan validate` again"
        ));
        Ok(Code::FAILURE)
    }
}
