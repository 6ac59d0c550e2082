//! Plan validation behaviour (spec §1.7; upstream behaviours WF-01…WF-43, CM-02): each rule,
//! one report listing every mistake with file:line:column, and `wave plan validate` exit codes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use wave_runner::plan::matrix::{parse_catalog, parse_matrix};
use wave_runner::plan::{
    Diagnostic, LaneProfile, ParseContext, PlanError, ValidateContext, WaveConfig, WavePlan,
    parse_wave, validate_wave,
};

const REFS: &str =
    "Read docs/reference/repository-guidance.md and docs/research/agent-context-sources.md.";
const QA_ROLE: &str = "docs/agents/wave-cont-qa-role.md";
const DOC_ROLE: &str = "docs/agents/wave-documentation-role.md";
const INT_ROLE: &str = "docs/agents/wave-integration-role.md";
const EVAL_ROLE: &str = "docs/agents/wave-cont-eval-role.md";
const SEC_ROLE: &str = "docs/agents/wave-security-role.md";
const DESIGN_ROLE: &str = "docs/agents/wave-design-role.md";

/// The lane used by upstream's validation tests: steward and component rules on, exit
/// contracts and Context7 from wave 6.
const LEAP_CLAW: &str = r#"{"validation": {"requireDocumentationStewardFromWave": 0,
  "requireComponentPromotionsFromWave": 0, "requireAgentComponentsFromWave": 0,
  "requireIntegrationStewardFromWave": 0}}"#;

/// Steward and component rules off; only the always-on rules apply.
const RELAXED: &str = r#"{"validation": {"requireDocumentationStewardFromWave": null,
  "requireComponentPromotionsFromWave": null, "requireAgentComponentsFromWave": null,
  "requireIntegrationStewardFromWave": null, "requireExitContractsFromWave": null,
  "requireContext7DeclarationsFromWave": null}}"#;

const MATRIX: &str = r#"{"version":1,"levels":["inventoried","contract-frozen","repo-landed","baseline-proved","pilot-live","qa-proved"],
 "components":{"comp-a":{"currentLevel":"contract-frozen","promotions":[{"wave":1,"target":"repo-landed"},{"wave":6,"target":"baseline-proved"}]},
               "comp-b":{"currentLevel":"repo-landed","promotions":[{"wave":1,"target":"repo-landed"}]}}}"#;

const CATALOG: &str = r#"{"families":{"silo":{"benchmarks":{"silo-escape":{}}},"routing":{"benchmarks":{"expert-routing":{}}}}}"#;

fn fixture_repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans/repo")
}

fn role_prompts() -> BTreeMap<String, String> {
    std::fs::read_dir(fixture_repo().join("docs/agents"))
        .expect("fixture role prompts")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().into_string().expect("utf-8");
            (
                format!("docs/agents/{name}"),
                std::fs::read_to_string(e.path()).expect("readable"),
            )
        })
        .collect()
}

fn lane(config: &str) -> LaneProfile {
    WaveConfig::parse(Some(config), "wave.config.json")
        .and_then(|c| c.lane_profile(None))
        .expect("lane profile")
}

/// One agent section.
fn agent(id: &str, title: &str, roles: &[&str], extra: &str, owned: &[&str]) -> String {
    let mut s = format!("## Agent {id}: {title}\n\n");
    if !roles.is_empty() {
        s.push_str("### Role prompts\n\n");
        for r in roles {
            s.push_str(&format!("- {r}\n"));
        }
        s.push('\n');
    }
    s.push_str(extra);
    s.push_str("\n### Prompt\n```text\n");
    s.push_str(REFS);
    s.push_str("\n\nFile ownership (only touch these paths):\n");
    for o in owned {
        s.push_str(&format!("- {o}\n"));
    }
    s.push_str("```\n\n");
    s
}

fn a0(wave: u64) -> String {
    agent(
        "A0",
        "cont-QA",
        &[QA_ROLE],
        "",
        &[&format!("docs/plans/waves/reviews/wave-{wave}-cont-qa.md")],
    )
}

fn a8(wave: u64) -> String {
    agent(
        "A8",
        "Integration Steward",
        &[INT_ROLE],
        "",
        &[&format!(
            ".tmp/main-wave-launcher/integration/wave-{wave}.md"
        )],
    )
}

