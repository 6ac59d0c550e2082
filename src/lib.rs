//! wave-runner: run bounded multi-agent coding waves and close them only on recorded proof.
//!
//! The crate is a library with a thin CLI (`wave`). Data flows down through the layers below;
//! nothing reads a projection back as input. See `docs/ARCHITECTURE.md` for the code map and the
//! invariants each layer keeps.
//!
//! | layer | owns | must not |
//! |---|---|---|
//! | [`plan`] | wave markdown, `wave.config.json`, role prompts, component matrix → read-only `Plan` | do I/O in the parser core, panic |
//! | [`event`] | canonical record types and their wire format | know where records are stored |
//! | [`store`] | the `EventStore` trait and its backends: the only persistence | interpret records |
//! | [`engine`] | reducer, derived state, gates, closure, benchmark scoring | do I/O, read the clock or the environment |
//! | [`run`] | effects of running a wave: dispatcher, agent processes, executors | decide verdicts |
//! | [`github`] | GitHub API and Actions plumbing | decide anything |
//! | [`render`] | pure renderers: markdown and JSON views | do I/O |
//! | [`cli`] | clap arguments → settings → one library call → render | hold logic |

pub mod cli;
pub mod engine;
pub mod event;
pub mod exit;
pub mod github;
pub mod plan;
pub mod render;
pub mod run;
pub mod settings;
pub mod store;
