//! Plans: wave markdown, `wave.config.json`, role prompts and the component cutover matrix,
//! parsed into a read-only [`Plan`](self) model and validated.
//!
//! Owns: the upstream-compatible plan grammar (spec §1, §11), validation with file:line:column
//! diagnostics. Must not: panic on any input, write files, or read the environment.
