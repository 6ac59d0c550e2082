//! Plans: wave markdown, `wave.config.json`, role prompts and the component cutover matrix,
//! parsed into a read-only [`WavePlan`] model and validated.
//!
//! Owns: the upstream-compatible plan grammar (spec §1, §11), closure-role recognition,
//! validation with file:line:column diagnostics, and the JSON view of a plan.
//! Must not: panic on any input, write files, or read the environment. Parsing ([`parse`]) and
//! validation ([`validate`]) are pure functions of text and parsed inputs; only [`load`]
//! touches the file system, and only to read.
//!
//! Entry points: [`load_lane`] (every plan of a lane, parsed and validated),
//! [`load_wave_file`] (one file), [`parse_wave`] (text → plan), [`validate_wave`],
//! [`load_config`] / [`WaveConfig::lane_profile`].

pub mod config;
pub mod error;
pub mod executor;
pub mod grammar;
pub mod load;
pub mod matrix;
pub mod model;
pub mod parse;
pub mod roles;
pub mod text;
pub mod validate;
pub mod view;

pub use config::{LaneProfile, WaveConfig};
pub use error::PlanError;
pub use executor::{command_program, resolve_executor_id, runtime_role};
pub use load::{
    FsRolePrompts, LaneInputs, LanePlans, WaveFile, discover_waves, load_config, load_lane,
    load_wave_file,
};
pub use model::*;
pub use parse::{ParseContext, Parsed, RolePromptSource, parse_wave, slugify};
pub use validate::{ValidateContext, validate_wave};
pub use view::plan_view;
