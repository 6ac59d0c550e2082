//! Launcher seed records (§3.6): the records the launcher keeps in every wave's coordination
//! log — one assignment request per agent, one decision per component promotion, the
//! shared-plan docs request, the integration-summary seed and a mirror of every human
//! feedback request. A seed is returned only when one of its comparable fields differs from
//! the latest stored version (so operator edits to a seed are reverted, as upstream does).
//!
//! Deliberate difference from upstream: a request seed whose latest version is resolved or
//! closed stays so (upstream re-opens it on the next refresh and relies on its ledger phase to
//! stop the open `wave-N-shared-plan-docs` request from blocking a closed wave). When a wave
//! closes, [`close_seeds`] resolves the launcher's open request seeds.

use serde_json::json;

use super::{TriageError, TriageRoles, build};
use crate::engine::coordination::CoordinationState;
use crate::event::coordination::{CoordinationRecord, Kind, Status};

/// One agent of the plan, as the seeds need it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedAgent {
    /// Agent id.
    pub id: String,
    /// Agent title.
    pub title: String,
    /// Prompt overlay (falls back to the title when blank).
    pub prompt_overlay: String,
    /// Owned paths.
    pub owned_paths: Vec<String>,
}

/// A human feedback request to mirror.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeedFeedbackRequest {
    /// Request id (also the record id).
    pub id: String,
    /// Requesting agent (blank: `human`, no target).
    pub agent_id: String,
    /// Question.
    pub question: String,
    /// Context.
    pub context: String,
    /// Whether it was answered.
    pub answered: bool,
}

/// What the seeds are built from.
#[derive(Debug, Clone)]
pub struct SeedInputs<'a> {
    /// Lane.
    pub lane: &'a str,
    /// Wave.
    pub wave: u64,
    /// Agents in plan order.
    pub agents: &'a [SeedAgent],
    /// Closure-role ids.
    pub roles: &'a TriageRoles,
    /// Component promotions: (component id, target level).
    pub promotions: &'a [(String, String)],
    /// Shared-plan docs of the lane.
    pub shared_plan_docs: &'a [String],
    /// Human feedback requests of the wave.
    pub feedback: &'a [SeedFeedbackRequest],
    /// Materialized coordination log (the latest stored versions).
    pub state: &'a CoordinationState,
    /// The current time (wire form).
    pub now: &'a str,
}

fn desired(i: &SeedInputs<'_>) -> Result<Vec<CoordinationRecord>, TriageError> {
    let (w, lane, now) = (i.wave, i.lane, i.now);
    let r = i.roles;
    let mut out = Vec::new();
    let closure = |id: &str| {
        [&r.cont_qa, &r.cont_eval, &r.documentation, &r.integration]
            .iter()
            .any(|x| *x == id)
    };
    for a in i.agents {
        let targets: Vec<String> = if closure(&a.id) {
            vec![]
        } else {
            vec![format!("agent:{}", a.id)]
        };
        let high = [&r.cont_qa, &r.cont_eval, &r.documentation]
            .iter()
            .any(|x| **x == a.id);
        let detail = if a.prompt_overlay.trim().is_empty() {
            &a.title
        } else {
            &a.prompt_overlay
        };
        out.push(build(
            json!({
                "id": format!("wave-{w}-agent-{}-request", a.id), "kind": "request", "lane": lane,
                "wave": w, "agentId": "launcher", "targets": targets,
                "priority": if high { "high" } else { "normal" },
                "summary": format!("Wave {w} assigned to {}: {}", a.id, a.title), "detail": detail,
                "artifactRefs": a.owned_paths, "source": "launcher", "createdAt": now, "updatedAt": now,
            }),
            now,
        )?);
    }
    for (cid, level) in i.promotions {
        out.push(build(
            json!({
                "id": format!("wave-{w}-component-{cid}"), "kind": "decision", "lane": lane, "wave": w,
                "agentId": "launcher", "summary": format!("Promote {cid} to {level}"),
                "detail": format!("Wave {w} requires component {cid} at {level}."),
                "artifactRefs": [cid], "priority": "high", "status": "in_progress",
                "source": "launcher", "createdAt": now, "updatedAt": now,
            }),
            now,
        )?);
    }
    if !i.shared_plan_docs.is_empty() {
        out.push(build(
            json!({
                "id": format!("wave-{w}-shared-plan-docs"), "kind": "request", "lane": lane, "wave": w,
                "agentId": "launcher", "targets": [format!("agent:{}", r.documentation)], "priority": "high",
                "summary": format!("Reconcile shared-plan documentation for wave {w}"),
                "detail": format!("Documentation steward must reconcile {}", i.shared_plan_docs.join(", ")),
                "artifactRefs": i.shared_plan_docs, "source": "launcher", "createdAt": now, "updatedAt": now,
            }),
            now,
        )?);
    }
    if i.agents.iter().any(|a| a.id == r.integration) {
        out.push(build(
            json!({
                "id": format!("wave-{w}-integration-summary"), "kind": "integration-summary", "lane": lane,
                "wave": w, "agentId": "launcher", "targets": [format!("agent:{}", r.integration)],
                "priority": "high",
                "summary": format!("Synthesize wave {w} before documentation and cont-QA closure"),
                "detail": "Integration steward must reconcile open claims, blockers, interfaces, and release risk.",
                "source": "launcher", "createdAt": now, "updatedAt": now,
            }),
            now,
        )?);
    }
    for f in i.feedback {
        let agent = f.agent_id.trim();
        let targets: Vec<String> = if agent.is_empty() {
            vec![]
        } else {
            vec![format!("agent:{agent}")]
        };
        out.push(build(
            json!({
                "id": f.id, "kind": "human-feedback", "lane": lane, "wave": w,
                "agentId": if agent.is_empty() { "human" } else { agent }, "targets": targets,
                "priority": "high",
                "summary": if f.question.trim().is_empty() { "Human feedback requested" } else { f.question.as_str() },
                "detail": f.context, "status": if f.answered { "resolved" } else { "open" },
                "source": "launcher", "createdAt": now, "updatedAt": now,
            }),
            now,
        )?);
    }
    Ok(out)
}

