//! `wave launch --dry-run`: exactly the expected files, nothing outside the dry-run directory,
//! prompt sections in order, secrets redacted, paths quoted for the shell.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::wave_bin;
use proptest::prelude::*;
use wave_runner::engine::prompt::SECTION_ORDER;
use wave_runner::run::executor::shell::quote;

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
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(entry.path()).unwrap());
            }
        }
    }
    out
}

fn init(root: &Path) {
    assert!(wave(root, &["init"]).status.success());
}

const DRY: &str = ".tmp/main-wave-launcher/dry-run/";

#[test]
fn writes_exactly_the_expected_files_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    let before = tree(root);
    let out = wave(root, &["launch", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = tree(root);

    for (path, contents) in &before {
        assert_eq!(after.get(path), Some(contents), "{path} changed");
    }
    let new: Vec<&str> = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .map(String::as_str)
        .collect();
    let mut expected: Vec<String> = vec![
        "messageboards/wave-0.md".into(),
        "inboxes/wave-0/shared-summary.md".into(),
    ];
    for id in ["a0", "a8", "a9", "a1"] {
        expected.push(format!("inboxes/wave-0/{}.md", id.to_uppercase()));
        expected.push(format!("prompts/wave-0-0-{id}.prompt.md"));
        expected.push(format!("executors/wave-0/0-{id}/launch-preview.json"));
    }
    let mut expected: Vec<String> = expected.into_iter().map(|p| format!("{DRY}{p}")).collect();
    expected.sort();
    assert_eq!(new, expected);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("4 agent(s), 14 files under .tmp/main-wave-launcher/dry-run"),
        "{stdout}"
    );
    assert!(stdout.contains("Nothing was executed."));

    // A second dry run rewrites the same files with the same bytes.
    assert!(wave(root, &["launch", "--dry-run"]).status.success());
    assert_eq!(tree(root), after);
}

#[test]
fn each_executor_writes_its_overlay_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    let plan = root.join("docs/plans/waves/wave-0.md");
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace(
            "## Agent A8: Integration Steward\n",
            "## Agent A8: Integration Steward\n\n### Executor\n\n- id: claude\n- claude.hooks_json: {\"Stop\":[]}\n",
        )
        .replace(
            "## Agent A9: Documentation Steward\n",
            "## Agent A9: Documentation Steward\n\n### Executor\n\n- id: opencode\n",
        )
        .replace(
            "## Agent A1: Starter notes\n",
            "## Agent A1: Starter notes\n\n### Executor\n\n- id: codex\n- model: gpt-5-codex\n",
        );
    std::fs::write(&plan, text).unwrap();
    let out = wave(root, &["launch", "--dry-run", "--wave", "0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ex = root.join(DRY).join("executors/wave-0");
    let names = |slug: &str| {
        let mut v: Vec<String> = std::fs::read_dir(ex.join(slug))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("0-a0"), ["launch-preview.json"]);
    assert_eq!(names("0-a1"), ["launch-preview.json"]);
    assert_eq!(
        names("0-a8"),
        [
            "claude-settings.json",
            "claude-system-prompt.txt",
            "launch-preview.json"
        ]
    );
    assert_eq!(
        names("0-a9"),
        [
            "launch-preview.json",
            "opencode-agent-prompt.txt",
            "opencode.json"
        ]
    );
    let preview: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ex.join("0-a1/launch-preview.json")).unwrap())
            .unwrap();
    assert_eq!(preview["executorId"], "codex");
    let line = preview["invocationLines"][0].as_str().unwrap();
    assert!(
        line.starts_with("codex exec --dangerously-bypass-approvals-and-sandbox"),
        "{line}"
    );
    assert!(line.contains("--model 'gpt-5-codex'"));
    let a9: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ex.join("0-a9/launch-preview.json")).unwrap())
            .unwrap();
    assert!(
        a9["env"]["OPENCODE_CONFIG"]
            .as_str()
            .unwrap()
            .ends_with("0-a9/opencode.json")
    );
}

