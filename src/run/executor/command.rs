//! Pure launch-spec builders: from a resolved executor and the prompt, log and overlay paths to
//! the exact shell lines an agent process would run (spec §9.3–9.4), plus the overlay files that
//! those lines reference (system prompts, `opencode.json`, `claude-settings.json`).
//!
//! Owns: flag order, defaults and quoting of every executor's command line; the translation of a
//! configured model endpoint (`baseUrl`, `apiKeyEnv`) into what each CLI honours; and, for real
//! runs ([`Isolation`]), the per-run config homes and the switches that turn off telemetry,
//! update checks and other non-essential traffic (see docs/executors.md).
//! Must not: read files, the environment or the clock; paths arrive as already-resolved strings.
//! API keys are only ever referenced by variable name, never held.

use serde::Serialize;
use serde_json::{Map, Value};

use super::shell::quote;

pub use crate::plan::ExecutorId;

/// The default program an executor runs (`local` is built into this binary).
pub fn default_command(id: ExecutorId) -> &'static str {
    match id {
        ExecutorId::Codex => "codex",
        ExecutorId::Claude => "claude",
        ExecutorId::Opencode => "opencode",
        ExecutorId::Local => "wave",
        ExecutorId::Command => "command",
    }
}

/// A model endpoint an agent CLI is pointed at (`executors.<id>.baseUrl` / `apiKeyEnv`, or the
/// `WAVE_<ID>_BASE_URL` override).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL of the model API (OpenAI-style endpoints usually end in `/v1`).
    pub base_url: Option<String>,
    /// Name of the environment variable holding the API key; the value is never read here.
    pub api_key_env: Option<String>,
}

/// Real-run isolation: where the per-run config homes live and who runs the agent. Dry runs pass
/// none and get upstream's command lines unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isolation<'a> {
    /// A throw-away directory for the CLI's config and state (`CODEX_HOME`,
    /// `CLAUDE_CONFIG_DIR`, OpenCode's XDG directories).
    pub home_dir: &'a str,
    /// The agent runs as root (Claude Code then needs `IS_SANDBOX=1` to skip permissions).
    pub running_as_root: bool,
}

/// The provider id this runner registers for a configured endpoint (Codex and OpenCode).
pub const ENDPOINT_PROVIDER: &str = "wave";

/// The model name OpenCode asks a configured endpoint for when no model is configured.
pub const ENDPOINT_DEFAULT_MODEL: &str = "default";

/// A registry address on loopback where nothing listens: OpenCode's start-up plugin install
/// fails at once instead of reaching the public npm registry.
pub const NPM_REGISTRY_SINK: &str = "http://127.0.0.1:9/";

/// Codex options after lane → profile → agent merging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodexOptions {
    /// Program to run (default `codex`).
    pub command: Option<String>,
    /// `--sandbox` mode (default `danger-full-access`).
    pub sandbox: Option<String>,
    /// `--profile` (Codex's own profile name).
    pub profile_name: Option<String>,
    /// `-c key=value` overrides.
    pub config: Vec<String>,
    /// `--image` files.
    pub images: Vec<String>,
    /// `--add-dir` directories.
    pub add_dirs: Vec<String>,
    /// `--json` output.
    pub json: bool,
    /// `--ephemeral` session.
    pub ephemeral: bool,
}

/// Claude options after lane → profile → agent merging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaudeOptions {
    /// Program to run (default `claude`).
    pub command: Option<String>,
    /// Claude-specific model (wins over the executor's model).
    pub model: Option<String>,
    /// `--agent`.
    pub agent: Option<String>,
    /// Replace Claude's system prompt instead of appending to it.
    pub replace_system_prompt: bool,
    /// `--permission-mode` (default `bypassPermissions`).
    pub permission_mode: Option<String>,
    /// `--permission-prompt-tool`.
    pub permission_prompt_tool: Option<String>,
    /// `--effort`.
    pub effort: Option<String>,
    /// `--max-turns`: the hard turn limit.
    pub max_turns: Option<u64>,
    /// Who set `max_turns` (`agent`, `profile:<name>`, `lane`).
    pub max_turns_source: Option<String>,
    /// `--mcp-config` files.
    pub mcp_config: Vec<String>,
    /// `--strict-mcp-config`.
    pub strict_mcp_config: bool,
    /// `--settings` file (base settings when inline settings are merged in).
    pub settings: Option<String>,
    /// Inline settings object merged over the base settings.
    pub settings_json: Option<Value>,
    /// Inline hooks object, written as `{"hooks": …}`.
    pub hooks_json: Option<Value>,
    /// Allowed HTTP hook URLs, written as `{"allowedHttpHookUrls": […]}`.
    pub allowed_http_hook_urls: Vec<String>,
    /// `--output-format` (default `text`).
    pub output_format: Option<String>,
    /// `--allowedTools`.
    pub allowed_tools: Vec<String>,
    /// `--disallowedTools`.
    pub disallowed_tools: Vec<String>,
}

/// OpenCode options after lane → profile → agent merging.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpencodeOptions {
    /// Program to run (default `opencode`).
    pub command: Option<String>,
    /// OpenCode-specific model (wins over the executor's model).
    pub model: Option<String>,
    /// Agent name inside `opencode.json` (default `wave-<agent id>`).
    pub agent: Option<String>,
    /// `--attach` URL.
    pub attach: Option<String>,
    /// `--file` attachments.
    pub files: Vec<String>,
    /// `--format` (default `default`).
    pub format: Option<String>,
    /// `steps`: the hard step limit.
    pub steps: Option<u64>,
    /// Who set `steps`.
    pub steps_source: Option<String>,
    /// Extra instruction entries.
    pub instructions: Vec<String>,
    /// Agent `permission` object.
    pub permission: Option<Value>,
    /// Base `opencode.json` object the generated config is merged over.
    pub config_json: Option<Value>,
}

