//! `wave dep`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave dep`.
#[derive(Debug, Args)]
pub struct DepArgs {}

/// Runs `wave dep`.
pub fn run(_settings: &Settings, _args: DepArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave dep` is not built yet"))
}