fn a9() -> String {
    agent(
        "A9",
        "Documentation Steward",
        &[DOC_ROLE],
        "",
        &[
            "docs/plans/current-state.md",
            "docs/plans/master-plan.md",
            "docs/plans/migration.md",
            "docs/plans/component-cutover-matrix.md",
            "docs/plans/component-cutover-matrix.json",
        ],
    )
}

fn parse(text: &str, wave: u64, lane: &LaneProfile) -> Result<WavePlan, PlanError> {
    let prompts = role_prompts();
    let ctx = ParseContext {
        lane,
        role_prompts: &prompts,
    };
    parse_wave(text, &format!("docs/plans/waves/wave-{wave}.md"), &ctx).map(|p| p.plan)
}

fn check(text: &str, wave: u64, config: &str) -> Vec<Diagnostic> {
    let lane = lane(config);
    let plan = parse(text, wave, &lane).expect("plan parses");
    let matrix = parse_matrix(Some(MATRIX), "docs/plans/component-cutover-matrix.json");
    let catalog = parse_catalog(Some(CATALOG), "docs/evals/benchmark-catalog.json");
    let completed = BTreeSet::new();
    validate_wave(
        &plan,
        &ValidateContext {
            lane: &lane,
            matrix: &matrix,
            catalog: &catalog,
            completed_waves: &completed,
        },
    )
}

