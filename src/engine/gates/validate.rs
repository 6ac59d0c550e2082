//! Per-summary validations (spec §7.1, §7.3): what one agent's summary must show for its role.
//! Each returns a [`GateResult`] with upstream's status codes; the gates in the parent module
//! decide which agents to validate and in what order.

use crate::engine::ladder::{COMPLETION, COMPONENT_MATURITY, DOC_IMPACT, DURABILITY, PROOF};
use crate::engine::markers::{GATE_DIMENSIONS, MarkerKind, RejectedSample};
use crate::engine::summary::{ExecutionSummary, FileFacts, path_exists};
use crate::plan::matrix::BenchmarkCatalog;
use crate::plan::{Agent, EvalSelection, EvalTarget, ProofArtifact};

use super::{FailureClass, GateResult};

fn with_termination(detail: String, summary: Option<&ExecutionSummary>) -> String {
    match summary.map(ExecutionSummary::termination_text) {
        Some(hint) if !hint.is_empty() => format!("{detail} Termination: {hint}"),
        _ => detail,
    }
}

fn fail(agent: &str, code: &str, detail: String) -> GateResult {
    GateResult::fail(Some(agent), code, detail)
}

/// True when a declared proof artifact is required for the agent: no `required-for` levels, no
/// component target, or the highest target reaches one of the levels.
pub fn proof_artifact_required(agent: &Agent, artifact: &ProofArtifact) -> bool {
    if artifact.required_for.is_empty() {
        return true;
    }
    let highest = COMPONENT_MATURITY.highest(
        agent
            .component_targets
            .iter()
            .filter_map(|(_, level)| level.as_deref()),
    );
    let Some(highest) = highest else {
        return true;
    };
    artifact
        .required_for
        .iter()
        .any(|level| COMPONENT_MATURITY.meets_or_exceeds(Some(highest), Some(level)))
}

/// Exit 0, every deliverable present, every required proof artifact present.
pub fn transport_eligible(agent: &Agent, summary: &ExecutionSummary) -> bool {
    let delivered = agent.deliverables.iter().all(|p| {
        summary
            .deliverables
            .iter()
            .any(|d| &d.path == p && d.exists)
    });
    let artifacts = agent
        .proof_artifacts
        .iter()
        .filter(|a| proof_artifact_required(agent, a))
        .all(|a| {
            summary
                .proof_artifacts
                .iter()
                .any(|s| s.path == a.path && s.exists)
        });
    summary.exit_code == Some(0) && delivered && artifacts
}

/// The first rejected sample of a kind matching `pred`.
pub fn rejected_sample(
    summary: &ExecutionSummary,
    kind: MarkerKind,
    pred: impl Fn(&RejectedSample) -> bool,
) -> Option<&RejectedSample> {
    summary
        .structured_signal_diagnostics
        .get(kind)?
        .rejected_samples
        .iter()
        .find(|s| pred(s))
}

fn invalid_format(
    agent: &Agent,
    summary: &ExecutionSummary,
    kind: MarkerKind,
    code: &str,
    extra: &str,
    pred: impl Fn(&RejectedSample) -> bool + Copy,
) -> GateResult {
    let marker = format!("[wave-{}]", kind.tag());
    let sample = rejected_sample(summary, kind, pred);
    let mut parts = vec![format!(
        "Saw raw {marker} marker text for {}, but none of it was accepted into the structured summary.",
        agent.agent_id
    )];
    if !extra.is_empty() {
        parts.push(extra.to_owned());
    }
    if let Some(s) = sample {
        parts.push(format!("Rejected sample: {}", s.line));
    }
    let eligible = transport_eligible(agent, summary) && sample.is_some();
    let mut r = fail(
        &agent.agent_id,
        code,
        with_termination(parts.join(" "), Some(summary)),
    );
    r.failure_class = Some(FailureClass::TransportFailure);
    r.eligible_for_adjudication = eligible;
    if eligible {
        r.adjudication_hint = Some(format!(
            "Malformed {} marker with exit 0 and landed artifacts is eligible for deterministic adjudication.",
            match kind {
                MarkerKind::DocDelta => "doc-delta",
                other => other.tag(),
            }
        ));
    }
    r
}

