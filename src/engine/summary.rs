//! Execution summaries (spec §2.4) and the result envelope built from one (spec §5.1).
//!
//! Owns: the summary of one agent run — its markers after "which marker wins", deliverable and
//! proof-artifact presence, the cont-QA verdict, marker diagnostics and termination detection —
//! and its translation into a [`ResultEnvelope`]. Must not: read files or the clock. The caller
//! passes the log text, the report text, the status record and [`FileFacts`] (presence and
//! modification time of the agent's declared paths and report), which it gathers at the edge.
//!
//! Decisions:
//! - The log is cut to its last [`LOG_TAIL_CHARS`] characters, as upstream, so the same log gives
//!   the same summary in both runtimes.
//! - The verdict comes only from the report's first `Verdict:` line, as upstream 0.9.15 (its
//!   preference for a log `[wave-verdict]` never takes effect because that tag is not a signal).
//! - `terminationObservedTurnLimit` is `null` when no `Reached max turns (n)` line was seen
//!   (upstream writes `0`, from `Number(null)`).
//! - The envelope's role is the agent's closure role when it has one (cont-QA, cont-EVAL,
//!   integration, documentation, security, design) instead of upstream's inference from the
//!   sections present, which types every marker-less summary `implementation`. The
//!   `implementation` section is written for implementation agents and whenever a doc-delta or
//!   component marker exists.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::engine::markers::{
    self, ComponentMarker, DesignMarker, Diagnostics, DocMarker, EvalMarker, GapMarker, GateMarker,
    IntegrationMarker, LOG_TAIL_CHARS, ProofMarker, SecurityMarker, Signals, Verdict,
};
use crate::event::envelope::{EnvelopeError, ResultEnvelope};
use crate::plan::{Agent, ExecutorId};

/// What is known about one repository path at summary time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FileFact {
    /// The path exists.
    pub exists: bool,
    /// Its modification time (wire timestamp), when it exists.
    pub modified_at: Option<String>,
    /// SHA-256 of its content, when the caller hashed it.
    pub sha256: Option<String>,
}

/// Facts about repository-relative paths; a path that is absent from the map does not exist.
pub type FileFacts = BTreeMap<String, FileFact>;

/// True when the facts say the path exists.
pub fn path_exists(files: &FileFacts, path: &str) -> bool {
    files.get(path).is_some_and(|f| f.exists)
}

/// The status record an agent run leaves (`{code, promptHash, attempt, completedAt}` plus an
/// optional failure text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusRecord {
    /// Exit code.
    pub code: Option<i64>,
    /// Prompt fingerprint the run used.
    pub prompt_hash: Option<String>,
    /// Attempt number.
    pub attempt: Option<u64>,
    /// When the run finished.
    pub completed_at: Option<String>,
    /// `detail`, `message`, `error` or `reason`, the first present.
    pub detail: Option<String>,
}

/// Why a run ended early, if it did (§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TerminationReason {
    /// `Reached max turns (n)` in the log.
    MaxTurns,
    /// `timed out` in the log.
    Timeout,
    /// The status record carried a failure text.
    StatusDetail,
    /// Non-zero exit code.
    ExitCode,
}

/// A delivered file's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliverableState {
    /// Path.
    pub path: String,
    /// Exists.
    pub exists: bool,
    /// Modification time.
    pub modified_at: Option<String>,
    /// Content hash, when known (not part of upstream's summary; carried into the envelope).
    #[serde(skip)]
    pub sha256: Option<String>,
}

/// A proof artifact's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofArtifactState {
    /// Path.
    pub path: String,
    /// Kind.
    pub kind: Option<String>,
    /// Levels it is required for.
    pub required_for: Vec<String>,
    /// Exists.
    pub exists: bool,
    /// Modification time.
    pub modified_at: Option<String>,
    /// Content hash, when known.
    #[serde(skip)]
    pub sha256: Option<String>,
}

