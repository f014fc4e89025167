//! Exactly once under a lost lock session, a racing run and files that break the transaction:
//! each guard of a step's transaction, proven on the real server.

mod common;

use std::time::Duration;

use common::*;
use strata_db::{ApplyOptions, DbError, Driver};

const SLOW: &str = "SELECT pg_sleep(1.2);";

fn opts() -> ApplyOptions {
    ApplyOptions { lock_timeout: Duration::from_secs(30), ..Default::default() }
}

/// The server closes sessions idle for a second. A run's lock must not live on a session that
/// idles while another session migrates: the second run would take the lock and run the same
/// migrations again (counter 6 of 3 before the fix).
#[tokio::test(flavor = "multi_thread")]
async fn idle_session_timeout_cannot_make_two_runs_apply_the_same_migration() {
    let env = Env::new(Driver::Postgres, "idle");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2, V3, V4], SLOW).await;
    env.exec(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET idle_session_timeout = %L', current_database(), '1s'); END $$",
    )
    .await;
    let first = env.apply(opts());
    let second = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        env.apply(opts()).await
    };
    let (a, b) = tokio::join!(first, second);
    a.unwrap_or_else(|e| panic!("first run: {e}"));
    b.unwrap_or_else(|e| panic!("second run: {e}"));
    assert_eq!(env.counter().await, 3, "each migration exactly once");
    assert_eq!(
        env.ok_rows().await,
        [format!("{V1}:1"), format!("{V2}:1"), format!("{V3}:1"), format!("{V4}:1")]
    );
}

/// An admin terminates the session holding the lock mid-migration. That run must stop with a
/// clear error and commit nothing more; the next run finishes the work once.
#[tokio::test(flavor = "multi_thread")]
async fn terminating_the_lock_session_stops_that_run_and_nothing_runs_twice() {
    let env = Env::new(Driver::Postgres, "term");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2, V3, V4], SLOW).await;
    let first = env.apply(opts());
    let killer = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let pids = env
            .rows(
                "SELECT DISTINCT pid::text FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            )
            .await;
        assert_eq!(pids.len(), 1, "one lock holder: {pids:?}");
        env.exec(&format!("SELECT pg_terminate_backend({})", pids[0])).await;
        // A second run starts right away: it must not overlap the first one's migration.
        env.apply(opts()).await
    };
    let (a, b) = tokio::join!(first, killer);
    let e = a.expect_err("the run whose lock session was terminated must fail");
    assert!(matches!(e.error, DbError::ConnectionLost { ref version, .. } if version == V2), "{e}");
    assert!(e.to_string().contains("connection was lost while applying"), "{e}");
    b.unwrap_or_else(|e| panic!("second run: {e}"));
    assert_eq!(env.counter().await, 3, "each migration exactly once");
    assert_eq!(
        env.ok_rows().await,
        [format!("{V1}:1"), format!("{V2}:1"), format!("{V3}:1"), format!("{V4}:1")]
    );
}

/// A file that releases the lock itself: the step sees it before COMMIT and rolls back.
#[tokio::test]
async fn a_step_that_no_longer_holds_the_lock_rolls_back() {
    let env = Env::new(Driver::Postgres, "unlock");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2], "SELECT pg_advisory_unlock_all();").await;
    let e = env.apply(opts()).await.unwrap_err();
    assert!(matches!(e.error, DbError::LockLost { ref version } if version == V2), "{e}");
    assert_eq!(env.counter().await, 0, "rolled back");
    assert_eq!(env.installed().await.as_deref(), Some(V1));
    assert_eq!(env.ok_rows().await, [format!("{V1}:1")]);
}

/// History already says the version is applied (another run committed it): refuse to record it
/// a second time, inside the migration's own transaction.
#[tokio::test]
async fn a_version_already_recorded_as_applied_is_not_recorded_again() {
    for dialect in [Driver::Postgres, Driver::Sqlite] {
        let env = Env::new(dialect, "dup");
        env.apply_ok(to(V1)).await;
        env.counter_project(&[V2], "").await;
        env.exec(&format!(
            "INSERT INTO strata_migration_history (module, version, kind, dialect, status, started_at) \
             VALUES ('shop', '{V2}', 'migration', '{dialect}', 'ok', CURRENT_TIMESTAMP)"
        ))
        .await;
        let e = env.apply(opts()).await.unwrap_err();
        assert!(
            matches!(e.error, DbError::AlreadyApplied { ref version, .. } if version == V2),
            "{dialect}: {e}"
        );
        assert_eq!(env.counter().await, 0, "{dialect}: rolled back");
        assert_eq!(env.installed().await.as_deref(), Some(V1), "{dialect}");
    }
}

/// A repair that rolled a version back makes running it again legitimate.
#[tokio::test]
async fn a_version_rolled_back_by_a_repair_may_run_again() {
    let env = Env::new(Driver::Postgres, "rerun");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2], "").await;
    env.apply_ok(opts()).await;
    env.exec(&format!(
        "INSERT INTO strata_migration_history (module, version, kind, dialect, status, started_at) \
         VALUES ('_repair', 'r', 'repair', 'postgres', 'ok', now()); \
         UPDATE serverpod_migrations SET version = '{V1}' WHERE module = 'shop';"
    ))
    .await;
    env.apply_ok(ApplyOptions { to: Some(V2.into()), ..opts() }).await;
    assert_eq!(env.counter().await, 2);
}

