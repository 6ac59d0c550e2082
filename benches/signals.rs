//! The `signals` block of `wave control status`: what building it adds to a status that is
//! already reduced (the signal inputs from the status's tasks, feedback and logical agents,
//! versioning against recorded snapshots). Synthetic log shaped like
//! `tools/gen-coordination-log.py`, as in `benches/status.rs`.
//!
//! `cargo bench --bench signals`

use wave_runner::engine::control::ControlState;
use wave_runner::engine::coordination::signals;
use wave_runner::engine::reducer::{self, CoordFold, Position, RoleIds, Roster, WaveInputs};

fn main() {
    divan::main();
}

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
const AGENTS: [&str; 6] = ["A1", "A2", "A3", "A8", "A9", "A0"];
const STATUSES: [&str; 5] = ["open", "acknowledged", "in_progress", "resolved", "closed"];

fn log(n: usize, ids: usize) -> Vec<String> {
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

#[divan::bench(args = [20_000, 200_000], sample_count = 10)]
fn sync_signals(bencher: divan::Bencher, n: usize) {
    let lines = log(n, n / 4);
    let (records, _) = CoordFold::fold_lines(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), Position::line(i as u64 + 1))),
        "2026-11-22T02:00:00.000Z",
    );
    let md: String = AGENTS
        .iter()
        .map(|a| format!("## Agent {a}: agent {a}\n"))
        .collect();
    let roster = Roster::scan_wave_markdown(&md, RoleIds::default());
    let control = ControlState::default();
    let inputs = WaveInputs {
        lane: "main",
        wave: 0,
        roster: &roster,
        coordination: &records,
        dependencies: &[],
        control: &control,
        envelopes: &[],
        now_ms: 1_795_000_000_000,
    };
    let state = reducer::reduce(&inputs);
    let recorded = std::collections::BTreeMap::new();
    bencher.bench(|| {
        // What `WaveStatus::sync_signals` does, without storing the block in the status.
        let inputs = state.signal_inputs(".tmp/main-wave-launcher");
        let sync = signals::sync(&inputs, &recorded, |_| None, "2026-11-22T02:00:00.000Z");
        (inputs.tasks.len(), sync.block.agents.len())
    });
}