/// An agent's executor after resolution (spec §9.1): which CLI, which model, which limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedExecutor {
    /// The executor.
    pub id: ExecutorId,
    /// Resolved model (agent > profile > lane).
    pub model: Option<String>,
    /// Wall-clock budget per attempt, in minutes.
    pub budget_minutes: Option<u64>,
    /// Advisory turn budget (never emitted as a flag).
    pub budget_turns: Option<u64>,
    /// Codex options.
    pub codex: CodexOptions,
    /// Claude options.
    pub claude: ClaudeOptions,
    /// OpenCode options.
    pub opencode: OpencodeOptions,
    /// The model endpoint of the selected CLI.
    pub endpoint: Endpoint,
    /// The program of the `command` executor.
    pub command_program: Option<String>,
}

impl ResolvedExecutor {
    /// An executor with no options set.
    pub fn new(id: ExecutorId) -> Self {
        Self {
            id,
            model: None,
            budget_minutes: None,
            budget_turns: None,
            codex: CodexOptions::default(),
            claude: ClaudeOptions::default(),
            opencode: OpencodeOptions::default(),
            endpoint: Endpoint::default(),
            command_program: None,
        }
    }

    /// The program this executor runs; `local_command` names this binary for `local`.
    pub fn command<'a>(&'a self, local_command: &'a str) -> &'a str {
        let configured = match self.id {
            ExecutorId::Codex => self.codex.command.as_deref(),
            ExecutorId::Claude => self.claude.command.as_deref(),
            ExecutorId::Opencode => self.opencode.command.as_deref(),
            ExecutorId::Local => Some(local_command),
            ExecutorId::Command => self.command_program.as_deref(),
        };
        configured
            .filter(|c| !c.trim().is_empty())
            .unwrap_or(default_command(self.id))
    }
}

/// Everything a launch-spec builder needs besides the executor.
#[derive(Debug, Clone)]
pub struct LaunchInput<'a> {
    /// Agent id, e.g. `A1`.
    pub agent_id: &'a str,
    /// Agent title.
    pub title: &'a str,
    /// Absolute path of the compiled prompt file.
    pub prompt_path: &'a str,
    /// Absolute path of the agent log.
    pub log_path: &'a str,
    /// Absolute path of the agent's overlay directory.
    pub overlay_dir: &'a str,
    /// How to invoke this binary for the `local` executor (an absolute path).
    pub local_command: &'a str,
    /// Skill prompt text projected into system prompts (empty when no skills are active).
    pub skill_text: &'a str,
    /// Contents of the base Claude settings file, when one is configured and inline settings
    /// must be merged over it (read by the caller).
    pub claude_base_settings: Option<&'a Value>,
    /// Real-run isolation; `None` for dry runs and previews.
    pub isolation: Option<Isolation<'a>>,
}

/// The `limits` block of a launch preview.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Per-attempt wall-clock cap from `budget.minutes`.
    pub attempt_timeout_minutes: Option<u64>,
    /// The hard turn limit the CLI enforces, when this runner sets one.
    pub known_turn_limit: Option<u64>,
    /// Who set the turn limit.
    pub turn_limit_source: Option<String>,
    /// Explanations for the operator.
    pub notes: Vec<String>,
}

/// A file written into the agent's overlay directory beside the launch preview.
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayFile {
    /// File name inside the overlay directory.
    pub name: &'static str,
    /// Full contents.
    pub contents: String,
}

/// How one agent would be launched: program, environment, shell lines and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchSpec {
    /// The executor.
    pub executor_id: ExecutorId,
    /// The program the lines run.
    pub command: String,
    /// Environment variables exported before the lines, in order.
    pub env: Vec<(String, String)>,
    /// Whether the lines run inside the rate-limit retry loop.
    pub use_rate_limit_retries: bool,
    /// Shell lines, run in order by `bash -lc` from the repository root.
    pub invocation_lines: Vec<String>,
    /// Limits metadata.
    pub limits: Limits,
}

/// A launch spec plus the overlay files its lines reference.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchPlan {
    /// The launch spec.
    pub spec: LaunchSpec,
    /// Overlay files to write before launching.
    pub files: Vec<OverlayFile>,
}

/// Builds the launch plan for one agent.
pub fn build_launch_plan(executor: &ResolvedExecutor, input: &LaunchInput<'_>) -> LaunchPlan {
    let limits = limits_for(executor);
    match executor.id {
        ExecutorId::Codex => codex_plan(executor, input, limits),
        ExecutorId::Claude => claude_plan(executor, input, limits),
        ExecutorId::Opencode => opencode_plan(executor, input, limits),
        ExecutorId::Local => local_plan(executor, input, limits),
        ExecutorId::Command => command_plan(executor, input, limits),
    }
}

