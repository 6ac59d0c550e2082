//! The engine: pure functions from canonical state to derived state, gates, closure decisions and
//! benchmark scores.
//!
//! Owns: reduction, derived views' data, gates, closure, retry, human input, markers → envelopes,
//! benchmark scoring. Must not: do I/O, read the clock (time is a parameter) or the environment.

pub mod benchmark;
pub mod control;
pub mod coordination;
pub mod prompt;
pub mod reducer;

pub mod closure;
pub mod gates;
pub mod ladder;
pub mod markers;
pub mod retry;
pub mod summary;
pub mod triage;
