//! Crash-safe writes: everything is written under a hidden temporary name in the destination
//! directory, flushed to disk, and renamed into place, so a reader (or the next run after a
//! crash) sees either the old state or the complete new one, never half a file or half a
//! version directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ProjectError;

/// Prefix of every temporary name strata creates; hidden so listings skip it.
pub(crate) const TEMP_PREFIX: &str = ".strata-tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary name next to `final_name`, unique within this process and across processes.
pub(crate) fn temp_name(final_name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{final_name}-{}-{n}", std::process::id())
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, fsync,
/// rename over `path`, fsync of the directory. On error the temporary file is removed and
/// `path` is untouched.
pub fn write_file_atomic(path: &Path, contents: &[u8]) -> Result<(), ProjectError> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ProjectError::InvalidArtifactName { name: path.display().to_string() })?;
    let tmp = dir.join(temp_name(name));
    let result = (|| {
        write_and_sync(&tmp, contents)?;
        fs::rename(&tmp, path).map_err(|e| ProjectError::io("cannot replace", path, e))?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` (which must not exist) with `contents` and flushes it to disk.
pub(crate) fn write_and_sync(path: &Path, contents: &[u8]) -> Result<(), ProjectError> {
    let mut f = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| ProjectError::io("cannot create", path, e))?;
    f.write_all(contents).map_err(|e| ProjectError::io("cannot write", path, e))?;
    f.sync_all().map_err(|e| ProjectError::io("cannot flush", path, e))
}

/// Flushes a directory's entries (new names, renames) to disk. Platforms that cannot open a
/// directory for syncing (Windows) skip it; the rename itself is still atomic there.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), ProjectError> {
    #[cfg(unix)]
    {
        let f = File::open(dir).map_err(|e| ProjectError::io("cannot open", dir, e))?;
        f.sync_all().map_err(|e| ProjectError::io("cannot flush", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
