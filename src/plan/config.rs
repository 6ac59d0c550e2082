//! `wave.config.json` (spec §11): the project config and the per-lane profile resolved from it.
//!
//! Owns: parsing the config text (a missing file means all defaults), upstream's defaults,
//! lane resolution (top level, then `lanes.<lane>`), and unknown-key warnings.
//! Must not: read files (the caller passes the text) or the environment.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::PlanError;
use super::model::{Budget, Diagnostic, ExecutorId};
use super::text::js_trim;

/// The config file name at the repository root.
pub const CONFIG_FILE: &str = "wave.config.json";

/// `repoMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepoMode {
    /// One docs tree; the default lane uses `docs/` directly.
    SingleRepo,
    /// Every lane has its own `docs/<lane>/` tree.
    MultiLane,
}

/// Lane role ids and role prompt paths (`roles.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Roles {
    /// Where role prompts live (default `docs/agents`).
    pub role_prompt_dir: String,
    /// cont-QA agent id (default `A0`).
    pub cont_qa_agent_id: String,
    /// cont-EVAL agent id (default `E0`).
    pub cont_eval_agent_id: String,
    /// Integration steward id (default `A8`).
    pub integration_agent_id: String,
    /// Documentation steward id (default `A9`).
    pub documentation_agent_id: String,
    /// cont-QA role prompt.
    pub cont_qa_role_prompt_path: String,
    /// cont-EVAL role prompt.
    pub cont_eval_role_prompt_path: String,
    /// Integration role prompt.
    pub integration_role_prompt_path: String,
    /// Documentation role prompt.
    pub documentation_role_prompt_path: String,
    /// Security reviewer role prompt.
    pub security_role_prompt_path: String,
    /// Design role prompt.
    pub design_role_prompt_path: String,
}

/// `{bootstrap, standard, strict}` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModeThresholds {
    /// Bootstrap threshold (default 0).
    pub bootstrap: f64,
    /// Standard threshold (default 4).
    pub standard: f64,
    /// Strict threshold (default 10).
    pub strict: f64,
}

/// `validation.autoClosure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoClosure {
    /// Accept an inferred integration recommendation without an A8 marker.
    pub allow_inferred_integration: bool,
    /// Auto-close documentation with a `no-change` note.
    pub allow_auto_doc_no_change: bool,
    /// Auto-close documentation from projections.
    pub allow_auto_doc_projection: bool,
    /// Skip cont-QA in bootstrap closure mode.
    pub allow_skip_cont_qa_in_bootstrap: bool,
}

/// `validation.*`: what plan validation requires from which wave on. `None` = never.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationConfig {
    /// Strings every resolved agent prompt must contain.
    pub required_prompt_references: Vec<String>,
    /// Documentation steward rule (default 0).
    pub require_documentation_steward_from_wave: Option<u64>,
    /// `### Context7` / `## Context7 defaults` rule (default 6).
    pub require_context7_declarations_from_wave: Option<u64>,
    /// `### Exit contract` rule (default 6).
    pub require_exit_contracts_from_wave: Option<u64>,
    /// Integration steward rule (default none).
    pub require_integration_steward_from_wave: Option<u64>,
    /// `## Component promotions` rule (default 0).
    pub require_component_promotions_from_wave: Option<u64>,
    /// `### Components` rule (default 0).
    pub require_agent_components_from_wave: Option<u64>,
    /// Gate mode thresholds.
    pub gate_mode_thresholds: ModeThresholds,
    /// Closure mode thresholds.
    pub closure_mode_thresholds: ModeThresholds,
    /// Auto-closure switches.
    pub auto_closure: AutoClosure,
}

/// One `executors.profiles.<name>` entry. Runtime sections are kept as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorProfile {
    /// Executor id.
    pub id: Option<ExecutorId>,
    /// Model.
    pub model: Option<String>,
    /// Fallback executors.
    pub fallbacks: Vec<ExecutorId>,
    /// Tags.
    pub tags: Vec<String>,
    /// Budget.
    pub budget: Option<Budget>,
    /// `codex` section as written.
    pub codex: Option<Map<String, Value>>,
    /// `claude` section as written.
    pub claude: Option<Map<String, Value>>,
    /// `opencode` section as written.
    pub opencode: Option<Map<String, Value>>,
    /// `command` section as written (`program`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Map<String, Value>>,
}

/// `executors`: the default executor, profiles and per-runtime settings (merged top level,
/// then lane; a same-named lane profile replaces the top-level one).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorsConfig {
    /// `executors.default` (default `codex`).
    pub default: ExecutorId,
    /// Profiles by lowercased name.
    pub profiles: BTreeMap<String, ExecutorProfile>,
    /// `executors.codex` as written (merged).
    pub codex: Map<String, Value>,
    /// `executors.claude` as written (merged).
    pub claude: Map<String, Value>,
    /// `executors.opencode` as written (merged).
    pub opencode: Map<String, Value>,
    /// `executors.command` as written (merged): `program` for the `command` executor.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub command: Map<String, Value>,
}

