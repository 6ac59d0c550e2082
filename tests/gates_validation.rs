//! Gate and validation behaviours (upstream-tests AS-13..AS-36, GE-01..GE-03, LA-01..LA-15,
//! LA-49..LA-51).
mod gates_support;

use std::collections::BTreeMap;

use gates_support::World;
use wave_runner::engine::gates::{
    self, AdjudicationStatus, Contradiction, GateMode, OpenRecord, evaluate, validate,
};
use wave_runner::engine::markers::InfraStatus;
use wave_runner::engine::summary::{
    ExecutionSummary, FileFact, StatusRecord, SummaryInputs, build_summary,
};
use wave_runner::plan::matrix::parse_matrix;
use wave_runner::plan::{Agent, ExecutorId};

const COMPONENT_WAVE: &str = r#"# Wave 1 - Components

## Component promotions

- runtime: repo-landed

## Agent A0: cont-QA

### Role prompts

- docs/agents/wave-cont-qa-role.md

### Prompt

```text
File ownership (only touch these paths):
- docs/plans/waves/reviews/wave-1-cont-qa.md
```

## Agent A1: Runtime core

### Components

- runtime

### Exit contract

- completion: integrated
- durability: durable
- proof: integration
- doc-impact: owned

### Deliverables

- src/runtime.rs

### Proof artifacts

- path: .tmp/proof/runtime.json | kind: trace | required-for: repo-landed

### Prompt

```text
File ownership (only touch these paths):
- src/runtime.rs
- .tmp/proof/runtime.json
```

## Agent A2: Runtime edge

### Components

- runtime

### Exit contract

- completion: contract
- durability: none
- proof: unit
- doc-impact: none

### Prompt

```text
File ownership (only touch these paths):
- src/edge.rs
```
"#;

fn component_lane() -> wave_runner::plan::LaneProfile {
    let mut lane = gates_support::lane();
    lane.validation.require_component_promotions_from_wave = Some(0);
    lane
}

fn agent(id: &str) -> Agent {
    let lane = component_lane();
    gates_support::parse(COMPONENT_WAVE, &lane)
        .agent(id)
        .expect("agent")
        .clone()
}

fn summarize(agent: &Agent, log: &str, code: i64, files: &[&str]) -> ExecutionSummary {
    let facts = files
        .iter()
        .map(|p| {
            (
                (*p).to_owned(),
                FileFact {
                    exists: true,
                    modified_at: None,
                    sha256: None,
                },
            )
        })
        .collect();
    let status = StatusRecord {
        code: Some(code),
        ..Default::default()
    };
    build_summary(&SummaryInputs {
        agent,
        executor: Some(ExecutorId::Codex),
        status: Some(&status),
        log_text: log,
        log_path: "log",
        report_path: None,
        report_text: None,
        files: &facts,
    })
}

const A1_GOOD: &str = "[wave-proof] completion=integrated durability=durable proof=integration state=met\n[wave-doc-delta] state=owned\n[wave-component] component=runtime level=repo-landed state=met\n";
const A1_FILES: [&str; 2] = ["src/runtime.rs", ".tmp/proof/runtime.json"];

