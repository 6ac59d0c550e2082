//! Retry planning (upstream-tests LA-16..LA-31, LA-44..LA-47; spec §8, §9.1, §9.6).
mod gates_support;

use std::collections::{BTreeMap, BTreeSet};

use gates_support::{World, parse};
use sha2::{Digest, Sha256};
use wave_runner::engine::gates::{DependencyTicket, GateResult, OpenRecord};
use wave_runner::engine::retry::{
    AttemptBudget, ExecutorState, Failure, FallbackOutcome, FingerprintParts, ProcessEnd,
    RerunOverride, RetryInputs, RetryPlan, RetrySource, ReuseFacts, choose_fallback, final_outcome,
    fingerprint_source, initial_selection, prompt_hash, reconcile_shared_component_failures,
    resolve_retry, reusable_status,
};
use wave_runner::engine::summary::StatusRecord;
use wave_runner::plan::{ExecutorId, RetryPolicy};

fn failure(agent: &str, code: &str) -> Failure {
    Failure::from_gate(&GateResult::fail(
        Some(agent),
        code,
        format!("{agent} {code}"),
    ))
}

struct Ctx {
    executors: BTreeMap<String, ExecutorState>,
    available: BTreeSet<ExecutorId>,
    models: BTreeMap<ExecutorId, String>,
}

impl Ctx {
    fn new() -> Self {
        Ctx {
            executors: BTreeMap::new(),
            available: BTreeSet::new(),
            models: BTreeMap::new(),
        }
    }
}

fn resolve(w: &World, failures: &[Failure], ctx: &Ctx, rerun: Option<&RerunOverride>) -> RetryPlan {
    let (snapshot, readiness) = w.evaluate();
    resolve_retry(&RetryInputs {
        plan: &w.plan,
        lane: &w.lane,
        failures,
        coordination: &w.coordination,
        snapshot: &snapshot,
        readiness: &readiness,
        executors: &ctx.executors,
        available_executors: &ctx.available,
        lane_models: &ctx.models,
        next_attempt: 2,
        rerun,
    })
}

fn record(
    id: &str,
    kind: &str,
    author: &str,
    target: &str,
    blocking: bool,
    linked: bool,
) -> OpenRecord {
    OpenRecord {
        id: id.into(),
        kind: kind.into(),
        agent_id: author.into(),
        targets: vec![format!("agent:{target}")],
        blocking,
        clarification_linked: linked,
    }
}

fn failed_a2() -> World {
    let mut w = World::passing();
    w.exit_codes.insert("A2".into(), 1);
    w.logs.insert("A2".into(), "crashed\n".into());
    w.rebuild();
    w
}

#[test]
fn la16_launcher_seed_requests_are_not_targets_only_the_failed_agent_runs() {
    // Seed requests are non-blocking records; they never reach the open blocking set.
    let mut w = failed_a2();
    w.coordination.open_records.push(record(
        "wave-1-agent-A1-request",
        "request",
        "launcher",
        "A1",
        false,
        false,
    ));
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), None);
    assert_eq!(plan.selected_agent_ids, ["A2"]);
}

#[test]
fn la19_la20_human_escalations_halt_only_when_blocking() {
    let mut w = failed_a2();
    w.coordination
        .open_records
        .push(record("esc", "human-escalation", "A2", "A2", true, false));
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), None);
    assert_eq!(plan.source, RetrySource::HumanWait);
    assert!(plan.selected_agent_ids.is_empty() && plan.barrier.is_none());
    assert_eq!(
        final_outcome(&[failure("A2", "1")], &w.summaries, Some(&plan)).exit_code,
        43
    );
    w.coordination.open_records[0].blocking = false;
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), None);
    assert_eq!(plan.selected_agent_ids, ["A2"]);
}