fn missing_marker(agent: &Agent, summary: &ExecutionSummary, code: &str, what: &str) -> GateResult {
    let mut r = fail(
        &agent.agent_id,
        code,
        with_termination(
            format!("Missing {what} marker for {}.", agent.agent_id),
            Some(summary),
        ),
    );
    r.failure_class = Some(FailureClass::TransportFailure);
    r
}

fn semantic(agent: &Agent, code: &str, detail: String) -> GateResult {
    let mut r = fail(&agent.agent_id, code, detail);
    r.failure_class = Some(FailureClass::SemanticFailure);
    r
}

fn artifact(agent: &Agent, code: &str, detail: String) -> GateResult {
    let mut r = fail(&agent.agent_id, code, detail);
    r.failure_class = Some(FailureClass::ArtifactFailure);
    r
}

/// Implementation validation (§7.3), in upstream's order with its status codes and failure
/// classes (AS-13..AS-24).
pub fn implementation(agent: &Agent, summary: Option<&ExecutionSummary>) -> GateResult {
    let id = agent.agent_id.as_str();
    let Some(contract) = agent.exit_contract.as_ref() else {
        return GateResult::pass(Some(id), "No exit contract declared.");
    };
    let Some(summary) = summary else {
        let mut r = fail(
            id,
            "missing-summary",
            format!("Missing execution summary for {id}."),
        );
        r.failure_class = Some(FailureClass::StateFailure);
        return r;
    };
    let diag = |k| {
        summary
            .structured_signal_diagnostics
            .get(k)
            .cloned()
            .unwrap_or_default()
    };
    let Some(proof) = summary.proof.as_ref() else {
        if diag(MarkerKind::Proof).all_rejected() {
            return invalid_format(
                agent,
                summary,
                MarkerKind::Proof,
                "invalid-wave-proof-format",
                "",
                |_| true,
            );
        }
        return missing_marker(agent, summary, "missing-wave-proof", "[wave-proof]");
    };
    if proof.state != "met" {
        let suffix = if proof.detail.is_empty() {
            ".".to_owned()
        } else {
            format!(": {}", proof.detail)
        };
        return semantic(
            agent,
            "wave-proof-gap",
            format!("Agent {id} reported a proof gap{suffix}"),
        );
    }
    let req = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(r) = req(&contract.completion)
        && !COMPLETION.meets_or_exceeds(Some(&proof.completion), Some(&r))
    {
        return semantic(
            agent,
            "completion-gap",
            format!(
                "Agent {id} only proved {}; exit contract requires {r}.",
                proof.completion
            ),
        );
    }
    if let Some(r) = req(&contract.durability)
        && !DURABILITY.meets_or_exceeds(Some(&proof.durability), Some(&r))
    {
        return semantic(
            agent,
            "durability-gap",
            format!(
                "Agent {id} only proved {} durability; exit contract requires {r}.",
                proof.durability
            ),
        );
    }
    if let Some(r) = req(&contract.proof)
        && !PROOF.meets_or_exceeds(Some(&proof.proof), Some(&r))
    {
        return semantic(
            agent,
            "proof-level-gap",
            format!(
                "Agent {id} only proved {}; exit contract requires {r}.",
                proof.proof
            ),
        );
    }
    let Some(doc_delta) = summary.doc_delta.as_ref() else {
        if diag(MarkerKind::DocDelta).all_rejected() {
            return invalid_format(
                agent,
                summary,
                MarkerKind::DocDelta,
                "invalid-doc-delta-format",
                "",
                |_| true,
            );
        }
        return missing_marker(agent, summary, "missing-doc-delta", "[wave-doc-delta]");
    };
    if let Some(r) = req(&contract.doc_impact)
        && !DOC_IMPACT.meets_or_exceeds(Some(&doc_delta.state), Some(&r))
    {
        return semantic(
            agent,
            "doc-impact-gap",
            format!(
                "Agent {id} only reported {} doc impact; exit contract requires {r}.",
                doc_delta.state
            ),
        );
    }
    let comp_diag = diag(MarkerKind::Component);
    let seen = comp_diag.seen_component_ids.clone().unwrap_or_default();
    for component_id in &agent.components {
        let Some(marker) = summary
            .components
            .iter()
            .find(|c| &c.component_id == component_id)
        else {
            if comp_diag.raw_count > 0
                && (seen.contains(component_id) || comp_diag.accepted_count == 0)
            {
                let extra = format!("Expected a valid component marker for {component_id}.");
                return invalid_format(
                    agent,
                    summary,
                    MarkerKind::Component,
                    "invalid-wave-component-format",
                    &extra,
                    |s| s.component_id.as_deref().map(str::trim) == Some(component_id.as_str()),
                );
            }
            let mut r = fail(
                id,
                "missing-wave-component",
                format!("Missing [wave-component] marker for {id} component {component_id}."),
            );
            r.failure_class = Some(FailureClass::TransportFailure);
            return r;
        };
        let expected = agent
            .component_targets
            .iter()
            .find(|(c, _)| c == component_id)
            .and_then(|(_, l)| l.as_deref());
        if let Some(expected) = expected
            && marker.level != expected
        {
            return semantic(
                agent,
                "component-level-mismatch",
                format!(
                    "Agent {id} reported {component_id} at {}; wave requires {expected}.",
                    marker.level
                ),
            );
        }
        if marker.state != "met" {
            let detail = if marker.detail.is_empty() {
                format!("Agent {id} reported a component gap for {component_id}.")
            } else {
                marker.detail.clone()
            };
            return semantic(agent, "component-gap", detail);
        }
    }
    for path in &agent.deliverables {
        match summary.deliverables.iter().find(|d| &d.path == path) {
            None => {
                return artifact(
                    agent,
                    "missing-deliverable-summary",
                    format!("Missing deliverable presence record for {id} path {path}."),
                );
            }
            Some(d) if !d.exists => {
                return artifact(
                    agent,
                    "missing-deliverable",
                    format!("Agent {id} did not land required deliverable {path}."),
                );
            }
            Some(_) => {}
        }
    }
    for a in agent
        .proof_artifacts
        .iter()
        .filter(|a| proof_artifact_required(agent, a))
    {
        match summary.proof_artifacts.iter().find(|s| s.path == a.path) {
            None => {
                return artifact(
                    agent,
                    "missing-proof-artifact-summary",
                    format!(
                        "Missing proof artifact presence record for {id} path {}.",
                        a.path
                    ),
                );
            }
            Some(s) if !s.exists => {
                return artifact(
                    agent,
                    "missing-proof-artifact",
                    format!(
                        "Agent {id} did not land required proof artifact {}.",
                        a.path
                    ),
                );
            }
            Some(_) => {}
        }
    }
    GateResult::pass(Some(id), &format!("Exit contract satisfied for {id}."))
}

