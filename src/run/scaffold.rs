//! The starter scaffold `wave init` writes: a configuration, a valid wave-0 plan with an
//! implementation agent and the closure stewards, role prompts, the component cutover matrix,
//! shared-plan docs and the reference docs the plans cite.
//!
//! Owns: the embedded template set and writing it without clobbering. Must not: prompt, or write
//! anything when any target already exists (unless forced).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The embedded templates, repository-relative path first.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "docs/agents/wave-cont-eval-role.md",
        include_str!("../../templates/init/docs/agents/wave-cont-eval-role.md"),
    ),
    (
        "docs/agents/wave-cont-qa-role.md",
        include_str!("../../templates/init/docs/agents/wave-cont-qa-role.md"),
    ),
    (
        "docs/agents/wave-design-role.md",
        include_str!("../../templates/init/docs/agents/wave-design-role.md"),
    ),
    (
        "docs/agents/wave-documentation-role.md",
        include_str!("../../templates/init/docs/agents/wave-documentation-role.md"),
    ),
    (
        "docs/agents/wave-integration-role.md",
        include_str!("../../templates/init/docs/agents/wave-integration-role.md"),
    ),
    (
        "docs/agents/wave-security-role.md",
        include_str!("../../templates/init/docs/agents/wave-security-role.md"),
    ),
    (
        "docs/context7/bundles.json",
        include_str!("../../templates/init/docs/context7/bundles.json"),
    ),
    (
        "docs/plans/component-cutover-matrix.json",
        include_str!("../../templates/init/docs/plans/component-cutover-matrix.json"),
    ),
    (
        "docs/plans/component-cutover-matrix.md",
        include_str!("../../templates/init/docs/plans/component-cutover-matrix.md"),
    ),
    (
        "docs/plans/current-state.md",
        include_str!("../../templates/init/docs/plans/current-state.md"),
    ),
    (
        "docs/plans/master-plan.md",
        include_str!("../../templates/init/docs/plans/master-plan.md"),
    ),
    (
        "docs/plans/migration.md",
        include_str!("../../templates/init/docs/plans/migration.md"),
    ),
    (
        "docs/plans/waves/wave-0.md",
        include_str!("../../templates/init/docs/plans/waves/wave-0.md"),
    ),
    (
        "docs/reference/repository-guidance.md",
        include_str!("../../templates/init/docs/reference/repository-guidance.md"),
    ),
    (
        "docs/research/agent-context-sources.md",
        include_str!("../../templates/init/docs/research/agent-context-sources.md"),
    ),
    (
        "wave.config.json",
        include_str!("../../templates/init/wave.config.json"),
    ),
];

/// The lane a fresh scaffold uses unless told otherwise.
pub const DEFAULT_LANE: &str = "main";

/// Errors of `wave init`.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The lane name is not a valid id.
    #[error(
        "invalid lane `{lane}`: use lowercase letters, digits, `-` and `_`, starting with a letter or digit"
    )]
    InvalidLane {
        /// The rejected lane.
        lane: String,
    },
    /// Some target files exist and `--force` was not given.
    #[error("{} file(s) already exist; nothing was written:\n{}", .paths.len(), list(.paths))]
    Exists {
        /// Repository-relative paths that exist.
        paths: Vec<String>,
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

fn list(paths: &[String]) -> String {
    paths
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One file of the scaffold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldFile {
    /// Repository-relative path, `/`-separated.
    pub path: &'static str,
    /// Contents.
    pub contents: String,
}

/// True for a valid lane id: `^[a-z0-9][a-z0-9_-]*$`.
pub fn is_valid_lane(lane: &str) -> bool {
    let mut chars = lane.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The scaffold's files for `lane` (the lane becomes the configuration's default lane).
pub fn starter_files(lane: &str) -> Result<Vec<ScaffoldFile>, ScaffoldError> {
    if !is_valid_lane(lane) {
        return Err(ScaffoldError::InvalidLane {
            lane: lane.to_owned(),
        });
    }
    Ok(TEMPLATES
        .iter()
        .map(|(path, text)| ScaffoldFile {
            path,
            contents: if *path == "wave.config.json" && lane != DEFAULT_LANE {
                config_for_lane(text, lane)
            } else {
                (*text).to_owned()
            },
        })
        .collect())
}

fn config_for_lane(template: &str, lane: &str) -> String {
    let Ok(mut config) = serde_json::from_str::<Value>(template) else {
        return template.to_owned();
    };
    if let Value::Object(map) = &mut config {
        map.insert("defaultLane".into(), Value::String(lane.to_owned()));
        let mut lanes = serde_json::Map::new();
        lanes.insert(lane.to_owned(), Value::Object(serde_json::Map::new()));
        map.insert("lanes".into(), Value::Object(lanes));
    }
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_else(|_| template.to_owned());
    text.push('\n');
    text
}

/// Paths of `files` that already exist under `root` (as anything: file, directory, link).
pub fn existing(root: &Path, files: &[ScaffoldFile]) -> Vec<String> {
    files
        .iter()
        .filter(|f| root.join(f.path).symlink_metadata().is_ok())
        .map(|f| f.path.to_owned())
        .collect()
}

/// Writes the scaffold under `root`. Without `force`, fails before writing anything when any
/// target exists. Returns the repository-relative paths written.
pub fn write(
    root: &Path,
    files: &[ScaffoldFile],
    force: bool,
) -> Result<Vec<String>, ScaffoldError> {
    if !force {
        let paths = existing(root, files);
        if !paths.is_empty() {
            return Err(ScaffoldError::Exists { paths });
        }
    }
    let mut written = Vec::with_capacity(files.len());
    for file in files {
        let path = root.join(file.path);
        let io = |source| ScaffoldError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, &file.contents).map_err(io)?;
        written.push(file.path.to_owned());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_prompts_have_a_standing_prompt_block() {
        for (path, text) in TEMPLATES
            .iter()
            .filter(|(p, _)| p.starts_with("docs/agents/"))
        {
            let after = text.split("## Standing prompt").nth(1);
            assert!(
                after.is_some_and(|a| a.contains("```text\n") && a.trim_end().ends_with("```")),
                "{path}"
            );
        }
    }

    #[test]
    fn lane_rewrites_the_default_lane() {
        let files = starter_files("ci-lane").unwrap();
        let config = files.iter().find(|f| f.path == "wave.config.json").unwrap();
        let value: Value = serde_json::from_str(&config.contents).unwrap();
        assert_eq!(value["defaultLane"], "ci-lane");
        assert!(value["lanes"]["ci-lane"].is_object());
        assert!(matches!(
            starter_files("Bad Lane"),
            Err(ScaffoldError::InvalidLane { .. })
        ));
    }
}
