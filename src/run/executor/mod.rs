//! Executors: how an agent's compiled prompt is handed to an agent CLI (codex, claude, opencode)
//! or to the built-in deterministic `local` executor.
//!
//! Owns: the pure launch-spec builders ([`command`]), shell quoting ([`shell`]), the writer of
//! launch previews and overlay files ([`preview`]) and the dry-run launcher ([`dryrun`]).
//! Must not: decide verdicts, or start processes from the builders (only a later process runner
//! executes the lines built here).

pub mod command;
pub mod dryrun;
pub mod preview;
pub mod resolve;
pub mod shell;
pub mod workspace;
