//! GitHub layer: rendering a large wave's check run and sanitizing a maximal comment.

use wave_runner::github::report::{
    AgentRow, Blocker, FileProblem, GateRow, ReportState, Stamp, WaveReport,
};
use wave_runner::github::sanitize::{DEFAULT_MAX_CHARS, sanitize};
use wave_runner::render::github::{check_run, sticky_comment};

fn main() {
    divan::main();
}

fn big_report(agents: usize) -> WaveReport {
    WaveReport {
        lane: "main".into(),
        wave: 7,
        state: ReportState::Failed,
        infra_error: None,
        gates: (0..12)
            .map(|i| GateRow {
                name: format!("gate{i}"),
                ok: i % 3 != 0,
                status_code: "missing-proof".into(),
                agent_id: Some(format!("A{i}")),
                detail: "detail text".into(),
                advisory: false,
            })
            .collect(),
        blockers: (0..agents / 2)
            .map(|i| Blocker {
                id: format!("b{i}"),
                kind: "blocker".into(),
                owner: Some(format!("A{i}")),
                detail: "a blocker with a reasonably long explanation".into(),
            })
            .collect(),
        requests: Vec::new(),
        agents: (0..agents)
            .map(|i| AgentRow {
                id: format!("A{i}"),
                state: "failed".into(),
                attempts: 3,
                detail: "the agent's last status line".into(),
            })
            .collect(),
        problems: (0..agents / 10)
            .map(|i| FileProblem {
                path: format!("src/m{i}.rs"),
                line: None,
                title: "missing deliverable".into(),
                message: "declared deliverable is missing".into(),
            })
            .collect(),
        retry_targets: Vec::new(),
        stamp: Stamp {
            commit: "c".repeat(40),
            plan_hash: "p".repeat(12),
            runner_version: "0.1.0".into(),
        },
        details_url: None,
        note: None,
        stale_by: None,
    }
}

#[divan::bench(args = [10, 1000, 5000])]
fn render_check_run(bencher: divan::Bencher, agents: usize) {
    let report = big_report(agents);
    bencher.bench(|| {
        let view = check_run(divan::black_box(&report));
        let sticky = sticky_comment(&report);
        (view.summary.len(), sticky.len())
    });
}

#[divan::bench]
fn sanitize_max_comment(bencher: divan::Bencher) {
    let chunk = "text <!-- hidden --> more\u{200B} <span hidden>x</span> ![alt](u) ";
    let body = chunk.repeat(65_536 / chunk.len());
    bencher.bench(|| {
        sanitize(divan::black_box(&body), DEFAULT_MAX_CHARS)
            .text
            .len()
    });
}
