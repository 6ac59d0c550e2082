//! Loading what a launch needs from a repository: the lane profile from `wave.config.json` and
//! every wave plan of the lane.
//!
//! Owns: the file reads behind `wave launch` and `wave doctor` (config, wave files, role prompts).
//! Must not: write anything. The reader here covers the configuration keys and plan sections
//! that launching uses (spec §1.1–1.5, §11); full grammar checks and validation diagnostics are
//! the plan layer's.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::plan::config::{
    AutoClosure, ExecutorProfile, ExecutorsConfig, LanePaths, ModeThresholds, Roles, RuntimePolicy,
    ValidationConfig,
};
use crate::plan::{
    Agent, AgentSpans, Budget, ClaudeOverrides, CodexOverrides, ComponentPromotion, Context7Config,
    DeployEnvironment, EvalSelection, EvalTarget, ExecutorConfig, ExecutorId, ExitContract,
    LaneProfile, OpencodeOverrides, PlanError, Pos, ProofArtifact, RolePrompt, WavePlan,
};

/// A repository's lane, loaded.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The config object as written (`{}` when the file is missing).
    pub config: Map<String, Value>,
    /// Whether `wave.config.json` exists.
    pub config_present: bool,
    /// The lane profile.
    pub lane: LaneProfile,
}

const CONFIG: &str = "wave.config.json";

