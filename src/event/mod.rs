//! Canonical records and their wire format: coordination records, control-plane events, result
//! envelopes (spec §3–§5). See `docs/event-format.md`.
//!
//! Owns: record types, normalization on read and write, versioning. Must not: know where records
//! are stored or how they are reduced.

pub mod control;
pub mod envelope;
pub mod time;
