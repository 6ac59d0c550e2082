//! The integration summary (§10.9): evidence from the coordination state, the agents'
//! latest outcomes, the docs queue, dependencies and helper assignments; the recommendation is
//! the integration steward's marker when it reported one, else inferred from the evidence.
//!
//! Owns: the evidence lists and the recommendation, and the deploy and infra risks of an agent
//! log's text ([`log_deploy_risks`]). Must not: do I/O or read the clock (times are
//! parameters): the caller reads the logs and passes each agent's risks in, in agent order.

use std::collections::{BTreeMap, BTreeSet};

use super::CoordinationState;
use super::assignments::Assignment;
use super::ledger::{AgentOutcome, DocsQueue, LedgerAgent, TaskKind};
use super::views::DependencySnapshot;
use crate::engine::markers;
use crate::event::coordination::{CoordinationRecord, Kind, Status};
use crate::plan::parse::compact_single_line;

/// The integration summary (`S/integration/wave-N.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrationReport {
    /// `A8` (the steward reported) or `launcher` (inferred).
    pub agent_id: String,
    /// The steward reported a marker.
    pub explicit: bool,
    /// Open claims.
    pub open_claims: Vec<String>,
    /// Open claims mentioning a conflict or contradiction.
    pub conflicting_claims: Vec<String>,
    /// Open blockers.
    pub unresolved_blockers: Vec<String>,
    /// Actionable records mentioning interfaces, contracts, APIs, schemas, migrations or
    /// signatures.
    pub changed_interfaces: Vec<String>,
    /// Records whose artifact owners and agent targets span more than one agent.
    pub cross_component_impacts: Vec<String>,
    /// Proof gaps.
    pub proof_gaps: Vec<String>,
    /// Documentation gaps.
    pub doc_gaps: Vec<String>,
    /// Deploy and ops risks.
    pub deploy_risks: Vec<String>,
    /// Open inbound dependencies.
    pub inbound_dependencies: Vec<String>,
    /// Open outbound dependencies.
    pub outbound_dependencies: Vec<String>,
    /// Blocking helper assignments.
    pub helper_assignments: Vec<String>,
    /// Security review state.
    pub security_state: String,
    /// Security findings.
    pub security_findings: Vec<String>,
    /// Security approvals.
    pub security_approvals: Vec<String>,
    /// `not-configured` (no external security context is read).
    pub corridor_state: String,
    /// Recommendation.
    pub recommendation: String,
    /// Detail.
    pub detail: String,
}

/// What the integration summary is built from.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationInputs<'a> {
    /// Agents in plan order.
    pub agents: &'a [LedgerAgent],
    /// The integration steward's id.
    pub integration_agent_id: &'a str,
    /// Latest outcome per agent.
    pub outcomes: &'a BTreeMap<String, AgentOutcome>,
    /// Coordination state.
    pub state: &'a CoordinationState,
    /// Docs queue.
    pub docs_queue: Option<&'a DocsQueue>,
    /// Dependency snapshot.
    pub dependencies: Option<&'a DependencySnapshot>,
    /// Helper assignments.
    pub assignments: &'a [Assignment],
    /// Deploy and infra risks read from agent logs (`<agent>: <detail>` entries, see
    /// [`log_deploy_risks`]); they follow the `ops` gaps of the agents' outcomes.
    pub deploy_risks: &'a [String],
}

