//! `wave doctor`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Runs `wave doctor`.
pub fn run(_settings: &Settings, _args: DoctorArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave doctor` is not built yet"))
}
