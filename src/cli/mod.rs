//! The command line: clap arguments → [`Settings`] → one library call → rendered output.
//!
//! Owns: argument parsing, mapping subsystem errors to [`CliError`] and exit codes, printing.
//! Must not: hold domain logic (parsing plans, reducing logs, deciding verdicts live in the
//! library layers) or read the environment except through [`crate::settings`].

mod error;
pub mod output;

mod benchmark;
mod ci;
mod control;
mod control_run;
mod coord;
mod coord_render;
mod dep;
mod doctor;
mod feedback;
mod github;
mod init;
mod launch;
mod local;
mod plan;
mod replay;
mod state;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::{CliError, ErrorKind};

use crate::exit::Code;
use crate::settings::{EnvSnapshot, Settings};

/// Run bounded multi-agent coding waves; close them only on recorded proof.
#[derive(Debug, Parser)]
#[command(name = "wave", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Repository root (default: $WAVE_REPO_ROOT, else the current directory).
    #[arg(long, global = true, value_name = "PATH")]
    pub repo_root: Option<PathBuf>,

    /// Where canonical state lives: `dir:<path>` or `git:<remote-url>[#<branch>]` (default:
    /// $WAVE_STORE, else `dir:.wave/state`).
    #[arg(long, global = true, value_name = "SPEC")]
    pub store: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// Every `wave` subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show and validate wave plans.
    Plan(plan::PlanArgs),
    /// Check the repository set-up, configuration and executors.
    Doctor(doctor::DoctorArgs),
    /// Scaffold a repository for waves (non-interactive).
    Init(init::InitArgs),
    /// Launch a wave (`--dry-run` compiles prompts and launch previews only).
    Launch(launch::LaunchArgs),
    /// The deterministic local executor: satisfy a compiled prompt's contract without a model.
    Local(local::LocalArgs),
    /// Post, list, show and render coordination records.
    Coord(coord::CoordArgs),
    /// Control-plane status and tasks.
    Control(control::ControlArgs),
    /// Cross-lane dependency tickets.
    Dep(dep::DepArgs),
    /// Human feedback requests.
    Feedback(feedback::FeedbackArgs),
    /// Publish verdicts to GitHub and ingest GitHub events.
    Github(github::GithubArgs),
    /// Rebuild and print the state of a wave from a store.
    Replay(replay::ReplayArgs),
    /// The deterministic native benchmark.
    Benchmark(benchmark::BenchmarkArgs),
    /// The canonical store: sync a state branch, show its history, verify any store.
    State(state::StateArgs),
    /// Fan a wave out over CI jobs: plan the attempt, run one agent, close the attempt.
    Ci(ci::CiArgs),
}

/// Entry point of the `wave` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            let code = match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Code::OK
                }
                _ => Code::USAGE,
            };
            return code.into();
        }
    };
    let settings = Settings::resolve(cli.repo_root, cli.store, EnvSnapshot::capture());
    if let Some(problem) = &settings.clock_error {
        output::eprint_line(&format!("error: {problem}"));
        return Code::USAGE.into();
    }
    let result = dispatch(&settings, cli.command);
    for notice in crate::store::git::take_notices() {
        output::eprint_line(&notice);
    }
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            output::eprint_line(&err.to_string());
            err.code.into()
        }
    }
}

/// Runs one parsed command with resolved settings.
pub fn dispatch(settings: &Settings, command: Command) -> Result<Code, CliError> {
    match command {
        Command::Plan(args) => plan::run(settings, args),
        Command::Doctor(args) => doctor::run(settings, args),
        Command::Init(args) => init::run(settings, args),
        Command::Launch(args) => launch::run(settings, args),
        Command::Local(args) => local::run(settings, args),
        Command::Coord(args) => coord::run(settings, args),
        Command::Control(args) => control::run(settings, args),
        Command::Dep(args) => dep::run(settings, args),
        Command::Feedback(args) => feedback::run(settings, args),
        Command::Github(args) => github::run(settings, args),
        Command::Replay(args) => replay::run(settings, args),
        Command::Benchmark(args) => benchmark::run(settings, args),
        Command::State(args) => state::run(settings, args),
        Command::Ci(args) => ci::run(settings, args),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
