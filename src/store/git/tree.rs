//! Trees of the state branch, built from in-memory blobs: reading a path, writing one blob into
//! a copy of a tree, merging a local tree onto a newer remote tree, and describing what changed.
//!
//! Must not: touch the network, refs or a work tree. Everything here works on objects only.

use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};

/// File mode of a regular blob in a tree.
const BLOB_MODE: i32 = 0o100_644;
/// File mode of a subtree.
const TREE_MODE: i32 = 0o040_000;

/// The bytes of the blob at `path` (with `/` separators) in `tree`, `None` when absent.
pub(super) fn read_blob(
    repo: &Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Option<Vec<u8>>, git2::Error> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if entry.kind() != Some(ObjectType::Blob) {
        return Ok(None);
    }
    Ok(Some(repo.find_blob(entry.id())?.content().to_vec()))
}

/// The subtree at `path` in `tree`, `None` when absent or not a tree.
pub(super) fn subtree<'r>(
    repo: &'r Repository,
    tree: &Tree<'_>,
    path: &str,
) -> Result<Option<Tree<'r>>, git2::Error> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if entry.kind() != Some(ObjectType::Tree) {
        return Ok(None);
    }
    repo.find_tree(entry.id()).map(Some)
}

/// Entries of a tree as (name, is a tree), in the tree's order.
pub(super) fn entries(tree: &Tree<'_>) -> Vec<(String, bool)> {
    tree.iter()
        .filter_map(|e| {
            let name = e.name()?.to_owned();
            Some((name, e.kind() == Some(ObjectType::Tree)))
        })
        .collect()
}

/// A copy of `base` (or of an empty tree) with `blob` at `path`; returns the new tree's id.
pub(super) fn put_blob(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    path: &str,
    blob: Oid,
) -> Result<Oid, git2::Error> {
    set_blob(repo, base, path, Some(blob))
}

/// A copy of `base` (or of an empty tree) with `blob` at `path`, or without anything at `path`
/// when `blob` is `None` (directories left empty disappear); returns the new tree's id.
pub(super) fn set_blob(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    path: &str,
    blob: Option<Oid>,
) -> Result<Oid, git2::Error> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    put_parts(repo, base, &parts, blob)
}

/// The id of the blob at `path` in `tree`, `None` when absent or not a blob.
pub(super) fn blob_id(tree: &Tree<'_>, path: &str) -> Option<Oid> {
    tree.get_path(Path::new(path))
        .ok()
        .filter(|e| e.kind() == Some(ObjectType::Blob))
        .map(|e| e.id())
}

fn put_parts(
    repo: &Repository,
    base: Option<&Tree<'_>>,
    parts: &[&str],
    blob: Option<Oid>,
) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(base)?;
    match parts {
        [] => return Err(git2::Error::from_str("empty path in the state tree")),
        [name] => match blob {
            Some(blob) => {
                builder.insert(name, blob, BLOB_MODE)?;
            }
            None if builder.get(name)?.is_some() => builder.remove(name)?,
            None => {}
        },
        [name, rest @ ..] => {
            let sub = match base.and_then(|t| t.get_name(name)) {
                Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                    Some(repo.find_tree(entry.id())?)
                }
                _ => None,
            };
            if sub.is_none() && blob.is_none() {
                return builder.write();
            }
            let oid = put_parts(repo, sub.as_ref(), rest, blob)?;
            if repo.find_tree(oid)?.is_empty() {
                if builder.get(name)?.is_some() {
                    builder.remove(name)?;
                }
            } else {
                builder.insert(name, oid, TREE_MODE)?;
            }
        }
    }
    builder.write()
}

/// A file whose local and remote versions disagree in a way the merge cannot reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeConflict {
    /// The file's path in the tree.
    pub path: String,
    /// What was kept.
    pub resolution: &'static str,
}

