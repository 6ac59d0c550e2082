//! Result envelopes (spec §5.1): the immutable record of what one agent delivered in one
//! attempt, plus the `_meta` block every artifact written here carries (§5.3).
//!
//! Owns: the envelope's typed header (agent, wave, attempt, exit code, role, proof, deliverables,
//! proof artifacts), validation, and the `_meta` stamp. Role sections, gaps, facts and any field
//! this version does not know are kept verbatim in [`ResultEnvelope::rest`] and written back.
//! Must not: read files, read the clock (`generatedAt` is a parameter) or decide verdicts.

use serde_json::{Map, Value};

use super::control::{text_of, uint_of};

/// The envelope schema version this module reads and writes.
pub const SCHEMA_VERSION: u64 = 2;

/// The class of an artifact, for `_meta.artifactClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArtifactClass {
    /// An append-only canonical log (coordination, control plane, dependencies).
    CanonicalEvent,
    /// An immutable canonical snapshot (result envelopes, trace outcomes).
    CanonicalSnapshot,
    /// A cache derived from canonical state; may be deleted and rebuilt.
    DerivedCache,
    /// A view for people (dashboards, boards).
    HumanProjection,
}

impl ArtifactClass {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactClass::CanonicalEvent => "canonical-event",
            ArtifactClass::CanonicalSnapshot => "canonical-snapshot",
            ArtifactClass::DerivedCache => "derived-cache",
            ArtifactClass::HumanProjection => "human-projection",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "canonical-event" => Some(ArtifactClass::CanonicalEvent),
            "canonical-snapshot" => Some(ArtifactClass::CanonicalSnapshot),
            "derived-cache" | "cached-derived" => Some(ArtifactClass::DerivedCache),
            "human-projection" => Some(ArtifactClass::HumanProjection),
            _ => None,
        }
    }
}

/// The `_meta` block: what kind of artifact this is, its schema, when and by what it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// Artifact class.
    pub artifact_class: ArtifactClass,
    /// Schema version of the artifact.
    pub schema_version: u64,
    /// When it was generated (wire timestamp).
    pub generated_at: String,
    /// What generated it (`wave-runner/<version>`, a writer name, …).
    pub source: String,
}

impl Meta {
    /// The wire form.
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("artifactClass".into(), self.artifact_class.as_str().into());
        obj.insert("schemaVersion".into(), self.schema_version.into());
        obj.insert("generatedAt".into(), self.generated_at.clone().into());
        obj.insert("source".into(), self.source.clone().into());
        Value::Object(obj)
    }

    /// Reads a `_meta` block; `None` when absent or not understood (readers tolerate both).
    pub fn from_value(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let class =
            text_of(obj.get("artifactClass")).or_else(|| text_of(obj.get("surfaceClass")))?;
        Some(Meta {
            artifact_class: ArtifactClass::parse(&class)?,
            schema_version: obj.get("schemaVersion").and_then(uint_of).unwrap_or(0),
            generated_at: text_of(obj.get("generatedAt")).unwrap_or_default(),
            source: text_of(obj.get("source")).unwrap_or_default(),
        })
    }
}

/// Proof state of an envelope (`proof.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofState {
    /// Proof met.
    Satisfied,
    /// Proof has a gap.
    Partial,
    /// Proof failed.
    Failed,
    /// No proof applies (also anything unrecognized).
    NotApplicable,
}

impl ProofState {
    /// Parses the wire name; unknown values are `not_applicable`, as upstream reads them.
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "satisfied" => ProofState::Satisfied,
            "partial" => ProofState::Partial,
            "failed" => ProofState::Failed,
            _ => ProofState::NotApplicable,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofState::Satisfied => "satisfied",
            ProofState::Partial => "partial",
            ProofState::Failed => "failed",
            ProofState::NotApplicable => "not_applicable",
        }
    }
}

/// A file the agent had to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliverable {
    /// Repository-relative path.
    pub path: String,
    /// Whether it existed when the envelope was written.
    pub exists: bool,
    /// SHA-256 of its content, if known.
    pub sha256: Option<String>,
}

/// Why an envelope is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not a JSON object.
    #[error("a result envelope must be a JSON object")]
    NotAnObject,
    /// Not JSON at all.
    #[error("result envelope is not valid JSON ({message}); rewrite it from the agent's summary")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// Unsupported schema version.
    #[error("unsupported result envelope schemaVersion {found}; this runner reads version 2")]
    SchemaVersion {
        /// The version found (0 when missing).
        found: u64,
    },
    /// No agent id.
    #[error("result envelope has no agentId; add the agent's id")]
    MissingAgent,
    /// Agent id differs from the file's agent.
    #[error("result envelope agentId `{found}` does not match the expected agent `{expected}`")]
    AgentMismatch {
        /// The agent the envelope was read for.
        expected: String,
        /// The agent it names.
        found: String,
    },
    /// No `proof` object.
    #[error("result envelope is missing its `proof` object")]
    MissingProof,
    /// The role's section is missing.
    #[error("result envelope role `{role}` needs a `{section}` object")]
    MissingSection {
        /// The inferred role.
        role: String,
        /// The section it needs.
        section: &'static str,
    },
}

