//! The real agent CLIs (Codex, Claude Code, OpenCode at the pinned versions) driven end to end
//! by `wave launch` against scripted model servers on 127.0.0.1.
//!
//! Needs the CLIs (`scripts/install-agent-clis.sh`, into `$WAVE_AGENT_CLI_DIR` or
//! `target/agent-clis`), python3 and `../shared/tools/fake_model_server.py`. Without them the
//! tests skip loudly; under `CI=true` they fail. As root each run happens inside a fresh network
//! namespace (`unshare -n`) that has only loopback, which proves no request leaves 127.0.0.1.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{copy_tree, wave_bin};
use serde_json::Value;

const CLIS: [(&str, &str, &str); 3] = [
    ("codex", "A1", "fake-codex-model"),
    ("claude", "A2", "fake-claude-model"),
    ("opencode", "A3", "fake-opencode-model"),
];

/// The API key given to the agents; it must reach the model servers and nothing else.
const API_KEY: &str = "sk-wave-test-4f9c2d7e1a";

fn support() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/agent_clis")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (or fails under CI) with a reason.
fn unavailable(reason: &str) -> Option<Env> {
    if ci() {
        panic!("agent CLI tests cannot run under CI=true: {reason}");
    }
    eprintln!("SKIPPED (real agent CLIs): {reason}");
    None
}

struct Env {
    cli_dir: PathBuf,
    server: PathBuf,
    python: String,
    netns: bool,
}

fn env() -> Option<Env> {
    let Some(shared) = common::shared_dir() else {
        return unavailable("../shared is missing (set WAVE_SHARED_DIR)");
    };
    let server = shared.join("tools/fake_model_server.py");
    if !server.is_file() {
        return unavailable(&format!("{} is missing", server.display()));
    }
    let cli_dir = std::env::var_os("WAVE_AGENT_CLI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/agent-clis"));
    for (cli, _, _) in CLIS {
        if !cli_dir.join("bin").join(cli).is_file() {
            return unavailable(&format!(
                "{} is missing: run scripts/install-agent-clis.sh",
                cli_dir.join("bin").join(cli).display()
            ));
        }
    }
    let python = "python3".to_owned();
    if !Command::new(&python)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return unavailable("python3 is missing");
    }
    let netns = Command::new("unshare")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !netns {
        eprintln!(
            "note: no network namespace available (not root?): the CLIs run in the host network"
        );
    }
    Some(Env {
        cli_dir,
        server: server.clone(),
        python,
        netns,
    })
}

fn git(root: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git {args:?} failed");
}

fn steward(id: &str, title: &str, role: &str, owned: &str) -> String {
    format!(
        "## Agent {id}: {title}\n\n### Role prompts\n\n- docs/agents/wave-{role}-role.md\n\n\
         ### Executor\n\n- id: local\n\n### Prompt\n\n```text\n{title}.\n\n\
         File ownership (only touch these paths):\n- {owned}\n```\n\n"
    )
}

fn implementer(cli: &str, id: &str, model_line: &str) -> String {
    format!(
        "## Agent {id}: Proof writer on {cli}\n\n### Deliverables\n\n- proof-{cli}.txt\n\n\
         ### Exit contract\n\n- completion: contract\n- durability: none\n- proof: unit\n\
         - doc-impact: none\n\n### Executor\n\n- id: {cli}\n{model_line}\n### Prompt\n\n```text\n\
         PROMPT-TOKEN-{cli}: write proof-{cli}.txt with your shell tool, then print the markers.\n\n\
         File ownership (only touch these paths):\n- proof-{cli}.txt\n```\n\n"
    )
}