fn record_line(r: &CoordinationRecord) -> String {
    let text = [r.summary.as_str(), r.detail.as_str(), r.kind.as_str()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("coordination item");
    format!("{}: {}", r.id, compact_single_line(text, 180))
}

fn gap_line(agent: &str, detail: &str, fallback: &str) -> String {
    let text = if detail.is_empty() { fallback } else { detail };
    format!("{agent}: {}", compact_single_line(text, 180))
}

/// Keeps the first of equal entries (after trimming) and drops empty ones.
fn unique(items: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

fn actionable(r: &CoordinationRecord) -> bool {
    !matches!(r.status, Status::Cancelled | Status::Superseded)
        && !matches!(
            r.kind,
            Kind::HumanFeedback
                | Kind::HumanEscalation
                | Kind::OrchestratorGuidance
                | Kind::ResolvedByPolicy
                | Kind::IntegrationSummary
        )
}

fn norm(v: &str) -> &str {
    v.trim().trim_end_matches('/')
}

fn artifact_owners<'a>(artifact: &str, agents: &'a [LedgerAgent]) -> Vec<&'a str> {
    let a = norm(artifact);
    if a.is_empty() {
        return Vec::new();
    }
    agents
        .iter()
        .filter(|x| {
            x.components.iter().any(|c| norm(c) == a)
                || x.owned_paths.iter().any(|p| {
                    let p = norm(p);
                    !p.is_empty()
                        && (a == p || a.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
                })
        })
        .map(|x| x.agent_id.as_str())
        .collect()
}

fn mentions(text: &str, words: &[&str]) -> bool {
    let t = text.trim().to_lowercase();
    !t.is_empty() && words.iter().any(|w| t.contains(w))
}

fn security(i: &IntegrationInputs<'_>) -> (String, Vec<String>, Vec<String>) {
    let reviewers: Vec<&LedgerAgent> = i
        .agents
        .iter()
        .filter(|a| a.kind == TaskKind::Security)
        .collect();
    if reviewers.is_empty() {
        return ("not-applicable".into(), Vec::new(), Vec::new());
    }
    let mut findings = Vec::new();
    let mut approvals = Vec::new();
    let mut states = Vec::new();
    for a in reviewers {
        let o = i.outcomes.get(&a.agent_id);
        let marker = o.and_then(|o| o.security.clone());
        let valid = o.is_some_and(|o| o.validates(TaskKind::Security, a));
        let state = if valid {
            marker.unwrap_or_else(|| "clear".into())
        } else if marker.as_deref() == Some("blocked") {
            "blocked".into()
        } else {
            "pending".into()
        };
        let detail = o.map(|o| o.security_detail.as_str()).unwrap_or_default();
        match state.as_str() {
            "blocked" => findings.push(gap_line(
                &a.agent_id,
                detail,
                "Security review blocked the wave.",
            )),
            "concerns" => findings.push(gap_line(
                &a.agent_id,
                detail,
                "Security review reported advisory concerns.",
            )),
            _ => {}
        }
        let n = o.map_or(0, |o| o.security_approvals);
        if n > 0 {
            approvals.push(gap_line(
                &a.agent_id,
                detail,
                &format!("{n} security approval(s) remain open."),
            ));
        }
        states.push(state);
    }
    let overall = ["blocked", "pending", "concerns"]
        .into_iter()
        .find(|s| states.iter().any(|x| x == s))
        .unwrap_or("clear");
    (overall.into(), findings, approvals)
}

/// The deploy and infra risks one agent's log reports (§10.9, markers §2.2): its last
/// `[deploy-status]` when that is not `healthy`, and its last `[infra-status]` when that is not
/// `conformant` or `action-complete`, each as an `<agent>: <detail>` entry. Only the last
/// [`markers::STRUCTURED_TAIL_CHARS`] characters of `log_text` are read, as upstream does.
pub fn log_deploy_risks(agent_id: &str, log_text: &str) -> Vec<String> {
    let tail = markers::tail(log_text, markers::STRUCTURED_TAIL_CHARS);
    let mut out = Vec::new();
    if let Some(d) = markers::deploy_statuses(tail).pop()
        && d.state != "healthy"
    {
        let detail = if d.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", d.detail)
        };
        out.push(gap_line(
            agent_id,
            &format!(
                "Deployment {} ended in state {}{detail}.",
                d.service, d.state
            ),
            "Deployment did not finish healthy.",
        ));
    }
    if let Some(i) = markers::infra_statuses(tail).pop()
        && !matches!(i.state.as_str(), "conformant" | "action-complete")
    {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "unknown".to_owned()
            } else {
                s.to_owned()
            }
        };
        let detail = if i.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", i.detail)
        };
        out.push(gap_line(
            agent_id,
            &format!(
                "Infra {} on {} ended in state {}{detail}.",
                or_unknown(&i.kind),
                or_unknown(&i.target),
                or_unknown(&i.state)
            ),
            "Infra risk remains open.",
        ));
    }
    out
}