fn messages(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_has(d: &[Diagnostic], needle: &str) {
    assert!(
        d.iter().any(|d| d.message.contains(needle)),
        "expected an error containing {needle:?}, got:\n{}",
        messages(d)
    );
}

fn full_roster(wave: u64, extra_agents: &str) -> String {
    format!(
        "# Wave {wave} - Sample\n\n**Commit message**: `Docs: sample`\n\n## Component promotions\n\n- comp-a: repo-landed\n- comp-b: repo-landed\n\n{}{}{}{}{extra_agents}",
        a0(wave),
        a8(wave),
        a9(),
        agent(
            "A1",
            "Builder",
            &[],
            "### Components\n\n- comp-a\n- comp-b\n",
            &["src/a.rs"]
        ),
    )
}

#[test]
fn wf01_wf02_agents_in_order_with_commit_message_and_report_path() {
    let lane = lane(RELAXED);
    let text = format!(
        "# Wave 1 - Sample\n\n**Commit message**: `Docs: sample`\n\n{}{}",
        a0(1),
        agent("A2", "Second Task", &[], "", &["src/b.rs"])
    );
    let plan = parse(&text, 1, &lane).unwrap();
    assert_eq!(plan.wave, 1);
    assert_eq!(plan.commit_message.as_deref(), Some("Docs: sample"));
    let ids: Vec<&str> = plan.agents.iter().map(|a| a.agent_id.as_str()).collect();
    assert_eq!(ids, ["A0", "A2"]);
    assert_eq!(plan.agents[1].title, "Second Task");
    assert_eq!(
        plan.cont_qa_report_path.as_deref(),
        Some("docs/plans/waves/reviews/wave-1-cont-qa.md")
    );
    assert_eq!(plan.agents[1].slug, "1-a2");
}

#[test]
fn wf26_a_complete_roster_validates() {
    let d = check(&full_roster(1, ""), 1, LEAP_CLAW);
    assert!(d.is_empty(), "{}", messages(&d));
}

#[test]
fn wf27_wf31_security_reviewer_needs_no_components_and_title_alone_does_not_classify() {
    let reviewer = agent(
        "A7",
        "Security Review",
        &[SEC_ROLE],
        "### Capabilities\n\n- security-review\n",
        &[".tmp/main-wave-launcher/security/wave-1-review.md"],
    );
    let hardening = agent(
        "A5",
        "Security Hardening Engineer",
        &[],
        "### Components\n\n- comp-a\n",
        &["src/hardening.rs"],
    );
    let d = check(
        &full_roster(1, &format!("{reviewer}{hardening}")),
        1,
        LEAP_CLAW,
    );
    assert!(d.is_empty(), "{}", messages(&d));
}

#[test]
fn wf28_wf29_wf30_security_reviewer_rules() {
    let overlap = agent(
        "A8",
        "Integration",
        &[INT_ROLE, SEC_ROLE],
        "",
        &[".tmp/security/wave-1.md"],
    );
    let text = full_roster(1, "").replace(&a8(1), &overlap);
    assert_has(
        &check(&text, 1, LEAP_CLAW),
        "must not overlap closure roles (security review, integration steward)",
    );

    let no_import = agent(
        "A7",
        "Reviewer",
        &[],
        "### Capabilities\n\n- security-review\n",
        &["src/review-notes.rs"],
    );
    let d = check(&full_roster(1, &no_import), 1, LEAP_CLAW);
    assert_has(
        &d,
        "security reviewer A7 must import docs/agents/wave-security-role.md",
    );
    assert_has(
        &d,
        "security reviewer A7 must own a security review report path",
    );
}

#[test]
fn wf32_wf34_wf33_cont_qa_and_prompt_references() {
    let text = full_roster(1, "").replace(&a0(1), "");
    assert_has(&check(&text, 1, LEAP_CLAW), "must include Agent A0");

    let no_import = agent(
        "A0",
        "cont-QA",
        &[],
        "",
        &["docs/plans/waves/reviews/wave-1-cont-qa.md"],
    );
    let text = full_roster(1, "").replace(&a0(1), &no_import);
    assert_has(
        &check(&text, 1, LEAP_CLAW),
        "agent A0 must import docs/agents/wave-cont-qa-role.md",
    );

    let text = full_roster(1, "").replace(
        &format!("{REFS}\n\nFile ownership (only touch these paths):\n- src/a.rs"),
        "Only docs/reference/repository-guidance.md here.\n\nFile ownership (only touch these paths):\n- src/a.rs",
    );
    assert_has(
        &check(&text, 1, LEAP_CLAW),
        "agent A1 must reference docs/research/agent-context-sources.md",
    );
}

#[test]
fn wf35_documentation_steward_required_and_owns_matrix_files() {
    let text = full_roster(5, "").replace(&a9(), "");
    let d = check(&text.replace("wave-1", "wave-5"), 5, LEAP_CLAW);
    assert_has(
        &d,
        "must include exactly one documentation steward importing docs/agents/wave-documentation-role.md",
    );

    let partial = agent(
        "A9",
        "Docs",
        &[DOC_ROLE],
        "",
        &["docs/plans/current-state.md"],
    );
    let text = full_roster(1, "").replace(&a9(), &partial);
    assert_has(
        &check(&text, 1, LEAP_CLAW),
        "documentation steward A9 must own docs/plans/master-plan.md",
    );

    let thief = agent(
        "A3",
        "Thief",
        &[],
        "### Components\n\n- comp-a\n",
        &["docs/plans/master-plan.md"],
    );
    assert_has(
        &check(&full_roster(1, &thief), 1, LEAP_CLAW),
        "shared plan docs must be owned only by A9 (also owned by A3)",
    );
}

#[test]
fn wf37_wf39_wf40_wf41_wf42_exit_contracts_and_cont_eval() {
    // Wave 6: exit contracts required; the matrix promotes comp-a to baseline-proved.
    let roster = |extra: &str| {
        format!(
            "# Wave 6 - Eval\n\n## Component promotions\n\n- comp-a: baseline-proved\n\n## Context7 defaults\n\n- bundle: none\n\n{}{}{}{}{extra}",
            a0(6),
            a8(6),
            a9(),
            agent("A1", "Builder", &[], "### Context7\n\n- bundle: none\n\n### Components\n\n- comp-a\n", &["src/a.rs"]),
        )
        .replace("## Agent A0: cont-QA\n\n", "## Agent A0: cont-QA\n\n### Context7\n\n- bundle: none\n\n")
        .replace("## Agent A8: Integration Steward\n\n", "## Agent A8: Integration Steward\n\n### Context7\n\n- bundle: none\n\n")
        .replace("## Agent A9: Documentation Steward\n\n", "## Agent A9: Documentation Steward\n\n### Context7\n\n- bundle: none\n\n")
    };
    let d = check(&roster(""), 6, LEAP_CLAW);
    assert_has(
        &d,
        "agent A1 must declare a ### Exit contract section in waves 6 and later",
    );

    let e0_report_only = agent(
        "E0",
        "cont-EVAL",
        &[EVAL_ROLE],
        "### Context7\n\n- bundle: none\n",
        &["docs/plans/waves/reviews/wave-6-cont-eval.md"],
    );
    let d = check(&roster(&e0_report_only), 6, LEAP_CLAW);
    assert_has(
        &d,
        "must declare a ## Eval targets section when E0 is present",
    );
    assert!(
        !messages(&d).contains("agent E0 must declare a ### Exit contract"),
        "{}",
        messages(&d)
    );

    let e0_impl = agent(
        "E0",
        "cont-EVAL",
        &[EVAL_ROLE],
        "### Context7\n\n- bundle: none\n",
        &[
            "docs/plans/waves/reviews/wave-6-cont-eval.md",
            "src/tuning.rs",
        ],
    );
    assert_has(
        &check(&roster(&e0_impl), 6, LEAP_CLAW),
        "agent E0 must declare a ### Exit contract section",
    );

    let targets = "## Eval targets\n\n- id: silo | selection: delegated | benchmark-family: silo | objective: o | threshold: t\n\n";
    let d = check(
        &roster("").replacen(
            "## Context7 defaults",
            &format!("{targets}## Context7 defaults"),
            1,
        ),
        6,
        LEAP_CLAW,
    );
    assert_has(&d, "declares ## Eval targets but does not include Agent E0");

    let unknown = "## Eval targets\n\n- id: x | selection: delegated | benchmark-family: nope | objective: o | threshold: t\n\n";
    let d = check(
        &roster(&e0_report_only).replacen(
            "## Context7 defaults",
            &format!("{unknown}## Context7 defaults"),
            1,
        ),
        6,
        LEAP_CLAW,
    );
    assert_has(&d, "unknown benchmark family \"nope\"");
}

#[test]
fn wf04_wf05_design_agents_docs_only_and_hybrid() {
    let docs_only = agent(
        "D1",
        "Design",
        &[DESIGN_ROLE],
        "### Capabilities\n\n- design\n",
        &["docs/plans/waves/design/wave-2-D1.md"],
    );
    let text = format!("# Wave 2\n\n{}{docs_only}", a0(2));
    let d = check(&text, 2, RELAXED);
    assert!(d.is_empty(), "{}", messages(&d));

    let hybrid = agent(
        "D1",
        "Design",
        &[DESIGN_ROLE],
        "### Exit contract\n\n- completion: contract\n- durability: none\n- proof: unit\n- doc-impact: owned\n",
        &["docs/plans/waves/design/wave-2-D1.md", "src/runtime.ts"],
    );
    let text = format!("# Wave 2\n\n{}{hybrid}", a0(2));
    let config = r#"{"validation": {"requireDocumentationStewardFromWave": null, "requireComponentPromotionsFromWave": null,
      "requireAgentComponentsFromWave": null, "requireExitContractsFromWave": 1}}"#;
    let d = check(&text, 2, config);
    assert!(d.is_empty(), "{}", messages(&d));

    let no_packet = agent("D1", "Design", &[DESIGN_ROLE], "", &["docs/notes.md"]);
    let d = check(&format!("# Wave 2\n\n{}{no_packet}", a0(2)), 2, RELAXED);
    assert_has(&d, "design agent D1 must own a design packet path");

    let docs_only_with_components = agent(
        "D1",
        "Design",
        &[DESIGN_ROLE],
        "### Components\n\n- comp-a\n",
        &["docs/plans/waves/design/wave-2-D1.md"],
    );
    let d = check(
        &format!("# Wave 2\n\n{}{docs_only_with_components}", a0(2)),
        2,
        RELAXED,
    );
    assert_has(&d, "must stay docs/spec-only");
    assert_has(&d, "agent D1 must not declare a ### Components section");
}

