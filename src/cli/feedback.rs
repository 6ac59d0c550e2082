//! `wave feedback`.

use clap::Args;

use super::CliError;
use crate::exit::Code;
use crate::settings::Settings;

/// Arguments of `wave feedback`.
#[derive(Debug, Args)]
pub struct FeedbackArgs {}

/// Runs `wave feedback`.
pub fn run(_settings: &Settings, _args: FeedbackArgs) -> Result<Code, CliError> {
    Err(CliError::internal("`wave feedback` is not built yet"))
}
