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

#[path = "support/synthetic_log.rs"]
mod synthetic_log;
use synthetic_log::{AGENTS, log};

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
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_795_000_000_000);
        let state = reducer::reduce(&inputs);
        let mut out = Vec::with_capacity(1 << 20);
        render::status::write_json(&state, &mut out).map(|()| out.len())
    });
}
