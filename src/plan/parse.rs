//! The wave markdown parser (spec §1.1–§1.5): text in, [`WavePlan`] out.
//!
//! Parse errors are fatal and stop at the first one, naming file:line:column and the fix;
//! they are exactly the inputs the reference grammar rejects. Things the grammar ignores but
//! that are probably mistakes (unknown settings, near-miss headings) become warnings.
//! The parser does no I/O: role prompt files are read through a [`RolePromptSource`].

use std::collections::{BTreeMap, HashMap, HashSet};

use super::config::LaneProfile;
use super::error::PlanError;
use super::executor;
use super::grammar;
use super::model::{
    Agent, AgentSpans, ComponentPromotion, Context7Config, DeployEnvironment, Diagnostic,
    EvalSelection, EvalTarget, ExitContract, Pos, ProofArtifact, RolePrompt, WavePlan,
};
use super::roles;
use super::text::{LineIndex, js_trim, offset_in, split_lines, truncate_utf16, utf16_len};

/// Where role prompt files come from: the repository, or a map in tests.
pub trait RolePromptSource {
    /// The text of a repository-relative file, or `None` when it does not exist or cannot be
    /// read as text.
    fn read_role_prompt(&self, rel_path: &str) -> Option<String>;
}

impl RolePromptSource for BTreeMap<String, String> {
    fn read_role_prompt(&self, rel_path: &str) -> Option<String> {
        self.get(rel_path).cloned()
    }
}

/// What parsing needs besides the text: the lane profile and a way to read role prompts.
#[derive(Clone, Copy)]
pub struct ParseContext<'a> {
    /// The lane the wave belongs to.
    pub lane: &'a LaneProfile,
    /// Role prompt files.
    pub role_prompts: &'a dyn RolePromptSource,
}

/// A parsed wave and the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The plan.
    pub plan: WavePlan,
    /// Non-fatal findings.
    pub warnings: Vec<Diagnostic>,
}

/// Known `### ` agent subsections.
pub const AGENT_SECTIONS: &[&str] = &[
    "Role prompts",
    "Executor",
    "Context7",
    "Skills",
    "Components",
    "Capabilities",
    "Exit contract",
    "Deliverables",
    "Proof artifacts",
    "Prompt",
];

/// Known `## ` top-level sections (besides agent headers).
pub const TOP_SECTIONS: &[&str] = &[
    "Component promotions",
    "Deploy environments",
    "Eval targets",
    "Context7 defaults",
];

/// The maturity ladder proof artifacts may name in `required-for`.
pub const MATURITY_LEVELS: &[&str] = &[
    "inventoried",
    "contract-frozen",
    "repo-landed",
    "baseline-proved",
    "pilot-live",
    "qa-proved",
    "fleet-ready",
    "cutover-ready",
    "deprecation-ready",
];

/// The wave number of a file name `wave-<n>.md` (the last path segment of `path`).
pub fn wave_number_from_path(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let digits = name.strip_prefix("wave-")?.strip_suffix(".md")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some(0);
    }
    trimmed.parse().ok()
}

/// `slugify`: lowercase, runs of non-`[a-z0-9]` → `-`, trimmed of `-`, at most 48 characters.
pub fn slugify(value: &str) -> String {
    let lower = value.to_lowercase();
    let mut out = String::new();
    let mut dash = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out.chars().take(48).collect()
}

/// True when a relative path stays inside the repository once resolved (not empty, not
/// absolute, never climbing above the root, and not resolving to a name starting with `..`).
pub fn is_repo_contained(rel: &str) -> bool {
    if rel.is_empty() || rel.starts_with('/') {
        return false;
    }
    let mut stack: Vec<&str> = Vec::new();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if stack.pop().is_none() {
                    return false;
                }
            }
            s => stack.push(s),
        }
    }
    !stack.first().is_some_and(|s| s.starts_with(".."))
}

/// `\` → `/`, leading `./` removed, trimmed.
pub fn normalize_rel(p: &str) -> String {
    let mut s = p.replace('\\', "/");
    while s.starts_with("./") {
        s = s[2..].trim_start_matches('/').to_owned();
    }
    js_trim(&s).to_owned()
}

/// A deliverable or proof artifact is owned when it equals an owned path or lies under an owned
/// directory (a path ending in `/`).
pub fn is_owned_by(path: &str, owned: &str) -> bool {
    let p = normalize_rel(path);
    let o = normalize_rel(owned);
    if p.is_empty() || o.is_empty() {
        return false;
    }
    if o.ends_with('/') {
        p.starts_with(&o)
    } else {
        p == o
    }
}

fn strip_quotes_all(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '`' | '"' | '\''))
        .collect()
}

/// Strips one wrapping pair of `"` or `'` (Context7 values).
fn clean_context7(s: &str) -> &str {
    let t = js_trim(s);
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        return js_trim(&t[1..t.len() - 1]);
    }
    if t == "\"" || t == "'" {
        return "";
    }
    t
}

