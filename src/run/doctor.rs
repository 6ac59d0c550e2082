//! `wave doctor`: checks of a repository's wave set-up, each with pass / warn / fail and a hint.
//!
//! Owns: what is checked and what the hint says. Reads files and looks up programs on the given
//! `PATH`; writes nothing except a probe file it removes at once (state directory check).
//! Must not: modify the repository or start the executors it looks for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::executor::command::{ResolvedExecutor, default_command};
use super::executor::resolve;
use crate::plan::config::CONFIG_FILE;
use crate::plan::{self, ExecutorId, LaneProfile, Severity, WavePlan};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All good.
    Pass,
    /// Works, but worth fixing.
    Warn,
    /// Broken: launching will fail.
    Fail,
}

impl Status {
    /// Lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do (for warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn check(name: &str, status: Status, detail: impl Into<String>, hint: Option<&str>) -> Check {
    Check {
        name: name.to_owned(),
        status,
        detail: detail.into(),
        hint: hint.map(str::to_owned),
    }
}

/// Inputs of a doctor run.
#[derive(Debug, Clone)]
pub struct DoctorInput<'a> {
    /// Repository root.
    pub root: &'a Path,
    /// Lane (default: the configuration's default lane).
    pub lane: Option<&'a str>,
    /// The `PATH` to look executors up in.
    pub path_var: Option<&'a str>,
    /// `WAVE_<ID>_COMMAND` / `WAVE_<ID>_BASE_URL` overrides of the agent CLIs.
    pub overrides: &'a resolve::EnvOverrides,
}

/// Runs every check, in a fixed order.
pub fn run(input: &DoctorInput<'_>) -> Vec<Check> {
    let root = input.root;
    let mut checks = Vec::new();
    let config = match plan::load_config(root) {
        Ok(config) => config,
        Err(err) => {
            checks.push(check(
                "config",
                Status::Fail,
                err.to_string(),
                Some("fix wave.config.json (`wave init` in an empty directory shows a valid one)"),
            ));
            return checks;
        }
    };
    let lane = match config.lane_profile(input.lane) {
        Ok(lane) => lane,
        Err(err) => {
            checks.push(check(
                "config",
                Status::Fail,
                err.to_string(),
                Some("check `--lane` and the `lanes` section of wave.config.json"),
            ));
            return checks;
        }
    };
    if !root.join(CONFIG_FILE).is_file() {
        checks.push(check(
            "config",
            Status::Warn,
            "wave.config.json not found; built-in defaults apply",
            Some("run `wave init` to scaffold a configuration"),
        ));
    } else if let Some(w) = config.warnings.first() {
        checks.push(check(
            "config",
            Status::Warn,
            format!("{} warning(s); first: {w}", config.warnings.len()),
            Some("remove or rename the keys named; unknown keys are ignored"),
        ));
    } else {
        checks.push(check(
            "config",
            Status::Pass,
            format!("wave.config.json parsed (lane {})", lane.lane),
            None,
        ));
    }
    let waves = match plan::load_lane(root, input.lane) {
        Ok(plans) => {
            let errors: Vec<String> = plans.errors().map(ToString::to_string).collect();
            let warnings = plans
                .findings
                .iter()
                .filter(|d| d.severity == Severity::Warning)
                .count();
            if !errors.is_empty() {
                let shown: Vec<&str> = errors.iter().take(3).map(String::as_str).collect();
                checks.push(check(
                    "wave plans",
                    Status::Fail,
                    format!(
                        "{} error(s) in {}:\n{}",
                        errors.len(),
                        lane.waves_dir,
                        shown.join("\n")
                    ),
                    Some("run `wave plan validate` for every finding with its file:line:column"),
                ));
            } else if warnings > 0 {
                checks.push(check(
                    "wave plans",
                    Status::Warn,
                    format!(
                        "{} wave(s) valid in {}, {warnings} warning(s)",
                        plans.waves.len(),
                        lane.waves_dir
                    ),
                    Some("run `wave plan validate` to see the warnings"),
                ));
            } else {
                checks.push(check(
                    "wave plans",
                    Status::Pass,
                    format!(
                        "{} wave(s) parsed and valid in {}",
                        plans.waves.len(),
                        lane.waves_dir
                    ),
                    None,
                ));
            }
            plans.waves
        }
        Err(err) => {
            checks.push(check(
                "wave plans",
                Status::Fail,
                err.to_string(),
                Some("run `wave init` for a valid wave-0 plan, or fix the file named above"),
            ));
            Vec::new()
        }
    };
    let lane = &lane;
    checks.push(role_prompts(root, lane, &waves));
    checks.push(matrix(root, lane, &waves));
    checks.push(shared_plan_docs(root, lane));
    checks.push(references(root, lane));
    checks.push(state_dir(root, lane));
    checks.extend(executors(lane, &waves, input));
    checks
}

