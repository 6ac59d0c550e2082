//! Adapters from the reducer's reduced coordination state to the gates' [`CoordinationFacts`].
//! Pure: reads the reducer's values, copies what the barriers need.

use crate::engine::coordination::AssignmentState;
use crate::engine::reducer::{Assignment, CoordRecord, Dependency, FeedbackRequest};

use super::{CoordinationFacts, DependencyTicket, HelperAssignment, OpenRecord};

impl OpenRecord {
    /// The barrier view of an open coordination record.
    pub fn from_record(r: &CoordRecord) -> Self {
        OpenRecord {
            id: r.id.to_string(),
            kind: r.kind.as_str().to_owned(),
            agent_id: r.agent_id.to_string(),
            targets: r.targets.iter().map(|t| t.to_string()).collect(),
            blocking: r.blocks_wave(),
            clarification_linked: r.clarification_condition().is_some(),
        }
    }
}

impl CoordinationFacts {
    /// Builds the facts from the latest coordination records (open ones are kept), the
    /// reducer's helper assignments and dependencies, and the feedback requests.
    pub fn from_reduced<'r>(
        records: impl IntoIterator<Item = &'r CoordRecord>,
        assignments: &[Assignment],
        dependencies: &[Dependency<'_>],
        feedback: &[FeedbackRequest],
    ) -> Self {
        CoordinationFacts {
            open_records: records
                .into_iter()
                .filter(|r| r.is_open())
                .map(OpenRecord::from_record)
                .collect(),
            helper_assignments: assignments
                .iter()
                .filter(|a| a.state != AssignmentState::Resolved)
                .map(|a| HelperAssignment {
                    request_id: a.request_id.to_owned(),
                    assigned_agent_id: a.assigned_agent_id.clone(),
                    blocking: a.blocking,
                })
                .collect(),
            dependencies: dependencies
                .iter()
                .filter(|d| d.blocking)
                .map(|d| DependencyTicket {
                    id: d.id.to_owned(),
                    inbound: d.direction == "inbound",
                    required: d.required,
                    assigned_agent_id: d.assigned_agent_id.clone(),
                })
                .collect(),
            pending_feedback: feedback
                .iter()
                .filter(|f| f.status == "pending")
                .map(|f| f.id.clone())
                .collect(),
        }
    }
}
