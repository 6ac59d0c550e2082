//! The JSON view of a plan (`wave plan show --json`): upstream's field names and nesting.
//!
//! `evalTargets` lists target ids (as upstream's normalized plan output does); the full target
//! objects are under `evalTargetDefinitions`. `executor` is the short `{id, profile, model,
//! fallbacks}` form; `executorConfig` holds every executor setting the plan declared.

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{
    Agent, ComponentPromotion, Context7Config, DeployEnvironment, EvalTarget, ExecutorConfig,
    ExecutorId, ExitContract, ProofArtifact, WavePlan,
};

/// The short executor form.
#[derive(Debug, Serialize)]
pub struct ExecutorSummary<'a> {
    /// Declared executor id.
    pub id: Option<ExecutorId>,
    /// Declared profile.
    pub profile: Option<&'a str>,
    /// Declared model.
    pub model: Option<&'a str>,
    /// Declared fallbacks.
    pub fallbacks: &'a [ExecutorId],
}

/// One agent in the JSON view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView<'a> {
    /// Agent id.
    pub agent_id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Slug.
    pub slug: &'a str,
    /// Exit contract.
    pub exit_contract: Option<&'a ExitContract>,
    /// Short executor form.
    pub executor: ExecutorSummary<'a>,
    /// Full executor settings.
    pub executor_config: Option<&'a ExecutorConfig>,
    /// Components.
    pub components: &'a [String],
    /// Component → this wave's target level.
    pub component_targets: Map<String, Value>,
    /// Capabilities.
    pub capabilities: &'a [String],
    /// Skills.
    pub skills: &'a [String],
    /// Deliverables.
    pub deliverables: &'a [String],
    /// Proof artifacts.
    pub proof_artifacts: &'a [ProofArtifact],
    /// Owned paths.
    pub owned_paths: &'a [String],
    /// Role prompt paths.
    pub role_prompt_paths: Vec<&'a str>,
    /// Context7.
    pub context7_config: Option<&'a Context7Config>,
    /// The wave-local prompt.
    pub prompt_overlay: &'a str,
    /// The resolved prompt.
    pub prompt: &'a str,
}

/// A wave in the JSON view.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanView<'a> {
    /// Wave number.
    pub wave: u64,
    /// Repository-relative file.
    pub file: &'a str,
    /// Commit message.
    pub commit_message: Option<&'a str>,
    /// Component promotions.
    pub component_promotions: &'a [ComponentPromotion],
    /// Eval target ids.
    pub eval_targets: Vec<&'a str>,
    /// Eval targets in full.
    pub eval_target_definitions: &'a [EvalTarget],
    /// Deploy environments.
    pub deploy_environments: &'a [DeployEnvironment],
    /// Context7 defaults.
    pub context7_defaults: Option<&'a Context7Config>,
    /// cont-QA report path.
    pub cont_qa_report_path: Option<&'a str>,
    /// cont-EVAL report path.
    pub cont_eval_report_path: Option<&'a str>,
    /// Agents.
    pub agents: Vec<AgentView<'a>>,
}

fn agent_view(a: &Agent) -> AgentView<'_> {
    let cfg = a.executor.as_ref();
    AgentView {
        agent_id: &a.agent_id,
        title: &a.title,
        slug: &a.slug,
        exit_contract: a.exit_contract.as_ref(),
        executor: ExecutorSummary {
            id: cfg.and_then(|c| c.id),
            profile: cfg.and_then(|c| c.profile.as_deref()),
            model: cfg.and_then(|c| c.model.as_deref()),
            fallbacks: cfg.map_or(&[], |c| c.fallbacks.as_slice()),
        },
        executor_config: cfg,
        components: &a.components,
        component_targets: a
            .component_targets
            .iter()
            .map(|(c, t)| (c.clone(), t.clone().map_or(Value::Null, Value::String)))
            .collect(),
        capabilities: &a.capabilities,
        skills: &a.skills,
        deliverables: &a.deliverables,
        proof_artifacts: &a.proof_artifacts,
        owned_paths: &a.owned_paths,
        role_prompt_paths: a.role_prompt_paths(),
        context7_config: a.context7.as_ref(),
        prompt_overlay: &a.prompt_overlay,
        prompt: &a.prompt,
    }
}

/// Builds the JSON view of a plan.
pub fn plan_view(plan: &WavePlan) -> PlanView<'_> {
    PlanView {
        wave: plan.wave,
        file: &plan.file,
        commit_message: plan.commit_message.as_deref(),
        component_promotions: &plan.component_promotions,
        eval_targets: plan.eval_targets.iter().map(|t| t.id.as_str()).collect(),
        eval_target_definitions: &plan.eval_targets,
        deploy_environments: &plan.deploy_environments,
        context7_defaults: plan.context7_defaults.as_ref(),
        cont_qa_report_path: plan.cont_qa_report_path.as_deref(),
        cont_eval_report_path: plan.cont_eval_report_path.as_deref(),
        agents: plan.agents.iter().map(agent_view).collect(),
    }
}
