//! The native benchmark suite: loading (validation + materialization) and scoring.
//!
//! Runs over the in-tree fixture repository and, when present, the shared corpus repository
//! (`$WAVE_SHARED_DIR`, else `../shared`).
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

use std::path::{Path, PathBuf};

use wave_runner::engine::benchmark::{
    Catalog, DEFAULT_CASES_DIR, DEFAULT_CATALOG_PATH, RunOptions, SourceFile, SuiteSources,
    load_suite, run_suite,
};

fn main() {
    divan::main();
}

fn sources(root: &Path) -> SuiteSources {
    let read = |rel: &str| SourceFile {
        path: rel.to_owned(),
        text: std::fs::read_to_string(root.join(rel)).unwrap_or_default(),
    };
    let mut names: Vec<String> = std::fs::read_dir(root.join(DEFAULT_CASES_DIR))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    SuiteSources {
        cases_dir: DEFAULT_CASES_DIR.to_owned(),
        catalog: read(DEFAULT_CATALOG_PATH),
        cases: names
            .iter()
            .map(|n| read(&format!("{DEFAULT_CASES_DIR}/{n}")))
            .collect(),
        adapters: None,
    }
}

fn repos() -> Vec<(&'static str, PathBuf)> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = vec![("fixtures", manifest.join("tests/fixtures/benchmark/repo"))];
    let shared = std::env::var_os("WAVE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../shared"));
    let corpus = shared.join("corpus/upstream-repo");
    if corpus.is_dir() {
        out.push(("corpus", corpus));
    }
    out
}

const NOW: &str = "2026-01-01T00:00:00.000Z";

#[divan::bench(args = ["fixtures", "corpus"])]
fn load_and_run(bencher: divan::Bencher, which: &str) {
    let Some((_, root)) = repos().into_iter().find(|(n, _)| *n == which) else {
        return;
    };
    let sources = sources(&root);
    bencher.bench(|| {
        let suite = load_suite(divan::black_box(&sources), NOW).expect("valid suite");
        run_suite(&suite, &RunOptions::default(), NOW, 1_767_225_600_000).expect("runs")
    });
}

/// Validation and materialization alone: the catalog (read in one pass, descriptive fields
/// skipped) and every case.
#[divan::bench(args = ["fixtures", "corpus"])]
fn load_only(bencher: divan::Bencher, which: &str) {
    let Some((_, root)) = repos().into_iter().find(|(n, _)| *n == which) else {
        return;
    };
    let sources = sources(&root);
    bencher.bench(|| load_suite(divan::black_box(&sources), NOW).expect("valid suite"));
}

/// The catalog alone.
#[divan::bench(args = ["fixtures", "corpus"])]
fn catalog_only(bencher: divan::Bencher, which: &str) {
    let Some((_, root)) = repos().into_iter().find(|(n, _)| *n == which) else {
        return;
    };
    let catalog = sources(&root).catalog;
    bencher.bench(|| {
        Catalog::parse(&catalog.path, divan::black_box(&catalog.text)).expect("valid catalog")
    });
}

#[divan::bench(args = ["fixtures", "corpus"])]
fn run_only(bencher: divan::Bencher, which: &str) {
    let Some((_, root)) = repos().into_iter().find(|(n, _)| *n == which) else {
        return;
    };
    let suite = load_suite(&sources(&root), NOW).expect("valid suite");
    bencher.bench(|| {
        run_suite(
            divan::black_box(&suite),
            &RunOptions::default(),
            NOW,
            1_767_225_600_000,
        )
        .expect("runs")
    });
}
