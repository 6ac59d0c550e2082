//! The file-system edge of the plan layer: finding and reading a lane's wave files, the config,
//! role prompts, the component matrix and the benchmark catalog, then handing the text to the
//! pure parser and validator. Reads only; never writes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::config::{CONFIG_FILE, LaneProfile, WaveConfig};
use super::error::PlanError;
use super::matrix::{BenchmarkCatalog, ComponentMatrix, parse_catalog, parse_matrix};
use super::model::{Diagnostic, Severity, WavePlan};
use super::parse::{ParseContext, Parsed, RolePromptSource, parse_wave, wave_number_from_path};
use super::validate::{ValidateContext, validate_wave};

/// Reads role prompts from a repository checkout.
#[derive(Debug, Clone, Copy)]
pub struct FsRolePrompts<'a> {
    /// Repository root.
    pub root: &'a Path,
}

impl RolePromptSource for FsRolePrompts<'_> {
    fn read_role_prompt(&self, rel_path: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel_path)).ok()
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, PlanError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PlanError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Reads `wave.config.json` at the repository root (missing = defaults).
pub fn load_config(repo_root: &Path) -> Result<WaveConfig, PlanError> {
    let text = read_optional(&repo_root.join(CONFIG_FILE))?;
    WaveConfig::parse(text.as_deref(), CONFIG_FILE)
}

/// Everything validation reads besides the plan, loaded once per lane.
#[derive(Debug, Clone)]
pub struct LaneInputs {
    /// The lane profile.
    pub lane: LaneProfile,
    /// The component matrix, or why it could not be loaded.
    pub matrix: Result<ComponentMatrix, String>,
    /// The benchmark catalog, or why it could not be loaded.
    pub catalog: Result<BenchmarkCatalog, String>,
    /// Waves recorded as completed (none are known to the plan layer yet).
    pub completed_waves: BTreeSet<u64>,
}

impl LaneInputs {
    /// Loads the matrix and catalog the lane points at.
    pub fn load(repo_root: &Path, lane: LaneProfile) -> Result<Self, PlanError> {
        let matrix_path = lane.paths.component_cutover_matrix_json_path.clone();
        let matrix_text = read_optional(&repo_root.join(&matrix_path))?;
        let catalog_path = lane.paths.benchmark_catalog_path.clone();
        let catalog_text = read_optional(&repo_root.join(&catalog_path))?;
        Ok(Self {
            matrix: parse_matrix(matrix_text.as_deref(), &matrix_path),
            catalog: parse_catalog(catalog_text.as_deref(), &catalog_path),
            lane,
            completed_waves: BTreeSet::new(),
        })
    }

    /// The validation context over these inputs.
    pub fn validate_context(&self) -> ValidateContext<'_> {
        ValidateContext {
            lane: &self.lane,
            matrix: &self.matrix,
            catalog: &self.catalog,
            completed_waves: &self.completed_waves,
        }
    }
}

/// One wave file of a lane, by number and repository-relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveFile {
    /// Wave number.
    pub wave: u64,
    /// Repository-relative path.
    pub rel_path: String,
}

/// Lists a lane's wave files (`wave-<n>.md`, sorted by number). The preferred directory is the
/// lane's `wavesDir`; when it is missing but the legacy `<docsDir>/waves` exists, that is used.
pub fn discover_waves(repo_root: &Path, lane: &LaneProfile) -> Result<Vec<WaveFile>, PlanError> {
    let mut dir_rel = lane.waves_dir.clone();
    if !repo_root.join(&dir_rel).is_dir() {
        let legacy = format!("{}/waves", lane.docs_dir);
        if repo_root.join(&legacy).is_dir() {
            dir_rel = legacy;
        } else {
            return Err(PlanError::WavesDirMissing {
                dir: repo_root.join(&lane.waves_dir),
            });
        }
    }
    let dir = repo_root.join(&dir_rel);
    let entries = std::fs::read_dir(&dir).map_err(|source| PlanError::Io {
        path: dir.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PlanError::Io {
            path: dir.clone(),
            source,
        })?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Some(wave) = wave_number_from_path(&name) {
            files.push(WaveFile {
                wave,
                rel_path: format!("{dir_rel}/{name}"),
            });
        }
    }
    if files.is_empty() {
        return Err(PlanError::NoWaveFiles { dir });
    }
    files.sort_by(|a, b| {
        a.wave
            .cmp(&b.wave)
            .then_with(|| a.rel_path.cmp(&b.rel_path))
    });
    Ok(files)
}

/// Reads and parses one wave file (path relative to the repository root, or absolute inside it).
pub fn load_wave_file(
    repo_root: &Path,
    path: &Path,
    lane: &LaneProfile,
) -> Result<Parsed, PlanError> {
    let rel = repo_relative(repo_root, path);
    let abs = repo_root.join(&rel);
    let text = std::fs::read_to_string(&abs).map_err(|source| PlanError::Io {
        path: abs.clone(),
        source,
    })?;
    let source = FsRolePrompts { root: repo_root };
    let ctx = ParseContext {
        lane,
        role_prompts: &source,
    };
    parse_wave(&text, &rel, &ctx)
}

/// `path` as a `/`-separated path relative to the repository root (unchanged when it is
/// relative already or outside the root).
pub fn repo_relative(repo_root: &Path, path: &Path) -> String {
    let rel: PathBuf = if path.is_absolute() {
        path.strip_prefix(repo_root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    } else {
        path.to_path_buf()
    };
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// Every plan of a lane, parsed and validated.
#[derive(Debug, Clone)]
pub struct LanePlans {
    /// The project config.
    pub config: WaveConfig,
    /// Lane profile, matrix and catalog.
    pub inputs: LaneInputs,
    /// Plans that parsed, in wave order.
    pub waves: Vec<WavePlan>,
    /// Every finding: config warnings, parse errors, parse warnings, validation errors, in
    /// file order.
    pub findings: Vec<Diagnostic>,
}

impl LanePlans {
    /// The error findings.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.findings
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// True when every plan parsed and validated.
    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The plans when all are valid, else every finding as one error.
    pub fn into_valid(self) -> Result<Vec<WavePlan>, PlanError> {
        if self.is_valid() {
            Ok(self.waves)
        } else {
            Err(PlanError::Invalid(self.findings))
        }
    }
}

/// Loads, parses and validates every wave of a lane (`None` = the default lane). Parse and
/// validation errors are collected in [`LanePlans::findings`]; only set-up problems (config,
/// missing waves directory, unreadable files) are returned as `Err`.
pub fn load_lane(repo_root: &Path, lane: Option<&str>) -> Result<LanePlans, PlanError> {
    let config = load_config(repo_root)?;
    let profile = config.lane_profile(lane)?;
    let files = discover_waves(repo_root, &profile)?;
    let inputs = LaneInputs::load(repo_root, profile)?;
    let mut findings: Vec<Diagnostic> = config.warnings.clone();
    let mut waves = Vec::new();
    for file in &files {
        match load_wave_file(repo_root, Path::new(&file.rel_path), &inputs.lane) {
            Ok(parsed) => {
                let mut file_findings = parsed.warnings;
                file_findings.extend(validate_wave(&parsed.plan, &inputs.validate_context()));
                file_findings.sort_by_key(Diagnostic::pos);
                findings.extend(file_findings);
                waves.push(parsed.plan);
            }
            Err(err @ PlanError::Parse { .. }) => {
                if let Some(d) = err.to_diagnostic() {
                    findings.push(d);
                }
            }
            Err(other) => return Err(other),
        }
    }
    Ok(LanePlans {
        config,
        inputs,
        waves,
        findings,
    })
}
