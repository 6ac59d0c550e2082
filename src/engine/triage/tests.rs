//! Triage chain scenarios on an injected clock (spec §3.8, §3.10, §4.6, §3.6).

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::engine::coordination::materialize;

const T0: i64 = 1_790_000_000_000;

fn at(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(crate::event::time::format)
        .unwrap_or_default()
}

fn rec(fields: serde_json::Value, now_ms: i64) -> CoordinationRecord {
    match build(fields, &at(now_ms)) {
        Ok(r) => r,
        Err(e) => panic!("test record: {e}"),
    }
}

fn clar(id: &str, summary: &str, now_ms: i64) -> CoordinationRecord {
    rec(
        json!({"id": id, "kind": "clarification-request", "lane": "main", "wave": 0, "agentId": "A1",
               "summary": summary, "createdAt": at(now_ms), "updatedAt": at(now_ms)}),
        now_ms,
    )
}

fn agents() -> Vec<TriageAgent> {
    vec![
        TriageAgent {
            id: "A1".into(),
            owned_paths: vec!["src/a/".into()],
            ..Default::default()
        },
        TriageAgent {
            id: "A2".into(),
            owned_paths: vec!["src/b/".into()],
            components: vec!["billing-core".into()],
            ..Default::default()
        },
    ]
}

struct World {
    log: Vec<CoordinationRecord>,
    triage: Vec<CoordinationRecord>,
    humans: Vec<HumanRequest>,
}

impl World {
    fn pass(&mut self, now_ms: i64) -> TriageOutput {
        let state = materialize(self.log.clone());
        let agents = agents();
        let roles = TriageRoles::default();
        let now = at(now_ms);
        let inputs = TriageInputs {
            lane: "main",
            wave: 0,
            state: &state,
            agents: &agents,
            roles: &roles,
            docs_queue: &[],
            integration: None,
            attempt: None,
            now_ms,
            now: &now,
        };
        let out = match triage(&inputs) {
            Ok(o) => o,
            Err(e) => panic!("triage: {e}"),
        };
        self.log.extend(out.coordination.iter().cloned());
        self.triage.extend(out.triage_log.iter().cloned());
        self.humans.extend(out.human_requests.iter().cloned());
        out
    }
    fn latest(&self, id: &str) -> Option<CoordinationRecord> {
        materialize(self.log.clone()).get(id).cloned()
    }
}