#[test]
fn implementation_validation_order_codes_and_classes() {
    let a1 = agent("A1");
    let check = |log: &str, code: i64, files: &[&str]| {
        validate::implementation(&a1, Some(&summarize(&a1, log, code, files)))
    };
    let ok = check(A1_GOOD, 0, &A1_FILES);
    assert!(ok.ok, "{ok:?}");
    let cases: [(&str, &[&str], &str, &str, bool); 8] = [
        // AS-13
        (
            "[wave-proof] completion=contract durability=durable proof=unit state=met\n[wave-doc-delta] state=owned\n",
            &A1_FILES,
            "completion-gap",
            "semantic-failure",
            false,
        ),
        // AS-14
        (
            "[wave-proof] completion=live durability=ephemeral proof=live state=met\n[wave-doc-delta] state=owned\n",
            &A1_FILES,
            "durability-gap",
            "semantic-failure",
            false,
        ),
        // AS-15
        (
            "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n",
            &A1_FILES,
            "missing-wave-component",
            "transport-failure",
            false,
        ),
        // AS-16
        (
            A1_GOOD,
            &[".tmp/proof/runtime.json"],
            "missing-deliverable",
            "artifact-failure",
            false,
        ),
        // AS-17
        (
            A1_GOOD,
            &["src/runtime.rs"],
            "missing-proof-artifact",
            "artifact-failure",
            false,
        ),
        // AS-18 / AS-24
        (
            "```\nExample output format:\n[wave-proof] completion=live durability=durable proof=live state=met\n```\n",
            &A1_FILES,
            "missing-wave-proof",
            "transport-failure",
            false,
        ),
        // AS-22
        (
            "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] detail=missing-state\n",
            &A1_FILES,
            "invalid-doc-delta-format",
            "transport-failure",
            true,
        ),
        // doc-impact
        (
            "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=none\n",
            &A1_FILES,
            "doc-impact-gap",
            "semantic-failure",
            false,
        ),
    ];
    for (log, files, code, class, eligible) in cases {
        let r = check(log, 0, files);
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(
            (r.status_code.as_str(), v["failureClass"].as_str()),
            (code, Some(class)),
            "{log}"
        );
        assert_eq!(r.eligible_for_adjudication, eligible, "{code}");
    }
    let gap = check(
        "[wave-proof] completion=live durability=durable proof=live state=gap detail=flaky\n",
        0,
        &A1_FILES,
    );
    assert_eq!(
        (gap.status_code.as_str(), gap.detail.as_str()),
        ("wave-proof-gap", "Agent A1 reported a proof gap: flaky")
    );
}

#[test]
fn as19_to_as23_malformed_markers_and_termination_hints() {
    let a1 = agent("A1");
    // AS-19
    let r = validate::implementation(
        &a1,
        Some(&summarize(&a1, "Reached max turns (12)\n", 1, &A1_FILES)),
    );
    assert_eq!(r.status_code, "missing-wave-proof");
    assert!(
        r.detail
            .contains("Wave does not set a Codex turn-limit flag"),
        "{}",
        r.detail
    );
    // AS-20: exit 1 → not eligible; the rejected sample is quoted.
    let bad = "- [wave-proof] completion=contract detail=missing-required-fields\n";
    let r = validate::implementation(&a1, Some(&summarize(&a1, bad, 1, &A1_FILES)));
    assert_eq!(r.status_code, "invalid-wave-proof-format");
    assert!(!r.eligible_for_adjudication);
    assert!(
        r.detail.contains(
            "Rejected sample: - [wave-proof] completion=contract detail=missing-required-fields"
        ),
        "{}",
        r.detail
    );
    // AS-21: exit 0 and artifacts present → eligible.
    let r = validate::implementation(&a1, Some(&summarize(&a1, bad, 0, &A1_FILES)));
    assert!(r.eligible_for_adjudication);
    assert!(r.adjudication_hint.is_some());
    // AS-23
    let log = "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n[wave-component] component=runtime level=repo-landed\n";
    let r = validate::implementation(&a1, Some(&summarize(&a1, log, 0, &A1_FILES)));
    assert_eq!(r.status_code, "invalid-wave-component-format");
    assert!(
        r.detail
            .contains("Expected a valid component marker for runtime.")
    );
    // component-level-mismatch
    let log = "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n[wave-component] component=runtime level=baseline-proved state=met\n";
    assert_eq!(
        validate::implementation(&a1, Some(&summarize(&a1, log, 0, &A1_FILES))).status_code,
        "component-level-mismatch"
    );
    // missing summary → state failure
    let r = validate::implementation(&a1, None);
    assert_eq!(r.status_code, "missing-summary");
}

