//! Renderers: pure functions from engine views to markdown and JSON text.
//!
//! Owns: text layout of dashboards, summaries, inboxes and reports. Must not: do I/O.
pub mod benchmark;
pub mod coord;
pub mod github;
pub mod inbox;
pub mod launch;
pub mod summary;

pub mod status;