#[test]
fn route_reroute_escalate_then_answer_reconciles() {
    // upstream-tests: coordination triage route / reroute / escalate chain (§3.8).
    let mut w = World {
        log: vec![clar("c1", "Who owns src/b/api.rs?", T0)],
        triage: vec![],
        humans: vec![],
    };
    let out = w.pass(T0);
    let ids: Vec<&str> = out.coordination.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["c1", "route-c1-1"]);
    assert_eq!(out.triage_log.len(), 2);
    assert_eq!(out.triage_log[0].id, "triage-c1-route-1");
    let route = &out.coordination[1];
    assert_eq!(route.targets, ["agent:A2"]);
    assert_eq!(route.closure_condition, "clarification:c1");
    assert_eq!(w.latest("c1").map(|c| c.status), Some(Status::InProgress));
    // Same now: nothing new. Before the ack timeout: nothing new.
    assert!(w.pass(T0).is_empty());
    assert!(w.pass(T0 + ACK_TIMEOUT_MS - 1).is_empty());
    // Timed out: supersede and reroute (cycle 2).
    let out = w.pass(T0 + ACK_TIMEOUT_MS);
    let ids: Vec<&str> = out.coordination.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["route-c1-1", "route-c1-2"]);
    assert_eq!(
        w.latest("route-c1-1").map(|r| r.status),
        Some(Status::Superseded)
    );
    assert!(w.pass(T0 + ACK_TIMEOUT_MS).is_empty());
    // Second cycle times out: escalate to a human.
    let t2 = T0 + 2 * ACK_TIMEOUT_MS;
    let out = w.pass(t2);
    assert_eq!(out.human_requests.len(), 1);
    let req = &out.human_requests[0];
    assert!(req.id.starts_with(
        &format!("{}-main-w0-A1-", at(t2).chars().filter(char::is_ascii_digit).collect::<String>())
    ));
    let esc = format!("escalation-{}", req.id);
    assert_eq!(w.latest(&esc).map(|e| e.status), Some(Status::Open));
    assert_eq!(
        w.latest("c1").map(|c| c.detail),
        Some(format!("Escalated to human via {}.", req.id))
    );
    // Idempotent from here on, however long nobody answers.
    assert!(w.pass(t2).is_empty());
    assert!(w.pass(t2 + 10 * ACK_TIMEOUT_MS).is_empty());
    // The human answers: everything linked resolves and the clarification stops blocking.
    let state = materialize(w.log.clone());
    let fixes = reconcile_answer(&state, &req.id, "A2 owns it", &at(t2 + 1000));
    let fixed: Vec<&str> = fixes.iter().map(|r| r.id.as_str()).collect();
    assert!(
        fixed.contains(&esc.as_str()) && fixed.contains(&"c1") && fixed.contains(&"route-c1-2"),
        "{fixed:?}"
    );
    w.log.extend(fixes);
    let state = materialize(w.log.clone());
    assert!(
        state
            .clarifications()
            .all(|c| !crate::engine::coordination::blocks_wave(c))
    );
    assert!(reconcile_answer(&state, &req.id, "A2 owns it", &at(t2 + 2000)).is_empty());
    assert!(w.pass(t2 + 3000).is_empty());
}

#[test]
fn acknowledged_route_waits() {
    let mut w = World {
        log: vec![clar("c1", "src/b/ layout?", T0)],
        triage: vec![],
        humans: vec![],
    };
    w.pass(T0);
    let mut ack = w.latest("route-c1-1").unwrap_or_else(|| panic!("route"));
    ack.status = Status::Acknowledged;
    ack.updated_at = at(T0 + 1);
    w.log.push(ack);
    assert!(w.pass(T0 + 10 * ACK_TIMEOUT_MS).is_empty());
}

#[test]
fn resolved_route_resolves_clarification() {
    let mut w = World {
        log: vec![clar("c1", "src/b/ layout?", T0)],
        triage: vec![],
        humans: vec![],
    };
    w.pass(T0);
    let mut done = w.latest("route-c1-1").unwrap_or_else(|| panic!("route"));
    done.status = Status::Resolved;
    done.updated_at = at(T0 + 1);
    w.log.push(done);
    let out = w.pass(T0 + 2);
    assert_eq!(out.coordination.len(), 1);
    assert_eq!(out.coordination[0].detail, "Resolved via route-c1-1.");
    assert!(w.pass(T0 + 3).is_empty());
}

#[test]
fn decision_resolves_by_policy_but_blank_and_launcher_decisions_do_not() {
    // §14.3: an empty decision must not match everything; launcher seeds must not match.
    let blank = rec(
        json!({"id": "d0", "kind": "decision", "lane": "main", "wave": 0, "agentId": "A3", "summary": "  "}),
        T0,
    );
    let seed = rec(
        json!({"id": "wave-0-component-x", "kind": "decision", "lane": "main", "wave": 0,
        "agentId": "launcher", "summary": "Promote x", "artifactRefs": ["x"]}),
        T0,
    );
    let c = rec(
        json!({"id": "c1", "kind": "clarification-request", "lane": "main", "wave": 0,
        "agentId": "A1", "summary": "Promote x how?", "artifactRefs": ["x"]}),
        T0,
    );
    let mut w = World {
        log: vec![blank, seed, c],
        triage: vec![],
        humans: vec![],
    };
    let out = w.pass(T0);
    assert_eq!(out.human_requests.len(), 1, "no policy, no route: escalate");
    let real = rec(
        json!({"id": "d1", "kind": "decision", "lane": "main", "wave": 0, "agentId": "A3",
        "summary": "use the v2 schema", "detail": "Adopt v2.", "updatedAt": at(T0 + 5)}),
        T0 + 5,
    );
    let c2 = rec(
        json!({"id": "c2", "kind": "clarification-request", "lane": "main", "wave": 0,
        "agentId": "A1", "summary": "Should we USE THE V2 SCHEMA?"}),
        T0 + 5,
    );
    w.log.extend([real, c2]);
    let out = w.pass(T0 + 10);
    let policy = out.triage_log.iter().find(|r| r.id == "triage-c2-policy");
    assert_eq!(policy.map(|r| r.kind), Some(Kind::ResolvedByPolicy));
    assert_eq!(
        w.latest("c2").map(|c| (c.status, c.detail)),
        Some((Status::Resolved, "Adopt v2.".into()))
    );
    assert!(w.pass(T0 + 10).is_empty());
}