/// An agent's execution summary (`S/status/wave-N-<slug>.summary.json`), upstream's fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSummary {
    /// Agent id.
    pub agent_id: String,
    /// Prompt fingerprint of the run.
    pub prompt_hash: Option<String>,
    /// Exit code.
    pub exit_code: Option<i64>,
    /// Finish time.
    pub completed_at: Option<String>,
    /// Last `[wave-proof]`.
    pub proof: Option<ProofMarker>,
    /// Last `[wave-doc-delta]`.
    pub doc_delta: Option<DocMarker>,
    /// Last `[wave-doc-closure]`.
    pub doc_closure: Option<DocMarker>,
    /// Last `[wave-integration]`.
    pub integration: Option<IntegrationMarker>,
    /// Last `[wave-eval]`.
    pub eval: Option<EvalMarker>,
    /// Last `[wave-security]`.
    pub security: Option<SecurityMarker>,
    /// Last `[wave-design]`.
    pub design: Option<DesignMarker>,
    /// Last `[wave-gate]`.
    pub gate: Option<GateMarker>,
    /// Last `[wave-component]` per component.
    pub components: Vec<ComponentMarker>,
    /// Every `[wave-gap]`.
    pub gaps: Vec<GapMarker>,
    /// Declared deliverables and their presence.
    pub deliverables: Vec<DeliverableState>,
    /// Declared proof artifacts and their presence.
    pub proof_artifacts: Vec<ProofArtifactState>,
    /// First `Verdict:` line of the report.
    pub verdict: Option<Verdict>,
    /// Marker diagnostics.
    pub structured_signal_diagnostics: Diagnostics,
    /// Why the run ended early.
    pub termination_reason: Option<TerminationReason>,
    /// Human hint for the termination (empty when none).
    pub termination_hint: String,
    /// The turn limit seen in `Reached max turns (n)`.
    pub termination_observed_turn_limit: Option<u64>,
    /// Repository-relative log path.
    pub log_path: String,
    /// Repository-relative report path.
    pub report_path: Option<String>,
}

/// Everything a summary is built from.
#[derive(Debug, Clone, Copy)]
pub struct SummaryInputs<'a> {
    /// The agent as planned.
    pub agent: &'a Agent,
    /// The executor that ran it (a Codex max-turns hint names the missing flag).
    pub executor: Option<ExecutorId>,
    /// Its status record, when one was written.
    pub status: Option<&'a StatusRecord>,
    /// The whole log text (the tail is taken here).
    pub log_text: &'a str,
    /// Repository-relative log path.
    pub log_path: &'a str,
    /// The agent's report path (cont-QA, cont-EVAL, design packet or security report).
    pub report_path: Option<&'a str>,
    /// The report's text, when it exists (the tail is taken here).
    pub report_text: Option<&'a str>,
    /// Presence of the agent's deliverables and proof artifacts.
    pub files: &'a FileFacts,
}

static MAX_TURNS_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i-u:reached max turns) \(([0-9]+)\)"));
static TIMED_OUT_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"((?i-u:timed out)(?:(?i-u: after )[^\n.]+)?)"));

#[allow(clippy::expect_used)]
fn re(p: &str) -> Regex {
    // Constant patterns exercised by the tests.
    Regex::new(p).expect("termination patterns are valid")
}

/// Termination detection (§2.4): `(reason, hint, observed turn limit)`.
pub fn detect_termination(
    log_tail: &str,
    executor: Option<ExecutorId>,
    status: Option<&StatusRecord>,
) -> (Option<TerminationReason>, String, Option<u64>) {
    if let Some(c) = MAX_TURNS_RE.captures(log_tail) {
        let base = c.get(0).map_or("", |m| m.as_str()).trim().to_owned();
        let limit = c.get(1).and_then(|m| m.as_str().parse().ok());
        let hint = if executor == Some(ExecutorId::Codex) {
            format!(
                "{base}. Wave does not set a Codex turn-limit flag; inspect launch-preview.json limits for any profile or upstream-runtime ceiling notes."
            )
        } else {
            base
        };
        return (Some(TerminationReason::MaxTurns), hint, limit);
    }
    if let Some(m) = TIMED_OUT_RE.find(log_tail) {
        return (
            Some(TerminationReason::Timeout),
            m.as_str().trim().to_owned(),
            None,
        );
    }
    if let Some(detail) = status
        .and_then(|s| s.detail.as_deref())
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        return (
            Some(TerminationReason::StatusDetail),
            detail.to_owned(),
            None,
        );
    }
    match status.and_then(|s| s.code) {
        Some(code) if code != 0 => (
            Some(TerminationReason::ExitCode),
            format!("Exit code {code}."),
            None,
        ),
        _ => (None, String::new(), None),
    }
}