fn report_present(summary: &ExecutionSummary, files: &FileFacts) -> Option<bool> {
    summary
        .report_path
        .as_deref()
        .map(|p| path_exists(files, p))
}

/// Design summary validation (AS-08, LA-48).
pub fn design(agent_id: &str, summary: Option<&ExecutionSummary>, files: &FileFacts) -> GateResult {
    let Some(s) = summary else {
        return fail(
            agent_id,
            "missing-wave-design",
            format!("Missing [wave-design] marker for {agent_id}."),
        );
    };
    let Some(d) = s.design.as_ref() else {
        return fail(
            agent_id,
            "missing-wave-design",
            with_termination(
                format!("Missing [wave-design] marker for {agent_id}."),
                Some(s),
            ),
        );
    };
    match report_present(s, files) {
        None => {
            return fail(
                agent_id,
                "missing-design-packet",
                format!("Missing design packet path for {agent_id}."),
            );
        }
        Some(false) => {
            return fail(
                agent_id,
                "missing-design-packet",
                format!(
                    "Missing design packet at {}.",
                    s.report_path.as_deref().unwrap_or_default()
                ),
            );
        }
        Some(true) => {}
    }
    let or = |d: &str, fallback: String| if d.is_empty() { fallback } else { d.to_owned() };
    match d.state.as_str() {
        "blocked" => fail(
            agent_id,
            "design-blocked",
            or(
                &d.detail,
                format!("Design packet reported blocked for {agent_id}."),
            ),
        ),
        "needs-clarification" => fail(
            agent_id,
            "design-needs-clarification",
            or(
                &d.detail,
                format!("Design packet requested clarification for {agent_id}."),
            ),
        ),
        _ => GateResult::pass(
            Some(agent_id),
            &or(
                &d.detail,
                "Design packet is ready for implementation.".into(),
            ),
        ),
    }
}

