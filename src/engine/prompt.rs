//! Prompt assembly: the execution prompt an agent receives for one run (spec §9.2).
//!
//! Owns: section order and the fixed texts of the compiled prompt. Must not: read files, the
//! clock or the environment; summaries, inboxes and paths arrive as values.
//!
//! Commands the prompt tells the agent to run use this binary's CLI: `wave coord post …` for
//! coordination records and `wave feedback ask …` for human escalation, in place of the
//! `pnpm exec wave coord post` / `pnpm exec wave-feedback ask` of the JavaScript runtime. The flags
//! are the same, so agents trained on either wording behave the same.

/// The lane's closure-role agent ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleIds {
    /// cont-QA (default `A0`).
    pub cont_qa: String,
    /// cont-EVAL (default `E0`).
    pub cont_eval: String,
    /// Integration steward (default `A8`).
    pub integration: String,
    /// Documentation steward (default `A9`).
    pub documentation: String,
}

impl Default for RoleIds {
    fn default() -> Self {
        Self {
            cont_qa: "A0".into(),
            cont_eval: "E0".into(),
            integration: "A8".into(),
            documentation: "A9".into(),
        }
    }
}

/// The kind of work an agent does in this run, which selects its role-specific requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentKind {
    /// The agent imports the security role prompt or has the `security-review` capability.
    pub security_reviewer: bool,
    /// The agent imports the design role prompt or has the `design` capability.
    pub design: bool,
    /// A design agent that also owns non-packet files.
    pub design_hybrid: bool,
    /// This run is the hybrid design agent's implementation pass (not its packet pass).
    pub design_implementation_pass: bool,
    /// The cont-EVAL agent owns files other than its report.
    pub cont_eval_implementation_owning: bool,
}

/// A repository path given both absolute and repository-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPair {
    /// Absolute path.
    pub absolute: String,
    /// Path relative to the repository root, `/`-separated.
    pub relative: String,
}

/// The exit contract of an implementation agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitContractLines {
    /// `completion` level.
    pub completion: String,
    /// `durability` level.
    pub durability: String,
    /// `proof` level.
    pub proof: String,
    /// `doc-impact` level.
    pub doc_impact: String,
}

/// One eval target as listed in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalTargetLine {
    /// Target id.
    pub id: String,
    /// Delegated (to a benchmark family) rather than pinned.
    pub delegated: bool,
    /// Family, for delegated targets.
    pub benchmark_family: Option<String>,
    /// Allowed benchmarks (delegated) or pinned benchmarks.
    pub benchmarks: Vec<String>,
    /// Objective text.
    pub objective: String,
    /// Threshold text.
    pub threshold: String,
}

/// One proof artifact as listed in the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofArtifactLine {
    /// Path.
    pub path: String,
    /// Kind.
    pub kind: Option<String>,
    /// Levels the artifact is required for.
    pub required_for: Vec<String>,
}

/// The Context7 scope of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context7Scope {
    /// No scope line at all (no selection was resolved).
    Absent,
    /// The `none` bundle: repository docs only.
    NoBundle,
    /// A bundle with its query and libraries.
    Bundle {
        /// Bundle id.
        bundle: String,
        /// Query focus, if any.
        query: Option<String>,
        /// Library names allowed for lookups.
        libraries: Vec<String>,
        /// Fetched snippets to embed (third-party reference text).
        snippets: Option<String>,
        /// Why nothing was embedded.
        warning: Option<String>,
    },
}

