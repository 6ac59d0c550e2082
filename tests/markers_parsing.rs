//! Marker extraction, grammar, "which marker wins" and summaries (upstream-tests AS-01..AS-12,
//! VP-01..VP-06, EN-04..EN-14), plus property tests: the parser never panics and canonical
//! lines re-parse to the same values.
mod gates_support;

use proptest::prelude::*;
use wave_runner::engine::markers::{
    self, ComponentMarker, DocMarker, EvalMarker, GapMarker, GateMarker, IntegrationMarker,
    MarkerKind, ProofMarker, SecurityMarker, Signals, extract, tail,
};
use wave_runner::engine::summary::{
    EnvelopeContext, FileFact, FileFacts, StatusRecord, SummaryInputs, build_envelope,
    build_summary, envelope_value,
};
use wave_runner::event::envelope::ProofState;

fn signals(text: &str) -> Signals {
    Signals::from_log(text)
}

#[test]
fn as01_backticks_and_marker_only_fences_are_accepted() {
    let log = "intro\n`[wave-proof] completion=integrated durability=durable proof=integration state=met detail=ok`\n\
               ```\n[wave-doc-delta] state=owned paths=docs/example.md\n\n[wave-component] component=runtime level=repo-landed state=complete detail=x\n```\n\
               [wave-integration] state=ready-for-doc-closure claims=1 conflicts=2 blockers=3\n\
               [wave-gate] architecture=pass integration=pass durability=pass live=pass docs=gap detail=d\n";
    let s = signals(log);
    let p = s.proof.expect("proof");
    assert_eq!(
        (p.completion.as_str(), p.state.as_str(), p.detail.as_str()),
        ("integrated", "met", "ok")
    );
    let d = s.doc_delta.expect("doc delta");
    assert_eq!(d.paths, ["docs/example.md"]);
    assert_eq!(s.components[0].state, "met", "complete normalizes to met");
    let i = s.integration.expect("integration");
    assert_eq!((i.claims, i.conflicts, i.blockers), (1, 2, 3));
    assert_eq!(s.gate.expect("gate").docs, "gap");
}

#[test]
fn as02_prose_fences_contribute_nothing() {
    let log = "```\nExample output format:\n[wave-proof] completion=contract durability=none proof=unit state=met\n[wave-doc-delta] state=none\n```\n";
    let s = signals(log);
    assert!(s.proof.is_none());
    assert!(s.doc_delta.is_none());
}

#[test]
fn as03_unterminated_fence_is_lenient_with_diagnostics() {
    let log = "```\n[wave-proof] completion=contract durability=none proof=unit state=met\n[wave-doc-delta] state=none\n[wave-component] component=c1 level=repo-landed state=met\n";
    let p = extract(log);
    let d = &p.diagnostics;
    assert_eq!(
        d.get(MarkerKind::Proof)
            .map(|k| (k.raw_count, k.accepted_count)),
        Some((1, 1))
    );
    let comp = d.get(MarkerKind::Component).expect("component");
    assert_eq!(
        comp.seen_component_ids.as_deref(),
        Some(&["c1".to_owned()][..])
    );
    let json = serde_json::to_value(d).expect("json");
    assert_eq!(json["docDelta"]["acceptedCount"], 1);
    assert!(json["proof"].get("seenComponentIds").is_none());
}

#[test]
fn as04_markers_inside_json_lines() {
    let log = concat!(
        r#"{"type":"item","payload":{"text":"[wave-proof] completion=live durability=durable proof=live state=met"}}"#,
        "\n",
        r#"[{"item":{"aggregated_output":"noise\n- [wave-doc-delta] state=shared-plan paths=a, b\n"}}]"#,
        "\n"
    );
    let s = signals(log);
    assert_eq!(s.proof.expect("proof").completion, "live");
    let d = s.doc_delta.expect("doc delta");
    assert_eq!(
        (d.state.as_str(), d.paths.clone()),
        ("shared-plan", vec!["a".to_owned(), "b".to_owned()])
    );
}

#[test]
fn as05_eval_ids_are_lowercased_lists() {
    let s = signals(
        "[wave-eval] state=satisfied targets=2 benchmarks=1 regressions=0 target_ids=A,b benchmark_ids=X detail=fine\n",
    );
    let e = s.eval.expect("eval");
    assert_eq!(e.target_ids, ["a", "b"]);
    assert_eq!(e.benchmark_ids, ["x"]);
    assert_eq!(e.detail, "fine");
}

