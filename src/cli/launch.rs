//! `wave launch`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave launch`.
#[derive(Debug, Args)]
pub struct LaunchArgs {}

/// Runs `wave launch`.
pub fn run(_settings: &Settings, _args: LaunchArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave launch` is not built yet"))
}
