//! The reducer's view of a wave's agents: ids in plan order, titles, capabilities and which ids
//! hold the closure roles. Built from the plan by the caller; [`Roster::scan_wave_markdown`] reads
//! just these facts from wave markdown (agent headings and `### Capabilities` bullets) for callers
//! that do not need a validated plan.

pub use crate::engine::prompt::RoleIds;

/// One agent of the wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterAgent {
    /// Agent id.
    pub id: String,
    /// Title from the heading.
    pub title: String,
    /// Capabilities it advertises.
    pub capabilities: Vec<String>,
}

/// The agents of one wave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// Agents in plan order.
    pub agents: Vec<RosterAgent>,
    /// Closure role ids.
    pub roles: RoleIds,
    /// `capabilityRouting.preferredAgents`: capability → agent ids in preference order.
    pub preferred_agents: Vec<(String, Vec<String>)>,
}

impl Roster {
    /// True when the id is one of the wave's agents.
    pub fn has(&self, id: &str) -> bool {
        self.agents.iter().any(|a| a.id == id)
    }

    /// True for closure-role agents (cont-EVAL, integration, documentation, cont-QA).
    pub fn is_closure_role(&self, id: &str) -> bool {
        let r = &self.roles;
        [&r.cont_eval, &r.integration, &r.documentation, &r.cont_qa]
            .iter()
            .any(|x| x.as_str() == id)
    }

    /// Reads agent headings (`## Agent <id>: <title>`) and their `### Capabilities` bullets.
    pub fn scan_wave_markdown(text: &str, roles: RoleIds) -> Self {
        let mut agents: Vec<RosterAgent> = Vec::new();
        let mut in_capabilities = false;
        let mut in_fence = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with("```") {
                in_fence = !in_fence;
                continue;
            }
            if in_fence {
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix("## ") {
                in_capabilities = false;
                if let Some(head) = rest.trim().strip_prefix("Agent ") {
                    let (id, title) = head.split_once(':').unwrap_or((head, ""));
                    let id = id.trim();
                    if !id.is_empty() && !agents.iter().any(|a| a.id == id) {
                        agents.push(RosterAgent {
                            id: id.to_owned(),
                            title: title.trim().to_owned(),
                            capabilities: Vec::new(),
                        });
                    }
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix("### ") {
                in_capabilities = rest.trim().eq_ignore_ascii_case("capabilities");
                continue;
            }
            if in_capabilities
                && let Some(item) = trimmed.strip_prefix("- ")
                && let Some(agent) = agents.last_mut()
            {
                let cap = item.trim().to_ascii_lowercase();
                if !cap.is_empty() && !agent.capabilities.contains(&cap) {
                    agent.capabilities.push(cap);
                }
            }
        }
        Roster {
            agents,
            roles,
            preferred_agents: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_agents_and_capabilities_outside_fences() {
        let md = "# Wave 0\n\n## Agent A0: cont-QA\n\n### Prompt\n```text\n## Agent X: not real\n- nope\n```\n\
                  ## Agent A1: Parser\n\n### Capabilities\n\n- Parsing\n- parsing\n\n### Prompt\n- ignored\n";
        let roster = Roster::scan_wave_markdown(md, RoleIds::default());
        let ids: Vec<_> = roster.agents.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["A0", "A1"]);
        assert_eq!(roster.agents[1].title, "Parser");
        assert_eq!(roster.agents[1].capabilities, ["parsing"]);
        assert!(roster.is_closure_role("A0") && !roster.is_closure_role("A1"));
    }
}