#[test]
fn as07_as08_security_and_design() {
    let s = signals(
        "[wave-security] state=concerns findings=2 approvals=1 detail=two issues\n[wave-design] state=ready-for-implementation decisions=3 assumptions=1 open_questions=0 detail=ok\n",
    );
    let sec = s.security.expect("security");
    assert_eq!(
        (sec.state.as_str(), sec.findings, sec.approvals),
        ("concerns", 2, 1)
    );
    assert_eq!(s.design.expect("design").decisions, 3);
}

#[test]
fn as09_bullets_in_markdown_fence_with_normalization_counts() {
    let log = "```markdown\n- [wave-proof] completion=Contract durability=NONE proof=unit state=complete\n* [wave-gap] kind=docs detail=one\n1. [wave-gap] kind=ops detail=two\n```\n";
    let p = extract(log);
    let s = Signals::from_signal_text(&p.signal_text);
    assert_eq!(s.proof.expect("proof").state, "met");
    assert_eq!(s.gaps.len(), 2, "every gap is kept");
    let proof = p.diagnostics.get(MarkerKind::Proof).expect("proof diag");
    assert_eq!(
        (proof.normalized_count, proof.normalized_samples.len()),
        (1, 1)
    );
    assert_eq!(
        proof.normalized_samples[0].to,
        "[wave-proof] completion=contract durability=none proof=unit state=met"
    );
}

#[test]
fn last_marker_wins_per_kind_and_per_component() {
    let log = "[wave-proof] completion=contract durability=none proof=unit state=gap\n\
               [wave-component] component=a level=repo-landed state=gap\n\
               [wave-component] component=b level=repo-landed state=met\n\
               [wave-component] component=a level=repo-landed state=met\n\
               [wave-proof] completion=live durability=durable proof=live state=met\n";
    let s = signals(log);
    assert_eq!(s.proof.expect("proof").state, "met");
    assert_eq!(s.components.len(), 2);
    assert_eq!(
        (
            s.components[0].component_id.as_str(),
            s.components[0].state.as_str()
        ),
        ("a", "met")
    );
}

#[test]
fn unknown_tags_and_keys_and_rejections() {
    let p = extract(
        "[wave-verdict] pass\n[wave-phase] coding\n[wave-proof] completion=contract detail=missing-required-fields\n[wave-doc-delta] state=owned extra=1\n",
    );
    assert!(!p.signal_text.contains("verdict"));
    assert!(!p.signal_text.contains("phase"));
    let proof = p.diagnostics.get(MarkerKind::Proof).expect("diag");
    assert_eq!(
        (proof.raw_count, proof.accepted_count, proof.rejected_count),
        (1, 0, 1)
    );
    assert_eq!(
        proof.rejected_samples[0].line,
        "[wave-proof] completion=contract detail=missing-required-fields"
    );
    let dd = p.diagnostics.get(MarkerKind::DocDelta).expect("diag");
    assert_eq!(dd.unknown_keys_seen, ["extra"]);
    assert_eq!(p.signal_text, "[wave-doc-delta] state=owned");
}

#[test]
fn log_tail_drops_earlier_markers() {
    let mut log =
        String::from("[wave-proof] completion=contract durability=none proof=unit state=met\n");
    log.push_str(&"x".repeat(markers::LOG_TAIL_CHARS));
    let s = signals(tail(&log, markers::LOG_TAIL_CHARS));
    assert!(s.proof.is_none());
}

fn summary_for(
    log: &str,
    agent: &str,
    report: Option<&str>,
    files: &FileFacts,
    code: i64,
) -> wave_runner::engine::summary::ExecutionSummary {
    let lane = gates_support::lane();
    let plan = gates_support::parse(gates_support::WAVE, &lane);
    let a = plan.agent(agent).expect("agent").clone();
    let status = StatusRecord {
        code: Some(code),
        ..Default::default()
    };
    let report_path = gates_support::report_path(&plan, &lane, agent);
    build_summary(&SummaryInputs {
        agent: &a,
        executor: None,
        status: Some(&status),
        log_text: log,
        log_path: "log",
        report_path: report_path.as_deref(),
        report_text: report,
        files,
    })
}