/// A TOML basic string (Codex `-c` values are TOML).
fn toml_str(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn home_path(iso: &Isolation<'_>, name: &str) -> String {
    format!("{}/{name}", iso.home_dir.trim_end_matches('/'))
}

/// A per-run `TMPDIR` (the Bun-built CLIs unpack native libraries there on every start).
fn private_tmp(iso: &Isolation<'_>, env: &mut Vec<(String, String)>, lines: &mut Vec<String>) {
    let tmp = home_path(iso, "tmp");
    lines.push(format!("mkdir -p {}", quote(&tmp)));
    env.push(("TMPDIR".to_owned(), tmp));
}

/// `export NAME="${SOURCE:-}"`: copies a key from the variable the operator named, inside the
/// agent's shell, so the value never passes through this runner.
fn export_from(name: &str, source: &str) -> String {
    format!("export {name}=\"${{{source}:-}}\"")
}

/// Claude Code appends `/v1/messages` itself: a configured `…/v1` suffix is dropped.
pub fn anthropic_base_url(base_url: &str) -> String {
    let t = base_url.trim().trim_end_matches('/');
    t.strip_suffix("/v1").unwrap_or(t).to_owned()
}

/// The OpenCode model id for a configured endpoint: `wave/<model>`.
pub fn opencode_endpoint_model(model: &str) -> String {
    format!("{ENDPOINT_PROVIDER}/{model}")
}

/// The harness text given to claude and opencode as (part of) their system prompt.
pub fn harness_system_prompt(executor: ExecutorId, agent_id: &str, title: &str) -> String {
    [
        "You are running inside the Wave orchestration harness.".to_owned(),
        format!("Resolved executor: {}.", executor.as_str()),
        format!("Assigned wave agent: {agent_id} ({title})."),
        "Treat the incoming task prompt as the authoritative assignment.".to_owned(),
        "Preserve structured Wave markers exactly when they are required by the task.".to_owned(),
        "Do not omit or rewrite message-board requirements, exit-contract requirements, or ownership boundaries.".to_owned(),
        "Prefer plain text output unless the task explicitly requires code blocks.".to_owned(),
    ]
    .join("\n")
}

fn push_value(tokens: &mut Vec<String>, flag: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        tokens.push(flag.to_owned());
        tokens.push(quote(v));
    }
}

fn push_each(tokens: &mut Vec<String>, flag: &str, values: &[String]) {
    for v in values.iter().filter(|v| !v.is_empty()) {
        tokens.push(flag.to_owned());
        tokens.push(quote(v));
    }
}

fn unique(lists: &[&[String]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for item in list.iter() {
            let item = item.trim();
            if !item.is_empty() && !out.iter().any(|o| o == item) {
                out.push(item.to_owned());
            }
        }
    }
    out
}

fn codex_plan(ex: &ResolvedExecutor, input: &LaunchInput<'_>, limits: Limits) -> LaunchPlan {
    let o = &ex.codex;
    let command = ex.command(input.local_command).to_owned();
    let mut tokens = vec![
        command.clone(),
        "exec".to_owned(),
        "--dangerously-bypass-approvals-and-sandbox".to_owned(),
        "--skip-git-repo-check".to_owned(),
        "--sandbox".to_owned(),
        quote(
            o.sandbox
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("danger-full-access"),
        ),
    ];
    push_value(&mut tokens, "--model", ex.model.as_deref());
    push_value(&mut tokens, "--profile", o.profile_name.as_deref());
    push_each(&mut tokens, "-c", &o.config);
    let mut env = Vec::new();
    let mut lines = Vec::new();
    if let Some(url) = ex.endpoint.base_url.as_deref() {
        // Codex ignores OPENAI_BASE_URL and accepts only the Responses wire API; a custom
        // provider avoids the built-in one's WebSocket attempts.
        let mut provider = format!(
            "{{name={}, base_url={}, wire_api=\"responses\"",
            toml_str(ENDPOINT_PROVIDER),
            toml_str(url.trim())
        );
        if let Some(key) = ex.endpoint.api_key_env.as_deref() {
            provider.push_str(&format!(", env_key={}", toml_str(key)));
        }
        provider.push('}');
        tokens.push("-c".to_owned());
        tokens.push(quote(&format!("model_provider={ENDPOINT_PROVIDER}")));
        tokens.push("-c".to_owned());
        tokens.push(quote(&format!(
            "model_providers.{ENDPOINT_PROVIDER}={provider}"
        )));
    }
    if let Some(iso) = &input.isolation {
        for c in [
            "analytics.enabled=false",
            "check_for_update_on_startup=false",
        ] {
            tokens.push("-c".to_owned());
            tokens.push(quote(c));
        }
        for feature in ["plugins", "remote_plugin", "apps"] {
            tokens.push("--disable".to_owned());
            tokens.push(feature.to_owned());
        }
        let home = home_path(iso, "codex");
        lines.push(format!("mkdir -p {}", quote(&home)));
        env.push(("CODEX_HOME".to_owned(), home));
    }
    push_each(&mut tokens, "--image", &o.images);
    push_each(&mut tokens, "--add-dir", &unique(&[&o.add_dirs]));
    if o.json {
        tokens.push("--json".to_owned());
    }
    if o.ephemeral {
        tokens.push("--ephemeral".to_owned());
    }
    tokens.push("-".to_owned());
    tokens.push(format!("< {}", quote(input.prompt_path)));
    tokens.push(format!("2>&1 | tee -a {}", quote(input.log_path)));
    lines.push(tokens.join(" "));
    LaunchPlan {
        spec: LaunchSpec {
            executor_id: ExecutorId::Codex,
            command,
            env,
            use_rate_limit_retries: true,
            invocation_lines: lines,
            limits,
        },
        files: Vec::new(),
    }
}

fn overlay_path(input: &LaunchInput<'_>, name: &str) -> String {
    if input.overlay_dir.ends_with('/') {
        format!("{}{name}", input.overlay_dir)
    } else {
        format!("{}/{name}", input.overlay_dir)
    }
}

