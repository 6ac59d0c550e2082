//! Plan validation (spec §1.7): every rule checked, every finding collected into one list, each
//! pointing at file:line:column with what is wrong and how to fix it.
//!
//! Pure: the matrix and benchmark catalog arrive already parsed (or as the reason they could
//! not be), and thresholds come from the lane profile.

use std::collections::{BTreeMap, BTreeSet};

use super::config::LaneProfile;
use super::executor::{ResolveError, command_program, resolve_executor_id};
use super::matrix::{BenchmarkCatalog, ComponentMatrix};
use super::model::{Agent, Diagnostic, EvalSelection, ExecutorId, Pos, WavePlan};
use super::parse::{MATURITY_LEVELS, is_repo_contained};
use super::roles;

/// Exit-contract ladders (spec §7.6).
pub const COMPLETION_VALUES: &[&str] = &["contract", "integrated", "authoritative", "live"];
/// Durability ladder.
pub const DURABILITY_VALUES: &[&str] = &["none", "ephemeral", "durable"];
/// Proof ladder.
pub const PROOF_VALUES: &[&str] = &["unit", "integration", "live"];
/// Doc-impact ladder.
pub const DOC_IMPACT_VALUES: &[&str] = &["none", "owned", "shared-plan"];

/// The maturity level from which an agent is proof-centric.
pub const PROOF_CENTRIC_LEVEL: &str = "pilot-live";

/// What validation needs besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct ValidateContext<'a> {
    /// The lane profile (thresholds, roles, executors).
    pub lane: &'a LaneProfile,
    /// The component cutover matrix, or why it could not be loaded.
    pub matrix: &'a Result<ComponentMatrix, String>,
    /// The benchmark catalog, or why it could not be loaded.
    pub catalog: &'a Result<BenchmarkCatalog, String>,
    /// Waves already completed (their promotions may lag the matrix's current level).
    pub completed_waves: &'a BTreeSet<u64>,
}

fn rank(level: &str) -> Option<usize> {
    MATURITY_LEVELS.iter().position(|l| *l == level)
}

fn proof_centric_level(level: &str) -> bool {
    match (rank(level), rank(PROOF_CENTRIC_LEVEL)) {
        (Some(a), Some(b)) => a >= b,
        _ => false,
    }
}

/// True when an agent carries proof-centric validation: a component target at or above
/// `pilot-live`, or a proof artifact required for such a level (or for every level).
pub fn agent_is_proof_centric(agent: &Agent) -> bool {
    let highest = agent
        .component_targets
        .iter()
        .filter_map(|(_, t)| t.as_deref())
        .filter(|t| rank(t).is_some())
        .max_by_key(|t| rank(t));
    if highest.is_some_and(proof_centric_level) {
        return true;
    }
    agent
        .proof_artifacts
        .iter()
        .any(|a| a.required_for.is_empty() || a.required_for.iter().any(|l| proof_centric_level(l)))
}

/// The errors in an exit contract's values (empty when all four are on their ladders).
pub fn exit_contract_errors(c: &super::model::ExitContract) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value, allowed) in [
        ("completion", &c.completion, COMPLETION_VALUES),
        ("durability", &c.durability, DURABILITY_VALUES),
        ("proof", &c.proof, PROOF_VALUES),
        ("doc-impact", &c.doc_impact, DOC_IMPACT_VALUES),
    ] {
        if !value.as_deref().is_some_and(|v| allowed.contains(&v)) {
            out.push(format!("{name} must be one of {}", allowed.join(", ")));
        }
    }
    out
}

struct V<'a> {
    plan: &'a WavePlan,
    lane: &'a LaneProfile,
    out: Vec<Diagnostic>,
}

impl V<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.out.push(Diagnostic::error(
            self.plan.file.clone(),
            pos,
            message,
            hint,
        ));
    }

    fn section(&self, heading: &str) -> Pos {
        self.plan
            .section_spans
            .get(heading)
            .copied()
            .unwrap_or(Pos::START)
    }
}

fn active(threshold: Option<u64>, wave: u64) -> bool {
    threshold.is_some_and(|t| wave >= t)
}

