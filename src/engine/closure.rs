//! Closure sweep planning (spec §7.4, §7.5): the stewards' stage order, the auto-closure policy
//! and closure mode, and a pure step machine the dispatcher drives.
//!
//! Owns: [`ClosureStage`] (`cont-eval → security-review → integration → documentation →
//! cont-qa`), [`ClosureMode`], [`ClosureSweep`] (what to launch next, when to skip a stage, which
//! failures stop the sweep and which `wave-proof-gap` failures are forwarded to later stages as
//! closure-critical blockers). Must not: launch processes, read files or the clock; the caller
//! launches each [`SweepAction::Launch`]ed agent, rebuilds its summary and the [`GateInputs`],
//! and reports back with [`ClosureSweep::record_run`].
//!
//! Decisions:
//! - The order is upstream's code order (cont-EVAL before security), not its skill doc's.
//! - The cont-QA bootstrap skip (`allowSkipContQaInBootstrap`, closure mode bootstrap, no
//!   earlier semantic stage launched) is kept. A wave closed that way still needs the final
//!   snapshot to pass: when the gate mode is also bootstrap the cont-QA gate is advisory, so the
//!   skip completes the wave; in standard or strict gate mode `missing-cont-qa` blocks, as
//!   upstream.

use serde::Serialize;

use crate::engine::gates::{self, GateInputs, GateMode, GateResult};
use crate::plan::config::ModeThresholds;
use crate::plan::roles;
use crate::plan::{LaneProfile, WavePlan};

/// A closure stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosureStage {
    /// cont-EVAL (E0).
    ContEval,
    /// Security reviewers.
    SecurityReview,
    /// Integration steward (A8).
    Integration,
    /// Documentation steward (A9).
    Documentation,
    /// cont-QA (A0).
    ContQa,
}

impl ClosureStage {
    /// Stages in sweep order.
    pub const ORDER: [ClosureStage; 5] = [
        ClosureStage::ContEval,
        ClosureStage::SecurityReview,
        ClosureStage::Integration,
        ClosureStage::Documentation,
        ClosureStage::ContQa,
    ];

    /// Stage key (`security-review`), used in forwarded-gap record ids.
    pub fn key(self) -> &'static str {
        match self {
            ClosureStage::ContEval => "cont-eval",
            ClosureStage::SecurityReview => "security-review",
            ClosureStage::Integration => "integration",
            ClosureStage::Documentation => "documentation",
            ClosureStage::ContQa => "cont-qa",
        }
    }

    /// The resume phase of the stage (`integrating`, `docs-closure`, …).
    pub fn phase(self) -> &'static str {
        match self {
            ClosureStage::ContEval => "cont-eval",
            ClosureStage::SecurityReview => "security-review",
            ClosureStage::Integration => "integrating",
            ClosureStage::Documentation => "docs-closure",
            ClosureStage::ContQa => "cont-qa-closure",
        }
    }

    /// The stage of a resume phase.
    pub fn from_phase(phase: &str) -> Option<Self> {
        ClosureStage::ORDER.into_iter().find(|s| s.phase() == phase)
    }

    /// True for stages that judge content (not cont-QA's final verdict).
    pub fn is_semantic(self) -> bool {
        self != ClosureStage::ContQa
    }
}

/// The closure stage an agent belongs to, if it is a closure agent.
pub fn stage_of(agent_id: &str, plan: &WavePlan, lane: &LaneProfile) -> Option<ClosureStage> {
    let r = &lane.roles;
    let agent = plan.agent(agent_id)?;
    if agent_id == r.cont_eval_agent_id {
        Some(ClosureStage::ContEval)
    } else if roles::is_security_reviewer(agent, lane) {
        Some(ClosureStage::SecurityReview)
    } else if agent_id == r.integration_agent_id {
        Some(ClosureStage::Integration)
    } else if agent_id == r.documentation_agent_id {
        Some(ClosureStage::Documentation)
    } else if agent_id == r.cont_qa_agent_id {
        Some(ClosureStage::ContQa)
    } else {
        None
    }
}

