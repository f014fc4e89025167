//! SQLite's run lock: an OS file lock on `<database>.strata-lock`, held for a whole apply.
//!
//! SQLite has no session locks, and its write lock lasts one transaction, so without this two
//! concurrent runs take turns step by step, each re-planning after the other's commits. The OS
//! releases the lock when its process dies, so a crash leaves nothing to clean up; the file itself
//! stays (removing a lock file races with the next run opening it). While held it names its
//! holder (`pid 123 on host, since …`) for `status` and for a waiting run.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::DbError;

/// A held run lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

/// `<database>.strata-lock`, next to the database file.
pub(crate) fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".strata-lock");
    database.with_file_name(name)
}

/// This process, as a holder description.
pub(crate) fn this_runner() -> String {
    format!("pid {} on {}", std::process::id(), hostname())
}

/// The machine's name, for telling runs on different hosts apart.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

fn open(path: &Path) -> Result<File, DbError> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(|e| {
        DbError::Io { path: path.to_path_buf(), message: format!("opening the run lock file: {e}") }
    })
}

/// Takes the lock once, without waiting; None while another process holds it.
pub(crate) fn try_acquire(path: &Path) -> Result<Option<RunLock>, DbError> {
    let mut file = open(path)?;
    match file.try_lock() {
        Ok(()) => {
            let since = crate::timefmt::now_utc();
            let note = format!("{}, since {since} UTC\n", this_runner());
            let written = file
                .set_len(0)
                .and_then(|_| file.seek(SeekFrom::Start(0)))
                .and_then(|_| file.write_all(note.as_bytes()));
            written.map_err(|e| DbError::Io { path: path.to_path_buf(), message: e.to_string() })?;
            Ok(Some(RunLock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(DbError::Io { path: path.to_path_buf(), message: format!("locking: {e}") })
        }
    }
}

/// Takes the lock, polling until `timeout`; `waiting` is called once with the holder's
/// description when the lock is busy.
pub(crate) async fn acquire(
    path: &Path,
    timeout: Duration,
    waiting: &mut dyn FnMut(&str),
) -> Result<RunLock, DbError> {
    let start = Instant::now();
    let mut announced = false;
    loop {
        if let Some(lock) = try_acquire(path)? {
            return Ok(lock);
        }
        let mut file = open(path)?;
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(DbError::RunLockTimeout { waited: timeout, holder: read_holder(&mut file) });
        }
        if !announced {
            waiting(&read_holder(&mut file));
            announced = true;
        }
        tokio::time::sleep(Duration::from_millis(50).min(timeout.saturating_sub(waited))).await;
    }
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
    let text = text.trim();
    if text.is_empty() {
        "another strata run".to_string()
    } else {
        text.to_string()
    }
}

/// Who holds the lock of the database at `database` right now (None: nobody). Never creates the
/// lock file.
pub(crate) fn holder(database: &Path) -> Option<String> {
    holder_at(&lock_path(database))
}

/// Who holds the lock file at `path` right now (None: nobody, or no such file).
pub(crate) fn holder_at(path: &Path) -> Option<String> {
    let mut file = OpenOptions::new().read(true).write(true).open(path).ok()?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => Some(read_holder(&mut file)),
        Err(TryLockError::Error(_)) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_next_to_the_database() {
        assert_eq!(lock_path(Path::new("/x/.strata/shop.db")), Path::new("/x/.strata/shop.db.strata-lock"));
    }

    #[tokio::test]
    async fn a_second_holder_waits_names_the_first_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let first = acquire(&lock_path(&db), Duration::from_secs(1), &mut |_| {}).await.unwrap();
        assert!(holder(&db).unwrap().contains(&format!("pid {}", std::process::id())));
        let mut seen = String::new();
        let e = acquire(&lock_path(&db), Duration::from_millis(200), &mut |h| seen = h.to_string())
            .await
            .unwrap_err();
        assert!(seen.starts_with("pid "), "{seen}");
        assert!(e.to_string().contains("within 200ms") && e.to_string().contains(&seen), "{e}");
        drop(first);
        assert_eq!(holder(&db), None);
        acquire(&lock_path(&db), Duration::from_millis(200), &mut |_| {}).await.unwrap();
    }
}