/// `runtimePolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePolicy {
    /// Per-wave cap of agents per executor.
    pub runtime_mix_targets: BTreeMap<ExecutorId, u64>,
    /// Default executor per runtime role (`cont-qa`, `implementation`, …).
    pub default_executor_by_role: BTreeMap<String, ExecutorId>,
    /// Fallback order when an agent names no fallbacks.
    pub fallback_executor_order: Vec<ExecutorId>,
}

/// Lane paths (spec §11 `paths.*`, after lane overrides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LanePaths {
    /// `terminalsPath`.
    pub terminals_path: String,
    /// `stateRoot`.
    pub state_root: String,
    /// `orchestratorStateDir`.
    pub orchestrator_state_dir: String,
    /// `context7BundleIndexPath`.
    pub context7_bundle_index_path: String,
    /// `benchmarkCatalogPath`.
    pub benchmark_catalog_path: String,
    /// `componentCutoverMatrixDocPath`.
    pub component_cutover_matrix_doc_path: String,
    /// `componentCutoverMatrixJsonPath`.
    pub component_cutover_matrix_json_path: String,
}

/// Everything about one lane that plan parsing, validation and launching need.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaneProfile {
    /// Lane name (lowercase).
    pub lane: String,
    /// Project id (`default` unless configured).
    pub project_id: String,
    /// Lane docs dir.
    pub docs_dir: String,
    /// Lane plans dir.
    pub plans_dir: String,
    /// Lane waves dir.
    pub waves_dir: String,
    /// Shared plan docs the documentation steward owns.
    pub shared_plan_docs: Vec<String>,
    /// Roles.
    pub roles: Roles,
    /// Validation thresholds.
    pub validation: ValidationConfig,
    /// Executors.
    pub executors: ExecutorsConfig,
    /// Runtime policy.
    pub runtime_policy: RuntimePolicy,
    /// `capabilityRouting.preferredAgents`.
    pub preferred_agents: BTreeMap<String, Vec<String>>,
    /// `skills` (top level and lane), as written.
    pub skills: Value,
    /// Paths.
    pub paths: LanePaths,
}

/// The parsed `wave.config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveConfig {
    /// `version` (default 1).
    pub version: i64,
    /// `projectName`.
    pub project_name: Option<String>,
    /// `repoMode`.
    pub repo_mode: RepoMode,
    /// `defaultLane` (default `main`).
    pub default_lane: String,
    /// `defaultProject` (default `default`).
    pub default_project: String,
    /// The whole config object as written (`{}` when the file is missing).
    pub raw: Map<String, Value>,
    /// `lanes.<name>` objects by sanitized lane name.
    pub lanes: BTreeMap<String, Map<String, Value>>,
    /// Unknown keys and other non-fatal findings.
    pub warnings: Vec<Diagnostic>,
    /// Where the config came from (for messages).
    pub file: String,
}

/// Default lane name.
pub const DEFAULT_LANE: &str = "main";
/// Default project id.
pub const DEFAULT_PROJECT: &str = "default";

const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "projectName",
    "repoMode",
    "defaultLane",
    "defaultProject",
    "paths",
    "sharedPlanDocs",
    "roles",
    "validation",
    "executors",
    "planner",
    "skills",
    "capabilityRouting",
    "runtimePolicy",
    "waveControl",
    "externalProviders",
    "lanes",
    "projects",
];

const PATH_KEYS: &[&str] = &[
    "docsDir",
    "stateRoot",
    "orchestratorStateDir",
    "terminalsPath",
    "context7BundleIndexPath",
    "benchmarkCatalogPath",
    "componentCutoverMatrixDocPath",
    "componentCutoverMatrixJsonPath",
];

const ROLE_KEYS: &[&str] = &[
    "rolePromptDir",
    "contQaAgentId",
    "contEvalAgentId",
    "integrationAgentId",
    "documentationAgentId",
    "contQaRolePromptPath",
    "contEvalRolePromptPath",
    "integrationRolePromptPath",
    "documentationRolePromptPath",
    "securityRolePromptPath",
    "designRolePromptPath",
];

const VALIDATION_KEYS: &[&str] = &[
    "requiredPromptReferences",
    "requireDocumentationStewardFromWave",
    "requireContext7DeclarationsFromWave",
    "requireExitContractsFromWave",
    "requireIntegrationStewardFromWave",
    "requireComponentPromotionsFromWave",
    "requireAgentComponentsFromWave",
    "gateModeThresholds",
    "closureModeThresholds",
    "autoClosure",
    "bootstrapPassConditions",
    "testCommand",
    "testCommandTimeout",
];

const LANE_KEYS: &[&str] = &[
    "docsDir",
    "plansDir",
    "wavesDir",
    "sharedPlanDocs",
    "roles",
    "validation",
    "executors",
    "skills",
    "capabilityRouting",
    "runtimePolicy",
    "runtimeMixTargets",
    "defaultExecutorByRole",
    "fallbackExecutorOrder",
    "waveControl",
    "externalProviders",
    "terminalsPath",
    "stateRoot",
    "orchestratorStateDir",
    "context7BundleIndexPath",
    "benchmarkCatalogPath",
    "componentCutoverMatrixDocPath",
    "componentCutoverMatrixJsonPath",
];