#[test]
fn summary_json_has_upstream_fields_and_first_report_verdict() {
    let files: FileFacts = [(
        "src/parser.rs".to_owned(),
        FileFact {
            exists: true,
            modified_at: Some("t".into()),
            sha256: None,
        },
    )]
    .into();
    let s = summary_for(gates_support::good_log("A1"), "A1", None, &files, 0);
    let v = s.to_value();
    for key in [
        "agentId",
        "promptHash",
        "exitCode",
        "completedAt",
        "proof",
        "docDelta",
        "docClosure",
        "integration",
        "eval",
        "security",
        "design",
        "gate",
        "components",
        "gaps",
        "deliverables",
        "proofArtifacts",
        "verdict",
        "structuredSignalDiagnostics",
        "terminationReason",
        "terminationHint",
        "terminationObservedTurnLimit",
        "logPath",
        "reportPath",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(
        v["deliverables"][0],
        serde_json::json!({"path": "src/parser.rs", "exists": true, "modifiedAt": "t"})
    );
    // VP-03: the first verdict in an append-only report wins; the log verdict is not a signal.
    let qa = summary_for(
        "[wave-verdict] blocked\n",
        "A0",
        Some("Verdict: PASS\n\nVerdict: BLOCKED - stale\n"),
        &files,
        0,
    );
    assert_eq!(qa.verdict.expect("verdict").verdict, "pass");
}

#[test]
fn en04_en14_envelopes_from_summaries() {
    let files = FileFacts::new();
    let s = summary_for(
        "[wave-proof] completion=contract durability=none proof=unit state=gap detail=half\n[wave-doc-delta] state=none\n",
        "A1",
        None,
        &files,
        0,
    );
    let ctx = EnvelopeContext {
        wave: 1,
        attempt: 2,
        role: Some("implementation"),
        completed_at_fallback: "2026-01-01T00:00:00.000Z",
    };
    let v = envelope_value(&s, &ctx);
    assert_eq!(v["proof"]["state"], "partial");
    assert_eq!(v["proof"]["proofLevel"], "unit");
    assert_eq!(v["implementation"]["docDelta"]["state"], "none");
    assert_eq!(v["deliverables"][0]["exists"], false);
    let env = build_envelope(&s, &ctx).expect("valid envelope");
    assert_eq!(env.proof_state, ProofState::Partial);
    assert_eq!(env.attempt, Some(2));
    // cont-QA role carries the verdict and gate claims (EN-05).
    let qa = summary_for(
        gates_support::good_log("A0"),
        "A0",
        Some("Verdict: PASS\n"),
        &files,
        0,
    );
    let env = build_envelope(
        &qa,
        &EnvelopeContext {
            role: Some("cont-qa"),
            ..ctx
        },
    )
    .expect("valid");
    assert_eq!(env.role.as_deref(), Some("cont-qa"));
    assert_eq!(env.rest["contQa"]["verdict"]["verdict"], "pass");
    assert_eq!(env.rest["contQa"]["gateClaims"]["docs"], "pass");
    assert!(env.rest.get("implementation").is_none());
    // Inferred role for a marker-less summary is implementation (EN-09 analogue).
    let none = summary_for("", "A2", None, &files, 0);
    let env = build_envelope(&none, &EnvelopeContext { role: None, ..ctx }).expect("valid");
    assert_eq!(env.role.as_deref(), Some("implementation"));
    assert_eq!(env.proof_state, ProofState::NotApplicable);
}

/// Deploy markers match case-insensitively (keys, the state word) but keep their values as
/// written, as upstream's structured-signal reader does: only the exact word `healthy` is
/// healthy, so `state=Healthy` remains a deploy risk there and here.
#[test]
fn deploy_states_keep_their_case_and_only_healthy_is_healthy() {
    let log = "[deploy-status] service=API state=FAILED detail= Boom \n\
               [DEPLOY-STATUS] SERVICE=web State=Healthy\n\
               [deploy-status] service=db state=rolled-back\n";
    let d = markers::deploy_statuses(log);
    let got: Vec<(&str, &str, &str)> = d
        .iter()
        .map(|d| (d.service.as_str(), d.state.as_str(), d.detail.as_str()))
        .collect();
    assert_eq!(got, [("API", "FAILED", "Boom"), ("web", "Healthy", "")]);
    assert_eq!(
        wave_runner::engine::coordination::integration::log_deploy_risks("A1", log),
        ["A1: Deployment web ended in state Healthy."]
    );
    assert!(
        wave_runner::engine::coordination::integration::log_deploy_risks(
            "A1",
            "[deploy-status] service=web state=healthy"
        )
        .is_empty()
    );
}

// ------------------------------------------------------------------------------------------
// Property tests.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parser_never_panics(text in "(\\PC|\n|\r|`|\\[wave-[a-z-]{0,12}\\]| [a-z_]{1,10}=| ){0,200}") {
        let p = extract(&text);
        let _ = Signals::from_signal_text(&p.signal_text);
        let _ = markers::report_verdict(&text);
        let _ = markers::log_verdict(&text);
        let _ = markers::deploy_statuses(&text);
        let _ = markers::infra_statuses(&text);
        let _ = markers::last_phase(&text);
        let _ = tail(&text, 7);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_strings(text in any::<String>()) {
        let _ = Signals::from_log(&text);
        let _ = tail(&text, 3);
    }
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._-]{0,8}"
}

