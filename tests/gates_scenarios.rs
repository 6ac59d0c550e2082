//! The scenarios at the engine level: run and close a wave.
mod gates_support;

use std::collections::{BTreeMap, BTreeSet};

use gates_support::World;
use wave_runner::engine::closure::{ClosureSweep, SweepAction};
use wave_runner::engine::gates::{GateMode, HelperAssignment, OpenRecord};
use wave_runner::engine::retry::{Failure, RetryInputs, RetrySource, final_outcome, resolve_retry};

fn retry_for(w: &World) -> (Vec<Failure>, wave_runner::engine::retry::RetryPlan) {
    let (snapshot, readiness) = w.evaluate();
    let failures: Vec<Failure> = snapshot
        .gates
        .iter()
        .filter(|(_, g)| !g.ok)
        .take(1)
        .map(|(_, g)| Failure::from_gate(g))
        .collect();
    let executors = BTreeMap::new();
    let available = BTreeSet::new();
    let models = BTreeMap::new();
    let plan = resolve_retry(&RetryInputs {
        plan: &w.plan,
        lane: &w.lane,
        failures: &failures,
        coordination: &w.coordination,
        snapshot: &snapshot,
        readiness: &readiness,
        executors: &executors,
        available_executors: &available,
        lane_models: &models,
        next_attempt: 2,
        rerun: None,
    });
    (failures, plan)
}

#[test]
fn every_agent_meets_its_contract_so_closure_passes() {
    let w = World::passing();
    let (snapshot, readiness) = w.evaluate();
    assert!(snapshot.overall.ok, "{:?}", snapshot.overall);
    assert_eq!(snapshot.overall.gate, "pass");
    assert_eq!(snapshot.overall.detail, "All replayed wave gates passed.");
    assert!(readiness.all_gates_pass);
    assert!(
        readiness.wave_may_close,
        "{:?}",
        readiness.pending_agent_ids
    );
    assert_eq!(readiness.owned_slice_proven_agent_ids.len(), 6);

    // The closure sweep runs the stewards in order (LA-39: security before integration) and
    // passes.
    let closure_runs: Vec<String> = ["A0", "A7", "A8", "A9"].map(String::from).to_vec();
    let mut sweep = ClosureSweep::new(&w.plan, &w.lane, &closure_runs, 1, GateMode::Strict);
    let integration = w.integration();
    let inputs = w.inputs(Some(&integration));
    let mut launched = Vec::new();
    let outcome = loop {
        match sweep.next(&inputs) {
            SweepAction::Launch { agent_id, .. } => {
                launched.push(agent_id.clone());
                sweep.record_run(&agent_id, None);
            }
            SweepAction::Done(o) => break o,
        }
    };
    assert_eq!(launched, ["A7", "A8", "A9", "A0"]);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert!(
        final_outcome(
            &outcome
                .failures
                .iter()
                .map(Failure::from_gate)
                .collect::<Vec<_>>(),
            &w.summaries,
            None
        )
        .exit_code
            == 0
    );
}

#[test]
fn missing_wave_proof_fails_implementation_and_retries_only_a1() {
    let mut w = World::passing();
    w.logs.insert(
        "A1".into(),
        "[wave-doc-delta] state=owned\nwork done\n".into(),
    );
    w.rebuild();
    let (snapshot, readiness) = w.evaluate();
    assert!(!snapshot.overall.ok);
    assert_eq!(snapshot.overall.gate, "implementationGate");
    assert_eq!(snapshot.overall.status_code, "missing-wave-proof");
    assert_eq!(snapshot.overall.agent_id.as_deref(), Some("A1"));
    let gate = snapshot.gate("implementationGate").expect("gate");
    assert_eq!(
        serde_json::to_value(gate).expect("json")["failureClass"],
        "transport-failure"
    );
    assert!(!readiness.wave_may_close);
    let (failures, retry) = retry_for(&w);
    assert_eq!(failures.len(), 1);
    assert_eq!(retry.source, RetrySource::Invalidated);
    assert_eq!(retry.selected_agent_ids, ["A1"]);
    assert_eq!(retry.resume.resume_from_phase, "implementation");
    assert!(retry.resume.reusable_agent_ids.contains(&"A2".to_owned()));
}

