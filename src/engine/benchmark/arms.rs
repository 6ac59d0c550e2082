//! Arms (spec §13.3): how each arm projects a case's coordination state into a shared summary,
//! per-agent inboxes and helper assignments; and scoring of those projections (§13.4).

use crate::event::coordination::is_js_space;
use serde::Serialize;

use crate::engine::coordination::{
    Assignment, ProjectionInputs, RoutingLedger, TimingOptions, build_request_assignments,
    inbox_view, shared_summary_view,
};
use crate::event::coordination::CoordinationRecord;
use crate::render::inbox::render_inbox;
use crate::render::summary::render_shared_summary;

use super::case::{BenchmarkCase, MinimumDistinct};
use super::catalog::Family;
use super::stats::{JsNumber, percent, round2};

/// What an arm produced for a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmArtifacts {
    /// Shared summary text.
    pub shared_summary: String,
    /// Inbox text per agent, in fixture order.
    #[serde(serialize_with = "serialize_pairs")]
    pub inboxes: Vec<(String, String)>,
    /// Helper assignments.
    pub assignments: Vec<Assignment>,
    /// Whether the arm guards against premature closure.
    pub blocking_guard: bool,
}

pub(crate) fn serialize_pairs<S: serde::Serializer, V: Serialize>(
    items: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(items.len()))?;
    for (k, v) in items {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl ArmArtifacts {
    fn inbox(&self, agent_id: &str) -> &str {
        self.inboxes
            .iter()
            .find(|(id, _)| id == agent_id)
            .map_or("", |(_, text)| text.as_str())
    }
}

fn coordination_line(record: &CoordinationRecord) -> String {
    let text = [&record.summary, &record.detail]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or(&record.id);
    format!("- {} {}: {}", record.kind, record.id, text)
}

fn local_lines(case: &BenchmarkCase) -> Vec<String> {
    case.fixture
        .state
        .latest_records()
        .iter()
        .filter(|r| r.agent_id == case.fixture.primary_agent_id)
        .map(coordination_line)
        .collect()
}

fn single_agent(case: &BenchmarkCase) -> ArmArtifacts {
    let primary = &case.fixture.primary_agent_id;
    let lines = local_lines(case);
    let body = if lines.is_empty() {
        "- None.".to_owned()
    } else {
        lines.join("\n")
    };
    let summary = format!(
        "# Single Agent Local View\n\n- Agent: {primary}\n- Visible records: {}\n\n## Local coordination\n{body}\n",
        lines.len()
    );
    let inboxes = case
        .fixture
        .agents
        .iter()
        .map(|agent| {
            let text = if agent.agent_id == *primary {
                format!("# Local Inbox For {}\n\n{body}\n", agent.agent_id)
            } else {
                format!(
                    "# Inbox unavailable for {}\n\n- This arm does not compile targeted inboxes.\n",
                    agent.agent_id
                )
            };
            (agent.agent_id.clone(), text)
        })
        .collect();
    ArmArtifacts {
        shared_summary: summary,
        inboxes,
        assignments: Vec::new(),
        blocking_guard: false,
    }
}

fn minimal(case: &BenchmarkCase) -> ArmArtifacts {
    let state = &case.fixture.state;
    let summary = format!(
        "# Minimal Shared Summary\n\n- Open records: {}\n- Requests: {}\n- Blockers: {}\n- Clarifications: {}\n\n## Coordination shape\n- This baseline keeps only coarse counts and does not preserve detailed targeted facts.\n",
        state.open_records().count(),
        state.requests().count(),
        state.blockers().count(),
        state.clarifications().count()
    );
    let inboxes = case
        .fixture
        .agents
        .iter()
        .map(|agent| (agent.agent_id.clone(), summary.clone()))
        .collect();
    ArmArtifacts {
        shared_summary: summary,
        inboxes,
        assignments: Vec::new(),
        blocking_guard: false,
    }
}

fn full_wave(case: &BenchmarkCase, now_ms: i64) -> ArmArtifacts {
    let state = &case.fixture.state;
    let assignments = build_request_assignments(
        state,
        &case.fixture.agents,
        &RoutingLedger::default(),
        &case.fixture.capability_routing,
    );
    let timing = TimingOptions::at(now_ms);
    let wave = case.fixture.wave_number;
    let summary = render_shared_summary(&shared_summary_view(
        wave,
        state,
        &assignments,
        ProjectionInputs::default(),
        timing,
    ))
    .text;
    let inboxes = case
        .fixture
        .agents
        .iter()
        .map(|agent| {
            let view = inbox_view(
                wave,
                agent,
                state,
                &assignments,
                ProjectionInputs::default(),
                timing,
            );
            (agent.agent_id.clone(), render_inbox(&view).text)
        })
        .collect();
    let blocking_guard = case.expectations.require_blocking_guard
        && state.open_clarification_linked_requests().next().is_some();
    ArmArtifacts {
        shared_summary: summary,
        inboxes,
        assignments,
        blocking_guard,
    }
}

/// Builds an arm's artifacts; `None` for an arm this runtime does not know.
pub fn build_artifacts(case: &BenchmarkCase, arm: &str, now_ms: i64) -> Option<ArmArtifacts> {
    match arm {
        "single-agent" => Some(single_agent(case)),
        "multi-agent-minimal" => Some(minimal(case)),
        "full-wave" | "full-wave-plus-improvement" => Some(full_wave(case, now_ms)),
        _ => None,
    }
}

/// A recall figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Recall {
    /// Facts found.
    pub matched: usize,
    /// Facts expected.
    pub total: usize,
    /// `percent(matched, total)`.
    pub percent: JsNumber,
}

