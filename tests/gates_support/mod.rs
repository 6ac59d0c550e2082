//! Fixture wave and helpers shared by the gate, closure and retry tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use wave_runner::engine::gates::{
    Adjudication, ClosureReadiness, CoordinationFacts, DocsQueue, GateInputs, GateMode,
    GateSnapshot, IntegrationSummary, closure_readiness, evaluate,
};
use wave_runner::engine::summary::{
    ExecutionSummary, FileFact, FileFacts, StatusRecord, SummaryInputs, build_summary,
};
use wave_runner::plan::{LaneProfile, ParseContext, WaveConfig, WavePlan, parse_wave};

/// Wave 1: cont-QA A0, implementation A1 and A2, security reviewer A7, integration A8,
/// documentation A9.
pub const WAVE: &str = r#"# Wave 1 - Fixture

**Commit message**: `Feat: fixture`

## Agent A0: cont-QA

### Role prompts

- docs/agents/wave-cont-qa-role.md

### Prompt

```text
Judge the wave.

File ownership (only touch these paths):
- docs/plans/waves/reviews/wave-1-cont-qa.md
```

## Agent A1: Parser

### Exit contract

- completion: integrated
- durability: durable
- proof: integration
- doc-impact: owned

### Deliverables

- src/parser.rs

### Prompt

```text
Build the parser.

File ownership (only touch these paths):
- src/parser.rs
- docs/parser.md
```

## Agent A2: Runner

### Exit contract

- completion: contract
- durability: none
- proof: unit
- doc-impact: none

### Deliverables

- src/runner.rs

### Prompt

```text
Build the runner.

File ownership (only touch these paths):
- src/runner.rs
```

## Agent A7: Security review

### Role prompts

- docs/agents/wave-security-role.md

### Prompt

```text
Review security.

File ownership (only touch these paths):
- docs/security/wave-1-security.md
```

## Agent A8: Integration Steward

### Role prompts

- docs/agents/wave-integration-role.md

### Prompt

```text
Integrate.

File ownership (only touch these paths):
- docs/plans/integration/wave-1.md
```

## Agent A9: Documentation Steward

### Role prompts

- docs/agents/wave-documentation-role.md

### Prompt

```text
Close docs.

File ownership (only touch these paths):
- docs/plans/current-state.md
```
"#;

fn role_prompt(name: &str) -> String {
    format!("# {name}\n\n## Standing prompt\n\n```text\nYou are the {name}.\n```\n")
}

/// The lane profile: defaults with the component rule off (the fixture promotes nothing).
pub fn lane() -> LaneProfile {
    let mut lane = WaveConfig::defaults()
        .lane_profile(None)
        .expect("default lane");
    lane.validation.require_component_promotions_from_wave = None;
    lane.validation.require_agent_components_from_wave = None;
    lane
}

/// Parses a wave text against [`lane`].
pub fn parse(text: &str, lane: &LaneProfile) -> WavePlan {
    let mut prompts = BTreeMap::new();
    for (path, name) in [
        ("docs/agents/wave-cont-qa-role.md", "cont-QA"),
        ("docs/agents/wave-security-role.md", "security reviewer"),
        (
            "docs/agents/wave-integration-role.md",
            "integration steward",
        ),
        (
            "docs/agents/wave-documentation-role.md",
            "documentation steward",
        ),
        ("docs/agents/wave-design-role.md", "design steward"),
        ("docs/agents/wave-cont-eval-role.md", "cont-EVAL"),
    ] {
        prompts.insert(path.to_owned(), role_prompt(name));
    }
    let ctx = ParseContext {
        lane,
        role_prompts: &prompts,
    };
    parse_wave(text, "docs/plans/waves/wave-1.md", &ctx)
        .expect("fixture parses")
        .plan
}

/// The log each agent prints when it meets its contract.
pub fn good_log(agent: &str) -> &'static str {
    match agent {
        "A0" => {
            "[wave-gate] architecture=pass integration=pass durability=pass live=pass docs=pass detail=ok\n[wave-verdict] pass\n"
        }
        "A1" => {
            "[wave-proof] completion=integrated durability=durable proof=integration state=met detail=tests\n[wave-doc-delta] state=owned paths=docs/parser.md\n"
        }
        "A2" => {
            "[wave-proof] completion=contract durability=none proof=unit state=met\n[wave-doc-delta] state=none\n"
        }
        "A7" => "[wave-security] state=clear findings=0 approvals=0 detail=reviewed\n",
        "A8" => "[wave-integration] state=ready-for-doc-closure claims=0 conflicts=0 blockers=0\n",
        "A9" => "[wave-doc-closure] state=no-change\n",
        _ => "",
    }
}