/// The JS truthiness of a JSON value (what `value || fallback` tests).
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// `String(value)` for the scalar JSON values a config holds.
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_owned(),
    }
}

fn obj(v: Option<&Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

fn merged(base: &Map<String, Value>, over: &Map<String, Value>) -> Map<String, Value> {
    let mut out = base.clone();
    for (k, v) in over {
        out.insert(k.clone(), v.clone());
    }
    out
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, message: impl Into<String>, hint: impl Into<String>) -> PlanError {
        PlanError::config(self.file, message, hint)
    }

    /// Normalizes a repository-relative path (`\` → `/`, no leading `./`, no trailing `/`),
    /// rejecting absolute paths and paths that climb out of the repository.
    fn repo_path(&self, value: &str, label: &str) -> Result<String, PlanError> {
        let mut raw = js_trim(value).replace('\\', "/");
        while let Some(rest) = raw.strip_prefix("./") {
            raw = rest.trim_start_matches('/').to_owned();
        }
        while raw.contains("//") {
            raw = raw.replace("//", "/");
        }
        if raw.ends_with('/') {
            raw.pop();
        }
        if raw.is_empty() {
            return Err(self.err(
                format!("{label} is required"),
                format!("set {label} to a path"),
            ));
        }
        if raw.starts_with('/') || raw.starts_with("../") || raw.contains("/../") {
            return Err(self.err(
                format!("{label} must stay within the repository: {value}"),
                "use a path relative to the repository root without `..`",
            ));
        }
        Ok(raw)
    }

    /// `value || default`, then [`Self::repo_path`].
    fn path_or(&self, v: Option<&Value>, default: &str, label: &str) -> Result<String, PlanError> {
        match v {
            Some(v) if truthy(Some(v)) => self.repo_path(&js_string(v), label),
            _ => self.repo_path(default, label),
        }
    }

    fn lane_name(&self, value: &str) -> Result<String, PlanError> {
        sanitize_id(value).ok_or_else(|| {
            self.err(
                format!("invalid lane: {value}"),
                "lane names are lowercase letters, digits, `_` and `-`, starting with a letter or digit",
            )
        })
    }

    fn executor(&self, v: &Value, label: &str) -> Result<ExecutorId, PlanError> {
        ExecutorId::parse(&js_string(v)).ok_or_else(|| {
            self.err(
                format!(
                    "{label} must be one of: codex, claude, opencode, local (got: {})",
                    js_string(v)
                ),
                "name one of the executors codex, claude, opencode or local",
            )
        })
    }

    fn executor_list(&self, v: Option<&Value>, label: &str) -> Result<Vec<ExecutorId>, PlanError> {
        let items: Vec<Value> = match v {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => js_string(other)
                .split(',')
                .map(js_trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.executor(item, &format!("{label}[{i}]")))
            .collect()
    }

    fn threshold(&self, v: Option<&Value>, default: Option<u64>) -> Result<Option<u64>, PlanError> {
        match v {
            None => Ok(default),
            Some(Value::Null) => Ok(None),
            Some(other) => match super::executor::js_parse_int(&js_string(other)) {
                Some(n) if n >= 0 => Ok(Some(u64::try_from(n).unwrap_or(u64::MAX))),
                _ => Err(self.err(
                    format!("invalid wave threshold: {}", js_string(other)),
                    "use a wave number (0 or more), or null to switch the rule off",
                )),
            },
        }
    }

    fn positive_int(&self, v: Option<&Value>, label: &str) -> Result<Option<u64>, PlanError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(other) => match super::executor::js_parse_int(&js_string(other)) {
                Some(n) if n > 0 => Ok(Some(u64::try_from(n).unwrap_or(u64::MAX))),
                _ => Err(self.err(
                    format!(
                        "{label} must be a positive integer, got: {}",
                        js_string(other)
                    ),
                    "use a positive whole number",
                )),
            },
        }
    }

    fn warn_unknown(
        &self,
        warnings: &mut Vec<Diagnostic>,
        map: &Map<String, Value>,
        known: &[&str],
        label: &str,
    ) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                warnings.push(Diagnostic::warning(
                    self.file,
                    super::model::Pos::START,
                    format!("unknown key `{label}{key}` is ignored"),
                    format!("known keys: {}", known.join(", ")),
                ));
            }
        }
    }
}

/// Lowercases and sanitizes a lane or project id; `None` when nothing valid is left.
pub fn sanitize_id(value: &str) -> Option<String> {
    let lower = js_trim(value).to_lowercase();
    let mut out = String::new();
    let mut pending_dash = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            if pending_dash {
                out.push('-');
                pending_dash = false;
            }
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    // Collapse dash runs and trim dashes, as the reference sanitizer does.
    let mut collapsed = String::new();
    for c in out.chars() {
        if c == '-' && collapsed.ends_with('-') {
            continue;
        }
        collapsed.push(c);
    }
    let trimmed = collapsed.trim_matches('-');
    let first_ok = trimmed
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (first_ok).then(|| trimmed.to_owned())
}

