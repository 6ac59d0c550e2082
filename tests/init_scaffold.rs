//! `wave init`: what it writes, that the result is a launchable plan, and that it never clobbers.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::wave_bin;
use wave_runner::plan::{self, ExecutorId};
use wave_runner::run::executor::resolve;
use wave_runner::run::scaffold;

fn wave(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .args(args)
        .env_remove("WAVE_REPO_ROOT")
        .output()
        .expect("run wave")
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn init_into_an_empty_dir_writes_a_plan_that_satisfies_default_validation() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let out = wave(root, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = tree(root);
    let expected: Vec<&str> = scaffold::TEMPLATES.iter().map(|(p, _)| *p).collect();
    assert_eq!(written.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut e = expected.clone();
        e.sort();
        e
    });

    // Upstream's default validation (spec §1.7, §14.2) as the plan layer implements it.
    let plans = plan::load_lane(root, None).unwrap();
    assert!(plans.is_valid(), "{:#?}", plans.findings);
    assert!(
        plans.findings.is_empty(),
        "no warnings either: {:#?}",
        plans.findings
    );
    let lane = &plans.inputs.lane;
    let waves = plans.waves.clone();
    assert_eq!(waves.len(), 1);
    let w0 = &waves[0];
    let ids: Vec<&str> = w0.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, ["A0", "A8", "A9", "A1"]);

    // §1.7 rules active at wave 0 under the default thresholds.
    for agent in &w0.agents {
        assert!(
            !agent.owned_paths.is_empty(),
            "{} owns nothing",
            agent.agent_id
        );
        for reference in &lane.validation.required_prompt_references {
            assert!(
                agent.prompt.contains(reference.as_str()),
                "{} lacks {reference}",
                agent.agent_id
            );
            assert!(root.join(reference).is_file());
        }
        let ex = resolve::resolve_executor(agent, lane, None).unwrap();
        assert_eq!(ex.id, ExecutorId::Local);
    }
    let a0 = w0.agent("A0").unwrap();
    assert!(a0.imports(&lane.roles.cont_qa_role_prompt_path));
    assert!(
        w0.agent("A8")
            .unwrap()
            .imports(&lane.roles.integration_role_prompt_path)
    );
    let a9 = w0.agent("A9").unwrap();
    assert!(a9.imports(&lane.roles.documentation_role_prompt_path));
    let mut must_own: Vec<String> = lane.shared_plan_docs.clone();
    must_own.push(lane.paths.component_cutover_matrix_doc_path.clone());
    must_own.push(lane.paths.component_cutover_matrix_json_path.clone());
    for path in &must_own {
        assert!(a9.owned_paths.contains(path), "A9 must own {path}");
        assert!(root.join(path).is_file(), "{path} must exist");
        for other in w0.agents.iter().filter(|a| a.agent_id != "A9") {
            assert!(
                !other.owned_paths.contains(path),
                "{} must not own {path}",
                other.agent_id
            );
        }
    }
    // Component rule: promotions match the matrix; implementation agents declare components.
    let matrix: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(&lane.paths.component_cutover_matrix_json_path)).unwrap(),
    )
    .unwrap();
    let levels: Vec<&str> = matrix["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(!w0.component_promotions.is_empty());
    for promo in &w0.component_promotions {
        let component = &matrix["components"][&promo.component_id];
        let entry = component["promotions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["wave"] == 0)
            .expect("matrix promotion for wave 0");
        assert_eq!(entry["target"], promo.target_level.as_str());
        let current = levels
            .iter()
            .position(|l| *l == component["currentLevel"])
            .unwrap();
        let target = levels
            .iter()
            .position(|l| *l == promo.target_level)
            .unwrap();
        assert!(current <= target);
        let owners: Vec<&str> = w0
            .agents
            .iter()
            .filter(|a| a.components.contains(&promo.component_id))
            .map(|a| a.agent_id.as_str())
            .collect();
        assert_eq!(owners, ["A1"]);
    }
    let a1 = w0.agent("A1").unwrap();
    for d in &a1.deliverables {
        assert!(
            a1.owned_paths
                .iter()
                .any(|o| d == o || (o.ends_with('/') && d.starts_with(o.as_str())))
        );
    }
    // Every role prompt the scaffold writes has a standing prompt.
    for (path, _) in scaffold::TEMPLATES
        .iter()
        .filter(|(p, _)| p.starts_with("docs/agents/"))
    {
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        assert!(text.contains("## Standing prompt\n\n```text\n"), "{path}");
    }
}

#[test]
fn init_refuses_to_clobber_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs/plans/waves")).unwrap();
    std::fs::write(root.join("docs/plans/waves/wave-0.md"), "mine").unwrap();
    std::fs::write(root.join("wave.config.json"), "{}").unwrap();
    let before = tree(root);
    let out = wave(root, &["init"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 file(s) already exist; nothing was written"),
        "{err}"
    );
    assert!(
        err.contains("  docs/plans/waves/wave-0.md") && err.contains("  wave.config.json"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(tree(root), before, "nothing may be written");

    let out = wave(root, &["init", "--force"]);
    assert!(out.status.success());
    let after = tree(root);
    assert_ne!(after["wave.config.json"], b"{}".to_vec());
    assert_eq!(after.len(), scaffold::TEMPLATES.len());
}

#[test]
fn init_with_a_lane_configures_it_and_launches_under_its_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(wave(root, &["init", "--lane", "ci"]).status.success());
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("wave.config.json")).unwrap()).unwrap();
    assert_eq!(config["defaultLane"], "ci");
    let out = wave(root, &["launch", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        root.join(".tmp/ci-wave-launcher/dry-run/prompts/wave-0-0-a1.prompt.md")
            .is_file()
    );
    let bad = wave(root, &["init", "--lane", "Not A Lane", "--force"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_committed_starter_example_is_what_init_writes() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter");
    for (path, text) in scaffold::TEMPLATES {
        let committed = std::fs::read_to_string(example.join(path))
            .unwrap_or_else(|e| panic!("examples/starter/{path}: {e}"));
        // One difference: the example's matrix already records wave 0's promotion (what its
        // documentation steward writes), so running the example leaves the checkout unchanged.
        let expected = match *path {
            "docs/plans/component-cutover-matrix.json" => text.replace(
                "\"currentLevel\": \"inventoried\"",
                "\"currentLevel\": \"repo-landed\"",
            ),
            "docs/plans/component-cutover-matrix.md" => text.replace(
                "| inventoried | wave 0 → repo-landed |",
                "| repo-landed | wave 0 → repo-landed |",
            ),
            _ => (*text).to_owned(),
        };
        assert_eq!(
            committed, expected,
            "examples/starter/{path} differs from the template"
        );
    }
}

#[test]
fn init_output_validates_with_the_plan_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    assert!(wave(root, &["init"]).status.success());
    let out = wave(root, &["plan", "validate"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