/// Collapses whitespace runs to one space, trims, and cuts to `max` UTF-16 units with `…`.
pub fn compact_single_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut space = false;
    for c in s.chars() {
        if super::text::is_js_space(c) {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if utf16_len(&out) <= max {
        out
    } else {
        format!("{}…", truncate_utf16(&out, max.saturating_sub(1)))
    }
}

/// Strips one leading and one trailing quote/backtick, each optional.
fn strip_one_quote_each_end(s: &str) -> &str {
    let t = s.strip_prefix(['"', '\'', '`']).unwrap_or(s);
    t.strip_suffix(['"', '\'', '`']).unwrap_or(t)
}

/// Strips a leading and trailing quote/backtick only when both are present (eval values).
fn strip_wrapping_quotes(s: &str) -> &str {
    let t = js_trim(s);
    let mut chars = t.chars();
    let first = chars.next();
    let last = chars.next_back();
    match (first, last) {
        (Some(a), Some(b)) if matches!(a, '"' | '\'' | '`') && matches!(b, '"' | '\'' | '`') => {
            js_trim(&t[1..t.len() - 1])
        }
        _ => t,
    }
}

fn lower_id(s: &str) -> bool {
    grammar::is_lower_id(s)
}

struct Parser<'a> {
    text: &'a str,
    file: &'a str,
    idx: LineIndex,
    ctx: ParseContext<'a>,
    warnings: Vec<Diagnostic>,
}

/// A non-blank line of a section body: trimmed text and its byte offset in the source.
struct Line<'a> {
    text: &'a str,
    at: usize,
}

type R<T> = Result<T, PlanError>;

impl<'a> Parser<'a> {
    fn pos(&self, offset: usize) -> Pos {
        self.idx.pos(self.text, offset)
    }

    fn at(&self, slice: &str) -> usize {
        offset_in(self.text, slice)
    }

    fn err(&self, offset: usize, message: impl Into<String>, hint: impl Into<String>) -> PlanError {
        PlanError::parse(self.file, self.pos(offset), message, hint)
    }

    fn warn(&mut self, offset: usize, message: impl Into<String>, hint: impl Into<String>) {
        let d = Diagnostic::warning(self.file, self.pos(offset), message, hint);
        self.warnings.push(d);
    }

    /// Non-blank trimmed lines of a body.
    fn lines(&self, body: &'a str) -> Vec<Line<'a>> {
        let base = self.at(body);
        split_lines(body)
            .filter_map(|(off, line)| {
                let t = js_trim(line);
                (!t.is_empty()).then(|| Line {
                    text: t,
                    at: base + off + offset_in(line, t),
                })
            })
            .collect()
    }

    fn top_section(&mut self, heading: &str, spans: &mut BTreeMap<String, Pos>) -> Option<&'a str> {
        let m = grammar::find_top_section(self.text, heading)?;
        spans.insert(heading.to_owned(), self.pos(m.start));
        let body = js_trim(grammar::section_body(self.text, m.body_start, "##"));
        (!body.is_empty()).then_some(body)
    }