/// Files every agent lands when it meets its contract.
pub fn all_files() -> FileFacts {
    [
        "src/parser.rs",
        "src/runner.rs",
        "docs/plans/waves/reviews/wave-1-cont-qa.md",
        "docs/security/wave-1-security.md",
        "docs/plans/integration/wave-1.md",
        "docs/plans/current-state.md",
    ]
    .into_iter()
    .map(|p| {
        (
            p.to_owned(),
            FileFact {
                exists: true,
                modified_at: Some("2026-01-01T00:00:00.000Z".into()),
                sha256: None,
            },
        )
    })
    .collect()
}

/// A world: plan, lane, summaries, files and coordination.
pub struct World {
    pub lane: LaneProfile,
    pub plan: WavePlan,
    pub logs: BTreeMap<String, String>,
    pub reports: BTreeMap<String, String>,
    pub exit_codes: BTreeMap<String, i64>,
    pub files: FileFacts,
    pub coordination: CoordinationFacts,
    pub summaries: BTreeMap<String, ExecutionSummary>,
    pub adjudications: BTreeMap<String, Adjudication>,
}

impl World {
    /// Every agent meets its contract.
    pub fn passing() -> Self {
        let lane = lane();
        let plan = parse(WAVE, &lane);
        let mut w = World {
            logs: plan
                .agents
                .iter()
                .map(|a| (a.agent_id.clone(), good_log(&a.agent_id).to_owned()))
                .collect(),
            reports: [(
                "A0".to_owned(),
                "# Review\n\nVerdict: PASS - all good\n".to_owned(),
            )]
            .into(),
            exit_codes: plan
                .agents
                .iter()
                .map(|a| (a.agent_id.clone(), 0))
                .collect(),
            files: all_files(),
            coordination: CoordinationFacts::default(),
            summaries: BTreeMap::new(),
            adjudications: BTreeMap::new(),
            lane,
            plan,
        };
        w.rebuild();
        w
    }

    /// Rebuilds every summary from logs, reports and files.
    pub fn rebuild(&mut self) {
        self.summaries.clear();
        for agent in &self.plan.agents {
            let id = agent.agent_id.as_str();
            let Some(log) = self.logs.get(id) else {
                continue;
            };
            let status = StatusRecord {
                code: self.exit_codes.get(id).copied(),
                prompt_hash: Some("h".into()),
                attempt: Some(1),
                completed_at: Some("2026-01-01T00:00:00.000Z".into()),
                detail: None,
            };
            let report_path = report_path(&self.plan, &self.lane, id);
            let summary = build_summary(&SummaryInputs {
                agent,
                executor: None,
                status: Some(&status),
                log_text: log,
                log_path: &format!(
                    ".tmp/main-wave-launcher/logs/wave-1-{}.log",
                    id.to_lowercase()
                ),
                report_path: report_path.as_deref(),
                report_text: self.reports.get(id).map(String::as_str),
                files: &self.files,
            });
            self.summaries.insert(id.to_owned(), summary);
        }
    }

    /// Evaluates the gates.
    pub fn inputs<'a>(&'a self, integration: Option<&'a IntegrationSummary>) -> GateInputs<'a> {
        GateInputs {
            plan: &self.plan,
            lane: &self.lane,
            summaries: &self.summaries,
            files: &self.files,
            matrix: None,
            catalog: None,
            coordination: &self.coordination,
            integration,
            contradictions: &[],
            corridor: None,
            docs_queue: DocsQueue::default(),
            infra: &[],
            adjudications: &self.adjudications,
            gate_mode: GateMode::Strict,
        }
    }

    /// The integration summary of the current state.
    pub fn integration(&self) -> IntegrationSummary {
        IntegrationSummary::build(
            &self.plan,
            &self.lane,
            &self.summaries,
            &self.coordination,
            Vec::new(),
        )
    }

    /// Snapshot and readiness.
    pub fn evaluate(&self) -> (GateSnapshot, ClosureReadiness) {
        let integration = self.integration();
        let inputs = self.inputs(Some(&integration));
        let snapshot = evaluate(&inputs);
        let readiness = closure_readiness(&inputs, &snapshot);
        (snapshot, readiness)
    }
}

/// The report path an agent's summary reads.
pub fn report_path(plan: &WavePlan, lane: &LaneProfile, id: &str) -> Option<String> {
    use wave_runner::plan::roles;
    let agent = plan.agent(id)?;
    if id == lane.roles.cont_qa_agent_id {
        plan.cont_qa_report_path.clone()
    } else if id == lane.roles.cont_eval_agent_id {
        plan.cont_eval_report_path.clone()
    } else if roles::is_security_reviewer(agent, lane) {
        roles::security_report_path(agent)
    } else if roles::is_design_agent(agent, lane) {
        roles::design_report_path(agent)
    } else {
        None
    }
}
