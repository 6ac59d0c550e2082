//! `wave init`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave init`.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// Runs `wave init`.
pub fn run(_settings: &Settings, _args: InitArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave init` is not built yet"))
}
