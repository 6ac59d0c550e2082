//! The pinned agent CLI versions. They are recorded in one place, `agent-clis.env` beside this
//! module, which `scripts/install-agent-clis.sh` sources and this module embeds.
//!
//! Owns: reading that file. Must not: install or run anything.

use crate::plan::ExecutorId;

const PINS: &str = include_str!("agent-clis.env");

/// One pinned npm package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// The executor the package provides.
    pub executor: ExecutorId,
    /// The npm package name.
    pub package: &'static str,
    /// The pinned version.
    pub version: &'static str,
}

fn value(key: &str) -> &'static str {
    PINS.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// The pin of an agent CLI; `None` for `local` and `command`.
pub fn pin(executor: ExecutorId) -> Option<Pin> {
    let prefix = match executor {
        ExecutorId::Codex => "CODEX",
        ExecutorId::Claude => "CLAUDE",
        ExecutorId::Opencode => "OPENCODE",
        ExecutorId::Local | ExecutorId::Command => return None,
    };
    Some(Pin {
        executor,
        package: value(&format!("{prefix}_PACKAGE")),
        version: value(&format!("{prefix}_VERSION")),
    })
}

/// `npm install -g <package>@<version>` for an agent CLI.
pub fn install_command(executor: ExecutorId) -> Option<String> {
    pin(executor).map(|p| format!("npm install -g {}@{}", p.package, p.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_clis_are_pinned() {
        let got: Vec<String> = [ExecutorId::Codex, ExecutorId::Claude, ExecutorId::Opencode]
            .into_iter()
            .filter_map(pin)
            .map(|p| format!("{}@{}", p.package, p.version))
            .collect();
        assert_eq!(
            got,
            [
                "@openai/codex@0.169.0",
                "@anthropic-ai/claude-code@2.1.330",
                "opencode-ai@1.18.33"
            ]
        );
        assert_eq!(pin(ExecutorId::Local), None);
    }
}