#[test]
fn keyword_routes_follow_roles() {
    let state = materialize(vec![]);
    let roles = TriageRoles::default();
    let agents = agents();
    let now = at(T0);
    let inputs = TriageInputs {
        lane: "main",
        wave: 0,
        state: &state,
        agents: &agents,
        roles: &roles,
        docs_queue: &[],
        integration: None,
        attempt: None,
        now_ms: T0,
        now: &now,
    };
    let route = |s: &str| match resolve(&clar("c", s, T0), &inputs) {
        Some(Resolution::Route { agent, .. }) => agent,
        other => format!("{other:?}"),
    };
    assert_eq!(route("update docs/plans/current-state.md"), "A9");
    assert_eq!(route("which eval target?"), "E0");
    assert_eq!(route("does the gate pass?"), "A0");
    assert_eq!(route("billing-core question"), "A2");
    // The requester's own paths do not route back to it.
    assert_eq!(route("src/a/ question"), "None");
}

#[test]
fn human_input_clock_escalates_once() {
    let state = materialize(vec![clar("c1", "q", T0)]);
    let items = human_input_items(&state, &[]);
    assert_eq!(items[0].state, HumanInputState::Open);
    let clock = HumanInputClock::default();
    assert!(advance(&items, &clock, T0 + 119_999, &at(T0 + 119_999)).is_empty());
    let t = advance(&items, &clock, T0 + 120_000, &at(T0 + 120_000));
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].from, t[0].to, t[0].reason),
        (
            HumanInputState::Open,
            HumanInputState::Escalated,
            "escalate-after"
        )
    );
    assert_eq!(
        t[0].event_data().get("assignedTo"),
        Some(&json!("operator"))
    );
    // Once recorded as escalated, time moves it no further.
    let mut escalated = items.clone();
    escalated[0].state = HumanInputState::Escalated;
    assert!(advance(&escalated, &clock, T0 + 10_000_000, &at(T0)).is_empty());
    // A shorter max wait expires first.
    let short = HumanInputClock {
        policy: TimeoutPolicy {
            max_wait_ms: 60_000,
            ..TimeoutPolicy::default()
        },
    };
    assert_eq!(
        advance(&items, &short, T0 + 60_000, &at(T0))[0].reason,
        "max-wait-expired"
    );
    assert!(HumanInputState::Escalated.can_move_to(HumanInputState::Answered));
    assert!(!HumanInputState::Resolved.can_move_to(HumanInputState::Open));
}