/// `COMMIT; BEGIN;` inside the body would commit half the file without its history row: the file
/// is refused before anything runs, naming the line.
#[tokio::test]
async fn a_transaction_statement_inside_the_body_is_refused_before_anything_runs() {
    for dialect in [Driver::Postgres, Driver::Sqlite] {
        let env = Env::new(dialect, "inline");
        env.apply_ok(to(V1)).await;
        env.counter_project(
            &[V2],
            "UPDATE counter SET n = n + 100;\nUPDATE counter SET n = n + 10; COMMIT; BEGIN;",
        )
        .await;
        let e = env.apply(opts()).await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e.error, DbError::MalformedFile { .. }), "{dialect}: {text}");
        assert!(text.contains("line 3: `COMMIT` inside the migration's transaction"), "{dialect}: {text}");
        assert!(text.contains("nothing was applied"), "{dialect}: {text}");
        assert_eq!(env.counter().await, 0, "{dialect}");
        assert_eq!(env.history().await.len(), 1, "{dialect}: no failed row for a file that never ran");
    }
}

/// A statement after `COMMIT;` fails: the migration committed, and the report, the error and the
/// history all say so (one `ok` row, no `failed` row).
#[tokio::test]
async fn a_failure_after_commit_reports_the_committed_migration() {
    let env = Env::new(Driver::Postgres, "postcommit");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2, V3], "").await;
    let path = env.path(&format!("migrations/{V2}/migration.sql"));
    let text = std::fs::read_to_string(&path).unwrap() + "SELECT * FROM no_such_table;\n";
    std::fs::write(&path, text).unwrap();
    let e = env.apply(opts()).await.unwrap_err();
    let shown = e.to_string();
    assert!(matches!(e.error, DbError::CommittedThenFailed { ref version, .. } if version == V2), "{shown}");
    assert!(shown.contains("COMMITTED and is recorded as applied"), "{shown}");
    assert!(shown.contains(&format!("applied before the failure (committed): {V2}")), "{shown}");
    assert_eq!(env.counter().await, 1);
    assert_eq!(env.installed().await.as_deref(), Some(V2));
    assert_eq!(env.history().await, [format!("{V1} definition ok"), format!("{V2} migration ok")]);
}

/// Two SQLite runs at once: the second waits for the first's run lock and then plans once and
/// finds nothing to do, instead of taking turns step by step and re-planning after each of the
/// other's commits.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_sqlite_runs_take_the_run_lock_once() {
    use strata_db::ApplyEvent;
    let env = Env::new(Driver::Sqlite, "runlock");
    env.apply_ok(to(V1)).await;
    let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) SELECT count(*) FROM c;";
    env.counter_project(&[V2, V3, V4], slow).await;
    let run = |delay_ms: u64| {
        let env = &env;
        async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let (mut plans, mut waited) = (0, false);
            let r = strata_db::apply(&env.project, &env.target, &opts(), &mut |e: &ApplyEvent| match e {
                ApplyEvent::Planned { .. } => plans += 1,
                ApplyEvent::RunLockWaiting { holder } => waited = holder.starts_with("pid "),
                _ => {}
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            (r.applied.len(), plans, waited)
        }
    };
    let (a, b) = tokio::join!(run(0), run(30));
    assert_eq!(a, (3, 1, false), "the first run applies everything in one plan");
    assert_eq!(b, (0, 1, true), "the second waits, then plans once and finds nothing");
    assert_eq!(env.counter().await, 3);
}

/// A statement before `BEGIN;` fails: the error says exactly what of the statements before it
/// stayed (PostgreSQL: none, they ran as one implicit transaction; SQLite: those before the
/// failing one), and the attempt is recorded as failed.
#[tokio::test]
async fn a_failure_before_begin_says_what_ran_outside_the_transaction() {
    for (dialect, stays, says) in
        [(Driver::Postgres, false, "none of them stays applied"), (Driver::Sqlite, true, "stay applied")]
    {
        let env = Env::new(dialect, "prelude");
        env.apply_ok(to(V1)).await;
        env.counter_project(&[V2], "").await;
        let path = env.path(&format!("migrations/{V2}/migration.sql"));
        let text = "CREATE TABLE outside (id int);\nSELECT * FROM no_such_table;\n".to_string()
            + &std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text).unwrap();
        let e = env.apply(opts()).await.unwrap_err();
        let shown = e.to_string();
        assert!(matches!(e.error, DbError::PreludeFailed { ref version, .. } if version == V2), "{shown}");
        assert!(shown.contains("before its transaction began") && shown.contains(says), "{dialect}: {shown}");
        assert!(shown.contains("migration.sql"), "names the file: {shown}");
        assert_eq!(env.has_table("outside").await, stays, "{dialect}");
        assert_eq!(env.counter().await, 0);
        assert_eq!(env.history().await, [format!("{V1} definition ok"), format!("{V2} migration failed")]);
    }
}
