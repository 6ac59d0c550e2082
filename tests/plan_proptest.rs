//! The parser and validator never panic: on arbitrary text, on markdown-shaped noise, and on
//! random mutations of real plans. When a plan parses, its diagnostics point inside the file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use proptest::prelude::*;
use wave_runner::plan::matrix::{parse_catalog, parse_matrix};
use wave_runner::plan::{
    LaneProfile, ParseContext, ValidateContext, WaveConfig, parse_wave, validate_wave,
};

fn fixture_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/repo")
}

fn role_prompts() -> BTreeMap<String, String> {
    let dir = fixture_repo().join("docs/agents");
    std::fs::read_dir(&dir)
        .expect("fixture role prompts")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().into_string().expect("utf-8");
            let text = std::fs::read_to_string(e.path()).expect("readable");
            (format!("docs/agents/{name}"), text)
        })
        .collect()
}

fn lane() -> LaneProfile {
    WaveConfig::parse(None, "wave.config.json")
        .and_then(|c| c.lane_profile(None))
        .expect("default lane")
}

fn seed_plans() -> Vec<String> {
    let mut out = Vec::new();
    let dirs = [fixture_repo().join("edge")].into_iter().chain(
        common::corpus_repo()
            .into_iter()
            .flat_map(|r| [r.join("docs/plans/waves"), r.join("docs/plans/examples")]),
    );
    for dir in dirs {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(e.path()) {
                    out.push(text);
                }
            }
        }
    }
    out.sort();
    out
}

/// Parses and, when that succeeds, validates; checks every diagnostic points into the text.
fn exercise(text: &str) {
    let lane = lane();
    let prompts = role_prompts();
    let ctx = ParseContext {
        lane: &lane,
        role_prompts: &prompts,
    };
    let lines = u32::try_from(text.split('\n').count()).unwrap_or(u32::MAX);
    match parse_wave(text, "docs/plans/waves/wave-7.md", &ctx) {
        Ok(parsed) => {
            let matrix = parse_matrix(
                Some(
                    r#"{"levels":["repo-landed","pilot-live"],"components":{"comp-a":{"currentLevel":"repo-landed","promotions":[{"wave":7,"target":"pilot-live"}]}}}"#,
                ),
                "docs/plans/component-cutover-matrix.json",
            );
            let catalog = parse_catalog(None, "docs/evals/benchmark-catalog.json");
            let completed = BTreeSet::new();
            let vctx = ValidateContext {
                lane: &lane,
                matrix: &matrix,
                catalog: &catalog,
                completed_waves: &completed,
            };
            let findings = validate_wave(&parsed.plan, &vctx);
            for d in findings.iter().chain(&parsed.warnings) {
                assert!(d.line >= 1 && d.column >= 1, "{d}");
                assert!(d.line <= lines, "{d} is past the end ({lines} lines)");
            }
            for a in &parsed.plan.agents {
                assert!(a.owned_paths.iter().all(|p| !p.is_empty()));
                assert!(a.slug.len() <= 48);
            }
        }
        Err(err) => {
            let d = err.to_diagnostic().expect("parse errors carry a position");
            assert!(d.line >= 1 && d.line <= lines, "{d}");
            assert!(!d.hint.is_empty(), "{d}");
        }
    }
}

const FRAGMENTS: &[&str] = &[
    "## Agent A1: T\n",
    "## Agent A0: QA\n",
    "### Prompt\n",
    "#### Prompt\n",
    "### Role prompts\n- docs/agents/wave-cont-qa-role.md\n",
    "### Executor\n- id: codex\n",
    "### Executor\n- claude.settings_json: {\"a\":1}\n",
    "### Components\n- comp-a\n",
    "### Deliverables\n- src/a.rs\n",
    "### Proof artifacts\n- path: src/p.json | required-for: pilot-live\n",
    "### Exit contract\n- completion: live\n",
    "## Component promotions\n- comp-a: pilot-live\n",
    "## Eval targets\n- id: t | selection: pinned | benchmarks: b | objective: o | threshold: t\n",
    "## Deploy environments\n- prod: k8s default (x)\n",
    "## Context7 defaults\n- bundle: none\n",
    "```text\n",
    "```\n",
    "File ownership:\n",
    "- src/a.rs\n",
    "- src/\n",
    "Next:\n",
    "\r\n",
    "\u{2028}",
    "é",
    "😀",
    ":",
    "|",
    "`",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        exercise(&text);
    }

    #[test]
    fn markdown_shaped_noise_never_panics(parts in prop::collection::vec(0..FRAGMENTS.len(), 0..40)) {
        let text: String = parts.iter().map(|i| FRAGMENTS[*i]).collect();
        exercise(&text);
    }

    #[test]
    fn mutated_real_plans_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4u8, 0..FRAGMENTS.len()), 1..8),
    ) {
        let seeds = seed_plans();
        prop_assume!(!seeds.is_empty());
        let mut text = pick.get(&seeds).clone();
        for (at, op, frag) in edits {
            let boundaries: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
            let i = *at.get(&boundaries);
            match op {
                0 => text.insert_str(i, FRAGMENTS[frag]),
                1 => {
                    let end = boundaries.iter().copied().find(|b| *b >= i + 20).unwrap_or(text.len());
                    text.replace_range(i..end, "");
                }
                2 => {
                    let end = boundaries.iter().copied().find(|b| *b > i).unwrap_or(text.len());
                    let upper = text[i..end].to_uppercase();
                    text.replace_range(i..end, &upper);
                }
                _ => text = text.replace("\n", "\r\n"),
            }
        }
        exercise(&text);
    }
}
