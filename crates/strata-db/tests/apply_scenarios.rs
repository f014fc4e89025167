//! apply/status scenarios, each run against PostgreSQL and SQLite with the fixture projects in
//! `fixtures/apply/`.

mod common;

use common::*;
use strata_db::{ApplyOptions, DbError, Driver, PlanError, StepKind, VersionState};

macro_rules! both_dialects {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(strata_db::Driver::Postgres).await })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(strata_db::Driver::Sqlite).await })*
        }
    };
}

both_dialects!(
    fresh_database_runs_latest_definition_and_records_baseline,
    incremental_upgrade_in_order_with_to,
    dry_run_changes_nothing,
    failing_migration_rolls_back_is_recorded_and_retried,
    checksum_mismatch_reported_refused_and_accepted,
    installed_version_missing_on_disk_is_named,
    repair_applied_once_then_migrations,
);

fn steps(r: &strata_db::ApplyReport) -> Vec<(String, StepKind)> {
    r.applied.iter().map(|s| (s.version.clone(), s.kind)).collect()
}

fn s(v: &str, k: StepKind) -> (String, StepKind) {
    (v.to_string(), k)
}

async fn state_of(env: &Env, version: &str) -> VersionState {
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    st.rows
        .iter()
        .find(|r| r.version == version)
        .unwrap_or_else(|| panic!("{version} not in status: {st:?}"))
        .state
}

async fn fresh_database_runs_latest_definition_and_records_baseline(d: Driver) {
    let env = Env::new(d, "fresh");
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    assert!(st.rows.iter().all(|r| r.state == VersionState::Pending), "{st:?}");
    assert!(!st.up_to_date());

    let r = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(steps(&r), [s(V3, StepKind::Definition)]);
    assert_eq!(r.installed_before, None);
    assert_eq!(r.installed_after.as_deref(), Some(V3));
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert!(env.has_table("customer").await && env.has_table("order").await);
    assert_eq!(
        env.history().await,
        [
            format!("{V3} definition ok"),
            format!("{V1} definition baseline"),
            format!("{V2} definition baseline")
        ]
    );
    let times = env.rows("SELECT dialect || ' ' || checksum || ' ' || CAST(duration_ms AS TEXT) FROM strata_migration_history WHERE status = 'ok'").await;
    assert!(times[0].starts_with(d.name()), "{times:?}");

    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    let states: Vec<_> = st.rows.iter().map(|r| r.state).collect();
    assert_eq!(states, [VersionState::Baseline, VersionState::Baseline, VersionState::Applied]);
    assert!(st.up_to_date());
    assert!(st.rows[2].started_at.as_deref().unwrap().starts_with("20"), "{:?}", st.rows[2]);

    let again = env.apply_ok(ApplyOptions::default()).await;
    assert!(again.applied.is_empty());
    assert_eq!(env.history().await.len(), 3);
}

async fn incremental_upgrade_in_order_with_to(d: Driver) {
    let env = Env::new(d, "incr");
    let r = env.apply_ok(to(V1)).await;
    assert_eq!(steps(&r), [s(V1, StepKind::Definition)]);
    assert!(!env.has_table("order").await);
    let r = env.apply_ok(to(V2)).await;
    assert_eq!(steps(&r), [s(V2, StepKind::Migration)]);
    // Data that the SQLite table rebuild of V3 must carry over (and that makes its DROP TABLE
    // fail if `PRAGMA foreign_keys = OFF` were wrongly run inside the transaction).
    env.exec("INSERT INTO \"customer\" (\"id\", \"name\") VALUES (1, 'ada'); INSERT INTO \"order\" (\"id\", \"customerId\", \"total\") VALUES (1, 1, 9.5);").await;
    assert_eq!(state_of(&env, V3).await, VersionState::Pending);

    let r = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(steps(&r), [s(V3, StepKind::Migration)]);
    assert_eq!(r.installed_before.as_deref(), Some(V2));
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert_eq!(env.rows("SELECT CAST(count(*) AS TEXT) FROM \"order\" JOIN \"customer\" ON \"customer\".\"id\" = \"order\".\"customerId\"").await, ["1"]);
    assert_eq!(env.rows("SELECT CAST(count(\"email\") AS TEXT) FROM \"customer\"").await.len(), 1);
    assert_eq!(
        env.history().await,
        [format!("{V1} definition ok"), format!("{V2} migration ok"), format!("{V3} migration ok")]
    );
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    assert!(st.up_to_date(), "{st:?}");

    // Fresh database straight to a middle version.
    let env2 = Env::new(d, "incr_to");
    let r = env2.apply_ok(to(V2)).await;
    assert_eq!(steps(&r), [s(V2, StepKind::Definition)]);
    assert_eq!(env2.history().await, [format!("{V2} definition ok"), format!("{V1} definition baseline")]);
    // --to older than installed is refused, naming both.
    let e = env2.apply(to(V1)).await.unwrap_err();
    assert!(matches!(e.error, DbError::Plan(PlanError::ToOlderThanInstalled { .. })), "{e}");
}