fn role_prompts(root: &Path, lane: &LaneProfile, waves: &[WavePlan]) -> Check {
    let r = &lane.roles;
    let configured = [
        &r.cont_qa_role_prompt_path,
        &r.cont_eval_role_prompt_path,
        &r.integration_role_prompt_path,
        &r.documentation_role_prompt_path,
        &r.security_role_prompt_path,
        &r.design_role_prompt_path,
    ];
    let used: BTreeSet<&str> = waves
        .iter()
        .flat_map(|w| &w.agents)
        .flat_map(|a| a.role_prompts.iter().map(|p| p.path.as_str()))
        .collect();
    let mut bad = Vec::new();
    let mut bad_used = false;
    for path in configured {
        let ok = std::fs::read_to_string(root.join(path)).is_ok_and(|t| {
            t.split_once("## Standing prompt")
                .is_some_and(|(_, after)| after.matches("```").count() >= 2)
        });
        if !ok {
            bad_used |= used.contains(path.as_str());
            bad.push(path.as_str());
        }
    }
    if bad.is_empty() {
        check(
            "role prompts",
            Status::Pass,
            format!(
                "{} role prompts with a standing prompt in {}",
                configured.len(),
                r.role_prompt_dir
            ),
            None,
        )
    } else {
        check(
            "role prompts",
            if bad_used { Status::Fail } else { Status::Warn },
            format!(
                "missing or without `## Standing prompt` + fenced block: {}",
                bad.join(", ")
            ),
            Some(
                "add the file with a `## Standing prompt` section and a ``` fenced block (`wave init` writes a set)",
            ),
        )
    }
}

fn matrix(root: &Path, lane: &LaneProfile, waves: &[WavePlan]) -> Check {
    let rel = &lane.paths.component_cutover_matrix_json_path;
    let needed = lane
        .validation
        .require_component_promotions_from_wave
        .is_some()
        || waves.iter().any(|w| !w.component_promotions.is_empty());
    let parsed = std::fs::read_to_string(root.join(rel))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    match parsed {
        Some(v)
            if v.get("levels")
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty())
                && v.get("components").is_some_and(Value::is_object) =>
        {
            let n = v
                .get("components")
                .and_then(Value::as_object)
                .map_or(0, |c| c.len());
            check(
                "component matrix",
                Status::Pass,
                format!("{rel}: {n} component(s)"),
                None,
            )
        }
        Some(_) => check(
            "component matrix",
            Status::Fail,
            format!("{rel} lacks a non-empty `levels` array or a `components` object"),
            Some("see spec §1.8 for the matrix shape; `wave init` writes an example"),
        ),
        None => check(
            "component matrix",
            if needed { Status::Fail } else { Status::Warn },
            format!("{rel} is missing or not valid JSON"),
            Some("create the component cutover matrix (`wave init` writes one)"),
        ),
    }
}

fn shared_plan_docs(root: &Path, lane: &LaneProfile) -> Check {
    let missing: Vec<&str> = lane
        .shared_plan_docs
        .iter()
        .filter(|p| !root.join(p).is_file())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        check(
            "shared-plan docs",
            Status::Pass,
            format!("{} present", lane.shared_plan_docs.join(", ")),
            None,
        )
    } else {
        check(
            "shared-plan docs",
            Status::Fail,
            format!("missing: {}", missing.join(", ")),
            Some("create them; the documentation steward owns and updates them"),
        )
    }
}

fn references(root: &Path, lane: &LaneProfile) -> Check {
    let refs = &lane.validation.required_prompt_references;
    let missing: Vec<&str> = refs
        .iter()
        .filter(|p| !root.join(p).is_file())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        check(
            "prompt references",
            Status::Pass,
            format!("{} required reference(s) present", refs.len()),
            None,
        )
    } else {
        check(
            "prompt references",
            Status::Warn,
            format!(
                "referenced by every prompt but missing: {}",
                missing.join(", ")
            ),
            Some("create the files or change `validation.requiredPromptReferences`"),
        )
    }
}

