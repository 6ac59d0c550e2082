//! `wave control status` hot paths: the two-pass fold of a coordination log and the reduction
//! plus JSON rendering of the folded state. Synthetic log in upstream's format, shaped like
//! `tools/gen-coordination-log.py` (ids reused every `ids` lines, times increasing).
//!
//! Full-size figure (200,000 lines, 50,000 ids): `cargo bench --bench status -- 200000`, and the
//! end-to-end command in `docs/` (hyperfine and `/usr/bin/time -v` of the release binary).

use wave_runner::engine::control::ControlState;
use wave_runner::engine::reducer::{self, CoordFold, Position, RoleIds, Roster, WaveInputs};
use wave_runner::render;

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

fn roster() -> Roster {
    let md: String = AGENTS
        .iter()
        .map(|a| format!("## Agent {a}: agent {a}\n"))
        .collect();
    Roster::scan_wave_markdown(&md, RoleIds::default())
}

#[divan::bench(args = [20_000, 200_000], sample_count = 5)]
fn fold(bencher: divan::Bencher, n: usize) {
    let lines = log(n, n / 4);
    bencher.bench(|| {
        CoordFold::fold_lines(
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), Position::line(i as u64 + 1))),
            "2026-11-22T02:00:00.000Z",
        )
    });
}

#[divan::bench(args = [20_000, 200_000], sample_count = 5)]
fn reduce_and_render(bencher: divan::Bencher, n: usize) {
    let lines = log(n, n / 4);
    let (records, _) = CoordFold::fold_lines(
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), Position::line(i as u64 + 1))),
        "2026-11-22T02:00:00.000Z",
    );
    let roster = roster();
    let control = ControlState::default();
    bencher.bench(|| {
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
        let mut out = Vec::with_capacity(1 << 20);
        render::status::write_json(&state, &mut out).map(|()| out.len())
    });
}