/// Role names and the section each requires.
const ROLE_SECTIONS: [(&str, &str); 8] = [
    ("design", "design"),
    ("implementation", "implementation"),
    ("integration", "integration"),
    ("documentation", "documentation"),
    ("cont-qa", "contQa"),
    ("cont-eval", "contEval"),
    ("security", "security"),
    ("deploy", "deploy"),
];

/// One agent's result for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultEnvelope {
    /// Agent id.
    pub agent_id: String,
    /// Wave number, if recorded.
    pub wave_number: Option<u64>,
    /// Attempt number, if recorded.
    pub attempt: Option<u64>,
    /// When the agent finished.
    pub completed_at: Option<String>,
    /// Process exit code, if recorded.
    pub exit_code: Option<i64>,
    /// The role (`implementation`, `cont-qa`, …), explicit or inferred from the sections present.
    pub role: Option<String>,
    /// `proof.state`.
    pub proof_state: ProofState,
    /// Deliverables.
    pub deliverables: Vec<Deliverable>,
    /// Every other field (role sections, gaps, facts, `_meta`, unknown fields), verbatim, in order.
    pub rest: Map<String, Value>,
}

impl ResultEnvelope {
    /// Parses envelope text, validating it for `expected_agent` when given.
    pub fn parse(text: &str, expected_agent: Option<&str>) -> Result<Self, EnvelopeError> {
        let value: Value = serde_json::from_str(text).map_err(|e| EnvelopeError::Json {
            message: e.to_string(),
        })?;
        Self::from_value(value, expected_agent)
    }

    /// Validates and reads an envelope value (§5.1 validation).
    pub fn from_value(value: Value, expected_agent: Option<&str>) -> Result<Self, EnvelopeError> {
        let Value::Object(obj) = value else {
            return Err(EnvelopeError::NotAnObject);
        };
        let version = obj.get("schemaVersion").and_then(uint_of).unwrap_or(0);
        if version != SCHEMA_VERSION {
            return Err(EnvelopeError::SchemaVersion { found: version });
        }
        let agent_id = text_of(obj.get("agentId")).ok_or(EnvelopeError::MissingAgent)?;
        if let Some(expected) = expected_agent.filter(|e| *e != agent_id) {
            return Err(EnvelopeError::AgentMismatch {
                expected: expected.to_owned(),
                found: agent_id,
            });
        }
        let proof = obj
            .get("proof")
            .and_then(Value::as_object)
            .ok_or(EnvelopeError::MissingProof)?;
        let proof_state = ProofState::parse(&text_of(proof.get("state")).unwrap_or_default());
        let role = text_of(obj.get("role"))
            .filter(|r| ROLE_SECTIONS.iter().any(|(name, _)| name == r))
            .or_else(|| infer_role(&obj));
        if let Some(role) = &role
            && let Some((_, section)) = ROLE_SECTIONS.iter().find(|(name, _)| name == role)
            && !obj.get(*section).is_some_and(Value::is_object)
        {
            return Err(EnvelopeError::MissingSection {
                role: role.clone(),
                section,
            });
        }
        let deliverables = obj
            .get("deliverables")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|d| {
                        Some(Deliverable {
                            path: text_of(d.get("path"))?,
                            exists: d.get("exists") == Some(&Value::Bool(true)),
                            sha256: text_of(d.get("sha256")),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let exit_code = obj.get("exitCode").and_then(Value::as_i64);
        let wave_number = obj.get("waveNumber").and_then(uint_of);
        let attempt = obj.get("attempt").and_then(uint_of);
        let completed_at = text_of(obj.get("completedAt"));
        let rest = obj
            .into_iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "schemaVersion"
                        | "agentId"
                        | "waveNumber"
                        | "attempt"
                        | "completedAt"
                        | "exitCode"
                        | "role"
                        | "deliverables"
                )
            })
            .collect();
        Ok(ResultEnvelope {
            agent_id,
            wave_number,
            attempt,
            completed_at,
            exit_code,
            role,
            proof_state,
            deliverables,
            rest,
        })
    }