/// Builds the integration summary.
pub fn integration_report(i: &IntegrationInputs<'_>) -> IntegrationReport {
    let s = i.state;
    let open_claims: Vec<&CoordinationRecord> = s.claims().filter(|r| r.status.is_open()).collect();
    let conflict = |r: &CoordinationRecord| {
        let t = format!("{}\n{}", r.summary, r.detail).to_lowercase();
        t.contains("conflict") || t.contains("contradict")
    };
    let interface_words = [
        "interface",
        "contract",
        "api",
        "schema",
        "migration",
        "signature",
    ];
    let changed: Vec<String> = s
        .latest_records()
        .iter()
        .filter(|r| actionable(r))
        .filter(|r| {
            let mut t = format!("{}\n{}", r.summary, r.detail);
            for a in &r.artifact_refs {
                t.push('\n');
                t.push_str(a);
            }
            mentions(&t, &interface_words)
        })
        .map(record_line)
        .collect();
    let impacts: Vec<String> = s
        .latest_records()
        .iter()
        .filter(|r| actionable(r))
        .filter_map(|r| {
            let mut owners: BTreeSet<&str> = BTreeSet::new();
            for a in &r.artifact_refs {
                owners.extend(artifact_owners(a, i.agents));
            }
            for t in &r.targets {
                if let Some(id) = t.strip_prefix("agent:") {
                    owners.insert(id);
                } else if i.agents.iter().any(|a| a.agent_id == *t) {
                    owners.insert(t.as_str());
                }
            }
            (owners.len() > 1).then(|| {
                let list: Vec<&str> = owners.into_iter().collect();
                format!("{} [owners: {}]", record_line(r), list.join(", "))
            })
        })
        .collect();
    let mut proof_gaps = Vec::new();
    let mut doc_gaps: Vec<String> = i
        .docs_queue
        .map(|q| {
            q.items
                .iter()
                .map(|x| {
                    let text = [x.summary.as_str(), x.path.as_str(), x.detail.as_str()]
                        .into_iter()
                        .find(|t| !t.is_empty())
                        .unwrap_or("documentation update required");
                    format!("{}: {}", x.id, compact_single_line(text, 180))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut deploy_risks: Vec<String> = Vec::new();
    for a in i.agents {
        if a.kind == TaskKind::Security {
            continue;
        }
        let o = i.outcomes.get(&a.agent_id);
        if a.kind == TaskKind::ContEval && !o.is_some_and(|o| o.validates(TaskKind::ContEval, a)) {
            proof_gaps.push(gap_line(
                &a.agent_id,
                "",
                "cont-EVAL target is not yet satisfied.",
            ));
        }
        let implementation_validated =
            matches!(a.kind, TaskKind::Implementation | TaskKind::Design)
                || (a.kind == TaskKind::ContEval && a.implementation_owning);
        if implementation_validated && !o.is_some_and(|o| o.validates(TaskKind::Implementation, a))
        {
            let doc_failure = o.is_some_and(|o| o.doc_delta.is_none());
            let line = gap_line(&a.agent_id, "", "Implementation validation failed.");
            if doc_failure {
                doc_gaps.push(line);
            } else {
                proof_gaps.push(line);
            }
        }
        for g in o.map(|o| o.gaps.as_slice()).unwrap_or_default() {
            let kind = if g.kind.is_empty() {
                "unknown"
            } else {
                &g.kind
            };
            let line = gap_line(&a.agent_id, &g.detail, &format!("{kind} gap reported."));
            match g.kind.as_str() {
                "docs" => doc_gaps.push(line),
                "ops" => deploy_risks.push(line),
                _ => proof_gaps.push(line),
            }
        }
    }
    deploy_risks.extend(i.deploy_risks.iter().cloned());
    let inbound = i
        .dependencies
        .map(|d| {
            d.open_inbound()
                .map(|x| {
                    let text = [x.summary.as_str(), x.detail.as_str()]
                        .into_iter()
                        .find(|t| !t.is_empty())
                        .unwrap_or("inbound dependency");
                    format!(
                        "{}: {}{}",
                        x.id,
                        compact_single_line(text, 180),
                        x.assigned_agent_id
                            .as_deref()
                            .map(|a| format!(" -> {a}"))
                            .unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let outbound = i
        .dependencies
        .map(|d| {
            d.open_outbound()
                .map(|x| {
                    let text = [x.summary.as_str(), x.detail.as_str()]
                        .into_iter()
                        .find(|t| !t.is_empty())
                        .unwrap_or("outbound dependency");
                    format!("{}: {}", x.id, compact_single_line(text, 180))
                })
                .collect()
        })
        .unwrap_or_default();
    let helpers = i
        .assignments
        .iter()
        .filter(|a| a.blocking)
        .map(|a| {
            format!(
                "{}: {} -> {} ({})",
                a.request_id,
                a.target,
                a.assigned_agent_id.as_deref().unwrap_or("unresolved"),
                a.assignment_reason.as_str()
            )
        })
        .collect();
    let (security_state, security_findings, security_approvals) = security(i);
    let mut r = IntegrationReport {
        agent_id: "launcher".into(),
        explicit: false,
        open_claims: unique(open_claims.iter().map(|r| record_line(r)).collect()),
        conflicting_claims: unique(
            open_claims
                .iter()
                .filter(|r| conflict(r))
                .map(|r| record_line(r))
                .collect(),
        ),
        unresolved_blockers: unique(
            s.blockers()
                .filter(|r| r.status.is_open())
                .map(record_line)
                .collect(),
        ),
        changed_interfaces: unique(changed),
        cross_component_impacts: unique(impacts),
        proof_gaps: unique(proof_gaps),
        doc_gaps: unique(doc_gaps),
        deploy_risks: unique(deploy_risks),
        inbound_dependencies: unique(inbound),
        outbound_dependencies: unique(outbound),
        helper_assignments: unique(helpers),
        security_state,
        security_findings: unique(security_findings),
        security_approvals: unique(security_approvals),
        corridor_state: "not-configured".into(),
        recommendation: String::new(),
        detail: String::new(),
    };
    let marker = i
        .outcomes
        .get(i.integration_agent_id)
        .and_then(|o| o.integration.as_ref());
    if let Some(m) = marker {
        let pad = |list: &mut Vec<String>, n: u64, label: &str| {
            let n = usize::try_from(n).unwrap_or(usize::MAX).min(10_000);
            for k in list.len() + 1..=n {
                list.push(format!("{label} #{k}"));
            }
        };
        pad(
            &mut r.open_claims,
            m.claims,
            "Integration steward reported unresolved claim",
        );
        pad(
            &mut r.conflicting_claims,
            m.conflicts,
            "Integration steward reported unresolved conflict",
        );
        pad(
            &mut r.unresolved_blockers,
            m.blockers,
            "Integration steward reported unresolved blocker",
        );
        if m.state == "ready-for-doc-closure" && m.blockers == 0 {
            r.proof_gaps.clear();
            r.doc_gaps.clear();
        }
        r.agent_id = i.integration_agent_id.to_owned();
        r.explicit = true;
        r.recommendation = m.state.clone();
        r.detail = m.detail.clone();
        return r;
    }
    let (rec, detail) = if !r.unresolved_blockers.is_empty() {
        (
            "needs-more-work",
            format!(
                "{} unresolved blocker(s) remain.",
                r.unresolved_blockers.len()
            ),
        )
    } else if !r.conflicting_claims.is_empty() {
        (
            "needs-more-work",
            format!(
                "{} conflicting claim(s) remain.",
                r.conflicting_claims.len()
            ),
        )
    } else if !r.proof_gaps.is_empty() {
        (
            "needs-more-work",
            format!("{} proof gap(s) remain.", r.proof_gaps.len()),
        )
    } else if !r.deploy_risks.is_empty() {
        (
            "needs-more-work",
            format!("{} deploy or ops risk(s) remain.", r.deploy_risks.len()),
        )
    } else {
        (
            "ready-for-doc-closure",
            "No unresolved blockers, contradictions, proof gaps, or deploy risks remain in integration state."
                .to_owned(),
        )
    };
    r.recommendation = rec.into();
    r.detail = detail;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::coordination::ledger::Gap;
    use crate::engine::coordination::materialize;

    #[test]
    fn the_last_deploy_and_infra_markers_of_a_log_are_its_risks() {
        let log = "[deploy-status] service=api state=healthy\n\
                   [infra-status] kind=dependency target=db state=conformant\n\
                   noise\n\
                   [deploy-status] service=web state=failed detail=probe timed out\n\
                   [infra-status] kind=identity target=ci@github state=setup-required\n";
        assert_eq!(
            log_deploy_risks("A3", log),
            [
                "A3: Deployment web ended in state failed (probe timed out).",
                "A3: Infra identity on ci@github ended in state setup-required.",
            ]
        );
        // The last deploy marker is healthy and the last infra marker complete: no risk, even
        // with an earlier failure of another service.
        let settled = "[deploy-status] service=web state=failed\n\
                       [deploy-status] service=api state=healthy\n\
                       [infra-status] kind=action target=x state=blocked\n\
                       [infra-status] kind=action target=x state=action-complete\n";
        assert!(log_deploy_risks("A3", settled).is_empty());
        // `state=` first is not the grammar (service first): not a marker.
        assert!(log_deploy_risks("A3", "[deploy-status] state=failed service=web\n").is_empty());
        assert!(log_deploy_risks("A3", "").is_empty());
    }

    #[test]
    fn only_the_structured_tail_of_a_log_is_read() {
        let mut log = String::from("[deploy-status] service=web state=failed\n");
        log.push_str(&"x".repeat(markers::STRUCTURED_TAIL_CHARS));
        assert!(log_deploy_risks("A3", &log).is_empty());
        log.push_str("\n[deploy-status] service=web state=rolledover detail=v2\n");
        assert_eq!(
            log_deploy_risks("A3", &log),
            ["A3: Deployment web ended in state rolledover (v2)."]
        );
    }

    #[test]
    fn deploy_risks_follow_ops_gaps_and_make_the_inferred_recommendation_wait() {
        let agents = vec![LedgerAgent {
            agent_id: "A3".into(),
            title: "Deploy".into(),
            kind: TaskKind::ContQa,
            hybrid_design: false,
            implementation_owning: false,
            owned_paths: Vec::new(),
            components: Vec::new(),
            runtime: serde_json::Value::Null,
        }];
        let mut outcomes = BTreeMap::new();
        outcomes.insert(
            "A3".to_owned(),
            AgentOutcome {
                exit_code: Some(0),
                gaps: vec![Gap {
                    kind: "ops".into(),
                    detail: "runbook missing".into(),
                }],
                ..AgentOutcome::default()
            },
        );
        let state = materialize(Vec::new());
        let from_log = log_deploy_risks("A3", "[deploy-status] service=web state=failed\n");
        let inputs = IntegrationInputs {
            agents: &agents,
            integration_agent_id: "A8",
            outcomes: &outcomes,
            state: &state,
            docs_queue: None,
            dependencies: None,
            assignments: &[],
            deploy_risks: &from_log,
        };
        let r = integration_report(&inputs);
        assert_eq!(
            r.deploy_risks,
            [
                "A3: runbook missing",
                "A3: Deployment web ended in state failed."
            ]
        );
        assert_eq!(r.agent_id, "launcher");
        assert_eq!(r.recommendation, "needs-more-work");
        assert_eq!(r.detail, "2 deploy or ops risk(s) remain.");
        let calm = IntegrationInputs {
            deploy_risks: &[],
            outcomes: &BTreeMap::new(),
            ..inputs
        };
        assert_eq!(
            integration_report(&calm).recommendation,
            "ready-for-doc-closure"
        );
    }
}
