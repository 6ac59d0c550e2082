//! Plan layer benchmarks: parsing and validating every corpus plan (in memory), and loading a
//! whole lane from disk. The corpus is `../shared` (or `$WAVE_SHARED_DIR`); without it the
//! in-memory benches use the edge-case fixtures and the lane bench measures the error path.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use wave_runner::plan::matrix::{parse_catalog, parse_matrix};
use wave_runner::plan::{
    LaneProfile, ParseContext, ValidateContext, WaveConfig, load_lane, parse_wave, validate_wave,
};

fn main() {
    divan::main();
}

struct Corpus {
    root: PathBuf,
    lane: LaneProfile,
    plans: Vec<(String, String)>,
    prompts: BTreeMap<String, String>,
    matrix: Result<wave_runner::plan::matrix::ComponentMatrix, String>,
    catalog: Result<wave_runner::plan::matrix::BenchmarkCatalog, String>,
}

fn read_dir_files(root: &Path, rel: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(root.join(rel))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    Some((format!("{rel}/{name}"), text))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn corpus() -> Corpus {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("WAVE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../shared"))
        .join("corpus/upstream-repo");
    let (root, plan_dirs) = if shared.is_dir() {
        (shared, vec!["docs/plans/waves", "docs/plans/examples"])
    } else {
        (manifest.join("tests/fixtures/plans/repo"), vec!["edge"])
    };
    let config_text = std::fs::read_to_string(root.join("wave.config.json")).ok();
    let lane = WaveConfig::parse(config_text.as_deref(), "wave.config.json")
        .and_then(|c| c.lane_profile(None))
        .expect("lane profile");
    let plans = plan_dirs
        .iter()
        .flat_map(|d| read_dir_files(&root, d))
        .filter(|(p, _)| p.ends_with(".md"))
        .collect();
    let prompts = read_dir_files(&root, "docs/agents").into_iter().collect();
    let matrix_text =
        std::fs::read_to_string(root.join(&lane.paths.component_cutover_matrix_json_path)).ok();
    let catalog_text = std::fs::read_to_string(root.join(&lane.paths.benchmark_catalog_path)).ok();
    Corpus {
        matrix: parse_matrix(
            matrix_text.as_deref(),
            &lane.paths.component_cutover_matrix_json_path,
        ),
        catalog: parse_catalog(catalog_text.as_deref(), &lane.paths.benchmark_catalog_path),
        root,
        lane,
        plans,
        prompts,
    }
}

#[divan::bench]
fn parse_all_corpus_plans(bencher: divan::Bencher) {
    let c = corpus();
    let ctx = ParseContext {
        lane: &c.lane,
        role_prompts: &c.prompts,
    };
    bencher.bench_local(|| {
        c.plans
            .iter()
            .filter(|(path, text)| parse_wave(text, path, &ctx).is_ok())
            .count()
    });
}

#[divan::bench]
fn parse_and_validate_all_corpus_plans(bencher: divan::Bencher) {
    let c = corpus();
    let ctx = ParseContext {
        lane: &c.lane,
        role_prompts: &c.prompts,
    };
    let completed = BTreeSet::new();
    let vctx = ValidateContext {
        lane: &c.lane,
        matrix: &c.matrix,
        catalog: &c.catalog,
        completed_waves: &completed,
    };
    bencher.bench_local(|| {
        c.plans
            .iter()
            .filter_map(|(path, text)| parse_wave(text, path, &ctx).ok())
            .map(|p| validate_wave(&p.plan, &vctx).len())
            .sum::<usize>()
    });
}

#[divan::bench]
fn load_and_validate_lane_from_disk(bencher: divan::Bencher) {
    let c = corpus();
    bencher.bench_local(|| load_lane(&c.root, None).map(|l| l.waves.len()).unwrap_or(0));
}
