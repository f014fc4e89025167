//! A version merged from another branch after newer versions were applied: visible, refused,
//! and applied only when asked, without moving the installed version back.

mod common;

use common::*;
use strata_db::{ApplyOptions, DbError, Driver, PlanError, VersionState};

const LATE: &str = "20250102120000000-late";

fn late_migration(dialect: Driver) -> String {
    let now = if dialect == Driver::Postgres { "now()" } else { "CURRENT_TIMESTAMP" };
    format!(
        "BEGIN;\nCREATE TABLE \"late\" (\"id\" integer);\n\
         INSERT INTO \"serverpod_migrations\" (\"module\", \"version\", \"timestamp\")\n    VALUES ('shop', '{LATE}', {now})\n    \
         ON CONFLICT (\"module\")\n    DO UPDATE SET \"version\" = '{LATE}', \"timestamp\" = {now};\n\nCOMMIT;\n"
    )
}

async fn state_of(env: &Env, v: &str) -> (VersionState, Option<String>) {
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    let row = st.rows.iter().find(|r| r.version == v).unwrap_or_else(|| panic!("{v} not in status"));
    (row.state, row.detail.clone())
}

async fn late_merge_is_pending_refused_then_applied_on_request(d: Driver) {
    let env = Env::new(d, "late");
    env.apply_ok(ApplyOptions::default()).await;
    env.write(&format!("migrations/{LATE}/migration.sql"), &late_migration(d));
    env.write(&format!("migrations/{LATE}/definition.sql"), &late_migration(d));

    let (state, detail) = state_of(&env, LATE).await;
    assert_eq!(state, VersionState::OutOfOrder, "{detail:?}");
    assert!(detail.unwrap().contains("--out-of-order"));
    assert!(!strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());

    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    assert!(
        matches!(&e.error, DbError::Plan(PlanError::OutOfOrder { versions, .. }) if versions == &[LATE.to_string()]),
        "{e}"
    );
    assert!(e.to_string().contains("strata apply --out-of-order"), "{e}");
    assert!(!env.has_table("late").await);

    let r = env.apply_ok(ApplyOptions { out_of_order: true, ..Default::default() }).await;
    assert_eq!(r.applied.iter().map(|s| s.version.as_str()).collect::<Vec<_>>(), [LATE]);
    assert!(env.has_table("late").await);
    assert_eq!(env.installed().await.as_deref(), Some(V3), "the installed version stays the newest");
    assert_eq!(state_of(&env, LATE).await.0, VersionState::Applied);
    assert!(strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
    assert!(env.apply_ok(ApplyOptions::default()).await.applied.is_empty(), "and it runs once");
}

/// strata took over a database at V2 (no history for V1, V2): those count as applied outside
/// strata; a version merged between V2 and V3 after strata applied V3 does not.
async fn versions_older_than_strata_s_first_record_are_applied_outside_strata(d: Driver) {
    let env = Env::new(d, "takeover");
    env.apply_ok(to(V2)).await;
    env.exec("DELETE FROM strata_migration_history").await;
    env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(state_of(&env, V1).await.0, VersionState::Applied);
    assert_eq!(state_of(&env, V2).await.0, VersionState::Applied);
    assert!(strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
}

#[tokio::test]
async fn postgres_late_merge() {
    late_merge_is_pending_refused_then_applied_on_request(Driver::Postgres).await;
}

#[tokio::test]
async fn sqlite_late_merge() {
    late_merge_is_pending_refused_then_applied_on_request(Driver::Sqlite).await;
}

#[tokio::test]
async fn postgres_takeover() {
    versions_older_than_strata_s_first_record_are_applied_outside_strata(Driver::Postgres).await;
}

#[tokio::test]
async fn sqlite_takeover() {
    versions_older_than_strata_s_first_record_are_applied_outside_strata(Driver::Sqlite).await;
}

/// An applied version in the middle whose directory is gone is not "up to date".
#[tokio::test]
async fn an_applied_middle_version_missing_on_disk_needs_attention() {
    let env = Env::new(Driver::Sqlite, "middle");
    env.apply_ok(to(V1)).await;
    env.apply_ok(ApplyOptions::default()).await;
    std::fs::remove_dir_all(env.path(&format!("migrations/{V2}"))).unwrap();
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    assert_eq!(st.rows.iter().find(|r| r.version == V2).unwrap().state, VersionState::MissingOnDisk);
    assert!(!st.up_to_date());
}

/// `status` while an apply runs shows the version as running, with its runner; an attempt left
/// `running` by a run that died shows as stale, and the next apply marks it interrupted and
/// retries it.
#[tokio::test(flavor = "multi_thread")]
async fn status_shows_a_running_apply_and_a_stale_one() {
    use std::time::Duration;
    let env = Env::new(Driver::Postgres, "running");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2], "SELECT pg_sleep(1.5);").await;
    let apply = env.apply(ApplyOptions::default());
    let look = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        state_of(&env, V2).await
    };
    let (r, (state, detail)) = tokio::join!(apply, look);
    r.unwrap();
    assert_eq!(state, VersionState::Running, "{detail:?}");
    let detail = detail.unwrap();
    assert!(detail.contains(&format!("pid {}", std::process::id())) && detail.contains("since"), "{detail}");
    assert_eq!(state_of(&env, V2).await.0, VersionState::Applied);
}

async fn stale_attempt_is_shown_then_interrupted_and_retried(d: Driver) {
    let env = Env::new(d, "stale");
    env.apply_ok(to(V1)).await;
    env.counter_project(&[V2], "").await;
    env.exec(&format!(
        "INSERT INTO strata_migration_history (module, version, kind, dialect, status, started_at, runner) \
         VALUES ('shop', '{V2}', 'migration', '{d}', 'running', CURRENT_TIMESTAMP, 'pid 999999 on elsewhere')"
    ))
    .await;
    let (state, detail) = state_of(&env, V2).await;
    assert_eq!(state, VersionState::Stale, "{d}: {detail:?}");
    assert!(detail.unwrap().contains("pid 999999 on elsewhere"));
    assert!(!strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
    let r = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(r.applied.len(), 1);
    assert_eq!(
        env.history().await,
        [format!("{V1} definition ok"), format!("{V2} migration failed"), format!("{V2} migration ok")]
    );
    let err = env.rows("SELECT error FROM strata_migration_history WHERE status = 'failed'").await;
    assert!(err[0].starts_with("interrupted: pid 999999 on elsewhere started this attempt"), "{err:?}");
    assert_eq!(env.counter().await, 1);
}

#[tokio::test]
async fn postgres_stale_attempt() {
    stale_attempt_is_shown_then_interrupted_and_retried(Driver::Postgres).await;
}

#[tokio::test]
async fn sqlite_stale_attempt() {
    stale_attempt_is_shown_then_interrupted_and_retried(Driver::Sqlite).await;
}