impl WaveConfig {
    /// The configuration used when `wave.config.json` is missing: all defaults.
    pub fn defaults() -> Self {
        Self {
            version: 1,
            project_name: None,
            repo_mode: RepoMode::SingleRepo,
            default_lane: DEFAULT_LANE.to_owned(),
            default_project: DEFAULT_PROJECT.to_owned(),
            raw: Map::new(),
            lanes: BTreeMap::new(),
            warnings: Vec::new(),
            file: CONFIG_FILE.to_owned(),
        }
    }

    /// Parses `wave.config.json` text (`None` = the file is missing: all defaults).
    pub fn parse(text: Option<&str>, file: &str) -> Result<Self, PlanError> {
        let ctx = Ctx { file };
        let Some(text) = text else {
            return Ok(Self {
                file: file.to_owned(),
                ..Self::defaults()
            });
        };
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ctx.err(
                format!("not valid JSON: {e}"),
                "fix the JSON syntax at the line and column named",
            )
        })?;
        let Value::Object(raw) = value else {
            return Err(ctx.err(
                "the config must be a JSON object",
                "wrap the settings in { … }",
            ));
        };
        let mut warnings = Vec::new();
        ctx.warn_unknown(&mut warnings, &raw, TOP_LEVEL_KEYS, "");
        ctx.warn_unknown(&mut warnings, &obj(raw.get("paths")), PATH_KEYS, "paths.");
        ctx.warn_unknown(&mut warnings, &obj(raw.get("roles")), ROLE_KEYS, "roles.");
        ctx.warn_unknown(
            &mut warnings,
            &obj(raw.get("validation")),
            VALIDATION_KEYS,
            "validation.",
        );
        if raw.contains_key("projects") {
            warnings.push(Diagnostic::warning(
                file,
                super::model::Pos::START,
                "`projects` is not supported; the top-level settings and `lanes` are used",
                "move the project's lanes and settings to the top level",
            ));
        }
        let repo_mode_text = match raw.get("repoMode") {
            Some(v) if truthy(Some(v)) => js_trim(&js_string(v)).to_lowercase(),
            _ => "single-repo".to_owned(),
        };
        let repo_mode = match repo_mode_text.as_str() {
            "single-repo" | "" => RepoMode::SingleRepo,
            "multi-lane" => RepoMode::MultiLane,
            other => {
                return Err(ctx.err(
                    format!("unsupported repoMode: {other}"),
                    "use \"single-repo\" or \"multi-lane\"",
                ));
            }
        };
        let default_lane = match raw.get("defaultLane") {
            Some(v) if truthy(Some(v)) => ctx.lane_name(&js_string(v))?,
            _ => DEFAULT_LANE.to_owned(),
        };
        let default_project = match raw.get("defaultProject") {
            Some(v) if truthy(Some(v)) => sanitize_id(&js_string(v)).ok_or_else(|| {
                ctx.err(
                    format!("invalid project id: {}", js_string(v)),
                    "project ids are lowercase letters, digits, `_` and `-`",
                )
            })?,
            _ => DEFAULT_PROJECT.to_owned(),
        };
        let mut lanes = BTreeMap::new();
        for (name, lane) in obj(raw.get("lanes")) {
            let lane_obj = obj(Some(&lane));
            ctx.warn_unknown(
                &mut warnings,
                &lane_obj,
                LANE_KEYS,
                &format!("lanes.{name}."),
            );
            lanes.insert(ctx.lane_name(&name)?, lane_obj);
        }
        let version = raw
            .get("version")
            .and_then(|v| super::executor::js_parse_int(&js_string(v)))
            .filter(|n| *n != 0)
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(1);
        let project_name = raw
            .get("projectName")
            .filter(|v| truthy(Some(v)))
            .map(|v| js_trim(&js_string(v)).to_owned());
        let config = Self {
            version,
            project_name,
            repo_mode,
            default_lane,
            default_project,
            raw,
            lanes,
            warnings,
            file: file.to_owned(),
        };
        // Resolve the default lane once so that errors in shared sections surface here.
        config.lane_profile(None)?;
        Ok(config)
    }

    /// Resolves a lane's profile (`None` = the default lane): top-level settings, then the
    /// `lanes.<lane>` overrides.
    pub fn lane_profile(&self, lane: Option<&str>) -> Result<LaneProfile, PlanError> {
        let ctx = Ctx { file: &self.file };
        let lane = match lane {
            Some(l) => ctx.lane_name(l)?,
            None => self.default_lane.clone(),
        };
        let empty = Map::new();
        let lane_cfg = self.lanes.get(&lane).unwrap_or(&empty);
        let top_paths = obj(self.raw.get("paths"));
        let top_docs = match top_paths.get("docsDir") {
            Some(v) if truthy(Some(v)) => js_string(v),
            _ => "docs".to_owned(),
        };
        let project_docs = ctx.repo_path(&top_docs, "paths.docsDir")?;
        let docs_default = if self.repo_mode == RepoMode::SingleRepo && lane == self.default_lane {
            project_docs.clone()
        } else {
            format!("{project_docs}/{lane}")
        };
        let docs_dir = ctx.path_or(
            lane_cfg.get("docsDir"),
            &docs_default,
            &format!("{lane}.docsDir"),
        )?;
        let plans_dir = ctx.path_or(
            lane_cfg.get("plansDir"),
            &format!("{docs_dir}/plans"),
            &format!("{lane}.plansDir"),
        )?;
        let waves_dir = ctx.path_or(
            lane_cfg.get("wavesDir"),
            &format!("{plans_dir}/waves"),
            &format!("{lane}.wavesDir"),
        )?;
        let project_plans = format!("{project_docs}/plans");
        let top_path = |key: &str, default: &str| -> Result<String, PlanError> {
            let v = lane_cfg
                .get(key)
                .filter(|v| truthy(Some(v)))
                .or(top_paths.get(key));
            ctx.path_or(v, default, &format!("{lane}.{key}"))
        };
        let paths = LanePaths {
            terminals_path: top_path("terminalsPath", ".vscode/terminals.json")?,
            state_root: top_path("stateRoot", ".tmp")?,
            orchestrator_state_dir: top_path("orchestratorStateDir", ".tmp/wave-orchestrator")?,
            context7_bundle_index_path: top_path(
                "context7BundleIndexPath",
                "docs/context7/bundles.json",
            )?,
            benchmark_catalog_path: top_path(
                "benchmarkCatalogPath",
                "docs/evals/benchmark-catalog.json",
            )?,
            component_cutover_matrix_doc_path: top_path(
                "componentCutoverMatrixDocPath",
                &format!("{project_plans}/component-cutover-matrix.md"),
            )?,
            component_cutover_matrix_json_path: top_path(
                "componentCutoverMatrixJsonPath",
                &format!("{project_plans}/component-cutover-matrix.json"),
            )?,
        };
        let shared_plan_docs = match lane_cfg
            .get("sharedPlanDocs")
            .filter(|v| v.is_array())
            .or(self.raw.get("sharedPlanDocs").filter(|v| v.is_array()))
        {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| ctx.repo_path(&js_string(v), &format!("sharedPlanDocs[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
            _ => ["current-state.md", "master-plan.md", "migration.md"]
                .iter()
                .map(|f| format!("{plans_dir}/{f}"))
                .collect(),
        };
        let roles = roles(
            &ctx,
            &merged(&obj(self.raw.get("roles")), &obj(lane_cfg.get("roles"))),
        )?;
        let validation = validation(
            &ctx,
            &merged(
                &obj(self.raw.get("validation")),
                &obj(lane_cfg.get("validation")),
            ),
        )?;
        let executors = executors(
            &ctx,
            &obj(self.raw.get("executors")),
            &obj(lane_cfg.get("executors")),
        )?;
        let mut policy_raw = merged(
            &obj(self.raw.get("runtimePolicy")),
            &obj(lane_cfg.get("runtimePolicy")),
        );
        for key in [
            "runtimeMixTargets",
            "defaultExecutorByRole",
            "fallbackExecutorOrder",
        ] {
            if let Some(v) = lane_cfg.get(key).filter(|v| truthy(Some(v))) {
                policy_raw.insert(key.to_owned(), v.clone());
            }
        }
        let runtime_policy = runtime_policy(&ctx, &policy_raw)?;
        let routing = merged(
            &obj(self.raw.get("capabilityRouting")),
            &obj(lane_cfg.get("capabilityRouting")),
        );
        let preferred_agents = obj(routing.get("preferredAgents"))
            .into_iter()
            .map(|(cap, ids)| {
                let ids = match ids {
                    Value::Array(items) => items
                        .iter()
                        .map(|v| js_trim(&js_string(v)).to_owned())
                        .filter(|s| !s.is_empty() && s != "null")
                        .collect(),
                    _ => Vec::new(),
                };
                (js_trim(&cap).to_lowercase(), ids)
            })
            .collect();
        let skills = merge_skills(self.raw.get("skills"), lane_cfg.get("skills"));
        Ok(LaneProfile {
            lane,
            project_id: self.default_project.clone(),
            docs_dir,
            plans_dir,
            waves_dir,
            shared_plan_docs,
            roles,
            validation,
            executors,
            runtime_policy,
            preferred_agents,
            skills,
            paths,
        })
    }
}

fn roles(ctx: &Ctx<'_>, raw: &Map<String, Value>) -> Result<Roles, PlanError> {
    for (legacy, replacement) in [
        ("evaluatorAgentId", "contQaAgentId"),
        ("evaluatorRolePromptPath", "contQaRolePromptPath"),
    ] {
        if raw.contains_key(legacy) {
            return Err(ctx.err(
                format!("roles.{legacy} was renamed to roles.{replacement}"),
                format!("rename the key to roles.{replacement}"),
            ));
        }
    }
    let id = |key: &str, default: &str| -> String {
        match raw.get(key) {
            Some(v) if truthy(Some(v)) => js_trim(&js_string(v)).to_owned(),
            _ => default.to_owned(),
        }
    };
    let path =
        |key: &str, default: &str| ctx.path_or(raw.get(key), default, &format!("roles.{key}"));
    Ok(Roles {
        role_prompt_dir: path("rolePromptDir", "docs/agents")?,
        cont_qa_agent_id: id("contQaAgentId", "A0"),
        cont_eval_agent_id: id("contEvalAgentId", "E0"),
        integration_agent_id: id("integrationAgentId", "A8"),
        documentation_agent_id: id("documentationAgentId", "A9"),
        cont_qa_role_prompt_path: path("contQaRolePromptPath", "docs/agents/wave-cont-qa-role.md")?,
        cont_eval_role_prompt_path: path(
            "contEvalRolePromptPath",
            "docs/agents/wave-cont-eval-role.md",
        )?,
        integration_role_prompt_path: path(
            "integrationRolePromptPath",
            "docs/agents/wave-integration-role.md",
        )?,
        documentation_role_prompt_path: path(
            "documentationRolePromptPath",
            "docs/agents/wave-documentation-role.md",
        )?,
        security_role_prompt_path: path(
            "securityRolePromptPath",
            "docs/agents/wave-security-role.md",
        )?,
        design_role_prompt_path: path("designRolePromptPath", "docs/agents/wave-design-role.md")?,
    })
}

fn mode_thresholds(v: Option<&Value>) -> ModeThresholds {
    let m = obj(v);
    let get = |k: &str, d: f64| match m.get(k) {
        None | Some(Value::Null) => d,
        Some(v) => v.as_f64().unwrap_or(d),
    };
    ModeThresholds {
        bootstrap: get("bootstrap", 0.0),
        standard: get("standard", 4.0),
        strict: get("strict", 10.0),
    }
}

fn js_bool(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => matches!(
            js_trim(s).to_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        ),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f == 1.0),
        _ => false,
    }
}