fn obj(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

fn text(map: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    map.and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn threshold(map: Option<&Map<String, Value>>, key: &str, default: Option<u64>) -> Option<u64> {
    match map.and_then(|m| m.get(key)) {
        Some(Value::Null) => None,
        Some(v) => v.as_u64().or(default),
        None => default,
    }
}

fn merged_obj(
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut out = a.cloned().unwrap_or_default();
    if let Some(b) = b {
        for (k, v) in b {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn profile(v: &Value) -> ExecutorProfile {
    let m = v.as_object();
    let budget = obj(m.and_then(|m| m.get("budget"))).map(|b| Budget {
        turns: b.get("turns").and_then(Value::as_u64),
        minutes: b.get("minutes").and_then(Value::as_u64),
    });
    ExecutorProfile {
        id: text(m, "id").and_then(|s| ExecutorId::parse(&s)),
        model: text(m, "model"),
        fallbacks: strings(m.and_then(|m| m.get("fallbacks")))
            .unwrap_or_default()
            .iter()
            .filter_map(|s| ExecutorId::parse(s))
            .collect(),
        tags: strings(m.and_then(|m| m.get("tags"))).unwrap_or_default(),
        budget,
        codex: obj(m.and_then(|m| m.get("codex"))).cloned(),
        claude: obj(m.and_then(|m| m.get("claude"))).cloned(),
        opencode: obj(m.and_then(|m| m.get("opencode"))).cloned(),
    }
}

/// Reads `wave.config.json` (missing = defaults) and resolves `lane` (default: `defaultLane`).
pub fn load_config(root: &Path, lane: Option<&str>) -> Result<Workspace, PlanError> {
    let path = root.join(CONFIG);
    let (config, present) = match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => (map, true),
            Ok(_) => {
                return Err(PlanError::config(
                    CONFIG,
                    "the configuration must be a JSON object",
                    "wrap the settings in `{ … }`",
                ));
            }
            Err(e) => {
                return Err(PlanError::config(
                    CONFIG,
                    format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                    "fix the JSON syntax (a trailing comma or a missing quote is the usual cause)",
                ));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Map::new(), false),
        Err(source) => return Err(PlanError::Io { path, source }),
    };
    let lane_profile = lane_profile(&config, lane)?;
    Ok(Workspace {
        config,
        config_present: present,
        lane: lane_profile,
    })
}

fn lane_profile(config: &Map<String, Value>, lane: Option<&str>) -> Result<LaneProfile, PlanError> {
    let default_lane = text(Some(config), "defaultLane")
        .unwrap_or_else(|| "main".to_owned())
        .to_lowercase();
    let lane_name = lane
        .map(str::to_lowercase)
        .unwrap_or_else(|| default_lane.clone());
    if !crate::run::scaffold::is_valid_lane(&lane_name) {
        return Err(PlanError::config(
            CONFIG,
            format!("Invalid lane: {lane_name}"),
            "lane names use lowercase letters, digits, `-` and `_`",
        ));
    }
    let lanes = obj(config.get("lanes"));
    let lc = lanes
        .and_then(|l| l.get(&lane_name))
        .and_then(Value::as_object);
    let paths = obj(config.get("paths"));
    let multi = text(Some(config), "repoMode").as_deref() == Some("multi-lane");
    let project_docs = text(paths, "docsDir").unwrap_or_else(|| "docs".to_owned());
    let docs_dir = text(lc, "docsDir").unwrap_or_else(|| {
        if !multi && lane_name == default_lane {
            project_docs.clone()
        } else {
            format!("{project_docs}/{lane_name}")
        }
    });
    let plans_dir = text(lc, "plansDir").unwrap_or_else(|| format!("{docs_dir}/plans"));
    let waves_dir = text(lc, "wavesDir").unwrap_or_else(|| format!("{plans_dir}/waves"));
    let shared_plan_docs = strings(lc.and_then(|l| l.get("sharedPlanDocs")))
        .or_else(|| strings(config.get("sharedPlanDocs")))
        .unwrap_or_else(|| {
            ["current-state.md", "master-plan.md", "migration.md"]
                .iter()
                .map(|f| format!("{plans_dir}/{f}"))
                .collect()
        });
    let roles_map = merged_obj(
        obj(config.get("roles")),
        obj(lc.and_then(|l| l.get("roles"))),
    );
    let r = Some(&roles_map);
    let dir = text(r, "rolePromptDir").unwrap_or_else(|| "docs/agents".to_owned());
    let role_path = |key: &str, name: &str| {
        text(r, key).unwrap_or_else(|| format!("docs/agents/wave-{name}-role.md"))
    };
    let roles = Roles {
        role_prompt_dir: dir,
        cont_qa_agent_id: text(r, "contQaAgentId").unwrap_or_else(|| "A0".into()),
        cont_eval_agent_id: text(r, "contEvalAgentId").unwrap_or_else(|| "E0".into()),
        integration_agent_id: text(r, "integrationAgentId").unwrap_or_else(|| "A8".into()),
        documentation_agent_id: text(r, "documentationAgentId").unwrap_or_else(|| "A9".into()),
        cont_qa_role_prompt_path: role_path("contQaRolePromptPath", "cont-qa"),
        cont_eval_role_prompt_path: role_path("contEvalRolePromptPath", "cont-eval"),
        integration_role_prompt_path: role_path("integrationRolePromptPath", "integration"),
        documentation_role_prompt_path: role_path("documentationRolePromptPath", "documentation"),
        security_role_prompt_path: role_path("securityRolePromptPath", "security"),
        design_role_prompt_path: role_path("designRolePromptPath", "design"),
    };
    let v_map = merged_obj(
        obj(config.get("validation")),
        obj(lc.and_then(|l| l.get("validation"))),
    );
    let v = Some(&v_map);
    let validation = ValidationConfig {
        required_prompt_references: strings(v_map.get("requiredPromptReferences")).unwrap_or_else(
            || {
                vec![
                    "docs/reference/repository-guidance.md".into(),
                    "docs/research/agent-context-sources.md".into(),
                ]
            },
        ),
        require_documentation_steward_from_wave: threshold(
            v,
            "requireDocumentationStewardFromWave",
            Some(0),
        ),
        require_context7_declarations_from_wave: threshold(
            v,
            "requireContext7DeclarationsFromWave",
            Some(6),
        ),
        require_exit_contracts_from_wave: threshold(v, "requireExitContractsFromWave", Some(6)),
        require_integration_steward_from_wave: threshold(
            v,
            "requireIntegrationStewardFromWave",
            None,
        ),
        require_component_promotions_from_wave: threshold(
            v,
            "requireComponentPromotionsFromWave",
            Some(0),
        ),
        require_agent_components_from_wave: threshold(v, "requireAgentComponentsFromWave", Some(0)),
        gate_mode_thresholds: ModeThresholds {
            bootstrap: 0.0,
            standard: 4.0,
            strict: 10.0,
        },
        closure_mode_thresholds: ModeThresholds {
            bootstrap: 0.0,
            standard: 4.0,
            strict: 10.0,
        },
        auto_closure: AutoClosure::default(),
    };
    let top_ex = obj(config.get("executors"));
    let lane_ex = obj(lc.and_then(|l| l.get("executors")));
    let default = text(lane_ex, "default")
        .or_else(|| text(top_ex, "default"))
        .map(|s| {
            ExecutorId::parse(&s).ok_or_else(|| {
                PlanError::config(
                    CONFIG,
                    format!("unknown executor `{s}` in executors.default"),
                    "use codex, claude, opencode or local",
                )
            })
        })
        .transpose()?
        .unwrap_or(ExecutorId::Codex);
    let mut profiles = BTreeMap::new();
    for source in [top_ex, lane_ex].into_iter().flatten() {
        if let Some(p) = obj(source.get("profiles")) {
            for (name, value) in p {
                profiles.insert(name.to_lowercase(), profile(value));
            }
        }
    }
    let runtime = |k: &str| {
        merged_obj(
            obj(top_ex.and_then(|m| m.get(k))),
            obj(lane_ex.and_then(|m| m.get(k))),
        )
    };
    let executors = ExecutorsConfig {
        default,
        profiles,
        codex: runtime("codex"),
        claude: runtime("claude"),
        opencode: runtime("opencode"),
    };
    let rp = merged_obj(
        obj(config.get("runtimePolicy")),
        obj(lc.and_then(|l| l.get("runtimePolicy"))),
    );
    let exec_map = |v: Option<&Value>| -> BTreeMap<String, ExecutorId> {
        obj(v)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), ExecutorId::parse(v.as_str()?)?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let runtime_policy = RuntimePolicy {
        runtime_mix_targets: obj(rp
            .get("runtimeMixTargets")
            .or(lc.and_then(|l| l.get("runtimeMixTargets"))))
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((ExecutorId::parse(k)?, v.as_u64()?)))
                .collect()
        })
        .unwrap_or_default(),
        default_executor_by_role: exec_map(
            rp.get("defaultExecutorByRole")
                .or(lc.and_then(|l| l.get("defaultExecutorByRole"))),
        ),
        fallback_executor_order: strings(
            rp.get("fallbackExecutorOrder")
                .or(lc.and_then(|l| l.get("fallbackExecutorOrder"))),
        )
        .unwrap_or_default()
        .iter()
        .filter_map(|s| ExecutorId::parse(s))
        .collect(),
    };
    let path_of = |key: &str, default: String| {
        text(lc, key)
            .or_else(|| text(paths, key))
            .unwrap_or(default)
    };
    let lane_paths = LanePaths {
        terminals_path: path_of("terminalsPath", ".vscode/terminals.json".into()),
        state_root: path_of("stateRoot", ".tmp".into()),
        orchestrator_state_dir: path_of("orchestratorStateDir", ".tmp/wave-orchestrator".into()),
        context7_bundle_index_path: path_of(
            "context7BundleIndexPath",
            "docs/context7/bundles.json".into(),
        ),
        benchmark_catalog_path: path_of(
            "benchmarkCatalogPath",
            "docs/evals/benchmark-catalog.json".into(),
        ),
        component_cutover_matrix_doc_path: path_of(
            "componentCutoverMatrixDocPath",
            format!("{project_docs}/plans/component-cutover-matrix.md"),
        ),
        component_cutover_matrix_json_path: path_of(
            "componentCutoverMatrixJsonPath",
            format!("{project_docs}/plans/component-cutover-matrix.json"),
        ),
    };
    Ok(LaneProfile {
        lane: lane_name,
        project_id: "default".into(),
        docs_dir,
        plans_dir,
        waves_dir,
        shared_plan_docs,
        roles,
        validation,
        executors,
        runtime_policy,
        preferred_agents: BTreeMap::new(),
        skills: config.get("skills").cloned().unwrap_or(Value::Null),
        paths: lane_paths,
    })
}

/// Wave files of the lane, sorted by wave number: `(number, repo-relative path)`.
pub fn wave_files(root: &Path, lane: &LaneProfile) -> Result<Vec<(u64, String)>, PlanError> {
    let dir = root.join(&lane.waves_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PlanError::WavesDirMissing { dir });
        }
        Err(source) => return Err(PlanError::Io { path: dir, source }),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(num) = name
            .strip_prefix("wave-")
            .and_then(|r| r.strip_suffix(".md"))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((num, format!("{}/{name}", lane.waves_dir)));
    }
    if out.is_empty() {
        return Err(PlanError::NoWaveFiles { dir });
    }
    out.sort();
    Ok(out)
}

