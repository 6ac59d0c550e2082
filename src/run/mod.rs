//! Running a wave: the dispatcher (the sole writer to the store), agent processes and executors.
//!
//! Owns: effects of launching agents. Must not: decide verdicts (the engine does).

pub mod ci;
pub mod doctor;
pub mod executor;
pub mod launch;
pub mod local;
pub mod lock;
pub mod process;
pub mod scaffold;
pub mod trace;