/// Validates one parsed wave; returns every error found (empty = valid).
pub fn validate_wave(plan: &WavePlan, ctx: &ValidateContext<'_>) -> Vec<Diagnostic> {
    let lane = ctx.lane;
    let r = &lane.roles;
    let val = &lane.validation;
    let wave = plan.wave;
    let mut v = V {
        plan,
        lane,
        out: Vec::new(),
    };
    let promotion_rule = active(val.require_component_promotions_from_wave, wave);
    let agent_components_rule = active(val.require_agent_components_from_wave, wave);
    let promoted: BTreeMap<&str, &str> = plan
        .component_promotions
        .iter()
        .map(|p| (p.component_id.as_str(), p.target_level.as_str()))
        .collect();
    let mut owners: BTreeMap<&str, BTreeSet<&str>> =
        promoted.keys().map(|k| (*k, BTreeSet::new())).collect();

    let matrix: Option<&ComponentMatrix> =
        if promotion_rule || !promoted.is_empty() || agent_components_rule {
            match ctx.matrix {
                Ok(m) => Some(m),
                Err(reason) => {
                    let pos = v.section("Component promotions");
                    v.error(
                    pos,
                    reason.clone(),
                    format!(
                        "create or fix {} (levels, components with currentLevel and promotions)",
                        lane.paths.component_cutover_matrix_json_path
                    ),
                );
                    None
                }
            }
        } else {
            None
        };

    if plan.agents.is_empty() {
        v.error(
            Pos::START,
            format!("wave {wave} must declare at least one agent"),
            "add `## Agent <ID>: <Title>` sections",
        );
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for a in &plan.agents {
        if !seen.insert(a.agent_id.as_str()) {
            v.error(
                a.spans.header,
                format!("wave {wave} must not repeat agent ids ({})", a.agent_id),
                "give every agent its own id",
            );
        }
    }
    if plan.agent(&r.cont_qa_agent_id).is_none() {
        v.error(
            Pos::START,
            format!(
                "wave {wave} must include Agent {} as the cont-QA closure role",
                r.cont_qa_agent_id
            ),
            format!(
                "add `## Agent {}: cont-QA` importing {} and owning a cont-QA report path",
                r.cont_qa_agent_id, r.cont_qa_role_prompt_path
            ),
        );
    }
    let implementation_agents = plan
        .agents
        .iter()
        .filter(|a| roles::is_implementation_owning(a, lane))
        .count();
    if promotion_rule && promoted.is_empty() && implementation_agents > 0 {
        v.error(
            Pos::START,
            format!(
                "wave {wave} must declare a ## Component promotions section in waves {} and later",
                val.require_component_promotions_from_wave.unwrap_or(0)
            ),
            "add `## Component promotions` with `- <component-id>: <level>` bullets matching the component matrix",
        );
    }
    if let Some(m) = matrix {
        check_matrix(&mut v, m, &promoted, ctx.completed_waves);
    }

    for agent in &plan.agents {
        check_agent(&mut v, agent, matrix, &promoted, &mut owners);
    }
    for agent in &plan.agents {
        for reference in &val.required_prompt_references {
            if !agent.prompt.contains(reference.as_str()) {
                v.error(
                    agent.spans.section_or_header("Prompt"),
                    format!("agent {} must reference {reference}", agent.agent_id),
                    format!("mention `{reference}` in the agent's prompt (or in a role prompt it imports)"),
                );
            }
        }
    }
    check_closure_roles(&mut v, ctx.catalog);

    if active(val.require_context7_declarations_from_wave, wave) && plan.context7_defaults.is_none()
    {
        v.error(
            Pos::START,
            format!(
                "waves {} and later must declare a ## Context7 defaults section",
                val.require_context7_declarations_from_wave.unwrap_or(0)
            ),
            "add `## Context7 defaults` with `- bundle: <id>` (or `- bundle: none`) and `- query: <text>`",
        );
    }
    check_runtime_mix(&mut v);

    let cont_eval_impl = plan
        .agent(&r.cont_eval_agent_id)
        .is_some_and(|a| roles::is_cont_eval_implementation_owning(a, lane));
    for (component, set) in &owners {
        if set.is_empty() {
            let mut ids = vec![r.cont_qa_agent_id.clone()];
            if !cont_eval_impl {
                ids.push(r.cont_eval_agent_id.clone());
            }
            ids.push(r.documentation_agent_id.clone());
            let pos = plan
                .component_promotions
                .iter()
                .find(|p| p.component_id == *component)
                .map_or(Pos::START, |p| p.pos);
            v.error(
                pos,
                format!(
                    "wave {wave} must assign promoted component \"{component}\" to at least one non-{} agent",
                    ids.join("/")
                ),
                format!("list `- {component}` under `### Components` of the implementation agent that delivers it"),
            );
        }
    }
    v.out
}

fn check_matrix(
    v: &mut V<'_>,
    m: &ComponentMatrix,
    promoted: &BTreeMap<&str, &str>,
    completed: &BTreeSet<u64>,
) {
    let wave = v.plan.wave;
    let path = m.json_path.clone();
    for p in &v.plan.component_promotions {
        let (id, target) = (p.component_id.as_str(), p.target_level.as_str());
        let Some(component) = m.components.get(id) else {
            v.error(
                p.pos,
                format!("wave {wave} references unknown component \"{id}\" from {path}"),
                format!("add \"{id}\" to {path} or fix the id"),
            );
            continue;
        };
        if m.level_rank(target).is_none() {
            v.error(
                p.pos,
                format!("wave {wave} uses invalid component level \"{target}\" for {id}"),
                format!("use one of the matrix levels: {}", m.levels.join(", ")),
            );
            continue;
        }
        match component.promotions.iter().find(|pr| pr.wave == wave) {
            None => v.error(
                p.pos,
                format!("component \"{id}\" is missing a wave {wave} promotion entry in {path}"),
                format!("add {{\"wave\": {wave}, \"target\": \"{target}\"}} to the component's promotions in {path}"),
            ),
            Some(pr) if pr.target != target => v.error(
                p.pos,
                format!(
                    "wave {wave} promotes {id} to {target}, but {path} declares {}",
                    pr.target
                ),
                "make the wave's promotion and the matrix entry name the same level",
            ),
            Some(_) => {
                if m.level_rank(target) < m.level_rank(&component.current_level)
                    && !completed.contains(&wave)
                {
                    v.error(
                        p.pos,
                        format!(
                            "wave {wave} promotes {id} to {target}, but {path} already records currentLevel {}",
                            component.current_level
                        ),
                        "promote the component to a level at or above its current level",
                    );
                }
            }
        }
    }
    let pos = v.section("Component promotions");
    for (id, component) in &m.components {
        for pr in component.promotions.iter().filter(|pr| pr.wave == wave) {
            if promoted.get(id.as_str()) != Some(&pr.target.as_str()) {
                v.error(
                    pos,
                    format!(
                        "wave {wave} must declare component promotion {id}: {} to match {path}",
                        pr.target
                    ),
                    format!(
                        "add `- {id}: {}` under `## Component promotions`",
                        pr.target
                    ),
                );
            }
        }
    }
}

fn check_agent<'p>(
    v: &mut V<'p>,
    agent: &'p Agent,
    matrix: Option<&ComponentMatrix>,
    promoted: &BTreeMap<&str, &str>,
    owners: &mut BTreeMap<&'p str, BTreeSet<&'p str>>,
) {
    let lane = v.lane;
    let val = &lane.validation;
    let wave = v.plan.wave;
    let id = agent.agent_id.as_str();
    if agent.owned_paths.is_empty() {
        v.error(
            agent.spans.section_or_header("Prompt"),
            format!("agent {id} must declare at least one owned path"),
            "add a `File ownership (only touch these paths):` line with `- <path>` bullets inside the prompt",
        );
        return;
    }
    for (i, p) in agent.owned_paths.iter().enumerate() {
        if !is_repo_contained(p) {
            let pos = agent
                .spans
                .owned_paths
                .get(i)
                .copied()
                .unwrap_or(agent.spans.header);
            v.error(
                pos,
                format!("agent {id} has a non-repo-owned path ({p})"),
                "owned paths are repository-relative, without a leading `/` or `..`",
            );
        }
    }
    let dir = lane.roles.role_prompt_dir.trim_end_matches('/');
    for rp in &agent.role_prompts {
        let p = rp.path.replace('\\', "/");
        if !(is_repo_contained(&rp.path)
            && p.starts_with(&format!("{dir}/"))
            && p.to_ascii_lowercase().ends_with(".md"))
        {
            v.error(
                rp.pos,
                format!("agent {id} has an invalid role prompt path ({})", rp.path),
                format!("role prompts are markdown files under {dir}/"),
            );
        }
    }
    if let Some(cfg) = &agent.executor {
        let (codex, claude, opencode) = (
            cfg.codex.is_some(),
            cfg.claude.is_some(),
            cfg.opencode.is_some(),
        );
        let command = cfg.command_program.is_some();
        let mismatch = match cfg.id {
            Some(ExecutorId::Command) if codex || claude || opencode => Some(("command", "vendor")),
            Some(id) if command && id != ExecutorId::Command => Some((id.as_str(), "command")),
            Some(ExecutorId::Claude) if codex || opencode => Some(("claude", "non-Claude")),
            Some(ExecutorId::Opencode) if codex || claude => Some(("opencode", "non-OpenCode")),
            Some(ExecutorId::Codex) if claude || opencode => Some(("codex", "non-Codex")),
            Some(ExecutorId::Local) if codex || claude || opencode => Some(("local", "vendor")),
            _ => None,
        };
        if let Some((exec, kind)) = mismatch {
            v.error(
                agent.spans.section_or_header("Executor"),
                format!("agent {id} declares executor={exec} but includes {kind} overrides"),
                format!(
                    "remove the other runtimes' `<runtime>.*` keys, or change `id` from {exec}"
                ),
            );
        }
    }
    if resolve_executor_id(agent, lane) == Ok(ExecutorId::Command)
        && command_program(agent, lane).is_none()
    {
        v.error(
            agent.spans.section_or_header("Executor"),
            format!("agent {id} uses executor=command but names no program"),
            "add `- command.program: <path>` under the agent's `### Executor`, or set executors.command.program in wave.config.json".to_owned(),
        );
    }
    if let Err(ResolveError::UnknownProfile(name)) = resolve_executor_id(agent, lane) {
        let known: Vec<&str> = lane.executors.profiles.keys().map(String::as_str).collect();
        v.error(
            agent.spans.section_or_header("Executor"),
            format!("agent {id} references unknown executor profile \"{name}\""),
            if known.is_empty() {
                "define the profile under executors.profiles in wave.config.json".to_owned()
            } else {
                format!(
                    "use one of: {}, or define it in wave.config.json",
                    known.join(", ")
                )
            },
        );
    }
    if active(val.require_context7_declarations_from_wave, wave) && agent.context7.is_none() {
        v.error(
            agent.spans.header,
            format!(
                "agent {id} must declare a ### Context7 section in waves {} and later",
                val.require_context7_declarations_from_wave.unwrap_or(0)
            ),
            "add `### Context7` with `- bundle: <id>` (or `- bundle: none`)",
        );
    }
    let exempt = roles::is_exempt_from_implementation_rules(agent, lane);
    if exempt {
        if !agent.components.is_empty() {
            v.error(
                agent.spans.section_or_header("Components"),
                format!("agent {id} must not declare a ### Components section"),
                "closure and report-only agents do not own components; remove the section",
            );
        }
    } else {
        if active(val.require_agent_components_from_wave, wave) && agent.components.is_empty() {
            v.error(
                agent.spans.header,
                format!(
                    "agent {id} must declare a ### Components section in waves {} and later",
                    val.require_agent_components_from_wave.unwrap_or(0)
                ),
                "add `### Components` listing the promoted components this agent delivers",
            );
        }
        for (i, c) in agent.components.iter().enumerate() {
            let pos = agent
                .spans
                .components
                .get(i)
                .copied()
                .unwrap_or(agent.spans.header);
            if let Some(m) = matrix
                && !m.components.contains_key(c)
            {
                v.error(
                    pos,
                    format!(
                        "agent {id} references unknown component \"{c}\" from {}",
                        m.json_path
                    ),
                    format!("add \"{c}\" to {} or fix the id", m.json_path),
                );
                continue;
            }
            if !promoted.contains_key(c.as_str()) {
                v.error(
                    pos,
                    format!("agent {id} declares component \"{c}\" that is not promoted in wave {wave}"),
                    format!("add `- {c}: <level>` under `## Component promotions`, or drop it from the agent"),
                );
                continue;
            }
            if let Some(set) = owners.get_mut(c.as_str()) {
                set.insert(id);
            }
        }
    }
    if active(val.require_exit_contracts_from_wave, wave) && !exempt {
        match &agent.exit_contract {
            None => v.error(
                agent.spans.header,
                format!(
                    "agent {id} must declare a ### Exit contract section in waves {} and later",
                    val.require_exit_contracts_from_wave.unwrap_or(0)
                ),
                "add `### Exit contract` with completion, durability, proof and doc-impact bullets",
            ),
            Some(c) => {
                let errs = exit_contract_errors(c);
                if !errs.is_empty() {
                    v.error(
                        agent.spans.section_or_header("Exit contract"),
                        format!(
                            "agent {id} has an invalid exit contract ({})",
                            errs.join(", ")
                        ),
                        "use the ladder values listed",
                    );
                }
            }
        }
    }
    let proof_centric = agent_is_proof_centric(agent);
    if proof_centric && agent.proof_artifacts.is_empty() && !exempt {
        v.error(
            agent.spans.header,
            format!(
                "agent {id} must declare a ### Proof artifacts section when it targets {PROOF_CENTRIC_LEVEL} or above"
            ),
            "add `### Proof artifacts` with `- path: <file> | kind: <kind> | required-for: pilot-live`",
        );
    }
    if proof_centric && resolve_executor_id(agent, lane) == Ok(ExecutorId::Local) {
        v.error(
            agent.spans.section_or_header("Executor"),
            format!("agent {id} must not use executor=local when it carries proof-centric validation artifacts"),
            "run proof-centric agents on codex, claude or opencode",
        );
    }
}