/// Closure strictness from `validation.closureModeThresholds` (§7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosureMode {
    /// Below `standard`.
    Bootstrap,
    /// From `standard`.
    Standard,
    /// From `strict`.
    Strict,
}

/// Closure mode: N ≥ strict → strict, N ≥ standard → standard, else bootstrap; thresholds are
/// forced monotonic first.
pub fn closure_mode(wave: u64, t: &ModeThresholds) -> ClosureMode {
    let standard = t.standard.max(t.bootstrap);
    let strict = t.strict.max(standard);
    let n = wave as f64;
    if n >= strict {
        ClosureMode::Strict
    } else if n >= standard {
        ClosureMode::Standard
    } else {
        ClosureMode::Bootstrap
    }
}

/// One planned stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StagePlan {
    /// The stage.
    pub stage: ClosureStage,
    /// Agents to run in this stage (from the closure runs), in wave order.
    pub agent_ids: Vec<String>,
    /// A missing run fails the sweep with `missing-closure-run`.
    pub required: bool,
}

/// Plans the stages for the closure runs available this attempt (LA-35, LA-38, LA-39, LA-43).
pub fn plan_stages(plan: &WavePlan, lane: &LaneProfile, closure_runs: &[String]) -> Vec<StagePlan> {
    let declared = |stage| {
        plan.agents
            .iter()
            .any(|a| stage_of(&a.agent_id, plan, lane) == Some(stage))
    };
    let from = |threshold: Option<u64>, stage| match threshold {
        Some(n) => plan.wave >= n,
        None => declared(stage),
    };
    ClosureStage::ORDER
        .into_iter()
        .map(|stage| StagePlan {
            stage,
            agent_ids: plan
                .agents
                .iter()
                .filter(|a| stage_of(&a.agent_id, plan, lane) == Some(stage))
                .filter(|a| closure_runs.contains(&a.agent_id))
                .map(|a| a.agent_id.clone())
                .collect(),
            required: match stage {
                ClosureStage::ContQa => true,
                ClosureStage::Integration => {
                    from(lane.validation.require_integration_steward_from_wave, stage)
                }
                ClosureStage::Documentation => from(
                    lane.validation.require_documentation_steward_from_wave,
                    stage,
                ),
                _ => declared(stage),
            },
        })
        .collect()
}

/// A `wave-proof-gap` failure passed on to the later stages (LA-40).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardedGap {
    /// Coordination record id: `wave-<N>-closure-gap-<stage>-<agent>-attempt-<A>`.
    pub record_id: String,
    /// Stage that raised it.
    pub stage: ClosureStage,
    /// Agent that raised it.
    pub agent_id: String,
    /// Detail.
    pub detail: String,
    /// `agent:<id>` of every agent in the later stages.
    pub targets: Vec<String>,
}

impl ForwardedGap {
    /// The blocker record to append (kind `blocker`, severity `closure-critical`), as the
    /// coordination log's JSON fields.
    pub fn record(&self, lane: &str, wave: u64, now: &str) -> serde_json::Value {
        serde_json::json!({
            "recordVersion": 1,
            "id": self.record_id,
            "lane": lane,
            "wave": wave,
            "agentId": self.agent_id,
            "kind": "blocker",
            "status": "open",
            "priority": "high",
            "blocking": true,
            "blockerSeverity": "closure-critical",
            "targets": self.targets,
            "summary": format!("Closure gap from {} ({})", self.agent_id, self.stage.key()),
            "detail": self.detail,
            "source": "launcher",
            "createdAt": now,
            "updatedAt": now,
        })
    }
}

/// What the dispatcher should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepAction {
    /// Run this agent, wait for it, rebuild its summary, then call [`ClosureSweep::record_run`].
    Launch {
        /// Stage.
        stage: ClosureStage,
        /// Agent.
        agent_id: String,
    },
    /// The sweep is over.
    Done(SweepOutcome),
}