/// A scratch repository: wave 1 with one implementation agent per CLI and local stewards.
/// `configured`: API key variables and models in `wave.config.json`; otherwise the config has
/// no `executors` section and the CLIs are reached only through the `WAVE_*_COMMAND` /
/// `WAVE_*_BASE_URL` variables (the Codex agent still names its model in the plan).
fn scratch_repo(configured: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = serde_json::json!({
        "version": 1,
        "projectName": "agent-clis",
        "defaultLane": "main",
        "validation": {
            "requiredPromptReferences": [],
            "requireDocumentationStewardFromWave": 99,
            "requireContext7DeclarationsFromWave": 99,
            "requireExitContractsFromWave": 99,
            "requireIntegrationStewardFromWave": 99,
            "requireComponentPromotionsFromWave": 99,
            "requireAgentComponentsFromWave": 99,
            "gateModeThresholds": {"bootstrap": 0, "standard": 0, "strict": 0},
            "closureModeThresholds": {"bootstrap": 0, "standard": 0, "strict": 0}
        },
        "executors": if !configured { serde_json::json!({}) } else { serde_json::json!({
            "codex": {"apiKeyEnv": "TEST_MODEL_KEY", "baseUrl": "http://127.0.0.1:9/v1"},
            "claude": {"apiKeyEnv": "TEST_MODEL_KEY", "model": "fake-claude-model"},
            "opencode": {"apiKeyEnv": "TEST_MODEL_KEY", "model": "fake-opencode-model"}
        })}
    });
    std::fs::write(
        root.join("wave.config.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    let waves = root.join("docs/plans/waves");
    std::fs::create_dir_all(&waves).unwrap();
    // Wave 1 runs all three CLIs; waves 2, 3 and 4 run one each (codex, claude, opencode).
    for (n, clis) in [
        (1, &CLIS[..]),
        (2, &CLIS[0..1]),
        (3, &CLIS[1..2]),
        (4, &CLIS[2..3]),
    ] {
        let mut plan =
            format!("# Wave {n} - Real agent CLIs\n\n**Commit message**: `Test: agent CLIs`\n\n");
        plan.push_str(&steward(
            "A0",
            "cont-QA",
            "cont-qa",
            &format!("docs/plans/waves/reviews/wave-{n}-cont-qa.md"),
        ));
        for (cli, agent, _) in clis {
            // Codex's default model gets no tools from a custom provider: name one.
            let model_line = if *cli == "codex" {
                "- model: fake-codex-model\n"
            } else {
                ""
            };
            plan.push_str(&implementer(cli, agent, model_line));
        }
        plan.push_str(&steward(
            "A8",
            "Integration Steward",
            "integration",
            &format!("docs/plans/integration/wave-{n}.md"),
        ));
        plan.push_str(&steward(
            "A9",
            "Documentation Steward",
            "documentation",
            "docs/plans/current-state.md",
        ));
        std::fs::write(waves.join(format!("wave-{n}.md")), plan).unwrap();
    }
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-init/docs/agents"),
        &root.join("docs/agents"),
    )
    .unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "scratch"]);
    dir
}

struct Run {
    repo: tempfile::TempDir,
    work: tempfile::TempDir,
    rc: i32,
    report: Value,
    stderr: String,
    secs: f64,
}

fn run(e: &Env, wave: u32, fail_cli: &str, stop_servers: bool, timeout_minutes: &str) -> Run {
    run_in(
        scratch_repo(true),
        e,
        wave,
        fail_cli,
        stop_servers,
        timeout_minutes,
    )
}

fn run_in(
    repo: tempfile::TempDir,
    e: &Env,
    wave: u32,
    fail_cli: &str,
    stop_servers: bool,
    timeout_minutes: &str,
) -> Run {
    let work = tempfile::tempdir().unwrap();
    let driver = support().join("driver.sh");
    let mut c = if e.netns {
        let mut c = Command::new("unshare");
        c.args(["-n", "bash"]).arg(&driver).env("IN_NETNS", "1");
        c
    } else {
        let mut c = Command::new("bash");
        c.arg(&driver);
        c
    };
    c.env("WAVE_BIN", wave_bin())
        .env("REPO", repo.path())
        .env("WORK", work.path())
        .env("CLI_DIR", &e.cli_dir)
        .env("SERVER", support().join("model_server.py"))
        .env("WAVE_FAKE_MODEL_SERVER", &e.server)
        .env("PYTHON", &e.python)
        .env("WAVE_NUMBER", wave.to_string())
        .env("FAIL_CLI", fail_cli)
        .env("STOP_SERVERS", if stop_servers { "1" } else { "0" })
        .env("TIMEOUT_MINUTES", timeout_minutes)
        .env("API_KEY", API_KEY)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env_remove("OPENAI_API_KEY");
    let status = c.status().unwrap();
    assert!(status.success(), "driver failed: {status}");
    let read = |n: &str| std::fs::read_to_string(work.path().join(n)).unwrap_or_default();
    let rc = read("launch.rc").trim().parse().unwrap_or(-1);
    let stderr = read("launch.err");
    let report = serde_json::from_str(&read("launch.json"))
        .unwrap_or_else(|e| panic!("launch printed no JSON ({e}); stderr:\n{stderr}"));
    let secs = read("launch.secs")
        .split_whitespace()
        .filter_map(|t| t.parse::<f64>().ok())
        .collect::<Vec<_>>();
    let secs = match secs.as_slice() {
        [a, b] => b - a,
        _ => 0.0,
    };
    Run {
        repo,
        work,
        rc,
        report,
        stderr,
        secs,
    }
}

