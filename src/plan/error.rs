//! The plan subsystem's error type.

use std::path::PathBuf;

use super::model::{Diagnostic, Pos};

/// Why plans could not be loaded, parsed or accepted.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A wave file breaks the grammar; parsing stops at the first such error.
    #[error("{file}:{}:{}: {message}\n  hint: {hint}", pos.line, pos.column)]
    Parse {
        /// Repository-relative file.
        file: String,
        /// Where the problem is.
        pos: Pos,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// `wave.config.json` (or a file it points at) is invalid.
    #[error("{file}: {message}\n  hint: {hint}")]
    Config {
        /// The config file.
        file: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// The lane's waves directory does not exist.
    #[error("waves directory not found: {}", dir.display())]
    WavesDirMissing {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// The lane's waves directory holds no `wave-<n>.md` files.
    #[error("no wave files found in {}", dir.display())]
    NoWaveFiles {
        /// The directory searched.
        dir: PathBuf,
    },
    /// Reading a file failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Plans parsed but validation found errors; every finding is listed.
    #[error("{}", render_findings(.0))]
    Invalid(Vec<Diagnostic>),
}

impl PlanError {
    /// A parse error.
    pub fn parse(
        file: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        PlanError::Parse {
            file: file.into(),
            pos,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// A config error.
    pub fn config(
        file: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        PlanError::Config {
            file: file.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The finding as a diagnostic, when it points into a file.
    pub fn to_diagnostic(&self) -> Option<Diagnostic> {
        match self {
            PlanError::Parse {
                file,
                pos,
                message,
                hint,
            } => Some(Diagnostic::error(
                file.clone(),
                *pos,
                message.clone(),
                hint.clone(),
            )),
            PlanError::Config {
                file,
                message,
                hint,
            } => Some(Diagnostic::error(
                file.clone(),
                Pos::START,
                message.clone(),
                hint.clone(),
            )),
            _ => None,
        }
    }
}

fn render_findings(findings: &[Diagnostic]) -> String {
    let errors = findings
        .iter()
        .filter(|d| d.severity == super::model::Severity::Error)
        .count();
    let mut out = format!("{errors} plan error(s):");
    for d in findings {
        out.push('\n');
        out.push_str(&d.to_string());
    }
    out
}
