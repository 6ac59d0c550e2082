//! Closure adjudication of transport-only failures (spec §4.7, GE-01..GE-03): a malformed
//! proof, doc-delta or component marker from an agent that exited 0 and landed every artifact
//! can be recovered deterministically from the rejected line's raw values.
//!
//! Decision order: any semantic negative signal (proof gap or `[wave-gap]`) → `rework-required`;
//! open blocking coordination authored by or targeted at the agent → `ambiguous`; else rebuild a
//! canonical marker from the rejected sample, re-parse it, and re-validate the recovered summary
//! → `pass` or `rework-required`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::markers::{MarkerKind, RawValues, Signals, parse_candidate};
use crate::engine::summary::ExecutionSummary;
use crate::plan::Agent;

use super::{CoordinationFacts, GateResult, validate};

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdjudicationStatus {
    /// The recovered summary meets the contract: the gate passes.
    Pass,
    /// Coordination is still open: wait (`awaiting-adjudication`).
    Ambiguous,
    /// The agent must rework: the original failure stands.
    ReworkRequired,
}

/// One adjudication (`wave-closure-adjudication` artifact body).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Adjudication {
    /// Agent.
    pub agent_id: String,
    /// Decision.
    pub status: AdjudicationStatus,
    /// Always `transport-failure`.
    pub failure_class: String,
    /// `semantic-negative-signal`, `blocking-coordination`, `reconstruction-failed`,
    /// `recovered-summary-invalid` or `recovered`.
    pub reason: String,
    /// Human detail.
    pub detail: String,
    /// Deterministic evidence.
    pub evidence: Vec<Value>,
    /// Canonical lines synthesized from rejected samples.
    pub synthesized_signals: Vec<String>,
}

impl Adjudication {
    /// The persisted artifact (`S/closure/wave-N/attempt-A/<id>.json`).
    pub fn artifact(&self, lane: &str, wave: u64, attempt: u64, created_at: &str) -> Value {
        json!({
            "schemaVersion": 1,
            "kind": "wave-closure-adjudication",
            "lane": lane,
            "wave": wave,
            "attempt": attempt,
            "agentId": self.agent_id,
            "status": self.status,
            "failureClass": self.failure_class,
            "reason": self.reason,
            "detail": self.detail,
            "evidence": self.evidence,
            "synthesizedSignals": self.synthesized_signals,
            "createdAt": created_at,
        })
    }
}

fn rebuild(kind: MarkerKind, raw: &RawValues) -> String {
    let keys: &[&str] = match kind {
        MarkerKind::Proof => &["completion", "durability", "proof", "state"],
        MarkerKind::DocDelta => &["state"],
        _ => &["component", "level", "state"],
    };
    let mut line = format!("[wave-{}]", kind.tag());
    for k in keys {
        line.push_str(&format!(" {k}={}", raw.get(k).unwrap_or("")));
    }
    line
}

/// Adjudicates an eligible transport failure of `agent`'s implementation validation.
pub fn adjudicate(
    agent: &Agent,
    summary: &ExecutionSummary,
    failure: &GateResult,
    coordination: &CoordinationFacts,
) -> Adjudication {
    let id = agent.agent_id.clone();
    let evidence = vec![
        json!({"kind": "exit-code", "value": summary.exit_code}),
        json!({"kind": "deliverables", "value": summary.deliverables.iter().all(|d| d.exists)}),
        json!({"kind": "proof-artifacts", "value": summary.proof_artifacts.iter().all(|a| a.exists)}),
    ];
    let done = |status, reason: &str, detail: String, synthesized: Vec<String>| Adjudication {
        agent_id: id.clone(),
        status,
        failure_class: "transport-failure".into(),
        reason: reason.into(),
        detail,
        evidence: evidence.clone(),
        synthesized_signals: synthesized,
    };
    if summary.proof.as_ref().is_some_and(|p| p.state == "gap") || !summary.gaps.is_empty() {
        return done(
            AdjudicationStatus::ReworkRequired,
            "semantic-negative-signal",
            format!(
                "{id} reported a proof gap or [wave-gap]; the malformed marker cannot be recovered."
            ),
            Vec::new(),
        );
    }
    if let Some(r) = coordination
        .open_records
        .iter()
        .find(|r| r.blocking && r.involves(&id))
    {
        return done(
            AdjudicationStatus::Ambiguous,
            "blocking-coordination",
            format!(
                "Open blocking coordination {} involves {id}; adjudication waits for it.",
                r.id
            ),
            Vec::new(),
        );
    }
    let kind = match failure.status_code.as_str() {
        "invalid-wave-proof-format" => MarkerKind::Proof,
        "invalid-doc-delta-format" => MarkerKind::DocDelta,
        "invalid-wave-component-format" => MarkerKind::Component,
        other => {
            return done(
                AdjudicationStatus::ReworkRequired,
                "not-adjudicable",
                format!("Status {other} is not a malformed-marker failure."),
                Vec::new(),
            );
        }
    };
    let samples: Vec<&RawValues> = summary
        .structured_signal_diagnostics
        .get(kind)
        .map(|d| {
            d.rejected_samples
                .iter()
                .filter(|s| {
                    kind != MarkerKind::Component
                        || s.component_id
                            .as_ref()
                            .is_some_and(|c| agent.components.contains(c))
                })
                .map(|s| &s.raw_values)
                .collect()
        })
        .unwrap_or_default();
    let samples = if kind == MarkerKind::Component {
        samples
    } else {
        samples.into_iter().take(1).collect()
    };
    if samples.is_empty() {
        return done(
            AdjudicationStatus::ReworkRequired,
            "reconstruction-failed",
            format!(
                "No rejected [wave-{}] sample to rebuild for {id}.",
                kind.tag()
            ),
            Vec::new(),
        );
    }
    let mut recovered = summary.clone();
    let mut synthesized = Vec::new();
    for raw in samples {
        let line = rebuild(kind, raw);
        let Some(c) = parse_candidate(&line).filter(|c| c.accepted) else {
            return done(
                AdjudicationStatus::ReworkRequired,
                "reconstruction-failed",
                format!("Rebuilt marker `{line}` is still invalid."),
                vec![line],
            );
        };
        let signals = Signals::from_signal_text(&c.normalized_line);
        match kind {
            MarkerKind::Proof => recovered.proof = signals.proof,
            MarkerKind::DocDelta => recovered.doc_delta = signals.doc_delta,
            _ => {
                for m in signals.components {
                    recovered
                        .components
                        .retain(|x| x.component_id != m.component_id);
                    recovered.components.push(m);
                }
            }
        }
        synthesized.push(c.normalized_line);
    }
    let check = validate::implementation(agent, Some(&recovered));
    if !check.ok {
        return done(
            AdjudicationStatus::ReworkRequired,
            "recovered-summary-invalid",
            format!(
                "Recovered summary still fails: {} ({}).",
                check.status_code, check.detail
            ),
            synthesized,
        );
    }
    done(
        AdjudicationStatus::Pass,
        "recovered",
        format!(
            "Recovered {} marker(s) for {id} from rejected samples.",
            synthesized.len()
        ),
        synthesized,
    )
}