/// Security summary validation (AS-25..AS-27).
pub fn security(
    agent_id: &str,
    summary: Option<&ExecutionSummary>,
    files: &FileFacts,
) -> GateResult {
    let Some(sec) = summary.and_then(|s| s.security.as_ref()) else {
        return fail(
            agent_id,
            "missing-wave-security",
            with_termination(
                format!("Missing [wave-security] marker for {agent_id}."),
                summary,
            ),
        );
    };
    let Some(s) = summary else {
        return fail(
            agent_id,
            "missing-wave-security",
            format!("Missing [wave-security] marker for {agent_id}."),
        );
    };
    match report_present(s, files) {
        None => {
            return fail(
                agent_id,
                "missing-security-report",
                format!("Missing security review report path for {agent_id}."),
            );
        }
        Some(false) => {
            return fail(
                agent_id,
                "missing-security-report",
                format!(
                    "Missing security review report at {}.",
                    s.report_path.as_deref().unwrap_or_default()
                ),
            );
        }
        Some(true) => {}
    }
    if sec.state == "clear" && (sec.findings > 0 || sec.approvals > 0) {
        return fail(
            agent_id,
            "invalid-security-clear-state",
            "Security review cannot report clear while findings or approvals remain open.".into(),
        );
    }
    if sec.state == "blocked" {
        let d = if sec.detail.is_empty() {
            format!("Security review reported blocked for {agent_id}.")
        } else {
            sec.detail.clone()
        };
        return fail(agent_id, "security-blocked", d);
    }
    let concerns = sec.state == "concerns";
    let detail = if !sec.detail.is_empty() {
        sec.detail.clone()
    } else if concerns {
        "Security review reported advisory concerns.".into()
    } else {
        "Security review reported clear.".into()
    };
    let mut r = GateResult::pass(Some(agent_id), &detail);
    if concerns {
        r.status_code = "security-concerns".into();
    }
    r
}

/// Integration marker validation.
pub fn integration(agent_id: &str, summary: Option<&ExecutionSummary>) -> GateResult {
    let Some(i) = summary.and_then(|s| s.integration.as_ref()) else {
        return fail(
            agent_id,
            "missing-wave-integration",
            with_termination(
                format!("Missing [wave-integration] marker for {agent_id}."),
                summary,
            ),
        );
    };
    if i.state != "ready-for-doc-closure" {
        let d = if i.detail.is_empty() {
            format!("Integration steward reported {}.", i.state)
        } else {
            i.detail.clone()
        };
        return fail(agent_id, "integration-needs-more-work", d);
    }
    let d = if i.detail.is_empty() {
        "Integration summary is ready for doc closure.".into()
    } else {
        i.detail.clone()
    };
    GateResult::pass(Some(agent_id), &d)
}

/// Documentation closure validation (AS-28, AS-29). `allow_empty_run_fallback` marks an empty
/// run (no proof, integration, verdict, closure or security markers) as eligible for
/// fallback auto-closure.
pub fn documentation(
    agent_id: &str,
    summary: Option<&ExecutionSummary>,
    allow_empty_run_fallback: bool,
) -> GateResult {
    let Some(dc) = summary.and_then(|s| s.doc_closure.as_ref()) else {
        let empty = summary.is_none_or(|s| {
            s.proof.is_none()
                && s.integration.is_none()
                && s.verdict.is_none()
                && s.security.is_none()
                && s.structured_signal_diagnostics
                    .kinds
                    .values()
                    .all(|k| k.raw_count == 0)
        });
        if allow_empty_run_fallback && empty {
            return fail(
                agent_id,
                "missing-doc-closure-empty-run",
                with_termination(
                    format!(
                        "Documentation steward {agent_id} produced no output (empty run). Eligible for fallback auto-closure."
                    ),
                    summary,
                ),
            );
        }
        return fail(
            agent_id,
            "missing-doc-closure",
            with_termination(
                format!("Missing [wave-doc-closure] marker for {agent_id}."),
                summary,
            ),
        );
    };
    if dc.state == "delta" {
        let suffix = if dc.detail.is_empty() {
            ".".to_owned()
        } else {
            format!(": {}", dc.detail)
        };
        return fail(
            agent_id,
            "doc-closure-open",
            format!("Documentation steward still reports open shared-plan delta{suffix}"),
        );
    }
    let mut r = GateResult::pass(
        Some(agent_id),
        if dc.state == "closed" {
            "Documentation steward closed the shared-plan delta."
        } else {
            "Documentation steward confirmed no shared-plan changes were needed."
        },
    );
    r.extra
        .insert("docClosureState".into(), dc.state.clone().into());
    r
}

