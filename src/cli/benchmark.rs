//! `wave benchmark`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave benchmark`.
#[derive(Debug, Args)]
pub struct BenchmarkArgs {}

/// Runs `wave benchmark`.
pub fn run(_settings: &Settings, _args: BenchmarkArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave benchmark` is not built yet"))
}
