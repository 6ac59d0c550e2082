//! The store: the only persistence of canonical state (DESIGN §4).
//!
//! Owns: the `EventStore` trait and its backends, one append-only JSONL file per writer per
//! stream, locking and fsync. Must not: interpret records beyond their envelope.
