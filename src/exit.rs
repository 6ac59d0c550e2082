//! Exit codes of the `wave` binary: a documented, stable API.
//!
//! Scripts and CI steps branch on these numbers, so a code never changes meaning. The table is
//! repeated in `docs/exit-codes.md`; a test keeps the two in step.
//!
//! | code | name | meaning |
//! |---|---|---|
//! | 0 | `OK` | the command did what was asked; for verdicts: closed and proven |
//! | 1 | `FAILURE` | the command ran and the answer is "no": an invalid plan, a failing gate, a failed agent |
//! | 2 | `USAGE` | bad flags or arguments; nothing was done |
//! | 32 | `LOCK_HELD` | another live process holds the launcher lock for this lane |
//! | 42 | `CONT_QA_ONLY` | the only failures left are cont-QA's (upstream's 42) |
//! | 43 | `BLOCKED` | recoverable: waiting on a human, a dependency or a retry |
//! | 70 | `INTERNAL` | a bug or an infrastructure error (I/O, network); never a verdict |

/// A process exit code with a stable meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    /// Success.
    pub const OK: Code = Code(0);
    /// The command ran and the answer is "no".
    pub const FAILURE: Code = Code(1);
    /// Bad flags or arguments; nothing was done.
    pub const USAGE: Code = Code(2);
    /// Another live process holds the lane's launcher lock.
    pub const LOCK_HELD: Code = Code(32);
    /// Only cont-QA failures remain.
    pub const CONT_QA_ONLY: Code = Code(42);
    /// Recoverable: blocked on a human, a dependency or a retry.
    pub const BLOCKED: Code = Code(43);
    /// A bug or an infrastructure error; never a verdict.
    pub const INTERNAL: Code = Code(70);

    /// Every documented code with its name, in numeric order.
    pub const ALL: [(Code, &'static str); 7] = [
        (Code::OK, "OK"),
        (Code::FAILURE, "FAILURE"),
        (Code::USAGE, "USAGE"),
        (Code::LOCK_HELD, "LOCK_HELD"),
        (Code::CONT_QA_ONLY, "CONT_QA_ONLY"),
        (Code::BLOCKED, "BLOCKED"),
        (Code::INTERNAL, "INTERNAL"),
    ];
}

impl From<Code> for std::process::ExitCode {
    fn from(code: Code) -> Self {
        std::process::ExitCode::from(code.0)
    }
}
