//! The `command` executor: any program, declared in a plan (`- id: command`,
//! `- command.program: <path>`) or forced with `--force-executor command`, run with the compiled
//! prompt file as its first argument, the wave environment, and its output as the agent log.
//! Secrets named by `apiKeyEnv` reach the program but never the log, the state or the history.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_tree, wave_bin};
use serde_json::Value;

const SECRET: &str = "sk-test-secret-93b1c0ffee";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn steward(id: &str, title: &str, role: &str, owned: &str) -> String {
    format!(
        "## Agent {id}: {title}\n\n### Role prompts\n\n- docs/agents/wave-{role}-role.md\n\n\
         ### Executor\n\n- id: local\n\n### Prompt\n\n```text\n{title}.\n\n\
         File ownership (only touch these paths):\n- {owned}\n```\n\n"
    )
}

/// A wave-1 plan whose implementation agent A1 has the given `### Executor` lines.
fn plan(a1_executor: &str) -> String {
    let mut p =
        String::from("# Wave 1 - Command executor\n\n**Commit message**: `Test: command`\n\n");
    p.push_str(&steward(
        "A0",
        "cont-QA",
        "cont-qa",
        "docs/plans/waves/reviews/wave-1-cont-qa.md",
    ));
    p.push_str(&format!(
        "## Agent A1: Worker\n\n### Deliverables\n\n- src/work.rs\n\n### Executor\n\n{a1_executor}\n\
         ### Prompt\n\n```text\nDo the work.\n\nFile ownership (only touch these paths):\n\
         - src/work.rs\n```\n\n"
    ));
    p.push_str(&steward(
        "A8",
        "Integration Steward",
        "integration",
        "docs/plans/integration/wave-1.md",
    ));
    p.push_str(&steward(
        "A9",
        "Documentation Steward",
        "documentation",
        "docs/plans/current-state.md",
    ));
    p
}

fn repo(a1_executor: &str, executors: Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut config: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("launch/wave.config.json")).unwrap(),
    )
    .unwrap();
    config["executors"] = executors;
    std::fs::write(
        root.join("wave.config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let waves = root.join("docs/plans/waves");
    std::fs::create_dir_all(&waves).unwrap();
    std::fs::write(waves.join("wave-1.md"), plan(a1_executor)).unwrap();
    copy_tree(
        &fixtures().join("upstream-init/docs/agents"),
        &root.join("docs/agents"),
    )
    .unwrap();
    let scripts = root.join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::copy(
        fixtures().join("executor_command/agent.sh"),
        scripts.join("agent.sh"),
    )
    .unwrap();
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git init failed");
    dir
}

fn wave(root: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(wave_bin());
    c.arg("--repo-root").arg(root).args(args).current_dir(root);
    c.env_remove("WAVE_STORE")
        .env("CI", "true")
        .env("WAVE_TEST_BIN", wave_bin())
        .env("TEST_SECRET_KEY", SECRET);
    c.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The agent's log (`logs/wave-1-<slug>.log`, the slug ending in the lowercased agent id).
fn log(root: &Path, agent: &str) -> String {
    let dir = root.join(".tmp/main-wave-launcher/logs");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&format!("-{agent}.log")))
        })
        .unwrap_or_else(|| panic!("no log for {agent} in {}", dir.display()));
    std::fs::read_to_string(file).unwrap()
}

fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_plan_declared_command_agent_gets_the_prompt_file_and_the_wave_environment() {
    let dir = repo(
        "- id: command\n- command.program: scripts/agent.sh\n",
        serde_json::json!({"codex": {"apiKeyEnv": "TEST_SECRET_KEY"}}),
    );
    let root = dir.path();
    let out = wave(root, &["launch", "--wave", "1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["waves"][0]["gates"]["overall"]["gate"], "pass");
    let log = log(root, "a1");
    let prompt = std::fs::read_dir(root.join(".tmp/main-wave-launcher/prompts"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-a1.prompt.md"))
        .unwrap();
    assert!(
        log.contains(&format!("argc=1 prompt-arg={}", prompt.display())),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "env agent=A1 lane=main wave=1 attempt=1 prompt={}",
            prompt.display()
        )),
        "{log}"
    );
    assert!(log.contains(&format!("cwd={}", root.display())), "{log}");
    assert!(
        log.contains("to stderr"),
        "stderr is part of the log: {log}"
    );
    // The key reached the program, and was masked in its log.
    assert!(log.contains("key=***"), "{log}");
    let leaks = files_containing(root, SECRET);
    assert!(leaks.is_empty(), "secret written to {leaks:?}");
    // The run is recorded as the command executor.
    let control: String = std::fs::read_dir(root.join(".wave/state/main/wave-1/control"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        control
            .lines()
            .any(|l| l.contains("agent-A1") && l.contains("\"executorId\":\"command\"")),
        "{control}"
    );
}

#[test]
fn force_executor_command_runs_every_agent_with_the_configured_program() {
    let dir = repo(
        "- id: local\n",
        serde_json::json!({"command": {"program": "scripts/agent.sh"}}),
    );
    let root = dir.path();
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "1",
            "--force-executor",
            "command",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for slug in ["a0", "a1", "a8", "a9"] {
        let log = log(root, slug);
        assert!(log.contains("argc=1 prompt-arg=/"), "{slug}: {log}");
    }
}

#[test]
fn force_executor_command_without_a_program_is_a_usage_error() {
    let dir = repo("- id: local\n", serde_json::json!({}));
    let out = wave(
        dir.path(),
        &["launch", "--wave", "1", "--force-executor", "command"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("agent A0 names no program"), "{t}");
    assert!(t.contains("executors.command.program"), "{t}");
}

#[test]
fn a_command_agent_without_a_program_fails_validation_at_its_executor_section() {
    let dir = repo("- id: command\n", serde_json::json!({}));
    let out = wave(dir.path(), &["plan", "validate"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    let plan = std::fs::read_to_string(dir.path().join("docs/plans/waves/wave-1.md")).unwrap();
    let line = plan
        .lines()
        .position(|l| l == "## Agent A1: Worker")
        .map(|i| i + 1)
        .unwrap();
    let executor_line = plan
        .lines()
        .enumerate()
        .skip(line)
        .find(|(_, l)| *l == "### Executor")
        .map(|(i, _)| i + 1)
        .unwrap();
    assert!(
        t.contains(&format!("docs/plans/waves/wave-1.md:{executor_line}:")),
        "{t}"
    );
    assert!(
        t.contains("agent A1 uses executor=command but names no program"),
        "{t}"
    );
    assert!(t.contains("command.program"), "{t}");
}

#[test]
fn command_keys_on_another_executor_are_rejected() {
    let dir = repo(
        "- id: codex\n- command.program: scripts/agent.sh\n",
        serde_json::json!({}),
    );
    let out = wave(dir.path(), &["plan", "validate"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("agent A1 declares executor=codex but includes command overrides"),
        "{}",
        text(&out)
    );
}

#[test]
fn the_dry_run_preview_shows_the_command_line() {
    let dir = repo(
        "- id: command\n- command.program: scripts/agent.sh\n",
        serde_json::json!({}),
    );
    let root = dir.path();
    let out = wave(root, &["launch", "--wave", "1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let preview: Value = serde_json::from_str(
        &std::fs::read_to_string(
            root.join(".tmp/main-wave-launcher/dry-run/executors/wave-1/1-a1/launch-preview.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(preview["executorId"], "command");
    let line = preview["invocationLines"][0].as_str().unwrap();
    assert!(
        line.starts_with("'scripts/agent.sh' '") && line.contains("-a1.prompt.md' 2>&1 | tee '"),
        "{line}"
    );
    assert_eq!(preview["limits"]["turnLimitSource"], "not-applicable");
}