#[test]
fn la21_clarification_follow_up_takes_priority() {
    let mut w = failed_a2();
    w.coordination.open_records.push(record(
        "clar-followup",
        "request",
        "launcher",
        "A9",
        true,
        true,
    ));
    let plan = resolve(
        &w,
        &[failure("A1", "missing-wave-proof")],
        &Ctx::new(),
        None,
    );
    assert_eq!(
        (plan.source, plan.selected_agent_ids.clone()),
        (RetrySource::Clarification, vec!["A9".to_owned()])
    );
}

#[test]
fn dependencies_and_blockers_in_priority_order() {
    let mut w = failed_a2();
    w.coordination.dependencies.push(DependencyTicket {
        id: "dep-1".into(),
        inbound: true,
        required: true,
        assigned_agent_id: None,
    });
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), None);
    assert_eq!(
        plan.barrier.map(|b| b.status_code),
        Some("dependency-assignment-unresolved".into())
    );
    w.coordination.dependencies[0].assigned_agent_id = Some("A1".into());
    assert_eq!(
        resolve(&w, &[failure("A2", "1")], &Ctx::new(), None).selected_agent_ids,
        ["A1"]
    );
    w.coordination.dependencies.clear();
    w.coordination
        .open_records
        .push(record("blk", "blocker", "A1", "A8", true, false));
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), None);
    assert_eq!(
        (plan.source, plan.selected_agent_ids),
        (RetrySource::Blocker, vec!["A1".to_owned(), "A8".to_owned()])
    );
}

#[test]
fn la24_sibling_pending_relaunches_only_waiting_owners() {
    let w = World::passing();
    let gate = GateResult::fail(
        Some("A2"),
        "shared-component-sibling-pending",
        "waits".into(),
    );
    let mut gate = gate;
    gate.extra.insert("componentId".into(), "runtime".into());
    gate.extra
        .insert("satisfiedAgentIds".into(), serde_json::json!(["A1"]));
    gate.extra
        .insert("waitingOnAgentIds".into(), serde_json::json!(["A2", "A7"]));
    // A1's own failure is folded into the sibling-pending failure.
    let failures = reconcile_shared_component_failures(
        &[failure("A1", "component-gap"), failure("A2", "1")],
        &gate,
    );
    assert_eq!(
        failures
            .iter()
            .map(|f| f.status_code.as_str())
            .collect::<Vec<_>>(),
        ["1", "shared-component-sibling-pending"]
    );
    let only_pending = [Failure::from_gate(&gate)];
    let plan = resolve(&w, &only_pending, &Ctx::new(), None);
    assert_eq!(
        (plan.source, plan.selected_agent_ids),
        (
            RetrySource::SharedComponentSibling,
            vec!["A2".to_owned(), "A7".to_owned()]
        )
    );
}

fn codex_with_claude_fallback() -> ExecutorState {
    ExecutorState::initial(
        ExecutorId::Codex,
        "lane-default",
        None,
        None,
        false,
        vec![ExecutorId::Claude],
        None,
    )
}