#[test]
fn ge01_to_ge03_adjudication_of_transport_failures() {
    let a1 = agent("A1");
    let coordination = gates::CoordinationFacts::default();
    // GE-01: no component marker at all is never adjudicated.
    let s = summarize(
        &a1,
        "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n",
        0,
        &A1_FILES,
    );
    let r = validate::implementation(&a1, Some(&s));
    assert_eq!(
        (r.status_code.as_str(), r.eligible_for_adjudication),
        ("missing-wave-component", false)
    );
    // A rejected sample whose values cannot be rebuilt is rework.
    let s = summarize(
        &a1,
        "[wave-proof] completion=live durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n[wave-component] component=runtime level=repo-landed state=met-ish detail=x\n",
        0,
        &A1_FILES,
    );
    let r = validate::implementation(&a1, Some(&s));
    assert!(r.eligible_for_adjudication, "{r:?}");
    let adj = gates::adjudicate(&a1, &s, &r, &coordination);
    // "met-ish" cannot be rebuilt into a valid state: rework.
    assert_eq!(adj.status, AdjudicationStatus::ReworkRequired);
    assert_eq!(adj.reason, "reconstruction-failed");
    let s = summarize(
        &a1,
        "[wave-proof] completion=LIVE durability=durable proof=live state=met\n[wave-doc-delta] state=owned\n[wave-component] component=runtime level=repo-landed state=met\n",
        0,
        &A1_FILES,
    );
    assert!(validate::implementation(&a1, Some(&s)).ok);
    // GE-02: a rejected component sample whose raw values (duplicate detail key) rebuild into a
    // valid marker passes adjudication.
    let mut broken = s.clone();
    broken.components.clear();
    let diag = broken
        .structured_signal_diagnostics
        .kinds
        .get_mut(&wave_runner::engine::markers::MarkerKind::Component)
        .expect("bucket");
    diag.accepted_count = 0;
    diag.rejected_count = 1;
    diag.rejected_samples
        .push(wave_runner::engine::markers::RejectedSample {
            line:
                "[wave-component] component=runtime level=repo-landed state=met detail=a detail=b"
                    .into(),
            raw_values: wave_runner::engine::markers::RawValues::parse(
                "component=runtime level=repo-landed state=met detail=b",
            ),
            unknown_keys: vec![],
            component_id: Some("runtime".into()),
        });
    let r = validate::implementation(&a1, Some(&broken));
    assert_eq!(r.status_code, "invalid-wave-component-format");
    let adj = gates::adjudicate(&a1, &broken, &r, &coordination);
    assert_eq!(adj.status, AdjudicationStatus::Pass);
    assert_eq!(
        adj.synthesized_signals,
        ["[wave-component] component=runtime level=repo-landed state=met"]
    );
    assert_eq!(
        adj.artifact("main", 1, 1, "t")["kind"],
        "wave-closure-adjudication"
    );
    // GE-03: open blocking coordination involving A1 → ambiguous.
    let open = gates::CoordinationFacts {
        open_records: vec![OpenRecord {
            id: "blk".into(),
            kind: "blocker".into(),
            agent_id: "A3".into(),
            targets: vec!["agent:A1".into()],
            blocking: true,
            clarification_linked: false,
        }],
        ..Default::default()
    };
    assert_eq!(
        gates::adjudicate(&a1, &broken, &r, &open).status,
        AdjudicationStatus::Ambiguous
    );
    // A [wave-gap] is a semantic negative signal.
    let mut gapped = broken.clone();
    gapped.gaps.push(wave_runner::engine::markers::GapMarker {
        kind: "ops".into(),
        detail: "x".into(),
    });
    let adj = gates::adjudicate(&a1, &gapped, &r, &coordination);
    assert_eq!(
        (adj.status, adj.reason.as_str()),
        (
            AdjudicationStatus::ReworkRequired,
            "semantic-negative-signal"
        )
    );
}