    fn sub_section(
        &self,
        section: &'a str,
        heading: &str,
        spans: &mut AgentSpans,
    ) -> Option<&'a str> {
        let m = grammar::find_sub_section(section, heading)?;
        spans
            .sections
            .insert(heading.to_owned(), self.pos(self.at(section) + m.start));
        let body = js_trim(grammar::section_body(section, m.body_start, "###"));
        (!body.is_empty()).then_some(body)
    }

    fn parse(mut self, wave: u64) -> R<Parsed> {
        let commit_message = grammar::commit_message(self.text).map(|(_, m)| m.to_owned());
        let headers = grammar::agent_headers(self.text);
        let mut agents = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let end = headers.get(i + 1).map_or(self.text.len(), |n| n.start);
            let section = self.text.get(h.end..end).unwrap_or("");
            let agent = self.agent(wave, h.start, js_trim(h.id), js_trim(h.title), section)?;
            agents.push(agent);
        }
        let mut section_spans = BTreeMap::new();
        let component_promotions =
            match self.top_section("Component promotions", &mut section_spans) {
                Some(body) => self.promotions(body)?,
                None => Vec::new(),
            };
        for agent in &mut agents {
            agent.component_targets = agent
                .components
                .iter()
                .map(|c| {
                    let target = component_promotions
                        .iter()
                        .find(|p| &p.component_id == c)
                        .map(|p| p.target_level.clone());
                    (c.clone(), target)
                })
                .collect();
        }
        let deploy_environments = match self.top_section("Deploy environments", &mut section_spans)
        {
            Some(body) => self.deploy_environments(body)?,
            None => Vec::new(),
        };
        let eval_targets = match self.top_section("Eval targets", &mut section_spans) {
            Some(body) => self.eval_targets(body)?,
            None => Vec::new(),
        };
        let context7_defaults = match self.top_section("Context7 defaults", &mut section_spans) {
            Some(body) => self.context7(body, "wave defaults")?,
            None => None,
        };
        self.warn_near_miss_top_headings();
        let lane = self.ctx.lane;
        let cont_qa_report_path = roles::report_path(
            &agents,
            &lane.roles.cont_qa_agent_id,
            roles::is_cont_qa_report_path,
        );
        let cont_eval_report_path = roles::report_path(
            &agents,
            &lane.roles.cont_eval_agent_id,
            roles::is_cont_eval_report_path,
        );
        Ok(Parsed {
            plan: WavePlan {
                wave,
                file: self.file.to_owned(),
                commit_message,
                deploy_environments,
                eval_targets,
                context7_defaults,
                component_promotions,
                agents,
                cont_qa_report_path,
                cont_eval_report_path,
                section_spans,
            },
            warnings: self.warnings,
        })
    }

    fn warn_near_miss_top_headings(&mut self) {
        let mut found = Vec::new();
        for (off, line) in split_lines(self.text) {
            if let Some(rest) = line.strip_prefix("## ") {
                let heading = js_trim(rest);
                for known in TOP_SECTIONS {
                    if heading != *known && heading.eq_ignore_ascii_case(known) {
                        found.push((off, heading.to_owned(), *known));
                    }
                }
            }
        }
        for (off, heading, known) in found {
            self.warn(
                off,
                format!("`## {heading}` is not recognized and is ignored"),
                format!("headings are case-sensitive: write `## {known}`"),
            );
        }
    }

    fn agent(
        &mut self,
        wave: u64,
        header_at: usize,
        id: &str,
        title: &str,
        section: &'a str,
    ) -> R<Agent> {
        let mut spans = AgentSpans {
            header: self.pos(header_at),
            ..AgentSpans::default()
        };
        let role_paths = match self.sub_section(section, "Role prompts", &mut spans) {
            Some(body) => self.role_prompt_paths(body, id)?,
            None => Vec::new(),
        };
        let context7 = match self.sub_section(section, "Context7", &mut spans) {
            Some(body) => self.context7(body, &format!("agent {id}"))?,
            None => None,
        };
        let exit_contract = match self.sub_section(section, "Exit contract", &mut spans) {
            Some(body) => self.exit_contract(body, id)?,
            None => None,
        };
        let executor = match self.sub_section(section, "Executor", &mut spans) {
            Some(body) => Some(self.executor(body, id)?),
            None => None,
        };
        let components = match self.sub_section(section, "Components", &mut spans) {
            Some(body) => {
                let list = self.component_list(body, &format!("agent {id} components"))?;
                spans.components = list.iter().map(|(at, _)| self.pos(*at)).collect();
                list.into_iter().map(|(_, c)| c).collect()
            }
            None => Vec::new(),
        };
        let mut capabilities: Vec<String> =
            match self.sub_section(section, "Capabilities", &mut spans) {
                Some(body) => self
                    .component_list(body, &format!("agent {id} capabilities"))?
                    .into_iter()
                    .map(|(_, c)| c)
                    .collect(),
                None => Vec::new(),
            };
        let lane = self.ctx.lane;
        let has_cap =
            |caps: &[String], name: &str| caps.iter().any(|c| js_trim(c).to_lowercase() == name);
        if role_paths
            .iter()
            .any(|(_, p)| roles::is_design_role_prompt(p, lane))
            && !has_cap(&capabilities, "design")
        {
            capabilities.push("design".to_owned());
        }
        if role_paths
            .iter()
            .any(|(_, p)| roles::is_security_role_prompt(p, lane))
            && !has_cap(&capabilities, "security-review")
        {
            capabilities.push("security-review".to_owned());
        }
        let skills = match self.sub_section(section, "Skills", &mut spans) {
            Some(body) => self.skills(body, id)?,
            None => Vec::new(),
        };
        let deliverables = match self.sub_section(section, "Deliverables", &mut spans) {
            Some(body) => self.path_list(body, &format!("agent {id} deliverables"))?,
            None => Vec::new(),
        };
        spans.deliverables = deliverables.iter().map(|(at, _)| self.pos(*at)).collect();
        let proof = match self.sub_section(section, "Proof artifacts", &mut spans) {
            Some(body) => self.proof_artifacts(body, id)?,
            None => Vec::new(),
        };
        spans.proof_artifacts = proof.iter().map(|(at, _)| self.pos(*at)).collect();

        let prompt_heading = grammar::find_sub_section(section, "Prompt");
        let Some(prompt_heading) = prompt_heading else {
            return Err(self.err(
                header_at,
                format!("agent {id} has no \"### Prompt\" section"),
                "add a `### Prompt` subsection with a fenced ```text block holding the agent's prompt",
            ));
        };
        let prompt_at = self.at(section) + prompt_heading.start;
        spans
            .sections
            .insert("Prompt".to_owned(), self.pos(prompt_at));
        let prompt_body = js_trim(grammar::section_body(
            section,
            prompt_heading.body_start,
            "###",
        ));
        let Some(fenced) = grammar::fenced_block(prompt_body) else {
            let hint = if grammar::section_body(section, prompt_heading.body_start, "###")
                .contains("```")
            {
                "a line starting with `### ` inside the fence ends the Prompt section early; use `####` \
                 for headings inside the prompt, and close the fence with ``` on its own line"
            } else {
                "put the prompt in a fenced block: a line ```text, the prompt, then a line ```"
            };
            return Err(self.err(
                prompt_at,
                format!("agent {id}: missing fenced prompt block"),
                hint,
            ));
        };
        let overlay = js_trim(fenced);

        let mut role_prompts = Vec::new();
        for (at, path) in &role_paths {
            let standing = self.standing_prompt(*at, path, id)?;
            role_prompts.push(RolePrompt {
                path: path.clone(),
                standing_prompt: standing,
                pos: self.pos(*at),
            });
        }
        let prompt = role_prompts
            .iter()
            .map(|r| r.standing_prompt.as_str())
            .chain(std::iter::once(overlay))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let overlay_at = self.at(overlay);
        let owned = grammar::owned_paths(overlay);
        spans.owned_paths = owned
            .iter()
            .map(|(off, _)| self.pos(overlay_at + off))
            .collect();
        let owned_paths: Vec<String> = owned.into_iter().map(|(_, p)| p).collect();

        for (at, d) in &deliverables {
            if normalize_rel(d).ends_with('/') {
                return Err(self.err(
                    *at,
                    format!("deliverable \"{d}\" for agent {id} must be a file path, not a directory path"),
                    "name a file; directories belong in the prompt's File ownership list",
                ));
            }
            if !owned_paths.iter().any(|o| is_owned_by(d, o)) {
                return Err(self.err(
                    *at,
                    format!("deliverable \"{d}\" for agent {id} must stay within the agent's declared file ownership"),
                    "list the file (or a directory ending in `/` that contains it) under `File ownership` in the prompt",
                ));
            }
        }
        for (at, a) in &proof {
            if !owned_paths.iter().any(|o| is_owned_by(&a.path, o)) {
                return Err(self.err(
                    *at,
                    format!(
                        "proof artifact \"{}\" for agent {id} must stay within the agent's declared file ownership",
                        a.path
                    ),
                    "list the file (or a directory ending in `/` that contains it) under `File ownership` in the prompt",
                ));
            }
        }
        self.warn_unknown_subsections(section, id);

        Ok(Agent {
            agent_id: id.to_owned(),
            title: title.to_owned(),
            slug: slugify(&format!("{wave}-{id}")),
            prompt,
            prompt_overlay: overlay.to_owned(),
            role_prompts,
            context7,
            exit_contract,
            executor,
            components,
            component_targets: Vec::new(),
            capabilities,
            skills,
            deliverables: deliverables.into_iter().map(|(_, d)| d).collect(),
            proof_artifacts: proof.into_iter().map(|(_, a)| a).collect(),
            owned_paths,
            spans,
        })
    }

    fn warn_unknown_subsections(&mut self, section: &'a str, id: &str) {
        let base = self.at(section);
        let found: Vec<(usize, String)> = grammar::sub_headings(section)
            .into_iter()
            .filter(|(_, h)| !AGENT_SECTIONS.contains(h))
            .map(|(at, h)| (base + at, h.to_owned()))
            .collect();
        for (at, heading) in found {
            let hint = match AGENT_SECTIONS
                .iter()
                .find(|k| k.eq_ignore_ascii_case(&heading))
            {
                Some(k) => format!("headings are case-sensitive: write `### {k}`"),
                None => format!(
                    "known agent subsections: {}; inside a prompt fence use `####` for headings",
                    AGENT_SECTIONS.join(", ")
                ),
            };
            self.warn(
                at,
                format!("agent {id}: unknown subsection `### {heading}` is ignored"),
                hint,
            );
        }
    }

    fn role_prompt_paths(&self, body: &'a str, id: &str) -> R<Vec<(usize, String)>> {
        let mut out: Vec<(usize, String)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let Some(c) = grammar::path_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!(
                        "malformed role prompt entry \"{}\" for agent {id}",
                        line.text
                    ),
                    "write one `- docs/agents/<role>.md` bullet per line",
                ));
            };
            let path = js_trim(&strip_quotes_all(c)).to_owned();
            if path.is_empty() {
                return Err(self.err(
                    line.at,
                    format!("empty role prompt entry for agent {id}"),
                    "name a role prompt file, e.g. `- docs/agents/wave-cont-qa-role.md`",
                ));
            }
            if seen.insert(path.clone()) {
                out.push((line.at, path));
            }
        }
        Ok(out)
    }

    fn standing_prompt(&self, at: usize, path: &str, id: &str) -> R<String> {
        let dir = self.ctx.lane.roles.role_prompt_dir.replace('\\', "/");
        let dir = dir.trim_end_matches('/');
        let allowed = is_repo_contained(path)
            && path.replace('\\', "/").starts_with(&format!("{dir}/"))
            && path.to_ascii_lowercase().ends_with(".md");
        if !allowed {
            return Err(self.err(
                at,
                format!("role prompt path {path} for agent {id} must stay within {dir}/*.md"),
                format!("role prompts are markdown files under {dir}/"),
            ));
        }
        let Some(content) = self.ctx.role_prompts.read_role_prompt(path) else {
            return Err(self.err(
                at,
                format!("missing role prompt {path} for agent {id}"),
                "create the file or fix the path",
            ));
        };
        let heading = "## Standing prompt";
        let found = content.match_indices(heading).find_map(|(i, _)| {
            let rest = &content[i + heading.len()..];
            let nl = rest.len() - rest.trim_start_matches(['\r', '\n']).len();
            (nl > 0).then_some(i + heading.len() + nl)
        });
        let Some(after) = found else {
            return Err(self.err(
                at,
                format!("missing \"## Standing prompt\" section in {path} required by agent {id}"),
                format!("add a `## Standing prompt` heading followed by a fenced block to {path}"),
            ));
        };
        match grammar::fenced_block(&content[after..]) {
            Some(inner) => Ok(js_trim(inner).to_owned()),
            None => Err(self.err(
                at,
                format!("role prompt {path} required by agent {id}: missing fenced prompt block"),
                format!(
                    "put the standing prompt of {path} in a fenced block after `## Standing prompt`"
                ),
            )),
        }
    }

    fn settings(&self, body: &'a str, label: &str, dots: bool) -> R<Vec<(usize, String, String)>> {
        let mut out: Vec<(usize, String, String)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for line in self.lines(body) {
            let Some((key, value)) = grammar::kv_bullet(line.text, dots) else {
                return Err(self.err(
                    line.at,
                    format!("malformed {label} setting \"{}\"", line.text),
                    "write one `- key: value` bullet per line",
                ));
            };
            let (key, value) = (key.to_owned(), value.to_owned());
            match index.get(&key).and_then(|i| out.get_mut(*i)) {
                Some(slot) => {
                    slot.0 = line.at;
                    slot.2 = value;
                }
                None => {
                    index.insert(key.clone(), out.len());
                    out.push((line.at, key, value));
                }
            }
        }
        Ok(out)
    }

    fn context7(&mut self, body: &'a str, label: &str) -> R<Option<Context7Config>> {
        let settings = self.settings(body, &format!("Context7 ({label})"), false)?;
        let mut bundle = String::new();
        let mut query = String::new();
        for (at, key, value) in &settings {
            match key.as_str() {
                "bundle" => bundle = clean_context7(value).to_owned(),
                "query" => query = compact_single_line(clean_context7(value), 280),
                other => self.warn(
                    *at,
                    format!("unknown Context7 setting `{other}` ({label}) is ignored"),
                    "Context7 sections take `- bundle: <id>` and `- query: <text>`",
                ),
            }
        }
        if bundle.is_empty() && query.is_empty() {
            return Ok(None);
        }
        Ok(Some(Context7Config {
            bundle: (!bundle.is_empty()).then_some(bundle),
            query: (!query.is_empty()).then_some(query),
        }))
    }

    fn exit_contract(&mut self, body: &'a str, id: &str) -> R<Option<ExitContract>> {
        let settings = self.settings(body, &format!("Exit contract (agent {id})"), false)?;
        let get = |k: &str| {
            settings
                .iter()
                .find(|(_, key, _)| key == k)
                .map(|(_, _, v)| js_trim(v).to_owned())
                .filter(|v| !v.is_empty())
        };
        for (at, key, _) in &settings {
            if ![
                "completion",
                "durability",
                "proof",
                "doc-impact",
                "docImpact",
            ]
            .contains(&key.as_str())
            {
                self.warn(
                    *at,
                    format!("unknown Exit contract key `{key}` (agent {id}) is ignored"),
                    "exit contracts take completion, durability, proof and doc-impact",
                );
            }
        }
        let doc_impact = get("docImpact").or_else(|| get("doc-impact"));
        let contract = ExitContract {
            completion: get("completion"),
            durability: get("durability"),
            proof: get("proof"),
            doc_impact,
        };
        if contract.completion.is_none()
            && contract.durability.is_none()
            && contract.proof.is_none()
            && contract.doc_impact.is_none()
        {
            return Ok(None);
        }
        Ok(Some(contract))
    }

    fn executor(&self, body: &'a str, id: &str) -> R<super::model::ExecutorConfig> {
        let settings = self.settings(body, &format!("Executor (agent {id})"), true)?;
        let pairs: Vec<(String, String)> = settings
            .iter()
            .map(|(_, k, v)| (k.clone(), executor::clean_value(v).to_owned()))
            .collect();
        executor::normalize(&pairs).map_err(|e| {
            let at = settings
                .iter()
                .find(|(_, k, _)| *k == e.key)
                .map_or(self.at(body), |(at, _, _)| *at);
            self.err(at, format!("agent {id}: {}", e.message), e.hint)
        })
    }

    fn component_list(&self, body: &'a str, label: &str) -> R<Vec<(usize, String)>> {
        let mut out: Vec<(usize, String)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for line in self.lines(body) {
            let Some(value) = grammar::component_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!("malformed entry \"{}\" in {label}", line.text),
                    "write one `- <id>` bullet per line; ids are lowercase letters, digits, `.`, `_` and `-`",
                ));
            };
            if !lower_id(value) {
                return Err(self.err(
                    line.at,
                    format!("invalid id \"{value}\" in {label}"),
                    "ids are lowercase and start with a letter or digit, e.g. `wave-parser`",
                ));
            }
            if !seen.insert(value) {
                return Err(self.err(
                    line.at,
                    format!("duplicate \"{value}\" in {label}"),
                    "list each id once",
                ));
            }
            out.push((line.at, value.to_owned()));
        }
        Ok(out)
    }

    fn skills(&self, body: &'a str, id: &str) -> R<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let Some(c) = grammar::path_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!(
                        "malformed skill entry \"{}\" in agent {id} skills",
                        line.text
                    ),
                    "write one `- <skill-id>` bullet per line; move prose out of the section",
                ));
            };
            let skill = js_trim(&strip_quotes_all(c)).to_lowercase();
            if !lower_id(&skill) {
                return Err(self.err(
                    line.at,
                    format!("invalid skill id \"{skill}\" in agent {id} skills"),
                    "skill ids are lowercase letters, digits, `.`, `_` and `-`",
                ));
            }
            if !seen.insert(skill.clone()) {
                return Err(self.err(
                    line.at,
                    format!("duplicate skill \"{skill}\" in agent {id} skills"),
                    "list each skill once",
                ));
            }
            out.push(skill);
        }
        Ok(out)
    }

    fn path_list(&self, body: &'a str, label: &str) -> R<Vec<(usize, String)>> {
        let mut out: Vec<(usize, String)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let Some(c) = grammar::path_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!("malformed path entry \"{}\" in {label}", line.text),
                    "write one `- <path>` bullet per line",
                ));
            };
            let path = js_trim(&strip_quotes_all(c)).to_owned();
            if !is_repo_contained(&path) {
                return Err(self.err(
                    line.at,
                    format!("path \"{path}\" in {label} must stay within the repo root"),
                    "use a repository-relative path without leading `/` or `..`",
                ));
            }
            if !seen.insert(path.clone()) {
                return Err(self.err(
                    line.at,
                    format!("duplicate path \"{path}\" in {label}"),
                    "list each path once",
                ));
            }
            out.push((line.at, path));
        }
        Ok(out)
    }

    fn proof_artifacts(&mut self, body: &'a str, id: &str) -> R<Vec<(usize, ProofArtifact)>> {
        let label = format!("agent {id} proof artifacts");
        let mut out: Vec<(usize, ProofArtifact)> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let Some(c) = grammar::path_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!(
                        "malformed proof artifact entry \"{}\" in {label}",
                        line.text
                    ),
                    "write `- <path>` or `- path: <p> | kind: <k> | required-for: <level>`",
                ));
            };
            let raw = js_trim(c);
            let starts_with_path_key = {
                let lower = raw.get(..4).map(str::to_ascii_lowercase);
                lower.as_deref() == Some("path")
                    && raw[4..]
                        .trim_start_matches(super::text::is_js_space)
                        .starts_with(':')
            };
            let artifact = if !raw.contains('|') && !starts_with_path_key {
                let path = js_trim(&strip_quotes_all(raw)).to_owned();
                if !is_repo_contained(&path) {
                    return Err(self.err(
                        line.at,
                        format!("path \"{path}\" in {label} must stay within the repo root"),
                        "use a repository-relative path without leading `/` or `..`",
                    ));
                }
                ProofArtifact {
                    path,
                    kind: None,
                    required_for: Vec::new(),
                }
            } else {
                let mut fields: BTreeMap<String, String> = BTreeMap::new();
                for segment in raw.split('|') {
                    let pair = js_trim(segment);
                    if pair.is_empty() {
                        continue;
                    }
                    let sep = pair.find(':').unwrap_or(0);
                    let key = js_trim(&pair[..sep]).to_lowercase();
                    let value = if sep == 0 {
                        ""
                    } else {
                        strip_one_quote_each_end(js_trim(&pair[sep + 1..]))
                    };
                    if sep == 0 || key.is_empty() || value.is_empty() {
                        return Err(self.err(
                            line.at,
                            format!("malformed proof artifact field \"{pair}\" in {label}"),
                            "fields are `key: value`, separated by `|`",
                        ));
                    }
                    fields.insert(key, value.to_owned());
                }
                for key in fields.keys() {
                    if !["path", "kind", "required-for"].contains(&key.as_str()) {
                        self.warn(
                            line.at,
                            format!("unknown proof artifact field `{key}` in {label} is ignored"),
                            "proof artifact fields are path, kind and required-for",
                        );
                    }
                }
                let path = js_trim(fields.get("path").map_or("", String::as_str)).to_owned();
                if path.is_empty() {
                    return Err(self.err(
                        line.at,
                        format!("proof artifact entry in {label} must include path"),
                        "add `path: <file>` to the entry",
                    ));
                }
                if !is_repo_contained(&path) {
                    return Err(self.err(
                        line.at,
                        format!("path \"{path}\" in {label} must stay within the repo root"),
                        "use a repository-relative path without leading `/` or `..`",
                    ));
                }
                let mut required_for = Vec::new();
                for level in fields
                    .get("required-for")
                    .map_or("", String::as_str)
                    .split(',')
                {
                    let level = js_trim(level);
                    if level.is_empty() {
                        continue;
                    }
                    if !MATURITY_LEVELS.contains(&level) {
                        return Err(self.err(
                            line.at,
                            format!("invalid maturity level \"{level}\" in {label}"),
                            format!("use one of: {}", MATURITY_LEVELS.join(", ")),
                        ));
                    }
                    required_for.push(level.to_owned());
                }
                let kind = fields
                    .get("kind")
                    .map(|k| js_trim(k).to_owned())
                    .filter(|k| !k.is_empty());
                ProofArtifact {
                    path,
                    kind,
                    required_for,
                }
            };
            if normalize_rel(&artifact.path).ends_with('/') {
                return Err(self.err(
                    line.at,
                    format!("proof artifact \"{}\" in {label} must be a file path, not a directory path", artifact.path),
                    "name the file the agent writes as proof",
                ));
            }
            if !seen.insert(artifact.path.clone()) {
                return Err(self.err(
                    line.at,
                    format!("duplicate proof artifact \"{}\" in {label}", artifact.path),
                    "list each artifact once",
                ));
            }
            out.push((line.at, artifact));
        }
        Ok(out)
    }

    fn promotions(&self, body: &'a str) -> R<Vec<ComponentPromotion>> {
        let label = "wave component promotions";
        let mut out: Vec<ComponentPromotion> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for line in self.lines(body) {
            let Some((id, level)) = grammar::promotion_bullet(line.text) else {
                return Err(self.err(
                    line.at,
                    format!("malformed component promotion \"{}\"", line.text),
                    "write `- <component-id>: <level>`, one per line",
                ));
            };
            if !lower_id(id) {
                return Err(self.err(
                    line.at,
                    format!("invalid component id \"{id}\" in {label}"),
                    "component ids are lowercase and start with a letter or digit",
                ));
            }
            if !seen.insert(id) {
                return Err(self.err(
                    line.at,
                    format!("duplicate component promotion \"{id}\""),
                    "promote each component once per wave",
                ));
            }
            out.push(ComponentPromotion {
                component_id: id.to_owned(),
                target_level: level.to_owned(),
                pos: self.pos(line.at),
            });
        }
        Ok(out)
    }

    fn deploy_environments(&self, body: &'a str) -> R<Vec<DeployEnvironment>> {
        let mut out: Vec<DeployEnvironment> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let Some(c) = grammar::DEPLOY_BULLET.captures(line.text) else {
                return Err(self.err(
                    line.at,
                    format!("malformed deploy environment \"{}\"", line.text),
                    "write `- <id>: <kind> [default] [(notes)]`",
                ));
            };
            let id = js_trim(c.get(1).map_or("", |m| m.as_str())).to_lowercase();
            let kind = js_trim(c.get(2).map_or("", |m| m.as_str())).to_lowercase();
            if !seen.insert(id.clone()) {
                return Err(self.err(
                    line.at,
                    format!("duplicate deploy environment \"{id}\""),
                    "list each environment once",
                ));
            }
            let notes = c
                .get(4)
                .map(|m| js_trim(m.as_str()).to_owned())
                .filter(|s| !s.is_empty());
            out.push(DeployEnvironment {
                id,
                kind,
                is_default: c.get(3).is_some(),
                notes,
            });
        }
        if !out.iter().any(|e| e.is_default)
            && let Some(first) = out.first_mut()
        {
            first.is_default = true;
        }
        Ok(out)
    }

    fn eval_targets(&mut self, body: &'a str) -> R<Vec<EvalTarget>> {
        let mut out: Vec<EvalTarget> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for line in self.lines(body) {
            let index = out.len();
            let bad = |msg: String, hint: &str| self.err(line.at, msg, hint);
            let Some(c) = grammar::path_bullet(line.text) else {
                return Err(bad(
                    format!("malformed eval target \"{}\"", line.text),
                    "write `- id: <id> | selection: pinned|delegated | … | objective: … | threshold: …`",
                ));
            };
            let mut fields: BTreeMap<String, String> = BTreeMap::new();
            for entry in c.split('|') {
                let pair = js_trim(entry);
                if pair.is_empty() {
                    continue;
                }
                let sep = pair.find(':').unwrap_or(0);
                let key = js_trim(&pair[..sep]).to_lowercase();
                let value = if sep == 0 {
                    ""
                } else {
                    strip_wrapping_quotes(&pair[sep + 1..])
                };
                if sep == 0 || key.is_empty() || value.is_empty() {
                    return Err(bad(
                        format!("malformed eval target field \"{pair}\""),
                        "fields are `key: value`, separated by `|`",
                    ));
                }
                fields.insert(key, value.to_owned());
            }
            let field = |k: &str| js_trim(fields.get(k).map_or("", String::as_str)).to_owned();
            let id = field("id").to_lowercase();
            if !lower_id(&id) {
                return Err(bad(
                    format!("evalTargets[{index}].id must be a lowercase id (got \"{id}\")"),
                    "add `id: <lowercase-id>` to the target",
                ));
            }
            let selection = match field("selection").to_lowercase().as_str() {
                "pinned" => EvalSelection::Pinned,
                "delegated" => EvalSelection::Delegated,
                _ => {
                    return Err(bad(
                        format!("evalTargets[{index}].selection must be one of: pinned, delegated"),
                        "add `selection: pinned` (with benchmarks) or `selection: delegated` (with benchmark-family)",
                    ));
                }
            };
            let family = field("benchmark-family").to_lowercase();
            let benchmark_family = if fields
                .get("benchmark-family")
                .is_some_and(|v| !v.is_empty())
            {
                if !lower_id(&family) {
                    return Err(bad(
                        format!("evalTargets[{index}].benchmark-family must be a lowercase id"),
                        "name a benchmark family from the benchmark catalog",
                    ));
                }
                Some(family)
            } else {
                None
            };
            let mut benchmarks = Vec::new();
            for b in field("benchmarks").split(',') {
                let b = js_trim(b).to_lowercase();
                if b.is_empty() {
                    continue;
                }
                if !lower_id(&b) {
                    return Err(bad(
                        format!(
                            "evalTargets[{index}].benchmarks entry \"{b}\" must be a lowercase id"
                        ),
                        "separate benchmark ids with commas",
                    ));
                }
                benchmarks.push(b);
            }
            let objective = field("objective");
            let threshold = field("threshold");
            if objective.is_empty() {
                return Err(bad(
                    format!("evalTargets[{index}].objective is required"),
                    "add `objective: <text>`",
                ));
            }
            if threshold.is_empty() {
                return Err(bad(
                    format!("evalTargets[{index}].threshold is required"),
                    "add `threshold: <text>`",
                ));
            }
            if selection == EvalSelection::Delegated && benchmark_family.is_none() {
                return Err(bad(
                    format!(
                        "evalTargets[{index}] must declare benchmark-family when selection=delegated"
                    ),
                    "add `benchmark-family: <family>`",
                ));
            }
            if selection == EvalSelection::Pinned && benchmarks.is_empty() {
                return Err(bad(
                    format!("evalTargets[{index}] must declare benchmarks when selection=pinned"),
                    "add `benchmarks: <id>,<id>`",
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(bad(
                    format!("duplicate eval target \"{id}\""),
                    "give each target its own id",
                ));
            }
            out.push(EvalTarget {
                id,
                selection,
                benchmark_family,
                benchmarks,
                objective,
                threshold,
                pos: self.pos(line.at),
            });
            for key in fields.keys() {
                if ![
                    "id",
                    "selection",
                    "benchmark-family",
                    "benchmarks",
                    "objective",
                    "threshold",
                ]
                .contains(&key.as_str())
                {
                    self.warn(
                        line.at,
                        format!("unknown eval target field `{key}` is ignored"),
                        "eval target fields are id, selection, benchmark-family, benchmarks, objective and threshold",
                    );
                }
            }
        }
        Ok(out)
    }
}

/// Parses one wave file. `rel_path` is the repository-relative path (its file name gives the
/// wave number); role prompts are read through `ctx.role_prompts`.
pub fn parse_wave(text: &str, rel_path: &str, ctx: &ParseContext<'_>) -> Result<Parsed, PlanError> {
    let Some(wave) = wave_number_from_path(rel_path) else {
        return Err(PlanError::parse(
            rel_path,
            Pos::START,
            format!(
                "invalid wave filename: {}",
                rel_path.rsplit('/').next().unwrap_or(rel_path)
            ),
            "name wave files `wave-<number>.md`, e.g. `wave-3.md`",
        ));
    };
    let parser = Parser {
        text,
        file: rel_path,
        idx: LineIndex::new(text),
        ctx: *ctx,
        warnings: Vec::new(),
    };
    parser.parse(wave)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::config::WaveConfig;

    fn lane() -> LaneProfile {
        WaveConfig::defaults().lane_profile(None).unwrap()
    }

    fn parse(text: &str) -> Result<Parsed, PlanError> {
        let lane = lane();
        let prompts: BTreeMap<String, String> = BTreeMap::new();
        let ctx = ParseContext {
            lane: &lane,
            role_prompts: &prompts,
        };
        parse_wave(text, "docs/plans/waves/wave-3.md", &ctx)
    }

    const PROMPT: &str = "### Prompt\n```text\nFile ownership:\n- src/a.rs\n```\n";

    #[test]
    fn ignored_settings_and_near_miss_headings_are_warnings() {
        let text = format!(
            "## Eval Targets\n\n## Agent A1: T\n\n### Context7\n\n- bundle: x\n- bundel: y\n\n### Exit Contract\n\n- completion: live\n\n{PROMPT}"
        );
        let parsed = parse(&text).unwrap();
        let w: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
        let all = w.join("\n");
        assert!(
            all.contains(
                "docs/plans/waves/wave-3.md:8:1: warning: unknown Context7 setting `bundel`"
            ),
            "{all}"
        );
        assert!(
            all.contains("unknown subsection `### Exit Contract`"),
            "{all}"
        );
        assert!(all.contains("write `### Exit contract`"), "{all}");
        assert!(all.contains("write `## Eval targets`"), "{all}");
        assert_eq!(parsed.plan.agents[0].exit_contract, None);
    }

    #[test]
    fn parse_errors_point_at_the_offending_line_and_column() {
        let text = format!(
            "## Agent A1: T\n\n### Executor\n\n- id: codex\n  - budget.minutes: soon\n\n{PROMPT}"
        );
        let err = parse(&text).unwrap_err();
        let d = err.to_diagnostic().unwrap();
        assert_eq!((d.line, d.column), (6, 3));
        assert!(d.message.contains("budget.minutes"), "{d}");
        assert!(d.hint.contains("positive whole number"), "{d}");
    }

    #[test]
    fn many_headers_without_a_colon_are_not_agents() {
        let text = "## Agent x\n".repeat(20_000);
        let parsed = parse(&text).unwrap();
        assert!(parsed.plan.agents.is_empty());
        let dup = format!("## Agent A1: T\n### Components\n- a\n- b\n- a\n{PROMPT}");
        let err = parse(&dup).unwrap_err().to_string();
        assert!(err.contains("wave-3.md:5:1: duplicate \"a\""), "{err}");
    }

    #[test]
    fn wave_numbers_come_from_the_file_name() {
        assert_eq!(
            wave_number_from_path("docs/plans/waves/wave-007.md"),
            Some(7)
        );
        assert_eq!(wave_number_from_path("wave-1.md.bak"), None);
        assert_eq!(wave_number_from_path("wave-.md"), None);
        assert_eq!(wave_number_from_path("dir/Wave-1.md"), None);
        let lane = lane();
        let prompts: BTreeMap<String, String> = BTreeMap::new();
        let ctx = ParseContext {
            lane: &lane,
            role_prompts: &prompts,
        };
        assert!(parse_wave("", "notes.md", &ctx).is_err());
    }

    #[test]
    fn paths_are_checked_for_repository_containment() {
        assert!(is_repo_contained("a/b"));
        assert!(is_repo_contained("a/../b"));
        assert!(is_repo_contained("."));
        assert!(!is_repo_contained(""));
        assert!(!is_repo_contained("/etc"));
        assert!(!is_repo_contained("a/../../b"));
        assert!(!is_repo_contained("..foo/bar"));
    }

    #[test]
    fn slugs_and_compaction() {
        assert_eq!(slugify("3-A1"), "3-a1");
        assert_eq!(slugify("12-Agent Ünïcode!"), "12-agent-n-code");
        assert_eq!(compact_single_line("  a \n\t b ", 280), "a b");
        let long = "x".repeat(300);
        let c = compact_single_line(&long, 280);
        assert_eq!(utf16_len(&c), 280);
        assert!(c.ends_with('…'));
    }
}
