//! The `### Executor` section: `- <key>: <value>` settings → [`ExecutorConfig`] (spec §1.5),
//! and executor-id resolution against the lane profile.

use serde_json::{Map, Value};

use super::config::LaneProfile;
use super::model::{
    Agent, Budget, ClaudeOverrides, CodexOverrides, ExecutorConfig, ExecutorId, OpencodeOverrides,
    RetryPolicy, RuntimeRole,
};
use super::text::js_trim;

/// Every key the `### Executor` section accepts.
pub const EXECUTOR_KEYS: &[&str] = &[
    "id",
    "profile",
    "model",
    "fallbacks",
    "tags",
    "retry-policy",
    "allow-fallback-on-retry",
    "budget.turns",
    "budget.minutes",
    "codex.command",
    "codex.sandbox",
    "codex.profile_name",
    "codex.config",
    "codex.search",
    "codex.images",
    "codex.add_dirs",
    "codex.json",
    "codex.ephemeral",
    "claude.command",
    "claude.agent",
    "claude.permission_mode",
    "claude.permission_prompt_tool",
    "claude.effort",
    "claude.max_turns",
    "claude.mcp_config",
    "claude.settings",
    "claude.settings_json",
    "claude.hooks_json",
    "claude.allowed_http_hook_urls",
    "claude.output_format",
    "claude.allowed_tools",
    "claude.disallowed_tools",
    "opencode.command",
    "opencode.agent",
    "opencode.attach",
    "opencode.files",
    "opencode.format",
    "opencode.steps",
    "opencode.instructions",
    "opencode.permission",
    "opencode.config_json",
    "command.program",
];

/// A setting the section rejected: which key, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The offending key.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn fail(key: &str, message: String, hint: impl Into<String>) -> SettingError {
    SettingError {
        key: key.to_owned(),
        message,
        hint: hint.into(),
    }
}

/// Strips one leading and one trailing quote or backtick.
pub fn clean_value(value: &str) -> &str {
    let t = js_trim(value);
    let t = t.strip_prefix(['"', '\'', '`']).unwrap_or(t);
    t.strip_suffix(['"', '\'', '`']).unwrap_or(t)
}