#[test]
fn la29_to_la31_executor_fallback() {
    let w = failed_a2();
    let mut ctx = Ctx::new();
    ctx.executors
        .insert("A2".into(), codex_with_claude_fallback());
    ctx.available = [ExecutorId::Codex, ExecutorId::Claude].into();
    ctx.models
        .insert(ExecutorId::Claude, "claude-sonnet".into());
    // LA-29: status 127 → switch to claude, history appended.
    let plan = resolve(&w, &[failure("A2", "127")], &ctx, None);
    let next = &plan.executor_changes["A2"];
    assert_eq!((next.id, next.fallback_used), (ExecutorId::Claude, true));
    assert_eq!(next.fallback_reason.as_deref(), Some("retry:127"));
    assert_eq!(next.initial_executor_id, ExecutorId::Codex);
    assert_eq!(next.model.as_deref(), Some("claude-sonnet"));
    assert_eq!(
        next.executor_history
            .last()
            .map(|h| (h.attempt, h.reason.as_str())),
        Some((2, "retry:127"))
    );
    assert_eq!(plan.selected_agent_ids, ["A2"]);
    // LA-30: the fallback would exceed the runtime mix → barrier, executor unchanged.
    let mut w2 = failed_a2();
    w2.lane
        .runtime_policy
        .runtime_mix_targets
        .insert(ExecutorId::Claude, 0);
    let plan = resolve(&w2, &[failure("A2", "127")], &ctx, None);
    assert!(plan.selected_agent_ids.is_empty());
    assert!(plan.executor_changes.is_empty());
    let barrier = plan.barrier.expect("barrier");
    assert_eq!(barrier.status_code, "retry-fallback-blocked");
    assert_eq!(barrier.failures[0].agent_id.as_deref(), Some("A2"));
    // Unavailable command and already-tried candidates are skipped.
    let tried = match choose_fallback(
        "A2",
        next,
        "1",
        3,
        &ctx.available,
        &BTreeMap::new(),
        &BTreeMap::new(),
        &BTreeMap::new(),
    ) {
        FallbackOutcome::Blocked(detail) => detail,
        other => panic!("expected blocked, got {other:?}"),
    };
    assert!(
        tried.contains("already tried") || tried.contains("no safe fallback"),
        "{tried}"
    );
    // LA-31: sticky keeps codex.
    let sticky = ExecutorState::initial(
        ExecutorId::Codex,
        "agent-id",
        Some(RetryPolicy::Sticky),
        None,
        false,
        vec![ExecutorId::Claude],
        None,
    );
    assert!(sticky.fallback_chain().is_empty());
    ctx.executors.insert("A2".into(), sticky);
    let plan = resolve(&w, &[failure("A2", "127")], &ctx, None);
    assert!(plan.executor_changes.is_empty());
    assert_eq!(plan.selected_agent_ids, ["A2"]);
    // Proof-centric agents default to sticky.
    assert!(
        !ExecutorState::initial(
            ExecutorId::Codex,
            "x",
            None,
            None,
            true,
            vec![ExecutorId::Claude],
            None
        )
        .allow_fallback_on_retry
    );
}

#[test]
fn operator_override_wins_and_unknown_ids_are_ignored() {
    let w = failed_a2();
    let over = RerunOverride {
        selected_agent_ids: vec!["A1".into()],
        ..Default::default()
    };
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), Some(&over));
    assert_eq!(
        (plan.source, plan.selected_agent_ids),
        (RetrySource::Override, vec!["A1".to_owned()])
    );
    let bad = RerunOverride {
        selected_agent_ids: vec!["A1".into(), "Z9".into()],
        ..Default::default()
    };
    let plan = resolve(&w, &[failure("A2", "1")], &Ctx::new(), Some(&bad));
    assert_eq!(plan.unknown_override_ids, ["Z9"]);
    assert_eq!(plan.selected_agent_ids, ["A2"]);
    let phase = RerunOverride {
        resume_phase: Some("integrating".into()),
        ..Default::default()
    };
    assert_eq!(
        resolve(&w, &[failure("A2", "1")], &Ctx::new(), Some(&phase)).selected_agent_ids,
        ["A8"]
    );
}

