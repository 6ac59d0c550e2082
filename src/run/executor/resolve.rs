//! Per-agent resolution for launching: an agent's executor after lane → profile → agent merging
//! (spec §9.1), with the CLI `--executor` default in its place in the precedence. Role
//! recognition (spec §1.6) is the plan layer's; it is re-exported here for the launcher.
//!
//! Owns: mapping the plan model and lane profile to a [`ResolvedExecutor`]. Must not: do I/O.

use serde_json::{Map, Value};

use super::command::{ClaudeOptions, CodexOptions, Endpoint, OpencodeOptions, ResolvedExecutor};
use crate::plan::roles;
use crate::plan::{Agent, ExecutorId, LaneProfile};

pub use crate::plan::runtime_role;

/// True when the agent is a security reviewer (security role prompt or `security-review`).
pub fn is_security_reviewer(agent: &Agent, lane: &LaneProfile) -> bool {
    roles::is_security_reviewer(agent, lane)
}

/// True when the agent is a design steward (design role prompt or `design` capability).
pub fn is_design_agent(agent: &Agent, lane: &LaneProfile) -> bool {
    roles::is_design_agent(agent, lane)
}

/// True when a design agent also owns paths that are not design packets.
pub fn is_hybrid_design_agent(agent: &Agent, lane: &LaneProfile) -> bool {
    roles::is_implementation_owning_design_agent(agent, lane)
}

/// The design packet path a design agent owns, if any.
pub fn design_packet_path(agent: &Agent) -> Option<String> {
    roles::design_report_path(agent)
}

/// True when the cont-EVAL agent owns files other than its report.
pub fn is_cont_eval_implementation_owning(agent: &Agent, lane: &LaneProfile) -> bool {
    roles::is_cont_eval_implementation_owning(agent, lane)
}

/// Why an executor could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The agent names a profile the lane does not define.
    #[error("agent {agent} references unknown executor profile \"{profile}\"")]
    UnknownProfile {
        /// Agent id.
        agent: String,
        /// Profile name.
        profile: String,
    },
}

