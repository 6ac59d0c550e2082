//! The launcher lock: one `wave launch` per lane state directory at a time.
//!
//! Owns: `<S>/launcher.lock`, holding the owner's process id. A lock whose process is gone is
//! stale and taken over. Must not: wait for a live holder (the caller exits 32 instead).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A live process holds it.
    #[error(
        "another launcher (pid {pid}) holds {}; wait for it to finish or stop it",
        .path.display()
    )]
    Held {
        /// Lock file.
        path: PathBuf,
        /// Holder.
        pid: u32,
    },
    /// The lock file could not be written.
    #[error("cannot write the launcher lock {}: {source}", .path.display())]
    Io {
        /// Lock file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock, released on drop.
#[derive(Debug)]
pub struct LauncherLock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl LauncherLock {
    /// Takes the lock in `dir`, replacing a stale one.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join("launcher.lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    write!(f, "{}", std::process::id()).map_err(io)?;
                    return Ok(LauncherLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if pid != std::process::id() && alive(pid) => {
                            return Err(LockError::Held { path, pid });
                        }
                        _ => {
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::other("the lock file keeps reappearing")))
    }
}

impl Drop for LauncherLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_holder_blocks_and_a_stale_one_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = LauncherLock::acquire(dir.path()).unwrap();
        std::fs::write(dir.path().join("launcher.lock"), "1").unwrap();
        assert!(matches!(
            LauncherLock::acquire(dir.path()),
            Err(LockError::Held { pid: 1, .. })
        ));
        std::fs::write(dir.path().join("launcher.lock"), "999999999").unwrap();
        let second = LauncherLock::acquire(dir.path()).unwrap();
        drop(first);
        drop(second);
        assert!(!dir.path().join("launcher.lock").exists());
    }
}