#[test]
fn la44_to_la47_initial_selection_and_reuse() {
    let w = World::passing();
    // LA-44: implementation agents first, closure agents never.
    let sel = initial_selection(&w.plan, &w.lane, &BTreeMap::new(), false, None);
    assert_eq!(sel.selected_agent_ids, ["A1", "A2"]);
    // Reuse: A1 completed with the same fingerprint.
    let reuse: BTreeMap<String, ReuseFacts> = [(
        "A1".to_owned(),
        ReuseFacts {
            status_reusable: true,
            slice_valid: false,
        },
    )]
    .into();
    let sel = initial_selection(&w.plan, &w.lane, &reuse, false, None);
    assert_eq!(
        (sel.selected_agent_ids.clone(), sel.reused_agent_ids.clone()),
        (vec!["A2".to_owned()], vec!["A1".to_owned()])
    );
    // clearReusableAgentIds forces a relaunch.
    let clear = RerunOverride {
        clear_reusable_agent_ids: vec!["A1".into()],
        ..Default::default()
    };
    let sel = initial_selection(&w.plan, &w.lane, &reuse, false, Some(&clear));
    assert_eq!(sel.stale_completed_agent_ids, ["A1"]);
    assert_eq!(sel.selected_agent_ids, ["A1", "A2"]);
    // LA-45: nothing pending outside closure → every non-closure agent is reused, none left.
    let all: BTreeMap<String, ReuseFacts> = ["A1", "A2"]
        .map(|a| {
            (
                a.to_owned(),
                ReuseFacts {
                    status_reusable: true,
                    slice_valid: true,
                },
            )
        })
        .into();
    assert!(
        initial_selection(&w.plan, &w.lane, &all, false, None)
            .selected_agent_ids
            .is_empty()
    );
    // LA-46: a design agent launches alone first.
    let design = format!(
        "{}\n## Agent D1: Design\n\n### Role prompts\n\n- docs/agents/wave-design-role.md\n\n### Prompt\n\n```text\nDesign.\n\nFile ownership (only touch these paths):\n- docs/plans/design/wave-1-design.md\n```\n",
        gates_support::WAVE
    );
    let plan = parse(&design, &w.lane);
    assert_eq!(
        initial_selection(&plan, &w.lane, &BTreeMap::new(), false, None).selected_agent_ids,
        ["D1"]
    );
    // LA-47-like: once the design pass is reusable, the implementation fan-out runs.
    let done: BTreeMap<String, ReuseFacts> = [(
        "D1".to_owned(),
        ReuseFacts {
            status_reusable: true,
            slice_valid: true,
        },
    )]
    .into();
    assert_eq!(
        initial_selection(&plan, &w.lane, &done, false, None).selected_agent_ids,
        ["A1", "A2"]
    );
}

#[test]
fn prompt_hash_is_sha256_of_the_ordered_fingerprint_source() {
    let w = World::passing();
    let a2 = w.plan.agent("A2").expect("A2");
    let executor = serde_json::json!({"id": "codex", "selectedBy": "lane-default"});
    let parts = FingerprintParts {
        context7_selection_hash: "",
        executor_resolved: Some(&executor),
        skills: None,
    };
    let source = fingerprint_source(a2, &parts);
    let expected_prefix = format!(
        "{{\"prompt\":{},\"context7SelectionHash\":\"\",\"exitContract\":{{\"completion\":\"contract\",\"durability\":\"none\",\"proof\":\"unit\",\"docImpact\":\"none\"}},\"deliverables\":[\"src/runner.rs\"],\"proofArtifacts\":[],\"components\":[],\"componentTargets\":{{}},\"executorResolved\":{{\"id\":\"codex\",\"selectedBy\":\"lane-default\"}},\"skillsResolved\":null}}",
        serde_json::to_string(&a2.prompt).expect("json")
    );
    assert_eq!(source, expected_prefix);
    let hash = prompt_hash(a2, &parts);
    assert_eq!(hash, hex::encode(Sha256::digest(source.as_bytes())));
    // A fallback (executor change) invalidates reuse; the same inputs do not.
    let claude = serde_json::json!({"id": "claude"});
    assert_ne!(
        hash,
        prompt_hash(
            a2,
            &FingerprintParts {
                executor_resolved: Some(&claude),
                ..parts
            }
        )
    );
    assert_eq!(hash, prompt_hash(a2, &parts));
    let status = StatusRecord {
        code: Some(0),
        prompt_hash: Some(hash.clone()),
        ..Default::default()
    };
    assert!(reusable_status(Some(&status), &hash));
    assert!(!reusable_status(
        Some(&StatusRecord {
            code: Some(1),
            ..status.clone()
        }),
        &hash
    ));
    assert!(!reusable_status(Some(&status), "other"));
    assert!(!reusable_status(None, &hash));
}

