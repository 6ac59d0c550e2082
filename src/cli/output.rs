//! Writing command output: data to stdout, diagnostics to stderr.
//!
//! A closed pipe (`wave … | head`) ends output quietly instead of panicking.

use std::io::{self, Write};

use super::CliError;

/// Writes text to stdout, adding a trailing newline when missing. A closed pipe is not an error.
pub fn print_text(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    let mut result = out.write_all(text.as_bytes());
    if result.is_ok() && !text.ends_with('\n') {
        result = out.write_all(b"\n");
    }
    finish(result.and_then(|()| out.flush()))
}

/// Writes a value as pretty JSON (2-space indent, trailing newline) to stdout.
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::internal(format!("cannot serialize output: {e}")))?;
    print_text(&text)
}

/// Writes one diagnostic line to stderr.
pub fn eprint_line(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

fn finish(result: io::Result<()>) -> Result<(), CliError> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::from),
    }
}