/// Everything needed to compile one agent's prompt.
#[derive(Debug, Clone)]
pub struct PromptInput<'a> {
    /// Absolute repository root.
    pub repo_root: &'a str,
    /// Lane name.
    pub lane: &'a str,
    /// Wave number.
    pub wave: u32,
    /// Agent id.
    pub agent_id: &'a str,
    /// Agent title.
    pub title: &'a str,
    /// Closure-role ids of the lane.
    pub roles: &'a RoleIds,
    /// Resolved executor id.
    pub executor_id: &'a str,
    /// Orchestrator id used in the human-escalation command.
    pub orchestrator_id: &'a str,
    /// Message board path.
    pub board: &'a PathPair,
    /// Shared summary path and text.
    pub shared_summary: Option<(&'a PathPair, &'a str)>,
    /// Agent inbox path and text.
    pub inbox: Option<(&'a PathPair, &'a str)>,
    /// Role-specific kind.
    pub kind: AgentKind,
    /// Lane shared-plan docs (empty → the lane default list).
    pub shared_plan_docs: &'a [String],
    /// Exit contract, if declared.
    pub exit_contract: Option<&'a ExitContractLines>,
    /// Wave component promotions `(component, level)`.
    pub component_promotions: &'a [(String, String)],
    /// Benchmark catalog path shown above eval targets.
    pub benchmark_catalog_path: Option<&'a str>,
    /// Wave eval targets.
    pub eval_targets: &'a [EvalTargetLine],
    /// Components the agent owns `(component, target level)`.
    pub components: &'a [(String, Option<String>)],
    /// Deliverable paths.
    pub deliverables: &'a [String],
    /// Same-wave design packet paths.
    pub design_packet_paths: &'a [String],
    /// Proof artifacts.
    pub proof_artifacts: &'a [ProofArtifactLine],
    /// Active skill ids and the skill prompt text.
    pub skills: Option<(&'a [String], &'a str)>,
    /// Context7 scope.
    pub context7: &'a Context7Scope,
    /// The agent's resolved prompt: standing role prompts plus its `### Prompt` overlay.
    pub resolved_prompt: &'a str,
}

const COORD_KINDS: &str = "<request|ack|claim|evidence|decision|blocker|handoff|clarification-request|orchestrator-guidance|resolved-by-policy|human-escalation|human-feedback|integration-summary>";

/// The coordination command an agent is told to run.
pub fn coordination_command(lane: &str, wave: u32, agent_id: &str) -> String {
    format!(
        "wave coord post --lane {lane} --wave {wave} --agent {agent_id} --kind \"{COORD_KINDS}\" --summary \"<one-line summary>\" --detail \"<short detail>\""
    )
}

/// The human-escalation command an agent is told to run.
pub fn escalation_command(lane: &str, wave: u32, agent_id: &str, orchestrator_id: &str) -> String {
    format!(
        "wave feedback ask --lane {lane} --wave {wave} --agent {agent_id} --orchestrator-id {orchestrator_id} --question \"<specific clarification needed>\" --context \"<what you tried, options, and impact>\" --timeout-seconds 30"
    )
}

/// The default shared-plan docs of a lane.
pub fn default_shared_plan_docs(lane: &str) -> Vec<String> {
    let dir = if lane == "main" {
        "docs/plans".to_owned()
    } else {
        format!("docs/{lane}/plans")
    };
    ["master-plan.md", "current-state.md", "migration.md"]
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .collect()
}

/// The heading lines that start each section of a compiled prompt, in emitted order. A section
/// appears only when it has content for the agent; those that appear keep this order.
pub const SECTION_ORDER: &[&str] = &[
    "Working directory:",
    "Role model for this run:",
    "You are the Wave executor running",
    "Hard requirements for completeness:",
    "Shared summary absolute path:",
    "Agent inbox absolute path:",
    "Current wave shared summary:",
    "Current agent inbox:",
    "Exit contract for this run:",
    "Component promotions for this wave:",
    "Eval targets for this wave:",
    "Components you own in this wave:",
    "Deliverables required for this agent:",
    "Same-wave design packets to read before coding:",
    "Proof artifacts required for this agent:",
    "Active skill packs for this run:",
    "Context7 scope for this run:",
    "Assigned implementation prompt:",
];

