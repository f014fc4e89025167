//! The project lock: `create-migration` holds an OS file lock on `migrations/.strata-lock`
//! from reading the latest version until the new one and the registry are written. Two runs in
//! one directory therefore never both build on the same latest version (which would fork the
//! chain into sibling versions); the second one re-reads the latest under the lock and finds
//! nothing left to do.
//!
//! The lock file itself is empty and never removed: deleting it while another process waits
//! on it would let a third process lock a fresh file and run alongside. The operating system
//! releases the lock when the holder exits, even when it is killed, so a crash never leaves a
//! stale lock behind.

use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::ProjectError;
use crate::migrations::MigrationsDir;

/// File name of the lock file inside the migrations directory (hidden, so never a version).
pub const LOCK_FILE: &str = ".strata-lock";

/// How long a run waits for another run to finish before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a waiting run retries.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// A held project lock; released when dropped (the file is closed).
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

impl ProjectLock {
    /// Takes the lock, creating the migrations directory and the lock file if needed, and
    /// waits up to `timeout` for another holder to finish.
    pub fn acquire(dir: &MigrationsDir, timeout: Duration) -> Result<ProjectLock, ProjectError> {
        std::fs::create_dir_all(&dir.path).map_err(|e| ProjectError::io("cannot create", &dir.path, e))?;
        let path = dir.lock_path();
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| ProjectError::io("cannot open the project lock", &path, e))?;
        Self::wait_for(file, path, timeout)
    }

    /// Takes the lock only when the lock file already exists (so a run that writes nothing
    /// creates nothing); `None` when there is no lock file yet.
    pub fn acquire_existing(
        dir: &MigrationsDir,
        timeout: Duration,
    ) -> Result<Option<ProjectLock>, ProjectError> {
        let path = dir.lock_path();
        match File::options().read(true).write(true).open(&path) {
            Ok(file) => Self::wait_for(file, path, timeout).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ProjectError::io("cannot open the project lock", &path, e)),
        }
    }

    /// Polls `try_lock` rather than blocking, so a stuck holder is an error, never a hang.
    fn wait_for(file: File, path: PathBuf, timeout: Duration) -> Result<ProjectLock, ProjectError> {
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ProjectLock { _file: file }),
                Err(TryLockError::WouldBlock) if start.elapsed() < timeout => thread::sleep(POLL_INTERVAL),
                Err(TryLockError::WouldBlock) => {
                    return Err(ProjectError::LockTimeout { path, waited_secs: timeout.as_secs() })
                }
                Err(TryLockError::Error(e)) => return Err(ProjectError::io("cannot lock", &path, e)),
            }
        }
    }
}
