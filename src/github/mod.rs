//! GitHub: the API client, check runs, comments, webhook-event ingestion and Actions plumbing.
//!
//! Owns: every call to GitHub. Must not: decide anything; its surfaces are projections of the
//! engine's verdicts.