/// Builds an execution summary.
pub fn build_summary(inputs: &SummaryInputs<'_>) -> ExecutionSummary {
    let log_tail = markers::tail(inputs.log_text, LOG_TAIL_CHARS);
    let payload = markers::extract(log_tail);
    let signals = Signals::from_signal_text(&payload.signal_text);
    let verdict = inputs
        .report_path
        .and(inputs.report_text)
        .and_then(|t| markers::report_verdict(markers::tail(t, LOG_TAIL_CHARS)));
    let (termination_reason, termination_hint, limit) =
        detect_termination(log_tail, inputs.executor, inputs.status);
    let fact = |p: &str| inputs.files.get(p).cloned().unwrap_or_default();
    let agent = inputs.agent;
    ExecutionSummary {
        agent_id: agent.agent_id.clone(),
        prompt_hash: inputs.status.and_then(|s| s.prompt_hash.clone()),
        exit_code: inputs.status.and_then(|s| s.code),
        completed_at: inputs.status.and_then(|s| s.completed_at.clone()),
        proof: signals.proof,
        doc_delta: signals.doc_delta,
        doc_closure: signals.doc_closure,
        integration: signals.integration,
        eval: signals.eval,
        security: signals.security,
        design: signals.design,
        gate: signals.gate,
        components: signals.components,
        gaps: signals.gaps,
        deliverables: agent
            .deliverables
            .iter()
            .map(|p| {
                let f = fact(p);
                DeliverableState {
                    path: p.clone(),
                    exists: f.exists,
                    modified_at: f.modified_at.filter(|_| f.exists),
                    sha256: f.sha256,
                }
            })
            .collect(),
        proof_artifacts: agent
            .proof_artifacts
            .iter()
            .map(|a| {
                let f = fact(&a.path);
                ProofArtifactState {
                    path: a.path.clone(),
                    kind: a.kind.clone(),
                    required_for: a.required_for.clone(),
                    exists: f.exists,
                    modified_at: f.modified_at.filter(|_| f.exists),
                    sha256: f.sha256,
                }
            })
            .collect(),
        verdict,
        structured_signal_diagnostics: payload.diagnostics,
        termination_reason,
        termination_hint,
        termination_observed_turn_limit: limit,
        log_path: inputs.log_path.to_owned(),
        report_path: inputs.report_path.map(str::to_owned),
    }
}

impl ExecutionSummary {
    /// An empty summary for an agent that has not reported (used by tests and adjudication).
    pub fn empty(agent_id: &str) -> Self {
        ExecutionSummary {
            agent_id: agent_id.to_owned(),
            prompt_hash: None,
            exit_code: None,
            completed_at: None,
            proof: None,
            doc_delta: None,
            doc_closure: None,
            integration: None,
            eval: None,
            security: None,
            design: None,
            gate: None,
            components: Vec::new(),
            gaps: Vec::new(),
            deliverables: Vec::new(),
            proof_artifacts: Vec::new(),
            verdict: None,
            structured_signal_diagnostics: Diagnostics::default(),
            termination_reason: None,
            termination_hint: String::new(),
            termination_observed_turn_limit: None,
            log_path: String::new(),
            report_path: None,
        }
    }