/// The sweep's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepOutcome {
    /// Failures that stopped the sweep (empty when it ran through) plus forwarded failures.
    pub failures: Vec<GateResult>,
    /// Forwarded gaps (blockers to append).
    pub forwarded: Vec<ForwardedGap>,
    /// Agents launched, in order.
    pub launched: Vec<String>,
    /// Stages skipped, with the reason.
    pub skipped: Vec<(ClosureStage, String)>,
}

/// The closure sweep step machine.
#[derive(Debug, Clone)]
pub struct ClosureSweep {
    stages: Vec<StagePlan>,
    stage: usize,
    next_run: usize,
    wave: u64,
    attempt: u64,
    gate_mode: GateMode,
    mode: ClosureMode,
    outcome: SweepOutcome,
    awaiting: Option<String>,
    finished: bool,
}

impl ClosureSweep {
    /// A sweep over `closure_runs` (the closure agents selected this attempt).
    pub fn new(
        plan: &WavePlan,
        lane: &LaneProfile,
        closure_runs: &[String],
        attempt: u64,
        gate_mode: GateMode,
    ) -> Self {
        ClosureSweep {
            stages: plan_stages(plan, lane, closure_runs),
            stage: 0,
            next_run: 0,
            wave: plan.wave,
            attempt,
            gate_mode,
            mode: closure_mode(plan.wave, &lane.validation.closure_mode_thresholds),
            outcome: SweepOutcome::default(),
            awaiting: None,
            finished: false,
        }
    }

    /// The planned stages.
    pub fn stages(&self) -> &[StagePlan] {
        &self.stages
    }

    fn done(&mut self) -> SweepAction {
        self.finished = true;
        SweepAction::Done(self.outcome.clone())
    }

    fn fail(&mut self, r: GateResult) -> SweepAction {
        self.outcome.failures.push(r);
        self.done()
    }

    /// The next action, given gate inputs rebuilt from the latest summaries.
    pub fn next(&mut self, inputs: &GateInputs<'_>) -> SweepAction {
        if self.finished {
            return SweepAction::Done(self.outcome.clone());
        }
        if let Some(agent_id) = &self.awaiting {
            let stage = self
                .stages
                .get(self.stage)
                .map_or(ClosureStage::ContQa, |s| s.stage);
            return SweepAction::Launch {
                stage,
                agent_id: agent_id.clone(),
            };
        }
        while let Some(plan) = self.stages.get(self.stage).cloned() {
            if self.next_run == 0 {
                if let Some(reason) = self.skip_reason(&plan, inputs) {
                    self.outcome.skipped.push((plan.stage, reason));
                    self.stage += 1;
                    continue;
                }
                if plan.agent_ids.is_empty() {
                    // Not skippable and nothing to run: required (skip_reason covered the rest).
                    let agent = stage_agent_hint(plan.stage, inputs);
                    return self.fail(GateResult::fail(
                        agent.as_deref(),
                        "missing-closure-run",
                        format!(
                            "Closure stage {} has no run this attempt.",
                            plan.stage.key()
                        ),
                    ));
                }
            }
            if let Some(agent_id) = plan.agent_ids.get(self.next_run) {
                self.next_run += 1;
                self.awaiting = Some(agent_id.clone());
                return SweepAction::Launch {
                    stage: plan.stage,
                    agent_id: agent_id.clone(),
                };
            }
            // Every run of the stage finished: judge it.
            let result = stage_gate(plan.stage, inputs);
            self.next_run = 0;
            self.stage += 1;
            if result.ok {
                continue;
            }
            if result.status_code == "wave-proof-gap" {
                let agent_id = result.agent_id.clone().unwrap_or_default();
                let targets = self.stages[self.stage..]
                    .iter()
                    .flat_map(|s| s.agent_ids.iter().map(|a| format!("agent:{a}")))
                    .collect();
                self.outcome.forwarded.push(ForwardedGap {
                    record_id: format!(
                        "wave-{}-closure-gap-{}-{}-attempt-{}",
                        self.wave,
                        plan.stage.key(),
                        agent_id,
                        self.attempt
                    ),
                    stage: plan.stage,
                    agent_id,
                    detail: result.detail.clone(),
                    targets,
                });
                self.outcome.failures.push(result);
                continue;
            }
            return self.fail(result);
        }
        self.done()
    }