#[test]
fn wf43_runtime_mix_targets_cap_agents_per_executor() {
    let two_claude = format!(
        "{}{}",
        agent(
            "A1",
            "One",
            &[],
            "### Executor\n\n- id: claude\n",
            &["src/a.rs"]
        ),
        agent(
            "A2",
            "Two",
            &[],
            "### Executor\n\n- id: claude\n",
            &["src/b.rs"]
        )
    );
    let config = r#"{"validation": {"requireDocumentationStewardFromWave": null, "requireComponentPromotionsFromWave": null,
      "requireAgentComponentsFromWave": null}, "lanes": {"main": {"runtimeMixTargets": {"claude": 1}}}}"#;
    let d = check(&format!("# Wave 1\n\n{}{two_claude}", a0(1)), 1, config);
    assert_has(
        &d,
        "exceeds lane runtime mix targets (claude=2 exceeds target 1)",
    );
}

#[test]
fn cm02_matrix_promotions_must_match_the_wave() {
    let text = full_roster(1, "").replace(
        "- comp-b: repo-landed\n",
        "- comp-b: pilot-live\n- ghost: repo-landed\n",
    );
    let d = check(&text, 1, LEAP_CLAW);
    assert_has(
        &d,
        "wave 1 promotes comp-b to pilot-live, but docs/plans/component-cutover-matrix.json declares repo-landed",
    );
    assert_has(&d, "wave 1 references unknown component \"ghost\"");
    let text = full_roster(1, "").replace("- comp-b: repo-landed\n", "");
    let d = check(&text, 1, LEAP_CLAW);
    assert_has(&d, "must declare component promotion comp-b: repo-landed");
}

