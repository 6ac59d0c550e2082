//! `wave init`: scaffold a repository for waves, without prompting.

use clap::Args;

use super::{CliError, ErrorKind, output};
use crate::exit::Code;
use crate::run::scaffold::{self, ScaffoldError};
use crate::settings::Settings;

/// Arguments of `wave init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,

    /// Lane the scaffold configures as the default lane.
    #[arg(long, value_name = "LANE", default_value = scaffold::DEFAULT_LANE)]
    pub lane: String,

    /// Print the written paths as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wave init`.
pub fn run(settings: &Settings, args: InitArgs) -> Result<Code, CliError> {
    let root = &settings.repo_root;
    let files = scaffold::starter_files(&args.lane).map_err(to_cli)?;
    let written = scaffold::write(root, &files, args.force).map_err(to_cli)?;
    if args.json {
        output::print_json(&serde_json::json!({
            "repoRoot": root.display().to_string(),
            "lane": args.lane,
            "written": written,
        }))?;
    } else {
        let mut text = format!(
            "Initialized {} with {} files:\n",
            root.display(),
            written.len()
        );
        for path in &written {
            text.push_str(&format!("  {path}\n"));
        }
        text.push_str("Next: `wave doctor`, then `wave launch --dry-run`.\n");
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}

fn to_cli(err: ScaffoldError) -> CliError {
    match &err {
        ScaffoldError::InvalidLane { .. } => {
            CliError::from_error(ErrorKind::User, &err, Code::USAGE)
        }
        ScaffoldError::Exists { .. } => CliError::from_error(ErrorKind::User, &err, Code::FAILURE)
            .hint("run `wave init --force` to overwrite them, or init into an empty directory"),
        ScaffoldError::Io { .. } => CliError::from_error(ErrorKind::Internal, &err, Code::INTERNAL),
    }
}
