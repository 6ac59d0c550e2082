//! Store selection: `--store <spec>` / `WAVE_STORE`, already captured in [`Settings::store`].

use std::path::{Path, PathBuf};

use super::git::{GitBranchStore, GitSpec};
use super::legacy::{LegacyUpstream, WithLegacy};
use super::outbox::OutboxStore;
use super::{DirStore, EventStore, StoreError};
use crate::settings::Settings;

/// The spec used when none is given.
pub const DEFAULT_SPEC: &str = "dir:.wave/state";

/// The variable naming an outbox directory: the store's appends go there while reads see the
/// configured store and the outbox together ([`OutboxStore`]).
pub const OUTBOX_VAR: &str = "WAVE_OUTBOX";

/// The forms a spec may take, for messages.
pub const ACCEPTED_SPECS: &str = "`dir:<path>` (a directory; relative paths resolve against the repository root; default `dir:.wave/state`) or `git:<remote-url>[#<branch>]` (a state branch, default branch `wave-state`)";

/// A parsed store spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `dir:<path>`: a [`DirStore`] at `path` (relative to the repository root unless absolute).
    Dir(PathBuf),
    /// `git:<remote-url>[#<branch>]`: a [`GitBranchStore`] on that branch of the remote.
    Git(GitSpec),
}

impl StoreSpec {
    /// Parses a spec such as `dir:.wave/state`.
    pub fn parse(spec: &str) -> Result<Self, StoreError> {
        let unknown = || StoreError::UnknownSpec {
            spec: spec.to_owned(),
            accepted: ACCEPTED_SPECS,
        };
        let (scheme, rest) = spec.split_once(':').ok_or_else(unknown)?;
        match scheme {
            "dir" if rest.trim().is_empty() => Err(StoreError::EmptySpecPath {
                spec: spec.to_owned(),
            }),
            "dir" => Ok(StoreSpec::Dir(PathBuf::from(rest))),
            "git" => {
                GitSpec::parse(rest)
                    .map(StoreSpec::Git)
                    .map_err(|source| StoreError::Branch {
                        store: "(--store / WAVE_STORE)".to_owned(),
                        source,
                    })
            }
            _ => Err(unknown()),
        }
    }

    /// The spec from settings, or the default.
    pub fn from_settings(settings: &Settings) -> Result<Self, StoreError> {
        Self::parse(settings.store.as_deref().unwrap_or(DEFAULT_SPEC))
    }

    /// Resolves relative locations against the repository root.
    pub fn resolve(self, repo_root: &Path) -> Self {
        match self {
            StoreSpec::Dir(path) if path.is_relative() => StoreSpec::Dir(repo_root.join(path)),
            absolute => absolute,
        }
    }
}

/// Opens the store the settings name, with the repository's upstream state (if any) merged in
/// read-only. Opening creates nothing; the first append creates what it needs.
pub fn open_store(settings: &Settings) -> Result<Box<dyn EventStore>, StoreError> {
    open_store_with_legacy(settings, LegacyUpstream::for_repo(&settings.repo_root))
}

/// Opens the store the settings name with the given upstream state merged in read-only (for
/// callers that know where the lane's upstream directories are).
pub fn open_store_with_legacy(
    settings: &Settings,
    legacy: LegacyUpstream,
) -> Result<Box<dyn EventStore>, StoreError> {
    let inner: Box<dyn EventStore> =
        match StoreSpec::from_settings(settings)?.resolve(&settings.repo_root) {
            StoreSpec::Dir(path) => Box::new(DirStore::new(path)),
            StoreSpec::Git(spec) => {
                let store = format!("git:{}#{}", spec.shown_url(), spec.branch);
                let store = GitBranchStore::for_settings(spec, settings)
                    .map_err(|source| StoreError::Branch { store, source })?;
                Box::new(store)
            }
        };
    // `WAVE_OUTBOX=<dir>`: appends go to that directory, reads see both (docs/ci.md).
    let inner = match settings
        .env
        .get(OUTBOX_VAR)
        .filter(|v| !v.trim().is_empty())
    {
        Some(dir) => {
            let dir = settings.repo_root.join(dir);
            Box::new(OutboxStore::new(inner, DirStore::new(dir))) as Box<dyn EventStore>
        }
        None => inner,
    };
    Ok(Box::new(WithLegacy::new(inner, legacy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::EnvSnapshot;

    #[test]
    fn parses_dir_specs_and_resolves_relative_paths() {
        let root = Path::new("/repo");
        assert_eq!(
            StoreSpec::parse("dir:.wave/state")
                .map(|s| s.resolve(root))
                .ok(),
            Some(StoreSpec::Dir(PathBuf::from("/repo/.wave/state")))
        );
        assert_eq!(
            StoreSpec::parse("dir:/abs/state")
                .map(|s| s.resolve(root))
                .ok(),
            Some(StoreSpec::Dir(PathBuf::from("/abs/state")))
        );
    }

    #[test]
    fn unknown_schemes_name_the_accepted_forms() {
        for spec in [".wave/state", "s3:bucket"] {
            let err = StoreSpec::parse(spec).expect_err("rejected");
            let text = err.to_string();
            assert!(text.contains(spec) && text.contains("dir:<path>"), "{text}");
        }
        assert!(matches!(
            StoreSpec::parse("dir:"),
            Err(StoreError::EmptySpecPath { .. })
        ));
    }

    #[test]
    fn settings_select_the_store_with_the_default_when_unset() {
        let env = EnvSnapshot::from_pairs([("WAVE_STORE", "dir:custom")]);
        let settings = Settings::resolve(Some(PathBuf::from("/r")), None, env);
        assert_eq!(
            StoreSpec::from_settings(&settings)
                .map(|s| s.resolve(&settings.repo_root))
                .ok(),
            Some(StoreSpec::Dir(PathBuf::from("/r/custom")))
        );
        let settings = Settings::resolve(Some(PathBuf::from("/r")), None, EnvSnapshot::default());
        let store = open_store(&settings).expect("opens");
        assert!(
            store.describe().starts_with("dir:/r/.wave/state"),
            "{}",
            store.describe()
        );
    }
}
