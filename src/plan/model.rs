//! The read-only plan model: what a wave markdown file says, after parsing.
//!
//! Every type here is plain data. Field names serialize with upstream's JSON names
//! (`camelCase`), so a `WavePlan` can be shown as JSON without a translation table. Source
//! positions ([`Pos`]) ride along outside the serialized data so validation can point at the
//! line and column a finding is about.

use std::collections::BTreeMap;

use serde::Serialize;

/// A 1-based line and column (in characters) inside a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
}

impl Pos {
    /// The first character of a file.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

/// An executor (agent runtime) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorId {
    /// OpenAI Codex CLI.
    Codex,
    /// Anthropic Claude Code CLI.
    Claude,
    /// OpenCode CLI.
    Opencode,
    /// The built-in local executor (no model; used for dry runs and tests).
    Local,
    /// Any program (`command.program`): the compiled prompt file is its first argument.
    Command,
}

impl ExecutorId {
    /// Every executor id, in upstream's listing order.
    pub const ALL: [ExecutorId; 4] = [
        ExecutorId::Codex,
        ExecutorId::Claude,
        ExecutorId::Opencode,
        ExecutorId::Local,
    ];

    /// Parses an executor id the way upstream does: trimmed, case-insensitive.
    pub fn parse(value: &str) -> Option<ExecutorId> {
        match crate::plan::text::js_trim(value).to_lowercase().as_str() {
            "codex" => Some(ExecutorId::Codex),
            "claude" => Some(ExecutorId::Claude),
            "opencode" => Some(ExecutorId::Opencode),
            "local" => Some(ExecutorId::Local),
            "command" => Some(ExecutorId::Command),
            _ => None,
        }
    }

    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorId::Codex => "codex",
            ExecutorId::Claude => "claude",
            ExecutorId::Opencode => "opencode",
            ExecutorId::Local => "local",
            ExecutorId::Command => "command",
        }
    }
}

impl std::fmt::Display for ExecutorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a failed agent may be retried on a fallback executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryPolicy {
    /// Always retry on the same executor.
    Sticky,
    /// Retries may move to a fallback executor.
    FallbackAllowed,
}

/// Per-agent budget from `budget.turns` / `budget.minutes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Budget {
    /// Turn budget (advisory for claude/opencode).
    pub turns: Option<u64>,
    /// Wall-clock budget in minutes.
    pub minutes: Option<u64>,
}

/// `codex.*` executor overrides. Only keys present in the plan are `Some`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodexOverrides {
    /// `codex.command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `codex.sandbox`: `read-only`, `workspace-write` or `danger-full-access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// `codex.profile_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    /// `codex.config` (comma list of `k=v`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Vec<String>>,
    /// `codex.search`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<bool>,
    /// `codex.images`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
    /// `codex.add_dirs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_dirs: Option<Vec<String>>,
    /// `codex.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<bool>,
    /// `codex.ephemeral`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral: Option<bool>,
}

/// `claude.*` executor overrides. Only keys present in the plan are `Some`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaudeOverrides {
    /// `claude.command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `claude.agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `claude.permission_mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// `claude.permission_prompt_tool`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission_prompt_tool: Option<String>,
    /// `claude.effort`: `low`, `medium`, `high` or `max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `claude.max_turns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u64>,
    /// `claude.mcp_config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_config: Option<Vec<String>>,
    /// `claude.settings` (a path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<String>,
    /// `claude.settings_json` (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_json: Option<serde_json::Map<String, serde_json::Value>>,
    /// `claude.hooks_json` (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks_json: Option<serde_json::Map<String, serde_json::Value>>,
    /// `claude.allowed_http_hook_urls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_http_hook_urls: Option<Vec<String>>,
    /// `claude.output_format`: `text`, `json` or `stream-json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// `claude.allowed_tools`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// `claude.disallowed_tools`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallowed_tools: Option<Vec<String>>,
}

/// `opencode.*` executor overrides. Only keys present in the plan are `Some`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpencodeOverrides {
    /// `opencode.command`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `opencode.agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// `opencode.attach`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// `opencode.files`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// `opencode.format`: `default` or `json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `opencode.steps`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// `opencode.instructions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Vec<String>>,
    /// `opencode.permission` (any JSON value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<serde_json::Value>,
    /// `opencode.config_json` (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_json: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An agent's `### Executor` section (upstream `executorConfig`).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorConfig {
    /// `id`: the executor to run this agent on.
    pub id: Option<ExecutorId>,
    /// `profile`: a named profile from `executors.profiles` (lowercased).
    pub profile: Option<String>,
    /// `model`.
    pub model: Option<String>,
    /// `fallbacks`: executors to try on retry, in order.
    pub fallbacks: Vec<ExecutorId>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `budget.turns` / `budget.minutes`.
    pub budget: Option<Budget>,
    /// `retry-policy`.
    pub retry_policy: Option<RetryPolicy>,
    /// `allow-fallback-on-retry`.
    pub allow_fallback_on_retry: Option<bool>,
    /// `codex.*` keys.
    pub codex: Option<CodexOverrides>,
    /// `claude.*` keys.
    pub claude: Option<ClaudeOverrides>,
    /// `opencode.*` keys.
    pub opencode: Option<OpencodeOverrides>,
    /// `command.program`: the program the `command` executor runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_program: Option<String>,
}

