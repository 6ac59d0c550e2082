//! Agent processes: one child per agent run, in its own process group, with its output in the
//! agent log, an environment scrubbed of write tokens and a deadline that kills the whole tree.
//!
//! Owns: spawning, waiting, the timeout kill (`SIGTERM` to the group and to every descendant,
//! one second of grace, then `SIGKILL`), the reaping of anything the agent left running in its
//! group or below it (agent CLIs start tool processes in groups of their own), and masking
//! secret values in the log once the process has ended. Must not: append to the store or
//! decide what an exit means (the dispatcher does both).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// Variables never passed to an agent: tokens that can write to the repository host.
pub const ALWAYS_SCRUBBED: [&str; 2] = ["GITHUB_TOKEN", "GH_TOKEN"];

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A program and its arguments; its stdout and stderr are the log.
    Direct {
        /// Program path.
        program: PathBuf,
        /// Arguments.
        args: Vec<String>,
    },
    /// A `bash -c` script that writes the log itself (the agent CLIs' `| tee -a <log>` lines).
    Shell {
        /// Script text.
        script: String,
    },
}

/// One agent process to run.
#[derive(Debug, Clone)]
pub struct AgentProcess {
    /// What to run.
    pub program: Program,
    /// Working directory (the repository root).
    pub cwd: PathBuf,
    /// Variables to set.
    pub env: Vec<(String, String)>,
    /// Variables to remove.
    pub scrub: Vec<String>,
    /// Secret values (API keys) replaced by `***` in the log after the run.
    pub secrets: Vec<String>,
    /// The agent log (truncated at start).
    pub log_path: PathBuf,
    /// Deadline after start.
    pub timeout: Duration,
}

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessOutcome {
    /// It exited; signal deaths are `128 + signal`.
    Exited(i64),
    /// It was killed at its deadline.
    TimedOut,
    /// It could not be started.
    SpawnFailed(String),
}

/// The end of a run and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Outcome.
    pub outcome: ProcessOutcome,
    /// Wall time.
    pub elapsed: Duration,
}

/// Every live descendant of `root` (children, grandchildren, …), from `/proc`.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        for (pid, ppid) in &parent_of {
            if *ppid == p && !out.contains(pid) {
                out.push(*pid);
            }
        }
        i += 1;
    }
    out.remove(0);
    out
}

fn kill_pids(pids: &[u32], signal: Signal) {
    for pid in pids
        .iter()
        .filter_map(|p| i32::try_from(*p).ok())
        .filter_map(Pid::from_raw)
    {
        // The process may already be gone; nothing to do then.
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Replaces every secret value in the file with `***`; a file without secrets is not rewritten.
pub fn mask_secrets(path: &std::path::Path, secrets: &[String]) -> std::io::Result<bool> {
    let secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    if secrets.is_empty() {
        return Ok(false);
    }
    let bytes = std::fs::read(path)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let mut changed = false;
    for s in secrets {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), "***");
            changed = true;
        }
    }
    if changed {
        std::fs::write(path, text)?;
    }
    Ok(changed)
}

fn kill_group(pgid: Option<u32>, signal: Signal) {
    if let Some(pid) = pgid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(Pid::from_raw)
    {
        // The group may already be gone; nothing to do then.
        let _ = kill_process_group(pid, signal);
    }
}

/// Runs one agent process to its end or its deadline.
pub async fn run(p: AgentProcess) -> Finished {
    let start = Instant::now();
    let done = |outcome| Finished {
        outcome,
        elapsed: start.elapsed(),
    };
    if let Some(parent) = p.log_path.parent()
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        return done(ProcessOutcome::SpawnFailed(format!(
            "cannot create {}: {e}",
            parent.display()
        )));
    }
    let log = match std::fs::File::create(&p.log_path) {
        Ok(f) => f,
        Err(e) => {
            return done(ProcessOutcome::SpawnFailed(format!(
                "cannot create log {}: {e}",
                p.log_path.display()
            )));
        }
    };
    let mut cmd = match &p.program {
        Program::Direct { program, args } => {
            let mut c = tokio::process::Command::new(program);
            c.args(args);
            let err = log.try_clone();
            c.stdout(Stdio::from(log));
            match err {
                Ok(e) => c.stderr(Stdio::from(e)),
                Err(_) => c.stderr(Stdio::null()),
            };
            c
        }
        Program::Shell { script } => {
            drop(log);
            let mut c = tokio::process::Command::new("bash");
            c.arg("-c").arg(script);
            c.stdout(Stdio::null()).stderr(Stdio::null());
            c
        }
    };
    cmd.current_dir(&p.cwd)
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    for name in &p.scrub {
        cmd.env_remove(name);
    }
    for (k, v) in &p.env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return done(ProcessOutcome::SpawnFailed(format!(
                "cannot start {:?}: {e}",
                p.program
            )));
        }
    };
    let pgid = child.id();
    let outcome = match tokio::time::timeout(p.timeout, child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt;
            let code = status
                .code()
                .map(i64::from)
                .or_else(|| status.signal().map(|s| 128 + i64::from(s)))
                .unwrap_or(1);
            ProcessOutcome::Exited(code)
        }
        Ok(Err(e)) => ProcessOutcome::SpawnFailed(format!("waiting failed: {e}")),
        Err(_) => {
            let tree = pgid.map(descendants).unwrap_or_default();
            kill_group(pgid, Signal::TERM);
            kill_pids(&tree, Signal::TERM);
            if tokio::time::timeout(Duration::from_secs(1), child.wait())
                .await
                .is_err()
            {
                kill_group(pgid, Signal::KILL);
                let _ = child.wait().await;
            }
            // Anything below it that ignored the TERM, including processes that moved to
            // groups of their own, goes now.
            let mut tree = tree;
            tree.extend(pgid.map(descendants).unwrap_or_default());
            kill_pids(&tree, Signal::KILL);
            ProcessOutcome::TimedOut
        }
    };
    // Whatever the agent left running in its group goes with it.
    kill_group(pgid, Signal::KILL);
    if let Err(e) = mask_secrets(&p.log_path, &p.secrets) {
        return done(ProcessOutcome::SpawnFailed(format!(
            "cannot mask secrets in {}: {e}",
            p.log_path.display()
        )));
    }
    done(outcome)
}
