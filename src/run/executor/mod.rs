//! Executors: how an agent's compiled prompt is handed to an agent CLI (codex, claude, opencode)
//! or to the built-in deterministic `local` executor.
//!
//! Owns: the pure launch-spec builders ([`command`]: argv, model endpoints, per-run isolation),
//! shell quoting ([`shell`]), the writer of launch previews and overlay files ([`preview`]), the
//! dry-run launcher ([`dryrun`]) and the pinned agent CLI versions ([`pins`]).
//! Must not: decide verdicts, or start processes from the builders (only a later process runner
//! executes the lines built here).

pub mod command;
pub mod dryrun;
pub mod pins;
pub mod preview;
pub mod resolve;
pub mod shell;