/// A `### Context7` section or the wave's `## Context7 defaults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Context7Config {
    /// Bundle id (`none` is a valid explicit declaration).
    pub bundle: Option<String>,
    /// Query, compacted to one line of at most 280 characters.
    pub query: Option<String>,
}

/// An agent's `### Exit contract`. Values are kept as written; validation checks them
/// against the ladders when the lane's threshold applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitContract {
    /// `completion`: contract, integrated, authoritative, live.
    pub completion: Option<String>,
    /// `durability`: none, ephemeral, durable.
    pub durability: Option<String>,
    /// `proof`: unit, integration, live.
    pub proof: Option<String>,
    /// `doc-impact`: none, owned, shared-plan.
    pub doc_impact: Option<String>,
}

/// One `### Proof artifacts` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofArtifact {
    /// Repository-relative file path; must be owned by the agent.
    pub path: String,
    /// Free-form kind (`replay-summary`, `live-status`, …).
    pub kind: Option<String>,
    /// Maturity levels this artifact is required for (empty = always).
    pub required_for: Vec<String>,
}

/// One `## Component promotions` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentPromotion {
    /// Component id (lowercase token).
    pub component_id: String,
    /// Target maturity level (checked against the matrix during validation).
    pub target_level: String,
    /// Where the bullet is.
    #[serde(skip)]
    pub pos: Pos,
}

/// One `## Deploy environments` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployEnvironment {
    /// Environment id (lowercased).
    pub id: String,
    /// Deploy kind (lowercased), e.g. `railway-cli`.
    pub kind: String,
    /// The default environment (the first one when none is marked `default`).
    pub is_default: bool,
    /// Text in parentheses after the entry.
    pub notes: Option<String>,
}

/// How an eval target chooses its benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalSelection {
    /// An explicit benchmark list.
    Pinned,
    /// Every benchmark of a family.
    Delegated,
}

/// One `## Eval targets` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalTarget {
    /// Target id (lowercased).
    pub id: String,
    /// Pinned or delegated.
    pub selection: EvalSelection,
    /// Benchmark family (required when delegated).
    pub benchmark_family: Option<String>,
    /// Pinned benchmark ids (required non-empty when pinned).
    pub benchmarks: Vec<String>,
    /// What the target is for.
    pub objective: String,
    /// The pass threshold, free text.
    pub threshold: String,
    /// Where the bullet is.
    #[serde(skip)]
    pub pos: Pos,
}

/// A role prompt an agent imports from the role prompt directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolePrompt {
    /// Repository-relative path as written (quotes stripped).
    pub path: String,
    /// The fenced block under `## Standing prompt` in that file, trimmed.
    pub standing_prompt: String,
    /// Where the bullet is in the wave file.
    pub pos: Pos,
}

/// Positions of an agent's parts, for diagnostics. Lists are parallel to the agent's lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AgentSpans {
    /// The `## Agent <ID>: <Title>` header.
    pub header: Pos,
    /// Each `### <Heading>` subsection found, by heading text.
    pub sections: BTreeMap<String, Pos>,
    /// Each owned path bullet inside the prompt.
    pub owned_paths: Vec<Pos>,
    /// Each `### Components` bullet.
    pub components: Vec<Pos>,
    /// Each `### Deliverables` bullet.
    pub deliverables: Vec<Pos>,
    /// Each `### Proof artifacts` bullet.
    pub proof_artifacts: Vec<Pos>,
}

impl AgentSpans {
    /// The position of a `### <heading>` subsection, else the agent header.
    pub fn section_or_header(&self, heading: &str) -> Pos {
        self.sections.get(heading).copied().unwrap_or(self.header)
    }
}

/// The closure role an agent plays in a wave (spec §1.6). Upstream's wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosureRole {
    /// The lane's cont-EVAL agent (default `E0`).
    ContEval,
    /// A security reviewer (security role prompt or `security-review` capability).
    SecurityReview,
    /// The integration steward (default `A8`).
    Integration,
    /// The documentation steward (default `A9`).
    Documentation,
    /// The cont-QA agent (default `A0`).
    ContQa,
}

impl ClosureRole {
    /// Human label used in messages.
    pub fn label(self) -> &'static str {
        match self {
            ClosureRole::ContEval => "cont-EVAL",
            ClosureRole::SecurityReview => "security review",
            ClosureRole::Integration => "integration steward",
            ClosureRole::Documentation => "documentation steward",
            ClosureRole::ContQa => "cont-QA",
        }
    }
}