fn requests(run: &Run, cli: &str) -> Vec<Value> {
    std::fs::read_to_string(run.work.path().join(format!("{cli}.requests.jsonl")))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn control_events(root: &Path, wave: u32) -> Vec<Value> {
    let dir = root.join(format!(".wave/state/main/wave-{wave}/control"));
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        for l in std::fs::read_to_string(e.path()).unwrap().lines() {
            if let Ok(v) = serde_json::from_str::<Value>(l) {
                out.push(v);
            }
        }
    }
    out
}

/// The end event of an agent's run in attempt 1.
fn agent_end(root: &Path, wave: u32, agent: &str) -> Value {
    control_events(root, wave)
        .into_iter()
        .find(|v| {
            v["entityId"] == format!("wave-{wave}-attempt-1-agent-{agent}")
                && v["action"] != "started"
        })
        .unwrap_or_else(|| panic!("no end event for {agent}"))
}

/// Every file under `dir` (the repository with its state and git objects) that holds `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file()
                && std::fs::read(&p)
                    .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                out.push(p);
            }
        }
    }
    out
}

/// Live processes whose working directory is inside `dir`.
fn processes_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        {
            continue;
        }
        if std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(dir)) {
            let cmd = std::fs::read_to_string(e.path().join("cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            out.push(format!("{name}: {cmd}"));
        }
    }
    out
}

fn gate<'a>(run: &'a Run, name: &str) -> &'a Value {
    &run.report["waves"][0]["gates"][name]
}

#[test]
fn a_wave_with_one_agent_on_each_real_cli_closes() {
    let Some(e) = env() else { return };
    let started = Instant::now();
    let r = run(&e, 1, "", false, "2");
    let root = r.repo.path();
    assert_eq!(r.rc, 0, "launch failed:\n{}\n{}", r.report, r.stderr);
    assert_eq!(gate(&r, "overall")["gate"], "pass", "{}", r.report);
    for (cli, agent, model) in CLIS {
        // The tool call ran: the file it wrote exists.
        let proof = std::fs::read_to_string(root.join(format!("proof-{cli}.txt")))
            .unwrap_or_else(|_| panic!("{cli} wrote no proof file; stderr:\n{}", r.stderr));
        assert_eq!(proof, format!("proof from {cli}\n"));
        // The markers reached the result envelope.
        let envelope: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!(
                ".wave/state/main/wave-1/results/attempt-1/{agent}.json"
            )))
            .unwrap(),
        )
        .unwrap();
        // `[wave-proof] … state=met detail=ok` and `[wave-doc-delta] state=none detail=ok`.
        let p = &envelope["proof"];
        assert_eq!(p["state"], "satisfied", "{cli}: {envelope}");
        assert_eq!(p["proofLevel"], "unit", "{cli}: {envelope}");
        assert_eq!(p["detail"], "ok", "{cli}: {envelope}");
        assert_eq!(
            envelope["implementation"]["docDelta"]["detail"], "ok",
            "{cli}: {envelope}"
        );
        // The server saw the configured model, the prompt, the tool result and the key.
        let reqs = requests(&r, cli);
        let bodies: Vec<String> = reqs.iter().map(|q| q["body"].to_string()).collect();
        assert!(
            reqs.iter().any(|q| q["body"]["model"] == model),
            "{cli}: no request for {model}"
        );
        assert!(
            bodies
                .iter()
                .any(|b| b.contains(&format!("PROMPT-TOKEN-{cli}"))),
            "{cli}: the prompt never reached the server"
        );
        assert!(
            reqs.iter().any(|q| q["decision"]
                .as_str()
                .is_some_and(|d| d.starts_with("tool:"))),
            "{cli}: no tool call was scripted"
        );
        assert!(
            bodies.iter().any(|b| b.contains("PROOF-42")),
            "{cli}: the tool result never came back"
        );
        assert!(
            reqs.iter()
                .any(|q| q["headers"].to_string().contains(API_KEY)),
            "{cli}: the API key never reached the server"
        );
        let end = agent_end(root, 1, agent);
        eprintln!(
            "{cli}: agent run {} ms, {} requests",
            end["data"]["elapsedMs"],
            reqs.len()
        );
    }
    // The key reached the agents only: not the repository, its state or its history.
    let leaks = files_containing(root, API_KEY);
    assert!(leaks.is_empty(), "API key written to {leaks:?}");
    if e.netns {
        let links = std::fs::read_to_string(r.work.path().join("links")).unwrap();
        assert_eq!(links.trim(), "lo", "the run was not confined to loopback");
    }
    eprintln!(
        "wave launch: {:.2} s (test {:.2} s, network namespace: {})",
        r.secs,
        started.elapsed().as_secs_f64(),
        e.netns
    );
}