    /// `hint` or `reason` for appending to failure details.
    pub fn termination_text(&self) -> String {
        if !self.termination_hint.trim().is_empty() {
            return self.termination_hint.trim().to_owned();
        }
        match self.termination_reason {
            Some(r) => serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// The wire form.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The envelope role of an agent: `implementation`, `design`, `integration`, `documentation`,
/// `cont-qa`, `cont-eval`, `security` or `deploy`.
pub type EnvelopeRole = &'static str;

/// Where and when an envelope is written.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeContext<'a> {
    /// Wave number.
    pub wave: u64,
    /// Attempt number.
    pub attempt: u64,
    /// The agent's role (see [`EnvelopeRole`]); `None` infers it from the summary's sections.
    pub role: Option<EnvelopeRole>,
    /// Used when the summary has no completion time.
    pub completed_at_fallback: &'a str,
}

fn opt_text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

/// Role from the sections present, upstream's precedence.
pub fn infer_role(summary: &ExecutionSummary) -> EnvelopeRole {
    if summary.integration.is_some() {
        "integration"
    } else if summary.design.is_some() {
        "design"
    } else if summary.doc_closure.is_some() {
        "documentation"
    } else if summary.eval.is_some() {
        "cont-eval"
    } else if summary.security.is_some() {
        "security"
    } else if summary.gate.is_some() || summary.verdict.is_some() {
        "cont-qa"
    } else {
        "implementation"
    }
}

/// The result envelope of a summary (§5.1), validated by [`ResultEnvelope::from_value`].
pub fn build_envelope(
    summary: &ExecutionSummary,
    ctx: &EnvelopeContext<'_>,
) -> Result<ResultEnvelope, EnvelopeError> {
    ResultEnvelope::from_value(envelope_value(summary, ctx), Some(&summary.agent_id))
}

/// The envelope's JSON (what [`build_envelope`] validates).
pub fn envelope_value(summary: &ExecutionSummary, ctx: &EnvelopeContext<'_>) -> Value {
    let role = ctx.role.unwrap_or_else(|| infer_role(summary));
    let proof = summary.proof.as_ref();
    let state = match proof.map(|p| p.state.as_str()) {
        Some("met") => "satisfied",
        Some("gap") => "partial",
        Some("failed") => "failed",
        _ => "not_applicable",
    };
    let mut env = Map::new();
    env.insert("schemaVersion".into(), json!(2));
    env.insert("agentId".into(), json!(summary.agent_id));
    env.insert("waveNumber".into(), json!(ctx.wave));
    env.insert("attempt".into(), json!(ctx.attempt));
    env.insert(
        "completedAt".into(),
        json!(
            summary
                .completed_at
                .clone()
                .unwrap_or_else(|| ctx.completed_at_fallback.to_owned())
        ),
    );
    env.insert("exitCode".into(), json!(summary.exit_code.unwrap_or(0)));
    env.insert("role".into(), json!(role));
    env.insert(
        "proof".into(),
        json!({
            "state": state,
            "completion": proof.map_or(Value::Null, |p| opt_text(&p.completion)),
            "durability": proof.map_or(Value::Null, |p| opt_text(&p.durability)),
            "proofLevel": proof.map_or(Value::Null, |p| opt_text(&p.proof)),
            "detail": proof.map_or(Value::Null, |p| opt_text(&p.detail)),
        }),
    );
    env.insert(
        "deliverables".into(),
        Value::Array(
            summary
                .deliverables
                .iter()
                .map(|d| json!({"path": d.path, "exists": d.exists, "sha256": d.sha256}))
                .collect(),
        ),
    );
    env.insert(
        "proofArtifacts".into(),
        Value::Array(
            summary
                .proof_artifacts
                .iter()
                .map(|a| {
                    json!({"path": a.path, "kind": a.kind, "exists": a.exists,
                           "sha256": a.sha256, "requiredFor": a.required_for})
                })
                .collect(),
        ),
    );
    env.insert(
        "gaps".into(),
        Value::Array(
            summary
                .gaps
                .iter()
                .map(|g| json!({"kind": g.kind, "detail": opt_text(&g.detail)}))
                .collect(),
        ),
    );
    env.insert("unresolvedBlockers".into(), json!([]));
    env.insert("riskNotes".into(), json!([]));
    env.insert("facts".into(), json!([]));
    if role == "implementation" || summary.doc_delta.is_some() || !summary.components.is_empty() {
        let dd = summary.doc_delta.as_ref();
        env.insert(
            "implementation".into(),
            json!({
                "docDelta": {
                    "state": dd.map_or("none", |d| d.state.as_str()),
                    "paths": dd.map_or(Vec::new(), |d| d.paths.clone()),
                    "detail": dd.map_or(Value::Null, |d| opt_text(&d.detail)),
                },
                "components": summary.components.iter().map(|c| json!({
                    "componentId": c.component_id, "level": c.level, "state": c.state,
                    "detail": opt_text(&c.detail),
                })).collect::<Vec<_>>(),
            }),
        );
    }
    match role {
        "design" => {
            let d = summary.design.as_ref();
            env.insert(
                "design".into(),
                json!({
                    "state": d.map(|d| d.state.clone()),
                    "decisions": d.map_or(0, |d| d.decisions),
                    "assumptions": d.map_or(0, |d| d.assumptions),
                    "openQuestions": d.map_or(0, |d| d.open_questions),
                    "detail": d.map_or(Value::Null, |d| opt_text(&d.detail)),
                }),
            );
        }
        "integration" => {
            let i = summary.integration.as_ref();
            env.insert(
                "integration".into(),
                json!({
                    "state": i.map(|i| i.state.clone()),
                    "claims": i.map_or(0, |i| i.claims),
                    "conflicts": i.map_or(0, |i| i.conflicts),
                    "blockers": i.map_or(0, |i| i.blockers),
                    "detail": i.map_or(Value::Null, |i| opt_text(&i.detail)),
                }),
            );
        }
        "documentation" => {
            // The steward's own closure marker, not an implementation doc-delta.
            let d = summary.doc_closure.as_ref();
            env.insert(
                "documentation".into(),
                json!({"docClosure": {
                    "state": d.map_or("no-change", |d| d.state.as_str()),
                    "paths": d.map_or(Vec::new(), |d| d.paths.clone()),
                    "detail": d.map_or(Value::Null, |d| opt_text(&d.detail)),
                }}),
            );
        }
        "cont-qa" => {
            let v = summary.verdict.as_ref();
            let mut qa = Map::new();
            qa.insert(
                "verdict".into(),
                json!({
                    "verdict": v.map(|v| v.verdict.clone()),
                    "detail": v.map_or(Value::Null, |v| opt_text(&v.detail)),
                }),
            );
            if let Some(g) = &summary.gate {
                qa.insert(
                    "gateClaims".into(),
                    json!({
                        "architecture": g.architecture, "integration": g.integration,
                        "durability": g.durability, "live": g.live, "docs": g.docs,
                        "detail": opt_text(&g.detail),
                    }),
                );
            }
            env.insert("contQa".into(), Value::Object(qa));
        }
        "cont-eval" => {
            let e = summary.eval.as_ref();
            env.insert(
                "contEval".into(),
                json!({
                    "state": e.map(|e| e.state.clone()),
                    "targets": e.map_or(0, |e| e.targets),
                    "benchmarks": e.map_or(0, |e| e.benchmarks),
                    "regressions": e.map_or(0, |e| e.regressions),
                    "targetIds": e.map_or(Vec::new(), |e| e.target_ids.clone()),
                    "benchmarkIds": e.map_or(Vec::new(), |e| e.benchmark_ids.clone()),
                    "detail": e.map_or(Value::Null, |e| opt_text(&e.detail)),
                }),
            );
        }
        "security" => {
            let s = summary.security.as_ref();
            env.insert(
                "security".into(),
                json!({
                    "state": s.map(|s| s.state.clone()),
                    "findings": s.map_or(0, |s| s.findings),
                    "approvals": s.map_or(0, |s| s.approvals),
                    "detail": s.map_or(Value::Null, |s| opt_text(&s.detail)),
                }),
            );
        }
        "deploy" => {
            env.insert(
                "deploy".into(),
                json!({"state": "not_applicable", "environment": null, "healthCheck": null,
                       "rolloutArtifact": null, "detail": null}),
            );
        }
        _ => {}
    }
    Value::Object(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termination_detection_order() {
        let (r, h, n) =
            detect_termination("x\nReached max turns (12)\n", Some(ExecutorId::Codex), None);
        assert_eq!(r, Some(TerminationReason::MaxTurns));
        assert_eq!(n, Some(12));
        assert!(h.contains("Wave does not set a Codex turn-limit flag"));
        let (r, h, _) = detect_termination("agent timed out after 5 minutes.\n", None, None);
        assert_eq!(r, Some(TerminationReason::Timeout));
        assert_eq!(h, "timed out after 5 minutes");
        let status = StatusRecord {
            code: Some(2),
            detail: Some("boom".into()),
            ..Default::default()
        };
        assert_eq!(
            detect_termination("", None, Some(&status)).0,
            Some(TerminationReason::StatusDetail)
        );
        let status = StatusRecord {
            code: Some(2),
            ..Default::default()
        };
        let (r, h, _) = detect_termination("", None, Some(&status));
        assert_eq!(
            (r, h.as_str()),
            (Some(TerminationReason::ExitCode), "Exit code 2.")
        );
        assert_eq!(detect_termination("", None, None).0, None);
    }
}
