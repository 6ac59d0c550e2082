//! [`RecordView`]: the read access every coordination rule needs, implemented by the owned
//! [`CoordinationRecord`] and by the reducer's lighter [`CoordRecord`]. The blocking predicates,
//! response metrics and helper-assignment resolution are written once, over this trait.
//!
//! Must not: parse, allocate or decide anything; it only exposes fields.

use crate::engine::reducer::CoordRecord;
use crate::event::coordination::{BlockerSeverity, CoordinationRecord, Kind, Priority, Status};

/// Read access to a normalized coordination record (§3.2).
pub trait RecordView {
    /// Text list element (`String` or `Box<str>`).
    type Text: AsRef<str>;
    /// Record id.
    fn id(&self) -> &str;
    /// Kind.
    fn kind(&self) -> Kind;
    /// Status.
    fn status(&self) -> Status;
    /// Priority.
    fn priority(&self) -> Priority;
    /// The raw `blocking` flag (see [`super::blocks_wave`] for the rule).
    fn blocking(&self) -> bool;
    /// Severity.
    fn blocker_severity(&self) -> BlockerSeverity;
    /// Author.
    fn agent_id(&self) -> &str;
    /// Writer (`launcher`, `agent`, …).
    fn source(&self) -> &str;
    /// Targets.
    fn targets(&self) -> &[Self::Text];
    /// Dependencies.
    fn depends_on(&self) -> &[Self::Text];
    /// Artifact references.
    fn artifact_refs(&self) -> &[Self::Text];
    /// Closure condition.
    fn closure_condition(&self) -> &str;
    /// First `createdAt`.
    fn created_at(&self) -> &str;
    /// Latest `updatedAt`.
    fn updated_at(&self) -> &str;
    /// Summary.
    fn summary(&self) -> &str;
    /// Detail.
    fn detail(&self) -> &str;
}

macro_rules! record_view {
    ($ty:ty, $text:ty) => {
        impl RecordView for $ty {
            type Text = $text;
            fn id(&self) -> &str {
                &self.id
            }
            fn kind(&self) -> Kind {
                self.kind
            }
            fn status(&self) -> Status {
                self.status
            }
            fn priority(&self) -> Priority {
                self.priority
            }
            fn blocking(&self) -> bool {
                self.blocking
            }
            fn blocker_severity(&self) -> BlockerSeverity {
                self.blocker_severity
            }
            fn agent_id(&self) -> &str {
                &self.agent_id
            }
            fn source(&self) -> &str {
                &self.source
            }
            fn targets(&self) -> &[$text] {
                &self.targets
            }
            fn depends_on(&self) -> &[$text] {
                &self.depends_on
            }
            fn artifact_refs(&self) -> &[$text] {
                &self.artifact_refs
            }
            fn closure_condition(&self) -> &str {
                &self.closure_condition
            }
            fn created_at(&self) -> &str {
                &self.created_at
            }
            fn updated_at(&self) -> &str {
                &self.updated_at
            }
            fn summary(&self) -> &str {
                &self.summary
            }
            fn detail(&self) -> &str {
                &self.detail
            }
        }
    };
}

record_view!(CoordinationRecord, String);
record_view!(CoordRecord, Box<str>);

/// A reference reads like the record (so `filter(|r| blocks_wave(r))` works on iterators of
/// references).
impl<R: RecordView + ?Sized> RecordView for &R {
    type Text = R::Text;
    fn id(&self) -> &str {
        (**self).id()
    }
    fn kind(&self) -> Kind {
        (**self).kind()
    }
    fn status(&self) -> Status {
        (**self).status()
    }
    fn priority(&self) -> Priority {
        (**self).priority()
    }
    fn blocking(&self) -> bool {
        (**self).blocking()
    }
    fn blocker_severity(&self) -> BlockerSeverity {
        (**self).blocker_severity()
    }
    fn agent_id(&self) -> &str {
        (**self).agent_id()
    }
    fn source(&self) -> &str {
        (**self).source()
    }
    fn targets(&self) -> &[Self::Text] {
        (**self).targets()
    }
    fn depends_on(&self) -> &[Self::Text] {
        (**self).depends_on()
    }
    fn artifact_refs(&self) -> &[Self::Text] {
        (**self).artifact_refs()
    }
    fn closure_condition(&self) -> &str {
        (**self).closure_condition()
    }
    fn created_at(&self) -> &str {
        (**self).created_at()
    }
    fn updated_at(&self) -> &str {
        (**self).updated_at()
    }
    fn summary(&self) -> &str {
        (**self).summary()
    }
    fn detail(&self) -> &str {
        (**self).detail()
    }
}