    fn skip_reason(&self, plan: &StagePlan, inputs: &GateInputs<'_>) -> Option<String> {
        match plan.stage {
            ClosureStage::Integration => {
                let g = gates::integration_barrier(inputs);
                if g.ok
                    && g.agent_id.is_none()
                    && g.extra.get("integrationState").and_then(|v| v.as_str()) == Some("inferred")
                {
                    return Some("integration inferred by policy".into());
                }
            }
            ClosureStage::Documentation => {
                if let Some(state) = gates::doc_auto_closure(inputs) {
                    return Some(format!("documentation auto-closed ({state})"));
                }
            }
            ClosureStage::ContQa => {
                let launched_semantic = self.outcome.launched.iter().any(|a| {
                    self.stages
                        .iter()
                        .any(|s| s.stage.is_semantic() && s.agent_ids.contains(a))
                });
                if inputs
                    .lane
                    .validation
                    .auto_closure
                    .allow_skip_cont_qa_in_bootstrap
                    && self.mode == ClosureMode::Bootstrap
                    && !launched_semantic
                {
                    return Some("cont-QA skipped in bootstrap closure mode".into());
                }
            }
            _ => {}
        }
        if plan.agent_ids.is_empty() {
            if self.gate_mode == GateMode::Bootstrap && plan.stage != ClosureStage::ContQa {
                return Some("no run; bootstrap gate mode".into());
            }
            if !plan.required {
                return Some("stage not required".into());
            }
        }
        None
    }

    /// Records a finished run. `process_failure` is the failure when the process itself failed
    /// (non-zero exit, timeout): the sweep then stops with it.
    pub fn record_run(&mut self, agent_id: &str, process_failure: Option<GateResult>) {
        if self.awaiting.as_deref() == Some(agent_id) {
            self.awaiting = None;
        }
        self.outcome.launched.push(agent_id.to_owned());
        if let Some(f) = process_failure {
            self.outcome.failures.push(f);
            self.finished = true;
        }
    }
}

fn stage_agent_hint(stage: ClosureStage, inputs: &GateInputs<'_>) -> Option<String> {
    let r = &inputs.lane.roles;
    Some(match stage {
        ClosureStage::ContEval => r.cont_eval_agent_id.clone(),
        ClosureStage::Integration => r.integration_agent_id.clone(),
        ClosureStage::Documentation => r.documentation_agent_id.clone(),
        ClosureStage::ContQa => r.cont_qa_agent_id.clone(),
        ClosureStage::SecurityReview => {
            return inputs
                .security_reviewers()
                .next()
                .map(|a| a.agent_id.clone());
        }
    })
}

/// The gate that judges a stage (documentation: the doc failure wins, else the matrix result).
pub fn stage_gate(stage: ClosureStage, inputs: &GateInputs<'_>) -> GateResult {
    match stage {
        ClosureStage::ContEval => gates::cont_eval_gate(inputs),
        ClosureStage::SecurityReview => gates::security_gate(inputs),
        ClosureStage::Integration => gates::integration_barrier(inputs),
        ClosureStage::Documentation => {
            let doc = gates::documentation_gate(inputs);
            if doc.ok {
                gates::component_matrix_gate(inputs)
            } else {
                doc
            }
        }
        ClosureStage::ContQa => gates::cont_qa_gate(inputs),
    }
}
