//! Closure-role recognition (spec §1.6): which agent is cont-QA, cont-EVAL, integration or
//! documentation steward, security reviewer or design agent, and the report paths they own.

use std::sync::LazyLock;

use regex::Regex;

use super::config::LaneProfile;
use super::model::{Agent, ClosureRole, WavePlan};
use super::text::js_trim;

/// The default security role prompt path (recognized whatever the lane configures).
pub const DEFAULT_SECURITY_ROLE_PROMPT: &str = "docs/agents/wave-security-role.md";
/// The default design role prompt path (recognized whatever the lane configures).
pub const DEFAULT_DESIGN_ROLE_PROMPT: &str = "docs/agents/wave-design-role.md";

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    // Constant patterns; the unit tests exercise each one.
    Regex::new(pattern).expect("role patterns are valid regexes")
}

static CONT_QA_REPORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|/)(?:reviews?|.*cont[-_]?qa).*\.(?:md|txt)$"));
static CONT_EVAL_REPORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|/)(?:reviews?|.*cont[-_]?eval|.*eval).*\.(?:md|txt)$"));
static SECURITY_REPORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|/).*security.*\.(?:md|txt)$"));
static DESIGN_REPORT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:^|/).*(?:design|handoff|decision-lineage).*\.(?:md|txt)$"));

fn clean_path(p: &str) -> String {
    js_trim(p).replace('\\', "/")
}

/// A cont-QA report path (`reviews/…` or `…cont-qa….md|txt`).
pub fn is_cont_qa_report_path(p: &str) -> bool {
    CONT_QA_REPORT.is_match(&clean_path(p))
}

/// A cont-EVAL report path.
pub fn is_cont_eval_report_path(p: &str) -> bool {
    CONT_EVAL_REPORT.is_match(&clean_path(p))
}

/// A security review report path.
pub fn is_security_report_path(p: &str) -> bool {
    SECURITY_REPORT.is_match(&clean_path(p))
}

/// A design packet path.
pub fn is_design_report_path(p: &str) -> bool {
    DESIGN_REPORT.is_match(&clean_path(p))
}

fn matches_role_prompt(path: &str, configured: &str, default: &str, file_name: &str) -> bool {
    let p = clean_path(path);
    p == clean_path(configured) || p == default || p.ends_with(file_name)
}

/// True when a role prompt path is the lane's (or the default) security role prompt.
pub fn is_security_role_prompt(path: &str, lane: &LaneProfile) -> bool {
    matches_role_prompt(
        path,
        &lane.roles.security_role_prompt_path,
        DEFAULT_SECURITY_ROLE_PROMPT,
        "/wave-security-role.md",
    )
}

/// True when a role prompt path is the lane's (or the default) design role prompt.
pub fn is_design_role_prompt(path: &str, lane: &LaneProfile) -> bool {
    matches_role_prompt(
        path,
        &lane.roles.design_role_prompt_path,
        DEFAULT_DESIGN_ROLE_PROMPT,
        "/wave-design-role.md",
    )
}

fn has_capability(agent: &Agent, capability: &str) -> bool {
    agent
        .capabilities
        .iter()
        .any(|c| js_trim(c).to_lowercase() == capability)
}

/// A security reviewer: imports the security role prompt or has capability `security-review`.
pub fn is_security_reviewer(agent: &Agent, lane: &LaneProfile) -> bool {
    agent
        .role_prompts
        .iter()
        .any(|r| is_security_role_prompt(&r.path, lane))
        || has_capability(agent, "security-review")
}

/// A design agent: imports the design role prompt or has capability `design`.
pub fn is_design_agent(agent: &Agent, lane: &LaneProfile) -> bool {
    agent
        .role_prompts
        .iter()
        .any(|r| is_design_role_prompt(&r.path, lane))
        || has_capability(agent, "design")
}

fn owned(agent: &Agent) -> impl Iterator<Item = String> + '_ {
    agent
        .owned_paths
        .iter()
        .map(|p| clean_path(p))
        .filter(|p| !p.is_empty())
}

/// A design agent that owns at least one path that is not a design packet.
pub fn is_implementation_owning_design_agent(agent: &Agent, lane: &LaneProfile) -> bool {
    is_design_agent(agent, lane) && owned(agent).any(|p| !is_design_report_path(&p))
}

/// A design agent that owns only design packets (or nothing).
pub fn is_docs_only_design_agent(agent: &Agent, lane: &LaneProfile) -> bool {
    is_design_agent(agent, lane) && !is_implementation_owning_design_agent(agent, lane)
}

/// The cont-EVAL agent owning at least one non-report path.
pub fn is_cont_eval_implementation_owning(agent: &Agent, lane: &LaneProfile) -> bool {
    agent.agent_id == lane.roles.cont_eval_agent_id
        && owned(agent).any(|p| !is_cont_eval_report_path(&p))
}

/// The cont-EVAL agent owning only report paths (or nothing).
pub fn is_cont_eval_report_only(agent: &Agent, lane: &LaneProfile) -> bool {
    agent.agent_id == lane.roles.cont_eval_agent_id
        && !is_cont_eval_implementation_owning(agent, lane)
}

