//! Closure sweep planning (upstream-tests LA-33..LA-43).
mod gates_support;

use gates_support::{World, parse};
use wave_runner::engine::closure::{
    ClosureMode, ClosureStage, ClosureSweep, SweepAction, SweepOutcome, closure_mode, plan_stages,
};
use wave_runner::engine::gates::{GateInputs, GateMode};

const E0: &str = r#"
## Eval targets

- id: response-quality | selection: pinned | benchmarks: bench-a | objective: answers | threshold: 0.9

## Agent E0: cont-EVAL

### Role prompts

- docs/agents/wave-cont-eval-role.md

### Prompt

```text
Evaluate.

File ownership (only touch these paths):
- docs/plans/waves/reviews/wave-1-cont-eval.md
```
"#;

const E0_GOOD: &str = "[wave-eval] state=satisfied targets=1 benchmarks=1 regressions=0 target_ids=response-quality benchmark_ids=bench-a\n";

fn world_with_e0() -> World {
    let mut w = World::passing();
    let text = format!("{}{E0}", gates_support::WAVE);
    w.plan = parse(&text, &w.lane);
    w.logs.insert("E0".into(), E0_GOOD.into());
    w.exit_codes.insert("E0".into(), 0);
    w.files.insert(
        "docs/plans/waves/reviews/wave-1-cont-eval.md".into(),
        Default::default(),
    );
    if let Some(f) = w
        .files
        .get_mut("docs/plans/waves/reviews/wave-1-cont-eval.md")
    {
        f.exists = true;
    }
    w.rebuild();
    w
}

/// Runs a sweep to the end, every launched agent finishing without a process failure.
fn run(
    w: &World,
    runs: &[&str],
    mode: GateMode,
    inputs: GateInputs<'_>,
) -> (Vec<String>, SweepOutcome) {
    let runs: Vec<String> = runs.iter().map(|s| (*s).to_owned()).collect();
    let mut sweep = ClosureSweep::new(&w.plan, &w.lane, &runs, 1, mode);
    let mut launched = Vec::new();
    loop {
        match sweep.next(&inputs) {
            SweepAction::Launch { agent_id, .. } => {
                launched.push(agent_id.clone());
                sweep.record_run(&agent_id, None);
            }
            SweepAction::Done(o) => return (launched, o),
        }
    }
}

#[test]
fn la35_la39_stage_order_with_cont_eval_and_security() {
    let w = world_with_e0();
    let integration = w.integration();
    let runs = ["A0", "A7", "A8", "A9", "E0"];
    let (launched, outcome) = run(&w, &runs, GateMode::Strict, w.inputs(Some(&integration)));
    assert_eq!(launched, ["E0", "A7", "A8", "A9", "A0"]);
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    let stages: Vec<ClosureStage> = plan_stages(&w.plan, &w.lane, &runs.map(String::from))
        .iter()
        .map(|s| s.stage)
        .collect();
    assert_eq!(stages, ClosureStage::ORDER);
}

#[test]
fn la36_needs_more_work_stops_after_the_integration_steward() {
    let mut w = World::passing();
    w.logs.insert(
        "A8".into(),
        "[wave-integration] state=needs-more-work claims=0 conflicts=0 blockers=1\n".into(),
    );
    w.rebuild();
    let integration = w.integration();
    let (launched, outcome) = run(
        &w,
        &["A0", "A7", "A8", "A9"],
        GateMode::Strict,
        w.inputs(Some(&integration)),
    );
    assert_eq!(launched, ["A7", "A8"]);
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(
        (
            outcome.failures[0].agent_id.as_deref(),
            outcome.failures[0].status_code.as_str()
        ),
        (Some("A8"), "integration-needs-more-work")
    );
}

