//! The dry-run launcher: for every agent of the selected waves, the compiled prompt and the
//! executor launch preview, written under the lane's dry-run state directory and nowhere else.
//!
//! Owns: which files a dry run writes and their contents (spec §9.2–9.4, §10.1 `S/dry-run/…`).
//! [`prepare`] is pure (plans and lane profile in, file list out); [`write`] puts the files on
//! disk. Must not: start processes, touch the network, or write outside the dry-run directory.
//!
//! Files, relative to `<stateRoot>/<lane>-wave-launcher/dry-run/`:
//! - `prompts/wave-N-<slug>.prompt.md`: the compiled prompt;
//! - `executors/wave-N/<slug>/launch-preview.json` and the overlay files its lines reference
//!   (`claude-system-prompt.txt`, `claude-settings.json`, `opencode-agent-prompt.txt`,
//!   `opencode.json`);
//! - `inboxes/wave-N/shared-summary.md`, `inboxes/wave-N/<id>.md`, `messageboards/wave-N.md`:
//!   the views the prompt points at. A dry run reads no coordination log, so these say so and list
//!   the runtime assignments only.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::command::{LaunchInput, ResolvedExecutor, build_launch_plan, pretty_json};
use super::preview::{CredentialRef, SkillsSummary, preview_for, write_atomic};
use super::resolve::{self, ResolveError};
use crate::engine::prompt::{
    self, AgentKind, Context7Scope, EvalTargetLine, ExitContractLines, PathPair, PromptInput,
    ProofArtifactLine, RoleIds,
};
use crate::plan::matrix::BenchmarkCatalog;
use crate::plan::{Agent, EvalSelection, ExecutorId, LaneProfile, WavePlan};

/// Why a dry run could not be prepared or written.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    /// An agent's executor could not be resolved.
    #[error("wave {wave}: {source}")]
    Resolve {
        /// Wave number.
        wave: u64,
        /// The cause.
        #[source]
        source: ResolveError,
    },
    /// Writing a file failed.
    #[error("cannot write {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Inputs of a dry run besides the plans.
#[derive(Debug, Clone)]
pub struct DryRunOptions<'a> {
    /// Absolute repository root.
    pub repo_root: &'a Path,
    /// `--executor`: the default executor when nothing else decides.
    pub cli_executor: Option<ExecutorId>,
    /// Absolute path of this binary, for the `local` executor's line.
    pub local_command: &'a str,
    /// Orchestrator id named in the escalation command.
    pub orchestrator_id: &'a str,
    /// Credential providers from `waveControl.credentialProviders`.
    pub credential_providers: &'a [String],
    /// Credentials from `waveControl.credentials`.
    pub credentials: &'a [CredentialRef],
    /// The parsed Context7 bundle index, when present.
    pub context7_index: Option<&'a Value>,
    /// Base Claude settings files an agent's inline settings merge over, by configured path.
    pub claude_settings: &'a [(String, Value)],
    /// The benchmark catalog, to list a delegated eval target's allowed benchmarks.
    pub catalog: Option<&'a BenchmarkCatalog>,
}

/// One file of a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Contents.
    pub contents: String,
}

/// What was prepared for one agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPreview {
    /// Wave number.
    pub wave: u64,
    /// Agent id.
    pub agent_id: String,
    /// Resolved executor.
    pub executor: ExecutorId,
    /// Runtime role.
    pub role: String,
    /// Prompt file, repository-relative.
    pub prompt_path: String,
    /// Overlay directory, repository-relative.
    pub overlay_dir: String,
}

/// A prepared dry run: every file to write and a per-agent summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// The dry-run directory (absolute).
    pub dir: PathBuf,
    /// Files, in write order.
    pub files: Vec<PlannedFile>,
    /// One entry per agent.
    pub agents: Vec<AgentPreview>,
}

/// The lane state directory `S` (spec §0): `<root>/<stateRoot>[/projects/<id>]/<lane>-wave-launcher`.
pub fn lane_state_dir(repo_root: &Path, lane: &LaneProfile) -> PathBuf {
    let mut dir = repo_root.join(&lane.paths.state_root);
    if lane.project_id != "default" {
        dir = dir.join("projects").join(&lane.project_id);
    }
    dir.join(format!("{}-wave-launcher", lane.lane))
}

