//! `wave coord`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave coord`.
#[derive(Debug, Args)]
pub struct CoordArgs {}

/// Runs `wave coord`.
pub fn run(_settings: &Settings, _args: CoordArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave coord` is not built yet"))
}