/// Merges the `local` tree onto the `remote` tree and returns the merged tree's id.
///
/// Files are per writer and append-only, so the merge is a union: a file on one side only is
/// kept; of two versions where one extends the other, the longer is kept; two logs that
/// diverged (one writer name used in two places) keep the remote text followed by the local
/// lines it lacks; two different result envelopes keep the remote one. Nothing local that the
/// remote lacks is dropped, except a conflicting envelope, which is reported.
pub(super) fn merge_trees(
    repo: &Repository,
    local: &Tree<'_>,
    remote: &Tree<'_>,
    prefix: &str,
    conflicts: &mut Vec<MergeConflict>,
) -> Result<Oid, git2::Error> {
    if local.id() == remote.id() {
        return Ok(remote.id());
    }
    let mut builder = repo.treebuilder(Some(remote))?;
    for entry in local.iter() {
        let Some(name) = entry.name() else { continue };
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let Some(theirs) = remote.get_name(name) else {
            builder.insert(name, entry.id(), entry.filemode())?;
            continue;
        };
        if theirs.id() == entry.id() {
            continue;
        }
        match (entry.kind(), theirs.kind()) {
            (Some(ObjectType::Tree), Some(ObjectType::Tree)) => {
                let ours = repo.find_tree(entry.id())?;
                let other = repo.find_tree(theirs.id())?;
                let oid = merge_trees(repo, &ours, &other, &path, conflicts)?;
                builder.insert(name, oid, TREE_MODE)?;
            }
            (Some(ObjectType::Blob), Some(ObjectType::Blob)) => {
                let ours = repo.find_blob(entry.id())?;
                let other = repo.find_blob(theirs.id())?;
                let merged = merge_blob(ours.content(), other.content(), &path, conflicts);
                if let Some(bytes) = merged {
                    let oid = repo.blob(&bytes)?;
                    builder.insert(name, oid, BLOB_MODE)?;
                }
            }
            _ => conflicts.push(MergeConflict {
                path,
                resolution: "kept the remote entry (a file on one side, a directory on the other)",
            }),
        }
    }
    builder.write()
}

/// The merged bytes of two versions of a file, `None` to keep the remote version as it is.
fn merge_blob(
    local: &[u8],
    remote: &[u8],
    path: &str,
    conflicts: &mut Vec<MergeConflict>,
) -> Option<Vec<u8>> {
    if remote.starts_with(local) {
        return None;
    }
    if local.starts_with(remote) {
        return Some(local.to_vec());
    }
    if !path.ends_with(".jsonl") {
        conflicts.push(MergeConflict {
            path: path.to_owned(),
            resolution: "kept the remote result envelope; the local one differed",
        });
        return None;
    }
    conflicts.push(MergeConflict {
        path: path.to_owned(),
        resolution: "the log diverged (one writer name used in two places): kept the remote lines, then the local lines the remote lacks",
    });
    let remote_lines: std::collections::HashSet<&[u8]> = remote
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = remote.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for line in local.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if !remote_lines.contains(line) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    Some(out)
}

/// One file that differs between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// Its path.
    pub path: String,
    /// Lines added (for logs), 0 for envelopes.
    pub new_lines: usize,
}