#[test]
fn seeds_append_only_on_change() {
    let agents = vec![
        SeedAgent {
            id: "A1".into(),
            title: "Impl".into(),
            owned_paths: vec!["src/".into()],
            ..Default::default()
        },
        SeedAgent {
            id: "A8".into(),
            title: "Integration".into(),
            ..Default::default()
        },
    ];
    let roles = TriageRoles::default();
    let promotions = vec![("billing".to_owned(), "pilot-live".to_owned())];
    let feedback = vec![SeedFeedbackRequest {
        id: "fb-1".into(),
        agent_id: "A1".into(),
        question: "q".into(),
        ..Default::default()
    }];
    let mut log: Vec<CoordinationRecord> = vec![];
    let run = |log: &[CoordinationRecord], now_ms: i64, answered: bool| {
        let state = materialize(log.to_vec());
        let mut fb = feedback.clone();
        fb[0].answered = answered;
        let now = at(now_ms);
        seed_records(&SeedInputs {
            lane: "main",
            wave: 0,
            agents: &agents,
            roles: &roles,
            promotions: &promotions,
            shared_plan_docs: &[],
            feedback: &fb,
            state: &state,
            now: &now,
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = run(&log, T0, false);
    let ids: Vec<&str> = first.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "wave-0-agent-A1-request",
            "wave-0-agent-A8-request",
            "wave-0-component-billing",
            "wave-0-integration-summary",
            "fb-1"
        ]
    );
    assert!(first[1].targets.is_empty());
    log.extend(first);
    assert!(run(&log, T0 + 1000, false).is_empty());
    let changed = run(&log, T0 + 2000, true);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0].status, changed[0].created_at.clone()),
        (Status::Resolved, at(T0))
    );
    log.extend(changed);
    // A closed wave's request seeds are resolved once and stay resolved on later re-syncs.
    let closed = close_seeds(
        &materialize(log.clone()),
        0,
        "Wave 0 closed.",
        &at(T0 + 3000),
    );
    let ids: Vec<&str> = closed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["wave-0-agent-A1-request", "wave-0-agent-A8-request"]);
    assert!(closed.iter().all(|r| r.status == Status::Resolved));
    log.extend(closed);
    assert!(run(&log, T0 + 4000, true).is_empty());
    assert!(close_seeds(&materialize(log.clone()), 0, "again", &at(T0 + 5000)).is_empty());
}

proptest! {
    // §14.5: triage appends only when content changed — any schedule of passes, re-run at the
    // same instant, produces nothing new.
    #[test]
    fn triage_is_idempotent(steps in proptest::collection::vec(0i64..(4 * ACK_TIMEOUT_MS), 1..8), text in 0usize..4) {
        let summaries = ["src/b/x", "nothing matches here", "gate question", "billing-core"];
        let summary = summaries.get(text).copied().unwrap_or("x");
        let mut w = World { log: vec![clar("c1", summary, T0)], triage: vec![], humans: vec![] };
        let mut now = T0;
        for s in steps {
            now += s;
            w.pass(now);
            prop_assert!(w.pass(now).is_empty());
        }
        let escalations = materialize(w.log.clone()).human_escalations().filter(|e| e.status.is_open()).count();
        prop_assert!(escalations <= 1);
    }
}

#[test]
fn an_answer_to_an_escalated_clarification_answers_the_human_request_too() {
    let mut w = World {
        log: vec![clar("c1", "Who owns src/b/api.rs?", T0)],
        triage: vec![],
        humans: vec![],
    };
    w.pass(T0);
    w.pass(T0 + ACK_TIMEOUT_MS);
    let t2 = T0 + 2 * ACK_TIMEOUT_MS;
    let out = w.pass(t2);
    let req = out.human_requests[0].id.clone();
    assert_eq!(
        w.latest(&req).map(|r| (r.kind, r.status)),
        Some((Kind::HumanFeedback, Status::Open))
    );
    // Answered by the clarification's own id (as `/wave answer c1 …` does).
    let state = materialize(w.log.clone());
    let fixes = reconcile_answer(&state, "c1", "A2 owns it", &at(t2 + 1000));
    let fixed: Vec<&str> = fixes.iter().map(|r| r.id.as_str()).collect();
    assert!(
        fixed.contains(&req.as_str()) && fixed.contains(&format!("escalation-{req}").as_str()),
        "{fixed:?}"
    );
    w.log.extend(fixes);
    assert_eq!(w.latest(&req).map(|r| r.status), Some(Status::Resolved));
}
