//! The CLI's one error type: a kind, a message that says what went wrong, hints that say what to
//! do, and the exit code it maps to.
//!
//! Subsystem errors (`PlanError`, `StoreError`, …) convert into [`CliError`] with `From` impls
//! that live beside the command that uses them.

use std::fmt;

use crate::exit::Code;

/// Who has to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The user's input (flags, plans, records) is wrong; they can fix it.
    User,
    /// The repository set-up or configuration is wrong.
    Config,
    /// A bug or an infrastructure failure.
    Internal,
}

/// An error reported by a `wave` command.
#[derive(Debug)]
pub struct CliError {
    /// Who has to act.
    pub kind: ErrorKind,
    /// What went wrong, one or more lines.
    pub message: String,
    /// What to do about it.
    pub hints: Vec<String>,
    /// The exit code to leave with.
    pub code: Code,
}

impl CliError {
    /// An error in the user's input: exit 1.
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message, Code::FAILURE)
    }

    /// A usage error (bad flags or arguments): exit 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message, Code::USAGE)
    }

    /// A configuration or set-up error: exit 1.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message, Code::FAILURE)
    }

    /// A bug or an infrastructure failure: exit 70.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message, Code::INTERNAL)
    }

    fn new(kind: ErrorKind, message: impl Into<String>, code: Code) -> Self {
        Self {
            kind,
            message: message.into(),
            hints: Vec::new(),
            code,
        }
    }

    /// Adds a hint: what the user can do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Overrides the exit code.
    pub fn with_code(mut self, code: Code) -> Self {
        self.code = code;
        self
    }

    /// Renders the error with its source chain's messages already folded into `message`.
    pub fn from_error(kind: ErrorKind, err: &dyn std::error::Error, code: Code) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        Self::new(kind, message, code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            ErrorKind::Internal => "internal error",
            _ => "error",
        };
        write!(f, "{prefix}: {}", self.message)?;
        for hint in &self.hints {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        Self::from_error(ErrorKind::Internal, &err, Code::INTERNAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_hints_under_the_message() {
        let err = CliError::user("plan is broken").hint("fix line 3");
        assert_eq!(err.to_string(), "error: plan is broken\n  hint: fix line 3");
        assert_eq!(err.code, Code::FAILURE);
    }
}