/// A comma list, each entry cleaned, empty entries dropped.
pub fn string_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(clean_value)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Number.parseInt(value, 10)`: leading whitespace, optional sign, then digits.
pub fn js_parse_int(value: &str) -> Option<i128> {
    let t = value.trim_start_matches(super::text::is_js_space);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let mut n: i128 = 0;
    for b in digits[..end].bytes() {
        n = n.saturating_mul(10).saturating_add(i128::from(b - b'0'));
    }
    Some(if neg { -n } else { n })
}

fn positive_int(key: &str, value: &str) -> Result<u64, SettingError> {
    match js_parse_int(value) {
        Some(n) if n > 0 => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
        _ => Err(fail(
            key,
            format!("invalid {key} \"{value}\""),
            "use a positive whole number",
        )),
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, SettingError> {
    match js_trim(value).to_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(fail(
            key,
            format!("invalid {key} \"{value}\""),
            "use true/false (also accepted: 1/0, yes/no, on/off)",
        )),
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<String, SettingError> {
    let v = js_trim(value).to_lowercase();
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(fail(
            key,
            format!("invalid {key} \"{value}\""),
            format!("use one of: {}", allowed.join(", ")),
        ))
    }
}

fn executor_id(key: &str, value: &str) -> Result<ExecutorId, SettingError> {
    ExecutorId::parse(value).ok_or_else(|| {
        fail(
            key,
            format!("{key} must be one of: codex, claude, opencode, local (got: {value})"),
            "name one of the executors codex, claude, opencode, local or command",
        )
    })
}

fn json_value(key: &str, value: &str) -> Result<Value, SettingError> {
    serde_json::from_str(value).map_err(|e| {
        fail(
            key,
            format!("invalid JSON for {key}: {e}"),
            "write the value as inline JSON on one line",
        )
    })
}

fn json_object(key: &str, value: &str) -> Result<Map<String, Value>, SettingError> {
    match json_value(key, value)? {
        Value::Object(map) => Ok(map),
        _ => Err(fail(
            key,
            format!("invalid JSON object for {key}"),
            "write a JSON object, e.g. {\"key\": \"value\"}",
        )),
    }
}

/// Builds the executor config from the section's settings (key, raw value) in the order they
/// are to be applied. Keys repeat-free: a later duplicate must already have replaced the value.
pub fn normalize(settings: &[(String, String)]) -> Result<ExecutorConfig, SettingError> {
    let mut cfg = ExecutorConfig::default();
    for (key, raw) in settings {
        let key = key.as_str();
        if !EXECUTOR_KEYS.contains(&key) {
            return Err(fail(
                key,
                format!("unsupported Executor setting \"{key}\""),
                format!("supported keys: {}", EXECUTOR_KEYS.join(", ")),
            ));
        }
        let value = clean_value(raw);
        if value.is_empty() {
            return Err(fail(
                key,
                format!("empty Executor setting \"{key}\""),
                "give the setting a value or remove the line",
            ));
        }
        apply(&mut cfg, key, value)?;
    }
    Ok(cfg)
}

fn apply(cfg: &mut ExecutorConfig, key: &str, value: &str) -> Result<(), SettingError> {
    let owned = || value.to_owned();
    match key {
        "id" => cfg.id = Some(executor_id("id", value)?),
        "profile" => cfg.profile = Some(value.to_lowercase()),
        "model" => cfg.model = Some(owned()),
        "fallbacks" => {
            cfg.fallbacks = string_list(value)
                .iter()
                .map(|v| executor_id("fallbacks", v))
                .collect::<Result<_, _>>()?;
        }
        "tags" => cfg.tags = string_list(value),
        "retry-policy" => {
            cfg.retry_policy = Some(match value.to_lowercase().as_str() {
                "sticky" => RetryPolicy::Sticky,
                "fallback-allowed" => RetryPolicy::FallbackAllowed,
                _ => {
                    return Err(fail(
                        key,
                        format!("invalid retry-policy \"{value}\""),
                        "use sticky or fallback-allowed",
                    ));
                }
            });
        }
        "allow-fallback-on-retry" => cfg.allow_fallback_on_retry = Some(boolean(key, value)?),
        "budget.turns" | "budget.minutes" => {
            let n = positive_int(key, value)?;
            let budget = cfg.budget.get_or_insert(Budget::default());
            if key == "budget.turns" {
                budget.turns = Some(n);
            } else {
                budget.minutes = Some(n);
            }
        }
        _ => {
            if let Some(sub) = key.strip_prefix("codex.") {
                apply_codex(
                    cfg.codex.get_or_insert_with(Default::default),
                    key,
                    sub,
                    value,
                )?;
            } else if let Some(sub) = key.strip_prefix("claude.") {
                apply_claude(
                    cfg.claude.get_or_insert_with(Default::default),
                    key,
                    sub,
                    value,
                )?;
            } else if key == "command.program" {
                cfg.command_program = Some(value.to_owned());
            } else if let Some(sub) = key.strip_prefix("opencode.") {
                apply_opencode(
                    cfg.opencode.get_or_insert_with(Default::default),
                    key,
                    sub,
                    value,
                )?;
            }
        }
    }
    Ok(())
}

fn apply_codex(
    c: &mut CodexOverrides,
    key: &str,
    sub: &str,
    value: &str,
) -> Result<(), SettingError> {
    match sub {
        "command" => c.command = Some(value.to_owned()),
        "sandbox" => {
            c.sandbox = Some(one_of(
                key,
                value,
                &["read-only", "workspace-write", "danger-full-access"],
            )?);
        }
        "profile_name" => c.profile_name = Some(value.to_owned()),
        "config" => c.config = Some(string_list(value)),
        "search" => c.search = Some(boolean(key, value)?),
        "images" => c.images = Some(string_list(value)),
        "add_dirs" => c.add_dirs = Some(string_list(value)),
        "json" => c.json = Some(boolean(key, value)?),
        "ephemeral" => c.ephemeral = Some(boolean(key, value)?),
        _ => {}
    }
    Ok(())
}

fn apply_claude(
    c: &mut ClaudeOverrides,
    key: &str,
    sub: &str,
    value: &str,
) -> Result<(), SettingError> {
    match sub {
        "command" => c.command = Some(value.to_owned()),
        "agent" => c.agent = Some(value.to_owned()),
        "permission_mode" => c.permission_mode = Some(value.to_owned()),
        "permission_prompt_tool" => c.permission_prompt_tool = Some(value.to_owned()),
        "effort" => c.effort = Some(one_of(key, value, &["low", "medium", "high", "max"])?),
        "max_turns" => c.max_turns = Some(positive_int(key, value)?),
        "mcp_config" => c.mcp_config = Some(string_list(value)),
        "settings" => c.settings = Some(value.to_owned()),
        "settings_json" => c.settings_json = Some(json_object(key, value)?),
        "hooks_json" => c.hooks_json = Some(json_object(key, value)?),
        "allowed_http_hook_urls" => c.allowed_http_hook_urls = Some(string_list(value)),
        "output_format" => {
            c.output_format = Some(one_of(key, value, &["text", "json", "stream-json"])?);
        }
        "allowed_tools" => c.allowed_tools = Some(string_list(value)),
        "disallowed_tools" => c.disallowed_tools = Some(string_list(value)),
        _ => {}
    }
    Ok(())
}

fn apply_opencode(
    c: &mut OpencodeOverrides,
    key: &str,
    sub: &str,
    value: &str,
) -> Result<(), SettingError> {
    match sub {
        "command" => c.command = Some(value.to_owned()),
        "agent" => c.agent = Some(value.to_owned()),
        "attach" => c.attach = Some(value.to_owned()),
        "files" => c.files = Some(string_list(value)),
        "format" => c.format = Some(one_of(key, value, &["default", "json"])?),
        "steps" => c.steps = Some(positive_int(key, value)?),
        "instructions" => c.instructions = Some(string_list(value)),
        "permission" => c.permission = Some(json_value(key, value)?),
        "config_json" => c.config_json = Some(json_object(key, value)?),
        _ => {}
    }
    Ok(())
}

/// The runtime role of an agent (spec §1.6): by lane role id, then design, security, then
/// capability prefix or title word `infra` / `deploy` / `research`, else implementation.
pub fn runtime_role(agent: &Agent, lane: &LaneProfile) -> RuntimeRole {
    let roles = &lane.roles;
    if agent.agent_id == roles.cont_qa_agent_id {
        return RuntimeRole::ContQa;
    }
    if agent.agent_id == roles.cont_eval_agent_id {
        return RuntimeRole::ContEval;
    }
    if agent.agent_id == roles.integration_agent_id {
        return RuntimeRole::Integration;
    }
    if agent.agent_id == roles.documentation_agent_id {
        return RuntimeRole::Documentation;
    }
    if super::roles::is_design_agent(agent, lane) {
        return RuntimeRole::Design;
    }
    if super::roles::is_security_reviewer(agent, lane) {
        return RuntimeRole::Security;
    }
    let title = js_trim(&agent.title).to_lowercase();
    let caps: Vec<String> = agent
        .capabilities
        .iter()
        .map(|c| js_trim(c).to_lowercase())
        .collect();
    for (word, role) in [
        ("infra", RuntimeRole::Infra),
        ("deploy", RuntimeRole::Deploy),
        ("research", RuntimeRole::Research),
    ] {
        if caps.iter().any(|c| c.starts_with(word)) || has_word(&title, word) {
            return role;
        }
    }
    RuntimeRole::Implementation
}

/// `\bword\b` with ASCII word characters.
fn has_word(text: &str, word: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(word).any(|(i, _)| {
        !is_word(text[..i].chars().next_back()) && !is_word(text[i + word.len()..].chars().next())
    })
}

/// Why an agent's executor cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// `profile:` names a profile the lane does not define.
    UnknownProfile(String),
}

/// The executor an agent runs on before any retry: the agent's `id`, else its profile's id,
/// else the lane's default for the agent's runtime role, else `executors.default`.
pub fn resolve_executor_id(agent: &Agent, lane: &LaneProfile) -> Result<ExecutorId, ResolveError> {
    let cfg = agent.executor.as_ref();
    let profile = match cfg.and_then(|c| c.profile.as_deref()) {
        Some(name) => Some(
            lane.executors
                .profiles
                .get(name)
                .ok_or_else(|| ResolveError::UnknownProfile(name.to_owned()))?,
        ),
        None => None,
    };
    if let Some(id) = cfg.and_then(|c| c.id) {
        return Ok(id);
    }
    if let Some(id) = profile.and_then(|p| p.id) {
        return Ok(id);
    }
    let role = runtime_role(agent, lane);
    if let Some(id) = lane
        .runtime_policy
        .default_executor_by_role
        .get(role.as_str())
    {
        return Ok(*id);
    }
    Ok(lane.executors.default)
}

/// The program of the `command` executor: the agent's `command.program`, else its profile's
/// `command.program`, else the lane's `executors.command.program`. Blank values count as unset.
pub fn command_program(agent: &Agent, lane: &LaneProfile) -> Option<String> {
    let cfg = agent.executor.as_ref();
    let from_map = |m: Option<&Map<String, Value>>| {
        m.and_then(|m| m.get("program"))
            .and_then(Value::as_str)
            .map(js_trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    };
    cfg.and_then(|c| c.command_program.clone())
        .filter(|p| !js_trim(p).is_empty())
        .or_else(|| {
            cfg.and_then(|c| c.profile.as_deref())
                .and_then(|name| lane.executors.profiles.get(name))
                .and_then(|p| from_map(p.command.as_ref()))
        })
        .or_else(|| from_map(Some(&lane.executors.command)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn full_executor_block_is_normalized() {
        let cfg = normalize(&settings(&[
            ("id", "Codex"),
            ("profile", "Implement-Fast"),
            ("fallbacks", "claude, `opencode`"),
            ("budget.minutes", "45"),
            ("budget.turns", "12abc"),
            ("retry-policy", "STICKY"),
            ("codex.sandbox", "read-only"),
            ("codex.config", "a=1,b=2"),
            ("claude.settings_json", r#"{"x": 1}"#),
        ]))
        .unwrap();
        assert_eq!(cfg.id, Some(ExecutorId::Codex));
        assert_eq!(cfg.profile.as_deref(), Some("implement-fast"));
        assert_eq!(
            cfg.fallbacks,
            vec![ExecutorId::Claude, ExecutorId::Opencode]
        );
        assert_eq!(
            cfg.budget,
            Some(Budget {
                turns: Some(12),
                minutes: Some(45)
            })
        );
        assert_eq!(cfg.retry_policy, Some(RetryPolicy::Sticky));
        assert_eq!(
            cfg.codex.as_ref().and_then(|c| c.config.clone()),
            Some(vec!["a=1".to_owned(), "b=2".to_owned()])
        );
        assert!(cfg.claude.is_some());
    }

    #[test]
    fn command_executor_takes_a_program() {
        let cfg = normalize(&settings(&[
            ("id", "command"),
            ("command.program", "`scripts/agent.sh`"),
        ]))
        .unwrap();
        assert_eq!(cfg.id, Some(ExecutorId::Command));
        assert_eq!(cfg.command_program.as_deref(), Some("scripts/agent.sh"));
    }

    #[test]
    fn bad_settings_are_rejected_with_the_key() {
        for (k, v) in [
            ("idx", "codex"),
            ("id", "gpt"),
            ("budget.minutes", "0"),
            ("codex.search", "maybe"),
            ("claude.hooks_json", "[1]"),
            ("opencode.format", "xml"),
            ("model", "\"\""),
        ] {
            let err = normalize(&settings(&[(k, v)])).unwrap_err();
            assert_eq!(err.key, k);
        }
    }

    #[test]
    fn parse_int_follows_the_reference_rules() {
        assert_eq!(js_parse_int(" 42px"), Some(42));
        assert_eq!(js_parse_int("-3"), Some(-3));
        assert_eq!(js_parse_int("x1"), None);
        assert_eq!(js_parse_int("+"), None);
    }

    #[test]
    fn title_words_are_whole_words() {
        assert!(has_word("infra rollout", "infra"));
        assert!(!has_word("infrastructure", "infra"));
    }
}
