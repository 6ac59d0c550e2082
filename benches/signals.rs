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

#[path = "support/synthetic_log.rs"]
mod synthetic_log;
use synthetic_log::{AGENTS, log};

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
    let inputs =
        WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_795_000_000_000);
    let state = reducer::reduce(&inputs);
    let recorded = std::collections::BTreeMap::new();
    bencher.bench(|| {
        // What `WaveStatus::sync_signals` does, without storing the block in the status.
        let inputs = state.signal_inputs(".tmp/main-wave-launcher");
        let sync = signals::sync(&inputs, &recorded, |_| None, "2026-11-22T02:00:00.000Z");
        (inputs.tasks.len(), sync.block.agents.len())
    });
}
