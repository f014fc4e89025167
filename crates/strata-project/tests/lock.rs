//! The project lock: exclusive between holders, released on drop, and a bounded wait.

use std::time::{Duration, Instant};

use strata_project::{MigrationsDir, ProjectError, ProjectLock, LOCK_FILE};

#[test]
fn a_held_lock_makes_the_next_run_wait_then_time_out_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = MigrationsDir::new(tmp.path().join("migrations"));
    assert!(ProjectLock::acquire_existing(&dir, Duration::ZERO).unwrap().is_none(), "no lock file yet");

    let held = ProjectLock::acquire(&dir, Duration::ZERO).unwrap();
    assert!(tmp.path().join("migrations").join(LOCK_FILE).is_file(), "acquire creates the lock file");

    let start = Instant::now();
    let err = ProjectLock::acquire_existing(&dir, Duration::from_millis(200)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(200), "waited for the holder");
    assert!(start.elapsed() < Duration::from_secs(5), "and then gave up instead of hanging");
    let ProjectError::LockTimeout { path, .. } = &err else { panic!("{err:?}") };
    assert!(path.ends_with(LOCK_FILE), "{err}");
    assert!(err.to_string().contains("another strata create-migration is still running"), "{err}");

    drop(held);
    let again = ProjectLock::acquire_existing(&dir, Duration::ZERO).unwrap();
    assert!(again.is_some(), "released when the holder is dropped");
}
