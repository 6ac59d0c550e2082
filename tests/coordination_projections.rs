//! Shared summary, inboxes and helper assignments over one coordination log with every optional
//! input (ledger, docs queue, integration summary, dependency snapshot), compared byte for byte
//! with reference text recorded in `tests/fixtures/coordination/projection-expected.json`.
//!
//! The log exercises record ages (`Ns`, `Nm`, `Nh Mm`), overdue acknowledgements, stale
//! clarification chains, non-blocking records, a `createdAt` that does not parse, capability
//! routing, component and owned-path relevance, and integration item limits.

use std::path::Path;

use serde_json::Value;
use wave_runner::engine::coordination::{
    AgentProfile, DependencyItem, DependencySnapshot, DocsQueueItem, IntegrationSummary,
    LedgerTaskView, LedgerView, ProjectionInputs, RoutingLedger, RuntimeAssignment, TimingOptions,
    build_request_assignments, inbox_view, materialize, shared_summary_view,
};
use wave_runner::event::coordination::{
    CoordinationRecord, RawCoordinationRecord, RecordDefaults, normalize,
};
use wave_runner::render::inbox::render_inbox;
use wave_runner::render::summary::render_shared_summary;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/coordination")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn agents(input: &Value) -> Vec<AgentProfile> {
    input["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| AgentProfile {
            agent_id: text(a, "agentId").expect("agentId"),
            title: String::new(),
            owned_paths: strings(a, "ownedPaths"),
            capabilities: strings(a, "capabilities"),
            components: strings(a, "components"),
        })
        .collect()
}

fn integration(v: &Value) -> IntegrationSummary {
    IntegrationSummary {
        recommendation: text(v, "recommendation"),
        detail: text(v, "detail"),
        conflicting_claims: strings(v, "conflictingClaims"),
        changed_interfaces: strings(v, "changedInterfaces"),
        cross_component_impacts: strings(v, "crossComponentImpacts"),
        proof_gaps: strings(v, "proofGaps"),
        deploy_risks: strings(v, "deployRisks"),
        doc_gaps: strings(v, "docGaps"),
        security_state: text(v, "securityState"),
        security_findings: strings(v, "securityFindings"),
        security_approvals: strings(v, "securityApprovals"),
        runtime_assignments: v["runtimeAssignments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| RuntimeAssignment {
                agent_id: text(r, "agentId").unwrap_or_default(),
                executor_id: text(r, "executorId"),
                role: text(r, "role"),
                profile: text(r, "profile"),
                fallback_used: r["fallbackUsed"].as_bool().unwrap_or(false),
            })
            .collect(),
    }
}

fn dependency(v: &Value) -> DependencyItem {
    let status = text(v, "status").unwrap_or_default();
    DependencyItem {
        id: text(v, "id").unwrap_or_default(),
        direction: text(v, "direction").unwrap_or_default(),
        required: v["required"].as_bool().unwrap_or(false),
        open: matches!(status.as_str(), "open" | "acknowledged" | "in_progress"),
        status,
        summary: text(v, "summary").unwrap_or_default(),
        detail: text(v, "detail").unwrap_or_default(),
        priority: text(v, "priority").unwrap_or_default(),
        targets: strings(v, "targets"),
        artifact_refs: strings(v, "artifactRefs"),
        assigned_agent_id: text(v, "assignedAgentId"),
    }
}

fn records(input: &Value) -> Vec<CoordinationRecord> {
    input["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            let raw = RawCoordinationRecord::from_value(r.clone()).expect("object");
            normalize(raw, &RecordDefaults::default()).expect("valid record")
        })
        .collect()
}

