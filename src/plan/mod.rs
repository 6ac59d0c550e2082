//! Plans: wave markdown, `wave.config.json`, role prompts and the component cutover matrix,
//! parsed into a read-only [`WavePlan`] model and validated.
//!
//! Owns: the upstream-compatible plan grammar (spec §1, §11), validation with file:line:column
//! diagnostics. Must not: panic on any input, write files, or read the environment. Parsing and
//! validation are pure functions of text; only [`load`] touches the file system (reading).

pub mod config;
pub mod error;
pub mod model;
pub mod text;

pub use config::{LaneProfile, WaveConfig};
pub use error::PlanError;
pub use model::*;
