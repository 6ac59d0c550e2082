//! `wave control`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave control`.
#[derive(Debug, Args)]
pub struct ControlArgs {}

/// Runs `wave control`.
pub fn run(_settings: &Settings, _args: ControlArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave control` is not built yet"))
}