#[test]
fn a_failed_tool_call_fails_the_implementation_gate_naming_that_agent() {
    let Some(e) = env() else { return };
    for (wave, (cli, agent, _)) in (2..).zip(CLIS) {
        let r = run(&e, wave, cli, false, "2");
        assert_ne!(
            r.rc, 0,
            "{cli}: the wave closed although its tool call failed"
        );
        let g = gate(&r, "implementationGate");
        assert_eq!(g["ok"], false, "{cli}: {}", r.report);
        assert_eq!(g["agentId"], agent, "{cli}: {g}");
        assert_eq!(g["statusCode"], "wave-proof-gap", "{cli}: {g}");
        assert!(
            g["detail"].as_str().unwrap_or("").contains("tool-failed"),
            "{cli}: {g}"
        );
        assert!(!r.repo.path().join(format!("proof-{cli}.txt")).exists());
        eprintln!(
            "{cli} alone (tool call failing): agent run {} ms, wave launch {:.2} s",
            agent_end(r.repo.path(), wave, agent)["data"]["elapsedMs"],
            r.secs
        );
    }
}

#[test]
fn with_the_model_server_stopped_each_agent_times_out_and_its_tree_is_gone() {
    let Some(e) = env() else { return };
    let r = run(&e, 1, "", true, "0.15");
    let root = r.repo.path();
    assert_ne!(r.rc, 0, "{}", r.report);
    for (cli, agent, _) in CLIS {
        let end = agent_end(root, 1, agent);
        assert_eq!(end["action"], "timed_out", "{cli}: {end}");
        assert_eq!(
            end["data"]["statusCode"], "timeout-no-status",
            "{cli}: {end}"
        );
        assert!(!root.join(format!("proof-{cli}.txt")).exists());
    }
    let left = processes_in(root);
    assert!(left.is_empty(), "agent processes survived: {left:?}");
    // The gates call it an infrastructure failure, not a proof gap.
    let impl_gate = gate(&r, "implementationGate");
    assert_ne!(impl_gate["statusCode"], "wave-proof-gap", "{impl_gate}");
    assert!(
        impl_gate["detail"]
            .as_str()
            .unwrap_or("")
            .contains("timed out"),
        "{impl_gate}"
    );
    let infra = gate(&r, "infraGate");
    assert_eq!(infra["ok"], false, "{infra}");
    assert_eq!(infra["statusCode"], "infra-failed", "{infra}");
}

#[test]
fn a_wave_pointed_at_the_clis_only_through_the_environment_closes() {
    let Some(e) = env() else { return };
    let r = run_in(scratch_repo(false), &e, 1, "", false, "2");
    assert_eq!(r.rc, 0, "launch failed:\n{}\n{}", r.report, r.stderr);
    for (cli, _, _) in CLIS {
        let proof = std::fs::read_to_string(r.repo.path().join(format!("proof-{cli}.txt")));
        assert_eq!(
            proof.ok().as_deref(),
            Some(format!("proof from {cli}\n").as_str())
        );
        assert!(
            requests(&r, cli)
                .iter()
                .any(|q| q["body"].to_string().contains("PROOF-42")),
            "{cli}: the tool result never came back"
        );
    }
}