/// Reads and parses every wave file of the lane.
pub fn load_waves(root: &Path, lane: &LaneProfile) -> Result<Vec<WavePlan>, PlanError> {
    let mut waves = Vec::new();
    for (num, rel) in wave_files(root, lane)? {
        let path = root.join(&rel);
        let text = std::fs::read_to_string(&path).map_err(|source| PlanError::Io {
            path: path.clone(),
            source,
        })?;
        waves.push(parse_wave(root, lane, num, &rel, &text)?);
    }
    Ok(waves)
}

fn clean(v: &str) -> String {
    v.trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '`')
        .trim()
        .to_owned()
}

fn bullets(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- ")
                .or_else(|| l.trim().strip_prefix("-\t"))
        })
        .map(clean)
        .filter(|s| !s.is_empty())
        .collect()
}

fn pairs(body: &str) -> Vec<(String, String)> {
    bullets(body)
        .into_iter()
        .filter_map(|b| {
            let (k, v) = b.split_once(':')?;
            Some((k.trim().to_owned(), clean(v)))
        })
        .collect()
}

/// Top-level `## Heading` sections: heading text → body (up to the next `## ` line).
fn top_sections(content: &str) -> Vec<(String, String, u32)> {
    let mut out: Vec<(String, String, u32)> = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if let Some(h) = line.strip_prefix("## ") {
            out.push((h.trim().to_owned(), String::new(), i as u32 + 1));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

/// `### Heading` subsections of an agent body: heading → body (up to the next `### ` line).
fn sub_sections(body: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            out.push((h.trim().to_owned(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    out
}

fn fenced(body: &str) -> Option<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            if inside {
                return Some(out.join("\n").trim().to_owned());
            }
            inside = true;
            continue;
        }
        if inside {
            out.push(line);
        }
    }
    None
}

/// Paths listed under `File ownership` in a prompt.
pub fn owned_paths(prompt: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut active = false;
    for line in prompt.lines() {
        let t = line.trim();
        if t.to_lowercase().starts_with("file ownership") {
            active = true;
            continue;
        }
        if !active {
            continue;
        }
        if let Some(p) = t.strip_prefix("- ") {
            let p = clean(p);
            if !p.is_empty() && !out.contains(&p) {
                out.push(p);
            }
        } else if t.ends_with(':') && !t.is_empty() {
            active = false;
        }
    }
    out
}

/// `slugify`: lowercase, runs of non-`[a-z0-9]` → `-`, trimmed, at most 48 characters.
pub fn slugify(value: &str) -> String {
    let mut out = String::new();
    for c in value.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    t.chars()
        .take(48)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

fn standing_prompt(root: &Path, rel: &str, wave_file: &str) -> Result<String, PlanError> {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).map_err(|_| {
        PlanError::parse(
            wave_file,
            Pos::START,
            format!("role prompt not found: {rel}"),
            "create the file or fix the path under `### Role prompts`",
        )
    })?;
    text.split_once("## Standing prompt")
        .and_then(|(_, after)| fenced(after))
        .ok_or_else(|| {
            PlanError::parse(
                rel,
                Pos::START,
                "role prompt has no `## Standing prompt` section with a fenced block",
                "add `## Standing prompt` followed by a ``` fenced block",
            )
        })
}

fn executor_config(pairs: &[(String, String)]) -> ExecutorConfig {
    let mut c = ExecutorConfig::default();
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let boolean = |v: &str| matches!(v.to_lowercase().as_str(), "true" | "1" | "yes" | "on");
    let json_obj = |v: &str| match serde_json::from_str::<Value>(v) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    for (k, v) in pairs {
        let v = v.as_str();
        match k.as_str() {
            "id" => c.id = ExecutorId::parse(v),
            "profile" => c.profile = Some(v.to_lowercase()),
            "model" => c.model = Some(v.to_owned()),
            "fallbacks" => {
                c.fallbacks = list(v)
                    .iter()
                    .filter_map(|x| ExecutorId::parse(x))
                    .collect()
            }
            "tags" => c.tags = list(v),
            "budget.turns" => c.budget.get_or_insert_with(Budget::default).turns = v.parse().ok(),
            "budget.minutes" => {
                c.budget.get_or_insert_with(Budget::default).minutes = v.parse().ok()
            }
            _ => {
                let Some((runtime, key)) = k.split_once('.') else {
                    continue;
                };
                match runtime {
                    "codex" => {
                        let o = c.codex.get_or_insert_with(CodexOverrides::default);
                        match key {
                            "command" => o.command = Some(v.into()),
                            "sandbox" => o.sandbox = Some(v.into()),
                            "profile_name" => o.profile_name = Some(v.into()),
                            "config" => o.config = Some(list(v)),
                            "search" => o.search = Some(boolean(v)),
                            "images" => o.images = Some(list(v)),
                            "add_dirs" => o.add_dirs = Some(list(v)),
                            "json" => o.json = Some(boolean(v)),
                            "ephemeral" => o.ephemeral = Some(boolean(v)),
                            _ => {}
                        }
                    }
                    "claude" => {
                        let o = c.claude.get_or_insert_with(ClaudeOverrides::default);
                        match key {
                            "command" => o.command = Some(v.into()),
                            "agent" => o.agent = Some(v.into()),
                            "permission_mode" => o.permission_mode = Some(v.into()),
                            "permission_prompt_tool" => o.permission_prompt_tool = Some(v.into()),
                            "effort" => o.effort = Some(v.into()),
                            "max_turns" => o.max_turns = v.parse().ok(),
                            "mcp_config" => o.mcp_config = Some(list(v)),
                            "settings" => o.settings = Some(v.into()),
                            "settings_json" => o.settings_json = json_obj(v),
                            "hooks_json" => o.hooks_json = json_obj(v),
                            "allowed_http_hook_urls" => o.allowed_http_hook_urls = Some(list(v)),
                            "output_format" => o.output_format = Some(v.into()),
                            "allowed_tools" => o.allowed_tools = Some(list(v)),
                            "disallowed_tools" => o.disallowed_tools = Some(list(v)),
                            _ => {}
                        }
                    }
                    "opencode" => {
                        let o = c.opencode.get_or_insert_with(OpencodeOverrides::default);
                        match key {
                            "command" => o.command = Some(v.into()),
                            "agent" => o.agent = Some(v.into()),
                            "attach" => o.attach = Some(v.into()),
                            "files" => o.files = Some(list(v)),
                            "format" => o.format = Some(v.into()),
                            "steps" => o.steps = v.parse().ok(),
                            "instructions" => o.instructions = Some(list(v)),
                            "permission" => o.permission = serde_json::from_str(v).ok(),
                            "config_json" => o.config_json = json_obj(v),
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    c
}

fn context7(body: &str) -> Option<Context7Config> {
    let p = pairs(body);
    let get = |k: &str| p.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let c = Context7Config {
        bundle: get("bundle"),
        query: get("query"),
    };
    (c.bundle.is_some() || c.query.is_some()).then_some(c)
}

/// Parses one wave file (the launch-relevant sections).
pub fn parse_wave(
    root: &Path,
    lane: &LaneProfile,
    number: u64,
    file: &str,
    content: &str,
) -> Result<WavePlan, PlanError> {
    let mut plan = WavePlan {
        wave: number,
        file: file.to_owned(),
        commit_message: None,
        deploy_environments: Vec::new(),
        eval_targets: Vec::new(),
        context7_defaults: None,
        component_promotions: Vec::new(),
        agents: Vec::new(),
        cont_qa_report_path: None,
        cont_eval_report_path: None,
        section_spans: BTreeMap::new(),
    };
    let mut agent_bodies: Vec<(String, String, u32, String)> = Vec::new();
    for (heading, body, line) in top_sections(content) {
        if let Some((id, title)) = heading
            .strip_prefix("Agent ")
            .and_then(|rest| rest.split_once(':'))
        {
            agent_bodies.push((id.trim().to_owned(), title.trim().to_owned(), line, body));
            continue;
        }
        match heading.as_str() {
            "Component promotions" => {
                for (id, level) in pairs(&body) {
                    plan.component_promotions.push(ComponentPromotion {
                        component_id: id,
                        target_level: level,
                        pos: Pos { line, column: 1 },
                    });
                }
            }
            "Context7 defaults" => plan.context7_defaults = context7(&body),
            "Deploy environments" => {
                for b in bullets(&body) {
                    let Some((id, rest)) = b.split_once(':') else {
                        continue;
                    };
                    let mut words = rest.split_whitespace();
                    let kind = words.next().map(clean).unwrap_or_default().to_lowercase();
                    let is_default = rest.split_whitespace().any(|w| w == "default");
                    plan.deploy_environments.push(DeployEnvironment {
                        id: clean(id).to_lowercase(),
                        kind,
                        is_default,
                        notes: None,
                    });
                }
                if !plan.deploy_environments.iter().any(|e| e.is_default)
                    && let Some(first) = plan.deploy_environments.first_mut()
                {
                    first.is_default = true;
                }
            }
            "Eval targets" => {
                for b in bullets(&body) {
                    let fields: BTreeMap<String, String> = b
                        .split('|')
                        .filter_map(|p| {
                            let (k, v) = p.split_once(':')?;
                            Some((k.trim().to_lowercase(), clean(v)))
                        })
                        .collect();
                    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
                    plan.eval_targets.push(EvalTarget {
                        id: get("id").to_lowercase(),
                        selection: if get("selection") == "delegated" {
                            EvalSelection::Delegated
                        } else {
                            EvalSelection::Pinned
                        },
                        benchmark_family: fields.get("benchmark-family").cloned(),
                        benchmarks: get("benchmarks")
                            .split(',')
                            .map(|x| x.trim().to_owned())
                            .filter(|x| !x.is_empty())
                            .collect(),
                        objective: get("objective"),
                        threshold: get("threshold"),
                        pos: Pos { line, column: 1 },
                    });
                }
            }
            _ => {}
        }
        if let Some((_, _, _, b)) = agent_bodies.last_mut() {
            // Top-level sections after an agent header belong to that agent's text.
            b.push_str(&format!("## {heading}\n{body}"));
        }
    }
    for (agent_id, title, line, body) in agent_bodies {
        let subs = sub_sections(&body);
        let sub = |h: &str| subs.iter().find(|(k, _)| k == h).map(|(_, b)| b.as_str());
        let overlay = sub("Prompt").and_then(fenced).ok_or_else(|| {
            PlanError::parse(
                file,
                Pos { line, column: 1 },
                format!("agent {agent_id}: missing fenced prompt block"),
                "add `### Prompt` followed by a ``` fenced block",
            )
        })?;
        let mut role_prompts = Vec::new();
        for p in sub("Role prompts").map(bullets).unwrap_or_default() {
            let standing_prompt = standing_prompt(root, &p, file)?;
            role_prompts.push(RolePrompt {
                path: p,
                standing_prompt,
                pos: Pos { line, column: 1 },
            });
        }
        let mut prompt_parts: Vec<&str> = role_prompts
            .iter()
            .map(|r| r.standing_prompt.as_str())
            .collect();
        prompt_parts.push(&overlay);
        let prompt = prompt_parts.join("\n\n");
        let components = sub("Components").map(bullets).unwrap_or_default();
        let component_targets = components
            .iter()
            .map(|c| {
                let level = plan
                    .component_promotions
                    .iter()
                    .find(|p| &p.component_id == c)
                    .map(|p| p.target_level.clone());
                (c.clone(), level)
            })
            .collect();
        let mut capabilities: Vec<String> = sub("Capabilities")
            .map(bullets)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.to_lowercase())
            .collect();
        let exit_contract = sub("Exit contract").map(pairs).map(|p| {
            let get = |k: &str| {
                p.iter()
                    .find(|(key, _)| key == k || (k == "doc-impact" && key == "docImpact"))
                    .map(|(_, v)| v.to_lowercase())
            };
            ExitContract {
                completion: get("completion"),
                durability: get("durability"),
                proof: get("proof"),
                doc_impact: get("doc-impact"),
            }
        });
        let proof_artifacts = sub("Proof artifacts")
            .map(bullets)
            .unwrap_or_default()
            .into_iter()
            .map(|b| {
                if b.contains('|') || b.starts_with("path:") {
                    let fields: BTreeMap<String, String> = b
                        .split('|')
                        .filter_map(|p| {
                            let (k, v) = p.split_once(':')?;
                            Some((k.trim().to_lowercase(), clean(v)))
                        })
                        .collect();
                    ProofArtifact {
                        path: fields.get("path").cloned().unwrap_or_default(),
                        kind: fields.get("kind").cloned(),
                        required_for: fields
                            .get("required-for")
                            .map(|r| r.split(',').map(|x| x.trim().to_owned()).collect())
                            .unwrap_or_default(),
                    }
                } else {
                    ProofArtifact {
                        path: b,
                        kind: None,
                        required_for: Vec::new(),
                    }
                }
            })
            .collect();
        let mut agent = Agent {
            slug: slugify(&format!("{number}-{agent_id}")),
            agent_id,
            title,
            owned_paths: owned_paths(&overlay),
            prompt,
            prompt_overlay: overlay,
            context7: sub("Context7").and_then(context7),
            exit_contract,
            executor: sub("Executor").map(|b| executor_config(&pairs(b))),
            components,
            component_targets,
            capabilities: Vec::new(),
            skills: sub("Skills").map(bullets).unwrap_or_default(),
            deliverables: sub("Deliverables").map(bullets).unwrap_or_default(),
            proof_artifacts,
            role_prompts,
            spans: AgentSpans {
                header: Pos { line, column: 1 },
                ..AgentSpans::default()
            },
        };
        if agent.imports(&lane.roles.security_role_prompt_path)
            && !capabilities.iter().any(|c| c == "security-review")
        {
            capabilities.push("security-review".into());
        }
        if agent.imports(&lane.roles.design_role_prompt_path)
            && !capabilities.iter().any(|c| c == "design")
        {
            capabilities.push("design".into());
        }
        agent.capabilities = capabilities;
        plan.agents.push(agent);
    }
    Ok(plan)
}