#[test]
fn open_targeted_request_keeps_the_wave_blocked() {
    let mut w = World::passing();
    w.coordination.open_records.push(OpenRecord {
        id: "req-1".into(),
        kind: "request".into(),
        agent_id: "A1".into(),
        targets: vec!["agent:A8".into()],
        blocking: true,
        clarification_linked: false,
    });
    w.coordination.helper_assignments.push(HelperAssignment {
        request_id: "req-1".into(),
        assigned_agent_id: Some("A8".into()),
        blocking: true,
    });
    let (snapshot, readiness) = w.evaluate();
    assert_eq!(snapshot.overall.gate, "helperAssignmentBarrier");
    assert_eq!(snapshot.overall.status_code, "helper-assignment-open");
    assert_eq!(snapshot.overall.agent_id.as_deref(), Some("A8"));
    assert!(!readiness.wave_may_close);
    let (_, retry) = retry_for(&w);
    assert_eq!(retry.source, RetrySource::HelperAssignment);
    assert_eq!(retry.selected_agent_ids, ["A8"]);

    // Unassigned → unresolved barrier, nothing runs (exit 43 on the final attempt).
    w.coordination.helper_assignments[0].assigned_agent_id = None;
    let (snapshot, _) = w.evaluate();
    assert_eq!(snapshot.overall.status_code, "helper-assignment-unresolved");
    let (failures, retry) = retry_for(&w);
    assert!(retry.selected_agent_ids.is_empty());
    assert_eq!(
        retry.barrier.as_ref().map(|b| b.status_code.as_str()),
        Some("helper-assignment-unresolved")
    );
    assert_eq!(
        final_outcome(&failures, &w.summaries, Some(&retry)).exit_code,
        43
    );
}

#[test]
fn cont_qa_concerns_is_exit_class_42() {
    let mut w = World::passing();
    w.reports
        .insert("A0".into(), "Verdict: CONCERNS - flaky tests\n".into());
    w.rebuild();
    let (snapshot, _) = w.evaluate();
    assert_eq!(snapshot.overall.gate, "contQaGate");
    assert_eq!(snapshot.overall.status_code, "cont-qa-concerns");
    assert_eq!(snapshot.overall.detail, "flaky tests");
    let (failures, retry) = retry_for(&w);
    assert_eq!(
        retry.selected_agent_ids,
        ["A0"],
        "resume from cont-qa-closure"
    );
    let outcome = final_outcome(&failures, &w.summaries, None);
    assert_eq!(outcome.exit_code, 42);
    assert!(!outcome.recoverable);
}

#[test]
fn security_reviewer_clear_passes_the_security_gate() {
    let w = World::passing();
    let (snapshot, _) = w.evaluate();
    let g = snapshot.gate("securityGate").expect("gate");
    assert!(g.ok);
    assert_eq!(g.status_code, "pass");
    assert_eq!(g.detail, "Security review is clear.");

    // Concerns pass with a code; blocked and inconsistent clear fail (AS-25..27, LA-09).
    for (log, ok, code) in [
        (
            "[wave-security] state=concerns findings=2 approvals=1 detail=watch",
            true,
            "security-concerns",
        ),
        (
            "[wave-security] state=blocked findings=1 approvals=0",
            false,
            "security-blocked",
        ),
        (
            "[wave-security] state=clear findings=1 approvals=0",
            false,
            "invalid-security-clear-state",
        ),
        ("no markers", false, "missing-wave-security"),
    ] {
        let mut w = World::passing();
        w.logs.insert("A7".into(), log.into());
        w.rebuild();
        let (snapshot, _) = w.evaluate();
        let g = snapshot.gate("securityGate").expect("gate");
        assert_eq!((g.ok, g.status_code.as_str()), (ok, code), "{log}");
        if !ok {
            assert_eq!(g.agent_id.as_deref(), Some("A7"));
        }
    }
    // Missing report file.
    let mut w = World::passing();
    w.files.remove("docs/security/wave-1-security.md");
    let (snapshot, _) = w.evaluate();
    assert_eq!(
        snapshot
            .gate("securityGate")
            .map(|g| g.status_code.as_str()),
        Some("missing-security-report")
    );
}

#[test]
fn snapshot_json_uses_upstream_gate_names_in_order() {
    let w = World::passing();
    let (snapshot, _) = w.evaluate();
    let v = snapshot.to_value();
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "designGate",
            "implementationGate",
            "componentGate",
            "helperAssignmentBarrier",
            "dependencyBarrier",
            "contEvalGate",
            "securityGate",
            "integrationBarrier",
            "documentationGate",
            "componentMatrixGate",
            "contQaGate",
            "infraGate",
            "clarificationBarrier",
            "integrationGate",
            "gateMode",
            "advisoryFailures",
            "overall"
        ]
    );
    assert_eq!(v["gateMode"], "strict");
    assert_eq!(v["overall"]["gate"], "pass");
    assert_eq!(v["implementationGate"]["statusCode"], "pass");
}
