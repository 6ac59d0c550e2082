//! GitHub Actions plumbing: workflow commands, `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`.
//!
//! Owns: the escaping rules of workflow commands, the multi-line output syntax with a
//! delimiter that cannot occur in the value, and the 1 MiB step-summary cap. The command
//! builders are pure; the two file writers append. Must not: print — callers send the lines
//! through `cli::output`.

use std::io::Write as _;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::GithubError;
use crate::render::github::STEP_SUMMARY_MAX;

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::add-mask::` lines for a secret: one per line of it, so a multi-line secret (a private
/// key) is masked line by line. Empty input masks nothing.
pub fn add_mask(secret: &str) -> Vec<String> {
    let mut lines: Vec<String> = secret
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("::add-mask::{}", escape_data(l)))
        .collect();
    let whole = secret.trim();
    if secret.lines().count() > 1 && !whole.is_empty() {
        lines.insert(0, format!("::add-mask::{}", escape_data(whole)));
    }
    lines
}

/// Environment variables whose values are secrets wherever the runner meets them.
pub const SECRET_VARS: [&str; 4] = [
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "WAVE_GITHUB_TOKEN",
    "WAVE_GITHUB_APP_PRIVATE_KEY",
];

/// `::add-mask::` lines for the values of the named variables that are set (the
/// [`SECRET_VARS`] and any extra names, e.g. the credential variables of wave.config.json).
/// Each name counts once; unset and empty values mask nothing.
pub fn mask_vars<'n>(
    extra: impl IntoIterator<Item = &'n str>,
    lookup: impl Fn(&str) -> Option<&'n str>,
) -> Vec<String> {
    let mut names: Vec<&str> = SECRET_VARS.to_vec();
    for name in extra {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .filter_map(lookup)
        .flat_map(add_mask)
        .collect()
}

/// An agent's echoed output: a collapsible group named after the agent, holding the text
/// between `::stop-commands::` and its resume line, so nothing the agent printed runs as a
/// workflow command.
pub fn agent_output(agent: &str, text: &str, nonce: &str) -> String {
    let mut out = group(agent);
    out.push('\n');
    out.push_str(&without_commands(text, nonce));
    out.push('\n');
    out.push_str(&endgroup());
    out
}

/// Opens a collapsible group in the log.
pub fn group(title: &str) -> String {
    format!("::group::{}", escape_data(title))
}

/// Closes the current group.
pub fn endgroup() -> String {
    "::endgroup::".to_owned()
}

/// An error annotation bound to a file and line (plan errors).
pub fn error(file: &str, line: Option<u32>, title: Option<&str>, message: &str) -> String {
    let mut props = vec![format!("file={}", escape_property(file))];
    if let Some(line) = line {
        props.push(format!("line={line}"));
    }
    if let Some(title) = title {
        props.push(format!("title={}", escape_property(title)));
    }
    format!("::error {}::{}", props.join(","), escape_data(message))
}

/// Wraps echoed text (agent output) so no line in it runs as a workflow command: returns
/// the `::stop-commands::<token>` line, the text, and the `::<token>::` line that resumes.
/// The token is derived from the text and a caller-supplied nonce and never occurs in it.
pub fn without_commands(text: &str, nonce: &str) -> String {
    let mut salt = 0u32;
    let token = loop {
        let mut h = Sha256::new();
        h.update(nonce.as_bytes());
        h.update(salt.to_le_bytes());
        h.update(text.as_bytes());
        let token = format!("wave-{}", hex::encode(h.finalize()));
        if !text.contains(&token) {
            break token;
        }
        salt = salt.wrapping_add(1);
    };
    let mut out = format!("::stop-commands::{token}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("::{token}::"));
    out
}

/// One `name=value` (or multi-line `name<<delimiter`) entry for `$GITHUB_OUTPUT`.
pub fn output_entry(name: &str, value: &str) -> String {
    if !value.contains('\n') && !value.contains('\r') {
        return format!("{name}={value}\n");
    }
    let mut salt = 0u32;
    let delimiter = loop {
        let mut h = Sha256::new();
        h.update(salt.to_le_bytes());
        h.update(value.as_bytes());
        let d = format!("ghadelimiter_{}", &hex::encode(h.finalize())[..16]);
        if !value.contains(&d) {
            break d;
        }
        salt = salt.wrapping_add(1);
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends outputs to the `$GITHUB_OUTPUT` file.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> Result<(), GithubError> {
    let text: String = outputs
        .iter()
        .map(|(name, value)| output_entry(name, value))
        .collect();
    append(path, text.as_bytes())
}

/// Appends markdown to the `$GITHUB_STEP_SUMMARY` file, keeping the file within 1 MiB.
pub fn write_step_summary(path: &Path, markdown: &str) -> Result<(), GithubError> {
    let used = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let room = usize::try_from((STEP_SUMMARY_MAX as u64).saturating_sub(used)).unwrap_or(0);
    let text = crate::render::github::truncate_markdown(markdown, room, "the job log");
    append(path, text.as_bytes())
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), GithubError> {
    let io = |source| GithubError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_escape_their_payloads() {
        assert_eq!(
            error(
                "docs/plans/waves/wave-1.md",
                Some(7),
                Some("plan: bad"),
                "50% of\nit"
            ),
            "::error file=docs/plans/waves/wave-1.md,line=7,title=plan%3A bad::50%25 of%0Ait"
        );
        assert_eq!(group("agent A1"), "::group::agent A1");
        assert_eq!(add_mask("s3cret"), vec!["::add-mask::s3cret"]);
        assert_eq!(add_mask("a\nb").len(), 3);
        assert!(add_mask("").is_empty());
    }

    #[test]
    fn agent_output_is_grouped_and_inert() {
        let out = agent_output("A1", "::error::boom\ndone", "n");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.first(), Some(&"::group::A1"));
        assert!(lines[1].starts_with("::stop-commands::wave-"));
        assert_eq!(&lines[2..4], ["::error::boom", "done"]);
        let token = lines[1].trim_start_matches("::stop-commands::");
        assert_eq!(lines[4], format!("::{token}::"));
        assert_eq!(lines.last(), Some(&"::endgroup::"));
    }

    #[test]
    fn masks_known_and_extra_secret_variables_once() {
        let env = [("GITHUB_TOKEN", "ghs_1"), ("API_KEY", "k2"), ("EMPTY", "")];
        let lookup = |name: &str| env.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let lines = mask_vars(["API_KEY", "GITHUB_TOKEN", "EMPTY", "UNSET"], lookup);
        assert_eq!(lines, ["::add-mask::ghs_1", "::add-mask::k2"]);
    }

    #[test]
    fn echoed_output_cannot_run_commands() {
        let text = "::add-mask::x\n::set-output name=a::b";
        let wrapped = without_commands(text, "n");
        let first = wrapped.lines().next().unwrap_or_default();
        let token = first.trim_start_matches("::stop-commands::");
        assert!(!token.is_empty() && !text.contains(token));
        assert!(wrapped.ends_with(&format!("::{token}::")));
    }

    #[test]
    fn multi_line_outputs_use_a_fresh_delimiter() {
        assert_eq!(output_entry("verdict", "failure"), "verdict=failure\n");
        let entry = output_entry("targets", "A1\nA2");
        let delim = entry
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("targets<<"))
            .unwrap_or_default()
            .to_owned();
        assert!(entry.ends_with(&format!("\n{delim}\n")));
    }

    #[test]
    fn step_summary_stays_under_one_mebibyte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("summary.md");
        let big = "x".repeat(STEP_SUMMARY_MAX);
        write_step_summary(&path, &big).expect("write");
        write_step_summary(&path, &big).expect("write");
        let len = std::fs::metadata(&path)
            .map(|m| m.len())
            .unwrap_or(u64::MAX);
        assert!(len <= STEP_SUMMARY_MAX as u64, "{len}");
    }
}