fn claude_plan(ex: &ResolvedExecutor, input: &LaunchInput<'_>, limits: Limits) -> LaunchPlan {
    let o = &ex.claude;
    let command = ex.command(input.local_command).to_owned();
    let mut files = Vec::new();
    let system_prompt_path = overlay_path(input, "claude-system-prompt.txt");
    let skill_text = input.skill_text.trim();
    let mut system_prompt = harness_system_prompt(ExecutorId::Claude, input.agent_id, input.title);
    if !skill_text.is_empty() {
        system_prompt.push_str("\n\n");
        system_prompt.push_str(skill_text);
    }
    system_prompt.push('\n');
    files.push(OverlayFile {
        name: "claude-system-prompt.txt",
        contents: system_prompt,
    });

    let has_inline =
        o.settings_json.is_some() || o.hooks_json.is_some() || !o.allowed_http_hook_urls.is_empty();
    let settings_path = if has_inline {
        let mut merged = Value::Object(Map::new());
        if let Some(base) = input.claude_base_settings {
            merge_json(&mut merged, base);
        }
        if let Some(inline) = &o.settings_json {
            merge_json(&mut merged, inline);
        }
        if let Some(hooks) = &o.hooks_json {
            merge_json(&mut merged, &serde_json::json!({ "hooks": hooks }));
        }
        if !o.allowed_http_hook_urls.is_empty() {
            merge_json(
                &mut merged,
                &serde_json::json!({ "allowedHttpHookUrls": o.allowed_http_hook_urls }),
            );
        }
        files.push(OverlayFile {
            name: "claude-settings.json",
            contents: pretty_json(&merged),
        });
        Some(overlay_path(input, "claude-settings.json"))
    } else {
        o.settings.clone()
    };

    let mut tokens = vec![
        command.clone(),
        "-p".to_owned(),
        "--no-session-persistence".to_owned(),
    ];
    push_value(
        &mut tokens,
        "--output-format",
        Some(o.output_format.as_deref().unwrap_or("text")),
    );
    push_value(
        &mut tokens,
        "--model",
        o.model.as_deref().or(ex.model.as_deref()),
    );
    push_value(&mut tokens, "--agent", o.agent.as_deref());
    push_value(
        &mut tokens,
        "--permission-mode",
        Some(o.permission_mode.as_deref().unwrap_or("bypassPermissions")),
    );
    push_value(
        &mut tokens,
        "--permission-prompt-tool",
        o.permission_prompt_tool.as_deref(),
    );
    push_value(&mut tokens, "--effort", o.effort.as_deref());
    let max_turns = o.max_turns.map(|n| n.to_string());
    push_value(&mut tokens, "--max-turns", max_turns.as_deref());
    push_each(&mut tokens, "--mcp-config", &o.mcp_config);
    push_value(&mut tokens, "--settings", settings_path.as_deref());
    push_each(&mut tokens, "--allowedTools", &o.allowed_tools);
    push_each(&mut tokens, "--disallowedTools", &o.disallowed_tools);
    if o.strict_mcp_config {
        tokens.push("--strict-mcp-config".to_owned());
    }
    tokens.push(if o.replace_system_prompt {
        "--system-prompt-file".to_owned()
    } else {
        "--append-system-prompt-file".to_owned()
    });
    tokens.push(quote(&system_prompt_path));
    let mut env = Vec::new();
    let mut lines = Vec::new();
    if let Some(url) = ex.endpoint.base_url.as_deref() {
        env.push(("ANTHROPIC_BASE_URL".to_owned(), anthropic_base_url(url)));
    }
    match (ex.endpoint.api_key_env.as_deref(), &ex.endpoint.base_url) {
        (Some("ANTHROPIC_API_KEY"), _) => {}
        (Some(key), _) => lines.push(export_from("ANTHROPIC_API_KEY", key)),
        // A custom endpoint without a configured key: keep any key or token the environment
        // has, else give Claude Code a placeholder so it starts (gateways that authenticate
        // otherwise ignore it).
        (None, Some(_)) => lines.push(
            "if [ -z \"${ANTHROPIC_API_KEY:-}${ANTHROPIC_AUTH_TOKEN:-}\" ]; then export ANTHROPIC_API_KEY=wave-no-key; fi"
                .to_owned(),
        ),
        (None, None) => {}
    }
    if let Some(iso) = &input.isolation {
        private_tmp(iso, &mut env, &mut lines);
        env.push(("CLAUDE_CONFIG_DIR".to_owned(), home_path(iso, "claude")));
        for name in [
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
            "DISABLE_AUTOUPDATER",
            "DISABLE_TELEMETRY",
            "DISABLE_ERROR_REPORTING",
        ] {
            env.push((name.to_owned(), "1".to_owned()));
        }
        if iso.running_as_root {
            // Claude Code refuses to skip permissions as root unless told it is sandboxed.
            env.push(("IS_SANDBOX".to_owned(), "1".to_owned()));
        }
    }
    LaunchPlan {
        spec: LaunchSpec {
            executor_id: ExecutorId::Claude,
            command,
            env,
            use_rate_limit_retries: true,
            invocation_lines: [
                lines,
                vec![format!("task_prompt=$(cat {})", quote(input.prompt_path))],
            ]
            .concat()
            .into_iter()
            .chain([format!(
                "{} \"$task_prompt\" 2>&1 | tee -a {}",
                tokens.join(" "),
                quote(input.log_path)
            )])
            .collect(),
            limits,
        },
        files,
    }
}

/// The OpenCode agent name: configured or `wave-<id>`, lowercased, runs of characters outside
/// `[a-z0-9_-]` and of `-` collapsed to one `-`, leading and trailing `-` trimmed.
pub fn opencode_agent_name(configured: Option<&str>, agent_id: &str) -> String {
    let raw = configured
        .map(str::to_owned)
        .unwrap_or_else(|| format!("wave-{agent_id}"));
    let mut out = String::new();
    for c in raw.trim().to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches('-').to_owned();
    if trimmed.is_empty() {
        format!("wave-{}", agent_id.to_lowercase())
    } else {
        trimmed
    }
}