    /// The wire form, with `_meta` replaced by `meta` when given.
    pub fn to_value(&self, meta: Option<&Meta>) -> Value {
        let mut obj = Map::new();
        obj.insert("schemaVersion".into(), SCHEMA_VERSION.into());
        obj.insert("agentId".into(), self.agent_id.clone().into());
        obj.insert(
            "waveNumber".into(),
            self.wave_number.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "attempt".into(),
            self.attempt.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "completedAt".into(),
            self.completed_at.clone().map_or(Value::Null, Value::from),
        );
        obj.insert(
            "exitCode".into(),
            self.exit_code.map_or(Value::Null, Value::from),
        );
        obj.insert(
            "role".into(),
            self.role.clone().map_or(Value::Null, Value::from),
        );
        let deliverables = self
            .deliverables
            .iter()
            .map(|d| {
                let mut o = Map::new();
                o.insert("path".into(), d.path.clone().into());
                o.insert("exists".into(), d.exists.into());
                o.insert(
                    "sha256".into(),
                    d.sha256.clone().map_or(Value::Null, Value::from),
                );
                Value::Object(o)
            })
            .collect();
        obj.insert("deliverables".into(), Value::Array(deliverables));
        for (k, v) in &self.rest {
            if k != "_meta" || meta.is_none() {
                obj.insert(k.clone(), v.clone());
            }
        }
        if let Some(meta) = meta {
            obj.insert("_meta".into(), meta.to_value());
        }
        Value::Object(obj)
    }

    /// The `_meta` block, if the envelope carries one this version understands.
    pub fn meta(&self) -> Option<Meta> {
        self.rest.get("_meta").and_then(Meta::from_value)
    }

    /// True when every deliverable existed and proof was satisfied or not applicable.
    pub fn proof_met(&self) -> bool {
        matches!(
            self.proof_state,
            ProofState::Satisfied | ProofState::NotApplicable
        ) && self.deliverables.iter().all(|d| d.exists)
    }
}

/// Role from the sections present, in upstream's precedence (§5.1).
fn infer_role(obj: &Map<String, Value>) -> Option<String> {
    let has = |key: &str| obj.get(key).is_some_and(|v| v.is_object());
    let role = if has("integration") {
        "integration"
    } else if has("design") {
        "design"
    } else if has("documentation") {
        "documentation"
    } else if has("contEval") {
        "cont-eval"
    } else if has("security") {
        "security"
    } else if has("contQa") {
        "cont-qa"
    } else if has("deploy") {
        "deploy"
    } else if has("implementation") {
        "implementation"
    } else {
        return None;
    };
    Some(role.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "schemaVersion": 2, "agentId": "A1", "waveNumber": 0, "attempt": 1,
            "completedAt": "2026-01-01T00:00:00.000Z", "exitCode": 0,
            "proof": {"state": "satisfied", "completion": "contract"},
            "deliverables": [{"path": "src/a.rs", "exists": true, "sha256": null}],
            "implementation": {"docDelta": {"state": "none"}, "components": []},
            "futureField": [1, 2]
        })
    }

    #[test]
    fn reads_and_infers_role_keeping_unknown_fields() {
        let env = ResultEnvelope::from_value(sample(), Some("A1")).expect("valid");
        assert_eq!(env.role.as_deref(), Some("implementation"));
        assert_eq!(env.proof_state, ProofState::Satisfied);
        assert!(env.proof_met());
        assert_eq!(env.rest.get("futureField"), Some(&json!([1, 2])));
        let meta = Meta {
            artifact_class: ArtifactClass::CanonicalSnapshot,
            schema_version: 2,
            generated_at: "2026-01-01T00:00:01.000Z".into(),
            source: "wave-runner".into(),
        };
        let written = env.to_value(Some(&meta));
        assert_eq!(written["_meta"]["artifactClass"], "canonical-snapshot");
        assert_eq!(written["futureField"], json!([1, 2]));
        let again = ResultEnvelope::from_value(written, None).expect("valid");
        assert_eq!(again.meta(), Some(meta));
    }

    #[test]
    fn rejects_invalid_envelopes_with_a_reason() {
        let mut v = sample();
        v["schemaVersion"] = json!(1);
        assert_eq!(
            ResultEnvelope::from_value(v, None),
            Err(EnvelopeError::SchemaVersion { found: 1 })
        );
        assert!(matches!(
            ResultEnvelope::from_value(sample(), Some("A2")),
            Err(EnvelopeError::AgentMismatch { .. })
        ));
        let mut v = sample();
        v["role"] = json!("cont-qa");
        assert!(matches!(
            ResultEnvelope::from_value(v, None),
            Err(EnvelopeError::MissingSection {
                section: "contQa",
                ..
            })
        ));
        let mut v = sample();
        v.as_object_mut().map(|o| o.remove("proof"));
        assert_eq!(
            ResultEnvelope::from_value(v, None),
            Err(EnvelopeError::MissingProof)
        );
        assert!(matches!(
            ResultEnvelope::parse("{", None),
            Err(EnvelopeError::Json { .. })
        ));
    }

    #[test]
    fn partial_proof_or_missing_deliverable_is_not_met() {
        let mut v = sample();
        v["proof"]["state"] = json!("partial");
        assert!(
            !ResultEnvelope::from_value(v, None)
                .expect("valid")
                .proof_met()
        );
        let mut v = sample();
        v["deliverables"][0]["exists"] = json!(false);
        assert!(
            !ResultEnvelope::from_value(v, None)
                .expect("valid")
                .proof_met()
        );
    }
}