fn state_dir(root: &Path, lane: &LaneProfile) -> Check {
    let state = super::executor::dryrun::lane_state_dir(root, lane);
    let mut probe_dir: PathBuf = state.clone();
    while !probe_dir.is_dir() {
        match probe_dir.parent() {
            Some(p) => probe_dir = p.to_path_buf(),
            None => break,
        }
    }
    let probe = probe_dir.join(format!(".wave-doctor-probe-{}", std::process::id()));
    let result = std::fs::write(&probe, b"probe").and_then(|()| std::fs::remove_file(&probe));
    let shown = state
        .strip_prefix(root)
        .unwrap_or(&state)
        .display()
        .to_string();
    match result {
        Ok(()) => check(
            "state dir",
            Status::Pass,
            format!("{shown} is writable"),
            None,
        ),
        Err(e) => check(
            "state dir",
            Status::Fail,
            format!("cannot write under {}: {e}", probe_dir.display()),
            Some("fix the permissions or point `paths.stateRoot` at a writable directory"),
        ),
    }
}

/// Finds `command` on `path_var` (or checks it directly when it contains `/`).
pub fn find_on_path(command: &str, path_var: Option<&str>) -> Option<PathBuf> {
    if command.contains('/') {
        let p = PathBuf::from(command);
        return is_executable(&p).then_some(p);
    }
    path_var?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(command))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn install_hint(id: ExecutorId) -> String {
    let name = match id {
        ExecutorId::Codex => "the Codex CLI",
        ExecutorId::Claude => "Claude Code",
        _ => "OpenCode",
    };
    match crate::run::executor::pins::install_command(id) {
        Some(npm) => format!(
            "install {name} (`{npm}`, or scripts/install-agent-clis.sh), point `executors.{id}.command` or WAVE_{}_COMMAND at it, or set `- id: local` under the agent's `### Executor`",
            id.as_str().to_ascii_uppercase()
        ),
        None if id == ExecutorId::Command => {
            "make `command.program` (or executors.command.program) name an executable file"
                .to_owned()
        }
        None => String::new(),
    }
}

fn executors(lane: &LaneProfile, waves: &[WavePlan], input: &DoctorInput<'_>) -> Vec<Check> {
    let path_var = input.path_var;
    let mut needed: Vec<(ExecutorId, String, Vec<String>)> = Vec::new();
    let mut unresolved = Vec::new();
    for wave in waves {
        for agent in &wave.agents {
            match resolve::resolve_executor(agent, lane, None) {
                Ok(mut ex) => {
                    input.overrides.apply(&mut ex);
                    let mut cmd = command_of(&ex);
                    if ex.id == ExecutorId::Command
                        && cmd.contains('/')
                        && Path::new(&cmd).is_relative()
                    {
                        cmd = input.root.join(&cmd).to_string_lossy().into_owned();
                    }
                    let who = format!("wave {} {}", wave.wave, agent.agent_id);
                    match needed
                        .iter_mut()
                        .find(|(id, c, _)| *id == ex.id && *c == cmd)
                    {
                        Some(entry) => entry.2.push(who),
                        None => needed.push((ex.id, cmd, vec![who])),
                    }
                }
                Err(e) => unresolved.push(format!("wave {}: {e}", wave.wave)),
            }
        }
    }
    let mut out = Vec::new();
    for (id, cmd, users) in needed {
        let name = format!("executor {id}");
        let used_by = format!("used by {}", users.join(", "));
        if id == ExecutorId::Local {
            out.push(check(
                &name,
                Status::Pass,
                format!("built in; {used_by}"),
                None,
            ));
            continue;
        }
        match find_on_path(&cmd, path_var) {
            Some(p) => out.push(check(
                &name,
                Status::Pass,
                format!("{} found; {used_by}", p.display()),
                None,
            )),
            None => out.push(check(
                &name,
                Status::Fail,
                format!("`{cmd}` not found on PATH; {used_by}"),
                Some(&install_hint(id)),
            )),
        }
    }
    for u in unresolved {
        out.push(check(
            "executor",
            Status::Fail,
            u,
            Some("define the profile under `executors.profiles` in wave.config.json"),
        ));
    }
    out
}

fn command_of(ex: &ResolvedExecutor) -> String {
    ex.command(default_command(ExecutorId::Local)).to_owned()
}