fn check_closure_roles(v: &mut V<'_>, catalog: &Result<BenchmarkCatalog, String>) {
    let lane = v.lane;
    let plan = v.plan;
    let r = &lane.roles;
    let wave = plan.wave;
    let qa = plan.agent(&r.cont_qa_agent_id);
    let qa_pos = qa.map_or(Pos::START, |a| a.spans.section_or_header("Role prompts"));
    if !qa.is_some_and(|a| a.imports(&r.cont_qa_role_prompt_path)) {
        v.error(
            qa_pos,
            format!(
                "agent {} must import {}",
                r.cont_qa_agent_id, r.cont_qa_role_prompt_path
            ),
            format!(
                "add `- {}` under `### Role prompts`",
                r.cont_qa_role_prompt_path
            ),
        );
    }
    if plan.cont_qa_report_path.is_none() {
        v.error(
            qa.map_or(Pos::START, |a| a.spans.section_or_header("Prompt")),
            format!("agent {} must own a cont-QA report path", r.cont_qa_agent_id),
            "own a report such as `docs/plans/waves/reviews/wave-<n>-cont-qa.md` under File ownership",
        );
    }
    if let Some(e0) = plan.agent(&r.cont_eval_agent_id) {
        if !e0.imports(&r.cont_eval_role_prompt_path) {
            v.error(
                e0.spans.section_or_header("Role prompts"),
                format!(
                    "agent {} must import {}",
                    r.cont_eval_agent_id, r.cont_eval_role_prompt_path
                ),
                format!(
                    "add `- {}` under `### Role prompts`",
                    r.cont_eval_role_prompt_path
                ),
            );
        }
        if plan.cont_eval_report_path.is_none() {
            v.error(
                e0.spans.section_or_header("Prompt"),
                format!("agent {} must own a cont-EVAL report path", r.cont_eval_agent_id),
                "own a report such as `docs/plans/waves/reviews/wave-<n>-cont-eval.md` under File ownership",
            );
        }
        if plan.eval_targets.is_empty() {
            v.error(
                e0.spans.header,
                format!(
                    "wave {wave} must declare a ## Eval targets section when {} is present",
                    r.cont_eval_agent_id
                ),
                "add `## Eval targets` with `- id: … | selection: … | objective: … | threshold: …` bullets",
            );
        } else if let Some(msg) = eval_target_error(plan, catalog) {
            let (pos, msg) = msg;
            v.error(
                pos,
                msg,
                format!(
                    "check the ids against {}",
                    lane.paths.benchmark_catalog_path
                ),
            );
        }
    } else if !plan.eval_targets.is_empty() {
        v.error(
            v.section("Eval targets"),
            format!(
                "wave {wave} declares ## Eval targets but does not include Agent {}",
                r.cont_eval_agent_id
            ),
            format!(
                "add a cont-EVAL agent `## Agent {}` or remove the section",
                r.cont_eval_agent_id
            ),
        );
    }
    for a in plan
        .agents
        .iter()
        .filter(|a| roles::is_security_reviewer(a, lane))
    {
        if !a.imports(&r.security_role_prompt_path) {
            v.error(
                a.spans.header,
                format!(
                    "security reviewer {} must import {}",
                    a.agent_id, r.security_role_prompt_path
                ),
                format!(
                    "add `- {}` under `### Role prompts`",
                    r.security_role_prompt_path
                ),
            );
        }
        if roles::security_report_path(a).is_none() {
            v.error(
                a.spans.section_or_header("Prompt"),
                format!(
                    "security reviewer {} must own a security review report path",
                    a.agent_id
                ),
                "own a report whose path contains `security` and ends in .md or .txt",
            );
        }
    }
    for a in plan
        .agents
        .iter()
        .filter(|a| roles::is_design_agent(a, lane))
    {
        if !a.imports(&r.design_role_prompt_path) {
            v.error(
                a.spans.header,
                format!(
                    "design agent {} must import {}",
                    a.agent_id, r.design_role_prompt_path
                ),
                format!(
                    "add `- {}` under `### Role prompts`",
                    r.design_role_prompt_path
                ),
            );
        }
        if roles::design_report_path(a).is_none() {
            v.error(
                a.spans.section_or_header("Prompt"),
                format!("design agent {} must own a design packet path", a.agent_id),
                "own a packet whose path contains `design`, `handoff` or `decision-lineage` and ends in .md or .txt",
            );
        }
        if !roles::is_implementation_owning_design_agent(a, lane) && !a.components.is_empty() {
            v.error(
                a.spans.section_or_header("Components"),
                format!(
                    "design agent {} must stay docs/spec-only unless it explicitly owns implementation files",
                    a.agent_id
                ),
                "remove `### Components`, or give the agent implementation files to own",
            );
        }
    }
    for a in &plan.agents {
        let held = roles::closure_roles(a, lane);
        if held.len() > 1 {
            let labels: Vec<&str> = held.iter().map(|r| r.label()).collect();
            v.error(
                a.spans.header,
                format!(
                    "agent {} must not overlap closure roles ({})",
                    a.agent_id,
                    labels.join(", ")
                ),
                "give each closure role its own agent",
            );
        }
    }
    if active(lane.validation.require_integration_steward_from_wave, wave) {
        let stewards: Vec<&Agent> = plan
            .agents
            .iter()
            .filter(|a| a.imports(&r.integration_role_prompt_path))
            .collect();
        if stewards.len() != 1 {
            v.error(
                stewards.get(1).map_or(Pos::START, |a| a.spans.header),
                format!(
                    "wave {wave} must include exactly one integration steward importing {}",
                    r.integration_role_prompt_path
                ),
                format!(
                    "have exactly one agent (usually {}) import it",
                    r.integration_agent_id
                ),
            );
        }
    }
    if active(
        lane.validation.require_documentation_steward_from_wave,
        wave,
    ) {
        let stewards: Vec<&Agent> = plan
            .agents
            .iter()
            .filter(|a| a.imports(&r.documentation_role_prompt_path))
            .collect();
        if stewards.len() != 1 {
            v.error(
                stewards.get(1).map_or(Pos::START, |a| a.spans.header),
                format!(
                    "wave {wave} must include exactly one documentation steward importing {}",
                    r.documentation_role_prompt_path
                ),
                format!(
                    "have exactly one agent (usually {}) import it",
                    r.documentation_agent_id
                ),
            );
        } else if let Some(steward) = stewards.first() {
            let required = documentation_steward_paths(lane, wave);
            let missing: Vec<&str> = required
                .iter()
                .filter(|p| !steward.owned_paths.contains(p))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                v.error(
                    steward.spans.section_or_header("Prompt"),
                    format!(
                        "documentation steward {} must own {}",
                        steward.agent_id,
                        missing.join(", ")
                    ),
                    "list these paths under File ownership in the steward's prompt",
                );
            }
            let others: Vec<&Agent> = plan
                .agents
                .iter()
                .filter(|a| {
                    a.agent_id != steward.agent_id
                        && a.owned_paths.iter().any(|p| required.contains(p))
                })
                .collect();
            if !others.is_empty() {
                let ids: Vec<&str> = others.iter().map(|a| a.agent_id.as_str()).collect();
                v.error(
                    others[0].spans.section_or_header("Prompt"),
                    format!(
                        "shared plan docs must be owned only by {} (also owned by {})",
                        steward.agent_id,
                        ids.join(", ")
                    ),
                    "remove the shared plan docs from the other agents' File ownership",
                );
            }
        }
    }
}