async fn dry_run_changes_nothing(d: Driver) {
    let env = Env::new(d, "dry");
    let dry = ApplyOptions { dry_run: true, ..Default::default() };
    let before = env.snapshot().await;
    let r = env.apply_ok(dry.clone()).await;
    assert!(r.dry_run && r.applied.is_empty());
    assert_eq!(r.planned.len(), 1);
    assert_eq!(r.planned[0].kind, StepKind::Definition);
    assert!(r.planned[0].file.sql.contains("CREATE TABLE \"customer\""));
    assert_eq!(r.installed_after.as_deref(), Some(V3));
    assert_eq!(env.snapshot().await, before);
    assert!(env.sqlite_exists() || d == Driver::Sqlite);
    if d == Driver::Sqlite {
        assert!(!env.sqlite_exists(), "a dry run must not even create the SQLite file");
    }

    env.apply_ok(to(V1)).await;
    let before = env.snapshot().await;
    let hist = env.history().await;
    let r = env.apply_ok(dry.clone()).await;
    let planned: Vec<_> = r.planned.iter().map(|s| (s.version.clone(), s.kind)).collect();
    assert_eq!(planned, [s(V2, StepKind::Migration), s(V3, StepKind::Migration)]);
    assert_eq!(env.snapshot().await, before);
    assert_eq!(env.history().await, hist);

    // With a pending repair the dry run predicts the state the repair leaves behind: a rollback
    // to V2, with V3 held (not re-applied).
    env.apply_ok(ApplyOptions::default()).await;
    env.install_repair();
    let before = env.snapshot().await;
    let r = env.apply_ok(ApplyOptions { repair: true, ..dry.clone() }).await;
    let planned: Vec<_> = r.planned.iter().map(|s| (s.version.clone(), s.kind)).collect();
    assert_eq!(planned, [s(RV, StepKind::Repair)]);
    assert_eq!(r.installed_after.as_deref(), Some(V2));
    let r = env.apply_ok(ApplyOptions { repair: true, to: Some(V3.into()), ..dry }).await;
    let planned: Vec<_> = r.planned.iter().map(|s| (s.version.clone(), s.kind)).collect();
    assert_eq!(
        planned,
        [s(RV, StepKind::Repair), s(V3, StepKind::Migration)],
        "--to goes on past the repair"
    );
    assert_eq!(env.snapshot().await, before);
}

async fn failing_migration_rolls_back_is_recorded_and_retried(d: Driver) {
    let env = Env::new(d, "fail");
    env.apply_ok(to(V1)).await;
    let v2 = format!("migrations/{V2}/migration.sql");
    let v3 = format!("migrations/{V3}/migration.sql");
    let good2 = env.read(&v2);
    let good3 = env.read(&v3);
    // The bad statement comes after the CREATE TABLE and the version upsert, so any partial
    // effect would show in the snapshot.
    env.write(&v2, &good2.replace("\nCOMMIT;", "\nSELEC 'planted error';\nCOMMIT;"));
    let before = env.user_snapshot().await;

    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(&e.error, DbError::MigrationFailed { version, .. } if version == V2), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("SELEC") && msg.contains("nothing was applied before the failure"), "{msg}");
    assert!(e.report.applied.is_empty());
    assert_eq!(env.user_snapshot().await, before, "the failed migration left changes behind");
    assert!(!env.has_table("order").await);
    assert_eq!(env.history().await.last().unwrap(), &format!("{V2} migration failed"));
    let err = env.rows("SELECT error FROM strata_migration_history WHERE status = 'failed'").await;
    assert!(err[0].contains("SELEC"), "{err:?}");
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    let row = st.rows.iter().find(|r| r.version == V2).unwrap();
    assert_eq!(row.state, VersionState::Failed);
    assert!(row.detail.as_deref().unwrap_or("").contains("SELEC"), "{row:?}");

    // Fix V2, break V3: the error reports the partial progress, V2 stays applied.
    env.write(&v2, &good2);
    env.write(&v3, &good3.replace("\nCOMMIT;", "\nSELECT * FROM \"no_such_table\";\nCOMMIT;"));
    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    assert_eq!(steps(&e.report), [s(V2, StepKind::Migration)]);
    assert!(e.to_string().contains(&format!("applied before the failure (committed): {V2}")), "{e}");
    assert_eq!(env.installed().await.as_deref(), Some(V2));

    // Fixed: the next apply retries V3 and succeeds.
    env.write(&v3, &good3);
    let r = env.apply_ok(ApplyOptions::default()).await;
    assert_eq!(steps(&r), [s(V3, StepKind::Migration)]);
    assert_eq!(
        env.history().await,
        [
            format!("{V1} definition ok"),
            format!("{V2} migration failed"),
            format!("{V2} migration ok"),
            format!("{V3} migration failed"),
            format!("{V3} migration ok"),
        ]
    );
    assert!(strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
}