#[test]
fn la40_la41_forwarded_and_stopping_failures() {
    // An implementation-owning cont-EVAL agent reporting a proof gap is forwarded.
    let mut w = world_with_e0();
    let text = format!("{}{}", gates_support::WAVE, E0.replace(
        "- docs/plans/waves/reviews/wave-1-cont-eval.md",
        "- docs/plans/waves/reviews/wave-1-cont-eval.md\n- src/eval_harness.rs",
    ).replace("### Prompt", "### Exit contract\n\n- completion: contract\n- durability: none\n- proof: unit\n- doc-impact: none\n\n### Prompt"));
    w.plan = parse(&text, &w.lane);
    w.logs.insert("E0".into(), format!("{E0_GOOD}[wave-proof] completion=contract durability=none proof=unit state=gap detail=harness flaky\n[wave-doc-delta] state=none\n"));
    w.rebuild();
    let integration = w.integration();
    let (launched, outcome) = run(
        &w,
        &["A0", "A7", "A8", "A9", "E0"],
        GateMode::Strict,
        w.inputs(Some(&integration)),
    );
    assert_eq!(
        launched,
        ["E0", "A7", "A8", "A9", "A0"],
        "a forwarded gap does not stop the sweep"
    );
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].status_code, "wave-proof-gap");
    let gap = &outcome.forwarded[0];
    assert_eq!(gap.record_id, "wave-1-closure-gap-cont-eval-E0-attempt-1");
    assert_eq!(
        gap.targets,
        ["agent:A7", "agent:A8", "agent:A9", "agent:A0"]
    );
    let record = gap.record("main", 1, "2026-01-01T00:00:00.000Z");
    assert_eq!(
        (record["kind"].as_str(), record["blockerSeverity"].as_str()),
        (Some("blocker"), Some("closure-critical"))
    );

    // LA-41: a non-forwardable failure stops right after the security reviewer.
    let mut w = World::passing();
    w.logs.insert("A7".into(), "nothing printed\n".into());
    w.rebuild();
    let (launched, outcome) = run(
        &w,
        &["A0", "A7", "A8", "A9"],
        GateMode::Strict,
        w.inputs(None),
    );
    assert_eq!(launched, ["A7"]);
    assert_eq!(outcome.failures[0].status_code, "missing-wave-security");
}

#[test]
fn la42_required_stage_without_a_run_fails() {
    let w = World::passing();
    let (launched, outcome) = run(&w, &["A0", "A7", "A9"], GateMode::Strict, w.inputs(None));
    assert_eq!(launched, ["A7"]);
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(
        (
            outcome.failures[0].agent_id.as_deref(),
            outcome.failures[0].status_code.as_str()
        ),
        (Some("A8"), "missing-closure-run")
    );
}

#[test]
fn la33_la34_bootstrap_auto_closure_and_cont_qa_skip() {
    let mut w = World::passing();
    w.lane.validation.auto_closure.allow_inferred_integration = true;
    w.lane.validation.auto_closure.allow_auto_doc_no_change = true;
    w.lane
        .validation
        .auto_closure
        .allow_skip_cont_qa_in_bootstrap = true;
    assert_eq!(
        closure_mode(1, &w.lane.validation.closure_mode_thresholds),
        ClosureMode::Bootstrap
    );
    let integration = w.integration();
    let (launched, outcome) = run(&w, &[], GateMode::Bootstrap, w.inputs(Some(&integration)));
    assert!(launched.is_empty());
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.skipped.len(), 5);
    // LA-34: a semantic stage launched, so cont-QA is required and its run is absent.
    let (launched, outcome) = run(
        &w,
        &["A7"],
        GateMode::Bootstrap,
        w.inputs(Some(&integration)),
    );
    assert_eq!(launched, ["A7"]);
    assert_eq!(
        (
            outcome.failures[0].agent_id.as_deref(),
            outcome.failures[0].status_code.as_str()
        ),
        (Some("A0"), "missing-closure-run")
    );
}

#[test]
fn process_failure_stops_the_sweep() {
    let w = World::passing();
    let runs: Vec<String> = ["A0", "A7", "A8", "A9"].map(String::from).to_vec();
    let mut sweep = ClosureSweep::new(&w.plan, &w.lane, &runs, 1, GateMode::Strict);
    let inputs = w.inputs(None);
    let SweepAction::Launch { agent_id, stage } = sweep.next(&inputs) else {
        panic!("expected a launch")
    };
    assert_eq!(
        (agent_id.as_str(), stage),
        ("A7", ClosureStage::SecurityReview)
    );
    // Asking again before the run is recorded repeats the launch (idempotent).
    assert_eq!(
        sweep.next(&inputs),
        SweepAction::Launch {
            stage,
            agent_id: agent_id.clone()
        }
    );
    let failure = wave_runner::engine::gates::GateResult::fail(
        Some("A7"),
        "timeout-no-status",
        "timed out".into(),
    );
    sweep.record_run("A7", Some(failure));
    let SweepAction::Done(o) = sweep.next(&inputs) else {
        panic!("expected done")
    };
    assert_eq!(o.failures[0].status_code, "timeout-no-status");
    assert_eq!(o.launched, ["A7"]);
}