#[test]
fn attempt_budget_and_final_outcomes() {
    let budget = AttemptBudget::default();
    assert_eq!(budget.max_attempts(), 2);
    assert!(budget.allows(1) && budget.allows(2) && !budget.allows(3) && !budget.allows(0));
    assert!(budget.is_final(2));
    let w = World::passing();
    // Timeouts are recoverable → 43 with a rerun target.
    let timeout = Failure::from_process("A1", ProcessEnd::TimeoutNoStatus, None).expect("failure");
    let out = final_outcome(std::slice::from_ref(&timeout), &w.summaries, None);
    assert_eq!(
        (out.exit_code, out.recoverable, out.rerun_agent_ids.clone()),
        (43, true, vec!["A1".to_owned()])
    );
    assert!(Failure::from_process("A1", ProcessEnd::Exited(0), None).is_none());
    // Rate-limit hints are recoverable.
    assert!(!failure("A1", "1").is_recoverable(None));
    let mut rl = failure("A1", "1");
    rl.detail = "HTTP 429 Too Many Requests".into();
    assert!(rl.is_recoverable(None));
    // Mixed → 1; cont-QA only → 42; all awaiting adjudication → 43.
    assert_eq!(
        final_outcome(
            &[timeout, failure("A2", "missing-wave-proof")],
            &w.summaries,
            None
        )
        .exit_code,
        1
    );
    assert_eq!(
        final_outcome(
            &[
                failure("A0", "cont-qa-blocked"),
                failure("A0", "missing-cont-qa-verdict")
            ],
            &w.summaries,
            None
        )
        .exit_code,
        42
    );
    assert_eq!(
        final_outcome(
            &[failure("A1", "awaiting-adjudication")],
            &w.summaries,
            None
        )
        .exit_code,
        43
    );
    assert_eq!(final_outcome(&[], &w.summaries, None).exit_code, 0);
}

#[test]
fn forwarded_closure_gaps_resume_from_the_earliest_stage() {
    let mut w = World::passing();
    w.logs.insert(
        "A7".into(),
        "[wave-security] state=clear findings=0 approvals=0\n".into(),
    );
    w.rebuild();
    let (snapshot, readiness) = w.evaluate();
    let failures = [failure("A7", "wave-proof-gap")];
    let resume = wave_runner::engine::retry::resume_plan(
        &w.plan,
        &w.lane,
        &snapshot,
        &readiness,
        &failures,
        &w.coordination,
    );
    assert_eq!(resume.resume_from_phase, "security-review");
    assert_eq!(
        resume.forwarded_closure_gaps,
        [("security-review".to_owned(), "A7".to_owned())]
    );
    for a in ["A0", "A7", "A8", "A9"] {
        assert!(resume.invalidated_agent_ids.contains(&a.to_owned()), "{a}");
    }
    assert!(!resume.invalidated_agent_ids.contains(&"A1".to_owned()));
    // A passing wave cannot resume.
    let resume = wave_runner::engine::retry::resume_plan(
        &w.plan,
        &w.lane,
        &snapshot,
        &readiness,
        &[],
        &w.coordination,
    );
    assert_eq!(
        (
            resume.reason.as_str(),
            resume.can_resume,
            resume.resume_from_phase.as_str()
        ),
        ("all-gates-pass", false, "completed")
    );
}

#[test]
fn attempt_counter_only_retries_use_the_budget() {
    use wave_runner::engine::retry::{AttemptCounter, AttemptTransition};
    let budget = AttemptBudget::default();
    let c = AttemptCounter::FIRST.next(AttemptTransition::DesignPassCompleted);
    assert_eq!((c.attempt, c.retries_used), (2, 0));
    assert!(c.may_retry(&budget));
    let c = c
        .next(AttemptTransition::SharedComponentContinuation)
        .next(AttemptTransition::Retry);
    assert_eq!((c.attempt, c.retries_used), (4, 1));
    assert!(!c.may_retry(&budget));
}

