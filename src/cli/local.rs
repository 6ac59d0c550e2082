//! `wave local`: the deterministic local executor (spec §9.9). It reads a prompt compiled by
//! `wave launch`, creates the agent's missing deliverables and reports and prints the markers its
//! contract needs; the launcher captures the output as the agent log.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, ErrorKind, output};
use crate::exit::Code;
use crate::run::local::{self, LocalError};
use crate::settings::Settings;

/// Arguments of `wave local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// The compiled prompt file.
    #[arg(long, value_name = "PATH")]
    pub prompt_file: PathBuf,
}

/// Runs `wave local`.
pub fn run(settings: &Settings, args: LocalArgs) -> Result<Code, CliError> {
    let text = local::run(&args.prompt_file, &settings.repo_root).map_err(|e| {
        let code = match e {
            LocalError::Io { .. } => Code::INTERNAL,
            _ => Code::FAILURE,
        };
        CliError::from_error(ErrorKind::User, &e, code)
    })?;
    output::print_text(&text)?;
    Ok(Code::OK)
}