fn validation(ctx: &Ctx<'_>, raw: &Map<String, Value>) -> Result<ValidationConfig, PlanError> {
    let refs = match raw.get("requiredPromptReferences") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Null => String::new(),
                other => js_trim(&js_string(other)).to_owned(),
            })
            .filter(|s| !s.is_empty())
            .collect(),
        _ => vec![
            "docs/reference/repository-guidance.md".to_owned(),
            "docs/research/agent-context-sources.md".to_owned(),
        ],
    };
    let auto = obj(raw.get("autoClosure"));
    Ok(ValidationConfig {
        required_prompt_references: refs,
        require_documentation_steward_from_wave: ctx
            .threshold(raw.get("requireDocumentationStewardFromWave"), Some(0))?,
        require_context7_declarations_from_wave: ctx
            .threshold(raw.get("requireContext7DeclarationsFromWave"), Some(6))?,
        require_exit_contracts_from_wave: ctx
            .threshold(raw.get("requireExitContractsFromWave"), Some(6))?,
        require_integration_steward_from_wave: ctx
            .threshold(raw.get("requireIntegrationStewardFromWave"), None)?,
        require_component_promotions_from_wave: ctx
            .threshold(raw.get("requireComponentPromotionsFromWave"), Some(0))?,
        require_agent_components_from_wave: ctx
            .threshold(raw.get("requireAgentComponentsFromWave"), Some(0))?,
        gate_mode_thresholds: mode_thresholds(raw.get("gateModeThresholds")),
        closure_mode_thresholds: mode_thresholds(raw.get("closureModeThresholds")),
        auto_closure: AutoClosure {
            allow_inferred_integration: js_bool(auto.get("allowInferredIntegration")),
            allow_auto_doc_no_change: js_bool(auto.get("allowAutoDocNoChange")),
            allow_auto_doc_projection: js_bool(auto.get("allowAutoDocProjection")),
            allow_skip_cont_qa_in_bootstrap: js_bool(auto.get("allowSkipContQaInBootstrap")),
        },
    })
}

