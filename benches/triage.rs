//! Clarification triage over a busy wave: `n` clarifications, each with one routed follow-up,
//! half of them past the ack timeout, plus `n` unrelated decisions.

use serde_json::json;
use wave_runner::engine::coordination::{CoordinationState, materialize};
use wave_runner::engine::triage::{TriageAgent, TriageInputs, TriageRoles, triage};
use wave_runner::event::coordination::CoordinationRecord;

fn main() {
    divan::main();
}

const NOW: i64 = 1_790_000_000_000;

fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(wave_runner::event::time::format)
        .unwrap_or_default()
}

fn state(n: usize) -> CoordinationState {
    let mut records: Vec<CoordinationRecord> = Vec::new();
    let mut push = |v: serde_json::Value| {
        if let Ok(r) = serde_json::from_value(v) {
            records.push(r);
        }
    };
    for i in 0..n {
        let age = if i % 2 == 0 { 600_000 } else { 60_000 };
        let t = at(NOW - age);
        push(
            json!({"id": format!("clar-{i}"), "kind": "clarification-request", "lane": "main",
            "wave": 0, "agentId": "A1", "status": "in_progress",
            "summary": format!("question {i} about src/mod{i}/lib.rs"), "createdAt": t, "updatedAt": t}),
        );
        push(
            json!({"id": format!("route-clar-{i}-1"), "kind": "request", "lane": "main", "wave": 0,
            "agentId": "launcher", "targets": ["agent:A2"], "dependsOn": [format!("clar-{i}")],
            "closureCondition": format!("clarification:clar-{i}"), "summary": "follow-up",
            "createdAt": t, "updatedAt": t}),
        );
        push(
            json!({"id": format!("dec-{i}"), "kind": "decision", "lane": "main", "wave": 0,
            "agentId": "A3", "status": "resolved", "summary": format!("decision number {i} on topic z{i}z"),
            "createdAt": t, "updatedAt": t}),
        );
    }
    materialize(records)
}

#[divan::bench(args = [10, 100, 500])]
fn triage_pass(bencher: divan::Bencher, n: usize) {
    let state = state(n);
    let agents: Vec<TriageAgent> = (0..20)
        .map(|i| TriageAgent {
            id: format!("A{}", i + 1),
            owned_paths: vec![format!("src/mod{i}/")],
            ..TriageAgent::default()
        })
        .collect();
    let roles = TriageRoles::default();
    let now = at(NOW);
    bencher.bench_local(|| {
        let inputs = TriageInputs {
            lane: "main",
            wave: 0,
            state: &state,
            agents: &agents,
            roles: &roles,
            docs_queue: &[],
            integration: None,
            attempt: None,
            now_ms: NOW,
            now: &now,
        };
        divan::black_box(triage(&inputs).map(|o| o.coordination.len()).unwrap_or(0))
    });
}