#[test]
fn prompt_sections_appear_in_order_with_wave_commands() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    assert!(wave(root, &["launch", "--dry-run"]).status.success());
    let prompt =
        std::fs::read_to_string(root.join(DRY).join("prompts/wave-0-0-a1.prompt.md")).unwrap();
    let mut last = 0;
    let mut seen = Vec::new();
    for heading in SECTION_ORDER {
        if let Some(at) = prompt.lines().position(|l| l.starts_with(heading)) {
            assert!(at >= last, "{heading} out of order");
            last = at;
            seen.push(*heading);
        }
    }
    for must in [
        "Working directory:",
        "Role model for this run:",
        "You are the Wave executor running",
        "Hard requirements for completeness:",
        "Current wave shared summary:",
        "Current agent inbox:",
        "Component promotions for this wave:",
        "Components you own in this wave:",
        "Deliverables required for this agent:",
        "Context7 scope for this run:",
        "Assigned implementation prompt:",
    ] {
        assert!(seen.contains(&must), "missing section {must}");
    }
    assert!(prompt.contains("You are the Wave executor running Wave 0 / Agent A1: Starter notes."));
    assert!(
        prompt
            .contains("- Coordination command: `wave coord post --lane main --wave 0 --agent A1 ")
    );
    assert!(prompt.contains("- Human escalation command: `wave feedback ask --lane main --wave 0 --agent A1 --orchestrator-id main-orch "));
    assert!(!prompt.contains("pnpm exec"));
    assert!(prompt.contains("[wave-component]"), "A1 owns a component");
    assert!(prompt.ends_with("- docs/starter/\n```\n"));
    let a0 = std::fs::read_to_string(root.join(DRY).join("prompts/wave-0-0-a0.prompt.md")).unwrap();
    assert!(a0.contains("Because you are Agent A0, your cont-QA report must end"));
    assert!(
        !a0.contains("[wave-proof]"),
        "cont-QA gets no implementation markers"
    );
    assert!(
        a0.contains("You hold the cont-QA closure role"),
        "standing prompt embedded"
    );
}

#[test]
fn credential_values_never_reach_a_preview() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    let cfg_path = root.join("wave.config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cfg_path).unwrap()).unwrap();
    config["waveControl"] = serde_json::json!({
        "credentialProviders": ["openai"],
        "credentials": [{"id": "deploy", "envVar": "DEPLOY_TOKEN"}]
    });
    std::fs::write(&cfg_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let out = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .args(["launch", "--dry-run"])
        .env("DEPLOY_TOKEN", "s3cr3t-value-xyz")
        .env("OPENAI_API_KEY", "sk-should-not-leak")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (path, bytes) in tree(&root.join(DRY)) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("s3cr3t-value-xyz") && !text.contains("sk-should-not-leak"),
            "{path}"
        );
    }
    let preview: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            root.join(DRY)
                .join("executors/wave-0/0-a1/launch-preview.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(preview["env"]["DEPLOY_TOKEN"], "[redacted]");
    assert_eq!(preview["credentials"][0]["envVar"], "DEPLOY_TOKEN");
    assert_eq!(preview["credentialProviders"][0], "openai");
}

#[test]
fn a_missing_wave_fails_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    let before = tree(root);
    for args in [
        &["launch", "--wave", "7"][..],
        &["launch", "--dry-run", "--wave", "7"],
    ] {
        let out = wave(root, args);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no wave 7"));
        assert_eq!(tree(root), before);
    }
}

fn bash_words(words: &str) -> Vec<String> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("printf '%s\\0' {words}"))
        .output()
        .expect("bash");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut v: Vec<String> = text.split('\0').map(str::to_owned).collect();
    v.pop();
    v
}

#[test]
fn paths_with_spaces_and_quotes_survive_the_shell() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("it's a \"repo\" $HOME `x`");
    std::fs::create_dir_all(&root).unwrap();
    init(&root);
    assert!(wave(&root, &["launch", "--dry-run"]).status.success());
    let dry = root.join(DRY);
    let preview: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dry.join("executors/wave-0/0-a1/launch-preview.json")).unwrap(),
    )
    .unwrap();
    let line = preview["invocationLines"][0].as_str().unwrap();
    let (head, tail) = line.split_once(" 2>&1 | tee ").unwrap();
    let words = bash_words(head);
    assert_eq!(words[1], "local");
    assert_eq!(words[2], "--prompt-file");
    assert_eq!(
        words[3],
        dry.join("prompts/wave-0-0-a1.prompt.md").to_string_lossy()
    );
    assert_eq!(
        bash_words(tail),
        [dry.join("logs/wave-0-0-a1.log")
            .to_string_lossy()
            .into_owned()]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn single_quote_escaping_round_trips_through_bash(s in "[^\u{0}]{0,40}") {
        prop_assert_eq!(bash_words(&quote(&s)), vec![s.clone()]);
    }

    #[test]
    fn quoted_words_stay_one_word(a in "[ -~]{0,12}", b in "['\" $`\\\\]{0,6}") {
        let joined = format!("{a}{b}");
        let words = bash_words(&format!("{} {}", quote(&joined), quote(&b)));
        prop_assert_eq!(words, vec![joined, b]);
    }
}