/// Whether two versions agree on every comparable field (everything but id, times, extras).
fn same(a: &CoordinationRecord, b: &CoordinationRecord) -> bool {
    a.kind == b.kind
        && a.wave == b.wave
        && a.lane == b.lane
        && a.agent_id == b.agent_id
        && a.targets == b.targets
        && a.status == b.status
        && a.priority == b.priority
        && a.artifact_refs == b.artifact_refs
        && a.depends_on == b.depends_on
        && a.closure_condition == b.closure_condition
        && a.confidence == b.confidence
        && a.summary == b.summary
        && a.detail == b.detail
        && a.attempt == b.attempt
        && a.source == b.source
        && a.executor_id == b.executor_id
        && a.requester_lane == b.requester_lane
        && a.owner_lane == b.owner_lane
        && a.requester_wave == b.requester_wave
        && a.owner_wave == b.owner_wave
        && a.required == b.required
}

/// The seed records to append: each desired seed whose comparable fields differ from the
/// latest stored version (a re-appended seed keeps the stored `createdAt`).
pub fn seed_records(inputs: &SeedInputs<'_>) -> Result<Vec<CoordinationRecord>, TriageError> {
    Ok(desired(inputs)?
        .into_iter()
        .filter_map(|mut seed| match inputs.state.get(&seed.id) {
            Some(stored) if same(stored, &seed) => None,
            Some(stored)
                if stored.kind == Kind::Request
                    && matches!(stored.status, Status::Resolved | Status::Closed) =>
            {
                None
            }
            Some(stored) => {
                seed.created_at = stored.created_at.clone();
                Some(seed)
            }
            None => Some(seed),
        })
        .collect())
}

/// Resolved versions, stamped `now`, of the launcher's open request seeds of a closed wave
/// (the per-agent assignment requests and the shared-plan docs request), with `detail` saying
/// why.
pub fn close_seeds(
    state: &CoordinationState,
    wave: u64,
    detail: &str,
    now: &str,
) -> Vec<CoordinationRecord> {
    let shared = format!("wave-{wave}-shared-plan-docs");
    let agent_prefix = format!("wave-{wave}-agent-");
    state
        .requests()
        .filter(|r| r.agent_id == "launcher" && r.status.is_open())
        .filter(|r| {
            r.id == shared || (r.id.starts_with(&agent_prefix) && r.id.ends_with("-request"))
        })
        .filter_map(|r| super::update(r, Status::Resolved, detail, None, now))
        .collect()
}