/// A closure or report-only agent, exempt from component and exit-contract rules: cont-QA,
/// integration, documentation, report-only cont-EVAL, docs-only design, security reviewer.
pub fn is_exempt_from_implementation_rules(agent: &Agent, lane: &LaneProfile) -> bool {
    let r = &lane.roles;
    [
        &r.cont_qa_agent_id,
        &r.integration_agent_id,
        &r.documentation_agent_id,
    ]
    .contains(&&agent.agent_id)
        || is_cont_eval_report_only(agent, lane)
        || is_docs_only_design_agent(agent, lane)
        || is_security_reviewer(agent, lane)
}

/// An implementation-owning wave agent: not exempt from the implementation rules.
pub fn is_implementation_owning(agent: &Agent, lane: &LaneProfile) -> bool {
    !is_exempt_from_implementation_rules(agent, lane)
}

/// The security report path an agent owns, if any.
pub fn security_report_path(agent: &Agent) -> Option<String> {
    owned(agent).find(|p| is_security_report_path(p))
}

/// The design packet path an agent owns, if any.
pub fn design_report_path(agent: &Agent) -> Option<String> {
    owned(agent).find(|p| is_design_report_path(p))
}

/// The report path of the first agent with this id: the first owned path matching `is_report`,
/// else its first owned path.
pub fn report_path(
    agents: &[Agent],
    agent_id: &str,
    is_report: fn(&str) -> bool,
) -> Option<String> {
    let agent = agents.iter().find(|a| a.agent_id == agent_id)?;
    agent
        .owned_paths
        .iter()
        .find(|p| is_report(p))
        .or_else(|| agent.owned_paths.first())
        .cloned()
}

/// The closure roles an agent holds, in upstream's order (more than one is a validation error).
pub fn closure_roles(agent: &Agent, lane: &LaneProfile) -> Vec<ClosureRole> {
    let r = &lane.roles;
    let mut roles = Vec::new();
    if agent.agent_id == r.cont_eval_agent_id {
        roles.push(ClosureRole::ContEval);
    }
    if is_security_reviewer(agent, lane) {
        roles.push(ClosureRole::SecurityReview);
    }
    if agent.agent_id == r.integration_agent_id {
        roles.push(ClosureRole::Integration);
    }
    if agent.agent_id == r.documentation_agent_id {
        roles.push(ClosureRole::Documentation);
    }
    if agent.agent_id == r.cont_qa_agent_id {
        roles.push(ClosureRole::ContQa);
    }
    roles
}

/// The wave's role bindings: who plays each lane role, the security reviewers, and every
/// closure agent id (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleBindings {
    /// cont-QA agent id.
    pub cont_qa_agent_id: String,
    /// cont-EVAL agent id.
    pub cont_eval_agent_id: String,
    /// Integration steward id.
    pub integration_agent_id: String,
    /// Documentation steward id.
    pub documentation_agent_id: String,
    /// Security reviewer ids, sorted.
    pub security_reviewer_agent_ids: Vec<String>,
    /// All closure agent ids (the four lane roles plus reviewers), sorted, de-duplicated.
    pub closure_agent_ids: Vec<String>,
}

/// Resolves the wave's role bindings from the lane roles.
pub fn role_bindings(plan: &WavePlan, lane: &LaneProfile) -> RoleBindings {
    let r = &lane.roles;
    let mut reviewers: Vec<String> = plan
        .agents
        .iter()
        .filter(|a| is_security_reviewer(a, lane))
        .map(|a| a.agent_id.clone())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    let mut closure: Vec<String> = [
        &r.cont_eval_agent_id,
        &r.integration_agent_id,
        &r.documentation_agent_id,
        &r.cont_qa_agent_id,
    ]
    .into_iter()
    .cloned()
    .chain(reviewers.iter().cloned())
    .filter(|s| !s.is_empty())
    .collect();
    closure.sort();
    closure.dedup();
    RoleBindings {
        cont_qa_agent_id: r.cont_qa_agent_id.clone(),
        cont_eval_agent_id: r.cont_eval_agent_id.clone(),
        integration_agent_id: r.integration_agent_id.clone(),
        documentation_agent_id: r.documentation_agent_id.clone(),
        security_reviewer_agent_ids: reviewers,
        closure_agent_ids: closure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_path_patterns() {
        assert!(is_cont_qa_report_path(
            "docs/plans/waves/reviews/wave-1-cont-qa.md"
        ));
        assert!(is_cont_qa_report_path("x/Cont_QA-notes.TXT"));
        assert!(!is_cont_qa_report_path("src/lib.rs"));
        assert!(is_cont_eval_report_path("docs/evals/wave-1-eval.md"));
        assert!(is_security_report_path(
            ".tmp/main-wave-launcher/security/wave-0-review.md"
        ));
        assert!(is_design_report_path(
            "docs/plans/waves/design/wave-2-D1.md"
        ));
        assert!(!is_design_report_path("src/runtime.ts"));
    }
}