impl Recall {
    fn of(matched: usize, total: usize) -> Self {
        Self {
            matched,
            total,
            percent: JsNumber(percent(matched as f64, total as f64)),
        }
    }

    fn value(self) -> f64 {
        self.percent.0
    }
}

/// Scoring details of one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreDetails {
    /// Global facts in the integration-visible text.
    pub global_facts: Recall,
    /// Summary facts in the shared summary.
    pub summary_facts: Recall,
    /// Targeted facts in their agents' inboxes.
    pub targeted_inboxes: Recall,
    /// Clarification ids anywhere.
    pub clarification_recall: Recall,
    /// Expected assignees.
    pub assignment_precision: Recall,
    /// Distinct assignees.
    pub distinct_assigned_agents: usize,
    /// The arm's blocking guard.
    pub blocking_guard: bool,
}

/// Metric ids in output order.
pub const METRIC_IDS: [&str; 18] = [
    "distributed-info-accuracy",
    "latent-asymmetry-surfacing-rate",
    "premature-convergence-rate",
    "global-state-reconstruction-rate",
    "summary-fact-retention-rate",
    "communication-reasoning-gap",
    "projection-consistency-rate",
    "targeted-inbox-recall",
    "integration-coherence-rate",
    "contradiction-detection-rate",
    "repair-closure-rate",
    "false-consensus-rate",
    "deadlock-rate",
    "contention-resolution-rate",
    "symmetry-breaking-rate",
    "expert-preservation-rate",
    "capability-routing-precision",
    "expert-performance-gap",
];

fn contains_fact(text_lower: &str, fact: &str) -> bool {
    text_lower.contains(fact.trim_matches(is_js_space).to_lowercase().as_str())
}

fn recall(text: &str, facts: &[String]) -> Recall {
    let lower = text.to_lowercase();
    Recall::of(
        facts.iter().filter(|f| contains_fact(&lower, f)).count(),
        facts.len(),
    )
}