fn unique_sorted<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Benchmarks a target allows: the pinned list, or every benchmark of its family.
pub fn allowed_benchmarks(target: &EvalTarget, catalog: Option<&BenchmarkCatalog>) -> Vec<String> {
    match target.selection {
        EvalSelection::Pinned => target.benchmarks.clone(),
        EvalSelection::Delegated => target
            .benchmark_family
            .as_ref()
            .and_then(|f| catalog.and_then(|c| c.families.get(f)))
            .cloned()
            .unwrap_or_default(),
    }
}

/// cont-EVAL validation in live (strict) mode (AS-30..AS-34).
pub fn cont_eval(
    agent_id: &str,
    summary: Option<&ExecutionSummary>,
    files: &FileFacts,
    targets: &[EvalTarget],
    catalog: Option<&BenchmarkCatalog>,
) -> GateResult {
    let Some(s) = summary else {
        return fail(
            agent_id,
            "missing-wave-eval",
            format!("Missing [wave-eval] marker for {agent_id}."),
        );
    };
    let Some(e) = s.eval.as_ref() else {
        return fail(
            agent_id,
            "missing-wave-eval",
            with_termination(
                format!("Missing [wave-eval] marker for {agent_id}."),
                Some(s),
            ),
        );
    };
    let Some(report) = s.report_path.as_deref() else {
        return fail(
            agent_id,
            "missing-cont-eval-report",
            format!("Missing cont-EVAL report path for {agent_id}."),
        );
    };
    if e.state != "satisfied" {
        let code = if e.state == "blocked" {
            "cont-eval-blocked"
        } else {
            "cont-eval-needs-more-work"
        };
        let d = if e.detail.is_empty() {
            format!("cont-EVAL reported {}.", e.state)
        } else {
            e.detail.clone()
        };
        return fail(agent_id, code, d);
    }
    if !path_exists(files, report) {
        return fail(
            agent_id,
            "missing-cont-eval-report",
            format!("Missing cont-EVAL report at {report}."),
        );
    }
    if targets.is_empty() {
        return fail(
            agent_id,
            "missing-cont-eval-contract",
            format!("Missing eval target contract for {agent_id}."),
        );
    }
    let expected = unique_sorted(targets.iter().map(|t| &t.id));
    let actual = unique_sorted(&e.target_ids);
    if actual.is_empty() {
        return fail(
            agent_id,
            "missing-cont-eval-target-ids",
            format!("Missing target_ids in [wave-eval] marker for {agent_id}."),
        );
    }
    if e.targets != actual.len() as i64 {
        return fail(
            agent_id,
            "cont-eval-target-count-mismatch",
            format!(
                "cont-EVAL reported {} targets, but target_ids enumerates {}.",
                e.targets,
                actual.len()
            ),
        );
    }
    if actual != expected {
        return fail(
            agent_id,
            "cont-eval-target-mismatch",
            format!(
                "cont-EVAL target_ids must match the declared eval targets ({}).",
                expected.join(", ")
            ),
        );
    }
    let benchmarks = unique_sorted(&e.benchmark_ids);
    if benchmarks.is_empty() {
        return fail(
            agent_id,
            "missing-cont-eval-benchmarks",
            format!("Missing benchmark_ids in [wave-eval] marker for {agent_id}."),
        );
    }
    if e.benchmarks != benchmarks.len() as i64 {
        return fail(
            agent_id,
            "cont-eval-benchmark-count-mismatch",
            format!(
                "cont-EVAL reported {} benchmarks, but benchmark_ids enumerates {}.",
                e.benchmarks,
                benchmarks.len()
            ),
        );
    }
    if e.regressions > 0 {
        let d = if e.detail.is_empty() {
            "cont-EVAL reported unresolved regressions.".into()
        } else {
            e.detail.clone()
        };
        return fail(agent_id, "cont-eval-regressions", d);
    }
    let allowed: Vec<Vec<String>> = targets
        .iter()
        .map(|t| allowed_benchmarks(t, catalog))
        .collect();
    if let Some(b) = benchmarks
        .iter()
        .find(|b| !allowed.iter().flatten().any(|a| a == *b))
    {
        return fail(
            agent_id,
            "cont-eval-benchmark-mismatch",
            format!("cont-EVAL selected undeclared benchmark \"{b}\"."),
        );
    }
    for (t, allowed) in targets.iter().zip(&allowed) {
        if t.selection == EvalSelection::Pinned {
            let missing: Vec<&String> = t
                .benchmarks
                .iter()
                .filter(|b| !benchmarks.contains(b))
                .collect();
            if !missing.is_empty() {
                let m: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                return fail(
                    agent_id,
                    "cont-eval-benchmark-mismatch",
                    format!(
                        "cont-EVAL must include pinned benchmarks for {}: {}.",
                        t.id,
                        m.join(", ")
                    ),
                );
            }
        } else if !allowed.iter().any(|a| benchmarks.contains(a)) {
            return fail(
                agent_id,
                "cont-eval-benchmark-mismatch",
                format!(
                    "cont-EVAL must select at least one benchmark from family \"{}\" for {}.",
                    t.benchmark_family.as_deref().unwrap_or_default(),
                    t.id
                ),
            );
        }
    }
    let d = if e.detail.is_empty() {
        "cont-EVAL reported satisfied targets.".into()
    } else {
        e.detail.clone()
    };
    GateResult::pass(Some(agent_id), &d)
}