/// The dry-run directory `S/dry-run`.
pub fn dry_run_dir(repo_root: &Path, lane: &LaneProfile) -> PathBuf {
    lane_state_dir(repo_root, lane).join("dry-run")
}

fn rel(root: &Path, path: &Path) -> String {
    let r = path.strip_prefix(root).unwrap_or(path);
    r.to_string_lossy().replace('\\', "/")
}

fn pair(root: &Path, path: &Path) -> PathPair {
    PathPair {
        absolute: path.to_string_lossy().into_owned(),
        relative: rel(root, path),
    }
}

fn context7_scope(
    wave: &WavePlan,
    agent: &Agent,
    lane: &str,
    index: Option<&Value>,
) -> Context7Scope {
    let declared = agent
        .context7
        .as_ref()
        .and_then(|c| c.bundle.clone())
        .or_else(|| {
            wave.context7_defaults
                .as_ref()
                .and_then(|c| c.bundle.clone())
        });
    let from_index = || {
        let idx = index?;
        idx.get("laneDefaults")
            .and_then(|d| d.get(lane))
            .and_then(Value::as_str)
            .or_else(|| idx.get("defaultBundle").and_then(Value::as_str))
            .map(str::to_owned)
    };
    let bundle = declared
        .or_else(from_index)
        .unwrap_or_else(|| "none".to_owned());
    if bundle == "none" {
        return Context7Scope::NoBundle;
    }
    let query = agent
        .context7
        .as_ref()
        .and_then(|c| c.query.clone())
        .or_else(|| {
            wave.context7_defaults
                .as_ref()
                .and_then(|c| c.query.clone())
        });
    let libraries = index
        .and_then(|i| i.get("bundles"))
        .and_then(|b| b.get(&bundle))
        .and_then(|b| b.get("libraries"))
        .and_then(Value::as_array)
        .map(|libs| {
            libs.iter()
                .filter_map(|l| {
                    l.get("libraryName")
                        .or_else(|| l.get("libraryId"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    Context7Scope::Bundle {
        bundle,
        query,
        libraries,
        snippets: None,
        warning: Some("Context7 prefetch skipped during dry-run preview.".to_owned()),
    }
}

fn shared_summary_text(wave: u64, rows: &[String]) -> String {
    let mut text = format!(
        "# Wave {wave} Shared Summary\n\n- Dry run: no coordination records were read; a live launch fills this summary from the coordination log.\n\n## Runtime assignments\n"
    );
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

fn inbox_text(wave: u64, agent: &Agent) -> String {
    format!(
        "# Wave {wave} Inbox for {}\n\n- Dry run: no coordination records were read; a live launch fills this inbox from the coordination log.\n",
        agent.agent_id
    )
}

fn board_text(wave: &WavePlan) -> String {
    let ids: Vec<&str> = wave.agents.iter().map(|a| a.agent_id.as_str()).collect();
    format!(
        "# Wave {} Message Board\n\n- Wave file: `{}`\n- Agents: {}\n- Dry run: no coordination records were read.\n",
        wave.wave,
        wave.file,
        ids.join(", ")
    )
}

/// Prepares every file of a dry run over `waves` (pure: no I/O).
pub fn prepare(
    lane: &LaneProfile,
    waves: &[&WavePlan],
    opts: &DryRunOptions<'_>,
) -> Result<DryRun, DryRunError> {
    let root = opts.repo_root;
    let dir = dry_run_dir(root, lane);
    let roles = RoleIds {
        cont_qa: lane.roles.cont_qa_agent_id.clone(),
        cont_eval: lane.roles.cont_eval_agent_id.clone(),
        integration: lane.roles.integration_agent_id.clone(),
        documentation: lane.roles.documentation_agent_id.clone(),
    };
    let mut files = Vec::new();
    let mut agents = Vec::new();
    for wave in waves {
        let n = wave.wave;
        let resolved: Vec<ResolvedExecutor> = wave
            .agents
            .iter()
            .map(|a| resolve::resolve_executor(a, lane, opts.cli_executor))
            .collect::<Result<_, _>>()
            .map_err(|source| DryRunError::Resolve { wave: n, source })?;
        let roles_of: Vec<_> = wave
            .agents
            .iter()
            .map(|a| resolve::runtime_role(a, lane))
            .collect();
        let rows: Vec<String> = wave
            .agents
            .iter()
            .zip(&resolved)
            .zip(&roles_of)
            .map(|((a, ex), role)| {
                let profile = a
                    .executor
                    .as_ref()
                    .and_then(|c| c.profile.as_deref())
                    .map(|p| format!(" profile={p}"))
                    .unwrap_or_default();
                format!("- {}: {} ({}){profile}", a.agent_id, ex.id, role.as_str())
            })
            .collect();
        let summary_path = dir.join(format!("inboxes/wave-{n}/shared-summary.md"));
        let summary = shared_summary_text(n, &rows);
        let board_path = dir.join(format!("messageboards/wave-{n}.md"));
        let board = pair(root, &board_path);
        let summary_pair = pair(root, &summary_path);
        files.push(PlannedFile {
            path: board_path.clone(),
            contents: board_text(wave),
        });
        files.push(PlannedFile {
            path: summary_path.clone(),
            contents: summary.clone(),
        });
        let promotions: Vec<(String, String)> = wave
            .component_promotions
            .iter()
            .map(|p| (p.component_id.clone(), p.target_level.clone()))
            .collect();
        let eval_targets: Vec<EvalTargetLine> = wave
            .eval_targets
            .iter()
            .map(|t| EvalTargetLine {
                id: t.id.clone(),
                delegated: t.selection == EvalSelection::Delegated,
                benchmark_family: t.benchmark_family.clone(),
                benchmarks: match (t.selection, &t.benchmark_family, opts.catalog) {
                    (EvalSelection::Delegated, Some(family), Some(catalog)) => catalog
                        .families
                        .get(family)
                        .cloned()
                        .unwrap_or_else(|| t.benchmarks.clone()),
                    _ => t.benchmarks.clone(),
                },
                objective: t.objective.clone(),
                threshold: t.threshold.clone(),
            })
            .collect();
        let design_packets: Vec<String> = wave
            .agents
            .iter()
            .filter(|a| resolve::is_design_agent(a, lane))
            .filter_map(resolve::design_packet_path)
            .collect();

        for ((agent, ex), role) in wave.agents.iter().zip(&resolved).zip(&roles_of) {
            let slug = &agent.slug;
            let inbox_path = dir.join(format!("inboxes/wave-{n}/{}.md", agent.agent_id));
            let inbox = inbox_text(n, agent);
            files.push(PlannedFile {
                path: inbox_path.clone(),
                contents: inbox.clone(),
            });
            let inbox_pair = pair(root, &inbox_path);
            let kind = AgentKind {
                security_reviewer: resolve::is_security_reviewer(agent, lane),
                design: resolve::is_design_agent(agent, lane),
                design_hybrid: resolve::is_hybrid_design_agent(agent, lane),
                design_implementation_pass: false,
                cont_eval_implementation_owning: resolve::is_cont_eval_implementation_owning(
                    agent, lane,
                ),
            };
            let exit = agent.exit_contract.as_ref().map(|c| ExitContractLines {
                completion: c.completion.clone().unwrap_or_default(),
                durability: c.durability.clone().unwrap_or_default(),
                proof: c.proof.clone().unwrap_or_default(),
                doc_impact: c.doc_impact.clone().unwrap_or_default(),
            });
            let proofs: Vec<ProofArtifactLine> = agent
                .proof_artifacts
                .iter()
                .map(|a| ProofArtifactLine {
                    path: a.path.clone(),
                    kind: a.kind.clone(),
                    required_for: a.required_for.clone(),
                })
                .collect();
            let context7 = context7_scope(wave, agent, &lane.lane, opts.context7_index);
            let prompt_text = prompt::assemble(&PromptInput {
                repo_root: &root.to_string_lossy(),
                lane: &lane.lane,
                wave: u32::try_from(n).unwrap_or(u32::MAX),
                agent_id: &agent.agent_id,
                title: &agent.title,
                roles: &roles,
                executor_id: ex.id.as_str(),
                orchestrator_id: opts.orchestrator_id,
                board: &board,
                shared_summary: Some((&summary_pair, &summary)),
                inbox: Some((&inbox_pair, &inbox)),
                kind,
                shared_plan_docs: &lane.shared_plan_docs,
                exit_contract: exit.as_ref(),
                component_promotions: &promotions,
                benchmark_catalog_path: Some(&lane.paths.benchmark_catalog_path),
                eval_targets: &eval_targets,
                components: &agent.component_targets,
                deliverables: &agent.deliverables,
                design_packet_paths: &design_packets,
                proof_artifacts: &proofs,
                skills: None,
                context7: &context7,
                resolved_prompt: &agent.prompt,
            });
            let prompt_path = dir.join(format!("prompts/wave-{n}-{slug}.prompt.md"));
            let log_path = dir.join(format!("logs/wave-{n}-{slug}.log"));
            let overlay_dir = dir.join(format!("executors/wave-{n}/{slug}"));
            let base_settings = ex
                .claude
                .settings
                .as_deref()
                .and_then(|p| opts.claude_settings.iter().find(|(k, _)| k == p))
                .map(|(_, v)| v);
            let prompt_str = prompt_path.to_string_lossy();
            let log_str = log_path.to_string_lossy();
            let overlay_str = overlay_dir.to_string_lossy();
            let plan = build_launch_plan(
                ex,
                &LaunchInput {
                    agent_id: &agent.agent_id,
                    title: &agent.title,
                    prompt_path: &prompt_str,
                    log_path: &log_str,
                    overlay_dir: &overlay_str,
                    local_command: opts.local_command,
                    skill_text: "",
                    claude_base_settings: base_settings,
                    isolation: None,
                },
            );
            let preview = preview_for(
                &plan,
                opts.credential_providers,
                opts.credentials,
                SkillsSummary {
                    ids: Vec::new(),
                    role: role.as_str().to_owned(),
                    runtime: ex.id.as_str().to_owned(),
                    deploy_kind: wave
                        .deploy_environments
                        .iter()
                        .find(|e| e.is_default)
                        .map(|e| e.kind.clone()),
                    bundles: Vec::new(),
                    artifacts: None,
                },
            );
            files.push(PlannedFile {
                path: prompt_path.clone(),
                contents: format!("{prompt_text}\n"),
            });
            for f in &plan.files {
                files.push(PlannedFile {
                    path: overlay_dir.join(f.name),
                    contents: f.contents.clone(),
                });
            }
            files.push(PlannedFile {
                path: overlay_dir.join("launch-preview.json"),
                contents: pretty_json(&preview),
            });
            agents.push(AgentPreview {
                wave: n,
                agent_id: agent.agent_id.clone(),
                executor: ex.id,
                role: role.as_str().to_owned(),
                prompt_path: rel(root, &prompt_path),
                overlay_dir: rel(root, &overlay_dir),
            });
        }
    }
    Ok(DryRun { dir, files, agents })
}

/// Writes a prepared dry run. Every path must lie inside the dry-run directory (no `..`
/// components); if any does not, nothing is written. Files whose contents are unchanged are not
/// rewritten.
pub fn write(run: &DryRun) -> Result<(), DryRunError> {
    for file in &run.files {
        let inside = file.path.strip_prefix(&run.dir).is_ok_and(|rel| {
            rel.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        });
        if !inside {
            return Err(DryRunError::Io {
                path: file.path.clone(),
                source: std::io::Error::other("path lies outside the dry-run directory"),
            });
        }
    }
    let mut made: Vec<&Path> = Vec::new();
    for file in &run.files {
        let io = |source| DryRunError::Io {
            path: file.path.clone(),
            source,
        };
        if let Some(parent) = file.path.parent()
            && !made.contains(&parent)
        {
            std::fs::create_dir_all(parent).map_err(io)?;
            made.push(parent);
        }
        // A file that already holds exactly these bytes is left alone: re-running a dry run
        // touches nothing that did not change.
        if std::fs::read(&file.path).is_ok_and(|old| old == file.contents.as_bytes()) {
            continue;
        }
        write_atomic(&file.path, file.contents.as_bytes()).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_refuses_any_path_outside_the_dry_run_dir_before_writing() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("s/dry-run");
        let inside = dir.join("prompts/a.md");
        let outside = base.path().join("s/escape.md");
        let traversal = dir.join("../escape2.md");
        for bad in [outside.clone(), traversal] {
            let run = DryRun {
                dir: dir.clone(),
                files: vec![
                    PlannedFile {
                        path: inside.clone(),
                        contents: "x".into(),
                    },
                    PlannedFile {
                        path: bad,
                        contents: "y".into(),
                    },
                ],
                agents: Vec::new(),
            };
            assert!(matches!(write(&run), Err(DryRunError::Io { .. })));
            assert!(
                !inside.exists(),
                "nothing is written when any path is refused"
            );
        }
        assert!(!outside.exists());
    }
}