fn opencode_plan(ex: &ResolvedExecutor, input: &LaunchInput<'_>, limits: Limits) -> LaunchPlan {
    let o = &ex.opencode;
    let command = ex.command(input.local_command).to_owned();
    let agent_name = opencode_agent_name(o.agent.as_deref(), input.agent_id);
    let configured_model = o.model.as_deref().or(ex.model.as_deref());
    // A custom endpoint needs a model of its own provider; without a configured one the
    // endpoint's model is called `default`.
    let configured_model = match (&ex.endpoint.base_url, configured_model) {
        (Some(_), None) => Some(ENDPOINT_DEFAULT_MODEL),
        (_, m) => m,
    };
    let endpoint_model = ex
        .endpoint
        .base_url
        .as_ref()
        .and(configured_model)
        .map(opencode_endpoint_model);
    let model = endpoint_model.as_deref().or(configured_model);

    let mut prompt_agent = Map::new();
    prompt_agent.insert(
        "description".into(),
        Value::String(format!("Wave agent {}: {}", input.agent_id, input.title)),
    );
    prompt_agent.insert("mode".into(), Value::String("primary".into()));
    prompt_agent.insert(
        "prompt".into(),
        Value::String("{file:./opencode-agent-prompt.txt}".into()),
    );
    if let Some(m) = model {
        prompt_agent.insert("model".into(), Value::String(m.to_owned()));
    }
    if let Some(steps) = o.steps {
        prompt_agent.insert("steps".into(), Value::from(steps));
    }
    if let Some(p) = &o.permission {
        prompt_agent.insert("permission".into(), p.clone());
    }

    let base = match &o.config_json {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let base_instructions: Vec<String> = base
        .get("instructions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let skill_instructions: Vec<String> = if input.skill_text.trim().is_empty() {
        Vec::new()
    } else {
        vec![input.skill_text.trim().to_owned()]
    };
    let instructions = unique(&[&base_instructions, &o.instructions, &skill_instructions]);
    let schema = base
        .get("$schema")
        .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        .cloned()
        .unwrap_or_else(|| Value::String("https://opencode.ai/config.json".into()));
    let mut agents = match base.get("agent") {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let mut agent_entry = agents
        .get(&agent_name)
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    merge_json(&mut agent_entry, &Value::Object(prompt_agent));
    agents.insert(agent_name.clone(), agent_entry);

    let mut config = Value::Object(base.clone());
    let mut overlay = Map::new();
    overlay.insert("$schema".into(), schema);
    overlay.insert(
        "instructions".into(),
        Value::Array(instructions.into_iter().map(Value::String).collect()),
    );
    overlay.insert("agent".into(), Value::Object(agents));
    if let Some(url) = ex.endpoint.base_url.as_deref() {
        let mut options = Map::new();
        options.insert("baseURL".into(), Value::String(url.trim().to_owned()));
        if let Some(key) = ex.endpoint.api_key_env.as_deref() {
            options.insert("apiKey".into(), Value::String(format!("{{env:{key}}}")));
        }
        let mut models = Map::new();
        if let Some(m) = configured_model {
            models.insert(m.to_owned(), Value::Object(Map::new()));
        }
        overlay.insert(
            "provider".into(),
            serde_json::json!({ ENDPOINT_PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": ENDPOINT_PROVIDER,
                "options": options,
                "models": models,
            }}),
        );
        if let Some(m) = &endpoint_model {
            overlay.insert("model".into(), Value::String(m.clone()));
            overlay.insert("small_model".into(), Value::String(m.clone()));
        }
    }
    if input.isolation.is_some() {
        overlay.insert("autoupdate".into(), Value::Bool(false));
        overlay.insert("share".into(), Value::String("disabled".into()));
    }
    merge_json(&mut config, &Value::Object(overlay));

    let config_path = overlay_path(input, "opencode.json");
    let files = vec![
        OverlayFile {
            name: "opencode-agent-prompt.txt",
            contents: format!(
                "{}\n",
                harness_system_prompt(ExecutorId::Opencode, input.agent_id, input.title)
            ),
        },
        OverlayFile {
            name: "opencode.json",
            contents: pretty_json(&config),
        },
    ];

    let mut tokens = vec![
        command.clone(),
        "run".to_owned(),
        "--agent".to_owned(),
        quote(&agent_name),
    ];
    push_value(&mut tokens, "--model", model);
    push_value(
        &mut tokens,
        "--format",
        Some(o.format.as_deref().unwrap_or("default")),
    );
    push_value(&mut tokens, "--attach", o.attach.as_deref());
    push_each(&mut tokens, "--file", &unique(&[&o.files]));
    let title = format!("wave-{}", input.agent_id);
    push_value(&mut tokens, "--title", Some(&title));
    let mut env = vec![("OPENCODE_CONFIG".to_owned(), config_path)];
    let mut lines = Vec::new();
    if let Some(iso) = &input.isolation {
        private_tmp(iso, &mut env, &mut lines);
        for (name, dir) in [
            ("XDG_CONFIG_HOME", "opencode/config"),
            ("XDG_DATA_HOME", "opencode/data"),
            ("XDG_CACHE_HOME", "opencode/cache"),
            ("XDG_STATE_HOME", "opencode/state"),
        ] {
            env.push((name.to_owned(), home_path(iso, dir)));
        }
        for name in [
            "OPENCODE_DISABLE_MODELS_FETCH",
            "OPENCODE_DISABLE_AUTOUPDATE",
            "OPENCODE_DISABLE_LSP_DOWNLOAD",
            "OPENCODE_DISABLE_SHARE",
        ] {
            env.push((name.to_owned(), "1".to_owned()));
        }
        // OpenCode installs a plugin from the npm registry at start-up; nothing it needs.
        env.push((
            "npm_config_registry".to_owned(),
            NPM_REGISTRY_SINK.to_owned(),
        ));
    }
    LaunchPlan {
        spec: LaunchSpec {
            executor_id: ExecutorId::Opencode,
            command,
            env,
            use_rate_limit_retries: true,
            invocation_lines: lines
                .into_iter()
                .chain([
                    format!("task_prompt=$(cat {})", quote(input.prompt_path)),
                    format!(
                        "{} \"$task_prompt\" 2>&1 | tee -a {}",
                        tokens.join(" "),
                        quote(input.log_path)
                    ),
                ])
                .collect(),
            limits,
        },
        files,
    }
}

fn local_plan(ex: &ResolvedExecutor, input: &LaunchInput<'_>, limits: Limits) -> LaunchPlan {
    let command = ex.command(input.local_command).to_owned();
    LaunchPlan {
        spec: LaunchSpec {
            executor_id: ExecutorId::Local,
            invocation_lines: vec![format!(
                "{} local --prompt-file {} 2>&1 | tee {}",
                quote(&command),
                quote(input.prompt_path),
                quote(input.log_path)
            )],
            command,
            env: Vec::new(),
            use_rate_limit_retries: false,
            limits,
        },
        files: Vec::new(),
    }
}

fn command_plan(ex: &ResolvedExecutor, input: &LaunchInput<'_>, limits: Limits) -> LaunchPlan {
    let command = ex.command(input.local_command).to_owned();
    LaunchPlan {
        spec: LaunchSpec {
            executor_id: ExecutorId::Command,
            invocation_lines: vec![format!(
                "{} {} 2>&1 | tee {}",
                quote(&command),
                quote(input.prompt_path),
                quote(input.log_path)
            )],
            command,
            env: Vec::new(),
            use_rate_limit_retries: false,
            limits,
        },
        files: Vec::new(),
    }
}

fn limits_for(ex: &ResolvedExecutor) -> Limits {
    let attempt_timeout_minutes = ex.budget_minutes;
    match ex.id {
        ExecutorId::Claude | ExecutorId::Opencode => {
            let (limit, source, flag, name) = if ex.id == ExecutorId::Claude {
                (
                    ex.claude.max_turns,
                    ex.claude.max_turns_source.clone(),
                    "--max-turns",
                    "Claude",
                )
            } else {
                (
                    ex.opencode.steps,
                    ex.opencode.steps_source.clone(),
                    "--steps",
                    "OpenCode",
                )
            };
            let notes = if source.is_none() && ex.budget_turns.is_some() {
                vec![format!(
                    "Generic budget.turns remained advisory; Wave emitted no {name} {flag} flag."
                )]
            } else {
                Vec::new()
            };
            Limits {
                attempt_timeout_minutes,
                known_turn_limit: limit,
                turn_limit_source: source,
                notes,
            }
        }
        ExecutorId::Codex => {
            let via = ex
                .codex
                .profile_name
                .as_deref()
                .map(|p| format!(" via Codex profile {p}"))
                .unwrap_or_default();
            Limits {
                attempt_timeout_minutes,
                known_turn_limit: None,
                turn_limit_source: Some("not-set-by-wave".to_owned()),
                notes: vec![format!(
                    "Wave emits no Codex turn-limit flag; any effective ceiling may come from the selected Codex profile{via} or the upstream Codex runtime."
                )],
            }
        }
        ExecutorId::Local | ExecutorId::Command => Limits {
            attempt_timeout_minutes,
            known_turn_limit: None,
            turn_limit_source: Some("not-applicable".to_owned()),
            notes: vec![if ex.id == ExecutorId::Local {
                "Local executor does not use model turn limits.".to_owned()
            } else {
                "The command executor's program sets its own limits; only the timeout applies."
                    .to_owned()
            }],
        },
    }
}

/// Deep-merges `overlay` into `target`: objects merge key by key (recursively), anything else in
/// `overlay` replaces the value in `target`. Existing keys keep their position.
pub fn merge_json(target: &mut Value, overlay: &Value) {
    match (target, overlay) {
        (Value::Object(t), Value::Object(o)) => {
            for (key, value) in o {
                match t.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge_json(existing, value);
                    }
                    _ => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (t, o) => *t = o.clone(),
    }
}

/// Pretty JSON with a 2-space indent and a trailing newline (the format of every JSON file the
/// runner writes).
pub fn pretty_json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".to_owned());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>() -> LaunchInput<'a> {
        LaunchInput {
            agent_id: "A8",
            title: "Integration Steward",
            prompt_path: "/r/.tmp/p.md",
            log_path: "/r/.tmp/l.log",
            overlay_dir: "/r/.tmp/ov",
            local_command: "/usr/bin/wave",
            skill_text: "",
            claude_base_settings: None,
            isolation: None,
        }
    }

    #[test]
    fn codex_line_orders_flags_and_reads_the_prompt_from_stdin() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Codex);
        ex.model = Some("gpt-5-codex".into());
        ex.codex.profile_name = Some("review".into());
        ex.codex.json = true;
        ex.codex.add_dirs = vec!["docs".into(), "docs".into(), "scripts".into()];
        let plan = build_launch_plan(&ex, &input());
        assert_eq!(
            plan.spec.invocation_lines,
            vec![
                "codex exec --dangerously-bypass-approvals-and-sandbox --skip-git-repo-check \
                 --sandbox 'danger-full-access' --model 'gpt-5-codex' --profile 'review' \
                 --add-dir 'docs' --add-dir 'scripts' --json - < '/r/.tmp/p.md' 2>&1 | tee -a \
                 '/r/.tmp/l.log'"
            ]
        );
        assert_eq!(
            plan.spec.limits.turn_limit_source.as_deref(),
            Some("not-set-by-wave")
        );
        assert!(plan.spec.limits.notes[0].contains("via Codex profile review"));
        assert!(plan.files.is_empty());
    }

    #[test]
    fn claude_writes_system_prompt_and_merged_settings() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Claude);
        ex.model = Some("claude-sonnet-4-6".into());
        ex.claude.settings_json = Some(serde_json::json!({"permissions": {"allow": ["Read"]}}));
        ex.claude.hooks_json = Some(serde_json::json!({"Stop": []}));
        let plan = build_launch_plan(&ex, &input());
        assert_eq!(
            plan.spec.invocation_lines[0],
            "task_prompt=$(cat '/r/.tmp/p.md')"
        );
        assert_eq!(
            plan.spec.invocation_lines[1],
            "claude -p --no-session-persistence --output-format 'text' --model \
             'claude-sonnet-4-6' --permission-mode 'bypassPermissions' --settings \
             '/r/.tmp/ov/claude-settings.json' --append-system-prompt-file \
             '/r/.tmp/ov/claude-system-prompt.txt' \"$task_prompt\" 2>&1 | tee -a '/r/.tmp/l.log'"
        );
        let names: Vec<_> = plan.files.iter().map(|f| f.name).collect();
        assert_eq!(names, ["claude-system-prompt.txt", "claude-settings.json"]);
        assert!(
            plan.files[0]
                .contents
                .starts_with("You are running inside the Wave")
        );
        assert!(
            plan.files[0]
                .contents
                .contains("Assigned wave agent: A8 (Integration Steward).")
        );
        let settings: Value = serde_json::from_str(&plan.files[1].contents).unwrap();
        assert_eq!(
            settings,
            serde_json::json!({"permissions": {"allow": ["Read"]}, "hooks": {"Stop": []}})
        );
    }

    #[test]
    fn opencode_config_keeps_base_instructions_and_names_the_agent() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Opencode);
        ex.opencode.files = vec!["README.md".into()];
        ex.opencode.config_json = Some(serde_json::json!({"instructions": ["Be brief."]}));
        let plan = build_launch_plan(&ex, &input());
        assert_eq!(
            plan.spec.env,
            vec![(
                "OPENCODE_CONFIG".to_owned(),
                "/r/.tmp/ov/opencode.json".to_owned()
            )]
        );
        assert!(plan.spec.invocation_lines[1].starts_with(
            "opencode run --agent 'wave-a8' --format 'default' --file 'README.md' --title 'wave-A8' \"$task_prompt\""
        ));
        let config: Value = serde_json::from_str(&plan.files[1].contents).unwrap();
        assert_eq!(
            config,
            serde_json::json!({
                "instructions": ["Be brief."],
                "$schema": "https://opencode.ai/config.json",
                "agent": {"wave-a8": {
                    "description": "Wave agent A8: Integration Steward",
                    "mode": "primary",
                    "prompt": "{file:./opencode-agent-prompt.txt}"
                }}
            })
        );
    }

    #[test]
    fn local_invokes_this_binary_without_rate_limit_retries() {
        let ex = ResolvedExecutor::new(ExecutorId::Local);
        let mut inp = input();
        inp.local_command = "/opt/my tools/wave";
        let plan = build_launch_plan(&ex, &inp);
        assert_eq!(
            plan.spec.invocation_lines,
            vec![
                "'/opt/my tools/wave' local --prompt-file '/r/.tmp/p.md' 2>&1 | tee '/r/.tmp/l.log'"
            ]
        );
        assert!(!plan.spec.use_rate_limit_retries);
        assert_eq!(
            plan.spec.limits.turn_limit_source.as_deref(),
            Some("not-applicable")
        );
    }

    fn isolated<'a>() -> LaunchInput<'a> {
        let mut i = input();
        i.isolation = Some(Isolation {
            home_dir: "/r/.tmp/ov/home",
            running_as_root: true,
        });
        i
    }

    fn env_of(plan: &LaunchPlan, name: &str) -> Option<String> {
        plan.spec
            .env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    #[test]
    fn codex_endpoint_is_a_responses_provider_and_isolation_turns_traffic_off() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Codex);
        ex.model = Some("m1".into());
        ex.endpoint = Endpoint {
            base_url: Some("http://127.0.0.1:4000/v1".into()),
            api_key_env: Some("GATEWAY_KEY".into()),
        };
        let plan = build_launch_plan(&ex, &isolated());
        assert_eq!(
            plan.spec.invocation_lines[0],
            "mkdir -p '/r/.tmp/ov/home/codex'"
        );
        let line = &plan.spec.invocation_lines[1];
        assert!(
            line.contains(
                "-c 'model_provider=wave' -c 'model_providers.wave={name=\"wave\", \
                 base_url=\"http://127.0.0.1:4000/v1\", wire_api=\"responses\", \
                 env_key=\"GATEWAY_KEY\"}'"
            ),
            "{line}"
        );
        assert!(
            line.contains(
                "-c 'analytics.enabled=false' -c 'check_for_update_on_startup=false' \
                 --disable plugins --disable remote_plugin --disable apps - < '/r/.tmp/p.md'"
            ),
            "{line}"
        );
        assert_eq!(
            env_of(&plan, "CODEX_HOME").as_deref(),
            Some("/r/.tmp/ov/home/codex")
        );
        // Without isolation (dry runs) the line is upstream's plus the endpoint only.
        let dry = build_launch_plan(&ex, &input());
        assert_eq!(dry.spec.invocation_lines.len(), 1);
        assert!(!dry.spec.invocation_lines[0].contains("--disable"));
        assert!(dry.spec.env.is_empty());
    }

    #[test]
    fn claude_endpoint_drops_v1_and_copies_the_key_by_name() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Claude);
        ex.endpoint = Endpoint {
            base_url: Some("https://gw.example/v1/".into()),
            api_key_env: Some("GATEWAY_KEY".into()),
        };
        let plan = build_launch_plan(&ex, &isolated());
        assert_eq!(
            env_of(&plan, "ANTHROPIC_BASE_URL").as_deref(),
            Some("https://gw.example")
        );
        assert_eq!(
            plan.spec.invocation_lines[0],
            "export ANTHROPIC_API_KEY=\"${GATEWAY_KEY:-}\""
        );
        assert_eq!(
            plan.spec.invocation_lines[1],
            "mkdir -p '/r/.tmp/ov/home/tmp'"
        );
        assert!(plan.spec.invocation_lines[2].starts_with("task_prompt=$(cat"));
        for (k, v) in [
            ("CLAUDE_CONFIG_DIR", "/r/.tmp/ov/home/claude"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            ("IS_SANDBOX", "1"),
            ("TMPDIR", "/r/.tmp/ov/home/tmp"),
        ] {
            assert_eq!(env_of(&plan, k).as_deref(), Some(v), "{k}");
        }
        let mut not_root = isolated();
        not_root.isolation = Some(Isolation {
            home_dir: "/h",
            running_as_root: false,
        });
        assert_eq!(
            env_of(&build_launch_plan(&ex, &not_root), "IS_SANDBOX"),
            None
        );
        // No key value anywhere: only the variable's name.
        assert!(!format!("{plan:?}").contains("sk-"));
        // A custom endpoint without a key variable keeps the environment's key, else a
        // placeholder.
        ex.endpoint.api_key_env = None;
        let plan = build_launch_plan(&ex, &isolated());
        assert_eq!(
            plan.spec.invocation_lines[0],
            "if [ -z \"${ANTHROPIC_API_KEY:-}${ANTHROPIC_AUTH_TOKEN:-}\" ]; then export ANTHROPIC_API_KEY=wave-no-key; fi"
        );
    }

    #[test]
    fn opencode_endpoint_becomes_a_provider_in_the_config() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Opencode);
        ex.model = Some("m2".into());
        ex.endpoint = Endpoint {
            base_url: Some("http://127.0.0.1:4000/v1".into()),
            api_key_env: Some("GATEWAY_KEY".into()),
        };
        let plan = build_launch_plan(&ex, &isolated());
        assert_eq!(
            plan.spec.invocation_lines[0],
            "mkdir -p '/r/.tmp/ov/home/tmp'"
        );
        assert!(
            plan.spec.invocation_lines[2].contains("--model 'wave/m2'"),
            "{}",
            plan.spec.invocation_lines[2]
        );
        let config: Value = serde_json::from_str(&plan.files[1].contents).unwrap();
        assert_eq!(config["model"], "wave/m2");
        assert_eq!(config["small_model"], "wave/m2");
        assert_eq!(config["agent"]["wave-a8"]["model"], "wave/m2");
        assert_eq!(
            config["provider"]["wave"]["options"],
            serde_json::json!({"baseURL": "http://127.0.0.1:4000/v1", "apiKey": "{env:GATEWAY_KEY}"})
        );
        assert_eq!(
            config["provider"]["wave"]["models"],
            serde_json::json!({"m2": {}})
        );
        assert_eq!(config["autoupdate"], false);
        assert_eq!(config["share"], "disabled");
        assert_eq!(
            env_of(&plan, "npm_config_registry").as_deref(),
            Some(NPM_REGISTRY_SINK)
        );
        assert_eq!(
            env_of(&plan, "XDG_DATA_HOME").as_deref(),
            Some("/r/.tmp/ov/home/opencode/data")
        );
        assert_eq!(
            env_of(&plan, "OPENCODE_DISABLE_MODELS_FETCH").as_deref(),
            Some("1")
        );
        ex.model = None;
        let plan = build_launch_plan(&ex, &isolated());
        let config: Value = serde_json::from_str(&plan.files[1].contents).unwrap();
        assert_eq!(config["model"], "wave/default");
        assert_eq!(
            config["provider"]["wave"]["models"],
            serde_json::json!({"default": {}})
        );
    }

    #[test]
    fn command_runs_the_program_with_the_prompt_file() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Command);
        ex.command_program = Some("scripts/my agent.sh".into());
        let plan = build_launch_plan(&ex, &input());
        assert_eq!(
            plan.spec.invocation_lines,
            vec!["'scripts/my agent.sh' '/r/.tmp/p.md' 2>&1 | tee '/r/.tmp/l.log'"]
        );
        assert!(!plan.spec.use_rate_limit_retries);
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn agent_names_are_sanitized() {
        assert_eq!(opencode_agent_name(Some("  My Agent!! "), "A1"), "my-agent");
        assert_eq!(opencode_agent_name(Some("!!!"), "A1"), "wave-a1");
        assert_eq!(opencode_agent_name(None, "A1"), "wave-a1");
    }

    #[test]
    fn advisory_turn_budget_is_noted_for_claude() {
        let mut ex = ResolvedExecutor::new(ExecutorId::Claude);
        ex.budget_turns = Some(12);
        ex.budget_minutes = Some(30);
        let plan = build_launch_plan(&ex, &input());
        assert_eq!(plan.spec.limits.attempt_timeout_minutes, Some(30));
        assert_eq!(
            plan.spec.limits.notes,
            vec![
                "Generic budget.turns remained advisory; Wave emitted no Claude --max-turns flag."
            ]
        );
    }
}
