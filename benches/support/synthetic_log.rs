//! A synthetic coordination log shaped like `tools/gen-coordination-log.py`, shared by the
//! `status` and `signals` benches.

const KINDS: [&str; 8] = [
    "request",
    "ack",
    "claim",
    "evidence",
    "decision",
    "blocker",
    "handoff",
    "clarification-request",
];
/// The agents lines are written by and aimed at.
pub const AGENTS: [&str; 6] = ["A1", "A2", "A3", "A8", "A9", "A0"];
const STATUSES: [&str; 5] = ["open", "acknowledged", "in_progress", "resolved", "closed"];

/// `n` lines over `ids` distinct ids, cycling kinds, authors, targets and statuses.
pub fn log(n: usize, ids: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let kind = KINDS[(i * 7) % KINDS.len()];
            let ts = format!(
                "2026-11-22T01:{:02}:{:02}.{:03}Z",
                (i / 6000) % 60,
                (i / 100) % 60,
                i % 1000
            );
            format!(
                r#"{{"recordVersion":1,"id":"rec-{}","kind":"{kind}","wave":0,"lane":"main","agentId":"{}","targets":["agent:{}"],"status":"{}","priority":"normal","blocking":{},"blockerSeverity":"closure-critical","artifactRefs":["src/x.rs"],"dependsOn":[],"closureCondition":"","createdAt":"{ts}","updatedAt":"{ts}","confidence":"medium","summary":"summary {i} lorem ipsum dolor sit amet","detail":"detail text detail text detail text detail text","attempt":null,"source":"agent"}}"#,
                i % ids,
                AGENTS[i % 6],
                AGENTS[(i / 6) % 6],
                STATUSES[(i / 3) % 5],
                matches!(kind, "request" | "blocker" | "clarification-request"),
            )
        })
        .collect()
}
