//! `migrate_at_startup` with migrations embedded in the binary: SQLite applies them, PostgreSQL
//! only checks the database is at the embedded version (real servers, scratch databases).

mod common;

use common::{Env, V1, V2, V3};
use strata_db::{
    migrate_at_startup, ApplyOptions, Driver, EmbeddedMigration, StartupConfig, StartupError, StartupOutcome,
};

/// The fixture project's three versions as `include_migrations!` would embed them.
macro_rules! embed_fixture {
    ($dialect:literal) => {
        [
            embed_fixture!($dialect, "20250101000000000"),
            embed_fixture!($dialect, "20250102000000000-orders"),
            embed_fixture!($dialect, "20250103000000000"),
        ]
    };
    ($dialect:literal, $v:literal) => {
        EmbeddedMigration {
            version: $v,
            definition_sql: Some(include_str!(concat!(
                "../../../fixtures/apply/",
                $dialect,
                "/migrations/",
                $v,
                "/definition.sql"
            ))),
            migration_sql: Some(include_str!(concat!(
                "../../../fixtures/apply/",
                $dialect,
                "/migrations/",
                $v,
                "/migration.sql"
            ))),
        }
    };
}

static PG: [EmbeddedMigration; 3] = embed_fixture!("pg");
static SQLITE: [EmbeddedMigration; 3] = embed_fixture!("sqlite");

async fn start(env: &Env, migrations: &[EmbeddedMigration]) -> Result<StartupOutcome, StartupError> {
    let url = env.url();
    migrate_at_startup(&StartupConfig::new("shop", env.dialect(), &url, migrations)).await
}

#[tokio::test]
async fn embedded_versions_read_like_the_files_on_disk() {
    let disk =
        strata_db::disk::read_migrations(&common::fixture_dir(Driver::Postgres).join("migrations")).unwrap();
    let embedded: Vec<_> = PG.iter().map(EmbeddedMigration::to_disk).collect();
    assert_eq!(disk.len(), embedded.len());
    for (d, e) in disk.iter().zip(&embedded) {
        assert_eq!(d.version, e.version);
        assert_eq!(d.definition.as_ref().unwrap().checksum, e.definition.as_ref().unwrap().checksum);
        assert_eq!(d.migration.as_ref().unwrap().checksum, e.migration.as_ref().unwrap().checksum);
    }
    assert_eq!(
        embedded[1].migration.as_ref().unwrap().path.to_str(),
        Some("embedded:20250102000000000-orders/migration.sql")
    );
}

#[tokio::test]
async fn sqlite_applies_the_embedded_migrations_then_has_nothing_to_do() {
    let env = Env::new(Driver::Sqlite, "startup_lite");
    // The project copy's migrations/ is not used: the application ships without one.
    std::fs::remove_dir_all(env.path("migrations")).unwrap();
    match start(&env, &SQLITE).await.unwrap() {
        StartupOutcome::Applied { versions, installed } => {
            assert!(!versions.is_empty());
            assert_eq!(installed.as_deref(), Some(V3));
        }
        other => panic!("expected Applied, got {other:?}"),
    }
    assert_eq!(env.installed().await.as_deref(), Some(V3));
    assert!(env.has_table("orders").await || env.has_table("order").await, "{:?}", env.user_snapshot().await);
    assert_eq!(start(&env, &SQLITE).await.unwrap(), StartupOutcome::UpToDate { installed: Some(V3.into()) });
}

#[tokio::test]
async fn sqlite_applies_only_what_is_pending() {
    let env = Env::new(Driver::Sqlite, "startup_lite_step");
    env.apply_ok(ApplyOptions { to: Some(V1.into()), ..Default::default() }).await;
    let outcome = start(&env, &SQLITE).await.unwrap();
    assert_eq!(
        outcome,
        StartupOutcome::Applied { versions: vec![V2.into(), V3.into()], installed: Some(V3.into()) }
    );
}

#[tokio::test]
async fn postgres_refuses_to_start_when_behind_and_changes_nothing() {
    let env = Env::new(Driver::Postgres, "startup_pg_behind");
    env.apply_ok(ApplyOptions { to: Some(V1.into()), ..Default::default() }).await;
    let before = env.snapshot().await;
    let err = start(&env, &PG).await.unwrap_err();
    match &err {
        StartupError::Behind { installed, latest, pending, .. } => {
            assert_eq!(installed.as_deref(), Some(V1));
            assert_eq!(latest.as_deref(), Some(V3));
            assert_eq!(pending, &[V2.to_string(), V3.to_string()]);
        }
        other => panic!("expected Behind, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("strata apply") && message.contains("docs/deploy.md"), "{message}");
    assert_eq!(env.snapshot().await, before, "a refused start must not touch the database");
}

#[tokio::test]
async fn postgres_refuses_a_fresh_database() {
    let env = Env::new(Driver::Postgres, "startup_pg_fresh");
    let err = start(&env, &PG).await.unwrap_err();
    assert!(matches!(&err, StartupError::Behind { installed: None, .. }), "{err:?}");
    assert!(err.to_string().contains("installed: none"), "{err}");
    assert!(env.user_snapshot().await.is_empty());
}

#[tokio::test]
async fn postgres_passes_when_up_to_date() {
    let env = Env::new(Driver::Postgres, "startup_pg_ok");
    env.apply_ok(ApplyOptions::default()).await;
    let before = env.snapshot().await;
    assert_eq!(start(&env, &PG).await.unwrap(), StartupOutcome::UpToDate { installed: Some(V3.into()) });
    assert_eq!(env.snapshot().await, before);
}

#[tokio::test]
async fn postgres_names_a_modified_migration() {
    let env = Env::new(Driver::Postgres, "startup_pg_modified");
    env.apply_ok(ApplyOptions::default()).await;
    // A fresh database ran V3's definition.sql (the baseline), so that is the file to edit.
    let mut edited = PG;
    let text: &'static str =
        Box::leak(format!("{}\n-- edited\n", PG[2].definition_sql.unwrap()).into_boxed_str());
    edited[2].definition_sql = Some(text);
    let err = start(&env, &edited).await.unwrap_err();
    assert!(matches!(err, StartupError::Mismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&format!("{V3} is modified")), "{err}");
}

#[tokio::test]
async fn a_dialect_mismatch_is_an_error_not_a_migration() {
    let env = Env::new(Driver::Sqlite, "startup_dialect");
    let url = env.url();
    let err = migrate_at_startup(&StartupConfig::new("shop", Driver::Postgres, &url, &PG)).await.unwrap_err();
    assert!(err.to_string().contains("written for postgres, but the database is sqlite"), "{err}");
    assert!(!env.sqlite_exists());
}