struct ComponentWorld {
    lane: wave_runner::plan::LaneProfile,
    plan: wave_runner::plan::WavePlan,
    summaries: BTreeMap<String, ExecutionSummary>,
}

impl ComponentWorld {
    fn new(a2_log: &str, a2_code: i64) -> Self {
        let lane = component_lane();
        let plan = gates_support::parse(COMPONENT_WAVE, &lane);
        let mut summaries = BTreeMap::new();
        summaries.insert(
            "A1".into(),
            summarize(plan.agent("A1").expect("A1"), A1_GOOD, 0, &A1_FILES),
        );
        summaries.insert(
            "A2".into(),
            summarize(plan.agent("A2").expect("A2"), a2_log, a2_code, &[]),
        );
        ComponentWorld {
            lane,
            plan,
            summaries,
        }
    }

    fn gate(&self, name: &str, matrix_level: &str) -> gates::GateResult {
        let matrix = parse_matrix(Some(&format!(r#"{{"version":1,"levels":["inventoried","contract-frozen","repo-landed","baseline-proved"],"components":{{"runtime":{{"title":"Runtime","currentLevel":"{matrix_level}","promotions":[{{"wave":1,"target":"repo-landed"}}]}}}}}}"#)), "docs/plans/component-cutover-matrix.json").expect("matrix");
        let files = Default::default();
        let coordination = Default::default();
        let adjudications = Default::default();
        let inputs = gates::GateInputs {
            plan: &self.plan,
            lane: &self.lane,
            summaries: &self.summaries,
            files: &files,
            matrix: Some(&matrix),
            catalog: None,
            coordination: &coordination,
            integration: None,
            contradictions: &[],
            corridor: None,
            docs_queue: Default::default(),
            infra: &[],
            adjudications: &adjudications,
            gate_mode: GateMode::Strict,
        };
        evaluate(&inputs).gate(name).expect("gate").clone()
    }
}

#[test]
fn la49_to_la51_component_gates() {
    const A2_GOOD: &str = "[wave-proof] completion=contract durability=none proof=unit state=met\n[wave-doc-delta] state=none\n[wave-component] component=runtime level=repo-landed state=met\n";
    let w = ComponentWorld::new(A2_GOOD, 0);
    assert!(w.gate("componentGate", "repo-landed").ok);
    // LA-51: the matrix still shows the old level.
    let stale = w.gate("componentMatrixGate", "contract-frozen");
    assert_eq!(
        (stale.status_code.as_str(), stale.agent_id.as_deref()),
        ("component-current-level-stale", Some("A9"))
    );
    assert!(w.gate("componentMatrixGate", "repo-landed").ok);
    // LA-50: A2 failed without component proof while A1 satisfied it.
    let w = ComponentWorld::new("crashed", 1);
    let g = w.gate("componentGate", "repo-landed");
    assert_eq!(g.status_code, "shared-component-sibling-pending");
    assert_eq!(g.agent_id.as_deref(), Some("A2"));
    assert_eq!(g.extra["satisfiedAgentIds"], serde_json::json!(["A1"]));
    assert_eq!(g.extra["waitingOnAgentIds"], serde_json::json!(["A2"]));
    // LA-49: a level above the target is not the target.
    let mut w = ComponentWorld::new(A2_GOOD, 0);
    for s in w.summaries.values_mut() {
        for c in &mut s.components {
            c.level = "baseline-proved".into();
        }
    }
    let g = w.gate("componentGate", "repo-landed");
    assert_eq!(g.status_code, "component-promotion-gap");
    assert_eq!(g.extra["componentId"], "runtime");
}

#[test]
fn cont_qa_documentation_and_integration_gates() {
    // LA-02: HOLD verdict.
    let mut w = World::passing();
    w.reports
        .insert("A0".into(), "Verdict: HOLD - waiting on QA\n".into());
    w.rebuild();
    let (s, _) = w.evaluate();
    let g = s.gate("contQaGate").expect("gate");
    assert_eq!(
        (
            g.status_code.as_str(),
            g.detail.as_str(),
            g.agent_id.as_deref()
        ),
        ("cont-qa-hold", "waiting on QA", Some("A0"))
    );
    // AS-35: verdict pass but a dimension concerns.
    let mut w = World::passing();
    w.logs.insert(
        "A0".into(),
        "[wave-gate] architecture=pass integration=concerns durability=pass live=pass docs=pass\n"
            .into(),
    );
    w.rebuild();
    assert_eq!(
        w.evaluate()
            .0
            .gate("contQaGate")
            .map(|g| g.status_code.clone())
            .as_deref(),
        Some("gate-integration-concerns")
    );
    // Only gaps → conditional pass.
    let mut w = World::passing();
    w.logs.insert(
        "A0".into(),
        "[wave-gate] architecture=pass integration=pass durability=gap live=pass docs=pass\n"
            .into(),
    );
    w.rebuild();
    let (s, _) = w.evaluate();
    assert_eq!(
        s.gate("contQaGate").map(|g| (g.ok, g.status_code.clone())),
        Some((true, "conditional-pass".into()))
    );
    // AS-36: report missing.
    let mut w = World::passing();
    w.files.remove("docs/plans/waves/reviews/wave-1-cont-qa.md");
    assert_eq!(w.evaluate().0.overall.status_code, "missing-cont-qa-report");
    // Missing verdict.
    let mut w = World::passing();
    w.reports.clear();
    w.rebuild();
    assert_eq!(
        w.evaluate().0.overall.status_code,
        "missing-cont-qa-verdict"
    );
    // AS-28: doc closure delta.
    let mut w = World::passing();
    w.logs.insert(
        "A9".into(),
        "[wave-doc-closure] state=delta detail=plan drift\n".into(),
    );
    w.rebuild();
    let (s, _) = w.evaluate();
    assert_eq!(
        (s.overall.gate.as_str(), s.overall.status_code.as_str()),
        ("documentationGate", "doc-closure-open")
    );
    // Empty A9 run with a ready integration summary is auto-closed.
    let mut w = World::passing();
    w.logs.insert("A9".into(), "nothing\n".into());
    w.rebuild();
    let (s, _) = w.evaluate();
    let g = s.gate("documentationGate").expect("gate");
    assert_eq!(
        (g.ok, g.status_code.as_str()),
        (true, "fallback-auto-closed")
    );
    // AS-29: missing doc closure with a termination hint.
    let mut w = World::passing();
    w.logs.insert("A9".into(), "[wave-proof] completion=contract durability=none proof=unit state=met\nReached max turns (10)\n".into());
    w.rebuild();
    let g = w
        .evaluate()
        .0
        .gate("documentationGate")
        .expect("gate")
        .clone();
    assert_eq!(g.status_code, "missing-doc-closure");
    assert!(g.detail.contains("Reached max turns (10)"));
    // LA-36 / LA-37: integration.
    let mut w = World::passing();
    w.logs.insert("A8".into(), "[wave-integration] state=needs-more-work claims=0 conflicts=1 blockers=0 detail=conflict\n".into());
    w.rebuild();
    let (s, _) = w.evaluate();
    assert_eq!(
        (s.overall.gate.as_str(), s.overall.status_code.as_str()),
        ("integrationBarrier", "integration-needs-more-work")
    );
    let w = World::passing();
    let integration = w.integration();
    let contradiction = [Contradiction {
        id: "c1".into(),
        status: "detected".into(),
        severity: "blocking".into(),
        impacted_gates: vec!["integrationBarrier".into()],
    }];
    let inputs = gates::GateInputs {
        contradictions: &contradiction,
        ..w.inputs(Some(&integration))
    };
    assert_eq!(
        gates::integration_barrier(&inputs).status_code,
        "integration-contradiction-open"
    );
}

#[test]
fn la15_inferred_integration_and_doc_no_change_by_policy() {
    let mut w = World::passing();
    w.lane.validation.auto_closure.allow_inferred_integration = true;
    w.lane.validation.auto_closure.allow_auto_doc_no_change = true;
    w.logs.remove("A8");
    w.logs.remove("A9");
    w.rebuild();
    let integration = w.integration();
    assert_eq!(integration.recommendation, "ready-for-doc-closure");
    let inputs = gates::GateInputs {
        gate_mode: GateMode::Standard,
        ..w.inputs(Some(&integration))
    };
    let s = evaluate(&inputs);
    let ig = s.gate("integrationBarrier").expect("gate");
    assert_eq!((ig.ok, ig.agent_id.clone()), (true, None));
    assert_eq!(ig.extra["integrationState"], "inferred");
    let dg = s.gate("documentationGate").expect("gate");
    assert_eq!(dg.extra["docClosureState"], "no-change");
    assert!(s.overall.ok, "{:?}", s.overall);
}

#[test]
fn bootstrap_mode_makes_closure_quality_gates_advisory() {
    let mut w = World::passing();
    w.reports.insert("A0".into(), "Verdict: BLOCKED\n".into());
    w.rebuild();
    let integration = w.integration();
    let inputs = gates::GateInputs {
        gate_mode: GateMode::Bootstrap,
        ..w.inputs(Some(&integration))
    };
    let s = evaluate(&inputs);
    assert!(s.overall.ok);
    assert_eq!(s.advisory_failures.len(), 1);
    assert_eq!(s.advisory_failures[0].gate, "contQaGate");
    assert_eq!(
        gates::resolve_gate_mode(2, Some(&w.lane.validation.gate_mode_thresholds)),
        GateMode::Bootstrap
    );
    assert_eq!(gates::resolve_gate_mode(2, None), GateMode::Strict);
}

#[test]
fn la08_infra_gate_and_clarification_barrier_order() {
    let w = World::passing();
    let integration = w.integration();
    let ok = [(
        "A1".to_owned(),
        InfraStatus {
            kind: "dependency".into(),
            target: "db".into(),
            state: "setup-required".into(),
            detail: String::new(),
        },
    )];
    assert!(
        gates::infra_gate(&gates::GateInputs {
            infra: &ok,
            ..w.inputs(Some(&integration))
        })
        .ok
    );
    let bad = [(
        "A1".to_owned(),
        InfraStatus {
            kind: "conformance".into(),
            target: "db".into(),
            state: "drift".into(),
            detail: String::new(),
        },
    )];
    assert_eq!(
        gates::infra_gate(&gates::GateInputs {
            infra: &bad,
            ..w.inputs(Some(&integration))
        })
        .status_code,
        "infra-drift"
    );
    let mut w = World::passing();
    let rec = |id: &str, kind: &str, linked| OpenRecord {
        id: id.into(),
        kind: kind.into(),
        agent_id: "A1".into(),
        targets: vec!["agent:A9".into()],
        blocking: true,
        clarification_linked: linked,
    };
    w.coordination.open_records =
        vec![rec("h", "human-feedback", false), rec("f", "request", true)];
    assert_eq!(
        w.evaluate().0.overall.status_code,
        "clarification-follow-up-open"
    );
    w.coordination
        .open_records
        .push(rec("c", "clarification-request", false));
    let (s, _) = w.evaluate();
    assert_eq!(
        (s.overall.gate.as_str(), s.overall.status_code.as_str()),
        ("clarificationBarrier", "clarification-open")
    );
}

#[test]
fn proof_families_are_independent_and_deploy_is_opt_in() {
    let mut w = World::passing();
    let integration = w.integration();
    let f = gates::proof_families(&w.inputs(Some(&integration)), &[]);
    assert_eq!(
        serde_json::to_value(&f).expect("json")["deployProof"]["state"],
        "not_applicable"
    );
    assert_eq!(f.code_proof.state, gates::FamilyState::Satisfied);
    w.logs.insert("A2".into(), "no proof".into());
    w.rebuild();
    let integration = w.integration();
    let f = gates::proof_families(&w.inputs(Some(&integration)), &[]);
    assert_eq!(f.code_proof.state, gates::FamilyState::Unsatisfied);
    assert_eq!(f.code_proof.reasons, ["A2: missing-wave-proof"]);
    assert_eq!(
        f.integration_proof.state,
        gates::FamilyState::Satisfied,
        "a missing code proof does not fail the integration family"
    );
    w.plan
        .deploy_environments
        .push(wave_runner::plan::DeployEnvironment {
            id: "prod".into(),
            kind: "docker".into(),
            is_default: true,
            notes: None,
        });
    let integration = w.integration();
    let deploy = [(
        "A1".to_owned(),
        wave_runner::engine::markers::DeployStatus {
            service: "api".into(),
            state: "failed".into(),
            detail: "boom".into(),
        },
    )];
    let f = gates::proof_families(&w.inputs(Some(&integration)), &deploy);
    assert_eq!(f.deploy_proof.reasons, ["A1: deploy-failed"]);
}

#[test]
fn docs_queue_owes_matrix_items_until_the_matrix_shows_the_target() {
    use wave_runner::engine::gates::DocsQueue;
    let w = ComponentWorld::new("", 0);
    let matrix = |level: &str| {
        parse_matrix(
            Some(&format!(
                r#"{{"levels":["contract-frozen","repo-landed"],"components":{{"runtime":{{"currentLevel":"{level}","promotions":[{{"wave":1,"target":"repo-landed"}}]}}}}}}"#
            )),
            "m.json",
        )
        .expect("matrix")
    };
    let stale = matrix("contract-frozen");
    assert_eq!(
        DocsQueue::build(&w.plan, &w.summaries, Some(&stale)).component_matrix_items,
        1
    );
    let done = matrix("repo-landed");
    let q = DocsQueue::build(&w.plan, &w.summaries, Some(&done));
    assert_eq!((q.component_matrix_items, q.shared_plan_items), (0, 0));
    assert_eq!(
        DocsQueue::build(&w.plan, &w.summaries, None).component_matrix_items,
        1
    );
}

/// The gates' integration summary reads each agent's log as the coordination integration
/// summary does (spec §10.9): the agent's last `[deploy-status]` overall (not the last per
/// service) unless it is exactly `healthy`, and its last `[infra-status]` unless `conformant`
/// or `action-complete`.
#[test]
fn integration_summary_deploy_risks_follow_each_agents_last_marker() {
    use wave_runner::run::trace::{Material, with_gate_inputs};
    let w = World::passing();
    let risks = |extra: &str| {
        let mut logs = w.logs.clone();
        logs.entry("A1".into()).or_default().push_str(extra);
        let material = Material {
            files: w.files.clone(),
            coordination: w.coordination.clone(),
            logs,
            matrix_text: None,
        };
        with_gate_inputs(&w.plan, &w.lane, None, None, &w.summaries, &material, |i| {
            i.integration.map(|s| s.deploy_risks.clone())
        })
        .expect("an integration summary")
    };
    assert_eq!(risks(""), Vec::<String>::new());
    let recovered = "\n[deploy-status] service=api state=failed detail=boom\n\
                     [deploy-status] service=web state=healthy\n";
    assert_eq!(risks(recovered), Vec::<String>::new());
    let failing = "\n[deploy-status] service=web state=healthy\n\
                   [deploy-status] service=api state=deploying\n";
    assert_eq!(
        risks(failing),
        ["A1: Deployment api ended in state deploying."]
    );
    assert_eq!(
        risks("\n[deploy-status] service=web state=Healthy\n"),
        ["A1: Deployment web ended in state Healthy."]
    );
    assert_eq!(
        risks("\n[infra-status] kind=dependency target=db state=setup-required\n"),
        ["A1: Infra dependency on db ended in state setup-required."]
    );
}