fn executors(
    ctx: &Ctx<'_>,
    top: &Map<String, Value>,
    lane: &Map<String, Value>,
) -> Result<ExecutorsConfig, PlanError> {
    let mut all = merged(top, lane);
    let mut profiles_raw = obj(top.get("profiles"));
    for (k, v) in obj(lane.get("profiles")) {
        profiles_raw.insert(k, v);
    }
    for key in ["codex", "claude", "opencode", "command"] {
        all.insert(
            key.to_owned(),
            Value::Object(merged(&obj(top.get(key)), &obj(lane.get(key)))),
        );
    }
    let default = match all.get("default") {
        Some(v) if truthy(Some(v)) => ctx.executor(v, "executors.default")?,
        _ => ExecutorId::Codex,
    };
    let mut profiles = BTreeMap::new();
    for (name, raw) in profiles_raw {
        let label = format!("executors.profiles.{name}");
        let Value::Object(p) = raw else {
            return Err(ctx.err(
                format!("{label} must be an object"),
                "write the profile as { … }",
            ));
        };
        let id = match p.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v) => Some(ctx.executor(v, &format!("{label}.id"))?),
        };
        let budget_raw = obj(p.get("budget"));
        let turns = ctx.positive_int(budget_raw.get("turns"), &format!("{label}.budget.turns"))?;
        let minutes = ctx.positive_int(
            budget_raw.get("minutes"),
            &format!("{label}.budget.minutes"),
        )?;
        let section = |key: &str| match p.get(key) {
            Some(Value::Object(m)) => Some(m.clone()),
            _ => None,
        };
        if let Some(sandbox) = section("codex").and_then(|c| c.get("sandbox").cloned())
            && truthy(Some(&sandbox))
            && !matches!(
                js_trim(&js_string(&sandbox)).to_lowercase().as_str(),
                "read-only" | "workspace-write" | "danger-full-access"
            )
        {
            return Err(ctx.err(
                format!("{label}.codex.sandbox must be one of: read-only, workspace-write, danger-full-access"),
                "pick one of the three sandbox modes",
            ));
        }
        let model = p
            .get("model")
            .filter(|v| !v.is_null())
            .map(|v| js_trim(&js_string(v)).to_owned())
            .filter(|s| !s.is_empty());
        let tags = match p.get("tags") {
            Some(Value::Array(items)) => items
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| js_trim(&js_string(v)).to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Vec::new(),
        };
        profiles.insert(
            js_trim(&name).to_lowercase(),
            ExecutorProfile {
                id,
                model,
                fallbacks: ctx.executor_list(p.get("fallbacks"), &format!("{label}.fallbacks"))?,
                tags,
                budget: (turns.is_some() || minutes.is_some()).then_some(Budget { turns, minutes }),
                codex: section("codex"),
                claude: section("claude"),
                opencode: section("opencode"),
                command: section("command"),
            },
        );
    }
    for key in ["codex", "claude", "opencode"] {
        let section = obj(all.get(key));
        endpoint_settings(ctx, &section, &format!("executors.{key}"))?;
        for (name, p) in &profiles {
            if let Some(section) = match key {
                "codex" => p.codex.as_ref(),
                "claude" => p.claude.as_ref(),
                _ => p.opencode.as_ref(),
            } {
                endpoint_settings(ctx, section, &format!("executors.profiles.{name}.{key}"))?;
            }
        }
    }
    Ok(ExecutorsConfig {
        default,
        profiles,
        codex: obj(all.get("codex")),
        claude: obj(all.get("claude")),
        opencode: obj(all.get("opencode")),
        command: obj(all.get("command")),
    })
}