/// The runtime role used for executor and skill selection (spec §1.6, last bullet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeRole {
    /// The cont-QA agent.
    ContQa,
    /// The cont-EVAL agent.
    ContEval,
    /// The integration steward.
    Integration,
    /// The documentation steward.
    Documentation,
    /// A design agent.
    Design,
    /// A security reviewer.
    Security,
    /// Capability prefix or title word `infra`.
    Infra,
    /// Capability prefix or title word `deploy`.
    Deploy,
    /// Capability prefix or title word `research`.
    Research,
    /// Everything else.
    Implementation,
}

impl RuntimeRole {
    /// The wire name (`cont-qa`, `implementation`, …), as used in config maps.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeRole::ContQa => "cont-qa",
            RuntimeRole::ContEval => "cont-eval",
            RuntimeRole::Integration => "integration",
            RuntimeRole::Documentation => "documentation",
            RuntimeRole::Design => "design",
            RuntimeRole::Security => "security",
            RuntimeRole::Infra => "infra",
            RuntimeRole::Deploy => "deploy",
            RuntimeRole::Research => "research",
            RuntimeRole::Implementation => "implementation",
        }
    }
}

/// One `## Agent <ID>: <Title>` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// The id before the colon, trimmed (`A0`, `A1`, `E0`, …).
    pub agent_id: String,
    /// The title after the colon, trimmed.
    pub title: String,
    /// `slugify("<wave>-<id>")`: per-agent file stem.
    pub slug: String,
    /// The resolved prompt: standing prompts of the role prompts, then the overlay, joined
    /// with a blank line.
    pub prompt: String,
    /// The fenced block of `### Prompt`, trimmed.
    pub prompt_overlay: String,
    /// Imported role prompts with their standing prompt text, in listed order.
    pub role_prompts: Vec<RolePrompt>,
    /// `### Context7`.
    pub context7: Option<Context7Config>,
    /// `### Exit contract`.
    pub exit_contract: Option<ExitContract>,
    /// `### Executor`.
    pub executor: Option<ExecutorConfig>,
    /// `### Components`.
    pub components: Vec<String>,
    /// The wave's promotion level for each declared component (or `None`).
    pub component_targets: Vec<(String, Option<String>)>,
    /// `### Capabilities`, plus `design` / `security-review` implied by role prompts.
    pub capabilities: Vec<String>,
    /// `### Skills` (lowercased ids).
    pub skills: Vec<String>,
    /// `### Deliverables`.
    pub deliverables: Vec<String>,
    /// `### Proof artifacts`.
    pub proof_artifacts: Vec<ProofArtifact>,
    /// Paths listed under `File ownership` in the prompt overlay, de-duplicated.
    pub owned_paths: Vec<String>,
    /// Source positions.
    pub spans: AgentSpans,
}

impl Agent {
    /// The imported role prompt paths, in listed order.
    pub fn role_prompt_paths(&self) -> Vec<&str> {
        self.role_prompts.iter().map(|r| r.path.as_str()).collect()
    }

    /// True when the agent imports this role prompt path (exact match).
    pub fn imports(&self, path: &str) -> bool {
        self.role_prompts.iter().any(|r| r.path == path)
    }
}

/// A parsed wave file (`<wavesDir>/wave-<n>.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct WavePlan {
    /// Wave number, from the file name.
    pub wave: u64,
    /// Repository-relative path of the file.
    pub file: String,
    /// `**Commit message**: \`...\``.
    pub commit_message: Option<String>,
    /// `## Deploy environments`.
    pub deploy_environments: Vec<DeployEnvironment>,
    /// `## Eval targets`.
    pub eval_targets: Vec<EvalTarget>,
    /// `## Context7 defaults`.
    pub context7_defaults: Option<Context7Config>,
    /// `## Component promotions`.
    pub component_promotions: Vec<ComponentPromotion>,
    /// Agents in document order.
    pub agents: Vec<Agent>,
    /// The cont-QA agent's report path (first matching owned path, else first owned path).
    pub cont_qa_report_path: Option<String>,
    /// The cont-EVAL agent's report path (same rule).
    pub cont_eval_report_path: Option<String>,
    /// Positions of the top-level `## ` sections the parser read, by heading.
    pub section_spans: BTreeMap<String, Pos>,
}

impl WavePlan {
    /// The agent with this id (the first one when ids repeat).
    pub fn agent(&self, agent_id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.agent_id == agent_id)
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The plan is rejected.
    Error,
    /// Worth a look; the plan is still accepted.
    Warning,
}

/// One finding about a plan or config file, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Repository-relative file the finding is about.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Diagnostic {
    /// An error at a position.
    pub fn error(
        file: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            file: file.into(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A warning at a position.
    pub fn warning(
        file: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, pos, message, hint)
        }
    }

    /// The position of the finding.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {sev}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}
