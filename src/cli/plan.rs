//! `wave plan`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {}

/// Runs `wave plan`.
pub fn run(_settings: &Settings, _args: PlanArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave plan` is not built yet"))
}
