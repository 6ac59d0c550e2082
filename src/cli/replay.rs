//! `wave replay`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {}

/// Runs `wave replay`.
pub fn run(_settings: &Settings, _args: ReplayArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave replay` is not built yet"))
}