/// The number of lines (newlines) in `bytes`.
pub(super) fn line_count(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// The files that differ between `old` (or an empty tree) and `new`.
pub(super) fn changes(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<Change>, git2::Error> {
    let diff = repo.diff_tree_to_tree(old, Some(new), None)?;
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let Some(path) = delta.new_file().path().and_then(Path::to_str) else {
            continue;
        };
        let count = |oid: Oid| -> Result<usize, git2::Error> {
            if oid.is_zero() {
                return Ok(0);
            }
            Ok(line_count(repo.find_blob(oid)?.content()))
        };
        let new_lines = if path.ends_with(".jsonl") {
            count(delta.new_file().id())?.saturating_sub(count(delta.old_file().id())?)
        } else {
            0
        };
        out.push(Change {
            path: path.to_owned(),
            new_lines,
        });
    }
    Ok(out)
}

/// A commit message naming which writer appended what: a summary line, then one line per file.
pub(super) fn describe(changes: &[Change]) -> String {
    let mut lines = Vec::new();
    let mut records = 0usize;
    let mut envelopes = 0usize;
    let mut writers = std::collections::BTreeSet::new();
    for change in changes {
        if change.path == super::FORMAT_FILE {
            lines.push(format!("store format marker {}", change.path));
            continue;
        }
        let (dir, file) = change.path.rsplit_once('/').unwrap_or(("", &change.path));
        if let Some(writer) = file.strip_suffix(".jsonl") {
            records += change.new_lines;
            writers.insert(writer.to_owned());
            lines.push(format!(
                "{writer}: +{} record{} in {dir}",
                change.new_lines,
                plural(change.new_lines)
            ));
        } else {
            envelopes += 1;
            lines.push(format!("result envelope {}", change.path));
        }
    }
    let mut summary = format!(
        "wave-state: {records} record{} from {}",
        plural(records),
        match writers.len() {
            1 => writers.iter().next().cloned().unwrap_or_default(),
            n => format!("{n} writers"),
        }
    );
    if envelopes > 0 {
        summary.push_str(&format!(
            ", {envelopes} result envelope{}",
            plural(envelopes)
        ));
    }
    if writers.is_empty() {
        summary = format!(
            "wave-state: {envelopes} result envelope{}",
            plural(envelopes)
        );
    }
    format!("{summary}\n\n{}\n", lines.join("\n"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_merge_keeps_the_longer_version_and_unions_diverged_logs() {
        let mut conflicts = Vec::new();
        assert_eq!(
            merge_blob(b"a\n", b"a\nb\n", "x.jsonl", &mut conflicts),
            None
        );
        assert_eq!(
            merge_blob(b"a\nb\n", b"a\n", "x.jsonl", &mut conflicts),
            Some(b"a\nb\n".to_vec())
        );
        assert!(conflicts.is_empty());
        assert_eq!(
            merge_blob(b"a\nc\n", b"a\nb\n", "x.jsonl", &mut conflicts),
            Some(b"a\nb\nc\n".to_vec())
        );
        assert_eq!(conflicts.len(), 1);
        assert_eq!(
            merge_blob(b"{1}", b"{2}", "r/A1.json", &mut conflicts),
            None
        );
        assert_eq!(conflicts.len(), 2);
    }

    #[test]
    fn a_blob_set_to_none_is_removed_with_the_directories_it_leaves_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init_bare(dir.path()).expect("repository");
        let a = repo.blob(b"a\n").expect("blob");
        let b = repo.blob(b"b\n").expect("blob");
        let one = put_blob(&repo, None, "x/y/a.jsonl", a).expect("put");
        let one = repo.find_tree(one).expect("tree");
        let two = put_blob(&repo, Some(&one), "x/b.jsonl", b).expect("put");
        let two = repo.find_tree(two).expect("tree");
        assert_eq!(blob_id(&two, "x/y/a.jsonl"), Some(a));
        let without = set_blob(&repo, Some(&two), "x/y/a.jsonl", None).expect("remove");
        let without = repo.find_tree(without).expect("tree");
        assert_eq!(blob_id(&without, "x/y/a.jsonl"), None);
        assert!(
            without.get_path(Path::new("x/y")).is_err(),
            "empty x/y kept"
        );
        assert_eq!(blob_id(&without, "x/b.jsonl"), Some(b));
        let unchanged = set_blob(&repo, Some(&without), "q/none.jsonl", None).expect("no-op");
        assert_eq!(unchanged, without.id());
        let empty = set_blob(&repo, Some(&without), "x/b.jsonl", None).expect("remove");
        assert!(repo.find_tree(empty).expect("tree").is_empty());
    }

    #[test]
    fn messages_name_each_writer_and_count_records() {
        let text = describe(&[
            Change {
                path: "main/wave-0/coordination/w1.jsonl".into(),
                new_lines: 2,
            },
            Change {
                path: "main/wave-0/results/attempt-1/A1.json".into(),
                new_lines: 0,
            },
        ]);
        assert!(
            text.starts_with("wave-state: 2 records from w1, 1 result envelope\n"),
            "{text}"
        );
        assert!(text.contains("w1: +2 records in main/wave-0/coordination"));
    }
}
