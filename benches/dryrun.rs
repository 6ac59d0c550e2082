//! Dry-run launch on the committed starter example: loading the lane, preparing every prompt and
//! launch preview (pure), and the whole load + prepare + write path.
//!
//! Run: `cargo bench --bench dryrun`. The end-to-end figure (target ≤ 15 ms wall) is measured on
//! a release build with:
//!
//! ```sh
//! cargo build --release
//! cp -r examples/starter /tmp/bench-starter
//! hyperfine -N --warmup 5 --runs 100 \
//!   "$PWD/target/release/wave --repo-root /tmp/bench-starter launch --dry-run"
//! ```

use std::path::{Path, PathBuf};

use wave_runner::run::executor::dryrun::{self, DryRunOptions};
use wave_runner::run::executor::workspace;

fn main() {
    divan::main();
}

fn starter_copy() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter");
    let dir = tempfile::tempdir().expect("tempdir");
    copy(&src, dir.path());
    let root = dir.path().to_path_buf();
    (dir, root)
}

fn copy(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    for entry in std::fs::read_dir(src).expect("read_dir") {
        let entry = entry.expect("entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != ".tmp" {
                copy(&entry.path(), &to);
            }
        } else {
            std::fs::copy(entry.path(), to).expect("copy");
        }
    }
}

fn options(root: &Path) -> DryRunOptions<'_> {
    DryRunOptions {
        repo_root: root,
        cli_executor: None,
        local_command: "/usr/local/bin/wave",
        orchestrator_id: "main-orch",
        credential_providers: &[],
        credentials: &[],
        context7_index: None,
        claude_settings: &[],
    }
}

#[divan::bench]
fn load_lane(bencher: divan::Bencher) {
    let (_dir, root) = starter_copy();
    bencher.bench(|| {
        let ws = workspace::load_config(&root, None).expect("config");
        workspace::load_waves(&root, &ws.lane).expect("waves")
    });
}

#[divan::bench]
fn prepare_prompts_and_previews(bencher: divan::Bencher) {
    let (_dir, root) = starter_copy();
    let ws = workspace::load_config(&root, None).expect("config");
    let waves = workspace::load_waves(&root, &ws.lane).expect("waves");
    let selected: Vec<_> = waves.iter().collect();
    bencher.bench(|| dryrun::prepare(&ws.lane, &selected, &options(&root)).expect("prepare"));
}

#[divan::bench]
fn load_prepare_and_write(bencher: divan::Bencher) {
    let (_dir, root) = starter_copy();
    bencher.bench(|| {
        let ws = workspace::load_config(&root, None).expect("config");
        let waves = workspace::load_waves(&root, &ws.lane).expect("waves");
        let selected: Vec<_> = waves.iter().collect();
        let run = dryrun::prepare(&ws.lane, &selected, &options(&root)).expect("prepare");
        dryrun::write(&run).expect("write");
    });
}