#[test]
fn unknown_executor_profile_is_reported_at_the_executor_section() {
    let a1 = agent(
        "A1",
        "Builder",
        &[],
        "### Executor\n\n- profile: turbo\n",
        &["src/a.rs"],
    );
    let text = format!("# Wave 1\n\n{}{a1}", a0(1));
    let d = check(&text, 1, RELAXED);
    let finding = d
        .iter()
        .find(|d| d.message.contains("unknown executor profile \"turbo\""))
        .unwrap_or_else(|| panic!("{}", messages(&d)));
    let line = text.lines().position(|l| l == "### Executor").unwrap() + 1;
    assert_eq!(finding.line as usize, line);
}

/// A plan with many mistakes yields one report listing all of them, each at its own place.
#[test]
fn a_plan_with_several_mistakes_gets_one_report_with_every_position() {
    let text = format!(
        "# Wave 1 - Broken\n\n## Component promotions\n\n- comp-a: repo-landed\n- ghost: repo-landed\n\n{}{}{}",
        agent(
            "A1",
            "Builder",
            &[],
            "### Components\n\n- comp-z\n",
            &["src/a.rs"]
        ),
        agent(
            "A1",
            "Again",
            &[],
            "### Executor\n\n- id: claude\n- codex.sandbox: read-only\n",
            &["/etc/passwd"]
        ),
        agent("A2", "Nothing owned", &[], "", &[]),
    );
    let d = check(&text, 1, LEAP_CLAW);
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i as u32 + 1)
    };
    let expect = [
        ("references unknown component \"ghost\"", line_of("- ghost")),
        (
            "must not repeat agent ids (A1)",
            line_of("## Agent A1: Again"),
        ),
        ("must include Agent A0", Some(1)),
        (
            "agent A1 references unknown component \"comp-z\"",
            line_of("- comp-z"),
        ),
        (
            "non-repo-owned path (/etc/passwd)",
            line_of("- /etc/passwd"),
        ),
        (
            "declares executor=claude but includes non-Codex overrides",
            None,
        ),
        ("agent A2 must declare at least one owned path", None),
        ("must include exactly one documentation steward", Some(1)),
        ("must include exactly one integration steward", Some(1)),
        (
            "must declare component promotion comp-b: repo-landed",
            line_of("## Component promotions"),
        ),
    ];
    for (needle, line) in expect {
        let found = d
            .iter()
            .find(|f| {
                f.message.contains(needle)
                    || (needle.contains("non-Codex") && f.message.contains("non-Claude"))
            })
            .unwrap_or_else(|| panic!("missing {needle:?} in:\n{}", messages(&d)));
        assert_eq!(found.file, "docs/plans/waves/wave-1.md");
        assert!(found.line >= 1 && found.column >= 1);
        assert!(!found.hint.is_empty(), "{found}");
        if let Some(line) = line {
            assert_eq!(found.line, line, "{found}");
        }
    }
    assert!(d.len() >= expect.len(), "{}", messages(&d));
}

fn temp_repo(waves: &[(&str, &str)], config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(
        &fixture_repo().join("docs/agents"),
        &dir.path().join("docs/agents"),
    )
    .expect("copy role prompts");
    std::fs::create_dir_all(dir.path().join("docs/plans/waves")).expect("mkdir");
    std::fs::write(
        dir.path().join("docs/plans/component-cutover-matrix.json"),
        MATRIX,
    )
    .expect("matrix");
    std::fs::write(dir.path().join("wave.config.json"), config).expect("config");
    for (name, text) in waves {
        std::fs::write(dir.path().join("docs/plans/waves").join(name), text).expect("wave");
    }
    dir
}

fn wave_cmd(root: &Path, args: &[&str]) -> std::process::Output {
    Command::new(common::wave_bin())
        .args(args)
        .current_dir(root)
        .env_remove("WAVE_REPO_ROOT")
        .output()
        .expect("wave runs")
}