/// The space-joined assignment line used in scoring texts.
pub fn assignment_line(a: &Assignment) -> String {
    [
        a.request_id.as_str(),
        a.summary.as_str(),
        a.target.as_str(),
        a.assigned_agent_id.as_deref().unwrap_or("unassigned"),
        a.assignment_reason.as_str(),
        a.assignment_detail.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

fn joined<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Scores an arm's artifacts: metrics in [`METRIC_IDS`] order, and details.
pub fn score(
    case: &BenchmarkCase,
    artifacts: &ArmArtifacts,
) -> (Vec<(&'static str, f64)>, ScoreDetails) {
    let expectations = &case.expectations;
    let lines: Vec<String> = artifacts.assignments.iter().map(assignment_line).collect();
    let integration_ids: Vec<&str> = case
        .fixture
        .agents
        .iter()
        .filter(|a| a.capabilities.iter().any(|c| c == "integration"))
        .map(|a| a.agent_id.as_str())
        .collect();
    let integration_text = joined(
        std::iter::once(artifacts.shared_summary.as_str())
            .chain(integration_ids.iter().map(|id| artifacts.inbox(id)))
            .chain(lines.iter().map(String::as_str)),
    );
    let union_text = joined(
        std::iter::once(artifacts.shared_summary.as_str())
            .chain(artifacts.inboxes.iter().map(|(_, t)| t.as_str()))
            .chain(lines.iter().map(String::as_str)),
    );
    let global = recall(&integration_text, &expectations.global_facts);
    let summary = recall(&artifacts.shared_summary, &expectations.summary_facts);
    let targeted = if expectations.targeted_inboxes.is_empty() {
        Recall::of(0, 0)
    } else {
        let mut matched = 0;
        let mut total = 0;
        for (agent_id, facts) in &expectations.targeted_inboxes {
            let inbox = artifacts.inbox(agent_id).to_lowercase();
            total += facts.len();
            matched += facts.iter().filter(|f| contains_fact(&inbox, f)).count();
        }
        Recall::of(matched, total)
    };
    let assignment = if expectations.required_assignments.is_empty() {
        Recall::of(0, 0)
    } else {
        let lookup = |request_id: &str| {
            artifacts
                .assignments
                .iter()
                .rev()
                .find(|a| a.request_id == request_id)
                .map(|a| a.assigned_agent_id.as_deref())
        };
        let matched = expectations
            .required_assignments
            .iter()
            .filter(|e| lookup(&e.request_id) == Some(Some(e.assigned_agent_id.as_str())))
            .count();
        Recall::of(matched, expectations.required_assignments.len())
    };
    let mut distinct: Vec<&str> = artifacts
        .assignments
        .iter()
        .filter_map(|a| a.assigned_agent_id.as_deref())
        .filter(|a| !a.is_empty())
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let distinct = distinct.len();
    let clarification = recall(&union_text, &expectations.clarification_request_ids);
    let guard_miss = expectations.require_blocking_guard && !artifacts.blocking_guard;
    let guard = if guard_miss { 100.0 } else { 0.0 };
    let (g, s, t, a) = (
        global.value(),
        summary.value(),
        targeted.value(),
        assignment.value(),
    );
    let d = distinct as f64;
    let deadlock = match expectations.minimum_distinct_assigned_agents {
        MinimumDistinct::Value(min) if min != 0 && d < min as f64 => 100.0,
        _ => 0.0,
    };
    let symmetry = match expectations.minimum_distinct_assigned_agents {
        MinimumDistinct::Absent | MinimumDistinct::Invalid => 100.0,
        MinimumDistinct::Value(min) => percent(d.min(min as f64), min as f64),
    };
    let metrics = vec![
        ("distributed-info-accuracy", g),
        (
            "latent-asymmetry-surfacing-rate",
            if expectations.clarification_request_ids.is_empty() {
                t
            } else {
                clarification.value()
            },
        ),
        ("premature-convergence-rate", guard),
        ("global-state-reconstruction-rate", g),
        ("summary-fact-retention-rate", s),
        ("communication-reasoning-gap", round2(100.0 - g)),
        ("projection-consistency-rate", s),
        ("targeted-inbox-recall", t),
        ("integration-coherence-rate", g),
        ("contradiction-detection-rate", t),
        ("repair-closure-rate", a),
        ("false-consensus-rate", guard),
        ("deadlock-rate", deadlock),
        ("contention-resolution-rate", a),
        ("symmetry-breaking-rate", symmetry),
        ("expert-preservation-rate", t),
        ("capability-routing-precision", a),
        ("expert-performance-gap", round2(100.0 - t)),
    ];
    let details = ScoreDetails {
        global_facts: global,
        summary_facts: summary,
        targeted_inboxes: targeted,
        clarification_recall: clarification,
        assignment_precision: assignment,
        distinct_assigned_agents: distinct,
        blocking_guard: artifacts.blocking_guard,
    };
    (metrics, details)
}

/// The result of one arm on one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmResult {
    /// Arm id.
    pub arm: String,
    /// Primary metric value.
    pub score: JsNumber,
    /// Score with lower-is-better flipped (`100 − score`).
    pub aligned_score: JsNumber,
    /// Threshold met (or none set).
    pub passed: bool,
    /// Direction of the primary metric.
    pub direction: String,
    /// Threshold of the primary metric.
    pub threshold: Option<JsNumber>,
    /// Every metric.
    #[serde(serialize_with = "serialize_metrics")]
    pub metrics: Vec<(&'static str, f64)>,
    /// Details.
    pub details: ScoreDetails,
    /// Artifacts.
    pub artifacts: ArmArtifacts,
}

fn serialize_metrics<S: serde::Serializer>(
    items: &[(&'static str, f64)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(items.len()))?;
    for (k, v) in items {
        map.serialize_entry(k, &JsNumber(*v))?;
    }
    map.end()
}

/// Evaluates one arm of one case.
pub fn evaluate(
    case: &BenchmarkCase,
    family: &Family,
    arm: &str,
    now_ms: i64,
) -> Option<ArmResult> {
    let artifacts = build_artifacts(case, arm, now_ms)?;
    let (metrics, details) = score(case, &artifacts);
    let primary = case.scoring.primary_metric.as_str();
    let score = metrics
        .iter()
        .find(|(id, _)| *id == primary)
        .map_or(0.0, |(_, v)| *v);
    let direction = family.direction(primary).to_owned();
    let lower = direction == "lower-is-better";
    let threshold = case.scoring.threshold(primary);
    let passed = threshold.is_none_or(|t| if lower { score <= t } else { score >= t });
    Some(ArmResult {
        arm: arm.to_owned(),
        score: JsNumber(score),
        aligned_score: JsNumber(round2(if lower { 100.0 - score } else { score })),
        passed,
        direction,
        threshold: threshold.map(JsNumber),
        metrics,
        details,
        artifacts,
    })
}