#[test]
fn repair_requests_relaunch_plans_and_recovery_rerun_requests() {
    use wave_runner::engine::retry::{
        ReasonBuckets, recovery_rerun_request, relaunch_plan, repair_request,
    };
    let r = repair_request("main", 1, 2, "A1", "missing-wave-proof", "t");
    assert_eq!(r["id"], "repair-wave-1-attempt-2-A1");
    assert_eq!(
        (
            r["kind"].as_str(),
            r["blocking"].as_bool(),
            r["blockerSeverity"].as_str()
        ),
        (Some("request"), Some(false), Some("soft"))
    );
    assert_eq!(r["summary"], "Repair A1: missing-wave-proof");
    let mut w = World::passing();
    w.logs.insert("A1".into(), "nothing\n".into());
    w.rebuild();
    let failures = [failure("A1", "missing-wave-proof")];
    let mut ctx = Ctx::new();
    ctx.executors
        .insert("A1".into(), codex_with_claude_fallback());
    let blocked = resolve(&w, &failures, &ctx, None);
    assert_eq!(
        blocked.barrier.map(|b| b.status_code),
        Some("retry-fallback-blocked".to_owned()),
        "claude is not on PATH"
    );
    ctx.available = [ExecutorId::Codex, ExecutorId::Claude].into();
    let plan = resolve(&w, &failures, &ctx, None);
    let buckets = ReasonBuckets::of(&plan, &failures);
    assert!(!buckets.closure_gate);
    let v = relaunch_plan(
        1,
        1,
        "running",
        &plan,
        &buckets,
        &plan.executor_changes,
        "t",
    );
    assert_eq!(v["kind"], "wave-relaunch-plan");
    assert_eq!(v["selectedAgentIds"], serde_json::json!(["A1"]));
    assert_eq!(v["executorStates"]["A1"]["id"], "claude");
    assert_eq!(
        v["fallbackHistory"]["A1"][1]["reason"],
        "retry:missing-wave-proof"
    );
    let timeout =
        [Failure::from_process("A1", ProcessEnd::TimeoutNoStatus, None).expect("failure")];
    let outcome = final_outcome(&timeout, &w.summaries, Some(&plan));
    let req = recovery_rerun_request(1, &outcome, Some(&plan), &timeout, 1700000000000, "t");
    assert_eq!(req["requestId"], "rerun-wave-1-1700000000000");
    assert_eq!(req["requestedBy"], "launcher-recovery");
    assert_eq!(req["resumeCursor"], "implementation");
    assert_eq!(req["clearReusableAgentIds"], serde_json::json!(["A1"]));
}

#[test]
fn a_failed_implementation_agent_reruns_even_when_a_closure_gate_fails_first() {
    // A2's process timed out; the integration steward never ran, so the first failing gate
    // is a closure gate. Resuming from the integration stage would never rerun A2.
    let mut w = World::passing();
    w.logs.remove("A8");
    w.rebuild();
    let (snapshot, _) = w.evaluate();
    assert!(!snapshot.overall.ok);
    let failures = [
        Failure::from_process("A2", ProcessEnd::TimeoutNoStatus, None).unwrap(),
        failure("A8", &snapshot.overall.status_code),
    ];
    let plan = resolve(&w, &failures, &Ctx::new(), None);
    assert_eq!(plan.resume.resume_from_phase, "implementation");
    assert!(plan.resume.invalidated_agent_ids.contains(&"A2".to_owned()));
    assert!(
        plan.selected_agent_ids.contains(&"A2".to_owned()),
        "{plan:?}"
    );
}
