//! Launch previews: the `launch-preview.json` of an agent and the overlay files its command
//! lines reference, written into `S/…/executors/wave-N/<slug>/` (spec §9.3).
//!
//! Owns: the preview's JSON shape, secret redaction of environment values, atomic file writes of
//! previews. Must not: start processes or read secret values (only names reach this module).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::command::{LaunchPlan, Limits, pretty_json};

/// What replaces a secret value in a preview.
pub const REDACTED: &str = "[redacted]";

/// A credential the agent receives through an environment variable (`waveControl.credentials`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialRef {
    /// Credential id.
    pub id: String,
    /// Environment variable that carries it.
    pub env_var: String,
}

/// Skills summary recorded in a preview. Only the resolution inputs are shown; skill bundles
/// are not projected by this runner yet, so `ids` and `bundles` are empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillsSummary {
    /// Resolved skill ids.
    pub ids: Vec<String>,
    /// Runtime role of the agent (`implementation`, `cont-qa`, …).
    pub role: String,
    /// Executor id.
    pub runtime: String,
    /// Default deploy kind of the wave, if any.
    pub deploy_kind: Option<String>,
    /// Skill bundles.
    pub bundles: Vec<Value>,
    /// Skill artifact paths.
    pub artifacts: Option<Value>,
}

/// The contents of `launch-preview.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchPreview {
    /// Executor id.
    pub executor_id: String,
    /// Program the lines run.
    pub command: String,
    /// Environment exported before the lines; secret values replaced by `[redacted]`.
    pub env: Map<String, Value>,
    /// Credential providers the agent would lease.
    pub credential_providers: Vec<String>,
    /// Credentials the agent would lease.
    pub credentials: Vec<CredentialRef>,
    /// Whether the lines run inside the rate-limit retry loop.
    pub use_rate_limit_retries: bool,
    /// Shell lines.
    pub invocation_lines: Vec<String>,
    /// Limits.
    pub limits: Limits,
    /// Skills summary.
    pub skills: SkillsSummary,
}

/// True when an environment variable name looks like it carries a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|needle| upper.contains(needle))
        || upper.ends_with("_KEY")
}

/// Builds the preview's `env` object: every credential variable appears with a redacted value
/// (its value is only known at launch), and any other variable whose name is a credential's or
/// looks secret ([`looks_secret`]) has its value redacted.
pub fn redact_env(env: &[(String, String)], credentials: &[CredentialRef]) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in env {
        let secret = looks_secret(key) || credentials.iter().any(|c| &c.env_var == key);
        let shown = if secret { REDACTED } else { value.as_str() };
        out.insert(key.clone(), Value::String(shown.to_owned()));
    }
    for cred in credentials {
        out.entry(cred.env_var.clone())
            .or_insert_with(|| Value::String(REDACTED.to_owned()));
    }
    out
}

/// Assembles the preview for one launch plan.
pub fn preview_for(
    plan: &LaunchPlan,
    credential_providers: &[String],
    credentials: &[CredentialRef],
    skills: SkillsSummary,
) -> LaunchPreview {
    LaunchPreview {
        executor_id: plan.spec.executor_id.as_str().to_owned(),
        command: plan.spec.command.clone(),
        env: redact_env(&plan.spec.env, credentials),
        credential_providers: credential_providers.to_vec(),
        credentials: credentials.to_vec(),
        use_rate_limit_retries: plan.spec.use_rate_limit_retries,
        invocation_lines: plan.spec.invocation_lines.clone(),
        limits: plan.spec.limits.clone(),
        skills,
    }
}

/// Writes `launch-preview.json` and the plan's overlay files into `overlay_dir` (created when
/// missing). Returns the paths written, in order.
pub fn write_preview(
    overlay_dir: &Path,
    plan: &LaunchPlan,
    preview: &LaunchPreview,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(overlay_dir)?;
    let mut written = Vec::with_capacity(plan.files.len() + 1);
    for file in &plan.files {
        let path = overlay_dir.join(file.name);
        write_atomic(&path, file.contents.as_bytes())?;
        written.push(path);
    }
    let path = overlay_dir.join("launch-preview.json");
    write_atomic(&path, pretty_json(preview).as_bytes())?;
    written.push(path);
    Ok(written)
}

/// Writes a file atomically: a sibling temporary file `<name>.tmp.<pid>` is written, flushed and
/// renamed over the target, so readers never see a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.flush()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_recognised() {
        for name in [
            "GITHUB_TOKEN",
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "WAVE_CONTROL_AUTH_TOKEN",
            "SIGNING_KEY",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["OPENCODE_CONFIG", "WAVE_EXECUTOR_MODE", "PATH", "KEYBOARD"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn redaction_hides_values_but_keeps_names() {
        let env = vec![
            ("OPENCODE_CONFIG".to_owned(), "/r/opencode.json".to_owned()),
            ("OPENAI_API_KEY".to_owned(), "sk-live-123".to_owned()),
            ("CUSTOM".to_owned(), "hunter2".to_owned()),
        ];
        let creds = vec![
            CredentialRef {
                id: "custom".into(),
                env_var: "CUSTOM".into(),
            },
            CredentialRef {
                id: "npm".into(),
                env_var: "NPM_PUBLISH".into(),
            },
        ];
        let out = redact_env(&env, &creds);
        assert_eq!(out["OPENCODE_CONFIG"], "/r/opencode.json");
        assert_eq!(out["OPENAI_API_KEY"], REDACTED);
        assert_eq!(out["CUSTOM"], REDACTED);
        assert_eq!(out["NPM_PUBLISH"], REDACTED);
        let text = serde_json::to_string(&out).unwrap();
        assert!(!text.contains("sk-live-123") && !text.contains("hunter2"));
    }
}