/// Checks the model-endpoint settings of one runtime section: `baseUrl` is an `http://` or
/// `https://` URL and `apiKeyEnv` names an environment variable (`^[A-Z_][A-Z0-9_]*$`).
fn endpoint_settings(
    ctx: &Ctx<'_>,
    section: &Map<String, Value>,
    label: &str,
) -> Result<(), PlanError> {
    if let Some(v) = section.get("baseUrl").filter(|v| !v.is_null()) {
        let url = v.as_str().map(js_trim).unwrap_or("");
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            return Err(ctx.err(
                format!("{label}.baseUrl must be an http:// or https:// URL (got: {v})"),
                "write the model endpoint as a URL, e.g. \"https://gateway.example/v1\"",
            ));
        }
    }
    if let Some(v) = section.get("apiKeyEnv").filter(|v| !v.is_null()) {
        let name = v.as_str().unwrap_or("");
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(ctx.err(
                format!("{label}.apiKeyEnv must name an environment variable (got: {v})"),
                "give the variable's name, e.g. \"OPENAI_API_KEY\", never the key itself",
            ));
        }
    }
    Ok(())
}

fn runtime_policy(ctx: &Ctx<'_>, raw: &Map<String, Value>) -> Result<RuntimePolicy, PlanError> {
    let mut targets = BTreeMap::new();
    for (exec, count) in obj(raw.get("runtimeMixTargets")) {
        let id = ctx.executor(
            &Value::String(exec.clone()),
            &format!("runtimeMixTargets.{exec}"),
        )?;
        match super::executor::js_parse_int(&js_string(&count)) {
            Some(n) if n >= 0 => {
                targets.insert(id, u64::try_from(n).unwrap_or(u64::MAX));
            }
            _ => {
                return Err(ctx.err(
                    format!("runtimeMixTargets.{exec} must be a non-negative integer"),
                    "use a whole number of agents (0 or more)",
                ));
            }
        }
    }
    let mut by_role = BTreeMap::new();
    for (role, exec) in obj(raw.get("defaultExecutorByRole")) {
        let role_key = js_trim(&role).to_lowercase();
        if role_key == "evaluator" {
            return Err(ctx.err(
                "defaultExecutorByRole.evaluator was renamed to defaultExecutorByRole.cont-qa",
                "rename the key to cont-qa",
            ));
        }
        by_role.insert(
            role_key,
            ctx.executor(&exec, &format!("defaultExecutorByRole.{role}"))?,
        );
    }
    Ok(RuntimePolicy {
        runtime_mix_targets: targets,
        default_executor_by_role: by_role,
        fallback_executor_order: ctx.executor_list(
            raw.get("fallbackExecutorOrder"),
            "runtimePolicy.fallbackExecutorOrder",
        )?,
    })
}

