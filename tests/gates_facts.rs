//! The reducer's coordination records feed the barriers.
mod gates_support;

use gates_support::World;
use wave_runner::engine::gates::CoordinationFacts;
use wave_runner::engine::reducer::CoordRecord;

#[test]
fn open_blocking_records_from_the_log_reach_the_barriers() {
    let line = |id: &str, kind: &str, status: &str, extra: &str| {
        CoordRecord::from_line(
            &format!(r#"{{"id":"{id}","kind":"{kind}","lane":"main","wave":1,"agentId":"A1","targets":["agent:A9"],"status":"{status}","summary":"s"{extra}}}"#),
            "2026-01-01T00:00:00.000Z",
        )
        .expect("valid record")
    };
    let records = [
        line("clar-1", "clarification-request", "open", ""),
        line("done", "blocker", "resolved", ""),
        line(
            "follow",
            "request",
            "open",
            r#","closureCondition":"clarification:clar-1","blocking":true"#,
        ),
    ];
    let facts = CoordinationFacts::from_reduced(records.iter(), &[], &[], &[]);
    assert_eq!(facts.open_records.len(), 2, "resolved records are dropped");
    let follow = facts
        .open_records
        .iter()
        .find(|r| r.id == "follow")
        .expect("follow-up");
    assert!(follow.clarification_linked && follow.blocking);
    let mut w = World::passing();
    w.coordination = facts;
    let (snapshot, _) = w.evaluate();
    assert_eq!(snapshot.overall.gate, "clarificationBarrier");
    assert_eq!(snapshot.overall.status_code, "clarification-open");
}