#[test]
fn projections_match_reference_text() {
    let input = fixture("projection-input.json");
    let expected = fixture("projection-expected.json");
    let agents = agents(&input);
    let state = materialize(records(&input));
    let ledger_tasks: Vec<LedgerTaskView> = input["ledger"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| LedgerTaskView {
            id: text(t, "id").unwrap_or_default(),
            owner: text(t, "owner").unwrap_or_default(),
            title: text(t, "title"),
            kind: text(t, "kind"),
            state: text(t, "state"),
            priority: text(t, "priority"),
        })
        .collect();
    let routing_ledger = RoutingLedger {
        tasks: input["ledger"]["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| wave_runner::engine::coordination::LedgerTask {
                owner: text(t, "owner").unwrap_or_default(),
                state: text(t, "state").unwrap_or_default(),
                capability: text(t, "capability").unwrap_or_default(),
            })
            .collect(),
        capability_assignments: Vec::new(),
    };
    let assignments =
        build_request_assignments(&state, &agents, &routing_ledger, &Default::default());
    let mut ours: Vec<Value> = serde_json::to_value(&assignments)
        .expect("serializes")
        .as_array()
        .cloned()
        .expect("array");
    for a in &mut ours {
        if let Some(obj) = a.as_object_mut() {
            obj.remove("createdAt");
            obj.remove("updatedAt");
        }
    }
    assert_eq!(Value::Array(ours), expected["assignments"]);

    let ledger = LedgerView {
        phase: text(&input["ledger"], "phase"),
        tasks: ledger_tasks,
    };
    let docs: Vec<DocsQueueItem> = input["docsQueue"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| DocsQueueItem {
            kind: text(d, "kind"),
            summary: text(d, "summary"),
            path: text(d, "path"),
            detail: text(d, "detail"),
            owner_agent_id: text(d, "ownerAgentId"),
            agent_id: text(d, "agentId"),
            targets: strings(d, "targets"),
        })
        .collect();
    let summary = integration(&input["integrationSummary"]);
    let deps = DependencySnapshot {
        inbound: input["dependencySnapshot"]["inbound"]
            .as_array()
            .expect("inbound")
            .iter()
            .map(dependency)
            .collect(),
        outbound: input["dependencySnapshot"]["outbound"]
            .as_array()
            .expect("outbound")
            .iter()
            .map(dependency)
            .collect(),
    };
    let timing = TimingOptions::at(input["nowMs"].as_i64().expect("nowMs"));
    let wave = input["wave"].as_i64().expect("wave");
    let full = ProjectionInputs {
        ledger: Some(&ledger),
        docs_queue: Some(&docs),
        integration: Some(&summary),
        dependencies: Some(&deps),
    };
    for (label, inputs) in [("full", full), ("bare", ProjectionInputs::default())] {
        let rendered = render_shared_summary(&shared_summary_view(
            wave,
            &state,
            &assignments,
            inputs,
            timing,
        ));
        assert_eq!(
            rendered.text,
            expected[label]["summary"]["text"].as_str().expect("text"),
            "{label} summary"
        );
        assert_eq!(
            Value::Bool(rendered.truncated),
            expected[label]["summary"]["truncated"]
        );
        for agent in &agents {
            let rendered = render_inbox(&inbox_view(
                wave,
                agent,
                &state,
                &assignments,
                inputs,
                timing,
            ));
            let reference = &expected[label]["inboxes"][agent.agent_id.as_str()];
            assert_eq!(
                rendered.text,
                reference["text"].as_str().expect("text"),
                "{label} inbox {}",
                agent.agent_id
            );
        }
    }
}

#[test]
fn clarification_links_and_hard_blockers() {
    let input = fixture("projection-input.json");
    let state = materialize(records(&input));
    let linked: Vec<&str> = state
        .open_clarification_linked_requests()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(linked, ["route-clar-1-1"]);
    let hard: Vec<&str> = state
        .latest_records()
        .iter()
        .filter(wave_runner::engine::coordination::is_hard_blocker)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        hard,
        [
            "clar-1",
            "route-clar-1-1",
            "req-2",
            "req-1",
            "esc-1",
            "blk-1"
        ]
    );
}