fn s(map: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    map.and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn b(map: Option<&Map<String, Value>>, key: &str) -> Option<bool> {
    map.and_then(|m| m.get(key)).and_then(Value::as_bool)
}

fn n(map: Option<&Map<String, Value>>, key: &str) -> Option<u64> {
    map.and_then(|m| m.get(key)).and_then(Value::as_u64)
}

fn list(map: Option<&Map<String, Value>>, key: &str) -> Vec<String> {
    match map.and_then(|m| m.get(key)) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
        Some(Value::String(v)) => v
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn obj(map: Option<&Map<String, Value>>, key: &str) -> Option<Value> {
    map.and_then(|m| m.get(key))
        .filter(|v| v.is_object())
        .cloned()
}

fn merged(lists: [Vec<String>; 3]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in lists.into_iter().flatten() {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Resolves an agent's executor. `cli_default` is `--executor` when given.
pub fn resolve_executor(
    agent: &Agent,
    lane: &LaneProfile,
    cli_default: Option<ExecutorId>,
) -> Result<ResolvedExecutor, ResolveError> {
    let config = agent.executor.as_ref();
    let profile_name = config.and_then(|c| c.profile.clone());
    let profile =
        match &profile_name {
            Some(name) => Some(lane.executors.profiles.get(name).ok_or_else(|| {
                ResolveError::UnknownProfile {
                    agent: agent.agent_id.clone(),
                    profile: name.clone(),
                }
            })?),
            None => None,
        };
    let role = runtime_role(agent, lane);
    let id = config
        .and_then(|c| c.id)
        .or(profile.and_then(|p| p.id))
        .or_else(|| {
            lane.runtime_policy
                .default_executor_by_role
                .get(role.as_str())
                .copied()
        })
        .or(cli_default)
        .unwrap_or(lane.executors.default);

    let lane_codex = Some(&lane.executors.codex);
    let lane_claude = Some(&lane.executors.claude);
    let lane_opencode = Some(&lane.executors.opencode);
    let prof_codex = profile.and_then(|p| p.codex.as_ref());
    let prof_claude = profile.and_then(|p| p.claude.as_ref());
    let prof_opencode = profile.and_then(|p| p.opencode.as_ref());
    let ag_codex = config.and_then(|c| c.codex.as_ref());
    let ag_claude = config.and_then(|c| c.claude.as_ref());
    let ag_opencode = config.and_then(|c| c.opencode.as_ref());

    let model = config
        .and_then(|c| c.model.clone())
        .or_else(|| profile.and_then(|p| p.model.clone()))
        .or_else(|| match id {
            ExecutorId::Claude => s(lane_claude, "model"),
            ExecutorId::Opencode => s(lane_opencode, "model"),
            _ => None,
        });
    let budget = config.and_then(|c| c.budget);
    let prof_budget = profile.and_then(|p| p.budget);
    let budget_minutes = budget
        .and_then(|x| x.minutes)
        .or(prof_budget.and_then(|x| x.minutes));
    let budget_turns = budget
        .and_then(|x| x.turns)
        .or(prof_budget.and_then(|x| x.turns));

    let codex = CodexOptions {
        command: ag_codex
            .and_then(|c| c.command.clone())
            .or_else(|| s(prof_codex, "command"))
            .or_else(|| s(lane_codex, "command")),
        sandbox: ag_codex
            .and_then(|c| c.sandbox.clone())
            .or_else(|| s(prof_codex, "sandbox"))
            .or_else(|| s(lane_codex, "sandbox")),
        profile_name: ag_codex
            .and_then(|c| c.profile_name.clone())
            .or_else(|| s(prof_codex, "profileName"))
            .or_else(|| s(lane_codex, "profileName")),
        config: merged([
            list(lane_codex, "config"),
            list(prof_codex, "config"),
            ag_codex.and_then(|c| c.config.clone()).unwrap_or_default(),
        ]),
        images: merged([
            list(lane_codex, "images"),
            list(prof_codex, "images"),
            ag_codex.and_then(|c| c.images.clone()).unwrap_or_default(),
        ]),
        add_dirs: merged([
            list(lane_codex, "addDirs"),
            list(prof_codex, "addDirs"),
            ag_codex
                .and_then(|c| c.add_dirs.clone())
                .unwrap_or_default(),
        ]),
        json: ag_codex
            .and_then(|c| c.json)
            .or(b(prof_codex, "json"))
            .or(b(lane_codex, "json"))
            .unwrap_or(false),
        ephemeral: ag_codex
            .and_then(|c| c.ephemeral)
            .or(b(prof_codex, "ephemeral"))
            .or(b(lane_codex, "ephemeral"))
            .unwrap_or(false),
    };

    let claude_max_turns = ag_claude
        .and_then(|c| c.max_turns)
        .or(n(prof_claude, "maxTurns"))
        .or(n(lane_claude, "maxTurns"));
    let pick = |agent_value: Option<String>, key: &str| {
        agent_value
            .or_else(|| s(prof_claude, key))
            .or_else(|| s(lane_claude, key))
    };
    let claude = ClaudeOptions {
        command: pick(ag_claude.and_then(|c| c.command.clone()), "command"),
        model: if id == ExecutorId::Claude {
            model.clone().or_else(|| s(lane_claude, "model"))
        } else {
            s(lane_claude, "model")
        },
        agent: pick(ag_claude.and_then(|c| c.agent.clone()), "agent"),
        replace_system_prompt: s(prof_claude, "appendSystemPromptMode")
            .or_else(|| s(lane_claude, "appendSystemPromptMode"))
            .is_some_and(|m| m == "replace"),
        permission_mode: pick(
            ag_claude.and_then(|c| c.permission_mode.clone()),
            "permissionMode",
        ),
        permission_prompt_tool: pick(
            ag_claude.and_then(|c| c.permission_prompt_tool.clone()),
            "permissionPromptTool",
        ),
        effort: pick(ag_claude.and_then(|c| c.effort.clone()), "effort"),
        max_turns: claude_max_turns,
        max_turns_source: claude_max_turns.map(|_| "claude.maxTurns".to_owned()),
        mcp_config: merged([
            list(lane_claude, "mcpConfig"),
            list(prof_claude, "mcpConfig"),
            ag_claude
                .and_then(|c| c.mcp_config.clone())
                .unwrap_or_default(),
        ]),
        strict_mcp_config: b(prof_claude, "strictMcpConfig")
            .or(b(lane_claude, "strictMcpConfig"))
            .unwrap_or(false),
        settings: pick(ag_claude.and_then(|c| c.settings.clone()), "settings"),
        settings_json: ag_claude
            .and_then(|c| c.settings_json.clone().map(Value::Object))
            .or_else(|| obj(prof_claude, "settingsJson"))
            .or_else(|| obj(lane_claude, "settingsJson")),
        hooks_json: ag_claude
            .and_then(|c| c.hooks_json.clone().map(Value::Object))
            .or_else(|| obj(prof_claude, "hooksJson"))
            .or_else(|| obj(lane_claude, "hooksJson")),
        allowed_http_hook_urls: merged([
            list(lane_claude, "allowedHttpHookUrls"),
            list(prof_claude, "allowedHttpHookUrls"),
            ag_claude
                .and_then(|c| c.allowed_http_hook_urls.clone())
                .unwrap_or_default(),
        ]),
        output_format: pick(
            ag_claude.and_then(|c| c.output_format.clone()),
            "outputFormat",
        ),
        allowed_tools: merged([
            list(lane_claude, "allowedTools"),
            list(prof_claude, "allowedTools"),
            ag_claude
                .and_then(|c| c.allowed_tools.clone())
                .unwrap_or_default(),
        ]),
        disallowed_tools: merged([
            list(lane_claude, "disallowedTools"),
            list(prof_claude, "disallowedTools"),
            ag_claude
                .and_then(|c| c.disallowed_tools.clone())
                .unwrap_or_default(),
        ]),
    };

    let steps = ag_opencode
        .and_then(|c| c.steps)
        .or(n(prof_opencode, "steps"))
        .or(n(lane_opencode, "steps"));
    let pick_oc = |agent_value: Option<String>, key: &str| {
        agent_value
            .or_else(|| s(prof_opencode, key))
            .or_else(|| s(lane_opencode, key))
    };
    let opencode = OpencodeOptions {
        command: pick_oc(ag_opencode.and_then(|c| c.command.clone()), "command"),
        model: if id == ExecutorId::Opencode {
            model.clone().or_else(|| s(lane_opencode, "model"))
        } else {
            s(lane_opencode, "model")
        },
        agent: pick_oc(ag_opencode.and_then(|c| c.agent.clone()), "agent"),
        attach: pick_oc(ag_opencode.and_then(|c| c.attach.clone()), "attach"),
        files: merged([
            list(lane_opencode, "files"),
            list(prof_opencode, "files"),
            ag_opencode
                .and_then(|c| c.files.clone())
                .unwrap_or_default(),
        ]),
        format: pick_oc(ag_opencode.and_then(|c| c.format.clone()), "format"),
        steps,
        steps_source: steps.map(|_| "opencode.steps".to_owned()),
        instructions: merged([
            list(lane_opencode, "instructions"),
            list(prof_opencode, "instructions"),
            ag_opencode
                .and_then(|c| c.instructions.clone())
                .unwrap_or_default(),
        ]),
        permission: ag_opencode
            .and_then(|c| c.permission.clone())
            .or_else(|| prof_opencode.and_then(|m| m.get("permission").cloned()))
            .or_else(|| lane_opencode.and_then(|m| m.get("permission").cloned())),
        config_json: ag_opencode
            .and_then(|c| c.config_json.clone().map(Value::Object))
            .or_else(|| obj(prof_opencode, "configJson"))
            .or_else(|| obj(lane_opencode, "configJson")),
    };

    let (lane_section, prof_section) = match id {
        ExecutorId::Codex => (lane_codex, prof_codex),
        ExecutorId::Claude => (lane_claude, prof_claude),
        ExecutorId::Opencode => (lane_opencode, prof_opencode),
        ExecutorId::Local | ExecutorId::Command => (None, None),
    };
    let endpoint = Endpoint {
        base_url: s(prof_section, "baseUrl").or_else(|| s(lane_section, "baseUrl")),
        api_key_env: s(prof_section, "apiKeyEnv").or_else(|| s(lane_section, "apiKeyEnv")),
    };
    let command_program = crate::plan::command_program(agent, lane);

    Ok(ResolvedExecutor {
        id,
        model,
        budget_minutes,
        budget_turns,
        codex,
        claude,
        opencode,
        endpoint,
        command_program,
    })
}

/// One agent CLI's overrides from the environment: `WAVE_<ID>_COMMAND` (the program) and
/// `WAVE_<ID>_BASE_URL` (the model endpoint). Read by the settings module, applied here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOverride {
    /// The program to run instead of the configured one.
    pub command: Option<String>,
    /// The model endpoint to use instead of the configured one.
    pub base_url: Option<String>,
}

/// The environment overrides of the three agent CLIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvOverrides {
    /// `WAVE_CODEX_COMMAND`, `WAVE_CODEX_BASE_URL`.
    pub codex: CliOverride,
    /// `WAVE_CLAUDE_COMMAND`, `WAVE_CLAUDE_BASE_URL`.
    pub claude: CliOverride,
    /// `WAVE_OPENCODE_COMMAND`, `WAVE_OPENCODE_BASE_URL`.
    pub opencode: CliOverride,
}

impl EnvOverrides {
    /// Reads the overrides through the settings (the only reader of the environment).
    pub fn from_settings(settings: &crate::settings::Settings) -> Self {
        let one = |id: &str| {
            let (command, base_url) = settings.agent_cli_override(id);
            CliOverride { command, base_url }
        };
        Self {
            codex: one("codex"),
            claude: one("claude"),
            opencode: one("opencode"),
        }
    }

    /// Applies the overrides to a resolved executor: the environment wins over configuration.
    pub fn apply(&self, ex: &mut ResolvedExecutor) {
        let (o, command) = match ex.id {
            ExecutorId::Codex => (&self.codex, &mut ex.codex.command),
            ExecutorId::Claude => (&self.claude, &mut ex.claude.command),
            ExecutorId::Opencode => (&self.opencode, &mut ex.opencode.command),
            ExecutorId::Local | ExecutorId::Command => return,
        };
        if let Some(c) = &o.command {
            *command = Some(c.clone());
        }
        if let Some(u) = &o.base_url {
            ex.endpoint.base_url = Some(u.clone());
        }
    }
}

/// Names of every variable the lane's executors take API keys from (`apiKeyEnv` of each
/// runtime section and profile), for masking agent logs.
pub fn api_key_env_names(lane: &LaneProfile) -> Vec<String> {
    let e = &lane.executors;
    let mut sections: Vec<&Map<String, Value>> = vec![&e.codex, &e.claude, &e.opencode];
    for p in e.profiles.values() {
        sections.extend([&p.codex, &p.claude, &p.opencode].into_iter().flatten());
    }
    let mut out: Vec<String> = Vec::new();
    for name in sections.into_iter().filter_map(|m| s(Some(m), "apiKeyEnv")) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::WaveConfig;

    fn lane(config: &str) -> LaneProfile {
        WaveConfig::parse(Some(config), "wave.config.json")
            .unwrap()
            .lane_profile(None)
            .unwrap()
    }

    /// Agent A1 of a one-agent wave with the given `### Executor` lines.
    fn agent(lane: &LaneProfile, executor: &str) -> Agent {
        let text = format!(
            "# Wave 1\n\n## Agent A1: Worker\n\n### Executor\n\n{executor}\n### Prompt\n\
             ```text\nWork.\n\nFile ownership:\n- src/a.rs\n```\n"
        );
        let prompts = std::collections::BTreeMap::new();
        let ctx = crate::plan::ParseContext {
            lane,
            role_prompts: &prompts,
        };
        let parsed = crate::plan::parse_wave(&text, "docs/plans/waves/wave-1.md", &ctx).unwrap();
        parsed.plan.agents.into_iter().next().unwrap()
    }

    #[test]
    fn endpoints_come_from_the_profile_then_the_lane_then_the_environment() {
        let lane = lane(
            r#"{"executors": {
                "claude": {"baseUrl": "https://lane.example", "apiKeyEnv": "LANE_KEY"},
                "profiles": {"gw": {"id": "claude", "claude": {"baseUrl": "https://profile.example"}}}
            }}"#,
        );
        let ex = resolve_executor(&agent(&lane, "- id: claude"), &lane, None).unwrap();
        assert_eq!(
            ex.endpoint.base_url.as_deref(),
            Some("https://lane.example")
        );
        assert_eq!(ex.endpoint.api_key_env.as_deref(), Some("LANE_KEY"));
        let mut ex = resolve_executor(&agent(&lane, "- profile: gw"), &lane, None).unwrap();
        assert_eq!(
            ex.endpoint.base_url.as_deref(),
            Some("https://profile.example")
        );
        assert_eq!(ex.endpoint.api_key_env.as_deref(), Some("LANE_KEY"));
        let env = EnvOverrides {
            claude: CliOverride {
                command: Some("/opt/claude".into()),
                base_url: Some("http://127.0.0.1:1/".into()),
            },
            ..EnvOverrides::default()
        };
        env.apply(&mut ex);
        assert_eq!(ex.endpoint.base_url.as_deref(), Some("http://127.0.0.1:1/"));
        assert_eq!(ex.command("wave"), "/opt/claude");
        // Another CLI's override does not apply.
        let mut codex = resolve_executor(&agent(&lane, "- id: codex"), &lane, None).unwrap();
        env.apply(&mut codex);
        assert_eq!(codex.endpoint.base_url, None);
        assert_eq!(codex.command("wave"), "codex");
        assert_eq!(api_key_env_names(&lane), ["LANE_KEY"]);
    }

    #[test]
    fn command_programs_resolve_from_agent_profile_then_lane() {
        let lane = lane(r#"{"executors": {"command": {"program": "bin/lane-agent"}}}"#);
        let a = agent(&lane, "- id: command");
        assert_eq!(
            resolve_executor(&a, &lane, None).unwrap().command("wave"),
            "bin/lane-agent"
        );
        let a = agent(&lane, "- id: command\n- command.program: bin/own");
        assert_eq!(
            resolve_executor(&a, &lane, None).unwrap().command("wave"),
            "bin/own"
        );
    }
}
