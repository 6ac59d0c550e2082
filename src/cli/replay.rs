//! `wave replay`: rebuild and print the state of a wave from a store, or, with `--trace DIR`,
//! recompute an attempt's gate verdicts from its trace bundle and compare them with the
//! recorded ones.
//!
//! The state is reduced at the time of the latest record in the wave's streams (not the
//! clock), so the same store always prints the same bytes.

use std::io;

use clap::Args;

use super::CliError;
use super::control::Loaded;
use super::coord::WaveSel;
use crate::engine::reducer::{self, record::millis};
use crate::exit::Code;
use crate::render;
use crate::settings::Settings;

/// Arguments of `wave replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// A trace bundle (`<state>/traces/wave-N/attempt-A`): recompute its gate snapshot and
    /// compare it with the recorded one (exit 0 when they match, 1 when they differ).
    #[arg(long, value_name = "DIR")]
    trace: Option<std::path::PathBuf>,
}

/// Runs `wave replay`: prints the wave's status JSON as of its latest record.
pub fn run(settings: &Settings, args: ReplayArgs) -> Result<Code, CliError> {
    if let Some(dir) = &args.trace {
        let replay = crate::run::trace::replay(dir).map_err(|e| {
            CliError::user(e.to_string()).hint(
                "pass a directory written by `wave launch` under <state>/traces/wave-N/attempt-A",
            )
        })?;
        super::output::print_json(&replay)?;
        return Ok(if replay.matches {
            Code::OK
        } else {
            Code::FAILURE
        });
    }
    // Records without timestamps get the epoch, never the clock.
    let loaded = Loaded::read(settings, &args.sel, "1970-01-01T00:00:00.000Z")?;
    let latest = loaded
        .coordination
        .iter()
        .chain(&loaded.dependencies)
        .map(|r| millis(&r.updated_at))
        .chain(
            loaded
                .control
                .attempts
                .iter()
                .map(|a| millis(&a.updated_at)),
        )
        .chain(
            loaded
                .control
                .agent_runs
                .iter()
                .map(|a| millis(&a.updated_at)),
        )
        .chain(
            loaded
                .control
                .rerun_requests
                .iter()
                .map(|a| millis(&a.updated_at)),
        )
        .chain(
            loaded
                .control
                .human_inputs
                .iter()
                .map(|a| millis(&a.updated_at)),
        )
        .chain(
            loaded
                .control
                .proof_bundles
                .iter()
                .map(|a| millis(&a.updated_at)),
        )
        .max()
        .filter(|m| *m != i64::MIN)
        .unwrap_or(0);
    let state = reducer::reduce(&loaded.inputs(args.sel.wave, latest));
    match render::status::write_json(&state, io::stdout().lock()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(Code::OK),
    }
}