/// Skills: the lane's lists are appended to the top-level lists (de-duplicated), maps merge by
/// key the same way, and the lane's `dir` wins.
fn merge_skills(top: Option<&Value>, lane: Option<&Value>) -> Value {
    fn union(a: Option<&Value>, b: Option<&Value>) -> Value {
        let mut out: Vec<Value> = Vec::new();
        for v in [a, b].into_iter().flatten() {
            if let Value::Array(items) = v {
                for item in items {
                    if !out.contains(item) {
                        out.push(item.clone());
                    }
                }
            }
        }
        Value::Array(out)
    }
    let top = obj(top);
    let lane = obj(lane);
    let mut out = Map::new();
    let dir = lane
        .get("dir")
        .filter(|v| truthy(Some(v)))
        .or(top.get("dir").filter(|v| truthy(Some(v))))
        .cloned()
        .unwrap_or_else(|| Value::String("skills".to_owned()));
    out.insert("dir".to_owned(), dir);
    out.insert("base".to_owned(), union(top.get("base"), lane.get("base")));
    for key in ["byRole", "byRuntime", "byDeployKind"] {
        let a = obj(top.get(key));
        let b = obj(lane.get(key));
        let mut m = Map::new();
        for k in a.keys().chain(b.keys()) {
            if !m.contains_key(k) {
                m.insert(k.clone(), union(a.get(k), b.get(k)));
            }
        }
        out.insert(key.to_owned(), Value::Object(m));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_means_defaults() {
        let cfg = WaveConfig::parse(None, CONFIG_FILE).unwrap();
        let lane = cfg.lane_profile(None).unwrap();
        assert_eq!(lane.lane, "main");
        assert_eq!(lane.waves_dir, "docs/plans/waves");
        assert_eq!(lane.roles.cont_qa_agent_id, "A0");
        assert_eq!(lane.validation.require_exit_contracts_from_wave, Some(6));
        assert_eq!(lane.validation.require_integration_steward_from_wave, None);
        assert_eq!(lane.executors.default, ExecutorId::Codex);
        assert_eq!(
            lane.paths.component_cutover_matrix_json_path,
            "docs/plans/component-cutover-matrix.json"
        );
        assert_eq!(lane.shared_plan_docs.len(), 3);
    }

    #[test]
    fn lanes_override_and_other_lanes_get_their_own_docs() {
        let text = r#"{
          "validation": {"requireExitContractsFromWave": 2, "surprise": 1},
          "executors": {"profiles": {"Fast": {"id": "claude", "budget": {"minutes": 5}}}},
          "lanes": {"main": {"runtimeMixTargets": {"claude": 1}, "validation": {"requireExitContractsFromWave": null}},
                    "Release": {"executors": {"default": "opencode"}}}
        }"#;
        let cfg = WaveConfig::parse(Some(text), CONFIG_FILE).unwrap();
        assert!(
            cfg.warnings
                .iter()
                .any(|w| w.message.contains("validation.surprise"))
        );
        let main = cfg.lane_profile(None).unwrap();
        assert_eq!(main.validation.require_exit_contracts_from_wave, None);
        assert_eq!(
            main.runtime_policy
                .runtime_mix_targets
                .get(&ExecutorId::Claude),
            Some(&1)
        );
        assert_eq!(main.executors.profiles["fast"].id, Some(ExecutorId::Claude));
        let release = cfg.lane_profile(Some("release")).unwrap();
        assert_eq!(release.waves_dir, "docs/release/plans/waves");
        assert_eq!(release.executors.default, ExecutorId::Opencode);
        assert_eq!(release.validation.require_exit_contracts_from_wave, Some(2));
    }

    #[test]
    fn bad_config_values_are_errors_that_name_the_key() {
        for (text, needle) in [
            (r#"{"repoMode": "mono"}"#, "repoMode"),
            (r#"{"paths": {"docsDir": "../x"}}"#, "paths.docsDir"),
            (r#"{"roles": {"evaluatorAgentId": "A0"}}"#, "renamed"),
            (
                r#"{"validation": {"requireExitContractsFromWave": -1}}"#,
                "threshold",
            ),
            (r#"{"executors": {"default": "gpt"}}"#, "executors.default"),
            (
                r#"{"executors": {"codex": {"baseUrl": "ftp://models"}}}"#,
                "executors.codex.baseUrl must be an http:// or https:// URL",
            ),
            (
                r#"{"executors": {"claude": {"apiKeyEnv": "sk-live-123"}}}"#,
                "executors.claude.apiKeyEnv must name an environment variable",
            ),
            (
                r#"{"lanes": {"main": {"executors": {"opencode": {"baseUrl": 5}}}}}"#,
                "executors.opencode.baseUrl",
            ),
            (
                r#"{"executors": {"profiles": {"p": {"codex": {"apiKeyEnv": "a b"}}}}}"#,
                "executors.profiles.p.codex.apiKeyEnv",
            ),
            (
                r#"{"lanes": {"main": {"runtimeMixTargets": {"codex": -2}}}}"#,
                "runtimeMixTargets",
            ),
            ("{not json", "JSON"),
        ] {
            let err = WaveConfig::parse(Some(text), CONFIG_FILE).unwrap_err();
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn lane_ids_are_sanitized() {
        assert_eq!(sanitize_id(" Release Two "), Some("release-two".to_owned()));
        assert_eq!(sanitize_id("--"), None);
    }
}