async fn checksum_mismatch_reported_refused_and_accepted(d: Driver) {
    let env = Env::new(d, "sum");
    env.apply_ok(to(V1)).await;
    env.apply_ok(ApplyOptions::default()).await;
    let v2 = format!("migrations/{V2}/migration.sql");
    let v3 = format!("migrations/{V3}/migration.sql");
    // A Windows checkout (CRLF) is not a modification.
    env.write(&v3, &env.read(&v3).replace('\n', "\r\n"));
    assert_eq!(state_of(&env, V3).await, VersionState::Applied);

    env.write(&v2, &format!("{}-- reviewed by bob\n", env.read(&v2)));
    assert_eq!(state_of(&env, V2).await, VersionState::Modified);
    assert!(!strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(e.error, DbError::Plan(PlanError::Modified { .. })), "{e}");
    assert!(e.to_string().contains(&format!("--accept-modified {V2}")), "{e}");

    let hist = env.history().await;
    let r = env.apply_ok(ApplyOptions { accept_modified: vec![V2.into()], ..Default::default() }).await;
    assert_eq!(r.accepted, [V2.to_string()]);
    assert!(r.applied.is_empty());
    let mut expected = hist.clone();
    expected.push(format!("{V2} migration accepted"));
    assert_eq!(env.history().await, expected);
    let prev =
        env.rows("SELECT previous_checksum FROM strata_migration_history WHERE status = 'accepted'").await;
    assert_eq!(prev[0].len(), 64);
    assert_eq!(state_of(&env, V2).await, VersionState::Applied);
    assert!(strata_db::status(&env.project, &env.target).await.unwrap().up_to_date());
    // Accepting again is an explicit error (nothing to accept), not a silent no-op.
    let e =
        env.apply(ApplyOptions { accept_modified: vec![V2.into()], ..Default::default() }).await.unwrap_err();
    assert!(e.to_string().contains("unchanged"), "{e}");
}

async fn installed_version_missing_on_disk_is_named(d: Driver) {
    let env = Env::new(d, "missing");
    env.apply_ok(ApplyOptions::default()).await;
    std::fs::remove_dir_all(env.path(&format!("migrations/{V3}"))).unwrap();
    let e = env.apply(ApplyOptions::default()).await.unwrap_err();
    match &e.error {
        DbError::Plan(PlanError::InstalledNotOnDisk { version, found, .. }) => {
            assert_eq!(version, V3);
            assert_eq!(found, &[V1.to_string(), V2.to_string()]);
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains(V3) && msg.contains(V1) && msg.contains(V2), "{msg}");
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    assert!(st.installed_missing());
    assert_eq!(state_of(&env, V3).await, VersionState::MissingOnDisk);
}

async fn repair_applied_once_then_migrations(d: Driver) {
    let env = Env::new(d, "repair");
    env.apply_ok(ApplyOptions::default()).await;
    // Without --repair the file is ignored.
    env.install_repair();
    assert!(env.apply_ok(ApplyOptions::default()).await.repair_applied.is_none());

    let r = env.apply_ok(ApplyOptions { repair: true, ..Default::default() }).await;
    assert_eq!(r.repair_applied.as_deref(), Some(RV));
    // The repair rolled the project back to V2: apply stops there (re-applying V3 right away
    // would undo the rollback), status says so and exits non-zero, and so does every later run.
    assert!(steps(&r).is_empty(), "{:?}", steps(&r));
    assert_eq!(env.installed().await.as_deref(), Some(V2));
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    assert_eq!(st.rolled_back_by, Some(format!("repair migration \"{RV}\"")));
    assert!(!st.up_to_date());
    assert!(st
        .rows
        .iter()
        .any(|r| r.version == V3 && r.detail.as_deref().is_some_and(|d| d.contains("held"))));
    let r = env.apply_ok(ApplyOptions { repair: true, ..Default::default() }).await;
    assert!(r.applied.is_empty() && r.repair_skipped.as_deref() == Some(RV));
    // An explicit --to applies the newer versions again; so does a plain apply, saying so.
    let r = env.apply_ok(ApplyOptions { repair: true, ..to(V3) }).await;
    assert_eq!(steps(&r), [s(V3, StepKind::Migration)]);
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert_eq!(env.rows("SELECT version FROM serverpod_migrations WHERE module = '_repair'").await, [RV]);
    let hist = env.history().await;
    assert_eq!(&hist[hist.len() - 2..], [format!("{RV} repair ok"), format!("{V3} migration ok")]);

    let r = env.apply_ok(ApplyOptions { repair: true, ..Default::default() }).await;
    assert_eq!(r.repair_skipped.as_deref(), Some(RV));
    assert!(r.repair_applied.is_none() && r.applied.is_empty());
    assert_eq!(env.history().await, hist);
    let st = strata_db::status(&env.project, &env.target).await.unwrap();
    let rep = st.rows.iter().find(|r| r.kind == Some(StepKind::Repair)).unwrap();
    assert_eq!((rep.version.as_str(), rep.state), (RV, VersionState::Applied));
    assert!(st.up_to_date());
}