/// Compiles the execution prompt (no trailing newline).
pub fn assemble(p: &PromptInput<'_>) -> String {
    let roles = p.roles;
    let id = p.agent_id;
    let is_cont_qa = id == roles.cont_qa;
    let is_cont_eval = id == roles.cont_eval;
    let is_doc = id == roles.documentation;
    let k = p.kind;
    let design_packet_pass = k.design && !(k.design_hybrid && k.design_implementation_pass);
    let design_impl_pass = k.design && k.design_hybrid && k.design_implementation_pass;

    let default_docs;
    let docs: &[String] = if p.shared_plan_docs.is_empty() {
        default_docs = default_shared_plan_docs(p.lane);
        &default_docs
    } else {
        p.shared_plan_docs
    };
    let doc_list = docs
        .iter()
        .map(|d| format!("`{d}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let coord = coordination_command(p.lane, p.wave, id);
    let ask = escalation_command(p.lane, p.wave, id, p.orchestrator_id);

    let mut out: Vec<String> = Vec::with_capacity(128);
    let mut line = |s: &str| out.push(s.to_owned());

    line(&format!("Working directory: {}", p.repo_root));
    line("");
    line("Role model for this run:");
    line(
        "- Wave Orchestrator role: create wave files, initiate wave runs, and manage execution end-to-end.",
    );
    line(
        "- WAVE Executor role (you): deliver the assigned outcome end-to-end within your scope and coordinate through the Wave coordination log every turn.",
    );
    line(&format!("- cont-QA agent id: {}", roles.cont_qa));
    line(&format!("- cont-EVAL agent id: {}", roles.cont_eval));
    line(&format!(
        "- Integration steward agent id: {}",
        roles.integration
    ));
    line(&format!(
        "- Documentation steward agent id: {}",
        roles.documentation
    ));
    line(&format!("- Resolved executor: {}", p.executor_id));
    line("");
    line(&format!(
        "You are the Wave executor running Wave {} / Agent {}: {}.",
        p.wave, id, p.title
    ));
    line("YOU ARE IN WAVE MODE.");
    line(&format!(
        "Message board absolute path: {}",
        p.board.absolute
    ));
    line(&format!(
        "Message board repo-relative path: {}",
        p.board.relative
    ));
    line("");
    line("Hard requirements for completeness:");
    for s in [
        "- Follow repository instructions in AGENTS.md and CLAUDE.md if present.",
        "- Read the compiled shared summary and your compiled inbox before taking action on every turn.",
        "- Post a coordination record on every meaningful turn with progress, decisions, blockers, handoffs, evidence, or explicit acknowledgement.",
        "- If your inbox or the coordination log shows a targeted open request for you, your first durable action is to acknowledge it, resolve it, or emit a clarification or human-feedback request. Silent targeted requests are treated as active blockers.",
        "- Re-read the generated board projection before major edits, before commit or push, and before your final report.",
        "- If you change interfaces or contracts, include exact files and exact keys or fields affected.",
        "- If your task touches persisted state, implement the required schema or migration work instead of leaving TODOs.",
        "- If you are blocked on clarification, first emit a `clarification-request` coordination record with the concrete question, what you checked, and the impact.",
        "- Use the human feedback CLI only when the orchestrator or policy resolution path cannot answer the question inside the wave loop.",
        "- If a clarification is not answered immediately, continue with the best reasonable assumption and log that assumption as a coordination record.",
    ] {
        line(s);
    }
    line(&format!("- Human escalation command: `{ask}`"));
    line(&format!("- Coordination command: `{coord}`"));
    for s in [
        "- Run relevant tests, lint, and build checks for touched workspaces and fix failures caused by your changes.",
        "- Emit explicit progress markers in your output: `[wave-phase] coding`, `[wave-phase] validating`, `[wave-phase] deploying`, `[wave-phase] finalizing`.",
        "- During deployment checks, emit structured deployment markers: `[deploy-status] service=<service-name> state=<deploying|healthy|failed|rolledover> detail=<short-note>`.",
        "- If your task touches machine validation, workload identity, node admission, deployment bootstrap, or approved machine actions, emit structured infra markers: `[infra-status] kind=<conformance|role-drift|dependency|identity|admission|action> target=<machine-or-surface> state=<checking|setup-required|setup-in-progress|conformant|drift|blocked|failed|action-required|action-approved|action-complete> detail=<short-note>`.",
    ] {
        line(s);
    }
    if is_cont_qa {
        line(&format!(
            "- Because you are Agent {}, your cont-QA report must end with exactly one standalone line in the form `Verdict: PASS`, `Verdict: CONCERNS`, or `Verdict: BLOCKED`.",
            roles.cont_qa
        ));
        line(
            "- Also emit one matching structured marker in your terminal output: `[wave-verdict] pass`, `[wave-verdict] concerns`, or `[wave-verdict] blocked`.",
        );
        line(
            "- Emit one final structured gate marker: `[wave-gate] architecture=<pass|concerns|blocked|gap> integration=<pass|concerns|blocked|gap> durability=<pass|concerns|blocked|gap> live=<pass|concerns|blocked|gap> docs=<pass|concerns|blocked|gap> detail=<short-note>`.",
        );
        line(
            "- Only use `Verdict: PASS` when the wave is coherent enough to unblock the next wave.",
        );
        line(&format!(
            "- Do not declare PASS until the documentation gate is closed: impacted implementation-owned docs must exist, {doc_list} must reflect plan-affecting outcomes, and no unresolved architecture-versus-plans drift remains."
        ));
        line(
            "- If shared-plan reconciliation is still active inside the wave, require the exact remaining doc delta and an explicit `closed` or `no-change` note from the documentation steward or named owner before finalizing. Do not treat ownership handoff alone as the blocker.",
        );
        line(
            "- Treat the last cont-QA section and last structured gate marker as authoritative. Earlier concerns may remain in the append-only report history but do not control final completion if the closure sweep resolves them.",
        );
    }
    if is_cont_eval {
        line(&format!(
            "- Because you are Agent {}, you own the wave's iterative eval tuning loop.",
            roles.cont_eval
        ));
        line(if k.cont_eval_implementation_owning {
            "- You also own explicit non-report files in this wave. For those files, satisfy the same proof, doc-delta, and component-marker obligations as an implementation owner."
        } else {
            "- You are report-only in this wave unless the prompt explicitly assigns additional non-report files. Do not edit product code outside explicit ownership; route exact follow-up work to the owning role."
        });
        line(
            "- Read the wave's declared eval targets before selecting benchmarks or making tuning changes.",
        );
        line(
            "- Leave an append-only cont-EVAL report that records the selected benchmarks, commands run, observed gaps, regressions, and final disposition.",
        );
        line(
            "- Emit one final structured eval marker: `[wave-eval] state=<satisfied|needs-more-work|blocked> targets=<n> benchmarks=<n> regressions=<n> target_ids=<csv> benchmark_ids=<csv> detail=<short-note>`.",
        );
        line(
            "- Use `satisfied` only when observed outputs or benchmark results meet the declared target, not when the code merely looks better.",
        );
    }
    if is_doc {
        line(
            "- Emit one final structured closure marker: `[wave-doc-closure] state=<closed|no-change|delta> paths=<comma-separated-paths> detail=<short-note>`.",
        );
        line(
            "- If implementation work is still landing, any early closure note is provisional. Your final closure marker must reflect the post-implementation state seen during the closure sweep.",
        );
    }
    if k.security_reviewer {
        line(
            "- You are the wave's security reviewer. Default to report-only work and route fixes to the owning agent instead of editing product code.",
        );
        line(
            "- Leave a security review report with these sections in order: `Threat Model`, `Risky Surfaces`, `Findings`, `Required Approvals`, `Requested Fixes`, and `Final Disposition`.",
        );
        line(
            "- Emit one final structured security marker: `[wave-security] state=<clear|concerns|blocked> findings=<n> approvals=<n> detail=<short-note>`.",
        );
        line(
            "- Use `clear` only when no unresolved findings or approvals remain. Use `blocked` only when the wave must stop before integration.",
        );
    }
    if k.design {
        line(if design_impl_pass {
            "- You are in the hybrid design steward's implementation follow-through pass. Keep the design packet current, implement only your explicit owned paths, and finish with both `[wave-design]` and the normal implementation proof markers."
        } else {
            "- You are the wave's design steward. Stay packet-first and docs/spec-owned unless the wave explicitly assigns more."
        });
        line(
            "- Leave one design packet with these sections in order: `Problem`, `Constraints`, `Decisions`, `Assumptions`, `Open Questions`, `Interface Impacts`, `Validation Plan`, `Implementation Handoff`.",
        );
        line(
            "- Emit one final structured design marker: `[wave-design] state=<ready-for-implementation|needs-clarification|blocked> decisions=<n> assumptions=<n> open_questions=<n> detail=<short-note>`.",
        );
        line(
            "- Use `ready-for-implementation` only when downstream implementation owners can start without unresolved design ambiguity.",
        );
        line(
            "- Use `needs-clarification` when the wave should stop for a specific question or decision before coding starts.",
        );
        if k.design_hybrid && !design_impl_pass {
            line(
                "- This wave also assigns you explicit implementation-owned files, but this first pass is still design-only. Do not claim implementation proof yet; the code-owning pass starts only after the design packet is ready.",
            );
        }
    }
    let implementation = !is_cont_qa
        && !is_doc
        && !design_packet_pass
        && !k.security_reviewer
        && (!is_cont_eval || k.cont_eval_implementation_owning);
    if implementation {
        line(
            "- Emit one final structured proof marker: `[wave-proof] completion=<contract|integrated|authoritative|live> durability=<none|ephemeral|durable> proof=<unit|integration|live> state=<met|complete|gap> detail=<short-note>`. Use `met` or `complete` when proof is satisfied; use `gap` only when proof cannot be produced.",
        );
        line(
            "- Emit one final structured documentation marker: `[wave-doc-delta] state=<none|owned|shared-plan> paths=<comma-separated-paths> detail=<short-note>`.",
        );
        if !p.components.is_empty() {
            line(
                "- Emit one final structured component marker per owned component: `[wave-component] component=<id> level=<level> state=<met|complete|gap> detail=<short-note>`. Use `met` or `complete` when proof is satisfied; use `gap` only when proof cannot be produced.",
            );
        }
        line(
            "- If the work is incomplete, keep the required proof/doc/component markers and set `state=gap` on the relevant final marker instead of narrating completion.",
        );
        line(&format!(
            "- Route unresolved architecture, integration, durability, ops, or docs issues through `{coord}`. Do not append `[wave-gap]` lines after the final implementation markers."
        ));
    }
    line(&format!(
        "- Update docs impacted by your implementation. If your work changes status, sequencing, ownership, or explicit proof expectations, update the relevant docs. If shared plan docs need changes outside your owned files, post the exact doc paths and exact delta needed for {doc_list} as a coordination record instead of leaving documentation drift for later cleanup."
    ));
    line(
        "- If the wave defines a documentation steward or other explicit owner for shared plan docs, coordinate those updates through that owner, notify them as soon as the delta is known, and stay engaged until they confirm `closed` or `no-change`. Do not treat the ownership boundary as the definition of done.",
    );
    line(
        "- In high-fanout waves, do not push to remote by default. A local Conventional Commit is okay when useful; push only when explicitly requested.",
    );
    line("- Do not leave watch or dev servers running after completion.");
    line("");
    if let Some((path, _)) = p.shared_summary {
        line(&format!("Shared summary absolute path: {}", path.absolute));
        line(&format!(
            "Shared summary repo-relative path: {}",
            path.relative
        ));
    }
    if let Some((path, _)) = p.inbox {
        line(&format!("Agent inbox absolute path: {}", path.absolute));
        line(&format!(
            "Agent inbox repo-relative path: {}",
            path.relative
        ));
    }
    line("");
    if let Some((_, text)) = p.shared_summary.filter(|(_, t)| !t.is_empty()) {
        line("Current wave shared summary:");
        line("```markdown");
        line(text);
        line("```");
        line("");
    }
    if let Some((_, text)) = p.inbox.filter(|(_, t)| !t.is_empty()) {
        line("Current agent inbox:");
        line("```markdown");
        line(text);
        line("```");
        line("");
    }
    if implementation && let Some(c) = p.exit_contract {
        line("Exit contract for this run:");
        line(&format!("- completion: {}", c.completion));
        line(&format!("- durability: {}", c.durability));
        line(&format!("- proof: {}", c.proof));
        line(&format!("- doc-impact: {}", c.doc_impact));
        line(
            "- If your landed result is weaker than this contract, mark it as a gap. Do not present package-only, in-memory, or non-authoritative work as complete when the exit contract requires more.",
        );
        line("");
    }
    if !p.component_promotions.is_empty() {
        line("Component promotions for this wave:");
        for (component, level) in p.component_promotions {
            line(&format!("- {component}: {level}"));
        }
        line("");
    }
    if !p.eval_targets.is_empty() {
        line("Eval targets for this wave:");
        if let Some(catalog) = p.benchmark_catalog_path {
            line(&format!("- Benchmark catalog: {catalog}"));
        }
        for t in p.eval_targets {
            let benchmarks = t.benchmarks.join(", ");
            if t.delegated {
                line(&format!(
                    "- {}: delegated family={} allowed-benchmarks={} objective={} threshold={}",
                    t.id,
                    t.benchmark_family.as_deref().unwrap_or(""),
                    benchmarks,
                    t.objective,
                    t.threshold
                ));
            } else {
                line(&format!(
                    "- {}: pinned benchmarks={} objective={} threshold={}",
                    t.id, benchmarks, t.objective, t.threshold
                ));
            }
        }
        line("");
    }
    let owns_components = !is_cont_qa
        && !is_doc
        && !design_packet_pass
        && (!is_cont_eval || k.cont_eval_implementation_owning);
    if owns_components && !p.components.is_empty() {
        line("Components you own in this wave:");
        for (component, level) in p.components {
            match level {
                Some(level) => line(&format!("- {component}: {level}")),
                None => line(&format!("- {component}")),
            }
        }
        line("");
    }
    if !design_packet_pass && !p.deliverables.is_empty() {
        line("Deliverables required for this agent:");
        for d in p.deliverables {
            line(&format!("- {d}"));
        }
        line("");
    }
    if !k.design && !p.design_packet_paths.is_empty() {
        line("Same-wave design packets to read before coding:");
        for d in p.design_packet_paths {
            line(&format!("- {d}"));
        }
        line("");
    }
    if implementation && !p.proof_artifacts.is_empty() {
        line("Proof artifacts required for this agent:");
        for a in p.proof_artifacts {
            let mut s = format!("- {}", a.path);
            if let Some(kind) = &a.kind {
                s.push_str(&format!(" kind={kind}"));
            }
            if !a.required_for.is_empty() {
                s.push_str(&format!(" required-for={}", a.required_for.join(",")));
            }
            line(&s);
        }
        line("");
    }
    if let Some((ids, text)) = p.skills.filter(|(ids, _)| !ids.is_empty()) {
        line("Active skill packs for this run:");
        for skill in ids {
            line(&format!("- {skill}"));
        }
        line(
            "- Treat the following skill payload as additive guidance. Repository source, standing role prompts, and ownership boundaries remain authoritative.",
        );
        line("");
        line("## Skill context");
        line("");
        line("```text");
        line(text);
        line("```");
        line("");
    }
    match p.context7 {
        Context7Scope::Absent => {}
        Context7Scope::NoBundle => {
            line("Context7 scope for this run:");
            line("- No Context7 prefetch bundle is declared for this run.");
            line(
                "- Repository docs and source remain the only planned authority for system truth.",
            );
            line(
                "- Do not broad-search third-party docs by default. If a direct Context7 tool is available in this session, use it only when an external dependency becomes truly necessary and keep the lookup narrowly scoped to that dependency.",
            );
            line("");
        }
        Context7Scope::Bundle {
            bundle,
            query,
            libraries,
            snippets,
            warning,
        } => {
            line("Context7 scope for this run:");
            line(&format!("- Bundle: {bundle}"));
            line(&format!(
                "- Query focus: {}",
                query.as_deref().unwrap_or("(derived from assigned prompt)")
            ));
            let libs = if libraries.is_empty() {
                "none".to_owned()
            } else {
                libraries.join(", ")
            };
            line(&format!("- Allowed external libraries: {libs}"));
            line(
                "- Context7 is only for external library truth. It does not override repository architecture, contracts, ownership, or source files.",
            );
            line(
                "- If a direct Context7 tool is available in this session, use it only within the bundle and query scope listed here.",
            );
            if let Some(text) = snippets {
                line("");
                line("## External reference only (Context7, non-canonical)");
                line("");
                line(
                    "The following snippets are third-party documentation retrieved for this task.",
                );
                line("They do not override repository architecture, contracts, or source files.");
                line("");
                line("```text");
                line(text);
                line("```");
                line("");
            } else if let Some(w) = warning {
                line(&format!(
                    "- Prefetched Context7 docs were not attached: {w}"
                ));
                line("");
            } else {
                line("");
            }
        }
    }
    line("Assigned implementation prompt:");
    line("```");
    line(p.resolved_prompt.trim());
    line("```");
    out.join("\n")
}