#[test]
fn plan_validate_exits_zero_when_every_plan_is_valid() {
    let repo = temp_repo(&[("wave-1.md", &full_roster(1, ""))], LEAP_CLAW);
    let out = wave_cmd(repo.path(), &["plan", "validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 wave plan(s) valid"));
}

#[test]
fn plan_validate_reports_every_error_of_every_plan_and_exits_one() {
    let broken = full_roster(1, "")
        .replace(&a0(1), "")
        .replace("- comp-b: repo-landed\n", "");
    let unparsable = "# Wave 2\n\n## Agent A1: No prompt\n\n### Executor\n\n- id: codex\n";
    let repo = temp_repo(
        &[("wave-1.md", &broken), ("wave-2.md", unparsable)],
        LEAP_CLAW,
    );
    let out = wave_cmd(repo.path(), &["plan", "validate"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("docs/plans/waves/wave-1.md:1:1: error: wave 1 must include Agent A0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("must declare component promotion comp-b: repo-landed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "docs/plans/waves/wave-2.md:3:1: error: agent A1 has no \"### Prompt\" section"
        ),
        "{stderr}"
    );

    let out = wave_cmd(repo.path(), &["plan", "validate", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["valid"], false);
    assert_eq!(report["lane"], "main");
    assert!(report["findings"].as_array().is_some_and(|f| f.len() >= 3));
}

#[test]
fn plan_show_prints_validation_findings_as_warnings_only() {
    let broken = full_roster(1, "").replace(&a0(1), "");
    let repo = temp_repo(&[("wave-1.md", &broken)], LEAP_CLAW);
    let out = wave_cmd(
        repo.path(),
        &["plan", "show", "--json", "docs/plans/waves/wave-1.md"],
    );
    assert_eq!(out.status.code(), Some(0));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(plan["wave"], 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: wave 1 must include Agent A0"),
        "{stderr}"
    );
}

#[test]
fn a_missing_waves_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = wave_cmd(dir.path(), &["plan", "validate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waves directory not found"));
}

#[test]
fn lanes_have_their_own_waves_and_the_legacy_directory_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    common::copy_tree(
        &fixture_repo().join("docs/agents"),
        &root.join("docs/agents"),
    )
    .expect("copy");
    std::fs::write(root.join("wave.config.json"), RELAXED).expect("config");
    // Default lane: no docs/plans/waves, only the legacy docs/waves.
    std::fs::create_dir_all(root.join("docs/waves")).expect("mkdir");
    let plan = format!("# Wave 3\n\n{}", a0(3));
    std::fs::write(root.join("docs/waves/wave-3.md"), &plan).expect("write");
    std::fs::write(root.join("docs/waves/notes.md"), "not a wave").expect("write");
    // Lane `release` in single-repo mode lives under docs/release/.
    std::fs::create_dir_all(root.join("docs/release/plans/waves")).expect("mkdir");
    for n in [10, 2] {
        let text = format!("# Wave {n}\n\n{}", a0(n));
        std::fs::write(
            root.join(format!("docs/release/plans/waves/wave-{n}.md")),
            text,
        )
        .expect("write");
    }
    let main = wave_runner::plan::load_lane(root, None).expect("main lane");
    assert_eq!(main.waves.len(), 1);
    assert_eq!(main.waves[0].file, "docs/waves/wave-3.md");
    assert!(main.is_valid(), "{:?}", main.findings);
    let release = wave_runner::plan::load_lane(root, Some("Release")).expect("release lane");
    let files: Vec<&str> = release.waves.iter().map(|w| w.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "docs/release/plans/waves/wave-2.md",
            "docs/release/plans/waves/wave-10.md"
        ]
    );
    let out = wave_cmd(root, &["plan", "validate", "--lane", "release"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = wave_cmd(root, &["plan", "validate", "--lane", "nightly"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("waves directory not found"));
}

#[test]
fn plan_show_of_a_missing_file_is_a_user_error() {
    let repo = temp_repo(&[("wave-1.md", &full_roster(1, ""))], LEAP_CLAW);
    let out = wave_cmd(repo.path(), &["plan", "show", "docs/plans/waves/wave-9.md"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let out = wave_cmd(repo.path(), &["plan", "show", "docs/plans/waves/wave-1.md"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("wave 1 (docs/plans/waves/wave-1.md)"),
        "{text}"
    );
    assert!(text.contains("agent A1: Builder [lane default]"), "{text}");
    assert!(text.contains("  owns src/a.rs"), "{text}");
}