/// cont-QA validation in live (strict) mode (AS-35, AS-36, LA-01, LA-02).
pub fn cont_qa(
    agent_id: &str,
    summary: Option<&ExecutionSummary>,
    files: &FileFacts,
) -> GateResult {
    let Some(s) = summary else {
        return fail(
            agent_id,
            "missing-cont-qa",
            format!("Missing cont-QA summary for {agent_id}."),
        );
    };
    let Some(g) = s.gate.as_ref() else {
        return fail(
            agent_id,
            "missing-wave-gate",
            with_termination(
                format!("Missing [wave-gate] marker for {agent_id}."),
                Some(s),
            ),
        );
    };
    match report_present(s, files) {
        None => {
            return fail(
                agent_id,
                "missing-cont-qa-report",
                format!("Missing cont-QA report path for {agent_id}."),
            );
        }
        Some(false) => {
            return fail(
                agent_id,
                "missing-cont-qa-report",
                format!(
                    "Missing cont-QA report at {}.",
                    s.report_path.as_deref().unwrap_or_default()
                ),
            );
        }
        Some(true) => {}
    }
    let Some(v) = s.verdict.as_ref().filter(|v| !v.verdict.is_empty()) else {
        return fail(
            agent_id,
            "missing-cont-qa-verdict",
            with_termination(
                format!("Missing Verdict line or [wave-verdict] marker for {agent_id}."),
                Some(s),
            ),
        );
    };
    if v.verdict != "pass" {
        let d = if v.detail.is_empty() {
            "Verdict read from cont-QA report.".into()
        } else {
            v.detail.clone()
        };
        return fail(agent_id, &format!("cont-qa-{}", v.verdict), d);
    }
    let mut gaps = Vec::new();
    for dim in GATE_DIMENSIONS {
        let value = g.dimension(dim);
        if value == "gap" {
            gaps.push(dim);
        } else if value != "pass" {
            let d = if g.detail.is_empty() {
                format!("Final cont-QA gate did not pass {dim}; got {value}.")
            } else {
                g.detail.clone()
            };
            return fail(agent_id, &format!("gate-{dim}-{value}"), d);
        }
    }
    if !gaps.is_empty() {
        let d = if g.detail.is_empty() {
            format!(
                "cont-QA gate passed with documented gaps in: {}.",
                gaps.join(", ")
            )
        } else {
            g.detail.clone()
        };
        let mut r = GateResult::pass(Some(agent_id), &d);
        r.status_code = "conditional-pass".into();
        return r;
    }
    let d = [v.detail.as_str(), g.detail.as_str()]
        .into_iter()
        .find(|d| !d.is_empty())
        .unwrap_or("cont-QA gate passed.");
    GateResult::pass(Some(agent_id), d)
}
