//! `wave.config.json` (spec §11): the project config and the per-lane profile resolved from it.
//!
//! Owns: parsing the config text (a missing file means all defaults), upstream's defaults,
//! lane resolution (top level, then `lanes.<lane>`), and unknown-key warnings.
//! Must not: read files (the caller passes the text) or the environment.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{Budget, Diagnostic, ExecutorId};

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
