//! Ladders (spec §7.6): the ordered value sets of exit contracts and component maturity, and
//! `meets_or_exceeds`, the one comparison every gate uses.
//!
//! Owns: the level orders and the proof-centric threshold. Must not: do I/O or know about
//! summaries; callers pass plain strings.
//!
//! Each level satisfies every lower level. An unknown actual or required value never satisfies
//! (as upstream), but an absent requirement is always met.

/// A ladder: an ordered list of levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// Ladder name, for messages (`completion`, `durability`, …).
    pub name: &'static str,
    /// Levels, lowest first.
    pub levels: &'static [&'static str],
}

/// `contract < integrated < authoritative < live`.
pub const COMPLETION: Ladder = Ladder {
    name: "completion",
    levels: &["contract", "integrated", "authoritative", "live"],
};
/// `none < ephemeral < durable`.
pub const DURABILITY: Ladder = Ladder {
    name: "durability",
    levels: &["none", "ephemeral", "durable"],
};
/// `unit < integration < live`.
pub const PROOF: Ladder = Ladder {
    name: "proof",
    levels: &["unit", "integration", "live"],
};
/// `none < owned < shared-plan` (compared with the reported `[wave-doc-delta] state`).
pub const DOC_IMPACT: Ladder = Ladder {
    name: "doc-impact",
    levels: &["none", "owned", "shared-plan"],
};
/// Component maturity levels.
pub const COMPONENT_MATURITY: Ladder = Ladder {
    name: "component maturity",
    levels: &[
        "inventoried",
        "contract-frozen",
        "repo-landed",
        "baseline-proved",
        "pilot-live",
        "qa-proved",
        "fleet-ready",
        "cutover-ready",
        "deprecation-ready",
    ],
};
/// The maturity level from which an agent is proof-centric.
pub const PROOF_CENTRIC_LEVEL: &str = "pilot-live";

impl Ladder {
    /// The rank of a level (0 = lowest), `None` when it is not on this ladder.
    pub fn rank(&self, level: &str) -> Option<usize> {
        self.levels.iter().position(|l| *l == level)
    }

    /// True when `level` is on this ladder.
    pub fn contains(&self, level: &str) -> bool {
        self.rank(level).is_some()
    }

    /// `meetsOrExceeds`: an absent or empty requirement is met; otherwise both values must be on
    /// the ladder and `actual` at or above `required`.
    pub fn meets_or_exceeds(&self, actual: Option<&str>, required: Option<&str>) -> bool {
        let Some(required) = required.filter(|r| !r.is_empty()) else {
            return true;
        };
        match (actual.and_then(|a| self.rank(a)), self.rank(required)) {
            (Some(a), Some(r)) => a >= r,
            _ => false,
        }
    }

    /// The highest of the given levels that is on the ladder.
    pub fn highest<'a>(&self, levels: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
        levels
            .into_iter()
            .filter_map(|l| self.rank(l).map(|r| (r, l)))
            .max_by_key(|(r, _)| *r)
            .map(|(_, l)| l)
    }
}

/// True when a maturity level is at or above the proof-centric threshold (`pilot-live`).
pub fn is_proof_centric_level(level: &str) -> bool {
    COMPONENT_MATURITY.meets_or_exceeds(Some(level), Some(PROOF_CENTRIC_LEVEL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_level_satisfies_all_lower_levels() {
        for ladder in [
            COMPLETION,
            DURABILITY,
            PROOF,
            DOC_IMPACT,
            COMPONENT_MATURITY,
        ] {
            for (i, actual) in ladder.levels.iter().enumerate() {
                for (j, required) in ladder.levels.iter().enumerate() {
                    assert_eq!(
                        ladder.meets_or_exceeds(Some(actual), Some(required)),
                        i >= j,
                        "{} {actual} vs {required}",
                        ladder.name
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_values_fail_and_absent_requirements_pass() {
        assert!(!COMPLETION.meets_or_exceeds(Some("bogus"), Some("contract")));
        assert!(!COMPLETION.meets_or_exceeds(Some("live"), Some("bogus")));
        assert!(!COMPLETION.meets_or_exceeds(None, Some("contract")));
        assert!(COMPLETION.meets_or_exceeds(None, None));
        assert!(COMPLETION.meets_or_exceeds(Some("bogus"), Some("")));
    }

    #[test]
    fn proof_centric_threshold_is_pilot_live() {
        assert!(!is_proof_centric_level("baseline-proved"));
        assert!(is_proof_centric_level("pilot-live"));
        assert!(is_proof_centric_level("cutover-ready"));
        assert!(!is_proof_centric_level("unknown"));
        assert_eq!(
            COMPONENT_MATURITY.highest(["repo-landed", "qa-proved", "x"]),
            Some("qa-proved")
        );
    }
}