/// The paths the documentation steward must own in a wave: the shared plan docs, plus the
/// matrix files when the component rule is active.
pub fn documentation_steward_paths(lane: &LaneProfile, wave: u64) -> Vec<String> {
    let mut out = lane.shared_plan_docs.clone();
    if active(lane.validation.require_component_promotions_from_wave, wave) {
        out.push(lane.paths.component_cutover_matrix_doc_path.clone());
        out.push(lane.paths.component_cutover_matrix_json_path.clone());
    }
    let mut seen = BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn eval_target_error(
    plan: &WavePlan,
    catalog: &Result<BenchmarkCatalog, String>,
) -> Option<(Pos, String)> {
    let catalog = match catalog {
        Ok(c) => c,
        Err(reason) => {
            let pos = plan.eval_targets.first().map_or(Pos::START, |t| t.pos);
            return Some((pos, reason.clone()));
        }
    };
    for t in &plan.eval_targets {
        if t.selection == EvalSelection::Delegated {
            let family = t.benchmark_family.as_deref().unwrap_or("");
            if !catalog.families.contains_key(family) {
                return Some((
                    t.pos,
                    format!(
                        "eval target \"{}\" references unknown benchmark family \"{family}\" from {}",
                        t.id, catalog.path
                    ),
                ));
            }
            continue;
        }
        for b in &t.benchmarks {
            match catalog.benchmark_family.get(b) {
                None => {
                    return Some((
                        t.pos,
                        format!(
                            "eval target \"{}\" references unknown benchmark \"{b}\" from {}",
                            t.id, catalog.path
                        ),
                    ));
                }
                Some(family) => {
                    if let Some(declared) = &t.benchmark_family
                        && declared != family
                    {
                        return Some((
                            t.pos,
                            format!(
                                "eval target \"{}\" pins benchmark \"{b}\" from family \"{family}\", not declared family \"{declared}\"",
                                t.id
                            ),
                        ));
                    }
                }
            }
        }
    }
    None
}

fn check_runtime_mix(v: &mut V<'_>) {
    let targets = &v.lane.runtime_policy.runtime_mix_targets;
    if targets.is_empty() {
        return;
    }
    let mut counts: BTreeMap<ExecutorId, u64> = BTreeMap::new();
    for a in &v.plan.agents {
        if let Ok(id) = resolve_executor_id(a, v.lane) {
            *counts.entry(id).or_default() += 1;
        }
    }
    let over: Vec<String> = counts
        .iter()
        .filter_map(|(id, n)| {
            targets
                .get(id)
                .filter(|cap| n > cap)
                .map(|cap| format!("{id}={n} exceeds target {cap}"))
        })
        .collect();
    if !over.is_empty() {
        let wave = v.plan.wave;
        v.error(
            Pos::START,
            format!("wave {wave} exceeds lane runtime mix targets ({})", over.join("; ")),
            "move agents to other executors (### Executor `id:` or `profile:`) or raise runtimeMixTargets in wave.config.json",
        );
    }
}
