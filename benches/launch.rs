//! Real launches with the local executor: the upstream-scaffolded wave 0 end to end (plan load,
//! prompts, agent processes, closure sweep, gates, store appends), and the local executor's pure
//! prompt → response step.
//!
//! Run: `cargo bench --bench launch`. The wall-clock figure (target ≤ 0.5 s; upstream's own local
//! run of the same wave takes 11 s) is measured on a release build with:
//!
//! ```sh
//! cargo build --release
//! rm -rf /tmp/bench0 && mkdir /tmp/bench0 && cp -r tests/fixtures/upstream-init/. /tmp/bench0/
//! git -C /tmp/bench0 init -q && git -C /tmp/bench0 add -A && git -C /tmp/bench0 commit -qm init
//! hyperfine --warmup 2 --runs 20 \
//!   --prepare 'git -C /tmp/bench0 clean -fdxq; git -C /tmp/bench0 checkout -q .' \
//!   "$PWD/target/release/wave --repo-root /tmp/bench0 launch --lane main --wave 0 --force-executor local"
//! ```

use std::path::Path;
use std::process::Command;

use wave_runner::run::local::{PromptFacts, respond};

fn main() {
    divan::main();
}

fn copy(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read_dir").flatten() {
        let p = e.path();
        let to = dst.join(e.file_name());
        if p.is_dir() {
            copy(&p, &to);
        } else {
            std::fs::copy(&p, &to).expect("copy");
        }
    }
}

/// `wave launch --wave 0 --force-executor local` in a fresh copy of upstream's scaffold.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn upstream_wave_zero(bencher: divan::Bencher) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-init");
    bencher
        .with_inputs(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            copy(&src, dir.path());
            dir
        })
        .bench_values(|dir| {
            let status = Command::new(env!("CARGO_BIN_EXE_wave"))
                .arg("--repo-root")
                .arg(dir.path())
                .args(["launch", "--lane", "main", "--wave", "0"])
                .args(["--force-executor", "local"])
                .env_remove("WAVE_STORE")
                .output()
                .expect("wave runs");
            assert!(status.status.success());
            dir
        });
}

const PROMPT: &str = "Working directory: /repo\n\nRole model for this run:\n- cont-QA agent id: A0\n- cont-EVAL agent id: E0\n- Integration steward agent id: A8\n- Documentation steward agent id: A9\n- Resolved executor: local\n\nYou are the Wave executor running Wave 0 / Agent A1: Starter.\n- Emit one final structured proof marker: `[wave-proof] …`\n\nExit contract for this run:\n- completion: contract\n- durability: none\n- proof: unit\n- doc-impact: owned\n\nComponents you own in this wave:\n- wave-parser-and-launcher: repo-landed\n\nAssigned implementation prompt:\n```\nReview.\n\nFile ownership (only touch these paths):\n- README.md\n- scripts/wave-orchestrator/wave-files.mjs\n```\n";

/// Reading a compiled prompt and deciding files and markers.
#[divan::bench]
fn local_executor_response() -> usize {
    respond(&PromptFacts::parse(divan::black_box(PROMPT)))
        .output
        .len()
}