fn detail() -> impl Strategy<Value = String> {
    // Free text without `key=` starts or line breaks, trimmed.
    "[A-Za-z0-9 ,.:/()-]{0,30}".prop_map(|s| s.trim().to_owned())
}

fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn canonical_lines_reparse_to_the_same_values(
        proof in (one_of(&["contract", "integrated", "authoritative", "live"]), one_of(&["none", "ephemeral", "durable"]), one_of(&["unit", "integration", "live"]), one_of(&["met", "gap"]), detail())
            .prop_map(|(completion, durability, proof, state, detail)| ProofMarker { completion, durability, proof, state, detail }),
        doc in (one_of(&["none", "owned", "shared-plan"]), proptest::collection::vec("[a-z/._-]{1,12}", 0..3), detail())
            .prop_map(|(state, paths, detail)| DocMarker { state, paths, detail }),
        closure in (one_of(&["closed", "no-change", "delta"]), proptest::collection::vec("[a-z/._-]{1,12}", 0..3), detail())
            .prop_map(|(state, paths, detail)| DocMarker { state, paths, detail }),
        integ in (one_of(&["ready-for-doc-closure", "needs-more-work"]), 0i64..50, 0i64..50, 0i64..50, detail())
            .prop_map(|(state, claims, conflicts, blockers, detail)| IntegrationMarker { state, claims, conflicts, blockers, detail }),
        eval in (one_of(&["satisfied", "needs-more-work", "blocked"]), 0i64..9, 0i64..9, 0i64..9, proptest::collection::vec(word(), 0..3), proptest::collection::vec(word(), 0..3), detail())
            .prop_map(|(state, targets, benchmarks, regressions, target_ids, benchmark_ids, detail)| EvalMarker { state, targets, benchmarks, regressions, target_ids, benchmark_ids, detail }),
        sec in (one_of(&["clear", "concerns", "blocked"]), 0i64..9, 0i64..9, detail())
            .prop_map(|(state, findings, approvals, detail)| SecurityMarker { state, findings, approvals, detail }),
        gate in (proptest::collection::vec(one_of(&["pass", "concerns", "blocked", "gap"]), 5), detail())
            .prop_map(|(v, detail)| GateMarker { architecture: v[0].clone(), integration: v[1].clone(), durability: v[2].clone(), live: v[3].clone(), docs: v[4].clone(), detail }),
        comp in (word(), word(), one_of(&["met", "gap"]), detail())
            .prop_map(|(component_id, level, state, detail)| ComponentMarker { component_id, level, state, detail }),
        gap in (one_of(&["architecture", "integration", "durability", "ops", "docs"]), detail())
            .prop_map(|(kind, detail)| GapMarker { kind, detail }),
    ) {
        let text = [proof.render(), doc.render("doc-delta"), closure.render("doc-closure"), integ.render(), eval.render(), sec.render(), gate.render(), comp.render(), gap.render()].join("\n");
        let payload = extract(&text);
        prop_assert_eq!(&payload.signal_text, &text, "canonical lines are accepted unchanged");
        let s = Signals::from_signal_text(&payload.signal_text);
        prop_assert_eq!(s.proof, Some(proof));
        prop_assert_eq!(s.doc_delta, Some(doc));
        prop_assert_eq!(s.doc_closure, Some(closure));
        prop_assert_eq!(s.integration, Some(integ));
        prop_assert_eq!(s.eval, Some(eval));
        prop_assert_eq!(s.security, Some(sec));
        prop_assert_eq!(s.gate, Some(gate));
        prop_assert_eq!(s.components, vec![comp]);
        prop_assert_eq!(s.gaps, vec![gap]);
    }
}
